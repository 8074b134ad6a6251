/*
 * ramdisk.c — plexus-memory's block devices: RAM disks of any size up to 1 TiB, allocated
 * lazily by the kernel page by page as they are written, in memfds the node kernel keeps for
 * the driver's next generation (docs/drivers.md "memory").
 *
 * Entry points: ramdisks_new, ramdisks_destroy, ramdisks_add, ramdisks_map, ramdisks_count,
 * ramdisk_ops.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <plexus/log.h>
#include <plexus/service.h>

#include "memory.h"

typedef struct ramdisk {
	uint8_t *base; /* NULL: no disk on this minor */
	uint64_t size;
	char *image; /* what a new disk starts with (MINOR:SIZE:IMAGE), or NULL: zeros */
} ramdisk;

struct ramdisks {
	ramdisk disk[PLX_BDEV_MINORS];
	int count;
};

ramdisks *ramdisks_new(void)
{
	return calloc(1, sizeof(ramdisks));
}

void ramdisks_destroy(ramdisks **self_p)
{
	if (!self_p || !*self_p)
		return;
	for (int i = 0; i < PLX_BDEV_MINORS; i++) {
		if ((*self_p)->disk[i].base)
			munmap((*self_p)->disk[i].base, (*self_p)->disk[i].size);
		free((*self_p)->disk[i].image);
	}
	free(*self_p);
	*self_p = NULL;
}

int ramdisks_count(const ramdisks *self)
{
	return self->count;
}

/* Parses SIZE with an optional binary suffix. Returns 0 or -EINVAL. */
static int s_size(const char *text, uint64_t *bytes)
{
	char *end;
	errno = 0;
	unsigned long long n = strtoull(text, &end, 10);
	if (errno || end == text || *text == '-')
		return -EINVAL;
	int shift = 0;
	switch (*end) {
	case 'T':
		shift += 10; /* fall through */
	case 'G':
		shift += 10; /* fall through */
	case 'M':
		shift += 10; /* fall through */
	case 'K':
		shift += 10;
		end++;
		break;
	case '\0':
		break;
	default:
		return -EINVAL;
	}
	if (*end != '\0' || n > (RAMDISK_MAX >> shift))
		return -EINVAL;
	*bytes = (uint64_t)n << shift;
	return 0;
}

int ramdisks_add(ramdisks *self, const char *spec, char *err, size_t size)
{
	char *end, text[64] = "";
	errno = 0;
	unsigned long minor = strtoul(spec, &end, 10);
	uint64_t bytes = 0;
	const char *image = *end == ':' ? strchr(end + 1, ':') : NULL;
	size_t size_len = image ? (size_t)(image - end - 1) : strlen(end + (*end == ':'));
	if (size_len < sizeof text)
		memcpy(text, end + (*end == ':'), size_len), text[size_len] = '\0';
	if (errno || end == spec || *end != ':' || *spec == '-' || minor >= PLX_BDEV_MINORS ||
	    s_size(text, &bytes) < 0 || bytes == 0 || bytes % RAMDISK_SECTOR != 0 ||
	    (image && !image[1])) {
		snprintf(
		    err, size,
		    "bad --ramdisk '%s': want MINOR:SIZE[:IMAGE], minor 0..%d, size a multiple "
		    "of %d bytes up to 1T (suffix K, M, G, T)",
		    spec, PLX_BDEV_MINORS - 1, RAMDISK_SECTOR);
		return -EINVAL;
	}
	if (self->disk[minor].size) {
		snprintf(err, size, "--ramdisk: minor %lu given twice", minor);
		return -EEXIST;
	}
	self->disk[minor] = (ramdisk){.size = bytes, .image = image ? strdup(image + 1) : NULL};
	if (image && !self->disk[minor].image)
		return -ENOMEM;
	self->count++;
	return 0;
}

/* Copies image's data (its holes stay holes, so the disk stays sparse) into the new disk at
 * fd of bytes bytes; more than fits is an error. Returns 0 or a negative errno. */
static int s_load(int fd, const char *image, uint64_t bytes)
{
	int in = open(image, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (in < 0 || fstat(in, &st) < 0) {
		int rc = -errno;
		if (in >= 0)
			close(in);
		return rc;
	}
	int rc = (uint64_t)st.st_size > bytes ? -EFBIG : 0;
	char buf[65536];
	for (off_t at = 0; rc == 0 && at < st.st_size;) {
		off_t data = lseek(in, at, SEEK_DATA);
		if (data < 0)
			break; /* ENXIO: only a hole is left */
		off_t hole = lseek(in, data, SEEK_HOLE);
		for (at = data; rc == 0 && at < hole;) {
			size_t want =
			    (size_t)(hole - at) < sizeof buf ? (size_t)(hole - at) : sizeof buf;
			ssize_t n = pread(in, buf, want, at);
			if (n <= 0 || pwrite(fd, buf, (size_t)n, at) != n)
				rc = n == 0 ? -EIO : -errno;
			at += n > 0 ? n : 0;
		}
	}
	close(in);
	return rc;
}

/* The memory of disk minor: kept by the previous instance (*kept) or new, loaded from image
 * when one is given. Returns an fd or a negative errno. */
static int s_memory(uint32_t minor, uint64_t bytes, const char *image, bool *kept)
{
	char name[32];
	snprintf(name, sizeof name, "ramdisk.%u", minor);
	int fd = plx_service_fd_restore(name);
	struct stat st;
	*kept = fd >= 0 && fstat(fd, &st) == 0 && (uint64_t)st.st_size == bytes;
	if (*kept)
		return fd;
	if (fd >= 0)
		close(fd); /* another size: the disk is new */
	fd = memfd_create(name, MFD_CLOEXEC);
	int rc = fd < 0 || ftruncate(fd, (off_t)bytes) < 0 ? -errno : 0;
	if (rc == 0 && image)
		rc = s_load(fd, image, bytes);
	if (rc < 0) {
		if (fd >= 0)
			close(fd);
		return rc;
	}
	rc = plx_service_fd_store(name, fd);
	if (rc < 0 && rc != -ENOTSUP) /* -ENOTSUP: run by hand, nobody to keep it */
		plx_log(PLX_LOG_WARN, "keeping RAM disk %u for a restart: %s", minor,
		        strerror(-rc));
	return fd;
}

int ramdisks_map(ramdisks *self, char *err, size_t size)
{
	for (uint32_t minor = 0; minor < PLX_BDEV_MINORS; minor++) {
		ramdisk *d = &self->disk[minor];
		if (!d->size || d->base)
			continue;
		bool kept = false;
		int fd = s_memory(minor, d->size, d->image, &kept);
		void *base = fd < 0
		                 ? MAP_FAILED
		                 : mmap(NULL, d->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		int e = fd < 0 ? -fd : errno;
		if (fd >= 0)
			close(fd); /* the mapping and the store hold it */
		if (base == MAP_FAILED && d->image && fd < 0) {
			snprintf(err, size, "RAM disk %u: cannot load %s: %s", minor, d->image,
			         strerror(e));
			return -e;
		}
		if (base == MAP_FAILED) {
			snprintf(err, size, "RAM disk %u: cannot map %" PRIu64 " bytes: %s", minor,
			         d->size, strerror(e));
			return -ENOMEM;
		}
		d->base = base;
		if (kept)
			plx_log(PLX_LOG_INFO,
			        "RAM disk %u: %" PRIu64 " bytes kept from the previous instance",
			        minor, d->size);
		else if (d->image)
			plx_log(PLX_LOG_INFO, "RAM disk %u: loaded from %s", minor, d->image);
	}
	return 0;
}

static int s_part(void *arg, uint32_t minor, plx_bdev_part *part)
{
	ramdisks *self = arg;
	if (!self->disk[minor].base)
		return -ENXIO;
	*part = (plx_bdev_part){.size = self->disk[minor].size, .sector_size = RAMDISK_SECTOR};
	return 0;
}

/* The library has checked that the vector lies inside the disk. */
static ssize_t s_transfer(void *arg, uint32_t minor, bool write, uint64_t position,
                          const struct iovec *iov, int iovcnt, uint32_t flags)
{
	(void)flags; /* RAM is as stable as it gets */
	ramdisks *self = arg;
	uint8_t *at = self->disk[minor].base + position;
	size_t done = 0;
	for (int i = 0; i < iovcnt; i++) {
		if (write)
			memcpy(at + done, iov[i].iov_base, iov[i].iov_len);
		else
			memcpy(iov[i].iov_base, at + done, iov[i].iov_len);
		done += iov[i].iov_len;
	}
	return (ssize_t)done;
}

const plx_blockdriver_ops ramdisk_ops = {
    .part = s_part,
    .transfer = s_transfer,
};
