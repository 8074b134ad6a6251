/*
 * events.c — news from outside the message loop: the etcd watches on nodes/ (a node joined,
 * refreshed its record, or its lease expired), ep/ (a service instance published its
 * endpoint: it is ready) and spare/ (a warm spare is ready), and the results of power threads. Each
 * is queued under a lock and the loop is woken with an RS_EVENT notify (source "rs-events");
 * rs_events_drain (react.c) then takes the queue and handles it in the loop's own thread.
 *
 * Entry points: rs_events_new, rs_events_destroy, rs_events_power, rs_events_take,
 * rs_node_record_generation.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rs.h"

struct rs_events {
	plx_ep *ep;
	char nodes_prefix[256];
	char ep_prefix[256];
	char spare_prefix[256];
	plx_watch *nodes, *eps, *spares;
	pthread_mutex_t lock;
	rs_event *queue;
	size_t count, cap;
};

static void s_push(rs_events *self, const rs_event *e)
{
	pthread_mutex_lock(&self->lock);
	if (self->count == self->cap) {
		size_t cap = self->cap ? self->cap * 2 : 64;
		rs_event *q = realloc(self->queue, cap * sizeof *q);
		if (!q) {
			pthread_mutex_unlock(&self->lock);
			return; /* a resync after the next compaction or restart repairs it */
		}
		self->queue = q;
		self->cap = cap;
	}
	self->queue[self->count++] = *e;
	pthread_mutex_unlock(&self->lock);
	plx_name src = {.label = RS_EVENTS_LABEL};
	plx_ep_notify_local(self->ep, &src, PLEXUS__RS_TYPE__RS_EVENT);
}

uint64_t rs_node_record_generation(const plx_kv *kv)
{
	json_t *o = json_loadb((const char *)kv->value, kv->value_size, 0, NULL);
	json_t *g = json_object_get(o, "generation");
	uint64_t gen = json_is_integer(g) ? (uint64_t)json_integer_value(g) : 0;
	json_decref(o);
	return gen;
}

static void s_on_nodes(const plx_watch_event *ev, void *arg)
{
	rs_events *self = arg;
	rs_event e = {0};
	if (ev->kind == PLX_WATCH_COMPACTED) {
		e.kind = RS_EV_RESYNC;
		s_push(self, &e);
		return;
	}
	if (ev->kind != PLX_WATCH_PUT && ev->kind != PLX_WATCH_DELETE)
		return;
	const char *name = ev->kv->key + strlen(self->nodes_prefix);
	if (strlen(name) >= sizeof e.name)
		return;
	strcpy(e.name, name);
	e.kind = ev->kind == PLX_WATCH_PUT ? RS_EV_NODE_PUT : RS_EV_NODE_DEL;
	if (e.kind == RS_EV_NODE_PUT)
		e.generation = rs_node_record_generation(ev->kv);
	s_push(self, &e);
}

/* ep/<label> (ready) or spare/<label> (a warm spare ready) written. */
static void s_on_record(rs_events *self, const plx_watch_event *ev, const char *prefix,
                        rs_event_kind kind)
{
	rs_event e = {0};
	if (ev->kind == PLX_WATCH_COMPACTED) {
		e.kind = RS_EV_RESYNC;
		s_push(self, &e);
		return;
	}
	if (ev->kind != PLX_WATCH_PUT)
		return;
	const char *label = ev->kv->key + strlen(prefix);
	plx_endpoint_rec rec;
	if (strlen(label) >= sizeof e.name ||
	    plx_endpoint_parse((const char *)ev->kv->value, ev->kv->value_size, label, &rec) < 0)
		return;
	strcpy(e.name, label);
	e.kind = kind;
	e.generation = rec.generation;
	if (kind == RS_EV_SPARE_PUT) { /* kept for the activation: no read then */
		if (ev->kv->value_size >= sizeof e.record)
			return;
		memcpy(e.record, ev->kv->value, ev->kv->value_size);
		e.record_size = ev->kv->value_size;
		e.lease = ev->kv->lease;
		e.mod_revision = ev->kv->mod_revision;
	}
	s_push(self, &e);
}

static void s_on_spares(const plx_watch_event *ev, void *arg)
{
	rs_events *self = arg;
	s_on_record(self, ev, self->spare_prefix, RS_EV_SPARE_PUT);
}

static void s_on_eps(const plx_watch_event *ev, void *arg)
{
	rs_events *self = arg;
	s_on_record(self, ev, self->ep_prefix, RS_EV_EP_PUT);
}

rs_events *rs_events_new(plx_etcd *etcd, const char *cluster, plx_ep *ep)
{
	rs_events *self = calloc(1, sizeof *self);
	if (!self)
		return NULL;
	self->ep = ep;
	pthread_mutex_init(&self->lock, NULL);
	snprintf(self->nodes_prefix, sizeof self->nodes_prefix, "/plexus/%s/nodes/", cluster);
	snprintf(self->ep_prefix, sizeof self->ep_prefix, "/plexus/%s/ep/", cluster);
	self->nodes = plx_watch_new(etcd, self->nodes_prefix, 0, s_on_nodes, self);
	snprintf(self->spare_prefix, sizeof self->spare_prefix, "/plexus/%s/spare/", cluster);
	self->eps = self->nodes ? plx_watch_new(etcd, self->ep_prefix, 0, s_on_eps, self) : NULL;
	self->spares =
	    self->eps ? plx_watch_new(etcd, self->spare_prefix, 0, s_on_spares, self) : NULL;
	if (!self->spares) {
		int e = errno;
		rs_events_destroy(&self);
		errno = e;
		return NULL;
	}
	return self;
}

void rs_events_destroy(rs_events **self_p)
{
	if (!self_p || !*self_p)
		return;
	rs_events *self = *self_p;
	plx_watch_destroy(&self->nodes);
	plx_watch_destroy(&self->eps);
	plx_watch_destroy(&self->spares);
	pthread_mutex_destroy(&self->lock);
	free(self->queue);
	free(self);
	*self_p = NULL;
}

void rs_events_power(rs_events *self, const char *node, int rc, const char *msg)
{
	rs_event e = {.kind = RS_EV_POWER, .rc = rc};
	snprintf(e.name, sizeof e.name, "%s", node);
	snprintf(e.msg, sizeof e.msg, "%s", msg ? msg : "");
	s_push(self, &e);
}

size_t rs_events_take(rs_events *self, rs_event **batch)
{
	pthread_mutex_lock(&self->lock);
	size_t n = self->count;
	*batch = n ? malloc(n * sizeof **batch) : NULL;
	if (*batch) {
		memcpy(*batch, self->queue, n * sizeof **batch);
		self->count = 0;
	}
	pthread_mutex_unlock(&self->lock);
	return *batch ? n : 0;
}
