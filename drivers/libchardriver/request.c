/*
 * request.c — a READ, WRITE or IOCTL as the driver sees it, and the list of the pending ones:
 * suspended by the driver, taken back by it later, or cancelled by the caller.
 *
 * Entry points: plx_cdev_req_minor, plx_cdev_req_type, plx_cdev_req_position,
 * plx_cdev_req_size, plx_cdev_req_flags, plx_cdev_req_id, plx_cdev_req_source,
 * plx_cdev_req_data, plx_cdev_req_set_position, plx_cdev_req_suspend, plx_cdev_req_reply,
 * plx_chardriver_next, plx_chardriver_pending; cdr_req_new, cdr_follow_caller, cdr_req_free,
 * cdr_pending_take.
 *
 * A request on the list belongs to the library (a cancel may answer it); one taken off by
 * plx_chardriver_next belongs to the driver. Both moves happen under the driver's lock, so a
 * request is answered exactly once. plx_chardriver_next passes over the requests of callers the
 * registry has declared dead (answering them, to no one), so that input is not spent on them.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void cdr_follow_caller(plx_chardriver *self, const plx_name *caller)
{
	if (self->ctx)
		(void)plx_is_gone(self->ctx, caller->label, caller->generation);
}

plx_cdev_req *cdr_req_new(plx_chardriver *self, plx_call *call, uint32_t minor)
{
	plx_cdev_req *req = calloc(1, sizeof *req);
	if (!req)
		return NULL;
	req->driver = self;
	req->call = call;
	req->type = call->msg->type;
	req->minor = minor;
	cdr_follow_caller(self, &call->msg->source);
	return req;
}

void cdr_req_free(plx_cdev_req *req)
{
	free(req);
}

uint32_t plx_cdev_req_minor(const plx_cdev_req *req)
{
	return req->minor;
}

uint32_t plx_cdev_req_type(const plx_cdev_req *req)
{
	return req->type;
}

uint64_t plx_cdev_req_position(const plx_cdev_req *req)
{
	return req->position;
}

uint64_t plx_cdev_req_size(const plx_cdev_req *req)
{
	return req->size;
}

uint32_t plx_cdev_req_flags(const plx_cdev_req *req)
{
	return req->flags;
}

uint64_t plx_cdev_req_id(const plx_cdev_req *req)
{
	return req->id;
}

const plx_name *plx_cdev_req_source(const plx_cdev_req *req)
{
	return &req->call->msg->source;
}

const void *plx_cdev_req_data(const plx_cdev_req *req, size_t *size)
{
	if (size)
		*size = req->call->msg->data_size;
	return req->call->msg->data;
}

void plx_cdev_req_set_position(plx_cdev_req *req, uint64_t position)
{
	req->reply_position = position;
}

int plx_cdev_req_suspend(plx_cdev_req *req)
{
	if (req->flags & PLEXUS__CDEV_FLAG__CDEV_NONBLOCK)
		return -EAGAIN;
	plx_chardriver *self = req->driver;
	pthread_mutex_lock(&self->lock);
	if (self->stopped || self->npending >= PLX_CDEV_PENDING_MAX) {
		pthread_mutex_unlock(&self->lock);
		return self->stopped ? -EIO : -EBUSY;
	}
	plx_cdev_req **p = &self->pending;
	while (*p)
		p = &(*p)->next;
	req->next = NULL;
	*p = req;
	self->npending++;
	pthread_mutex_unlock(&self->lock);
	return 0;
}

int plx_cdev_req_reply(plx_cdev_req *req, int64_t result, const void *data, size_t size)
{
	int rc;
	if (result < 0) {
		rc = plx_call_reply(req->call, (int32_t)result, NULL, NULL, 0);
	} else {
		Plexus__CdevReply body = PLEXUS__CDEV_REPLY__INIT;
		body.count = (uint64_t)result;
		body.position = req->reply_position;
		rc = plx_call_reply(req->call, 0, &body.base, data, size);
	}
	cdr_req_free(req);
	return rc;
}

static bool s_match(const plx_cdev_req *req, uint32_t minor, uint32_t type)
{
	return req->minor == minor && (type == 0 || req->type == type);
}

/* True when the registry has declared the caller of req dead (it crashed, or a newer
 * generation replaced it). Under the lock: only what the route table holds, which follows the
 * caller's label since its request came (cdr_req_new). */
static bool s_caller_dead(const plx_chardriver *self, const plx_cdev_req *req)
{
	const plx_name *src = &req->call->msg->source;
	return self->ctx && plx_is_known_gone(self->ctx, src->label, src->generation);
}

plx_cdev_req *plx_chardriver_next(plx_chardriver *self, uint32_t minor, uint32_t type)
{
	plx_cdev_req *dead = NULL, *req = NULL;
	pthread_mutex_lock(&self->lock);
	for (plx_cdev_req **p = &self->pending; *p && !req;) {
		plx_cdev_req *r = *p;
		if (!s_match(r, minor, type)) {
			p = &r->next;
			continue;
		}
		*p = r->next;
		self->npending--;
		if (s_caller_dead(self, r)) {
			r->next = dead; /* nobody to give the data to: do not spend it on them */
			dead = r;
		} else {
			r->next = NULL;
			req = r;
		}
	}
	pthread_mutex_unlock(&self->lock);
	while (dead) {
		plx_cdev_req *next = dead->next;
		plx_cdev_req_reply(dead, -PLX_EDEADSRCDST, NULL, 0);
		dead = next;
	}
	return req;
}

size_t plx_chardriver_pending(plx_chardriver *self, uint32_t minor, uint32_t type)
{
	size_t n = 0;
	pthread_mutex_lock(&self->lock);
	for (plx_cdev_req *r = self->pending; r; r = r->next)
		n += s_match(r, minor, type);
	pthread_mutex_unlock(&self->lock);
	return n;
}

plx_cdev_req *cdr_pending_take(plx_chardriver *self, const plx_name *caller, uint32_t minor,
                               uint64_t id)
{
	pthread_mutex_lock(&self->lock);
	plx_cdev_req **p = &self->pending;
	for (; *p; p = &(*p)->next) {
		const plx_name *src = &(*p)->call->msg->source;
		if ((*p)->minor == minor && (*p)->id == id &&
		    src->generation == caller->generation && strcmp(src->label, caller->label) == 0)
			break;
	}
	plx_cdev_req *req = *p;
	if (req) {
		*p = req->next;
		req->next = NULL;
		self->npending--;
	}
	pthread_mutex_unlock(&self->lock);
	return req;
}
