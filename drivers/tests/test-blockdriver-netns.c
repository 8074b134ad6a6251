/*
 * test-blockdriver-netns.c — the block drivers on a four-node cluster of the multi-node harness
 * (tests/netns): etcd on the hub, a plexus-node in each node, and this process in node 0
 * acting as RS (an endpoint labelled "rs" that starts drivers with NODE_START, as RS will) and
 * as the drivers' client. Checks: the conformance suite (blocktest.c) against plexus-memory and
 * plexus-vdisk on the client's own node and on other nodes; NODE_STOP of a driver answers
 * with its clean exit (status 0), which is also reported to rs, and its endpoint is gone;
 * NODE_SIGNAL SIGKILL brings a NODE_EXIT naming the signal; a driver killed on one node and
 * started with PLEXUS_INIT=restart on another has the open counts its predecessor saved,
 * announces drv.blk.<label> again and answers heartbeats; a request pending on a hung driver
 * fails with -PLX_EDEADSRCDST when it is killed and replaced, and works on the new generation.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
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

#include <plexus/bdev.h>
#include <plexus/blockdriver.h>
#include <plexus/ds.h>
#include <plexus/endpoint.h>

#include "blocktest.h"
#include "netns_harness.h"
#include "plexus/proto/bdev.pb-c.h"
#include "plexus/proto/node.pb-c.h"

#define S_NODES   4
#define S_CLUSTER "blknet"
#define S_WAIT_MS 10000
#define S_MB      (1024u * 1024)

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
	plx_register_types(&plexus__bdev_type__descriptor);
	plx_etcd_opts opts = {.endpoints = netns_hub_etcd_endpoints(f->c)};
	if (!(f->etcd = plx_etcd_new(&opts)) || !(f->ctx = plx_ctx_new()) ||
	    !(f->lease = plx_lease_new(f->etcd, 2)) || !(f->rs = s_rs_new(f)) ||
	    !(f->cache = plx_epcache_new(f->etcd, S_CLUSTER, f->ctx)) ||
	    !(f->ds = plx_ds_new(f->etcd, S_CLUSTER, "blkclient")))
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
	char *env[] = {"PLEXUS_BLKTEST=1", "PLEXUS_INIT=restart"};
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

static char *s_image(fixture *f, const char *name, uint64_t size, char *path, size_t path_size)
{
	snprintf(path, path_size, "%s/%s.img", f->dir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	close(fd);
	return path;
}

static blocktest_target s_target(fixture *f, const char *label, uint64_t size, uint32_t sector)
{
	return (blocktest_target){.ep = f->rs,
	                          .label = label,
	                          .minor = 0,
	                          .size = size,
	                          .sector = sector,
	                          .bad_minor = 1,
	                          .timeout_ms = S_WAIT_MS};
}

/* memory and vdisk on node i, the suite from node 0 against both. */
static void s_suite_on(fixture *f, int i)
{
	char mem[16], vd[16];
	snprintf(mem, sizeof mem, "memory%d", i);
	snprintf(vd, sizeof vd, "vdisk%d", i);
	char *margv[] = {PLEXUS_MEMORY_BIN, "--ramdisk", "0:16M", NULL};
	char path[512];
	char *image = s_image(f, vd, 16 * S_MB, path, sizeof path);
	char *vargv[] = {PLEXUS_VDISK_BIN, "--image", image, NULL};
	s_start_driver(f, i, mem, NULL, margv);
	s_start_driver(f, i, vd, NULL, vargv);
	blocktest_target t = s_target(f, mem, 16 * S_MB, 512);
	blocktest_ping(&t);
	blocktest_run(&t);
	t = s_target(f, vd, 16 * S_MB, 512);
	blocktest_ping(&t);
	blocktest_run(&t);
}

/* ---- tests ---- */

static void test_suite_same_node(void **state)
{
	fixture *f = *state;
	s_suite_on(f, 0);
	f->passed = true;
}

static void test_suite_other_nodes(void **state)
{
	fixture *f = *state;
	s_suite_on(f, 1);
	s_suite_on(f, 3);
	f->passed = true;
}

static void test_stop_and_exit_reports(void **state)
{
	fixture *f = *state;
	char *margv[] = {PLEXUS_MEMORY_BIN, "--ramdisk", "0:1M", NULL};
	s_start_driver(f, 2, "memstop", NULL, margv);
	s_start_driver(f, 3, "memkill", NULL, margv);
	/* NODE_STOP: SIGTERM, the driver leaves its loop and exits 0 within the grace. */
	Plexus__NodeStop stop = PLEXUS__NODE_STOP__INIT;
	stop.label = "memstop";
	plx_msg *reply = NULL;
	assert_int_equal(s_call(f, "node.n2", PLEXUS__NODE_TYPE__NODE_STOP, &stop.base, &reply), 0);
	Plexus__NodeExit *e =
	    (Plexus__NodeExit *)plx_msg_unpack(reply, &plexus__node_exit__descriptor);
	assert_non_null(e);
	assert_false(e->signaled);
	assert_int_equal(e->status, 0);
	protobuf_c_message_free_unpacked(&e->base, NULL);
	plx_msg_destroy(&reply);
	assert_non_null(e = s_expect_exit(f, "memstop"));
	assert_false(e->signaled);
	assert_int_equal(e->status, 0);
	assert_string_equal(e->node, "n2");
	protobuf_c_message_free_unpacked(&e->base, NULL);
	/* A clean stop withdraws the endpoint at once. */
	plx_endpoint_rec rec;
	assert_int_equal(plx_endpoint_lookup(f->etcd, S_CLUSTER, "memstop", &rec), -ENOENT);
	/* NODE_SIGNAL SIGKILL: reported as killed by signal 9. */
	Plexus__NodeSignal sig = PLEXUS__NODE_SIGNAL__INIT;
	sig.label = "memkill";
	sig.signo = SIGKILL;
	assert_int_equal(s_call(f, "node.n3", PLEXUS__NODE_TYPE__NODE_SIGNAL, &sig.base, NULL), 0);
	assert_non_null(e = s_expect_exit(f, "memkill"));
	assert_true(e->signaled);
	assert_int_equal(e->status, SIGKILL);
	assert_string_equal(e->node, "n3");
	protobuf_c_message_free_unpacked(&e->base, NULL);
	f->passed = true;
}

static void test_restart_on_another_node(void **state)
{
	fixture *f = *state;
	char *margv[] = {PLEXUS_MEMORY_BIN, "--ramdisk", "0:1M", "--ramdisk", "4:1M", NULL};
	uint64_t gen1 = s_start_driver(f, 1, "memrs", NULL, margv);
	int64_t announced = 0;
	for (int64_t end = s_now_ms() + S_WAIT_MS; s_now_ms() < end && !announced;
	     usleep(10 * 1000)) {
		plx_ds_entry *e = NULL;
		if (plx_ds_get(f->ds, "drv.blk.memrs", &e) == 0)
			announced = e->revision;
		plx_ds_entry_free(&e);
	}
	assert_true(announced > 0);
	plx_bdev *b = plx_bdev_new(f->rs, "memrs", S_WAIT_MS);
	assert_int_equal(plx_bdev_open(b, 0, PLEXUS__BDEV_ACCESS__BDEV_R_BIT), 0);
	assert_int_equal(plx_bdev_open(b, 0, PLEXUS__BDEV_ACCESS__BDEV_W_BIT), 0);
	assert_int_equal(plx_bdev_open(b, 4, PLEXUS__BDEV_ACCESS__BDEV_R_BIT), 0);
	Plexus__NodeSignal sig = PLEXUS__NODE_SIGNAL__INIT;
	sig.label = "memrs";
	sig.signo = SIGKILL;
	assert_int_equal(s_call(f, "node.n1", PLEXUS__NODE_TYPE__NODE_SIGNAL, &sig.base, NULL), 0);
	Plexus__NodeExit *e = s_expect_exit(f, "memrs");
	assert_non_null(e);
	protobuf_c_message_free_unpacked(&e->base, NULL);
	/* RS would restart it; here on node 2, told that it is a restart. */
	uint64_t gen2 = s_start_driver(f, 2, "memrs", "restart", margv);
	assert_true(gen2 > gen1);
	blocktest_target t = s_target(f, "memrs", 1 * S_MB, 512);
	blocktest_ping(&t);
	plx_bdev_info info;
	assert_int_equal(plx_bdev_info_get(b, 0, &info), 0);
	assert_int_equal(info.open_count, 2);
	assert_int_equal(plx_bdev_info_get(b, 4, &info), 0);
	assert_int_equal(info.open_count, 1);
	/* Announced again by the new instance: a write after the endpoint record's (the
	 * announcement follows the publication). */
	plx_ds_entry *ann = NULL;
	for (int64_t end = s_now_ms() + S_WAIT_MS; s_now_ms() < end; usleep(10 * 1000)) {
		plx_ds_entry_free(&ann);
		if (plx_ds_get(f->ds, "drv.blk.memrs", &ann) == 0 && ann->revision > announced)
			break;
	}
	assert_non_null(ann);
	assert_true(ann->revision > announced);
	assert_string_equal(ann->str, "up");
	plx_ds_entry_free(&ann);
	plx_endpoint_rec rec;
	assert_int_equal(plx_endpoint_lookup(f->etcd, S_CLUSTER, "memrs", &rec), 0);
	assert_string_equal(rec.node, "n2");
	assert_int_equal(rec.generation, gen2);
	plx_bdev_destroy(&b);
	f->passed = true;
}

/* A read sent to one generation of a driver from another thread. */
typedef struct s_pending {
	fixture *f;
	uint64_t generation;
	int rc;
	int64_t took_ms;
} s_pending;

static void *s_pending_read(void *arg)
{
	s_pending *p = arg;
	Plexus__BdevIo io = PLEXUS__BDEV_IO__INIT;
	io.size = 512;
	plx_request req = {.type = PLEXUS__BDEV_TYPE__BDEV_READ, .body = &io.base};
	snprintf(req.dst.label, sizeof req.dst.label, "mempend");
	req.dst.generation = p->generation;
	plx_msg *reply = NULL;
	int64_t start = s_now_ms();
	p->rc = plx_sendrec(p->f->rs, &req, &reply, 60000);
	p->took_ms = s_now_ms() - start;
	plx_msg_destroy(&reply);
	return NULL;
}

static int s_signal(fixture *f, const char *node, const char *label, int signo)
{
	Plexus__NodeSignal sig = PLEXUS__NODE_SIGNAL__INIT;
	sig.label = (char *)label;
	sig.signo = signo;
	return s_call(f, node, PLEXUS__NODE_TYPE__NODE_SIGNAL, &sig.base, NULL);
}

/* A request to a driver that hangs (SIGSTOP) and is then killed and replaced fails with
 * -PLX_EDEADSRCDST long before its 60 s limit (measured: tens of ms after the kill), and the
 * same request to the new generation works: what a file server's retry after a driver
 * restart relies on. */
static void test_pending_request_fails_on_restart(void **state)
{
	fixture *f = *state;
	char *margv[] = {PLEXUS_MEMORY_BIN, "--ramdisk", "0:1M", NULL};
	uint64_t gen1 = s_start_driver(f, 1, "mempend", NULL, margv);
	plx_bdev *b = plx_bdev_new(f->rs, "mempend", S_WAIT_MS);
	uint8_t buf[512];
	assert_int_equal(plx_bdev_read(b, 0, 0, buf, sizeof buf, 0), sizeof buf);
	assert_int_equal(s_signal(f, "node.n1", "mempend", SIGSTOP), 0); /* hung */
	s_pending p = {.f = f, .generation = gen1};
	pthread_t thread;
	assert_int_equal(pthread_create(&thread, NULL, s_pending_read, &p), 0);
	assert_int_equal(s_signal(f, "node.n1", "mempend", SIGKILL), 0);
	Plexus__NodeExit *e = s_expect_exit(f, "mempend");
	assert_non_null(e);
	protobuf_c_message_free_unpacked(&e->base, NULL);
	uint64_t gen2 = s_start_driver(f, 2, "mempend", "restart", margv);
	pthread_join(thread, NULL);
	assert_true(gen2 > gen1);
	print_message("pending read: %d after %lld ms\n", p.rc, (long long)p.took_ms);
	assert_int_equal(p.rc, -PLX_EDEADSRCDST);
	assert_true(p.took_ms < 30000); /* far from its 60 s limit */
	assert_int_equal(plx_bdev_read(b, 0, 0, buf, sizeof buf, 0), sizeof buf);
	plx_bdev_destroy(&b);
	f->passed = true;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_suite_same_node, s_setup, s_teardown),
	    cmocka_unit_test_setup_teardown(test_suite_other_nodes, s_setup, s_teardown),
	    cmocka_unit_test_setup_teardown(test_stop_and_exit_reports, s_setup, s_teardown),
	    cmocka_unit_test_setup_teardown(test_restart_on_another_node, s_setup, s_teardown),
	    cmocka_unit_test_setup_teardown(test_pending_request_fails_on_restart, s_setup,
	                                    s_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
