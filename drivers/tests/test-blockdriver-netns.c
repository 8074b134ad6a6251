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
 * fails with -PLX_EDEADSRCDST when it is killed and replaced, and works on the new generation;
 * plexus-memory SIGKILLed and started again on its node as a restart serves the bytes its RAM
 * disks held (the node kernel kept their memory), and a fresh start gets empty disks.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
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
#include "drvcluster.h"
#include "netns_harness.h"
#include "plexus/proto/bdev.pb-c.h"
#include "plexus/proto/node.pb-c.h"

#define S_CLUSTER "blknet"
#define S_WAIT_MS DRVCLUSTER_WAIT_MS
#define S_MB      (1024u * 1024)

typedef drvcluster fixture;

static int s_setup(void **state)
{
	static const drvcluster_opts opts = {.cluster = S_CLUSTER,
	                                     .client = "blkclient",
	                                     .types = &plexus__bdev_type__descriptor,
	                                     .env_marker = "PLEXUS_BLKTEST=1"};
	return drvcluster_setup(state, &opts);
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
	drvcluster_start_driver(f, i, mem, NULL, margv);
	drvcluster_start_driver(f, i, vd, NULL, vargv);
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
	drvcluster_start_driver(f, 2, "memstop", NULL, margv);
	drvcluster_start_driver(f, 3, "memkill", NULL, margv);
	/* NODE_STOP: SIGTERM, the driver leaves its loop and exits 0 within the grace. */
	Plexus__NodeStop stop = PLEXUS__NODE_STOP__INIT;
	stop.label = "memstop";
	plx_msg *reply = NULL;
	assert_int_equal(
	    drvcluster_call(f, "node.n2", PLEXUS__NODE_TYPE__NODE_STOP, &stop.base, &reply), 0);
	Plexus__NodeExit *e =
	    (Plexus__NodeExit *)plx_msg_unpack(reply, &plexus__node_exit__descriptor);
	assert_non_null(e);
	assert_false(e->signaled);
	assert_int_equal(e->status, 0);
	protobuf_c_message_free_unpacked(&e->base, NULL);
	plx_msg_destroy(&reply);
	assert_non_null(e = drvcluster_expect_exit(f, "memstop"));
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
	assert_int_equal(
	    drvcluster_call(f, "node.n3", PLEXUS__NODE_TYPE__NODE_SIGNAL, &sig.base, NULL), 0);
	assert_non_null(e = drvcluster_expect_exit(f, "memkill"));
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
	uint64_t gen1 = drvcluster_start_driver(f, 1, "memrs", NULL, margv);
	int64_t announced = 0;
	for (int64_t end = drvcluster_now_ms() + S_WAIT_MS; drvcluster_now_ms() < end && !announced;
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
	assert_int_equal(
	    drvcluster_call(f, "node.n1", PLEXUS__NODE_TYPE__NODE_SIGNAL, &sig.base, NULL), 0);
	Plexus__NodeExit *e = drvcluster_expect_exit(f, "memrs");
	assert_non_null(e);
	protobuf_c_message_free_unpacked(&e->base, NULL);
	/* RS would restart it; here on node 2, told that it is a restart. */
	uint64_t gen2 = drvcluster_start_driver(f, 2, "memrs", "restart", margv);
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
	for (int64_t end = drvcluster_now_ms() + S_WAIT_MS; drvcluster_now_ms() < end;
	     usleep(10 * 1000)) {
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

static void s_pattern(uint8_t *buf, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)((i * 2654435761u) >> 7 ^ seed);
}

/* Kills label on node n1 and waits for its exit report. */
static void s_kill_n1(fixture *f, const char *label)
{
	Plexus__NodeSignal sig = PLEXUS__NODE_SIGNAL__INIT;
	sig.label = (char *)label;
	sig.signo = SIGKILL;
	assert_int_equal(
	    drvcluster_call(f, "node.n1", PLEXUS__NODE_TYPE__NODE_SIGNAL, &sig.base, NULL), 0);
	Plexus__NodeExit *e = drvcluster_expect_exit(f, label);
	assert_non_null(e);
	protobuf_c_message_free_unpacked(&e->base, NULL);
}

/* A RAM disk outlives its driver: the node kernel keeps its memory for the next instance
 * started as a restart, with the same bytes on both disks; a disk of another size is new;
 * a fresh start drops what was kept. */
static void test_ramdisk_outlives_driver(void **state)
{
	fixture *f = *state;
	char *margv[] = {PLEXUS_MEMORY_BIN, "--ramdisk", "0:4M", "--ramdisk", "7:1M", NULL};
	drvcluster_start_driver(f, 1, "memkeep", NULL, margv);
	plx_bdev *b = plx_bdev_new(f->rs, "memkeep", S_WAIT_MS);
	uint8_t *w = malloc(S_MB), *r = malloc(S_MB);
	s_pattern(w, S_MB, 7);
	assert_int_equal(plx_bdev_open(b, 0, PLEXUS__BDEV_ACCESS__BDEV_W_BIT), 0);
	assert_int_equal(plx_bdev_open(b, 7, PLEXUS__BDEV_ACCESS__BDEV_W_BIT), 0);
	assert_int_equal(plx_bdev_write(b, 0, 3 * S_MB, w, S_MB, 0), (ssize_t)S_MB);
	assert_int_equal(plx_bdev_write(b, 7, 0, w, 4096, 0), 4096);
	for (int round = 0; round < 2; round++) {
		s_kill_n1(f, "memkeep");
		drvcluster_start_driver(f, 1, "memkeep", "restart", margv);
		assert_int_equal(plx_bdev_open(b, 0, PLEXUS__BDEV_ACCESS__BDEV_R_BIT), 0);
		assert_int_equal(plx_bdev_read(b, 0, 3 * S_MB, r, S_MB, 0), (ssize_t)S_MB);
		assert_memory_equal(r, w, S_MB);
		assert_int_equal(plx_bdev_open(b, 7, PLEXUS__BDEV_ACCESS__BDEV_R_BIT), 0);
		assert_int_equal(plx_bdev_read(b, 7, 0, r, 4096, 0), 4096);
		assert_memory_equal(r, w, 4096);
	}
	/* Minor 0 asked with another size: a new disk; minor 7 kept. */
	char *bigger[] = {PLEXUS_MEMORY_BIN, "--ramdisk", "0:8M", "--ramdisk", "7:1M", NULL};
	s_kill_n1(f, "memkeep");
	drvcluster_start_driver(f, 1, "memkeep", "restart", bigger);
	assert_int_equal(plx_bdev_open(b, 0, PLEXUS__BDEV_ACCESS__BDEV_R_BIT), 0);
	assert_int_equal(plx_bdev_read(b, 0, 3 * S_MB, r, 4096, 0), 4096);
	for (int i = 0; i < 4096; i++)
		assert_int_equal(r[i], 0);
	assert_int_equal(plx_bdev_open(b, 7, PLEXUS__BDEV_ACCESS__BDEV_R_BIT), 0);
	assert_int_equal(plx_bdev_read(b, 7, 0, r, 4096, 0), 4096);
	assert_memory_equal(r, w, 4096);
	/* A fresh start: nothing kept. */
	s_kill_n1(f, "memkeep");
	drvcluster_start_driver(f, 1, "memkeep", NULL, margv);
	assert_int_equal(plx_bdev_open(b, 7, PLEXUS__BDEV_ACCESS__BDEV_R_BIT), 0);
	assert_int_equal(plx_bdev_read(b, 7, 0, r, 4096, 0), 4096);
	for (int i = 0; i < 4096; i++)
		assert_int_equal(r[i], 0);
	free(w);
	free(r);
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
	int64_t start = drvcluster_now_ms();
	p->rc = plx_sendrec(p->f->rs, &req, &reply, 60000);
	p->took_ms = drvcluster_now_ms() - start;
	plx_msg_destroy(&reply);
	return NULL;
}

static int s_signal(fixture *f, const char *node, const char *label, int signo)
{
	Plexus__NodeSignal sig = PLEXUS__NODE_SIGNAL__INIT;
	sig.label = (char *)label;
	sig.signo = signo;
	return drvcluster_call(f, node, PLEXUS__NODE_TYPE__NODE_SIGNAL, &sig.base, NULL);
}

/* A request to a driver that hangs (SIGSTOP) and is then killed and replaced fails with
 * -PLX_EDEADSRCDST long before its 60 s limit (measured: tens of ms after the kill), and the
 * same request to the new generation works: what a file server's retry after a driver
 * restart relies on. */
static void test_pending_request_fails_on_restart(void **state)
{
	fixture *f = *state;
	char *margv[] = {PLEXUS_MEMORY_BIN, "--ramdisk", "0:1M", NULL};
	uint64_t gen1 = drvcluster_start_driver(f, 1, "mempend", NULL, margv);
	plx_bdev *b = plx_bdev_new(f->rs, "mempend", S_WAIT_MS);
	uint8_t buf[512];
	assert_int_equal(plx_bdev_read(b, 0, 0, buf, sizeof buf, 0), sizeof buf);
	assert_int_equal(s_signal(f, "node.n1", "mempend", SIGSTOP), 0); /* hung */
	s_pending p = {.f = f, .generation = gen1};
	pthread_t thread;
	assert_int_equal(pthread_create(&thread, NULL, s_pending_read, &p), 0);
	assert_int_equal(s_signal(f, "node.n1", "mempend", SIGKILL), 0);
	Plexus__NodeExit *e = drvcluster_expect_exit(f, "mempend");
	assert_non_null(e);
	protobuf_c_message_free_unpacked(&e->base, NULL);
	uint64_t gen2 = drvcluster_start_driver(f, 2, "mempend", "restart", margv);
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
	    cmocka_unit_test_setup_teardown(test_suite_same_node, s_setup, drvcluster_teardown),
	    cmocka_unit_test_setup_teardown(test_suite_other_nodes, s_setup, drvcluster_teardown),
	    cmocka_unit_test_setup_teardown(test_stop_and_exit_reports, s_setup,
	                                    drvcluster_teardown),
	    cmocka_unit_test_setup_teardown(test_restart_on_another_node, s_setup,
	                                    drvcluster_teardown),
	    cmocka_unit_test_setup_teardown(test_ramdisk_outlives_driver, s_setup,
	                                    drvcluster_teardown),
	    cmocka_unit_test_setup_teardown(test_pending_request_fails_on_restart, s_setup,
	                                    drvcluster_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
