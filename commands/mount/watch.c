/*
 * watch.c — the kernel keeps attributes and names while VFS says they did not change.
 *
 * Entry points: mount_watch_start, mount_watch_stop, mount_watch_lost, mount_invalidate_all,
 * mount_watch_begin, mount_watch_timeout.
 *
 * Without it every stat through the mount is a round trip to VFS and the file server: the
 * kernel may not keep what another client of VFS could change. With it, a thread of the mount
 * holds a VFS watch (VFS_WATCH, docs/vfs.md "Watches") on a client of its own, and every
 * session joins it, so VFS tells the watch about changes other clients make to what the
 * sessions looked up or asked the attributes of. The thread hands each change to the kernel
 * (fuse_lowlevel_notify_inval_inode, _entry); the kernel then keeps attributes and names for
 * --cache-timeout seconds. The kernel's own changes are not reported: it knows them.
 *
 * A reply may be cached only when the watch was live, with the session joined to it, from
 * before the call to VFS until the reply: a call that began under one watch and ended under
 * none (VFS restarted, its watch gone) answers with the old timeouts. mount_watch_begin notes
 * the watch at the start of an operation (in a thread-local: one FUSE request runs on one
 * thread), the sessions it uses join that watch and say so (sessions.c, mount_session_use),
 * and mount_watch_timeout checks both still hold. A change that comes while the reply is on its way
 * is not lost: the kernel drops attributes older than an invalidation (its attr_version), and an
 * entry waits for the lookup that makes it (the directory's lock).
 *
 * When the watch is lost (the poll fails: VFS restarted; the queue overflowed; a server came
 * back), every name and attribute the kernel holds is invalidated and a new watch is made.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uthash.h>

#include "mount.h"

#define S_POLL_MS       250  /* each poll's wait: also how long stopping may take */
#define S_DIRS_MAX      64   /* directories the mount's own calls changed, waiting for the thread */
#define S_RETRY_MS      1000 /* between attempts to make a watch */
#define S_NEGATIVES_MAX 8192 /* failed lookups the kernel keeps at once */

/* A failed lookup the kernel keeps until `until` (CLOCK_MONOTONIC seconds): the kernel has
 * no call that forgets them all, so the mount knows them (mount_invalidate_all). */
struct mount_negative {
	char *key; /* the parent's id (8 bytes), then the name and a NUL (not hashed) */
	size_t len;
	double until;
	UT_hash_handle hh;
};

/* The token and the live epoch are in the mount_ctx (watch_token, watch_live, under
 * watch_lock), where the sessions join (sessions.c). */
struct mount_watch {
	mount_ctx *ctx;
	struct fuse_session *se;
	plexus *p;                   /* the watch's own client: its polls hold no session */
	uint64_t epochs;             /* the thread's: epochs given out */
	bool stop;                   /* atomic */
	fuse_ino_t dirs[S_DIRS_MAX]; /* mount_watch_dir_changed's, under ctx->watch_lock */
	size_t ndirs;
	bool dirs_lost; /* more than dirs holds: forget everything */
	pthread_t thread;
};

/* The epoch the operation on this thread began under (0: not cacheable). */
static _Thread_local uint64_t s_begun;

static void s_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

uint64_t mount_watch_begin(mount_ctx *ctx)
{
	mount_session_op_begin();
	s_begun = __atomic_load_n(&ctx->watch_live, __ATOMIC_ACQUIRE);
	return s_begun;
}

double mount_watch_timeout(mount_ctx *ctx)
{
	if (!s_begun || mount_session_op_joined() != s_begun ||
	    __atomic_load_n(&ctx->watch_live, __ATOMIC_ACQUIRE) != s_begun)
		return 0;
	return ctx->cache_timeout;
}

double mount_watch_entry_timeout(mount_ctx *ctx, fuse_ino_t parent)
{
	double t = mount_watch_timeout(ctx);
	if (t <= 0)
		return ctx->entry_timeout;
	mode_t mode = ctx->per_caller ? mount_node_mode(ctx, parent) : S_IFDIR | S_IXOTH;
	return S_ISDIR(mode) && (mode & S_IXOTH) ? t : 0;
}

/* The kernel forgets the names it keeps in directory node id. */
static void s_forget_names(mount_ctx *ctx, struct fuse_session *se, fuse_ino_t id)
{
	mount_known *known = NULL;
	long n = mount_node_children(ctx, id, &known);
	for (long i = 0; i < n; i++)
		fuse_lowlevel_notify_inval_entry(se, id, known[i].name, strlen(known[i].name));
	mount_known_free(known, n);
}

void mount_watch_dir_changed(mount_ctx *ctx, fuse_ino_t id)
{
	struct mount_watch *w = ctx->watch;
	if (!w || !ctx->per_caller)
		return;
	pthread_mutex_lock(&ctx->watch_lock);
	if (w->ndirs < S_DIRS_MAX)
		w->dirs[w->ndirs++] = id;
	else
		w->dirs_lost = true;
	pthread_mutex_unlock(&ctx->watch_lock);
}

/* The directories the mount's own calls changed: their names forgotten (the watch thread). */
static void s_dirs_changed(struct mount_watch *w)
{
	fuse_ino_t dirs[S_DIRS_MAX];
	pthread_mutex_lock(&w->ctx->watch_lock);
	size_t n = w->ndirs;
	bool lost = w->dirs_lost;
	memcpy(dirs, w->dirs, n * sizeof *dirs);
	w->ndirs = 0;
	w->dirs_lost = false;
	pthread_mutex_unlock(&w->ctx->watch_lock);
	if (lost)
		mount_invalidate_all(w->ctx, w->se);
	for (size_t i = 0; !lost && i < n; i++)
		s_forget_names(w->ctx, w->se, dirs[i]);
}

static double s_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void s_negative_free(mount_ctx *ctx, struct mount_negative *neg)
{
	HASH_DEL(ctx->negatives, neg);
	ctx->nnegatives--;
	free(neg->key);
	free(neg);
}

/* Forgets the noted failed lookups the kernel no longer keeps (ctx->watch_lock held). */
static void s_negatives_expire(mount_ctx *ctx, double now)
{
	struct mount_negative *neg, *tmp;
	HASH_ITER(hh, ctx->negatives, neg, tmp)
	{
		if (neg->until < now)
			s_negative_free(ctx, neg);
	}
}

bool mount_watch_negative(mount_ctx *ctx, fuse_ino_t parent, const char *name, double timeout)
{
	size_t nlen = strlen(name), len = sizeof parent + nlen;
	struct mount_negative *neg = calloc(1, sizeof *neg), *old = NULL;
	char *key = malloc(len + 1); /* NUL-terminated: the kernel is sent the name with it */
	bool room = false;
	if (neg && key) {
		memcpy(key, &parent, sizeof parent);
		memcpy(key + sizeof parent, name, nlen + 1);
		double now = s_now();
		pthread_mutex_lock(&ctx->watch_lock);
		HASH_FIND(hh, ctx->negatives, key, len, old);
		if (old)
			s_negative_free(ctx, old);
		if (ctx->nnegatives >= S_NEGATIVES_MAX)
			s_negatives_expire(ctx, now);
		if ((room = ctx->nnegatives < S_NEGATIVES_MAX)) {
			*neg =
			    (struct mount_negative){.key = key, .len = len, .until = now + timeout};
			HASH_ADD_KEYPTR(hh, ctx->negatives, neg->key, len, neg);
			ctx->nnegatives++;
		}
		pthread_mutex_unlock(&ctx->watch_lock);
	}
	if (!room) {
		free(neg);
		free(key);
	}
	return room;
}

/* The kernel forgets every failed lookup it keeps. */
static void s_forget_negatives(mount_ctx *ctx, struct fuse_session *se)
{
	pthread_mutex_lock(&ctx->watch_lock);
	struct mount_negative *all = ctx->negatives, *neg, *tmp;
	ctx->negatives = NULL;
	ctx->nnegatives = 0;
	pthread_mutex_unlock(&ctx->watch_lock);
	HASH_ITER(hh, all, neg, tmp)
	{
		fuse_ino_t parent;
		memcpy(&parent, neg->key, sizeof parent);
		fuse_lowlevel_notify_inval_entry(se, parent, neg->key + sizeof parent,
		                                 neg->len - sizeof parent);
		HASH_DEL(all, neg);
		free(neg->key);
		free(neg);
	}
}

void mount_invalidate_all(mount_ctx *ctx, struct fuse_session *se)
{
	s_forget_negatives(ctx, se);
	mount_known *known = NULL;
	long n = mount_nodes_known(ctx, &known);
	for (long i = 0; i < n; i++)
		fuse_lowlevel_notify_inval_entry(se, known[i].parent, known[i].name,
		                                 strlen(known[i].name));
	for (long i = 0; i < n; i++)
		fuse_lowlevel_notify_inval_inode(se, known[i].node, 0, 0);
	fuse_lowlevel_notify_inval_inode(se, FUSE_ROOT_ID, 0, 0);
	mount_known_free(known, n);
}

void mount_watch_lost(mount_ctx *ctx)
{
	pthread_mutex_lock(&ctx->watch_lock);
	__atomic_store_n(&ctx->watch_live, 0, __ATOMIC_RELEASE);
	ctx->watch_token = 0;
	pthread_mutex_unlock(&ctx->watch_lock);
}

/* The kernel forgets what change c says changed. */
static void s_apply(struct mount_watch *w, const plexus_change *c)
{
	fuse_ino_t id = mount_node_of(w->ctx, (uint64_t)c->dev, (uint64_t)c->ino);
	if (!id)
		return; /* the kernel has no node of it */
	if (c->forget || (!c->name && w->ctx->per_caller && S_ISDIR(mount_node_mode(w->ctx, id)))) {
		/* forgotten, or a directory's attributes changed (its mode may now keep someone
		 * out of names the kernel keeps for everyone) */
		s_forget_names(w->ctx, w->se, id);
	} else if (c->name) {
		mount_node_unlearn(w->ctx, id, c->name); /* calls go by the node's other names */
		fuse_lowlevel_notify_inval_entry(w->se, id, c->name, strlen(c->name));
	}
	fuse_lowlevel_notify_inval_inode(w->se, id, 0, 0); /* attributes and cached data */
}

/* Makes the watch; true when it is live. */
static bool s_make(struct mount_watch *w)
{
	uint64_t token = 0;
	if (plexus_watch_new(w->p, &token) < 0)
		return false;
	pthread_mutex_lock(&w->ctx->watch_lock);
	w->ctx->watch_token = token;
	__atomic_store_n(&w->ctx->watch_live, ++w->epochs, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&w->ctx->watch_lock);
	return true;
}

/* One poll and what it brings. */
static void s_poll(struct mount_watch *w)
{
	pthread_mutex_lock(&w->ctx->watch_lock);
	uint64_t token = w->ctx->watch_token;
	pthread_mutex_unlock(&w->ctx->watch_lock);
	if (!token)
		return; /* lost meanwhile: made again first */
	plexus_change *changes = NULL;
	int lost = 0;
	ssize_t n = plexus_watch_poll(w->p, token, S_POLL_MS, &changes, &lost);
	if (n < 0) { /* the watch is gone (VFS restarted) or VFS does not answer */
		mount_watch_lost(w->ctx);
		mount_invalidate_all(w->ctx, w->se);
		return;
	}
	if (lost)
		mount_invalidate_all(w->ctx, w->se);
	for (ssize_t i = 0; !lost && i < n; i++)
		s_apply(w, &changes[i]);
	plexus_changes_free(changes, (size_t)n);
}

static void *s_run(void *arg)
{
	struct mount_watch *w = arg;
	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		pthread_mutex_lock(&w->ctx->watch_lock);
		bool have = w->ctx->watch_token != 0;
		pthread_mutex_unlock(&w->ctx->watch_lock);
		s_dirs_changed(w);
		if (!have && !s_make(w))
			s_sleep_ms(S_RETRY_MS);
		else
			s_poll(w);
	}
	return NULL;
}

int mount_watch_start(mount_ctx *ctx, struct fuse_session *se)
{
	if (ctx->cache_timeout <= 0)
		return 0; /* asked for no cache */
	struct mount_watch *w = calloc(1, sizeof *w);
	if (!w)
		return -ENOMEM;
	*w = (struct mount_watch){.ctx = ctx, .se = se};
	plexus_opts po = ctx->opts;
	po.name = "plexus-mount-watch";
	if (!(w->p = plexus_connect(&po))) {
		int e = errno ? errno : EIO;
		free(w);
		return -e;
	}
	ctx->watch = w;
	int rc = pthread_create(&w->thread, NULL, s_run, w);
	if (rc != 0) {
		ctx->watch = NULL;
		plexus_disconnect(&w->p);
		free(w);
		return -rc;
	}
	return 0;
}

void mount_watch_stop(mount_ctx *ctx)
{
	struct mount_watch *w = ctx->watch;
	if (!w)
		return;
	__atomic_store_n(&w->stop, true, __ATOMIC_RELEASE);
	pthread_join(w->thread, NULL);
	mount_watch_lost(ctx); /* nothing is cached from now on */
	pthread_mutex_lock(&ctx->watch_lock);
	s_negatives_expire(ctx, 1e300); /* every record: the kernel is done with them */
	pthread_mutex_unlock(&ctx->watch_lock);
	ctx->watch = NULL;
	plexus_disconnect(&w->p);
	free(w);
}
