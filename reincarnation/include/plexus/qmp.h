/*
 * qmp.h — plexus-qmp: QEMU's machine protocol over its unix socket (-qmp unix:PATH,...), for
 * RS's qemu power backend and `plexus up --qemu`.
 *
 * Entry points: plx_qmp_reset, plx_qmp_powerdown.
 *
 * Each call opens its own connection, does its steps within timeout_ms in all, and closes it.
 * It returns 0 or a negative errno and writes what it did, or the step that failed, to msg.
 */
#ifndef PLEXUS_QMP_H
#define PLEXUS_QMP_H

#include <stdbool.h>
#include <stddef.h>

/* A power cycle: system_reset, then cont for a VM that was paused or stopped (-S), so the
 * machine boots again. */
int plx_qmp_reset(const char *path, int timeout_ms, char *msg, size_t size);

/* The ACPI power button (system_powerdown): the guest shuts down in its own order and QEMU
 * ends when it powers off. Returns once QEMU took the command, not when the guest is off;
 * -EAGAIN for a VM that is not running (paused, or powered off with -S). */
int plx_qmp_powerdown(const char *path, int timeout_ms, char *msg, size_t size);

#endif
