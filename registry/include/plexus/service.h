/*
 * plexus/service.h — what every Plexus service does to start, be found, keep state across a
 * restart and stop: MINIX's SEF (system event framework) for a cluster.
 *
 * Entry points:
 *   plx_service_cfg_init, plx_service_cfg_env, plx_service_cfg_set, plx_service_args,
 *   plx_service_usage
 *   plx_service_new, plx_service_destroy, plx_service_publish, plx_service_on_activate,
 *   plx_service_run
 *   plx_service_ctx, plx_service_ep, plx_service_etcd, plx_service_ds, plx_service_config,
 *   plx_service_restarted, plx_service_state_save, plx_service_state_restore,
 *   plx_service_state_drop, plx_service_fd_store, plx_service_fd_restore
 *   plx_service_main, plx_service_main_task, plx_service_serve (a service's whole main, and a
 *   server's whole life)
 *
 * A service started by plexus-node learns who it is from its environment (docs/node-kernel.md):
 * PLEXUS_LABEL, PLEXUS_GENERATION, PLEXUS_NODE, PLEXUS_ETCD, PLEXUS_CLUSTER, PLEXUS_ADDR, and
 * PLEXUS_INIT ("fresh" or "restart", set by RS; fresh when absent). The same settings can be
 * given as options when a service is run by hand (plx_service_cfg_set), options winning.
 *
 * plx_service_new makes the context, the endpoint (label + generation, bound to
 * tcp://ADDR:* unless another bind address is set), an etcd client, a lease of the service's
 * own (TTL PLEXUS_LEASE_TTL or 2 s, renewed in the background), the endpoint cache that keeps
 * the route table current, and a DS handle owned by the label. Nothing is published yet:
 * plx_service_publish writes the endpoint record (ep/<label>, on the lease) once the service is
 * ready to answer, so nobody sends to a half-initialized service. A dead service's record
 * vanishes with its lease; a clean stop withdraws it at once.
 *
 * Saved state (plx_service_state_*) lives in DS under the label as owner, key
 * "state.<label>.<key>", private to the label (no other owner may read or overwrite it), and
 * NOT on the lease: it survives the service's death and is there for the next generation.
 *
 * Signals: plx_service_new blocks SIGTERM and SIGINT in the calling thread, so every thread
 * made afterwards has them blocked too; plx_service_run turns them into plx_server_stop.
 *
 * Logging: plx_service_new gives the log helper (plexus/log.h) the label and generation, so
 * every later line reads "PROGRAM LABEL/GENERATION: ..."; --log-level (PLEXUS_LOG_LEVEL) sets
 * its threshold. The runtime itself logs nothing but debug lines; plx_service_main and
 * plx_service_serve, which stand for a program's main, log what a main logs (failures, "serving
 * at", "stopped").
 *
 * Errors: negative errno values; the char *err buffers get one line naming what failed.
 */
#ifndef PLEXUS_SERVICE_H
#define PLEXUS_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <plexus/ds.h>
#include <plexus/endpoint.h>
#include <plexus/etcd.h>
#include <plexus/family.h>
#include <plexus/log.h>
#include <plexus/server.h>
#include <plexus/transport.h>

#define PLX_SERVICE_ETCD_MAX    1024
#define PLX_SERVICE_CLUSTER_MAX 64
#define PLX_SERVICE_ADDR_MAX    64
#define PLX_SERVICE_LEASE_TTL   2 /* seconds */

typedef enum plx_init_type {
	PLX_INIT_FRESH = 0, /* first start: no state to take over */
	PLX_INIT_RESTART,   /* RS restarted it after a crash, a hang or a node failure */
} plx_init_type;

#define PLX_SERVICE_CALLERS_MAX 1024 /* the callers list, comma-separated patterns */

typedef struct plx_service_cfg {
	char label[PLX_LABEL_MAX];
	uint64_t generation; /* 0: take the next one from the registry */
	char node[PLX_NODE_MAX];
	char etcd[PLX_SERVICE_ETCD_MAX];
	char cluster[PLX_SERVICE_CLUSTER_MAX];
	char addr[PLX_SERVICE_ADDR_MAX]; /* IPv4 address peers reach the service at */
	char bind[PLX_ADDRESS_MAX];      /* "": tcp://ADDR:* */
	int lease_ttl;                   /* seconds */
	plx_init_type init;
	char callers[PLX_SERVICE_CALLERS_MAX]; /* "": anyone (plx_server_set_callers) */
	bool spare; /* a warm spare (PLEXUS_SPARE=1, set by RS): plx_service_publish waits */
	/* Its endpoint cache follows every record of ep/ from the start instead of the labels it
	 * uses: for a hub that must learn at once when any of its callers dies (VFS, for its
	 * clients' pending device requests), as RS does for every service. */
	bool follow_all;
} plx_service_cfg;

typedef struct plx_service plx_service;

/* Sets the defaults: no label, generation 0, node "local", etcd PLX_ETCD_DEFAULT_URL, cluster
 * "default", addr 127.0.0.1, lease TTL PLX_SERVICE_LEASE_TTL, init fresh. */
void plx_service_cfg_init(plx_service_cfg *cfg);
/* Reads the PLEXUS_* variables that are set. Returns 0, or -EINVAL with err naming the variable
 * and the value expected (cfg may be partly updated). */
int plx_service_cfg_env(plx_service_cfg *cfg, char *err, size_t size);
/* Sets one setting by its option name: "label", "generation", "node", "etcd", "cluster",
 * "addr", "bind", "lease-ttl", "init" (fresh|restart), "service-label" (the label, when the
 * node kernel knows the process by another name, its slot <label>.spare;
 * PLEXUS_SERVICE_LABEL), "spare" (0|1: a warm spare; PLEXUS_SPARE), "log-level" (the log
 * threshold, set at once: plexus/log.h), "callers" (label patterns that may call it, enforced
 * by plx_service_run; PLEXUS_CALLERS, from the cluster file's callers key). Returns 0, -ENOENT
 * for a name that is not a service setting (the caller's own option), -EINVAL with err for a
 * bad value. */
int plx_service_cfg_set(plx_service_cfg *cfg, const char *name, const char *value, char *err,
                        size_t size);
/* A service's own option: returns 0, -ENOENT (no such option) or -EINVAL with err set. */
typedef int plx_service_opt_fn(void *arg, const char *name, const char *value, char *err,
                               size_t size);
/* Reads a service's command line into cfg (after plx_service_cfg_init and plx_service_cfg_env,
 * so options win over the environment): "--name value" or "--name=value", service settings
 * (plx_service_cfg_set) first, then own(arg, name, value) for the service's own options. Flags
 * without a value are listed in flags (NULL-terminated names, may be NULL) and passed to own
 * with value "". Returns 0, 1 for --help / -h, or -EINVAL with err naming the bad or unknown
 * option (the caller prints usage and exits EX_USAGE). */
int plx_service_args(plx_service_cfg *cfg, int argc, char **argv, const char *const *flags,
                     plx_service_opt_fn *own, void *arg, char *err, size_t size);
/* Prints the service options, one per line, for a --help text. */
void plx_service_usage(FILE *out);

/* Starts the service as described above. Returns NULL with errno and err on failure
 * (EINVAL no label, ECONNREFUSED/ETIMEDOUT etcd, EADDRINUSE, ...). */
plx_service *plx_service_new(const plx_service_cfg *cfg, char *err, size_t size);
/* Withdraws the endpoint record (if published), revokes the lease, closes everything and sets
 * *self_p to NULL. Accepts NULL. The server made on its endpoint must be destroyed first. */
void plx_service_destroy(plx_service **self_p);

/* Writes ep/<label> with state (e.g. "up") on the service's lease. Returns 0, -ESTALE (a newer
 * generation exists: this instance has been replaced and should exit) or an etcd error.
 * A warm spare (cfg.spare) writes the record it would publish to spare/<label> on its lease
 * instead, and blocks until RS activates it (writes ep/<label> with this generation, on this
 * lease): 0 then, -ECANCELED when SIGTERM or SIGINT came first (docs/reincarnation.md). */
int plx_service_publish(plx_service *self, const char *state);
/* For a warm spare (cfg.spare): fn(arg, self) runs once RS has activated it, before
 * plx_service_publish returns — for what an instance does with the registry's state at start
 * (a saved-state restore) that may have changed since the spare started. No effect on others. */
void plx_service_on_activate(plx_service *self, void (*fn)(void *arg, plx_service *svc), void *arg);
/* Runs srv's loop until plx_server_stop, IPC_SHUTDOWN, SIGTERM or SIGINT, in the thread that
 * called plx_service_new (the endpoint's owner), after giving srv the configured callers
 * (plx_server_set_callers). Returns what plx_server_run returns, or -EINVAL for callers it
 * cannot take. */
int plx_service_run(plx_service *self, plx_server *srv);

plx_ctx *plx_service_ctx(plx_service *self);
plx_ep *plx_service_ep(plx_service *self);
plx_etcd *plx_service_etcd(plx_service *self);
plx_ds *plx_service_ds(plx_service *self);
const plx_service_cfg *plx_service_config(const plx_service *self);
/* True when RS said this start is a restart (PLEXUS_INIT=restart). */
bool plx_service_restarted(const plx_service *self);

/* Saves size bytes under key (the whole DS key, "state.<label>.<key>", fits PLX_DS_KEY_MAX).
 * Returns 0, -EINVAL (empty or too long key) or a DS error. */
int plx_service_state_save(plx_service *self, const char *key, const void *data, size_t size);
/* Reads the value saved under key into buf of *size bytes and sets *size to its length.
 * Returns 0, -ENOENT (nothing saved), -ENOSPC (buf too small; *size says what is needed). */
int plx_service_state_restore(plx_service *self, const char *key, void *buf, size_t *size);
/* Deletes the value saved under key. Returns 0 or -ENOENT. */
int plx_service_state_drop(plx_service *self, const char *key);

#define PLX_SERVICE_FD_NAME 64 /* bytes of a kept descriptor's name, its end included */

/* Hands a copy of fd to the node kernel, kept under name (no '=' or ',') for the next
 * instance of this service that RS starts as a restart; the last one stored under a name
 * wins, and a fresh start drops them all (docs/node-kernel.md "The descriptor store"). The
 * caller keeps fd. Returns 0, -EINVAL, -ENOTSUP (not started by a node kernel) or the
 * socket's error. */
int plx_service_fd_store(const char *name, int fd);
/* The descriptor a previous instance kept under name (the caller owns it; close-on-exec),
 * or -ENOENT. */
int plx_service_fd_restore(const char *name);

/* ---- a service's main (MINIX: sef_startup and the task loop) ---- */

/* What plx_service_main needs to know of a service. Callbacks get the arg given to it. */
typedef struct plx_service_desc {
	const char *program; /* "plexus-mfs": the log lines' PROGRAM */
	const char *label;   /* the default label, or NULL: --label / PLEXUS_LABEL required */
	/* --help's text before the service options: the usage line, what the service is, its own
	 * options (ending in a blank line); NULL: "usage: PROGRAM [options]". */
	const char *usage;
	void (*usage_fn)(FILE *out); /* instead of usage: prints a text that has values in it */
	const char *const *flags;    /* own options without a value, or NULL */
	plx_service_opt_fn *option;  /* own options, or NULL: none */
	const ProtobufCEnumDescriptor *const *types; /* families named in traces, NULL-ended */
	/* The families with a .def the service serves or calls (plexus/family.h), NULL-ended:
	 * registered (their names, and their tables that plx_server_new checks the service's
	 * table against) before the service starts. Or NULL. */
	const plx_family *const *families;
	/* After the options, before the service starts (allocate, open files, check options):
	 * returns 0 or a sysexits code with err set (EX_USAGE also prints the usage). Or NULL. */
	int (*prepare)(void *arg, char *err, size_t size);
	/* The service's life once started: returns 0, or a negative errno with err set. */
	int (*run)(void *arg, plx_service *svc, char *err, size_t size);
	/* After the service is destroyed, whenever prepare (if any) returned 0. Or NULL. */
	void (*cleanup)(void *arg);
	bool follow_all; /* plx_service_cfg.follow_all */
} plx_service_desc;

/* A service's whole main: the settings from the environment (EX_CONFIG when bad), the command
 * line (--help: the usage on standard output, EX_OK; a bad option: the error and the usage on
 * standard error, EX_USAGE), desc->prepare, the families (for traces, and for plx_server_new's
 * check), plx_service_new (EX_USAGE with no label, EX_UNAVAILABLE when the registry cannot be
 * reached), desc->run (EX_SOFTWARE when it fails), plx_service_destroy, desc->cleanup. Failures are
 * logged at error, and a clean end "stopped" at info. Returns the exit code for main to return. */
int plx_service_main(const plx_service_desc *desc, void *arg, int argc, char **argv);

/* A library's part of a service's life (plx_chardriver_task, ...): returns 0 or -errno with
 * err set. */
typedef int plx_service_task_fn(void *task_arg, plx_service *svc, char *err, size_t size);
/* plx_service_main for a library that runs the service: desc->run (if any) once the service
 * has started, then task(task_arg, ...) unless run failed. The driver libraries' mains
 * (plx_chardriver_main, plx_blockdriver_main) are this. */
int plx_service_main_task(const plx_service_desc *desc, void *arg, plx_service_task_fn *task,
                          void *task_arg, int argc, char **argv);

/* What plx_service_serve calls around the loop; every member may be NULL. */
typedef struct plx_serve_hooks {
	/* After the server is made, before the endpoint is published: returns 0 or a negative
	 * errno with err set (the service then stops without publishing). */
	int (*setup)(void *arg, plx_service *svc, plx_server *srv, char *err, size_t size);
	/* After the loop (or a failed setup: it must undo a partial one), before the server is
	 * destroyed. */
	void (*teardown)(void *arg, plx_server *srv);
	const char *detail; /* appended to the "serving at" line's parenthesis, or NULL */
} plx_serve_hooks;

/* A server's whole life on svc's endpoint: makes the server from table (n handlers, arg its
 * argument), hooks->setup, publishes "up", logs "serving at ADDRESS (fresh|restart start)",
 * runs plx_service_run, hooks->teardown, destroys the server. Returns 0 or a negative errno
 * with err naming the step that failed. */
int plx_service_serve(plx_service *svc, const plx_handler *table, size_t n, void *arg,
                      const plx_serve_hooks *hooks, char *err, size_t size);

#endif
