/*
 * main.c — plexus-log, the cluster log device: any service or command on any node writes
 * lines to it, and readers see them timestamped and labelled with the writer (logbuf.c,
 * device.c; docs/drivers.md).
 *
 * Entry points: main.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <plexus/chardriver.h>
#include <plexus/log.h>
#include <plexus/service.h>

#include "log.h"

typedef struct options {
	size_t size;
	const char *file;
} options;

static options s_o = {.size = LOG_SIZE_DEFAULT};

/* Parses BYTES with an optional K, M or G suffix. Returns 0 or -EINVAL. */
static int s_size(const char *text, size_t *size)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	unsigned long long unit = 1;
	if (*end == 'K' || *end == 'k')
		unit = 1024, end++;
	else if (*end == 'M' || *end == 'm')
		unit = 1024 * 1024, end++;
	else if (*end == 'G' || *end == 'g')
		unit = 1024 * 1024 * 1024, end++;
	if (errno || end == text || *end || *text == '-' || v == 0 || v > LOG_SIZE_MAX / unit)
		return -EINVAL;
	*size = (size_t)(v * unit);
	return 0;
}

static int s_option(void *arg, const char *name, const char *value, char *err, size_t size)
{
	(void)arg;
	options *o = &s_o;
	if (strcmp(name, "size") == 0) {
		if (s_size(value, &o->size) < 0 || o->size < LOG_LINE_MAX + 256) {
			snprintf(err, size, "--size: '%s' is no size from 5K to 1G", value);
			return -EINVAL;
		}
		return 0;
	}
	if (strcmp(name, "file") == 0) {
		o->file = value;
		return *value ? 0 : (snprintf(err, size, "--file needs a path"), -EINVAL);
	}
	return -ENOENT;
}

/* Opens the copy and makes the log. Returns 0 or an exit code with err set. */
static int s_prepare(void *arg, char *err, size_t size)
{
	logdev *dev = arg;
	FILE *file = s_o.file ? fopen(s_o.file, "a") : NULL;
	if (s_o.file && !file) {
		snprintf(err, size, "%s: %s", s_o.file, strerror(errno));
		return EX_CANTCREAT;
	}
	dev->log = logbuf_new(s_o.size, file);
	if (!dev->log) {
		if (file)
			fclose(file);
		return EX_OSERR;
	}
	return 0;
}

static int s_started(void *arg, plx_service *svc, char *err, size_t size)
{
	(void)arg, (void)svc, (void)err, (void)size;
	plx_log(PLX_LOG_INFO, "keeping %zu bytes%s%s", s_o.size, s_o.file ? ", copying to " : "",
	        s_o.file ? s_o.file : "");
	return 0;
}

static void s_cleanup(void *arg)
{
	logdev *dev = arg;
	logbuf_destroy(&dev->log);
}

static const plx_service_desc s_desc = {
    .program = "plexus-log",
    .usage = "usage: plexus-log [options]\n\n"
             "The cluster log: a character device (minor 0) whose writes append lines\n"
             "stamped with the time and the writer, and whose reads return them from a\n"
             "position on (docs/drivers.md).\n\n"
             "Driver options:\n"
             "  --size BYTES   how much of the log to keep (default 1M; suffix K, M, G;\n"
             "                 at most 1G); the oldest lines go first\n"
             "  --file PATH    append every line to this file as well\n"
             "  --help         this text\n\n",
    .option = s_option,
    .prepare = s_prepare,
    .run = s_started,
    .cleanup = s_cleanup,
};

int main(int argc, char **argv)
{
	static logdev dev;
	return plx_chardriver_main(&logdev_ops, &dev, &s_desc, &dev.driver, argc, argv);
}
