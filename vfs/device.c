/*
 * device.c — character and block special files: their file operations, and the requests to
 * character drivers that go out with asynsend and complete when the reply comes back to the
 * main loop (MINIX's "VFS: make all IPC asynchronous").
 *
 * Entry points: vfs_chr_ops, vfs_blk_ops, vfs_cdev_send, vfs_dev_on_reply, vfs_dev_sel2,
 * vfs_cdevs_fail, vfs_cdevs_cancel_dead, vfs_chr_invalidate, vfs_chr_select.
 *
 * A read on a tty that waits holds no worker: the op sends CDEV_READ, keeps the call and a
 * filp reference in the pending table and returns PLX_SUSPEND; the loop hands the driver's
 * reply to a worker, which answers the client. When the driver dies, the events worker fails
 * what was pending on it (-EIO); when the client dies, the request is cancelled (CDEV_CANCEL).
 * Block special files are synchronous: sendrec under the driver's mutex.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "dev.h"
#include "plexus/proto/bdev.pb-c.h"

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

/* Sends with the client and CDEV id recorded for a later cancel. */
static int s_send(vfs *v, vfs_driver *drv, uint32_t type, const ProtobufCMessage *body,
                  const void *data, size_t size, vfs_cdev_done_fn *done, void *arg,
                  const plx_name *client, uint32_t minor, uint64_t cdev_id)
{
	vfs_devs *d = vfs_devs_of(v);
	vfs_cdev_pending *p = calloc(1, sizeof *p);
	if (!p)
		return -ENOMEM;
	p->drv = drv;
	p->done = done;
	p->arg = arg;
	p->minor = minor;
	p->cdev_id = cdev_id;
	if (client)
		p->client = *client;
	if (plx_route_lookup(plx_service_ctx(v->svc), drv->label, &p->gen, NULL, 0) < 0) {
		free(p);
		return -EIO; /* the driver is down */
	}
	plx_request req = {.type = type, .body = body, .data = data, .data_size = size};
	snprintf(req.dst.label, sizeof req.dst.label, "%s", drv->label);
	req.dst.generation = p->gen;
	/* The lock covers send and insertion, so the reply (looked up under it) finds p. */
	pthread_mutex_lock(&d->lock);
	int rc = plx_asynsend(v->ep, &req, &p->request_id);
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

int vfs_cdev_send(vfs *v, vfs_driver *drv, uint32_t type, const ProtobufCMessage *body,
                  const void *data, size_t size, vfs_cdev_done_fn *done, void *arg)
{
	return s_send(v, drv, type, body, data, size, done, arg, NULL, 0, 0);
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
			    plx_is_dead(ctx, p->client.label, p->client.generation)) {
				p->cancelled = true;
				batch[n++] = (s_cancel){p->drv, p->minor, p->cdev_id};
			}
		pthread_mutex_unlock(&d->lock);
		for (int i = 0; i < n; i++) {
			Plexus__CdevCancel c = PLEXUS__CDEV_CANCEL__INIT;
			c.minor = batch[i].minor;
			c.id = batch[i].id;
			vfs_cdev_send(v, batch[i].drv, PLEXUS__CDEV_TYPE__CDEV_CANCEL, &c.base,
			              NULL, 0, s_ignore, NULL);
		}
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
	int rc = vfs_cdev_send(v, drv, PLEXUS__CDEV_TYPE__CDEV_OPEN, &msg.base, NULL, 0,
	                       s_chr_open_done, o);
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
		vfs_cdev_send(v, co->drv, PLEXUS__CDEV_TYPE__CDEV_CLOSE, &m.base, NULL, 0, s_ignore,
		              NULL);
	}
	filp->priv = NULL;
	free(co);
}

/* A transfer in flight: the client's call and a filp reference. */
typedef struct s_xfer {
	plx_call *call;
	vfs_filp *filp;
	bool advance; /* VFS_READ / VFS_WRITE: move the filp's position */
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
	if (status == 0 && msg &&
	    !(cr = (Plexus__CdevReply *)plx_msg_unpack(msg, &plexus__cdev_reply__descriptor)))
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
	if (cr)
		protobuf_c_message_free_unpacked(&cr->base, NULL);
	vfs_req_reply(x->call, status, status == 0 ? &r : NULL, data, size);
	vfs_filp_put(v, x->filp);
	free(x);
}

/* Sends one READ/WRITE/IOCTL for req on filp and parks the call. */
static int s_chr_xfer(vfs_req *req, vfs_filp *filp, uint32_t type, const ProtobufCMessage *body,
                      const void *data, size_t size, uint64_t id)
{
	vfs *v = req->vfs;
	vfs_chr_open *co = filp->priv;
	s_xfer *x = calloc(1, sizeof *x);
	if (!x)
		return -ENOMEM;
	x->call = req->call;
	x->filp = filp;
	x->advance = req->msg->type == PLEXUS__VFS_TYPE__VFS_READ ||
	             req->msg->type == PLEXUS__VFS_TYPE__VFS_WRITE;
	vfs_filp_hold(v, filp);
	int rc = s_send(v, co->drv, type, body, data, size, s_xfer_done, x, &req->msg->source,
	                co->minor, id);
	if (rc < 0) {
		vfs_filp_put(v, filp);
		free(x);
		return rc;
	}
	return PLX_SUSPEND;
}

static int s_chr_read(vfs_req *req, vfs_filp *filp, size_t size, int64_t *pos)
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
	return s_chr_xfer(req, filp, PLEXUS__CDEV_TYPE__CDEV_READ, &io.base, NULL, 0, io.id);
}

static int s_chr_write(vfs_req *req, vfs_filp *filp, const void *buf, size_t size, int64_t *pos)
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
	return s_chr_xfer(req, filp, PLEXUS__CDEV_TYPE__CDEV_WRITE, &io.base, buf, size, io.id);
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
	return s_chr_xfer(req, filp, PLEXUS__CDEV_TYPE__CDEV_IOCTL, &io.base, in, in_size, io.id);
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
	plx_request req = {.type = PLEXUS__CDEV_TYPE__CDEV_SELECT, .body = &s.base};
	snprintf(req.dst.label, sizeof req.dst.label, "%s", co->drv->label);
	req.dst.generation = co->gen;
	plx_msg *msg = NULL;
	int rc = plx_sendrec(v->ep, &req, &msg, VFS_DEV_TIMEOUT);
	if (rc < 0) {
		plx_msg_destroy(&msg);
		return want; /* a dead or silent driver: reads and writes will say so */
	}
	Plexus__CdevReply *r =
	    (Plexus__CdevReply *)plx_msg_unpack(msg, &plexus__cdev_reply__descriptor);
	int ready = r ? (int)(r->ops & (uint32_t)want) : want;
	if (r)
		protobuf_c_message_free_unpacked(&r->base, NULL);
	plx_msg_destroy(&msg);
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

/* sendrec to drv under its mutex; *reply (may be NULL) is the caller's. */
static int s_bdev_call(vfs *v, vfs_driver *drv, uint32_t type, const ProtobufCMessage *body,
                       const void *data, size_t size, plx_msg **reply)
{
	plx_request req = {.type = type, .body = body, .data = data, .data_size = size};
	snprintf(req.dst.label, sizeof req.dst.label, "%s", drv->label);
	plx_msg *msg = NULL;
	pthread_mutex_lock(&drv->mutex);
	int rc = plx_sendrec(v->ep, &req, &msg, VFS_DEV_TIMEOUT);
	pthread_mutex_unlock(&drv->mutex);
	if (reply && rc >= 0)
		*reply = msg;
	else
		plx_msg_destroy(&msg);
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
	int rc = s_bdev_call(v, drv, PLEXUS__BDEV_TYPE__BDEV_OPEN, &o.base, NULL, 0, NULL);
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
	s_bdev_call(v, bo->drv, PLEXUS__BDEV_TYPE__BDEV_CLOSE, &m.base, NULL, 0, NULL);
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
	int rc =
	    s_bdev_call(req->vfs, bo->drv, PLEXUS__BDEV_TYPE__BDEV_READ, &io.base, NULL, 0, &msg);
	if (rc < 0)
		return rc;
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
	int rc = s_bdev_call(req->vfs, bo->drv, PLEXUS__BDEV_TYPE__BDEV_WRITE, &io.base, buf, size,
	                     &msg);
	if (rc < 0)
		return rc;
	Plexus__BdevReply *r =
	    (Plexus__BdevReply *)plx_msg_unpack(msg, &plexus__bdev_reply__descriptor);
	uint64_t n = r ? r->count : 0;
	if (r)
		protobuf_c_message_free_unpacked(&r->base, NULL);
	plx_msg_destroy(&msg);
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
	return s_bdev_call(v, bo->drv, PLEXUS__BDEV_TYPE__BDEV_FLUSH, &m.base, NULL, 0, NULL);
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
