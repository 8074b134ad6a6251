/*
 * verify.c — what plexus-mfs checks of an image it does not trust (docs/mfs.md "Untrusted
 * images"): it never hands out a zone or an inode that is in use, whatever the bitmaps say,
 * and a directory is reached under one name only.
 *
 * Entry points: verify_mount, verify_unmount (the checks at allocation are claims.c's, the
 * check of a name dir.c's dir_named_ok).
 *
 * At mount every inode in use (mode set) is read and each zone it uses, indirect blocks
 * included, marked in a map kept in memory; the zone bitmap saying such a zone is free, or a
 * zone claimed twice, is reported then. An allocation that the bitmap allows but the map
 * refuses costs the caller EIO (the zone keeps its bit, now right) instead of overwriting a
 * file; a zone claimed twice stays in use when one of its files lets it go. An inode is
 * handed out only if its mode on disk is 0. An inode found under a name must have links (one
 * read with none that is no orphan is never freed: inode.c). A directory looked up under a
 * name other than ".." must name the directory it is in as its "..": a second name of a
 * directory (a hard link, or a cycle such as a/b/loop -> a) costs EIO, so no walk recurses
 * forever.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <plexus/log.h>

#include "mfs.h"

/* What the scan at mount found. */
typedef struct s_found {
	uint64_t marked, twice, unmarked;
	uint8_t *walked[3]; /* bit per zone: its contents marked as an indirect block of level */
	int rc;
} s_found;

static bool s_has(const mfs *fs, uint32_t z)
{
	return z != 0 && zone_ok(fs, z);
}

/* Marks zone z in use (a bad number was EIO for its file already: skipped here). */
static void s_mark(mfs *fs, s_found *f, uint32_t z)
{
	if (!s_has(fs, z))
		return;
	uint32_t bit = z - fs->sb.firstdatazone + 1;
	if (mfs_bit_get(fs->zones_used, bit) && !mfs_bit_get(fs->zones_shared, bit)) {
		mfs_bit_set(fs->zones_shared, bit);
		f->twice++;
	}
	mfs_bit_set(fs->zones_used, bit);
	f->marked++;
}

/* Marks indirect block z and, level deep, the zones it names. */
static void s_mark_tree(mfs *fs, s_found *f, uint32_t z, int level)
{
	if (!s_has(fs, z) || f->rc < 0)
		return;
	s_mark(fs, f, z);
	uint32_t bit = z - fs->sb.firstdatazone + 1;
	if (mfs_bit_get(f->walked[level], bit)) /* claimed again at this level: marked already */
		return;
	mfs_bit_set(f->walked[level], bit);
	mfs_buf *b = cache_get(&fs->cache, z, MFS_NORMAL, &f->rc);
	if (!b)
		return;
	uint32_t *names = malloc(fs->nr_ind * sizeof *names);
	if (names)
		for (uint32_t i = 0; i < fs->nr_ind; i++)
			names[i] = mfs_le32(b->data + 4 * (size_t)i);
	cache_put(&fs->cache, b, false); /* not held while the levels below are read */
	if (!names) {
		f->rc = -ENOMEM;
		return;
	}
	for (uint32_t i = 0; i < fs->nr_ind; i++) {
		if (level == 0)
			s_mark(fs, f, names[i]);
		else
			s_mark_tree(fs, f, names[i], level - 1);
	}
	free(names);
}

/* Marks what inode d uses: only files, directories and links have zones. */
static void s_mark_inode(mfs *fs, s_found *f, const mfs_dinode *d)
{
	uint16_t type = d->mode & S_IFMT;
	if (type != S_IFREG && type != S_IFDIR && type != S_IFLNK)
		return;
	for (int i = 0; i < MFS_NR_DZONES; i++)
		s_mark(fs, f, d->zone[i]);
	for (int level = 0; level < 3; level++)
		s_mark_tree(fs, f, d->zone[MFS_NR_DZONES + level], level);
}

/* inode_scan's visit: marks what the inode uses; stops at an I/O error. */
static int s_mark_used(mfs *fs, uint32_t ino, const mfs_dinode *d, void *arg)
{
	(void)ino;
	s_found *f = arg;
	s_mark_inode(fs, f, d);
	return f->rc;
}

/* Reads the whole inode table and marks every zone in use. */
static void s_scan(mfs *fs, s_found *f)
{
	int rc = inode_scan(fs, s_mark_used, f);
	if (f->rc == 0)
		f->rc = rc;
}

static void s_compare(mfs *fs, s_found *f)
{
	uint64_t per = (uint64_t)fs->bs * 8, nbits = fs->zones_used_bits;
	uint64_t first = MFS_START_BLOCK + (uint64_t)fs->sb.imap_blocks;
	for (uint32_t blk = 0; blk < fs->sb.zmap_blocks && f->rc == 0; blk++) {
		mfs_buf *b = cache_get(&fs->cache, first + blk, MFS_NORMAL, &f->rc);
		for (uint64_t i = 0; b && i < per && blk * per + i < nbits; i++)
			f->unmarked += mfs_bit_get(fs->zones_used, (uint32_t)(blk * per + i)) &&
			               !mfs_bit_get(b->data, (uint32_t)i);
		cache_put(&fs->cache, b, false);
	}
}

int verify_mount(mfs *fs, const char *driver)
{
	fs->zones_used_bits = (uint64_t)fs->sb.zones - fs->sb.firstdatazone + 1;
	fs->zones_used = calloc((size_t)(fs->zones_used_bits + 7) / 8, 1);
	fs->zones_shared = calloc((size_t)(fs->zones_used_bits + 7) / 8, 1);
	fs->zone_lie_told = false;
	if (!fs->zones_used || !fs->zones_shared) {
		verify_unmount(fs);
		return -ENOMEM;
	}
	s_found f = {0};
	for (int level = 0; level < 3; level++)
		if (!(f.walked[level] = calloc((size_t)(fs->zones_used_bits + 7) / 8, 1)))
			f.rc = -ENOMEM;
	if (f.rc == 0)
		s_scan(fs, &f);
	for (int level = 0; level < 3; level++)
		free(f.walked[level]);
	if (f.rc == 0)
		s_compare(fs, &f);
	if (f.rc < 0) {
		verify_unmount(fs);
		return f.rc;
	}
	if (f.unmarked || f.twice)
		plx_log(PLX_LOG_WARN,
		        "%s minor %u is damaged: %llu zones in use are free in the "
		        "zone bitmap, %llu zones are claimed twice; they are never handed out "
		        "(EIO instead): fsck.minix repairs it",
		        driver, fs->dev.minor, (unsigned long long)f.unmarked,
		        (unsigned long long)f.twice);
	return 0;
}

void verify_unmount(mfs *fs)
{
	free(fs->zones_used);
	free(fs->zones_shared);
	fs->zones_used = fs->zones_shared = NULL;
	fs->zones_used_bits = 0;
}
