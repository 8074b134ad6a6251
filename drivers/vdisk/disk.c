/*
 * disk.c — plexus-vdisk's device: reads and writes on the image with preadv / pwritev, or
 * through an aligned bounce buffer with O_DIRECT; fdatasync for BDEV_FLUSH and for writes
 * flagged BDEV_FORCEWRITE.
 *
 * Entry points: vdisk_open, vdisk_ops.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plexus/proto/bdev.pb-c.h"
#include "vdisk.h"

int vdisk_open(vdisk *self)
{
	if (!self->sector_size)
		self->sector_size = self->direct ? VDISK_ALIGN : 512;
	int flags =
	    (self->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | (self->direct ? O_DIRECT : 0);
	int fd = open(self->path, flags);
	if (fd < 0)
		return -errno;
	struct stat st;
	uint64_t size = 0;
	int rc = fstat(fd, &st) < 0 ? -errno : 0;
	if (rc == 0 && S_ISBLK(st.st_mode))
		rc = ioctl(fd, BLKGETSIZE64, &size) < 0 ? -errno : 0;
	else if (rc == 0 && S_ISREG(st.st_mode))
		size = (uint64_t)st.st_size;
	else if (rc == 0)
		rc = -ENOTBLK;
	if (rc < 0) {
		close(fd);
		return rc;
	}
	self->fd = fd;
	self->size = size - size % self->sector_size;
	return 0;
}

static int s_part(void *arg, uint32_t minor, plx_bdev_part *part)
{
	vdisk *self = arg;
	if (minor != 0)
		return -ENXIO;
	*part = (plx_bdev_part){
	    .size = self->size, .sector_size = self->sector_size, .read_only = self->read_only};
	return 0;
}

/* preadv / pwritev until done, end of file or an error. */
static ssize_t s_plain(vdisk *self, bool write, uint64_t position, const struct iovec *iov,
                       int iovcnt)
{
	struct iovec v[PLX_BDEV_IOV_MAX];
	memcpy(v, iov, (size_t)iovcnt * sizeof *v);
	struct iovec *at = v;
	size_t done = 0;
	while (iovcnt > 0) {
		ssize_t n = write ? pwritev(self->fd, at, iovcnt, (off_t)(position + done))
		                  : preadv(self->fd, at, iovcnt, (off_t)(position + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return done ? (ssize_t)done : -errno;
		if (n == 0)
			break; /* the image shrank under us */
		done += (size_t)n;
		for (; iovcnt > 0 && (size_t)n >= at->iov_len; at++, iovcnt--)
			n -= (ssize_t)at->iov_len;
		if (iovcnt > 0) {
			at->iov_base = (uint8_t *)at->iov_base + n;
			at->iov_len -= (size_t)n;
		}
	}
	return (ssize_t)done;
}

/* O_DIRECT: one aligned bounce buffer between the vector and the device. */
static ssize_t s_direct(vdisk *self, bool write, uint64_t position, const struct iovec *iov,
                        int iovcnt)
{
	if (!self->bounce && posix_memalign((void **)&self->bounce, VDISK_ALIGN, PLX_BDEV_MAX_IO))
		return -ENOMEM;
	size_t total = 0;
	for (int i = 0; i < iovcnt; i++) {
		if (write)
			memcpy(self->bounce + total, iov[i].iov_base, iov[i].iov_len);
		total += iov[i].iov_len;
	}
	struct iovec one = {self->bounce, total};
	ssize_t n = s_plain(self, write, position, &one, 1);
	if (n > 0 && !write)
		for (size_t i = 0, off = 0; i < (size_t)iovcnt && off < (size_t)n; i++) {
			size_t len =
			    iov[i].iov_len < (size_t)n - off ? iov[i].iov_len : (size_t)n - off;
			memcpy(iov[i].iov_base, self->bounce + off, len);
			off += len;
		}
	return n;
}

static ssize_t s_transfer(void *arg, uint32_t minor, bool write, uint64_t position,
                          const struct iovec *iov, int iovcnt, uint32_t flags)
{
	(void)minor;
	vdisk *self = arg;
	ssize_t n = self->direct ? s_direct(self, write, position, iov, iovcnt)
	                         : s_plain(self, write, position, iov, iovcnt);
	if (n > 0 && write && (flags & PLEXUS__BDEV_FLAG__BDEV_FORCEWRITE) &&
	    fdatasync(self->fd) < 0)
		return -errno;
	return n;
}

static int s_flush(void *arg, uint32_t minor)
{
	(void)minor;
	vdisk *self = arg;
	if (self->read_only)
		return 0;
	return fdatasync(self->fd) < 0 ? -errno : 0;
}

static void s_cleanup(void *arg)
{
	vdisk *self = arg;
	if (self->fd >= 0)
		close(self->fd);
	self->fd = -1;
	free(self->bounce);
	self->bounce = NULL;
}

const plx_blockdriver_ops vdisk_ops = {
    .part = s_part,
    .transfer = s_transfer,
    .flush = s_flush,
    .cleanup = s_cleanup,
};
