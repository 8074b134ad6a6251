/*
 * plexus/sh_cli.h — `plexus sh`, the Plexus shell, for the plexus CLI.
 *
 * Entry points: plx_sh_cli.
 */
#ifndef PLEXUS_SH_CLI_H
#define PLEXUS_SH_CLI_H

/* plexus sh [-c SCRIPT] [FILE] [--etcd URL[,URL...]] [--cluster NAME] [--node NAME]
 *           [--vfs LABEL] [--timeout MS]
 * argv[0] is "sh". Connects to VFS as one client (libplexus) and runs SCRIPT, the host file
 * FILE, the script on standard input, or, when standard input is a terminal, reads commands
 * with line editing and history (~/.plexus_history). Options default to $PLEXUS_ETCD,
 * $PLEXUS_CLUSTER, $PLEXUS_NODE. Returns the last command's status, EX_USAGE for bad options,
 * EX_UNAVAILABLE when VFS cannot be reached, EX_NOINPUT when FILE cannot be read. */
int plx_sh_cli(int argc, char **argv);

#endif
