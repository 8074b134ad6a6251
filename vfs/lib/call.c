/*
 * call.c — the one way every libplexus call reaches VFS, and what comes back.
 *
 * Entry points: plexus__call, plexus__call_raw.
 *
 * Call sites reach it through their requests' typed calls (request.c, from proto/vfs.def),
 * which pass each request's type and body here. A call is one plx_sendrec from the calling
 * thread on the handle's endpoint: the transport
 * gives each thread its own connection, so threads never wait for one another here. A reply's
 * status is VFS's answer (0 or the call's negated errno); without a reply the transport's
 * error is mapped to the errno plexus.h promises. A call naming a descriptor goes to the VFS
 * generation that issued it (fds.c), so a later instance never serves it. A VFS that answers
 * -ESRCH no longer knows the process (it restarted, or dropped the process when its record
 * vanished), and one that died answers a descriptor's call with a dead endpoint: the handle
 * writes its record again (on a new lease if the old one lapsed), registers again, opens its
 * descriptors again at their numbers and sends the call once more — except an O_APPEND write
 * that may already have been done (-EIO: done or not, the caller must look).
 */
#include <errno.h>
#include <fcntl.h>
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

/* True when a call of type may make the handle register again: not the registration itself,
 * nor the goodbye. */
static bool s_may_register(const plexus *self, uint32_t type)
{
	return self->registered && type != PLEXUS__VFS_TYPE__VFS_REGISTER &&
	       type != PLEXUS__VFS_TYPE__VFS_EXIT;
}

/* Whether a call of type makes changes durable (fsync, fdatasync, syncfs, sync). */
static bool s_syncs(uint32_t type)
{
	return type == PLEXUS__VFS_TYPE__VFS_FSYNC || type == PLEXUS__VFS_TYPE__VFS_SYNCFS ||
	       type == PLEXUS__VFS_TYPE__VFS_SYNC;
}

/* The descriptor a request names (-1: none): the fd of a VfsFd body. */
static int s_fd_of(uint32_t type, const ProtobufCMessage *body)
{
	if (!body || body->descriptor != &plexus__vfs_fd__descriptor ||
	    type == PLEXUS__VFS_TYPE__VFS_PIPE)
		return -1;
	return ((const Plexus__VfsFd *)body)->fd;
}

/* A VFS_WRITE on an O_APPEND descriptor whose instance died: it may have been done, and
 * doing it again would append twice. */
static bool s_unsure(plexus *self, uint32_t type, int fd)
{
	if (type != PLEXUS__VFS_TYPE__VFS_WRITE || fd < 0)
		return false;
	pthread_mutex_lock(&self->fds_lock);
	bool append = (size_t)fd < self->nfds && (self->fds[fd].flags & O_APPEND);
	pthread_mutex_unlock(&self->fds_lock);
	return append;
}

static int s_send(plexus *self, uint64_t generation, const plx_request *proto, plx_msg **msg,
                  int timeout_ms)
{
	plx_request req = *proto;
	snprintf(req.dst.label, sizeof req.dst.label, "%s", self->vfs);
	req.dst.generation = generation;
	return plx_sendrec(self->ep, &req, msg, timeout_ms);
}

/* Sends req to VFS: a descriptor's call to the instance that issued the descriptor. When
 * that instance is gone, or VFS does not know the process, the handle registers with the
 * current one (restoring the descriptors) and sends once more. */
static int s_sendrec(plexus *self, const plx_request *req, int fd, plx_msg **msg, int timeout_ms)
{
	for (int attempt = 0;; attempt++) {
		uint64_t generation = 0, seen = plexus__vfs_gen(self);
		int rc = fd >= 0 ? plexus__fd_bind(self, fd, &generation) : 0;
		if (rc < 0)
			return rc;
		rc = s_send(self, generation, req, msg, timeout_ms);
		bool forgotten = (rc == -ESRCH && *msg) || rc == -PLX_EDEADSRCDST;
		if (!forgotten || attempt > 0 || !s_may_register(self, req->type))
			return rc;
		plx_msg_destroy(msg);
		if (plexus__rejoin(self, seen) < 0)
			return rc;
		if (rc == -PLX_EDEADSRCDST && s_unsure(self, req->type, fd))
			return -EIO; /* done or not: the caller must look */
	}
}

/* The answer of msg (consumed) to self's call of type with body naming fd, sent at mark
 * (plexus__durable_mark), as plexus__call returns it. */
static int64_t s_answer(plexus *self, uint32_t type, const ProtobufCMessage *body, int fd,
                        uint64_t mark, plx_msg *msg, plexus__answer *ans)
{
	Plexus__VfsReply *reply =
	    (Plexus__VfsReply *)plx_msg_unpack(msg, &plexus__vfs_reply__descriptor);
	if (!reply) {
		plx_msg_destroy(&msg);
		return -EPROTO;
	}
	int64_t value = reply->value;
	if (value < 0)
		value = -EPROTO; /* a success never counts below zero */
	else
		value = plexus__durable_answer(self, type, body, fd, reply, value, mark);
	if (ans && value >= 0) {
		ans->msg = msg;
		ans->reply = reply;
	} else {
		protobuf_c_message_free_unpacked(&reply->base, NULL);
		plx_msg_destroy(&msg);
	}
	return value;
}

int64_t plexus__call(plexus *self, uint32_t type, const ProtobufCMessage *body, const void *data,
                     size_t size, int timeout_ms, plexus__answer *ans)
{
	if (ans)
		*ans = (plexus__answer){0};
	if (!self)
		return -EINVAL;
	plx_request req = {.type = type, .body = body, .data = data, .data_size = size};
	plx_msg *msg = NULL;
	int fd = s_fd_of(type, body);
	uint64_t mark = s_syncs(type) ? plexus__durable_mark(self) : 0; /* before it goes out */
	int rc = s_sendrec(self, &req, fd, &msg, timeout_ms);
	if (rc < 0) {
		plx_msg_destroy(&msg);
		if (rc == -EIO)
			plexus__durable_reported(self, type, fd);
		return s_errno(rc);
	}
	return s_answer(self, type, body, fd, mark, msg, ans);
}

int64_t plexus__call_raw(plexus *self, uint32_t type, const ProtobufCMessage *body, int timeout_ms,
                         plexus__answer *ans)
{
	if (ans)
		*ans = (plexus__answer){0};
	plx_request req = {.type = type, .body = body};
	plx_msg *msg = NULL;
	int rc = s_send(self, 0, &req, &msg, timeout_ms);
	if (rc < 0) {
		plx_msg_destroy(&msg);
		return s_errno(rc);
	}
	/* no lost-change bookkeeping: the restore calls it with fds_lock held (durable.c) */
	return s_answer(NULL, type, body, s_fd_of(type, body), 0, msg, ans);
}
