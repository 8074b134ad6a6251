/*
 * main.c — plexus-vdisk: a block driver over a disk image file or a real block device (a
 * node's /dev/vda), with O_DIRECT and read-only options (disk.c does the I/O).
 *
 * Entry points: main.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <plexus/blockdriver.h>
#include <plexus/service.h>

#include "vdisk.h"

static void s_usage(FILE *out)
{
	fprintf(out,
	        "usage: plexus-vdisk --image PATH [options]\n\n"
	        "A block driver (BDEV, docs/drivers.md) over a disk image file or a block device;\n"
	        "minor 0 is the whole image.\n\n"
	        "Driver options:\n"
	        "  --image PATH        the image file or block device (required)\n"
	        "  --direct            open it with O_DIRECT (no page cache; I/O through an\n"
	        "                      aligned bounce buffer; the sector size defaults to 4096)\n"
	        "  --read-only         open it read-only: writes are refused with EROFS\n"
	        "  --sector-size N     the sector size: a power of two, 512..65536 (default 512)\n"
	        "  --help              this text\n\n");
	plx_service_usage(out);
}

static int s_option(void *arg, const char *name, const char *value, char *err, size_t size)
{
	vdisk *v = arg;
	if (strcmp(name, "image") == 0) {
		if (!*value || strlen(value) >= sizeof v->path) {
			snprintf(err, size, "bad --image '%s': want a path", value);
			return -EINVAL;
		}
		snprintf(v->path, sizeof v->path, "%s", value);
		return 0;
	}
	if (strcmp(name, "direct") == 0 || strcmp(name, "read-only") == 0) {
		if (*value) {
			snprintf(err, size, "--%s takes no value", name);
			return -EINVAL;
		}
		*(name[0] == 'd' ? &v->direct : &v->read_only) = true;
		return 0;
	}
	if (strcmp(name, "sector-size") == 0) {
		char *end;
		unsigned long n = strtoul(value, &end, 10);
		if (*value == '-' || end == value || *end || n < 512 || n > 65536 ||
		    (n & (n - 1))) {
			snprintf(err, size,
			         "bad --sector-size '%s': want a power of two, 512..65536", value);
			return -EINVAL;
		}
		v->sector_size = (uint32_t)n;
		return 0;
	}
	return -ENOENT;
}

static int s_fail(vdisk *v, int code, const char *text)
{
	fprintf(stderr, "plexus-vdisk: %s\n", text);
	if (code == EX_USAGE)
		s_usage(stderr);
	free(v);
	return code;
}

int main(int argc, char **argv)
{
	static const char *const flags[] = {"direct", "read-only", NULL};
	char err[PATH_MAX + 1024];
	plx_service_cfg cfg;
	plx_service_cfg_init(&cfg);
	vdisk *v = calloc(1, sizeof *v);
	if (!v)
		return EX_OSERR;
	v->fd = -1;
	if (plx_service_cfg_env(&cfg, err, sizeof err) < 0)
		return s_fail(v, EX_CONFIG, err);
	int rc = plx_service_args(&cfg, argc, argv, flags, s_option, v, err, sizeof err);
	if (rc < 0)
		return s_fail(v, EX_USAGE, err);
	if (rc == 1) {
		s_usage(stdout);
		free(v);
		return EX_OK;
	}
	if (!v->path[0])
		return s_fail(v, EX_USAGE, "--image PATH is required");
	if ((rc = vdisk_open(v)) < 0) {
		snprintf(err, sizeof err, "%s: %s", v->path, strerror(-rc));
		return s_fail(v, rc == -ENOENT ? EX_NOINPUT : EX_OSERR, err);
	}
	plx_service *svc = plx_service_new(&cfg, err, sizeof err);
	if (!svc) {
		int code = errno == EINVAL ? EX_USAGE : EX_UNAVAILABLE;
		vdisk_ops.cleanup(v);
		return s_fail(v, code, err);
	}
	fprintf(stderr, "plexus-vdisk: %s, %llu bytes, sector %u%s%s (%s start)\n", v->path,
	        (unsigned long long)v->size, v->sector_size, v->direct ? ", O_DIRECT" : "",
	        v->read_only ? ", read-only" : "",
	        plx_service_restarted(svc) ? "restart" : "fresh");
	rc = plx_blockdriver_task(&vdisk_ops, v, svc, err, sizeof err);
	plx_service_destroy(&svc);
	free(v);
	if (rc < 0) {
		fprintf(stderr, "plexus-vdisk: %s\n", err);
		return EX_SOFTWARE;
	}
	fprintf(stderr, "plexus-vdisk: stopped\n");
	return EX_OK;
}
