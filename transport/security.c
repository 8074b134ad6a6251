/*
 * security.c — CURVE links, the ZAP handler and certificates (plexus/link_security.h).
 *
 * Entry points: plx_link_keys_new, plx_trust_new, plx_cert_issue, plx_cert_issue_user,
 * plx_cert_check, plx_cert_check_user, plx_ep_set_keys, plx_ep_refused, plx_ep_cert,
 * plx_msg_vouched, plx__trust_start (plx_ctx_trust's start, context.c), plx__cert_names,
 * plx__secure_router, plx__secure_dealer, plx__vouched_key, plx__vouched_name, plx__secure_free.
 *
 * The ZAP handler (RFC 27) runs on a thread of the context: it admits every CURVE client
 * (the handshake already proved it holds the secret half of its key) and names it by its
 * public key in Z85, which ZeroMQ then gives each of its messages as "User-Id"; it refuses
 * every NULL or PLAIN peer, so an endpoint of a secured context talks to CURVE peers only.
 * Whether the key may speak for the message's source is decided per message by the receiver
 * (plx__vouched_key, plx__vouched_name): the certificate the peer sent as handshake metadata
 * ("X-Plexus-Cert") must be from the trusted root and name that key and that source.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "internal.h"
#include "plexus/link_security.h"

#define S_ZAP_ADDRESS "inproc://zeromq.zap.01"

/* Application metadata sent in the handshake (X- properties, read with zmq_msg_gets): part of
 * libzmq 4.3's draft API, so its header hides the name, but Debian's library is built with
 * it; a library without it fails the option, and a secured connect then fails -ENOTSUP. */
#ifndef ZMQ_METADATA
#define ZMQ_METADATA 95
#endif
#define S_CERT_PREFIX "plx1"
#define S_USER_PREFIX "plxu"

int plx_link_keys_new(plx_link_keys *out)
{
	return zmq_curve_keypair(out->public_key, out->secret_key) == 0 ? 0 : -ENOTSUP;
}

int plx_trust_new(uint8_t public_key[PLX_TRUST_PUBLIC], uint8_t secret_key[PLX_TRUST_SECRET])
{
	if (sodium_init() < 0)
		return -EIO;
	return crypto_sign_keypair(public_key, secret_key) == 0 ? 0 : -EIO;
}

/* A label a certificate can carry: printable, no spaces. */
static bool s_label_ok(const char *label)
{
	size_t n = label ? strlen(label) : 0;
	if (n == 0 || n >= PLX_LABEL_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)label[i] <= ' ' || (unsigned char)label[i] >= 127)
			return false;
	return true;
}

/* cred as text: "UID GID GROUPS", GROUPS a comma list or "-". */
static int s_cred_text(const plx_cred *cred, char *out, size_t size)
{
	int n = snprintf(out, size, "%" PRIu32 " %" PRIu32 " ", cred->uid, cred->gid);
	if (cred->ngroups == 0)
		n += snprintf(out + n, size - (size_t)n, "-");
	for (uint32_t i = 0; i < cred->ngroups && (size_t)n < size; i++)
		n += snprintf(out + n, size - (size_t)n, "%s%" PRIu32, i ? "," : "",
		              cred->groups[i]);
	return n;
}

/* The bytes a certificate's signature covers (cred NULL: a service's). */
static int s_signed_text(const plx_name *who, const char *key, const plx_cred *cred, char *out,
                         size_t size)
{
	if (!cred)
		return snprintf(out, size, "plexus-certificate-1 %s %" PRIu64 " %s", who->label,
		                who->generation, key);
	char ids[PLX_CERT_MAX];
	s_cred_text(cred, ids, sizeof ids);
	return snprintf(out, size, "plexus-user-certificate-1 %s %" PRIu64 " %s %s", who->label,
	                who->generation, key, ids);
}

static int s_issue(const uint8_t secret_key[PLX_TRUST_SECRET], const plx_name *who,
                   const char *public_key, const plx_cred *cred, char *cert, size_t size)
{
	if (!who || !s_label_ok(who->label) || !plx__key_ok(public_key) ||
	    (cred && cred->ngroups > PLX_CRED_GROUPS))
		return -EINVAL;
	if (sodium_init() < 0)
		return -EIO;
	char text[PLX_CERT_MAX];
	int len = s_signed_text(who, public_key, cred, text, sizeof text);
	uint8_t sig[crypto_sign_BYTES];
	crypto_sign_detached(sig, NULL, (const uint8_t *)text, (size_t)len, secret_key);
	char hex[2 * crypto_sign_BYTES + 1];
	sodium_bin2hex(hex, sizeof hex, sig, sizeof sig);
	char ids[PLX_CERT_MAX] = "";
	if (cred)
		s_cred_text(cred, ids, sizeof ids);
	int n = snprintf(cert, size, "%s %s %" PRIu64 " %s %s%s%s",
	                 cred ? S_USER_PREFIX : S_CERT_PREFIX, who->label, who->generation,
	                 public_key, ids, cred ? " " : "", hex);
	return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
}

int plx_cert_issue(const uint8_t secret_key[PLX_TRUST_SECRET], const plx_name *who,
                   const char *public_key, char *cert, size_t size)
{
	return s_issue(secret_key, who, public_key, NULL, cert, size);
}

int plx_cert_issue_user(const uint8_t secret_key[PLX_TRUST_SECRET], const plx_name *who,
                        const char *public_key, const plx_cred *cred, char *cert, size_t size)
{
	return cred ? s_issue(secret_key, who, public_key, cred, cert, size) : -EINVAL;
}

/* A decimal number that fits 32 bits, all of text. */
static bool s_u32(const char *text, uint32_t *out)
{
	char *end = NULL;
	if (!text || !*text || *text == '-' || *text == '+')
		return false;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (*end || errno || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* Parses "UID", "GID" and "GROUPS" into *cred. */
static bool s_cred_parse(const char *uid, const char *gid, char *groups, plx_cred *cred)
{
	*cred = (plx_cred){0};
	if (!s_u32(uid, &cred->uid) || !s_u32(gid, &cred->gid) || !groups)
		return false;
	if (strcmp(groups, "-") == 0)
		return true;
	char *save = NULL;
	for (char *g = strtok_r(groups, ",", &save); g; g = strtok_r(NULL, ",", &save))
		if (cred->ngroups >= PLX_CRED_GROUPS || !s_u32(g, &cred->groups[cred->ngroups++]))
			return false;
	return cred->ngroups > 0;
}

int plx_cert_check_user(const uint8_t public_key[PLX_TRUST_PUBLIC], const char *cert, plx_name *who,
                        char public_key_out[PLX_KEY_TEXT], plx_cred *cred)
{
	char copy[PLX_CERT_MAX];
	if (!cert || strlen(cert) >= sizeof copy)
		return -EBADMSG;
	strcpy(copy, cert);
	char *f[9] = {0}, *save = NULL;
	int n = 0;
	for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save))
		if (n < 9)
			f[n++] = t;
		else
			return -EBADMSG;
	bool user = n == 8 && strcmp(f[0], S_USER_PREFIX) == 0;
	if (!user && (n != 5 || strcmp(f[0], S_CERT_PREFIX) != 0))
		return -EBADMSG;
	const char *label = f[1], *gen = f[2], *key = f[3], *hex = f[n - 1];
	char *end = NULL;
	plx_name w = {0};
	plx_cred c;
	if (!s_label_ok(label) || !plx__key_ok(key) ||
	    (user && !s_cred_parse(f[4], f[5], f[6], &c)))
		return -EBADMSG;
	if (!*gen || *gen == '-')
		return -EBADMSG;
	w.generation = strtoull(gen, &end, 10);
	uint8_t sig[crypto_sign_BYTES];
	size_t sig_len = 0;
	if (*end || sodium_hex2bin(sig, sizeof sig, hex, strlen(hex), NULL, &sig_len, NULL) != 0 ||
	    sig_len != sizeof sig)
		return -EBADMSG;
	snprintf(w.label, sizeof w.label, "%s", label);
	if (sodium_init() < 0)
		return -EIO;
	char text[PLX_CERT_MAX];
	int len = s_signed_text(&w, key, user ? &c : NULL, text, sizeof text);
	if (crypto_sign_verify_detached(sig, (const uint8_t *)text, (size_t)len, public_key) != 0)
		return -EACCES;
	if (who)
		*who = w;
	if (public_key_out)
		snprintf(public_key_out, PLX_KEY_TEXT, "%s", key);
	if (cred && user)
		*cred = c;
	return user ? 1 : 0;
}

int plx_cert_check(const uint8_t public_key[PLX_TRUST_PUBLIC], const char *cert, plx_name *who,
                   char public_key_out[PLX_KEY_TEXT])
{
	int rc = plx_cert_check_user(public_key, cert, who, public_key_out, NULL);
	return rc > 0 ? 0 : rc;
}

const plx_cred *plx_msg_vouched(const plx_msg *msg)
{
	return msg && msg->priv && msg->priv->vouched_user ? &msg->priv->vouched : NULL;
}

/* ---- the ZAP handler ---- */

static void s_send_part(void *sock, const void *data, size_t size, bool more)
{
	zmq_send(sock, data, size, more ? ZMQ_SNDMORE : 0);
}

/* Answers one ZAP request (parts: version, request id, domain, address, identity, mechanism,
 * credentials...). */
static void s_zap_answer(void *sock, zmq_msg_t *parts, int n)
{
	bool curve = n >= 7 && zmq_msg_size(&parts[5]) == 5 &&
	             memcmp(zmq_msg_data(&parts[5]), "CURVE", 5) == 0 &&
	             zmq_msg_size(&parts[6]) == 32;
	char user[PLX_KEY_TEXT] = "";
	if (curve)
		zmq_z85_encode(user, zmq_msg_data(&parts[6]), 32);
	s_send_part(sock, "1.0", 3, true);
	s_send_part(sock, n >= 2 ? zmq_msg_data(&parts[1]) : "",
	            n >= 2 ? zmq_msg_size(&parts[1]) : 0, true);
	s_send_part(sock, curve ? "200" : "400", 3, true);
	const char *why = curve ? "OK" : "Plexus links need CURVE";
	s_send_part(sock, why, strlen(why), true);
	s_send_part(sock, user, strlen(user), true);
	s_send_part(sock, "", 0, false);
}

static void *s_zap_loop(void *arg)
{
	plx_ctx *ctx = arg;
	for (;;) {
		zmq_msg_t parts[8];
		int n = 0;
		bool more = true, failed = false;
		while (more) {
			zmq_msg_t part;
			zmq_msg_init(&part);
			if (zmq_msg_recv(&part, ctx->zap_sock, 0) < 0) {
				zmq_msg_close(&part);
				failed = true;
				break;
			}
			more = zmq_msg_more(&part);
			if (n < 8)
				parts[n++] = part;
			else
				zmq_msg_close(&part);
		}
		if (!failed)
			s_zap_answer(ctx->zap_sock, parts, n);
		for (int i = 0; i < n; i++)
			zmq_msg_close(&parts[i]);
		if (failed && errno == ETERM)
			break;
	}
	zmq_close(ctx->zap_sock);
	return NULL;
}

int plx__trust_start(plx_ctx *self, const uint8_t public_key[PLX_TRUST_PUBLIC])
{
	if (self->secure)
		return -EALREADY;
	if (sodium_init() < 0)
		return -EIO;
	self->zap_sock = zmq_socket(self->zmq, ZMQ_REP);
	int linger = 0;
	if (!self->zap_sock)
		return -errno;
	zmq_setsockopt(self->zap_sock, ZMQ_LINGER, &linger, sizeof linger);
	if (zmq_bind(self->zap_sock, S_ZAP_ADDRESS) != 0) {
		int e = errno;
		zmq_close(self->zap_sock);
		return -e;
	}
	memcpy(self->trust, public_key, PLX_TRUST_PUBLIC);
	int rc = pthread_create(&self->zap_thread, NULL, s_zap_loop, self);
	if (rc != 0) {
		zmq_close(self->zap_sock);
		return -rc;
	}
	return 0;
}

void plx__secure_free(plx_ctx *ctx)
{
	if (ctx->secure)
		pthread_join(ctx->zap_thread, NULL); /* it ended with zmq_ctx_term's ETERM */
}

/* ---- endpoints ---- */

int plx_ep_set_keys(plx_ep *self, const plx_link_keys *keys, const char *cert)
{
	if (!self->ctx->secure)
		return -EPERM;
	if (self->router)
		return -EALREADY;
	plx_name who;
	char key[PLX_KEY_TEXT];
	int rc = plx_cert_check(self->ctx->trust, cert, &who, key);
	if (rc < 0)
		return rc;
	if (strcmp(who.label, self->name.label) != 0 ||
	    (who.generation && who.generation != self->name.generation) ||
	    strcmp(key, keys->public_key) != 0)
		return -EINVAL;
	self->keys = *keys;
	snprintf(self->cert, sizeof self->cert, "%s", cert);
	self->keyed = true;
	return 0;
}

uint64_t plx_ep_refused(const plx_ep *self)
{
	return atomic_load(&self->refused);
}

const char *plx_ep_cert(const plx_ep *self)
{
	return self->keyed ? self->cert : "";
}

int plx__cert_names(const plx_ctx *ctx, const char *cert, const char *label, uint64_t generation,
                    const char *address)
{
	char key[PLX_KEY_TEXT], certified[PLX_KEY_TEXT];
	if (!ctx->secure || strncmp(address, "curve:", 6) != 0)
		return 0;
	plx_name who;
	if (!plx__address_plain(address, key) || !cert || !*cert ||
	    plx_cert_check_user(ctx->trust, cert, &who, certified, NULL) < 0)
		return -EACCES;
	bool same = strcmp(who.label, label) == 0 &&
	            (who.generation == 0 || who.generation == generation) &&
	            strcmp(certified, key) == 0;
	return same ? 0 : -EACCES;
}

int plx__secure_router(plx_ep *ep)
{
	if (!ep->ctx->secure)
		return 0;
	/* a domain makes ZeroMQ ask the handler about NULL peers too: it refuses them */
	if (zmq_setsockopt(ep->router, ZMQ_ZAP_DOMAIN, "plexus", 6) != 0)
		return -errno;
	if (!ep->keyed)
		return 0; /* CURVE peers need its key: nobody outside the process reaches it */
	int one = 1;
	if (zmq_setsockopt(ep->router, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
	    zmq_setsockopt(ep->router, ZMQ_CURVE_SECRETKEY, ep->keys.secret_key, PLX_KEY_TEXT) != 0)
		return -errno;
	return 0;
}

int plx__secure_dealer(plx_ep *ep, void *sock, const char *server_key, bool local)
{
	if (local)
		return 0;
	if (!ep->ctx->secure)
		return server_key[0] ? -EACCES : 0; /* a secured peer would never answer */
	if (!server_key[0] || !ep->keyed)
		return -EACCES; /* no key to prove who either side is */
	char meta[PLX_CERT_MAX + 32];
	snprintf(meta, sizeof meta, "X-Plexus-Cert:%s", ep->cert);
	if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server_key, PLX_KEY_TEXT) != 0 ||
	    zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, ep->keys.public_key, PLX_KEY_TEXT) != 0 ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, ep->keys.secret_key, PLX_KEY_TEXT) != 0)
		return -errno;
	if (zmq_setsockopt(sock, ZMQ_METADATA, meta, strlen(meta)) != 0)
		return -ENOTSUP;
	return 0;
}

/* Logs the first refusal of each key (up to S_LOGGED keys, then every 1000th refusal). */
static void s_log_refusal(plx_ep *ep, const char *user, const char *why)
{
	uint64_t n = atomic_fetch_add(&ep->refused, 1) + 1;
	for (int i = 0; i < ep->nlogged; i++)
		if (strcmp(ep->logged[i], user) == 0)
			return;
	if (ep->nlogged < PLX_REFUSED_LOGGED)
		snprintf(ep->logged[ep->nlogged++], PLX_KEY_TEXT, "%s", user);
	else if (n % 1000 != 0)
		return;
	plx_log(PLX_LOG_WARN,
	        "%s/%" PRIu64 ": dropped a message from key %s: %s (%" PRIu64 " so far)",
	        ep->name.label, ep->name.generation, *user ? user : "(none)", why, n);
}

int plx__vouched_key(plx_ep *ep, zmq_msg_t *frame, plx_name *who, plx_cred *cred)
{
	const char *user = zmq_msg_gets(frame, "User-Id");
	if (!user || !*user) {
		s_log_refusal(ep, "", "not over a CURVE link");
		return -EACCES;
	}
	for (int i = 0; i < ep->nknown; i++)
		if (strcmp(ep->known[i].key, user) == 0) {
			*who = ep->known[i].who;
			*cred = ep->known[i].cred;
			return ep->known[i].user ? 1 : 0;
		}
	const char *cert = zmq_msg_gets(frame, "X-Plexus-Cert");
	char key[PLX_KEY_TEXT];
	int rc = cert ? plx_cert_check_user(ep->ctx->trust, cert, who, key, cred) : -ENOENT;
	if (rc >= 0 && strcmp(key, user) != 0)
		rc = -EINVAL;
	if (rc < 0) {
		s_log_refusal(ep, user,
		              rc == -ENOENT   ? "no certificate"
		              : rc == -EINVAL ? "a certificate for another key"
		                              : "a certificate not from the cluster's root");
		return -EACCES;
	}
	int slot =
	    ep->nknown < PLX_KNOWN_KEYS ? ep->nknown++ : (int)(ep->known_next++ % PLX_KNOWN_KEYS);
	snprintf(ep->known[slot].key, PLX_KEY_TEXT, "%s", user);
	ep->known[slot].who = *who;
	ep->known[slot].user = rc == 1;
	ep->known[slot].cred = rc == 1 ? *cred : (plx_cred){0};
	return rc;
}

bool plx__vouched_name(plx_ep *ep, const plx_name *who, const plx_msg *msg, zmq_msg_t *frame)
{
	if (strcmp(who->label, msg->source.label) == 0 &&
	    (who->generation == 0 || who->generation == msg->source.generation))
		return true;
	char why[PLX_LABEL_MAX * 2 + 64];
	snprintf(why, sizeof why, "source %s/%" PRIu64 " but the key is %s's", msg->source.label,
	         msg->source.generation, who->label);
	const char *user = zmq_msg_gets(frame, "User-Id");
	s_log_refusal(ep, user ? user : "", why);
	return false;
}
