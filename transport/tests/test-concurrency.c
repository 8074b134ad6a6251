/*
 * test-concurrency.c — many threads on one endpoint: 16 concurrent sendrec callers with every
 * reply matched to its request, replies sent later from worker threads, asynsends and
 * notifies from threads other than the owner, and more destinations than the connection
 * cache holds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "testlib.h"

#define TIMEOUT_MS 30000
#define THREADS    16
#define CALLS      200

typedef struct caller {
	plx_ep *ep;
	uint32_t id;
	int matched;
	int mismatched;
} caller;

/* One worker: CALLS echo requests, each with a sequence and data only it could produce. */
static void *s_caller(void *arg)
{
	caller *c = arg;
	uint8_t data[512];
	for (uint32_t i = 0; i < CALLS; i++) {
		uint64_t sequence = (uint64_t)c->id << 32 | i;
		size_t size = 1 + (c->id * 37 + i) % sizeof data;
		tl_pattern(data, size, (uint32_t)sequence);
		Plexus__IpcEcho echo = PLEXUS__IPC_ECHO__INIT;
		echo.sequence = sequence;
		plx_request req =
		    tl_request("vfs", PLEXUS__IPC_TYPE__IPC_ECHO, &echo.base, data, size);
		plx_msg *reply = NULL;
		if (plx_sendrec(c->ep, &req, &reply, TIMEOUT_MS) != 0) {
			c->mismatched++;
			continue;
		}
		Plexus__IpcEcho *back =
		    (Plexus__IpcEcho *)plx_msg_unpack(reply, &plexus__ipc_echo__descriptor);
		if (back && back->sequence == sequence && reply->data_size == size &&
		    tl_check_pattern(reply->data, size, (uint32_t)sequence))
			c->matched++;
		else
			c->mismatched++;
		if (back)
			protobuf_c_message_free_unpacked(&back->base, NULL);
		plx_msg_destroy(&reply);
	}
	return NULL;
}

static void test_sixteen_threads_sendrec_with_every_reply_matched(void **state)
{
	tl_fixture *f = *state;
	caller callers[THREADS];
	pthread_t threads[THREADS];
	for (uint32_t i = 0; i < THREADS; i++) {
		callers[i] = (caller){.ep = f->client, .id = i};
		assert_int_equal(pthread_create(&threads[i], NULL, s_caller, &callers[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(threads[i], NULL);
		assert_int_equal(callers[i].mismatched, 0);
		assert_int_equal(callers[i].matched, CALLS);
	}
}

typedef struct sleeper {
	plx_ep *ep;
	int rc;
} sleeper;

static void *s_sleep_call(void *arg)
{
	sleeper *s = arg;
	Plexus__IpcSleep body = PLEXUS__IPC_SLEEP__INIT;
	body.milliseconds = 100;
	plx_request req = tl_request("vfs", PLEXUS__IPC_TYPE__IPC_SLEEP, &body.base, NULL, 0);
	plx_msg *reply = NULL;
	s->rc = plx_sendrec(s->ep, &req, &reply, TIMEOUT_MS);
	plx_msg_destroy(&reply);
	return NULL;
}

/* The server answers IPC_SLEEP from a worker thread of its own, through its mailbox. */
static void test_replies_sent_later_from_other_threads_arrive(void **state)
{
	tl_fixture *f = *state;
	sleeper sleepers[8];
	pthread_t threads[8];
	for (int i = 0; i < 8; i++) {
		sleepers[i] = (sleeper){.ep = f->client, .rc = -1};
		pthread_create(&threads[i], NULL, s_sleep_call, &sleepers[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(threads[i], NULL);
		assert_int_equal(sleepers[i].rc, 0);
	}
}

typedef struct poster {
	plx_ep *ep;
	uint64_t ids[10];
	int rc;
} poster;

static void *s_post_from_worker(void *arg)
{
	poster *p = arg;
	for (int i = 0; i < 10 && p->rc == 0; i++) {
		Plexus__IpcEcho echo = PLEXUS__IPC_ECHO__INIT;
		echo.sequence = (uint64_t)i;
		plx_request req =
		    tl_request("vfs", PLEXUS__IPC_TYPE__IPC_ECHO, &echo.base, NULL, 0);
		p->rc = plx_asynsend(p->ep, &req, &p->ids[i]);
	}
	plx_name dst = {.label = "vfs"};
	if (p->rc == 0)
		p->rc = plx_notify(p->ep, &dst, PLEXUS__IPC_TYPE__IPC_PING);
	return NULL;
}

/* Asynsends from a worker go out through the owner, so their replies reach plx_receive. */
static void test_asynsend_from_a_worker_replies_to_the_owner(void **state)
{
	tl_fixture *f = *state;
	poster p = {.ep = f->client};
	pthread_t thread;
	pthread_create(&thread, NULL, s_post_from_worker, &p);
	pthread_join(thread, NULL);
	assert_int_equal(p.rc, 0);
	unsigned seen = 0;
	for (int n = 0; n < 10; n++) {
		plx_msg *msg = NULL;
		assert_int_equal(plx_receive(f->client, &msg, TIMEOUT_MS), 0);
		assert_int_equal(msg->kind, PLX_REPLY);
		int found = -1;
		for (int i = 0; i < 10; i++)
			if (p.ids[i] == msg->request_id)
				found = i;
		assert_true(found >= 0);
		assert_false(seen & (1u << found));
		seen |= 1u << found;
		plx_msg_destroy(&msg);
	}
	for (int i = 0; i < 400; i++) {
		pthread_mutex_lock(&f->server->lock);
		int notifies = f->server->notifies;
		pthread_mutex_unlock(&f->server->lock);
		if (notifies == 1)
			break;
		usleep(5000);
	}
	pthread_mutex_lock(&f->server->lock);
	assert_int_equal(f->server->notifies, 1);
	pthread_mutex_unlock(&f->server->lock);
}

/* plx_ep_wake from another thread interrupts an idle receive. */
static void *s_wake_later(void *arg)
{
	usleep(100000);
	plx_ep_wake(arg);
	return NULL;
}

static void test_wake_interrupts_receive(void **state)
{
	tl_fixture *f = *state;
	pthread_t thread;
	pthread_create(&thread, NULL, s_wake_later, f->client);
	plx_msg *msg = NULL;
	assert_int_equal(plx_receive(f->client, &msg, TIMEOUT_MS), -EINTR);
	assert_null(msg);
	pthread_join(thread, NULL);
}

static void *s_raise_notifies(void *arg)
{
	plx_name source = {.label = "timer"};
	for (int i = 0; i < 5; i++)
		plx_ep_notify_local(arg, &source, PLEXUS__IPC_TYPE__IPC_PING);
	return NULL;
}

/* Notifies raised inside the process by another thread reach the owner's loop, coalesced. */
static void test_local_notifies_reach_the_owner(void **state)
{
	tl_fixture *f = *state;
	pthread_t thread;
	pthread_create(&thread, NULL, s_raise_notifies, f->client);
	pthread_join(thread, NULL);
	plx_msg *msg = NULL;
	assert_int_equal(plx_receive(f->client, &msg, TIMEOUT_MS), 0);
	assert_int_equal(msg->kind, PLX_NOTIFY);
	assert_string_equal(msg->source.label, "timer");
	assert_string_equal(msg->destination.label, "worker-pool");
	assert_true(plx_msg_is_local(msg));
	plx_msg_destroy(&msg);
	assert_int_equal(plx_receive(f->client, &msg, 100), -ETIMEDOUT);
	plx_name nobody = {.label = ""};
	assert_int_equal(plx_ep_notify_local(f->client, &nobody, 1), -EINVAL);
	assert_int_equal(plx_ep_notify_local(f->client, NULL, 1), -EINVAL);
}

/* More destinations than a thread's connection cache holds: old ones are closed and
 * reopened on demand. */
static void test_more_destinations_than_the_cache_holds(void **state)
{
	tl_fixture *f = *state;
	enum { N = 40 };
	tl_server *servers[N];
	char label[PLX_LABEL_MAX];
	for (int i = 0; i < N; i++) {
		snprintf(label, sizeof label, "disk%d", i);
		servers[i] = tl_server_start(f->ctx, label, 1, f->kind);
	}
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < N; i++) {
			snprintf(label, sizeof label, "disk%d", i);
			plx_request req =
			    tl_request(label, PLEXUS__IPC_TYPE__IPC_SINK, NULL, "z", 1);
			plx_msg *reply = NULL;
			assert_int_equal(plx_sendrec(f->client, &req, &reply, TIMEOUT_MS), 0);
			assert_string_equal(reply->source.label, label);
			plx_msg_destroy(&reply);
		}
	for (int i = 0; i < N; i++)
		tl_server_stop(&servers[i]);
}

int main(void)
{
	TL_FIXTURES("vfs", 4, "worker-pool");
	const struct CMUnitTest tests[] = {
	    TL_EACH_KIND(test_sixteen_threads_sendrec_with_every_reply_matched),
	    TL_EACH_KIND(test_replies_sent_later_from_other_threads_arrive),
	    TL_EACH_KIND(test_asynsend_from_a_worker_replies_to_the_owner),
	    TL_EACH_KIND(test_wake_interrupts_receive),
	    TL_EACH_KIND(test_local_notifies_reach_the_owner),
	    TL_EACH_KIND(test_more_destinations_than_the_cache_holds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
