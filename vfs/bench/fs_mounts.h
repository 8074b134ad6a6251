/*
 * fs_mounts.h — the mounts `plexus bench fs` measures besides libplexus (fs-mounts.c): Plexus
 * through `plexus mount` (FUSE) in node 0, sshfs in node 0 from an sshd of the benchmark's
 * own on the file server's node, and the probe that says whether NFS can be had here.
 *
 * Entry points: fs_run, fs_mount_fuse, fs_mount_sshfs, fs_mount_stop, fs_nfs_probe.
 *
 * Every mount is made by a process netns_exec started, so it is a process of the cluster: a
 * mount is taken down (lazily, then its process stopped) by fs_mount_stop, which the caller
 * calls on every path out, failure included.
 */
#ifndef PLEXUS_FS_MOUNTS_H
#define PLEXUS_FS_MOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "netns_harness.h"

/* A mount and what serves it. tmp, when set, is a directory of the mount's own (keys,
 * configuration, the exported directory) removed by fs_mount_stop. */
typedef struct fs_mount {
	char dir[256]; /* the mount point */
	char tmp[256];
	pid_t client; /* the FUSE process (plexus mount -f, sshfs -f), 0 when none */
	pid_t server; /* sshd, 0 when none */
} fs_mount;

/* Runs argv (argv[0] searched in PATH) in this process's namespaces and waits; its standard
 * output goes to /dev/null when quiet. Returns its exit status (0 is success), or a negative
 * errno when it could not run. */
int fs_run(char *const argv[], bool quiet);

/* Mounts the Plexus namespace of cluster (registry at etcd) on a new directory under
 * /dev/shm with `plexus mount -f` (program: the plexus command) run in node of c. Returns 0,
 * or a negative errno with one line in err; m is then still for fs_mount_stop. */
int fs_mount_fuse(netns_cluster *c, int node, const char *program, const char *etcd,
                  const char *cluster, fs_mount *m, char *err, size_t size);

/* Starts an sshd of its own in server_node of c (its own configuration, host key and
 * authorized_keys with a key made for it, all in a temporary directory; it serves a directory
 * on tmpfs through internal-sftp) and mounts that directory with sshfs run in client_node.
 * Returns 0, -ENOENT when sshd or sshfs is not installed (why in err), or another negative
 * errno with one line in err; m is then still for fs_mount_stop. */
int fs_mount_sshfs(netns_cluster *c, int server_node, int client_node, fs_mount *m, char *err,
                   size_t size);

/* Unmounts m (lazily), stops its processes, removes its directories. Accepts an empty m
 * (all zero) and a half-made one. */
void fs_mount_stop(netns_cluster *c, fs_mount *m);

/* Whether an NFS server can be run here. Returns 0 when it can, or -ENOTSUP with the reason
 * in why. */
int fs_nfs_probe(char *why, size_t size);

#endif
