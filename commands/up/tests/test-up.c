/*
 * test-up.c — `plexus up` (the tour, without a terminal), `plexus sh -c` against it, a FUSE
 * mount on it, and `plexus down` leaving nothing behind; a failing service named with its
 * log; running up twice; an unknown --service-option label refused before anything starts.
 *
 * Every test runs the real plexus command with a private state directory and etcd on a free
 * port (--port auto), so two runs never collide; the teardown runs `plexus down` and removes
 * the directory even when a check failed.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <cmocka.h>

#include "uptest.h"

#define MAX_PIDS 64

/* Adds to pids (n so far, at most MAX_PIDS) every process whose parent is in pids[0..n). */
static int s_add_children(pid_t *pids, int n)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	while (d && (e = readdir(d)) && n < MAX_PIDS) {
		char path[300], buf[512];
		int pid = atoi(e->d_name), ppid = 0;
		if (pid <= 0)
			continue;
		snprintf(path, sizeof path, "/proc/%d/stat", pid);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		size_t len = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[len] = '\0';
		char *p = strrchr(buf, ')');
		if (!p || sscanf(p + 2, "%*c %d", &ppid) != 1)
			continue;
		for (int i = 0; i < n; i++)
			if (pids[i] == ppid) {
				pids[n++] = pid;
				break;
			}
	}
	if (d)
		closedir(d);
	return n;
}

static void test_up_tour_sh_mount_down(void **state)
{
	uptest *t = *state;
	/* not up yet: down says so */
	assert_int_equal(uptest_sh(t, "\"$PLEXUS\" down --state-dir \"$STATE\""), 0);
	assert_true(uptest_output(t, "Plexus is not up"));

	/* standard input is /dev/null: the tour runs */
	assert_int_equal(uptest_sh(t, "\"$PLEXUS\" up --state-dir \"$STATE\" --port auto"), 0);
	assert_true(uptest_output(t, "  etcd "));
	assert_true(uptest_output(t, "  vdisk "));
	assert_true(uptest_output(t, "  vfs "));
	assert_true(uptest_output(t, "  /data "));
	assert_true(uptest_output(t, "Plexus is up: 1 node, 8 services"));
	assert_true(uptest_output(t, "tour: SIGKILL to vdisk"));
	assert_true(uptest_output(t, "tour: RS restarted vdisk: generation 2"));
	assert_true(uptest_output(t, "last exit: killed by signal 9"));
	assert_true(uptest_output(t, "every write and fsync answered without an error"));
	assert_true(uptest_output(t, "16777216 bytes, checksum"));
	assert_true(uptest_output(t, "matches"));
	assert_true(uptest_output(t, "tour: done"));

	pid_t pids[MAX_PIDS];
	int n = uptest_pids(t, pids, MAX_PIDS);
	assert_int_equal(n, 3); /* etcd, node.local, rs */
	for (int i = 0; i < n; i++)
		assert_false(uptest_pid_gone(pids[i]));
	n = s_add_children(pids, n); /* the node kernel's services */
	assert_true(n >= 3 + 8);

	/* up again: already up, nothing new started */
	assert_int_equal(uptest_sh(t, "\"$PLEXUS\" up --state-dir \"$STATE\" --port auto"), 0);
	assert_true(uptest_output(t, "Plexus is already up"));
	assert_int_equal(uptest_pids(t, pids, 3), 3);

	/* the tour's file from the Plexus shell and through a FUSE mount */
#ifdef PLEXUS_HAVE_SH
	assert_int_equal(uptest_sh(t, "PLEXUS_ETCD=$(awk '/^etcd/{print $2}' \"$STATE/state\") "
	                              "\"$PLEXUS\" sh -c 'ls /data'"),
	                 0);
	assert_true(uptest_output(t, "tour.bin"));
#endif
	assert_int_equal(uptest_sh(t,
	                           "mkdir \"$T/mnt\" && \"$PLEXUS\" mount --state-dir "
	                           "\"$STATE\" \"$T/mnt\" && stat -c %%s \"$T/mnt/data/tour.bin\""),
	                 0);
	assert_true(uptest_output(t, "16777216"));
	char mnt[PATH_MAX + 8];
	snprintf(mnt, sizeof mnt, "%.4000s/mnt", t->dir);
	assert_true(uptest_mounted(mnt));

	/* one node on this host: no namespace or bridge was made */
	assert_int_equal(uptest_sh(t, "grep -c -E '^(netns|bridge) ' \"$STATE/state\"; true"), 0);
	assert_true(uptest_output(t, "0\n"));
	assert_int_equal(uptest_sh(t, "grep -c '^proc ' \"$STATE/state\""), 0);
	assert_true(uptest_output(t, "3\n"));

	/* down: every process (services included), the mount and the state go */
	assert_int_equal(uptest_sh(t, "\"$PLEXUS\" down --state-dir \"$STATE\""), 0);
	assert_true(uptest_output(t, "Plexus is down: 3 processes stopped"));
	for (int i = 0; i < n; i++)
		assert_true(uptest_pid_gone(pids[i]));
	assert_false(uptest_mounted(mnt));
	char path[PATH_MAX + 16];
	snprintf(path, sizeof path, "%.4000s/state", t->state);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof path, "%.4000s/etcd", t->state);
	assert_int_equal(access(path, F_OK), -1);
	/* the data image stays for the next up */
	snprintf(path, sizeof path, "%.4000s/data.img", t->state);
	assert_int_equal(access(path, F_OK), 0);
}

static void test_failed_service_is_named(void **state)
{
	uptest *t = *state;
	assert_int_equal(uptest_sh(t, "cat > \"$T/bad.ini\" <<'EOF'\n"
	                              "[cluster]\n"
	                              "name = default\n"
	                              "[node local]\n"
	                              "mac = 52:54:00:00:00:01\n"
	                              "addr = 127.0.0.1\n"
	                              "[service broken]\n"
	                              "program = /bin/sh\n"
	                              "args = -c 'echo broken-says-goodbye; exit 3'\n"
	                              "node = local\n"
	                              "init_retries = 1\n"
	                              "backoff = 100ms\n"
	                              "EOF\n"),
	                 0);
	int rc = uptest_sh(t, "\"$PLEXUS\" up --state-dir \"$STATE\" --port auto --no-tour "
	                      "--cluster-file \"$T/bad.ini\"");
	assert_int_equal(rc, EX_SOFTWARE);
	assert_true(uptest_output(t, "service broken on node local: failed"));
	/* RS tried once more, then gave its last exit */
	assert_true(uptest_output(t, "failed (generation 2): failed during initialization 2 times: "
	                             "exit 3"));
	assert_true(uptest_output(t, "broken-says-goodbye")); /* the log's last lines */
	assert_true(uptest_output(t, "stopping what was started"));
	/* nothing left: down finds no state */
	assert_int_equal(uptest_sh(t, "\"$PLEXUS\" down --state-dir \"$STATE\""), 0);
	assert_true(uptest_output(t, "Plexus is not up"));
}

/* --service-option with a label no service has: a usage error before anything starts (no
 * boot, no etcd, no log, no state), the option named. */
static void test_unknown_service_option(void **state)
{
	uptest *t = *state;
	int rc = uptest_sh(t, "\"$PLEXUS\" up --state-dir \"$STATE\" --port auto --no-tour "
	                      "--service-option backoff=100ms --service-option frob:spare=same");
	assert_int_equal(rc, EX_USAGE);
	assert_true(uptest_output(t, "plexus up: --service-option frob:spare = same: no service "
	                             "of that label"));
	assert_false(uptest_output(t, "Booting Plexus"));
	assert_false(uptest_output(t, "stopping what was started"));
	/* nothing started: no log, no state, no process that names the state directory (etcd's
	 * --data-dir would), nothing for down to stop */
	assert_int_equal(uptest_sh(t, "test -e \"$STATE/logs\" || test -e \"$STATE/state\" || "
	                              "test -e \"$STATE/etcd\""),
	                 1);
	assert_int_equal(uptest_sh(t, "pgrep -f \"$STATE\""), 1);
	assert_int_equal(uptest_sh(t, "\"$PLEXUS\" down --state-dir \"$STATE\""), 0);
	assert_true(uptest_output(t, "Plexus is not up"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_up_tour_sh_mount_down, uptest_setup,
	                                    uptest_teardown),
	    cmocka_unit_test_setup_teardown(test_failed_service_is_named, uptest_setup,
	                                    uptest_teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_service_option, uptest_setup,
	                                    uptest_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
