/*
 * worker.c — plexus-mfs's worker thread and its queue.
 *
 * Entry points: mfs_worker_start, mfs_worker_stop, mfs_worker_submit, mfs_worker_tick.
 *
 * The server library hands every request table.c flags PLX_ON_WORKER (every FS_* type but
 * FS_NEW_DRIVER) to mfs_submit, which queues it here with its do_<call>. The one worker thread
 * runs the queued requests one at a time in arrival order (file system semantics stay
 * sequential) and answers each with plx_call_reply. So a request whose I/O waits for a
 * restarted block driver holds the worker only: the loop goes on answering pings and the
 * FS_NEW_DRIVER that ends the wait. The loop's tick queues the periodic write-back the same
 * way. Requests still queued when the worker stops are answered -ESHUTDOWN.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <plexus/log.h>

#include "mfs.h"

typedef struct mfs_job {
	plx_call *call; /* NULL: the periodic write-back */
	mfs_do_fn *fn;
	struct mfs_job *next;
} mfs_job;

static void s_push(mfs *fs, mfs_job *job)
{
	pthread_mutex_lock(&fs->qlock);
	if (fs->qtail)
		fs->qtail->next = job;
	else
		fs->qhead = job;
	fs->qtail = job;
	pthread_cond_signal(&fs->qcond);
	pthread_mutex_unlock(&fs->qlock);
}

int mfs_worker_submit(mfs *fs, plx_call *call, mfs_do_fn *fn)
{
	mfs_job *job = calloc(1, sizeof *job);
	if (!job)
		return -ENOMEM;
	job->call = call;
	job->fn = fn;
	s_push(fs, job);
	return 0;
}

void mfs_worker_tick(plx_server *srv)
{
	mfs *fs = plx_server_arg(srv);
	pthread_mutex_lock(&fs->qlock);
	bool queue = !fs->tick_queued && fs->sync_ms > 0;
	fs->tick_queued |= queue;
	pthread_mutex_unlock(&fs->qlock);
	mfs_job *job = queue ? calloc(1, sizeof *job) : NULL;
	if (job)
		s_push(fs, job);
}

static void s_reply_free(mfs_reply *out)
{
	free(out->ents);
	free(out->ptrs);
	free(out->names);
	free(out->data);
}

static void s_data_free(void *data, void *hint)
{
	(void)hint;
	free(data);
}

/* Runs one request and answers it. */
static void s_run(mfs *fs, const mfs_job *job, bool stopping)
{
	plx_call *call = job->call;
	uint32_t type = call->msg->type; /* the call is gone once answered */
	mfs_reply out;
	memset(&out, 0, sizeof out);
	plexus__fs_reply__init(&out.r);
	if (!stopping)
		mfs_boundary(fs);
	int rc = stopping ? -ESHUTDOWN : job->fn(fs, call->msg, call->body, &out);
	uint8_t *data = rc < 0 ? NULL : out.data;
	if (data)
		out.data = NULL; /* the transport's now: freed once sent, no copy */
	int sent = plx_call_reply_owned(call, rc, rc < 0 ? NULL : &out.r.base, data,
	                                data ? out.data_size : 0, data ? s_data_free : NULL, NULL);
	if (sent < 0 && sent != -PLX_EDEADSRCDST)
		plx_log(PLX_LOG_WARN, "answering %s: %s", plx_type_name(type), plx_strerror(sent));
	s_reply_free(&out);
	if (!stopping)
		mfs_readahead(fs); /* while the client takes what it read */
}

static void *s_worker(void *arg)
{
	mfs *fs = arg;
	for (;;) {
		pthread_mutex_lock(&fs->qlock);
		while (!fs->qhead && !fs->stopping)
			pthread_cond_wait(&fs->qcond, &fs->qlock);
		mfs_job *job = fs->qhead;
		if (job && !(fs->qhead = job->next))
			fs->qtail = NULL;
		bool stopping = fs->stopping;
		if (job && !job->call)
			fs->tick_queued = false;
		pthread_mutex_unlock(&fs->qlock);
		if (!job)
			return NULL;
		if (job->call)
			s_run(fs, job, stopping);
		else if (!stopping)
			mfs_tick(fs);
		free(job);
	}
}

int mfs_worker_start(mfs *fs)
{
	pthread_mutex_init(&fs->qlock, NULL);
	pthread_cond_init(&fs->qcond, NULL);
	int rc = -pthread_create(&fs->worker, NULL, s_worker, fs);
	if (rc < 0) {
		pthread_cond_destroy(&fs->qcond);
		pthread_mutex_destroy(&fs->qlock);
	}
	return rc;
}

void mfs_worker_stop(mfs *fs)
{
	pthread_mutex_lock(&fs->qlock);
	fs->stopping = true; /* queued requests are answered -ESHUTDOWN */
	pthread_cond_signal(&fs->qcond);
	pthread_mutex_unlock(&fs->qlock);
	pthread_join(fs->worker, NULL);
	pthread_cond_destroy(&fs->qcond);
	pthread_mutex_destroy(&fs->qlock);
}
