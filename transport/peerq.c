/*
 * peerq.c — the bytes an endpoint holds for each peer: replies queued toward it and not yet
 * handed to the network, and requests it sent that the endpoint has read and not yet let go
 * of; so that one peer that stops reading, or sends faster than it is served, cannot make a
 * server hold gigabytes.
 *
 * Entry points (internal): plx__peerq_new, plx__peerq_release, plx__peerq_track,
 * plx__peerq_admit, plx__peerq_unhold.
 *
 * ZeroMQ bounds a peer's queues in messages (1,000 each way), not bytes: 40 unread replies of
 * 16 MiB each are 640 MB. Every data frame a ROUTER sends (a reply's data) is made here with a
 * free function, which ZeroMQ calls once the frame has left for the peer (written to the
 * socket, or dropped with the connection): the bytes are counted from the send to that call.
 * Every request the ROUTER delivers is counted (its frames and its block) from its reading
 * (receive.c) to plx_msg_destroy, wherever it waits meanwhile: in the endpoint's queue, in a
 * server's own queue of jobs, or suspended in a handler. A request from a peer whose count is
 * at the limit (plx_ctx_set_peer_bytes) is answered -ENOBUFS without being delivered
 * (receive.c), as is one from a peer holding anything while all peers together are at the
 * endpoint's limit; a peer holding nothing is always served. A peer is a connection, known by
 * its routing id.
 *
 * The free function and plx_msg_destroy run in any thread, possibly after the endpoint is
 * gone: they touch only atomics, and the table lives until the endpoint and every counted
 * frame and request have let go of it. Peers are added and, once nothing of theirs is held,
 * removed under the table's lock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "internal.h"

#define S_SWEEP_AT 256 /* peers known before the ones with nothing queued are forgotten */

typedef struct s_peer {
	UT_hash_handle hh;
	atomic_int_fast64_t bytes; /* held for it: replies queued toward it, its requests */
	atomic_uint inflight;      /* counted frames and requests not yet let go */
	bool told;                 /* its refusal logged (until a request finds nothing queued) */
	size_t rid_size;
	uint8_t rid[]; /* the key */
} s_peer;

struct plx_peerq {
	pthread_mutex_t lock; /* peers (the hash), told */
	s_peer *peers;
	size_t npeers;
	atomic_int_fast64_t total;
	atomic_int refs; /* the endpoint's and one per counted frame or request */
};

/* What a counted frame's free function needs; the frame's bytes follow when they are a copy. */
typedef struct s_frame {
	plx_peerq *q;
	s_peer *peer;
	size_t size;
	void (*data_free)(void *data, void *hint); /* the sender's, when the bytes are its own */
	void *data_hint;
	_Alignas(16) uint8_t copy[];
} s_frame;

plx_peerq *plx__peerq_new(void)
{
	plx_peerq *q = calloc(1, sizeof *q);
	if (!q)
		return NULL;
	pthread_mutex_init(&q->lock, NULL);
	atomic_init(&q->total, 0);
	atomic_init(&q->refs, 1);
	return q;
}

static void s_unref(plx_peerq *q)
{
	if (atomic_fetch_sub_explicit(&q->refs, 1, memory_order_acq_rel) != 1)
		return;
	s_peer *p, *tmp;
	HASH_ITER(hh, q->peers, p, tmp)
	{
		HASH_DEL(q->peers, p);
		free(p);
	}
	pthread_mutex_destroy(&q->lock);
	free(q);
}

void plx__peerq_release(plx_peerq **q_p)
{
	if (*q_p)
		s_unref(*q_p);
	*q_p = NULL;
}

/* Forgets the peers with nothing queued and no frame in flight. Under the lock. */
static void s_sweep(plx_peerq *q)
{
	s_peer *p, *tmp;
	HASH_ITER(hh, q->peers, p, tmp)
	{
		if (atomic_load_explicit(&p->inflight, memory_order_acquire) == 0) {
			HASH_DEL(q->peers, p);
			free(p);
			q->npeers--;
		}
	}
}

/* The peer of routing id rid, added when create. Under the lock. */
static s_peer *s_find(plx_peerq *q, const uint8_t *rid, size_t rid_size, bool create)
{
	s_peer *p = NULL;
	HASH_FIND(hh, q->peers, rid, rid_size, p);
	if (p || !create)
		return p;
	if (q->npeers >= S_SWEEP_AT)
		s_sweep(q);
	if (!(p = calloc(1, sizeof *p + rid_size)))
		return NULL;
	memcpy(p->rid, rid, rid_size);
	p->rid_size = rid_size;
	HASH_ADD(hh, q->peers, rid, rid_size, p);
	q->npeers++;
	return p;
}

/* Counts size bytes toward peer. Under the lock. */
static void s_add(plx_peerq *q, s_peer *peer, size_t size)
{
	atomic_fetch_add_explicit(&peer->bytes, (int_fast64_t)size, memory_order_relaxed);
	atomic_fetch_add_explicit(&peer->inflight, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&q->total, (int_fast64_t)size, memory_order_relaxed);
	atomic_fetch_add_explicit(&q->refs, 1, memory_order_relaxed);
}

/* Counts size bytes toward the peer of routing id rid. Returns the peer, or NULL (no
 * memory). */
static s_peer *s_count(plx_peerq *q, const uint8_t *rid, size_t rid_size, size_t size)
{
	pthread_mutex_lock(&q->lock);
	s_peer *peer = s_find(q, rid, rid_size, true);
	if (peer)
		s_add(q, peer, size);
	pthread_mutex_unlock(&q->lock);
	return peer;
}

/* Undoes s_count. Any thread; the peer is not touched after inflight. */
static void s_uncount(plx_peerq *q, s_peer *peer, size_t size)
{
	atomic_fetch_sub_explicit(&peer->bytes, (int_fast64_t)size, memory_order_relaxed);
	atomic_fetch_sub_explicit(&q->total, (int_fast64_t)size, memory_order_relaxed);
	atomic_fetch_sub_explicit(&peer->inflight, 1, memory_order_release);
	s_unref(q);
}

/* ZeroMQ let go of a counted frame. */
static void s_frame_free(void *data, void *hint)
{
	s_frame *f = hint;
	if (f->data_free)
		f->data_free(data, f->data_hint);
	s_uncount(f->q, f->peer, f->size);
	free(f);
}

int plx__peerq_track(plx_peerq *q, const uint8_t *rid, size_t rid_size, const plx_outgoing *out,
                     zmq_msg_t *frame)
{
	size_t size = out->data_size;
	s_frame *f = malloc(sizeof *f + (out->data_free ? 0 : size));
	s_peer *peer = f ? s_count(q, rid, rid_size, size) : NULL;
	if (!peer) {
		free(f);
		return -ENOMEM;
	}
	*f = (s_frame){.q = q, .peer = peer, .size = size};
	void *bytes = (void *)out->data;
	if (out->data_free) {
		f->data_free = out->data_free;
		f->data_hint = out->data_hint;
	} else {
		if (size)
			memcpy(f->copy, out->data, size);
		bytes = f->copy;
	}
	if (zmq_msg_init_data(frame, bytes, size, s_frame_free, f) != 0) {
		f->data_free = NULL; /* the sender's bytes stay the caller's to release */
		s_frame_free(bytes, f);
		return -ENOMEM;
	}
	return 0;
}

void plx__peerq_unhold(plx_msg *msg)
{
	plx_held *h = &msg->priv->held;
	if (h->q)
		s_uncount(h->q, h->peer, h->size);
	*h = (plx_held){0};
}

/* Whether a peer holding bytes, while all hold total, is past ep's limits. */
static bool s_over(const plx_ep *ep, int_fast64_t bytes, int_fast64_t total)
{
	return bytes > 0 && ((uint64_t)bytes >= atomic_load(&ep->ctx->peer_bytes) ||
	                     (uint64_t)total >= atomic_load(&ep->ctx->peer_bytes_all));
}

static void s_tell(const plx_ep *ep, const plx_name *who, int_fast64_t bytes, int_fast64_t total)
{
	plx_log(PLX_LOG_WARN,
	        "%s: %s/%llu makes it hold %lld bytes (replies it has not read, requests "
	        "not yet served; %lld for all peers): its requests are refused (ENOBUFS) until "
	        "that goes down",
	        ep->name.label, who->label, (unsigned long long)who->generation, (long long)bytes,
	        (long long)total);
}

int plx__peerq_admit(plx_ep *ep, const uint8_t *rid, size_t rid_size, plx_msg *msg)
{
	plx_peerq *q = ep->peerq;
	struct plx_msg_private *priv = msg->priv;
	/* the whole frame the envelope came in: a message from a batch keeps all of it alive, so a
	 * peer cannot hold a 32 KiB batch frame for the price of one small message */
	size_t size = sizeof *msg + sizeof *priv + zmq_msg_size(&priv->envelope_frame) +
	              zmq_msg_size(&priv->data_frame);
	pthread_mutex_lock(&q->lock);
	s_peer *p = s_find(q, rid, rid_size, true);
	int_fast64_t bytes = p ? atomic_load_explicit(&p->bytes, memory_order_relaxed) : 0;
	int_fast64_t total = atomic_load_explicit(&q->total, memory_order_relaxed);
	bool over = p && s_over(ep, bytes, total), tell = over && !p->told;
	if (p && (over || bytes == 0))
		p->told = over;
	if (p && !over)
		s_add(q, p, size);
	pthread_mutex_unlock(&q->lock);
	if (tell)
		s_tell(ep, &msg->source, bytes, total);
	if (!p || over)
		return p ? -ENOBUFS : -ENOMEM;
	priv->held = (plx_held){.q = q, .peer = p, .size = size};
	return 0;
}
