/*
 * save.c — the save format of `plexus trace --save` and `plexus trace show` (docs/trace.md
 * "The save format").
 *
 * Entry points: tr_save, tr_load.
 *
 * Text, one record a line:
 *   plexus-trace 1
 *   counts SKIPPED UNTIMED
 *   domain OFFSET UNCERTAINTY ALIGNED NAME...
 *   known GEN LABEL                    (a generation when the window opened; may be none)
 *   DOMAIN trace: > request TYPE(N) SRC/G -> DST/G id=N size=N status=N latency=Nus t=N
 * The events are trace lines as the services wrote them, after the index of their domain;
 * the domains keep the offsets estimated when the trace was saved, so a window cut then stays.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

#define S_VERSION 1

static const char *s_kind(tr_kind kind)
{
	return kind == TR_REQUEST ? "request" : kind == TR_REPLY ? "reply" : "notify";
}

static void s_event(const tr_event *e, FILE *out)
{
	fprintf(out,
	        "%d trace: %c %s %s(%" PRIu32 ") %s/%" PRIu64 " -> %s/%" PRIu64 " id=%" PRIu64
	        " size=%" PRIu64 " status=%" PRId32 " latency=%" PRIu64 "us t=%" PRId64 "\n",
	        e->domain, e->dir, s_kind(e->kind), e->type, e->type_num, e->src, e->src_gen,
	        e->dst, e->dst_gen, e->id, e->size, e->status, e->latency_us, e->t);
}

int tr_save(const tr_trace *self, FILE *out)
{
	fprintf(out, "plexus-trace %d\ncounts %zu %zu\n", S_VERSION, self->skipped, self->untimed);
	for (size_t d = 0; d < self->ndomains; d++) {
		const tr_domain *dom = &self->domains[d];
		fprintf(out, "domain %" PRId64 " %" PRId64 " %d %s\n", dom->offset,
		        dom->uncertainty, dom->aligned, dom->name);
	}
	for (size_t k = 0; k < self->nknown; k++)
		fprintf(out, "known %" PRIu64 " %s\n", self->known[k].gen, self->known[k].label);
	for (size_t i = 0; i < self->nmsgs; i++) {
		const tr_msg *m = &self->msgs[i];
		if (m->send >= 0)
			s_event(&self->events[m->send], out);
		if (m->recv >= 0)
			s_event(&self->events[m->recv], out);
	}
	return fflush(out) == 0 && !ferror(out) ? 0 : -EIO;
}

static int s_domain(tr_trace *self, const char *line)
{
	int64_t offset, uncertainty;
	int aligned, used = 0;
	if (sscanf(line, "domain %" SCNd64 " %" SCNd64 " %d %n", &offset, &uncertainty, &aligned,
	           &used) != 3 ||
	    used == 0)
		return -EINVAL;
	char name[sizeof self->domains->name];
	snprintf(name, sizeof name, "%s", line + used);
	name[strcspn(name, "\n")] = '\0';
	int d = tr_domain_add(self, name);
	if (d < 0)
		return d;
	self->domains[d].offset = offset;
	self->domains[d].uncertainty = uncertainty;
	self->domains[d].aligned = aligned != 0;
	return 0;
}

static int s_known(tr_trace *self, const char *line)
{
	uint64_t gen;
	char label[TR_LABEL_MAX];
	if (sscanf(line, "known %" SCNu64 " %63s", &gen, label) != 2)
		return -EINVAL;
	return tr_known_add(self, label, gen);
}

static int s_event_line(tr_trace *self, const char *line)
{
	char *end;
	long d = strtol(line, &end, 10);
	tr_event ev;
	if (end == line || d < 0 || (size_t)d >= self->ndomains || tr_parse_line(end, &ev) != 1)
		return -EINVAL;
	ev.domain = (int)d;
	tr_event *e = self->events;
	if (self->nevents == self->events_cap) {
		self->events_cap = self->events_cap ? 2 * self->events_cap : 256;
		e = realloc(self->events, self->events_cap * sizeof *e);
		if (!e)
			return -ENOMEM;
		self->events = e;
	}
	self->events[self->nevents++] = ev;
	return 0;
}

static int s_load(tr_trace *self, FILE *in)
{
	char line[4096];
	int version = 0;
	if (!fgets(line, sizeof line, in) || sscanf(line, "plexus-trace %d", &version) != 1 ||
	    version != S_VERSION)
		return -EINVAL;
	if (!fgets(line, sizeof line, in) ||
	    sscanf(line, "counts %zu %zu", &self->skipped, &self->untimed) != 2)
		return -EINVAL;
	while (fgets(line, sizeof line, in)) {
		int rc = strncmp(line, "domain ", 7) == 0  ? s_domain(self, line)
		         : strncmp(line, "known ", 6) == 0 ? s_known(self, line)
		                                           : s_event_line(self, line);
		if (rc < 0)
			return rc;
	}
	int rc = tr_pair(self);
	return rc < 0 ? rc : tr_apply_offsets(self);
}

int tr_load(FILE *in, tr_trace **trace_p)
{
	tr_trace *self = tr_trace_new();
	if (!self)
		return -ENOMEM;
	int rc = s_load(self, in);
	if (rc < 0) {
		tr_trace_destroy(&self);
		return rc;
	}
	*trace_p = self;
	return 0;
}
