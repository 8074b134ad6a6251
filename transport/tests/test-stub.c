/*
 * test-stub.c — the stub core (plexus/stub.h) and the typed IPC stubs expanded from
 * proto/ipc.def, against a real server thread over every transport kind: sendrec with the reply
 * unpacked and its data frame, asynsend with the reply through receive, generation addressing,
 * replies without a body, bodies that do not parse, the observer, and bad arguments.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <plexus/ipc_stub.h>

#include "testlib.h"

#define TIMEOUT_MS 20000

static void test_call_unpacks_the_reply_and_hands_back_its_data(void **state)
{
	tl_fixture *f = *state;
	plx_stub *s = plx_stub_new(f->client, "echo", 0, TIMEOUT_MS);
	assert_non_null(s);
	Plexus__IpcEcho echo = PLEXUS__IPC_ECHO__INIT;
	echo.text = "through a stub";
	echo.sequence = 5;
	Plexus__IpcEcho *back = NULL;
	plx_msg *msg = NULL;
	assert_int_equal(plx_ipc_echo_call(s, &echo, "abc", 3, &back, &msg), 0);
	assert_non_null(back);
	assert_string_equal(back->text, "through a stub");
	assert_int_equal(back->sequence, 5);
	assert_non_null(msg);
	assert_int_equal(msg->data_size, 3);
	assert_memory_equal(msg->data, "abc", 3);
	plx_stub_free(back, &msg);
	assert_null(msg);
	/* Neither output asked for: only the status. */
	assert_int_equal(plx_ipc_echo_call(s, &echo, NULL, 0, NULL, NULL), 0);
	plx_stub_destroy(&s);
	assert_null(s);
	plx_stub_destroy(&s);
	plx_stub_destroy(NULL);
}

static void test_a_reply_without_body_and_one_that_does_not_parse(void **state)
{
	tl_fixture *f = *state;
	plx_stub s;
	assert_int_equal(plx_stub_init(&s, f->client, "echo", 0, TIMEOUT_MS), 0);
	Plexus__IpcSinkReply *sink = NULL;
	assert_int_equal(plx_ipc_sink_call(&s, NULL, "12345", 5, &sink, NULL), 0);
	assert_int_equal(sink->received, 5);
	plx_stub_free(sink, NULL);
	/* A reply read with a descriptor whose wire types differ: -EBADMSG, the message kept. */
	Plexus__IpcEcho echo = PLEXUS__IPC_ECHO__INIT;
	echo.text = "not a sleep";
	ProtobufCMessage *wrong = NULL;
	plx_msg *msg = NULL;
	assert_int_equal(plx_stub_call(&s, PLEXUS__IPC_TYPE__IPC_ECHO, &echo.base, NULL, 0,
	                               &plexus__ipc_sleep__descriptor, &wrong, &msg),
	                 -EBADMSG);
	assert_null(wrong);
	assert_non_null(msg);
	assert_int_equal(msg->status, 0);
	plx_stub_free(NULL, &msg);
	/* No reply in time: the outputs untouched. */
	s.timeout_ms = 200;
	msg = (plx_msg *)&s;
	assert_int_equal(plx_ipc_no_reply_call(&s, NULL, NULL, 0, NULL, &msg), -ETIMEDOUT);
	assert_ptr_equal(msg, &s);
}

static void test_send_and_its_reply_through_receive(void **state)
{
	tl_fixture *f = *state;
	plx_stub s;
	assert_int_equal(plx_stub_init(&s, f->client, "echo", 7, TIMEOUT_MS), 0);
	uint64_t ids[4];
	for (int i = 0; i < 4; i++) {
		Plexus__IpcEcho echo = PLEXUS__IPC_ECHO__INIT;
		echo.sequence = (uint64_t)i;
		assert_int_equal(plx_ipc_echo_send(&s, &echo, NULL, 0, &ids[i]), 0);
	}
	unsigned seen = 0;
	for (int n = 0; n < 4; n++) {
		plx_msg *msg = NULL;
		assert_int_equal(plx_receive(f->client, &msg, TIMEOUT_MS), 0);
		assert_int_equal(msg->kind, PLX_REPLY);
		Plexus__IpcEcho *back = NULL;
		assert_int_equal(plx_ipc_echo_reply(msg, &back), 0);
		assert_in_range(back->sequence, 0, 3);
		assert_int_equal(msg->request_id, ids[back->sequence]);
		seen |= 1u << back->sequence;
		plx_stub_free(back, &msg);
	}
	assert_int_equal(seen, 0xf);
	/* A reply of a line without a reply body: nothing to read, and nothing touched. */
	plx_msg empty = {.kind = PLX_REPLY};
	Plexus__NONE *none = (Plexus__NONE *)&empty;
	assert_int_equal(plx_ipc_shutdown_reply(&empty, &none), 0);
	assert_ptr_equal(none, &empty);
}

static void test_a_stub_addresses_its_generation(void **state)
{
	tl_fixture *f = *state;
	plx_stub s;
	assert_int_equal(plx_stub_init(&s, f->client, "echo", 7, TIMEOUT_MS), 0);
	Plexus__IpcPing ping = PLEXUS__IPC_PING__INIT;
	ping.sequence = 3;
	Plexus__IpcPing *pong = NULL;
	assert_int_equal(plx_ipc_ping_call(&s, &ping, NULL, 0, &pong, NULL), 0);
	assert_int_equal(pong->sequence, 3);
	plx_stub_free(pong, NULL);
	/* An older generation is refused by the receiver: its answer comes back. */
	assert_int_equal(plx_stub_init(&s, f->client, "echo", 6, TIMEOUT_MS), 0);
	pong = NULL;
	plx_msg *msg = NULL;
	assert_int_equal(plx_ipc_ping_call(&s, &ping, NULL, 0, &pong, &msg), -PLX_EDEADSRCDST);
	assert_null(pong);
	assert_non_null(msg);
	assert_int_equal(msg->source.generation, 7);
	plx_stub_free(pong, &msg);
}

typedef struct s_seen {
	int calls;
	uint32_t type;
	uint64_t sequence;
	int status;
} s_seen;

static void s_observe(void *arg, uint32_t type, const ProtobufCMessage *body, const plx_msg *reply)
{
	s_seen *seen = arg;
	seen->calls++;
	seen->type = type;
	seen->sequence = body ? ((const Plexus__IpcEcho *)body)->sequence : 0;
	seen->status = reply->status;
}

static void test_the_observer_sees_each_call_that_got_a_reply(void **state)
{
	tl_fixture *f = *state;
	plx_stub s;
	assert_int_equal(plx_stub_init(&s, f->client, "echo", 0, 200), 0);
	s_seen seen = {0};
	plx_stub_observe(&s, s_observe, &seen);
	Plexus__IpcEcho echo = PLEXUS__IPC_ECHO__INIT;
	echo.sequence = 11;
	assert_int_equal(plx_ipc_echo_call(&s, &echo, NULL, 0, NULL, NULL), 0);
	assert_int_equal(seen.calls, 1);
	assert_int_equal(seen.type, PLEXUS__IPC_TYPE__IPC_ECHO);
	assert_int_equal(seen.sequence, 11);
	assert_int_equal(plx_ipc_no_reply_call(&s, NULL, NULL, 0, NULL, NULL), -ETIMEDOUT);
	assert_int_equal(seen.calls, 1); /* no reply: not told */
	plx_stub_observe(&s, NULL, NULL);
	assert_int_equal(plx_ipc_echo_call(&s, &echo, NULL, 0, NULL, NULL), 0);
	assert_int_equal(seen.calls, 1);
}

static void test_bad_arguments(void **state)
{
	tl_fixture *f = *state;
	char label[PLX_LABEL_MAX + 1];
	memset(label, 'x', sizeof label - 1);
	label[sizeof label - 1] = '\0';
	errno = 0;
	assert_null(plx_stub_new(f->client, label, 0, TIMEOUT_MS));
	assert_int_equal(errno, EINVAL);
	assert_null(plx_stub_new(f->client, "", 0, TIMEOUT_MS));
	assert_null(plx_stub_new(NULL, "echo", 0, TIMEOUT_MS));
	plx_stub s = {0};
	assert_int_equal(plx_stub_init(&s, f->client, NULL, 0, TIMEOUT_MS), -EINVAL);
	assert_null(s.ep); /* untouched */
	assert_int_equal(plx_ipc_echo_call(&s, NULL, NULL, 0, NULL, NULL), -EINVAL);
	assert_int_equal(plx_ipc_echo_send(&s, NULL, NULL, 0, NULL), -EINVAL);
	assert_int_equal(
	    plx_stub_call(NULL, PLEXUS__IPC_TYPE__IPC_ECHO, NULL, NULL, 0, NULL, NULL, NULL),
	    -EINVAL);
	Plexus__IpcEcho *back = NULL;
	assert_int_equal(plx_ipc_echo_reply(NULL, &back), -EBADMSG);
	plx_stub_free(NULL, NULL);
}

int main(void)
{
	TL_FIXTURES("echo", 7, "client");
	const struct CMUnitTest tests[] = {
	    TL_EACH_KIND(test_call_unpacks_the_reply_and_hands_back_its_data),
	    TL_EACH_KIND(test_a_reply_without_body_and_one_that_does_not_parse),
	    TL_EACH_KIND(test_send_and_its_reply_through_receive),
	    TL_EACH_KIND(test_a_stub_addresses_its_generation),
	    TL_EACH_KIND(test_the_observer_sees_each_call_that_got_a_reply),
	    cmocka_unit_test_prestate_setup_teardown(test_bad_arguments, tl_fixture_setup,
	                                             tl_fixture_teardown, &inproc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
