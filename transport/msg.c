/*
 * msg.c — received messages and the queues that hold them back for plx_receive.
 *
 * Entry points: plx_msg_unpack, plx_msg_destroy; internal plx__msg_new, plx__queue_push,
 * plx__queue_pop, plx__queue_clear.
 */
#include <stdlib.h>

#include "internal.h"

plx_msg *plx__msg_new(void)
{
	plx_msg *msg = calloc(1, sizeof *msg + sizeof *msg->priv);
	if (!msg)
		return NULL;
	msg->priv = (struct plx_msg_private *)(msg + 1);
	zmq_msg_init(&msg->priv->envelope_frame);
	zmq_msg_init(&msg->priv->data_frame);
	atomic_init(&msg->priv->replied, false);
	return msg;
}

void plx_msg_destroy(plx_msg **msg_p)
{
	plx_msg *msg = msg_p ? *msg_p : NULL;
	if (!msg)
		return;
	zmq_msg_close(&msg->priv->envelope_frame);
	zmq_msg_close(&msg->priv->data_frame);
	if (msg->priv->envelope)
		plexus__envelope__free_unpacked(msg->priv->envelope, NULL);
	free(msg);
	*msg_p = NULL;
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
