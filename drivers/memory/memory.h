/*
 * memory.h — plexus-memory: what its files share.
 *
 * Block devices (ramdisk.c): RAM disks, one per minor, each a memfd mapped shared, so a disk
 * costs no memory until written (untouched pages read as zeros); the memfd is kept in the node
 * kernel's descriptor store, so the disk outlives a crash of the driver and the next instance
 * RS starts serves the same bytes.
 */
#ifndef PLEXUS_MEMORY_H
#define PLEXUS_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#include <plexus/blockdriver.h>

#define RAMDISK_SECTOR 512
#define RAMDISK_MAX    (1ull << 40) /* 1 TiB per disk */

typedef struct ramdisks ramdisks;

/* Returns an empty set of RAM disks, or NULL (ENOMEM). */
ramdisks *ramdisks_new(void);
/* Unmaps every disk, frees the set, sets *self_p to NULL. Accepts NULL. */
void ramdisks_destroy(ramdisks **self_p);
/* Adds the disk a "MINOR:SIZE[:IMAGE]" option describes (SIZE in bytes with an optional K, M,
 * G or T suffix, a multiple of 512, at most 1T; IMAGE a file a new disk is loaded from, as
 * MINIX's boot image fills its RAM disk). Returns 0, -EINVAL (bad text, err says why),
 * -EEXIST (minor given twice) or -ENOMEM. */
int ramdisks_add(ramdisks *self, const char *spec, char *err, size_t size);
/* Maps every disk: the memory a previous instance kept under "ramdisk.MINOR" when it has the
 * size asked for, else a new memfd (loaded from its image, if any), kept in turn for the next
 * instance. Returns 0, or a negative errno with err set (a disk that could not be made or
 * loaded). */
int ramdisks_map(ramdisks *self, char *err, size_t size);
/* The number of disks. */
int ramdisks_count(const ramdisks *self);
/* The block callbacks; their arg is the ramdisks set. */
extern const plx_blockdriver_ops ramdisk_ops;

#endif
