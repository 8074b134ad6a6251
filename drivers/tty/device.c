/*
 * device.c — the terminal driver's callbacks: minors, reads and writes that wait, ioctls,
 * select.
 *
 * Entry points: ttydev_ops, ttys_wake.
 *
 * A read on a terminal with nothing to read, a read on a master whose slave wrote nothing, and
 * a slave's write while its master's buffer is full are suspended (plx_cdev_req_suspend) under
 * the lock; ttys_wake answers them when the other side has acted, and reports the readiness
 * that select asked to hear about.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tty.h"

#include "plexus/proto/cdev.pb-c.h"

#define S_READ  PLEXUS__CDEV_TYPE__CDEV_READ
#define S_WRITE PLEXUS__CDEV_TYPE__CDEV_WRITE
#define S_RD    PLEXUS__CDEV_SEL_OP__CDEV_SEL_RD
#define S_WR    PLEXUS__CDEV_SEL_OP__CDEV_SEL_WR

typedef enum s_role { S_NONE, S_CONSOLE, S_SLAVE, S_MASTER } s_role;

/* What minor is; *k is the pty's number (-1 for the console). */
static s_role s_which(const ttys *self, uint32_t minor, int *k)
{
	*k = -1;
	if (minor == TTY_CONSOLE)
		return S_CONSOLE;
	if (minor >= TTY_MASTER_BASE && minor < TTY_MASTER_BASE + (uint32_t)self->nptys) {
		*k = (int)(minor - TTY_MASTER_BASE);
		return S_MASTER;
	}
	if (minor >= TTY_SLAVE_BASE && minor < TTY_SLAVE_BASE + (uint32_t)self->nptys) {
		*k = (int)(minor - TTY_SLAVE_BASE);
		return S_SLAVE;
	}
	return S_NONE;
}

static tty *s_tty(ttys *self, int k)
{
	return k < 0 ? &self->console : &self->ptys[k];
}

static bool s_exists(void *arg, uint32_t minor)
{
	int k;
	return s_which(arg, minor, &k) != S_NONE;
}

/* A read from the terminal side (console, slave) or the master side, into buf. Returns the
 * count, or -1 when it has to wait. Under the lock. */
static ssize_t s_take(tty *t, s_role role, char *buf, size_t size)
{
	if (role == S_MASTER)
		return t->out.len > 0 ? (ssize_t)ttybuf_get(&t->out, buf, size) : -1;
	return tty_readable(t) ? (ssize_t)tty_read(t, buf, size) : -1;
}

/* True when a read on that side would return at once. */
static bool s_ready(const tty *t, s_role role)
{
	return role == S_MASTER ? t->out.len > 0 : tty_readable(t);
}

/* Suspends req; returns PLX_SUSPEND or the error to answer with (-EAGAIN: CDEV_NONBLOCK). */
static int s_suspend(plx_cdev_req *req)
{
	int rc = plx_cdev_req_suspend(req);
	return rc < 0 ? rc : PLX_SUSPEND;
}

static int s_read(void *arg, plx_cdev_req *req, void *buf, size_t *count)
{
	ttys *self = arg;
	int k;
	s_role role = s_which(self, plx_cdev_req_minor(req), &k);
	pthread_mutex_lock(&self->lock);
	tty *t = s_tty(self, k);
	ssize_t n = s_take(t, role, buf, (size_t)plx_cdev_req_size(req));
	int rc = 0;
	if (n >= 0)
		*count = (size_t)n;
	else
		rc = s_suspend(req);
	if (n >= 0 && role == S_MASTER)
		ttys_wake(self, k); /* room for the slave's writes */
	pthread_mutex_unlock(&self->lock);
	return rc;
}

static int s_write(void *arg, plx_cdev_req *req, const void *data, size_t *count)
{
	ttys *self = arg;
	int k;
	s_role role = s_which(self, plx_cdev_req_minor(req), &k);
	size_t size = (size_t)plx_cdev_req_size(req);
	int rc = 0;
	pthread_mutex_lock(&self->lock);
	tty *t = s_tty(self, k);
	if (role == S_MASTER) {
		tty_input(t, data, size); /* typed at the slave; what does not fit is lost */
		*count = size;
	} else if (role == S_SLAVE && ttybuf_space(&t->out) == 0) {
		rc = s_suspend(req);
	} else {
		*count = tty_output(t, data, size);
	}
	if (rc == 0)
		ttys_wake(self, k);
	pthread_mutex_unlock(&self->lock);
	return rc;
}

/* Answers the reads on minor that can now be answered. */
static void s_wake_reads(ttys *self, tty *t, uint32_t minor, s_role role)
{
	plx_cdev_req *req;
	char buf[TTY_BUF_MAX];
	while (s_ready(t, role) && (req = plx_chardriver_next(self->driver, minor, S_READ))) {
		size_t size = (size_t)plx_cdev_req_size(req);
		ssize_t n = s_take(t, role, buf, size < sizeof buf ? size : sizeof buf);
		plx_cdev_req_reply(req, n, buf, (size_t)n);
	}
}

/* Answers a slave's writes that waited for room. */
static void s_wake_writes(ttys *self, tty *t, uint32_t minor)
{
	plx_cdev_req *req;
	while (ttybuf_space(&t->out) > 0 &&
	       (req = plx_chardriver_next(self->driver, minor, S_WRITE))) {
		size_t size;
		const void *data = plx_cdev_req_data(req, &size);
		plx_cdev_req_reply(req, (int64_t)tty_output(t, data, size), NULL, 0);
	}
}

void ttys_wake(ttys *self, int k)
{
	if (!self->driver)
		return;
	tty *t = s_tty(self, k);
	uint32_t term = k < 0 ? TTY_CONSOLE : TTY_SLAVE(k);
	s_wake_reads(self, t, term, k < 0 ? S_CONSOLE : S_SLAVE);
	if (tty_readable(t))
		plx_chardriver_ready(self->driver, term, S_RD);
	if (k < 0)
		return;
	s_wake_reads(self, t, TTY_MASTER(k), S_MASTER);
	s_wake_writes(self, t, term);
	if (t->out.len > 0)
		plx_chardriver_ready(self->driver, TTY_MASTER(k), S_RD);
	if (ttybuf_space(&t->out) > 0)
		plx_chardriver_ready(self->driver, term, S_WR);
}

static int s_ioctl(void *arg, plx_cdev_req *req, uint32_t request, const void *in, size_t in_size,
                   void *out, size_t *out_size)
{
	ttys *self = arg;
	int k;
	if (s_which(self, plx_cdev_req_minor(req), &k) == S_MASTER)
		return -ENOTTY; /* the master is no terminal */
	uint32_t mode;
	int rc = 0;
	pthread_mutex_lock(&self->lock);
	tty *t = s_tty(self, k);
	switch (request) {
	case PLEXUS__CDEV_IOCTL_REQUEST__TTY_GETMODE:
		memcpy(out, &t->mode,
		       sizeof t->mode); /* little-endian hosts only, as the wire says */
		*out_size = sizeof t->mode;
		break;
	case PLEXUS__CDEV_IOCTL_REQUEST__TTY_SETMODE:
		if (in_size != sizeof mode) {
			rc = -EINVAL;
			break;
		}
		memcpy(&mode, in, sizeof mode);
		if (mode & ~(uint32_t)(PLEXUS__TTY_MODE__TTY_CANON | PLEXUS__TTY_MODE__TTY_ECHO))
			rc = -EINVAL;
		else
			tty_set_mode(t, mode), ttys_wake(self, k);
		break;
	case PLEXUS__CDEV_IOCTL_REQUEST__TTY_FLUSH:
		tty_flush(t);
		break;
	default:
		rc = -ENOTTY;
	}
	pthread_mutex_unlock(&self->lock);
	return rc;
}

static uint32_t s_select(void *arg, uint32_t minor, uint32_t ops)
{
	ttys *self = arg;
	int k;
	s_role role = s_which(self, minor, &k);
	uint32_t ready = 0;
	pthread_mutex_lock(&self->lock);
	tty *t = s_tty(self, k);
	if (role == S_MASTER)
		ready = (t->out.len > 0 ? S_RD : 0) | S_WR;
	else if (role == S_SLAVE)
		ready = (tty_readable(t) ? S_RD : 0) | (ttybuf_space(&t->out) > 0 ? S_WR : 0);
	else
		ready = (tty_readable(t) ? S_RD : 0) | S_WR;
	pthread_mutex_unlock(&self->lock);
	return ready & ops;
}

static int s_init(void *arg, plx_service *svc, bool restarted)
{
	(void)svc;
	(void)restarted; /* a terminal's state is its users': nothing is kept across a restart */
	return console_start(arg, ttys_wake);
}

static void s_cleanup(void *arg)
{
	console_stop(arg);
}

const plx_chardriver_ops ttydev_ops = {.exists = s_exists,
                                       .read = s_read,
                                       .write = s_write,
                                       .ioctl = s_ioctl,
                                       .select = s_select,
                                       .init = s_init,
                                       .cleanup = s_cleanup};
