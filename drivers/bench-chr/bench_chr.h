/*
 * bench_chr.h — `plexus bench chr`: character device requests to drivers on another node.
 *
 * Entry points: plx_bench_chr.
 */
#ifndef PLEXUS_BENCH_CHR_H
#define PLEXUS_BENCH_CHR_H

/* `plexus bench chr [--json] [--rounds N]`; returns a sysexits.h code. */
int plx_bench_chr(int argc, char **argv);

#endif
