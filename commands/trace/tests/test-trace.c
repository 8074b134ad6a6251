/*
 * test-trace.c — `plexus trace` on the four-node fixture (vfs/tests/fscluster.h: this test
 * and its programs on node 0, VFS on node 1, MFS and PFS on node 2, the disk on node 3):
 * a `cat` traced through `plexus trace -- plexus sh -c ...`, and a disk driver killed under
 * reads of a block special file and started again. Each diagram is opened in headless
 * Chromium, whose DOM must have the lifelines, the arrows in order, the replies, the killed
 * generation's end, the restart mark and the red error; `plexus trace show` of the saved trace must
 * give the same bytes.
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
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fscluster.h"
#include "plexus/proto/ipc.pb-c.h"

#define S_CALL_MS 120000

static const fscluster_opts s_opts = {.cluster = "trace", .services = FSCLUSTER_ALL};
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

/* Runs argv on node 0 (this thread's namespace) with the fixture's registry in the
 * environment, standard output into out and standard error into err (paths in the run
 * directory); waits up to five minutes. Returns the exit status. */
static int s_exec(fscluster *f, char *const argv[], const char *out, const char *err)
{
	char o[600], e[600];
	snprintf(o, sizeof o, "%s/%s", f->d->dir, out);
	snprintf(e, sizeof e, "%s/%s", f->d->dir, err);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fo = open(o, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fe = open(e, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fo, 1);
		dup2(fe, 2);
		setenv("PLEXUS_ADDR", netns_node_addr(f->d->c, 0), 1);
		setenv("PLEXUS_ETCD", netns_hub_etcd_endpoints(f->d->c), 1);
		setenv("PLEXUS_CLUSTER", f->d->cluster, 1);
		setenv("PLEXUS_STATE_DIR", f->d->dir, 1); /* no plexus up of the machine's */
		execvp(argv[0], argv);
		_exit(126);
	}
	int status = 0;
	int64_t end = drvcluster_now_ms() + 300000;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (drvcluster_now_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fail_msg("%s did not finish in five minutes", argv[0]);
		}
		usleep(10 * 1000);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static char *s_path(fscluster *f, const char *name)
{
	char *p = NULL;
	assert_true(asprintf(&p, "%s/%s", f->d->dir, name) > 0);
	return p;
}

/* The DOM headless Chromium builds from the page (what a browser shows, scripts or none). */
static char *s_dom(fscluster *f, const char *page)
{
	char *html = s_path(f, page), *profile = s_path(f, "chromium");
	char url[700], flag[700];
	snprintf(url, sizeof url, "file://%s", html);
	snprintf(flag, sizeof flag, "--user-data-dir=%s", profile);
	char *argv[] = {"chromium",
	                "--headless",
	                "--no-sandbox",
	                "--disable-gpu",
	                "--no-first-run",
	                flag,
	                "--dump-dom",
	                url,
	                NULL};
	int status = s_exec(f, argv, "dom.html", "chromium.err");
	char *dom_path = s_path(f, "dom.html"), *dom = s_read_file(dom_path);
	if (status != 0 || !strstr(dom, "</svg>")) {
		char *err_path = s_path(f, "chromium.err"), *err = s_read_file(err_path);
		fail_msg("chromium --dump-dom %s: status %d\n%s", html, status, err);
	}
	free(html);
	free(profile);
	free(dom_path);
	return dom;
}

static int64_t s_wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static const char *s_find(const char *dom, const char *needle, const char *from)
{
	const char *p = strstr(from ? from : dom, needle);
	if (!p)
		fail_msg("the diagram has no %s after offset %td", needle, from ? from - dom : 0);
	return p;
}

static void s_same_file(fscluster *f, const char *a, const char *b)
{
	char *pa = s_path(f, a), *pb = s_path(f, b);
	char *ta = s_read_file(pa), *tb = s_read_file(pb);
	assert_true(strlen(ta) > 0);
	assert_string_equal(ta, tb);
	free(pa);
	free(pb);
	free(ta);
	free(tb);
}

/* Every "clock NAME: offset X us +- U us" line of err holds 0 within U (one host: all clocks
 * are the same); returns how many there are. */
static int s_clocks_hold_zero(const char *err)
{
	int n = 0;
	for (const char *p = strstr(err, "clock "); p; p = strstr(p + 1, "clock ")) {
		const char *o = strstr(p, ": offset ");
		long long offset = 0, uncertainty = -1;
		if (!o || sscanf(o, ": offset %lld us +- %lld us", &offset, &uncertainty) != 2)
			fail_msg("a clock without a two-sided bound:\n%s", err);
		if (offset > uncertainty || -offset > uncertainty)
			fail_msg("offset %lld us +- %lld us: 0 is outside\n%s", offset, uncertainty,
			         err);
		n++;
	}
	return n;
}

/* The fixture's nodes share one log directory: each service's log is linked into a directory
 * of its node's, so that each is a clock domain of its own, aligned from real messages. */
static void s_split_logs(fscluster *f)
{
	static const struct {
		const char *node, *log;
	} logs[] = {{"n1", "vfs.log"}, {"n2", "mfs.log"}, {"n3", "disk.log"}};
	for (size_t i = 0; i < sizeof logs / sizeof *logs; i++) {
		char dir[600], from[600], to[700];
		snprintf(dir, sizeof dir, "%s/%s", f->d->dir, logs[i].node);
		snprintf(from, sizeof from, "%s/%s", f->d->dir, logs[i].log);
		snprintf(to, sizeof to, "%s/%s", dir, logs[i].log);
		assert_true(mkdir(dir, 0755) == 0 || errno == EEXIST);
		unlink(to);
		assert_int_equal(link(from, to), 0);
	}
}

static void test_cat_through_the_servers(void **state)
{
	fscluster *f = *state;
	s_failed++;
	char since[32];
	snprintf(since, sizeof since, "%lld", (long long)s_wall_us());
	char *logs = f->d->dir, *html = s_path(f, "cat.html"), *saved = s_path(f, "cat.trace");
	char *argv[] = {PLEXUS_BIN,
	                "trace",
	                "--logs",
	                logs,
	                "-o",
	                html,
	                "--save",
	                saved,
	                "--",
	                PLEXUS_BIN,
	                "sh",
	                "--node",
	                "n0",
	                "--timeout",
	                "120000",
	                "-c",
	                "echo hello plexus > /traced.txt; cat /traced.txt",
	                NULL};
	int status = s_exec(f, argv, "cat.out", "cat.err");
	char *err_path = s_path(f, "cat.err"), *err = s_read_file(err_path);
	if (status != 0 || !strstr(err, "hello plexus"))
		fail_msg("plexus trace -- plexus sh: status %d\n%s", status, err);
	/* The command's clock and the nodes' are this host's: the offset estimated from the
	 * messages alone must be 0 within its uncertainty. */
	assert_non_null(strstr(err, "clock command: offset "));
	assert_int_equal(s_clocks_hold_zero(err), 2);
	/* The same with one domain per node: VFS's, MFS's and the disk's logs apart. */
	s_split_logs(f);
	char *n1 = s_path(f, "n1"), *n2 = s_path(f, "n2"), *n3 = s_path(f, "n3");
	char *nodes[] = {PLEXUS_BIN, "trace",   "--logs", n1,         "--logs",  n2,  "--logs",
	                 n3,         "--since", since,    "--format", "mermaid", NULL};
	assert_int_equal(s_exec(f, nodes, "nodes.mmd", "nodes.err"), 0);
	char *nodes_err_path = s_path(f, "nodes.err"), *nodes_err = s_read_file(nodes_err_path);
	print_message("three nodes' logs:\n%s", nodes_err);
	assert_int_equal(s_clocks_hold_zero(nodes_err), 3);
	free(nodes_err);
	free(nodes_err_path);
	free(n1);
	free(n2);
	free(n3);
	/* show: the same page, byte for byte; and the Mermaid text */
	char *show_html[] = {PLEXUS_BIN, "trace", "show", saved, NULL};
	assert_int_equal(s_exec(f, show_html, "cat-show.html", "show.err"), 0);
	s_same_file(f, "cat.html", "cat-show.html");
	char *mermaid[] = {PLEXUS_BIN, "trace", "show", saved, "--format", "mermaid", NULL};
	assert_int_equal(s_exec(f, mermaid, "cat.mmd", "show.err"), 0);
	char *mmd_path = s_path(f, "cat.mmd"), *mmd = s_read_file(mmd_path);
	print_message("plexus trace show --format mermaid:\n%s", mmd);
	assert_non_null(strstr(mmd, "sequenceDiagram\n"));

	char *dom = s_dom(f, "cat.html");
	for (const char *const *l = (const char *const[]){"vfs", "mfs", "disk", NULL}; *l; l++) {
		char lifeline[64];
		snprintf(lifeline, sizeof lifeline, "class=\"lifeline\" data-label=\"%s\"", *l);
		s_find(dom, lifeline, NULL);
	}
	s_find(dom, "class=\"lifeline\" data-label=\"c-", NULL); /* the shell, a VFS client */
	/* the call goes down the servers: VFS_OPEN, then FS_CREATE (a name VFS has not seen is
	 * created at once), then BDEV_READ (the directory's block) */
	const char *open = s_find(dom, "class=\"msg request\" data-type=\"VFS_OPEN\"", NULL);
	const char *create = s_find(dom, "class=\"msg request\" data-type=\"FS_CREATE\"", open);
	s_find(dom, "class=\"msg request\" data-type=\"BDEV_READ\"", create);
	/* each answered, replies after their requests */
	s_find(dom, "class=\"msg reply\" data-type=\"VFS_OPEN\"", open);
	s_find(dom, "class=\"msg reply\" data-type=\"FS_CREATE\"", create);
	s_find(dom, "class=\"msg reply\" data-type=\"VFS_READ\"", open);
	assert_null(strstr(dom, "class=\"restart\""));
	free(dom);
	free(mmd);
	free(mmd_path);
	free(err);
	free(err_path);
	free(html);
	free(saved);
	s_failed--;
}

/* IPC_TRACE_LEVEL from this thread's rs endpoint to label. */
static void s_trace_level(fscluster *f, const char *label, bool on)
{
	Plexus__IpcTraceLevel level = PLEXUS__IPC_TRACE_LEVEL__INIT;
	level.enabled = on;
	assert_int_equal(
	    drvcluster_call(f->d, label, PLEXUS__IPC_TYPE__IPC_TRACE_LEVEL, &level.base, NULL), 0);
}

static void test_driver_crash_shows_restart_and_error(void **state)
{
	fscluster *f = *state;
	s_failed++;
	fsclient *c = fsclient_new(f, "blk");
	assert_int_equal(fsc_mknod(c, "/disk0", S_IFBLK | 0600, makedev(FSC_MAJOR_DISK, 0)), 0);
	int fd = fsc_open(c, "/disk0", O_RDONLY, 0);
	assert_true(fd >= 0);
	char since[32];
	snprintf(since, sizeof since, "%lld", (long long)s_wall_us());
	s_trace_level(f, "vfs", true);
	s_trace_level(f, "disk", true);
	char buf[4096];
	assert_int_equal(fsc_read(c, fd, buf, sizeof buf, S_CALL_MS), sizeof buf);
	uint64_t old_gen = fscluster_gen(f, FSCLUSTER_DISK);
	fscluster_kill(f, FSCLUSTER_DISK, SIGKILL);
	ssize_t n = fsc_read(c, fd, buf, sizeof buf, S_CALL_MS); /* no driver: an error */
	print_message("a read with the driver dead: %zd\n", n);
	fscluster_start(f, FSCLUSTER_DISK, "restart");
	s_trace_level(f, "disk", true);
	for (int64_t end = drvcluster_now_ms() + FSC_WAIT_MS; drvcluster_now_ms() < end;
	     usleep(50 * 1000))
		if ((n = fsc_read(c, fd, buf, sizeof buf, S_CALL_MS)) == sizeof buf)
			break;
	assert_int_equal(n, sizeof buf);
	s_trace_level(f, "vfs", false);
	s_trace_level(f, "disk", false);
	fsclient_destroy(&c, true);

	char *html = s_path(f, "crash.html");
	char *argv[] = {PLEXUS_BIN, "trace", "--logs", f->d->dir, "--since",
	                since,      "-o",    html,     NULL};
	int status = s_exec(f, argv, "crash.out", "crash.err");
	char *err_path = s_path(f, "crash.err"), *err = s_read_file(err_path);
	if (status != 0)
		fail_msg("plexus trace --logs: status %d\n%s", status, err);
	char *mermaid[] = {PLEXUS_BIN, "trace",    "--logs",  f->d->dir, "--since",
	                   since,      "--format", "mermaid", NULL};
	assert_int_equal(s_exec(f, mermaid, "crash.mmd", "crash.err"), 0);
	char *mmd_path = s_path(f, "crash.mmd"), *mmd = s_read_file(mmd_path);
	print_message("plexus trace --format mermaid (the crash):\n%s", mmd);

	char *dom = s_dom(f, "crash.html");
	const char *first = s_find(dom, "class=\"msg request\" data-type=\"BDEV_READ\"", NULL);
	char mark[96];
	snprintf(mark, sizeof mark, "class=\"restart\" data-label=\"disk\" data-gen=\"%llu\"",
	         (unsigned long long)fscluster_gen(f, FSCLUSTER_DISK));
	const char *restart = s_find(dom, mark, first);
	const char *error = s_find(dom, " error\" data-type=\"", first);
	assert_true(error < restart); /* the failed read came before the new driver */
	/* the killed generation's end: after its last answer, before the failed read */
	snprintf(mark, sizeof mark, "class=\"end\" data-label=\"disk\" data-gen=\"%llu\"",
	         (unsigned long long)old_gen);
	const char *end = s_find(dom, mark, first);
	assert_true(end < error);
	s_find(dom, "class=\"msg reply\" data-type=\"BDEV_READ\"", first);
	assert_true(strstr(first, "class=\"msg reply\" data-type=\"BDEV_READ\"") < end);
	s_find(dom, "class=\"msg request\" data-type=\"BDEV_READ\"", restart);
	s_find(dom, "fill=\"#c00\"", error);
	free(dom);
	free(mmd);
	free(mmd_path);
	free(err);
	free(err_path);
	free(html);
	s_failed--;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cat_through_the_servers),
	    cmocka_unit_test(test_driver_crash_shows_restart_and_error),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
