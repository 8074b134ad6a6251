/*
 * chartest.h — checks of the character drivers that the local test (test-chardriver) and the
 * multi-node test (test-chardriver-netns) both run, each against a driver reached from an
 * endpoint of the test's own. cmocka assertions; a failure fails the calling test.
 *
 * Entry points: chartest_ping, chartest_memory, chartest_hello_read, chartest_tty_lines,
 * chartest_tty_deferred, chartest_tty_cancel, chartest_bad_requests, chartest_select,
 * chartest_log, chartest_read_async, chartest_read_wait.
 */
#ifndef PLEXUS_CHARTEST_H
#define PLEXUS_CHARTEST_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <plexus/cdev.h>
#include <plexus/transport.h>

#define CHARTEST_TIMEOUT 10000 /* ms: every wait of these checks */

/* A read running in a thread of its own, as a blocked client would. */
typedef struct chartest_read {
	pthread_t thread;
	plx_cdev *dev;
	uint32_t minor;
	uint64_t position;
	uint32_t flags;
	uint64_t id;
	char buf[4096];
	ssize_t result;
	bool done; /* guarded by lock */
	pthread_mutex_t lock;
} chartest_read;

/* Starts r's read of minor on dev (which must outlive it). */
void chartest_read_async(chartest_read *r, plx_cdev *dev, uint32_t minor, uint64_t position,
                         uint64_t id);
/* True when the read has been answered. */
bool chartest_read_done(chartest_read *r);
/* Waits up to CHARTEST_TIMEOUT for the read to end, joins it and returns its result. */
ssize_t chartest_read_wait(chartest_read *r);

/* IPC_PING is answered with its sequence number: the loop is alive (RS's heartbeat). */
void chartest_ping(plx_ep *ep, const char *label);
/* plexus-memory's null, zero, full and random; minors it has not -> -ENXIO. */
void chartest_memory(plx_ep *ep, const char *label);
/* plexus-hello's read at positions, and what it does not do. */
void chartest_hello_read(plx_ep *ep, const char *label);
/* plexus-tty pty pair k: a line typed at the master reaches the slave and is echoed to the
 * master; erase, kill, EOF; raw mode by ioctl; the slave's output reaches the master. */
void chartest_tty_lines(plx_ep *ep, const char *label, int k);
/* A slave read with no input waits, and is answered when the master writes. */
void chartest_tty_deferred(plx_ep *ep, const char *label, int k);
/* A waiting read cancelled is answered -EINTR; a second cancel -ENOENT; CDEV_NONBLOCK -EAGAIN. */
void chartest_tty_cancel(plx_ep *ep, const char *label, int k);
/* Bad minors, flags, sizes, frames, ioctls and bodies get their defined errors. */
void chartest_bad_requests(plx_ep *ep, const char *tty_label);
/* Several selects in flight over a tty (two pty pairs, k and k+1) and a log: each later
 * CDEV_SEL2_REPLY names its driver, minor and id, only the ready ones come, none twice. ep
 * must be bound, published and owned by the calling thread (it receives the reports). */
void chartest_select(plx_ep *ep, const char *tty_label, const char *log_label, int k);
/* plexus-log: lines from the writer, timestamped; reads by position; a read at the end waits
 * for the next line; CDEV_NONBLOCK at the end -EAGAIN. */
void chartest_log(plx_ep *ep, const char *label);

#endif
