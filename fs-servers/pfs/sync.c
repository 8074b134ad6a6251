/*
 * sync.c — the requests plexus-pfs answers without a pipe: FS_SYNC, FS_FSYNC (nothing to
 * write: pipes live in memory) and FS_STATVFS.
 *
 * Entry points: pfs_do_sync, pfs_do_statvfs.
 */
#include "pfs.h"

int pfs_do_sync(plx_call *call)
{
	(void)call;
	return 0;
}

/* FS_STATVFS: blocks of PFS_PIPE_BUF bytes, files = how many pipes may exist. */
int pfs_do_statvfs(plx_call *call)
{
	pfs *self = plx_server_arg(call->server);
	Plexus__FsReply reply = PLEXUS__FS_REPLY__INIT;
	Plexus__FsStatvfs st = PLEXUS__FS_STATVFS__INIT;
	st.bsize = PFS_PIPE_BUF;
	st.blocks = (uint64_t)PFS_PIPES_MAX * pfs_capacity(self) / PFS_PIPE_BUF;
	st.bfree = (uint64_t)(PFS_PIPES_MAX - pfs_count(self)) * pfs_capacity(self) / PFS_PIPE_BUF;
	st.files = PFS_PIPES_MAX;
	st.ffree = PFS_PIPES_MAX - pfs_count(self);
	st.namemax = 255;
	reply.statvfs = &st;
	plx_call_reply(call, 0, &reply.base, NULL, 0);
	return PLX_SUSPEND;
}
