/*
 * plexus/log.h — the one way a Plexus program writes a log line (docs/logging.md).
 *
 * Entry points: plx_log, plx_vlog, plx_log_enabled, plx_log_set_level, plx_log_level_get,
 * plx_log_level_parse, plx_log_level_name, plx_log_set_program, plx_log_set_label.
 *
 * Every line goes to standard error, whole (one write per line), as
 *     PROGRAM[ LABEL/GENERATION][ LEVEL]: MESSAGE
 * for example "plexus-mfs mfs-data/3: serving at tcp://10.0.0.2:40123 (fresh start)" or
 * "plexus-vfs vfs/1 warn: mount /data: ETIMEDOUT". PROGRAM is the program's name (its argv[0]
 * without directories unless plx_log_set_program says otherwise); LABEL/GENERATION appear once
 * the service runtime knows them (plx_log_set_label); LEVEL is left out for info lines.
 *
 * Levels, most to least severe: error, warn, info, debug, trace. A line is written when its
 * level is at or above the threshold: info unless PLEXUS_LOG_LEVEL (a level's name) or
 * plx_log_set_level (the services' --log-level) says otherwise. The message trace
 * (PLEXUS_TRACE=1, IPC_TRACE_LEVEL, plexus/transport.h) writes its lines at level trace
 * whenever it is on; PLEXUS_LOG_LEVEL=trace also turns it on for new contexts.
 *
 * Libraries log only at debug (off by default); they return errors and let the caller log once.
 * All functions are thread-safe.
 */
#ifndef PLEXUS_LOG_H
#define PLEXUS_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum plx_log_level {
	PLX_LOG_ERROR = 0, /* the program cannot go on, or a request it owns failed for good */
	PLX_LOG_WARN,      /* something is wrong but handled: a retry, a drop, a fallback */
	PLX_LOG_INFO,      /* the program's life: started, serving, mounted, stopped */
	PLX_LOG_DEBUG,     /* details for whoever debugs it; libraries' lines */
	PLX_LOG_TRACE,     /* one line per message (the message trace) */
} plx_log_level;

/* Writes one line at level when level is enabled; fmt as printf, no newline needed. */
void plx_log(plx_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* plx_log with a va_list. */
void plx_vlog(plx_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* True when a line at level would be written. */
bool plx_log_enabled(plx_log_level level);
/* Sets the threshold (overrides PLEXUS_LOG_LEVEL). */
void plx_log_set_level(plx_log_level level);
/* The threshold: PLEXUS_LOG_LEVEL's, plx_log_set_level's, or info. */
plx_log_level plx_log_level_get(void);
/* Reads a level's name ("error", "warn", "info", "debug", "trace") into *level. Returns 0 or
 * -EINVAL (*level untouched). */
int plx_log_level_parse(const char *text, plx_log_level *level);
/* The name of level ("?" for none). */
const char *plx_log_level_name(plx_log_level level);
/* Sets PROGRAM (copied; NULL: the default, argv[0]'s last part). */
void plx_log_set_program(const char *name);
/* Sets LABEL/GENERATION (copied; NULL or "" leaves them out; generation 0 prints the label
 * alone). */
void plx_log_set_label(const char *label, uint64_t generation);

#endif
