/*
 * logbuf.c — the log's lines: a bounded stream of timestamped lines, optionally copied to a
 * file.
 *
 * Entry points: logbuf_new, logbuf_destroy, logbuf_append, logbuf_start, logbuf_end,
 * logbuf_read.
 *
 * The kept bytes sit at the front of one buffer; making room drops whole lines from the front
 * (a memmove, cheap at log rates).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "log.h"

struct logbuf {
	char *data;
	size_t size; /* capacity */
	size_t used;
	uint64_t start; /* position of data[0] */
	FILE *file;
};

logbuf *logbuf_new(size_t size, FILE *file)
{
	logbuf *self = calloc(1, sizeof *self);
	if (self && !(self->data = malloc(size))) {
		free(self);
		self = NULL;
	}
	if (!self)
		return NULL;
	self->size = size;
	self->file = file;
	return self;
}

void logbuf_destroy(logbuf **self_p)
{
	if (!self_p || !*self_p)
		return;
	logbuf *self = *self_p;
	if (self->file)
		fclose(self->file);
	free(self->data);
	free(self);
	*self_p = NULL;
}

/* Drops whole lines from the front until len more bytes fit. */
static void s_make_room(logbuf *self, size_t len)
{
	if (self->used + len <= self->size)
		return;
	size_t drop = self->used + len - self->size;
	char *nl = memchr(self->data + drop - 1, '\n', self->used - drop + 1);
	drop = nl ? (size_t)(nl - self->data) + 1 : self->used;
	memmove(self->data, self->data + drop, self->used - drop);
	self->used -= drop;
	self->start += drop;
}

static void s_line(logbuf *self, const char *stamp, const char *who, const char *text, size_t len)
{
	char line[LOG_LINE_MAX + 256];
	if (len > LOG_LINE_MAX)
		len = LOG_LINE_MAX;
	int n = snprintf(line, sizeof line, "%s %s: %.*s\n", stamp, who, (int)len, text);
	size_t size = n < 0 ? 0 : (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
	if (size > self->size)
		size = self->size;
	s_make_room(self, size);
	memcpy(self->data + self->used, line, size);
	self->used += size;
	if (self->file) {
		fwrite(line, 1, size, self->file);
		fflush(self->file);
	}
}

size_t logbuf_append(logbuf *self, const char *who, const char *text, size_t size)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct tm tm;
	gmtime_r(&tv.tv_sec, &tm);
	char stamp[64], day[40];
	strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(stamp, sizeof stamp, "%s.%03dZ", day, (int)(tv.tv_usec / 1000));
	size_t lines = 0;
	while (size > 0) {
		const char *nl = memchr(text, '\n', size);
		size_t len = nl ? (size_t)(nl - text) : size;
		s_line(self, stamp, who, text, len);
		lines++;
		len += nl ? 1 : 0;
		text += len;
		size -= len;
	}
	return lines;
}

uint64_t logbuf_start(const logbuf *self)
{
	return self->start;
}

uint64_t logbuf_end(const logbuf *self)
{
	return self->start + self->used;
}

size_t logbuf_read(const logbuf *self, uint64_t *position, void *buf, size_t size)
{
	if (*position < self->start)
		*position = self->start;
	uint64_t end = logbuf_end(self);
	if (*position >= end)
		return 0;
	size_t n = end - *position < size ? (size_t)(end - *position) : size;
	memcpy(buf, self->data + (*position - self->start), n);
	return n;
}
