/*
 * benchcluster.h — what `plexus bench recovery` (bench.c) and `plexus bench scale`
 * (bench_scale.c) share: a network-namespace cluster with etcd on the hub, this process on the
 * hub as a client of the services, node kernels and RS started in places, and IPC_ECHO to a
 * label.
 */
#ifndef PLEXUS_RS_BENCHCLUSTER_H
#define PLEXUS_RS_BENCHCLUSTER_H

#include <stdint.h>
#include <sys/types.h>

#include <plexus/endpoint.h>
#include <plexus/etcd.h>
#include <plexus/transport.h>

#include "netns_harness.h"

typedef struct benchcluster {
	netns_cluster *c;
	int own_ns;     /* this thread's network namespace before entering the hub's, or -1 */
	char file[512]; /* the cluster file, in the harness's run directory */
	plx_ctx *ctx;
	plx_etcd *etcd;
	plx_epcache *cache;
	plx_ep *ep; /* "bench", the services' client */
} benchcluster;

/* A binary: $env when set and not empty, else built (the build tree's). */
const char *benchcluster_bin(const char *env, const char *built);
/* Milliseconds since from_ns (bench_now_ns). */
double benchcluster_ms(uint64_t from_ns);
/* The environment of every program started in a place. */
char **benchcluster_envp(void);
/* Makes the harness of places places with etcd on the hub; names the cluster file (b->file,
 * not written). who names the command in the error printed. Returns 0 or a sysexits code. */
int benchcluster_open(benchcluster *b, int places, const char *who);
/* Enters the hub's network namespace and makes the client: etcd, context, endpoint "bench",
 * the endpoint cache of cluster. Returns 0 or a sysexits code. */
int benchcluster_enter(benchcluster *b, const char *cluster);
/* Undoes both (the harness kills what runs in the places). Accepts a half-made b. */
void benchcluster_close(benchcluster *b);
/* Starts plexus-node in place i as node n<i> of cluster (lease TTL ttl_s): *pid. Returns 0 or
 * -1 (netns_error). */
int benchcluster_start_node(benchcluster *b, int i, const char *cluster, int ttl_s, pid_t *pid);
/* Starts plexus-rs named name in place 0 on the cluster file: *pid. Returns 0 or -1. */
int benchcluster_start_rs(benchcluster *b, const char *name, pid_t *pid);
/* IPC_ECHO to label's current generation within timeout_ms: 0 and the answering generation in
 * *gen, or the call's negative errno. */
int benchcluster_echo(benchcluster *b, const char *label, int timeout_ms, uint64_t *gen);

#endif
