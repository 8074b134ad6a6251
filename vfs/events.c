/*
 * events.c — the devices side's own worker for registry events (MINIX: DS events are handled
 * by a worker of their own, so that a second crash during a reopen cannot wedge VFS).
 *
 * Entry points: vfs_dev_start, vfs_dev_stop, vfs_dev_on_notify, vfs_events_kick.
 *
 * The worker subscribes to drv.blk.* and drv.chr.* in DS (with the initial values, as MINIX
 * VFS does) and watches the route table, which the service's endpoint cache keeps current from
 * the ep/ records: a driver's generation that vanished or was replaced has died. For each
 * driver it then:
 *   1. fails what was pending on the dead instance (-EIO) and, for character files, marks
 *      them invalid and starts their garbage collection (gc.c);
 *   2. once a new instance is up, recovers the block side (recovery.c: reopen, then
 *      FS_NEW_DRIVER), retrying on its next round while that fails.
 * Every round (at most 20 ms apart) it also answers select timeouts, cancels the requests of
 * clients that died (select.c, device.c, pipe.c), breaks the pipes of a PFS instance that
 * died (pipe.c), queues the follow of a restarted file server (fsgen.c), and answers the
 * watches' polls (watch.c).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <plexus/log.h>

#include "dev.h"

#define S_ROUND_MS 20

/* Notes DS changes: which drivers announced which kind. */
static void s_ds_changes(vfs *v)
{
	vfs_devs *d = vfs_devs_of(v);
	plx_ds_change ch;
	while (plx_ds_check(d->ds, &ch) == 0) {
		bool blk = strncmp(ch.key, "drv.blk.", 8) == 0;
		bool chr = strncmp(ch.key, "drv.chr.", 8) == 0;
		if ((!blk && !chr) || ch.deleted)
			continue;
		vfs_driver *drv = vfs_driver_find(v, ch.key + 8);
		if (!drv)
			continue;
		pthread_mutex_lock(&d->lock);
		drv->announced_blk |= blk;
		drv->announced_chr |= chr;
		pthread_mutex_unlock(&d->lock);
	}
}

/* True when a mount uses drv as its block driver. */
static bool s_mounted_on(vfs *v, vfs_driver *drv)
{
	bool used = false;
	pthread_mutex_lock(&v->lock);
	for (int i = 0; i < VFS_MOUNT_MAX && !used; i++)
		used = v->mounts[i] && strcmp(v->mounts[i]->driver, drv->label) == 0;
	pthread_mutex_unlock(&v->lock);
	return used;
}

/* One driver's round: death, then recovery. recover[] remembers a recovery still owed. */
static void s_driver_round(vfs *v, vfs_driver *drv, bool *recover)
{
	uint64_t now = 0;
	if (plx_route_lookup(plx_service_ctx(v->svc), drv->label, &now, NULL, 0) < 0 ||
	    plx_is_dead(plx_service_ctx(v->svc), drv->label, now))
		now = 0;
	if (drv->gen != 0 && now != drv->gen) {
		uint64_t dead = drv->gen;
		plx_log(PLX_LOG_INFO, "driver %s/%llu is gone", drv->label,
		        (unsigned long long)dead);
		vfs_cdevs_fail(v, drv, dead, -EIO);
		vfs_gc_driver_down(v, drv, dead);
		*recover = drv->announced_blk || s_mounted_on(v, drv) || *recover;
		drv->reopen_owed = drv->reopen;
	}
	drv->gen = now;
	if (now != 0 && drv->reopen_owed) {
		drv->reopen_owed = false;
		int failed = vfs_gc_reopen(v, drv, now);
		plx_log(PLX_LOG_WARN, "driver %s/%llu: files reopened (%d failed)", drv->label,
		        (unsigned long long)now, failed);
	}
	if (now != 0 && *recover) {
		int rc = vfs_recover_block(v, drv, now);
		plx_log(PLX_LOG_INFO, "block driver %s/%llu: reopened, file servers told: %s",
		        drv->label, (unsigned long long)now, rc < 0 ? plx_strerror(rc) : "ok");
		*recover = rc < 0 && rc != -PLX_EDEADSRCDST ? true : false;
		if (rc == -PLX_EDEADSRCDST)
			*recover =
			    true; /* died again: the next generation gets the whole sequence */
	}
}

/* PFS's round: a generation that died broke the pipes it held. */
static void s_pfs_round(vfs *v, uint64_t *seen)
{
	vfs_devs *d = vfs_devs_of(v);
	uint64_t now = 0;
	if (plx_route_lookup(plx_service_ctx(v->svc), d->pfs_label, &now, NULL, 0) < 0 ||
	    plx_is_dead(plx_service_ctx(v->svc), d->pfs_label, now))
		now = 0;
	if (*seen != 0 && now != *seen) {
		plx_log(PLX_LOG_WARN, "pipe server %s/%llu is gone: its pipes fail -EIO",
		        d->pfs_label, (unsigned long long)*seen);
		vfs_pipes_pfs_down(v);
	}
	*seen = now;
}

static void *s_events(void *arg)
{
	vfs *v = arg;
	vfs_devs *d = vfs_devs_of(v);
	bool recover[VFS_DRIVERS_MAX] = {false};
	uint64_t pfs_gen = 0;
	while (!d->stopping) {
		struct pollfd fds[2] = {{.fd = plx_ds_fd(d->ds), .events = POLLIN},
		                        {.fd = d->wake_fd, .events = POLLIN}};
		if (poll(fds, 2, S_ROUND_MS) > 0 && (fds[1].revents & POLLIN)) {
			uint64_t n;
			if (read(d->wake_fd, &n, sizeof n) < 0)
				n = 0;
		}
		s_ds_changes(v);
		for (int i = 0; i < d->ndrivers; i++)
			s_driver_round(v, &d->drivers[i], &recover[i]);
		s_pfs_round(v, &pfs_gen);
		vfs_fs_follow_due(v);
		vfs_selects_tick(v);
		vfs_cdevs_cancel_dead(v);
		vfs_pipes_tick(v);
		vfs_watches_tick(v);
	}
	return NULL;
}

void vfs_events_kick(vfs *v)
{
	vfs_devs *d = vfs_devs_of(v);
	uint64_t one = 1;
	if (d && d->wake_fd >= 0 && write(d->wake_fd, &one, sizeof one) < 0)
		return;
}

int vfs_dev_start(vfs *v)
{
	vfs_devs *d = vfs_devs_of(v);
	if (!d)
		return -ENOMEM;
	const plx_service_cfg *cfg = plx_service_config(v->svc);
	d->ds = plx_ds_new(plx_service_etcd(v->svc), cfg->cluster, cfg->label);
	if (!d->ds)
		return -errno;
	int rc = plx_ds_subscribe(d->ds, "drv\\.(blk|chr)\\..+", PLX_DSF_INITIAL);
	if (rc < 0)
		return rc;
	if ((d->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return -errno;
	s_ds_changes(v);
	for (int i = 0; i < d->ndrivers; i++) /* whoever is up now is what VFS starts with */
		plx_route_lookup(plx_service_ctx(v->svc), d->drivers[i].label, &d->drivers[i].gen,
		                 NULL, 0);
	if ((rc = pthread_create(&d->events, NULL, s_events, v)) != 0)
		return -rc;
	d->events_running = true;
	return 0;
}

void vfs_dev_stop(vfs *v)
{
	vfs_devs *d = v->dev;
	if (!d)
		return;
	d->stopping = true;
	if (d->events_running) {
		vfs_events_kick(v);
		pthread_join(d->events, NULL);
		d->events_running = false;
	}
	/* Whatever still waits on a driver is answered now. */
	for (int i = 0; i < d->ndrivers; i++)
		vfs_cdevs_fail(v, &d->drivers[i], UINT64_MAX, -ESHUTDOWN);
	plx_ds_destroy(&d->ds);
	if (d->wake_fd >= 0)
		close(d->wake_fd);
	d->wake_fd = -1;
}

void vfs_dev_on_notify(vfs *v, plx_msg *msg)
{
	(void)v; /* DS changes reach the events worker through plx_ds_fd, not the loop */
	plx_msg_destroy(&msg);
}
