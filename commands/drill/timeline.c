/*
 * timeline.c — a drill as a picture: one self-contained SVG file (drill.h, docs/drills.md
 * "The timeline").
 *
 * Entry points: drill_timeline_svg.
 *
 * One time axis for the whole drill. A lane per service the faults hit (two for a fault that
 * hits a pair at once): a red line where a fault was injected, an orange span until RS saw it
 * (detected), a yellow span while RS brought the service back, a green mark with the new generation
 * where it was up again. Below, the writers' lane: their calls answered (grey) and failed (red) per
 * DRILL_SLICE_MS, scaled to the busiest slice, and a blue mark at each fault's first client
 * success. Every mark has a <title>, so a browser shows the times on hover.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "drill.h"

#define S_W      1000
#define S_LEFT   120
#define S_RIGHT  20
#define S_TOP    70
#define S_LANE   44
#define S_CLIENT 90
#define S_LANES  16

typedef struct s_svg {
	FILE *f;
	int64_t span; /* ms the axis covers */
	char lanes[S_LANES][64];
	int nlanes;
} s_svg;

static double s_x(const s_svg *g, int64_t ms)
{
	if (ms < 0)
		ms = 0;
	return S_LEFT + (double)ms * (S_W - S_LEFT - S_RIGHT) / (double)g->span;
}

/* The lane of label (added when new). */
static int s_lane(s_svg *g, const char *label)
{
	for (int i = 0; i < g->nlanes; i++)
		if (strcmp(g->lanes[i], label) == 0)
			return i;
	if (g->nlanes == S_LANES)
		return S_LANES - 1;
	snprintf(g->lanes[g->nlanes], sizeof g->lanes[0], "%s", label);
	return g->nlanes++;
}

/* text with &, < and > escaped. */
static void s_text(FILE *f, const char *text)
{
	for (const char *c = text; *c; c++)
		fputs(*c == '&'   ? "&amp;"
		      : *c == '<' ? "&lt;"
		      : *c == '>' ? "&gt;"
		                  : (char[2]){*c, 0},
		      f);
}

static void s_span(s_svg *g, int lane, int64_t from, int64_t to, const char *fill,
                   const char *title)
{
	if (from < 0 || to < from)
		return;
	double y = S_TOP + lane * S_LANE + 8, x = s_x(g, from), w = s_x(g, to) - x;
	fprintf(g->f,
	        "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\">"
	        "<title>",
	        x, y, w < 2 ? 2 : w, S_LANE - 16, fill);
	s_text(g->f, title);
	fprintf(g->f, "</title></rect>\n");
}

static void s_fault(s_svg *g, const drill_fault *f, int i, int clients_y)
{
	int lane = s_lane(g, f->label);
	double y0 = S_TOP + lane * S_LANE + 2, y1 = y0 + S_LANE - 4;
	char title[320];
	if (f->injected_ms < 0) {
		snprintf(title, sizeof title, "fault %d %s: %s", i + 1, f->scenario, f->error);
		fprintf(g->f, "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" fill=\"#c00\">",
		        S_LEFT + 4, y0 + 24);
		s_text(g->f, title);
		fprintf(g->f, "</text>\n");
		return;
	}
	int64_t end = f->restarted_ms >= 0 ? f->restarted_ms : g->span;
	int64_t seen = f->detected_ms >= 0 ? f->detected_ms : end;
	snprintf(title, sizeof title, "fault %d %s: %s down, not yet seen by RS (%lld ms)", i + 1,
	         f->scenario, f->label, (long long)(seen - f->injected_ms));
	s_span(g, lane, f->injected_ms, seen, "#f4a261", title);
	snprintf(title, sizeof title, "fault %d: RS bringing %s back (%lld ms)", i + 1, f->label,
	         (long long)(end - seen));
	s_span(g, lane, seen, end, "#e9c46a", title);
	fprintf(g->f,
	        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#d00000\" "
	        "stroke-width=\"3\"><title>fault %d %s injected at %.3f s</title></line>\n",
	        s_x(g, f->injected_ms), y0, s_x(g, f->injected_ms), y1, i + 1, f->scenario,
	        (double)f->injected_ms / 1000);
	if (f->restarted_ms >= 0)
		fprintf(
		    g->f,
		    "<rect x=\"%.1f\" y=\"%.1f\" width=\"4\" height=\"%.1f\" fill=\"#2a9d8f\">"
		    "<title>%s up again at %.3f s, generation %llu</title></rect>\n"
		    "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" fill=\"#2a9d8f\">g%llu</text>\n",
		    s_x(g, f->restarted_ms), y0, y1 - y0, f->label, (double)f->restarted_ms / 1000,
		    (unsigned long long)f->new_generation, s_x(g, f->restarted_ms) + 5, y1 - 4,
		    (unsigned long long)f->new_generation);
	if (f->first_ok_ms >= 0)
		fprintf(
		    g->f,
		    "<circle cx=\"%.1f\" cy=\"%d\" r=\"4\" fill=\"#1d4ed8\"><title>fault %d: first "
		    "client success at %.3f s</title></circle>\n",
		    s_x(g, f->first_ok_ms), clients_y + 6, i + 1, (double)f->first_ok_ms / 1000);
}

/* The second service of a pair's fault (kill-vfs-fs) in its own lane, drawn as a fault of its
 * own at the same moment (its first client success is the fault's, drawn once). */
static void s_also(s_svg *g, const drill_fault *f, int i, int clients_y)
{
	drill_fault second = *f;
	snprintf(second.label, sizeof second.label, "%s", f->also.label);
	second.generation = f->also.generation;
	second.detected_ms = f->also.detected_ms;
	second.restarted_ms = f->also.restarted_ms;
	second.new_generation = f->also.new_generation;
	second.first_ok_ms = -1;
	s_fault(g, &second, i, clients_y);
}

/* The writers' lane: answered (grey, up) and failed (red, down) per slice. */
static void s_clients(s_svg *g, const drill_counts *c, int y)
{
	uint32_t max = 1;
	int slices = (int)(g->span / DRILL_SLICE_MS) + 1;
	if (slices > DRILL_SLICES)
		slices = DRILL_SLICES;
	for (int k = 0; k < slices; k++)
		max = c->ok_at[k] > max ? c->ok_at[k] : max,
		max = c->failed_at[k] > max ? c->failed_at[k] : max;
	double mid = y + S_CLIENT / 2.0, half = S_CLIENT / 2.0 - 6;
	for (int k = 0; k < slices; k++) {
		double x = s_x(g, (int64_t)k * DRILL_SLICE_MS),
		       w = s_x(g, (int64_t)(k + 1) * DRILL_SLICE_MS) - x;
		if (c->ok_at[k])
			fprintf(
			    g->f,
			    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
			    "fill=\"#9ca3af\"><title>%.1f s: %u calls answered</title></rect>\n",
			    x, mid - half * c->ok_at[k] / max, w, half * c->ok_at[k] / max,
			    (double)k * DRILL_SLICE_MS / 1000, c->ok_at[k]);
		if (c->failed_at[k])
			fprintf(g->f,
			        "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
			        "fill=\"#d00000\"><title>%.1f s: %u calls failed</title></rect>\n",
			        x, mid, w, half * c->failed_at[k] / max + 1,
			        (double)k * DRILL_SLICE_MS / 1000, c->failed_at[k]);
	}
	fprintf(g->f,
	        "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#555\" "
	        "stroke-width=\"0.5\"/>\n",
	        S_LEFT, mid, S_W - S_RIGHT, mid);
}

/* Lane names, the time axis with a tick every second or more, the legend and the title. */
static void s_frame(s_svg *g, const drill_result *r, int clients_y, int height)
{
	for (int i = 0; i < g->nlanes; i++)
		fprintf(g->f,
		        "<text x=\"8\" y=\"%d\" font-size=\"13\">%s</text>\n<line x1=\"%d\" "
		        "y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ddd\"/>\n",
		        S_TOP + i * S_LANE + S_LANE / 2 + 4, g->lanes[i], S_LEFT,
		        S_TOP + (i + 1) * S_LANE, S_W - S_RIGHT, S_TOP + (i + 1) * S_LANE);
	fprintf(g->f, "<text x=\"8\" y=\"%d\" font-size=\"13\">writers</text>\n",
	        clients_y + S_CLIENT / 2 + 4);
	int64_t step = 1000;
	while (g->span / step > 12)
		step *= 2;
	int axis = height - 24;
	for (int64_t t = 0; t <= g->span; t += step)
		fprintf(g->f,
		        "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#888\"/>"
		        "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%lld "
		        "s</text>\n",
		        s_x(g, t), axis, s_x(g, t), axis + 5, s_x(g, t), axis + 17,
		        (long long)(t / 1000));
	fprintf(g->f,
	        "<text x=\"8\" y=\"22\" font-size=\"16\" font-weight=\"bold\">plexus drill %s: %s"
	        "</text>\n<text x=\"8\" y=\"42\" font-size=\"12\">%d writers, seed %u, %.1f s; "
	        "%llu acknowledged files, %llu lost; %llu calls failed, %llu hung; fsck %s"
	        "</text>\n",
	        r->scenario, r->passed ? "PASS" : "FAIL", r->writers, r->seed,
	        (double)r->duration_ms / 1000, (unsigned long long)r->verdict.files,
	        (unsigned long long)r->verdict.lost, (unsigned long long)r->counts.errors,
	        (unsigned long long)r->counts.hung, r->fsck);
	static const char *const legend[][2] = {{"#d00000", "fault"},
	                                        {"#f4a261", "down, unseen"},
	                                        {"#e9c46a", "RS restarting"},
	                                        {"#2a9d8f", "up again"},
	                                        {"#1d4ed8", "first client success"}};
	for (int i = 0; i < 5; i++)
		fprintf(g->f,
		        "<rect x=\"%d\" y=\"50\" width=\"10\" height=\"10\" fill=\"%s\"/>"
		        "<text x=\"%d\" y=\"59\" font-size=\"11\">%s</text>\n",
		        S_W - 640 + i * 125, legend[i][0], S_W - 626 + i * 125, legend[i][1]);
}

int drill_timeline_svg(const drill_result *r, const char *path)
{
	FILE *f = fopen(path, "we");
	if (!f)
		return -errno;
	s_svg g = {.f = f, .span = r->duration_ms > 1000 ? r->duration_ms : 1000};
	for (int i = 0; i < r->nfaults; i++) {
		s_lane(&g, r->faults[i].label);
		if (r->faults[i].also.label[0])
			s_lane(&g, r->faults[i].also.label);
	}
	int clients_y = S_TOP + g.nlanes * S_LANE + 10, height = clients_y + S_CLIENT + 40;
	fprintf(f,
	        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg "
	        "xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d "
	        "%d\" font-family=\"sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" "
	        "fill=\"white\"/>\n",
	        S_W, height, S_W, height);
	s_clients(&g, &r->counts, clients_y);
	for (int i = 0; i < r->nfaults; i++) {
		s_fault(&g, &r->faults[i], i, clients_y);
		if (r->faults[i].also.label[0])
			s_also(&g, &r->faults[i], i, clients_y);
	}
	s_frame(&g, r, clients_y, height);
	fprintf(f, "</svg>\n");
	return fclose(f) == 0 ? 0 : -EIO;
}
