/*
 * client.c — CDEV requests, one stub each (plexus/cdev.h).
 *
 * Entry points: plx_cdev_new, plx_cdev_destroy, plx_cdev_open, plx_cdev_close, plx_cdev_read,
 * plx_cdev_write, plx_cdev_ioctl, plx_cdev_select, plx_cdev_cancel, plx_cdev_sel2_parse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <plexus/cdev.h>

#include "plexus/proto/cdev.pb-c.h"

struct plx_cdev {
	plx_ep *ep;
	plx_name dst;
	int timeout_ms;
};

plx_cdev *plx_cdev_new(plx_ep *ep, const char *label, int timeout_ms)
{
	if (!ep || !label || !*label || strlen(label) >= PLX_LABEL_MAX) {
		errno = EINVAL;
		return NULL;
	}
	plx_cdev *self = calloc(1, sizeof *self);
	if (!self)
		return NULL;
	self->ep = ep;
	snprintf(self->dst.label, sizeof self->dst.label, "%s", label);
	self->timeout_ms = timeout_ms;
	plx_register_types(&plexus__cdev_type__descriptor);
	return self;
}

void plx_cdev_destroy(plx_cdev **self_p)
{
	if (!self_p)
		return;
	free(*self_p);
	*self_p = NULL;
}

/* Sends one request; returns the reply's status, *reply set when a reply came (may be NULL:
 * then dropped). */
static int s_call(plx_cdev *self, uint32_t type, const ProtobufCMessage *body, const void *data,
                  size_t size, plx_msg **reply)
{
	plx_request req = {
	    .dst = self->dst, .type = type, .body = body, .data = data, .data_size = size};
	plx_msg *msg = NULL;
	int rc = plx_sendrec(self->ep, &req, &msg, self->timeout_ms);
	if (reply && msg && rc >= 0)
		*reply = msg;
	else
		plx_msg_destroy(&msg);
	return rc;
}

static Plexus__CdevReply *s_body(plx_msg *reply)
{
	return (Plexus__CdevReply *)plx_msg_unpack(reply, &plexus__cdev_reply__descriptor);
}

int plx_cdev_open(plx_cdev *self, uint32_t minor, uint32_t access)
{
	Plexus__CdevOpen body = PLEXUS__CDEV_OPEN__INIT;
	body.minor = minor;
	body.access = access;
	return s_call(self, PLEXUS__CDEV_TYPE__CDEV_OPEN, &body.base, NULL, 0, NULL);
}

int plx_cdev_close(plx_cdev *self, uint32_t minor)
{
	Plexus__CdevMinor body = PLEXUS__CDEV_MINOR__INIT;
	body.minor = minor;
	return s_call(self, PLEXUS__CDEV_TYPE__CDEV_CLOSE, &body.base, NULL, 0, NULL);
}

ssize_t plx_cdev_read(plx_cdev *self, uint32_t minor, uint64_t position, void *buf, size_t size,
                      uint32_t flags, uint64_t id, uint64_t *position_out)
{
	Plexus__CdevIo body = PLEXUS__CDEV_IO__INIT;
	body.minor = minor;
	body.position = position;
	body.size = size;
	body.flags = flags;
	body.id = id;
	plx_msg *reply = NULL;
	int rc = s_call(self, PLEXUS__CDEV_TYPE__CDEV_READ, &body.base, NULL, 0, &reply);
	if (rc < 0)
		return rc;
	Plexus__CdevReply *r = s_body(reply);
	ssize_t n = -EBADMSG;
	if (r && r->count == reply->data_size && reply->data_size <= size) {
		if (reply->data_size)
			memcpy(buf, reply->data, reply->data_size);
		if (position_out)
			*position_out = r->position;
		n = (ssize_t)reply->data_size;
	}
	if (r)
		protobuf_c_message_free_unpacked(&r->base, NULL);
	plx_msg_destroy(&reply);
	return n;
}

ssize_t plx_cdev_write(plx_cdev *self, uint32_t minor, uint64_t position, const void *buf,
                       size_t size, uint32_t flags, uint64_t id)
{
	Plexus__CdevIo body = PLEXUS__CDEV_IO__INIT;
	body.minor = minor;
	body.position = position;
	body.size = size;
	body.flags = flags;
	body.id = id;
	plx_msg *reply = NULL;
	int rc = s_call(self, PLEXUS__CDEV_TYPE__CDEV_WRITE, &body.base, buf, size, &reply);
	if (rc < 0)
		return rc;
	Plexus__CdevReply *r = s_body(reply);
	ssize_t n = r && r->count <= size ? (ssize_t)r->count : -EBADMSG;
	if (r)
		protobuf_c_message_free_unpacked(&r->base, NULL);
	plx_msg_destroy(&reply);
	return n;
}

int plx_cdev_ioctl(plx_cdev *self, uint32_t minor, uint32_t request, const void *in, size_t in_size,
                   void *out, size_t *out_size, uint64_t id)
{
	Plexus__CdevIoctl body = PLEXUS__CDEV_IOCTL__INIT;
	body.minor = minor;
	body.request = request;
	body.id = id;
	plx_msg *reply = NULL;
	int rc = s_call(self, PLEXUS__CDEV_TYPE__CDEV_IOCTL, &body.base, in, in_size, &reply);
	if (rc < 0)
		return rc;
	size_t n = reply->data_size;
	if (out_size) {
		if (n > *out_size)
			n = *out_size;
		if (n)
			memcpy(out, reply->data, n);
		*out_size = n;
	}
	plx_msg_destroy(&reply);
	return 0;
}

int plx_cdev_select(plx_cdev *self, uint32_t minor, uint32_t ops, uint64_t id)
{
	Plexus__CdevSelect body = PLEXUS__CDEV_SELECT__INIT;
	body.minor = minor;
	body.ops = ops;
	body.id = id;
	plx_msg *reply = NULL;
	int rc = s_call(self, PLEXUS__CDEV_TYPE__CDEV_SELECT, &body.base, NULL, 0, &reply);
	if (rc < 0)
		return rc;
	Plexus__CdevReply *r = s_body(reply);
	rc = r ? (int)(r->ops & 0xffff) : -EBADMSG;
	if (r)
		protobuf_c_message_free_unpacked(&r->base, NULL);
	plx_msg_destroy(&reply);
	return rc;
}

int plx_cdev_cancel(plx_cdev *self, uint32_t minor, uint64_t id)
{
	Plexus__CdevCancel body = PLEXUS__CDEV_CANCEL__INIT;
	body.minor = minor;
	body.id = id;
	return s_call(self, PLEXUS__CDEV_TYPE__CDEV_CANCEL, &body.base, NULL, 0, NULL);
}

int plx_cdev_sel2_parse(const plx_msg *msg, uint32_t *minor, uint64_t *id, uint32_t *ops)
{
	if (!msg || msg->type != PLEXUS__CDEV_TYPE__CDEV_SEL2_REPLY || msg->data_size != 0)
		return -EBADMSG;
	Plexus__CdevSelReady *r =
	    (Plexus__CdevSelReady *)plx_msg_unpack(msg, &plexus__cdev_sel_ready__descriptor);
	if (!r)
		return -EBADMSG;
	*minor = r->minor;
	*id = r->id;
	*ops = r->ops;
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return 0;
}
