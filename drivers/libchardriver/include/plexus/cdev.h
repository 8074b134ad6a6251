/*
 * plexus/cdev.h — the client side of the CDEV protocol: one stub per request, for VFS, tests
 * and commands.
 *
 * Entry points: plx_cdev_new, plx_cdev_destroy, plx_cdev_open, plx_cdev_close, plx_cdev_read,
 * plx_cdev_write, plx_cdev_ioctl, plx_cdev_select, plx_cdev_cancel, plx_cdev_sel2_parse.
 *
 * A plx_cdev names one driver (a label; generation 0, whichever the routes know) and sends
 * from an endpoint the caller owns, with sendrec: a read that the driver suspends blocks the
 * calling thread until it is answered, cancelled (plx_cdev_cancel from another thread, with the
 * same id) or timed out. A timed-out request may still be pending at the driver: cancel it.
 * Results: a byte count or 0, or a negative error: the driver's answer (-ENXIO, -EINVAL,
 * -EBADMSG, -ENOTTY, -EAGAIN, -EINTR, -EIO, ... as docs/drivers.md lists) or the transport's
 * (-ETIMEDOUT, -PLX_EDEADSRCDST). Usable from any thread, as plx_sendrec is.
 *
 * Each is a wrapper over the typed stub of its request (plexus/cdev_stub.h, expanded from
 * proto/cdev.def, docs/stubs.md), which also has asynchronous sends and any generation.
 *
 * Later select readiness comes to the endpoint as a CDEV_SEL2_REPLY request (the endpoint
 * must be bound and published so that the driver can reach it): plx_cdev_sel2_parse reads it;
 * the receiver answers it with an empty plx_reply.
 */
#ifndef PLEXUS_CDEV_H
#define PLEXUS_CDEV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <plexus/transport.h>

typedef struct plx_cdev plx_cdev;

/* Returns a client of the driver label sending from ep (which must outlive it), each request
 * waiting up to timeout_ms (PLX_FOREVER: no limit); NULL with errno EINVAL or ENOMEM. */
plx_cdev *plx_cdev_new(plx_ep *ep, const char *label, int timeout_ms);
void plx_cdev_destroy(plx_cdev **self_p);
/* access: CDEV_R_BIT | CDEV_W_BIT (proto/cdev.proto). Return 0 or a negative error. */
int plx_cdev_open(plx_cdev *self, uint32_t minor, uint32_t access);
int plx_cdev_close(plx_cdev *self, uint32_t minor);
/* Return the bytes transferred (0: end of file) or a negative error. flags: CDEV_NONBLOCK or
 * 0; id names the request for plx_cdev_cancel. A read copies at most size bytes into buf and,
 * when position_out is not NULL, stores the position the driver says the bytes came from. */
ssize_t plx_cdev_read(plx_cdev *self, uint32_t minor, uint64_t position, void *buf, size_t size,
                      uint32_t flags, uint64_t id, uint64_t *position_out);
ssize_t plx_cdev_write(plx_cdev *self, uint32_t minor, uint64_t position, const void *buf,
                       size_t size, uint32_t flags, uint64_t id);
/* Sends request with in_size argument bytes; copies at most *out_size result bytes to out and
 * sets *out_size to their number (out may be NULL with out_size NULL). Returns 0 or a negative
 * error. */
int plx_cdev_ioctl(plx_cdev *self, uint32_t minor, uint32_t request, const void *in, size_t in_size,
                   void *out, size_t *out_size, uint64_t id);
/* ops: CDEV_SEL_RD | CDEV_SEL_WR | CDEV_SEL_ERR, plus CDEV_SEL_NOTIFY for a later report
 * tagged with id. Returns the operations ready now (0 or more bits) or a negative error. */
int plx_cdev_select(plx_cdev *self, uint32_t minor, uint32_t ops, uint64_t id);
/* Cancels the caller's pending request id on minor: the driver answers it -EINTR. Returns 0,
 * or -ENOENT when nothing by that id is pending (it was answered already). */
int plx_cdev_cancel(plx_cdev *self, uint32_t minor, uint64_t id);
/* Reads a received CDEV_SEL2_REPLY. Returns 0, or -EBADMSG for another type or a bad body
 * (outputs untouched). */
int plx_cdev_sel2_parse(const plx_msg *msg, uint32_t *minor, uint64_t *id, uint32_t *ops);

#endif
