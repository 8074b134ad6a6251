/*
 * test-malformed.c — a raw ZeroMQ peer sends what no Plexus sender would: random bytes,
 * truncated envelopes, a wrong version, unknown types, wrong frame counts, lying sizes.
 * Each is answered with an error (or, for a stray reply, ignored) and the server keeps
 * serving.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zmq.h>

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
	f->zmq = zmq_ctx_new();
	f->raw = zmq_socket(f->zmq, ZMQ_DEALER);
	int linger = 0, timeout = 10000;
	zmq_setsockopt(f->raw, ZMQ_LINGER, &linger, sizeof linger);
	zmq_setsockopt(f->raw, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
	return zmq_connect(f->raw, f->server->address);
}

static int s_teardown(void **state)
{
	fixture *f = *state;
	zmq_close(f->raw);
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

/* Packs a well-formed request envelope; the caller may spoil it afterwards. */
static size_t s_envelope(uint8_t *buf, uint32_t version, uint32_t kind, uint32_t type, uint64_t id,
                         uint64_t data_size)
{
	Plexus__Envelope env = PLEXUS__ENVELOPE__INIT;
	env.source_label = "raw";
	env.source_generation = 1;
	env.destination_label = "target";
	env.destination_generation = 2;
	env.version = version;
	env.kind = (Plexus__Kind)kind;
	env.type = type;
	env.request_id = id;
	env.data_size = data_size;
	return protobuf_c_message_pack(&env.base, buf);
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
	assert_int_equal(env->kind, PLEXUS__KIND__KIND_REPLY);
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
	Plexus__Envelope env = PLEXUS__ENVELOPE__INIT;
	env.source_label = "raw";
	env.destination_label = "target";
	env.destination_generation = 2;
	env.version = PLX_PROTOCOL_VERSION;
	env.kind = PLEXUS__KIND__KIND_REQUEST;
	env.type = PLEXUS__IPC_TYPE__IPC_ECHO;
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
	Plexus__Envelope env = PLEXUS__ENVELOPE__INIT;
	env.source_label = "raw";
	env.destination_label = "target";
	env.destination_generation = 2;
	env.version = PLX_PROTOCOL_VERSION;
	env.kind = PLEXUS__KIND__KIND_REQUEST;
	env.type = PLEXUS__IPC_TYPE__IPC_ECHO;
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
	/* well formed: answered with the same bytes, inside the reply's envelope */
	size = s_inline_envelope(buf, 23, 8, 8);
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
	assert_int_equal(env->data_size, 8);
	plexus__envelope__free_unpacked(env, NULL);
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

#define EACH_KIND(test)                                                                            \
	cmocka_unit_test_prestate_setup_teardown(test, s_setup, s_teardown, &ipc),                 \
	    cmocka_unit_test_prestate_setup_teardown(test, s_setup, s_teardown, &tcp)

int main(void)
{
	/* inproc cannot be reached from a second ZeroMQ context; ipc and tcp can. */
	fixture ipc = {.kind = TL_IPC}, tcp = {.kind = TL_TCP};
	const struct CMUnitTest tests[] = {
	    EACH_KIND(test_random_bytes),
	    EACH_KIND(test_truncated_envelope),
	    EACH_KIND(test_wrong_version),
	    EACH_KIND(test_unknown_type),
	    EACH_KIND(test_bad_kind_and_missing_type),
	    EACH_KIND(test_wrong_frame_count),
	    EACH_KIND(test_bad_body_for_the_type),
	    EACH_KIND(test_bad_inline_data),
	    EACH_KIND(test_oversize_envelope),
	    EACH_KIND(test_stray_reply_is_ignored),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
