/*
 * plexus/keybundle.h — the keys a netbooted node fetches at boot (docs/security.md "Keys on a
 * rack"): a few small files in one text, written by `plexus pxe` for each node and unpacked by
 * plexus-init into the node's keys directory.
 *
 * Entry points: plx_keybundle_add, plx_keybundle_unpack.
 *
 * The text is the line "plexus-keys-1", then for each file one line "NAME MODE LENGTH" (MODE
 * in octal, 600 or 644) and LENGTH bytes of content. Names are 1-32 characters of a-z, 0-9,
 * '.', '_' and '-', not starting with '.'; at most PLX_KEYBUNDLE_FILES files of at most
 * PLX_KEYBUNDLE_FILE_MAX bytes each.
 */
#ifndef PLEXUS_KEYBUNDLE_H
#define PLEXUS_KEYBUNDLE_H

#include <stddef.h>
#include <sys/types.h>

#define PLX_KEYBUNDLE_FILES    16
#define PLX_KEYBUNDLE_FILE_MAX 16384
#define PLX_KEYBUNDLE_MAX      (PLX_KEYBUNDLE_FILES * (PLX_KEYBUNDLE_FILE_MAX + 64) + 32)

/* Appends file name (mode 0600 or 0644, n bytes of data) to the bundle in buf (*len bytes
 * so far; 0 starts a new bundle). Returns 0, -EINVAL (a bad name, mode or size) or -ENOSPC. */
int plx_keybundle_add(char *buf, size_t cap, size_t *len, const char *name, mode_t mode,
                      const void *data, size_t n);

/* Checks the whole bundle (n bytes of text), then writes each file into dir (which must
 * exist) with its mode, replacing one of that name. Returns the number of files, or -EBADMSG
 * with err naming what is wrong (nothing written), or -errno with err set. */
int plx_keybundle_unpack(const char *text, size_t n, const char *dir, char *err, size_t size);

#endif
