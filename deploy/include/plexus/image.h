/*
 * plexus/image.h — the netboot image: Debian's kernel plus an initramfs we build.
 *
 * Entry points: plx_image_build, plx_image_info, plx_cpio_write.
 *
 * An image is a directory holding vmlinuz (the kernel, copied), initramfs.img (a newc cpio
 * archive, gzip -n compressed unless asked otherwise) and manifest.txt (what is inside, with
 * sizes and SHA-256 sums). The initramfs holds /init (plexus-init), busybox and its applet
 * links, the Plexus programs given, the shared libraries they need (found with ldd), the
 * kernel modules for virtio and common NICs with their dependencies (load order in
 * /etc/plexus/modules), optionally etcd, and /etc/plexus/udhcpc.sh.
 *
 * Reproducible: entries sorted by path, every mtime 0 (or SOURCE_DATE_EPOCH), owner 0:0,
 * inode numbers counted in order, gzip without a name or time stamp. The same inputs give the
 * same bytes.
 */
#ifndef PLEXUS_IMAGE_H
#define PLEXUS_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PLX_IMAGE_MAX_PROGRAMS 32
#define PLX_IMAGE_MAX_MODULES  64

typedef struct plx_image_opts {
	const char *out_dir;   /* created if missing; required */
	const char *kernel;    /* NULL: the newest /boot/vmlinuz-* */
	const char *modules;   /* NULL: /lib/modules/<version of the kernel's file name> */
	const char *busybox;   /* NULL: /bin/busybox (Debian's busybox-static) */
	const char *init;      /* plexus-init; required */
	const char *etcd;      /* an etcd binary to include, or NULL for none */
	const char *udhcpc_sh; /* the udhcpc script; required */
	/* Further programs for /usr/bin (plexus-node first); NULL-terminated; each must exist. */
	const char *programs[PLX_IMAGE_MAX_PROGRAMS];
	/* Module names (as modinfo names them) loaded at boot, in order; NULL-terminated. Empty
	 * means the default set: virtio_pci virtio_net virtio_blk e1000 e1000e. */
	const char *module_names[PLX_IMAGE_MAX_MODULES];
	bool no_compress; /* write the cpio archive uncompressed */
} plx_image_opts;

typedef struct plx_image_result {
	size_t kernel_size, initramfs_size, cpio_size, entries;
	char initramfs_sha256[65];
} plx_image_result;

/* Builds the image into opts->out_dir. Returns 0 and fills *result (may be NULL), or a
 * negative errno with err set to one line (a missing input, ldd or gzip failing, a module not
 * in modules.dep). A failed build leaves no initramfs.img behind. */
int plx_image_build(const plx_image_opts *opts, plx_image_result *result, char *err, size_t size);

/* Prints the image in dir: files, sizes, sums, the kernel, and with contents every entry.
 * Returns 0, or -ENOENT (no manifest) with err set. */
int plx_image_info(const char *dir, bool contents, FILE *out, char *err, size_t size);

/* One entry of a newc archive. */
typedef struct plx_cpio_entry {
	const char *path; /* without a leading '/' */
	uint32_t mode;    /* type and permission bits (S_IFREG | 0755, ...) */
	const void *data; /* file contents or symlink target */
	size_t size;      /* of data */
	uint32_t rdev_major, rdev_minor;
} plx_cpio_entry;

/* Writes the entries (already in the order wanted) and the trailer to out as a newc archive
 * with owner 0:0, mtime mtime, inodes 1..n. Returns the bytes written or -EIO. */
long plx_cpio_write(FILE *out, const plx_cpio_entry *entries, size_t n, uint32_t mtime);

#endif
