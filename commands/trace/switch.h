/*
 * switch.h — tracing switched in running services, and a command run traced (switch.c).
 *
 * Entry points: tr_switch_all, tr_read_nodes, tr_run, tr_now_us.
 */
#ifndef PLEXUS_TRACE_SWITCH_H
#define PLEXUS_TRACE_SWITCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tr_trace;

/* Sends IPC_TRACE_LEVEL(enabled) to every endpoint of the cluster PLEXUS_ETCD and
 * PLEXUS_CLUSTER name (VFS's clients, c-*, left out). Returns how many obeyed, the labels of
 * those that did not answer or refused in missed (space-separated, cut at msize), or a
 * negative errno with err set when none could be asked. When known is not NULL, each
 * endpoint's generation goes to it (tr_known_add): a later one in the window is a restart. */
int tr_switch_all(bool enabled, struct tr_trace *known, char *missed, size_t msize, char *err,
                  size_t size);

/* Asks every node kernel of the endpoint table (node.NAME) for the trace lines of its log files
 * in [since, until] (INT64_MIN/INT64_MAX: open) and adds them to t, one clock domain per node
 * ("node NAME"). Returns how many nodes answered, the labels of those that did not in missed,
 * or a negative errno with err set when none could be asked. */
int tr_read_nodes(struct tr_trace *t, int64_t since, int64_t until, char *missed, size_t msize,
                  char *err, size_t size);

/* Runs argv with PLEXUS_TRACE=1, its standard error into capture_fd and its standard output
 * onto this process's standard error; waits for it (*status as waitpid sets it). Returns 0 or
 * a negative errno (it could not be started). */
int tr_run(char **argv, int capture_fd, int *status);

/* This host's wall clock in microseconds (the t= of trace lines). */
int64_t tr_now_us(void);

#endif
