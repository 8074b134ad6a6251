/*
 * names.c — calls on names: attributes, links, directories made and removed, owners, modes,
 * times, access, the working directory and the umask.
 *
 * Entry points: plexus_stat, plexus_fstat, plexus_lstat, plexus_mkdir, plexus_rmdir,
 * plexus_unlink, plexus_rename, plexus_link, plexus_symlink, plexus_readlink, plexus_mknod,
 * plexus_mkfifo, plexus_chmod, plexus_fchmod, plexus_chown, plexus_fchown, plexus_lchown,
 * plexus_utimens, plexus_futimens, plexus_access, plexus_chdir, plexus_fchdir, plexus_getcwd,
 * plexus_umask.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

/* One VfsPath call on path (and path2 when not NULL); ans as plexus__call. Returns the value
 * or a negative errno. */
static int64_t s_path_call(plexus *self, uint32_t type, Plexus__VfsPath *req, const char *path,
                           const char *path2, plexus__answer *ans)
{
	int rc = plexus__check_path(path);
	if (rc == 0 && path2 != NULL)
		rc = plexus__check_path(path2);
	if (rc < 0) {
		if (ans)
			*ans = (plexus__answer){0};
		return rc;
	}
	req->path = (char *)path;
	req->path2 = (char *)(path2 ? path2 : "");
	return plexus__call(self, type, &req->base, NULL, 0, self->timeout_ms, ans);
}

static int s_result(int64_t rc)
{
	return rc < 0 ? plexus__fail(rc) : 0;
}

/* A path call whose answer is a stat. */
static int s_stat(plexus *self, uint32_t type, const char *path, struct stat *st)
{
	if (!st)
		return plexus__fail(-EFAULT);
	Plexus__VfsPath req = PLEXUS__VFS_PATH__INIT;
	plexus__answer ans;
	int64_t rc = s_path_call(self, type, &req, path, NULL, &ans);
	if (rc < 0)
		return plexus__fail(rc);
	if (!ans.reply->stat) {
		plexus__answer_free(&ans);
		return plexus__fail(-EPROTO);
	}
	plexus__stat_from(ans.reply->stat, st);
	plexus__answer_free(&ans);
	return 0;
}

int plexus_stat(plexus *self, const char *path, struct stat *st)
{
	return s_stat(self, PLEXUS__VFS_TYPE__VFS_STAT, path, st);
}

int plexus_lstat(plexus *self, const char *path, struct stat *st)
{
	return s_stat(self, PLEXUS__VFS_TYPE__VFS_LSTAT, path, st);
}

int plexus_fstat(plexus *self, int fd, struct stat *st)
{
	if (!st)
		return plexus__fail(-EFAULT);
	Plexus__VfsFd req = PLEXUS__VFS_FD__INIT;
	req.fd = fd;
	plexus__answer ans;
	int64_t rc = plexus__call(self, PLEXUS__VFS_TYPE__VFS_FSTAT, &req.base, NULL, 0,
	                          self->timeout_ms, &ans);
	if (rc < 0)
		return plexus__fail(rc);
	bool ok = ans.reply->stat != NULL;
	if (ok)
		plexus__stat_from(ans.reply->stat, st);
	plexus__answer_free(&ans);
	return ok ? 0 : plexus__fail(-EPROTO);
}

/* A path call with a mode. */
static int s_path_mode(plexus *self, uint32_t type, const char *path, mode_t mode)
{
	Plexus__VfsPath req = PLEXUS__VFS_PATH__INIT;
	req.mode = mode;
	return s_result(s_path_call(self, type, &req, path, NULL, NULL));
}

int plexus_mkdir(plexus *self, const char *path, mode_t mode)
{
	return s_path_mode(self, PLEXUS__VFS_TYPE__VFS_MKDIR, path, mode);
}

int plexus_rmdir(plexus *self, const char *path)
{
	return s_path_mode(self, PLEXUS__VFS_TYPE__VFS_RMDIR, path, 0);
}

int plexus_unlink(plexus *self, const char *path)
{
	return s_path_mode(self, PLEXUS__VFS_TYPE__VFS_UNLINK, path, 0);
}

int plexus_mkfifo(plexus *self, const char *path, mode_t mode)
{
	return s_path_mode(self, PLEXUS__VFS_TYPE__VFS_MKFIFO, path, mode);
}

int plexus_chmod(plexus *self, const char *path, mode_t mode)
{
	return s_path_mode(self, PLEXUS__VFS_TYPE__VFS_CHMOD, path, mode);
}

int plexus_access(plexus *self, const char *path, int mode)
{
	if (mode & ~(R_OK | W_OK | X_OK))
		return plexus__fail(-EINVAL);
	return s_path_mode(self, PLEXUS__VFS_TYPE__VFS_ACCESS, path, (mode_t)mode);
}

/* After a chdir: the handle keeps the new working directory, as VFS names it, to set it
 * again on a restarted VFS (fds.c). */
static int s_chdir_done(plexus *self, int rc)
{
	char cwd[PLEXUS__PATH_MAX];
	if (rc == 0 && plexus_getcwd(self, cwd, sizeof cwd))
		plexus__fd_cwd(self, cwd, -1);
	return rc;
}

int plexus_chdir(plexus *self, const char *path)
{
	return s_chdir_done(self, s_path_mode(self, PLEXUS__VFS_TYPE__VFS_CHDIR, path, 0));
}

/* A call on two names. */
static int s_two(plexus *self, uint32_t type, const char *path, const char *path2)
{
	if (!path2)
		return plexus__fail(-EFAULT);
	Plexus__VfsPath req = PLEXUS__VFS_PATH__INIT;
	return s_result(s_path_call(self, type, &req, path, path2, NULL));
}

int plexus_rename(plexus *self, const char *oldpath, const char *newpath)
{
	return s_two(self, PLEXUS__VFS_TYPE__VFS_RENAME, oldpath, newpath);
}

int plexus_link(plexus *self, const char *oldpath, const char *newpath)
{
	return s_two(self, PLEXUS__VFS_TYPE__VFS_LINK, oldpath, newpath);
}

int plexus_symlink(plexus *self, const char *target, const char *linkpath)
{
	/* VFS_SYMLINK: path is the new link, path2 what it points to. */
	if (!target)
		return plexus__fail(-EFAULT);
	return s_two(self, PLEXUS__VFS_TYPE__VFS_SYMLINK, linkpath, target);
}

ssize_t plexus_readlink(plexus *self, const char *path, char *buf, size_t size)
{
	if (!buf)
		return plexus__fail(-EFAULT);
	if (size == 0)
		return plexus__fail(-EINVAL);
	Plexus__VfsPath req = PLEXUS__VFS_PATH__INIT;
	plexus__answer ans;
	int64_t rc = s_path_call(self, PLEXUS__VFS_TYPE__VFS_READLINK, &req, path, NULL, &ans);
	if (rc < 0)
		return plexus__fail(rc);
	size_t n = strlen(ans.reply->text);
	if (n > size)
		n = size; /* as readlink(2): truncated, no NUL */
	memcpy(buf, ans.reply->text, n);
	plexus__answer_free(&ans);
	return (ssize_t)n;
}

int plexus_mknod(plexus *self, const char *path, mode_t mode, dev_t dev)
{
	Plexus__VfsPath req = PLEXUS__VFS_PATH__INIT;
	req.mode = mode;
	req.dev = dev;
	return s_result(s_path_call(self, PLEXUS__VFS_TYPE__VFS_MKNOD, &req, path, NULL, NULL));
}

/* An id as VFS takes it: -1 keeps the current one. */
static int64_t s_id(unsigned id)
{
	return id == (unsigned)-1 ? -1 : (int64_t)id;
}

static int s_chown(plexus *self, const char *path, uid_t uid, gid_t gid, int flags)
{
	Plexus__VfsPath req = PLEXUS__VFS_PATH__INIT;
	req.uid = s_id(uid);
	req.gid = s_id(gid);
	req.flags = flags;
	return s_result(s_path_call(self, PLEXUS__VFS_TYPE__VFS_CHOWN, &req, path, NULL, NULL));
}

int plexus_chown(plexus *self, const char *path, uid_t uid, gid_t gid)
{
	return s_chown(self, path, uid, gid, 0);
}

int plexus_lchown(plexus *self, const char *path, uid_t uid, gid_t gid)
{
	return s_chown(self, path, uid, gid, PLEXUS__VFS_FLAG__VFS_NOFOLLOW);
}

int plexus_utimens(plexus *self, const char *path, const struct timespec times[2], int flags)
{
	if (flags & ~AT_SYMLINK_NOFOLLOW)
		return plexus__fail(-EINVAL);
	Plexus__VfsPath req = PLEXUS__VFS_PATH__INIT;
	Plexus__VfsTimes t;
	plexus__times_to(times, &t);
	req.times = times ? &t : NULL;
	req.flags = flags ? PLEXUS__VFS_FLAG__VFS_NOFOLLOW : 0;
	return s_result(s_path_call(self, PLEXUS__VFS_TYPE__VFS_UTIMENS, &req, path, NULL, NULL));
}

/* A VfsFd call that answers nothing but its status. */
static int s_fd(plexus *self, uint32_t type, Plexus__VfsFd *req)
{
	return s_result(plexus__call(self, type, &req->base, NULL, 0, self->timeout_ms, NULL));
}

int plexus_futimens(plexus *self, int fd, const struct timespec times[2])
{
	Plexus__VfsFd req = PLEXUS__VFS_FD__INIT;
	Plexus__VfsTimes t;
	plexus__times_to(times, &t);
	req.fd = fd;
	req.times = times ? &t : NULL;
	return s_fd(self, PLEXUS__VFS_TYPE__VFS_FUTIMENS, &req);
}

int plexus_fchmod(plexus *self, int fd, mode_t mode)
{
	Plexus__VfsFd req = PLEXUS__VFS_FD__INIT;
	req.fd = fd;
	req.arg = mode;
	return s_fd(self, PLEXUS__VFS_TYPE__VFS_FCHMOD, &req);
}

int plexus_fchown(plexus *self, int fd, uid_t uid, gid_t gid)
{
	Plexus__VfsFd req = PLEXUS__VFS_FD__INIT;
	req.fd = fd;
	req.uid = s_id(uid);
	req.gid = s_id(gid);
	return s_fd(self, PLEXUS__VFS_TYPE__VFS_FCHOWN, &req);
}

int plexus_fchdir(plexus *self, int fd)
{
	Plexus__VfsFd req = PLEXUS__VFS_FD__INIT;
	req.fd = fd;
	return s_chdir_done(self, s_fd(self, PLEXUS__VFS_TYPE__VFS_FCHDIR, &req));
}

char *plexus_getcwd(plexus *self, char *buf, size_t size)
{
	if (buf && size == 0) {
		errno = EINVAL;
		return NULL;
	}
	plexus__answer ans;
	int64_t rc =
	    plexus__call(self, PLEXUS__VFS_TYPE__VFS_GETCWD, NULL, NULL, 0, self->timeout_ms, &ans);
	if (rc < 0) {
		plexus__fail(rc);
		return NULL;
	}
	size_t need = strlen(ans.reply->text) + 1;
	char *out = buf;
	if (!buf && size == 0) /* as glibc: a buffer of the size needed, or of the size asked */
		size = need;
	if (!buf)
		out = malloc(size);
	if (out && need <= size)
		memcpy(out, ans.reply->text, need);
	plexus__answer_free(&ans);
	if (!out || need > size) {
		errno = out ? ERANGE : ENOMEM;
		if (out != buf)
			free(out);
		return NULL;
	}
	return out;
}

mode_t plexus_umask(plexus *self, mode_t mask)
{
	Plexus__VfsFd req = PLEXUS__VFS_FD__INIT;
	req.arg = mask & 0777;
	int64_t rc = plexus__call(self, PLEXUS__VFS_TYPE__VFS_UMASK, &req.base, NULL, 0,
	                          self->timeout_ms, NULL);
	if (rc < 0) { /* umask(2) cannot fail; a handle whose VFS is gone says so in errno */
		plexus__fail(rc);
		return (mode_t)-1;
	}
	return (mode_t)rc;
}
