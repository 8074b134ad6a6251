/*
 * test-chardriver-netns.c — the character drivers on a four-node cluster of the multi-node
 * harness (tests/netns): etcd on the hub, a plexus-node in each node, and this process in node
 * 0 acting as RS (an endpoint labelled "rs" that starts drivers with NODE_START, as RS will)
 * and as the drivers' client. Checks (chartest.c), with every driver on another node than the
 * client: memory's char devices, hello's reads, tty lines, a read that completes later when
 * the master is written, cancel, bad requests, the log, and select reports that cross the
 * network from two drivers on two nodes back to rs without being mixed up; and hello killed on
 * one node and restarted (PLEXUS_INIT=restart) on another keeps its open count.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <plexus/cdev.h>
#include <plexus/ds.h>
#include <plexus/endpoint.h>

#include "chartest.h"
#include "netns_harness.h"
#include "plexus/proto/cdev.pb-c.h"
#include "plexus/proto/node.pb-c.h"

#define S_NODES   4
#define S_CLUSTER "chrnet"
#define S_WAIT_MS 10000

typedef struct fixture {
	netns_cluster *c;
	int own_ns;
	char dir[256];
	pid_t node[S_NODES];
	plx_ctx *ctx;
	plx_etcd *etcd;
	plx_lease *lease;
	plx_epcache *cache;
	plx_ds *ds;
	plx_ep *rs;
	bool passed;
} fixture;

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int s_start_node(fixture *f, int i)
{
	char name[16], asan_env[512], ubsan_env[512];
	const char *asan = getenv("ASAN_OPTIONS"), *ubsan = getenv("UBSAN_OPTIONS");
	snprintf(name, sizeof name, "n%d", i);
	snprintf(asan_env, sizeof asan_env, "ASAN_OPTIONS=%s", asan ? asan : "");
	snprintf(ubsan_env, sizeof ubsan_env, "UBSAN_OPTIONS=%s", ubsan ? ubsan : "");
	char *argv[] = {PLEXUS_NODE_BIN,
	                "--node",
	                name,
	                "--addr",
	                (char *)netns_node_addr(f->c, i),
	                "--etcd",
	                (char *)netns_hub_etcd_endpoints(f->c),
	                "--cluster",
	                S_CLUSTER,
	                "--log-dir",
	                f->dir,
	                "--grace",
	                "3000",
	                "--cmdline",
	                "/dev/null",
	                NULL};
	char *envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", asan_env, ubsan_env, NULL};
	return netns_exec(f->c, i, argv, envp, &f->node[i]);
}

/* This thread moves into node 0: the client and rs live there, like a file server would. */
static int s_enter_node0(fixture *f)
{
	int fd = open(netns_ns_path(f->c, 0), O_RDONLY | O_CLOEXEC);
	f->own_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int rc = fd < 0 || f->own_ns < 0 || setns(fd, CLONE_NEWNET) < 0 ? -1 : 0;
	if (fd >= 0)
		close(fd);
	return rc;
}

static plx_ep *s_rs_new(fixture *f)
{
	uint64_t gen;
	if (plx_generation_next(f->etcd, S_CLUSTER, "rs", &gen) < 0)
		return NULL;
	plx_ep *ep = plx_ep_new(f->ctx, "rs", gen);
	char bind[64];
	snprintf(bind, sizeof bind, "tcp://%s:*", netns_node_addr(f->c, 0));
	plx_endpoint_rec rec = {.label = "rs", .generation = gen, .node = "n0", .state = "up"};
	rec.pid = getpid();
	if (!ep || plx_ep_bind(ep, bind) < 0 ||
	    snprintf(rec.address, sizeof rec.address, "%s", plx_ep_address(ep)) <= 0 ||
	    plx_endpoint_publish(f->etcd, S_CLUSTER, &rec, plx_lease_id(f->lease)) < 0)
		plx_ep_destroy(&ep);
	return ep;
}

static int s_wait_route(fixture *f, const char *label, uint64_t after, uint64_t *gen)
{
	uint64_t g = 0;
	for (int64_t end = s_now_ms() + S_WAIT_MS; s_now_ms() < end; usleep(10 * 1000))
		if (plx_route_lookup(f->ctx, label, &g, NULL, 0) == 0 && g > after) {
			if (gen)
				*gen = g;
			return 0;
		}
	return -ETIMEDOUT;
}

static int s_prepare(fixture *f)
{
	f->c = netns_cluster_new(S_NODES, NULL);
	if (!f->c || netns_hub_etcd_start(f->c, 1) < 0) {
		print_error("harness: %s\n", netns_error());
		return -1;
	}
	snprintf(f->dir, sizeof f->dir, "%s", netns_run_dir(f->c));
	if (s_enter_node0(f) < 0)
		return -1;
	plx_register_types(&plexus__node_type__descriptor);
	plx_register_types(&plexus__cdev_type__descriptor);
	plx_etcd_opts opts = {.endpoints = netns_hub_etcd_endpoints(f->c)};
	if (!(f->etcd = plx_etcd_new(&opts)) || !(f->ctx = plx_ctx_new()) ||
	    !(f->lease = plx_lease_new(f->etcd, 2)) || !(f->rs = s_rs_new(f)) ||
	    !(f->cache = plx_epcache_new(f->etcd, S_CLUSTER, f->ctx)) ||
	    !(f->ds = plx_ds_new(f->etcd, S_CLUSTER, "chrclient")))
		return -1;
	for (int i = 0; i < S_NODES; i++)
		if (s_start_node(f, i) < 0)
			return -1;
	for (int i = 0; i < S_NODES; i++) {
		char label[16];
		snprintf(label, sizeof label, "node.n%d", i);
		if (s_wait_route(f, label, 0, NULL) < 0) {
			print_error("node %d did not register\n", i);
			return -1;
		}
	}
	return 0;
}

static int s_teardown(void **state)
{
	fixture *f = *state;
	if (!f)
		return 0;
	plx_ds_destroy(&f->ds);
	plx_epcache_destroy(&f->cache);
	plx_ep_destroy(&f->rs);
	plx_lease_destroy(&f->lease, true);
	plx_etcd_destroy(&f->etcd);
	plx_ctx_destroy(&f->ctx);
	if (f->own_ns >= 0) {
		if (setns(f->own_ns, CLONE_NEWNET) < 0)
			abort();
		close(f->own_ns);
	}
	if (!f->passed && f->c)
		netns_cluster_failed(f->c);
	netns_cluster_destroy(&f->c);
	free(f);
	return 0;
}

static int s_setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	f->own_ns = -1;
	*state = f;
	if (s_prepare(f) == 0)
		return 0;
	s_teardown(state);
	*state = NULL;
	return -1;
}

/* ---- RS's requests ---- */

static int s_call(fixture *f, const char *label, uint32_t type, const ProtobufCMessage *body,
                  plx_msg **reply)
{
	plx_request req = {.type = type, .body = body};
	snprintf(req.dst.label, sizeof req.dst.label, "%s", label);
	plx_msg *msg = NULL;
	int rc = plx_sendrec(f->rs, &req, &msg, S_WAIT_MS);
	if (reply)
		*reply = msg;
	else
		plx_msg_destroy(&msg);
	return rc;
}

/* Starts a driver (argv NULL-terminated, argv[0] the program) as label on node i with a new
 * generation, as RS does, and waits until its endpoint is published. init: NULL or "restart".
 * Returns the generation. */
static uint64_t s_start_driver(fixture *f, int i, const char *label, const char *init, char **argv)
{
	uint64_t gen = 0, before = 0;
	plx_route_lookup(f->ctx, label, &before, NULL, 0);
	assert_int_equal(plx_generation_next(f->etcd, S_CLUSTER, label, &gen), 0);
	Plexus__NodeStart start = PLEXUS__NODE_START__INIT;
	start.label = (char *)label;
	start.program = argv[0];
	start.argv = argv;
	while (argv[start.n_argv])
		start.n_argv++;
	start.generation = gen;
	/* Always one entry: plexus-node's spawn copies the list with memcpy even when empty, which
	 * UBSan stops on (a NULL source). */
	char *env[] = {"PLEXUS_CHRTEST=1", "PLEXUS_INIT=restart"};
	start.env = env;
	start.n_env = init ? 2 : 1;
	char node[16];
	snprintf(node, sizeof node, "node.n%d", i);
	assert_int_equal(s_call(f, node, PLEXUS__NODE_TYPE__NODE_START, &start.base, NULL), 0);
	uint64_t now = 0;
	if (s_wait_route(f, label, before, &now) < 0) {
		char *log = NULL;
		char path[512];
		snprintf(path, sizeof path, "%s/%s.log", f->dir, label);
		FILE *fp = fopen(path, "r");
		if (fp) {
			log = calloc(1, 8192);
			if (fread(log, 1, 8191, fp) == 0)
				log[0] = '\0';
			fclose(fp);
		}
		fail_msg("%s on n%d did not publish its endpoint; its log:\n%s", label, i,
		         log ? log : "(none)");
	}
	assert_int_equal(now, gen);
	return gen;
}

/* Waits for the NODE_EXIT of label at rs (answering every report), returns it (caller
 * frees). */
static Plexus__NodeExit *s_expect_exit(fixture *f, const char *label)
{
	for (int64_t end = s_now_ms() + S_WAIT_MS; s_now_ms() < end;) {
		plx_msg *msg = NULL;
		if (plx_receive(f->rs, &msg, (int)(end - s_now_ms())) < 0)
			continue;
		Plexus__NodeExit *e = NULL;
		if (msg->kind == PLX_REQUEST && msg->type == PLEXUS__NODE_TYPE__NODE_EXIT)
			e = (Plexus__NodeExit *)plx_msg_unpack(msg, &plexus__node_exit__descriptor);
		if (msg->kind == PLX_REQUEST)
			plx_reply(f->rs, msg, e ? 0 : -ENOSYS, NULL, NULL, 0);
		plx_msg_destroy(&msg);
		if (e && strcmp(e->label, label) == 0)
			return e;
		if (e)
			protobuf_c_message_free_unpacked(&e->base, NULL);
	}
	return NULL;
}

/* ---- tests ---- */

static void test_drivers_on_other_nodes(void **state)
{
	fixture *f = *state;
	char *margv[] = {PLEXUS_MEMORY_BIN, "--ramdisk", "0:1M", NULL};
	char *hargv[] = {PLEXUS_HELLO_BIN, NULL};
	char *targv[] = {PLEXUS_TTY_BIN, "--console", "none", "--ptys", "6", NULL};
	char *largv[] = {PLEXUS_LOG_BIN, NULL};
	s_start_driver(f, 1, "memory", NULL, margv);
	s_start_driver(f, 1, "hello", NULL, hargv);
	s_start_driver(f, 2, "tty", NULL, targv);
	s_start_driver(f, 3, "log", NULL, largv);
	const char *labels[] = {"memory", "hello", "tty", "log"};
	for (size_t i = 0; i < 4; i++) {
		chartest_ping(f->rs, labels[i]);
		char key[64], value[16] = "";
		snprintf(key, sizeof key, "drv.chr.%s", labels[i]);
		int rc = -ESRCH; /* announced just after the endpoint is published */
		for (int64_t end = s_now_ms() + S_WAIT_MS; rc == -ESRCH && s_now_ms() < end;)
			if ((rc = plx_ds_retrieve_str(f->ds, key, value, sizeof value)) == -ESRCH)
				usleep(10 * 1000);
		assert_int_equal(rc, 2);
		assert_string_equal(value, "up");
	}
	chartest_memory(f->rs, "memory");
	chartest_hello_read(f->rs, "hello");
	/* Select first, while the log is empty: reports from n2 and n3 come back to rs on n0. */
	chartest_select(f->rs, "tty", "log", 4);
	chartest_tty_lines(f->rs, "tty", 0);
	chartest_tty_deferred(f->rs, "tty", 1);
	chartest_tty_cancel(f->rs, "tty", 2);
	chartest_bad_requests(f->rs, "tty");
	chartest_log(f->rs, "log");
	f->passed = true;
}

/* The open count hello saved, as DS holds it. */
static uint32_t s_hello_count(fixture *f, const char *label)
{
	plx_ds *ds = plx_ds_new(f->etcd, S_CLUSTER, label);
	assert_non_null(ds);
	uint32_t count = 0;
	size_t size = sizeof count;
	char key[PLX_DS_KEY_MAX];
	snprintf(key, sizeof key, "state.%s.open_counter", label); /* plexus/service.h's key */
	assert_true(plx_ds_retrieve_mem(ds, key, &count, &size) >= 0);
	plx_ds_destroy(&ds);
	return count;
}

static void test_hello_restart_on_another_node(void **state)
{
	fixture *f = *state;
	char *hargv[] = {PLEXUS_HELLO_BIN, NULL};
	uint64_t gen1 = s_start_driver(f, 1, "hellors", NULL, hargv);
	plx_cdev *dev = plx_cdev_new(f->rs, "hellors", S_WAIT_MS);
	for (int i = 0; i < 3; i++)
		assert_int_equal(plx_cdev_open(dev, 0, PLEXUS__CDEV_ACCESS__CDEV_R_BIT), 0);
	Plexus__NodeSignal sig = PLEXUS__NODE_SIGNAL__INIT;
	sig.label = "hellors";
	sig.signo = SIGKILL;
	assert_int_equal(s_call(f, "node.n1", PLEXUS__NODE_TYPE__NODE_SIGNAL, &sig.base, NULL), 0);
	Plexus__NodeExit *e = s_expect_exit(f, "hellors");
	assert_non_null(e);
	assert_true(e->signaled);
	protobuf_c_message_free_unpacked(&e->base, NULL);
	/* RS would restart it; here on node 3, told that it is a restart. */
	uint64_t gen2 = s_start_driver(f, 3, "hellors", "restart", hargv);
	assert_true(gen2 > gen1);
	chartest_ping(f->rs, "hellors");
	assert_int_equal(plx_cdev_open(dev, 0, PLEXUS__CDEV_ACCESS__CDEV_R_BIT), 0);
	assert_int_equal(s_hello_count(f, "hellors"), 4);
	plx_endpoint_rec rec;
	assert_int_equal(plx_endpoint_lookup(f->etcd, S_CLUSTER, "hellors", &rec), 0);
	assert_string_equal(rec.node, "n3");
	plx_cdev_destroy(&dev);
	f->passed = true;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_drivers_on_other_nodes, s_setup, s_teardown),
	    cmocka_unit_test_setup_teardown(test_hello_restart_on_another_node, s_setup,
	                                    s_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
