/*
 * pxe_keys.c — the keys the PXE server hands each node at boot (plexus/pxe.h, docs/security.md
 * "Keys on a rack").
 *
 * Entry points: plx_pxe_keys_url, plx_pxe_keys_check, plx_pxe_keys_write.
 *
 * With [pxe] keys = DIR (a trust root: root.pub, root.key), `plexus pxe` issues every node a
 * CURVE key pair and a certificate for node.NAME (generation 0: every boot) and packs them with
 * root.pub and the etcd client files found in DIR into one bundle (plexus/keybundle.h) per
 * node, kept in STATE/keys/ADDRESS (mode 0600, outside the HTTP root). busybox httpd runs
 * STATE/http/cgi-bin/keys for GET /cgi-bin/keys, which answers the bundle of the address
 * asking and 403 to any other. The node's kernel command line names the URL (plexus.keys=).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include <plexus/keybundle.h>
#include <plexus/link_keys.h>
#include <plexus/pxe.h>

/* The etcd client files a node gets when DIR has them (what plx_etcd_new looks for). */
static const struct {
	const char *name;
	mode_t mode;
} s_etcd_files[] = {{"etcd-ca.crt", 0644},
                    {"etcd-client.crt", 0644},
                    {"etcd-client.key", 0600},
                    {"etcd.password", 0600}};

static int s_fail(char *err, size_t size, int rc, const char *fmt, const char *a, const char *b)
{
	snprintf(err, size, fmt, a, b);
	return rc;
}

int plx_pxe_keys_url(const plx_pxe_settings *s, char *out, size_t size)
{
	int n = snprintf(out, size, "http://%s:%d/cgi-bin/keys", s->server, s->http_port);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : n;
}

/* Reads dir/name (at most PLX_KEYBUNDLE_FILE_MAX bytes) into buf. Returns its length or
 * -errno (-EFBIG when longer). */
static ssize_t s_slurp(const char *dir, const char *name, char *buf, size_t cap)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, cap);
	int e = errno;
	close(fd);
	return n < 0 ? -e : (size_t)n == cap ? -EFBIG : n;
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
	fprintf(out, "keys     %s: each node fetches its own from %s (only from its address)\n",
	        s->keys, url);
	if (rc < 0)
		fprintf(out, "problem: %s/root.key: %s (run plexus keys init %s)\n", s->keys,
		        strerror(-rc), s->keys);
	return rc < 0;
}

/* The bundle for node n: root.pub, node.link (its keys and certificate), etcd's files. */
static int s_bundle(const plx_pxe_settings *s, const uint8_t *sk, const plx_cluster_node *n,
                    char *buf, size_t cap, size_t *len, char *err, size_t size)
{
	char file[PLX_KEYBUNDLE_FILE_MAX];
	ssize_t got = s_slurp(s->keys, "root.pub", file, sizeof file);
	if (got < 0)
		return s_fail(err, size, (int)got, "%s/root.pub: %s", s->keys, strerror(-(int)got));
	*len = 0;
	int rc = plx_keybundle_add(buf, cap, len, "root.pub", 0644, file, (size_t)got);
	plx_link_keys keys;
	plx_name who = {.generation = 0};
	if ((size_t)snprintf(who.label, sizeof who.label, "node.%.*s", (int)sizeof who.label,
	                     n->name) >= sizeof who.label)
		rc = -ENAMETOOLONG;
	char cert[PLX_CERT_MAX];
	if (rc == 0)
		rc = plx_link_issue(sk, &who, &keys, cert, sizeof cert);
	int handed = rc == 0 ? plx_link_handover(&keys, cert, file, sizeof file) : rc;
	rc = handed < 0 ? handed
	                : plx_keybundle_add(buf, cap, len, "node.link", 0600, file, (size_t)handed);
	sodium_memzero(&keys, sizeof keys);
	for (size_t i = 0; rc == 0 && i < sizeof s_etcd_files / sizeof *s_etcd_files; i++) {
		got = s_slurp(s->keys, s_etcd_files[i].name, file, sizeof file);
		if (got == -ENOENT)
			continue;
		rc = got < 0 ? (int)got
		             : plx_keybundle_add(buf, cap, len, s_etcd_files[i].name,
		                                 s_etcd_files[i].mode, file, (size_t)got);
	}
	sodium_memzero(file, sizeof file);
	return rc < 0 ? s_fail(err, size, rc, "node %s's keys: %s", n->name, strerror(-rc)) : 0;
}

/* Writes data into path with mode 0600, replacing it. */
static int s_write_secret(const char *path, const char *data, size_t n)
{
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int rc = write(fd, data, n) == (ssize_t)n ? 0 : -EIO;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	return rc;
}

/* http/cgi-bin/keys: the bundle of the address asking (REMOTE_ADDR), 403 for any other. */
static int s_cgi(const char *dir, const char *keys_dir, char *err, size_t size)
{
	char path[PATH_MAX + 64], text[2 * PATH_MAX + 1024];
	if (strchr(keys_dir, '\''))
		return s_fail(err, size, -EINVAL, "%s%s: a quote in the path", keys_dir, "");
	snprintf(path, sizeof path, "%s/http/cgi-bin", dir);
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return s_fail(err, size, -errno, "%s: %s", path, strerror(errno));
	snprintf(text, sizeof text,
	         "#!/bin/sh\n"
	         "# plexus pxe: a node's keys, only to the address they were issued for.\n"
	         "a=\"${REMOTE_ADDR#::ffff:}\"\n"
	         "case \"$a\" in\n"
	         "'' | *[!0-9.]*) ;;\n"
	         "*)\n"
	         "\tif [ -f '%s/'\"$a\" ]; then\n"
	         "\t\tprintf 'Content-Type: application/octet-stream\\r\\n\\r\\n'\n"
	         "\t\texec cat '%s/'\"$a\"\n"
	         "\tfi\n"
	         "\t;;\n"
	         "esac\n"
	         "printf 'Status: 403 Forbidden\\r\\nContent-Type: text/plain\\r\\n\\r\\n'\n"
	         "echo \"no keys for $a\"\n",
	         keys_dir, keys_dir);
	snprintf(path, sizeof path, "%s/http/cgi-bin/keys", dir);
	FILE *f = fopen(path, "we");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0 || chmod(path, 0755) != 0)
		return s_fail(err, size, -EIO, "%s: cannot write%s", path, "");
	return 0;
}

int plx_pxe_keys_write(const plx_cluster *c, const plx_pxe_settings *s, const char *dir, char *err,
                       size_t size)
{
	if (!s->keys[0])
		return 0;
	char keys_dir[PATH_MAX + 16], real[PATH_MAX], path[PATH_MAX + 64];
	if (!realpath(dir, real))
		return s_fail(err, size, -errno, "%s: %s", dir, strerror(errno));
	snprintf(keys_dir, sizeof keys_dir, "%s/keys", real);
	if ((mkdir(keys_dir, 0700) != 0 && errno != EEXIST) || chmod(keys_dir, 0700) != 0)
		return s_fail(err, size, -errno, "%s: %s", keys_dir, strerror(errno));
	uint8_t sk[PLX_TRUST_SECRET];
	int rc = plx_link_issuer(s->keys, sk);
	if (rc < 0)
		return s_fail(err, size, rc, "[pxe] keys: %s/root.key: %s", s->keys, strerror(-rc));
	char *buf = malloc(PLX_KEYBUNDLE_MAX);
	for (size_t i = 0; rc == 0 && buf && i < c->nnodes; i++) {
		size_t len = 0;
		rc = s_bundle(s, sk, &c->nodes[i], buf, PLX_KEYBUNDLE_MAX, &len, err, size);
		snprintf(path, sizeof path, "%s/%s", keys_dir, c->nodes[i].addr);
		if (rc == 0 && (rc = s_write_secret(path, buf, len)) < 0)
			s_fail(err, size, rc, "%s: %s", path, strerror(-rc));
	}
	sodium_memzero(sk, sizeof sk);
	if (buf)
		sodium_memzero(buf, PLX_KEYBUNDLE_MAX);
	free(buf);
	if (!buf)
		return s_fail(err, size, -ENOMEM, "%s%s: out of memory", "", "");
	return rc < 0 ? rc : s_cgi(real, keys_dir, err, size);
}
