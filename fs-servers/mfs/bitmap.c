/*
 * bitmap.c — allocation of inodes and zones from the on-disk bitmaps (read and changed
 * through the buffer cache).
 *
 * Entry points: bitmap_alloc_zone, bitmap_alloc_inode, bitmap_free_zone, bitmap_free_inode,
 * bitmap_count.
 *
 * Inode bitmap bit i is inode i; zone bitmap bit z - firstdatazone + 1 is zone z (format.h).
 * Searches start at a hint (the last bit handed out or freed lower), as MINIX's s_isearch and
 * s_zsearch, and wrap around once. A zone or an inode freed in the open journal transaction
 * is not handed out before it committed (journal.c); a zone a file uses is never handed out,
 * whatever the bitmap says (verify.c).
 */
#include <errno.h>
#include <stdio.h>

#include "mfs.h"

typedef struct s_map {
	uint64_t first_block; /* of the map */
	uint32_t blocks;
	uint64_t nbits; /* valid bits, bit 0 included */
} s_map;

static s_map s_imap(const mfs *fs)
{
	return (s_map){MFS_START_BLOCK, fs->sb.imap_blocks, (uint64_t)fs->sb.ninodes + 1};
}

static s_map s_zmap(const mfs *fs)
{
	return (s_map){MFS_START_BLOCK + fs->sb.imap_blocks, fs->sb.zmap_blocks,
	               (uint64_t)fs->sb.zones - fs->sb.firstdatazone + 1};
}

/* Whether bit of the zone map (zones) or of the inode map was freed in the open transaction
 * (journal.c). */
static bool s_busy(const mfs *fs, uint64_t bit, bool zones)
{
	return zones ? journal_zone_busy(fs, bit) : journal_inode_busy(fs, bit);
}

/* The first clear bit of map at or after s that may be handed out: not one freed in the open
 * transaction. -1 when none. */
static int64_t s_find_clear(const mfs *fs, const uint8_t *map, uint64_t lo, uint32_t nbits,
                            uint32_t s, bool zones)
{
	int64_t bit = mfs_bit_find_clear(map, nbits, s);
	while (bit >= 0 && s_busy(fs, lo + (uint64_t)bit, zones))
		bit = mfs_bit_find_clear(map, nbits, (uint32_t)bit + 1);
	return bit;
}

/* Finds and sets a clear bit at or after *hint (wrapping once). Returns it or -ENOSPC. */
static int64_t s_alloc(mfs *fs, s_map m, uint32_t *hint, bool zones)
{
	uint64_t per = (uint64_t)fs->bs * 8;
	uint64_t start = *hint < m.nbits ? *hint : 1;
	for (int pass = 0; pass < 2; pass++) {
		uint64_t from = pass ? 1 : start, to = pass ? start + 1 : m.nbits;
		if (to > m.nbits)
			to = m.nbits;
		for (uint64_t blk = from / per; blk * per < to && blk < m.blocks; blk++) {
			int rc = 0;
			mfs_buf *b = cache_get(&fs->cache, m.first_block + blk, MFS_NORMAL, &rc);
			if (!b)
				return rc;
			uint64_t lo = blk * per, hi = lo + per < to ? lo + per : to;
			uint32_t s = (uint32_t)((from > lo ? from : lo) - lo);
			int64_t bit = s_find_clear(fs, b->data, lo, (uint32_t)(hi - lo), s, zones);
			if (bit >= 0 && lo + (uint64_t)bit != 0) {
				mfs_bit_set(b->data, (uint32_t)bit);
				cache_put(&fs->cache, b, true);
				*hint = (uint32_t)(lo + (uint64_t)bit + 1);
				return (int64_t)(lo + (uint64_t)bit);
			}
			cache_put(&fs->cache, b, false);
		}
	}
	return -ENOSPC;
}

static int s_free(mfs *fs, s_map m, uint64_t bit, uint32_t *hint)
{
	if (bit == 0 || bit >= m.nbits)
		return -EIO;
	uint64_t per = (uint64_t)fs->bs * 8;
	int rc = 0;
	mfs_buf *b = cache_get(&fs->cache, m.first_block + bit / per, MFS_NORMAL, &rc);
	if (!b)
		return rc;
	bool was = mfs_bit_get(b->data, (uint32_t)(bit % per));
	mfs_bit_clear(b->data, (uint32_t)(bit % per));
	cache_put(&fs->cache, b, true);
	if (bit < *hint)
		*hint = (uint32_t)bit;
	return was ? 0 : -EIO; /* freeing a free bit: the disk disagrees with itself */
}

int64_t bitmap_alloc_zone(mfs *fs)
{
	int64_t bit = s_alloc(fs, s_zmap(fs), &fs->zsearch, true);
	if (bit < 0)
		return bit;
	fs->free_zones--;
	int64_t z = bit + fs->sb.firstdatazone - 1;
	int rc = verify_zone_taken(fs, (uint32_t)z); /* the bitmap may lie (verify.c) */
	return rc < 0 ? rc : z;
}

int64_t bitmap_alloc_inode(mfs *fs)
{
	int64_t bit = s_alloc(fs, s_imap(fs), &fs->isearch, false);
	if (bit >= 0)
		fs->free_inodes--;
	return bit;
}

int bitmap_free_zone(mfs *fs, uint32_t zone)
{
	if (zone < fs->sb.firstdatazone || zone >= fs->sb.zones)
		return -EIO;
	if (verify_zone_shared(fs, zone))
		return 0; /* another file claims it too: left to that one (fsck.minix repairs it) */
	uint64_t bit = (uint64_t)zone - fs->sb.firstdatazone + 1;
	int rc = s_free(fs, s_zmap(fs), bit, &fs->zsearch);
	if (rc == 0) {
		fs->free_zones++;
		journal_zone_freed(fs, bit);
		verify_zone_freed(fs, zone);
	}
	return rc;
}

int bitmap_free_inode(mfs *fs, uint32_t ino)
{
	int rc = s_free(fs, s_imap(fs), ino, &fs->isearch);
	if (rc == 0) {
		fs->free_inodes++;
		journal_inode_freed(fs, ino);
	}
	return rc;
}

static int64_t s_count(mfs *fs, s_map m)
{
	uint64_t per = (uint64_t)fs->bs * 8, free_bits = 0;
	for (uint32_t blk = 0; blk < m.blocks; blk++) {
		int rc = 0;
		mfs_buf *b = cache_get(&fs->cache, m.first_block + blk, MFS_NORMAL, &rc);
		if (!b)
			return rc;
		for (uint64_t i = 0; i < per && blk * per + i < m.nbits; i++)
			free_bits += !mfs_bit_get(b->data, (uint32_t)i);
		cache_put(&fs->cache, b, false);
	}
	return (int64_t)free_bits;
}

int bitmap_count(mfs *fs)
{
	int64_t z = s_count(fs, s_zmap(fs)), i = z < 0 ? z : s_count(fs, s_imap(fs));
	if (z < 0 || i < 0)
		return (int)(z < 0 ? z : i);
	fs->free_zones = (uint64_t)z;
	fs->free_inodes = (uint64_t)i;
	fs->zsearch = fs->isearch = 1;
	return 0;
}
