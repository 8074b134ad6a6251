/*
 * dcache.c — the name cache: (directory vnode, name) -> vnode, so a path VFS resolved before
 * costs no FS_LOOKUP (MINIX's VFS asks the file server each time; Linux keeps dentries).
 *
 * Entry points: vfs_dcache_cacheable, vfs_dcache_find_locked, vfs_dcache_forget_mount,
 * vfs_dcache_gen, vfs_dcache_add, vfs_dcache_drop, vfs_dcache_forget, vfs_dcache_fini.
 *
 * The table only: it holds no reference and calls nothing of the vnode table's. Taking a
 * reference on what it finds is request.c's (vfs_fs_lookup); forgetting a restarted file
 * server's names is fsgen.c's call (vfs_fs_follow).
 *
 * Every change of a name goes through this VFS (one VFS serves the namespace), so the cache
 * stays true as long as the calls that remove or move a name drop its entry (unlink, rmdir,
 * rename). Only names that exist are cached (a new name needs no invalidation); "." and ".."
 * never are. Entries hold no reference: a vnode that is freed takes its entries (as directory
 * or as target) with it. At most VFS_DCACHE_MAX entries; beyond that new names are not added.
 * All under vfs->lock.
 *
 * A lookup that raced a removal must not put back what the removal dropped: every drop bumps
 * a generation, and an entry found by an FS_LOOKUP that began under an older generation is not
 * added (a drop that comes after the add removes it as usual).
 */
#include <stdlib.h>
#include <string.h>

#include "vfs.h"

#define S_BUCKETS 4096

typedef struct vfs_dent {
	vfs_vnode *dir;
	vfs_vnode *child;
	struct vfs_dent *next;
	char name[];
} vfs_dent;

static size_t s_bucket(const vfs_vnode *dir, const char *name)
{
	uint64_t h = (uint64_t)(uintptr_t)dir * 0x9e3779b97f4a7c15ull;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	return (size_t)(h % S_BUCKETS);
}

bool vfs_dcache_cacheable(const char *name)
{
	return strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/* The table, made on first use (vfs->lock held). */
static vfs_dent **s_table(vfs *v)
{
	if (!v->dents)
		v->dents = calloc(S_BUCKETS, sizeof(vfs_dent *));
	return v->dents;
}

/* Unlinks *pp (vfs->lock held). */
static void s_remove(vfs *v, vfs_dent **pp)
{
	vfs_dent *d = *pp;
	*pp = d->next;
	d->dir->ndents--;
	d->child->ndents--;
	v->ndents--;
	free(d);
}

void vfs_dcache_forget_mount(vfs *v, vfs_mount *m)
{
	v->dgen++;
	for (size_t b = 0; v->dents && b < S_BUCKETS; b++)
		for (vfs_dent **pp = &v->dents[b]; *pp;)
			if ((*pp)->dir->mount == m || (*pp)->child->mount == m)
				s_remove(v, pp);
			else
				pp = &(*pp)->next;
}

vfs_vnode *vfs_dcache_find_locked(vfs *v, vfs_vnode *dir, const char *name)
{
	vfs_dent **t = s_table(v);
	for (vfs_dent *d = t ? t[s_bucket(dir, name)] : NULL; d; d = d->next)
		if (d->dir == dir && strcmp(d->name, name) == 0)
			return d->child;
	return NULL;
}

uint64_t vfs_dcache_gen(vfs *v)
{
	pthread_mutex_lock(&v->lock);
	uint64_t gen = v->dgen;
	pthread_mutex_unlock(&v->lock);
	return gen;
}

void vfs_dcache_add(vfs *v, vfs_vnode *dir, const char *name, vfs_vnode *child, uint64_t gen)
{
	if (!vfs_dcache_cacheable(name) || v->ndents_max == 0)
		return;
	size_t len = strlen(name);
	vfs_dent *d = malloc(sizeof *d + len + 1);
	if (!d)
		return;
	memcpy(d->name, name, len + 1);
	d->dir = dir;
	d->child = child;
	pthread_mutex_lock(&v->lock);
	vfs_dent **t = s_table(v);
	size_t b = s_bucket(dir, name);
	vfs_dent *old = t ? t[b] : NULL;
	while (old && (old->dir != dir || strcmp(old->name, name) != 0))
		old = old->next;
	if (t && !old && v->ndents < v->ndents_max && v->dgen == gen) {
		d->next = t[b];
		t[b] = d;
		v->ndents++;
		dir->ndents++;
		child->ndents++;
		d = NULL;
	}
	pthread_mutex_unlock(&v->lock);
	free(d);
}

void vfs_dcache_drop(vfs *v, vfs_vnode *dir, const char *name)
{
	pthread_mutex_lock(&v->lock);
	v->dgen++;
	if (v->dents) {
		vfs_dent **pp = &v->dents[s_bucket(dir, name)];
		while (*pp && ((*pp)->dir != dir || strcmp((*pp)->name, name) != 0))
			pp = &(*pp)->next;
		if (*pp)
			s_remove(v, pp);
	}
	pthread_mutex_unlock(&v->lock);
	vfs_watch_changed(v, dir, name); /* clients that cache the name */
}

void vfs_dcache_forget(vfs *v, vfs_vnode *vn)
{
	if (!v->dents || vn->ndents == 0)
		return;
	for (size_t b = 0; b < S_BUCKETS && vn->ndents > 0; b++) {
		vfs_dent **pp = &v->dents[b];
		while (*pp) {
			if ((*pp)->dir == vn || (*pp)->child == vn)
				s_remove(v, pp);
			else
				pp = &(*pp)->next;
		}
	}
}

void vfs_dcache_fini(vfs *v)
{
	if (!v->dents)
		return;
	for (size_t b = 0; b < S_BUCKETS; b++) {
		while (v->dents[b]) {
			vfs_dent *d = v->dents[b];
			v->dents[b] = d->next;
			free(d);
		}
	}
	free(v->dents);
	v->dents = NULL;
}
