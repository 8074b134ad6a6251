/*
 * errseq.c — changes a file server acknowledged and then lost by dying, reported by fsync,
 * syncfs and sync as Linux reports write-back errors (its errseq_t).
 *
 * Entry points: vfs_errseq_observe, vfs_errseq_sample, vfs_errseq_begin, vfs_errseq_end,
 * vfs_errseq_check.
 *
 * plexus-mfs answers a write (or a create, a rename, ...) once the change is in its cache; the
 * change reaches the disk with its write-back or an FS_SYNC / FS_FSYNC. When the instance dies
 * first, RS starts the next generation, which mounts the disk again and serves on without it.
 * VFS sees every reply of a mounted file server (plx_fs_observe on its stubs): a mount keeps
 * the generation that acknowledged changes not known to be on the disk (dirty_gen, cleared by
 * a sync from that generation that began after them). A reply from another generation while it
 * is set means they may be lost, and the mount's error count (err_seq) goes up. An open file
 * description samples the count when it is made; its next fsync or syncfs answers -EIO once
 * for each change of the count. A count nobody has reported yet is reported to descriptions
 * opened later too, as Linux does, so `sync FILE` after the loss still sees it. A sync that
 * finds the instance dead (VFS has not yet seen its successor) counts the loss at once, so it
 * is reported once whichever generation the next sync reaches. Unknowable
 * from here: whether the periodic write-back had saved the changes; they are reported lost.
 */
#include <errno.h>
#include <string.h>

#include "vfs.h"

#include "plexus/proto/fs.pb-c.h"

/* The generation that answered this thread's last FS_SYNC or FS_FSYNC. */
static _Thread_local uint64_t s_sync_gen;

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

/* The changes m's file server acknowledged may be lost. vfs->lock held. */
static void s_lost(vfs_mount *m)
{
	m->err_seq++;
	m->err_seen = false;
}

void vfs_errseq_observe(void *arg, const plx_fs *fs, uint32_t type, int status, uint64_t generation)
{
	vfs *v = arg;
	if (status < 0)
		return;
	if (type == PLEXUS__FS_TYPE__FS_SYNC || type == PLEXUS__FS_TYPE__FS_FSYNC) {
		s_sync_gen = generation;
		return;
	}
	if (!s_changes(type))
		return;
	pthread_mutex_lock(&v->lock);
	vfs_mount *m = s_find(v, plx_fs_label(fs));
	if (m) {
		if (m->dirty_gen && m->dirty_gen != generation)
			s_lost(m);
		m->dirty_gen = generation;
		m->changes++;
	}
	pthread_mutex_unlock(&v->lock);
}

void vfs_errseq_sample(vfs *v, vfs_filp *f)
{
	vfs_mount *m = f->vnode->mount;
	pthread_mutex_lock(&v->lock);
	f->err_seq = m->err_seen || m->err_seq == 0 ? m->err_seq : m->err_seq - 1;
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
		if (m->changes == snap)
			m->dirty_gen = 0;
		else if (lost)
			m->dirty_gen = gen;
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
