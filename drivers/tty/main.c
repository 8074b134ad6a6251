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
#include <plexus/service.h>

#include "tty.h"

typedef struct options {
	const char *console; /* "stdio", "none" or a device path */
	int ptys;
} options;

static void s_usage(FILE *out)
{
	fprintf(out, "usage: plexus-tty [options]\n\n"
	             "The terminal driver: the node console on minor 0 and pseudo-terminal pairs,\n"
	             "master 64+k and slave 128+k (docs/drivers.md).\n\n"
	             "Driver options:\n"
	             "  --console WHAT  stdio (standard input and output, the default), none, or\n"
	             "                  the path of a terminal device to read and write\n"
	             "  --ptys N        pseudo-terminal pairs, 0 to 64 (default 8)\n"
	             "  --help          this text\n\n");
	plx_service_usage(out);
}

static int s_option(void *arg, const char *name, const char *value, char *err, size_t size)
{
	options *o = arg;
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

int main(int argc, char **argv)
{
	char err[1024];
	plx_service_cfg cfg;
	plx_service_cfg_init(&cfg);
	if (plx_service_cfg_env(&cfg, err, sizeof err) < 0) {
		fprintf(stderr, "plexus-tty: %s\n", err);
		return EX_CONFIG;
	}
	options o = {.console = "stdio", .ptys = TTY_PTYS_DEFAULT};
	int rc = plx_service_args(&cfg, argc, argv, NULL, s_option, &o, err, sizeof err);
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "plexus-tty: %s\n", err);
		s_usage(rc < 0 ? stderr : stdout);
		return rc < 0 ? EX_USAGE : EX_OK;
	}
	ttys self = {.nptys = o.ptys, .console_in = -1};
	int out_fd = -1;
	if ((rc = s_console(o.console, &self.console_in, &out_fd)) < 0) {
		fprintf(stderr, "plexus-tty: console %s: %s\n", o.console, strerror(-rc));
		return EX_NOINPUT;
	}
	pthread_mutex_init(&self.lock, NULL);
	tty_init(&self.console, out_fd);
	self.ptys = calloc(o.ptys ? (size_t)o.ptys : 1, sizeof *self.ptys);
	for (int k = 0; self.ptys && k < o.ptys; k++)
		tty_init(&self.ptys[k], -1);
	plx_service *svc = self.ptys ? plx_service_new(&cfg, err, sizeof err) : NULL;
	if (!svc) {
		fprintf(stderr, "plexus-tty: %s\n", self.ptys ? err : "out of memory");
		return !self.ptys ? EX_OSERR : errno == EINVAL ? EX_USAGE : EX_UNAVAILABLE;
	}
	fprintf(stderr, "plexus-tty: %s: console %s, %d pseudo-terminals\n", cfg.label, o.console,
	        o.ptys);
	rc = plx_chardriver_task(&ttydev_ops, &self, svc, &self.driver, err, sizeof err);
	plx_service_destroy(&svc);
	free(self.ptys);
	if (self.console_in >= 0)
		close(self.console_in);
	close(out_fd);
	pthread_mutex_destroy(&self.lock);
	if (rc < 0) {
		fprintf(stderr, "plexus-tty: %s\n", err);
		return EX_SOFTWARE;
	}
	return EX_OK;
}
