/*
 * bench.c — `plexus bench NAME`: one table from benchmark name to its runner.
 *
 * Entry points: cmd_bench.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include <plexus/deploy_cli.h>
#include <plexus/registry_cli.h>
#include <plexus/rs_cli.h>

#include "bench.h"
#ifdef PLEXUS_BENCH_BLK
#include "bench_blk.h"
#endif
#ifdef PLEXUS_BENCH_CHR
#include "bench_chr.h"
#endif
#ifdef PLEXUS_BENCH_FS
#include "bench_crash.h"
#include "bench_fs.h"
#endif
#include "commands.h"

typedef struct benchmark {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
} benchmark;

static const benchmark s_benchmarks[] = {
    {"ipc", "sendrec and asynsend over inproc/ipc/tcp vs raw ZeroMQ and TCP", plx_bench_ipc},
    {"registry", "cached lookups and publish-to-notification vs etcdctl watch", plx_bench_registry},
    {"recovery", "RS: driver crash and node death to service restored (root)", plx_bench_recovery},
    {"scale", "RS and etcd at 8..64 nodes: boot, load at rest, node deaths (root)",
     plx_bench_scale},
    {"boot", "QEMU: power-on to registered and to cluster ready, PXE vs direct; image size (root)",
     plx_bench_boot},
#ifdef PLEXUS_BENCH_BLK
    {"blk", "block I/O to a RAM disk on another node vs raw TCP (root)", plx_bench_blk},
#endif
#ifdef PLEXUS_BENCH_CHR
    {"chr", "character device reads and a tty wake-up on another node vs raw TCP (root)",
     plx_bench_chr},
#endif
#ifdef PLEXUS_BENCH_FS
    {"fs", "files through VFS, MFS and a driver on four nodes vs tmpfs (root)", plx_bench_fs},
    {"crash",
     "crash-point soak: mfs and its driver killed under writers, every acknowledged "
     "state and fsck checked",
     plx_bench_crash},
#endif
};

static void s_usage(FILE *out)
{
	fprintf(out, "usage: plexus bench NAME [--json] [options]\n\n"
	             "Every benchmark measures its baseline in the same run and reports\n"
	             "ratio = Plexus cost / baseline cost (docs/performance.md).\n\nBenchmarks:\n");
	for (size_t i = 0; i < sizeof s_benchmarks / sizeof *s_benchmarks; i++)
		fprintf(out, "  %-10s %s\n", s_benchmarks[i].name, s_benchmarks[i].summary);
}

int cmd_bench(int argc, char **argv)
{
	if (argc < 2) {
		s_usage(stderr);
		return EX_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		s_usage(stdout);
		return EX_OK;
	}
	for (size_t i = 0; i < sizeof s_benchmarks / sizeof *s_benchmarks; i++)
		if (strcmp(argv[1], s_benchmarks[i].name) == 0)
			return s_benchmarks[i].run(argc - 1, argv + 1);
	fprintf(stderr, "plexus bench: unknown benchmark '%s'\n", argv[1]);
	s_usage(stderr);
	return EX_USAGE;
}
