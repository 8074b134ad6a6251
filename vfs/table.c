/*
 * table.c — plexus-vfs's dispatch table: message type -> do_<call>, with where each runs and
 * who may call it.
 *
 * Entry points: vfs_table, vfs_submit.
 *
 * The server library checks and unpacks each call with the body descriptor named here, then,
 * for an entry flagged PLX_ON_WORKER (every VFS_* call), hands it to vfs_submit, which queues
 * it with the entry's do_<call> for a worker (worker.c). CDEV_SEL2_REPLY, a driver's later
 * select report (device.c), is answered in the loop thread. Every entry takes the server's
 * callers (S_CALLERS: plx_server_set_callers).
 */
#include <stddef.h>

#include "dev.h"
#include "vfs.h"

#define S_VFS(t)  .type = PLEXUS__VFS_TYPE__##t, .name = #t
#define S_CALLERS NULL /* the server's callers */
#define PATH      &plexus__vfs_path__descriptor
#define FD        &plexus__vfs_fd__descriptor

static const plx_handler s_table[] = {
    {S_VFS(VFS_REGISTER), .work = PLX_WORK(do_register), .body = &plexus__vfs_register__descriptor,
     .flags = PLX_ON_WORKER, .allowed = S_CALLERS},
    {S_VFS(VFS_EXIT), .work = PLX_WORK(do_exit), .body = NULL, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_OPEN), .work = PLX_WORK(do_open), .body = PATH, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_CLOSE), .work = PLX_WORK(do_close), .body = FD, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_READ), .work = PLX_WORK(do_read), .body = FD, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_WRITE), .work = PLX_WORK(do_write), .body = FD, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_PREAD), .work = PLX_WORK(do_pread), .body = FD, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_PWRITE), .work = PLX_WORK(do_pwrite), .body = FD, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_LSEEK), .work = PLX_WORK(do_lseek), .body = FD, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_STAT), .work = PLX_WORK(do_stat), .body = PATH, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_FSTAT), .work = PLX_WORK(do_fstat), .body = FD, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_LSTAT), .work = PLX_WORK(do_lstat), .body = PATH, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_MKDIR), .work = PLX_WORK(do_mkdir), .body = PATH, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_RMDIR), .work = PLX_WORK(do_rmdir), .body = PATH, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_UNLINK), .work = PLX_WORK(do_unlink), .body = PATH, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_RENAME), .work = PLX_WORK(do_rename), .body = PATH, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_LINK), .work = PLX_WORK(do_link), .body = PATH, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_SYMLINK), .work = PLX_WORK(do_symlink), .body = PATH, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_READLINK), .work = PLX_WORK(do_readlink), .body = PATH, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_GETDENTS), .work = PLX_WORK(do_getdents), .body = FD, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_TRUNCATE), .work = PLX_WORK(do_truncate), .body = PATH, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_FTRUNCATE), .work = PLX_WORK(do_ftruncate), .body = FD, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_CHMOD), .work = PLX_WORK(do_chmod), .body = PATH, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_FCHMOD), .work = PLX_WORK(do_fchmod), .body = FD, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_CHOWN), .work = PLX_WORK(do_chown), .body = PATH, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_FCHOWN), .work = PLX_WORK(do_fchown), .body = FD, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_UTIMENS), .work = PLX_WORK(do_utimens), .body = PATH, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_FUTIMENS), .work = PLX_WORK(do_futimens), .body = FD, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_ACCESS), .work = PLX_WORK(do_access), .body = PATH, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_FSYNC), .work = PLX_WORK(do_fsync), .body = FD, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_SYNC), .work = PLX_WORK(do_sync), .body = NULL, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_MKNOD), .work = PLX_WORK(do_mknod), .body = PATH, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_MOUNT), .work = PLX_WORK(do_mount), .body = &plexus__vfs_mount__descriptor,
     .flags = PLX_ON_WORKER, .allowed = S_CALLERS},
    {S_VFS(VFS_UMOUNT), .work = PLX_WORK(do_umount), .body = PATH, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_STATVFS), .work = PLX_WORK(do_statvfs), .body = PATH, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_FSTATVFS), .work = PLX_WORK(do_fstatvfs), .body = FD, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_PIPE), .work = PLX_WORK(do_pipe), .body = FD, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_MKFIFO), .work = PLX_WORK(do_mkfifo), .body = PATH, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_SELECT), .work = PLX_WORK(do_select), .body = &plexus__vfs_select__descriptor,
     .flags = PLX_ON_WORKER, .allowed = S_CALLERS},
    {S_VFS(VFS_IOCTL), .work = PLX_WORK(do_ioctl), .body = FD, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_DUP), .work = PLX_WORK(do_dup), .body = FD, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_DUP2), .work = PLX_WORK(do_dup2), .body = FD, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_FCNTL), .work = PLX_WORK(do_fcntl), .body = FD, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_CHDIR), .work = PLX_WORK(do_chdir), .body = PATH, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_FCHDIR), .work = PLX_WORK(do_fchdir), .body = FD, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_GETCWD), .work = PLX_WORK(do_getcwd), .body = NULL, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_UMASK), .work = PLX_WORK(do_umask), .body = FD, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_EXEC), .work = PLX_WORK(do_exec), .body = NULL, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_PS), .work = PLX_WORK(do_ps), .body = &plexus__vfs_ps_query__descriptor,
     .flags = PLX_ON_WORKER, .allowed = S_CALLERS},
    {S_VFS(VFS_MOUNTS), .work = PLX_WORK(do_mounts), .body = NULL, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_VFS(VFS_SYNCFS), .work = PLX_WORK(do_syncfs), .body = FD, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {.type = PLEXUS__CDEV_TYPE__CDEV_SEL2_REPLY,
     .name = "CDEV_SEL2_REPLY",
     .fn = vfs_dev_sel2,
     .body = &plexus__cdev_sel_ready__descriptor,
     .flags = PLX_IN_LOOP,
     .allowed = S_CALLERS},
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
