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
#include <plexus/service.h>

#include "log.h"

typedef struct options {
	size_t size;
	const char *file;
} options;

static void s_usage(FILE *out)
{
	fprintf(out, "usage: plexus-log [options]\n\n"
	             "The cluster log: a character device (minor 0) whose writes append lines\n"
	             "stamped with the time and the writer, and whose reads return them from a\n"
	             "position on (docs/drivers.md).\n\n"
	             "Driver options:\n"
	             "  --size BYTES   how much of the log to keep (default 1M; suffix K, M, G;\n"
	             "                 at most 1G); the oldest lines go first\n"
	             "  --file PATH    append every line to this file as well\n"
	             "  --help         this text\n\n");
	plx_service_usage(out);
}

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
	options *o = arg;
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

int main(int argc, char **argv)
{
	char err[1024];
	plx_service_cfg cfg;
	plx_service_cfg_init(&cfg);
	if (plx_service_cfg_env(&cfg, err, sizeof err) < 0) {
		fprintf(stderr, "plexus-log: %s\n", err);
		return EX_CONFIG;
	}
	options o = {.size = LOG_SIZE_DEFAULT};
	int rc = plx_service_args(&cfg, argc, argv, NULL, s_option, &o, err, sizeof err);
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "plexus-log: %s\n", err);
		s_usage(rc < 0 ? stderr : stdout);
		return rc < 0 ? EX_USAGE : EX_OK;
	}
	FILE *file = o.file ? fopen(o.file, "a") : NULL;
	if (o.file && !file) {
		fprintf(stderr, "plexus-log: %s: %s\n", o.file, strerror(errno));
		return EX_CANTCREAT;
	}
	logdev dev = {.log = logbuf_new(o.size, file)};
	if (!dev.log) {
		if (file)
			fclose(file);
		return EX_OSERR;
	}
	plx_service *svc = plx_service_new(&cfg, err, sizeof err);
	if (!svc) {
		fprintf(stderr, "plexus-log: %s\n", err);
		logbuf_destroy(&dev.log);
		return errno == EINVAL ? EX_USAGE : EX_UNAVAILABLE;
	}
	fprintf(stderr, "plexus-log: %s keeping %zu bytes%s%s\n", cfg.label, o.size,
	        o.file ? ", copying to " : "", o.file ? o.file : "");
	rc = plx_chardriver_task(&logdev_ops, &dev, svc, &dev.driver, err, sizeof err);
	plx_service_destroy(&svc);
	logbuf_destroy(&dev.log);
	if (rc < 0) {
		fprintf(stderr, "plexus-log: %s\n", err);
		return EX_SOFTWARE;
	}
	return EX_OK;
}
