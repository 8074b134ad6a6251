/*
 * device.c — character and block special files: their file operations, and the requests to
 * character drivers that go out with asynsend and complete when the reply comes back to the
 * main loop (MINIX's "VFS: make all IPC asynchronous").
 *
 * Entry points: vfs_chr_ops, vfs_blk_ops, vfs_dev_on_reply, vfs_dev_sel2, vfs_cdevs_fail,
 * vfs_cdevs_cancel_dead, vfs_chr_invalidate, vfs_chr_select.
 *
 * A read on a tty that waits holds no worker: the op sends CDEV_READ, keeps the call and a
 * filp reference in the pending table and returns PLX_SUSPEND; the loop hands the driver's
 * reply to a worker, which answers the client. When the driver dies, the events worker fails
 * what was pending on it (-EIO); when the client dies, the request is cancelled (CDEV_CANCEL).
 * Block special files are synchronous: sendrec under the driver's mutex. Every request goes
 * through its typed stub (plx_cdev_<request>_send / _call, plx_bdev_<request>_call).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "dev.h"

struct vfs_cdev_pending {
	uint64_t request_id;
	vfs_driver *drv;
	uint64_t gen;
	vfs_cdev_done_fn *done;
	void *arg;
	plx_name client;  /* the client waiting on it (label ""/none for internal requests) */
	uint32_t minor;   /* for CDEV_CANCEL */
	uint64_t cdev_id; /* the CDEV request's own id, 0 when not cancellable */
	bool cancelled;
	vfs_cdev_pending *next;
};

/* A completion handed to a worker. */
typedef struct s_completion {
	vfs_cdev_pending *p;
	int status;
	plx_msg *msg;
} s_completion;

static void s_complete_job(vfs *v, void *arg)
{
	s_completion *c = arg;
	c->p->done(v, c->p->arg, c->status, c->msg);
	plx_msg_destroy(&c->msg);
	free(c->p);
	free(c);
}

/* Completes p on a worker (or right here when the pool refuses). */
static void s_complete(vfs *v, vfs_cdev_pending *p, int status, plx_msg *msg)
{
	vfs_devs *d = vfs_devs_of(v);
	s_completion *c = d->stopping ? NULL : calloc(1, sizeof *c);
	if (c) {
		c->p = p;
		c->status = status;
		c->msg = msg;
		if (vfs_workers_defer(v->workers, s_complete_job, c) == 0)
			return;
		free(c);
	}
	p->done(v, p->arg, msg || status ? status : -ENOMEM,
	        msg); /* here: stopping, or no memory */
	plx_msg_destroy(&msg);
	free(p);
}

/* The start of an asynchronous request to drv's current generation: a pending record that
 * completes with done(v, arg, ...), and in *st the stub that addresses that generation. Returns
 * the record with devs->lock held, so that the send and the record's insertion (s_send_end)
 * are one step for the loop, which looks replies up under that lock; NULL with *err (-ENOMEM,
 * or -EIO: the driver is down) and the lock not held. */
static vfs_cdev_pending *s_send_begin(vfs *v, vfs_driver *drv, vfs_cdev_done_fn *done, void *arg,
                                      plx_stub *st, int *err)
{
	vfs_devs *d = vfs_devs_of(v);
	vfs_cdev_pending *p = calloc(1, sizeof *p);
	if (!p) {
		*err = -ENOMEM;
		return NULL;
	}
	p->drv = drv;
	p->done = done;
	p->arg = arg;
	if (plx_route_lookup(plx_service_ctx(v->svc), drv->label, &p->gen, NULL, 0) < 0) {
		free(p);
		*err = -EIO; /* the driver is down */
		return NULL;
	}
	vfs_driver_stub(v, drv, p->gen, st);
	pthread_mutex_lock(&d->lock);
	return p;
}

/* The end of it: rc is the typed stub's send of p's request (which stored p->request_id).
 * Lists p, or frees it when the send failed, and drops devs->lock. Returns 0 or a negative
 * errno (-EIO for a dead driver); on failure done is not called. */
static int s_send_end(vfs *v, vfs_cdev_pending *p, int rc)
{
	vfs_devs *d = vfs_devs_of(v);
	if (rc == 0) {
		p->next = d->pending;
		d->pending = p;
	}
	pthread_mutex_unlock(&d->lock);
	if (rc < 0) {
		free(p);
		return rc == -PLX_EDEADSRCDST ? -EIO : rc;
	}
	return 0;
}

void vfs_dev_on_reply(vfs *v, plx_msg *msg)
{
	vfs_devs *d = vfs_devs_of(v);
	vfs_cdev_pending *p = NULL;
	pthread_mutex_lock(&d->lock);
	for (vfs_cdev_pending **pp = &d->pending; *pp; pp = &(*pp)->next)
		if ((*pp)->request_id == msg->request_id &&
		    strcmp((*pp)->drv->label, msg->source.label) == 0) {
			p = *pp;
			*pp = p->next;
			break;
		}
	pthread_mutex_unlock(&d->lock);
	if (!p) {
		plx_msg_destroy(&msg); /* late: its request was failed already, or a cancel's */
		return;
	}
	s_complete(v, p, msg->status, msg);
}

void vfs_cdevs_fail(vfs *v, vfs_driver *drv, uint64_t gen, int status)
{
	vfs_devs *d = vfs_devs_of(v);
	vfs_cdev_pending *failed = NULL;
	pthread_mutex_lock(&d->lock);
	for (vfs_cdev_pending **pp = &d->pending; *pp;) {
		vfs_cdev_pending *p = *pp;
		if (p->drv == drv && p->gen <= gen) {
			*pp = p->next;
			p->next = failed;
			failed = p;
		} else {
			pp = &p->next;
		}
	}
	pthread_mutex_unlock(&d->lock);
	while (failed) {
		vfs_cdev_pending *p = failed;
		failed = p->next;
		s_complete(v, p, status, NULL);
	}
}

static void s_ignore(vfs *v, void *arg, int status, const plx_msg *msg)
{
	(void)v, (void)arg, (void)status, (void)msg;
}

/* Sends CDEV_CANCEL of request id on drv's minor; its reply is ignored. */
static void s_cancel_send(vfs *v, vfs_driver *drv, uint32_t minor, uint64_t id)
{
	Plexus__CdevCancel c = PLEXUS__CDEV_CANCEL__INIT;
	c.minor = minor;
	c.id = id;
	plx_stub st;
	int rc = 0;
	vfs_cdev_pending *p = s_send_begin(v, drv, s_ignore, NULL, &st, &rc);
	if (p)
		s_send_end(v, p, plx_cdev_cancel_send(&st, &c, NULL, 0, &p->request_id));
}

/* Sends CDEV_CANCEL for every pending request whose client has died (its endpoint is dead in
 * the route table): the driver answers them -EINTR and their completion finds nobody. */
void vfs_cdevs_cancel_dead(vfs *v)
{
	vfs_devs *d = vfs_devs_of(v);
	plx_ctx *ctx = plx_service_ctx(v->svc);
	typedef struct {
		vfs_driver *drv;
		uint32_t minor;
		uint64_t id;
	} s_cancel;
	s_cancel batch[64];
	int n;
	do { /* in batches, sent outside the lock, until none is left */
		n = 0;
		pthread_mutex_lock(&d->lock);
		for (vfs_cdev_pending *p = d->pending; p && n < 64; p = p->next)
			if (p->cdev_id && !p->cancelled && p->client.label[0] &&
			    plx_is_gone(ctx, p->client.label, p->client.generation)) {
				p->cancelled = true;
				batch[n++] = (s_cancel){p->drv, p->minor, p->cdev_id};
			}
		pthread_mutex_unlock(&d->lock);
		for (int i = 0; i < n; i++)
			s_cancel_send(v, batch[i].drv, batch[i].minor, batch[i].id);
	} while (n == 64);
}

/* ---- character special files ---- */

static uint64_t s_next_id(vfs_devs *d)
{
	pthread_mutex_lock(&d->lock);
	uint64_t id = d->next_id++;
	pthread_mutex_unlock(&d->lock);
	return id;
}

/* An open in flight. */
typedef struct s_open {
	plx_call *call;
	vfs_proc *proc;
	vfs_filp *filp;
	int fdflags;
} s_open;

static void s_chr_open_done(vfs *v, void *arg, int status, const plx_msg *msg)
{
	(void)msg;
	s_open *o = arg;
	vfs_chr_open *co = o->filp->priv;
	if (status == 0) {
		vfs_devs *d = vfs_devs_of(v);
		pthread_mutex_lock(&d->lock);
		co->next = d->chr_opens;
		d->chr_opens = co;
		co->refs = 1;
		pthread_mutex_unlock(&d->lock);
	}
	vfs_open_complete(v, o->call, o->proc, o->filp, o->fdflags, status);
	free(o);
}

static int s_chr_open(vfs_req *req, vfs_filp *filp, int oflags)
{
	vfs *v = req->vfs;
	vfs_attr a;
	vfs_vnode_attr(filp->vnode, &a);
	vfs_driver *drv = vfs_dmap_driver(v, a.rdev);
	vfs_chr_open *co = calloc(1, sizeof *co);
	s_open *o = calloc(1, sizeof *o);
	if (!drv || !co || !o) {
		free(co);
		free(o);
		return drv ? -ENOMEM : -ENXIO;
	}
	co->drv = drv;
	co->minor = minor((dev_t)a.rdev);
	plx_route_lookup(plx_service_ctx(v->svc), drv->label, &co->gen, NULL, 0);
	filp->priv = co;
	o->call = req->call;
	o->filp = filp;
	o->fdflags = (oflags & O_CLOEXEC) ? FD_CLOEXEC : 0;
	o->proc = vfs_proc_find(v, &req->proc->ep);
	Plexus__CdevOpen msg = PLEXUS__CDEV_OPEN__INIT;
	msg.minor = co->minor;
	int acc = oflags & O_ACCMODE;
	msg.access = (acc != O_WRONLY ? PLEXUS__CDEV_ACCESS__CDEV_R_BIT : 0) |
	             (acc != O_RDONLY ? PLEXUS__CDEV_ACCESS__CDEV_W_BIT : 0) |
	             (oflags & O_NOCTTY ? PLEXUS__CDEV_ACCESS__CDEV_NOCTTY : 0);
	co->access = msg.access;
	plx_stub st;
	int rc = 0;
	vfs_cdev_pending *p = s_send_begin(v, drv, s_chr_open_done, o, &st, &rc);
	if (p)
		rc = s_send_end(v, p, plx_cdev_open_send(&st, &msg, NULL, 0, &p->request_id));
	if (rc < 0) {
		vfs_proc_put(v, o->proc);
		free(o);
		return rc; /* open puts the filp; release sees co not listed */
	}
	return PLX_SUSPEND;
}

static void s_chr_release(vfs *v, vfs_filp *filp)
{
	vfs_chr_open *co = filp->priv;
	if (!co)
		return;
	vfs_devs *d = vfs_devs_of(v);
	bool listed = false;
	pthread_mutex_lock(&d->lock);
	for (vfs_chr_open **pp = &d->chr_opens; *pp; pp = &(*pp)->next)
		if (*pp == co) {
			*pp = co->next;
			listed = true;
			break;
		}
	bool invalid = co->invalid;
	pthread_mutex_unlock(&d->lock);
	if (listed && !invalid) {
		Plexus__CdevMinor m = PLEXUS__CDEV_MINOR__INIT;
		m.minor = co->minor;
		plx_stub st;
		int rc = 0;
		vfs_cdev_pending *p = s_send_begin(v, co->drv, s_ignore, NULL, &st, &rc);
		if (p)
			s_send_end(v, p, plx_cdev_close_send(&st, &m, NULL, 0, &p->request_id));
	}
	filp->priv = NULL;
	free(co);
}

/* The typed stub that reads the reply of a CDEV_READ, CDEV_WRITE or CDEV_IOCTL. */
typedef int s_reply_fn(const plx_msg *msg, Plexus__CdevReply **reply);

/* A transfer in flight: the client's call and a filp reference. */
typedef struct s_xfer {
	plx_call *call;
	vfs_filp *filp;
	bool advance; /* VFS_READ / VFS_WRITE: move the filp's position */
	s_reply_fn *reply;
} s_xfer;

static bool s_invalid(vfs *v, vfs_chr_open *co)
{
	vfs_devs *d = vfs_devs_of(v);
	pthread_mutex_lock(&d->lock);
	bool invalid = co->invalid;
	pthread_mutex_unlock(&d->lock);
	return invalid;
}

static void s_xfer_done(vfs *v, void *arg, int status, const plx_msg *msg)
{
	s_xfer *x = arg;
	Plexus__VfsReply r = PLEXUS__VFS_REPLY__INIT;
	Plexus__CdevReply *cr = NULL;
	if (status == 0 && msg && x->reply(msg, &cr) < 0)
		status = -EIO;
	if (status == PLX_EDEADSRCDST || status == -PLX_EDEADSRCDST || status == -ETIMEDOUT)
		status = -EIO;
	const void *data = NULL;
	size_t size = 0;
	if (status == 0) {
		uint32_t type = x->call->msg->type;
		bool reading =
		    type == PLEXUS__VFS_TYPE__VFS_READ || type == PLEXUS__VFS_TYPE__VFS_PREAD;
		r.value = (int64_t)(reading ? msg->data_size : cr->count);
		if (reading || type == PLEXUS__VFS_TYPE__VFS_IOCTL) {
			data = msg->data;
			size = msg->data_size;
		}
		if (x->advance) {
			pthread_mutex_lock(&x->filp->lock);
			x->filp->position += r.value;
			pthread_mutex_unlock(&x->filp->lock);
		}
	}
	plx_stub_free(cr, NULL);
	vfs_req_reply(x->call, status, status == 0 ? &r : NULL, data, size);
	vfs_filp_put(v, x->filp);
	free(x);
}

/* The start of one READ/WRITE/IOCTL (request id, reply read by reply) for req on filp: as
 * s_send_begin, with the client and id recorded for a later cancel and a filp reference held
 * for the completion. */
static vfs_cdev_pending *s_xfer_begin(vfs_req *req, vfs_filp *filp, s_reply_fn *reply, uint64_t id,
                                      plx_stub *st, int *err)
{
	vfs *v = req->vfs;
	vfs_chr_open *co = filp->priv;
	s_xfer *x = calloc(1, sizeof *x);
	if (!x) {
		*err = -ENOMEM;
		return NULL;
	}
	x->call = req->call;
	x->filp = filp;
	x->advance = req->msg->type == PLEXUS__VFS_TYPE__VFS_READ ||
	             req->msg->type == PLEXUS__VFS_TYPE__VFS_WRITE;
	x->reply = reply;
	vfs_filp_hold(v, filp);
	vfs_cdev_pending *p = s_send_begin(v, co->drv, s_xfer_done, x, st, err);
	if (!p) {
		vfs_filp_put(v, filp);
		free(x);
		return NULL;
	}
	p->client = req->msg->source;
	p->minor = co->minor;
	p->cdev_id = id;
	return p;
}

/* The end of it (rc: the typed stub's send): parks the call, or undoes s_xfer_begin. */
static int s_xfer_end(vfs_req *req, vfs_cdev_pending *p, int rc)
{
	s_xfer *x = p->arg;
	rc = s_send_end(req->vfs, p, rc);
	if (rc < 0) {
		vfs_filp_put(req->vfs, x->filp);
		free(x);
		return rc;
	}
	return PLX_SUSPEND;
}

/* Sends a read or (is_write) a write of buf's size bytes at *pos, the reply handled as the
 * pending request's completion. */
static int s_chr_io(vfs_req *req, vfs_filp *filp, bool is_write, const void *buf, size_t size,
                    int64_t *pos)
{
	vfs_chr_open *co = filp->priv;
	if (!co || s_invalid(req->vfs, co))
		return -EIO;
	Plexus__CdevIo io = PLEXUS__CDEV_IO__INIT;
	io.minor = co->minor;
	io.position = (uint64_t)*pos;
	io.size = size;
	io.flags = (filp->flags & O_NONBLOCK) ? PLEXUS__CDEV_FLAG__CDEV_NONBLOCK : 0;
	io.id = s_next_id(vfs_devs_of(req->vfs));
	plx_stub st;
	int rc = 0;
	vfs_cdev_pending *p = s_xfer_begin(
	    req, filp, is_write ? plx_cdev_write_reply : plx_cdev_read_reply, io.id, &st, &rc);
	if (!p)
		return rc;
	rc = is_write ? plx_cdev_write_send(&st, &io, buf, size, &p->request_id)
	              : plx_cdev_read_send(&st, &io, NULL, 0, &p->request_id);
	return s_xfer_end(req, p, rc);
}

static int s_chr_read(vfs_req *req, vfs_filp *filp, size_t size, int64_t *pos)
{
	return s_chr_io(req, filp, false, NULL, size, pos);
}

static int s_chr_write(vfs_req *req, vfs_filp *filp, const void *buf, size_t size, int64_t *pos)
{
	return s_chr_io(req, filp, true, buf, size, pos);
}

static int s_chr_ioctl(vfs_req *req, vfs_filp *filp, uint32_t request, const void *in,
                       size_t in_size)
{
	vfs_chr_open *co = filp->priv;
	if (!co || s_invalid(req->vfs, co))
		return -EIO;
	Plexus__CdevIoctl io = PLEXUS__CDEV_IOCTL__INIT;
	io.minor = co->minor;
	io.request = request;
	io.flags = (filp->flags & O_NONBLOCK) ? PLEXUS__CDEV_FLAG__CDEV_NONBLOCK : 0;
	io.id = s_next_id(vfs_devs_of(req->vfs));
	plx_stub st;
	int rc = 0;
	vfs_cdev_pending *p = s_xfer_begin(req, filp, plx_cdev_ioctl_reply, io.id, &st, &rc);
	if (!p)
		return rc;
	return s_xfer_end(req, p, plx_cdev_ioctl_send(&st, &io, in, in_size, &p->request_id));
}

int vfs_chr_select(vfs *v, vfs_filp *filp, int want, struct vfs_selector *sel)
{
	vfs_chr_open *co = filp->priv;
	if (!co || s_invalid(v, co))
		return want; /* ready: the read or write fails at once */
	Plexus__CdevSelect s = PLEXUS__CDEV_SELECT__INIT;
	s.minor = co->minor;
	s.ops = (uint32_t)want & 7;
	if (sel) {
		s.ops |= PLEXUS__CDEV_SEL_OP__CDEV_SEL_NOTIFY;
		s.id = vfs_selector_id(sel);
	}
	plx_stub st;
	vfs_driver_stub(v, co->drv, co->gen, &st);
	Plexus__CdevReply *r = NULL;
	int rc = plx_cdev_select_call(&st, &s, NULL, 0, &r, NULL);
	if (rc < 0)
		return want; /* a dead, silent or garbled driver: reads and writes will say so */
	int ready = (int)(r->ops & (uint32_t)want);
	plx_stub_free(r, NULL);
	return ready;
}

int vfs_chr_invalidate(vfs *v, vfs_driver *drv, uint64_t gen)
{
	vfs_devs *d = vfs_devs_of(v);
	int n = 0;
	pthread_mutex_lock(&d->lock);
	for (vfs_chr_open *co = d->chr_opens; co; co = co->next)
		if (co->drv == drv && co->gen <= gen && !co->invalid) {
			co->invalid = true;
			n++;
		}
	pthread_mutex_unlock(&d->lock);
	return n;
}

/* CDEV_SEL2_REPLY from a driver (the loop thread): select.c looks again, on a worker. */
int vfs_dev_sel2(plx_call *call)
{
	const Plexus__CdevSelReady *r = (const Plexus__CdevSelReady *)call->body;
	vfs *v = plx_server_arg(call->server);
	vfs_select_sel2(v, call->msg->source.label, r->minor, r->id, r->ops);
	return 0;
}

const vfs_fileops vfs_chr_ops = {
    .name = "chr",
    .seekable = true,
    .open = s_chr_open,
    .release = s_chr_release,
    .read = s_chr_read,
    .write = s_chr_write,
    .ioctl = s_chr_ioctl,
    .select = vfs_chr_select,
};

/* ---- block special files: synchronous, under the driver's mutex ---- */

typedef struct s_blkdev {
	vfs_driver *drv;
	uint32_t minor;
} s_blkdev;

/* The start of a sendrec to drv (whichever generation the routes know): takes its mutex and
 * fills *st. */
static void s_bdev_begin(vfs *v, vfs_driver *drv, plx_stub *st)
{
	vfs_driver_stub(v, drv, 0, st);
	pthread_mutex_lock(&drv->mutex);
}

/* The end of it (rc: the typed stub's call): drops the mutex; returns rc, a dead or silent
 * driver as -EIO. */
static int s_bdev_end(vfs_driver *drv, int rc)
{
	pthread_mutex_unlock(&drv->mutex);
	return rc == -PLX_EDEADSRCDST || rc == -ETIMEDOUT ? -EIO : rc;
}

static int s_blk_open(vfs_req *req, vfs_filp *filp, int oflags)
{
	vfs *v = req->vfs;
	vfs_attr a;
	vfs_vnode_attr(filp->vnode, &a);
	vfs_driver *drv = vfs_dmap_driver(v, a.rdev);
	if (!drv)
		return -ENXIO;
	s_blkdev *bo = calloc(1, sizeof *bo);
	if (!bo)
		return -ENOMEM;
	bo->drv = drv;
	bo->minor = minor((dev_t)a.rdev);
	Plexus__BdevOpen o = PLEXUS__BDEV_OPEN__INIT;
	o.minor = bo->minor;
	int acc = oflags & O_ACCMODE;
	o.access = (acc != O_WRONLY ? PLEXUS__BDEV_ACCESS__BDEV_R_BIT : 0) |
	           (acc != O_RDONLY ? PLEXUS__BDEV_ACCESS__BDEV_W_BIT : 0);
	plx_stub st;
	s_bdev_begin(v, drv, &st);
	int rc = s_bdev_end(drv, plx_bdev_open_call(&st, &o, NULL, 0, NULL, NULL));
	if (rc < 0) {
		free(bo);
		return rc;
	}
	vfs_devs *d = vfs_devs_of(v);
	pthread_mutex_lock(&d->lock);
	drv->blk_opens[bo->minor & 255]++;
	pthread_mutex_unlock(&d->lock);
	filp->priv = bo;
	return 0;
}

static void s_blk_release(vfs *v, vfs_filp *filp)
{
	s_blkdev *bo = filp->priv;
	if (!bo)
		return;
	vfs_devs *d = vfs_devs_of(v);
	pthread_mutex_lock(&d->lock);
	if (bo->drv->blk_opens[bo->minor & 255] > 0)
		bo->drv->blk_opens[bo->minor & 255]--;
	pthread_mutex_unlock(&d->lock);
	Plexus__BdevMinor m = PLEXUS__BDEV_MINOR__INIT;
	m.minor = bo->minor;
	plx_stub st;
	s_bdev_begin(v, bo->drv, &st);
	s_bdev_end(bo->drv, plx_bdev_close_call(&st, &m, NULL, 0, NULL, NULL));
	filp->priv = NULL;
	free(bo);
}

static int s_blk_read(vfs_req *req, vfs_filp *filp, size_t size, int64_t *pos)
{
	s_blkdev *bo = filp->priv;
	if (size > VFS_IO_MAX)
		size = VFS_IO_MAX;
	Plexus__BdevIo io = PLEXUS__BDEV_IO__INIT;
	io.minor = bo->minor;
	io.position = (uint64_t)*pos;
	io.size = size;
	plx_msg *msg = NULL;
	plx_stub st;
	s_bdev_begin(req->vfs, bo->drv, &st);
	int rc = s_bdev_end(bo->drv, plx_bdev_read_call(&st, &io, NULL, 0, NULL, &msg));
	if (rc < 0) {
		plx_msg_destroy(&msg);
		return rc;
	}
	req->data = malloc(msg->data_size ? msg->data_size : 1);
	if (!req->data) {
		plx_msg_destroy(&msg);
		return -ENOMEM;
	}
	if (msg->data_size) /* the end of the disk: no bytes, and no data pointer */
		memcpy(req->data, msg->data, msg->data_size);
	req->data_size = msg->data_size;
	req->data_free = free;
	req->reply.value = (int64_t)msg->data_size;
	*pos += (int64_t)msg->data_size;
	plx_msg_destroy(&msg);
	return 0;
}

static int s_blk_write(vfs_req *req, vfs_filp *filp, const void *buf, size_t size, int64_t *pos)
{
	s_blkdev *bo = filp->priv;
	Plexus__BdevIo io = PLEXUS__BDEV_IO__INIT;
	io.minor = bo->minor;
	io.position = (uint64_t)*pos;
	io.size = size;
	plx_msg *msg = NULL;
	plx_stub st;
	s_bdev_begin(req->vfs, bo->drv, &st);
	int rc = s_bdev_end(bo->drv, plx_bdev_write_call(&st, &io, buf, size, NULL, &msg));
	Plexus__BdevReply *r = NULL;
	if (rc < 0) {
		plx_msg_destroy(&msg);
		return rc;
	}
	uint64_t n = plx_bdev_write_reply(msg, &r) == 0 ? r->count : 0; /* garbled: none written */
	plx_stub_free(r, &msg);
	req->reply.value = (int64_t)n;
	*pos += (int64_t)n;
	return 0;
}

/* fsync of a block special file, as Linux's: what the driver took is made stable
 * (BDEV_FLUSH of the minor). */
static int s_blk_fsync(vfs *v, vfs_filp *filp)
{
	s_blkdev *bo = filp->priv;
	Plexus__BdevMinor m = PLEXUS__BDEV_MINOR__INIT;
	m.minor = bo->minor;
	plx_stub st;
	s_bdev_begin(v, bo->drv, &st);
	return s_bdev_end(bo->drv, plx_bdev_flush_call(&st, &m, NULL, 0, NULL, NULL));
}

const vfs_fileops vfs_blk_ops = {
    .name = "blk",
    .seekable = true,
    .open = s_blk_open,
    .release = s_blk_release,
    .read = s_blk_read,
    .write = s_blk_write,
    .fsync = s_blk_fsync,
};
