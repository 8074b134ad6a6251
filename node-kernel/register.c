/*
 * register.c — the node in the registry: its endpoint node.<name>, its record nodes/<name>,
 * the lease both hang on, and the endpoint cache that resolves every other label.
 *
 * Entry points: node_register_new, node_register_destroy, node_register_safe_until,
 * node_register_expired.
 *
 * The lease is renewed by the etcd client's own thread (every TTL/3). A thread of ours rewrites
 * the node record every TTL/2 (services count, load average) and notes when the lease was found
 * expired (etcd unreachable for longer than the TTL): the loop then fences and starts the node
 * kernel again (fence.c). No etcd request runs on the message loop's thread after start-up.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <plexus/link_keys.h>
#include <plexus/log.h>

#include "node.h"

struct node_register {
	const node_config *cfg;
	node *node;
	plx_etcd *etcd;
	plx_lease *lease;
	atomic_bool expired; /* the lease expired at etcd (a renewal found it gone) */
	plx_epcache *cache;
	plx_ep *ep;
	plx_endpoint_rec rec;
	char key[PATH_MAX];
	bool failing; /* the last refresh failed (log transitions only) */
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
};

static int s_err(char *err, size_t size, int rc, const char *what)
{
	const char *detail = plx_etcd_errmsg();
	snprintf(err, size, "%s: %s%s%s", what, plx_strerror(rc), *detail ? ": " : "", detail);
	return rc;
}

/* The 1, 5 and 15 minute load averages; zeros when /proc/loadavg cannot be read. */
static void s_loadavg(double load[3])
{
	FILE *f = fopen("/proc/loadavg", "r");
	load[0] = load[1] = load[2] = 0;
	if (f) {
		if (fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3)
			load[0] = load[1] = load[2] = 0;
		fclose(f);
	}
}

/* Writes nodes/<name> on the current lease. Returns 0 or an etcd error. */
static int s_put_record(node_register *self)
{
	double load[3];
	s_loadavg(load);
	json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:i, s:[f,f,f]}", "name",
	                      self->cfg->name, "addr", self->cfg->addr, "label", self->rec.label,
	                      "generation", (json_int_t)self->rec.generation, "pid",
	                      (json_int_t)getpid(), "start_time", (json_int_t)self->rec.start_time,
	                      "updated", (json_int_t)node_now_ms(), "services",
	                      atomic_load(&self->node->running), "load", load[0], load[1], load[2]);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text)
		return -ENOMEM;
	int rc = plx_etcd_put(self->etcd, self->key, text, strlen(text), plx_lease_id(self->lease),
	                      NULL);
	free(text);
	return rc;
}

/* Publishes the endpoint and the record on the current lease. */
static int s_publish(node_register *self, char *err, size_t size)
{
	int rc = plx_endpoint_publish(self->etcd, self->cfg->cluster, &self->rec,
	                              plx_lease_id(self->lease));
	if (rc < 0)
		return s_err(err, size, rc, "publishing the node's endpoint");
	rc = s_put_record(self);
	return rc < 0 ? s_err(err, size, rc, "writing the node record") : 0;
}

/* One refresh of the record. A lease found expired is not replaced: the cluster took the node
 * for dead and its endpoint's generation with it, so the node starts again as a new
 * generation (fence.c, main.c). */
static int s_refresh(node_register *self, char *err, size_t size)
{
	if (!plx_lease_alive(self->lease)) {
		atomic_store(&self->expired, true);
		return 0;
	}
	int rc = s_put_record(self);
	return rc < 0 ? s_err(err, size, rc, "refreshing the node record") : 0;
}

static void *s_refresher(void *arg)
{
	node_register *self = arg;
	int period_ms = self->cfg->lease_ttl * 1000 / 2;
	pthread_mutex_lock(&self->lock);
	while (!self->stop) {
		struct timespec ts = plx_deadline_in(CLOCK_MONOTONIC, period_ms);
		if (pthread_cond_timedwait(&self->cond, &self->lock, &ts) != ETIMEDOUT ||
		    self->stop)
			continue;
		pthread_mutex_unlock(&self->lock);
		char err[512];
		bool failed = s_refresh(self, err, sizeof err) < 0;
		if (failed != self->failing)
			plx_log(PLX_LOG_WARN, "%s", failed ? err : "registry reachable again");
		self->failing = failed;
		pthread_mutex_lock(&self->lock);
	}
	pthread_mutex_unlock(&self->lock);
	return NULL;
}

/* Creates the endpoint with a fresh generation and binds it. */
static int s_endpoint(node_register *self, plx_ctx *ctx, char *err, size_t size)
{
	plx_endpoint_rec *rec = &self->rec;
	snprintf(rec->label, sizeof rec->label, "node.%.58s", self->cfg->name); /* config: <= 58 */
	int rc = plx_generation_next(self->etcd, self->cfg->cluster, rec->label, &rec->generation);
	if (rc < 0)
		return s_err(err, size, rc, "taking a generation");
	if (!(self->ep = plx_ep_new(ctx, rec->label, rec->generation)))
		return s_err(err, size, -errno, "making the endpoint");
	if ((rc = plx_link_secure(ctx, self->ep, err, size)) < 0)
		return rc;
	if ((rc = plx_ep_bind(self->ep, self->cfg->bind)) < 0) {
		snprintf(err, size, "binding %s: %s", self->cfg->bind, plx_strerror(rc));
		return rc;
	}
	plx_endpoint_rec_address(rec, self->ep, self->cfg->addr);
	snprintf(rec->node, sizeof rec->node, "%s", self->cfg->name);
	snprintf(rec->state, sizeof rec->state, "up");
	rec->pid = getpid();
	rec->start_time = node_now_ms();
	return 0;
}

static int s_start(node_register *self, plx_ctx *ctx, char *err, size_t size)
{
	plx_etcd_opts opts = {.endpoints = self->cfg->etcd};
	if (!(self->etcd = plx_etcd_new(&opts)))
		return s_err(err, size, -errno, "etcd client");
	if (!(self->lease = plx_lease_new(self->etcd, self->cfg->lease_ttl)))
		return s_err(err, size, -errno, "taking a lease");
	int rc = s_endpoint(self, ctx, err, size);
	if (rc == 0)
		rc = s_publish(self, err, size);
	if (rc == 0 && !(self->cache = plx_epcache_new(self->etcd, self->cfg->cluster, ctx)))
		rc = s_err(err, size, -errno, "endpoint cache");
	/* RS's label, the one the loop sends to (exit reports), followed now: a first lookup from
	 * the loop would read etcd there, and a node cut off from etcd would then fence late */
	if (rc == 0 && (rc = plx_epcache_follow(self->cache, self->cfg->rs_label)) < 0)
		s_err(err, size, rc, "following RS's endpoint");
	if (rc == 0 && (rc = -pthread_create(&self->thread, NULL, s_refresher, self)) < 0)
		snprintf(err, size, "refresh thread: %s", strerror(-rc));
	self->thread_started = rc == 0;
	return rc;
}

node_register *node_register_new(const node_config *cfg, plx_ctx *ctx, node *n, plx_ep **ep,
                                 char *err, size_t errsize)
{
	node_register *self = calloc(1, sizeof *self);
	if (!self)
		return NULL;
	self->cfg = cfg;
	self->node = n;
	snprintf(self->key, sizeof self->key, "/plexus/%s/nodes/%s", cfg->cluster, cfg->name);
	pthread_mutex_init(&self->lock, NULL);
	plx_cond_init_monotonic(&self->cond);
	int rc = s_start(self, ctx, err, errsize);
	if (rc < 0) {
		node_register_destroy(&self);
		errno = -rc;
		return NULL;
	}
	*ep = self->ep;
	return self;
}

/* Ends the refreshing thread, if it was started, and waits for it. */
static void s_stop_thread(node_register *self)
{
	if (!self->thread_started)
		return;
	pthread_mutex_lock(&self->lock);
	self->stop = true;
	pthread_cond_signal(&self->cond);
	pthread_mutex_unlock(&self->lock);
	pthread_join(self->thread, NULL);
}

void node_register_destroy(node_register **self_p)
{
	node_register *self = self_p ? *self_p : NULL;
	if (!self)
		return;
	s_stop_thread(self);
	plx_epcache_destroy(&self->cache);
	plx_lease_destroy(&self->lease, true); /* the endpoint and the record go with it */
	plx_ep_destroy(&self->ep);
	plx_etcd_destroy(&self->etcd);
	pthread_cond_destroy(&self->cond);
	pthread_mutex_destroy(&self->lock);
	free(self);
	*self_p = NULL;
}

int64_t node_register_safe_until(const node_register *self)
{
	return plx_lease_safe_until(self->lease);
}

bool node_register_expired(const node_register *self)
{
	return atomic_load(&self->expired);
}
