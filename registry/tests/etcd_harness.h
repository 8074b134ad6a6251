/*
 * etcd_harness.h — a private etcd (one member or a cluster) for tests and benchmarks.
 *
 * Entry points: plx_etcdh_start, plx_etcdh_stop, plx_etcdh_endpoints, plx_etcdh_url,
 * plx_etcdh_dir, plx_etcdh_members, plx_etcdh_pid, plx_etcdh_kill, plx_etcdh_restart,
 * plx_etcdh_error, plx_etcdh_start_opts, plx_etcdh_tls_file.
 *
 * Each harness runs /usr/bin/etcd (PLEXUS_ETCD_BIN overrides) on free loopback ports, picked by
 * binding port 0 and retried when etcd loses a race for one, with its data in a fresh mkdtemp
 * directory under $TMPDIR (default /tmp) named plexus-etcd-<pid>-XXXXXX. Every member runs in
 * its own process group and gets SIGKILL if the thread that started it dies (PR_SET_PDEATHSIG),
 * so call start and restart from a thread that outlives the harness (normally the main thread).
 * plx_etcdh_stop, an atexit handler and handlers for SIGINT, SIGTERM, SIGHUP, SIGQUIT and
 * SIGABRT kill every member's process group and remove the directory; directories left behind
 * by a process that died from SIGKILL are removed by the next start on the machine. Two runs at
 * once never share ports or directories. With plx_etcdh_opts.netns and .host the members run
 * inside another network namespace on another address (the multi-node harness puts etcd on its
 * hub this way); start, restart and the health checks enter that namespace on the calling
 * thread only, for their duration.
 *
 * Errors: NULL / negative errno; plx_etcdh_error() says what went wrong (with the etcd log's
 * path). The harness is for tests: one thread at a time per harness.
 */
#ifndef PLEXUS_ETCD_HARNESS_H
#define PLEXUS_ETCD_HARNESS_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct plx_etcdh plx_etcdh;

#define PLX_ETCDH_MAX_MEMBERS 5

/* Starts an etcd cluster of members members (1..PLX_ETCDH_MAX_MEMBERS) and waits until it
 * serves (up to 30 s). Returns the harness, or NULL with errno set. */
plx_etcdh *plx_etcdh_start(int members);
typedef struct plx_etcdh_opts {
	int members;
	/* Serve clients over https only, with a fresh authority and pairs for etcd and its clients
	 * made in the harness directory by plx_etcd_tls_make (plexus/etcd_tls.h); clients must
	 * present theirs (--client-cert-auth). */
	bool tls;
	/* The IPv4 address members listen on (clients and peers); NULL means 127.0.0.1. */
	const char *host;
	/* A network namespace file (/var/run/netns/NAME, /proc/PID/ns/net) the members run in,
	 * entered with setns; NULL means the caller's namespace. Needs CAP_SYS_ADMIN. */
	const char *netns;
} plx_etcdh_opts;

/* As plx_etcdh_start, with options (see plx_etcdh_opts; zeroed fields take the defaults). */
plx_etcdh *plx_etcdh_start_opts(const plx_etcdh_opts *opts);
/* With TLS: the path of "ca", "cert" or "key" (the client may use cert and key); else NULL.
 * The certificate names the members' host address. */
const char *plx_etcdh_tls_file(const plx_etcdh *self, const char *which);
/* Kills every member, removes the data directory, frees the harness, sets *self_p to NULL.
 * Accepts NULL. */
void plx_etcdh_stop(plx_etcdh **self_p);
/* Returns the client URLs of every member, comma-separated. Owned by self. */
const char *plx_etcdh_endpoints(const plx_etcdh *self);
/* Returns member i's client URL. Owned by self. */
const char *plx_etcdh_url(const plx_etcdh *self, int i);
/* Returns the harness's temporary directory. Owned by self. */
const char *plx_etcdh_dir(const plx_etcdh *self);
int plx_etcdh_members(const plx_etcdh *self);
/* Returns member i's process id (also its process group), or 0 when it is not running. */
pid_t plx_etcdh_pid(const plx_etcdh *self, int i);
/* Kills member i with SIGKILL and reaps it. Returns 0, -EINVAL or -ESRCH (not running). */
int plx_etcdh_kill(plx_etcdh *self, int i);
/* Starts member i again on the same ports and data; waits until the cluster serves through it
 * (up to 30 s). Returns 0 or a negative errno. */
int plx_etcdh_restart(plx_etcdh *self, int i);
/* Describes the last failure of a harness call. Static storage. */
const char *plx_etcdh_error(void);

#endif
