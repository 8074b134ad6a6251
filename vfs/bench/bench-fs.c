/*
 * bench-fs.c — `plexus bench fs [--json] [--rounds N] [--file-mb N] [--files N]`.
 *
 * Entry points: plx_bench_fs.
 *
 * Builds a four-node cluster of the multi-node harness (benchnet.h): plexus-vfs on node 1,
 * plexus-mfs on node 2, plexus-vdisk on node 3 over a MINIX v3 image in /dev/shm made by
 * `plexus mkfs` (with a journal) or, with --no-journal, by `mkfs.minix -3`, and the client,
 * libplexus, on node 0. It measures, through the whole stack (client -> VFS -> MFS -> driver):
 *   seq_write_<N>M  write a file of N MiB in 1 MiB calls, fsync, close        (MiB/s)
 *   seq_read_<N>M   read it back in 1 MiB calls, every chunk checked          (MiB/s)
 *   create          open(O_CREAT|O_EXCL) + close of --files files in a directory (ops/s)
 *   stat            stat of each                                              (ops/s)
 *   unlink          unlink of each                                            (ops/s)
 * The baseline is the same workload with the same calls on this machine's own tmpfs (a
 * directory under /dev/shm), measured in the same run, round by round alternating with Plexus
 * so that machine noise hits both alike. ratio = baseline throughput / Plexus throughput
 * (docs/performance.md). Needs root (network namespaces).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include <plexus/mkfs_cli.h>
#include <plexus/plexus.h>

#include "bench.h"
#include "bench_fs.h"
#include "benchnet.h"

#define S_CLUSTER "benchfs"
#define S_MB      (1024u * 1024)

typedef struct options {
	bool json;
	int rounds;
	int file_mb;
	int files;
	bool no_journal; /* mkfs.minix -3: MFS writes back without its journal */
} options;

/* The calls a workload makes, on Plexus (through libplexus) or on the host (POSIX). */
typedef struct s_ops {
	const char *name;
	int (*open)(void *self, const char *path, int flags, mode_t mode);
	ssize_t (*read)(void *self, int fd, void *buf, size_t size);
	ssize_t (*write)(void *self, int fd, const void *buf, size_t size);
	int (*fsync)(void *self, int fd);
	int (*close)(void *self, int fd);
	int (*stat)(void *self, const char *path, struct stat *st);
	int (*unlink)(void *self, const char *path);
	int (*mkdir)(void *self, const char *path, mode_t mode);
	int (*rmdir)(void *self, const char *path);
} s_ops;

/* Where a workload runs: its calls, their target, and the directory it works in. */
typedef struct s_place {
	const s_ops *ops;
	void *self;
	char dir[512];
} s_place;

typedef struct s_bench {
	options opt;
	benchnet *net;
	char image[256]; /* the disk image, in /dev/shm */
	char tmpfs[256]; /* the baseline's directory, in /dev/shm */
	plexus *px;
	uint8_t *buf;   /* 1 MiB */
	uint8_t *check; /* 1 MiB */
	s_place plx, host;
} s_bench;

/* ---- the two sets of calls ---- */

static int s_px_open(void *self, const char *path, int flags, mode_t mode)
{
	return plexus_open(self, path, flags, mode);
}
static ssize_t s_px_read(void *self, int fd, void *buf, size_t size)
{
	return plexus_read(self, fd, buf, size);
}
static ssize_t s_px_write(void *self, int fd, const void *buf, size_t size)
{
	return plexus_write(self, fd, buf, size);
}
static int s_px_fsync(void *self, int fd)
{
	return plexus_fsync(self, fd);
}
static int s_px_close(void *self, int fd)
{
	return plexus_close(self, fd);
}
static int s_px_stat(void *self, const char *path, struct stat *st)
{
	return plexus_stat(self, path, st);
}
static int s_px_unlink(void *self, const char *path)
{
	return plexus_unlink(self, path);
}
static int s_px_mkdir(void *self, const char *path, mode_t mode)
{
	return plexus_mkdir(self, path, mode);
}
static int s_px_rmdir(void *self, const char *path)
{
	return plexus_rmdir(self, path);
}

static const s_ops s_plexus_ops = {"plexus",   s_px_open, s_px_read,   s_px_write, s_px_fsync,
                                   s_px_close, s_px_stat, s_px_unlink, s_px_mkdir, s_px_rmdir};

static int s_os_open(void *self, const char *path, int flags, mode_t mode)
{
	(void)self;
	return open(path, flags, mode);
}
static ssize_t s_os_read(void *self, int fd, void *buf, size_t size)
{
	(void)self;
	return read(fd, buf, size);
}
static ssize_t s_os_write(void *self, int fd, const void *buf, size_t size)
{
	(void)self;
	return write(fd, buf, size);
}
static int s_os_fsync(void *self, int fd)
{
	(void)self;
	return fsync(fd);
}
static int s_os_close(void *self, int fd)
{
	(void)self;
	return close(fd);
}
static int s_os_stat(void *self, const char *path, struct stat *st)
{
	(void)self;
	return stat(path, st);
}
static int s_os_unlink(void *self, const char *path)
{
	(void)self;
	return unlink(path);
}
static int s_os_mkdir(void *self, const char *path, mode_t mode)
{
	(void)self;
	return mkdir(path, mode);
}
static int s_os_rmdir(void *self, const char *path)
{
	(void)self;
	return rmdir(path);
}

static const s_ops s_host_ops = {"tmpfs",    s_os_open, s_os_read,   s_os_write, s_os_fsync,
                                 s_os_close, s_os_stat, s_os_unlink, s_os_mkdir, s_os_rmdir};

/* ---- workloads: each returns seconds, or a negative value on failure ---- */

/* Chunk i of the file: its bytes depend on i, so a misplaced chunk does not verify. */
static void s_pattern(uint8_t *buf, uint32_t i)
{
	for (size_t at = 0; at < S_MB; at += sizeof i) {
		uint32_t v = i * 2654435761u + (uint32_t)at;
		memcpy(buf + at, &v, sizeof v);
	}
}

static double s_write_file(s_bench *b, s_place *p)
{
	char path[600];
	snprintf(path, sizeof path, "%s/big", p->dir);
	uint64_t start = bench_now_ns();
	int fd = p->ops->open(p->self, path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	if (fd < 0)
		return -1;
	bool ok = true;
	for (int i = 0; ok && i < b->opt.file_mb; i++) {
		s_pattern(b->buf, (uint32_t)i);
		ok = p->ops->write(p->self, fd, b->buf, S_MB) == S_MB;
	}
	ok = ok && p->ops->fsync(p->self, fd) == 0;
	ok = p->ops->close(p->self, fd) == 0 && ok;
	return ok ? (double)(bench_now_ns() - start) / 1e9 : -1;
}

static double s_read_file(s_bench *b, s_place *p)
{
	char path[600];
	snprintf(path, sizeof path, "%s/big", p->dir);
	uint64_t start = bench_now_ns();
	int fd = p->ops->open(p->self, path, O_RDONLY, 0);
	if (fd < 0)
		return -1;
	bool ok = true;
	for (int i = 0; ok && i < b->opt.file_mb; i++) {
		ok = p->ops->read(p->self, fd, b->buf, S_MB) == S_MB;
		s_pattern(b->check, (uint32_t)i);
		ok = ok && memcmp(b->buf, b->check, S_MB) == 0;
	}
	ok = p->ops->close(p->self, fd) == 0 && ok;
	return ok ? (double)(bench_now_ns() - start) / 1e9 : -1;
}

typedef enum s_meta { S_CREATE, S_STAT, S_UNLINK } s_meta;

static bool s_meta_one(s_place *p, s_meta what, const char *path)
{
	struct stat st;
	switch (what) {
	case S_CREATE: {
		int fd = p->ops->open(p->self, path, O_CREAT | O_EXCL | O_WRONLY, 0644);
		return fd >= 0 && p->ops->close(p->self, fd) == 0;
	}
	case S_STAT:
		return p->ops->stat(p->self, path, &st) == 0 && S_ISREG(st.st_mode);
	case S_UNLINK:
		return p->ops->unlink(p->self, path) == 0;
	}
	return false;
}

static double s_meta_run(s_bench *b, s_place *p, s_meta what)
{
	char path[600];
	uint64_t start = bench_now_ns();
	for (int i = 0; i < b->opt.files; i++) {
		snprintf(path, sizeof path, "%s/d/f%05d", p->dir, i);
		if (!s_meta_one(p, what, path))
			return -1;
	}
	return (double)(bench_now_ns() - start) / 1e9;
}

/* ---- one round of every case on one place ---- */

enum { S_SEQ_WRITE, S_SEQ_READ, S_CREATE_CASE, S_STAT_CASE, S_UNLINK_CASE, S_NCASES };

static int s_round(s_bench *b, s_place *p, double secs[S_NCASES])
{
	char dir[600];
	snprintf(dir, sizeof dir, "%s/d", p->dir);
	if ((secs[S_SEQ_WRITE] = s_write_file(b, p)) < 0)
		return -EIO;
	if ((secs[S_SEQ_READ] = s_read_file(b, p)) < 0)
		return -EIO;
	if (p->ops->mkdir(p->self, dir, 0755) < 0)
		return -errno;
	if ((secs[S_CREATE_CASE] = s_meta_run(b, p, S_CREATE)) < 0 ||
	    (secs[S_STAT_CASE] = s_meta_run(b, p, S_STAT)) < 0 ||
	    (secs[S_UNLINK_CASE] = s_meta_run(b, p, S_UNLINK)) < 0)
		return -EIO;
	return p->ops->rmdir(p->self, dir) < 0 ? -errno : 0;
}

static int s_measure(s_bench *b, bench_report *report, char *err, size_t size)
{
	double plx[S_NCASES] = {0}, host[S_NCASES] = {0}, one[S_NCASES];
	for (int r = 0; r < b->opt.rounds; r++) {
		s_place *order[2] = {&b->plx, &b->host};
		for (int k = 0; k < 2; k++) {
			s_place *p = order[(r + k) % 2];
			if (s_round(b, p, one) < 0) {
				snprintf(err, size, "round %d on %s failed: %s", r + 1,
				         p->ops->name, strerror(errno ? errno : EIO));
				return -EIO;
			}
			for (int c = 0; c < S_NCASES; c++)
				(p == &b->plx ? plx : host)[c] += one[c];
		}
	}
	double mib = (double)b->opt.file_mb * b->opt.rounds,
	       ops = (double)b->opt.files * b->opt.rounds;
	char write_name[32], read_name[32];
	snprintf(write_name, sizeof write_name, "seq_write_%dM", b->opt.file_mb);
	snprintf(read_name, sizeof read_name, "seq_read_%dM", b->opt.file_mb);
	const char *base = "the same calls on this machine's tmpfs";
	bench_report_add(report, write_name, "MiB_per_s", mib / plx[S_SEQ_WRITE], base,
	                 mib / host[S_SEQ_WRITE], false);
	bench_report_add(report, read_name, "MiB_per_s", mib / plx[S_SEQ_READ], base,
	                 mib / host[S_SEQ_READ], false);
	bench_report_add(report, "create", "ops_per_s", ops / plx[S_CREATE_CASE], base,
	                 ops / host[S_CREATE_CASE], false);
	bench_report_add(report, "stat", "ops_per_s", ops / plx[S_STAT_CASE], base,
	                 ops / host[S_STAT_CASE], false);
	bench_report_add(report, "unlink", "ops_per_s", ops / plx[S_UNLINK_CASE], base,
	                 ops / host[S_UNLINK_CASE], false);
	return 0;
}

/* ---- set-up ---- */

/* Makes the image: a file of the size asked for, formatted by `plexus mkfs` (a journal after
 * the file system) or util-linux's mkfs.minix -3 (none). */
static int s_make_image(s_bench *b, char *err, size_t size)
{
	snprintf(b->image, sizeof b->image, "/dev/shm/plexus-benchfs-%d.img", (int)getpid());
	int fd = open(b->image, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
	off_t bytes = ((off_t)b->opt.file_mb + 64 + b->opt.files / 64) * S_MB;
	if (fd < 0 || ftruncate(fd, bytes) < 0) {
		snprintf(err, size, "%s: %s", b->image, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	close(fd);
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, STDOUT_FILENO);
		if (!b->opt.no_journal) {
			char *argv[] = {"mkfs", b->image, NULL};
			_exit(plx_mkfs_cli(2, argv));
		}
		execlp("mkfs.minix", "mkfs.minix", "-3", b->image, (char *)NULL);
		_exit(127);
	}
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		snprintf(err, size, "%s %s failed",
		         b->opt.no_journal ? "mkfs.minix -3" : "plexus mkfs", b->image);
		return -EIO;
	}
	return 0;
}

static int s_start_services(s_bench *b, char *err, size_t size)
{
	const char *vdisk =
	    benchnet_bin("PLEXUS_VDISK_BIN", PLEXUS_VDISK_BUILD_BIN, "plexus-vdisk");
	const char *mfs = benchnet_bin("PLEXUS_MFS_BIN", PLEXUS_MFS_BUILD_BIN, "plexus-mfs");
	const char *vfs = benchnet_bin("PLEXUS_VFS_BIN", PLEXUS_VFS_BUILD_BIN, "plexus-vfs");
	const char *const disk_args[] = {"--image", b->image, NULL};
	const char *const vfs_args[] = {"--root", "mfs", "--root-dev", "disk:0", NULL};
	int rc;
	if ((rc = benchnet_start(b->net, 3, vdisk, "disk", disk_args, err, size)) < 0 ||
	    (rc = benchnet_start(b->net, 2, mfs, "mfs", NULL, err, size)) < 0 ||
	    (rc = benchnet_start(b->net, 1, vfs, "vfs", vfs_args, err, size)) < 0)
		return rc;
	return 0;
}

static int s_connect(s_bench *b, char *err, size_t size)
{
	/* libplexus binds the client's endpoint at $PLEXUS_ADDR: node 0's address. */
	setenv("PLEXUS_ADDR", netns_node_addr(benchnet_netns(b->net), 0), 1);
	plexus_opts opts;
	plexus_opts_init(&opts);
	opts.etcd = benchnet_etcd_url(b->net);
	opts.cluster = S_CLUSTER;
	opts.node = "n0";
	opts.name = "bench-fs";
	opts.timeout_ms = 60000;
	if (!(b->px = plexus_connect(&opts))) {
		snprintf(err, size, "plexus_connect: %s", strerror(errno));
		return -errno;
	}
	b->plx = (s_place){.ops = &s_plexus_ops, .self = b->px, .dir = "/bench"};
	if (plexus_mkdir(b->px, "/bench", 0755) < 0 && errno != EEXIST) {
		snprintf(err, size, "mkdir /bench in Plexus: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int s_setup(s_bench *b, char *err, size_t size)
{
	snprintf(b->tmpfs, sizeof b->tmpfs, "/dev/shm/plexus-benchfs-XXXXXX");
	if (!(b->buf = malloc(S_MB)) || !(b->check = malloc(S_MB)) || !mkdtemp(b->tmpfs)) {
		b->tmpfs[0] = '\0';
		snprintf(err, size, "memory or /dev/shm: %s", strerror(errno));
		return -ENOMEM;
	}
	b->host = (s_place){.ops = &s_host_ops, .self = NULL};
	snprintf(b->host.dir, sizeof b->host.dir, "%s", b->tmpfs);
	int rc = s_make_image(b, err, size);
	if (rc < 0 || !(b->net = benchnet_new(4, S_CLUSTER, err, size)))
		return rc < 0 ? rc : -EIO;
	if ((rc = s_start_services(b, err, size)) < 0)
		return rc;
	return s_connect(b, err, size);
}

static void s_teardown(s_bench *b)
{
	plexus_disconnect(&b->px);
	benchnet_destroy(&b->net);
	if (b->image[0])
		unlink(b->image);
	if (b->tmpfs[0]) {
		char path[600];
		snprintf(path, sizeof path, "%s/big", b->tmpfs);
		unlink(path);
		rmdir(b->tmpfs);
	}
	free(b->buf);
	free(b->check);
}

/* ---- command line ---- */

static int s_parse(int argc, char **argv, options *opt)
{
	*opt = (options){.rounds = 3, .file_mb = 256, .files = 500};
	const bench_arg args[] = {
	    {"json", NULL, "print one JSON object instead of a table", .flag = &opt->json},
	    {"rounds", "N", "measured rounds, alternating with the baseline (default 3)",
	     .number = &opt->rounds, .min = 1, .max = 100},
	    {"file-mb", "N", "the file's size in MiB (default 256)", .number = &opt->file_mb,
	     .min = 1, .max = 4096},
	    {"files", "N", "files created, stat'ed and unlinked per round (default 500)",
	     .number = &opt->files, .min = 1, .max = 100000},
	    {"no-journal", NULL,
	     "format with util-linux's mkfs.minix -3 instead of plexus mkfs: no journal",
	     .flag = &opt->no_journal},
	};
	return bench_args_parse(
	    argc, argv, "fs",
	    "Sequential write and read of a file, and create/stat/unlink of many files,\n"
	    "through libplexus -> plexus-vfs -> plexus-mfs -> plexus-vdisk, each on its own\n"
	    "node of a four-node network-namespace cluster; next to the same calls on this\n"
	    "machine's tmpfs (/dev/shm) in the same run. Needs root. The servers are taken\n"
	    "from $PLEXUS_VFS_BIN, $PLEXUS_MFS_BIN, $PLEXUS_VDISK_BIN, the build tree, or PATH.\n",
	    args, sizeof args / sizeof *args);
}

int plx_bench_fs(int argc, char **argv)
{
	s_bench b = {0};
	int code = s_parse(argc, argv, &b.opt);
	if (code >= 0)
		return code;
	if (netns_harness_check() < 0) {
		fprintf(stderr, "plexus bench fs: needs root: %s\n", netns_error());
		return EX_NOPERM;
	}
	char err[1024] = "";
	bench_report *report = bench_report_new("fs");
	int rc = report ? s_setup(&b, err, sizeof err) : -ENOMEM;
	if (rc == 0)
		rc = s_measure(&b, report, err, sizeof err);
	if (rc == 0)
		bench_report_print(report, b.opt.json);
	else
		fprintf(stderr, "plexus bench fs: %s\n", err);
	s_teardown(&b);
	bench_report_destroy(&report);
	return rc == 0 ? EX_OK : EX_SOFTWARE;
}
