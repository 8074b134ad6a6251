/*
 * log.c — the log helper (plexus/log.h, docs/logging.md).
 *
 * Entry points: plx_log, plx_vlog, plx_log_enabled, plx_log_set_level, plx_log_level_get,
 * plx_log_level_parse, plx_log_level_name, plx_log_set_program, plx_log_set_label;
 * internal plx__log_emit.
 *
 * The threshold is one relaxed atomic, read from PLEXUS_LOG_LEVEL on first use; the prefix is
 * kept under a lock and copied into each line, which leaves in one fwrite.
 */
#include <errno.h> /* program_invocation_short_name (_GNU_SOURCE, set for the whole tree) */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define S_PREFIX_MAX 192
#define S_LINE_MAX   2048

static const char *const s_names[] = {"error", "warn", "info", "debug", "trace"};

static atomic_int s_level = -1; /* -1: not read from the environment yet */
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static char s_program[64];
static char s_label[S_PREFIX_MAX];

int plx_log_level_parse(const char *text, plx_log_level *level)
{
	for (int i = 0; text && i <= PLX_LOG_TRACE; i++) {
		if (strcmp(text, s_names[i]) == 0) {
			*level = (plx_log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *plx_log_level_name(plx_log_level level)
{
	return level >= PLX_LOG_ERROR && level <= PLX_LOG_TRACE ? s_names[level] : "?";
}

plx_log_level plx_log_level_get(void)
{
	int level = atomic_load_explicit(&s_level, memory_order_relaxed);
	if (level >= 0)
		return (plx_log_level)level;
	plx_log_level parsed = PLX_LOG_INFO;
	plx_log_level_parse(getenv("PLEXUS_LOG_LEVEL"), &parsed); /* unknown: info */
	int unset = -1;
	atomic_compare_exchange_strong(&s_level, &unset, (int)parsed);
	return (plx_log_level)atomic_load(&s_level);
}

void plx_log_set_level(plx_log_level level)
{
	atomic_store(&s_level, (int)level);
}

bool plx_log_enabled(plx_log_level level)
{
	return level <= plx_log_level_get();
}

void plx_log_set_program(const char *name)
{
	pthread_mutex_lock(&s_lock);
	snprintf(s_program, sizeof s_program, "%s", name ? name : "");
	pthread_mutex_unlock(&s_lock);
}

void plx_log_set_label(const char *label, uint64_t generation)
{
	pthread_mutex_lock(&s_lock);
	if (!label || !*label)
		s_label[0] = '\0';
	else if (generation == 0)
		snprintf(s_label, sizeof s_label, " %s", label);
	else
		snprintf(s_label, sizeof s_label, " %s/%llu", label,
		         (unsigned long long)generation);
	pthread_mutex_unlock(&s_lock);
}

/* "PROGRAM[ LABEL/GEN][ LEVEL]: " into line; returns its length. */
static size_t s_prefix(char *line, size_t size, plx_log_level level)
{
	pthread_mutex_lock(&s_lock);
	int n = snprintf(
	    line, size, "%s%s%s%s: ", s_program[0] ? s_program : program_invocation_short_name,
	    s_label, level == PLX_LOG_INFO ? "" : " ", level == PLX_LOG_INFO ? "" : s_names[level]);
	pthread_mutex_unlock(&s_lock);
	return n < 0 ? 0 : (size_t)n >= size ? size - 1 : (size_t)n;
}

void plx__log_emit(plx_log_level level, const char *fmt, va_list ap)
{
	char line[S_LINE_MAX];
	size_t n = s_prefix(line, sizeof line - 1, level);
	int m = vsnprintf(line + n, sizeof line - 1 - n, fmt, ap);
	n = m < 0 ? n : n + (size_t)m >= sizeof line - 1 ? sizeof line - 2 : n + (size_t)m;
	if (n > 0 && line[n - 1] == '\n')
		n--; /* a caller's own newline: one is enough */
	line[n++] = '\n';
	fwrite(line, 1, n, stderr);
}

void plx_vlog(plx_log_level level, const char *fmt, va_list ap)
{
	if (plx_log_enabled(level))
		plx__log_emit(level, fmt, ap);
}

void plx_log(plx_log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	plx_vlog(level, fmt, ap);
	va_end(ap);
}
