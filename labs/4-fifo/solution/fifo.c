/*
 * fifo.c — plexus-fifo, a character device that works like a pipe: a write appends bytes, a
 * read takes them from the front, and a read with nothing to take waits until a write comes
 * (MINIX's "reply later": the request is suspended and answered by the write). Lab 4's
 * reference solution (labs/4-fifo/README.md).
 *
 * Entry points: main.
 */
#include <errno.h>  /* the error codes the callbacks return, negated */
#include <string.h> /* memcpy, memmove */

#include <plexus/chardriver.h> /* the character driver library: callbacks, suspend, next */
#include <plexus/service.h>    /* the service runtime */

#include "plexus/proto/cdev.pb-c.h" /* PLEXUS__CDEV_TYPE__CDEV_READ */

#define FIFO_MAX 1024 /* the most bytes the device holds */

/* Everything the driver knows: the bytes written and not read yet. */
typedef struct fifo {
	plx_chardriver *driver; /* set by plx_chardriver_main while it runs */
	char data[FIFO_MAX];
	size_t len;
} fifo;

static bool fifo_exists(void *arg, uint32_t minor)
{
	(void)arg;
	return minor == 0;
}

/* Moves at most size bytes from the front into buf; returns how many. */
static size_t fifo_take(fifo *self, void *buf, size_t size)
{
	size_t n = self->len < size ? self->len : size;
	memcpy(buf, self->data, n);
	memmove(self->data, self->data + n, self->len - n);
	self->len -= n;
	return n;
}

/* A read takes what is there; with nothing there it waits (or fails -EAGAIN when the caller
 * asked not to wait: plx_cdev_req_suspend says so). */
static int fifo_read(void *arg, plx_cdev_req *req, void *buf, size_t *count)
{
	fifo *self = arg;
	*count = fifo_take(self, buf, (size_t)plx_cdev_req_size(req));
	if (*count > 0)
		return 0;
	int rc = plx_cdev_req_suspend(req);
	return rc < 0 ? rc : PLX_SUSPEND;
}

/* Answers the waiting reads, oldest first, while there are bytes for them. */
static void fifo_wake(fifo *self)
{
	plx_cdev_req *req;
	while (self->len > 0 &&
	       (req = plx_chardriver_next(self->driver, 0, PLEXUS__CDEV_TYPE__CDEV_READ))) {
		char buf[FIFO_MAX];
		size_t size = (size_t)plx_cdev_req_size(req);
		size_t n = fifo_take(self, buf, size < sizeof buf ? size : sizeof buf);
		plx_cdev_req_reply(req, (int64_t)n, buf, n);
	}
}

/* A write appends all its bytes or, when they do not fit, none (-ENOSPC); then wakes the
 * reads that wait. */
static int fifo_write(void *arg, plx_cdev_req *req, const void *data, size_t *count)
{
	fifo *self = arg;
	size_t n = (size_t)plx_cdev_req_size(req);
	if (n > FIFO_MAX - self->len)
		return -ENOSPC;
	memcpy(self->data + self->len, data, n);
	self->len += n;
	*count = n;
	fifo_wake(self);
	return 0;
}

static const plx_chardriver_ops fifo_ops = {
    .exists = fifo_exists,
    .read = fifo_read,
    .write = fifo_write,
};

static const plx_service_desc fifo_desc = {
    .program = "plexus-fifo",
    .usage = "usage: plexus-fifo [options]\n\n"
             "A character device (minor 0) that works like a pipe: reads take what writes\n"
             "put, and wait when there is nothing.\n\n"
             "  --help                this text\n\n",
};

int main(int argc, char **argv)
{
	static fifo self;
	return plx_chardriver_main(&fifo_ops, &self, &fifo_desc, &self.driver, argc, argv);
}
