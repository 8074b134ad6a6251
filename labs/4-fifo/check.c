/*
 * check.c — lab 4's checks: the student's plexus-fifo runs as a real service against a
 * private etcd; reads run in threads of their own, as blocked clients would, and writes from
 * this thread must answer them. "Still waiting" is judged by waiting S_QUIET_MS and seeing no
 * answer: a slow machine can only make such a check pass, never fail.
 *
 * Entry points: main (plexus-lab-check-4 DRIVER).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <plexus/cdev.h>

#include "labharness.h"
#include "plexus/proto/cdev.pb-c.h"

#define S_QUIET_MS 300 /* how long a waiting read must stay unanswered */

/* A read in a thread of its own. */
typedef struct s_reader {
	pthread_t thread;
	plx_cdev *dev;
	uint64_t id;
	char buf[256];
	ssize_t result;
	bool done; /* guarded by lock */
	pthread_mutex_t lock;
} s_reader;

static void *s_read_main(void *arg)
{
	s_reader *r = arg;
	ssize_t n = plx_cdev_read(r->dev, 0, 0, r->buf, sizeof r->buf - 1, 0, r->id, NULL);
	pthread_mutex_lock(&r->lock);
	r->result = n;
	r->buf[n > 0 ? n : 0] = '\0';
	r->done = true;
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

static void s_read_start(s_reader *r, plx_cdev *dev, uint64_t id)
{
	memset(r, 0, sizeof *r);
	pthread_mutex_init(&r->lock, NULL);
	r->dev = dev;
	r->id = id;
	if (pthread_create(&r->thread, NULL, s_read_main, r) != 0)
		r->done = true, r->result = -EAGAIN;
}

static bool s_done(s_reader *r)
{
	pthread_mutex_lock(&r->lock);
	bool done = r->done;
	pthread_mutex_unlock(&r->lock);
	return done;
}

/* Waits for the read's answer (at most the client's own time limit) and returns it. */
static ssize_t s_read_end(s_reader *r)
{
	pthread_join(r->thread, NULL);
	pthread_mutex_destroy(&r->lock);
	return r->result;
}

/* True when r is still unanswered after S_QUIET_MS. */
static bool s_waits(s_reader *r)
{
	usleep(S_QUIET_MS * 1000);
	return !s_done(r);
}

static ssize_t s_write(plx_cdev *dev, const char *text)
{
	return plx_cdev_write(dev, 0, 0, text, strlen(text), 0, 0);
}

static ssize_t s_read_now(plx_cdev *dev, char *buf, size_t size, uint32_t flags)
{
	ssize_t n = plx_cdev_read(dev, 0, 0, buf, size - 1, flags, 0, NULL);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

/* What a pipe does without waiting: bytes in order, taken once; no wait when asked not to. */
static void s_check_data(lab_harness *h, plx_cdev *dev)
{
	char buf[64];
	lab_check(h, "write-read",
	          s_write(dev, "abc") == 3 && s_write(dev, "def") == 3 &&
	              s_read_now(dev, buf, 5, 0) == 4 && strcmp(buf, "abcd") == 0,
	          "two writes then a read of 4 bytes must give the first 4 bytes written");
	lab_check(h, "read-takes",
	          s_read_now(dev, buf, sizeof buf, 0) == 2 && strcmp(buf, "ef") == 0,
	          "a read takes the bytes it returns: the next read gets what is left");
	lab_check(h, "nonblock",
	          s_read_now(dev, buf, sizeof buf, PLEXUS__CDEV_FLAG__CDEV_NONBLOCK) == -EAGAIN,
	          "with nothing to read, a read with CDEV_NONBLOCK must fail -EAGAIN at once "
	          "(plx_cdev_req_suspend returns it)");
}

/* Reads that wait for writes, in the order they came; a cancelled one gets -EINTR. */
static void s_check_waiting(lab_harness *h, plx_cdev *dev)
{
	s_reader a, b, c;
	s_read_start(&a, dev, 1);
	bool waits = s_waits(&a);
	lab_check(h, "read-waits", waits,
	          "a read with nothing to read must wait: plx_cdev_req_suspend, then return "
	          "PLX_SUSPEND");
	s_read_start(&b, dev, 2);
	usleep(50 * 1000); /* b is queued after a */
	s_write(dev, "one");
	bool woke = s_read_end(&a) == 3 && strcmp(a.buf, "one") == 0;
	lab_check(h, "write-wakes", waits && woke,
	          "a write must answer the read that waits with its bytes: plx_chardriver_next, "
	          "then plx_cdev_req_reply");
	bool b_waits = s_waits(&b);
	s_write(dev, "two");
	ssize_t rb = s_read_end(&b);
	lab_check(h, "in-order", waits && b_waits && rb == 3 && strcmp(b.buf, "two") == 0,
	          "with two reads waiting, the first write goes to the first read only, the "
	          "next write to the second");
	s_read_start(&c, dev, 3);
	bool c_waits = s_waits(&c);
	int cancel = plx_cdev_cancel(dev, 0, 3);
	ssize_t rc = s_read_end(&c);
	lab_check(h, "cancel", c_waits && cancel == 0 && rc == -EINTR,
	          "a waiting read that is cancelled must end -EINTR (the library does it for a "
	          "suspended request)");
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: plexus-lab-check-4 DRIVER\n");
		return EX_USAGE;
	}
	lab_harness *h = lab_harness_new(argv[1]);
	if (!h)
		return EX_UNAVAILABLE;
	plx_register_types(&plexus__cdev_type__descriptor);
	if (lab_check(h, "starts", lab_start(h, NULL) == 0,
	              "the driver did not publish its endpoint; see its output below")) {
		plx_cdev *dev = plx_cdev_new(lab_harness_ep(h), lab_harness_label(h), LAB_TIMEOUT);
		s_check_data(h, dev);
		s_check_waiting(h, dev);
		char buf[16];
		lab_check(h, "alive",
		          lab_running(h) && s_write(dev, "z") == 1 &&
		              s_read_now(dev, buf, sizeof buf, 0) == 1,
		          "the driver must still run and answer at the end");
		plx_cdev_destroy(&dev);
	} else
		fprintf(stderr, "%s", lab_log(h));
	return lab_harness_destroy(&h) ? 1 : 0;
}
