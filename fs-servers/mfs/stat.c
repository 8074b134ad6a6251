/*
 * stat.c — FS_STAT: an inode's attributes.
 *
 * Entry points: do_stat.
 *
 * Times come in whole seconds (the v3 format keeps no more); blocks is the size rounded up to
 * whole blocks, in 512-byte units.
 */
#include "mfs.h"

int do_stat(mfs *fs, const plx_msg *msg, const ProtobufCMessage *body, mfs_reply *out)
{
	(void)msg;
	const Plexus__FsIno *io = (const Plexus__FsIno *)body;
	int rc = mfs_check(fs, false);
	mfs_inode *ip = rc < 0 ? NULL : inode_get(fs, io->ino, &rc);
	if (!ip)
		return rc;
	mfs_reply_attr(fs, out, ip);
	inode_put(fs, ip);
	return 0;
}
