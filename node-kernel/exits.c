/*
 * exits.c — children that end: the signal thread that notices them, and the queue of exit
 * reports to RS (the reaper, node_reap, is spawn.c's).
 *
 * Entry points: node_signals_block, node_signals_new, node_signals_destroy, node_reports_new,
 * node_reports_destroy, node_reports_add, node_reports_flush, node_reports_ack, node_reports_count.
 *
 * SIGCHLD, SIGTERM and SIGINT are blocked in every thread and read from a signalfd by one
 * thread, which turns them into notifies in the message loop (NODE_CHILD, NODE_TERM from
 * "node-signals"): the loop reaps and reports at once, and no handler runs in signal context.
 * A report (NODE_EXIT, asynsend to the RS label: plx_node_exit_send) stays queued until RS
 * answers it with status 0: while RS has no route it waits, and a report RS has not answered
 * within a second is sent again (RS treats label + generation + pid as the report's identity).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <plexus/log.h>
#include <plexus/node_stub.h>

#include "node.h"

#define S_RESEND_MS 1000
#define S_QUEUE_MAX 1024

struct node_signals {
	plx_ep *ep;
	int sfd;
	int stopfd;
	pthread_t thread;
};

static void s_signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
}

int node_signals_block(void)
{
	sigset_t set;
	s_signal_set(&set);
	sigaddset(&set, SIGPIPE);
	int rc = pthread_sigmask(SIG_BLOCK, &set, NULL);
	return -rc;
}

static void *s_signal_thread(void *arg)
{
	node_signals *self = arg;
	plx_name source = {.label = NODE_SIGNALS_LABEL, .generation = 1};
	struct pollfd fds[2] = {{.fd = self->sfd, .events = POLLIN},
	                        {.fd = self->stopfd, .events = POLLIN}};
	while (poll(fds, 2, -1) >= 0 || errno == EINTR) {
		if (fds[1].revents)
			break;
		struct signalfd_siginfo si;
		if (!(fds[0].revents & POLLIN) || read(self->sfd, &si, sizeof si) != sizeof si)
			continue;
		uint32_t type = si.ssi_signo == SIGCHLD ? PLEXUS__NODE_TYPE__NODE_CHILD
		                                        : PLEXUS__NODE_TYPE__NODE_TERM;
		plx_ep_notify_local(self->ep, &source, type);
	}
	return NULL;
}

node_signals *node_signals_new(plx_ep *ep)
{
	node_signals *self = calloc(1, sizeof *self);
	sigset_t set;
	s_signal_set(&set);
	if (!self)
		return NULL;
	self->ep = ep;
	self->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	self->stopfd = eventfd(0, EFD_CLOEXEC);
	int err = self->sfd < 0 || self->stopfd < 0 ? errno : 0;
	if (!err)
		err = pthread_create(&self->thread, NULL, s_signal_thread, self);
	if (err) {
		if (self->sfd >= 0)
			close(self->sfd);
		if (self->stopfd >= 0)
			close(self->stopfd);
		free(self);
		errno = err;
		return NULL;
	}
	return self;
}

void node_signals_destroy(node_signals **self_p)
{
	node_signals *self = self_p ? *self_p : NULL;
	if (!self)
		return;
	uint64_t one = 1;
	if (write(self->stopfd, &one, sizeof one) != sizeof one)
		abort(); /* an eventfd write of 1 cannot fail */
	pthread_join(self->thread, NULL);
	close(self->sfd);
	close(self->stopfd);
	free(self);
	*self_p = NULL;
}

/* ---- the reaper ---- */

/* ---- reports to RS ---- */

typedef struct s_report {
	Plexus__NodeExit exit;
	char label[PLX_LABEL_MAX];
	char node[PLX_NODE_MAX];
	uint64_t request_id;
	int64_t sent_at; /* CLOCK_MONOTONIC ms; 0 = not sent */
} s_report;

struct node_reports {
	plx_ctx *ctx;
	plx_ep *ep;
	const char *rs_label;
	s_report *queue;
	size_t count;
	size_t cap;
};

static int64_t s_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

node_reports *node_reports_new(plx_ctx *ctx, plx_ep *ep, const char *rs_label)
{
	node_reports *self = calloc(1, sizeof *self);
	if (!self)
		return NULL;
	self->ctx = ctx;
	self->ep = ep;
	self->rs_label = rs_label;
	return self;
}

void node_reports_destroy(node_reports **self_p)
{
	node_reports *self = self_p ? *self_p : NULL;
	if (!self)
		return;
	free(self->queue);
	free(self);
	*self_p = NULL;
}

static void s_drop(node_reports *self, size_t i)
{
	memmove(&self->queue[i], &self->queue[i + 1], (self->count - i - 1) * sizeof *self->queue);
	self->count--;
}

int node_reports_add(node_reports *self, const Plexus__NodeExit *report)
{
	if (self->count == S_QUEUE_MAX) {
		plx_log(PLX_LOG_WARN, "%d exit reports waiting for %s: dropping the oldest",
		        S_QUEUE_MAX, self->rs_label);
		s_drop(self, 0);
	}
	if (self->count == self->cap) {
		size_t cap = self->cap ? self->cap * 2 : 16;
		s_report *q = realloc(self->queue, cap * sizeof *q);
		if (!q)
			return -ENOMEM;
		self->queue = q;
		self->cap = cap;
	}
	s_report *r = &self->queue[self->count++];
	*r = (s_report){.exit = *report};
	snprintf(r->label, sizeof r->label, "%s", report->label);
	snprintf(r->node, sizeof r->node, "%s", report->node);
	node_reports_flush(self);
	return 0;
}

/* Sends report r (NODE_EXIT to RS, whichever generation the routes know); returns what
 * plx_node_exit_send returns. */
static int s_send(node_reports *self, s_report *r)
{
	r->exit.label = r->label; /* the queue may have moved since it was added */
	r->exit.node = r->node;
	plx_stub rs;
	uint64_t id;
	int rc = plx_stub_init(&rs, self->ep, self->rs_label, 0, PLX_FOREVER);
	if (rc == 0)
		rc = plx_node_exit_send(&rs, &r->exit, NULL, 0, &id);
	if (rc == 0) {
		r->request_id = id;
		r->sent_at = s_mono_ms();
	}
	return rc;
}

int node_reports_flush(node_reports *self)
{
	if (self->count == 0 ||
	    plx_route_lookup(self->ctx, self->rs_label, NULL, NULL, 0) == -ENOENT)
		return (int)self->count;
	int64_t now = s_mono_ms();
	for (size_t i = 0; i < self->count; i++) {
		s_report *r = &self->queue[i];
		if (r->sent_at && now - r->sent_at < S_RESEND_MS)
			continue;
		int rc = s_send(self, r);
		if (rc < 0 && rc != -EAGAIN)
			break; /* no route after all: wait for it */
	}
	return (int)self->count;
}

int node_reports_ack(node_reports *self, const plx_msg *reply)
{
	for (size_t i = 0; i < self->count; i++) {
		if (self->queue[i].request_id != reply->request_id || !self->queue[i].sent_at)
			continue;
		if (reply->status != 0) {
			plx_log(PLX_LOG_WARN, "%s refused the exit report of %s: %s",
			        self->rs_label, self->queue[i].label, plx_strerror(reply->status));
			return 0; /* sent again after the resend period */
		}
		s_drop(self, i);
		return 0;
	}
	return -ENOENT;
}

size_t node_reports_count(const node_reports *self)
{
	return self->count;
}
