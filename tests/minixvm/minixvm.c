/*
 * minixvm.c — reads a MINIX image with Linux's own minix driver, in a QEMU VM (minixvm.h).
 *
 * Entry points: minixvm_list, minixvm_find.
 *
 * The initramfs is made here: Debian's busybox-static, the modules from the kernel's
 * /lib/modules (virtio's PCI stack, virtio_blk, minix; the order modprobe -D prints), and an
 * /init script that mounts /dev/vda read-only and prints one line per file and directory
 * between markers on the serial console. The VM sees a copy of the image, so nothing it does
 * can change the original. Every VM runs under TCG unless a probe proved KVM works.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <plexus/image.h>
#include <plexus/qemu.h>

#include "minixvm.h"

static const char *const s_modules[] = {
    "drivers/virtio/virtio_ring.ko",
    "drivers/virtio/virtio.ko",
    "drivers/virtio/virtio_pci_modern_dev.ko",
    "drivers/virtio/virtio_pci_legacy_dev.ko",
    "drivers/virtio/virtio_pci.ko",
    "drivers/block/virtio_blk.ko",
    "fs/minix/minix.ko",
};
#define S_NMOD (sizeof s_modules / sizeof *s_modules)

static const char s_init[] =
    "#!/bin/busybox sh\n"
    "/bin/busybox --install -s /bin\n"
    "export PATH=/bin\n"
    "mount -t proc proc /proc\n"
    "mount -t devtmpfs dev /dev\n"
    "for m in /lib/m*.ko; do insmod $m || echo \"MINIXVM-ERROR insmod $m\"; done\n"
    "i=0; while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done\n"
    "if mount -t minix -o ro /dev/vda /mnt 2>/tmp/err; then\n"
    "  echo MINIXVM-BEGIN\n"
    "  cd /mnt\n"
    "  find . -type d | sort | while read -r d; do echo \"MINIXVM D $d\"; done\n"
    "  find . -type f | sort | while read -r f; do\n"
    "    echo \"MINIXVM F $(sha256sum \"$f\" | cut -d' ' -f1) $(stat -c %s \"$f\") $f\"\n"
    "  done\n"
    "  cd /\n"
    "  umount /mnt\n"
    "else\n"
    "  echo \"MINIXVM-ERROR mount: $(cat /tmp/err) $(dmesg | grep -i minix | tail -n 3)\"\n"
    "fi\n"
    "echo MINIXVM-END\n"
    "poweroff -f\n";

/* The newest /boot/vmlinuz-* into kernel, its version into version. */
static int s_kernel(char *kernel, size_t ksize, char *version, size_t vsize)
{
	DIR *d = opendir("/boot");
	if (!d)
		return -errno;
	char best[256] = "";
	for (struct dirent *e; (e = readdir(d));)
		if (strncmp(e->d_name, "vmlinuz-", 8) == 0 && strcmp(e->d_name, best) > 0)
			snprintf(best, sizeof best, "%s", e->d_name);
	closedir(d);
	if (!*best)
		return -ENOENT;
	snprintf(kernel, ksize, "/boot/%s", best);
	snprintf(version, vsize, "%s", best + 8);
	return 0;
}

/* The whole of path in a new buffer (*size its length). */
static void *s_slurp(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rbe");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t cap = 0, n = 0;
	for (;;) {
		if (n == cap) {
			char *more = realloc(buf, cap = cap ? 2 * cap : 1 << 20);
			if (!more)
				break;
			buf = more;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	*size = n;
	return buf;
}

/* Writes the initramfs to path. */
static int s_initramfs(const char *path, const char *version, char *err, size_t size)
{
	plx_cpio_entry e[16 + S_NMOD];
	void *bufs[S_NMOD + 1] = {0};
	char names[S_NMOD][32];
	size_t n = 0;
	const char *dirs[] = {"bin", "dev", "lib", "mnt", "proc", "tmp"};
	for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
		e[n++] = (plx_cpio_entry){.path = dirs[i], .mode = S_IFDIR | 0755};
	size_t bsize = 0;
	int rc = 0;
	if (!(bufs[S_NMOD] = s_slurp("/bin/busybox", &bsize))) {
		snprintf(err, size, "/bin/busybox: %s (package busybox-static)", strerror(errno));
		return -ENOENT;
	}
	e[n++] = (plx_cpio_entry){"bin/busybox", S_IFREG | 0755, bufs[S_NMOD], bsize, 0, 0};
	e[n++] = (plx_cpio_entry){"init", S_IFREG | 0755, s_init, sizeof s_init - 1, 0, 0};
	for (size_t i = 0; i < S_NMOD && rc == 0; i++) {
		char mod[512];
		size_t msize = 0;
		snprintf(mod, sizeof mod, "/lib/modules/%s/kernel/%s", version, s_modules[i]);
		snprintf(names[i], sizeof names[i], "lib/m%02zu.ko", i);
		if (!(bufs[i] = s_slurp(mod, &msize))) {
			snprintf(err, size, "%s: %s", mod, strerror(errno));
			rc = -ENOENT;
			break;
		}
		e[n++] = (plx_cpio_entry){names[i], S_IFREG | 0644, bufs[i], msize, 0, 0};
	}
	FILE *f = rc == 0 ? fopen(path, "wbe") : NULL;
	if (rc == 0 && (!f || plx_cpio_write(f, e, n, 0) < 0)) {
		snprintf(err, size, "%s: cannot write the initramfs", path);
		rc = -EIO;
	}
	if (f && fclose(f) != 0 && rc == 0)
		rc = -EIO;
	for (size_t i = 0; i <= S_NMOD; i++)
		free(bufs[i]);
	return rc;
}

/* Runs argv and returns its exit status (-1 when it did not exit). */
static int s_run(char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Boots the VM and waits for the end marker in its console log. */
static int s_boot(const plx_vm_opts *o, const char *log, int timeout_ms, char *err, size_t size)
{
	char **argv = plx_vm_argv(o);
	if (!argv)
		return -ENOMEM;
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	plx_vm_argv_free(&argv);
	if (pid < 0)
		return -errno;
	int rc = plx_wait_file_text(log, "MINIXVM-END", timeout_ms);
	if (rc < 0)
		snprintf(err, size, "no answer from the VM within %d ms (console: %s)", timeout_ms,
		         log);
	for (int i = 0; i < 100 && waitpid(pid, NULL, WNOHANG) == 0; i++) {
		struct timespec ts = {0, 50 * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (kill(pid, SIGKILL) == 0)
		waitpid(pid, NULL, 0);
	return rc;
}

/* The listing between the markers of the console log, as minixvm_list returns it. */
static int s_parse(const char *log, char **listing, char *err, size_t size)
{
	size_t n = 0;
	char *text = s_slurp(log, &n), *line, *save = NULL;
	if (!text)
		return -errno;
	char *out = calloc(1, n + 1);
	size_t o = 0;
	bool begun = false;
	int rc = -EIO;
	for (line = strtok_r(text, "\r\n", &save); out && line;
	     line = strtok_r(NULL, "\r\n", &save)) {
		char *err_at = strstr(line, "MINIXVM-ERROR");
		if (err_at && rc != 0) {
			snprintf(err, size, "%s", err_at + 14);
			rc = -EINVAL;
			break;
		}
		begun |= strstr(line, "MINIXVM-BEGIN") != NULL;
		if (strstr(line, "MINIXVM-END")) {
			rc = begun ? 0 : -EIO;
			break;
		}
		char *rec = strstr(line, "MINIXVM ");
		if (begun && rec)
			o += (size_t)sprintf(out + o, "%s\n", rec + 8);
	}
	free(text);
	if (rc == 0)
		*listing = out;
	else
		free(out);
	return rc;
}

int minixvm_list(const char *image, const char *dir, int timeout_ms, char **listing, char *err,
                 size_t size)
{
	char kernel[300], version[256], initrd[600], copy[600], log[600];
	int rc = s_kernel(kernel, sizeof kernel, version, sizeof version);
	if (rc < 0) {
		snprintf(err, size, "no /boot/vmlinuz-* (package linux-image-amd64)");
		return rc;
	}
	snprintf(initrd, sizeof initrd, "%s/minixvm.cpio", dir);
	snprintf(copy, sizeof copy, "%s/minixvm.img", dir);
	snprintf(log, sizeof log, "%s/minixvm.log", dir);
	unlink(log);
	if ((rc = s_initramfs(initrd, version, err, size)) < 0)
		return rc;
	char *cp[] = {"cp", "--sparse=always", (char *)image, copy, NULL};
	if (s_run(cp) != 0) {
		snprintf(err, size, "cannot copy %s to %s", image, copy);
		return -EIO;
	}
	plx_vm_opts o = {.name = "minixvm",
	                 .dir = dir,
	                 .kernel = kernel,
	                 .initrd = initrd,
	                 .append = "console=ttyS0 panic=-1 quiet",
	                 .disk = copy,
	                 .memory_mb = 256};
	rc = s_boot(&o, log, timeout_ms, err, size);
	if (rc == 0)
		rc = s_parse(log, listing, err, size);
	unlink(copy);
	unlink(initrd);
	return rc;
}

const char *minixvm_find(const char *listing, const char *kind, const char *path)
{
	size_t plen = strlen(path);
	for (const char *l = listing; l && *l;) {
		const char *end = strchr(l, '\n');
		size_t len = end ? (size_t)(end - l) : strlen(l);
		if (strncmp(l, kind, strlen(kind)) == 0 && l[strlen(kind)] == ' ' && len > plen &&
		    l[len - plen - 1] == ' ' && strncmp(l + len - plen, path, plen) == 0)
			return l;
		l = end ? end + 1 : NULL;
	}
	return NULL;
}
