/*
 * test-blockdriver-lib.c — libblockdriver in one process, without etcd: a server on an inproc
 * endpoint with the block handlers and a recording driver behind them. Checks what the
 * conformance suite cannot see from outside: the transfer callback is never called for a
 * request the library refuses, and is called with the clipped, aligned vector; open and close
 * callbacks may refuse without the count changing; ioctl argument and result bytes pass
 * through; the alarm ticks; a server takes one block driver and a driver one server; handlers
 * of a server with no block driver answer -ENXIO; plx_service_args; a caller's generations are
 * served in order (a replaced instance's requests still queued never reach the disk).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <plexus/bdev.h>
#include <plexus/bdev_stub.h>
#include <plexus/blockdriver.h>

#include "plexus/proto/bdev.pb-c.h"

#define S_SIZE    (1024 * 1024)
#define S_TIMEOUT 10000
#define S_GATE    (S_SIZE - 512) /* a transfer here waits until the test opens the gate */

/* The recording driver: one minor (2) of S_SIZE bytes, 512-byte sectors. */
typedef struct rec {
	uint8_t disk[S_SIZE];
	int transfers;
	uint64_t last_position;
	int last_iovcnt;
	size_t last_total;
	int opens, closes;
	int refuse; /* open and close answer this when non-zero */
	int ticks;
	uint32_t last_request;
	bool bad_call; /* a transfer the library should not have let through (server thread) */
	pthread_mutex_t gate_lock;
	pthread_cond_t gate_cond;
	bool in_gate, gate_open;
} rec;

typedef struct fixture {
	plx_ctx *ctx;
	plx_ep *client;
	plx_bdev *b;
	rec r;
	plx_blockdriver *blk;
	plx_server *srv;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool ready;
	bool bare;      /* a server without a block driver */
	plx_ep *mfs[2]; /* two generations of one caller label, made by the tests that use them */
	plx_bdev *mfs_b[2];
	pthread_t gate;    /* the write waiting at the gate, joined by whoever opens it */
	bool gate_running; /* and their handles: teardown frees them, whatever failed */
} fixture;

static int s_part(void *arg, uint32_t minor, plx_bdev_part *part)
{
	(void)arg;
	if (minor != 2)
		return -ENXIO;
	*part = (plx_bdev_part){.size = S_SIZE, .sector_size = 512};
	return 0;
}

static ssize_t s_transfer(void *arg, uint32_t minor, bool write, uint64_t position,
                          const struct iovec *iov, int iovcnt, uint32_t flags)
{
	(void)minor, (void)flags;
	rec *r = arg;
	if (position == S_GATE) {
		pthread_mutex_lock(&r->gate_lock);
		r->in_gate = true;
		pthread_cond_broadcast(&r->gate_cond);
		while (!r->gate_open)
			pthread_cond_wait(&r->gate_cond, &r->gate_lock);
		pthread_mutex_unlock(&r->gate_lock);
	}
	r->transfers++;
	r->last_position = position;
	r->last_iovcnt = iovcnt;
	size_t done = 0;
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len == 0 || iov[i].iov_len % 512 != 0 ||
		    position + done + iov[i].iov_len > S_SIZE) {
			r->bad_call = true;
			return -EIO;
		}
		if (write)
			memcpy(r->disk + position + done, iov[i].iov_base, iov[i].iov_len);
		else
			memcpy(iov[i].iov_base, r->disk + position + done, iov[i].iov_len);
		done += iov[i].iov_len;
	}
	r->last_total = done;
	return (ssize_t)done;
}

static int s_open(void *arg, uint32_t minor, uint32_t access)
{
	(void)minor, (void)access;
	rec *r = arg;
	r->opens++;
	return r->refuse;
}

static int s_close(void *arg, uint32_t minor)
{
	(void)minor;
	rec *r = arg;
	r->closes++;
	return r->refuse;
}

static int s_ioctl(void *arg, uint32_t minor, uint32_t request, const void *in, size_t in_size,
                   void *out, size_t *out_size)
{
	(void)minor;
	rec *r = arg;
	r->last_request = request;
	if (request != 77)
		return -ENOTTY;
	for (size_t i = 0; i < in_size; i++) /* answers its argument reversed */
		((uint8_t *)out)[i] = ((const uint8_t *)in)[in_size - 1 - i];
	*out_size = in_size;
	return 0;
}

static void s_alarm(void *arg)
{
	((rec *)arg)->ticks++;
}

static const plx_blockdriver_ops s_ops = {
    .part = s_part,
    .transfer = s_transfer,
    .open = s_open,
    .close = s_close,
    .ioctl = s_ioctl,
    .alarm = s_alarm,
    .alarm_ms = 10,
};

static void *s_server_main(void *arg)
{
	fixture *f = arg;
	plx_ep *ep = plx_ep_new(f->ctx, "blk", 1);
	assert_int_equal(plx_ep_bind(ep, "inproc://blk-lib-test"), 0);
	size_t n;
	const plx_handler *table = plx_blockdriver_handlers(&n);
	f->srv = plx_server_new(ep, table, n, NULL);
	if (!f->bare)
		assert_int_equal(plx_blockdriver_attach(f->blk, f->srv), 0);
	pthread_mutex_lock(&f->lock);
	f->ready = true;
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->lock);
	plx_server_run(f->srv);
	plx_server_destroy(&f->srv);
	plx_ep_destroy(&ep);
	return NULL;
}

static int s_start(fixture *f)
{
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	pthread_mutex_init(&f->r.gate_lock, NULL);
	pthread_cond_init(&f->r.gate_cond, NULL);
	f->r.gate_open = true;
	f->ctx = plx_ctx_new();
	f->blk = plx_blockdriver_new(&s_ops, &f->r);
	if (!f->ctx || !f->blk || plx_route_set(f->ctx, "blk", 1, "inproc://blk-lib-test") < 0 ||
	    pthread_create(&f->thread, NULL, s_server_main, f) != 0)
		return -1;
	pthread_mutex_lock(&f->lock);
	while (!f->ready)
		pthread_cond_wait(&f->cond, &f->lock);
	pthread_mutex_unlock(&f->lock);
	f->client = plx_ep_new(f->ctx, "client", 1);
	f->b = plx_bdev_new(f->client, "blk", S_TIMEOUT);
	return f->client && f->b ? 0 : -1;
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	*state = f;
	return f ? s_start(f) : -1;
}

static int setup_bare(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	*state = f;
	if (!f)
		return -1;
	f->bare = true;
	return s_start(f);
}

static int teardown(void **state)
{
	fixture *f = *state;
	for (int i = 1; i >= 0; i--)
		plx_bdev_destroy(&f->mfs_b[i]);
	for (int i = 1; i >= 0; i--)
		plx_ep_destroy(&f->mfs[i]);
	pthread_mutex_lock(&f->r.gate_lock);
	f->r.gate_open = true; /* a test that failed at the gate leaves it shut */
	pthread_cond_broadcast(&f->r.gate_cond);
	pthread_mutex_unlock(&f->r.gate_lock);
	if (f->gate_running)
		pthread_join(f->gate, NULL);
	plx_server_stop(f->srv);
	pthread_join(f->thread, NULL);
	plx_bdev_destroy(&f->b);
	plx_ep_destroy(&f->client);
	plx_blockdriver_destroy(&f->blk);
	plx_ctx_destroy(&f->ctx);
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->r.gate_cond);
	pthread_mutex_destroy(&f->r.gate_lock);
	free(f);
	return 0;
}

/* ---- tests ---- */

static void test_refused_requests_never_reach_the_driver(void **state)
{
	fixture *f = *state;
	uint8_t buf[2048] = {0};
	struct iovec bad[2] = {{buf, 512}, {buf, 0}};
	assert_int_equal(plx_bdev_read(f->b, 1, 0, buf, 512, 0), -ENXIO);
	assert_int_equal(plx_bdev_read(f->b, 2, 0, buf, 0, 0), -EINVAL);
	assert_int_equal(plx_bdev_read(f->b, 2, 100, buf, 512, 0), -EINVAL);
	assert_int_equal(plx_bdev_write(f->b, 2, 0, buf, 513, 0), -EINVAL);
	assert_int_equal(plx_bdev_scatter(f->b, 2, 0, bad, 2, 0), -EINVAL);
	assert_int_equal(plx_bdev_read(f->b, 2, 0, buf, 512, 0x40), -EINVAL);
	assert_int_equal(plx_bdev_read(f->b, 2, S_SIZE, buf, 512, 0), 0);
	assert_int_equal(plx_bdev_write(f->b, 2, S_SIZE + 512, buf, 512, 0), 0);
	assert_int_equal(f->r.transfers, 0);
}

static void test_vector_clipped_at_the_end(void **state)
{
	fixture *f = *state;
	uint8_t buf[4096];
	memset(buf, 0x11, sizeof buf);
	struct iovec iov[3] = {{buf, 512}, {buf + 512, 1024}, {buf + 1536, 2048}};
	/* 1.5 KiB left: the first element whole, the second whole, the third not at all. */
	assert_int_equal(plx_bdev_scatter(f->b, 2, S_SIZE - 1536, iov, 3, 0), 1536);
	assert_int_equal(f->r.transfers, 1);
	assert_int_equal(f->r.last_position, S_SIZE - 1536);
	assert_int_equal(f->r.last_iovcnt, 2);
	assert_int_equal(f->r.last_total, 1536);
	/* 1 KiB left: the second element cut to 512 bytes. */
	assert_int_equal(plx_bdev_gather(f->b, 2, S_SIZE - 1024, iov, 3, 0), 1024);
	assert_int_equal(f->r.last_iovcnt, 2);
	assert_int_equal(f->r.last_total, 1024);
	assert_int_equal(plx_bdev_read(f->b, 2, 4096, buf, 4096, 0), 4096);
	assert_int_equal(f->r.last_iovcnt, 1);
	assert_int_equal(f->r.transfers, 3);
	assert_false(f->r.bad_call);
}

static void test_open_close_refused_keep_the_count(void **state)
{
	fixture *f = *state;
	plx_bdev_info info;
	assert_int_equal(plx_bdev_open(f->b, 2, PLEXUS__BDEV_ACCESS__BDEV_R_BIT), 0);
	f->r.refuse = -EBUSY;
	assert_int_equal(plx_bdev_open(f->b, 2, PLEXUS__BDEV_ACCESS__BDEV_R_BIT), -EBUSY);
	assert_int_equal(plx_bdev_close(f->b, 2), -EBUSY);
	assert_int_equal(plx_bdev_info_get(f->b, 2, &info), 0);
	assert_int_equal(info.open_count, 1);
	f->r.refuse = 0;
	assert_int_equal(plx_bdev_close(f->b, 2), 0);
	assert_int_equal(plx_bdev_close(f->b, 2), -EINVAL); /* the driver is not even asked */
	assert_int_equal(f->r.opens, 2);
	assert_int_equal(f->r.closes, 2);
	assert_int_equal(plx_bdev_open(f->b, 9, PLEXUS__BDEV_ACCESS__BDEV_R_BIT), -ENXIO);
	assert_int_equal(f->r.opens, 2);
}

static void test_ioctl_passes_bytes_and_alarm_ticks(void **state)
{
	fixture *f = *state;
	uint8_t out[8] = {0};
	size_t out_size = sizeof out;
	assert_int_equal(plx_bdev_ioctl(f->b, 2, 77, "abc", 3, out, &out_size), 0);
	assert_int_equal(out_size, 3);
	assert_memory_equal(out, "cba", 3);
	out_size = sizeof out;
	assert_int_equal(plx_bdev_ioctl(f->b, 2, 78, "abc", 3, out, &out_size), -ENOTTY);
	assert_int_equal(f->r.last_request, 78);
	assert_int_equal(plx_bdev_flush(f->b, 2), 0); /* no flush callback: nothing to do */
	for (int i = 0; i < 500 && f->r.ticks < 3; i++)
		usleep(10 * 1000);
	assert_true(f->r.ticks >= 3);
}

static void test_attach_once(void **state)
{
	fixture *f = *state;
	plx_blockdriver *other = plx_blockdriver_new(&s_ops, &f->r);
	assert_non_null(other);
	assert_int_equal(plx_blockdriver_attach(other, f->srv), -EBUSY);  /* server taken */
	assert_int_equal(plx_blockdriver_attach(f->blk, f->srv), -EBUSY); /* driver taken */
	plx_blockdriver_destroy(&other);
	assert_null(other);
	plx_blockdriver_ops none = {.part = s_part};
	assert_null(plx_blockdriver_new(&none, NULL));
	assert_int_equal(errno, EINVAL);
}

static void test_server_without_driver(void **state)
{
	fixture *f = *state;
	uint8_t buf[512];
	plx_bdev_info info;
	assert_int_equal(plx_bdev_read(f->b, 2, 0, buf, sizeof buf, 0), -ENXIO);
	assert_int_equal(plx_bdev_open(f->b, 2, PLEXUS__BDEV_ACCESS__BDEV_R_BIT), -ENXIO);
	assert_int_equal(plx_bdev_info_get(f->b, 2, &info), -ENXIO);
	assert_int_equal(plx_bdev_flush(f->b, 2), -ENXIO);
}

typedef struct opts {
	char seen[8][64];
	int n;
} opts;

static int s_own(void *arg, const char *name, const char *value, char *err, size_t size)
{
	opts *o = arg;
	if (strcmp(name, "bad") == 0) {
		snprintf(err, size, "--bad is bad");
		return -EINVAL;
	}
	if (strcmp(name, "disk") != 0 && strcmp(name, "fast") != 0)
		return -ENOENT;
	snprintf(o->seen[o->n++], sizeof o->seen[0], "%s=%s", name, value);
	return 0;
}

/* f->mfs[0] and [1]: "mfs" generations 1 and 2, with block handles to "blk". */
static void s_two_generations(fixture *f)
{
	for (int i = 0; i < 2; i++) {
		f->mfs[i] = plx_ep_new(f->ctx, "mfs", (uint64_t)i + 1);
		assert_non_null(f->mfs[i]);
		f->mfs_b[i] = plx_bdev_new(f->mfs[i], "blk", S_TIMEOUT);
		assert_non_null(f->mfs_b[i]);
	}
}

/* Two instances of one caller label: once generation 2 was served, generation 1 is refused
 * (-ESTALE) before the driver sees it; other labels go on as before. */
static void test_older_generation_refused(void **state)
{
	fixture *f = *state;
	uint8_t buf[512];
	memset(buf, 'x', sizeof buf);
	s_two_generations(f);
	plx_bdev *bo = f->mfs_b[0], *by = f->mfs_b[1];
	assert_int_equal(plx_bdev_write(bo, 2, 0, buf, sizeof buf, 0), 512);
	assert_int_equal(plx_bdev_write(by, 2, 0, buf, sizeof buf, 0), 512);
	int before = f->r.transfers;
	assert_int_equal(plx_bdev_write(bo, 2, 0, buf, sizeof buf, 0), -ESTALE);
	assert_int_equal(plx_bdev_read(bo, 2, 0, buf, sizeof buf, 0), -ESTALE);
	assert_int_equal(plx_bdev_open(bo, 2, PLEXUS__BDEV_ACCESS__BDEV_R_BIT), -ESTALE);
	assert_int_equal(plx_bdev_flush(bo, 2), -ESTALE);
	assert_int_equal(f->r.transfers, before);
	assert_int_equal(plx_bdev_read(by, 2, 0, buf, sizeof buf, 0), 512);
	assert_int_equal(plx_bdev_read(f->b, 2, 0, buf, sizeof buf, 0), 512);
}

static void *s_gate_writer(void *arg)
{
	fixture *f = arg;
	uint8_t buf[512] = {0};
	return (void *)(intptr_t)plx_bdev_write(f->b, 2, S_GATE, buf, sizeof buf, 0);
}

/* Queues count writes of fill at position 0 from ep, without waiting. */
static void s_queue_writes(plx_ep *ep, int count, char fill)
{
	plx_stub stub;
	assert_int_equal(plx_stub_init(&stub, ep, "blk", 0, S_TIMEOUT), 0);
	uint8_t buf[512];
	memset(buf, fill, sizeof buf);
	Plexus__BdevIo io = PLEXUS__BDEV_IO__INIT;
	io.minor = 2;
	io.size = sizeof buf;
	for (int i = 0; i < count; i++)
		assert_int_equal(plx_bdev_write_send(&stub, &io, buf, sizeof buf, NULL), 0);
}

/* Waits for count replies on ep; returns how many said -ESTALE (the others must be 0). */
static int s_collect(plx_ep *ep, int count)
{
	int stale = 0;
	for (int i = 0; i < count; i++) {
		plx_msg *m = NULL;
		assert_int_equal(plx_receive(ep, &m, S_TIMEOUT), 0);
		assert_int_equal(m->kind, PLX_REPLY);
		if (m->status == -ESTALE)
			stale++;
		else
			assert_int_equal(m->status, 0);
		plx_msg_destroy(&m);
	}
	return stale;
}

/* The file server's restart in miniature: while the driver is busy, generation 1 queues 32
 * writes of 'A' and generation 2 one of 'B', all to one block. The driver takes its peers'
 * queues in turn, so generation 2's write runs among generation 1's. Those of generation 1
 * behind it must not run: the block ends as 'B', and they are answered -ESTALE. */
static void test_queued_writes_of_a_replaced_caller_never_land(void **state)
{
	fixture *f = *state;
	s_two_generations(f);
	plx_ep *old = f->mfs[0], *young = f->mfs[1];
	f->r.gate_open = false;
	assert_int_equal(pthread_create(&f->gate, NULL, s_gate_writer, f), 0);
	f->gate_running = true;
	pthread_mutex_lock(&f->r.gate_lock);
	while (!f->r.in_gate)
		pthread_cond_wait(&f->r.gate_cond, &f->r.gate_lock);
	pthread_mutex_unlock(&f->r.gate_lock);
	s_queue_writes(old, 32, 'A');
	s_queue_writes(young, 1, 'B');
	pthread_mutex_lock(&f->r.gate_lock);
	f->r.gate_open = true;
	pthread_cond_broadcast(&f->r.gate_cond);
	pthread_mutex_unlock(&f->r.gate_lock);
	void *gate_rc;
	pthread_join(f->gate, &gate_rc);
	f->gate_running = false;
	assert_int_equal((intptr_t)gate_rc, 512);
	assert_int_equal(s_collect(young, 1), 0);
	int stale = s_collect(old, 32);
	print_message("generation 1: %d of 32 writes ran, %d were refused\n", 32 - stale, stale);
	assert_true(stale > 0);
	uint8_t buf[512], want[512];
	memset(want, 'B', sizeof want);
	assert_int_equal(plx_bdev_read(f->mfs_b[1], 2, 0, buf, sizeof buf, 0), 512);
	assert_memory_equal(buf, want, sizeof buf);
}

static void test_args(void **state)
{
	(void)state;
	static const char *const flags[] = {"fast", NULL};
	plx_service_cfg cfg;
	char err[256];
	opts o = {0};
	plx_service_cfg_init(&cfg);
	char *good[] = {"x",      "--label",     "mem",         "--disk", "0:1M",
	                "--fast", "--disk=1:2M", "--cluster=c", NULL};
	assert_int_equal(plx_service_args(&cfg, 8, good, flags, s_own, &o, err, sizeof err), 0);
	assert_string_equal(cfg.label, "mem");
	assert_string_equal(cfg.cluster, "c");
	assert_int_equal(o.n, 3);
	assert_string_equal(o.seen[0], "disk=0:1M");
	assert_string_equal(o.seen[1], "fast=");
	assert_string_equal(o.seen[2], "disk=1:2M");
	char *help[] = {"x", "--label", "m", "-h", NULL};
	assert_int_equal(plx_service_args(&cfg, 4, help, flags, s_own, &o, err, sizeof err), 1);
	char *const bad[][3] = {{"x", "--nope", "1"}, {"x", "--disk", NULL},
	                        {"x", "plain", NULL}, {"x", "--bad", "1"},
	                        {"x", "--", NULL},    {"x", "--generation", "0"}};
	const char *const why[] = {"unknown option --nope", "needs a value", "unexpected argument",
	                           "--bad is bad",          "unexpected",    "generation"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		int argc = bad[i][2] ? 3 : 2;
		err[0] = '\0';
		assert_int_equal(plx_service_args(&cfg, argc, (char **)bad[i], flags, s_own, &o,
		                                  err, sizeof err),
		                 -EINVAL);
		if (!strstr(err, why[i]))
			fail_msg("case %zu: '%s' does not say '%s'", i, err, why[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_refused_requests_never_reach_the_driver, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_vector_clipped_at_the_end, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_close_refused_keep_the_count, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_ioctl_passes_bytes_and_alarm_ticks, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_attach_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_server_without_driver, setup_bare, teardown),
	    cmocka_unit_test_setup_teardown(test_older_generation_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_queued_writes_of_a_replaced_caller_never_land,
	                                    setup, teardown),
	    cmocka_unit_test(test_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
