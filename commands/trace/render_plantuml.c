/*
 * render_plantuml.c — the sequence diagram as PlantUML text (@startuml ... @enduml).
 *
 * Entry points: tr_render_plantuml.
 *
 * Participants are p0, p1... named after their labels; requests are -> arrows, replies
 * -->, errors red with the errno's name, messages to a dead generation end in a cross (->x);
 * restarts, and the ends of the generations they replaced, are notes over the lifeline. The clock
 * domains follow as ' comments.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

static int s_index(const char **labels, int n, const char *label)
{
	int i = 0;
	while (i < n - 1 && strcmp(labels[i], label) != 0)
		i++;
	return i;
}

static const char *s_arrow(const tr_event *e, const tr_msg *m)
{
	if (m->dead)
		return "-[#red]>x";
	if (e->status < 0)
		return e->kind == TR_REPLY ? "-[#red]->" : "-[#red]>";
	return e->kind == TR_REPLY ? "-->" : "->";
}

static void s_message(const tr_trace *t, const tr_msg *m, const char **labels, int n, FILE *out)
{
	const tr_event *e = tr_msg_event(t, m);
	fprintf(out, "p%d %s p%d : %s", s_index(labels, n, e->src), s_arrow(e, m),
	        s_index(labels, n, e->dst), e->type);
	if (m->dead)
		fprintf(out, " (to dead %s/%" PRIu64 ")", e->dst, e->dst_gen);
	else if (e->status < 0)
		fprintf(out, " %s", tr_errno_name(e->status));
	else if (e->kind == TR_NOTIFY)
		fprintf(out, " (notify)");
	fputc('\n', out);
}

int tr_render_plantuml(const tr_trace *self, FILE *out)
{
	const char **labels;
	int n = tr_lifelines(self, &labels);
	if (n < 0)
		return n;
	fprintf(out, "@startuml\n");
	for (int i = 0; i < n; i++)
		fprintf(out, "participant \"%s\" as p%d\n", labels[i][0] ? labels[i] : "(none)", i);
	size_t note = 0, end = 0;
	for (size_t i = 0; i <= self->nmsgs; i++) {
		for (; end < self->nends && self->ends[end].before == i; end++)
			fprintf(out, "hnote over p%d #FFBBBB : end %s/%" PRIu64 "\n",
			        s_index(labels, n, self->ends[end].label), self->ends[end].label,
			        self->ends[end].gen);
		for (; note < self->nnotes && self->notes[note].before == i; note++)
			fprintf(out, "hnote over p%d #FFDD88 : restart %s/%" PRIu64 "\n",
			        s_index(labels, n, self->notes[note].label),
			        self->notes[note].label, self->notes[note].gen);
		if (i < self->nmsgs)
			s_message(self, &self->msgs[i], labels, n, out);
	}
	for (size_t d = 0; d < self->ndomains; d++)
		fprintf(out, "' clock %s: offset %" PRId64 "us uncertainty %" PRId64 "us%s\n",
		        self->domains[d].name, self->domains[d].offset,
		        self->domains[d].uncertainty,
		        self->domains[d].aligned ? "" : " (not linked)");
	fprintf(out, "@enduml\n");
	free(labels);
	return ferror(out) ? -EIO : 0;
}
