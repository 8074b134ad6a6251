/*
 * uptest.h — what the tests of `plexus up`, `plexus down` and `plexus mount` share: a private
 * state directory, the plexus command run through the shell with its output kept, and the
 * checks that nothing is left behind.
 *
 * Entry points: uptest_new, uptest_destroy, uptest_setup, uptest_teardown, uptest_sh,
 * uptest_output, uptest_pids, uptest_pid_gone, uptest_mounted, uptest_service_pid,
 * uptest_wait_back.
 */
#ifndef PLEXUS_UPTEST_H
#define PLEXUS_UPTEST_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

typedef struct uptest {
	char dir[PATH_MAX];     /* a fresh temporary directory, removed by uptest_destroy */
	char state[PATH_MAX];   /* dir/state: plexus up's state directory */
	char out[PATH_MAX + 8]; /* dir/out: the last command's standard output and error */
	char *text;             /* the last command's output (uptest_output) */
	int lock_fd;            /* dir/lock, flocked while the test runs */
} uptest;

/* Sweeps what dead runs left (their directory's lock is free: plexus down on their state,
 * their FUSE mounts, the directory), then makes the temporary directory and locks it. Fails
 * the test on error. */
void uptest_new(uptest *t);
/* Runs `plexus down` on the state, unmounts anything under dir, removes dir. Accepts a
 * zeroed t. */
void uptest_destroy(uptest *t);
/* cmocka fixtures: *state a new uptest (uptest_new), then uptest_destroy and free. */
int uptest_setup(void **state);
int uptest_teardown(void **state);
/* Runs the shell command (printf format; "$PLEXUS" is the plexus binary, "$STATE" the state
 * directory, "$T" the temporary directory) with its output in t->out and t->text. Returns its
 * exit status (128 + signal when killed). */
int uptest_sh(uptest *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True when t->text holds needle. */
bool uptest_output(const uptest *t, const char *needle);
/* How many times t->text holds needle. */
int uptest_count(const uptest *t, const char *needle);
/* Reads the pids of the processes plexus up recorded in its state file into pids (at most n).
 * Returns how many. */
int uptest_pids(const uptest *t, pid_t *pids, int n);
/* True when pid no longer runs (gone or a zombie). */
bool uptest_pid_gone(pid_t pid);
/* True when a mount point at or under path is in /proc/self/mountinfo. */
bool uptest_mounted(const char *path);
/* The pid of label's endpoint (plexus ep ls) and its generation in *gen; 0 when it has none. */
long uptest_service_pid(uptest *t, const char *label, long *gen);
/* Waits (60 s at most, else fails the test) until RS has every service up, label at a
 * generation above gen. */
void uptest_wait_back(uptest *t, const char *label, long gen);

#endif
