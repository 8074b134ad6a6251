/*
 * plexus/mkfs_cli.h — `plexus mkfs`: a new MINIX v3 file system on an image file or on a
 * block driver's minor (docs/mfs.md "plexus mkfs").
 *
 * Entry points: plx_mkfs_cli.
 */
#ifndef PLEXUS_MKFS_CLI_H
#define PLEXUS_MKFS_CLI_H

/* argv[0] is "mkfs". Returns a sysexits.h code. */
int plx_mkfs_cli(int argc, char **argv);

#endif
