/*
 * worker.c — the worker threads that run VFS calls (MINIX VFS's worker threads).
 *
 * Entry points: vfs_workers_new, vfs_workers_destroy, vfs_workers_submit, vfs_workers_defer,
 * vfs_workers_health, vfs_req_reply, vfs_req_free_text.
 *
 * The main loop thread only queues: the server library hands every call table.c flags
 * PLX_ON_WORKER (every VFS_* call) to vfs_submit, which puts it with its do_<call> on one FIFO
 * queue here (vfs_workers_submit). A free worker takes it (when none is free, another thread
 * starts, up to the maximum, so calls stuck on a slow file server do not starve the others; a
 * thread beyond the initial number that stays idle VFS_WORKER_IDLE_MS ends, its connections
 * closed, so a burst leaves nothing behind) and runs it with the pool's run function
 * (table.c's vfs_run: the caller's process, the handler, the answer).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vfs.h"

typedef struct s_job {
	plx_call *call; /* NULL: a deferred job */
	vfs_handler_fn *fn;
	void (*defer)(vfs *v, void *arg);
	void *arg;
	struct timespec queued_at; /* CLOCK_MONOTONIC */
	struct s_job *next;
} s_job;

struct vfs_workers {
	vfs *vfs;
	vfs_run_fn *run; /* runs one call (table.c's vfs_run) */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_cond_t left; /* a thread leaving (idle) has taken itself out of threads */
	s_job *head, *tail;
	bool stopping;
	int n;       /* threads running (in threads[0..n)) */
	int min;     /* kept however idle */
	int max;     /* most threads */
	int idle;    /* threads waiting for work */
	int queued;  /* jobs waiting for a thread */
	int leaving; /* threads past their idle time, closing their connections */
	int idle_ms; /* a thread beyond min idle this long ends */
	pthread_t *threads;
};

int vfs_req_reply(plx_call *call, int32_t status, const Plexus__VfsReply *reply, const void *data,
                  size_t size)
{
	return plx_call_reply(call, status, reply ? &reply->base : NULL, data, size);
}

void vfs_req_free_text(vfs_req *req)
{
	free(req->reply.text);
	req->reply.text = NULL;
}

/* Under the lock: waits for work; false when this thread should end (stopping, or, for a
 * thread started beyond the initial ones, idle past idle_ms while more than min run). The
 * initial (core) threads stay, and so do their connections. */
static bool s_wait_work(vfs_workers *self, bool core)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += self->idle_ms / 1000;
	until.tv_nsec += (long)(self->idle_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	self->idle++;
	int rc = 0;
	while (!self->head && !self->stopping && rc != ETIMEDOUT)
		rc = !core && self->n - self->leaving > self->min
		         ? pthread_cond_timedwait(&self->cond, &self->lock, &until)
		         : pthread_cond_wait(&self->cond, &self->lock);
	self->idle--;
	if (self->head)
		return true;
	if (self->stopping)
		return false;
	return core || self->n - self->leaving <= self->min; /* others left first: it stays */
}

/* An idle thread beyond min ends: its connections closed (they would stay open with the
 * endpoint otherwise), itself taken out of threads and detached. Called under the lock;
 * returns with it released. */
static void s_leave(vfs_workers *self)
{
	self->leaving++;
	pthread_mutex_unlock(&self->lock);
	plx_ep_thread_done(self->vfs->ep);
	pthread_mutex_lock(&self->lock);
	pthread_t me = pthread_self();
	for (int i = 0; i < self->n; i++)
		if (pthread_equal(self->threads[i], me)) {
			self->threads[i] = self->threads[--self->n];
			break;
		}
	self->leaving--;
	pthread_detach(me);
	pthread_cond_broadcast(&self->left);
	pthread_mutex_unlock(&self->lock);
}

static void s_loop(vfs_workers *self, bool core)
{
	pthread_mutex_lock(&self->lock);
	for (;;) {
		if (!s_wait_work(self, core))
			break;
		if (!self->head)
			continue;
		s_job *job = self->head;
		self->queued--;
		self->head = job->next;
		if (!self->head)
			self->tail = NULL;
		pthread_mutex_unlock(&self->lock);
		if (job->call)
			self->run(self->vfs, job->call, job->fn);
		else
			job->defer(self->vfs, job->arg);
		free(job);
		pthread_mutex_lock(&self->lock);
	}
	if (!self->stopping) {
		s_leave(self);
		return;
	}
	pthread_mutex_unlock(&self->lock);
}

/* One of the threads vfs_workers_new starts: kept however idle. */
static void *s_core_thread(void *arg)
{
	s_loop(arg, true);
	return NULL;
}

/* One started for a burst: ends when idle long enough. */
static void *s_extra_thread(void *arg)
{
	s_loop(arg, false);
	return NULL;
}

vfs_workers *vfs_workers_new(vfs *v, vfs_run_fn *run, int n, int max, int idle_ms)
{
	if (n < 1 || max < n || !run) {
		errno = EINVAL;
		return NULL;
	}
	vfs_workers *self = calloc(1, sizeof *self);
	if (!self || !(self->threads = calloc((size_t)max, sizeof *self->threads))) {
		free(self);
		errno = ENOMEM;
		return NULL;
	}
	self->vfs = v;
	self->run = run;
	self->min = n;
	self->max = max;
	self->idle_ms = idle_ms > 0 ? idle_ms : VFS_WORKER_IDLE_MS;
	pthread_mutex_init(&self->lock, NULL);
	pthread_cond_init(&self->cond, NULL);
	pthread_cond_init(&self->left, NULL);
	for (; self->n < n; self->n++) {
		if (pthread_create(&self->threads[self->n], NULL, s_core_thread, self) != 0) {
			vfs_workers_destroy(&self);
			errno = EAGAIN;
			return NULL;
		}
	}
	return self;
}

void vfs_workers_destroy(vfs_workers **self_p)
{
	vfs_workers *self = self_p ? *self_p : NULL;
	if (!self)
		return;
	pthread_mutex_lock(&self->lock);
	s_job *queued = self->head;
	self->head = self->tail = NULL;
	self->stopping = true;
	pthread_cond_broadcast(&self->cond);
	while (self->leaving > 0) /* detached once out of threads: not joined */
		pthread_cond_wait(&self->left, &self->lock);
	int n = self->n;
	pthread_mutex_unlock(&self->lock);
	for (int i = 0; i < n; i++)
		pthread_join(self->threads[i], NULL);
	while (queued) {
		s_job *next = queued->next;
		if (queued->call)
			plx_call_reply(queued->call, -ESHUTDOWN, NULL, NULL, 0);
		else
			queued->defer(self->vfs, queued->arg);
		free(queued);
		queued = next;
	}
	pthread_cond_destroy(&self->cond);
	pthread_cond_destroy(&self->left);
	pthread_mutex_destroy(&self->lock);
	free(self->threads);
	free(self);
	*self_p = NULL;
}

/* Appends job to the queue and wakes a worker. */
static void s_push(vfs_workers *self, s_job *job)
{
	job->next = NULL;
	clock_gettime(CLOCK_MONOTONIC, &job->queued_at);
	pthread_mutex_lock(&self->lock);
	if (self->tail)
		self->tail->next = job;
	else
		self->head = job;
	self->tail = job;
	self->queued++;
	/* Every thread busy (waiting on slow file servers, say): one more, up to max. */
	if (self->queued > self->idle && self->n < self->max && !self->stopping &&
	    pthread_create(&self->threads[self->n], NULL, s_extra_thread, self) == 0)
		self->n++;
	pthread_cond_signal(&self->cond);
	pthread_mutex_unlock(&self->lock);
}

int vfs_workers_submit(vfs_workers *self, plx_call *call, vfs_handler_fn *fn)
{
	s_job *job = calloc(1, sizeof *job);
	if (!job)
		return -ENOMEM;
	job->call = call;
	job->fn = fn;
	s_push(self, job);
	return 0;
}

int vfs_workers_defer(vfs_workers *self, void (*fn)(vfs *v, void *arg), void *arg)
{
	s_job *job = calloc(1, sizeof *job);
	if (!job)
		return -ENOMEM;
	job->defer = fn;
	job->arg = arg;
	s_push(self, job);
	return 0;
}

bool vfs_workers_health(vfs_workers *self, char *why, size_t size)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&self->lock);
	int64_t waited = 0;
	int queued = self->queued, busy = self->n - self->idle;
	if (self->head)
		waited = (int64_t)(now.tv_sec - self->head->queued_at.tv_sec) * 1000 +
		         (now.tv_nsec - self->head->queued_at.tv_nsec) / 1000000;
	pthread_mutex_unlock(&self->lock);
	if (waited < VFS_STALL_MS)
		return true;
	snprintf(why, size,
	         "%d calls waiting for a worker, the oldest for %lld ms; %d workers busy", queued,
	         (long long)waited, busy);
	return false;
}
