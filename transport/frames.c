/*
 * frames.c — turning messages into ZeroMQ frames and back, and the one place where inbound
 * frames are validated.
 *
 * Entry points (internal): plx__frames_send, plx__frames_recv, plx__frames_parse,
 * plx__frames_close.
 *
 * A message is [envelope] or [envelope][data], preceded by the routing id on a ROUTER. Data of
 * at most PLX_INLINE_DATA_MAX bytes goes inside the envelope (inline_data) instead of its own
 * frame, unless it is a received frame sent on again.
 *
 * Between endpoints of one process (inproc://) the envelope is not protobuf-encoded: it is a
 * local envelope, the fields in this program's own layout followed by the packed body and the
 * inline data (plx_local_envelope, internal.h). Both ends are the same program, so there is no
 * format to agree on; the frame is checked as strictly as a protobuf envelope. It starts with
 * 0xff, which can never start a protobuf envelope, and is accepted only on in-process
 * sockets. A request sent with a local envelope is answered with one, any other with a
 * protobuf envelope (docs/protocol.md).
 *
 * The protobuf envelope carries its head (version, kind, type, source, destination) packed in a
 * bytes field; head.c packs a given head once and decodes a given one once per thread, and
 * envelope.c writes and reads the envelope itself without protobuf-c, in place.
 *
 * Validation, in order: frame count, envelope size, protobuf unpack (or the local envelope's
 * marker and sizes), the head's unpack and labels, version, kind, type, source label,
 * declared against actual data size, data maximum.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define S_SMALL_BODY 512

const uint8_t plx__local_marker[8] = {0xff, 'p', 'l', 'x', 'l', 'o', 'c', 0};

/* What an envelope of either kind says about the message's data and its own version and
 * kind, for the checks both share. */
typedef struct s_declared {
	uint32_t version;
	uint32_t kind;
	uint64_t data_size;
	const uint8_t *inline_data;
	size_t inline_size;
} s_declared;

static void s_free_data(const plx_outgoing *out)
{
	if (out->data_free && out->data)
		out->data_free((void *)out->data, out->data_hint);
}

/* Whether out's data goes inside its envelope. */
static bool s_inline(const plx_outgoing *out)
{
	return out->data && out->data_size > 0 && out->data_size <= PLX_INLINE_DATA_MAX &&
	       !out->data_frame;
}

/* An envelope about to be written: a protobuf one (wire) or a local one (local), and its
 * size. */
typedef struct s_envelope {
	bool local;
	plx_wire wire;
	plx_local_envelope head;
	const uint8_t *body;
	const void *inline_data;
	size_t size;
} s_envelope;

/* The name as is (senders hold valid names; the receiver checks the label's length). */
static plx_name s_local_name(const plx_name *name)
{
	return name ? *name : (plx_name){.label = "", .generation = 0};
}

/* Plans the local envelope for out (a peer in this process). */
static void s_plan_local(const plx_outgoing *out, const uint8_t *body, size_t body_size,
                         s_envelope *plan)
{
	bool in = s_inline(out);
	plan->local = true;
	plan->head = (plx_local_envelope){
	    .version = PLX_PROTOCOL_VERSION,
	    .kind = (uint32_t)out->kind,
	    .type = out->type,
	    .status = out->status,
	    .request_id = out->request_id,
	    .data_size = out->data && !in ? out->data_size : 0,
	    .body_size = (uint32_t)body_size,
	    .inline_size = in ? (uint32_t)out->data_size : 0,
	    .source = s_local_name(out->source),
	    .destination = s_local_name(out->destination),
	};
	memcpy(plan->head.marker, plx__local_marker, sizeof plan->head.marker);
	plan->body = body;
	plan->inline_data = out->data;
	plan->size = sizeof plan->head + body_size + plan->head.inline_size;
}

/* Plans the envelope of out, protobuf or local as out->local says. body holds the packed
 * body. Returns 0, or -EINVAL (a label too long) or -EMSGSIZE (over PLX_ENVELOPE_MAX). */
static int s_plan(const plx_outgoing *out, const uint8_t *body, size_t body_size, s_envelope *plan)
{
	if (out->local) {
		s_plan_local(out, body, body_size, plan);
	} else {
		const plx_head *head = plx__head_for(out);
		if (!head)
			return -EINVAL;
		plan->local = false;
		plan->wire = (plx_wire){.head = head->bytes,
		                        .head_size = head->size,
		                        .request_id = out->request_id,
		                        .status = out->status,
		                        .body = body,
		                        .body_size = body_size};
		if (s_inline(out)) {
			plan->wire.inline_data = out->data;
			plan->wire.inline_size = out->data_size;
		} else {
			plan->wire.data_size = out->data ? out->data_size : 0;
		}
		plan->size = plx__wire_size(&plan->wire);
	}
	return plan->size > PLX_ENVELOPE_MAX ? -EMSGSIZE : 0;
}

/* Writes the planned envelope at p (plan->size bytes). */
static void s_write(const s_envelope *plan, uint8_t *p)
{
	if (!plan->local) {
		plx__wire_pack(&plan->wire, p); /* envelope.c */
		return;
	}
	const plx_local_envelope *h = &plan->head;
	memcpy(p, h, sizeof *h);
	if (h->body_size)
		memcpy(p + sizeof *h, plan->body, h->body_size);
	if (h->inline_size)
		memcpy(p + sizeof *h + h->body_size, plan->inline_data, h->inline_size);
}

/* Writes the envelope for out into a new frame. body holds the packed body. */
static int s_envelope_frame(const plx_outgoing *out, const uint8_t *body, size_t body_size,
                            zmq_msg_t *frame)
{
	s_envelope plan;
	int rc = s_plan(out, body, body_size, &plan);
	if (rc != 0)
		return rc;
	if (zmq_msg_init_size(frame, plan.size) != 0)
		return -ENOMEM;
	s_write(&plan, zmq_msg_data(frame));
	return 0;
}

static int s_data_frame(const plx_outgoing *out, const void *routing_id, size_t routing_id_size,
                        zmq_msg_t *frame)
{
	if (out->data_frame) {
		zmq_msg_init(frame);
		return zmq_msg_copy(frame, out->data_frame) == 0 ? 0
		                                                 : -ENOMEM; /* shared, no copy */
	}
	if (out->queue && routing_id) /* a reply over the network: counted toward its peer */
		return plx__peerq_track(out->queue, routing_id, routing_id_size, out, frame);
	if (out->data_free)
		return zmq_msg_init_data(frame, (void *)out->data, out->data_size, out->data_free,
		                         out->data_hint) == 0
		           ? 0
		           : -ENOMEM;
	if (zmq_msg_init_size(frame, out->data_size) != 0)
		return -ENOMEM;
	if (out->data_size)
		memcpy(zmq_msg_data(frame), out->data, out->data_size);
	return 0;
}

/* Sends the frames; on failure closes what was not sent. Returns 0 or a negative errno. */
static int s_send_frames(void *sock, zmq_msg_t *frames, int n, int flags)
{
	for (int i = 0; i < n; i++) {
		int more = i + 1 < n ? ZMQ_SNDMORE : 0;
		if (zmq_msg_send(&frames[i], sock, flags | more) < 0) {
			int err = errno;
			for (int j = i; j < n; j++)
				zmq_msg_close(&frames[j]);
			return -err;
		}
	}
	return 0;
}

/* Packs out's body: into small when it fits, else into a new buffer (released with
 * s_body_done), or out's packed body as is. Returns 0 or -ENOMEM. */
static int s_body(const plx_outgoing *out, uint8_t small[S_SMALL_BODY], uint8_t **body,
                  size_t *body_size)
{
	*body = (uint8_t *)out->packed_body;
	*body_size = out->packed_body_size;
	if (!out->body)
		return 0;
	*body_size = protobuf_c_message_get_packed_size(out->body);
	*body = *body_size <= S_SMALL_BODY ? small : malloc(*body_size);
	if (!*body)
		return -ENOMEM;
	protobuf_c_message_pack(out->body, *body);
	return 0;
}

static void s_body_done(const plx_outgoing *out, const uint8_t *small, uint8_t *body)
{
	if (body != small && body != out->packed_body)
		free(body);
}

/*
 * Builds the frames of out (after routing_id when it is not NULL) into frames (room for 3)
 * and sets *nframes. Returns 0, or -EMSGSIZE over a maximum, or -ENOMEM. With
 * out->data_free set, out->data is released on failure and owned by the frames on success.
 */
int plx__frames_build(plx_ctx *ctx, const void *routing_id, size_t routing_id_size,
                      const plx_outgoing *out, zmq_msg_t *frames, int *nframes)
{
	bool has_data = out->data && out->data_size > 0;
	if (has_data && out->data_size > plx__max_data(ctx)) {
		s_free_data(out);
		return -EMSGSIZE;
	}
	uint8_t small[S_SMALL_BODY];
	uint8_t *body;
	size_t body_size;
	if (s_body(out, small, &body, &body_size) != 0) {
		s_free_data(out);
		return -ENOMEM;
	}
	int n = 0, rc = 0;
	if (routing_id) {
		rc = zmq_msg_init_size(&frames[n], routing_id_size) == 0 ? 0 : -ENOMEM;
		if (rc == 0)
			memcpy(zmq_msg_data(&frames[n++]), routing_id, routing_id_size);
	}
	plx_outgoing shown = *out;
	shown.data_size = has_data ? out->data_size : 0;
	if (rc == 0)
		rc = s_envelope_frame(&shown, body, body_size, &frames[n]);
	if (rc == 0)
		n++;
	s_body_done(out, small, body);
	bool own_frame = has_data && !s_inline(out);
	if (rc == 0 && own_frame &&
	    (rc = s_data_frame(out, routing_id, routing_id_size, &frames[n])) == 0)
		n++;
	else if (!own_frame || rc != 0)
		s_free_data(out);
	if (rc != 0) {
		plx__frames_close(frames, n);
		return rc;
	}
	*nframes = n;
	return 0;
}

/*
 * Writes out's envelope at dst, which has room bytes, for a batch (batch.c), and sets *size.
 * Only a message whose data, if any, goes inline can be written so. Returns 0 (out->data
 * released when out->data_free is set), -ENOSPC when out has a data frame of its own or its
 * envelope does not fit in room (out->data still the caller's), or -EINVAL / -EMSGSIZE /
 * -ENOMEM (out->data released).
 */
int plx__frames_pack(const plx_outgoing *out, uint8_t *dst, size_t room, size_t *size)
{
	if (out->data && out->data_size > 0 && !s_inline(out))
		return -ENOSPC;
	uint8_t small[S_SMALL_BODY];
	uint8_t *body;
	size_t body_size;
	s_envelope plan;
	int rc = s_body(out, small, &body, &body_size);
	if (rc == 0)
		rc = s_plan(out, body, body_size, &plan);
	if (rc == 0 && plan.size > room)
		rc = -ENOSPC;
	if (rc == 0) {
		s_write(&plan, dst);
		*size = plan.size;
	}
	s_body_done(out, small, body);
	if (rc != -ENOSPC)
		s_free_data(out);
	return rc;
}

/*
 * Sends out on sock, after routing_id when it is not NULL. flags may hold ZMQ_DONTWAIT.
 * Returns 0 or a negative errno: -EMSGSIZE over a maximum, -EAGAIN, -EHOSTUNREACH (ROUTER
 * peer gone), -ENOMEM. With out->data_free set, out->data is released whatever happens.
 */
int plx__frames_send(plx_ctx *ctx, void *sock, const void *routing_id, size_t routing_id_size,
                     const plx_outgoing *out, int flags)
{
	zmq_msg_t frames[3];
	int n = 0;
	int rc = plx__frames_build(ctx, routing_id, routing_id_size, out, frames, &n);
	if (rc != 0)
		return rc;
	size_t size = zmq_msg_size(&frames[routing_id ? 1 : 0]) +
	              (n > (routing_id ? 2 : 1) ? out->data_size : 0);
	bool traced = atomic_load_explicit(&ctx->trace_on, memory_order_relaxed);
	int64_t wall_us = traced ? plx__wall_us() : 0; /* before it leaves: never after arrival */
	rc = s_send_frames(sock, frames, n, flags);
	if (rc == 0 && traced)
		plx__trace_out(ctx, out, size, wall_us);
	return rc;
}

/*
 * Receives every frame of the next message on sock into frames (at most max; further frames
 * are read and dropped, and *nframes is set to max + 1 to report the excess). flags applies
 * to the first frame: ZMQ_DONTWAIT, or 0 to block up to the socket's ZMQ_RCVTIMEO.
 * Returns 0, or -EAGAIN when nothing came.
 */
int plx__frames_recv(void *sock, zmq_msg_t *frames, int max, int *nframes, int flags)
{
	int n = 0;
	int more = 1;
	while (more) {
		zmq_msg_t part;
		zmq_msg_init(&part);
		if (zmq_msg_recv(&part, sock, n == 0 ? flags : 0) < 0) {
			int err = errno;
			zmq_msg_close(&part);
			plx__frames_close(frames, n < max ? n : max);
			return -err;
		}
		more = zmq_msg_more(&part);
		if (n < max)
			frames[n] = part;
		else
			zmq_msg_close(&part);
		n++;
	}
	*nframes = n > max ? max + 1 : n;
	return 0;
}

void plx__frames_close(zmq_msg_t *frames, int nframes)
{
	for (int i = 0; i < nframes; i++)
		zmq_msg_close(&frames[i]);
}

/* Fills msg from its read protobuf envelope and the head inside it. */
static int s_fill(plx_msg *msg, const plx_wire *env, s_declared *d)
{
	msg->status = env->status;
	msg->request_id = env->request_id;
	msg->body = env->body_size ? env->body : NULL;
	msg->body_size = env->body_size;
	const plx_head *head = plx__head_read(env->head, env->head_size);
	if (!head)
		return -EBADMSG;
	msg->kind = (plx_kind)head->kind;
	msg->type = head->type;
	msg->source = head->source;
	msg->destination = head->destination;
	*d = (s_declared){.version = head->version,
	                  .kind = head->kind,
	                  .data_size = env->data_size,
	                  .inline_data = env->inline_data,
	                  .inline_size = env->inline_size};
	return 0;
}

/* Reads the protobuf envelope p (size bytes, kept by msg) into msg. Returns 0, -EBADMSG with
 * msg filled as far as it could be, or -ENOMSG when it does not read at all (nothing to
 * answer). */
static int s_read_envelope(plx_msg *msg, const uint8_t *p, size_t size, s_declared *d)
{
	plx_wire env;
	if (plx__wire_unpack(p, size, &env) != 0)
		return -ENOMSG;
	return s_fill(msg, &env, d);
}

static bool s_name_ok(const plx_name *name)
{
	return strnlen(name->label, PLX_LABEL_MAX) < PLX_LABEL_MAX;
}

/* Reads the local envelope p (size bytes, starting with the marker) into msg. Returns like
 * s_read_envelope. */
static int s_read_local(plx_msg *msg, const uint8_t *p, size_t size, s_declared *d)
{
	plx_local_envelope h;
	if (size < sizeof h)
		return -ENOMSG;
	memcpy(&h, p, sizeof h);
	if ((uint64_t)h.body_size + h.inline_size != size - sizeof h)
		return -ENOMSG;
	msg->priv->local_envelope = true; /* answered in kind, even when refused */
	msg->kind = (plx_kind)h.kind;
	msg->type = h.type;
	msg->status = h.status;
	msg->request_id = h.request_id;
	msg->body = h.body_size ? p + sizeof h : NULL;
	msg->body_size = h.body_size;
	*d = (s_declared){.version = h.version,
	                  .kind = h.kind,
	                  .data_size = h.data_size,
	                  .inline_data = p + sizeof h + h.body_size,
	                  .inline_size = h.inline_size};
	if (!s_name_ok(&h.source) || !s_name_ok(&h.destination))
		return -EBADMSG;
	msg->source = h.source;
	msg->destination = h.destination;
	return 0;
}

static int s_check_envelope(const plx_msg *msg, const s_declared *d)
{
	if (d->version != PLX_PROTOCOL_VERSION)
		return -EPROTO;
	if (d->kind < PLEXUS__KIND__KIND_REQUEST || d->kind > PLEXUS__KIND__KIND_NOTIFY)
		return -EBADMSG;
	if (msg->type == 0 || !msg->source.label[0])
		return -EBADMSG;
	return 0;
}

/* Data inside the envelope: small, no data frame beside it and none declared. */
static int s_attach_inline(plx_msg *msg, const s_declared *d, int nframes)
{
	if (nframes != 1 || d->data_size != 0 || d->inline_size > PLX_INLINE_DATA_MAX)
		return -EBADMSG;
	msg->data = d->inline_data;
	msg->data_size = d->inline_size;
	return 0;
}

static int s_attach_data(plx_ctx *ctx, plx_msg *msg, const s_declared *d, zmq_msg_t *frames,
                         int nframes)
{
	if (d->inline_size)
		return s_attach_inline(msg, d, nframes);
	if (nframes == 1)
		return d->data_size == 0 ? 0 : -EBADMSG;
	size_t actual = zmq_msg_size(&frames[1]);
	if (actual == 0 || d->data_size != actual)
		return -EBADMSG;
	if (actual > plx__max_data(ctx))
		return -EMSGSIZE;
	msg->priv->data_frame = frames[1];
	zmq_msg_init(&frames[1]);
	msg->priv->has_data = true;
	msg->data = zmq_msg_data(&msg->priv->data_frame);
	msg->data_size = actual;
	return 0;
}

/* Whether the envelope frame p (size bytes) is a local one: only peers in this process may
 * send those. */
static bool s_is_local(bool local_peer, const uint8_t *p, size_t size)
{
	return local_peer && size >= sizeof plx__local_marker &&
	       memcmp(p, plx__local_marker, sizeof plx__local_marker) == 0;
}

/* Reads the envelope of size bytes at off in msg's envelope frame, with the data frame of
 * frames when nframes is 2, and checks it. Sets *msg_p and returns as plx__frames_parse; when
 * the envelope does not read at all destroys msg and returns -EBADMSG. */
static int s_read(plx_ctx *ctx, plx_msg *msg, size_t off, size_t size, bool local_peer,
                  zmq_msg_t *frames, int nframes, plx_msg **msg_p)
{
	/* small frames hold their bytes: the address is the message's own frame's */
	const uint8_t *p = (const uint8_t *)zmq_msg_data(&msg->priv->envelope_frame) + off;
	msg->priv->envelope_size = size;
	s_declared d = {0};
	int rc = s_is_local(local_peer, p, size) ? s_read_local(msg, p, size, &d)
	                                         : s_read_envelope(msg, p, size, &d);
	if (rc == -ENOMSG) {
		plx_msg_destroy(&msg);
		return -EBADMSG;
	}
	*msg_p = msg;
	if (rc == 0)
		rc = s_check_envelope(msg, &d);
	if (rc == 0)
		rc = s_attach_data(ctx, msg, &d, frames, nframes);
	return rc;
}

/*
 * Validates the frames of one message (without the routing id) and turns them into a new
 * message, taking the frames over. local_peer: they came through an in-process socket, so
 * the envelope may be a local one. *msg_p is set whenever the envelope could be read, even
 * on a later error, so that the caller can answer the request id; the caller owns it.
 * Returns 0 or the error to answer with: -EBADMSG, -EMSGSIZE, -EPROTO.
 */
int plx__frames_parse(plx_ctx *ctx, zmq_msg_t *frames, int nframes, bool local_peer,
                      plx_msg **msg_p)
{
	if (nframes < 1 || nframes > 2) {
		plx__frames_close(frames, nframes > 2 ? 2 : nframes);
		return -EBADMSG;
	}
	size_t size = zmq_msg_size(&frames[0]);
	plx_msg *msg = size <= PLX_ENVELOPE_MAX ? plx__msg_new() : NULL;
	int rc = size > PLX_ENVELOPE_MAX ? -EMSGSIZE : msg ? 0 : -ENOMEM;
	if (msg) {
		msg->priv->envelope_frame = frames[0];
		zmq_msg_init(&frames[0]);
		rc = s_read(ctx, msg, 0, size, local_peer, frames, nframes, msg_p);
	}
	plx__frames_close(frames, nframes);
	return rc;
}

int plx__frames_parse_slice(plx_ctx *ctx, zmq_msg_t *whole, size_t off, size_t size,
                            bool local_peer, plx_msg **msg_p)
{
	if (size > PLX_ENVELOPE_MAX)
		return -EMSGSIZE;
	plx_msg *msg = plx__msg_new();
	if (!msg)
		return -ENOMEM;
	if (zmq_msg_copy(&msg->priv->envelope_frame, whole) != 0) { /* shared, not copied */
		plx_msg_destroy(&msg);
		return -ENOMEM;
	}
	return s_read(ctx, msg, off, size, local_peer, NULL, 1, msg_p);
}
