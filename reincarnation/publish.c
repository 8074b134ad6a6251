/*
 * publish.c — RS's state in the registry: one record per service, svc/<label> (JSON, no
 * lease: it outlives RS), written by a thread of its own so the loop never waits for etcd
 * (a write that fails is tried again every 200 ms until a newer record replaces it),
 * and read back by the next leader, which adopts the services it finds running.
 *
 * Entry points: rs_publisher_new, rs_publisher_destroy, rs_publish, rs_svc_json, rs_adopt.
 *
 * Record: {"label", "node", "generation", "state", "restarts", "streak", "last_exit", "since",
 * "pid", "policy", "next", "rs"}; since and next in Unix ms (0: none). `plexus service list`
 * reads these records.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include <plexus/log.h>

#include "rs.h"

typedef struct s_item {
	char *label;
	char *json;
} s_item;

struct rs_publisher {
	plx_etcd *etcd;
	char prefix[256];
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	s_item *queue;
	size_t count, cap;
	bool stop;
	bool failing;
};

static int s_write(rs_publisher *self, s_item *it)
{
	char key[512];
	snprintf(key, sizeof key, "%s%s", self->prefix, it->label);
	int rc = plx_etcd_put(self->etcd, key, it->json, strlen(it->json), 0, NULL);
	if ((rc < 0) != self->failing)
		plx_log(PLX_LOG_WARN, "svc records: %s%s%s",
		        rc < 0 ? plx_strerror(rc) : "written again", rc < 0 ? " " : "",
		        rc < 0 ? plx_etcd_errmsg() : "");
	self->failing = rc < 0;
	return rc;
}

/* Puts a record whose write failed back at the head of the queue, unless a newer one for the
 * same label waits. Called with the lock held. Takes it over or frees it. */
static void s_requeue(rs_publisher *self, s_item it)
{
	for (size_t i = 0; i < self->count; i++)
		if (strcmp(self->queue[i].label, it.label) == 0) {
			free(it.label);
			free(it.json);
			return;
		}
	if (self->count == self->cap) {
		size_t cap = self->cap ? self->cap * 2 : 32;
		s_item *q = realloc(self->queue, cap * sizeof *q);
		if (!q) {
			free(it.label);
			free(it.json);
			return;
		}
		self->queue = q;
		self->cap = cap;
	}
	memmove(self->queue + 1, self->queue, self->count * sizeof *self->queue);
	self->queue[0] = it;
	self->count++;
}

static void *s_thread(void *arg)
{
	rs_publisher *self = arg;
	pthread_mutex_lock(&self->lock);
	for (;;) {
		while (!self->count && !self->stop)
			pthread_cond_wait(&self->cond, &self->lock);
		if (!self->count && self->stop)
			break;
		s_item it = self->queue[0];
		memmove(self->queue, self->queue + 1, (self->count - 1) * sizeof *self->queue);
		self->count--;
		pthread_mutex_unlock(&self->lock);
		int rc = s_write(self, &it);
		pthread_mutex_lock(&self->lock);
		if (rc < 0 && !self->stop) {
			/* etcd unreachable: keep the record and try again shortly */
			s_requeue(self, it);
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 200 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&self->cond, &self->lock, &ts);
		} else {
			free(it.label);
			free(it.json);
		}
	}
	pthread_mutex_unlock(&self->lock);
	return NULL;
}

rs_publisher *rs_publisher_new(plx_etcd *etcd, const char *cluster)
{
	rs_publisher *self = calloc(1, sizeof *self);
	if (!self)
		return NULL;
	self->etcd = etcd;
	snprintf(self->prefix, sizeof self->prefix, "/plexus/%s/svc/", cluster);
	pthread_mutex_init(&self->lock, NULL);
	pthread_cond_init(&self->cond, NULL);
	if (pthread_create(&self->thread, NULL, s_thread, self) != 0) {
		pthread_mutex_destroy(&self->lock);
		pthread_cond_destroy(&self->cond);
		free(self);
		errno = EAGAIN;
		return NULL;
	}
	return self;
}

void rs_publisher_destroy(rs_publisher **self_p)
{
	if (!self_p || !*self_p)
		return;
	rs_publisher *self = *self_p;
	pthread_mutex_lock(&self->lock);
	self->stop = true;
	pthread_cond_signal(&self->cond);
	pthread_mutex_unlock(&self->lock);
	pthread_join(self->thread, NULL);
	pthread_mutex_destroy(&self->lock);
	pthread_cond_destroy(&self->cond);
	free(self->queue);
	free(self);
	*self_p = NULL;
}

void rs_publish(rs_publisher *self, const char *label, const char *json)
{
	char *l = strdup(label), *j = strdup(json);
	if (!l || !j) {
		free(l);
		free(j);
		return;
	}
	pthread_mutex_lock(&self->lock);
	for (size_t i = 0; i < self->count; i++)
		if (strcmp(self->queue[i].label, label) == 0) {
			free(self->queue[i].json);
			self->queue[i].json = j;
			free(l);
			pthread_mutex_unlock(&self->lock);
			return;
		}
	if (self->count == self->cap) {
		size_t cap = self->cap ? self->cap * 2 : 32;
		s_item *q = realloc(self->queue, cap * sizeof *q);
		if (!q) {
			pthread_mutex_unlock(&self->lock);
			free(l);
			free(j);
			return;
		}
		self->queue = q;
		self->cap = cap;
	}
	self->queue[self->count++] = (s_item){l, j};
	pthread_cond_signal(&self->cond);
	pthread_mutex_unlock(&self->lock);
}

char *rs_svc_json(rs *self, rs_svc *svc)
{
	Plexus__RsService d = PLEXUS__RS_SERVICE__INIT;
	rs_svc_describe(svc, &d);
	json_t *o = json_pack(
	    "{s:s, s:s, s:I, s:s, s:I, s:I, s:s, s:I, s:I, s:s, s:I, s:s}", "label", d.label,
	    "node", d.node, "generation", (json_int_t)d.generation, "state", d.state, "restarts",
	    (json_int_t)d.restarts, "streak", (json_int_t)svc->streak, "last_exit", d.last_exit,
	    "since", (json_int_t)d.since_ms, "pid", (json_int_t)d.pid, "policy", d.policy, "next",
	    (json_int_t)d.next_ms, "rs", self->cfg->name);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return text;
}

/* Takes one record over. */
static void s_adopt_one(rs *self, rs_svc *svc, json_t *o)
{
	const char *state_name = json_string_value(json_object_get(o, "state"));
	const char *node = json_string_value(json_object_get(o, "node"));
	rs_state state;
	if (!node || rs_state_parse(state_name, &state) < 0 || !rs_node_find(self, node))
		return;
	snprintf(svc->node, sizeof svc->node, "%s", node);
	svc->generation = (uint64_t)json_integer_value(json_object_get(o, "generation"));
	svc->restarts = (uint32_t)json_integer_value(json_object_get(o, "restarts"));
	svc->streak = (uint32_t)json_integer_value(json_object_get(o, "streak"));
	svc->pid = json_integer_value(json_object_get(o, "pid"));
	svc->since_ms = json_integer_value(json_object_get(o, "since"));
	const char *last = json_string_value(json_object_get(o, "last_exit"));
	snprintf(svc->last_exit, sizeof svc->last_exit, "%s", last ? last : "");
	int64_t now = rs_mono_ms();
	switch (state) {
	case RS_UP:
	case RS_STARTING:
	case RS_STOPPING: {
		/* Running when the last leader wrote: up if its endpoint still holds its
		 * generation; a death meanwhile arrives as the node's queued exit report, or as the
		 * node's death.
		 */
		plx_endpoint_rec rec;
		bool published = plx_endpoint_lookup(self->etcd, self->cluster_name,
		                                     svc->desc->label, &rec) == 0 &&
		                 rec.generation == svc->generation;
		svc->state = published || state == RS_UP ? RS_UP : RS_STARTING;
		svc->ready = svc->state == RS_UP;
		svc->start_mono = now;
		svc->ready_mono = now - (svc->since_ms ? rs_now_ms() - svc->since_ms : 0);
		svc->alive_mono = svc->ping_mono = now;
		break;
	}
	case RS_BACKOFF:
		svc->state = RS_BACKOFF;
		svc->due_mono = now;
		break;
	default:
		svc->state = state;
		break;
	}
	plx_log(PLX_LOG_INFO, "%s: adopted as %s, generation %" PRIu64 " on %s", svc->desc->label,
	        rs_state_name(svc->state), svc->generation, svc->node);
}

int rs_adopt(rs *self)
{
	char prefix[256];
	snprintf(prefix, sizeof prefix, "/plexus/%s/svc/", self->cluster_name);
	plx_kvs *kvs = NULL;
	int n = plx_etcd_range(self->etcd, prefix, &kvs);
	if (n < 0)
		return n;
	int adopted = 0;
	for (size_t i = 0; i < kvs->count; i++) {
		rs_svc *svc = rs_find(self, kvs->kvs[i].key + strlen(prefix));
		json_t *o =
		    json_loadb((const char *)kvs->kvs[i].value, kvs->kvs[i].value_size, 0, NULL);
		if (svc && json_is_object(o)) {
			s_adopt_one(self, svc, o);
			adopted++;
		}
		json_decref(o);
	}
	plx_kvs_free(&kvs);
	/* Services on nodes that are gone go through node recovery now. */
	for (size_t i = 0; i < self->nsvcs; i++) {
		rs_svc *svc = &self->svcs[i];
		rs_node *node = rs_node_find(self, svc->node);
		bool running =
		    svc->state == RS_UP || svc->state == RS_STARTING || svc->state == RS_STOPPING;
		if (running && node && !node->alive)
			rs_svc_exited(self, svc, "its node is gone", true, true);
		else if (svc->state == RS_WAITING && node && node->alive)
			rs_svc_relocate(self, svc);
		else
			rs_svc_publish(self, svc);
	}
	return adopted;
}
