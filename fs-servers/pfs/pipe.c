/*
 * pipe.c — the pipes of plexus-pfs: inodes with a bounded ring of bytes.
 *
 * Entry points: pfs_new, pfs_destroy, pfs_count, pfs_capacity, pfs_pipe_new, pfs_pipe_find,
 * pfs_pipe_put, pfs_pipe_read, pfs_pipe_write, pfs_pipe_truncate, pfs_pipe_attr.
 *
 * Inode numbers start at 1 and are never reused while the server lives, so a stale number
 * from VFS finds nothing (-EINVAL from the handlers) rather than another pipe. Each user but
 * root may hold pipes of user_memory bytes of capacity in all (--user-memory): past it a new
 * pipe is ENFILE, as Linux's pipe(2) past pipe-user-pages-hard, so one user filling pipes
 * cannot take the memory others need.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <uthash.h>

#include "pfs.h"

struct pfs_pipe {
	uint64_t ino;
	uint32_t refs;
	uint32_t mode, uid, gid;
	uint8_t *buf; /* capacity bytes, or NULL while empty */
	size_t head;  /* where the oldest byte is */
	size_t len;   /* bytes held */
	struct timespec atime, mtime, ctime;
	UT_hash_handle hh;
};

/* The pipes one user holds: each counts its whole capacity against user_memory. */
typedef struct s_user {
	uint32_t uid;
	size_t pipes;
	UT_hash_handle hh;
} s_user;

struct pfs {
	pfs_pipe *pipes;
	size_t count;
	size_t capacity;
	size_t user_pipes; /* the most pipes one user (not root) holds: user_memory / capacity */
	s_user *users;
	uint64_t next_ino;
	uint32_t dev;
};

pfs *pfs_new(size_t capacity, uint32_t dev, size_t user_memory)
{
	if (capacity < PFS_PIPE_BUF || capacity > PFS_CAPACITY_MAX) {
		errno = EINVAL;
		return NULL;
	}
	pfs *self = calloc(1, sizeof *self);
	if (!self)
		return NULL;
	self->capacity = capacity;
	self->user_pipes = user_memory / capacity ? user_memory / capacity : 1;
	self->next_ino = 1;
	self->dev = dev;
	return self;
}

/* uid's entry, made when add and it has none. NULL: none (or no memory). */
static s_user *s_user_of(pfs *self, uint32_t uid, bool add)
{
	s_user *u = NULL;
	HASH_FIND(hh, self->users, &uid, sizeof uid, u);
	if (!u && add && (u = calloc(1, sizeof *u)) != NULL) {
		u->uid = uid;
		HASH_ADD(hh, self->users, uid, sizeof u->uid, u);
	}
	return u;
}

static void s_user_release(pfs *self, uint32_t uid)
{
	s_user *u = s_user_of(self, uid, false);
	if (u && --u->pipes == 0) {
		HASH_DEL(self->users, u);
		free(u);
	}
}

static void s_pipe_free(pfs *self, pfs_pipe *p)
{
	s_user_release(self, p->uid);
	HASH_DEL(self->pipes, p);
	self->count--;
	free(p->buf);
	free(p);
}

void pfs_destroy(pfs **self_p)
{
	if (!self_p || !*self_p)
		return;
	pfs *self = *self_p;
	pfs_pipe *p, *tmp;
	HASH_ITER(hh, self->pipes, p, tmp)
	s_pipe_free(self, p);
	s_user *u, *utmp;
	HASH_ITER(hh, self->users, u, utmp)
	{
		HASH_DEL(self->users, u);
		free(u);
	}
	free(self);
	*self_p = NULL;
}

size_t pfs_count(const pfs *self)
{
	return self->count;
}

size_t pfs_capacity(const pfs *self)
{
	return self->capacity;
}

pfs_pipe *pfs_pipe_new(pfs *self, uint32_t mode, uint32_t uid, uint32_t gid)
{
	if (self->count >= PFS_PIPES_MAX) {
		errno = ENOSPC;
		return NULL;
	}
	s_user *u = s_user_of(self, uid, true);
	if (!u) {
		errno = ENOMEM;
		return NULL;
	}
	if (uid != 0 && u->pipes >= self->user_pipes) {
		errno = ENFILE; /* as Linux's pipe(2) past the user's pipe memory */
		return NULL;
	}
	pfs_pipe *p = calloc(1, sizeof *p);
	if (!p) {
		if (u->pipes == 0)
			s_user_release(self, uid);
		return NULL;
	}
	u->pipes++;
	p->ino = self->next_ino++;
	p->refs = 1;
	p->mode = S_IFIFO | (mode & 07777);
	p->uid = uid;
	p->gid = gid;
	clock_gettime(CLOCK_REALTIME, &p->atime);
	p->mtime = p->ctime = p->atime;
	HASH_ADD(hh, self->pipes, ino, sizeof p->ino, p);
	self->count++;
	return p;
}

pfs_pipe *pfs_pipe_find(pfs *self, uint64_t ino)
{
	pfs_pipe *p = NULL;
	HASH_FIND(hh, self->pipes, &ino, sizeof ino, p);
	return p;
}

int pfs_pipe_put(pfs *self, pfs_pipe *p, uint32_t count)
{
	if (count == 0 || count > p->refs)
		return -EINVAL;
	p->refs -= count;
	if (p->refs == 0)
		s_pipe_free(self, p);
	return 0;
}

/* An empty pipe gives its buffer back. */
static void s_maybe_release(pfs_pipe *p)
{
	if (p->len == 0) {
		free(p->buf);
		p->buf = NULL;
		p->head = 0;
	}
}

ssize_t pfs_pipe_read(pfs *self, pfs_pipe *p, void *buf, size_t size)
{
	if (p->len == 0)
		return -EAGAIN;
	size_t n = size < p->len ? size : p->len;
	size_t first = self->capacity - p->head;
	if (first > n)
		first = n;
	memcpy(buf, p->buf + p->head, first);
	memcpy((uint8_t *)buf + first, p->buf, n - first);
	p->head = (p->head + n) % self->capacity;
	p->len -= n;
	clock_gettime(CLOCK_REALTIME, &p->atime);
	s_maybe_release(p);
	return (ssize_t)n;
}

ssize_t pfs_pipe_write(pfs *self, pfs_pipe *p, const void *data, size_t size)
{
	size_t room = self->capacity - p->len;
	if (room == 0 || (size <= PFS_PIPE_BUF && size > room))
		return -EAGAIN;
	if (!p->buf && !(p->buf = malloc(self->capacity)))
		return -ENOMEM;
	size_t n = size < room ? size : room;
	size_t tail = (p->head + p->len) % self->capacity;
	size_t first = self->capacity - tail;
	if (first > n)
		first = n;
	memcpy(p->buf + tail, data, first);
	memcpy(p->buf, (const uint8_t *)data + first, n - first);
	p->len += n;
	clock_gettime(CLOCK_REALTIME, &p->mtime);
	p->ctime = p->mtime;
	return (ssize_t)n;
}

int pfs_pipe_truncate(pfs *self, pfs_pipe *p, uint64_t size)
{
	(void)self;
	if (size > p->len)
		return -EINVAL;
	p->len = (size_t)size;
	clock_gettime(CLOCK_REALTIME, &p->mtime);
	p->ctime = p->mtime;
	s_maybe_release(p);
	return 0;
}

void pfs_pipe_attr(const pfs *self, const pfs_pipe *p, Plexus__FsAttr *attr)
{
	attr->ino = p->ino;
	attr->mode = p->mode;
	attr->nlink = 0; /* anonymous: in no directory */
	attr->uid = p->uid;
	attr->gid = p->gid;
	attr->size = p->len;
	attr->atime_sec = p->atime.tv_sec;
	attr->atime_nsec = (uint32_t)p->atime.tv_nsec;
	attr->mtime_sec = p->mtime.tv_sec;
	attr->mtime_nsec = (uint32_t)p->mtime.tv_nsec;
	attr->ctime_sec = p->ctime.tv_sec;
	attr->ctime_nsec = (uint32_t)p->ctime.tv_nsec;
	attr->blksize = PFS_PIPE_BUF;
	attr->blocks = p->buf ? self->capacity / 512 : 0;
	attr->dev = self->dev;
}
