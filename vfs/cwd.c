/*
 * cwd.c — working directories: chdir, fchdir, getcwd.
 *
 * Entry points: do_chdir, do_fchdir, do_getcwd.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileops.h"
#include "vfs.h"

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
