/*
 * test-etcd.c — the etcd client against a private one-member etcd: key-value, transactions,
 * leases, watches (events, compaction), errors when etcd is down and recovery after.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <plexus/etcd.h>
#include <plexus/etcd_tls.h>

#include "etcd_fixture.h"

static plx_etcdh *s_h;

typedef struct s_log {
	pthread_mutex_t lock;
	int puts, deletes, compacted, disconnected, reconnected;
	int64_t last_revision;
	int64_t compact_revision;
	char last_key[128];
	char last_value[128];
} s_log;

static int s_setup(void **state)
{
	(void)state;
	return etcd_fixture_start(&s_h, NULL);
}

static int s_teardown(void **state)
{
	(void)state;
	etcd_fixture_stop(&s_h, NULL);
	return 0;
}

static plx_etcd *s_client(void)
{
	plx_etcd_opts opts = {.endpoints = plx_etcdh_endpoints(s_h), .timeout_ms = 1000};
	plx_etcd *etcd = plx_etcd_new(&opts);
	assert_non_null(etcd);
	return etcd;
}

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_record(const plx_watch_event *ev, void *arg)
{
	s_log *log = arg;
	pthread_mutex_lock(&log->lock);
	switch (ev->kind) {
	case PLX_WATCH_PUT:
		log->puts++;
		snprintf(log->last_value, sizeof log->last_value, "%s", (char *)ev->kv->value);
		break;
	case PLX_WATCH_DELETE:
		log->deletes++;
		break;
	case PLX_WATCH_COMPACTED:
		log->compacted++;
		log->compact_revision = ev->revision;
		break;
	case PLX_WATCH_DISCONNECTED:
		log->disconnected++;
		break;
	case PLX_WATCH_RECONNECTED:
		log->reconnected++;
		break;
	}
	if (ev->kv) {
		snprintf(log->last_key, sizeof log->last_key, "%s", ev->kv->key);
		log->last_revision = ev->revision;
	}
	pthread_mutex_unlock(&log->lock);
}

/* Waits up to ms for *counter (under log's lock) to reach want. */
static bool s_wait_count(s_log *log, const int *counter, int want, int ms)
{
	int64_t deadline = s_now_ms() + ms;
	for (;;) {
		pthread_mutex_lock(&log->lock);
		int now = *counter;
		pthread_mutex_unlock(&log->lock);
		if (now >= want)
			return true;
		if (s_now_ms() > deadline)
			return false;
		usleep(10 * 1000);
	}
}

static void test_put_get_range_delete(void **state)
{
	(void)state;
	plx_etcd *etcd = s_client();
	int64_t rev = 0;
	assert_int_equal(plx_etcd_put(etcd, "/t/kv/a", "alpha", 5, 0, &rev), 0);
	assert_true(rev > 0);
	assert_int_equal(plx_etcd_put(etcd, "/t/kv/b", "\0\1\2", 3, 0, NULL), 0);
	assert_int_equal(plx_etcd_put(etcd, "/t/kva", "outside", 7, 0, NULL), 0);

	plx_kv *kv = NULL;
	assert_int_equal(plx_etcd_get(etcd, "/t/kv/a", &kv), 0);
	assert_string_equal(kv->key, "/t/kv/a");
	assert_int_equal(kv->value_size, 5);
	assert_memory_equal(kv->value, "alpha", 5);
	assert_int_equal(kv->mod_revision, rev);
	plx_kv_free(&kv);
	assert_null(kv);
	assert_int_equal(plx_etcd_get(etcd, "/t/kv/none", &kv), -ENOENT);
	assert_null(kv);

	plx_kvs *kvs = NULL;
	assert_int_equal(plx_etcd_range(etcd, "/t/kv/", &kvs), 2);
	assert_string_equal(kvs->kvs[0].key, "/t/kv/a");
	assert_string_equal(kvs->kvs[1].key, "/t/kv/b");
	assert_memory_equal(kvs->kvs[1].value, "\0\1\2", 3);
	plx_kvs_free(&kvs);

	assert_int_equal(plx_etcd_delete(etcd, "/t/kv/", true), 2);
	assert_int_equal(plx_etcd_range(etcd, "/t/kv/", &kvs), 0);
	plx_kvs_free(&kvs);
	assert_int_equal(plx_etcd_delete(etcd, "/t/kva", false), 1);
	assert_int_equal(plx_etcd_delete(etcd, "/t/kva", false), 0);
	plx_etcd_destroy(&etcd);
	assert_null(etcd);
}

/* Compare-and-swap: create only if absent, then swap only at the revision read. */
static void test_txn_cas(void **state)
{
	(void)state;
	plx_etcd *etcd = s_client();
	plx_cmp absent = {.key = "/t/cas", .target = PLX_CMP_VERSION, .number = 0};
	plx_op put1 = {.type = PLX_OP_PUT, .key = "/t/cas", .value = "1", .value_size = 1};
	plx_op get = {.type = PLX_OP_GET, .key = "/t/cas"};
	plx_txn create = {&absent, 1, &put1, 1, &get, 1};
	plx_kvs *got = NULL;
	assert_int_equal(plx_etcd_txn(etcd, &create, &got), 1);
	assert_int_equal(got->count, 0);
	plx_kvs_free(&got);
	assert_int_equal(plx_etcd_txn(etcd, &create, &got), 0); /* exists now: failure branch */
	assert_int_equal(got->count, 1);
	assert_memory_equal(got->kvs[0].value, "1", 1);
	int64_t seen = got->kvs[0].mod_revision;
	plx_kvs_free(&got);

	plx_cmp at_seen = {.key = "/t/cas", .target = PLX_CMP_MOD, .number = seen};
	plx_op put2 = {.type = PLX_OP_PUT, .key = "/t/cas", .value = "2", .value_size = 1};
	plx_txn swap = {&at_seen, 1, &put2, 1, NULL, 0};
	assert_int_equal(plx_etcd_txn(etcd, &swap, NULL), 1);
	assert_int_equal(plx_etcd_txn(etcd, &swap, NULL), 0); /* revision moved on */

	plx_cmp is_two = {.key = "/t/cas", .target = PLX_CMP_VALUE, .value = "2", .value_size = 1};
	plx_op del = {.type = PLX_OP_DELETE, .key = "/t/cas"};
	plx_txn remove = {&is_two, 1, &del, 1, NULL, 0};
	assert_int_equal(plx_etcd_txn(etcd, &remove, NULL), 1);
	plx_kv *kv = NULL;
	assert_int_equal(plx_etcd_get(etcd, "/t/cas", &kv), -ENOENT);
	plx_etcd_destroy(&etcd);
}

/* A kept-alive lease outlives its TTL; after destroy without revoke its keys expire. */
static void test_lease_keepalive_and_expiry(void **state)
{
	(void)state;
	plx_etcd *etcd = s_client();
	plx_lease *lease = plx_lease_new(etcd, 1);
	assert_non_null(lease);
	assert_int_equal(plx_etcd_put(etcd, "/t/lease/k", "v", 1, plx_lease_id(lease), NULL), 0);
	sleep(3);
	assert_true(plx_lease_alive(lease));
	plx_kv *kv = NULL;
	assert_int_equal(plx_etcd_get(etcd, "/t/lease/k", &kv), 0);
	assert_int_equal(kv->lease, plx_lease_id(lease));
	plx_kv_free(&kv);
	int64_t id = plx_lease_id(lease);
	plx_lease_destroy(&lease, false);
	assert_null(lease);
	int64_t start = s_now_ms();
	while (plx_etcd_get(etcd, "/t/lease/k", &kv) == 0) {
		plx_kv_free(&kv);
		assert_true(s_now_ms() - start < 3000);
		usleep(50 * 1000);
	}
	assert_int_equal(plx_etcd_lease_keepalive(etcd, id), -ENOENT);

	int64_t id2 = 0;
	assert_int_equal(plx_etcd_lease_grant(etcd, 30, &id2), 0);
	assert_true(plx_etcd_lease_keepalive(etcd, id2) > 0);
	assert_int_equal(plx_etcd_lease_granted_ttl(etcd, id2), 30);
	assert_int_equal(plx_etcd_put(etcd, "/t/lease/r", "v", 1, id2, NULL), 0);
	assert_int_equal(plx_etcd_lease_revoke(etcd, id2), 0);
	assert_int_equal(plx_etcd_get(etcd, "/t/lease/r", &kv), -ENOENT);
	assert_int_equal(plx_etcd_lease_revoke(etcd, id2), -ENOENT);
	assert_int_equal(plx_etcd_lease_granted_ttl(etcd, id2), -ENOENT);
	plx_etcd_destroy(&etcd);
}

static void test_watch_events(void **state)
{
	(void)state;
	plx_etcd *etcd = s_client();
	s_log log = {.lock = PTHREAD_MUTEX_INITIALIZER};
	plx_watch *w = plx_watch_new(etcd, "/t/w/", 0, s_record, &log);
	assert_non_null(w);
	assert_int_equal(plx_etcd_put(etcd, "/t/w/one", "1", 1, 0, NULL), 0);
	assert_int_equal(plx_etcd_put(etcd, "/t/wx", "outside", 7, 0, NULL), 0);
	int64_t rev = 0;
	assert_int_equal(plx_etcd_put(etcd, "/t/w/two", "2", 1, 0, &rev), 0);
	assert_int_equal(plx_etcd_delete(etcd, "/t/w/one", false), 1);
	assert_true(s_wait_count(&log, &log.deletes, 1, 3000));
	assert_int_equal(log.puts, 2);
	assert_string_equal(log.last_key, "/t/w/one");
	assert_string_equal(log.last_value, "2");
	assert_int_equal(log.last_revision, rev + 1);
	assert_int_equal(plx_watch_revision(w), rev + 1);
	plx_watch_destroy(&w);
	assert_null(w);

	/* From a past revision: replays history. */
	s_log replay = {.lock = PTHREAD_MUTEX_INITIALIZER};
	w = plx_watch_new(etcd, "/t/w/", rev, s_record, &replay);
	assert_non_null(w);
	assert_true(s_wait_count(&replay, &replay.deletes, 1, 3000));
	assert_int_equal(replay.puts, 1);
	plx_watch_destroy(&w);
	plx_etcd_destroy(&etcd);
}

/* A watch that starts at a compacted revision reports it and goes on from what is left. */
static void test_watch_compacted(void **state)
{
	(void)state;
	plx_etcd *etcd = s_client();
	int64_t first = 0, last = 0;
	assert_int_equal(plx_etcd_put(etcd, "/t/c/a", "1", 1, 0, &first), 0);
	assert_int_equal(plx_etcd_put(etcd, "/t/c/a", "2", 1, 0, NULL), 0);
	assert_int_equal(plx_etcd_put(etcd, "/t/c/a", "3", 1, 0, &last), 0);
	assert_int_equal(plx_etcd_compact(etcd, last), 0);
	s_log log = {.lock = PTHREAD_MUTEX_INITIALIZER};
	plx_watch *w = plx_watch_new(etcd, "/t/c/", first, s_record, &log);
	assert_non_null(w);
	assert_true(s_wait_count(&log, &log.puts, 1, 3000));
	assert_int_equal(log.compacted, 1);
	assert_int_equal(log.compact_revision, last);
	assert_string_equal(log.last_value, "3");
	plx_watch_destroy(&w);
	plx_etcd_destroy(&etcd);
}

/* A value etcd holds that is not what a reader expects is the reader's business; the client
 * itself must reject answers that are not etcd's JSON. Point a client at a port that speaks
 * something else (etcd's peer port answers HTTP, but not the v3 gateway). */
static void test_malformed_answer(void **state)
{
	(void)state;
	char url[128];
	const char *client = plx_etcdh_url(s_h, 0);
	/* /version answers JSON that is not a range answer: make the client read it. */
	snprintf(url, sizeof url, "%s/version#", client);
	plx_etcd_opts opts = {.endpoints = url, .timeout_ms = 1000};
	plx_etcd *etcd = plx_etcd_new(&opts);
	assert_non_null(etcd);
	plx_kv *kv = NULL;
	int rc = plx_etcd_get(etcd, "/t/anything", &kv);
	assert_true(rc == -EBADMSG || rc == -EPROTO);
	assert_null(kv);
	assert_non_null(strstr(plx_etcd_errmsg(), client));
	plx_etcd_destroy(&etcd);
}

/* etcd down: a clear error naming the URL, in bounded time; a watch rides it out and loses
 * nothing; requests work again once etcd is back. */
static void test_down_and_recovery(void **state)
{
	(void)state;
	plx_etcd *etcd = s_client();
	s_log log = {.lock = PTHREAD_MUTEX_INITIALIZER};
	plx_watch *w = plx_watch_new(etcd, "/t/down/", 0, s_record, &log);
	assert_non_null(w);
	assert_int_equal(plx_etcd_put(etcd, "/t/down/before", "b", 1, 0, NULL), 0);
	assert_true(s_wait_count(&log, &log.puts, 1, 3000));

	assert_int_equal(plx_etcdh_kill(s_h, 0), 0);
	int64_t start = s_now_ms();
	int rc = plx_etcd_put(etcd, "/t/down/x", "x", 1, 0, NULL);
	int64_t took = s_now_ms() - start;
	assert_int_equal(rc, -ECONNREFUSED);
	assert_true(took < 1500);
	assert_non_null(strstr(plx_etcd_errmsg(), plx_etcdh_url(s_h, 0)));
	assert_non_null(strstr(plx_etcd_errmsg(), "onnect"));
	assert_true(s_wait_count(&log, &log.disconnected, 1, 3000));

	/* A fresh watch cannot be created: an error, not a hang. */
	plx_watch *w2 = plx_watch_new(etcd, "/t/down/", 0, s_record, &log);
	assert_null(w2);
	assert_int_equal(errno, ECONNREFUSED);

	assert_int_equal(plx_etcdh_restart(s_h, 0), 0);
	assert_int_equal(plx_etcd_put(etcd, "/t/down/after", "a", 1, 0, NULL), 0);
	assert_true(s_wait_count(&log, &log.puts, 2, 5000));
	assert_int_equal(log.reconnected, 1);
	assert_string_equal(log.last_key, "/t/down/after");
	plx_watch_destroy(&w);
	plx_etcd_destroy(&etcd);
}

/* Bad arguments never reach etcd. */
static void test_bad_arguments(void **state)
{
	(void)state;
	plx_etcd_opts none = {.endpoints = " , "};
	assert_null(plx_etcd_new(&none));
	assert_int_equal(errno, EINVAL);
	plx_etcd *etcd = s_client();
	plx_kv *kv = NULL;
	assert_int_equal(plx_etcd_get(etcd, "", &kv), -EINVAL);
	assert_int_equal(plx_etcd_put(etcd, "/t/x", NULL, 3, 0, NULL), -EINVAL);
	assert_int_equal(plx_etcd_lease_grant(etcd, 0, &(int64_t){0}), -EINVAL);
	assert_null(plx_watch_new(etcd, "", 0, s_record, NULL));
	plx_etcd_destroy(&etcd);
}

/* Runs etcdctl against url with the given arguments; returns its exit status. */
static int s_etcdctl(const char *url, const char *args)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "ETCDCTL_API=3 etcdctl --endpoints=%s %s >/dev/null 2>&1", url,
	         args);
	return system(cmd);
}

/* An etcd with authentication on: the right user and password work, others are refused. */
static void test_authentication(void **state)
{
	(void)state;
	plx_etcdh *h = plx_etcdh_start(1);
	assert_non_null(h);
	const char *url = plx_etcdh_url(h, 0);
	assert_int_equal(s_etcdctl(url, "user add root --new-user-password=rootpw"), 0);
	assert_int_equal(s_etcdctl(url, "user add svc --new-user-password=s3cret"), 0);
	assert_int_equal(s_etcdctl(url, "role add plexus"), 0);
	assert_int_equal(s_etcdctl(url, "role grant-permission plexus --prefix=true readwrite /a/"),
	                 0);
	assert_int_equal(s_etcdctl(url, "user grant-role svc plexus"), 0);
	assert_int_equal(s_etcdctl(url, "auth enable"), 0);

	plx_etcd_opts good = {.endpoints = url, .user = "svc", .password = "s3cret"};
	plx_etcd *etcd = plx_etcd_new(&good);
	assert_non_null(etcd);
	assert_int_equal(plx_etcd_put(etcd, "/a/k", "v", 1, 0, NULL), 0);
	plx_kv *kv = NULL;
	assert_int_equal(plx_etcd_get(etcd, "/a/k", &kv), 0);
	plx_kv_free(&kv);
	assert_int_equal(plx_etcd_put(etcd, "/b/k", "v", 1, 0, NULL), -EACCES); /* no permission */
	s_log log = {.lock = PTHREAD_MUTEX_INITIALIZER};
	plx_watch *w = plx_watch_new(etcd, "/a/", 0, s_record, &log);
	assert_non_null(w);
	assert_int_equal(plx_etcd_put(etcd, "/a/k2", "v", 1, 0, NULL), 0);
	assert_true(s_wait_count(&log, &log.puts, 1, 3000));
	plx_watch_destroy(&w);
	plx_etcd_destroy(&etcd);

	plx_etcd_opts bad = {.endpoints = url, .user = "svc", .password = "wrong"};
	etcd = plx_etcd_new(&bad);
	assert_int_equal(plx_etcd_get(etcd, "/a/k", &kv), -EACCES);
	/* etcd's words, which the client asks again on (a member may lag a user's making) */
	assert_non_null(strstr(plx_etcd_errmsg(), "authentication failed"));
	plx_etcd_destroy(&etcd);

	plx_etcd_opts none = {.endpoints = url};
	etcd = plx_etcd_new(&none);
	int rc = plx_etcd_get(etcd, "/a/k", &kv);
	assert_true(rc == -EACCES || rc == -EINVAL);
	plx_etcd_destroy(&etcd);
	plx_etcdh_stop(&h);
}

/* Puts key (under /plexus/t/) as etcd. Returns what plx_etcd_put returns. */
static int s_put_as(plx_etcd *etcd, const char *key)
{
	char full[256];
	snprintf(full, sizeof full, "/plexus/t/%s", key);
	return plx_etcd_put(etcd, full, "v", 1, 0, NULL);
}

/* A service's etcd user (plx_etcd_auth_service_user): it writes its own records and no one
 * else's — ep/mfs is not ep/mfs-data — revokes its own lease, and keeps working when RS
 * gives it its password again (a new RS's first start of it). A client with a user works
 * before etcd's authentication is on, and logs in once it is. */
static void test_service_user(void **state)
{
	(void)state;
	plx_etcdh *h = plx_etcdh_start(1);
	assert_non_null(h);
	const char *url = plx_etcdh_url(h, 0);
	plx_etcd *root = plx_etcd_new(&(plx_etcd_opts){.endpoints = url});
	assert_int_equal(plx_etcd_auth_service_user(root, "t", "mfs", "pw1"), 0);
	/* a client with a user, while etcd's authentication is off: served without a token */
	plx_etcd *mfs =
	    plx_etcd_new(&(plx_etcd_opts){.endpoints = url, .user = "s-mfs", .password = "pw1"});
	assert_string_equal(plx_etcd_user(mfs), "s-mfs");
	assert_int_equal(s_put_as(mfs, "ep/vfs"), 0); /* nobody's rights are checked yet */
	assert_int_equal(plx_etcd_auth_enable(root, "rootpw"), 0);
	plx_etcd_destroy(&root);
	root =
	    plx_etcd_new(&(plx_etcd_opts){.endpoints = url, .user = "root", .password = "rootpw"});
	assert_int_equal(plx_etcd_auth_service_user(root, "t", "a/b", "pw"), -EINVAL);
	/* turned on: the same client logs in and has its role's rights only */
	const char *mine[] = {"ep/mfs",
	                      "gen/mfs",
	                      "spare/mfs",
	                      "ds/mfs/state.mfs.x",
	                      "ds-owner/state.mfs.x",
	                      "ds-owner/drv.blk.mfs",
	                      "ds-owner/drv.chr.mfs"};
	for (size_t i = 0; i < sizeof mine / sizeof *mine; i++)
		assert_int_equal(s_put_as(mfs, mine[i]), 0);
	const char *others[] = {"ep/mfs-data",
	                        "ep/vfs",
	                        "gen/mfs-data",
	                        "spare/mfs-data",
	                        "spare/vfs",
	                        "ds/vfs/x",
	                        "ds/mfs-data/x",
	                        "ds-owner/state.vfs.x",
	                        "ds-owner/drv.blk.mfs2",
	                        "nodes/n1",
	                        "svc/mfs",
	                        "rs/leader"};
	for (size_t i = 0; i < sizeof others / sizeof *others; i++)
		assert_int_equal(s_put_as(mfs, others[i]), -EACCES);
	assert_int_equal(s_put_as(root, "ep/vfs"), 0);
	plx_kv *kv = NULL;
	assert_int_equal(plx_etcd_get(mfs, "/plexus/t/ep/vfs", &kv), 0); /* reads everything */
	plx_kv_free(&kv);
	assert_int_equal(plx_etcd_delete(mfs, "/plexus/t/ep/vfs", false), -EACCES);
	plx_lease *lease = plx_lease_new(mfs, 5);
	assert_non_null(lease);
	assert_int_equal(plx_etcd_put(mfs, "/plexus/t/ep/mfs", "v", 1, plx_lease_id(lease), NULL),
	                 0);
	plx_lease_destroy(&lease, true); /* revoked: the record goes with it */
	assert_int_equal(plx_etcd_get(mfs, "/plexus/t/ep/mfs", &kv), -ENOENT);
	/* made again by a new RS: same password, the running client carries on */
	assert_int_equal(plx_etcd_auth_service_user(root, "t", "mfs", "pw1"), 0);
	assert_int_equal(s_put_as(mfs, "ep/mfs"), 0);
	assert_int_equal(plx_etcd_auth_service_user(root, "t", "mfs", "pw2"), 0);
	assert_int_equal(s_put_as(mfs, "ep/mfs"), -EACCES); /* the old password no longer */
	plx_etcd_destroy(&mfs);
	plx_etcd_destroy(&root);
	plx_etcdh_stop(&h);
}

/* A rack's etcd (https, client certificates), its authentication turned on by RS
 * (plx_etcd_auth_turn_on, as root, after the node kernels' users): a node kernel's user writes its
 * node's records only; the clients' user only reads; a client without a user is refused; only root
 * turns it on. */
static void test_node_user_and_turn_on(void **state)
{
	(void)state;
	plx_etcdh *h = plx_etcdh_start_opts(&(plx_etcdh_opts){.members = 1, .tls = true});
	assert_non_null(h);
	const char *url = plx_etcdh_url(h, 0);
	setenv("PLEXUS_KEYS", plx_etcdh_dir(h), 1); /* TLS, as a rack's: the clients' pair */
	plx_etcd *root =
	    plx_etcd_new(&(plx_etcd_opts){.endpoints = url, .user = "root", .password = "rootpw"});
	plx_etcd *anyone = plx_etcd_new(&(plx_etcd_opts){.endpoints = url});
	assert_int_equal(plx_etcd_auth_on(root), 0);
	assert_int_equal(plx_etcd_auth_node_user(root, "t", "n1", "npw"), 0);
	assert_int_equal(plx_etcd_auth_node_user(root, "t", "", "npw"), -EINVAL);
	assert_int_equal(plx_etcd_auth_turn_on(anyone, "t", "cpw"), -EPERM);
	assert_int_equal(s_put_as(anyone, "nodes/n2"), 0); /* off: anyone writes anything */
	/* a node kernel up before authentication is on keeps its lease through the change */
	plx_etcd *early =
	    plx_etcd_new(&(plx_etcd_opts){.endpoints = url, .user = "n-n1", .password = "npw"});
	plx_lease *lease = plx_lease_new(early, 2);
	assert_non_null(lease);
	assert_int_equal(
	    plx_etcd_put(early, "/plexus/t/nodes/n1", "up", 2, plx_lease_id(lease), NULL), 0);
	assert_int_equal(plx_etcd_auth_turn_on(root, "t", "cpw"), 0);
	sleep(5); /* two TTLs and more */
	assert_true(plx_lease_alive(lease));
	plx_kv *held = NULL;
	assert_int_equal(plx_etcd_get(early, "/plexus/t/nodes/n1", &held), 0);
	plx_kv_free(&held);
	plx_lease_destroy(&lease, true);
	plx_etcd_destroy(&early);
	assert_int_equal(plx_etcd_auth_on(root), 1);
	assert_int_equal(plx_etcd_auth_turn_on(root, "t", "cpw"), 0); /* on already */
	assert_int_equal(s_put_as(anyone, "nodes/n2"), -EACCES);
	plx_etcd *n1 =
	    plx_etcd_new(&(plx_etcd_opts){.endpoints = url, .user = "n-n1", .password = "npw"});
	const char *mine[] = {"nodes/n1", "ep/node.n1", "gen/node.n1"};
	for (size_t i = 0; i < sizeof mine / sizeof *mine; i++)
		assert_int_equal(s_put_as(n1, mine[i]), 0);
	const char *others[] = {"nodes/n2", "nodes/n10", "ep/node.n10",
	                        "ep/vfs",   "gen/vfs",   "svc/vfs"};
	for (size_t i = 0; i < sizeof others / sizeof *others; i++)
		assert_int_equal(s_put_as(n1, others[i]), -EACCES);
	plx_etcd *client = plx_etcd_new(
	    &(plx_etcd_opts){.endpoints = url, .user = PLX_ETCD_CLIENT, .password = "cpw"});
	plx_kv *kv = NULL;
	assert_int_equal(plx_etcd_get(client, "/plexus/t/nodes/n1", &kv), 0);
	plx_kv_free(&kv);
	assert_int_equal(s_put_as(client, "nodes/n1"), -EACCES);
	assert_int_equal(s_put_as(root, "svc/vfs"), 0);
	plx_etcd_destroy(&client);
	plx_etcd_destroy(&n1);
	plx_etcd_destroy(&anyone);
	plx_etcd_destroy(&root);
	unsetenv("PLEXUS_KEYS");
	plx_etcdh_stop(&h);
}

/* An etcd that serves https only and wants client certificates. */
/* The files plx_etcd_tls_make wrote (the harness's directory): etcd's key for its owner only,
 * the clients' for all; a client given only PLEXUS_KEYS finds them (plexus/etcd_tls.h). */
static void s_tls_from_keys_dir(plx_etcdh *h)
{
	char path[PATH_MAX], err[256];
	struct stat st;
	snprintf(path, sizeof path, "%s/etcd-server.key", plx_etcdh_dir(h));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(path, sizeof path, "%s/etcd-client.key", plx_etcdh_dir(h));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	setenv("PLEXUS_KEYS", plx_etcdh_dir(h), 1);
	plx_etcd *etcd = plx_etcd_new(&(plx_etcd_opts){.endpoints = plx_etcdh_endpoints(h)});
	unsetenv("PLEXUS_KEYS");
	assert_non_null(etcd);
	plx_kv *kv = NULL;
	assert_int_equal(plx_etcd_get(etcd, "/tls/k", &kv), 0);
	assert_non_null(kv);
	plx_kv_free(&kv);
	plx_etcd_destroy(&etcd);
	const char *bad[] = {"10.0.0.300"};
	assert_int_equal(plx_etcd_tls_make(plx_etcdh_dir(h), bad, 1, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "10.0.0.300"));
	assert_true(plx_etcd_tls_make("/nonexistent/keys", NULL, 0, err, sizeof err) < 0);
	assert_non_null(strstr(err, "/nonexistent/keys"));
}

static void test_tls(void **state)
{
	(void)state;
	plx_etcdh_opts hopts = {.members = 1, .tls = true};
	plx_etcdh *h = plx_etcdh_start_opts(&hopts);
	if (!h)
		fprintf(stderr, "harness: %s\n", plx_etcdh_error());
	assert_non_null(h);
	assert_non_null(strstr(plx_etcdh_url(h, 0), "https://"));
	plx_etcd_opts tls = {.endpoints = plx_etcdh_endpoints(h),
	                     .ca_file = plx_etcdh_tls_file(h, "ca"),
	                     .cert_file = plx_etcdh_tls_file(h, "cert"),
	                     .key_file = plx_etcdh_tls_file(h, "key")};
	plx_etcd *etcd = plx_etcd_new(&tls);
	assert_non_null(etcd);
	s_log log = {.lock = PTHREAD_MUTEX_INITIALIZER};
	plx_watch *w = plx_watch_new(etcd, "/tls/", 0, s_record, &log);
	assert_non_null(w);
	assert_int_equal(plx_etcd_put(etcd, "/tls/k", "v", 1, 0, NULL), 0);
	plx_kv *kv = NULL;
	assert_int_equal(plx_etcd_get(etcd, "/tls/k", &kv), 0);
	plx_kv_free(&kv);
	assert_true(s_wait_count(&log, &log.puts, 1, 3000));
	plx_watch_destroy(&w);
	plx_etcd_destroy(&etcd);

	/* Without the client certificate, or without the CA: refused, with a TLS error. */
	plx_etcd_opts no_cert = {.endpoints = plx_etcdh_endpoints(h),
	                         .ca_file = plx_etcdh_tls_file(h, "ca")};
	etcd = plx_etcd_new(&no_cert);
	int rc = plx_etcd_get(etcd, "/tls/k", &kv);
	assert_true(rc == -EPROTO || rc == -ECONNRESET);
	assert_non_null(strstr(plx_etcd_errmsg(), "https://127.0.0.1"));
	plx_etcd_destroy(&etcd);
	plx_etcd_opts no_ca = {.endpoints = plx_etcdh_endpoints(h),
	                       .cert_file = plx_etcdh_tls_file(h, "cert"),
	                       .key_file = plx_etcdh_tls_file(h, "key")};
	etcd = plx_etcd_new(&no_ca);
	assert_int_equal(plx_etcd_get(etcd, "/tls/k", &kv), -EPROTO);
	plx_etcd_destroy(&etcd);
	s_tls_from_keys_dir(h);
	plx_etcdh_stop(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_put_get_range_delete),
	    cmocka_unit_test(test_txn_cas),
	    cmocka_unit_test(test_lease_keepalive_and_expiry),
	    cmocka_unit_test(test_watch_events),
	    cmocka_unit_test(test_watch_compacted),
	    cmocka_unit_test(test_malformed_answer),
	    cmocka_unit_test(test_bad_arguments),
	    cmocka_unit_test(test_down_and_recovery),
	    cmocka_unit_test(test_authentication),
	    cmocka_unit_test(test_service_user),
	    cmocka_unit_test(test_node_user_and_turn_on),
	    cmocka_unit_test(test_tls),
	};
	return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
