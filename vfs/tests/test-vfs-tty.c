/*
 * test-vfs-tty.c — character special files through VFS on the multi-node fixture: the tty
 * driver on node 3 (major 4), VFS on node 1, the clients on node 0.
 *
 * What it proves: a pty pair opened through special files (mknod) carries a line from master
 * to slave; a read on the slave waits (parked at VFS, no answer) until the master is written;
 * when the tty driver is killed (SIGKILL) while a client waits in such a read, the read fails
 * -EIO promptly (it does not hang), another client's select on it wakes ready, later I/O on the
 * same descriptor fails -EIO at once, and after an RS-style restart (new generation,
 * PLEXUS_INIT=restart) a new open reaches the new driver and works; a client that gives up a
 * waiting read and dies has it cancelled at the driver (CDEV_CANCEL), so a later reader gets the
 * next line.
 *
 * Entry points: main.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
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
#define S_MASTER(k) (64u + (unsigned)(k))
#define S_SLAVE(k)  (128u + (unsigned)(k))

static const fscluster_opts s_opts = {
    .cluster = "vfstty",
    .services = (1u << FSCLUSTER_DISK) | (1u << FSCLUSTER_TTY) | (1u << FSCLUSTER_LOG) |
                (1u << FSCLUSTER_PFS) | (1u << FSCLUSTER_MFS) | (1u << FSCLUSTER_VFS),
};

static int s_setup(void **state)
{
	return fscluster_setup(state, &s_opts);
}

typedef struct s_reader {
	pthread_t t;
	fsclient *c;
	int fd;
	char buf[128];
	int64_t result;
	int64_t took_ms;
	volatile bool finished;
} s_reader;

static void *s_read_run(void *arg)
{
	s_reader *r = arg;
	int64_t start = drvcluster_now_ms();
	r->result = fsc_read(r->c, r->fd, r->buf, sizeof r->buf - 1, S_LONG_MS);
	r->took_ms = drvcluster_now_ms() - start;
	r->finished = true;
	return NULL;
}

static void s_read_start(s_reader *r, fsclient *c, int fd)
{
	memset(r, 0, sizeof *r);
	r->c = c;
	r->fd = fd;
	assert_int_equal(pthread_create(&r->t, NULL, s_read_run, r), 0);
	usleep(300 * 1000);
	assert_false(r->finished); /* parked: nothing to read yet */
}

/* Makes /ttymK and /ttysK for pair k and opens them; sets *m and *s. */
static void s_open_pair(fsclient *c, int k, int *m, int *s)
{
	char mp[32], sp[32];
	snprintf(mp, sizeof mp, "/ttym%d", k);
	snprintf(sp, sizeof sp, "/ttys%d", k);
	int rc = fsc_mknod(c, mp, S_IFCHR | 0666, makedev(FSC_MAJOR_TTY, S_MASTER(k)));
	assert_true(rc == 0 || rc == -EEXIST);
	rc = fsc_mknod(c, sp, S_IFCHR | 0666, makedev(FSC_MAJOR_TTY, S_SLAVE(k)));
	assert_true(rc == 0 || rc == -EEXIST);
	assert_true((*m = fsc_open(c, mp, O_RDWR, 0)) >= 0);
	assert_true((*s = fsc_open(c, sp, O_RDWR, 0)) >= 0);
}

static void test_tty_lines(void **state)
{
	fscluster *f = *state;
	fsclient *a = fsclient_new(f, "a");
	int m, s;
	s_open_pair(a, 0, &m, &s);
	uint32_t mode = 0;
	assert_int_equal(fsc_fstat(a, s, NULL, &mode), 0);
	assert_true(S_ISCHR(mode));
	s_reader r;
	s_read_start(&r, a, s);
	assert_int_equal(fsc_write(a, m, "hello\n", 6, S_LONG_MS), 6);
	pthread_join(r.t, NULL);
	assert_int_equal(r.result, 6);
	assert_memory_equal(r.buf, "hello\n", 6);
	/* The slave's output comes out of the master (after the echo of the line). */
	assert_int_equal(fsc_write(a, s, "out\n", 4, S_LONG_MS), 4);
	char buf[64] = "";
	size_t got = 0;
	while (got < 4 || !strstr(buf, "out")) {
		ssize_t n = fsc_read(a, m, buf + got, sizeof buf - 1 - got, S_LONG_MS);
		assert_true(n > 0);
		got += (size_t)n;
		buf[got] = '\0';
	}
	assert_non_null(strstr(buf, "out"));
	assert_int_equal(fsc_close(a, s), 0);
	assert_int_equal(fsc_close(a, m), 0);
	fsclient_destroy(&a, true);
	f->passed = true;
}

/* A select on a thread of its own. */
typedef struct s_selector {
	pthread_t t;
	fsclient *c;
	int fd;
	int rc;
	fd_set rd;
	volatile bool finished;
} s_selector;

static void *s_select_run(void *arg)
{
	s_selector *s = arg;
	FD_ZERO(&s->rd);
	FD_SET(s->fd, &s->rd);
	s->rc = fsc_select(s->c, s->fd + 1, &s->rd, NULL, -1);
	s->finished = true;
	return NULL;
}

static void test_tty_killed_while_reading(void **state)
{
	fscluster *f = *state;
	fsclient *a = fsclient_new(f, "a"), *b = fsclient_new(f, "b");
	int m, s;
	s_open_pair(a, 1, &m, &s);
	s_reader r;
	s_read_start(&r, a, s);
	/* b waits in a select on the same slave. */
	s_selector sel = {.c = b, .fd = fsc_open(b, "/ttys1", O_RDONLY, 0)};
	assert_true(sel.fd >= 0);
	assert_int_equal(pthread_create(&sel.t, NULL, s_select_run, &sel), 0);
	usleep(300 * 1000);
	assert_false(sel.finished);
	int64_t kill_at = drvcluster_now_ms();
	fscluster_kill(f, FSCLUSTER_TTY, SIGKILL);
	pthread_join(r.t, NULL);
	print_message("the waiting read failed %lld ms after the kill was sent\n",
	              (long long)(drvcluster_now_ms() - kill_at));
	assert_int_equal(r.result, -EIO);
	assert_true(r.took_ms < S_LONG_MS / 2); /* failed, not timed out */
	/* The select wakes: the descriptor is ready (its read fails at once). */
	pthread_join(sel.t, NULL);
	assert_int_equal(sel.rc, 1);
	assert_true(FD_ISSET(sel.fd, &sel.rd));
	char one[4];
	assert_int_equal(fsc_read(b, sel.fd, one, sizeof one, FSC_WAIT_MS), -EIO);
	fsclient_destroy(&b, true);
	/* The descriptor is invalid now: -EIO at once, no message to anyone. */
	char buf[8];
	assert_int_equal(fsc_read(a, s, buf, sizeof buf, FSC_WAIT_MS), -EIO);
	assert_int_equal(fsc_write(a, m, "x\n", 2, FSC_WAIT_MS), -EIO);
	assert_int_equal(fsc_close(a, s), 0);
	assert_int_equal(fsc_close(a, m), 0);
	/* RS restarts it; a new open reaches the new generation. */
	fscluster_start(f, FSCLUSTER_TTY, "restart");
	int m2 = -1, s2 = -1;
	for (int64_t end = drvcluster_now_ms() + FSC_WAIT_MS; drvcluster_now_ms() < end;
	     usleep(50 * 1000)) {
		m2 = fsc_open(a, "/ttym1", O_RDWR, 0);
		if (m2 >= 0)
			break;
	}
	assert_true(m2 >= 0);
	assert_true((s2 = fsc_open(a, "/ttys1", O_RDWR, 0)) >= 0);
	assert_int_equal(fsc_write(a, m2, "again\n", 6, S_LONG_MS), 6);
	char line[16];
	assert_int_equal(fsc_read(a, s2, line, sizeof line, S_LONG_MS), 6);
	assert_memory_equal(line, "again\n", 6);
	assert_int_equal(fsc_close(a, s2), 0);
	assert_int_equal(fsc_close(a, m2), 0);
	fsclient_destroy(&a, true);
	f->passed = true;
}

/* b gives up a waiting read and dies: the driver is told (CDEV_CANCEL), so the next line goes
 * to a's read, not to the dead request. */
static void test_dead_reader_cancelled(void **state)
{
	fscluster *f = *state;
	fsclient *a = fsclient_new(f, "a"), *b = fsclient_new(f, "b");
	int m, s;
	s_open_pair(a, 2, &m, &s);
	int bs = fsc_open(b, "/ttys2", O_RDWR, 0);
	assert_true(bs >= 0);
	char buf[32];
	assert_int_equal(fsc_read(b, bs, buf, sizeof buf, 1000), -ETIMEDOUT);
	fsclient_destroy(&b, false);
	/* b's record is gone (VFS watches the same records); VFS's next round cancels. */
	for (int64_t end = drvcluster_now_ms() + FSC_WAIT_MS; drvcluster_now_ms() < end;
	     usleep(20 * 1000))
		if (plx_route_lookup(f->d->ctx, "client.b", NULL, NULL, 0) == -ENOENT)
			break;
	assert_int_equal(plx_route_lookup(f->d->ctx, "client.b", NULL, NULL, 0), -ENOENT);
	usleep(1000 * 1000); /* margin for VFS's own cache and its round (20 ms) */
	/* Were b's request still at the driver, the line would go to it and a's read wait. */
	s_reader r;
	s_read_start(&r, a, s);
	assert_int_equal(fsc_write(a, m, "line\n", 5, S_LONG_MS), 5);
	for (int64_t wait = drvcluster_now_ms() + FSC_WAIT_MS;
	     !r.finished && drvcluster_now_ms() < wait;)
		usleep(20 * 1000);
	bool got = r.finished;
	if (!got) /* unblock the thread before failing */
		assert_int_equal(fsc_write(a, m, "unblock\n", 8, S_LONG_MS), 8);
	pthread_join(r.t, NULL);
	assert_true(got);
	int64_t rc = r.result;
	assert_int_equal(rc, 5);
	assert_int_equal(fsc_close(a, s), 0);
	assert_int_equal(fsc_close(a, m), 0);
	fsclient_destroy(&a, true);
	f->passed = true;
}

/* The log is mapped ",reopen": a file open on it when it dies fails -EIO until the next
 * generation is up, then VFS has opened it there again and it works without a new open. */
static void test_log_reopened(void **state)
{
	fscluster *f = *state;
	fsclient *a = fsclient_new(f, "a");
	int rc = fsc_mknod(a, "/log", S_IFCHR | 0666, makedev(FSC_MAJOR_LOG, 0));
	assert_true(rc == 0 || rc == -EEXIST);
	int fd = fsc_open(a, "/log", O_WRONLY, 0);
	assert_true(fd >= 0);
	assert_int_equal(fsc_write(a, fd, "before\n", 7, S_LONG_MS), 7);
	fscluster_kill(f, FSCLUSTER_LOG, SIGKILL);
	/* Once VFS has seen the death: -EIO (it has when the record is gone). */
	for (int64_t end = drvcluster_now_ms() + FSC_WAIT_MS; drvcluster_now_ms() < end;
	     usleep(20 * 1000))
		if (fsc_write(a, fd, "x\n", 2, S_LONG_MS) == -EIO)
			break;
	assert_int_equal(fsc_write(a, fd, "x\n", 2, S_LONG_MS), -EIO);
	fscluster_start(f, FSCLUSTER_LOG, "restart");
	int64_t n = -1;
	for (int64_t end = drvcluster_now_ms() + FSC_WAIT_MS; drvcluster_now_ms() < end;
	     usleep(50 * 1000))
		if ((n = fsc_write(a, fd, "after\n", 6, S_LONG_MS)) == 6)
			break;
	assert_int_equal(n, 6);
	char *log = fscluster_log(f, FSCLUSTER_VFS);
	assert_non_null(log);
	assert_non_null(strstr(log, "files reopened (0 failed)"));
	free(log);
	assert_int_equal(fsc_close(a, fd), 0);
	fsclient_destroy(&a, true);
	f->passed = true;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_tty_lines, s_setup, fscluster_teardown),
	    cmocka_unit_test_setup_teardown(test_tty_killed_while_reading, s_setup,
	                                    fscluster_teardown),
	    cmocka_unit_test_setup_teardown(test_dead_reader_cancelled, s_setup,
	                                    fscluster_teardown),
	    cmocka_unit_test_setup_teardown(test_log_reopened, s_setup, fscluster_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
