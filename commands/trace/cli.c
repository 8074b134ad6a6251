/*
 * cli.c — the plexus trace command: options, where the lines come from, where the diagram
 * goes (docs/trace.md).
 *
 * Entry points: plx_trace_cli.
 *
 * Every diagram is drawn from a trace saved and read back (save.c), so that `plexus trace
 * show` of a saved trace gives the same bytes as the run that saved it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <plexus/trace_cli.h>

#include "switch.h"
#include "trace.h"

#define S_LOGS_MAX      64
#define S_NODE_SLACK_US (300LL * 1000000) /* a node's clock this far off still finds lines */

typedef enum s_format { S_HTML, S_SVG, S_MERMAID, S_PLANTUML } s_format;

typedef struct s_opts {
	const char *logs[S_LOGS_MAX];
	int nlogs;
	int64_t since, until;
	s_format format;
	const char *output; /* NULL: standard output */
	const char *save;
	const char *hide; /* message types left out, comma-separated, or NULL */
	bool nodes;       /* from the node kernels (NODE_TRACE_READ), not from log files */
	char **command;   /* after --, or NULL */
	bool help;
} s_opts;

static const char s_usage[] =
    "usage: plexus trace [--logs DIR|FILE]... [--since T] [--until T] [--format FORMAT]\n"
    "                    [--nodes] [--hide TYPES] [-o FILE] [--save FILE] [-- COMMAND ...]\n"
    "       plexus trace show FILE [--format FORMAT] [--hide TYPES] [-o FILE]\n"
    "\n"
    "Draws the messages of the Plexus message trace as a sequence diagram: one lifeline per\n"
    "process, one arrow per message with its time, replies dashed, errors red, a restarted\n"
    "process's old generation ended by a cross and its new one marked. The clocks of the\n"
    "nodes are aligned from the messages themselves.\n"
    "\n"
    "  --logs DIR|FILE  log files (a directory: its *.log files, one node's clock); repeat for\n"
    "                   several nodes. Default: the running plexus up's STATE/logs, or\n"
    "                   --nodes when there is none\n"
    "  --nodes          ask every node kernel of the cluster (PLEXUS_ETCD) for the trace\n"
    "                   lines of its logs (NODE_TRACE_READ): each node one clock\n"
    "  --since T, --until T  only messages in this window: microseconds since 1970 (the t=\n"
    "                   of trace lines) or RFC 3339 (2026-12-07T04:30:00.25Z)\n"
    "  --format F       html (default: one page, SVG inside, no scripts), svg, mermaid,\n"
    "                   plantuml\n"
    "  --hide TYPES     leave out messages of these types, comma-separated (requests and\n"
    "                   replies): --hide IPC_PING,RS_EVENT drops RS's heartbeats\n"
    "  -o FILE          write the diagram to FILE instead of standard output\n"
    "  --save FILE      also write the parsed, aligned trace (plexus trace show draws it)\n"
    "  -- COMMAND ...   switch tracing on in every running service, run COMMAND with\n"
    "                   PLEXUS_TRACE=1 (its output on standard error), switch it off, and\n"
    "                   draw what happened while it ran\n"
    "\n"
    "Exit codes (sysexits.h): 0 drawn, 64 usage, 65 a saved trace unreadable, 66 no logs,\n"
    "70 out of memory, 73 FILE cannot be written. docs/trace.md has the details.\n";

/* RFC 3339: 2026-12-07T04:30:00[.ffffff](Z|+HH:MM|-HH:MM). */
static bool s_rfc3339(const char *s, int64_t *us)
{
	struct tm tm = {0};
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		p = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
	if (!p)
		return false;
	int64_t frac = 0, scale = 1000000;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			if (scale > 1) {
				scale /= 10;
				frac += (*p - '0') * scale;
			}
	int64_t zone = 0;
	int hh, mm;
	if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &hh, &mm) == 2 && strlen(p) == 6)
		zone = (*p == '+' ? 1 : -1) * (hh * 3600 + mm * 60);
	else if (strcmp(p, "Z") != 0 && strcmp(p, "z") != 0)
		return false;
	*us = ((int64_t)timegm(&tm) - zone) * 1000000 + frac;
	return true;
}

static bool s_time(const char *s, int64_t *us)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (*s && *end == '\0' && errno == 0 && v >= 0) {
		*us = v;
		return true;
	}
	return s_rfc3339(s, us);
}

static bool s_format_name(const char *s, s_format *f)
{
	static const char *const names[] = {"html", "svg", "mermaid", "plantuml"};
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0) {
			*f = (s_format)i;
			return true;
		}
	return false;
}

/* One option into o; false on a bad one. */
static bool s_option(int c, const char *arg, s_opts *o)
{
	switch (c) {
	case 'l':
		if (o->nlogs == S_LOGS_MAX)
			return false;
		o->logs[o->nlogs++] = arg;
		return true;
	case 's':
		return s_time(arg, &o->since);
	case 'u':
		return s_time(arg, &o->until);
	case 'f':
		return s_format_name(arg, &o->format);
	case 'o':
		o->output = arg;
		return true;
	case 'S':
		o->save = arg;
		return true;
	case 'H':
		o->hide = arg;
		return true;
	case 'N':
		o->nodes = true;
		return true;
	case 'h':
		o->help = true;
		return true;
	}
	return false;
}

/* Options from argv (argv[0] is the subcommand's name); the command after -- (show: the
 * words, FILE, are moved to the end, from optind on). */
static bool s_parse(int argc, char **argv, s_opts *o, bool show)
{
	static const struct option longs[] = {
	    {"logs", required_argument, NULL, 'l'},   {"since", required_argument, NULL, 's'},
	    {"until", required_argument, NULL, 'u'},  {"format", required_argument, NULL, 'f'},
	    {"output", required_argument, NULL, 'o'}, {"save", required_argument, NULL, 'S'},
	    {"hide", required_argument, NULL, 'H'},   {"help", no_argument, NULL, 'h'},
	    {"nodes", no_argument, NULL, 'N'},        {NULL, 0, NULL, 0}};
	*o = (s_opts){.since = INT64_MIN, .until = INT64_MAX, .format = S_HTML};
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, show ? "o:h" : "+o:h", longs, NULL)) != -1)
		if (!s_option(c, optarg, o))
			return false;
	if (show)
		return true;
	if (optind < argc && strcmp(argv[optind - 1], "--") != 0)
		return false; /* a word that is no option, not after -- */
	if (optind < argc)
		o->command = argv + optind;
	return true;
}

static int s_render(const tr_trace *t, s_format f, FILE *out)
{
	return f == S_SVG        ? tr_render_svg(t, out)
	       : f == S_MERMAID  ? tr_render_mermaid(t, out)
	       : f == S_PLANTUML ? tr_render_plantuml(t, out)
	                         : tr_render_html(t, out);
}

/* The diagram into o->output (or standard output). */
static int s_write(const tr_trace *t, const s_opts *o)
{
	FILE *out = o->output ? fopen(o->output, "w") : stdout;
	if (!out) {
		fprintf(stderr, "plexus trace: %s: %s\n", o->output, strerror(errno));
		return EX_CANTCREAT;
	}
	int rc = s_render(t, o->format, out);
	if (fflush(out) != 0)
		rc = -EIO;
	if (o->output && fclose(out) != 0)
		rc = -EIO;
	if (rc < 0)
		fprintf(stderr, "plexus trace: writing the diagram: %s\n", strerror(-rc));
	return rc < 0 ? EX_CANTCREAT : EX_OK;
}

static void s_summary(const tr_trace *t)
{
	fprintf(stderr, "plexus trace: %zu messages, %zu restarts", t->nmsgs, t->nnotes);
	if (t->skipped || t->untimed)
		fprintf(stderr,
		        "; skipped %zu unreadable trace lines and %zu without t=", t->skipped,
		        t->untimed);
	fputc('\n', stderr);
	for (size_t d = 0; d < t->ndomains; d++) {
		const tr_domain *dom = &t->domains[d];
		fprintf(stderr, "plexus trace: clock %s: offset %" PRId64 " us", dom->name,
		        dom->offset);
		if (!dom->aligned)
			fprintf(stderr, " (no message links it to the others)\n");
		else if (dom->uncertainty < 0)
			fprintf(stderr, " (bounded one way only)\n");
		else
			fprintf(stderr, " +- %" PRId64 " us\n", dom->uncertainty);
	}
}

/* t saved and read back into *back: what show would read. */
static int s_round_trip(const tr_trace *t, tr_trace **back)
{
	char *text = NULL;
	size_t size = 0;
	FILE *mem = open_memstream(&text, &size);
	if (!mem)
		return -ENOMEM;
	int rc = tr_save(t, mem);
	fclose(mem);
	FILE *in = rc == 0 ? fmemopen(text, size, "r") : NULL;
	rc = in ? tr_load(in, back) : rc < 0 ? rc : -ENOMEM;
	if (in)
		fclose(in);
	free(text);
	return rc;
}

static int s_save(const tr_trace *t, const char *path)
{
	FILE *out = fopen(path, "w");
	int rc = out ? tr_save(t, out) : -errno;
	if (out && fclose(out) != 0 && rc == 0)
		rc = -EIO;
	if (rc < 0)
		fprintf(stderr, "plexus trace: --save %s: %s\n", path, strerror(-rc));
	return rc < 0 ? EX_CANTCREAT : EX_OK;
}

/* Pairs, aligns, cuts the window, then saves (--save) and draws. */
static int s_finish(tr_trace *t, const s_opts *o, int64_t since, int64_t until)
{
	tr_trace *back = NULL;
	int rc = tr_pair(t);
	if (rc == 0)
		rc = tr_align(t);
	if (rc == 0)
		rc = tr_window(t, since, until);
	if (rc == 0 && o->hide)
		rc = tr_hide(t, o->hide);
	if (rc == 0)
		rc = s_round_trip(t, &back);
	if (rc < 0) {
		fprintf(stderr, "plexus trace: %s\n", strerror(-rc));
		return EX_SOFTWARE;
	}
	s_summary(back);
	int ex = o->save ? s_save(back, o->save) : EX_OK;
	if (ex == EX_OK)
		ex = s_write(back, o);
	tr_trace_destroy(&back);
	return ex;
}

/* The trace lines of every node kernel's logs in [since, until]. */
static int s_read_nodes(tr_trace *t, int64_t since, int64_t until)
{
	char err[512] = "", missed[512] = "";
	int n = tr_read_nodes(t, since, until, missed, sizeof missed, err, sizeof err);
	if (n < 0)
		fprintf(stderr, "plexus trace: the nodes' logs: %s\n", err);
	else
		fprintf(stderr, "plexus trace: trace lines from %d nodes%s%s\n", n,
		        missed[0] ? "; no answer from " : "", missed);
	return n < 0 ? (n == -ENOMEM ? EX_SOFTWARE : EX_UNAVAILABLE) : EX_OK;
}

/* The logs o names, or the running plexus up's, or (--nodes, or neither) the node kernels'
 * lines in [since, until]. */
static int s_read_logs(tr_trace *t, const s_opts *o, int64_t since, int64_t until)
{
	char dflt[PATH_MAX];
	const char *state = getenv("PLEXUS_STATE_DIR");
	snprintf(dflt, sizeof dflt, "%s/logs", state && *state ? state : "/run/plexus");
	if (o->nodes || (!o->nlogs && access(dflt, R_OK) != 0))
		return s_read_nodes(t, since, until);
	const char *one[] = {dflt};
	const char *const *paths = o->nlogs ? o->logs : one;
	int n = o->nlogs ? o->nlogs : 1;
	for (int i = 0; i < n; i++) {
		int rc = tr_parse_path(t, paths[i]);
		if (rc < 0) {
			fprintf(stderr, "plexus trace: %s: %s%s\n", paths[i], strerror(-rc),
			        o->nlogs ? "" : " (no plexus up running? --logs names logs)");
			return rc == -ENOMEM ? EX_SOFTWARE : EX_NOINPUT;
		}
	}
	return EX_OK;
}

static int s_from_logs(const s_opts *o)
{
	tr_trace *t = tr_trace_new();
	if (!t)
		return EX_SOFTWARE;
	int ex = s_read_logs(t, o, o->since, o->until);
	if (ex == EX_OK)
		ex = s_finish(t, o, o->since, o->until);
	tr_trace_destroy(&t);
	return ex;
}

static void s_switch(bool on, tr_trace *known)
{
	char err[512] = "", missed[512] = "";
	int n = tr_switch_all(on, known, missed, sizeof missed, err, sizeof err);
	if (n < 0)
		fprintf(stderr, "plexus trace: tracing not switched %s: %s\n", on ? "on" : "off",
		        err);
	else
		fprintf(stderr, "plexus trace: tracing %s in %d services%s%s\n", on ? "on" : "off",
		        n, missed[0] ? "; no answer from " : "", missed);
}

/* Runs the command traced; its lines are the domain "command". */
static int s_command(tr_trace *t, const s_opts *o, int64_t *start, int64_t *end)
{
	FILE *capture = tmpfile();
	if (!capture)
		return EX_CANTCREAT;
	s_switch(true, t); /* the generations as the window opens: a later one is a restart */
	*start = tr_now_us();
	int status = 0, rc = tr_run(o->command, fileno(capture), &status);
	*end = tr_now_us();
	s_switch(false, NULL);
	if (rc < 0)
		fprintf(stderr, "plexus trace: %s: %s\n", o->command[0], strerror(-rc));
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fprintf(stderr, "plexus trace: %s ended with status %d\n", o->command[0],
		        WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	rewind(capture);
	int d = tr_domain_add(t, "command");
	rc = d < 0 ? d : tr_parse_stream(t, capture, d);
	fclose(capture);
	return rc < 0 ? EX_SOFTWARE : EX_OK;
}

static int s_traced_command(const s_opts *o)
{
	tr_trace *t = tr_trace_new();
	if (!t)
		return EX_SOFTWARE;
	int64_t start = 0, end = 0;
	int ex = s_command(t, o, &start, &end);
	if (ex == EX_OK) /* the nodes' clocks may be off: a wide window, cut after alignment */
		ex = s_read_logs(t, o, start - S_NODE_SLACK_US, end + S_NODE_SLACK_US);
	if (ex == EX_OK) {
		/* The command ran on this host's clock: its window on the reference clock. */
		int rc = tr_pair(t) < 0 || tr_align(t) < 0 ? -ENOMEM : 0;
		int64_t off = t->domains[0].offset;
		if (rc == 0)
			ex = s_finish(t, o, o->since != INT64_MIN ? o->since : start - off,
			              o->until != INT64_MAX ? o->until : end - off);
		else
			ex = EX_SOFTWARE;
	}
	tr_trace_destroy(&t);
	return ex;
}

/* plexus trace show FILE [--format F] [-o FILE]. */
static int s_show(int argc, char **argv)
{
	s_opts o;
	if (!s_parse(argc, argv, &o, true) || o.help || optind != argc - 1 || o.nlogs || o.nodes ||
	    o.save || o.since != INT64_MIN || o.until != INT64_MAX) {
		fputs(s_usage, o.help ? stdout : stderr);
		return o.help ? EX_OK : EX_USAGE;
	}
	FILE *in = fopen(argv[optind], "r");
	if (!in) {
		fprintf(stderr, "plexus trace show: %s: %s\n", argv[optind], strerror(errno));
		return EX_NOINPUT;
	}
	tr_trace *t = NULL;
	int rc = tr_load(in, &t);
	fclose(in);
	if (rc == 0 && o.hide)
		rc = tr_hide(t, o.hide);
	if (rc < 0) {
		fprintf(stderr, "plexus trace show: %s: not a saved trace of version 1 (%s)\n",
		        argv[optind], strerror(-rc));
		return rc == -ENOMEM ? EX_SOFTWARE : EX_DATAERR;
	}
	int ex = s_write(t, &o);
	tr_trace_destroy(&t);
	return ex;
}

int plx_trace_cli(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "show") == 0)
		return s_show(argc - 1, argv + 1);
	s_opts o;
	if (!s_parse(argc, argv, &o, false)) {
		fputs(s_usage, stderr);
		return EX_USAGE;
	}
	if (o.help) {
		fputs(s_usage, stdout);
		return EX_OK;
	}
	return o.command ? s_traced_command(&o) : s_from_logs(&o);
}
