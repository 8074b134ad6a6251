/*
 * test-chardriver.c — the character drivers on one machine: plexus-memory, plexus-hello,
 * plexus-tty and plexus-log run as real processes against a private etcd, and this process
 * talks CDEV to them from an endpoint of its own, bound and published so that drivers can send
 * it select reports. Checks (chartest.c): memory's null, zero, full and random beside its RAM
 * disks in one server; hello's reads and its open count kept across a restart
 * (PLEXUS_INIT=restart) but not across a fresh start; tty lines, editing, echo, raw mode, a
 * read that completes later, cancel, select with later reports over several drivers, bad
 * requests; the log's lines, positions, waiting reads, its bound and its file; the console on
 * standard input and output; a reader declared dead by the registry gets no input; SIGTERM
 * answers a waiting read and withdraws the endpoint;
 * options and sysexits.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <plexus/bdev.h>
#include <plexus/cdev.h>
#include <plexus/ds.h>
#include <plexus/endpoint.h>

#include "chartest.h"
#include "etcd_fixture.h"
#include "plexus/proto/cdev.pb-c.h"

#define S_CLUSTER "chrtest"
#define S_TIMEOUT CHARTEST_TIMEOUT

typedef struct fixture {
	plx_etcdh *h;
	plx_etcd *etcd;
	plx_ctx *ctx;
	plx_epcache *cache;
	plx_ep *ep;
	plx_ds *ds;
	char client[32];
	char dir[256];
	char label[32]; /* unique per test */
	char label2[32];
} fixture;

static int s_counter;

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A new generation of label: an endpoint bound and published, so that drivers can reach it
 * with reports. NULL on failure. */
static plx_ep *s_published(fixture *f, const char *label)
{
	uint64_t gen;
	if (plx_generation_next(f->etcd, S_CLUSTER, label, &gen) < 0)
		return NULL;
	plx_ep *ep = plx_ep_new(f->ctx, label, gen);
	plx_endpoint_rec rec = {.generation = gen, .node = "local", .state = "up"};
	snprintf(rec.label, sizeof rec.label, "%s", label);
	rec.pid = getpid();
	if (!ep || plx_ep_bind(ep, "tcp://127.0.0.1:*") < 0 ||
	    snprintf(rec.address, sizeof rec.address, "%s", plx_ep_address(ep)) <= 0 ||
	    plx_endpoint_publish(f->etcd, S_CLUSTER, &rec, 0) < 0)
		plx_ep_destroy(&ep);
	return ep;
}

static plx_ep *s_client(fixture *f)
{
	snprintf(f->client, sizeof f->client, "chrclient%d", (int)getpid() % 100000);
	return s_published(f, f->client);
}

static int group_setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	if (!f || etcd_fixture_start(&f->h, &f->etcd) < 0)
		return -1;
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(f->dir, sizeof f->dir, "%s/plexus-chrtest-%d-XXXXXX", tmp, (int)getpid());
	if (!mkdtemp(f->dir) || !(f->ctx = plx_ctx_new()) ||
	    !(f->cache = plx_epcache_new(f->etcd, S_CLUSTER, f->ctx)) || !(f->ep = s_client(f)) ||
	    !(f->ds = plx_ds_new(f->etcd, S_CLUSTER, "chrclient")))
		return -1;
	plx_register_types(&plexus__cdev_type__descriptor);
	*state = f;
	return 0;
}

static int group_teardown(void **state)
{
	fixture *f = *state;
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", f->dir);
	plx_endpoint_withdraw(f->etcd, S_CLUSTER, f->client, plx_ep_name(f->ep)->generation);
	plx_ds_destroy(&f->ds);
	plx_ep_destroy(&f->ep);
	plx_epcache_destroy(&f->cache);
	plx_ctx_destroy(&f->ctx);
	etcd_fixture_stop(&f->h, &f->etcd);
	free(f);
	return 0;
}

/* Labels of their own for each test, so no test sees another's driver. */
static int setup(void **state)
{
	fixture *f = *state;
	int n = ++s_counter;
	snprintf(f->label, sizeof f->label, "chr%d-%d", (int)getpid() % 100000, n);
	snprintf(f->label2, sizeof f->label2, "chr%d-%db", (int)getpid() % 100000, n);
	return 0;
}

/* Starts program with the service options for label and extra (NULL-terminated), with
 * PLEXUS_INIT=init when init is not NULL, standard input from in (-1: /dev/null). Output goes
 * to <dir>/<label>.log. */
static pid_t s_spawn(fixture *f, const char *program, const char *label, const char *init,
                     const char *const *extra, int in)
{
	char *argv[32];
	int n = 0;
	const char *base[] = {
	    program,     "--label", label,    "--etcd",   plx_etcdh_endpoints(f->h),
	    "--cluster", S_CLUSTER, "--addr", "127.0.0.1"};
	for (size_t i = 0; i < sizeof base / sizeof *base; i++)
		argv[n++] = (char *)base[i];
	for (; extra && *extra && n < 31; extra++)
		argv[n++] = (char *)*extra;
	argv[n] = NULL;
	char log[512];
	snprintf(log, sizeof log, "%s/%s.log", f->dir, label);
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		dup2(in >= 0 ? in : open("/dev/null", O_RDONLY), 0);
		if (init)
			setenv("PLEXUS_INIT", init, 1);
		else
			unsetenv("PLEXUS_INIT");
		execv(program, argv);
		_exit(127);
	}
	return pid;
}

static char *s_read_file(const char *path)
{
	static char text[65536];
	text[0] = '\0';
	FILE *fp = fopen(path, "r");
	if (fp) {
		text[fread(text, 1, sizeof text - 1, fp)] = '\0';
		fclose(fp);
	}
	return text;
}

/* Waits until label's route names a generation above after. */
static uint64_t s_wait_route(fixture *f, const char *label, uint64_t after)
{
	uint64_t gen = 0;
	for (int64_t end = s_now_ms() + S_TIMEOUT; s_now_ms() < end; usleep(10 * 1000))
		if (plx_route_lookup(f->ctx, label, &gen, NULL, 0) == 0 && gen > after)
			return gen;
	char path[512];
	snprintf(path, sizeof path, "%s/%s.log", f->dir, label);
	fail_msg("%s did not publish its endpoint; its log:\n%s", label, s_read_file(path));
	return 0;
}

/* Starts a driver under label and waits until it is published. */
static pid_t s_start_as(fixture *f, const char *label, const char *program, const char *init,
                        const char *const *extra, int in)
{
	uint64_t before = 0;
	plx_route_lookup(f->ctx, label, &before, NULL, 0);
	pid_t pid = s_spawn(f, program, label, init, extra, in);
	assert_true(pid > 0);
	s_wait_route(f, label, before);
	return pid;
}

static pid_t s_start(fixture *f, const char *program, const char *init, const char *const *extra)
{
	return s_start_as(f, f->label, program, init, extra, -1);
}

/* Waits up to S_TIMEOUT for pid to end; returns its wait status. */
static int s_reap(pid_t pid)
{
	int status = -1;
	for (int64_t end = s_now_ms() + S_TIMEOUT; s_now_ms() < end; usleep(10 * 1000))
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	fail_msg("pid %d did not exit in time", (int)pid);
	return status;
}

static void s_stop(pid_t pid)
{
	kill(pid, SIGTERM);
	int status = s_reap(pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Runs argv and returns its exit status; its output goes to *out (static). */
static int s_run(fixture *f, const char *const *argv, char **out)
{
	char path[512];
	snprintf(path, sizeof path, "%s/run-%d.out", f->dir, ++s_counter);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], (char **)argv);
		_exit(127);
	}
	int status = s_reap(pid);
	*out = s_read_file(path);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* drv.<kind>.<label> is "up" (the driver announces it just after publishing its endpoint). */
static void s_assert_announced(fixture *f, const char *kind, const char *label)
{
	char key[128], value[16] = "";
	snprintf(key, sizeof key, "drv.%s.%s", kind, label);
	int rc = -ESRCH;
	for (int64_t end = s_now_ms() + S_TIMEOUT; rc == -ESRCH && s_now_ms() < end;)
		if ((rc = plx_ds_retrieve_str(f->ds, key, value, sizeof value)) == -ESRCH)
			usleep(10 * 1000);
	assert_int_equal(rc, 2);
	assert_string_equal(value, "up");
}

/* ---- tests ---- */

static void test_memory(void **state)
{
	fixture *f = *state;
	const char *extra[] = {"--ramdisk", "0:1M", NULL};
	pid_t pid = s_start(f, PLEXUS_MEMORY_BIN, NULL, extra);
	chartest_ping(f->ep, f->label);
	chartest_memory(f->ep, f->label);
	s_assert_announced(f, "chr", f->label);
	s_assert_announced(f, "blk", f->label);
	/* The RAM disk answers in the same server. */
	plx_bdev *b = plx_bdev_new(f->ep, f->label, S_TIMEOUT);
	uint8_t w[512], r[512];
	memset(w, 0x5a, sizeof w);
	assert_int_equal(plx_bdev_write(b, 0, 4096, w, sizeof w, 0), sizeof w);
	assert_int_equal(plx_bdev_read(b, 0, 4096, r, sizeof r, 0), sizeof r);
	assert_memory_equal(r, w, sizeof w);
	plx_bdev_destroy(&b);
	s_stop(pid);
}

/* The open count hello saved, as DS holds it. */
static uint32_t s_hello_count(fixture *f)
{
	plx_ds *ds = plx_ds_new(f->etcd, S_CLUSTER, f->label);
	assert_non_null(ds);
	uint32_t count = 0;
	size_t size = sizeof count;
	char key[PLX_DS_KEY_MAX];
	snprintf(key, sizeof key, "state.%s.open_counter", f->label); /* plexus/service.h's key */
	assert_int_equal(plx_ds_retrieve_mem(ds, key, &count, &size) >= 0, 1);
	assert_int_equal(size, sizeof count);
	plx_ds_destroy(&ds);
	return count;
}

static void s_hello_opens(fixture *f, int n)
{
	plx_cdev *dev = plx_cdev_new(f->ep, f->label, S_TIMEOUT);
	for (int i = 0; i < n; i++)
		assert_int_equal(plx_cdev_open(dev, 0, PLEXUS__CDEV_ACCESS__CDEV_R_BIT), 0);
	plx_cdev_destroy(&dev);
}

static void test_hello(void **state)
{
	fixture *f = *state;
	pid_t pid = s_start(f, PLEXUS_HELLO_BIN, NULL, NULL);
	chartest_ping(f->ep, f->label);
	s_assert_announced(f, "chr", f->label);
	chartest_hello_read(f->ep, f->label); /* one open */
	s_hello_opens(f, 2);
	assert_int_equal(s_hello_count(f), 3);
	/* A crash, and RS's restart: the count is back, and counting goes on from it. */
	kill(pid, SIGKILL);
	s_reap(pid);
	pid = s_start(f, PLEXUS_HELLO_BIN, "restart", NULL);
	s_assert_announced(f, "chr", f->label);
	s_hello_opens(f, 1);
	assert_int_equal(s_hello_count(f), 4);
	char path[512];
	snprintf(path, sizeof path, "%s/%s.log", f->dir, f->label);
	assert_non_null(strstr(s_read_file(path), "restarted, open count 3 restored"));
	s_stop(pid);
	/* A fresh start begins at zero. */
	pid = s_start(f, PLEXUS_HELLO_BIN, "fresh", NULL);
	s_hello_opens(f, 1);
	assert_int_equal(s_hello_count(f), 1);
	s_stop(pid);
}

static void test_tty(void **state)
{
	fixture *f = *state;
	const char *extra[] = {"--console", "none", "--ptys", "4", NULL};
	pid_t pid = s_start(f, PLEXUS_TTY_BIN, NULL, extra);
	chartest_ping(f->ep, f->label);
	s_assert_announced(f, "chr", f->label);
	chartest_tty_lines(f->ep, f->label, 0);
	chartest_tty_deferred(f->ep, f->label, 1);
	chartest_tty_cancel(f->ep, f->label, 2);
	chartest_bad_requests(f->ep, f->label);
	/* Four pairs: master 68 and slave 132 do not exist. */
	plx_cdev *dev = plx_cdev_new(f->ep, f->label, S_TIMEOUT);
	assert_int_equal(plx_cdev_open(dev, 68, 1), -ENXIO);
	assert_int_equal(plx_cdev_open(dev, 132, 1), -ENXIO);
	assert_int_equal(plx_cdev_open(dev, 131, 1), 0);
	plx_cdev_destroy(&dev);
	s_stop(pid);
}

static void test_select(void **state)
{
	fixture *f = *state;
	const char *tty[] = {"--console", "none", NULL};
	pid_t t = s_start(f, PLEXUS_TTY_BIN, NULL, tty);
	pid_t l = s_start_as(f, f->label2, PLEXUS_LOG_BIN, NULL, NULL, -1);
	chartest_select(f->ep, f->label, f->label2, 3);
	s_stop(l);
	s_stop(t);
}

static void test_log(void **state)
{
	fixture *f = *state;
	char file[512];
	snprintf(file, sizeof file, "%s/%s.lines", f->dir, f->label);
	const char *extra[] = {"--size", "8K", "--file", file, NULL};
	pid_t pid = s_start(f, PLEXUS_LOG_BIN, NULL, extra);
	s_assert_announced(f, "chr", f->label);
	chartest_log(f->ep, f->label);
	/* Bounded: 200 lines of about 90 bytes keep only the newest whole lines. */
	plx_cdev *dev = plx_cdev_new(f->ep, f->label, S_TIMEOUT);
	char line[64], buf[16384];
	for (int i = 0; i < 200; i++) {
		int n = snprintf(line, sizeof line, "line %03d of the bounded log\n", i);
		assert_int_equal(plx_cdev_write(dev, 0, 0, line, (size_t)n, 0, 0), n);
	}
	uint64_t pos = 0;
	ssize_t n = plx_cdev_read(dev, 0, 0, buf, sizeof buf - 1, 0, 0, &pos);
	assert_true(n > 4096 && n <= 8192);
	assert_true(pos > 0); /* the oldest went */
	buf[n] = '\0';
	assert_memory_equal(buf, "20", 2); /* starts with a whole line's time stamp */
	assert_non_null(strstr(buf, "line 199 of the bounded log\n"));
	assert_null(strstr(buf, "line 000 "));
	plx_cdev_destroy(&dev);
	s_stop(pid);
	/* The file has every line. */
	char *text = s_read_file(file);
	assert_non_null(strstr(text, ": first line\n"));
	assert_non_null(strstr(text, "line 000 of the bounded log\n"));
	assert_non_null(strstr(text, "line 199 of the bounded log\n"));
}

static void test_console(void **state)
{
	fixture *f = *state;
	int in[2];
	assert_int_equal(pipe(in), 0);
	const char *extra[] = {"--ptys", "0", NULL};
	pid_t pid = s_start_as(f, f->label, PLEXUS_TTY_BIN, NULL, extra, in[0]);
	close(in[0]);
	plx_cdev *dev = plx_cdev_new(f->ep, f->label, S_TIMEOUT);
	chartest_read r;
	chartest_read_async(&r, dev, 0, 0, 1);
	assert_int_equal(write(in[1], "date\n", 5), 5);
	assert_int_equal(chartest_read_wait(&r), 5);
	assert_string_equal(r.buf, "date\n");
	assert_int_equal(plx_cdev_write(dev, 0, 0, "Tue Nov 24\n", 11, 0, 0), 11);
	/* Echo and output on the console's standard output (the driver's log file). */
	char path[512];
	snprintf(path, sizeof path, "%s/%s.log", f->dir, f->label);
	int64_t end = s_now_ms() + S_TIMEOUT;
	while (!strstr(s_read_file(path), "date\nTue Nov 24\n") && s_now_ms() < end)
		usleep(10 * 1000);
	assert_non_null(strstr(s_read_file(path), "date\nTue Nov 24\n"));
	assert_int_equal(plx_cdev_open(dev, 64, 1), -ENXIO); /* no pseudo-terminals */
	plx_cdev_destroy(&dev);
	close(in[1]);
	s_stop(pid);
}

/* Waits until the driver label knows ep's generation: a select from ep is reported to it only
 * once the driver's routes have it. Pair k's slave is the trigger (raw mode, flushed after). */
static void s_driver_knows(fixture *f, const char *label, plx_ep *ep, int k)
{
	plx_cdev *from = plx_cdev_new(ep, label, S_TIMEOUT),
	         *dev = plx_cdev_new(f->ep, label, S_TIMEOUT);
	uint32_t raw = 0;
	assert_int_equal(plx_cdev_ioctl(dev, 128 + k, PLEXUS__CDEV_IOCTL_REQUEST__TTY_SETMODE, &raw,
	                                sizeof raw, NULL, NULL, 0),
	                 0);
	bool known = false;
	for (int64_t end = s_now_ms() + S_TIMEOUT; !known && s_now_ms() < end;) {
		assert_int_equal(plx_cdev_select(from, 128 + k,
		                                 PLEXUS__CDEV_SEL_OP__CDEV_SEL_RD |
		                                     PLEXUS__CDEV_SEL_OP__CDEV_SEL_NOTIFY,
		                                 1),
		                 0);
		assert_int_equal(plx_cdev_write(dev, 64 + k, 0, "b", 1, 0, 0), 1);
		plx_msg *msg = NULL;
		if (plx_receive(ep, &msg, 200) == 0) {
			known = msg->type == PLEXUS__CDEV_TYPE__CDEV_SEL2_REPLY;
			if (msg->kind == PLX_REQUEST)
				plx_reply(ep, msg, 0, NULL, NULL, 0);
			plx_msg_destroy(&msg);
		}
		assert_int_equal(plx_cdev_ioctl(dev, 128 + k, PLEXUS__CDEV_IOCTL_REQUEST__TTY_FLUSH,
		                                NULL, 0, NULL, NULL, 0),
		                 0);
	}
	assert_true(known);
	plx_cdev_destroy(&from);
	plx_cdev_destroy(&dev);
}

/* A reader that the registry declares dead (a newer generation of its label replaced it) does
 * not get the input: the next live read does. */
static void test_dead_reader_gets_no_input(void **state)
{
	fixture *f = *state;
	const char *extra[] = {"--console", "none", "--ptys", "2", NULL};
	pid_t pid = s_start(f, PLEXUS_TTY_BIN, NULL, extra);
	char label[48];
	snprintf(label, sizeof label, "%sr", f->label);
	plx_ep *old = s_published(f, label);
	assert_non_null(old);
	/* The old instance's read, then a ping on the same connection: when the ping is answered,
	 * the driver has the read waiting (one connection, one loop: order is kept). */
	Plexus__CdevIo io = PLEXUS__CDEV_IO__INIT;
	io.minor = 128;
	io.size = 64;
	plx_request req = {.type = PLEXUS__CDEV_TYPE__CDEV_READ, .body = &io.base};
	snprintf(req.dst.label, sizeof req.dst.label, "%s", f->label);
	assert_int_equal(plx_asynsend(old, &req, NULL), 0);
	chartest_ping(old, f->label);
	/* Its successor appears; once the driver knows it, the old one is dead to the driver. */
	plx_ep *new = s_published(f, label);
	assert_non_null(new);
	s_driver_knows(f, f->label, new, 1);
	plx_cdev *dev = plx_cdev_new(f->ep, f->label, S_TIMEOUT);
	assert_int_equal(plx_cdev_write(dev, 64, 0, "in\n", 3, 0, 0), 3);
	char buf[16];
	assert_int_equal(
	    plx_cdev_read(dev, 128, 0, buf, sizeof buf, PLEXUS__CDEV_FLAG__CDEV_NONBLOCK, 0, NULL),
	    3);
	assert_memory_equal(buf, "in\n", 3);
	plx_cdev_destroy(&dev);
	plx_ep_destroy(&new);
	plx_ep_destroy(&old);
	s_stop(pid);
}

static void test_sigterm_answers_waiting(void **state)
{
	fixture *f = *state;
	const char *extra[] = {"--console", "none", NULL};
	pid_t pid = s_start(f, PLEXUS_TTY_BIN, NULL, extra);
	plx_cdev *dev = plx_cdev_new(f->ep, f->label, S_TIMEOUT);
	chartest_read r;
	chartest_read_async(&r, dev, 128, 0, 9);
	usleep(300 * 1000);
	assert_false(chartest_read_done(&r));
	s_stop(pid);
	ssize_t rc = chartest_read_wait(&r);
	assert_true(rc == -EIO || rc == -PLX_EDEADSRCDST); /* the driver's goodbye, or its death */
	plx_endpoint_rec rec;
	assert_int_equal(plx_endpoint_lookup(f->etcd, S_CLUSTER, f->label, &rec), -ENOENT);
	plx_cdev_destroy(&dev);
}

static void test_options(void **state)
{
	fixture *f = *state;
	char *out = NULL;
	const char *const help[][3] = {{PLEXUS_TTY_BIN, "--help", NULL},
	                               {PLEXUS_LOG_BIN, "--help", NULL},
	                               {PLEXUS_HELLO_BIN, "-h", NULL},
	                               {PLEXUS_MEMORY_BIN, "--help", NULL}};
	const char *says[] = {"--ptys N", "--size BYTES", "Hello, World!", "random (8)"};
	for (size_t i = 0; i < sizeof help / sizeof *help; i++) {
		assert_int_equal(s_run(f, help[i], &out), EX_OK);
		assert_non_null(strstr(out, says[i]));
		assert_non_null(strstr(out, "--label"));
	}
	const char *const bad[][5] = {
	    {PLEXUS_TTY_BIN, "--ptys", "65", NULL},      {PLEXUS_TTY_BIN, "--ptys", "x", NULL},
	    {PLEXUS_TTY_BIN, "--frobnicate", "1", NULL}, {PLEXUS_LOG_BIN, "--size", "1", NULL},
	    {PLEXUS_LOG_BIN, "--size", "2G", NULL},      {PLEXUS_LOG_BIN, "--file", NULL},
	    {PLEXUS_HELLO_BIN, "--verbose", NULL},       {PLEXUS_HELLO_BIN, "stray", NULL},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_equal(s_run(f, bad[i], &out), EX_USAGE);
		assert_non_null(strstr(out, "usage:"));
	}
	const char *const missing[] = {PLEXUS_TTY_BIN, "--console", "/nonexistent/tty", NULL};
	assert_int_equal(s_run(f, missing, &out), EX_NOINPUT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_memory, setup),
	    cmocka_unit_test_setup(test_hello, setup),
	    cmocka_unit_test_setup(test_tty, setup),
	    cmocka_unit_test_setup(test_select, setup),
	    cmocka_unit_test_setup(test_log, setup),
	    cmocka_unit_test_setup(test_console, setup),
	    cmocka_unit_test_setup(test_dead_reader_gets_no_input, setup),
	    cmocka_unit_test_setup(test_sigterm_answers_waiting, setup),
	    cmocka_unit_test_setup(test_options, setup),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
