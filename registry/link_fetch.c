/*
 * link_fetch.c — a netbooted node asking its PXE server for its certificates
 * (plexus/link_keys.h, docs/security.md "Keys on a rack").
 *
 * Entry points: plx_link_fetch.
 *
 * The node makes its CURVE key pair and an etcd key (P-256) itself and sends only the public
 * halves: GET URL?CURVE_HEX&ETCD_HEX, the CURVE key's Z85 text and the etcd key's PEM in hex
 * (nothing a URL must escape). The server answers five lines: "plexus-cert-1", the trust
 * root's public key in hex, the certificate, and etcd's authority and the node's etcd
 * certificate as PEM in hex ("-" for both when the cluster's etcd has no authority). The
 * certificate must be signed by that root and name the label asked for, every generation, and
 * this key; then DIR/root.pub, DIR/LABEL.link (the handover text, mode 0600) and, with etcd's,
 * DIR/etcd-client.key (0600), DIR/etcd-client.crt and DIR/etcd-ca.crt are written: what
 * plx_link_secure and plx_etcd_new look for in PLEXUS_KEYS. A sixth line, "etcd USER HEX",
 * gives the node's etcd user with its password sealed to the node's CURVE key (only this node
 * opens it); it joins the link file as the handover's etcd line. No secret crosses the wire
 * in the clear.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include <plexus/etcd_tls.h>
#include <plexus/link_keys.h>
#include <plexus/link_security.h>

#include "keys_internal.h"

#define S_ANSWER_MAX 16384
#define S_PEM_MAX    4096
#define S_MAGIC      "plexus-cert-1"

typedef struct s_answer {
	char text[S_ANSWER_MAX];
	size_t len;
	bool overflow;
} s_answer;

static size_t s_collect(char *data, size_t size, size_t n, void *arg)
{
	s_answer *a = arg;
	size_t bytes = size * n;
	if (bytes >= sizeof a->text - a->len) {
		a->overflow = true;
		return 0; /* curl stops: CURLE_WRITE_ERROR */
	}
	memcpy(a->text + a->len, data, bytes);
	a->len += bytes;
	a->text[a->len] = '\0';
	return bytes;
}

/* GET url?HEX(public_key)&HEX(etcd_pub) into *a. Returns 0 or -errno with err set. */
static int s_get(const char *url, const char *public_key, const char *etcd_pub, s_answer *a,
                 char *err, size_t size)
{
	char hex[2 * PLX_KEY_TEXT + 1], etcd_hex[2 * S_PEM_MAX + 1], full[2 * S_PEM_MAX + 2048];
	sodium_bin2hex(hex, sizeof hex, (const unsigned char *)public_key, strlen(public_key));
	sodium_bin2hex(etcd_hex, sizeof etcd_hex, (const unsigned char *)etcd_pub,
	               strlen(etcd_pub));
	if ((size_t)snprintf(full, sizeof full, "%s?%s&%s", url, hex, etcd_hex) >= sizeof full)
		return snprintf(err, size, "%s: too long", url), -ENAMETOOLONG;
	CURL *curl = curl_easy_init();
	if (!curl)
		return snprintf(err, size, "no curl handle"), -ENOMEM;
	curl_easy_setopt(curl, CURLOPT_URL, full);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, a);
	CURLcode rc = curl_easy_perform(curl);
	long status = 0;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(curl);
	if (rc == CURLE_OK)
		return 0;
	if (a->overflow)
		snprintf(err, size, "%s: an answer over %d bytes", url, S_ANSWER_MAX);
	else if (status >= 400)
		snprintf(err, size, "%s: HTTP %ld (is this node's address in the cluster file?)",
		         url, status);
	else
		snprintf(err, size, "%s: %s", url, curl_easy_strerror(rc));
	return status == 403 ? -EACCES : -EHOSTUNREACH;
}

/* A PEM certificate in hex (line) into out, or "" for "-". Returns 0 or -EBADMSG. */
static int s_pem_line(const char *line, char *out, size_t size)
{
	size_t len = 0;
	out[0] = '\0';
	if (line && strcmp(line, "-") == 0)
		return 0;
	if (!line || sodium_hex2bin((unsigned char *)out, size - 1, line, strlen(line), NULL, &len,
	                            NULL) != 0)
		return -EBADMSG;
	out[len] = '\0';
	return strncmp(out, "-----BEGIN CERTIFICATE-----", 27) == 0 ? 0 : -EBADMSG;
}

/* What the server answered, checked. */
typedef struct s_granted {
	uint8_t root_pk[PLX_TRUST_PUBLIC];
	char cert[PLX_CERT_MAX];
	char etcd_ca[S_PEM_MAX], etcd_cert[S_PEM_MAX]; /* "": the cluster's etcd is plain */
	char etcd_user[PLX_HANDOVER_USER_MAX];         /* "": etcd without users */
	char etcd_password[PLX_ETCD_PASSWORD_MAX];
} s_granted;

/* The answer's last line, "etcd USER HEX" (the password sealed to this node's key), "-" or
 * none (etcd without users), into g. Returns 0 or -EBADMSG. */
static int s_etcd_user_line(const char *line, const plx_link_keys *keys, s_granted *g)
{
	char user[PLX_HANDOVER_USER_MAX], sealed[512], tail;
	g->etcd_user[0] = g->etcd_password[0] = '\0';
	if (!line || strcmp(line, "-") == 0)
		return 0;
	if (sscanf(line, "etcd %71s %511s %c", user, sealed, &tail) != 2 ||
	    plx_link_unseal(keys, sealed, g->etcd_password, sizeof g->etcd_password) < 0)
		return -EBADMSG;
	memcpy(g->etcd_user, user, strlen(user) + 1);
	return 0;
}

/* Checks the answer: the magic line, a root, a certificate of that root for label (every
 * generation) and public_key, etcd's authority and certificate or "-" for both. Fills *g.
 * Returns 0 or -EBADMSG with err set. */
static int s_check(char *text, const char *label, const plx_link_keys *keys, s_granted *g,
                   char *err, size_t size)
{
	const char *public_key = keys->public_key;
	char *save = NULL;
	const char *magic = strtok_r(text, "\n", &save), *root = strtok_r(NULL, "\n", &save);
	const char *crt = strtok_r(NULL, "\n", &save), *ca = strtok_r(NULL, "\n", &save);
	const char *mine = strtok_r(NULL, "\n", &save), *user = strtok_r(NULL, "\n", &save);
	size_t len = 0;
	if (!magic || strcmp(magic, S_MAGIC) != 0 || !root || !crt ||
	    strlen(crt) >= sizeof g->cert ||
	    sodium_hex2bin(g->root_pk, PLX_TRUST_PUBLIC, root, strlen(root), NULL, &len, NULL) !=
	        0 ||
	    len != PLX_TRUST_PUBLIC || s_pem_line(ca, g->etcd_ca, sizeof g->etcd_ca) < 0 ||
	    s_pem_line(mine, g->etcd_cert, sizeof g->etcd_cert) < 0 ||
	    !g->etcd_ca[0] != !g->etcd_cert[0])
		return snprintf(err, size,
		                "the answer is not \"%s\", a root, a certificate and etcd's two",
		                S_MAGIC),
		       -EBADMSG;
	plx_name who;
	char key[PLX_KEY_TEXT];
	int rc = plx_cert_check(g->root_pk, crt, &who, key);
	if (rc < 0 || strcmp(who.label, label) != 0 || who.generation != 0 ||
	    strcmp(key, public_key) != 0)
		return snprintf(err, size,
		                "the certificate is not the root's for %s and this node's key (%s)",
		                label, rc < 0 ? strerror(-rc) : "another name or key"),
		       -EBADMSG;
	if (s_etcd_user_line(user, keys, g) < 0)
		return snprintf(err, size,
		                "the etcd user line is not \"etcd USER PASSWORD\" sealed to this "
		                "node's key"),
		       -EBADMSG;
	memcpy(g->cert, crt, strlen(crt) + 1);
	return 0;
}

/* DIR/root.pub, DIR/LABEL.link and etcd's files from what was checked. */
static int s_save(const char *dir, const char *label, const s_granted *g, const plx_link_keys *keys,
                  const char *etcd_key, char *err, size_t size)
{
	char pub[2 * PLX_TRUST_PUBLIC + 2], link[2 * PLX_KEY_TEXT + PLX_CERT_MAX + 192], name[96];
	sodium_bin2hex(pub, sizeof pub - 1, g->root_pk, PLX_TRUST_PUBLIC);
	strcat(pub, "\n");
	snprintf(name, sizeof name, "%s.link", label);
	int rc = plx_link_handover(keys, g->cert, link, sizeof link);
	if (rc >= 0 && g->etcd_user[0]) /* its etcd user: plx_etcd_new reads it from PLEXUS_LINK */
		rc = plx_link_handover_etcd(link, sizeof link, g->etcd_user, g->etcd_password);
	if (rc >= 0 && (rc = reg_write_file(dir, name, link, 0600)) == 0)
		rc = reg_write_file(dir, "root.pub", pub, 0644);
	if (rc == 0 && g->etcd_ca[0] &&
	    (rc = reg_write_file(dir, "etcd-client.key", etcd_key, 0600)) == 0 &&
	    (rc = reg_write_file(dir, "etcd-client.crt", g->etcd_cert, 0644)) == 0)
		rc = reg_write_file(dir, "etcd-ca.crt", g->etcd_ca,
		                    0644); /* last: its presence says TLS */
	sodium_memzero(link, sizeof link);
	if (rc < 0)
		snprintf(err, size, "writing %s/%s, root.pub and etcd's files: %s", dir, name,
		         strerror(-rc));
	return rc;
}

int plx_link_fetch(const char *url, const char *label, const char *dir, char *err, size_t size)
{
	plx_link_keys keys;
	char etcd_key[S_PEM_MAX], etcd_pub[S_PEM_MAX];
	int rc = plx_link_keys_new(&keys);
	if (rc == 0)
		rc = plx_etcd_tls_key_new(etcd_key, sizeof etcd_key, etcd_pub, sizeof etcd_pub);
	if (rc < 0)
		return snprintf(err, size, "key pairs: %s", strerror(-rc)), rc;
	s_answer *a = calloc(1, sizeof *a);
	s_granted *g = calloc(1, sizeof *g);
	rc = a && g ? s_get(url, keys.public_key, etcd_pub, a, err, size) : -ENOMEM;
	if (rc == 0)
		rc = s_check(a->text, label, &keys, g, err, size);
	if (rc == 0)
		rc = s_save(dir, label, g, &keys, etcd_key, err, size);
	sodium_memzero(&keys, sizeof keys);
	sodium_memzero(etcd_key, sizeof etcd_key);
	if (g)
		sodium_memzero(g, sizeof *g);
	free(a);
	free(g);
	return rc;
}
