/*
 * node.h — plexus-node's modules and the state they share (docs/node-kernel.md).
 *
 * Entry points, by file:
 *   config.c    node_config_parse, node_config_usage, node_label_ok
 *   table.c     node_table
 *   spawn.c     node_services_new, node_services_destroy, do_start, do_stop, do_signal, do_list,
 *               do_shutdown, node_services_exited, node_reap, node_services_tick,
 *               node_services_stop_all, node_services_kill_all, node_now_ms, node_mono_ms
 *   exits.c     node_signals_block, node_signals_new, node_signals_destroy, node_reports_new,
 * node_reports_destroy, node_reports_add, node_reports_flush, node_reports_ack, node_reports_count
 *   register.c  node_register_new, node_register_destroy, node_register_safe_until,
 *               node_register_expired
 *   fence.c     node_fence_tick, node_fence_margin_ms
 *   traces.c    do_trace_read (the trace lines of the node's logs, for plexus trace)
 *   main.c      main (option parsing, set-up, the message loop)
 */
#ifndef PLEXUS_NODE_H
#define PLEXUS_NODE_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <plexus/endpoint.h>
#include <plexus/server.h>

#include "plexus/proto/node.pb-c.h"

#define NODE_CLUSTER_MAX     64
#define NODE_ETCD_MAX        1024
#define NODE_DEFAULT_TTL     2
#define NODE_DEFAULT_GRACE   2000
#define NODE_DEFAULT_LOG_DIR "/var/log/plexus"
#define NODE_SIGNALS_LABEL   "node-signals" /* source of the node's own notifies */

/* ---- config.c ---- */

typedef struct node_config {
	char name[PLX_NODE_MAX];
	char etcd[NODE_ETCD_MAX];
	char addr[16]; /* IPv4, dotted quad */
	char cluster[NODE_CLUSTER_MAX];
	int lease_ttl; /* seconds */
	char rs_label[PLX_LABEL_MAX];
	char log_dir[PATH_MAX];
	char bind[PLX_ADDRESS_MAX];
	int grace_ms; /* SIGTERM to SIGKILL, at NODE_STOP without a grace and at shutdown */
	bool help;
} node_config;

/* Fills cfg from argv (options win) and from the kernel command line file (--cmdline FILE,
 * default /proc/cmdline: plexus.node=, plexus.etcd=, plexus.addr=, plexus.cluster=).
 * Returns 0, or a sysexits.h code with a one-line reason in err: EX_USAGE (a bad option or
 * option value), EX_CONFIG (a bad or missing value from the kernel command line, or a
 * required setting given nowhere), EX_NOINPUT (--cmdline FILE unreadable). cfg is untouched
 * on failure. */
int node_config_parse(node_config *cfg, int argc, char **argv, char *err, size_t errsize);
extern const char node_config_usage[];
/* True for a service label: 1..PLX_LABEL_MAX-1 bytes of [A-Za-z0-9._-], not starting with '.'
 * or '-' (it names the service's log file). */
bool node_label_ok(const char *label);

/* ---- the node ---- */

typedef struct node_services node_services;
typedef struct node_reports node_reports;
typedef struct node_signals node_signals;
typedef struct node_register node_register;

typedef struct node {
	const node_config *cfg;
	plx_ep *ep;
	node_services *services;
	node_reports *reports;
	node_register *reg;
	atomic_int running; /* services running, for the node record */
	bool fenced;        /* the lease may expire soon: services killed, NODE_START refused
	                     * (set by fence.c on the tick; loop thread only) */
	bool again;         /* the lease expired: exec this program again on the way out */
} node;

/* ---- table.c ---- */

/* Returns the dispatch table (static storage, *n entries). START, STOP and SIGNAL are allowed
 * from rs_label only; the string must outlive the table. */
const plx_handler *node_table(const char *rs_label, size_t *n);

/* ---- fdstore.c ---- */

#define NODE_KEPT_MAX  16 /* descriptors one service may keep */
#define NODE_KEPT_NAME 64 /* bytes of a name, its end included */

/* What a service's instances keep for their successors (docs/node-kernel.md). */
typedef struct node_fdstore {
	int sock; /* the node's end of the running instance's store socket; -1 none */
	int nkept;
	struct {
		char name[NODE_KEPT_NAME];
		int fd;
	} kept[NODE_KEPT_MAX];
} node_fdstore;

void node_fdstore_init(node_fdstore *self);
/* Before an instance starts: the kept descriptors stay for a restart and go for a fresh
 * start; a new store socket, the instance's end in *child (the caller closes it after the
 * fork). Returns 0 or a negative errno. */
int node_fdstore_prepare(node_fdstore *self, bool restart, int *child);
/* "PLEXUS_FDS=name=4,..." into buf. Returns 0 or -ENAMETOOLONG. */
int node_fdstore_env(const node_fdstore *self, char *buf, size_t size);
/* In the forked child (async-signal-safe): the store at 3, the kept descriptors from 4. */
void node_fdstore_child(const node_fdstore *self, int child);
/* After the instance exited: takes the descriptors it sent (the last under a name wins). */
void node_fdstore_collect(node_fdstore *self);
void node_fdstore_fini(node_fdstore *self);

/* ---- spawn.c ---- */

/* The service table. NULL with errno on failure. */
node_services *node_services_new(node *self);
void node_services_destroy(node_services **self_p);
int do_start(plx_call *call);
int do_stop(plx_call *call);
int do_signal(plx_call *call);
int do_list(plx_call *call);
/* IPC_SHUTDOWN from RS: leave the loop, stop every service, revoke the lease. */
int do_shutdown(plx_call *call);
/* NODE_TRACE_READ from an operator: the trace lines of the log files in a window (traces.c). */
int do_trace_read(plx_call *call);
/* Records that pid ended with waitpid status wstatus: fills *report (strings point into the
 * table, valid until the next call), answers a pending NODE_STOP. Returns 0, or -ESRCH when
 * pid is no service of ours. */
int node_services_exited(node_services *self, pid_t pid, int wstatus, Plexus__NodeExit *report);
/* Sends SIGKILL to services whose stop grace ran out. */
void node_services_tick(node_services *self);
/* Stops every service (SIGTERM, SIGKILL after grace_ms) and reaps them; blocks up to about
 * grace_ms plus a second. Returns the number of services that were running. */
int node_services_stop_all(node_services *self, int grace_ms);
/* SIGKILLs the process group of every service running or stopping (fence.c). Returns how
 * many. */
int node_services_kill_all(node_services *self);
/* Reaps every child that ended, records it in the service table and queues its report.
 * Returns the number reaped. */
int node_reap(node *self);

/* ---- exits.c ---- */

/* Blocks SIGCHLD, SIGTERM, SIGINT and SIGPIPE in the calling thread: call first thing in
 * main, before any thread starts, so that every thread inherits the mask. Returns 0 or a
 * negative errno. */
int node_signals_block(void);
/* Starts a thread that reads those signals from a signalfd and turns them into notifies in
 * ep's loop: NODE_CHILD for SIGCHLD, NODE_TERM for SIGTERM and SIGINT. NULL with errno. */
node_signals *node_signals_new(plx_ep *ep);
void node_signals_destroy(node_signals **self_p);
/* The queue of exit reports for RS: kept until RS acknowledges each. */
node_reports *node_reports_new(plx_ctx *ctx, plx_ep *ep, const char *rs_label);
void node_reports_destroy(node_reports **self_p);
/* Queues a copy of report and tries to send it. Returns 0 or -ENOMEM. */
int node_reports_add(node_reports *self, const Plexus__NodeExit *report);
/* Sends what is unsent, or unanswered for a second (RS restarted, its route just appeared).
 * Returns the number still queued. */
int node_reports_flush(node_reports *self);
/* Drops the report whose NODE_EXIT request_id is answered by reply (owned by the caller).
 * Returns 0 or -ENOENT. */
int node_reports_ack(node_reports *self, const plx_msg *reply);
/* The number of reports waiting. */
size_t node_reports_count(const node_reports *self);

/* ---- register.c ---- */

/* Publishes the node: its endpoint node.<name> (a fresh generation) bound at cfg->bind, and
 * its record nodes/<name>, both on one lease kept alive in the background; refreshes the
 * record every TTL/2 from its own thread (re-registering if the lease was lost) and keeps an
 * endpoint cache feeding ctx's routes. Sets *ep to the node's bound endpoint (owned by the
 * register, created on the calling thread). NULL with errno; err says what failed. */
node_register *node_register_new(const node_config *cfg, plx_ctx *ctx, node *n, plx_ep **ep,
                                 char *err, size_t errsize);
/* Stops the refresh, revokes the lease (removing the records), frees the endpoint cache and
 * the endpoint. Accepts NULL. */
void node_register_destroy(node_register **self_p);
/* Until when the node's lease surely lives at etcd (plx_lease_safe_until), in node_mono_ms()
 * milliseconds. Any thread. */
int64_t node_register_safe_until(const node_register *self);
/* Whether a renewal found the lease expired at etcd. Any thread. */
bool node_register_expired(const node_register *self);

/* ---- fence.c ---- */

/* On the loop's tick: SIGKILL every service once the lease could expire within the margin,
 * and log when the node is safe again. Returns true once the lease has expired: the node
 * kernel must then start again as a new generation. */
bool node_fence_tick(node *self);
/* The margin before the lease's bound at which the node fences: an eighth of the TTL, at
 * least 250 ms. */
int64_t node_fence_margin_ms(const node_config *cfg);

/* Unix time in milliseconds. */
int64_t node_now_ms(void);
/* Milliseconds of CLOCK_MONOTONIC. */
int64_t node_mono_ms(void);

#endif
