/*
 * chardevs.h — plexus-memory's character devices (chardevs.c): null, zero, full and random, on
 * the character minors MEMDEV_NULL, MEMDEV_ZERO, MEMDEV_FULL and MEMDEV_RANDOM (MINIX's
 * numbers for null and zero).
 */
#ifndef PLEXUS_MEMORY_CHARDEVS_H
#define PLEXUS_MEMORY_CHARDEVS_H

#include <plexus/chardriver.h>

#define MEMDEV_NULL   3 /* reads: end of file; writes: all taken, kept nowhere */
#define MEMDEV_ZERO   5 /* reads: zeros; writes: all taken */
#define MEMDEV_FULL   7 /* reads: zeros; writes: -ENOSPC */
#define MEMDEV_RANDOM 8 /* reads: random bytes (getrandom); writes: all taken, ignored */

/* The character callbacks; they need no arg. */
extern const plx_chardriver_ops memdev_ops;

#endif
