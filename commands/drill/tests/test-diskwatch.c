/*
 * test-diskwatch.c — the partition drill's witness (diskwatch.c): fanotify names the process
 * of each write to a file, so writes of one process are counted and another's are not, in
 * the time window asked; a file that is not there gives no watch. Needs root (fanotify).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "drill.h"

/* A child process that writes to path n times and exits. Returns its pid. */
static long s_writer(const char *path, int n)
{
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(path, O_WRONLY);
		for (int i = 0; fd >= 0 && i < n; i++)
			if (pwrite(fd, "x", 1, i) != 1)
				_exit(1);
		_exit(fd >= 0 ? 0 : 1);
	}
	int status = -1;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(status, 0);
	return (long)pid;
}

static void test_writes_are_told_by_process(void **state)
{
	(void)state;
	if (geteuid() != 0)
		fail_msg("test-diskwatch needs root (fanotify)");
	char path[] = "/tmp/plexus-diskwatch-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	drill_diskwatch *w = drill_diskwatch_start(path);
	assert_non_null(w);
	int64_t start = drill_ms();
	long child = s_writer(path, 3), other = s_writer(path, 1);
	int64_t seen = 0;
	for (int i = 0; i < 200 && seen == 0; i++) {
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL);
		seen = drill_diskwatch_count(w, &child, 1, start, INT64_MAX);
	}
	assert_true(seen >= 1); /* the kernel may merge a process's writes not yet read */
	int64_t end = drill_ms() + 1;
	long both[] = {child, other}, nobody = 1;
	assert_true(drill_diskwatch_count(w, both, 2, start, end) >= 2);
	assert_int_equal(drill_diskwatch_count(w, &nobody, 1, start, end), 0);
	assert_int_equal(drill_diskwatch_count(w, both, 2, end, INT64_MAX), 0);
	assert_int_equal(drill_diskwatch_count(w, both, 2, 0, start), 0);
	drill_diskwatch_stop(&w);
	assert_null(w);
	unlink(path);
	errno = 0;
	assert_null(drill_diskwatch_start(path));
	assert_int_equal(errno, ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_writes_are_told_by_process),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
