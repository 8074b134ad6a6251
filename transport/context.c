/*
 * context.c — the per-process transport context.
 *
 * Entry points: plx_ctx_new, plx_ctx_destroy, plx_ctx_set_max_data, plx_ctx_max_data,
 * plx_ctx_max_sockets, plx_ctx_trust (plexus/link_security.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "internal.h"

static bool s_trace_from_environment(void)
{
	const char *value = getenv("PLEXUS_TRACE");
	return (value && *value && strcmp(value, "0") != 0) || plx_log_enabled(PLX_LOG_TRACE);
}

/* ZeroMQ's socket limit from RLIMIT_NOFILE (plexus/transport.h): so that sockets run out
 * with a clear EMFILE before the descriptors files and etcd need do. */
static int s_socket_budget(void)
{
	struct rlimit lim;
	long soft = getrlimit(RLIMIT_NOFILE, &lim) < 0 ? 1024
	            : lim.rlim_cur == RLIM_INFINITY    ? 131072
	                                               : (long)lim.rlim_cur;
	long n = (soft - 64) / 2;
	return n < 64 ? 64 : n > 65535 ? 65535 : (int)n;
}

plx_ctx *plx_ctx_new(void)
{
	plx_ctx *self = calloc(1, sizeof *self);
	if (!self)
		return NULL;
	self->zmq = zmq_ctx_new();
	if (!self->zmq) {
		free(self);
		return NULL;
	}
	static atomic_uint_fast64_t ids;
	self->id = atomic_fetch_add(&ids, 1) + 1;
	self->max_sockets = s_socket_budget();
	zmq_ctx_set(self->zmq, ZMQ_MAX_SOCKETS, self->max_sockets);
	atomic_init(&self->max_data, PLX_DEFAULT_MAX_DATA);
	atomic_init(&self->peer_bytes, PLX_DEFAULT_PEER_BYTES);
	atomic_init(&self->peer_bytes_all, PLX_DEFAULT_PEER_BYTES_ALL);
	atomic_init(&self->trace_on, s_trace_from_environment());
	pthread_rwlock_init(&self->routes_lock, NULL);
	pthread_rwlock_init(&self->miss_lock, NULL);
	pthread_mutex_init(&self->waiters_lock, NULL);
	return self;
}

void plx_ctx_destroy(plx_ctx **self_p)
{
	plx_ctx *self = self_p ? *self_p : NULL;
	if (!self)
		return;
	while (zmq_ctx_term(self->zmq) == -1 && errno == EINTR)
		;
	plx__secure_free(self);
	plx__routes_free(self);
	pthread_rwlock_destroy(&self->routes_lock);
	pthread_rwlock_destroy(&self->miss_lock);
	pthread_mutex_destroy(&self->waiters_lock);
	free(self);
	*self_p = NULL;
}

int plx_ctx_set_max_data(plx_ctx *self, size_t bytes)
{
	if (bytes == 0)
		return -EINVAL;
	atomic_store(&self->max_data, bytes);
	return 0;
}

int plx_ctx_trust(plx_ctx *self, const uint8_t public_key[PLX_TRUST_PUBLIC])
{
	int rc = plx__trust_start(self, public_key);
	if (rc == 0)
		plx__routes_secure(self); /* routes the registry gave before: certified now too */
	return rc;
}

size_t plx_ctx_max_data(const plx_ctx *self)
{
	return atomic_load(&self->max_data);
}

int plx_ctx_set_peer_bytes(plx_ctx *self, size_t per_peer, size_t all)
{
	if (per_peer == 0 || all == 0)
		return -EINVAL;
	atomic_store(&self->peer_bytes, per_peer);
	atomic_store(&self->peer_bytes_all, all);
	return 0;
}

int plx_ctx_max_sockets(const plx_ctx *self)
{
	return self->max_sockets;
}
