/*
 * bench-blk.c — `plexus bench blk [--json] [--rounds N] [--disk-mb N]`.
 *
 * Entry points: plx_bench_blk.
 *
 * Builds a two-node cluster of the multi-node harness (network namespaces, etcd on the hub),
 * starts plexus-memory with one RAM disk in node 1, and from node 0 measures the throughput of
 * synchronous BDEV reads and writes of 4 KiB and 1 MiB, sequential and at random aligned
 * positions (plx_bdev_read / plx_bdev_write: one request in flight, as a file server without
 * read-ahead issues them). The baseline, measured in the same run between the same two
 * namespaces, is raw TCP with the same request sizes and the same pattern: a server thread in
 * node 1 holding the same amount of memory answers a 16-byte request header with the bytes
 * (read) or takes the header and the bytes and answers 8 bytes (write). Plexus and baseline
 * blocks alternate round by round so that machine noise hits both alike.
 * ratio = baseline throughput / Plexus throughput (docs/performance.md). Needs root.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include <plexus/bdev.h>

#include "bench.h"
#include "bench_blk.h"
#include "benchnet.h"
#include "netns_harness.h"
#include "plexus/proto/bdev.pb-c.h"

#define S_CLUSTER "benchblk"
#define S_LABEL   "benchmem"
#define S_TIMEOUT 10000
#define S_KB      1024u
#define S_MB      (1024u * 1024)

typedef struct options {
	bool json;
	int rounds;
	int disk_mb;
} options;

typedef struct s_tcp_server {
	int listen_fd;
	uint8_t *disk;
	size_t size;
	pthread_t thread;
} s_tcp_server;

/* The baseline's request header. */
typedef struct s_header {
	uint32_t op; /* 1 read, 2 write */
	uint32_t size;
	uint64_t position;
} s_header;

typedef struct s_bench {
	options opt;
	benchnet *net;
	netns_cluster *c; /* the net's namespaces */
	plx_bdev *bdev;
	s_tcp_server tcp;
	int tcp_fd;
	uint8_t *buf;
	uint64_t disk;
} s_bench;

/* ---- the baseline server, in node 1 ---- */

static bool s_io_all(int fd, void *buf, size_t size, bool out)
{
	for (size_t done = 0; done < size;) {
		ssize_t n = out ? send(fd, (char *)buf + done, size - done, MSG_NOSIGNAL)
		                : recv(fd, (char *)buf + done, size - done, 0);
		if (n <= 0)
			return false;
		done += (size_t)n;
	}
	return true;
}

static void *s_tcp_serve(void *arg)
{
	s_tcp_server *s = arg;
	int fd;
	while ((fd = accept(s->listen_fd, NULL, NULL)) >= 0) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		s_header h;
		uint64_t ack = 0;
		while (s_io_all(fd, &h, sizeof h, false) && h.position <= s->size &&
		       h.size <= s->size - h.position) {
			uint8_t *at = s->disk + h.position;
			bool ok = h.op == 1 ? s_io_all(fd, at, h.size, true)
			                    : s_io_all(fd, at, h.size, false) &&
			                          s_io_all(fd, &ack, sizeof ack, true);
			if (!ok)
				break;
		}
		close(fd);
	}
	return NULL;
}

static int s_tcp_start(s_bench *b)
{
	s_tcp_server *s = &b->tcp;
	s->size = b->disk;
	if (!(s->disk = calloc(1, s->size)))
		return -ENOMEM;
	memset(s->disk, 1, s->size); /* touched, as the RAM disk will be */
	struct sockaddr_in sa;
	int fd = benchnet_tcp_listen(b->c, 1, &sa);
	if (fd < 0)
		return fd;
	s->listen_fd = fd;
	if (pthread_create(&s->thread, NULL, s_tcp_serve, s) != 0) {
		close(fd);
		s->listen_fd = -1;
		return -EAGAIN;
	}
	/* The client, in node 0 where this thread now lives. */
	b->tcp_fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(b->tcp_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return connect(b->tcp_fd, (struct sockaddr *)&sa, sizeof sa) < 0 ? -errno : 0;
}

static void s_tcp_stop(s_bench *b)
{
	if (b->tcp_fd >= 0)
		close(b->tcp_fd);
	if (b->tcp.listen_fd >= 0) {
		shutdown(b->tcp.listen_fd, SHUT_RDWR);
		pthread_join(b->tcp.thread, NULL);
		close(b->tcp.listen_fd);
	}
	free(b->tcp.disk);
}

/* ---- set-up ---- */

static int s_setup(s_bench *b, char *err, size_t size)
{
	b->disk = (uint64_t)b->opt.disk_mb * S_MB;
	if (!(b->net = benchnet_new(2, S_CLUSTER, err, size)))
		return -EIO;
	b->c = benchnet_netns(b->net);
	if (!(b->bdev = plx_bdev_new(benchnet_ep(b->net), S_LABEL, S_TIMEOUT)) ||
	    !(b->buf = malloc(S_MB))) {
		snprintf(err, size, "client in node 0: %s", strerror(errno));
		return -EIO;
	}
	char ramdisk[32];
	snprintf(ramdisk, sizeof ramdisk, "0:%dM", b->opt.disk_mb);
	const char *const extra[] = {"--ramdisk", ramdisk, NULL};
	const char *mem =
	    benchnet_bin("PLEXUS_MEMORY_BIN", PLEXUS_MEMORY_BUILD_BIN, "plexus-memory");
	int rc = benchnet_start(b->net, 1, mem, S_LABEL, extra, err, size);
	if (rc < 0)
		return rc;
	if ((rc = s_tcp_start(b)) < 0) {
		snprintf(err, size, "baseline TCP server in node 1: %s", strerror(-rc));
		return rc;
	}
	/* Every byte of both disks written once, so no read is of an untouched page. */
	memset(b->buf, 7, S_MB);
	for (uint64_t at = 0; at < b->disk; at += S_MB)
		if (plx_bdev_write(b->bdev, 0, at, b->buf, S_MB, 0) != S_MB) {
			snprintf(err, size, "filling the RAM disk failed");
			return -EIO;
		}
	return 0;
}

static void s_teardown(s_bench *b)
{
	s_tcp_stop(b);
	plx_bdev_destroy(&b->bdev);
	benchnet_destroy(&b->net);
	free(b->buf);
}

/* ---- measurements ---- */

typedef struct s_case {
	const char *name;
	bool write;
	bool random;
	size_t size;
	int ops; /* per round */
} s_case;

/* The position of op i: sequential wraps around the disk, random is an aligned LCG draw. */
static uint64_t s_position(const s_bench *b, const s_case *c, int i, uint64_t *rng)
{
	uint64_t slots = b->disk / c->size;
	if (!c->random)
		return ((uint64_t)i % slots) * c->size;
	*rng = *rng * 6364136223846793005ull + 1442695040888963407ull;
	return ((*rng >> 17) % slots) * c->size;
}

/* Seconds for c->ops Plexus requests, or a negative value on failure. */
static double s_plexus_round(s_bench *b, const s_case *c, uint64_t seed)
{
	uint64_t start = bench_now_ns(), rng = seed;
	for (int i = 0; i < c->ops; i++) {
		uint64_t at = s_position(b, c, i, &rng);
		ssize_t n = c->write ? plx_bdev_write(b->bdev, 0, at, b->buf, c->size, 0)
		                     : plx_bdev_read(b->bdev, 0, at, b->buf, c->size, 0);
		if (n != (ssize_t)c->size)
			return -1;
	}
	return (double)(bench_now_ns() - start) / 1e9;
}

static double s_tcp_round(s_bench *b, const s_case *c, uint64_t seed)
{
	uint64_t start = bench_now_ns(), rng = seed, ack;
	for (int i = 0; i < c->ops; i++) {
		s_header h = {.op = c->write ? 2 : 1,
		              .size = (uint32_t)c->size,
		              .position = s_position(b, c, i, &rng)};
		bool ok = s_io_all(b->tcp_fd, &h, sizeof h, true) &&
		          (c->write ? s_io_all(b->tcp_fd, b->buf, c->size, true) &&
		                          s_io_all(b->tcp_fd, &ack, sizeof ack, false)
		                    : s_io_all(b->tcp_fd, b->buf, c->size, false));
		if (!ok)
			return -1;
	}
	return (double)(bench_now_ns() - start) / 1e9;
}

static int s_measure(s_bench *b, const s_case *c, bench_report *report)
{
	double plx = 0, tcp = 0;
	/* One warm-up round each, not counted. */
	if (s_plexus_round(b, c, 1) < 0 || s_tcp_round(b, c, 1) < 0)
		return -EIO;
	for (int r = 0; r < b->opt.rounds; r++) {
		double p = s_plexus_round(b, c, (uint64_t)r + 2);
		double t = s_tcp_round(b, c, (uint64_t)r + 2);
		if (p < 0 || t < 0)
			return -EIO;
		plx += p;
		tcp += t;
	}
	double bytes = (double)c->size * c->ops * b->opt.rounds / S_MB;
	bench_report_add(report, c->name, "MiB_per_s", bytes / plx,
	                 "raw tcp request/response, same sizes", bytes / tcp, false);
	return 0;
}

/* ---- command line ---- */

static int s_parse(int argc, char **argv, options *opt)
{
	*opt = (options){.rounds = 5, .disk_mb = 256};
	const bench_arg args[] = {
	    {"json", NULL, "print one JSON object instead of a table", .flag = &opt->json},
	    {"rounds", "N", "measured rounds per case, alternating with the baseline (default 5)",
	     .number = &opt->rounds, .min = 1, .max = 1000},
	    {"disk-mb", "N", "the RAM disk's size in MiB (default 256, at least 16)",
	     .number = &opt->disk_mb, .min = 16, .max = 65536},
	};
	return bench_args_parse(
	    argc, argv, "blk",
	    "Throughput of synchronous block reads and writes (4 KiB and 1 MiB, sequential\n"
	    "and random) from node 0 to a plexus-memory RAM disk on node 1 of a two-node\n"
	    "network-namespace cluster, next to raw TCP request/response between the same\n"
	    "two namespaces with the same sizes. Needs root (network namespaces).\n"
	    "plexus-memory is taken from $PLEXUS_MEMORY_BIN, the build tree, or PATH.\n",
	    args, sizeof args / sizeof *args);
}

int plx_bench_blk(int argc, char **argv)
{
	s_bench b = {.tcp_fd = -1, .tcp = {.listen_fd = -1}};
	int code = s_parse(argc, argv, &b.opt);
	if (code >= 0)
		return code;
	if (netns_harness_check() < 0) {
		fprintf(stderr, "plexus bench blk: needs root: %s\n", netns_error());
		return EX_NOPERM;
	}
	static const s_case cases[] = {
	    {"seq_read_4K", false, false, 4 * S_KB, 2000},
	    {"seq_write_4K", true, false, 4 * S_KB, 2000},
	    {"rand_read_4K", false, true, 4 * S_KB, 2000},
	    {"rand_write_4K", true, true, 4 * S_KB, 2000},
	    {"seq_read_1M", false, false, S_MB, 250},
	    {"seq_write_1M", true, false, S_MB, 250},
	    {"rand_read_1M", false, true, S_MB, 250},
	    {"rand_write_1M", true, true, S_MB, 250},
	};
	char err[1024] = "";
	bench_report *report = bench_report_new("blk");
	int rc = report ? s_setup(&b, err, sizeof err) : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < sizeof cases / sizeof *cases; i++)
		if ((rc = s_measure(&b, &cases[i], report)) < 0)
			snprintf(err, sizeof err, "%s failed", cases[i].name);
	if (rc == 0)
		bench_report_print(report, b.opt.json);
	else
		fprintf(stderr, "plexus bench blk: %s\n", err);
	s_teardown(&b);
	bench_report_destroy(&report);
	return rc == 0 ? EX_OK : EX_SOFTWARE;
}
