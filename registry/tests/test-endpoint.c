/*
 * test-endpoint.c — endpoint records against a private etcd: generations by compare-and-swap
 * from 8 threads, and in batches (plx_generation_next_many) racing single bumps and beyond one
 * transaction's size, publish/lookup/withdraw, stale publishers, lease expiry removing a node's
 * endpoints within TTL + 1 s, and the endpoint cache driving the transport's route table so
 * that a pending sendrec fails the moment its endpoint is removed or replaced; on a secured
 * context the cache takes a keyed address only with the root's certificate for it.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <plexus/endpoint.h>
#include <plexus/proto/ipc.pb-c.h>

#include "etcd_fixture.h"

#define THREADS          8
#define BUMPS_PER_THREAD 25

static plx_etcdh *s_h;
static plx_etcd *s_etcd;

static int s_setup(void **state)
{
	(void)state;
	return etcd_fixture_start(&s_h, &s_etcd);
}

static int s_teardown(void **state)
{
	(void)state;
	etcd_fixture_stop(&s_h, &s_etcd);
	return 0;
}

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static plx_endpoint_rec s_rec(const char *label, uint64_t generation, const char *address)
{
	plx_endpoint_rec rec = {.generation = generation, .pid = 4242, .start_time = 1000};
	snprintf(rec.label, sizeof rec.label, "%s", label);
	snprintf(rec.node, sizeof rec.node, "node1");
	snprintf(rec.address, sizeof rec.address, "%s", address);
	snprintf(rec.state, sizeof rec.state, "up");
	return rec;
}

typedef struct bumper {
	uint64_t got[BUMPS_PER_THREAD];
	int rc;
} bumper;

static void *s_bump(void *arg)
{
	bumper *b = arg;
	for (int i = 0; i < BUMPS_PER_THREAD && b->rc == 0; i++)
		b->rc = plx_generation_next(s_etcd, "gens", "racy", &b->got[i]);
	return NULL;
}

/* 8 threads advance one counter 200 times: every value 1..200 exactly once. */
static void test_generations_never_repeat(void **state)
{
	(void)state;
	bumper b[THREADS] = {0};
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, s_bump, &b[i]), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	int seen[THREADS * BUMPS_PER_THREAD + 1] = {0};
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(b[i].rc, 0);
		for (int j = 0; j < BUMPS_PER_THREAD; j++) {
			assert_true(b[i].got[j] >= 1 && b[i].got[j] <= THREADS * BUMPS_PER_THREAD);
			assert_int_equal(seen[b[i].got[j]]++, 0);
			if (j > 0)
				assert_true(b[i].got[j] > b[i].got[j - 1]);
		}
	}
	uint64_t next = 0;
	assert_int_equal(plx_generation_next(s_etcd, "gens", "racy", &next), 0);
	assert_int_equal(next, THREADS * BUMPS_PER_THREAD + 1);
}

/* Batches: each label its own next value, absent labels start at 1, a bad label fails alone,
 * more labels than one transaction takes. */
static void test_generation_batches(void **state)
{
	(void)state;
	uint64_t g = 0, gens[PLX_GENERATION_BATCH * 2 + 8];
	int rcs[PLX_GENERATION_BATCH * 2 + 8];
	assert_int_equal(plx_generation_next(s_etcd, "batch", "a", &g), 0);
	assert_int_equal(plx_generation_next(s_etcd, "batch", "a", &g), 0);
	assert_int_equal(plx_generation_next(s_etcd, "batch", "b", &g), 0);
	const char *labels[] = {"a", "b", "c", "bad/label"};
	assert_int_equal(plx_generation_next_many(s_etcd, "batch", labels, 4, gens, rcs), 1);
	assert_int_equal(rcs[0], 0);
	assert_int_equal(gens[0], 3);
	assert_int_equal(rcs[1], 0);
	assert_int_equal(gens[1], 2);
	assert_int_equal(rcs[2], 0);
	assert_int_equal(gens[2], 1);
	assert_int_equal(rcs[3], -EINVAL);
	assert_int_equal(plx_generation_next(s_etcd, "batch", "c", &g), 0);
	assert_int_equal(g, 2);
	size_t n = sizeof gens / sizeof *gens;
	char names[sizeof gens / sizeof *gens][16];
	const char *many[sizeof gens / sizeof *gens];
	for (size_t i = 0; i < n; i++) {
		snprintf(names[i], sizeof names[i], "m%zu", i);
		many[i] = names[i];
	}
	for (uint64_t round = 1; round <= 2; round++) {
		assert_int_equal(plx_generation_next_many(s_etcd, "batch", many, n, gens, rcs), 0);
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(rcs[i], 0);
			assert_int_equal(gens[i], round);
		}
	}
	assert_int_equal(plx_generation_next_many(s_etcd, "batch", NULL, 0, NULL, NULL), 0);
	assert_int_equal(plx_generation_next_many(s_etcd, "", labels, 1, gens, rcs), -EINVAL);
}

typedef struct batcher {
	uint64_t got[BUMPS_PER_THREAD][2];
	int rc;
} batcher;

static void *s_bump_batch(void *arg)
{
	batcher *b = arg;
	const char *labels[] = {"racy", "other"};
	int rcs[2];
	for (int i = 0; i < BUMPS_PER_THREAD && b->rc == 0; i++)
		if (plx_generation_next_many(s_etcd, "gensb", labels, 2, b->got[i], rcs) != 0)
			b->rc = rcs[0] ? rcs[0] : rcs[1];
	return NULL;
}

static void *s_bump_one(void *arg)
{
	bumper *b = arg;
	for (int i = 0; i < BUMPS_PER_THREAD && b->rc == 0; i++)
		b->rc = plx_generation_next(s_etcd, "gensb", "racy", &b->got[i]);
	return NULL;
}

/* 4 threads advance "racy" and "other" in batches while 4 advance "racy" alone: every value of
 * "racy" is taken exactly once, and every value of "other" too. */
static void test_generation_batches_race(void **state)
{
	(void)state;
	batcher bb[THREADS / 2] = {0};
	bumper bo[THREADS / 2] = {0};
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS / 2; i++) {
		assert_int_equal(pthread_create(&t[i], NULL, s_bump_batch, &bb[i]), 0);
		assert_int_equal(pthread_create(&t[THREADS / 2 + i], NULL, s_bump_one, &bo[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	int racy[THREADS * BUMPS_PER_THREAD + 1] = {0}, other[THREADS * BUMPS_PER_THREAD + 1] = {0};
	for (int i = 0; i < THREADS / 2; i++) {
		assert_int_equal(bb[i].rc, 0);
		assert_int_equal(bo[i].rc, 0);
		for (int j = 0; j < BUMPS_PER_THREAD; j++) {
			assert_true(bb[i].got[j][0] >= 1 &&
			            bb[i].got[j][0] <= THREADS * BUMPS_PER_THREAD);
			assert_true(bo[i].got[j] >= 1 &&
			            bo[i].got[j] <= THREADS * BUMPS_PER_THREAD);
			assert_true(bb[i].got[j][1] >= 1 &&
			            bb[i].got[j][1] <= THREADS / 2 * BUMPS_PER_THREAD);
			assert_int_equal(racy[bb[i].got[j][0]]++, 0);
			assert_int_equal(racy[bo[i].got[j]]++, 0);
			assert_int_equal(other[bb[i].got[j][1]]++, 0);
		}
	}
}

static void test_publish_lookup_withdraw(void **state)
{
	(void)state;
	uint64_t g1 = 0, g2 = 0;
	assert_int_equal(plx_generation_next(s_etcd, "pub", "disk", &g1), 0);
	assert_int_equal(g1, 1);
	plx_endpoint_rec rec = s_rec("disk", g1, "tcp://10.0.0.1:5000");
	assert_int_equal(plx_endpoint_publish(s_etcd, "pub", &rec, 0), 0);
	plx_endpoint_rec got;
	assert_int_equal(plx_endpoint_lookup(s_etcd, "pub", "disk", &got), 0);
	assert_string_equal(got.address, "tcp://10.0.0.1:5000");
	assert_int_equal(got.generation, 1);
	assert_int_equal(got.pid, 4242);
	assert_string_equal(got.node, "node1");
	assert_string_equal(got.state, "up");
	assert_int_equal(got.start_time, 1000);

	/* A successor takes generation 2; the old instance can no longer publish. */
	assert_int_equal(plx_generation_next(s_etcd, "pub", "disk", &g2), 0);
	assert_int_equal(g2, 2);
	assert_int_equal(plx_endpoint_publish(s_etcd, "pub", &rec, 0), -ESTALE);
	plx_endpoint_rec rec2 = s_rec("disk", g2, "tcp://10.0.0.2:5000");
	assert_int_equal(plx_endpoint_publish(s_etcd, "pub", &rec2, 0), 0);
	assert_int_equal(plx_endpoint_withdraw(s_etcd, "pub", "disk", g1), -ESTALE);

	plx_endpoint_rec *list = NULL;
	size_t bad = 9;
	assert_int_equal(plx_endpoint_list(s_etcd, "pub", &list, &bad), 1);
	assert_int_equal(bad, 0);
	assert_int_equal(list[0].generation, 2);
	free(list);

	assert_int_equal(plx_endpoint_withdraw(s_etcd, "pub", "disk", g2), 0);
	assert_int_equal(plx_endpoint_lookup(s_etcd, "pub", "disk", &got), -ENOENT);
	assert_int_equal(plx_endpoint_withdraw(s_etcd, "pub", "disk", g2), -ENOENT);
}

/* plx_is_gone: whether a caller died, for a label this process never sent to (and
 * plx_is_known_gone, the same from the table alone, never asking). The cache asks
 * the registry on first use: a generation before the label's last (gen/<label>) is dead even
 * with no record left, the last is not (it may not have published yet), and once a newer
 * generation is published every older one is dead. */
static void test_callers_known_gone(void **state)
{
	(void)state;
	uint64_t g1 = 0, g2 = 0, g3 = 0;
	assert_int_equal(plx_generation_next(s_etcd, "gone", "client.x", &g1), 0);
	assert_int_equal(plx_generation_next(s_etcd, "gone", "client.x", &g2), 0);
	plx_endpoint_rec rec = s_rec("client.x", g2, "tcp://10.0.0.3:5000");
	assert_int_equal(plx_endpoint_publish(s_etcd, "gone", &rec, 0), 0);
	assert_int_equal(plx_endpoint_withdraw(s_etcd, "gone", "client.x", g2), 0);
	plx_ctx *ctx = plx_ctx_new();
	assert_non_null(ctx);
	plx_epcache *cache = plx_epcache_new(s_etcd, "gone", ctx);
	assert_non_null(cache);
	assert_false(
	    plx_is_dead(ctx, "client.x", g1)); /* never followed: the table knows nothing */
	assert_false(plx_is_known_gone(ctx, "client.x", g1)); /* asks nobody */
	assert_true(plx_is_gone(ctx, "client.x", g1));
	assert_true(plx_is_known_gone(ctx, "client.x", g1)); /* followed now */
	assert_false(plx_is_gone(ctx, "client.x", g2));
	assert_false(plx_is_gone(ctx, "never.published", 1));
	assert_int_equal(plx_generation_next(s_etcd, "gone", "client.x", &g3), 0);
	rec = s_rec("client.x", g3, "tcp://10.0.0.3:5001");
	assert_int_equal(plx_endpoint_publish(s_etcd, "gone", &rec, 0), 0);
	bool seen = false; /* the label is followed now: the new record arrives by the watch */
	for (int i = 0; i < 200 && !seen; i++, usleep(10 * 1000))
		seen = plx_is_known_gone(ctx, "client.x", g2);
	assert_true(seen);
	assert_false(plx_is_gone(ctx, "client.x", g3));
	plx_epcache_destroy(&cache);
	plx_ctx_destroy(&ctx);
}

static void test_malformed_records(void **state)
{
	(void)state;
	const char *bad[] = {"garbage", "{\"label\":\"x\"}",
	                     "{\"label\":\"other\",\"generation\":1,\"node\":\"n\",\"address\":"
	                     "\"tcp://a:1\",\"pid\":1,\"state\":\"up\",\"start_time\":0}",
	                     "{\"label\":\"x\",\"generation\":-3,\"node\":\"n\",\"address\":"
	                     "\"tcp://a:1\",\"pid\":1,\"state\":\"up\",\"start_time\":0}",
	                     "{\"label\":\"x\",\"generation\":3,\"node\":\"n\",\"address\":"
	                     "\"tcp://a:1\",\"pid\":1,\"state\":\"up\",\"start_time\":0,"
	                     "\"cert\":5}"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(
		    plx_etcd_put(s_etcd, "/plexus/mal/ep/x", bad[i], strlen(bad[i]), 0, NULL), 0);
		plx_endpoint_rec got = {.pid = 77};
		assert_int_equal(plx_endpoint_lookup(s_etcd, "mal", "x", &got), -EBADMSG);
		assert_int_equal(got.pid, 77);
	}
	plx_endpoint_rec *list = NULL;
	size_t malformed = 0;
	assert_int_equal(plx_endpoint_list(s_etcd, "mal", &list, &malformed), 0);
	assert_int_equal(malformed, 1);
	free(list);
}

/* A node dies (its keep-alives stop): its endpoints vanish within TTL + 1 s, from etcd and
 * from the route table of a process that caches them. */
static void test_lease_expiry_removes_endpoints(void **state)
{
	(void)state;
	plx_ctx *ctx = plx_ctx_new();
	assert_non_null(ctx);
	plx_epcache *cache = plx_epcache_new(s_etcd, "lease", ctx);
	assert_non_null(cache);
	plx_lease *node = plx_lease_new(s_etcd, 1);
	assert_non_null(node);
	const char *labels[] = {"tty", "vdisk", "log"};
	for (int i = 0; i < 3; i++) {
		uint64_t g;
		assert_int_equal(plx_generation_next(s_etcd, "lease", labels[i], &g), 0);
		plx_endpoint_rec rec = s_rec(labels[i], g, "ipc:///tmp/x");
		assert_int_equal(plx_endpoint_publish(s_etcd, "lease", &rec, plx_lease_id(node)),
		                 0);
	}
	sleep(2); /* outlive the TTL on keep-alives */
	plx_endpoint_rec *list = NULL;
	assert_int_equal(plx_endpoint_list(s_etcd, "lease", &list, NULL), 3);
	free(list);
	assert_int_equal(plx_route_lookup(ctx, "vdisk", NULL, NULL, 0), 0);

	int64_t died = s_now_ms();
	plx_lease_destroy(&node, false); /* no revoke: the node just stops */
	int64_t gone_etcd = 0, gone_cache = 0;
	while ((!gone_etcd || !gone_cache) && s_now_ms() - died < 5000) {
		int n = plx_endpoint_list(s_etcd, "lease", &list, NULL);
		free(list);
		if (!gone_etcd && n == 0)
			gone_etcd = s_now_ms() - died;
		bool any = false;
		for (int i = 0; i < 3; i++)
			any |= plx_route_lookup(ctx, labels[i], NULL, NULL, 0) == 0;
		if (!gone_cache && !any)
			gone_cache = s_now_ms() - died;
		usleep(20 * 1000);
	}
	fprintf(stderr, "endpoints gone from etcd after %lld ms, from the cache after %lld ms\n",
	        (long long)gone_etcd, (long long)gone_cache);
	assert_true(gone_etcd > 0 && gone_etcd <= 2000);
	assert_true(gone_cache > 0 && gone_cache <= 2000);
	plx_epcache_destroy(&cache);
	plx_ctx_destroy(&ctx);
}

typedef struct waiter {
	plx_ctx *ctx;
	int rc;
	int64_t done_ms;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool sending;
} waiter;

/* Sends a request nobody answers and records how it ends. */
static void *s_send(void *arg)
{
	waiter *w = arg;
	plx_ep *client = plx_ep_new(w->ctx, "client", 1);
	plx_request req = {.dst = {.label = "srv"}, .type = PLEXUS__IPC_TYPE__IPC_NO_REPLY};
	plx_msg *reply = NULL;
	pthread_mutex_lock(&w->lock);
	w->sending = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	w->rc = client ? plx_sendrec(client, &req, &reply, 10000) : -ENOMEM;
	w->done_ms = s_now_ms();
	plx_msg_destroy(&reply);
	plx_ep_destroy(&client);
	return NULL;
}

/* Starts a sendrec to "srv" in a thread and waits until it is under way. */
static pthread_t s_start_send(waiter *w)
{
	pthread_t t;
	w->sending = false;
	assert_int_equal(pthread_create(&t, NULL, s_send, w), 0);
	pthread_mutex_lock(&w->lock);
	while (!w->sending)
		pthread_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
	usleep(200 * 1000); /* the request is out and waiting */
	return t;
}

/* Waits until the cache routes label at generation. */
static void s_wait_route(plx_ctx *ctx, const char *label, uint64_t generation)
{
	int64_t start = s_now_ms();
	uint64_t g = 0;
	while (plx_route_lookup(ctx, label, &g, NULL, 0) != 0 || g != generation) {
		assert_true(s_now_ms() - start < 3000);
		usleep(5 * 1000);
	}
}

static void test_cache_fails_pending_requests(void **state)
{
	(void)state;
	waiter w = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
	w.ctx = plx_ctx_new();
	assert_non_null(w.ctx);
	uint64_t g1, g2;
	assert_int_equal(plx_generation_next(s_etcd, "cache", "srv", &g1), 0);
	plx_ep *server = plx_ep_new(w.ctx, "srv", g1);
	assert_non_null(server);
	assert_int_equal(plx_ep_bind(server, "tcp://127.0.0.1:*"), 0);
	plx_endpoint_rec rec = s_rec("srv", g1, plx_ep_address(server));
	assert_int_equal(plx_endpoint_publish(s_etcd, "cache", &rec, 0), 0);

	plx_epcache *cache = plx_epcache_new(s_etcd, "cache", w.ctx);
	assert_non_null(cache);
	char address[PLX_ADDRESS_MAX];
	uint64_t g = 0;
	assert_int_equal(plx_route_lookup(w.ctx, "srv", &g, address, sizeof address), 0);
	assert_int_equal(g, g1);
	assert_string_equal(address, plx_ep_address(server));

	/* Replaced: a new generation is published while a request waits on the old one. */
	pthread_t t = s_start_send(&w);
	assert_int_equal(plx_generation_next(s_etcd, "cache", "srv", &g2), 0);
	rec = s_rec("srv", g2, plx_ep_address(server));
	int64_t changed = s_now_ms();
	assert_int_equal(plx_endpoint_publish(s_etcd, "cache", &rec, 0), 0);
	pthread_join(t, NULL);
	assert_int_equal(w.rc, -PLX_EDEADSRCDST);
	assert_true(w.done_ms - changed < 1000);
	assert_true(plx_is_dead(w.ctx, "srv", g1));
	assert_false(plx_is_dead(w.ctx, "srv", g2));
	s_wait_route(w.ctx, "srv", g2);

	/* Removed: the record is withdrawn while a request waits. */
	t = s_start_send(&w);
	changed = s_now_ms();
	assert_int_equal(plx_endpoint_withdraw(s_etcd, "cache", "srv", g2), 0);
	pthread_join(t, NULL);
	assert_int_equal(w.rc, -PLX_EDEADSRCDST);
	assert_true(w.done_ms - changed < 1000);
	assert_int_equal(plx_route_lookup(w.ctx, "srv", NULL, NULL, 0), -ENOENT);
	assert_true(plx_is_dead(w.ctx, "srv", g2));
	assert_true(plx_epcache_revision(cache) > 0);

	/* A malformed record for a label removes its route rather than keep a wrong one. */
	rec = s_rec("srv", g2, plx_ep_address(server));
	assert_int_equal(plx_endpoint_publish(s_etcd, "cache", &rec, 0), 0);
	s_wait_route(w.ctx, "srv", g2);
	assert_int_equal(plx_etcd_put(s_etcd, "/plexus/cache/ep/srv", "{}", 2, 0, NULL), 0);
	int64_t start = s_now_ms();
	while (plx_route_lookup(w.ctx, "srv", NULL, NULL, 0) == 0) {
		assert_true(s_now_ms() - start < 3000);
		usleep(5 * 1000);
	}
	plx_epcache_destroy(&cache);
	assert_null(cache);
	plx_ep_destroy(&server);
	plx_ctx_destroy(&w.ctx);
}

/* A secured server's keys and certificate for label/generation, from root sk. */
static plx_ep *s_secured_ep(plx_ctx *ctx, const uint8_t *sk, const char *label, uint64_t gen,
                            const char *cert_label)
{
	plx_link_keys keys;
	char cert[PLX_CERT_MAX];
	plx_name who = {.generation = gen};
	snprintf(who.label, sizeof who.label, "%s", cert_label);
	assert_int_equal(plx_link_keys_new(&keys), 0);
	assert_int_equal(plx_cert_issue(sk, &who, keys.public_key, cert, sizeof cert), 0);
	plx_ep *ep = plx_ep_new(ctx, label, gen);
	assert_non_null(ep);
	assert_int_equal(plx_ep_set_keys(ep, &keys, cert), 0);
	assert_int_equal(plx_ep_bind(ep, "tcp://127.0.0.1:*"), 0);
	return ep;
}

static void s_wait_no_route(plx_ctx *ctx, const char *label)
{
	int64_t start = s_now_ms();
	while (plx_route_lookup(ctx, label, NULL, NULL, 0) == 0) {
		assert_true(s_now_ms() - start < 3000);
		usleep(5 * 1000);
	}
}

/* On a secured context the cache takes a record's keyed address only with the cluster root's
 * certificate for that label, generation and key: whoever may write ep/ cannot point clients
 * at a key of their own. */
static void test_cache_takes_certified_records(void **state)
{
	(void)state;
	uint8_t pk[PLX_TRUST_PUBLIC], sk[PLX_TRUST_SECRET];
	assert_int_equal(plx_trust_new(pk, sk), 0);
	plx_ctx *ctx = plx_ctx_new(), *intruders = plx_ctx_new();
	assert_int_equal(plx_ctx_trust(ctx, pk), 0);
	assert_int_equal(plx_ctx_trust(intruders, pk), 0);
	uint64_t g;
	assert_int_equal(plx_generation_next(s_etcd, "cert", "vfs", &g), 0);
	plx_ep *vfs = s_secured_ep(ctx, sk, "vfs", g, "vfs");
	/* a key holder of another label (a node kernel taken over) with a server of its own */
	plx_ep *intruder = s_secured_ep(intruders, sk, "intruder", 1, "intruder");
	plx_endpoint_rec rec = s_rec("vfs", g, "");
	plx_endpoint_rec_address(&rec, vfs, NULL);
	assert_string_equal(rec.cert, plx_ep_cert(vfs));
	assert_int_equal(plx_endpoint_publish(s_etcd, "cert", &rec, 0), 0);
	plx_endpoint_rec got;
	assert_int_equal(plx_endpoint_lookup(s_etcd, "cert", "vfs", &got), 0);
	assert_string_equal(got.cert, rec.cert);
	plx_epcache *cache = plx_epcache_new(s_etcd, "cert", ctx);
	assert_non_null(cache);
	s_wait_route(ctx, "vfs", g);

	plx_endpoint_rec forged = rec; /* the intruder's address, with its own certificate */
	plx_endpoint_rec_address(&forged, intruder, NULL);
	assert_int_equal(plx_endpoint_publish(s_etcd, "cert", &forged, 0), 0);
	s_wait_no_route(ctx, "vfs");
	plx_endpoint_publish(s_etcd, "cert", &rec, 0);
	s_wait_route(ctx, "vfs", g);
	snprintf(forged.cert, sizeof forged.cert, "%s", rec.cert); /* vfs's, for another key */
	assert_int_equal(plx_endpoint_publish(s_etcd, "cert", &forged, 0), 0);
	s_wait_no_route(ctx, "vfs");
	forged.cert[0] = '\0'; /* none at all */
	assert_int_equal(plx_endpoint_publish(s_etcd, "cert", &forged, 0), 0);
	s_wait_no_route(ctx, "vfs");
	plx_endpoint_publish(s_etcd, "cert", &rec, 0);
	s_wait_route(ctx, "vfs", g);
	char address[PLX_ADDRESS_MAX];
	assert_int_equal(plx_route_lookup(ctx, "vfs", NULL, address, sizeof address), 0);
	assert_string_equal(address, plx_ep_address(vfs));
	plx_epcache_destroy(&cache);
	plx_ep_destroy(&intruder);
	plx_ep_destroy(&vfs);
	plx_ctx_destroy(&intruders);
	plx_ctx_destroy(&ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_generations_never_repeat),
	    cmocka_unit_test(test_generation_batches),
	    cmocka_unit_test(test_generation_batches_race),
	    cmocka_unit_test(test_publish_lookup_withdraw),
	    cmocka_unit_test(test_callers_known_gone),
	    cmocka_unit_test(test_malformed_records),
	    cmocka_unit_test(test_lease_expiry_removes_endpoints),
	    cmocka_unit_test(test_cache_fails_pending_requests),
	    cmocka_unit_test(test_cache_takes_certified_records),
	};
	return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
