/*
 * plexus/chunk.h — splitting bulk transfers into data frames.
 *
 * Entry points: plx_chunk_init, plx_chunk_next, plx_chunk_count.
 *
 * A transfer larger than the context's maximum data frame goes as a series of requests, each
 * carrying one chunk and its offset. The iterator yields (offset, length) pairs that cover
 * [0, total) in order with chunks of at most chunk_max bytes; a zero-byte transfer yields one
 * empty chunk so that a caller's loop still sends its one request.
 */
#ifndef PLEXUS_CHUNK_H
#define PLEXUS_CHUNK_H

#include <stdbool.h>
#include <stddef.h>

typedef struct plx_chunk {
	size_t total;
	size_t chunk_max;
	size_t offset; /* of the current chunk */
	size_t length; /* of the current chunk */
	bool started;
} plx_chunk;

/* Prepares it for a transfer of total bytes in chunks of chunk_max bytes (> 0). */
void plx_chunk_init(plx_chunk *it, size_t total, size_t chunk_max);
/* Advances to the next chunk; returns false when the transfer is covered. */
bool plx_chunk_next(plx_chunk *it);
/* Returns how many chunks plx_chunk_next yields for total bytes (at least 1). */
size_t plx_chunk_count(size_t total, size_t chunk_max);

#endif
