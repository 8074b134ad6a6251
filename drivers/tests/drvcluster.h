/*
 * drvcluster.h — the four-node cluster the multi-node driver tests share (drvcluster.c).
 *
 * Entry points: drvcluster_setup, drvcluster_teardown, drvcluster_now_ms,
 * drvcluster_wait_route, drvcluster_call, drvcluster_start_driver, drvcluster_expect_exit.
 */
#ifndef PLEXUS_DRVCLUSTER_H
#define PLEXUS_DRVCLUSTER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <plexus/ds.h>
#include <plexus/endpoint.h>

#include "netns_harness.h"
#include "plexus/proto/node.pb-c.h"

#define DRVCLUSTER_NODES   4
#define DRVCLUSTER_WAIT_MS 30000 /* generous: sanitizer builds on a loaded 2-core machine */

typedef struct drvcluster_opts {
	const char *cluster;                  /* the registry prefix, one per test file */
	const char *client;                   /* the DS owner the test reads as */
	const ProtobufCEnumDescriptor *types; /* the family under test, for trace names */
	const char *env_marker;               /* "NAME=1": in every driver's environment */
} drvcluster_opts;

typedef struct drvcluster {
	netns_cluster *c;
	int own_ns; /* the namespace this thread left for node 0 */
	char dir[256];
	pid_t node[DRVCLUSTER_NODES];
	plx_ctx *ctx;
	plx_etcd *etcd;
	plx_lease *lease;
	plx_epcache *cache;
	plx_ds *ds;
	plx_ep *rs;
	bool passed; /* set by a test that passed: logs are kept otherwise */
	const char *cluster;
	const char *client;
	const ProtobufCEnumDescriptor *types;
	const char *env_marker;
} drvcluster;

/* cmocka setup: the cluster up, every node registered. Returns 0 or -1 (said why). */
int drvcluster_setup(void **state, const drvcluster_opts *opts);
/* cmocka teardown: everything stopped and removed (logs kept unless passed). */
int drvcluster_teardown(void **state);
int64_t drvcluster_now_ms(void);
/* Waits until label's route has a generation above after; sets *gen. 0 or -ETIMEDOUT. */
int drvcluster_wait_route(drvcluster *f, const char *label, uint64_t after, uint64_t *gen);
/* sendrec from rs; *reply (may be NULL) is the caller's. Returns what plx_sendrec returns. */
int drvcluster_call(drvcluster *f, const char *label, uint32_t type, const ProtobufCMessage *body,
                    plx_msg **reply);
/* Starts a driver (argv NULL-terminated, argv[0] the program) as label on node i with a new
 * generation, as RS does, and waits until its endpoint is published (fails the test with the
 * driver's log otherwise). init: NULL or "restart". Returns the generation. */
uint64_t drvcluster_start_driver(drvcluster *f, int i, const char *label, const char *init,
                                 char **argv);
/* Waits for the NODE_EXIT of label at rs (answering every report); the caller frees it. */
Plexus__NodeExit *drvcluster_expect_exit(drvcluster *f, const char *label);

#endif
