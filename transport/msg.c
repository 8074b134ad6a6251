/*
 * msg.c — received messages and the queues that hold them back for plx_receive.
 *
 * Entry points: plx_msg_unpack, plx_msg_is_local, plx_msg_destroy; internal plx__msg_new,
 * plx__queue_push, plx__queue_pop, plx__queue_clear.
 *
 * A message is one block of one size: its envelope is read in place (frames.c), so it needs no
 * room of its own. Blocks come from a small per-thread pool: a busy endpoint makes and
 * destroys two messages per round trip, often 64 at a time (a drained round, or one batch
 * frame; a client with a window of asynsends holds several), more than malloc's per-thread
 * cache holds, and its slower path cost about 300 instructions per message
 * (docs/performance.md). A destroyed block goes back to the pool of the thread that destroys
 * it, up to S_POOL_MAX blocks; the rest go to free(). The pool is emptied when its thread
 * ends. Under AddressSanitizer there is no pool, so that a use
 * after destroy is still caught.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define S_POOLED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define S_POOLED 0
#endif
#endif
#ifndef S_POOLED
#define S_POOLED 1
#endif

#define S_POOL_MAX 256 /* blocks a thread keeps: four batch frames of messages */

/* A thread's free blocks, linked through their first bytes. */
typedef struct s_pool {
	void *head;
	int n;
	bool registered; /* s_pool_key set, so that the thread's end empties the pool */
} s_pool;

static _Thread_local s_pool s_free_blocks;
static pthread_key_t s_pool_key;
static pthread_once_t s_pool_once = PTHREAD_ONCE_INIT;

static void s_pool_drain(void *arg)
{
	s_pool *pool = arg;
	while (pool->head) {
		void *next = *(void **)pool->head;
		free(pool->head);
		pool->head = next;
	}
	pool->n = 0;
	pool->registered =
	    false; /* a message destroyed later in the thread's end registers again */
}

static void s_pool_init(void)
{
	if (pthread_key_create(&s_pool_key, s_pool_drain) != 0)
		s_pool_key = (pthread_key_t)-1;
}

/* A message's block from this thread's pool, or NULL when it is empty. */
static void *s_pool_take(void)
{
	s_pool *pool = &s_free_blocks;
	void *block = pool->head;
	if (block) {
		pool->head = *(void **)block;
		pool->n--;
	}
	return block;
}

/* Keeps block for this thread's next message; false when the pool is full (or cannot be
 * emptied at the thread's end), and the caller frees it. */
static bool s_pool_put(void *block)
{
	s_pool *pool = &s_free_blocks;
	if (!S_POOLED || pool->n >= S_POOL_MAX)
		return false;
	if (!pool->registered) {
		pthread_once(&s_pool_once, s_pool_init);
		if (s_pool_key == (pthread_key_t)-1 || pthread_setspecific(s_pool_key, pool) != 0)
			return false;
		pool->registered = true;
	}
	*(void **)block = pool->head;
	pool->head = block;
	pool->n++;
	return true;
}

/* Returns a new, empty message, or NULL. */
plx_msg *plx__msg_new(void)
{
	plx_msg *msg = s_pool_take();
	if (!msg && !(msg = malloc(sizeof *msg + sizeof *msg->priv)))
		return NULL;
	memset(msg, 0, sizeof *msg + offsetof(struct plx_msg_private, routing_id));
	struct plx_msg_private *priv = (struct plx_msg_private *)(msg + 1);
	msg->priv = priv;
	zmq_msg_init(&priv->envelope_frame);
	zmq_msg_init(&priv->data_frame);
	atomic_init(&priv->replied, false);
	return msg;
}

void plx_msg_destroy(plx_msg **msg_p)
{
	plx_msg *msg = msg_p ? *msg_p : NULL;
	if (!msg)
		return;
	plx__peerq_unhold(msg);
	zmq_msg_close(&msg->priv->envelope_frame);
	zmq_msg_close(&msg->priv->data_frame);
	if (!s_pool_put(msg))
		free(msg);
	*msg_p = NULL;
}

bool plx_msg_is_local(const plx_msg *msg)
{
	return msg->priv->local;
}

ProtobufCMessage *plx_msg_unpack(const plx_msg *msg, const ProtobufCMessageDescriptor *descriptor)
{
	static const uint8_t empty[1];
	ProtobufCMessage *body = protobuf_c_message_unpack(descriptor, NULL, msg->body_size,
	                                                   msg->body ? msg->body : empty);
	if (!body)
		errno = EBADMSG;
	return body;
}

void plx__queue_push(plx_queue *q, plx_msg *msg)
{
	msg->priv->next = NULL;
	if (q->tail)
		q->tail->priv->next = msg;
	else
		q->head = msg;
	q->tail = msg;
}

plx_msg *plx__queue_pop(plx_queue *q)
{
	plx_msg *msg = q->head;
	if (msg) {
		q->head = msg->priv->next;
		if (!q->head)
			q->tail = NULL;
		msg->priv->next = NULL;
	}
	return msg;
}

void plx__queue_clear(plx_queue *q)
{
	plx_msg *msg;
	while ((msg = plx__queue_pop(q)))
		plx_msg_destroy(&msg);
}
