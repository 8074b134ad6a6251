/*
 * table.c — plexus-mfs's dispatch table: every FS_* type the file server answers, with its
 * body type, its handler, where it runs and who may call it.
 *
 * Entry points: mfs_handlers, mfs_submit.
 *
 * The server library unpacks and checks each body, then hands an entry flagged PLX_ON_WORKER
 * with its call to mfs_submit, which queues the entry's do_<call> for the worker thread
 * (worker.c). FS_NEW_DRIVER runs in the loop thread (mfs_new_driver) so it gets through while
 * the worker waits for the driver. Every entry takes the server's callers (S_CALLERS:
 * plx_server_set_callers). Types not listed (FS_NEWNODE is pfs's) are answered -ENOSYS. The
 * fuzz harnesses number requests by their index here: new entries go at the end.
 */
#include <stddef.h>

#include "mfs.h"

#define S_FS(t)   .type = PLEXUS__FS_TYPE__##t, .name = #t
#define S_CALLERS NULL /* the server's callers */

static const plx_handler s_table[] = {
    {S_FS(FS_READSUPER), .work = PLX_WORK(do_readsuper), .body = &plexus__fs_readsuper__descriptor,
     .flags = PLX_ON_WORKER, .allowed = S_CALLERS},
    {S_FS(FS_UNMOUNT), .work = PLX_WORK(do_unmount), .body = NULL, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_FS(FS_LOOKUP), .work = PLX_WORK(do_lookup), .body = &plexus__fs_name__descriptor,
     .flags = PLX_ON_WORKER, .allowed = S_CALLERS},
    {S_FS(FS_PUTNODE), .work = PLX_WORK(do_putnode), .body = &plexus__fs_putnode__descriptor,
     .flags = PLX_ON_WORKER, .allowed = S_CALLERS},
    {S_FS(FS_CREATE), .work = PLX_WORK(do_create), .body = &plexus__fs_create__descriptor,
     .flags = PLX_ON_WORKER, .allowed = S_CALLERS},
    {S_FS(FS_MKDIR), .work = PLX_WORK(do_mkdir), .body = &plexus__fs_create__descriptor,
     .flags = PLX_ON_WORKER, .allowed = S_CALLERS},
    {S_FS(FS_MKNOD), .work = PLX_WORK(do_mknod), .body = &plexus__fs_create__descriptor,
     .flags = PLX_ON_WORKER, .allowed = S_CALLERS},
    {S_FS(FS_READ), .work = PLX_WORK(do_read), .body = &plexus__fs_io__descriptor,
     .flags = PLX_ON_WORKER, .allowed = S_CALLERS},
    {S_FS(FS_WRITE), .work = PLX_WORK(do_write), .body = &plexus__fs_io__descriptor,
     .flags = PLX_ON_WORKER, .allowed = S_CALLERS},
    {S_FS(FS_GETDENTS), .work = PLX_WORK(do_getdents), .body = &plexus__fs_io__descriptor,
     .flags = PLX_ON_WORKER, .allowed = S_CALLERS},
    {S_FS(FS_STAT), .work = PLX_WORK(do_stat), .body = &plexus__fs_ino__descriptor,
     .flags = PLX_ON_WORKER, .allowed = S_CALLERS},
    {S_FS(FS_CHMOD), .work = PLX_WORK(do_chmod), .body = &plexus__fs_setattr__descriptor,
     .flags = PLX_ON_WORKER, .allowed = S_CALLERS},
    {S_FS(FS_CHOWN), .work = PLX_WORK(do_chown), .body = &plexus__fs_setattr__descriptor,
     .flags = PLX_ON_WORKER, .allowed = S_CALLERS},
    {S_FS(FS_FTRUNC), .work = PLX_WORK(do_ftrunc), .body = &plexus__fs_setattr__descriptor,
     .flags = PLX_ON_WORKER, .allowed = S_CALLERS},
    {S_FS(FS_LINK), .work = PLX_WORK(do_link), .body = &plexus__fs_link__descriptor,
     .flags = PLX_ON_WORKER, .allowed = S_CALLERS},
    {S_FS(FS_UNLINK), .work = PLX_WORK(do_unlink), .body = &plexus__fs_name__descriptor,
     .flags = PLX_ON_WORKER, .allowed = S_CALLERS},
    {S_FS(FS_RMDIR), .work = PLX_WORK(do_rmdir), .body = &plexus__fs_name__descriptor,
     .flags = PLX_ON_WORKER, .allowed = S_CALLERS},
    {S_FS(FS_RENAME), .work = PLX_WORK(do_rename), .body = &plexus__fs_rename__descriptor,
     .flags = PLX_ON_WORKER, .allowed = S_CALLERS},
    {S_FS(FS_SLINK), .work = PLX_WORK(do_slink), .body = &plexus__fs_create__descriptor,
     .flags = PLX_ON_WORKER, .allowed = S_CALLERS},
    {S_FS(FS_RDLINK), .work = PLX_WORK(do_rdlink), .body = &plexus__fs_ino__descriptor,
     .flags = PLX_ON_WORKER, .allowed = S_CALLERS},
    {S_FS(FS_UTIME), .work = PLX_WORK(do_utime), .body = &plexus__fs_setattr__descriptor,
     .flags = PLX_ON_WORKER, .allowed = S_CALLERS},
    {S_FS(FS_SYNC), .work = PLX_WORK(do_sync), .body = NULL, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_FS(FS_FLUSH), .work = PLX_WORK(do_flush), .body = NULL, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_FS(FS_STATVFS), .work = PLX_WORK(do_statvfs), .body = NULL, .flags = PLX_ON_WORKER,
     .allowed = S_CALLERS},
    {S_FS(FS_FSYNC), .work = PLX_WORK(do_fsync), .body = &plexus__fs_ino__descriptor,
     .flags = PLX_ON_WORKER, .allowed = S_CALLERS},
    {S_FS(FS_NEW_DRIVER), .fn = mfs_new_driver, .body = &plexus__fs_new_driver__descriptor,
     .flags = PLX_IN_LOOP, .allowed = S_CALLERS},
};

const plx_handler *mfs_handlers(size_t *n)
{
	*n = sizeof s_table / sizeof *s_table;
	return s_table;
}

int mfs_submit(void *pool, plx_call *call, const plx_handler *h)
{
	return mfs_worker_submit(pool, call, (mfs_do_fn *)h->work);
}
