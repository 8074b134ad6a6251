/*
 * files.c — the mount's calls on open files: open, create, read, write, flush, release,
 * fsync.
 *
 * Entry points: mount_do_open, mount_do_create, mount_do_read, mount_do_write,
 * mount_do_flush, mount_do_release, mount_do_fsync, mount_fi_file, mount_open_node.
 *
 * fi->fh is the open file (nodes.c): a Plexus descriptor on the session of the user who
 * opened it, as a Linux descriptor acts with the credentials it was opened with.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>

#include "ops.h"

mount_file *mount_fi_file(const struct fuse_file_info *fi)
{
	return (mount_file *)(uintptr_t)fi->fh;
}

/* The open flags Plexus is given: the access mode and what changes behaviour; O_APPEND is
 * left to the kernel, which passes the end of file as the offset of each write. */
static int s_flags(int flags)
{
	return flags & (O_ACCMODE | O_TRUNC | O_NONBLOCK | O_DIRECTORY | O_NOFOLLOW | O_EXCL);
}

/* What an open by path is given, and what it opened. */
typedef struct s_open {
	int flags;
	mode_t mode;
	bool stat; /* read the attributes of what was opened */
	struct stat st;
} s_open;

static long s_open_path(plexus *p, const char *path, const char *unused, void *arg)
{
	(void)unused;
	s_open *o = arg;
	/* the status from the open's own answer when it is fresh (no VFS_FSTAT after a create) */
	return o->stat ? plexus_open_stat(p, path, o->flags, o->mode, &o->st)
	               : plexus_open(p, path, o->flags, o->mode);
}

/* Opens place for the caller as o says: the descriptor, on *s (held), or -errno. */
static int s_open_as_caller(fuse_req_t req, const mount_place *place, s_open *o, mount_session **s)
{
	mount_ctx *ctx = mount_req_ctx(req);
	char *path = NULL;
	int rc = mount_node_path(ctx, place->id, place->name, &path);
	if (rc < 0)
		return rc;
	*s = mount_session_caller(ctx, req);
	long fd = *s ? mount_path_call(*s, path, s_open_path, o) : -1;
	rc = fd < 0 ? -mount_errno() : (int)fd;
	free(path);
	if (rc < 0 && *s)
		mount_session_put(ctx, *s);
	return rc;
}

/* The file of descriptor fd on s open on node id, in fi->fh. Returns 0 or -ENOMEM (then fd
 * is closed and s let go of). */
static int s_keep(mount_ctx *ctx, fuse_ino_t id, mount_session *s, int fd,
                  struct fuse_file_info *fi)
{
	mount_file *f = mount_file_open(ctx, id, s, fd);
	if (!f) {
		plexus_close(s->p, fd);
		mount_session_put(ctx, s);
		return -ENOMEM;
	}
	fi->fh = (uint64_t)(uintptr_t)f;
	return 0;
}

int mount_open_node(fuse_req_t req, fuse_ino_t ino, int flags, struct fuse_file_info *fi)
{
	mount_session *s = NULL;
	s_open o = {.flags = flags};
	mount_place place = {ino, NULL};
	int fd = s_open_as_caller(req, &place, &o, &s);
	return fd < 0 ? fd : s_keep(mount_req_ctx(req), ino, s, fd, fi);
}

void mount_do_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int rc = mount_open_node(req, ino, s_flags(fi->flags), fi);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else if (fuse_reply_open(req, fi) != 0) /* interrupted: nobody will release it */
		mount_file_release(mount_req_ctx(req), mount_fi_file(fi));
}

void mount_do_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                     struct fuse_file_info *fi)
{
	mount_ctx *ctx = mount_req_ctx(req);
	mount_session *s = NULL;
	s_open o = {.flags = s_flags(fi->flags) | O_CREAT, .mode = mode, .stat = true};
	mount_watch_begin(ctx);
	mount_place place = {parent, name};
	int fd = s_open_as_caller(req, &place, &o, &s);
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	struct fuse_entry_param e = {0};
	e.ino = mount_node_learn(ctx, parent, name, &o.st);
	if (!e.ino || s_keep(ctx, e.ino, s, fd, fi) < 0) {
		if (!e.ino) {
			plexus_close(s->p, fd);
			mount_session_put(ctx, s);
		}
		mount_node_forget(ctx, e.ino, e.ino ? 1 : 0);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	mount_fix_stat(&o.st);
	e.attr = o.st;
	e.attr_timeout = mount_watch_timeout(ctx); /* as mount_reply_entry */
	e.entry_timeout = mount_watch_entry_timeout(ctx, parent);
	if (fuse_reply_create(req, &e, fi) != 0) {
		mount_file_release(ctx, mount_fi_file(fi));
		mount_node_forget(ctx, e.ino, 1);
	}
}

void mount_do_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                   struct fuse_file_info *fi)
{
	(void)ino;
	mount_file *f = mount_fi_file(fi);
	char *buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	size_t done = 0;
	int err = 0;
	while (done < size) {
		ssize_t n =
		    plexus_pread(f->s->p, f->fd, buf + done, size - done, off + (off_t)done);
		if (n <= 0) {
			err = n < 0 && done == 0 ? mount_errno() : 0;
			break;
		}
		done += (size_t)n;
	}
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_buf(req, buf, done);
	free(buf);
}

void mount_do_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
	(void)ino;
	mount_file *f = mount_fi_file(fi);
	size_t done = 0;
	int err = 0;
	while (done < size) {
		ssize_t n =
		    plexus_pwrite(f->s->p, f->fd, buf + done, size - done, off + (off_t)done);
		if (n <= 0) {
			err = done ? 0 : n == 0 ? EIO : mount_errno();
			break;
		}
		done += (size_t)n;
	}
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_write(req, done);
}

void mount_do_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino, (void)fi;
	fuse_reply_err(req, 0); /* writes went to VFS already; fsync asks for the disk */
}

void mount_do_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	fuse_reply_err(req, -mount_file_release(mount_req_ctx(req), mount_fi_file(fi)));
}

/* fsync(2) and fdatasync(2) on a file of the mount: the file server's commit (docs/mfs.md
 * "Guarantees"). */
void mount_do_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)ino;
	mount_file *f = mount_fi_file(fi);
	int rc = datasync ? plexus_fdatasync(f->s->p, f->fd) : plexus_fsync(f->s->p, f->fd);
	fuse_reply_err(req, rc < 0 ? mount_errno() : 0);
}
