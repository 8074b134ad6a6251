/*
 * link_security.h — authenticated, encrypted links (docs/security.md): ZeroMQ's CURVE with a
 * ZAP handler, and certificates that bind a CURVE key to the endpoint name it was issued for.
 *
 * Entry points: plx_link_keys_new, plx_trust_new, plx_cert_issue, plx_cert_check,
 * plx_ctx_trust, plx_ep_set_keys, plx_ep_refused.
 *
 * The cluster's trust root is an Ed25519 key pair (libsodium). Whoever holds its secret half
 * issues certificates: "plx1 LABEL GENERATION CURVE_PUBLIC_KEY SIGNATURE", one line of text
 * (the key in Z85, the signature in hex), generation 0 standing for every generation of the
 * label. A context that trusts a root (plx_ctx_trust) secures every endpoint given keys
 * (plx_ep_set_keys): its ROUTER is a CURVE server, its published address carries its public
 * key ("curve:KEY@tcp://..."), its DEALERs are CURVE clients that send its certificate in the
 * handshake's metadata. Each message that reaches a secured ROUTER must come over a CURVE
 * link whose key has a certificate from the trusted root naming the message's declared
 * source; any other message is dropped without an answer, counted (plx_ep_refused) and
 * logged once per key. Peers inside the process (inproc://) are not checked. A context that
 * trusts no root does not connect to a secured address (-EACCES at once, not a silent wait).
 */
#ifndef PLEXUS_LINK_SECURITY_H
#define PLEXUS_LINK_SECURITY_H

#include <stddef.h>
#include <stdint.h>

#include <plexus/transport.h>

#define PLX_KEY_TEXT     41  /* a CURVE key in Z85 and its NUL */
#define PLX_CERT_MAX     256 /* a certificate's text and its NUL */
#define PLX_TRUST_PUBLIC 32  /* bytes of a trust root's public key */
#define PLX_TRUST_SECRET 64  /* bytes of its secret key */

typedef struct plx_link_keys {
	char public_key[PLX_KEY_TEXT];
	char secret_key[PLX_KEY_TEXT];
} plx_link_keys;

/* A new CURVE key pair. Returns 0 or -ENOTSUP (ZeroMQ built without CURVE). */
int plx_link_keys_new(plx_link_keys *out);

/* A new trust root. Returns 0 or -EIO. */
int plx_trust_new(uint8_t public_key[PLX_TRUST_PUBLIC], uint8_t secret_key[PLX_TRUST_SECRET]);

/* Writes the certificate of who (generation 0: every generation) for the CURVE public key,
 * signed with the root's secret key, into cert (size bytes). Returns 0, -EINVAL (bad label
 * or key) or -ENOSPC. */
int plx_cert_issue(const uint8_t secret_key[PLX_TRUST_SECRET], const plx_name *who,
                   const char *public_key, char *cert, size_t size);

/* Checks cert against the root's public key; fills *who and public_key (either may be NULL).
 * Returns 0, -EBADMSG (not a certificate) or -EACCES (not signed by this root). */
int plx_cert_check(const uint8_t public_key[PLX_TRUST_PUBLIC], const char *cert, plx_name *who,
                   char public_key_out[PLX_KEY_TEXT]);

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

#endif
