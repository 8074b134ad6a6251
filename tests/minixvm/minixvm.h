/*
 * minixvm.h — Linux's own minix driver as a second opinion on an image: boots Debian's kernel
 * under QEMU with a busybox initramfs that loads virtio_blk and minix.ko, mounts the image
 * (attached read-only as /dev/vda) and lists every file's SHA-256 sum and size and every
 * directory (docs/testing.md "Linux reads the image").
 *
 * Entry points: minixvm_list, minixvm_find.
 */
#ifndef PLEXUS_MINIXVM_H
#define PLEXUS_MINIXVM_H

#include <stddef.h>
#include <stdint.h>

/* Boots a VM over image (work files in dir) and returns what Linux read, one line each:
 *   F <sha256> <size> ./path     a regular file
 *   D ./path                     a directory
 * sorted by path, in a new string (*listing, caller frees). Returns 0, or a negative errno
 * with err set (no kernel or module, QEMU failing, the mount refused: err quotes the
 * kernel's message, or no answer within timeout_ms). */
int minixvm_list(const char *image, const char *dir, int timeout_ms, char **listing, char *err,
                 size_t size);

/* The line of listing for path ("./a/b"): a pointer into listing, or NULL. */
const char *minixvm_find(const char *listing, const char *kind, const char *path);

#endif
