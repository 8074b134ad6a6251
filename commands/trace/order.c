/*
 * order.c — the messages in time order on the reference clock, with what a diagram marks.
 *
 * Entry points: tr_msg_event, tr_apply_offsets, tr_window, tr_hide, tr_lifelines.
 *
 * Messages are ordered by when they were sent (else received) on the reference clock, ties
 * by the event's place in the input, so one trace gives one order. A reply is linked to its
 * request (same id, reversed direction, same type); a message never received whose
 * destination's label later shows a newer generation went to a dead process; a label whose
 * generation grows gets a restart mark before the first message that shows the new one, and
 * an end mark for the generation it replaced after that generation's last message (sent, or
 * received: a message it never received does not count).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

static int s_cmp_msg(const void *pa, const void *pb)
{
	const tr_msg *a = pa, *b = pb;
	if (a->at != b->at)
		return a->at < b->at ? -1 : 1;
	int ea = a->send >= 0 ? a->send : a->recv, eb = b->send >= 0 ? b->send : b->recv;
	return ea < eb ? -1 : ea > eb;
}

static void s_sort(tr_trace *self)
{
	for (size_t i = 0; i < self->nevents; i++) {
		tr_event *e = &self->events[i];
		e->at = e->t - self->domains[e->domain].offset;
	}
	for (size_t i = 0; i < self->nmsgs; i++)
		self->msgs[i].at = tr_msg_event(self, &self->msgs[i])->at;
	qsort(self->msgs, self->nmsgs, sizeof *self->msgs, s_cmp_msg);
}

/* The request a reply answers: the latest request before it with the reversed names. */
static void s_link_replies(tr_trace *self)
{
	for (size_t i = 0; i < self->nmsgs; i++) {
		tr_msg *m = &self->msgs[i];
		const tr_event *r = tr_msg_event(self, m);
		m->reply_to = -1;
		if (r->kind != TR_REPLY)
			continue;
		for (size_t j = i; j-- > 0;) {
			const tr_event *q = tr_msg_event(self, &self->msgs[j]);
			if (q->kind == TR_REQUEST && q->id == r->id && q->type_num == r->type_num &&
			    strcmp(q->src, r->dst) == 0 && strcmp(q->dst, r->src) == 0 &&
			    q->src_gen == r->dst_gen) {
				m->reply_to = (int)j;
				break;
			}
		}
	}
}

/* The newest generation a label shows anywhere in the trace. */
const tr_event *tr_msg_event(const tr_trace *self, const tr_msg *m)
{
	return &self->events[m->send >= 0 ? m->send : m->recv];
}

static uint64_t s_newest(const tr_trace *self, const char *label)
{
	uint64_t gen = 0;
	for (size_t i = 0; i < self->nmsgs; i++) {
		const tr_event *e = tr_msg_event(self, &self->msgs[i]);
		if (strcmp(e->src, label) == 0 && e->src_gen > gen)
			gen = e->src_gen;
		if (strcmp(e->dst, label) == 0 && e->dst_gen > gen)
			gen = e->dst_gen;
	}
	return gen;
}

static void s_mark_dead(tr_trace *self)
{
	for (size_t i = 0; i < self->nmsgs; i++) {
		tr_msg *m = &self->msgs[i];
		const tr_event *e = tr_msg_event(self, m);
		m->dead = m->recv < 0 && e->dst_gen != 0 && s_newest(self, e->dst) > e->dst_gen;
	}
}

/* A restart mark when (label, gen) is newer than what the label showed so far. */
static int s_note(tr_trace *self, size_t before, const char *label, uint64_t gen,
                  char (*seen)[TR_LABEL_MAX], uint64_t *gens, size_t *nseen)
{
	size_t k = 0;
	while (k < *nseen && strcmp(seen[k], label) != 0)
		k++;
	if (k == *nseen) {
		memcpy(seen[k], label, TR_LABEL_MAX);
		gens[k] = gen;
		(*nseen)++;
		return 0;
	}
	if (gen <= gens[k])
		return 0;
	tr_note *n = realloc(self->notes, (self->nnotes + 1) * sizeof *n);
	if (!n)
		return -ENOMEM;
	self->notes = n;
	n = &self->notes[self->nnotes++];
	n->before = before;
	memcpy(n->label, label, TR_LABEL_MAX);
	n->gen = gen;
	n->prev = gens[k];
	gens[k] = gen;
	return 0;
}

static int s_mark_restarts(tr_trace *self)
{
	free(self->notes);
	self->notes = NULL;
	self->nnotes = 0;
	size_t cap = 2 * self->nmsgs + self->nknown + 1, nseen = 0;
	char(*seen)[TR_LABEL_MAX] = calloc(cap, TR_LABEL_MAX);
	uint64_t *gens = calloc(cap, sizeof *gens);
	int rc = seen && gens ? 0 : -ENOMEM;
	for (size_t k = 0; rc == 0 && k < self->nknown; k++) /* as the window opened */
		rc = s_note(self, 0, self->known[k].label, self->known[k].gen, seen, gens, &nseen);
	for (size_t i = 0; rc == 0 && i < self->nmsgs; i++) {
		const tr_event *e = tr_msg_event(self, &self->msgs[i]);
		rc = s_note(self, i, e->src, e->src_gen, seen, gens, &nseen);
		if (rc == 0)
			rc = s_note(self, i, e->dst, e->dst_gen, seen, gens, &nseen);
	}
	free(seen);
	free(gens);
	return rc;
}

/* Whether message m shows label's generation gen alive: it sent m (its own line says so; an
 * error reply the transport made up in its name does not), or received it. */
static bool s_alive_in(const tr_trace *self, const tr_msg *m, const char *label, uint64_t gen)
{
	const tr_event *e = tr_msg_event(self, m);
	if (m->send >= 0 && strcmp(e->src, label) == 0 && e->src_gen == gen)
		return true;
	return m->recv >= 0 && strcmp(e->dst, label) == 0 && e->dst_gen == gen;
}

/* The end of the generation each restart replaced, after that generation's last message and
 * never below its restart. */
static int s_mark_ends(tr_trace *self)
{
	free(self->ends);
	self->ends = self->nnotes ? calloc(self->nnotes, sizeof *self->ends) : NULL;
	self->nends = 0;
	if (self->nnotes && !self->ends)
		return -ENOMEM;
	for (size_t k = 0; k < self->nnotes; k++) {
		const tr_note *r = &self->notes[k];
		size_t before = 0;
		for (size_t i = r->before; i > 0 && before == 0; i--)
			if (s_alive_in(self, &self->msgs[i - 1], r->label, r->prev))
				before = i;
		tr_note *e = &self->ends[self->nends++];
		*e = *r;
		e->gen = r->prev;
		e->prev = 0;
		e->before = before;
	}
	/* ends sit at or above their restart, so in message order once sorted */
	for (size_t k = 1; k < self->nends; k++)
		for (size_t j = k; j > 0 && self->ends[j - 1].before > self->ends[j].before; j--) {
			tr_note tmp = self->ends[j];
			self->ends[j] = self->ends[j - 1];
			self->ends[j - 1] = tmp;
		}
	return 0;
}

int tr_apply_offsets(tr_trace *self)
{
	s_sort(self);
	s_link_replies(self);
	s_mark_dead(self);
	int rc = s_mark_restarts(self);
	return rc < 0 ? rc : s_mark_ends(self);
}

/* Whether type is one of the comma-separated names of list. */
static bool s_listed(const char *list, const char *type)
{
	size_t n = strlen(type);
	for (const char *p = list; *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
		size_t len = strcspn(p, ",");
		if (len == n && strncmp(p, type, n) == 0)
			return true;
	}
	return false;
}

int tr_hide(tr_trace *self, const char *types)
{
	size_t kept = 0;
	for (size_t i = 0; i < self->nmsgs; i++)
		if (!s_listed(types, tr_msg_event(self, &self->msgs[i])->type))
			self->msgs[kept++] = self->msgs[i];
	self->nmsgs = kept;
	return tr_apply_offsets(self);
}

int tr_window(tr_trace *self, int64_t since, int64_t until)
{
	size_t kept = 0;
	for (size_t i = 0; i < self->nmsgs; i++)
		if (self->msgs[i].at >= since && self->msgs[i].at <= until)
			self->msgs[kept++] = self->msgs[i];
	self->nmsgs = kept;
	return tr_apply_offsets(self);
}

int tr_lifelines(const tr_trace *self, const char ***labels_p)
{
	const char **labels = malloc((2 * self->nmsgs + 1) * sizeof *labels);
	if (!labels)
		return -ENOMEM;
	int n = 0;
	for (size_t i = 0; i < self->nmsgs; i++) {
		const tr_event *e = tr_msg_event(self, &self->msgs[i]);
		const char *both[2] = {e->src, e->dst};
		for (int k = 0; k < 2; k++) {
			int j = 0;
			while (j < n && strcmp(labels[j], both[k]) != 0)
				j++;
			if (j == n)
				labels[n++] = both[k];
		}
	}
	*labels_p = labels;
	return n;
}
