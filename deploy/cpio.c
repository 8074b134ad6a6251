/*
 * cpio.c — a newc ("070701") cpio writer with fixed owners and times, for the initramfs.
 *
 * Entry points: plx_cpio_write.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <plexus/image.h>

static long s_pad(FILE *out, long at)
{
	static const char zeros[4];
	long pad = (4 - at % 4) % 4;
	if (pad && fwrite(zeros, 1, (size_t)pad, out) != (size_t)pad)
		return -1;
	return pad;
}

/* One header, name and data; returns the bytes written or -1. */
static long s_entry(FILE *out, uint32_t ino, const plx_cpio_entry *e, uint32_t mtime)
{
	size_t namesize = strlen(e->path) + 1;
	uint32_t nlink = S_ISDIR(e->mode) ? 2 : 1;
	long n = fprintf(out, "070701%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X", ino,
	                 e->mode, 0u, 0u, nlink, mtime, e->size, 0u, 0u, e->rdev_major,
	                 e->rdev_minor, namesize, 0u);
	if (n != 110 || fwrite(e->path, 1, namesize, out) != namesize)
		return -1;
	n += (long)namesize;
	long pad = s_pad(out, n);
	if (pad < 0)
		return -1;
	n += pad;
	if (e->size && fwrite(e->data, 1, e->size, out) != e->size)
		return -1;
	n += (long)e->size;
	if ((pad = s_pad(out, n)) < 0)
		return -1;
	return n + pad;
}

long plx_cpio_write(FILE *out, const plx_cpio_entry *entries, size_t n, uint32_t mtime)
{
	long total = 0;
	for (size_t i = 0; i < n; i++) {
		long w = s_entry(out, (uint32_t)(i + 1), &entries[i], mtime);
		if (w < 0)
			return -EIO;
		total += w;
	}
	plx_cpio_entry trailer = {.path = "TRAILER!!!", .mode = 0};
	long w = s_entry(out, 0, &trailer, 0);
	if (w < 0 || fflush(out) != 0)
		return -EIO;
	return total + w;
}
