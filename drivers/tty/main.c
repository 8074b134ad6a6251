/*
 * main.c — plexus-tty, the terminal driver: the node console and pseudo-terminals for remote
 * shells (tty.h, line.c, device.c, console.c; docs/drivers.md).
 *
 * Entry points: main.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <plexus/chardriver.h>
#include <plexus/log.h>
#include <plexus/service.h>

#include "tty.h"

typedef struct options {
	const char *console; /* "stdio", "none" or a device path */
	int ptys;
} options;

static options s_o = {.console = "stdio", .ptys = TTY_PTYS_DEFAULT};
static int s_out_fd = -1; /* the console's output */

static int s_option(void *arg, const char *name, const char *value, char *err, size_t size)
{
	(void)arg;
	options *o = &s_o;
	if (strcmp(name, "console") == 0) {
		o->console = value;
		return *value ? 0 : (snprintf(err, size, "--console needs a value"), -EINVAL);
	}
	if (strcmp(name, "ptys") == 0) {
		char *end;
		long n = strtol(value, &end, 10);
		if (end == value || *end || n < 0 || n > TTY_PTYS_MAX) {
			snprintf(err, size, "--ptys: '%s' is no number from 0 to %d", value,
			         TTY_PTYS_MAX);
			return -EINVAL;
		}
		o->ptys = (int)n;
		return 0;
	}
	return -ENOENT;
}

/* Opens the console; sets *in (-1: no input) and *out. Returns 0 or -errno. */
static int s_console(const char *what, int *in, int *out)
{
	if (strcmp(what, "none") == 0) {
		*in = -1;
		*out = open("/dev/null", O_WRONLY | O_CLOEXEC);
	} else if (strcmp(what, "stdio") == 0) {
		*in = dup(0);
		*out = dup(1);
	} else {
		*in = open(what, O_RDWR | O_NOCTTY | O_CLOEXEC);
		*out = *in >= 0 ? dup(*in) : -1;
	}
	return *out < 0 ? -errno : 0;
}

/* Opens the console and makes the terminals. Returns 0 or an exit code with err set. */
static int s_prepare(void *arg, char *err, size_t size)
{
	ttys *self = arg;
	self->nptys = s_o.ptys;
	self->console_in = -1;
	int rc = s_console(s_o.console, &self->console_in, &s_out_fd);
	if (rc < 0) {
		snprintf(err, size, "console %s: %s", s_o.console, strerror(-rc));
		return EX_NOINPUT;
	}
	pthread_mutex_init(&self->lock, NULL);
	tty_init(&self->console, s_out_fd);
	self->ptys = calloc(s_o.ptys ? (size_t)s_o.ptys : 1, sizeof *self->ptys);
	if (!self->ptys)
		return snprintf(err, size, "out of memory"), EX_OSERR;
	for (int k = 0; k < s_o.ptys; k++)
		tty_init(&self->ptys[k], -1);
	return 0;
}

static int s_started(void *arg, plx_service *svc, char *err, size_t size)
{
	(void)arg, (void)svc, (void)err, (void)size;
	plx_log(PLX_LOG_INFO, "console %s, %d pseudo-terminals", s_o.console, s_o.ptys);
	return 0;
}

static void s_cleanup(void *arg)
{
	ttys *self = arg;
	free(self->ptys);
	if (self->console_in >= 0)
		close(self->console_in);
	close(s_out_fd);
	pthread_mutex_destroy(&self->lock);
}

/* --help: what the driver is and its own options (the service options follow). */
static const char s_usage[] =
    "usage: plexus-tty [options]\n\n"
    "The terminal driver: the node console on minor 0 and pseudo-terminal pairs,\n"
    "master 64+k and slave 128+k (docs/drivers.md).\n\n"
    "Driver options:\n"
    "  --console WHAT  stdio (standard input and output, the default), none, or\n"
    "                  the path of a terminal device to read and write\n"
    "  --ptys N        pseudo-terminal pairs, 0 to 64 (default 8)\n"
    "  --help          this text\n\n";

static const plx_service_desc s_desc = {
    .program = "plexus-tty",
    .usage = s_usage,
    .option = s_option,
    .prepare = s_prepare,
    .run = s_started,
    .cleanup = s_cleanup,
};

int main(int argc, char **argv)
{
	static ttys self;
	return plx_chardriver_main(&ttydev_ops, &self, &s_desc, &self.driver, argc, argv);
}
