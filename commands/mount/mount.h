/*
 * mount.h — `plexus mount`: what its files share.
 *
 * Entry points: mount_ops (ops.c).
 */
#ifndef PLEXUS_MOUNT_H
#define PLEXUS_MOUNT_H

#include <plexus/plexus.h>

struct fuse_operations;

/* What every operation finds in fuse_get_context()->private_data. */
typedef struct mount_ctx {
	plexus *p; /* one client of VFS for the whole mount; its calls may run in parallel */
} mount_ctx;

/* The operations table. */
const struct fuse_operations *mount_ops(void);

#endif
