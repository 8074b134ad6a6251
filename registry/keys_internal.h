/*
 * keys_internal.h — what link_keys.c and vouch.c share: the trust root on disk.
 *
 * Entry points: reg_read_hex, reg_trust_root (link_keys.c).
 */
#ifndef PLEXUS_KEYS_INTERNAL_H
#define PLEXUS_KEYS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <plexus/transport.h>

/* Reads n bytes written as hex (one line) from path. Returns 0, -errno or -EBADMSG. */
int reg_read_hex(const char *path, uint8_t *bytes, size_t n);
/* Makes ctx trust the cluster's root, dir/root.pub. Returns 0 or a negative errno with err
 * saying which file and why. */
int reg_trust_root(plx_ctx *ctx, const char *dir, char *err, size_t size);

#endif
