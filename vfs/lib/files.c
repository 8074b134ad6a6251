/*
 * files.c — descriptors: open, read and write them, move in them, copy and close them.
 *
 * Entry points: plexus_open, plexus_creat, plexus_open_stat, plexus_close, plexus_read,
 * plexus_write, plexus_pread, plexus_pwrite, plexus_lseek, plexus_fsync, plexus_fdatasync,
 * plexus_syncfs, plexus_sync, plexus_truncate, plexus_ftruncate, plexus_ioctl, plexus_dup,
 * plexus_dup2, plexus_dup3, plexus_fcntl, plexus_pipe, plexus_pipe2, plexus_select,
 * plexus_closeexec.
 *
 * Reads and writes larger than the handle's chunk go as several requests of one chunk each.
 * A write goes on until every chunk is written or one is short; a read goes on past its first
 * chunk only on a regular file or a block device (a pipe or a tty answers what it has).
 *
 * The sync calls wait without the handle's timeout: writing a file system back may take long
 * (a disk driver restarting), and VFS bounds each file server request itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "client.h"

static int s_result(int64_t rc)
{
	return rc < 0 ? plexus__fail(rc) : (int)rc;
}

/* open and openat: path relative to dirfd (AT_FDCWD: the working directory). st (may be
 * NULL) gets the file's status when the answer carries it fresh (*fresh). */
static int s_open(plexus *self, int dirfd, const char *path, int flags, mode_t mode,
                  struct stat *st, bool *fresh)
{
	int rc = plexus__check_path(path);
	if (rc < 0)
		return plexus__fail(rc);
	Plexus__VfsPath req = PLEXUS__VFS_PATH__INIT;
	req.path = (char *)path;
	req.flags = flags;
	req.mode = mode;
	char *abs = NULL; /* what a restarted VFS opens again: dirfd's path joined with path */
	if (path[0] != '/' && dirfd != AT_FDCWD) {
		if (dirfd < 0)
			return plexus__fail(-EBADF);
		req.at = (uint32_t)dirfd + 1;
		char *dir = plexus__fd_path(self, dirfd);
		size_t n = dir ? strlen(dir) + strlen(path) + 2 : 0;
		if (dir && (abs = malloc(n)))
			snprintf(abs, n, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", path);
		free(dir);
	}
	/* Opening a FIFO waits for its other end. */
	plexus__answer ans;
	int64_t fd = plexus__vfs_open(self, &req, NULL, 0, PLEXUS__WAIT, &ans);
	if (fd >= 0) {
		plexus__fd_opened(self, (int)fd, req.at ? abs : path, flags, ans.reply->stat);
		plexus__direct_learn(self, (int)fd, ans.reply->stage_label);
		if (st && ans.reply->stat && ans.reply->stat_fresh) {
			plexus__stat_from(ans.reply->stat, st);
			*fresh = true;
		}
		plexus__answer_free(&ans);
	}
	free(abs);
	return fd < 0 ? plexus__fail(fd) : (int)fd;
}

/* The mode argument of open and openat, when flags need one. */
#define S_MODE_ARG(flags, mode)                                                                    \
	do {                                                                                       \
		if (((flags)&O_CREAT) || ((flags)&O_TMPFILE) == O_TMPFILE) {                       \
			va_list ap;                                                                \
			va_start(ap, flags);                                                       \
			(mode) = va_arg(ap, mode_t);                                               \
			va_end(ap);                                                                \
		}                                                                                  \
	} while (0)

int plexus_open(plexus *self, const char *path, int flags, ...)
{
	mode_t mode = 0; /* O_TMPFILE has O_DIRECTORY: both bits say it */
	S_MODE_ARG(flags, mode);
	return s_open(self, AT_FDCWD, path, flags, mode, NULL, NULL);
}

int plexus_open_stat(plexus *self, const char *path, int flags, mode_t mode, struct stat *st)
{
	if (!st)
		return plexus__fail(-EFAULT);
	bool fresh = false;
	int fd = s_open(self, AT_FDCWD, path, flags, mode, st, &fresh);
	if (fd < 0 || fresh || plexus_fstat(self, fd, st) == 0)
		return fd;
	int error = errno;
	plexus_close(self, fd);
	errno = error;
	return -1;
}

int plexus_openat(plexus *self, int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	S_MODE_ARG(flags, mode);
	return s_open(self, dirfd, path, flags, mode, NULL, NULL);
}

int plexus_creat(plexus *self, const char *path, mode_t mode)
{
	return plexus_open(self, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

int plexus_close(plexus *self, int fd)
{
	Plexus__VfsFd req = PLEXUS__VFS_FD__INIT;
	req.fd = fd;
	uint64_t generation, serial = self ? plexus__fd_serial(self, fd) : 0;
	int64_t rc;
	if (self && plexus__fd_bind(self, fd, &generation) == -ESTALE) /* its stand-in on "/" */
		rc = plexus__vfs_close_raw(self, &req, self->timeout_ms, NULL);
	else
		rc = plexus__vfs_close(self, &req, NULL, 0, self->timeout_ms, NULL);
	if (self && (rc >= 0 || rc == -EBADF))
		plexus__fd_closed(self, fd, serial);
	return s_result(rc);
}

/* One VFS_READ or VFS_PREAD of at most one chunk into buf. Returns the count or -errno. */
static int64_t s_read_chunk(plexus *self, plexus__fd_call *call, int fd, void *buf, size_t count,
                            off_t offset)
{
	Plexus__VfsFd req = PLEXUS__VFS_FD__INIT;
	req.fd = fd;
	req.size = count;
	req.offset = offset;
	req.direct = plexus__direct_wanted(count);
	plexus__answer ans;
	int64_t rc = call(self, &req, NULL, 0, PLEXUS__WAIT, &ans);
	if (rc < 0)
		return rc;
	size_t got = ans.msg->data_size;
	int64_t moved = rc; /* what VFS moved the position by */
	if (ans.reply->stage && (got || (uint64_t)rc > count))
		rc = -EPROTO; /* a stage holds all the bytes, at most what was asked */
	else if (ans.reply->stage)
		rc = plexus__direct_collect(self, fd, ans.reply, rc, buf);
	else if (got > count || (uint64_t)rc != got)
		rc = -EPROTO; /* more than asked, or a count that is not what came */
	else if (got)
		memcpy(buf, ans.msg->data, got);
	if (rc >= 0 && moved > 0 && call == plexus__vfs_read)
		plexus__fd_moved(self, fd, moved, true);
	plexus__answer_free(&ans);
	return rc;
}

/* True when reads on fd may go on past a full chunk: a regular file or a block device. */
static bool s_seekable(plexus *self, int fd)
{
	struct stat st;
	return plexus_fstat(self, fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode));
}

/* Reads count bytes in chunks; pread when positioned. Returns the total or -errno (an error
 * after some bytes were read ends the read with what it has). */
static ssize_t s_read(plexus *self, plexus__fd_call *call, int fd, void *buf, size_t count,
                      off_t offset)
{
	if (!buf && count)
		return -EFAULT;
	size_t chunk = self->chunk_max, done = 0;
	bool more = count > chunk && s_seekable(self, fd);
	do {
		size_t want = count - done < chunk ? count - done : chunk;
		int64_t got =
		    s_read_chunk(self, call, fd, (char *)buf + done, want, offset + (off_t)done);
		if (got < 0)
			return done ? (ssize_t)done : (ssize_t)got;
		done += (size_t)got;
		if ((size_t)got < want)
			break;
	} while (more && done < count);
	return (ssize_t)done;
}

ssize_t plexus_read(plexus *self, int fd, void *buf, size_t count)
{
	ssize_t rc = s_read(self, plexus__vfs_read, fd, buf, count, 0);
	return rc < 0 ? plexus__fail(rc) : rc;
}

ssize_t plexus_pread(plexus *self, int fd, void *buf, size_t count, off_t offset)
{
	if (offset < 0)
		return plexus__fail(-EINVAL);
	ssize_t rc = s_read(self, plexus__vfs_pread, fd, buf, count, offset);
	return rc < 0 ? plexus__fail(rc) : rc;
}

/* One VFS_WRITE or VFS_PWRITE of want bytes: staged at the file server when fd's is known
 * (VFS_OPEN named it: direct.c), else with the call. Returns the count or -errno. */
static int64_t s_write_chunk(plexus *self, plexus__fd_call *call, int fd, const char *buf,
                             size_t want, off_t offset)
{
	int64_t put;
	if (plexus__direct_write(self, call, fd, buf, want, offset, &put))
		return put;
	Plexus__VfsFd req = PLEXUS__VFS_FD__INIT;
	req.fd = fd;
	req.size = want;
	req.offset = offset;
	return call(self, &req, buf, want, PLEXUS__WAIT, NULL);
}

/* Writes count bytes in chunks; returns the total or -errno as s_read. */
static ssize_t s_write(plexus *self, plexus__fd_call *call, int fd, const void *buf, size_t count,
                       off_t offset)
{
	if (!buf && count)
		return -EFAULT;
	size_t chunk = self->chunk_max, done = 0;
	do {
		size_t want = count - done < chunk ? count - done : chunk;
		int64_t put = s_write_chunk(self, call, fd, (const char *)buf + done, want,
		                            offset + (off_t)done);
		if (put < 0)
			return done ? (ssize_t)done : (ssize_t)put;
		if ((uint64_t)put > want)
			return -EPROTO;
		if (call == plexus__vfs_write)
			plexus__fd_moved(self, fd, put, true);
		done += (size_t)put;
		if ((size_t)put < want)
			break;
	} while (done < count);
	return (ssize_t)done;
}

ssize_t plexus_write(plexus *self, int fd, const void *buf, size_t count)
{
	ssize_t rc = s_write(self, plexus__vfs_write, fd, buf, count, 0);
	return rc < 0 ? plexus__fail(rc) : rc;
}

ssize_t plexus_pwrite(plexus *self, int fd, const void *buf, size_t count, off_t offset)
{
	if (offset < 0)
		return plexus__fail(-EINVAL);
	ssize_t rc = s_write(self, plexus__vfs_pwrite, fd, buf, count, offset);
	return rc < 0 ? plexus__fail(rc) : rc;
}

off_t plexus_lseek(plexus *self, int fd, off_t offset, int whence)
{
	Plexus__VfsFd req = PLEXUS__VFS_FD__INIT;
	req.fd = fd;
	req.offset = offset;
	req.whence = whence;
	int64_t rc = plexus__vfs_lseek(self, &req, NULL, 0, self->timeout_ms, NULL);
	if (rc >= 0)
		plexus__fd_moved(self, fd, rc, false);
	return rc < 0 ? plexus__fail(rc) : (off_t)rc;
}

int plexus_fsync(plexus *self, int fd)
{
	Plexus__VfsFd req = PLEXUS__VFS_FD__INIT;
	req.fd = fd;
	return s_result(plexus__vfs_fsync(self, &req, NULL, 0, PLEXUS__WAIT, NULL));
}

int plexus_fdatasync(plexus *self, int fd)
{
	return plexus_fsync(self, fd); /* MFS commits whole transactions: data and metadata */
}

int plexus_syncfs(plexus *self, int fd)
{
	Plexus__VfsFd req = PLEXUS__VFS_FD__INIT;
	req.fd = fd;
	return s_result(plexus__vfs_syncfs(self, &req, NULL, 0, PLEXUS__WAIT, NULL));
}

int plexus_sync(plexus *self)
{
	return s_result(plexus__vfs_sync(self, NULL, NULL, 0, PLEXUS__WAIT, NULL));
}

int plexus_truncate(plexus *self, const char *path, off_t length)
{
	int rc = plexus__check_path(path);
	if (rc < 0)
		return plexus__fail(rc);
	Plexus__VfsPath req = PLEXUS__VFS_PATH__INIT;
	req.path = (char *)path;
	req.length = length;
	return s_result(plexus__vfs_truncate(self, &req, NULL, 0, self->timeout_ms, NULL));
}

int plexus_ftruncate(plexus *self, int fd, off_t length)
{
	Plexus__VfsFd req = PLEXUS__VFS_FD__INIT;
	req.fd = fd;
	req.offset = length;
	return s_result(plexus__vfs_ftruncate(self, &req, NULL, 0, self->timeout_ms, NULL));
}

int plexus_ioctl(plexus *self, int fd, uint32_t request, const void *in, size_t in_size, void *out,
                 size_t *out_size)
{
	if ((!in && in_size) || (out && !out_size))
		return plexus__fail(-EFAULT);
	Plexus__VfsFd req = PLEXUS__VFS_FD__INIT;
	req.fd = fd;
	req.arg = request;
	req.size = out_size ? *out_size : 0;
	plexus__answer ans;
	int64_t rc = plexus__vfs_ioctl(self, &req, in, in_size, PLEXUS__WAIT, &ans);
	if (rc < 0)
		return plexus__fail(rc);
	if (out_size) {
		size_t n = ans.msg->data_size < *out_size ? ans.msg->data_size : *out_size;
		if (out && n)
			memcpy(out, ans.msg->data, n);
		*out_size = out ? n : 0;
	}
	plexus__answer_free(&ans);
	return (int)rc;
}

int plexus_dup(plexus *self, int fd)
{
	Plexus__VfsFd req = PLEXUS__VFS_FD__INIT;
	req.fd = fd;
	int64_t rc = plexus__vfs_dup(self, &req, NULL, 0, self->timeout_ms, NULL);
	if (rc >= 0)
		plexus__fd_copied(self, fd, (int)rc);
	return s_result(rc);
}

int plexus_dup3(plexus *self, int fd, int fd2, int flags)
{
	if (fd == fd2 || (flags & ~O_CLOEXEC))
		return plexus__fail(-EINVAL);
	Plexus__VfsFd req = PLEXUS__VFS_FD__INIT;
	req.fd = fd;
	req.fd2 = fd2;
	req.arg = flags;
	int64_t rc = plexus__vfs_dup2(self, &req, NULL, 0, self->timeout_ms, NULL);
	if (rc >= 0)
		plexus__fd_copied(self, fd, (int)rc);
	return s_result(rc);
}

int plexus_dup2(plexus *self, int fd, int fd2)
{
	if (fd == fd2) { /* POSIX: fd2 when fd is valid, EBADF otherwise */
		int rc = plexus_fcntl(self, fd, F_GETFD);
		return rc < 0 ? rc : fd2;
	}
	return plexus_dup3(self, fd, fd2, 0);
}

int plexus_fcntl(plexus *self, int fd, int cmd, ...)
{
	Plexus__VfsFd req = PLEXUS__VFS_FD__INIT;
	req.fd = fd;
	req.cmd = cmd;
	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
	case F_SETFD:
	case F_SETFL: {
		va_list ap;
		va_start(ap, cmd);
		req.arg = va_arg(ap, int);
		va_end(ap);
		break;
	}
	case F_GETFD:
	case F_GETFL:
		break;
	default:
		return plexus__fail(-EINVAL);
	}
	int64_t rc = plexus__vfs_fcntl(self, &req, NULL, 0, self->timeout_ms, NULL);
	if (rc >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
		plexus__fd_copied(self, fd, (int)rc);
	if (rc >= 0 && (cmd == F_DUPFD_CLOEXEC || cmd == F_SETFD))
		plexus__fd_cloexec(self, cmd == F_SETFD ? fd : (int)rc,
		                   cmd == F_DUPFD_CLOEXEC || (req.arg & FD_CLOEXEC));
	return s_result(rc);
}

int plexus_pipe2(plexus *self, int fds[2], int flags)
{
	if (!fds)
		return plexus__fail(-EFAULT);
	if (flags & ~(O_CLOEXEC | O_NONBLOCK))
		return plexus__fail(-EINVAL);
	Plexus__VfsFd req = PLEXUS__VFS_FD__INIT;
	req.arg = flags;
	plexus__answer ans;
	int64_t rc = plexus__vfs_pipe(self, &req, NULL, 0, self->timeout_ms, &ans);
	if (rc < 0)
		return plexus__fail(rc);
	bool ok = ans.reply->n_fds == 2;
	if (ok) {
		fds[0] = ans.reply->fds[0];
		fds[1] = ans.reply->fds[1];
		plexus__fd_opened(self, fds[0], NULL, O_RDONLY | flags, NULL); /* not reopened */
		plexus__fd_opened(self, fds[1], NULL, O_WRONLY | flags, NULL);
	}
	plexus__answer_free(&ans);
	return ok ? 0 : plexus__fail(-EPROTO);
}

int plexus_pipe(plexus *self, int fds[2])
{
	return plexus_pipe2(self, fds, 0);
}

/* The descriptors set in set below nfds, into *list (n of them); NULL set gives none. */
static void s_fdlist(const fd_set *set, int nfds, int32_t *list, size_t *n)
{
	*n = 0;
	for (int fd = 0; set && fd < nfds; fd++)
		if (FD_ISSET(fd, set))
			list[(*n)++] = fd;
}

static void s_fdset(fd_set *set, const int32_t *list, size_t n, int nfds)
{
	if (!set)
		return;
	FD_ZERO(set);
	for (size_t i = 0; i < n; i++)
		if (list[i] >= 0 && list[i] < nfds)
			FD_SET(list[i], set);
}

int plexus_select(plexus *self, int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds,
                  struct timeval *timeout)
{
	if (nfds < 0 || nfds > FD_SETSIZE ||
	    (timeout && (timeout->tv_sec < 0 || timeout->tv_usec < 0)))
		return plexus__fail(-EINVAL);
	int32_t rd[FD_SETSIZE], wr[FD_SETSIZE], ex[FD_SETSIZE];
	Plexus__VfsSelect req = PLEXUS__VFS_SELECT__INIT;
	s_fdlist(readfds, nfds, rd, &req.n_read);
	s_fdlist(writefds, nfds, wr, &req.n_write);
	s_fdlist(exceptfds, nfds, ex, &req.n_except);
	req.read = rd;
	req.write = wr;
	req.except = ex;
	req.timeout_ms = timeout ? timeout->tv_sec * 1000 + timeout->tv_usec / 1000 : -1;
	plexus__answer ans;
	int64_t rc = plexus__vfs_select(self, &req, NULL, 0, PLEXUS__WAIT, &ans);
	if (rc < 0)
		return plexus__fail(rc);
	Plexus__VfsSelect *ready = ans.reply->select;
	s_fdset(readfds, ready ? ready->read : NULL, ready ? ready->n_read : 0, nfds);
	s_fdset(writefds, ready ? ready->write : NULL, ready ? ready->n_write : 0, nfds);
	s_fdset(exceptfds, ready ? ready->except : NULL, ready ? ready->n_except : 0, nfds);
	plexus__answer_free(&ans);
	if (timeout && rc == 0)
		*timeout = (struct timeval){0, 0}; /* as Linux: the time left */
	return (int)rc;
}

int plexus_closeexec(plexus *self)
{
	int64_t rc = plexus__vfs_exec(self, NULL, NULL, 0, self->timeout_ms, NULL);
	if (rc >= 0)
		plexus__fds_exec(self);
	return s_result(rc);
}
