/*
 * plexus/blockdriver.h — the block driver library: MINIX's libblockdriver for Plexus.
 *
 * Entry points:
 *   plx_blockdriver_main (a plain block driver's whole main: MINIX's blockdriver_task)
 *   plx_blockdriver_task (the whole life of a plain block driver)
 *   plx_blockdriver_new, plx_blockdriver_destroy, plx_blockdriver_handlers,
 *   plx_blockdriver_attach, plx_blockdriver_start, plx_blockdriver_announce,
 *   plx_blockdriver_tick, plx_blockdriver_open_count
 *
 * A driver fills a plx_blockdriver_ops with its callbacks and hands it to the library, which
 * answers the BDEV family (proto/bdev.proto, docs/protocol.md). Every request is checked at one
 * boundary before a callback sees it, in this order (docs/drivers.md, "Block drivers"):
 *   1. minor: the driver's part callback does not know it          -> -ENXIO
 *   2. shape: unknown flags or access bits, size 0, no element or more than PLX_BDEV_IOV_MAX,
 *      an element of size 0, position or a size not a multiple of the sector size, a total over
 *      PLX_BDEV_MAX_IO, or position + total overflowing             -> -EINVAL
 *   3. data frame: a write's frame not exactly the total, a read with a frame -> -EBADMSG
 *   4. a write (or an open for writing) on a read-only minor        -> -EROFS
 *   5. range: a transfer starting at or past the end transfers nothing (count 0); one that
 *      crosses the end is cut at the end (count is what was transferred).
 * Before these, a request from an older generation of a caller label than one already served
 * is refused -ESTALE (callers.c): a replaced instance's requests still queued never run.
 * So a transfer callback is only ever called with a known minor, a non-empty, aligned vector
 * that lies entirely inside the minor.
 *
 * The library also counts opens per minor (a close without an open is -EINVAL), answers
 * BDEV_IOC_INFO itself, keeps the open counts in the service's saved state so that a driver
 * restarted by RS (PLEXUS_INIT=restart) knows who has it open, and announces the driver in DS
 * as drv.blk.<label> = "up" once its endpoint is published (MINIX's shape; VFS subscribes to
 * drv.blk.*). Heartbeats (IPC_PING) and IPC_SHUTDOWN are answered by the server library.
 *
 * A driver that serves block and character devices in one server (plexus-memory) puts the
 * handlers of plx_blockdriver_handlers into its own table next to the character library's and
 * ties the block driver to that server with plx_blockdriver_attach: block handlers find their
 * driver through the server they run in, never through plx_server_arg, which stays the
 * driver's own.
 *
 * Threads: callbacks run in the server's loop thread, one at a time. The library does not log.
 */
#ifndef PLEXUS_BLOCKDRIVER_H
#define PLEXUS_BLOCKDRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <plexus/server.h>
#include <plexus/service.h>

#define PLX_BDEV_MAX_IO    (16u * 1024 * 1024) /* bytes per request, every element together */
#define PLX_BDEV_IOV_MAX   64                  /* elements per GATHER / SCATTER (MINIX NR_IOREQS) */
#define PLX_BDEV_MINORS    256                 /* minors 0..255 */
#define PLX_BDEV_IOCTL_MAX 4096                /* ioctl argument and result bytes */
#define PLX_BDEV_STATE_KEY "blk.opens"         /* the library's saved state (plx_service_state_*) */

/* What a minor is: its size in bytes, the sector size positions and sizes are multiples of,
 * and whether it may be written. */
typedef struct plx_bdev_part {
	uint64_t size;
	uint32_t sector_size; /* a power of two, at least 1 */
	bool read_only;
} plx_bdev_part;

typedef struct plx_blockdriver_ops {
	/* Required. Fills *part for a minor that exists and returns 0, or returns -ENXIO. */
	int (*part)(void *arg, uint32_t minor, plx_bdev_part *part);
	/* Required. Reads (write false) into or writes from the iovcnt elements of iov at byte
	 * position of minor. Called only with what the checks above let through. Returns the
	 * number of bytes transferred or a negative errno (-EIO). */
	ssize_t (*transfer)(void *arg, uint32_t minor, bool write, uint64_t position,
	                    const struct iovec *iov, int iovcnt, uint32_t flags);
	/* Optional: called before the library counts an open / a close; a negative errno refuses
	 * it. access is BDEV_R_BIT | BDEV_W_BIT. */
	int (*open)(void *arg, uint32_t minor, uint32_t access);
	int (*close)(void *arg, uint32_t minor);
	/* Optional: makes written data stable (BDEV_FLUSH). Default: nothing to do, 0. */
	int (*flush)(void *arg, uint32_t minor);
	/* Optional: an ioctl the library does not answer itself. in holds in_size argument bytes;
	 * the result goes to out (PLX_BDEV_IOCTL_MAX bytes) and its length to *out_size (0 on
	 * entry). Returns 0 or a negative errno. Without it such ioctls are -ENOTTY. */
	int (*ioctl)(void *arg, uint32_t minor, uint32_t request, const void *in, size_t in_size,
	             void *out, size_t *out_size);
	/* Optional: called once by plx_blockdriver_start, before the endpoint is published, with
	 * restarted true when RS restarted the driver (it may then restore its own state with
	 * plx_service_state_restore). A negative errno stops the driver. */
	int (*init)(void *arg, plx_service *svc, bool restarted);
	/* Optional: called every alarm_ms from the loop (MINIX's alarm). */
	void (*alarm)(void *arg);
	int alarm_ms;
	/* Optional: called by plx_blockdriver_destroy. */
	void (*cleanup)(void *arg);
} plx_blockdriver_ops;

typedef struct plx_blockdriver plx_blockdriver;

/* Runs a block driver on svc from start to end: makes a server on the service's endpoint with
 * the block handlers, calls plx_blockdriver_start, publishes the endpoint ("up"), announces
 * drv.blk.<label>, and runs the loop until IPC_SHUTDOWN, SIGTERM or SIGINT. ops and arg must
 * outlive the call. Returns 0 after a clean stop, or a negative errno with err saying which
 * step failed. */
/* A block driver's whole main (MINIX: sef_startup(); blockdriver_task(&tab)):
 * plx_service_main with desc (its run, if any, once the service has started), then
 * plx_blockdriver_task(ops, arg, svc, ...). Returns the exit code for main to return. */
int plx_blockdriver_main(const plx_blockdriver_ops *ops, void *arg, const plx_service_desc *desc,
                         int argc, char **argv);

int plx_blockdriver_task(const plx_blockdriver_ops *ops, void *arg, plx_service *svc, char *err,
                         size_t size);

/* Returns a block driver for ops and arg (which must outlive it), or NULL with errno EINVAL
 * (part or transfer missing) or ENOMEM. */
plx_blockdriver *plx_blockdriver_new(const plx_blockdriver_ops *ops, void *arg);
/* Detaches it from its server, calls ops->cleanup, frees it and sets *self_p to NULL. Accepts
 * NULL. The server must no longer run. */
void plx_blockdriver_destroy(plx_blockdriver **self_p);
/* Returns the BDEV handlers (static storage) and sets *n to their number, for a server's
 * table. They serve the block driver attached to the server they run in, and answer -ENXIO
 * when there is none. */
const plx_handler *plx_blockdriver_handlers(size_t *n);
/* Ties self to srv: the block handlers running in srv use it. Sets srv's tick when ops has an
 * alarm (a driver that needs its own tick calls plx_blockdriver_tick from it instead). Returns
 * 0, -EBUSY (srv has another block driver, or self another server) or -ENOSPC. */
int plx_blockdriver_attach(plx_blockdriver *self, plx_server *srv);
/* Takes the service's start: restores the open counts when svc says it was restarted, drops
 * any saved ones on a fresh start, then calls ops->init. Call before plx_service_publish.
 * Returns 0, ops->init's error, or a DS error from the restore. */
int plx_blockdriver_start(plx_blockdriver *self, plx_service *svc);
/* Publishes drv.blk.<label> = "up" in DS (overwriting the previous instance's). Call after
 * plx_service_publish. Returns 0 or a DS error. */
int plx_blockdriver_announce(plx_blockdriver *self, plx_service *svc);
/* Calls ops->alarm, if any. For a driver with a tick function of its own. */
void plx_blockdriver_tick(plx_blockdriver *self);
/* Returns the number of opens of minor not yet closed (0 for an unknown minor). */
uint32_t plx_blockdriver_open_count(const plx_blockdriver *self, uint32_t minor);

#endif
