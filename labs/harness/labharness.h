/*
 * labharness.h — what every lab's checks share: a private etcd, a published client endpoint,
 * the student's driver started as a real service, and one PASS/FAIL line per check.
 *
 * Entry points: lab_harness_new, lab_harness_destroy, lab_harness_ep, lab_harness_etcd,
 * lab_harness_label, lab_harness_dir, lab_harness_etcd_endpoints, lab_start, lab_stop,
 * lab_crash, lab_running, lab_log, lab_spawn, lab_check.
 */
#ifndef PLEXUS_LABHARNESS_H
#define PLEXUS_LABHARNESS_H

#include <stdbool.h>
#include <sys/types.h>

#include <plexus/etcd.h>
#include <plexus/transport.h>

#define LAB_CLUSTER "lab"
#define LAB_TIMEOUT 5000 /* ms: every wait of a check */

typedef struct lab_harness lab_harness;

/* Starts a private etcd and a client endpoint published in it, for checks of the driver at
 * program (the student's build). Returns NULL after printing why on standard error. The
 * caller owns the result. */
lab_harness *lab_harness_new(const char *program);
/* Stops what the harness started (the driver too) and removes its directory unless a check
 * failed (then its path is printed). Prints the summary, which counts the build `plexus lab
 * check` passed and printed before (the checks run on a built program only); returns 0 when
 * every check passed, 1 otherwise. Accepts NULL (returns 1). */
int lab_harness_destroy(lab_harness **self_p);
/* The client endpoint requests go from, the registry client and the driver's label. */
plx_ep *lab_harness_ep(lab_harness *self);
plx_etcd *lab_harness_etcd(lab_harness *self);
const char *lab_harness_label(lab_harness *self);
/* The harness's private directory (logs, files a check writes) and etcd's client URL. */
const char *lab_harness_dir(lab_harness *self);
const char *lab_harness_etcd_endpoints(lab_harness *self);

/* Starts the driver under the harness's label with PLEXUS_INIT=init (NULL: none) and waits
 * until it publishes a new endpoint. Returns 0, or -ETIMEDOUT (it did not publish; it is
 * killed) or -ECHILD (it exited). */
int lab_start(lab_harness *self, const char *init);
/* SIGTERM, then SIGKILL after LAB_TIMEOUT; returns the wait status, -1 when none runs. */
int lab_stop(lab_harness *self);
/* SIGKILL, as a crash; reaps it. */
void lab_crash(lab_harness *self);
/* True while the driver started last is still running. */
bool lab_running(lab_harness *self);
/* The driver's output so far (a static buffer, the last 4 KiB at most). */
const char *lab_log(lab_harness *self);

/* Starts argv (argv[0] a path) with its output in <dir>/<name>.log; the harness kills it
 * (SIGKILL) when destroyed. Returns its pid, or -errno. */
pid_t lab_spawn(lab_harness *self, char *const argv[], const char *name);

/* Prints "PASS name" or "FAIL name: hint" and counts it. Returns ok. */
bool lab_check(lab_harness *self, const char *name, bool ok, const char *hint);

#endif
