/*
 * chartest.c — the character driver checks shared by the local and the multi-node tests.
 *
 * Entry points: chartest_read_async, chartest_read_done, chartest_read_wait, chartest_ping,
 * chartest_memory, chartest_hello_read, chartest_tty_lines, chartest_tty_deferred,
 * chartest_tty_cancel, chartest_bad_requests, chartest_select, chartest_log.
 *
 * "Has not been answered" is checked by waiting a while (S_QUIET_MS) and seeing no answer: a
 * driver that answered at once fails it; a slow machine can only make it pass, never fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "chartest.h"
#include "plexus/proto/cdev.pb-c.h"
#include "plexus/proto/ipc.pb-c.h"

#define S_QUIET_MS  300
#define S_RD        PLEXUS__CDEV_SEL_OP__CDEV_SEL_RD
#define S_WR        PLEXUS__CDEV_SEL_OP__CDEV_SEL_WR
#define S_NOTIFY    PLEXUS__CDEV_SEL_OP__CDEV_SEL_NOTIFY
#define S_NONBLOCK  PLEXUS__CDEV_FLAG__CDEV_NONBLOCK
#define S_CANON     PLEXUS__TTY_MODE__TTY_CANON
#define S_ECHO      PLEXUS__TTY_MODE__TTY_ECHO
#define S_MASTER(k) (64u + (uint32_t)(k))
#define S_SLAVE(k)  (128u + (uint32_t)(k))

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *s_reader(void *arg)
{
	chartest_read *r = arg;
	ssize_t n = plx_cdev_read(r->dev, r->minor, r->position, r->buf, sizeof r->buf - 1,
	                          r->flags, r->id, NULL);
	pthread_mutex_lock(&r->lock);
	r->result = n;
	if (n >= 0)
		r->buf[n] = '\0';
	r->done = true;
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

void chartest_read_async(chartest_read *r, plx_cdev *dev, uint32_t minor, uint64_t position,
                         uint64_t id)
{
	memset(r, 0, sizeof *r);
	pthread_mutex_init(&r->lock, NULL);
	r->dev = dev;
	r->minor = minor;
	r->position = position;
	r->id = id;
	assert_int_equal(pthread_create(&r->thread, NULL, s_reader, r), 0);
}

bool chartest_read_done(chartest_read *r)
{
	pthread_mutex_lock(&r->lock);
	bool done = r->done;
	pthread_mutex_unlock(&r->lock);
	return done;
}

ssize_t chartest_read_wait(chartest_read *r)
{
	for (int64_t end = s_now_ms() + CHARTEST_TIMEOUT; !chartest_read_done(r);) {
		if (s_now_ms() > end)
			fail_msg("a read was not answered in %d ms", CHARTEST_TIMEOUT);
		usleep(5 * 1000);
	}
	pthread_join(r->thread, NULL);
	pthread_mutex_destroy(&r->lock);
	return r->result;
}

/* Asserts that r stays unanswered for S_QUIET_MS. */
static void s_assert_waiting(chartest_read *r)
{
	usleep(S_QUIET_MS * 1000);
	assert_false(chartest_read_done(r));
}

static plx_cdev *s_dev(plx_ep *ep, const char *label)
{
	plx_cdev *dev = plx_cdev_new(ep, label, CHARTEST_TIMEOUT);
	assert_non_null(dev);
	return dev;
}

void chartest_ping(plx_ep *ep, const char *label)
{
	Plexus__IpcPing ping = PLEXUS__IPC_PING__INIT;
	ping.sequence = 4711;
	plx_request req = {.type = PLEXUS__IPC_TYPE__IPC_PING, .body = &ping.base};
	snprintf(req.dst.label, sizeof req.dst.label, "%s", label);
	plx_msg *reply = NULL;
	assert_int_equal(plx_sendrec(ep, &req, &reply, CHARTEST_TIMEOUT), 0);
	Plexus__IpcPing *p =
	    (Plexus__IpcPing *)plx_msg_unpack(reply, &plexus__ipc_ping__descriptor);
	assert_non_null(p);
	assert_int_equal(p->sequence, 4711);
	protobuf_c_message_free_unpacked(&p->base, NULL);
	plx_msg_destroy(&reply);
}

/* Reads minor; asserts the text. */
static void s_expect(plx_cdev *dev, uint32_t minor, const char *text)
{
	char buf[4096];
	ssize_t n = plx_cdev_read(dev, minor, 0, buf, sizeof buf - 1, 0, 0, NULL);
	assert_int_equal(n, (ssize_t)strlen(text));
	buf[n] = '\0';
	assert_string_equal(buf, text);
}

static void s_write(plx_cdev *dev, uint32_t minor, const char *text)
{
	size_t len = strlen(text);
	assert_int_equal(plx_cdev_write(dev, minor, 0, text, len, 0, 0), (ssize_t)len);
}

/* Reads what minor has without waiting; returns the bytes (into buf, NUL-terminated). */
static size_t s_drain(plx_cdev *dev, uint32_t minor, char *buf, size_t size)
{
	size_t got = 0;
	for (;;) {
		ssize_t n =
		    plx_cdev_read(dev, minor, 0, buf + got, size - 1 - got, S_NONBLOCK, 0, NULL);
		if (n == -EAGAIN || n == 0 || got + 1 >= size)
			break;
		assert_true(n > 0);
		got += (size_t)n;
	}
	buf[got] = '\0';
	return got;
}

static void s_mode(plx_cdev *dev, uint32_t minor, uint32_t mode)
{
	assert_int_equal(plx_cdev_ioctl(dev, minor, PLEXUS__CDEV_IOCTL_REQUEST__TTY_SETMODE, &mode,
	                                sizeof mode, NULL, NULL, 0),
	                 0);
}

/* A pty pair in canonical mode with echo, nothing pending on either side. */
static void s_pty_reset(plx_cdev *dev, int k)
{
	char junk[8192];
	s_mode(dev, S_SLAVE(k), S_CANON | S_ECHO);
	assert_int_equal(plx_cdev_ioctl(dev, S_SLAVE(k), PLEXUS__CDEV_IOCTL_REQUEST__TTY_FLUSH,
	                                NULL, 0, NULL, NULL, 0),
	                 0);
	s_drain(dev, S_MASTER(k), junk, sizeof junk);
}

void chartest_memory(plx_ep *ep, const char *label)
{
	plx_cdev *dev = s_dev(ep, label);
	uint8_t buf[4096], other[4096], zeros[4096] = {0};
	for (uint32_t m = 3; m <= 8; m++)
		assert_int_equal(plx_cdev_open(dev, m, PLEXUS__CDEV_ACCESS__CDEV_R_BIT),
		                 m == 3 || m == 5 || m == 7 || m == 8 ? 0 : -ENXIO);
	assert_int_equal(plx_cdev_read(dev, 3, 0, buf, sizeof buf, 0, 0, NULL), 0); /* null: EOF */
	assert_int_equal(plx_cdev_write(dev, 3, 0, buf, 100, 0, 0), 100);
	memset(buf, 0xa5, sizeof buf);
	assert_int_equal(plx_cdev_read(dev, 5, 0, buf, sizeof buf, 0, 0, NULL), sizeof buf);
	assert_memory_equal(buf, zeros, sizeof buf); /* zero */
	assert_int_equal(plx_cdev_write(dev, 5, 0, buf, 10, 0, 0), 10);
	assert_int_equal(plx_cdev_write(dev, 7, 0, buf, 10, 0, 0), -ENOSPC); /* full */
	memset(buf, 0xa5, sizeof buf);
	assert_int_equal(plx_cdev_read(dev, 7, 0, buf, 512, 0, 0, NULL), 512);
	assert_memory_equal(buf, zeros, 512);
	assert_int_equal(plx_cdev_read(dev, 8, 0, buf, sizeof buf, 0, 0, NULL), sizeof buf);
	assert_int_equal(plx_cdev_read(dev, 8, 0, other, sizeof other, 0, 0, NULL), sizeof other);
	assert_memory_not_equal(buf, other, sizeof buf); /* random: 2^-32768 to fail by chance */
	assert_memory_not_equal(buf, zeros, sizeof buf);
	assert_int_equal(plx_cdev_write(dev, 8, 0, buf, 64, 0, 0), 64);
	assert_int_equal(plx_cdev_read(dev, 0, 0, buf, 16, 0, 0, NULL), -ENXIO);
	assert_int_equal(plx_cdev_read(dev, 4, 0, buf, 16, 0, 0, NULL), -ENXIO);
	assert_int_equal(plx_cdev_select(dev, 3, S_RD | S_WR, 1), S_RD | S_WR); /* never blocks */
	assert_int_equal(plx_cdev_ioctl(dev, 5, 1, NULL, 0, NULL, NULL, 0), -ENOTTY);
	assert_int_equal(plx_cdev_close(dev, 3), 0);
	plx_cdev_destroy(&dev);
}

void chartest_hello_read(plx_ep *ep, const char *label)
{
	plx_cdev *dev = s_dev(ep, label);
	char buf[64];
	uint64_t pos = 99;
	assert_int_equal(plx_cdev_open(dev, 0, PLEXUS__CDEV_ACCESS__CDEV_R_BIT), 0);
	assert_int_equal(plx_cdev_read(dev, 0, 0, buf, sizeof buf, 0, 0, &pos), 14);
	assert_memory_equal(buf, "Hello, World!\n", 14);
	assert_int_equal(pos, 0);
	assert_int_equal(plx_cdev_read(dev, 0, 7, buf, sizeof buf, 0, 0, &pos), 7);
	assert_memory_equal(buf, "World!\n", 7);
	assert_int_equal(pos, 7);
	assert_int_equal(plx_cdev_read(dev, 0, 0, buf, 5, 0, 0, NULL), 5);
	assert_memory_equal(buf, "Hello", 5);
	assert_int_equal(plx_cdev_read(dev, 0, 14, buf, sizeof buf, 0, 0, NULL), 0);
	assert_int_equal(plx_cdev_read(dev, 0, 1000, buf, sizeof buf, 0, 0, NULL), 0);
	assert_int_equal(plx_cdev_write(dev, 0, 0, "x", 1, 0, 0), -EIO);
	assert_int_equal(plx_cdev_ioctl(dev, 0, 1, NULL, 0, NULL, NULL, 0), -ENOTTY);
	assert_int_equal(plx_cdev_open(dev, 1, PLEXUS__CDEV_ACCESS__CDEV_R_BIT), -ENXIO);
	assert_int_equal(plx_cdev_close(dev, 0), 0);
	plx_cdev_destroy(&dev);
}

void chartest_tty_lines(plx_ep *ep, const char *label, int k)
{
	plx_cdev *dev = s_dev(ep, label);
	uint32_t m = S_MASTER(k), s = S_SLAVE(k);
	char out[8192];
	assert_int_equal(plx_cdev_open(dev, m, PLEXUS__CDEV_ACCESS__CDEV_R_BIT | 2), 0);
	assert_int_equal(plx_cdev_open(dev, s, PLEXUS__CDEV_ACCESS__CDEV_R_BIT | 2), 0);
	s_pty_reset(dev, k);
	s_write(dev, m, "ls -l\n");
	s_expect(dev, s, "ls -l\n");
	s_drain(dev, m, out, sizeof out);
	assert_string_equal(out, "ls -l\n"); /* the echo */
	s_write(dev, m, "abx\x7f");
	s_write(dev, m, "c\n");
	s_expect(dev, s, "abc\n");
	s_drain(dev, m, out, sizeof out);
	assert_string_equal(out, "abx\b \bc\n");
	s_write(dev, m, "junk\x15ok\n"); /* ^U kills the line */
	s_expect(dev, s, "ok\n");
	s_write(dev, m, "one\ntwo\n"); /* a read returns one line */
	s_expect(dev, s, "one\n");
	s_expect(dev, s, "two\n");
	s_write(dev, m, "last\x04\x04"); /* ^D ends a line without itself; alone, it is EOF */
	s_expect(dev, s, "last");
	s_expect(dev, s, "");
	/* Raw mode: bytes as they come, no echo, ^D is a byte. */
	s_mode(dev, s, 0);
	s_drain(dev, m, out, sizeof out);
	s_write(dev, m, "xy\x04");
	s_expect(dev, s, "xy\x04");
	assert_int_equal(s_drain(dev, m, out, sizeof out), 0);
	uint32_t mode = 99;
	size_t size = sizeof mode;
	assert_int_equal(plx_cdev_ioctl(dev, s, PLEXUS__CDEV_IOCTL_REQUEST__TTY_GETMODE, NULL, 0,
	                                &mode, &size, 0),
	                 0);
	assert_int_equal(size, sizeof mode);
	assert_int_equal(mode, 0);
	s_mode(dev, s, S_CANON | S_ECHO);
	/* The slave's output reaches the master. */
	s_write(dev, s, "$ prompt ");
	s_expect(dev, m, "$ prompt ");
	assert_int_equal(plx_cdev_close(dev, s), 0);
	assert_int_equal(plx_cdev_close(dev, m), 0);
	plx_cdev_destroy(&dev);
}

void chartest_tty_deferred(plx_ep *ep, const char *label, int k)
{
	plx_cdev *dev = s_dev(ep, label), *reader = s_dev(ep, label);
	s_pty_reset(dev, k);
	chartest_read r;
	chartest_read_async(&r, reader, S_SLAVE(k), 0, 1);
	s_assert_waiting(&r);
	s_write(dev, S_MASTER(k), "hello\n");
	assert_int_equal(chartest_read_wait(&r), 6);
	assert_string_equal(r.buf, "hello\n");
	/* The other way: the master waits for the slave's output. */
	char out[256];
	s_drain(dev, S_MASTER(k), out, sizeof out);
	chartest_read_async(&r, reader, S_MASTER(k), 0, 2);
	s_assert_waiting(&r);
	s_write(dev, S_SLAVE(k), "done");
	assert_int_equal(chartest_read_wait(&r), 4);
	assert_string_equal(r.buf, "done");
	plx_cdev_destroy(&reader);
	plx_cdev_destroy(&dev);
}

void chartest_tty_cancel(plx_ep *ep, const char *label, int k)
{
	plx_cdev *dev = s_dev(ep, label), *reader = s_dev(ep, label);
	s_pty_reset(dev, k);
	chartest_read r;
	chartest_read_async(&r, reader, S_SLAVE(k), 0, 77);
	/* -ENOENT until the read has reached the driver and waits there. */
	int rc = -ENOENT;
	for (int64_t end = s_now_ms() + CHARTEST_TIMEOUT; rc == -ENOENT && s_now_ms() < end;) {
		rc = plx_cdev_cancel(dev, S_SLAVE(k), 77);
		if (rc == -ENOENT)
			usleep(10 * 1000);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(chartest_read_wait(&r), -EINTR);
	assert_int_equal(plx_cdev_cancel(dev, S_SLAVE(k), 77), -ENOENT);
	char buf[16];
	assert_int_equal(plx_cdev_read(dev, S_SLAVE(k), 0, buf, sizeof buf, S_NONBLOCK, 0, NULL),
	                 -EAGAIN);
	/* Input typed after the cancel is there for the next read, not lost to the cancelled one.
	 */
	s_write(dev, S_MASTER(k), "after\n");
	s_expect(dev, S_SLAVE(k), "after\n");
	plx_cdev_destroy(&reader);
	plx_cdev_destroy(&dev);
}

/* Sends type with body and data to label; returns the status. */
static int s_raw(plx_ep *ep, const char *label, uint32_t type, const ProtobufCMessage *body,
                 const void *data, size_t size)
{
	plx_request req = {.type = type, .body = body, .data = data, .data_size = size};
	snprintf(req.dst.label, sizeof req.dst.label, "%s", label);
	plx_msg *reply = NULL;
	int rc = plx_sendrec(ep, &req, &reply, CHARTEST_TIMEOUT);
	plx_msg_destroy(&reply);
	return rc;
}

void chartest_bad_requests(plx_ep *ep, const char *label)
{
	plx_cdev *dev = s_dev(ep, label);
	char buf[64];
	uint32_t s = S_SLAVE(0), m = S_MASTER(0);
	assert_int_equal(plx_cdev_open(dev, 255, 1), -ENXIO);
	assert_int_equal(plx_cdev_open(dev, 300, 1), -ENXIO);
	assert_int_equal(plx_cdev_read(dev, 300, 0, buf, sizeof buf, 0, 0, NULL), -ENXIO);
	assert_int_equal(plx_cdev_select(dev, 255, S_RD, 1), -ENXIO);
	assert_int_equal(plx_cdev_open(dev, s, 0x40), -EINVAL);
	assert_int_equal(plx_cdev_read(dev, s, 0, buf, sizeof buf, 0x80, 0, NULL), -EINVAL);
	assert_int_equal(plx_cdev_read(dev, s, 0, buf, 16u * 1024 * 1024 + 1, 0, 0, NULL), -EINVAL);
	assert_int_equal(plx_cdev_select(dev, s, 0x100, 1), -EINVAL);
	/* Frames that do not belong, or do not match the size. */
	Plexus__CdevIo io = PLEXUS__CDEV_IO__INIT;
	io.minor = s;
	io.size = 10;
	assert_int_equal(s_raw(ep, label, PLEXUS__CDEV_TYPE__CDEV_WRITE, &io.base, "12345", 5),
	                 -EBADMSG);
	assert_int_equal(s_raw(ep, label, PLEXUS__CDEV_TYPE__CDEV_READ, &io.base, "12345", 5),
	                 -EBADMSG);
	Plexus__CdevMinor mb = PLEXUS__CDEV_MINOR__INIT;
	mb.minor = s;
	assert_int_equal(s_raw(ep, label, PLEXUS__CDEV_TYPE__CDEV_CLOSE, &mb.base, "x", 1),
	                 -EBADMSG);
	/* A body that is not the request's message. */
	Plexus__IpcEcho echo = PLEXUS__IPC_ECHO__INIT;
	echo.text = "not a CdevOpen";
	assert_int_equal(s_raw(ep, label, PLEXUS__CDEV_TYPE__CDEV_OPEN, &echo.base, NULL, 0),
	                 -EBADMSG);
	/* Types a driver does not take. */
	assert_int_equal(s_raw(ep, label, PLEXUS__CDEV_TYPE__CDEV_SEL2_REPLY, NULL, NULL, 0),
	                 -ENOSYS);
	assert_int_equal(s_raw(ep, label, 0x06ff, NULL, NULL, 0), -ENOSYS);
	/* Ioctls. */
	uint32_t mode = 0x100;
	assert_int_equal(
	    plx_cdev_ioctl(dev, m, PLEXUS__CDEV_IOCTL_REQUEST__TTY_GETMODE, NULL, 0, NULL, NULL, 0),
	    -ENOTTY); /* a master is no terminal */
	assert_int_equal(plx_cdev_ioctl(dev, s, 0x1234, NULL, 0, NULL, NULL, 0), -ENOTTY);
	assert_int_equal(plx_cdev_ioctl(dev, s, PLEXUS__CDEV_IOCTL_REQUEST__TTY_SETMODE, &mode, 2,
	                                NULL, NULL, 0),
	                 -EINVAL);
	assert_int_equal(plx_cdev_ioctl(dev, s, PLEXUS__CDEV_IOCTL_REQUEST__TTY_SETMODE, &mode,
	                                sizeof mode, NULL, NULL, 0),
	                 -EINVAL);
	char big[5000] = {0};
	assert_int_equal(plx_cdev_ioctl(dev, s, PLEXUS__CDEV_IOCTL_REQUEST__TTY_SETMODE, big,
	                                sizeof big, NULL, NULL, 0),
	                 -EINVAL);
	assert_int_equal(plx_cdev_cancel(dev, s, 123456), -ENOENT);
	chartest_ping(ep, label); /* and it still serves */
	plx_cdev_destroy(&dev);
}

typedef struct s_expected {
	const char *label;
	uint32_t minor;
	uint64_t id;
	bool seen;
} s_expected;

/* Receives CDEV_SEL2_REPLY reports on ep for up to ms; marks each expected one seen and fails
 * on any other or on one seen twice. Returns when every expected one is seen (or, with
 * n == 0, when ms have passed). */
static void s_collect(plx_ep *ep, s_expected *want, size_t n, int ms)
{
	size_t seen = 0;
	for (int64_t end = s_now_ms() + ms; (n == 0 || seen < n) && s_now_ms() < end;) {
		plx_msg *msg = NULL;
		if (plx_receive(ep, &msg, (int)(end - s_now_ms())) < 0)
			continue;
		if (msg->type != PLEXUS__CDEV_TYPE__CDEV_SEL2_REPLY) {
			if (msg->kind == PLX_REQUEST)
				plx_reply(ep, msg, 0, NULL, NULL,
				          0); /* not ours (an exit report) */
			plx_msg_destroy(&msg);
			continue;
		}
		uint32_t minor, ops;
		uint64_t id;
		assert_int_equal(plx_cdev_sel2_parse(msg, &minor, &id, &ops), 0);
		assert_int_equal(plx_reply(ep, msg, 0, NULL, NULL, 0), 0);
		size_t i = 0;
		while (i < n && !(strcmp(want[i].label, msg->source.label) == 0 &&
		                  want[i].minor == minor && want[i].id == id))
			i++;
		if (i == n || want[i].seen)
			fail_msg("unexpected CDEV_SEL2_REPLY from %s: minor %u id %llu ops %u",
			         msg->source.label, minor, (unsigned long long)id, ops);
		assert_int_equal(ops, S_RD);
		want[i].seen = true;
		seen++;
		plx_msg_destroy(&msg);
	}
	for (size_t i = 0; i < n; i++)
		if (!want[i].seen)
			fail_msg("no CDEV_SEL2_REPLY from %s for minor %u id %llu", want[i].label,
			         want[i].minor, (unsigned long long)want[i].id);
}

void chartest_select(plx_ep *ep, const char *tty, const char *log, int k)
{
	plx_cdev *t = s_dev(ep, tty), *l = s_dev(ep, log);
	s_pty_reset(t, k);
	s_pty_reset(t, k + 1);
	/* Nothing is ready: five selects in flight over two drivers, two with the same id. */
	assert_int_equal(plx_cdev_select(t, S_SLAVE(k), S_RD | S_NOTIFY, 100), 0);
	assert_int_equal(plx_cdev_select(t, S_MASTER(k), S_RD | S_NOTIFY, 101), 0);
	assert_int_equal(plx_cdev_select(t, S_SLAVE(k + 1), S_RD | S_NOTIFY, 102), 0);
	assert_int_equal(plx_cdev_select(t, S_MASTER(k + 1), S_RD | S_NOTIFY, 103), 0);
	assert_int_equal(plx_cdev_select(l, 0, S_RD | S_NOTIFY, 100), 0); /* an empty log */
	/* What is ready now is said now; a select without notify leaves nothing behind. */
	assert_int_equal(plx_cdev_select(t, S_SLAVE(k), S_WR, 104), S_WR);
	/* Withdrawn: no report for pair k+1's master. */
	assert_int_equal(plx_cdev_select(t, S_MASTER(k + 1), 0, 103), 0);
	s_expected none[1];
	s_collect(ep, none, 0, S_QUIET_MS);
	/* A line typed at master k: its slave becomes readable, and the echo makes the master so.
	 */
	s_write(t, S_MASTER(k), "go\n");
	s_expected want[] = {{tty, S_SLAVE(k), 100, false}, {tty, S_MASTER(k), 101, false}};
	s_collect(ep, want, 2, CHARTEST_TIMEOUT);
	/* A line in the log: its report carries the same id, from the other driver. */
	s_write(l, 0, "selected\n");
	s_expected want_log[] = {{log, 0, 100, false}};
	s_collect(ep, want_log, 1, CHARTEST_TIMEOUT);
	/* One shot: more input reports nothing more; pair k+1 never had any. */
	s_write(t, S_MASTER(k), "again\n");
	s_collect(ep, none, 0, S_QUIET_MS);
	/* Pair k+1's slave gets input: its select, still in flight, reports now. */
	s_mode(t, S_SLAVE(k + 1), 0);
	s_write(t, S_MASTER(k + 1), "z");
	s_expected want_k1[] = {{tty, S_SLAVE(k + 1), 102, false}};
	s_collect(ep, want_k1, 1, CHARTEST_TIMEOUT);
	s_pty_reset(t, k);
	s_pty_reset(t, k + 1);
	plx_cdev_destroy(&l);
	plx_cdev_destroy(&t);
}

void chartest_log(plx_ep *ep, const char *label)
{
	plx_cdev *dev = s_dev(ep, label), *reader = s_dev(ep, label);
	char buf[4096];
	uint64_t end = 0, pos;
	ssize_t n;
	while ((n = plx_cdev_read(dev, 0, end, buf, sizeof buf, S_NONBLOCK, 0, &pos)) > 0)
		end = pos + (uint64_t)n; /* what earlier writers left */
	assert_int_equal(n, -EAGAIN);
	assert_int_equal(plx_cdev_write(dev, 0, 0, "first line\nsecond", 17, 0, 0), 17);
	n = plx_cdev_read(dev, 0, end, buf, sizeof buf - 1, 0, 0, &pos);
	assert_true(n > 0);
	assert_int_equal(pos, end);
	buf[n] = '\0';
	char who[96], *line2 = strchr(buf, '\n');
	snprintf(who, sizeof who, "Z %s: first line\n", plx_ep_name(ep)->label);
	assert_non_null(strstr(buf, who));
	assert_non_null(line2);
	int year, mon, day, hh, mm, ss, ms;
	assert_int_equal(
	    sscanf(buf, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &year, &mon, &day, &hh, &mm, &ss, &ms), 7);
	assert_true(year >= 2024 && mon >= 1 && mon <= 12);
	snprintf(who, sizeof who, "Z %s: second\n", plx_ep_name(ep)->label);
	assert_non_null(strstr(line2 + 1, who)); /* a last piece without newline is a line too */
	end += (uint64_t)n;
	/* At the end a read waits for the next line; without waiting it is -EAGAIN. */
	assert_int_equal(plx_cdev_read(dev, 0, end, buf, sizeof buf, S_NONBLOCK, 0, NULL), -EAGAIN);
	chartest_read r;
	chartest_read_async(&r, reader, 0, end, 5);
	s_assert_waiting(&r);
	assert_int_equal(plx_cdev_write(dev, 0, 0, "third\n", 6, 0, 0), 6);
	n = chartest_read_wait(&r);
	assert_true(n > 0);
	assert_non_null(strstr(r.buf, ": third\n"));
	assert_int_equal(plx_cdev_select(dev, 0, S_RD | S_WR, 1), S_RD | S_WR);
	plx_cdev_destroy(&reader);
	plx_cdev_destroy(&dev);
}
