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
#include <plexus/log.h>
#include <plexus/service.h>

#include "vdisk.h"

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

/* Checks the options and opens the image. Returns 0 or an exit code with err set. */
static int s_prepare(void *arg, char *err, size_t size)
{
	vdisk *v = arg;
	if (!v->path[0])
		return snprintf(err, size, "--image PATH is required"), EX_USAGE;
	int rc = vdisk_open(v);
	if (rc < 0) {
		snprintf(err, size, "%s: %s", v->path, strerror(-rc));
		return rc == -ENOENT ? EX_NOINPUT : EX_OSERR;
	}
	return 0;
}

static int s_started(void *arg, plx_service *svc, char *err, size_t size)
{
	(void)err, (void)size;
	vdisk *v = arg;
	plx_log(PLX_LOG_INFO, "%s, %llu bytes, sector %u%s%s (%s start)", v->path,
	        (unsigned long long)v->size, v->sector_size, v->direct ? ", O_DIRECT" : "",
	        v->read_only ? ", read-only" : "",
	        plx_service_restarted(svc) ? "restart" : "fresh");
	return 0;
}

/* Closes the image if the driver did not (its cleanup runs when the driver ran). */
static void s_cleanup(void *arg)
{
	vdisk_ops.cleanup(arg);
}

static const char *const s_flags[] = {"direct", "read-only", NULL};

static const plx_service_desc s_desc = {
    .program = "plexus-vdisk",
    .usage = "usage: plexus-vdisk --image PATH [options]\n\n"
             "A block driver (BDEV, docs/drivers.md) over a disk image file or a block device;\n"
             "minor 0 is the whole image.\n\n"
             "Driver options:\n"
             "  --image PATH        the image file or block device (required)\n"
             "  --direct            open it with O_DIRECT (no page cache; I/O through an\n"
             "                      aligned bounce buffer; the sector size defaults to 4096)\n"
             "  --read-only         open it read-only: writes are refused with EROFS\n"
             "  --sector-size N     the sector size: a power of two, 512..65536 (default 512)\n"
             "  --help              this text\n\n",
    .flags = s_flags,
    .option = s_option,
    .prepare = s_prepare,
    .run = s_started,
    .cleanup = s_cleanup,
};

int main(int argc, char **argv)
{
	vdisk *v = calloc(1, sizeof *v);
	if (!v)
		return EX_OSERR;
	v->fd = -1;
	int code = plx_blockdriver_main(&vdisk_ops, v, &s_desc, argc, argv);
	free(v);
	return code;
}
