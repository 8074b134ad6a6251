/*
 * client.c — CDEV requests, one stub each (plexus/cdev.h).
 *
 * Entry points: plx_cdev_new, plx_cdev_destroy, plx_cdev_open, plx_cdev_close, plx_cdev_read,
 * plx_cdev_write, plx_cdev_ioctl, plx_cdev_select, plx_cdev_cancel, plx_cdev_sel2_parse.
 *
 * Each is a short wrapper over the typed stub of its request (plexus/cdev_stub.h, expanded
 * from proto/cdev.def): it fills the body and reads the reply into plain C arguments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <plexus/cdev.h>
#include <plexus/cdev_stub.h>

struct plx_cdev {
	plx_stub stub;
};

plx_cdev *plx_cdev_new(plx_ep *ep, const char *label, int timeout_ms)
{
	return plx_stub_holder_new(sizeof(plx_cdev), ep, label, timeout_ms,
	                           &plexus__cdev_type__descriptor);
}

void plx_cdev_destroy(plx_cdev **self_p)
{
	if (!self_p)
		return;
	free(*self_p);
	*self_p = NULL;
}

int plx_cdev_open(plx_cdev *self, uint32_t minor, uint32_t access)
{
	Plexus__CdevOpen body = PLEXUS__CDEV_OPEN__INIT;
	body.minor = minor;
	body.access = access;
	return plx_cdev_open_call(&self->stub, &body, NULL, 0, NULL, NULL);
}

int plx_cdev_close(plx_cdev *self, uint32_t minor)
{
	Plexus__CdevMinor body = PLEXUS__CDEV_MINOR__INIT;
	body.minor = minor;
	return plx_cdev_close_call(&self->stub, &body, NULL, 0, NULL, NULL);
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
	Plexus__CdevReply *r = NULL;
	plx_msg *reply = NULL;
	int rc = plx_cdev_read_call(&self->stub, &body, NULL, 0, &r, &reply);
	ssize_t n = rc < 0 ? rc : -EBADMSG;
	if (rc >= 0 && r->count == reply->data_size && reply->data_size <= size) {
		if (reply->data_size)
			memcpy(buf, reply->data, reply->data_size);
		if (position_out)
			*position_out = r->position;
		n = (ssize_t)reply->data_size;
	}
	plx_stub_free(r, &reply);
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
	Plexus__CdevReply *r = NULL;
	int rc = plx_cdev_write_call(&self->stub, &body, buf, size, &r, NULL);
	ssize_t n = rc < 0 ? rc : r->count <= size ? (ssize_t)r->count : -EBADMSG;
	plx_stub_free(r, NULL);
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
	int rc = plx_cdev_ioctl_call(&self->stub, &body, in, in_size, NULL, &reply);
	if (rc < 0) {
		plx_msg_destroy(&reply);
		return rc;
	}
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
	Plexus__CdevReply *r = NULL;
	int rc = plx_cdev_select_call(&self->stub, &body, NULL, 0, &r, NULL);
	if (rc >= 0)
		rc = (int)(r->ops & 0xffff);
	plx_stub_free(r, NULL);
	return rc;
}

int plx_cdev_cancel(plx_cdev *self, uint32_t minor, uint64_t id)
{
	Plexus__CdevCancel body = PLEXUS__CDEV_CANCEL__INIT;
	body.minor = minor;
	body.id = id;
	return plx_cdev_cancel_call(&self->stub, &body, NULL, 0, NULL, NULL);
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
