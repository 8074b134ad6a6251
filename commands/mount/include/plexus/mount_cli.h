/*
 * plexus/mount_cli.h — `plexus mount` and `plexus umount` for the plexus CLI (docs/using.md
 * "The mount").
 *
 * Entry points: plx_mount_cli, plx_umount_cli.
 */
#ifndef PLEXUS_MOUNT_CLI_H
#define PLEXUS_MOUNT_CLI_H

/* plexus mount [-f] [--etcd URLS] [--cluster NAME] [--vfs LABEL] [-o OPTS] DIR
 * argv[0] is "mount". Mounts the Plexus namespace on DIR with FUSE 3. Without -f it returns
 * once the mount is up, leaving a daemon serving it; with -f it serves in the foreground until
 * unmounted, SIGINT or SIGTERM (then unmounts). Returns a sysexits.h code. */
int plx_mount_cli(int argc, char **argv);

/* plexus umount DIR: unmounts a plexus mount (fusermount3 -u, or umount(2) as root); its
 * daemon then exits. argv[0] is "umount". Returns a sysexits.h code. */
int plx_umount_cli(int argc, char **argv);

#endif
