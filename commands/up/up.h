/*
 * up.h — `plexus up` and `plexus down`: what their files share (docs/using.md "Booting with
 * up").
 *
 * Entry points:
 *   state.c:   up_state_dir_default, up_state_lock, up_state_load, up_state_save,
 *              up_state_add_proc, up_proc_alive, up_state_running
 *   spawn.c:   up_find_program, up_free_port, up_spawn, up_node_spawn, up_reap, up_log_tail,
 *              up_now_ms
 *   cluster.c: up_cluster_write, up_cluster_check_extra
 *   boot.c:    up_boot
 *   status.c:  up_svc_get, up_print_status
 *   down.c:    up_teardown, up_rmtree
 *   tour.c:    up_mount_data, up_root_save, up_tour
 *   netns.c:   up_net_create, up_net_kill, up_net_destroy
 *   power.c:   up_power_start, up_power_serve, up_power_retry_ms
 *   keys.c:    up_keys, up_keys_etcd, up_keys_tls, up_keys_env
 *
 * The state directory holds everything `up` made: `state` (what runs, below), `lock`,
 * `cluster.ini`, `etcd/` (etcd's data), `logs/` (every process's log, services included),
 * `keys/` (the trust root of `up --secure`) and the data disk image `data.img`, which `down`
 * keeps so /data survives.
 */
#ifndef PLEXUS_UP_H
#define PLEXUS_UP_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <plexus/etcd.h>

#define UP_MAX_PROCS        32
#define UP_MAX_MOUNTS       16
#define UP_NAME_MAX         64
#define UP_ETCD_MEMBERS_MAX 5
#define UP_TLS_ARGS         7 /* etcd's TLS options: three for clients, four for peers */
/* The lease TTL (s) node kernels and RS get when etcd has several members, unless
 * $PLEXUS_LEASE_TTL says otherwise: it outlasts an election (docs/registry.md, "Members"). */
#define UP_MEMBERS_LEASE_TTL "4"

/* A process `up` started: name ("etcd", "node.local", "rs"), pid, and its start time in clock
 * ticks since boot (/proc/PID/stat field 22) so that a reused pid is never taken for it. */
typedef struct up_proc {
	char name[UP_NAME_MAX];
	pid_t pid;
	unsigned long long start;
} up_proc;

/* The state file, one "key value..." line each:
 *   etcd URL | cluster NAME | started UNIX_MS | proc NAME PID START | mount DIR | netns NAME |
 *   bridge NAME | addr IP (the host's address on the bridge; clients bind there) */
typedef struct up_state {
	char dir[PATH_MAX];
	char etcd[512]; /* every member's client URL, comma-separated */
	char cluster[UP_NAME_MAX];
	int64_t started_ms;
	up_proc procs[UP_MAX_PROCS];
	int nprocs;
	char mounts[UP_MAX_MOUNTS][PATH_MAX];
	int nmounts;
	char netns[UP_MAX_PROCS][UP_NAME_MAX];
	int nnetns;
	char bridge[UP_NAME_MAX];
	char addr[40];
} up_state;

/* Options of `plexus up`. */
typedef struct up_opts {
	char state_dir[PATH_MAX];
	char cluster_file[PATH_MAX]; /* "" : the default description (cluster.c) */
	char cluster[UP_NAME_MAX];   /* registry prefix, default "default" */
	char image[PATH_MAX];        /* the data disk image, default STATE/data.img */
	int port; /* etcd's client port; 0: 2379 if free, else any free one; -1: any free one */
	int timeout_ms;   /* per step (default 60 s) */
	int tour;         /* -1: when stdin is not a terminal; 0 no; 1 yes */
	int nodes;        /* 0: one node on this host; N: N nodes in network namespaces */
	int etcd_members; /* etcd's members on this host: 1, 3 or 5 (--etcd-members) */
	bool rs_standby;  /* --rs-standby: a second RS waits for the leader's lease */
	bool quiet;
	char service_extra[1024]; /* --service-option lines ("[label:]key = value\n") */
	bool secure;              /* --secure: links secured with a trust root in STATE/keys */
} up_opts;

/* Secured (the default): makes STATE/keys (a new trust root) and exports PLEXUS_KEYS for everything
 * up starts; otherwise removes a trust root an earlier secured up left there. Returns 0 or
 * EX_CANTCREAT with the reason printed. */
int up_keys(const up_opts *o);
/* --secure: turns etcd's authentication on (user root, a new random password written to
 * STATE/keys/etcd.password, 0600). Returns 0 or a negative errno with err set. */
int up_keys_etcd(const up_opts *o, plx_etcd *etcd, char *err, size_t size);
/* Secured: makes etcd's authority and key pairs in STATE/keys (plexus/etcd_tls.h), its
 * server certificate naming addr ("" or NULL: loopback only) too; fills tls with etcd's
 * --trusted-ca-file, --cert-file and --key-file options, then the --peer-* ones that make
 * members accept only each other (the server's pair, CN "etcd"). Returns 0 or a negative
 * errno with err set. */
int up_keys_tls(const up_opts *o, const char *addr, char tls[UP_TLS_ARGS][PATH_MAX + 32], char *err,
                size_t size);
/* Exports PLEXUS_KEYS=dir/keys when that state directory holds a trust root and the
 * environment names none (for the commands that talk to a running up). */
void up_keys_env(const char *dir);

/* Writes the default state directory into buf: $PLEXUS_STATE_DIR, else /run/plexus for root,
 * else $XDG_RUNTIME_DIR/plexus, else /tmp/plexus-UID. */
void up_state_dir_default(char *buf, size_t size);
/* Creates dir (mode 0700) if need be and takes its lock (flock on dir/lock, waiting). Returns
 * the lock's descriptor (close it to release) or -errno. */
int up_state_lock(const char *dir);
/* Reads dir/state into *st (dir set in any case). Returns 0, -ENOENT (no state file) or
 * -EBADMSG (a line that does not parse; *st holds what came before it). */
int up_state_load(const char *dir, up_state *st);
/* Writes *st to st->dir/state atomically (temporary file renamed). Returns 0 or -errno. */
int up_state_save(const up_state *st);
/* Adds a started process. Returns 0 or -ENOSPC. */
int up_state_add_proc(up_state *st, const char *name, pid_t pid);
/* True when the process still runs and is the one recorded (same start time). */
bool up_proc_alive(const up_proc *p);
/* True when some recorded process still runs. */
bool up_state_running(const up_state *st);

/* Finds plexus-NAME's binary: beside this program, in ../sbin, in the build tree this program
 * belongs to, else in PATH. Writes its path into buf; returns 0 or -ENOENT. */
int up_find_program(const char *name, char *buf, size_t size);
/* Returns a TCP port on 127.0.0.1 that was free a moment ago (want when it is free and not 0),
 * or -errno. */
int up_free_port(int want);
/* Starts argv[0] (a path) as a daemon: its own session, stdin /dev/null, stdout and stderr
 * appended to log, every other descriptor closed. Sets *pid. Returns 0 or -errno. */
int up_spawn(const char *log, char *const argv[], pid_t *pid);
/* Reaps pid if it ended. Returns 1 with *status set when it did, 0 when it still runs. */
int up_reap(pid_t pid, int *status);
/* Starts plexus-node for node at addr, in network namespace netns (NULL: on this host), on
 * st's etcd and cluster, its log STATE/logs/node.NODE.log. Returns 0 (*pid) or -errno
 * (-ENOENT: plexus-node or ip is not to be found). */
int up_node_spawn(const up_state *st, const char *node, const char *addr, const char *netns,
                  pid_t *pid);
/* Prints the last n lines of the file at path to out, each indented. */
void up_log_tail(FILE *out, const char *path, int n);
/* Milliseconds since the Unix epoch (now) and on the monotonic clock (mono). */
int64_t up_now_ms(void);
int64_t up_mono_ms(void);

/* What the default cluster description is written from. */
typedef struct up_cluster_desc {
	const char *cluster, *etcd;
	const char *image;      /* the data disk image (vdisk) */
	const char *root_image; /* what the root RAM disk starts with (memory), or NULL */
	const char *subnet;     /* NULL: one node "local" on 127.0.0.1 */
	int nodes;
	const char *power_dir; /* with subnet: the nodes' power = netns requests (power.c) */
	bool first;            /* the first of the two descriptions: no file system services */
	const char *extra;     /* --service-option lines, "[label:]key = value\n", or NULL */
} up_cluster_desc;

/* Writes the default cluster description for this machine to path: etcd at d->etcd; with
 * no subnet one node "local" on 127.0.0.1, else nodes n0..n<nodes-1> at subnet.(10 + i)
 * with the services spread over them; the services whose programs exist: memory (the root
 * RAM disk, loaded from root_image when it starts anew), log, tty, vdisk over image, pfs;
 * unless first, also mfs-root, mfs-data and vfs. Returns 0 or -errno; err says what failed. */
int up_cluster_write(const char *path, const up_cluster_desc *d, char *err, size_t size);

/* Whether every --service-option line of extra ("[label:]key = value\n" lines, or NULL)
 * names a service of the default description (or none). Returns 0, or -EINVAL with err
 * naming the first that does not ("--service-option L:K = V: no service of that label"). */
int up_cluster_check_extra(const char *extra, char *err, size_t size);

/* A service as RS's svc/<label> record describes it. */
typedef struct up_svc {
	char label[UP_NAME_MAX];
	char node[UP_NAME_MAX];
	uint64_t generation;
	char state[32];
	char last_exit[256];
	int64_t pid;
	int64_t since_ms;
	uint32_t restarts;
} up_svc;

struct plx_etcd;
/* Reads svc/<label> of cluster. Returns 0, -ENOENT, -EBADMSG or an etcd error. */
int up_svc_get(struct plx_etcd *etcd, const char *cluster, const char *label, up_svc *svc);
/* Prints the nodes and services of the running Plexus in *st to out. Returns 0 or an etcd
 * error. */
int up_print_status(const up_state *st, FILE *out);

/* Boots: etcd, plexus-node, plexus-rs and the cluster's services, printing progress, then
 * the status. Records what it started in *st as it goes (saved after each step). Returns a
 * sysexits.h code; on failure the message names the step, the node and the log's last lines. */
int up_boot(const up_opts *opts, up_state *st);
/* Stops everything in *st (mounts, RS, node kernels and their services, etcd, namespaces),
 * waits for each to go, removes the state file and etcd's data. Returns 0, or -EBUSY when a
 * process or mount would not go (out says which). */
int up_teardown(up_state *st, FILE *out);
/* Makes /data and mounts the data disk there (vdisk:0, served by mfs-data) through
 * libplexus. Returns a sysexits.h code. */
int up_mount_data(const up_state *st);
/* Removes the file or directory tree at path (what can be removed). */
void up_rmtree(const char *path);
/* Saves the root RAM disk (/dev/ram0 through VFS, after a sync) as path, the image
 * plexus-memory loads when it starts anew; zero blocks stay holes. Returns 0 or -errno. */
int up_root_save(const up_state *st, const char *path);
/* The tour: a file under /data, the disk driver killed in the middle of a write, RS's
 * restart, the file checked. Returns a sysexits.h code. */
int up_tour(const up_opts *opts, const up_state *st);

/* Makes the bridge (address st->addr) and one namespace per node, wired to it, noting each
 * in *st (saved as it goes). Output of ip goes to log. Returns 0 or -errno; err says which
 * command failed. Needs root. */
int up_net_create(up_state *st, int nodes, const char *log, char *err, size_t size);
/* Kills what runs in the namespaces of *st, deletes them and the bridge. */
void up_net_destroy(up_state *st, const char *log);
/* SIGKILL to every process in node i's network namespace (a power cut). */
void up_net_kill(const up_state *st, int i);

/* --nodes: starts the power controller (`plexus up --serve-power`, state entry "power") that
 * acts on RS's power cycles of the nodes (STATE/power). Returns 0 or -errno. */
int up_power_start(up_state *st);
/* The power controller's loop over the up in state_dir; returns only when it cannot start
 * (an exit code, printed why). */
int up_power_serve(const char *state_dir);
/* How long the power controller waits before it starts a node kernel again after its
 * attempt-th early exit since the node last settled (attempt 1 is the first; less counts as
 * 1): 2 s, doubled for each further attempt, at most 30 s. */
int64_t up_power_retry_ms(int attempt);

#endif
