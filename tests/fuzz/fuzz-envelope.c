/*
 * fuzz-envelope.c — libFuzzer harness for the envelope and data frame decoder: the frames of
 * one message as a receiver reads them (plx__frames_parse, transport/frames.c, with the head
 * decoder of head.c), and what the transport does next with a message it accepted.
 *
 * Entry point: LLVMFuzzerTestOneInput.
 *
 * Input: a control byte, then the frames. A single frame that is a batch (transport/batch.c)
 * is split as a receiver splits it, and each message in it checked as one alone. Control bit 0: the
 * frames came through an in-process socket (so the envelope may be a local one); bits 1-2: the
 * number of frames (1, 2, or 3 for "more than two"; 0 counts as 1). With more than one frame the
 * last two bytes of the input give the size of the data frame, taken from the end of what is left.
 *
 * Besides running without a crash, a leak or undefined behaviour, the decoder must keep what
 * frames.c promises: the result is 0 or the error a receiver answers with (-EBADMSG,
 * -EMSGSIZE, -EPROTO); an accepted message has a kind, a type, a terminated source label and
 * its data; and an accepted message, encoded again by the sender's side (plx__frames_build)
 * and decoded, is the same message, for either kind of envelope. The trace of an accepted
 * message is formatted as plx_receive would. A broken promise aborts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static plx_ctx *s_ctx;

/* The trace callback: formats the event as the default trace line does, into nowhere. */
static void s_trace(const plx_trace_event *ev, void *arg)
{
	(void)arg;
	char line[512];
	snprintf(line, sizeof line, "%c %d %s(%u) %s/%llu -> %s/%llu id=%llu size=%zu",
	         ev->direction, (int)ev->kind, plx_type_name(ev->type), ev->type, ev->source->label,
	         (unsigned long long)ev->source->generation, ev->destination->label,
	         (unsigned long long)ev->destination->generation,
	         (unsigned long long)ev->request_id, ev->size);
}

/* What an accepted message must look like. */
static void s_check_msg(const plx_msg *msg)
{
	FUZZ_CHECK(msg->kind >= PLX_REQUEST && msg->kind <= PLX_NOTIFY);
	FUZZ_CHECK(msg->type != 0);
	FUZZ_CHECK(fuzz_terminated(msg->source.label, sizeof msg->source.label) &&
	           msg->source.label[0]);
	FUZZ_CHECK(fuzz_terminated(msg->destination.label, sizeof msg->destination.label));
	FUZZ_CHECK(msg->body_size == 0 || msg->body != NULL);
	FUZZ_CHECK(msg->data_size == 0 || msg->data != NULL);
	FUZZ_CHECK(msg->data_size <= plx_ctx_max_data(s_ctx));
}

static void s_same_name(const plx_name *a, const plx_name *b)
{
	FUZZ_CHECK(strcmp(a->label, b->label) == 0 && a->generation == b->generation);
}

/* Encodes msg again as its sender would and decodes that: the same message. */
static void s_round_trip(const plx_msg *msg)
{
	bool local = msg->priv->local_envelope;
	plx_outgoing out = {.kind = msg->kind,
	                    .type = msg->type,
	                    .status = msg->status,
	                    .request_id = msg->request_id,
	                    .source = &msg->source,
	                    .destination = &msg->destination,
	                    .packed_body = msg->body,
	                    .packed_body_size = msg->body_size,
	                    .data = msg->data,
	                    .data_size = msg->data_size,
	                    .local = local};
	zmq_msg_t frames[3];
	int n = 0;
	int rc = plx__frames_build(s_ctx, NULL, 0, &out, frames, &n);
	size_t inline_size = msg->data_size <= PLX_INLINE_DATA_MAX ? msg->data_size : 0;
	if (rc == -EMSGSIZE) /* the data that came in a frame of its own now fits inline */
		FUZZ_CHECK(msg->body_size + inline_size + PLX_HEAD_MAX + 96 > PLX_ENVELOPE_MAX);
	if (rc == -EMSGSIZE)
		return;
	FUZZ_CHECK(rc == 0 && n >= 1 && n <= 2);
	plx_msg *again = NULL;
	rc = plx__frames_parse(s_ctx, frames, n, local, &again);
	FUZZ_CHECK(rc == 0 && again != NULL);
	FUZZ_CHECK(again->kind == msg->kind && again->type == msg->type);
	FUZZ_CHECK(again->status == msg->status && again->request_id == msg->request_id);
	s_same_name(&again->source, &msg->source);
	s_same_name(&again->destination, &msg->destination);
	FUZZ_CHECK(again->body_size == msg->body_size);
	FUZZ_CHECK(!msg->body_size || memcmp(again->body, msg->body, msg->body_size) == 0);
	FUZZ_CHECK(again->data_size == msg->data_size);
	FUZZ_CHECK(!msg->data_size || memcmp(again->data, msg->data, msg->data_size) == 0);
	FUZZ_CHECK(again->priv->local_envelope == local);
	plx_msg_destroy(&again);
}

/* Splits the input into the frames a receiver read (see the file's comment) and returns the
 * count to hand to the decoder. As plx__frames_recv reports them, a message with more frames
 * than the receiver keeps counts one more than it stored: 3 means 2 frames and an excess. */
static int s_frames(const uint8_t *data, size_t size, zmq_msg_t *frames)
{
	int want = (data[0] >> 1) & 3;
	data++, size--;
	size_t sizes[2] = {size, 0};
	if (want >= 2 && size >= 2) {
		size_t asked = (size_t)data[size - 2] | (size_t)data[size - 1] << 8;
		size -= 2;
		sizes[1] = asked % (size + 1);
		sizes[0] = size - sizes[1];
	}
	int stored = want >= 2 ? 2 : 1;
	for (int i = 0; i < stored; i++) {
		zmq_msg_init_size(&frames[i], sizes[i]);
		memcpy(zmq_msg_data(&frames[i]), data, sizes[i]);
		data += sizes[i];
	}
	return want == 3 ? 3 : stored;
}

/* Checks one decoded message (alone, or from a batch) and its result, and frees it. */
static void s_take(plx_msg *msg, int rc)
{
	FUZZ_CHECK(rc == 0 || rc == -EBADMSG || rc == -EMSGSIZE || rc == -EPROTO);
	FUZZ_CHECK(rc != 0 || msg != NULL);
	if (rc == 0) {
		s_check_msg(msg);
		plx__trace_in(s_ctx, msg, 0);
		s_round_trip(msg);
	}
	plx_msg_destroy(&msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (!s_ctx) {
		s_ctx = plx_ctx_new();
		FUZZ_CHECK(s_ctx != NULL);
		plx_trace_set(s_ctx, true, s_trace, NULL);
	}
	bool local_peer = data[0] & 1;
	zmq_msg_t frames[2];
	int n = s_frames(data, size, frames);
	if (n == 1 && plx__batch_is(&frames[0])) {
		plx_batch_item items[PLX_BATCH_MESSAGES];
		int count = plx__batch_parse(s_ctx, &frames[0], local_peer, items);
		FUZZ_CHECK(count == -EBADMSG || (count >= 1 && count <= PLX_BATCH_MESSAGES));
		for (int i = 0; i < count; i++)
			s_take(items[i].msg, items[i].rc);
		return 0;
	}
	plx_msg *msg = NULL;
	int rc = plx__frames_parse(s_ctx, frames, n, local_peer, &msg);
	s_take(msg, rc);
	return 0;
}
