/*
 * table.c — the CDEV handlers a character driver's server dispatches to.
 *
 * Entry points: plx_chardriver_handlers.
 *
 * The server library has unpacked each body with the descriptor named here (or answered
 * -EBADMSG) before any handler runs. CDEV_SEL2_REPLY is not here: a driver sends it, never
 * receives it (a driver that does gets -ENOSYS from the server library). Every handler runs in
 * the loop thread (PLX_IN_LOOP) and takes the server's callers (allowed NULL).
 */
#include <plexus/family.h>

#include "internal.h"

static const plx_handler s_table[] = {
    PLX_LOOP(PLEXUS__CDEV_TYPE__CDEV_OPEN, "cdev_open", cdr_do_open, &plexus__cdev_open__descriptor,
             NULL),
    PLX_LOOP(PLEXUS__CDEV_TYPE__CDEV_CLOSE, "cdev_close", cdr_do_close,
             &plexus__cdev_minor__descriptor, NULL),
    PLX_LOOP(PLEXUS__CDEV_TYPE__CDEV_READ, "cdev_read", cdr_do_read, &plexus__cdev_io__descriptor,
             NULL),
    PLX_LOOP(PLEXUS__CDEV_TYPE__CDEV_WRITE, "cdev_write", cdr_do_write,
             &plexus__cdev_io__descriptor, NULL),
    PLX_LOOP(PLEXUS__CDEV_TYPE__CDEV_IOCTL, "cdev_ioctl", cdr_do_ioctl,
             &plexus__cdev_ioctl__descriptor, NULL),
    PLX_LOOP(PLEXUS__CDEV_TYPE__CDEV_SELECT, "cdev_select", cdr_do_select,
             &plexus__cdev_select__descriptor, NULL),
    PLX_LOOP(PLEXUS__CDEV_TYPE__CDEV_CANCEL, "cdev_cancel", cdr_do_cancel,
             &plexus__cdev_cancel__descriptor, NULL),
};

const plx_handler *plx_chardriver_handlers(size_t *n)
{
	plx_register_family(&plx_family_cdev);
	*n = sizeof s_table / sizeof *s_table;
	return s_table;
}
