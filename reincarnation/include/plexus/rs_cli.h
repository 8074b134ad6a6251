/*
 * plexus/rs_cli.h — the reincarnation server's commands for the plexus CLI.
 *
 * Entry points: plx_service_cli, plx_rs_signal, plx_bench_recovery, plx_bench_scale.
 */
#ifndef PLEXUS_RS_CLI_H
#define PLEXUS_RS_CLI_H

#include <stddef.h>
#include <stdint.h>

#include <plexus/etcd.h>

/* plexus service list | up LABEL | down LABEL | restart LABEL | refresh LABEL
 *   | kill LABEL [SIGNAL] [--etcd URL[,URL...]] [--cluster NAME] [--timeout MS]
 * argv[0] is "service". list reads the svc/ records RS keeps in the registry (label, node,
 * generation, state, restarts, uptime, last exit); the others ask the leading RS (ep/rs) and
 * wait until the service has settled. Options default to $PLEXUS_ETCD (else
 * http://127.0.0.1:2379) and $PLEXUS_CLUSTER (else "default"). Returns a sysexits.h code:
 * EX_OK, EX_USAGE, EX_UNAVAILABLE (etcd or RS unreachable, or no answer in time), EX_NOINPUT
 * (no such service), EX_DATAERR (a record that does not parse), EX_SOFTWARE (RS refused, e.g.
 * the service failed to start: the message says why). */
int plx_service_cli(int argc, char **argv);

/* Asks the leading RS of cluster to send signo (1..31) to label's running instance through
 * its node kernel, wherever it runs (RS_SIGNAL, as an operator: this process's keys). Sets
 * *generation (may be NULL) to the instance signalled. Returns 0 or a negative errno with err
 * set: -ESRCH no such service, -ENXIO none runs, -EHOSTUNREACH no RS, -EACCES no keys, or
 * the transport's (-ETIMEDOUT). */
int plx_rs_signal(plx_etcd *etcd, const char *cluster, const char *label, int signo, int timeout_ms,
                  uint64_t *generation, char *err, size_t size);

/* Asks the leading RS of cluster to power-cycle node through its power backend (RS_POWER, as
 * an operator). Returns 0 once the backend has the request, or a negative errno with err set:
 * -ESRCH no such node, -ENOTSUP it has no power backend, -EBUSY a cycle is under way,
 * -EHOSTUNREACH no RS, -EACCES no keys, or the transport's. */
int plx_rs_power(plx_etcd *etcd, const char *cluster, const char *node, int timeout_ms, char *err,
                 size_t size);

/* plexus node cycle NODE [--etcd URL[,URL...]] [--cluster NAME] [--timeout MS]: RS_POWER.
 * argv[0] is "node". Returns EX_OK, EX_USAGE, EX_NOINPUT (no such node), EX_UNAVAILABLE (no
 * power backend, no RS), EX_TEMPFAIL (a cycle under way), EX_NOPERM, EX_SOFTWARE. */
int plx_node_cycle_cli(int argc, char **argv);

/* plexus bench recovery [--json] [--crashes N]: builds a cluster on the network-namespace
 * harness (etcd, plexus-node on three nodes, plexus-rs) and measures driver_crash (SIGKILL to
 * the first successful request to the new generation, p50/p99 over N crashes) against a bare
 * fork+exec+first reply of the same service, and node_death (node killed to service answering
 * on its standby) against the node lease's TTL. Needs root. */
int plx_bench_recovery(int argc, char **argv);

/* plexus bench scale [--json] [--nodes N,N,...] [--services S] [--rest SEC]: for each N, a
 * cluster of N nodes with S services each on the network-namespace harness; boot-all time,
 * RS's CPU and etcd's messages/s at rest, one node's death and min(8, N/2) deaths at once,
 * against the first N scaled linearly and the node lease's TTL. Needs root. */
int plx_bench_scale(int argc, char **argv);

#endif
