/*
 * args.c — the command line of a `plexus bench <name>`: its options declared in a table,
 * parsed in one place.
 *
 * Entry points: bench_args_parse.
 *
 * Every option is a long one (--name or --name=value); -h and --help print the usage on
 * standard output. Numbers are whole decimal numbers checked against their range. The usage
 * is made from the same table, so an option and its help line cannot part.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "bench.h"

#define S_ARGS_MAX 32
#define S_HELP     'h'
#define S_FIRST    256 /* getopt value of args[0]; args[i] is S_FIRST + i */

/* Stores value into the number or custom option a. Returns 0 or -EINVAL. */
static int s_value(const bench_arg *a, const char *value)
{
	if (a->parse)
		return a->parse(value, a->arg);
	char *end = NULL;
	errno = 0;
	long v = strtol(value, &end, 10);
	if (errno || end == value || *end || v < a->min || v > a->max)
		return -EINVAL;
	*a->number = (int)v;
	return 0;
}

typedef struct s_cmd {
	const char *bench, *about;
	const bench_arg *args;
	size_t n;
} s_cmd;

/* The usage: synopsis (wrapped at 80 columns), what it does, one line per option. */
static void s_usage(const s_cmd *c, FILE *out)
{
	char head[64];
	int indent = snprintf(head, sizeof head, "usage: plexus bench %s", c->bench);
	fputs(head, out);
	int col = indent;
	for (size_t i = 0; i < c->n; i++) {
		const bench_arg *a = &c->args[i];
		int w = (int)(strlen(a->name) + 5 + (a->value ? strlen(a->value) + 1 : 0));
		if (col + w > 80) {
			fprintf(out, "\n%*s", indent, "");
			col = indent;
		}
		col += fprintf(out, " [--%s%s%s]", a->name, a->value ? " " : "",
		               a->value ? a->value : "");
	}
	fprintf(out, "\n\n%s\n", c->about);
	for (size_t i = 0; i < c->n; i++) {
		char opt[48];
		snprintf(opt, sizeof opt, "--%s%s%s", c->args[i].name, c->args[i].value ? " " : "",
		         c->args[i].value ? c->args[i].value : "");
		fprintf(out, "  %-16s %s\n", opt, c->args[i].help);
	}
}

/* One option found by getopt (ch), applied. Returns -1 to go on, or an exit code. */
static int s_apply(const s_cmd *c, int ch)
{
	if (ch == S_HELP) {
		s_usage(c, stdout);
		return EX_OK;
	}
	if (ch < S_FIRST || (size_t)(ch - S_FIRST) >= c->n) {
		s_usage(c, stderr);
		return EX_USAGE;
	}
	const bench_arg *a = &c->args[ch - S_FIRST];
	if (a->flag) {
		*a->flag = true;
		return -1;
	}
	if (s_value(a, optarg) < 0) {
		fprintf(stderr, "plexus bench %s: bad --%s '%s'\n", c->bench, a->name, optarg);
		s_usage(c, stderr);
		return EX_USAGE;
	}
	return -1;
}

int bench_args_parse(int argc, char **argv, const char *bench, const char *about,
                     const bench_arg *args, size_t n)
{
	const s_cmd c = {bench, about, args, n};
	struct option longs[S_ARGS_MAX + 2];
	if (n > S_ARGS_MAX)
		return EX_SOFTWARE;
	for (size_t i = 0; i < n; i++)
		longs[i] =
		    (struct option){args[i].name, args[i].flag ? no_argument : required_argument,
		                    NULL, S_FIRST + (int)i};
	longs[n] = (struct option){"help", no_argument, NULL, S_HELP};
	longs[n + 1] = (struct option){NULL, 0, NULL, 0};
	optind = 1;
	int ch;
	while ((ch = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		int rc = s_apply(&c, ch);
		if (rc >= 0)
			return rc;
	}
	if (optind != argc) {
		s_usage(&c, stderr);
		return EX_USAGE;
	}
	return -1;
}
