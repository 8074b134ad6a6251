/*
 * link_keys.c — the cluster's trust root on disk and securing an endpoint from it
 * (plexus/link_keys.h).
 *
 * Entry points: plx_link_keys_make, plx_link_secure, plx_link_issuer, plx_link_issue,
 * plx_link_handover; reg_read_hex, reg_trust_root (keys_internal.h, for vouch.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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

#define S_HANDOVER "plexus-link-1" /* the first line of a node kernel's handover */
#define S_OPERATOR "plexus-op-"    /* an operator's label: plexus-op-NAME */

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

int plx_link_handover(const plx_link_keys *keys, const char *cert, char *out, size_t size)
{
	int n = snprintf(out, size, "%s\n%s\n%s\n%s\n", S_HANDOVER, keys->public_key,
	                 keys->secret_key, cert);
	return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}

/* Splits the handover text into keys and cert. Returns 0 or -EBADMSG. */
static int s_parse_handover(char *text, plx_link_keys *keys, char *cert, size_t size)
{
	char *save = NULL;
	const char *magic = strtok_r(text, "\n", &save);
	const char *pub = strtok_r(NULL, "\n", &save), *sec = strtok_r(NULL, "\n", &save);
	const char *crt = strtok_r(NULL, "\n", &save);
	if (!magic || strcmp(magic, S_HANDOVER) != 0 || !pub || !sec || !crt ||
	    strlen(pub) != PLX_KEY_TEXT - 1 || strlen(sec) != PLX_KEY_TEXT - 1 ||
	    strlen(crt) >= size)
		return -EBADMSG;
	memcpy(keys->public_key, pub, PLX_KEY_TEXT);
	memcpy(keys->secret_key, sec, PLX_KEY_TEXT);
	memcpy(cert, crt, strlen(crt) + 1);
	return 0;
}

#define S_HANDOVER_MS 5000 /* the node kernel writes the keys before it execs the service */

/* Reads standard input to its end into text (room for size - 1 bytes, then a NUL), waiting
 * at most S_HANDOVER_MS in all. Returns 0, -EPROTO when standard input is not a pipe (a
 * service started by hand with PLEXUS_LINK=stdin left in its environment), -ETIMEDOUT or
 * -errno. */
static int s_read_handover(char *text, size_t size)
{
	struct stat st;
	if (fstat(0, &st) != 0 || !S_ISFIFO(st.st_mode))
		return -EPROTO;
	int64_t deadline = reg_now_ms() + S_HANDOVER_MS;
	size_t got = 0;
	for (;;) {
		int64_t now = reg_now_ms();
		struct pollfd in = {.fd = 0, .events = POLLIN};
		int ready = now >= deadline ? 0 : poll(&in, 1, (int)(deadline - now));
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready <= 0)
			return ready == 0 ? -ETIMEDOUT : -errno;
		ssize_t n = read(0, text + got, size - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		got += (size_t)n;
		text[got] = '\0';
		if (n == 0 || got == size - 1)
			return 0;
	}
}

/* Takes what the node kernel handed over on standard input (PLEXUS_LINK=stdin), then puts
 * /dev/null there and forgets the variable. Returns 0, -EBADMSG, -EPROTO, -ETIMEDOUT or
 * -errno. */
static int s_take_handover(plx_link_keys *keys, char *cert, size_t size)
{
	char text[2 * PLX_KEY_TEXT + PLX_CERT_MAX + 64];
	text[0] = '\0';
	int rc = s_read_handover(text, sizeof text);
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		close(null);
	}
	unsetenv("PLEXUS_LINK");
	if (rc == 0)
		rc = s_parse_handover(text, keys, cert, size);
	sodium_memzero(text, sizeof text);
	return rc;
}

/* Reads the keys issued once for this process from path (PLEXUS_LINK=FILE: a netbooted node
 * kernel's, docs/security.md "Keys on a rack"): a regular file of this user that nobody else
 * may read or write. Returns 0, -EPERM (another owner, or a mode wider than 0600), -EBADMSG
 * or -errno. */
static int s_take_file(const char *path, plx_link_keys *keys, char *cert, size_t size)
{
	char text[2 * PLX_KEY_TEXT + PLX_CERT_MAX + 64];
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	int rc = fstat(fd, &st) != 0 ? -errno : 0;
	if (rc == 0 && (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077)))
		rc = -EPERM;
	ssize_t got = rc == 0 ? read(fd, text, sizeof text - 1) : 0;
	if (got < 0)
		rc = -errno;
	close(fd);
	text[got > 0 ? got : 0] = '\0';
	if (rc == 0)
		rc = s_parse_handover(text, keys, cert, size);
	sodium_memzero(text, sizeof text);
	return rc;
}

/* Secures ep with the keys handed over: on standard input by its node kernel (link "stdin"),
 * or issued once into the file link names (var: the variable that named it). */
static int s_secure_handed(plx_ep *ep, const char *link, const char *var, char *err, size_t size)
{
	plx_link_keys keys;
	char cert[PLX_CERT_MAX];
	bool file = strcmp(link, "stdin") != 0;
	int rc = file ? s_take_file(link, &keys, cert, sizeof cert)
	              : s_take_handover(&keys, cert, sizeof cert);
	if (rc == 0)
		rc = plx_ep_set_keys(ep, &keys, cert);
	sodium_memzero(&keys, sizeof keys);
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
	if (link && (strcmp(link, "stdin") == 0 || link[0] == '/'))
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
	plx_link_keys keys;
	char cert[PLX_CERT_MAX], who[PLX_LABEL_MAX] = "";
	int rc = s_take_file(path, &keys, cert, sizeof cert);
	sodium_memzero(&keys, sizeof keys);
	if (rc < 0)
		return rc;
	/* "plx1 LABEL GENERATION KEY SIGNATURE": the label it was issued for */
	if (sscanf(cert, "plx1 %63s", who) != 1 ||
	    strncmp(who, S_OPERATOR, strlen(S_OPERATOR)) != 0 || strlen(who) >= size)
		return -EBADMSG;
	snprintf(label, size, "%s", who);
	return 1;
}
