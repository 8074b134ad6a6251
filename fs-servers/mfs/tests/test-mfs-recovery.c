/*
 * test-mfs-recovery.c — plexus-mfs when its block driver dies (docs/mfs.md "When the driver
 * dies"): plexus-vdisk is killed (SIGKILL) while an FS_FSYNC of a multi-MiB file is waiting on
 * it; while the worker waits, the file server still answers IPC_PING and FS_NEW_DRIVER; a new
 * generation is started as RS does (PLEXUS_INIT=restart) and announced with FS_NEW_DRIVER; the
 * fsync completes, every byte reads back from the disk (FS_FLUSH emptied the cache) and after
 * a remount by a new process, and fsck.minix -f finds the image clean. A driver that never
 * comes back makes the fsync fail with -EIO after the configured wait instead of hanging, the
 * dirty blocks stay, and a later FS_SYNC with a driver back writes them.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <plexus/fsreq.h>

#include "mfstest.h"
#include "plexus/proto/ipc.pb-c.h"

#define S_MB   (1024u * 1024)
#define S_SIZE (6 * S_MB + 4321)

static uint8_t s_pat(uint64_t i, unsigned s)
{
	return (uint8_t)((i * 2246822519u) >> 11 ^ s);
}

static void s_write_all(plx_fs *fs, uint64_t ino, unsigned seed)
{
	uint8_t *buf = malloc(S_SIZE);
	for (uint64_t i = 0; i < S_SIZE; i++)
		buf[i] = s_pat(i, seed);
	for (uint64_t done = 0; done < S_SIZE;) {
		size_t n = S_SIZE - done < S_MB ? S_SIZE - done : S_MB;
		assert_int_equal(plx_fs_write(fs, ino, done, buf + done, n, NULL), (ssize_t)n);
		done += n;
	}
	free(buf);
}

static void s_verify(plx_fs *fs, uint64_t ino, unsigned seed)
{
	uint8_t *buf = malloc(S_MB);
	for (uint64_t done = 0; done < S_SIZE;) {
		size_t n = S_SIZE - done < S_MB ? S_SIZE - done : S_MB;
		assert_int_equal(plx_fs_read(fs, ino, done, buf, n), (ssize_t)n);
		for (size_t i = 0; i < n; i++)
			if (buf[i] != s_pat(done + i, seed))
				fail_msg("byte %llu lost", (unsigned long long)(done + i));
		done += n;
	}
	free(buf);
}

typedef struct s_async {
	plx_fs *fs;
	uint64_t ino;
	int rc;
	volatile bool done;
} s_async;

static void *s_fsync_thread(void *arg)
{
	s_async *a = arg;
	a->rc = plx_fs_fsync(a->fs, a->ino);
	a->done = true;
	return NULL;
}

static void s_ping(mfstest *t, const char *label)
{
	Plexus__IpcPing ping = PLEXUS__IPC_PING__INIT;
	ping.sequence = 77;
	plx_request req = {.type = PLEXUS__IPC_TYPE__IPC_PING, .body = &ping.base};
	snprintf(req.dst.label, sizeof req.dst.label, "%s", label);
	plx_msg *reply = NULL;
	assert_int_equal(plx_sendrec(t->ep, &req, &reply, 5000), 0);
	plx_msg_destroy(&reply);
}

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_driver_killed_during_fsync(void **state)
{
	mfstest *t = *state;
	char image[512];
	snprintf(image, sizeof image, "%s", mfstest_image(t, "rec", 64 * S_MB, MFSTEST_JOURNALED));
	const char *vd[] = {"--image", image, NULL};
	uint64_t gen1, gen2;
	pid_t drv = mfstest_start(t, PLEXUS_VDISK_BIN, t->drv, NULL, vd, &gen1);
	/* A cache big enough for the whole file and no periodic write-back: the fsync is what
	 * carries the data to the driver. */
	const char *opts[] = {"--cache-mb", "64", "--sync-interval-ms", "0", NULL};
	pid_t srv = mfstest_start(t, PLEXUS_MFS_BIN, t->fs, NULL, opts, NULL);
	plx_fs *fs = plx_fs_new(t->ep, t->fs, 60000);
	plx_fs_attr root, a;
	assert_int_equal(plx_fs_readsuper(fs, t->drv, 0, false, 3, &root, NULL), 0);
	assert_int_equal(plx_fs_create(fs, 1, "precious", 0644, 0, 0, &a), 0);
	s_write_all(fs, a.ino, 1); /* acknowledged, in MFS's cache */
	/* The driver hangs; the fsync goes out and waits on it. */
	assert_int_equal(kill(drv, SIGSTOP), 0);
	s_async job = {.fs = fs, .ino = a.ino};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, s_fsync_thread, &job), 0);
	usleep(300 * 1000);
	assert_false(job.done); /* it cannot finish without the driver */
	s_ping(t, t->fs);       /* the loop answers while the worker waits */
	assert_int_equal(plx_fs_new_driver(fs, t->drv, gen1), 0); /* an old one: no effect */
	assert_false(job.done);
	/* The crash, and the restart RS would do: a new generation, PLEXUS_INIT=restart. */
	mfstest_kill(t, drv);
	drv = mfstest_start(t, PLEXUS_VDISK_BIN, t->drv, "restart", vd, &gen2);
	assert_true(gen2 > gen1);
	int64_t t0 = s_now_ms();
	assert_int_equal(plx_fs_new_driver(fs, t->drv, gen2), 0);
	assert_true(s_now_ms() - t0 < 15000); /* answered by the loop, not after the I/O */
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(job.rc, 0);
	assert_non_null(strstr(mfstest_log(t, t->fs), "reopened on generation"));
	/* Every byte from the disk, not from the cache. */
	assert_int_equal(plx_fs_flush(fs), 0);
	s_verify(fs, a.ino, 1);
	assert_int_equal(plx_fs_new_driver(fs, "someone-else", 9), -ENXIO);
	assert_int_equal(plx_fs_putnode(fs, a.ino, 1), 0);
	mfstest_unmount(t, &fs, image, drv, srv);
	/* A new file server process finds it all. */
	pid_t d2, s2;
	fs = mfstest_mount(t, image, &root, &d2, &s2);
	assert_int_equal(plx_fs_lookup(fs, 1, "precious", &a), 0);
	assert_int_equal(a.size, S_SIZE);
	s_verify(fs, a.ino, 1);
	assert_int_equal(plx_fs_putnode(fs, a.ino, 1), 0);
	mfstest_unmount(t, &fs, image, d2, s2);
}

static void test_driver_never_back(void **state)
{
	mfstest *t = *state;
	char image[512];
	snprintf(image, sizeof image, "%s", mfstest_image(t, "gone", 32 * S_MB, MFSTEST_JOURNALED));
	const char *vd[] = {"--image", image, NULL};
	pid_t drv = mfstest_start(t, PLEXUS_VDISK_BIN, t->drv, NULL, vd, NULL);
	const char *opts[] = {"--sync-interval-ms",
	                      "0",
	                      "--driver-wait-ms",
	                      "1500",
	                      "--driver-timeout-ms",
	                      "1000",
	                      NULL};
	pid_t srv = mfstest_start(t, PLEXUS_MFS_BIN, t->fs, NULL, opts, NULL);
	plx_fs *fs = plx_fs_new(t->ep, t->fs, 60000);
	plx_fs_attr root, a;
	assert_int_equal(plx_fs_readsuper(fs, t->drv, 0, false, 3, &root, NULL), 0);
	assert_int_equal(plx_fs_create(fs, 1, "kept", 0644, 0, 0, &a), 0);
	s_write_all(fs, a.ino, 2);
	mfstest_kill(t, drv);
	int64_t t0 = s_now_ms();
	assert_int_equal(plx_fs_fsync(fs, a.ino), -EIO); /* a clear error, not a hang */
	assert_true(s_now_ms() - t0 < 45000);
	s_ping(t, t->fs);
	/* The driver returns: the dirty blocks were kept and go out now. */
	drv = mfstest_start(t, PLEXUS_VDISK_BIN, t->drv, "restart", vd, NULL);
	assert_int_equal(plx_fs_sync(fs), 0);
	assert_int_equal(plx_fs_flush(fs), 0);
	s_verify(fs, a.ino, 2);
	assert_int_equal(plx_fs_putnode(fs, a.ino, 1), 0);
	mfstest_unmount(t, &fs, image, drv, srv);
}

/* plexus-mfs itself crashes (SIGKILL) and is restarted as RS would (PLEXUS_INIT=restart): the
 * new instance mounts the same device again before it answers (the mount was saved in DS), so
 * requests by inode number go on; a file unlinked while held is freed when VFS gives its old
 * references back; after FS_UNMOUNT fsck is clean. A fresh start forgets the mount. */
static void test_mfs_restarted(void **state)
{
	mfstest *t = *state;
	char image[512];
	snprintf(image, sizeof image, "%s",
	         mfstest_image(t, "mfsrs", 32 * S_MB, MFSTEST_JOURNALED));
	plx_fs_attr root, f, g;
	pid_t drv, srv;
	plx_fs *fs = mfstest_mount(t, image, &root, &drv, &srv);
	struct plx_fs_statvfs st0, st;
	assert_int_equal(plx_fs_statvfs(fs, &st0), 0);
	assert_int_equal(plx_fs_create(fs, 1, "kept", 0644, 0, 0, &f), 0);
	s_write_all(fs, f.ino, 3);
	assert_int_equal(plx_fs_create(fs, 1, "gone", 0644, 0, 0, &g), 0);
	assert_int_equal(plx_fs_write(fs, g.ino, 0, "still here", 10, NULL), 10);
	assert_int_equal(plx_fs_lookup(fs, 1, "gone", &g), 0); /* two references */
	assert_int_equal(plx_fs_unlink(fs, 1, "gone", NULL), 0);
	assert_int_equal(plx_fs_sync(fs), 0);
	mfstest_kill(t, srv);
	srv = mfstest_start(t, PLEXUS_MFS_BIN, t->fs, "restart", NULL, NULL);
	assert_non_null(strstr(mfstest_log(t, t->fs), "mounting disk"));
	assert_int_equal(plx_fs_readsuper(fs, t->drv, 0, false, 77, &root, NULL), -EBUSY);
	s_verify(fs, f.ino, 3);
	char buf[16] = "";
	assert_int_equal(plx_fs_read(fs, g.ino, 0, buf, sizeof buf), 10);
	assert_memory_equal(buf, "still here", 10);
	assert_int_equal(plx_fs_putnode(fs, f.ino, 1), 0);
	assert_int_equal(plx_fs_putnode(fs, g.ino, 2), 0); /* the last: freed now */
	assert_int_equal(plx_fs_stat(fs, g.ino, &g), -ENOENT);
	assert_int_equal(plx_fs_statvfs(fs, &st), 0);
	assert_int_equal(st.ffree, st0.ffree - 1);
	assert_int_equal(plx_fs_unmount(fs), 0);
	mfstest_stop(t, srv);
	mfstest_fsck(image);
	/* Unmounted now: a restart mounts nothing; nor does a fresh start. */
	srv = mfstest_start(t, PLEXUS_MFS_BIN, t->fs, "restart", NULL, NULL);
	assert_int_equal(plx_fs_stat(fs, 1, &root), -EINVAL);
	assert_int_equal(plx_fs_readsuper(fs, t->drv, 0, false, 77, &root, NULL), 0);
	mfstest_kill(t, srv);
	srv = mfstest_start(t, PLEXUS_MFS_BIN, t->fs, NULL, NULL, NULL);
	assert_int_equal(plx_fs_stat(fs, 1, &root), -EINVAL);
	plx_fs_destroy(&fs);
	mfstest_stop(t, srv);
	mfstest_stop(t, drv);
}

/* plexus-mfs killed while VFS holds a file it unlinked: the next fresh mount (no clean flag)
 * frees that inode and its zones, so fsck finds nothing to complain about. */
static void test_orphans_after_crash(void **state)
{
	mfstest *t = *state;
	char image[512];
	snprintf(image, sizeof image, "%s",
	         mfstest_image(t, "orphan", 16 * S_MB, MFSTEST_JOURNALED));
	plx_fs_attr root, g;
	pid_t drv, srv;
	plx_fs *fs = mfstest_mount(t, image, &root, &drv, &srv);
	struct plx_fs_statvfs st0, st;
	assert_int_equal(plx_fs_statvfs(fs, &st0), 0);
	assert_int_equal(plx_fs_create(fs, 1, "open-then-gone", 0644, 0, 0, &g), 0);
	s_write_all(fs, g.ino, 4);
	assert_int_equal(plx_fs_unlink(fs, 1, "open-then-gone", NULL), 0);
	assert_int_equal(plx_fs_sync(fs), 0); /* on disk: allocated, no links */
	mfstest_kill(t, srv);
	srv = mfstest_start(t, PLEXUS_MFS_BIN, t->fs, NULL, NULL, NULL);
	assert_int_equal(plx_fs_readsuper(fs, t->drv, 0, false, 77, &root, NULL), 0);
	assert_non_null(strstr(mfstest_log(t, t->fs), "freed 1 inodes unlinked while open"));
	assert_int_equal(plx_fs_stat(fs, g.ino, &g), -ENOENT);
	assert_int_equal(plx_fs_statvfs(fs, &st), 0);
	assert_int_equal(st.ffree, st0.ffree);
	assert_int_equal(st.bfree, st0.bfree);
	plx_fs_destroy(&fs);
	fs = plx_fs_new(t->ep, t->fs, MFSTEST_TIMEOUT);
	mfstest_unmount(t, &fs, image, drv, srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_driver_killed_during_fsync, mfstest_test_setup,
	                                    mfstest_test_teardown),
	    cmocka_unit_test_setup_teardown(test_driver_never_back, mfstest_test_setup,
	                                    mfstest_test_teardown),
	    cmocka_unit_test_setup_teardown(test_mfs_restarted, mfstest_test_setup,
	                                    mfstest_test_teardown),
	    cmocka_unit_test_setup_teardown(test_orphans_after_crash, mfstest_test_setup,
	                                    mfstest_test_teardown),
	};
	return cmocka_run_group_tests(tests, mfstest_setup, mfstest_teardown);
}
