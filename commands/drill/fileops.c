/*
 * fileops.c — the calls a drill's writers and checks make, through libplexus or through a
 * running `plexus mount` (drill.h, docs/drills.md "Through the mount").
 *
 * Entry points: drill_fileops_libplexus, drill_fileops_mount, drill_mount_check.
 *
 * Both tables take Plexus paths (/data/drill-PID/w0/f1). Through libplexus each client is a
 * handle of its own, connected to VFS; through the mount a client is only the mount's root,
 * and each call is the plain POSIX call on root + the path, as a Linux program makes it, with
 * FUSE and the mount's own libplexus sessions in between. Reads and writes are whole (looped
 * until done, end of file or an error); a failure is -1 with errno set.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <plexus/plexus.h>

#include "drill.h"

#define S_FUSE_SUPER_MAGIC 0x65735546 /* statfs(2)'s f_type of every FUSE file system */

/* A table of the calls named PREFIX_<call>, which each way through defines. */
#define S_FILEOPS(THROUGH, PREFIX)                                                                 \
	{                                                                                          \
		.through = THROUGH, .connect = PREFIX##_connect,                                   \
		.disconnect = PREFIX##_disconnect, .open = PREFIX##_open, .read = PREFIX##_read,   \
		.write = PREFIX##_write, .fsync = PREFIX##_fsync, .close = PREFIX##_close,         \
		.rename = PREFIX##_rename, .unlink = PREFIX##_unlink, .mkdir = PREFIX##_mkdir,     \
		.stat = PREFIX##_stat,                                                             \
	}

struct drill_fs {
	plexus *px;          /* libplexus: the handle */
	char root[PATH_MAX]; /* the mount: where Plexus's "/" is */
};

/* ---- libplexus ---- */

static drill_fs *s_px_connect(const char *root, const char *name)
{
	(void)root;
	plexus_opts o;
	plexus_opts_init(&o);
	o.name = name;
	o.timeout_ms = DRILL_HUNG_MS; /* longer than any recovery: what takes longer hung */
	drill_fs *self = calloc(1, sizeof *self);
	if (!self || !(self->px = plexus_connect(&o))) {
		int e = self ? errno : ENOMEM;
		free(self);
		errno = e;
		return NULL;
	}
	return self;
}

static void s_px_disconnect(drill_fs **self_p)
{
	if (!self_p || !*self_p)
		return;
	plexus_disconnect(&(*self_p)->px);
	free(*self_p);
	*self_p = NULL;
}

static int s_px_open(drill_fs *self, const char *path, int flags, mode_t mode)
{
	return plexus_open(self->px, path, flags, mode);
}

static ssize_t s_px_read(drill_fs *self, int fd, void *buf, size_t n)
{
	return plexus_read(self->px, fd, buf, n);
}

static ssize_t s_px_write(drill_fs *self, int fd, const void *buf, size_t n)
{
	return plexus_write(self->px, fd, buf, n);
}

static int s_px_fsync(drill_fs *self, int fd)
{
	return plexus_fsync(self->px, fd);
}

static int s_px_close(drill_fs *self, int fd)
{
	return plexus_close(self->px, fd);
}

static int s_px_rename(drill_fs *self, const char *from, const char *to)
{
	return plexus_rename(self->px, from, to);
}

static int s_px_unlink(drill_fs *self, const char *path)
{
	return plexus_unlink(self->px, path);
}

static int s_px_mkdir(drill_fs *self, const char *path, mode_t mode)
{
	return plexus_mkdir(self->px, path, mode);
}

static int s_px_stat(drill_fs *self, const char *path, struct stat *st)
{
	return plexus_stat(self->px, path, st);
}

const drill_fileops drill_fileops_libplexus = S_FILEOPS("libplexus", s_px);

/* ---- POSIX through the mount ---- */

static drill_fs *s_mnt_connect(const char *root, const char *name)
{
	(void)name;
	drill_fs *self = calloc(1, sizeof *self);
	if (!self) {
		errno = ENOMEM;
		return NULL;
	}
	snprintf(self->root, sizeof self->root, "%s", root);
	return self;
}

static void s_mnt_disconnect(drill_fs **self_p)
{
	if (!self_p)
		return;
	free(*self_p);
	*self_p = NULL;
}

/* root + path into out. Returns false (ENAMETOOLONG) when it does not fit. */
static bool s_mnt_path(const drill_fs *self, const char *path, char *out, size_t size)
{
	if ((size_t)snprintf(out, size, "%s%s", self->root, path) < size)
		return true;
	errno = ENAMETOOLONG;
	return false;
}

static int s_mnt_open(drill_fs *self, const char *path, int flags, mode_t mode)
{
	char p[PATH_MAX];
	return s_mnt_path(self, path, p, sizeof p) ? open(p, flags | O_CLOEXEC, mode) : -1;
}

static ssize_t s_mnt_read(drill_fs *self, int fd, void *buf, size_t n)
{
	(void)self;
	size_t done = 0;
	while (done < n) {
		ssize_t k = read(fd, (char *)buf + done, n - done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return done ? (ssize_t)done : -1;
		if (k == 0)
			break;
		done += (size_t)k;
	}
	return (ssize_t)done;
}

static ssize_t s_mnt_write(drill_fs *self, int fd, const void *buf, size_t n)
{
	(void)self;
	size_t done = 0;
	while (done < n) {
		ssize_t k = write(fd, (const char *)buf + done, n - done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return done ? (ssize_t)done : -1;
		done += (size_t)k;
	}
	return (ssize_t)done;
}

static int s_mnt_fsync(drill_fs *self, int fd)
{
	(void)self;
	return fsync(fd);
}

static int s_mnt_close(drill_fs *self, int fd)
{
	(void)self;
	return close(fd);
}

static int s_mnt_rename(drill_fs *self, const char *from, const char *to)
{
	char a[PATH_MAX], b[PATH_MAX];
	return s_mnt_path(self, from, a, sizeof a) && s_mnt_path(self, to, b, sizeof b)
	           ? rename(a, b)
	           : -1;
}

static int s_mnt_unlink(drill_fs *self, const char *path)
{
	char p[PATH_MAX];
	return s_mnt_path(self, path, p, sizeof p) ? unlink(p) : -1;
}

static int s_mnt_mkdir(drill_fs *self, const char *path, mode_t mode)
{
	char p[PATH_MAX];
	return s_mnt_path(self, path, p, sizeof p) ? mkdir(p, mode) : -1;
}

static int s_mnt_stat(drill_fs *self, const char *path, struct stat *st)
{
	char p[PATH_MAX];
	return s_mnt_path(self, path, p, sizeof p) ? stat(p, st) : -1;
}

const drill_fileops drill_fileops_mount = S_FILEOPS("mount", s_mnt);

int drill_mount_check(const char *dir, char *root, size_t size, char *why, size_t why_size)
{
	struct statfs sfs;
	char real[PATH_MAX];
	if (!realpath(dir, real) || statfs(real, &sfs) < 0) {
		int e = errno;
		snprintf(why, why_size, "%s: %s", dir, strerror(e));
		return -e;
	}
	if (sfs.f_type != S_FUSE_SUPER_MAGIC) {
		snprintf(why, why_size,
		         "%s is not a FUSE mount (statfs f_type 0x%llx, not 0x%x): mount Plexus "
		         "there first with plexus mount %s",
		         dir, (unsigned long long)sfs.f_type, S_FUSE_SUPER_MAGIC, dir);
		return -EINVAL;
	}
	if ((size_t)snprintf(root, size, "%s", strcmp(real, "/") == 0 ? "" : real) >= size) {
		snprintf(why, why_size, "%s: %s", dir, strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	return 0;
}
