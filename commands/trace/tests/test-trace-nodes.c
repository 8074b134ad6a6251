/*
 * test-trace-nodes.c — `plexus trace --nodes` on a whole system (root): `plexus up --nodes 4
 * --no-tour` in network namespaces, with its node kernels, RS and every service. A file
 * written to /data in one boot is read with `cat /data/file` in the next (a cold cache: the
 * read reaches the disk), traced from the four node kernels' logs; then vdisk is SIGKILLed
 * under a write and a sync, traced, and RS restarts it through its node kernel. Each page is
 * opened in headless Chromium: the lifelines (the client, VFS, MFS, the driver; RS and the
 * node kernel for the crash), the arrows in order, a time on every row, never decreasing,
 * the killed generation's end and the restart mark; the PlantUML and Mermaid texts of the
 * saved traces are checked too, and the crash again from a time window (--since, --until)
 * instead of a command. With the system down, `plexus trace show` draws the same
 * pages again, byte for byte, and they are self-contained.
 *
 * Entry point: main (cmocka).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "uptest.h"

#define S_ENV "PLEXUS_STATE_DIR=\"$STATE\" "

/* t->text after a command that printed a file; the caller frees nothing (uptest owns it). */
static const char *s_cat(uptest *t, const char *name)
{
	if (uptest_sh(t, "cat \"$T/%s\"", name) != 0)
		fail_msg("no %s", name);
	return t->text;
}

/* The DOM headless Chromium builds from $T/page into $T/dom (what a browser shows). */
static char *s_dom(uptest *t, const char *page)
{
	int rc = uptest_sh(t,
	                   "chromium --headless --no-sandbox --disable-gpu --no-first-run "
	                   "--user-data-dir=\"$T/chromium\" --dump-dom \"file://$T/%s\" "
	                   ">\"$T/dom\" 2>\"$T/chromium.err\"; s=$?; cat \"$T/chromium.err\"; "
	                   "exit $s",
	                   page);
	if (rc != 0)
		fail_msg("chromium --dump-dom %s: status %d\n%s", page, rc, t->text);
	char *dom = strdup(s_cat(t, "dom"));
	if (!strstr(dom, "</svg>"))
		fail_msg("the DOM of %s has no diagram", page);
	return dom;
}

static const char *s_find(const char *dom, const char *needle, const char *from)
{
	const char *p = strstr(from ? from : dom, needle);
	if (!p)
		fail_msg("the diagram has no %s after offset %td", needle, from ? from - dom : 0);
	return p;
}

static void s_lifeline(const char *dom, const char *label)
{
	char l[96];
	snprintf(l, sizeof l, "class=\"lifeline\" data-label=\"%s\"", label);
	s_find(dom, l, NULL);
}

/* Every arrow's row has its time (+MS.US ms), from +0.000 ms on, never decreasing; as many
 * times as arrows (a restart mark has none: the logs do not say when a process started).
 * Returns the number of arrows. */
static int s_times_in_order(const char *dom)
{
	int rows = 0;
	double last = -1;
	for (const char *p = strstr(dom, "class=\"time\""); p;
	     p = strstr(p + 1, "class=\"time\"")) {
		const char *v = strstr(p, ">+");
		double ms = -1;
		if (!v || sscanf(v, ">+%lf ms<", &ms) != 1)
			fail_msg("a time that does not read at offset %td", p - dom);
		if (rows == 0 && ms != 0)
			fail_msg("the first row is at +%f ms, not +0.000", ms);
		if (ms < last)
			fail_msg("row %d at +%f ms is before the row above it (+%f ms)", rows, ms,
			         last);
		last = ms;
		rows++;
	}
	int arrows = 0;
	for (const char *p = strstr(dom, "<g class=\"msg "); p;
	     p = strstr(p + 1, "<g class=\"msg "))
		arrows++;
	assert_true(rows > 0);
	assert_int_equal(rows, arrows);
	return rows;
}

/* PlantUML itself (the plantuml package) draws the saved trace's text as SVG without an
 * error, and the drawing holds the message type word. */
static void s_plantuml_draws(uptest *t, const char *saved, const char *word)
{
	int rc = uptest_sh(t,
	                   "\"$PLEXUS\" trace show \"$T/%s\" --format plantuml >\"$T/puml\" && "
	                   "plantuml -tsvg -failfast2 -pipe <\"$T/puml\" >\"$T/puml.svg\" "
	                   "2>\"$T/puml.err\"; s=$?; cat \"$T/puml.err\"; exit $s",
	                   saved);
	if (rc != 0)
		fail_msg("plantuml on %s's text: status %d\n%s", saved, rc, t->text);
	const char *svg = s_cat(t, "puml.svg");
	if (!strstr(svg, "<svg") || !strstr(svg, word) || strstr(svg, "Syntax Error"))
		fail_msg("plantuml's drawing of %s has no %s:\n%.2000s", saved, word, svg);
}

static void s_up(uptest *t)
{
	if (uptest_sh(t, "\"$PLEXUS\" up --state-dir \"$STATE\" --port auto --nodes 4 --no-tour") !=
	    0)
		fail_msg("plexus up --nodes 4:\n%s", t->text);
	assert_true(uptest_output(t, "Plexus is up: 4 nodes"));
}

/* cat of a file written by an earlier boot, across the client (this host), VFS (n1), mfs-data
 * and vdisk (n2), the trace read from the four node kernels. */
static void s_cat_file(uptest *t)
{
	s_up(t);
	assert_int_equal(
	    uptest_sh(t, S_ENV "\"$PLEXUS\" sh -c 'echo hello plexus > /data/file; sync' 2>&1"), 0);
	assert_int_equal(uptest_sh(t, "\"$PLEXUS\" down --state-dir \"$STATE\""), 0);
	s_up(t);
	int rc = uptest_sh(t, S_ENV "\"$PLEXUS\" trace --nodes --hide IPC_PING,RS_EVENT -o "
	                            "\"$T/cat.html\" --save \"$T/cat.trace\" -- \"$PLEXUS\" sh -c "
	                            "'cat /data/file' 2>&1");
	if (rc != 0 || !uptest_output(t, "hello plexus"))
		fail_msg("plexus trace -- plexus sh -c 'cat /data/file': status %d\n%s", rc,
		         t->text);
	print_message("%s", t->text);
	assert_true(uptest_output(t, "trace lines from 4 nodes\n"));

	char *dom = s_dom(t, "cat.html");
	for (const char *const *l = (const char *const[]){"vfs", "mfs-data", "vdisk", NULL}; *l;
	     l++)
		s_lifeline(dom, *l);
	s_find(dom, "class=\"lifeline\" data-label=\"c-", NULL); /* the shell, a VFS client */
	/* open: VFS looks the name up in mfs-data, which reads the directory from the disk */
	const char *open = s_find(dom, "class=\"msg request\" data-type=\"VFS_OPEN\"", NULL);
	const char *lookup = s_find(dom, "class=\"msg request\" data-type=\"FS_LOOKUP\"", open);
	const char *bread = s_find(dom, "class=\"msg request\" data-type=\"BDEV_READ\"", lookup);
	s_find(dom, "class=\"msg reply\" data-type=\"BDEV_READ\"", bread);
	s_find(dom, "class=\"msg reply\" data-type=\"FS_LOOKUP\"", bread);
	const char *done = s_find(dom, "class=\"msg reply\" data-type=\"VFS_OPEN\"", bread);
	const char *read = s_find(dom, "class=\"msg request\" data-type=\"VFS_READ\"", done);
	s_find(dom, "class=\"msg request\" data-type=\"FS_READ\"", read);
	s_find(dom, "class=\"msg reply\" data-type=\"VFS_READ\"", read);
	assert_null(strstr(dom, " error\""));
	assert_null(strstr(dom, "class=\"restart\""));
	print_message("cat /data/file: %d rows, each with its time\n", s_times_in_order(dom));
	free(dom);

	/* the saved trace as slides' text: PlantUML and Mermaid */
	assert_int_equal(uptest_sh(t, "\"$PLEXUS\" trace show \"$T/cat.trace\" --format plantuml"),
	                 0);
	print_message("plexus trace show --format plantuml:\n%s", t->text);
	assert_int_equal(strncmp(t->text, "@startuml\n", 10), 0);
	assert_true(uptest_output(t, "participant \"vfs\" as p"));
	assert_true(uptest_output(t, ": BDEV_READ\n"));
	assert_true(uptest_output(t, "\n@enduml\n"));
	s_plantuml_draws(t, "cat.trace", "BDEV_READ");
	assert_int_equal(uptest_sh(t, "\"$PLEXUS\" trace show \"$T/cat.trace\" --format mermaid"),
	                 0);
	assert_int_equal(strncmp(t->text, "sequenceDiagram\n", 16), 0);
	assert_true(uptest_output(t, ": FS_LOOKUP\n"));
}

/* vdisk SIGKILLed, then a write and a sync: the node kernel tells RS (NODE_EXIT), RS starts
 * the next generation through it (NODE_START), MFS writes to the new driver. */
static void s_driver_crash(uptest *t)
{
	long gen = 0, pid = uptest_service_pid(t, "vdisk", &gen);
	assert_true(pid > 0);
	int rc =
	    uptest_sh(t,
	              "date +%%s%%6N >\"$T/since\"; " S_ENV
	              "\"$PLEXUS\" trace --nodes --hide IPC_PING,RS_EVENT -o "
	              "\"$T/crash.html\" --save \"$T/crash.trace\" -- sh -c 'kill -9 "
	              "%ld; sleep 2; \"$PLEXUS\" sh -c \"echo more >> /data/file; "
	              "sync; cat /data/file\"' 2>&1; s=$?; date +%%s%%6N >\"$T/until\"; exit $s",
	              pid);
	if (rc != 0 || !uptest_output(t, "more"))
		fail_msg("plexus trace -- (vdisk killed, write, sync): status %d\n%s", rc, t->text);
	print_message("%s", t->text);
	long now = 0;
	assert_true(uptest_service_pid(t, "vdisk", &now) > 0);
	assert_true(now > gen);

	char *dom = s_dom(t, "crash.html");
	for (const char *const *l =
	         (const char *const[]){"rs", "node.n2", "vfs", "mfs-data", "vdisk", NULL};
	     *l; l++)
		s_lifeline(dom, *l);
	const char *exit = s_find(dom, "class=\"msg request\" data-type=\"NODE_EXIT\"", NULL);
	s_find(dom, "data-from=\"node.n2\"", exit);
	const char *start = s_find(dom, "class=\"msg request\" data-type=\"NODE_START\"", exit);
	s_find(dom, "class=\"msg reply\" data-type=\"NODE_START\"", start);
	char mark[96];
	snprintf(mark, sizeof mark, "class=\"restart\" data-label=\"vdisk\" data-gen=\"%ld\"", now);
	const char *restart = s_find(dom, mark, start);
	/* the killed generation's end: it sent nothing in the window, so at the top */
	snprintf(mark, sizeof mark, "class=\"end\" data-label=\"vdisk\" data-gen=\"%ld\"", gen);
	assert_true(s_find(dom, mark, NULL) < exit);
	const char *sync = s_find(dom, "class=\"msg request\" data-type=\"VFS_SYNC\"", NULL);
	s_find(dom, "class=\"msg request\" data-type=\"BDEV_WRITE\"",
	       restart > sync ? restart : sync);
	s_find(dom, "class=\"msg reply\" data-type=\"VFS_SYNC\"", restart);
	print_message("the crash: %d rows, each with its time\n", s_times_in_order(dom));
	free(dom);

	assert_int_equal(
	    uptest_sh(t, "\"$PLEXUS\" trace show \"$T/crash.trace\" --format plantuml"), 0);
	print_message("plexus trace show --format plantuml (the crash):\n%s", t->text);
	assert_true(uptest_output(t, ": NODE_EXIT\n"));
	assert_true(uptest_output(t, "hnote over "));
	assert_true(uptest_output(t, ": restart vdisk/"));
	assert_true(uptest_output(t, ": end vdisk/"));
	s_plantuml_draws(t, "crash.trace", "NODE_START");

	/* the same from a time window instead of a command: the node kernels' lines between two
	 * times of this host (microseconds since 1970) */
	rc = uptest_sh(t, S_ENV "\"$PLEXUS\" trace --nodes --since $(cat \"$T/since\") --until "
	                        "$(cat \"$T/until\") --hide IPC_PING,RS_EVENT --format mermaid "
	                        "2>&1");
	if (rc != 0)
		fail_msg("plexus trace --nodes --since --until: status %d\n%s", rc, t->text);
	assert_true(uptest_output(t, "trace lines from 4 nodes\n"));
	assert_true(uptest_output(t, ": NODE_EXIT\n"));
	assert_true(uptest_output(t, ": NODE_START\n"));
	assert_true(uptest_output(t, ": BDEV_WRITE\n"));
	assert_true(uptest_output(t, ": VFS_SYNC\n"));
	snprintf(mark, sizeof mark, ": restart vdisk/%ld\n", now);
	assert_true(uptest_output(t, mark));
}

/* With the system down, `plexus trace show` of the saved trace draws the same page, byte for
 * byte, as the traced run did (a class sees the same run), and the page and the standalone
 * SVG are self-contained: no script, nothing a browser would fetch. */
static void s_replay(uptest *t, const char *name)
{
	int rc = uptest_sh(t,
	                   "\"$PLEXUS\" trace show \"$T/%s.trace\" -o \"$T/%s-replay.html\" && "
	                   "cmp \"$T/%s.html\" \"$T/%s-replay.html\" && \"$PLEXUS\" trace show "
	                   "\"$T/%s.trace\" --format svg -o \"$T/%s.svg\" 2>&1",
	                   name, name, name, name, name, name);
	if (rc != 0)
		fail_msg("the replay of %s: status %d\n%s", name, rc, t->text);
	static const char *const fetches[] = {"<script",     " src=",    "<link", "@import",
	                                      "href=\"http", "url(http", NULL};
	char page[32];
	for (int k = 0; k < 2; k++) {
		snprintf(page, sizeof page, k ? "%s.svg" : "%s.html", name);
		const char *text = s_cat(t, page);
		for (const char *const *f = fetches; *f; f++)
			if (strstr(text, *f))
				fail_msg("%s is not self-contained: it has %s", page, *f);
	}
	char *dom = s_dom(t, page); /* the standalone SVG as a browser shows it */
	s_lifeline(dom, "vdisk");
	free(dom);
}

static void test_cat_and_crash_across_four_nodes(void **state)
{
	uptest *t = *state;
	if (geteuid() != 0)
		fail_msg("test-trace-nodes needs root (network namespaces)");
	s_cat_file(t);
	s_driver_crash(t);
	assert_int_equal(uptest_sh(t, "\"$PLEXUS\" down --state-dir \"$STATE\""), 0);
	s_replay(t, "cat");
	s_replay(t, "crash");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_cat_and_crash_across_four_nodes, uptest_setup,
	                                    uptest_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
