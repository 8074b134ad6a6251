/*
 * plan.c — a drill written in an INI file (drill.h, docs/drills.md "Drills in a file").
 *
 * Entry points: drill_plan_load.
 *
 *   [drill]
 *   writers = 4          ; as --writers
 *   seed = 7             ; as --seed
 *   timeout = 60s        ; as --timeout
 *   mount = /mnt/plexus  ; as --mount
 *   [fault first]        ; faults run in the file's order; each NAME names one
 *   scenario = kill-driver
 *   after = 2s           ; quiet time before it (ms, s; default 2s)
 *
 * Every error names the file, the line and what was expected there.
 */
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drill.h"

typedef struct s_parser {
	drill_plan *plan;
	bool failed;
	char msg[256]; /* the first error, without its line (inih gives that) */
	char section[64];
} s_parser;

/* Records the first error; returns 0 (inih's "stop here"). */
static int s_fail(s_parser *p, const char *fmt, const char *a, const char *b)
{
	if (!p->failed)
		snprintf(p->msg, sizeof p->msg, fmt, a, b);
	p->failed = true;
	return 0;
}

/* "2s", "500ms", "2" (seconds) into *ms (0 .. 1 hour). */
static bool s_duration(const char *v, int *ms)
{
	char *end;
	long n = strtol(v, &end, 10);
	long unit = strcmp(end, "ms") == 0 ? 1 : (!*end || strcmp(end, "s") == 0) ? 1000 : -1;
	if (end == v || n < 0 || unit < 0 || n * unit > 3600 * 1000)
		return false;
	*ms = (int)(n * unit);
	return true;
}

static bool s_number(const char *v, long lo, long hi, long *out)
{
	char *end;
	long n = strtol(v, &end, 10);
	if (end == v || *end || n < lo || n > hi)
		return false;
	*out = n;
	return true;
}

static int s_drill_key(s_parser *p, const char *key, const char *value)
{
	long n;
	int ms;
	if (strcmp(key, "writers") == 0 && s_number(value, 1, DRILL_WRITERS_MAX, &n))
		p->plan->writers = (int)n;
	else if (strcmp(key, "seed") == 0 && s_number(value, 0, 4294967295L, &n))
		p->plan->seed = (unsigned)n, p->plan->has_seed = true;
	else if (strcmp(key, "timeout") == 0 && s_duration(value, &ms) && ms >= 1000)
		p->plan->timeout_s = ms / 1000;
	else if (strcmp(key, "mount") == 0 && *value && strlen(value) < sizeof p->plan->mount)
		snprintf(p->plan->mount, sizeof p->plan->mount, "%s", value);
	else
		return s_fail(
		    p,
		    "[drill] %s = \"%s\": expected writers (1-64), seed, timeout (1s..1h) "
		    "or mount (a directory)",
		    key, value);
	return 1;
}

static int s_fault_key(s_parser *p, const char *key, const char *value)
{
	drill_plan_step *st = &p->plan->steps[p->plan->n - 1];
	if (strcmp(key, "scenario") == 0) {
		const drill_scenario *sc = drill_scenario_find(value);
		if (!sc)
			return s_fail(p, "scenario \"%s\"%s: not a scenario (plexus drill list)",
			              value, "");
		st->scenario = sc;
		return 1;
	}
	if (strcmp(key, "after") == 0 && s_duration(value, &st->after_ms))
		return 1;
	return s_fail(p, "[%s] %s: expected scenario = NAME or after = 2s", p->section, key);
}

static int s_handler(void *arg, const char *section, const char *key, const char *value)
{
	s_parser *p = arg;
	if (p->failed)
		return 0;
	if (strcmp(section, p->section) != 0) { /* a new section */
		snprintf(p->section, sizeof p->section, "%s", section);
		if (strncmp(section, "fault ", 6) == 0) {
			if (p->plan->n == DRILL_FAULTS_MAX)
				return s_fail(p, "more than %s faults%s", "64", "");
			p->plan->steps[p->plan->n++] = (drill_plan_step){.after_ms = 2000};
		} else if (strcmp(section, "drill") != 0)
			return s_fail(p, "[%s]%s: expected [drill] or [fault NAME]", section, "");
	}
	if (!key) /* an empty section (inih with INI_CALL_HANDLER_ON_NEW_SECTION) */
		return 1;
	return strcmp(section, "drill") == 0 ? s_drill_key(p, key, value)
	                                     : s_fault_key(p, key, value);
}

int drill_plan_load(const char *path, drill_plan *plan, char *err, size_t size)
{
	*plan = (drill_plan){0};
	FILE *f = fopen(path, "re");
	if (!f) {
		snprintf(err, size, "%s: %s", path, strerror(errno));
		return -errno;
	}
	s_parser p = {.plan = plan};
	int rc = ini_parse_file(f, s_handler, &p);
	fclose(f);
	if (rc > 0 && !p.failed)
		s_fail(&p, "expected KEY = VALUE or [SECTION]%s%s", "", "");
	if (p.failed) {
		snprintf(err, size, "%s:%d: %s", path, rc, p.msg);
		return -EINVAL;
	}
	for (int i = 0; !p.failed && i < plan->n; i++)
		if (!plan->steps[i].scenario) {
			snprintf(err, size, "%s: fault %d has no scenario = NAME", path, i + 1);
			p.failed = true;
		}
	if (!p.failed && plan->n == 0) {
		snprintf(err, size, "%s: no [fault NAME] section", path);
		p.failed = true;
	}
	return p.failed ? -EINVAL : 0;
}
