/*
 * servers.c — the kernel forgets what a restarted file server may have lost.
 *
 * Entry points: mount_servers_watch, mount_servers_unwatch.
 *
 * The kernel keeps the names the mount answered for the entry timeout, and file data in its
 * page cache. When RS starts a file server again, what that server had not synced is gone
 * (a file created a moment before, its last writes), yet the kernel would answer from its
 * cache: an open of a lost file, O_CREAT included, would get ENOENT from VFS until the entry
 * expired. So a watch on the services' records (ep/) notes each service's generation, and
 * when one that is neither a client (c-*), a node kernel (node.*) nor RS comes back at a new
 * generation, every name the table knows is invalidated in the kernel
 * (fuse_lowlevel_notify_inval_entry) and every node's cached data and attributes
 * (fuse_lowlevel_notify_inval_inode): the next call looks up afresh. The invalidation runs on
 * the watch's thread, never inside a FUSE request, as libfuse requires.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <plexus/endpoint.h>
#include <uthash.h>

#include "mount.h"

typedef struct s_service {
	char label[PLX_LABEL_MAX];
	uint64_t generation;
	UT_hash_handle hh;
} s_service;

struct mount_servers {
	mount_ctx *ctx;
	struct fuse_session *se;
	plx_etcd *etcd;
	plx_watch *watch;
	char prefix[PLX_LABEL_MAX + 64]; /* /plexus/CLUSTER/ep/ */
	s_service *services;             /* the watch thread's alone */
};

/* Services whose restart can lose what the kernel caches: not clients, node kernels or RS. */
static bool s_serves_files(const char *label)
{
	return strncmp(label, "c-", 2) != 0 && strncmp(label, "node.", 5) != 0 &&
	       strcmp(label, "rs") != 0;
}

/* Notes label at generation; true when it was known at another one (it came back). */
static bool s_came_back(struct mount_servers *w, const char *label, uint64_t generation)
{
	s_service *s;
	HASH_FIND_STR(w->services, label, s);
	if (!s) {
		if (!(s = calloc(1, sizeof *s)))
			return false;
		snprintf(s->label, sizeof s->label, "%s", label);
		HASH_ADD_STR(w->services, label, s);
		s->generation = generation;
		return false;
	}
	bool back = s->generation != generation;
	s->generation = generation;
	return back;
}

static void s_on_event(const plx_watch_event *event, void *arg)
{
	struct mount_servers *w = arg;
	plx_endpoint_rec rec;
	if (event->kind != PLX_WATCH_PUT || !event->kv)
		return;
	const char *label = event->kv->key + strlen(w->prefix);
	if (plx_endpoint_parse((const char *)event->kv->value, event->kv->value_size, label,
	                       &rec) == 0 &&
	    s_serves_files(label) && s_came_back(w, label, rec.generation)) {
		mount_watch_lost(
		    w->ctx); /* VFS's watch may be gone with it, or have missed changes */
		mount_invalidate_all(w->ctx, w->se);
	}
}

/* The generations running now, so that the first record of a restart is seen as one. */
static void s_known_generations(struct mount_servers *w, const char *cluster)
{
	plx_endpoint_rec *recs = NULL;
	int n = plx_endpoint_list(w->etcd, cluster, &recs, NULL);
	for (int i = 0; i < n; i++)
		if (s_serves_files(recs[i].label))
			s_came_back(w, recs[i].label, recs[i].generation);
	free(recs);
}

static void s_free(struct mount_servers *w)
{
	s_service *s, *tmp;
	HASH_ITER(hh, w->services, s, tmp)
	{
		HASH_DEL(w->services, s);
		free(s);
	}
	plx_etcd_destroy(&w->etcd);
	free(w);
}

int mount_servers_watch(mount_ctx *ctx, struct fuse_session *se)
{
	const char *cluster = ctx->opts.cluster ? ctx->opts.cluster : getenv("PLEXUS_CLUSTER");
	const char *etcd = ctx->opts.etcd ? ctx->opts.etcd : getenv("PLEXUS_ETCD");
	struct mount_servers *w = calloc(1, sizeof *w);
	if (!w)
		return -ENOMEM;
	cluster = cluster && *cluster ? cluster : "default";
	*w = (struct mount_servers){.ctx = ctx, .se = se};
	snprintf(w->prefix, sizeof w->prefix, "/plexus/%s/ep/", cluster);
	w->etcd = plx_etcd_new(&(plx_etcd_opts){.endpoints = etcd && *etcd ? etcd : NULL});
	if (w->etcd)
		s_known_generations(w, cluster);
	if (!w->etcd || !(w->watch = plx_watch_new(w->etcd, w->prefix, 0, s_on_event, w))) {
		int e = errno ? errno : EIO;
		s_free(w);
		return -e;
	}
	ctx->servers = w;
	return 0;
}

void mount_servers_unwatch(mount_ctx *ctx)
{
	struct mount_servers *w = ctx->servers;
	if (!w)
		return;
	plx_watch_destroy(&w->watch);
	s_free(w);
	ctx->servers = NULL;
}
