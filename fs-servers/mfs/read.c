/*
 * read.c — file contents: FS_READ, FS_WRITE, FS_FTRUNC (MINIX's read.c and truncate).
 *
 * Entry points: do_read, do_write, do_ftrunc, mfs_readahead.
 *
 * When VFS names a client (FsIo.stage_owner, stage), a read leaves its bytes as a stage for
 * that client and a write takes them from the client's stage (stage.c).
 *
 * A read first brings the blocks it needs into the cache in as few BDEV reads as the layout
 * allows (consecutive zones in one request); when it continues where the previous read of
 * that file ended, the worker reads ahead as many blocks as it read (at least fs->readahead)
 * right after answering it (mfs_readahead), while the client takes the bytes and asks for the
 * next ones. A write fills cache blocks (a whole new block is never read first) that go to the
 * driver later (cache.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mfs.h"

#define S_IO_MAX (16u * 1024 * 1024) /* bytes per FS_READ reply */
#define S_WINDOW 256                 /* blocks looked up and prefetched at once */

/* Prefetches file blocks [first, last] of ip (holes skipped). */
static void s_prefetch(mfs *fs, mfs_inode *ip, uint64_t first, uint64_t last)
{
	uint64_t list[S_WINDOW];
	while (first <= last) {
		size_t n = 0;
		for (; first <= last && n < S_WINDOW; first++) {
			int64_t z = zone_map(fs, ip, first, false, NULL);
			if (z < 0)
				return;
			list[n++] = (uint64_t)z;
		}
		cache_prefetch(&fs->cache, list, n);
	}
}

/* Copies n bytes of ip from pos into buf (holes read as zeros). */
static int s_copy_out(mfs *fs, mfs_inode *ip, uint64_t pos, uint8_t *buf, size_t n)
{
	uint64_t bs = fs->bs, done = 0, next_window = pos / bs;
	uint64_t last_block = (pos + n - 1) / bs;
	while (done < n) {
		uint64_t blk = (pos + done) / bs, off = (pos + done) % bs;
		size_t chunk = (size_t)(bs - off < n - done ? bs - off : n - done);
		if (blk == next_window) {
			uint64_t end =
			    blk + S_WINDOW - 1 < last_block ? blk + S_WINDOW - 1 : last_block;
			s_prefetch(fs, ip, blk, end);
			next_window = end + 1;
		}
		int64_t z = zone_map(fs, ip, blk, false, NULL);
		if (z < 0)
			return (int)z;
		if (z == 0) {
			memset(buf + done, 0, chunk);
		} else {
			int rc = 0;
			mfs_buf *b = cache_get(&fs->cache, (uint64_t)z, MFS_NORMAL, &rc);
			if (!b)
				return rc;
			memcpy(buf + done, b->data + off, chunk);
			cache_put(&fs->cache, b, false);
		}
		done += chunk;
	}
	return 0;
}

/* Plans the read-ahead of a sequential read that ends at end, n bytes long: as many blocks
 * as it read (at least fs->readahead), to be read once it is answered (mfs_readahead). */
static void s_readahead_plan(mfs *fs, const mfs_inode *ip, uint64_t end, uint64_t n)
{
	if (end >= ip->d.size)
		return; /* nothing after it */
	uint64_t from = end / fs->bs, last = (ip->d.size - 1) / fs->bs;
	uint64_t count =
	    n / fs->bs > (uint64_t)fs->readahead ? n / fs->bs : (uint64_t)fs->readahead;
	fs->ra = (struct mfs_readahead){.due = true,
	                                .ino = ip->ino,
	                                .first = from,
	                                .last = from + count - 1 < last ? from + count - 1 : last};
}

void mfs_readahead(mfs *fs)
{
	if (!fs->ra.due)
		return;
	fs->ra.due = false;
	int rc = 0;
	mfs_inode *ip = fs->mounted ? inode_get(fs, fs->ra.ino, &rc) : NULL;
	if (!ip)
		return;
	if (S_ISREG(ip->d.mode))
		s_prefetch(fs, ip, fs->ra.first, fs->ra.last);
	inode_put(fs, ip);
}

int do_read(mfs *fs, const plx_msg *msg, const ProtobufCMessage *body, mfs_reply *out)
{
	(void)msg;
	const Plexus__FsIo *io = (const Plexus__FsIo *)body;
	int rc = mfs_check(fs, false);
	mfs_inode *ip = rc < 0 ? NULL : inode_get(fs, io->ino, &rc);
	if (!ip)
		return rc;
	if (S_ISDIR(ip->d.mode))
		rc = -EISDIR;
	else if (!S_ISREG(ip->d.mode))
		rc = -EINVAL;
	uint64_t size = ip->d.size, n = 0;
	if (rc == 0 && io->position < size && io->size) {
		n = size - io->position < io->size ? size - io->position : io->size;
		if (n > S_IO_MAX)
			n = S_IO_MAX;
		bool sequential = io->position && io->position == ip->next_read;
		/* the blocks after this read, once it is answered */
		if (sequential && fs->readahead)
			s_readahead_plan(fs, ip, io->position + n, n);
		out->data = malloc(n);
		rc = out->data ? s_copy_out(fs, ip, io->position, out->data, n) : -ENOMEM;
	}
	if (rc == 0 && n && io->stage_owner && *io->stage_owner &&
	    stage_hold(fs, io->stage_owner, out->data, n, &out->r.stage) == 0)
		out->data = NULL; /* held for the client VFS named (stage.c) */
	if (rc == 0) {
		out->data_size = out->data ? n : 0;
		out->r.count = n;
		ip->next_read = io->position + n;
		if (!fs->read_only && n)
			inode_touch(ip, "a");
	}
	inode_put(fs, ip);
	return rc;
}

/* Writes n bytes at pos; returns the bytes written (the error when none were). */
static int64_t s_copy_in(mfs *fs, mfs_inode *ip, uint64_t pos, const uint8_t *buf, size_t n)
{
	uint64_t bs = fs->bs, done = 0;
	int rc = 0;
	while (done < n) {
		uint64_t blk = (pos + done) / bs, off = (pos + done) % bs;
		size_t chunk = (size_t)(bs - off < n - done ? bs - off : n - done);
		bool fresh = false;
		int64_t z = zone_map(fs, ip, blk, true, &fresh);
		if (z < 0) {
			rc = (int)z;
			break;
		}
		bool whole = off == 0 && chunk == bs;
		mfs_buf *b = cache_get(&fs->cache, (uint64_t)z,
		                       whole || fresh ? MFS_NO_READ : MFS_NORMAL, &rc);
		if (!b)
			break;
		memcpy(b->data + off, buf + done, chunk);
		if (S_ISREG(ip->d.mode))
			cache_put_data(&fs->cache, b);
		else
			cache_put(&fs->cache, b, true);
		done += chunk;
	}
	return done ? (int64_t)done : rc;
}

int do_write(mfs *fs, const plx_msg *msg, const ProtobufCMessage *body, mfs_reply *out)
{
	const Plexus__FsIo *io = (const Plexus__FsIo *)body;
	const uint8_t *data = msg->data;
	size_t size = msg->data_size;
	uint8_t *staged = NULL;
	if (io->stage && !(staged = stage_take(fs, io->stage, io->stage_owner, &size)))
		return -EXDEV; /* not here: the client sends the bytes with the call */
	if (staged)
		data = staged;
	int rc = mfs_check(fs, true);
	if (rc == 0 && io->size != size)
		rc = -EINVAL; /* the data (frame or stage) must hold what the body says */
	mfs_inode *ip = rc < 0 ? NULL : inode_get(fs, io->ino, &rc);
	if (!ip) {
		free(staged);
		return rc;
	}
	if (S_ISDIR(ip->d.mode))
		rc = -EISDIR;
	else if (!S_ISREG(ip->d.mode))
		rc = -EINVAL;
	else if (io->size &&
	         (io->position >= fs->sb.max_size || io->size > fs->sb.max_size - io->position))
		rc = -EFBIG;
	int64_t n = 0;
	if (rc == 0 && io->size) {
		n = s_copy_in(fs, ip, io->position, data, (size_t)io->size);
		if (n < 0)
			rc = (int)n;
	}
	if (rc == 0) {
		if (io->position + (uint64_t)n > ip->d.size)
			ip->d.size = (uint32_t)(io->position + (uint64_t)n);
		if (n)
			inode_touch(ip, "mc");
		out->r.count = (uint64_t)n;
		mfs_reply_attr(fs, out, ip);
	}
	inode_put(fs, ip);
	free(staged);
	return rc;
}

int do_ftrunc(mfs *fs, const plx_msg *msg, const ProtobufCMessage *body, mfs_reply *out)
{
	(void)msg;
	const Plexus__FsSetattr *s = (const Plexus__FsSetattr *)body;
	int rc = mfs_check(fs, true);
	mfs_inode *ip = rc < 0 ? NULL : inode_get(fs, s->ino, &rc);
	if (!ip)
		return rc;
	if (S_ISDIR(ip->d.mode))
		rc = -EISDIR;
	else if (!S_ISREG(ip->d.mode))
		rc = -EINVAL;
	else if (s->size > fs->sb.max_size)
		rc = -EFBIG;
	if (rc == 0 && s->size < ip->d.size)
		rc = zone_truncate(fs, ip, s->size);
	if (rc == 0) {
		ip->d.size = (uint32_t)s->size;
		inode_touch(ip, "mc");
		mfs_reply_attr(fs, out, ip);
	}
	inode_put(fs, ip);
	return rc;
}
