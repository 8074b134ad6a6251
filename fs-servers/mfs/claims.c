/*
 * claims.c — what an allocation checks of an untrusted image while it is mounted
 * (docs/mfs.md "Untrusted images"): a zone or inode the bitmaps offer must not be one a file
 * uses, as the zone-use map verify.c made at mount says.
 *
 * Entry points: verify_zone_taken, verify_zone_freed, verify_zone_shared, verify_inode_free.
 */
#include <errno.h>

#include <plexus/log.h>

#include "mfs.h"

int verify_zone_taken(mfs *fs, uint32_t z)
{
	uint32_t bit = z - fs->sb.firstdatazone + 1;
	if (!fs->zones_used || bit >= fs->zones_used_bits)
		return 0;
	if (!mfs_bit_get(fs->zones_used, bit)) {
		mfs_bit_set(fs->zones_used, bit);
		return 0;
	}
	if (!fs->zone_lie_told) {
		plx_log(PLX_LOG_WARN,
		        "minor %u: the zone bitmap offered zone %u, which a file "
		        "uses: refused (EIO); fsck.minix repairs the bitmap",
		        fs->dev.minor, z);
		fs->zone_lie_told = true;
	}
	return -EIO;
}

void verify_zone_freed(mfs *fs, uint32_t z)
{
	uint32_t bit = z - fs->sb.firstdatazone + 1;
	if (fs->zones_used && bit < fs->zones_used_bits)
		mfs_bit_clear(fs->zones_used, bit);
}

bool verify_zone_shared(const mfs *fs, uint32_t z)
{
	uint32_t bit = z - fs->sb.firstdatazone + 1;
	return fs->zones_shared && bit < fs->zones_used_bits && mfs_bit_get(fs->zones_shared, bit);
}

int verify_inode_free(mfs *fs, const mfs_dinode *d, uint32_t ino)
{
	if (d->mode == 0)
		return 0;
	plx_log(PLX_LOG_WARN,
	        "minor %u: the inode bitmap offered inode %u, which is in use: "
	        "refused (EIO); fsck.minix repairs the bitmap",
	        fs->dev.minor, ino);
	return -EIO;
}
