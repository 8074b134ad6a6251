/*
 * main.c — plexus-mfs, the MINIX file system (v3) server: one instance serves the one device
 * FS_READSUPER names (docs/mfs.md).
 *
 * Entry points: main, mfs_new_driver.
 *
 * The service's loop (this thread) receives every request. FS_NEW_DRIVER is answered here at
 * once; every other FS_* request is handed to the worker thread (worker.c), which handles them
 * one at a time in arrival order. So a request whose I/O waits for a restarted block driver
 * holds the worker only: the loop goes on answering pings and the FS_NEW_DRIVER that ends the
 * wait. A tick queues the periodic write-back the same way.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <plexus/service.h>

#include "mfs.h"

static mfs s_fs; /* the one file system this process serves */

static void s_usage(FILE *out)
{
	fprintf(out,
	        "usage: plexus-mfs [options]\n\n"
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
	        "  --help                 this text\n\n");
	plx_service_usage(out);
}

typedef struct s_opts {
	long cache_mb, sync_ms, readahead, timeout_ms, wait_ms;
} s_opts;

static int s_option(void *arg, const char *name, const char *value, char *err, size_t size)
{
	s_opts *o = arg;
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

int mfs_new_driver(plx_call *call)
{
	mfs *fs = plx_server_arg(call->server);
	const Plexus__FsNewDriver *nd = (const Plexus__FsNewDriver *)call->body;
	if (!nd->driver || !*nd->driver || nd->generation == 0)
		return -EINVAL;
	int rc = dev_new_driver(&fs->dev, nd->driver, nd->generation);
	if (rc == 0)
		fprintf(stderr, "plexus-mfs: FS_NEW_DRIVER: %s is generation %llu\n", nd->driver,
		        (unsigned long long)nd->generation);
	return rc;
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
		rc = journal_commit(fs);
		super_release(fs);
	}
	if (rc < 0)
		fprintf(stderr, "plexus-mfs: final write-back failed: %s\n", plx_strerror(rc));
}

static int s_serve(plx_service *svc, mfs *fs, char *err, size_t size)
{
	size_t n;
	const plx_handler *table = mfs_handlers(&n);
	plx_server *srv = plx_server_new(plx_service_ep(svc), table, n, fs);
	if (!srv) {
		snprintf(err, size, "server: %s", strerror(errno));
		return -errno;
	}
	fs->srv = srv;
	plx_server_on_tick(srv, mfs_worker_tick, 1000);
	plx_server_set_worker(srv, mfs_submit, fs);
	/* Before anybody can send: a restarted instance mounts what its predecessor had (when that
	 * fails it serves unmounted, and VFS's next FS_READSUPER decides). */
	fs->svc = svc;
	super_restore(fs, plx_service_restarted(svc));
	int rc = mfs_worker_start(fs);
	const char *step = "worker thread";
	if (rc == 0) {
		step = "publishing the endpoint";
		rc = plx_service_publish(svc, "up");
		if (rc == 0) {
			fprintf(stderr, "plexus-mfs: %s/%llu serving at %s (%s start)\n",
			        plx_service_config(svc)->label,
			        (unsigned long long)plx_ep_name(plx_service_ep(svc))->generation,
			        plx_ep_address(plx_service_ep(svc)),
			        plx_service_restarted(svc) ? "restart" : "fresh");
			step = "message loop";
			rc = plx_service_run(svc, srv);
		}
		mfs_worker_stop(fs); /* queued requests are answered -ESHUTDOWN */
		s_final_sync(fs);
	}
	if (rc < 0)
		snprintf(err, size, "%s: %s", step, plx_strerror(rc));
	plx_server_destroy(&srv);
	return rc;
}

int main(int argc, char **argv)
{
	char err[1024];
	plx_service_cfg cfg;
	plx_service_cfg_init(&cfg);
	s_opts o = {32, 5000, 64, 10000, 20000};
	int rc = plx_service_cfg_env(&cfg, err, sizeof err);
	if (rc < 0) {
		fprintf(stderr, "plexus-mfs: %s\n", err);
		return EX_CONFIG;
	}
	rc = plx_service_args(&cfg, argc, argv, NULL, s_option, &o, err, sizeof err);
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "plexus-mfs: %s\n", err);
		s_usage(rc < 0 ? stderr : stdout);
		return rc < 0 ? EX_USAGE : EX_OK;
	}
	plx_service *svc = plx_service_new(&cfg, err, sizeof err);
	if (!svc) {
		fprintf(stderr, "plexus-mfs: %s\n", err);
		return errno == EINVAL ? EX_USAGE : EX_UNAVAILABLE;
	}
	plx_register_types(&plexus__fs_type__descriptor);
	mfs *fs = &s_fs;
	fs->cache_bytes = (size_t)o.cache_mb << 20;
	fs->sync_ms = (int)o.sync_ms;
	fs->readahead = (int)o.readahead;
	dev_init(&fs->dev, plx_service_ctx(svc), plx_service_ep(svc), (int)o.timeout_ms,
	         (int)o.wait_ms);
	rc = s_serve(svc, fs, err, sizeof err);
	dev_fini(&fs->dev);
	plx_service_destroy(&svc);
	if (rc < 0) {
		fprintf(stderr, "plexus-mfs: %s\n", err);
		return EX_SOFTWARE;
	}
	fprintf(stderr, "plexus-mfs: stopped\n");
	return EX_OK;
}
