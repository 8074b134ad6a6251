/*
 * netns_harness.h — a Plexus cluster on one machine for multi-node tests: N nodes, each in its
 * own network namespace with its own address, joined by a bridge in a private "hub" namespace.
 *
 * Entry points: netns_harness_check, netns_harness_reap_stale, netns_error,
 * netns_cluster_new, netns_cluster_destroy, netns_cluster_failed, netns_nodes, netns_node_addr,
 * netns_hub_addr, netns_ns_path, netns_veth, netns_run_dir, netns_log_path, netns_exec,
 * netns_wait, netns_run, netns_kill_nodes, netns_kill_node, netns_kill_signalled_ns,
 * netns_revive_node, netns_node_up, netns_cut_link, netns_restore_link, netns_call,
 * netns_socket, netns_tcp_probe, netns_pid_gone,
 * netns_hub_etcd_start, netns_hub_etcd_endpoints, netns_hub_etcd, netns_hub_etcd_stop,
 * netns_read_log, netns_save_logs.
 *
 * What a cluster is. Namespaces plx-<pid>-<tag>-hub and plx-<pid>-<tag>-n<i> (tag: 6 random
 * hex digits); in the hub a bridge b<tag> holding <subnet>.1/24; node i has eth0 holding
 * <subnet>.(10+i)/24, the peer of the veth v<tag>n<i> enslaved to the bridge. Loopback is up
 * everywhere; there is no other route, so nothing sent from a node leaves the cluster. Nothing
 * is created in the caller's namespace and its routes and firewall are never touched.
 * A place is a node index 0..N-1 or NETNS_HUB.
 *
 * Processes. netns_exec forks, setns(CLONE_NEWNET)s the child into the place and execs; the
 * child leads its own process group, gets SIGKILL when the thread that started it dies
 * (PR_SET_PDEATHSIG: call from a thread that outlives the cluster), and writes stdout and
 * stderr to the place's log in the run directory ($TMPDIR/plexus-netns-<pid>-XXXXXX).
 *
 * Clean-up. netns_cluster_destroy, an atexit handler and handlers for SIGINT, SIGTERM, SIGHUP,
 * SIGQUIT and SIGABRT kill every process in the cluster's namespaces (those the harness started
 * and any they spawned) and delete the namespaces, which takes every interface and address with
 * them. Each cluster records its names in a state file, <state dir>/<pid>-<tag>.state
 * (/run/plexus-netns by default), locked with flock while the cluster lives; a state file
 * nobody holds is a dead run's, and netns_harness_reap_stale (run by every netns_cluster_new)
 * removes what it lists. A cluster marked failed, or one still alive at exit or on a signal,
 * keeps its logs in $TMPDIR/plexus-netns-failed-<pid>-<tag> and says so on stderr (so does
 * every cluster when PLEXUS_NETNS_KEEP is set).
 *
 * Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) and iproute2's ip. Errors: NULL or a negative
 * errno; netns_error() describes the last failure. One thread at a time per cluster.
 */
#ifndef PLEXUS_NETNS_HARNESS_H
#define PLEXUS_NETNS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "etcd_harness.h"

typedef struct netns_cluster netns_cluster;

#define NETNS_MAX_NODES 80
#define NETNS_HUB       (-1) /* the hub, as a place */

typedef struct netns_options {
	/* The first three octets of the cluster's /24; NULL means "10.213.0". */
	const char *subnet;
	/* Where state files live; NULL means /run/plexus-netns. */
	const char *state_dir;
} netns_options;

/* Returns 0 when this process may build clusters, -EPERM without root (CAP_SYS_ADMIN and
 * CAP_NET_ADMIN), -ENOENT without iproute2's ip. netns_error() says which. */
int netns_harness_check(void);

/* Removes what dead runs left: for every state file in state_dir (NULL: the default) that no
 * live cluster holds, kills the processes in its namespaces, deletes the namespaces, removes
 * its run directory (kept when PLEXUS_NETNS_KEEP is set) and the file. Returns the number of
 * runs reaped, or a negative errno when state_dir cannot be read. */
int netns_harness_reap_stale(const char *state_dir);

/* Describes the last failure of a harness call. Static storage. */
const char *netns_error(void);

/* Builds a cluster of nodes nodes (1..NETNS_MAX_NODES); opts may be NULL. Reaps stale runs
 * first. Returns the cluster (caller owns it: netns_cluster_destroy), or NULL with errno set
 * (EPERM when not root) and netns_error() saying why; a half-built cluster is removed. */
netns_cluster *netns_cluster_new(int nodes, const netns_options *opts);

/* Kills every process in the cluster, stops its etcd, deletes its namespaces and run
 * directory (saved first when netns_cluster_failed was called or PLEXUS_NETNS_KEEP is set),
 * drops its state file, frees it and sets *self_p to NULL. The handled signals wait until it
 * is done. Accepts NULL. */
void netns_cluster_destroy(netns_cluster **self_p);

/* Marks the run failed: destroy keeps its logs (netns_save_logs) and prints where. */
void netns_cluster_failed(netns_cluster *self);

/* The number of nodes. */
int netns_nodes(const netns_cluster *self);

/* Node i's IPv4 address (dotted quad), or NULL when i is out of range. Owned by self. */
const char *netns_node_addr(const netns_cluster *self, int i);

/* The hub's address on the bridge. Owned by self. */
const char *netns_hub_addr(const netns_cluster *self);

/* The namespace file of a place (/var/run/netns/plx-...), or NULL. Owned by self. */
const char *netns_ns_path(const netns_cluster *self, int place);

/* The hub-side interface of node i's link, or NULL. Owned by self. */
const char *netns_veth(const netns_cluster *self, int i);

/* The run directory (logs). Owned by self. */
const char *netns_run_dir(const netns_cluster *self);

/* The log file of a place (node<i>.log, hub.log in the run directory), or NULL. Owned by
 * self. */
const char *netns_log_path(const netns_cluster *self, int place);

/* Starts argv (argv[0] searched in PATH) in a place, with envp (NULL: this process's
 * environment), stdin from /dev/null, stdout and stderr appended to the place's log. Sets
 * *pid. Returns 0, -EINVAL, -EHOSTDOWN (node killed), -EMFILE (too many processes), or the
 * child's exec error (-ENOENT, ...). */
int netns_exec(netns_cluster *self, int place, char *const argv[], char *const envp[], pid_t *pid);

/* Waits up to timeout_ms (-1: forever) for a process netns_exec started to end; reaps it and
 * sets *status (as waitpid's; may be NULL). Returns 0, -ETIMEDOUT or -ECHILD (not ours). */
int netns_wait(netns_cluster *self, pid_t pid, int *status, int timeout_ms);

/* netns_exec then netns_wait; on timeout kills the process group and returns -ETIMEDOUT. */
int netns_run(netns_cluster *self, int place, char *const argv[], char *const envp[],
              int timeout_ms, int *status);

/* Kills the n nodes nodes[0..n) at once, as a power cut of all of them would: SIGKILL to
 * the process groups netns_exec started in any of them, then to every other process in their
 * namespaces (one pass over /proc for all; again until none is left), then deletes all their
 * namespaces, reaps, and waits until all their links and addresses are gone (up to 10 s, one
 * wait for all). Returns 0, -EINVAL (n out of 1..nodes, a node out of range or named twice:
 * nothing killed), -EHOSTDOWN (one is already dead: nothing killed) or -EBUSY (something
 * still holds a namespace, such as a socket from netns_socket: close those first). */
int netns_kill_nodes(netns_cluster *self, const int *nodes, int n);

/* Kills node i: netns_kill_nodes(self, &i, 1). */
int netns_kill_node(netns_cluster *self, int i);

/* When (CLOCK_MONOTONIC, ns) the last netns_kill_nodes had sent its SIGKILLs to every
 * process then in its nodes (later signals only hit processes still exiting or just forked);
 * 0 before any kill. */
uint64_t netns_kill_signalled_ns(const netns_cluster *self);

/* Brings a killed node i back: a fresh namespace with the same names, address and MAC.
 * Returns 0, -EINVAL, -EALREADY (alive) or -EIO (ip failed; see netns_error). */
int netns_revive_node(netns_cluster *self, int i);

/* True when node i exists (not killed). */
bool netns_node_up(const netns_cluster *self, int i);

/* Takes node i's link down on the hub side: the node keeps running but nothing reaches it.
 * Returns 0, -EINVAL, -EHOSTDOWN or -EIO. */
int netns_cut_link(netns_cluster *self, int i);

/* Brings node i's link back up. Returns as netns_cut_link. */
int netns_restore_link(netns_cluster *self, int i);

/* Runs fn(arg) on the calling thread inside a place's namespace and returns its result (or a
 * negative errno when the namespace cannot be entered). Sockets fn makes stay in the place. */
int netns_call(netns_cluster *self, int place, int (*fn)(void *arg), void *arg);

/* socket(2) inside a place. Returns the descriptor (caller closes it; it keeps the namespace
 * alive while open) or a negative errno. */
int netns_socket(netns_cluster *self, int place, int domain, int type, int protocol);

/* Opens a TCP connection from place to addr:port within timeout_ms. Returns 0 when the host
 * answered (connected, or refused: nothing listens), -ETIMEDOUT, -EHOSTUNREACH or another
 * negative errno when it did not. */
int netns_tcp_probe(netns_cluster *self, int place, const char *addr, int port, int timeout_ms);
/* True when pid no longer runs: gone, or a zombie nobody has reaped yet. */
bool netns_pid_gone(pid_t pid);

/* Starts a private etcd of members members on the hub address, in the hub namespace (the
 * registry's test harness); nodes reach it at netns_hub_etcd_endpoints. Returns 0, -EALREADY,
 * or the harness's error (netns_error says more). */
int netns_hub_etcd_start(netns_cluster *self, int members);
/* The same serving https only, with client certificates (plx_etcdh_opts.tls): the authority
 * and pairs are in the harness's directory (plx_etcdh_dir of netns_hub_etcd). */
int netns_hub_etcd_start_tls(netns_cluster *self, int members);

/* The hub etcd's client URLs, comma-separated, or NULL when none runs. Owned by self. */
const char *netns_hub_etcd_endpoints(const netns_cluster *self);

/* The hub etcd's harness (to kill or restart members), or NULL. Owned by self. */
plx_etcdh *netns_hub_etcd(netns_cluster *self);

/* Stops the hub etcd, if any. */
void netns_hub_etcd_stop(netns_cluster *self);

/* Reads a place's log into *text (NUL-terminated; caller frees). Returns 0, -EINVAL,
 * -ENOENT (nothing logged yet) or another negative errno. */
int netns_read_log(const netns_cluster *self, int place, char **text);

/* Copies the run directory (and the hub etcd's logs) to $PLEXUS_NETNS_LOGS or $TMPDIR, as
 * plexus-netns-failed-<pid>-<tag>[-k]; sets *path (owned by self). Returns 0 or a negative
 * errno. The cluster goes on running. */
int netns_save_logs(netns_cluster *self, const char **path);

#endif
