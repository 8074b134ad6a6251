/*
 * nodes.c — the mount's inode table: what each FUSE node id names in Plexus, and the files
 * open on it.
 *
 * Entry points: mount_nodes_init, mount_nodes_free, mount_node_path, mount_node_same,
 * mount_node_learn, mount_node_unlearn, mount_node_moved, mount_node_forget, mount_file_open,
 * mount_node_file, mount_file_hold, mount_file_put, mount_file_release, mount_nodes_known,
 * mount_node_children, mount_node_of, mount_node_mode, mount_node_set_mode, mount_known_free.
 *
 * The kernel names files by the node ids the mount hands out in its entry replies (lookup,
 * mkdir, mknod, symlink, link, create), counts those replies and gives them back with FORGET.
 * A node is one Plexus inode (VFS's device and inode number) with the names it is known by:
 * (parent node, name) pairs, the newest first, as lookups, renames and unlinks taught them. A
 * call on a node goes to VFS by the path of its newest name, built up through the parents
 * (paths.c takes paths of any length), or through a file open on it: a node whose every name
 * is gone (unlinked while open) is reached through its open files only, as on Linux. Node 1
 * (FUSE_ROOT_ID) is the namespace's root "/" and is never forgotten.
 *
 * A node lives while the kernel holds lookups of it, a name of another node has it as parent,
 * or a file is open on it. An open file lives while the kernel's handle or a call borrowing it
 * holds it; the last one closes its Plexus descriptor, so a descriptor number is never reused
 * under a call that still uses it. One mutex guards it all; no Plexus call is made under it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "mount.h"

#define S_PATH_LIMIT (1L << 20) /* bytes of a path built from the table: past it, a loop */

typedef struct s_inode_key {
	uint64_t dev, ino;
} s_inode_key;

typedef struct mount_name mount_name;

struct mount_node {
	fuse_ino_t id;
	s_inode_key inode; /* {0, 0} for the root until it is first seen */
	mode_t mode;       /* as last seen (type and permissions); 0 for the root until then */
	uint64_t lookups;  /* the kernel's */
	int pins;          /* names of other nodes under it, open files on it */
	mount_name *names; /* newest first */
	mount_file *files; /* open on it, newest first */
	bool indexed;      /* in ctx->inodes (the current node of its inode) */
	UT_hash_handle by_id, by_inode;
};

/* A name: node is known as `name` in directory `parent`. Kept in the table by (parent, name). */
struct mount_name {
	mount_node *node, *parent;
	mount_name *next; /* node's next name */
	size_t len;
	char *key; /* parent's id (8 bytes) then the name */
	UT_hash_handle hh;
};

static void s_lock(mount_ctx *ctx)
{
	pthread_mutex_lock(&ctx->nodes_lock);
}

static void s_unlock(mount_ctx *ctx)
{
	pthread_mutex_unlock(&ctx->nodes_lock);
}

void mount_nodes_init(mount_ctx *ctx)
{
	pthread_mutex_init(&ctx->nodes_lock, NULL);
	ctx->next_id = FUSE_ROOT_ID + 1;
	mount_node *root = calloc(1, sizeof *root);
	if (!root)
		abort(); /* at start-up, nothing to go on without */
	root->id = FUSE_ROOT_ID;
	root->lookups = 1;
	HASH_ADD(by_id, ctx->nodes, id, sizeof root->id, root);
	ctx->root = root;
}

/* Under the lock: the node of id, or NULL. */
static mount_node *s_node(mount_ctx *ctx, fuse_ino_t id)
{
	mount_node *n = NULL;
	HASH_FIND(by_id, ctx->nodes, &id, sizeof id, n);
	return n;
}

/* Under the lock: the name (parent, name), or NULL. */
static mount_name *s_name_find(mount_ctx *ctx, const mount_node *parent, const char *name)
{
	size_t len = strlen(name), klen = sizeof parent->id + len;
	char *key = malloc(klen);
	if (!key)
		return NULL;
	memcpy(key, &parent->id, sizeof parent->id);
	memcpy(key + sizeof parent->id, name, len);
	mount_name *nm = NULL;
	HASH_FIND(hh, ctx->names, key, (unsigned)klen, nm);
	free(key);
	return nm;
}

static void s_node_maybe_free(mount_ctx *ctx, mount_node *n);

/* Under the lock: forgets the name nm (its parent may go with it). */
static void s_name_drop(mount_ctx *ctx, mount_name *nm)
{
	HASH_DELETE(hh, ctx->names, nm);
	for (mount_name **pp = &nm->node->names; *pp; pp = &(*pp)->next)
		if (*pp == nm) {
			*pp = nm->next;
			break;
		}
	mount_node *parent = nm->parent;
	free(nm->key);
	free(nm);
	parent->pins--;
	s_node_maybe_free(ctx, parent);
}

/* Under the lock: frees n when nothing holds it any more, and the names it had. */
static void s_node_maybe_free(mount_ctx *ctx, mount_node *n)
{
	if (n == ctx->root || n->lookups > 0 || n->pins > 0)
		return;
	HASH_DELETE(by_id, ctx->nodes, n);
	if (n->indexed)
		HASH_DELETE(by_inode, ctx->inodes, n);
	while (n->names)
		s_name_drop(ctx, n->names);
	free(n);
}

/* Under the lock: gives n the name (parent, name), newest; -ENOMEM. */
static int s_name_add(mount_ctx *ctx, mount_node *n, mount_node *parent, const char *name)
{
	mount_name *nm = calloc(1, sizeof *nm);
	size_t len = strlen(name);
	char *key = nm ? malloc(sizeof parent->id + len) : NULL;
	if (!key) {
		free(nm);
		return -ENOMEM;
	}
	memcpy(key, &parent->id, sizeof parent->id);
	memcpy(key + sizeof parent->id, name, len);
	*nm = (mount_name){.node = n, .parent = parent, .next = n->names, .len = len, .key = key};
	n->names = nm;
	parent->pins++;
	HASH_ADD_KEYPTR(hh, ctx->names, nm->key, (unsigned)(sizeof parent->id + len), nm);
	return 0;
}

void mount_nodes_free(mount_ctx *ctx)
{
	mount_node *n, *tmp;
	HASH_CLEAR(by_inode, ctx->inodes); /* its table only, while the nodes are still there */
	HASH_ITER(by_id, ctx->nodes, n, tmp)
	{
		while (n->names) { /* without s_name_drop: the parents go in this loop too */
			mount_name *nm = n->names;
			n->names = nm->next;
			HASH_DELETE(hh, ctx->names, nm);
			free(nm->key);
			free(nm);
		}
		HASH_DELETE(by_id, ctx->nodes, n);
		free(n);
	}
	pthread_mutex_destroy(&ctx->nodes_lock);
}

/* Under the lock: bytes of n's path ("/" for the root), or -ESTALE (no name left), -ELOOP. */
static long s_path_len(const mount_ctx *ctx, const mount_node *n)
{
	long len = 0;
	for (; n != ctx->root; n = n->names->parent) {
		if (!n->names)
			return -ESTALE;
		len += 1 + (long)n->names->len;
		if (len > S_PATH_LIMIT)
			return -ELOOP;
	}
	return len ? len : 1;
}

/* Under the lock: writes n's path, whose length is len, to out (len + 1 bytes). */
static void s_path_fill(const mount_ctx *ctx, const mount_node *n, char *out, long len)
{
	out[len] = '\0';
	if (n == ctx->root) {
		out[0] = '/';
		return;
	}
	for (char *end = out + len; n != ctx->root; n = n->names->parent) {
		end -= n->names->len;
		memcpy(end, n->names->key + sizeof n->names->parent->id, n->names->len);
		*--end = '/';
	}
}

int mount_node_path(mount_ctx *ctx, fuse_ino_t id, const char *name, char **path)
{
	size_t extra = name ? 1 + strlen(name) : 0;
	s_lock(ctx);
	mount_node *n = s_node(ctx, id);
	long len = n ? s_path_len(ctx, n) : -ESTALE;
	char *out = len > 0 ? malloc((size_t)len + extra + 1) : NULL;
	if (out)
		s_path_fill(ctx, n, out, len);
	s_unlock(ctx);
	if (len < 0)
		return (int)len;
	if (!out)
		return -ENOMEM;
	if (name) /* the root's "/" takes no second slash */
		snprintf(out + (len == 1 ? 0 : len), extra + 1, "/%s", name);
	*path = out;
	return 0;
}

bool mount_node_same(mount_ctx *ctx, fuse_ino_t id, const struct stat *st)
{
	s_inode_key key = {(uint64_t)st->st_dev, (uint64_t)st->st_ino};
	s_lock(ctx);
	mount_node *n = s_node(ctx, id);
	bool same = n && (n == ctx->root || memcmp(&n->inode, &key, sizeof key) == 0);
	if (n == ctx->root) /* what "/" is now, for the changes VFS reports (watch.c) */
		n->inode = key;
	if (same)
		n->mode = st->st_mode;
	s_unlock(ctx);
	return same;
}

/* Under the lock: the node of st's inode, made if need be; NULL when out of memory. A node
 * whose names are all gone is an earlier file's, whose inode number the file system gave
 * again: the new file gets a node of its own, so the kernel never takes it for the removed
 * one (a removed directory's inode is dead to the kernel). */
static mount_node *s_node_of(mount_ctx *ctx, const struct stat *st)
{
	s_inode_key key = {(uint64_t)st->st_dev, (uint64_t)st->st_ino};
	mount_node *n = NULL;
	HASH_FIND(by_inode, ctx->inodes, &key, sizeof key, n);
	if (n && n->names)
		return n;
	if (n) { /* left to its open files and the kernel's lookups until forgotten */
		HASH_DELETE(by_inode, ctx->inodes, n);
		n->indexed = false;
	}
	if (!(n = calloc(1, sizeof *n)))
		return NULL;
	n->id = ctx->next_id++;
	n->inode = key;
	n->indexed = true;
	HASH_ADD(by_id, ctx->nodes, id, sizeof n->id, n);
	HASH_ADD(by_inode, ctx->inodes, inode, sizeof n->inode, n);
	return n;
}

fuse_ino_t mount_node_learn(mount_ctx *ctx, fuse_ino_t parent_id, const char *name,
                            const struct stat *st)
{
	s_lock(ctx);
	mount_node *parent = s_node(ctx, parent_id);
	if (parent)
		parent->pins++; /* outlives the old name's drop below */
	mount_name *old = parent ? s_name_find(ctx, parent, name) : NULL;
	mount_node *n = parent ? s_node_of(ctx, st) : NULL;
	fuse_ino_t id = 0;
	if (n) {
		n->mode = st->st_mode;
		n->lookups++; /* before the old name goes: it may have been n's last hold */
		bool known = old && old->node == n;
		if (old && !known)
			s_name_drop(ctx, old); /* old is freed */
		if (known || s_name_add(ctx, n, parent, name) == 0)
			id = n->id;
		else
			n->lookups--;
		s_node_maybe_free(ctx, n);
	}
	if (parent) {
		parent->pins--;
		s_node_maybe_free(ctx, parent);
	}
	s_unlock(ctx);
	return id;
}

void mount_node_unlearn(mount_ctx *ctx, fuse_ino_t parent_id, const char *name)
{
	s_lock(ctx);
	mount_node *parent = s_node(ctx, parent_id);
	mount_name *nm = parent ? s_name_find(ctx, parent, name) : NULL;
	if (nm) {
		mount_node *n = nm->node;
		n->pins++; /* n outlives its name's drop, to be freed after */
		s_name_drop(ctx, nm);
		n->pins--;
		s_node_maybe_free(ctx, n);
	}
	s_unlock(ctx);
}

void mount_node_moved(mount_ctx *ctx, fuse_ino_t from_id, const char *from, fuse_ino_t to_id,
                      const char *to)
{
	s_lock(ctx);
	mount_node *fromdir = s_node(ctx, from_id), *todir = s_node(ctx, to_id);
	mount_name *nm = fromdir ? s_name_find(ctx, fromdir, from) : NULL;
	mount_node *n = nm ? nm->node : NULL;
	if (n && todir) {
		n->pins++;
		todir->pins++; /* both outlive the drops below */
		mount_name *replaced = s_name_find(ctx, todir, to);
		if (replaced && replaced != nm)
			s_name_drop(ctx, replaced);
		s_name_drop(ctx, nm);
		s_name_add(ctx, n, todir, to); /* on failure n is nameless: ESTALE later */
		todir->pins--;
		n->pins--;
		s_node_maybe_free(ctx, todir);
		s_node_maybe_free(ctx, n);
	}
	s_unlock(ctx);
}

void mount_node_forget(mount_ctx *ctx, fuse_ino_t id, uint64_t lookups)
{
	s_lock(ctx);
	mount_node *n = s_node(ctx, id);
	if (n && n != ctx->root) {
		n->lookups = lookups < n->lookups ? n->lookups - lookups : 0;
		s_node_maybe_free(ctx, n);
	}
	s_unlock(ctx);
}

mount_file *mount_file_open(mount_ctx *ctx, fuse_ino_t id, mount_session *s, int fd)
{
	mount_file *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	*f = (mount_file){.s = s, .fd = fd, .refs = 1};
	pthread_mutex_init(&f->lock, NULL);
	s_lock(ctx);
	mount_node *n = s_node(ctx, id);
	if (n) { /* a node the kernel names is in the table; if not, the file is nobody's */
		f->node = n;
		f->next = n->files;
		n->files = f;
		n->pins++;
	}
	s_unlock(ctx);
	return f;
}

mount_file *mount_node_file(mount_ctx *ctx, fuse_ino_t id, const mount_session *s)
{
	s_lock(ctx);
	mount_node *n = s_node(ctx, id);
	mount_file *f = n ? n->files : NULL;
	while (f && s && f->s != s)
		f = f->next;
	if (f)
		f->refs++;
	s_unlock(ctx);
	return f;
}

void mount_file_hold(mount_ctx *ctx, mount_file *f)
{
	s_lock(ctx);
	f->refs++;
	s_unlock(ctx);
}

/* Closes f's descriptor and lets go of its session. */
static int s_file_close(mount_ctx *ctx, mount_file *f)
{
	int rc = plexus_close(f->s->p, f->fd) < 0 ? -(errno ? errno : EIO) : 0;
	mount_session_put(ctx, f->s);
	pthread_mutex_destroy(&f->lock);
	free(f->listing);
	free(f);
	return rc;
}

int mount_file_put(mount_ctx *ctx, mount_file *f)
{
	s_lock(ctx);
	bool last = --f->refs == 0;
	s_unlock(ctx);
	return last ? s_file_close(ctx, f) : 0;
}

int mount_file_release(mount_ctx *ctx, mount_file *f)
{
	s_lock(ctx);
	mount_node *n = f->node;
	if (n) {
		for (mount_file **pp = &n->files; *pp; pp = &(*pp)->next)
			if (*pp == f) {
				*pp = f->next;
				break;
			}
		f->node = NULL;
		n->pins--;
		s_node_maybe_free(ctx, n);
	}
	s_unlock(ctx);
	return mount_file_put(ctx, f);
}

/* Copies of the names the table knows in directory parent (0: everywhere) into *out. */
static long s_known(mount_ctx *ctx, fuse_ino_t parent, mount_known **out)
{
	s_lock(ctx);
	mount_node *dir = parent ? s_node(ctx, parent) : NULL;
	long n = parent ? 0 : (long)HASH_CNT(hh, ctx->names), i = 0;
	if (dir && dir->pins > 0) /* names under it pin it: else there are none to look for */
		for (mount_name *nm = ctx->names; nm; nm = nm->hh.next)
			n += nm->parent == dir;
	mount_known *known = calloc((size_t)n + 1, sizeof *known);
	for (mount_name *nm = ctx->names; known && nm && i < n; nm = nm->hh.next) {
		if (parent && nm->parent != dir)
			continue;
		known[i] = (mount_known){.parent = nm->parent->id, .node = nm->node->id};
		if (!(known[i++].name = strndup(nm->key + sizeof nm->parent->id, nm->len))) {
			mount_known_free(known, i);
			known = NULL;
		}
	}
	s_unlock(ctx);
	*out = known;
	return known ? n : -ENOMEM;
}

long mount_nodes_known(mount_ctx *ctx, mount_known **out)
{
	return s_known(ctx, 0, out);
}

long mount_node_children(mount_ctx *ctx, fuse_ino_t id, mount_known **out)
{
	return s_known(ctx, id, out);
}

void mount_node_set_mode(mount_ctx *ctx, fuse_ino_t id, mode_t mode)
{
	s_lock(ctx);
	mount_node *n = s_node(ctx, id);
	if (n)
		n->mode = mode;
	s_unlock(ctx);
}

mode_t mount_node_mode(mount_ctx *ctx, fuse_ino_t id)
{
	s_lock(ctx);
	mount_node *n = s_node(ctx, id);
	mode_t mode = n ? n->mode : 0;
	s_unlock(ctx);
	return mode;
}

fuse_ino_t mount_node_of(mount_ctx *ctx, uint64_t dev, uint64_t ino)
{
	s_inode_key key = {dev, ino};
	mount_node *n = NULL;
	s_lock(ctx);
	if (memcmp(&ctx->root->inode, &key, sizeof key) == 0)
		n = ctx->root;
	else
		HASH_FIND(by_inode, ctx->inodes, &key, sizeof key, n);
	fuse_ino_t id = n ? n->id : 0;
	s_unlock(ctx);
	return id;
}

void mount_known_free(mount_known *known, long n)
{
	for (long i = 0; known && i < n; i++)
		free(known[i].name);
	free(known);
}
