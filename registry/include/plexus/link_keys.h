/*
 * link_keys.h — the cluster's keys on disk, and securing a process's endpoint from them
 * (docs/security.md "Keys on one machine").
 *
 * Entry points: plx_link_keys_make, plx_link_secure.
 *
 * A keys directory holds the cluster's trust root: root.pub (its Ed25519 public key, hex,
 * mode 0644) and root.key (its secret key, hex, mode 0600). PLEXUS_KEYS names the directory;
 * a process whose environment has it secures its endpoint: it trusts root.pub, makes a fresh
 * CURVE key pair and signs its own certificate with root.key. So every process of the user
 * who can read root.key speaks on secured links, and nobody else is answered.
 */
#ifndef PLEXUS_LINK_KEYS_H
#define PLEXUS_LINK_KEYS_H

#include <stddef.h>

#include <plexus/transport.h>

/* Makes dir (mode 0700) with a new trust root unless it has one already. Returns 0 or a
 * negative errno with err set. */
int plx_link_keys_make(const char *dir, char *err, size_t size);

/* Secures ep's links when PLEXUS_KEYS is set (its context trusts the root; ep gets keys and
 * a certificate for its name); nothing otherwise. Before plx_ep_bind and before ep sends.
 * Returns 0 or a negative errno with err set (-EACCES: root.key cannot be read by this user). */
int plx_link_secure(plx_ctx *ctx, plx_ep *ep, char *err, size_t size);

#endif
