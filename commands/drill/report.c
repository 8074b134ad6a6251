/*
 * report.c — what a drill prints: text for a person, JSON for a program (drill.h,
 * docs/drills.md "Reading the report").
 *
 * Entry points: drill_report_text, drill_report_json.
 *
 * Times are milliseconds on the drill's clock; each fault's detection, restart and first
 * client success are also given after its injection (+N ms). Errors are counted by errno.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strerrorname_np */
#endif
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "drill.h"

/* errno e's name (EIO), "other" for 0 and values without one. */
static const char *s_errname(int e)
{
	const char *name = e ? strerrorname_np(e) : NULL;
	return name ? name : "other";
}

/* "+N ms" after t0, or "never". */
static void s_after(int64_t t, int64_t t0, char *out, size_t size)
{
	if (t < 0)
		snprintf(out, size, "never");
	else
		snprintf(out, size, "%.3f s (+%lld ms)", (double)t / 1000, (long long)(t - t0));
}

/* The second service of a pair's fault: its course on two lines under the first's. */
static void s_also_text(const drill_fault *f, FILE *out)
{
	const drill_hit *h = &f->also;
	char det[64], res[64], gone[64];
	s_after(h->detected_ms, f->injected_ms, det, sizeof det);
	s_after(h->restarted_ms, f->injected_ms, res, sizeof res);
	s_after(h->old_gone_ms, f->injected_ms, gone, sizeof gone);
	fprintf(out,
	        "           and %s generation %llu (pid %ld) at once: detected by RS %s;\n"
	        "           restarted %s as generation %llu; gone %s\n",
	        h->label, (unsigned long long)h->generation, h->pid, det, res,
	        (unsigned long long)h->new_generation, gone);
}

static void s_fault_text(const drill_fault *f, int i, FILE *out)
{
	if (f->error[0]) {
		fprintf(out, "  fault %d: %s: %s: %s\n", i + 1, f->scenario,
		        f->injected_ms < 0 ? "not injected" : "failed", f->error);
		return;
	}
	char det[64], res[64], ok[64];
	s_after(f->detected_ms, f->injected_ms, det, sizeof det);
	s_after(f->restarted_ms, f->injected_ms, res, sizeof res);
	s_after(f->first_ok_ms, f->injected_ms, ok, sizeof ok);
	fprintf(out,
	        "  fault %d: %s: %s generation %llu (pid %ld%s%s) at %.3f s\n"
	        "           detected by RS %s; restarted %s as generation %llu;\n"
	        "           first client success %s\n",
	        i + 1, f->scenario, f->label, (unsigned long long)f->generation, f->pid,
	        f->how[0] ? ", " : "", f->how, (double)f->injected_ms / 1000, det, res,
	        (unsigned long long)f->new_generation, ok);
	char gone[64], healed[64];
	s_after(f->old_gone_ms, f->injected_ms, gone, sizeof gone);
	s_after(f->healed_ms, f->injected_ms, healed, sizeof healed);
	fprintf(out, "           the hit instance gone %s%s%s\n", gone,
	        f->healed_ms >= 0 ? "; its node back after the mend " : "",
	        f->healed_ms >= 0 ? healed : "");
	if (f->cut_writes >= 0)
		fprintf(out,
		        "           writes to /data's image by the cut-off side: %lld before "
		        "failover, %lld after\n",
		        (long long)f->cut_writes, (long long)f->cut_writes_late);
	if (f->also.label[0])
		s_also_text(f, out);
}

/* The data lines: what was checked through libplexus and, with a mount, through it. */
static void s_data_text(const drill_result *r, FILE *out)
{
	const drill_verdict *v = &r->verdict;
	fprintf(out, "  data: %llu acknowledged files, %llu verified, %llu lost%s%s\n",
	        (unsigned long long)v->files, (unsigned long long)v->verified,
	        (unsigned long long)v->lost, v->lost ? ": first " : "", v->first_loss);
	if (v->zero_tails)
		fprintf(out, "        %llu with zeros in a tail nobody acknowledged\n",
		        (unsigned long long)v->zero_tails);
	v = &r->mount_verdict;
	if (r->mount && !v->checked)
		fprintf(out, "  data read through the mount: not checked: %s\n", v->first_loss);
	else if (r->mount)
		fprintf(out, "  data read through the mount: %llu verified, %llu lost%s%s\n",
		        (unsigned long long)v->verified, (unsigned long long)v->lost,
		        v->lost ? ": first " : "", v->first_loss);
}

void drill_report_text(const drill_result *r, FILE *out)
{
	char through[4200] = "";
	if (r->mount)
		snprintf(through, sizeof through, " through the mount %s", r->mount);
	fprintf(out, "drill %s: %d writers%s, seed %u, %.1f s; %s after %.3f s of writing%s\n",
	        r->scenario, r->writers, through, r->seed, (double)r->duration_ms / 1000,
	        r->drawn ? "the fault" : "the first fault", (double)r->delay_ms / 1000,
	        r->drawn ? " (from the seed)" : "");
	for (int i = 0; i < r->nfaults; i++)
		s_fault_text(&r->faults[i], i, out);
	const drill_counts *c = &r->counts;
	fprintf(out, "  clients: %llu calls answered, %llu failed", (unsigned long long)c->ops,
	        (unsigned long long)c->errors);
	const char *sep = " (";
	for (int e = 0; e < DRILL_ERRNO_MAX; e++)
		if (c->by_errno[e]) {
			fprintf(out, "%s%s %llu", sep, s_errname(e),
			        (unsigned long long)c->by_errno[e]);
			sep = ", ";
		}
	fprintf(out, "%s, %llu hung\n", strcmp(sep, ", ") == 0 ? ")" : "",
	        (unsigned long long)c->hung);
	fprintf(out,
	        "  fsync of a file opened again after its close: %llu answered 0, %llu failed\n",
	        (unsigned long long)c->synced_after_close, (unsigned long long)c->lost_after_close);
	s_data_text(r, out);
	fprintf(out, "  fsck.minix -f of /data's image: %s\n", r->fsck);
	if (r->services_down)
		fprintf(out, "  services not back: %s\n", r->down);
	else
		fprintf(out, "  services: all up\n");
	fprintf(out, "%s\n", r->passed ? "PASS" : "FAIL");
}

static json_t *s_also_json(const drill_hit *h)
{
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "service", h->label, "generation",
	                 (json_int_t)h->generation, "pid", (json_int_t)h->pid, "detected_ms",
	                 (json_int_t)h->detected_ms, "restarted_ms", (json_int_t)h->restarted_ms,
	                 "new_generation", (json_int_t)h->new_generation, "old_gone_ms",
	                 (json_int_t)h->old_gone_ms);
}

/* A fault's course; calls_after_restart counts the writers' calls answered once every service
 * it hit was back (in later slices of the timeline). */
static json_t *s_fault_json(const drill_fault *f, const drill_counts *c)
{
	json_t *o = json_pack(
	    "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "scenario", f->scenario, "service",
	    f->label, "generation", (json_int_t)f->generation, "pid", (json_int_t)f->pid,
	    "injected_ms", (json_int_t)f->injected_ms, "detected_ms", (json_int_t)f->detected_ms,
	    "restarted_ms", (json_int_t)f->restarted_ms, "first_ok_ms", (json_int_t)f->first_ok_ms,
	    "new_generation", (json_int_t)f->new_generation);
	if (o) {
		json_object_set_new(o, "old_gone_ms", json_integer((json_int_t)f->old_gone_ms));
		json_object_set_new(o, "healed_ms", json_integer((json_int_t)f->healed_ms));
		json_object_set_new(o, "how", json_string(f->how[0] ? f->how : "kill"));
		json_object_set_new(o, "cut_writes", json_integer((json_int_t)f->cut_writes));
		json_object_set_new(o, "cut_writes_after_failover",
		                    json_integer((json_int_t)f->cut_writes_late));
		json_object_set_new(
		    o, "calls_after_restart",
		    json_integer((json_int_t)drill_calls_after(c, drill_fault_back_ms(f))));
	}
	if (o && f->also.label[0])
		json_object_set_new(o, "also", s_also_json(&f->also));
	if (o && f->error[0])
		json_object_set_new(o, "error", json_string(f->error));
	return o;
}

static json_t *s_verdict_json(const drill_verdict *v)
{
	return json_pack("{s:I, s:I, s:I, s:s, s:b}", "files", (json_int_t)v->files, "verified",
	                 (json_int_t)v->verified, "lost", (json_int_t)v->lost, "first_loss",
	                 v->first_loss, "checked", v->checked);
}

/* What the report's first json_pack leaves out: fsck, the writers' way in, the check through
 * the mount, the fsyncs after a close. */
static void s_more_json(json_t *o, const drill_result *r)
{
	json_object_set_new(o, "fsck", json_string(r->fsck));
	json_object_set_new(o, "through", json_string(r->through ? r->through : "libplexus"));
	json_object_set_new(o, "mount", r->mount ? json_string(r->mount) : json_null());
	if (r->mount)
		json_object_set_new(o, "data_through_mount", s_verdict_json(&r->mount_verdict));
	json_t *clients = json_object_get(o, "clients");
	json_object_set_new(clients, "synced_after_close",
	                    json_integer((json_int_t)r->counts.synced_after_close));
	json_object_set_new(clients, "lost_after_close",
	                    json_integer((json_int_t)r->counts.lost_after_close));
}

void drill_report_json(const drill_result *r, FILE *out)
{
	json_t *faults = json_array(), *errnos = json_object();
	for (int i = 0; i < r->nfaults; i++)
		json_array_append_new(faults, s_fault_json(&r->faults[i], &r->counts));
	for (int e = 0; e < DRILL_ERRNO_MAX; e++)
		if (r->counts.by_errno[e])
			json_object_set_new(errnos, s_errname(e),
			                    json_integer((json_int_t)r->counts.by_errno[e]));
	json_t *o = json_pack(
	    "{s:s, s:I, s:i, s:I, s:b, s:I, s:o, s:{s:I, s:I, s:I, s:o}, s:{s:I, s:I, s:I, s:s}, "
	    "s:s, s:b}",
	    "scenario", r->scenario, "seed", (json_int_t)r->seed, "writers", r->writers, "delay_ms",
	    (json_int_t)r->delay_ms, "delay_from_seed", r->drawn, "duration_ms",
	    (json_int_t)r->duration_ms, "faults", faults, "clients", "calls",
	    (json_int_t)r->counts.ops, "failed", (json_int_t)r->counts.errors, "hung",
	    (json_int_t)r->counts.hung, "errors", errnos, "data", "files",
	    (json_int_t)r->verdict.files, "verified", (json_int_t)r->verdict.verified, "lost",
	    (json_int_t)r->verdict.lost, "first_loss", r->verdict.first_loss, "services_not_back",
	    r->down, "passed", r->passed);
	if (o) {
		s_more_json(o, r);
		json_object_set_new(json_object_get(o, "data"), "zero_tails",
		                    json_integer((json_int_t)r->verdict.zero_tails));
	}
	char *text = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
	fprintf(out, "%s\n", text ? text : "{}");
	free(text);
	json_decref(o);
}
