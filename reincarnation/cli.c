/*
 * cli.c — `plexus service ...` (MINIX's `service` command): list from the registry's svc/
 * records; up, down, restart and refresh through the leading RS (RS_UP, RS_DOWN, RS_RESTART,
 * RS_REFRESH), which answers once the service has settled; kill (RS_SIGNAL), a signal to the
 * running instance wherever it runs, for drills (also plx_rs_signal, which plexus drill uses);
 * `plexus node cycle` (RS_POWER, also plx_rs_power). Every call goes through the RS family's
 * typed stubs (plexus/rs_stub.h).
 *
 * Entry points: plx_service_cli, plx_rs_signal, plx_rs_power, plx_node_cycle_cli.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <strings.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include <jansson.h>

#include <plexus/family.h>
#include <plexus/link_keys.h>
#include <plexus/endpoint.h>
#include <plexus/rs_cli.h>
#include <plexus/rs_stub.h>

static const char s_usage[] =
    "usage: plexus service list                 every service: label, node, generation, state,\n"
    "                                           restarts, uptime, last exit\n"
    "       plexus service up LABEL             start a service that is down, failed or given up\n"
    "       plexus service down LABEL           stop it and keep it stopped\n"
    "       plexus service restart LABEL        stop it and start a new generation\n"
    "       plexus service refresh LABEL        re-read its description from the cluster file\n"
    "                                           and restart it\n"
    "       plexus service kill LABEL [SIGNAL]  a signal (default KILL; STOP makes a hang) to\n"
    "                                           its running instance, on whatever node: RS\n"
    "                                           then meets the crash as any other\n"
    "options: --etcd URL[,URL...]  etcd members (default $PLEXUS_ETCD, else "
    "http://127.0.0.1:2379)\n"
    "         --cluster NAME       (default $PLEXUS_CLUSTER, else \"default\")\n"
    "         --timeout MS         how long to wait for RS's answer (default 60000)\n"
    "States: down pending starting up stopping backoff waiting failed exited given-up\n"
    "(docs/reincarnation.md).\n";

typedef struct s_opts {
	const char *etcd, *cluster;
	int timeout_ms;
	bool help;
} s_opts;

static const char *s_env(const char *name, const char *fallback)
{
	const char *v = getenv(name);
	return v && *v ? v : fallback;
}

static int s_parse(int argc, char **argv, s_opts *o)
{
	static const struct option longs[] = {{"etcd", required_argument, NULL, 'e'},
	                                      {"cluster", required_argument, NULL, 'c'},
	                                      {"timeout", required_argument, NULL, 't'},
	                                      {"help", no_argument, NULL, 'h'},
	                                      {NULL, 0, NULL, 0}};
	*o = (s_opts){.etcd = s_env("PLEXUS_ETCD", PLX_ETCD_DEFAULT_URL),
	              .cluster = s_env("PLEXUS_CLUSTER", "default"),
	              .timeout_ms = 60000};
	optind = 0;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'e':
			o->etcd = optarg;
			break;
		case 'c':
			o->cluster = optarg;
			break;
		case 't':
			o->timeout_ms = (int)strtol(optarg, &end, 10);
			if (*end || o->timeout_ms <= 0) {
				fprintf(stderr,
				        "plexus service: --timeout \"%s\": expected milliseconds\n",
				        optarg);
				return EX_USAGE;
			}
			break;
		case 'h':
			o->help = true;
			break;
		case ':':
			fprintf(stderr, "plexus service: %s needs a value\n", argv[optind - 1]);
			return EX_USAGE;
		default:
			fprintf(stderr, "plexus service: unknown option %s\n", argv[optind - 1]);
			return EX_USAGE;
		}
	}
	return 0;
}

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "3d4h", "2h5m", "4m10s", "12s", "-" */
static void s_duration(int64_t ms, char *out, size_t size)
{
	if (ms <= 0) {
		snprintf(out, size, "-");
		return;
	}
	int64_t s = ms / 1000;
	if (s >= 86400)
		snprintf(out, size, "%" PRId64 "d%" PRId64 "h", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(out, size, "%" PRId64 "h%" PRId64 "m", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(out, size, "%" PRId64 "m%" PRId64 "s", s / 60, s % 60);
	else
		snprintf(out, size, "%" PRId64 ".%" PRId64 "s", s, ms % 1000 / 100);
}

/* The closing line of list: which RS instance leads. */
static void s_leader(const s_opts *o, plx_etcd *etcd)
{
	char key[256];
	snprintf(key, sizeof key, "/plexus/%s/rs/leader", o->cluster);
	plx_kv *kv = NULL;
	if (plx_etcd_get(etcd, key, &kv) < 0) {
		printf("rs leader: none\n");
		return;
	}
	json_t *r = json_loadb((const char *)kv->value, kv->value_size, 0, NULL);
	const char *name = json_string_value(json_object_get(r, "name"));
	const char *addr = json_string_value(json_object_get(r, "addr"));
	printf("rs leader: %s at %s, pid %" PRId64 "\n", name ? name : "?", addr ? addr : "?",
	       (int64_t)json_integer_value(json_object_get(r, "pid")));
	json_decref(r);
	plx_kv_free(&kv);
}

/* The line under a service with a warm spare: its state, node, generation and pid. */
static void s_spare_line(const json_t *spare)
{
	const char *state = json_string_value(json_object_get(spare, "state"));
	const char *node = json_string_value(json_object_get(spare, "node"));
	if (!state)
		return;
	if (strcmp(state, "none") == 0 || !node || !*node) {
		printf("%-16s spare none\n", "");
		return;
	}
	printf("%-16s spare %s on %s, generation %" PRId64 ", pid %" PRId64 "\n", "", state, node,
	       (int64_t)json_integer_value(json_object_get(spare, "generation")),
	       (int64_t)json_integer_value(json_object_get(spare, "pid")));
}

static int s_list(const s_opts *o, plx_etcd *etcd)
{
	char prefix[256];
	snprintf(prefix, sizeof prefix, "/plexus/%s/svc/", o->cluster);
	plx_kvs *kvs = NULL;
	int n = plx_etcd_range(etcd, prefix, &kvs);
	if (n < 0) {
		fprintf(stderr, "plexus service: %s: %s\n", plx_strerror(n), plx_etcd_errmsg());
		return EX_UNAVAILABLE;
	}
	int rc = EX_OK;
	printf("%-16s %-10s %5s %-9s %8s %9s  %s\n", "LABEL", "NODE", "GEN", "STATE", "RESTARTS",
	       "UPTIME", "LAST EXIT");
	for (size_t i = 0; i < kvs->count; i++) {
		const char *label = kvs->kvs[i].key + strlen(prefix);
		json_t *r =
		    json_loadb((const char *)kvs->kvs[i].value, kvs->kvs[i].value_size, 0, NULL);
		const char *state = json_string_value(json_object_get(r, "state"));
		const char *node = json_string_value(json_object_get(r, "node"));
		if (!state || !node) {
			fprintf(stderr, "plexus service: svc/%s: not a service record\n", label);
			rc = EX_DATAERR;
			json_decref(r);
			continue;
		}
		int64_t since = json_integer_value(json_object_get(r, "since"));
		const char *last = json_string_value(json_object_get(r, "last_exit"));
		char uptime[32];
		s_duration(strcmp(state, "up") == 0 && since ? s_now_ms() - since : 0, uptime,
		           sizeof uptime);
		printf("%-16s %-10s %5" PRId64 " %-9s %8" PRId64 " %9s  %s\n", label, node,
		       (int64_t)json_integer_value(json_object_get(r, "generation")), state,
		       (int64_t)json_integer_value(json_object_get(r, "restarts")), uptime,
		       last && *last ? last : "-");
		s_spare_line(json_object_get(r, "spare"));
		json_decref(r);
	}
	plx_kvs_free(&kvs);
	s_leader(o, etcd);
	return rc;
}

/* A call to RS whose reply is an RsService (proto/rs.def): its typed stubs. */
typedef int s_rs_call_fn(plx_stub *s, const Plexus__RsRequest *body, const void *data, size_t size,
                         Plexus__RsService **reply, plx_msg **msg);
typedef int s_rs_reply_fn(const plx_msg *msg, Plexus__RsService **reply);

typedef struct s_verb {
	const char *name;
	s_rs_call_fn *call;
	s_rs_reply_fn *reply;
} s_verb;

static const s_verb s_verbs[] = {{"up", plx_rs_up_call, plx_rs_up_reply},
                                 {"down", plx_rs_down_call, plx_rs_down_reply},
                                 {"restart", plx_rs_restart_call, plx_rs_restart_reply},
                                 {"refresh", plx_rs_refresh_call, plx_rs_refresh_reply},
                                 {"kill", plx_rs_signal_call, plx_rs_signal_reply}};

/* The management call named verb, or NULL. */
static const s_verb *s_find_verb(const char *verb)
{
	for (size_t i = 0; i < sizeof s_verbs / sizeof *s_verbs; i++)
		if (strcmp(verb, s_verbs[i].name) == 0)
			return &s_verbs[i];
	return NULL;
}

/* RS_POWER as an s_rs_call_fn: its reply has no body. */
static int s_power_call(plx_stub *s, const Plexus__RsRequest *body, const void *data, size_t size,
                        Plexus__RsService **reply, plx_msg **msg)
{
	(void)reply;
	return plx_rs_power_call(s, body, data, size, NULL, msg);
}

static void s_print_result(const s_verb *v, plx_msg *reply)
{
	Plexus__RsService *s = NULL;
	if (reply)
		v->reply(reply, &s);
	const char *verb = v->name;
	if (s && s->label && *s->label)
		printf("%s: %s on %s, generation %" PRIu64 "%s%s\n", s->label, s->state, s->node,
		       s->generation, s->last_exit && *s->last_exit ? "; last exit: " : "",
		       s->last_exit ? s->last_exit : "");
	else
		printf("%s: done\n", verb);
	plx_stub_free(s, NULL);
}

/* One call to the leading RS of cluster through its typed stub: its status, and its answer
 * in *reply (caller destroys) when one came. err says why when no answer could be asked for. */
static int s_rs_call(plx_etcd *etcd, const char *cluster, s_rs_call_fn *call, const char *label,
                     int signo, int timeout_ms, plx_msg **reply, char *err, size_t size)
{
	plx_endpoint_rec rec;
	int rc = plx_endpoint_lookup(etcd, cluster, "rs", &rec);
	if (rc < 0) {
		snprintf(err, size, "no RS leads cluster %s (%s)", cluster,
		         rc == -ENOENT ? "no ep/rs record" : plx_strerror(rc));
		return -EHOSTUNREACH;
	}
	plx_register_family(&plx_family_rs);
	char me[PLX_LABEL_MAX] = "plexus-cli"; /* or an operator's (PLEXUS_OPERATOR) */
	int op = plx_link_operator(me, sizeof me);
	if (op < 0) {
		snprintf(err, size, "PLEXUS_OPERATOR=%s: %s%s", getenv("PLEXUS_OPERATOR"),
		         strerror(-op),
		         op == -EPERM     ? " (it must be a file of this user, mode 0600)"
		         : op == -EBADMSG ? " (not an operator's certificate: plexus keys operator "
		                            "makes one)"
		                          : "");
		return -EACCES;
	}
	plx_ctx *ctx = plx_ctx_new();
	plx_ep *ep = ctx ? plx_ep_new(ctx, me, 1) : NULL;
	if (ep && plx_link_secure(ctx, ep, err, size) < 0)
		rc = -EACCES;
	else if (!ep) {
		snprintf(err, size, "cannot set up a client endpoint");
		rc = -ENOMEM;
	} else if ((rc = plx_route_set_certified(ctx, "rs", rec.generation, rec.address,
	                                         rec.cert)) < 0)
		snprintf(err, size, "ep/rs: %s",
		         rc == -EACCES ? "no certificate of the cluster's root for rs and its key "
		                         "(a forged record?)"
		                       : plx_strerror(rc));
	else {
		Plexus__RsRequest body = PLEXUS__RS_REQUEST__INIT;
		body.label = (char *)label;
		body.signal = signo;
		plx_stub rs;
		rc = plx_stub_init(&rs, ep, "rs", 0, timeout_ms);
		if (rc == 0)
			rc = call(&rs, &body, NULL, 0, NULL, reply);
		snprintf(err, size, "%s", plx_strerror(rc));
	}
	plx_ep_destroy(&ep);
	plx_ctx_destroy(&ctx);
	return rc;
}

/* Sends one management call to RS and reports its answer. */
static int s_call(const s_opts *o, plx_etcd *etcd, const s_verb *v, const char *label, int signo)
{
	char err[512];
	plx_msg *reply = NULL;
	int rc = s_rs_call(etcd, o->cluster, v->call, label, signo, o->timeout_ms, &reply, err,
	                   sizeof err);
	const char *verb = v->name;
	int ex = EX_OK;
	if (rc == -EHOSTUNREACH || rc == -EACCES || rc == -ENOMEM) {
		fprintf(stderr, "plexus service: %s\n", err);
		ex = rc == -EACCES ? EX_NOPERM : rc == -ENOMEM ? EX_SOFTWARE : EX_UNAVAILABLE;
	} else if (rc == -ETIMEDOUT || rc == -PLX_EDEADSRCDST) {
		fprintf(stderr, "plexus service %s %s: RS did not answer: %s\n", verb, label,
		        plx_strerror(rc));
		ex = EX_UNAVAILABLE;
	} else if (rc == -ESRCH) {
		fprintf(stderr, "plexus service %s: no service %s in cluster %s\n", verb, label,
		        o->cluster);
		ex = EX_NOINPUT;
	} else if (rc == -ENXIO) {
		fprintf(stderr, "plexus service %s: %s has no running instance to signal\n", verb,
		        label);
		ex = EX_UNAVAILABLE;
	} else if (rc < 0) {
		fprintf(stderr, "plexus service %s %s: %s\n", verb, label, plx_strerror(rc));
		if (rc == -EBUSY && strcmp(verb, "down") == 0)
			fprintf(
			    stderr,
			    "plexus service down: a service that depends on %s still runs: stop "
			    "it first (plexus service list; the description's depends = lines)\n",
			    label);
		if (reply)
			s_print_result(v, reply);
		ex = EX_SOFTWARE;
	} else {
		s_print_result(v, reply);
	}
	plx_msg_destroy(&reply);
	return ex;
}

int plx_rs_signal(plx_etcd *etcd, const char *cluster, const char *label, int signo, int timeout_ms,
                  uint64_t *generation, char *err, size_t size)
{
	plx_msg *reply = NULL;
	int rc = s_rs_call(etcd, cluster, plx_rs_signal_call, label, signo, timeout_ms, &reply, err,
	                   size);
	Plexus__RsService *s = NULL;
	if (rc >= 0 && plx_rs_signal_reply(reply, &s) < 0) {
		snprintf(err, size, "RS's answer to RS_SIGNAL does not parse");
		rc = -EBADMSG;
	}
	if (s && generation)
		*generation = s->generation;
	plx_stub_free(s, &reply);
	return rc;
}

int plx_rs_power(plx_etcd *etcd, const char *cluster, const char *node, int timeout_ms, char *err,
                 size_t size)
{
	plx_msg *reply = NULL;
	int rc = s_rs_call(etcd, cluster, s_power_call, node, 0, timeout_ms, &reply, err, size);
	plx_msg_destroy(&reply);
	return rc;
}

static const char s_node_usage[] =
    "usage: plexus node cycle NODE [--etcd URL[,URL...]] [--cluster NAME] [--timeout MS]\n"
    "Asks RS to power-cycle NODE through its power backend (the cluster file's power =\n"
    "netns, command or qemu): its processes die at once, as in a power failure; RS finds it\n"
    "dead by its lease, moves or waits for its services, and the node boots again. Answers\n"
    "once the backend has the request; RS's log tells the outcome. Operators only\n"
    "(docs/reincarnation.md \"Power backends\").\n";

int plx_node_cycle_cli(int argc, char **argv)
{
	s_opts o;
	int rc = s_parse(argc, argv, &o);
	if (rc)
		return rc;
	if (o.help) {
		fputs(s_node_usage, stdout);
		return EX_OK;
	}
	if (argc - optind != 2 || strcmp(argv[optind], "cycle") != 0) {
		fputs(s_node_usage, stderr);
		return EX_USAGE;
	}
	const char *node = argv[optind + 1];
	plx_etcd *etcd = plx_etcd_new(&(plx_etcd_opts){.endpoints = o.etcd});
	if (!etcd) {
		fprintf(stderr, "plexus node: --etcd \"%s\": no usable URL\n", o.etcd);
		return EX_USAGE;
	}
	char err[512];
	rc = plx_rs_power(etcd, o.cluster, node, o.timeout_ms, err, sizeof err);
	plx_etcd_destroy(&etcd);
	if (rc == 0) {
		printf("%s: power cycle asked of RS (its log tells the outcome)\n", node);
		return EX_OK;
	}
	if (rc == -ESRCH)
		fprintf(stderr, "plexus node cycle: no node %s in cluster %s\n", node, o.cluster);
	else if (rc == -ENOTSUP)
		fprintf(stderr,
		        "plexus node cycle: %s has no power backend (power = none in the cluster "
		        "file)\n",
		        node);
	else if (rc == -EBUSY)
		fprintf(stderr, "plexus node cycle: a power cycle of %s is under way\n", node);
	else
		fprintf(stderr, "plexus node cycle %s: %s\n", node, err);
	return rc == -ESRCH    ? EX_NOINPUT
	       : rc == -EBUSY  ? EX_TEMPFAIL
	       : rc == -EACCES ? EX_NOPERM
	       : rc == -EPERM  ? EX_NOPERM
	       : rc == -ENOMEM ? EX_SOFTWARE
	                       : EX_UNAVAILABLE;
}

/* A signal by name (KILL, SIGKILL, stop) or number, 1..31; -1 if none. */
static int s_signal(const char *text)
{
	static const struct {
		const char *name;
		int signo;
	} names[] = {{"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"ABRT", SIGABRT},
	             {"KILL", SIGKILL}, {"SEGV", SIGSEGV}, {"TERM", SIGTERM}, {"USR1", SIGUSR1},
	             {"USR2", SIGUSR2}, {"STOP", SIGSTOP}, {"CONT", SIGCONT}, {"BUS", SIGBUS}};
	char *end;
	long n = strtol(text, &end, 10);
	if (*text && !*end)
		return n >= 1 && n <= 31 ? (int)n : -1;
	const char *name = strncasecmp(text, "SIG", 3) == 0 ? text + 3 : text;
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (strcasecmp(name, names[i].name) == 0)
			return names[i].signo;
	return -1;
}

int plx_service_cli(int argc, char **argv)
{
	s_opts o;
	int rc = s_parse(argc, argv, &o);
	if (rc)
		return rc;
	if (o.help) {
		fputs(s_usage, stdout);
		return EX_OK;
	}
	const char *verb = optind < argc ? argv[optind] : NULL;
	if (!verb) {
		fputs(s_usage, stderr);
		return EX_USAGE;
	}
	const s_verb *v = s_find_verb(verb);
	bool list = strcmp(verb, "list") == 0 || strcmp(verb, "ls") == 0;
	bool kill = strcmp(verb, "kill") == 0;
	int operands = argc - optind - 1, signo = SIGKILL;
	if (kill) {
		if (operands == 2 && (signo = s_signal(argv[optind + 2])) < 0) {
			fprintf(stderr,
			        "plexus service kill: bad signal '%s' (a name such as KILL, "
			        "STOP, SEGV, or a number 1..31)\n",
			        argv[optind + 2]);
			return EX_USAGE;
		}
		operands = operands == 2 ? 1 : operands;
	}
	if ((!list && !v) || (list && operands != 0) || (v && operands != 1)) {
		fprintf(stderr, "plexus service: %s\n%s",
		        !list && !v ? "unknown subcommand" : "wrong number of arguments", s_usage);
		return EX_USAGE;
	}
	plx_etcd *etcd = plx_etcd_new(&(plx_etcd_opts){.endpoints = o.etcd});
	if (!etcd) {
		fprintf(stderr, "plexus service: --etcd \"%s\": no usable URL\n", o.etcd);
		return EX_USAGE;
	}
	rc = list ? s_list(&o, etcd) : s_call(&o, etcd, v, argv[optind + 1], signo);
	plx_etcd_destroy(&etcd);
	return rc;
}
