/*
 * pipe.c — pipes and FIFOs (MINIX's pipe.c): pipe(), the FIFO open rendezvous, and the
 * suspend/revive of reads and writes over the bytes PFS keeps.
 *
 * Entry points: vfs_fifo_ops, do_pipe, vfs_pipe_vnode_release, vfs_pipes_tick,
 * vfs_pipes_pfs_down.
 *
 * The bytes live in plexus-pfs, which never waits: an empty pipe answers -EAGAIN, a full one
 * takes what fits (all or nothing up to PIPE_BUF). VFS gives the blocking meaning. A read
 * that finds nothing parks the client's call on the pipe (no worker held) unless no writer is
 * left (0: end of file) or the file is O_NONBLOCK (-EAGAIN). A write writes what fits and
 * parks the rest, unless no reader is left (-EPIPE; no SIGPIPE in Plexus, or the count written
 * so far). Every read revives the parked writes, every write the parked reads, every close
 * the other side (end of file, -EPIPE), in the order they parked.
 *
 * An anonymous pipe is a PFS inode; its vnode hangs on the devices side's PFS mount (which
 * is in no mount table). A named FIFO's inode lives on its own file system (S_IFIFO on MFS);
 * while it is open, its bytes live in one PFS node made at the first open and given back at
 * the last close. Opening a FIFO for reading waits for a writer and the other way round,
 * unless O_NONBLOCK (a read-only open then succeeds at once; a write-only one fails -ENXIO
 * when no reader is there). O_RDWR never waits.
 *
 * A pipe's lock (pipe->lock) is held across the PFS calls of a check-and-park, so a write
 * never slips between a read's -EAGAIN and its parking; PFS never waits, so this stalls only
 * that pipe's users. It comes before devs->lock.
 *
 * PFS keeps its pipes in memory only: when its instance dies (the events worker sees its
 * generation go), every pipe that had bytes there is broken: parked calls are answered -EIO,
 * later reads and writes fail -EIO; a FIFO is whole again after its last close (the next open
 * makes a node on the new instance), and new pipes work as soon as PFS is back.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dev.h"

#define S_PIPE_CAPACITY (64 * 1024) /* PFS's default: what select calls writable */
#define S_PIPE_BUF      4096

typedef enum s_kind { S_READ, S_WRITE, S_OPEN } s_kind;

/* A parked call. */
typedef struct s_waiter {
	s_kind kind;
	plx_call *call;
	vfs_filp *filp; /* one reference */
	plx_name client;
	size_t size;         /* read: at most; write: in all */
	size_t done;         /* write: written so far */
	const uint8_t *data; /* write: the request's data frame (lives with call) */
	vfs_proc *proc;      /* open: for vfs_open_complete */
	int fdflags;         /* open */
	struct s_waiter *next;
} s_waiter;

typedef struct vfs_pipe {
	pthread_mutex_t lock;
	int readers, writers; /* open ends (filps whose priv is this pipe) */
	bool anonymous;       /* the vnode is the PFS node itself */
	bool has_node;        /* pfs_ino is allocated */
	bool broken;          /* the PFS instance that held pfs_ino died: I/O is -EIO */
	uint64_t pfs_ino;
	s_waiter *waiters;          /* in arrival order */
	struct vfs_pipe *next_pipe; /* devs' list (for the dead-client sweep) */
	vfs_vnode *vn;
} vfs_pipe;

static pthread_mutex_t s_pipes_lock = PTHREAD_MUTEX_INITIALIZER;
static vfs_pipe *s_pipes;

/* The PFS stubs, made at the first use. NULL on ENOMEM. */
static plx_fs *s_pfs(vfs *v)
{
	vfs_devs *d = vfs_devs_of(v);
	pthread_mutex_lock(&d->lock);
	if (!d->pfs && (d->pfs = plx_fs_new(v->ep, d->pfs_label, v->fs_timeout_ms))) {
		d->pfs_mount.client = d->pfs;
		d->pfs_gen.client = d->pfs;
		d->pfs_mount.gen = &d->pfs_gen;
		snprintf(d->pfs_mount.fs, sizeof d->pfs_mount.fs, "%s", d->pfs_label);
		d->pfs_mount.dev = 0;
	}
	plx_fs *fs = d->pfs;
	pthread_mutex_unlock(&d->lock);
	return fs;
}

/* The pipe state of vn, made when it has none. NULL on ENOMEM. */
static vfs_pipe *s_pipe_of(vfs *v, vfs_vnode *vn, bool anonymous)
{
	vfs_devs *d = vfs_devs_of(v);
	vfs_pipe *fresh = calloc(1, sizeof *fresh);
	pthread_mutex_lock(&d->lock);
	vfs_pipe *p = vn->dev_state;
	if (!p && fresh) {
		p = fresh;
		fresh = NULL;
		pthread_mutex_init(&p->lock, NULL);
		p->anonymous = anonymous;
		p->vn = vn;
		vn->dev_state = p;
		vn->dev_release = vfs_pipe_vnode_release;
		pthread_mutex_lock(&s_pipes_lock);
		p->next_pipe = s_pipes;
		s_pipes = p;
		pthread_mutex_unlock(&s_pipes_lock);
	}
	pthread_mutex_unlock(&d->lock);
	free(fresh);
	return p;
}

void vfs_pipe_vnode_release(vfs *v, vfs_vnode *vn)
{
	vfs_pipe *p = vn->dev_state;
	if (!p)
		return;
	pthread_mutex_lock(&s_pipes_lock);
	for (vfs_pipe **pp = &s_pipes; *pp; pp = &(*pp)->next_pipe)
		if (*pp == p) {
			*pp = p->next_pipe;
			break;
		}
	pthread_mutex_unlock(&s_pipes_lock);
	if (p->has_node && !p->anonymous && !p->broken)
		plx_fs_putnode(s_pfs(v), p->pfs_ino, 1);
	vn->dev_state = NULL;
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* ---- answering parked calls (collected under the lock, answered after it) ---- */

static void s_park(vfs_pipe *p, s_waiter *w)
{
	s_waiter **pp = &p->waiters;
	while (*pp)
		pp = &(*pp)->next;
	w->next = NULL;
	*pp = w;
}

static void s_unlink(vfs_pipe *p, s_waiter *w)
{
	for (s_waiter **pp = &p->waiters; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			return;
		}
}

/* Answers a parked read or write with status/value and data, and frees w. Call without the
 * pipe's lock (the filp put may release an end). */
static void s_answer(vfs *v, s_waiter *w, int status, int64_t value, void *data, size_t size)
{
	Plexus__VfsReply r = PLEXUS__VFS_REPLY__INIT;
	r.value = value;
	if (w->kind == S_OPEN) {
		vfs_open_complete(v, w->call, w->proc, w->filp, w->fdflags, status);
	} else {
		vfs_req_reply(w->call, status, status == 0 ? &r : NULL, data, size);
		vfs_filp_put(v, w->filp);
	}
	free(data);
	free(w);
}

/* A list of answers made under the lock. */
typedef struct s_done {
	s_waiter *w;
	int status;
	int64_t value;
	void *data;
	size_t size;
	struct s_done *next;
} s_done;

static void s_defer_answer(s_done **list, s_waiter *w, int status, int64_t value, void *data,
                           size_t size)
{
	s_done *a = calloc(1, sizeof *a);
	if (!a)
		abort(); /* too little memory to answer a call: nothing sensible is left */
	*a = (s_done){w, status, value, data, size, *list};
	*list = a;
}

static void s_flush(vfs *v, s_done *list)
{
	/* Reverse into arrival order. */
	s_done *rev = NULL;
	while (list) {
		s_done *n = list->next;
		list->next = rev;
		rev = list;
		list = n;
	}
	while (rev) {
		s_done *n = rev->next;
		s_answer(v, rev->w, rev->status, rev->value, rev->data, rev->size);
		free(rev);
		rev = n;
	}
}

/* ---- reads and writes against PFS (pipe->lock held) ---- */

/* Tries w (a read): 1 answered (into done), 0 still waiting. */
static int s_try_read(vfs *v, vfs_pipe *p, s_waiter *w, s_done **done)
{
	if (p->broken) {
		s_defer_answer(done, w, -EIO, 0, NULL, 0);
		return 1;
	}
	uint8_t *buf = malloc(w->size ? w->size : 1);
	if (!buf) {
		s_defer_answer(done, w, -ENOMEM, 0, NULL, 0);
		return 1;
	}
	ssize_t n = plx_fs_read(s_pfs(v), p->pfs_ino, 0, buf, w->size);
	if (n == -EAGAIN && p->writers == 0)
		n = 0; /* end of file */
	if (n == -EAGAIN && (w->filp->flags & O_NONBLOCK))
		n = -EAGAIN;
	else if (n == -EAGAIN) {
		free(buf);
		return 0;
	}
	if (n < 0) {
		free(buf);
		s_defer_answer(done, w, n == -EAGAIN ? -EAGAIN : -EIO, 0, NULL, 0);
	} else {
		s_defer_answer(done, w, 0, n, buf, (size_t)n);
	}
	return 1;
}

/* Tries w (a write): 1 answered, 0 still waiting (part written). */
static int s_try_write(vfs *v, vfs_pipe *p, s_waiter *w, s_done **done)
{
	if (p->broken) {
		s_defer_answer(done, w, -EIO, 0, NULL, 0);
		return 1;
	}
	while (w->done < w->size) {
		if (p->readers == 0) {
			if (w->done > 0)
				break;
			s_defer_answer(done, w, -EPIPE, 0, NULL, 0);
			return 1;
		}
		size_t chunk = w->size - w->done;
		if (chunk > S_PIPE_CAPACITY)
			chunk = S_PIPE_CAPACITY;
		ssize_t n = plx_fs_write(s_pfs(v), p->pfs_ino, 0, w->data + w->done, chunk, NULL);
		if (n == -EAGAIN)
			break;
		if (n < 0) {
			s_defer_answer(done, w, w->done ? 0 : -EIO, (int64_t)w->done, NULL, 0);
			return 1;
		}
		w->done += (size_t)n;
	}
	if (w->done == w->size || p->readers == 0 || (w->filp->flags & O_NONBLOCK)) {
		if (w->done == 0)
			s_defer_answer(done, w, p->readers == 0 ? -EPIPE : -EAGAIN, 0, NULL, 0);
		else
			s_defer_answer(done, w, 0, (int64_t)w->done, NULL, 0);
		return 1;
	}
	return 0;
}

/* Revives what can go on: parked reads, writes and opens in order (pipe->lock held). */
static void s_revive(vfs *v, vfs_pipe *p, s_done **done)
{
	bool progress = true;
	while (progress) {
		progress = false;
		for (s_waiter *w = p->waiters, *next; w; w = next) {
			next = w->next;
			int answered = 0;
			if (w->kind == S_OPEN) {
				int mode = w->filp->mode;
				answered = (mode == O_RDONLY && p->writers > 0) ||
				           (mode == O_WRONLY && p->readers > 0);
				if (answered)
					s_defer_answer(done, w, 0, 0, NULL, 0);
			} else if (!p->has_node) {
				answered = 1;
				s_defer_answer(done, w, w->kind == S_READ ? 0 : -EPIPE, 0, NULL, 0);
			} else if (w->kind == S_READ) {
				answered = s_try_read(v, p, w, done);
			} else {
				size_t before = w->done;
				answered = s_try_write(v, p, w, done);
				progress |= !answered && w->done > before;
			}
			if (answered) {
				s_unlink(p, w);
				progress = true;
			}
		}
	}
}

/* ---- file operations ---- */

static s_waiter *s_waiter_new(vfs_req *req, vfs_filp *filp, s_kind kind)
{
	s_waiter *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	w->kind = kind;
	w->call = req->call;
	w->filp = filp;
	w->client = req->msg->source;
	return w;
}

static int s_fifo_read(vfs_req *req, vfs_filp *filp, size_t size, int64_t *pos)
{
	(void)pos;
	vfs *v = req->vfs;
	vfs_pipe *p = filp->vnode->dev_state;
	if (!p)
		return -EBADF;
	if (size > S_PIPE_CAPACITY)
		size = S_PIPE_CAPACITY;
	s_waiter *w = s_waiter_new(req, filp, S_READ);
	if (!w)
		return -ENOMEM;
	w->size = size;
	vfs_filp_hold(v, filp);
	s_done *done = NULL;
	pthread_mutex_lock(&p->lock);
	int rc = PLX_SUSPEND;
	bool queued_reader = false;
	for (s_waiter *o = p->waiters; o; o = o->next)
		queued_reader |= o->kind == S_READ;
	if (queued_reader && (filp->flags & O_NONBLOCK)) /* others first, and no waiting */
		s_defer_answer(&done, w, -EAGAIN, 0, NULL, 0);
	else if (queued_reader || !s_try_read(v, p, w, &done)) /* others first: keep the order */
		s_park(p, w);
	if (done)
		s_revive(v, p, &done); /* room was made: writers go on */
	pthread_mutex_unlock(&p->lock);
	s_flush(v, done);
	vfs_select_wake(v, filp->vnode);
	return rc;
}

static int s_fifo_write(vfs_req *req, vfs_filp *filp, const void *buf, size_t size, int64_t *pos)
{
	(void)pos;
	vfs *v = req->vfs;
	vfs_pipe *p = filp->vnode->dev_state;
	if (!p)
		return -EBADF;
	if (size == 0)
		return 0;
	s_waiter *w = s_waiter_new(req, filp, S_WRITE);
	if (!w)
		return -ENOMEM;
	w->size = size;
	w->data = buf; /* the request's data frame: lives until the call is answered */
	vfs_filp_hold(v, filp);
	s_done *done = NULL;
	pthread_mutex_lock(&p->lock);
	bool queued_writer = false;
	for (s_waiter *o = p->waiters; o; o = o->next)
		queued_writer |= o->kind == S_WRITE;
	if (queued_writer || !s_try_write(v, p, w, &done))
		s_park(p, w);
	s_revive(v, p, &done); /* readers waiting get the bytes */
	pthread_mutex_unlock(&p->lock);
	s_flush(v, done);
	vfs_select_wake(v, filp->vnode);
	return PLX_SUSPEND;
}

/* Counts filp as an end of p (priv = p). */
static void s_count(vfs_pipe *p, vfs_filp *filp, int delta)
{
	if (filp->mode != O_WRONLY)
		p->readers += delta;
	if (filp->mode != O_RDONLY)
		p->writers += delta;
}

static void s_fifo_release(vfs *v, vfs_filp *filp)
{
	vfs_pipe *p = filp->priv;
	if (!p)
		return;
	s_done *done = NULL;
	pthread_mutex_lock(&p->lock);
	s_count(p, filp, -1);
	filp->priv = NULL;
	s_revive(v, p, &done); /* end of file for readers, -EPIPE for writers */
	if (!p->anonymous && p->readers == 0 && p->writers == 0 && p->has_node) {
		if (!p->broken)
			plx_fs_putnode(s_pfs(v), p->pfs_ino, 1); /* POSIX: the bytes go */
		p->has_node = false;
		p->broken = false; /* the next open makes a node on the PFS that is there */
	}
	pthread_mutex_unlock(&p->lock);
	s_flush(v, done);
	vfs_select_wake(v, filp->vnode);
}

/* FIFO open: the rendezvous of readers and writers. */
static int s_fifo_open(vfs_req *req, vfs_filp *filp, int oflags)
{
	vfs *v = req->vfs;
	vfs_pipe *p = s_pipe_of(v, filp->vnode, false);
	plx_fs *pfs = s_pfs(v);
	if (!p || !pfs)
		return -ENOMEM;
	int mode = oflags & O_ACCMODE;
	s_done *done = NULL;
	int rc = 0;
	pthread_mutex_lock(&p->lock);
	if (mode == O_WRONLY && p->readers == 0 && (oflags & O_NONBLOCK)) {
		rc = -ENXIO;
	} else if (!p->has_node) {
		plx_fs_attr a;
		rc = plx_fs_newnode(pfs, S_IFIFO | 0600, req->cred.uid, req->cred.gid, &a);
		if (rc == 0) {
			p->has_node = true;
			p->pfs_ino = a.ino;
		} else if (rc != -ENOMEM) {
			rc = -EIO; /* PFS is down */
		}
	}
	if (rc == 0) {
		filp->priv = p;
		s_count(p, filp, +1);
		bool wait = !(oflags & O_NONBLOCK) && ((mode == O_RDONLY && p->writers == 0) ||
		                                       (mode == O_WRONLY && p->readers == 0));
		if (wait) {
			s_waiter *w = s_waiter_new(req, filp, S_OPEN);
			if (!w) {
				s_count(p, filp, -1);
				filp->priv = NULL;
				rc = -ENOMEM;
			} else {
				w->proc = vfs_proc_find(v, &req->proc->ep);
				w->fdflags = (oflags & O_CLOEXEC) ? FD_CLOEXEC : 0;
				s_park(p, w);
				rc = PLX_SUSPEND;
			}
		}
		s_revive(v, p, &done); /* the other side's opens waiting for us */
	}
	pthread_mutex_unlock(&p->lock);
	s_flush(v, done);
	if (rc == 0 || rc == PLX_SUSPEND)
		vfs_select_wake(v, filp->vnode);
	return rc;
}

/* Which of want is ready: readable with bytes or no writer, writable with room or no reader. */
static int s_fifo_select(vfs *v, vfs_filp *filp, int want, struct vfs_selector *sel)
{
	(void)sel; /* select.c looks again at every vfs_select_wake of the vnode */
	vfs_pipe *p = filp->vnode->dev_state;
	if (!p)
		return want;
	int ready = 0;
	pthread_mutex_lock(&p->lock);
	plx_fs_attr a = {0};
	int rc = p->has_node ? plx_fs_stat(s_pfs(v), p->pfs_ino, &a) : -ENOENT;
	if ((want & VFS_SEL_RD) && (rc < 0 || a.size > 0 || p->writers == 0))
		ready |= VFS_SEL_RD;
	if ((want & VFS_SEL_WR) &&
	    (rc < 0 || p->readers == 0 || a.size + S_PIPE_BUF <= S_PIPE_CAPACITY))
		ready |= VFS_SEL_WR;
	pthread_mutex_unlock(&p->lock);
	return ready;
}

const vfs_fileops vfs_fifo_ops = {
    .name = "fifo",
    .seekable = false,
    .open = s_fifo_open,
    .release = s_fifo_release,
    .read = s_fifo_read,
    .write = s_fifo_write,
    .select = s_fifo_select,
};

/* ---- pipe() ---- */

static void s_free_fds(vfs_req *req)
{
	free(req->reply.fds);
	req->reply.fds = NULL;
}

int do_pipe(vfs_req *req)
{
	vfs *v = req->vfs;
	const Plexus__VfsFd *q = (const Plexus__VfsFd *)req->body;
	int flags = (int)q->arg;
	if (flags & ~(O_CLOEXEC | O_NONBLOCK))
		return -EINVAL;
	plx_fs *pfs = s_pfs(v);
	if (!pfs)
		return -ENOMEM;
	plx_fs_attr a;
	int rc = plx_fs_newnode(pfs, S_IFIFO | 0600, req->cred.uid, req->cred.gid, &a);
	if (rc < 0)
		return rc == -ENOMEM || rc == -ENOSPC ? -ENFILE : -EIO;
	vfs_vnode *vn;
	vfs_devs *d = vfs_devs_of(v);
	if ((rc = vfs_vnode_get(v, &d->pfs_mount, &d->pfs_gen, &a, &vn)) < 0)
		return rc;
	vfs_pipe *p = s_pipe_of(v, vn, true);
	char path[64];
	snprintf(path, sizeof path, "pipe:[%" PRIu64 "]", a.ino);
	int nb = flags & O_NONBLOCK;
	vfs_filp *r = p ? vfs_filp_new(v, vn, O_RDONLY | nb, &vfs_fifo_ops, path) : NULL;
	vfs_filp *w = p ? vfs_filp_new(v, vn, O_WRONLY | nb, &vfs_fifo_ops, path) : NULL;
	vfs_vnode_put(v, vn); /* the filps hold it */
	int32_t *fds = malloc(2 * sizeof *fds);
	rc = r && w && fds ? 0 : -ENOMEM;
	if (rc == 0) {
		pthread_mutex_lock(&p->lock);
		p->has_node = true;
		p->pfs_ino = a.ino;
		r->priv = w->priv = p;
		s_count(p, r, +1);
		s_count(p, w, +1);
		pthread_mutex_unlock(&p->lock);
		int fdflags = (flags & O_CLOEXEC) ? FD_CLOEXEC : 0;
		fds[0] = rc = vfs_fd_install(v, req->proc, r, 0, fdflags);
		if (rc >= 0 && (fds[1] = rc = vfs_fd_install(v, req->proc, w, 0, fdflags)) < 0)
			vfs_fd_close(v, req->proc, fds[0]);
	}
	vfs_filp_put(v, r);
	vfs_filp_put(v, w);
	if (rc < 0) {
		free(fds);
		return rc;
	}
	req->reply.fds = fds;
	req->reply.n_fds = 2;
	req->cleanup = s_free_fds;
	return 0;
}

/* Parked calls of clients that died are answered (nobody hears it) so their filp references
 * go and the other side sees the end close. The events worker calls it often. */
void vfs_pipes_tick(vfs *v)
{
	plx_ctx *ctx = plx_service_ctx(v->svc);
	pthread_mutex_lock(&s_pipes_lock);
	for (vfs_pipe *p = s_pipes; p; p = p->next_pipe) {
		s_done *done = NULL;
		pthread_mutex_lock(&p->lock);
		for (s_waiter *w = p->waiters, *next; w; w = next) {
			next = w->next;
			if (plx_is_dead(ctx, w->client.label, w->client.generation)) {
				s_unlink(p, w);
				s_defer_answer(&done, w, -EINTR, 0, NULL, 0);
			}
		}
		pthread_mutex_unlock(&p->lock);
		if (done) {
			/* Answering may release an end and so the pipe: not under s_pipes_lock. */
			pthread_mutex_unlock(&s_pipes_lock);
			s_flush(v, done);
			return; /* the list may have changed: the next tick goes on */
		}
	}
	pthread_mutex_unlock(&s_pipes_lock);
}

void vfs_pipes_pfs_down(vfs *v)
{
	for (;;) {
		s_done *done = NULL;
		pthread_mutex_lock(&s_pipes_lock);
		for (vfs_pipe *p = s_pipes; p && !done; p = p->next_pipe) {
			pthread_mutex_lock(&p->lock);
			if (p->has_node && !p->broken) {
				p->broken = true;
				s_revive(v, p, &done); /* every parked call: -EIO */
			}
			pthread_mutex_unlock(&p->lock);
		}
		pthread_mutex_unlock(&s_pipes_lock);
		if (!done)
			return;
		s_flush(v, done); /* may release pipes: not under s_pipes_lock */
	}
}
