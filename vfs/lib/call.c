/*
 * call.c — the one way every libplexus call reaches VFS, and what comes back.
 *
 * Entry points: plexus__call, plexus__answer_free, plexus__fail, plexus__check_path,
 * plexus__stat_from, plexus__statvfs_from, plexus__times_to, plexus__set_chunk_max,
 * plexus__chunk_max, plexus__label.
 *
 * A call is one plx_sendrec from the calling thread on the handle's endpoint: the transport
 * gives each thread its own connection, so threads never wait for one another here. A reply's
 * status is VFS's answer (0 or the call's negated errno); without a reply the transport's
 * error is mapped to the errno plexus.h promises. A VFS that answers -ESRCH no longer knows
 * the process (it restarted, or dropped the process when its record vanished): the handle
 * writes its record again (on a new lease if the old one lapsed), registers again and sends
 * the call once more, so path calls go on while the descriptors
 * the old VFS held are gone (EBADF).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "client.h"

/* The errno a caller sees for what the transport or VFS said. */
static int64_t s_errno(int rc)
{
	switch (rc) {
	case -PLX_EDEADSRCDST:
		return -EHOSTDOWN;
	case -PLX_ECALLDENIED:
		return -EACCES;
	case -EBADMSG:
		return -EPROTO;
	default:
		return rc < -PLX_ERRBASE ? -EIO : rc;
	}
}

/* True when an -ESRCH answer to type should make the handle register again: VFS restarted
 * (or dropped the process) and knows it no more. */
static bool s_may_register(const plexus *self, uint32_t type)
{
	return self->registered && type != PLEXUS__VFS_TYPE__VFS_REGISTER &&
	       type != PLEXUS__VFS_TYPE__VFS_EXIT;
}

int64_t plexus__call(plexus *self, uint32_t type, const ProtobufCMessage *body, const void *data,
                     size_t size, int timeout_ms, plexus__answer *ans)
{
	if (ans)
		*ans = (plexus__answer){0};
	if (!self)
		return -EINVAL;
	plx_request req = {.type = type, .body = body, .data = data, .data_size = size};
	snprintf(req.dst.label, sizeof req.dst.label, "%s", self->vfs);
	plx_msg *msg = NULL;
	int rc = plx_sendrec(self->ep, &req, &msg, timeout_ms);
	if (rc == -ESRCH && msg && s_may_register(self, type) && plexus__rejoin(self) == 0) {
		plx_msg_destroy(&msg); /* VFS had forgotten the process and did nothing: again */
		rc = plx_sendrec(self->ep, &req, &msg, timeout_ms);
	}
	if (rc < 0) {
		plx_msg_destroy(&msg);
		return s_errno(rc);
	}
	Plexus__VfsReply *reply =
	    (Plexus__VfsReply *)plx_msg_unpack(msg, &plexus__vfs_reply__descriptor);
	if (!reply) {
		plx_msg_destroy(&msg);
		return -EPROTO;
	}
	int64_t value = reply->value;
	if (value < 0)
		value = -EPROTO; /* a success never counts below zero */
	if (ans) {
		ans->msg = msg;
		ans->reply = reply;
	} else {
		protobuf_c_message_free_unpacked(&reply->base, NULL);
		plx_msg_destroy(&msg);
	}
	return value;
}

void plexus__answer_free(plexus__answer *ans)
{
	if (ans->reply)
		protobuf_c_message_free_unpacked(&ans->reply->base, NULL);
	plx_msg_destroy(&ans->msg);
	*ans = (plexus__answer){0};
}

int plexus__fail(int64_t rc)
{
	errno = rc < 0 ? (int)-rc : EIO;
	return -1;
}

int plexus__check_path(const char *path)
{
	if (!path)
		return -EFAULT;
	return strnlen(path, PLEXUS__PATH_MAX) >= PLEXUS__PATH_MAX ? -ENAMETOOLONG : 0;
}

void plexus__stat_from(const Plexus__FsAttr *attr, struct stat *st)
{
	memset(st, 0, sizeof *st);
	if (!attr)
		return;
	st->st_dev = attr->dev;
	st->st_ino = attr->ino;
	st->st_mode = attr->mode;
	st->st_nlink = attr->nlink;
	st->st_uid = attr->uid;
	st->st_gid = attr->gid;
	st->st_rdev = attr->rdev;
	st->st_size = (off_t)attr->size;
	st->st_blksize = attr->blksize;
	st->st_blocks = (blkcnt_t)attr->blocks;
	st->st_atim = (struct timespec){attr->atime_sec, attr->atime_nsec};
	st->st_mtim = (struct timespec){attr->mtime_sec, attr->mtime_nsec};
	st->st_ctim = (struct timespec){attr->ctime_sec, attr->ctime_nsec};
}

void plexus__statvfs_from(const Plexus__FsStatvfs *fs, struct statvfs *buf)
{
	memset(buf, 0, sizeof *buf);
	if (!fs)
		return;
	buf->f_bsize = fs->bsize;
	buf->f_frsize = fs->bsize;
	buf->f_blocks = fs->blocks;
	buf->f_bfree = fs->bfree;
	buf->f_bavail = fs->bfree;
	buf->f_files = fs->files;
	buf->f_ffree = fs->ffree;
	buf->f_favail = fs->ffree;
	buf->f_namemax = fs->namemax;
	buf->f_flag = fs->read_only ? ST_RDONLY : 0;
}

void plexus__times_to(const struct timespec times[2], Plexus__VfsTimes *out)
{
	plexus__vfs_times__init(out);
	if (!times) {
		out->atime_nsec = UTIME_NOW;
		out->mtime_nsec = UTIME_NOW;
		return;
	}
	out->atime_sec = times[0].tv_sec;
	out->atime_nsec = times[0].tv_nsec;
	out->mtime_sec = times[1].tv_sec;
	out->mtime_nsec = times[1].tv_nsec;
}

void plexus__set_chunk_max(plexus *self, size_t bytes)
{
	size_t max = plx_ctx_max_data(self->ctx);
	self->chunk_max = bytes < 1 ? 1 : bytes > max ? max : bytes;
}

size_t plexus__chunk_max(const plexus *self)
{
	return self->chunk_max;
}

const char *plexus__label(const plexus *self, uint64_t *generation)
{
	if (generation)
		*generation = self->generation;
	return self->label;
}
