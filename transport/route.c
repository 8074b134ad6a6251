/*
 * route.c — the local route table (label -> generation, address), dead endpoints, and the
 * waiters woken when an endpoint dies.
 *
 * Entry points: plx_route_set, plx_route_set_certified, plx_route_remove, plx_route_lookup,
 * plx_mark_dead, plx_is_dead, plx_is_gone, plx_is_known_gone, plx_ctx_set_route_miss; internal
 * plx__resolve, plx__waiter_add, plx__waiter_remove, plx__routes_secure, plx__routes_free.
 *
 * The registry keeps this table current from its watch, so resolving a label costs a hash
 * lookup under a read lock and never a round trip once the label is known; a thread that
 * sends to the same destination again skips even that: it keeps its last resolve, valid while
 * the table's version (bumped by every change, a death included) stays the same, so a change
 * is still seen by the next message; the first lookup of
 * a label without a route asks the route-miss function (the registry's cache, which then
 * fetches and follows that label). A route from the registry keeps the
 * certificate that came with it: on a secured context (plx_ctx_trust, before or after the
 * route came) a keyed address stands only while its certificate proves that key.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uthash.h>

#include "internal.h"

struct plx_route {
	char label[PLX_LABEL_MAX];
	uint64_t generation;
	char address[PLX_ADDRESS_MAX];
	char *cert; /* from the registry: the certificate that came with it; NULL: the caller's */
	bool from_registry;
	struct plx_route *dropped; /* plx__routes_secure's list of what it took out */
	UT_hash_handle hh;
};

/* Ends a change of the table: later resolves see it (the threads' last resolves are void). */
static void s_changed_unlock(plx_ctx *ctx)
{
	atomic_fetch_add_explicit(&ctx->routes_version, 1, memory_order_release);
	pthread_rwlock_unlock(&ctx->routes_lock);
}

/* The highest generation of a label known to be dead; every lower one is dead too. */
struct plx_dead {
	char label[PLX_LABEL_MAX];
	uint64_t generation;
	UT_hash_handle hh;
};

static bool s_fits(const char *text, size_t size)
{
	return text && *text && strlen(text) < size;
}

static uint64_t s_dead_below(plx_ctx *ctx, const char *label)
{
	plx_dead *dead;
	HASH_FIND_STR(ctx->dead, label, dead);
	return dead ? dead->generation : 0;
}

/* s_dead_below for a label of len bytes whose uthash hash value is hash. */
static uint64_t s_dead_below_hashed(plx_ctx *ctx, const char *label, size_t len, unsigned hash)
{
	plx_dead *dead;
	HASH_FIND_BYHASHVALUE(hh, ctx->dead, label, len, hash, dead);
	return dead ? dead->generation : 0;
}

/* Wakes every sendrec waiting on label at a generation up to generation. */
static void s_wake_waiters(plx_ctx *ctx, const char *label, uint64_t generation)
{
	uint64_t one = 1;
	pthread_mutex_lock(&ctx->waiters_lock);
	for (plx_waiter *w = ctx->waiters; w; w = w->next)
		if (w->dst->generation <= generation && strcmp(w->dst->label, label) == 0)
			if (write(w->wake_fd, &one, sizeof one) < 0) {
				/* the counter is far from overflow; nothing to do */
			}
	pthread_mutex_unlock(&ctx->waiters_lock);
}

/* Records the dead mark; the caller holds routes_lock for writing. */
static void s_record_dead(plx_ctx *ctx, const char *label, uint64_t generation)
{
	plx_dead *dead;
	HASH_FIND_STR(ctx->dead, label, dead);
	if (!dead) {
		dead = calloc(1, sizeof *dead);
		if (!dead)
			return;
		snprintf(dead->label, sizeof dead->label, "%s", label);
		HASH_ADD_STR(ctx->dead, label, dead);
	}
	if (generation > dead->generation)
		dead->generation = generation;
}

void plx_mark_dead(plx_ctx *self, const char *label, uint64_t generation)
{
	if (!s_fits(label, PLX_LABEL_MAX))
		return;
	pthread_rwlock_wrlock(&self->routes_lock);
	s_record_dead(self, label, generation);
	s_changed_unlock(self);
	s_wake_waiters(self, label, generation);
}

bool plx_is_dead(plx_ctx *self, const char *label, uint64_t generation)
{
	pthread_rwlock_rdlock(&self->routes_lock);
	bool dead = generation <= s_dead_below(self, label);
	pthread_rwlock_unlock(&self->routes_lock);
	return dead;
}

static void s_route_free(plx_route *route)
{
	free(route->cert);
	free(route);
}

/* Sets label's route; the caller holds routes_lock for writing. cert: from the registry (""
 * none), NULL: the caller vouches for the address. Returns 0 or -ENOMEM; *replaced the
 * generation it marked dead (0 none). */
static int s_set(plx_ctx *self, const char *label, uint64_t generation, const char *address,
                 const char *cert, uint64_t *replaced)
{
	char *copy = cert ? strdup(cert) : NULL;
	plx_route *route;
	HASH_FIND_STR(self->routes, label, route);
	*replaced = 0;
	if (cert && !copy)
		return -ENOMEM;
	if (!route) {
		if (!(route = calloc(1, sizeof *route))) {
			free(copy);
			return -ENOMEM;
		}
		snprintf(route->label, sizeof route->label, "%s", label);
		HASH_ADD_STR(self->routes, label, route);
	} else if (route->generation != generation) {
		*replaced = route->generation;
		s_record_dead(self, label, *replaced);
	}
	route->generation = generation;
	snprintf(route->address, sizeof route->address, "%s", address);
	free(route->cert);
	route->cert = copy;
	route->from_registry = cert != NULL;
	return 0;
}

static int s_route_set(plx_ctx *self, const char *label, uint64_t generation, const char *address,
                       const char *cert)
{
	if (!s_fits(label, PLX_LABEL_MAX) || !s_fits(address, PLX_ADDRESS_MAX) ||
	    !plx__address_ok(address) || generation == 0)
		return -EINVAL;
	uint64_t replaced = 0;
	pthread_rwlock_wrlock(&self->routes_lock);
	int rc = cert ? plx__cert_names(self, cert, label, generation, address) : 0;
	if (rc == 0)
		rc = s_set(self, label, generation, address, cert, &replaced);
	s_changed_unlock(self);
	if (replaced)
		s_wake_waiters(self, label, replaced);
	return rc;
}

int plx_route_set(plx_ctx *self, const char *label, uint64_t generation, const char *address)
{
	return s_route_set(self, label, generation, address, NULL);
}

int plx_route_set_certified(plx_ctx *self, const char *label, uint64_t generation,
                            const char *address, const char *cert)
{
	return s_route_set(self, label, generation, address, cert ? cert : "");
}

void plx__routes_secure(plx_ctx *ctx)
{
	plx_route *route, *tmp, *gone = NULL;
	pthread_rwlock_wrlock(&ctx->routes_lock);
	ctx->secure = true;
	HASH_ITER(hh, ctx->routes, route, tmp)
	{
		if (!route->from_registry ||
		    plx__cert_names(ctx, route->cert, route->label, route->generation,
		                    route->address) == 0)
			continue;
		HASH_DEL(ctx->routes, route);
		s_record_dead(ctx, route->label, route->generation);
		route->dropped = gone; /* their waiters are woken once the lock is free */
		gone = route;
	}
	s_changed_unlock(ctx);
	while (gone) {
		route = gone;
		gone = route->dropped;
		plx_log(PLX_LOG_WARN,
		        "%s/%" PRIu64 ": route from the registry dropped: no certificate of "
		        "the cluster's root for its key (a forged record?)",
		        route->label, route->generation);
		s_wake_waiters(ctx, route->label, route->generation);
		s_route_free(route);
	}
}

int plx_route_remove(plx_ctx *self, const char *label)
{
	if (!s_fits(label, PLX_LABEL_MAX))
		return -ENOENT;
	pthread_rwlock_wrlock(&self->routes_lock);
	plx_route *route;
	HASH_FIND_STR(self->routes, label, route);
	if (!route) {
		pthread_rwlock_unlock(&self->routes_lock);
		return -ENOENT;
	}
	uint64_t generation = route->generation;
	HASH_DEL(self->routes, route);
	s_route_free(route);
	s_record_dead(self, label, generation);
	s_changed_unlock(self);
	s_wake_waiters(self, label, generation);
	return 0;
}

void plx_ctx_set_route_miss(plx_ctx *self, plx_route_miss_fn *fn, void *arg)
{
	pthread_rwlock_wrlock(&self->miss_lock);
	self->miss_fn = fn;
	self->miss_arg = arg;
	pthread_rwlock_unlock(&self->miss_lock);
}

/* True when label has a route. */
static bool s_has_route(plx_ctx *ctx, const char *label)
{
	plx_route *route;
	pthread_rwlock_rdlock(&ctx->routes_lock);
	HASH_FIND_STR(ctx->routes, label, route);
	pthread_rwlock_unlock(&ctx->routes_lock);
	return route != NULL;
}

/* Asks the route-miss function about label when it has no route. */
static void s_miss(plx_ctx *ctx, const char *label)
{
	if (s_has_route(ctx, label))
		return;
	pthread_rwlock_rdlock(&ctx->miss_lock);
	if (ctx->miss_fn)
		ctx->miss_fn(ctx->miss_arg, label);
	pthread_rwlock_unlock(&ctx->miss_lock);
}

bool plx_is_gone(plx_ctx *self, const char *label, uint64_t generation)
{
	if (!s_fits(label, PLX_LABEL_MAX))
		return false;
	if (!plx_is_dead(self, label, generation))
		s_miss(self, label);
	return plx_is_known_gone(self, label, generation);
}

bool plx_is_known_gone(plx_ctx *self, const char *label, uint64_t generation)
{
	if (!s_fits(label, PLX_LABEL_MAX))
		return false;
	pthread_rwlock_rdlock(&self->routes_lock);
	plx_route *route;
	HASH_FIND_STR(self->routes, label, route);
	bool gone =
	    generation <= s_dead_below(self, label) || (route && route->generation > generation);
	pthread_rwlock_unlock(&self->routes_lock);
	return gone;
}

int plx_route_lookup(plx_ctx *self, const char *label, uint64_t *generation, char *address,
                     size_t size)
{
	if (!s_fits(label, PLX_LABEL_MAX))
		return -ENOENT;
	s_miss(self, label);
	int rc = 0;
	pthread_rwlock_rdlock(&self->routes_lock);
	plx_route *route;
	HASH_FIND_STR(self->routes, label, route);
	if (!route)
		rc = -ENOENT;
	else if (address && strlen(route->address) >= size)
		rc = -ENAMETOOLONG;
	else {
		if (address)
			memcpy(address, route->address, strlen(route->address) + 1);
		if (generation)
			*generation = route->generation;
	}
	pthread_rwlock_unlock(&self->routes_lock);
	return rc;
}

/* plx__resolve's lookup: -ENOENT when there is no route for dst's label. */
static int s_resolve(plx_ctx *ctx, const plx_name *dst, plx_name *resolved, char *address)
{
	int rc = 0;
	size_t len = strlen(dst->label);
	unsigned hash;
	HASH_VALUE(dst->label, len, hash); /* both tables are keyed by label: hashed once */
	pthread_rwlock_rdlock(&ctx->routes_lock);
	plx_route *route;
	HASH_FIND_BYHASHVALUE(hh, ctx->routes, dst->label, len, hash, route);
	if (!route) {
		rc = -ENOENT;
	} else {
		uint64_t generation = dst->generation ? dst->generation : route->generation;
		if (generation <= s_dead_below_hashed(ctx, dst->label, len, hash)) {
			rc = -PLX_EDEADSRCDST;
		} else {
			memcpy(resolved->label, dst->label, len + 1);
			resolved->generation = generation;
			memcpy(address, route->address, strlen(route->address) + 1);
		}
	}
	pthread_rwlock_unlock(&ctx->routes_lock);
	return rc;
}

/* A thread's last resolve, valid while its context's table is at version. */
typedef struct s_last {
	uint64_t ctx_id; /* 0: none */
	uint64_t version;
	plx_name dst;
	plx_name resolved;
	size_t address_size; /* with the NUL */
	char address[PLX_ADDRESS_MAX];
} s_last;

static _Thread_local s_last s_last_resolve;

static bool s_last_fits(const s_last *last, const plx_ctx *ctx, uint64_t version,
                        const plx_name *dst)
{
	return last->ctx_id == ctx->id && last->version == version &&
	       last->dst.generation == dst->generation && strcmp(last->dst.label, dst->label) == 0;
}

/*
 * Turns dst into the concrete instance to send to and its address (PLX_ADDRESS_MAX bytes).
 * Generation 0 takes the route's generation; an explicit generation is sent as asked and the
 * receiver judges it. A label without a route is first asked of the route-miss function.
 * Returns 0, or -PLX_EDEADSRCDST when there is no route or the instance is marked dead, or
 * -EINVAL for a bad label.
 */
int plx__resolve(plx_ctx *ctx, const plx_name *dst, plx_name *resolved, char *address)
{
	if (!s_fits(dst->label, PLX_LABEL_MAX))
		return -EINVAL;
	s_last *last = &s_last_resolve;
	uint64_t version = atomic_load_explicit(&ctx->routes_version, memory_order_acquire);
	if (s_last_fits(last, ctx, version, dst)) {
		*resolved = last->resolved;
		memcpy(address, last->address, last->address_size);
		return 0;
	}
	int rc = s_resolve(ctx, dst, resolved, address);
	if (rc == -ENOENT) {
		s_miss(ctx, dst->label);
		version = atomic_load_explicit(&ctx->routes_version, memory_order_acquire);
		rc = s_resolve(ctx, dst, resolved, address);
	}
	if (rc == 0) { /* the version read before the lookup: a change since voids it */
		*last = (s_last){.ctx_id = ctx->id, .version = version, .resolved = *resolved};
		memcpy(&last->dst, dst, sizeof *dst);
		last->address_size = strlen(address) + 1;
		memcpy(last->address, address, last->address_size);
	}
	return rc == -ENOENT ? -PLX_EDEADSRCDST : rc;
}

void plx__waiter_add(plx_ctx *ctx, plx_waiter *waiter)
{
	pthread_mutex_lock(&ctx->waiters_lock);
	waiter->next = ctx->waiters;
	ctx->waiters = waiter;
	pthread_mutex_unlock(&ctx->waiters_lock);
}

void plx__waiter_remove(plx_ctx *ctx, plx_waiter *waiter)
{
	pthread_mutex_lock(&ctx->waiters_lock);
	for (plx_waiter **p = &ctx->waiters; *p; p = &(*p)->next)
		if (*p == waiter) {
			*p = waiter->next;
			break;
		}
	pthread_mutex_unlock(&ctx->waiters_lock);
}

void plx__routes_free(plx_ctx *ctx)
{
	plx_route *route, *rtmp;
	HASH_ITER(hh, ctx->routes, route, rtmp)
	{
		HASH_DEL(ctx->routes, route);
		s_route_free(route);
	}
	plx_dead *dead, *dtmp;
	HASH_ITER(hh, ctx->dead, dead, dtmp)
	{
		HASH_DEL(ctx->dead, dead);
		free(dead);
	}
}
