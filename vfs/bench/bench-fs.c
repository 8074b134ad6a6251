/*
 * bench-fs.c — `plexus bench fs [--json] [--rounds N] [--file-mb N] [--files N]
 * [--tree-files N] [--targets LIST] [--no-journal]`.
 *
 * Entry points: plx_bench_fs.
 *
 * Builds a four-node cluster of the multi-node harness (benchnet.h): plexus-vfs on node 1,
 * plexus-mfs on node 2, plexus-vdisk on node 3 over a MINIX v3 image in /dev/shm made by
 * `plexus mkfs` (with a journal) or, with --no-journal, by `mkfs.minix -3`, and the client on
 * node 0. It measures, through the whole stack (client -> VFS -> MFS -> driver):
 *   seq_write_<N>M  write a file of N MiB in 1 MiB calls, fsync, close        (MiB/s)
 *   seq_read_<N>M   read it back in 1 MiB calls, every chunk checked          (MiB/s)
 *   create          open(O_CREAT|O_EXCL) + close of --files files in a directory (ops/s)
 *   stat            stat of each                                              (ops/s)
 *   unlink          unlink of each                                            (ops/s)
 * on each target of --targets: plexus (libplexus in this process), fuse (`plexus mount` in
 * node 0), and the baselines sshfs (an sshd of its own on node 2, sshfs in node 0:
 * fs-mounts.c), nfs (where the kernel has nfsd; otherwise noted as not available and skipped)
 * and tmpfs (a directory under /dev/shm). On every target but libplexus it also times real
 * work (fs-work.c): untar, grep -r, git commit and rm -rf of a generated source tree (ms).
 * Rounds run every target once, the order rotating so that machine noise hits all alike. Rows
 * pair each Plexus target with each baseline, ratio = baseline throughput / Plexus throughput
 * or Plexus time / baseline time (docs/performance.md); libplexus against tmpfs keeps the plain
 * case names. Needs root (network namespaces).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
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
#include "fs_mounts.h"
#include "fs_work.h"

#define S_CLUSTER "benchfs"
#define S_MB      (1024u * 1024)

enum { S_SEQ_WRITE, S_SEQ_READ, S_CREATE_CASE, S_STAT_CASE, S_UNLINK_CASE, S_NCASES };

/* What a run measures (--targets): Plexus through libplexus and through its FUSE mount, and
 * the baselines. */
enum { S_PLEXUS, S_FUSE, S_SSHFS, S_NFS, S_TMPFS, S_NTARGETS };

static const char *const s_target_names[S_NTARGETS] = {"plexus", "fuse", "sshfs", "nfs", "tmpfs"};
/* The baselines' "baseline is" text (NULL: a Plexus target). */
static const char *const s_baseline_text[S_NTARGETS] = {
    NULL, NULL, "sshfs on the same namespaces (sshd on node 2)", "NFS on the same namespaces",
    "the same calls on this machine's tmpfs"};

typedef struct options {
	bool json;
	int rounds;
	int file_mb;
	int files;
	int tree_files;           /* the real-work tree's files; 0: no real-work cases */
	bool no_journal;          /* mkfs.minix -3: MFS writes back without its journal */
	bool targets[S_NTARGETS]; /* what --targets chose */
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

/* Where a workload runs: its calls, their target, the directory it works in, and the seconds
 * each case took over all rounds. */
typedef struct s_place {
	const s_ops *ops;
	void *self;
	char dir[512];
	bool on; /* chosen and set up */
	double secs[S_NCASES + FS_WORK_STEPS];
} s_place;

typedef struct s_bench {
	options opt;
	benchnet *net;
	char image[256]; /* the disk image, in /dev/shm */
	char tmpfs[256]; /* the baseline's directory, in /dev/shm */
	char tar[256];   /* the real-work tree, in /dev/shm */
	plexus *px;
	uint8_t *buf;   /* 1 MiB */
	uint8_t *check; /* 1 MiB */
	fs_mount fuse, sshfs;
	char notes[1024]; /* targets skipped, and why */
	s_place place[S_NTARGETS];
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

/* One round on place t: the calls, then (on a mount or tmpfs) the real work. */
static int s_place_round(s_bench *b, int t, char *err, size_t size)
{
	s_place *p = &b->place[t];
	double one[S_NCASES + FS_WORK_STEPS] = {0};
	errno = 0;
	if (s_round(b, p, one) < 0) {
		snprintf(err, size, "%s failed: %s", s_target_names[t],
		         strerror(errno ? errno : EIO));
		return -EIO;
	}
	if (t != S_PLEXUS && b->tar[0] &&
	    fs_work_run(p->dir, b->tar, one + S_NCASES, err, size) < 0)
		return -EIO;
	for (int c = 0; c < S_NCASES + FS_WORK_STEPS; c++)
		p->secs[c] += one[c];
	return 0;
}

/* Every round runs each place once, the order rotating so that noise hits all alike. */
static int s_run_rounds(s_bench *b, char *err, size_t size)
{
	int on[S_NTARGETS], n = 0;
	for (int t = 0; t < S_NTARGETS; t++)
		if (b->place[t].on)
			on[n++] = t;
	for (int r = 0; r < b->opt.rounds; r++)
		for (int k = 0; k < n; k++) {
			char why[512] = "";
			if (s_place_round(b, on[(r + k) % n], why, sizeof why) < 0) {
				snprintf(err, size, "round %d: %s", r + 1, why);
				return -EIO;
			}
		}
	return 0;
}

/* A row's name: the case alone for libplexus against tmpfs (the rows as they always were),
 * else case:target-vs-baseline. */
static void s_row_name(char *name, size_t size, const char *what, int t, int base)
{
	if (t == S_PLEXUS && base == S_TMPFS)
		snprintf(name, size, "%s", what);
	else
		snprintf(name, size, "%s:%s-vs-%s", what, s_target_names[t], s_target_names[base]);
}

/* The rows of Plexus target t against baseline base. */
static void s_report_pair(s_bench *b, bench_report *report, int t, int base)
{
	static const char *const meta[] = {"create", "stat", "unlink"};
	const s_place *p = &b->place[t], *q = &b->place[base];
	double mib = (double)b->opt.file_mb * b->opt.rounds,
	       ops = (double)b->opt.files * b->opt.rounds;
	char what[32], name[64];
	for (int c = 0; c < S_NCASES; c++) {
		if (c == S_SEQ_WRITE || c == S_SEQ_READ)
			snprintf(what, sizeof what, "seq_%s_%dM",
			         c == S_SEQ_WRITE ? "write" : "read", b->opt.file_mb);
		else
			snprintf(what, sizeof what, "%s", meta[c - S_CREATE_CASE]);
		s_row_name(name, sizeof name, what, t, base);
		double amount = c <= S_SEQ_READ ? mib : ops;
		bench_report_add(report, name, c <= S_SEQ_READ ? "MiB_per_s" : "ops_per_s",
		                 amount / p->secs[c], s_baseline_text[base], amount / q->secs[c],
		                 false);
	}
	for (int s = 0; t != S_PLEXUS && b->tar[0] && s < FS_WORK_STEPS; s++) {
		s_row_name(name, sizeof name, fs_work_names[s], t, base);
		double ms = 1000.0 / b->opt.rounds;
		bench_report_add(report, name, "ms", p->secs[S_NCASES + s] * ms,
		                 s_baseline_text[base], q->secs[S_NCASES + s] * ms, true);
	}
}

static int s_measure(s_bench *b, bench_report *report, char *err, size_t size)
{
	int rc = s_run_rounds(b, err, size);
	if (rc < 0)
		return rc;
	const int ours[] = {S_PLEXUS, S_FUSE}, bases[] = {S_TMPFS, S_SSHFS, S_NFS};
	for (size_t i = 0; i < sizeof ours / sizeof *ours; i++)
		for (size_t j = 0; j < sizeof bases / sizeof *bases; j++)
			if (b->place[ours[i]].on && b->place[bases[j]].on)
				s_report_pair(b, report, ours[i], bases[j]);
	return 0;
}

/* ---- set-up ---- */

/* Makes the image: a file of the size asked for, formatted by `plexus mkfs` (a journal after
 * the file system) or util-linux's mkfs.minix -3 (none). */
static int s_make_image(s_bench *b, char *err, size_t size)
{
	snprintf(b->image, sizeof b->image, "/dev/shm/plexus-benchfs-%d.img", (int)getpid());
	int fd = open(b->image, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
	/* libplexus's and the FUSE mount's files, the tree and its git repository */
	off_t bytes = ((off_t)2 * b->opt.file_mb + 64 + b->opt.files / 64 +
	               (off_t)b->opt.tree_files * 48 / 1024) *
	              S_MB;
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
	b->place[S_PLEXUS] = (s_place){.ops = &s_plexus_ops, .self = b->px, .dir = "/bench"};
	if (plexus_mkdir(b->px, "/bench", 0755) < 0 && errno != EEXIST) {
		snprintf(err, size, "mkdir /bench in Plexus: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* Notes that target t is skipped, and why. */
static void s_skip(s_bench *b, int t, const char *why)
{
	size_t n = strlen(b->notes);
	snprintf(b->notes + n, sizeof b->notes - n, "%s: not available here (%s)\n",
	         s_target_names[t], why);
}

/* A POSIX place: target t's calls go to dir with the host's system calls. */
static void s_posix_place(s_bench *b, int t, const char *dir, const char *sub)
{
	b->place[t] = (s_place){.ops = &s_host_ops, .on = true};
	snprintf(b->place[t].dir, sizeof b->place[t].dir, "%s%s", dir, sub);
}

/* The FUSE mount and the baselines that were asked for. sshfs and NFS are skipped, with a
 * note, when this machine cannot have them; any other failure fails the run. */
static int s_setup_mounts(s_bench *b, char *err, size_t size)
{
	netns_cluster *c = benchnet_netns(b->net);
	char exe[PATH_MAX], why[512];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	int rc;
	exe[n > 0 ? n : 0] = '\0';
	if (b->opt.targets[S_FUSE]) {
		if ((rc = fs_mount_fuse(c, 0, exe, benchnet_etcd_url(b->net), S_CLUSTER, &b->fuse,
		                        err, size)) < 0)
			return rc;
		s_posix_place(b, S_FUSE, b->fuse.dir, "/bench-fuse");
		if (mkdir(b->place[S_FUSE].dir, 0755) < 0 && errno != EEXIST) {
			snprintf(err, size, "mkdir %s: %s", b->place[S_FUSE].dir, strerror(errno));
			return -errno;
		}
	}
	if (b->opt.targets[S_SSHFS]) {
		rc = fs_mount_sshfs(c, 2, 0, &b->sshfs, why, sizeof why);
		if (rc == -ENOENT)
			s_skip(b, S_SSHFS, why);
		else if (rc < 0)
			return snprintf(err, size, "%s", why), rc;
		else
			s_posix_place(b, S_SSHFS, b->sshfs.dir, "");
	}
	if (b->opt.targets[S_NFS] && fs_nfs_probe(why, sizeof why) < 0)
		s_skip(b, S_NFS, why);
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
	if (b->opt.targets[S_TMPFS])
		s_posix_place(b, S_TMPFS, b->tmpfs, "");
	int rc = 0;
	if (b->opt.tree_files > 0 && b->opt.targets[S_FUSE]) { /* its rows are FUSE's */
		snprintf(b->tar, sizeof b->tar, "/dev/shm/plexus-benchfs-%d.tar", (int)getpid());
		if ((rc = fs_work_tarball(b->tar, b->opt.tree_files, err, size)) < 0)
			return rc;
	}
	rc = s_make_image(b, err, size);
	if (rc < 0 || !(b->net = benchnet_new(4, S_CLUSTER, err, size)))
		return rc < 0 ? rc : -EIO;
	if ((rc = s_start_services(b, err, size)) < 0 || (rc = s_connect(b, err, size)) < 0)
		return rc;
	b->place[S_PLEXUS].on = b->opt.targets[S_PLEXUS];
	return s_setup_mounts(b, err, size);
}

static void s_teardown(s_bench *b)
{
	if (b->net) {
		fs_mount_stop(benchnet_netns(b->net), &b->fuse);
		fs_mount_stop(benchnet_netns(b->net), &b->sshfs);
	}
	plexus_disconnect(&b->px);
	benchnet_destroy(&b->net);
	if (b->image[0])
		unlink(b->image);
	if (b->tar[0])
		unlink(b->tar);
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

/* --targets LIST: comma-separated target names; at least one Plexus target and a baseline. */
static int s_parse_targets(const char *value, void *arg)
{
	bool *on = arg, any[2] = {false, false};
	char copy[256], *save = NULL;
	snprintf(copy, sizeof copy, "%s", value);
	memset(on, 0, S_NTARGETS * sizeof *on);
	for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		int t = 0;
		while (t < S_NTARGETS && strcmp(w, s_target_names[t]) != 0)
			t++;
		if (t == S_NTARGETS)
			return -EINVAL;
		on[t] = true;
		any[s_baseline_text[t] != NULL] = true;
	}
	return any[0] && any[1] ? 0 : -EINVAL;
}

static int s_parse(int argc, char **argv, options *opt)
{
	*opt = (options){.rounds = 3,
	                 .file_mb = 256,
	                 .files = 500,
	                 .tree_files = 1000,
	                 .targets = {true, true, true, true, true}};
	const bench_arg args[] = {
	    {"json", NULL, "print one JSON object instead of a table", .flag = &opt->json},
	    {"rounds", "N", "measured rounds, the targets' order rotating (default 3)",
	     .number = &opt->rounds, .min = 1, .max = 100},
	    {"file-mb", "N", "the file's size in MiB (default 256)", .number = &opt->file_mb,
	     .min = 1, .max = 4096},
	    {"files", "N", "files created, stat'ed and unlinked per round (default 500)",
	     .number = &opt->files, .min = 1, .max = 100000},
	    {"tree-files", "N",
	     "files of the real-work source tree (default 1000; 0: no real-work cases)",
	     .number = &opt->tree_files, .min = 0, .max = 100000},
	    {"targets", "LIST",
	     "comma-separated, at least one of plexus,fuse and one of sshfs,nfs,tmpfs\n"
	     "                   (default plexus,fuse,sshfs,nfs,tmpfs)",
	     .parse = s_parse_targets, .arg = opt->targets},
	    {"no-journal", NULL,
	     "format with util-linux's mkfs.minix -3 instead of plexus mkfs: no journal",
	     .flag = &opt->no_journal},
	};
	return bench_args_parse(
	    argc, argv, "fs",
	    "Sequential write and read of a file, and create/stat/unlink of many files,\n"
	    "through Plexus (plexus-vfs -> plexus-mfs -> plexus-vdisk, each on its own node\n"
	    "of a four-node network-namespace cluster) from node 0: by libplexus (target\n"
	    "plexus) and through `plexus mount` (target fuse). The baselines, in the same\n"
	    "run: sshfs (an sshd of the benchmark's own on node 2 serving a tmpfs\n"
	    "directory, sshfs in node 0), NFS (only where the kernel has nfsd; otherwise\n"
	    "reported as not available and skipped) and this machine's tmpfs (/dev/shm).\n"
	    "Real work on every target but libplexus: untar a generated source tree, grep\n"
	    "-r it, git init/add/commit it, rm -rf it. Rows are case:target-vs-baseline;\n"
	    "the plain case names are libplexus against tmpfs. Needs root, and\n"
	    "openssh-server and sshfs for the sshfs target. The servers are taken from\n"
	    "$PLEXUS_VFS_BIN, $PLEXUS_MFS_BIN, $PLEXUS_VDISK_BIN, the build tree, or PATH.\n",
	    args, sizeof args / sizeof *args);
}

/* True when the targets left after set-up still pair a Plexus target with a baseline. */
static bool s_comparable(const s_bench *b)
{
	bool any[2] = {false, false};
	for (int t = 0; t < S_NTARGETS; t++)
		any[s_baseline_text[t] != NULL] |= b->place[t].on;
	return any[0] && any[1];
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
	if (rc == 0 && !s_comparable(&b)) {
		snprintf(err, sizeof err, "no baseline left to compare with");
		rc = -ENOENT;
	}
	if (rc == 0)
		rc = s_measure(&b, report, err, sizeof err);
	fputs(b.notes, b.opt.json ? stderr : stdout);
	if (rc == 0)
		bench_report_print(report, b.opt.json);
	else
		fprintf(stderr, "plexus bench fs: %s\n", err);
	s_teardown(&b);
	bench_report_destroy(&report);
	return rc == 0 ? EX_OK : EX_SOFTWARE;
}
