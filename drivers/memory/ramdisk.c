/*
 * ramdisk.c — plexus-memory's block devices: RAM disks of any size up to 1 TiB, allocated
 * lazily by the kernel page by page as they are written, in memfds the node kernel keeps for
 * the driver's next generation (docs/drivers.md "memory").
 *
 * Entry points: ramdisks_new, ramdisks_destroy, ramdisks_add, ramdisks_map, ramdisks_count,
 * ramdisk_ops.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <plexus/service.h>

#include "memory.h"

typedef struct ramdisk {
	uint8_t *base; /* NULL: no disk on this minor */
	uint64_t size;
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
	for (int i = 0; i < PLX_BDEV_MINORS; i++)
		if ((*self_p)->disk[i].base)
			munmap((*self_p)->disk[i].base, (*self_p)->disk[i].size);
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
	char *end;
	errno = 0;
	unsigned long minor = strtoul(spec, &end, 10);
	uint64_t bytes = 0;
	if (errno || end == spec || *end != ':' || *spec == '-' || minor >= PLX_BDEV_MINORS ||
	    s_size(end + 1, &bytes) < 0 || bytes == 0 || bytes % RAMDISK_SECTOR != 0) {
		snprintf(err, size,
		         "bad --ramdisk '%s': want MINOR:SIZE, minor 0..%d, size a multiple of %d "
		         "bytes up to 1T (suffix K, M, G, T)",
		         spec, PLX_BDEV_MINORS - 1, RAMDISK_SECTOR);
		return -EINVAL;
	}
	if (self->disk[minor].size) {
		snprintf(err, size, "--ramdisk: minor %lu given twice", minor);
		return -EEXIST;
	}
	self->disk[minor] = (ramdisk){.size = bytes};
	self->count++;
	return 0;
}

/* The memory of disk minor: kept by the previous instance (*kept) or new. Returns an fd or a
 * negative errno. */
static int s_memory(uint32_t minor, uint64_t bytes, bool *kept)
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
	if (fd < 0 || ftruncate(fd, (off_t)bytes) < 0) {
		int rc = -errno;
		if (fd >= 0)
			close(fd);
		return rc;
	}
	int rc = plx_service_fd_store(name, fd);
	if (rc < 0 && rc != -ENOTSUP) /* -ENOTSUP: run by hand, nobody to keep it */
		fprintf(stderr, "plexus-memory: keeping RAM disk %u for a restart: %s\n", minor,
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
		int fd = s_memory(minor, d->size, &kept);
		void *base = fd < 0
		                 ? MAP_FAILED
		                 : mmap(NULL, d->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		int e = fd < 0 ? -fd : errno;
		if (fd >= 0)
			close(fd); /* the mapping and the store hold it */
		if (base == MAP_FAILED) {
			snprintf(err, size, "RAM disk %u: cannot map %" PRIu64 " bytes: %s", minor,
			         d->size, strerror(e));
			return -ENOMEM;
		}
		d->base = base;
		if (kept)
			fprintf(stderr,
			        "plexus-memory: RAM disk %u: %" PRIu64
			        " bytes kept from the previous instance\n",
			        minor, d->size);
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
