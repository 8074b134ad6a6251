/*
 * path.c — path resolution (MINIX's lookup.c), one component per FS_LOOKUP.
 *
 * Entry points: vfs_path_resolve, vfs_path_resolve_canon, vfs_path_parent, vfs_path_lookup,
 * vfs_path_join, vfs_path_at_begin, vfs_path_at_end.
 *
 * A path starts at "/" (the root mount's root), at the directory an *at call names by its
 * descriptor (VfsPath.at, .at2), or at the caller's working directory. Each
 * component is looked up in the directory reached so far, which must be a directory the
 * caller may search. Going down onto a directory something is mounted on continues at the
 * mounted root; ".." at a mounted root continues at the directory it covers (and ".." at "/"
 * stays there). A symbolic link met before the last component, or as the last one unless
 * VFS_PATH_NOFOLLOW, is replaced by its target (at most VFS_SYMLOOP_MAX of them: -ELOOP). A
 * trailing '/' makes the last component follow links and demands a directory.
 *
 * Between components only vnode references are held, never a lock.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vfs.h"

typedef struct s_walk {
	vfs_req *req;
	vfs_vnode *dir; /* the directory reached so far (one reference) */
	int links;      /* symbolic links followed */
	char *canon;    /* the absolute path of dir, or NULL when not wanted */
} s_walk;

static uint32_t s_type(vfs_vnode *vn)
{
	vfs_attr a;
	vfs_vnode_attr(vn, &a);
	return a.mode & S_IFMT;
}

/* The start of a walk: "/", the *at directory of the request, or the caller's cwd, with one
 * reference; NULL if none. */
static vfs_vnode *s_start(vfs_req *req, bool absolute, char **canon)
{
	vfs *v = req->vfs;
	vfs_vnode *vn = NULL;
	if (!absolute && (vn = req->at[req->at_cur])) {
		vfs_vnode_hold(v, vn);
		if (canon) /* as fchdir: the directory's path as opened, when there is one */
			snprintf(*canon, VFS_PATH_MAX, "%s",
			         req->at_path[req->at_cur] ? req->at_path[req->at_cur] : "?");
		return vn;
	}
	if (!absolute && req->proc) {
		pthread_mutex_lock(&req->proc->lock);
		if ((vn = req->proc->cwd)) {
			vfs_vnode_hold(v, vn);
			if (canon)
				snprintf(*canon, VFS_PATH_MAX, "%s", req->proc->cwd_path);
		}
		pthread_mutex_unlock(&req->proc->lock);
	}
	if (!vn) {
		vn = vfs_root(v);
		if (canon)
			strcpy(*canon, "/");
	}
	return vn;
}

/* The canonical path after stepping into comp ("..": up; "/" for an absolute link). */
static void s_canon_step(char *canon, const char *comp)
{
	if (!canon)
		return;
	if (strcmp(comp, "/") == 0) {
		strcpy(canon, "/");
	} else if (strcmp(comp, "..") == 0) {
		char *slash = strrchr(canon, '/');
		if (slash == canon)
			canon[1] = '\0';
		else if (slash)
			*slash = '\0';
	} else if (strcmp(comp, ".") != 0) {
		size_t len = strlen(canon);
		if (len + 1 + strlen(comp) < VFS_PATH_MAX)
			snprintf(canon + len, VFS_PATH_MAX - len, "%s%s", len > 1 ? "/" : "", comp);
	}
}

/* ".." from dir: sets *out (one reference). */
static int s_dotdot(vfs_req *req, vfs_vnode *dir, vfs_vnode **out)
{
	vfs *v = req->vfs;
	vfs_vnode_hold(v, dir);
	for (;;) {
		vfs_mount *m = dir->mount;
		if (dir != m->root)
			break;
		if (!m->covered) { /* "/": ".." is itself */
			*out = dir;
			return 0;
		}
		vfs_vnode *up = m->covered;
		vfs_vnode_hold(v, up);
		vfs_vnode_put(v, dir);
		dir = up;
	}
	int rc = vfs_fs_lookup(v, dir, "..", out);
	vfs_vnode_put(v, dir);
	return rc;
}

/* Crosses from vn down onto whatever is mounted on it; consumes vn's reference. */
static vfs_vnode *s_cross_down(vfs *v, vfs_vnode *vn)
{
	for (;;) {
		pthread_mutex_lock(&v->lock);
		vfs_mount *m = vn->mounted;
		vfs_vnode *root = m ? m->root : NULL;
		if (root)
			root->refs++;
		pthread_mutex_unlock(&v->lock);
		if (!root)
			return vn;
		vfs_vnode_put(v, vn);
		vn = root;
	}
}

int vfs_path_lookup(vfs_req *req, vfs_vnode *dir, const char *name, vfs_vnode **out)
{
	if (s_type(dir) != S_IFDIR)
		return -ENOTDIR;
	if (strlen(name) > VFS_NAME_MAX)
		return -ENAMETOOLONG;
	int rc = vfs_may(&req->cred, dir, VFS_MAY_EXEC);
	if (rc < 0)
		return rc;
	if (strcmp(name, ".") == 0) {
		vfs_vnode_hold(req->vfs, dir);
		*out = dir;
		return 0;
	}
	if (strcmp(name, "..") == 0)
		return s_dotdot(req, dir, out);
	vfs_watch_hold(req, dir); /* its names, before they are looked up */
	vfs_vnode *vn;
	bool asked;
	if ((rc = vfs_fs_lookup_asked(req->vfs, dir, name, &vn, &asked)) < 0)
		return rc;
	*out = s_cross_down(req->vfs, vn);
	vfs_watch_hold(req, *out); /* names are made in it (the last directory of a path) */
	if (asked && *out == vn)
		req->fresh = vn;
	return 0;
}

/* Replaces the rest of the walk with link's target followed by next. */
static int s_follow(s_walk *w, vfs_vnode *link, const char *next, char **rest)
{
	if (++w->links > VFS_SYMLOOP_MAX)
		return -ELOOP;
	char *target = malloc(VFS_PATH_MAX);
	if (!target)
		return -ENOMEM;
	ssize_t n = plx_fs_rdlink(vfs_fs(w->req->vfs, link), link->ino, target, VFS_PATH_MAX);
	int rc = n < 0 ? vfs_fs_errno((int)n) : 0;
	if (rc == 0 && n == 0)
		rc = -ENOENT;
	if (rc == 0 && (size_t)n + strlen(next) + 2 > VFS_PATH_MAX)
		rc = -ENAMETOOLONG;
	char *joined = rc == 0 ? malloc(VFS_PATH_MAX) : NULL;
	if (rc == 0 && !joined)
		rc = -ENOMEM;
	if (rc == 0) {
		snprintf(joined, VFS_PATH_MAX, "%s%s%s", target, *next ? "/" : "", next);
		free(*rest);
		*rest = joined;
		if (target[0] == '/') {
			vfs_vnode_put(w->req->vfs, w->dir);
			w->dir = vfs_root(w->req->vfs);
			s_canon_step(w->canon, "/");
			if (!w->dir)
				rc = -ENOENT;
		}
	}
	free(target);
	return rc;
}

/* Walks rest from w->dir; on success w->dir is the result. */
static int s_walk_path(s_walk *w, char **restp, int flags)
{
	char comp[VFS_NAME_MAX + 1];
	for (;;) {
		char *rest = *restp;
		const char *p = rest;
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		size_t len = strcspn(p, "/");
		if (len > VFS_NAME_MAX)
			return -ENAMETOOLONG;
		memcpy(comp, p, len);
		comp[len] = '\0';
		const char *next = p + len;
		const char *after = next;
		while (*after == '/')
			after++;
		bool last = *after == '\0';
		bool trailing = last && *next == '/';
		vfs_vnode *child;
		int rc = vfs_path_lookup(w->req, w->dir, comp, &child);
		if (rc < 0)
			return rc;
		bool follow = !last || trailing || !(flags & VFS_PATH_NOFOLLOW);
		if (s_type(child) == S_IFLNK && follow) {
			char *tail = strdup(next);
			rc = tail ? s_follow(w, child, tail, restp) : -ENOMEM;
			free(tail);
			vfs_vnode_put(w->req->vfs, child);
			if (rc < 0)
				return rc;
			continue;
		}
		vfs_vnode_put(w->req->vfs, w->dir);
		w->dir = child;
		s_canon_step(w->canon, comp);
		if (trailing && s_type(child) != S_IFDIR)
			return -ENOTDIR;
		memmove(rest, next, strlen(next) + 1);
	}
	if ((flags & VFS_PATH_DIR) && s_type(w->dir) != S_IFDIR)
		return -ENOTDIR;
	return 0;
}

int vfs_path_resolve_canon(vfs_req *req, const char *path, int flags, vfs_vnode **out, char **canon)
{
	if (!path || path[0] == '\0')
		return -ENOENT;
	if (strlen(path) >= VFS_PATH_MAX)
		return -ENAMETOOLONG;
	s_walk w = {.req = req};
	char *rest = strdup(path);
	if (canon && !(w.canon = malloc(VFS_PATH_MAX))) {
		free(rest);
		return -ENOMEM;
	}
	if (!rest) {
		free(w.canon);
		return -ENOMEM;
	}
	w.dir = s_start(req, path[0] == '/', w.canon ? &w.canon : NULL);
	int rc = w.dir ? s_walk_path(&w, &rest, flags) : -ENOENT;
	free(rest);
	if (rc < 0) {
		vfs_vnode_put(req->vfs, w.dir);
		free(w.canon);
		return rc;
	}
	*out = w.dir;
	if (canon)
		*canon = w.canon;
	return 0;
}

int vfs_path_resolve(vfs_req *req, const char *path, int flags, vfs_vnode **out)
{
	return vfs_path_resolve_canon(req, path, flags, out, NULL);
}

int vfs_path_parent(vfs_req *req, const char *path, vfs_vnode **dir, char *name,
                    bool *trailing_slash)
{
	if (!path || path[0] == '\0')
		return -ENOENT;
	size_t len = strlen(path);
	if (len >= VFS_PATH_MAX)
		return -ENAMETOOLONG;
	size_t end = len;
	while (end > 0 && path[end - 1] == '/')
		end--;
	if (trailing_slash)
		*trailing_slash = end < len;
	if (end == 0) { /* "/" */
		strcpy(name, ".");
		*dir = vfs_root(req->vfs);
		return *dir ? 0 : -ENOENT;
	}
	size_t start = end;
	while (start > 0 && path[start - 1] != '/')
		start--;
	if (end - start > VFS_NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(name, path + start, end - start);
	name[end - start] = '\0';
	char *parent = strndup(path, start);
	if (!parent)
		return -ENOMEM;
	int rc = vfs_path_resolve(req, start == 0 ? "." : parent, VFS_PATH_DIR, dir);
	free(parent);
	if (rc == 0 && (rc = vfs_may(&req->cred, *dir, VFS_MAY_EXEC)) < 0)
		vfs_vnode_put(req->vfs, *dir);
	return rc;
}

char *vfs_path_join(vfs_req *req, const char *path)
{
	const char *at = req->at[req->at_cur] ? req->at_path[req->at_cur] : NULL;
	char *out = NULL;
	if (path[0] != '/' && at) {
		if (asprintf(&out, "%s%s%s", at, strcmp(at, "/") == 0 ? "" : "/", path) < 0)
			out = NULL;
		return out;
	}
	if (path[0] == '/' || !req->proc)
		return strdup(path);
	pthread_mutex_lock(&req->proc->lock);
	const char *cwd = req->proc->cwd_path ? req->proc->cwd_path : "/";
	if (asprintf(&out, "%s%s%s", cwd, strcmp(cwd, "/") == 0 ? "" : "/", path) < 0)
		out = NULL;
	pthread_mutex_unlock(&req->proc->lock);
	return out;
}

/* The directory open as descriptor at - 1 of the caller into req->at[i]. */
static int s_at_one(vfs_req *req, uint32_t at, int i)
{
	if (at == 0)
		return 0;
	vfs_filp *f =
	    req->proc && at <= INT32_MAX ? vfs_fd_get(req->vfs, req->proc, (int)(at - 1)) : NULL;
	if (!f)
		return -EBADF;
	int rc = s_type(f->vnode) == S_IFDIR ? 0 : -ENOTDIR;
	if (rc == 0) {
		vfs_vnode_hold(req->vfs, f->vnode);
		req->at[i] = f->vnode;
		req->at_path[i] = f->path ? strdup(f->path) : NULL;
	}
	vfs_filp_put(req->vfs, f);
	return rc;
}

int vfs_path_at_begin(vfs_req *req)
{
	if (!req->body || req->body->descriptor != &plexus__vfs_path__descriptor)
		return 0;
	const Plexus__VfsPath *m = (const Plexus__VfsPath *)req->body;
	int rc = s_at_one(req, m->at, 0);
	return rc < 0 ? rc : s_at_one(req, m->at2, 1);
}

void vfs_path_at_end(vfs_req *req)
{
	for (int i = 0; i < 2; i++) {
		vfs_vnode_put(req->vfs, req->at[i]);
		free(req->at_path[i]);
		req->at[i] = NULL;
		req->at_path[i] = NULL;
	}
}
