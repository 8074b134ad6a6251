/*
 * ops.c — the FUSE operations of `plexus mount` (libfuse's inode-based low-level API), and
 * what they share: each Linux call on the mount becomes the libplexus call of the same name on
 * one client session, and its errno goes back as is.
 *
 * Entry points: mount_ops, mount_req_ctx, mount_errno, mount_fix_stat, mount_call_at,
 * mount_call_at2, mount_reply_entry.
 *
 * The kernel names files by node (nodes.c): a call on a name is sent by the path of its
 * directory's node and the name, a call on a node by the node's path, or through a file open
 * on it when its names are gone; paths of any length go through paths.c. Permissions are
 * Plexus's: the kernel's default_permissions is off, so VFS checks every call against the
 * credentials its client registered with: the calling user's own on a mount made by root (a
 * session per user, sessions.c), else the mounter's. A call on an open file goes to the
 * session that opened it. The handlers live in names.c (entries), attrs.c (attributes),
 * files.c (open files) and dirs.c (open directories).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mount.h"
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
	/* No attribute cache: the kernel would miss changes made by other clients of VFS; names
	 * are kept for a second. */
	e.attr_timeout = 0;
	e.entry_timeout = 1;
	if (fuse_reply_entry(req, &e) != 0) /* the request was interrupted: no lookup counted */
		mount_node_forget(ctx, e.ino, 1);
}

static const struct fuse_lowlevel_ops s_ops = {
    .lookup = mount_do_lookup,
    .forget = mount_do_forget,
    .forget_multi = mount_do_forget_multi,
    .getattr = mount_do_getattr,
    .setattr = mount_do_setattr,
    .readlink = mount_do_readlink,
    .mknod = mount_do_mknod,
    .mkdir = mount_do_mkdir,
    .unlink = mount_do_unlink,
    .rmdir = mount_do_rmdir,
    .symlink = mount_do_symlink,
    .rename = mount_do_rename,
    .link = mount_do_link,
    .open = mount_do_open,
    .read = mount_do_read,
    .write = mount_do_write,
    .flush = mount_do_flush,
    .release = mount_do_release,
    .fsync = mount_do_fsync,
    .opendir = mount_do_opendir,
    .readdir = mount_do_readdir,
    .releasedir = mount_do_releasedir,
    .fsyncdir = mount_do_fsyncdir,
    .statfs = mount_do_statfs,
    .access = mount_do_access,
    .create = mount_do_create,
};

const struct fuse_lowlevel_ops *mount_ops(void)
{
	return &s_ops;
}
