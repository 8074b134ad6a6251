/*
 * test-batch.c — messages that leave together in one frame (batch.c, docs/transport.md
 * "Batches"), over every transport kind: asynsends sent with more wait for the owner's next
 * wait, a message without more or a full batch, and never overtake one another or a sendrec;
 * replies to a peer's pipelined requests all come back. A sink endpoint in a thread of its
 * own records the order in which requests reach it.
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

#define TIMEOUT_MS 20000
#define S_MAX_SEEN 512

/* A server thread that answers every request with its own data and notes the sequence
 * number each request carries as its data (4 bytes), in arrival order. */
typedef struct sink {
	plx_ctx *ctx;
	tl_kind kind;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int ready;
	bool stop;
	plx_ep *ep;
	plx_ep *client; /* the test's: destroyed at teardown, so a failed test cannot hang it */
	uint32_t seen[S_MAX_SEEN];
	int nseen;
} sink;

static void s_note(sink *s, const plx_msg *msg)
{
	uint32_t seq = 0;
	if (msg->data_size >= sizeof seq)
		memcpy(&seq, msg->data, sizeof seq);
	pthread_mutex_lock(&s->lock);
	if (s->nseen < S_MAX_SEEN)
		s->seen[s->nseen++] = seq;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static void *s_sink_main(void *arg)
{
	sink *s = arg;
	char address[PLX_ADDRESS_MAX];
	tl_address(s->kind, address, sizeof address);
	s->ep = plx_ep_new(s->ctx, "sink", 1);
	int ok = s->ep && plx_ep_bind(s->ep, address) == 0 &&
	         plx_route_set(s->ctx, "sink", 1, plx_ep_address(s->ep)) == 0;
	pthread_mutex_lock(&s->lock);
	s->ready = ok ? 1 : -1;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	while (ok && !__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		plx_msg *msg = NULL;
		if (plx_receive(s->ep, &msg, 50) != 0)
			continue;
		if (msg->kind == PLX_REQUEST) {
			s_note(s, msg);
			plx_reply(s->ep, msg, 0, NULL, msg->data, msg->data_size);
		}
		plx_msg_destroy(&msg);
	}
	plx_ep_destroy(&s->ep);
	return NULL;
}

static int s_setup(void **state)
{
	sink *s = *state;
	s->ctx = plx_ctx_new();
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->ready = 0;
	s->stop = false;
	s->nseen = 0;
	if (pthread_create(&s->thread, NULL, s_sink_main, s) != 0)
		return -1;
	pthread_mutex_lock(&s->lock);
	while (s->ready == 0)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
	s->client = plx_ep_new(s->ctx, "client", 1);
	return s->ready == 1 && s->client ? 0 : -1;
}

static int s_teardown(void **state)
{
	sink *s = *state;
	plx_ep_destroy(&s->client);
	__atomic_store_n(&s->stop, true, __ATOMIC_RELEASE);
	pthread_join(s->thread, NULL);
	plx_ctx_destroy(&s->ctx);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	return 0;
}

/* Waits until the sink has seen n requests or timeout_ms passed; returns how many it saw. */
static int s_wait_seen(sink *s, int n, int timeout_ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until); /* the condition variable's clock */
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	while (s->nseen < n && pthread_cond_timedwait(&s->cond, &s->lock, &until) == 0)
		;
	int seen = s->nseen;
	pthread_mutex_unlock(&s->lock);
	return seen;
}

/* An asynsend to the sink carrying seq as its data. */
static int s_send(plx_ep *client, uint32_t seq, bool more)
{
	plx_request req = tl_request("sink", PLEXUS__IPC_TYPE__IPC_ECHO, NULL, &seq, sizeof seq);
	req.more = more;
	return plx_asynsend(client, &req, NULL);
}

/* Receives n replies and checks each carries a sequence number from first on, once. */
static void s_receive_replies(plx_ep *client, uint32_t first, int n)
{
	static bool got[S_MAX_SEEN];
	memset(got, 0, sizeof got);
	for (int i = 0; i < n; i++) {
		plx_msg *msg = NULL;
		assert_int_equal(plx_receive(client, &msg, TIMEOUT_MS), 0);
		assert_int_equal(msg->kind, PLX_REPLY);
		uint32_t seq;
		assert_int_equal(msg->data_size, sizeof seq);
		memcpy(&seq, msg->data, sizeof seq);
		assert_in_range(seq, first, first + (uint32_t)n - 1);
		assert_false(got[seq - first]);
		got[seq - first] = true;
		plx_msg_destroy(&msg);
	}
}

static void s_assert_order(sink *s, int n)
{
	static uint32_t seen[S_MAX_SEEN];
	pthread_mutex_lock(&s->lock); /* copied, then checked: a failed check leaves no lock */
	int nseen = s->nseen;
	memcpy(seen, s->seen, sizeof seen);
	pthread_mutex_unlock(&s->lock);
	assert_int_equal(nseen, n);
	for (int i = 0; i < n; i++)
		assert_int_equal(seen[i], (uint32_t)i);
}

/* Asynsends with more wait for the owner: none reaches the sink until the client next
 * waits in plx_receive, then all do, in order, and every reply comes back. */
static void test_more_waits_for_the_owners_next_wait(void **state)
{
	sink *s = *state;
	plx_ep *client = s->client;
	for (uint32_t i = 0; i < 5; i++)
		assert_int_equal(s_send(client, i, true), 0);
	assert_int_equal(s_wait_seen(s, 1, 300), 0);
	s_receive_replies(client, 0, 5);
	s_assert_order(s, 5);
}

/* A message without more takes those held before it along, in order, without a wait. */
static void test_a_message_without_more_sends_what_was_held(void **state)
{
	sink *s = *state;
	plx_ep *client = s->client;
	assert_int_equal(s_send(client, 0, true), 0);
	assert_int_equal(s_send(client, 1, true), 0);
	assert_int_equal(s_send(client, 2, false), 0);
	assert_int_equal(s_wait_seen(s, 3, TIMEOUT_MS), 3);
	s_assert_order(s, 3);
	s_receive_replies(client, 0, 3);
}

/* Held asynsends leave before a sendrec's request, and more than a batch holds leave as
 * batches fill: 200 messages reach the sink in order before the sendrec (number 200). */
static void test_held_messages_go_before_a_sendrec(void **state)
{
	sink *s = *state;
	plx_ep *client = s->client;
	for (uint32_t i = 0; i < 200; i++)
		assert_int_equal(s_send(client, i, true), 0);
	uint32_t last = 200;
	plx_request req = tl_request("sink", PLEXUS__IPC_TYPE__IPC_ECHO, NULL, &last, sizeof last);
	plx_msg *reply = NULL;
	assert_int_equal(plx_sendrec(client, &req, &reply, TIMEOUT_MS), 0);
	plx_msg_destroy(&reply);
	s_assert_order(s, 201);
	s_receive_replies(client, 0, 200);
}

/* Destroying the client sends what it held. */
static void test_destroy_sends_what_was_held(void **state)
{
	sink *s = *state;
	plx_ep *client = s->client;
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(s_send(client, i, true), 0);
	plx_ep_destroy(&s->client);
	assert_int_equal(s_wait_seen(s, 3, TIMEOUT_MS), 3);
	s_assert_order(s, 3);
}

#define EACH_KIND(test)                                                                            \
	cmocka_unit_test_prestate_setup_teardown(test, s_setup, s_teardown, &inproc),              \
	    cmocka_unit_test_prestate_setup_teardown(test, s_setup, s_teardown, &ipc),             \
	    cmocka_unit_test_prestate_setup_teardown(test, s_setup, s_teardown, &tcp)

int main(void)
{
	sink inproc = {.kind = TL_INPROC}, ipc = {.kind = TL_IPC}, tcp = {.kind = TL_TCP};
	const struct CMUnitTest tests[] = {
	    EACH_KIND(test_more_waits_for_the_owners_next_wait),
	    EACH_KIND(test_a_message_without_more_sends_what_was_held),
	    EACH_KIND(test_held_messages_go_before_a_sendrec),
	    EACH_KIND(test_destroy_sends_what_was_held),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
