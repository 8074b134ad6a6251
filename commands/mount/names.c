/*
 * names.c — the mount's calls on names: lookup and forget, making and removing entries,
 * rename, link, readlink.
 *
 * Entry points: mount_do_lookup, mount_do_forget, mount_do_forget_multi, mount_do_readlink,
 * mount_do_mknod, mount_do_mkdir, mount_do_unlink, mount_do_rmdir, mount_do_symlink,
 * mount_do_rename, mount_do_link.
 *
 * A call that makes an entry answers with the entry's attributes, read by lstat in the same
 * path call. RENAME_NOREPLACE is checked with an lstat first (no atomic form in the VFS
 * protocol); RENAME_EXCHANGE is EINVAL.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

/* What a call that makes an entry is given, and the entry's attributes it reads after. */
typedef struct s_make {
	mode_t mode;
	dev_t rdev;
	const char *target; /* symlink's */
	struct stat st;
} s_make;

static long s_lstat(plexus *p, const char *path, const char *unused, void *st)
{
	(void)unused;
	return plexus_lstat(p, path, st);
}

void mount_do_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct stat st;
	mount_watch_begin(mount_req_ctx(req));
	long rc = mount_call_at(req, parent, name, s_lstat, &st);
	if (rc == -ENOENT)
		mount_node_unlearn(mount_req_ctx(req), parent, name);
	mount_ctx *ctx = mount_req_ctx(req);
	struct fuse_entry_param none = {
	    .entry_timeout =
	        mount_watch_timeout(ctx) > 0 ? mount_watch_entry_timeout(ctx, parent) : 0};
	if (rc == -ENOENT && none.entry_timeout > 0 && /* kept: VFS tells when another makes it */
	    mount_watch_negative(ctx, parent, name, none.entry_timeout))
		fuse_reply_entry(req, &none);
	else if (rc < 0)
		fuse_reply_err(req, (int)-rc);
	else
		mount_reply_entry(req, parent, name, &st);
}

void mount_do_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	mount_node_forget(mount_req_ctx(req), ino, nlookup);
	fuse_reply_none(req);
}

void mount_do_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		mount_node_forget(mount_req_ctx(req), forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static long s_readlink(plexus *p, const char *path, const char *unused, void *buf)
{
	(void)unused;
	return plexus_readlink(p, path, buf, PLEXUS_PATH_MAX_BYTES - 1);
}

void mount_do_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char buf[PLEXUS_PATH_MAX_BYTES];
	long n = mount_call_at(req, ino, NULL, s_readlink, buf);
	if (n < 0) {
		fuse_reply_err(req, (int)-n);
		return;
	}
	buf[n] = '\0';
	fuse_reply_readlink(req, buf);
}

/* Answers a call that made the entry name in parent (rc: what the call returned). */
static void s_made(fuse_req_t req, fuse_ino_t parent, const char *name, long rc, s_make *m)
{
	if (rc < 0)
		fuse_reply_err(req, (int)-rc);
	else
		mount_reply_entry(req, parent, name, &m->st);
}

/* mknod(2) of what Plexus makes through other calls: a regular file (open and close), a FIFO
 * (mkfifo), a special file (mknod); then its attributes. */
static long s_mknod(plexus *p, const char *path, const char *unused, void *arg)
{
	(void)unused;
	s_make *m = arg;
	int rc;
	if (S_ISFIFO(m->mode))
		rc = plexus_mkfifo(p, path, m->mode & 07777);
	else if (!S_ISREG(m->mode))
		rc = plexus_mknod(p, path, m->mode, m->rdev);
	else {
		int fd = plexus_open(p, path, O_WRONLY | O_CREAT | O_EXCL, m->mode & 07777);
		rc = fd < 0 ? -1 : plexus_close(p, fd);
	}
	return rc < 0 ? -1 : plexus_lstat(p, path, &m->st);
}

void mount_do_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	s_make m = {.mode = mode, .rdev = rdev};
	mount_watch_begin(mount_req_ctx(req));
	s_made(req, parent, name, mount_call_at(req, parent, name, s_mknod, &m), &m);
}

static long s_mkdir(plexus *p, const char *path, const char *unused, void *arg)
{
	(void)unused;
	s_make *m = arg;
	return plexus_mkdir(p, path, m->mode) < 0 ? -1 : plexus_lstat(p, path, &m->st);
}

void mount_do_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	s_make m = {.mode = mode};
	mount_watch_begin(mount_req_ctx(req));
	s_made(req, parent, name, mount_call_at(req, parent, name, s_mkdir, &m), &m);
}

static long s_symlink(plexus *p, const char *path, const char *unused, void *arg)
{
	(void)unused;
	s_make *m = arg;
	return plexus_symlink(p, m->target, path) < 0 ? -1 : plexus_lstat(p, path, &m->st);
}

void mount_do_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	s_make m = {.target = link};
	mount_watch_begin(mount_req_ctx(req));
	s_made(req, parent, name, mount_call_at(req, parent, name, s_symlink, &m), &m);
}

static long s_link(plexus *p, const char *from, const char *to, void *arg)
{
	s_make *m = arg;
	return plexus_link(p, from, to) < 0 ? -1 : plexus_lstat(p, to, &m->st);
}

void mount_do_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	s_make m = {0};
	mount_place from = {ino, NULL}, to = {newparent, newname};
	mount_watch_begin(mount_req_ctx(req));
	s_made(req, newparent, newname, mount_call_at2(req, &from, &to, s_link, &m), &m);
}

static long s_unlink(plexus *p, const char *path, const char *unused, void *arg)
{
	(void)unused, (void)arg;
	return plexus_unlink(p, path);
}

static long s_rmdir(plexus *p, const char *path, const char *unused, void *arg)
{
	(void)unused, (void)arg;
	return plexus_rmdir(p, path);
}

/* Removes name from parent with fn; the name is forgotten once it is gone. */
static void s_remove(fuse_req_t req, fuse_ino_t parent, const char *name, mount_path_fn fn)
{
	long rc = mount_call_at(req, parent, name, fn, NULL);
	if (rc == 0 || rc == -ENOENT)
		mount_node_unlearn(mount_req_ctx(req), parent, name);
	fuse_reply_err(req, rc < 0 ? (int)-rc : 0);
}

void mount_do_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	s_remove(req, parent, name, s_unlink);
}

void mount_do_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	s_remove(req, parent, name, s_rmdir);
}

static long s_rename(plexus *p, const char *from, const char *to, void *noreplace)
{
	struct stat st;
	if (*(bool *)noreplace && plexus_lstat(p, to, &st) == 0) {
		errno = EEXIST;
		return -1;
	}
	return plexus_rename(p, from, to);
}

void mount_do_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                     const char *newname, unsigned int flags)
{
	if (flags & ~(unsigned)RENAME_NOREPLACE) { /* RENAME_EXCHANGE, RENAME_WHITEOUT */
		fuse_reply_err(req, EINVAL);
		return;
	}
	bool noreplace = flags & RENAME_NOREPLACE;
	mount_place from = {parent, name}, to = {newparent, newname};
	long rc = mount_call_at2(req, &from, &to, s_rename, &noreplace);
	if (rc == 0)
		mount_node_moved(mount_req_ctx(req), parent, name, newparent, newname);
	fuse_reply_err(req, rc < 0 ? (int)-rc : 0);
}
