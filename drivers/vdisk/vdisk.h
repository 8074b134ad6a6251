/*
 * vdisk.h — plexus-vdisk: a block driver over a disk image file or a real block device.
 */
#ifndef PLEXUS_VDISK_H
#define PLEXUS_VDISK_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include <plexus/blockdriver.h>

#define VDISK_ALIGN 4096 /* bounce buffers for O_DIRECT */

typedef struct vdisk {
	/* settings */
	char path[PATH_MAX];
	bool direct;
	bool read_only;
	uint32_t sector_size; /* 0: 512, or 4096 with direct */
	/* state */
	int fd;
	uint64_t size;
	uint8_t *bounce; /* PLX_BDEV_MAX_IO bytes aligned to VDISK_ALIGN, made on first use */
} vdisk;

/* Opens self->path as the settings say and finds its size (a block device's through
 * BLKGETSIZE64), cut down to a multiple of the sector size. Returns 0 or a negative errno. */
int vdisk_open(vdisk *self);
/* The block callbacks; their arg is the vdisk. Minor 0 is the whole image. cleanup closes. */
extern const plx_blockdriver_ops vdisk_ops;

#endif
