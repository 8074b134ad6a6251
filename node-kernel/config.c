/*
 * config.c — plexus-node's identity and settings: options first, the kernel command line as
 * the fallback.
 *
 * Entry points: node_config_parse, node_config_usage, node_label_ok.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "node.h"

const char node_config_usage[] =
    "usage: plexus-node --node NAME --addr IP [options]\n"
    "       plexus-node --fetch-keys URL LABEL DIR\n"
    "       plexus-node --join-etcd URLS NAME PEER_URL FILE\n"
    "  --node NAME          this node's name (plexus.node=)\n"
    "  --addr IP            this node's IPv4 address, published for peers (plexus.addr=)\n"
    "  --etcd URL[,URL...]  etcd members (plexus.etcd=; default http://127.0.0.1:2379)\n"
    "  --cluster NAME       cluster name (plexus.cluster=; default \"default\")\n"
    "  --lease-ttl SECONDS  TTL of the node's lease, 1..3600 (default $PLEXUS_LEASE_TTL,\n"
    "                       else 2)\n"
    "  --rs-label LABEL     the label allowed to start, stop and signal services, and to\n"
    "                       which exits are reported (default rs)\n"
    "  --log-dir DIR        where <label>.log files go (default /var/log/plexus)\n"
    "  --bind tcp://IP:PORT the node's inbound address (default tcp://ADDR:*)\n"
    "  --grace MS           SIGTERM to SIGKILL when stopping services (default 2000)\n"
    "  --cmdline FILE       the kernel command line to fall back on (default /proc/cmdline)\n"
    "--fetch-keys: makes a key pair, has the PXE server at URL certify its public half for\n"
    "LABEL (node.NAME), and writes DIR/root.pub and DIR/LABEL.link (mode 0600) for\n"
    "PLEXUS_KEYS=DIR PLEXUS_LINK=DIR/LABEL.link; plexus-init runs it (docs/security.md).\n"
    "--join-etcd: asks the etcd members at URLS how member NAME (raft at PEER_URL) starts on\n"
    "an empty data directory: exit 0 when it ran before and was replaced by a new entry, FILE\n"
    "then holding --initial-cluster for --initial-cluster-state existing; 75 (EX_TEMPFAIL)\n"
    "to start as new (nobody answered, or its entry never started); plexus-init runs it\n"
    "(docs/deploy.md \"Several etcd members\").\n";

/* Settings as strings, before validation; NULL = not given. */
typedef struct s_raw {
	const char *node, *etcd, *addr, *cluster, *ttl, *rs, *log_dir, *bind, *grace, *cmdline;
	bool help;
} s_raw;

/* The kernel command line's plexus.* values (copies). */
typedef struct s_kernel {
	char *node, *etcd, *addr, *cluster;
} s_kernel;

static int s_err(char *err, size_t size, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, size, fmt, ap);
	va_end(ap);
	return code;
}

/* Parses the options into raw. Returns 0 or EX_USAGE. */
static int s_options(s_raw *raw, int argc, char **argv, char *err, size_t size)
{
	static const struct option longs[] = {{"node", required_argument, NULL, 'n'},
	                                      {"etcd", required_argument, NULL, 'e'},
	                                      {"addr", required_argument, NULL, 'a'},
	                                      {"cluster", required_argument, NULL, 'c'},
	                                      {"lease-ttl", required_argument, NULL, 't'},
	                                      {"rs-label", required_argument, NULL, 'r'},
	                                      {"log-dir", required_argument, NULL, 'l'},
	                                      {"bind", required_argument, NULL, 'b'},
	                                      {"grace", required_argument, NULL, 'g'},
	                                      {"cmdline", required_argument, NULL, 'k'},
	                                      {"help", no_argument, NULL, 'h'},
	                                      {NULL, 0, NULL, 0}};
	const char **slot[128] = {
	    ['n'] = &raw->node,  ['e'] = &raw->etcd,   ['a'] = &raw->addr,    ['c'] = &raw->cluster,
	    ['t'] = &raw->ttl,   ['r'] = &raw->rs,     ['l'] = &raw->log_dir, ['b'] = &raw->bind,
	    ['g'] = &raw->grace, ['k'] = &raw->cmdline};
	optind = 0;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
		if (c == 'h')
			raw->help = true;
		else if (c > 0 && c < 128 && slot[c])
			*slot[c] = optarg;
		else if (c == ':')
			return s_err(err, size, EX_USAGE, "option %s needs a value",
			             argv[optind - 1]);
		else
			return s_err(err, size, EX_USAGE, "unknown option %s", argv[optind - 1]);
	}
	if (optind < argc)
		return s_err(err, size, EX_USAGE, "unexpected argument '%s'", argv[optind]);
	return 0;
}

/* Copies the value of a plexus.<key>= word, without surrounding double quotes. */
static char *s_word_value(const char *word, size_t len)
{
	if (len >= 2 && word[0] == '"' && word[len - 1] == '"') {
		word++;
		len -= 2;
	}
	return strndup(word, len);
}

/* Reads the kernel command line file. Returns 0, or EX_NOINPUT when an explicit file cannot
 * be read (the default /proc/cmdline missing is not an error). */
static int s_kernel_read(s_kernel *k, const char *path, bool explicit, char *err, size_t size)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return explicit ? s_err(err, size, EX_NOINPUT, "cannot read %s: %s", path,
		                        strerror(errno))
		                : 0;
	char line[8192];
	size_t n = fread(line, 1, sizeof line - 1, f);
	fclose(f);
	line[n] = '\0';
	struct {
		const char *key;
		char **out;
	} keys[] = {{"plexus.node=", &k->node},
	            {"plexus.etcd=", &k->etcd},
	            {"plexus.addr=", &k->addr},
	            {"plexus.cluster=", &k->cluster}};
	for (char *p = line; *p;) {
		while (*p && isspace((unsigned char)*p))
			p++;
		size_t len = 0;
		for (bool quoted = false; p[len] && (quoted || !isspace((unsigned char)p[len]));
		     len++)
			quoted ^= p[len] == '"';
		for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
			size_t kl = strlen(keys[i].key);
			if (len >= kl && strncmp(p, keys[i].key, kl) == 0) {
				free(*keys[i].out);
				*keys[i].out = s_word_value(p + kl, len - kl);
			}
		}
		p += len;
	}
	return 0;
}

static void s_kernel_free(s_kernel *k)
{
	free(k->node);
	free(k->etcd);
	free(k->addr);
	free(k->cluster);
}

/* Names (node, cluster): 1..max-1 bytes of [A-Za-z0-9_-], not starting with '-'. */
static bool s_name_ok(const char *s, size_t max)
{
	size_t len = strlen(s);
	if (len == 0 || len >= max || s[0] == '-')
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
			return false;
	return true;
}

bool node_label_ok(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len >= PLX_LABEL_MAX || s[0] == '.' || s[0] == '-')
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.')
			return false;
	return true;
}

/* Every comma-separated URL starts with http:// or https:// and has a host. */
static bool s_etcd_ok(const char *s)
{
	if (!*s || strlen(s) >= NODE_ETCD_MAX)
		return false;
	for (const char *p = s; p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		size_t scheme = strncmp(p, "http://", 7) == 0    ? 7
		                : strncmp(p, "https://", 8) == 0 ? 8
		                                                 : 0;
		if (!scheme || len <= scheme)
			return false;
		p = end ? end + 1 : NULL;
	}
	return true;
}

static bool s_addr_ok(const char *s)
{
	struct in_addr a;
	return strlen(s) < 16 && inet_pton(AF_INET, s, &a) == 1;
}

static bool s_int_ok(const char *s, long lo, long hi, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < lo || v > hi)
		return false;
	*out = (int)v;
	return true;
}

/* Picks the option, else the kernel value, else the default; code says whose fault. */
static const char *s_pick(const char *opt, const char *kernel, const char *fallback, int *code)
{
	*code = opt ? EX_USAGE : EX_CONFIG;
	return opt ? opt : kernel ? kernel : fallback;
}

/* Validates the identity (options or kernel command line) into cfg. */
static int s_identity(node_config *cfg, const s_raw *raw, const s_kernel *k, char *err, size_t size)
{
	int code;
	const char *v = s_pick(raw->node, k->node, NULL, &code);
	if (!v)
		return s_err(err, size, EX_CONFIG, "no node name: give --node or plexus.node=");
	if (!s_name_ok(v, PLX_LABEL_MAX - 5)) /* the label node.<name> must fit */
		return s_err(err, size, code, "bad node name '%s' (letters, digits, '_', '-')", v);
	strcpy(cfg->name, v);
	if (!(v = s_pick(raw->addr, k->addr, NULL, &code)))
		return s_err(err, size, EX_CONFIG, "no address: give --addr or plexus.addr=");
	if (!s_addr_ok(v))
		return s_err(err, size, code, "bad address '%s' (an IPv4 address)", v);
	strcpy(cfg->addr, v);
	v = s_pick(raw->etcd, k->etcd, PLX_ETCD_DEFAULT_URL, &code);
	if (!s_etcd_ok(v))
		return s_err(err, size, code, "bad etcd URL list '%s' (http://IP:PORT,...)", v);
	strcpy(cfg->etcd, v);
	v = s_pick(raw->cluster, k->cluster, "default", &code);
	if (!s_name_ok(v, sizeof cfg->cluster))
		return s_err(err, size, code, "bad cluster name '%s' (letters, digits, '_', '-')",
		             v);
	strcpy(cfg->cluster, v);
	return 0;
}

/* Validates the settings that come from options only. */
static int s_settings(node_config *cfg, const s_raw *raw, char *err, size_t size)
{
	const char *ttl = raw->ttl ? raw->ttl : getenv("PLEXUS_LEASE_TTL");
	if (ttl && !s_int_ok(ttl, 1, 3600, &cfg->lease_ttl))
		return s_err(err, size, EX_USAGE, "bad %s '%s' (1..3600 seconds)",
		             raw->ttl ? "--lease-ttl" : "$PLEXUS_LEASE_TTL", ttl);
	if (raw->grace && !s_int_ok(raw->grace, 0, 600000, &cfg->grace_ms))
		return s_err(err, size, EX_USAGE, "bad --grace '%s' (0..600000 ms)", raw->grace);
	if (raw->rs && !node_label_ok(raw->rs))
		return s_err(err, size, EX_USAGE, "bad --rs-label '%s'", raw->rs);
	if (raw->rs)
		strcpy(cfg->rs_label, raw->rs);
	if (raw->log_dir && (!*raw->log_dir || strlen(raw->log_dir) >= sizeof cfg->log_dir - 80))
		return s_err(err, size, EX_USAGE, "bad --log-dir '%s'", raw->log_dir);
	if (raw->log_dir)
		strcpy(cfg->log_dir, raw->log_dir);
	if (raw->bind && (strncmp(raw->bind, "tcp://", 6) != 0 || !strchr(raw->bind + 6, ':') ||
	                  strlen(raw->bind) >= sizeof cfg->bind))
		return s_err(err, size, EX_USAGE, "bad --bind '%s' (tcp://IP:PORT)", raw->bind);
	if (raw->bind)
		strcpy(cfg->bind, raw->bind);
	else
		snprintf(cfg->bind, sizeof cfg->bind, "tcp://%s:*", cfg->addr);
	return 0;
}

int node_config_parse(node_config *cfg, int argc, char **argv, char *err, size_t errsize)
{
	s_raw raw = {0};
	s_kernel k = {0};
	node_config c = {.lease_ttl = NODE_DEFAULT_TTL,
	                 .grace_ms = NODE_DEFAULT_GRACE,
	                 .rs_label = "rs",
	                 .log_dir = NODE_DEFAULT_LOG_DIR};
	int rc = s_options(&raw, argc, argv, err, errsize);
	if (rc == 0 && raw.help) {
		cfg->help = true;
		return 0;
	}
	if (rc == 0)
		rc = s_kernel_read(&k, raw.cmdline ? raw.cmdline : "/proc/cmdline", raw.cmdline,
		                   err, errsize);
	if (rc == 0)
		rc = s_identity(&c, &raw, &k, err, errsize);
	if (rc == 0)
		rc = s_settings(&c, &raw, err, errsize);
	s_kernel_free(&k);
	if (rc == 0)
		*cfg = c;
	return rc;
}
