/*
 * bench-mfs.c — how fast plexus-mfs moves file data (not a test: speed targets belong to
 * benchmarks). A private etcd, plexus-vdisk over a 256 MiB image made by mkfs.minix -3 in
 * $TMPDIR, plexus-mfs with its default cache (32 MiB), the client in this process: 64 MiB
 * written in 1 MiB FS_WRITEs, FS_FSYNC, FS_FLUSH (the cache emptied), read back in 1 MiB
 * FS_READs from the disk (read-ahead at work) and again from the cache. Prints one line per
 * figure. Run: build/<dir>/fs-servers/mfs/tests/bench-mfs
 *
 * Entry points: main.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <plexus/fsreq.h>

#include "mfstest.h"

#define S_MB    (1024u * 1024)
#define S_TOTAL (64u * S_MB)

static double s_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void s_pass(plx_fs *fs, uint64_t ino, uint8_t *buf, bool write)
{
	for (size_t p = 0; p < S_TOTAL; p += S_MB)
		assert_int_equal(write ? plx_fs_write(fs, ino, p, buf, S_MB, NULL)
		                       : plx_fs_read(fs, ino, p, buf, S_MB),
		                 (ssize_t)S_MB);
}

static void bench(void **state)
{
	mfstest *t = *state;
	char image[512];
	snprintf(image, sizeof image, "%s", mfstest_image(t, "bench", 256u * S_MB, true));
	plx_fs_attr root, a;
	pid_t drv, srv;
	plx_fs *fs = mfstest_mount(t, image, &root, &drv, &srv);
	assert_int_equal(plx_fs_create(fs, 1, "f", 0644, 0, 0, &a), 0);
	uint8_t *buf = malloc(S_MB);
	memset(buf, 7, S_MB);
	double t0 = s_now();
	s_pass(fs, a.ino, buf, true);
	double t1 = s_now();
	assert_int_equal(plx_fs_fsync(fs, a.ino), 0);
	double t2 = s_now();
	assert_int_equal(plx_fs_flush(fs), 0);
	double t3 = s_now();
	s_pass(fs, a.ino, buf, false);
	double t4 = s_now();
	s_pass(fs, a.ino, buf, false);
	double t5 = s_now();
	printf("mfs write 64 MiB, 1 MiB FS_WRITEs: %.0f MiB/s\n", 64 / (t1 - t0));
	printf("mfs fsync of it: %.0f ms; write + fsync: %.0f MiB/s\n", (t2 - t1) * 1000,
	       64 / (t2 - t0));
	printf("mfs cold sequential read, 1 MiB FS_READs: %.0f MiB/s\n", 64 / (t4 - t3));
	printf("mfs cached read, 1 MiB FS_READs: %.0f MiB/s\n", 64 / (t5 - t4));
	free(buf);
	assert_int_equal(plx_fs_putnode(fs, a.ino, 1), 0);
	mfstest_unmount(t, &fs, image, drv, srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(bench, mfstest_test_setup, mfstest_test_teardown),
	};
	return cmocka_run_group_tests(tests, mfstest_setup, mfstest_teardown);
}
