/*
 * test-mount.c — `plexus mount` on a Plexus booted by `plexus up` (private state, etcd on a
 * free port): a directory tree from the host into Plexus and back with `cp -a` (contents,
 * modes, symbolic links, file times), `tar c | tar x` inside the mount, `git init && git add
 * && git commit` inside the mount, errors as Linux reports them, other users acting as
 * themselves through root's mount, changes by another client of VFS seen through the mount at
 * once though the kernel caches (and after VFS restarts), and `plexus umount` leaving no mount
 * behind. The files live on
 * /data (mfs-data over vdisk) and / (mfs-root over the RAM disk), so two file servers are crossed.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "uptest.h"

/* What find says of a tree: path, type, mode, size, link target, and a file's mtime in whole
 * seconds (MINIX FS keeps seconds). Directories' times are left out. */
#define LISTING                                                                                    \
	"find . \\( -type d -printf '%%p d %%m\\n' \\) -o \\( -type l -printf '%%p l %%l\\n' "     \
	"\\) -o -printf '%%p f %%m %%s %%T@\\n' | sed 's/\\.[0-9]*$//' | sort"

static int s_setup(void **state)
{
	uptest *t = calloc(1, sizeof *t);
	uptest_new(t);
	*state = t;
	if (uptest_sh(t, "\"$PLEXUS\" up --state-dir \"$STATE\" --port auto --no-tour") != 0)
		return -1;
	/* a tree with what cp -a must keep: sources, an executable, a symbolic link, an empty
	 * file, a private directory, an old time */
	if (uptest_sh(t, "mkdir -p \"$T/src\" \"$T/mnt\" && cp -a '" PLEXUS_SOURCE_DIR
	                 "/transport' '" PLEXUS_SOURCE_DIR "/proto' \"$T/src/\" && "
	                 "cd \"$T/src\" && printf '#!/bin/sh\\necho hi\\n' > run.sh && "
	                 "chmod 0750 run.sh && ln -s transport/server.c link && : > empty && "
	                 "mkdir -m 0700 private && echo secret > private/x && "
	                 "touch -d '2001-02-03 04:05:06' empty") != 0)
		return -1;
	return uptest_sh(t, "\"$PLEXUS\" mount --state-dir \"$STATE\" \"$T/mnt\"") == 0 ? 0 : -1;
}

static int s_teardown(void **state)
{
	uptest *t = *state;
	uptest_destroy(t);
	free(t);
	return 0;
}

static void test_cp_round_trip(void **state)
{
	uptest *t = *state;
	/* host -> Plexus (/data) -> Plexus (/) -> host */
	assert_int_equal(uptest_sh(t, "cp -a \"$T/src\" \"$T/mnt/data/tree\" && "
	                              "diff -r \"$T/src\" \"$T/mnt/data/tree\" && "
	                              "cp -a \"$T/mnt/data/tree\" \"$T/mnt/tmp/tree\" && "
	                              "cp -a \"$T/mnt/tmp/tree\" \"$T/back\" && "
	                              "diff -r \"$T/src\" \"$T/back\" && echo same"),
	                 0);
	assert_true(uptest_output(t, "same"));
	assert_int_equal(uptest_sh(t,
	                           "(cd \"$T/src\" && " LISTING ") > \"$T/a\" && "
	                           "(cd \"$T/mnt/data/tree\" && " LISTING ") > \"$T/b\" && "
	                           "(cd \"$T/back\" && " LISTING ") > \"$T/c\" && "
	                           "diff \"$T/a\" \"$T/b\" && diff \"$T/a\" \"$T/c\" && "
	                           "grep -c . \"$T/a\" && grep ' l transport/server.c' \"$T/c\""),
	                 0);
	assert_true(uptest_output(t, "./link l transport/server.c"));
	assert_int_equal(uptest_sh(t, "\"$T/mnt/data/tree/run.sh\""), 0);
	assert_true(uptest_output(t, "hi"));
}

static void test_tar_inside(void **state)
{
	uptest *t = *state;
	assert_int_equal(uptest_sh(t,
	                           "cp -a \"$T/src\" \"$T/mnt/data/t1\" && cd \"$T/mnt/data\" && "
	                           "mkdir t2 && tar cf - t1 | (cd t2 && tar xpf -) && "
	                           "diff -r t1 t2/t1 && tar cf t.tar t1 && tar tf t.tar | wc -l "
	                           "&& echo tar-ok"),
	                 0);
	assert_true(uptest_output(t, "tar-ok"));
}

static void test_git_inside(void **state)
{
	uptest *t = *state;
	assert_int_equal(
	    uptest_sh(t,
	              "cp -a \"$T/src\" \"$T/mnt/data/repo\" && cd \"$T/mnt/data/repo\" && "
	              "git init -q . && git add . && "
	              "git -c user.name=plexus -c user.email=plexus@localhost commit -q -m first "
	              "&& echo more >> empty && git -c user.name=plexus -c "
	              "user.email=plexus@localhost commit -q -am second && "
	              "git log --oneline | wc -l && git status --porcelain | wc -l && git fsck "
	              "--strict && echo git-ok"),
	    0);
	assert_true(uptest_output(t, "git-ok"));
	assert_true(uptest_output(t, "2\n0\n"));
}

static void test_errors_and_rename(void **state)
{
	uptest *t = *state;
	assert_int_equal(uptest_sh(t, "cd \"$T/mnt/data\" && mkdir e && mkdir e 2>&1; "
	                              "echo x > e/f; rmdir e 2>&1; cat nothing 2>&1; "
	                              "echo a > a; echo b > b; mv -f a b && cat b; ls a 2>&1; "
	                              "ln b c && stat -c %%h b; mkfifo p && stat -c %%F p; true"),
	                 0);
	assert_true(uptest_output(t, "File exists"));
	assert_true(uptest_output(t, "Directory not empty"));
	assert_true(uptest_output(t, "No such file or directory"));
	assert_true(uptest_output(t, "\na\n"));
	assert_true(uptest_output(t, "\n2\n"));
	assert_true(uptest_output(t, "fifo"));
	/* a directory removed while a shell stands in it, and made again (the file system gives
	 * it the same inode number): the new one is a directory of its own to the kernel */
	assert_int_equal(uptest_sh(t,
	                           "cd \"$T/mnt/data\" && mkdir again && (cd again && sleep 2; "
	                           "ls . >/dev/null 2>&1; true) & sleep 1; cd \"$T/mnt/data\" && "
	                           "rmdir again && mkdir again && touch again/x && ls again; "
	                           "wait"),
	                 0);
	assert_true(uptest_output(t, "x\n"));
}

/* What the MINIX v3 format cannot hold is refused or dropped as Linux's own minix driver
 * does, and each file system reports its own limits (docs/using.md, "Limits"). */
static void test_format_limits(void **state)
{
	uptest *t = *state;
	assert_int_equal(
	    uptest_sh(t, "cd \"$T/mnt/data\" && getconf NAME_MAX . && stat -f -c "
	                 "'namelen=%%l' . && touch $(printf 'n%%.0s' $(seq 60)) && "
	                 "echo sixty-ok; touch $(printf 'n%%.0s' $(seq 61)) 2>&1; "
	                 "touch -d '2020-01-02 03:04:05.123456789' t && stat -c "
	                 "'mtime=%%y' t; truncate -s 5G big 2>&1; stat -c 'size=%%s' big"),
	    0);
	assert_true(uptest_output(t, "60\n"));
	assert_true(uptest_output(t, "namelen=60"));
	assert_true(uptest_output(t, "sixty-ok"));
	assert_true(uptest_output(t, "File name too long"));
	assert_true(uptest_output(t, "mtime=2020-01-02 03:04:05.000000000"));
	assert_true(uptest_output(t, "File too large"));
	assert_true(uptest_output(t, "size=0"));
	/* statfs per file system: /data (mfs-data) is not / (mfs-root) */
	assert_int_equal(uptest_sh(t, "cd \"$T/mnt\" && echo x > data/used && sync && "
	                              "stat -f -c '%%f %%a' . data | uniq | wc -l"),
	                 0);
	assert_true(uptest_output(t, "2\n"));
}

static void test_make_and_editing(void **state)
{
	uptest *t = *state;
	/* make decides by file times; sed -i saves as editors do (a new file renamed over) */
	assert_int_equal(
	    uptest_sh(t, "mkdir \"$T/mnt/data/mk\" && cd \"$T/mnt/data/mk\" && "
	                 "printf '#include <stdio.h>\\nint main(void) { puts(\"one\"); }\\n' > "
	                 "hello.c && printf 'hello: hello.c\\n\\tcc -o hello hello.c\\n' > "
	                 "Makefile && make -s && ./hello && make -q; echo up-to-date=$? && "
	                 "sleep 1.1 && sed -i 's/one/two/' hello.c && make -s && ./hello && "
	                 "ls -a | tr '\\n' ' '"),
	    0);
	assert_true(uptest_output(t, "one\nup-to-date=0\ntwo\n"));
	assert_false(uptest_output(t, "sed")); /* no temporary file of sed's left */
}

static void test_foreground_sigterm(void **state)
{
	uptest *t = *state;
	char fg[PATH_MAX + 8];
	snprintf(fg, sizeof fg, "%.4000s/fg", t->dir);
	assert_int_equal(uptest_sh(t, "mkdir \"$T/fg\" && (\"$PLEXUS\" mount -f --state-dir "
	                              "\"$STATE\" \"$T/fg\" & echo $! > \"$T/fg.pid\") && "
	                              "for i in $(seq 100); do "
	                              "  test -d \"$T/fg/data\" && break; sleep 0.1; done && "
	                              "ls \"$T/fg\" && kill -TERM $(cat \"$T/fg.pid\") && "
	                              "for i in $(seq 100); do "
	                              "  kill -0 $(cat \"$T/fg.pid\") 2>/dev/null || break; "
	                              "  sleep 0.1; done; kill -0 $(cat \"$T/fg.pid\") 2>&1; true"),
	                 0);
	assert_true(uptest_output(t, "data\ndev\ntmp\n"));
	assert_true(uptest_output(t, "No such process")); /* it ended */
	assert_false(uptest_mounted(fg));                 /* and took its mount down */
}

/* Another user through root's mount acts as that user, as on ext4: files are theirs, a 0600
 * file of root's is closed to them, root's file in a sticky directory cannot be changed,
 * removed or renamed by them, a setgid directory gives its group; more users than the mount
 * keeps sessions for all work, and a file one of them holds open stays usable meanwhile. */
static void test_other_users(void **state)
{
	uptest *t = *state;
	if (geteuid() != 0)
		skip(); /* setpriv to other users */
	assert_int_equal(uptest_sh(t, "chmod 755 \"$T\" && cd \"$T/mnt/data\" && mkdir users && "
	                              "cd users && echo secret > p && chmod 600 p && "
	                              "mkdir -m 1777 pub && echo rootfile > pub/r && "
	                              "mkdir -m 2775 sg && chgrp 100 sg"),
	                 0);
	assert_int_equal(
	    uptest_sh(t, "cd \"$T/mnt/data/users\" && setpriv --reuid 65534 --regid 65534 "
	                 "--clear-groups sh -c 'cat p; echo mine > pub/m; stat -c owner=%%u:%%g "
	                 "pub/m; chmod 666 pub/r; rm -f pub/r; mv pub/r pub/r2; chmod 600 pub/m "
	                 "&& echo own-chmod-ok; true' 2>&1; ls pub"),
	    0);
	assert_true(uptest_output(t, "cat: p: Permission denied"));
	assert_false(uptest_output(t, "secret"));
	assert_true(uptest_output(t, "owner=65534:65534"));
	assert_true(uptest_output(t, "changing permissions of 'pub/r': Operation not permitted"));
	assert_true(uptest_output(t, "cannot remove 'pub/r': Operation not permitted"));
	assert_true(uptest_output(t, "cannot move 'pub/r'"));
	assert_true(uptest_output(t, "own-chmod-ok"));
	assert_true(uptest_output(t, "\nm\nr\n")); /* root's file is still there, unrenamed */
	assert_int_equal(uptest_sh(t, "cd \"$T/mnt/data/users\" && setpriv --reuid 1000 --regid "
	                              "1000 --groups 100 sh -c 'touch sg/f && stat -c "
	                              "owner=%%u:%%g sg/f; cat pub/m; true' 2>&1"),
	                 0);
	assert_true(uptest_output(t, "owner=1000:100"));
	assert_true(uptest_output(t, "cat: pub/m: Permission denied"));
	/* what the kernel keeps for root is not shown to a user who may not search there */
	assert_int_equal(uptest_sh(t, "cd \"$T/mnt/data/users\" && mkdir -m 700 closed && "
	                              "echo x > closed/in && stat -c %%s closed/in && "
	                              "setpriv --reuid 65534 --regid 65534 --clear-groups sh -c "
	                              "'stat -c %%s closed/in; ls closed; true' 2>&1"),
	                 0);
	assert_int_equal(uptest_count(t, "Permission denied"), 2);
	/* nor after root closed a directory the kernel kept names in for everyone */
	assert_int_equal(uptest_sh(t, "cd \"$T/mnt/data/users\" && mkdir -m 755 shut && "
	                              "echo yy > shut/in && stat -c %%s shut/in && setpriv --reuid "
	                              "65534 --regid 65534 --clear-groups stat -c %%s shut/in && "
	                              "chmod 700 shut && sleep 0.5 && setpriv --reuid 65534 "
	                              "--regid 65534 --clear-groups sh -c 'stat -c %%s shut/in; "
	                              "true' 2>&1"),
	                 0);
	assert_true(uptest_output(t, "3\n3\nstat: cannot statx 'shut/in': Permission denied"));
	/* 41 users, more than the mount's 32 sessions, while 65534 holds pub/m open */
	assert_int_equal(
	    uptest_sh(t, "cd \"$T/mnt/data/users\" && (setpriv --reuid 65534 --regid 65534 "
	                 "--clear-groups sh -c 'exec 3< pub/m; sleep 3; cat <&3' > \"$T/held\" &) "
	                 "&& for u in $(seq 3000 3040); do setpriv --reuid $u --regid $u "
	                 "--clear-groups sh -c 'id -u > pub/u$(id -u)' || exit 1; done; "
	                 "stat -c '%%u %%n' pub/u3000 pub/u3040; cat pub/u3017; sleep 3; "
	                 "cat \"$T/held\""),
	    0);
	assert_true(uptest_output(t, "3000 pub/u3000"));
	assert_true(uptest_output(t, "3040 pub/u3040"));
	assert_true(uptest_output(t, "\n3017\n"));
	assert_true(uptest_output(t, "\nmine\n"));
}

/* The state's etcd, for plexus sh as another client of VFS. */
#define S_ENV "PLEXUS_ETCD=$(awk '/^etcd/{print $2}' \"$STATE/state\") "
/* Runs its command again (every 50 ms, 3 s at most) until it succeeds. */
#define S_UNTIL                                                                                    \
	"until_ok() { for i in $(seq 60); do \"$@\" && return 0; sleep 0.05; done; return 1; }; "

/* Another client of VFS changes what the mount looked at: the change shows through the mount
 * at once, though the kernel keeps names and attributes (a stat answers while VFS is stopped);
 * so after VFS restarts too. */
static void s_seen_through_mount(uptest *t, const char *round)
{
	assert_int_equal(
	    uptest_sh(t,
	              S_UNTIL
	              "cd \"$T/mnt/data\" && mkdir -p seen && echo one > seen/f && "
	              "ln seen/f seen/g && stat -c '%%s %%h' seen/f seen/g && cat seen/f && "
	              "test ! -e seen/n && " S_ENV
	              "\"$PLEXUS\" sh -c 'echo twenty-one-bytes-%s > /data/seen/f; "
	              "rm /data/seen/g; echo new > /data/seen/n' && "
	              "until_ok test \"$(stat -c %%s seen/f)\" = 19 && "
	              "until_ok test ! -e seen/g && cat seen/f && " S_ENV
	              "\"$PLEXUS\" sh -c 'mv /data/seen/f /data/seen/h' && "
	              "until_ok test ! -e seen/f && stat -c '%%s %%h' seen/h && "
	              "until_ok test -e seen/n && cat seen/n && rm seen/h seen/n && echo seen-ok",
	              round),
	    0);
	assert_true(uptest_output(t, "4 2\n4 2\none\n"));
	assert_true(uptest_output(t, "twenty-one-bytes-"));
	assert_true(uptest_output(t, "19 1\nnew\nseen-ok"));
}

static void test_changes_by_other_clients(void **state)
{
	uptest *t = *state;
	assert_int_equal(
	    uptest_sh(t, "echo kept > \"$T/mnt/data/kept\" && stat -c %%s \"$T/mnt/data/kept\""),
	    0);
	long gen, pid = uptest_service_pid(t, "vfs", &gen);
	assert_true(pid > 0);
	assert_int_equal(kill((pid_t)pid, SIGSTOP), 0);
	int rc = uptest_sh(t, "timeout 5 stat -c '%%s %%h' \"$T/mnt/data/kept\"");
	kill((pid_t)pid, SIGCONT);
	assert_int_equal(rc, 0); /* from the kernel's cache: VFS could not answer */
	assert_true(uptest_output(t, "5 1"));
	s_seen_through_mount(t, "a");
	assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
	uptest_wait_back(t, "vfs", gen);
	s_seen_through_mount(t, "b"); /* a new watch on the new VFS */
}

/* The differences from Linux that plexus-conform finds through the mount, and why
 * (docs/using.md "Differences from ext4"): none left. The test fails when one goes away as
 * well as when another appears, so that a list here stays true. */
static const char *const s_known[] = {
    NULL,
};

/* Runs plexus-conform in dir as uid (0 or 65534) and checks that what fails is exactly what
 * known lists (reference: nothing at all). */
static void s_conform(uptest *t, const char *dir, int uid, const char *const *known)
{
	assert_int_equal(
	    uptest_sh(
	        t,
	        "chmod 755 \"$T\" && mkdir -p %s && chmod 1777 %s && setpriv --reuid %d --regid %d "
	        "--clear-groups " PLEXUS_CONFORM " %s; true",
	        dir, dir, uid, uid, dir),
	    0);
	int failed = 0, listed = 0;
	for (const char *p = t->text; (p = strstr(p, "not ok ")); p++)
		failed++;
	for (; known && known[listed]; listed++) {
		char line[128];
		snprintf(line, sizeof line, "not ok %s:", known[listed]);
		if (!uptest_output(t, line))
			fail_msg("%s passes now: take it off the known differences", known[listed]);
	}
	if (failed != listed)
		fail_msg("%d checks fail in %s as uid %d, %d known:\n%s", failed, dir, uid, listed,
		         t->text);
	assert_true(uptest_output(t, "ok open.create"));
}

static void test_conformance(void **state)
{
	uptest *t = *state;
	if (geteuid() != 0)
		skip(); /* setpriv to other users */
	s_conform(t, "\"$T/conform-ref-root\"", 0, NULL);
	s_conform(t, "\"$T/conform-ref-user\"", 65534, NULL);
	s_conform(t, "\"$T/mnt/data/conform-root\"", 0, s_known);
	s_conform(t, "\"$T/mnt/data/conform-user\"", 65534, s_known);
}

static void test_umount_leaves_nothing(void **state)
{
	uptest *t = *state;
	char mnt[PATH_MAX + 8];
	snprintf(mnt, sizeof mnt, "%.4000s/mnt", t->dir);
	assert_true(uptest_mounted(mnt));
	assert_int_equal(uptest_sh(t, "\"$PLEXUS\" umount \"$T/mnt\""), 0);
	assert_false(uptest_mounted(mnt));
	/* the daemon went with its mount (its VFS clients told VFS first): no plexus mount
	 * process on this directory within 20 s */
	assert_int_equal(uptest_sh(t,
	                           "for i in $(seq 200); do "
	                           "  pgrep -f \"plexus mount --state-dir $STATE\" >/dev/null || "
	                           "break; sleep 0.1; done; "
	                           "pgrep -f \"plexus mount --state-dir $STATE\" | wc -l"),
	                 0);
	assert_string_equal(t->text, "0\n");
	/* and it is mountable again */
	assert_int_equal(uptest_sh(t, "\"$PLEXUS\" mount --state-dir \"$STATE\" \"$T/mnt\" && "
	                              "cat \"$T/mnt/data/tree/private/x\""),
	                 0);
	assert_true(uptest_output(t, "secret"));
	assert_int_equal(uptest_sh(t, "fusermount3 -u \"$T/mnt\""), 0);
	assert_false(uptest_mounted(mnt));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cp_round_trip),
	    cmocka_unit_test(test_tar_inside),
	    cmocka_unit_test(test_git_inside),
	    cmocka_unit_test(test_errors_and_rename),
	    cmocka_unit_test(test_make_and_editing),
	    cmocka_unit_test(test_foreground_sigterm),
	    cmocka_unit_test(test_other_users),
	    cmocka_unit_test(test_format_limits),
	    cmocka_unit_test(test_conformance),
	    cmocka_unit_test(test_changes_by_other_clients),
	    cmocka_unit_test(test_umount_leaves_nothing),
	};
	return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
