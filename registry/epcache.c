/*
 * epcache.c — the endpoint cache: ep/ in etcd mirrored into the transport's route table, for
 * the labels this process uses.
 *
 * Entry points: plx_epcache_new, plx_epcache_new_all, plx_epcache_follow, plx_epcache_revision,
 * plx_epcache_destroy.
 *
 * The cache follows labels on demand: it is the context's route-miss function, so the first
 * lookup of (or send to) a label without a route reads ep/<label> and then watches that key
 * from the revision after the read; later lookups answer from memory. A process that has
 * followed S_FOLLOW_MAX labels switches to one watch over all of ep/ (read once, watched from
 * the revision after that read). Either way a put sets the route (a new generation marks the
 * old one dead in the transport); a delete, or a record that does not parse, removes it. On a
 * secured context a record whose key its certificate does not vouch for removes it too
 * (plx_route_set_certified): whoever may write ep/ still cannot make clients talk to a key of
 * their own. When etcd compacted the history a watch needed, the cache reads what it follows
 * again and removes the labels that disappeared meanwhile. Following only what is used keeps a
 * publication from reaching every process of the cluster (docs/performance.md, bench scale).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <plexus/endpoint.h>
#include <plexus/log.h>

#define S_FOLLOW_MAX 32   /* labels followed one by one before following all of ep/ */
#define S_RETRY_MS   1000 /* after a failed follow, misses answer "no route" this long */

/* One label followed on its own. */
typedef struct s_follow {
	plx_epcache *cache;
	char label[PLX_LABEL_MAX];
	plx_watch *watch;
} s_follow;

struct plx_epcache {
	plx_etcd *etcd;
	plx_ctx *ctx;
	char *prefix;                /* /plexus/<cluster>/ep/ */
	pthread_mutex_t follow_lock; /* guards follows, nfollows, watch; held while following */
	s_follow *follows[S_FOLLOW_MAX];
	size_t nfollows;
	plx_watch *watch; /* all of ep/, once S_FOLLOW_MAX labels were followed */
	atomic_int_least64_t revision;
	atomic_int_least64_t refused_revision; /* the last record refused, logged once */
	pthread_mutex_t lock;                  /* guards labels */
	char **labels;                         /* labels with a route set by this cache */
	size_t nlabels;
	int64_t retry_ms; /* under follow_lock: no new follow before (monotonic ms) */
};

/* Raises the applied revision to at least revision. */
static void s_advance(plx_epcache *self, int64_t revision)
{
	int64_t now = atomic_load(&self->revision);
	while (now < revision && !atomic_compare_exchange_weak(&self->revision, &now, revision))
		;
}

static ssize_t s_find(const plx_epcache *self, const char *label)
{
	for (size_t i = 0; i < self->nlabels; i++)
		if (strcmp(self->labels[i], label) == 0)
			return (ssize_t)i;
	return -1;
}

static void s_remember(plx_epcache *self, const char *label, bool known)
{
	pthread_mutex_lock(&self->lock);
	ssize_t at = s_find(self, label);
	if (known && at < 0) {
		char **grown = realloc(self->labels, (self->nlabels + 1) * sizeof *grown);
		char *copy = strdup(label);
		if (grown && copy) {
			self->labels = grown;
			self->labels[self->nlabels++] = copy;
		} else {
			free(copy);
			if (grown)
				self->labels = grown;
		}
	} else if (!known && at >= 0) {
		free(self->labels[at]);
		self->labels[at] = self->labels[--self->nlabels];
	}
	pthread_mutex_unlock(&self->lock);
}

/* Sets the route of a record; says so once per record when its key is not certified. */
static int s_route(plx_epcache *self, const plx_endpoint_rec *rec, int64_t revision)
{
	int rc = plx_route_set_certified(self->ctx, rec->label, rec->generation, rec->address,
	                                 rec->cert);
	if (rc == -EACCES && atomic_exchange(&self->refused_revision, revision) != revision)
		plx_log(PLX_LOG_WARN,
		        "ep/%s generation %" PRIu64 ": not used: %s (a forged record?)", rec->label,
		        rec->generation,
		        rec->cert[0] ? "its certificate is not the cluster root's for this label, "
		                       "generation and key"
		                     : "a secured address without a certificate");
	return rc;
}

/* Applies one record (kv) or its deletion (kv NULL) for the label at path. */
static void s_apply(plx_epcache *self, const char *path, const plx_kv *kv)
{
	const char *label = path + strlen(self->prefix);
	plx_endpoint_rec rec;
	if (!*label || strchr(label, '/'))
		return;
	if (kv && plx_endpoint_parse((char *)kv->value, kv->value_size, label, &rec) == 0 &&
	    s_route(self, &rec, kv->mod_revision) == 0) {
		s_remember(self, label, true);
		return;
	}
	plx_route_remove(self->ctx, label); /* deleted, or unusable: nobody to send to */
	s_remember(self, label, false);
}

/* Reads ep/ and makes the route table match it. Returns 0 or an etcd error. */
static int s_load(plx_epcache *self)
{
	plx_kvs *kvs = NULL;
	int rc = plx_etcd_range(self->etcd, self->prefix, &kvs);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < kvs->count; i++)
		s_apply(self, kvs->kvs[i].key, &kvs->kvs[i]);
	/* Labels we routed that are gone now. */
	pthread_mutex_lock(&self->lock);
	for (size_t i = 0; i < self->nlabels;) {
		bool present = false;
		for (size_t j = 0; j < kvs->count && !present; j++)
			present =
			    strcmp(kvs->kvs[j].key + strlen(self->prefix), self->labels[i]) == 0;
		if (present) {
			i++;
			continue;
		}
		plx_route_remove(self->ctx, self->labels[i]);
		free(self->labels[i]);
		self->labels[i] = self->labels[--self->nlabels];
	}
	pthread_mutex_unlock(&self->lock);
	s_advance(self, kvs->revision);
	plx_kvs_free(&kvs);
	return 0;
}

static void s_on_event(const plx_watch_event *event, void *arg)
{
	plx_epcache *self = arg;
	switch (event->kind) {
	case PLX_WATCH_PUT:
		s_apply(self, event->kv->key, event->kv);
		s_advance(self, event->revision);
		break;
	case PLX_WATCH_DELETE:
		s_apply(self, event->kv->key, NULL);
		s_advance(self, event->revision);
		break;
	case PLX_WATCH_COMPACTED:
		s_load(self);
		break;
	default:
		break;
	}
}

/* label has no record: every generation before the last it was given (gen/<label>, which
 * outlives them) is dead, replaced by a later one, so that such a caller is known dead
 * (plx_is_gone) though this process never followed its label. The last one is not marked: it
 * may be an instance that has not published yet (it takes its generation first). A label never
 * published has no gen/<label> and nothing is marked. */
static void s_mark_retired(plx_epcache *self, const char *label)
{
	size_t n = strlen(self->prefix);
	char key[512];
	snprintf(key, sizeof key, "%.*sgen/%s", (int)(n - strlen("ep/")), self->prefix, label);
	plx_kv *kv = NULL;
	if (plx_etcd_get(self->etcd, key, &kv) < 0)
		return;
	char text[24];
	size_t len = kv->value_size < sizeof text - 1 ? kv->value_size : sizeof text - 1;
	memcpy(text, kv->value, len);
	text[len] = '\0';
	char *end;
	unsigned long long gen = strtoull(text, &end, 10);
	if (end != text && *end == '\0' && gen > 1)
		plx_mark_dead(self->ctx, label, (uint64_t)gen - 1);
	plx_kv_free(&kv);
}

/* Reads ep/<label> and makes its route match; *revision: the read's. Returns 0 or an etcd
 * error. */
static int s_load_label(plx_epcache *self, const char *label, int64_t *revision)
{
	char key[512];
	snprintf(key, sizeof key, "%s%s", self->prefix, label);
	plx_kvs *kvs = NULL;
	int rc = plx_etcd_range(self->etcd, key, &kvs); /* a prefix: ep/<label>... */
	if (rc < 0)
		return rc;
	const plx_kv *kv = NULL;
	for (size_t i = 0; i < kvs->count && !kv; i++)
		if (strcmp(kvs->kvs[i].key, key) == 0)
			kv = &kvs->kvs[i];
	s_apply(self, key, kv);
	if (!kv)
		s_mark_retired(self, label);
	*revision = kvs->revision;
	s_advance(self, kvs->revision);
	plx_kvs_free(&kvs);
	return 0;
}

static void s_on_label_event(const plx_watch_event *event, void *arg)
{
	s_follow *f = arg;
	plx_epcache *self = f->cache;
	int64_t revision;
	if (event->kind == PLX_WATCH_COMPACTED) {
		s_load_label(self, f->label, &revision);
		return;
	}
	if (event->kind != PLX_WATCH_PUT && event->kind != PLX_WATCH_DELETE)
		return;
	const char *label = event->kv->key + strlen(self->prefix);
	if (strcmp(label, f->label) != 0) /* the watch is a prefix: ep/<label>2 shows too */
		return;
	s_apply(self, event->kv->key, event->kind == PLX_WATCH_PUT ? event->kv : NULL);
	s_advance(self, event->revision);
}

/* Follows label on its own: reads its record, then watches it. Under follow_lock. */
static int s_follow_label(plx_epcache *self, const char *label)
{
	s_follow *f = calloc(1, sizeof *f);
	if (!f)
		return -ENOMEM;
	f->cache = self;
	snprintf(f->label, sizeof f->label, "%s", label);
	char key[512];
	snprintf(key, sizeof key, "%s%s", self->prefix, label);
	int64_t revision = 0;
	int rc = s_load_label(self, label, &revision);
	if (rc == 0 &&
	    !(f->watch = plx_watch_new(self->etcd, key, revision + 1, s_on_label_event, f)))
		rc = -errno;
	if (rc < 0) {
		free(f);
		return rc;
	}
	self->follows[self->nfollows++] = f;
	return 0;
}

/* Follows all of ep/ instead of label by label. Under follow_lock. The label watches stop
 * first, so that no older event of theirs lands after the full read; when the read or the
 * watch fails, the routes they kept are dropped rather than left unfollowed. */
static int s_follow_all(plx_epcache *self)
{
	for (size_t i = 0; i < self->nfollows; i++) {
		plx_watch_destroy(&self->follows[i]->watch);
		free(self->follows[i]);
	}
	self->nfollows = 0;
	int rc = s_load(self);
	if (rc == 0 &&
	    !(self->watch = plx_watch_new(self->etcd, self->prefix,
	                                  atomic_load(&self->revision) + 1, s_on_event, self)))
		rc = -errno;
	if (rc < 0) { /* nothing follows the routes set so far: drop them, a miss re-reads them */
		pthread_mutex_lock(&self->lock);
		for (size_t i = 0; i < self->nlabels; i++) {
			plx_route_remove(self->ctx, self->labels[i]);
			free(self->labels[i]);
		}
		self->nlabels = 0;
		pthread_mutex_unlock(&self->lock);
	}
	return rc;
}

int plx_epcache_follow(plx_epcache *self, const char *label)
{
	if (!*label || strchr(label, '/') || strlen(label) >= PLX_LABEL_MAX)
		return -EINVAL;
	pthread_mutex_lock(&self->follow_lock);
	bool known = self->watch != NULL;
	for (size_t i = 0; i < self->nfollows && !known; i++)
		known = strcmp(self->follows[i]->label, label) == 0;
	int rc = known                           ? 0
	         : self->nfollows < S_FOLLOW_MAX ? s_follow_label(self, label)
	                                         : s_follow_all(self);
	pthread_mutex_unlock(&self->follow_lock);
	return rc;
}

/* The route-miss function: follows label unless it is followed already. */
static void s_on_miss(void *arg, const char *label)
{
	plx_epcache *self = arg;
	if (!*label || strchr(label, '/') || strlen(label) >= PLX_LABEL_MAX)
		return;
	pthread_mutex_lock(&self->follow_lock);
	bool known = self->watch != NULL;
	for (size_t i = 0; i < self->nfollows && !known; i++)
		known = strcmp(self->follows[i]->label, label) == 0;
	if (!known) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		/* etcd just failed: answer "no route" at once rather than wait on it per send */
		if (now >= self->retry_ms) {
			int rc = self->nfollows < S_FOLLOW_MAX ? s_follow_label(self, label)
			                                       : s_follow_all(self);
			self->retry_ms = rc < 0 ? now + S_RETRY_MS : 0;
		}
	}
	pthread_mutex_unlock(&self->follow_lock);
}

plx_epcache *plx_epcache_new(plx_etcd *etcd, const char *cluster, plx_ctx *ctx)
{
	if (!etcd || !ctx || !cluster || !*cluster || strchr(cluster, '/')) {
		errno = EINVAL;
		return NULL;
	}
	plx_epcache *self = calloc(1, sizeof *self);
	if (!self || asprintf(&self->prefix, "/plexus/%s/ep/", cluster) < 0) {
		free(self);
		errno = ENOMEM;
		return NULL;
	}
	self->etcd = etcd;
	self->ctx = ctx;
	pthread_mutex_init(&self->lock, NULL);
	pthread_mutex_init(&self->follow_lock, NULL);
	/* etcd must answer now, as when the cache read all of ep/ at its start */
	plx_kv *kv = NULL;
	int rc = plx_etcd_get(etcd, self->prefix, &kv);
	plx_kv_free(&kv);
	if (rc < 0 && rc != -ENOENT) {
		plx_epcache_destroy(&self);
		errno = -rc;
		return NULL;
	}
	plx_ctx_set_route_miss(ctx, s_on_miss, self);
	return self;
}

plx_epcache *plx_epcache_new_all(plx_etcd *etcd, const char *cluster, plx_ctx *ctx)
{
	plx_epcache *self = plx_epcache_new(etcd, cluster, ctx);
	if (!self)
		return NULL;
	pthread_mutex_lock(&self->follow_lock);
	int rc = s_follow_all(self);
	pthread_mutex_unlock(&self->follow_lock);
	if (rc < 0) {
		plx_epcache_destroy(&self);
		errno = -rc;
		return NULL;
	}
	return self;
}

int64_t plx_epcache_revision(plx_epcache *self)
{
	int64_t best = atomic_load(&self->revision);
	pthread_mutex_lock(&self->follow_lock);
	if (self->watch && plx_watch_revision(self->watch) > best)
		best = plx_watch_revision(self->watch);
	for (size_t i = 0; i < self->nfollows; i++)
		if (plx_watch_revision(self->follows[i]->watch) > best)
			best = plx_watch_revision(self->follows[i]->watch);
	pthread_mutex_unlock(&self->follow_lock);
	return best;
}

void plx_epcache_destroy(plx_epcache **self_p)
{
	if (!self_p || !*self_p)
		return;
	plx_epcache *self = *self_p;
	plx_ctx_set_route_miss(self->ctx, NULL, NULL); /* waits for a running miss */
	plx_watch_destroy(&self->watch);
	for (size_t i = 0; i < self->nfollows; i++) {
		plx_watch_destroy(&self->follows[i]->watch);
		free(self->follows[i]);
	}
	for (size_t i = 0; i < self->nlabels; i++)
		free(self->labels[i]);
	free(self->labels);
	free(self->prefix);
	pthread_mutex_destroy(&self->lock);
	pthread_mutex_destroy(&self->follow_lock);
	free(self);
	*self_p = NULL;
}
