/*
 * test-up-down.c — `plexus down` keeps what was written (docs/using.md "Booting with up"):
 *
 *  - a tree (this repository's docs/ and a few hundred KiB of generated files) copied through
 *    the FUSE mount with no sync, `plexus umount`, `plexus down`: down prints the services in
 *    dependency order (vfs before the file servers, the file servers before their drivers),
 *    kills none, the data image has its clean flag and `fsck.minix -f` passes; the next `up`
 *    shows the same tree byte for byte, and Linux's own minix driver in a QEMU VM
 *    (tests/minixvm) reads every file with the same SHA-256 sum;
 *  - a node kernel SIGTERMed alone stops its services in dependency order (its log says so).
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "minixvm.h"
#include "uptest.h"

#define S_UP "\"$PLEXUS\" up --state-dir \"$STATE\" --port auto --no-tour"

/* Where needle starts in t's last output, or -1. */
static long s_at(const uptest *t, const char *needle)
{
	const char *p = strstr(t->text, needle);
	return p ? p - t->text : -1;
}

/* The data image's s_flags has the clean bit. */
static bool s_clean(uptest *t)
{
	assert_int_equal(uptest_sh(t, "od -An -tu2 -j1038 -N2 \"$STATE/data.img\""), 0);
	return atoi(t->text) & 1;
}

static void test_down_keeps_unsynced_files(void **state)
{
	uptest *t = *state;
	assert_int_equal(uptest_sh(t, S_UP), 0);
	assert_int_equal(uptest_sh(t,
	                           "mkdir \"$T/mnt\" \"$T/src\" && cp -a '%s/docs' \"$T/src/\" && "
	                           "for i in $(seq 1 40); do head -c $((i * 7919)) /dev/urandom "
	                           "> \"$T/src/docs/gen-$i\"; done",
	                           PLEXUS_SOURCE_DIR),
	                 0);
	assert_int_equal(uptest_sh(t, "\"$PLEXUS\" mount --state-dir \"$STATE\" \"$T/mnt\" && "
	                              "cp -a \"$T/src/docs\" \"$T/mnt/data/\" && "
	                              "\"$PLEXUS\" umount \"$T/mnt\""),
	                 0);
	assert_int_equal(uptest_sh(t, "\"$PLEXUS\" down --state-dir \"$STATE\""), 0);
	long vfs = s_at(t, "  vfs "), data = s_at(t, "  mfs-data "), vdisk = s_at(t, "  vdisk ");
	long root = s_at(t, "  mfs-root "), mem = s_at(t, "  memory ");
	if (vfs < 0 || data < vfs || vdisk < data || root < vfs || mem < root)
		fail_msg("down's steps are not in dependency order:\n%s", t->text);
	assert_false(uptest_output(t, "had to be killed"));
	assert_int_equal(uptest_sh(t, "grep -l 'outlived its grace' \"$STATE\"/logs/node*.log"), 1);
	assert_true(s_clean(t));
	assert_int_equal(uptest_sh(t, "fsck.minix -f \"$STATE/data.img\""), 0);
	/* Linux reads the same bytes, before any Plexus touches the image again */
	char *listing = NULL, err[512] = "", image[PATH_MAX + 16];
	snprintf(image, sizeof image, "%s/data.img", t->state);
	if (minixvm_list(image, t->dir, 300000, &listing, err, sizeof err) < 0)
		fail_msg("Linux's minix driver could not read the image: %s", err);
	assert_int_equal(uptest_sh(t,
	                           "cd \"$T/src\" && find docs -type f | sort | while read -r f; "
	                           "do echo \"F $(sha256sum < \"$f\" | cut -d' ' -f1) "
	                           "$(stat -c %%s \"$f\") ./$f\"; done"),
	                 0);
	int files = 0;
	for (char *line = t->text, *nl; *line; line = nl + 1, files++) {
		nl = strchr(line, '\n');
		if (!nl)
			break;
		*nl = '\0';
		if (!strstr(listing, line))
			fail_msg("Linux read otherwise: %s\nLinux's listing:\n%s", line, listing);
	}
	assert_true(files > 40);
	free(listing);
	/* the next up: the same tree */
	assert_int_equal(uptest_sh(t, S_UP), 0);
	assert_int_equal(uptest_sh(t, "\"$PLEXUS\" mount --state-dir \"$STATE\" \"$T/mnt\" && "
	                              "diff -r \"$T/src/docs\" \"$T/mnt/data/docs\"; r=$?; "
	                              "\"$PLEXUS\" umount \"$T/mnt\"; exit $r"),
	                 0);
	assert_int_equal(uptest_sh(t, "\"$PLEXUS\" down --state-dir \"$STATE\""), 0);
	assert_true(s_clean(t));
}

static void test_node_sigterm_stops_in_order(void **state)
{
	uptest *t = *state;
	assert_int_equal(uptest_sh(t, S_UP), 0);
	assert_int_equal(uptest_sh(t, "awk '$2==\"node.local\"{print $3}' \"$STATE/state\""), 0);
	pid_t node = (pid_t)atoi(t->text);
	assert_true(node > 0);
	assert_int_equal(uptest_sh(t, "awk '$2==\"rs\"{print $3}' \"$STATE/state\""), 0);
	pid_t rs = (pid_t)atoi(t->text);
	assert_int_equal(kill(rs, SIGTERM), 0); /* nobody to restart anything meanwhile */
	for (int i = 0; i < 100 && !uptest_pid_gone(rs); i++)
		usleep(100 * 1000);
	assert_int_equal(kill(node, SIGTERM), 0);
	for (int i = 0; i < 300 && !uptest_pid_gone(node); i++)
		usleep(100 * 1000);
	assert_true(uptest_pid_gone(node));
	assert_int_equal(uptest_sh(t, "grep -o 'stopping [a-z-]* pid [0-9]* (rank [0-9])' "
	                              "\"$STATE\"/logs/node.local.log | awk '{print $2, $6}'"),
	                 0);
	long vfs = s_at(t, "vfs 2"), data = s_at(t, "mfs-data 1"), vdisk = s_at(t, "vdisk 0");
	long mem = s_at(t, "memory 0");
	if (vfs < 0 || data < vfs || vdisk < data || mem < data)
		fail_msg("the node kernel's stop order:\n%s", t->text);
	assert_int_equal(
	    uptest_sh(t, "grep -c 'outlived its grace' \"$STATE\"/logs/node.local.log"), 1);
	assert_true(s_clean(t));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_down_keeps_unsynced_files, uptest_setup,
	                                    uptest_teardown),
	    cmocka_unit_test_setup_teardown(test_node_sigterm_stops_in_order, uptest_setup,
	                                    uptest_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
