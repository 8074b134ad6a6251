/*
 * read.c — reading and writing open files, seeking, directory entries, ioctl.
 *
 * Entry points: do_read, do_write, do_pread, do_pwrite, do_lseek, do_getdents, do_ioctl.
 *
 * Each call goes through the filp's file operations (fileops.h), which may answer later. read
 * and write hold the filp's lock so the position moves atomically; pread and pwrite use a copy
 * of their offset and leave the position alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileops.h"

#define S_DIRENTS_MAX 4096 /* entries one getdents answers at most */

/* The filp of the call's fd, checked for the access want needs (O_RDONLY: readable). */
static int s_filp(vfs_req *req, int fd, bool write, vfs_filp **out)
{
	vfs_filp *f = vfs_fd_get(req->vfs, req->proc, fd);
	if (!f)
		return -EBADF;
	if ((write && f->mode == O_RDONLY) || (!write && f->mode == O_WRONLY)) {
		vfs_filp_put(req->vfs, f);
		return -EBADF;
	}
	*out = f;
	return 0;
}

/* read and pread; offset < 0: at (and moving) the filp's position. */
static int s_read(vfs_req *req, int fd, uint64_t size, int64_t offset)
{
	vfs_filp *f;
	int rc = s_filp(req, fd, false, &f);
	if (rc < 0)
		return rc;
	if (!f->ops->read) {
		rc = -EINVAL;
	} else if (offset >= 0) {
		rc = f->ops->seekable ? f->ops->read(req, f, size, &offset) : -ESPIPE;
	} else {
		pthread_mutex_lock(&f->lock);
		rc = f->ops->read(req, f, size, &f->position);
		pthread_mutex_unlock(&f->lock);
	}
	vfs_filp_put(req->vfs, f);
	return rc;
}

static int s_write(vfs_req *req, int fd, int64_t offset)
{
	const Plexus__VfsFd *m = (const Plexus__VfsFd *)req->body;
	vfs_filp *f;
	int rc = s_filp(req, fd, true, &f);
	if (rc < 0)
		return rc;
	const void *buf = req->msg->data ? (const void *)req->msg->data : "";
	size_t size = req->msg->data_size;
	if (m->stage) { /* the bytes wait at the file server (fileops.c) */
		buf = NULL;
		size = m->size;
		if (f->ops != &vfs_regular_ops)
			rc = -EXDEV;
		else if (req->msg->data_size)
			rc = -EINVAL;
	}
	if (rc == 0 && !f->ops->write) {
		rc = -EINVAL;
	} else if (rc == 0 && offset >= 0) {
		rc = f->ops->seekable ? f->ops->write(req, f, buf, size, &offset) : -ESPIPE;
	} else if (rc == 0) {
		pthread_mutex_lock(&f->lock);
		rc = f->ops->write(req, f, buf, size, &f->position);
		pthread_mutex_unlock(&f->lock);
	}
	vfs_filp_put(req->vfs, f);
	return rc;
}

int do_read(vfs_req *req)
{
	const Plexus__VfsFd *m = (const Plexus__VfsFd *)req->body;
	return s_read(req, m->fd, m->size, -1);
}

int do_pread(vfs_req *req)
{
	const Plexus__VfsFd *m = (const Plexus__VfsFd *)req->body;
	return m->offset < 0 ? -EINVAL : s_read(req, m->fd, m->size, m->offset);
}

int do_write(vfs_req *req)
{
	const Plexus__VfsFd *m = (const Plexus__VfsFd *)req->body;
	return s_write(req, m->fd, -1);
}

int do_pwrite(vfs_req *req)
{
	const Plexus__VfsFd *m = (const Plexus__VfsFd *)req->body;
	return m->offset < 0 ? -EINVAL : s_write(req, m->fd, m->offset);
}

int do_lseek(vfs_req *req)
{
	const Plexus__VfsFd *m = (const Plexus__VfsFd *)req->body;
	vfs_filp *f = vfs_fd_get(req->vfs, req->proc, m->fd);
	if (!f)
		return -EBADF;
	int rc = 0;
	int64_t base = 0;
	if (!f->ops->seekable)
		rc = -ESPIPE;
	else if (m->whence == SEEK_END && (rc = vfs_fs_refresh(req->vfs, f->vnode)) == 0) {
		vfs_attr a;
		vfs_vnode_attr(f->vnode, &a);
		base = (int64_t)a.size;
	} else if (m->whence != SEEK_SET && m->whence != SEEK_CUR && m->whence != SEEK_END)
		rc = -EINVAL;
	if (rc == 0) {
		pthread_mutex_lock(&f->lock);
		if (m->whence == SEEK_CUR)
			base = f->position;
		if ((m->offset > 0 && base > INT64_MAX - m->offset) || base + m->offset < 0)
			rc = m->offset > 0 ? -EOVERFLOW : -EINVAL;
		else
			f->position = base + m->offset, req->reply.value = f->position;
		pthread_mutex_unlock(&f->lock);
	}
	vfs_filp_put(req->vfs, f);
	return rc;
}

typedef struct s_dirents {
	plx_fs_dirent *raw;
	Plexus__FsDirent *msgs;
} s_dirents;

static void s_dirents_free(vfs_req *req)
{
	s_dirents *d = req->cleanup_arg;
	if (d) {
		free(d->raw);
		free(d->msgs);
		free(d);
	}
	free(req->reply.dirents);
}

/* Puts the n entries of d into the reply. */
static int s_dirents_reply(vfs_req *req, s_dirents *d, int n)
{
	d->msgs = calloc((size_t)n + 1, sizeof *d->msgs);
	req->reply.dirents = calloc((size_t)n + 1, sizeof *req->reply.dirents);
	if (!d->msgs || !req->reply.dirents)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		Plexus__FsDirent *e = &d->msgs[i];
		plexus__fs_dirent__init(e);
		e->ino = d->raw[i].ino;
		e->name = d->raw[i].name;
		e->type = d->raw[i].type;
		e->next = d->raw[i].next;
		req->reply.dirents[i] = e;
	}
	req->reply.n_dirents = (size_t)n;
	return 0;
}

int do_getdents(vfs_req *req)
{
	const Plexus__VfsFd *m = (const Plexus__VfsFd *)req->body;
	vfs_filp *f = vfs_fd_get(req->vfs, req->proc, m->fd);
	if (!f)
		return -EBADF;
	vfs_vnode *vn = f->vnode;
	vfs_attr a;
	vfs_vnode_attr(vn, &a);
	size_t size = m->size ? m->size : 4096;
	size_t max = size / 8 + 1 < S_DIRENTS_MAX ? size / 8 + 1 : S_DIRENTS_MAX;
	s_dirents *d = calloc(1, sizeof *d);
	req->cleanup = s_dirents_free;
	req->cleanup_arg = d;
	int rc = (a.mode & S_IFMT) != S_IFDIR ? -ENOTDIR : 0;
	if (rc == 0 && (!d || !(d->raw = calloc(max, sizeof *d->raw))))
		rc = -ENOMEM;
	if (rc == 0) {
		pthread_mutex_lock(&f->lock);
		bool eof = false;
		int n = plx_fs_getdents(vfs_fs(req->vfs, vn), vn->ino, (uint64_t)f->position, size,
		                        d->raw, max, &eof);
		rc = n < 0 ? vfs_fs_errno(n) : 0;
		if (n == 0 && !eof)
			rc = -EINVAL; /* not even one name fits in size */
		if (n > 0)
			f->position = (int64_t)d->raw[n - 1].next;
		pthread_mutex_unlock(&f->lock);
		if (rc == 0)
			rc = s_dirents_reply(req, d, n);
	}
	vfs_filp_put(req->vfs, f);
	return rc;
}

int do_ioctl(vfs_req *req)
{
	const Plexus__VfsFd *m = (const Plexus__VfsFd *)req->body;
	vfs_filp *f = vfs_fd_get(req->vfs, req->proc, m->fd);
	if (!f)
		return -EBADF;
	int rc = f->ops->ioctl
	             ? f->ops->ioctl(req, f, (uint32_t)m->arg, req->msg->data, req->msg->data_size)
	             : -ENOTTY;
	vfs_filp_put(req->vfs, f);
	return rc;
}
