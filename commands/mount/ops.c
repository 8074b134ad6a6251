/*
 * ops.c — the FUSE operations of `plexus mount`: each Linux call on the mount becomes the
 * libplexus call of the same name on one client handle (the Plexus descriptor of an open file
 * kept in fi->fh), and its errno goes back as is.
 *
 * Entry points: mount_ops.
 *
 * Permissions are Plexus's: the kernel's default_permissions is off, so VFS checks every call
 * against the credentials the handle registered with (those of the process that mounted).
 * Directories are read whole on each readdir (offset 0 filling). RENAME_NOREPLACE is checked
 * with an lstat first (no atomic form in the VFS protocol); RENAME_EXCHANGE is EINVAL.
 */
#define FUSE_USE_VERSION 31
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <plexus/plexus.h>

#include "mount.h"

static plexus *s_p(void)
{
	return ((mount_ctx *)fuse_get_context()->private_data)->p;
}

/* -errno of a failed call (EIO if a call failed without saying why). */
static int s_err(void)
{
	return errno ? -errno : -EIO;
}

/* Plexus inode numbers are per file system; the mount shows one device, so the number of
 * the Plexus device is folded in to keep (st_dev, st_ino) pairs apart across its mounts. */
static void s_fix_stat(struct stat *st)
{
	st->st_ino ^= (ino_t)st->st_dev << 40;
}

static void *s_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	(void)conn;
	cfg->use_ino = 1;
	/* No attribute cache: the kernel would keep each name's attributes apart (a hard link's
	 * new count would show on the new name only) and miss changes made by other clients of
	 * VFS; names are kept for a second. */
	cfg->attr_timeout = 0;
	cfg->entry_timeout = 1;
	cfg->negative_timeout = 0;
	cfg->hard_remove = 1; /* an unlinked open file is Plexus's to keep, not a .fuse_hidden */
	return fuse_get_context()->private_data;
}

static int s_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	int rc = fi ? plexus_fstat(s_p(), (int)fi->fh, st) : plexus_lstat(s_p(), path, st);
	if (rc < 0)
		return s_err();
	s_fix_stat(st);
	return 0;
}

static int s_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
                     struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void)off, (void)fi, (void)flags;
	plexus_dir *d = plexus_opendir(s_p(), path);
	if (!d)
		return s_err();
	struct plexus_dirent *e;
	errno = 0;
	while ((e = plexus_readdir(d)) != NULL) {
		struct stat st = {.st_ino = (ino_t)e->d_ino, .st_mode = (mode_t)DTTOIF(e->d_type)};
		if (fill(buf, e->d_name, &st, 0, 0))
			break;
		errno = 0;
	}
	int rc = errno ? -errno : 0;
	plexus_closedir(d);
	return rc;
}

/* The open flags Plexus is given: the access mode and what changes behaviour; O_APPEND is
 * left to the kernel, which passes the end of file as the offset of each write. */
static int s_flags(int flags)
{
	return flags & (O_ACCMODE | O_TRUNC | O_NONBLOCK | O_DIRECTORY | O_NOFOLLOW | O_EXCL);
}

static int s_open(const char *path, struct fuse_file_info *fi)
{
	int fd = plexus_open(s_p(), path, s_flags(fi->flags));
	if (fd < 0)
		return s_err();
	fi->fh = (uint64_t)fd;
	return 0;
}

static int s_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	int fd = plexus_open(s_p(), path, s_flags(fi->flags) | O_CREAT, mode);
	if (fd < 0)
		return s_err();
	fi->fh = (uint64_t)fd;
	return 0;
}

static int s_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)path;
	size_t done = 0;
	while (done < size) {
		ssize_t n =
		    plexus_pread(s_p(), (int)fi->fh, buf + done, size - done, off + (off_t)done);
		if (n < 0)
			return done ? (int)done : s_err();
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (int)done;
}

static int s_write(const char *path, const char *buf, size_t size, off_t off,
                   struct fuse_file_info *fi)
{
	(void)path;
	size_t done = 0;
	while (done < size) {
		ssize_t n =
		    plexus_pwrite(s_p(), (int)fi->fh, buf + done, size - done, off + (off_t)done);
		if (n <= 0)
			return done ? (int)done : n == 0 ? -EIO : s_err();
		done += (size_t)n;
	}
	return (int)done;
}

static int s_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	return plexus_close(s_p(), (int)fi->fh) < 0 ? s_err() : 0;
}

static int s_flush(const char *path, struct fuse_file_info *fi)
{
	(void)path, (void)fi;
	return 0; /* writes went to VFS already; fsync asks for the disk */
}

/* fsync(2) and fdatasync(2) on a file of the mount: the file server's commit (docs/mfs.md
 * "Guarantees"). */
static int s_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path;
	int rc = datasync ? plexus_fdatasync(s_p(), (int)fi->fh) : plexus_fsync(s_p(), (int)fi->fh);
	return rc < 0 ? s_err() : 0;
}

/* fsync(2) on a directory (how programs make a create or a rename durable): the directory has
 * no handle here (readdir opens it each time), so it is opened for the call. */
static int s_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)datasync, (void)fi;
	int fd = plexus_open(s_p(), path, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return s_err();
	int rc = plexus_fsync(s_p(), fd) < 0 ? s_err() : 0;
	plexus_close(s_p(), fd);
	return rc;
}

static int s_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	int rc =
	    fi ? plexus_ftruncate(s_p(), (int)fi->fh, size) : plexus_truncate(s_p(), path, size);
	return rc < 0 ? s_err() : 0;
}

static int s_mkdir(const char *path, mode_t mode)
{
	return plexus_mkdir(s_p(), path, mode) < 0 ? s_err() : 0;
}

static int s_rmdir(const char *path)
{
	return plexus_rmdir(s_p(), path) < 0 ? s_err() : 0;
}

static int s_unlink(const char *path)
{
	return plexus_unlink(s_p(), path) < 0 ? s_err() : 0;
}

static int s_rename(const char *from, const char *to, unsigned int flags)
{
	struct stat st;
	if (flags & RENAME_EXCHANGE)
		return -EINVAL;
	if (flags & ~(unsigned)RENAME_NOREPLACE)
		return -EINVAL;
	if ((flags & RENAME_NOREPLACE) && plexus_lstat(s_p(), to, &st) == 0)
		return -EEXIST;
	return plexus_rename(s_p(), from, to) < 0 ? s_err() : 0;
}

static int s_link(const char *from, const char *to)
{
	return plexus_link(s_p(), from, to) < 0 ? s_err() : 0;
}

static int s_symlink(const char *target, const char *path)
{
	return plexus_symlink(s_p(), target, path) < 0 ? s_err() : 0;
}

static int s_readlink(const char *path, char *buf, size_t size)
{
	if (size == 0)
		return -EINVAL;
	ssize_t n = plexus_readlink(s_p(), path, buf, size - 1);
	if (n < 0)
		return s_err();
	buf[n] = '\0';
	return 0;
}

static int s_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	int rc = fi ? plexus_fchmod(s_p(), (int)fi->fh, mode) : plexus_chmod(s_p(), path, mode);
	return rc < 0 ? s_err() : 0;
}

static int s_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	int rc =
	    fi ? plexus_fchown(s_p(), (int)fi->fh, uid, gid) : plexus_lchown(s_p(), path, uid, gid);
	return rc < 0 ? s_err() : 0;
}

static int s_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	int rc = fi ? plexus_futimens(s_p(), (int)fi->fh, tv)
	            : plexus_utimens(s_p(), path, tv, AT_SYMLINK_NOFOLLOW);
	return rc < 0 ? s_err() : 0;
}

static int s_statfs(const char *path, struct statvfs *buf)
{
	return plexus_statvfs(s_p(), path, buf) < 0 ? s_err() : 0;
}

static int s_access(const char *path, int mask)
{
	return plexus_access(s_p(), path, mask) < 0 ? s_err() : 0;
}

static int s_mknod(const char *path, mode_t mode, dev_t rdev)
{
	int rc;
	if (S_ISREG(mode)) {
		int fd = plexus_open(s_p(), path, O_WRONLY | O_CREAT | O_EXCL, mode & 07777);
		if (fd < 0)
			return s_err();
		rc = plexus_close(s_p(), fd);
	} else if (S_ISFIFO(mode))
		rc = plexus_mkfifo(s_p(), path, mode & 07777);
	else
		rc = plexus_mknod(s_p(), path, mode, rdev);
	return rc < 0 ? s_err() : 0;
}

static const struct fuse_operations s_ops = {
    .init = s_init,
    .getattr = s_getattr,
    .readdir = s_readdir,
    .open = s_open,
    .create = s_create,
    .read = s_read,
    .write = s_write,
    .release = s_release,
    .flush = s_flush,
    .fsync = s_fsync,
    .fsyncdir = s_fsyncdir,
    .truncate = s_truncate,
    .mkdir = s_mkdir,
    .rmdir = s_rmdir,
    .unlink = s_unlink,
    .rename = s_rename,
    .link = s_link,
    .symlink = s_symlink,
    .readlink = s_readlink,
    .chmod = s_chmod,
    .chown = s_chown,
    .utimens = s_utimens,
    .statfs = s_statfs,
    .access = s_access,
    .mknod = s_mknod,
};

const struct fuse_operations *mount_ops(void)
{
	return &s_ops;
}
