/*
 * ds_subscribe.c — DS subscriptions: an etcd watch on the ds/ prefix, filtered by the
 * subscriber's pattern, queued per key and signalled through an eventfd.
 *
 * Entry points: plx_ds_subscribe, plx_ds_fd, plx_ds_notify_to, plx_ds_check, ds_sub_stop.
 *
 * The watch thread only filters and queues; the subscriber's own loop polls the eventfd and
 * takes changes with plx_ds_check. The eventfd counts 1 while the queue is not empty and is
 * drained when check empties it. When etcd compacted history the watch needed, every current
 * match is queued again (the subscriber re-reads them), since the individual changes are gone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ds_internal.h"
#include "plexus/proto/ds.pb-c.h"

/* Tells the subscriber's message loop that changes wait. Called with self->lock. */
static void s_notify_ep(plx_ds *self)
{
	static const plx_name ds = {.label = "ds", .generation = 0};
	if (self->notify_ep)
		plx_ep_notify_local(self->notify_ep, &ds, PLEXUS__DS_TYPE__DS_NOTIFY);
}

/* Queues change (or refreshes the queued one of the same key). Called with self->lock. */
static void s_enqueue(plx_ds *self, const plx_ds_change *change)
{
	for (size_t i = 0; i < self->nqueue; i++) {
		if (strcmp(self->queue[i].key, change->key) == 0) {
			self->queue[i] = *change;
			return;
		}
	}
	if (self->nqueue == self->cap) {
		size_t cap = self->cap ? self->cap * 2 : 16;
		plx_ds_change *grown = realloc(self->queue, cap * sizeof *grown);
		if (!grown)
			return; /* out of memory: the change is dropped, as DS drops on ENOMEM */
		self->queue = grown;
		self->cap = cap;
	}
	self->queue[self->nqueue++] = *change;
	if (self->nqueue == 1) {
		uint64_t one = 1;
		ssize_t n = write(self->efd, &one, sizeof one);
		(void)n; /* cannot fail short of a counter overflow */
		s_notify_ep(self);
	}
}

/* True when the subscription wants entry. Called with self->lock. */
static bool s_matches(const plx_ds *self, const plx_ds_entry *entry)
{
	return self->subscribed && (entry->type & self->sub_types) &&
	       ds_may_see(self, entry->owner, entry->flags, PLX_DSF_PRIV_SUBSCRIBE) &&
	       regexec(&self->regex, entry->key, 0, NULL, 0) == 0;
}

/* Queues kv (a record, or the last value of a deleted one) if it matches. */
static void s_offer(plx_ds *self, const plx_kv *kv, const char *path, bool deleted)
{
	plx_ds_entry entry = {0};
	if (kv)
		ds_entry_parse(self, kv, &entry);
	if (!entry.key[0] && ds_split(self, path, entry.owner, entry.key) < 0)
		return; /* not a DS path */
	if (!entry.type) {
		/* No readable value (malformed, or a delete without history): any type. */
		entry.type = PLX_DSF_MASK_TYPE;
		entry.flags = 0;
	}
	plx_ds_change change = {.deleted = deleted, .type = entry.type & PLX_DSF_MASK_TYPE};
	snprintf(change.key, sizeof change.key, "%s", entry.key);
	snprintf(change.owner, sizeof change.owner, "%s", entry.owner);
	if (change.type == PLX_DSF_MASK_TYPE)
		change.type = 0;
	pthread_mutex_lock(&self->lock);
	if (s_matches(self, &entry))
		s_enqueue(self, &change);
	pthread_mutex_unlock(&self->lock);
	ds_entry_clear(&entry);
}

/* Queues every current record that matches. Returns 0 or an etcd error. */
static int s_offer_all(plx_ds *self)
{
	plx_kvs *kvs = NULL;
	int rc = plx_etcd_range(self->etcd, self->ds_prefix, &kvs);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < kvs->count; i++)
		s_offer(self, &kvs->kvs[i], kvs->kvs[i].key, false);
	plx_kvs_free(&kvs);
	return 0;
}

static void s_on_event(const plx_watch_event *event, void *arg)
{
	plx_ds *self = arg;
	switch (event->kind) {
	case PLX_WATCH_PUT:
		s_offer(self, event->kv, event->kv->key, false);
		break;
	case PLX_WATCH_DELETE:
		s_offer(self, event->prev, event->kv->key, true);
		break;
	case PLX_WATCH_COMPACTED:
		s_offer_all(self); /* on failure the watch reconnects; nothing better to do */
		break;
	default:
		break;
	}
}

/* Starts the watch if none runs. Returns 0 or an etcd error. */
static int s_watch(plx_ds *self)
{
	pthread_mutex_lock(&self->lock);
	bool running = self->watch != NULL;
	pthread_mutex_unlock(&self->lock);
	if (running)
		return 0;
	plx_watch *watch = plx_watch_new(self->etcd, self->ds_prefix, 0, s_on_event, self);
	if (!watch)
		return -errno;
	pthread_mutex_lock(&self->lock);
	if (!self->watch) {
		self->watch = watch;
		watch = NULL;
	}
	pthread_mutex_unlock(&self->lock);
	plx_watch_destroy(&watch); /* another thread won the race */
	return 0;
}

/* Empties the queue and resets the eventfd. Called with self->lock. */
static void s_clear_queue(plx_ds *self)
{
	uint64_t count;
	self->nqueue = 0;
	ssize_t n = read(self->efd, &count, sizeof count);
	(void)n; /* EAGAIN when it was already zero */
}

int plx_ds_subscribe(plx_ds *self, const char *pattern, int flags)
{
	if (!pattern || strlen(pattern) + 3 > PLX_DS_KEY_MAX ||
	    (flags & ~(PLX_DSF_MASK_TYPE | PLX_DSF_INITIAL | PLX_DSF_OVERWRITE)))
		return -EINVAL;
	char anchored[PLX_DS_KEY_MAX + 8];
	regex_t regex;
	snprintf(anchored, sizeof anchored, "^%s$", pattern);
	if (regcomp(&regex, anchored, REG_EXTENDED | REG_NOSUB) != 0)
		return -EINVAL;
	int rc = s_watch(self);
	pthread_mutex_lock(&self->lock);
	if (rc == 0 && self->subscribed && !(flags & PLX_DSF_OVERWRITE))
		rc = -EEXIST;
	if (rc == 0) {
		if (self->subscribed)
			regfree(&self->regex);
		self->regex = regex;
		self->subscribed = true;
		self->sub_types =
		    flags & PLX_DSF_MASK_TYPE ? flags & PLX_DSF_MASK_TYPE : PLX_DSF_MASK_TYPE;
		s_clear_queue(self);
	} else {
		regfree(&regex);
	}
	pthread_mutex_unlock(&self->lock);
	if (rc == 0 && (flags & PLX_DSF_INITIAL))
		rc = s_offer_all(self);
	return rc;
}

int plx_ds_notify_to(plx_ds *self, plx_ep *ep)
{
	pthread_mutex_lock(&self->lock);
	self->notify_ep = ep;
	if (self->nqueue > 0)
		s_notify_ep(self);
	pthread_mutex_unlock(&self->lock);
	return 0;
}

int plx_ds_fd(plx_ds *self)
{
	return self->efd;
}

int plx_ds_check(plx_ds *self, plx_ds_change *change)
{
	if (!change)
		return -EINVAL;
	pthread_mutex_lock(&self->lock);
	int rc = !self->subscribed ? -ESRCH : self->nqueue == 0 ? -ENOENT : 0;
	if (rc == 0) {
		*change = self->queue[0];
		memmove(self->queue, self->queue + 1, (self->nqueue - 1) * sizeof *self->queue);
		if (--self->nqueue == 0)
			s_clear_queue(self);
	}
	pthread_mutex_unlock(&self->lock);
	return rc;
}

void ds_sub_stop(plx_ds *self)
{
	plx_watch_destroy(&self->watch); /* no callback runs after this */
	if (self->subscribed)
		regfree(&self->regex);
	self->subscribed = false;
}
