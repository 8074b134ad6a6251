/*
 * cli.c — `plexus ds ...` and `plexus ep ...`.
 *
 * Entry points: plx_ds_cli, plx_ep_cli.
 *
 * Options are parsed once into s_opts; each subcommand is one do_<name> function returning a
 * sysexits.h code. Errors are printed here, once, with the etcd client's description.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <plexus/ds.h>
#include <plexus/endpoint.h>
#include <plexus/registry_cli.h>

#include "ds_internal.h"

#define S_CLI_OWNER "plexus-cli"

typedef struct s_opts {
	plx_etcd_opts etcd;
	const char *cluster;
	const char *owner;
	const char *type;
	long count;
	bool help;
} s_opts;

static const char s_ds_usage[] =
    "usage: plexus ds ls [PREFIX]          list keys (name, owner, type, value)\n"
    "       plexus ds get KEY              print one value\n"
    "       plexus ds put KEY VALUE        publish (overwriting) a value\n"
    "                 [--type str|u32] [--owner NAME (default " S_CLI_OWNER ")]\n"
    "       plexus ds watch [PREFIX]       print changes as they happen, until interrupted\n"
    "                 [--count N]          or N changes were printed\n"
    "options: --etcd URL[,URL...]  etcd members (default $PLEXUS_ETCD, else "
    "http://127.0.0.1:2379)\n"
    "         --cluster NAME       (default $PLEXUS_CLUSTER, else \"default\")\n"
    "         --user NAME --password TEXT   etcd authentication ($PLEXUS_ETCD_USER, "
    "$PLEXUS_ETCD_PASSWORD)\n"
    "         --cacert FILE --cert FILE --key FILE   TLS\n";

static const char s_ep_usage[] =
    "usage: plexus ep ls    list the endpoint table: label, generation, node, address, pid,\n"
    "                       state, start time and lease of every published endpoint\n"
    "options: --etcd URL[,URL...]  etcd members (default $PLEXUS_ETCD, else "
    "http://127.0.0.1:2379)\n"
    "         --cluster NAME       (default $PLEXUS_CLUSTER, else \"default\")\n"
    "         --user, --password, --cacert, --cert, --key   as for plexus ds\n";

static const char *s_env(const char *name, const char *fallback)
{
	const char *value = getenv(name);
	return value && *value ? value : fallback;
}

/* Parses options; leaves the operands in argv[optind..]. Returns 0 or EX_USAGE. */
static int s_parse(int argc, char **argv, s_opts *o)
{
	static const struct option longs[] = {
	    {"etcd", required_argument, NULL, 'e'},   {"cluster", required_argument, NULL, 'c'},
	    {"user", required_argument, NULL, 'u'},   {"password", required_argument, NULL, 'p'},
	    {"cacert", required_argument, NULL, 'A'}, {"cert", required_argument, NULL, 'C'},
	    {"key", required_argument, NULL, 'K'},    {"owner", required_argument, NULL, 'o'},
	    {"type", required_argument, NULL, 't'},   {"count", required_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
	*o = (s_opts){.etcd = {.endpoints = s_env("PLEXUS_ETCD", PLX_ETCD_DEFAULT_URL),
	                       .user = s_env("PLEXUS_ETCD_USER", NULL),
	                       .password = s_env("PLEXUS_ETCD_PASSWORD", NULL)},
	              .cluster = s_env("PLEXUS_CLUSTER", "default"),
	              .owner = S_CLI_OWNER,
	              .type = "str"};
	/* The options that take a string: where each goes. */
	const struct {
		int c;
		const char **to;
	} strings[] = {
	    {'e', &o->etcd.endpoints}, {'c', &o->cluster},      {'u', &o->etcd.user},
	    {'p', &o->etcd.password},  {'A', &o->etcd.ca_file}, {'C', &o->etcd.cert_file},
	    {'K', &o->etcd.key_file},  {'o', &o->owner},        {'t', &o->type}};
	optind = 0;
	opterr = 1;
	int c;
	char *end;
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		size_t i = 0;
		while (i < sizeof strings / sizeof *strings && strings[i].c != c)
			i++;
		if (i < sizeof strings / sizeof *strings)
			*strings[i].to = optarg;
		else if (c == 'n' && ((o->count = strtol(optarg, &end, 10)) <= 0 || *end))
			return EX_USAGE;
		else if (c == 'h')
			o->help = true;
		else if (c != 'n')
			return EX_USAGE;
	}
	return 0;
}

/* Maps an error to an exit code and prints it once. */
static int s_fail(const char *what, int rc)
{
	const char *detail = plx_etcd_errmsg();
	fprintf(stderr, "plexus %s: %s%s%s\n", what, strerror(-rc), *detail ? ": " : "", detail);
	switch (-rc) {
	case ECONNREFUSED:
	case ETIMEDOUT:
	case ECONNRESET:
	case EHOSTUNREACH:
	case EAGAIN:
		return EX_UNAVAILABLE;
	case ESRCH:
	case ENOENT:
		return EX_NOINPUT;
	case EBADMSG:
		return EX_DATAERR;
	case EPERM:
	case EACCES:
		return EX_NOPERM;
	case EINVAL:
	case EEXIST:
		return EX_USAGE;
	default:
		return EX_SOFTWARE;
	}
}

/* ---- value formatting ---- */

static const char *s_type_name(int type)
{
	switch (type) {
	case PLX_DSF_TYPE_U32:
		return "u32";
	case PLX_DSF_TYPE_STR:
		return "str";
	case PLX_DSF_TYPE_MEM:
		return "mem";
	case PLX_DSF_TYPE_LABEL:
		return "label";
	default:
		return "?";
	}
}

static void s_print_value(FILE *out, const plx_ds_entry *e)
{
	switch (e->type) {
	case PLX_DSF_TYPE_U32:
		fprintf(out, "%" PRIu32, e->u32);
		break;
	case PLX_DSF_TYPE_STR:
		fputs(e->str, out);
		break;
	case PLX_DSF_TYPE_MEM:
		fprintf(out, "%zu bytes:", e->mem_size);
		for (size_t i = 0; i < e->mem_size && i < 32; i++)
			fprintf(out, " %02x", e->mem[i]);
		if (e->mem_size > 32)
			fputs(" ...", out);
		break;
	case PLX_DSF_TYPE_LABEL:
		fprintf(out, "%s generation %" PRIu64, e->label, e->generation);
		break;
	default:
		fputs("(malformed value)", out);
	}
}

/* ---- ds subcommands ---- */

static int do_ds_ls(plx_ds *ds, int argc, char **argv)
{
	plx_ds_entry *list = NULL;
	int n = plx_ds_list(ds, argc > 0 ? argv[0] : "", &list);
	if (n < 0)
		return s_fail("ds ls", n);
	printf("%-32s %-16s %-5s %s\n", "KEY", "OWNER", "TYPE", "VALUE");
	for (int i = 0; i < n; i++) {
		printf("%-32s %-16s %-5s ", list[i].key, list[i].owner, s_type_name(list[i].type));
		s_print_value(stdout, &list[i]);
		putchar('\n');
	}
	plx_ds_entries_free(&list, (size_t)n);
	return EX_OK;
}

static int do_ds_get(plx_ds *ds, int argc, char **argv)
{
	if (argc != 1) {
		fputs(s_ds_usage, stderr);
		return EX_USAGE;
	}
	plx_ds_entry *e = NULL;
	int rc = plx_ds_get(ds, argv[0], &e);
	if (rc < 0)
		return s_fail("ds get", rc);
	s_print_value(stdout, e);
	putchar('\n');
	plx_ds_entry_free(&e);
	return EX_OK;
}

static int do_ds_put(plx_ds *ds, const s_opts *o, int argc, char **argv)
{
	if (argc != 2) {
		fputs(s_ds_usage, stderr);
		return EX_USAGE;
	}
	int rc;
	if (strcmp(o->type, "u32") == 0) {
		char *end;
		errno = 0;
		unsigned long value = strtoul(argv[1], &end, 0);
		if (errno || *end || value > UINT32_MAX || argv[1][0] == '-') {
			fprintf(stderr, "plexus ds put: not a u32: %s\n", argv[1]);
			return EX_USAGE;
		}
		rc = plx_ds_publish_u32(ds, argv[0], (uint32_t)value, PLX_DSF_OVERWRITE);
	} else if (strcmp(o->type, "str") == 0) {
		rc = plx_ds_publish_str(ds, argv[0], argv[1], PLX_DSF_OVERWRITE);
	} else {
		fprintf(stderr, "plexus ds put: --type is str or u32, not %s\n", o->type);
		return EX_USAGE;
	}
	return rc < 0 ? s_fail("ds put", rc) : EX_OK;
}

/* ---- ds watch ---- */

typedef struct s_watching {
	plx_ds *ds;
	const char *prefix;
	long count; /* 0: unlimited */
	long printed;
	int wake; /* eventfd: signal or count reached */
} s_watching;

static int s_wake_fd = -1;

static void s_on_signal(int sig)
{
	(void)sig;
	uint64_t one = 1;
	ssize_t n = write(s_wake_fd, &one, sizeof one);
	(void)n;
}

static void s_print_event(s_watching *w, const plx_watch_event *ev)
{
	plx_ds_entry e = {0};
	const plx_kv *kv = ev->kind == PLX_WATCH_DELETE ? ev->prev : ev->kv;
	if (kv)
		ds_entry_parse(w->ds, kv, &e);
	if (!e.key[0] && ds_split(w->ds, ev->kv->key, e.owner, e.key) < 0)
		return;
	if (strncmp(e.key, w->prefix, strlen(w->prefix)) == 0 &&
	    (!w->count || w->printed < w->count)) {
		if (ev->kind == PLX_WATCH_DELETE) {
			printf("delete %s %s\n", e.key, e.owner);
		} else {
			printf("put %s %s %s ", e.key, e.owner, s_type_name(e.type));
			s_print_value(stdout, &e);
			putchar('\n');
		}
		fflush(stdout);
		if (++w->printed == w->count)
			s_on_signal(0);
	}
	ds_entry_clear(&e);
}

static void s_on_watch(const plx_watch_event *ev, void *arg)
{
	s_watching *w = arg;
	switch (ev->kind) {
	case PLX_WATCH_PUT:
	case PLX_WATCH_DELETE:
		s_print_event(w, ev);
		break;
	case PLX_WATCH_DISCONNECTED:
		fprintf(stderr, "plexus ds watch: etcd connection lost (%s), reconnecting\n",
		        plx_etcd_errmsg());
		break;
	case PLX_WATCH_RECONNECTED:
		fprintf(stderr, "plexus ds watch: reconnected; no change was missed\n");
		break;
	case PLX_WATCH_COMPACTED:
		fprintf(stderr,
		        "plexus ds watch: etcd compacted history: changes before "
		        "revision %lld were lost\n",
		        (long long)ev->revision);
		break;
	}
}

static int do_ds_watch(plx_ds *ds, plx_etcd *etcd, const s_opts *o, int argc, char **argv)
{
	s_watching w = {.ds = ds, .prefix = argc > 0 ? argv[0] : "", .count = o->count};
	s_wake_fd = eventfd(0, EFD_CLOEXEC);
	if (s_wake_fd < 0)
		return s_fail("ds watch", -errno);
	struct sigaction sa = {.sa_handler = s_on_signal}, old_int, old_term;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	plx_watch *watch = plx_watch_new(etcd, ds->ds_prefix, 0, s_on_watch, &w);
	int rc = watch ? EX_OK : s_fail("ds watch", -errno);
	struct pollfd pfd = {.fd = s_wake_fd, .events = POLLIN};
	while (watch && poll(&pfd, 1, -1) < 0 && errno == EINTR)
		;
	plx_watch_destroy(&watch);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	close(s_wake_fd);
	s_wake_fd = -1;
	return rc;
}

int plx_ds_cli(int argc, char **argv)
{
	s_opts o;
	if (s_parse(argc, argv, &o) != 0 || (!o.help && optind >= argc)) {
		fputs(s_ds_usage, stderr);
		return EX_USAGE;
	}
	if (o.help) {
		fputs(s_ds_usage, stdout);
		return EX_OK;
	}
	const char *cmd = argv[optind++];
	int nargs = argc - optind;
	char **args = argv + optind;
	plx_etcd *etcd = plx_etcd_new(&o.etcd);
	plx_ds *ds = etcd ? plx_ds_new(etcd, o.cluster, o.owner) : NULL;
	int rc;
	if (!ds)
		rc = s_fail("ds", -errno);
	else if (strcmp(cmd, "ls") == 0 && nargs <= 1)
		rc = do_ds_ls(ds, nargs, args);
	else if (strcmp(cmd, "get") == 0)
		rc = do_ds_get(ds, nargs, args);
	else if (strcmp(cmd, "put") == 0)
		rc = do_ds_put(ds, &o, nargs, args);
	else if (strcmp(cmd, "watch") == 0 && nargs <= 1)
		rc = do_ds_watch(ds, etcd, &o, nargs, args);
	else
		fputs(s_ds_usage, stderr), rc = EX_USAGE;
	plx_ds_destroy(&ds);
	plx_etcd_destroy(&etcd);
	return rc;
}

/* ---- ep ---- */

static void s_print_time(int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char text[32];
	if (ms > 0 && gmtime_r(&t, &tm) && strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm))
		printf("%-20s", text);
	else
		printf("%-20s", "-");
}

static int do_ep_ls(plx_etcd *etcd, const char *cluster)
{
	plx_endpoint_rec *recs = NULL;
	size_t malformed = 0;
	int n = plx_endpoint_list(etcd, cluster, &recs, &malformed);
	if (n < 0)
		return s_fail("ep ls", n);
	printf("%-16s %6s %-12s %-32s %8s %-9s %-20s %s\n", "LABEL", "GEN", "NODE", "ADDRESS",
	       "PID", "STATE", "STARTED", "LEASE");
	for (int i = 0; i < n; i++) {
		const plx_endpoint_rec *r = &recs[i];
		printf("%-16s %6" PRIu64 " %-12s %-32s %8" PRId64 " %-9s ", r->label, r->generation,
		       r->node, r->address, r->pid, r->state);
		s_print_time(r->start_time);
		printf(" %" PRIx64 "\n", (uint64_t)r->lease);
	}
	free(recs);
	if (malformed)
		fprintf(stderr, "plexus ep ls: %zu malformed endpoint record%s left out\n",
		        malformed, malformed == 1 ? "" : "s");
	return malformed ? EX_DATAERR : EX_OK;
}

int plx_ep_cli(int argc, char **argv)
{
	s_opts o;
	if (s_parse(argc, argv, &o) != 0 || (!o.help && optind != argc - 1)) {
		fputs(s_ep_usage, stderr);
		return EX_USAGE;
	}
	if (o.help) {
		fputs(s_ep_usage, stdout);
		return EX_OK;
	}
	if (strcmp(argv[optind], "ls") != 0) {
		fputs(s_ep_usage, stderr);
		return EX_USAGE;
	}
	plx_etcd *etcd = plx_etcd_new(&o.etcd);
	int rc = etcd ? do_ep_ls(etcd, o.cluster) : s_fail("ep", -errno);
	plx_etcd_destroy(&etcd);
	return rc;
}
