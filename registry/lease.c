/*
 * lease.c — a lease kept alive from a background thread.
 *
 * Entry points: plx_cond_init_monotonic, plx_deadline_in, plx_lease_new, plx_lease_id,
 * plx_lease_alive, plx_lease_safe_until, plx_lease_destroy.
 *
 * The thread renews every ttl/3; a failed renewal (etcd unreachable) is retried every 200 ms
 * until it works or etcd says the lease is gone, which makes the lease dead for good. Each
 * success moves the time until which the lease surely lives: etcd counts a TTL from when it
 * handles the renewal, which is after we sent it, so the send time plus the TTL is a bound
 * that needs no clock shared with etcd.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "etcd_internal.h"

#define S_RETRY_MS 200

struct plx_lease {
	plx_etcd *etcd;
	int64_t id;
	int64_t ttl_s;
	atomic_bool alive;
	atomic_int_fast64_t safe_until; /* reg_now_ms() */
	bool stop;                      /* guarded by lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
};

/* Waits ms milliseconds or until stopped. Returns true when stopped. */
static bool s_wait(plx_lease *self, int64_t ms)
{
	struct timespec deadline = plx_deadline_in(CLOCK_MONOTONIC, ms);
	pthread_mutex_lock(&self->lock);
	while (!self->stop &&
	       pthread_cond_timedwait(&self->cond, &self->lock, &deadline) != ETIMEDOUT)
		;
	bool stop = self->stop;
	pthread_mutex_unlock(&self->lock);
	return stop;
}

static void *s_run(void *arg)
{
	plx_lease *self = arg;
	int64_t period = self->ttl_s * 1000 / 3;
	if (period < 100)
		period = 100;
	int64_t wait = period;
	while (!s_wait(self, wait)) {
		int64_t sent = reg_now_ms();
		int rc = plx_etcd_lease_keepalive(self->etcd, self->id);
		if (rc == -ENOENT) {
			atomic_store(&self->alive, false);
			break;
		}
		if (rc > 0) /* the TTL etcd reports, never more than the one asked for */
			atomic_store(&self->safe_until,
			             sent + (rc < self->ttl_s ? rc : self->ttl_s) * 1000);
		wait = rc > 0 ? period : S_RETRY_MS;
	}
	return NULL;
}

int plx_cond_init_monotonic(pthread_cond_t *cond)
{
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	int rc = pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
	return rc;
}

struct timespec plx_deadline_in(clockid_t clock, int64_t ms)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

plx_lease *plx_lease_new(plx_etcd *etcd, int64_t ttl_s)
{
	plx_lease *self = calloc(1, sizeof *self);
	if (!self) {
		errno = ENOMEM;
		return NULL;
	}
	int64_t sent = reg_now_ms();
	int rc = plx_etcd_lease_grant(etcd, ttl_s, &self->id);
	if (rc < 0) {
		free(self);
		errno = -rc;
		return NULL;
	}
	self->etcd = etcd;
	self->ttl_s = ttl_s;
	atomic_init(&self->alive, true);
	atomic_init(&self->safe_until, sent + ttl_s * 1000);
	pthread_mutex_init(&self->lock, NULL);
	plx_cond_init_monotonic(&self->cond);
	if ((rc = pthread_create(&self->thread, NULL, s_run, self)) != 0) {
		plx_etcd_lease_revoke(etcd, self->id);
		pthread_cond_destroy(&self->cond);
		pthread_mutex_destroy(&self->lock);
		free(self);
		errno = rc;
		return NULL;
	}
	return self;
}

int64_t plx_lease_id(const plx_lease *self)
{
	return self->id;
}

bool plx_lease_alive(plx_lease *self)
{
	return atomic_load(&self->alive);
}

int64_t plx_lease_safe_until(const plx_lease *self)
{
	return atomic_load(&self->safe_until);
}

void plx_lease_destroy(plx_lease **self_p, bool revoke)
{
	if (!self_p || !*self_p)
		return;
	plx_lease *self = *self_p;
	pthread_mutex_lock(&self->lock);
	self->stop = true;
	pthread_cond_signal(&self->cond);
	pthread_mutex_unlock(&self->lock);
	pthread_join(self->thread, NULL);
	if (revoke && atomic_load(&self->alive))
		plx_etcd_lease_revoke(self->etcd, self->id);
	pthread_cond_destroy(&self->cond);
	pthread_mutex_destroy(&self->lock);
	free(self);
	*self_p = NULL;
}
