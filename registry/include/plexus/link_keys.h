/*
 * link_keys.h — the cluster's keys on disk, and securing a process's endpoint from them
 * (docs/security.md "Keys on one machine").
 *
 * Entry points: plx_link_keys_make, plx_etcd_passwords_write, plx_link_secure, plx_link_issuer,
 * plx_link_issue, plx_link_handover, plx_link_handover_etcd, plx_link_etcd_password,
 * plx_link_fetch, plx_vouch_path, plx_vouch_node, plx_voucher_start, plx_voucher_stop,
 * plx_link_secure_vouched, plx_vouch_etcd, plx_link_operator_issue, plx_link_operator.
 *
 * A keys directory holds the cluster's trust root: root.pub (its Ed25519 public key, hex,
 * mode 0644) and root.key (its secret key, hex, mode 0600). PLEXUS_KEYS names the directory;
 * a process whose environment has it secures its endpoint: it trusts root.pub, makes a fresh
 * CURVE key pair and signs its own certificate with root.key. So every process of the user
 * who can read root.key speaks on secured links. A service RS starts needs no root.key: RS
 * issues a key pair and a certificate for its label and generation with each NODE_START, and
 * the node kernel hands them to the new process on its standard input (PLEXUS_LINK=stdin),
 * which plx_link_secure reads and replaces with /dev/null. A netbooted node kernel, which holds
 * no root.key either, makes its key pair at boot and gets a certificate for node.NAME from the
 * PXE server (plx_link_fetch); they stay in a file of mode 0600 that PLEXUS_LINK names.
 * An operator's commands need no root.key either: `plexus keys operator` issues a key pair and
 * a certificate for plexus-op-NAME (every generation) into a file of mode 0600 that
 * PLEXUS_OPERATOR names; a command's endpoint named so takes its keys from there.
 * Other users' processes are vouched for
 * by a node kernel of their machine (vouch.c): it hands them user certificates that carry the uid,
 * gid and groups the kernel reports for them (SO_PEERCRED), for client labels only.
 */
#ifndef PLEXUS_LINK_KEYS_H
#define PLEXUS_LINK_KEYS_H

#include <stddef.h>

#include <plexus/link_security.h>
#include <plexus/transport.h>

/* Makes dir (mode 0755: root.pub and the node kernels' sockets are for every user) with a new trust
 * root unless it has one already. Returns 0 or a negative errno with err set. */
int plx_link_keys_make(const char *dir, char *err, size_t size);

/* Writes dir/etcd.password (mode 0600) and dir/etcd.client (0644): the passwords of etcd's
 * users root and plexus-client on a rack, derived from dir/root.key (plx_link_etcd_password),
 * replacing what was there. RS, logged in as root with the first, turns etcd's
 * authentication on; the PXE server hands role = etcd nodes the same (docs/security.md
 * "Keys on a rack"). Returns 0 or a negative errno with err set. */
int plx_etcd_passwords_write(const char *dir, char *err, size_t size);

/* Secures ep's links when PLEXUS_KEYS is set (its context trusts the root; ep gets keys and
 * a certificate for its name); nothing otherwise. Before plx_ep_bind and before ep sends. The
 * keys come from PLEXUS_LINK when it is set ("stdin": the node kernel's pipe; an absolute
 * path: a file of this user, mode 0600, with keys issued once), else ep signs its own with
 * root.key. Returns 0 or a negative errno with err set (-EACCES: root.key cannot be read by
 * this user; -EPERM: PLEXUS_LINK's file is another user's or readable by others). */
int plx_link_secure(plx_ctx *ctx, plx_ep *ep, char *err, size_t size);
/* The trust root's secret key from DIR/root.key (dir NULL: $PLEXUS_KEYS), for a process that
 * issues certificates to others (RS, `plexus pxe`). Returns 0, -ENOENT (no directory) or
 * -errno. */
int plx_link_issuer(const char *dir, uint8_t secret_key[PLX_TRUST_SECRET]);
/* A new key pair for who and its certificate signed with secret_key. Returns 0 or -errno. */
int plx_link_issue(const uint8_t secret_key[PLX_TRUST_SECRET], const plx_name *who,
                   plx_link_keys *keys, char *cert, size_t size);
/* The text a node kernel writes on a new instance's standard input (PLEXUS_LINK=stdin): the
 * keys and the certificate issued for it. Returns its length, or -ENOSPC. */
int plx_link_handover(const plx_link_keys *keys, const char *cert, char *out, size_t size);

#define PLX_HANDOVER_USER_MAX 72 /* an etcd user's name handed over, with its NUL */
#define PLX_ETCD_PASSWORD_MAX 33 /* 16 bytes in hex, with the NUL */

/* Adds to a handover made by plx_link_handover (out, size) the etcd user and password RS made
 * for the instance: the instance's etcd client logs in as that user (plx_etcd_new). Returns
 * the text's new length, -EINVAL (an empty name or password, or one with blanks, or too long)
 * or -ENOSPC. */
int plx_link_handover_etcd(char *out, size_t size, const char *user, const char *password);
/* The etcd password of user name, derived from the trust root's secret key (BLAKE2b keyed with
 * it): whoever holds the root makes the same one again. out gets PLX_ETCD_PASSWORD_MAX bytes
 * of hex and its NUL. Returns 0 or -ENOSPC. */
int plx_link_etcd_password(const uint8_t secret_key[PLX_TRUST_SECRET], const char *name, char *out,
                           size_t size);

/* text sealed to the CURVE public_key (Z85; libsodium's crypto_box_seal: only the holder of
 * its secret key opens it), in hex into out. How the PXE server hands a node its etcd
 * password over plain HTTP. Returns 0, -EINVAL (not a key, text over 128 bytes) or -ENOSPC. */
int plx_link_seal(const char *public_key, const char *text, char *out, size_t size);
/* Opens what plx_link_seal sealed to keys' public key into out (NUL-terminated). Returns 0 or
 * -EBADMSG (not hex, not sealed to this key, or longer than size - 1). */
int plx_link_unseal(const plx_link_keys *keys, const char *hex, char *out, size_t size);

/* A netbooted node's keys (link_fetch.c): makes a CURVE key pair, sends its public half to url
 * (the PXE server's /cgi-bin/keys, GET url?HEX), checks the certificate that comes back (the
 * answer's root, label, every generation, this key), and writes DIR/root.pub and
 * DIR/LABEL.link (mode 0600, for PLEXUS_LINK). No secret crosses the network. Returns 0,
 * -EACCES (the server refused this address), -EHOSTUNREACH (no answer), -EBADMSG (a bad
 * answer) or -errno, with err set. */
int plx_link_fetch(const char *url, const char *label, const char *dir, char *err, size_t size);

/* DIR/vouch-NODE.sock, where the node kernel of NODE vouches for its machine's processes.
 * Returns 0 or -ENAMETOOLONG (no Unix socket takes so long a path). */
int plx_vouch_path(const char *dir, const char *node, char *out, size_t size);

/* The node of a voucher socket in $PLEXUS_KEYS (for a process not told its node). Returns 0
 * or -ENOENT. */
int plx_vouch_node(char *node, size_t size);

typedef struct plx_voucher plx_voucher;

/* Starts vouching for this machine's processes as node of cluster: a thread answering on
 * plx_vouch_path's socket (mode 0666) with user certificates signed by $PLEXUS_KEYS/root.key,
 * and with an etcd user per local user (made through etcd, the members' URLs, as root) when
 * etcd wants users. *out stays NULL (and 0 is returned) when PLEXUS_KEYS is not set. Returns 0
 * or a negative errno with err set. */
int plx_voucher_start(const char *node, const char *cluster, const char *etcd, plx_voucher **out,
                      char *err, size_t size);
/* Stops it and removes its socket. Accepts NULL and *self NULL. */
void plx_voucher_stop(plx_voucher **self);

/* The etcd user node's node kernel made for this process's user (u-NODE-UID, writing only
 * ep/c-NODE-UID-* and gen/c-NODE-UID-*) and its password; both "" when PLEXUS_KEYS is not set
 * or etcd takes everyone. Returns 0 or a negative errno with err set (-EACCES: refused). */
int plx_vouch_etcd(const char *node, char *user, size_t user_size, char *password,
                   size_t password_size, char *err, size_t size);

/* Secures ep (a client label c-NODE-UID-PID-N) with a user certificate from node's node kernel,
 * for a process that cannot read root.key. Nothing when PLEXUS_KEYS is not set. Returns 0 or
 * a negative errno with err set (-EACCES: the node kernel refused; -ENOENT, -ECONNREFUSED: no
 * node kernel vouches there). */
int plx_link_secure_vouched(plx_ctx *ctx, plx_ep *ep, const char *node, char *err, size_t size);

/* Issues operator name (1-32 of a-z 0-9 _ -) a key pair and a certificate for plexus-op-NAME,
 * every generation, signed with DIR/root.key, into path (made, mode 0600; an existing file is
 * not replaced). Returns 0 or a negative errno with err set. */
int plx_link_operator_issue(const char *dir, const char *name, const char *path, char *err,
                            size_t size);
/* The label of the operator certificate PLEXUS_OPERATOR names, into label: 1, or 0 when it is
 * not set, -EPERM (not a 0600 file of this user), -EBADMSG (not an operator's) or -errno. A
 * command makes its endpoint with that label, and plx_link_secure then takes its keys from the
 * file. */
int plx_link_operator(char *label, size_t size);

#endif
