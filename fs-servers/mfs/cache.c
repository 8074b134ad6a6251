/*
 * cache.c — the buffer cache: file system blocks by number in a hash table, the least
 * recently used reused first, written back (docs/mfs.md "Caches").
 *
 * Entry points: cache_init, cache_fini, cache_get, cache_put, cache_put_data, cache_prefetch,
 * cache_sync, cache_write_data, cache_dirty_meta, cache_write_bufs, cache_invalidate.
 *
 * A dirty block is metadata (cache_put: bitmaps, inodes, directories, indirect blocks, the
 * superblock) or file data (cache_put_data). On a journaled file system (c->ordered) metadata
 * reaches the device only through a journal transaction (journal.c), which takes the lists
 * this file hands out; data may be written in place at any time. So when the cache is full,
 * dirty data is written back to make room, and when only dirty metadata is left the cache
 * grows past its size until the next transaction (at the next request's start) cleans it.
 * Without a journal everything dirty is written back, as MINIX does.
 *
 * Blocks stay dirty until the driver acknowledged the write, so a driver that dies meanwhile
 * loses nothing that was acknowledged. Runs of consecutive blocks go out (and come in,
 * cache_prefetch) in one BDEV request of at most S_RUN_MAX bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mfs.h"

#define S_RUN_MAX     (1024u * 1024)
#define S_VICTIM_SCAN 256

int cache_init(mfs_cache *c, mfs_dev *dev, uint32_t bs, size_t bytes)
{
	memset(c, 0, sizeof *c);
	c->dev = dev;
	c->bs = bs;
	c->max = bytes / bs < 64 ? 64 : bytes / bs;
	c->nhash = 1;
	while (c->nhash < c->max)
		c->nhash <<= 1;
	c->hash = calloc(c->nhash, sizeof *c->hash);
	return c->hash ? 0 : -ENOMEM;
}

static size_t s_slot(const mfs_cache *c, uint64_t block)
{
	return (size_t)((block * 0x9E3779B97F4A7C15ull) >> 20) & (c->nhash - 1);
}

static mfs_buf *s_find(const mfs_cache *c, uint64_t block)
{
	for (mfs_buf *b = c->hash[s_slot(c, block)]; b; b = b->hnext)
		if (b->block == block)
			return b;
	return NULL;
}

static void s_unhash(mfs_cache *c, mfs_buf *b)
{
	for (mfs_buf **pp = &c->hash[s_slot(c, b->block)]; *pp; pp = &(*pp)->hnext)
		if (*pp == b) {
			*pp = b->hnext;
			return;
		}
}

static void s_lru_remove(mfs_cache *c, mfs_buf *b)
{
	if (b->prev)
		b->prev->next = b->next;
	else
		c->head = b->next;
	if (b->next)
		b->next->prev = b->prev;
	else
		c->tail = b->prev;
	b->prev = b->next = NULL;
}

static void s_lru_append(mfs_cache *c, mfs_buf *b)
{
	b->prev = c->tail;
	b->next = NULL;
	if (c->tail)
		c->tail->next = b;
	else
		c->head = b;
	c->tail = b;
}

static void s_free(mfs_cache *c, mfs_buf *b)
{
	s_unhash(c, b);
	s_lru_remove(c, b);
	if (b->dirty)
		c->ndirty--;
	if (b->dirty && b->meta)
		c->ndirty_meta--;
	c->count--;
	free(b->data);
	free(b);
}

void cache_fini(mfs_cache *c)
{
	while (c->head)
		s_free(c, c->head);
	free(c->hash);
	c->hash = NULL;
}

/* The least recently used clean unpinned buffer among the S_VICTIM_SCAN oldest, or NULL:
 * when the oldest blocks are dirty it is time to write them back, not to search on. With a
 * journal, dirty metadata met on the way goes to the young end: only a transaction cleans it,
 * and left at the old end it would hide every clean buffer behind it. */
static mfs_buf *s_victim(mfs_cache *c)
{
	int n = 0;
	size_t moved = 0;
	for (mfs_buf *b = c->head, *next; b && n < S_VICTIM_SCAN; b = next) {
		next = b->next;
		if (!b->pins && !b->dirty)
			return b;
		if (c->ordered && b->dirty && b->meta && moved++ < c->ndirty_meta) {
			s_lru_remove(c, b);
			s_lru_append(c, b);
			continue;
		}
		n++;
	}
	return NULL;
}

/* Room when the oldest blocks are dirty: their data written back (everything without a
 * journal). Returns 0 or the write's error. */
static int s_make_room(mfs_cache *c)
{
	if (!c->ordered)
		return cache_sync(c);
	return c->ndirty > c->ndirty_meta ? cache_write_data(c) : 0;
}

/* A buffer for block, not yet hashed in: a new one while there is room, else the least
 * recently used clean one (writing dirty ones back first when the oldest are all dirty; a new
 * one past the size when only journaled metadata is dirty). */
static mfs_buf *s_take(mfs_cache *c, uint64_t block, int *rc)
{
	mfs_buf *b = NULL;
	if (c->count >= c->max) {
		b = s_victim(c);
		if (!b && c->ndirty) {
			*rc = s_make_room(c);
			if (*rc < 0)
				return NULL;
			b = s_victim(c);
		}
	}
	if (b) {
		s_unhash(c, b);
		s_lru_remove(c, b);
	} else {
		b = calloc(1, sizeof *b);
		if (b && !(b->data = malloc(c->bs))) {
			free(b);
			b = NULL;
		}
		if (!b) {
			*rc = -ENOMEM;
			return NULL;
		}
		c->count++;
	}
	b->block = block;
	b->dirty = b->meta = false;
	b->pins = 0;
	return b;
}

static void s_insert(mfs_cache *c, mfs_buf *b)
{
	size_t i = s_slot(c, b->block);
	b->hnext = c->hash[i];
	c->hash[i] = b;
	s_lru_append(c, b);
}

mfs_buf *cache_get(mfs_cache *c, uint64_t block, int how, int *rc)
{
	mfs_buf *b = s_find(c, block);
	if (b) {
		c->hits++;
		s_lru_remove(c, b);
		s_lru_append(c, b);
		if (how == MFS_NO_READ) /* a new block: whatever the buffer held is stale */
			memset(b->data, 0, c->bs);
		b->pins++;
		return b;
	}
	c->misses++;
	b = s_take(c, block, rc);
	if (!b)
		return NULL;
	if (how == MFS_NO_READ) {
		memset(b->data, 0, c->bs);
	} else {
		*rc = dev_read(c->dev, block * c->bs, b->data, c->bs);
		if (*rc < 0) {
			c->count--;
			free(b->data);
			free(b);
			return NULL;
		}
	}
	s_insert(c, b);
	b->pins++;
	return b;
}

void cache_put(mfs_cache *c, mfs_buf *b, bool dirty)
{
	if (!b)
		return;
	if (dirty && !b->dirty)
		c->ndirty++;
	if (dirty && !(b->dirty && b->meta))
		c->ndirty_meta++;
	if (dirty)
		b->dirty = b->meta = true;
	b->pins--;
}

void cache_put_data(mfs_cache *c, mfs_buf *b)
{
	if (!b->dirty) {
		b->dirty = true;
		c->ndirty++;
	}
	b->pins--;
}

/* Reads blocks first..first+n-1 (none cached) in one request and caches them. */
static void s_read_run(mfs_cache *c, uint64_t first, size_t n)
{
	uint8_t *tmp = malloc(n * c->bs);
	if (!tmp || dev_read(c->dev, first * c->bs, tmp, n * c->bs) < 0) {
		free(tmp);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		int rc = 0;
		if (s_find(c, first + i))
			continue;
		mfs_buf *b = s_take(c, first + i, &rc);
		if (!b)
			break;
		memcpy(b->data, tmp + i * c->bs, c->bs);
		s_insert(c, b);
		c->readahead++;
	}
	free(tmp);
}

void cache_prefetch(mfs_cache *c, const uint64_t *list, size_t n)
{
	size_t run_max = S_RUN_MAX / c->bs, limit = c->max / 2;
	for (size_t i = 0, done = 0; i < n && done < limit;) {
		if (!list[i] || s_find(c, list[i])) {
			i++;
			continue;
		}
		size_t len = 1;
		while (i + len < n && len < run_max && list[i + len] == list[i] + len &&
		       !s_find(c, list[i + len]))
			len++;
		s_read_run(c, list[i], len);
		done += len;
		i += len;
	}
}

static int s_cmp(const void *a, const void *b)
{
	uint64_t x = (*(mfs_buf *const *)a)->block, y = (*(mfs_buf *const *)b)->block;
	return x < y ? -1 : x > y;
}

/* Writes bufs[0..n) (consecutive blocks) in one request; clean when acknowledged. */
static int s_write_run(mfs_cache *c, mfs_buf **bufs, size_t n, uint8_t *tmp)
{
	for (size_t i = 0; i < n; i++)
		memcpy(tmp + i * c->bs, bufs[i]->data, c->bs);
	c->unflushed = true;
	int rc = dev_write(c->dev, bufs[0]->block * c->bs, tmp, n * c->bs);
	if (rc < 0)
		return rc;
	c->writes++;
	for (size_t i = 0; i < n; i++) {
		if (!bufs[i]->dirty)
			continue;
		if (bufs[i]->meta)
			c->ndirty_meta--;
		bufs[i]->dirty = bufs[i]->meta = false;
		c->ndirty--;
	}
	return 0;
}

/* The dirty buffers that want (1: metadata, 0: data, -1: any), sorted by block, in a new
 * array (*out, caller frees; NULL when none). Returns how many, or -ENOMEM. */
static int64_t s_dirty_list(mfs_cache *c, int want, mfs_buf ***out)
{
	*out = NULL;
	if (!c->ndirty)
		return 0;
	mfs_buf **list = malloc(c->ndirty * sizeof *list);
	if (!list)
		return -ENOMEM;
	size_t n = 0;
	for (mfs_buf *b = c->head; b; b = b->next)
		if (b->dirty && (want < 0 || (int)b->meta == want))
			list[n++] = b;
	qsort(list, n, sizeof *list, s_cmp);
	*out = list;
	return (int64_t)n;
}

int cache_write_bufs(mfs_cache *c, mfs_buf **list, size_t n)
{
	size_t run_max = S_RUN_MAX / c->bs;
	if (run_max > n)
		run_max = n; /* no run is longer than the list */
	uint8_t *tmp = n ? malloc(run_max * c->bs) : NULL;
	if (n && !tmp)
		return -ENOMEM;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0;) {
		size_t len = 1;
		while (i + len < n && len < run_max && list[i + len]->block == list[i]->block + len)
			len++;
		rc = s_write_run(c, list + i, len, tmp);
		i += len;
	}
	free(tmp);
	return rc;
}

/* Writes the dirty buffers that want (see s_dirty_list). */
static int s_write_dirty(mfs_cache *c, int want)
{
	mfs_buf **list;
	int64_t n = s_dirty_list(c, want, &list);
	int rc = n < 0 ? (int)n : cache_write_bufs(c, list, (size_t)n);
	free(list);
	return rc;
}

int cache_sync(mfs_cache *c)
{
	return s_write_dirty(c, -1);
}

int cache_write_data(mfs_cache *c)
{
	return s_write_dirty(c, 0);
}

int64_t cache_dirty_meta(mfs_cache *c, mfs_buf ***list)
{
	return s_dirty_list(c, 1, list);
}

void cache_invalidate(mfs_cache *c)
{
	for (mfs_buf *b = c->head, *next; b; b = next) {
		next = b->next;
		if (!b->pins && !b->dirty)
			s_free(c, b);
	}
}
