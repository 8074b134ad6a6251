/*
 * test-harness.c — the private-etcd harness itself: two harnesses side by side never share
 * ports or directories; a process that dies from SIGTERM takes its etcd and directory with
 * it; one killed with SIGKILL takes its etcd (PR_SET_PDEATHSIG), and its directory is removed
 * by the next harness started on the machine.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "etcd_harness.h"

static bool s_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* True when pid no longer runs (gone, or a zombie nobody reaped yet). */
static bool s_gone(pid_t pid)
{
	char path[64], stat[256];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return true;
	bool zombie = fgets(stat, sizeof stat, f) && strstr(stat, ") Z ");
	fclose(f);
	return zombie;
}

/* Waits for pid to end; reaps it when it was reparented to us (we are a subreaper). */
static bool s_wait_gone(pid_t pid, int ms)
{
	for (int waited = 0; waited < ms; waited += 20) {
		if (s_gone(pid)) {
			/* Reparenting may lag behind death: retry the reap for a while. */
			char path[64];
			snprintf(path, sizeof path, "/proc/%d", (int)pid);
			for (int i = 0; i < 100 && s_exists(path); i++)
				if (waitpid(pid, NULL, WNOHANG) != pid)
					usleep(10 * 1000);
			return true;
		}
		usleep(20 * 1000);
	}
	return s_gone(pid);
}

static void test_two_side_by_side(void **state)
{
	(void)state;
	plx_etcdh *a = plx_etcdh_start(1), *b = plx_etcdh_start(1);
	assert_non_null(a);
	assert_non_null(b);
	assert_string_not_equal(plx_etcdh_url(a, 0), plx_etcdh_url(b, 0));
	assert_string_not_equal(plx_etcdh_dir(a), plx_etcdh_dir(b));
	assert_int_equal(plx_etcdh_members(a), 1);
	char dir[256];
	snprintf(dir, sizeof dir, "%s", plx_etcdh_dir(a));
	pid_t pid = plx_etcdh_pid(a, 0);
	assert_true(pid > 0);
	assert_true(s_exists(dir));
	plx_etcdh_stop(&a);
	assert_null(a);
	assert_true(s_wait_gone(pid, 2000));
	assert_false(s_exists(dir));
	assert_true(plx_etcdh_pid(b, 0) > 0);
	plx_etcdh_stop(&b);
}

/* Starts a harness in a child process, reports its etcd pid and directory, then waits to be
 * killed with sig. */
static void s_child_dies(int sig, pid_t *etcd_pid, char *dir, size_t size)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		close(fds[0]);
		plx_etcdh *h = plx_etcdh_start(1);
		char line[512];
		int n = snprintf(line, sizeof line, "%d %s\n", h ? (int)plx_etcdh_pid(h, 0) : 0,
		                 h ? plx_etcdh_dir(h) : "-");
		if (write(fds[1], line, (size_t)n) != n)
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	char line[512] = "";
	FILE *f = fdopen(fds[0], "r");
	assert_non_null(fgets(line, sizeof line, f));
	fclose(f);
	int pid = 0;
	char path[400];
	assert_int_equal(sscanf(line, "%d %399s", &pid, path), 2);
	assert_true(pid > 0);
	*etcd_pid = pid;
	snprintf(dir, size, "%s", path);
	assert_true(s_exists(dir));
	kill(child, sig);
	int status;
	waitpid(child, &status, 0);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), sig);
}

static void test_sigterm_cleans_up(void **state)
{
	(void)state;
	pid_t etcd;
	char dir[400];
	s_child_dies(SIGTERM, &etcd, dir, sizeof dir);
	assert_true(s_wait_gone(etcd, 3000));
	assert_false(s_exists(dir));
}

static void test_sigkill_leaves_nothing_running(void **state)
{
	(void)state;
	pid_t etcd;
	char dir[400];
	s_child_dies(SIGKILL, &etcd, dir, sizeof dir);
	assert_true(s_wait_gone(etcd, 3000)); /* PR_SET_PDEATHSIG */
	/* Nothing could clean up in the killed process: its directory stays until a harness start
	 * sweeps it, this one or one of a test running beside this one, whichever is first. */
	plx_etcdh *h = plx_etcdh_start(1);
	assert_non_null(h);
	assert_false(s_exists(dir));
	plx_etcdh_stop(&h);
}

static void test_bad_member_count(void **state)
{
	(void)state;
	assert_null(plx_etcdh_start(0));
	assert_int_equal(errno, EINVAL);
	assert_null(plx_etcdh_start(PLX_ETCDH_MAX_MEMBERS + 1));
}

int main(void)
{
	/* Orphaned etcd processes of the killed children come to us, not to an init that may
	 * not reap them. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_two_side_by_side),
	    cmocka_unit_test(test_sigterm_cleans_up),
	    cmocka_unit_test(test_sigkill_leaves_nothing_running),
	    cmocka_unit_test(test_bad_member_count),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
