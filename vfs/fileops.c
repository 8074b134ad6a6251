/*
 * fileops.c — the file operations of regular files and directories (through their file
 * server), and the switch that picks a vnode type's operations.
 *
 * Entry points: vfs_fileops_lookup, vfs_reply_stage_label, vfs_regular_ops, vfs_dir_ops.
 *
 * Regular file I/O goes to the file server in pieces of at most VFS_IO_MAX bytes, under the
 * vnode's io lock: shared for reads, exclusive for writes, so a write (O_APPEND included)
 * lands whole and a read never sees half of one.
 *
 * A read asked with VfsFd.direct, and a write whose bytes the caller staged at the file
 * server (VfsFd.stage), are one FS request each whose bytes move between the caller and the
 * file server directly (docs/protocol.md "Staged data"): VFS checks, positions and locks as
 * for any other.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dev.h"
#include "fileops.h"

#define S_READ_MAX  (16u * 1024 * 1024) /* bytes one read answers at most */
#define S_STAGE_MAX (4u * 1024 * 1024)  /* bytes of one staged read (a file server's most) */

static void s_stage_label_free(vfs_req *req)
{
	free(req->reply.stage_label);
}

int vfs_reply_stage_label(vfs_req *req, vfs_vnode *vn)
{
	req->reply.stage_label = strdup(plx_fs_label(vfs_fs(req->vfs, vn)));
	if (!req->reply.stage_label)
		return -ENOMEM;
	req->cleanup = s_stage_label_free;
	return 0;
}

/* A read the caller asked to take from the file server directly (VfsFd.direct): one FS_READ
 * whose bytes the file server holds for the caller; VFS answers with their stage. When the
 * server sends them instead, they are answered as any read's. */
static int s_reg_read_staged(vfs_req *req, vfs_filp *f, size_t size, int64_t *pos)
{
	vfs_vnode *vn = f->vnode;
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return -ENOMEM;
	uint64_t stage = 0;
	plx_fs *fs = vfs_fs(req->vfs, vn);
	pthread_rwlock_rdlock(&vn->io);
	ssize_t n =
	    plx_fs_read_for(fs, vn->ino, (uint64_t)*pos, buf, size, req->msg->source.label, &stage);
	pthread_rwlock_unlock(&vn->io);
	if (n < 0 || stage) {
		free(buf);
		buf = NULL;
	}
	if (n < 0)
		return vfs_fs_errno((int)n);
	if (stage) {
		if (vfs_reply_stage_label(req, vn) < 0)
			return -ENOMEM; /* the stage is dropped when its time is up */
		req->reply.stage = stage;
		req->reply.stage_offset = *pos;
	} else {
		req->data = buf;
		req->data_size = (size_t)n;
		req->data_free = free;
	}
	*pos += n;
	req->reply.value = n;
	return 0;
}

static int s_reg_read(vfs_req *req, vfs_filp *f, size_t size, int64_t *pos)
{
	vfs_vnode *vn = f->vnode;
	const Plexus__VfsFd *m = (const Plexus__VfsFd *)req->body;
	if (m->direct && size && size <= S_STAGE_MAX)
		return s_reg_read_staged(req, f, size, pos);
	if (size > S_READ_MAX)
		size = S_READ_MAX;
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return -ENOMEM;
	size_t total = 0;
	int rc = 0;
	pthread_rwlock_rdlock(&vn->io);
	while (total < size) {
		size_t chunk = size - total < VFS_IO_MAX ? size - total : VFS_IO_MAX;
		ssize_t n = plx_fs_read(vfs_fs(req->vfs, vn), vn->ino, (uint64_t)*pos + total,
		                        buf + total, chunk);
		if (n < 0) {
			rc = vfs_fs_errno((int)n);
			break;
		}
		total += (size_t)n;
		if ((size_t)n < chunk)
			break;
	}
	pthread_rwlock_unlock(&vn->io);
	if (rc < 0 && total == 0) {
		free(buf);
		return rc;
	}
	*pos += (int64_t)total;
	req->reply.value = (int64_t)total;
	req->data = buf;
	req->data_size = total;
	req->data_free = free;
	return 0;
}

/* One FS_WRITE of the bytes the caller staged at the file server (VfsFd.stage, buf NULL):
 * the server takes them from the caller's stage, or answers -EXDEV and the caller sends them
 * with the call. */
static ssize_t s_reg_write_staged(vfs_req *req, vfs_vnode *vn, size_t size, int64_t pos)
{
	const Plexus__VfsFd *m = (const Plexus__VfsFd *)req->body;
	vfs_attr a;
	ssize_t n = plx_fs_write_staged(vfs_fs(req->vfs, vn), vn->ino, (uint64_t)pos, size,
	                                req->msg->source.label, m->stage, &a);
	if (n >= 0)
		vfs_vnode_attr_set(vn, &a);
	return n;
}

static int s_reg_write(vfs_req *req, vfs_filp *f, const void *buf, size_t size, int64_t *pos)
{
	vfs_vnode *vn = f->vnode;
	size_t total = 0;
	int rc = 0;
	pthread_rwlock_wrlock(&vn->io);
	if (f->flags & O_APPEND) {
		vfs_attr a;
		vfs_vnode_attr(vn, &a);
		*pos = (int64_t)a.size;
	}
	if (!buf) {
		ssize_t n = s_reg_write_staged(req, vn, size, *pos);
		rc = n < 0 ? vfs_fs_errno((int)n) : 0;
		total = n < 0 ? 0 : (size_t)n;
		size = 0; /* done in one request */
	}
	while (total < size) {
		size_t chunk = size - total < VFS_IO_MAX ? size - total : VFS_IO_MAX;
		vfs_attr a;
		ssize_t n = plx_fs_write(vfs_fs(req->vfs, vn), vn->ino, (uint64_t)*pos + total,
		                         (const char *)buf + total, chunk, &a);
		if (n < 0) {
			rc = vfs_fs_errno((int)n);
			break;
		}
		vfs_vnode_attr_set(vn, &a);
		total += (size_t)n;
		if ((size_t)n < chunk)
			break;
	}
	pthread_rwlock_unlock(&vn->io);
	if (rc < 0 && total == 0)
		return rc;
	*pos += (int64_t)total;
	req->reply.value = (int64_t)total;
	return 0;
}

static int s_dir_read(vfs_req *req, vfs_filp *f, size_t size, int64_t *pos)
{
	(void)req, (void)f, (void)size, (void)pos;
	return -EISDIR;
}

static int s_dir_write(vfs_req *req, vfs_filp *f, const void *buf, size_t size, int64_t *pos)
{
	(void)req, (void)f, (void)buf, (void)size, (void)pos;
	return -EISDIR;
}

/* FS_FSYNC of the file; then a loss of a change to it that f has not reported is -EIO
 * (errseq.c), so an fsync never answers 0 for changes to the file a dead file server took
 * with it. */
static int s_fs_fsync(vfs *v, vfs_filp *f)
{
	vfs_vnode *vn = f->vnode;
	uint64_t snap = vfs_errseq_begin(v, vn->mount->fs);
	int status = plx_fs_fsync(vfs_fs(v, vn), vn->ino);
	int rc = vfs_fs_errno(status);
	vfs_errseq_end(v, vn->mount->fs, snap, status);
	int lost = vfs_errseq_check_file(v, f);
	return rc < 0 ? rc : lost;
}

const vfs_fileops vfs_regular_ops = {
    .name = "regular",
    .seekable = true,
    .read = s_reg_read,
    .write = s_reg_write,
    .fsync = s_fs_fsync,
};

const vfs_fileops vfs_dir_ops = {
    .name = "directory",
    .seekable = true,
    .read = s_dir_read,
    .write = s_dir_write,
    .fsync = s_fs_fsync,
};

int vfs_fileops_lookup(uint32_t mode, const vfs_fileops **ops)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		*ops = &vfs_regular_ops;
		return 0;
	case S_IFDIR:
		*ops = &vfs_dir_ops;
		return 0;
	case S_IFLNK:
		return -ELOOP;
	/* The devices side: S_IFCHR, S_IFBLK (device.c), S_IFIFO (pipe.c). */
	case S_IFCHR:
		*ops = &vfs_chr_ops;
		return 0;
	case S_IFBLK:
		*ops = &vfs_blk_ops;
		return 0;
	case S_IFIFO:
		*ops = &vfs_fifo_ops;
		return 0;
	default:
		return -ENXIO;
	}
}
