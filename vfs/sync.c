/*
 * sync.c — what reaches the disks and how long files are: sync, syncfs, fsync, truncate,
 * ftruncate.
 *
 * Entry points: do_sync, do_syncfs, do_fsync, do_truncate, do_ftruncate.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileops.h"
#include "vfs.h"

/* FS_SYNC to file server label: 0, its error, or -EIO for changes an earlier generation
 * acknowledged and took with it (errseq.c). */
static int s_sync_fs(vfs *v, const char *label)
{
	plx_fs *fs = plx_fs_new(v->ep, label, v->fs_timeout_ms);
	if (!fs)
		return -ENOMEM;
	plx_fs_observe(fs, vfs_errseq_observe, v);
	uint64_t snap = vfs_errseq_begin(v, label);
	int status = plx_fs_sync(fs);
	int rc = vfs_fs_errno(status);
	int lost = vfs_errseq_end(v, label, snap, status);
	if (rc == 0)
		rc = lost;
	plx_fs_destroy(&fs);
	return rc;
}

/* sync: every mounted file server, each asked even when one fails; the first failure is the
 * answer. The table may change meanwhile, so the labels are taken first and fresh stubs used
 * (an unmount writes everything back itself). */
int do_sync(vfs_req *req)
{
	vfs *v = req->vfs;
	char labels[VFS_MOUNT_MAX][PLX_LABEL_MAX];
	int n = 0;
	pthread_mutex_lock(&v->lock);
	for (int i = 0; i < VFS_MOUNT_MAX; i++)
		if (v->mounts[i] && v->mounts[i]->root)
			memcpy(labels[n++], v->mounts[i]->fs, PLX_LABEL_MAX);
	pthread_mutex_unlock(&v->lock);
	/* A restarted file server learns first which inodes VFS still holds: FS_SYNC frees the
	 * unlinked ones nobody named (fsgen.c, docs/mfs.md). */
	for (int i = 0; i < n; i++)
		vfs_fs_follow_label(v, labels[i]);
	int rc = 0;
	for (int i = 0; i < n; i++) {
		int r = s_sync_fs(v, labels[i]);
		if (r < 0 && rc == 0)
			rc = r;
	}
	return rc;
}

/* syncfs: the file system holding fd (an anonymous pipe's is PFS's, which has nothing to
 * write); a loss on it fd has not reported is -EIO, as fsync. */
int do_syncfs(vfs_req *req)
{
	const Plexus__VfsFd *m = (const Plexus__VfsFd *)req->body;
	vfs_filp *f = vfs_fd_get(req->vfs, req->proc, m->fd);
	if (!f)
		return -EBADF;
	vfs_mount *mnt = f->vnode->mount;
	uint64_t snap = vfs_errseq_begin(req->vfs, mnt->fs);
	int status = plx_fs_sync(mnt->client);
	int rc = vfs_fs_errno(status);
	vfs_errseq_end(req->vfs, mnt->fs, snap, status);
	int lost = vfs_errseq_check(req->vfs, f);
	vfs_filp_put(req->vfs, f);
	return rc < 0 ? rc : lost;
}

/* fsync and fdatasync (one call: the file servers write the file's data and metadata alike):
 * the file's operations say what it means (fileops.h); -EINVAL for pipes, FIFOs and
 * character devices, as Linux. */
int do_fsync(vfs_req *req)
{
	const Plexus__VfsFd *m = (const Plexus__VfsFd *)req->body;
	vfs_filp *f = vfs_fd_get(req->vfs, req->proc, m->fd);
	if (!f)
		return -EBADF;
	int rc = f->ops && f->ops->fsync ? f->ops->fsync(req->vfs, f) : -EINVAL;
	vfs_filp_put(req->vfs, f);
	return rc;
}

/* Sets vn's size to length (checks done by the caller but the type's). */
static int s_truncate(vfs *v, vfs_vnode *vn, int64_t length)
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
	int rc = vfs_fs_errno(plx_fs_ftrunc(vfs_fs(v, vn), vn->ino, (uint64_t)length, &a));
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
		rc = s_truncate(req->vfs, vn, m->length);
	vfs_vnode_put(req->vfs, vn);
	return rc;
}

int do_ftruncate(vfs_req *req)
{
	const Plexus__VfsFd *m = (const Plexus__VfsFd *)req->body;
	vfs_filp *f = vfs_fd_get(req->vfs, req->proc, m->fd);
	if (!f)
		return -EBADF;
	int rc = f->mode == O_RDONLY ? -EINVAL : s_truncate(req->vfs, f->vnode, m->offset);
	vfs_filp_put(req->vfs, f);
	return rc;
}
