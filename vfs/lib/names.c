/*
 * names.c — calls on names: attributes, links, directories made and removed, owners, modes,
 * times, access, the working directory and the umask.
 *
 * Entry points: plexus_stat, plexus_fstat, plexus_lstat, plexus_mkdir, plexus_rmdir,
 * plexus_unlink, plexus_rename, plexus_link, plexus_symlink, plexus_readlink, plexus_mknod,
 * plexus_mkfifo, plexus_chmod, plexus_fchmod, plexus_chown, plexus_fchown, plexus_lchown,
 * plexus_utimens, plexus_futimens, plexus_access, plexus_chdir, plexus_fchdir, plexus_getcwd,
 * plexus_umask, and the *at calls: plexus_fstatat, plexus_mkdirat, plexus_unlinkat,
 * plexus_renameat, plexus_linkat, plexus_symlinkat, plexus_readlinkat, plexus_fchmodat,
 * plexus_fchownat, plexus_utimensat, plexus_faccessat.
 *
 * Each name call is its *at call on AT_FDCWD. A relative path of an *at call starts at the
 * directory open on dirfd (VfsPath.at, .at2: VFS resolves from there); an absolute one ignores
 * dirfd, as POSIX says.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

/* VfsPath.at for path relative to dirfd: 0 for an absolute path or AT_FDCWD, else the
 * descriptor + 1. Returns 0 or -EBADF. */
static int s_at(int dirfd, const char *path, uint32_t *at)
{
	*at = 0;
	if (!path || path[0] == '/' || dirfd == AT_FDCWD)
		return 0;
	if (dirfd < 0)
		return -EBADF;
	*at = (uint32_t)dirfd + 1;
	return 0;
}

/* One VfsPath call (call: the request's typed call, request.c) on path relative to dirfd (and
 * path2 relative to dirfd2 when not NULL); ans as plexus__call. Returns the value or a negative
 * errno. */
static int64_t s_path_call(plexus *self, plexus__path_call *call, Plexus__VfsPath *req, int dirfd,
                           const char *path, int dirfd2, const char *path2, plexus__answer *ans)
{
	int rc = plexus__check_path(path);
	if (rc == 0 && path2 != NULL)
		rc = plexus__check_path(path2);
	if (rc == 0)
		rc = s_at(dirfd, path, &req->at);
	if (rc == 0 && path2 != NULL)
		rc = s_at(dirfd2, path2, &req->at2);
	if (rc < 0) {
		if (ans)
			*ans = (plexus__answer){0};
		return rc;
	}
	req->path = (char *)path;
	req->path2 = (char *)(path2 ? path2 : "");
	return call(self, req, NULL, 0, self->timeout_ms, ans);
}

static int s_result(int64_t rc)
{
	return rc < 0 ? plexus__fail(rc) : 0;
}

/* A path call whose answer is a stat. */
static int s_stat(plexus *self, plexus__path_call *call, int dirfd, const char *path,
                  struct stat *st)
{
	if (!st)
		return plexus__fail(-EFAULT);
	Plexus__VfsPath req = PLEXUS__VFS_PATH__INIT;
	plexus__answer ans;
	int64_t rc = s_path_call(self, call, &req, dirfd, path, AT_FDCWD, NULL, &ans);
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
	return plexus_fstatat(self, AT_FDCWD, path, st, 0);
}

int plexus_lstat(plexus *self, const char *path, struct stat *st)
{
	return plexus_fstatat(self, AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

int plexus_fstatat(plexus *self, int dirfd, const char *path, struct stat *st, int flags)
{
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return plexus__fail(-EINVAL);
	if ((flags & AT_EMPTY_PATH) && path && !*path) /* the descriptor itself */
		return dirfd == AT_FDCWD ? plexus_stat(self, ".", st)
		                         : plexus_fstat(self, dirfd, st);
	plexus__path_call *call =
	    flags & AT_SYMLINK_NOFOLLOW ? plexus__vfs_lstat : plexus__vfs_stat;
	return s_stat(self, call, dirfd, path, st);
}

int plexus_fstat(plexus *self, int fd, struct stat *st)
{
	if (!st)
		return plexus__fail(-EFAULT);
	Plexus__VfsFd req = PLEXUS__VFS_FD__INIT;
	req.fd = fd;
	plexus__answer ans;
	int64_t rc = plexus__vfs_fstat(self, &req, NULL, 0, self->timeout_ms, &ans);
	if (rc < 0)
		return plexus__fail(rc);
	bool ok = ans.reply->stat != NULL;
	if (ok)
		plexus__stat_from(ans.reply->stat, st);
	plexus__answer_free(&ans);
	return ok ? 0 : plexus__fail(-EPROTO);
}

/* A path call with a mode. */
static int s_path_mode(plexus *self, plexus__path_call *call, int dirfd, const char *path,
                       mode_t mode)
{
	Plexus__VfsPath req = PLEXUS__VFS_PATH__INIT;
	req.mode = mode;
	return s_result(s_path_call(self, call, &req, dirfd, path, AT_FDCWD, NULL, NULL));
}

int plexus_mkdir(plexus *self, const char *path, mode_t mode)
{
	return plexus_mkdirat(self, AT_FDCWD, path, mode);
}

int plexus_mkdirat(plexus *self, int dirfd, const char *path, mode_t mode)
{
	return s_path_mode(self, plexus__vfs_mkdir, dirfd, path, mode);
}

int plexus_rmdir(plexus *self, const char *path)
{
	return plexus_unlinkat(self, AT_FDCWD, path, AT_REMOVEDIR);
}

int plexus_unlink(plexus *self, const char *path)
{
	return plexus_unlinkat(self, AT_FDCWD, path, 0);
}

int plexus_unlinkat(plexus *self, int dirfd, const char *path, int flags)
{
	if (flags & ~AT_REMOVEDIR)
		return plexus__fail(-EINVAL);
	plexus__path_call *call = flags ? plexus__vfs_rmdir : plexus__vfs_unlink;
	return s_path_mode(self, call, dirfd, path, 0);
}

int plexus_mkfifo(plexus *self, const char *path, mode_t mode)
{
	return s_path_mode(self, plexus__vfs_mkfifo, AT_FDCWD, path, mode);
}

int plexus_chmod(plexus *self, const char *path, mode_t mode)
{
	return plexus_fchmodat(self, AT_FDCWD, path, mode, 0);
}

int plexus_fchmodat(plexus *self, int dirfd, const char *path, mode_t mode, int flags)
{
	if (flags & AT_SYMLINK_NOFOLLOW) /* as Linux: a link's own mode cannot change */
		return plexus__fail(-EOPNOTSUPP);
	if (flags)
		return plexus__fail(-EINVAL);
	return s_path_mode(self, plexus__vfs_chmod, dirfd, path, mode);
}

int plexus_access(plexus *self, const char *path, int mode)
{
	return plexus_faccessat(self, AT_FDCWD, path, mode, 0);
}

int plexus_faccessat(plexus *self, int dirfd, const char *path, int mode, int flags)
{
	if ((mode & ~(R_OK | W_OK | X_OK)) || flags)
		return plexus__fail(-EINVAL);
	return s_path_mode(self, plexus__vfs_access, dirfd, path, (mode_t)mode);
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
	return s_chdir_done(self, s_path_mode(self, plexus__vfs_chdir, AT_FDCWD, path, 0));
}

/* A call on two names, each relative to its directory; flags as VfsPath.flags. */
static int s_two(plexus *self, plexus__path_call *call, int dirfd, const char *path, int dirfd2,
                 const char *path2, int flags)
{
	if (!path2)
		return plexus__fail(-EFAULT);
	Plexus__VfsPath req = PLEXUS__VFS_PATH__INIT;
	req.flags = flags;
	return s_result(s_path_call(self, call, &req, dirfd, path, dirfd2, path2, NULL));
}

int plexus_rename(plexus *self, const char *oldpath, const char *newpath)
{
	return plexus_renameat(self, AT_FDCWD, oldpath, AT_FDCWD, newpath);
}

int plexus_renameat(plexus *self, int olddirfd, const char *oldpath, int newdirfd,
                    const char *newpath)
{
	return s_two(self, plexus__vfs_rename, olddirfd, oldpath, newdirfd, newpath, 0);
}

int plexus_link(plexus *self, const char *oldpath, const char *newpath)
{
	return plexus_linkat(self, AT_FDCWD, oldpath, AT_FDCWD, newpath, 0);
}

int plexus_linkat(plexus *self, int olddirfd, const char *oldpath, int newdirfd,
                  const char *newpath, int flags)
{
	if (flags & ~AT_SYMLINK_FOLLOW)
		return plexus__fail(-EINVAL);
	return s_two(self, plexus__vfs_link, olddirfd, oldpath, newdirfd, newpath,
	             flags ? PLEXUS__VFS_FLAG__VFS_FOLLOW : 0);
}

int plexus_symlink(plexus *self, const char *target, const char *linkpath)
{
	return plexus_symlinkat(self, target, AT_FDCWD, linkpath);
}

int plexus_symlinkat(plexus *self, const char *target, int newdirfd, const char *linkpath)
{
	/* VFS_SYMLINK: path is the new link, path2 what it points to (text, never resolved). */
	if (!target)
		return plexus__fail(-EFAULT);
	return s_two(self, plexus__vfs_symlink, newdirfd, linkpath, AT_FDCWD, target, 0);
}

ssize_t plexus_readlink(plexus *self, const char *path, char *buf, size_t size)
{
	return plexus_readlinkat(self, AT_FDCWD, path, buf, size);
}

ssize_t plexus_readlinkat(plexus *self, int dirfd, const char *path, char *buf, size_t size)
{
	if (!buf)
		return plexus__fail(-EFAULT);
	if (size == 0)
		return plexus__fail(-EINVAL);
	Plexus__VfsPath req = PLEXUS__VFS_PATH__INIT;
	plexus__answer ans;
	int64_t rc =
	    s_path_call(self, plexus__vfs_readlink, &req, dirfd, path, AT_FDCWD, NULL, &ans);
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
	return s_result(
	    s_path_call(self, plexus__vfs_mknod, &req, AT_FDCWD, path, AT_FDCWD, NULL, NULL));
}

/* An id as VFS takes it: -1 keeps the current one. */
static int64_t s_id(unsigned id)
{
	return id == (unsigned)-1 ? -1 : (int64_t)id;
}

int plexus_chown(plexus *self, const char *path, uid_t uid, gid_t gid)
{
	return plexus_fchownat(self, AT_FDCWD, path, uid, gid, 0);
}

int plexus_lchown(plexus *self, const char *path, uid_t uid, gid_t gid)
{
	return plexus_fchownat(self, AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW);
}

int plexus_fchownat(plexus *self, int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return plexus__fail(-EINVAL);
	if ((flags & AT_EMPTY_PATH) && path && !*path) /* the descriptor itself */
		return dirfd == AT_FDCWD ? plexus_chown(self, ".", uid, gid)
		                         : plexus_fchown(self, dirfd, uid, gid);
	Plexus__VfsPath req = PLEXUS__VFS_PATH__INIT;
	req.uid = s_id(uid);
	req.gid = s_id(gid);
	req.flags = flags & AT_SYMLINK_NOFOLLOW ? PLEXUS__VFS_FLAG__VFS_NOFOLLOW : 0;
	return s_result(
	    s_path_call(self, plexus__vfs_chown, &req, dirfd, path, AT_FDCWD, NULL, NULL));
}

int plexus_utimens(plexus *self, const char *path, const struct timespec times[2], int flags)
{
	return plexus_utimensat(self, AT_FDCWD, path, times, flags);
}

int plexus_utimensat(plexus *self, int dirfd, const char *path, const struct timespec times[2],
                     int flags)
{
	if (flags & ~AT_SYMLINK_NOFOLLOW)
		return plexus__fail(-EINVAL);
	Plexus__VfsPath req = PLEXUS__VFS_PATH__INIT;
	Plexus__VfsTimes t;
	plexus__times_to(times, &t);
	req.times = times ? &t : NULL;
	req.flags = flags ? PLEXUS__VFS_FLAG__VFS_NOFOLLOW : 0;
	return s_result(
	    s_path_call(self, plexus__vfs_utimens, &req, dirfd, path, AT_FDCWD, NULL, NULL));
}

/* A VfsFd call that answers nothing but its status. */
static int s_fd(plexus *self, plexus__fd_call *call, Plexus__VfsFd *req)
{
	return s_result(call(self, req, NULL, 0, self->timeout_ms, NULL));
}

int plexus_futimens(plexus *self, int fd, const struct timespec times[2])
{
	Plexus__VfsFd req = PLEXUS__VFS_FD__INIT;
	Plexus__VfsTimes t;
	plexus__times_to(times, &t);
	req.fd = fd;
	req.times = times ? &t : NULL;
	return s_fd(self, plexus__vfs_futimens, &req);
}

int plexus_fchmod(plexus *self, int fd, mode_t mode)
{
	Plexus__VfsFd req = PLEXUS__VFS_FD__INIT;
	req.fd = fd;
	req.arg = mode;
	return s_fd(self, plexus__vfs_fchmod, &req);
}

int plexus_fchown(plexus *self, int fd, uid_t uid, gid_t gid)
{
	Plexus__VfsFd req = PLEXUS__VFS_FD__INIT;
	req.fd = fd;
	req.uid = s_id(uid);
	req.gid = s_id(gid);
	return s_fd(self, plexus__vfs_fchown, &req);
}

int plexus_fchdir(plexus *self, int fd)
{
	Plexus__VfsFd req = PLEXUS__VFS_FD__INIT;
	req.fd = fd;
	return s_chdir_done(self, s_fd(self, plexus__vfs_fchdir, &req));
}

char *plexus_getcwd(plexus *self, char *buf, size_t size)
{
	if (buf && size == 0) {
		errno = EINVAL;
		return NULL;
	}
	plexus__answer ans;
	int64_t rc = plexus__vfs_getcwd(self, NULL, NULL, 0, self->timeout_ms, &ans);
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
	int64_t rc = plexus__vfs_umask(self, &req, NULL, 0, self->timeout_ms, NULL);
	if (rc < 0) { /* umask(2) cannot fail; a handle whose VFS is gone says so in errno */
		plexus__fail(rc);
		return (mode_t)-1;
	}
	return (mode_t)rc;
}
