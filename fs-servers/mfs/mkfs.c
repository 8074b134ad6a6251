/*
 * mkfs.c — `plexus mkfs [-b BLOCKSIZE] [-i INODES] [--size SIZE] [--journal SIZE] TARGET`:
 * writes a new MINIX v3 file system (format.c lays it out) to an image file, created or
 * extended to SIZE, or to LABEL:MINOR of a block driver through BDEV, followed by an empty
 * journal for plexus-mfs past the file system's last zone.
 *
 * Entry points: plx_mkfs_cli.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <plexus/link_keys.h>
#include <plexus/bdev.h>
#include <plexus/endpoint.h>
#include <plexus/etcd.h>
#include <plexus/mkfs_cli.h>

#include "format.h"
#include "plexus/proto/bdev.pb-c.h"

static void s_usage(FILE *out)
{
	fprintf(out,
	        "usage: plexus mkfs [-b BLOCKSIZE] [-i INODES] [--size SIZE] [--journal SIZE]\n"
	        "                   TARGET\n\n"
	        "Writes a new, empty MINIX file system (v3, as mkfs.minix -3 does; docs/mfs.md)\n"
	        "for plexus-mfs. TARGET is an image file (created, or extended to SIZE) or\n"
	        "LABEL:MINOR of a block driver, written through BDEV.\n\n"
	        "options:\n"
	        "  -b, --block-size N   block size: 1024 (default; fsck.minix checks only this;\n"
	        "                       a driver's sector size when larger), 2048, ..., 32768\n"
	        "  -i, --inodes N       inodes (default one per three blocks)\n"
	        "  --size SIZE          bytes to use (suffix K, M, G); default: an image file's\n"
	        "                       size, a driver minor's size\n"
	        "  --journal SIZE       room kept after the file system for plexus-mfs's journal\n"
	        "                       (crash consistency; docs/mfs.md); default SIZE/32 between\n"
	        "                       16 and 4096 blocks, none under 1024 blocks; 0: none (the\n"
	        "                       device then holds exactly what mkfs.minix -3 writes)\n"
	        "  --etcd URL[,URL...]  etcd members, for LABEL:MINOR (default $PLEXUS_ETCD)\n"
	        "  --cluster NAME       (default $PLEXUS_CLUSTER, else \"default\")\n"
	        "  --help               this text\n");
}

static int s_size(const char *text, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	uint64_t mul = 1;
	if (*end == 'K' || *end == 'k')
		mul = 1ull << 10;
	else if (*end == 'M' || *end == 'm')
		mul = 1ull << 20;
	else if (*end == 'G' || *end == 'g')
		mul = 1ull << 30;
	else if (*end == 'T' || *end == 't')
		mul = 1ull << 40;
	if (mul > 1)
		end++;
	if (errno || end == text || *end || *text == '-' || v > UINT64_MAX / mul)
		return -EINVAL;
	*out = v * mul;
	return 0;
}

static int s_file_write(void *arg, uint64_t pos, const void *buf, size_t size)
{
	int fd = *(int *)arg;
	for (size_t done = 0; done < size;) {
		ssize_t n = pwrite(fd, (const char *)buf + done, size - done, (off_t)(pos + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t)n;
	}
	return 0;
}

/* Writes to a driver go through a staging buffer: mfs_mkfs_write writes one stream of
 * consecutive pieces from byte 0 on, some smaller than a sector; the driver gets whole
 * sectors, at most S_STAGE bytes at a time, the last one padded with zeros (free space). */
#define S_STAGE (1024u * 1024)

typedef struct s_drv {
	plx_bdev *bdev;
	uint32_t minor;
	uint32_t sector;
	uint64_t base; /* where buf starts on the device */
	size_t len;
	uint8_t *buf; /* S_STAGE bytes */
} s_drv;

/* Writes the staged bytes, padded to whole sectors (all when last). */
static int s_drv_flush(s_drv *d, bool last)
{
	size_t whole = last ? (d->len + d->sector - 1) / d->sector * d->sector
	                    : d->len / d->sector * d->sector;
	if (whole == 0)
		return 0;
	memset(d->buf + d->len, 0, whole > d->len ? whole - d->len : 0);
	ssize_t n = plx_bdev_write(d->bdev, d->minor, d->base, d->buf, whole, 0);
	if (n < 0)
		return (int)n;
	if ((size_t)n != whole)
		return -ENOSPC;
	size_t rest = d->len > whole ? d->len - whole : 0;
	memmove(d->buf, d->buf + whole, rest);
	d->base += whole;
	d->len = rest;
	return 0;
}

static int s_drv_write(void *arg, uint64_t pos, const void *buf, size_t size)
{
	s_drv *d = arg;
	if (pos != d->base + d->len) { /* a new stream (the journal's header): whole sectors */
		int rc = pos % d->sector ? -EINVAL : s_drv_flush(d, true);
		if (rc < 0)
			return rc;
		d->base = pos;
		d->len = 0;
	}
	const uint8_t *p = buf;
	while (size) {
		size_t room = S_STAGE - d->len, n = size < room ? size : room;
		memcpy(d->buf + d->len, p, n);
		d->len += n;
		p += n;
		size -= n;
		if (d->len == S_STAGE) {
			int rc = s_drv_flush(d, false);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

/* The journal's size in blocks: --journal's bytes, or the default for the size. */
static void s_journal(mfs_mkfs_opts *o, int64_t journal_bytes)
{
	uint32_t bs = o->block_size ? o->block_size : MFS_BLOCK_MIN;
	if (journal_bytes < 0)
		o->journal = mfs_journal_default(o->size, bs);
	else
		o->journal = (uint32_t)((uint64_t)journal_bytes / bs);
}

static int s_layout(mfs_mkfs_opts *o, mfs_super *sb)
{
	char err[256];
	if (mfs_mkfs_layout(o, sb, err, sizeof err) < 0) {
		fprintf(stderr, "plexus mkfs: %s\n", err);
		return EX_USAGE;
	}
	return EX_OK;
}

static void s_report(const char *target, const mfs_super *sb, uint32_t journal)
{
	if (journal)
		printf("%s: journal of %u blocks after block %u\n", target, journal, sb->zones);
	printf("%s: MINIX v3, %u-byte blocks, %u blocks, %u inodes, first data zone %u\n", target,
	       sb->block_size, sb->zones, sb->ninodes, sb->firstdatazone);
}

static int s_to_file(const char *path, mfs_mkfs_opts *o, int64_t journal_bytes)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "plexus mkfs: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return EX_CANTCREAT;
	}
	if (!o->size)
		o->size = (uint64_t)st.st_size;
	s_journal(o, journal_bytes);
	mfs_super sb;
	int code = s_layout(o, &sb);
	if (code == EX_OK && S_ISREG(st.st_mode) && (uint64_t)st.st_size < o->size &&
	    ftruncate(fd, (off_t)o->size) < 0) {
		fprintf(stderr, "plexus mkfs: %s: extending to %llu bytes: %s\n", path,
		        (unsigned long long)o->size, strerror(errno));
		code = EX_IOERR;
	}
	int rc = code == EX_OK ? mfs_mkfs_write(&sb, (uint32_t)time(NULL), (uint16_t)getuid(),
	                                        (uint16_t)getgid(), s_file_write, &fd)
	                       : 0;
	if (code == EX_OK && rc == 0 && o->journal)
		rc = mfs_journal_write_empty(&sb, o->journal, s_file_write, &fd);
	if (code == EX_OK && (rc < 0 || fsync(fd) < 0)) {
		fprintf(stderr, "plexus mkfs: writing %s: %s\n", path,
		        strerror(rc < 0 ? -rc : errno));
		code = EX_IOERR;
	}
	close(fd);
	if (code == EX_OK)
		s_report(path, &sb, o->journal);
	return code;
}

static const char *s_env(const char *name, const char *fallback)
{
	const char *v = getenv(name);
	return v && *v ? v : fallback;
}

/* Writes to label:minor through BDEV from an endpoint of this process. */
static int s_to_driver(const char *label, uint32_t minor, mfs_mkfs_opts *o, int64_t journal_bytes,
                       const char *etcd_url, const char *cluster)
{
	plx_etcd *etcd = plx_etcd_new(&(plx_etcd_opts){.endpoints = etcd_url});
	plx_ctx *ctx = etcd ? plx_ctx_new() : NULL;
	plx_epcache *cache = ctx ? plx_epcache_new(etcd, cluster, ctx) : NULL;
	char name[PLX_LABEL_MAX];
	snprintf(name, sizeof name, "mkfs-%d", (int)getpid());
	plx_ep *ep = cache ? plx_ep_new(ctx, name, 1) : NULL;
	char err[512];
	if (ep && plx_link_secure(ctx, ep, err, sizeof err) < 0) {
		fprintf(stderr, "plexus mkfs: %s\n", err);
		plx_ep_destroy(&ep);
	}
	plx_bdev *bdev = ep ? plx_bdev_new(ep, label, 10000) : NULL;
	int code = EX_OK, rc = 0;
	if (!bdev) {
		fprintf(stderr, "plexus mkfs: cannot reach the registry at %s (cluster %s)\n",
		        etcd_url, cluster);
		code = EX_UNAVAILABLE;
	} else if ((rc = plx_bdev_open(bdev, minor,
	                               PLEXUS__BDEV_ACCESS__BDEV_R_BIT |
	                                   PLEXUS__BDEV_ACCESS__BDEV_W_BIT)) < 0) {
		fprintf(stderr, "plexus mkfs: opening %s minor %u: %s\n", label, minor,
		        plx_strerror(rc));
		code = EX_UNAVAILABLE;
	} else {
		plx_bdev_info info;
		rc = plx_bdev_info_get(bdev, minor, &info);
		if (rc == 0 && (!o->size || o->size > info.size))
			o->size = info.size;
		mfs_super sb;
		if (rc == 0 && !o->block_size) /* blocks no smaller than the driver's sectors */
			o->block_size = info.sector_size > 1024 ? info.sector_size : 1024;
		if (rc == 0)
			s_journal(o, journal_bytes);
		code = rc < 0 ? EX_IOERR : s_layout(o, &sb);
		s_drv d = {.bdev = bdev,
		           .minor = minor,
		           .sector = info.sector_size ? info.sector_size : 512};
		d.buf = code == EX_OK ? malloc(S_STAGE + d.sector) : NULL;
		if (code == EX_OK && !d.buf)
			rc = -ENOMEM;
		if (code == EX_OK && rc == 0)
			rc = mfs_mkfs_write(&sb, (uint32_t)time(NULL), 0, 0, s_drv_write, &d);
		if (code == EX_OK && rc == 0 && o->journal)
			rc = mfs_journal_write_empty(&sb, o->journal, s_drv_write, &d);
		if (code == EX_OK && rc == 0)
			rc = s_drv_flush(&d, true);
		free(d.buf);
		if (code == EX_OK && rc == 0)
			rc = plx_bdev_flush(bdev, minor);
		if (code == EX_OK && rc < 0) {
			fprintf(stderr, "plexus mkfs: writing %s minor %u: %s\n", label, minor,
			        plx_strerror(rc));
			code = EX_IOERR;
		}
		if (code == EX_OK) {
			char target[PLX_LABEL_MAX + 16];
			snprintf(target, sizeof target, "%s:%u", label, minor);
			s_report(target, &sb, o->journal);
		}
		plx_bdev_close(bdev, minor);
	}
	plx_bdev_destroy(&bdev);
	plx_ep_destroy(&ep);
	plx_epcache_destroy(&cache);
	plx_ctx_destroy(&ctx);
	plx_etcd_destroy(&etcd);
	return code;
}

/* LABEL:MINOR when target is no existing file and looks like one. */
static bool s_driver_target(const char *target, char *label, size_t size, uint32_t *minor)
{
	struct stat st;
	const char *colon = strrchr(target, ':');
	if (!colon || strchr(target, '/') || stat(target, &st) == 0 || colon == target ||
	    (size_t)(colon - target) >= size)
		return false;
	char *end;
	unsigned long m = strtoul(colon + 1, &end, 10);
	if (end == colon + 1 || *end || m > UINT32_MAX)
		return false;
	snprintf(label, size, "%.*s", (int)(colon - target), target);
	*minor = (uint32_t)m;
	return true;
}

int plx_mkfs_cli(int argc, char **argv)
{
	static const struct option longopts[] = {{"block-size", required_argument, NULL, 'b'},
	                                         {"inodes", required_argument, NULL, 'i'},
	                                         {"size", required_argument, NULL, 's'},
	                                         {"etcd", required_argument, NULL, 'e'},
	                                         {"cluster", required_argument, NULL, 'c'},
	                                         {"journal", required_argument, NULL, 'j'},
	                                         {"help", no_argument, NULL, 'h'},
	                                         {NULL, 0, NULL, 0}};
	mfs_mkfs_opts o = {0};
	int64_t journal = -1; /* bytes; -1: the default for the size */
	const char *etcd = s_env("PLEXUS_ETCD", PLX_ETCD_DEFAULT_URL);
	const char *cluster = s_env("PLEXUS_CLUSTER", "default");
	uint64_t v;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "b:i:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
		case 'i':
			if (s_size(optarg, &v) < 0 || v > UINT32_MAX) {
				fprintf(stderr, "plexus mkfs: bad -%c '%s'\n", c, optarg);
				return EX_USAGE;
			}
			*(c == 'b' ? &o.block_size : &o.inodes) = (uint32_t)v;
			break;
		case 's':
			if (s_size(optarg, &o.size) < 0) {
				fprintf(stderr, "plexus mkfs: bad --size '%s'\n", optarg);
				return EX_USAGE;
			}
			break;
		case 'j':
			if (s_size(optarg, &v) < 0 || v > INT64_MAX) {
				fprintf(stderr, "plexus mkfs: bad --journal '%s'\n", optarg);
				return EX_USAGE;
			}
			journal = (int64_t)v;
			break;
		case 'e':
			etcd = optarg;
			break;
		case 'c':
			cluster = optarg;
			break;
		case 'h':
			s_usage(stdout);
			return EX_OK;
		default:
			s_usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc - 1) {
		s_usage(stderr);
		return EX_USAGE;
	}
	const char *target = argv[optind];
	char label[PLX_LABEL_MAX];
	uint32_t minor;
	if (s_driver_target(target, label, sizeof label, &minor))
		return s_to_driver(label, minor, &o, journal, etcd, cluster);
	return s_to_file(target, &o, journal);
}
