/*
 * plexus/drill_cli.h — `plexus drill` for the plexus CLI (docs/drills.md).
 *
 * Entry points: plx_drill_cli.
 */
#ifndef PLEXUS_DRILL_CLI_H
#define PLEXUS_DRILL_CLI_H

/* plexus drill SCENARIO|soak|list [--writers W] [--seconds S] [--seed N] [--timeout S]
 * [--json]: argv[0] is "drill". Drills the running system (plexus up, found as the other
 * commands find it). Returns EX_OK when it passed, 1 when it failed, EX_USAGE, or
 * EX_UNAVAILABLE (no system). */
int plx_drill_cli(int argc, char **argv);

#endif
