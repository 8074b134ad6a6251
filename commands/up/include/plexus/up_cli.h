/*
 * plexus/up_cli.h — `plexus up` and `plexus down` for the plexus CLI (docs/using.md "Booting
 * with up").
 *
 * Entry points: plx_up_cli, plx_down_cli, plx_up_find, plx_up_note_mount.
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

/* Fills etcd, cluster and addr (the address local clients must bind on: "" for loopback,
 * the bridge's with --nodes) from the state of a running `plexus up` in state_dir (NULL: the
 * default one); each NUL-terminated, at most its size. Returns 0, or -ENOENT when none runs
 * (outputs untouched). */
int plx_up_find(const char *state_dir, char *etcd, size_t etcd_size, char *cluster,
                size_t cluster_size, char *addr, size_t addr_size);

/* Notes (add) or forgets a mount point in the state of a running `plexus up` so that
 * `plexus down` unmounts it. Returns 0, or -ENOENT when no up runs there. */
int plx_up_note_mount(const char *state_dir, const char *dir, bool add);

#endif
