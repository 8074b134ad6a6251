/*
 * cli.c — `plexus node ls`: the node records of a cluster.
 *
 * Entry points: plx_node_cli.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include <jansson.h>

#include <plexus/etcd.h>
#include <plexus/node_cli.h>

static const char s_usage[] =
    "usage: plexus node ls            list the nodes: name, address, age, load, services, pid\n"
    "       plexus node cycle NODE    RS power-cycles NODE (plexus node cycle --help)\n"
    "options: --etcd URL[,URL...]  etcd members (default $PLEXUS_ETCD, else "
    "http://127.0.0.1:2379)\n"
    "         --cluster NAME       (default $PLEXUS_CLUSTER, else \"default\")\n";

static const char *s_env(const char *name, const char *fallback)
{
	const char *value = getenv(name);
	return value && *value ? value : fallback;
}

static void s_age(char *buf, size_t size, int64_t ms)
{
	int64_t s = ms > 0 ? ms / 1000 : 0;
	if (s < 120)
		snprintf(buf, size, "%" PRId64 "s", s);
	else if (s < 7200)
		snprintf(buf, size, "%" PRId64 "m", s / 60);
	else if (s < 172800)
		snprintf(buf, size, "%" PRId64 "h", s / 3600);
	else
		snprintf(buf, size, "%" PRId64 "d", s / 86400);
}

/* Prints one record; returns false when it does not parse. */
static bool s_print(const char *value, size_t size, int64_t now)
{
	json_t *o = json_loadb(value, size, 0, NULL);
	const char *name = NULL, *addr = NULL;
	json_int_t start = 0, services = 0, pid = 0;
	json_t *load = NULL;
	bool ok = o &&
	          json_unpack(o, "{s:s, s:s, s:I, s:I, s:I, s:o}", "name", &name, "addr", &addr,
	                      "start_time", &start, "services", &services, "pid", &pid, "load",
	                      &load) == 0 &&
	          json_is_number(json_array_get(load, 0));
	if (ok) {
		char age[32];
		s_age(age, sizeof age, now - start);
		printf("%-16s %-15s %6s %6.2f %8" PRId64 " %8" PRId64 "\n", name, addr, age,
		       json_number_value(json_array_get(load, 0)), (int64_t)services, (int64_t)pid);
	}
	json_decref(o);
	return ok;
}

static int s_ls(const char *etcd_urls, const char *cluster)
{
	plx_etcd_opts opts = {.endpoints = etcd_urls};
	plx_etcd *etcd = plx_etcd_new(&opts);
	char prefix[256];
	snprintf(prefix, sizeof prefix, "/plexus/%s/nodes/", cluster);
	plx_kvs *kvs = NULL;
	int rc = etcd ? plx_etcd_range(etcd, prefix, &kvs) : -EINVAL;
	if (rc < 0) {
		const char *detail = plx_etcd_errmsg();
		fprintf(stderr, "plexus node: %s%s%s\n", strerror(-rc), *detail ? ": " : "",
		        detail);
		plx_etcd_destroy(&etcd);
		return rc == -EINVAL ? EX_USAGE : EX_UNAVAILABLE;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	int bad = 0;
	printf("%-16s %-15s %6s %6s %8s %8s\n", "NODE", "ADDR", "AGE", "LOAD", "SERVICES", "PID");
	for (size_t i = 0; i < kvs->count; i++)
		if (!s_print((const char *)kvs->kvs[i].value, kvs->kvs[i].value_size, now)) {
			fprintf(stderr, "plexus node: %s: malformed node record\n",
			        kvs->kvs[i].key);
			bad++;
		}
	plx_kvs_free(&kvs);
	plx_etcd_destroy(&etcd);
	return bad ? EX_DATAERR : EX_OK;
}

int plx_node_cli(int argc, char **argv)
{
	static const struct option longs[] = {{"etcd", required_argument, NULL, 'e'},
	                                      {"cluster", required_argument, NULL, 'c'},
	                                      {"help", no_argument, NULL, 'h'},
	                                      {NULL, 0, NULL, 0}};
	const char *etcd = s_env("PLEXUS_ETCD", PLX_ETCD_DEFAULT_URL);
	const char *cluster = s_env("PLEXUS_CLUSTER", "default");
	optind = 0;
	opterr = 1;
	for (int c; (c = getopt_long(argc, argv, "h", longs, NULL)) != -1;) {
		if (c == 'e')
			etcd = optarg;
		else if (c == 'c')
			cluster = optarg;
		else if (c == 'h') {
			fputs(s_usage, stdout);
			return EX_OK;
		} else {
			fputs(s_usage, stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc - 1 || strcmp(argv[optind], "ls") != 0 || strchr(cluster, '/')) {
		fputs(s_usage, stderr);
		return EX_USAGE;
	}
	return s_ls(etcd, cluster);
}
