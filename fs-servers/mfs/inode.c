/*
 * inode.c — the inode cache: inodes VFS holds references on (FS_LOOKUP, FS_CREATE, ... give
 * one, FS_PUTNODE takes them back) and those the current request uses.
 *
 * Entry points: inode_get, inode_alloc, inode_put, inode_touch, inode_flush_all,
 * inode_drop_all, inode_busy, inode_attr, inode_scan, inode_orphan_claim, mfs_reply_attr.
 *
 * A changed inode is encoded into its block in the buffer cache when the request is done with
 * it, so a sync writes blocks only. An inode nobody holds is forgotten; if its link count is
 * 0 (unlinked, and the last reference is gone) its zones and its bitmap bit are freed first:
 * an unlinked file stays readable as long as VFS holds it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <plexus/log.h>

#include "mfs.h"

static size_t s_slot(uint32_t ino)
{
	return ino % MFS_ITABLE;
}

static mfs_inode *s_find(const mfs *fs, uint32_t ino)
{
	for (mfs_inode *ip = fs->itable[s_slot(ino)]; ip; ip = ip->hnext)
		if (ip->ino == ino)
			return ip;
	return NULL;
}

/* The inode's block and offset within it. */
static uint64_t s_where(const mfs *fs, uint32_t ino, size_t *off)
{
	uint32_t per = mfs_inodes_per_block(&fs->sb);
	*off = (size_t)((ino - 1) % per) * MFS_INODE_SIZE;
	return MFS_START_BLOCK + (uint64_t)fs->sb.imap_blocks + fs->sb.zmap_blocks +
	       (ino - 1) / per;
}

static int s_load(mfs *fs, uint32_t ino, mfs_dinode *d)
{
	size_t off;
	int rc = 0;
	mfs_buf *b = cache_get(&fs->cache, s_where(fs, ino, &off), MFS_NORMAL, &rc);
	if (!b)
		return rc;
	mfs_inode_decode(b->data + off, d);
	cache_put(&fs->cache, b, false);
	return 0;
}

static int s_store(mfs *fs, mfs_inode *ip)
{
	size_t off;
	int rc = 0;
	mfs_buf *b = cache_get(&fs->cache, s_where(fs, ip->ino, &off), MFS_NORMAL, &rc);
	if (!b)
		return rc;
	mfs_inode_encode(&ip->d, b->data + off);
	cache_put(&fs->cache, b, true);
	ip->dirty = false;
	return 0;
}

static mfs_inode *s_insert(mfs *fs, uint32_t ino, const mfs_dinode *d, int *rc)
{
	mfs_inode *ip = calloc(1, sizeof *ip);
	if (!ip) {
		*rc = -ENOMEM;
		return NULL;
	}
	ip->ino = ino;
	ip->d = *d;
	ip->hnext = fs->itable[s_slot(ino)];
	fs->itable[s_slot(ino)] = ip;
	fs->ninodes_cached++;
	return ip;
}

static void s_remove(mfs *fs, mfs_inode *ip)
{
	for (mfs_inode **pp = &fs->itable[s_slot(ip->ino)]; *pp; pp = &(*pp)->hnext)
		if (*pp == ip) {
			*pp = ip->hnext;
			break;
		}
	fs->ninodes_cached--;
	free(ip);
}

mfs_inode *inode_get(mfs *fs, uint64_t ino, int *rc)
{
	if (ino == 0 || ino > fs->sb.ninodes) {
		*rc = -EINVAL;
		return NULL;
	}
	bool orphan = fs->norphans && inode_orphan_claim(fs, ino);
	mfs_inode *ip = s_find(fs, (uint32_t)ino);
	if (!ip) {
		mfs_dinode d;
		if ((*rc = s_load(fs, (uint32_t)ino, &d)) < 0)
			return NULL;
		if (d.mode == 0) {
			*rc = -ENOENT;
			return NULL;
		}
		if (!(ip = s_insert(fs, (uint32_t)ino, &d, rc)))
			return NULL;
		ip->keep = d.nlinks == 0 && !orphan; /* s_orphans and the reap clear it */
	}
	ip->users++;
	return ip;
}

int inode_scan(mfs *fs, inode_scan_fn *fn, void *arg)
{
	uint32_t per = mfs_inodes_per_block(&fs->sb), blocks = mfs_inode_blocks(&fs->sb);
	uint64_t first = MFS_START_BLOCK + (uint64_t)fs->sb.imap_blocks + fs->sb.zmap_blocks;
	int rc = 0;
	for (uint32_t blk = 0; blk < blocks && rc == 0; blk++) {
		if (blk % 256 == 0) { /* read ahead: the table is read in order */
			uint64_t list[256];
			size_t k = 0;
			for (; k < 256 && blk + k < blocks; k++)
				list[k] = first + blk + k;
			cache_prefetch(&fs->cache, list, k);
		}
		mfs_buf *b = cache_get(&fs->cache, first + blk, MFS_NORMAL, &rc);
		if (!b)
			break;
		mfs_dinode d[MFS_BLOCK_MAX / MFS_INODE_SIZE];
		uint32_t ino[MFS_BLOCK_MAX / MFS_INODE_SIZE], n = 0;
		for (uint32_t i = 0; i < per && (uint64_t)blk * per + i < fs->sb.ninodes; i++) {
			mfs_inode_decode(b->data + (size_t)i * MFS_INODE_SIZE, &d[n]);
			ino[n] = blk * per + i + 1;
			n += d[n].mode != 0;
		}
		cache_put(&fs->cache, b, false); /* not held while fn reads other blocks */
		for (uint32_t i = 0; i < n && rc == 0; i++)
			rc = fn(fs, ino[i], &d[i], arg);
	}
	return rc;
}

mfs_inode *inode_alloc(mfs *fs, uint32_t mode, uint32_t uid, uint32_t gid, int *rc)
{
	if (uid > 0xffff || gid > 0xffff) {
		*rc = -EINVAL; /* v3 keeps 16-bit owners */
		return NULL;
	}
	int64_t ino = bitmap_alloc_inode(fs);
	if (ino < 0) {
		*rc = (int)ino;
		return NULL;
	}
	mfs_dinode disk;
	if ((*rc = s_load(fs, (uint32_t)ino, &disk)) < 0) {
		bitmap_free_inode(fs, (uint32_t)ino);
		return NULL;
	}
	if ((*rc = verify_inode_free(fs, &disk, (uint32_t)ino)) < 0)
		return NULL; /* in use: its bit stays set, as it should have been */
	uint32_t now = (uint32_t)time(NULL);
	mfs_dinode d = {.mode = (uint16_t)mode,
	                .uid = (uint16_t)uid,
	                .gid = (uint16_t)gid,
	                .atime = now,
	                .mtime = now,
	                .ctime = now};
	mfs_inode *old = s_find(fs, (uint32_t)ino);
	if (old) { /* a stale copy of a freed inode: cannot be held by anyone */
		*rc = -EIO;
		bitmap_free_inode(fs, (uint32_t)ino);
		return NULL;
	}
	mfs_inode *ip = s_insert(fs, (uint32_t)ino, &d, rc);
	if (!ip) {
		bitmap_free_inode(fs, (uint32_t)ino);
		return NULL;
	}
	ip->users = 1;
	ip->dirty = true;
	return ip;
}

/* Frees an unlinked inode nobody holds: zones, mode, bitmap bit. */
static void s_release(mfs *fs, mfs_inode *ip)
{
	int rc = 0;
	uint16_t type = ip->d.mode & S_IFMT;
	if (type == S_IFREG || type == S_IFDIR || type == S_IFLNK)
		rc = zone_truncate(fs, ip, 0);
	if (rc == 0)
		memset(&ip->d, 0, sizeof ip->d);
	int stored = s_store(fs, ip); /* or what is left of it: the zones not freed stay its own */
	if (rc == 0 && stored == 0)
		rc = bitmap_free_inode(fs, ip->ino);
	if (rc < 0 || stored < 0)
		plx_log(PLX_LOG_WARN, "freeing inode %u: %s (an orphan still: fsck.minix frees it)",
		        ip->ino, plx_strerror(rc < 0 ? rc : stored));
}

void inode_put(mfs *fs, mfs_inode *ip)
{
	if (!ip)
		return;
	if (ip->users)
		ip->users--;
	if (ip->users || ip->refs)
		return;
	if (fs->read_only) {
		s_remove(fs, ip);
		return;
	}
	if (ip->d.nlinks == 0 && !ip->keep)
		s_release(fs, ip);
	else if (ip->dirty && s_store(fs, ip) < 0)
		return; /* keep it (and its change) cached; the next sync tries again */
	s_remove(fs, ip);
}

void inode_touch(mfs_inode *ip, const char *what)
{
	uint32_t now = (uint32_t)time(NULL);
	for (; *what; what++) {
		if (*what == 'a')
			ip->d.atime = now;
		else if (*what == 'm')
			ip->d.mtime = now;
		else if (*what == 'c')
			ip->d.ctime = now;
	}
	ip->dirty = true;
}

int inode_flush_all(mfs *fs)
{
	int rc = 0;
	for (size_t i = 0; i < MFS_ITABLE; i++)
		for (mfs_inode *ip = fs->itable[i]; ip; ip = ip->hnext)
			if (ip->dirty && !fs->read_only) {
				int r = s_store(fs, ip);
				rc = rc ? rc : r;
			}
	return rc;
}

void inode_drop_all(mfs *fs)
{
	for (size_t i = 0; i < MFS_ITABLE; i++)
		while (fs->itable[i])
			s_remove(fs, fs->itable[i]);
}

/* The first inode VFS holds a reference on, or NULL. */
static mfs_inode *s_referenced(const mfs *fs)
{
	for (size_t i = 0; i < MFS_ITABLE; i++)
		for (mfs_inode *ip = fs->itable[i]; ip; ip = ip->hnext)
			if (ip->refs)
				return ip;
	return NULL;
}

void inode_release_refs(mfs *fs)
{
	/* inode_put may free the inode: look again from the start each time */
	for (mfs_inode *ip; (ip = s_referenced(fs));) {
		ip->refs = 0;
		ip->users++;       /* as inode_get would have */
		inode_put(fs, ip); /* freed when unlinked, stored when dirty */
	}
}

bool inode_busy(const mfs *fs)
{
	for (size_t i = 0; i < MFS_ITABLE; i++)
		for (mfs_inode *ip = fs->itable[i]; ip; ip = ip->hnext)
			if (ip->refs && ip->ino != MFS_ROOT_INO)
				return true;
	return false;
}

void inode_attr(const mfs *fs, const mfs_inode *ip, Plexus__FsAttr *a)
{
	plexus__fs_attr__init(a);
	uint16_t type = ip->d.mode & S_IFMT;
	a->ino = ip->ino;
	a->mode = ip->d.mode;
	a->nlink = ip->d.nlinks;
	a->uid = ip->d.uid;
	a->gid = ip->d.gid;
	a->size = ip->d.size;
	a->rdev = type == S_IFCHR || type == S_IFBLK ? ip->d.zone[0] : 0;
	a->atime_sec = ip->d.atime;
	a->mtime_sec = ip->d.mtime;
	a->ctime_sec = ip->d.ctime;
	a->blocks = type == S_IFCHR || type == S_IFBLK
	                ? 0
	                : ((uint64_t)ip->d.size + fs->bs - 1) / fs->bs * (fs->bs / 512);
	a->blksize = fs->bs;
	a->dev = fs->devno;
}

int do_putnode(mfs *fs, const plx_msg *msg, const ProtobufCMessage *body, mfs_reply *out)
{
	(void)msg, (void)out;
	const Plexus__FsPutnode *p = (const Plexus__FsPutnode *)body;
	int rc = mfs_check(fs, false);
	mfs_inode *ip =
	    rc < 0 || p->ino == 0 || p->ino > fs->sb.ninodes ? NULL : s_find(fs, (uint32_t)p->ino);
	if (rc < 0)
		return rc;
	if (fs->adopted && p->count && (!ip || ip->refs < p->count)) {
		/* References given to the instance before a restart: take them, and free an inode
		 * that waited for them (unlinked while open). */
		mfs_inode *held = ip ? ip : inode_get(fs, p->ino, &rc);
		if (!held)
			return rc == -ENOENT ? 0 : rc;
		if (ip)
			held->users++; /* as inode_get would have */
		held->refs = 0;
		inode_put(fs, held);
		return 0;
	}
	if (!ip || ip->refs < p->count || p->count == 0)
		return -EINVAL; /* VFS gives back no more than it was given */
	ip->refs -= p->count;
	ip->users++;
	inode_put(fs, ip);
	return 0;
}

void mfs_reply_attr(mfs *fs, mfs_reply *out, const mfs_inode *ip)
{
	inode_attr(fs, ip, &out->attr);
	out->r.attr = &out->attr;
}

bool inode_orphan_claim(mfs *fs, uint64_t ino)
{
	bool claimed = false;
	for (size_t i = 0; i < fs->norphans; i++)
		if (fs->orphans[i] == ino) {
			fs->orphans[i] = 0; /* VFS still uses it: freed at its FS_PUTNODE */
			claimed = true;
		}
	return claimed;
}
