/*
 * test-cli.c — `plexus ds`, `plexus ep` and `plexus bench registry` run in-process against a
 * private etcd, with their standard output captured: results, exit codes (sysexits.h), the
 * etcd-down error, watch --count, and the benchmark's one JSON object.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include <plexus/ds.h>
#include <plexus/endpoint.h>
#include <plexus/registry_cli.h>

#include "etcd_fixture.h"

static plx_etcdh *s_h;
static char s_out[65536];

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

typedef int s_cli(int argc, char **argv);

/* Runs cli with the given words (NULL-terminated) and --etcd/--cluster added; captures its
 * standard output into s_out. Returns its exit code. */
static int s_run(s_cli *cli, const char *etcd, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	va_start(ap, etcd);
	for (const char *w; (w = va_arg(ap, const char *)) != NULL;)
		argv[argc++] = (char *)w;
	va_end(ap);
	char etcd_opt[512];
	snprintf(etcd_opt, sizeof etcd_opt, "--etcd=%s", etcd ? etcd : plx_etcdh_endpoints(s_h));
	argv[argc++] = etcd_opt;
	argv[argc++] = "--cluster=clitest";
	argv[argc] = NULL;

	char path[] = "/tmp/plexus-cli-out-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	fflush(stdout);
	int saved = dup(1);
	dup2(fd, 1);
	int rc = cli(argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	ssize_t n = pread(fd, s_out, sizeof s_out - 1, 0);
	s_out[n > 0 ? n : 0] = '\0';
	close(fd);
	return rc;
}

static void test_ds_put_get_ls(void **state)
{
	(void)state;
	assert_int_equal(s_run(plx_ds_cli, NULL, "ds", "put", "drv.blk.a", "up", NULL), EX_OK);
	assert_int_equal(s_run(plx_ds_cli, NULL, "ds", "get", "drv.blk.a", NULL), EX_OK);
	assert_string_equal(s_out, "up\n");
	assert_int_equal(s_run(plx_ds_cli, NULL, "ds", "put", "--type", "u32", "count", "17", NULL),
	                 EX_OK);
	assert_int_equal(s_run(plx_ds_cli, NULL, "ds", "get", "count", NULL), EX_OK);
	assert_string_equal(s_out, "17\n");
	assert_int_equal(s_run(plx_ds_cli, NULL, "ds", "put", "drv.blk.a", "down", NULL), EX_OK);
	assert_int_equal(s_run(plx_ds_cli, NULL, "ds", "ls", NULL), EX_OK);
	assert_non_null(strstr(s_out, "KEY"));
	assert_non_null(strstr(s_out, "count"));
	assert_non_null(strstr(s_out, "down"));
	assert_non_null(strstr(s_out, "plexus-cli"));
	assert_int_equal(s_run(plx_ds_cli, NULL, "ds", "ls", "drv.", NULL), EX_OK);
	assert_null(strstr(s_out, "count"));
	assert_non_null(strstr(s_out, "drv.blk.a"));

	assert_int_equal(s_run(plx_ds_cli, NULL, "ds", "get", "missing", NULL), EX_NOINPUT);
	assert_int_equal(s_run(plx_ds_cli, NULL, "ds", "put", "--type", "u32", "n", "x", NULL),
	                 EX_USAGE);
	assert_int_equal(s_run(plx_ds_cli, NULL, "ds", "frobnicate", NULL), EX_USAGE);
	assert_int_equal(s_run(plx_ds_cli, NULL, "ds", "--help", NULL), EX_OK);
	assert_non_null(strstr(s_out, "usage: plexus ds"));
}

static void test_etcd_down_is_unavailable(void **state)
{
	(void)state;
	/* A port nobody listens on: the harness's member 0 killed would do too, but a dead URL
	 * keeps the shared etcd running. */
	assert_int_equal(s_run(plx_ds_cli, "http://127.0.0.1:1", "ds", "ls", NULL), EX_UNAVAILABLE);
	assert_int_equal(s_run(plx_ep_cli, "http://127.0.0.1:1", "ep", "ls", NULL), EX_UNAVAILABLE);
	assert_non_null(strstr(plx_etcd_errmsg(), "http://127.0.0.1:1"));
}

static void test_ep_ls(void **state)
{
	(void)state;
	plx_etcd_opts opts = {.endpoints = plx_etcdh_endpoints(s_h)};
	plx_etcd *etcd = plx_etcd_new(&opts);
	assert_non_null(etcd);
	plx_endpoint_rec rec = {.pid = 321, .start_time = 1700000000000};
	strcpy(rec.label, "vdisk");
	strcpy(rec.node, "node7");
	strcpy(rec.address, "tcp://10.1.2.3:4000");
	strcpy(rec.state, "up");
	assert_int_equal(plx_generation_next(etcd, "clitest", "vdisk", &rec.generation), 0);
	assert_int_equal(plx_endpoint_publish(etcd, "clitest", &rec, 0), 0);
	assert_int_equal(s_run(plx_ep_cli, NULL, "ep", "ls", NULL), EX_OK);
	assert_non_null(strstr(s_out, "LABEL"));
	assert_non_null(strstr(s_out, "vdisk"));
	assert_non_null(strstr(s_out, "node7"));
	assert_non_null(strstr(s_out, "tcp://10.1.2.3:4000"));
	assert_non_null(strstr(s_out, "2023-11-14T22:13:20Z"));
	assert_int_equal(plx_etcd_put(etcd, "/plexus/clitest/ep/bad", "x", 1, 0, NULL), 0);
	assert_int_equal(s_run(plx_ep_cli, NULL, "ep", "ls", NULL), EX_DATAERR);
	assert_non_null(strstr(s_out, "vdisk"));
	assert_int_equal(s_run(plx_ep_cli, NULL, "ep", "list", NULL), EX_USAGE);
	plx_etcd_destroy(&etcd);
}

static void *s_publish_later(void *arg)
{
	(void)arg;
	plx_etcd_opts opts = {.endpoints = plx_etcdh_endpoints(s_h)};
	plx_etcd *etcd = plx_etcd_new(&opts);
	plx_ds *ds = plx_ds_new(etcd, "clitest", "writer");
	usleep(500 * 1000); /* the watch is up by now */
	plx_ds_publish_u32(ds, "w.one", 1, 0);
	plx_ds_publish_u32(ds, "other", 2, 0);
	plx_ds_delete(ds, "w.one", 0);
	plx_ds_publish_u32(ds, "w.two", 3, 0);
	plx_ds_destroy(&ds);
	plx_etcd_destroy(&etcd);
	return NULL;
}

static void test_ds_watch_count(void **state)
{
	(void)state;
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, s_publish_later, NULL), 0);
	assert_int_equal(s_run(plx_ds_cli, NULL, "ds", "watch", "w.", "--count", "3", NULL), EX_OK);
	pthread_join(t, NULL);
	assert_string_equal(s_out, "put w.one writer u32 1\n"
	                           "delete w.one writer\n"
	                           "put w.two writer u32 3\n");
}

static void test_bench_json(void **state)
{
	(void)state;
	char *argv[] = {"registry", "--json", "--rounds", "10", NULL};
	fflush(stdout);
	char path[] = "/tmp/plexus-bench-out-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	int saved = dup(1);
	dup2(fd, 1);
	int rc = plx_bench_registry(4, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	ssize_t n = pread(fd, s_out, sizeof s_out - 1, 0);
	close(fd);
	assert_int_equal(rc, EX_OK);
	assert_true(n > 0);
	json_error_t err;
	json_t *root = json_loadb(s_out, (size_t)n, 0, &err); /* exactly one object */
	assert_non_null(root);
	assert_string_equal(json_string_value(json_object_get(root, "bench")), "registry");
	json_t *cases = json_object_get(root, "cases"), *c;
	size_t i;
	assert_int_equal(json_array_size(cases), 6);
	json_array_foreach(cases, i, c)
	{
		double plexus = json_number_value(json_object_get(c, "plexus"));
		double base = json_number_value(json_object_get(c, "baseline_value"));
		double ratio = json_number_value(json_object_get(c, "ratio"));
		assert_true(plexus > 0 && base > 0);
		assert_true(ratio > plexus / base * 0.999 && ratio < plexus / base * 1.001);
		assert_non_null(json_string_value(json_object_get(c, "metric")));
		assert_non_null(json_string_value(json_object_get(c, "baseline")));
	}
	json_decref(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ds_put_get_ls), cmocka_unit_test(test_etcd_down_is_unavailable),
	    cmocka_unit_test(test_ep_ls),         cmocka_unit_test(test_ds_watch_count),
	    cmocka_unit_test(test_bench_json),
	};
	return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
