/*
 * attrs.c — the mount's calls on a node's attributes: getattr, setattr, statfs, access.
 *
 * Entry points: mount_do_getattr, mount_do_setattr, mount_do_statfs, mount_do_access.
 *
 * A node is reached through a file open on it when there is one (fstat needs no permission;
 * a change goes through a file only when the caller's own session opened it, since a
 * descriptor acts with its opener's credentials), else by its path. So fstat, fchmod,
 * ftruncate and futimens work on a file or directory whose names are gone, as on Linux. An
 * attribute read by path must be the node's own inode, or the node is stale (its name now
 * leads elsewhere).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "ops.h"

static long s_lstat(plexus *p, const char *path, const char *unused, void *st)
{
	(void)unused;
	return plexus_lstat(p, path, st);
}

/* Node ino's attributes: through file f when given, else as mount_do_getattr finds them.
 * Returns 0 or -errno. */
static int s_attr(fuse_req_t req, fuse_ino_t ino, mount_file *f, struct stat *st)
{
	mount_ctx *ctx = mount_req_ctx(req);
	mount_watch_begin(ctx);
	mount_file *any = f ? NULL : mount_node_file(ctx, ino, NULL);
	mount_file *use = f ? f : any;
	int rc;
	if (use) {
		mount_session_use(ctx, use->s);
		rc = plexus_fstat(use->s->p, use->fd, st) < 0 ? -mount_errno() : 0;
		if (rc == 0)
			mount_node_set_mode(ctx, ino, st->st_mode);
	} else if ((rc = (int)mount_call_at(req, ino, NULL, s_lstat, st)) == 0 &&
	           !mount_node_same(ctx, ino, st))
		rc = -ESTALE;
	if (any)
		mount_file_put(ctx, any);
	if (rc == 0)
		mount_fix_stat(st);
	return rc;
}

static void s_reply_attr(fuse_req_t req, fuse_ino_t ino, mount_file *f)
{
	struct stat st;
	int rc = s_attr(req, ino, f, &st);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, mount_watch_timeout(mount_req_ctx(req)));
}

void mount_do_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	s_reply_attr(req, ino, fi ? mount_fi_file(fi) : NULL);
}

/* The changes setattr asks for. */
typedef struct s_change {
	const struct stat *attr;
	int to_set; /* FUSE_SET_ATTR_* */
} s_change;

/* The times of c as utimensat takes them. */
static void s_times(const s_change *c, struct timespec tv[2])
{
	tv[0] = c->attr->st_atim;
	tv[1] = c->attr->st_mtim;
	if (!(c->to_set & FUSE_SET_ATTR_ATIME))
		tv[0].tv_nsec = UTIME_OMIT;
	else if (c->to_set & FUSE_SET_ATTR_ATIME_NOW)
		tv[0].tv_nsec = UTIME_NOW;
	if (!(c->to_set & FUSE_SET_ATTR_MTIME))
		tv[1].tv_nsec = UTIME_OMIT;
	else if (c->to_set & FUSE_SET_ATTR_MTIME_NOW)
		tv[1].tv_nsec = UTIME_NOW;
}

static uid_t s_uid(const s_change *c)
{
	return c->to_set & FUSE_SET_ATTR_UID ? c->attr->st_uid : (uid_t)-1;
}

static gid_t s_gid(const s_change *c)
{
	return c->to_set & FUSE_SET_ATTR_GID ? c->attr->st_gid : (gid_t)-1;
}

static bool s_wants_times(const s_change *c)
{
	return c->to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME);
}

/* The changes of c through open file f, in chmod, chown, truncate, utimens order. */
static int s_change_fd(mount_file *f, const s_change *c)
{
	plexus *p = f->s->p;
	struct timespec tv[2];
	s_times(c, tv);
	if ((c->to_set & FUSE_SET_ATTR_MODE) && plexus_fchmod(p, f->fd, c->attr->st_mode) < 0)
		return -1;
	if ((c->to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) &&
	    plexus_fchown(p, f->fd, s_uid(c), s_gid(c)) < 0)
		return -1;
	if ((c->to_set & FUSE_SET_ATTR_SIZE) && plexus_ftruncate(p, f->fd, c->attr->st_size) < 0)
		return -1;
	if (s_wants_times(c) && plexus_futimens(p, f->fd, tv) < 0)
		return -1;
	return 0;
}

/* The same by path (a link's own owner and times; chmod of a node is never a link's). */
static long s_change_path(plexus *p, const char *path, const char *unused, void *arg)
{
	(void)unused;
	const s_change *c = arg;
	struct timespec tv[2];
	s_times(c, tv);
	if ((c->to_set & FUSE_SET_ATTR_MODE) && plexus_chmod(p, path, c->attr->st_mode) < 0)
		return -1;
	if ((c->to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) &&
	    plexus_lchown(p, path, s_uid(c), s_gid(c)) < 0)
		return -1;
	if ((c->to_set & FUSE_SET_ATTR_SIZE) && plexus_truncate(p, path, c->attr->st_size) < 0)
		return -1;
	if (s_wants_times(c) && plexus_utimens(p, path, tv, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	return 0;
}

/* A file open on ino by the caller's own session, borrowed (NULL: none). */
static mount_file *s_own_file(fuse_req_t req, fuse_ino_t ino)
{
	mount_ctx *ctx = mount_req_ctx(req);
	mount_session *s = mount_session_caller(ctx, req);
	if (!s)
		return NULL;
	mount_file *f = mount_node_file(ctx, ino, s);
	mount_session_put(ctx, s);
	return f;
}

void mount_do_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                      struct fuse_file_info *fi)
{
	mount_ctx *ctx = mount_req_ctx(req);
	s_change c = {.attr = attr, .to_set = to_set};
	mount_file *f = fi ? mount_fi_file(fi) : NULL;
	if (f)
		mount_file_hold(ctx, f);
	else
		f = s_own_file(req, ino);
	long rc = f ? (s_change_fd(f, &c) < 0 ? -mount_errno() : 0)
	            : mount_call_at(req, ino, NULL, s_change_path, &c);
	if (rc == 0 && (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) &&
	    S_ISDIR(mount_node_mode(ctx, ino)))
		mount_watch_dir_changed(ctx, ino); /* who may search it changed */
	if (rc < 0)
		fuse_reply_err(req, (int)-rc);
	else
		s_reply_attr(req, ino, f);
	if (f)
		mount_file_put(ctx, f);
}

static long s_statvfs(plexus *p, const char *path, const char *unused, void *buf)
{
	(void)unused;
	return plexus_statvfs(p, path, buf);
}

void mount_do_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs buf;
	mount_file *f = mount_node_file(mount_req_ctx(req), ino, NULL);
	long rc = f ? (plexus_fstatvfs(f->s->p, f->fd, &buf) < 0 ? -mount_errno() : 0)
	            : mount_call_at(req, ino, NULL, s_statvfs, &buf);
	if (f)
		mount_file_put(mount_req_ctx(req), f);
	if (rc < 0)
		fuse_reply_err(req, (int)-rc);
	else
		fuse_reply_statfs(req, &buf);
}

static long s_access(plexus *p, const char *path, const char *unused, void *mask)
{
	(void)unused;
	return plexus_access(p, path, *(int *)mask);
}

void mount_do_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	long rc = mount_call_at(req, ino, NULL, s_access, &mask);
	fuse_reply_err(req, rc < 0 ? (int)-rc : 0);
}
