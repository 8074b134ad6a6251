/*
 * args.c — the command line of a `plexus bench <name>`: its options declared in a table,
 * parsed in one place.
 *
 * Entry points: bench_args_parse.
 *
 * Every option is a long one (--name or --name=value); -h and --help print the usage on
 * standard output. Numbers are whole decimal numbers checked against their range.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
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

/* One option found by getopt (ch), applied. Returns -1 to go on, or an exit code. */
static int s_apply(const bench_arg *args, size_t n, int ch, void (*usage)(FILE *))
{
	if (ch == S_HELP) {
		usage(stdout);
		return EX_OK;
	}
	if (ch < S_FIRST || (size_t)(ch - S_FIRST) >= n) {
		usage(stderr);
		return EX_USAGE;
	}
	const bench_arg *a = &args[ch - S_FIRST];
	if (a->flag) {
		*a->flag = true;
		return -1;
	}
	if (s_value(a, optarg) < 0) {
		fprintf(stderr, "plexus bench: bad --%s '%s'\n", a->name, optarg);
		usage(stderr);
		return EX_USAGE;
	}
	return -1;
}

int bench_args_parse(int argc, char **argv, const bench_arg *args, size_t n, void (*usage)(FILE *))
{
	struct option longs[S_ARGS_MAX + 2];
	if (n > S_ARGS_MAX) {
		usage(stderr);
		return EX_SOFTWARE;
	}
	for (size_t i = 0; i < n; i++)
		longs[i] =
		    (struct option){args[i].name, args[i].flag ? no_argument : required_argument,
		                    NULL, S_FIRST + (int)i};
	longs[n] = (struct option){"help", no_argument, NULL, S_HELP};
	longs[n + 1] = (struct option){NULL, 0, NULL, 0};
	optind = 1;
	int ch;
	while ((ch = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		int rc = s_apply(args, n, ch, usage);
		if (rc >= 0)
			return rc;
	}
	if (optind != argc) {
		usage(stderr);
		return EX_USAGE;
	}
	return -1;
}
