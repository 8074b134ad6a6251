/*
 * pxe_keys.c — certificates the PXE server issues to nodes at boot (plexus/pxe.h,
 * docs/security.md "Keys on a rack").
 *
 * Entry points: plx_pxe_keys_url, plx_pxe_keys_check, plx_pxe_keys_write, plx_pxe_keys_issue.
 *
 * With [pxe] keys = DIR (a trust root: root.pub, root.key), `plexus pxe` writes one file per
 * node, STATE/keys/ADDRESS, holding the node's name, and a CGI, STATE/http/cgi-bin/keys, that
 * busybox httpd runs for GET /cgi-bin/keys?HEX. A node makes its own CURVE key pair and sends
 * the public half (plx_link_fetch); the CGI runs `plexus pxe issue DIR NAME HEX` for the node
 * of the address asking, which answers a certificate for node.NAME (every generation) and
 * that key. Another address, or anything but 80 hex digits, gets 403. The server keeps no
 * node secret and none crosses the network.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include <plexus/etcd.h>
#include <plexus/etcd_tls.h>
#include <plexus/link_keys.h>
#include <plexus/link_security.h>
#include <plexus/pxe.h>

#define S_PEM_MAX 4096

static int s_fail(char *err, size_t size, int rc, const char *what, const char *path)
{
	snprintf(err, size, "%.200s%.300s%s", what, path, rc ? ": " : "");
	if (rc)
		strncat(err, strerror(-rc), size - strlen(err) - 1);
	return rc ? rc : -EINVAL;
}

int plx_pxe_keys_url(const plx_pxe_settings *s, char *out, size_t size)
{
	int n = snprintf(out, size, "http://%s:%d/cgi-bin/keys", s->server, s->http_port);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : n;
}

int plx_pxe_keys_check(const plx_pxe_settings *s, FILE *out)
{
	if (!s->keys[0]) {
		fprintf(out, "keys     none: plain links ([pxe] keys = DIR from plexus keys init "
		             "secures them)\n");
		return 0;
	}
	uint8_t sk[PLX_TRUST_SECRET];
	int rc = plx_link_issuer(s->keys, sk);
	sodium_memzero(sk, sizeof sk);
	char url[128];
	plx_pxe_keys_url(s, url, sizeof url);
	fprintf(out,
	        "keys     %s: each node makes its key pair at boot and gets a certificate from "
	        "%s (only at its address)\n",
	        s->keys, url);
	if (rc < 0)
		fprintf(out, "problem: %s/root.key: %s (run plexus keys init %s)\n", s->keys,
		        strerror(-rc), s->keys);
	return rc < 0;
}

/* Writes text into path with mode, replacing it. Returns 0 or -errno. */
static int s_write(const char *path, const char *text, mode_t mode)
{
	unlink(path);
	FILE *f = fopen(path, "wx");
	if (!f)
		return -errno;
	int rc = fputs(text, f) >= 0 && fchmod(fileno(f), mode) == 0 ? 0 : -EIO;
	if (fclose(f) != 0 && rc == 0)
		rc = -EIO;
	return rc;
}

/* http/cgi-bin/keys: `plexus pxe issue` for the node at the address asking, 403 otherwise. */
static int s_cgi(const char *dir, const char *keys_dir, const plx_pxe_settings *s, char *err,
                 size_t size)
{
	char path[PATH_MAX + 64], text[5 * PATH_MAX + 1024], cli[PATH_MAX];
	if (!realpath(s->cli[0] ? s->cli : "/proc/self/exe", cli))
		return s_fail(err, size, -errno, "the plexus command for the CGI: ", s->cli);
	if (strchr(keys_dir, '\'') || strchr(s->keys, '\'') || strchr(cli, '\''))
		return s_fail(err, size, 0, "a quote in a path: ", keys_dir);
	snprintf(path, sizeof path, "%s/http/cgi-bin", dir);
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return s_fail(err, size, -errno, path, "");
	snprintf(
	    text, sizeof text,
	    "#!/bin/sh\n"
	    "# plexus pxe: certificates for the node at the address asking, for the public\n"
	    "# keys it sends (CURVE&ETCD, in lowercase hex); nothing for any other address.\n"
	    "a=\"${REMOTE_ADDR#::ffff:}\"\n"
	    "k=\"$QUERY_STRING\"\n"
	    "c=\"${k%%%%&*}\"\n"
	    "e=\"${k#*&}\"\n"
	    "case \"$a\" in '' | *[!0-9.]*) a= ;; esac\n"
	    "case \"$c$e\" in *[!0-9a-f]*) c= ;; esac\n"
	    "if [ -n \"$a\" ] && [ ${#c} -eq 80 ] && [ \"$e\" != \"$k\" ] && [ ${#e} -gt 0 ] &&\n"
	    "\t[ ${#e} -le 4096 ] && [ -f '%s/'\"$a\" ]; then\n"
	    "\tm=\n"
	    "\t[ -f '%s/'\"$a.member\" ] && m=member\n"
	    "\texec '%s' pxe issue '%s' \"$(cat '%s/'\"$a\")\" \"$a\" \"$c\" \"$e\" $m\n"
	    "fi\n"
	    "printf 'Status: 403 Forbidden\\r\\nContent-Type: text/plain\\r\\n\\r\\n'\n"
	    "echo \"no certificate for $a\"\n",
	    keys_dir, keys_dir, cli, s->keys, keys_dir);
	snprintf(path, sizeof path, "%s/http/cgi-bin/keys", dir);
	int rc = s_write(path, text, 0755);
	return rc < 0 ? s_fail(err, size, rc, path, "") : 0;
}

/* keys/ADDRESS.member beside keys/ADDRESS when the node is a role = etcd node (the CGI then has
 * its etcd certificate made a member's), removed otherwise. Returns 0 or -errno. */
static int s_member_mark(const char *path, bool member)
{
	char mark[PATH_MAX + 80];
	snprintf(mark, sizeof mark, "%s.member", path);
	if (member)
		return s_write(mark, "", 0600);
	return unlink(mark) == 0 || errno == ENOENT ? 0 : -errno;
}

int plx_pxe_keys_write(const plx_cluster *c, const plx_pxe_settings *s, const char *dir, char *err,
                       size_t size)
{
	if (!s->keys[0])
		return 0;
	char keys_dir[PATH_MAX + 16], real[PATH_MAX], path[PATH_MAX + 64];
	if (!realpath(dir, real))
		return s_fail(err, size, -errno, dir, "");
	snprintf(keys_dir, sizeof keys_dir, "%s/keys", real);
	if ((mkdir(keys_dir, 0700) != 0 && errno != EEXIST) || chmod(keys_dir, 0700) != 0)
		return s_fail(err, size, -errno, keys_dir, "");
	uint8_t sk[PLX_TRUST_SECRET];
	int rc = plx_link_issuer(s->keys, sk);
	sodium_memzero(sk, sizeof sk);
	if (rc < 0)
		return s_fail(err, size, rc, "[pxe] keys: root.key in ", s->keys);
	for (size_t i = 0; i < c->nnodes; i++) {
		char name[PLX_CLUSTER_NAME_MAX + 2];
		snprintf(path, sizeof path, "%s/%s", keys_dir, c->nodes[i].addr);
		snprintf(name, sizeof name, "%s\n", c->nodes[i].name);
		if ((rc = s_write(path, name, 0600)) < 0)
			return s_fail(err, size, rc, path, "");
		if ((rc = s_member_mark(path, plx_cluster_node_has_role(&c->nodes[i], "etcd"))) < 0)
			return s_fail(err, size, rc, path, ".member");
	}
	return s_cgi(real, keys_dir, s, err, size);
}

/* Hex text of the bytes in data into out (2 * n + 1 bytes). */
static void s_hex(const char *data, char *out, size_t size)
{
	sodium_bin2hex(out, size, (const unsigned char *)data, strlen(data));
}

/* The certificate for node.NAME and the CURVE key in hex (its Z85 text's bytes) into cert, and
 * the trust root's public key in hex into pub. Returns 0 or a negative errno with err set. */
static int s_issue_link(const char *keys, const char *node, const char *hex, char *cert,
                        size_t cert_size, char pub[2 * PLX_TRUST_PUBLIC + 1],
                        char key[PLX_KEY_TEXT], char *err, size_t size)
{
	size_t len = 0;
	if (strlen(hex) != 2 * (PLX_KEY_TEXT - 1) ||
	    sodium_hex2bin((unsigned char *)key, PLX_KEY_TEXT - 1, hex, strlen(hex), NULL, &len,
	                   NULL) != 0 ||
	    len != PLX_KEY_TEXT - 1)
		return s_fail(err, size, 0, "expected a CURVE key of 80 hex digits", "");
	plx_name who = {.generation = 0};
	if ((size_t)snprintf(who.label, sizeof who.label, "node.%s", node) >= sizeof who.label)
		return s_fail(err, size, 0, "a node name too long: ", node);
	uint8_t sk[PLX_TRUST_SECRET], pk[PLX_TRUST_PUBLIC];
	int rc = plx_link_issuer(keys, sk);
	if (rc < 0)
		return s_fail(err, size, rc, "root.key in ", keys);
	crypto_sign_ed25519_sk_to_pk(pk, sk);
	rc = plx_cert_issue(sk, &who, key, cert, cert_size);
	sodium_memzero(sk, sizeof sk);
	if (rc < 0)
		return s_fail(err, size, rc, "a certificate for ", who.label);
	sodium_bin2hex(pub, 2 * PLX_TRUST_PUBLIC + 1, pk, sizeof pk);
	return 0;
}

/* The node's etcd certificate for the public key whose PEM etcd_hex spells, serving at addr
 * too, and the authority, as two lines of hex into out; "-" twice when KEYS has no etcd
 * authority. Returns 0 or a negative errno with err set. */
static int s_issue_etcd(const char *keys, const char *addr, const char *etcd_hex, bool member,
                        char *out, size_t size, char *err, size_t err_size)
{
	char pub[S_PEM_MAX] = "", cert[S_PEM_MAX], ca[S_PEM_MAX], path[PATH_MAX + 16];
	size_t len = 0;
	snprintf(path, sizeof path, "%s/etcd-ca.key", keys);
	if (access(path, F_OK) != 0)
		return snprintf(out, size, "-\n-\n"), 0;
	if (sodium_hex2bin((unsigned char *)pub, sizeof pub - 1, etcd_hex, strlen(etcd_hex), NULL,
	                   &len, NULL) != 0)
		return s_fail(err, err_size, 0, "expected an etcd key in hex", "");
	pub[len] = '\0';
	const char *ips[] = {addr};
	int rc = member
	             ? plx_etcd_tls_sign_member(keys, pub, ips, 1, cert, sizeof cert, err, err_size)
	             : plx_etcd_tls_sign(keys, pub, ips, 1, cert, sizeof cert, err, err_size);
	snprintf(path, sizeof path, "%s/etcd-ca.crt", keys);
	FILE *f = rc == 0 ? fopen(path, "re") : NULL;
	size_t n = f ? fread(ca, 1, sizeof ca - 1, f) : 0;
	if (f)
		fclose(f);
	if (rc == 0 && !n)
		rc = s_fail(err, err_size, -EIO, "reading ", path);
	if (rc < 0)
		return rc;
	ca[n] = '\0';
	char *hex = malloc(4 * S_PEM_MAX + 4);
	if (!hex)
		return -ENOMEM;
	s_hex(ca, hex, 2 * S_PEM_MAX + 1);
	int used = snprintf(out, size, "%s\n", hex);
	s_hex(cert, hex, 2 * S_PEM_MAX + 1);
	snprintf(out + used, size - (size_t)used, "%s\n", hex);
	free(hex);
	return 0;
}

/* The node's etcd user and its password sealed to the node's CURVE key (plx_link_seal), as
 * "etcd USER HEX" into line: root (KEYS/etcd.password) for a member, which manages the
 * members, n-NODE (derived from the root) for any other node; "-" when KEYS has no
 * etcd.password (etcd without users). Returns 0 or a negative errno with err set. */
static int s_issue_etcd_user(const char *keys, const char *node, bool member, const char *key,
                             char *line, size_t line_size, char *err, size_t size)
{
	char path[PATH_MAX + 16], user[PLX_HANDOVER_USER_MAX], pw[PLX_ETCD_PASSWORD_MAX] = "";
	char sealed[2 * (PLX_ETCD_PASSWORD_MAX + 64) + 1];
	snprintf(path, sizeof path, "%s/etcd.password", keys);
	FILE *f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? (snprintf(line, line_size, "-\n"), 0)
		                       : s_fail(err, size, -errno, "", path);
	bool got = fgets(pw, sizeof pw, f) != NULL;
	fclose(f);
	pw[strcspn(pw, "\n")] = '\0';
	if (!got || !*pw)
		return s_fail(err, size, -EBADMSG, "", path);
	snprintf(user, sizeof user, "%s", "root");
	if (!member) {
		uint8_t sk[PLX_TRUST_SECRET];
		int rc = plx_link_issuer(keys, sk);
		if (rc < 0)
			return sodium_memzero(pw, sizeof pw),
			       s_fail(err, size, rc, "root.key in ", keys);
		snprintf(user, sizeof user, PLX_ETCD_NODE_USER "%.63s", node);
		plx_link_etcd_password(sk, user, pw, sizeof pw);
		sodium_memzero(sk, sizeof sk);
	}
	int rc = plx_link_seal(key, pw, sealed, sizeof sealed);
	sodium_memzero(pw, sizeof pw);
	if (rc < 0)
		return s_fail(err, size, rc, "sealing the etcd password to the node's key", "");
	snprintf(line, line_size, "etcd %s %s\n", user, sealed);
	return 0;
}

int plx_pxe_keys_issue(const char *keys, const char *node, const char *addr, const char *hex,
                       const char *etcd_hex, bool member, FILE *out)
{
	char cert[PLX_CERT_MAX], pub[2 * PLX_TRUST_PUBLIC + 1], err[512], key[PLX_KEY_TEXT] = "";
	char user[PLX_HANDOVER_USER_MAX + 2 * (PLX_ETCD_PASSWORD_MAX + 64) + 16];
	char *etcd = malloc(4 * S_PEM_MAX + 8);
	int rc = etcd ? s_issue_link(keys, node, hex, cert, sizeof cert, pub, key, err, sizeof err)
	              : -ENOMEM;
	if (rc == 0)
		rc = s_issue_etcd(keys, addr, etcd_hex, member, etcd, 4 * S_PEM_MAX + 8, err,
		                  sizeof err);
	if (rc == 0)
		rc = s_issue_etcd_user(keys, node, member, key, user, sizeof user, err, sizeof err);
	if (rc < 0)
		fprintf(out, "Status: 400 Bad Request\r\nContent-Type: text/plain\r\n\r\n%s\n",
		        etcd ? err : "out of memory");
	else
		fprintf(out, "Content-Type: text/plain\r\n\r\nplexus-cert-1\n%s\n%s\n%s%s", pub,
		        cert, etcd, user);
	fflush(out);
	free(etcd);
	return rc;
}
