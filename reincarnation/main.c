/*
 * main.c — plexus-rs, the reincarnation server: options, the cluster file, leader election,
 * set-up, the message loop.
 *
 * Entry points: main.
 *
 * An instance first waits to become leader (leader.c); a standby stays there, polling. The
 * leader takes a generation for label "rs", binds its endpoint, watches nodes/ and ep/
 * (events.c), reads what is running (rs_resync) and what the previous leader ran (rs_adopt),
 * publishes ep/rs on its leader lease (so node kernels send it their exit reports) and runs
 * the loop: dispatch through table.c, RS_EVENT notifies drain the watch queue, asynsend
 * replies go to exit.c, and a 20 ms tick drives heartbeats and timers (service.c, nodes.c).
 * SIGTERM or SIGINT end it; the lease is revoked so a standby takes over at once. A leader
 * whose lease is lost (etcd unreachable for longer than the TTL) takes the key again if no
 * other instance led meanwhile, else exits with EX_TEMPFAIL.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "plexus/proto/ipc.pb-c.h"
#include <plexus/family.h>
#include <plexus/link_keys.h>
#include <plexus/log.h>

#include "rs.h"

static const char *const s_foreign_sections[] = {"pxe", NULL};
const plx_cluster_opts rs_cluster_opts = {.extra_sections = s_foreign_sections};

static const char s_usage[] =
    "usage: plexus-rs --cluster-file FILE [options]\n"
    "  --cluster-file FILE  the cluster description (docs/reincarnation.md)\n"
    "  --etcd URL[,URL...]  etcd members (default: the file's [cluster] etcd, else\n"
    "                       $PLEXUS_ETCD, else http://127.0.0.1:2379)\n"
    "  --cluster NAME       registry prefix /plexus/NAME/ (default: the file's name)\n"
    "  --name NAME          this instance's name, for the leader key and logs\n"
    "                       (default rs-<hostname>-<pid>)\n"
    "  --addr IP            the IPv4 address node kernels reach RS at (default 127.0.0.1)\n"
    "  --lease-ttl SECONDS  TTL of the leader lease, 1..3600 (default $PLEXUS_LEASE_TTL,\n"
    "                       else 2)\n"
    "Two or more instances elect one leader through etcd; the others stand by and take over\n"
    "when its lease expires, adopting the services it ran.\n";

static volatile int s_stop;
static _Atomic(plx_server *) s_server;

/* ---- options ---- */

/* Sets the leader lease's TTL from text (whole seconds, 1..3600) named what in errors. */
static int s_lease_ttl(rs_config *cfg, const char *what, const char *text, char *err, size_t size)
{
	char *end;
	errno = 0;
	long v = strtol(text, &end, 10);
	if (errno || end == text || *end || v < 1 || v > 3600) {
		snprintf(err, size, "%s \"%s\": expected 1..3600 seconds", what, text);
		return -1;
	}
	cfg->lease_ttl = (int)v;
	return 0;
}

static int s_options(rs_config *cfg, int argc, char **argv, char *err, size_t size)
{
	static const struct option longs[] = {{"cluster-file", required_argument, NULL, 'f'},
	                                      {"etcd", required_argument, NULL, 'e'},
	                                      {"cluster", required_argument, NULL, 'c'},
	                                      {"name", required_argument, NULL, 'n'},
	                                      {"addr", required_argument, NULL, 'a'},
	                                      {"lease-ttl", required_argument, NULL, 't'},
	                                      {"help", no_argument, NULL, 'h'},
	                                      {NULL, 0, NULL, 0}};
	memset(cfg, 0, sizeof *cfg);
	strcpy(cfg->addr, "127.0.0.1");
	cfg->lease_ttl = 2;
	const char *env_ttl = getenv("PLEXUS_LEASE_TTL");
	if (env_ttl && s_lease_ttl(cfg, "$PLEXUS_LEASE_TTL", env_ttl, err, size) < 0)
		return EX_USAGE;
	char host[32] = "host";
	gethostname(host, sizeof host - 1);
	snprintf(cfg->name, sizeof cfg->name, "rs-%.30s-%d", host, (int)getpid());
	optind = 0;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
		size_t n = optarg ? strlen(optarg) : 0;
		struct in_addr a;
		switch (c) {
		case 'f':
			if (n >= sizeof cfg->cluster_file)
				return snprintf(err, size, "--cluster-file: path too long"),
				       EX_USAGE;
			strcpy(cfg->cluster_file, optarg);
			break;
		case 'e':
			if (n == 0 || n >= sizeof cfg->etcd)
				return snprintf(err, size, "--etcd: expected URLs"), EX_USAGE;
			strcpy(cfg->etcd, optarg);
			break;
		case 'c':
		case 'n':
			if (n == 0 || n >= RS_NAME_MAX || strchr(optarg, '/'))
				return snprintf(err, size,
				                "--%s \"%s\": expected 1 to 63 characters, no '/'",
				                c == 'c' ? "cluster" : "name", optarg),
				       EX_USAGE;
			strcpy(c == 'c' ? cfg->cluster : cfg->name, optarg);
			break;
		case 'a':
			if (inet_pton(AF_INET, optarg, &a) != 1)
				return snprintf(err, size,
				                "--addr \"%s\": expected an IPv4 address", optarg),
				       EX_USAGE;
			strcpy(cfg->addr, optarg);
			break;
		case 't':
			if (s_lease_ttl(cfg, "--lease-ttl", optarg, err, size) < 0)
				return EX_USAGE;
			break;
		case 'h':
			cfg->help = true;
			return 0;
		case ':':
			return snprintf(err, size, "%s needs a value", argv[optind - 1]), EX_USAGE;
		default:
			return snprintf(err, size, "unknown option %s", argv[optind - 1]), EX_USAGE;
		}
	}
	if (optind < argc)
		return snprintf(err, size, "unexpected argument \"%s\"", argv[optind]), EX_USAGE;
	if (!cfg->cluster_file[0])
		return snprintf(err, size, "--cluster-file is required"), EX_USAGE;
	return 0;
}

/* ---- signals ---- */

static void *s_signal_thread(void *arg)
{
	sigset_t *set = arg;
	int sig;
	while (sigwait(set, &sig) == 0) {
		plx_log(PLX_LOG_INFO, "signal %d: leaving", sig);
		s_stop = 1;
		plx_server *srv = atomic_load(&s_server);
		if (srv)
			plx_server_stop(srv);
	}
	return NULL;
}

/* ---- the loop's callbacks ---- */

static void s_on_notify(plx_server *server, plx_msg *msg)
{
	rs *self = plx_server_arg(server);
	if (plx_msg_is_local(msg) && msg->type == PLEXUS__RS_TYPE__RS_EVENT)
		rs_events_drain(self);
	plx_msg_destroy(&msg);
}

static int s_publish_self(rs *self);

/* The leader lease died (etcd unreachable for longer than the TTL). Nothing is started or
 * killed meanwhile. When etcd answers again: if no other instance led in between (ep/rs can
 * still be written with this generation), take the key again and go on, writing every record
 * again; otherwise step down (exit EX_TEMPFAIL). */
static void s_lease_lost(rs *self, plx_server *server)
{
	int64_t now = rs_mono_ms();
	self->trouble_mono = now;
	if (now < self->regain_mono)
		return;
	if (!self->regain_mono)
		plx_log(PLX_LOG_WARN, "%s: leader lease lost; taking it again when etcd answers",
		        self->cfg->name);
	self->regain_mono = now + 500;
	int rc = rs_leader_regain(self->etcd, self->cluster_name, self->cfg->name, self->cfg->addr,
	                          self->cfg->lease_ttl, &self->lease);
	if (rc < 0)
		return;
	if (rc == 1 && (rc = s_publish_self(self)) == 0) {
		plx_log(PLX_LOG_INFO, "%s: leading again", self->cfg->name);
		self->regain_mono = 0;
		for (size_t i = 0; i < self->nsvcs; i++)
			rs_svc_publish(self, &self->svcs[i]);
		return;
	}
	plx_log(PLX_LOG_INFO, "%s: another instance leads (%s); stepping down", self->cfg->name,
	        rc == 0 ? "it holds the leader key" : plx_strerror(rc));
	s_stop = 2;
	plx_server_stop(server);
}

static void s_on_tick(plx_server *server)
{
	rs *self = plx_server_arg(server);
	if (!plx_lease_alive(self->lease)) {
		s_lease_lost(self, server);
		return;
	}
	rs_events_drain(self); /* a batch of its own (react.c) */
	rs_svc_tick(self);     /* not batched: restarts due together keep their pacing */
	rs_nodes_tick(self);
}

/* ---- set-up ---- */

static int s_tables(rs *self)
{
	plx_cluster *c = self->cluster;
	self->svcs = calloc(c->nservices + 1, sizeof *self->svcs);
	self->nodes = calloc(c->nnodes + 1, sizeof *self->nodes);
	if (!self->svcs || !self->nodes)
		return -ENOMEM;
	for (size_t i = 0; i < c->nservices; i++) {
		rs_svc *svc = &self->svcs[i];
		svc->desc = &c->services[i];
		svc->state = RS_PENDING;
		snprintf(svc->node, sizeof svc->node, "%s", svc->desc->node);
	}
	self->nsvcs = c->nservices;
	for (size_t i = 0; i < c->nnodes; i++)
		snprintf(self->nodes[i].name, sizeof self->nodes[i].name, "%s", c->nodes[i].name);
	self->nnodes = c->nnodes;
	return 0;
}

/* Publishes ep/rs on the leader lease. */
static int s_publish_self(rs *self)
{
	plx_endpoint_rec rec = {0};
	snprintf(rec.label, sizeof rec.label, "%s", RS_LABEL);
	rec.generation = plx_ep_name(self->ep)->generation;
	snprintf(rec.node, sizeof rec.node, "%s", self->cfg->name);
	plx_endpoint_rec_address(&rec, self->ep, NULL);
	rec.pid = getpid();
	snprintf(rec.state, sizeof rec.state, "up");
	rec.start_time = rs_now_ms();
	return plx_endpoint_publish(self->etcd, self->cluster_name, &rec,
	                            plx_lease_id(self->lease));
}

static int s_fail(const char *what, int rc)
{
	const char *detail = plx_etcd_errmsg();
	plx_log(PLX_LOG_ERROR, "%s: %s%s%s", what, plx_strerror(rc), *detail ? ": " : "", detail);
	return EX_UNAVAILABLE;
}

/* Everything after winning the election. Returns a sysexits code. */
static int s_lead(rs *self)
{
	uint64_t gen;
	int rc = plx_generation_next(self->etcd, self->cluster_name, RS_LABEL, &gen);
	if (rc < 0)
		return s_fail("generation for rs", rc);
	char bind[64];
	snprintf(bind, sizeof bind, "tcp://%s:*", self->cfg->addr);
	char err[512];
	plx_log_set_label(RS_LABEL, gen); /* "plexus-rs rs/GEN: ..." from here on */
	if (!(self->ep = plx_ep_new(self->ctx, RS_LABEL, gen)))
		return s_fail("endpoint", -errno);
	if ((rc = plx_link_secure(self->ctx, self->ep, err, sizeof err)) < 0) {
		plx_log(PLX_LOG_ERROR, "%s", err);
		return EX_NOPERM;
	}
	self->issues =
	    plx_link_issuer(NULL, self->root_key) == 0; /* secured: keys for each instance */
	rs_etcd_users_setup(self);
	if ((rc = plx_ep_bind(self->ep, bind)) < 0) {
		plx_log(PLX_LOG_ERROR, "binding %s: %s", bind, plx_strerror(rc));
		return EX_OSERR;
	}
	if (!(self->cache = plx_epcache_new_all(self->etcd, self->cluster_name, self->ctx)))
		return s_fail("endpoint cache", -errno);
	if (!(self->events = rs_events_new(self->etcd, self->cluster_name, self->ep)))
		return s_fail("watching nodes/ and ep/", -errno);
	if (!(self->pub = rs_publisher_new(self->etcd, self->cluster_name)))
		return EX_OSERR;
	if ((rc = rs_resync(self)) < 0)
		return s_fail("reading nodes/ and ep/", rc);
	if ((rc = rs_adopt(self)) < 0)
		return s_fail("reading svc/", rc);
	plx_log(PLX_LOG_INFO,
	        "%s leads cluster %s as rs generation %" PRIu64 " at %s; %d "
	        "services adopted",
	        self->cfg->name, self->cluster_name, gen, plx_ep_address(self->ep), rc);
	if ((rc = s_publish_self(self)) < 0)
		return s_fail("publishing ep/rs", rc);
	size_t n;
	const plx_handler *table = rs_table(&n);
	if (!(self->srv = plx_server_new(self->ep, table, n, self)))
		return EX_OSERR;
	plx_server_on_notify(self->srv, s_on_notify);
	plx_server_on_reply(self->srv, rs_on_reply);
	plx_server_on_tick(self->srv, s_on_tick, RS_TICK_MS);
	atomic_store(&s_server, self->srv);
	if (s_stop)
		return EX_OK;
	self->leading = true;
	/* Not batched: every service of the cluster at once (128 at 32 nodes) overloads a small
	 * machine until node kernels miss their lease renewals (docs/reincarnation.md). */
	rs_svc_start_pending(self);
	rc = plx_server_run(self->srv);
	atomic_store(&s_server, NULL);
	if (rc < 0) {
		plx_log(PLX_LOG_ERROR, "message loop: %s", plx_strerror(rc));
		return EX_SOFTWARE;
	}
	return s_stop == 2 ? EX_TEMPFAIL : EX_OK;
}

static void s_teardown(rs *self)
{
	explicit_bzero(self->root_key, sizeof self->root_key);
	for (size_t i = 0; i < self->nsvcs; i++)
		if (self->svcs[i].call)
			rs_svc_finish_call(self, &self->svcs[i], -ESHUTDOWN);
	plx_server_destroy(&self->srv);
	rs_publisher_destroy(&self->pub); /* writes what is still queued */
	rs_power_wait(35000);
	rs_events_destroy(&self->events);
	plx_epcache_destroy(&self->cache);
	plx_ep_destroy(&self->ep);
	plx_lease_destroy(&self->lease, true); /* a standby takes over at once */
	plx_ctx_destroy(&self->ctx);
	plx_etcd_destroy(&self->etcd);
	for (size_t i = 0; self->svcs && i < self->nsvcs; i++)
		free(self->svcs[i].spare_record);
	free(self->svcs);
	free(self->nodes);
	for (size_t i = 0; i < self->nold; i++)
		plx_cluster_destroy(&self->old[i]);
	free(self->old);
	plx_cluster_destroy(&self->cluster);
}

int main(int argc, char **argv)
{
	rs_config cfg;
	char err[1024];
	int rc = s_options(&cfg, argc, argv, err, sizeof err);
	if (rc != 0) {
		plx_log(PLX_LOG_ERROR, "%s", err);
		fputs(s_usage, stderr);
		return rc;
	}
	if (cfg.help) {
		fputs(s_usage, stdout);
		return EX_OK;
	}
	rs self = {.cfg = &cfg};
	self.cluster = plx_cluster_load(cfg.cluster_file, &rs_cluster_opts, err, sizeof err);
	if (!self.cluster) {
		plx_log(PLX_LOG_ERROR, "%s", err);
		return errno == EINVAL ? EX_CONFIG : EX_NOINPUT;
	}
	snprintf(self.cluster_name, sizeof self.cluster_name, "%s",
	         cfg.cluster[0] ? cfg.cluster : self.cluster->name);
	const char *etcd = cfg.etcd[0]             ? cfg.etcd
	                   : self.cluster->etcd[0] ? self.cluster->etcd
	                   : getenv("PLEXUS_ETCD") ? getenv("PLEXUS_ETCD")
	                                           : PLX_ETCD_DEFAULT_URL;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	pthread_t sig_thread;
	pthread_create(&sig_thread, NULL, s_signal_thread, &set);
	pthread_detach(sig_thread);
	plx_register_family(&plx_family_node);
	plx_register_family(&plx_family_rs);
	if (s_tables(&self) < 0 || !(self.ctx = plx_ctx_new()) ||
	    !(self.etcd = plx_etcd_new(&(plx_etcd_opts){.endpoints = etcd}))) {
		plx_log(PLX_LOG_ERROR, "set-up failed: %s", strerror(errno));
		s_teardown(&self);
		return EX_OSERR;
	}
	plx_log(PLX_LOG_INFO, "%s: %zu services, %zu nodes in %s; etcd %s; electing", cfg.name,
	        self.nsvcs, self.nnodes, cfg.cluster_file, etcd);
	rc = rs_leader_acquire(self.etcd, self.cluster_name, cfg.name, cfg.addr, cfg.lease_ttl,
	                       &s_stop, &self.lease);
	if (rc == -ECANCELED) {
		s_teardown(&self);
		return EX_OK;
	}
	if (rc < 0) {
		rc = s_fail("leader election", rc);
		s_teardown(&self);
		return rc;
	}
	rc = s_lead(&self);
	s_teardown(&self);
	plx_log(PLX_LOG_INFO, "%s: bye", cfg.name);
	return rc;
}
