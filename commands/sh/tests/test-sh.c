/*
 * test-sh.c — `plexus sh -c` scripts on the four-node fixture (vfs/tests/fscluster.h): the
 * shell runs as a process on node 0, VFS on node 1, MFS and PFS on node 2, the disk on node
 * 3. Each test runs scripts through the plexus binary and compares what they print (standard
 * output and error apart) and their status with the text expected: every builtin, pipes
 * through Plexus pipes, redirections, ; && || and $?, scripts from standard input, and a
 * host -> Plexus -> host round trip with cp and dd; and the terminal: prompt, line editing's
 * input, history file.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fscluster.h"

static const fscluster_opts s_opts = {.cluster = "sh", .services = FSCLUSTER_ALL};
static int s_failed;

static int group_setup(void **state)
{
	return fscluster_setup(state, &s_opts);
}

static int group_teardown(void **state)
{
	fscluster *f = *state;
	if (f)
		f->passed = s_failed == 0;
	return fscluster_teardown(state);
}

static int test_setup(void **state)
{
	(void)state;
	s_failed++;
	return 0;
}

static int test_teardown(void **state)
{
	(void)state;
	return 0;
}

#define PASSED() s_failed--

typedef struct run {
	int status;
	char *out;
	char *err;
} run;

static char *s_read_file(const char *path)
{
	FILE *in = fopen(path, "r");
	char *text = NULL;
	size_t size = 0;
	FILE *mem = open_memstream(&text, &size);
	char buf[4096];
	size_t n;
	while (in && (n = fread(buf, 1, sizeof buf, in)) > 0)
		fwrite(buf, 1, n, mem);
	if (in)
		fclose(in);
	fclose(mem);
	return text;
}

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs plexus sh (with -c script, or the script on standard input when stdin_script) on node
 * 0 and waits up to five minutes (a loaded machine, ASan). */
static run s_sh_exec(fscluster *f, const char *script, bool stdin_script, const char *file)
{
	char out[600], err[600], in[600];
	snprintf(out, sizeof out, "%s/sh.out", f->d->dir);
	snprintf(err, sizeof err, "%s/sh.err", f->d->dir);
	snprintf(in, sizeof in, "%s/sh.in", f->d->dir);
	if (stdin_script) {
		FILE *s = fopen(in, "w");
		fputs(script, s);
		fclose(s);
	}
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int i = open(stdin_script ? in : "/dev/null", O_RDONLY);
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(i, 0);
		dup2(o, 1);
		dup2(e, 2);
		setenv("PLEXUS_ADDR", netns_node_addr(f->d->c, 0), 1);
		char *argv[] = {PLEXUS_BIN,
		                "sh",
		                "--etcd",
		                (char *)netns_hub_etcd_endpoints(f->d->c),
		                "--cluster",
		                (char *)f->d->cluster,
		                "--node",
		                "n0",
		                "--timeout",
		                "120000", /* a loaded machine, ASan */
		                stdin_script ? NULL : "-c",
		                (char *)script,
		                NULL};
		if (file) {
			argv[10] = (char *)file;
			argv[11] = NULL;
		}
		execv(PLEXUS_BIN, argv);
		_exit(126);
	}
	int status = 0;
	int64_t end = s_now_ms() + 300000;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (s_now_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fail_msg("plexus sh did not finish in five minutes: %s", script);
		}
		usleep(10 * 1000);
	}
	run r = {.out = s_read_file(out), .err = s_read_file(err)};
	r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return r;
}

static run s_sh_run(fscluster *f, const char *script, bool stdin_script)
{
	return s_sh_exec(f, script, stdin_script, NULL);
}

/* plexus sh FILE */
static run s_sh_file(fscluster *f, const char *file)
{
	return s_sh_exec(f, "", false, file);
}

static void s_free(run *r)
{
	free(r->out);
	free(r->err);
}

/* Runs script and expects its status and exactly this output and error text. */
static void s_expect(fscluster *f, const char *script, int status, const char *out, const char *err)
{
	run r = s_sh_run(f, script, false);
	if (strcmp(r.out, out) != 0 || strcmp(r.err, err) != 0 || r.status != status)
		fail_msg(
		    "script:\n%s\nstatus %d (want %d)\nout:\n%s\nwant:\n%s\nerr:\n%s\nwant:\n%s",
		    script, r.status, status, r.out, out, r.err, err);
	s_free(&r);
}

static void test_files_and_dirs(void **state)
{
	fscluster *f = *state;
	s_expect(f,
	         "mkdir -p /sh/a/b && cd /sh && pwd\n"
	         "echo hello world > a/f; cat a/f; echo -n more >> a/f; cat a/f; echo\n"
	         "ls /sh/a; ls -d /sh/a; ls -a /sh/a/b; ls /sh/a/f /sh/a\n"
	         "touch a/t a/u; ls a; rm a/t; ls a\n"
	         "cp a/f a/g && cat a/g && echo\n"
	         "mv a/g a/b && ls a/b && mv a/b/g a/h && ls a\n"
	         "ln a/f a/hard; ln -s f a/soft; cat a/soft; echo; ls -l a/soft | wc -l\n"
	         "rmdir a/b && ls a\n"
	         "mkdir a/d; touch a/d/x; cp -r a/d a/e; ls a/e; rm -r a/d a/e; ls a\n"
	         "rm -f a/none && echo forced\n",
	         0,
	         "/sh\n"
	         "hello world\nhello world\nmore\n"
	         "b\nf\n/sh/a\n.\n..\n/sh/a/f\n\n/sh/a:\nb\nf\n"
	         "b\nf\nt\nu\nb\nf\nu\n"
	         "hello world\nmore\n"
	         "g\nb\nf\nh\nu\n"
	         "hello world\nmore\n1\n"
	         "f\nh\nhard\nsoft\nu\n"
	         "x\nf\nh\nhard\nsoft\nu\n"
	         "forced\n",
	         "");
	PASSED();
}

static void test_errors_and_status(void **state)
{
	fscluster *f = *state;
	s_expect(
	    f,
	    "ls /nope; echo \"status $?\"; false; echo $?; true && echo yes; false && echo no\n"
	    "false || echo or; mkdir /e; mkdir /e; rmdir /nope; cat /e; frob; echo $?\n"
	    "echo '$?' \"a  b\" 'c;d'; rm /e; echo $?\n",
	    0, "status 1\n1\nyes\nor\n127\n$? a  b c;d\n1\n",
	    "ls: /nope: No such file or directory\n"
	    "mkdir: /e: File exists\n"
	    "rmdir: /nope: No such file or directory\n"
	    "cat: /e: Is a directory\n"
	    "sh: frob: command not found\n"
	    "rm: /e: Is a directory\n");
	s_expect(f, "true; exit 3; echo never", 3, "", "");
	s_expect(f, "ls /nope", 1, "", "ls: /nope: No such file or directory\n");
	s_expect(f, "echo 'open", 2, "", "sh: unterminated quote '\n");
	s_expect(f, "ls -q", 2, "", "ls: unknown option -q\n");
	PASSED();
}

static void test_pipes_and_redirections(void **state)
{
	fscluster *f = *state;
	s_expect(f,
	         "mkdir /p; echo 'one two' > /p/t; echo three >> /p/t; echo four >> /p/t\n"
	         "cat /p/t | wc -l; cat < /p/t | head -n 1; cat /p/t | tail -n 2 | wc -c\n"
	         "wc /p/t; wc -w < /p/t; head -n 2 /p/t | tail -n 1\n"
	         "cat /nope 2> /p/err; cat /p/err; ls /nope 2>&1 | wc -l\n"
	         "cat /p/t | cat | cat | cat | wc -c > /p/count; cat /p/count\n"
	         "echo a > /p/x > /p/y; cat /p/y; cat /p/x | wc -c\n"
	         "dd if=/p/t bs=4 count=2 2> /p/dd | cat; echo; cat /p/dd\n"
	         "dd if=/p/t of=/p/t2 bs=3 skip=1 seek=1 2> /p/dd2; cat /p/t2 | wc -c\n"
	         "echo abc > /p/s; echo X | dd of=/p/s bs=1 seek=1 count=1 2> /p/dd; cat /p/s\n",
	         0,
	         "3\none two\n11\n"
	         "3 4 19 /p/t\n4\nthree\n"
	         "cat: /nope: No such file or directory\n1\n"
	         "19\n"
	         "a\n0\n"
	         "one two\n\n2+0 records in\n2+0 records out\n8 bytes copied\n"
	         "19\n"
	         "aXc\n",
	         "");
	PASSED();
}

/* Many pipelines in one shell: stage threads are reused, so the connections the transport
 * keeps per thread do not pile up (400 x 3 threads would pass the 1023 sockets ZeroMQ allows a
 * context). */
static void test_many_pipelines(void **state)
{
	fscluster *f = *state;
	size_t n = 400;
	char *script = malloc(n * 32), *want = malloc(n * 4 + 1);
	script[0] = want[0] = 0;
	for (size_t i = 0; i < n; i++) {
		strcat(script, "echo x | cat | wc -c\n");
		strcat(want, "2\n");
	}
	s_expect(f, script, 0, want, "");
	free(script);
	free(want);
	PASSED();
}

static void test_system(void **state)
{
	fscluster *f = *state;
	s_expect(f, "mount", 0, "disk:0 on / type mfs (rw)\n", "");
	s_expect(f, "df | head -n 1", 0,
	         "Filesystem            1K-blocks       Used  Available Use% Mounted on\n", "");
	s_expect(f, "df | tail -n 1 | wc -w; sync && echo synced", 0, "6\nsynced\n", "");
	s_expect(f, "services | head -n 1 | wc -w; nodes | wc -l", 0, "8\n5\n", "");
	s_expect(f, "mount -r disk:0 /nope mfs", 1, "",
	         "mount: /nope: No such file or directory\n");
	/* a second file system: mounted read-only, listed, refused writes, unmounted */
	char image[600], cmd[1400];
	snprintf(image, sizeof image, "%s/sh2.img", f->d->dir);
	snprintf(cmd, sizeof cmd, "truncate -s 8M %s && /usr/sbin/mkfs.minix -3 %s >/dev/null",
	         image, image);
	assert_int_equal(system(cmd), 0);
	char *disk[] = {PLEXUS_VDISK_BIN, "--image", image, NULL};
	drvcluster_start_driver(f->d, 3, "sh2disk", NULL, disk);
	char *mfs[] = {PLEXUS_MFS_BIN, NULL};
	drvcluster_start_driver(f->d, 2, "sh2mfs", NULL, mfs);
	s_expect(
	    f,
	    "mkdir /m && mount -r sh2disk:0 /m sh2mfs && mount; df | wc -l; ls -a /m\n"
	    "mkdir /m/x; umount /m && mount && umount /m\n"
	    "mount -o noexec,dev sh2disk:0 /m sh2mfs && mount && umount /m\n"
	    "mount -o frob sh2disk:0 /m sh2mfs",
	    2,
	    "disk:0 on / type mfs (rw)\nsh2disk:0 on /m type sh2mfs (ro,nosuid,nodev)\n3\n.\n..\n"
	    "disk:0 on / type mfs (rw)\ndisk:0 on / type mfs (rw)\n"
	    "sh2disk:0 on /m type sh2mfs (rw,nosuid,noexec)\n",
	    "mkdir: /m/x: Read-only file system\numount: /m: Invalid argument\n"
	    "mount: unknown option frob\nusage: mount [-r] [-o ro,nodev,dev,nosuid,suid,noexec] "
	    "SOURCE TARGET FS   (SOURCE none: no device; nodev,nosuid unless dev,suid)\n");
	/* ls -l: mode, links, owner, size (the time varies) */
	run l = s_sh_run(f, "mkdir /l; echo 12345 > /l/f; ln /l/f /l/g; ls -l /l/f", false);
	assert_int_equal(l.status, 0);
	if (strncmp(l.out, "-rw-r--r--  2    0    0        6 ", 33) != 0 ||
	    !strstr(l.out, " /l/f\n"))
		fail_msg("ls -l: %s", l.out);
	s_free(&l);
	s_expect(f, "umount /", 1, "", "umount: /: Device or resource busy\n");
	/* ps: this shell and its open files (a redirection is open while ps runs) */
	run r = s_sh_run(f, "ps > /psout; cat /psout", false);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "ENDPOINT"));
	assert_non_null(strstr(r.out, "plexus-sh"));
	assert_non_null(strstr(r.out, " n0 "));
	assert_non_null(strstr(r.out, "/psout"));
	s_free(&r);
	r = s_sh_run(f, "stat / | head -n 1; stat /nope", false);
	assert_int_equal(r.status, 1);
	assert_string_equal(r.out, "  File: /\n");
	assert_string_equal(r.err, "stat: /nope: No such file or directory\n");
	s_free(&r);
	r = s_sh_run(f, "help", false);
	const char *names[] = {"ls",     "cat",   "echo", "cp",    "mv", "rm",
	                       "mkdir",  "rmdir", "ln",   "stat",  "df", "mount",
	                       "umount", "touch", "head", "tail",  "wc", "dd",
	                       "sync",   "cd",    "pwd",  "nodes", "ps", "services"};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		char line[32];
		snprintf(line, sizeof line, "\n  %s ", names[i]);
		if (!strstr(r.out, line))
			fail_msg("help does not list %s:\n%s", names[i], r.out);
	}
	s_free(&r);
	PASSED();
}

static void test_stdin_script(void **state)
{
	fscluster *f = *state;
	run r = s_sh_run(f, "echo from stdin\nmkdir /in\ncd /in\npwd\n", true);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "from stdin\n/in\n"); /* no prompt */
	assert_string_equal(r.err, "");
	s_free(&r);
	/* plexus sh FILE: the script from a host file */
	char script[600];
	snprintf(script, sizeof script, "%s/script.psh", f->d->dir);
	FILE *out = fopen(script, "w");
	fputs("# a script file\necho 'from a file' | wc -w\nls /nope\nexit 7\n", out);
	fclose(out);
	r = s_sh_file(f, script);
	assert_int_equal(r.status, 7);
	assert_string_equal(r.out, "3\n");
	assert_string_equal(r.err, "ls: /nope: No such file or directory\n");
	s_free(&r);
	PASSED();
}

/* Host bytes through Plexus and back: cp both ways (files and a tree) and dd with host:. */
static void test_host_copies(void **state)
{
	fscluster *f = *state;
	char src[600], cmd[4000];
	snprintf(src, sizeof src, "%s/hostdir", f->d->dir);
	snprintf(cmd, sizeof cmd,
	         "mkdir -p %s/tree/sub && head -c 300000 /dev/urandom > %s/big && "
	         "echo leaf > %s/tree/sub/leaf && echo top > %s/tree/top",
	         src, src, src, src);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof cmd,
	         "mkdir /h && cp host:%s/big /h/big && cp /h/big host:%s/back && "
	         "dd if=host:%s/big of=/h/part bs=4K skip=3 count=5 2> /h/log && "
	         "dd if=/h/part of=host:%s/part bs=1K 2> /h/log && "
	         "cp -r host:%s/tree /h/tree && ls /h/tree /h/tree/sub && "
	         "cp -r /h/tree host:%s/tree2 && wc -c /h/big",
	         src, src, src, src, src, src);
	run r = s_sh_run(f, cmd, false);
	if (r.status != 0)
		fail_msg("status %d: %s", r.status, r.err);
	assert_string_equal(r.out, "/h/tree:\nsub\ntop\n\n/h/tree/sub:\nleaf\n300000 /h/big\n");
	s_free(&r);
	snprintf(cmd, sizeof cmd,
	         "cmp %s/big %s/back && dd if=%s/big bs=4K skip=3 count=5 2>/dev/null | "
	         "cmp - %s/part && diff -r %s/tree %s/tree2/",
	         src, src, src, src, src, src);
	assert_int_equal(system(cmd), 0);
	s_expect(f, "cp host:/nonexistent-plexus-file /h/x", 1, "",
	         "cp: /nonexistent-plexus-file: No such file or directory\n");
	PASSED();
}

/* File name patterns: matched in Plexus directories, component by component, sorted; hidden
 * names only by a leading '.'; no match leaves the word; quotes make a pattern character
 * plain; host:PATTERN matches host files. */
static void test_patterns(void **state)
{
	fscluster *f = *state;
	s_expect(
	    f,
	    "mkdir -p /g/a /g/b /g/c.d && touch /g/a/x.c /g/a/y.c /g/a/z.h /g/b/x.c /g/a/.h.c\n"
	    "touch '/g/a/*'\n"
	    "echo /g/a/*.c\n"
	    "echo /g/*/x.c\n"
	    "cd /g/a && echo ?.c [xz].* && cd /\n"
	    "echo /g/a/.*.c\n"
	    "echo /g/a/*.none\n"
	    "echo '/g/a/*' /g/a/\\*\n"
	    "ls /g/a/'*'\n"
	    "rm /g/a/*.c && ls -a /g/a\n"
	    "echo /g/*.d/\n",
	    0,
	    "/g/a/x.c /g/a/y.c\n"
	    "/g/a/x.c /g/b/x.c\n"
	    "x.c y.c x.c z.h\n"
	    "/g/a/.h.c\n"
	    "/g/a/*.none\n"
	    "/g/a/* /g/a/*\n"
	    "/g/a/*\n"
	    ".\n..\n*\n.h.c\nz.h\n"
	    "/g/c.d/\n",
	    "");
	char dir[600], cmd[2600];
	snprintf(dir, sizeof dir, "%s/globhost", f->d->dir);
	snprintf(cmd, sizeof cmd, "mkdir -p %s && touch %s/one.txt %s/two.txt %s/three.log", dir,
	         dir, dir, dir);
	assert_int_equal(system(cmd), 0);
	char script[1400], want[1400];
	snprintf(script, sizeof script, "echo host:%s/*.txt", dir);
	snprintf(want, sizeof want, "host:%s/one.txt host:%s/two.txt\n", dir, dir);
	s_expect(f, script, 0, want, "");
	PASSED();
}

/* Reads the terminal until the child closes it (EIO) or 300 s pass; returns the text. */
static char *s_read_pty(int master)
{
	char *text = NULL;
	size_t size = 0;
	FILE *mem = open_memstream(&text, &size);
	int64_t end = s_now_ms() + 300000;
	for (;;) {
		struct pollfd p = {.fd = master, .events = POLLIN};
		int ms = (int)(end - s_now_ms());
		if (ms <= 0 || poll(&p, 1, ms) <= 0)
			break;
		char buf[1024];
		ssize_t n = read(master, buf, sizeof buf);
		if (n <= 0)
			break; /* EIO: the shell is gone */
		fwrite(buf, 1, (size_t)n, mem);
	}
	fclose(mem);
	return text;
}

/* plexus sh on a terminal: a prompt with the working directory, commands read with libedit,
 * the history saved in $HOME/.plexus_history, exit's status. */
static void test_terminal(void **state)
{
	fscluster *f = *state;
	char home[600], history[700];
	snprintf(home, sizeof home, "%s/home", f->d->dir);
	snprintf(history, sizeof history, "%s/.plexus_history", home);
	assert_int_equal(mkdir(home, 0700), 0);
	int master;
	pid_t pid = forkpty(&master, NULL, NULL, NULL);
	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("HOME", home, 1);
		setenv("TERM", "dumb", 1);
		setenv("PLEXUS_ADDR", netns_node_addr(f->d->c, 0), 1);
		char *argv[] = {PLEXUS_BIN,  "sh",
		                "--etcd",    (char *)netns_hub_etcd_endpoints(f->d->c),
		                "--cluster", (char *)f->d->cluster,
		                "--node",    "n0",
		                NULL};
		execv(PLEXUS_BIN, argv);
		_exit(126);
	}
	const char *input = "mkdir /tty\ncd /tty\necho typed $?\nexit 4\n";
	assert_int_equal(write(master, input, strlen(input)), (ssize_t)strlen(input));
	char *out = s_read_pty(master);
	close(master);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!strstr(out, "plexus:/$ ") || !strstr(out, "plexus:/tty$ ") || !strstr(out, "typed 0"))
		fail_msg("terminal:\n%s", out);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 4);
	free(out);
	char *saved = s_read_file(history);
	/* libedit's format writes a blank as \040 */
	assert_true(strstr(saved, "cd\\040/tty") || strstr(saved, "cd /tty"));
	free(saved);
	PASSED();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_files_and_dirs, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_errors_and_status, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_pipes_and_redirections, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_many_pipelines, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_system, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_stdin_script, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_host_copies, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_patterns, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_terminal, test_setup, test_teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
