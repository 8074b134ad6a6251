/*
 * test-blockdriver.c — the block drivers on one machine: plexus-memory and plexus-vdisk run
 * as real processes against a private etcd, and this process talks BDEV to them from an
 * endpoint of its own (the conformance suite, blocktest.c, with the driver on the client's
 * node). Also: a 1 TiB RAM disk costs nothing until written; vdisk writes reach the image
 * file, work with O_DIRECT, on a real block device (a loop device), and are refused read-only;
 * drivers answer heartbeats, announce drv.blk.<label> in DS, and a driver restarted with
 * PLEXUS_INIT=restart has the open counts its predecessor saved while a fresh one starts from none;
 * SIGTERM stops a driver cleanly and withdraws its endpoint; bad options exit with their sysexits
 * codes.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <plexus/bdev.h>
#include <plexus/blockdriver.h>
#include <plexus/ds.h>
#include <plexus/endpoint.h>

#include "blocktest.h"
#include "etcd_fixture.h"
#include "plexus/proto/bdev.pb-c.h"

#define S_CLUSTER "blktest"
#define S_TIMEOUT 10000
#define S_MB      (1024u * 1024)

typedef struct fixture {
	plx_etcdh *h;
	plx_etcd *etcd;
	plx_ctx *ctx;
	plx_epcache *cache;
	plx_ep *ep;
	plx_ds *ds;
	char dir[256];
	char label[32]; /* unique per test */
	char loop[64];  /* a loop device this test attached, detached by teardown */
} fixture;

static int s_counter;

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int group_setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	if (!f || etcd_fixture_start(&f->h, &f->etcd) < 0)
		return -1;
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(f->dir, sizeof f->dir, "%s/plexus-blktest-%d-XXXXXX", tmp, (int)getpid());
	if (!mkdtemp(f->dir) || !(f->ctx = plx_ctx_new()) ||
	    !(f->cache = plx_epcache_new(f->etcd, S_CLUSTER, f->ctx)) ||
	    !(f->ep = plx_ep_new(f->ctx, "blkclient", 1)) ||
	    !(f->ds = plx_ds_new(f->etcd, S_CLUSTER, "blkclient")))
		return -1;
	*state = f;
	return 0;
}

static int group_teardown(void **state)
{
	fixture *f = *state;
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", f->dir);
	plx_ds_destroy(&f->ds);
	plx_ep_destroy(&f->ep);
	plx_epcache_destroy(&f->cache);
	plx_ctx_destroy(&f->ctx);
	etcd_fixture_stop(&f->h, &f->etcd);
	free(f);
	return 0;
}

/* A label of its own for each test, so no test sees another's driver. */
static int setup(void **state)
{
	fixture *f = *state;
	snprintf(f->label, sizeof f->label, "blk%d-%d", (int)getpid() % 100000, ++s_counter);
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	if (f->loop[0]) {
		char cmd[128];
		snprintf(cmd, sizeof cmd, "losetup -d %s", f->loop);
		if (system(cmd) != 0)
			fprintf(stderr, "could not detach %s\n", f->loop);
		f->loop[0] = '\0';
	}
	return 0;
}

/* Starts program with the service options for label and extra (NULL-terminated), with
 * PLEXUS_INIT=init when init is not NULL. Output goes to <dir>/<label>.log. */
static pid_t s_spawn(fixture *f, const char *program, const char *label, const char *init,
                     const char *const *extra)
{
	char *argv[32];
	int n = 0;
	const char *base[] = {
	    program,     "--label", label,    "--etcd",   plx_etcdh_endpoints(f->h),
	    "--cluster", S_CLUSTER, "--addr", "127.0.0.1"};
	for (size_t i = 0; i < sizeof base / sizeof *base; i++)
		argv[n++] = (char *)base[i];
	for (; extra && *extra && n < 31; extra++)
		argv[n++] = (char *)*extra;
	argv[n] = NULL;
	char log[512];
	snprintf(log, sizeof log, "%s/%s.log", f->dir, label);
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (init)
			setenv("PLEXUS_INIT", init, 1);
		else
			unsetenv("PLEXUS_INIT");
		execv(program, argv);
		_exit(127);
	}
	return pid;
}

/* Waits until label's route names a generation above after (0: any). */
static uint64_t s_wait_route(fixture *f, const char *label, uint64_t after)
{
	uint64_t gen = 0;
	for (int64_t end = s_now_ms() + S_TIMEOUT; s_now_ms() < end; usleep(10 * 1000))
		if (plx_route_lookup(f->ctx, label, &gen, NULL, 0) == 0 && gen > after)
			return gen;
	char path[512], text[4096] = "";
	snprintf(path, sizeof path, "%s/%s.log", f->dir, label);
	FILE *fp = fopen(path, "r");
	if (fp) {
		text[fread(text, 1, sizeof text - 1, fp)] = '\0';
		fclose(fp);
	}
	fail_msg("%s did not publish its endpoint; its log:\n%s", label, text);
	return 0;
}

/* Starts a driver and waits until it is published. */
static pid_t s_start(fixture *f, const char *program, const char *init, const char *const *extra,
                     uint64_t *gen)
{
	uint64_t before = 0;
	plx_route_lookup(f->ctx, f->label, &before, NULL, 0);
	pid_t pid = s_spawn(f, program, f->label, init, extra);
	assert_true(pid > 0);
	uint64_t g = s_wait_route(f, f->label, before);
	if (gen)
		*gen = g;
	return pid;
}

/* Waits up to S_TIMEOUT for pid to end; returns its wait status. */
static int s_reap(pid_t pid)
{
	int status = -1;
	for (int64_t end = s_now_ms() + S_TIMEOUT; s_now_ms() < end; usleep(10 * 1000))
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	fail_msg("pid %d did not exit in time", (int)pid);
	return status;
}

static void s_stop(pid_t pid)
{
	kill(pid, SIGTERM);
	int status = s_reap(pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Runs program with args and returns its exit status; its output goes to *out (caller
 * frees). */
static int s_run(fixture *f, const char *const *argv, const char *const *env, char **out)
{
	char path[512];
	snprintf(path, sizeof path, "%s/run-%d.out", f->dir, ++s_counter);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		for (; env && *env; env++)
			putenv((char *)*env);
		execv(argv[0], (char **)argv);
		_exit(127);
	}
	int status = s_reap(pid);
	FILE *fp = fopen(path, "r");
	*out = calloc(1, 65536);
	if (fp) {
		size_t n = fread(*out, 1, 65535, fp);
		(*out)[n] = '\0';
		fclose(fp);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *s_image(fixture *f, const char *name, uint64_t size)
{
	static char path[512];
	snprintf(path, sizeof path, "%s/%s-%s.img", f->dir, f->label, name);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	close(fd);
	return path;
}

static blocktest_target s_target(fixture *f, uint32_t minor, uint64_t size, uint32_t sector,
                                 uint32_t bad_minor)
{
	return (blocktest_target){.ep = f->ep,
	                          .label = f->label,
	                          .minor = minor,
	                          .size = size,
	                          .sector = sector,
	                          .bad_minor = bad_minor,
	                          .timeout_ms = S_TIMEOUT};
}

/* ---- tests ---- */

static void test_memory_suite(void **state)
{
	fixture *f = *state;
	const char *extra[] = {"--ramdisk", "0:16M", "--ramdisk", "3:8M", NULL};
	pid_t pid = s_start(f, PLEXUS_MEMORY_BIN, NULL, extra, NULL);
	blocktest_target t = s_target(f, 0, 16 * S_MB, 512, 1);
	blocktest_ping(&t);
	blocktest_run(&t);
	t = s_target(f, 3, 8 * S_MB, 512, 200);
	blocktest_run(&t);
	s_stop(pid);
}

/* Resident memory of pid in KiB. */
static long s_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *fp = fopen(path, "r");
	while (fp && fgets(line, sizeof line, fp))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	if (fp)
		fclose(fp);
	return kb;
}

static void test_memory_big_disk_is_sparse(void **state)
{
	fixture *f = *state;
	const char *extra[] = {"--ramdisk", "0:1T", NULL};
	pid_t pid = s_start(f, PLEXUS_MEMORY_BIN, NULL, extra, NULL);
	plx_bdev *b = plx_bdev_new(f->ep, f->label, S_TIMEOUT);
	plx_bdev_info info;
	assert_int_equal(plx_bdev_info_get(b, 0, &info), 0);
	assert_int_equal(info.size, 1ull << 40);
	uint8_t w[4096], r[8192];
	memset(w, 0x3c, sizeof w);
	uint64_t last = (1ull << 40) - sizeof w;
	assert_int_equal(plx_bdev_write(b, 0, last, w, sizeof w, 0), sizeof w);
	assert_int_equal(plx_bdev_write(b, 0, 1ull << 39, w, sizeof w, 0), sizeof w);
	assert_int_equal(plx_bdev_read(b, 0, last - 4096, r, sizeof r, 0), sizeof r);
	for (size_t i = 0; i < 4096; i++)
		assert_int_equal(r[i], 0); /* never written: zeros */
	assert_memory_equal(r + 4096, w, sizeof w);
	assert_int_equal(plx_bdev_read(b, 0, 1ull << 40, r, 512, 0), 0);
	long kb = s_rss_kb(pid);
	assert_true(kb > 0 && kb < 128 * 1024); /* a 1 TiB disk, two pages written */
	plx_bdev_destroy(&b);
	s_stop(pid);
}

/* --ramdisk MINOR:SIZE:IMAGE: a new disk begins with the image's bytes (its holes read as
 * zeros); an image larger than the disk, or missing, stops the driver with the file named. */
static void test_memory_disk_from_image(void **state)
{
	fixture *f = *state;
	char *image = s_image(f, "boot", S_MB);
	uint8_t w[2048], r[4096];
	for (size_t i = 0; i < sizeof w; i++)
		w[i] = (uint8_t)(i * 13 + 5);
	int fd = open(image, O_WRONLY);
	assert_int_equal(pwrite(fd, w, sizeof w, 0), sizeof w);
	assert_int_equal(pwrite(fd, w, sizeof w, 512 * 1024), sizeof w);
	close(fd);
	char spec[600];
	snprintf(spec, sizeof spec, "0:2M:%s", image);
	const char *extra[] = {"--ramdisk", spec, NULL};
	pid_t pid = s_start(f, PLEXUS_MEMORY_BIN, NULL, extra, NULL);
	plx_bdev *b = plx_bdev_new(f->ep, f->label, S_TIMEOUT);
	assert_int_equal(plx_bdev_read(b, 0, 0, r, sizeof r, 0), sizeof r);
	assert_memory_equal(r, w, sizeof w);
	for (size_t i = sizeof w; i < sizeof r; i++)
		assert_int_equal(r[i], 0); /* the image's hole */
	assert_int_equal(plx_bdev_read(b, 0, 512 * 1024, r, sizeof w, 0), sizeof w);
	assert_memory_equal(r, w, sizeof w);
	assert_int_equal(plx_bdev_read(b, 0, S_MB, r, sizeof r, 0), sizeof r);
	for (size_t i = 0; i < sizeof r; i++)
		assert_int_equal(r[i], 0); /* past the image: zeros up to the disk's 2 MiB */
	plx_bdev_destroy(&b);
	s_stop(pid);
	char *out = NULL;
	snprintf(spec, sizeof spec, "0:512K:%s", image);
	const char *big[] = {PLEXUS_MEMORY_BIN, "--label", "x", "--ramdisk", spec, NULL};
	assert_int_equal(s_run(f, big, NULL, &out), EX_OSERR);
	assert_non_null(strstr(out, "File too large"));
	free(out);
	const char *none[] = {
	    PLEXUS_MEMORY_BIN, "--label", "x", "--ramdisk", "0:1M:/nonexistent/root.img", NULL};
	assert_int_equal(s_run(f, none, NULL, &out), EX_NOINPUT);
	assert_non_null(strstr(out, "/nonexistent/root.img"));
	free(out);
}

static void test_vdisk_suite(void **state)
{
	fixture *f = *state;
	const char *extra[] = {"--image", s_image(f, "plain", 16 * S_MB + 100), NULL};
	char image[512];
	snprintf(image, sizeof image, "%s", extra[1]);
	pid_t pid = s_start(f, PLEXUS_VDISK_BIN, NULL, extra, NULL);
	blocktest_target t = s_target(f, 0, 16 * S_MB, 512, 1); /* the odd 100 bytes cut off */
	blocktest_ping(&t);
	blocktest_run(&t);
	/* What the driver wrote is in the file. */
	plx_bdev *b = plx_bdev_new(f->ep, f->label, S_TIMEOUT);
	uint8_t w[1024], r[1024];
	for (size_t i = 0; i < sizeof w; i++)
		w[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(plx_bdev_write(b, 0, 3 * S_MB, w, sizeof w, 0), sizeof w);
	assert_int_equal(plx_bdev_flush(b, 0), 0);
	int fd = open(image, O_RDONLY);
	assert_int_equal(pread(fd, r, sizeof r, 3 * S_MB), sizeof r);
	assert_memory_equal(r, w, sizeof w);
	close(fd);
	plx_bdev_destroy(&b);
	s_stop(pid);
}

static void test_vdisk_direct(void **state)
{
	fixture *f = *state;
	const char *extra[] = {"--image", s_image(f, "direct", 12 * S_MB), "--direct", NULL};
	pid_t pid = s_start(f, PLEXUS_VDISK_BIN, NULL, extra, NULL);
	blocktest_target t = s_target(f, 0, 12 * S_MB, 4096, 2);
	blocktest_run(&t);
	s_stop(pid);
}

static void test_vdisk_read_only(void **state)
{
	fixture *f = *state;
	char *image = s_image(f, "ro", 8 * S_MB);
	int fd = open(image, O_WRONLY);
	assert_int_equal(pwrite(fd, "plexus", 6, 4096), 6);
	close(fd);
	const char *extra[] = {"--image", image, "--read-only", "--sector-size", "1024", NULL};
	pid_t pid = s_start(f, PLEXUS_VDISK_BIN, NULL, extra, NULL);
	blocktest_target t = s_target(f, 0, 8 * S_MB, 1024, 1);
	blocktest_readonly(&t);
	plx_bdev *b = plx_bdev_new(f->ep, f->label, S_TIMEOUT);
	char buf[1024];
	assert_int_equal(plx_bdev_read(b, 0, 4096, buf, sizeof buf, 0), sizeof buf);
	assert_memory_equal(buf, "plexus", 6);
	plx_bdev_destroy(&b);
	s_stop(pid);
}

/* vdisk on a real block device: a loop device over an image (needs root, as CI is). */
static void test_vdisk_block_device(void **state)
{
	fixture *f = *state;
	if (geteuid() != 0)
		fail_msg("test_vdisk_block_device needs root (a loop device); CI runs as root");
	char *image = s_image(f, "loop", 10 * S_MB);
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "losetup --find --show '%s'", image);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	if (!fgets(f->loop, sizeof f->loop, p))
		f->loop[0] = '\0';
	pclose(p);
	f->loop[strcspn(f->loop, "\n")] = '\0';
	assert_memory_equal(f->loop, "/dev/loop", 9);
	const char *extra[] = {"--image", f->loop, NULL};
	pid_t pid = s_start(f, PLEXUS_VDISK_BIN, NULL, extra, NULL);
	blocktest_target t = s_target(f, 0, 10 * S_MB, 512, 1); /* size from BLKGETSIZE64 */
	blocktest_run(&t);
	s_stop(pid);
}

/* Waits until drv.blk.<label> is "up" and was written after revision after (the announcement
 * comes a moment after the endpoint record); returns its revision. */
static int64_t s_wait_announced(fixture *f, int64_t after)
{
	char key[128];
	snprintf(key, sizeof key, "drv.blk.%s", f->label);
	for (int64_t end = s_now_ms() + S_TIMEOUT; s_now_ms() < end; usleep(10 * 1000)) {
		plx_ds_entry *e = NULL;
		if (plx_ds_get(f->ds, key, &e) == 0 && e->type == PLX_DSF_TYPE_STR &&
		    strcmp(e->str, "up") == 0 && e->revision > after) {
			int64_t revision = e->revision;
			assert_string_equal(e->owner, f->label);
			plx_ds_entry_free(&e);
			return revision;
		}
		plx_ds_entry_free(&e);
	}
	fail_msg("drv.blk.%s was not announced after revision %lld", f->label, (long long)after);
	return 0;
}

static void test_announce_restart_state(void **state)
{
	fixture *f = *state;
	const char *extra[] = {"--ramdisk", "0:1M", "--ramdisk", "7:1M", NULL};
	uint64_t gen1, gen2, gen3;
	pid_t pid = s_start(f, PLEXUS_MEMORY_BIN, NULL, extra, &gen1);
	int64_t announced = s_wait_announced(f, 0);
	plx_bdev *b = plx_bdev_new(f->ep, f->label, S_TIMEOUT);
	plx_bdev_info info;
	assert_int_equal(plx_bdev_open(b, 0, PLEXUS__BDEV_ACCESS__BDEV_R_BIT), 0);
	assert_int_equal(plx_bdev_open(b, 0, PLEXUS__BDEV_ACCESS__BDEV_R_BIT), 0);
	assert_int_equal(plx_bdev_open(b, 7, PLEXUS__BDEV_ACCESS__BDEV_W_BIT), 0);
	/* A crash: SIGKILL, no chance to save anything more. */
	kill(pid, SIGKILL);
	s_reap(pid);
	pid = s_start(f, PLEXUS_MEMORY_BIN, "restart", extra, &gen2);
	assert_true(gen2 > gen1);
	s_wait_announced(f, announced); /* announced again by the new instance */
	assert_int_equal(plx_bdev_info_get(b, 0, &info), 0);
	assert_int_equal(info.open_count, 2);
	assert_int_equal(plx_bdev_info_get(b, 7, &info), 0);
	assert_int_equal(info.open_count, 1);
	assert_int_equal(plx_bdev_close(b, 7), 0);
	kill(pid, SIGKILL);
	s_reap(pid);
	/* Restarted again: the close is remembered too. */
	pid = s_start(f, PLEXUS_MEMORY_BIN, "restart", extra, &gen3);
	assert_int_equal(plx_bdev_info_get(b, 0, &info), 0);
	assert_int_equal(info.open_count, 2);
	assert_int_equal(plx_bdev_info_get(b, 7, &info), 0);
	assert_int_equal(info.open_count, 0);
	s_stop(pid);
	/* A fresh start knows no opens, and forgets the saved ones. */
	pid = s_start(f, PLEXUS_MEMORY_BIN, "fresh", extra, NULL);
	assert_int_equal(plx_bdev_info_get(b, 0, &info), 0);
	assert_int_equal(info.open_count, 0);
	kill(pid, SIGKILL);
	s_reap(pid);
	pid = s_start(f, PLEXUS_MEMORY_BIN, "restart", extra, NULL);
	assert_int_equal(plx_bdev_info_get(b, 0, &info), 0);
	assert_int_equal(info.open_count, 0);
	s_stop(pid);
	plx_bdev_destroy(&b);
}

static void test_sigterm_withdraws(void **state)
{
	fixture *f = *state;
	const char *extra[] = {"--ramdisk", "0:1M", NULL};
	pid_t pid = s_start(f, PLEXUS_MEMORY_BIN, NULL, extra, NULL);
	s_stop(pid);
	plx_endpoint_rec rec;
	assert_int_equal(plx_endpoint_lookup(f->etcd, S_CLUSTER, f->label, &rec), -ENOENT);
	plx_bdev *b = plx_bdev_new(f->ep, f->label, 2000);
	uint8_t buf[512];
	ssize_t rc = plx_bdev_read(b, 0, 0, buf, sizeof buf, 0);
	assert_true(rc == -PLX_EDEADSRCDST || rc == -ETIMEDOUT);
	plx_bdev_destroy(&b);
}

static void test_options(void **state)
{
	fixture *f = *state;
	char *out = NULL;
	const char *help[] = {PLEXUS_MEMORY_BIN, "--help", NULL};
	assert_int_equal(s_run(f, help, NULL, &out), EX_OK);
	assert_non_null(strstr(out, "--ramdisk MINOR:SIZE"));
	assert_non_null(strstr(out, "--label"));
	free(out);
	const char *vhelp[] = {PLEXUS_VDISK_BIN, "--help", NULL};
	assert_int_equal(s_run(f, vhelp, NULL, &out), EX_OK);
	assert_non_null(strstr(out, "--direct"));
	free(out);
	const char *const bad[][6] = {
	    {PLEXUS_MEMORY_BIN, "--ramdisk", "0:100", NULL},  /* not a multiple of 512 */
	    {PLEXUS_MEMORY_BIN, "--ramdisk", "256:1M", NULL}, /* no such minor */
	    {PLEXUS_MEMORY_BIN, "--ramdisk", "0:2T", NULL},   /* over 1T */
	    {PLEXUS_MEMORY_BIN, "--ramdisk", "0:1M", "--ramdisk", "0:1M", NULL},
	    {PLEXUS_MEMORY_BIN, "--frobnicate", "1", NULL},
	    {PLEXUS_MEMORY_BIN, "--ramdisk", NULL},
	    {PLEXUS_MEMORY_BIN, "--ramdisk", "0:1M:", NULL}, /* an empty image name */
	    {PLEXUS_VDISK_BIN, "--label", "x", NULL},        /* no --image */
	    {PLEXUS_VDISK_BIN, "--image", "/x", "--sector-size", "1000", NULL},
	    {PLEXUS_VDISK_BIN, "--image", "/x", "--direct=yes", NULL},
	    {PLEXUS_VDISK_BIN, "--generation", "zero", NULL},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		int rc = s_run(f, bad[i], NULL, &out);
		if (rc != EX_USAGE)
			fail_msg("%s %s: exit %d, want EX_USAGE\n%s", bad[i][0], bad[i][1], rc,
			         out);
		assert_non_null(strstr(out, "usage:"));
		free(out);
	}
	const char *missing[] = {PLEXUS_VDISK_BIN, "--image", "/nonexistent/plexus.img",
	                         "--label",        "x",       NULL};
	assert_int_equal(s_run(f, missing, NULL, &out), EX_NOINPUT);
	assert_non_null(strstr(out, "/nonexistent/plexus.img"));
	free(out);
	const char *envbad[] = {"PLEXUS_GENERATION=-3", NULL};
	assert_int_equal(s_run(f, help, envbad, &out), EX_CONFIG);
	assert_non_null(strstr(out, "PLEXUS_GENERATION"));
	free(out);
	/* etcd that does not answer: EX_UNAVAILABLE. */
	const char *noetcd[] = {PLEXUS_MEMORY_BIN,    "--label", "x", "--etcd",
	                        "http://127.0.0.1:1", NULL};
	assert_int_equal(s_run(f, noetcd, NULL, &out), EX_UNAVAILABLE);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_memory_suite, setup),
	    cmocka_unit_test_setup(test_memory_big_disk_is_sparse, setup),
	    cmocka_unit_test_setup(test_memory_disk_from_image, setup),
	    cmocka_unit_test_setup(test_vdisk_suite, setup),
	    cmocka_unit_test_setup(test_vdisk_direct, setup),
	    cmocka_unit_test_setup(test_vdisk_read_only, setup),
	    cmocka_unit_test_setup_teardown(test_vdisk_block_device, setup, teardown),
	    cmocka_unit_test_setup(test_announce_restart_state, setup),
	    cmocka_unit_test_setup(test_sigterm_withdraws, setup),
	    cmocka_unit_test_setup(test_options, setup),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
