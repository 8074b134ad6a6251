/*
 * client.c — BDEV requests, one stub each (plexus/bdev.h).
 *
 * Entry points: plx_bdev_new, plx_bdev_destroy, plx_bdev_open, plx_bdev_close, plx_bdev_read,
 * plx_bdev_write, plx_bdev_gather, plx_bdev_scatter, plx_bdev_info_get, plx_bdev_ioctl,
 * plx_bdev_flush.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <plexus/bdev.h>

#include "plexus/proto/bdev.pb-c.h"

struct plx_bdev {
	plx_ep *ep;
	plx_name dst;
	int timeout_ms;
};

plx_bdev *plx_bdev_new(plx_ep *ep, const char *label, int timeout_ms)
{
	if (!ep || !label || !*label || strlen(label) >= PLX_LABEL_MAX) {
		errno = EINVAL;
		return NULL;
	}
	plx_bdev *self = calloc(1, sizeof *self);
	if (!self)
		return NULL;
	self->ep = ep;
	snprintf(self->dst.label, sizeof self->dst.label, "%s", label);
	self->timeout_ms = timeout_ms;
	plx_register_types(&plexus__bdev_type__descriptor);
	return self;
}

void plx_bdev_destroy(plx_bdev **self_p)
{
	if (!self_p)
		return;
	free(*self_p);
	*self_p = NULL;
}

/* Sends one request; returns the reply's status, *reply set when a reply came (may be NULL:
 * then dropped). */
static int s_call(plx_bdev *self, uint32_t type, const ProtobufCMessage *body, const void *data,
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

static Plexus__BdevReply *s_body(plx_msg *reply)
{
	return (Plexus__BdevReply *)plx_msg_unpack(reply, &plexus__bdev_reply__descriptor);
}

int plx_bdev_open(plx_bdev *self, uint32_t minor, uint32_t access)
{
	Plexus__BdevOpen body = PLEXUS__BDEV_OPEN__INIT;
	body.minor = minor;
	body.access = access;
	return s_call(self, PLEXUS__BDEV_TYPE__BDEV_OPEN, &body.base, NULL, 0, NULL);
}

int plx_bdev_close(plx_bdev *self, uint32_t minor)
{
	Plexus__BdevMinor body = PLEXUS__BDEV_MINOR__INIT;
	body.minor = minor;
	return s_call(self, PLEXUS__BDEV_TYPE__BDEV_CLOSE, &body.base, NULL, 0, NULL);
}

int plx_bdev_flush(plx_bdev *self, uint32_t minor)
{
	Plexus__BdevMinor body = PLEXUS__BDEV_MINOR__INIT;
	body.minor = minor;
	return s_call(self, PLEXUS__BDEV_TYPE__BDEV_FLUSH, &body.base, NULL, 0, NULL);
}

/* Sends a transfer; on success copies a read's data frame into iov and returns the count. */
static ssize_t s_io(plx_bdev *self, uint32_t type, Plexus__BdevIo *body, const void *data,
                    size_t size, const struct iovec *iov, int iovcnt)
{
	plx_msg *reply = NULL;
	int rc = s_call(self, type, &body->base, data, size, &reply);
	if (rc < 0)
		return rc;
	Plexus__BdevReply *r = s_body(reply);
	ssize_t count = r ? (ssize_t)r->count : -EBADMSG;
	size_t asked = 0;
	for (int i = 0; i < iovcnt; i++)
		asked += iov[i].iov_len;
	if (r && !data && (reply->data_size != r->count || r->count > asked))
		count = -EBADMSG; /* a read must bring what it says, and no more than asked */
	if (r && data && r->count > size)
		count = -EBADMSG;
	for (int i = 0, off = 0; count > 0 && !data && i < iovcnt && off < (int)reply->data_size;
	     i++) {
		size_t len = iov[i].iov_len < reply->data_size - (size_t)off
		                 ? iov[i].iov_len
		                 : reply->data_size - (size_t)off;
		memcpy(iov[i].iov_base, reply->data + off, len);
		off += (int)len;
	}
	if (r)
		protobuf_c_message_free_unpacked(&r->base, NULL);
	plx_msg_destroy(&reply);
	return count;
}

ssize_t plx_bdev_read(plx_bdev *self, uint32_t minor, uint64_t position, void *buf, size_t size,
                      uint32_t flags)
{
	Plexus__BdevIo body = PLEXUS__BDEV_IO__INIT;
	body.minor = minor;
	body.position = position;
	body.size = size;
	body.flags = flags;
	struct iovec iov = {buf, size};
	return s_io(self, PLEXUS__BDEV_TYPE__BDEV_READ, &body, NULL, 0, &iov, 1);
}

ssize_t plx_bdev_write(plx_bdev *self, uint32_t minor, uint64_t position, const void *buf,
                       size_t size, uint32_t flags)
{
	Plexus__BdevIo body = PLEXUS__BDEV_IO__INIT;
	body.minor = minor;
	body.position = position;
	body.size = size;
	body.flags = flags;
	return s_io(self, PLEXUS__BDEV_TYPE__BDEV_WRITE, &body, size ? buf : NULL, size, NULL, 0);
}

/* The element sizes of iov, for a vectored body. */
static ssize_t s_vector(plx_bdev *self, uint32_t type, uint32_t minor, uint64_t position,
                        const struct iovec *iov, int iovcnt, uint32_t flags)
{
	if (iovcnt < 0 || iovcnt > 1024)
		return -EINVAL;
	uint64_t sizes[1024];
	size_t total = 0;
	for (int i = 0; i < iovcnt; i++)
		total += sizes[i] = iov[i].iov_len;
	Plexus__BdevIo body = PLEXUS__BDEV_IO__INIT;
	body.minor = minor;
	body.position = position;
	body.n_sizes = (size_t)iovcnt;
	body.sizes = sizes;
	body.flags = flags;
	if (type == PLEXUS__BDEV_TYPE__BDEV_GATHER)
		return s_io(self, type, &body, NULL, 0, iov, iovcnt);
	uint8_t *data = total ? malloc(total) : NULL;
	if (total && !data)
		return -ENOMEM;
	for (size_t i = 0, off = 0; i < (size_t)iovcnt; off += iov[i].iov_len, i++)
		memcpy(data + off, iov[i].iov_base, iov[i].iov_len);
	ssize_t rc = s_io(self, type, &body, data, total, NULL, 0);
	free(data);
	return rc;
}

ssize_t plx_bdev_gather(plx_bdev *self, uint32_t minor, uint64_t position, const struct iovec *iov,
                        int iovcnt, uint32_t flags)
{
	return s_vector(self, PLEXUS__BDEV_TYPE__BDEV_GATHER, minor, position, iov, iovcnt, flags);
}

ssize_t plx_bdev_scatter(plx_bdev *self, uint32_t minor, uint64_t position, const struct iovec *iov,
                         int iovcnt, uint32_t flags)
{
	return s_vector(self, PLEXUS__BDEV_TYPE__BDEV_SCATTER, minor, position, iov, iovcnt, flags);
}

int plx_bdev_ioctl(plx_bdev *self, uint32_t minor, uint32_t request, const void *in, size_t in_size,
                   void *out, size_t *out_size)
{
	Plexus__BdevIoctl body = PLEXUS__BDEV_IOCTL__INIT;
	body.minor = minor;
	body.request = request;
	plx_msg *reply = NULL;
	int rc = s_call(self, PLEXUS__BDEV_TYPE__BDEV_IOCTL, &body.base, in, in_size, &reply);
	if (rc < 0)
		return rc;
	size_t n = reply->data_size < *out_size ? reply->data_size : *out_size;
	if (n)
		memcpy(out, reply->data, n);
	*out_size = n;
	plx_msg_destroy(&reply);
	return 0;
}

int plx_bdev_info_get(plx_bdev *self, uint32_t minor, plx_bdev_info *info)
{
	Plexus__BdevIoctl body = PLEXUS__BDEV_IOCTL__INIT;
	body.minor = minor;
	body.request = PLEXUS__BDEV_IOCTL_REQUEST__BDEV_IOC_INFO;
	plx_msg *reply = NULL;
	int rc = s_call(self, PLEXUS__BDEV_TYPE__BDEV_IOCTL, &body.base, NULL, 0, &reply);
	if (rc < 0)
		return rc;
	Plexus__BdevReply *r = s_body(reply);
	if (r && r->info)
		*info = (plx_bdev_info){.size = r->info->size,
		                        .sector_size = r->info->sector_size,
		                        .read_only = r->info->read_only,
		                        .open_count = r->info->open_count,
		                        .max_io = r->info->max_io};
	rc = r && r->info ? 0 : -EBADMSG;
	if (r)
		protobuf_c_message_free_unpacked(&r->base, NULL);
	plx_msg_destroy(&reply);
	return rc;
}
