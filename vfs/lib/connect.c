/*
 * connect.c — a process becomes a client of VFS, and stops being one.
 *
 * Entry points: plexus_opts_init, plexus_connect, plexus_connect_error, plexus_disconnect.
 *
 * A handle is an identity of its own, as a service has one (plexus/service.h), without the
 * service's signal handling: a label c-<node>-<uid>-<pid>-<n> (n counts the handles this
 * process made; uid as the node kernel knows the process when it vouches for it), the next
 * generation of that label, an endpoint bound on tcp, and its record ep/<label> on a lease of the
 * handle's own, so that VFS forgets the client when the process or its node dies. The endpoint
 * cache keeps VFS's route current, so a call pending on a VFS that died fails at once. Then
 * VFS_REGISTER tells VFS the process's credentials (and again whenever VFS answers that it does not
 * know the process: call.c). On a secured system a process that cannot read root.key gets its
 * certificate from its node kernel, which vouches for its uid and groups: VFS believes those, not
 * VFS_REGISTER's (docs/security.md).
 *
 * The library prints nothing: what a failed connect has to say beyond errno is kept for the
 * calling thread (plexus_connect_error) and the caller prints it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <plexus/link_keys.h>
#include <plexus/svc.h>

#include "client.h"

static _Thread_local char s_error[640]; /* the last failed plexus_connect's detail */

const char *plexus_connect_error(void)
{
	return s_error;
}

static atomic_uint s_handles;

void plexus_opts_init(plexus_opts *opts)
{
	memset(opts, 0, sizeof *opts);
}

static const char *s_or(const char *given, const char *env, const char *dflt)
{
	if (given && *given)
		return given;
	const char *value = env ? getenv(env) : NULL;
	return value && *value ? value : dflt;
}

/* ECONNREFUSED for every way etcd can be out of reach, as plexus.h says. */
static int s_etcd_errno(int rc)
{
	return rc == -EHOSTUNREACH || rc == -ECONNREFUSED ? -ECONNREFUSED : rc;
}

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The label c-NODE-UID-PID-N (uid: the user the node kernel knows this process as, when it
 * vouches for it), generation and bound endpoint; returns 0 or a negative errno. */
static int s_endpoint(plexus *self, const char *node, unsigned uid)
{
	unsigned n = atomic_fetch_add(&s_handles, 1) + 1;
	snprintf(self->label, sizeof self->label, "c-%.28s-%u-%ld-%u", node, uid, (long)getpid(),
	         n);
	int rc = plx_generation_next(self->etcd, self->cluster, self->label, &self->generation);
	if (rc < 0)
		return s_etcd_errno(rc);
	if (!(self->ep = plx_ep_new(self->ctx, self->label, self->generation)))
		return -errno;
	char err[512];
	rc = plx_link_secure(self->ctx, self->ep, err, sizeof err);
	if (rc == -EACCES) /* another user's process: the node kernel vouches for it */
		rc = plx_link_secure_vouched(self->ctx, self->ep, node, err, sizeof err);
	if (rc < 0) {
		snprintf(s_error, sizeof s_error, "%s", err);
		return rc;
	}
	const char *addr = s_or(NULL, "PLEXUS_ADDR", "127.0.0.1");
	char bind[PLX_ADDRESS_MAX];
	snprintf(bind, sizeof bind, "tcp://%.64s:*", addr);
	return plx_ep_bind(self->ep, bind);
}

/* Writes ep/<label> on the handle's lease. */
static int s_publish(plexus *self, const char *node)
{
	plx_endpoint_rec rec = {.generation = self->generation, .pid = getpid()};
	snprintf(rec.label, sizeof rec.label, "%s", self->label);
	snprintf(rec.node, sizeof rec.node, "%s", node);
	plx_endpoint_rec_address(&rec, self->ep, NULL);
	snprintf(rec.state, sizeof rec.state, "client");
	rec.start_time = s_now_ms();
	int rc = plx_endpoint_publish(self->etcd, self->cluster, &rec, plx_lease_id(self->lease));
	if (rc == 0)
		self->published = true;
	return s_etcd_errno(rc);
}

/* True when RS is bringing VFS back: worth waiting for. */
static bool s_vfs_coming_back(plexus *self)
{
	return plx_svc_coming_back(self->etcd, self->cluster, self->vfs);
}

/* VFS's route, waiting (up to the handle's time limit) while RS brings VFS back: a program
 * started while VFS restarts waits for it, as one already connected does. Returns 0 or
 * -EHOSTDOWN. */
static int s_vfs_route_waiting(plexus *self)
{
	int64_t deadline = s_now_ms() + (self->timeout_ms > 0 ? self->timeout_ms : 10000);
	while (plx_route_lookup(self->ctx, self->vfs, NULL, NULL, 0) < 0) {
		if (s_now_ms() >= deadline || !s_vfs_coming_back(self))
			return -EHOSTDOWN;
		usleep(100 * 1000);
	}
	return 0;
}

/* VFS_REGISTER, waiting (up to the handle's time limit) while VFS is being restarted. */
static int s_register_waiting(plexus *self)
{
	int64_t deadline = s_now_ms() + (self->timeout_ms > 0 ? self->timeout_ms : 10000);
	for (;;) {
		int rc = plexus__register(self);
		if (rc != -EHOSTDOWN || s_now_ms() >= deadline || !s_vfs_coming_back(self))
			return rc;
		usleep(100 * 1000);
	}
}

int plexus__rejoin(plexus *self, uint64_t seen)
{
	pthread_mutex_lock(&self->rejoin_lock);
	if (plexus__vfs_gen(self) != seen) { /* another thread did it meanwhile */
		pthread_mutex_unlock(&self->rejoin_lock);
		return 0;
	}
	int rc = 0;
	if (!plx_lease_alive(self->lease)) { /* it lapsed while etcd was out of reach */
		plx_lease *lease = plx_lease_new(self->etcd, PLEXUS__LEASE_TTL);
		if (lease) {
			plx_lease_destroy(&self->lease, false);
			self->lease = lease;
		} else {
			rc = s_etcd_errno(-errno);
		}
	}
	if (rc == 0)
		rc = s_publish(self, self->node);
	if (rc == 0)
		rc = s_register_waiting(self);
	if (rc == 0)
		plexus__fds_restore(self); /* those it cannot open again fail with ESTALE */
	pthread_mutex_unlock(&self->rejoin_lock);
	return rc;
}

/* The credentials VFS_REGISTER states: the handle's creds, else the process's own. */
static void s_creds(const plexus *self, Plexus__VfsRegister *reg, uint32_t gids[256])
{
	gid_t groups[256];
	int ngroups = self->as_user ? self->creds.ngroups : getgroups(256, groups);
	for (int i = 0; i < ngroups; i++)
		gids[i] = self->as_user ? self->creds.groups[i] : groups[i];
	reg->uid = reg->ruid = self->as_user ? self->creds.uid : geteuid();
	reg->gid = reg->rgid = self->as_user ? self->creds.gid : getegid();
	if (!self->as_user) {
		reg->ruid = getuid();
		reg->rgid = getgid();
	}
	reg->n_groups = ngroups > 0 ? (size_t)ngroups : 0;
	reg->groups = gids;
}

int plexus__register(plexus *self)
{
	uint32_t gids[256];
	mode_t mask = umask(022);
	umask(mask);
	Plexus__VfsRegister reg = PLEXUS__VFS_REGISTER__INIT;
	reg.pid = (uint32_t)getpid();
	reg.node = self->node;
	reg.name = self->name;
	s_creds(self, &reg, gids);
	reg.umask = mask;
	plexus__answer ans;
	int64_t rc = plexus__vfs_register(self, &reg, NULL, 0, self->timeout_ms, &ans);
	if (rc >= 0) {
		__atomic_store_n(&self->vfs_gen, ans.msg->source.generation, __ATOMIC_RELEASE);
		self->registered = true;
		plexus__answer_free(&ans);
	}
	return rc < 0 ? (int)rc : 0;
}

/* True on a secured system whose root.key this user cannot read. */
static bool s_cannot_sign(void)
{
	const char *dir = getenv("PLEXUS_KEYS");
	char key[4096];
	if (!dir || !*dir)
		return false;
	snprintf(key, sizeof key, "%s/root.key", dir);
	return access(key, R_OK) != 0;
}

/* Everything but the registration; returns 0 or a negative errno. */
static int s_start(plexus *self, const plexus_opts *opts, const char *node)
{
	plx_etcd_opts eo = {.endpoints = s_or(opts->etcd, "PLEXUS_ETCD", PLX_ETCD_DEFAULT_URL),
	                    .not_handed_user = true}; /* in a service: not the service's user */
	char user[PLX_LABEL_MAX + 16] = "", password[128], err[512];
	unsigned uid = (unsigned)geteuid();
	if (s_cannot_sign()) { /* another user's process: its node kernel's etcd user for it */
		int rc = plx_vouch_etcd(node, user, sizeof user, password, sizeof password, err,
		                        sizeof err);
		if (rc < 0) {
			snprintf(s_error, sizeof s_error, "%s", err);
			return rc;
		}
		eo.user = user[0] ? user : NULL;
		eo.password = user[0] ? password : NULL;
		const char *dash = strrchr(user, '-'); /* u-NODE-UID: who the kernel says it is */
		if (dash)
			uid = (unsigned)strtoul(dash + 1, NULL, 10);
	}
	plx_register_types(&plexus__vfs_type__descriptor); /* names in traces (PLEXUS_TRACE=1) */
	self->etcd = plx_etcd_new(&eo);
	explicit_bzero(password, sizeof password);
	if (!self->etcd || !(self->ctx = plx_ctx_new()))
		return errno ? -errno : -ENOMEM;
	self->chunk_max = PLEXUS__CHUNK_MAX;
	plexus__set_chunk_max(self, PLEXUS__CHUNK_MAX);
	if (!(self->cache = plx_epcache_new(self->etcd, self->cluster, self->ctx)))
		return s_etcd_errno(-errno);
	if (s_vfs_route_waiting(self) < 0)
		return -EHOSTDOWN; /* no VFS record: nothing of ours is written */
	if (!(self->lease = plx_lease_new(self->etcd, PLEXUS__LEASE_TTL)))
		return s_etcd_errno(-errno);
	int rc = s_endpoint(self, node, uid);
	return rc < 0 ? rc : s_publish(self, node);
}

plexus *plexus_connect(const plexus_opts *opts)
{
	plexus_opts none;
	if (!opts) {
		plexus_opts_init(&none);
		opts = &none;
	}
	plexus *self = calloc(1, sizeof *self);
	if (!self)
		return NULL;
	pthread_mutex_init(&self->rejoin_lock, NULL);
	pthread_mutex_init(&self->fds_lock, NULL);
	snprintf(self->cwd, sizeof self->cwd, "/");
	snprintf(self->cluster, sizeof self->cluster, "%s",
	         s_or(opts->cluster, "PLEXUS_CLUSTER", "default"));
	snprintf(self->vfs, sizeof self->vfs, "%s", s_or(opts->vfs, NULL, "vfs"));
	self->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : PLEXUS__TIMEOUT_MS;
	char host[PLX_NODE_MAX] = "local";
	gethostname(host, sizeof host - 1);
	char vouching[PLX_NODE_MAX];
	if (!s_or(opts->node, "PLEXUS_NODE", NULL) && s_cannot_sign() &&
	    plx_vouch_node(vouching, sizeof vouching) == 0)
		snprintf(host, sizeof host, "%s", vouching); /* its node kernel names it */
	const char *node = s_or(opts->node, "PLEXUS_NODE", host);
	const char *name = s_or(opts->name, NULL, program_invocation_short_name);
	snprintf(self->node, sizeof self->node, "%s", node);
	snprintf(self->name, sizeof self->name, "%s", name);
	if (opts->creds) {
		if (opts->creds->ngroups < 0 || opts->creds->ngroups > PLEXUS_CREDS_GROUPS) {
			plexus_disconnect(&self);
			errno = EINVAL;
			return NULL;
		}
		self->as_user = true;
		self->creds = *opts->creds;
	}
	s_error[0] = '\0';
	int rc = s_start(self, opts, node);
	if (rc == 0)
		rc = s_register_waiting(self);
	const char *keys = getenv("PLEXUS_KEYS");
	if ((rc == -EACCES || rc == -EPROTO) && !(keys && *keys)) /* a password, TLS */
		snprintf(s_error, sizeof s_error,
		         "the system is secured (links, registry): set PLEXUS_KEYS to its keys "
		         "directory (eval \"$(plexus env)\" sets it)");
	if (rc < 0) {
		plexus_disconnect(&self);
		errno = -rc;
		return NULL;
	}
	return self;
}

/* Forgets the label's generation counter too: nobody else ever uses the label. */
static void s_withdraw(plexus *self)
{
	if (!self->generation)
		return;
	if (self->published)
		(void)plx_endpoint_withdraw(self->etcd, self->cluster, self->label,
		                            self->generation);
	char key[256];
	snprintf(key, sizeof key, "/plexus/%s/gen/%s", self->cluster, self->label);
	(void)plx_etcd_delete(self->etcd, key, false);
}

void plexus_disconnect(plexus **self_p)
{
	plexus *self = self_p ? *self_p : NULL;
	if (!self)
		return;
	if (self->registered)
		(void)plexus__vfs_exit(self, NULL, NULL, 0, self->timeout_ms, NULL);
	if (self->etcd)
		s_withdraw(self);
	plx_epcache_destroy(&self->cache);
	plx_lease_destroy(&self->lease, true);
	plexus__direct_free(self);
	plx_ep_destroy(&self->ep);
	plx_etcd_destroy(&self->etcd);
	plx_ctx_destroy(&self->ctx);
	pthread_mutex_destroy(&self->rejoin_lock);
	plexus__fds_free(self);
	plexus__durable_free(self);
	pthread_mutex_destroy(&self->fds_lock);
	free(self);
	*self_p = NULL;
}
