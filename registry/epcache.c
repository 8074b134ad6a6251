/*
 * epcache.c — the endpoint cache: ep/ in etcd mirrored into the transport's route table.
 *
 * Entry points: plx_epcache_new, plx_epcache_revision, plx_epcache_destroy.
 *
 * The cache reads ep/ once, sets a route per record, then watches ep/ from the revision after
 * that read. A put sets the route (a new generation marks the old one dead in the transport);
 * a delete, or a record that does not parse, removes it. On a secured context a record whose
 * key its certificate does not vouch for removes it too (plx_route_set_certified): whoever may
 * write ep/ still cannot make clients talk to a key of their own. When etcd compacted the history
 * the watch needed, the cache reads ep/ again and removes the labels that disappeared meanwhile.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <plexus/endpoint.h>
#include <plexus/log.h>

struct plx_epcache {
	plx_etcd *etcd;
	plx_ctx *ctx;
	char *prefix; /* /plexus/<cluster>/ep/ */
	plx_watch *watch;
	atomic_int_least64_t revision;
	atomic_int_least64_t refused_revision; /* the last record refused, logged once */
	pthread_mutex_t lock;                  /* guards labels */
	char **labels;                         /* labels with a route set by this cache */
	size_t nlabels;
};

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
	atomic_store(&self->revision, kvs->revision);
	plx_kvs_free(&kvs);
	return 0;
}

static void s_on_event(const plx_watch_event *event, void *arg)
{
	plx_epcache *self = arg;
	switch (event->kind) {
	case PLX_WATCH_PUT:
		s_apply(self, event->kv->key, event->kv);
		atomic_store(&self->revision, event->revision);
		break;
	case PLX_WATCH_DELETE:
		s_apply(self, event->kv->key, NULL);
		atomic_store(&self->revision, event->revision);
		break;
	case PLX_WATCH_COMPACTED:
		s_load(self);
		break;
	default:
		break;
	}
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
	int rc = s_load(self);
	if (rc == 0) {
		self->watch = plx_watch_new(etcd, self->prefix, atomic_load(&self->revision) + 1,
		                            s_on_event, self);
		rc = self->watch ? 0 : -errno;
	}
	if (rc < 0) {
		plx_epcache_destroy(&self);
		errno = -rc;
		return NULL;
	}
	return self;
}

int64_t plx_epcache_revision(plx_epcache *self)
{
	int64_t applied = atomic_load(&self->revision);
	int64_t seen = self->watch ? plx_watch_revision(self->watch) : 0;
	return seen > applied ? seen : applied;
}

void plx_epcache_destroy(plx_epcache **self_p)
{
	if (!self_p || !*self_p)
		return;
	plx_epcache *self = *self_p;
	plx_watch_destroy(&self->watch);
	for (size_t i = 0; i < self->nlabels; i++)
		free(self->labels[i]);
	free(self->labels);
	free(self->prefix);
	pthread_mutex_destroy(&self->lock);
	free(self);
	*self_p = NULL;
}
