/*
 * table.c — the BDEV handlers a block driver's server dispatches to.
 *
 * Entry points: plx_blockdriver_handlers.
 *
 * READ, WRITE, GATHER and SCATTER share one handler (io.c) and one body, BdevIo; the server
 * library has unpacked it (or answered -EBADMSG) before any handler runs.
 */
#include "internal.h"

static const plx_handler s_table[] = {
    {PLEXUS__BDEV_TYPE__BDEV_OPEN, "bdev_open", do_open, &plexus__bdev_open__descriptor, NULL},
    {PLEXUS__BDEV_TYPE__BDEV_CLOSE, "bdev_close", do_close, &plexus__bdev_minor__descriptor, NULL},
    {PLEXUS__BDEV_TYPE__BDEV_READ, "bdev_read", do_transfer, &plexus__bdev_io__descriptor, NULL},
    {PLEXUS__BDEV_TYPE__BDEV_WRITE, "bdev_write", do_transfer, &plexus__bdev_io__descriptor, NULL},
    {PLEXUS__BDEV_TYPE__BDEV_GATHER, "bdev_gather", do_transfer, &plexus__bdev_io__descriptor,
     NULL},
    {PLEXUS__BDEV_TYPE__BDEV_SCATTER, "bdev_scatter", do_transfer, &plexus__bdev_io__descriptor,
     NULL},
    {PLEXUS__BDEV_TYPE__BDEV_IOCTL, "bdev_ioctl", do_ioctl, &plexus__bdev_ioctl__descriptor, NULL},
    {PLEXUS__BDEV_TYPE__BDEV_FLUSH, "bdev_flush", do_flush, &plexus__bdev_minor__descriptor, NULL},
};

const plx_handler *plx_blockdriver_handlers(size_t *n)
{
	plx_register_types(&plexus__bdev_type__descriptor);
	*n = sizeof s_table / sizeof *s_table;
	return s_table;
}
