/*
 * filedesc.c — file descriptors: each client's slots pointing at open file descriptions.
 *
 * Entry points: vfs_fd_get, vfs_fd_install, vfs_fd_close, vfs_fds_close_all, do_close,
 * do_dup, do_dup2, do_fcntl, do_exec.
 *
 * Slots are taken lowest free first. A slot holds one filp reference; FD_CLOEXEC lives in the
 * slot (dup clears it), the status flags (O_APPEND, O_NONBLOCK) in the filp (dup shares them).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

#include "fileops.h"

vfs_filp *vfs_fd_get(vfs *v, vfs_proc *p, int fd)
{
	vfs_filp *f = NULL;
	pthread_mutex_lock(&p->lock);
	if (fd >= 0 && fd < VFS_OPEN_MAX && (f = p->fds[fd].filp))
		vfs_filp_hold(v, f);
	pthread_mutex_unlock(&p->lock);
	return f;
}

int vfs_fd_install(vfs *v, vfs_proc *p, vfs_filp *filp, int min, int fdflags)
{
	if (min < 0 || min >= VFS_OPEN_MAX)
		return -EINVAL;
	int rc = -EMFILE;
	pthread_mutex_lock(&p->lock);
	if (p->gone) {
		rc = -ESRCH;
	} else {
		for (int fd = min; fd < VFS_OPEN_MAX; fd++) {
			if (!p->fds[fd].filp) {
				vfs_filp_hold(v, filp);
				p->fds[fd].filp = filp;
				p->fds[fd].fdflags = fdflags & FD_CLOEXEC;
				rc = fd;
				break;
			}
		}
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

int vfs_fd_close(vfs *v, vfs_proc *p, int fd)
{
	vfs_filp *f = NULL;
	pthread_mutex_lock(&p->lock);
	if (fd >= 0 && fd < VFS_OPEN_MAX) {
		f = p->fds[fd].filp;
		p->fds[fd].filp = NULL;
		p->fds[fd].fdflags = 0;
	}
	pthread_mutex_unlock(&p->lock);
	if (!f)
		return -EBADF;
	vfs_filp_put(v, f);
	return 0;
}

void vfs_fds_close_all(vfs *v, vfs_proc *p, bool cloexec_only)
{
	for (int fd = 0; fd < VFS_OPEN_MAX; fd++) {
		vfs_filp *f = NULL;
		pthread_mutex_lock(&p->lock);
		if (p->fds[fd].filp && (!cloexec_only || (p->fds[fd].fdflags & FD_CLOEXEC))) {
			f = p->fds[fd].filp;
			p->fds[fd].filp = NULL;
			p->fds[fd].fdflags = 0;
		}
		pthread_mutex_unlock(&p->lock);
		vfs_filp_put(v, f);
	}
}

int do_close(vfs_req *req)
{
	const Plexus__VfsFd *m = (const Plexus__VfsFd *)req->body;
	return vfs_fd_close(req->vfs, req->proc, m->fd);
}

/* Points fd2 at fd's description, closing what fd2 held. Returns fd2 or -EBADF. */
static int s_dup_to(vfs *v, vfs_proc *p, int fd, int fd2, int fdflags)
{
	if (fd2 < 0 || fd2 >= VFS_OPEN_MAX)
		return -EBADF;
	vfs_filp *old = NULL;
	int rc = fd2;
	pthread_mutex_lock(&p->lock);
	vfs_filp *f = fd >= 0 && fd < VFS_OPEN_MAX ? p->fds[fd].filp : NULL;
	if (!f) {
		rc = -EBADF;
	} else if (fd != fd2) {
		vfs_filp_hold(v, f);
		old = p->fds[fd2].filp;
		p->fds[fd2].filp = f;
		p->fds[fd2].fdflags = fdflags & FD_CLOEXEC;
	}
	pthread_mutex_unlock(&p->lock);
	vfs_filp_put(v, old);
	return rc;
}

/* Duplicates fd onto the lowest free slot >= min. */
static int s_dup_min(vfs *v, vfs_proc *p, int fd, int min, int fdflags)
{
	vfs_filp *f = vfs_fd_get(v, p, fd);
	if (!f)
		return -EBADF;
	int rc = vfs_fd_install(v, p, f, min, fdflags);
	vfs_filp_put(v, f);
	return rc;
}

int do_dup(vfs_req *req)
{
	const Plexus__VfsFd *m = (const Plexus__VfsFd *)req->body;
	int rc = s_dup_min(req->vfs, req->proc, m->fd, 0, 0);
	if (rc >= 0)
		req->reply.value = rc, rc = 0;
	return rc;
}

int do_dup2(vfs_req *req)
{
	const Plexus__VfsFd *m = (const Plexus__VfsFd *)req->body;
	if (m->arg & ~(int64_t)O_CLOEXEC)
		return -EINVAL;
	int rc = s_dup_to(req->vfs, req->proc, m->fd, m->fd2, m->arg & O_CLOEXEC ? FD_CLOEXEC : 0);
	if (rc >= 0)
		req->reply.value = rc, rc = 0;
	return rc;
}

/* F_GETFD / F_SETFD on one slot. */
static int s_fdflags(vfs_proc *p, int fd, bool set, int value)
{
	int rc = -EBADF;
	pthread_mutex_lock(&p->lock);
	if (fd >= 0 && fd < VFS_OPEN_MAX && p->fds[fd].filp) {
		if (set)
			p->fds[fd].fdflags = value & FD_CLOEXEC;
		rc = p->fds[fd].fdflags;
	}
	pthread_mutex_unlock(&p->lock);
	return set && rc >= 0 ? 0 : rc;
}

/* F_GETFL / F_SETFL on the description. */
static int s_flflags(vfs *v, vfs_proc *p, int fd, bool set, int value)
{
	vfs_filp *f = vfs_fd_get(v, p, fd);
	if (!f)
		return -EBADF;
	pthread_mutex_lock(&f->lock);
	if (set)
		f->flags = value & (O_APPEND | O_NONBLOCK);
	int rc = set ? 0 : f->mode | f->flags;
	pthread_mutex_unlock(&f->lock);
	vfs_filp_put(v, f);
	return rc;
}

int do_fcntl(vfs_req *req)
{
	const Plexus__VfsFd *m = (const Plexus__VfsFd *)req->body;
	vfs *v = req->vfs;
	int rc;
	switch (m->cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		if (m->arg < 0 || m->arg >= VFS_OPEN_MAX)
			return -EINVAL;
		rc = s_dup_min(v, req->proc, m->fd, (int)m->arg,
		               m->cmd == F_DUPFD_CLOEXEC ? FD_CLOEXEC : 0);
		break;
	case F_GETFD:
	case F_SETFD:
		rc = s_fdflags(req->proc, m->fd, m->cmd == F_SETFD, (int)m->arg);
		break;
	case F_GETFL:
	case F_SETFL:
		rc = s_flflags(v, req->proc, m->fd, m->cmd == F_SETFL, (int)m->arg);
		break;
	default:
		return -EINVAL;
	}
	if (rc >= 0)
		req->reply.value = rc, rc = 0;
	return rc;
}

int do_exec(vfs_req *req)
{
	vfs_fds_close_all(req->vfs, req->proc, true);
	return 0;
}
