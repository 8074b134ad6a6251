/*
 * test-chardriver-lib.c — libchardriver in one process, without etcd: a server on an inproc
 * endpoint with the character handlers and a recording driver behind them. Checks what the
 * process tests cannot see from outside: refused requests never reach a callback; suspended
 * reads are kept in order, taken back by the driver from another thread, and counted; a cancel
 * only reaches the caller's own request and tells the driver; CDEV_NONBLOCK never suspends;
 * pending requests are capped (-EBUSY); select registrations are replaced, withdrawn, capped, and
 * reported from another thread to the right caller with minor and id; stopping answers what waits
 * with -EIO; a server takes one character driver and a driver one server; handlers with no driver
 * answer -ENXIO; plx_service_args.
 */
#include <pthread.h>
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

#include <plexus/cdev.h>
#include <plexus/chardriver.h>

#include "plexus/proto/cdev.pb-c.h"

#define S_TIMEOUT  10000
#define S_ADDR     "inproc://chr-lib-test"
#define S_CLIENT   "inproc://chr-lib-client"
#define S_READ     PLEXUS__CDEV_TYPE__CDEV_READ
#define S_RD       PLEXUS__CDEV_SEL_OP__CDEV_SEL_RD
#define S_WR       PLEXUS__CDEV_SEL_OP__CDEV_SEL_WR
#define S_NOTIFY   PLEXUS__CDEV_SEL_OP__CDEV_SEL_NOTIFY
#define S_NONBLOCK PLEXUS__CDEV_FLAG__CDEV_NONBLOCK

/* The recording driver: minors 1 and 2; reads wait for data fed by the test. */
typedef struct rec {
	pthread_mutex_t lock;
	char data[256];
	size_t len;
	int reads, writes, ioctls, selects, cancels;
	uint32_t cancel_minor;
	uint64_t cancel_id;
} rec;

typedef struct fixture {
	plx_ctx *ctx;
	plx_ep *client;
	plx_cdev *c;
	rec r;
	plx_chardriver *drv;
	plx_server *srv;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool ready;
	bool bare;
} fixture;

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool s_exists(void *arg, uint32_t minor)
{
	(void)arg;
	return minor == 1 || minor == 2;
}

static int s_read(void *arg, plx_cdev_req *req, void *buf, size_t *count)
{
	rec *r = arg;
	pthread_mutex_lock(&r->lock);
	r->reads++;
	int rc = 0;
	if (r->len > 0) {
		size_t n = r->len < plx_cdev_req_size(req) ? r->len : plx_cdev_req_size(req);
		memcpy(buf, r->data, n);
		memmove(r->data, r->data + n, r->len - n);
		r->len -= n;
		*count = n;
	} else {
		rc = plx_cdev_req_suspend(req);
		rc = rc < 0 ? rc : PLX_SUSPEND;
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

static int s_write(void *arg, plx_cdev_req *req, const void *data, size_t *count)
{
	(void)data;
	rec *r = arg;
	r->writes++;
	*count = plx_cdev_req_size(req) / 2; /* takes half: the count is the driver's */
	return 0;
}

static int s_ioctl(void *arg, plx_cdev_req *req, uint32_t request, const void *in, size_t in_size,
                   void *out, size_t *out_size)
{
	(void)req;
	rec *r = arg;
	r->ioctls++;
	if (request != 77)
		return -ENOTTY;
	for (size_t i = 0; i < in_size; i++) /* answers its argument reversed */
		((uint8_t *)out)[i] = ((const uint8_t *)in)[in_size - 1 - i];
	*out_size = in_size;
	return 0;
}

static uint32_t s_select(void *arg, uint32_t minor, uint32_t ops)
{
	(void)minor;
	rec *r = arg;
	pthread_mutex_lock(&r->lock);
	r->selects++;
	uint32_t ready = (r->len > 0 ? S_RD : 0) | S_WR;
	pthread_mutex_unlock(&r->lock);
	return ready & ops;
}

static void s_cancel(void *arg, uint32_t minor, uint64_t id)
{
	rec *r = arg;
	r->cancels++;
	r->cancel_minor = minor;
	r->cancel_id = id;
}

static const plx_chardriver_ops s_ops = {.exists = s_exists,
                                         .read = s_read,
                                         .write = s_write,
                                         .ioctl = s_ioctl,
                                         .select = s_select,
                                         .cancel = s_cancel};

/* Feeds data from the test's thread and answers the reads waiting on minor, as a driver's
 * input thread does. */
static void s_feed(fixture *f, uint32_t minor, const char *text)
{
	pthread_mutex_lock(&f->r.lock);
	memcpy(f->r.data + f->r.len, text, strlen(text));
	f->r.len += strlen(text);
	plx_cdev_req *req;
	while (f->r.len > 0 && (req = plx_chardriver_next(f->drv, minor, S_READ))) {
		size_t n = f->r.len < plx_cdev_req_size(req) ? f->r.len : plx_cdev_req_size(req);
		plx_cdev_req_reply(req, (int64_t)n, f->r.data, n);
		memmove(f->r.data, f->r.data + n, f->r.len - n);
		f->r.len -= n;
	}
	pthread_mutex_unlock(&f->r.lock);
}

static void *s_server_main(void *arg)
{
	fixture *f = arg;
	plx_ep *ep = plx_ep_new(f->ctx, "chr", 1);
	assert_int_equal(plx_ep_bind(ep, S_ADDR), 0);
	size_t n;
	const plx_handler *table = plx_chardriver_handlers(&n);
	f->srv = plx_server_new(ep, table, n, NULL);
	if (!f->bare)
		assert_int_equal(plx_chardriver_attach(f->drv, f->srv), 0);
	pthread_mutex_lock(&f->lock);
	f->ready = true;
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->lock);
	plx_server_run(f->srv);
	plx_chardriver_abort(f->drv, -EIO);
	plx_server_destroy(&f->srv);
	plx_ep_destroy(&ep);
	return NULL;
}

static int s_start(fixture *f)
{
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	pthread_mutex_init(&f->r.lock, NULL);
	f->ctx = plx_ctx_new();
	f->drv = plx_chardriver_new(&s_ops, &f->r);
	if (!f->ctx || !f->drv || plx_route_set(f->ctx, "chr", 1, S_ADDR) < 0 ||
	    plx_route_set(f->ctx, "client", 1, S_CLIENT) < 0 ||
	    plx_route_set(f->ctx, "other", 1, "inproc://chr-lib-other") < 0 ||
	    pthread_create(&f->thread, NULL, s_server_main, f) != 0)
		return -1;
	pthread_mutex_lock(&f->lock);
	while (!f->ready)
		pthread_cond_wait(&f->cond, &f->lock);
	pthread_mutex_unlock(&f->lock);
	f->client = plx_ep_new(f->ctx, "client", 1);
	if (!f->client || plx_ep_bind(f->client, S_CLIENT) < 0)
		return -1;
	f->c = plx_cdev_new(f->client, "chr", S_TIMEOUT);
	return f->c ? 0 : -1;
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

static void s_stop_server(fixture *f)
{
	if (f->srv) {
		plx_server_stop(f->srv);
		pthread_join(f->thread, NULL);
		f->srv = NULL;
	}
}

static int teardown(void **state)
{
	fixture *f = *state;
	s_stop_server(f);
	plx_cdev_destroy(&f->c);
	plx_ep_destroy(&f->client);
	plx_chardriver_destroy(&f->drv);
	plx_ctx_destroy(&f->ctx);
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	pthread_mutex_destroy(&f->r.lock);
	free(f);
	return 0;
}

/* A read in a thread of its own, from its own endpoint (label, generation 1). */
typedef struct s_reader {
	fixture *f;
	const char *label;
	uint32_t minor;
	uint64_t id;
	char buf[64];
	ssize_t result;
	pthread_t thread;
} s_reader;

static void *s_reader_main(void *arg)
{
	s_reader *r = arg;
	plx_ep *ep = plx_ep_new(r->f->ctx, r->label, 1);
	plx_cdev *c = plx_cdev_new(ep, "chr", S_TIMEOUT);
	r->result = plx_cdev_read(c, r->minor, 0, r->buf, sizeof r->buf - 1, 0, r->id, NULL);
	if (r->result >= 0)
		r->buf[r->result] = '\0';
	plx_cdev_destroy(&c);
	plx_ep_destroy(&ep);
	return NULL;
}

static void s_reader_start(s_reader *r, fixture *f, const char *label, uint32_t minor, uint64_t id)
{
	*r = (s_reader){.f = f, .label = label, .minor = minor, .id = id};
	assert_int_equal(pthread_create(&r->thread, NULL, s_reader_main, r), 0);
}

/* Waits until n reads wait on minor. */
static void s_wait_pending(fixture *f, uint32_t minor, size_t n)
{
	for (int64_t end = s_now_ms() + S_TIMEOUT; s_now_ms() < end; usleep(2000))
		if (plx_chardriver_pending(f->drv, minor, S_READ) == n)
			return;
	fail_msg("%zu reads did not come to wait on minor %u", n, minor);
}

/* ---- tests ---- */

static void test_refused_requests_never_reach_the_driver(void **state)
{
	fixture *f = *state;
	char buf[64] = {0};
	assert_int_equal(plx_cdev_open(f->c, 0, 1), -ENXIO);
	assert_int_equal(plx_cdev_read(f->c, 3, 0, buf, 8, 0, 0, NULL), -ENXIO);
	assert_int_equal(plx_cdev_read(f->c, 256, 0, buf, 8, 0, 0, NULL), -ENXIO);
	assert_int_equal(plx_cdev_open(f->c, 1, 8), -EINVAL);
	assert_int_equal(plx_cdev_read(f->c, 1, 0, buf, 8, 2, 0, NULL), -EINVAL);
	char *huge = calloc(1, PLX_CDEV_MAX_IO + 1);
	assert_non_null(huge);
	assert_int_equal(plx_cdev_write(f->c, 1, 0, huge, PLX_CDEV_MAX_IO + 1, 0, 0), -EINVAL);
	free(huge);
	assert_int_equal(plx_cdev_select(f->c, 1, 16, 0), -EINVAL);
	char big[PLX_CDEV_IOCTL_MAX + 1];
	memset(big, 1, sizeof big);
	assert_int_equal(plx_cdev_ioctl(f->c, 1, 77, big, sizeof big, NULL, NULL, 0), -EINVAL);
	Plexus__CdevIo io = PLEXUS__CDEV_IO__INIT;
	io.minor = 1;
	io.size = 4;
	plx_request req = {.dst = {.label = "chr"},
	                   .type = PLEXUS__CDEV_TYPE__CDEV_WRITE,
	                   .body = &io.base,
	                   .data = "ab",
	                   .data_size = 2};
	plx_msg *reply = NULL;
	assert_int_equal(plx_sendrec(f->client, &req, &reply, S_TIMEOUT), -EBADMSG);
	plx_msg_destroy(&reply);
	req.type = S_READ;
	assert_int_equal(plx_sendrec(f->client, &req, &reply, S_TIMEOUT), -EBADMSG);
	plx_msg_destroy(&reply);
	/* Size 0: count 0, no call. */
	assert_int_equal(plx_cdev_read(f->c, 1, 0, buf, 0, 0, 0, NULL), 0);
	assert_int_equal(plx_cdev_write(f->c, 1, 0, buf, 0, 0, 0), 0);
	assert_int_equal(f->r.reads + f->r.writes + f->r.ioctls + f->r.selects, 0);
	/* What passes reaches it, with its own counts. */
	assert_int_equal(plx_cdev_write(f->c, 2, 0, buf, 10, 0, 0), 5);
	uint8_t in[3] = {1, 2, 3}, out[8];
	size_t out_size = sizeof out;
	assert_int_equal(plx_cdev_ioctl(f->c, 2, 77, in, 3, out, &out_size, 0), 0);
	assert_int_equal(out_size, 3);
	assert_int_equal(out[0], 3);
	assert_int_equal(out[2], 1);
	assert_int_equal(plx_cdev_ioctl(f->c, 2, 78, NULL, 0, NULL, NULL, 0), -ENOTTY);
}

static void test_deferred_reads_in_order(void **state)
{
	fixture *f = *state;
	s_reader a, b;
	s_reader_start(&a, f, "ra", 1, 1);
	s_wait_pending(f, 1, 1);
	s_reader_start(&b, f, "rb", 1, 2);
	s_wait_pending(f, 1, 2);
	assert_int_equal(plx_chardriver_pending(f->drv, 2, 0), 0);
	s_feed(f, 1, "first"); /* the oldest gets it all */
	pthread_join(a.thread, NULL);
	assert_int_equal(a.result, 5);
	assert_string_equal(a.buf, "first");
	assert_int_equal(plx_chardriver_pending(f->drv, 1, S_READ), 1);
	s_feed(f, 1, "second");
	pthread_join(b.thread, NULL);
	assert_string_equal(b.buf, "second");
	/* Data that is there is read at once. */
	s_feed(f, 1, "now");
	char buf[16];
	assert_int_equal(plx_cdev_read(f->c, 1, 0, buf, sizeof buf, 0, 0, NULL), 3);
	/* CDEV_NONBLOCK never waits. */
	assert_int_equal(plx_cdev_read(f->c, 1, 0, buf, sizeof buf, S_NONBLOCK, 0, NULL), -EAGAIN);
	assert_int_equal(plx_chardriver_pending(f->drv, 1, 0), 0);
}

static void test_cancel_reaches_only_the_callers_request(void **state)
{
	fixture *f = *state;
	s_reader a;
	s_reader_start(&a, f, "ra", 2, 42);
	s_wait_pending(f, 2, 1);
	/* Another caller naming the same id cancels nothing; the same caller on another minor
	 * neither. */
	plx_ep *other = plx_ep_new(f->ctx, "other", 1);
	plx_cdev *oc = plx_cdev_new(other, "chr", S_TIMEOUT);
	assert_int_equal(plx_cdev_cancel(oc, 2, 42), -ENOENT);
	plx_cdev_destroy(&oc);
	plx_ep_destroy(&other);
	plx_ep *same = plx_ep_new(f->ctx, "ra", 1);
	plx_cdev *sc = plx_cdev_new(same, "chr", S_TIMEOUT);
	assert_int_equal(plx_cdev_cancel(sc, 1, 42), -ENOENT);
	assert_int_equal(plx_cdev_cancel(sc, 2, 43), -ENOENT);
	assert_int_equal(f->r.cancels, 0);
	assert_int_equal(plx_cdev_cancel(sc, 2, 42), 0);
	pthread_join(a.thread, NULL);
	assert_int_equal(a.result, -EINTR);
	assert_int_equal(f->r.cancels, 1);
	assert_int_equal(f->r.cancel_minor, 2);
	assert_int_equal(f->r.cancel_id, 42);
	assert_int_equal(plx_cdev_cancel(sc, 2, 42), -ENOENT);
	assert_int_equal(plx_chardriver_pending(f->drv, 2, 0), 0);
	plx_cdev_destroy(&sc);
	plx_ep_destroy(&same);
}

/* Receives one CDEV_SEL2_REPLY on the client endpoint; fails after S_TIMEOUT. */
static void s_report(fixture *f, uint32_t *minor, uint64_t *id, uint32_t *ops)
{
	plx_msg *msg = NULL;
	assert_int_equal(plx_receive(f->client, &msg, S_TIMEOUT), 0);
	assert_string_equal(msg->source.label, "chr");
	assert_int_equal(plx_cdev_sel2_parse(msg, minor, id, ops), 0);
	assert_int_equal(plx_reply(f->client, msg, 0, NULL, NULL, 0), 0);
	plx_msg_destroy(&msg);
}

static void test_select_registrations(void **state)
{
	fixture *f = *state;
	uint32_t minor, ops;
	uint64_t id;
	assert_int_equal(plx_cdev_select(f->c, 1, S_RD | S_WR | S_NOTIFY, 5), S_WR);
	assert_int_equal(plx_cdev_select(f->c, 2, S_RD | S_NOTIFY, 5), 0);
	assert_int_equal(plx_cdev_select(f->c, 1, S_RD | S_NOTIFY, 6), 0);
	/* The same caller, minor and id again replaces; ops 0 withdraws. */
	assert_int_equal(plx_cdev_select(f->c, 1, S_RD | S_NOTIFY, 6), 0);
	assert_int_equal(plx_cdev_select(f->c, 2, 0, 5), 0);
	assert_int_equal(plx_chardriver_ready(f->drv, 2, S_RD), 0);
	assert_int_equal(plx_chardriver_ready(f->drv, 1, S_WR), 0); /* nobody waits for that */
	/* From this (not the loop's) thread: both of minor 1's registrations, once. */
	assert_int_equal(plx_chardriver_ready(f->drv, 1, S_RD | S_WR), 2);
	assert_int_equal(plx_chardriver_ready(f->drv, 1, S_RD), 0);
	bool seen5 = false, seen6 = false;
	for (int i = 0; i < 2; i++) {
		s_report(f, &minor, &id, &ops);
		assert_int_equal(minor, 1);
		assert_int_equal(ops, S_RD);
		assert_true(id == 5 || id == 6);
		seen5 |= id == 5;
		seen6 |= id == 6;
	}
	assert_true(seen5 && seen6);
	/* A registration needs NOTIFY. */
	assert_int_equal(plx_cdev_select(f->c, 2, S_RD, 9), 0);
	assert_int_equal(plx_chardriver_ready(f->drv, 2, S_RD), 0);
}

static void test_select_cap(void **state)
{
	fixture *f = *state;
	for (uint64_t i = 0; i < PLX_CDEV_SELECT_MAX; i++)
		assert_int_equal(plx_cdev_select(f->c, 1, S_RD | S_NOTIFY, i), 0);
	assert_int_equal(plx_cdev_select(f->c, 1, S_RD | S_NOTIFY, PLX_CDEV_SELECT_MAX), -ENOSPC);
	assert_int_equal(plx_cdev_select(f->c, 1, S_RD | S_NOTIFY, 7), 0); /* a replacement fits */
	assert_int_equal(plx_chardriver_ready(f->drv, 2, S_RD), 0);
}

static void test_stop_answers_what_waits(void **state)
{
	fixture *f = *state;
	s_reader a;
	s_reader_start(&a, f, "ra", 1, 1);
	s_wait_pending(f, 1, 1);
	s_stop_server(f);
	pthread_join(a.thread, NULL);
	assert_int_equal(a.result, -EIO);
	assert_int_equal(plx_chardriver_pending(f->drv, 1, 0), 0);
	assert_int_equal(plx_chardriver_ready(f->drv, 1, S_RD), 0);
}

static void test_pending_cap(void **state)
{
	fixture *f = *state;
	Plexus__CdevIo io = PLEXUS__CDEV_IO__INIT;
	io.minor = 1;
	io.size = 8;
	plx_request req = {.dst = {.label = "chr"}, .type = S_READ, .body = &io.base};
	for (uint64_t i = 0; i < PLX_CDEV_PENDING_MAX; i++) {
		io.id = i;
		int rc;
		while ((rc = plx_asynsend(f->client, &req, NULL)) == -EAGAIN)
			usleep(1000); /* the outbound queue drains as the server reads */
		assert_int_equal(rc, 0);
	}
	for (int64_t end = s_now_ms() + S_TIMEOUT;
	     plx_chardriver_pending(f->drv, 1, S_READ) < PLX_CDEV_PENDING_MAX; usleep(2000))
		if (s_now_ms() > end)
			fail_msg("only %zu reads wait", plx_chardriver_pending(f->drv, 1, S_READ));
	char buf[8];
	assert_int_equal(plx_cdev_read(f->c, 1, 0, buf, sizeof buf, 0, 999999, NULL), -EBUSY);
	s_feed(f, 1, "x"); /* one answered: room for one more */
	assert_int_equal(plx_chardriver_pending(f->drv, 1, S_READ), PLX_CDEV_PENDING_MAX - 1);
	plx_msg *answer = NULL;
	assert_int_equal(plx_receive(f->client, &answer, S_TIMEOUT), 0);
	assert_int_equal(answer->status, 0);
	assert_int_equal(answer->data_size, 1);
	plx_msg_destroy(&answer);
	/* Stopping answers the rest -EIO. The replies come to this thread's endpoint: take them
	 * while the server sends them (a peer that does not read would hold the sender up). */
	plx_server_stop(f->srv);
	size_t eio = 0, other = 0;
	for (int64_t end = s_now_ms() + S_TIMEOUT; s_now_ms() < end;) {
		plx_msg *msg = NULL;
		if (plx_receive(f->client, &msg, 100) < 0) {
			if (pthread_tryjoin_np(f->thread, NULL) == 0)
				break;
			continue;
		}
		eio += msg->status == -EIO;
		other += msg->status != -EIO;
		plx_msg_destroy(&msg);
	}
	f->srv = NULL;
	assert_int_equal(other, 0);
	assert_int_equal(eio, PLX_CDEV_PENDING_MAX - 1);
	assert_int_equal(plx_chardriver_pending(f->drv, 1, 0), 0);
}

static void test_no_driver_is_enxio(void **state)
{
	fixture *f = *state;
	char buf[8];
	assert_int_equal(plx_cdev_open(f->c, 1, 1), -ENXIO);
	assert_int_equal(plx_cdev_read(f->c, 1, 0, buf, sizeof buf, 0, 0, NULL), -ENXIO);
	assert_int_equal(plx_cdev_select(f->c, 1, S_RD, 0), -ENXIO);
}

static void test_attach_rules(void **state)
{
	fixture *f = *state;
	plx_chardriver *second = plx_chardriver_new(&s_ops, &f->r);
	assert_int_equal(plx_chardriver_attach(second, f->srv), -EBUSY);
	assert_int_equal(plx_chardriver_attach(f->drv, f->srv), -EBUSY);
	plx_chardriver_destroy(&second);
	assert_null(second);
	plx_chardriver_destroy(&second); /* accepts NULL */
}

static int s_own(void *arg, const char *name, const char *value, char *err, size_t size)
{
	char *seen = arg;
	if (strcmp(name, "ptys") == 0 || strcmp(name, "raw") == 0) {
		strcat(seen, name), strcat(seen, "="), strcat(seen, value), strcat(seen, ";");
		return 0;
	}
	if (strcmp(name, "bad") == 0) {
		snprintf(err, size, "--bad: no");
		return -EINVAL;
	}
	return -ENOENT;
}

static void test_args(void **state)
{
	(void)state;
	plx_service_cfg cfg;
	plx_service_cfg_init(&cfg);
	char err[256], seen[256] = "";
	const char *flags[] = {"raw", NULL};
	char *ok[] = {"x", "--label", "tty", "--ptys=3", "--raw", "--cluster", "c1", NULL};
	assert_int_equal(plx_service_args(&cfg, 7, ok, flags, s_own, seen, err, sizeof err), 0);
	assert_string_equal(cfg.label, "tty");
	assert_string_equal(cfg.cluster, "c1");
	assert_string_equal(seen, "ptys=3;raw=;");
	char *help[] = {"x", "-h", NULL};
	assert_int_equal(plx_service_args(&cfg, 2, help, NULL, NULL, NULL, err, sizeof err), 1);
	char *unknown[] = {"x", "--nope", "1", NULL};
	assert_int_equal(plx_service_args(&cfg, 3, unknown, NULL, s_own, seen, err, sizeof err),
	                 -EINVAL);
	assert_string_equal(err, "unknown option --nope");
	char *bad[] = {"x", "--bad", "1", NULL};
	assert_int_equal(plx_service_args(&cfg, 3, bad, NULL, s_own, seen, err, sizeof err),
	                 -EINVAL);
	assert_string_equal(err, "--bad: no");
	char *missing[] = {"x", "--ptys", NULL};
	assert_int_equal(plx_service_args(&cfg, 2, missing, NULL, s_own, seen, err, sizeof err),
	                 -EINVAL);
	assert_string_equal(err, "option --ptys needs a value");
	char *stray[] = {"x", "stray", NULL};
	assert_int_equal(plx_service_args(&cfg, 2, stray, NULL, s_own, seen, err, sizeof err),
	                 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_refused_requests_never_reach_the_driver, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_deferred_reads_in_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cancel_reaches_only_the_callers_request, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_select_registrations, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_select_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stop_answers_what_waits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pending_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_driver_is_enxio, setup_bare, teardown),
	    cmocka_unit_test_setup_teardown(test_attach_rules, setup, teardown),
	    cmocka_unit_test(test_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
