/*
 * table.c — plexus-mfs's dispatch tables: the server's (every FS_* type the file server
 * answers, with its body type) and the worker's (type -> do_* handler).
 *
 * Entry points: mfs_handlers, mfs_op.
 *
 * The server library unpacks and checks each body before the call is queued; FS_NEW_DRIVER is
 * answered by the loop thread itself (mfs_new_driver) so it gets through while the worker
 * waits for the driver. Types not listed (FS_NEWNODE is pfs's) are answered -ENOSYS.
 */
#include <stddef.h>

#include "mfs.h"

#define S_FS(t) PLEXUS__FS_TYPE__##t

typedef struct s_entry {
	uint32_t type;
	const char *name;
	mfs_do_fn *fn;
	const ProtobufCMessageDescriptor *body;
} s_entry;

static const s_entry s_ops[] = {
    {S_FS(FS_READSUPER), "FS_READSUPER", do_readsuper, &plexus__fs_readsuper__descriptor},
    {S_FS(FS_UNMOUNT), "FS_UNMOUNT", do_unmount, NULL},
    {S_FS(FS_LOOKUP), "FS_LOOKUP", do_lookup, &plexus__fs_name__descriptor},
    {S_FS(FS_PUTNODE), "FS_PUTNODE", do_putnode, &plexus__fs_putnode__descriptor},
    {S_FS(FS_CREATE), "FS_CREATE", do_create, &plexus__fs_create__descriptor},
    {S_FS(FS_MKDIR), "FS_MKDIR", do_mkdir, &plexus__fs_create__descriptor},
    {S_FS(FS_MKNOD), "FS_MKNOD", do_mknod, &plexus__fs_create__descriptor},
    {S_FS(FS_READ), "FS_READ", do_read, &plexus__fs_io__descriptor},
    {S_FS(FS_WRITE), "FS_WRITE", do_write, &plexus__fs_io__descriptor},
    {S_FS(FS_GETDENTS), "FS_GETDENTS", do_getdents, &plexus__fs_io__descriptor},
    {S_FS(FS_STAT), "FS_STAT", do_stat, &plexus__fs_ino__descriptor},
    {S_FS(FS_CHMOD), "FS_CHMOD", do_chmod, &plexus__fs_setattr__descriptor},
    {S_FS(FS_CHOWN), "FS_CHOWN", do_chown, &plexus__fs_setattr__descriptor},
    {S_FS(FS_FTRUNC), "FS_FTRUNC", do_ftrunc, &plexus__fs_setattr__descriptor},
    {S_FS(FS_LINK), "FS_LINK", do_link, &plexus__fs_link__descriptor},
    {S_FS(FS_UNLINK), "FS_UNLINK", do_unlink, &plexus__fs_name__descriptor},
    {S_FS(FS_RMDIR), "FS_RMDIR", do_rmdir, &plexus__fs_name__descriptor},
    {S_FS(FS_RENAME), "FS_RENAME", do_rename, &plexus__fs_rename__descriptor},
    {S_FS(FS_SLINK), "FS_SLINK", do_slink, &plexus__fs_create__descriptor},
    {S_FS(FS_RDLINK), "FS_RDLINK", do_rdlink, &plexus__fs_ino__descriptor},
    {S_FS(FS_UTIME), "FS_UTIME", do_utime, &plexus__fs_setattr__descriptor},
    {S_FS(FS_SYNC), "FS_SYNC", do_sync, NULL},
    {S_FS(FS_FLUSH), "FS_FLUSH", do_flush, NULL},
    {S_FS(FS_STATVFS), "FS_STATVFS", do_statvfs, NULL},
    {S_FS(FS_FSYNC), "FS_FSYNC", do_fsync, &plexus__fs_ino__descriptor},
};

#define S_NOPS (sizeof s_ops / sizeof *s_ops)

const plx_handler *mfs_handlers(size_t *n)
{
	static plx_handler table[S_NOPS + 1];
	for (size_t i = 0; i < S_NOPS; i++)
		table[i] = (plx_handler){.type = s_ops[i].type,
		                         .name = s_ops[i].name,
		                         .fn = mfs_enqueue,
		                         .body = s_ops[i].body,
		                         .flags = PLX_IN_LOOP,
		                         .allowed = NULL};
	table[S_NOPS] = (plx_handler){.type = S_FS(FS_NEW_DRIVER),
	                              .name = "FS_NEW_DRIVER",
	                              .fn = mfs_new_driver,
	                              .body = &plexus__fs_new_driver__descriptor,
	                              .flags = PLX_IN_LOOP,
	                              .allowed = NULL};
	*n = S_NOPS + 1;
	return table;
}

mfs_do_fn *mfs_op(uint32_t type)
{
	for (size_t i = 0; i < S_NOPS; i++)
		if (s_ops[i].type == type)
			return s_ops[i].fn;
	return NULL;
}
