/*
 * dirs.c — reading directories.
 *
 * Entry points: plexus_getdents, plexus_opendir, plexus_readdir, plexus_closedir, plexus_dirfd.
 *
 * VFS_GETDENTS answers as many entries as fit the bytes of names asked for. When more come
 * than the caller has room for, the directory's position goes back to the cookie after the
 * last entry kept (a directory's position is such a cookie, as in MINIX), so none is lost.
 */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

#define S_NAME_BYTES 256 /* a name and its NUL, as struct plexus_dirent holds it */
#define S_DIR_BATCH  64  /* entries plexus_readdir fetches at a time */

struct plexus_dir {
	plexus *px;
	int fd;
	struct plexus_dirent *ents;
	size_t n;    /* entries in ents */
	size_t next; /* the next one readdir returns */
	bool end;
};

ssize_t plexus_getdents(plexus *self, int fd, struct plexus_dirent *ents, size_t n)
{
	if (!ents)
		return plexus__fail(-EFAULT);
	if (n == 0)
		return plexus__fail(-EINVAL);
	Plexus__VfsFd req = PLEXUS__VFS_FD__INIT;
	req.fd = fd;
	req.size = (uint64_t)n * S_NAME_BYTES;
	plexus__answer ans;
	int64_t rc = plexus__vfs_getdents(self, &req, NULL, 0, self->timeout_ms, &ans);
	if (rc < 0)
		return plexus__fail(rc);
	size_t got = ans.reply->n_dirents < n ? ans.reply->n_dirents : n;
	for (size_t i = 0; i < got; i++) {
		const Plexus__FsDirent *d = ans.reply->dirents[i];
		ents[i].d_ino = d->ino;
		ents[i].d_type = (unsigned char)d->type;
		snprintf(ents[i].d_name, sizeof ents[i].d_name, "%s", d->name);
	}
	uint64_t resume = got ? ans.reply->dirents[got - 1]->next : 0;
	bool over = ans.reply->n_dirents > n;
	plexus__answer_free(&ans);
	if (over && plexus_lseek(self, fd, (off_t)resume, SEEK_SET) < 0)
		return -1;
	return (ssize_t)got;
}

plexus_dir *plexus_opendir(plexus *self, const char *path)
{
	plexus_dir *dir = calloc(1, sizeof *dir);
	struct plexus_dirent *ents = calloc(S_DIR_BATCH, sizeof *ents);
	if (!dir || !ents) {
		free(dir);
		free(ents);
		errno = ENOMEM;
		return NULL;
	}
	dir->px = self;
	dir->ents = ents;
	dir->fd = plexus_open(self, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir->fd < 0) {
		int err = errno;
		free(ents);
		free(dir);
		errno = err;
		return NULL;
	}
	return dir;
}

struct plexus_dirent *plexus_readdir(plexus_dir *dir)
{
	if (!dir) {
		errno = EBADF;
		return NULL;
	}
	if (dir->next == dir->n && !dir->end) {
		int saved = errno; /* the end of the directory leaves errno as it was */
		ssize_t got = plexus_getdents(dir->px, dir->fd, dir->ents, S_DIR_BATCH);
		if (got < 0)
			return NULL; /* errno set; the end reads the same with errno untouched */
		dir->n = (size_t)got;
		dir->next = 0;
		dir->end = got == 0;
		errno = saved;
	}
	return dir->next < dir->n ? &dir->ents[dir->next++] : NULL;
}

int plexus_dirfd(plexus_dir *dir)
{
	if (!dir) {
		errno = EINVAL;
		return -1;
	}
	return dir->fd;
}

int plexus_closedir(plexus_dir *dir)
{
	if (!dir) {
		errno = EBADF;
		return -1;
	}
	int rc = plexus_close(dir->px, dir->fd);
	free(dir->ents);
	free(dir);
	return rc;
}
