/*
 * test-failure.c — failure semantics: timeouts, dead and stale destinations, oversize
 * payloads. Each must end with its own distinct error within the timeout, never hang.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "testlib.h"

#define LONG_TIMEOUT_MS 20000

static uint64_t s_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void test_no_reply_times_out_and_the_next_call_works(void **state)
{
	tl_fixture *f = *state;
	plx_request req = tl_request("disk", PLEXUS__IPC_TYPE__IPC_NO_REPLY, NULL, NULL, 0);
	plx_msg *reply = NULL;
	uint64_t start = s_ms();
	assert_int_equal(plx_sendrec(f->client, &req, &reply, 300), -ETIMEDOUT);
	uint64_t took = s_ms() - start;
	assert_null(reply);
	assert_true(took >= 290);
	assert_true(took < LONG_TIMEOUT_MS);
	Plexus__IpcEcho echo = PLEXUS__IPC_ECHO__INIT;
	echo.sequence = 5;
	plx_request again = tl_request("disk", PLEXUS__IPC_TYPE__IPC_ECHO, &echo.base, NULL, 0);
	assert_int_equal(plx_sendrec(f->client, &again, &reply, LONG_TIMEOUT_MS), 0);
	plx_msg_destroy(&reply);
}

typedef struct pending {
	plx_ep *ep;
	int rc;
	uint64_t took_ms;
} pending;

/* A thread of its own waits on a request that is never answered. */
static void *s_wait_forever(void *arg)
{
	pending *p = arg;
	plx_request req = tl_request("disk", PLEXUS__IPC_TYPE__IPC_NO_REPLY, NULL, NULL, 0);
	plx_msg *reply = NULL;
	uint64_t start = s_ms();
	p->rc = plx_sendrec(p->ep, &req, &reply, LONG_TIMEOUT_MS);
	p->took_ms = s_ms() - start;
	plx_msg_destroy(&reply);
	return NULL;
}

static void s_kill_while_pending(tl_fixture *f, void (*kill)(tl_fixture *))
{
	pending p[3];
	pthread_t threads[3];
	for (int i = 0; i < 3; i++) {
		p[i] = (pending){.ep = f->client};
		pthread_create(&threads[i], NULL, s_wait_forever, &p[i]);
	}
	usleep(200000); /* the requests are now pending */
	kill(f);
	for (int i = 0; i < 3; i++) {
		pthread_join(threads[i], NULL);
		assert_int_equal(p[i].rc, -PLX_EDEADSRCDST);
		assert_true(p[i].took_ms < LONG_TIMEOUT_MS / 2);
	}
}

static void s_mark_dead(tl_fixture *f)
{
	plx_mark_dead(f->ctx, "disk", 7);
}

static void s_replace(tl_fixture *f)
{
	assert_int_equal(plx_route_set(f->ctx, "disk", 8, f->server->address), 0);
}

static void s_remove(tl_fixture *f)
{
	assert_int_equal(plx_route_remove(f->ctx, "disk"), 0);
}

static void test_marking_dead_fails_every_pending_request_at_once(void **state)
{
	s_kill_while_pending(*state, s_mark_dead);
}

static void test_a_new_generation_fails_requests_to_the_old_one(void **state)
{
	s_kill_while_pending(*state, s_replace);
}

static void test_removing_the_route_fails_pending_requests(void **state)
{
	s_kill_while_pending(*state, s_remove);
}

static void test_dead_or_unknown_destination_fails_without_sending(void **state)
{
	tl_fixture *f = *state;
	plx_msg *reply = NULL;
	plx_request unknown = tl_request("nobody", PLEXUS__IPC_TYPE__IPC_ECHO, NULL, NULL, 0);
	assert_int_equal(plx_sendrec(f->client, &unknown, &reply, LONG_TIMEOUT_MS),
	                 -PLX_EDEADSRCDST);
	assert_int_equal(plx_asynsend(f->client, &unknown, NULL), -PLX_EDEADSRCDST);
	plx_mark_dead(f->ctx, "disk", 7);
	plx_request dead = tl_request("disk", PLEXUS__IPC_TYPE__IPC_ECHO, NULL, NULL, 0);
	uint64_t start = s_ms();
	assert_int_equal(plx_sendrec(f->client, &dead, &reply, LONG_TIMEOUT_MS), -PLX_EDEADSRCDST);
	assert_true(s_ms() - start < 1000);
	assert_null(reply);
	assert_true(plx_is_dead(f->ctx, "disk", 6));
	assert_false(plx_is_dead(f->ctx, "disk", 8));
}

/* A thread keeps its last resolve (route.c), and still sees the next change of the table at
 * its next message: a death, then a new generation. */
static void test_a_route_change_is_seen_by_the_next_message(void **state)
{
	tl_fixture *f = *state;
	plx_request req = tl_request("disk", PLEXUS__IPC_TYPE__IPC_ECHO, NULL, NULL, 0);
	plx_msg *reply = NULL;
	for (int i = 0; i < 3; i++) { /* resolved, then from the thread's last resolve */
		assert_int_equal(plx_sendrec(f->client, &req, &reply, LONG_TIMEOUT_MS), 0);
		assert_int_equal(reply->source.generation, 7);
		plx_msg_destroy(&reply);
	}
	char address[PLX_ADDRESS_MAX];
	assert_int_equal(plx_route_lookup(f->ctx, "disk", NULL, address, sizeof address), 0);
	plx_mark_dead(f->ctx, "disk", 7);
	assert_int_equal(plx_asynsend(f->client, &req, NULL), -PLX_EDEADSRCDST);
	assert_int_equal(plx_sendrec(f->client, &req, &reply, LONG_TIMEOUT_MS), -PLX_EDEADSRCDST);
	/* a new generation at the same address: the message goes, named for generation 8, and the
	 * instance there (still 7) refuses it */
	assert_int_equal(plx_route_set(f->ctx, "disk", 8, address), 0);
	assert_int_equal(plx_sendrec(f->client, &req, &reply, LONG_TIMEOUT_MS), -PLX_EDEADSRCDST);
	assert_non_null(reply); /* answered: it went out */
	assert_int_equal(reply->status, -PLX_EDEADSRCDST);
	assert_int_equal(reply->source.generation, 7);
	plx_msg_destroy(&reply);
}

static void test_stale_generation_is_refused_by_the_receiver(void **state)
{
	tl_fixture *f = *state;
	/* A sender holding an old generation reaches the address where generation 7 runs. */
	plx_request req = tl_request("disk", PLEXUS__IPC_TYPE__IPC_ECHO, NULL, NULL, 0);
	req.dst.generation = 6;
	plx_msg *reply = NULL;
	assert_int_equal(plx_sendrec(f->client, &req, &reply, LONG_TIMEOUT_MS), -PLX_EDEADSRCDST);
	assert_non_null(reply);
	assert_int_equal(reply->status, -PLX_EDEADSRCDST);
	assert_int_equal(reply->source.generation, 7);
	plx_msg_destroy(&reply);
	/* A generation newer than the receiver's is refused as well. */
	req.dst.generation = 9;
	assert_int_equal(plx_sendrec(f->client, &req, &reply, LONG_TIMEOUT_MS), -PLX_EDEADSRCDST);
	plx_msg_destroy(&reply);
	req.dst.generation = 7;
	assert_int_equal(plx_sendrec(f->client, &req, &reply, LONG_TIMEOUT_MS), 0);
	plx_msg_destroy(&reply);
}

static void test_nobody_listening_times_out(void **state)
{
	tl_fixture *f = *state;
	char address[PLX_ADDRESS_MAX];
	if (f->kind == TL_TCP) {
		/* A port that was free a moment ago: bind one, note it, close it. */
		plx_ep *probe = plx_ep_new(f->ctx, "probe", 1);
		assert_int_equal(plx_ep_bind(probe, "tcp://127.0.0.1:*"), 0);
		snprintf(address, sizeof address, "%s", plx_ep_address(probe));
		plx_ep_destroy(&probe);
	} else {
		tl_address(f->kind, address, sizeof address);
	}
	assert_int_equal(plx_route_set(f->ctx, "ghost", 1, address), 0);
	plx_request req = tl_request("ghost", PLEXUS__IPC_TYPE__IPC_ECHO, NULL, "x", 1);
	plx_msg *reply = NULL;
	uint64_t start = s_ms();
	assert_int_equal(plx_sendrec(f->client, &req, &reply, 300), -ETIMEDOUT);
	assert_true(s_ms() - start < LONG_TIMEOUT_MS);
	assert_null(reply);
}

static void test_oversize_payload_is_refused_by_sender_and_receiver(void **state)
{
	tl_fixture *f = *state;
	size_t max = 1u << 20;
	uint8_t *big = calloc(1, 2 * max);
	assert_non_null(big);
	/* The receiver's maximum is smaller than the sender's: it answers -EMSGSIZE. */
	plx_ctx *small = plx_ctx_new();
	assert_int_equal(plx_ctx_set_max_data(small, max), 0);
	assert_int_equal(plx_ctx_set_max_data(small, 0), -EINVAL);
	tl_server *strict =
	    tl_server_start(small, "strict", 1, f->kind == TL_INPROC ? TL_IPC : f->kind);
	assert_int_equal(plx_route_set(f->ctx, "strict", 1, strict->address), 0);
	plx_request req =
	    tl_request("strict", PLEXUS__IPC_TYPE__IPC_SINK, NULL, big, max + max / 2);
	plx_msg *reply = NULL;
	assert_int_equal(plx_sendrec(f->client, &req, &reply, LONG_TIMEOUT_MS), -EMSGSIZE);
	assert_int_equal(reply->status, -EMSGSIZE);
	plx_msg_destroy(&reply);
	req.data_size = max;
	assert_int_equal(plx_sendrec(f->client, &req, &reply, LONG_TIMEOUT_MS), 0);
	plx_msg_destroy(&reply);
	/* The sender checks its own maximum before anything goes out. */
	assert_int_equal(plx_ctx_set_max_data(f->ctx, max), 0);
	assert_int_equal(plx_ctx_max_data(f->ctx), max);
	req.data_size = max + 1;
	assert_int_equal(plx_sendrec(f->client, &req, &reply, LONG_TIMEOUT_MS), -EMSGSIZE);
	assert_int_equal(plx_asynsend(f->client, &req, NULL), -EMSGSIZE);
	assert_null(reply);
	tl_server_stop(&strict);
	plx_ctx_destroy(&small);
	free(big);
}

/* A route whose address ZeroMQ refuses fails the call with an error, never a crash. The
 * address is numeric: nothing is looked up, nothing leaves the machine. */
static void test_unusable_address_fails_cleanly(void **state)
{
	tl_fixture *f = *state;
	assert_int_equal(plx_route_set(f->ctx, "odd", 1, "tcp://127.0.0.1:no-port"), 0);
	plx_request req = tl_request("odd", PLEXUS__IPC_TYPE__IPC_ECHO, NULL, "x", 1);
	plx_msg *reply = NULL;
	assert_int_equal(plx_sendrec(f->client, &req, &reply, 300), -EINVAL);
	assert_null(reply);
	assert_int_equal(plx_asynsend(f->client, &req, NULL), -EINVAL);
}

static void test_bad_requests_are_refused_with_einval(void **state)
{
	tl_fixture *f = *state;
	plx_msg *reply = NULL;
	plx_request no_type = tl_request("disk", 0, NULL, NULL, 0);
	assert_int_equal(plx_sendrec(f->client, &no_type, &reply, 100), -EINVAL);
	plx_request no_label = tl_request("", PLEXUS__IPC_TYPE__IPC_ECHO, NULL, NULL, 0);
	assert_int_equal(plx_sendrec(f->client, &no_label, &reply, 100), -EINVAL);
	plx_request no_data = tl_request("disk", PLEXUS__IPC_TYPE__IPC_ECHO, NULL, NULL, 10);
	assert_int_equal(plx_asynsend(f->client, &no_data, NULL), -EINVAL);
	assert_int_equal(plx_notify(f->client, NULL, PLEXUS__IPC_TYPE__IPC_PING), -EINVAL);
	assert_int_equal(plx_reply(f->client, NULL, 0, NULL, NULL, 0), -EINVAL);
	assert_null(reply);
	assert_null(plx_ep_new(f->ctx, "", 1));
	assert_int_equal(plx_ep_bind(f->client, "udp://127.0.0.1:1"), -EINVAL);
}

int main(void)
{
	TL_FIXTURES("disk", 7, "vfs");
	const struct CMUnitTest tests[] = {
	    TL_EACH_KIND(test_no_reply_times_out_and_the_next_call_works),
	    TL_EACH_KIND(test_marking_dead_fails_every_pending_request_at_once),
	    TL_EACH_KIND(test_a_new_generation_fails_requests_to_the_old_one),
	    TL_EACH_KIND(test_removing_the_route_fails_pending_requests),
	    TL_EACH_KIND(test_dead_or_unknown_destination_fails_without_sending),
	    TL_EACH_KIND(test_a_route_change_is_seen_by_the_next_message),
	    TL_EACH_KIND(test_stale_generation_is_refused_by_the_receiver),
	    TL_EACH_KIND(test_nobody_listening_times_out),
	    TL_EACH_KIND(test_oversize_payload_is_refused_by_sender_and_receiver),
	    TL_EACH_KIND(test_unusable_address_fails_cleanly),
	    TL_EACH_KIND(test_bad_requests_are_refused_with_einval),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
