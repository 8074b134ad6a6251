/*
 * format.c — encode, decode and check the MINIX v3 on-disk structures; lay out and write a new
 * file system (format.h).
 *
 * Entry points: mfs_super_decode, mfs_super_encode, mfs_super_check, mfs_inode_blocks,
 * mfs_inode_decode, mfs_inode_encode, mfs_dirent_ino, mfs_dirent_name, mfs_dirent_set,
 * mfs_bit_find_clear, mfs_mkfs_layout, mfs_mkfs_write, mfs_jheader_encode, mfs_jheader_decode,
 * mfs_journal_default, mfs_journal_write_empty.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "format.h"

static uint16_t s_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t s_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void s_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void s_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void mfs_super_decode(const uint8_t *buf, mfs_super *sb)
{
	*sb = (mfs_super){.ninodes = s_get32(buf),
	                  .nzones_old = s_get16(buf + 4),
	                  .imap_blocks = s_get16(buf + 6),
	                  .zmap_blocks = s_get16(buf + 8),
	                  .firstdatazone = s_get16(buf + 10),
	                  .log_zone_size = s_get16(buf + 12),
	                  .flags = s_get16(buf + 14),
	                  .max_size = s_get32(buf + 16),
	                  .zones = s_get32(buf + 20),
	                  .magic = s_get16(buf + 24),
	                  .block_size = s_get16(buf + 28),
	                  .disk_version = buf[30]};
}

void mfs_super_encode(const mfs_super *sb, uint8_t *buf)
{
	memset(buf, 0, MFS_SUPER_SIZE);
	s_put32(buf, sb->ninodes);
	s_put16(buf + 4, sb->nzones_old);
	s_put16(buf + 6, sb->imap_blocks);
	s_put16(buf + 8, sb->zmap_blocks);
	s_put16(buf + 10, sb->firstdatazone);
	s_put16(buf + 12, sb->log_zone_size);
	s_put16(buf + 14, sb->flags);
	s_put32(buf + 16, sb->max_size);
	s_put32(buf + 20, sb->zones);
	s_put16(buf + 24, sb->magic);
	s_put16(buf + 28, sb->block_size);
	buf[30] = sb->disk_version;
}

uint32_t mfs_inode_blocks(const mfs_super *sb)
{
	uint32_t per = mfs_inodes_per_block(sb);
	return per ? (uint32_t)(((uint64_t)sb->ninodes + per - 1) / per) : 0;
}

int mfs_super_check(const mfs_super *sb, uint64_t dev_size, char *err, size_t size)
{
	const char *bad = NULL;
	uint64_t bits = (uint64_t)sb->block_size * 8;
	if (sb->magic != MFS_MAGIC)
		bad = "bad magic (not a MINIX v3 file system)";
	else if (sb->block_size < MFS_BLOCK_MIN || sb->block_size > MFS_BLOCK_MAX ||
	         (sb->block_size & (sb->block_size - 1)))
		bad = "bad block size";
	else if (sb->log_zone_size != 0)
		bad = "zones larger than blocks are not supported";
	else if (sb->ninodes == 0 || sb->ninodes == UINT32_MAX)
		bad = "bad inode count";
	else if (sb->imap_blocks == 0 ||
	         (uint64_t)sb->imap_blocks * bits < (uint64_t)sb->ninodes + 1)
		bad = "inode bitmap too small";
	else if (sb->firstdatazone < MFS_START_BLOCK + (uint64_t)sb->imap_blocks + sb->zmap_blocks +
	                                 mfs_inode_blocks(sb))
		bad = "first data zone inside the inode table";
	else if (sb->zones <= sb->firstdatazone)
		bad = "no data zones";
	else if (sb->zmap_blocks == 0 ||
	         (uint64_t)sb->zmap_blocks * bits < (uint64_t)sb->zones - sb->firstdatazone + 1)
		bad = "zone bitmap too small";
	else if (dev_size && (uint64_t)sb->zones * sb->block_size > dev_size)
		bad = "file system larger than the device";
	if (!bad)
		return 0;
	snprintf(err, size,
	         "%s (magic 0x%04x, block size %u, %u inodes, %u zones, first data zone %u)", bad,
	         sb->magic, sb->block_size, sb->ninodes, sb->zones, sb->firstdatazone);
	return -EINVAL;
}

void mfs_inode_decode(const uint8_t *p, mfs_dinode *ip)
{
	ip->mode = s_get16(p);
	ip->nlinks = s_get16(p + 2);
	ip->uid = s_get16(p + 4);
	ip->gid = s_get16(p + 6);
	ip->size = s_get32(p + 8);
	ip->atime = s_get32(p + 12);
	ip->mtime = s_get32(p + 16);
	ip->ctime = s_get32(p + 20);
	for (int i = 0; i < MFS_NR_ZONES; i++)
		ip->zone[i] = s_get32(p + 24 + 4 * i);
}

void mfs_inode_encode(const mfs_dinode *ip, uint8_t *p)
{
	s_put16(p, ip->mode);
	s_put16(p + 2, ip->nlinks);
	s_put16(p + 4, ip->uid);
	s_put16(p + 6, ip->gid);
	s_put32(p + 8, ip->size);
	s_put32(p + 12, ip->atime);
	s_put32(p + 16, ip->mtime);
	s_put32(p + 20, ip->ctime);
	for (int i = 0; i < MFS_NR_ZONES; i++)
		s_put32(p + 24 + 4 * i, ip->zone[i]);
}

uint32_t mfs_dirent_ino(const uint8_t *p)
{
	return s_get32(p);
}

size_t mfs_dirent_name(const uint8_t *p, char *out)
{
	size_t n = strnlen((const char *)p + 4, MFS_NAME_MAX);
	memcpy(out, p + 4, n);
	out[n] = '\0';
	return n;
}

int mfs_dirent_set(uint8_t *p, uint32_t ino, const char *name)
{
	size_t n = strlen(name);
	if (n == 0)
		return -EINVAL;
	if (n > MFS_NAME_MAX)
		return -ENAMETOOLONG;
	s_put32(p, ino);
	memset(p + 4, 0, MFS_NAME_MAX);
	memcpy(p + 4, name, n);
	return 0;
}

int64_t mfs_bit_find_clear(const uint8_t *map, uint32_t nbits, uint32_t start)
{
	for (uint32_t i = start; i < nbits;) {
		if ((i & 7) == 0 && i + 8 <= nbits && map[i >> 3] == 0xff) {
			i += 8;
			continue;
		}
		if (!mfs_bit_get(map, i))
			return i;
		i++;
	}
	return -1;
}

int mfs_mkfs_layout(const mfs_mkfs_opts *opts, mfs_super *sb, char *err, size_t size)
{
	uint32_t bs = opts->block_size ? opts->block_size : MFS_BLOCK_MIN;
	if (bs < MFS_BLOCK_MIN || bs > MFS_BLOCK_MAX || (bs & (bs - 1))) {
		snprintf(err, size, "block size %u: want a power of two, %u..%u", bs, MFS_BLOCK_MIN,
		         MFS_BLOCK_MAX);
		return -EINVAL;
	}
	uint64_t blocks = opts->size / bs;
	if (opts->journal && (opts->journal < MFS_JNL_MIN || opts->journal >= blocks)) {
		snprintf(err, size, "a journal of %u blocks: want %u..%llu for this size",
		         opts->journal, MFS_JNL_MIN, (unsigned long long)(blocks / 2));
		return -EINVAL;
	}
	blocks -= opts->journal;
	if (blocks > UINT32_MAX)
		blocks = UINT32_MAX;
	uint32_t per = bs / MFS_INODE_SIZE, bits = bs * 8;
	uint64_t inodes = opts->inodes ? opts->inodes : (blocks + 2) / 3;
	inodes = (inodes + per - 1) / per * per; /* fill the last inode block */
	if (inodes == 0 || inodes > 0xfffffff0u || (inodes + 1 + bits - 1) / bits > 0xffff) {
		snprintf(err, size, "%llu inodes: want 1..%u", (unsigned long long)inodes,
		         0xfffffff0u);
		return -EINVAL;
	}
	uint64_t imaps = (inodes + 1 + bits - 1) / bits, iblocks = inodes / per;
	uint64_t zmaps = 1, first = 0;
	for (int round = 0; round < 8; round++) { /* the zone bitmap's size depends on itself */
		first = MFS_START_BLOCK + imaps + zmaps + iblocks;
		uint64_t nz = blocks > first ? blocks - first + 1 : 1;
		uint64_t need = (nz + bits - 1) / bits;
		if (need == zmaps)
			break;
		zmaps = need;
	}
	first = MFS_START_BLOCK + imaps + zmaps + iblocks;
	if (zmaps > 0xffff || first > 0xffff || blocks < first + 1) {
		snprintf(err, size,
		         "%llu bytes hold %llu blocks of %u: too small for %llu inodes (metadata "
		         "needs %llu blocks and the root directory one)",
		         (unsigned long long)opts->size, (unsigned long long)blocks, bs,
		         (unsigned long long)inodes, (unsigned long long)first);
		return -EINVAL;
	}
	*sb = (mfs_super){.ninodes = (uint32_t)inodes,
	                  .imap_blocks = (uint16_t)imaps,
	                  .zmap_blocks = (uint16_t)zmaps,
	                  .firstdatazone = (uint16_t)first,
	                  .flags = MFS_FLAG_CLEAN,
	                  .max_size = MFS_MAX_SIZE,
	                  .zones = (uint32_t)blocks,
	                  .magic = MFS_MAGIC,
	                  .block_size = (uint16_t)bs};
	return 0;
}

/* One bitmap block whose first bit is first_bit: bits below in_use (the reserved bit 0 and
 * the root's) and bits at or past valid set, the rest clear. */
static void s_bitmap_block(uint8_t *buf, uint32_t bs, uint64_t first_bit, uint64_t valid,
                           uint64_t in_use)
{
	memset(buf, 0, bs);
	for (uint64_t b = 0; b < (uint64_t)bs * 8; b++) {
		uint64_t bit = first_bit + b;
		if (bit >= valid || bit < in_use)
			mfs_bit_set(buf, (uint32_t)b);
	}
}

int mfs_mkfs_write(const mfs_super *sb, uint32_t now, uint16_t uid, uint16_t gid, mfs_write_fn *fn,
                   void *arg)
{
	uint32_t bs = sb->block_size;
	uint8_t *buf = calloc(1, bs > 2 * MFS_SUPER_OFFSET ? bs : 2 * MFS_SUPER_OFFSET);
	if (!buf)
		return -ENOMEM;
	int rc = 0;
	/* Boot area and superblock: bytes 0..2047. */
	mfs_super_encode(sb, buf + MFS_SUPER_OFFSET);
	rc = fn(arg, 0, buf, 2 * MFS_SUPER_OFFSET);
	/* Zeros up to the inode bitmap (block 2): one stream of consecutive writes from byte 0. */
	for (uint64_t pos = 2 * MFS_SUPER_OFFSET;
	     rc == 0 && pos < MFS_START_BLOCK * (uint64_t)bs;) {
		memset(buf, 0, bs);
		size_t n = MFS_START_BLOCK * (uint64_t)bs - pos < bs
		               ? (size_t)(MFS_START_BLOCK * (uint64_t)bs - pos)
		               : bs;
		rc = fn(arg, pos, buf, n);
		pos += n;
	}
	uint64_t block = MFS_START_BLOCK;
	for (uint32_t i = 0; rc == 0 && i < sb->imap_blocks; i++, block++) {
		s_bitmap_block(buf, bs, (uint64_t)i * bs * 8, (uint64_t)sb->ninodes + 1, 2);
		rc = fn(arg, block * bs, buf, bs);
	}
	uint64_t nz = (uint64_t)sb->zones - sb->firstdatazone + 1;
	for (uint32_t i = 0; rc == 0 && i < sb->zmap_blocks; i++, block++) {
		s_bitmap_block(buf, bs, (uint64_t)i * bs * 8, nz, 2);
		rc = fn(arg, block * bs, buf, bs);
	}
	uint32_t iblocks = mfs_inode_blocks(sb);
	for (uint32_t i = 0; rc == 0 && i < iblocks; i++, block++) {
		memset(buf, 0, bs);
		if (i == 0) {
			mfs_dinode root = {.mode = 040755,
			                   .nlinks = 2,
			                   .uid = uid,
			                   .gid = gid,
			                   .size = 2 * MFS_DIRENT_SIZE,
			                   .atime = now,
			                   .mtime = now,
			                   .ctime = now,
			                   .zone = {sb->firstdatazone}};
			mfs_inode_encode(&root, buf);
		}
		rc = fn(arg, block * bs, buf, bs);
	}
	if (rc == 0) {
		memset(buf, 0, bs);
		mfs_dirent_set(buf, MFS_ROOT_INO, ".");
		mfs_dirent_set(buf + MFS_DIRENT_SIZE, MFS_ROOT_INO, "..");
		rc = fn(arg, (uint64_t)sb->firstdatazone * bs, buf, bs);
	}
	free(buf);
	return rc;
}

/* Header layout: magic @0, version @4, block size @8, blocks @12, fs_zones @16, state @20,
 * count @24, seq (u64) @32, sum @40, then the seal (a hash of bytes 0..55) @56. */
#define S_JH_SEAL 56

static void s_put64(uint8_t *p, uint64_t v)
{
	s_put32(p, (uint32_t)v);
	s_put32(p + 4, (uint32_t)(v >> 32));
}

static void s_jseal(const uint8_t *buf, uint8_t *out)
{
	crypto_generichash(out, MFS_JNL_SUM, buf, S_JH_SEAL, NULL, 0);
}

void mfs_jheader_encode(const mfs_jheader *h, uint8_t *buf)
{
	memset(buf, 0, h->block_size);
	s_put32(buf, MFS_JNL_MAGIC);
	s_put32(buf + 4, MFS_JNL_VERSION);
	s_put32(buf + 8, h->block_size);
	s_put32(buf + 12, h->blocks);
	s_put32(buf + 16, h->fs_zones);
	s_put32(buf + 20, h->state);
	s_put32(buf + 24, h->count);
	s_put64(buf + 32, h->seq);
	memcpy(buf + 40, h->sum, MFS_JNL_SUM);
	s_jseal(buf, buf + S_JH_SEAL);
}

int mfs_jheader_decode(const uint8_t *buf, size_t size, mfs_jheader *h)
{
	uint8_t seal[MFS_JNL_SUM];
	if (size < S_JH_SEAL + MFS_JNL_SUM || s_get32(buf) != MFS_JNL_MAGIC ||
	    s_get32(buf + 4) != MFS_JNL_VERSION)
		return -EINVAL;
	s_jseal(buf, seal);
	if (memcmp(seal, buf + S_JH_SEAL, MFS_JNL_SUM) != 0)
		return -EINVAL;
	*h = (mfs_jheader){.block_size = s_get32(buf + 8),
	                   .blocks = s_get32(buf + 12),
	                   .fs_zones = s_get32(buf + 16),
	                   .state = s_get32(buf + 20),
	                   .count = s_get32(buf + 24),
	                   .seq = s_get32(buf + 32) | (uint64_t)s_get32(buf + 36) << 32};
	memcpy(h->sum, buf + 40, MFS_JNL_SUM);
	return 0;
}

uint32_t mfs_journal_default(uint64_t size, uint32_t bs)
{
	uint64_t blocks = size / bs, j = blocks / 32;
	if (blocks < 64 * MFS_JNL_MIN)
		return 0;
	return (uint32_t)(j < MFS_JNL_MIN ? MFS_JNL_MIN : j > MFS_JNL_MAX ? MFS_JNL_MAX : j);
}

int mfs_journal_write_empty(const mfs_super *sb, uint32_t blocks, mfs_write_fn *fn, void *arg)
{
	uint8_t *buf = malloc(sb->block_size);
	if (!buf)
		return -ENOMEM;
	mfs_jheader h = {.block_size = sb->block_size,
	                 .blocks = blocks,
	                 .fs_zones = sb->zones,
	                 .state = MFS_JNL_EMPTY};
	mfs_jheader_encode(&h, buf);
	int rc = fn(arg, (uint64_t)sb->zones * sb->block_size, buf, sb->block_size);
	free(buf);
	return rc;
}
