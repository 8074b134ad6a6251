/*
 * client.c — BDEV requests, one stub each (plexus/bdev.h).
 *
 * Entry points: plx_bdev_new, plx_bdev_destroy, plx_bdev_open, plx_bdev_close, plx_bdev_read,
 * plx_bdev_write, plx_bdev_gather, plx_bdev_scatter, plx_bdev_info_get, plx_bdev_ioctl,
 * plx_bdev_flush.
 *
 * Each is a short wrapper over the typed stub of its request (plexus/bdev_stub.h, expanded
 * from proto/bdev.def): it fills the body and reads the reply into plain C arguments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <plexus/bdev.h>
#include <plexus/bdev_stub.h>

struct plx_bdev {
	plx_stub stub;
};

plx_bdev *plx_bdev_new(plx_ep *ep, const char *label, int timeout_ms)
{
	return plx_stub_holder_new(sizeof(plx_bdev), ep, label, timeout_ms,
	                           &plexus__bdev_type__descriptor);
}

void plx_bdev_destroy(plx_bdev **self_p)
{
	if (!self_p)
		return;
	free(*self_p);
	*self_p = NULL;
}

int plx_bdev_close(plx_bdev *self, uint32_t minor)
{
	Plexus__BdevMinor body = PLEXUS__BDEV_MINOR__INIT;
	body.minor = minor;
	return plx_bdev_close_call(&self->stub, &body, NULL, 0, NULL, NULL);
}

int plx_bdev_open(plx_bdev *self, uint32_t minor, uint32_t access)
{
	Plexus__BdevOpen body = PLEXUS__BDEV_OPEN__INIT;
	body.minor = minor;
	body.access = access;
	return plx_bdev_open_call(&self->stub, &body, NULL, 0, NULL, NULL);
}

int plx_bdev_flush(plx_bdev *self, uint32_t minor)
{
	Plexus__BdevMinor body = PLEXUS__BDEV_MINOR__INIT;
	body.minor = minor;
	return plx_bdev_flush_call(&self->stub, &body, NULL, 0, NULL, NULL);
}

/* The typed stub of each transfer request. */
typedef int s_io_call(plx_stub *s, const Plexus__BdevIo *body, const void *data, size_t size,
                      Plexus__BdevReply **reply, plx_msg **msg);

/* Sends a transfer; on success copies a read's data frame into iov and returns the count. */
static ssize_t s_io(plx_bdev *self, s_io_call *call, Plexus__BdevIo *body, const void *data,
                    size_t size, const struct iovec *iov, int iovcnt)
{
	Plexus__BdevReply *r = NULL;
	plx_msg *reply = NULL;
	int rc = call(&self->stub, body, data, size, &r, &reply);
	if (rc < 0) {
		plx_msg_destroy(&reply);
		return rc;
	}
	ssize_t count = (ssize_t)r->count;
	size_t asked = 0;
	for (int i = 0; i < iovcnt; i++)
		asked += iov[i].iov_len;
	if (!data && (reply->data_size != r->count || r->count > asked))
		count = -EBADMSG; /* a read must bring what it says, and no more than asked */
	if (data && r->count > size)
		count = -EBADMSG;
	for (int i = 0, off = 0; count > 0 && !data && i < iovcnt && off < (int)reply->data_size;
	     i++) {
		size_t len = iov[i].iov_len < reply->data_size - (size_t)off
		                 ? iov[i].iov_len
		                 : reply->data_size - (size_t)off;
		memcpy(iov[i].iov_base, reply->data + off, len);
		off += (int)len;
	}
	plx_stub_free(r, &reply);
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
	return s_io(self, plx_bdev_read_call, &body, NULL, 0, &iov, 1);
}

ssize_t plx_bdev_write(plx_bdev *self, uint32_t minor, uint64_t position, const void *buf,
                       size_t size, uint32_t flags)
{
	Plexus__BdevIo body = PLEXUS__BDEV_IO__INIT;
	body.minor = minor;
	body.position = position;
	body.size = size;
	body.flags = flags;
	return s_io(self, plx_bdev_write_call, &body, size ? buf : NULL, size, NULL, 0);
}

/* The element sizes of iov, for a vectored body. */
static ssize_t s_vector(plx_bdev *self, s_io_call *call, uint32_t minor, uint64_t position,
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
	if (call == plx_bdev_gather_call)
		return s_io(self, call, &body, NULL, 0, iov, iovcnt);
	uint8_t *data = total ? malloc(total) : NULL;
	if (total && !data)
		return -ENOMEM;
	for (size_t i = 0, off = 0; i < (size_t)iovcnt; off += iov[i].iov_len, i++)
		memcpy(data + off, iov[i].iov_base, iov[i].iov_len);
	ssize_t rc = s_io(self, call, &body, data, total, NULL, 0);
	free(data);
	return rc;
}

ssize_t plx_bdev_gather(plx_bdev *self, uint32_t minor, uint64_t position, const struct iovec *iov,
                        int iovcnt, uint32_t flags)
{
	return s_vector(self, plx_bdev_gather_call, minor, position, iov, iovcnt, flags);
}

ssize_t plx_bdev_scatter(plx_bdev *self, uint32_t minor, uint64_t position, const struct iovec *iov,
                         int iovcnt, uint32_t flags)
{
	return s_vector(self, plx_bdev_scatter_call, minor, position, iov, iovcnt, flags);
}

int plx_bdev_ioctl(plx_bdev *self, uint32_t minor, uint32_t request, const void *in, size_t in_size,
                   void *out, size_t *out_size)
{
	Plexus__BdevIoctl body = PLEXUS__BDEV_IOCTL__INIT;
	body.minor = minor;
	body.request = request;
	plx_msg *reply = NULL;
	int rc = plx_bdev_ioctl_call(&self->stub, &body, in, in_size, NULL, &reply);
	if (rc < 0) {
		plx_msg_destroy(&reply);
		return rc;
	}
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
	Plexus__BdevReply *r = NULL;
	int rc = plx_bdev_ioctl_call(&self->stub, &body, NULL, 0, &r, NULL);
	if (rc < 0)
		return rc;
	if (r->info)
		*info = (plx_bdev_info){.size = r->info->size,
		                        .sector_size = r->info->sector_size,
		                        .read_only = r->info->read_only,
		                        .open_count = r->info->open_count,
		                        .max_io = r->info->max_io};
	rc = r->info ? 0 : -EBADMSG;
	plx_stub_free(r, NULL);
	return rc;
}
