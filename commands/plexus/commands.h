/*
 * commands.h — the plexus command's subcommand handlers.
 *
 * Entry points: cmd_bench.
 *
 * Each takes the arguments from its own name on (argv[0] is the subcommand) and returns a
 * sysexits.h code.
 */
#ifndef PLEXUS_COMMANDS_H
#define PLEXUS_COMMANDS_H

int cmd_bench(int argc, char **argv);

#endif
