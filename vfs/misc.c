/*
 * misc.c — sync, fsync, truncate, working directories.
 *
 * Entry points: do_sync, do_fsync, do_truncate, do_ftruncate, do_chdir, do_fchdir,
 * do_getcwd.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vfs.h"

int do_sync(vfs_req *req)
{
	vfs *v = req->vfs;
	/* Ask each mounted file server in turn; the table may change meanwhile, so take the
	 * labels first and use fresh stubs. */
	char labels[VFS_MOUNT_MAX][PLX_LABEL_MAX];
	int n = 0;
	pthread_mutex_lock(&v->lock);
	for (int i = 0; i < VFS_MOUNT_MAX; i++)
		if (v->mounts[i] && v->mounts[i]->root)
			memcpy(labels[n++], v->mounts[i]->fs, PLX_LABEL_MAX);
	pthread_mutex_unlock(&v->lock);
	/* A restarted file server learns first which inodes VFS still holds: FS_SYNC frees the
	 * unlinked ones nobody named (dcache.c, docs/mfs.md). */
	for (int i = 0; i < n; i++)
		vfs_dcache_check_fs(v, labels[i]);
	int rc = 0;
	for (int i = 0; i < n; i++) {
		plx_fs *fs = plx_fs_new(v->ep, labels[i], v->fs_timeout_ms);
		int r = fs ? vfs_fs_errno(plx_fs_sync(fs)) : -ENOMEM;
		if (r < 0 && rc == 0)
			rc = r;
		plx_fs_destroy(&fs);
	}
	return rc;
}

int do_fsync(vfs_req *req)
{
	const Plexus__VfsFd *m = (const Plexus__VfsFd *)req->body;
	vfs_filp *f = vfs_fd_get(req->vfs, req->proc, m->fd);
	if (!f)
		return -EBADF;
	vfs_vnode *vn = f->vnode;
	vfs_attr a;
	vfs_vnode_attr(vn, &a);
	uint32_t type = a.mode & S_IFMT;
	int rc = type == S_IFREG || type == S_IFDIR
	             ? vfs_fs_errno(plx_fs_fsync(vn->mount->client, vn->ino))
	             : -EINVAL;
	vfs_filp_put(req->vfs, f);
	return rc;
}

/* Sets vn's size to length (checks done by the caller but the type's). */
static int s_truncate(vfs_vnode *vn, int64_t length)
{
	vfs_attr a;
	vfs_vnode_attr(vn, &a);
	if ((a.mode & S_IFMT) == S_IFDIR)
		return -EISDIR;
	if ((a.mode & S_IFMT) != S_IFREG)
		return -EINVAL;
	if (length < 0)
		return -EINVAL;
	if (vn->mount->read_only)
		return -EROFS;
	pthread_rwlock_wrlock(&vn->io);
	int rc = vfs_fs_errno(plx_fs_ftrunc(vn->mount->client, vn->ino, (uint64_t)length, &a));
	if (rc == 0)
		vfs_vnode_attr_set(vn, &a);
	pthread_rwlock_unlock(&vn->io);
	return rc;
}

int do_truncate(vfs_req *req)
{
	const Plexus__VfsPath *m = (const Plexus__VfsPath *)req->body;
	if (m->length < 0)
		return -EINVAL;
	vfs_vnode *vn;
	int rc = vfs_path_resolve(req, m->path, 0, &vn);
	if (rc < 0)
		return rc;
	vfs_attr a;
	vfs_vnode_attr(vn, &a);
	if ((a.mode & S_IFMT) == S_IFDIR)
		rc = -EISDIR;
	else
		rc = vfs_may(&req->cred, vn, VFS_MAY_WRITE);
	if (rc == 0)
		rc = s_truncate(vn, m->length);
	vfs_vnode_put(req->vfs, vn);
	return rc;
}

int do_ftruncate(vfs_req *req)
{
	const Plexus__VfsFd *m = (const Plexus__VfsFd *)req->body;
	vfs_filp *f = vfs_fd_get(req->vfs, req->proc, m->fd);
	if (!f)
		return -EBADF;
	int rc = f->mode == O_RDONLY ? -EINVAL : s_truncate(f->vnode, m->offset);
	vfs_filp_put(req->vfs, f);
	return rc;
}

/* Makes vn (with its absolute path canon, both taken over) the caller's cwd. */
static int s_set_cwd(vfs_req *req, vfs_vnode *vn, char *canon)
{
	vfs_attr a;
	vfs_vnode_attr(vn, &a);
	int rc = (a.mode & S_IFMT) != S_IFDIR ? -ENOTDIR : vfs_may(&req->cred, vn, VFS_MAY_EXEC);
	if (rc < 0) {
		vfs_vnode_put(req->vfs, vn);
		free(canon);
		return rc;
	}
	pthread_mutex_lock(&req->proc->lock);
	vfs_vnode *old = req->proc->cwd;
	char *old_path = req->proc->cwd_path;
	req->proc->cwd = vn;
	req->proc->cwd_path = canon;
	pthread_mutex_unlock(&req->proc->lock);
	vfs_vnode_put(req->vfs, old);
	free(old_path);
	return 0;
}

int do_chdir(vfs_req *req)
{
	const Plexus__VfsPath *m = (const Plexus__VfsPath *)req->body;
	vfs_vnode *vn;
	char *canon;
	int rc = vfs_path_resolve_canon(req, m->path, VFS_PATH_DIR, &vn, &canon);
	if (rc < 0)
		return rc;
	return s_set_cwd(req, vn, canon);
}

int do_fchdir(vfs_req *req)
{
	const Plexus__VfsFd *m = (const Plexus__VfsFd *)req->body;
	vfs_filp *f = vfs_fd_get(req->vfs, req->proc, m->fd);
	if (!f)
		return -EBADF;
	/* The description's path as opened, made absolute through a resolution of it. */
	vfs_vnode *vn = NULL;
	char *canon = NULL;
	int rc = f->path ? vfs_path_resolve_canon(req, f->path, 0, &vn, &canon) : -ENOENT;
	if (rc == 0 && vn != f->vnode) { /* renamed since: keep the vnode, path unknown */
		vfs_vnode_put(req->vfs, vn);
		free(canon);
		canon = NULL;
		rc = -ENOENT;
	}
	if (rc < 0) {
		vfs_vnode_hold(req->vfs, f->vnode);
		vn = f->vnode;
		canon = strdup("?");
		rc = canon ? 0 : -ENOMEM;
	}
	vfs_filp_put(req->vfs, f);
	if (rc < 0) {
		vfs_vnode_put(req->vfs, vn);
		return rc;
	}
	return s_set_cwd(req, vn, canon);
}

int do_getcwd(vfs_req *req)
{
	pthread_mutex_lock(&req->proc->lock);
	char *path = strdup(req->proc->cwd_path ? req->proc->cwd_path : "/");
	pthread_mutex_unlock(&req->proc->lock);
	if (!path)
		return -ENOMEM;
	req->reply.text = path;
	req->cleanup = vfs_req_free_text;
	return 0;
}
