/*
 * test-primitives.c — every primitive over every transport kind, and payloads from 0 bytes
 * to 64 MiB, against a real server thread on real ZeroMQ sockets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <plexus/chunk.h>

#include "testlib.h"

#define TIMEOUT_MS 20000

static void test_sendrec_echoes_body_and_names_both_ends(void **state)
{
	tl_fixture *f = *state;
	Plexus__IpcEcho echo = PLEXUS__IPC_ECHO__INIT;
	echo.text = "hello, plexus";
	echo.sequence = 42;
	plx_request req = tl_request("echo", PLEXUS__IPC_TYPE__IPC_ECHO, &echo.base, "data", 4);
	plx_msg *reply = NULL;
	assert_int_equal(plx_sendrec(f->client, &req, &reply, TIMEOUT_MS), 0);
	assert_int_equal(reply->kind, PLX_REPLY);
	assert_int_equal(reply->type, PLEXUS__IPC_TYPE__IPC_ECHO);
	assert_string_equal(reply->source.label, "echo");
	assert_int_equal(reply->source.generation, 7);
	assert_string_equal(reply->destination.label, "client");
	assert_int_equal(reply->destination.generation, 1);
	Plexus__IpcEcho *back =
	    (Plexus__IpcEcho *)plx_msg_unpack(reply, &plexus__ipc_echo__descriptor);
	assert_non_null(back);
	assert_string_equal(back->text, "hello, plexus");
	assert_int_equal(back->sequence, 42);
	assert_int_equal(reply->data_size, 4);
	assert_memory_equal(reply->data, "data", 4);
	protobuf_c_message_free_unpacked(&back->base, NULL);
	plx_msg_destroy(&reply);
	assert_null(reply);
}

static void test_payload_sizes_from_zero_to_64_mib(void **state)
{
	tl_fixture *f = *state;
	/* around PLX_INLINE_DATA_MAX the data moves from inside the envelope to a frame */
	static const size_t sizes[] = {
	    0,    1,     64,       PLX_INLINE_DATA_MAX, PLX_INLINE_DATA_MAX + 1,
	    4095, 65536, 1u << 20, 16u << 20,           64u << 20};
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		size_t size = sizes[i];
		uint8_t *buf = malloc(size ? size : 1);
		assert_non_null(buf);
		tl_pattern(buf, size, (uint32_t)i);
		Plexus__IpcEcho echo = PLEXUS__IPC_ECHO__INIT;
		echo.sequence = i;
		plx_request req = tl_request("echo", PLEXUS__IPC_TYPE__IPC_ECHO, &echo.base,
		                             size ? buf : NULL, size);
		plx_msg *reply = NULL;
		assert_int_equal(plx_sendrec(f->client, &req, &reply, TIMEOUT_MS), 0);
		assert_int_equal(reply->data_size, size);
		if (size)
			assert_true(tl_check_pattern(reply->data, size, (uint32_t)i));
		else
			assert_null(reply->data);
		plx_msg_destroy(&reply);
		free(buf);
	}
}

/* A transfer larger than the maximum data frame goes in chunks (plexus/chunk.h). */
static void test_chunked_transfer_larger_than_the_maximum(void **state)
{
	tl_fixture *f = *state;
	size_t max = 256 * 1024, total = 4 * max + 3;
	assert_int_equal(plx_ctx_set_max_data(f->ctx, max), 0);
	uint8_t *out = malloc(total), *back = calloc(1, total);
	assert_non_null(out);
	assert_non_null(back);
	tl_pattern(out, total, 7);
	plx_msg *reply = NULL;
	plx_request whole = tl_request("echo", PLEXUS__IPC_TYPE__IPC_ECHO, NULL, out, total);
	assert_int_equal(plx_sendrec(f->client, &whole, &reply, TIMEOUT_MS), -EMSGSIZE);
	plx_chunk it;
	plx_chunk_init(&it, total, plx_ctx_max_data(f->ctx));
	size_t chunks = 0;
	while (plx_chunk_next(&it)) {
		Plexus__IpcEcho echo = PLEXUS__IPC_ECHO__INIT;
		echo.sequence = it.offset;
		plx_request req = tl_request("echo", PLEXUS__IPC_TYPE__IPC_ECHO, &echo.base,
		                             out + it.offset, it.length);
		assert_int_equal(plx_sendrec(f->client, &req, &reply, TIMEOUT_MS), 0);
		assert_int_equal(reply->data_size, it.length);
		memcpy(back + it.offset, reply->data, reply->data_size);
		plx_msg_destroy(&reply);
		chunks++;
	}
	assert_int_equal(chunks, plx_chunk_count(total, max));
	assert_int_equal(chunks, 5);
	assert_memory_equal(out, back, total);
	free(out);
	free(back);
}

static void s_free_buffer(void *data, void *hint)
{
	*(int *)hint += 1;
	free(data);
}

static void test_zero_copy_data_is_released_once(void **state)
{
	tl_fixture *f = *state;
	int released = 0;
	size_t size = 1u << 20;
	uint8_t *buf = malloc(size);
	assert_non_null(buf);
	tl_pattern(buf, size, 99);
	plx_request req = tl_request("echo", PLEXUS__IPC_TYPE__IPC_SINK, NULL, buf, size);
	req.data_free = s_free_buffer;
	req.data_hint = &released;
	plx_msg *reply = NULL;
	assert_int_equal(plx_sendrec(f->client, &req, &reply, TIMEOUT_MS), 0);
	Plexus__IpcSinkReply *sink =
	    (Plexus__IpcSinkReply *)plx_msg_unpack(reply, &plexus__ipc_sink_reply__descriptor);
	assert_int_equal(sink->received, size);
	protobuf_c_message_free_unpacked(&sink->base, NULL);
	plx_msg_destroy(&reply);
	/* ZeroMQ may release the frame a moment after the reply arrived. */
	for (int i = 0; i < 200 && released == 0; i++)
		usleep(5000);
	assert_int_equal(released, 1);
}

static void test_asynsend_reply_arrives_through_receive(void **state)
{
	tl_fixture *f = *state;
	uint64_t ids[8];
	for (int i = 0; i < 8; i++) {
		Plexus__IpcEcho echo = PLEXUS__IPC_ECHO__INIT;
		echo.sequence = (uint64_t)i;
		plx_request req =
		    tl_request("echo", PLEXUS__IPC_TYPE__IPC_ECHO, &echo.base, NULL, 0);
		assert_int_equal(plx_asynsend(f->client, &req, &ids[i]), 0);
	}
	unsigned seen = 0;
	for (int n = 0; n < 8; n++) {
		plx_msg *msg = NULL;
		assert_int_equal(plx_receive(f->client, &msg, TIMEOUT_MS), 0);
		assert_int_equal(msg->kind, PLX_REPLY);
		Plexus__IpcEcho *back =
		    (Plexus__IpcEcho *)plx_msg_unpack(msg, &plexus__ipc_echo__descriptor);
		assert_non_null(back);
		assert_in_range(back->sequence, 0, 7);
		assert_int_equal(msg->request_id, ids[back->sequence]);
		assert_false(seen & (1u << back->sequence));
		seen |= 1u << back->sequence;
		protobuf_c_message_free_unpacked(&back->base, NULL);
		plx_msg_destroy(&msg);
	}
	assert_int_equal(seen, 0xff);
	plx_msg *none = NULL;
	assert_int_equal(plx_receive(f->client, &none, 50), -ETIMEDOUT);
	assert_null(none);
}

/* A bound client endpoint receives requests and notifies itself. */
static void test_receive_reply_and_notify_between_two_endpoints(void **state)
{
	tl_fixture *f = *state;
	char address[PLX_ADDRESS_MAX];
	tl_address(f->kind, address, sizeof address);
	assert_int_equal(plx_ep_bind(f->client, address), 0);
	assert_int_equal(plx_ep_bind(f->client, address), -EALREADY);
	assert_int_equal(plx_route_set(f->ctx, "client", 1, plx_ep_address(f->client)), 0);

	/* The server's own endpoint lives in its thread; a second endpoint plays the peer. */
	plx_ep *peer = plx_ep_new(f->ctx, "peer", 3);
	plx_request req = tl_request("client", PLEXUS__IPC_TYPE__IPC_ECHO, NULL, "x", 1);
	uint64_t id = 0;
	assert_int_equal(plx_asynsend(peer, &req, &id), 0);
	plx_name dst = {.label = "client"};
	for (int i = 0; i < 5; i++)
		assert_int_equal(plx_notify(peer, &dst, PLEXUS__IPC_TYPE__IPC_PING), 0);
	usleep(300000); /* let all of them reach the client's queue */

	plx_msg *msg = NULL;
	int notifies = 0, requests = 0;
	while (plx_receive(f->client, &msg, 200) == 0) {
		assert_string_equal(msg->source.label, "peer");
		assert_int_equal(msg->source.generation, 3);
		assert_false(plx_msg_is_local(msg)); /* it came over a socket */
		if (msg->kind == PLX_NOTIFY) {
			notifies++;
			assert_int_equal(msg->type, PLEXUS__IPC_TYPE__IPC_PING);
			assert_int_equal(plx_reply(f->client, msg, 0, NULL, NULL, 0), -EINVAL);
		} else {
			requests++;
			assert_int_equal(msg->request_id, id);
			assert_int_equal(plx_reply(f->client, msg, -ENOENT, NULL, "y", 1), 0);
			assert_int_equal(plx_reply(f->client, msg, 0, NULL, NULL, 0), -EINVAL);
		}
		plx_msg_destroy(&msg);
	}
	assert_int_equal(requests, 1);
	assert_int_equal(notifies, 1); /* five notifies that met in the queue coalesced */

	/* The peer's asynsend reply comes back through its own receive. */
	assert_int_equal(plx_receive(peer, &msg, TIMEOUT_MS), 0);
	assert_int_equal(msg->kind, PLX_REPLY);
	assert_int_equal(msg->status, -ENOENT);
	assert_int_equal(msg->request_id, id);
	assert_memory_equal(msg->data, "y", 1);
	plx_msg_destroy(&msg);
	plx_ep_destroy(&peer);
}

static void test_notify_reaches_a_server(void **state)
{
	tl_fixture *f = *state;
	plx_name dst = {.label = "echo"};
	assert_int_equal(plx_notify(f->client, &dst, PLEXUS__IPC_TYPE__IPC_PING), 0);
	for (int i = 0; i < 400; i++) {
		pthread_mutex_lock(&f->server->lock);
		int seen = f->server->notifies;
		pthread_mutex_unlock(&f->server->lock);
		if (seen)
			break;
		usleep(5000);
	}
	pthread_mutex_lock(&f->server->lock);
	assert_int_equal(f->server->notifies, 1);
	pthread_mutex_unlock(&f->server->lock);
}

static void test_ping_is_answered_by_the_server_library(void **state)
{
	tl_fixture *f = *state;
	Plexus__IpcPing ping = PLEXUS__IPC_PING__INIT;
	ping.sequence = 9;
	plx_request req = tl_request("echo", PLEXUS__IPC_TYPE__IPC_PING, &ping.base, NULL, 0);
	plx_msg *reply = NULL;
	assert_int_equal(plx_sendrec(f->client, &req, &reply, TIMEOUT_MS), 0);
	Plexus__IpcPing *pong =
	    (Plexus__IpcPing *)plx_msg_unpack(reply, &plexus__ipc_ping__descriptor);
	assert_int_equal(pong->sequence, 9);
	protobuf_c_message_free_unpacked(&pong->base, NULL);
	plx_msg_destroy(&reply);
}

/* A reply that hands its data over (plx_reply_owned): the bytes arrive whole and the buffer
 * is released exactly once; a second answer, refused, releases its buffer at once. */
static void test_owned_reply_data_is_released_once(void **state)
{
	tl_fixture *f = *state;
	char address[PLX_ADDRESS_MAX];
	tl_address(f->kind, address, sizeof address);
	assert_int_equal(plx_ep_bind(f->client, address), 0);
	assert_int_equal(plx_route_set(f->ctx, "client", 1, plx_ep_address(f->client)), 0);
	plx_ep *peer = plx_ep_new(f->ctx, "peer", 3);
	plx_request req = tl_request("client", PLEXUS__IPC_TYPE__IPC_ECHO, NULL, "x", 1);
	uint64_t id = 0;
	assert_int_equal(plx_asynsend(peer, &req, &id), 0);
	plx_msg *msg = NULL;
	assert_int_equal(plx_receive(f->client, &msg, TIMEOUT_MS), 0);
	size_t size = 1u << 20;
	uint8_t *buf = malloc(size), *again = malloc(16);
	assert_non_null(buf);
	assert_non_null(again);
	tl_pattern(buf, size, 42);
	int released = 0, refused = 0;
	assert_int_equal(
	    plx_reply_owned(f->client, msg, 0, NULL, buf, size, s_free_buffer, &released), 0);
	assert_int_equal(
	    plx_reply_owned(f->client, msg, 0, NULL, again, 16, s_free_buffer, &refused), -EINVAL);
	assert_int_equal(refused, 1);
	plx_msg_destroy(&msg);
	assert_int_equal(plx_receive(peer, &msg, TIMEOUT_MS), 0);
	assert_int_equal(msg->request_id, id);
	assert_int_equal(msg->data_size, size);
	assert_true(tl_check_pattern(msg->data, size, 42));
	plx_msg_destroy(&msg);
	for (int i = 0; i < 200 && released == 0; i++)
		usleep(5000); /* ZeroMQ may let go of the frame a moment later */
	assert_int_equal(released, 1);
	plx_ep_destroy(&peer);
}

int main(void)
{
	TL_FIXTURES("echo", 7, "client");
	const struct CMUnitTest tests[] = {
	    TL_EACH_KIND(test_sendrec_echoes_body_and_names_both_ends),
	    TL_EACH_KIND(test_payload_sizes_from_zero_to_64_mib),
	    TL_EACH_KIND(test_chunked_transfer_larger_than_the_maximum),
	    TL_EACH_KIND(test_zero_copy_data_is_released_once),
	    TL_EACH_KIND(test_asynsend_reply_arrives_through_receive),
	    TL_EACH_KIND(test_receive_reply_and_notify_between_two_endpoints),
	    TL_EACH_KIND(test_owned_reply_data_is_released_once),
	    TL_EACH_KIND(test_notify_reaches_a_server),
	    TL_EACH_KIND(test_ping_is_answered_by_the_server_library),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
