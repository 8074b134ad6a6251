/*
 * bench.h — what every `plexus bench <name>` shares: sample statistics and the report in the
 * format of docs/performance.md (a human table, or one JSON object with --json).
 *
 * Entry points: bench_samples_new, bench_samples_add, bench_samples_percentile,
 * bench_samples_destroy, bench_report_new, bench_report_add, bench_report_print,
 * bench_report_destroy, bench_now_ns, plx_bench_ipc.
 */
#ifndef PLEXUS_BENCH_H
#define PLEXUS_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* `plexus bench ipc [--json] [--iterations N]`; returns a sysexits.h code. */
int plx_bench_ipc(int argc, char **argv);

#endif
