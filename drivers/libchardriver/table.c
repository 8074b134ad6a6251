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
#include "internal.h"

static const plx_handler s_table[] = {
    {.type = PLEXUS__CDEV_TYPE__CDEV_OPEN,
     .name = "cdev_open",
     .fn = cdr_do_open,
     .body = &plexus__cdev_open__descriptor,
     .flags = PLX_IN_LOOP,
     .allowed = NULL},
    {.type = PLEXUS__CDEV_TYPE__CDEV_CLOSE,
     .name = "cdev_close",
     .fn = cdr_do_close,
     .body = &plexus__cdev_minor__descriptor,
     .flags = PLX_IN_LOOP,
     .allowed = NULL},
    {.type = PLEXUS__CDEV_TYPE__CDEV_READ,
     .name = "cdev_read",
     .fn = cdr_do_read,
     .body = &plexus__cdev_io__descriptor,
     .flags = PLX_IN_LOOP,
     .allowed = NULL},
    {.type = PLEXUS__CDEV_TYPE__CDEV_WRITE,
     .name = "cdev_write",
     .fn = cdr_do_write,
     .body = &plexus__cdev_io__descriptor,
     .flags = PLX_IN_LOOP,
     .allowed = NULL},
    {.type = PLEXUS__CDEV_TYPE__CDEV_IOCTL,
     .name = "cdev_ioctl",
     .fn = cdr_do_ioctl,
     .body = &plexus__cdev_ioctl__descriptor,
     .flags = PLX_IN_LOOP,
     .allowed = NULL},
    {.type = PLEXUS__CDEV_TYPE__CDEV_SELECT,
     .name = "cdev_select",
     .fn = cdr_do_select,
     .body = &plexus__cdev_select__descriptor,
     .flags = PLX_IN_LOOP,
     .allowed = NULL},
    {.type = PLEXUS__CDEV_TYPE__CDEV_CANCEL,
     .name = "cdev_cancel",
     .fn = cdr_do_cancel,
     .body = &plexus__cdev_cancel__descriptor,
     .flags = PLX_IN_LOOP,
     .allowed = NULL},
};

const plx_handler *plx_chardriver_handlers(size_t *n)
{
	plx_register_types(&plexus__cdev_type__descriptor);
	*n = sizeof s_table / sizeof *s_table;
	return s_table;
}
