/*
 * plexus/lab_cli.h — `plexus lab` for the plexus CLI: the labs that grade themselves
 * (docs/labs.md, labs/).
 *
 * Entry points: plx_lab_cli.
 */
#ifndef PLEXUS_LAB_CLI_H
#define PLEXUS_LAB_CLI_H

/* plexus lab list | start N [DIR] | check N [DIR]. argv[0] is "lab". Returns a sysexits.h
 * code, or 1 when `check` ran and some check failed. */
int plx_lab_cli(int argc, char **argv);

#endif
