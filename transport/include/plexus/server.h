/*
 * plexus/server.h — the server library: a message loop, a dispatch table, and the calls every
 * server answers the same way.
 *
 * Entry points: plx_server_new, plx_server_check, plx_server_destroy, plx_server_run,
 * plx_server_stop, plx_server_dispatch, plx_server_on_notify, plx_server_on_reply,
 * plx_server_on_tick, plx_server_arg, plx_server_ep, plx_server_attach, plx_server_attached,
 * plx_server_set_callers, plx_server_set_node, plx_server_set_worker, plx_server_set_health,
 * plx_server_health, plx_call_reply, plx_call_reply_owned.
 *
 * A server declares a table from message type to handler. Before a handler runs, the library
 * has checked the message (plexus/transport.h validates frames and envelope), checked the
 * sender against the handler's allow-list (-PLX_ECALLDENIED otherwise) and unpacked the body
 * with the handler's descriptor (-EBADMSG when it does not parse). Types no table entry
 * names are answered -ENOSYS. IPC_PING, IPC_SHUTDOWN and IPC_TRACE_LEVEL are answered by the
 * library itself unless the table overrides them (the last two only to RS, node kernels and
 * operators' commands). Allow-lists hold label patterns (fnmatch).
 *
 * A handler returns the status to reply with (0 or a negative error code), or PLX_SUSPEND when
 * it has answered with plx_call_reply or will do so later, from any thread. Every request is
 * answered exactly once; answering twice is a programming error and asserts.
 *
 * Where a handler runs is the table's to say, entry by entry: an entry flagged PLX_IN_LOOP
 * (0) runs its fn in the loop thread; an entry flagged PLX_ON_WORKER is, after the same checks and
 * the unpacking, handed with the call to the submit function the server gave once with
 * plx_server_set_worker, which queues it for one of the server's own worker threads. One
 * lookup per message: the library finds the entry, the submit function gets the entry.
 *
 * A worker entry's handler is the server's own type (VFS's vfs_handler_fn takes the vfs_req
 * its worker builds, MFS's mfs_do_fn the file system and an mfs_reply to fill), not
 * plx_handler_fn: the table carries it as an opaque function pointer (work, written
 * PLX_WORK(do_open)) that the server's submit function, in the same file as the table, casts
 * back to its type. The alternative, one plx_handler_fn adapter per call that builds the
 * worker's context, would put a second function beside every do_<call> and make the loop
 * thread build what only the worker needs; a single cast, paired with the table that made it,
 * keeps one entry per call and leaves the worker's context to the worker.
 *
 * A table names each entry's body descriptor; its family's .def names it too. plx_server_new
 * refuses a table whose entry for a registered family's type (plexus/family.h) unpacks another
 * body than the family's table says, so a server registers the families it serves before
 * making its server, and the two descriptions cannot drift apart unnoticed.
 */
#ifndef PLEXUS_SERVER_H
#define PLEXUS_SERVER_H

#include <plexus/transport.h>

#define PLX_SUSPEND 1 /* handler result: the reply comes through plx_call_reply */

typedef struct plx_server plx_server;

/* One request being handled. msg and body belong to the call and are freed when it is
 * answered. */
typedef struct plx_call {
	plx_server *server;
	plx_msg *msg;
	ProtobufCMessage *body; /* unpacked with the handler's descriptor, or NULL */
	struct plx_call_private *priv;
} plx_call;

typedef int plx_handler_fn(plx_call *call);

/* A worker entry's handler, of the server's own type; only its submit function calls it, cast
 * back. (void (*)(void) is the function pointer type any other converts to and from.) */
typedef void plx_work_fn(void);
#define PLX_WORK(f) ((plx_work_fn *)(f))

/* Where a handler runs (plx_handler.flags). */
#define PLX_IN_LOOP   0x0u /* in the loop thread: fn */
#define PLX_ON_WORKER 0x1u /* on a worker, through plx_server_set_worker's submit: work */

typedef struct plx_handler {
	uint32_t type;
	const char *name;   /* for logs and traces */
	plx_handler_fn *fn; /* runs in the loop thread; NULL for a PLX_ON_WORKER entry */
	const ProtobufCMessageDescriptor *body; /* NULL: the body is not looked at */
	const char *const *allowed; /* NULL-terminated label patterns; NULL: the server's callers */
	unsigned flags;             /* PLX_IN_LOOP or PLX_ON_WORKER */
	plx_work_fn *work;          /* PLX_ON_WORKER: the handler the submit function runs */
} plx_handler;

/* A table entry on one line: the message type's value and its name (for logs and traces), the
 * handler, the body to unpack (NULL: not looked at) and the allow-list (NULL: the server's
 * callers). PLX_LOOP runs fn in the loop thread; PLX_WORKER hands work, of the server's own
 * handler type, to its submit function. */
#define PLX_LOOP(TYPE, NAME, FN, BODY, ALLOWED)                                                    \
	{                                                                                          \
		.type = (TYPE), .name = (NAME), .fn = (FN), .body = (BODY), .allowed = (ALLOWED),  \
		.flags = PLX_IN_LOOP                                                               \
	}
#define PLX_WORKER(TYPE, NAME, WORK, BODY, ALLOWED)                                                \
	{                                                                                          \
		.type = (TYPE), .name = (NAME), .work = PLX_WORK(WORK), .body = (BODY),            \
		.allowed = (ALLOWED), .flags = PLX_ON_WORKER                                       \
	}

/* Queues call to run h->work on one of the server's workers (pool is what
 * plx_server_set_worker was given). Returns 0 when the call is taken: the worker answers it
 * with plx_call_reply, exactly once, and it may do so before this returns; or a negative errno
 * (the call not taken), which the library sends as the reply. Runs in the loop thread. */
typedef int plx_submit_fn(void *pool, plx_call *call, const plx_handler *h);

typedef void plx_message_fn(plx_server *server, plx_msg *msg);
typedef void plx_tick_fn(plx_server *server);

/* Returns a server answering on ep (which it does not own) with the n handlers of table,
 * which must outlive it. arg is handed back by plx_server_arg. NULL with errno on failure
 * (EINVAL for a table plx_server_check refuses). */
plx_server *plx_server_new(plx_ep *ep, const plx_handler *table, size_t n, void *arg);
/* Checks a table as plx_server_new does: no type twice, each entry naming the handler its
 * flags say (fn, or work for PLX_ON_WORKER), and each entry of a registered family's type
 * (plexus/family.h: plx_register_family, before the server is made) unpacking the body that
 * family's table says for it, or none (NULL: a handler that does not look at the body). Types of no
 * registered family are not checked. Returns 0, or -EINVAL with the index of the first entry
 * refused in *bad (may be NULL). */
int plx_server_check(const plx_handler *table, size_t n, size_t *bad);
/* Frees the server and sets *self_p to NULL. Accepts NULL. Calls suspended at that point
 * must have been answered. */
void plx_server_destroy(plx_server **self_p);
/* Runs the message loop in the endpoint's owner thread until plx_server_stop or IPC_SHUTDOWN;
 * replies other threads gave before the stop are sent before it returns. Returns 0, or a
 * negative errno when receiving fails. */
int plx_server_run(plx_server *self);
/* Makes plx_server_run return after the message it is handling. Thread-safe; the loop's
 * thread may destroy the server and its endpoint as soon as the loop returns (plx_ep_destroy
 * waits until this call is done with the endpoint). */
void plx_server_stop(plx_server *self);
/* Handles one received message as plx_server_run does; takes ownership of msg. */
void plx_server_dispatch(plx_server *self, plx_msg *msg);
/* Called for notifies and for asynsend replies; the callee owns msg. Default: drop. */
void plx_server_on_notify(plx_server *self, plx_message_fn *fn);
void plx_server_on_reply(plx_server *self, plx_message_fn *fn);
/* Called about every period_ms from the loop (timers, heartbeats). 0 turns it off. */
void plx_server_on_tick(plx_server *self, plx_tick_fn *fn, int period_ms);
void *plx_server_arg(const plx_server *self);
/* Slots where a library that adds handlers to a server (the driver libraries) keeps its state,
 * one per key (the address of something of the library's), so that its handlers find it from
 * call->server while plx_server_arg stays the server owner's. Set up before the loop runs; the
 * slots go with the server. Returns 0, -EBUSY (key already attached) or -ENOSPC. */
#define PLX_SERVER_SLOTS 4
int plx_server_attach(plx_server *self, const void *key, void *value);
/* Who may call the handlers that have no allow-list of their own (IPC_PING excepted, which
 * anyone may send): list is label patterns (fnmatch: "mfs-*"), separated by commas or spaces;
 * others are answered -PLX_ECALLDENIED. Without it, anyone may; IPC_SHUTDOWN and
 * IPC_TRACE_LEVEL then still only from "rs", "node.*" and "plexus-*". A sender's label is
 * what its link proved on secured links (plexus/link_security.h), what it claims otherwise.
 * Set-up only. Returns 0 or -EINVAL (more than 32 patterns, one too long). */
int plx_server_set_callers(plx_server *self, const char *list);
/* The node this server runs on: IPC_SHUTDOWN and IPC_TRACE_LEVEL are then taken from that
 * node's kernel ("node.NODE") only, not from every node kernel's label. Set-up only. Returns 0
 * or -EINVAL (an empty or too long name). */
int plx_server_set_node(plx_server *self, const char *node);

/* The function that hands PLX_ON_WORKER entries' calls to the server's workers, and the pool
 * it is given each time. Set-up only, before the loop runs. Without it such calls are answered
 * -ENOSYS. */
void plx_server_set_worker(plx_server *self, plx_submit_fn *submit, void *pool);

/* A server's own health check: returns true when it can serve; otherwise writes why into why
 * (NUL-terminated, at most size). Runs in the loop's thread at each IPC_PING: it must not
 * block. */
typedef bool plx_health_fn(plx_server *server, char *why, size_t size);
/* Sets the check IPC_PING's reply reports (IpcPing.trouble), besides the library's own: a
 * process using nine tenths of its descriptor limit (RLIMIT_NOFILE) cannot serve. RS restarts
 * a server whose replies say it cannot serve three heartbeats in a row (docs/reincarnation.md).
 * Set-up only. */
void plx_server_set_health(plx_server *self, plx_health_fn *fn);
/* The health IPC_PING reports now: true, or false with why filled. */
bool plx_server_health(plx_server *self, char *why, size_t size);

/* Returns what was attached under key, or NULL. Any thread. */
void *plx_server_attached(const plx_server *self, const void *key);
plx_ep *plx_server_ep(const plx_server *self);

/* Answers call with status and an optional body and data, and frees the call (unless its
 * handler is still running, in which case it is freed when the handler returns PLX_SUSPEND).
 * Thread-safe. Returns what plx_reply returns. */
int plx_call_reply(plx_call *call, int32_t status, const ProtobufCMessage *body, const void *data,
                   size_t data_size);
/* The same, taking data as plx_reply_owned does (zero copy). */
int plx_call_reply_owned(plx_call *call, int32_t status, const ProtobufCMessage *body, void *data,
                         size_t data_size, void (*data_free)(void *data, void *hint),
                         void *data_hint);

#endif
