/*
 * stat.c — file status.
 *
 * Entry points: do_stat, do_fstat, do_lstat.
 *
 * The attributes are asked of the file server afresh (it keeps the times) — one FS_STAT, or
 * none when the path's lookup in this request went to the file server, whose FS_LOOKUP answer
 * carries them — and st_dev is the device number of the mount the file lives on. A client
 * with a watch (watch.c) is told of the file's changes from before its attributes are read.
 */
#include <errno.h>

#include "vfs.h"

/* Answers vn's attributes: the file server's answer to this request's lookup of it, else
 * asked afresh. */
static int s_stat(vfs_req *req, vfs_vnode *vn)
{
	vfs_watch_hold(req, vn);
	int rc = req->fresh == vn && vfs_watch_fresh(req) ? 0 : vfs_fs_refresh(req->vfs, vn);
	if (rc < 0)
		return rc;
	vfs_attr a;
	vfs_vnode_attr(vn, &a);
	vfs_attr_to_fs(&a, &req->reply_stat);
	req->reply.stat = &req->reply_stat;
	return 0;
}

static int s_stat_path(vfs_req *req, int flags)
{
	const Plexus__VfsPath *m = (const Plexus__VfsPath *)req->body;
	vfs_vnode *vn;
	int rc = vfs_path_resolve(req, m->path, flags, &vn);
	if (rc < 0)
		return rc;
	rc = s_stat(req, vn);
	vfs_vnode_put(req->vfs, vn);
	return rc;
}

int do_stat(vfs_req *req)
{
	return s_stat_path(req, 0);
}

int do_lstat(vfs_req *req)
{
	return s_stat_path(req, VFS_PATH_NOFOLLOW);
}

int do_fstat(vfs_req *req)
{
	const Plexus__VfsFd *m = (const Plexus__VfsFd *)req->body;
	vfs_filp *f = vfs_fd_get(req->vfs, req->proc, m->fd);
	if (!f)
		return -EBADF;
	int rc = s_stat(req, f->vnode);
	vfs_filp_put(req->vfs, f);
	return rc;
}
