/*
 * sync.c — writing back and figures: FS_SYNC, FS_FSYNC, FS_FLUSH, FS_STATVFS and the periodic
 * write-back.
 *
 * Entry points: do_sync, do_fsync, do_flush, do_statvfs, mfs_tick, mfs_boundary,
 * mfs_orphans_tick.
 *
 * FS_FSYNC commits everything changed, not only the file's (as MINIX writes every dirty
 * block): one journal transaction (journal.c) holds the file's data, its inode, the directory
 * entries on its path, the bitmaps and every change made before it, so after the reply the
 * file can be reached after a crash exactly as it was.
 */
#include <errno.h>
#include <time.h>

#include "mfs.h"

/* Every changed inode and block to the driver as one transaction, then the driver's own
 * flush. */
static int s_sync(mfs *fs)
{
	return fs->read_only ? 0 : super_commit(fs);
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
	stage_expire(fs);
	if (!fs->mounted || fs->read_only || mfs_now_ms() - fs->last_sync_ms < fs->sync_ms)
		return;
	super_commit(fs);
}

void mfs_boundary(mfs *fs)
{
	mfs_orphans_tick(fs);
	if (fs->mounted && journal_due(fs))
		super_commit(fs);
}

void mfs_orphans_tick(mfs *fs)
{
	if (fs->mounted && !fs->read_only)
		super_orphans_reap(fs);
}
