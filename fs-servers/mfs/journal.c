/*
 * journal.c — crash consistency: every write-back is one transaction, so a crash at any
 * instant leaves the file system as it was after some request (docs/mfs.md "The journal").
 *
 * Entry points: journal_mount, journal_unmount, journal_commit, journal_quiesce, journal_due,
 * journal_zone_freed, journal_zone_busy, journal_inode_freed, journal_inode_busy, journal_sum.
 *
 * Ordered mode, as ext3's: a transaction is all changed metadata (inodes, bitmaps,
 * directories, indirect blocks, the superblock) at a request boundary. File data goes to its
 * place first (data may be written in place at any time: a zone becomes reachable only
 * through metadata the same or a later transaction commits), then the metadata goes to the
 * journal, after the first BDEV_FLUSH the header that names it, after the second to its
 * place, then a third flush. A crash before the header leaves the previous state on disk;
 * after it, the next mount replays the transaction (writing the same blocks again is
 * harmless). A zone freed in the open transaction is not handed out again until that
 * transaction committed, or data written in place could land in a zone the committed state
 * still gives to its old file. Nor is an inode: VFS keeps inode numbers across a restart, and
 * the number of a file the crash took back must not name another file in the state found
 * (without a journal too: there the commit is the write-back of everything).
 *
 * The journal lives past the file system's last zone (s_zones on) where mkfs.minix,
 * fsck.minix and Linux's minix driver never look; `plexus mkfs` keeps room for it. A device
 * without one is written back as before, and said so at mount.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <plexus/log.h>

#include "mfs.h"

static mfs_journal *s_j(mfs *fs)
{
	return &fs->jnl;
}

/* Blocks a transaction may hold: the journal less its header and the descriptors. */
static uint32_t s_capacity(const mfs *fs)
{
	uint32_t room = fs->jnl.blocks - 1;
	return room - mfs_jdesc_blocks(room, fs->bs);
}

/* Writes the header (state, count, sum) at the journal's first block. */
static int s_header(mfs *fs, uint32_t state, uint32_t count, const uint8_t *sum)
{
	mfs_journal *j = s_j(fs);
	mfs_jheader h = {.block_size = fs->bs,
	                 .blocks = j->blocks,
	                 .fs_zones = fs->sb.zones,
	                 .state = state,
	                 .count = count,
	                 .seq = j->seq};
	if (sum)
		memcpy(h.sum, sum, MFS_JNL_SUM);
	uint8_t *buf = malloc(fs->bs);
	if (!buf)
		return -ENOMEM;
	mfs_jheader_encode(&h, buf);
	int rc = dev_write(&fs->dev, j->start * fs->bs, buf, fs->bs);
	free(buf);
	return rc;
}

void journal_sum(uint64_t seq, uint32_t count, const uint8_t *body, size_t size, uint8_t *out)
{
	crypto_generichash_state st;
	uint8_t head[12];
	for (int i = 0; i < 8; i++)
		head[i] = (uint8_t)(seq >> (8 * i));
	for (int i = 0; i < 4; i++)
		head[8 + i] = (uint8_t)(count >> (8 * i));
	crypto_generichash_init(&st, NULL, 0, MFS_JNL_SUM);
	crypto_generichash_update(&st, head, sizeof head);
	crypto_generichash_update(&st, body, size);
	crypto_generichash_final(&st, out, MFS_JNL_SUM);
}

/* Replays the body of a committed transaction (descriptors, then images) in place. */
static int s_replay_body(mfs *fs, const uint8_t *body, uint32_t count)
{
	uint32_t desc = mfs_jdesc_blocks(count, fs->bs);
	const uint8_t *images = body + (size_t)desc * fs->bs;
	int rc = 0;
	for (uint32_t i = 0; i < count && rc == 0; i++) {
		const uint8_t *p = body + (size_t)i * 4;
		uint32_t block = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		                 (uint32_t)p[3] << 24;
		if (block >= fs->sb.zones)
			return -EIO; /* the sum matched: a bug, not a torn write */
		rc = dev_write(&fs->dev, (uint64_t)block * fs->bs, images + (size_t)i * fs->bs,
		               fs->bs);
	}
	return rc;
}

/* Reads and checks the transaction h names, then writes it in place and empties the
 * journal. Returns 1 (replayed), 0 (nothing whole to replay) or an I/O error. */
static int s_replay(mfs *fs, const mfs_jheader *h, const char *driver)
{
	mfs_journal *j = s_j(fs);
	uint32_t desc = mfs_jdesc_blocks(h->count, fs->bs);
	if (h->count == 0 || (uint64_t)1 + desc + h->count > j->blocks) {
		plx_log(PLX_LOG_WARN, "%s minor %u: journal transaction %llu: bad count %u", driver,
		        fs->dev.minor, (unsigned long long)h->seq, h->count);
		return 0;
	}
	size_t size = (size_t)(desc + h->count) * fs->bs;
	uint8_t *body = malloc(size), sum[MFS_JNL_SUM];
	if (!body)
		return -ENOMEM;
	int rc = dev_read(&fs->dev, (j->start + 1) * fs->bs, body, size);
	if (rc == 0)
		journal_sum(h->seq, h->count, body, size, sum);
	if (rc == 0 && memcmp(sum, h->sum, MFS_JNL_SUM) != 0) {
		plx_log(PLX_LOG_WARN,
		        "%s minor %u: journal transaction %llu does not match its "
		        "sum: not replayed",
		        driver, fs->dev.minor, (unsigned long long)h->seq);
		free(body);
		return 0;
	}
	if (rc == 0)
		rc = s_replay_body(fs, body, h->count);
	free(body);
	if (rc == 0)
		rc = dev_flush(&fs->dev);
	if (rc == 0)
		rc = s_header(fs, MFS_JNL_EMPTY, 0, NULL);
	if (rc == 0)
		rc = dev_flush(&fs->dev);
	if (rc == 0)
		plx_log(PLX_LOG_INFO, "%s minor %u: replayed journal transaction %llu (%u blocks)",
		        driver, fs->dev.minor, (unsigned long long)h->seq, h->count);
	return rc < 0 ? rc : 1;
}

/* ---- bits freed in the open transaction ---- */

static int s_pending_init(mfs_pending *p, uint64_t nbits)
{
	p->nbits = nbits;
	p->bits = calloc((size_t)(nbits + 7) / 8, 1);
	return p->bits ? 0 : -ENOMEM;
}

static void s_pending_add(mfs_pending *p, uint64_t bit)
{
	if (!p->bits || bit >= p->nbits || mfs_bit_get(p->bits, (uint32_t)bit))
		return;
	if (p->nfreed == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 256;
		uint32_t *more = realloc(p->freed, cap * sizeof *more);
		if (!more)
			return; /* handed out again at once: as without a journal */
		p->freed = more;
		p->cap = cap;
	}
	p->freed[p->nfreed++] = (uint32_t)bit;
	mfs_bit_set(p->bits, (uint32_t)bit);
}

static bool s_pending_has(const mfs_pending *p, uint64_t bit)
{
	return p->bits && bit < p->nbits && mfs_bit_get(p->bits, (uint32_t)bit);
}

/* The transaction committed: what it freed may be handed out again. */
static void s_pending_release(mfs_pending *p)
{
	for (size_t i = 0; i < p->nfreed; i++)
		mfs_bit_clear(p->bits, p->freed[i]);
	p->nfreed = 0;
}

/* Whether the pending bits leave fewer than a sixteenth of total (at least floor) to hand out. */
static bool s_pending_short(const mfs_pending *p, uint64_t free_now, uint64_t total, uint64_t floor)
{
	uint64_t spare = free_now > p->nfreed ? free_now - p->nfreed : 0;
	uint64_t want = total / 16 > floor ? total / 16 : floor;
	return p->nfreed && spare < want;
}

/* ---- the journal ---- */

/* Finds the journal past s_zones: its header, sealed, for this file system. */
static bool s_find(mfs *fs, mfs_jheader *h)
{
	uint64_t dev_blocks = fs->dev.size / fs->bs;
	if (dev_blocks < (uint64_t)fs->sb.zones + MFS_JNL_MIN)
		return false;
	uint8_t *buf = malloc(fs->bs);
	int rc = buf ? dev_read(&fs->dev, (uint64_t)fs->sb.zones * fs->bs, buf, fs->bs) : -ENOMEM;
	if (rc == 0)
		rc = mfs_jheader_decode(buf, fs->bs, h);
	free(buf);
	return rc == 0 && h->fs_zones == fs->sb.zones && h->block_size == fs->bs &&
	       h->blocks >= MFS_JNL_MIN && h->blocks <= dev_blocks - fs->sb.zones;
}

int journal_mount(mfs *fs, const char *driver)
{
	mfs_journal *j = s_j(fs);
	memset(j, 0, sizeof *j);
	if (!fs->read_only && s_pending_init(&j->inodes, (uint64_t)fs->sb.ninodes + 1) < 0)
		return -ENOMEM; /* inodes wait for the write-back with or without a journal */
	mfs_jheader h;
	if (!s_find(fs, &h)) {
		if (!fs->read_only)
			plx_log(PLX_LOG_WARN,
			        "%s minor %u has no journal (plexus mkfs makes one): a "
			        "crash may leave it for fsck.minix to repair",
			        driver, fs->dev.minor);
		return 0;
	}
	j->start = fs->sb.zones;
	j->blocks = h.blocks;
	j->seq = h.seq;
	int replayed = 0;
	if (h.state == MFS_JNL_COMMITTED && fs->read_only)
		plx_log(PLX_LOG_WARN,
		        "%s minor %u: journal transaction %llu not replayed on a "
		        "read-only mount",
		        driver, fs->dev.minor, (unsigned long long)h.seq);
	else if (h.state == MFS_JNL_COMMITTED)
		replayed = s_replay(fs, &h, driver);
	if (replayed < 0)
		return replayed;
	if (!fs->read_only &&
	    s_pending_init(&j->zones, (uint64_t)fs->sb.zones - fs->sb.firstdatazone + 1) < 0)
		return -ENOMEM;
	return replayed;
}

void journal_unmount(mfs *fs)
{
	mfs_journal *j = s_j(fs);
	mfs_pending *sets[] = {&j->zones, &j->inodes};
	for (int i = 0; i < 2; i++) {
		free(sets[i]->bits);
		free(sets[i]->freed);
	}
	memset(j, 0, sizeof *j);
}

void journal_zone_freed(mfs *fs, uint64_t bit)
{
	s_pending_add(&s_j(fs)->zones, bit);
}

bool journal_zone_busy(const mfs *fs, uint64_t bit)
{
	return s_pending_has(&fs->jnl.zones, bit);
}

void journal_inode_freed(mfs *fs, uint64_t ino)
{
	s_pending_add(&s_j(fs)->inodes, ino);
}

bool journal_inode_busy(const mfs *fs, uint64_t ino)
{
	return s_pending_has(&fs->jnl.inodes, ino);
}

bool journal_due(const mfs *fs)
{
	const mfs_journal *j = &fs->jnl;
	if (fs->read_only)
		return false;
	bool inodes = s_pending_short(&j->inodes, fs->free_inodes, fs->sb.ninodes, 16);
	if (!j->blocks)
		return inodes; /* the write-back then is everything, in place */
	return inodes || fs->cache.ndirty_meta > s_capacity(fs) / 2 ||
	       s_pending_short(&j->zones, fs->free_zones, fs->sb.zones, 64);
}

/* The descriptors and images of list's n blocks, in one buffer for the journal. */
static uint8_t *s_body(mfs *fs, mfs_buf **list, uint32_t n, size_t *size)
{
	uint32_t desc = mfs_jdesc_blocks(n, fs->bs);
	*size = (size_t)(desc + n) * fs->bs;
	uint8_t *body = calloc(1, *size);
	if (!body)
		return NULL;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *p = body + (size_t)i * 4;
		uint32_t block = (uint32_t)list[i]->block;
		p[0] = (uint8_t)block;
		p[1] = (uint8_t)(block >> 8);
		p[2] = (uint8_t)(block >> 16);
		p[3] = (uint8_t)(block >> 24);
		memcpy(body + (size_t)(desc + i) * fs->bs, list[i]->data, fs->bs);
	}
	return body;
}

/* Journal, flush, header, flush, then in place: the metadata of one transaction. */
static int s_journaled(mfs *fs, mfs_buf **list, uint32_t n)
{
	mfs_journal *j = s_j(fs);
	size_t size;
	uint8_t *body = s_body(fs, list, n, &size), sum[MFS_JNL_SUM];
	if (!body)
		return -ENOMEM;
	journal_sum(j->seq + 1, n, body, size, sum);
	int rc = dev_write(&fs->dev, (j->start + 1) * fs->bs, body, size);
	free(body);
	if (rc == 0)
		rc = dev_flush(&fs->dev); /* the data in place and the journal */
	fs->cache.unflushed = rc < 0;
	if (rc == 0) {
		j->seq++;
		rc = s_header(fs, MFS_JNL_COMMITTED, n, sum);
	}
	if (rc == 0)
		rc = dev_flush(&fs->dev);
	j->commits += rc == 0;
	return rc == 0 ? cache_write_bufs(&fs->cache, list, n) : rc;
}

/* The metadata of a transaction: through the journal when it has one big enough. */
static int s_metadata(mfs *fs, mfs_buf **list, size_t n)
{
	mfs_journal *j = s_j(fs);
	if (j->blocks && n <= s_capacity(fs))
		return s_journaled(fs, list, (uint32_t)n);
	if (j->blocks && !j->warned) {
		plx_log(PLX_LOG_WARN,
		        "a write-back of %zu metadata blocks is larger than the "
		        "journal (%u): written without it",
		        n, s_capacity(fs));
		j->warned = true;
	}
	return cache_write_bufs(&fs->cache, list, n);
}

int journal_commit(mfs *fs)
{
	if (fs->read_only)
		return 0;
	mfs_cache *c = &fs->cache;
	int rc = cache_write_data(c);
	mfs_buf **list = NULL;
	int64_t n = rc < 0 ? rc : cache_dirty_meta(c, &list);
	rc = n < 0 ? (int)n : n > 0 ? s_metadata(fs, list, (size_t)n) : 0;
	free(list);
	if (rc == 0 && c->unflushed)
		rc = dev_flush(&fs->dev);
	if (rc == 0) {
		c->unflushed = false;
		s_pending_release(&fs->jnl.zones);
		s_pending_release(&fs->jnl.inodes);
	}
	fs->last_sync_ms = mfs_now_ms();
	return rc;
}

int journal_quiesce(mfs *fs)
{
	if (fs->read_only || !fs->jnl.blocks)
		return 0;
	int rc = s_header(fs, MFS_JNL_EMPTY, 0, NULL);
	return rc == 0 ? dev_flush(&fs->dev) : rc;
}
