/*
 * main.c — plexus-memory, MINIX's memory driver: RAM disks as block devices (ramdisk.c) and
 * null, zero, full and random as character devices (chardevs.c).
 *
 * Entry points: main.
 *
 * One server answers every device family the driver has: its table is the block library's
 * handlers followed by any other family's (s_table), and each library is tied to the server
 * so its handlers find their devices. Then the usual life of a service: start (fresh or
 * restart), publish the endpoint, announce drv.blk.<label> and drv.chr.<label>, run until
 * IPC_SHUTDOWN or SIGTERM.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <plexus/blockdriver.h>
#include <plexus/chardriver.h>
#include <plexus/service.h>

#include "chardevs.h"
#include "memory.h"

#define S_TABLE_MAX 64

static void s_usage(FILE *out)
{
	fprintf(out,
	        "usage: plexus-memory [options]\n\n"
	        "MINIX's memory driver: RAM disks as block devices (BDEV), and null (minor 3),\n"
	        "zero (5), full (7), random (8) as character devices (docs/drivers.md).\n\n"
	        "Driver options:\n"
	        "  --ramdisk MINOR:SIZE[:IMAGE]\n"
	        "                        a RAM disk on block minor MINOR (0..255) of SIZE bytes\n"
	        "                        (suffix K, M, G or T; a multiple of 512; at most 1T);\n"
	        "                        repeat for more disks. Memory is taken only as the\n"
	        "                        disk is written. IMAGE: a new disk (a fresh start, or\n"
	        "                        a start on another node) begins with that file's\n"
	        "                        bytes, as a boot image fills MINIX's RAM disk.\n"
	        "  --help                this text\n\n");
	plx_service_usage(out);
}

static int s_option(void *arg, const char *name, const char *value, char *err, size_t size)
{
	if (strcmp(name, "ramdisk") == 0)
		return ramdisks_add(arg, value, err, size) < 0 ? -EINVAL : 0;
	return -ENOENT;
}

/* The block handlers and, after them, any other family's. Returns the count. */
static size_t s_table(plx_handler *table)
{
	size_t n, count = 0;
	const plx_handler *blk = plx_blockdriver_handlers(&n);
	memcpy(table + count, blk, n * sizeof *blk);
	count += n;
	const plx_handler *chr = plx_chardriver_handlers(&n);
	memcpy(table + count, chr, n * sizeof *chr);
	count += n;
	return count;
}

/* Starts, publishes, announces and runs; returns 0 or a negative errno, err saying why. */
static int s_serve(plx_service *svc, plx_blockdriver *blk, plx_chardriver *chr, char *err,
                   size_t size)
{
	static plx_handler table[S_TABLE_MAX];
	size_t n = s_table(table);
	plx_server *srv = plx_server_new(plx_service_ep(svc), table, n, NULL);
	int rc = srv ? plx_blockdriver_attach(blk, srv) : -errno;
	if (rc == 0)
		rc = plx_chardriver_attach(chr, srv);
	const char *step = "server";
	if (rc == 0 && (step = "start", rc = plx_blockdriver_start(blk, svc)) == 0 &&
	    (rc = plx_chardriver_start(chr, svc)) == 0 &&
	    (step = "publishing the endpoint", rc = plx_service_publish(svc, "up")) == 0 &&
	    (step = "announcing drv.blk", rc = plx_blockdriver_announce(blk, svc)) == 0 &&
	    (step = "announcing drv.chr", rc = plx_chardriver_announce(chr, svc)) == 0) {
		fprintf(stderr, "plexus-memory: %s/%llu serving at %s (%s start)\n",
		        plx_service_config(svc)->label,
		        (unsigned long long)plx_ep_name(plx_service_ep(svc))->generation,
		        plx_ep_address(plx_service_ep(svc)),
		        plx_service_restarted(svc) ? "restart" : "fresh");
		step = "message loop";
		rc = plx_service_run(svc, srv);
	}
	if (rc < 0)
		snprintf(err, size, "%s: %s", step, plx_strerror(rc));
	plx_chardriver_abort(chr, -EIO);
	plx_server_destroy(&srv);
	return rc;
}

int main(int argc, char **argv)
{
	char err[1024];
	plx_service_cfg cfg;
	plx_service_cfg_init(&cfg);
	ramdisks *disks = ramdisks_new();
	if (!disks)
		return EX_OSERR;
	int rc = plx_service_cfg_env(&cfg, err, sizeof err);
	if (rc < 0) {
		fprintf(stderr, "plexus-memory: %s\n", err);
		ramdisks_destroy(&disks);
		return EX_CONFIG;
	}
	rc = plx_service_args(&cfg, argc, argv, NULL, s_option, disks, err, sizeof err);
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "plexus-memory: %s\n", err);
		s_usage(rc < 0 ? stderr : stdout);
		ramdisks_destroy(&disks);
		return rc < 0 ? EX_USAGE : EX_OK;
	}
	if ((rc = ramdisks_map(disks, err, sizeof err)) < 0) {
		fprintf(stderr, "plexus-memory: %s\n", err);
		ramdisks_destroy(&disks);
		return rc == -ENOENT ? EX_NOINPUT : EX_OSERR;
	}
	plx_blockdriver *blk = plx_blockdriver_new(&ramdisk_ops, disks);
	plx_chardriver *chr = plx_chardriver_new(&memdev_ops, NULL);
	plx_service *svc = blk && chr ? plx_service_new(&cfg, err, sizeof err) : NULL;
	if (!svc) {
		int code = !blk || !chr ? EX_OSERR : errno == EINVAL ? EX_USAGE : EX_UNAVAILABLE;
		fprintf(stderr, "plexus-memory: %s\n", blk && chr ? err : "out of memory");
		plx_chardriver_destroy(&chr);
		plx_blockdriver_destroy(&blk);
		ramdisks_destroy(&disks);
		return code;
	}
	rc = s_serve(svc, blk, chr, err, sizeof err);
	plx_chardriver_destroy(&chr);
	plx_blockdriver_destroy(&blk);
	plx_service_destroy(&svc);
	ramdisks_destroy(&disks);
	if (rc < 0) {
		fprintf(stderr, "plexus-memory: %s\n", err);
		return EX_SOFTWARE;
	}
	fprintf(stderr, "plexus-memory: stopped\n");
	return EX_OK;
}
