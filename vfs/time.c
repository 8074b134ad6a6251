/*
 * time.c — setting file times.
 *
 * Entry points: do_utimens, do_futimens.
 *
 * As utimensat(2): no times (or both UTIME_NOW) needs ownership, root, or write permission;
 * explicit times need ownership or root (-EPERM); both UTIME_OMIT changes nothing.
 */
#include <errno.h>
#include <sys/stat.h>

#include "vfs.h"

static int s_utimens(vfs_req *req, vfs_vnode *vn, const Plexus__VfsTimes *t)
{
	struct timespec ts[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
	if (t) {
		ts[0] = (struct timespec){t->atime_sec, t->atime_nsec};
		ts[1] = (struct timespec){t->mtime_sec, t->mtime_nsec};
		for (int i = 0; i < 2; i++)
			if (ts[i].tv_nsec != UTIME_NOW && ts[i].tv_nsec != UTIME_OMIT &&
			    (ts[i].tv_nsec < 0 || ts[i].tv_nsec >= 1000000000))
				return -EINVAL;
	}
	if (ts[0].tv_nsec == UTIME_OMIT && ts[1].tv_nsec == UTIME_OMIT)
		return 0;
	vfs_attr a;
	vfs_vnode_attr(vn, &a);
	bool owner = req->cred.uid == 0 || req->cred.uid == a.uid;
	bool now = (ts[0].tv_nsec == UTIME_NOW || ts[0].tv_nsec == UTIME_OMIT) &&
	           (ts[1].tv_nsec == UTIME_NOW || ts[1].tv_nsec == UTIME_OMIT);
	if (vn->mount->read_only)
		return -EROFS;
	if (!owner) {
		if (!now)
			return -EPERM;
		if (vfs_may(&req->cred, vn, VFS_MAY_WRITE) < 0)
			return -EACCES;
	}
	int rc = vfs_fs_errno(plx_fs_utime(vfs_fs(req->vfs, vn), vn->ino, ts, &a));
	if (rc == 0)
		vfs_vnode_attr_set(vn, &a);
	return rc;
}

int do_utimens(vfs_req *req)
{
	const Plexus__VfsPath *m = (const Plexus__VfsPath *)req->body;
	vfs_vnode *vn;
	int rc = vfs_path_resolve(
	    req, m->path, m->flags & PLEXUS__VFS_FLAG__VFS_NOFOLLOW ? VFS_PATH_NOFOLLOW : 0, &vn);
	if (rc < 0)
		return rc;
	rc = s_utimens(req, vn, m->times);
	vfs_vnode_put(req->vfs, vn);
	return rc;
}

int do_futimens(vfs_req *req)
{
	const Plexus__VfsFd *m = (const Plexus__VfsFd *)req->body;
	vfs_filp *f = vfs_fd_get(req->vfs, req->proc, m->fd);
	if (!f)
		return -EBADF;
	int rc = s_utimens(req, f->vnode, m->times);
	vfs_filp_put(req->vfs, f);
	return rc;
}
