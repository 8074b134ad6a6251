/*
 * main.c — `plexus drill`: a failover drill against a running system (docs/drills.md).
 *
 * Entry points: plx_drill_cli.
 *
 * The writers start and run alone for a moment (for one scenario, 1.5 to 3.5 s drawn from
 * --seed, so that the fault lands at another point of their work for another seed and at the
 * same for the same); then one fault of the scenario is injected (or, for soak, a fault of a
 * random scenario after every quiet spell, chosen from --seed, for --seconds) and followed
 * until its service is back; then the writers stop, every state they had acknowledged is
 * checked, and RS's records say whether every service is up. The drill passes (exit 0) only
 * when every fault was injected, its service came back and a writer's call succeeded after it,
 * no acknowledged data was lost, no call hung and every service is up; else it exits 1 (and
 * the writers' files stay in /data/drill-PID for a look). With --mount DIR the writers make
 * plain POSIX calls through a running `plexus mount` on DIR instead of libplexus's (fileops.c),
 * as Linux programs do; the check reads through libplexus, then through the mount as well.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <plexus/drill_cli.h>

#include "drill.h"

#define S_SETTLE_MS 1500 /* the writers alone, before the first fault and after the last */
#define S_DELAY_MS  2000 /* one scenario's fault: S_SETTLE_MS plus up to this, from the seed */

typedef struct s_opts {
	const char *scenario;
	int writers, seconds, timeout_s;
	unsigned seed;
	bool json;
	bool through_rs;        /* --through-rs: service faults as RS_SIGNAL */
	const char *svg;        /* --svg FILE: the timeline, or NULL */
	const char *mount;      /* --mount DIR: the writers through this plexus mount, or NULL */
	char root[PATH_MAX];    /* its absolute path, once checked */
	const drill_plan *plan; /* a drill from an INI file, or NULL */
} s_opts;

static void s_usage(FILE *out)
{
	fprintf(out, "usage: plexus drill SCENARIO|soak|list [--writers W] [--seconds S] "
	             "[--seed N]\n"
	             "                    [--timeout S] [--json] [--svg FILE] [--through-rs]\n"
	             "                    [--mount DIR]\n"
	             "       plexus drill FILE.ini [options]\n\n"
	             "Runs W writers (default 8) on /data through libplexus (or, with --mount, "
	             "through\nthe FUSE mount), injects the scenario's fault into the running "
	             "system (plexus up),\nfollows it until RS has the service back, then checks "
	             "every state the writers\nhad acknowledged. Scenarios:\n");
	for (const drill_scenario *s = drill_scenarios; s->name; s++)
		fprintf(out, "  %-12s %s (%s%s%s)\n", s->name, s->what, s->label,
		        s->also ? ", " : "", s->also ? s->also : "");
	fprintf(out,
	        "  %-12s a fault of a random one of the first six every 2-4 s for --seconds\n"
	        "               (default 30), chosen from --seed (default: the clock), so a run\n"
	        "               can be repeated; under plexus up --nodes N, kill-node-fs too\n"
	        "               (about one fault in seven, the others as on one node)\n"
	        "FILE.ini: faults in order from a file ([drill] writers, seed, timeout, mount;\n"
	        "[fault NAME] scenario, after = 2s of quiet before it; docs/drills.md).\n"
	        "--seed N: what the writers do, when a scenario's fault comes (1.5-3.5 s after\n"
	        "they start) and soak's faults; default: the clock. The report gives it.\n"
	        "--svg FILE: the drill as a timeline (faults, RS's detection and restart, the\n"
	        "writers' calls) in one SVG file a browser shows.\n"
	        "--through-rs: a service's crash or hang sent by RS through its node kernel\n"
	        "(RS_SIGNAL), as it is for services not on this machine (a QEMU or PXE\n"
	        "cluster), and kill-node and kill-node-fs as a power cycle by RS through the\n"
	        "node's power backend (RS_POWER, plexus node cycle); else this machine's\n"
	        "kill(2).\n"
	        "--mount DIR: the writers make plain POSIX calls (open, write, fsync, close,\n"
	        "rename, unlink, mkdir, a directory's fsync) on DIR/data/drill-PID, DIR being\n"
	        "where a running `plexus mount DIR` has Plexus's root, as Linux programs do;\n"
	        "what they acknowledged is checked through libplexus, then through DIR. A DIR\n"
	        "that is not such a mount is a usage error.\n"
	        "--timeout S: longest wait for a service to come back (default 60). Exit 0 "
	        "when\nnothing acknowledged was lost, no call hung, every service came "
	        "back and\nthe writers were served again after each fault; 1 else; 64 usage; "
	        "69 no system.\ndocs/drills.md.\n",
	        "soak");
}

static int s_options(int argc, char **argv, s_opts *o)
{
	static const struct option longs[] = {
	    {"writers", required_argument, NULL, 'w'},
	    {"seconds", required_argument, NULL, 's'},
	    {"seed", required_argument, NULL, 'r'},
	    {"timeout", required_argument, NULL, 't'},
	    {"json", no_argument, NULL, 'j'},
	    {"svg", required_argument, NULL, 'g'},
	    {"help", no_argument, NULL, 'h'},
	    {"through-rs", no_argument, NULL, 'R'},
	    {"mount", required_argument, NULL, 'm'}, /* the writers through a plexus mount */
	    {0},
	};
	*o = (s_opts){.writers = 8, .seconds = 30, .timeout_s = 60, .seed = (unsigned)time(NULL)};
	optind = 0;
	for (int c; (c = getopt_long(argc, argv, "h", longs, NULL)) != -1;) {
		char *end = NULL;
		long v = optarg ? strtol(optarg, &end, 10) : 0;
		bool bad = optarg && (!*optarg || *end || v < 0);
		if (c == 'w' && !bad && v >= 1 && v <= DRILL_WRITERS_MAX)
			o->writers = (int)v;
		else if (c == 's' && !bad && v >= 1 && v <= 86400)
			o->seconds = (int)v;
		else if (c == 't' && !bad && v >= 1 && v <= 3600)
			o->timeout_s = (int)v;
		else if (c == 'r' && !bad)
			o->seed = (unsigned)v;
		else if (c == 'j')
			o->json = true;
		else if (c == 'R')
			o->through_rs = true;
		else if (c == 'g')
			o->svg = optarg;
		else if (c == 'm')
			o->mount = optarg;
		else if (c == 'h')
			return s_usage(stdout), -1;
		else
			return s_usage(stderr), EX_USAGE;
	}
	if (optind != argc - 1)
		return s_usage(stderr), EX_USAGE;
	o->scenario = argv[optind];
	return 0;
}

static void s_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* The services RS does not have up, into r->down. */
static void s_services(plx_etcd *etcd, const char *cluster, drill_result *r)
{
	char prefix[256];
	snprintf(prefix, sizeof prefix, "/plexus/%s/svc/", cluster);
	plx_kvs *kvs = NULL;
	if (plx_etcd_range(etcd, prefix, &kvs) < 0) {
		r->services_down = 1;
		snprintf(r->down, sizeof r->down, "(RS's records cannot be read)");
		return;
	}
	for (size_t i = 0; i < kvs->count; i++) {
		json_t *o =
		    json_loadb((const char *)kvs->kvs[i].value, kvs->kvs[i].value_size, 0, NULL);
		const char *state = json_string_value(json_object_get(o, "state"));
		const char *label = strrchr(kvs->kvs[i].key, '/') + 1;
		if (!state || strcmp(state, "up") != 0) {
			size_t len = strlen(r->down);
			snprintf(r->down + len, sizeof r->down - len, "%s%s (%s)", len ? ", " : "",
			         label, state ? state : "?");
			r->services_down++;
		}
		json_decref(o);
	}
	plx_kvs_free(&kvs);
}

/* soak's next scenario: one of the first nsc (those that signal services: they work on any
 * up) drawn from *seed, as it always was; then, when node_fs is not NULL (mfs-data's node is
 * a namespace here: plexus up --nodes), one draw in nsc + 1 of *node_seed, a stream of its
 * own, makes it node_fs instead, so the other draws stay what they are for the seed. */
static const drill_scenario *s_soak_draw(unsigned *seed, unsigned *node_seed, int nsc,
                                         const drill_scenario *node_fs)
{
	const drill_scenario *now = &drill_scenarios[rand_r(seed) % (unsigned)nsc];
	if (node_fs && rand_r(node_seed) % (unsigned)(nsc + 1) == 0)
		now = node_fs;
	return now;
}

/* Runs the faults: one of sc, or (sc NULL) soak's random ones for o->seconds. */
static void s_faults(plx_etcd *etcd, const char *cluster, const drill_scenario *sc, const s_opts *o,
                     drill_workload *w, drill_result *r)
{
	unsigned seed = o->seed, node_seed = o->seed ^ 0x40deu;
	int64_t end = drill_ms() + (int64_t)o->seconds * 1000;
	drill_how how = {.timeout_ms = o->timeout_s * 1000, .through_rs = o->through_rs};
	int nsc = 0;
	while (drill_scenarios[nsc].name && drill_scenarios[nsc].kind == DRILL_SERVICE)
		nsc++;
	const drill_scenario *node_fs = drill_scenario_find("kill-node-fs");
	if (sc || o->plan || !drill_node_here(etcd, cluster, node_fs->label))
		node_fs = NULL; /* soak's, where mfs-data's node is a namespace here */
	for (int i = 0; o->plan && i < o->plan->n; i++) { /* a drill from a file, in order */
		s_sleep_ms(o->plan->steps[i].after_ms);
		drill_inject(etcd, cluster, o->plan->steps[i].scenario, w, &how,
		             &r->faults[r->nfaults++]);
	}
	if (o->plan)
		return;
	do {
		const drill_scenario *now = sc ? sc : s_soak_draw(&seed, &node_seed, nsc, node_fs);
		drill_fault *f = &r->faults[r->nfaults++];
		drill_inject(etcd, cluster, now, w, &how, f);
		if (!sc)
			s_sleep_ms(2000 + (int)(rand_r(&seed) % 2000));
	} while (!sc && drill_ms() < end && r->nfaults < DRILL_FAULTS_MAX);
}

static bool s_passed(const drill_result *r)
{
	bool ok = r->verdict.lost == 0 && r->mount_verdict.lost == 0 && r->counts.hung == 0 &&
	          r->services_down == 0;
	for (int i = 0; i < r->nfaults; i++) { /* a service "up" that serves nobody is not back */
		const drill_fault *f = &r->faults[i];
		int64_t back = drill_fault_back_ms(f); /* both of a pair */
		ok = ok && !f->error[0] && back >= 0 && f->first_ok_ms >= 0 &&
		     drill_calls_after(&r->counts, back) > 0;
	}
	return ok;
}

/* The writers' time alone before the first fault: for one scenario drawn from the seed (its
 * own stream: the writers' and soak's draws stay as they were), else S_SETTLE_MS. */
static int64_t s_delay_ms(const s_opts *o, const drill_scenario *sc)
{
	unsigned seed = o->seed ^ 0x5eedu;
	return sc ? S_SETTLE_MS + rand_r(&seed) % (S_DELAY_MS + 1) : S_SETTLE_MS;
}

/* Why the writers could not start (errno), on standard error; the exit code. */
static int s_start_failed(const s_opts *o, const char *dir)
{
	if (errno == EXDEV) { /* made through libplexus, not seen through the mount */
		fprintf(stderr,
		        "plexus drill: --mount %s does not show this system's %s: a mount of "
		        "another system, or not its root?\n",
		        o->mount, dir);
		return EX_USAGE;
	}
	if (errno == ENOENT) /* connected, but the writers' directory has no parent */
		fprintf(stderr,
		        "plexus drill: the writers work in /data, which this system does not "
		        "have (plexus sh -c 'mkdir /data', or mount a file system there)\n");
	else
		fprintf(stderr, "plexus drill: no system to drill: %s (is plexus up running?)\n",
		        strerror(errno));
	return EX_UNAVAILABLE;
}

/* Checks what the writers acknowledged through libplexus and, with a mount, through it. */
static void s_verify(drill_workload *w, const s_opts *o, drill_result *r)
{
	if (drill_workload_verify(w, false, &r->verdict) < 0)
		snprintf(r->verdict.first_loss, sizeof r->verdict.first_loss,
		         "could not check: no client");
	int rc = o->mount ? drill_workload_verify(w, true, &r->mount_verdict) : 0;
	if (rc < 0)
		snprintf(r->mount_verdict.first_loss, sizeof r->mount_verdict.first_loss, "%s",
		         rc == -EBUSY ? "writers are stuck in its calls" : strerror(-rc));
}

/* fsck.minix of /data's image into r->fsck; true when clean or skipped. Skipped while writers
 * are stuck in FUSE calls (stuck): a program started then may wait for them too (the exec of
 * cp did, under a stopped mount daemon). */
static bool s_fsck(drill_result *r, int stuck)
{
	if (!stuck)
		return drill_fsck(r->fsck, sizeof r->fsck) == 0;
	snprintf(r->fsck, sizeof r->fsck, "skipped: writers are stuck in calls through the mount");
	return true;
}

/* The drill itself, once the options are read. */
static int s_run(const s_opts *o, const drill_scenario *sc, drill_result *r)
{
	const char *cluster = getenv("PLEXUS_CLUSTER");
	cluster = cluster && *cluster ? cluster : "default";
	plx_etcd *etcd = plx_etcd_new(&(plx_etcd_opts){.endpoints = getenv("PLEXUS_ETCD")});
	char dir[64];
	snprintf(dir, sizeof dir, "/data/drill-%ld", (long)getpid());
	drill_workload *w =
	    etcd ? drill_workload_start(dir, o->writers, o->seed, o->mount ? o->root : NULL) : NULL;
	if (!w) {
		int code = s_start_failed(o, dir);
		plx_etcd_destroy(&etcd);
		return code;
	}
	int64_t t0 = drill_ms();
	r->delay_ms = s_delay_ms(o, sc);
	r->drawn = sc != NULL;
	s_sleep_ms((int)r->delay_ms);
	s_faults(etcd, cluster, sc, o, w, r);
	s_sleep_ms(S_SETTLE_MS);
	int stuck = drill_workload_stop(w, &r->counts);
	r->duration_ms = drill_ms() - t0;
	s_verify(w, o, r);
	bool clean = s_fsck(r, stuck);
	s_services(etcd, cluster, r);
	r->passed = s_passed(r) && r->verdict.files > 0 && clean;
	if (r->passed)
		drill_workload_clean(w);
	drill_workload_free(&w);
	plx_etcd_destroy(&etcd);
	return r->passed ? EX_OK : 1;
}

int plx_drill_cli(int argc, char **argv)
{
	s_opts o;
	int code = s_options(argc, argv, &o);
	if (code)
		return code < 0 ? EX_OK : code;
	if (strcmp(o.scenario, "list") == 0) {
		s_usage(stdout);
		return EX_OK;
	}
	static drill_plan plan;
	char err[512];
	bool file =
	    strchr(o.scenario, '/') ||
	    (strlen(o.scenario) > 4 && strcmp(o.scenario + strlen(o.scenario) - 4, ".ini") == 0);
	if (file && drill_plan_load(o.scenario, &plan, err, sizeof err) < 0) {
		fprintf(stderr, "plexus drill: %s\n", err);
		return EX_CONFIG;
	}
	if (file) { /* the file's settings win over the defaults */
		o.plan = &plan;
		o.writers = plan.writers ? plan.writers : o.writers;
		o.timeout_s = plan.timeout_s ? plan.timeout_s : o.timeout_s;
		o.seed = plan.has_seed ? plan.seed : o.seed;
		o.mount = plan.mount[0] ? plan.mount : o.mount;
	}
	const drill_scenario *sc = drill_scenario_find(o.scenario);
	if (!sc && !file && strcmp(o.scenario, "soak") != 0) {
		fprintf(stderr, "plexus drill: unknown scenario '%s' (plexus drill list)\n",
		        o.scenario);
		return EX_USAGE;
	}
	if (o.mount && drill_mount_check(o.mount, o.root, sizeof o.root, err, sizeof err) < 0) {
		fprintf(stderr, "plexus drill: --mount %s\n", err);
		return EX_USAGE;
	}
	drill_ms(); /* the drill's clock starts */
	drill_result *r = calloc(1, sizeof *r);
	if (!r)
		return EX_OSERR;
	r->scenario = o.scenario;
	r->seed = o.seed;
	r->writers = o.writers;
	r->through = o.mount ? "mount" : "libplexus";
	r->mount = o.mount ? o.root : NULL;
	code = s_run(&o, sc, r);
	if (code == EX_OK || code == 1)
		(o.json ? drill_report_json : drill_report_text)(r, stdout);
	fflush(stdout); /* out now: the exit may wait for writers stuck in a FUSE call */
	int rc = (code == EX_OK || code == 1) && o.svg ? drill_timeline_svg(r, o.svg) : 0;
	if (rc < 0)
		fprintf(stderr, "plexus drill: the timeline %s: %s\n", o.svg, strerror(-rc));
	free(r);
	return code;
}
