/*
 * recovery.c — a block driver came back with a new generation (MINIX's reopen and
 * REQ_NEW_DRIVER, in the seed commit's order).
 *
 * Entry points: vfs_recover_block.
 *
 * First the minors that files and mounts had open on the crashed instance are opened on the
 * new one (BDEV_OPEN), THEN each file server mounted on the driver is told the new instance
 * (FS_NEW_DRIVER) and retries its in-flight I/O. The other order deadlocks in MINIX: the file
 * server would retry before taking the message, and the driver would refuse the retry until
 * the reopen. A Plexus block driver accepts I/O without an open and keeps its open counts
 * across an RS restart (docs/drivers.md), so a minor whose count came back (BDEV_IOC_INFO) is
 * not opened twice; after a fresh start VFS opens each minor as often as it holds it open.
 * Runs on the events worker: a second crash during the reopen fails these requests (the
 * transport reports the dead instance) and the next generation starts the sequence again.
 * Both requests go through the typed BDEV stubs, addressed to the new generation.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dev.h"

/* The driver's own open count of minor, or a negative errno. */
static int s_open_count(vfs *v, vfs_driver *drv, uint64_t gen, uint32_t minor)
{
	Plexus__BdevIoctl io = PLEXUS__BDEV_IOCTL__INIT;
	io.minor = minor;
	io.request = PLEXUS__BDEV_IOCTL_REQUEST__BDEV_IOC_INFO;
	plx_stub st;
	vfs_driver_stub(v, drv, gen, &st);
	Plexus__BdevReply *r = NULL;
	pthread_mutex_lock(&drv->mutex);
	int rc = plx_bdev_ioctl_call(&st, &io, NULL, 0, &r, NULL);
	pthread_mutex_unlock(&drv->mutex);
	if (rc < 0)
		return rc;
	rc = r->info ? (int)r->info->open_count : -EBADMSG;
	plx_stub_free(r, NULL);
	return rc;
}

/* Opens minor times times on generation gen. 0 or the first error. */
static int s_reopen(vfs *v, vfs_driver *drv, uint64_t gen, uint32_t minor, uint32_t times)
{
	int count = s_open_count(v, drv, gen, minor);
	if (count < 0)
		return count;
	if (count > 0)
		return 0; /* the counts came back with the restart */
	Plexus__BdevOpen o = PLEXUS__BDEV_OPEN__INIT;
	o.minor = minor;
	o.access = PLEXUS__BDEV_ACCESS__BDEV_R_BIT | PLEXUS__BDEV_ACCESS__BDEV_W_BIT;
	plx_stub st;
	vfs_driver_stub(v, drv, gen, &st);
	for (uint32_t i = 0; i < times; i++) {
		pthread_mutex_lock(&drv->mutex);
		int rc = plx_bdev_open_call(&st, &o, NULL, 0, NULL, NULL);
		pthread_mutex_unlock(&drv->mutex);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int vfs_recover_block(vfs *v, vfs_driver *drv, uint64_t gen)
{
	vfs_devs *d = vfs_devs_of(v);
	uint32_t opens[256];
	plx_fs *servers[VFS_MOUNT_MAX];
	int nservers = 0;
	pthread_mutex_lock(&d->lock);
	memcpy(opens, drv->blk_opens, sizeof opens);
	pthread_mutex_unlock(&d->lock);
	pthread_mutex_lock(&v->lock);
	for (int i = 0; i < VFS_MOUNT_MAX; i++) {
		vfs_mount *m = v->mounts[i];
		if (m && strcmp(m->driver, drv->label) == 0) {
			opens[m->minor & 255] += 1;
			servers[nservers++] = m->client;
		}
	}
	pthread_mutex_unlock(&v->lock);
	int first = 0;
	/* 1. reopen */
	for (uint32_t minor = 0; minor < 256; minor++)
		if (opens[minor] > 0) {
			int rc = s_reopen(v, drv, gen, minor, opens[minor]);
			if (rc < 0 && first == 0)
				first = rc;
		}
	/* 2. then the file servers */
	for (int i = 0; i < nservers; i++) {
		int rc = plx_fs_new_driver(servers[i], drv->label, gen);
		if (rc < 0 && first == 0)
			first = rc;
	}
	return first;
}
