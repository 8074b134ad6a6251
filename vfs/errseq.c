/*
 * errseq.c — changes a file server acknowledged and then lost by dying, reported by fsync,
 * syncfs and sync as Linux reports write-back errors (its errseq_t).
 *
 * Entry points: vfs_errseq_observe, vfs_errseq_sample, vfs_errseq_free, vfs_errseq_begin,
 * vfs_errseq_end, vfs_errseq_check, vfs_errseq_check_file, vfs_errseq_request_begin,
 * vfs_errseq_request_end.
 *
 * plexus-mfs answers a write (or a create, a rename, ...) once the change is in its cache; the
 * change reaches the disk with its write-back or an FS_SYNC / FS_FSYNC. When the instance dies
 * first, RS starts the next generation, which mounts the disk again and serves on without it.
 * The same observer tells the watches (watch.c) of every change a file server acknowledged.
 *
 * VFS sees every reply of a mounted file server (plx_fs_observe on its stubs): a mount keeps
 * the generation that acknowledged changes not known to be on the disk (dirty_gen, cleared by
 * a sync from that generation that began after them) and the inodes those changes touched
 * (dirty: the inodes each request named — a write's file, a create's directory and the inode
 * it made, a rename's two directories — each with when). A reply from another generation
 * while dirty_gen is set means they may be lost: the mount's error count (err_seq) goes up,
 * and so does the count of every inode in dirty (lost). Unknowable from here: whether the
 * periodic write-back had saved the changes; they are reported lost.
 *
 * As in Linux, fsync reports a file's own losses and syncfs the file system's: an open file
 * description samples both counts when it is made, and its next fsync (its inode's count) or
 * syncfs (the mount's) answers -EIO once for each change of the count. A loss nobody has
 * reported yet is reported to descriptions opened later too, so `sync FILE` after the loss
 * still sees it; an inode a later generation made afresh (a number the lost changes had
 * used) starts clean. A sync that finds the instance dead (VFS has not yet seen its
 * successor) counts the loss at once. When more inodes changed between syncs than dirty
 * holds, which ones is not known: the loss then counts for every inode of the file system
 * (wide_seq), as before files were told apart.
 *
 * What VFS counts dies with VFS. So each reply also names the instance that acknowledged the
 * request's change, or answered its sync (VfsReply fs_label, changed_gen, synced_gen), and
 * libplexus, which outlives both, keeps what its process changed and reports the loss itself
 * (vfs/lib/durable.c) when VFS and the file server died together.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "vfs.h"

#include "plexus/proto/fs.pb-c.h"

#define S_INOS_MAX 6144 /* inodes per set */

/* One inode in a set: dirty (value: the mount's change count when last changed) or lost
 * (value: its losses; seen: the last one reported). */
typedef struct s_ino {
	uint64_t ino;
	uint64_t value;
	bool seen;
	UT_hash_handle hh;
} s_ino;

struct vfs_inoset {
	s_ino *by_ino; /* uthash */
	size_t n;
	bool overflow; /* an inode did not fit: which were changed (or lost) is not known */
};

/* The generation that answered this thread's last FS_SYNC or FS_FSYNC. */
static _Thread_local uint64_t s_sync_gen;

/* The file server instance behind this thread's request (vfs_errseq_request_*): the first
 * that acknowledged a change of it, the last that answered a sync of it. */
static _Thread_local struct {
	char label[PLX_LABEL_MAX];
	uint64_t changed_gen, synced_gen;
} s_request;

/* ---- the inode sets ---- */

/* ino's entry in set, or NULL. */
static s_ino *s_find_ino(struct vfs_inoset *set, uint64_t ino)
{
	s_ino *e = NULL;
	if (set)
		HASH_FIND(hh, set->by_ino, &ino, sizeof ino, e);
	return e;
}

/* ino's entry in *set_p (made, and the set with it, when absent), or NULL when full. */
static s_ino *s_get(struct vfs_inoset **set_p, uint64_t ino)
{
	if (!*set_p && !(*set_p = calloc(1, sizeof **set_p)))
		return NULL;
	struct vfs_inoset *set = *set_p;
	s_ino *e = s_find_ino(set, ino);
	if (e)
		return e;
	if (set->n >= S_INOS_MAX || !(e = calloc(1, sizeof *e))) {
		set->overflow = true;
		return NULL;
	}
	e->ino = ino;
	HASH_ADD(hh, set->by_ino, ino, sizeof e->ino, e);
	set->n++;
	return e;
}

/* Removes the entries of set whose value is at most floor (all: UINT64_MAX, which also
 * forgets an overflow; otherwise an overflow stays, as the inodes that did not fit may have
 * changed after floor). */
static void s_drop_upto(struct vfs_inoset *set, uint64_t floor)
{
	if (!set)
		return;
	s_ino *e, *next;
	HASH_ITER(hh, set->by_ino, e, next)
	{
		if (e->value <= floor) {
			HASH_DEL(set->by_ino, e);
			free(e);
			set->n--;
		}
	}
	if (floor == UINT64_MAX)
		set->overflow = false;
}

/* ---- counting ---- */

/* The mount of file server label in the table, or NULL. vfs->lock held. */
static vfs_mount *s_find(vfs *v, const char *label)
{
	for (int i = 0; i < VFS_MOUNT_MAX; i++)
		if (v->mounts[i] && strcmp(v->mounts[i]->fs, label) == 0)
			return v->mounts[i];
	return NULL;
}

/* True for the requests that change the file system. */
static bool s_changes(uint32_t type)
{
	switch (type) {
	case PLEXUS__FS_TYPE__FS_CREATE:
	case PLEXUS__FS_TYPE__FS_MKDIR:
	case PLEXUS__FS_TYPE__FS_MKNOD:
	case PLEXUS__FS_TYPE__FS_SLINK:
	case PLEXUS__FS_TYPE__FS_WRITE:
	case PLEXUS__FS_TYPE__FS_FTRUNC:
	case PLEXUS__FS_TYPE__FS_CHMOD:
	case PLEXUS__FS_TYPE__FS_CHOWN:
	case PLEXUS__FS_TYPE__FS_UTIME:
	case PLEXUS__FS_TYPE__FS_LINK:
	case PLEXUS__FS_TYPE__FS_UNLINK:
	case PLEXUS__FS_TYPE__FS_RMDIR:
	case PLEXUS__FS_TYPE__FS_RENAME:
		return true;
	default:
		return false;
	}
}

/* ino was changed (m->changes counts the change); when it does not fit, the set says so and
 * a loss counts for every inode (s_lost). vfs->lock held. */
static void s_dirty(vfs_mount *m, uint64_t ino)
{
	s_ino *e = ino ? s_get(&m->dirty, ino) : NULL;
	if (e)
		e->value = m->changes;
}

/* The changes m's file server acknowledged may be lost: the mount's count and every dirty
 * inode's go up (every inode's when dirty overflowed). vfs->lock held. */
static void s_lost(vfs_mount *m)
{
	m->err_seq++;
	m->err_seen = false;
	bool all_known = !m->dirty || !m->dirty->overflow;
	for (s_ino *d = m->dirty ? m->dirty->by_ino : NULL; d; d = d->hh.next) {
		s_ino *e = s_get(&m->lost, d->ino);
		if (e) {
			e->value++;
			e->seen = false;
		} else
			all_known = false;
	}
	if (!all_known) {
		m->wide_seq++;
		m->wide_seen = false;
	}
	s_drop_upto(m->dirty, UINT64_MAX);
}

/* ino was made afresh by a live generation: its number's old losses are not its own. */
static void s_made(vfs_mount *m, uint64_t ino)
{
	s_ino *e = s_find_ino(m->lost, ino);
	if (e)
		e->seen = true;
}

/* The vnodes a change named changed, and so did the name it made: their watches are told
 * (vfs->lock held). */
static void s_tell_watches(vfs *v, vfs_mount *m, const plx_fs_event *event)
{
	if (!vfs_watch_count_change(v))
		return; /* no client watches: nobody to tell */
	for (size_t i = 0; i <= event->ninos; i++) {
		uint64_t ino = i < event->ninos ? event->inos[i] : event->made;
		vfs_vnode *vn = ino ? vfs_vnode_find_locked(v, m, ino) : NULL;
		if (vn)
			vfs_watch_changed(v, vn, NULL);
	}
	vfs_vnode *dir = event->name ? vfs_vnode_find_locked(v, m, event->name_dir) : NULL;
	if (dir) /* a name that now exists: a client may have kept that it did not */
		vfs_watch_changed(v, dir, event->name);
}

void vfs_errseq_observe(void *arg, const plx_fs *fs, const plx_fs_event *event)
{
	vfs *v = arg;
	if (event->status < 0)
		return;
	if (event->type == PLEXUS__FS_TYPE__FS_SYNC || event->type == PLEXUS__FS_TYPE__FS_FSYNC) {
		s_sync_gen = s_request.synced_gen = event->generation;
		snprintf(s_request.label, sizeof s_request.label, "%s", plx_fs_label(fs));
		return;
	}
	if (!s_changes(event->type))
		return;
	if (!s_request.changed_gen && !s_request.synced_gen) {
		s_request.changed_gen = event->generation;
		snprintf(s_request.label, sizeof s_request.label, "%s", plx_fs_label(fs));
	}
	pthread_mutex_lock(&v->lock);
	vfs_mount *m = s_find(v, plx_fs_label(fs));
	if (m) {
		if (m->dirty_gen && m->dirty_gen != event->generation)
			s_lost(m);
		m->dirty_gen = event->generation;
		m->changes++;
		for (size_t i = 0; i < event->ninos; i++)
			s_dirty(m, event->inos[i]);
		if (event->made) {
			s_made(m, event->made);
			s_dirty(m, event->made);
		}
		s_tell_watches(v, m, event);
	}
	pthread_mutex_unlock(&v->lock);
}

void vfs_errseq_request_begin(void)
{
	s_request.label[0] = '\0';
	s_request.changed_gen = s_request.synced_gen = 0;
}

void vfs_errseq_request_end(Plexus__VfsReply *reply)
{
	if (!s_request.label[0])
		return;
	reply->fs_label = s_request.label; /* this thread's: the reply is packed before its next */
	reply->changed_gen = s_request.changed_gen;
	reply->synced_gen = s_request.synced_gen;
}

void vfs_errseq_free(vfs_mount *m)
{
	s_drop_upto(m->dirty, UINT64_MAX);
	s_drop_upto(m->lost, UINT64_MAX);
	free(m->dirty);
	free(m->lost);
	m->dirty = m->lost = NULL;
}

/* ---- reporting ---- */

/* ino's loss count in m (its own and the file system's losses of unknown inodes), and in
 * *unseen whether one of them is not reported yet. vfs->lock held. */
static uint32_t s_ino_seq(vfs_mount *m, uint64_t ino, bool *unseen)
{
	const s_ino *e = s_find_ino(m->lost, ino);
	uint32_t own = e ? (uint32_t)e->value : 0;
	*unseen = (own && !e->seen) || (m->wide_seq && !m->wide_seen);
	return own + m->wide_seq;
}

void vfs_errseq_sample(vfs *v, vfs_filp *f)
{
	vfs_mount *m = f->vnode->mount;
	pthread_mutex_lock(&v->lock);
	f->err_seq = m->err_seen || m->err_seq == 0 ? m->err_seq : m->err_seq - 1;
	bool unseen;
	uint32_t seq = s_ino_seq(m, f->vnode->ino, &unseen);
	f->ino_seq = unseen ? seq - 1 : seq;
	pthread_mutex_unlock(&v->lock);
}

uint64_t vfs_errseq_begin(vfs *v, const char *label)
{
	pthread_mutex_lock(&v->lock);
	vfs_mount *m = s_find(v, label);
	uint64_t snap = m ? m->changes : 0;
	pthread_mutex_unlock(&v->lock);
	return snap;
}

int vfs_errseq_end(vfs *v, const char *label, uint64_t snap, int status)
{
	if (status < 0 && status != -PLX_EDEADSRCDST)
		return 0; /* it may have worked: the next sync tells */
	uint64_t gen = status < 0 ? 0 : s_sync_gen;
	bool lost = false;
	pthread_mutex_lock(&v->lock);
	vfs_mount *m = s_find(v, label);
	if (m) {
		lost = m->dirty_gen && m->dirty_gen != gen;
		if (lost)
			s_lost(m);
		if (m->changes == snap) {
			m->dirty_gen = 0;
			s_drop_upto(m->dirty, UINT64_MAX);
		} else if (lost)
			m->dirty_gen = gen;
		else
			s_drop_upto(m->dirty, snap); /* those counted by then are on the disk */
	}
	pthread_mutex_unlock(&v->lock);
	return lost ? -EIO : 0;
}

int vfs_errseq_check(vfs *v, vfs_filp *f)
{
	vfs_mount *m = f->vnode->mount;
	int rc = 0;
	pthread_mutex_lock(&v->lock);
	if (f->err_seq != m->err_seq) {
		f->err_seq = m->err_seq;
		m->err_seen = true;
		rc = -EIO;
	}
	pthread_mutex_unlock(&v->lock);
	return rc;
}

int vfs_errseq_check_file(vfs *v, vfs_filp *f)
{
	vfs_mount *m = f->vnode->mount;
	int rc = 0;
	pthread_mutex_lock(&v->lock);
	bool unseen;
	uint32_t seq = s_ino_seq(m, f->vnode->ino, &unseen);
	if (f->ino_seq != seq) {
		f->ino_seq = seq;
		s_ino *e = s_find_ino(m->lost, f->vnode->ino);
		if (e)
			e->seen = true;
		m->wide_seen = true;
		rc = -EIO;
	}
	pthread_mutex_unlock(&v->lock);
	return rc;
}
