/*
 * io.c — BDEV_READ, BDEV_WRITE, BDEV_GATHER, BDEV_SCATTER: the one place a transfer is checked
 * before the driver's transfer callback sees it.
 *
 * Entry points: bdr_do_transfer.
 *
 * The checks and their results, in order, are those of plexus/blockdriver.h: -ENXIO for an
 * unknown minor; -EINVAL for a bad shape (flags, sizes, alignment, element count, total over
 * PLX_BDEV_MAX_IO, overflow); -EBADMSG for a data frame that does not match; -EROFS for a
 * write to a read-only minor; then the range: nothing at or past the end (count 0), a
 * transfer crossing the end cut there. A read's bytes go back as the reply's data frame, a
 * write's come from the request's, elements concatenated in order.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* One checked transfer. */
typedef struct s_xfer {
	uint32_t minor;
	bool write;
	uint64_t position;
	uint64_t total;   /* as asked */
	uint64_t clipped; /* what lies inside the minor */
	const uint64_t *sizes;
	size_t n;
	uint32_t flags;
} s_xfer;

static bool s_is_write(uint32_t type)
{
	return type == PLEXUS__BDEV_TYPE__BDEV_WRITE || type == PLEXUS__BDEV_TYPE__BDEV_SCATTER;
}

static bool s_is_vector(uint32_t type)
{
	return type == PLEXUS__BDEV_TYPE__BDEV_GATHER || type == PLEXUS__BDEV_TYPE__BDEV_SCATTER;
}

/* Step 2: the shape of the request, given the minor's sector size. */
static int s_check_shape(const Plexus__BdevIo *req, uint32_t type, uint32_t sector, s_xfer *x)
{
	if ((req->flags & ~(uint32_t)PLEXUS__BDEV_FLAG__BDEV_FORCEWRITE) != 0)
		return -EINVAL;
	if (s_is_vector(type)) {
		if (req->n_sizes == 0 || req->n_sizes > PLX_BDEV_IOV_MAX || req->size != 0)
			return -EINVAL;
		x->sizes = req->sizes;
		x->n = req->n_sizes;
	} else {
		if (req->n_sizes != 0)
			return -EINVAL;
		x->sizes = &req->size;
		x->n = 1;
	}
	if (req->position % sector != 0)
		return -EINVAL;
	x->total = 0;
	for (size_t i = 0; i < x->n; i++) {
		if (x->sizes[i] == 0 || x->sizes[i] % sector != 0 || x->sizes[i] > PLX_BDEV_MAX_IO)
			return -EINVAL;
		x->total += x->sizes[i];
	}
	if (x->total > PLX_BDEV_MAX_IO || req->position > UINT64_MAX - x->total)
		return -EINVAL;
	return 0;
}

/* Steps 1 to 5. Fills *x or returns the error to reply with. */
static int s_check(plx_blockdriver *self, const plx_call *call, s_xfer *x)
{
	const Plexus__BdevIo *req = (const Plexus__BdevIo *)call->body;
	uint32_t type = call->msg->type;
	plx_bdev_part part;
	int rc = bdr_part(self, req->minor, &part);
	if (rc < 0 || (rc = s_check_shape(req, type, part.sector_size, x)) < 0)
		return rc;
	x->minor = req->minor;
	x->write = s_is_write(type);
	x->position = req->position;
	x->flags = req->flags;
	if (call->msg->data_size != (x->write ? x->total : 0))
		return -EBADMSG;
	if (x->write && part.read_only)
		return -EROFS;
	x->clipped = x->position >= part.size             ? 0
	             : part.size - x->position < x->total ? part.size - x->position
	                                                  : x->total;
	return 0;
}

/* Points iov at buf, element by element, up to x->clipped bytes. Returns the count. */
static int s_iov(const s_xfer *x, uint8_t *buf, struct iovec *iov)
{
	uint64_t left = x->clipped;
	int n = 0;
	for (size_t i = 0; i < x->n && left > 0; i++, n++) {
		uint64_t len = x->sizes[i] < left ? x->sizes[i] : left;
		iov[n].iov_base = buf;
		iov[n].iov_len = len;
		buf += len;
		left -= len;
	}
	return n;
}

static int s_reply(plx_call *call, uint64_t count, const void *data)
{
	Plexus__BdevReply reply = PLEXUS__BDEV_REPLY__INIT;
	reply.count = count;
	plx_call_reply(call, 0, &reply.base, data, data ? count : 0);
	return PLX_SUSPEND;
}

/* The read buffer, grown to size bytes when needed; NULL when memory is short. */
static uint8_t *s_read_buf(plx_blockdriver *self, size_t size)
{
	if (size > self->buf_size) {
		free(self->buf);
		self->buf_size = 0;
		if (!(self->buf = malloc(size)))
			return NULL;
		self->buf_size = size;
	}
	return self->buf;
}

int bdr_do_transfer(plx_call *call)
{
	plx_blockdriver *self;
	s_xfer x = {0};
	int rc = bdr_admit(call, &self);
	if (rc == 0)
		rc = s_check(self, call, &x);
	if (rc < 0)
		return rc;
	if (x.clipped == 0)
		return s_reply(call, 0, NULL);
	uint8_t *buf = x.write ? (uint8_t *)call->msg->data : s_read_buf(self, x.clipped);
	if (!buf)
		return -ENOMEM;
	struct iovec iov[PLX_BDEV_IOV_MAX];
	int n = s_iov(&x, buf, iov);
	ssize_t done =
	    self->ops->transfer(self->arg, x.minor, x.write, x.position, iov, n, x.flags);
	if (done >= 0 && (uint64_t)done > x.clipped)
		done = -EIO; /* a driver that claims more than it was given */
	return done < 0 ? (int)done : s_reply(call, (uint64_t)done, x.write ? NULL : buf);
}
