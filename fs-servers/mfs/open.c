/*
 * open.c — making inodes: FS_CREATE, FS_MKDIR, FS_MKNOD, FS_SLINK (MINIX's open.c).
 *
 * Entry points: do_create, do_mkdir, do_mknod, do_slink.
 *
 * Each answers the new inode's attributes and gives VFS one reference on it. The new inode is
 * entered in the directory last; when that fails it is freed again.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "mfs.h"

/* Fills a new inode of type: "." and ".." for a directory, the device number, the target. */
static int s_fill(mfs *fs, mfs_inode *dp, mfs_inode *ip, const Plexus__FsCreate *c)
{
	switch (ip->d.mode & S_IFMT) {
	case S_IFDIR: {
		int rc = dir_enter(fs, ip, ".", ip->ino);
		if (rc == 0)
			rc = dir_enter(fs, ip, "..", dp->ino);
		ip->d.nlinks = 2;
		return rc;
	}
	case S_IFCHR:
	case S_IFBLK:
		if (c->rdev > UINT32_MAX)
			return -EINVAL;
		ip->d.zone[0] = (uint32_t)c->rdev;
		break;
	case S_IFLNK: {
		size_t len = strlen(c->target);
		if (len == 0)
			return -ENOENT;
		if (len >= fs->bs)
			return -ENAMETOOLONG;
		bool fresh;
		int rc = 0;
		int64_t z = zone_map(fs, ip, 0, true, &fresh);
		mfs_buf *b = z < 0 ? NULL : cache_get(&fs->cache, (uint64_t)z, MFS_NO_READ, &rc);
		if (!b)
			return z < 0 ? (int)z : rc;
		memcpy(b->data, c->target, len);
		cache_put(&fs->cache, b, true);
		ip->d.size = (uint32_t)len;
		break;
	}
	default:
		break;
	}
	ip->d.nlinks = 1;
	return 0;
}

/* The common part: checks, a new inode of mode, filled, entered in dir. */
static int s_new(mfs *fs, const Plexus__FsCreate *c, uint32_t mode, mfs_reply *out)
{
	int rc = mfs_check(fs, true);
	if (rc == 0)
		rc = dir_name_ok(c->name);
	if (rc == 0 && (strcmp(c->name, ".") == 0 || strcmp(c->name, "..") == 0))
		rc = -EEXIST;
	mfs_inode *dp = rc < 0 ? NULL : inode_get(fs, c->dir, &rc);
	if (!dp)
		return rc;
	uint32_t ino;
	if (!S_ISDIR(dp->d.mode))
		rc = -ENOTDIR;
	else if (dp->d.nlinks == 0)
		rc = -ENOENT; /* removed while VFS held it */
	else if ((rc = dir_lookup(fs, dp, c->name, &ino)) == 0)
		rc = -EEXIST;
	else if (rc == -ENOENT)
		rc = S_ISDIR(mode) && dp->d.nlinks >= MFS_LINK_MAX ? -EMLINK : 0;
	uint32_t uid = c->cred ? c->cred->uid : 0, gid = c->cred ? c->cred->gid : 0;
	mfs_inode *ip = rc < 0 ? NULL : inode_alloc(fs, mode, uid, gid, &rc);
	if (ip) {
		rc = s_fill(fs, dp, ip, c);
		if (rc == 0)
			rc = dir_enter(fs, dp, c->name, ip->ino);
		if (rc < 0) {
			ip->d.nlinks = 0; /* inode_put frees it */
		} else {
			if (S_ISDIR(mode)) {
				dp->d.nlinks++;
				inode_touch(dp, "c");
			}
			ip->refs++;
			mfs_reply_attr(fs, out, ip);
		}
	}
	inode_put(fs, ip);
	inode_put(fs, dp);
	return rc;
}

/* The mode with type bits type when it has none; -EINVAL in *rc when it has others. */
static uint32_t s_mode(uint32_t mode, uint32_t type, int *rc)
{
	if ((mode & S_IFMT) && (mode & S_IFMT) != type)
		*rc = -EINVAL;
	return (mode & 07777) | type;
}

int do_create(mfs *fs, const plx_msg *msg, const ProtobufCMessage *body, mfs_reply *out)
{
	(void)msg;
	const Plexus__FsCreate *c = (const Plexus__FsCreate *)body;
	int rc = 0;
	uint32_t mode = s_mode(c->mode, S_IFREG, &rc);
	return rc < 0 ? rc : s_new(fs, c, mode, out);
}

int do_mkdir(mfs *fs, const plx_msg *msg, const ProtobufCMessage *body, mfs_reply *out)
{
	(void)msg;
	const Plexus__FsCreate *c = (const Plexus__FsCreate *)body;
	int rc = 0;
	uint32_t mode = s_mode(c->mode, S_IFDIR, &rc);
	return rc < 0 ? rc : s_new(fs, c, mode, out);
}

int do_mknod(mfs *fs, const plx_msg *msg, const ProtobufCMessage *body, mfs_reply *out)
{
	(void)msg;
	const Plexus__FsCreate *c = (const Plexus__FsCreate *)body;
	uint32_t type = c->mode & S_IFMT;
	if (type != S_IFCHR && type != S_IFBLK && type != S_IFIFO && type != S_IFSOCK &&
	    type != S_IFREG)
		return -EINVAL;
	return s_new(fs, c, (c->mode & 07777) | type, out);
}

int do_slink(mfs *fs, const plx_msg *msg, const ProtobufCMessage *body, mfs_reply *out)
{
	(void)msg;
	const Plexus__FsCreate *c = (const Plexus__FsCreate *)body;
	int rc = 0;
	uint32_t mode = s_mode(c->mode ? c->mode : 0777, S_IFLNK, &rc);
	return rc < 0 ? rc : s_new(fs, c, mode, out);
}
