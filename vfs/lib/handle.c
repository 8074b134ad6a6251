/*
 * handle.c — what a libplexus handle says of itself: the VFS generation it talks to, the
 * largest chunk it sends, its label; and an answer freed.
 *
 * Entry points: plexus__vfs_gen, plexus__answer_free, plexus__set_chunk_max, plexus__chunk_max,
 * plexus__label.
 */
#include "client.h"

uint64_t plexus__vfs_gen(plexus *self)
{
	return __atomic_load_n(&self->vfs_gen, __ATOMIC_ACQUIRE);
}

void plexus__answer_free(plexus__answer *ans)
{
	if (ans->reply)
		protobuf_c_message_free_unpacked(&ans->reply->base, NULL);
	plx_msg_destroy(&ans->msg);
	*ans = (plexus__answer){0};
}

void plexus__set_chunk_max(plexus *self, size_t bytes)
{
	size_t max = plx_ctx_max_data(self->ctx);
	self->chunk_max = bytes < 1 ? 1 : bytes > max ? max : bytes;
}

size_t plexus__chunk_max(const plexus *self)
{
	return self->chunk_max;
}

const char *plexus__label(const plexus *self, uint64_t *generation)
{
	if (generation)
		*generation = self->generation;
	return self->label;
}
