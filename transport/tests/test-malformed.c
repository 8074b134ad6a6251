/*
 * test-malformed.c — a raw ZeroMQ peer sends what no Plexus sender would: random bytes,
 * truncated envelopes, broken heads, a wrong version, unknown types, wrong frame counts, lying
 * sizes, and, in-process, broken local envelopes. Each is answered with an error (or, for a
 * stray reply, ignored) and the server keeps serving; batch frames are served message by
 * message, and one whose layout is wrong is dropped whole. And a peer that does not read its
 * replies is refused once they fill their bytes (peerq.c). Over inproc the raw peer lives in the
 * server's own ZeroMQ context (white box: the context and the local envelope's layout come
 * from the transport's internal.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zmq.h>

#include "internal.h"
#include "plexus/proto/envelope.pb-c.h"
#include "testlib.h"

typedef struct fixture {
	tl_kind kind;
	plx_ctx *ctx;
	tl_server *server;
	void *zmq;
	void *raw; /* a DEALER that speaks whatever the test wants */
} fixture;

static int s_setup(void **state)
{
	fixture *f = *state;
	f->ctx = plx_ctx_new();
	f->server = tl_server_start(f->ctx, "target", 2, f->kind);
	/* inproc is reachable only from the same ZeroMQ context */
	f->zmq = f->kind == TL_INPROC ? NULL : zmq_ctx_new();
	f->raw = zmq_socket(f->zmq ? f->zmq : f->ctx->zmq, ZMQ_DEALER);
	int linger = 0, timeout = 10000;
	zmq_setsockopt(f->raw, ZMQ_LINGER, &linger, sizeof linger);
	zmq_setsockopt(f->raw, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
	return zmq_connect(f->raw, f->server->address);
}

static int s_teardown(void **state)
{
	fixture *f = *state;
	zmq_close(f->raw);
	if (f->zmq)
		zmq_ctx_term(f->zmq);
	tl_server_stop(&f->server);
	plx_ctx_destroy(&f->ctx);
	return 0;
}

static void s_send_frames(void *sock, const void *const *frames, const size_t *sizes, int n)
{
	for (int i = 0; i < n; i++)
		assert_int_equal(zmq_send(sock, frames[i], sizes[i], i + 1 < n ? ZMQ_SNDMORE : 0),
		                 (int)sizes[i]);
}

/* Packs a head from "raw" (generation 1) to "target" (generation 2) into buf. */
static size_t s_head(uint8_t *buf, uint32_t version, uint32_t kind, uint32_t type)
{
	Plexus__EnvelopeHead head = PLEXUS__ENVELOPE_HEAD__INIT;
	head.source_label = "raw";
	head.source_generation = 1;
	head.destination_label = "target";
	head.destination_generation = 2;
	head.version = version;
	head.kind = (Plexus__Kind)kind;
	head.type = type;
	return protobuf_c_message_pack(&head.base, buf);
}

/* Packs a well-formed request envelope; the caller may spoil it afterwards. */
static size_t s_envelope(uint8_t *buf, uint32_t version, uint32_t kind, uint32_t type, uint64_t id,
                         uint64_t data_size)
{
	uint8_t head[PLX_HEAD_MAX];
	Plexus__Envelope env = PLEXUS__ENVELOPE__INIT;
	env.head.data = head;
	env.head.len = s_head(head, version, kind, type);
	env.request_id = id;
	env.data_size = data_size;
	return protobuf_c_message_pack(&env.base, buf);
}

/* Unpacks the head of env; fails the test when it does not unpack. */
static Plexus__EnvelopeHead *s_head_of(const Plexus__Envelope *env)
{
	Plexus__EnvelopeHead *head =
	    plexus__envelope_head__unpack(NULL, env->head.len, env->head.data);
	assert_non_null(head);
	return head;
}

/* Reads the error reply and returns its status; fails the test on anything but a reply. */
static int s_reply_status(fixture *f, uint64_t expected_id)
{
	uint8_t buf[4096];
	int n = zmq_recv(f->raw, buf, sizeof buf, 0);
	assert_true(n >= 0);
	int more = 0;
	size_t size = sizeof more;
	zmq_getsockopt(f->raw, ZMQ_RCVMORE, &more, &size);
	assert_int_equal(more, 0);
	Plexus__Envelope *env = plexus__envelope__unpack(NULL, (size_t)n, buf);
	assert_non_null(env);
	Plexus__EnvelopeHead *head = s_head_of(env);
	assert_int_equal(head->kind, PLEXUS__KIND__KIND_REPLY);
	plexus__envelope_head__free_unpacked(head, NULL);
	assert_int_equal(env->request_id, expected_id);
	int status = env->status;
	plexus__envelope__free_unpacked(env, NULL);
	return status;
}

/* The server still answers a real client after whatever came before. */
static void s_still_serving(fixture *f)
{
	plx_ep *client = plx_ep_new(f->ctx, "client", 1);
	Plexus__IpcPing ping = PLEXUS__IPC_PING__INIT;
	ping.sequence = 77;
	plx_request req = tl_request("target", PLEXUS__IPC_TYPE__IPC_PING, &ping.base, NULL, 0);
	plx_msg *reply = NULL;
	assert_int_equal(plx_sendrec(client, &req, &reply, 10000), 0);
	plx_msg_destroy(&reply);
	plx_ep_destroy(&client);
}

static void test_random_bytes(void **state)
{
	fixture *f = *state;
	uint8_t junk[200];
	srandom(12345);
	for (int round = 0; round < 100; round++) {
		size_t size = 1 + (size_t)random() % sizeof junk;
		for (size_t i = 0; i < size; i++)
			junk[i] = (uint8_t)random();
		const void *frames[] = {junk};
		size_t sizes[] = {size};
		s_send_frames(f->raw, frames, sizes, 1);
		/* Garbage that happens to parse still fails the version or kind check. */
		uint8_t buf[4096];
		int n = zmq_recv(f->raw, buf, sizeof buf, 0);
		assert_true(n >= 0);
		Plexus__Envelope *env = plexus__envelope__unpack(NULL, (size_t)n, buf);
		assert_non_null(env);
		assert_true(env->status == -EBADMSG || env->status == -EPROTO ||
		            env->status == -PLX_EDEADSRCDST || env->status == -EMSGSIZE);
		plexus__envelope__free_unpacked(env, NULL);
	}
	s_still_serving(f);
}

static void test_truncated_envelope(void **state)
{
	fixture *f = *state;
	uint8_t buf[256];
	size_t size = s_envelope(buf, PLX_PROTOCOL_VERSION, PLEXUS__KIND__KIND_REQUEST,
	                         PLEXUS__IPC_TYPE__IPC_PING, 5, 0);
	const void *frames[] = {buf};
	size_t sizes[] = {size - 3};
	s_send_frames(f->raw, frames, sizes, 1);
	assert_int_equal(s_reply_status(f, 0), -EBADMSG);
	s_still_serving(f);
}

static void test_wrong_version(void **state)
{
	fixture *f = *state;
	uint8_t buf[256];
	size_t size =
	    s_envelope(buf, 99, PLEXUS__KIND__KIND_REQUEST, PLEXUS__IPC_TYPE__IPC_PING, 6, 0);
	const void *frames[] = {buf};
	size_t sizes[] = {size};
	s_send_frames(f->raw, frames, sizes, 1);
	assert_int_equal(s_reply_status(f, 6), -EPROTO);
	s_still_serving(f);
}

static void test_unknown_type(void **state)
{
	fixture *f = *state;
	uint8_t buf[256];
	size_t size =
	    s_envelope(buf, PLX_PROTOCOL_VERSION, PLEXUS__KIND__KIND_REQUEST, 0x7777, 7, 0);
	const void *frames[] = {buf};
	size_t sizes[] = {size};
	s_send_frames(f->raw, frames, sizes, 1);
	assert_int_equal(s_reply_status(f, 7), -ENOSYS);
	s_still_serving(f);
}

static void test_bad_kind_and_missing_type(void **state)
{
	fixture *f = *state;
	uint8_t buf[256];
	size_t size = s_envelope(buf, PLX_PROTOCOL_VERSION, 9, PLEXUS__IPC_TYPE__IPC_PING, 8, 0);
	const void *frames[] = {buf};
	size_t sizes[] = {size};
	s_send_frames(f->raw, frames, sizes, 1);
	assert_int_equal(s_reply_status(f, 8), -EBADMSG);
	sizes[0] = s_envelope(buf, PLX_PROTOCOL_VERSION, PLEXUS__KIND__KIND_REQUEST, 0, 9, 0);
	s_send_frames(f->raw, frames, sizes, 1);
	assert_int_equal(s_reply_status(f, 9), -EBADMSG);
	s_still_serving(f);
}

static void test_wrong_frame_count(void **state)
{
	fixture *f = *state;
	uint8_t buf[256];
	size_t size = s_envelope(buf, PLX_PROTOCOL_VERSION, PLEXUS__KIND__KIND_REQUEST,
	                         PLEXUS__IPC_TYPE__IPC_ECHO, 10, 1);
	const void *frames[] = {buf, "a", "b"};
	size_t sizes[] = {size, 1, 1};
	s_send_frames(f->raw, frames, sizes, 3);
	assert_int_equal(s_reply_status(f, 0), -EBADMSG);
	/* A data frame announced but missing, and one whose size lies. */
	s_send_frames(f->raw, frames, sizes, 1);
	assert_int_equal(s_reply_status(f, 10), -EBADMSG);
	const void *lying[] = {buf, "abc"};
	size_t lying_sizes[] = {size, 3};
	s_send_frames(f->raw, lying, lying_sizes, 2);
	assert_int_equal(s_reply_status(f, 10), -EBADMSG);
	s_still_serving(f);
}

static void test_bad_body_for_the_type(void **state)
{
	fixture *f = *state;
	uint8_t head[PLX_HEAD_MAX];
	Plexus__Envelope env = PLEXUS__ENVELOPE__INIT;
	env.head.data = head;
	env.head.len = s_head(head, PLX_PROTOCOL_VERSION, PLEXUS__KIND__KIND_REQUEST,
	                      PLEXUS__IPC_TYPE__IPC_ECHO);
	env.request_id = 11;
	uint8_t body[] = {0x0a, 0x7f, 'x'}; /* field 1, length 127, but 1 byte follows */
	env.body.data = body;
	env.body.len = sizeof body;
	uint8_t buf[256];
	size_t size = protobuf_c_message_pack(&env.base, buf);
	const void *frames[] = {buf};
	size_t sizes[] = {size};
	s_send_frames(f->raw, frames, sizes, 1);
	assert_int_equal(s_reply_status(f, 11), -EBADMSG);
	s_still_serving(f);
}

/* Packs a request carrying inline_size bytes inside the envelope, declaring declared. */
static size_t s_inline_envelope(uint8_t *buf, uint64_t id, size_t inline_size, uint64_t declared)
{
	static uint8_t data[PLX_INLINE_DATA_MAX + 1];
	uint8_t head[PLX_HEAD_MAX];
	Plexus__Envelope env = PLEXUS__ENVELOPE__INIT;
	env.head.data = head;
	env.head.len = s_head(head, PLX_PROTOCOL_VERSION, PLEXUS__KIND__KIND_REQUEST,
	                      PLEXUS__IPC_TYPE__IPC_ECHO);
	env.request_id = id;
	env.data_size = declared;
	env.inline_data.data = data;
	env.inline_data.len = inline_size;
	return protobuf_c_message_pack(&env.base, buf);
}

static void test_bad_inline_data(void **state)
{
	fixture *f = *state;
	uint8_t buf[1024];
	/* declared size differs from what is inside */
	size_t size = s_inline_envelope(buf, 20, 8, 9);
	const void *frames[] = {buf, "abcdefgh"};
	size_t sizes[] = {size, 8};
	s_send_frames(f->raw, frames, sizes, 1);
	assert_int_equal(s_reply_status(f, 20), -EBADMSG);
	/* inline data and a data frame as well */
	size = s_inline_envelope(buf, 21, 8, 8);
	sizes[0] = size;
	s_send_frames(f->raw, frames, sizes, 2);
	assert_int_equal(s_reply_status(f, 21), -EBADMSG);
	/* more inline than the protocol allows */
	size = s_inline_envelope(buf, 22, PLX_INLINE_DATA_MAX + 1, PLX_INLINE_DATA_MAX + 1);
	sizes[0] = size;
	s_send_frames(f->raw, frames, sizes, 1);
	assert_int_equal(s_reply_status(f, 22), -EBADMSG);
	/* inline data with a data size declared as well (only a data frame has one) */
	size = s_inline_envelope(buf, 24, 8, 8);
	sizes[0] = size;
	s_send_frames(f->raw, frames, sizes, 1);
	assert_int_equal(s_reply_status(f, 24), -EBADMSG);
	/* well formed: answered with the same bytes, inside the reply's envelope */
	size = s_inline_envelope(buf, 23, 8, 0);
	sizes[0] = size;
	s_send_frames(f->raw, frames, sizes, 1);
	uint8_t answer[1024];
	int n = zmq_recv(f->raw, answer, sizeof answer, 0);
	assert_true(n > 0);
	Plexus__Envelope *env = plexus__envelope__unpack(NULL, (size_t)n, answer);
	assert_non_null(env);
	assert_int_equal(env->request_id, 23);
	assert_int_equal(env->status, 0);
	assert_int_equal(env->inline_data.len, 8);
	assert_int_equal(env->data_size, 0);
	plexus__envelope__free_unpacked(env, NULL);
	s_still_serving(f);
}

/* Sends an envelope whose head is the given bytes. */
static void s_send_with_head(fixture *f, const uint8_t *head, size_t head_size, uint64_t id)
{
	Plexus__Envelope env = PLEXUS__ENVELOPE__INIT;
	env.head.data = (uint8_t *)head;
	env.head.len = head_size;
	env.request_id = id;
	uint8_t buf[1024];
	const void *frames[] = {buf};
	size_t sizes[] = {protobuf_c_message_pack(&env.base, buf)};
	s_send_frames(f->raw, frames, sizes, 1);
}

/* A head that is missing, not a head, too long or with a label too long is refused, and the
 * refusal still carries the request id. */
static void test_bad_head(void **state)
{
	fixture *f = *state;
	s_send_with_head(f, NULL, 0, 30);
	assert_int_equal(s_reply_status(f, 30), -EBADMSG);
	static const uint8_t junk[] = {0x0a, 0x7f, 'x'}; /* field 1, length 127, 1 byte */
	s_send_with_head(f, junk, sizeof junk, 31);
	assert_int_equal(s_reply_status(f, 31), -EBADMSG);
	char label[PLX_LABEL_MAX + 1];
	memset(label, 'l', PLX_LABEL_MAX);
	label[PLX_LABEL_MAX] = '\0';
	Plexus__EnvelopeHead head = PLEXUS__ENVELOPE_HEAD__INIT;
	head.version = PLX_PROTOCOL_VERSION;
	head.kind = PLEXUS__KIND__KIND_REQUEST;
	head.type = PLEXUS__IPC_TYPE__IPC_PING;
	head.source_label = label;
	head.destination_label = "target";
	head.destination_generation = 2;
	uint8_t buf[512];
	s_send_with_head(f, buf, protobuf_c_message_pack(&head.base, buf), 32);
	assert_int_equal(s_reply_status(f, 32), -EBADMSG);
	/* valid fields, but padded past PLX_HEAD_MAX with an unknown field */
	head.source_label = "raw";
	size_t size = protobuf_c_message_pack(&head.base, buf);
	buf[size++] = (15 << 3) | 2; /* field 15, length-delimited, */
	buf[size++] = 0xc0;          /* of PLX_HEAD_MAX (192) bytes */
	buf[size++] = 0x01;
	memset(buf + size, 0, PLX_HEAD_MAX);
	s_send_with_head(f, buf, size + PLX_HEAD_MAX, 33);
	assert_int_equal(s_reply_status(f, 33), -EBADMSG);
	s_still_serving(f);
}

/* More distinct heads than a thread remembers, twice over: every reply names the sender
 * whose head came with its request (a head recognised by its bytes is the right one). */
static void test_many_heads(void **state)
{
	fixture *f = *state;
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 9; i++) {
			char source[16];
			snprintf(source, sizeof source, "raw%d", i);
			Plexus__EnvelopeHead head = PLEXUS__ENVELOPE_HEAD__INIT;
			head.version = PLX_PROTOCOL_VERSION;
			head.kind = PLEXUS__KIND__KIND_REQUEST;
			head.type = i % 2 ? PLEXUS__IPC_TYPE__IPC_PING : 0x7777;
			head.source_label = source;
			head.source_generation = (uint64_t)i + 1;
			head.destination_label = "target";
			head.destination_generation = 2;
			uint8_t buf[PLX_HEAD_MAX];
			uint64_t id = 100 + (uint64_t)(round * 10 + i);
			s_send_with_head(f, buf, protobuf_c_message_pack(&head.base, buf), id);
			uint8_t answer[1024];
			int n = zmq_recv(f->raw, answer, sizeof answer, 0);
			assert_true(n > 0);
			Plexus__Envelope *env = plexus__envelope__unpack(NULL, (size_t)n, answer);
			assert_non_null(env);
			Plexus__EnvelopeHead *reply = s_head_of(env);
			assert_int_equal(env->request_id, id);
			assert_int_equal(env->status, i % 2 ? 0 : -ENOSYS);
			assert_string_equal(reply->destination_label, source);
			assert_int_equal(reply->destination_generation, (uint64_t)i + 1);
			assert_string_equal(reply->source_label, "target");
			plexus__envelope_head__free_unpacked(reply, NULL);
			plexus__envelope__free_unpacked(env, NULL);
		}
	s_still_serving(f);
}

/* A well-formed local envelope from "raw" to "target": a request of type with the given
 * inline bytes. */
static plx_local_envelope s_local(uint32_t type, uint64_t id, uint32_t inline_size)
{
	plx_local_envelope h = {.version = PLX_PROTOCOL_VERSION,
	                        .kind = PLX_REQUEST,
	                        .type = type,
	                        .request_id = id,
	                        .inline_size = inline_size,
	                        .source = {.label = "raw", .generation = 1},
	                        .destination = {.label = "target", .generation = 2}};
	memcpy(h.marker, plx__local_marker, sizeof h.marker);
	return h;
}

/* Sends h followed by extra bytes (its body and inline data, or lies). */
static void s_send_local(fixture *f, const plx_local_envelope *h, const void *extra, size_t n)
{
	uint8_t buf[sizeof *h + 512];
	memcpy(buf, h, sizeof *h);
	if (n)
		memcpy(buf + sizeof *h, extra, n);
	const void *frames[] = {buf};
	size_t sizes[] = {sizeof *h + n};
	s_send_frames(f->raw, frames, sizes, 1);
}

/* Reads a reply with a local envelope; returns its status and copies its inline data. */
static int s_local_reply(fixture *f, uint64_t expected_id, void *data, size_t *data_size)
{
	uint8_t buf[1024];
	int n = zmq_recv(f->raw, buf, sizeof buf, 0);
	assert_true(n >= (int)sizeof(plx_local_envelope));
	plx_local_envelope h;
	memcpy(&h, buf, sizeof h);
	assert_memory_equal(h.marker, plx__local_marker, sizeof h.marker);
	assert_int_equal(h.kind, PLX_REPLY);
	assert_int_equal(h.request_id, expected_id);
	assert_int_equal((size_t)n, sizeof h + h.body_size + h.inline_size);
	if (data) {
		memcpy(data, buf + sizeof h + h.body_size, h.inline_size);
		*data_size = h.inline_size;
	}
	return h.status;
}

/* In-process: local envelopes that lie about their sizes, names, version, kind or data are
 * refused as protobuf ones are; a good one is answered with a local envelope. */
static void test_bad_local_envelope(void **state)
{
	fixture *f = *state;
	plx_local_envelope h = s_local(PLEXUS__IPC_TYPE__IPC_ECHO, 40, 4);
	/* shorter than its header: nothing to answer, so answered as unreadable */
	const void *frames[] = {&h};
	size_t sizes[] = {sizeof h - 1};
	s_send_frames(f->raw, frames, sizes, 1);
	assert_int_equal(s_reply_status(f, 0), -EBADMSG);
	/* four inline bytes announced, three present; then five */
	s_send_local(f, &h, "abc", 3);
	assert_int_equal(s_reply_status(f, 0), -EBADMSG);
	s_send_local(f, &h, "abcde", 5);
	assert_int_equal(s_reply_status(f, 0), -EBADMSG);
	/* a source label without its terminating NUL */
	h = s_local(PLEXUS__IPC_TYPE__IPC_ECHO, 41, 0);
	memset(h.source.label, 'x', sizeof h.source.label);
	s_send_local(f, &h, NULL, 0);
	assert_int_equal(s_local_reply(f, 41, NULL, NULL), -EBADMSG);
	h = s_local(PLEXUS__IPC_TYPE__IPC_ECHO, 42, 0);
	h.version = 99;
	s_send_local(f, &h, NULL, 0);
	assert_int_equal(s_local_reply(f, 42, NULL, NULL), -EPROTO);
	h = s_local(PLEXUS__IPC_TYPE__IPC_ECHO, 43, 0);
	h.kind = 9;
	s_send_local(f, &h, NULL, 0);
	assert_int_equal(s_local_reply(f, 43, NULL, NULL), -EBADMSG);
	/* inline data with a data frame size declared as well, and too much inline data */
	h = s_local(PLEXUS__IPC_TYPE__IPC_ECHO, 44, 4);
	h.data_size = 4;
	s_send_local(f, &h, "abcd", 4);
	assert_int_equal(s_local_reply(f, 44, NULL, NULL), -EBADMSG);
	static uint8_t big[PLX_INLINE_DATA_MAX + 1];
	h = s_local(PLEXUS__IPC_TYPE__IPC_ECHO, 45, sizeof big);
	s_send_local(f, &h, big, sizeof big);
	assert_int_equal(s_local_reply(f, 45, NULL, NULL), -EBADMSG);
	/* well formed: echoed */
	h = s_local(PLEXUS__IPC_TYPE__IPC_ECHO, 46, 4);
	s_send_local(f, &h, "wxyz", 4);
	char echo[PLX_INLINE_DATA_MAX];
	size_t echo_size = 0;
	assert_int_equal(s_local_reply(f, 46, echo, &echo_size), 0);
	assert_int_equal(echo_size, 4);
	assert_memory_equal(echo, "wxyz", 4);
	s_still_serving(f);
}

/* Over ipc and tcp a local envelope is not accepted: it is read as protobuf, and fails. */
static void test_local_envelope_from_another_process(void **state)
{
	fixture *f = *state;
	plx_local_envelope h = s_local(PLEXUS__IPC_TYPE__IPC_ECHO, 50, 4);
	s_send_local(f, &h, "wxyz", 4);
	assert_int_equal(s_reply_status(f, 0), -EBADMSG);
	s_still_serving(f);
}

static void test_oversize_envelope(void **state)
{
	fixture *f = *state;
	size_t size = PLX_ENVELOPE_MAX + 1;
	uint8_t *big = calloc(1, size);
	assert_non_null(big);
	const void *frames[] = {big};
	size_t sizes[] = {size};
	s_send_frames(f->raw, frames, sizes, 1);
	assert_int_equal(s_reply_status(f, 0), -EMSGSIZE);
	free(big);
	s_still_serving(f);
}

static void test_stray_reply_is_ignored(void **state)
{
	fixture *f = *state;
	uint8_t buf[256];
	size_t size = s_envelope(buf, PLX_PROTOCOL_VERSION, PLEXUS__KIND__KIND_REPLY,
	                         PLEXUS__IPC_TYPE__IPC_PING, 12, 0);
	const void *frames[] = {buf};
	size_t sizes[] = {size};
	s_send_frames(f->raw, frames, sizes, 1);
	int timeout = 300;
	zmq_setsockopt(f->raw, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
	uint8_t answer[256];
	assert_int_equal(zmq_recv(f->raw, answer, sizeof answer, 0), -1);
	assert_int_equal(errno, EAGAIN);
	s_still_serving(f);
}

/* Reads one reply on sock into *status; its data frame, if any, into data (room for size).
 * Returns the request id and sets *got to the data's length. */
static uint64_t s_read_reply(void *sock, int *status, uint8_t *data, size_t size, size_t *got)
{
	uint8_t buf[4096];
	int n = zmq_recv(sock, buf, sizeof buf, 0);
	assert_true(n > 0);
	Plexus__Envelope *env = plexus__envelope__unpack(NULL, (size_t)n, buf);
	assert_non_null(env);
	uint64_t id = env->request_id;
	*status = env->status;
	plexus__envelope__free_unpacked(env, NULL);
	int more = 0;
	size_t more_size = sizeof more;
	zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &more_size);
	*got = 0;
	if (more) {
		n = zmq_recv(sock, data, size, 0);
		assert_true(n >= 0);
		*got = (size_t)n;
	}
	return id;
}

#define S_UNREAD    48
#define S_UNREAD_MB (1024 * 1024)

/* A peer that asks for 48 replies of 1 MiB and does not read them: once 4 MiB of them wait
 * in the server, its requests are refused (ENOBUFS) without running, while another client is
 * still served; once it has read them, it is served again. */
static void test_unread_replies_are_bounded_in_bytes(void **state)
{
	fixture *f = *state;
	assert_int_equal(plx_ctx_set_peer_bytes(f->ctx, 4 * S_UNREAD_MB, 64 * S_UNREAD_MB), 0);
	void *slow = zmq_socket(f->zmq, ZMQ_DEALER);
	int one = 1, small = 64 * 1024, linger = 0, timeout = 20000;
	zmq_setsockopt(slow, ZMQ_RCVHWM, &one, sizeof one); /* reads nothing ahead */
	zmq_setsockopt(slow, ZMQ_RCVBUF, &small, sizeof small);
	zmq_setsockopt(slow, ZMQ_LINGER, &linger, sizeof linger);
	zmq_setsockopt(slow, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
	assert_int_equal(zmq_connect(slow, f->server->address), 0);
	uint8_t *data = malloc(S_UNREAD_MB), *back = malloc(S_UNREAD_MB);
	assert_true(data && back);
	tl_pattern(data, S_UNREAD_MB, 3);
	for (uint64_t id = 1; id <= S_UNREAD; id++) {
		uint8_t env[256];
		const void *frames[] = {env, data};
		size_t sizes[] = {s_envelope(env, PLX_PROTOCOL_VERSION, PLEXUS__KIND__KIND_REQUEST,
		                             PLEXUS__IPC_TYPE__IPC_ECHO, id, S_UNREAD_MB),
		                  S_UNREAD_MB};
		s_send_frames(slow, frames, sizes, 2);
	}
	/* another client, meanwhile: served, data and all */
	plx_ep *client = plx_ep_new(f->ctx, "client", 1);
	Plexus__IpcEcho echo = PLEXUS__IPC_ECHO__INIT;
	plx_request req =
	    tl_request("target", PLEXUS__IPC_TYPE__IPC_ECHO, &echo.base, data, S_UNREAD_MB);
	plx_msg *reply = NULL;
	assert_int_equal(plx_sendrec(client, &req, &reply, 20000), 0);
	assert_int_equal(reply->data_size, S_UNREAD_MB);
	assert_true(tl_check_pattern(reply->data, reply->data_size, 3));
	plx_msg_destroy(&reply);
	/* the slow peer reads now: each request answered once, the later ones refused (their
	 * refusals may come first: a request is refused as it is read) */
	int answered = 0, refused = 0;
	bool seen[S_UNREAD + 1] = {false};
	while (answered + refused < S_UNREAD) {
		int status;
		size_t got;
		uint64_t id = s_read_reply(slow, &status, back, S_UNREAD_MB, &got);
		assert_true(id >= 1 && id <= S_UNREAD && !seen[id]);
		seen[id] = true;
		if (status == -ENOBUFS) {
			assert_int_equal(got, 0);
			assert_true(id > 4); /* 4 MiB were held before the first refusal */
			refused++;
		} else {
			assert_int_equal(status, 0);
			assert_int_equal(got, S_UNREAD_MB);
			answered++;
		}
	}
	assert_true(answered >= 4 && refused > 0);
	/* read up: served again */
	uint8_t env[256];
	const void *frames[] = {env, data};
	size_t sizes[] = {s_envelope(env, PLX_PROTOCOL_VERSION, PLEXUS__KIND__KIND_REQUEST,
	                             PLEXUS__IPC_TYPE__IPC_ECHO, 99, S_UNREAD_MB),
	                  S_UNREAD_MB};
	s_send_frames(slow, frames, sizes, 2);
	int status;
	size_t got;
	assert_int_equal(s_read_reply(slow, &status, back, S_UNREAD_MB, &got), 99);
	assert_int_equal(status, 0);
	assert_int_equal(got, S_UNREAD_MB);
	zmq_close(slow);
	plx_ep_destroy(&client);
	free(data);
	free(back);
}

#define S_HELD    16
#define S_HELD_MS 4000

/* A peer that sends 16 requests of 1 MiB that the server holds (each sleeps 4 s in a thread
 * before its reply): once 4 MiB of them are in the server's hands, the rest are refused
 * (ENOBUFS) at once, without running, while another client is still served; once the held
 * ones are answered, the peer is served again. */
static void test_unserved_requests_are_bounded_in_bytes(void **state)
{
	fixture *f = *state;
	assert_int_equal(plx_ctx_set_peer_bytes(f->ctx, 4 * S_UNREAD_MB, 64 * S_UNREAD_MB), 0);
	plx_ep *hog = plx_ep_new(f->ctx, "hog", 1), *client = plx_ep_new(f->ctx, "client", 1);
	uint8_t *data = malloc(S_UNREAD_MB);
	assert_true(hog && client && data);
	tl_pattern(data, S_UNREAD_MB, 5);
	Plexus__IpcSleep sleep = PLEXUS__IPC_SLEEP__INIT;
	sleep.milliseconds = S_HELD_MS;
	plx_request req =
	    tl_request("target", PLEXUS__IPC_TYPE__IPC_SLEEP, &sleep.base, data, S_UNREAD_MB);
	for (int i = 0; i < S_HELD; i++)
		assert_int_equal(plx_asynsend(hog, &req, NULL), 0);
	/* the refusals come first, at once; the held requests' replies after their sleep */
	int answered = 0, refused = 0;
	while (answered + refused < S_HELD) {
		plx_msg *reply = NULL;
		assert_int_equal(plx_receive(hog, &reply, 3 * S_HELD_MS), 0);
		if (reply->status == -ENOBUFS) {
			assert_int_equal(answered, 0); /* none had slept its time yet */
			refused++;
		} else {
			assert_int_equal(reply->status, 0);
			answered++;
		}
		if (refused == S_HELD - 4 && answered == 0) {
			/* the peer's 4 MiB are held: another client is served meanwhile */
			Plexus__IpcEcho echo = PLEXUS__IPC_ECHO__INIT;
			plx_request other = tl_request("target", PLEXUS__IPC_TYPE__IPC_ECHO,
			                               &echo.base, data, S_UNREAD_MB);
			plx_msg *back = NULL;
			assert_int_equal(plx_sendrec(client, &other, &back, 20000), 0);
			assert_true(tl_check_pattern(back->data, back->data_size, 5));
			plx_msg_destroy(&back);
		}
		plx_msg_destroy(&reply);
	}
	/* 4 requests of 1 MiB and their envelopes make 4 MiB and a little: the fifth is refused */
	assert_int_equal(answered, 4);
	assert_int_equal(refused, S_HELD - 4);
	/* answered: served again */
	sleep.milliseconds = 0;
	plx_msg *reply = NULL;
	assert_int_equal(plx_sendrec(hog, &req, &reply, 20000), 0);
	assert_int_equal(reply->status, 0);
	plx_msg_destroy(&reply);
	plx_ep_destroy(&hog);
	plx_ep_destroy(&client);
	free(data);
}

/* ---- batches (batch.c): several envelopes in one frame ---- */

static const uint8_t s_batch_marker[8] = {0xfe, 'p', 'l', 'x', 'b', 'a', 't', 0};

/* Appends one item (its 4-byte little-endian length, then its bytes) to the batch in buf. */
static size_t s_batch_add(uint8_t *buf, size_t at, const void *item, size_t size, uint32_t declared)
{
	if (at == 0) {
		memcpy(buf, s_batch_marker, sizeof s_batch_marker);
		at = sizeof s_batch_marker;
	}
	for (int i = 0; i < 4; i++)
		buf[at + (size_t)i] = (uint8_t)(declared >> (8 * i));
	memcpy(buf + at + 4, item, size);
	return at + 4 + size;
}

/* Appends a well-formed PING request with id to the batch in buf. */
static size_t s_batch_ping(uint8_t *buf, size_t at, uint64_t id)
{
	uint8_t env[256];
	size_t size = s_envelope(env, PLX_PROTOCOL_VERSION, PLEXUS__KIND__KIND_REQUEST,
	                         PLEXUS__IPC_TYPE__IPC_PING, id, 0);
	return s_batch_add(buf, at, env, size, (uint32_t)size);
}

/* Notes the request id and status of one reply envelope of size bytes at p. */
static void s_note_reply(const uint8_t *p, size_t size, uint64_t *ids, int *statuses, int *n)
{
	Plexus__Envelope *env = plexus__envelope__unpack(NULL, size, p);
	assert_non_null(env);
	Plexus__EnvelopeHead *head = s_head_of(env);
	assert_int_equal(head->kind, PLEXUS__KIND__KIND_REPLY);
	plexus__envelope_head__free_unpacked(head, NULL);
	ids[*n] = env->request_id;
	statuses[(*n)++] = env->status;
	plexus__envelope__free_unpacked(env, NULL);
}

/* Reads replies, alone or in batch frames, until want of them came. */
static void s_batch_replies(fixture *f, int want, uint64_t *ids, int *statuses)
{
	static uint8_t buf[PLX_BATCH_BYTES];
	int n = 0;
	while (n < want) {
		int got = zmq_recv(f->raw, buf, sizeof buf, 0);
		assert_true(got > 0);
		size_t size = (size_t)got;
		if (size < sizeof s_batch_marker || memcmp(buf, s_batch_marker, 8) != 0) {
			s_note_reply(buf, size, ids, statuses, &n);
			continue;
		}
		for (size_t at = sizeof s_batch_marker; at < size;) {
			uint32_t len = (uint32_t)buf[at] | (uint32_t)buf[at + 1] << 8 |
			               (uint32_t)buf[at + 2] << 16 | (uint32_t)buf[at + 3] << 24;
			assert_true(len > 0 && len <= size - at - 4);
			assert_true(n < want);
			s_note_reply(buf + at + 4, len, ids, statuses, &n);
			at += 4 + len;
		}
	}
}

static void s_send_one(fixture *f, const void *frame, size_t size)
{
	const void *frames[] = {frame};
	size_t sizes[] = {size};
	s_send_frames(f->raw, frames, sizes, 1);
}

/* Appends an IPC_SLEEP request with id, asleep ms, with 200 bytes of inline data, to the
 * batch in buf. */
static size_t s_batch_sleep(uint8_t *buf, size_t at, uint64_t id, uint32_t ms)
{
	uint8_t head[PLX_HEAD_MAX], body[16], env[512], data[200];
	memset(data, 'd', sizeof data);
	Plexus__IpcSleep sleep = PLEXUS__IPC_SLEEP__INIT;
	sleep.milliseconds = ms;
	Plexus__Envelope e = PLEXUS__ENVELOPE__INIT;
	e.head.data = head;
	e.head.len = s_head(head, PLX_PROTOCOL_VERSION, PLEXUS__KIND__KIND_REQUEST,
	                    PLEXUS__IPC_TYPE__IPC_SLEEP);
	e.request_id = id;
	e.body.data = body;
	e.body.len = protobuf_c_message_pack(&sleep.base, body);
	e.inline_data.data = data;
	e.inline_data.len = sizeof data;
	size_t size = protobuf_c_message_pack(&e.base, env);
	return s_batch_add(buf, at, env, size, (uint32_t)size);
}

/* Requests that came in one batch frame are each counted with the whole frame, which each of
 * them keeps alive (peerq.c): 32 requests of about 250 bytes that the server holds (asleep),
 * in a frame of about 8 KiB, against a limit of 40 KiB per peer, are mostly refused (ENOBUFS)
 * at once; counted by their own bytes (and the message's block, under 1 KiB), all 32 would
 * have been taken. */
static void test_batched_requests_count_their_frame(void **state)
{
	fixture *f = *state;
	assert_int_equal(plx_ctx_set_peer_bytes(f->ctx, 40 * 1024, 64 * S_UNREAD_MB), 0);
	static uint8_t buf[PLX_BATCH_BYTES];
	size_t at = 0;
	for (uint64_t id = 1; id <= 32; id++)
		at = s_batch_sleep(buf, at, id, 1500);
	assert_true(at > 7 * 1024 && at < 9 * 1024);
	s_send_one(f, buf, at);
	uint64_t ids[32];
	int statuses[32], refused = 0;
	s_batch_replies(f, 32, ids, statuses);
	for (int i = 0; i < 32; i++)
		refused += statuses[i] == -ENOBUFS;
	assert_true(refused >= 24);
	assert_true(refused < 32);   /* a peer holding nothing is served */
	for (int i = 0; i < 32; i++) /* the rest slept and answered */
		assert_true(statuses[i] == 0 || statuses[i] == -ENOBUFS);
}

/* A batch of three pings is answered three times, in order, whatever frames the replies
 * come in; a batch with a bad envelope inside answers that one's error and serves the rest. */
static void test_batch_is_served_message_by_message(void **state)
{
	fixture *f = *state;
	static uint8_t buf[PLX_BATCH_BYTES];
	size_t at = 0;
	for (uint64_t id = 1; id <= 3; id++)
		at = s_batch_ping(buf, at, id);
	s_send_one(f, buf, at);
	uint64_t ids[8];
	int statuses[8];
	s_batch_replies(f, 3, ids, statuses);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ids[i], (uint64_t)i + 1);
		assert_int_equal(statuses[i], 0);
	}
	/* 11 fine, 12 a wrong version (-EPROTO), 13 garbage (-EBADMSG, and with no readable id
	 * answered as request 0, as alone), 14 fine. Refusals leave at once, replies may wait
	 * for the rest of the batch: the order between them is not fixed. */
	uint8_t env[256], junk[40];
	memset(junk, 0xff, sizeof junk); /* a key longer than 10 bytes: unreadable */
	at = s_batch_ping(buf, 0, 11);
	size_t size = s_envelope(env, PLX_PROTOCOL_VERSION + 7, PLEXUS__KIND__KIND_REQUEST,
	                         PLEXUS__IPC_TYPE__IPC_PING, 12, 0);
	at = s_batch_add(buf, at, env, size, (uint32_t)size);
	at = s_batch_add(buf, at, junk, sizeof junk, sizeof junk);
	at = s_batch_ping(buf, at, 14);
	s_send_one(f, buf, at);
	s_batch_replies(f, 4, ids, statuses);
	int want[15] = {[11] = 0, [12] = -EPROTO, [0] = -EBADMSG, [14] = 0};
	bool seen[15] = {false};
	for (int i = 0; i < 4; i++) {
		assert_true(ids[i] < 15 && (ids[i] == 0 || ids[i] >= 11) && ids[i] != 13);
		assert_false(seen[ids[i]]);
		seen[ids[i]] = true;
		assert_int_equal(statuses[i], want[ids[i]]);
	}
	s_still_serving(f);
}

/* A batch whose layout is wrong is dropped whole (nothing in it can be trusted), and the
 * server goes on serving: a length past the end, a zero length, a marker alone, a length cut
 * short, more than PLX_BATCH_MESSAGES messages, more than PLX_BATCH_BYTES bytes. */
static void test_bad_batch_layouts(void **state)
{
	fixture *f = *state;
	static uint8_t buf[PLX_BATCH_BYTES + 1024];
	uint8_t env[256];
	size_t size = s_envelope(env, PLX_PROTOCOL_VERSION, PLEXUS__KIND__KIND_REQUEST,
	                         PLEXUS__IPC_TYPE__IPC_PING, 21, 0);
	size_t at = s_batch_ping(buf, 0, 20);
	s_send_one(f, buf, s_batch_add(buf, at, env, size, (uint32_t)size + 1)); /* past the end */
	s_send_one(f, buf, s_batch_add(buf, at, env, size, 0));                  /* zero length */
	s_send_one(f, buf, sizeof s_batch_marker);                               /* empty */
	s_send_one(f, buf, at + 2);                                              /* cut short */
	at = 0;
	for (int i = 0; i <= PLX_BATCH_MESSAGES; i++)
		at = s_batch_ping(buf, at, 100 + (uint64_t)i);
	s_send_one(f, buf, at); /* one message too many */
	uint8_t big[4096];
	memset(big, 0, sizeof big);
	at = 0;
	while (at <= PLX_BATCH_BYTES)
		at = s_batch_add(buf, at, big, sizeof big, sizeof big);
	s_send_one(f, buf, at); /* too long */
	/* none of them was answered: the next reply the peer sees is its own ping's */
	at = s_batch_ping(buf, 0, 99);
	s_send_one(f, buf, at);
	uint64_t ids[1];
	int statuses[1];
	s_batch_replies(f, 1, ids, statuses);
	assert_int_equal(ids[0], 99);
	assert_int_equal(statuses[0], 0);
	s_still_serving(f);
}

#define EACH_KIND(test)                                                                            \
	cmocka_unit_test_prestate_setup_teardown(test, s_setup, s_teardown, &inproc),              \
	    cmocka_unit_test_prestate_setup_teardown(test, s_setup, s_teardown, &ipc),             \
	    cmocka_unit_test_prestate_setup_teardown(test, s_setup, s_teardown, &tcp)

int main(void)
{
	fixture inproc = {.kind = TL_INPROC}, ipc = {.kind = TL_IPC}, tcp = {.kind = TL_TCP};
	const struct CMUnitTest tests[] = {
	    EACH_KIND(test_random_bytes),
	    EACH_KIND(test_truncated_envelope),
	    EACH_KIND(test_bad_head),
	    EACH_KIND(test_many_heads),
	    EACH_KIND(test_wrong_version),
	    EACH_KIND(test_unknown_type),
	    EACH_KIND(test_bad_kind_and_missing_type),
	    EACH_KIND(test_wrong_frame_count),
	    EACH_KIND(test_bad_body_for_the_type),
	    EACH_KIND(test_bad_inline_data),
	    EACH_KIND(test_oversize_envelope),
	    EACH_KIND(test_stray_reply_is_ignored),
	    EACH_KIND(test_batch_is_served_message_by_message),
	    EACH_KIND(test_bad_batch_layouts),
	    cmocka_unit_test_prestate_setup_teardown(test_bad_local_envelope, s_setup, s_teardown,
	                                             &inproc),
	    cmocka_unit_test_prestate_setup_teardown(test_local_envelope_from_another_process,
	                                             s_setup, s_teardown, &ipc),
	    cmocka_unit_test_prestate_setup_teardown(test_local_envelope_from_another_process,
	                                             s_setup, s_teardown, &tcp),
	    /* inproc peers share the process's memory: only ipc and tcp replies are counted */
	    cmocka_unit_test_prestate_setup_teardown(test_unread_replies_are_bounded_in_bytes,
	                                             s_setup, s_teardown, &ipc),
	    cmocka_unit_test_prestate_setup_teardown(test_unread_replies_are_bounded_in_bytes,
	                                             s_setup, s_teardown, &tcp),
	    cmocka_unit_test_prestate_setup_teardown(test_unserved_requests_are_bounded_in_bytes,
	                                             s_setup, s_teardown, &ipc),
	    cmocka_unit_test_prestate_setup_teardown(test_unserved_requests_are_bounded_in_bytes,
	                                             s_setup, s_teardown, &tcp),
	    cmocka_unit_test_prestate_setup_teardown(test_batched_requests_count_their_frame,
	                                             s_setup, s_teardown, &ipc),
	    cmocka_unit_test_prestate_setup_teardown(test_batched_requests_count_their_frame,
	                                             s_setup, s_teardown, &tcp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
