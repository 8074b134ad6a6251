/*
 * request.c — VFS-side helpers around the FS family stubs (plexus/fsreq.h).
 *
 * Entry points: vfs_fs_errno, vfs_fs_lookup, vfs_fs_lookup_asked, vfs_fs_known, vfs_fs_refresh.
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
	if (vfs_fs_errno(plx_fs_stat(vfs_fs(v, vn), vn->ino, &a)) < 0)
		return;
	vfs_vnode_attr_set(vn, &a);
	if (a.nlink == 0)
		vfs_vnode_unlinked(v, vn);
}

/* The vnode name names in dir with one reference, from the name cache, or NULL. */
static vfs_vnode *s_cached(vfs *v, vfs_vnode *dir, const char *name)
{
	if (!vfs_dcache_cacheable(name))
		return NULL;
	(void)vfs_fs_follow(v, dir->mount); /* a restarted file server's names are forgotten */
	pthread_mutex_lock(&v->lock);
	vfs_vnode *vn = vfs_dcache_find_locked(v, dir, name);
	if (vn)
		vfs_vnode_hold_locked(v, vn);
	pthread_mutex_unlock(&v->lock);
	return vn;
}

int vfs_fs_lookup(vfs *v, vfs_vnode *dir, const char *name, vfs_vnode **out)
{
	bool asked;
	return vfs_fs_lookup_asked(v, dir, name, out, &asked);
}

int vfs_fs_lookup_asked(vfs *v, vfs_vnode *dir, const char *name, vfs_vnode **out, bool *asked)
{
	*asked = false;
	if ((*out = s_cached(v, dir, name)))
		return 0;
	*asked = true;
	uint64_t gen = vfs_dcache_gen(v);
	vfs_attr attr;
	vfs_fsgen *g = vfs_fs_gen(v, dir);
	int rc = vfs_fs_errno(plx_fs_lookup(g->client, dir->ino, name, &attr));
	if (rc == 0)
		rc = vfs_vnode_get(v, dir->mount, g, &attr, out);
	if (rc < 0)
		return rc;
	if (vfs_dcache_gen(v) != gen)
		s_raced(v, *out);
	vfs_dcache_add(v, dir, name, *out, gen);
	return 0;
}

bool vfs_fs_known(vfs *v, vfs_vnode *dir, const char *name)
{
	vfs_vnode *vn = s_cached(v, dir, name);
	vfs_vnode_put(v, vn);
	return vn != NULL;
}

int vfs_fs_refresh(vfs *v, vfs_vnode *vn)
{
	vfs_attr attr;
	int rc = vfs_fs_errno(plx_fs_stat(vfs_fs(v, vn), vn->ino, &attr));
	if (rc == 0)
		vfs_vnode_attr_set(vn, &attr);
	return rc;
}
