/*
 * table.c — the BDEV handlers a block driver's server dispatches to.
 *
 * Entry points: plx_blockdriver_handlers.
 *
 * READ, WRITE, GATHER and SCATTER share one handler (io.c) and one body, BdevIo; the server
 * library has unpacked it (or answered -EBADMSG) before any handler runs. Every handler runs in
 * the loop thread (PLX_IN_LOOP) and takes the server's callers (allowed NULL).
 */
#include <plexus/family.h>

#include "internal.h"

static const plx_handler s_table[] = {
    PLX_LOOP(PLEXUS__BDEV_TYPE__BDEV_OPEN, "bdev_open", bdr_do_open, &plexus__bdev_open__descriptor,
             NULL),
    PLX_LOOP(PLEXUS__BDEV_TYPE__BDEV_CLOSE, "bdev_close", bdr_do_close,
             &plexus__bdev_minor__descriptor, NULL),
    PLX_LOOP(PLEXUS__BDEV_TYPE__BDEV_READ, "bdev_read", bdr_do_transfer,
             &plexus__bdev_io__descriptor, NULL),
    PLX_LOOP(PLEXUS__BDEV_TYPE__BDEV_WRITE, "bdev_write", bdr_do_transfer,
             &plexus__bdev_io__descriptor, NULL),
    PLX_LOOP(PLEXUS__BDEV_TYPE__BDEV_GATHER, "bdev_gather", bdr_do_transfer,
             &plexus__bdev_io__descriptor, NULL),
    PLX_LOOP(PLEXUS__BDEV_TYPE__BDEV_SCATTER, "bdev_scatter", bdr_do_transfer,
             &plexus__bdev_io__descriptor, NULL),
    PLX_LOOP(PLEXUS__BDEV_TYPE__BDEV_IOCTL, "bdev_ioctl", bdr_do_ioctl,
             &plexus__bdev_ioctl__descriptor, NULL),
    PLX_LOOP(PLEXUS__BDEV_TYPE__BDEV_FLUSH, "bdev_flush", bdr_do_flush,
             &plexus__bdev_minor__descriptor, NULL),
};

const plx_handler *plx_blockdriver_handlers(size_t *n)
{
	plx_register_family(&plx_family_bdev);
	*n = sizeof s_table / sizeof *s_table;
	return s_table;
}
