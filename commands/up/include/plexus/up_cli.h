/*
 * plexus/up_cli.h — `plexus up` and `plexus down` for the plexus CLI (docs/using.md "Booting
 * with up").
 *
 * Entry points: plx_up_cli, plx_down_cli, plx_up_env, plx_env_cli, plx_up_note_mount.
 */
#ifndef PLEXUS_UP_CLI_H
#define PLEXUS_UP_CLI_H

#include <stdbool.h>
#include <stddef.h>

/* plexus up [--state-dir DIR] [--cluster-file FILE] [--cluster NAME] [--image PATH] [--port N]
 *   [--timeout MS] [--tour|--no-tour] [--nodes N] [--quiet]
 * argv[0] is "up". Boots a single-node Plexus (etcd, plexus-node, plexus-rs and the services
 * of the cluster description), leaves it running, then opens `plexus sh` (with a terminal) or
 * runs the tour (without one). Returns a sysexits.h code. */
int plx_up_cli(int argc, char **argv);

/* plexus down [--state-dir DIR]: stops everything `plexus up` started there and removes its
 * state. argv[0] is "down". Returns a sysexits.h code. */
int plx_down_cli(int argc, char **argv);

/* Points this process at a running `plexus up`: sets PLEXUS_ETCD, PLEXUS_CLUSTER,
 * PLEXUS_ADDR (the bridge address clients bind on with --nodes), PLEXUS_KEYS (a secured up's
 * keys) and PLEXUS_STATE_DIR (where its state was found) from its state, each only if not set
 * already (an empty value stays: "none"). The
 * state is looked for in state_dir, else the default state directory, then (for users other
 * than root) root's /run/plexus; an up whose etcd is not the one PLEXUS_ETCD names is passed
 * over. Not thread-safe (setenv): call it before starting threads. Returns 0, or -ENOENT when
 * no such up runs (nothing set). */
int plx_up_env(const char *state_dir);

/* plexus env [--state-dir DIR]: prints `export NAME='VALUE'` lines for the variables
 * plx_up_env finds. argv[0] is "env". Returns a sysexits.h code (EX_UNAVAILABLE: none runs). */
int plx_env_cli(int argc, char **argv);

/* Notes (add) or forgets a mount point in the state of a running `plexus up` so that
 * `plexus down` unmounts it. Returns 0, or -ENOENT when no up runs there. */
int plx_up_note_mount(const char *state_dir, const char *dir, bool add);

#endif
