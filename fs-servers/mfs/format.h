/*
 * format.h — the MINIX file system v3 on-disk format (docs/mfs.md "On disk"): superblock,
 * inodes, directory entries, bitmaps, and the layout `plexus mkfs` writes. Pure functions over
 * byte buffers (little-endian fields, as MINIX and util-linux write them); library
 * plexus-mfs-format, shared by plexus-mfs, `plexus mkfs` and the tests.
 *
 * Entry points: mfs_super_decode, mfs_super_encode, mfs_super_check, mfs_inode_decode,
 * mfs_inode_encode, mfs_dirent_ino, mfs_dirent_name, mfs_dirent_set, mfs_bit_get, mfs_bit_set,
 * mfs_bit_clear, mfs_bit_find_clear, mfs_mkfs_layout, mfs_mkfs_write, mfs_jheader_encode,
 * mfs_jheader_decode, mfs_journal_default, mfs_jdesc_blocks, mfs_journal_write_empty.
 *
 * Layout (block size B, a power of two 1024..32768; zones are blocks: log_zone_size 0):
 *   bytes 1024..2047   superblock (in block 1 for B = 1024, inside block 0 otherwise)
 *   block 2 ...        inode bitmap (imap_blocks), zone bitmap (zmap_blocks), inode table
 *   firstdatazone ...  data zones up to zones - 1
 *   zones ...          plexus-mfs's journal, when the device has one (below): past the file
 *                      system, where MINIX's and Linux's tools never look
 * Inode bitmap bit i is inode i (bit 0 reserved, set); zone bitmap bit z - firstdatazone + 1
 * is zone z (bit 0 reserved, set); bits past the end are set so nobody allocates them.
 */
#ifndef PLEXUS_MFS_FORMAT_H
#define PLEXUS_MFS_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MFS_MAGIC        0x4d5a /* MINIX 3 file system */
#define MFS_SUPER_OFFSET 1024   /* bytes */
#define MFS_SUPER_SIZE   1024   /* bytes read and written */
#define MFS_START_BLOCK  2      /* the inode bitmap's first block */
#define MFS_INODE_SIZE   64
#define MFS_DIRENT_SIZE  64
#define MFS_NAME_MAX     60
#define MFS_NR_DZONES    7 /* direct zones; then single, double, triple indirect */
#define MFS_NR_ZONES     10
#define MFS_ROOT_INO     1
#define MFS_BLOCK_MIN    1024
#define MFS_BLOCK_MAX    32768
#define MFS_MAX_SIZE     0x7fffffffu /* what util-linux writes: the largest file */
#define MFS_FLAG_CLEAN   0x0001      /* s_flags: unmounted cleanly (MINIX's MFSFLAG_CLEAN) */
#define MFS_LINK_MAX     32767       /* MINIX's LINK_MAX for v3 */

/* The superblock's fields (offset 14, a pad for util-linux, is MINIX's s_flags). */
typedef struct mfs_super {
	uint32_t ninodes;
	uint16_t nzones_old; /* v1 field, 0 */
	uint16_t imap_blocks;
	uint16_t zmap_blocks;
	uint16_t firstdatazone;
	uint16_t log_zone_size;
	uint16_t flags;
	uint32_t max_size;
	uint32_t zones;
	uint16_t magic;
	uint16_t block_size;
	uint8_t disk_version;
} mfs_super;

/* One inode as stored (64 bytes). For a device node zone[0] holds the device number. */
typedef struct mfs_dinode {
	uint16_t mode;
	uint16_t nlinks;
	uint16_t uid;
	uint16_t gid;
	uint32_t size;
	uint32_t atime;
	uint32_t mtime;
	uint32_t ctime;
	uint32_t zone[MFS_NR_ZONES];
} mfs_dinode;

/* buf holds MFS_SUPER_SIZE bytes. */
void mfs_super_decode(const uint8_t *buf, mfs_super *sb);
/* Writes the fields into buf (MFS_SUPER_SIZE bytes), zeroing the rest. */
void mfs_super_encode(const mfs_super *sb, uint8_t *buf);
/* Checks a superblock against itself and a device of dev_size bytes (0: unknown). Returns 0,
 * or -EINVAL with err (size bytes) naming the bad field. */
int mfs_super_check(const mfs_super *sb, uint64_t dev_size, char *err, size_t size);
/* Blocks of the inode table. */
uint32_t mfs_inode_blocks(const mfs_super *sb);
/* Inodes per block. */
static inline uint32_t mfs_inodes_per_block(const mfs_super *sb)
{
	return sb->block_size / MFS_INODE_SIZE;
}

void mfs_inode_decode(const uint8_t *p, mfs_dinode *ip);
void mfs_inode_encode(const mfs_dinode *ip, uint8_t *p);

/* A directory entry: 4-byte inode number (0: free slot) and a 60-byte name, NUL-padded (not
 * terminated when 60 bytes long). */
uint32_t mfs_dirent_ino(const uint8_t *p);
/* Copies the name into out (MFS_NAME_MAX + 1 bytes, terminated). Returns its length. */
size_t mfs_dirent_name(const uint8_t *p, char *out);
/* Fills the entry. Returns 0, -ENAMETOOLONG (over 60 bytes) or -EINVAL (empty). */
int mfs_dirent_set(uint8_t *p, uint32_t ino, const char *name);

/* A little-endian 32-bit number at p (zone numbers in indirect blocks). */
static inline uint32_t mfs_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline bool mfs_bit_get(const uint8_t *map, uint32_t bit)
{
	return (map[bit >> 3] >> (bit & 7)) & 1;
}
static inline void mfs_bit_set(uint8_t *map, uint32_t bit)
{
	map[bit >> 3] |= (uint8_t)(1u << (bit & 7));
}
static inline void mfs_bit_clear(uint8_t *map, uint32_t bit)
{
	map[bit >> 3] &= (uint8_t) ~(1u << (bit & 7));
}
/* The first clear bit at or after start among nbits, or -1. */
int64_t mfs_bit_find_clear(const uint8_t *map, uint32_t nbits, uint32_t start);

/* What `plexus mkfs` is asked for. */
typedef struct mfs_mkfs_opts {
	uint32_t block_size; /* 0: 1024 (what fsck.minix checks) */
	uint32_t inodes;     /* 0: one per three blocks, rounded up to fill the last inode block */
	uint64_t size;       /* bytes of the device */
	uint32_t journal;    /* blocks kept after the file system for the journal; 0: none */
} mfs_mkfs_opts;

/* Computes the superblock for opts, as util-linux's mkfs.minix -3 lays it out. Returns 0 or
 * -EINVAL with err (too small, too many inodes, bad block size). */
int mfs_mkfs_layout(const mfs_mkfs_opts *opts, mfs_super *sb, char *err, size_t size);

/* Writes size bytes at pos; returns 0 or a negative errno. */
typedef int mfs_write_fn(void *arg, uint64_t pos, const void *buf, size_t size);
/* Writes the file system sb describes: zeroed boot block, superblock (clean), bitmaps, inode
 * table, and the root directory (inode 1, mode 040755, owner uid/gid, "." and "..") with
 * times now, as one stream of consecutive writes from byte 0 to the end of the root
 * directory's block. Returns 0 or the first error of fn (or -ENOMEM). */
int mfs_mkfs_write(const mfs_super *sb, uint32_t now, uint16_t uid, uint16_t gid, mfs_write_fn *fn,
                   void *arg);

/* ---- the journal (docs/mfs.md "The journal") ----
 * `journal` blocks from block s_zones on: block 0 the header, then the last committed
 * transaction: its descriptor blocks (the u32 block numbers, little-endian, B/4 a block,
 * zero-padded), then the images of those blocks in that order. The header is written only
 * after the rest is on stable storage, and its sum covers the rest, so a header that checks
 * out names a whole transaction. */
#define MFS_JNL_MAGIC     0x4a584c50u /* "PLXJ" */
#define MFS_JNL_VERSION   1
#define MFS_JNL_EMPTY     0 /* nothing to replay */
#define MFS_JNL_COMMITTED 1 /* the transaction is whole; replaying it is harmless */
#define MFS_JNL_SUM       16
#define MFS_JNL_MIN       16   /* blocks: the smallest journal plexus-mfs uses */
#define MFS_JNL_MAX       4096 /* blocks: what plexus mkfs reserves at most by default */

typedef struct mfs_jheader {
	uint32_t block_size;
	uint32_t blocks;          /* the journal's, header included */
	uint32_t fs_zones;        /* s_zones of the file system it belongs to: where it starts */
	uint32_t state;           /* MFS_JNL_EMPTY or MFS_JNL_COMMITTED */
	uint32_t count;           /* blocks in the committed transaction */
	uint64_t seq;             /* transactions committed on this journal */
	uint8_t sum[MFS_JNL_SUM]; /* BLAKE2b of seq, count, the descriptor blocks and images */
} mfs_jheader;

/* Encodes h into buf (block_size bytes, zeroed first), sealed by a hash of the header. */
void mfs_jheader_encode(const mfs_jheader *h, uint8_t *buf);
/* Decodes a header from buf (size bytes). Returns 0, or -EINVAL when buf holds none (wrong
 * magic or version, or a seal that does not match: never written, or torn). */
int mfs_jheader_decode(const uint8_t *buf, size_t size, mfs_jheader *h);
/* The journal plexus mkfs keeps by default on a device of size bytes: size/32 in blocks of
 * bs, between MFS_JNL_MIN and MFS_JNL_MAX; 0 for a device under 64 journal minimums. */
uint32_t mfs_journal_default(uint64_t size, uint32_t bs);
/* Descriptor blocks a transaction of n blocks needs. */
static inline uint32_t mfs_jdesc_blocks(uint32_t n, uint32_t bs)
{
	return (uint32_t)(((uint64_t)n * 4 + bs - 1) / bs);
}
/* Writes an empty journal header for sb's file system (at block sb->zones). */
int mfs_journal_write_empty(const mfs_super *sb, uint32_t blocks, mfs_write_fn *fn, void *arg);

#endif
