/*
 * table.c — plexus-pfs's dispatch table: message type to handler. Types not listed (every
 * request about names, directories and mounts) are answered -ENOSYS by the server library.
 * Every call runs in the loop thread (PLX_IN_LOOP) and takes the server's callers (S_CALLERS:
 * plx_server_set_callers).
 *
 * Entry points: pfs_handlers.
 */
#include "pfs.h"

#define S_FS(t)   .type = PLEXUS__FS_TYPE__##t, .name = #t
#define S_CALLERS NULL /* the server's callers */

static const plx_handler s_table[] = {
    {S_FS(FS_NEWNODE), .fn = pfs_do_newnode, .body = &plexus__fs_create__descriptor,
     .flags = PLX_IN_LOOP, .allowed = S_CALLERS},
    {S_FS(FS_PUTNODE), .fn = pfs_do_putnode, .body = &plexus__fs_putnode__descriptor,
     .flags = PLX_IN_LOOP, .allowed = S_CALLERS},
    {S_FS(FS_STAT), .fn = pfs_do_stat, .body = &plexus__fs_ino__descriptor, .flags = PLX_IN_LOOP,
     .allowed = S_CALLERS},
    {S_FS(FS_FTRUNC), .fn = pfs_do_ftrunc, .body = &plexus__fs_setattr__descriptor,
     .flags = PLX_IN_LOOP, .allowed = S_CALLERS},
    {S_FS(FS_READ), .fn = pfs_do_read, .body = &plexus__fs_io__descriptor, .flags = PLX_IN_LOOP,
     .allowed = S_CALLERS},
    {S_FS(FS_WRITE), .fn = pfs_do_write, .body = &plexus__fs_io__descriptor, .flags = PLX_IN_LOOP,
     .allowed = S_CALLERS},
    {S_FS(FS_SYNC), .fn = pfs_do_sync, .body = NULL, .flags = PLX_IN_LOOP, .allowed = S_CALLERS},
    {S_FS(FS_FSYNC), .fn = pfs_do_sync, .body = &plexus__fs_ino__descriptor, .flags = PLX_IN_LOOP,
     .allowed = S_CALLERS},
    {S_FS(FS_STATVFS), .fn = pfs_do_statvfs, .body = NULL, .flags = PLX_IN_LOOP,
     .allowed = S_CALLERS},
};

const plx_handler *pfs_handlers(size_t *n)
{
	*n = sizeof s_table / sizeof *s_table;
	return s_table;
}
