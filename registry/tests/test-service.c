/*
 * test-service.c — the service runtime against a private etcd: settings from the environment
 * and options (with their errors), publication only when asked, a peer reaching the service
 * by its label, SIGTERM ending the loop, the record withdrawn on a clean stop, a replaced
 * generation refused, a warm spare waiting for its activation, and saved state that survives the
 * instance and stays private to its label.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <plexus/proto/ipc.pb-c.h>
#include <plexus/service.h>

#include "etcd_fixture.h"

static plx_etcdh *s_h;
static plx_etcd *s_etcd;
static char s_cluster[64];

static int s_setup(void **state)
{
	(void)state;
	sigset_t set; /* as a service's main does first: no thread may take SIGTERM */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	snprintf(s_cluster, sizeof s_cluster, "svc%d", (int)getpid());
	return etcd_fixture_start(&s_h, &s_etcd);
}

static int s_teardown(void **state)
{
	(void)state;
	etcd_fixture_stop(&s_h, &s_etcd);
	return 0;
}

static plx_service_cfg s_cfg(const char *label)
{
	plx_service_cfg cfg;
	char err[256];
	plx_service_cfg_init(&cfg);
	assert_int_equal(plx_service_cfg_set(&cfg, "label", label, err, sizeof err), 0);
	assert_int_equal(
	    plx_service_cfg_set(&cfg, "etcd", plx_etcdh_endpoints(s_h), err, sizeof err), 0);
	assert_int_equal(plx_service_cfg_set(&cfg, "cluster", s_cluster, err, sizeof err), 0);
	return cfg;
}

static void test_cfg_env_and_options(void **state)
{
	(void)state;
	plx_service_cfg cfg;
	char err[256] = "";
	plx_service_cfg_init(&cfg);
	assert_string_equal(cfg.cluster, "default");
	assert_int_equal(cfg.lease_ttl, PLX_SERVICE_LEASE_TTL);
	setenv("PLEXUS_LABEL", "memory", 1);
	setenv("PLEXUS_GENERATION", "7", 1);
	setenv("PLEXUS_INIT", "restart", 1);
	setenv("PLEXUS_ADDR", "10.213.0.11", 1);
	assert_int_equal(plx_service_cfg_env(&cfg, err, sizeof err), 0);
	assert_string_equal(cfg.label, "memory");
	assert_int_equal(cfg.generation, 7);
	assert_int_equal(cfg.init, PLX_INIT_RESTART);
	assert_string_equal(cfg.addr, "10.213.0.11");
	/* an option given afterwards wins */
	assert_int_equal(plx_service_cfg_set(&cfg, "init", "fresh", err, sizeof err), 0);
	assert_int_equal(cfg.init, PLX_INIT_FRESH);

	setenv("PLEXUS_GENERATION", "0", 1);
	assert_int_equal(plx_service_cfg_env(&cfg, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "PLEXUS_GENERATION"));
	assert_int_equal(cfg.generation, 7);
	unsetenv("PLEXUS_GENERATION");
	unsetenv("PLEXUS_LABEL");
	unsetenv("PLEXUS_INIT");
	unsetenv("PLEXUS_ADDR");

	assert_int_equal(plx_service_cfg_set(&cfg, "label", "a/b", err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "label"));
	assert_int_equal(plx_service_cfg_set(&cfg, "lease-ttl", "0", err, sizeof err), -EINVAL);
	assert_int_equal(plx_service_cfg_set(&cfg, "init", "warm", err, sizeof err), -EINVAL);
	assert_int_equal(plx_service_cfg_set(&cfg, "bind", "udp://x", err, sizeof err), -EINVAL);
	assert_int_equal(plx_service_cfg_set(&cfg, "size", "1M", err, sizeof err), -ENOENT);
	assert_string_equal(cfg.label, "memory");
}

static void test_no_label_is_refused(void **state)
{
	(void)state;
	plx_service_cfg cfg;
	char err[256] = "";
	plx_service_cfg_init(&cfg);
	assert_null(plx_service_new(&cfg, err, sizeof err));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err, "label"));
}

/* A peer with its own context and endpoint cache pings the service by label. */
static int s_ping(const char *label)
{
	plx_ctx *ctx = plx_ctx_new();
	plx_epcache *cache = plx_epcache_new(s_etcd, s_cluster, ctx);
	plx_ep *ep = plx_ep_new(ctx, "peer", 1);
	plx_request req = {.type = PLEXUS__IPC_TYPE__IPC_PING};
	snprintf(req.dst.label, sizeof req.dst.label, "%s", label);
	plx_msg *reply = NULL;
	int rc = cache && ep ? plx_sendrec(ep, &req, &reply, 5000) : -EIO;
	if (rc == 0)
		rc = reply->status;
	plx_msg_destroy(&reply);
	plx_ep_destroy(&ep);
	plx_epcache_destroy(&cache);
	plx_ctx_destroy(&ctx);
	return rc;
}

/* The peer's thread: pings, then stops the service as plexus-node would, with SIGTERM. */
static void *s_ping_then_term(void *arg)
{
	intptr_t rc = s_ping(arg);
	kill(getpid(), SIGTERM);
	return (void *)rc;
}

static void test_publish_reach_and_stop(void **state)
{
	(void)state;
	char err[256] = "";
	plx_service_cfg cfg = s_cfg("svc-a");
	plx_service *svc = plx_service_new(&cfg, err, sizeof err);
	assert_non_null(svc);
	plx_endpoint_rec rec;
	assert_int_equal(plx_endpoint_lookup(s_etcd, s_cluster, "svc-a", &rec), -ENOENT);

	plx_server *srv = plx_server_new(plx_service_ep(svc), NULL, 0, NULL);
	assert_non_null(srv);
	assert_int_equal(plx_service_publish(svc, "up"), 0);
	assert_int_equal(plx_endpoint_lookup(s_etcd, s_cluster, "svc-a", &rec), 0);
	assert_string_equal(rec.state, "up");
	assert_int_equal(rec.pid, getpid());
	assert_true(rec.generation >= 1);
	assert_string_equal(rec.address, plx_ep_address(plx_service_ep(svc)));
	assert_non_null(strstr(rec.address, "tcp://127.0.0.1:"));
	assert_true(rec.lease != 0);

	pthread_t thread;
	assert_int_equal(pthread_create(&thread, NULL, s_ping_then_term, "svc-a"), 0);
	assert_int_equal(plx_service_run(svc, srv), 0); /* in the endpoint's owner thread */
	void *rc;
	assert_int_equal(pthread_join(thread, &rc), 0);
	assert_int_equal((intptr_t)rc, 0);

	plx_server_destroy(&srv);
	plx_service_destroy(&svc);
	assert_null(svc);
	assert_int_equal(plx_endpoint_lookup(s_etcd, s_cluster, "svc-a", &rec), -ENOENT);
}

static void test_replaced_generation_is_refused(void **state)
{
	(void)state;
	char err[256] = "";
	uint64_t gen;
	assert_int_equal(plx_generation_next(s_etcd, s_cluster, "svc-b", &gen), 0);
	plx_service_cfg cfg = s_cfg("svc-b");
	cfg.generation = gen;
	plx_service *old = plx_service_new(&cfg, err, sizeof err);
	assert_non_null(old);
	assert_int_equal(plx_ep_name(plx_service_ep(old))->generation, gen);
	uint64_t newer;
	assert_int_equal(plx_generation_next(s_etcd, s_cluster, "svc-b", &newer), 0);
	assert_int_equal(plx_service_publish(old, "up"), -ESTALE);
	plx_service_destroy(&old);
}

/* ---- warm spares ---- */

typedef struct s_rs {
	const char *label;
	uint64_t gen;   /* the active generation, G; the spare is G+1 */
	bool term;      /* SIGTERM instead of an activation */
	int64_t lease;  /* the spare record's */
	bool saw_no_ep; /* ep/<label> absent while the spare waited */
} s_rs;

/* Plays RS: waits for spare/<label>, then activates it in one transaction as plexus-rs does
 * (or sends SIGTERM). */
static void *s_rs_thread(void *arg)
{
	s_rs *r = arg;
	char spare_key[256], gen_key[256], ep_key[256], expect[24], next[24];
	snprintf(spare_key, sizeof spare_key, "/plexus/%s/spare/%s", s_cluster, r->label);
	snprintf(gen_key, sizeof gen_key, "/plexus/%s/gen/%s", s_cluster, r->label);
	snprintf(ep_key, sizeof ep_key, "/plexus/%s/ep/%s", s_cluster, r->label);
	plx_kv *kv = NULL;
	for (int i = 0; i < 500 && plx_etcd_get(s_etcd, spare_key, &kv) != 0; i++)
		usleep(10 * 1000);
	if (!kv)
		return (void *)-1;
	plx_endpoint_rec rec;
	r->saw_no_ep = plx_endpoint_lookup(s_etcd, s_cluster, r->label, &rec) == -ENOENT;
	r->lease = kv->lease;
	int rc = 0;
	if (r->term) {
		kill(getpid(), SIGTERM);
	} else {
		snprintf(expect, sizeof expect, "%llu", (unsigned long long)r->gen);
		snprintf(next, sizeof next, "%llu", (unsigned long long)r->gen + 1);
		plx_cmp cmp = {.key = gen_key,
		               .target = PLX_CMP_VALUE,
		               .value = expect,
		               .value_size = strlen(expect)};
		plx_op ops[] = {
		    {.type = PLX_OP_PUT, .key = gen_key, .value = next, .value_size = strlen(next)},
		    {.type = PLX_OP_PUT,
		     .key = ep_key,
		     .value = kv->value,
		     .value_size = kv->value_size,
		     .lease = kv->lease},
		    {.type = PLX_OP_DELETE, .key = spare_key},
		};
		plx_txn txn = {&cmp, 1, ops, 3, NULL, 0};
		rc = plx_etcd_txn(s_etcd, &txn, NULL) == 1 ? 0 : -1;
	}
	plx_kv_free(&kv);
	return (void *)(intptr_t)rc;
}

static void s_count(void *arg, plx_service *svc)
{
	(void)svc;
	(*(int *)arg)++;
}

/* A spare writes spare/<label> instead of ep/<label>, waits, and returns from publish once
 * RS's transaction names its generation in ep/<label> (its hook run once); SIGTERM while it
 * waits ends the wait with -ECANCELED. */
static void test_spare_waits_for_activation(void **state)
{
	(void)state;
	char err[256] = "";
	uint64_t gen;
	assert_int_equal(plx_generation_next(s_etcd, s_cluster, "svc-s", &gen), 0);
	plx_service_cfg cfg = s_cfg("svc-s.spare");
	assert_int_equal(plx_service_cfg_set(&cfg, "service-label", "svc-s", err, sizeof err), 0);
	assert_int_equal(plx_service_cfg_set(&cfg, "spare", "1", err, sizeof err), 0);
	assert_int_equal(plx_service_cfg_set(&cfg, "spare", "2", err, sizeof err), -EINVAL);
	cfg.generation = gen + 1;
	plx_service *svc = plx_service_new(&cfg, err, sizeof err);
	assert_non_null(svc);
	int activated = 0;
	plx_service_on_activate(svc, s_count, &activated);
	s_rs r = {.label = "svc-s", .gen = gen};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, s_rs_thread, &r), 0);
	assert_int_equal(plx_service_publish(svc, "up"), 0);
	void *rc;
	assert_int_equal(pthread_join(t, &rc), 0);
	assert_int_equal((intptr_t)rc, 0);
	assert_true(r.saw_no_ep);
	assert_int_equal(activated, 1);
	plx_endpoint_rec rec;
	assert_int_equal(plx_endpoint_lookup(s_etcd, s_cluster, "svc-s", &rec), 0);
	assert_int_equal(rec.generation, gen + 1);
	assert_int_equal(rec.lease, r.lease);
	assert_int_equal(rec.pid, getpid());
	assert_int_equal(s_ping("svc-s"), -ETIMEDOUT); /* no loop runs: reached, not answered */
	plx_service_destroy(&svc);
	assert_int_equal(plx_endpoint_lookup(s_etcd, s_cluster, "svc-s", &rec), -ENOENT);

	/* stopped while a spare */
	assert_int_equal(plx_generation_next(s_etcd, s_cluster, "svc-s", &gen), 0);
	cfg.generation = gen + 1;
	svc = plx_service_new(&cfg, err, sizeof err);
	assert_non_null(svc);
	r = (s_rs){.label = "svc-s", .gen = gen, .term = true};
	assert_int_equal(pthread_create(&t, NULL, s_rs_thread, &r), 0);
	assert_int_equal(plx_service_publish(svc, "up"), -ECANCELED);
	assert_int_equal(pthread_join(t, &rc), 0);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	struct timespec ts = {1, 0};
	assert_int_equal(sigtimedwait(&set, NULL, &ts),
	                 SIGTERM); /* taken: later tests unaffected */
	plx_service_destroy(&svc);
}

static void test_state_survives_and_is_private(void **state)
{
	(void)state;
	char err[256] = "";
	plx_service_cfg cfg = s_cfg("svc-c");
	plx_service *svc = plx_service_new(&cfg, err, sizeof err);
	assert_non_null(svc);
	assert_false(plx_service_restarted(svc));
	const char saved[] = "open count 3";
	assert_int_equal(plx_service_state_save(svc, "counters", saved, sizeof saved), 0);
	plx_service_destroy(&svc);

	cfg.init = PLX_INIT_RESTART;
	svc = plx_service_new(&cfg, err, sizeof err);
	assert_non_null(svc);
	assert_true(plx_service_restarted(svc));
	char buf[64];
	size_t size = 4;
	assert_int_equal(plx_service_state_restore(svc, "counters", buf, &size), -ENOSPC);
	assert_int_equal(size, sizeof saved);
	size = sizeof buf;
	assert_int_equal(plx_service_state_restore(svc, "counters", buf, &size), 0);
	assert_int_equal(size, sizeof saved);
	assert_memory_equal(buf, saved, sizeof saved);

	plx_service_cfg other_cfg = s_cfg("svc-d");
	plx_service *other = plx_service_new(&other_cfg, err, sizeof err);
	assert_non_null(other);
	size = sizeof buf;
	assert_int_equal(plx_service_state_restore(other, "counters", buf, &size), -ENOENT);
	assert_int_equal(plx_service_state_save(other, "counters", "x", 1), 0);
	plx_service_destroy(&other);

	size = sizeof buf;
	assert_int_equal(plx_service_state_restore(svc, "counters", buf, &size), 0);
	assert_memory_equal(buf, saved, sizeof saved);
	assert_int_equal(plx_service_state_drop(svc, "counters"), 0);
	assert_int_equal(plx_service_state_drop(svc, "counters"), -ENOENT);
	size = sizeof buf;
	assert_int_equal(plx_service_state_restore(svc, "counters", buf, &size), -ENOENT);
	assert_int_equal(plx_service_state_save(svc, "", "x", 1), -EINVAL);
	plx_service_destroy(&svc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cfg_env_and_options),
	    cmocka_unit_test(test_no_label_is_refused),
	    cmocka_unit_test(test_publish_reach_and_stop),
	    cmocka_unit_test(test_replaced_generation_is_refused),
	    cmocka_unit_test(test_spare_waits_for_activation),
	    cmocka_unit_test(test_state_survives_and_is_private),
	};
	return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
