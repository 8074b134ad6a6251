/*
 * publish.c — RS's state in the registry: one record per service, svc/<label> (JSON, no
 * lease: it outlives RS), written by a thread of its own so the loop never waits for etcd
 * (a write that fails is tried again every 200 ms until a newer record replaces it),
 * and read back by the next leader, which adopts the services it finds running (adopt.c).
 *
 * Entry points: rs_publisher_new, rs_publisher_destroy, rs_publish.
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
			struct timespec ts = plx_deadline_in(CLOCK_REALTIME, 200);
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
