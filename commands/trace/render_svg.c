/*
 * render_svg.c — the sequence diagram as SVG, alone or inside a self-contained HTML page.
 *
 * Entry points: tr_render_svg, tr_render_html.
 *
 * One lifeline per label (its generations merged), one row per message in time order on the
 * reference clock, the time since the first message on the left. Requests are solid arrows,
 * replies dashed, errors (status < 0) red with the errno's name, messages to a dead generation
 * red and crossed, restarts an orange mark on the lifeline with the new generation, the end of
 * the generation a restart replaced a red cross after its last message. Elements carry
 * classes and data- attributes (lifeline, msg, request, reply, error, dead, restart, end) and
 * a <title> with the whole message, so a page needs no script to be read or checked. The clock
 * domains and their offsets are written below the diagram (SVG) or in a table (HTML).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

#define S_LEFT   120 /* the time axis */
#define S_COL    170 /* between lifelines */
#define S_TOP    60  /* below the heads */
#define S_ROW    30
#define S_BOTTOM 20

/* s with &, <, >, " escaped. */
static void s_xml(FILE *out, const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		default:
			fputc(*s, out);
		}
}

static const char *s_shown(const char *label)
{
	return label[0] ? label : "(none)";
}

static int s_x(const char **labels, int n, const char *label)
{
	int i = 0;
	while (i < n - 1 && strcmp(labels[i], label) != 0)
		i++;
	return S_LEFT + S_COL / 2 + i * S_COL;
}

static void s_heads(FILE *out, const char **labels, int n, int height)
{
	for (int i = 0; i < n; i++) {
		int x = S_LEFT + S_COL / 2 + i * S_COL;
		fprintf(out, "<g class=\"lifeline\" data-label=\"");
		s_xml(out, labels[i]);
		fprintf(out,
		        "\"><rect x=\"%d\" y=\"10\" width=\"%d\" height=\"28\" rx=\"4\" "
		        "fill=\"#eef\" stroke=\"#447\"/><text x=\"%d\" y=\"29\" "
		        "text-anchor=\"middle\">",
		        x - S_COL / 2 + 8, S_COL - 16, x);
		s_xml(out, s_shown(labels[i]));
		fprintf(out,
		        "</text><line x1=\"%d\" y1=\"38\" x2=\"%d\" y2=\"%d\" stroke=\"#99a\" "
		        "stroke-dasharray=\"2,3\"/></g>\n",
		        x, x, height - S_BOTTOM);
	}
}

static void s_restart(FILE *out, const tr_note *n, int x, int y)
{
	fprintf(out, "<g class=\"restart\" data-label=\"");
	s_xml(out, n->label);
	fprintf(out,
	        "\" data-gen=\"%" PRIu64 "\"><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"20\" "
	        "rx=\"3\" fill=\"#fd8\" stroke=\"#c60\"/><text x=\"%d\" y=\"%d\" "
	        "text-anchor=\"middle\" font-size=\"12\">restart: ",
	        n->gen, x - S_COL / 2 + 14, y - 14, S_COL - 28, x, y);
	s_xml(out, n->label);
	fprintf(out, "/%" PRIu64 "</text></g>\n", n->gen);
}

/* The end of a generation: a red cross on the lifeline and "end: LABEL/GEN". */
static void s_end(FILE *out, const tr_note *n, int x, int y)
{
	fprintf(out, "<g class=\"end\" data-label=\"");
	s_xml(out, n->label);
	fprintf(out,
	        "\" data-gen=\"%" PRIu64 "\"><path d=\"M%d %d l12 12 m0 -12 l-12 12\" "
	        "stroke=\"#c00\" stroke-width=\"3\"/><text x=\"%d\" y=\"%d\" font-size=\"12\" "
	        "fill=\"#c00\">end: ",
	        n->gen, x - 6, y - 10, x + 12, y);
	s_xml(out, n->label);
	fprintf(out, "/%" PRIu64 "</text></g>\n", n->gen);
}

/* What the arrow says: the type, and for a reply its outcome. */
static void s_caption(char *buf, size_t size, const tr_event *e, const tr_msg *m)
{
	if (m->dead)
		snprintf(buf, size, "%s (to dead %s/%" PRIu64 ")", e->type, e->dst, e->dst_gen);
	else if (e->status < 0)
		snprintf(buf, size, "%s %s", e->type, tr_errno_name(e->status));
	else if (e->kind == TR_REPLY)
		snprintf(buf, size, "%s ok", e->type);
	else if (e->kind == TR_NOTIFY)
		snprintf(buf, size, "%s (notify)", e->type);
	else
		snprintf(buf, size, "%s", e->type);
}

static const char *s_kind(tr_kind k)
{
	return k == TR_REQUEST ? "request" : k == TR_REPLY ? "reply" : "notify";
}

static void s_title(FILE *out, const tr_trace *t, const tr_msg *m, const tr_event *e)
{
	fprintf(out, "<title>%s %s(%" PRIu32 ") ", s_kind(e->kind), e->type, e->type_num);
	s_xml(out, e->src);
	fprintf(out, "/%" PRIu64 " -&gt; ", e->src_gen);
	s_xml(out, e->dst);
	fprintf(out, "/%" PRIu64 " id=%" PRIu64 " size=%" PRIu64 " status=%" PRId32, e->dst_gen,
	        e->id, e->size, e->status);
	if (m->recv >= 0 && t->events[m->recv].latency_us)
		fprintf(out, " latency=%" PRIu64 "us", t->events[m->recv].latency_us);
	fprintf(out, "%s%s</title>", m->send < 0 ? " (receive only)" : "",
	        m->recv < 0 ? " (never received)" : "");
}

static void s_arrow(FILE *out, const tr_trace *t, const tr_msg *m, int x1, int x2, int y)
{
	const tr_event *e = tr_msg_event(t, m);
	bool bad = e->status < 0 || m->dead;
	const char *color = bad ? "#c00" : "#000";
	char caption[160];
	s_caption(caption, sizeof caption, e, m);
	fprintf(out, "<g class=\"msg %s%s%s\" data-type=\"", s_kind(e->kind), bad ? " error" : "",
	        m->dead ? " dead" : "");
	s_xml(out, e->type);
	fprintf(out, "\" data-id=\"%" PRIu64 "\" data-from=\"", e->id);
	s_xml(out, e->src);
	fprintf(out, "\" data-to=\"");
	s_xml(out, e->dst);
	fprintf(out, "\" data-status=\"%" PRId32 "\">", e->status);
	s_title(out, t, m, e);
	const char *dash = e->kind == TR_REPLY ? " stroke-dasharray=\"6,4\"" : "";
	if (x1 == x2)
		fprintf(out,
		        "<path d=\"M%d %d h40 v10 h-40\" fill=\"none\" stroke=\"%s\"%s "
		        "marker-end=\"url(#%s)\"/>",
		        x1, y - 5, color, dash, bad ? "headr" : "head");
	else
		fprintf(out,
		        "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\"%s "
		        "marker-end=\"url(#%s)\"/>",
		        x1, y, x2 + (x2 > x1 ? -2 : 2), y, color, dash, bad ? "headr" : "head");
	if (m->dead)
		fprintf(out,
		        "<path d=\"M%d %d l8 8 m0 -8 l-8 8\" stroke=\"#c00\" stroke-width=\"2\"/>",
		        x2 - 4, y - 4);
	fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"12\" fill=\"%s\">",
	        x1 == x2 ? x1 + 44 : (x1 + x2) / 2, y - 5, color);
	s_xml(out, caption);
	fprintf(out, "</text></g>\n");
}

static void s_time(FILE *out, int64_t since_us, int y)
{
	fprintf(out,
	        "<text class=\"time\" x=\"%d\" y=\"%d\" text-anchor=\"end\" font-size=\"11\" "
	        "fill=\"#555\">+%" PRId64 ".%03" PRId64 " ms</text>\n",
	        S_LEFT - 10, y + 4, since_us / 1000, since_us % 1000);
}

/* Rows: each note and each message takes one. */
static size_t s_rows(const tr_trace *t)
{
	return t->nmsgs + t->nnotes + t->nends;
}

static void s_body(const tr_trace *t, FILE *out, const char **labels, int n)
{
	size_t note = 0, end = 0;
	int y = S_TOP + S_ROW;
	int64_t start = t->nmsgs ? t->msgs[0].at : 0;
	for (size_t i = 0; i <= t->nmsgs; i++) {
		for (; end < t->nends && t->ends[end].before == i; end++, y += S_ROW)
			s_end(out, &t->ends[end], s_x(labels, n, t->ends[end].label), y);
		for (; note < t->nnotes && t->notes[note].before == i; note++, y += S_ROW)
			s_restart(out, &t->notes[note], s_x(labels, n, t->notes[note].label), y);
		if (i == t->nmsgs)
			break;
		const tr_msg *m = &t->msgs[i];
		const tr_event *e = tr_msg_event(t, m);
		s_time(out, m->at - start, y);
		s_arrow(out, t, m, s_x(labels, n, e->src), s_x(labels, n, e->dst), y);
		y += S_ROW;
	}
}

/* The clock domains under the diagram (a standalone SVG has no table beside it). */
static void s_clock_lines(const tr_trace *t, FILE *out, int y)
{
	for (size_t d = 0; d < t->ndomains; d++, y += 16) {
		const tr_domain *dom = &t->domains[d];
		fprintf(
		    out,
		    "<text class=\"clock\" x=\"10\" y=\"%d\" font-size=\"11\" fill=\"#555\">clock ",
		    y);
		s_xml(out, dom->name);
		fprintf(out, ": offset %" PRId64 " &#181;s", dom->offset);
		if (!dom->aligned)
			fprintf(out, " (not linked to the others)");
		else if (dom->uncertainty < 0)
			fprintf(out, " (bounded one way only)");
		else
			fprintf(out, " &#177; %" PRId64 " &#181;s", dom->uncertainty);
		fprintf(out, "</text>\n");
	}
}

static int s_svg(const tr_trace *t, FILE *out, bool clocks)
{
	const char **labels;
	int n = tr_lifelines(t, &labels);
	if (n < 0)
		return n;
	int width = S_LEFT + (n ? n : 1) * S_COL + 60;
	int diagram = S_TOP + (int)(s_rows(t) + 1) * S_ROW + S_BOTTOM;
	int height = diagram + (clocks ? (int)t->ndomains * 16 + 10 : 0);
	fprintf(out,
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plexus-trace\" width=\"%d\" "
	        "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"13\">\n"
	        "<defs><marker id=\"head\" markerWidth=\"10\" markerHeight=\"8\" refX=\"9\" "
	        "refY=\"4\" orient=\"auto\"><path d=\"M0 0 L10 4 L0 8 z\" fill=\"#000\"/></marker>"
	        "<marker id=\"headr\" markerWidth=\"10\" markerHeight=\"8\" refX=\"9\" refY=\"4\" "
	        "orient=\"auto\"><path d=\"M0 0 L10 4 L0 8 z\" fill=\"#c00\"/></marker></defs>\n"
	        "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n"
	        "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" font-size=\"11\" fill=\"#555\">time"
	        "</text>\n",
	        width, height, width, height, S_LEFT - 10, 29);
	s_heads(out, labels, n, diagram);
	s_body(t, out, labels, n);
	if (clocks)
		s_clock_lines(t, out, diagram + 10);
	fprintf(out, "</svg>\n");
	free(labels);
	return ferror(out) ? -EIO : 0;
}

int tr_render_svg(const tr_trace *self, FILE *out)
{
	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	return s_svg(self, out, true);
}

static void s_domains(const tr_trace *t, FILE *out)
{
	fprintf(out, "<table class=\"domains\"><tr><th>clock domain</th><th>offset (&micro;s)"
	             "</th><th>uncertainty (&plusmn;&micro;s)</th></tr>\n");
	for (size_t d = 0; d < t->ndomains; d++) {
		const tr_domain *dom = &t->domains[d];
		fprintf(out, "<tr><td>");
		s_xml(out, dom->name);
		fprintf(out, "</td><td>%" PRId64 "</td><td>", dom->offset);
		if (!dom->aligned)
			fprintf(out, "not linked to the reference");
		else if (dom->uncertainty < 0)
			fprintf(out, "unbounded (messages one way only)");
		else if (dom->offset == 0 && dom->uncertainty == 0)
			fprintf(out, "0 (reference)");
		else
			fprintf(out, "%" PRId64, dom->uncertainty);
		fprintf(out, "</td></tr>\n");
	}
	fprintf(out, "</table>\n");
}

int tr_render_html(const tr_trace *self, FILE *out)
{
	fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	             "<title>Plexus message trace</title>\n<style>body{font-family:sans-serif;"
	             "margin:1em}table{border-collapse:collapse;margin-top:1em}td,th{border:1px "
	             "solid #ccc;padding:2px 8px;text-align:left}</style></head>\n<body>\n"
	             "<h1>Plexus message trace</h1>\n");
	fprintf(out,
	        "<p class=\"summary\">Messages: %zu. Restarts: %zu. Trace lines skipped: %zu "
	        "unreadable, %zu without a time (t=).</p>\n",
	        self->nmsgs, self->nnotes, self->skipped, self->untimed);
	int rc = s_svg(self, out, false); /* the clocks: a table below */
	s_domains(self, out);
	fprintf(out, "</body></html>\n");
	return rc < 0 ? rc : ferror(out) ? -EIO : 0;
}
