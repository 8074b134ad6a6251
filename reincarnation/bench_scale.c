/*
 * bench_scale.c — `plexus bench scale [--json] [--nodes N,N,...] [--services S] [--rest SEC]`:
 * how a cluster's costs grow with its size, on the network-namespace harness
 * (docs/performance.md).
 *
 * Entry points: plx_bench_scale.
 *
 * For each N: etcd on the hub, plexus-rs alone on place 0, plexus-node on places 1..N (nodes
 * n1..nN) and S plexus-testsvc services per node (s<i>-<k> on ni, standby n(i%N+1)); this
 * process sits on the hub as the services' client. Measured:
 *   boot_all      plexus-rs started (every node registered) to every service answering IPC_ECHO.
 *   boot_events   watch events etcd sent meanwhile (etcd_debugging_mvcc_events_total): one per
 *                 change and watcher that covers it, the fan-out of every publication.
 *   rs_cpu        plexus-rs's CPU (utime + stime from /proc/PID/stat) over --rest seconds at rest.
 *   etcd_rps      gRPC messages etcd received per second over the same window (the sum of
 *                 grpc_server_msg_received_total from its /metrics: every range, txn, lease
 *                 keep-alive and watch request, the JSON gateway's included).
 *   death_detect  n1 killed (netns_kill_node) to its key under nodes/ gone from etcd.
 *   death_recover n1 killed to each of its services answering from a newer generation.
 *   deaths_recover min(8, N/2) nodes (n2, n4, ...) killed at once (netns_kill_nodes) to all
 *                 their services answering from newer generations.
 *   deaths_signal the clock's start to the last SIGKILL to a process then in those nodes:
 *                 how far apart the deaths were.
 *   deaths_kill   how long the harness took to kill those nodes (signals, namespaces deleted,
 *                 processes reaped, links gone).
 * Baselines: the first N's figure scaled linearly to this N ("linear from nK": a ratio above 1
 * grows faster than linearly), and the node lease's TTL for detection and recovery. The load
 * average at the start of each N is reported too (the machine may be shared).
 * Needs root; binaries as for `plexus bench recovery`.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <plexus/endpoint.h>
#include <plexus/ipc_stub.h>
#include <plexus/rs_cli.h>

#include "bench.h"
#include "benchcluster.h"
#include "netns_harness.h"

#define S_CLUSTER    "scale"
#define S_TTL_S      2
#define S_MAX_SIZES  8
#define S_MAX_DEATHS 8
#define S_ECHO_MS    200

typedef struct s_scale {
	benchcluster h;
	int n, per; /* nodes (places 1..n), services per node */
	pid_t rs;
} s_scale;

typedef struct s_result {
	int n, deaths;
	double load, boot_ms, boot_events, rs_cpu, etcd_rps, detect_ms, recover_ms, multi_ms;
	double multi_kill_ms;   /* the harness killing those nodes */
	double multi_signal_ms; /* the clock's start to their last SIGKILL */
} s_result;

/* The services a death phase waits for: label and generation at the kill. */
typedef struct s_victims {
	char (*label)[PLX_LABEL_MAX];
	uint64_t *gen;
	size_t n;
} s_victims;

static void s_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

static int s_write_file(s_scale *b)
{
	FILE *f = fopen(b->h.file, "w");
	if (!f)
		return -errno;
	fprintf(f, "[cluster]\nname = %s\nlease_ttl = %ds\n\n", S_CLUSTER, S_TTL_S);
	for (int i = 0; i <= b->n; i++)
		fprintf(f, "[node n%d]\nmac = 02:00:00:00:01:%02x\naddr = %s\n\n", i, i,
		        netns_node_addr(b->h.c, i));
	for (int i = 1; i <= b->n; i++)
		for (int k = 0; k < b->per; k++)
			fprintf(f,
			        "[service s%d-%d]\nprogram = %s\nnode = n%d\nstandby = n%d\n"
			        "heartbeat = 1s\nbackoff = 1ms\nbackoff_cap = 1ms\nmax_restarts = "
			        "0\n\n",
			        i, k, benchcluster_bin("PLEXUS_TESTSVC_BIN", PLEXUS_TESTSVC_BIN), i,
			        i % b->n + 1);
	return fclose(f) == 0 ? 0 : -errno;
}

/* Waits until every victim answers from a generation above its own; ms from start, or -1
 * after timeout_ms. */
static double s_until_all(s_scale *b, const s_victims *v, uint64_t start, int timeout_ms)
{
	bool *done = calloc(v->n + 1, sizeof *done);
	size_t left = v->n;
	while (done && left > 0 && benchcluster_ms(start) < timeout_ms) {
		for (size_t i = 0; i < v->n; i++) {
			uint64_t gen = 0;
			/* no echo before the route moved on (one to a dead node waits) */
			if (!done[i] &&
			    plx_route_lookup(b->h.ctx, v->label[i], &gen, NULL, 0) == 0 &&
			    gen > v->gen[i] &&
			    benchcluster_echo(&b->h, v->label[i], S_ECHO_MS, &gen) == 0 &&
			    gen > v->gen[i]) {
				done[i] = true;
				left--;
			}
		}
		if (left > 0)
			s_sleep_ms(5);
	}
	free(done);
	return left == 0 ? benchcluster_ms(start) : -1;
}

/* Number of keys under /plexus/<cluster>/<kind>/, or a negative error. */
static int s_count(s_scale *b, const char *kind)
{
	char prefix[128];
	snprintf(prefix, sizeof prefix, "/plexus/%s/%s/", S_CLUSTER, kind);
	plx_kvs *kvs = NULL;
	int rc = plx_etcd_range(b->h.etcd, prefix, &kvs);
	if (rc < 0)
		return rc;
	rc = (int)kvs->count;
	plx_kvs_free(&kvs);
	return rc;
}

static bool s_node_key(s_scale *b, int i)
{
	char key[128];
	snprintf(key, sizeof key, "/plexus/%s/nodes/n%d", S_CLUSTER, i);
	plx_kv *kv = NULL;
	int rc = plx_etcd_get(b->h.etcd, key, &kv);
	plx_kv_free(&kv);
	return rc == 0;
}

/* The services now on any of the nodes in kill[0..nkill): their labels and generations. */
static int s_victims_on(s_scale *b, const int *kill, int nkill, s_victims *v)
{
	plx_endpoint_rec *recs = NULL;
	int n = plx_endpoint_list(b->h.etcd, S_CLUSTER, &recs, NULL);
	if (n < 0)
		return n;
	v->label = calloc((size_t)n + 1, sizeof *v->label);
	v->gen = calloc((size_t)n + 1, sizeof *v->gen);
	v->n = 0;
	for (int i = 0; v->label && v->gen && i < n; i++)
		for (int k = 0; k < nkill; k++) {
			char name[16];
			snprintf(name, sizeof name, "n%d", kill[k]);
			if (strcmp(recs[i].node, name) == 0 && recs[i].label[0] == 's') {
				snprintf(v->label[v->n], PLX_LABEL_MAX, "%s", recs[i].label);
				v->gen[v->n++] = recs[i].generation;
			}
		}
	free(recs);
	return v->label && v->gen ? 0 : -ENOMEM;
}

static void s_victims_free(s_victims *v)
{
	free(v->label);
	free(v->gen);
	*v = (s_victims){0};
}

/* Sum of every sample of metric name in etcd's /metrics, or a negative value. */
static double s_etcd_metric(s_scale *b, const char *name)
{
	const char *url = netns_hub_etcd_endpoints(b->h.c);
	char host[64];
	int port = 0;
	if (!url || sscanf(url, "http://%63[^:]:%d", host, &port) != 2)
		return -1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = {2, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	static const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1)) {
		close(fd);
		return -1;
	}
	size_t cap = 1 << 20, len = 0;
	char *buf = malloc(cap + 1);
	ssize_t got;
	while (buf && len < cap && (got = read(fd, buf + len, cap - len)) > 0)
		len += (size_t)got;
	close(fd);
	if (!buf)
		return -1;
	buf[len] = '\0';
	double sum = 0;
	size_t nlen = strlen(name);
	for (char *line = buf; line && *line;
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (strncmp(line, name, nlen) == 0 && (line[nlen] == '{' || line[nlen] == ' ')) {
			char *value = strchr(line + nlen, ' ');
			if (line[nlen] == '{') {
				char *close_brace = strchr(line, '}');
				value = close_brace ? strchr(close_brace, ' ') : NULL;
			}
			if (value)
				sum += strtod(value, NULL);
		}
	free(buf);
	return sum;
}

/* CPU ticks (utime + stime) of pid, or -1. */
static long long s_cpu_ticks(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t len = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[len] = '\0';
	char *p = strrchr(buf, ')');
	unsigned long long ut = 0, st = 0;
	/* after ") ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
	 * utime stime */
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
}

static double s_loadavg(void)
{
	double load = -1;
	FILE *f = fopen("/proc/loadavg", "r");
	if (f) {
		if (fscanf(f, "%lf", &load) != 1)
			load = -1;
		fclose(f);
	}
	return load;
}

static int s_setup(s_scale *b)
{
	int rc = benchcluster_open(&b->h, b->n + 1, "plexus bench scale");
	if (rc == 0)
		rc = s_write_file(b) < 0 ? EX_OSERR : benchcluster_enter(&b->h, S_CLUSTER);
	if (rc != 0)
		return rc;
	pid_t pid; /* the harness kills what runs in a place; nobody waits for it here */
	for (int i = 1; i <= b->n; i++)
		if (benchcluster_start_node(&b->h, i, S_CLUSTER, S_TTL_S, &pid) < 0)
			return EX_OSERR;
	uint64_t start = bench_now_ns();
	while (s_count(b, "nodes") < b->n) {
		if (benchcluster_ms(start) > 30000 + 1000.0 * b->n) {
			fprintf(stderr, "plexus bench scale: only %d of %d nodes registered\n",
			        s_count(b, "nodes"), b->n);
			return EX_SOFTWARE;
		}
		s_sleep_ms(20);
	}
	return 0;
}

static void s_teardown(s_scale *b)
{
	benchcluster_close(&b->h);
}

/* Starts plexus-rs and waits for every service to answer: ms, or -1; *events: the watch
 * events etcd sent meanwhile. */
static double s_boot(s_scale *b, double *events)
{
	s_victims all = {0};
	all.n = (size_t)(b->n * b->per);
	all.label = calloc(all.n, sizeof *all.label);
	all.gen = calloc(all.n, sizeof *all.gen);
	if (!all.label || !all.gen) {
		s_victims_free(&all);
		return -1;
	}
	for (int i = 1; i <= b->n; i++)
		for (int k = 0; k < b->per; k++)
			snprintf(all.label[(i - 1) * b->per + k], PLX_LABEL_MAX, "s%d-%d", i, k);
	double before = s_etcd_metric(b, "etcd_debugging_mvcc_events_total");
	uint64_t start = bench_now_ns();
	double ms = benchcluster_start_rs(&b->h, "rs-scale", &b->rs) < 0
	                ? -1
	                : s_until_all(b, &all, start, 60000 + 3000 * b->n);
	*events = s_etcd_metric(b, "etcd_debugging_mvcc_events_total") - before;
	s_victims_free(&all);
	return ms;
}

/* RS's CPU % and etcd's messages/s over rest_s seconds with nothing happening. */
static int s_rest(s_scale *b, int rest_s, s_result *r)
{
	s_sleep_ms(1000); /* the boot's last publications settle */
	long long t0 = s_cpu_ticks(b->rs);
	double m0 = s_etcd_metric(b, "grpc_server_msg_received_total");
	s_sleep_ms(rest_s * 1000);
	long long t1 = s_cpu_ticks(b->rs);
	double m1 = s_etcd_metric(b, "grpc_server_msg_received_total");
	if (t0 < 0 || t1 < 0 || m0 < 0 || m1 < 0)
		return -1;
	r->rs_cpu = 100.0 * (double)(t1 - t0) / (double)sysconf(_SC_CLK_TCK) / rest_s;
	r->etcd_rps = (m1 - m0) / rest_s;
	return 0;
}

/* Kills the nodes in kill[0..nkill) at once; ms to every service that was on them answering
 * again (and, for one node, to its key gone in *detect_ms; in *kill_ms the kill's own time,
 * in *signal_ms the time to its last SIGKILL). -1 on failure. */
static double s_deaths(s_scale *b, const int *kill, int nkill, double *detect_ms, double *kill_ms,
                       double *signal_ms)
{
	s_victims v = {0};
	if (s_victims_on(b, kill, nkill, &v) < 0 || v.n == 0) {
		s_victims_free(&v);
		return -1;
	}
	uint64_t start = bench_now_ns();
	if (netns_kill_nodes(b->h.c, kill, nkill) < 0) {
		s_victims_free(&v);
		return -1;
	}
	*kill_ms = benchcluster_ms(start);
	*signal_ms = (double)(netns_kill_signalled_ns(b->h.c) - start) / 1e6;
	if (detect_ms) {
		while (s_node_key(b, kill[0]) && benchcluster_ms(start) < 30000)
			s_sleep_ms(5);
		*detect_ms = benchcluster_ms(start);
	}
	double ms = s_until_all(b, &v, start, 30000 + 500 * (int)v.n);
	s_victims_free(&v);
	return ms;
}

/* Brings node i back and waits for its registration. */
static int s_revive(s_scale *b, int i)
{
	pid_t pid;
	if (netns_revive_node(b->h.c, i) < 0 ||
	    benchcluster_start_node(&b->h, i, S_CLUSTER, S_TTL_S, &pid) < 0)
		return -1;
	uint64_t start = bench_now_ns();
	while (!s_node_key(b, i))
		if (benchcluster_ms(start) > 20000)
			return -1;
		else
			s_sleep_ms(10);
	return 0;
}

static int s_measure(s_scale *b, int rest_s, s_result *r)
{
	r->n = b->n;
	r->load = s_loadavg();
	if ((r->boot_ms = s_boot(b, &r->boot_events)) < 0)
		return fprintf(stderr, "plexus bench scale: n=%d: not every service answered\n",
		               b->n),
		       -1;
	if (s_rest(b, rest_s, r) < 0)
		return fprintf(stderr, "plexus bench scale: n=%d: /proc or /metrics unreadable\n",
		               b->n),
		       -1;
	int one[] = {1};
	double kill_ms, signal_ms;
	if ((r->recover_ms = s_deaths(b, one, 1, &r->detect_ms, &kill_ms, &signal_ms)) < 0 ||
	    s_revive(b, 1) < 0)
		return fprintf(stderr, "plexus bench scale: n=%d: one node's death failed\n", b->n),
		       -1;
	int kill[S_MAX_DEATHS];
	r->deaths = b->n / 2 < S_MAX_DEATHS ? b->n / 2 : S_MAX_DEATHS;
	for (int k = 0; k < r->deaths; k++)
		kill[k] = 2 * (k + 1);
	if (r->deaths > 0 && (r->multi_ms = s_deaths(b, kill, r->deaths, NULL, &r->multi_kill_ms,
	                                             &r->multi_signal_ms)) < 0)
		return fprintf(stderr, "plexus bench scale: n=%d: %d deaths failed\n", b->n,
		               r->deaths),
		       -1;
	return 0;
}

static void s_report(const s_result *r, int count, bool json)
{
	bench_report *rep = bench_report_new("scale");
	const s_result *base = &r[0];
	char name[64], lin[64];
	snprintf(lin, sizeof lin, "linear from n%d", base->n);
	for (int i = 0; i < count; i++) {
		double f = (double)r[i].n / base->n;
		snprintf(name, sizeof name, "n%d load_avg", r[i].n);
		bench_report_add(rep, name, "1min", r[i].load, "cores", 2, true);
		snprintf(name, sizeof name, "n%d boot_all", r[i].n);
		bench_report_add(rep, name, "ms", r[i].boot_ms, lin, base->boot_ms * f, true);
		snprintf(name, sizeof name, "n%d boot_events", r[i].n);
		bench_report_add(rep, name, "events", r[i].boot_events, lin, base->boot_events * f,
		                 true);
		snprintf(name, sizeof name, "n%d rs_cpu_rest", r[i].n);
		bench_report_add(rep, name, "pct", r[i].rs_cpu, lin, base->rs_cpu * f, true);
		snprintf(name, sizeof name, "n%d etcd_rest", r[i].n);
		bench_report_add(rep, name, "msg_per_s", r[i].etcd_rps, lin, base->etcd_rps * f,
		                 true);
		snprintf(name, sizeof name, "n%d death_detect", r[i].n);
		bench_report_add(rep, name, "ms", r[i].detect_ms, "node lease TTL",
		                 S_TTL_S * 1000.0, true);
		snprintf(name, sizeof name, "n%d death_recover", r[i].n);
		bench_report_add(rep, name, "ms", r[i].recover_ms, "node lease TTL",
		                 S_TTL_S * 1000.0, true);
		if (r[i].deaths > 0) {
			snprintf(name, sizeof name, "n%d deaths%d_recover", r[i].n, r[i].deaths);
			bench_report_add(rep, name, "ms", r[i].multi_ms, "node lease TTL",
			                 S_TTL_S * 1000.0, true);
			snprintf(name, sizeof name, "n%d deaths%d_signal", r[i].n, r[i].deaths);
			bench_report_add(rep, name, "ms", r[i].multi_signal_ms, lin,
			                 base->multi_signal_ms * f, true);
			snprintf(name, sizeof name, "n%d deaths%d_kill", r[i].n, r[i].deaths);
			bench_report_add(rep, name, "ms", r[i].multi_kill_ms, lin,
			                 base->multi_kill_ms * f, true);
		}
	}
	bench_report_print(rep, json);
	bench_report_destroy(&rep);
}

typedef struct s_sizes {
	int n[S_MAX_SIZES];
	int count;
} s_sizes;

/* Parses "8,16,32,64" into sizes (each 2..NETNS_MAX_NODES-1, RS takes a place). */
static int s_parse_sizes(const char *value, void *arg)
{
	s_sizes *s = arg;
	s->count = 0;
	for (const char *p = value; *p;) {
		char *end = NULL;
		long v = strtol(p, &end, 10);
		if (end == p || v < 2 || v > NETNS_MAX_NODES - 1 || s->count == S_MAX_SIZES ||
		    (*end && *end != ','))
			return -EINVAL;
		s->n[s->count++] = (int)v;
		p = *end ? end + 1 : end;
	}
	return s->count > 0 ? 0 : -EINVAL;
}

static const char s_about[] =
    "Builds, for each N, a cluster in network namespaces (root needed): etcd, plexus-rs on its\n"
    "own node, plexus-node on N nodes with S plexus-testsvc services each. Measures boot_all\n"
    "(RS start to every service answering) and the watch events etcd sent meanwhile; RS's CPU\n"
    "and etcd's received messages/s at rest; one node's death (detection: its key gone;\n"
    "recovery: its services answering again) and min(8, N/2) deaths at once (and how long\n"
    "the harness took to signal and to kill them). Baselines: the first N scaled linearly,\n"
    "the node lease TTL.\n";

int plx_bench_scale(int argc, char **argv)
{
	bool json = false;
	int per = 4, rest_s = 10;
	s_sizes sizes = {{8, 16, 32, 64}, 4};
	const bench_arg args[] = {
	    {"json", NULL, "one JSON object instead of the table", &json, NULL, 0, 0, NULL, NULL},
	    {"nodes", "N,N,...", "cluster sizes, in order (default 8,16,32,64)", NULL, NULL, 0, 0,
	     s_parse_sizes, &sizes},
	    {"services", "S", "services per node (default 4)", NULL, &per, 1, 16, NULL, NULL},
	    {"rest", "SEC", "the window of the at-rest figures (default 10)", NULL, &rest_s, 1, 600,
	     NULL, NULL},
	};
	int rc = bench_args_parse(argc, argv, "scale", s_about, args, sizeof args / sizeof *args);
	if (rc >= 0)
		return rc;
	if (!*PLEXUS_TESTSVC_BIN && !getenv("PLEXUS_TESTSVC_BIN")) {
		fprintf(stderr, "plexus bench scale: plexus-testsvc was not built\n");
		return EX_UNAVAILABLE;
	}
	plx_register_types(&plexus__ipc_type__descriptor);
	s_result results[S_MAX_SIZES] = {0};
	int done = 0;
	rc = EX_OK;
	for (int i = 0; i < sizes.count && rc == EX_OK; i++) {
		s_scale b = {.n = sizes.n[i], .per = per};
		rc = s_setup(&b);
		if (rc == EX_OK)
			rc = s_measure(&b, rest_s, &results[i]) == 0 ? EX_OK : EX_SOFTWARE;
		if (rc != EX_OK && b.h.c)
			netns_cluster_failed(b.h.c);
		s_teardown(&b);
		if (rc == EX_OK)
			done++;
		if (!json && isatty(2))
			fprintf(stderr, "n=%d done\n", sizes.n[i]);
	}
	if (done > 0)
		s_report(results, done, json);
	return rc;
}
