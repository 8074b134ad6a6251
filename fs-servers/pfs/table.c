/*
 * table.c — plexus-pfs's dispatch table: message type to handler. Types not listed (every
 * request about names, directories and mounts) are answered -ENOSYS by the server library.
 * Every call runs in the loop thread (PLX_IN_LOOP) and takes the server's callers (S_CALLERS:
 * plx_server_set_callers).
 *
 * Entry points: pfs_handlers.
 */
#include "pfs.h"

/* An entry that runs in the loop thread. */
#define S_L(T, F, B, A) PLX_LOOP(PLEXUS__FS_TYPE__##T, #T, F, B, A)
#define S_CALLERS       NULL /* the server's callers */

static const plx_handler s_table[] = {
    S_L(FS_NEWNODE, pfs_do_newnode, &plexus__fs_create__descriptor, S_CALLERS),
    S_L(FS_PUTNODE, pfs_do_putnode, &plexus__fs_putnode__descriptor, S_CALLERS),
    S_L(FS_STAT, pfs_do_stat, &plexus__fs_ino__descriptor, S_CALLERS),
    S_L(FS_FTRUNC, pfs_do_ftrunc, &plexus__fs_setattr__descriptor, S_CALLERS),
    S_L(FS_READ, pfs_do_read, &plexus__fs_io__descriptor, S_CALLERS),
    S_L(FS_WRITE, pfs_do_write, &plexus__fs_io__descriptor, S_CALLERS),
    S_L(FS_SYNC, pfs_do_sync, NULL, S_CALLERS),
    S_L(FS_FSYNC, pfs_do_sync, &plexus__fs_ino__descriptor, S_CALLERS),
    S_L(FS_STATVFS, pfs_do_statvfs, NULL, S_CALLERS),
};

const plx_handler *pfs_handlers(size_t *n)
{
	*n = sizeof s_table / sizeof *s_table;
	return s_table;
}
