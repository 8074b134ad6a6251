/*
 * qmp.c — plexus-qmp: a small QEMU Machine Protocol client over QEMU's unix socket
 * (-qmp unix:PATH,server=on,wait=off), for RS's qemu power backend and `plexus up --qemu`.
 * A session reads the greeting, negotiates capabilities and queries the status. A power
 * cycle then sends system_reset (the VM reboots and netboots again) and, for a VM that was
 * paused or stopped, cont; a power-down sends system_powerdown (the ACPI power button: the
 * guest shuts down in its own order). Each answer is one JSON object per line; asynchronous
 * events ({"event": ...}) in between are skipped.
 *
 * Entry points: plx_qmp_reset, plx_qmp_powerdown.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "plexus/qmp.h"

static int64_t s_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct s_conn {
	int fd;
	int64_t deadline; /* monotonic ms */
	char buf[8192];
	size_t len;
	char *msg;
	size_t size;
} s_conn;

static int s_fail(s_conn *c, int rc, const char *fmt, const char *what)
{
	snprintf(c->msg, c->size, fmt, what);
	return rc;
}

/* Reads the next JSON object that is not an event. Returns it (caller decrefs) or NULL with
 * *rc set. */
static json_t *s_read(s_conn *c, int *rc)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		if (nl) {
			*nl = '\0';
			json_t *o = json_loads(c->buf, 0, NULL);
			size_t used = (size_t)(nl - c->buf) + 1;
			memmove(c->buf, nl + 1, c->len - used);
			c->len -= used;
			if (!o) {
				*rc = -EBADMSG;
				return NULL;
			}
			if (json_object_get(o, "event")) {
				json_decref(o);
				continue;
			}
			return o;
		}
		if (c->len == sizeof c->buf) {
			*rc = -EMSGSIZE;
			return NULL;
		}
		int left = (int)(c->deadline - s_mono_ms());
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		int n = left > 0 ? poll(&p, 1, left) : 0;
		if (n <= 0) {
			*rc = n == 0 ? -ETIMEDOUT : -errno;
			return NULL;
		}
		ssize_t r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
		if (r <= 0) {
			*rc = r == 0 ? -ECONNRESET : -errno;
			return NULL;
		}
		c->len += (size_t)r;
	}
}

/* Sends {"execute": cmd} and reads its answer. Returns the "return" value (caller decrefs) or
 * NULL with *rc (-EIO for an "error" answer, with msg). */
static json_t *s_execute(s_conn *c, const char *cmd, int *rc)
{
	char line[128];
	int n = snprintf(line, sizeof line, "{\"execute\": \"%s\"}\n", cmd);
	if (send(c->fd, line, (size_t)n, MSG_NOSIGNAL) != n) {
		*rc = errno ? -errno : -EIO;
		s_fail(c, *rc, "QMP %s: write failed", cmd);
		return NULL;
	}
	json_t *o = s_read(c, rc);
	if (!o) {
		snprintf(c->msg, c->size, "QMP %s: %s", cmd, strerror(-*rc));
		return NULL;
	}
	json_t *ret = json_object_get(o, "return");
	if (!ret) {
		json_t *desc = json_object_get(json_object_get(o, "error"), "desc");
		snprintf(c->msg, c->size, "QMP %s: %s", cmd,
		         json_is_string(desc) ? json_string_value(desc) : "no return");
		json_decref(o);
		*rc = -EIO;
		return NULL;
	}
	json_incref(ret);
	json_decref(o);
	return ret;
}

static int s_connect(s_conn *c, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path)
		return s_fail(c, -ENAMETOOLONG, "QMP socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int e = errno;
		snprintf(c->msg, c->size, "QMP %s: %s", path, strerror(e));
		return -e;
	}
	return 0;
}

/* Connects, negotiates and queries the status: *running and status (size 32). */
static int s_session(s_conn *c, const char *path, bool *running, char *status)
{
	int rc = s_connect(c, path);
	if (rc < 0)
		return rc;
	json_t *greeting = s_read(c, &rc);
	bool ok = greeting && json_object_get(greeting, "QMP");
	json_decref(greeting);
	if (!ok)
		return s_fail(c, rc < 0 ? rc : -EPROTO, "QMP %s: no greeting", path);
	json_t *r = s_execute(c, "qmp_capabilities", &rc);
	if (!r)
		return rc;
	json_decref(r);
	json_t *st = s_execute(c, "query-status", &rc);
	if (!st)
		return rc;
	json_t *s = json_object_get(st, "status");
	snprintf(status, 32, "%s", json_is_string(s) ? json_string_value(s) : "?");
	*running = json_is_true(json_object_get(st, "running"));
	json_decref(st);
	return 0;
}

/* Runs one command; 0 or its error. */
static int s_command(s_conn *c, const char *cmd)
{
	int rc;
	json_t *r = s_execute(c, cmd, &rc);
	json_decref(r);
	return r ? 0 : rc;
}

static int s_reset(s_conn *c, const char *path)
{
	bool running;
	char status[32];
	int rc = s_session(c, path, &running, status);
	if (rc == 0)
		rc = s_command(c, "system_reset");
	if (rc == 0 && !running)
		rc = s_command(c, "cont");
	if (rc == 0)
		snprintf(c->msg, c->size, "QMP %s: system_reset (the VM was %s)%s", path, status,
		         running ? "" : ", cont");
	return rc;
}

static int s_powerdown(s_conn *c, const char *path)
{
	bool running;
	char status[32];
	int rc = s_session(c, path, &running, status);
	if (rc == 0 && !running)
		return s_fail(c, -EAGAIN, "QMP %s: the VM is not running (nothing to shut down)",
		              path);
	if (rc == 0)
		rc = s_command(c, "system_powerdown");
	if (rc == 0)
		snprintf(c->msg, c->size, "QMP %s: system_powerdown", path);
	return rc;
}

/* One session of fn on a fresh connection. */
static int s_run(int (*fn)(s_conn *, const char *), const char *path, int timeout_ms, char *msg,
                 size_t size)
{
	s_conn *c = calloc(1, sizeof *c);
	if (!c)
		return -ENOMEM;
	c->fd = -1;
	c->deadline = s_mono_ms() + timeout_ms;
	c->msg = msg;
	c->size = size;
	int rc = fn(c, path);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	return rc;
}

int plx_qmp_reset(const char *path, int timeout_ms, char *msg, size_t size)
{
	return s_run(s_reset, path, timeout_ms, msg, size);
}

int plx_qmp_powerdown(const char *path, int timeout_ms, char *msg, size_t size)
{
	return s_run(s_powerdown, path, timeout_ms, msg, size);
}
