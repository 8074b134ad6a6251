/*
 * calls.c — what the mount's operations share: the caller's session and paths, errno, the
 * attributes the kernel is shown, and entry replies (ops.h).
 *
 * Entry points: mount_req_ctx, mount_errno, mount_fix_stat, mount_call_at, mount_call_at2,
 * mount_reply_entry.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

mount_ctx *mount_req_ctx(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

int mount_errno(void)
{
	return errno ? errno : EIO;
}

/* Plexus inode numbers are per file system; the mount shows one device, so the number of
 * the Plexus device is folded in to keep (st_dev, st_ino) pairs apart across its mounts. */
void mount_fix_stat(struct stat *st)
{
	st->st_ino ^= (ino_t)st->st_dev << 40;
}

long mount_call_at(fuse_req_t req, fuse_ino_t id, const char *name, mount_path_fn fn, void *arg)
{
	mount_ctx *ctx = mount_req_ctx(req);
	char *path = NULL;
	int rc = mount_node_path(ctx, id, name, &path);
	if (rc < 0)
		return rc;
	mount_session *s = mount_session_caller(ctx, req);
	long n = s ? mount_path_call(s, path, fn, arg) : -1;
	long answer = n < 0 ? -mount_errno() : n;
	if (s)
		mount_session_put(ctx, s);
	free(path);
	return answer;
}

long mount_call_at2(fuse_req_t req, const mount_place *a, const mount_place *b, mount_path_fn fn,
                    void *arg)
{
	mount_ctx *ctx = mount_req_ctx(req);
	char *pa = NULL, *pb = NULL;
	int rc = mount_node_path(ctx, a->id, a->name, &pa);
	if (rc == 0)
		rc = mount_node_path(ctx, b->id, b->name, &pb);
	mount_session *s = rc == 0 ? mount_session_caller(ctx, req) : NULL;
	long answer = rc;
	if (rc == 0) {
		long n = s ? mount_path2_call(s, pa, pb, fn, arg) : -1;
		answer = n < 0 ? -mount_errno() : n;
	}
	if (s)
		mount_session_put(ctx, s);
	free(pa);
	free(pb);
	return answer;
}

void mount_reply_entry(fuse_req_t req, fuse_ino_t parent, const char *name, struct stat *st)
{
	mount_ctx *ctx = mount_req_ctx(req);
	struct fuse_entry_param e = {0};
	e.ino = mount_node_learn(ctx, parent, name, st);
	if (!e.ino) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	mount_fix_stat(st);
	e.attr = *st;
	/* While VFS's watch tells of other clients' changes (watch.c), the kernel keeps both
	 * for --cache-timeout (the name not in a directory closed to some users, on root's
	 * mount); without it, attributes not at all (it would miss those changes) and names for
	 * --entry-timeout (a second). */
	e.attr_timeout = mount_watch_timeout(ctx);
	e.entry_timeout = mount_watch_entry_timeout(ctx, parent);
	if (fuse_reply_entry(req, &e) != 0) /* the request was interrupted: no lookup counted */
		mount_node_forget(ctx, e.ino, 1);
}
