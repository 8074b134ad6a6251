/*
 * vnode.c — the vnode table: one vnode per (mount, inode) VFS holds, and the server state.
 *
 * Entry points: vfs_init, vfs_fini, vfs_vnode_get, vfs_vnode_hold, vfs_vnode_hold_locked,
 * vfs_vnode_put, vfs_vnode_unlinked, vfs_vnode_evict, vfs_vnode_retire, vfs_vnode_fsgen,
 * vfs_vnode_attr_set, vfs_vnode_attr, vfs_attr_to_fs, vfs_root.
 *
 * Each answer of a file server that names an inode (lookup, create, mkdir, mknod, slink,
 * readsuper) gave VFS one reference on it; the vnode counts them (fs_refs) and gives them all
 * back with one FS_PUTNODE when it is freed. A vnode whose last VFS reference went waits on
 * the unused list (most recent first, at most lru_max) so that the next lookup of it costs no
 * FS_PUTNODE; files without links and vnodes of a mount going away are freed at once.
 * Whether the last put parks or frees is decided under vfs->lock, where an unlink's mark
 * (unlinked) is seen: the link count the putter read before may be older than the unlink.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vfs.h"

#define S_BUCKETS 1024

int vfs_init(vfs *v)
{
	pthread_mutex_init(&v->lock, NULL);
	pthread_mutex_init(&v->record_lock, NULL);
	v->nbuckets = S_BUCKETS;
	v->vnodes = calloc(v->nbuckets, sizeof *v->vnodes);
	v->next_dev = 1;
	if (v->fs_timeout_ms == 0)
		v->fs_timeout_ms = VFS_FS_TIMEOUT_MS;
	v->procs_per_uid = VFS_PROCS_PER_UID;
	return v->vnodes && vfs_watches_init(v) == 0 ? 0 : -ENOMEM;
}

void vfs_fini(vfs *v)
{
	vfs_watches_stop(v); /* when the loop never ran (a start that failed) */
	vfs_dcache_fini(v);
	free(v->vnodes);
	v->vnodes = NULL;
	pthread_mutex_destroy(&v->lock);
}

static size_t s_bucket(const vfs *v, const vfs_mount *m, uint64_t ino)
{
	uint64_t h = ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)m;
	return (size_t)(h % v->nbuckets);
}

/* Takes vn off the unused list (vfs->lock held). */
static void s_lru_unlink(vfs *v, vfs_vnode *vn)
{
	if (vn->lru_prev)
		vn->lru_prev->lru_next = vn->lru_next;
	else
		v->lru_head = vn->lru_next;
	if (vn->lru_next)
		vn->lru_next->lru_prev = vn->lru_prev;
	else
		v->lru_tail = vn->lru_prev;
	vn->lru_prev = vn->lru_next = NULL;
	v->nlru--;
}

/* Takes vn out of the table (vfs->lock held; a stale vnode is out already); the caller then
 * calls s_free. */
static void s_unhash(vfs *v, vfs_vnode *vn)
{
	vfs_dcache_forget(v, vn);
	vfs_vnode **pp = &v->vnodes[s_bucket(v, vn->mount, vn->ino)];
	while (*pp && *pp != vn)
		pp = &(*pp)->hash_next;
	if (*pp)
		*pp = vn->hash_next;
}

vfs_vnode *vfs_vnode_find_locked(vfs *v, vfs_mount *m, uint64_t ino)
{
	vfs_vnode *vn = v->vnodes[s_bucket(v, m, ino)];
	while (vn && (vn->mount != m || vn->ino != ino))
		vn = vn->hash_next;
	return vn;
}

vfs_fsgen *vfs_vnode_fsgen(const vfs_vnode *vn)
{
	return __atomic_load_n(&vn->fsg, __ATOMIC_ACQUIRE);
}

/* Gives the file server's references back (not a stale vnode's: their generation is gone)
 * and frees vn (out of the table, no lock held). */
static void s_free(vfs *v, vfs_vnode *vn)
{
	vfs_watch_forget(v, vn);
	if (vn->dev_state && vn->dev_release)
		vn->dev_release(v, vn); /* a pipe's (pipe.c) */
	if (vn->fs_refs > 0 && !vn->stale)
		plx_fs_putnode(vfs_vnode_fsgen(vn)->client, vn->ino, vn->fs_refs);
	pthread_rwlock_destroy(&vn->io);
	pthread_mutex_destroy(&vn->lock);
	free(vn);
}

void vfs_vnode_attr_set(vfs_vnode *vn, const vfs_attr *attr)
{
	pthread_mutex_lock(&vn->lock);
	vn->attr = *attr;
	vn->attr.dev = vn->mount->dev;
	if (vn->unlinked) /* an answer that left the file server before the unlink */
		vn->attr.nlink = 0;
	pthread_mutex_unlock(&vn->lock);
}

void vfs_vnode_attr(vfs_vnode *vn, vfs_attr *out)
{
	pthread_mutex_lock(&vn->lock);
	*out = vn->attr;
	pthread_mutex_unlock(&vn->lock);
}

int vfs_vnode_get(vfs *v, vfs_mount *m, vfs_fsgen *from, const vfs_attr *attr, vfs_vnode **out)
{
	vfs_vnode *fresh = calloc(1, sizeof *fresh);
	int rc = 0;
	pthread_mutex_lock(&v->lock);
	size_t b = s_bucket(v, m, attr->ino);
	vfs_vnode *vn = v->vnodes[b];
	while (vn && (vn->mount != m || vn->ino != attr->ino))
		vn = vn->hash_next;
	if (vn && vn->fsg != from) {
		vn = NULL; /* an answer of a generation the mount has left */
		rc = -EIO;
	} else if (vn) {
		if (vn->refs++ == 0)
			s_lru_unlink(v, vn);
		vn->fs_refs++;
	} else if (fresh) {
		vn = fresh;
		fresh = NULL;
		vn->mount = m;
		vn->fsg = from;
		vn->ino = attr->ino;
		vn->refs = 1;
		vn->fs_refs = 1;
		pthread_mutex_init(&vn->lock, NULL);
		pthread_rwlock_init(&vn->io, NULL);
		vn->hash_next = v->vnodes[b];
		v->vnodes[b] = vn;
	} else {
		rc = -ENOMEM;
	}
	pthread_mutex_unlock(&v->lock);
	free(fresh);
	*out = vn;
	if (!vn) {
		plx_fs_putnode(from->client, attr->ino, 1);
		return rc;
	}
	vfs_vnode_attr_set(vn, attr);
	return 0;
}

void vfs_vnode_hold_locked(vfs *v, vfs_vnode *vn)
{
	if (vn->refs++ == 0)
		s_lru_unlink(v, vn);
}

void vfs_vnode_hold(vfs *v, vfs_vnode *vn)
{
	pthread_mutex_lock(&v->lock);
	vn->refs++;
	pthread_mutex_unlock(&v->lock);
}

void vfs_vnode_put(vfs *v, vfs_vnode *vn)
{
	if (!vn)
		return;
	pthread_mutex_lock(&vn->lock); /* before vfs->lock, as the order says */
	bool linked = vn->attr.nlink > 0;
	pthread_mutex_unlock(&vn->lock);
	pthread_mutex_lock(&v->lock);
	if (--vn->refs > 0) {
		pthread_mutex_unlock(&v->lock);
		return;
	}
	vfs_vnode *gone = NULL;
	if (linked && !vn->unlinked && !vn->stale && !vn->dev_state && !vn->mount->unmounting &&
	    v->lru_max > 0) {
		vn->lru_next = v->lru_head;
		vn->lru_prev = NULL;
		if (v->lru_head)
			v->lru_head->lru_prev = vn;
		else
			v->lru_tail = vn;
		v->lru_head = vn;
		v->nlru++;
		if (v->nlru > v->lru_max) {
			gone = v->lru_tail;
			s_lru_unlink(v, gone);
			s_unhash(v, gone);
		}
	} else {
		gone = vn;
		s_unhash(v, gone);
	}
	pthread_mutex_unlock(&v->lock);
	if (gone)
		s_free(v, gone);
}

void vfs_vnode_unlinked(vfs *v, vfs_vnode *vn)
{
	pthread_mutex_lock(&vn->lock);
	vn->attr.nlink = 0;
	pthread_mutex_lock(&v->lock);
	vn->unlinked = true;
	pthread_mutex_unlock(&v->lock);
	pthread_mutex_unlock(&vn->lock);
}

void vfs_vnode_retire(vfs *v, vfs_mount *m, vfs_fsgen *keep)
{
	vfs_vnode *unused = NULL;
	pthread_mutex_lock(&v->lock);
	for (size_t b = 0; b < v->nbuckets; b++)
		for (vfs_vnode **pp = &v->vnodes[b]; *pp;) {
			vfs_vnode *vn = *pp;
			if (vn->mount != m || vn->fsg == keep) {
				pp = &vn->hash_next;
				continue;
			}
			*pp = vn->hash_next;
			vfs_dcache_forget(v, vn);
			vn->stale = true;
			if (vn->refs == 0) { /* on the unused list: freed below */
				s_lru_unlink(v, vn);
				vn->hash_next = unused;
				unused = vn;
			}
		}
	pthread_mutex_unlock(&v->lock);
	while (unused) {
		vfs_vnode *next = unused->hash_next;
		s_free(v, unused);
		unused = next;
	}
}

void vfs_vnode_evict(vfs *v, vfs_mount *m)
{
	for (;;) {
		pthread_mutex_lock(&v->lock);
		vfs_vnode *vn = v->lru_head;
		while (vn && vn->mount != m)
			vn = vn->lru_next;
		if (vn) {
			s_lru_unlink(v, vn);
			s_unhash(v, vn);
		}
		pthread_mutex_unlock(&v->lock);
		if (!vn)
			return;
		s_free(v, vn);
	}
}

void vfs_attr_to_fs(const vfs_attr *a, Plexus__FsAttr *out)
{
	out->ino = a->ino;
	out->mode = a->mode;
	out->nlink = a->nlink;
	out->uid = a->uid;
	out->gid = a->gid;
	out->size = a->size;
	out->rdev = a->rdev;
	out->atime_sec = a->atime_sec;
	out->atime_nsec = a->atime_nsec;
	out->mtime_sec = a->mtime_sec;
	out->mtime_nsec = a->mtime_nsec;
	out->ctime_sec = a->ctime_sec;
	out->ctime_nsec = a->ctime_nsec;
	out->blocks = a->blocks;
	out->blksize = a->blksize;
	out->dev = a->dev;
}

vfs_vnode *vfs_root(vfs *v)
{
	pthread_mutex_lock(&v->lock);
	vfs_mount *m = v->mounts[0];
	vfs_vnode *root = m && m->root ? m->root : NULL;
	if (root)
		root->refs++;
	pthread_mutex_unlock(&v->lock);
	return root;
}
