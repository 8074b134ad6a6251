/*
 * table.c — plexus-vfs's dispatch table: message type -> do_<call>, with where each runs and
 * who may call it.
 *
 * Entry points: vfs_table, vfs_submit, vfs_run.
 *
 * The server library checks and unpacks each call with the body descriptor named here, then,
 * for an entry flagged PLX_ON_WORKER (every VFS_* call), hands it to vfs_submit, which queues
 * it with the entry's do_<call> for a worker (worker.c). CDEV_SEL2_REPLY, a driver's later
 * select report (device.c), is answered in the loop thread. Every entry takes the server's
 * callers (S_CALLERS: plx_server_set_callers).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "dev.h"
#include "vfs.h"

/* An entry that runs on a worker: the call, its do_<call>, its body, who may send it. */
#define S_W(T, F, B, A) PLX_WORKER(PLEXUS__VFS_TYPE__##T, #T, F, B, A)
#define S_CALLERS       NULL /* the server's callers */
#define PATH            &plexus__vfs_path__descriptor
#define FD              &plexus__vfs_fd__descriptor

static const plx_handler s_table[] = {
    S_W(VFS_REGISTER, do_register, &plexus__vfs_register__descriptor, S_CALLERS),
    S_W(VFS_EXIT, do_exit, NULL, S_CALLERS),
    S_W(VFS_OPEN, do_open, PATH, S_CALLERS),
    S_W(VFS_CLOSE, do_close, FD, S_CALLERS),
    S_W(VFS_READ, do_read, FD, S_CALLERS),
    S_W(VFS_WRITE, do_write, FD, S_CALLERS),
    S_W(VFS_PREAD, do_pread, FD, S_CALLERS),
    S_W(VFS_PWRITE, do_pwrite, FD, S_CALLERS),
    S_W(VFS_LSEEK, do_lseek, FD, S_CALLERS),
    S_W(VFS_STAT, do_stat, PATH, S_CALLERS),
    S_W(VFS_FSTAT, do_fstat, FD, S_CALLERS),
    S_W(VFS_LSTAT, do_lstat, PATH, S_CALLERS),
    S_W(VFS_MKDIR, do_mkdir, PATH, S_CALLERS),
    S_W(VFS_RMDIR, do_rmdir, PATH, S_CALLERS),
    S_W(VFS_UNLINK, do_unlink, PATH, S_CALLERS),
    S_W(VFS_RENAME, do_rename, PATH, S_CALLERS),
    S_W(VFS_LINK, do_link, PATH, S_CALLERS),
    S_W(VFS_SYMLINK, do_symlink, PATH, S_CALLERS),
    S_W(VFS_READLINK, do_readlink, PATH, S_CALLERS),
    S_W(VFS_GETDENTS, do_getdents, FD, S_CALLERS),
    S_W(VFS_TRUNCATE, do_truncate, PATH, S_CALLERS),
    S_W(VFS_FTRUNCATE, do_ftruncate, FD, S_CALLERS),
    S_W(VFS_CHMOD, do_chmod, PATH, S_CALLERS),
    S_W(VFS_FCHMOD, do_fchmod, FD, S_CALLERS),
    S_W(VFS_CHOWN, do_chown, PATH, S_CALLERS),
    S_W(VFS_FCHOWN, do_fchown, FD, S_CALLERS),
    S_W(VFS_UTIMENS, do_utimens, PATH, S_CALLERS),
    S_W(VFS_FUTIMENS, do_futimens, FD, S_CALLERS),
    S_W(VFS_ACCESS, do_access, PATH, S_CALLERS),
    S_W(VFS_FSYNC, do_fsync, FD, S_CALLERS),
    S_W(VFS_SYNC, do_sync, NULL, S_CALLERS),
    S_W(VFS_MKNOD, do_mknod, PATH, S_CALLERS),
    S_W(VFS_MOUNT, do_mount, &plexus__vfs_mount__descriptor, S_CALLERS),
    S_W(VFS_UMOUNT, do_umount, PATH, S_CALLERS),
    S_W(VFS_STATVFS, do_statvfs, PATH, S_CALLERS),
    S_W(VFS_FSTATVFS, do_fstatvfs, FD, S_CALLERS),
    S_W(VFS_PIPE, do_pipe, FD, S_CALLERS),
    S_W(VFS_MKFIFO, do_mkfifo, PATH, S_CALLERS),
    S_W(VFS_SELECT, do_select, &plexus__vfs_select__descriptor, S_CALLERS),
    S_W(VFS_IOCTL, do_ioctl, FD, S_CALLERS),
    S_W(VFS_DUP, do_dup, FD, S_CALLERS),
    S_W(VFS_DUP2, do_dup2, FD, S_CALLERS),
    S_W(VFS_FCNTL, do_fcntl, FD, S_CALLERS),
    S_W(VFS_CHDIR, do_chdir, PATH, S_CALLERS),
    S_W(VFS_FCHDIR, do_fchdir, FD, S_CALLERS),
    S_W(VFS_GETCWD, do_getcwd, NULL, S_CALLERS),
    S_W(VFS_UMASK, do_umask, FD, S_CALLERS),
    S_W(VFS_EXEC, do_exec, NULL, S_CALLERS),
    S_W(VFS_PS, do_ps, &plexus__vfs_ps_query__descriptor, S_CALLERS),
    S_W(VFS_MOUNTS, do_mounts, NULL, S_CALLERS),
    S_W(VFS_SYNCFS, do_syncfs, FD, S_CALLERS),
    S_W(VFS_WATCH, do_watch, &plexus__vfs_watch__descriptor, S_CALLERS),
    PLX_LOOP(PLEXUS__CDEV_TYPE__CDEV_SEL2_REPLY, "CDEV_SEL2_REPLY", vfs_dev_sel2,
             &plexus__cdev_sel_ready__descriptor, S_CALLERS),
};

const plx_handler *vfs_table(size_t *n)
{
	*n = sizeof s_table / sizeof *s_table;
	return s_table;
}

int vfs_submit(void *pool, plx_call *call, const plx_handler *h)
{
	return vfs_workers_submit(pool, call, (vfs_handler_fn *)h->work);
}

static void s_data_free(void *data, void *hint)
{
	(void)hint;
	free(data);
}

void vfs_run(vfs *v, plx_call *call, vfs_handler_fn *fn)
{
	vfs_req req;
	memset(&req, 0, sizeof req);
	req.vfs = v;
	req.call = call;
	req.msg = call->msg;
	req.body = call->body;
	plexus__vfs_reply__init(&req.reply);
	plexus__fs_attr__init(&req.reply_stat);
	plexus__fs_statvfs__init(&req.reply_statvfs);
	int rc;
	req.proc = vfs_proc_find(v, &call->msg->source);
	if (!req.proc && fn != do_register) {
		rc = -ESRCH;
	} else {
		if (req.proc)
			vfs_proc_cred(req.proc, &req.cred);
		vfs_errseq_request_begin();
		vfs_watch_request_begin(&req);
		rc = vfs_path_at_begin(&req);
		if (rc == 0)
			rc = fn(&req);
		if (rc >= 0 && rc != PLX_SUSPEND)
			vfs_errseq_request_end(&req.reply);
		vfs_watch_request_end();
	}
	if (rc != PLX_SUSPEND && rc >= 0 && req.data && req.data_free == free) {
		/* malloc'd bytes (a read's) go as they are: no copy */
		plx_call_reply_owned(call, rc, &req.reply.base, req.data, req.data_size,
		                     s_data_free, NULL);
		req.data = NULL;
	} else if (rc != PLX_SUSPEND) {
		vfs_req_reply(call, rc, rc >= 0 ? &req.reply : NULL, rc >= 0 ? req.data : NULL,
		              rc >= 0 ? req.data_size : 0);
	}
	if (req.data && req.data_free)
		req.data_free(req.data);
	if (req.cleanup)
		req.cleanup(&req);
	vfs_path_at_end(&req);
	vfs_proc_put(v, req.proc);
}
