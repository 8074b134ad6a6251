/*
 * service.c — a service's life: endpoint, lease, publication, signals, saved state.
 *
 * Entry points: plx_service_new, plx_service_destroy, plx_service_publish,
 * plx_service_on_activate, plx_service_run,
 * plx_service_ctx, plx_service_ep, plx_service_etcd, plx_service_ds, plx_service_config,
 * plx_service_restarted, plx_service_state_save, plx_service_state_restore,
 * plx_service_state_drop.
 *
 * A warm spare (cfg.spare) does everything but publish: plx_service_publish writes
 * spare/<label> (the record it would publish, on its lease) and waits, with a watch on
 * ep/<label>, until RS's activation transaction names its generation there.
 *
 * A thread of ours checks the lease every TTL/2: when it was lost (etcd unreachable for longer
 * than the TTL), it takes a new one and writes the endpoint record again, as plexus-node does
 * for its own record. During plx_service_run a second thread waits for SIGTERM / SIGINT.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <plexus/link_keys.h>
#include <plexus/log.h>
#include <plexus/service.h>

#define S_STATE_PREFIX "state."

struct plx_service {
	plx_service_cfg cfg;
	plx_ctx *ctx;
	plx_ep *ep;
	plx_etcd *etcd;
	plx_lease *lease;
	plx_epcache *cache;
	plx_ds *ds;
	plx_endpoint_rec rec;
	bool published;
	pthread_mutex_t lock; /* lease, rec, published; stop */
	pthread_cond_t cond;
	bool stop;
	pthread_t refresher;
	bool refresher_started;
	void (*on_activate)(void *arg, plx_service *svc); /* a warm spare's, once activated */
	void *on_activate_arg;
};

static int s_err(char *err, size_t size, int rc, const char *what)
{
	const char *detail = plx_etcd_errmsg();
	snprintf(err, size, "%s: %s%s%s", what, plx_strerror(rc), *detail ? ": " : "", detail);
	return rc;
}

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int s_endpoint(plx_service *self, char *err, size_t size)
{
	plx_endpoint_rec *rec = &self->rec;
	snprintf(rec->label, sizeof rec->label, "%s", self->cfg.label);
	rec->generation = self->cfg.generation;
	int rc = 0;
	if (!rec->generation && (rc = plx_generation_next(self->etcd, self->cfg.cluster, rec->label,
	                                                  &rec->generation)) < 0)
		return s_err(err, size, rc, "taking a generation");
	if (!(self->ep = plx_ep_new(self->ctx, rec->label, rec->generation))) {
		snprintf(err, size, "making endpoint %s: %s", rec->label, strerror(errno));
		return -errno;
	}
	if ((rc = plx_link_secure(self->ctx, self->ep, err, size)) < 0)
		return rc;
	char bind[PLX_ADDRESS_MAX];
	if (self->cfg.bind[0])
		snprintf(bind, sizeof bind, "%s", self->cfg.bind);
	else
		snprintf(bind, sizeof bind, "tcp://%.40s:*", self->cfg.addr);
	if ((rc = plx_ep_bind(self->ep, bind)) < 0) {
		snprintf(err, size, "binding %s: %s", bind, plx_strerror(rc));
		return rc;
	}
	plx_endpoint_rec_address(rec, self->ep, self->cfg.addr);
	snprintf(rec->node, sizeof rec->node, "%s", self->cfg.node);
	rec->pid = getpid();
	rec->start_time = s_now_ms();
	return 0;
}

/* Writes the record on the current lease; the caller holds the lock. */
static int s_write_record(plx_service *self)
{
	return plx_endpoint_publish(self->etcd, self->cfg.cluster, &self->rec,
	                            plx_lease_id(self->lease));
}

/* Takes a new lease and writes the record again when the lease was lost. */
static void s_refresh(plx_service *self)
{
	if (plx_lease_alive(self->lease))
		return;
	plx_lease *lease = plx_lease_new(self->etcd, self->cfg.lease_ttl);
	if (!lease)
		return; /* etcd still away: try again next round */
	plx_lease_destroy(&self->lease, false);
	self->lease = lease;
	if (self->published)
		(void)s_write_record(self);
}

static void *s_refresher(void *arg)
{
	plx_service *self = arg;
	pthread_mutex_lock(&self->lock);
	while (!self->stop) {
		struct timespec ts = plx_deadline_in(CLOCK_MONOTONIC, self->cfg.lease_ttl * 500L);
		if (pthread_cond_timedwait(&self->cond, &self->lock, &ts) == ETIMEDOUT &&
		    !self->stop)
			s_refresh(self);
	}
	pthread_mutex_unlock(&self->lock);
	return NULL;
}

/* A service may open as many descriptors as the system lets it (the soft limit raised to the
 * hard one), so that its ZeroMQ context, sized from it, holds every connection it needs. */
static void s_raise_nofile(void)
{
	struct rlimit lim;
	if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
		lim.rlim_cur = lim.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &lim);
	}
}

static int s_start(plx_service *self, char *err, size_t size)
{
	plx_etcd_opts opts = {.endpoints = self->cfg.etcd};
	s_raise_nofile();
	if (!(self->ctx = plx_ctx_new())) {
		snprintf(err, size, "transport context: %s", strerror(errno));
		return -errno;
	}
	if (!(self->etcd = plx_etcd_new(&opts)))
		return s_err(err, size, -errno, "etcd client");
	if (!(self->lease = plx_lease_new(self->etcd, self->cfg.lease_ttl)))
		return s_err(err, size, -errno, "taking a lease");
	int rc = s_endpoint(self, err, size);
	if (rc < 0)
		return rc;
	if (!(self->cache = self->cfg.follow_all
	                        ? plx_epcache_new_all(self->etcd, self->cfg.cluster, self->ctx)
	                        : plx_epcache_new(self->etcd, self->cfg.cluster, self->ctx)))
		return s_err(err, size, -errno, "endpoint cache");
	if (!(self->ds = plx_ds_new(self->etcd, self->cfg.cluster, self->cfg.label)))
		return s_err(err, size, -errno, "DS handle");
	if ((rc = -pthread_create(&self->refresher, NULL, s_refresher, self)) < 0) {
		snprintf(err, size, "lease thread: %s", strerror(-rc));
		return rc;
	}
	self->refresher_started = true;
	return 0;
}

static void s_block_stop_signals(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* A server's memory comes and goes in megabytes per request (1 MiB data frames, read and
 * write buffers up to 4 MiB) from several threads. glibc's defaults map each such block anew,
 * or shrink a thread's heap as soon as it is freed, so every request paid for fresh pages
 * (page faults, zeroing: a third of plexus-mfs's worker time, docs/performance.md). Blocks up
 * to 8 MiB come from the heaps, and a heap keeps up to 64 MiB free: enough for the requests'
 * buffers, bounded for nodes with little memory (a QEMU node has 384 MiB). */
static void s_malloc_settings(void)
{
	(void)mallopt(M_MMAP_THRESHOLD, 8 * 1024 * 1024);
	(void)mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
}

plx_service *plx_service_new(const plx_service_cfg *cfg, char *err, size_t size)
{
	s_malloc_settings();
	if (!cfg->label[0]) {
		snprintf(err, size, "no label: give --label or PLEXUS_LABEL");
		errno = EINVAL;
		return NULL;
	}
	s_block_stop_signals();
	plx_service *self = calloc(1, sizeof *self);
	if (!self) {
		snprintf(err, size, "out of memory");
		return NULL;
	}
	self->cfg = *cfg;
	pthread_mutex_init(&self->lock, NULL);
	plx_cond_init_monotonic(&self->cond);
	int rc = s_start(self, err, size);
	if (rc < 0) {
		plx_service_destroy(&self);
		errno = -rc;
		return NULL;
	}
	plx_log_set_label(self->rec.label, self->rec.generation); /* "PROGRAM LABEL/GEN: ..." */
	return self;
}

void plx_service_destroy(plx_service **self_p)
{
	plx_service *self = self_p ? *self_p : NULL;
	if (!self)
		return;
	if (self->refresher_started) {
		pthread_mutex_lock(&self->lock);
		self->stop = true;
		pthread_cond_signal(&self->cond);
		pthread_mutex_unlock(&self->lock);
		pthread_join(self->refresher, NULL);
	}
	if (self->published)
		(void)plx_endpoint_withdraw(self->etcd, self->cfg.cluster, self->rec.label,
		                            self->rec.generation);
	plx_ds_destroy(&self->ds);
	plx_epcache_destroy(&self->cache);
	plx_lease_destroy(&self->lease, true);
	plx_ep_destroy(&self->ep);
	plx_etcd_destroy(&self->etcd);
	plx_ctx_destroy(&self->ctx);
	pthread_cond_destroy(&self->cond);
	pthread_mutex_destroy(&self->lock);
	free(self);
	*self_p = NULL;
}

/* ---- warm spares ---- */

typedef struct s_spare_wait {
	const plx_service *svc;
	char key[512];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool active;
} s_spare_wait;

static void s_on_ep(const plx_watch_event *ev, void *arg)
{
	s_spare_wait *w = arg;
	plx_endpoint_rec rec;
	if (ev->kind != PLX_WATCH_PUT || strcmp(ev->kv->key, w->key) != 0 ||
	    plx_endpoint_parse((const char *)ev->kv->value, ev->kv->value_size, NULL, &rec) < 0 ||
	    rec.generation != w->svc->rec.generation)
		return;
	pthread_mutex_lock(&w->lock);
	w->active = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* True when SIGTERM or SIGINT is pending (both are blocked in every thread). */
static bool s_stop_pending(void)
{
	sigset_t set;
	sigpending(&set);
	return sigismember(&set, SIGTERM) || sigismember(&set, SIGINT);
}

/* Waits until ep/<label> holds this generation (checked once more after the watch started, in
 * case RS was quicker). Returns 0 or -ECANCELED. */
static int s_spare_wait_active(plx_service *self, s_spare_wait *w)
{
	plx_endpoint_rec now;
	if (plx_endpoint_lookup(self->etcd, self->cfg.cluster, self->cfg.label, &now) == 0 &&
	    now.generation == self->rec.generation)
		return 0;
	int rc = 0;
	pthread_mutex_lock(&w->lock);
	while (!w->active && !(rc = s_stop_pending() ? -ECANCELED : 0)) {
		struct timespec ts = plx_deadline_in(CLOCK_MONOTONIC, 100);
		pthread_cond_timedwait(&w->cond, &w->lock, &ts);
	}
	pthread_mutex_unlock(&w->lock);
	return w->active ? 0 : rc;
}

/* The spare's half of plx_service_publish. */
static int s_spare_publish(plx_service *self)
{
	s_spare_wait w = {.svc = self};
	snprintf(w.key, sizeof w.key, "/plexus/%s/ep/%s", self->cfg.cluster, self->cfg.label);
	pthread_mutex_init(&w.lock, NULL);
	plx_cond_init_monotonic(&w.cond);
	plx_watch *watch = plx_watch_new(self->etcd, w.key, 0, s_on_ep, &w);
	int rc = watch ? 0 : -errno;
	char key[512];
	snprintf(key, sizeof key, "/plexus/%s/spare/%s", self->cfg.cluster, self->cfg.label);
	pthread_mutex_lock(&self->lock);
	char *json = rc == 0 ? plx_endpoint_format(&self->rec) : NULL;
	if (rc == 0)
		rc = json ? plx_etcd_put(self->etcd, key, json, strlen(json),
		                         plx_lease_id(self->lease), NULL)
		          : -EINVAL;
	pthread_mutex_unlock(&self->lock);
	free(json);
	if (rc == 0) {
		plx_log(PLX_LOG_INFO, "warm spare: ready, waiting to be activated");
		rc = s_spare_wait_active(self, &w);
	}
	plx_watch_destroy(&watch);
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
	if (rc == 0) {
		plx_log(PLX_LOG_INFO, "warm spare: activated");
		pthread_mutex_lock(&self->lock);
		self->published = true;
		pthread_mutex_unlock(&self->lock);
		if (self->on_activate)
			self->on_activate(self->on_activate_arg, self);
	}
	return rc;
}

void plx_service_on_activate(plx_service *self, void (*fn)(void *arg, plx_service *svc), void *arg)
{
	self->on_activate = fn;
	self->on_activate_arg = arg;
}

int plx_service_publish(plx_service *self, const char *state)
{
	if (self->cfg.spare && !self->published) {
		pthread_mutex_lock(&self->lock);
		snprintf(self->rec.state, sizeof self->rec.state, "%s", state);
		pthread_mutex_unlock(&self->lock);
		return s_spare_publish(self);
	}
	pthread_mutex_lock(&self->lock);
	snprintf(self->rec.state, sizeof self->rec.state, "%s", state);
	int rc = s_write_record(self);
	if (rc == 0)
		self->published = true;
	pthread_mutex_unlock(&self->lock);
	return rc;
}

/* ---- signals during plx_service_run ---- */

typedef struct s_waiter {
	plx_server *srv;
	pthread_mutex_t lock;
	bool done;
} s_waiter;

/* Waits for SIGTERM / SIGINT (blocked in every thread since plx_service_new), checking every
 * 100 ms whether the loop ended without one. */
static void *s_signal_waiter(void *arg)
{
	s_waiter *w = arg;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	struct timespec tick = {0, 100 * 1000000L};
	for (;;) {
		int sig = sigtimedwait(&set, NULL, &tick);
		pthread_mutex_lock(&w->lock);
		bool done = w->done;
		if (sig > 0 && !done)
			plx_server_stop(w->srv);
		pthread_mutex_unlock(&w->lock);
		if (done || sig > 0)
			return NULL;
	}
}

int plx_service_run(plx_service *self, plx_server *srv)
{
	if (self->cfg.node[0])
		plx_server_set_node(srv, self->cfg.node);
	if (self->cfg.callers[0] && plx_server_set_callers(srv, self->cfg.callers) < 0) {
		plx_log(PLX_LOG_DEBUG, "callers \"%s\": more than 32 patterns or one too long",
		        self->cfg.callers);
		return -EINVAL;
	}
	s_waiter w = {.srv = srv};
	pthread_mutex_init(&w.lock, NULL);
	pthread_t thread;
	bool waiting = pthread_create(&thread, NULL, s_signal_waiter, &w) == 0;
	int rc = plx_server_run(srv);
	if (waiting) {
		pthread_mutex_lock(&w.lock);
		w.done = true;
		pthread_mutex_unlock(&w.lock);
		pthread_join(thread, NULL);
	}
	pthread_mutex_destroy(&w.lock);
	return rc;
}

/* ---- accessors ---- */

plx_ctx *plx_service_ctx(plx_service *self)
{
	return self->ctx;
}

plx_ep *plx_service_ep(plx_service *self)
{
	return self->ep;
}

plx_etcd *plx_service_etcd(plx_service *self)
{
	return self->etcd;
}

plx_ds *plx_service_ds(plx_service *self)
{
	return self->ds;
}

const plx_service_cfg *plx_service_config(const plx_service *self)
{
	return &self->cfg;
}

bool plx_service_restarted(const plx_service *self)
{
	return self->cfg.init == PLX_INIT_RESTART;
}

/* ---- saved state ---- */

/* DS keys are one namespace for all owners, so the label is part of the name. */
static int s_state_key(const plx_service *self, char *buf, size_t size, const char *key)
{
	int n = snprintf(buf, size, S_STATE_PREFIX "%s.%s", self->cfg.label, key);
	return n < 0 || (size_t)n >= size || !*key ? -EINVAL : 0;
}

int plx_service_state_save(plx_service *self, const char *key, const void *data, size_t size)
{
	char name[PLX_DS_KEY_MAX];
	int rc = s_state_key(self, name, sizeof name, key);
	return rc < 0 ? rc
	              : plx_ds_publish_mem(self->ds, name, data, size,
	                                   PLX_DSF_OVERWRITE | PLX_DSF_PRIV_RETRIEVE |
	                                       PLX_DSF_PRIV_OVERWRITE);
}

int plx_service_state_restore(plx_service *self, const char *key, void *buf, size_t *size)
{
	char name[PLX_DS_KEY_MAX];
	int rc = s_state_key(self, name, sizeof name, key);
	if (rc < 0)
		return rc;
	size_t capacity = *size;
	rc = plx_ds_retrieve_mem(self->ds, name, buf, size);
	if (rc == -ESRCH)
		return -ENOENT;
	if (rc < 0)
		return rc;
	if ((size_t)rc > capacity) {
		*size = (size_t)rc;
		return -ENOSPC;
	}
	*size = (size_t)rc;
	return 0;
}

int plx_service_state_drop(plx_service *self, const char *key)
{
	char name[PLX_DS_KEY_MAX];
	int rc = s_state_key(self, name, sizeof name, key);
	if (rc == 0)
		rc = plx_ds_delete(self->ds, name, PLX_DSF_TYPE_MEM);
	return rc == -ESRCH ? -ENOENT : rc;
}
