/*
 * plexus/node_cli.h — the node kernel's command for the plexus CLI.
 *
 * Entry points: plx_node_cli.
 */
#ifndef PLEXUS_NODE_CLI_H
#define PLEXUS_NODE_CLI_H

/* plexus node ls [--etcd URL[,URL...]] [--cluster NAME]: one line per node record (name,
 * address, age, 1-minute load, services, pid). argv[0] is "node". Options default to
 * $PLEXUS_ETCD (else http://127.0.0.1:2379) and $PLEXUS_CLUSTER (else "default"). Returns a
 * sysexits.h code: EX_OK, EX_USAGE, EX_UNAVAILABLE (etcd unreachable), EX_DATAERR (a record
 * that does not parse; the others are still printed). */
int plx_node_cli(int argc, char **argv);

#endif
