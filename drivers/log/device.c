/*
 * device.c — the log's character device, minor 0.
 *
 * Entry points: logdev_ops.
 *
 * A write appends its bytes as lines stamped with the time and the writer's label. A read at a
 * position returns what is there from it on (from the oldest line kept, when the position is
 * older; the reply says where the bytes came from). A read at or past the end waits for the
 * next lines (a deferred reply), or is -EAGAIN with CDEV_NONBLOCK. Select: readable when the
 * log holds lines, and reported later when lines arrive; always writable.
 */
#include <errno.h>
#include <stdlib.h>

#include "log.h"

#include "plexus/proto/cdev.pb-c.h"

static bool s_exists(void *arg, uint32_t minor)
{
	(void)arg;
	return minor == 0;
}

static int s_read(void *arg, plx_cdev_req *req, void *buf, size_t *count)
{
	logdev *self = arg;
	uint64_t position = plx_cdev_req_position(req);
	*count = logbuf_read(self->log, &position, buf, (size_t)plx_cdev_req_size(req));
	plx_cdev_req_set_position(req, position);
	if (*count > 0)
		return 0;
	int rc = plx_cdev_req_suspend(req);
	return rc < 0 ? rc : PLX_SUSPEND;
}

/* Answers the reads that waited for lines; new lines start at from. */
static void s_wake_readers(logdev *self, uint64_t from)
{
	plx_cdev_req *req;
	while ((req = plx_chardriver_next(self->driver, 0, PLEXUS__CDEV_TYPE__CDEV_READ))) {
		uint64_t position = plx_cdev_req_position(req);
		if (position > from)
			position = from; /* it asked past the end: it gets the lines that came */
		size_t size = (size_t)plx_cdev_req_size(req);
		char *buf = malloc(size);
		size_t n = buf ? logbuf_read(self->log, &position, buf, size) : 0;
		plx_cdev_req_set_position(req, position);
		plx_cdev_req_reply(req, buf ? (int64_t)n : -ENOMEM, buf, n);
		free(buf);
	}
}

static int s_write(void *arg, plx_cdev_req *req, const void *data, size_t *count)
{
	logdev *self = arg;
	uint64_t end = logbuf_end(self->log);
	size_t size = (size_t)plx_cdev_req_size(req);
	logbuf_append(self->log, plx_cdev_req_source(req)->label, data, size);
	*count = size;
	if (self->driver) {
		s_wake_readers(self, end);
		plx_chardriver_ready(self->driver, 0, PLEXUS__CDEV_SEL_OP__CDEV_SEL_RD);
	}
	return 0;
}

static uint32_t s_select(void *arg, uint32_t minor, uint32_t ops)
{
	(void)minor;
	logdev *self = arg;
	uint32_t ready = ops & PLEXUS__CDEV_SEL_OP__CDEV_SEL_WR;
	if (logbuf_end(self->log) > logbuf_start(self->log))
		ready |= ops & PLEXUS__CDEV_SEL_OP__CDEV_SEL_RD;
	return ready;
}

const plx_chardriver_ops logdev_ops = {
    .exists = s_exists, .read = s_read, .write = s_write, .select = s_select};
