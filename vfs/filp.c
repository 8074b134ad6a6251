/*
 * filp.c — open file descriptions (MINIX's filp table).
 *
 * Entry points: vfs_filp_new, vfs_filp_hold, vfs_filp_put.
 *
 * A filp is shared by the descriptors dup made from one open and by the calls using it; the
 * last reference releases it through its file operations and puts its vnode.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "fileops.h"

vfs_filp *vfs_filp_new(vfs *v, vfs_vnode *vn, int oflags, const vfs_fileops *ops, const char *path)
{
	vfs_filp *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	if (path && !(f->path = strdup(path))) {
		free(f);
		return NULL;
	}
	pthread_mutex_init(&f->lock, NULL);
	f->refs = 1;
	f->mode = oflags & O_ACCMODE;
	f->flags = oflags & (O_APPEND | O_NONBLOCK);
	f->vnode = vn;
	f->ops = ops;
	vfs_vnode_hold(v, vn);
	vfs_errseq_sample(v, f);
	return f;
}

void vfs_filp_hold(vfs *v, vfs_filp *f)
{
	pthread_mutex_lock(&v->lock);
	f->refs++;
	pthread_mutex_unlock(&v->lock);
}

void vfs_filp_put(vfs *v, vfs_filp *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&v->lock);
	int left = --f->refs;
	pthread_mutex_unlock(&v->lock);
	if (left > 0)
		return;
	if (f->ops && f->ops->release)
		f->ops->release(v, f);
	vfs_vnode_put(v, f->vnode);
	pthread_mutex_destroy(&f->lock);
	free(f->path);
	free(f);
}
