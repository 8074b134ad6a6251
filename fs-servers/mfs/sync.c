/*
 * sync.c — writing back and figures: FS_SYNC, FS_FSYNC, FS_FLUSH, FS_STATVFS, the periodic
 * write-back, and the helpers every handler uses.
 *
 * Entry points: do_sync, do_fsync, do_flush, do_statvfs, mfs_tick, mfs_boundary, mfs_orphans_tick,
 * mfs_statvfs, mfs_reply_attr, mfs_check, mfs_now_ms.
 *
 * FS_FSYNC commits everything changed, not only the file's (as MINIX writes every dirty
 * block): one journal transaction (journal.c) holds the file's data, its inode, the directory
 * entries on its path, the bitmaps and every change made before it, so after the reply the
 * file can be reached after a crash exactly as it was.
 */
#include <errno.h>
#include <time.h>

#include "mfs.h"

int64_t mfs_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int mfs_check(const mfs *fs, bool write)
{
	if (!fs->mounted)
		return -EINVAL;
	if (write && fs->read_only)
		return -EROFS;
	return 0;
}

void mfs_reply_attr(mfs *fs, mfs_reply *out, const mfs_inode *ip)
{
	inode_attr(fs, ip, &out->attr);
	out->r.attr = &out->attr;
}

void mfs_statvfs(mfs *fs, mfs_reply *out)
{
	plexus__fs_statvfs__init(&out->st);
	out->st.bsize = fs->bs;
	out->st.blocks = fs->sb.zones;
	out->st.bfree = fs->free_zones;
	out->st.files = fs->sb.ninodes;
	out->st.ffree = fs->free_inodes;
	out->st.namemax = MFS_NAME_MAX;
	out->st.read_only = fs->read_only;
	out->r.statvfs = &out->st;
}

/* Every changed inode and block to the driver as one transaction, then the driver's own
 * flush. */
static int s_sync(mfs *fs)
{
	return fs->read_only ? 0 : journal_commit(fs);
}

int do_sync(mfs *fs, const plx_msg *msg, const ProtobufCMessage *body, mfs_reply *out)
{
	(void)msg, (void)body, (void)out;
	int rc = mfs_check(fs, false);
	if (rc == 0 && !fs->read_only) { /* VFS named what it holds before it asked (vfs.md) */
		fs->orphans_due_ms = 0;
		super_orphans_reap(fs);
	}
	return rc < 0 ? rc : s_sync(fs);
}

int do_fsync(mfs *fs, const plx_msg *msg, const ProtobufCMessage *body, mfs_reply *out)
{
	(void)msg, (void)out;
	const Plexus__FsIno *io = (const Plexus__FsIno *)body;
	int rc = mfs_check(fs, false);
	mfs_inode *ip = rc < 0 ? NULL : inode_get(fs, io->ino, &rc);
	if (!ip)
		return rc;
	rc = s_sync(fs);
	inode_put(fs, ip);
	return rc;
}

int do_flush(mfs *fs, const plx_msg *msg, const ProtobufCMessage *body, mfs_reply *out)
{
	(void)msg, (void)body, (void)out;
	int rc = mfs_check(fs, false);
	if (rc == 0)
		rc = s_sync(fs);
	if (rc == 0)
		cache_invalidate(&fs->cache);
	return rc;
}

int do_statvfs(mfs *fs, const plx_msg *msg, const ProtobufCMessage *body, mfs_reply *out)
{
	(void)msg, (void)body;
	int rc = mfs_check(fs, false);
	if (rc == 0)
		mfs_statvfs(fs, out);
	return rc;
}

void mfs_tick(mfs *fs)
{
	mfs_orphans_tick(fs);
	if (!fs->mounted || fs->read_only || mfs_now_ms() - fs->last_sync_ms < fs->sync_ms)
		return;
	journal_commit(fs);
}

void mfs_boundary(mfs *fs)
{
	mfs_orphans_tick(fs);
	if (fs->mounted && journal_due(fs))
		journal_commit(fs);
}

void mfs_orphans_tick(mfs *fs)
{
	if (fs->mounted && !fs->read_only)
		super_orphans_reap(fs);
}
