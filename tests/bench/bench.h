/*
 * bench.h — what every `plexus bench <name>` shares: sample statistics and the report in the
 * format of docs/performance.md (a human table, or one JSON object with --json).
 *
 * Entry points: bench_samples_new, bench_samples_add, bench_samples_percentile,
 * bench_samples_destroy, bench_report_new, bench_report_add, bench_report_print,
 * bench_report_destroy, bench_now_ns, bench_args_parse, plx_bench_ipc.
 */
#ifndef PLEXUS_BENCH_H
#define PLEXUS_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct bench_samples bench_samples;
typedef struct bench_report bench_report;

uint64_t bench_now_ns(void);

/* A growing set of measurements (any unit). NULL on allocation failure. */
bench_samples *bench_samples_new(size_t expected);
void bench_samples_add(bench_samples *self, double value);
/* The p-th percentile (0-100) of the samples so far; 0 when there are none. */
double bench_samples_percentile(bench_samples *self, double p);
void bench_samples_destroy(bench_samples **self_p);

/* A report of cases, each a Plexus figure next to a baseline measured in the same run.
 * lower_is_better tells how the ratio is formed: cost/cost for times, baseline/plexus for
 * throughputs, so that a ratio of 1.0 is parity and lower is better either way. */
bench_report *bench_report_new(const char *bench);
void bench_report_add(bench_report *self, const char *name, const char *metric, double plexus,
                      const char *baseline, double baseline_value, bool lower_is_better);
/* Prints the table (or the JSON object) to standard output. */
void bench_report_print(const bench_report *self, bool json);
void bench_report_destroy(bench_report **self_p);

/* One option of a benchmark's command line (args.c): a flag (flag set: it becomes true), a
 * number (number set: a whole decimal number in [min, max]) or a value parse(value, arg)
 * takes (returns 0 or -EINVAL). value names the value in the usage ("N"; NULL for a flag),
 * help is its line there. */
typedef struct bench_arg {
	const char *name; /* without "--" */
	const char *value;
	const char *help;
	bool *flag;
	int *number;
	int min, max;
	int (*parse)(const char *value, void *arg);
	void *arg;
} bench_arg;
/* Parses the command line of `plexus bench <bench>` against its n options (--help and -h
 * too). The usage is made from them: a synopsis, about (what the benchmark does, ending in a
 * newline) and a line per option. Returns -1 to go on, EX_OK after printing the usage on
 * stdout for --help, or EX_USAGE after printing it on stderr for an unknown option, a bad
 * value or an extra argument. */
int bench_args_parse(int argc, char **argv, const char *bench, const char *about,
                     const bench_arg *args, size_t n);

/* `plexus bench ipc [--json] [--iterations N]`; returns a sysexits.h code. */
int plx_bench_ipc(int argc, char **argv);

#endif
