/*
 * etcd_tls.c — the certificate authority and key pairs of a secured etcd, made with
 * OpenSSL's libcrypto (plexus/etcd_tls.h).
 *
 * Entry points: plx_etcd_tls_make, plx_etcd_tls_files, plx_etcd_tls_key_new, plx_etcd_tls_sign,
 * plx_etcd_tls_sign_member.
 *
 * Each boot of a secured system makes new ones, so they are short-lived by construction; they
 * are still valid for a year so that a long-running system never sees them expire.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <plexus/etcd_tls.h>

#define S_VALID_DAYS 366
#define S_MAX_IPS    8

/* One certificate to make: its file stem, subject CN (NULL: none), extendedKeyUsage, and its
 * key file's mode. A client's has no CN: etcd's HTTP gateway refuses a client certificate with
 * one once authentication is on (it could not pass the name on), so who a client is comes from
 * its password alone. */
typedef struct s_leaf {
	const char *stem;
	const char *cn;
	const char *usage; /* extendedKeyUsage */
	mode_t key_mode;
} s_leaf;

static int s_fail(char *err, size_t size, const char *what)
{
	unsigned long e = ERR_get_error();
	snprintf(err, size, "%s: %s", what, e ? ERR_reason_error_string(e) : "failed");
	ERR_clear_error();
	return -EIO;
}

/* Writes a PEM file with mode, replacing one there. */
static int s_write_pem(const char *dir, const char *name, mode_t mode, X509 *cert, EVP_PKEY *key,
                       char *err, size_t size)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	FILE *f = fd >= 0 && fchmod(fd, mode) == 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		snprintf(err, size, "%s: %s", path, strerror(e));
		return -e;
	}
	int ok = cert ? PEM_write_X509(f, cert)
	              : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	if (fclose(f) != 0 || !ok) {
		snprintf(err, size, "writing %s failed", path);
		return -EIO;
	}
	return 0;
}

/* Adds one extension (OpenSSL's configuration syntax) made in the context of issuer. */
static int s_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	int ok = ext && X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* A new certificate for key named cn (NULL: none), not yet signed or extended; issuer NULL:
 * itself. */
static X509 *s_cert_new(EVP_PKEY *key, const char *cn, X509 *issuer)
{
	X509 *cert = X509_new();
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	if (!cert || RAND_bytes(serial, sizeof serial) != 1)
		goto fail;
	serial[0] &= 0x7f; /* a positive serial number */
	if (!(bn = BN_bin2bn(serial, sizeof serial, NULL)) ||
	    !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) || !X509_set_version(cert, 2) ||
	    !X509_gmtime_adj(X509_getm_notBefore(cert), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(cert), 86400L * S_VALID_DAYS) ||
	    !X509_set_pubkey(cert, key))
		goto fail;
	X509_NAME *name = X509_get_subject_name(cert);
	if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"Plexus",
	                                -1, -1, 0) ||
	    (cn && !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
	                                       -1, -1, 0)) ||
	    !X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name))
		goto fail;
	BN_free(bn);
	return cert;
fail:
	BN_free(bn);
	X509_free(cert);
	return NULL;
}

/* The authority's certificate for ca_key. */
static X509 *s_ca_cert(EVP_PKEY *ca_key)
{
	X509 *ca = s_cert_new(ca_key, "Plexus etcd authority", NULL);
	if (!ca || s_ext(ca, ca, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") < 0 ||
	    s_ext(ca, ca, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
	    s_ext(ca, ca, NID_subject_key_identifier, "hash") < 0 ||
	    !X509_sign(ca, ca_key, EVP_sha256())) {
		X509_free(ca);
		return NULL;
	}
	return ca;
}

/* leaf's certificate for key (alt: its subjectAltName, or NULL) signed by ca, or NULL. */
static X509 *s_leaf_cert(EVP_PKEY *key, const s_leaf *leaf, const char *alt, X509 *ca,
                         EVP_PKEY *ca_key)
{
	X509 *cert = key ? s_cert_new(key, leaf->cn, ca) : NULL;
	if (!cert || s_ext(cert, ca, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    s_ext(cert, ca, NID_key_usage, "critical,digitalSignature,keyEncipherment") < 0 ||
	    s_ext(cert, ca, NID_ext_key_usage, leaf->usage) < 0 ||
	    s_ext(cert, ca, NID_authority_key_identifier, "keyid") < 0 ||
	    (alt && s_ext(cert, ca, NID_subject_alt_name, alt) < 0) ||
	    !X509_sign(cert, ca_key, EVP_sha256())) {
		X509_free(cert);
		return NULL;
	}
	return cert;
}

/* Makes leaf's key pair and certificate (alt: its subjectAltName, or NULL) signed by ca. */
static int s_leaf_make(const char *dir, const s_leaf *leaf, const char *alt, X509 *ca,
                       EVP_PKEY *ca_key, char *err, size_t size)
{
	char name[64];
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *cert = s_leaf_cert(key, leaf, alt, ca, ca_key);
	int rc = -EIO;
	if (!cert) {
		rc = s_fail(err, size, leaf->stem);
		goto out;
	}
	snprintf(name, sizeof name, "%s.key", leaf->stem);
	rc = s_write_pem(dir, name, leaf->key_mode, NULL, key, err, size);
	snprintf(name, sizeof name, "%s.crt", leaf->stem);
	if (rc == 0)
		rc = s_write_pem(dir, name, 0644, cert, NULL, err, size);
out:
	X509_free(cert);
	EVP_PKEY_free(key);
	return rc;
}

/* "IP:127.0.0.1,IP:::1,DNS:localhost" and an IP: entry per address. */
static int s_alt_names(const char *const *ips, size_t nips, char *alt, size_t size, char *err,
                       size_t err_size)
{
	unsigned char bin[16];
	if (nips > S_MAX_IPS) {
		snprintf(err, err_size, "at most %d addresses for etcd", S_MAX_IPS);
		return -EINVAL;
	}
	snprintf(alt, size, "IP:127.0.0.1,IP:::1,DNS:localhost");
	for (size_t i = 0; i < nips; i++) {
		if (inet_pton(AF_INET, ips[i], bin) != 1 && inet_pton(AF_INET6, ips[i], bin) != 1) {
			snprintf(err, err_size, "'%s' is not an IP address", ips[i]);
			return -EINVAL;
		}
		size_t len = strlen(alt);
		snprintf(alt + len, size - len, ",IP:%s", ips[i]);
	}
	return 0;
}

int plx_etcd_tls_make(const char *dir, const char *const *ips, size_t nips, char *err, size_t size)
{
	static const s_leaf leaves[] = {
	    {"etcd-server", "etcd", "serverAuth,clientAuth", 0600}, /* its gateway is a client */
	    {"etcd-client", NULL, "clientAuth", 0644},
	};
	char alt[512];
	int rc = s_alt_names(ips, nips, alt, sizeof alt, err, size);
	if (rc < 0)
		return rc;
	EVP_PKEY *ca_key = EVP_EC_gen("P-256");
	X509 *ca = ca_key ? s_ca_cert(ca_key) : NULL;
	if (!ca)
		rc = s_fail(err, size, "etcd's authority");
	for (size_t i = 0; rc == 0 && i < sizeof leaves / sizeof *leaves; i++)
		rc = s_leaf_make(dir, &leaves[i], i == 0 ? alt : NULL, ca, ca_key, err, size);
	if (rc == 0) /* for plx_etcd_tls_sign (a PXE server certifying nodes) */
		rc = s_write_pem(dir, "etcd-ca.key", 0600, NULL, ca_key, err, size);
	if (rc == 0) /* last: its presence says the set is complete */
		rc = s_write_pem(dir, "etcd-ca.crt", 0644, ca, NULL, err, size);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	return rc;
}

int plx_etcd_tls_files(const char *dir, char *ca, char *cert, char *key)
{
	snprintf(ca, PATH_MAX, "%s/etcd-ca.crt", dir);
	if (access(ca, F_OK) != 0)
		return -ENOENT;
	snprintf(cert, PATH_MAX, "%s/etcd-client.crt", dir);
	snprintf(key, PATH_MAX, "%s/etcd-client.key", dir);
	return 0;
}

/* PEM text of cert, or of key's private (private true) or public half, into out. */
static int s_pem(X509 *cert, EVP_PKEY *key, bool private, char *out, size_t size)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int ok = bio && (cert      ? PEM_write_bio_X509(bio, cert)
	                 : private ? PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)
	                           : PEM_write_bio_PUBKEY(bio, key));
	char *data = NULL;
	long len = ok ? BIO_get_mem_data(bio, &data) : 0;
	int rc = ok && len > 0 && (size_t)len < size ? 0 : -ENOSPC;
	if (rc == 0) {
		memcpy(out, data, (size_t)len);
		out[len] = '\0';
	}
	BIO_free(bio);
	return ok ? rc : -EIO;
}

int plx_etcd_tls_key_new(char *key_pem, size_t key_size, char *pub_pem, size_t pub_size)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	int rc = key ? s_pem(NULL, key, true, key_pem, key_size) : -EIO;
	if (rc == 0)
		rc = s_pem(NULL, key, false, pub_pem, pub_size);
	EVP_PKEY_free(key);
	ERR_clear_error();
	return rc;
}

/* The authority of dir: its certificate and key. Returns 0, -ENOENT or -EIO. */
static int s_authority(const char *dir, X509 **ca, EVP_PKEY **ca_key)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/etcd-ca.crt", dir);
	FILE *f = fopen(path, "re");
	*ca = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	snprintf(path, sizeof path, "%s/etcd-ca.key", dir);
	f = *ca ? fopen(path, "re") : NULL;
	*ca_key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
	int e = errno;
	if (f)
		fclose(f);
	ERR_clear_error();
	return *ca && *ca_key                    ? 0
	       : !*ca && access(path, F_OK) != 0 ? -ENOENT
	       : e == ENOENT                     ? -ENOENT
	                                         : -EIO;
}

/* Signs pub_pem as leaf for ips with the authority in dir, PEM into out (plx_etcd_tls_sign). */
static int s_sign(const char *dir, const s_leaf *leaf, const char *pub_pem, const char *const *ips,
                  size_t nips, char *out, size_t out_size, char *err, size_t size)
{
	char alt[512];
	int rc = s_alt_names(ips, nips, alt, sizeof alt, err, size);
	if (rc < 0)
		return rc;
	BIO *bio = BIO_new_mem_buf(pub_pem, -1);
	EVP_PKEY *key = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	X509 *ca = NULL, *cert = NULL;
	EVP_PKEY *ca_key = NULL;
	if (!key) {
		snprintf(err, size, "not a public key in PEM");
		rc = -EINVAL;
	} else if ((rc = s_authority(dir, &ca, &ca_key)) < 0) {
		snprintf(err, size, "etcd's authority in %s (etcd-ca.crt, etcd-ca.key): %s", dir,
		         strerror(-rc));
	} else if (!(cert = s_leaf_cert(key, leaf, alt, ca, ca_key))) {
		rc = s_fail(err, size, "a certificate");
	} else if ((rc = s_pem(cert, NULL, false, out, out_size)) < 0) {
		snprintf(err, size, "a certificate: %s", strerror(-rc));
	}
	X509_free(cert);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(key);
	ERR_clear_error();
	return rc;
}

int plx_etcd_tls_sign(const char *dir, const char *pub_pem, const char *const *ips, size_t nips,
                      char *out, size_t out_size, char *err, size_t size)
{
	static const s_leaf node = {"etcd-node", NULL, "serverAuth,clientAuth", 0600};
	return s_sign(dir, &node, pub_pem, ips, nips, out, out_size, err, size);
}

int plx_etcd_tls_sign_member(const char *dir, const char *pub_pem, const char *const *ips,
                             size_t nips, char *out, size_t out_size, char *err, size_t size)
{
	static const s_leaf member = {"etcd-member", "etcd", "serverAuth,clientAuth", 0600};
	return s_sign(dir, &member, pub_pem, ips, nips, out, out_size, err, size);
}
