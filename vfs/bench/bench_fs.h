/*
 * bench_fs.h — `plexus bench fs` (bench-fs.c).
 *
 * Entry points: plx_bench_fs.
 */
#ifndef PLEXUS_BENCH_FS_H
#define PLEXUS_BENCH_FS_H

/* `plexus bench fs [--json] [--rounds N] [--file-mb N] [--files N] [--tree-files N]
 * [--targets LIST] [--no-journal]`; returns a sysexits.h code. */
int plx_bench_fs(int argc, char **argv);

#endif
