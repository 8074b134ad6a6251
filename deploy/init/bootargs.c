/*
 * bootargs.c — the kernel command line's plexus.* settings (plexus/bootargs.h).
 *
 * Entry points: plx_bootargs_parse, plx_bootargs_has_role.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <plexus/bootargs.h>

static int s_fail(char *err, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, size, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Letters, digits, '_' and '-', 1..58 characters. */
static bool s_name_ok(const char *v)
{
	size_t n = strlen(v);
	if (n == 0 || n > 58)
		return false;
	for (; *v; v++)
		if (!((*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') ||
		      (*v >= '0' && *v <= '9') || *v == '_' || *v == '-'))
			return false;
	return true;
}

static bool s_ipv4_ok(const char *v)
{
	struct in_addr a;
	return inet_pton(AF_INET, v, &a) == 1;
}

/* Every comma-separated member starts with http:// or https:// and has a host. */
static bool s_urls_ok(const char *v)
{
	if (!*v)
		return false;
	while (*v) {
		size_t skip = strncmp(v, "http://", 7) == 0    ? 7
		              : strncmp(v, "https://", 8) == 0 ? 8
		                                               : 0;
		if (skip == 0 || v[skip] == '\0' || v[skip] == ',')
			return false;
		const char *comma = strchr(v, ',');
		if (!comma)
			break;
		v = comma + 1;
	}
	return *v != '\0'; /* after a trailing comma nothing is left */
}

/* Every comma-separated member is NAME=URL: a node name, then an http:// or https:// URL. */
static bool s_peers_ok(const char *v)
{
	char name[64];
	if (!*v)
		return false;
	while (*v) {
		const char *eq = strchr(v, '='), *comma = strchr(v, ',');
		if (!eq || (comma && comma < eq) || (size_t)(eq - v) >= sizeof name)
			return false;
		memcpy(name, v, (size_t)(eq - v));
		name[eq - v] = '\0';
		size_t skip = strncmp(eq + 1, "http://", 7) == 0    ? 7
		              : strncmp(eq + 1, "https://", 8) == 0 ? 8
		                                                    : 0;
		if (!s_name_ok(name) || skip == 0 || eq[1 + skip] == '\0' || eq[1 + skip] == ',')
			return false;
		if (!comma)
			return true;
		v = comma + 1;
	}
	return false; /* a trailing comma */
}

/* "IP/PREFIX" with PREFIX 1..32. */
static bool s_cidr_ok(const char *v)
{
	char ip[24];
	const char *slash = strchr(v, '/');
	if (!slash || (size_t)(slash - v) >= sizeof ip)
		return false;
	memcpy(ip, v, (size_t)(slash - v));
	ip[slash - v] = '\0';
	char *end;
	long prefix = strtol(slash + 1, &end, 10);
	return s_ipv4_ok(ip) && slash[1] && !*end && prefix >= 1 && prefix <= 32;
}

static bool s_int_in(const char *v, int lo, int hi, int *out)
{
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (!*v || *end || errno || n < lo || n > hi)
		return false;
	*out = (int)n;
	return true;
}

static int s_copy(char *dst, size_t cap, const char *key, const char *v, char *err, size_t size)
{
	if (strlen(v) >= cap)
		return s_fail(err, size,
		              "plexus.%s: value of %zu bytes is too long: expected at most %zu",
		              key, strlen(v), cap - 1);
	strcpy(dst, v);
	return 0;
}

/* Applies one plexus.KEY=VALUE (key without the prefix). */
static int s_apply(plx_bootargs *a, const char *key, const char *v, char *err, size_t size)
{
	if (strcmp(key, "node") == 0) {
		if (!s_name_ok(v))
			return s_fail(
			    err, size,
			    "plexus.node=\"%s\": expected 1-58 letters, digits, '_' or '-'", v);
		return s_copy(a->node, sizeof a->node, key, v, err, size);
	}
	if (strcmp(key, "cluster") == 0) {
		if (!s_name_ok(v))
			return s_fail(
			    err, size,
			    "plexus.cluster=\"%s\": expected 1-58 letters, digits, '_' or '-'", v);
		return s_copy(a->cluster, sizeof a->cluster, key, v, err, size);
	}
	if (strcmp(key, "etcd") == 0) {
		if (!s_urls_ok(v))
			return s_fail(err, size,
			              "plexus.etcd=\"%s\": expected http:// or https:// URLs, "
			              "comma-separated",
			              v);
		return s_copy(a->etcd, sizeof a->etcd, key, v, err, size);
	}
	if (strcmp(key, "etcd_peers") == 0) {
		if (!s_peers_ok(v))
			return s_fail(err, size,
			              "plexus.etcd_peers=\"%s\": expected NAME=URL members "
			              "(http:// or https://), comma-separated",
			              v);
		return s_copy(a->etcd_peers, sizeof a->etcd_peers, key, v, err, size);
	}
	if (strcmp(key, "role") == 0)
		return s_copy(a->role, sizeof a->role, key, v, err, size);
	if (strcmp(key, "addr") == 0) {
		if (!s_cidr_ok(v))
			return s_fail(
			    err, size,
			    "plexus.addr=\"%s\": expected an IPv4 address with its prefix, "
			    "like 10.0.0.5/24",
			    v);
		return s_copy(a->addr, sizeof a->addr, key, v, err, size);
	}
	if (strcmp(key, "gw") == 0) {
		if (!s_ipv4_ok(v))
			return s_fail(err, size, "plexus.gw=\"%s\": expected an IPv4 address", v);
		return s_copy(a->gw, sizeof a->gw, key, v, err, size);
	}
	if (strcmp(key, "if") == 0) {
		if (!*v || strlen(v) > 15 || strchr(v, '/'))
			return s_fail(
			    err, size,
			    "plexus.if=\"%s\": expected an interface name of 1-15 characters", v);
		return s_copy(a->iface, sizeof a->iface, key, v, err, size);
	}
	if (strcmp(key, "log") == 0) {
		if (strncmp(v, "http://", 7) != 0 || !v[7])
			return s_fail(err, size, "plexus.log=\"%s\": expected an http:// URL", v);
		return s_copy(a->log, sizeof a->log, key, v, err, size);
	}
	if (strcmp(key, "keys") == 0) {
		if (strncmp(v, "http://", 7) != 0 || !v[7])
			return s_fail(err, size, "plexus.keys=\"%s\": expected an http:// URL", v);
		return s_copy(a->keys, sizeof a->keys, key, v, err, size);
	}
	if (strcmp(key, "shell") == 0) {
		if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0)
			return s_fail(err, size, "plexus.shell=\"%s\": expected 0 or 1", v);
		a->shell = v[0] == '1';
		return 0;
	}
	if (strcmp(key, "dhcp_timeout") == 0) {
		if (!s_int_in(v, 1, 600, &a->dhcp_timeout_s))
			return s_fail(err, size,
			              "plexus.dhcp_timeout=\"%s\": expected whole seconds, 1..600",
			              v);
		return 0;
	}
	if (strcmp(key, "lease_ttl") == 0) {
		if (!s_int_in(v, 1, 3600, &a->lease_ttl_s))
			return s_fail(err, size,
			              "plexus.lease_ttl=\"%s\": expected whole seconds, 1..3600",
			              v);
		return 0;
	}
	return s_fail(
	    err, size,
	    "plexus.%s: unknown setting: expected node, etcd, etcd_peers, cluster, role, addr, gw, "
	    "if, log, keys, shell, dhcp_timeout or lease_ttl",
	    key);
}

/* Copies the next word of *p into word (quotes removed) and advances *p. Returns 1 for a word,
 * 0 at the end, -EINVAL for an unterminated quote or a word longer than cap - 1. */
static int s_next_word(const char **p, char *word, size_t cap)
{
	const char *s = *p;
	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	if (!*s) {
		*p = s;
		return 0;
	}
	size_t n = 0;
	bool quoted = false;
	for (; *s && (quoted || (*s != ' ' && *s != '\t' && *s != '\n')); s++) {
		if (*s == '"') {
			quoted = !quoted;
			continue;
		}
		if (n + 1 >= cap)
			return -EINVAL;
		word[n++] = *s;
	}
	word[n] = '\0';
	*p = s;
	return quoted ? -EINVAL : 1;
}

int plx_bootargs_parse(const char *cmdline, plx_bootargs *out, char *err, size_t size)
{
	plx_bootargs a = {.cluster = "default", .shell = true, .dhcp_timeout_s = 30};
	char word[PLX_BOOTARGS_TEXT_MAX + 64];
	const char *p = cmdline;
	int r;
	while ((r = s_next_word(&p, word, sizeof word)) == 1) {
		if (strncmp(word, "plexus.", 7) != 0)
			continue;
		char *eq = strchr(word, '=');
		if (!eq)
			return s_fail(err, size, "%s: expected plexus.KEY=VALUE", word);
		*eq = '\0';
		if ((r = s_apply(&a, word + 7, eq + 1, err, size)) < 0)
			return r;
	}
	if (r < 0)
		return s_fail(err, size,
		              "kernel command line: a word is too long or its quote is not closed");
	*out = a;
	return 0;
}

bool plx_bootargs_has_role(const plx_bootargs *self, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = self->role; *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (len == n && strncmp(p, word, n) == 0)
			return true;
		if (!comma)
			break;
		p = comma + 1;
	}
	return false;
}
