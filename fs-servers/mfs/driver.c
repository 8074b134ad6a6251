/*
 * driver.c — the block device under the file system: BDEV through plexus/bdev.h, with MINIX
 * libbdev's recovery rules (docs/mfs.md "When the driver dies").
 *
 * Entry points: dev_init, dev_fini, dev_open, dev_close, dev_read, dev_write, dev_flush,
 * dev_new_driver, mfs_new_driver (FS_NEW_DRIVER, answered in the loop thread).
 *
 * A transfer answered -EIO is tried MFS_EIO_RETRIES more times. One that finds the driver dead
 * or silent (-PLX_EDEADSRCDST, -ETIMEDOUT) waits for a new generation — the route the
 * endpoint cache learns from the registry, or the one FS_NEW_DRIVER names — reopens the minor
 * there and goes again: at most MFS_DRV_RESTARTS new generations, MFS_DRV_ROUNDS waits and
 * wait_ms in all per transfer (from its first failure), then -EIO. The worker thread waits here;
 * the loop thread goes on answering, so FS_NEW_DRIVER gets through while a transfer waits.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <plexus/etcd.h>
#include <plexus/log.h>

#include "mfs.h"
#include "plexus/proto/bdev.pb-c.h"

#define S_SLOW_LOOK_MS 1000 /* how long a timed-out transfer looks for a new driver first */

void dev_init(mfs_dev *dev, plx_ctx *ctx, plx_ep *ep, int timeout_ms, int wait_ms)
{
	memset(dev, 0, sizeof *dev);
	dev->ctx = ctx;
	dev->ep = ep;
	dev->timeout_ms = timeout_ms;
	dev->wait_ms = wait_ms;
	pthread_mutex_init(&dev->lock, NULL);
	pthread_cond_init(&dev->cond, NULL);
}

void dev_fini(mfs_dev *dev)
{
	dev_close(dev);
	pthread_cond_destroy(&dev->cond);
	pthread_mutex_destroy(&dev->lock);
}

static uint32_t s_access(const mfs_dev *dev)
{
	return PLEXUS__BDEV_ACCESS__BDEV_R_BIT |
	       (dev->read_only ? 0 : PLEXUS__BDEV_ACCESS__BDEV_W_BIT);
}

static bool s_lost(int rc)
{
	return rc == -PLX_EDEADSRCDST || rc == -ETIMEDOUT;
}

/* Waits until a generation above dev->gen is routed (or announced and routed), until end
 * (monotonic ms). Returns it, or 0 when none came. */
static uint64_t s_wait_generation(mfs_dev *dev, int64_t end)
{
	for (;;) {
		uint64_t g = 0;
		plx_route_lookup(dev->ctx, dev->label, &g, NULL, 0);
		pthread_mutex_lock(&dev->lock);
		uint64_t ann = dev->announced;
		pthread_mutex_unlock(&dev->lock);
		if (g > dev->gen && !plx_is_dead(dev->ctx, dev->label, g) &&
		    (ann <= dev->gen || g >= ann))
			return g;
		if (mfs_now_ms() >= end)
			return 0;
		struct timespec ts = plx_deadline_in(CLOCK_REALTIME, 50);
		pthread_mutex_lock(&dev->lock);
		if (dev->announced == ann)
			pthread_cond_timedwait(&dev->cond, &dev->lock, &ts);
		pthread_mutex_unlock(&dev->lock);
	}
}

/* One recovery round after a lost driver: wait for a new generation and reopen the minor on
 * it. Returns 0 (go again), -EAGAIN (that generation died too: another round), or -EIO. */
static int s_recover(mfs_dev *dev, int lost_rc, int *restarts, int64_t end)
{
	/* A silent driver may be slow rather than dead: after a short look for a new generation,
	 * the same one is tried again (while the deadline allows). */
	int64_t until = end;
	if (lost_rc == -ETIMEDOUT && dev->gen && mfs_now_ms() + S_SLOW_LOOK_MS < end)
		until = mfs_now_ms() + S_SLOW_LOOK_MS;
	uint64_t g = s_wait_generation(dev, until);
	if (!g) {
		if (lost_rc == -ETIMEDOUT && dev->gen && mfs_now_ms() < end)
			return 0; /* the same driver, slow: the caller tries once more per round */
		plx_log(PLX_LOG_WARN, "driver %s: no new instance within %d ms", dev->label,
		        dev->wait_ms);
		return -EIO;
	}
	if (dev->gen && ++*restarts > MFS_DRV_RESTARTS) {
		plx_log(PLX_LOG_WARN, "driver %s restarted more than %d times during one transfer",
		        dev->label, MFS_DRV_RESTARTS);
		return -EIO;
	}
	int rc = plx_bdev_open(dev->bdev, dev->minor, s_access(dev));
	uint64_t old = dev->gen;
	if (rc == 0 || s_lost(rc))
		dev->gen = g; /* opened there, or that one is gone too: wait for a newer one */
	if (rc == 0) {
		dev->restarts += old != 0;
		if (old)
			plx_log(PLX_LOG_INFO, "driver %s: minor %u reopened on generation %llu",
			        dev->label, dev->minor, (unsigned long long)g);
		return 0;
	}
	if (s_lost(rc))
		return -EAGAIN;
	plx_log(PLX_LOG_WARN, "driver %s: reopening minor %u: %s", dev->label, dev->minor,
	        plx_strerror(rc));
	return rc == -EIO ? -EIO : rc;
}

typedef enum { S_READ, S_WRITE, S_FLUSH } s_op;

static int s_once(mfs_dev *dev, s_op op, uint64_t pos, void *buf, size_t size)
{
	ssize_t n;
	switch (op) {
	case S_READ:
		n = plx_bdev_read(dev->bdev, dev->minor, pos, buf, size, 0);
		break;
	case S_WRITE:
		n = plx_bdev_write(dev->bdev, dev->minor, pos, buf, size, 0);
		break;
	case S_FLUSH:
		return plx_bdev_flush(dev->bdev, dev->minor);
	default:
		return -EINVAL;
	}
	if (n < 0)
		return (int)n;
	return (size_t)n == size ? 0 : -EIO; /* short: past the device's end */
}

/* Runs op with the retry rules. */
static int s_transfer(mfs_dev *dev, s_op op, uint64_t pos, void *buf, size_t size)
{
	if (!dev->open)
		return -ENXIO;
	int eio = 0, restarts = 0, rounds = 0;
	int64_t end = 0; /* the recovery deadline, set at the first lost driver */
	for (;;) {
		int rc = s_once(dev, op, pos, buf, size);
		if (rc == 0)
			return 0;
		if (rc == -EIO && eio++ < MFS_EIO_RETRIES) {
			dev->retries++;
			continue;
		}
		if (!s_lost(rc))
			return rc;
		if (!end)
			end = mfs_now_ms() + dev->wait_ms;
		do {
			if (++rounds > MFS_DRV_ROUNDS) {
				plx_log(PLX_LOG_WARN, "driver %s: giving up after %d rounds (%s)",
				        dev->label, MFS_DRV_ROUNDS, plx_strerror(rc));
				return -EIO;
			}
			rc = s_recover(dev, rc, &restarts, end);
		} while (rc == -EAGAIN);
		if (rc < 0)
			return rc;
		dev->retries++;
	}
}

int dev_open(mfs_dev *dev, const char *label, uint32_t minor, bool read_only)
{
	if (!label || !*label || strlen(label) >= sizeof dev->label)
		return -EINVAL;
	dev->bdev = plx_bdev_new(dev->ep, label, dev->timeout_ms);
	if (!dev->bdev)
		return -ENOMEM;
	dev->minor = minor;
	dev->read_only = read_only;
	dev->gen = 0;
	pthread_mutex_lock(&dev->lock);
	snprintf(dev->label, sizeof dev->label, "%s", label);
	dev->announced = 0;
	pthread_mutex_unlock(&dev->lock);
	int rounds = 0, restarts = 0, rc;
	int64_t end = mfs_now_ms() + dev->wait_ms;
	do { /* the first round also waits for a driver that is not up yet */
		rc = s_recover(dev, -PLX_EDEADSRCDST, &restarts, end);
	} while (rc == -EAGAIN && ++rounds < MFS_DRV_ROUNDS);
	bool opened = rc == 0;
	plx_bdev_info info;
	if (rc == 0)
		rc = plx_bdev_info_get(dev->bdev, minor, &info);
	if (rc == 0 && info.read_only && !read_only)
		rc = -EROFS;
	if (rc < 0) {
		if (opened)
			plx_bdev_close(dev->bdev, minor);
		plx_bdev_destroy(&dev->bdev);
		return rc == -EAGAIN ? -EIO : rc;
	}
	dev->size = info.size;
	dev->sector = info.sector_size ? info.sector_size : 512;
	dev->open = true;
	return 0;
}

void dev_close(mfs_dev *dev)
{
	if (dev->open)
		plx_bdev_close(dev->bdev, dev->minor);
	dev->open = false;
	plx_bdev_destroy(&dev->bdev);
}

int dev_read(mfs_dev *dev, uint64_t pos, void *buf, size_t size)
{
	return s_transfer(dev, S_READ, pos, buf, size);
}

int dev_write(mfs_dev *dev, uint64_t pos, const void *buf, size_t size)
{
	if (dev->read_only)
		return -EROFS;
	return s_transfer(dev, S_WRITE, pos, (void *)buf, size);
}

int dev_flush(mfs_dev *dev)
{
	if (dev->read_only)
		return 0;
	return s_transfer(dev, S_FLUSH, 0, NULL, 0);
}

int dev_new_driver(mfs_dev *dev, const char *label, uint64_t generation)
{
	pthread_mutex_lock(&dev->lock);
	int rc = strcmp(label, dev->label) == 0 ? 0 : -ENXIO;
	if (rc == 0 && generation > dev->announced) {
		dev->announced = generation;
		pthread_cond_broadcast(&dev->cond);
	}
	pthread_mutex_unlock(&dev->lock);
	return rc;
}

int mfs_new_driver(plx_call *call)
{
	mfs *fs = plx_server_arg(call->server);
	const Plexus__FsNewDriver *nd = (const Plexus__FsNewDriver *)call->body;
	if (!nd->driver || !*nd->driver || nd->generation == 0)
		return -EINVAL;
	int rc = dev_new_driver(&fs->dev, nd->driver, nd->generation);
	if (rc == 0)
		plx_log(PLX_LOG_INFO, "FS_NEW_DRIVER: %s is generation %llu", nd->driver,
		        (unsigned long long)nd->generation);
	return rc;
}
