/*
 * test-vfs-select.c — VFS_SELECT from many clients at once on the multi-node fixture: the tty
 * driver on node 3 (major 4), the log on node 0 (major 5), VFS on node 1, PFS and MFS on
 * node 2, sixteen clients here on node 0, each with a thread of its own.
 *
 * What it proves: sixteen selects are in flight at once over two drivers and pipes (FIFOs);
 * none is answered before something it watches is ready; each is answered with exactly the
 * descriptor that became ready, to the client that asked (eight over their own pty slave and
 * a decoy pipe, woken in two batches by writes to the masters; four over the log and a decoy,
 * woken by one line in the log; two over their own FIFO, woken by a writer); two with a
 * 700 ms timeout over a pipe nobody writes return 0 after the timeout and not before; a
 * select over a regular file is ready at once; a bad descriptor is -EBADF.
 *
 * Entry points: main.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "fscluster.h"

#define S_LONG_MS   30000
#define S_CLIENTS   16
#define S_TIMEOUT   700
#define S_MASTER(k) (64u + (unsigned)(k))
#define S_SLAVE(k)  (128u + (unsigned)(k))

static const fscluster_opts s_opts = {.cluster = "vfssel"};

static int s_setup(void **state)
{
	return fscluster_setup(state, &s_opts);
}

typedef enum s_group { S_TTY, S_LOG, S_FIFO, S_IDLE } s_group;

typedef struct s_client {
	pthread_t t;
	fsclient *c;
	int index;
	s_group group;
	int watched; /* the descriptor that should become ready */
	int decoy;   /* one that never does (-1: none) */
	int64_t timeout_ms;
	/* results */
	int rc;
	fd_set ready;
	int64_t took_ms;
	volatile bool finished;
} s_client;

static void *s_select_run(void *arg)
{
	s_client *k = arg;
	fd_set rd;
	FD_ZERO(&rd);
	FD_SET(k->watched, &rd);
	int nfds = k->watched + 1;
	if (k->decoy >= 0) {
		FD_SET(k->decoy, &rd);
		nfds = k->decoy >= nfds ? k->decoy + 1 : nfds;
	}
	int64_t start = drvcluster_now_ms();
	k->rc = fsc_select(k->c, nfds, &rd, NULL, k->timeout_ms);
	k->took_ms = drvcluster_now_ms() - start;
	k->ready = rd;
	k->finished = true;
	return NULL;
}

static int s_mknod(fsclient *c, const char *path, unsigned maj, unsigned min)
{
	return fsc_mknod(c, path, S_IFCHR | 0666, makedev(maj, min));
}

/* Waits until every client in [from, to) finished; fails after the deadline. */
static void s_wait_finished(s_client *k, int from, int to)
{
	for (int64_t end = drvcluster_now_ms() + S_LONG_MS; drvcluster_now_ms() < end;) {
		bool all = true;
		for (int i = from; i < to; i++)
			all &= k[i].finished;
		if (all)
			return;
		usleep(20 * 1000);
	}
	fail_msg("selects %d..%d were not answered", from, to - 1);
}

static void s_assert_waiting(s_client *k, int from, int to)
{
	for (int i = from; i < to; i++)
		if (k[i].finished)
			fail_msg("select %d answered early (rc %d)", i, k[i].rc);
}

/* Exactly the watched descriptor came back. */
static void s_assert_ready(s_client *k)
{
	if (k->rc != 1 || !FD_ISSET(k->watched, &k->ready) ||
	    (k->decoy >= 0 && FD_ISSET(k->decoy, &k->ready)))
		fail_msg("select %d: rc %d, watched %d %s, decoy %d %s", k->index, k->rc,
		         k->watched, FD_ISSET(k->watched, &k->ready) ? "ready" : "not ready",
		         k->decoy, k->decoy >= 0 && FD_ISSET(k->decoy, &k->ready) ? "ready" : "-");
}

static void test_sixteen_selects(void **state)
{
	fscluster *f = *state;
	fsclient *m = fsclient_new(f, "main");
	char path[64];
	int masters[8];
	for (int i = 0; i < 8; i++) {
		snprintf(path, sizeof path, "/ttym%d", i);
		assert_int_equal(s_mknod(m, path, FSC_MAJOR_TTY, S_MASTER(i)), 0);
		assert_true((masters[i] = fsc_open(m, path, O_RDWR, 0)) >= 0);
		snprintf(path, sizeof path, "/ttys%d", i);
		assert_int_equal(s_mknod(m, path, FSC_MAJOR_TTY, S_SLAVE(i)), 0);
	}
	assert_int_equal(s_mknod(m, "/log", FSC_MAJOR_LOG, 0), 0);
	assert_int_equal(fsc_mkfifo(m, "/fifo12", 0666), 0);
	assert_int_equal(fsc_mkfifo(m, "/fifo13", 0666), 0);
	static s_client k[S_CLIENTS];
	memset(k, 0, sizeof k);
	for (int i = 0; i < S_CLIENTS; i++) {
		char name[16];
		snprintf(name, sizeof name, "c%d", i);
		k[i].c = fsclient_new(f, name);
		k[i].index = i;
		k[i].timeout_ms = -1;
		k[i].decoy = -1;
		int pfd[2];
		if (i < 8) {
			k[i].group = S_TTY;
			snprintf(path, sizeof path, "/ttys%d", i);
			assert_true((k[i].watched = fsc_open(k[i].c, path, O_RDWR, 0)) >= 0);
		} else if (i < 12) {
			k[i].group = S_LOG;
			assert_true((k[i].watched = fsc_open(k[i].c, "/log", O_RDONLY, 0)) >= 0);
		} else if (i < 14) {
			k[i].group = S_FIFO;
			snprintf(path, sizeof path, "/fifo%d", i);
			k[i].watched = fsc_open(k[i].c, path, O_RDONLY | O_NONBLOCK, 0);
			assert_true(k[i].watched >= 0);
		} else {
			k[i].group = S_IDLE;
			k[i].timeout_ms = S_TIMEOUT;
		}
		assert_int_equal(fsc_pipe(k[i].c, pfd, 0), 0); /* the decoy: never written */
		if (k[i].group == S_IDLE)
			k[i].watched = pfd[0];
		else
			k[i].decoy = pfd[0];
	}
	/* A FIFO's reader sees end of file (ready) while no writer is there: open the writers
	 * first, then select. */
	int fifo_w[2];
	assert_true((fifo_w[0] = fsc_open(m, "/fifo12", O_WRONLY, 0)) >= 0);
	assert_true((fifo_w[1] = fsc_open(m, "/fifo13", O_WRONLY, 0)) >= 0);
	for (int i = 0; i < S_CLIENTS; i++)
		assert_int_equal(pthread_create(&k[i].t, NULL, s_select_run, &k[i]), 0);
	usleep(400 * 1000);
	s_assert_waiting(k, 0, 14);
	/* Even ttys first: the odd ones must stay waiting. */
	for (int i = 0; i < 8; i += 2)
		assert_int_equal(fsc_write(m, masters[i], "go\n", 3, S_LONG_MS), 3);
	for (int i = 0; i < 8; i += 2)
		s_wait_finished(k, i, i + 1);
	usleep(300 * 1000);
	for (int i = 1; i < 8; i += 2)
		s_assert_waiting(k, i, i + 1);
	s_assert_waiting(k, 8, 14);
	for (int i = 1; i < 8; i += 2)
		assert_int_equal(fsc_write(m, masters[i], "go\n", 3, S_LONG_MS), 3);
	s_wait_finished(k, 0, 8);
	s_assert_waiting(k, 8, 14);
	/* One line in the log wakes its four. */
	int logw = fsc_open(m, "/log", O_WRONLY, 0);
	assert_true(logw >= 0);
	assert_int_equal(fsc_write(m, logw, "selected\n", 9, S_LONG_MS), 9);
	s_wait_finished(k, 8, 12);
	s_assert_waiting(k, 12, 14);
	assert_int_equal(fsc_write(m, fifo_w[0], "a", 1, S_LONG_MS), 1);
	assert_int_equal(fsc_write(m, fifo_w[1], "b", 1, S_LONG_MS), 1);
	s_wait_finished(k, 12, 14);
	s_wait_finished(k, 14, 16);
	for (int i = 0; i < S_CLIENTS; i++)
		pthread_join(k[i].t, NULL);
	for (int i = 0; i < 14; i++)
		s_assert_ready(&k[i]);
	for (int i = 14; i < 16; i++) {
		assert_int_equal(k[i].rc, 0);
		assert_false(FD_ISSET(k[i].watched, &k[i].ready));
		assert_true(k[i].took_ms >= S_TIMEOUT - 5);
	}
	for (int i = 0; i < S_CLIENTS; i++)
		fsclient_destroy(&k[i].c, true);
	fsclient_destroy(&m, true);
	f->passed = true;
}

static void test_files_and_errors(void **state)
{
	fscluster *f = *state;
	fsclient *c = fsclient_new(f, "c");
	int fd = fsc_open(c, "/plain", O_RDWR | O_CREAT, 0644);
	assert_true(fd >= 0);
	fd_set rd, wr;
	FD_ZERO(&rd);
	FD_ZERO(&wr);
	FD_SET(fd, &rd);
	FD_SET(fd, &wr);
	assert_int_equal(fsc_select(c, fd + 1, &rd, &wr, -1), 2); /* regular: always ready */
	assert_true(FD_ISSET(fd, &rd) && FD_ISSET(fd, &wr));
	FD_ZERO(&rd);
	FD_SET(fd + 7, &rd);
	assert_int_equal(fsc_select(c, fd + 8, &rd, NULL, -1), -EBADF);
	/* Timeout 0 over an empty pipe: 0 at once; its write end is writable. */
	int p[2];
	assert_int_equal(fsc_pipe(c, p, 0), 0);
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	assert_int_equal(fsc_select(c, p[0] + 1, &rd, NULL, 0), 0);
	FD_ZERO(&wr);
	FD_SET(p[1], &wr);
	assert_int_equal(fsc_select(c, p[1] + 1, NULL, &wr, -1), 1);
	fsclient_destroy(&c, true);
	f->passed = true;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sixteen_selects, s_setup, fscluster_teardown),
	    cmocka_unit_test_setup_teardown(test_files_and_errors, s_setup, fscluster_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
