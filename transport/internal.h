/*
 * internal.h — private structures shared by the transport's source files.
 *
 * Entry points (internal): plx__port_get, plx__port_destroy, plx__sock_for, plx__frames_send,
 * plx__frames_parse, plx__waiter_add, plx__waiter_remove, plx__trace, plx__now_us,
 * plx__msg_new, plx__mailbox_address.
 */
#ifndef PLEXUS_TRANSPORT_INTERNAL_H
#define PLEXUS_TRANSPORT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <zmq.h>

#include <plexus/transport.h>

#include "plexus/proto/envelope.pb-c.h"

#define PLX_PORT_CACHE_MAX 32 /* outbound connections kept per thread and endpoint */
#define PLX_RECEIVE_BATCH  64 /* messages drained per receive round (notify coalescing) */

typedef struct plx_route plx_route;
typedef struct plx_dead plx_dead;
typedef struct plx_waiter plx_waiter;

/* One pending sendrec: woken through its eventfd when its destination is marked dead. */
struct plx_waiter {
	const plx_name *dst;
	int wake_fd;
	plx_waiter *next;
};

struct plx_ctx {
	void *zmq;
	atomic_size_t max_data;
	atomic_bool trace_on;
	plx_trace_fn *trace_fn;
	void *trace_arg;
	pthread_rwlock_t routes_lock; /* guards routes and dead */
	plx_route *routes;	      /* uthash by label */
	plx_dead *dead;		      /* uthash by label: highest dead generation */
	pthread_mutex_t waiters_lock;
	plx_waiter *waiters;
};

/* An outbound DEALER socket to one address, cached per thread. */
typedef struct plx_conn {
	char address[PLX_ADDRESS_MAX];
	void *sock;
	uint64_t last_used;
} plx_conn;

/* A thread's private state for one endpoint: its outbound connections, its wake-up eventfd,
 * and (for threads other than the owner) the PUSH socket into the owner's mailbox. */
typedef struct plx_port {
	plx_conn conns[PLX_PORT_CACHE_MAX];
	int nconns;
	uint64_t use_clock;
	int wake_fd;
	void *mailbox_push;
	bool owner;
	struct plx_port *next;
} plx_port;

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
	void *mailbox; /* PULL: replies and asynsends handed over by other threads */
	char mailbox_address[64];
	pthread_key_t port_key;
	pthread_mutex_t ports_lock;
	plx_port *ports;
	atomic_uint_fast64_t next_request_id;
	plx_queue queue;
	plx_queue notifies;
	bool woken; /* a wake-up arrived: plx_receive returns -EINTR when idle */
};

/* The routing and lifetime state of a received message. */
struct plx_msg_private {
	zmq_msg_t envelope_frame;
	zmq_msg_t data_frame;
	bool has_data;
	Plexus__Envelope *envelope;
	uint8_t routing_id[256];
	size_t routing_id_size; /* 0: arrived on a DEALER (a reply or a mailbox message) */
	atomic_bool replied;
	plx_msg *next; /* in a plx_queue */
};

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
} plx_outgoing;

/* port.c */
plx_port *plx__port_get(plx_ep *ep);
void plx__port_destroy(plx_port *port);
void *plx__sock_for(plx_ep *ep, plx_port *port, const char *address);

/* frames.c */
int plx__frames_send(plx_ctx *ctx, void *sock, const void *routing_id, size_t routing_id_size,
		     const plx_outgoing *out, int flags);
int plx__frames_parse(plx_ctx *ctx, zmq_msg_t *frames, int nframes, plx_msg **msg_p);
int plx__frames_recv(void *sock, zmq_msg_t *frames, int max, int *nframes);
void plx__frames_close(zmq_msg_t *frames, int nframes);

/* route.c */
int plx__resolve(plx_ctx *ctx, const plx_name *dst, plx_name *resolved, char *address);
void plx__waiter_add(plx_ctx *ctx, plx_waiter *waiter);
void plx__waiter_remove(plx_ctx *ctx, plx_waiter *waiter);
void plx__routes_free(plx_ctx *ctx);

/* trace.c */
uint64_t plx__now_us(void);
void plx__trace_out(plx_ctx *ctx, const plx_outgoing *out, size_t size);
void plx__trace_in(plx_ctx *ctx, const plx_msg *msg, uint64_t latency_us);

/* msg.c */
plx_msg *plx__msg_new(void);
void plx__queue_push(plx_queue *q, plx_msg *msg);
plx_msg *plx__queue_pop(plx_queue *q);
void plx__queue_clear(plx_queue *q);

/* send.c */
void *plx__mailbox_push(plx_ep *ep, plx_port *port);
int plx__mailbox_send(plx_ep *ep, plx_port *port, char tag, const void *to, size_t to_size,
		      const plx_outgoing *out);

/* endpoint.c */
bool plx__is_owner(const plx_ep *ep);

#endif
