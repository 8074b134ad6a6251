/*
 * bench_crash.h — `plexus bench crash` (bench-crash.c).
 *
 * Entry points: plx_bench_crash.
 */
#ifndef PLEXUS_BENCH_CRASH_H
#define PLEXUS_BENCH_CRASH_H

/* `plexus bench crash [--json] [--iterations N] [--writers W] [--seed S] [--targets LIST]
 * [--self-test]`; returns a sysexits.h code, 1 when it found violations. */
int plx_bench_crash(int argc, char **argv);

#endif
