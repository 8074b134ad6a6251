/*
 * direct.c — data that moves once: reads and writes of regular files whose bytes go between
 * this process and the file server directly, VFS authorizing each (docs/protocol.md "Staged
 * data").
 *
 * Entry points: plexus__direct_wanted, plexus__direct_collect, plexus__direct_write,
 * plexus__direct_learn, plexus__direct_counts, plexus__direct_free.
 *
 * A write stages its bytes at the file server that holds the descriptor's file (FS_STAGE),
 * then asks VFS to write them (VFS_WRITE naming the stage, no data): VFS checks the
 * descriptor, takes the position and the file's lock as for any write and has the file server
 * write the stage. A read asks VFS with VfsFd.direct; VFS has the file server keep the bytes
 * for this process and answers with their stage, which this process then collects
 * (FS_COLLECT). Which file server holds a descriptor's file is learnt from VFS's answers
 * (VFS_OPEN's and a staged read's stage_label: regular files only, so a pipe never tries);
 * without it, and whenever the direct way fails (a
 * file server that restarted has no stages, one that holds too many refuses more, a stage
 * was not of that server's), the bytes go through VFS as before, so nothing is lost and no
 * call fails for it.
 */
#include <errno.h>
#include <string.h>

#include "client.h"

bool plexus__direct_wanted(size_t want)
{
	return want >= PLEXUS__DIRECT_MIN && want <= PLEXUS__DIRECT_MAX;
}

/* The handle of file server slot (1-based), made on first use; NULL when none can be. */
static plx_fs *s_fs(plexus *self, int slot)
{
	if (slot <= 0)
		return NULL;
	pthread_mutex_lock(&self->fds_lock);
	plx_fs **fs = &self->fs[slot - 1].direct;
	if (!*fs)
		*fs = plx_fs_new(self->ep, self->fs[slot - 1].label, self->timeout_ms);
	plx_fs *out = *fs;
	pthread_mutex_unlock(&self->fds_lock);
	return out;
}

/* The file server slot fd's writes stage at (0: not known). */
static int s_fd_slot(plexus *self, int fd)
{
	pthread_mutex_lock(&self->fds_lock);
	int slot =
	    fd >= 0 && (size_t)fd < self->nfds && self->fds[fd].used ? self->fds[fd].direct_fs : 0;
	pthread_mutex_unlock(&self->fds_lock);
	return slot;
}

/* Sets fd's file server slot; returns it (0 when the table is full). */
static int s_learn(plexus *self, int fd, const char *label)
{
	pthread_mutex_lock(&self->fds_lock);
	int slot = label && *label ? plexus__fs_slot(self, label) : 0;
	if (fd >= 0 && (size_t)fd < self->nfds && self->fds[fd].used)
		self->fds[fd].direct_fs = (uint16_t)slot;
	pthread_mutex_unlock(&self->fds_lock);
	return slot;
}

void plexus__direct_learn(plexus *self, int fd, const char *label)
{
	if (label && *label)
		(void)s_learn(self, fd, label);
}

int64_t plexus__direct_collect(plexus *self, int fd, const Plexus__VfsReply *r, int64_t count,
                               void *buf)
{
	plx_fs *fs = s_fs(self, s_learn(self, fd, r->stage_label));
	if (fs && plx_fs_collect(fs, r->stage, buf, (size_t)count) == count) {
		__atomic_add_fetch(&self->direct_reads, (uint64_t)count, __ATOMIC_RELAXED);
		return count;
	}
	/* Gone (the file server restarted, or the time was up): the same bytes through VFS. */
	Plexus__VfsFd req = PLEXUS__VFS_FD__INIT;
	req.fd = fd;
	req.size = (uint64_t)count;
	req.offset = r->stage_offset;
	plexus__answer ans;
	int64_t rc = plexus__vfs_pread(self, &req, NULL, 0, PLEXUS__WAIT, &ans);
	if (rc < 0)
		return rc;
	size_t got = ans.msg->data_size;
	if ((uint64_t)rc != got || rc > count)
		rc = -EPROTO;
	else if (got)
		memcpy(buf, ans.msg->data, got);
	plexus__answer_free(&ans);
	return rc;
}

bool plexus__direct_write(plexus *self, plexus__fd_call *call, int fd, const void *buf, size_t want,
                          off_t offset, int64_t *put)
{
	plx_fs *fs = plexus__direct_wanted(want) ? s_fs(self, s_fd_slot(self, fd)) : NULL;
	uint64_t stage = 0;
	if (!fs || plx_fs_stage(fs, buf, want, &stage) < 0)
		return false;
	Plexus__VfsFd req = PLEXUS__VFS_FD__INIT;
	req.fd = fd;
	req.size = want;
	req.offset = offset;
	req.stage = stage;
	int64_t rc = call(self, &req, NULL, 0, PLEXUS__WAIT, NULL);
	if (rc < 0)
		(void)plx_fs_unstage(fs, stage); /* when unused; gone anyway after its time */
	if (rc == -EXDEV)
		return false; /* not there (a new instance): this one through VFS */
	if (rc > 0)
		__atomic_add_fetch(&self->direct_writes, (uint64_t)rc, __ATOMIC_RELAXED);
	*put = rc;
	return true;
}

void plexus__direct_counts(plexus *self, uint64_t *written, uint64_t *read)
{
	*written = __atomic_load_n(&self->direct_writes, __ATOMIC_RELAXED);
	*read = __atomic_load_n(&self->direct_reads, __ATOMIC_RELAXED);
}

void plexus__direct_free(plexus *self)
{
	for (int i = 0; i < self->nfs; i++)
		plx_fs_destroy(&self->fs[i].direct);
}
