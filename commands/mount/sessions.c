/*
 * sessions.c — one client of VFS per user of the mount (docs/using.md "Other users of the
 * mount").
 *
 * Entry points: mount_sessions_init, mount_sessions_close, mount_session_caller,
 * mount_session_put.
 *
 * VFS checks every call against the credentials its client registered with. A mount made by
 * root serves every user of the machine (allow_other), so each caller (FUSE's uid, gid and
 * supplementary groups of the calling process) gets a client of its own, registered as that
 * user: root may, as setuid(2) allows. Sessions are made on first use, kept while a call runs
 * or a file is open on them, and the least recently used idle one is closed when all
 * MOUNT_SESSIONS are taken. Open files stay on the session that opened them: a descriptor
 * lives in one VFS process, as a Linux descriptor acts with the credentials it was opened with.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mount.h"

static int s_gid_cmp(const void *a, const void *b)
{
	gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;
	return x < y ? -1 : x > y;
}

static void s_sort(plexus_creds *c)
{
	qsort(c->groups, (size_t)c->ngroups, sizeof c->groups[0], s_gid_cmp);
}

static bool s_same(const plexus_creds *a, const plexus_creds *b)
{
	return a->uid == b->uid && a->gid == b->gid && a->ngroups == b->ngroups &&
	       memcmp(a->groups, b->groups, (size_t)a->ngroups * sizeof a->groups[0]) == 0;
}

/* The calling process's credentials, as the kernel gave them to FUSE (at most
 * PLEXUS_CREDS_GROUPS groups; none if the kernel cannot say). */
static void s_caller_creds(fuse_req_t req, plexus_creds *c)
{
	const struct fuse_ctx *fc = fuse_req_ctx(req);
	memset(c, 0, sizeof *c);
	c->uid = fc->uid;
	c->gid = fc->gid;
	int n = fuse_req_getgroups(req, PLEXUS_CREDS_GROUPS, c->groups);
	c->ngroups = n < 0 ? 0 : n > PLEXUS_CREDS_GROUPS ? PLEXUS_CREDS_GROUPS : n;
	s_sort(c);
}

static void s_own_creds(plexus_creds *c)
{
	memset(c, 0, sizeof *c);
	c->uid = geteuid();
	c->gid = getegid();
	int n = getgroups(PLEXUS_CREDS_GROUPS, c->groups);
	c->ngroups = n < 0 ? 0 : n;
	s_sort(c);
}

void mount_sessions_init(mount_ctx *ctx, plexus *own, const plexus_opts *opts, bool per_caller)
{
	memset(ctx, 0, sizeof *ctx);
	pthread_mutex_init(&ctx->lock, NULL);
	pthread_mutex_init(&ctx->watch_lock, NULL);
	for (int i = 0; i < MOUNT_SESSIONS; i++)
		pthread_mutex_init(&ctx->sessions[i].cwd_lock, NULL);
	ctx->per_caller = per_caller;
	ctx->opts = *opts;
	ctx->sessions[0].p = own;
	ctx->sessions[0].users = 1; /* never idle: it is the mount's own */
	s_own_creds(&ctx->sessions[0].creds);
}

static void *s_disconnect(void *arg)
{
	plexus_disconnect(arg);
	return NULL;
}

void mount_sessions_close(mount_ctx *ctx)
{
	/* each tells VFS and etcd it is gone: all at once, not one round trip after another */
	pthread_t threads[MOUNT_SESSIONS];
	bool started[MOUNT_SESSIONS] = {false};
	for (int i = 0; i < MOUNT_SESSIONS; i++)
		started[i] = ctx->sessions[i].p && pthread_create(&threads[i], NULL, s_disconnect,
		                                                  &ctx->sessions[i].p) == 0;
	for (int i = 0; i < MOUNT_SESSIONS; i++) {
		if (started[i])
			pthread_join(threads[i], NULL);
		else
			plexus_disconnect(&ctx->sessions[i].p);
		pthread_mutex_destroy(&ctx->sessions[i].cwd_lock);
	}
	pthread_mutex_destroy(&ctx->lock);
}

/* Under the lock: a hold on s. */
static mount_session *s_hold(mount_ctx *ctx, mount_session *s)
{
	s->users++;
	s->used = ++ctx->clock;
	return s;
}

/* Under the lock: the session of c, or NULL. */
static mount_session *s_find(mount_ctx *ctx, const plexus_creds *c)
{
	for (int i = 0; i < MOUNT_SESSIONS; i++)
		if (ctx->sessions[i].p && s_same(&ctx->sessions[i].creds, c))
			return &ctx->sessions[i];
	return NULL;
}

/* Under the lock: a free slot, else the least recently used idle one, whose client goes to
 * *evicted (closed by the caller after unlocking); NULL when every one is busy. */
static mount_session *s_slot(mount_ctx *ctx, plexus **evicted)
{
	mount_session *lru = NULL;
	for (int i = 1; i < MOUNT_SESSIONS; i++) {
		mount_session *s = &ctx->sessions[i];
		if (!s->p)
			return s;
		if (s->users == 0 && (!lru || s->used < lru->used))
			lru = s;
	}
	if (lru) {
		*evicted = lru->p;
		lru->p = NULL;
	}
	return lru;
}

/* Connects a client registered as c (outside the lock: it takes etcd and VFS round trips). */
static plexus *s_connect(const mount_ctx *ctx, const plexus_creds *c)
{
	plexus_opts o = ctx->opts;
	o.creds = c;
	plexus *p = plexus_connect(&o);
	if (p) {
		plexus_umask(p, 0); /* the kernel applied the caller's umask already */
		return p;
	}
	int err = errno;
	const char *detail = plexus_connect_error();
	fprintf(stderr, "plexus mount: uid %u: cannot reach VFS: %s%s%s\n", (unsigned)c->uid,
	        strerror(err), *detail ? ": " : "", detail);
	errno = err;
	return NULL;
}

/* The session of req's user, held (mount_session_caller without the watch). */
static mount_session *s_caller(mount_ctx *ctx, fuse_req_t req)
{
	plexus_creds want;
	if (!ctx->per_caller) {
		pthread_mutex_lock(&ctx->lock);
		mount_session *s = s_hold(ctx, &ctx->sessions[0]);
		pthread_mutex_unlock(&ctx->lock);
		return s;
	}
	s_caller_creds(req, &want);
	pthread_mutex_lock(&ctx->lock);
	mount_session *s = s_find(ctx, &want);
	if (s)
		s_hold(ctx, s);
	pthread_mutex_unlock(&ctx->lock);
	if (s)
		return s;
	plexus *p = s_connect(ctx, &want), *evicted = NULL;
	if (!p)
		return NULL;
	pthread_mutex_lock(&ctx->lock);
	if ((s = s_find(ctx, &want)) != NULL) /* another call of the same user was quicker */
		evicted = p;
	else if ((s = s_slot(ctx, &evicted)) != NULL)
		s->p = p, s->creds = want, s->users = 0, s->joined = 0;
	else
		evicted = p;
	if (s)
		s_hold(ctx, s);
	pthread_mutex_unlock(&ctx->lock);
	plexus_disconnect(&evicted);
	if (!s)
		errno = ENFILE;
	return s;
}

mount_session *mount_session_caller(mount_ctx *ctx, fuse_req_t req)
{
	mount_session *s = s_caller(ctx, req);
	if (s)
		mount_session_use(ctx, s);
	return s;
}

/* The watch epoch every session this thread's operation used had joined (as
 * mount_session_op_joined says). */
static _Thread_local uint64_t s_op_joined = UINT64_MAX;

void mount_session_op_begin(void)
{
	s_op_joined = UINT64_MAX;
}

uint64_t mount_session_op_joined(void)
{
	return s_op_joined;
}

void mount_session_use(mount_ctx *ctx, mount_session *s)
{
	uint64_t live = __atomic_load_n(&ctx->watch_live, __ATOMIC_ACQUIRE);
	if (live && __atomic_load_n(&s->joined, __ATOMIC_ACQUIRE) != live) {
		pthread_mutex_lock(&ctx->watch_lock);
		uint64_t token = ctx->watch_token;
		live = __atomic_load_n(&ctx->watch_live, __ATOMIC_ACQUIRE);
		pthread_mutex_unlock(&ctx->watch_lock);
		if (token && live && plexus_watch_join(s->p, token) == 0)
			__atomic_store_n(&s->joined, live, __ATOMIC_RELEASE);
	}
	uint64_t joined = __atomic_load_n(&s->joined, __ATOMIC_ACQUIRE);
	s_op_joined = s_op_joined == UINT64_MAX || s_op_joined == joined ? joined : 0;
}

void mount_session_put(mount_ctx *ctx, mount_session *s)
{
	pthread_mutex_lock(&ctx->lock);
	s->users--;
	pthread_mutex_unlock(&ctx->lock);
}
