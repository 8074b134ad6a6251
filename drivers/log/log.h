/*
 * log.h — plexus-log, the cluster log device: what its files share.
 *
 * The log (logbuf.c) is one stream of timestamped lines; a position is a byte offset in it
 * since the driver started. It keeps the newest lines up to its capacity, dropping the oldest
 * whole lines, and may append every line to a file as well. The character device (device.c)
 * is minor 0: writes append, reads return what is there from a position on, select is readable
 * when lines arrive.
 */
#ifndef PLEXUS_LOG_DRIVER_H
#define PLEXUS_LOG_DRIVER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <plexus/chardriver.h>

#define LOG_SIZE_DEFAULT (1024 * 1024) /* bytes kept */
#define LOG_SIZE_MAX     (1ull << 30)
#define LOG_LINE_MAX     4096 /* one line's text, longer lines are cut */

typedef struct logbuf logbuf;

/* Returns an empty log keeping size bytes, appending to file too when file is not NULL (the
 * log owns it), or NULL (ENOMEM). */
logbuf *logbuf_new(size_t size, FILE *file);
/* Frees the log, closes its file, sets *self_p to NULL. Accepts NULL. */
void logbuf_destroy(logbuf **self_p);
/* Appends text (size bytes) as lines stamped with the time and who: "<time> <who>: <line>".
 * A final piece without a newline is a line too; empty input appends nothing. Returns the
 * number of lines appended. */
size_t logbuf_append(logbuf *self, const char *who, const char *text, size_t size);
/* The positions of the oldest byte kept and of the end. */
uint64_t logbuf_start(const logbuf *self);
uint64_t logbuf_end(const logbuf *self);
/* Copies at most size bytes from *position (moved up to the oldest byte kept when it is
 * older) into buf. Returns the count (0 at the end). */
size_t logbuf_read(const logbuf *self, uint64_t *position, void *buf, size_t size);

/* The driver: the log and, once it runs, the character driver (for deferred reads and select
 * reports). */
typedef struct logdev {
	logbuf *log;
	plx_chardriver *driver;
} logdev;

/* The character callbacks; their arg is a logdev. */
extern const plx_chardriver_ops logdev_ops;

#endif
