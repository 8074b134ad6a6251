/*
 * ramdev.c — the RAM disk plexus-mfs mounts in process (ramdev.h).
 *
 * Entry points: ramdev_attach, ramdev_fail_writes_after, dev_init, dev_fini, dev_open,
 * dev_close, dev_read, dev_write, dev_flush, dev_new_driver.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <plexus/blockdriver.h>

#include "mfs.h"
#include "ramdev.h"

static struct {
	uint8_t *bytes;
	uint64_t size;
	bool read_only;
	unsigned writes_left; /* 0: no failures planned */
	bool failing;
} s_disk;

void ramdev_attach(uint8_t *bytes, size_t size, bool read_only)
{
	s_disk.bytes = bytes;
	s_disk.size = bytes ? size - size % RAMDEV_SECTOR : 0;
	s_disk.read_only = read_only;
	s_disk.writes_left = 0;
	s_disk.failing = false;
}

void ramdev_fail_writes_after(unsigned n)
{
	s_disk.writes_left = n;
	s_disk.failing = n > 0;
}

/* The RAM disk needs no connection, lock or timeout: the fields plexus-mfs reads. */
void dev_init(mfs_dev *dev, plx_ctx *ctx, plx_ep *ep, int timeout_ms, int wait_ms)
{
	(void)ctx, (void)ep, (void)wait_ms;
	memset(dev, 0, sizeof *dev);
	dev->timeout_ms = timeout_ms;
}

void dev_fini(mfs_dev *dev)
{
	dev_close(dev);
}

int dev_open(mfs_dev *dev, const char *label, uint32_t minor, bool read_only)
{
	if (!label || !*label || strlen(label) >= sizeof dev->label)
		return -EINVAL;
	if (strcmp(label, RAMDEV_LABEL) != 0 || minor != 0 || !s_disk.bytes)
		return -ENXIO;
	if (s_disk.read_only && !read_only)
		return -EROFS;
	snprintf(dev->label, sizeof dev->label, "%s", label);
	dev->minor = minor;
	dev->read_only = read_only;
	dev->gen = 1;
	dev->size = s_disk.size;
	dev->sector = RAMDEV_SECTOR;
	dev->open = true;
	return 0;
}

void dev_close(mfs_dev *dev)
{
	dev->open = false;
}

/* The checks of a block driver (plexus/blockdriver.h), then the range. Returns the bytes of
 * the transfer that lie on the disk, or -EINVAL. */
static int64_t s_check(const mfs_dev *dev, uint64_t pos, size_t size)
{
	if (pos % RAMDEV_SECTOR || size % RAMDEV_SECTOR) {
		fprintf(stderr,
		        "ramdev: plexus-mfs asked for %zu bytes at %llu: not whole sectors\n", size,
		        (unsigned long long)pos);
		abort();
	}
	if (size == 0 || size > PLX_BDEV_MAX_IO || pos > UINT64_MAX - size)
		return -EINVAL;
	if (pos >= dev->size)
		return 0;
	return (int64_t)(dev->size - pos < size ? dev->size - pos : size);
}

int dev_read(mfs_dev *dev, uint64_t pos, void *buf, size_t size)
{
	if (!dev->open)
		return -ENXIO;
	int64_t n = s_check(dev, pos, size);
	if (n < 0)
		return (int)n;
	if (n > 0)
		memcpy(buf, s_disk.bytes + pos, (size_t)n);
	return (size_t)n == size ? 0 : -EIO; /* short: past the end (driver.c) */
}

int dev_write(mfs_dev *dev, uint64_t pos, const void *buf, size_t size)
{
	if (dev->read_only)
		return -EROFS;
	if (!dev->open)
		return -ENXIO;
	int64_t n = s_check(dev, pos, size);
	if (n < 0)
		return (int)n;
	if (s_disk.failing && s_disk.writes_left == 0)
		return -EIO;
	if (s_disk.failing)
		s_disk.writes_left--;
	if (n > 0)
		memcpy(s_disk.bytes + pos, buf, (size_t)n);
	return (size_t)n == size ? 0 : -EIO;
}

int dev_flush(mfs_dev *dev)
{
	if (dev->read_only)
		return 0;
	return dev->open ? 0 : -ENXIO;
}

int dev_new_driver(mfs_dev *dev, const char *label, uint64_t generation)
{
	(void)generation;
	return strcmp(label, dev->label) == 0 ? 0 : -ENXIO;
}
