/*
 * plexus/bdev.h — the client side of the BDEV protocol: one stub per request, as MINIX's
 * libbdev gives file servers (and tests, and `plexus bench blk`).
 *
 * Entry points: plx_bdev_new, plx_bdev_destroy, plx_bdev_open, plx_bdev_close, plx_bdev_read,
 * plx_bdev_write, plx_bdev_gather, plx_bdev_scatter, plx_bdev_info_get, plx_bdev_ioctl,
 * plx_bdev_flush.
 *
 * A plx_bdev names one driver (a label; generation 0, whichever the routes know) and sends
 * from an endpoint the caller owns, with sendrec. Results: a byte count or 0, or a negative
 * error: the driver's answer (-ENXIO, -EINVAL, -EROFS, -EIO, ... as docs/drivers.md lists) or
 * the transport's (-ETIMEDOUT, -PLX_EDEADSRCDST). Usable from any thread, as plx_sendrec is.
 * Each is a wrapper over the typed stub of its request (plexus/bdev_stub.h, expanded from
 * proto/bdev.def, docs/stubs.md).
 */
#ifndef PLEXUS_BDEV_H
#define PLEXUS_BDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <plexus/transport.h>

typedef struct plx_bdev plx_bdev;

/* What BDEV_IOC_INFO says about a minor. */
typedef struct plx_bdev_info {
	uint64_t size;
	uint32_t sector_size;
	bool read_only;
	uint32_t open_count;
	uint64_t max_io;
} plx_bdev_info;

/* Returns a client of the driver label sending from ep (which must outlive it), each request
 * waiting up to timeout_ms; NULL with errno EINVAL or ENOMEM. */
plx_bdev *plx_bdev_new(plx_ep *ep, const char *label, int timeout_ms);
void plx_bdev_destroy(plx_bdev **self_p);

/* access: BDEV_R_BIT | BDEV_W_BIT (proto/bdev.proto). Return 0 or a negative error. */
int plx_bdev_open(plx_bdev *self, uint32_t minor, uint32_t access);
int plx_bdev_close(plx_bdev *self, uint32_t minor);
/* Return the bytes transferred (0 at or past the end) or a negative error. flags:
 * BDEV_FORCEWRITE or 0. A read copies at most size bytes into buf. */
ssize_t plx_bdev_read(plx_bdev *self, uint32_t minor, uint64_t position, void *buf, size_t size,
                      uint32_t flags);
ssize_t plx_bdev_write(plx_bdev *self, uint32_t minor, uint64_t position, const void *buf,
                       size_t size, uint32_t flags);
ssize_t plx_bdev_gather(plx_bdev *self, uint32_t minor, uint64_t position, const struct iovec *iov,
                        int iovcnt, uint32_t flags);
ssize_t plx_bdev_scatter(plx_bdev *self, uint32_t minor, uint64_t position, const struct iovec *iov,
                         int iovcnt, uint32_t flags);
/* Fills *info. Returns 0 or a negative error (info untouched). */
int plx_bdev_info_get(plx_bdev *self, uint32_t minor, plx_bdev_info *info);
/* Sends request with in_size argument bytes; copies at most *out_size result bytes to out and
 * sets *out_size to their number. Returns 0 or a negative error. */
int plx_bdev_ioctl(plx_bdev *self, uint32_t minor, uint32_t request, const void *in, size_t in_size,
                   void *out, size_t *out_size);
int plx_bdev_flush(plx_bdev *self, uint32_t minor);

#endif
