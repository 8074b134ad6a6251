/*
 * plexus/registry_cli.h — the registry's commands for the plexus CLI.
 *
 * Entry points: plx_ds_cli, plx_ep_cli, plx_keys_cli, plx_bench_registry.
 *
 * Each takes the arguments that follow "plexus": argv[0] is the command word ("ds", "ep",
 * "registry" for `plexus bench registry`), the rest its subcommand and options. Each prints
 * its own --help, writes results to standard output and one line per error to standard error,
 * and returns a sysexits.h code: EX_OK, EX_USAGE, EX_UNAVAILABLE (etcd unreachable),
 * EX_NOINPUT (no such key), EX_DATAERR (a malformed value), EX_NOPERM, EX_SOFTWARE.
 *
 * Common options: --etcd URL[,URL...] (default $PLEXUS_ETCD, else http://127.0.0.1:2379),
 * --cluster NAME (default $PLEXUS_CLUSTER, else "default"), --user NAME and --password TEXT
 * ($PLEXUS_ETCD_USER, $PLEXUS_ETCD_PASSWORD), --cacert, --cert, --key FILE (TLS).
 * They use getopt_long and reset its state (optind = 0) before parsing.
 */
#ifndef PLEXUS_REGISTRY_CLI_H
#define PLEXUS_REGISTRY_CLI_H

/* plexus ds ls [PREFIX] | get KEY | put KEY VALUE [--type u32|str] [--owner NAME]
 *           | watch [PREFIX] [--count N] */
int plx_ds_cli(int argc, char **argv);
/* plexus ep ls */
int plx_ep_cli(int argc, char **argv);
/* plexus keys init DIR [--etcd IP[,IP...]]: a trust root for a rack and its etcd's authority
 * (cli_keys.c); needs no etcd */
int plx_keys_cli(int argc, char **argv);
/* plexus bench registry [--json] [--rounds N]: starts a private etcd (never touches the one in
 * --etcd) and measures cached lookups and publish-to-notification latency against `etcdctl
 * watch` in the same run. Defined in the plexus-registry-bench library. */
int plx_bench_registry(int argc, char **argv);

#endif
