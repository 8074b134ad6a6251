/*
 * chardevs.c — plexus-memory's character devices: /dev/null, /dev/zero, /dev/full and
 * /dev/random, as MINIX's memory driver serves null and zero beside its RAM disks.
 *
 * Entry points: memdev_ops.
 *
 * None of them ever blocks, so there is no select callback: the library reports every
 * operation ready at once.
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "chardevs.h"

static bool s_exists(void *arg, uint32_t minor)
{
	(void)arg;
	return minor == MEMDEV_NULL || minor == MEMDEV_ZERO || minor == MEMDEV_FULL ||
	       minor == MEMDEV_RANDOM;
}

/* Fills buf with size random bytes. Returns 0 or -EIO. */
static int s_random(uint8_t *buf, size_t size)
{
	while (size > 0) {
		ssize_t n = getrandom(buf, size, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO;
		buf += n;
		size -= (size_t)n;
	}
	return 0;
}

static int s_read(void *arg, plx_cdev_req *req, void *buf, size_t *count)
{
	(void)arg;
	size_t size = (size_t)plx_cdev_req_size(req);
	switch (plx_cdev_req_minor(req)) {
	case MEMDEV_NULL:
		*count = 0;
		return 0;
	case MEMDEV_RANDOM:
		*count = size;
		return s_random(buf, size);
	default: /* zero, full */
		memset(buf, 0, size);
		*count = size;
		return 0;
	}
}

static int s_write(void *arg, plx_cdev_req *req, const void *data, size_t *count)
{
	(void)arg;
	(void)data;
	if (plx_cdev_req_minor(req) == MEMDEV_FULL)
		return -ENOSPC;
	*count = (size_t)plx_cdev_req_size(req);
	return 0;
}

const plx_chardriver_ops memdev_ops = {.exists = s_exists, .read = s_read, .write = s_write};
