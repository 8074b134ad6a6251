/*
 * dirs.c — the mount's calls on open directories: opendir, readdir, releasedir, fsyncdir.
 *
 * Entry points: mount_do_opendir, mount_do_readdir, mount_do_releasedir, mount_do_fsyncdir.
 *
 * An open directory is a Plexus descriptor (files.c, nodes.c), so fstat, fchdir-style use and
 * fsync work on it after it is removed. Its entries are read whole when the kernel reads from
 * offset 0 (the opening read, or rewinddir) and served from that listing at the offsets the
 * kernel asks for: an entry's offset is its index + 1. An entry's inode number is folded with
 * the directory's device as stat's are (calls.c), so `ls -i` and `stat` agree.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops.h"

#define S_BATCH 128 /* entries read per VFS_GETDENTS */

void mount_do_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int rc = mount_open_node(req, ino, O_RDONLY | O_DIRECTORY, fi);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else if (fuse_reply_open(req, fi) != 0)
		mount_file_release(mount_req_ctx(req), mount_fi_file(fi));
}

/* Reads f's entries from the start into its listing (f->lock held). Returns 0 or -errno. */
static int s_list(mount_file *f)
{
	f->entries = 0;
	struct stat st;
	if (plexus_fstat(f->s->p, f->fd, &st) < 0 || plexus_lseek(f->s->p, f->fd, 0, SEEK_SET) < 0)
		return -mount_errno();
	f->dev = st.st_dev;
	size_t room = 0;
	for (;;) {
		if (room - f->entries < S_BATCH) {
			void *more = realloc(f->listing, (room + S_BATCH * 4) * sizeof *f->listing);
			if (!more)
				return -ENOMEM;
			f->listing = more;
			room += S_BATCH * 4;
		}
		ssize_t n = plexus_getdents(f->s->p, f->fd, f->listing + f->entries, S_BATCH);
		if (n < 0)
			return -mount_errno();
		if (n == 0)
			return 0;
		f->entries += (size_t)n;
	}
}

/* Fills buf (size bytes) with f's entries from index off; returns the bytes filled. */
static size_t s_fill(fuse_req_t req, const mount_file *f, char *buf, size_t size, off_t off)
{
	size_t used = 0;
	for (size_t i = (size_t)off; i < f->entries; i++) {
		const struct plexus_dirent *e = &f->listing[i];
		struct stat st = {.st_dev = f->dev,
		                  .st_ino = (ino_t)e->d_ino,
		                  .st_mode = (mode_t)DTTOIF(e->d_type)};
		mount_fix_stat(&st); /* the number stat shows for it */
		size_t n =
		    fuse_add_direntry(req, buf + used, size - used, e->d_name, &st, (off_t)i + 1);
		if (n > size - used)
			break;
		used += n;
	}
	return used;
}

void mount_do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                      struct fuse_file_info *fi)
{
	(void)ino;
	mount_file *f = mount_fi_file(fi);
	char *buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_lock(&f->lock);
	int rc = off == 0 || !f->listing ? s_list(f) : 0;
	size_t used = rc == 0 ? s_fill(req, f, buf, size, off) : 0;
	pthread_mutex_unlock(&f->lock);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_buf(req, buf, used);
	free(buf);
}

void mount_do_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	mount_file_release(mount_req_ctx(req), mount_fi_file(fi));
	fuse_reply_err(req, 0);
}

/* fsync(2) on a directory (how programs make a create or a rename durable). */
void mount_do_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)ino, (void)datasync;
	mount_file *f = mount_fi_file(fi);
	fuse_reply_err(req, plexus_fsync(f->s->p, f->fd) < 0 ? mount_errno() : 0);
}
