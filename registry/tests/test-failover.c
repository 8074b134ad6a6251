/*
 * test-failover.c — etcd going away under a running client:
 *   - one member killed and restarted in the middle of a stream of writes: the watch reports
 *     every write exactly once, in order (it resumes from its last revision + 1);
 *   - a 3-member cluster with the member the client talks to killed: requests move to the other
 *     members, the watch moves with them, nothing is lost; the killed member rejoins;
 *   - the same with the leader killed: a new one is elected and writes resume within seconds.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <plexus/etcd.h>

#include "etcd_harness.h"

#define WRITES 150

typedef struct seen {
	pthread_mutex_t lock;
	int values[WRITES * 2];
	int count;
	int disconnects;
	int reconnects;
} seen;

typedef struct writer {
	plx_etcd *etcd;
	atomic_int done; /* writes that etcd confirmed */
	int failures;    /* attempts that failed (etcd down) */
} writer;

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_record(const plx_watch_event *ev, void *arg)
{
	seen *s = arg;
	pthread_mutex_lock(&s->lock);
	if (ev->kind == PLX_WATCH_PUT && s->count < WRITES * 2)
		s->values[s->count++] = atoi((char *)ev->kv->value);
	s->disconnects += ev->kind == PLX_WATCH_DISCONNECTED;
	s->reconnects += ev->kind == PLX_WATCH_RECONNECTED;
	pthread_mutex_unlock(&s->lock);
}

/* Writes 0..WRITES-1 to one key, each retried until etcd confirms it. */
static void *s_write(void *arg)
{
	writer *w = arg;
	for (int i = 0; i < WRITES; i++) {
		char text[16];
		snprintf(text, sizeof text, "%d", i);
		while (plx_etcd_put(w->etcd, "/f/w/key", text, strlen(text), 0, NULL) < 0) {
			w->failures++;
			usleep(20 * 1000);
		}
		atomic_store(&w->done, i + 1);
		usleep(10 * 1000);
	}
	return NULL;
}

/* Waits until the writer has done at least n writes. */
static void s_wait_writes(writer *w, int n)
{
	int64_t start = s_now_ms();
	while (atomic_load(&w->done) < n) {
		assert_true(s_now_ms() - start < 20000);
		usleep(5 * 1000);
	}
}

/* Every value 0..WRITES-1 exactly once, in order. */
static void s_check_all_seen(seen *s)
{
	int64_t start = s_now_ms();
	for (;;) {
		pthread_mutex_lock(&s->lock);
		int count = s->count;
		pthread_mutex_unlock(&s->lock);
		if (count >= WRITES || s_now_ms() - start > 10000)
			break;
		usleep(20 * 1000);
	}
	usleep(200 * 1000); /* a duplicate would arrive now */
	pthread_mutex_lock(&s->lock);
	assert_int_equal(s->count, WRITES);
	for (int i = 0; i < WRITES; i++)
		assert_int_equal(s->values[i], i);
	pthread_mutex_unlock(&s->lock);
}

static plx_etcd *s_client(plx_etcdh *h)
{
	plx_etcd_opts opts = {.endpoints = plx_etcdh_endpoints(h), .timeout_ms = 1500};
	plx_etcd *etcd = plx_etcd_new(&opts);
	assert_non_null(etcd);
	return etcd;
}

static void test_restart_mid_watch_loses_nothing(void **state)
{
	(void)state;
	plx_etcdh *h = plx_etcdh_start(1);
	assert_non_null(h);
	seen s = {.lock = PTHREAD_MUTEX_INITIALIZER};
	writer w = {.etcd = s_client(h)};
	plx_etcd *reader = s_client(h);
	plx_watch *watch = plx_watch_new(reader, "/f/w/", 0, s_record, &s);
	assert_non_null(watch);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, s_write, &w), 0);

	s_wait_writes(&w, WRITES / 3);
	assert_int_equal(plx_etcdh_kill(h, 0), 0);
	usleep(700 * 1000);
	assert_int_equal(plx_etcdh_restart(h, 0), 0);
	pthread_join(t, NULL);
	fprintf(stderr, "writer: %d failed attempts while etcd was down\n", w.failures);
	assert_true(w.failures > 0); /* the kill really happened mid-stream */
	s_check_all_seen(&s);
	assert_int_equal(s.disconnects, 1);
	assert_int_equal(s.reconnects, 1);

	plx_watch_destroy(&watch);
	plx_etcd_destroy(&reader);
	plx_etcd_destroy(&w.etcd);
	plx_etcdh_stop(&h);
	assert_null(h);
}

static void test_cluster_survives_member_loss(void **state)
{
	(void)state;
	plx_etcdh *h = plx_etcdh_start(3);
	if (!h)
		fprintf(stderr, "harness: %s\n", plx_etcdh_error());
	assert_non_null(h);
	seen s = {.lock = PTHREAD_MUTEX_INITIALIZER};
	writer w = {.etcd = s_client(h)};
	plx_etcd *reader = s_client(h);
	plx_watch *watch = plx_watch_new(reader, "/f/w/", 0, s_record, &s);
	assert_non_null(watch);
	/* Both clients talk to member 0 first: kill exactly that one. */
	assert_string_equal(plx_etcd_endpoint(w.etcd), plx_etcdh_url(h, 0));
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, s_write, &w), 0);

	s_wait_writes(&w, WRITES / 3);
	assert_int_equal(plx_etcdh_kill(h, 0), 0);
	s_wait_writes(&w, 2 * WRITES / 3);
	assert_string_not_equal(plx_etcd_endpoint(w.etcd), plx_etcdh_url(h, 0));
	/* Plain requests work with one member down. */
	plx_kv *kv = NULL;
	assert_int_equal(plx_etcd_get(reader, "/f/w/key", &kv), 0);
	plx_kv_free(&kv);
	pthread_join(t, NULL);
	fprintf(stderr, "writer: %d failed attempts with one member down\n", w.failures);
	s_check_all_seen(&s);
	assert_int_equal(s.disconnects, 1);

	/* The member rejoins and serves again. */
	assert_int_equal(plx_etcdh_restart(h, 0), 0);
	plx_etcd_opts only0 = {.endpoints = plx_etcdh_url(h, 0), .timeout_ms = 2000};
	plx_etcd *direct = plx_etcd_new(&only0);
	assert_non_null(direct);
	int64_t start = s_now_ms();
	int rc;
	while ((rc = plx_etcd_get(direct, "/f/w/key", &kv)) != 0) {
		assert_true(s_now_ms() - start < 10000);
		usleep(50 * 1000);
	}
	assert_int_equal(atoi((char *)kv->value), WRITES - 1);
	plx_kv_free(&kv);
	plx_etcd_destroy(&direct);

	plx_watch_destroy(&watch);
	plx_etcd_destroy(&reader);
	plx_etcd_destroy(&w.etcd);
	plx_etcdh_stop(&h);
}

/* The leader dies: an election follows; requests fail over and the watch loses nothing. */
static void test_cluster_survives_leader_loss(void **state)
{
	(void)state;
	plx_etcdh *h = plx_etcdh_start(3);
	assert_non_null(h);
	plx_etcd *asker = s_client(h); /* lists the members in the harness's order */
	int leader = plx_etcd_leader(asker);
	assert_in_range(leader, 0, 2);
	seen s = {.lock = PTHREAD_MUTEX_INITIALIZER};
	writer w = {.etcd = s_client(h)};
	plx_etcd *reader = s_client(h);
	plx_watch *watch = plx_watch_new(reader, "/f/w/", 0, s_record, &s);
	assert_non_null(watch);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, s_write, &w), 0);
	s_wait_writes(&w, WRITES / 3);
	assert_int_equal(plx_etcdh_kill(h, leader), 0);
	int64_t killed = s_now_ms();
	int before = atomic_load(&w.done);
	while (atomic_load(&w.done) == before) {
		assert_true(s_now_ms() - killed < 5000); /* serving again within seconds */
		usleep(5 * 1000);
	}
	fprintf(stderr, "leader m%d killed: next write confirmed after %lld ms\n", leader,
	        (long long)(s_now_ms() - killed));
	int next;
	while ((next = plx_etcd_leader(asker)) == -EAGAIN) /* the killed one answers nothing */
		assert_true(s_now_ms() - killed < 5000);
	assert_in_range(next, 0, 2);
	assert_int_not_equal(next, leader);
	pthread_join(t, NULL);
	s_check_all_seen(&s);
	plx_watch_destroy(&watch);
	plx_etcd_destroy(&reader);
	plx_etcd_destroy(&w.etcd);
	plx_etcd_destroy(&asker);
	plx_etcdh_stop(&h);
}

/* How a member with an empty data directory starts (plx_etcd_join): as new when nobody
 * answers; a member that ran before (killed, its data gone) has its entry replaced by one
 * that never started, at the same peer URL, with a new ID, and the initial cluster names the
 * others and it; asked again, it is that never-started entry: new, nothing changed. */
static void test_join_replaces_a_member_that_ran(void **state)
{
	(void)state;
	char initial[1024] = "";
	plx_etcd *nobody =
	    plx_etcd_new(&(plx_etcd_opts){.endpoints = "http://127.0.0.1:1", .timeout_ms = 1000});
	assert_non_null(nobody);
	assert_int_equal(plx_etcd_join(nobody, "m9", "http://127.0.0.1:2", initial, sizeof initial),
	                 PLX_ETCD_JOIN_NEW);
	plx_etcd_destroy(&nobody);

	plx_etcdh *h = plx_etcdh_start(3);
	assert_non_null(h);
	plx_etcd *e = s_client(h);
	plx_etcd_member before[8], after[8];
	assert_int_equal(plx_etcd_members(e, before, 8), 3);
	int gone = -1;
	for (int i = 0; i < 3; i++) {
		assert_true(before[i].name[0] != '\0');
		assert_memory_equal(before[i].peer_url, "http://127.0.0.1:", 17);
	}
	assert_int_equal(plx_etcdh_kill(h, 2), 0);
	for (int i = 0; i < 3; i++) /* the harness names its members m0, m1, m2 */
		if (strcmp(before[i].name, "m2") == 0)
			gone = i;
	assert_true(gone >= 0);
	plx_etcd_member *m = &before[gone];
	/* etcd adds a member only when the others have been connected for 5 s (HealthInterval) */
	sleep(6);
	assert_int_equal(plx_etcd_join(e, m->name, m->peer_url, initial, sizeof initial),
	                 PLX_ETCD_JOIN_EXISTING);
	assert_int_equal(plx_etcd_members(e, after, 8), 3);
	int fresh = 0;
	char fresh_id[24] = "";
	for (int i = 0; i < 3; i++)
		if (strcmp(after[i].peer_url, m->peer_url) == 0) {
			fresh++;
			memcpy(fresh_id, after[i].id, sizeof fresh_id);
			assert_string_equal(after[i].name, "");
			assert_string_not_equal(after[i].id, m->id);
		}
	assert_int_equal(fresh, 1);
	char entry[256];
	for (int i = 0; i < 3; i++) {
		snprintf(entry, sizeof entry, "%s=%s", before[i].name, before[i].peer_url);
		assert_non_null(strstr(initial, entry));
	}
	assert_int_equal(strlen(initial), strlen(before[0].name) + strlen(before[0].peer_url) +
	                                      strlen(before[1].name) + strlen(before[1].peer_url) +
	                                      strlen(before[2].name) + strlen(before[2].peer_url) +
	                                      5);
	/* asked again: its entry never started, so the bootstrap goes on as new */
	assert_int_equal(plx_etcd_join(e, m->name, m->peer_url, initial, sizeof initial),
	                 PLX_ETCD_JOIN_NEW);
	plx_etcd_member again[8];
	assert_int_equal(plx_etcd_members(e, again, 8), 3);
	for (int i = 0; i < 3; i++)
		if (strcmp(again[i].peer_url, m->peer_url) == 0)
			assert_string_equal(again[i].id, fresh_id);
	plx_etcd_destroy(&e);
	plx_etcdh_stop(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_restart_mid_watch_loses_nothing),
	    cmocka_unit_test(test_cluster_survives_member_loss),
	    cmocka_unit_test(test_cluster_survives_leader_loss),
	    cmocka_unit_test(test_join_replaces_a_member_that_ran),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
