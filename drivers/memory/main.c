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
#include <plexus/log.h>
#include <plexus/service.h>

#include "chardevs.h"
#include "memory.h"

#define S_TABLE_MAX 64

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
		plx_log(PLX_LOG_INFO, "serving at %s (%s start)",
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

/* What the driver holds: the RAM disks and the two libraries' drivers on one server. */
typedef struct s_memory {
	ramdisks *disks;
	plx_blockdriver *blk;
	plx_chardriver *chr;
} s_memory;

/* Maps the RAM disks and makes the drivers. Returns 0 or an exit code with err set. */
static int s_prepare(void *arg, char *err, size_t size)
{
	s_memory *m = arg;
	int rc = ramdisks_map(m->disks, err, size);
	if (rc < 0)
		return rc == -ENOENT ? EX_NOINPUT : EX_OSERR;
	m->blk = plx_blockdriver_new(&ramdisk_ops, m->disks);
	m->chr = plx_chardriver_new(&memdev_ops, NULL);
	if (!m->blk || !m->chr)
		return snprintf(err, size, "out of memory"), EX_OSERR;
	return 0;
}

static int s_run(void *arg, plx_service *svc, char *err, size_t size)
{
	s_memory *m = arg;
	int rc = s_serve(svc, m->blk, m->chr, err, size);
	plx_chardriver_destroy(&m->chr); /* before the service: they use its endpoint */
	plx_blockdriver_destroy(&m->blk);
	return rc;
}

static void s_cleanup(void *arg)
{
	s_memory *m = arg;
	plx_chardriver_destroy(&m->chr);
	plx_blockdriver_destroy(&m->blk);
}

static int s_option(void *arg, const char *name, const char *value, char *err, size_t size)
{
	s_memory *m = arg;
	if (strcmp(name, "ramdisk") == 0)
		return ramdisks_add(m->disks, value, err, size) < 0 ? -EINVAL : 0;
	return -ENOENT;
}

static const plx_service_desc s_desc = {
    .program = "plexus-memory",
    .usage = "usage: plexus-memory [options]\n\n"
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
             "  --help                this text\n\n",
    .option = s_option,
    .prepare = s_prepare,
    .run = s_run,
    .cleanup = s_cleanup,
};

int main(int argc, char **argv)
{
	s_memory m = {.disks = ramdisks_new()};
	if (!m.disks)
		return EX_OSERR;
	int code = plx_service_main(&s_desc, &m, argc, argv);
	s_cleanup(&m); /* when prepare failed */
	ramdisks_destroy(&m.disks);
	return code;
}
