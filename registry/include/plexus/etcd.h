/*
 * plexus/etcd.h — a small etcd v3 client over etcd's JSON gateway (libcurl + jansson).
 *
 * Entry points:
 *   plx_etcd_new, plx_etcd_destroy, plx_etcd_errmsg, plx_etcd_endpoint
 *   plx_etcd_get, plx_etcd_range, plx_etcd_put, plx_etcd_delete, plx_etcd_txn, plx_etcd_compact,
 *   plx_etcd_auth_enable, plx_etcd_auth_client, plx_etcd_auth_prefix_user
 *   plx_kv_free, plx_kvs_free
 *   plx_etcd_lease_grant, plx_etcd_lease_keepalive, plx_etcd_lease_revoke
 *   plx_etcd_leader, plx_etcd_members, plx_etcd_member_remove, plx_etcd_member_add, plx_etcd_join
 *   plx_cond_init_monotonic, plx_deadline_in, plx_lease_new, plx_lease_id, plx_lease_alive,
 *   plx_lease_safe_until, plx_lease_destroy, plx_watch_new, plx_watch_revision, plx_watch_destroy
 *
 * A client knows one or more etcd members ("http://127.0.0.1:2379,http://..."). A request goes
 * to the member that answered last; when a member cannot be reached the request moves on to the
 * next one, and fails only after every member failed. Every request has a time limit, so a
 * dead etcd gives an error, never a hang. After a failure, plx_etcd_errmsg() describes it (which
 * URL, what failed) for the calling thread.
 *
 * Errors: -ECONNREFUSED / -EHOSTUNREACH no member reachable; -ETIMEDOUT no answer in time;
 * -EACCES authentication failed; -EBADMSG a malformed answer or value; -ENOENT no such key;
 * -ECANCELED a watch revision was compacted; -EPROTO etcd rejected the request; -EINVAL bad
 * arguments; -ENOMEM.
 *
 * Threads: a client may be used from any number of threads at once. Leases and watches run
 * their own background thread; their callbacks run on that thread.
 */
#ifndef PLEXUS_ETCD_H
#define PLEXUS_ETCD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct plx_etcd plx_etcd;
typedef struct plx_lease plx_lease;
typedef struct plx_watch plx_watch;

#define PLX_ETCD_DEFAULT_URL        "http://127.0.0.1:2379"
#define PLX_ETCD_DEFAULT_TIMEOUT_MS 2000
#define PLX_ETCD_MAX_VALUE          (16u * 1024 * 1024)

/* Options for plx_etcd_new. Unset (NULL / 0) fields take the defaults. Strings are copied. */
typedef struct plx_etcd_opts {
	const char *endpoints; /* comma-separated URLs; default PLX_ETCD_DEFAULT_URL */
	const char *user;      /* with password: authenticate through /v3/auth/authenticate */
	const char *password;
	const char *ca_file;    /* TLS: CA bundle to verify members with */
	const char *cert_file;  /* TLS: client certificate */
	const char *key_file;   /* TLS: client key */
	int timeout_ms;         /* per request, default PLX_ETCD_DEFAULT_TIMEOUT_MS */
	int connect_timeout_ms; /* per connection attempt, default timeout_ms / 2 */
	/* Without a user: not the one handed over with this process's keys (a service's, from
	 * RS; a netbooted node kernel's) but the environment's. libplexus: a client's records
	 * are not the service's. */
	bool not_handed_user;
} plx_etcd_opts;

/* One key and its value. value is NUL-terminated beyond value_size for convenience. */
typedef struct plx_kv {
	char *key;
	uint8_t *value;
	size_t value_size;
	int64_t create_revision;
	int64_t mod_revision;
	int64_t version;
	int64_t lease;
} plx_kv;

/* The answer to a range: count keys in key order, read at revision. */
typedef struct plx_kvs {
	plx_kv *kvs;
	size_t count;
	int64_t revision;
} plx_kvs;

/* ---- client ---- */

/* Returns a new client, or NULL with errno EINVAL (no usable endpoint), ENOMEM or EACCES (a
 * password file it cannot read). No I/O happens here: an unreachable etcd shows on the first
 * request. Without opts->user the credentials come from the environment: PLEXUS_ETCD_USER
 * with PLEXUS_ETCD_PASSWORD or PLEXUS_ETCD_PASSWORD_FILE, else user root with
 * $PLEXUS_KEYS/etcd.password when that file exists (`plexus up --secure`). TLS files, with or
 * without opts->user, from PLEXUS_ETCD_CACERT, PLEXUS_ETCD_CERT, PLEXUS_ETCD_KEY (else
 * $PLEXUS_KEYS/etcd-*) when opts has none. */
plx_etcd *plx_etcd_new(const plx_etcd_opts *opts);
/* Frees the client and sets *self_p to NULL. Accepts NULL. Leases and watches made from it
 * must be destroyed first. */
void plx_etcd_destroy(plx_etcd **self_p);
/* Returns a description of the calling thread's last failed etcd request ("" if none). The
 * string is thread-local and valid until the thread's next request. */
const char *plx_etcd_errmsg(void);
/* Returns the URL of the member that answered last. Owned by self. */
const char *plx_etcd_endpoint(plx_etcd *self);

/* ---- key-value ---- */

/* Reads key. On success sets *kv (caller frees with plx_kv_free) and returns 0; -ENOENT when
 * the key does not exist. */
int plx_etcd_get(plx_etcd *self, const char *key, plx_kv **kv);
/* Reads every key starting with prefix. Sets *kvs (caller frees with plx_kvs_free) and returns
 * the number of keys (0 included). */
int plx_etcd_range(plx_etcd *self, const char *prefix, plx_kvs **kvs);
/* Writes key = value (size bytes), attached to lease (0: none). Sets *revision when not NULL.
 * Returns 0. */
int plx_etcd_put(plx_etcd *self, const char *key, const void *value, size_t size, int64_t lease,
                 int64_t *revision);
/* Deletes key, or every key starting with it when prefix is true. Returns the number of keys
 * deleted. */
int plx_etcd_delete(plx_etcd *self, const char *key, bool prefix);
/* Compacts the history up to revision (used by tests). Returns 0. */
int plx_etcd_compact(plx_etcd *self, int64_t revision);
/* Turns etcd's authentication on: user root (role root) with root_password, then
 * /v3/auth/enable; from then on every client needs the credentials. Returns 0 or an error
 * (-EPROTO when etcd refuses, e.g. the user exists). */
int plx_etcd_auth_enable(plx_etcd *self, const char *root_password);

#define PLX_ETCD_CLIENT "plexus-client" /* the etcd user and role of libplexus clients */

/* Adds user and role PLX_ETCD_CLIENT (before plx_etcd_auth_enable): read everything under
 * /plexus/CLUSTER/ and write nothing — what a process of another user needs to look the
 * system up (`plexus ep ls`); its own records it writes as the user its node kernel makes for
 * it (plx_etcd_auth_prefix_user, docs/security.md). Returns 0 or an etcd error. */
int plx_etcd_auth_client(plx_etcd *self, const char *cluster, const char *password);

/* Adds (or replaces) user and role name with password: read everything under
 * /plexus/CLUSTER/, write only ep/PREFIX* and gen/PREFIX* — a node kernel makes one per local
 * user for that user's client records (prefix c-NODE-UID-), so that no user can rewrite,
 * delete or revoke the lease of another user's. Returns 0, -EINVAL or an etcd error. */
int plx_etcd_auth_prefix_user(plx_etcd *self, const char *cluster, const char *name,
                              const char *prefix, const char *password);
#define PLX_ETCD_SERVICE_USER "s-" /* + label: the etcd user RS makes for a service */

/* Makes user and role s-LABEL with password, or when the user exists gives it password
 * again: read everything under /plexus/CLUSTER/, write only the service's own records —
 * ep/LABEL, gen/LABEL and spare/LABEL (those keys alone: ep/mfs is not ep/mfs-data), its DS
 * records ds/LABEL/..., and the DS index entries of the names it publishes (state.LABEL.*,
 * drv.blk.LABEL, drv.chr.LABEL). RS hands it to each instance it starts (docs/security.md).
 * Returns 0, -EINVAL or an etcd error. */
int plx_etcd_auth_service_user(plx_etcd *self, const char *cluster, const char *label,
                               const char *password);
#define PLX_ETCD_NODE_USER "n-" /* + node name: the etcd user of a netbooted node kernel */

/* Makes user and role n-NODE with password, or when the user exists gives it password again:
 * read everything under /plexus/CLUSTER/, write only the node kernel's own records:
 * nodes/NODE, ep/node.NODE and gen/node.NODE (those keys alone). RS makes one for each node
 * of the cluster file; the PXE server hands a netbooted node its password (docs/security.md
 * "Keys on a rack"). Returns 0, -EINVAL or an etcd error. */
int plx_etcd_auth_node_user(plx_etcd *self, const char *cluster, const char *node,
                            const char *password);
/* Turns etcd's authentication on when it is off, for a client logged in as root (its
 * password becomes root's): user and role PLX_ETCD_CLIENT with client_password
 * (plx_etcd_auth_client), root, then /v3/auth/enable. Make every other user first: clients
 * without one are refused from then on. Returns 0 (also when it was on), -EPERM (this client
 * is not root), -EINVAL or an etcd error. */
int plx_etcd_auth_turn_on(plx_etcd *self, const char *cluster, const char *client_password);
/* Whether etcd's authentication is on, as this client finds when it logs in afresh: 1, 0, or
 * an error (-EACCES: on, and this client's user or password is refused). */
int plx_etcd_auth_on(plx_etcd *self);
/* The user this client logs in as, or NULL (etcd without authentication). */
const char *plx_etcd_user(const plx_etcd *self);
void plx_kv_free(plx_kv **kv_p);
void plx_kvs_free(plx_kvs **kvs_p);

/* ---- transactions ---- */

typedef enum plx_cmp_target {
	PLX_CMP_VERSION,
	PLX_CMP_CREATE,
	PLX_CMP_MOD,
	PLX_CMP_VALUE,
} plx_cmp_target;

typedef enum plx_cmp_result {
	PLX_CMP_EQUAL,
	PLX_CMP_NOT_EQUAL,
	PLX_CMP_GREATER,
	PLX_CMP_LESS,
} plx_cmp_result;

/* A condition on one key: its version, create or mod revision (number) or value. */
typedef struct plx_cmp {
	const char *key;
	plx_cmp_target target;
	plx_cmp_result result;
	int64_t number;
	const void *value;
	size_t value_size;
} plx_cmp;

typedef enum plx_op_type {
	PLX_OP_PUT,
	PLX_OP_DELETE,
	PLX_OP_GET,
} plx_op_type;

typedef struct plx_op {
	plx_op_type type;
	const char *key;
	const void *value; /* PUT */
	size_t value_size;
	int64_t lease; /* PUT */
} plx_op;

typedef struct plx_txn {
	const plx_cmp *cmp;
	size_t ncmp;
	const plx_op *success; /* run when every comparison holds */
	size_t nsuccess;
	const plx_op *failure; /* run otherwise */
	size_t nfailure;
} plx_txn;

/* Runs a transaction. Returns 1 when the comparisons held (success ops ran), 0 when they did not
 * (failure ops ran). When got is not NULL, *got receives the keys read by the GET ops of the
 * branch that ran (caller frees with plx_kvs_free; count may be 0). */
int plx_etcd_txn(plx_etcd *self, const plx_txn *txn, plx_kvs **got);

/* ---- leases ---- */

/* Grants a lease of ttl_s seconds; sets *id. Returns 0. */
int plx_etcd_lease_grant(plx_etcd *self, int64_t ttl_s, int64_t *id);
/* Renews lease id once. Returns the remaining TTL in seconds (> 0), or -ENOENT when the lease
 * expired or never existed. */
int plx_etcd_lease_keepalive(plx_etcd *self, int64_t id);
/* Revokes lease id: every key attached to it is deleted. Returns 0. */
int plx_etcd_lease_revoke(plx_etcd *self, int64_t id);
/* The TTL lease id was granted with, in seconds (> 0), or -ENOENT when it is gone. */
int plx_etcd_lease_granted_ttl(plx_etcd *self, int64_t id);
/* Initializes cond for deadlines on CLOCK_MONOTONIC, as every thread that renews a lease or a
 * record waits (a step of the wall clock must not stretch a renewal). Returns 0 or an error
 * number from pthread_cond_init. */
int plx_cond_init_monotonic(pthread_cond_t *cond);
/* The time ms milliseconds (>= 0) from now on clock, for pthread_cond_timedwait on a
 * condition variable of that clock (CLOCK_MONOTONIC for plx_cond_init_monotonic's). */
struct timespec plx_deadline_in(clockid_t clock, int64_t ms);

/* ---- members ---- */

/* Which member of the client's list leads the etcd cluster: its index (0-based), from each
 * member's own status. Returns the index, or -EAGAIN when no member that answered names
 * itself leader (an election under way), or the last member's error. */
int plx_etcd_leader(plx_etcd *self);

/* A member of the etcd cluster as the member list gives it: its ID (decimal text, 64 bits),
 * its name (empty while the member never started) and first peer URL. */
typedef struct plx_etcd_member {
	char id[24];
	char name[64];
	char peer_url[128];
} plx_etcd_member;

/* The cluster's members (at most max) into out, from the first member of the client's list
 * that answers. Returns how many, or a negative errno (-ECONNREFUSED, -ETIMEDOUT: no member
 * answered; -EBADMSG: an answer that is not a member list). */
int plx_etcd_members(plx_etcd *self, plx_etcd_member *out, size_t max);
/* Removes member id from the cluster. Returns 0 or a negative errno (etcd refuses while the
 * rest would lose their quorum). */
int plx_etcd_member_remove(plx_etcd *self, const char *id);
/* Adds a member that will speak raft at peer_url; the members after the change (the new one
 * without a name) into out. Returns how many, or a negative errno. */
int plx_etcd_member_add(plx_etcd *self, const char *peer_url, plx_etcd_member *out, size_t max);

/* How a member named name with peer URL peer_url starts on an empty data directory, asked of
 * the cluster in the client's list (docs/deploy.md "Several etcd members"):
 *   PLX_ETCD_JOIN_NEW       no member answered, or the cluster lists name's entry as never
 *                           started: start with --initial-cluster-state new (the first boot)
 *   PLX_ETCD_JOIN_EXISTING  name ran before (its data is gone): its old entry was removed and
 *                           a new one added; start with --initial-cluster-state existing and
 *                           --initial-cluster initial (NAME=URL,...)
 * Returns one of them, or a negative errno (the cluster answered but would not change). */
enum { PLX_ETCD_JOIN_NEW = 0, PLX_ETCD_JOIN_EXISTING = 1 };
int plx_etcd_join(plx_etcd *self, const char *name, const char *peer_url, char *initial,
                  size_t size);

/* Grants a lease of ttl_s seconds and keeps it alive from a background thread (a renewal every
 * ttl/3, retried across members). Returns the lease or NULL with errno set from the grant. */
plx_lease *plx_lease_new(plx_etcd *etcd, int64_t ttl_s);
int64_t plx_lease_id(const plx_lease *self);
/* Returns false once a renewal found the lease gone (it expired while etcd was unreachable);
 * the lease then stays dead and the owner must make a new one. */
bool plx_lease_alive(plx_lease *self);
/* Until when etcd cannot have expired the lease: the moment just before the last grant or
 * renewal that succeeded was sent, plus the TTL it was given, in milliseconds of
 * CLOCK_MONOTONIC. A holder that must stop acting before others may think it dead (a node
 * kernel fencing its services) acts on this, not on whether renewals fail. */
int64_t plx_lease_safe_until(const plx_lease *self);
/* Stops the renewals, revokes the lease when revoke is true (else it expires after its TTL),
 * frees it and sets *self_p to NULL. Accepts NULL. */
void plx_lease_destroy(plx_lease **self_p, bool revoke);

/* ---- watches ---- */

typedef enum plx_watch_kind {
	PLX_WATCH_PUT,
	PLX_WATCH_DELETE,
	/* The history the watch needed was compacted: events between the watch's position and
	 * revision are lost. The watch goes on from revision; the owner should re-read the range.
	 */
	PLX_WATCH_COMPACTED,
	/* The connection to etcd broke (error in event->error, detail in plx_etcd_errmsg on the
	 * watch thread); the watch reconnects by itself and resumes where it stopped. */
	PLX_WATCH_DISCONNECTED,
	/* The watch is connected again after a PLX_WATCH_DISCONNECTED. */
	PLX_WATCH_RECONNECTED,
} plx_watch_kind;

/* One watch event. kv.value is empty for deletes; prev is the key's previous value (for PUT
 * and DELETE) when etcd still had it, else NULL. revision is the event's mod revision (for
 * COMPACTED: the oldest revision still available). Valid only during the callback. */
typedef struct plx_watch_event {
	plx_watch_kind kind;
	const plx_kv *kv;
	const plx_kv *prev;
	int64_t revision;
	int error;
} plx_watch_event;

typedef void plx_watch_fn(const plx_watch_event *event, void *arg);

/* Watches every key starting with prefix, from start_revision (0: from now), calling fn on the
 * watch's own thread for each event, in revision order. Returns once etcd confirmed the watch,
 * so no change made after the return is missed; returns NULL with errno set when no member
 * could create it in time. A broken connection is retried with backoff (across members), resuming
 * at the revision after the last event seen: no event is lost. */
plx_watch *plx_watch_new(plx_etcd *etcd, const char *prefix, int64_t start_revision,
                         plx_watch_fn *fn, void *arg);
/* Returns the revision the watch has seen everything up to. */
int64_t plx_watch_revision(plx_watch *self);
/* Stops the watch (waiting for a running callback to return), frees it and sets *self_p to
 * NULL. Accepts NULL. Must not be called from the watch's own callback. */
void plx_watch_destroy(plx_watch **self_p);

#endif
