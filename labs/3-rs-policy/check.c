/*
 * check.c — lab 3's checks: the student's plexus-rs (RS built with their policy.c) runs
 * against a private etcd with a real plexus-node on this machine and two services played by
 * plexus-testsvc that crash on purpose (abort 200 ms after becoming ready). The checks read
 * RS's records in the registry (/plexus/<cluster>/svc/<label>): states, generations and
 * restart counts; times only as lower bounds, which a loaded machine cannot break.
 *
 * Entry points: main (plexus-lab-check-3 RS).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "labharness.h"

#define S_CRASH_MS 200   /* each instance lives this long once ready */
#define S_BACKOFF  300   /* the backoff unit of both services */
#define S_WAIT_MS  20000 /* the longest wait for a verdict */

/* What RS last recorded for a service. */
typedef struct s_rec {
	char state[32];
	long long gen, restarts;
} s_rec;

static long long s_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool s_get(lab_harness *h, const char *label, s_rec *r)
{
	char key[256];
	snprintf(key, sizeof key, "/plexus/%s/svc/%s", LAB_CLUSTER, label);
	plx_kv *kv = NULL;
	if (plx_etcd_get(lab_harness_etcd(h), key, &kv) < 0)
		return false;
	json_t *o = json_loadb((const char *)kv->value, kv->value_size, 0, NULL);
	plx_kv_free(&kv);
	if (!o)
		return false;
	const char *state = json_string_value(json_object_get(o, "state"));
	snprintf(r->state, sizeof r->state, "%s", state ? state : "?");
	r->gen = json_integer_value(json_object_get(o, "generation"));
	r->restarts = json_integer_value(json_object_get(o, "restarts"));
	json_decref(o);
	return true;
}

/* The cluster file: this machine as node "local", "loopy" (gives up after 3 crashes in a row,
 * backoff 300 ms, cap 5 s) and "capped" (never gives up, cap 600 ms). */
static int s_write_cluster(lab_harness *h, char *path, size_t size)
{
	snprintf(path, size, "%s/cluster.ini", lab_harness_dir(h));
	FILE *fp = fopen(path, "w");
	if (!fp)
		return -1;
	fprintf(fp,
	        "[cluster]\nname = %s\n\n[node local]\nmac = 52:54:00:00:00:01\n"
	        "addr = 127.0.0.1\n\n",
	        LAB_CLUSTER);
	const char *svc = "[service %s]\nprogram = %s\nargs = --crash-after %d\nnode = local\n"
	                  "heartbeat = 0\nbackoff = %dms\nbackoff_cap = %s\nmax_restarts = %d\n\n";
	fprintf(fp, svc, "loopy", PLEXUS_TESTSVC_BIN, S_CRASH_MS, S_BACKOFF, "5s", 3);
	fprintf(fp, svc, "capped", PLEXUS_TESTSVC_BIN, S_CRASH_MS, S_BACKOFF, "600ms", 0);
	return fclose(fp);
}

/* plexus-node as "local", then the student's RS on the cluster file. */
static bool s_boot(lab_harness *h, const char *rs, const char *file)
{
	char *etcd = (char *)lab_harness_etcd_endpoints(h);
	char *node[] = {PLEXUS_NODE_BIN,
	                "--node",
	                "local",
	                "--addr",
	                "127.0.0.1",
	                "--etcd",
	                etcd,
	                "--cluster",
	                LAB_CLUSTER,
	                "--log-dir",
	                (char *)lab_harness_dir(h),
	                "--grace",
	                "500",
	                "--cmdline",
	                "/dev/null",
	                NULL};
	char *rsv[] = {(char *)rs, "--cluster-file", (char *)file, "--etcd", etcd,
	               "--addr",   "127.0.0.1",      "--name",     "rsA",    NULL};
	if (lab_spawn(h, node, "node") < 0)
		return false;
	char key[128];
	snprintf(key, sizeof key, "/plexus/%s/nodes/local", LAB_CLUSTER);
	plx_kv *kv = NULL;
	for (long long end = s_ms() + 10000; plx_etcd_get(lab_harness_etcd(h), key, &kv) != 0;
	     usleep(10 * 1000))
		if (s_ms() > end)
			return false;
	plx_kv_free(&kv);
	return lab_spawn(h, rsv, "rs") > 0;
}

/* What the run saw of loopy and capped. */
typedef struct s_run {
	s_rec loopy, capped;
	bool loopy_seen, loopy_backoff, loopy_given_up, capped_given_up;
	long long loopy_ms; /* from its first record to "given-up" */
	long long capped_gen_at_10s;
} s_run;

/* Watches both records until loopy is given up and capped has run 10 s (or S_WAIT_MS). */
static void s_watch(lab_harness *h, s_run *run)
{
	long long t0 = s_ms(), first = 0;
	while (s_ms() - t0 < S_WAIT_MS) {
		s_rec r;
		if (s_get(h, "loopy", &r) && !run->loopy_given_up) {
			first = first ? first : s_ms();
			run->loopy = r;
			run->loopy_seen = true;
			run->loopy_backoff |= strcmp(r.state, "backoff") == 0;
			if (strcmp(r.state, "given-up") == 0) {
				run->loopy_given_up = true;
				run->loopy_ms = s_ms() - first;
			}
		}
		if (s_get(h, "capped", &r)) {
			run->capped = r;
			run->capped_given_up |= strcmp(r.state, "given-up") == 0;
		}
		if (s_ms() - t0 >= 10000 && !run->capped_gen_at_10s)
			run->capped_gen_at_10s = run->capped.gen ? run->capped.gen : -1;
		if (run->loopy_given_up && run->capped_gen_at_10s)
			return;
		usleep(10 * 1000);
	}
}

static void s_checks(lab_harness *h, const s_run *run)
{
	char hint[256];
	lab_check(h, "restarts", run->loopy.gen >= 2,
	          "RS never restarted the crashing service: rs_after_exit must return "
	          "RS_ACT_RESTART for a crash of a service with restart = always");
	lab_check(h, "backs-off", run->loopy_backoff,
	          "RS never waited between restarts (state \"backoff\"): rs_backoff_ms must be "
	          "above 0 for a streak of 1 or more");
	snprintf(hint, sizeof hint,
	         "after max_restarts (3) crashes in a row RS must give up (RS_ACT_GIVE_UP); "
	         "last seen: %s, generation %lld",
	         run->loopy.state, run->loopy.gen);
	lab_check(h, "gives-up", run->loopy_given_up, hint);
	lab_check(h, "gives-up-after-3",
	          run->loopy_given_up && run->loopy.gen == 4 && run->loopy.restarts == 3,
	          "exactly 3 restarts (generations 2, 3, 4), then \"given-up\": compare the streak "
	          "with max_restarts before restarting");
	long long floor = 4LL * S_CRASH_MS + 2 * S_BACKOFF + 4 * S_BACKOFF;
	if (run->loopy_given_up)
		snprintf(hint, sizeof hint,
		         "the waits must double: 0, then 600 ms, then 1200 ms (backoff 300 ms * "
		         "2^streak); the whole crash loop took %lld ms, at least %lld expected",
		         run->loopy_ms, floor);
	else
		snprintf(hint, sizeof hint, "the waits could not be measured: RS never gave up");
	lab_check(h, "exponential", run->loopy_given_up && run->loopy_ms >= floor, hint);
	lab_check(h, "never-gives-up", !run->capped_given_up && run->capped.gen >= 2,
	          "max_restarts = 0 means never give up: \"capped\" must be restarted forever");
	snprintf(
	    hint, sizeof hint,
	    "with backoff_cap = 600ms no wait may pass 600 ms: after 10 s \"capped\" should be "
	    "past generation 6, it is at %lld (is the cap applied?)",
	    run->capped_gen_at_10s);
	lab_check(h, "capped", run->capped_gen_at_10s >= 6, hint);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: plexus-lab-check-3 RS\n");
		return EX_USAGE;
	}
	lab_harness *h = lab_harness_new(argv[1]);
	if (!h)
		return EX_UNAVAILABLE;
	char file[512];
	s_run run = {0};
	bool booted = s_write_cluster(h, file, sizeof file) == 0 && s_boot(h, argv[1], file);
	if (booted)
		s_watch(h, &run);
	if (lab_check(h, "rs-starts", booted && run.loopy_seen,
	              "plexus-node or your plexus-rs did not come up: see node.log and rs.log"))
		s_checks(h, &run);
	return lab_harness_destroy(&h) ? 1 : 0;
}
