/*
 * drill.h — what the parts of `plexus drill` share (docs/drills.md).
 *
 * Entry points: drill_workload_start, drill_workload_stop, drill_workload_verify,
 * drill_workload_clean, drill_calls_after, drill_fileops_libplexus, drill_fileops_mount,
 * drill_mount_check, drill_fsck, drill_data_image, drill_diskwatch_start,
 * drill_diskwatch_count, drill_diskwatch_stop, drill_bridge_port, drill_plan_load,
 * drill_scenario_find, drill_scenarios, drill_inject, drill_node_here, drill_fault_back_ms,
 * drill_report_text, drill_report_json, drill_timeline_svg.
 *
 * A drill runs a workload of writers against a running system, injects faults into it one
 * after another, times each fault's course from what RS publishes (svc/ records) and from what
 * the writers saw, and in the end checks every state the writers had acknowledged.
 */
#ifndef PLEXUS_DRILL_H
#define PLEXUS_DRILL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <plexus/etcd.h>

#define DRILL_WRITERS_MAX   64
#define DRILL_FAULTS_MAX    64
#define DRILL_ERRNO_MAX     134   /* errno values counted one by one */
#define DRILL_HUNG_MS       30000 /* a call without an answer this long hung */
#define DRILL_HUNG_SLACK_MS 5000  /* a call this long past DRILL_HUNG_MS hung */

/* Milliseconds on the drill's clock (CLOCK_MONOTONIC, 0 at the drill's start). */
int64_t drill_ms(void);

/* ---- fileops.c: the calls the writers make, through libplexus or a FUSE mount ---- */

typedef struct drill_fs drill_fs; /* one client: a libplexus handle, or the mount's root */

/* A table of file calls on Plexus paths; each returns as its POSIX namesake (-1 and errno).
 * read and write transfer the whole count unless end of file or an error stops them. */
typedef struct drill_fileops {
	const char *through; /* "libplexus" or "mount" */
	/* A client of its own (root: the mount's directory, unused by libplexus). NULL with
	 * errno set. The caller owns the result. */
	drill_fs *(*connect)(const char *root, const char *name);
	void (*disconnect)(drill_fs **self_p);
	int (*open)(drill_fs *self, const char *path, int flags, mode_t mode);
	ssize_t (*read)(drill_fs *self, int fd, void *buf, size_t n);
	ssize_t (*write)(drill_fs *self, int fd, const void *buf, size_t n);
	int (*fsync)(drill_fs *self, int fd);
	int (*close)(drill_fs *self, int fd);
	int (*rename)(drill_fs *self, const char *from, const char *to);
	int (*unlink)(drill_fs *self, const char *path);
	int (*mkdir)(drill_fs *self, const char *path, mode_t mode);
	int (*stat)(drill_fs *self, const char *path, struct stat *st);
} drill_fileops;

/* libplexus's calls, each client a handle of its own (DRILL_HUNG_MS per call). */
extern const drill_fileops drill_fileops_libplexus;
/* open(2), write(2), fsync(2), ... on root + the Plexus path: through a `plexus mount`. */
extern const drill_fileops drill_fileops_mount;
/* Whether dir is a FUSE mount (statfs(2)'s f_type): 0 with its absolute path in root, or a
 * negative errno with why saying what is wrong. Whether it shows this system is seen once the
 * writers' directories are made through it (drill_workload_start: EXDEV). */
int drill_mount_check(const char *dir, char *root, size_t size, char *why, size_t why_size);

/* ---- workload.c: writers with a journal of what was acknowledged ---- */

typedef struct drill_workload drill_workload;

#define DRILL_SLICE_MS 100  /* the timeline's resolution */
#define DRILL_SLICES   6000 /* ten minutes; later calls count in the last slice */

typedef struct drill_counts {
	uint64_t ops;                       /* calls that succeeded */
	uint64_t errors;                    /* calls that failed */
	uint64_t by_errno[DRILL_ERRNO_MAX]; /* failures by errno (others in [0]) */
	uint64_t hung;               /* calls answered after DRILL_HUNG_MS or never, or ETIMEDOUT */
	uint64_t synced_after_close; /* writes acknowledged by an fsync after their close */
	uint64_t lost_after_close;   /* such an fsync failed */
	uint32_t ok_at[DRILL_SLICES];     /* calls answered, per DRILL_SLICE_MS of the drill */
	uint32_t failed_at[DRILL_SLICES]; /* calls failed, likewise */
} drill_counts;

typedef struct drill_verdict {
	uint64_t files;    /* acknowledged files checked */
	uint64_t verified; /* found whole, under a name the journal allows */
	uint64_t lost;     /* missing, or not what was acknowledged */
	/* of the files with an unacknowledged tail, those holding zeros there: blocks a dead
	 * instance never wrote, whose size it did (allowed: nobody acknowledged them) */
	uint64_t zero_tails;
	bool checked; /* the check ran (else first_loss says why not) */
	char first_loss[256];
} drill_verdict;

/* Starts writers threads, each a client of its own writing, renaming, removing and fsyncing
 * checksummed files under DIR/wN (DIR made here through libplexus, DIR/wN through the
 * writers' calls): libplexus's, or with mount (the root of a `plexus mount`, else NULL) plain
 * POSIX calls on mount + DIR/wN. Returns NULL with errno set: EXDEV when the mount does not
 * show DIR (a mount of another system). */
drill_workload *drill_workload_start(const char *dir, int writers, unsigned seed,
                                     const char *mount);
/* The first time (drill_ms) any writer's call succeeded at or after t, or -1. */
int64_t drill_workload_first_ok(drill_workload *self, int64_t t);
/* How many calls were answered in the slices after the one of ms (0 for ms < 0). */
uint64_t drill_calls_after(const drill_counts *counts, int64_t ms);
/* Stops the writers (each finishes what it does) and sums what they counted into *counts. A
 * writer waiting in a call longer than DRILL_HUNG_MS, or in any once the stop has waited a
 * minute, is given up on and counted hung: the stop never waits for ever. Returns how many
 * writers were given up on (still in their calls). */
int drill_workload_stop(drill_workload *self, drill_counts *counts);
/* Checks every acknowledged file through a new client: libplexus's (the system's own view),
 * or with through_mount the mount's. Returns 0 or -errno (no client; EBUSY through the mount
 * when writers were given up on in its calls: the check would wait as they do). */
int drill_workload_verify(drill_workload *self, bool through_mount, drill_verdict *out);
/* Removes the writers' files and directories. Returns 0 or the last -errno. */
int drill_workload_clean(drill_workload *self);
void drill_workload_free(drill_workload **self);

/* ---- faults.c: the scenarios and their course ---- */

/* A second service a fault hits at the same moment (kill-vfs-fs: mfs-data with VFS;
 * kill-node-fs: vdisk, on mfs-data's node), followed as the fault's own. */
typedef struct drill_hit {
	char label[64]; /* "" when the fault hits one service */
	uint64_t generation, new_generation;
	long pid;
	int64_t detected_ms, restarted_ms, old_gone_ms; /* -1: never */
} drill_hit;

typedef struct drill_fault {
	char scenario[32]; /* kill-driver, hang-driver, kill-fs, kill-vfs, kill-pfs, ... */
	char label[64];    /* the service hit */
	uint64_t generation;
	long pid;
	int64_t injected_ms, detected_ms, restarted_ms, first_ok_ms; /* -1: never */
	int64_t old_gone_ms; /* when the hit instance's process was gone (-1: it was not) */
	int64_t healed_ms;   /* partition: when the cut node was back, healed (-1: not) */
	/* partition: writes to /data's image by processes of the cut-off side (diskwatch.c),
	 * before RS had the service up elsewhere and after; -1 when not watched */
	int64_t cut_writes, cut_writes_late;
	uint64_t new_generation;
	drill_hit also;  /* the other service a pair's fault hits (label "" for one) */
	bool here;       /* its process is on this machine: old_gone_ms is measured */
	char how[32];    /* "" (kill(2) here), "through RS" (RS_SIGNAL) or "power cycle by RS" */
	char error[256]; /* "" or why the fault failed: not injected, or a service restarted */
} drill_fault;

enum { DRILL_SERVICE, DRILL_NODE, DRILL_ETCD, DRILL_PARTITION, DRILL_RS };

typedef struct drill_scenario {
	const char *name;
	const char *label; /* the service it hits (DRILL_NODE: whose node it kills) */
	const char *also;  /* a second service hit at the same moment (DRILL_NODE: one on the
	                    * same node, followed as well), or NULL */
	int signal;        /* SIGKILL, or SIGSTOP for a hang (RS's heartbeat finds it) */
	int kind;          /* DRILL_SERVICE: its process; DRILL_NODE: every process of its node
	                    * (plexus up --nodes); DRILL_ETCD: an etcd member (--etcd-members) */
	const char *what;
} drill_scenario;

/* The built-in scenarios, NULL-terminated by name. */
extern const drill_scenario drill_scenarios[];
const drill_scenario *drill_scenario_find(const char *name);

/* Injects sc into the system (its service's process from its ep/ record: with kill(2) when it
 * runs on this machine, else, or with how->through_rs, through RS) and follows it until RS
 * has the service up again under a new generation, or how->timeout_ms passed. Fills *f. */
typedef struct drill_how {
	int timeout_ms;  /* the longest wait for the service to come back */
	bool through_rs; /* a service's signal by RS_SIGNAL even when it runs here */
} drill_how;
void drill_inject(plx_etcd *etcd, const char *cluster, const drill_scenario *sc, drill_workload *w,
                  const drill_how *how, drill_fault *f);
/* Whether label's node is a network namespace of this machine (plexus up --nodes), so that
 * a node scenario on it is SIGKILL to its processes here (soak draws kill-node-fs then). */
bool drill_node_here(plx_etcd *etcd, const char *cluster, const char *label);
/* When every service f hit was up again (the later restart of a pair), or -1 when one was
 * not. */
int64_t drill_fault_back_ms(const drill_fault *f);

/* ---- plan.c: a drill written in an INI file ---- */

typedef struct drill_plan_step {
	const drill_scenario *scenario;
	int after_ms; /* quiet time before it */
} drill_plan_step;

typedef struct drill_plan {
	int writers, timeout_s; /* 0: the command line's */
	unsigned seed;
	bool has_seed;
	char mount[4096]; /* the writers through this plexus mount; "": the command line's */
	drill_plan_step steps[DRILL_FAULTS_MAX];
	int n;
} drill_plan;

/* Reads path ([drill] writers, seed, timeout, mount; [fault NAME] scenario, after, in order) into
 * *plan. Returns 0 or a negative errno with err naming the file, line and what was expected. */
int drill_plan_load(const char *path, drill_plan *plan, char *err, size_t size);

/* ---- fsck.c ---- */

/* fsck.minix -f on a copy of /data's disk image after a sync: verdict "clean", "not clean
 * (...)" or "skipped: why". Returns 0 (clean or skipped) or -1 (not clean). */
int drill_fsck(char *verdict, size_t size);
/* The image the disk driver of /data (vdisk) serves, from the running up's cluster file.
 * Returns 0 or -ENOENT. */
int drill_data_image(char *out, size_t size);

/* ---- diskwatch.c: who writes /data's image ---- */

typedef struct drill_diskwatch drill_diskwatch;
/* Starts noting every write to image and its process (fanotify). NULL with errno set
 * (EPERM without CAP_SYS_ADMIN). */
drill_diskwatch *drill_diskwatch_start(const char *image);
/* How many writes noted in [from_ms, to_ms) (drill_ms) came from one of pids. */
int64_t drill_diskwatch_count(drill_diskwatch *self, const long *pids, size_t npids,
                              int64_t from_ms, int64_t to_ms);
void drill_diskwatch_stop(drill_diskwatch **self_p);

/* ---- link.c: the bridge port of a node's link ---- */

/* The interface of this machine's bridge port behind which the IPv4 address ip was learned
 * (its neighbour entry's MAC in the bridge's forwarding database), into out. Returns 0 or
 * -ENOENT (no neighbour entry, or no bridge here holds it). */
int drill_bridge_port(const char *ip, char *out, size_t size);

/* ---- report.c ---- */

typedef struct drill_result {
	const char *scenario;
	unsigned seed;
	int writers;
	const char *through; /* the writers' calls: "libplexus", or "mount" (POSIX through it) */
	const char *mount;   /* the mount's directory, or NULL */
	int64_t delay_ms;    /* the writers alone before the first fault */
	bool drawn;          /* delay_ms was drawn from the seed (a single scenario) */
	int64_t duration_ms;
	drill_fault faults[DRILL_FAULTS_MAX];
	int nfaults;
	drill_counts counts;
	drill_verdict verdict;       /* checked through libplexus */
	drill_verdict mount_verdict; /* checked again through the mount (with mount) */
	char fsck[256];              /* drill_fsck's verdict */
	int services_down;           /* services not up at the end */
	char down[256];              /* their labels */
	bool passed;
} drill_result;

void drill_report_text(const drill_result *r, FILE *out);
void drill_report_json(const drill_result *r, FILE *out);

/* ---- timeline.c ---- */

/* The drill as a picture (a self-contained SVG): a lane per service hit, with each fault's
 * injection, RS's detection and the restart on one time axis, and a lane of the writers'
 * calls answered and failed per DRILL_SLICE_MS. Returns 0 or -errno. */
int drill_timeline_svg(const drill_result *r, const char *path);

#endif
