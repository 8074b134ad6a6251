/*
 * link_security.h — authenticated, encrypted links (docs/security.md): ZeroMQ's CURVE with a
 * ZAP handler, and certificates that bind a CURVE key to the endpoint name it was issued for.
 *
 * Entry points: plx_link_keys_new, plx_trust_new, plx_cert_issue, plx_cert_issue_user,
 * plx_cert_check, plx_cert_check_user, plx_ctx_trust, plx_ep_set_keys, plx_ep_refused,
 * plx_ep_cert, plx_route_set_certified, plx_msg_vouched.
 *
 * The cluster's trust root is an Ed25519 key pair (libsodium). Whoever holds its secret half
 * issues certificates: "plx1 LABEL GENERATION CURVE_PUBLIC_KEY SIGNATURE", one line of text
 * (the key in Z85, the signature in hex), generation 0 standing for every generation of the
 * label. A user certificate ("plxu LABEL GENERATION KEY UID GID GROUPS SIGNATURE", GROUPS a
 * comma list or "-") also carries the credentials of the local process it was issued to: a
 * node kernel issues them to the processes it sees (SO_PEERCRED), and a receiver takes a
 * user's uid and groups from it (plx_msg_vouched), never from the message. A context that trusts a
 * root (plx_ctx_trust) secures every endpoint given keys (plx_ep_set_keys): its ROUTER is a CURVE
 * server, its published address carries its public key ("curve:KEY@tcp://..."), its DEALERs are
 * CURVE clients that send its certificate in the handshake's metadata. Each message that reaches a
 * secured ROUTER must come over a CURVE link whose key has a certificate from the trusted root
 * naming the message's declared source; any other message is dropped without an answer, counted
 * (plx_ep_refused) and logged once per key. Peers inside the process (inproc://) are not checked. A
 * context that trusts no root does not connect to a secured address (-EACCES at once, not a silent
 * wait).
 */
#ifndef PLEXUS_LINK_SECURITY_H
#define PLEXUS_LINK_SECURITY_H

#include <stddef.h>
#include <stdint.h>

#include <plexus/transport.h>

#define PLX_KEY_TEXT     41   /* a CURVE key in Z85 and its NUL */
#define PLX_CERT_MAX     1024 /* a certificate's text and its NUL */
#define PLX_CRED_GROUPS  32   /* supplementary groups a user certificate carries */
#define PLX_TRUST_PUBLIC 32   /* bytes of a trust root's public key */
#define PLX_TRUST_SECRET 64   /* bytes of its secret key */

typedef struct plx_link_keys {
	char public_key[PLX_KEY_TEXT];
	char secret_key[PLX_KEY_TEXT];
} plx_link_keys;

/* The credentials a user certificate vouches for. */
typedef struct plx_cred {
	uint32_t uid, gid;
	uint32_t ngroups;
	uint32_t groups[PLX_CRED_GROUPS];
} plx_cred;

/* A new CURVE key pair. Returns 0 or -ENOTSUP (ZeroMQ built without CURVE). */
int plx_link_keys_new(plx_link_keys *out);

/* A new trust root. Returns 0 or -EIO. */
int plx_trust_new(uint8_t public_key[PLX_TRUST_PUBLIC], uint8_t secret_key[PLX_TRUST_SECRET]);

/* Writes the certificate of who (generation 0: every generation) for the CURVE public key,
 * signed with the root's secret key, into cert (size bytes). Returns 0, -EINVAL (bad label
 * or key) or -ENOSPC. */
int plx_cert_issue(const uint8_t secret_key[PLX_TRUST_SECRET], const plx_name *who,
                   const char *public_key, char *cert, size_t size);

/* The same for a user certificate carrying cred (at most PLX_CRED_GROUPS groups). */
int plx_cert_issue_user(const uint8_t secret_key[PLX_TRUST_SECRET], const plx_name *who,
                        const char *public_key, const plx_cred *cred, char *cert, size_t size);

/* Checks cert (of either kind) against the root's public key; fills *who and public_key
 * (either may be NULL). Returns 0, -EBADMSG (not a certificate) or -EACCES (not signed by this
 * root). */
int plx_cert_check(const uint8_t public_key[PLX_TRUST_PUBLIC], const char *cert, plx_name *who,
                   char public_key_out[PLX_KEY_TEXT]);

/* As plx_cert_check, and fills *cred (may be NULL) from a user certificate. Returns 1 for a
 * user certificate, 0 for a service's, or the errors above. */
int plx_cert_check_user(const uint8_t public_key[PLX_TRUST_PUBLIC], const char *cert, plx_name *who,
                        char public_key_out[PLX_KEY_TEXT], plx_cred *cred);

/* Secures self's links from now on (endpoints given keys afterwards, connections made
 * afterwards) with this trust root, and starts the ZAP handler. Call once, before any
 * endpoint binds. Returns 0, -EALREADY or -errno. */
int plx_ctx_trust(plx_ctx *self, const uint8_t public_key[PLX_TRUST_PUBLIC]);

/* Gives self its CURVE key pair and its certificate (which must name self and the public
 * key). Before plx_ep_bind and before self sends. Returns 0, -EINVAL (a certificate for
 * another name or key), -EACCES (not from the context's root), -EPERM (the context trusts no
 * root) or -EALREADY (bound already). */
int plx_ep_set_keys(plx_ep *self, const plx_link_keys *keys, const char *cert);

/* Messages self's ROUTER dropped because their link did not prove their declared source. */
uint64_t plx_ep_refused(const plx_ep *self);

/* The certificate self was given (plx_ep_set_keys), or "" when it has none. Owned by self. */
const char *plx_ep_cert(const plx_ep *self);

/* plx_route_set for an address learned from someone else (the registry): on a context that
 * trusts a root, an address carrying a key is taken only with a certificate from that root
 * for label (that generation, or every one) and that very key, so whoever can write the
 * registry cannot send a secured client to a key of their own. Addresses without a key, and
 * every address on a plain context, are set as given. Returns plx_route_set's answers, or
 * -EACCES (no certificate, another root's, another label's, generation's or key's). */
int plx_route_set_certified(plx_ctx *self, const char *label, uint64_t generation,
                            const char *address, const char *cert);

/* The credentials the sender's user certificate vouched for, or NULL when a service's
 * certificate proved it, or its link is not secured (then its claims are all there is). */
const plx_cred *plx_msg_vouched(const plx_msg *msg);

#endif
