/*
 * table.c — the BDEV handlers a block driver's server dispatches to.
 *
 * Entry points: plx_blockdriver_handlers.
 *
 * READ, WRITE, GATHER and SCATTER share one handler (io.c) and one body, BdevIo; the server
 * library has unpacked it (or answered -EBADMSG) before any handler runs. Every handler runs in
 * the loop thread (PLX_IN_LOOP) and takes the server's callers (allowed NULL).
 */
#include "internal.h"

static const plx_handler s_table[] = {
    {.type = PLEXUS__BDEV_TYPE__BDEV_OPEN,
     .name = "bdev_open",
     .fn = bdr_do_open,
     .body = &plexus__bdev_open__descriptor,
     .flags = PLX_IN_LOOP,
     .allowed = NULL},
    {.type = PLEXUS__BDEV_TYPE__BDEV_CLOSE,
     .name = "bdev_close",
     .fn = bdr_do_close,
     .body = &plexus__bdev_minor__descriptor,
     .flags = PLX_IN_LOOP,
     .allowed = NULL},
    {.type = PLEXUS__BDEV_TYPE__BDEV_READ,
     .name = "bdev_read",
     .fn = bdr_do_transfer,
     .body = &plexus__bdev_io__descriptor,
     .flags = PLX_IN_LOOP,
     .allowed = NULL},
    {.type = PLEXUS__BDEV_TYPE__BDEV_WRITE,
     .name = "bdev_write",
     .fn = bdr_do_transfer,
     .body = &plexus__bdev_io__descriptor,
     .flags = PLX_IN_LOOP,
     .allowed = NULL},
    {.type = PLEXUS__BDEV_TYPE__BDEV_GATHER,
     .name = "bdev_gather",
     .fn = bdr_do_transfer,
     .body = &plexus__bdev_io__descriptor,
     .flags = PLX_IN_LOOP,
     .allowed = NULL},
    {.type = PLEXUS__BDEV_TYPE__BDEV_SCATTER,
     .name = "bdev_scatter",
     .fn = bdr_do_transfer,
     .body = &plexus__bdev_io__descriptor,
     .flags = PLX_IN_LOOP,
     .allowed = NULL},
    {.type = PLEXUS__BDEV_TYPE__BDEV_IOCTL,
     .name = "bdev_ioctl",
     .fn = bdr_do_ioctl,
     .body = &plexus__bdev_ioctl__descriptor,
     .flags = PLX_IN_LOOP,
     .allowed = NULL},
    {.type = PLEXUS__BDEV_TYPE__BDEV_FLUSH,
     .name = "bdev_flush",
     .fn = bdr_do_flush,
     .body = &plexus__bdev_minor__descriptor,
     .flags = PLX_IN_LOOP,
     .allowed = NULL},
};

const plx_handler *plx_blockdriver_handlers(size_t *n)
{
	plx_register_types(&plexus__bdev_type__descriptor);
	*n = sizeof s_table / sizeof *s_table;
	return s_table;
}
