/*
 * test-misc.c — the route table, chunking, error strings, type names and the message trace
 * (its records and its printed lines).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <plexus/chunk.h>

#include "testlib.h"

static void test_route_table(void **unused)
{
	(void)unused;
	plx_ctx *ctx = plx_ctx_new();
	char address[PLX_ADDRESS_MAX];
	uint64_t generation = 0;
	assert_int_equal(plx_route_lookup(ctx, "mfs", &generation, address, sizeof address),
	                 -ENOENT);
	assert_int_equal(plx_route_set(ctx, "mfs", 3, "tcp://127.0.0.1:5000"), 0);
	assert_int_equal(plx_route_lookup(ctx, "mfs", &generation, address, sizeof address), 0);
	assert_int_equal(generation, 3);
	assert_string_equal(address, "tcp://127.0.0.1:5000");
	assert_int_equal(plx_route_lookup(ctx, "mfs", NULL, address, 4), -ENAMETOOLONG);
	assert_false(plx_is_dead(ctx, "mfs", 3));
	/* A new generation replaces the old one and marks it dead. */
	assert_int_equal(plx_route_set(ctx, "mfs", 4, "tcp://127.0.0.1:5001"), 0);
	assert_true(plx_is_dead(ctx, "mfs", 3));
	assert_false(plx_is_dead(ctx, "mfs", 4));
	assert_int_equal(plx_route_remove(ctx, "mfs"), 0);
	assert_true(plx_is_dead(ctx, "mfs", 4));
	assert_int_equal(plx_route_remove(ctx, "mfs"), -ENOENT);
	/* Bad arguments. */
	assert_int_equal(plx_route_set(ctx, "", 1, "tcp://127.0.0.1:1"), -EINVAL);
	assert_int_equal(plx_route_set(ctx, "x", 0, "tcp://127.0.0.1:1"), -EINVAL);
	assert_int_equal(plx_route_set(ctx, "x", 1, ""), -EINVAL);
	assert_int_equal(plx_route_set(ctx, "x", 1, "udp://127.0.0.1:1"), -EINVAL);
	assert_int_equal(plx_route_set(ctx, "x", 1, "tcp://"), -EINVAL);
	char long_label[PLX_LABEL_MAX + 1];
	memset(long_label, 'a', sizeof long_label - 1);
	long_label[PLX_LABEL_MAX] = '\0';
	assert_int_equal(plx_route_set(ctx, long_label, 1, "tcp://127.0.0.1:1"), -EINVAL);
	plx_ctx_destroy(&ctx);
}

static void s_expect_chunks(size_t total, size_t chunk, size_t count)
{
	plx_chunk it;
	plx_chunk_init(&it, total, chunk);
	size_t n = 0, covered = 0;
	while (plx_chunk_next(&it)) {
		assert_int_equal(it.offset, covered);
		assert_true(it.length <= chunk);
		covered += it.length;
		n++;
	}
	assert_int_equal(covered, total);
	assert_int_equal(n, count);
	assert_int_equal(plx_chunk_count(total, chunk), count);
}

static void test_chunks_cover_the_transfer(void **unused)
{
	(void)unused;
	s_expect_chunks(0, 4096, 1);
	s_expect_chunks(1, 4096, 1);
	s_expect_chunks(4096, 4096, 1);
	s_expect_chunks(4097, 4096, 2);
	s_expect_chunks(10u << 20, 1u << 20, 10);
	s_expect_chunks((10u << 20) + 3, 1u << 20, 11);
}

static void test_error_strings_and_type_names(void **unused)
{
	(void)unused;
	assert_non_null(strstr(plx_strerror(-PLX_EDEADSRCDST), "stale generation"));
	assert_string_equal(plx_strerror(PLX_EDEADSRCDST), plx_strerror(-PLX_EDEADSRCDST));
	assert_non_null(strstr(plx_strerror(-PLX_ECALLDENIED), "denied"));
	assert_string_equal(plx_strerror(-ETIMEDOUT), strerror(ETIMEDOUT));
	assert_string_equal(plx_type_name(PLEXUS__IPC_TYPE__IPC_PING), "IPC_PING");
	assert_string_equal(plx_type_name(0x7777), "?");
	assert_string_equal(plx_type_name(0), "?");
	assert_int_equal(plx_register_types(&plexus__ipc_type__descriptor), 0);
}

typedef struct recorder {
	int events;
	int sent, received;
	uint64_t latency_us;
	char last_type[32];
} recorder;

static void s_record(const plx_trace_event *ev, void *arg)
{
	recorder *r = arg;
	r->events++;
	if (ev->direction == '>')
		r->sent++;
	else
		r->received++;
	if (ev->kind == PLX_REPLY && ev->direction == '<' && ev->latency_us)
		r->latency_us = ev->latency_us;
	snprintf(r->last_type, sizeof r->last_type, "%s", plx_type_name(ev->type));
}

static void test_trace_records_both_directions_only_when_on(void **unused)
{
	(void)unused;
	plx_ctx *ctx = plx_ctx_new();
	tl_server *server = tl_server_start(ctx, "traced", 1, TL_INPROC);
	plx_ep *client = plx_ep_new(ctx, "student", 1);
	recorder r = {0};
	plx_trace_set(ctx, true, s_record, &r);
	assert_true(plx_trace_enabled(ctx));
	plx_request req = tl_request("traced", PLEXUS__IPC_TYPE__IPC_SINK, NULL, "abc", 3);
	plx_msg *reply = NULL;
	assert_int_equal(plx_sendrec(client, &req, &reply, 10000), 0);
	plx_msg_destroy(&reply);
	/* The server traces its reply after sending it: stop it before tracing goes off. */
	tl_server_stop(&server);
	plx_trace_set(ctx, false, s_record, &r);
	/* request out, request in at the server, reply out, reply in at the client */
	assert_int_equal(r.events, 4);
	assert_int_equal(r.sent, 2);
	assert_int_equal(r.received, 2);
	assert_true(r.latency_us > 0);
	assert_string_equal(r.last_type, "IPC_SINK");
	int before = r.events;
	server = tl_server_start(ctx, "traced", 2, TL_INPROC);
	assert_int_equal(plx_sendrec(client, &req, &reply, 10000), 0);
	plx_msg_destroy(&reply);
	assert_int_equal(r.events, before);
	plx_ep_destroy(&client);
	tl_server_stop(&server);
	plx_ctx_destroy(&ctx);
}

/* The printed trace (no function given): each line ends with the wall clock, t= in
 * microseconds, which `plexus trace` reads (docs/trace.md). */
static void test_trace_lines_end_with_the_wall_clock(void **unused)
{
	(void)unused;
	char path[] = "/tmp/test-misc-trace-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	int saved = dup(2);
	dup2(fd, 2);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	long long before = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	plx_ctx *ctx = plx_ctx_new();
	tl_server *server = tl_server_start(ctx, "traced", 1, TL_INPROC);
	plx_ep *client = plx_ep_new(ctx, "student", 1);
	plx_trace_set(ctx, true, NULL, NULL);
	plx_request req = tl_request("traced", PLEXUS__IPC_TYPE__IPC_SINK, NULL, "abc", 3);
	plx_msg *reply = NULL;
	assert_int_equal(plx_sendrec(client, &req, &reply, 10000), 0);
	plx_msg_destroy(&reply);
	tl_server_stop(&server);
	plx_trace_set(ctx, false, NULL, NULL);
	plx_ep_destroy(&client);
	plx_ctx_destroy(&ctx);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	char text[4096] = "";
	ssize_t n = pread(fd, text, sizeof text - 1, 0);
	close(fd);
	unlink(path);
	assert_true(n > 0);
	const char *line = strstr(text, "> request IPC_SINK(17) student/1 -> traced/1 id=");
	assert_non_null(line);
	const char *t = strstr(line, "us t=");
	assert_non_null(t);
	assert_true(t < strchr(line, '\n'));
	long long stamp = strtoll(t + 5, NULL, 10);
	assert_true(stamp >= before && stamp < before + 60 * 1000000LL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_route_table),
	    cmocka_unit_test(test_chunks_cover_the_transfer),
	    cmocka_unit_test(test_error_strings_and_type_names),
	    cmocka_unit_test(test_trace_records_both_directions_only_when_on),
	    cmocka_unit_test(test_trace_lines_end_with_the_wall_clock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
