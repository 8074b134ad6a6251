/*
 * benchnet.h — the network-namespace cluster the multi-node benchmarks share (`plexus bench
 * blk`, `chr`, `fs`): N nodes of the harness (tests/netns), etcd on the hub, the calling thread
 * moved into node 0 with a registry client, a route table kept current from the registry and
 * an endpoint to send from; services started on any node as plexus-node would, each waited
 * for until its endpoint is published.
 *
 * Entry points: benchnet_new, benchnet_destroy, benchnet_start, benchnet_bin, benchnet_ctx,
 * benchnet_ep, benchnet_etcd, benchnet_netns, benchnet_tcp_listen.
 *
 * One thread at a time; the thread that made the cluster destroys it (it is the one in node 0).
 * Needs root (network namespaces).
 */
#ifndef PLEXUS_BENCHNET_H
#define PLEXUS_BENCHNET_H

#include <netinet/in.h>
#include <stddef.h>

#include <plexus/etcd.h>
#include <plexus/transport.h>

#include "netns_harness.h"

typedef struct benchnet benchnet;

/* Returns a cluster of nodes namespaces named cluster in the registry, the caller's thread in
 * node 0, or NULL with one line in err. The caller owns the result. */
benchnet *benchnet_new(int nodes, const char *cluster, char *err, size_t size);
/* Stops every process, leaves node 0 and deletes the namespaces; sets *self_p to NULL. Accepts
 * NULL. */
void benchnet_destroy(benchnet **self_p);
/* Starts program as service label on node (--label, --etcd, --cluster, --addr, then extra, a
 * NULL-terminated list that may be NULL) and waits up to 10 s for its endpoint. Returns 0, or
 * a negative errno with one line in err naming the program and the log directory. */
int benchnet_start(benchnet *self, int node, const char *program, const char *label,
                   const char *const *extra, char *err, size_t size);
/* A program's path: $env if set, else build (the build tree's, when it exists), else name
 * (from PATH). */
const char *benchnet_bin(const char *env, const char *build, const char *name);

plx_ctx *benchnet_ctx(benchnet *self);
/* The endpoint node 0 sends from ("benchclient"). */
plx_ep *benchnet_ep(benchnet *self);
/* The hub etcd's client URL(s), and a client of it. */
const char *benchnet_etcd_url(benchnet *self);
plx_etcd *benchnet_etcd(benchnet *self);
netns_cluster *benchnet_netns(benchnet *self);
/* A TCP socket listening in node of c on a port the kernel picks, for a benchmark's raw
 * baseline; *sa is set to its address (the one to connect to). Returns the descriptor
 * (caller closes) or a negative errno. */
int benchnet_tcp_listen(netns_cluster *c, int node, struct sockaddr_in *sa);

#endif
