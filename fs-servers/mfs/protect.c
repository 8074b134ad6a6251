/*
 * protect.c — FS_CHMOD, FS_CHOWN, FS_UTIME: what VFS decided may change, changed.
 *
 * Entry points: do_chmod, do_chown, do_utime.
 *
 * Permission checks are VFS's. Owners are 16 bits and times 32-bit seconds in the v3 format:
 * larger values are -EINVAL; nanoseconds are dropped.
 */
#include <errno.h>
#include <time.h>

#include "mfs.h"

/* Holds the inode of a FsSetattr for a change. */
static mfs_inode *s_get(mfs *fs, const Plexus__FsSetattr *s, int *rc)
{
	*rc = mfs_check(fs, true);
	return *rc < 0 ? NULL : inode_get(fs, s->ino, rc);
}

static int s_done(mfs *fs, mfs_inode *ip, int rc, mfs_reply *out)
{
	if (rc == 0) {
		inode_touch(ip, "c");
		mfs_reply_attr(fs, out, ip);
	}
	inode_put(fs, ip);
	return rc;
}

int do_chmod(mfs *fs, const plx_msg *msg, const ProtobufCMessage *body, mfs_reply *out)
{
	(void)msg;
	const Plexus__FsSetattr *s = (const Plexus__FsSetattr *)body;
	int rc;
	mfs_inode *ip = s_get(fs, s, &rc);
	if (!ip)
		return rc;
	ip->d.mode = (uint16_t)((ip->d.mode & ~07777u) | (s->mode & 07777u));
	return s_done(fs, ip, 0, out);
}

int do_chown(mfs *fs, const plx_msg *msg, const ProtobufCMessage *body, mfs_reply *out)
{
	(void)msg;
	const Plexus__FsSetattr *s = (const Plexus__FsSetattr *)body;
	int rc;
	mfs_inode *ip = s_get(fs, s, &rc);
	if (!ip)
		return rc;
	bool uid = s->flags & PLEXUS__FS_SETATTR_FLAG__FS_SET_UID;
	bool gid = s->flags & PLEXUS__FS_SETATTR_FLAG__FS_SET_GID;
	if ((uid && s->uid > 0xffff) || (gid && s->gid > 0xffff))
		rc = -EINVAL;
	if (rc == 0 && uid)
		ip->d.uid = (uint16_t)s->uid;
	if (rc == 0 && gid)
		ip->d.gid = (uint16_t)s->gid;
	return s_done(fs, ip, rc, out);
}

/* A time to store: now, the given seconds, or -1 for out of range. */
static int64_t s_time(bool now, int64_t sec)
{
	if (now)
		return (int64_t)time(NULL);
	return sec < 0 || sec > UINT32_MAX ? -1 : sec;
}

int do_utime(mfs *fs, const plx_msg *msg, const ProtobufCMessage *body, mfs_reply *out)
{
	(void)msg;
	const Plexus__FsSetattr *s = (const Plexus__FsSetattr *)body;
	int rc;
	mfs_inode *ip = s_get(fs, s, &rc);
	if (!ip)
		return rc;
	uint32_t f = s->flags;
	bool a =
	    f & (PLEXUS__FS_SETATTR_FLAG__FS_SET_ATIME | PLEXUS__FS_SETATTR_FLAG__FS_SET_ATIME_NOW);
	bool m =
	    f & (PLEXUS__FS_SETATTR_FLAG__FS_SET_MTIME | PLEXUS__FS_SETATTR_FLAG__FS_SET_MTIME_NOW);
	int64_t at = s_time(f & PLEXUS__FS_SETATTR_FLAG__FS_SET_ATIME_NOW, s->atime_sec);
	int64_t mt = s_time(f & PLEXUS__FS_SETATTR_FLAG__FS_SET_MTIME_NOW, s->mtime_sec);
	if ((a && at < 0) || (m && mt < 0))
		rc = -EINVAL;
	if (rc == 0 && a)
		ip->d.atime = (uint32_t)at;
	if (rc == 0 && m)
		ip->d.mtime = (uint32_t)mt;
	return s_done(fs, ip, rc, out);
}
