/*
 * table.c — plexus-pfs's dispatch table: message type to handler. Types not listed (every
 * request about names, directories and mounts) are answered -ENOSYS by the server library.
 *
 * Entry points: pfs_handlers.
 */
#include "pfs.h"

#define S_ENTRY(type, fn, desc)                                                                    \
	{                                                                                          \
		PLEXUS__FS_TYPE__##type, #type, fn, desc, NULL                                     \
	}

static const plx_handler s_table[] = {
    S_ENTRY(FS_NEWNODE, pfs_do_newnode, &plexus__fs_create__descriptor),
    S_ENTRY(FS_PUTNODE, pfs_do_putnode, &plexus__fs_putnode__descriptor),
    S_ENTRY(FS_STAT, pfs_do_stat, &plexus__fs_ino__descriptor),
    S_ENTRY(FS_FTRUNC, pfs_do_ftrunc, &plexus__fs_setattr__descriptor),
    S_ENTRY(FS_READ, pfs_do_read, &plexus__fs_io__descriptor),
    S_ENTRY(FS_WRITE, pfs_do_write, &plexus__fs_io__descriptor),
    S_ENTRY(FS_SYNC, pfs_do_sync, NULL),
    S_ENTRY(FS_FSYNC, pfs_do_sync, &plexus__fs_ino__descriptor),
    S_ENTRY(FS_STATVFS, pfs_do_statvfs, NULL),
};

const plx_handler *pfs_handlers(size_t *n)
{
	*n = sizeof s_table / sizeof *s_table;
	return s_table;
}
