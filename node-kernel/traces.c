/*
 * traces.c — NODE_TRACE_READ: the message trace lines of this node's log files in a window,
 * for `plexus trace` on a cluster whose logs are on the nodes (docs/trace.md "From the
 * nodes").
 *
 * Entry points: do_trace_read.
 *
 * Every <label>.log file of --log-dir is read in name order (its last 8 MiB: the node
 * kernel's loop waits meanwhile); a line is sent when it is a trace line (" trace: " in it)
 * whose t= is in the window asked. At most the bytes asked (and
 * never more than S_MAX_BYTES) go back, as the reply's data; the reply says when more were
 * left out. The node's own clock stamped every line: the caller aligns the nodes' clocks from
 * the messages themselves. Operators only (the table's allow-list): the trace names who talks
 * to whom.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <plexus/log.h>

#include "node.h"

#define S_MAX_BYTES (8u * 1024 * 1024)
#define S_LINE_MAX  4096
#define S_TAIL_MAX  (8L * 1024 * 1024) /* of each file, its last bytes only: the loop waits */

typedef struct s_out {
	char *buf;
	size_t len, cap;
	int64_t since, until;
	uint64_t lines;
	bool truncated;
} s_out;

/* The t= of a trace line, or false when it has none. */
static bool s_time(const char *line, int64_t *t)
{
	const char *p = strstr(line, " t=");
	if (!p)
		return false;
	char *end;
	long long v = strtoll(p + 3, &end, 10);
	if (end == p + 3 || (*end != '\n' && *end != '\0' && *end != ' '))
		return false;
	*t = v;
	return true;
}

/* Appends line when it is a trace line in the window and fits. */
static void s_line(s_out *o, const char *line)
{
	int64_t t;
	if (!strstr(line, " trace: ") || !s_time(line, &t) || (o->since && t < o->since) ||
	    (o->until && t > o->until))
		return;
	size_t n = strlen(line);
	bool nl = n && line[n - 1] == '\n';
	if (o->len + n + !nl > o->cap) {
		o->truncated = true;
		return;
	}
	memcpy(o->buf + o->len, line, n);
	o->len += n;
	if (!nl)
		o->buf[o->len++] = '\n';
	o->lines++;
}

static bool s_is_log(const char *name)
{
	size_t n = strlen(name);
	return n > 4 && strcmp(name + n - 4, ".log") == 0;
}

static int s_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.log names of dir, sorted (caller frees each and the array). Returns the count or a
 * negative errno. */
static int s_logs(const char *dir, char ***names)
{
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	size_t n = 0, cap = 0;
	char **list = NULL;
	int rc = 0;
	for (struct dirent *e; rc == 0 && (e = readdir(d));) {
		if (!s_is_log(e->d_name))
			continue;
		if (n == cap) {
			char **more = realloc(list, (cap = cap ? 2 * cap : 16) * sizeof *list);
			if (!more)
				rc = -ENOMEM;
			else
				list = more;
		}
		if (rc == 0 && !(list[n++] = strdup(e->d_name)))
			rc = -ENOMEM;
	}
	closedir(d);
	if (rc < 0) {
		for (size_t i = 0; i < n; i++)
			free(list[i]);
		free(list);
		return rc;
	}
	qsort(list, n, sizeof *list, s_cmp);
	*names = list;
	return (int)n;
}

/* Positions f at the start of a line within its last S_TAIL_MAX bytes. Returns true when
 * older lines are left out. The node kernel's loop (its lease renewal among it) waits while a
 * request reads: a log file of any size must cost it little. */
static bool s_tail(FILE *f)
{
	if (fseek(f, 0, SEEK_END) != 0)
		return false;
	long size = ftell(f);
	if (size <= S_TAIL_MAX) {
		rewind(f);
		return false;
	}
	fseek(f, size - S_TAIL_MAX, SEEK_SET);
	int c;
	while ((c = fgetc(f)) != EOF && c != '\n')
		;
	return true;
}

/* Reads every log file of dir into o. Returns the files read or a negative errno. */
static int s_read_dir(const char *dir, s_out *o)
{
	char **names = NULL;
	int n = s_logs(dir, &names), files = 0;
	char *line = malloc(S_LINE_MAX);
	for (int i = 0; line && i < n; i++) {
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		FILE *f = fopen(path, "r");
		files += f != NULL;
		if (f && s_tail(f))
			o->truncated = true; /* its older lines were not read */
		while (f && fgets(line, S_LINE_MAX, f))
			s_line(o, line);
		if (f)
			fclose(f);
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(line);
	return n < 0 ? n : files;
}

int do_trace_read(plx_call *call)
{
	node *n = plx_server_arg(call->server);
	const Plexus__NodeTraceRead *q = (const Plexus__NodeTraceRead *)call->body;
	s_out o = {.since = q->since_us, .until = q->until_us};
	o.cap = q->max_bytes && q->max_bytes < S_MAX_BYTES ? q->max_bytes : S_MAX_BYTES;
	if (!(o.buf = malloc(o.cap)))
		return -ENOMEM;
	int files = s_read_dir(n->cfg->log_dir, &o);
	if (files < 0) {
		free(o.buf);
		return files;
	}
	Plexus__NodeTraceReadReply reply = PLEXUS__NODE_TRACE_READ_REPLY__INIT;
	reply.node = (char *)n->cfg->name;
	reply.files = (uint32_t)files;
	reply.lines = o.lines;
	reply.truncated = o.truncated;
	plx_call_reply(call, 0, &reply.base, o.buf, o.len);
	free(o.buf);
	return PLX_SUSPEND;
}
