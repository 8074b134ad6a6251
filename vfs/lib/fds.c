/*
 * fds.c — the process's descriptors as libplexus keeps them, so that they survive a restart
 * of VFS (docs/using.md "When VFS restarts").
 *
 * Entry points: plexus__fd_bind, plexus__fd_opened, plexus__fd_path, plexus__fd_copied,
 * plexus__fd_serial, plexus__fd_closed,
 * plexus__fd_moved, plexus__fd_cloexec, plexus__fd_cwd, plexus__fds_exec, plexus__fds_restore,
 * plexus__fds_free.
 *
 * A descriptor belongs to the VFS instance (label + generation) that issued it: every call
 * naming it is addressed to that generation, so the transport refuses it (a dead endpoint)
 * rather than deliver it to a later instance, where the same number may name another file.
 * What a descriptor needs to be opened again is kept beside it: the absolute path it was
 * opened by, its flags, the device and inode it turned out to be, its position. When the
 * handle registers with a new VFS (call.c, connect.c), plexus__fds_restore opens each file
 * again at the same number before any other call goes out, checks that the path still leads
 * to the same device and inode, and puts the position back. A descriptor that cannot be
 * opened again (a pipe end, a device, a file removed or replaced meanwhile) keeps its number
 * on a stand-in descriptor ("/" opened read-only, so that no new open gets it) and fails with
 * ESTALE until it is closed.
 *
 * The table follows VFS's order even when threads share the handle: a number VFS gives to a
 * new opening while the table still holds an older one (its close's answer not yet noted by
 * the closing thread) closes the older one here first, its unsynced writes kept with its file
 * (durable.c), and each opening has a serial, so that the late close forgets only its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "client.h"

#define S_REOPEN_DROP (O_CREAT | O_EXCL | O_TRUNC)

static plexus__fd *s_slot(plexus *self, int fd, bool grow)
{
	if (fd < 0 || fd >= PLEXUS__FD_MAX)
		return NULL;
	if ((size_t)fd >= self->nfds) {
		if (!grow)
			return NULL;
		size_t n = (size_t)fd + 16 < PLEXUS__FD_MAX ? (size_t)fd + 16 : PLEXUS__FD_MAX;
		plexus__fd *more = realloc(self->fds, n * sizeof *more);
		if (!more)
			return NULL;
		memset(more + self->nfds, 0, (n - self->nfds) * sizeof *more);
		self->fds = more;
		self->nfds = n;
	}
	return &self->fds[fd];
}

static void s_clear(plexus__fd *f)
{
	free(f->path);
	memset(f, 0, sizeof *f);
}

/* f is closed: its unsynced writes stay its file's (durable.c). */
static void s_close(plexus *self, plexus__fd *f)
{
	if (f->used)
		plexus__durable_closed(self, f);
	s_clear(f);
}

int plexus__fd_bind(plexus *self, int fd, uint64_t *generation)
{
	pthread_mutex_lock(&self->fds_lock);
	plexus__fd *f = s_slot(self, fd, false);
	int rc = f && f->used && f->stale ? -ESTALE : 0;
	*generation = f && f->used ? f->vfs_gen : 0;
	pthread_mutex_unlock(&self->fds_lock);
	return rc;
}

/* path made absolute against the handle's working directory, in a new string. */
static char *s_absolute(plexus *self, const char *path)
{
	if (path[0] == '/')
		return strdup(path);
	size_t n = strlen(self->cwd) + strlen(path) + 2;
	char *abs = malloc(n);
	if (abs)
		snprintf(abs, n, "%s%s%s", self->cwd, strcmp(self->cwd, "/") ? "/" : "", path);
	return abs;
}

char *plexus__fd_path(plexus *self, int fd)
{
	pthread_mutex_lock(&self->fds_lock);
	plexus__fd *f = s_slot(self, fd, false);
	char *path = f && f->used && f->path ? strdup(f->path) : NULL;
	pthread_mutex_unlock(&self->fds_lock);
	return path;
}

void plexus__fd_opened(plexus *self, int fd, const char *path, int flags,
                       const Plexus__FsAttr *attr)
{
	pthread_mutex_lock(&self->fds_lock);
	plexus__fd *f = s_slot(self, fd, true);
	if (f) {
		s_close(self, f); /* VFS closed what the number named, if anything */
		*f = (plexus__fd){.used = true,
		                  .vfs_gen = self->vfs_gen,
		                  .flags = flags,
		                  .serial = ++self->fd_serial};
		if (path && attr && (S_ISREG(attr->mode) || S_ISDIR(attr->mode))) {
			f->path = s_absolute(self, path); /* NULL: not reopened */
			f->mode = attr->mode;
			f->ino = attr->ino;
			f->dev = attr->dev;
		}
	}
	pthread_mutex_unlock(&self->fds_lock);
}

void plexus__fd_copied(plexus *self, int from, int to)
{
	pthread_mutex_lock(&self->fds_lock);
	plexus__fd *b = s_slot(self, to, true), *a = s_slot(self, from, false); /* b may move a */
	if (b && a != b) {
		s_close(self, b);
		if (a && a->used) {
			*b = *a;
			b->path = a->path ? strdup(a->path) : NULL;
			b->flags &= ~O_CLOEXEC;
		} else {
			*b = (plexus__fd){.used = true, .vfs_gen = self->vfs_gen};
		}
		b->serial = ++self->fd_serial;
	}
	pthread_mutex_unlock(&self->fds_lock);
}

uint64_t plexus__fd_serial(plexus *self, int fd)
{
	pthread_mutex_lock(&self->fds_lock);
	plexus__fd *f = s_slot(self, fd, false);
	uint64_t serial = f && f->used ? f->serial : 0;
	pthread_mutex_unlock(&self->fds_lock);
	return serial;
}

void plexus__fd_closed(plexus *self, int fd, uint64_t serial)
{
	pthread_mutex_lock(&self->fds_lock);
	plexus__fd *f = s_slot(self, fd, false);
	if (f && f->used && f->serial == serial)
		s_close(self, f);
	pthread_mutex_unlock(&self->fds_lock);
}

void plexus__fd_moved(plexus *self, int fd, int64_t offset, bool relative)
{
	pthread_mutex_lock(&self->fds_lock);
	plexus__fd *f = s_slot(self, fd, false);
	if (f && f->used)
		f->offset = relative ? f->offset + offset : offset;
	pthread_mutex_unlock(&self->fds_lock);
}

void plexus__fd_cloexec(plexus *self, int fd, bool on)
{
	pthread_mutex_lock(&self->fds_lock);
	plexus__fd *f = s_slot(self, fd, false);
	if (f && f->used)
		f->flags = on ? f->flags | O_CLOEXEC : f->flags & ~O_CLOEXEC;
	pthread_mutex_unlock(&self->fds_lock);
}

void plexus__fds_exec(plexus *self)
{
	pthread_mutex_lock(&self->fds_lock);
	for (size_t i = 0; i < self->nfds; i++)
		if (self->fds[i].used && (self->fds[i].flags & O_CLOEXEC))
			s_close(self, &self->fds[i]);
	pthread_mutex_unlock(&self->fds_lock);
}

void plexus__fd_cwd(plexus *self, const char *path, int fd)
{
	pthread_mutex_lock(&self->fds_lock);
	plexus__fd *f = fd >= 0 ? s_slot(self, fd, false) : NULL;
	char *abs = path ? s_absolute(self, path) : f && f->path ? strdup(f->path) : NULL;
	if (abs && strlen(abs) < sizeof self->cwd)
		snprintf(self->cwd, sizeof self->cwd, "%s", abs);
	free(abs);
	pthread_mutex_unlock(&self->fds_lock);
}

/* One VfsFd call to the current VFS that never registers again (plexus__fds_restore runs
 * inside a rejoin); call is the request's raw typed call (request.c). */
static int64_t s_fd_op(plexus *self, plexus__fd_raw *call, int fd, int fd2, int64_t offset)
{
	Plexus__VfsFd req = PLEXUS__VFS_FD__INIT;
	req.fd = fd;
	req.fd2 = fd2;
	req.offset = offset;
	req.whence = SEEK_SET;
	return call(self, &req, self->timeout_ms, NULL);
}

/* Opens f's path on the new instance; returns the new descriptor or a negative errno
 * (-ESTALE when the path leads elsewhere now). */
static int s_reopen(plexus *self, const plexus__fd *f)
{
	Plexus__VfsPath req = PLEXUS__VFS_PATH__INIT;
	req.path = f->path;
	req.flags = f->flags & ~S_REOPEN_DROP;
	plexus__answer ans;
	int64_t fd = plexus__vfs_open_raw(self, &req, self->timeout_ms, &ans);
	if (fd < 0)
		return fd == -ENOENT ? -ESTALE : (int)fd;
	bool same = ans.reply->stat && ans.reply->stat->ino == f->ino &&
	            ans.reply->stat->dev == f->dev &&
	            (ans.reply->stat->mode & S_IFMT) == (f->mode & S_IFMT);
	plexus__answer_free(&ans);
	if (!same) {
		s_fd_op(self, plexus__vfs_close_raw, (int)fd, 0, 0);
		return -ESTALE;
	}
	return (int)fd;
}

/* Puts an open descriptor nfd at number fd and closes nfd. */
static int s_place(plexus *self, int nfd, int fd)
{
	if (nfd == fd)
		return 0;
	int64_t rc = s_fd_op(self, plexus__vfs_dup2_raw, nfd, fd, 0);
	s_fd_op(self, plexus__vfs_close_raw, nfd, 0, 0);
	return rc < 0 ? (int)rc : 0;
}

/* A stand-in at fd: "/" opened read-only, so that the new instance hands the number to
 * nobody else while the process still holds its stale descriptor. */
static void s_hold(plexus *self, int fd)
{
	Plexus__VfsPath req = PLEXUS__VFS_PATH__INIT;
	req.path = "/";
	req.flags = O_RDONLY | O_DIRECTORY;
	int64_t nfd = plexus__vfs_open_raw(self, &req, self->timeout_ms, NULL);
	if (nfd >= 0)
		s_place(self, (int)nfd, fd);
}

/* One descriptor on the new instance: opened again, or held stale. */
static void s_restore_one(plexus *self, int fd, plexus__fd *f)
{
	int nfd = f->path ? s_reopen(self, f) : -ESTALE;
	int rc = nfd < 0 ? nfd : s_place(self, nfd, fd);
	if (rc == 0 && S_ISREG(f->mode) && !(f->flags & O_APPEND) && f->offset)
		rc = (int)s_fd_op(self, plexus__vfs_lseek_raw, fd, 0, f->offset);
	if (rc < 0) {
		f->stale = true;
		s_hold(self, fd);
	}
}

int plexus__fds_restore(plexus *self)
{
	pthread_mutex_lock(&self->fds_lock);
	Plexus__VfsPath cd = PLEXUS__VFS_PATH__INIT;
	cd.path = self->cwd;
	if (strcmp(self->cwd, "/") != 0 &&
	    plexus__vfs_chdir_raw(self, &cd, self->timeout_ms, NULL) < 0)
		snprintf(self->cwd, sizeof self->cwd, "/"); /* gone: the new instance's "/" */
	int stale = 0;
	for (size_t fd = 0; fd < self->nfds; fd++) { /* VFS holds none of them now */
		plexus__fd *f = &self->fds[fd];
		if (!f->used)
			continue;
		bool was = f->stale;
		if (was)
			s_hold(self, (int)fd);
		else
			s_restore_one(self, (int)fd, f);
		f->vfs_gen = self->vfs_gen;
		stale += f->stale && !was;
	}
	pthread_mutex_unlock(&self->fds_lock);
	return stale;
}

void plexus__fds_free(plexus *self)
{
	for (size_t i = 0; i < self->nfds; i++)
		free(self->fds[i].path);
	free(self->fds);
	self->fds = NULL;
	self->nfds = 0;
}
