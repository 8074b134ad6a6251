/*
 * link_fetch.c — a netbooted node asking its PXE server for a certificate (plexus/link_keys.h,
 * docs/security.md "Keys on a rack").
 *
 * Entry points: plx_link_fetch.
 *
 * The node makes its CURVE key pair itself and sends only the public half: GET URL?HEX, HEX
 * being the key's Z85 text in hex (80 characters, nothing a URL must escape). The server
 * answers "plexus-cert-1\nROOT_PUBLIC_HEX\nCERTIFICATE\n". The certificate must be signed by
 * that root and name the label asked for, every generation, and this key; then DIR/root.pub
 * and DIR/LABEL.link (the handover text, mode 0600) are written. No secret crosses the wire.
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

#include <plexus/link_keys.h>
#include <plexus/link_security.h>

#define S_ANSWER_MAX 4096
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

/* GET url?HEX(public_key) into *a. Returns 0 or -errno with err set. */
static int s_get(const char *url, const char *public_key, s_answer *a, char *err, size_t size)
{
	char hex[2 * PLX_KEY_TEXT + 1], full[2048];
	sodium_bin2hex(hex, sizeof hex, (const unsigned char *)public_key, strlen(public_key));
	if ((size_t)snprintf(full, sizeof full, "%s?%s", url, hex) >= sizeof full)
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

/* Checks the answer: the magic line, a root, a certificate of that root for label (every
 * generation) and public_key. Fills root_pk and cert. Returns 0 or -EBADMSG with err set. */
static int s_check(char *text, const char *label, const char *public_key,
                   uint8_t root_pk[PLX_TRUST_PUBLIC], char *cert, size_t cert_size, char *err,
                   size_t size)
{
	char *save = NULL;
	const char *magic = strtok_r(text, "\n", &save), *root = strtok_r(NULL, "\n", &save);
	const char *crt = strtok_r(NULL, "\n", &save);
	size_t len = 0;
	if (!magic || strcmp(magic, S_MAGIC) != 0 || !root || !crt || strlen(crt) >= cert_size ||
	    sodium_hex2bin(root_pk, PLX_TRUST_PUBLIC, root, strlen(root), NULL, &len, NULL) != 0 ||
	    len != PLX_TRUST_PUBLIC)
		return snprintf(err, size, "the answer is not \"%s\", a root and a certificate",
		                S_MAGIC),
		       -EBADMSG;
	plx_name who;
	char key[PLX_KEY_TEXT];
	int rc = plx_cert_check(root_pk, crt, &who, key);
	if (rc < 0 || strcmp(who.label, label) != 0 || who.generation != 0 ||
	    strcmp(key, public_key) != 0)
		return snprintf(err, size,
		                "the certificate is not the root's for %s and this node's key (%s)",
		                label, rc < 0 ? strerror(-rc) : "another name or key"),
		       -EBADMSG;
	memcpy(cert, crt, strlen(crt) + 1);
	return 0;
}

/* Writes text to dir/name with mode, replacing it. Returns 0 or -errno. */
static int s_write(const char *dir, const char *name, const char *text, mode_t mode)
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

/* DIR/root.pub and DIR/LABEL.link from what was checked. */
static int s_save(const char *dir, const char *label, const uint8_t root_pk[PLX_TRUST_PUBLIC],
                  const plx_link_keys *keys, const char *cert, char *err, size_t size)
{
	char pub[2 * PLX_TRUST_PUBLIC + 2], link[2 * PLX_KEY_TEXT + PLX_CERT_MAX + 64], name[96];
	sodium_bin2hex(pub, sizeof pub - 1, root_pk, PLX_TRUST_PUBLIC);
	strcat(pub, "\n");
	snprintf(name, sizeof name, "%s.link", label);
	int rc = plx_link_handover(keys, cert, link, sizeof link);
	if (rc >= 0 && (rc = s_write(dir, name, link, 0600)) == 0)
		rc = s_write(dir, "root.pub", pub, 0644);
	sodium_memzero(link, sizeof link);
	if (rc < 0)
		snprintf(err, size, "writing %s/%s and root.pub: %s", dir, name, strerror(-rc));
	return rc;
}

int plx_link_fetch(const char *url, const char *label, const char *dir, char *err, size_t size)
{
	plx_link_keys keys;
	int rc = plx_link_keys_new(&keys);
	if (rc < 0)
		return snprintf(err, size, "a key pair: %s", strerror(-rc)), rc;
	s_answer *a = calloc(1, sizeof *a);
	uint8_t root_pk[PLX_TRUST_PUBLIC];
	char cert[PLX_CERT_MAX];
	rc = a ? s_get(url, keys.public_key, a, err, size) : -ENOMEM;
	if (rc == 0)
		rc =
		    s_check(a->text, label, keys.public_key, root_pk, cert, sizeof cert, err, size);
	if (rc == 0)
		rc = s_save(dir, label, root_pk, &keys, cert, err, size);
	sodium_memzero(&keys, sizeof keys);
	free(a);
	return rc;
}
