/*
 * internal.h — private structures shared by the transport's source files.
 *
 * Entry points (internal): plx__head_for, plx__head_read, plx__port_get, plx__port_destroy,
 * plx__sock_for, plx__frames_send, plx__frames_parse, plx__waiter_add, plx__waiter_remove,
 * plx__trace_out, plx__trace_in, plx__now_us, plx__wall_us, plx__msg_new, plx__mailbox_address.
 */
#ifndef PLEXUS_TRANSPORT_INTERNAL_H
#define PLEXUS_TRANSPORT_INTERNAL_H

#include <poll.h>
#include <stddef.h>
#include <pthread.h>
#include <stdatomic.h>
#include <zmq.h>

#include <plexus/link_security.h>
#include <plexus/log.h>
#include <plexus/transport.h>

#include "plexus/proto/envelope.pb-c.h"

#define PLX_RECEIVE_BATCH  64          /* messages drained per receive round (notify coalescing) */
#define PLX_READ_AHEAD_US  1000        /* an owner busy this long drains its ROUTER (receive.c) */
#define PLX_FAST_WAIT_MS   5           /* a sendrec first blocks in ZeroMQ this long (see send.c) */
#define PLX_WAKE_TOKEN     16          /* bytes of the secret that marks a wake-up on the ROUTER */
#define PLX_KNOWN_KEYS     64          /* peer keys whose certificates an endpoint remembers */
#define PLX_REFUSED_LOGGED 16          /* peer keys an endpoint logs a refusal of once */
#define PLX_BATCH_MESSAGES 64          /* messages in one batch frame at most (batch.c) */
#define PLX_BATCH_BYTES    (32 * 1024) /* bytes of one batch frame at most */

typedef struct plx_route plx_route;
typedef struct plx_dead plx_dead;
typedef struct plx_waiter plx_waiter;
typedef struct plx_peerq plx_peerq;

/* Messages held to leave together in one batch frame (batch.c): an owner's asynsends sent
 * with more to one connection, or its replies to one peer. */
typedef struct plx_batch {
	uint8_t *buf; /* PLX_BATCH_BYTES, allocated when first needed */
	size_t len;   /* bytes written, the marker included; 0: nothing held */
	int count;    /* messages held */
} plx_batch;

/* One pending sendrec: woken through its eventfd when its destination is marked dead. */
struct plx_waiter {
	const plx_name *dst;
	int wake_fd;
	plx_waiter *next;
};

struct plx_ctx {
	void *zmq;
	int max_sockets; /* ZMQ_MAX_SOCKETS, from RLIMIT_NOFILE (context.c) */
	atomic_size_t max_data;
	atomic_size_t peer_bytes, peer_bytes_all; /* plx_ctx_set_peer_bytes */
	atomic_bool trace_on;
	plx_trace_fn *trace_fn;
	void *trace_arg;
	uint64_t id;                  /* unique in the process: a thread's route cache's key */
	pthread_rwlock_t routes_lock; /* guards routes and dead */
	atomic_uint_fast64_t routes_version; /* bumped by every change of routes or dead */
	plx_route *routes;                   /* uthash by label */
	plx_dead *dead;                      /* uthash by label: highest dead generation */
	pthread_rwlock_t miss_lock; /* guards miss_fn, miss_arg; read-held while one runs */
	plx_route_miss_fn *miss_fn;
	void *miss_arg;
	pthread_mutex_t waiters_lock;
	plx_waiter *waiters;
	/* link security (security.c): set once by plx_ctx_trust */
	bool secure;
	uint8_t trust[PLX_TRUST_PUBLIC];
	void *zap_sock;
	pthread_t zap_thread;
};

/* An outbound DEALER socket to one address, cached per thread. */
typedef struct plx_conn {
	char address[PLX_ADDRESS_MAX];
	void *sock;
	int fd;          /* ZMQ_FD, for poll(2) */
	int outstanding; /* owner only: asynsends whose replies have not arrived */
	int rcvtimeo;    /* the ZMQ_RCVTIMEO last set on sock (ZeroMQ's default: -1) */
	bool local;      /* address is in-process (inproc://) */
	uint64_t last_used;
	plx_batch held; /* owner only: asynsends sent with more, not yet out */
} plx_conn;

/* A thread's private state for one endpoint: its outbound connections and its wake-up
 * eventfd. */
typedef struct plx_port {
	plx_conn conns[PLX_PORT_CACHE_MAX];
	int nconns;
	uint64_t use_clock;
	int wake_fd;
	void *wake_sock; /* non-owners: DEALER to the owner's ROUTER, for wake-ups */
	bool owner;
	struct plx_port *next;
} plx_port;

/* What another thread hands to the owner: frames of a reply for the ROUTER ('R', routing id
 * first), frames of an asynsend for an owner DEALER ('A', with the address), or a notify
 * raised inside the process ('N', a message ready for the owner's queue). */
typedef struct plx_handover {
	char tag;
	char address[PLX_ADDRESS_MAX];
	zmq_msg_t frames[3];
	int nframes;
	plx_msg *msg;
	struct plx_handover *next;
} plx_handover;

/* Messages held back for plx_receive: asynsend replies met by a sendrec, coalesced notifies
 * and the rest of a drained batch. */
typedef struct plx_queue {
	plx_msg *head;
	plx_msg *tail;
} plx_queue;

struct plx_ep {
	plx_ctx *ctx;
	plx_name name;
	pthread_t owner;
	void *router; /* inbound; NULL until bound */
	char address[PLX_ADDRESS_MAX];
	int router_fd;         /* ZMQ_FD of the router */
	int router_timeout;    /* the ZMQ_RCVTIMEO last set on the router (owner only) */
	uint64_t handed_at_us; /* when plx_receive last returned a message (owner only) */
	bool inproc;           /* bound on inproc://: every peer is in this process */
	char wake_address[64]; /* inproc address the router also binds */
	plx_peerq *peerq;      /* bytes of replies queued per peer (peerq.c); NULL on inproc */
	uint8_t wake_token[PLX_WAKE_TOKEN];
	/* The mailbox: replies and asynsends handed over by other threads, and wake-ups. */
	pthread_mutex_t mailbox_lock;
	plx_handover *mailbox_head, *mailbox_tail;
	int mailbox_fd; /* eventfd, readable while the mailbox has news */
	atomic_bool mailbox_news;
	pthread_key_t port_key;
	pthread_mutex_t ports_lock;
	plx_port *ports;
	atomic_uint_fast64_t next_request_id;
	plx_queue queue;
	plx_queue notifies;
	/* replies the owner holds for one peer while that peer's next request waits (batch.c) */
	plx_batch replies;
	uint8_t replies_rid[256];
	size_t replies_rid_size;
	atomic_bool woken; /* plx_ep_wake was called: plx_receive returns -EINTR when idle */
	atomic_int holds;  /* threads inside plx_ep_wake & co.: plx_ep_destroy waits for 0 */
	/* link security (security.c): keys set before bind; the rest the owner's */
	bool keyed;
	plx_link_keys keys;
	char cert[PLX_CERT_MAX];
	atomic_uint_fast64_t refused;
	struct {
		char key[PLX_KEY_TEXT];
		plx_name who;
		bool user; /* a user certificate: cred is what it vouched for */
		plx_cred cred;
	} known[PLX_KNOWN_KEYS];
	int nknown;
	unsigned known_next;
	char logged[PLX_REFUSED_LOGGED][PLX_KEY_TEXT];
	int nlogged;
};

/* A request's bytes counted toward its peer (peerq.c) until the message is destroyed. */
typedef struct plx_held {
	plx_peerq *q; /* NULL: not counted */
	void *peer;
	size_t size;
} plx_held;

/* The routing and lifetime state of a received message. Its envelope is read in place
 * (envelope.c, or a local envelope): body and inline data point into envelope_frame, so a
 * message is one block of one size, from msg.c's per-thread pool. */
struct plx_msg_private {
	zmq_msg_t envelope_frame; /* the envelope's frame, or the batch frame it came in */
	size_t envelope_size;     /* the envelope's bytes in that frame */
	zmq_msg_t data_frame;
	bool has_data;
	size_t routing_id_size; /* 0: arrived on a DEALER (a reply or a mailbox message) */
	atomic_bool replied;
	bool local;          /* raised in this process by plx_ep_notify_local */
	bool local_envelope; /* came with a local envelope: answered with one */
	bool vouched_user; /* a user certificate proved the sender: vouched holds its credentials */
	plx_cred vouched;
	plx_msg *next; /* in a plx_queue */
	plx_held held; /* a request counted toward its peer (peerq.c) */
	/* not zeroed from here on */
	uint8_t routing_id[256]; /* routing_id_size bytes */
	/* the server library's call record for this request (server.c), which lives and dies
	 * with the message: no allocation of its own */
	_Alignas(max_align_t) uint8_t call[64];
};

/* The envelope of a message between endpoints of one process (inproc://), instead of the
 * protobuf one: these fields in this program's own layout, then body_size bytes of packed
 * body and inline_size bytes of inline data, in one frame (frames.c). */
typedef struct plx_local_envelope {
	uint8_t marker[8]; /* plx__local_marker: 0xff never starts a protobuf envelope */
	uint32_t version;
	uint32_t kind;
	uint32_t type;
	int32_t status;
	uint64_t request_id;
	uint64_t data_size;   /* of the data frame; 0 when the data is inline or none */
	uint32_t body_size;   /* bytes of packed body after this header */
	uint32_t inline_size; /* bytes of inline data after the body */
	plx_name source;
	plx_name destination;
} plx_local_envelope;

extern const uint8_t plx__local_marker[8];

/* A packed envelope head and its fields (head.c). At most PLX_HEAD_MAX bytes: 7 tags, 5 varints
 * of at most 10 bytes and 2 labels of at most 63 bytes with their length byte fit in 175. */
#define PLX_HEAD_MAX 192
typedef struct plx_head {
	uint32_t version;
	uint32_t kind;
	uint32_t type;
	plx_name source;
	plx_name destination;
	size_t size; /* 0: unused */
	uint8_t bytes[PLX_HEAD_MAX];
} plx_head;

/* A message about to go out: the envelope fields and the frames to send. */
typedef struct plx_outgoing {
	plx_kind kind;
	uint32_t type;
	int32_t status;
	uint64_t request_id;
	const plx_name *source;
	const plx_name *destination;
	const ProtobufCMessage *body;
	const uint8_t *packed_body; /* used instead of body when set */
	size_t packed_body_size;
	const void *data;
	size_t data_size;
	void (*data_free)(void *data, void *hint);
	void *data_hint;
	zmq_msg_t *data_frame; /* a received frame to send again, shared, instead of data */
	bool local;            /* the addressee is in this process (inproc://): the envelope
	                          goes as a local one, not protobuf-encoded (frames.c) */
	plx_peerq *queue;      /* a reply whose data frame is counted toward its peer (peerq.c) */
} plx_outgoing;

/* peerq.c: the table of an endpoint's ROUTER peers and the bytes held for them; a data
 * frame counted toward routing id rid (0, or -ENOMEM with out->data still the caller's); a
 * request from rid admitted and counted until plx_msg_destroy (which calls
 * plx__peerq_unhold), or refused: -ENOBUFS past the limits, -ENOMEM. */
plx_peerq *plx__peerq_new(void);
void plx__peerq_release(plx_peerq **q_p);
int plx__peerq_track(plx_peerq *q, const uint8_t *rid, size_t rid_size, const plx_outgoing *out,
                     zmq_msg_t *frame);
int plx__peerq_admit(plx_ep *ep, const uint8_t *rid, size_t rid_size, plx_msg *msg);
void plx__peerq_unhold(plx_msg *msg);

/* port.c */
plx_port *plx__port_get(plx_ep *ep);
void plx__port_destroy(plx_port *port);
void *plx__sock_for(plx_ep *ep, plx_port *port, const char *address);
plx_conn *plx__conn_for(plx_ep *ep, plx_port *port, const char *address);
plx_conn *plx__conn_find(plx_port *port, const char *address);

/* frames.c */
int plx__frames_build(plx_ctx *ctx, const void *routing_id, size_t routing_id_size,
                      const plx_outgoing *out, zmq_msg_t *frames, int *nframes);
int plx__frames_send(plx_ctx *ctx, void *sock, const void *routing_id, size_t routing_id_size,
                     const plx_outgoing *out, int flags);
int plx__frames_parse(plx_ctx *ctx, zmq_msg_t *frames, int nframes, bool local_peer,
                      plx_msg **msg_p);
int plx__frames_parse_slice(plx_ctx *ctx, zmq_msg_t *whole, size_t off, size_t size,
                            bool local_peer, plx_msg **msg_p);
int plx__frames_pack(const plx_outgoing *out, uint8_t *dst, size_t room, size_t *size);
int plx__frames_recv(void *sock, zmq_msg_t *frames, int max, int *nframes, int flags);
void plx__frames_close(zmq_msg_t *frames, int nframes);

/* batch.c: several messages in one frame (docs/protocol.md "Batches"). A message held in b,
 * its envelope's size in *size (0; -ENOSPC: b is full or out cannot be batched, out->data still the
 * caller's; else an error of plx__frames_pack); b sent as one frame on sock after routing id rid
 * when rid_size is not 0, and emptied (0 or a negative errno: what was held is gone either way);
 * whether a frame is a batch; a batch frame split into its messages, in order, each with the result
 * plx__frames_parse would give it (items[i].msg NULL when its envelope did not read), the
 * count returned, or -EBADMSG for a frame that is not a well-formed batch; frame closed. */
typedef struct plx_batch_item {
	plx_msg *msg;
	int rc;
} plx_batch_item;
int plx__batch_hold(plx_batch *b, const plx_outgoing *out, size_t *size);
int plx__batch_send(plx_batch *b, void *sock, const uint8_t *rid, size_t rid_size, int flags);
void plx__batch_free(plx_batch *b);
bool plx__batch_is(const zmq_msg_t *frame);
int plx__batch_parse(plx_ctx *ctx, zmq_msg_t *frame, bool local_peer,
                     plx_batch_item items[PLX_BATCH_MESSAGES]);
/* batch.c, what an owner holds: conn's batch sent (on failure its requests no longer count as
 * outstanding); the held replies sent; both for every connection of port, before the owner
 * waits. */
void plx__conn_flush(plx_conn *conn);
void plx__replies_flush(plx_ep *ep);
void plx__flush_held(plx_ep *ep, plx_port *port);

/* The fields of a protobuf envelope (plexus.Envelope); a read one's bytes fields point into
 * the packed bytes (envelope.c). */
typedef struct plx_wire {
	const uint8_t *head;
	size_t head_size;
	uint64_t request_id;
	int32_t status;
	const uint8_t *body;
	size_t body_size;
	uint64_t data_size;
	const uint8_t *inline_data;
	size_t inline_size;
} plx_wire;

/* envelope.c: the packed size of w, exactly; packs w into out (plx__wire_size bytes) and
 * returns the size; reads size bytes into *w, 0 or -EBADMSG (not an envelope). */
size_t plx__wire_size(const plx_wire *w);
size_t plx__wire_pack(const plx_wire *w, uint8_t *out);
int plx__wire_unpack(const uint8_t *bytes, size_t size, plx_wire *w);

/* head.c: the packed head for out, from this thread's cache or packed now (NULL: a label is
 * too long); the fields of a packed head, from this thread's cache or unpacked now (NULL: not
 * a head with valid labels, or longer than PLX_HEAD_MAX). Either stays valid until the thread
 * handles PLX_HEADS other heads. */
const plx_head *plx__head_for(const plx_outgoing *out);
const plx_head *plx__head_read(const uint8_t *bytes, size_t size);

/* route.c */
int plx__resolve(plx_ctx *ctx, const plx_name *dst, plx_name *resolved, char *address);
void plx__waiter_add(plx_ctx *ctx, plx_waiter *waiter);
void plx__waiter_remove(plx_ctx *ctx, plx_waiter *waiter);
void plx__routes_free(plx_ctx *ctx);

/* trace.c */
uint64_t plx__now_us(void);
/* The wall clock (CLOCK_REALTIME) in microseconds: a trace line's t=. */
int64_t plx__wall_us(void);
/* Traces out, sent with its wall clock read before it left (wall_us). */
void plx__trace_out(plx_ctx *ctx, const plx_outgoing *out, size_t size, int64_t wall_us);
void plx__trace_in(plx_ctx *ctx, const plx_msg *msg, uint64_t latency_us);
/* Writes one log line at level whatever the threshold (the caller decided); log.c. */
void plx__log_emit(plx_log_level level, const char *fmt, va_list ap);

/* msg.c */
plx_msg *plx__msg_new(void);
void plx__queue_push(plx_queue *q, plx_msg *msg);
plx_msg *plx__queue_pop(plx_queue *q);
void plx__queue_clear(plx_queue *q);

/* send.c */
int plx__mailbox_send(plx_ep *ep, char tag, const char *address, const void *routing_id,
                      size_t routing_id_size, const plx_outgoing *out);
void plx__mailbox_signal(plx_ep *ep, plx_port *port);
int plx__wait_fds(struct pollfd *fds, int n, int timeout_ms);
bool plx__sock_readable(void *sock);

/* receive.c */
void plx__ep_flush_mailbox(plx_ep *ep);

/* True in the endpoint's owner thread. */
static inline bool plx__is_owner(const plx_ep *ep)
{
	return pthread_equal(ep->owner, pthread_self());
}
/* The largest data frame ctx takes (plx_ctx_max_data). */
static inline size_t plx__max_data(const plx_ctx *ctx)
{
	return atomic_load(&ctx->max_data);
}

/* ---- address.c ---- */

/* True for an in-process address (inproc://): the peer is in this process. */
bool plx__address_local(const char *address);
/* True for the address kinds Plexus speaks: inproc://, ipc:// and tcp://, each with
 * something after the scheme (a secured endpoint's with its key first). */
bool plx__address_ok(const char *address);
/* A CURVE public key in Z85: 40 characters that decode. */
bool plx__key_ok(const char *key);
/* The ZeroMQ address inside address ("curve:KEY@tcp://..." gives "tcp://..." and KEY;
 * otherwise address itself and key ""). NULL for a malformed key part. */
const char *plx__address_plain(const char *address, char key[PLX_KEY_TEXT]);

/* ---- security.c ---- */

/* The ROUTER's CURVE server options (keyed endpoints of a secured context) and the ZAP
 * domain. Before bind. Returns 0 or -errno. */
int plx__secure_router(plx_ep *ep);
/* Trusts public_key as ctx's root: starts the ZAP handler (plx_ctx_trust, context.c, then
 * certifies the routes already known). Returns 0, -EALREADY or a negative errno. */
int plx__trust_start(plx_ctx *self, const uint8_t public_key[PLX_TRUST_PUBLIC]);
/* 0 when ctx trusts no root, when address carries no key, or when cert is from ctx's root
 * for label at generation (or every one) and the address's key; else -EACCES. */
int plx__cert_names(const plx_ctx *ctx, const char *cert, const char *label, uint64_t generation,
                    const char *address);
/* Makes ctx secure (plx_ctx_trust, its root set) under the route table's lock, and drops the
 * routes learned from the registry whose certificates do not prove their keys. */
void plx__routes_secure(plx_ctx *ctx);
/* A DEALER's CURVE client options towards server_key ("" none) with ep's keys and
 * certificate. Returns 0, -EACCES (a key missing on either side: a secured context without
 * a server key or its own, or a plain context towards a secured peer) or -errno. local: an
 * in-process peer, which needs none. */
int plx__secure_dealer(plx_ep *ep, void *sock, const char *server_key, bool local);
/* The name the certificate of frame's link vouches for (its User-Id and X-Plexus-Cert), and
 * for a user certificate its credentials (*cred). Returns 1 (a user's), 0 (a service's) or
 * -EACCES (counted and logged). */
int plx__vouched_key(plx_ep *ep, zmq_msg_t *frame, plx_name *who, plx_cred *cred);
/* True when who may send msg (same label; the generation too unless who's is 0); otherwise
 * counted and logged. */
bool plx__vouched_name(plx_ep *ep, const plx_name *who, const plx_msg *msg, zmq_msg_t *frame);
/* Joins the ZAP thread after zmq_ctx_term. */
void plx__secure_free(plx_ctx *ctx);
void plx__ep_hold(plx_ep *ep);
void plx__ep_release(plx_ep *ep);

#endif
