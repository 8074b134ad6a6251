/*
 * main.c — plexus-mfs, the MINIX file system (v3) server: one instance serves the one device
 * FS_READSUPER names (docs/mfs.md).
 *
 * Entry points: main.
 *
 * The service's loop (this thread) receives every request. FS_NEW_DRIVER is answered here at
 * once; every other FS_* request is queued to the worker thread, which handles them one at a
 * time in arrival order and answers each with plx_call_reply. So a request whose I/O waits for
 * a restarted block driver holds the worker only: the loop goes on answering pings and the
 * FS_NEW_DRIVER that ends the wait. A tick queues the periodic write-back the same way.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <plexus/log.h>
#include <plexus/service.h>

#include "mfs.h"

static mfs s_fs; /* the one file system this process serves */

typedef struct s_opts {
	long cache_mb, sync_ms, readahead, timeout_ms, wait_ms;
} s_opts;

static s_opts s_o = {32, 5000, 64, 10000, 20000};

static int s_option(void *arg, const char *name, const char *value, char *err, size_t size)
{
	(void)arg;
	s_opts *o = &s_o;
	static const char *const names[] = {"cache-mb", "sync-interval-ms", "readahead",
	                                    "driver-timeout-ms", "driver-wait-ms"};
	long *fields[] = {&o->cache_mb, &o->sync_ms, &o->readahead, &o->timeout_ms, &o->wait_ms};
	static const long lo[] = {1, 0, 0, 100, 0}, hi[] = {65536, 3600000, 4096, 3600000, 3600000};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		if (strcmp(name, names[i]) != 0)
			continue;
		char *end;
		long v = strtol(value, &end, 10);
		if (end == value || *end || v < lo[i] || v > hi[i]) {
			snprintf(err, size, "bad --%s '%s': want %ld..%ld", name, value, lo[i],
			         hi[i]);
			return -EINVAL;
		}
		*fields[i] = v;
		return 0;
	}
	return -ENOENT;
}

/* Stopping while mounted (SIGTERM without FS_UNMOUNT): write everything back, mark clean. */
static void s_final_sync(mfs *fs)
{
	if (!fs->mounted)
		return;
	mfs_reply out;
	memset(&out, 0, sizeof out);
	int rc = do_unmount(fs, NULL, NULL, &out);
	if (rc == -EBUSY) { /* VFS still holds inodes: write back, leave the clean flag unset */
		rc = super_commit(fs);
		super_release(fs);
	}
	if (rc < 0)
		plx_log(PLX_LOG_WARN, "final write-back failed: %s", plx_strerror(rc));
}

static bool s_worker_started; /* s_setup made the worker: s_teardown stops it */

/* Between making the server and publishing: the tick, the worker and, before anybody can send,
 * a restarted instance mounts what its predecessor had (when that fails it serves unmounted,
 * and VFS's next FS_READSUPER decides). */
static int s_setup(void *arg, plx_service *svc, plx_server *srv, char *err, size_t size)
{
	mfs *fs = arg;
	fs->srv = srv;
	plx_server_on_tick(srv, mfs_worker_tick, 1000);
	plx_server_set_worker(srv, mfs_submit, fs);
	fs->svc = svc;
	super_restore(fs, plx_service_restarted(svc));
	int rc = mfs_worker_start(fs);
	if (rc < 0)
		return snprintf(err, size, "worker thread: %s", plx_strerror(rc)), rc;
	s_worker_started = true;
	return 0;
}

/* After the loop: queued requests are answered -ESHUTDOWN, then everything is written back. */
static void s_teardown(void *arg, plx_server *srv)
{
	(void)srv;
	mfs *fs = arg;
	if (!s_worker_started)
		return;
	mfs_worker_stop(fs); /* queued requests are answered -ESHUTDOWN */
	stage_fini(fs);
	s_final_sync(fs);
}

/* The service's life: the file system's settings, its device, the server. */
static int s_life(void *arg, plx_service *svc, char *err, size_t size)
{
	static const plx_serve_hooks hooks = {.setup = s_setup, .teardown = s_teardown};
	mfs *fs = arg;
	fs->cache_bytes = (size_t)s_o.cache_mb << 20;
	fs->sync_ms = (int)s_o.sync_ms;
	fs->readahead = (int)s_o.readahead;
	dev_init(&fs->dev, plx_service_ctx(svc), plx_service_ep(svc), (int)s_o.timeout_ms,
	         (int)s_o.wait_ms);
	size_t n;
	const plx_handler *table = mfs_handlers(&n);
	int rc = plx_service_serve(svc, table, n, fs, &hooks, err, size);
	dev_fini(&fs->dev);
	return rc;
}

static const plx_family *const s_families[] = {&plx_family_fs, NULL};

static const plx_service_desc s_desc = {
    .program = "plexus-mfs",
    .usage = "usage: plexus-mfs [options]\n\n"
             "The MINIX file system (v3) server: answers VFS's FS_* requests for the block\n"
             "device FS_READSUPER names, reached over BDEV (docs/mfs.md).\n\n"
             "File server options:\n"
             "  --cache-mb N           buffer cache size in MiB (default 32)\n"
             "  --sync-interval-ms N   write dirty blocks back at least this often (default\n"
             "                         5000; 0 turns the periodic write-back off)\n"
             "  --readahead N          blocks read ahead on sequential reads (default 64)\n"
             "  --driver-timeout-ms N  how long one BDEV request may take (default 10000)\n"
             "  --driver-wait-ms N     how long one transfer waits in all for a restarted\n"
             "                         driver (default 20000, under VFS's 30 s)\n"
             "  --help                 this text\n\n",
    .option = s_option,
    .families = s_families,
    .run = s_life,
};

int main(int argc, char **argv)
{
	return plx_service_main(&s_desc, &s_fs, argc, argv);
}
