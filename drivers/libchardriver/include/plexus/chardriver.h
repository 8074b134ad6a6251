/*
 * plexus/chardriver.h — the character driver library: MINIX's libchardriver for Plexus.
 *
 * Entry points:
 *   plx_chardriver_main (a plain character driver's whole main: MINIX's chardriver_task)
 *   plx_chardriver_task (the whole life of a plain character driver)
 *   plx_chardriver_new, plx_chardriver_destroy, plx_chardriver_handlers,
 *   plx_chardriver_attach, plx_chardriver_start, plx_chardriver_announce,
 *   plx_chardriver_tick, plx_chardriver_abort
 *   requests: plx_cdev_req_minor, plx_cdev_req_type, plx_cdev_req_position,
 *     plx_cdev_req_size, plx_cdev_req_flags, plx_cdev_req_id, plx_cdev_req_source,
 *     plx_cdev_req_data, plx_cdev_req_set_position, plx_cdev_req_suspend, plx_cdev_req_reply,
 *     plx_chardriver_next, plx_chardriver_pending
 *   select: plx_chardriver_ready
 *
 * A driver fills a plx_chardriver_ops with its callbacks and hands it to the library, which
 * answers the CDEV family (proto/cdev.proto, docs/protocol.md). Every request is checked at one
 * boundary before a callback sees it, in this order (docs/drivers.md, "Character drivers"):
 *   1. minor: 256 or above, or not known to ops->exists             -> -ENXIO
 *   2. shape: unknown access, flag or select bits, a transfer over PLX_CDEV_MAX_IO, an ioctl
 *      argument over PLX_CDEV_IOCTL_MAX                              -> -EINVAL
 *   3. data frame: a write's frame not exactly its size, a read, open, close, select or cancel
 *      with a frame                                                  -> -EBADMSG
 *   4. no callback for the request: read / write -EIO, ioctl -ENOTTY; a size of 0 is answered
 *      with count 0 without calling the driver.
 *
 * Replies that come later (MINIX's SUSPEND): a read, write or ioctl callback that cannot
 * answer now calls plx_cdev_req_suspend(req) — the library keeps the request in its list of
 * pending ones — and returns PLX_SUSPEND. Later, from any thread, the driver takes it back with
 * plx_chardriver_next (oldest first, per minor and type) and answers it with plx_cdev_req_reply.
 * CDEV_CANCEL takes a pending request off the list and answers it -EINTR (ops->cancel is told),
 * so a request the driver has taken back is the driver's alone, and one still on the list is
 * the library's: neither side ever answers a request the other one answered.
 *
 * Select: ops->select says which of the asked operations are ready now; when the caller asked
 * for CDEV_SEL_NOTIFY, the library remembers the others (caller, minor, id) and sends the
 * caller CDEV_SEL2_REPLY once plx_chardriver_ready reports one of them. Registration happens
 * before ops->select is asked, so readiness reported at any time in between is not lost (it may
 * be reported twice: callers treat CDEV_SEL2_REPLY as "select again").
 *
 * The library also answers heartbeats (IPC_PING, through the server library), tells the
 * driver whether it starts fresh or after a restart (ops->init), and announces
 * drv.chr.<label> = "up" in DS once the endpoint is published (VFS subscribes to drv.chr.*).
 *
 * One server, several libraries: a driver that serves block and character devices
 * (plexus-memory) concatenates plx_chardriver_handlers with plx_blockdriver_handlers into its
 * own table and attaches each library to that server; handlers find their driver through the
 * server they run in, never through plx_server_arg, which stays the driver's own.
 *
 * Threads: callbacks run in the server's loop thread, one at a time. plx_cdev_req_reply,
 * plx_chardriver_next, plx_chardriver_pending and plx_chardriver_ready may be called from any
 * thread. The library does not log.
 */
#ifndef PLEXUS_CHARDRIVER_H
#define PLEXUS_CHARDRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <plexus/server.h>
#include <plexus/service.h>

#define PLX_CDEV_MINORS      256                 /* minors 0..255 */
#define PLX_CDEV_MAX_IO      (16u * 1024 * 1024) /* bytes per READ or WRITE */
#define PLX_CDEV_IOCTL_MAX   4096                /* ioctl argument and result bytes */
#define PLX_CDEV_SELECT_MAX  4096                /* select registrations held at once */
#define PLX_CDEV_PENDING_MAX 4096                /* suspended requests held at once */

/* A READ, WRITE or IOCTL being handled; owned by the library until the driver takes it back
 * with plx_chardriver_next, then the driver's until plx_cdev_req_reply frees it. */
typedef struct plx_cdev_req plx_cdev_req;

typedef struct plx_chardriver_ops {
	/* Optional: false for a minor the driver does not have (the library answers -ENXIO).
	 * Without it every minor below PLX_CDEV_MINORS exists. */
	bool (*exists)(void *arg, uint32_t minor);
	/* Optional: open and close of a minor; a negative errno refuses. access: CDEV_R_BIT |
	 * CDEV_W_BIT | CDEV_NOCTTY. */
	int (*open)(void *arg, uint32_t minor, uint32_t access);
	int (*close)(void *arg, uint32_t minor);
	/* Read at most plx_cdev_req_size(req) bytes into buf and set *count; return 0 (count 0 is
	 * end of file), a negative errno, or PLX_SUSPEND after plx_cdev_req_suspend(req). */
	int (*read)(void *arg, plx_cdev_req *req, void *buf, size_t *count);
	/* Take up to plx_cdev_req_size(req) bytes of data and set *count to how many; return 0, a
	 * negative errno, or PLX_SUSPEND after plx_cdev_req_suspend(req) (data stays readable
	 * through plx_cdev_req_data until the request is answered). */
	int (*write)(void *arg, plx_cdev_req *req, const void *data, size_t *count);
	/* request with in_size argument bytes; the result goes to out (PLX_CDEV_IOCTL_MAX bytes)
	 * and its length to *out_size (0 on entry). Return 0, a negative errno (-ENOTTY for a
	 * request the driver does not know), or PLX_SUSPEND. */
	int (*ioctl)(void *arg, plx_cdev_req *req, uint32_t request, const void *in, size_t in_size,
	             void *out, size_t *out_size);
	/* Optional: which of ops (CDEV_SEL_RD | CDEV_SEL_WR | CDEV_SEL_ERR) are ready on minor now.
	 * Without it everything asked for is ready at once (a device that never blocks). */
	uint32_t (*select)(void *arg, uint32_t minor, uint32_t ops);
	/* Optional: told that the pending request (minor, id) was cancelled and answered -EINTR. */
	void (*cancel)(void *arg, uint32_t minor, uint64_t id);
	/* Optional: called once by plx_chardriver_start, before the endpoint is published, with
	 * restarted true when RS restarted the driver (it may restore its state with
	 * plx_service_state_restore). A negative errno stops the driver. */
	int (*init)(void *arg, plx_service *svc, bool restarted);
	/* Optional: called every alarm_ms from the loop (MINIX's alarm). */
	void (*alarm)(void *arg);
	int alarm_ms;
	/* Optional: called by plx_chardriver_destroy. */
	void (*cleanup)(void *arg);
} plx_chardriver_ops;

typedef struct plx_chardriver plx_chardriver;

/* Runs a character driver on svc from start to end: a server on the service's endpoint with
 * the character handlers, plx_chardriver_start, the endpoint published ("up"), drv.chr.<label>
 * announced, the loop until IPC_SHUTDOWN, SIGTERM or SIGINT, then plx_chardriver_abort. ops and
 * arg must outlive the call; *self_p, when not NULL, is set to the driver while it runs (for a
 * driver's own threads: plx_chardriver_next, plx_chardriver_ready) and to NULL when it returns.
 * Returns 0 after a clean stop, or a negative errno with err saying which step failed. */
/* A character driver's whole main (MINIX: sef_startup(); chardriver_task(&tab)):
 * plx_service_main with desc (its run, if any, once the service has started), then
 * plx_chardriver_task(ops, arg, svc, self_p, ...). Returns the exit code for main to return. */
int plx_chardriver_main(const plx_chardriver_ops *ops, void *arg, const plx_service_desc *desc,
                        plx_chardriver **self_p, int argc, char **argv);

int plx_chardriver_task(const plx_chardriver_ops *ops, void *arg, plx_service *svc,
                        plx_chardriver **self_p, char *err, size_t size);

/* Returns a character driver for ops and arg (which must outlive it), or NULL with errno ENOMEM
 * (or EINVAL for NULL ops). */
plx_chardriver *plx_chardriver_new(const plx_chardriver_ops *ops, void *arg);
/* Detaches it from its server, calls ops->cleanup, frees it and sets *self_p to NULL. Accepts
 * NULL. Call plx_chardriver_abort first if requests may be pending, and destroy the server
 * only afterwards when the driver's own threads (stopped by ops->cleanup) answer requests. */
void plx_chardriver_destroy(plx_chardriver **self_p);
/* Returns the CDEV handlers (static storage) and sets *n to their number, for a server's
 * table. They serve the character driver attached to the server they run in, and answer
 * -ENXIO when there is none. */
const plx_handler *plx_chardriver_handlers(size_t *n);
/* Ties self to srv. Sets srv's tick when ops has an alarm (a driver with a tick of its own
 * calls plx_chardriver_tick from it). Returns 0, -EBUSY (srv has another character driver, or
 * self another server) or -ENOSPC. */
int plx_chardriver_attach(plx_chardriver *self, plx_server *srv);
/* Calls ops->init with the service's fresh / restart flag. Call before plx_service_publish.
 * Returns 0 or ops->init's error. */
int plx_chardriver_start(plx_chardriver *self, plx_service *svc);
/* Publishes drv.chr.<label> = "up" in DS (overwriting the previous instance's). Call after
 * plx_service_publish. Returns 0 or a DS error. */
int plx_chardriver_announce(plx_chardriver *self, plx_service *svc);
/* Calls ops->alarm, if any. */
void plx_chardriver_tick(plx_chardriver *self);
/* Answers every request still pending with status (-EIO when the driver stops) and forgets
 * every select registration. Call once the loop has returned and before the server is
 * destroyed (the server requires every suspended call answered). */
void plx_chardriver_abort(plx_chardriver *self, int status);

/* ---- the request being handled ---- */

uint32_t plx_cdev_req_minor(const plx_cdev_req *req);
uint32_t plx_cdev_req_type(const plx_cdev_req *req); /* CDEV_READ, CDEV_WRITE or CDEV_IOCTL */
uint64_t plx_cdev_req_position(const plx_cdev_req *req);
uint64_t plx_cdev_req_size(const plx_cdev_req *req); /* bytes asked (READ) or given (WRITE) */
uint32_t plx_cdev_req_flags(const plx_cdev_req *req);
uint64_t plx_cdev_req_id(const plx_cdev_req *req);
/* The requester's endpoint (owned by req). */
const plx_name *plx_cdev_req_source(const plx_cdev_req *req);
/* A WRITE's bytes (plx_cdev_req_size of them) or an IOCTL's argument; NULL when none. Owned by
 * req. */
const void *plx_cdev_req_data(const plx_cdev_req *req, size_t *size);
/* Sets the position the reply reports (CdevReply.position; default: the request's). */
void plx_cdev_req_set_position(plx_cdev_req *req, uint64_t position);
/* Puts req on the pending list; the callback then returns PLX_SUSPEND. Returns 0, or -EAGAIN
 * when the request has CDEV_NONBLOCK, -EBUSY when PLX_CDEV_PENDING_MAX requests wait already,
 * -EIO once the driver stops (req stays the callback's: return that error). Call it
 * under the lock that guards the driver's own data, so that a thread adding data takes req
 * back with plx_chardriver_next and nothing is lost between the two. */
int plx_cdev_req_suspend(plx_cdev_req *req);
/* Answers a request the driver took back: result < 0 is the error, otherwise the count (a
 * READ's data and size, an IOCTL's result bytes; a WRITE has none). Frees req. Returns what
 * plx_call_reply returns (-PLX_EDEADSRCDST: the caller has gone). */
int plx_cdev_req_reply(plx_cdev_req *req, int64_t result, const void *data, size_t size);
/* Takes back the oldest pending request of type (CDEV_READ, CDEV_WRITE, CDEV_IOCTL; 0 any) on
 * minor, or returns NULL. The caller must answer it with plx_cdev_req_reply. Requests whose
 * caller the registry has declared dead (after plx_chardriver_start: the service's routes) are
 * passed over and dropped, so that input is not spent on a reader that has gone. */
plx_cdev_req *plx_chardriver_next(plx_chardriver *self, uint32_t minor, uint32_t type);
/* The number of pending requests of type (0 any) on minor. */
size_t plx_chardriver_pending(plx_chardriver *self, uint32_t minor, uint32_t type);

/* ---- select ---- */

/* Reports that ops (CDEV_SEL_RD | CDEV_SEL_WR | CDEV_SEL_ERR) became ready on minor: every
 * caller that selected one of them with CDEV_SEL_NOTIFY gets CDEV_SEL2_REPLY and its
 * registration ends (a dead caller's silently). Returns the number of reports sent. */
int plx_chardriver_ready(plx_chardriver *self, uint32_t minor, uint32_t ops);

#endif
