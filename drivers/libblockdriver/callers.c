/*
 * callers.c — each caller label's generations served in order: once a request of generation G
 * of a label ran, a request of an older generation of that label is refused.
 *
 * Entry points: bdr_admit.
 *
 * Why: a file server killed by SIGKILL leaves its last block requests behind it, queued in the
 * driver's socket (ZeroMQ queues each peer apart and serves the queues in turn). Its successor
 * starts by reading the journal; without this rule a dead instance's write still queued could
 * run after that read and change the disk under a decision already taken (a transaction
 * declared torn whose home-location writes land anyway). With it, whatever the old instance
 * sent either ran before the new instance's first request, and the new one sees it, or never
 * runs. The handlers run one at a time in the loop thread, so the first request of a new
 * generation is the barrier: nothing of an older one is running beside it.
 *
 * A caller without a generation (0: a client with no endpoint of its own) is not ordered.
 * The table holds BDR_CALLERS_MAX labels; when full, the one not heard from the longest is
 * forgotten (a label that comes back starts over).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* The caller slot for label: its own, a free one, or the one heard from the longest ago. */
static bdr_caller *s_slot(plx_blockdriver *self, const char *label)
{
	bdr_caller *oldest = &self->callers[0];
	for (size_t i = 0; i < BDR_CALLERS_MAX; i++) {
		bdr_caller *c = &self->callers[i];
		if (c->generation != 0 && strcmp(c->label, label) == 0)
			return c;
		if (c->generation == 0 || (oldest->generation != 0 && c->seen < oldest->seen))
			oldest = c;
	}
	return oldest;
}

int bdr_admit(const plx_call *call, plx_blockdriver **self_p)
{
	plx_blockdriver *self = bdr_of(call);
	*self_p = self;
	if (!self)
		return -ENXIO;
	const plx_name *src = &call->msg->source;
	if (src->generation == 0)
		return 0;
	bdr_caller *c = s_slot(self, src->label);
	if (c->generation != 0 && strcmp(c->label, src->label) == 0 &&
	    src->generation < c->generation)
		return -ESTALE; /* a newer instance of this caller has been served */
	if (c->generation == 0 || strcmp(c->label, src->label) != 0)
		snprintf(c->label, sizeof c->label, "%s", src->label);
	c->generation = src->generation;
	c->seen = ++self->callers_clock;
	return 0;
}
