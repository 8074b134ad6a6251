/*
 * bench.c — `plexus bench recovery [--json] [--crashes N] [--deaths N]`: how fast RS brings a
 * service back, on the network-namespace harness (docs/performance.md).
 *
 * Entry points: plx_bench_recovery.
 *
 * Set-up: three nodes (n0 runs plexus-rs, n1 and n2 plexus-node), etcd on the hub, and two
 * services, plexus-testsvc on n1 with n2 as its standby (driver) and with a warm spare on n1
 * (warm); this process sits on the hub as the
 * service's client. Cases:
 *   driver_crash  SIGKILL to the service, to the first IPC_ECHO answered by a newer generation
 *                 (p50 and p99 over --crashes crashes, 50 by default). Baseline: the same
 *                 service started by hand (fork + exec in n1, no RS) to its first answer, as
 *                 many times, interleaved: what a restart costs without the detection, the
 *                 generation and the node kernel.
 *   driver_crash_warm  the same for a second service, "warm", declared with spare = same:
 *                 each crash once its spare is ready, interleaved with the others (same
 *                 baseline).
 *   node_death    the service's node killed (netns_kill_node: SIGKILL to all in it, then its
 *                 network gone) to the first answer from the standby (p50 and max over
 *                 --deaths deaths, 3 by default; the killed node comes back between rounds).
 *                 Baseline: the node lease's TTL, the time etcd needs to declare the node dead.
 * Needs root; binaries are found next to each other in the build tree, or through
 * PLEXUS_NODE_BIN, PLEXUS_RS_BIN and PLEXUS_TESTSVC_BIN.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <plexus/endpoint.h>
#include <plexus/ipc_stub.h>
#include <plexus/rs_cli.h>

#include "bench.h"
#include "benchcluster.h"
#include "netns_harness.h"

#define S_CLUSTER "rsbench"
#define S_TTL_S   2
#define S_NODES   3
#define S_ECHO_MS 500

typedef struct s_bench {
	benchcluster h;
	pid_t node[S_NODES];
	pid_t rs;
	int bare_count;
} s_bench;

static int s_write_file(s_bench *b)
{
	FILE *f = fopen(b->h.file, "w");
	if (!f)
		return -errno;
	fprintf(f, "[cluster]\nname = %s\nlease_ttl = %ds\n\n", S_CLUSTER, S_TTL_S);
	for (int i = 0; i < S_NODES; i++)
		fprintf(f, "[node n%d]\nmac = 02:00:00:00:01:%02x\naddr = %s\n\n", i, i,
		        netns_node_addr(b->h.c, i));
	fprintf(f,
	        "[service driver]\nprogram = %s\nnode = n1\nstandby = n2\nheartbeat = 1s\n"
	        "backoff = 1ms\nbackoff_cap = 1ms\nmax_restarts = 0\n\n",
	        benchcluster_bin("PLEXUS_TESTSVC_BIN", PLEXUS_TESTSVC_BIN));
	fprintf(f,
	        "[service warm]\nprogram = %s\nnode = n1\nspare = same\nheartbeat = 1s\n"
	        "backoff = 1ms\nbackoff_cap = 1ms\nmax_restarts = 0\n",
	        benchcluster_bin("PLEXUS_TESTSVC_BIN", PLEXUS_TESTSVC_BIN));
	return fclose(f) == 0 ? 0 : -errno;
}

/* Waits until label answers from a generation above after; returns the generation or 0. */
static uint64_t s_until_answer(s_bench *b, const char *label, uint64_t after, int ms)
{
	uint64_t start = bench_now_ns(), gen = 0;
	while (!(benchcluster_echo(&b->h, label, S_ECHO_MS, &gen) == 0 && gen > after)) {
		if (benchcluster_ms(start) > ms)
			return 0;
		struct timespec ts = {0, 500000};
		nanosleep(&ts, NULL);
	}
	return gen;
}

/* The pid and node of the service's current instance, from its endpoint record. */
static int s_instance(s_bench *b, const char *label, plx_endpoint_rec *rec)
{
	return plx_endpoint_lookup(b->h.etcd, S_CLUSTER, label, rec);
}

static int s_setup(s_bench *b)
{
	int rc = benchcluster_open(&b->h, S_NODES, "plexus bench recovery");
	if (rc == 0)
		rc = s_write_file(b) < 0 ? EX_OSERR : benchcluster_enter(&b->h, S_CLUSTER);
	if (rc != 0)
		return rc;
	for (int i = 1; i < S_NODES; i++)
		if (benchcluster_start_node(&b->h, i, S_CLUSTER, S_TTL_S, &b->node[i]) < 0)
			return EX_OSERR;
	if (benchcluster_start_rs(&b->h, "rs-bench", &b->rs) < 0)
		return EX_OSERR;
	if (!s_until_answer(b, "driver", 0, 30000)) {
		fprintf(stderr, "plexus bench recovery: the service never answered (logs in %s)\n",
		        netns_run_dir(b->h.c));
		return EX_SOFTWARE;
	}
	return 0;
}

static void s_teardown(s_bench *b)
{
	benchcluster_close(&b->h);
}

/* True once RS's record of label says its warm spare is ready. */
static bool s_spare_ready(s_bench *b, const char *label)
{
	char key[256];
	snprintf(key, sizeof key, "/plexus/%s/svc/%s", S_CLUSTER, label);
	plx_kv *kv = NULL;
	if (plx_etcd_get(b->h.etcd, key, &kv) < 0)
		return false;
	json_t *o = json_loadb((const char *)kv->value, kv->value_size, 0, NULL);
	plx_kv_free(&kv);
	const char *st = json_string_value(json_object_get(json_object_get(o, "spare"), "state"));
	bool ready = st && strcmp(st, "ready") == 0;
	json_decref(o);
	return ready;
}

/* Waits up to ms for label's warm spare to be ready. */
static bool s_wait_spare(s_bench *b, const char *label, int ms)
{
	uint64_t start = bench_now_ns();
	while (!s_spare_ready(b, label)) {
		if (benchcluster_ms(start) > ms)
			return false;
		struct timespec ts = {0, 5000000};
		nanosleep(&ts, NULL);
	}
	return true;
}

/* One crash under RS: ms from SIGKILL to the first answer of the next generation. */
static double s_crash(s_bench *b, const char *label)
{
	plx_endpoint_rec rec;
	uint64_t gen = 0;
	if (s_instance(b, label, &rec) < 0 ||
	    benchcluster_echo(&b->h, label, S_ECHO_MS, &gen) < 0 || gen != rec.generation)
		return -1;
	uint64_t start = bench_now_ns();
	if (kill((pid_t)rec.pid, SIGKILL) < 0)
		return -1;
	return s_until_answer(b, label, gen, 10000) ? benchcluster_ms(start) : -1;
}

/* One crash of the service with a warm spare, once its spare is ready. */
static double s_crash_warm(s_bench *b)
{
	return s_wait_spare(b, "warm", 10000) ? s_crash(b, "warm") : -1;
}

/* The baseline: the same program started by hand in n1, to its first answer. */
static double s_bare(s_bench *b)
{
	char label[32], env_label[64], env_etcd[600], env_cluster[64], env_node[32], env_addr[64];
	snprintf(label, sizeof label, "bare%d", b->bare_count++);
	snprintf(env_label, sizeof env_label, "PLEXUS_LABEL=%s", label);
	snprintf(env_etcd, sizeof env_etcd, "PLEXUS_ETCD=%s", netns_hub_etcd_endpoints(b->h.c));
	snprintf(env_cluster, sizeof env_cluster, "PLEXUS_CLUSTER=%s", S_CLUSTER);
	snprintf(env_node, sizeof env_node, "PLEXUS_NODE=n1");
	snprintf(env_addr, sizeof env_addr, "PLEXUS_ADDR=%s", netns_node_addr(b->h.c, 1));
	char *envp[] = {env_label, env_etcd, env_cluster, env_node, env_addr, NULL};
	char *argv[] = {(char *)benchcluster_bin("PLEXUS_TESTSVC_BIN", PLEXUS_TESTSVC_BIN), NULL};
	pid_t pid;
	uint64_t start = bench_now_ns();
	if (netns_exec(b->h.c, 1, argv, envp, &pid) < 0)
		return -1;
	double ms = s_until_answer(b, label, 0, 10000) ? benchcluster_ms(start) : -1;
	kill(pid, SIGTERM);
	netns_wait(b->h.c, pid, NULL, 5000);
	return ms;
}

/* One node death: ms from killing the service's node to the first answer from elsewhere. */
static double s_death(s_bench *b)
{
	plx_endpoint_rec rec;
	uint64_t gen = 0;
	if (s_instance(b, "driver", &rec) < 0 ||
	    benchcluster_echo(&b->h, "driver", S_ECHO_MS, &gen) < 0)
		return -1;
	int i = strcmp(rec.node, "n1") == 0 ? 1 : 2;
	uint64_t start = bench_now_ns();
	if (netns_kill_node(b->h.c, i) < 0)
		return -1;
	double ms = s_until_answer(b, "driver", gen, 20000) ? benchcluster_ms(start) : -1;
	/* the node comes back for the next round */
	if (netns_revive_node(b->h.c, i) < 0 ||
	    benchcluster_start_node(&b->h, i, S_CLUSTER, S_TTL_S, &b->node[i]) < 0)
		return -1;
	char key[128];
	snprintf(key, sizeof key, "/plexus/%s/nodes/n%d", S_CLUSTER, i);
	plx_kv *kv = NULL;
	for (uint64_t t = bench_now_ns(); plx_etcd_get(b->h.etcd, key, &kv) != 0; usleep(10000))
		if (benchcluster_ms(t) > 10000)
			return -1;
	plx_kv_free(&kv);
	return ms;
}

static int s_run(s_bench *b, int crashes, int deaths, bool json)
{
	bench_samples *crash = bench_samples_new((size_t)crashes);
	bench_samples *bare = bench_samples_new((size_t)crashes);
	bench_samples *death = bench_samples_new((size_t)deaths);
	bench_samples *warm = bench_samples_new((size_t)crashes);
	int rc = crash && bare && death && warm ? EX_OK : EX_OSERR;
	for (int i = 0; rc == EX_OK && i < crashes; i++) {
		double c = s_crash(b, "driver"), r = s_bare(b), w = s_crash_warm(b);
		if (c < 0 || r < 0 || w < 0) {
			fprintf(stderr, "plexus bench recovery: round %d failed (logs in %s)\n", i,
			        netns_run_dir(b->h.c));
			rc = EX_SOFTWARE;
			break;
		}
		bench_samples_add(crash, c);
		bench_samples_add(bare, r);
		bench_samples_add(warm, w);
		if (!json && isatty(2))
			fprintf(stderr, "\rdriver_crash %d/%d", i + 1, crashes);
	}
	for (int i = 0; rc == EX_OK && i < deaths; i++) {
		double d = s_death(b);
		if (d < 0) {
			fprintf(stderr, "plexus bench recovery: node death %d failed\n", i);
			rc = EX_SOFTWARE;
			break;
		}
		bench_samples_add(death, d);
		if (!json && isatty(2))
			fprintf(stderr, "\rnode_death %d/%d  ", i + 1, deaths);
	}
	if (!json && isatty(2))
		fprintf(stderr, "\n");
	if (rc == EX_OK) {
		bench_report *r = bench_report_new("recovery");
		const char *base = "fork+exec+first reply, no RS";
		bench_report_add(r, "driver_crash", "p50_ms", bench_samples_percentile(crash, 50),
		                 base, bench_samples_percentile(bare, 50), true);
		bench_report_add(r, "driver_crash", "p99_ms", bench_samples_percentile(crash, 99),
		                 base, bench_samples_percentile(bare, 99), true);
		bench_report_add(r, "driver_crash_warm", "p50_ms",
		                 bench_samples_percentile(warm, 50), base,
		                 bench_samples_percentile(bare, 50), true);
		bench_report_add(r, "driver_crash_warm", "p99_ms",
		                 bench_samples_percentile(warm, 99), base,
		                 bench_samples_percentile(bare, 99), true);
		bench_report_add(r, "node_death", "p50_ms", bench_samples_percentile(death, 50),
		                 "node lease TTL", S_TTL_S * 1000.0, true);
		bench_report_add(r, "node_death", "max_ms", bench_samples_percentile(death, 100),
		                 "node lease TTL", S_TTL_S * 1000.0, true);
		bench_report_print(r, json);
		bench_report_destroy(&r);
	}
	bench_samples_destroy(&crash);
	bench_samples_destroy(&bare);
	bench_samples_destroy(&death);
	bench_samples_destroy(&warm);
	return rc;
}

static const char s_usage[] =
    "usage: plexus bench recovery [--json] [--crashes N] [--deaths N]\n"
    "  driver_crash: SIGKILL to a service, to the first answer of its next generation\n"
    "                (baseline: the same service started by hand, fork+exec to first answer)\n"
    "  driver_crash_warm: the same for a service declared with a warm spare (spare = same),\n"
    "                once its spare is ready (same baseline)\n"
    "  node_death:   its node killed, to the first answer from its standby node\n"
    "                (baseline: the node lease's TTL, 2 s)\n"
    "Builds a cluster in network namespaces (root needed): etcd, plexus-node, plexus-rs.\n";

int plx_bench_recovery(int argc, char **argv)
{
	static const struct option longs[] = {{"json", no_argument, NULL, 'j'},
	                                      {"crashes", required_argument, NULL, 'c'},
	                                      {"deaths", required_argument, NULL, 'd'},
	                                      {"help", no_argument, NULL, 'h'},
	                                      {NULL, 0, NULL, 0}};
	bool json = false;
	long crashes = 50, deaths = 3;
	optind = 0;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
		char *end = NULL;
		if (c == 'j') {
			json = true;
		} else if (c == 'c' || c == 'd') {
			long v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 100000) {
				fprintf(stderr, "plexus bench recovery: --%s: expected 1..100000\n",
				        c == 'c' ? "crashes" : "deaths");
				return EX_USAGE;
			}
			*(c == 'c' ? &crashes : &deaths) = v;
		} else if (c == 'h') {
			fputs(s_usage, stdout);
			return EX_OK;
		} else {
			fputs(s_usage, stderr);
			return EX_USAGE;
		}
	}
	if (!*PLEXUS_TESTSVC_BIN && !getenv("PLEXUS_TESTSVC_BIN")) {
		fprintf(stderr, "plexus bench recovery: plexus-testsvc was not built\n");
		return EX_UNAVAILABLE;
	}
	plx_register_types(&plexus__ipc_type__descriptor);
	s_bench b = {0};
	int rc = s_setup(&b);
	if (rc == 0)
		rc = s_run(&b, (int)crashes, (int)deaths, json);
	s_teardown(&b);
	return rc;
}
