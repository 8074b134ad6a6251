/*
 * mfstest.c — the shared fixture of the plexus-mfs component tests (mfstest.h).
 *
 * Entry points: mfstest_setup, mfstest_teardown, mfstest_test_setup, mfstest_test_teardown,
 * mfstest_spawn, mfstest_start, mfstest_stop, mfstest_kill, mfstest_image, mfstest_sh,
 * mfstest_fsck, mfstest_mount, mfstest_unmount, mfstest_log.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "etcd_fixture.h"
#include "format.h"
#include "mfstest.h"

static int s_counter;

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int mfstest_setup(void **state)
{
	mfstest *t = calloc(1, sizeof *t);
	if (!t || etcd_fixture_start(&t->h, &t->etcd) < 0)
		return -1;
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(t->dir, sizeof t->dir, "%s/plexus-mfstest-%d-XXXXXX", tmp, (int)getpid());
	char name[64];
	snprintf(name, sizeof name, "mfsclient%d", (int)getpid());
	if (!mkdtemp(t->dir) || !(t->ctx = plx_ctx_new()) ||
	    !(t->cache = plx_epcache_new(t->etcd, MFSTEST_CLUSTER, t->ctx)) ||
	    !(t->ep = plx_ep_new(t->ctx, name, 1)))
		return -1;
	*state = t;
	return 0;
}

static void s_kill_all(mfstest *t)
{
	for (int i = 0; i < MFSTEST_PROCS; i++)
		if (t->procs[i] > 0) {
			kill(t->procs[i], SIGKILL);
			waitpid(t->procs[i], NULL, 0);
			t->procs[i] = 0;
		}
}

int mfstest_teardown(void **state)
{
	mfstest *t = *state;
	s_kill_all(t);
	if (!getenv("PLEXUS_MFSTEST_KEEP")) {
		char cmd[512];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", t->dir);
	}
	plx_ep_destroy(&t->ep);
	plx_epcache_destroy(&t->cache);
	plx_ctx_destroy(&t->ctx);
	etcd_fixture_stop(&t->h, &t->etcd);
	free(t);
	return 0;
}

int mfstest_test_setup(void **state)
{
	mfstest *t = *state;
	s_counter++;
	snprintf(t->drv, sizeof t->drv, "disk%d-%d", (int)getpid() % 100000, s_counter);
	snprintf(t->fs, sizeof t->fs, "mfs%d-%d", (int)getpid() % 100000, s_counter);
	return 0;
}

int mfstest_test_teardown(void **state)
{
	s_kill_all(*state);
	return 0;
}

static void s_track(mfstest *t, pid_t pid, bool add)
{
	for (int i = 0; i < MFSTEST_PROCS; i++)
		if (add ? t->procs[i] == 0 : t->procs[i] == pid) {
			t->procs[i] = add ? pid : 0;
			return;
		}
}

pid_t mfstest_spawn(mfstest *t, const char *program, const char *label, const char *init,
                    const char *const *extra)
{
	char *argv[40];
	int n = 0;
	const char *base[] = {
	    program,     "--label",       label,    "--etcd",   plx_etcdh_endpoints(t->h),
	    "--cluster", MFSTEST_CLUSTER, "--addr", "127.0.0.1"};
	for (size_t i = 0; i < sizeof base / sizeof *base; i++)
		argv[n++] = (char *)base[i];
	for (; extra && *extra && n < 39; extra++)
		argv[n++] = (char *)*extra;
	argv[n] = NULL;
	char log[512];
	snprintf(log, sizeof log, "%s/%s.log", t->dir, label);
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
	assert_true(pid > 0);
	s_track(t, pid, true);
	return pid;
}

const char *mfstest_log(mfstest *t, const char *label)
{
	static char text[16384];
	char path[512];
	snprintf(path, sizeof path, "%s/%s.log", t->dir, label);
	text[0] = '\0';
	FILE *fp = fopen(path, "r");
	if (fp) {
		size_t n = fread(text, 1, sizeof text - 1, fp);
		text[n] = '\0';
		fclose(fp);
	}
	return text;
}

pid_t mfstest_start(mfstest *t, const char *program, const char *label, const char *init,
                    const char *const *extra, uint64_t *gen)
{
	uint64_t before = 0, g = 0;
	plx_route_lookup(t->ctx, label, &before, NULL, 0);
	pid_t pid = mfstest_spawn(t, program, label, init, extra);
	for (int64_t end = s_now_ms() + MFSTEST_TIMEOUT; s_now_ms() < end; usleep(10 * 1000))
		if (plx_route_lookup(t->ctx, label, &g, NULL, 0) == 0 && g > before) {
			if (gen)
				*gen = g;
			return pid;
		}
	fail_msg("%s did not publish its endpoint; its log:\n%s", label, mfstest_log(t, label));
	return pid;
}

static int s_reap(mfstest *t, pid_t pid)
{
	int status = -1;
	for (int64_t end = s_now_ms() + MFSTEST_TIMEOUT; s_now_ms() < end; usleep(10 * 1000))
		if (waitpid(pid, &status, WNOHANG) == pid) {
			s_track(t, pid, false);
			return status;
		}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	s_track(t, pid, false);
	fail_msg("pid %d did not exit in time", (int)pid);
	return status;
}

void mfstest_stop(mfstest *t, pid_t pid)
{
	kill(pid, SIGTERM);
	int status = s_reap(t, pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

void mfstest_kill(mfstest *t, pid_t pid)
{
	kill(pid, SIGKILL);
	s_reap(t, pid);
}

int mfstest_sh(const char *cmd, char *out, size_t size)
{
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int s_pwrite(void *arg, uint64_t pos, const void *buf, size_t size)
{
	return pwrite(*(int *)arg, buf, size, (off_t)pos) == (ssize_t)size ? 0 : -EIO;
}

/* An empty journal after the file system mkfs.minix wrote into path's first fs_size bytes. */
static void s_add_journal(const char *path, uint32_t journal)
{
	int fd = open(path, O_RDWR);
	uint8_t buf[MFS_SUPER_SIZE];
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, sizeof buf, MFS_SUPER_OFFSET), (ssize_t)sizeof buf);
	mfs_super sb;
	mfs_super_decode(buf, &sb);
	assert_int_equal(mfs_journal_write_empty(&sb, journal, s_pwrite, &fd), 0);
	close(fd);
}

const char *mfstest_image(mfstest *t, const char *name, uint64_t size, int how)
{
	static char path[512];
	snprintf(path, sizeof path, "%s/%s-%s.img", t->dir, t->fs, name);
	uint32_t journal = how == MFSTEST_JOURNALED ? mfs_journal_default(size, MFS_BLOCK_MIN) : 0;
	assert_true(how != MFSTEST_JOURNALED || journal > 0);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)(size - (uint64_t)journal * MFS_BLOCK_MIN)), 0);
	close(fd);
	if (how != MFSTEST_BLANK) {
		char cmd[1024], out[4096];
		snprintf(cmd, sizeof cmd, "mkfs.minix -3 '%s' 2>&1", path);
		if (mfstest_sh(cmd, out, sizeof out) != 0)
			fail_msg("%s: %s", cmd, out);
	}
	assert_int_equal(truncate(path, (off_t)size), 0);
	if (journal)
		s_add_journal(path, journal);
	return path;
}

void mfstest_fsck(const char *image)
{
	char cmd[1024], out[8192];
	snprintf(cmd, sizeof cmd, "fsck.minix -f '%s' 2>&1", image);
	int rc = mfstest_sh(cmd, out, sizeof out);
	/* Clean: the exit code is 0 and only "Forcing filesystem check on ..." is printed. */
	const char *nl = strchr(out, '\n');
	bool quiet = strncmp(out, "Forcing", 7) == 0 && nl && nl[1] == '\0';
	if (rc != 0 || !quiet)
		fail_msg("fsck.minix -f %s (exit %d):\n%s", image, rc, out);
}

plx_fs *mfstest_mount(mfstest *t, const char *image, plx_fs_attr *root, pid_t *drv_pid,
                      pid_t *fs_pid)
{
	const char *vd[] = {"--image", image, NULL};
	*drv_pid = mfstest_start(t, PLEXUS_VDISK_BIN, t->drv, NULL, vd, NULL);
	*fs_pid = mfstest_start(t, PLEXUS_MFS_BIN, t->fs, NULL, NULL, NULL);
	plx_fs *fs = plx_fs_new(t->ep, t->fs, MFSTEST_TIMEOUT);
	assert_non_null(fs);
	int rc = plx_fs_readsuper(fs, t->drv, 0, false, 77, root, NULL);
	if (rc != 0)
		fail_msg("FS_READSUPER: %s; mfs log:\n%s", plx_strerror(rc), mfstest_log(t, t->fs));
	return fs;
}

void mfstest_unmount(mfstest *t, plx_fs **fs, const char *image, pid_t drv_pid, pid_t fs_pid)
{
	assert_int_equal(plx_fs_sync(*fs), 0);
	int rc = plx_fs_unmount(*fs);
	if (rc != 0)
		fail_msg("FS_UNMOUNT: %s", plx_strerror(rc));
	plx_fs_destroy(fs);
	mfstest_stop(t, fs_pid);
	mfstest_stop(t, drv_pid);
	mfstest_fsck(image);
}
