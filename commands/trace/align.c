/*
 * align.c — events into messages, and the clocks of the domains aligned from them.
 *
 * Entry points: tr_pair, tr_align (order.c puts the messages in order).
 *
 * Clock alignment (docs/trace.md "Clock alignment"): a message sent at a on domain A's clock
 * and received at b on B's cannot arrive before it left, so off(B) - off(A) <= b - a; the
 * smallest b - a over A's messages to B and the smallest over B's to A bound off(B) - off(A)
 * from both sides (the min-delay bound; NTP's ((b-a)+(c-d))/2 is its middle for one round
 * trip). The estimate is the middle, the uncertainty half the gap. Domains are joined to the
 * reference one at a time, the tightest link first, and uncertainties add up along the way.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

#define S_NONE INT64_MAX

static const tr_trace *s_sorting; /* qsort has no argument; single-threaded command */

/* The order that puts the two sides of one message next to each other, in time order. */
static int s_cmp_side(const void *pa, const void *pb)
{
	const tr_event *a = &s_sorting->events[*(const size_t *)pa];
	const tr_event *b = &s_sorting->events[*(const size_t *)pb];
	int c;
	if ((c = strcmp(a->src, b->src)) || (c = strcmp(a->dst, b->dst)))
		return c;
	if (a->src_gen != b->src_gen)
		return a->src_gen < b->src_gen ? -1 : 1;
	if (a->dst_gen != b->dst_gen)
		return a->dst_gen < b->dst_gen ? -1 : 1;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	if (a->type_num != b->type_num)
		return a->type_num < b->type_num ? -1 : 1;
	if (a->t != b->t)
		return a->t < b->t ? -1 : 1;
	return *(const size_t *)pa < *(const size_t *)pb ? -1 : 1;
}

static bool s_same_msg(const tr_event *a, const tr_event *b)
{
	return strcmp(a->src, b->src) == 0 && strcmp(a->dst, b->dst) == 0 &&
	       a->src_gen == b->src_gen && a->dst_gen == b->dst_gen && a->kind == b->kind &&
	       a->id == b->id && a->type_num == b->type_num;
}

/* One group of events of the same message key: the k-th send pairs with the k-th receive. */
static size_t s_pair_group(tr_trace *self, const size_t *idx, size_t n)
{
	size_t sends = 0, recvs = 0, made = 0;
	for (size_t i = 0; i < n; i++)
		sends += self->events[idx[i]].dir == '>';
	recvs = n - sends;
	size_t count = sends > recvs ? sends : recvs;
	size_t s = 0, r = 0;
	for (size_t k = 0; k < count; k++) {
		while (s < n && self->events[idx[s]].dir != '>')
			s++;
		while (r < n && self->events[idx[r]].dir != '<')
			r++;
		tr_msg *m = &self->msgs[self->nmsgs++];
		m->send = s < n ? (int)idx[s++] : -1;
		m->recv = r < n ? (int)idx[r++] : -1;
		m->reply_to = -1;
		made++;
	}
	return made;
}

int tr_pair(tr_trace *self)
{
	size_t n = self->nevents;
	size_t *idx = malloc((n ? n : 1) * sizeof *idx);
	tr_msg *msgs = malloc((n ? n : 1) * sizeof *msgs);
	if (!idx || !msgs) {
		free(idx);
		free(msgs);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	s_sorting = self;
	qsort(idx, n, sizeof *idx, s_cmp_side);
	free(self->msgs);
	self->msgs = msgs;
	self->nmsgs = 0;
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && s_same_msg(&self->events[idx[i]], &self->events[idx[j]]);
		     j++)
			;
		s_pair_group(self, idx + i, j - i);
	}
	free(idx);
	return 0;
}

/* ---- clock alignment ---- */

/* up[a * n + b]: the smallest receive-minus-send time of a message from domain a to b. */
static int64_t *s_bounds(const tr_trace *self)
{
	size_t n = self->ndomains;
	int64_t *up = malloc((n ? n * n : 1) * sizeof *up);
	if (!up)
		return NULL;
	for (size_t i = 0; i < n * n; i++)
		up[i] = S_NONE;
	for (size_t i = 0; i < self->nmsgs; i++) {
		const tr_msg *m = &self->msgs[i];
		if (m->send < 0 || m->recv < 0)
			continue;
		const tr_event *s = &self->events[m->send], *r = &self->events[m->recv];
		if (s->domain == r->domain)
			continue;
		int64_t *b = &up[(size_t)s->domain * n + (size_t)r->domain];
		if (r->t - s->t < *b)
			*b = r->t - s->t;
	}
	return up;
}

/* The link a (aligned) -> b: off(b) - off(a) into *est, its half width into *half (S_NONE:
 * bounded on one side only). False when no message links them. */
static bool s_link(const int64_t *up, size_t n, size_t a, size_t b, int64_t *est, int64_t *half)
{
	int64_t hi = up[a * n + b], lo_neg = up[b * n + a];
	if (hi == S_NONE && lo_neg == S_NONE)
		return false;
	if (hi == S_NONE || lo_neg == S_NONE) {
		*est = hi != S_NONE ? hi : -lo_neg; /* no delay at all: the bound itself */
		*half = S_NONE;
		return true;
	}
	int64_t lo = -lo_neg;
	*est = lo + (hi - lo) / 2;
	*half = hi >= lo ? (hi - lo + 1) / 2 : (lo - hi + 1) / 2; /* lo > hi: the clocks drifted */
	return true;
}

/* The domain with the most events (the first of equals): the reference clock. */
static size_t s_reference(const tr_trace *self)
{
	size_t *count = calloc(self->ndomains ? self->ndomains : 1, sizeof *count), best = 0;
	for (size_t i = 0; count && i < self->nevents; i++)
		count[self->events[i].domain]++;
	for (size_t d = 1; count && d < self->ndomains; d++)
		if (count[d] > count[best])
			best = d;
	free(count);
	return best;
}

/* Joins the unaligned domain closest (tightest link) to an aligned one. False: none left. */
static bool s_join_one(tr_trace *self, const int64_t *up)
{
	size_t n = self->ndomains, best_a = 0, best_b = 0;
	int64_t best_est = 0, best_half = 0;
	bool found = false;
	for (size_t a = 0; a < n; a++)
		for (size_t b = 0; self->domains[a].aligned && b < n; b++) {
			int64_t est, half;
			if (self->domains[b].aligned || !s_link(up, n, a, b, &est, &half))
				continue;
			if (!found || (uint64_t)half < (uint64_t)best_half) {
				found = true;
				best_a = a, best_b = b, best_est = est, best_half = half;
			}
		}
	if (!found)
		return false;
	tr_domain *da = &self->domains[best_a], *db = &self->domains[best_b];
	db->aligned = true;
	db->offset = da->offset + best_est;
	db->uncertainty =
	    (best_half == S_NONE || da->uncertainty < 0) ? -1 : da->uncertainty + best_half;
	return true;
}

int tr_align(tr_trace *self)
{
	if (self->ndomains == 0)
		return tr_apply_offsets(self);
	int64_t *up = s_bounds(self);
	if (!up)
		return -ENOMEM;
	for (size_t d = 0; d < self->ndomains; d++) {
		self->domains[d].offset = self->domains[d].uncertainty = 0;
		self->domains[d].aligned = false;
	}
	size_t ref = s_reference(self);
	self->domains[ref].aligned = true;
	while (s_join_one(self, up))
		;
	free(up);
	return tr_apply_offsets(self);
}
