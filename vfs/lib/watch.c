/*
 * watch.c — watches: what a program that caches is told of other processes' changes
 * (VFS_WATCH, docs/using.md "Watches").
 *
 * Entry points: plexus_watch_new, plexus_watch_join, plexus_watch_poll, plexus_changes_free.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

int plexus_watch_new(plexus *self, uint64_t *token)
{
	if (!token)
		return plexus__fail(-EFAULT);
	Plexus__VfsWatch req = PLEXUS__VFS_WATCH__INIT;
	plexus__answer ans;
	int64_t rc = plexus__vfs_watch(self, &req, NULL, 0, self->timeout_ms, &ans);
	if (rc < 0)
		return plexus__fail(rc);
	*token = ans.reply ? ans.reply->watch_token : 0;
	plexus__answer_free(&ans);
	return *token ? 0 : plexus__fail(-EPROTO);
}

int plexus_watch_join(plexus *self, uint64_t token)
{
	Plexus__VfsWatch req = PLEXUS__VFS_WATCH__INIT;
	req.token = token;
	req.join = true;
	int64_t rc = plexus__vfs_watch(self, &req, NULL, 0, self->timeout_ms, NULL);
	return rc < 0 ? plexus__fail(rc) : 0;
}

void plexus_changes_free(plexus_change *changes, size_t n)
{
	for (size_t i = 0; changes && i < n; i++)
		free(changes[i].name);
	free(changes);
}

/* The answer's changes as the program sees them; NULL when out of memory. */
static plexus_change *s_changes(const Plexus__VfsReply *r)
{
	plexus_change *out = calloc(r->n_changes ? r->n_changes : 1, sizeof *out);
	for (size_t i = 0; out && i < r->n_changes; i++) {
		const Plexus__VfsChange *c = r->changes[i];
		out[i].dev = (dev_t)c->dev;
		out[i].ino = (ino_t)c->ino;
		out[i].forget = c->forget;
		if (c->name && *c->name && !(out[i].name = strdup(c->name))) {
			plexus_changes_free(out, i);
			return NULL;
		}
	}
	return out;
}

ssize_t plexus_watch_poll(plexus *self, uint64_t token, int wait_ms, plexus_change **changes,
                          int *lost)
{
	if (!changes || !lost)
		return plexus__fail(-EFAULT);
	*changes = NULL;
	*lost = 0;
	Plexus__VfsWatch req = PLEXUS__VFS_WATCH__INIT;
	req.token = token;
	req.wait_ms = wait_ms < 0 ? 0 : wait_ms;
	plexus__answer ans;
	int64_t rc =
	    plexus__vfs_watch(self, &req, NULL, 0, self->timeout_ms + (int)req.wait_ms, &ans);
	if (rc < 0)
		return plexus__fail(rc);
	if (!ans.reply) {
		plexus__answer_free(&ans);
		return plexus__fail(-EPROTO);
	}
	*lost = ans.reply->changes_lost;
	size_t n = ans.reply->n_changes;
	*changes = s_changes(ans.reply);
	plexus__answer_free(&ans);
	if (!*changes)
		return plexus__fail(-ENOMEM);
	return (ssize_t)n;
}
