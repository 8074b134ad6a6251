/*
 * plexus/transport.h — Plexus IPC primitives over ZeroMQ.
 *
 * Entry points:
 *   plx_ctx_new, plx_ctx_destroy, plx_ctx_set_max_data, plx_ctx_max_data, plx_ctx_max_sockets,
 *   plx_ctx_set_peer_bytes, plx_ctx_set_route_miss
 *   plx_route_set, plx_route_remove, plx_route_lookup, plx_mark_dead, plx_is_dead
 *   plx_ep_new, plx_ep_bind, plx_ep_address, plx_ep_name, plx_ep_ctx, plx_ep_destroy,
 *   plx_ep_thread_done
 *   plx_sendrec, plx_asynsend, plx_notify, plx_ep_notify_local, plx_receive, plx_reply,
 *   plx_reply_owned,
 *   plx_ep_wake
 *   plx_msg_unpack, plx_msg_is_local, plx_msg_destroy
 *   plx_trace_set, plx_trace_enabled, plx_type_name, plx_register_types
 *
 * A context (one per process) holds the ZeroMQ context, the route table that maps a service
 * label to its current generation and address, the set of endpoints known to be dead, and the
 * trace switch. An endpoint is one service instance: a label and a generation, optionally bound
 * to an inbound address (inproc://, ipc:// or tcp://). Clients that only send need not bind.
 *
 * Primitives, after MINIX 3:
 *   sendrec   send a request and block the calling thread until its reply or the timeout;
 *   asynsend  queue a request and return; its reply arrives later through plx_receive;
 *   notify    a bodiless wake-up; notifies from one source that meet in the queue coalesce;
 *   receive   the next message for this endpoint: requests, notifies, asynsend replies;
 *   reply     answer a received request, exactly once, now or later, from any thread.
 * Bulk bytes travel in a separate data frame beside the envelope and are never
 * protobuf-encoded; a context-wide maximum bounds them (plexus/chunk.h splits larger ones).
 *
 * Errors (plexus/error.h): -ETIMEDOUT no reply in time; -PLX_EDEADSRCDST dead, unknown or stale
 * destination; -EBADMSG malformed message; -EMSGSIZE payload over the maximum; -EPROTO wrong
 * protocol version; -EAGAIN asynsend queue full; -EINVAL bad arguments.
 *
 * Threads: a context may be used from any number of threads. An endpoint belongs to the thread
 * that created it (its owner), which alone may call plx_receive. Any thread may call
 * plx_sendrec, plx_asynsend, plx_notify and plx_reply on it concurrently: each thread gets its
 * own outbound connections, so concurrent sendrec calls never wait for one another. Every
 * thread must have stopped using an endpoint before it is destroyed, and every endpoint before
 * its context is destroyed.
 */
#ifndef PLEXUS_TRANSPORT_H
#define PLEXUS_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include <plexus/error.h>

#define PLX_PROTOCOL_VERSION 4
#define PLX_LABEL_MAX        64  /* bytes, with the terminating NUL */
#define PLX_ADDRESS_MAX      256 /* bytes, with the terminating NUL */
#define PLX_ENVELOPE_MAX     (256 * 1024)
/* Data up to this size travels inside the envelope's frame rather than in a frame of its own
 * (docs/protocol.md); receivers accept either form. */
#define PLX_INLINE_DATA_MAX  256
#define PLX_DEFAULT_MAX_DATA (64u * 1024 * 1024)
#define PLX_FOREVER          (-1) /* a timeout that never expires */

typedef struct plx_ctx plx_ctx;
typedef struct plx_ep plx_ep;

/* An endpoint's name: a service label and the generation of one of its instances. */
typedef struct plx_name {
	char label[PLX_LABEL_MAX];
	uint64_t generation;
} plx_name;

typedef enum plx_kind {
	PLX_REQUEST = 1, /* expects exactly one reply */
	PLX_REPLY = 2,   /* answers the request with the same request_id */
	PLX_NOTIFY = 3,  /* bodiless wake-up */
} plx_kind;

/* A received message. Fields are read-only; the caller of plx_receive or plx_sendrec owns it
 * and frees it with plx_msg_destroy. body and data point into the message and live as long as
 * it does. */
typedef struct plx_msg {
	plx_kind kind;
	uint32_t type;
	int32_t status; /* replies: 0 or a negative error code */
	uint64_t request_id;
	plx_name source;
	plx_name destination;
	const uint8_t *body; /* the packed typed body; NULL when empty */
	size_t body_size;
	const uint8_t *data; /* the data frame; NULL when there is none */
	size_t data_size;
	struct plx_msg_private *priv;
} plx_msg;

/* An outgoing request. dst.generation 0 means "the generation the route table knows".
 * body may be NULL. data may be NULL with data_size 0. When data_free is set, the transport
 * takes ownership of data and calls data_free(data, data_hint) once ZeroMQ is done with it
 * (zero copy); otherwise data is copied and stays the caller's. */
typedef struct plx_request {
	plx_name dst;
	uint32_t type;
	const ProtobufCMessage *body;
	const void *data;
	size_t data_size;
	void (*data_free)(void *data, void *hint);
	void *data_hint;
	/* plx_asynsend from the owner thread: more messages follow at once, so this one may wait
	 * to leave with them in one frame (docs/transport.md "Batches"). It leaves, at the
	 * latest, with the owner's next message without more, or when the owner next waits
	 * (plx_receive with nothing queued, plx_sendrec, plx_ep_destroy). Ignored elsewhere. */
	bool more;
} plx_request;

/* ---- context ---- */

/* Returns a new context, or NULL when ZeroMQ cannot start (errno set). Tracing starts on when
 * the environment variable PLEXUS_TRACE is set to a non-empty value other than "0". */
plx_ctx *plx_ctx_new(void);
/* Destroys the context and sets *self_p to NULL. Accepts NULL and *self_p == NULL. */
void plx_ctx_destroy(plx_ctx **self_p);
/* Sets the largest data frame this context sends or accepts (default PLX_DEFAULT_MAX_DATA).
 * Affects endpoints bound afterwards. Returns 0 or -EINVAL for 0. */
int plx_ctx_set_max_data(plx_ctx *self, size_t bytes);
size_t plx_ctx_max_data(const plx_ctx *self);
/* The most ZeroMQ sockets the context opens (ZMQ_MAX_SOCKETS), sized when it was made from the
 * descriptors the process may open (RLIMIT_NOFILE): a connected socket holds two, 64 are left
 * for everything else; between 64 and 65535. A socket past it fails with EMFILE. */
int plx_ctx_max_sockets(const plx_ctx *self);
/* Bounds the bytes an endpoint holds for one peer (a connection to its ROUTER): the reply
 * data the peer has not read yet, and the requests it sent that the endpoint has read and not
 * yet let go of (queued, or in a handler's hands until plx_msg_destroy). A request from a peer
 * with per_peer bytes or more held is answered -ENOBUFS without being delivered, and so is one
 * from a peer holding any while all peers together hold all bytes or more. A peer holding
 * nothing is always served. Defaults PLX_DEFAULT_PEER_BYTES and _ALL. Returns 0 or -EINVAL
 * for 0. */
int plx_ctx_set_peer_bytes(plx_ctx *self, size_t per_peer, size_t all);
#define PLX_DEFAULT_PEER_BYTES     (64u * 1024 * 1024)
#define PLX_DEFAULT_PEER_BYTES_ALL (256u * 1024 * 1024)
#define PLX_PORT_CACHE_MAX         32 /* outbound connections kept per thread and endpoint */

/* ---- routes and dead endpoints ---- */

/* Records that label's current instance is generation at address. Replacing an entry of
 * another generation marks the old generation dead (requests pending on it fail at once).
 * Returns 0, or -EINVAL for an empty or too long label, an address that is not inproc://,
 * ipc:// or tcp://, or generation 0. */
int plx_route_set(plx_ctx *self, const char *label, uint64_t generation, const char *address);
/* Forgets label's route and marks its instance dead. Returns 0 or -ENOENT. */
int plx_route_remove(plx_ctx *self, const char *label);
/* What the table asks when it has no route for a label (a lookup or a send): fn(arg, label)
 * may fetch the label's record and plx_route_set it; the caller then looks again. It runs on
 * the asking thread with no lock held, so it may block (a registry round trip); it should be
 * cheap for a label it already follows. plx_ctx_set_route_miss(ctx, NULL, NULL) removes it
 * and returns once no call of the previous one is running. */
typedef void plx_route_miss_fn(void *arg, const char *label);
void plx_ctx_set_route_miss(plx_ctx *self, plx_route_miss_fn *fn, void *arg);
/* Looks label up in the local table (after asking the route-miss function once, when one is
 * set and the label has no route). Copies the address into address (size bytes) and sets
 * *generation. Either output may be NULL. Returns 0, -ENOENT or -ENAMETOOLONG. */
int plx_route_lookup(plx_ctx *self, const char *label, uint64_t *generation, char *address,
                     size_t size);
/* Marks every generation of label up to and including generation dead: requests pending on
 * them fail at once with -PLX_EDEADSRCDST and new ones fail without being sent. */
void plx_mark_dead(plx_ctx *self, const char *label, uint64_t generation);
/* Returns true when plx_mark_dead (or a route change) declared this instance dead. */
bool plx_is_dead(plx_ctx *self, const char *label, uint64_t generation);
/* The same for an instance that called this process (a caller, whose label it may never have
 * sent to): a label the table knows nothing of is asked of the route-miss function first, so
 * that the registry says whether it died (its record gone, or a newer generation there), and
 * is followed from then on. May block on the registry the first time per label. */
bool plx_is_gone(plx_ctx *self, const char *label, uint64_t generation);
/* What plx_is_gone answers from what the table already holds, without asking the registry:
 * never blocks, so it may be called under a caller's lock once plx_is_gone has been asked
 * for the label outside it (which starts following it). */
bool plx_is_known_gone(plx_ctx *self, const char *label, uint64_t generation);

/* ---- endpoints ---- */

/* Returns a new endpoint named label/generation, owned by the calling thread, or NULL with
 * errno EINVAL (bad label) or ENOMEM. The context must outlive it. */
plx_ep *plx_ep_new(plx_ctx *ctx, const char *label, uint64_t generation);
/* Binds the endpoint's inbound socket. "tcp://127.0.0.1:*" picks a free port; the bound
 * address is then available from plx_ep_address. One bind per endpoint. Returns 0 or a
 * negative errno (-EADDRINUSE, -EINVAL for an unsupported scheme, -EALREADY). */
int plx_ep_bind(plx_ep *self, const char *address);
/* Returns the bound address (with the real port), or NULL when unbound. Owned by self. */
const char *plx_ep_address(const plx_ep *self);
/* Returns the endpoint's name. Owned by self. */
const plx_name *plx_ep_name(const plx_ep *self);
/* Returns the context the endpoint was made in (its route table). */
plx_ctx *plx_ep_ctx(const plx_ep *self);
/* Closes every socket of the endpoint, frees it and sets *self_p to NULL. Accepts NULL. */
void plx_ep_destroy(plx_ep **self_p);
/* Closes the calling thread's own connections through ep (each thread that sends keeps up to
 * PLX_PORT_CACHE_MAX; docs/transport.md): for a thread that ends before the endpoint does,
 * with no asynsend reply outstanding. Sending again later makes new ones. */
void plx_ep_thread_done(plx_ep *ep);

/* ---- primitives ---- */

/* Sends req and waits up to timeout_ms (PLX_FOREVER: no limit) for its reply. Blocks only the
 * calling thread. On a reply, sets *reply (caller owns it) and returns its status, which may
 * itself be negative (the server's answer). Without a reply returns -ETIMEDOUT,
 * -PLX_EDEADSRCDST (unknown label, destination dead before or while waiting), -EMSGSIZE,
 * -EINVAL, leaving *reply untouched. */
int plx_sendrec(plx_ep *self, const plx_request *req, plx_msg **reply, int timeout_ms);
/* Queues req and returns without waiting. Its reply, if the receiver sends one, arrives through
 * plx_receive as a PLX_REPLY message with the same request id, which is stored in *request_id
 * (may be NULL). Returns 0, -EAGAIN (queue full), -PLX_EDEADSRCDST, -EMSGSIZE or -EINVAL. */
int plx_asynsend(plx_ep *self, const plx_request *req, uint64_t *request_id);
/* Sends a bodiless notify of the given type to dst. Returns 0 or as plx_asynsend. */
int plx_notify(plx_ep *self, const plx_name *dst, uint32_t type);
/* Delivers a notify of the given type from source into this endpoint's own queue, as if it
 * had come over the wire: the way an event source inside the process (a registry
 * subscription, a timer thread) reaches the owner's message loop. Thread-safe; coalesces with
 * pending notifies like any other. Returns 0, -EINVAL or -ENOMEM. */
int plx_ep_notify_local(plx_ep *self, const plx_name *source, uint32_t type);
/* Waits up to timeout_ms for the next message: a request, a notify, or the reply to an
 * asynsend. Only the owner thread may call it. Malformed input is answered (or dropped) here
 * and never returned. Sets *msg (caller owns it) and returns 0, or returns -ETIMEDOUT, or
 * -EINTR when plx_ep_wake was called and no message is waiting. */
int plx_receive(plx_ep *self, plx_msg **msg, int timeout_ms);
/* Makes the owner's plx_receive return -EINTR if it has nothing else to return: a way for
 * other threads to get the owner's attention (finished work). Thread-safe; plx_ep_destroy
 * waits until a wake in progress is done. To end a loop after which the owner destroys the
 * endpoint, use plx_server_stop, which sets its flag and wakes in a safe order.
 * Returns 0 or a negative errno. */
int plx_ep_wake(plx_ep *self);
/* Answers request req exactly once with status and an optional body and data. May be called
 * from any thread, at any time before req is destroyed. Returns 0, -PLX_EDEADSRCDST (the
 * requester is gone), -EMSGSIZE, or -EINVAL (req is no request or was answered already). */
int plx_reply(plx_ep *self, plx_msg *req, int32_t status, const ProtobufCMessage *body,
              const void *data, size_t data_size);
/* The same, taking data (zero copy): data_free(data, data_hint) is called once ZeroMQ is done
 * with it, or at once when the reply cannot be sent (whatever this returns). */
int plx_reply_owned(plx_ep *self, plx_msg *req, int32_t status, const ProtobufCMessage *body,
                    void *data, size_t data_size, void (*data_free)(void *data, void *hint),
                    void *data_hint);

/* ---- messages ---- */

/* Unpacks msg's body as descriptor's type. Returns a message the caller frees with
 * protobuf_c_message_free_unpacked, or NULL when the body does not parse (errno EBADMSG). An
 * empty body unpacks to the type's defaults. */
ProtobufCMessage *plx_msg_unpack(const plx_msg *msg, const ProtobufCMessageDescriptor *descriptor);
/* Returns true when msg was raised inside this process with plx_ep_notify_local, false when
 * it came over a socket. A peer can claim any source label; only this tells them apart. */
bool plx_msg_is_local(const plx_msg *msg);
/* Frees the message and sets *msg_p to NULL. Accepts NULL. */
void plx_msg_destroy(plx_msg **msg_p);

/* ---- tracing ---- */

/* One traced message. direction is '>' for sent, '<' for received. latency_us is the round
 * trip for a reply received by sendrec, otherwise 0. wall_us is this host's wall clock
 * (CLOCK_REALTIME, microseconds) read before the message left or after it arrived. */
typedef struct plx_trace_event {
	char direction;
	plx_kind kind;
	uint32_t type;
	int32_t status;
	uint64_t request_id;
	const plx_name *source;
	const plx_name *destination;
	size_t size; /* envelope plus data bytes */
	uint64_t latency_us;
	int64_t wall_us;
} plx_trace_event;

typedef void plx_trace_fn(const plx_trace_event *event, void *arg);

/* Turns tracing on (fn receives every message sent or received through the context; NULL
 * writes one line per message to standard error) or off (enabled false). When off, a message
 * costs one relaxed atomic load. */
void plx_trace_set(plx_ctx *self, bool enabled, plx_trace_fn *fn, void *arg);
bool plx_trace_enabled(const plx_ctx *self);
/* Makes the names of a message family's enum known to plx_type_name. Thread-safe; the IPC
 * family is known from the start. Returns 0 or -ENOSPC. */
int plx_register_types(const ProtobufCEnumDescriptor *family);
/* Returns the name of a message type ("IPC_PING"), or "?" when no family names it. */
const char *plx_type_name(uint32_t type);

#endif
