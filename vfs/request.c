/*
 * request.c — VFS-side helpers around the FS family stubs (plexus/fsreq.h).
 *
 * Entry points: vfs_fs_errno, vfs_fs_lookup, vfs_fs_refresh, vfs_fs_check, vfs_fs_check_label.
 *
 * A file server that is gone, silent or answering nonsense is an I/O error to the client
 * (-EIO); its own answers (-ENOENT, -ENOSPC, ...) pass through.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vfs.h"

int vfs_fs_errno(int rc)
{
	if (rc >= 0)
		return rc;
	switch (-rc) {
	case PLX_EDEADSRCDST:
	case PLX_ECALLDENIED:
	case ETIMEDOUT:
	case EBADMSG:
	case EMSGSIZE:
	case EPROTO:
	case EAGAIN:
		return -EIO;
	default:
		return rc < -4095 ? -EIO : rc;
	}
}

/* vn came from a lookup that raced a removal (the name cache generation moved meanwhile): its
 * link count may be from before an unlink whose vnode is already freed, and with it the file
 * would wait on the unused list with its blocks claimed. Its attributes are asked afresh, and
 * without links it stays so. */
static void s_raced(vfs *v, vfs_vnode *vn)
{
	vfs_attr a;
	if (vfs_fs_errno(plx_fs_stat(vn->mount->client, vn->ino, &a)) < 0)
		return;
	vfs_vnode_attr_set(vn, &a);
	if (a.nlink == 0)
		vfs_vnode_unlinked(v, vn);
}

/* Names to the restarted server every inode VFS still holds on m (FS_STAT), so that it keeps
 * those it found unlinked (open files whose names are gone) and frees the rest. */
static void s_name_held(vfs *v, vfs_mount *m)
{
	size_t n = 0, cap = 64;
	uint64_t *inos = malloc(cap * sizeof *inos);
	pthread_mutex_lock(&v->lock);
	for (size_t b = 0; inos && b < v->nbuckets; b++)
		for (vfs_vnode *vn = v->vnodes[b]; vn && inos; vn = vn->hash_next) {
			if (vn->mount != m || vn->refs <= 0)
				continue;
			if (n == cap) {
				uint64_t *more = realloc(inos, (cap *= 2) * sizeof *inos);
				if (!more)
					break;
				inos = more;
			}
			inos[n++] = vn->ino;
		}
	pthread_mutex_unlock(&v->lock);
	for (size_t i = 0; i < n; i++) {
		plx_fs_attr a;
		(void)plx_fs_stat(m->client, inos[i], &a);
	}
	free(inos);
}

void vfs_fs_check(vfs *v, vfs_mount *m)
{
	pthread_mutex_lock(&v->lock);
	bool changed = vfs_dcache_server_changed(v, m);
	pthread_mutex_unlock(&v->lock);
	if (changed) {
		vfs_vnode_evict(v, m);
		s_name_held(v, m);
	}
}

void vfs_fs_check_label(vfs *v, const char *fs)
{
	vfs_vnode *root = NULL;
	pthread_mutex_lock(&v->lock);
	for (int i = 0; i < VFS_MOUNT_MAX && !root; i++)
		if (v->mounts[i] && v->mounts[i]->root && strcmp(v->mounts[i]->fs, fs) == 0) {
			root = v->mounts[i]->root;
			vfs_vnode_hold_locked(v, root); /* keeps the mount while it is checked */
		}
	pthread_mutex_unlock(&v->lock);
	if (root) {
		vfs_fs_check(v, root->mount);
		vfs_vnode_put(v, root);
	}
}

/* The vnode name names in dir with one reference, from the name cache, or NULL. */
static vfs_vnode *s_cached(vfs *v, vfs_vnode *dir, const char *name)
{
	if (!vfs_dcache_cacheable(name))
		return NULL;
	vfs_fs_check(v, dir->mount);
	pthread_mutex_lock(&v->lock);
	vfs_vnode *vn = vfs_dcache_find_locked(v, dir, name);
	if (vn)
		vfs_vnode_hold_locked(v, vn);
	pthread_mutex_unlock(&v->lock);
	return vn;
}

int vfs_fs_lookup(vfs *v, vfs_vnode *dir, const char *name, vfs_vnode **out)
{
	if ((*out = s_cached(v, dir, name)))
		return 0;
	uint64_t gen = vfs_dcache_gen(v);
	vfs_attr attr;
	int rc = vfs_fs_errno(plx_fs_lookup(dir->mount->client, dir->ino, name, &attr));
	if (rc < 0)
		return rc;
	*out = vfs_vnode_get(v, dir->mount, &attr);
	if (!*out)
		return -ENOMEM;
	if (vfs_dcache_gen(v) != gen)
		s_raced(v, *out);
	vfs_dcache_add(v, dir, name, *out, gen);
	return 0;
}

int vfs_fs_refresh(vfs_vnode *vn)
{
	vfs_attr attr;
	int rc = vfs_fs_errno(plx_fs_stat(vn->mount->client, vn->ino, &attr));
	if (rc == 0)
		vfs_vnode_attr_set(vn, &attr);
	return rc;
}
