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
#include <inttypes.h>
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
#include "drvcluster.h"
#include "netns_harness.h"
#include "plexus/proto/cdev.pb-c.h"
#include "plexus/proto/node.pb-c.h"

#define S_CLUSTER "chrnet"
#define S_WAIT_MS DRVCLUSTER_WAIT_MS

typedef drvcluster fixture;

static int s_setup(void **state)
{
	static const drvcluster_opts opts = {.cluster = S_CLUSTER,
	                                     .client = "chrclient",
	                                     .types = &plexus__cdev_type__descriptor,
	                                     .env_marker = "PLEXUS_CHRTEST=1"};
	return drvcluster_setup(state, &opts);
}

/* ---- tests ---- */

static void test_drivers_on_other_nodes(void **state)
{
	fixture *f = *state;
	char *margv[] = {PLEXUS_MEMORY_BIN, "--ramdisk", "0:1M", NULL};
	char *hargv[] = {PLEXUS_HELLO_BIN, NULL};
	char *targv[] = {PLEXUS_TTY_BIN, "--console", "none", "--ptys", "6", NULL};
	char *largv[] = {PLEXUS_LOG_BIN, NULL};
	drvcluster_start_driver(f, 1, "memory", NULL, margv);
	drvcluster_start_driver(f, 1, "hello", NULL, hargv);
	drvcluster_start_driver(f, 2, "tty", NULL, targv);
	drvcluster_start_driver(f, 3, "log", NULL, largv);
	const char *labels[] = {"memory", "hello", "tty", "log"};
	for (size_t i = 0; i < 4; i++) {
		chartest_ping(f->rs, labels[i]);
		char key[64], value[16] = "";
		snprintf(key, sizeof key, "drv.chr.%s", labels[i]);
		int rc = -ESRCH; /* announced just after the endpoint is published */
		for (int64_t end = drvcluster_now_ms() + S_WAIT_MS;
		     rc == -ESRCH && drvcluster_now_ms() < end;)
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
	uint64_t gen1 = drvcluster_start_driver(f, 1, "hellors", NULL, hargv);
	plx_cdev *dev = plx_cdev_new(f->rs, "hellors", S_WAIT_MS);
	for (int i = 0; i < 3; i++)
		assert_int_equal(plx_cdev_open(dev, 0, PLEXUS__CDEV_ACCESS__CDEV_R_BIT), 0);
	Plexus__NodeSignal sig = PLEXUS__NODE_SIGNAL__INIT;
	sig.label = "hellors";
	sig.signo = SIGKILL;
	assert_int_equal(
	    drvcluster_call(f, "node.n1", PLEXUS__NODE_TYPE__NODE_SIGNAL, &sig.base, NULL), 0);
	Plexus__NodeExit *e = drvcluster_expect_exit(f, "hellors");
	assert_non_null(e);
	assert_true(e->signaled);
	protobuf_c_message_free_unpacked(&e->base, NULL);
	/* RS would restart it; here on node 3, told that it is a restart. */
	uint64_t gen2 = drvcluster_start_driver(f, 3, "hellors", "restart", hargv);
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
	    cmocka_unit_test_setup_teardown(test_drivers_on_other_nodes, s_setup,
	                                    drvcluster_teardown),
	    cmocka_unit_test_setup_teardown(test_hello_restart_on_another_node, s_setup,
	                                    drvcluster_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
