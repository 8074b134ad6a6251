/*
 * test-trace-model.c — plexus trace's model: the parser (good, bad and old lines), the clock
 * alignment (synthetic traces with known skews), the save format's round trip and the
 * renderers.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "trace.h"

static void test_parse_a_service_line(void **unused)
{
	(void)unused;
	tr_event ev;
	assert_int_equal(tr_parse_line("plexus-vfs vfs/1 trace: < reply   FS_LOOKUP(1794) "
	                               "mfs-root/1 -> vfs/1 id=40 size=32 status=-2 latency=469us "
	                               "t=1796616137933123\n",
	                               &ev),
	                 1);
	assert_int_equal(ev.dir, '<');
	assert_int_equal(ev.kind, TR_REPLY);
	assert_string_equal(ev.type, "FS_LOOKUP");
	assert_int_equal(ev.type_num, 1794);
	assert_string_equal(ev.src, "mfs-root");
	assert_int_equal(ev.src_gen, 1);
	assert_string_equal(ev.dst, "vfs");
	assert_int_equal(ev.id, 40);
	assert_int_equal(ev.size, 32);
	assert_int_equal(ev.status, -2);
	assert_int_equal(ev.latency_us, 469);
	assert_int_equal(ev.t, 1796616137933123LL);
}

static void test_parse_a_program_line_and_no_sender(void **unused)
{
	(void)unused;
	tr_event ev;
	assert_int_equal(tr_parse_line("plexus trace: > request ?(9999) /0 -> vfs/1 id=2 size=55 "
	                               "status=0 latency=0us t=5",
	                               &ev),
	                 1);
	assert_string_equal(ev.type, "?");
	assert_int_equal(ev.type_num, 9999);
	assert_string_equal(ev.src, "");
	assert_int_equal(ev.t, 5);
}

static void test_parse_refuses_bad_lines(void **unused)
{
	(void)unused;
	tr_event ev;
	/* not trace lines at all */
	assert_int_equal(tr_parse_line("plexus-vfs vfs/1: serving at tcp://x", &ev), 0);
	assert_int_equal(tr_parse_line("garbage", &ev), 0);
	assert_int_equal(tr_parse_line("", &ev), 0);
	/* an old line without t= */
	assert_int_equal(tr_parse_line("p trace: > request A(1) a/1 -> b/1 id=1 size=1 status=0 "
	                               "latency=0us",
	                               &ev),
	                 -ENODATA);
	/* truncated, or with fields that do not read */
	static const char *const bad[] = {
	    "p trace: > request A(1) a/1 -> b/1 id=1 size=1 sta",
	    "p trace: > request A(1) a/1 -> b/1 id=x size=1 status=0 latency=0us t=1",
	    "p trace: > request A(1 a/1 -> b/1 id=1 size=1 status=0 latency=0us t=1",
	    "p trace: > frob A(1) a/1 -> b/1 id=1 size=1 status=0 latency=0us t=1",
	    "p trace: > request A(1) a1 -> b/1 id=1 size=1 status=0 latency=0us t=1",
	    "p trace: > request A(1) a/1 => b/1 id=1 size=1 status=0 latency=0us t=1",
	    "p trace: > request A(1) a/1 -> b/1 id=1 size=1 status=0 latency=0 t=1",
	    "p trace: > request A(1) a/1 -> b/1 id=1 size=1 status=0 latency=0us t=-1",
	    "p trace: > request A(99999999999) a/1 -> b/1 id=1 size=1 status=0 latency=0us t=1",
	    "p trace: > request A(1) a/1 -> b/1 id=1 size=1 status=9999999999 latency=0us t=1",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(tr_parse_line(bad[i], &ev), -EINVAL);
}

static void test_bad_input_is_counted_not_fatal(void **unused)
{
	(void)unused;
	char big[9000];
	memset(big, 'x', sizeof big - 2);
	big[sizeof big - 2] = '\n';
	big[sizeof big - 1] = '\0';
	char text[12000];
	snprintf(text, sizeof text,
	         "hello\n%s"
	         "p trace: > request A(1) a/1 -> b/1 id=1 size=1 status=0 latency=0us t=1\n"
	         "p trace: > request A(1) a/1 -> b/1 id=1 size=1 status=0 latency=0us\n"
	         "p trace: > request A(1) a/1 -> b/1 id=1 si\n"
	         "\x01\x02\xff trace: < \n"
	         "p trace: > request A(1) a/1 -> b/1 id=2 size=1 status=0 latency=0us t=2",
	         big);
	FILE *in = fmemopen(text, strlen(text), "r");
	tr_trace *t = tr_trace_new();
	int d = tr_domain_add(t, "x");
	assert_int_equal(tr_parse_stream(t, in, d), 0);
	fclose(in);
	assert_int_equal(t->nevents, 2);
	assert_int_equal(t->untimed, 1);
	assert_int_equal(t->skipped, 2);
	assert_int_equal(tr_pair(t), 0);
	assert_int_equal(tr_align(t), 0);
	assert_int_equal(t->nmsgs, 2);
	tr_trace_destroy(&t);
	assert_null(t);
}

/* ---- synthetic traces: three nodes whose clocks are off by known amounts ---- */

typedef struct s_gen {
	FILE *node[3];
	char *text[3];
	size_t size[3];
	int64_t skew[3]; /* node clock = true time + skew */
	uint64_t id;
} s_gen;

static const char *const s_names[3] = {"client", "vfs", "mfs"};

static void s_line(s_gen *g, int node, char dir, const char *kind, const char *type, int src,
                   int dst, uint64_t id, int status, int64_t true_us)
{
	fprintf(g->node[node],
	        "prog trace: %c %-7s %s(7) %s/1 -> %s/1 id=%llu size=10 status=%d latency=0us "
	        "t=%lld\n",
	        dir, kind, type, s_names[src], s_names[dst], (unsigned long long)id, status,
	        (long long)(true_us + g->skew[node]));
}

/* One round trip src -> dst at true time *now, delays d1 out and d2 back. */
static void s_call(s_gen *g, int src, int dst, const char *type, int status, int64_t *now,
                   int64_t d1, int64_t d2)
{
	uint64_t id = ++g->id;
	s_line(g, src, '>', "request", type, src, dst, id, 0, *now);
	s_line(g, dst, '<', "request", type, src, dst, id, 0, *now + d1);
	s_line(g, dst, '>', "reply", type, dst, src, id, status, *now + d1 + 20);
	s_line(g, src, '<', "reply", type, dst, src, id, status, *now + d1 + 20 + d2);
	*now += d1 + d2 + 100;
}

static tr_trace *s_synthetic(const int64_t skew[3])
{
	s_gen g = {.id = 0};
	for (int i = 0; i < 3; i++) {
		g.node[i] = open_memstream(&g.text[i], &g.size[i]);
		g.skew[i] = skew[i];
	}
	int64_t now = 1000000000;
	for (int k = 0; k < 20; k++) {
		s_call(&g, 0, 1, "VFS_OPEN", 0, &now, 150 + k * 7 % 50, 120 + k * 13 % 70);
		s_call(&g, 1, 2, "FS_LOOKUP", k == 3 ? -2 : 0, &now, 90 + k * 11 % 40, 100);
	}
	tr_trace *t = tr_trace_new();
	for (int i = 0; i < 3; i++) {
		fclose(g.node[i]);
		FILE *in = fmemopen(g.text[i], g.size[i], "r");
		int d = tr_domain_add(t, s_names[i]);
		assert_int_equal(tr_parse_stream(t, in, d), 0);
		fclose(in);
		free(g.text[i]);
	}
	assert_int_equal(tr_pair(t), 0);
	assert_int_equal(tr_align(t), 0);
	return t;
}

static void test_alignment_finds_the_skews(void **unused)
{
	(void)unused;
	const int64_t skew[3] = {-2500000, 40000, 777777};
	tr_trace *t = s_synthetic(skew);
	assert_int_equal(t->nmsgs, 80);
	/* vfs has the most lines: the reference */
	assert_int_equal(t->domains[1].offset, 0);
	assert_int_equal(t->domains[1].uncertainty, 0);
	for (int d = 0; d < 3; d++) {
		int64_t truth = skew[d] - skew[1], err = t->domains[d].offset - truth;
		assert_true(t->domains[d].aligned);
		assert_true(t->domains[d].uncertainty >= 0);
		assert_true(t->domains[d].uncertainty < 200);
		assert_true(err <= t->domains[d].uncertainty && -err <= t->domains[d].uncertainty);
	}
	/* causality on the reference clock: every receive after its send */
	for (size_t i = 0; i < t->nmsgs; i++) {
		const tr_msg *m = &t->msgs[i];
		assert_true(m->send >= 0 && m->recv >= 0);
		assert_true(t->events[m->recv].at >= t->events[m->send].at);
		if (i)
			assert_true(m->at >= t->msgs[i - 1].at);
	}
	/* replies know their requests */
	assert_int_equal(tr_msg_event(t, &t->msgs[0])->kind, TR_REQUEST);
	assert_int_equal(t->msgs[3].reply_to, 2);
	tr_trace_destroy(&t);
}

static void test_a_domain_without_messages_is_not_linked(void **unused)
{
	(void)unused;
	const int64_t skew[3] = {0, 0, 0};
	tr_trace *t = s_synthetic(skew);
	int d = tr_domain_add(t, "lonely");
	assert_int_equal(d, 3);
	assert_int_equal(tr_align(t), 0);
	assert_false(t->domains[3].aligned);
	assert_true(t->domains[0].aligned);
	tr_trace_destroy(&t);
}

/* noinline: GCC 12 takes the text for a pointer to the local open_memstream fills */
__attribute__((noinline)) static char *s_render(const tr_trace *t,
                                                int (*fn)(const tr_trace *, FILE *))
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	assert_int_equal(fn(t, out), 0);
	fclose(out);
	return text;
}

/* Where needle first is in text, or -1. */
static long s_at(const char *text, const char *needle)
{
	const char *p = strstr(text, needle);
	return p ? (long)(p - text) : -1;
}

static void test_save_and_load_draw_the_same(void **unused)
{
	(void)unused;
	const int64_t skew[3] = {123456, -654321, 0};
	tr_trace *t = s_synthetic(skew);
	char *saved = s_render(t, tr_save);
	FILE *in = fmemopen(saved, strlen(saved), "r");
	tr_trace *back = NULL;
	assert_int_equal(tr_load(in, &back), 0);
	fclose(in);
	char *again = s_render(back, tr_save);
	assert_string_equal(saved, again);
	int (*renderers[])(const tr_trace *, FILE *) = {tr_render_html, tr_render_svg,
	                                                tr_render_mermaid, tr_render_plantuml};
	tr_trace *back2 = NULL;
	in = fmemopen(again, strlen(again), "r");
	assert_int_equal(tr_load(in, &back2), 0);
	fclose(in);
	for (size_t i = 0; i < sizeof renderers / sizeof *renderers; i++) {
		char *a = s_render(back, renderers[i]), *b = s_render(back2, renderers[i]);
		assert_string_equal(a, b);
		free(a);
		free(b);
	}
	/* not a saved trace, another version */
	tr_trace *none = (tr_trace *)0x1;
	in = fmemopen("plexus-trace 2\ncounts 0 0\n", 26, "r");
	assert_int_equal(tr_load(in, &none), -EINVAL);
	assert_ptr_equal(none, (tr_trace *)0x1);
	fclose(in);
	free(saved);
	free(again);
	tr_trace_destroy(&back);
	tr_trace_destroy(&back2);
	tr_trace_destroy(&t);
}

static void test_diagrams_show_errors_replies_and_restarts(void **unused)
{
	(void)unused;
	static const char lines[] =
	    "a trace: > request BDEV_READ(1) mfs/1 -> vdisk/1 id=1 size=1 status=0 latency=0us "
	    "t=100\n"
	    "a trace: < request BDEV_READ(1) mfs/1 -> vdisk/1 id=1 size=1 status=0 latency=0us "
	    "t=110\n"
	    "a trace: > reply   BDEV_READ(1) vdisk/1 -> mfs/1 id=1 size=1 status=0 latency=0us "
	    "t=120\n"
	    "a trace: < reply   BDEV_READ(1) vdisk/1 -> mfs/1 id=1 size=1 status=0 latency=20us "
	    "t=130\n"
	    "a trace: > request BDEV_READ(1) mfs/1 -> vdisk/1 id=2 size=1 status=0 latency=0us "
	    "t=200\n"
	    "a trace: < reply   BDEV_READ(1) vdisk/1 -> mfs/1 id=2 size=1 status=-1001 latency=0us "
	    "t=300\n"
	    "a trace: > request BDEV_READ(1) mfs/1 -> vdisk/2 id=3 size=1 status=0 latency=0us "
	    "t=400\n"
	    "a trace: < request BDEV_READ(1) mfs/1 -> vdisk/2 id=3 size=1 status=0 latency=0us "
	    "t=410\n";
	FILE *in = fmemopen((void *)lines, sizeof lines - 1, "r");
	tr_trace *t = tr_trace_new();
	assert_int_equal(tr_parse_stream(t, in, tr_domain_add(t, "one")), 0);
	fclose(in);
	assert_int_equal(tr_pair(t), 0);
	assert_int_equal(tr_align(t), 0);
	assert_int_equal(t->nmsgs, 5);
	assert_true(t->msgs[2].dead); /* id=2 to vdisk/1, never received, vdisk/2 came */
	assert_int_equal(t->nnotes, 1);
	assert_string_equal(t->notes[0].label, "vdisk");
	assert_int_equal(t->notes[0].gen, 2);
	assert_int_equal(t->notes[0].before, 4);
	/* vdisk/1 ended after its last reply: the error "from" it was the transport's, sent by
	 * nobody */
	assert_int_equal(t->nends, 1);
	assert_string_equal(t->ends[0].label, "vdisk");
	assert_int_equal(t->ends[0].gen, 1);
	assert_int_equal(t->ends[0].before, 2);
	char *html = s_render(t, tr_render_html);
	long end = s_at(html, "<g class=\"end\" data-label=\"vdisk\" data-gen=\"1\">");
	long dead = s_at(html, "data-type=\"BDEV_READ\" data-id=\"2\"");
	long restart = s_at(html, "class=\"restart\"");
	assert_true(end >= 0 && end < dead && dead < restart);
	assert_non_null(strstr(html, "<g class=\"lifeline\" data-label=\"mfs\">"));
	assert_non_null(strstr(html, "<g class=\"lifeline\" data-label=\"vdisk\">"));
	assert_non_null(strstr(html, "class=\"restart\" data-label=\"vdisk\" data-gen=\"2\""));
	assert_non_null(strstr(html, "EDEADSRCDST"));
	assert_non_null(strstr(html, "stroke-dasharray=\"6,4\""));
	assert_null(strstr(html, "<script"));
	char *mermaid = s_render(t, tr_render_mermaid);
	assert_non_null(strstr(mermaid, "sequenceDiagram\n    participant p0 as mfs\n"
	                                "    participant p1 as vdisk\n"
	                                "    p0->>p1: BDEV_READ\n    p1-->>p0: BDEV_READ\n"));
	assert_non_null(strstr(mermaid, "p1--xp0: BDEV_READ EDEADSRCDST\n"));
	assert_non_null(strstr(mermaid, "    p1-->>p0: BDEV_READ\n    Note over p1: end vdisk/1\n"
	                                "    p0-xp1: BDEV_READ (to dead vdisk/1)\n"));
	assert_non_null(strstr(mermaid, "    Note over p1: restart vdisk/2\n"));
	char *uml = s_render(t, tr_render_plantuml);
	assert_non_null(strstr(uml, "@startuml\nparticipant \"mfs\" as p0\n"));
	assert_non_null(strstr(uml, "p0 -[#red]>x p1 : BDEV_READ (to dead vdisk/1)\n"));
	assert_non_null(strstr(uml, "p1 -[#red]-> p0 : BDEV_READ EDEADSRCDST\n"));
	assert_non_null(strstr(uml, "hnote over p1 #FFBBBB : end vdisk/1\n"));
	assert_non_null(strstr(uml, "hnote over p1 #FFDD88 : restart vdisk/2\n"));
	assert_non_null(strstr(uml, "@enduml\n"));
	free(uml);
	free(html);
	free(mermaid);
	tr_trace_destroy(&t);
}

/* A label first seen in the window with a newer generation than the endpoint table had when
 * the window opened restarted inside it (its old generation sent nothing meanwhile); the
 * generations known are saved and read back; --hide drops a type's requests and replies. */
static void test_known_generations_and_hidden_types(void **unused)
{
	(void)unused;
	static const char lines[] =
	    "a trace: > request IPC_PING(1) rs/1 -> vfs/1 id=1 size=1 status=0 latency=0us t=100\n"
	    "a trace: > reply   IPC_PING(1) vfs/1 -> rs/1 id=1 size=1 status=0 latency=0us t=110\n"
	    "a trace: > request BDEV_OPEN(2) mfs/1 -> vdisk/3 id=2 size=1 status=0 latency=0us "
	    "t=200\n"
	    "a trace: > reply   BDEV_OPEN(2) vdisk/3 -> mfs/1 id=2 size=1 status=0 latency=0us "
	    "t=210\n";
	FILE *in = fmemopen((void *)lines, sizeof lines - 1, "r");
	tr_trace *t = tr_trace_new();
	assert_int_equal(tr_known_add(t, "vdisk", 2), 0);
	assert_int_equal(tr_known_add(t, "mfs", 1), 0);
	assert_int_equal(tr_parse_stream(t, in, tr_domain_add(t, "one")), 0);
	fclose(in);
	assert_int_equal(tr_pair(t), 0);
	assert_int_equal(tr_align(t), 0);
	assert_int_equal(t->nnotes, 1);
	assert_string_equal(t->notes[0].label, "vdisk");
	assert_int_equal(t->notes[0].gen, 3);
	assert_int_equal(t->notes[0].before, 2); /* before the BDEV_OPEN, after the ping */
	assert_int_equal(t->nends, 1);           /* vdisk/2 ended unseen: at the top */
	assert_int_equal(t->ends[0].gen, 2);
	assert_int_equal(t->ends[0].before, 0);
	char *saved = s_render(t, tr_save);
	assert_non_null(strstr(saved, "known 2 vdisk\nknown 1 mfs\n"));
	in = fmemopen(saved, strlen(saved), "r");
	tr_trace *back = NULL;
	assert_int_equal(tr_load(in, &back), 0);
	fclose(in);
	assert_int_equal(back->nnotes, 1);
	assert_int_equal(tr_hide(back, "RS_EVENT,IPC_PING"), 0);
	assert_int_equal(back->nmsgs, 2);
	assert_string_equal(tr_msg_event(back, &back->msgs[0])->type, "BDEV_OPEN");
	assert_int_equal(back->nnotes, 1);
	assert_int_equal(back->notes[0].before, 0);
	assert_int_equal(tr_hide(back, "BDEV_OPE,IPC"), 0); /* whole names only */
	assert_int_equal(back->nmsgs, 2);
	free(saved);
	tr_trace_destroy(&back);
	tr_trace_destroy(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_a_service_line),
	    cmocka_unit_test(test_parse_a_program_line_and_no_sender),
	    cmocka_unit_test(test_parse_refuses_bad_lines),
	    cmocka_unit_test(test_bad_input_is_counted_not_fatal),
	    cmocka_unit_test(test_alignment_finds_the_skews),
	    cmocka_unit_test(test_a_domain_without_messages_is_not_linked),
	    cmocka_unit_test(test_save_and_load_draw_the_same),
	    cmocka_unit_test(test_diagrams_show_errors_replies_and_restarts),
	    cmocka_unit_test(test_known_generations_and_hidden_types),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
