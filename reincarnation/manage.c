/*
 * manage.c — the operator's requests (MINIX's `service` command): RS_UP, RS_DOWN, RS_RESTART,
 * RS_REFRESH, RS_SIGNAL and RS_LIST, sent by `plexus service` (and RS_SIGNAL by plexus drill).
 *
 * Entry points: do_up, do_down, do_restart, do_refresh, do_signal, do_list.
 *
 * up, down, restart and refresh answer when the service has settled (up: its new instance is
 * ready; down: it has exited), like MINIX's late replies, with the service's RsService; a
 * request that does not settle within the service's init time limit plus its stop grace plus
 * 5 s is answered -ETIMEDOUT. One such request per service at a time (-EBUSY).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <plexus/log.h>

#include "rs.h"

/* The service a request names, or NULL (then *status is the error). */
static rs_svc *s_target(plx_call *call, int *status)
{
	rs *self = plx_server_arg(call->server);
	const Plexus__RsRequest *r = (const Plexus__RsRequest *)call->body;
	rs_svc *svc = r->label ? rs_find(self, r->label) : NULL;
	*status = !r->label || !*r->label ? -EINVAL : !svc ? -ESRCH : svc->call ? -EBUSY : 0;
	return *status ? NULL : svc;
}

/* Keeps call to be answered when svc settles. */
static int s_hold(rs_svc *svc, plx_call *call)
{
	svc->call = call;
	svc->call_deadline =
	    rs_mono_ms() + svc->desc->init_timeout_ms + svc->desc->stop_grace_ms + 7000;
	return PLX_SUSPEND;
}

static bool s_running(const rs_svc *svc)
{
	return svc->state == RS_STARTING || svc->state == RS_UP;
}

/* Asks the node to stop svc; then_start makes it a restart. */
static int s_stop(rs *self, rs_svc *svc, plx_call *call, bool then_start)
{
	uint64_t id;
	svc->want_down = true;
	svc->then_start = then_start;
	int rc = req_node_stop(self, svc, &id);
	if (rc < 0) {
		svc->want_down = svc->then_start = false;
		return rc;
	}
	rs_pending_add(self, id, RS_P_STOP, svc->desc->label, svc->generation);
	svc->state = RS_STOPPING;
	rs_svc_publish(self, svc);
	return s_hold(svc, call);
}

/* Answers call at once with svc's description. */
static int s_answer(rs *self, rs_svc *svc, plx_call *call)
{
	svc->call = call;
	rs_svc_finish_call(self, svc, 0);
	return PLX_SUSPEND;
}

/* Starts a service that is not running, as `service up` does. */
static int s_up(rs *self, rs_svc *svc, plx_call *call)
{
	switch (svc->state) {
	case RS_UP:
		return s_answer(self, svc, call);
	case RS_STARTING:
	case RS_STOPPING:
		return -EALREADY;
	default:
		break;
	}
	svc->streak = svc->init_fails = 0;
	svc->due_mono = 0;
	svc->retry_restart = svc->retry_crash = false;
	svc->state = RS_PENDING;
	rs_svc_publish(self, svc);
	s_hold(svc, call);
	rs_svc_start_pending(self);
	return PLX_SUSPEND;
}

int do_up(plx_call *call)
{
	int status;
	rs_svc *svc = s_target(call, &status);
	return svc ? s_up(plx_server_arg(call->server), svc, call) : status;
}

/* A running service that depends on svc (NULL when none): stopping svc under it would take
 * its file system or device away first (a file server's last write-back needs its driver). */
static const rs_svc *s_running_dependent(const rs *self, const rs_svc *svc)
{
	for (size_t i = 0; i < self->nsvcs; i++) {
		const rs_svc *o = &self->svcs[i];
		for (size_t k = 0; o != svc && k < o->desc->ndepends; k++)
			if (strcmp(o->desc->depends[k], svc->desc->label) == 0 &&
			    (s_running(o) || o->state == RS_STOPPING))
				return o;
	}
	return NULL;
}

int do_down(plx_call *call)
{
	rs *self = plx_server_arg(call->server);
	int status;
	rs_svc *svc = s_target(call, &status);
	if (!svc)
		return status;
	if (svc->state == RS_STOPPING)
		return -EALREADY;
	const rs_svc *dep = s_running_dependent(self, svc);
	if (dep) { /* dependency order: the dependents first (plexus down does so) */
		plx_log(PLX_LOG_WARN, "down %s refused: %s depends on it and runs",
		        svc->desc->label, dep->desc->label);
		return -EBUSY;
	}
	if (s_running(svc))
		return s_stop(self, svc, call, false);
	svc->state = RS_DOWN;
	rs_svc_publish(self, svc);
	return s_answer(self, svc, call);
}

int do_restart(plx_call *call)
{
	rs *self = plx_server_arg(call->server);
	int status;
	rs_svc *svc = s_target(call, &status);
	if (!svc)
		return status;
	if (svc->state == RS_STOPPING)
		return -EALREADY;
	return s_running(svc) ? s_stop(self, svc, call, true) : s_up(self, svc, call);
}

/* Takes label's description from a fresh read of the cluster file. */
static int s_reload(rs *self, const char *label, rs_svc **svc_p)
{
	char err[512];
	plx_cluster *c =
	    plx_cluster_load(self->cfg->cluster_file, &rs_cluster_opts, err, sizeof err);
	if (!c) {
		plx_log(PLX_LOG_WARN, "refresh: %s", err);
		return -EINVAL;
	}
	const plx_cluster_service *d = plx_cluster_find_service(c, label);
	rs_svc *svc = rs_find(self, label);
	if (!d || !svc) {
		plx_cluster_destroy(&c);
		return -ESRCH; /* new labels need a restart of RS */
	}
	plx_cluster **old = realloc(self->old, (self->nold + 1) * sizeof *old);
	if (!old) {
		plx_cluster_destroy(&c);
		return -ENOMEM;
	}
	self->old = old;
	self->old[self->nold++] = c; /* kept: other services still point into older ones */
	svc->desc = d;
	*svc_p = svc;
	return 0;
}

int do_refresh(plx_call *call)
{
	rs *self = plx_server_arg(call->server);
	int status;
	rs_svc *svc = s_target(call, &status);
	if (!svc)
		return status;
	if (svc->state == RS_STOPPING)
		return -EALREADY;
	int rc = s_reload(self, svc->desc->label, &svc);
	if (rc < 0)
		return rc;
	return s_running(svc) ? s_stop(self, svc, call, true) : s_up(self, svc, call);
}

/* RS_SIGNAL: the signal to the service's running instance through its node kernel (a drill's
 * crash or hang, wherever the service runs); RS then meets the exit or the silence as any
 * other. Answered once sent, with the instance signalled; -ENXIO when none runs. */
int do_signal(plx_call *call)
{
	rs *self = plx_server_arg(call->server);
	const Plexus__RsRequest *r = (const Plexus__RsRequest *)call->body;
	int status;
	rs_svc *svc = s_target(call, &status);
	if (!svc)
		return status;
	if (r->signal < 1 || r->signal > 31)
		return -EINVAL;
	if (!s_running(svc) || svc->pid <= 0)
		return -ENXIO;
	uint64_t id;
	int rc = req_node_signal(self, svc, r->signal, &id);
	if (rc < 0)
		return rc;
	rs_pending_add(self, id, RS_P_SIGNAL, svc->desc->label, svc->generation);
	plx_log(PLX_LOG_INFO, "%s: signal %d to generation %llu on %s, as asked", svc->desc->label,
	        r->signal, (unsigned long long)svc->generation, svc->node);
	return s_answer(self, svc, call);
}

int do_list(plx_call *call)
{
	rs *self = plx_server_arg(call->server);
	Plexus__RsService *items = calloc(self->nsvcs ? self->nsvcs : 1, sizeof *items);
	Plexus__RsService **ptrs = calloc(self->nsvcs ? self->nsvcs : 1, sizeof *ptrs);
	if (!items || !ptrs) {
		free(items);
		free(ptrs);
		return -ENOMEM;
	}
	for (size_t i = 0; i < self->nsvcs; i++) {
		plexus__rs_service__init(&items[i]);
		rs_svc_describe(&self->svcs[i], &items[i]);
		ptrs[i] = &items[i];
	}
	Plexus__RsListReply reply = PLEXUS__RS_LIST_REPLY__INIT;
	reply.leader = (char *)self->cfg->name;
	reply.services = ptrs;
	reply.n_services = self->nsvcs;
	plx_call_reply(call, 0, &reply.base, NULL, 0);
	free(items);
	free(ptrs);
	return PLX_SUSPEND;
}
