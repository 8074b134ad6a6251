/*
 * main.c — plexus-node, the per-node daemon: option parsing, set-up, the message loop.
 *
 * Entry points: main.
 *
 * The loop (plx_server) dispatches RS's requests through table.c; notifies from the signal
 * thread make it reap children (NODE_CHILD) or leave (NODE_TERM); replies from RS acknowledge
 * exit reports; a 100 ms tick sends SIGKILL to services past their stop grace and retries
 * the reports that wait, and fences the node when its lease may expire (fence.c): if it did,
 * the node kernel executes itself again on the way out. `plexus-node --fetch-keys` instead gets a
 * netbooted node's keys and exits. On a secured system a thread vouches for
 * the machine's other users' processes (plexus/link_keys.h). On the way out every service is
 * stopped and the lease revoked.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <plexus/family.h>
#include <plexus/etcd.h>
#include <plexus/link_keys.h>
#include <plexus/log.h>

#include "node.h"

#define S_TICK_MS 100

static void s_on_notify(plx_server *server, plx_msg *msg)
{
	node *n = plx_server_arg(server);
	/* Only the node's own signal thread may make it reap or leave; a peer claiming its label
	 * over the wire is ignored. */
	if (plx_msg_is_local(msg) && strcmp(msg->source.label, NODE_SIGNALS_LABEL) == 0) {
		if (msg->type == PLEXUS__NODE_TYPE__NODE_CHILD)
			node_reap(n);
		else if (msg->type == PLEXUS__NODE_TYPE__NODE_TERM) {
			plx_log(PLX_LOG_INFO, "termination signal");
			plx_server_stop(server);
		}
	}
	plx_msg_destroy(&msg);
}

static void s_on_reply(plx_server *server, plx_msg *msg)
{
	node *n = plx_server_arg(server);
	if (msg->type == PLEXUS__NODE_TYPE__NODE_EXIT)
		node_reports_ack(n->reports, msg);
	plx_msg_destroy(&msg);
}

static void s_on_tick(plx_server *server)
{
	node *n = plx_server_arg(server);
	if (node_fence_tick(n)) {
		n->again = true;
		plx_server_stop(server);
	}
	node_services_tick(n->services);
	node_reports_flush(n->reports);
}

/* mkdir -p */
static int s_mkdirs(const char *path)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(buf, 0755) < 0 && errno != EEXIST)
				return -errno;
			*p = '/';
		}
	return mkdir(buf, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

/* Runs the loop until a signal, IPC_SHUTDOWN or a receive failure. */
static int s_serve(node *n, plx_ctx *ctx)
{
	size_t count;
	const plx_handler *table = node_table(n->cfg->rs_label, &count);
	plx_server *srv = plx_server_new(n->ep, table, count, n);
	n->services = node_services_new(n);
	n->reports = node_reports_new(ctx, n->ep, n->cfg->rs_label);
	node_signals *sig = srv && n->services && n->reports ? node_signals_new(n->ep) : NULL;
	int rc = sig ? 0 : -ENOMEM;
	if (sig) {
		plx_server_on_notify(srv, s_on_notify);
		plx_server_on_reply(srv, s_on_reply);
		plx_server_on_tick(srv, s_on_tick, S_TICK_MS);
		plx_log_set_label(plx_ep_name(n->ep)->label, plx_ep_name(n->ep)->generation);
		plx_log(PLX_LOG_INFO, "%s serving at %s (cluster %s, etcd %s, lease TTL %d s)",
		        plx_ep_name(n->ep)->label, plx_ep_address(n->ep), n->cfg->cluster,
		        n->cfg->etcd, n->cfg->lease_ttl);
		rc = plx_server_run(srv);
	}
	node_signals_destroy(&sig);
	if (n->services) {
		int stopped = node_services_stop_all(n->services, n->cfg->grace_ms);
		plx_log(PLX_LOG_INFO, "leaving: %d services stopped, %zu exit reports unsent",
		        stopped, n->reports ? node_reports_count(n->reports) : 0);
	}
	node_services_destroy(&n->services); /* answers what is still suspended */
	node_reports_destroy(&n->reports);
	plx_server_destroy(&srv);
	return rc;
}

/* Executes this program again with its arguments and environment (fence.c): same pid, a new
 * generation and lease (main names the process plexus-node again: the kernel names it after
 * the file executed, here "exe"). Returns only when exec failed. */
static void s_exec_again(char **argv)
{
	fflush(NULL);
	execv("/proc/self/exe", argv);
	plx_log(PLX_LOG_ERROR, "executing %s again: %s", argv[0], strerror(errno));
}

/* plexus-node --fetch-keys URL LABEL DIR: a netbooted node's key pair and its certificate from
 * the PXE server (plx_link_fetch), for plexus-init before the node kernel starts. */
static int s_fetch_keys(char **argv)
{
	char err[1024];
	if (plx_link_fetch(argv[2], argv[3], argv[4], err, sizeof err) < 0) {
		plx_log(PLX_LOG_ERROR, "keys for %s: %s", argv[3], err);
		return EX_UNAVAILABLE;
	}
	return EX_OK;
}

/* plexus-node --join-etcd URLS NAME PEER_URL FILE: how this node's etcd member starts on its
 * empty data directory (plx_etcd_join), for plexus-init: exit 0 with FILE holding the
 * --initial-cluster of an existing cluster it joined again, EX_TEMPFAIL (75) to start as new,
 * another status when the cluster answered but would not take it back. */
static int s_join_etcd(char **argv)
{
	plx_etcd_opts o = {.endpoints = argv[2], .timeout_ms = 5000, .connect_timeout_ms = 2000};
	plx_etcd *etcd = plx_etcd_new(&o);
	char initial[2048];
	int rc = etcd ? plx_etcd_join(etcd, argv[3], argv[4], initial, sizeof initial) : -errno;
	if (rc < 0)
		plx_log(PLX_LOG_ERROR, "joining etcd as %s: %s", argv[3],
		        etcd ? plx_etcd_errmsg() : strerror(-rc));
	plx_etcd_destroy(&etcd);
	if (rc == PLX_ETCD_JOIN_NEW)
		return EX_TEMPFAIL;
	FILE *f = rc == PLX_ETCD_JOIN_EXISTING ? fopen(argv[5], "we") : NULL;
	if (f) {
		fprintf(f, "%s\n", initial);
		rc = fclose(f) == 0 ? 0 : -EIO;
	}
	return f && rc == 0 ? EX_OK : EX_UNAVAILABLE;
}

int main(int argc, char **argv)
{
	prctl(PR_SET_NAME, "plexus-node");
	if (argc == 5 && strcmp(argv[1], "--fetch-keys") == 0)
		return s_fetch_keys(argv);
	if (argc == 6 && strcmp(argv[1], "--join-etcd") == 0)
		return s_join_etcd(argv);
	node_config cfg;
	char err[1024];
	int rc = node_config_parse(&cfg, argc, argv, err, sizeof err);
	if (rc != 0) {
		plx_log(PLX_LOG_ERROR, "%s", err);
		if (rc == EX_USAGE)
			fputs(node_config_usage, stderr);
		return rc;
	}
	if (cfg.help) {
		fputs(node_config_usage, stdout);
		return EX_OK;
	}
	if ((rc = node_signals_block()) < 0) {
		plx_log(PLX_LOG_ERROR, "blocking signals: %s", strerror(-rc));
		return EX_OSERR;
	}
	if ((rc = s_mkdirs(cfg.log_dir)) < 0) {
		plx_log(PLX_LOG_ERROR, "log directory %s: %s", cfg.log_dir, strerror(-rc));
		return EX_CANTCREAT;
	}
	plx_register_family(&plx_family_node);
	plx_ctx *ctx = plx_ctx_new();
	node n = {.cfg = &cfg};
	node_register *reg = ctx ? node_register_new(&cfg, ctx, &n, &n.ep, err, sizeof err) : NULL;
	if (!reg) {
		plx_log(PLX_LOG_ERROR, "%s", ctx ? err : "no ZeroMQ context");
		plx_ctx_destroy(&ctx);
		return EX_UNAVAILABLE;
	}
	n.reg = reg;
	plx_voucher *voucher = NULL;
	if (plx_voucher_start(cfg.name, cfg.cluster, cfg.etcd, &voucher, err, sizeof err) < 0)
		plx_log(PLX_LOG_WARN, "%s (other users' processes cannot connect)", err);
	rc = s_serve(&n, ctx);
	plx_voucher_stop(&voucher);
	node_register_destroy(&reg);
	plx_ctx_destroy(&ctx);
	if (rc < 0)
		plx_log(PLX_LOG_ERROR, "message loop: %s", plx_strerror(rc));
	else if (n.again)
		s_exec_again(argv);
	else
		plx_log(PLX_LOG_INFO, "lease revoked, bye");
	return rc < 0 || n.again ? EX_SOFTWARE : EX_OK;
}
