/*
 * rw.c — FS_READ and FS_WRITE on a pipe. Neither ever waits: an empty pipe answers -EAGAIN,
 * a full one takes what fits (all or nothing up to PFS_PIPE_BUF bytes). The position is
 * ignored: a pipe is read in the order it was written.
 *
 * Entry points: pfs_do_read, pfs_do_write.
 */
#include <errno.h>
#include <stdlib.h>

#include "pfs.h"

/* FS_READ: up to size bytes as the reply's data frame, count in FsReply. */
int pfs_do_read(plx_call *call)
{
	const Plexus__FsIo *req = (const Plexus__FsIo *)call->body;
	pfs *self = plx_server_arg(call->server);
	pfs_pipe *p = pfs_pipe_find(self, req->ino);
	if (!p || call->msg->data_size != 0)
		return p ? -EBADMSG : -EINVAL;
	if (req->size == 0)
		return 0;
	size_t want = req->size < pfs_capacity(self) ? (size_t)req->size : pfs_capacity(self);
	void *buf = malloc(want);
	if (!buf)
		return -ENOMEM;
	ssize_t n = pfs_pipe_read(self, p, buf, want);
	if (n < 0) {
		free(buf);
		return (int)n;
	}
	Plexus__FsReply reply = PLEXUS__FS_REPLY__INIT;
	reply.count = (uint64_t)n;
	plx_call_reply(call, 0, &reply.base, buf, (size_t)n);
	free(buf);
	return PLX_SUSPEND;
}

/* FS_WRITE: the request's data frame (exactly size bytes), count and attributes back. */
int pfs_do_write(plx_call *call)
{
	const Plexus__FsIo *req = (const Plexus__FsIo *)call->body;
	pfs *self = plx_server_arg(call->server);
	pfs_pipe *p = pfs_pipe_find(self, req->ino);
	if (!p)
		return -EINVAL;
	if (call->msg->data_size != req->size)
		return -EBADMSG;
	if (req->size == 0)
		return 0;
	ssize_t n = pfs_pipe_write(self, p, call->msg->data, call->msg->data_size);
	if (n < 0)
		return (int)n;
	Plexus__FsReply reply = PLEXUS__FS_REPLY__INIT;
	Plexus__FsAttr attr = PLEXUS__FS_ATTR__INIT;
	pfs_pipe_attr(self, p, &attr);
	reply.count = (uint64_t)n;
	reply.attr = &attr;
	plx_call_reply(call, 0, &reply.base, NULL, 0);
	return PLX_SUSPEND;
}
