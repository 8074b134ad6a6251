/*
 * parse.c — trace lines into events.
 *
 * Entry points: tr_trace_new, tr_trace_destroy, tr_domain_add, tr_known_add, tr_parse_line,
 * tr_parse_stream, tr_parse_path.
 *
 * A trace line (transport/trace.c, docs/trace.md "The line format"):
 *   PROGRAM[ LABEL/GEN] trace: > request TYPE(N) SRC/G -> DST/G id=N size=N status=N latency=Nus
 * t=N Anything before " trace: " is the writer's name; the message's own labels say who sent it.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "trace.h"

#define S_LINE_MAX 4096

tr_trace *tr_trace_new(void)
{
	return calloc(1, sizeof(tr_trace));
}

void tr_trace_destroy(tr_trace **self_p)
{
	if (!self_p || !*self_p)
		return;
	tr_trace *self = *self_p;
	free(self->events);
	free(self->msgs);
	free(self->domains);
	free(self->notes);
	free(self->ends);
	free(self->known);
	free(self);
	*self_p = NULL;
}

int tr_known_add(tr_trace *self, const char *label, uint64_t gen)
{
	tr_gen *k = realloc(self->known, (self->nknown + 1) * sizeof *k);
	if (!k)
		return -ENOMEM;
	self->known = k;
	k = &self->known[self->nknown++];
	snprintf(k->label, sizeof k->label, "%s", label);
	k->gen = gen;
	return 0;
}

int tr_domain_add(tr_trace *self, const char *name)
{
	for (size_t i = 0; i < self->ndomains; i++)
		if (strcmp(self->domains[i].name, name) == 0)
			return (int)i;
	tr_domain *d = realloc(self->domains, (self->ndomains + 1) * sizeof *d);
	if (!d)
		return -ENOMEM;
	self->domains = d;
	d = &self->domains[self->ndomains];
	memset(d, 0, sizeof *d);
	snprintf(d->name, sizeof d->name, "%s", name);
	return (int)self->ndomains++;
}

/* An unsigned decimal filling all of s. */
static bool s_u64(const char *s, uint64_t *v)
{
	if (*s < '0' || *s > '9')
		return false;
	char *end;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return *end == '\0' && errno == 0;
}

/* A signed decimal filling all of s. */
static bool s_i64(const char *s, int64_t *v)
{
	if (!*s)
		return false;
	char *end;
	errno = 0;
	*v = strtoll(s, &end, 10);
	return *end == '\0' && errno == 0;
}

/* "LABEL/GEN" (the label may be empty: a sender with no endpoint of its own). */
static bool s_name(char *s, char *label, uint64_t *gen)
{
	char *slash = strrchr(s, '/');
	if (!slash || (size_t)(slash - s) >= TR_LABEL_MAX)
		return false;
	*slash = '\0';
	snprintf(label, TR_LABEL_MAX, "%s", s);
	return s_u64(slash + 1, gen);
}

/* "TYPE(N)". */
static bool s_type(char *s, tr_event *ev)
{
	char *open = strchr(s, '(');
	size_t n = strlen(s);
	uint64_t num;
	if (!open || n < 3 || s[n - 1] != ')' || (size_t)(open - s) >= TR_TYPE_MAX)
		return false;
	s[n - 1] = '\0';
	*open = '\0';
	if (!s_u64(open + 1, &num) || num > UINT32_MAX)
		return false;
	snprintf(ev->type, sizeof ev->type, "%s", s[0] ? s : "?");
	ev->type_num = (uint32_t)num;
	return true;
}

static bool s_kind(const char *s, tr_kind *kind)
{
	static const char *const names[] = {"request", "reply", "notify"};
	for (int i = 0; i < 3; i++)
		if (strcmp(s, names[i]) == 0) {
			*kind = (tr_kind)i;
			return true;
		}
	return false;
}

/* "key=VALUE" with value a decimal; unit (may be "") must end it. */
static bool s_field(char *tok, const char *key, const char *unit, int64_t *v)
{
	size_t k = strlen(key), n = strlen(tok), u = strlen(unit);
	if (strncmp(tok, key, k) != 0 || tok[k] != '=' || n < k + 1 + u ||
	    strcmp(tok + n - u, unit) != 0)
		return false;
	tok[n - u] = '\0';
	return s_i64(tok + k + 1, v);
}

/* The words after "trace: " into ev. Returns 1, -EINVAL or -ENODATA (no t=). */
static int s_body(char *body, tr_event *ev)
{
	char *tok[12] = {0}, *save = NULL;
	int n = 0;
	for (char *w = strtok_r(body, " \t\r\n", &save); w && n < 12;
	     w = strtok_r(NULL, " \t\r\n", &save))
		tok[n++] = w;
	int64_t id, size, status, latency, t;
	if (n < 10 || strlen(tok[0]) != 1 || !s_kind(tok[1], &ev->kind) || !s_type(tok[2], ev) ||
	    !s_name(tok[3], ev->src, &ev->src_gen) || strcmp(tok[4], "->") != 0 ||
	    !s_name(tok[5], ev->dst, &ev->dst_gen) || !s_field(tok[6], "id", "", &id) ||
	    !s_field(tok[7], "size", "", &size) || !s_field(tok[8], "status", "", &status) ||
	    !s_field(tok[9], "latency", "us", &latency) || id < 0 || size < 0 || latency < 0 ||
	    status < INT32_MIN || status > INT32_MAX)
		return -EINVAL;
	ev->dir = tok[0][0];
	ev->id = (uint64_t)id;
	ev->size = (uint64_t)size;
	ev->status = (int32_t)status;
	ev->latency_us = (uint64_t)latency;
	if (n < 11)
		return -ENODATA;
	if (!s_field(tok[10], "t", "", &t) || t < 0)
		return -EINVAL;
	ev->t = ev->at = t;
	return 1;
}

int tr_parse_line(const char *line, tr_event *ev)
{
	const char *mark = strstr(line, " trace: ");
	if (!mark)
		return 0;
	const char *body = mark + strlen(" trace: ");
	if ((body[0] != '>' && body[0] != '<') || body[1] != ' ')
		return 0;
	char copy[S_LINE_MAX];
	if (strlen(body) >= sizeof copy)
		return -EINVAL;
	strcpy(copy, body);
	memset(ev, 0, sizeof *ev);
	return s_body(copy, ev);
}

static int s_append(tr_trace *self, const tr_event *ev)
{
	if (self->nevents == self->events_cap) {
		size_t cap = self->events_cap ? self->events_cap * 2 : 256;
		tr_event *e = realloc(self->events, cap * sizeof *e);
		if (!e)
			return -ENOMEM;
		self->events = e;
		self->events_cap = cap;
	}
	self->events[self->nevents++] = *ev;
	return 0;
}

int tr_parse_stream(tr_trace *self, FILE *in, int domain)
{
	char line[S_LINE_MAX];
	while (fgets(line, sizeof line, in)) {
		size_t n = strlen(line);
		bool whole = n > 0 && line[n - 1] == '\n';
		if (!whole && !feof(in)) { /* too long: skip the rest of it */
			int c;
			while ((c = fgetc(in)) != EOF && c != '\n')
				;
		}
		tr_event ev;
		int rc = tr_parse_line(line, &ev);
		if (rc == -ENODATA)
			self->untimed++;
		else if (rc < 0)
			self->skipped++;
		if (rc != 1)
			continue;
		ev.domain = domain;
		if (s_append(self, &ev) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int s_parse_file(tr_trace *self, const char *path, int domain)
{
	FILE *in = fopen(path, "r");
	if (!in)
		return -errno;
	int rc = tr_parse_stream(self, in, domain);
	fclose(in);
	return rc;
}

static int s_by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Every *.log file of dir (in name order, so that the result does not depend on readdir). */
static int s_parse_dir(tr_trace *self, const char *dir)
{
	int domain = tr_domain_add(self, dir);
	if (domain < 0)
		return domain;
	struct dirent **names;
	int n = scandir(dir, &names, NULL, s_by_name);
	if (n < 0)
		return -errno;
	int rc = 0;
	for (int i = 0; i < n; i++) {
		size_t len = strlen(names[i]->d_name);
		char path[PATH_MAX];
		if (rc == 0 && len > 4 && strcmp(names[i]->d_name + len - 4, ".log") == 0 &&
		    snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name) < (int)sizeof path)
			rc = s_parse_file(self, path, domain);
		free(names[i]);
	}
	free(names);
	return rc;
}

int tr_parse_path(tr_trace *self, const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return s_parse_dir(self, path);
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	int domain = tr_domain_add(self, dir);
	return domain < 0 ? domain : s_parse_file(self, path, domain);
}
