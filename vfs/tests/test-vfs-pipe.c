/*
 * test-vfs-pipe.c — pipes and FIFOs through VFS on the multi-node fixture (fscluster.h): VFS
 * on node 1, PFS and MFS on node 2, the disk on node 3, the clients here on node 0.
 *
 * What it proves: bytes written to a pipe come out of it in order; a read of an empty pipe
 * waits (no answer while nothing was written) and is woken by a write from another thread of
 * the client, and over a FIFO by a write from another client; closing the last writer gives
 * a waiting reader end of file (0) and a later read 0; closing the last reader makes a write
 * fail -EPIPE (no signal); a write larger than the pipe waits for the reader and delivers
 * every byte in order; O_NONBLOCK reads of an empty pipe answer -EAGAIN; a FIFO's read open
 * waits for a writer (and the other way round), a non-blocking write-only open without a
 * reader is -ENXIO, a non-blocking read-only one succeeds at once; a client that dies while
 * its read waits does not keep the pipe's writers blocked (-EPIPE once it is gone); PFS killed
 * while a read waits: the read and the pipe fail -EIO, and new pipes work once PFS is back.
 *
 * Entry points: main.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fscluster.h"

#define S_LONG_MS 30000 /* a call that waits for the test's own next step */

static const fscluster_opts s_opts = {
    .cluster = "vfspipe",
    .services = (1u << FSCLUSTER_DISK) | (1u << FSCLUSTER_PFS) | (1u << FSCLUSTER_MFS) |
                (1u << FSCLUSTER_VFS),
};

static int s_setup(void **state)
{
	return fscluster_setup(state, &s_opts);
}

/* A call run on a thread of its own, so the test can watch it wait. */
typedef struct s_bg {
	pthread_t t;
	fsclient *c;
	int fd;
	const char *path;
	int flags;
	uint8_t *buf;
	size_t size;
	int64_t result;
	volatile bool finished;
	enum { S_BG_READ, S_BG_WRITE, S_BG_OPEN } what;
} s_bg;

static void *s_bg_run(void *arg)
{
	s_bg *b = arg;
	if (b->what == S_BG_READ)
		b->result = fsc_read(b->c, b->fd, b->buf, b->size, S_LONG_MS);
	else if (b->what == S_BG_WRITE)
		b->result = fsc_write(b->c, b->fd, b->buf, b->size, S_LONG_MS);
	else
		b->result = fsc_open(b->c, b->path, b->flags, 0);
	b->finished = true;
	return NULL;
}

static void s_bg_start(s_bg *b)
{
	b->finished = false;
	assert_int_equal(pthread_create(&b->t, NULL, s_bg_run, b), 0);
}

static int64_t s_bg_join(s_bg *b)
{
	pthread_join(b->t, NULL);
	return b->result;
}

/* The call is still waiting after a while: it was parked, not answered. */
static void s_still_waiting(s_bg *b)
{
	usleep(300 * 1000);
	assert_false(b->finished);
}

static void test_pipe_basics(void **state)
{
	fscluster *f = *state;
	fsclient *a = fsclient_new(f, "a");
	int fds[2];
	assert_int_equal(fsc_pipe(a, fds, 0), 0);
	assert_true(fds[0] >= 0 && fds[1] >= 0 && fds[0] != fds[1]);
	uint32_t mode = 0;
	assert_int_equal(fsc_fstat(a, fds[0], NULL, &mode), 0);
	assert_true(S_ISFIFO(mode));
	assert_int_equal(fsc_write(a, fds[1], "hello, ", 7, S_LONG_MS), 7);
	assert_int_equal(fsc_write(a, fds[1], "pipe", 4, S_LONG_MS), 4);
	char buf[64];
	assert_int_equal(fsc_read(a, fds[0], buf, 5, S_LONG_MS), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(fsc_read(a, fds[0], buf, sizeof buf, S_LONG_MS), 6);
	assert_memory_equal(buf, ", pipe", 6);
	/* Writing the read end and reading the write end are refused. */
	assert_true(fsc_write(a, fds[0], "x", 1, S_LONG_MS) < 0);
	assert_true(fsc_read(a, fds[1], buf, 1, S_LONG_MS) < 0);
	/* O_NONBLOCK: an empty pipe answers -EAGAIN at once. */
	int nb[2];
	assert_int_equal(fsc_pipe(a, nb, O_NONBLOCK), 0);
	assert_int_equal(fsc_read(a, nb[0], buf, sizeof buf, S_LONG_MS), -EAGAIN);
	assert_int_equal(fsc_fcntl(a, fds[0], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(fsc_read(a, fds[0], buf, sizeof buf, S_LONG_MS), -EAGAIN);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(fsc_close(a, fds[i]), 0);
		assert_int_equal(fsc_close(a, nb[i]), 0);
	}
	fsclient_destroy(&a, true);
	f->passed = true;
}

static void test_wait_wake_eof_epipe(void **state)
{
	fscluster *f = *state;
	fsclient *a = fsclient_new(f, "a");
	int fds[2];
	assert_int_equal(fsc_pipe(a, fds, 0), 0);
	uint8_t buf[64];
	/* A read waits until another thread writes. */
	s_bg r = {.c = a, .fd = fds[0], .buf = buf, .size = sizeof buf, .what = S_BG_READ};
	s_bg_start(&r);
	s_still_waiting(&r);
	assert_int_equal(fsc_write(a, fds[1], "wake", 4, S_LONG_MS), 4);
	assert_int_equal(s_bg_join(&r), 4);
	assert_memory_equal(buf, "wake", 4);
	/* A waiting read gets end of file when the last writer closes. */
	s_bg_start(&r);
	s_still_waiting(&r);
	assert_int_equal(fsc_close(a, fds[1]), 0);
	assert_int_equal(s_bg_join(&r), 0);
	assert_int_equal(fsc_read(a, fds[0], buf, sizeof buf, S_LONG_MS), 0);
	assert_int_equal(fsc_close(a, fds[0]), 0);
	/* No reader: -EPIPE. */
	assert_int_equal(fsc_pipe(a, fds, 0), 0);
	assert_int_equal(fsc_close(a, fds[0]), 0);
	assert_int_equal(fsc_write(a, fds[1], "x", 1, S_LONG_MS), -EPIPE);
	assert_int_equal(fsc_close(a, fds[1]), 0);
	fsclient_destroy(&a, true);
	f->passed = true;
}

/* 200 KiB in one write through a 64 KiB pipe: the write waits for the reader. */
static void test_big_write(void **state)
{
	fscluster *f = *state;
	fsclient *a = fsclient_new(f, "a");
	int fds[2];
	assert_int_equal(fsc_pipe(a, fds, 0), 0);
	size_t total = 200 * 1024;
	uint8_t *out = malloc(total), *in = malloc(total);
	for (size_t i = 0; i < total; i++)
		out[i] = (uint8_t)(i * 31 + i / 977);
	s_bg w = {.c = a, .fd = fds[1], .buf = out, .size = total, .what = S_BG_WRITE};
	s_bg_start(&w);
	s_still_waiting(&w); /* 64 KiB fit, the rest waits */
	size_t got = 0;
	while (got < total) {
		ssize_t n = fsc_read(a, fds[0], in + got, 10000, S_LONG_MS);
		assert_true(n > 0);
		got += (size_t)n;
	}
	assert_int_equal(s_bg_join(&w), total);
	assert_memory_equal(in, out, total);
	free(in);
	free(out);
	fsclient_destroy(&a, true);
	f->passed = true;
}

static void test_fifo(void **state)
{
	fscluster *f = *state;
	fsclient *a = fsclient_new(f, "a"), *b = fsclient_new(f, "b");
	assert_int_equal(fsc_mkfifo(a, "/fifo", 0666), 0);
	uint32_t mode = 0;
	/* Non-blocking opens: write-only without a reader is -ENXIO; read-only succeeds. */
	assert_int_equal(fsc_open(b, "/fifo", O_WRONLY | O_NONBLOCK, 0), -ENXIO);
	int rfd = fsc_open(a, "/fifo", O_RDONLY | O_NONBLOCK, 0);
	assert_true(rfd >= 0);
	assert_int_equal(fsc_fstat(a, rfd, NULL, &mode), 0);
	assert_true(S_ISFIFO(mode));
	int wfd = fsc_open(b, "/fifo", O_WRONLY | O_NONBLOCK, 0);
	assert_true(wfd >= 0);
	assert_int_equal(fsc_close(a, rfd), 0);
	assert_int_equal(fsc_close(b, wfd), 0);
	/* The rendezvous: a's read open waits until b opens for writing. */
	s_bg o = {.c = a, .path = "/fifo", .flags = O_RDONLY, .what = S_BG_OPEN};
	s_bg_start(&o);
	s_still_waiting(&o);
	wfd = fsc_open(b, "/fifo", O_WRONLY, 0);
	assert_true(wfd >= 0);
	rfd = (int)s_bg_join(&o);
	assert_true(rfd >= 0);
	/* a's read waits for b's write. */
	uint8_t buf[32];
	s_bg r = {.c = a, .fd = rfd, .buf = buf, .size = sizeof buf, .what = S_BG_READ};
	s_bg_start(&r);
	s_still_waiting(&r);
	assert_int_equal(fsc_write(b, wfd, "across", 6, S_LONG_MS), 6);
	assert_int_equal(s_bg_join(&r), 6);
	assert_memory_equal(buf, "across", 6);
	/* The other way round: a write open waits for a reader. */
	assert_int_equal(fsc_close(b, wfd), 0);
	assert_int_equal(fsc_read(a, rfd, buf, sizeof buf, S_LONG_MS), 0); /* no writer: EOF */
	assert_int_equal(fsc_close(a, rfd), 0);
	o = (s_bg){.c = b, .path = "/fifo", .flags = O_WRONLY, .what = S_BG_OPEN};
	s_bg_start(&o);
	s_still_waiting(&o);
	rfd = fsc_open(a, "/fifo", O_RDONLY, 0);
	assert_true(rfd >= 0);
	wfd = (int)s_bg_join(&o);
	assert_true(wfd >= 0);
	assert_int_equal(fsc_close(a, rfd), 0);
	assert_int_equal(fsc_write(b, wfd, "x", 1, S_LONG_MS), -EPIPE);
	assert_int_equal(fsc_close(b, wfd), 0);
	assert_int_equal(fsc_unlink(a, "/fifo"), 0);
	fsclient_destroy(&a, true);
	fsclient_destroy(&b, true);
	f->passed = true;
}

/* b waits in a read of a FIFO and dies (its process gives up the call, its lease goes): a's
 * writes then fail -EPIPE instead of filling the pipe for a reader that is gone. */
static void test_dead_reader(void **state)
{
	fscluster *f = *state;
	fsclient *a = fsclient_new(f, "a"), *b = fsclient_new(f, "b");
	assert_int_equal(fsc_mkfifo(a, "/fifo2", 0666), 0);
	int rfd = fsc_open(b, "/fifo2", O_RDONLY | O_NONBLOCK, 0);
	assert_true(rfd >= 0);
	int wfd = fsc_open(a, "/fifo2", O_WRONLY, 0);
	assert_true(wfd >= 0);
	assert_int_equal(fsc_fcntl(b, rfd, F_SETFL, 0), 0);
	uint8_t buf[8];
	/* The read is parked at VFS; b stops waiting for it after a second, as a killed
	 * process would. */
	assert_int_equal(fsc_read(b, rfd, buf, sizeof buf, 1000), -ETIMEDOUT);
	fsclient_destroy(&b, false);
	int64_t rc = 0;
	for (int64_t end = drvcluster_now_ms() + FSC_WAIT_MS; drvcluster_now_ms() < end;
	     usleep(50 * 1000))
		if ((rc = fsc_write(a, wfd, "x", 1, S_LONG_MS)) == -EPIPE)
			break;
	assert_int_equal(rc, -EPIPE);
	assert_int_equal(fsc_close(a, wfd), 0);
	fsclient_destroy(&a, true);
	f->passed = true;
}

/* PFS dies while a read waits on one of its pipes: the read fails -EIO (no hang), the pipe's
 * other end too; once PFS is back (a new generation), new pipes work. */
static void test_pfs_killed(void **state)
{
	fscluster *f = *state;
	fsclient *a = fsclient_new(f, "a");
	int fds[2];
	assert_int_equal(fsc_pipe(a, fds, 0), 0);
	uint8_t buf[16];
	s_bg r = {.c = a, .fd = fds[0], .buf = buf, .size = sizeof buf, .what = S_BG_READ};
	s_bg_start(&r);
	s_still_waiting(&r);
	fscluster_kill(f, FSCLUSTER_PFS, SIGKILL);
	assert_int_equal(s_bg_join(&r), -EIO);
	assert_int_equal(fsc_write(a, fds[1], "x", 1, S_LONG_MS), -EIO);
	assert_int_equal(fsc_close(a, fds[0]), 0);
	assert_int_equal(fsc_close(a, fds[1]), 0);
	fscluster_start(f, FSCLUSTER_PFS, "restart");
	int rc = -1;
	for (int64_t end = drvcluster_now_ms() + FSC_WAIT_MS; drvcluster_now_ms() < end;
	     usleep(50 * 1000))
		if ((rc = fsc_pipe(a, fds, 0)) == 0)
			break;
	assert_int_equal(rc, 0);
	assert_int_equal(fsc_write(a, fds[1], "back", 4, S_LONG_MS), 4);
	assert_int_equal(fsc_read(a, fds[0], buf, sizeof buf, S_LONG_MS), 4);
	assert_memory_equal(buf, "back", 4);
	fsclient_destroy(&a, true);
	f->passed = true;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_pipe_basics, s_setup, fscluster_teardown),
	    cmocka_unit_test_setup_teardown(test_wait_wake_eof_epipe, s_setup, fscluster_teardown),
	    cmocka_unit_test_setup_teardown(test_big_write, s_setup, fscluster_teardown),
	    cmocka_unit_test_setup_teardown(test_fifo, s_setup, fscluster_teardown),
	    cmocka_unit_test_setup_teardown(test_dead_reader, s_setup, fscluster_teardown),
	    cmocka_unit_test_setup_teardown(test_pfs_killed, s_setup, fscluster_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
