/*
 * msg.c — received messages and the queues that hold them back for plx_receive.
 *
 * Entry points: plx_msg_unpack, plx_msg_is_local, plx_msg_destroy; internal plx__msg_new,
 * plx__queue_push, plx__queue_pop, plx__queue_clear.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void *s_arena_alloc(void *data, size_t size)
{
	struct plx_msg_private *priv = data;
	size_t rounded = (size + 15) & ~(size_t)15;
	if (rounded <= priv->arena_size - priv->arena_used) {
		void *p = priv->arena + priv->arena_used;
		priv->arena_used += rounded;
		return p;
	}
	priv->arena_spills++;
	return malloc(size);
}

static void s_arena_free(void *data, void *p)
{
	struct plx_msg_private *priv = data;
	if ((uint8_t *)p < priv->arena || (uint8_t *)p >= priv->arena + priv->arena_size)
		free(p);
}

/* Returns a new, empty message whose allocator hands out its arena of arena_size bytes (0 for
 * none), or NULL. */
plx_msg *plx__msg_new(size_t arena_size)
{
	plx_msg *msg = malloc(sizeof *msg + sizeof *msg->priv + arena_size);
	if (!msg)
		return NULL;
	memset(msg, 0, sizeof *msg + offsetof(struct plx_msg_private, routing_id));
	struct plx_msg_private *priv = (struct plx_msg_private *)(msg + 1);
	msg->priv = priv;
	priv->arena_size = arena_size;
	priv->allocator = (ProtobufCAllocator){s_arena_alloc, s_arena_free, priv};
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
	if (msg->priv->envelope && msg->priv->arena_spills)
		plexus__envelope__free_unpacked(msg->priv->envelope, &msg->priv->allocator);
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
