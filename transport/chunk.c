/*
 * chunk.c — splitting bulk transfers into data frames.
 *
 * Entry points: plx_chunk_init, plx_chunk_next, plx_chunk_count.
 */
#include <assert.h>

#include <plexus/chunk.h>

void plx_chunk_init(plx_chunk *it, size_t total, size_t chunk_max)
{
	assert(chunk_max > 0);
	*it = (plx_chunk){.total = total, .chunk_max = chunk_max};
}

bool plx_chunk_next(plx_chunk *it)
{
	if (!it->started) {
		it->started = true;
		it->offset = 0;
	} else {
		it->offset += it->length;
		if (it->offset >= it->total)
			return false;
	}
	size_t left = it->total - it->offset;
	it->length = left < it->chunk_max ? left : it->chunk_max;
	return true;
}

size_t plx_chunk_count(size_t total, size_t chunk_max)
{
	return total == 0 ? 1 : (total + chunk_max - 1) / chunk_max;
}
