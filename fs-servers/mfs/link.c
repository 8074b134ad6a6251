/*
 * link.c — names and links: FS_LINK, FS_UNLINK, FS_RMDIR, FS_RENAME, FS_RDLINK.
 *
 * Entry points: do_link, do_unlink, do_rmdir, do_rename, do_rdlink.
 *
 * An inode whose last name goes keeps existing while VFS holds references (inode.c frees it
 * at the last FS_PUTNODE). FS_RENAME onto an existing name points that entry at the moved
 * inode in place (no moment without the name), then removes the old name; a directory moved
 * to another parent gets its ".." changed and the link counts follow.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mfs.h"

static bool s_dot(const char *name)
{
	return strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
}

/* The directory dir, held; -ENOTDIR for another kind of inode. */
static mfs_inode *s_dir(mfs *fs, uint64_t dir, int *rc)
{
	mfs_inode *dp = inode_get(fs, dir, rc);
	if (dp && !S_ISDIR(dp->d.mode)) {
		inode_put(fs, dp);
		*rc = -ENOTDIR;
		return NULL;
	}
	return dp;
}

int do_link(mfs *fs, const plx_msg *msg, const ProtobufCMessage *body, mfs_reply *out)
{
	(void)msg, (void)out;
	const Plexus__FsLink *l = (const Plexus__FsLink *)body;
	int rc = mfs_check(fs, true);
	if (rc == 0)
		rc = dir_name_ok(l->name);
	if (rc == 0 && s_dot(l->name))
		rc = -EEXIST;
	mfs_inode *ip = rc < 0 ? NULL : inode_get(fs, l->ino, &rc);
	mfs_inode *dp = rc < 0 ? NULL : s_dir(fs, l->dir, &rc);
	if (rc == 0) {
		if (S_ISDIR(ip->d.mode))
			rc = -EPERM;
		else if (ip->d.nlinks >= MFS_LINK_MAX)
			rc = -EMLINK;
		else if (ip->d.nlinks == 0 || dp->d.nlinks == 0)
			rc = -ENOENT;
		else
			rc = dir_enter(fs, dp, l->name, ip->ino);
		if (rc == 0) {
			ip->d.nlinks++;
			inode_touch(ip, "c");
		}
	}
	inode_put(fs, dp);
	inode_put(fs, ip);
	return rc;
}

/* FS_UNLINK and FS_RMDIR; out gets the inode's attributes after (its link count left, so VFS
 * need not ask). */
static int s_remove(mfs *fs, const Plexus__FsName *n, bool dir, mfs_reply *out)
{
	int rc = mfs_check(fs, true);
	if (rc == 0)
		rc = dir_name_ok(n->name);
	if (rc == 0 && s_dot(n->name))
		rc = !dir ? -EISDIR : strcmp(n->name, ".") == 0 ? -EINVAL : -ENOTEMPTY;
	mfs_inode *dp = rc < 0 ? NULL : s_dir(fs, n->dir, &rc);
	uint32_t ino = 0;
	if (rc == 0)
		rc = dir_lookup(fs, dp, n->name, &ino);
	mfs_inode *ip = rc < 0 ? NULL : inode_get(fs, ino, &rc);
	if (rc == 0 && !dir && S_ISDIR(ip->d.mode))
		rc = -EISDIR;
	if (rc == 0 && dir && !S_ISDIR(ip->d.mode))
		rc = -ENOTDIR;
	if (rc == 0 && dir)
		rc = dir_empty(fs, ip);
	if (rc == 0)
		rc = dir_remove(fs, dp, n->name);
	if (rc == 0) {
		if (dir) {
			ip->d.nlinks = 0; /* its name and its "." */
			if (dp->d.nlinks > 0)
				dp->d.nlinks--; /* its ".." */
		} else if (ip->d.nlinks > 0) {
			ip->d.nlinks--;
		}
		inode_touch(ip, "c");
		mfs_reply_attr(fs, out, ip);
	}
	inode_put(fs, ip);
	inode_put(fs, dp);
	return rc;
}

int do_unlink(mfs *fs, const plx_msg *msg, const ProtobufCMessage *body, mfs_reply *out)
{
	(void)msg;
	return s_remove(fs, (const Plexus__FsName *)body, false, out);
}

int do_rmdir(mfs *fs, const plx_msg *msg, const ProtobufCMessage *body, mfs_reply *out)
{
	(void)msg;
	return s_remove(fs, (const Plexus__FsName *)body, true, out);
}

/* -EINVAL when directory ino is dir or one of dir's ancestors (a move into itself). */
static int s_check_loop(mfs *fs, uint32_t ino, uint32_t dir)
{
	for (int depth = 0; depth < 65536; depth++) {
		if (dir == ino)
			return -EINVAL;
		if (dir == MFS_ROOT_INO)
			return 0;
		int rc = 0;
		mfs_inode *dp = inode_get(fs, dir, &rc);
		if (!dp)
			return rc;
		uint32_t parent = 0;
		rc = dir_lookup(fs, dp, "..", &parent);
		inode_put(fs, dp);
		if (rc < 0)
			return rc == -ENOENT ? -EIO : rc;
		if (parent == dir)
			return 0;
		dir = parent;
	}
	return -EIO; /* a cycle on disk */
}

typedef struct s_ren {
	mfs_inode *odp, *ndp, *oip, *nip;
} s_ren;

/* The checks before anything changes. Returns 1 when there is nothing to do. */
static int s_rename_check(mfs *fs, const Plexus__FsRename *r, s_ren *x)
{
	uint32_t oino = 0, nino = 0;
	int rc = dir_lookup(fs, x->odp, r->old_name, &oino);
	if (rc == 0 && x->odp->d.nlinks && x->ndp->d.nlinks == 0)
		rc = -ENOENT;
	if (rc == 0)
		x->oip = inode_get(fs, oino, &rc);
	if (rc < 0)
		return rc;
	rc = dir_lookup(fs, x->ndp, r->new_name, &nino);
	if (rc == 0 && nino == oino)
		return 1;
	if (rc == 0)
		x->nip = inode_get(fs, nino, &rc);
	else if (rc == -ENOENT)
		rc = 0;
	if (rc < 0)
		return rc;
	bool odir = S_ISDIR(x->oip->d.mode);
	if (x->nip && odir && !S_ISDIR(x->nip->d.mode))
		return -ENOTDIR;
	if (x->nip && !odir && S_ISDIR(x->nip->d.mode))
		return -EISDIR;
	if (x->nip && odir && (rc = dir_empty(fs, x->nip)) < 0)
		return rc;
	if (odir && x->odp != x->ndp) {
		if ((rc = s_check_loop(fs, oino, x->ndp->ino)) < 0)
			return rc;
		if (!x->nip && x->ndp->d.nlinks >= MFS_LINK_MAX)
			return -EMLINK;
	}
	return 0;
}

static int s_rename_apply(mfs *fs, const Plexus__FsRename *r, s_ren *x)
{
	bool odir = S_ISDIR(x->oip->d.mode);
	int rc = x->nip ? dir_set(fs, x->ndp, r->new_name, x->oip->ino)
	                : dir_enter(fs, x->ndp, r->new_name, x->oip->ino);
	if (rc < 0)
		return rc;
	if (x->nip) {
		if (S_ISDIR(x->nip->d.mode)) {
			x->nip->d.nlinks = 0;
			x->ndp->d.nlinks--; /* the replaced directory's ".." */
		} else if (x->nip->d.nlinks) {
			x->nip->d.nlinks--;
		}
		inode_touch(x->nip, "c");
	}
	rc = dir_remove(fs, x->odp, r->old_name);
	if (rc == 0 && odir && x->odp != x->ndp) {
		rc = dir_set(fs, x->oip, "..", x->ndp->ino);
		x->odp->d.nlinks--;
		x->ndp->d.nlinks++;
		inode_touch(x->odp, "c");
		inode_touch(x->ndp, "c");
	}
	inode_touch(x->oip, "c");
	return rc;
}

int do_rename(mfs *fs, const plx_msg *msg, const ProtobufCMessage *body, mfs_reply *out)
{
	(void)msg;
	const Plexus__FsRename *r = (const Plexus__FsRename *)body;
	int rc = mfs_check(fs, true);
	if (rc == 0 && (rc = dir_name_ok(r->old_name)) == 0)
		rc = dir_name_ok(r->new_name);
	if (rc == 0 && (s_dot(r->old_name) || s_dot(r->new_name)))
		rc = -EINVAL;
	s_ren x = {0};
	if (rc == 0)
		x.odp = s_dir(fs, r->old_dir, &rc);
	if (rc == 0)
		x.ndp = s_dir(fs, r->new_dir, &rc);
	if (rc == 0)
		rc = s_rename_check(fs, r, &x);
	if (rc == 0)
		rc = s_rename_apply(fs, r, &x);
	if (rc == 0 && x.nip) /* the inode the new name replaced: its links left */
		mfs_reply_attr(fs, out, x.nip);
	inode_put(fs, x.nip);
	inode_put(fs, x.oip);
	inode_put(fs, x.ndp);
	inode_put(fs, x.odp);
	return rc == 1 ? 0 : rc;
}

int do_rdlink(mfs *fs, const plx_msg *msg, const ProtobufCMessage *body, mfs_reply *out)
{
	(void)msg;
	const Plexus__FsIno *io = (const Plexus__FsIno *)body;
	int rc = mfs_check(fs, false);
	mfs_inode *ip = rc < 0 ? NULL : inode_get(fs, io->ino, &rc);
	if (!ip)
		return rc;
	uint32_t len = ip->d.size;
	int64_t z = 0;
	if (!S_ISLNK(ip->d.mode))
		rc = -EINVAL;
	else if (len >= fs->bs || (z = zone_map(fs, ip, 0, false, NULL)) <= 0)
		rc = z < 0 ? (int)z : -EIO;
	mfs_buf *b = rc < 0 ? NULL : cache_get(&fs->cache, (uint64_t)z, MFS_NORMAL, &rc);
	if (b) {
		out->names = malloc(len + 1);
		if (out->names) {
			memcpy(out->names, b->data, len);
			out->names[len] = '\0';
			out->r.target = out->names;
		} else {
			rc = -ENOMEM;
		}
		cache_put(&fs->cache, b, false);
	}
	inode_put(fs, ip);
	return rc;
}
