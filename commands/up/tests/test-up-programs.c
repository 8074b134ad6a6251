/*
 * test-up-programs.c — real Linux programs through the FUSE mount while a service is killed at
 * a point drawn from a seed, on a real `plexus up` with RS:
 *
 *  - tar extracts a source tree, git makes, fills, commits and checks a repository, dd writes
 *    files with conv=fsync (programs-workload.sh); each step counts only once what it made
 *    was fsynced, and dd's files are journaled outside Plexus;
 *  - vfs, mfs-data, vfs and mfs-data together, and mfs-data and vdisk together are SIGKILLed
 *    (one run each, 0.5 to 4 s into the work); RS brings them back;
 *  - afterwards every journaled file has its checksum, a tree tar called done compares equal
 *    to its tarball (tar --diff), a repository git called done passes git fsck and has its
 *    commit, and once Plexus is down the data image passes fsck.minix -f.
 * A program may fail after a kill (EIO for what the dead server took with it, ENOENT for a
 * directory it lost): what was acknowledged must be there.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "uptest.h"

#define S_WORKLOAD PLEXUS_SOURCE_DIR "/commands/up/tests/programs-workload.sh"

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Starts the workload in $T/mnt/data/runN, made durable first (its own creation is not the
 * programs' to acknowledge; the first directory fsync after a kill may report, once, what the
 * run before lost through the mount's shared handle); returns its pid. */
static long s_start(uptest *t, int n)
{
	assert_int_equal(
	    uptest_sh(t,
	              "mkdir \"$T/mnt/data/run%d\" && { sync \"$T/mnt/data/run%d\" "
	              "\"$T/mnt/data\" || sync \"$T/mnt/data/run%d\" \"$T/mnt/data\"; } "
	              "&& (setsid timeout 240 bash '%s' "
	              "\"$T/mnt/data/run%d\" \"$T/src.tar\" \"$T/journal%d\" > "
	              "\"$T/work%d.log\" 2>&1 & echo $!)",
	              n, n, n, S_WORKLOAD, n, n, n),
	    0);
	size_t len = strlen(t->text); /* the pid: the last line */
	while (len > 0 && t->text[len - 1] == '\n')
		len--;
	while (len > 0 && t->text[len - 1] != '\n')
		len--;
	long pid = atol(t->text + len);
	assert_true(pid > 0);
	return pid;
}

/* SIGKILL to the victims at once, delay_ms after the work began; waits for them to be back
 * and for the work to end. */
static void s_kill_under(uptest *t, long work, const char *const *victims, int n, int delay_ms)
{
	usleep((useconds_t)delay_ms * 1000);
	long gen0 = 0;
	for (int i = 0; i < n; i++) {
		long gen, pid = uptest_service_pid(t, victims[i], &gen);
		assert_true(pid > 0);
		if (i == 0)
			gen0 = gen;
		assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
	}
	uptest_wait_back(t, victims[0], gen0);
	for (int64_t end = s_now_ms() + 300000; kill((pid_t)work, 0) == 0; usleep(200 * 1000))
		if (s_now_ms() > end)
			fail_msg("the programs did not finish within 5 minutes");
}

/* What the programs acknowledged is there. */
static void s_verify(uptest *t, int n)
{
	assert_int_equal(uptest_sh(t, "grep -v '^tar: ' \"$T/work%d.log\" | head -5", n), 0);
	print_message("run %d:\n%s", n, t->text);
	assert_int_equal(uptest_sh(t,
	                           "cd \"$T/mnt/data/run%d\" && if [ -s \"$T/journal%d\" ]; then "
	                           "sha256sum -c --quiet \"$T/journal%d\"; fi",
	                           n, n, n),
	                 0);
	assert_int_equal(
	    uptest_sh(t,
	              "cd \"$T/mnt/data/run%d\" && if grep -q TAR-OK \"$T/work%d.log\"; "
	              "then tar df \"$T/src.tar\"; fi",
	              n, n),
	    0);
	assert_int_equal(
	    uptest_sh(t,
	              "cd \"$T/mnt/data/run%d\" && if grep -q GIT-OK \"$T/work%d.log\"; "
	              "then cd g && git fsck --no-progress && git log --oneline | "
	              "grep -q one; fi",
	              n, n),
	    0);
}

static void test_programs_under_kills(void **state)
{
	uptest *t = *state;
	assert_int_equal(
	    uptest_sh(t,
	              "tar -C '%s' -cf \"$T/src.tar\" vfs && \"$PLEXUS\" up --state-dir "
	              "\"$STATE\" --port auto --no-tour && mkdir \"$T/mnt\" && \"$PLEXUS\" "
	              "mount --state-dir \"$STATE\" \"$T/mnt\"",
	              PLEXUS_SOURCE_DIR),
	    0);
	static const char *const vfs[] = {"vfs"}, *mfs[] = {"mfs-data"},
	                         *both[] = {"vfs", "mfs-data"}, *disk[] = {"mfs-data", "vdisk"};
	static const struct {
		const char *const *victims;
		int n;
	} runs[] = {{vfs, 1}, {mfs, 1}, {both, 2}, {disk, 2}};
	const char *fixed = getenv("PLEXUS_TEST_SEED"); /* to repeat a run */
	unsigned seed = fixed ? (unsigned)strtoul(fixed, NULL, 10) : (unsigned)time(NULL);
	print_message("seed %u (PLEXUS_TEST_SEED repeats it)\n", seed);
	for (int i = 0; i < (int)(sizeof runs / sizeof *runs); i++) {
		int delay_ms = 500 + (int)((seed + (unsigned)i * 7919u) % 3500u);
		long work = s_start(t, i);
		print_message("run %d: SIGKILL to %s%s%s at +%d ms\n", i, runs[i].victims[0],
		              runs[i].n > 1 ? " and " : "", runs[i].n > 1 ? runs[i].victims[1] : "",
		              delay_ms);
		s_kill_under(t, work, runs[i].victims, runs[i].n, delay_ms);
		s_verify(t, i);
	}
	assert_int_equal(uptest_sh(t, "\"$PLEXUS\" umount \"$T/mnt\" && \"$PLEXUS\" down "
	                              "--state-dir \"$STATE\" && cp \"$STATE/data.img\" "
	                              "\"$T/check.img\" && fsck.minix -f \"$T/check.img\""),
	                 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_programs_under_kills, uptest_setup,
	                                    uptest_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
