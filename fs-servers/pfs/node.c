/*
 * node.c — the inode requests of plexus-pfs: FS_NEWNODE, FS_PUTNODE, FS_STAT, FS_FTRUNC.
 *
 * Entry points: pfs_do_newnode, pfs_do_putnode, pfs_do_stat, pfs_do_ftrunc.
 */
#include <errno.h>
#include <sys/stat.h>

#include "pfs.h"

/* Answers call with the pipe's attributes. */
static int s_reply_attr(plx_call *call, const pfs_pipe *p)
{
	Plexus__FsReply reply = PLEXUS__FS_REPLY__INIT;
	Plexus__FsAttr attr = PLEXUS__FS_ATTR__INIT;
	pfs_pipe_attr(plx_server_arg(call->server), p, &attr);
	reply.attr = &attr;
	plx_call_reply(call, 0, &reply.base, NULL, 0);
	return PLX_SUSPEND;
}

/* FS_NEWNODE: an anonymous pipe, one reference. Only S_IFIFO is made here (-EINVAL). */
int pfs_do_newnode(plx_call *call)
{
	const Plexus__FsCreate *req = (const Plexus__FsCreate *)call->body;
	if (!S_ISFIFO(req->mode))
		return -EINVAL;
	uint32_t uid = req->cred ? req->cred->uid : 0, gid = req->cred ? req->cred->gid : 0;
	pfs_pipe *p = pfs_pipe_new(plx_server_arg(call->server), req->mode, uid, gid);
	if (!p)
		return -errno;
	return s_reply_attr(call, p);
}

/* FS_PUTNODE: count references back; the pipe goes with its last. */
int pfs_do_putnode(plx_call *call)
{
	const Plexus__FsPutnode *req = (const Plexus__FsPutnode *)call->body;
	pfs *self = plx_server_arg(call->server);
	pfs_pipe *p = pfs_pipe_find(self, req->ino);
	return p ? pfs_pipe_put(self, p, req->count) : -EINVAL;
}

/* FS_STAT: size is the number of bytes waiting in the pipe. */
int pfs_do_stat(plx_call *call)
{
	const Plexus__FsIno *req = (const Plexus__FsIno *)call->body;
	pfs_pipe *p = pfs_pipe_find(plx_server_arg(call->server), req->ino);
	return p ? s_reply_attr(call, p) : -EINVAL;
}

/* FS_FTRUNC: FS_SET_SIZE only, at most what the pipe holds (0 discards everything). */
int pfs_do_ftrunc(plx_call *call)
{
	const Plexus__FsSetattr *req = (const Plexus__FsSetattr *)call->body;
	pfs *self = plx_server_arg(call->server);
	pfs_pipe *p = pfs_pipe_find(self, req->ino);
	if (!p || req->flags != PLEXUS__FS_SETATTR_FLAG__FS_SET_SIZE)
		return -EINVAL;
	int rc = pfs_pipe_truncate(self, p, req->size);
	return rc < 0 ? rc : s_reply_attr(call, p);
}
