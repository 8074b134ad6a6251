/*
 * bench.c — `plexus bench registry [--json] [--rounds N]`.
 *
 * Entry points: plx_bench_registry.
 *
 * Starts a private etcd (the test harness), then measures, interleaved round by round so that
 * machine noise hits every contender alike:
 *   cached_lookup          plx_route_lookup on a table the endpoint cache fills (64 labels),
 *                          against a plain uthash lookup of the same labels (no lock) and
 *                          against an etcd range round trip (plx_etcd_get of ep/<label>);
 *   ds_publish_to_check    plx_ds_publish_u32 until a subscriber's eventfd is readable and
 *                          plx_ds_check returns the key;
 *   ep_publish_to_route    plx_endpoint_publish of a new generation until plx_route_lookup
 *                          in the same process returns it (through the cache's watch);
 * both latencies against the baseline `etcdctl watch`: time from a plain put to the value's
 * line on the stdout of a running etcdctl watch process.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <uthash.h>

#include <plexus/ds.h>
#include <plexus/endpoint.h>
#include <plexus/registry_cli.h>

#include "etcd_harness.h"

#define S_LABELS         64
#define S_LOOKUPS        2000000
#define S_RANGE_TRIPS    300
#define S_EVENT_LIMIT_MS 5000
#define S_CLUSTER        "bench"

typedef struct s_case {
	const char *name;
	const char *metric;
	double plexus;
	const char *baseline;
	double baseline_value;
} s_case;

typedef struct s_bench {
	plx_etcdh *harness;
	plx_etcd *etcd;
	plx_ctx *ctx;
	plx_epcache *cache;
	plx_ds *publisher;
	plx_ds *subscriber;
	pid_t watcher; /* etcdctl watch */
	int watcher_out;
	char line[4096];
	size_t line_len;
	uint64_t generation;
} s_bench;

static int64_t s_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int s_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double s_percentile(double *v, size_t n, int p)
{
	qsort(v, n, sizeof *v, s_cmp_double);
	size_t i = n * (size_t)p / 100;
	return v[i < n ? i : n - 1];
}

/* ---- etcdctl watch ---- */

static int s_start_watcher(s_bench *b)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	const char *bin =
	    getenv("PLEXUS_ETCDCTL_BIN") ? getenv("PLEXUS_ETCDCTL_BIN") : "/usr/bin/etcdctl";
	char endpoints[128];
	snprintf(endpoints, sizeof endpoints, "--endpoints=%s", plx_etcdh_url(b->harness, 0));
	pid_t parent = getpid(), pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		dup2(fds[1], 1);
		setenv("ETCDCTL_API", "3", 1);
		execl(bin, "etcdctl", endpoints, "watch", "/bench/baseline", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	b->watcher = pid;
	b->watcher_out = fds[0];
	return 0;
}

static void s_stop_watcher(s_bench *b)
{
	if (b->watcher > 0) {
		kill(-b->watcher, SIGKILL);
		waitpid(b->watcher, NULL, 0);
		b->watcher = 0;
	}
	if (b->watcher_out >= 0)
		close(b->watcher_out);
	b->watcher_out = -1;
}

/* Reads etcdctl's output until a line equal to want; waits at most ms. Returns 0, -ETIMEDOUT
 * or -EPIPE (etcdctl ended). */
static int s_await_line(s_bench *b, const char *want, int ms)
{
	int64_t deadline = s_now_ns() + (int64_t)ms * 1000000;
	for (;;) {
		char *nl;
		while ((nl = memchr(b->line, '\n', b->line_len)) != NULL) {
			*nl = '\0';
			bool match = strcmp(b->line, want) == 0;
			b->line_len -= (size_t)(nl + 1 - b->line);
			memmove(b->line, nl + 1, b->line_len);
			if (match)
				return 0;
		}
		int left = (int)((deadline - s_now_ns()) / 1000000);
		struct pollfd pfd = {.fd = b->watcher_out, .events = POLLIN};
		if (left <= 0 || poll(&pfd, 1, left) == 0)
			return -ETIMEDOUT;
		if (b->line_len == sizeof b->line)
			b->line_len = 0; /* a line that long is none of ours */
		ssize_t n =
		    read(b->watcher_out, b->line + b->line_len, sizeof b->line - b->line_len);
		if (n <= 0)
			return -EPIPE;
		b->line_len += (size_t)n;
	}
}

/* Puts until etcdctl shows a value: its watch is then established. */
static int s_warm_watcher(s_bench *b)
{
	for (int i = 0; i < 50; i++) {
		int rc = plx_etcd_put(b->etcd, "/bench/baseline", "warm", 4, 0, NULL);
		if (rc < 0)
			return rc;
		if ((rc = s_await_line(b, "warm", 200)) != -ETIMEDOUT)
			return rc;
	}
	return -ETIMEDOUT;
}

/* One baseline sample in ms: a put until its line appears. */
static int s_sample_baseline(s_bench *b, int round, double *ms)
{
	char value[32];
	snprintf(value, sizeof value, "v%d", round);
	int64_t start = s_now_ns();
	int rc = plx_etcd_put(b->etcd, "/bench/baseline", value, strlen(value), 0, NULL);
	if (rc == 0)
		rc = s_await_line(b, value, S_EVENT_LIMIT_MS);
	*ms = (double)(s_now_ns() - start) / 1e6;
	return rc;
}

/* ---- Plexus samples ---- */

static int s_sample_ds(s_bench *b, int round, double *ms)
{
	int64_t start = s_now_ns();
	int rc = plx_ds_publish_u32(b->publisher, "bench.key", (uint32_t)round, PLX_DSF_OVERWRITE);
	struct pollfd pfd = {.fd = plx_ds_fd(b->subscriber), .events = POLLIN};
	if (rc == 0 && poll(&pfd, 1, S_EVENT_LIMIT_MS) != 1)
		rc = -ETIMEDOUT;
	plx_ds_change change;
	while (rc == 0 && plx_ds_check(b->subscriber, &change) == 0)
		;
	*ms = (double)(s_now_ns() - start) / 1e6;
	return rc;
}

static int s_publish_endpoint(s_bench *b, const char *label, uint64_t *generation)
{
	plx_endpoint_rec rec = {.pid = getpid(), .start_time = time(NULL) * 1000};
	snprintf(rec.label, sizeof rec.label, "%.32s", label);
	snprintf(rec.node, sizeof rec.node, "bench");
	snprintf(rec.address, sizeof rec.address, "tcp://127.0.0.1:9/%.32s", label);
	snprintf(rec.state, sizeof rec.state, "up");
	int rc = plx_generation_next(b->etcd, S_CLUSTER, label, &rec.generation);
	if (rc == 0)
		rc = plx_endpoint_publish(b->etcd, S_CLUSTER, &rec, 0);
	if (rc == 0 && generation)
		*generation = rec.generation;
	return rc;
}

/* Waits until the route table holds label at generation. */
static int s_await_route(s_bench *b, const char *label, uint64_t generation, int ms)
{
	int64_t deadline = s_now_ns() + (int64_t)ms * 1000000;
	uint64_t g = 0;
	while (plx_route_lookup(b->ctx, label, &g, NULL, 0) != 0 || g != generation) {
		if (s_now_ns() > deadline)
			return -ETIMEDOUT;
		usleep(20);
	}
	return 0;
}

static int s_sample_ep(s_bench *b, double *ms)
{
	char label[] = "bench-svc";
	plx_endpoint_rec rec = {
	    .pid = getpid(), .start_time = time(NULL) * 1000, .generation = ++b->generation};
	snprintf(rec.label, sizeof rec.label, "%s", label);
	snprintf(rec.address, sizeof rec.address, "tcp://127.0.0.1:9");
	snprintf(rec.state, sizeof rec.state, "up");
	/* The counter is advanced outside the timed part: the path measured is publish → route. */
	char gen_key[64], text[24];
	snprintf(gen_key, sizeof gen_key, "/plexus/%s/gen/%s", S_CLUSTER, label);
	snprintf(text, sizeof text, "%" PRIu64, rec.generation);
	int rc = plx_etcd_put(b->etcd, gen_key, text, strlen(text), 0, NULL);
	int64_t start = s_now_ns();
	if (rc == 0)
		rc = plx_endpoint_publish(b->etcd, S_CLUSTER, &rec, 0);
	if (rc == 0)
		rc = s_await_route(b, label, rec.generation, S_EVENT_LIMIT_MS);
	*ms = (double)(s_now_ns() - start) / 1e6;
	return rc;
}

/* ---- lookups ---- */

typedef struct s_entry {
	char label[PLX_LABEL_MAX];
	uint64_t generation;
	char address[PLX_ADDRESS_MAX];
	UT_hash_handle hh;
} s_entry;

static void s_label(int i, char *out, size_t size)
{
	snprintf(out, size, "svc-%02d", i);
}

static double s_lookup_plexus(s_bench *b)
{
	char labels[S_LABELS][16], address[PLX_ADDRESS_MAX];
	uint64_t sum = 0, g = 0;
	for (int i = 0; i < S_LABELS; i++)
		s_label(i, labels[i], sizeof labels[i]);
	int64_t start = s_now_ns();
	for (int i = 0; i < S_LOOKUPS; i++)
		if (plx_route_lookup(b->ctx, labels[i % S_LABELS], &g, address, sizeof address) ==
		    0)
			sum += g;
	double ns = (double)(s_now_ns() - start) / S_LOOKUPS;
	return sum > 0 ? ns : -1;
}

static double s_lookup_uthash(void)
{
	s_entry *table = NULL, entries[S_LABELS] = {0}, *found;
	char labels[S_LABELS][16], address[PLX_ADDRESS_MAX];
	for (int i = 0; i < S_LABELS; i++) {
		s_label(i, labels[i], sizeof labels[i]);
		snprintf(entries[i].label, sizeof entries[i].label, "%.15s", labels[i]);
		snprintf(entries[i].address, sizeof entries[i].address, "tcp://127.0.0.1:9/%.15s",
		         labels[i]);
		entries[i].generation = 1;
		HASH_ADD_STR(table, label, &entries[i]);
	}
	uint64_t sum = 0;
	int64_t start = s_now_ns();
	for (int i = 0; i < S_LOOKUPS; i++) {
		HASH_FIND_STR(table, labels[i % S_LABELS], found);
		if (found) { /* the same copy plx_route_lookup makes, without its lock */
			sum += found->generation;
			memcpy(address, found->address, strlen(found->address) + 1);
		}
	}
	double ns = (double)(s_now_ns() - start) / S_LOOKUPS;
	HASH_CLEAR(hh, table);
	return sum > 0 ? ns : -1;
}

static double s_lookup_etcd(s_bench *b)
{
	int64_t start = s_now_ns();
	for (int i = 0; i < S_RANGE_TRIPS; i++) {
		plx_endpoint_rec rec;
		char label[16];
		s_label(i % S_LABELS, label, sizeof label);
		if (plx_endpoint_lookup(b->etcd, S_CLUSTER, label, &rec) < 0)
			return -1;
	}
	return (double)(s_now_ns() - start) / S_RANGE_TRIPS;
}

/* ---- set-up and output ---- */

static int s_setup(s_bench *b)
{
	b->watcher_out = -1;
	b->harness = plx_etcdh_start(1);
	if (!b->harness) {
		fprintf(stderr, "plexus bench registry: cannot start etcd: %s\n",
		        plx_etcdh_error());
		return EX_UNAVAILABLE;
	}
	plx_etcd_opts opts = {.endpoints = plx_etcdh_endpoints(b->harness), .timeout_ms = 5000};
	b->etcd = plx_etcd_new(&opts);
	b->ctx = plx_ctx_new();
	b->publisher = b->etcd ? plx_ds_new(b->etcd, S_CLUSTER, "bench-pub") : NULL;
	b->subscriber = b->etcd ? plx_ds_new(b->etcd, S_CLUSTER, "bench-sub") : NULL;
	if (!b->ctx || !b->publisher || !b->subscriber)
		return EX_SOFTWARE;
	int rc = 0;
	for (int i = 0; i < S_LABELS && rc == 0; i++) {
		char label[16];
		s_label(i, label, sizeof label);
		rc = s_publish_endpoint(b, label, NULL);
	}
	if (rc == 0)
		rc = s_publish_endpoint(b, "bench-svc", &b->generation);
	if (rc == 0)
		rc = (b->cache = plx_epcache_new(b->etcd, S_CLUSTER, b->ctx)) ? 0 : -errno;
	if (rc == 0)
		rc = plx_ds_subscribe(b->subscriber, "bench\\..*", 0);
	if (rc == 0)
		rc = s_start_watcher(b);
	if (rc == 0)
		rc = s_warm_watcher(b);
	if (rc < 0) {
		fprintf(stderr, "plexus bench registry: set-up failed: %s %s\n", strerror(-rc),
		        plx_etcd_errmsg());
		return EX_SOFTWARE;
	}
	return EX_OK;
}

static void s_teardown(s_bench *b)
{
	s_stop_watcher(b);
	plx_epcache_destroy(&b->cache);
	plx_ds_destroy(&b->subscriber);
	plx_ds_destroy(&b->publisher);
	plx_ctx_destroy(&b->ctx);
	plx_etcd_destroy(&b->etcd);
	plx_etcdh_stop(&b->harness);
}

static void s_print(const s_case *cases, size_t n, bool json)
{
	if (!json) {
		printf("%-22s %-8s %12s  %-28s %12s %8s\n", "case", "metric", "plexus", "baseline",
		       "value", "ratio");
		for (size_t i = 0; i < n; i++)
			printf("%-22s %-8s %12.4f  %-28s %12.4f %8.3g\n", cases[i].name,
			       cases[i].metric, cases[i].plexus, cases[i].baseline,
			       cases[i].baseline_value, cases[i].plexus / cases[i].baseline_value);
		return;
	}
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list,
		                      json_pack("{s:s, s:s, s:f, s:s, s:f, s:f}", "name",
		                                cases[i].name, "metric", cases[i].metric, "plexus",
		                                cases[i].plexus, "baseline", cases[i].baseline,
		                                "baseline_value", cases[i].baseline_value, "ratio",
		                                cases[i].plexus / cases[i].baseline_value));
	json_t *root = json_pack("{s:s, s:o}", "bench", "registry", "cases", list);
	char *text = json_dumps(root, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	printf("%s\n", text ? text : "{}");
	free(text);
	json_decref(root);
}

/* Runs the interleaved latency rounds. Returns 0 or an error. */
static int s_rounds(s_bench *b, int rounds, double *ds, double *ep, double *base)
{
	for (int i = 0; i < rounds; i++) {
		int rc = s_sample_ds(b, i, &ds[i]);
		if (rc == 0)
			rc = s_sample_ep(b, &ep[i]);
		if (rc == 0)
			rc = s_sample_baseline(b, i, &base[i]);
		if (rc < 0) {
			fprintf(stderr, "plexus bench registry: round %d failed: %s %s\n", i,
			        strerror(-rc), plx_etcd_errmsg());
			return rc;
		}
	}
	return 0;
}

static int s_measure(s_bench *b, int rounds, bool json)
{
	double *ds = calloc((size_t)rounds, sizeof *ds), *ep = calloc((size_t)rounds, sizeof *ep);
	double *base = calloc((size_t)rounds, sizeof *base);
	int rc = ds && ep && base ? s_rounds(b, rounds, ds, ep, base) : -ENOMEM;
	double plexus_ns = s_lookup_plexus(b), uthash_ns = s_lookup_uthash();
	double etcd_ns = s_lookup_etcd(b);
	if (rc == 0 && (plexus_ns < 0 || uthash_ns < 0 || etcd_ns < 0))
		rc = -EIO;
	if (rc == 0) {
		double ds50 = s_percentile(ds, (size_t)rounds, 50),
		       ds99 = s_percentile(ds, (size_t)rounds, 99);
		double ep50 = s_percentile(ep, (size_t)rounds, 50),
		       ep99 = s_percentile(ep, (size_t)rounds, 99);
		double b50 = s_percentile(base, (size_t)rounds, 50),
		       b99 = s_percentile(base, (size_t)rounds, 99);
		s_case cases[] = {
		    {"cached_lookup", "mean_ns", plexus_ns, "uthash lookup (no lock)", uthash_ns},
		    {"cached_lookup", "mean_ns", plexus_ns, "etcd range round trip", etcd_ns},
		    {"ds_publish_to_check", "p50_ms", ds50, "etcdctl watch", b50},
		    {"ds_publish_to_check", "p99_ms", ds99, "etcdctl watch", b99},
		    {"ep_publish_to_route", "p50_ms", ep50, "etcdctl watch", b50},
		    {"ep_publish_to_route", "p99_ms", ep99, "etcdctl watch", b99},
		};
		s_print(cases, sizeof cases / sizeof cases[0], json);
	}
	free(ds);
	free(ep);
	free(base);
	return rc == 0 ? EX_OK : EX_SOFTWARE;
}

static const char s_usage[] =
    "usage: plexus bench registry [--json] [--rounds N]\n"
    "Starts a private etcd on loopback and measures cached label lookups (against a uthash\n"
    "lookup and an etcd round trip) and publish-to-notification latency (against a running\n"
    "`etcdctl watch`), interleaved in one run. --rounds: latency samples (default 200).\n";

int plx_bench_registry(int argc, char **argv)
{
	static const struct option longs[] = {{"json", no_argument, NULL, 'j'},
	                                      {"rounds", required_argument, NULL, 'r'},
	                                      {"help", no_argument, NULL, 'h'},
	                                      {NULL, 0, NULL, 0}};
	bool json = false;
	long rounds = 200;
	int c;
	char *end;
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		if (c == 'j') {
			json = true;
		} else if (c == 'r' && (rounds = strtol(optarg, &end, 10)) > 0 && !*end &&
		           rounds <= 100000) {
			continue;
		} else {
			fputs(s_usage, c == 'h' ? stdout : stderr);
			return c == 'h' ? EX_OK : EX_USAGE;
		}
	}
	if (optind != argc) {
		fputs(s_usage, stderr);
		return EX_USAGE;
	}
	s_bench b = {0};
	int rc = s_setup(&b);
	if (rc == EX_OK)
		rc = s_measure(&b, (int)rounds, json);
	s_teardown(&b);
	return rc;
}
