/*
 * ops.c — the FUSE operations of `plexus mount`: each Linux call on the mount becomes the
 * libplexus call of the same name on one client handle (the Plexus descriptor of an open file
 * kept in fi->fh), and its errno goes back as is.
 *
 * Entry points: mount_ops.
 *
 * Permissions are Plexus's: the kernel's default_permissions is off, so VFS checks every call
 * against the credentials its client registered with: the calling user's own on a mount made
 * by root (a session per user, sessions.c), else the mounter's. A call on an open file goes
 * to the session that opened it (fi->fh names both).
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

static mount_ctx *s_ctx(void)
{
	return fuse_get_context()->private_data;
}

/* -errno of a failed call (EIO if a call failed without saying why). */
static int s_err(void)
{
	return errno ? -errno : -EIO;
}

/* The answer of a call made on s (rc < 0: it failed with errno), letting go of s. */
static int s_end(mount_session *s, int rc)
{
	int answer = rc < 0 ? s_err() : 0;
	mount_session_put(s_ctx(), s);
	return answer;
}

/* The client an open file lives in, and its descriptor there. */
static plexus *s_fp(const struct fuse_file_info *fi)
{
	return mount_fh_session(s_ctx(), fi->fh)->p;
}

static int s_fd(const struct fuse_file_info *fi)
{
	return mount_fh_fd(fi->fh);
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
	int rc;
	if (fi)
		rc = plexus_fstat(s_fp(fi), s_fd(fi), st) < 0 ? s_err() : 0;
	else {
		mount_session *s = mount_session_caller(s_ctx());
		if (!s)
			return s_err();
		rc = s_end(s, plexus_lstat(s->p, path, st));
	}
	if (rc == 0)
		s_fix_stat(st);
	return rc;
}

/* Fills buf from the open directory d; -errno of a failed read, else 0. */
static int s_fill(plexus_dir *d, void *buf, fuse_fill_dir_t fill)
{
	struct plexus_dirent *e;
	errno = 0;
	while ((e = plexus_readdir(d)) != NULL) {
		struct stat st = {.st_ino = (ino_t)e->d_ino, .st_mode = (mode_t)DTTOIF(e->d_type)};
		if (fill(buf, e->d_name, &st, 0, 0))
			break;
		errno = 0;
	}
	return errno ? -errno : 0;
}

static int s_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
                     struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void)off, (void)fi, (void)flags;
	mount_session *s = mount_session_caller(s_ctx());
	if (!s)
		return s_err();
	plexus_dir *d = plexus_opendir(s->p, path);
	int rc = d ? s_fill(d, buf, fill) : s_err();
	if (d)
		plexus_closedir(d);
	mount_session_put(s_ctx(), s);
	return rc;
}

/* The open flags Plexus is given: the access mode and what changes behaviour; O_APPEND is
 * left to the kernel, which passes the end of file as the offset of each write. */
static int s_flags(int flags)
{
	return flags & (O_ACCMODE | O_TRUNC | O_NONBLOCK | O_DIRECTORY | O_NOFOLLOW | O_EXCL);
}

/* Opens path for the caller; the file handle holds its session. */
static int s_open_as_caller(const char *path, int flags, mode_t mode, struct fuse_file_info *fi)
{
	mount_session *s = mount_session_caller(s_ctx());
	if (!s)
		return s_err();
	int fd = plexus_open(s->p, path, flags, mode);
	if (fd >= 0)
		fi->fh = mount_fh(s_ctx(), s, fd);
	return s_end(s, fd);
}

static int s_open(const char *path, struct fuse_file_info *fi)
{
	return s_open_as_caller(path, s_flags(fi->flags), 0, fi);
}

static int s_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	return s_open_as_caller(path, s_flags(fi->flags) | O_CREAT, mode, fi);
}

static int s_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)path;
	int fd = s_fd(fi);
	plexus *p = s_fp(fi);
	size_t done = 0;
	while (done < size) {
		ssize_t n = plexus_pread(p, fd, buf + done, size - done, off + (off_t)done);
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
	int fd = s_fd(fi);
	plexus *p = s_fp(fi);
	size_t done = 0;
	while (done < size) {
		ssize_t n = plexus_pwrite(p, fd, buf + done, size - done, off + (off_t)done);
		if (n <= 0)
			return done ? (int)done : n == 0 ? -EIO : s_err();
		done += (size_t)n;
	}
	return (int)done;
}

static int s_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	int fd = s_fd(fi);
	plexus *p = s_fp(fi);
	/* the file's hold on its session goes with it */
	return s_end(mount_fh_session(s_ctx(), fi->fh), plexus_close(p, fd));
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
	int fd = s_fd(fi);
	plexus *p = s_fp(fi);
	int rc = datasync ? plexus_fdatasync(p, fd) : plexus_fsync(p, fd);
	return rc < 0 ? s_err() : 0;
}

/* fsync(2) on a directory (how programs make a create or a rename durable): the directory has
 * no handle here (readdir opens it each time), so it is opened for the call. */
static int s_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)datasync, (void)fi;
	mount_session *s = mount_session_caller(s_ctx());
	if (!s)
		return s_err();
	int fd = plexus_open(s->p, path, O_RDONLY | O_DIRECTORY);
	int rc = fd < 0 ? -1 : plexus_fsync(s->p, fd);
	rc = rc < 0 ? s_err() : 0;
	if (fd >= 0)
		plexus_close(s->p, fd);
	mount_session_put(s_ctx(), s);
	return rc;
}

static int s_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	if (fi)
		return plexus_ftruncate(s_fp(fi), s_fd(fi), size) < 0 ? s_err() : 0;
	mount_session *s = mount_session_caller(s_ctx());
	return s ? s_end(s, plexus_truncate(s->p, path, size)) : s_err();
}

static int s_mkdir(const char *path, mode_t mode)
{
	mount_session *s = mount_session_caller(s_ctx());
	return s ? s_end(s, plexus_mkdir(s->p, path, mode)) : s_err();
}

static int s_rmdir(const char *path)
{
	mount_session *s = mount_session_caller(s_ctx());
	return s ? s_end(s, plexus_rmdir(s->p, path)) : s_err();
}

static int s_unlink(const char *path)
{
	mount_session *s = mount_session_caller(s_ctx());
	return s ? s_end(s, plexus_unlink(s->p, path)) : s_err();
}

static int s_rename(const char *from, const char *to, unsigned int flags)
{
	struct stat st;
	if (flags & RENAME_EXCHANGE)
		return -EINVAL;
	if (flags & ~(unsigned)RENAME_NOREPLACE)
		return -EINVAL;
	mount_session *s = mount_session_caller(s_ctx());
	if (!s)
		return s_err();
	if ((flags & RENAME_NOREPLACE) && plexus_lstat(s->p, to, &st) == 0) {
		mount_session_put(s_ctx(), s);
		return -EEXIST;
	}
	return s_end(s, plexus_rename(s->p, from, to));
}

static int s_link(const char *from, const char *to)
{
	mount_session *s = mount_session_caller(s_ctx());
	return s ? s_end(s, plexus_link(s->p, from, to)) : s_err();
}

static int s_symlink(const char *target, const char *path)
{
	mount_session *s = mount_session_caller(s_ctx());
	return s ? s_end(s, plexus_symlink(s->p, target, path)) : s_err();
}

static int s_readlink(const char *path, char *buf, size_t size)
{
	if (size == 0)
		return -EINVAL;
	mount_session *s = mount_session_caller(s_ctx());
	if (!s)
		return s_err();
	ssize_t n = plexus_readlink(s->p, path, buf, size - 1);
	if (n >= 0)
		buf[n] = '\0';
	return s_end(s, n < 0 ? -1 : 0);
}

static int s_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	if (fi)
		return plexus_fchmod(s_fp(fi), s_fd(fi), mode) < 0 ? s_err() : 0;
	mount_session *s = mount_session_caller(s_ctx());
	return s ? s_end(s, plexus_chmod(s->p, path, mode)) : s_err();
}

static int s_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	if (fi)
		return plexus_fchown(s_fp(fi), s_fd(fi), uid, gid) < 0 ? s_err() : 0;
	mount_session *s = mount_session_caller(s_ctx());
	return s ? s_end(s, plexus_lchown(s->p, path, uid, gid)) : s_err();
}

static int s_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	if (fi)
		return plexus_futimens(s_fp(fi), s_fd(fi), tv) < 0 ? s_err() : 0;
	mount_session *s = mount_session_caller(s_ctx());
	return s ? s_end(s, plexus_utimens(s->p, path, tv, AT_SYMLINK_NOFOLLOW)) : s_err();
}

static int s_statfs(const char *path, struct statvfs *buf)
{
	mount_session *s = mount_session_caller(s_ctx());
	return s ? s_end(s, plexus_statvfs(s->p, path, buf)) : s_err();
}

static int s_access(const char *path, int mask)
{
	mount_session *s = mount_session_caller(s_ctx());
	return s ? s_end(s, plexus_access(s->p, path, mask)) : s_err();
}

/* mknod(2) of what Plexus makes through other calls: a regular file (open and close), a FIFO
 * (mkfifo), a special file (mknod). Returns 0 or -1 with errno. */
static int s_make_node(plexus *p, const char *path, mode_t mode, dev_t rdev)
{
	if (S_ISFIFO(mode))
		return plexus_mkfifo(p, path, mode & 07777);
	if (!S_ISREG(mode))
		return plexus_mknod(p, path, mode, rdev);
	int fd = plexus_open(p, path, O_WRONLY | O_CREAT | O_EXCL, mode & 07777);
	return fd < 0 ? -1 : plexus_close(p, fd);
}

static int s_mknod(const char *path, mode_t mode, dev_t rdev)
{
	mount_session *s = mount_session_caller(s_ctx());
	return s ? s_end(s, s_make_node(s->p, path, mode, rdev)) : s_err();
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
