/*
 * plexus/trace_cli.h — `plexus trace` for the plexus CLI (docs/trace.md).
 *
 * Entry points: plx_trace_cli.
 */
#ifndef PLEXUS_TRACE_CLI_H
#define PLEXUS_TRACE_CLI_H

/* plexus trace [--logs DIR|FILE]... [--since T] [--until T] [--format html|svg|mermaid]
 *   [-o FILE] [--save FILE] [-- COMMAND ARGS...]
 * plexus trace show FILE [--format ...] [-o FILE]
 * argv[0] is "trace". Reads the message trace from logs (or traces a command), aligns the
 * nodes' clocks from the messages and draws a sequence diagram. Returns a sysexits.h code. */
int plx_trace_cli(int argc, char **argv);

#endif
