/*
 * cluster.c — the cluster description parser (plexus/cluster.h): libinih splits lines into
 * sections and key = value pairs; this file checks every value, expands node ranges, resolves
 * names and orders the services by their dependencies.
 *
 * Entry points: plx_cluster_load, plx_cluster_parse, plx_cluster_destroy, plx_cluster_find_node,
 * plx_cluster_find_mac, plx_cluster_find_service, plx_cluster_extra, plx_cluster_expand,
 * plx_restart_name, plx_power_name, plx_cluster_node_has_role.
 *
 * libinih reads through s_reader, which hands it one line at a time: that is how every message
 * knows its line number, and where section headers are read (with their node ranges) before
 * libinih sees them, so an empty section is still checked.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <plexus/cluster.h>

typedef enum s_kind { S_NONE, S_CLUSTER, S_NODE, S_SERVICE, S_EXTRA } s_kind;

/* Settings of the current [node] section, applied to every node of its range at its end. */
typedef struct s_node_tmpl {
	char prefix[PLX_CLUSTER_NAME_MAX], suffix[PLX_CLUSTER_NAME_MAX];
	long lo, hi;
	int width; /* digits, zero-padded; 0: no range */
	plx_cluster_node base;
	bool have_mac, have_addr, have_power;
	int line_mac, line_addr;
} s_node_tmpl;

/* Services during parsing: names as given, resolved at the end. */
typedef struct s_svc_extra {
	char **args;
	size_t nargs;
	int line_node, line_standby, line_depends, line_spare;
	unsigned seen; /* bit per scalar key */
} s_svc_extra;

struct plx_cluster_private {
	char **strings; /* extra-section strings */
	size_t nstrings;
};

typedef struct s_parser {
	plx_cluster *c;
	const plx_cluster_opts *opts;
	const char *fname;
	const char *text;
	size_t pos;
	int lineno;
	char *err;
	size_t errsize;
	int failed; /* line of the first error, 0 none */
	int oom;
	s_kind kind;
	int section_line;
	char section[PLX_CLUSTER_TEXT_MAX];
	unsigned seen; /* scalar keys seen in the current section */
	s_node_tmpl node;
	s_svc_extra *svcx; /* parallel to c->services */
	size_t cap_nodes, cap_services, cap_extra;
	bool cluster_seen;
} s_parser;

static const char *const s_restart_names[] = {"always", "on-failure", "never"};
static const char *const s_power_names[] = {"none", "netns", "command", "qemu"};

const char *plx_restart_name(plx_restart_policy policy)
{
	return (unsigned)policy < 3 ? s_restart_names[policy] : "?";
}

const char *plx_power_name(plx_power_kind kind)
{
	return (unsigned)kind < 4 ? s_power_names[kind] : "?";
}

/* ---- errors ---- */

/* Records the first error, at line (0: no line). Returns 0 (a libinih "failed"). */
static int s_fail(s_parser *p, int line, const char *fmt, ...)
{
	if (p->failed)
		return 0;
	p->failed = line > 0 ? line : -1;
	int n = line > 0 ? snprintf(p->err, p->errsize, "%s:%d: ", p->fname, line)
	                 : snprintf(p->err, p->errsize, "%s: ", p->fname);
	if (n >= 0 && (size_t)n < p->errsize) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errsize - n, fmt, ap);
		va_end(ap);
	}
	return 0;
}

static int s_nomem(s_parser *p)
{
	p->oom = 1;
	return s_fail(p, p->lineno, "out of memory");
}

/* ---- small value parsers ---- */

static bool s_name_ok(const char *s, bool dots)
{
	size_t n = strlen(s);
	if (n == 0 || n > 58)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && !(dots && *s == '.'))
			return false;
	return true;
}

static bool s_mac_parse(const char *s, uint8_t mac[6])
{
	unsigned b[6];
	int n = 0;
	if (strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &n) !=
	        6 ||
	    n != 17)
		return false;
	for (int i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)s[i * 3]) || !isxdigit((unsigned char)s[i * 3 + 1]))
			return false;
		mac[i] = (uint8_t)b[i];
	}
	return true;
}

static void s_mac_text(const uint8_t mac[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
	         mac[5]);
}

/* A duration: "0", or digits followed by ms, s or m. Returns 0 and *ms, or -EINVAL. */
static int s_duration(const char *s, long *ms)
{
	if (strcmp(s, "0") == 0) {
		*ms = 0;
		return 0;
	}
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (end == s || !isdigit((unsigned char)*s) || errno)
		return -EINVAL;
	long mul = strcmp(end, "ms") == 0  ? 1
	           : strcmp(end, "s") == 0 ? 1000
	           : strcmp(end, "m") == 0 ? 60000
	                                   : 0;
	if (!mul || v > 24L * 3600 * 1000 / mul)
		return -EINVAL;
	*ms = v * mul;
	return 0;
}

static int s_duration_key(s_parser *p, const char *key, const char *value, long lo, long hi,
                          int *out)
{
	long ms;
	if (s_duration(value, &ms) < 0)
		return s_fail(p, p->lineno, "%s \"%s\": expected a duration like 500ms, 2s or 1m",
		              key, value);
	if (ms != 0 && (ms < lo || ms > hi))
		return s_fail(p, p->lineno, "%s %s: expected 0 or between %ldms and %lds", key,
		              value, lo, hi / 1000);
	*out = (int)ms;
	return 1;
}

static int s_copy(s_parser *p, const char *key, const char *value, char *out, size_t size)
{
	if (strlen(value) >= size)
		return s_fail(p, p->lineno, "%s: expected at most %zu characters", key, size - 1);
	strcpy(out, value);
	return 1;
}

/* Marks scalar key number bit as seen in this section; a second time is an error. */
static int s_once(s_parser *p, unsigned bit, const char *key)
{
	if (p->seen & (1u << bit))
		return s_fail(p, p->lineno, "%s given twice in [%s]: expected it once", key,
		              p->section);
	p->seen |= 1u << bit;
	return 1;
}

/* Appends a copy of s to the NULL-terminated vector *v of *n strings. */
static int s_push(s_parser *p, char ***v, size_t *n, const char *s, size_t len)
{
	char **nv = realloc(*v, (*n + 2) * sizeof **v);
	if (!nv)
		return s_nomem(p);
	*v = nv;
	if (!(nv[*n] = strndup(s, len)))
		return s_nomem(p);
	nv[++*n] = NULL;
	return 1;
}

/* Splits value into words (whitespace; '...' literal; "..." with \" and \\; \x outside quotes)
 * appended to *v. */
static int s_words(s_parser *p, const char *key, const char *value, char ***v, size_t *n)
{
	size_t len = strlen(value);
	char *w = malloc(len + 1);
	if (!w)
		return s_nomem(p);
	const char *s = value;
	int ok = 1;
	while (ok) {
		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		size_t wl = 0;
		char q = 0;
		for (; *s && (q || !isspace((unsigned char)*s)); s++) {
			if (q == '\'' && *s == '\'')
				q = 0;
			else if (q == '"' && *s == '"')
				q = 0;
			else if (!q && (*s == '\'' || *s == '"'))
				q = *s;
			else if (q != '\'' && *s == '\\' && s[1])
				w[wl++] = *++s;
			else
				w[wl++] = *s;
		}
		if (q) {
			ok = s_fail(p, p->lineno,
			            "%s: unterminated %c quote: expected a closing %c", key, q, q);
			break;
		}
		ok = s_push(p, v, n, w, wl);
	}
	free(w);
	return ok;
}

/* ---- names and ranges ---- */

/* Parses "prefix[lo-hi]suffix" or a plain name into t. Returns 1 or a failure. */
static int s_range_parse(s_parser *p, const char *spec, s_node_tmpl *t)
{
	const char *open = strchr(spec, '[');
	t->width = 0;
	t->lo = t->hi = 0;
	if (!open) {
		if (!s_name_ok(spec, false))
			return s_fail(
			    p, p->lineno,
			    "node name \"%s\": expected 1 to 58 letters, digits, '_' or '-'", spec);
		snprintf(t->prefix, sizeof t->prefix, "%s", spec);
		t->suffix[0] = '\0';
		return 1;
	}
	char lo[16], hi[16];
	int used = 0;
	size_t plen = (size_t)(open - spec);
	if (plen >= sizeof t->prefix || sscanf(open, "[%15[0-9]-%15[0-9]]%n", lo, hi, &used) != 2 ||
	    used == 0)
		return s_fail(
		    p, p->lineno,
		    "node range \"%s\": expected NAME[FIRST-LAST] like n[1-8] or n[01-16]", spec);
	memcpy(t->prefix, spec, plen);
	t->prefix[plen] = '\0';
	snprintf(t->suffix, sizeof t->suffix, "%s", open + used);
	t->lo = strtol(lo, NULL, 10);
	t->hi = strtol(hi, NULL, 10);
	t->width = lo[0] == '0' && lo[1] ? (int)strlen(lo) : 1;
	if (t->hi < t->lo || t->hi - t->lo >= PLX_CLUSTER_MAX_NODES)
		return s_fail(p, p->lineno,
		              "node range \"%s\": expected FIRST <= LAST and at most %d nodes",
		              spec, PLX_CLUSTER_MAX_NODES);
	char probe[PLX_CLUSTER_NAME_MAX * 2];
	snprintf(probe, sizeof probe, "%s%0*ld%s", t->prefix, t->width, t->hi, t->suffix);
	if (!s_name_ok(probe, false) || strchr(t->suffix, '['))
		return s_fail(p, p->lineno,
		              "node range \"%s\" makes \"%s\": expected names of 1 to 58 letters, "
		              "digits, '_' or '-'",
		              spec, probe);
	return 1;
}

/* Writes the i-th name of range t (checked to fit by s_range_parse) into out. */
static void s_range_name(const s_node_tmpl *t, long i, char out[PLX_CLUSTER_NAME_MAX])
{
	int n = t->width ? snprintf(out, PLX_CLUSTER_NAME_MAX, "%s%0*ld%s", t->prefix, t->width, i,
	                            t->suffix)
	                 : snprintf(out, PLX_CLUSTER_NAME_MAX, "%s", t->prefix);
	if (n >= PLX_CLUSTER_NAME_MAX)
		out[PLX_CLUSTER_NAME_MAX - 1] = '\0';
}

/* Appends the node names of a list ("n1, n[2-3] n4") to *v. */
static int s_name_list(s_parser *p, const char *key, const char *value,
                       char (**v)[PLX_CLUSTER_NAME_MAX], size_t *n, bool nodes)
{
	char *copy = strdup(value);
	if (!copy)
		return s_nomem(p);
	int ok = 1;
	char *save = NULL;
	for (char *w = strtok_r(copy, ", \t", &save); w && ok; w = strtok_r(NULL, ", \t", &save)) {
		s_node_tmpl t = {0};
		if (nodes) {
			ok = s_range_parse(p, w, &t);
		} else if (!s_name_ok(w, true)) {
			ok = s_fail(
			    p, p->lineno,
			    "%s \"%s\": expected service labels (letters, digits, '_', '-', '.')",
			    key, w);
		} else {
			snprintf(t.prefix, sizeof t.prefix, "%s", w);
		}
		for (long i = t.lo; ok && i <= t.hi; i++) {
			void *nv = realloc(*v, (*n + 1) * sizeof **v);
			if (!nv) {
				ok = s_nomem(p);
				break;
			}
			*v = nv;
			s_range_name(&t, i, (*v)[*n]);
			(*n)++;
		}
	}
	free(copy);
	return ok;
}

/* ---- sections ---- */

static void s_service_free(plx_cluster_service *s)
{
	for (size_t i = 0; i < s->argc; i++)
		free(s->argv[i]);
	free(s->argv);
	for (size_t i = 0; i < s->nenv; i++)
		free(s->env[i]);
	free(s->env);
	free(s->standby);
	free(s->depends);
}

/* Checks the finished [node] section and adds its nodes. */
static int s_node_end(s_parser *p)
{
	s_node_tmpl *t = &p->node;
	plx_cluster_node *b = &t->base;
	int line = p->section_line;
	if (!t->have_mac)
		return s_fail(p, line, "[%s] has no mac: expected mac = 52:54:00:12:34:56",
		              p->section);
	if (!t->have_addr)
		return s_fail(p, line, "[%s] has no addr: expected addr = 10.0.0.11", p->section);
	if (b->power == PLX_POWER_NETNS && !b->power_dir[0])
		return s_fail(p, line,
		              "[%s] has power = netns but no power.dir: expected a directory",
		              p->section);
	if (b->power == PLX_POWER_COMMAND && !b->power_cycle[0])
		return s_fail(p, line,
		              "[%s] has power = command but no power.cycle: expected a command",
		              p->section);
	if (b->power == PLX_POWER_QEMU && !b->power_qmp[0])
		return s_fail(p, line,
		              "[%s] has power = qemu but no power.qmp: expected a QMP socket path",
		              p->section);
	uint64_t mac0 = 0;
	for (int i = 0; i < 6; i++)
		mac0 = mac0 << 8 | b->mac[i];
	uint32_t addr0 = ntohl(b->addr_be);
	long count = t->width ? t->hi - t->lo + 1 : 1;
	if (mac0 + (uint64_t)count - 1 > 0xffffffffffffull)
		return s_fail(p, t->line_mac, "mac %s: expected room for %ld consecutive addresses",
		              b->mac_text, count);
	if ((uint64_t)addr0 + (uint64_t)count - 1 > 0xffffffffull ||
	    ((addr0 & 0xff) + (uint64_t)count - 1) > 254)
		return s_fail(p, t->line_addr,
		              "addr %s: expected room for %ld consecutive addresses in its /24 "
		              "(the last octet stays below 255)",
		              b->addr, count);
	if (p->c->nnodes + (size_t)count > PLX_CLUSTER_MAX_NODES)
		return s_fail(p, line, "too many nodes: expected at most %d",
		              PLX_CLUSTER_MAX_NODES);
	if (p->c->nnodes + (size_t)count > p->cap_nodes) {
		size_t cap = (p->c->nnodes + (size_t)count) * 2;
		plx_cluster_node *nv = realloc(p->c->nodes, cap * sizeof *nv);
		if (!nv)
			return s_nomem(p);
		p->c->nodes = nv;
		p->cap_nodes = cap;
	}
	for (long i = 0; i < count; i++) {
		plx_cluster_node *n = &p->c->nodes[p->c->nnodes++];
		*n = *b;
		s_range_name(t, t->lo + i, n->name);
		uint64_t mac = mac0 + (uint64_t)i;
		for (int k = 5; k >= 0; k--, mac >>= 8)
			n->mac[k] = (uint8_t)(mac & 0xff);
		s_mac_text(n->mac, n->mac_text);
		n->addr_be = htonl(addr0 + (uint32_t)i);
		inet_ntop(AF_INET, &n->addr_be, n->addr, sizeof n->addr);
		n->line = line;
	}
	return 1;
}

static int s_service_end(s_parser *p)
{
	plx_cluster_service *s = &p->c->services[p->c->nservices - 1];
	s_svc_extra *x = &p->svcx[p->c->nservices - 1];
	if (!s->program[0])
		return s_fail(p, p->section_line,
		              "[%s] has no program: expected program = PATH or a name in PATH",
		              p->section);
	if (!s->node[0])
		return s_fail(p, p->section_line, "[%s] has no node: expected node = NAME",
		              p->section);
	if (s_push(p, &s->argv, &s->argc, s->program, strlen(s->program)) != 1)
		return 0;
	for (size_t i = 0; i < x->nargs; i++)
		if (s_push(p, &s->argv, &s->argc, x->args[i], strlen(x->args[i])) != 1)
			return 0;
	return 1;
}

static int s_section_end(s_parser *p)
{
	if (p->failed)
		return 0;
	if (p->kind == S_NODE)
		return s_node_end(p);
	if (p->kind == S_SERVICE)
		return s_service_end(p);
	return 1;
}

static bool s_is_extra(s_parser *p, const char *name)
{
	if (!p->opts || !p->opts->extra_sections)
		return false;
	for (const char *const *e = p->opts->extra_sections; *e; e++)
		if (strcmp(*e, name) == 0)
			return true;
	return false;
}

static int s_service_begin(s_parser *p, const char *label)
{
	if (!s_name_ok(label, true))
		return s_fail(
		    p, p->lineno,
		    "service label \"%s\": expected 1 to 58 letters, digits, '_', '-' or '.'",
		    label);
	if (p->c->nservices == p->cap_services) {
		size_t cap = p->cap_services ? p->cap_services * 2 : 8;
		plx_cluster_service *nv = realloc(p->c->services, cap * sizeof *nv);
		if (!nv)
			return s_nomem(p);
		p->c->services = nv;
		s_svc_extra *nx = realloc(p->svcx, cap * sizeof *nx);
		if (!nx)
			return s_nomem(p);
		p->svcx = nx;
		p->cap_services = cap;
	}
	plx_cluster_service *s = &p->c->services[p->c->nservices];
	memset(s, 0, sizeof *s);
	memset(&p->svcx[p->c->nservices], 0, sizeof *p->svcx);
	p->c->nservices++;
	snprintf(s->label, sizeof s->label, "%s", label);
	s->restart = PLX_RESTART_ALWAYS;
	s->heartbeat_ms = 5000;
	s->backoff_ms = 1000;
	s->backoff_cap_ms = 60000;
	s->max_restarts = 10;
	s->init_retries = 5;
	s->init_timeout_ms = 30000;
	s->line = p->lineno;
	return 1;
}

/* A section header line "[...]": closes the previous section and opens this one. */
static int s_section_begin(s_parser *p, const char *line)
{
	if (!s_section_end(p))
		return 0;
	const char *end = NULL;
	for (int depth = 0, i = 0; line[i] && !end; i++) {
		depth += line[i] == '[' ? 1 : line[i] == ']' ? -1 : 0;
		if (depth == 0)
			end = line + i;
	}
	const char *rest = end ? end + 1 : NULL;
	while (rest && (*rest == ' ' || *rest == '\t' || *rest == '\r' || *rest == '\n'))
		rest++;
	if (!end || (*rest && *rest != ';' && *rest != '#'))
		return s_fail(p, p->lineno,
		              "section header: expected [cluster], [node NAME] or "
		              "[service LABEL] alone on its line");
	size_t len = (size_t)(end - line - 1);
	if (len >= sizeof p->section)
		return s_fail(p, p->lineno, "section header: expected at most %zu characters",
		              sizeof p->section - 1);
	memcpy(p->section, line + 1, len);
	p->section[len] = '\0';
	p->section_line = p->lineno;
	p->seen = 0;
	char word[32] = "", arg[PLX_CLUSTER_TEXT_MAX] = "", more[2] = "";
	int n = sscanf(p->section, " %31s %1023s %1s", word, arg, more);
	if (strcmp(word, "cluster") == 0 && n == 1) {
		if (p->cluster_seen)
			return s_fail(p, p->lineno, "second [cluster] section: expected one");
		p->cluster_seen = true;
		p->kind = S_CLUSTER;
		return 1;
	}
	if (strcmp(word, "node") == 0 && n == 2) {
		p->kind = S_NODE;
		memset(&p->node, 0, sizeof p->node);
		return s_range_parse(p, arg, &p->node);
	}
	if (strcmp(word, "service") == 0 && n == 2) {
		p->kind = S_SERVICE;
		return s_service_begin(p, arg);
	}
	if (s_is_extra(p, p->section)) {
		p->kind = S_EXTRA;
		return 1;
	}
	return s_fail(p, p->lineno,
	              "section [%s]: expected [cluster], [node NAME] or [service LABEL]",
	              p->section);
}

/* ---- keys ---- */

static int s_cluster_key(s_parser *p, const char *key, const char *value)
{
	plx_cluster *c = p->c;
	if (strcmp(key, "name") == 0) {
		if (!s_once(p, 0, key))
			return 0;
		if (!s_name_ok(value, false))
			return s_fail(p, p->lineno,
			              "name \"%s\": expected 1 to 58 letters, digits, '_' or '-'",
			              value);
		return s_copy(p, key, value, c->name, sizeof c->name);
	}
	if (strcmp(key, "etcd") == 0) {
		if (!s_once(p, 1, key))
			return 0;
		if (strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0)
			return s_fail(
			    p, p->lineno,
			    "etcd \"%s\": expected http:// or https:// URLs, comma-separated",
			    value);
		return s_copy(p, key, value, c->etcd, sizeof c->etcd);
	}
	if (strcmp(key, "lease_ttl") == 0) {
		if (!s_once(p, 2, key))
			return 0;
		int ms;
		if (!s_duration_key(p, key, value, 1000, 3600 * 1000, &ms))
			return 0;
		if (ms == 0 || ms % 1000)
			return s_fail(p, p->lineno,
			              "lease_ttl %s: expected whole seconds, 1s to 3600s", value);
		c->lease_ttl_ms = ms;
		return 1;
	}
	return s_fail(p, p->lineno,
	              "unknown key \"%s\" in [cluster]: expected name, etcd or "
	              "lease_ttl",
	              key);
}

static int s_node_key(s_parser *p, const char *key, const char *value)
{
	s_node_tmpl *t = &p->node;
	plx_cluster_node *b = &t->base;
	if (strcmp(key, "mac") == 0) {
		if (!s_once(p, 0, key))
			return 0;
		if (!s_mac_parse(value, b->mac))
			return s_fail(
			    p, p->lineno,
			    "mac \"%s\": expected six hex byte pairs like 52:54:00:12:34:56",
			    value);
		s_mac_text(b->mac, b->mac_text);
		t->have_mac = true;
		t->line_mac = p->lineno;
		return 1;
	}
	if (strcmp(key, "addr") == 0) {
		if (!s_once(p, 1, key))
			return 0;
		struct in_addr a;
		if (inet_pton(AF_INET, value, &a) != 1)
			return s_fail(p, p->lineno,
			              "addr \"%s\": expected an IPv4 address like 10.0.0.11",
			              value);
		b->addr_be = a.s_addr;
		inet_ntop(AF_INET, &a, b->addr, sizeof b->addr);
		t->have_addr = true;
		t->line_addr = p->lineno;
		return 1;
	}
	if (strcmp(key, "role") == 0)
		return s_once(p, 2, key) && s_copy(p, key, value, b->role, sizeof b->role);
	if (strcmp(key, "power") == 0) {
		if (!s_once(p, 3, key))
			return 0;
		for (int k = 0; k < 4; k++)
			if (strcmp(value, s_power_names[k]) == 0) {
				b->power = (plx_power_kind)k;
				return 1;
			}
		return s_fail(p, p->lineno, "power \"%s\": expected none, netns, command or qemu",
		              value);
	}
	if (strcmp(key, "power.dir") == 0)
		return s_once(p, 4, key) &&
		       s_copy(p, key, value, b->power_dir, sizeof b->power_dir);
	if (strcmp(key, "power.cycle") == 0)
		return s_once(p, 5, key) &&
		       s_copy(p, key, value, b->power_cycle, sizeof b->power_cycle);
	if (strcmp(key, "power.qmp") == 0)
		return s_once(p, 6, key) &&
		       s_copy(p, key, value, b->power_qmp, sizeof b->power_qmp);
	if (strcmp(key, "power.timeout") == 0)
		return s_once(p, 7, key) &&
		       s_duration_key(p, key, value, 100, 3600 * 1000, &b->power_timeout_ms);
	return s_fail(p, p->lineno,
	              "unknown key \"%s\" in [%s]: expected mac, addr, role, power, power.dir, "
	              "power.cycle, power.qmp or power.timeout",
	              key, p->section);
}

/* callers = PATTERN, PATTERN...: label patterns (letters, digits, '.', '_', '-', and the
 * wildcards '*', '?'), at most 32. */
static int s_callers_key(s_parser *p, plx_cluster_service *s, const char *value)
{
	size_t n = 0;
	const char *ok = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-*?";
	for (const char *c = value; *c;) {
		size_t len = strspn(c, ok);
		if (len >= PLX_CLUSTER_NAME_MAX || (len == 0 && !strchr(", \t", *c)))
			return s_fail(
			    p, p->lineno,
			    "callers: bad pattern at \"%s\": expected labels and patterns "
			    "(letters, digits, '.', '_', '-', '*', '?') separated by commas",
			    c);
		n += len > 0;
		c += len;
		c += strspn(c, ", \t");
	}
	if (n == 0 || n > 32)
		return s_fail(p, p->lineno, "callers: expected 1 to 32 patterns");
	return s_copy(p, "callers", value, s->callers, sizeof s->callers);
}

static int s_env_key(s_parser *p, plx_cluster_service *s, const char *value)
{
	const char *eq = strchr(value, '=');
	bool ok = eq && eq != value && !isdigit((unsigned char)value[0]);
	for (const char *c = value; ok && c < eq; c++)
		ok = isalnum((unsigned char)*c) || *c == '_';
	if (!ok)
		return s_fail(p, p->lineno,
		              "env \"%s\": expected NAME=VALUE (NAME of letters, "
		              "digits and '_')",
		              value);
	return s_push(p, &s->env, &s->nenv, value, strlen(value));
}

static int s_restart_key(s_parser *p, plx_cluster_service *s, const char *value)
{
	for (int k = 0; k < 3; k++)
		if (strcmp(value, s_restart_names[k]) == 0) {
			s->restart = (plx_restart_policy)k;
			return 1;
		}
	return s_fail(p, p->lineno, "restart \"%s\": expected always, on-failure or never", value);
}

static int s_count_key(s_parser *p, const char *key, const char *value, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(value, &end, 10);
	if (!isdigit((unsigned char)value[0]) || *end || errno || v > 1000000)
		return s_fail(p, p->lineno, "%s \"%s\": expected a whole number from 0 to 1000000",
		              key, value);
	*out = (int)v;
	return 1;
}

static int s_service_key(s_parser *p, const char *key, const char *value)
{
	plx_cluster_service *s = &p->c->services[p->c->nservices - 1];
	s_svc_extra *x = &p->svcx[p->c->nservices - 1];
	if (strcmp(key, "program") == 0)
		return s_once(p, 0, key) && s_copy(p, key, value, s->program, sizeof s->program);
	if (strcmp(key, "args") == 0)
		return s_words(p, key, value, &x->args, &x->nargs);
	if (strcmp(key, "env") == 0)
		return s_env_key(p, s, value);
	if (strcmp(key, "node") == 0) {
		x->line_node = p->lineno;
		return s_once(p, 1, key) && s_copy(p, key, value, s->node, sizeof s->node);
	}
	if (strcmp(key, "standby") == 0) {
		x->line_standby = p->lineno;
		return s_name_list(p, key, value, &s->standby, &s->nstandby, true);
	}
	if (strcmp(key, "spare") == 0) {
		x->line_spare = p->lineno;
		s->has_spare = true;
		return s_once(p, 11, key) && s_copy(p, key, strcmp(value, "same") == 0 ? "" : value,
		                                    s->spare_node, sizeof s->spare_node);
	}
	if (strcmp(key, "depends") == 0) {
		x->line_depends = p->lineno;
		return s_name_list(p, key, value, &s->depends, &s->ndepends, false);
	}
	if (strcmp(key, "restart") == 0)
		return s_once(p, 2, key) && s_restart_key(p, s, value);
	if (strcmp(key, "heartbeat") == 0)
		return s_once(p, 3, key) &&
		       s_duration_key(p, key, value, 10, 3600 * 1000, &s->heartbeat_ms);
	if (strcmp(key, "backoff") == 0)
		return s_once(p, 4, key) &&
		       s_duration_key(p, key, value, 1, 3600 * 1000, &s->backoff_ms);
	if (strcmp(key, "backoff_cap") == 0)
		return s_once(p, 5, key) &&
		       s_duration_key(p, key, value, 1, 24 * 3600 * 1000, &s->backoff_cap_ms);
	if (strcmp(key, "max_restarts") == 0)
		return s_once(p, 6, key) && s_count_key(p, key, value, &s->max_restarts);
	if (strcmp(key, "init_timeout") == 0)
		return s_once(p, 7, key) &&
		       s_duration_key(p, key, value, 10, 3600 * 1000, &s->init_timeout_ms);
	if (strcmp(key, "stop_grace") == 0)
		return s_once(p, 8, key) &&
		       s_duration_key(p, key, value, 1, 600 * 1000, &s->stop_grace_ms);
	if (strcmp(key, "init_retries") == 0)
		return s_once(p, 9, key) && s_count_key(p, key, value, &s->init_retries);
	if (strcmp(key, "callers") == 0)
		return s_once(p, 10, key) && s_callers_key(p, s, value);
	return s_fail(p, p->lineno,
	              "unknown key \"%s\" in [%s]: expected program, args, env, node, standby, "
	              "spare, restart, heartbeat, depends, backoff, backoff_cap, max_restarts, "
	              "init_timeout, init_retries, stop_grace or callers",
	              key, p->section);
}

static int s_extra_key(s_parser *p, const char *key, const char *value)
{
	struct plx_cluster_private *pv = p->c->priv;
	if (p->c->nextra == p->cap_extra) {
		size_t cap = p->cap_extra ? p->cap_extra * 2 : 16;
		plx_cluster_kv *nv = realloc(p->c->extra, cap * sizeof *nv);
		if (!nv)
			return s_nomem(p);
		p->c->extra = nv;
		p->cap_extra = cap;
	}
	char **ns = realloc(pv->strings, (pv->nstrings + 3) * sizeof *ns);
	if (!ns)
		return s_nomem(p);
	pv->strings = ns;
	const char *src[3] = {p->section, key, value};
	char *dup[3];
	for (int i = 0; i < 3; i++) {
		if (!(dup[i] = strdup(src[i])))
			return s_nomem(p);
		pv->strings[pv->nstrings++] = dup[i];
	}
	p->c->extra[p->c->nextra++] = (plx_cluster_kv){dup[0], dup[1], dup[2], p->lineno};
	return 1;
}

/* libinih's handler: one key = value of the current section. */
static int s_handler(void *user, const char *section, const char *key, const char *value)
{
	s_parser *p = user;
	(void)section;
	if (p->failed)
		return 0;
	if (!*value && p->kind != S_EXTRA)
		return s_fail(p, p->lineno, "%s has no value: expected %s = VALUE", key, key);
	switch (p->kind) {
	case S_CLUSTER:
		return s_cluster_key(p, key, value);
	case S_NODE:
		return s_node_key(p, key, value);
	case S_SERVICE:
		return s_service_key(p, key, value);
	case S_EXTRA:
		return s_extra_key(p, key, value);
	default:
		return s_fail(p, p->lineno,
		              "%s outside a section: expected a [cluster], [node NAME] "
		              "or [service LABEL] header first",
		              key);
	}
}

/* libinih's reader: the next line of the text, counting lines and reading section headers. */
static char *s_reader(char *str, int num, void *stream)
{
	s_parser *p = stream;
	if (p->failed || !p->text[p->pos])
		return NULL;
	const char *line = p->text + p->pos;
	const char *nl = strchr(line, '\n');
	size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);
	p->pos += len;
	p->lineno++;
	if (len >= (size_t)num - 1 && !(len == (size_t)num - 1 && nl)) {
		s_fail(p, p->lineno,
		       "line of %zu characters: expected at most %d (continue long values on "
		       "indented lines)",
		       len - (nl ? 1 : 0), num - 3);
		return NULL;
	}
	memcpy(str, line, len);
	str[len] = '\0';
	const char *t = str + strspn(str, " \t");
	if (*t == '[' && t != str) {
		s_fail(p, p->lineno,
		       "indented section header: expected '[' at the start of the line");
		return NULL;
	}
	if (*t == '[' && !s_section_begin(p, t))
		return NULL;
	return str;
}

/* ---- checks across sections ---- */

static int s_check_nodes(s_parser *p)
{
	plx_cluster *c = p->c;
	for (size_t i = 0; i < c->nnodes; i++)
		for (size_t j = 0; j < i; j++) {
			plx_cluster_node *a = &c->nodes[j], *b = &c->nodes[i];
			if (strcmp(a->name, b->name) == 0)
				return s_fail(p, b->line,
				              "node %s defined again: expected unique names "
				              "(first on line %d)",
				              b->name, a->line);
			if (memcmp(a->mac, b->mac, 6) == 0)
				return s_fail(
				    p, b->line,
				    "node %s has mac %s, as node %s (line %d): expected unique "
				    "MACs",
				    b->name, b->mac_text, a->name, a->line);
			if (a->addr_be == b->addr_be)
				return s_fail(
				    p, b->line,
				    "node %s has addr %s, as node %s (line %d): expected unique "
				    "addresses",
				    b->name, b->addr, a->name, a->line);
		}
	return 1;
}

static int s_check_service(s_parser *p, size_t i)
{
	plx_cluster *c = p->c;
	plx_cluster_service *s = &c->services[i];
	s_svc_extra *x = &p->svcx[i];
	for (size_t j = 0; j < i; j++)
		if (strcmp(c->services[j].label, s->label) == 0)
			return s_fail(
			    p, s->line,
			    "service %s defined again: expected unique labels (first on line "
			    "%d)",
			    s->label, c->services[j].line);
	if (!plx_cluster_find_node(c, s->node))
		return s_fail(p, x->line_node,
		              "node \"%s\" of service %s: expected a node defined "
		              "in a [node] section",
		              s->node, s->label);
	for (size_t k = 0; k < s->nstandby; k++) {
		if (!plx_cluster_find_node(c, s->standby[k]))
			return s_fail(
			    p, x->line_standby,
			    "standby node \"%s\" of service %s: expected a node defined in a "
			    "[node] section",
			    s->standby[k], s->label);
		if (strcmp(s->standby[k], s->node) == 0)
			return s_fail(
			    p, x->line_standby,
			    "standby node %s of service %s is its own node: expected other "
			    "nodes",
			    s->node, s->label);
	}
	if (s->spare_node[0] && !plx_cluster_find_node(c, s->spare_node))
		return s_fail(p, x->line_spare,
		              "spare node \"%s\" of service %s: expected same or a node defined in "
		              "a [node] section",
		              s->spare_node, s->label);
	size_t len = strlen(s->label);
	if (len > 6 && strcmp(s->label + len - 6, ".spare") == 0)
		return s_fail(p, s->line,
		              "service label %s: expected a label not ending in .spare (the name "
		              "of a warm spare's process on its node)",
		              s->label);
	for (size_t k = 0; k < s->ndepends; k++) {
		if (strcmp(s->depends[k], s->label) == 0)
			return s_fail(p, x->line_depends,
			              "service %s depends on itself: expected other services",
			              s->label);
		if (!plx_cluster_find_service(c, s->depends[k]))
			return s_fail(
			    p, x->line_depends,
			    "dependency \"%s\" of service %s: expected a service defined in a "
			    "[service] section",
			    s->depends[k], s->label);
	}
	if (s->backoff_cap_ms && s->backoff_cap_ms < s->backoff_ms)
		return s_fail(p, s->line,
		              "[service %s] backoff_cap below backoff: expected cap >= "
		              "backoff",
		              s->label);
	return 1;
}

static ptrdiff_t s_service_index(plx_cluster *c, const char *label)
{
	for (size_t i = 0; i < c->nservices; i++)
		if (strcmp(c->services[i].label, label) == 0)
			return (ptrdiff_t)i;
	return -1;
}

/* Orders services so each follows its dependencies (file order otherwise); a cycle is an
 * error naming its members. */
static int s_order(s_parser *p)
{
	plx_cluster *c = p->c;
	size_t n = c->nservices;
	if (n == 0)
		return 1;
	plx_cluster_service *out = malloc(n * sizeof *out);
	s_svc_extra *xout = malloc(n * sizeof *xout);
	bool *done = calloc(n, sizeof *done);
	if (!out || !xout || !done) {
		free(out);
		free(xout);
		free(done);
		return s_nomem(p);
	}
	size_t placed = 0;
	while (placed < n) {
		bool progress = false;
		for (size_t i = 0; i < n; i++) {
			if (done[i])
				continue;
			bool ready = true;
			for (size_t k = 0; k < c->services[i].ndepends && ready; k++)
				ready = done[s_service_index(c, c->services[i].depends[k])];
			if (ready) {
				done[i] = true;
				out[placed] = c->services[i];
				xout[placed++] = p->svcx[i];
				progress = true;
			}
		}
		if (!progress)
			break;
	}
	if (placed < n) {
		char names[512] = "";
		int line = 0;
		for (size_t i = 0; i < n; i++)
			if (!done[i]) {
				if (!line)
					line = p->svcx[i].line_depends;
				size_t l = strlen(names);
				snprintf(names + l, sizeof names - l, "%s%s", l ? ", " : "",
				         c->services[i].label);
			}
		free(out);
		free(xout);
		free(done);
		return s_fail(p, line,
		              "dependency cycle among %s: expected dependencies without "
		              "cycles",
		              names);
	}
	memcpy(c->services, out, n * sizeof *out);
	memcpy(p->svcx, xout, n * sizeof *xout);
	free(out);
	free(xout);
	free(done);
	return 1;
}

/* ---- who may call a service that does not say ---- */

enum { S_OTHER, S_FILE_SERVER, S_BLOCK_DRIVER, S_VFS };

/* What a program is, by its file name. */
static int s_program_kind(const char *program)
{
	const char *base = strrchr(program, '/');
	base = base ? base + 1 : program;
	if (strcmp(base, "plexus-mfs") == 0 || strcmp(base, "plexus-pfs") == 0)
		return S_FILE_SERVER;
	if (strcmp(base, "plexus-memory") == 0 || strcmp(base, "plexus-vdisk") == 0)
		return S_BLOCK_DRIVER;
	return strcmp(base, "plexus-vfs") == 0 ? S_VFS : S_OTHER;
}

/* Appends label to the comma-separated list out (size bytes). */
static void s_list_add(char *out, size_t size, const char *label)
{
	size_t len = strlen(out);
	snprintf(out + len, size - len, "%s%s", len ? ", " : "", label);
}

/* True when service d depends on label. */
static bool s_depends_on(const plx_cluster_service *d, const char *label)
{
	for (size_t k = 0; k < d->ndepends; k++)
		if (strcmp(d->depends[k], label) == 0)
			return true;
	return false;
}

/* Safe callers for a file server or block driver the file gives none: a file server answers
 * the file's VFS services; a block driver the services that depend on it, the VFS services
 * (block special files) and plexus mkfs (mkfs-*). With none of them in the file it stays open
 * to all, as every other service without callers (callers = * says so explicitly). */
static void s_default_callers(plx_cluster *c)
{
	for (size_t i = 0; i < c->nservices; i++) {
		plx_cluster_service *s = &c->services[i];
		int kind = s_program_kind(s->program);
		if (s->callers[0] || (kind != S_FILE_SERVER && kind != S_BLOCK_DRIVER))
			continue;
		char list[sizeof s->callers] = "";
		for (size_t j = 0; j < c->nservices; j++) {
			const plx_cluster_service *d = &c->services[j];
			if (j != i && (s_program_kind(d->program) == S_VFS ||
			               (kind == S_BLOCK_DRIVER && s_depends_on(d, s->label))))
				s_list_add(list, sizeof list, d->label);
		}
		if (list[0] && kind == S_BLOCK_DRIVER)
			s_list_add(list, sizeof list, "mkfs-*");
		snprintf(s->callers, sizeof s->callers, "%s", list);
	}
}

static int s_check(s_parser *p)
{
	if (!s_check_nodes(p))
		return 0;
	for (size_t i = 0; i < p->c->nservices; i++)
		if (!s_check_service(p, i))
			return 0;
	if (!s_order(p))
		return 0;
	s_default_callers(p->c);
	return 1;
}

/* ---- entry points ---- */

static void s_parser_free(s_parser *p)
{
	for (size_t i = 0; p->svcx && i < p->c->nservices; i++) {
		for (size_t k = 0; k < p->svcx[i].nargs; k++)
			free(p->svcx[i].args[k]);
		free(p->svcx[i].args);
	}
	free(p->svcx);
}

plx_cluster *plx_cluster_parse(const char *text, const char *name, const plx_cluster_opts *opts,
                               char *err, size_t size)
{
	char dummy[8];
	s_parser p = {.opts = opts,
	              .fname = name ? name : "cluster",
	              .text = text ? text : "",
	              .err = err && size ? err : dummy,
	              .errsize = err && size ? size : sizeof dummy};
	p.err[0] = '\0';
	p.c = calloc(1, sizeof *p.c);
	if (!p.c || !(p.c->priv = calloc(1, sizeof *p.c->priv))) {
		free(p.c);
		errno = ENOMEM;
		return NULL;
	}
	strcpy(p.c->name, "default");
	p.c->lease_ttl_ms = 2000;
	int rc = ini_parse_stream(s_reader, &p, s_handler, &p);
	if (rc > 0 && (!p.failed || rc < p.failed)) {
		p.failed = 0;
		s_fail(&p, rc,
		       "syntax: expected NAME = VALUE, a [section] header or a ; or # comment");
	} else if (rc < 0 && !p.failed) {
		s_nomem(&p);
	}
	if (!p.failed)
		s_section_end(&p);
	if (!p.failed)
		s_check(&p);
	s_parser_free(&p);
	if (p.failed) {
		plx_cluster_destroy(&p.c);
		errno = p.oom ? ENOMEM : EINVAL;
		return NULL;
	}
	return p.c;
}

plx_cluster *plx_cluster_load(const char *path, const plx_cluster_opts *opts, char *err,
                              size_t size)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		int e = errno;
		if (err && size)
			snprintf(err, size, "%s: %s", path, strerror(e));
		errno = e;
		return NULL;
	}
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	char buf[4096];
	size_t n;
	while (mem && (n = fread(buf, 1, sizeof buf, f)) > 0)
		fwrite(buf, 1, n, mem);
	bool bad = ferror(f) || !mem;
	fclose(f);
	if (mem)
		fclose(mem);
	if (bad || !text) {
		free(text);
		if (err && size)
			snprintf(err, size, "%s: read failed", path);
		errno = EIO;
		return NULL;
	}
	if (memchr(text, '\0', len)) {
		free(text);
		if (err && size)
			snprintf(err, size, "%s: a NUL byte: expected a text file", path);
		errno = EINVAL;
		return NULL;
	}
	plx_cluster *c = plx_cluster_parse(text, path, opts, err, size);
	int e = errno;
	free(text);
	errno = e;
	return c;
}

void plx_cluster_destroy(plx_cluster **self_p)
{
	if (!self_p || !*self_p)
		return;
	plx_cluster *c = *self_p;
	for (size_t i = 0; i < c->nservices; i++)
		s_service_free(&c->services[i]);
	free(c->services);
	free(c->nodes);
	free(c->extra);
	if (c->priv) {
		for (size_t i = 0; i < c->priv->nstrings; i++)
			free(c->priv->strings[i]);
		free(c->priv->strings);
		free(c->priv);
	}
	free(c);
	*self_p = NULL;
}

bool plx_cluster_node_has_role(const plx_cluster_node *node, const char *role)
{
	size_t want = strlen(role);
	for (const char *p = node->role; *p;) {
		size_t len = strcspn(p, ",");
		if (len == want && strncmp(p, role, len) == 0)
			return true;
		p += len + (p[len] == ',');
	}
	return false;
}

const plx_cluster_node *plx_cluster_find_node(const plx_cluster *self, const char *name)
{
	for (size_t i = 0; self && name && i < self->nnodes; i++)
		if (strcmp(self->nodes[i].name, name) == 0)
			return &self->nodes[i];
	return NULL;
}

const plx_cluster_node *plx_cluster_find_mac(const plx_cluster *self, const uint8_t mac[6])
{
	for (size_t i = 0; self && mac && i < self->nnodes; i++)
		if (memcmp(self->nodes[i].mac, mac, 6) == 0)
			return &self->nodes[i];
	return NULL;
}

const plx_cluster_service *plx_cluster_find_service(const plx_cluster *self, const char *label)
{
	for (size_t i = 0; self && label && i < self->nservices; i++)
		if (strcmp(self->services[i].label, label) == 0)
			return &self->services[i];
	return NULL;
}

const char *plx_cluster_extra(const plx_cluster *self, const char *section, const char *key)
{
	const char *v = NULL;
	for (size_t i = 0; self && section && key && i < self->nextra; i++)
		if (strcmp(self->extra[i].section, section) == 0 &&
		    strcmp(self->extra[i].key, key) == 0)
			v = self->extra[i].value;
	return v;
}

int plx_cluster_expand(const plx_cluster_node *node, const char *templ, char *out, size_t size)
{
	size_t n = 0;
	for (const char *t = templ; *t; t++) {
		const char *add;
		char one[2] = {*t, 0};
		if (*t != '%') {
			add = one;
		} else {
			t++;
			add = *t == 'n'   ? node->name
			      : *t == 'm' ? node->mac_text
			      : *t == 'a' ? node->addr
			      : *t == '%' ? "%"
			                  : NULL;
			if (!add)
				return -EINVAL;
		}
		size_t l = strlen(add);
		if (n + l >= size)
			return -ENAMETOOLONG;
		memcpy(out + n, add, l);
		n += l;
	}
	if (n >= size)
		return -ENAMETOOLONG;
	out[n] = '\0';
	return (int)n;
}
