/*
 * pending.c — RS's own asynsends still waiting for their replies (NODE_START, NODE_SIGNAL,
 * NODE_STOP, IPC_PING), remembered by request id so exit.c can tell what each reply answers.
 *
 * Entry points: rs_pending_add, rs_pending_expire, rs_pending_take.
 */
#include <errno.h>
#include <stdio.h>

#include "rs.h"

int rs_pending_add(rs *self, uint64_t id, rs_pending_kind kind, const char *label,
                   uint64_t generation)
{
	if (self->npending == RS_PENDING_MAX)
		rs_pending_expire(self, rs_mono_ms() - 1000);
	if (self->npending == RS_PENDING_MAX)
		return -ENOSPC;
	rs_pending *p = &self->pending[self->npending++];
	p->request_id = id;
	p->kind = kind;
	snprintf(p->label, sizeof p->label, "%s", label);
	p->generation = generation;
	p->sent_mono = rs_mono_ms();
	return 0;
}

void rs_pending_expire(rs *self, int64_t older_than_mono)
{
	size_t k = 0;
	for (size_t i = 0; i < self->npending; i++)
		if (self->pending[i].sent_mono >= older_than_mono)
			self->pending[k++] = self->pending[i];
	self->npending = k;
}

bool rs_pending_take(rs *self, uint64_t id, rs_pending *out)
{
	for (size_t i = 0; i < self->npending; i++)
		if (self->pending[i].request_id == id) {
			*out = self->pending[i];
			self->pending[i] = self->pending[--self->npending];
			return true;
		}
	return false;
}
