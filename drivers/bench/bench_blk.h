/*
 * bench_blk.h — `plexus bench blk`: block I/O to a memory driver on another node.
 *
 * Entry points: plx_bench_blk.
 */
#ifndef PLEXUS_BENCH_BLK_H
#define PLEXUS_BENCH_BLK_H

/* `plexus bench blk [--json] [--rounds N] [--disk-mb N]`; returns a sysexits.h code. */
int plx_bench_blk(int argc, char **argv);

#endif
