/*
 * peerq.c — the bytes of replies an endpoint has queued toward each peer and not yet handed
 * to the network, so that one peer that stops reading cannot make a server hold gigabytes.
 *
 * Entry points (internal): plx__peerq_new, plx__peerq_release, plx__peerq_track,
 * plx__peerq_over.
 *
 * ZeroMQ bounds a peer's queue in messages (SNDHWM, 1,000), not bytes: 40 unread replies of
 * 16 MiB each are 640 MB. Every data frame a ROUTER sends (a reply's data) is made here with a
 * free function, which ZeroMQ calls once the frame has left for the peer (written to the
 * socket, or dropped with the connection): the bytes are counted from the send to that call.
 * A request from a peer whose count is at the limit (plx_ctx_set_reply_queue) is answered
 * -ENOBUFS without being delivered (receive.c), as is one from a peer with anything queued
 * while all peers together are at the endpoint's limit; a peer with nothing queued is always
 * served. A peer is a connection, known by its routing id.
 *
 * The free function runs in ZeroMQ's I/O thread, possibly after the endpoint is gone: it
 * touches only atomics, and the table lives until the endpoint and every counted frame have
 * let go of it. Peers are added and, once nothing of theirs is queued, removed under the
 * table's lock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "internal.h"

#define S_SWEEP_AT 256 /* peers known before the ones with nothing queued are forgotten */

typedef struct s_peer {
	UT_hash_handle hh;
	atomic_int_fast64_t bytes; /* queued toward it */
	atomic_uint inflight;      /* counted frames not yet let go */
	bool told;                 /* its refusal logged (until a request finds nothing queued) */
	size_t rid_size;
	uint8_t rid[]; /* the key */
} s_peer;

struct plx_peerq {
	pthread_mutex_t lock; /* peers (the hash), told */
	s_peer *peers;
	size_t npeers;
	atomic_int_fast64_t total;
	atomic_int refs; /* the endpoint's and one per counted frame */
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

/* ZeroMQ let go of a counted frame. Any thread; the peer is not touched after inflight. */
static void s_frame_free(void *data, void *hint)
{
	s_frame *f = hint;
	plx_peerq *q = f->q;
	atomic_fetch_sub_explicit(&f->peer->bytes, (int_fast64_t)f->size, memory_order_relaxed);
	atomic_fetch_sub_explicit(&q->total, (int_fast64_t)f->size, memory_order_relaxed);
	atomic_fetch_sub_explicit(&f->peer->inflight, 1, memory_order_release);
	if (f->data_free)
		f->data_free(data, f->data_hint);
	free(f);
	s_unref(q);
}

int plx__peerq_track(plx_peerq *q, const uint8_t *rid, size_t rid_size, const plx_outgoing *out,
                     zmq_msg_t *frame)
{
	size_t size = out->data_size;
	s_frame *f = malloc(sizeof *f + (out->data_free ? 0 : size));
	pthread_mutex_lock(&q->lock);
	s_peer *peer = f ? s_find(q, rid, rid_size, true) : NULL;
	if (peer) {
		atomic_fetch_add_explicit(&peer->bytes, (int_fast64_t)size, memory_order_relaxed);
		atomic_fetch_add_explicit(&peer->inflight, 1, memory_order_relaxed);
	}
	pthread_mutex_unlock(&q->lock);
	if (!peer) {
		free(f);
		return -ENOMEM;
	}
	atomic_fetch_add_explicit(&q->total, (int_fast64_t)size, memory_order_relaxed);
	atomic_fetch_add_explicit(&q->refs, 1, memory_order_relaxed);
	*f = (s_frame){.q = q, .peer = peer, .size = size};
	void *bytes = (void *)out->data;
	if (out->data_free) {
		f->data_free = out->data_free;
		f->data_hint = out->data_hint;
	} else {
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

bool plx__peerq_over(plx_ep *ep, const uint8_t *rid, size_t rid_size, const plx_name *who)
{
	plx_peerq *q = ep->peerq;
	if (!q)
		return false;
	pthread_mutex_lock(&q->lock);
	s_peer *p = s_find(q, rid, rid_size, false);
	int_fast64_t bytes = p ? atomic_load_explicit(&p->bytes, memory_order_relaxed) : 0;
	int_fast64_t total = atomic_load_explicit(&q->total, memory_order_relaxed);
	bool over = bytes > 0 && ((uint64_t)bytes >= atomic_load(&ep->ctx->reply_queue_peer) ||
	                          (uint64_t)total >= atomic_load(&ep->ctx->reply_queue_all));
	bool tell = over && !p->told;
	if (p && (over || bytes == 0))
		p->told = over;
	pthread_mutex_unlock(&q->lock);
	if (tell)
		fprintf(
		    stderr,
		    "plexus: %s: %s/%llu has %lld bytes of replies it has not read (%lld for all "
		    "peers): its requests are refused (ENOBUFS) until it reads them\n",
		    ep->name.label, who->label, (unsigned long long)who->generation,
		    (long long)bytes, (long long)total);
	return over;
}
