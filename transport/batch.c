/*
 * batch.c — several messages in one ZeroMQ frame (docs/protocol.md "Batches").
 *
 * Entry points (internal): plx__batch_hold, plx__batch_send, plx__batch_free, plx__batch_is,
 * plx__batch_parse, plx__conn_flush, plx__replies_flush, plx__flush_held.
 *
 * ZeroMQ's cost is per frame: a send queues it through a pipe to an I/O thread, a receive
 * takes it back, each with its own bookkeeping. An owner that sends many small messages to
 * one peer at once (asynsends with more, replies to a peer whose next requests already wait)
 * holds them here and sends them as one frame: the marker, then for each message its length
 * (4 bytes, little-endian) and its envelope as it would have gone alone (protobuf, or local
 * between endpoints of one process). Only messages without a data frame of their own are
 * batched. The receiver checks the whole layout before it takes any message out, then reads
 * each envelope in place: every message keeps a share of the frame (zmq_msg_copy counts
 * references), so nothing is copied.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* 0xfe never starts a protobuf envelope (wire type 6 does not exist), nor a local one. */
static const uint8_t s_marker[8] = {0xfe, 'p', 'l', 'x', 'b', 'a', 't', 0};

#define S_LEN 4 /* a message's length before it */

static void s_put_len(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < S_LEN; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t s_get_len(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 0; i < S_LEN; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

int plx__batch_hold(plx_batch *b, const plx_outgoing *out, size_t *size)
{
	if (b->count == PLX_BATCH_MESSAGES)
		return -ENOSPC;
	if (!b->buf && !(b->buf = malloc(PLX_BATCH_BYTES)))
		return -ENOSPC; /* sent alone instead */
	if (b->len == 0) {
		memcpy(b->buf, s_marker, sizeof s_marker);
		b->len = sizeof s_marker;
	}
	size_t room = PLX_BATCH_BYTES - b->len - S_LEN;
	int rc = plx__frames_pack(out, b->buf + b->len + S_LEN, room, size);
	if (rc != 0)
		return rc;
	s_put_len(b->buf + b->len, (uint32_t)*size);
	b->len += S_LEN + *size;
	b->count++;
	return 0;
}

static void s_free_buf(void *data, void *hint)
{
	(void)hint;
	free(data);
}

/* The frame for what b holds: one message goes as it would alone, several as a batch whose
 * buffer the frame takes over. */
static int s_frame(plx_batch *b, zmq_msg_t *frame)
{
	if (b->count == 1) {
		size_t size = b->len - sizeof s_marker - S_LEN;
		if (zmq_msg_init_size(frame, size) != 0)
			return -ENOMEM;
		memcpy(zmq_msg_data(frame), b->buf + sizeof s_marker + S_LEN, size);
		return 0;
	}
	if (zmq_msg_init_data(frame, b->buf, b->len, s_free_buf, NULL) != 0)
		return -ENOMEM;
	b->buf = NULL; /* the frame's now */
	return 0;
}

static int s_send(void *sock, zmq_msg_t *frame, int flags)
{
	if (zmq_msg_send(frame, sock, flags) >= 0)
		return 0;
	int err = errno;
	zmq_msg_close(frame);
	return -err;
}

int plx__batch_send(plx_batch *b, void *sock, const uint8_t *rid, size_t rid_size, int flags)
{
	if (b->count == 0)
		return 0;
	zmq_msg_t id, frame;
	int rc = s_frame(b, &frame);
	b->len = 0;
	b->count = 0;
	if (rc != 0)
		return rc;
	if (rid_size) {
		if (zmq_msg_init_size(&id, rid_size) != 0) {
			zmq_msg_close(&frame);
			return -ENOMEM;
		}
		memcpy(zmq_msg_data(&id), rid, rid_size);
		if ((rc = s_send(sock, &id, flags | ZMQ_SNDMORE)) != 0) {
			zmq_msg_close(&frame);
			return rc;
		}
	}
	return s_send(sock, &frame, flags);
}

void plx__batch_free(plx_batch *b)
{
	free(b->buf);
	*b = (plx_batch){0};
}

bool plx__batch_is(const zmq_msg_t *frame)
{
	return zmq_msg_size((zmq_msg_t *)frame) >= sizeof s_marker &&
	       memcmp(zmq_msg_data((zmq_msg_t *)frame), s_marker, sizeof s_marker) == 0;
}

/* Checks the layout of a batch of size bytes at p and notes where each message is. Returns
 * the count, or -EBADMSG: too long, empty, more than PLX_BATCH_MESSAGES messages, an empty
 * one, or a length past the end. */
static int s_layout(const uint8_t *p, size_t size, size_t off[], size_t len[])
{
	if (size > PLX_BATCH_BYTES)
		return -EBADMSG;
	int n = 0;
	for (size_t at = sizeof s_marker; at < size; n++) {
		if (n == PLX_BATCH_MESSAGES || size - at < S_LEN)
			return -EBADMSG;
		uint32_t l = s_get_len(p + at);
		at += S_LEN;
		if (l == 0 || l > size - at)
			return -EBADMSG;
		off[n] = at;
		len[n] = l;
		at += l;
	}
	return n > 0 ? n : -EBADMSG;
}

int plx__batch_parse(plx_ctx *ctx, zmq_msg_t *frame, bool local_peer,
                     plx_batch_item items[PLX_BATCH_MESSAGES])
{
	size_t off[PLX_BATCH_MESSAGES], len[PLX_BATCH_MESSAGES];
	int n = s_layout(zmq_msg_data(frame), zmq_msg_size(frame), off, len);
	for (int i = 0; i < n; i++) {
		items[i].msg = NULL;
		items[i].rc =
		    plx__frames_parse_slice(ctx, frame, off[i], len[i], local_peer, &items[i].msg);
	}
	zmq_msg_close(frame);
	return n;
}

/* ---- what an owner holds ---- */

void plx__conn_flush(plx_conn *conn)
{
	int held = conn->held.count;
	if (held && plx__batch_send(&conn->held, conn->sock, NULL, 0, ZMQ_DONTWAIT) != 0)
		conn->outstanding -= held < conn->outstanding ? held : conn->outstanding;
}

void plx__replies_flush(plx_ep *ep)
{
	if (ep->replies.count)
		plx__batch_send(&ep->replies, ep->router, ep->replies_rid, ep->replies_rid_size, 0);
}

void plx__flush_held(plx_ep *ep, plx_port *port)
{
	plx__replies_flush(ep);
	for (int i = 0; i < port->nconns; i++)
		if (port->conns[i].held.count)
			plx__conn_flush(&port->conns[i]);
}
