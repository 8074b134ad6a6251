/*
 * zone.c — where a file's blocks are: 7 direct zones, then a single, a double and a triple
 * indirect block (MINIX's read_map / write_map / truncate).
 *
 * Entry points: zone_map, zone_hole, zone_truncate, zone_ok.
 *
 * Every zone number read from disk is checked (zone_ok) before use: a bad one is -EIO.
 */
#include <errno.h>
#include <string.h>

#include "mfs.h"

static uint32_t s_get(const uint8_t *p, uint32_t i)
{
	return mfs_le32(p + 4 * (size_t)i);
}

static void s_set(uint8_t *p, uint32_t i, uint32_t v)
{
	p += 4 * (size_t)i;
	for (int k = 0; k < 4; k++)
		p[k] = (uint8_t)(v >> (8 * k));
}

bool zone_ok(const mfs *fs, uint32_t z)
{
	return z == 0 || (z >= fs->sb.firstdatazone && z < fs->sb.zones);
}

/* A new zone, its block zeroed in the cache when it is an indirect block. */
static int64_t s_new_zone(mfs *fs, bool zero)
{
	int64_t z = bitmap_alloc_zone(fs);
	if (z < 0 || !zero)
		return z;
	int rc = 0;
	mfs_buf *b = cache_get(&fs->cache, (uint64_t)z, MFS_NO_READ, &rc);
	if (!b)
		return rc;
	cache_put(&fs->cache, b, true);
	return z;
}

/* Follows (and with alloc fills) slot i of indirect block zone. */
static int64_t s_step(mfs *fs, uint32_t zone, uint32_t i, bool alloc, bool leaf, bool *fresh)
{
	int rc = 0;
	mfs_buf *b = cache_get(&fs->cache, zone, MFS_NORMAL, &rc);
	if (!b)
		return rc;
	uint32_t z = s_get(b->data, i);
	if (!zone_ok(fs, z)) {
		cache_put(&fs->cache, b, false);
		return -EIO;
	}
	if (z == 0 && alloc) {
		int64_t nz = s_new_zone(fs, !leaf);
		if (nz < 0) {
			cache_put(&fs->cache, b, false);
			return nz;
		}
		z = (uint32_t)nz;
		s_set(b->data, i, z);
		cache_put(&fs->cache, b, true);
		if (leaf && fresh)
			*fresh = true;
		return z;
	}
	cache_put(&fs->cache, b, false);
	return z;
}

/* zone_map, and when block n is a hole (without alloc), in *hole the number of blocks from n on
 * that are holes too: the rest of what the missing pointer would have covered. */
static int64_t s_map(mfs *fs, mfs_inode *ip, uint64_t n, bool alloc, bool *fresh, uint64_t *hole)
{
	if (fresh)
		*fresh = false;
	uint64_t nr = fs->nr_ind;
	int level, slot;
	if (n < MFS_NR_DZONES) {
		level = 0;
		slot = (int)n;
	} else if ((n -= MFS_NR_DZONES) < nr) {
		level = 1;
		slot = 7;
	} else if ((n -= nr) < nr * nr) {
		level = 2;
		slot = 8;
	} else if ((n -= nr * nr) < nr * nr * nr) {
		level = 3;
		slot = 9;
	} else {
		return -EFBIG;
	}
	uint32_t z = ip->d.zone[slot];
	if (!zone_ok(fs, z))
		return -EIO;
	uint64_t span = 1;
	for (int k = 0; k < level; k++)
		span *= nr;
	if (z == 0) {
		*hole = level ? span - n : 1;
		if (!alloc)
			return 0;
		int64_t nz = s_new_zone(fs, level > 0);
		if (nz < 0)
			return nz;
		z = ip->d.zone[slot] = (uint32_t)nz;
		ip->dirty = true;
		if (level == 0 && fresh)
			*fresh = true;
	}
	for (int l = level; l > 0; l--) {
		span /= nr;
		int64_t next = s_step(fs, z, (uint32_t)(n / span), alloc, l == 1, fresh);
		if (next == 0)
			*hole = span - n % span;
		if (next <= 0)
			return next;
		z = (uint32_t)next;
		n %= span;
	}
	return z;
}

int64_t zone_map(mfs *fs, mfs_inode *ip, uint64_t n, bool alloc, bool *fresh)
{
	uint64_t hole;
	return s_map(fs, ip, n, alloc, fresh, &hole);
}

uint64_t zone_hole(mfs *fs, mfs_inode *ip, uint64_t n)
{
	uint64_t hole = 1;
	return s_map(fs, ip, n, false, NULL, &hole) == 0 ? hole : 1;
}

/* Frees the part of the tree under *zp (level 0: a data zone) covering file blocks from
 * first on, keeping blocks below keep. Sets *changed when *zp changed. */
static int s_cut(mfs *fs, uint32_t *zp, int level, uint64_t first, uint64_t keep, bool *changed)
{
	if (*zp == 0)
		return 0;
	if (!zone_ok(fs, *zp))
		return -EIO;
	uint64_t span = 1;
	for (int k = 0; k < level; k++)
		span *= fs->nr_ind;
	if (first + span <= keep)
		return 0; /* wholly kept */
	int rc = 0;
	if (level > 0) {
		mfs_buf *b = cache_get(&fs->cache, *zp, MFS_NORMAL, &rc);
		if (!b)
			return rc;
		bool dirty = false;
		uint64_t child = span / fs->nr_ind;
		for (uint32_t i = 0; i < fs->nr_ind && rc == 0; i++) {
			uint32_t z = s_get(b->data, i);
			bool ch = false;
			rc = s_cut(fs, &z, level - 1, first + i * child, keep, &ch);
			if (ch) {
				s_set(b->data, i, z);
				dirty = true;
			}
		}
		cache_put(&fs->cache, b, dirty);
		if (rc < 0)
			return rc;
	}
	if (first >= keep) { /* nothing kept under it: free it too */
		rc = bitmap_free_zone(fs, *zp);
		*zp = 0;
		*changed = true;
	}
	return rc;
}

int zone_truncate(mfs *fs, mfs_inode *ip, uint64_t size)
{
	uint64_t keep = (size + fs->bs - 1) / fs->bs, nr = fs->nr_ind;
	uint64_t firsts[MFS_NR_ZONES];
	for (int i = 0; i < MFS_NR_DZONES; i++)
		firsts[i] = (uint64_t)i;
	firsts[7] = MFS_NR_DZONES;
	firsts[8] = firsts[7] + nr;
	firsts[9] = firsts[8] + nr * nr;
	int rc = 0;
	for (int i = 0; i < MFS_NR_ZONES && rc == 0; i++) {
		bool ch = false;
		int level = i < MFS_NR_DZONES ? 0 : i - 6;
		rc = s_cut(fs, &ip->d.zone[i], level, firsts[i], keep, &ch);
		ip->dirty |= ch;
	}
	if (rc < 0 || size % fs->bs == 0)
		return rc;
	int64_t z = zone_map(fs, ip, size / fs->bs, false, NULL); /* zero the last block's tail */
	if (z <= 0)
		return (int)z;
	mfs_buf *b = cache_get(&fs->cache, (uint64_t)z, MFS_NORMAL, &rc);
	if (!b)
		return rc;
	memset(b->data + size % fs->bs, 0, fs->bs - size % fs->bs);
	cache_put(&fs->cache, b, true);
	return 0;
}
