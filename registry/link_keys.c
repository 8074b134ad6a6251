/*
 * link_keys.c — the cluster's trust root on disk and securing an endpoint from it
 * (plexus/link_keys.h).
 *
 * Entry points: plx_link_keys_make, plx_etcd_passwords_write, plx_link_secure,
 * plx_link_issuer, plx_link_issue;
 * reg_read_hex, reg_trust_root, reg_write_file (keys_internal.h, for vouch.c, link_handover.c
 * and link_fetch.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include <plexus/link_keys.h>
#include <plexus/link_security.h>

#include "etcd_internal.h"
#include "keys_internal.h"

static int s_fail(char *err, size_t size, int rc, const char *what, const char *path)
{
	snprintf(err, size, "%s %s: %s", what, path, strerror(-rc));
	return rc;
}

/* Writes bytes as hex and a newline to path, created with mode (not replaced). */
static int s_write_hex(const char *path, const uint8_t *bytes, size_t n, mode_t mode)
{
	char hex[2 * PLX_TRUST_SECRET + 2];
	sodium_bin2hex(hex, sizeof hex, bytes, n);
	strcat(hex, "\n");
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	ssize_t len = (ssize_t)strlen(hex);
	int rc = write(fd, hex, (size_t)len) == len ? 0 : -EIO;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

int reg_read_hex(const char *path, uint8_t *bytes, size_t n)
{
	char hex[2 * PLX_TRUST_SECRET + 8];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t got = read(fd, hex, sizeof hex - 1);
	int e = errno;
	close(fd);
	if (got < 0)
		return -e;
	hex[got] = '\0';
	size_t len = 0;
	if (sodium_hex2bin(bytes, n, hex, strcspn(hex, "\n"), NULL, &len, NULL) != 0 || len != n)
		return -EBADMSG;
	return 0;
}

int plx_link_keys_make(const char *dir, char *err, size_t size)
{
	char pub[4096], key[4096];
	snprintf(pub, sizeof pub, "%s/root.pub", dir);
	snprintf(key, sizeof key, "%s/root.key", dir);
	if ((mkdir(dir, 0755) < 0 && errno != EEXIST) || chmod(dir, 0755) < 0)
		return s_fail(err, size, -errno, "making", dir);
	if (access(pub, F_OK) == 0 && access(key, F_OK) == 0)
		return 0;
	uint8_t pk[PLX_TRUST_PUBLIC], sk[PLX_TRUST_SECRET];
	int rc = plx_trust_new(pk, sk);
	if (rc < 0)
		return s_fail(err, size, rc, "making a trust root for", dir);
	unlink(pub);
	unlink(key);
	if ((rc = s_write_hex(key, sk, sizeof sk, 0600)) < 0)
		s_fail(err, size, rc, "writing", key);
	else if ((rc = s_write_hex(pub, pk, sizeof pk, 0644)) < 0)
		s_fail(err, size, rc, "writing", pub);
	sodium_memzero(sk, sizeof sk);
	return rc;
}

int reg_write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
	char path[4096], tmp[4096 + 8];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	snprintf(tmp, sizeof tmp, "%s.new", path);
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	size_t n = strlen(text);
	int rc = write(fd, text, n) == (ssize_t)n ? 0 : -EIO;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	return rc;
}

int plx_etcd_passwords_write(const char *dir, char *err, size_t size)
{
	static const struct {
		const char *user, *file;
		mode_t mode;
	} files[] = {{"root", "etcd.password", 0600}, {"plexus-client", "etcd.client", 0644}};
	uint8_t sk[PLX_TRUST_SECRET];
	int rc = plx_link_issuer(dir, sk);
	if (rc < 0)
		return s_fail(err, size, rc, "the trust root's secret key in", dir);
	for (size_t i = 0; rc == 0 && i < sizeof files / sizeof *files; i++) {
		char pw[PLX_ETCD_PASSWORD_MAX + 1];
		plx_link_etcd_password(sk, files[i].user, pw, sizeof pw);
		strcat(pw, "\n");
		if ((rc = reg_write_file(dir, files[i].file, pw, files[i].mode)) < 0)
			s_fail(err, size, rc, "writing in", dir);
		sodium_memzero(pw, sizeof pw);
	}
	sodium_memzero(sk, sizeof sk);
	return rc;
}

int reg_trust_root(plx_ctx *ctx, const char *dir, char *err, size_t size)
{
	char pub[4096];
	uint8_t pk[PLX_TRUST_PUBLIC];
	snprintf(pub, sizeof pub, "%s/root.pub", dir);
	int rc = reg_read_hex(pub, pk, sizeof pk);
	if (rc < 0)
		return s_fail(err, size, rc, "the cluster's trust root (PLEXUS_KEYS)", pub);
	if ((rc = plx_ctx_trust(ctx, pk)) < 0 && rc != -EALREADY)
		return s_fail(err, size, rc, "securing the links with", pub);
	return 0;
}

#define S_OPERATOR "plexus-op-" /* an operator's label: plexus-op-NAME */

int plx_link_issuer(const char *dir, uint8_t secret_key[PLX_TRUST_SECRET])
{
	if (!dir)
		dir = getenv("PLEXUS_KEYS");
	if (!dir || !*dir)
		return -ENOENT;
	char key[4096];
	snprintf(key, sizeof key, "%s/root.key", dir);
	return reg_read_hex(key, secret_key, PLX_TRUST_SECRET);
}

int plx_link_issue(const uint8_t secret_key[PLX_TRUST_SECRET], const plx_name *who,
                   plx_link_keys *keys, char *cert, size_t size)
{
	int rc = plx_link_keys_new(keys);
	if (rc == 0)
		rc = plx_cert_issue(secret_key, who, keys->public_key, cert, size);
	if (rc < 0)
		sodium_memzero(keys, sizeof *keys);
	return rc;
}

/* Secures ep with the keys handed over: on standard input by its node kernel (link "stdin"),
 * or issued once into the file link names (var: the variable that named it). */
static int s_secure_handed(plx_ep *ep, const char *link, const char *var, char *err, size_t size)
{
	reg_handed h;
	bool file = strcmp(link, "stdin") != 0;
	int rc = reg_handover_take(link, &h);
	if (rc == 0)
		rc = plx_ep_set_keys(ep, &h.keys, h.cert);
	sodium_memzero(&h, sizeof h);
	if (rc < 0 && file)
		snprintf(err, size, "securing endpoint %s with the keys in %s (%s): %s%s",
		         plx_ep_name(ep)->label, link, var, strerror(-rc),
		         rc == -EPERM    ? " (it must be a file of this user, mode 0600)"
		         : rc == -EACCES ? " (not a certificate of this cluster's trust root)"
		                         : "");
	else if (rc < 0)
		snprintf(err, size,
		         "securing endpoint %s with the keys its node kernel handed over: %s%s",
		         plx_ep_name(ep)->label, strerror(-rc),
		         rc == -EPROTO ? " (PLEXUS_LINK=stdin, but standard input is not the node "
		                         "kernel's pipe)"
		         : rc == -ETIMEDOUT ? " (nothing came on standard input)"
		                            : "");
	return rc;
}

int plx_link_secure(plx_ctx *ctx, plx_ep *ep, char *err, size_t size)
{
	const char *dir = getenv("PLEXUS_KEYS");
	if (!dir || !*dir)
		return 0;
	char key[4096];
	snprintf(key, sizeof key, "%s/root.key", dir);
	uint8_t sk[PLX_TRUST_SECRET];
	int rc = reg_trust_root(ctx, dir, err, size);
	if (rc < 0)
		return rc;
	const char *link = getenv("PLEXUS_LINK");
	if (reg_handover_pending())
		return s_secure_handed(ep, "stdin", "PLEXUS_LINK", err, size);
	if (link && link[0] == '/')
		return s_secure_handed(ep, link, "PLEXUS_LINK", err, size);
	const char *op = getenv("PLEXUS_OPERATOR");
	if (op && *op && strncmp(plx_ep_name(ep)->label, S_OPERATOR, strlen(S_OPERATOR)) == 0)
		return s_secure_handed(ep, op, "PLEXUS_OPERATOR", err, size); /* an operator's */
	if ((rc = reg_read_hex(key, sk, sizeof sk)) < 0) {
		s_fail(err, size, rc,
		       rc == -EACCES ? "this user may not speak for the cluster: reading"
		                     : "reading",
		       key);
		if (rc == -EACCES) /* what such a user can do instead */
			snprintf(err + strlen(err), size - strlen(err),
			         " (an operator's commands take PLEXUS_OPERATOR=FILE, from plexus "
			         "keys operator)");
		return rc;
	}
	plx_link_keys keys;
	char cert[PLX_CERT_MAX];
	rc = plx_link_keys_new(&keys);
	if (rc == 0)
		rc = plx_cert_issue(sk, plx_ep_name(ep), keys.public_key, cert, sizeof cert);
	sodium_memzero(sk, sizeof sk);
	if (rc == 0)
		rc = plx_ep_set_keys(ep, &keys, cert);
	sodium_memzero(&keys, sizeof keys);
	if (rc < 0)
		snprintf(err, size, "securing endpoint %s: %s", plx_ep_name(ep)->label,
		         strerror(-rc));
	return rc;
}

/* Whether name can be an operator's: 1-32 of [a-z0-9_-]. */
static bool s_operator_name(const char *name)
{
	size_t n = strlen(name);
	return n >= 1 && n <= 32 && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

int plx_link_operator_issue(const char *dir, const char *name, const char *path, char *err,
                            size_t size)
{
	plx_name who = {.generation = 0};
	if (!s_operator_name(name))
		return s_fail(err, size, -EINVAL,
		              "an operator's name is 1-32 of a-z 0-9 _ -:", name);
	snprintf(who.label, sizeof who.label, "%s%s", S_OPERATOR, name);
	uint8_t sk[PLX_TRUST_SECRET];
	int rc = plx_link_issuer(dir, sk);
	if (rc < 0)
		return s_fail(err, size, rc, "reading the trust root's secret key in", dir);
	plx_link_keys keys;
	char cert[PLX_CERT_MAX], text[2 * PLX_KEY_TEXT + PLX_CERT_MAX + 64];
	rc = plx_link_issue(sk, &who, &keys, cert, sizeof cert);
	sodium_memzero(sk, sizeof sk);
	int n = rc < 0 ? rc : plx_link_handover(&keys, cert, text, sizeof text);
	sodium_memzero(&keys, sizeof keys);
	int fd =
	    n < 0 ? -1 : open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	rc = n < 0 ? n : fd < 0 ? -errno : 0;
	if (rc == 0 && write(fd, text, (size_t)n) != n)
		rc = -EIO;
	sodium_memzero(text, sizeof text);
	if (fd >= 0 && close(fd) != 0 && rc == 0)
		rc = -EIO;
	if (rc < 0 && fd >= 0)
		unlink(path);
	return rc < 0 ? s_fail(err, size, rc, "writing", path) : 0;
}

int plx_link_operator(char *label, size_t size)
{
	const char *path = getenv("PLEXUS_OPERATOR");
	if (!path || !*path)
		return 0;
	reg_handed h;
	char who[PLX_LABEL_MAX] = "";
	int rc = reg_handover_take(path, &h);
	sodium_memzero(&h.keys, sizeof h.keys);
	if (rc < 0)
		return rc;
	/* "plx1 LABEL GENERATION KEY SIGNATURE": the label it was issued for */
	if (sscanf(h.cert, "plx1 %63s", who) != 1 ||
	    strncmp(who, S_OPERATOR, strlen(S_OPERATOR)) != 0 || strlen(who) >= size)
		return -EBADMSG;
	snprintf(label, size, "%s", who);
	return 1;
}
