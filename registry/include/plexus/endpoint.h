/*
 * plexus/endpoint.h — endpoint records in the registry, and the local cache the transport
 * resolves labels from.
 *
 * Entry points:
 *   plx_generation_next, plx_generation_next_many, plx_endpoint_publish,
 *   plx_endpoint_withdraw, plx_endpoint_lookup, plx_endpoint_list, plx_endpoint_parse,
 *   plx_endpoint_format, plx_endpoint_public_address, plx_endpoint_rec_address,
 *   plx_epcache_new, plx_epcache_new_all, plx_epcache_follow, plx_epcache_destroy,
 *   plx_epcache_revision
 *
 * Keys (docs/registry.md):
 *   /plexus/<cluster>/gen/<label>  the label's last generation, decimal; advanced only by
 *                                  compare-and-swap, never attached to a lease, so two instances
 *                                  never hold the same generation, even across restarts;
 *   /plexus/<cluster>/ep/<label>   the current instance, JSON {"label", "generation", "node",
 *                                  "address", "pid", "state", "start_time"} and, for a secured
 *                                  endpoint, "cert" (its certificate), attached to its
 *                                  publisher's lease so that it vanishes when that dies.
 * A record is only written while the counter still holds its generation: a slow old instance
 * cannot overwrite the record of its successor (-ESTALE).
 *
 * The cache (plx_epcache) follows the labels its process uses: the first lookup of (or send
 * to) a label without a route reads ep/<label> and watches it from then on (after 32 labels,
 * one watch over all of ep/ instead); it calls the transport's plx_route_set_certified /
 * plx_route_remove, so plx_route_lookup answers from memory after that first look and requests
 * pending on an instance fail as soon as it is removed or replaced. A
 * secured context takes a keyed address only with its certificate: the registry is not
 * trusted to say who holds a key. While etcd is
 * unreachable the cache keeps the last known routes; the watch resumes without losing events.
 *
 * Errors: as plexus/etcd.h, plus -EBADMSG for a record that does not parse, -ESTALE (above).
 */
#ifndef PLEXUS_ENDPOINT_H
#define PLEXUS_ENDPOINT_H

#include <stddef.h>
#include <stdint.h>

#include <plexus/etcd.h>
#include <plexus/link_security.h>
#include <plexus/transport.h>

#define PLX_NODE_MAX  64
#define PLX_STATE_MAX 16

typedef struct plx_endpoint_rec {
	char label[PLX_LABEL_MAX];
	uint64_t generation;
	char node[PLX_NODE_MAX];
	char address[PLX_ADDRESS_MAX];
	int64_t pid;
	char state[PLX_STATE_MAX]; /* "starting", "up", "stopping", ... */
	int64_t start_time;        /* Unix time, milliseconds */
	char cert[PLX_CERT_MAX];   /* a secured endpoint's certificate for its key, else "" */
	int64_t lease;             /* read only: the lease the record hangs on */
	int64_t revision;          /* read only: etcd mod revision */
} plx_endpoint_rec;

typedef struct plx_epcache plx_epcache;

/* Advances label's generation counter by compare-and-swap and sets *generation to the new
 * value (1 for a new label). Safe against any number of concurrent callers. Returns 0 or an
 * etcd error (-EAGAIN after 1000 lost races in a row). */
int plx_generation_next(plx_etcd *etcd, const char *cluster, const char *label,
                        uint64_t *generation);
/* Labels plx_generation_next_many advances in one pair of etcd requests (etcd refuses a
 * transaction of more than 128 operations by default). */
#define PLX_GENERATION_BATCH 64
/* Advances the counters of labels[0..n) as plx_generation_next does each, in two etcd requests
 * per PLX_GENERATION_BATCH labels instead of two per label: one transaction reads them, one
 * writes them all provided none moved meanwhile (when one did, each label of that batch is
 * advanced on its own). Sets generations[i] and rcs[i] (0 or an etcd error, the same for every
 * label of a batch whose request failed; -EINVAL for a bad label). Returns the number of labels
 * that failed, or -EINVAL. */
int plx_generation_next_many(plx_etcd *etcd, const char *cluster, const char *const *labels,
                             size_t n, uint64_t *generations, int *rcs);
/* Writes rec at ep/<rec->label>, attached to lease (0: none), provided the generation counter
 * still holds rec->generation. Returns 0, -ESTALE (a newer generation exists), -EINVAL. */
int plx_endpoint_publish(plx_etcd *etcd, const char *cluster, const plx_endpoint_rec *rec,
                         int64_t lease);
/* Deletes ep/<label> if it still holds generation. Returns 0, -ESTALE (another generation
 * holds it) or -ENOENT. */
int plx_endpoint_withdraw(plx_etcd *etcd, const char *cluster, const char *label,
                          uint64_t generation);
/* Reads ep/<label> into *rec. Returns 0, -ENOENT or -EBADMSG (rec untouched). */
int plx_endpoint_lookup(plx_etcd *etcd, const char *cluster, const char *label,
                        plx_endpoint_rec *rec);
/* Reads every endpoint record in label order into *recs (caller frees with free()). Records
 * that do not parse are left out and counted in *malformed (may be NULL). Returns the count. */
int plx_endpoint_list(plx_etcd *etcd, const char *cluster, plx_endpoint_rec **recs,
                      size_t *malformed);
/* Parses a record's JSON (size bytes). key_label, when not NULL, must equal its label.
 * Returns 0 or -EBADMSG (rec untouched). */
int plx_endpoint_parse(const char *json, size_t size, const char *key_label, plx_endpoint_rec *rec);
/* Returns the record's JSON text (caller frees), or NULL on ENOMEM / EINVAL. */
char *plx_endpoint_format(const plx_endpoint_rec *rec);
/* Sets rec's address to ep's bound address as others reach it (a wildcard host replaced by
 * addr, plx_endpoint_public_address; addr NULL: as bound) and its cert to ep's certificate. */
void plx_endpoint_rec_address(plx_endpoint_rec *rec, const plx_ep *ep, const char *addr);

/* Starts a cache of cluster's endpoints feeding ctx's route table: it becomes ctx's route-miss
 * function (plx_ctx_set_route_miss; one cache per context), so a label's record is read and
 * watched from its first lookup or send on. Returns once etcd answered, or NULL with errno set
 * (etcd unreachable). etcd and ctx must outlive it. */
plx_epcache *plx_epcache_new(plx_etcd *etcd, const char *cluster, plx_ctx *ctx);
/* The same cache following all of ep/ from the start, as it does after 32 labels: for a
 * process that talks to most of the cluster and must never wait on etcd for a first route
 * (RS: a route miss reads etcd on the asking thread, which stalls a single-threaded server
 * while etcd is unreachable). Returns once every record is in the table and the watch runs,
 * or NULL with errno set. */
plx_epcache *plx_epcache_new_all(plx_etcd *etcd, const char *cluster, plx_ctx *ctx);
/* Follows label now (its record read, then watched), so that no later lookup of it waits on
 * etcd: for a label a thread that must never block (a node kernel's loop, whose fence is
 * timed) will send to. Returns 0 (also when followed already) or etcd's error. */
int plx_epcache_follow(plx_epcache *self, const char *label);
/* Returns the etcd revision the cache has applied every change up to. */
int64_t plx_epcache_revision(plx_epcache *self);
/* Stops being ctx's route-miss function and the watches, frees the cache and sets *self_p to
 * NULL (routes stay). Accepts NULL. */
void plx_epcache_destroy(plx_epcache **self_p);

/* The address peers use for an endpoint bound at bound (plx_ep_address): a wildcard host
 * (tcp://0.0.0.0:PORT, or the star host) replaced by addr; a secured endpoint's key prefix
 * ("curve:KEY@") kept. Writes it into out (size bytes). */
void plx_endpoint_public_address(const char *bound, const char *addr, char *out, size_t size);

#endif
