/*
 * io.c — CDEV_OPEN, CDEV_CLOSE, CDEV_READ, CDEV_WRITE, CDEV_IOCTL, CDEV_CANCEL and CDEV_SELECT:
 * the one place these requests are checked before a callback sees them.
 *
 * Entry points: cdr_do_open, cdr_do_close, cdr_do_read, cdr_do_write, cdr_do_ioctl,
 * cdr_do_cancel, cdr_do_select (its registrations are select.c's).
 *
 * The checks and their results, in order, are those of plexus/chardriver.h: -ENXIO for a minor
 * the driver does not have; -EINVAL for unknown access or flag bits, a transfer over
 * PLX_CDEV_MAX_IO, an ioctl argument over PLX_CDEV_IOCTL_MAX; -EBADMSG for a data frame that
 * does not belong; then -EIO (no read or write callback) or -ENOTTY (no ioctl callback). A
 * read's bytes go back as the reply's data frame, a write's come from the request's.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define S_ACCESS_BITS                                                                              \
	(PLEXUS__CDEV_ACCESS__CDEV_R_BIT | PLEXUS__CDEV_ACCESS__CDEV_W_BIT |                       \
	 PLEXUS__CDEV_ACCESS__CDEV_NOCTTY)
#define S_FLAG_BITS PLEXUS__CDEV_FLAG__CDEV_NONBLOCK

/* The driver and the minor's check, for every handler. */
static int s_begin(const plx_call *call, uint32_t minor, plx_chardriver **self)
{
	*self = cdr_of(call);
	if (!*self)
		return -ENXIO;
	return cdr_minor(*self, minor);
}

static bool s_has_frame(const plx_call *call)
{
	return call->msg->data_size != 0;
}

int cdr_do_open(plx_call *call)
{
	const Plexus__CdevOpen *req = (const Plexus__CdevOpen *)call->body;
	plx_chardriver *self;
	int rc = s_begin(call, req->minor, &self);
	if (rc < 0)
		return rc;
	if ((req->access & ~(uint32_t)S_ACCESS_BITS) != 0)
		return -EINVAL;
	if (s_has_frame(call))
		return -EBADMSG;
	return self->ops->open ? self->ops->open(self->arg, req->minor, req->access) : 0;
}

int cdr_do_close(plx_call *call)
{
	const Plexus__CdevMinor *req = (const Plexus__CdevMinor *)call->body;
	plx_chardriver *self;
	int rc = s_begin(call, req->minor, &self);
	if (rc < 0)
		return rc;
	if (s_has_frame(call))
		return -EBADMSG;
	return self->ops->close ? self->ops->close(self->arg, req->minor) : 0;
}

/* Answers call with count (and data) now; returns PLX_SUSPEND, the answer having been sent. */
static int s_reply_count(plx_call *call, uint64_t count, uint64_t position, const void *data,
                         size_t size)
{
	Plexus__CdevReply body = PLEXUS__CDEV_REPLY__INIT;
	body.count = count;
	body.position = position;
	plx_call_reply(call, 0, &body.base, data, size);
	return PLX_SUSPEND;
}

/* Checks a READ or WRITE; returns 0 or the error to reply with. */
static int s_check_io(const plx_call *call, const Plexus__CdevIo *io, plx_chardriver **self)
{
	int rc = s_begin(call, io->minor, self);
	if (rc < 0)
		return rc;
	if ((io->flags & ~(uint32_t)S_FLAG_BITS) != 0 || io->size > PLX_CDEV_MAX_IO)
		return -EINVAL;
	bool write = call->msg->type == PLEXUS__CDEV_TYPE__CDEV_WRITE;
	if (write ? call->msg->data_size != io->size : s_has_frame(call))
		return -EBADMSG;
	if (write ? !(*self)->ops->write : !(*self)->ops->read)
		return -EIO;
	return 0;
}

static plx_cdev_req *s_req(plx_chardriver *self, plx_call *call, const Plexus__CdevIo *io)
{
	plx_cdev_req *req = cdr_req_new(self, call, io->minor);
	if (req) {
		req->flags = io->flags;
		req->position = io->position;
		req->reply_position = io->position;
		req->size = io->size;
		req->id = io->id;
	}
	return req;
}

/* The loop thread's read buffer, grown to size. */
static void *s_buffer(plx_chardriver *self, size_t size)
{
	if (size > self->buf_size) {
		uint8_t *buf = realloc(self->buf, size);
		if (!buf)
			return NULL;
		self->buf = buf;
		self->buf_size = size;
	}
	return self->buf;
}

/* After a callback: answers now unless it suspended. */
static int s_finish(plx_cdev_req *req, int rc, size_t count, size_t limit, const void *data)
{
	if (rc == PLX_SUSPEND)
		return PLX_SUSPEND; /* req may already be answered and freed by another thread */
	if (rc < 0) {
		cdr_req_free(req);
		return rc;
	}
	if (count > limit)
		count = limit; /* a driver bug; never send more than was asked */
	plx_cdev_req_reply(req, (int64_t)count, data, data ? count : 0);
	return PLX_SUSPEND;
}

int cdr_do_read(plx_call *call)
{
	const Plexus__CdevIo *io = (const Plexus__CdevIo *)call->body;
	plx_chardriver *self;
	int rc = s_check_io(call, io, &self);
	if (rc < 0)
		return rc;
	if (io->size == 0)
		return s_reply_count(call, 0, io->position, NULL, 0);
	void *buf = s_buffer(self, io->size);
	plx_cdev_req *req = buf ? s_req(self, call, io) : NULL;
	if (!req)
		return -ENOMEM;
	size_t count = 0;
	rc = self->ops->read(self->arg, req, buf, &count);
	return s_finish(req, rc, count, io->size, buf);
}

int cdr_do_write(plx_call *call)
{
	const Plexus__CdevIo *io = (const Plexus__CdevIo *)call->body;
	plx_chardriver *self;
	int rc = s_check_io(call, io, &self);
	if (rc < 0)
		return rc;
	if (io->size == 0)
		return s_reply_count(call, 0, io->position, NULL, 0);
	plx_cdev_req *req = s_req(self, call, io);
	if (!req)
		return -ENOMEM;
	size_t count = 0;
	rc = self->ops->write(self->arg, req, call->msg->data, &count);
	return s_finish(req, rc, count, io->size, NULL);
}

int cdr_do_ioctl(plx_call *call)
{
	const Plexus__CdevIoctl *io = (const Plexus__CdevIoctl *)call->body;
	plx_chardriver *self;
	int rc = s_begin(call, io->minor, &self);
	if (rc < 0)
		return rc;
	if ((io->flags & ~(uint32_t)S_FLAG_BITS) != 0 || call->msg->data_size > PLX_CDEV_IOCTL_MAX)
		return -EINVAL;
	if (!self->ops->ioctl)
		return -ENOTTY;
	plx_cdev_req *req = cdr_req_new(self, call, io->minor);
	if (!req)
		return -ENOMEM;
	req->flags = io->flags;
	req->id = io->id;
	req->size = call->msg->data_size;
	uint8_t out[PLX_CDEV_IOCTL_MAX];
	size_t out_size = 0;
	rc = self->ops->ioctl(self->arg, req, io->request, call->msg->data, call->msg->data_size,
	                      out, &out_size);
	if (rc == PLX_SUSPEND || rc < 0)
		return s_finish(req, rc, 0, 0, NULL);
	if (out_size > sizeof out)
		out_size = sizeof out;
	plx_cdev_req_reply(req, (int64_t)out_size, out_size ? out : NULL, out_size);
	return PLX_SUSPEND;
}

int cdr_do_cancel(plx_call *call)
{
	const Plexus__CdevCancel *req = (const Plexus__CdevCancel *)call->body;
	plx_chardriver *self;
	int rc = s_begin(call, req->minor, &self);
	if (rc < 0)
		return rc;
	if (s_has_frame(call))
		return -EBADMSG;
	plx_cdev_req *pending = cdr_pending_take(self, &call->msg->source, req->minor, req->id);
	if (!pending)
		return -ENOENT; /* answered already, or never asked */
	if (self->ops->cancel)
		self->ops->cancel(self->arg, req->minor, req->id);
	plx_cdev_req_reply(pending, -EINTR, NULL, 0);
	return 0;
}

int cdr_do_select(plx_call *call)
{
	const Plexus__CdevSelect *req = (const Plexus__CdevSelect *)call->body;
	plx_chardriver *self = cdr_of(call);
	int rc = self ? cdr_minor(self, req->minor) : -ENXIO;
	if (rc < 0)
		return rc;
	if ((req->ops & ~(uint32_t)(CDR_SEL_OP_BITS | PLEXUS__CDEV_SEL_OP__CDEV_SEL_NOTIFY)) != 0)
		return -EINVAL;
	if (call->msg->data_size != 0)
		return -EBADMSG;
	uint32_t want = req->ops & CDR_SEL_OP_BITS;
	bool notify = (req->ops & PLEXUS__CDEV_SEL_OP__CDEV_SEL_NOTIFY) != 0;
	const plx_name *caller = &call->msg->source;
	if ((rc = cdr_select_register(self, caller, req->minor, req->id, notify ? want : 0)) < 0)
		return rc;
	uint32_t ready = want;
	if (self->ops->select && want)
		ready = self->ops->select(self->arg, req->minor, want) & want;
	if (notify && want)
		cdr_select_trim(self, caller, req->minor, req->id, ready);
	Plexus__CdevReply body = PLEXUS__CDEV_REPLY__INIT;
	body.ops = ready;
	plx_call_reply(call, 0, &body.base, NULL, 0);
	return PLX_SUSPEND;
}
