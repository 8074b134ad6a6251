/*
 * ramdev.h — a RAM disk in place of plexus-mfs's block device (fs-servers/mfs/driver.c): the
 * dev_* functions of mfs.h over bytes held in this process, answering as a block driver of
 * the memory driver's kind would (docs/protocol.md "Block devices").
 *
 * Entry points: ramdev_attach, ramdev_fail_writes_after; and mfs.h's dev_init, dev_fini,
 * dev_open, dev_close, dev_read, dev_write, dev_flush, dev_new_driver.
 *
 * The disk is driver "ram", minor 0, with 512-byte sectors. A transfer the real driver would
 * refuse (empty or over PLX_BDEV_MAX_IO) is answered -EINVAL, and one past the end is short
 * (-EIO), as driver.c turns a short count into. A transfer that is not sector-aligned is a bug
 * of the file server (every position it computes is a multiple of its block size), and
 * aborts, so that a fuzzer reports it. One RAM disk at a time.
 */
#ifndef PLEXUS_FUZZ_RAMDEV_H
#define PLEXUS_FUZZ_RAMDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RAMDEV_LABEL  "ram"
#define RAMDEV_SECTOR 512

/* Serves size bytes at bytes (the caller's; written in place; size is rounded down to whole
 * sectors) from now on, read-only when read_only. NULL detaches: opens fail with -ENXIO. */
void ramdev_attach(uint8_t *bytes, size_t size, bool read_only);
/* After n more writes every write fails with -EIO, as a driver that died for good (0: writes
 * never fail). Counts from the call. */
void ramdev_fail_writes_after(unsigned n);

#endif
