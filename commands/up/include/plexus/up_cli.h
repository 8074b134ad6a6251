/*
 * plexus/up_cli.h — `plexus up` and `plexus down` for the plexus CLI (docs/using.md "Booting
 * with up").
 *
 * Entry points: plx_up_cli, plx_down_cli.
 */
#ifndef PLEXUS_UP_CLI_H
#define PLEXUS_UP_CLI_H

/* plexus up [--state-dir DIR] [--cluster-file FILE] [--cluster NAME] [--image PATH] [--port N]
 *   [--timeout MS] [--tour|--no-tour] [--quiet]
 * argv[0] is "up". Boots a single-node Plexus (etcd, plexus-node, plexus-rs and the services
 * of the cluster description), leaves it running, then opens `plexus sh` (with a terminal) or
 * runs the tour (without one). Returns a sysexits.h code. */
int plx_up_cli(int argc, char **argv);

/* plexus down [--state-dir DIR]: stops everything `plexus up` started there and removes its
 * state. argv[0] is "down". Returns a sysexits.h code. */
int plx_down_cli(int argc, char **argv);

#endif
