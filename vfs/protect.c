/*
 * protect.c — the calls that change permissions or ask about them (the check every call makes
 * is perm.c's vfs_may).
 *
 * Entry points: do_chmod, do_fchmod, do_chown, do_fchown, do_access, do_umask.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vfs.h"

/* chmod on vn for the caller: owner or root; a non-member loses S_ISGID. */
static int s_chmod(vfs_req *req, vfs_vnode *vn, uint32_t mode)
{
	vfs_attr a;
	vfs_vnode_attr(vn, &a);
	if (req->cred.uid != 0 && req->cred.uid != a.uid)
		return -EPERM;
	if (vn->mount->read_only)
		return -EROFS;
	mode &= 07777;
	if (req->cred.uid != 0 && !vfs_is_member(&req->cred, a.gid))
		mode &= ~(uint32_t)S_ISGID;
	vfs_attr out;
	int rc = vfs_fs_errno(plx_fs_chmod(vfs_fs(req->vfs, vn), vn->ino, mode, &out));
	if (rc == 0)
		vfs_vnode_attr_set(vn, &out);
	return rc;
}

/* chown: root changes anything; the owner may change the group to one of its own. Set-id bits
 * of a non-directory are cleared when a non-root caller changes it. */
static int s_chown(vfs_req *req, vfs_vnode *vn, int64_t uid, int64_t gid)
{
	vfs_attr a;
	vfs_vnode_attr(vn, &a);
	bool root = req->cred.uid == 0;
	if (uid < -1 || uid > UINT32_MAX || gid < -1 || gid > UINT32_MAX)
		return -EINVAL;
	if (!root) {
		if (req->cred.uid != a.uid || (uid != -1 && (uint32_t)uid != a.uid))
			return -EPERM;
		if (gid != -1 && (uint32_t)gid != a.gid &&
		    !vfs_is_member(&req->cred, (uint32_t)gid))
			return -EPERM;
	}
	if (vn->mount->read_only)
		return -EROFS;
	vfs_attr out;
	int rc = vfs_fs_errno(
	    plx_fs_chown(vfs_fs(req->vfs, vn), vn->ino, (uint32_t)uid, (uint32_t)gid, &out));
	if (rc == 0 && (out.mode & S_IFMT) != S_IFDIR && (out.mode & (S_ISUID | S_ISGID)) &&
	    (uid != -1 || gid != -1) && !root)
		rc = vfs_fs_errno(plx_fs_chmod(vfs_fs(req->vfs, vn), vn->ino,
		                               out.mode & 07777 & ~(uint32_t)(S_ISUID | S_ISGID),
		                               &out));
	if (rc == 0)
		vfs_vnode_attr_set(vn, &out);
	return rc;
}

int do_chmod(vfs_req *req)
{
	const Plexus__VfsPath *m = (const Plexus__VfsPath *)req->body;
	vfs_vnode *vn;
	int rc = vfs_path_resolve(req, m->path, 0, &vn);
	if (rc < 0)
		return rc;
	rc = s_chmod(req, vn, m->mode);
	vfs_vnode_put(req->vfs, vn);
	return rc;
}

int do_fchmod(vfs_req *req)
{
	const Plexus__VfsFd *m = (const Plexus__VfsFd *)req->body;
	vfs_filp *f = vfs_fd_get(req->vfs, req->proc, m->fd);
	if (!f)
		return -EBADF;
	int rc = s_chmod(req, f->vnode, (uint32_t)m->arg);
	vfs_filp_put(req->vfs, f);
	return rc;
}

int do_chown(vfs_req *req)
{
	const Plexus__VfsPath *m = (const Plexus__VfsPath *)req->body;
	vfs_vnode *vn;
	int rc = vfs_path_resolve(
	    req, m->path, m->flags & PLEXUS__VFS_FLAG__VFS_NOFOLLOW ? VFS_PATH_NOFOLLOW : 0, &vn);
	if (rc < 0)
		return rc;
	rc = s_chown(req, vn, m->uid, m->gid);
	vfs_vnode_put(req->vfs, vn);
	return rc;
}

int do_fchown(vfs_req *req)
{
	const Plexus__VfsFd *m = (const Plexus__VfsFd *)req->body;
	vfs_filp *f = vfs_fd_get(req->vfs, req->proc, m->fd);
	if (!f)
		return -EBADF;
	int rc = s_chown(req, f->vnode, m->uid, m->gid);
	vfs_filp_put(req->vfs, f);
	return rc;
}

int do_access(vfs_req *req)
{
	const Plexus__VfsPath *m = (const Plexus__VfsPath *)req->body;
	if (m->mode & ~(uint32_t)(R_OK | W_OK | X_OK))
		return -EINVAL;
	/* The real ids decide, for the resolution too. */
	pthread_mutex_lock(&req->proc->lock);
	req->cred.uid = req->proc->ruid;
	req->cred.gid = req->proc->rgid;
	pthread_mutex_unlock(&req->proc->lock);
	vfs_vnode *vn;
	int rc = vfs_path_resolve(req, m->path, 0, &vn);
	if (rc < 0)
		return rc;
	int want = (m->mode & R_OK ? VFS_MAY_READ : 0) | (m->mode & W_OK ? VFS_MAY_WRITE : 0) |
	           (m->mode & X_OK ? VFS_MAY_EXEC : 0);
	rc = want ? vfs_may(&req->cred, vn, want) : 0;
	vfs_vnode_put(req->vfs, vn);
	return rc;
}

int do_umask(vfs_req *req)
{
	const Plexus__VfsFd *m = (const Plexus__VfsFd *)req->body;
	pthread_mutex_lock(&req->proc->lock);
	req->reply.value = req->proc->umask;
	req->proc->umask = (uint32_t)m->arg & 0777;
	pthread_mutex_unlock(&req->proc->lock);
	return 0;
}
