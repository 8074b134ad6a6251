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
 * plx_server_set_callers) but FS_STAGE and FS_COLLECT, the clients'. Types not listed (FS_NEWNODE
 * is pfs's) are answered -ENOSYS. The fuzz harnesses number requests by their index here: new
 * entries go at the end.
 */
#include <stddef.h>

#include "mfs.h"

/* An entry that runs on a worker: the call, its do_<call>, its body, who may send it. */
#define S_W(T, F, B, A) PLX_WORKER(PLEXUS__FS_TYPE__##T, #T, F, B, A)
/* An entry that runs in the loop thread. */
#define S_L(T, F, B, A) PLX_LOOP(PLEXUS__FS_TYPE__##T, #T, F, B, A)
#define S_CALLERS       NULL /* the server's callers */

/* Staged data comes from and goes to the processes using files, whatever the callers (their
 * labels, docs/security.md); what they stage is used only as VFS says. */
static const char *const s_clients[] = {"c-*", NULL};

static const plx_handler s_table[] = {
    S_W(FS_READSUPER, do_readsuper, &plexus__fs_readsuper__descriptor, S_CALLERS),
    S_W(FS_UNMOUNT, do_unmount, NULL, S_CALLERS),
    S_W(FS_LOOKUP, do_lookup, &plexus__fs_name__descriptor, S_CALLERS),
    S_W(FS_PUTNODE, do_putnode, &plexus__fs_putnode__descriptor, S_CALLERS),
    S_W(FS_CREATE, do_create, &plexus__fs_create__descriptor, S_CALLERS),
    S_W(FS_MKDIR, do_mkdir, &plexus__fs_create__descriptor, S_CALLERS),
    S_W(FS_MKNOD, do_mknod, &plexus__fs_create__descriptor, S_CALLERS),
    S_W(FS_READ, do_read, &plexus__fs_io__descriptor, S_CALLERS),
    S_W(FS_WRITE, do_write, &plexus__fs_io__descriptor, S_CALLERS),
    S_W(FS_GETDENTS, do_getdents, &plexus__fs_io__descriptor, S_CALLERS),
    S_W(FS_STAT, do_stat, &plexus__fs_ino__descriptor, S_CALLERS),
    S_W(FS_CHMOD, do_chmod, &plexus__fs_setattr__descriptor, S_CALLERS),
    S_W(FS_CHOWN, do_chown, &plexus__fs_setattr__descriptor, S_CALLERS),
    S_W(FS_FTRUNC, do_ftrunc, &plexus__fs_setattr__descriptor, S_CALLERS),
    S_W(FS_LINK, do_link, &plexus__fs_link__descriptor, S_CALLERS),
    S_W(FS_UNLINK, do_unlink, &plexus__fs_name__descriptor, S_CALLERS),
    S_W(FS_RMDIR, do_rmdir, &plexus__fs_name__descriptor, S_CALLERS),
    S_W(FS_RENAME, do_rename, &plexus__fs_rename__descriptor, S_CALLERS),
    S_W(FS_SLINK, do_slink, &plexus__fs_create__descriptor, S_CALLERS),
    S_W(FS_RDLINK, do_rdlink, &plexus__fs_ino__descriptor, S_CALLERS),
    S_W(FS_UTIME, do_utime, &plexus__fs_setattr__descriptor, S_CALLERS),
    S_W(FS_SYNC, do_sync, NULL, S_CALLERS),
    S_W(FS_FLUSH, do_flush, NULL, S_CALLERS),
    S_W(FS_STATVFS, do_statvfs, NULL, S_CALLERS),
    S_W(FS_FSYNC, do_fsync, &plexus__fs_ino__descriptor, S_CALLERS),
    S_L(FS_NEW_DRIVER, mfs_new_driver, &plexus__fs_new_driver__descriptor, S_CALLERS),
    S_W(FS_STAGE, do_stage, NULL, s_clients),
    S_W(FS_COLLECT, do_collect, &plexus__fs_stage__descriptor, s_clients),
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
