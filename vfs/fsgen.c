/*
 * fsgen.c — a mount's file server generations: each vnode's requests go to the one instance
 * its inode number is valid on, and a restarted file server is followed only once every vnode
 * VFS holds there was found again (docs/vfs.md "A restarted file server").
 *
 * Entry points: vfs_fsgen_bind, vfs_fsgen_free_all, vfs_fs_follow, vfs_fs_follow_label,
 * vfs_fs_follow_due, vfs_fs, vfs_fs_gen, vfs_fs_pair.
 *
 * A restarted MFS serves its last committed state: files made since may be gone, and their
 * inode numbers free for the new instance to hand out again. A request that named such a
 * number — a write through a descriptor opened before the crash — would land in another
 * file. So a vnode is bound to the generation that answered for it, and its requests carry
 * that generation (any other instance refuses them: the transport's check). When the routes
 * show a newer generation, the mount follows it before any other request goes there: its
 * names are forgotten, and each vnode VFS holds is asked for (FS_STAT) at the new instance.
 * One found with its type is the same file — MFS hands out no inode number freed since its
 * last commit (journal.c), so a number the committed state uses is still that file's — and
 * moves to the new generation with the attributes found (its size: an O_APPEND write goes to
 * the real end). One not found stays on the dead generation, out of the table: every call
 * on it fails -EIO, as a descriptor of a file the crash took back should. Unused vnodes are
 * dropped. Generations are kept until the mount goes: vnodes point at theirs.
 *
 * The next call on the mount follows first; so does a worker the devices' events round sends
 * as soon as the routes show the new generation (vfs_fs_follow_due), before the new instance
 * frees the unlinked files nobody named to it (MFS's orphans, after 5 s).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <plexus/log.h>
#include <plexus/service.h>

#include "vfs.h"

/* A generation of m's file server (gen 0: whichever the routes know), not yet m's. */
static vfs_fsgen *s_gen_new(vfs *v, vfs_mount *m, uint64_t gen)
{
	vfs_fsgen *g = calloc(1, sizeof *g);
	if (g && !(g->client = plx_fs_new_at(v->ep, m->fs, gen, v->fs_timeout_ms))) {
		free(g);
		return NULL;
	}
	if (g) {
		plx_fs_observe(g->client, vfs_errseq_observe, v);
		g->gen = gen;
	}
	return g;
}

static void s_gen_free(vfs_fsgen *g)
{
	plx_fs_destroy(&g->client);
	free(g);
}

/* The generation of m's file server the routes show, 0 when they show none. */
static uint64_t s_route_gen(vfs *v, const vfs_mount *m)
{
	uint64_t gen = 0;
	if (!v->svc || plx_route_lookup(plx_service_ctx(v->svc), m->fs, &gen, NULL, 0) < 0)
		return 0;
	return gen;
}

static vfs_fsgen *s_current(vfs_mount *m)
{
	return __atomic_load_n(&m->gen, __ATOMIC_ACQUIRE);
}

int vfs_fsgen_bind(vfs *v, vfs_mount *m)
{
	vfs_fsgen *g = s_gen_new(v, m, s_route_gen(v, m));
	if (!g)
		return -ENOMEM;
	__atomic_store_n(&m->gen, g, __ATOMIC_RELEASE);
	return 0;
}

void vfs_fsgen_free_all(vfs_mount *m)
{
	for (vfs_fsgen *g = m->gen, *older; g; g = older) {
		older = g->older;
		s_gen_free(g);
	}
	m->gen = NULL;
}

/* ---- following a restart ---- */

/* The vnodes of m on generation cur that VFS holds, each with one more reference (caller
 * puts them), in a new array (NULL when none or ENOMEM: then *n is 0). */
static vfs_vnode **s_held(vfs *v, vfs_mount *m, vfs_fsgen *cur, size_t *n)
{
	size_t cap = 0;
	vfs_vnode **list = NULL;
	*n = 0;
	pthread_mutex_lock(&v->lock);
	vfs_dcache_forget_mount(v, m);
	for (size_t b = 0; b < v->nbuckets; b++)
		for (vfs_vnode *vn = v->vnodes[b]; vn; vn = vn->hash_next) {
			if (vn->mount != m || vn->fsg != cur || vn->refs <= 0)
				continue;
			if (*n == cap) {
				cap = cap ? 2 * cap : 64;
				vfs_vnode **more = realloc(list, cap * sizeof *list);
				if (!more)
					continue; /* left out: retired below, as a file not found */
				list = more;
			}
			vfs_vnode_hold_locked(v, vn);
			list[(*n)++] = vn;
		}
	pthread_mutex_unlock(&v->lock);
	return list;
}

/* Asks the new generation g for each held vnode: found[i] set when it is the same file (its
 * attributes into attrs[i]). Returns 0, or -EIO when g did not answer (nothing decided). */
static int s_find_again(vfs_fsgen *g, vfs_vnode **held, size_t n, vfs_attr *attrs, bool *found)
{
	for (size_t i = 0; i < n; i++) {
		vfs_attr had;
		vfs_vnode_attr(held[i], &had);
		int rc = plx_fs_stat(g->client, held[i]->ino, &attrs[i]);
		if (rc < 0 && rc != -ENOENT && rc != -EINVAL)
			return -EIO;
		found[i] = rc == 0 && (attrs[i].mode & S_IFMT) == (had.mode & S_IFMT);
	}
	return 0;
}

/* Moves the vnode found again to g with the attributes the new instance has (its last
 * commit: an unlink it lost leaves the file linked again). */
static void s_move(vfs *v, vfs_vnode *vn, vfs_fsgen *g, const vfs_attr *a)
{
	pthread_mutex_lock(&vn->lock); /* before vfs->lock, as the order says */
	vn->attr = *a;
	vn->attr.dev = vn->mount->dev;
	pthread_mutex_lock(&v->lock);
	vn->unlinked = a->nlink == 0;
	__atomic_store_n(&vn->fsg, g, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&v->lock);
	pthread_mutex_unlock(&vn->lock);
}

/* Follows m from cur to generation gen (m->follow_lock held). */
static int s_follow(vfs *v, vfs_mount *m, vfs_fsgen *cur, uint64_t gen)
{
	vfs_fsgen *g = s_gen_new(v, m, gen);
	size_t n = 0;
	vfs_vnode **held = g ? s_held(v, m, cur, &n) : NULL;
	vfs_attr *attrs = n ? calloc(n, sizeof *attrs) : NULL;
	bool *found = n ? calloc(n, sizeof *found) : NULL;
	int rc = !g || (n && (!attrs || !found)) ? -ENOMEM : s_find_again(g, held, n, attrs, found);
	size_t kept = 0;
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (found[i]) {
			s_move(v, held[i], g, &attrs[i]);
			kept++;
		}
	if (rc == 0) {
		vfs_vnode_retire(v, m, g); /* the rest: not found, unused, or made meanwhile */
		g->older = cur;
		__atomic_store_n(&m->gen, g, __ATOMIC_RELEASE);
		plx_log(PLX_LOG_INFO,
		        "%s restarted (generation %llu): of the files held, %zu found again, %zu "
		        "gone (calls on them fail EIO)",
		        m->fs, (unsigned long long)gen, kept, n - kept);
	} else if (g) {
		s_gen_free(g);
	}
	for (size_t i = 0; i < n; i++)
		vfs_vnode_put(v, held[i]);
	free(held);
	free(attrs);
	free(found);
	return rc < 0 ? -EIO : 0;
}

int vfs_fs_follow(vfs *v, vfs_mount *m)
{
	vfs_fsgen *cur = s_current(m);
	if (!cur || !cur->gen)
		return 0; /* a mount that does not follow */
	uint64_t now = s_route_gen(v, m);
	if (now <= cur->gen)
		return 0;
	pthread_mutex_lock(&m->follow_lock);
	cur = s_current(m);
	int rc = now > cur->gen ? s_follow(v, m, cur, now) : 0;
	pthread_mutex_unlock(&m->follow_lock);
	return rc;
}

/* Follows the mounts that match fs (NULL: all), each held by its root meanwhile. */
static void s_follow_matching(vfs *v, const char *fs)
{
	for (int i = 0; i < VFS_MOUNT_MAX; i++) {
		vfs_vnode *root = NULL;
		pthread_mutex_lock(&v->lock);
		vfs_mount *m = v->mounts[i];
		if (m && m->root && !m->unmounting && (!fs || strcmp(m->fs, fs) == 0)) {
			root = m->root;
			vfs_vnode_hold_locked(v, root); /* keeps the mount while it is followed */
		}
		pthread_mutex_unlock(&v->lock);
		if (root) {
			(void)vfs_fs_follow(v, root->mount);
			vfs_vnode_put(v, root);
		}
	}
}

void vfs_fs_follow_label(vfs *v, const char *fs)
{
	s_follow_matching(v, fs);
}

/* A worker's job: follow the mounts of one file server, then let the next round queue it
 * again. */
static void s_follow_job(vfs *v, void *arg)
{
	char *fs = arg;
	s_follow_matching(v, fs);
	pthread_mutex_lock(&v->lock);
	for (int i = 0; i < VFS_MOUNT_MAX; i++)
		if (v->mounts[i] && strcmp(v->mounts[i]->fs, fs) == 0)
			v->mounts[i]->follow_queued = false;
	pthread_mutex_unlock(&v->lock);
	free(fs);
}

void vfs_fs_follow_due(vfs *v)
{
	for (int i = 0; i < VFS_MOUNT_MAX; i++) {
		char *fs = NULL;
		pthread_mutex_lock(&v->lock);
		vfs_mount *m = v->mounts[i];
		vfs_fsgen *cur = m ? s_current(m) : NULL;
		if (m && cur && cur->gen && !m->follow_queued && !m->unmounting &&
		    s_route_gen(v, m) > cur->gen && (fs = strdup(m->fs)))
			m->follow_queued = true;
		pthread_mutex_unlock(&v->lock);
		if (fs && vfs_workers_defer(v->workers, s_follow_job, fs) < 0)
			s_follow_job(v, fs); /* no memory for the job: here, then */
	}
}

vfs_fsgen *vfs_fs_gen(vfs *v, vfs_vnode *vn)
{
	(void)vfs_fs_follow(v, vn->mount); /* failed: vn stays where it is, and so fails -EIO */
	return vfs_vnode_fsgen(vn);
}

plx_fs *vfs_fs(vfs *v, vfs_vnode *vn)
{
	return vfs_fs_gen(v, vn)->client;
}

plx_fs *vfs_fs_pair(vfs *v, vfs_vnode *a, vfs_vnode *b)
{
	vfs_fsgen *g = vfs_fs_gen(v, a);
	return g == vfs_vnode_fsgen(b) ? g->client : NULL;
}
