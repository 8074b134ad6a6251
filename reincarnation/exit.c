/*
 * exit.c — what node kernels tell RS: exit reports (NODE_EXIT) and the replies to RS's own
 * asynsends (NODE_START, NODE_SIGNAL, NODE_STOP, IPC_PING), matched by request id and read
 * with the families' typed stubs (plx_node_start_reply, plx_node_stop_reply,
 * plx_ipc_ping_reply).
 *
 * Entry points: do_exit, rs_on_reply.
 *
 * A report can come twice (the node sends it again when RS's answer is lost) and can come
 * from a generation RS has already replaced; label + generation + pid say which instance it
 * is, and only the current one's first report counts.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <plexus/ipc_stub.h>
#include <plexus/log.h>
#include <plexus/node_stub.h>

#include "rs.h"

/* The current instance of label, if generation is it and it may still be running. */
static rs_svc *s_current(rs *self, const char *label, uint64_t generation)
{
	rs_svc *svc = rs_find(self, label);
	if (!svc || svc->generation != generation)
		return NULL;
	if (svc->state != RS_STARTING && svc->state != RS_UP && svc->state != RS_STOPPING)
		return NULL;
	return svc;
}

/* An exit of the current instance, from a report or a NODE_STOP reply, sent by from (the
 * node kernel's label). */
static void s_exit(rs *self, const Plexus__NodeExit *e, const char *from)
{
	char text[64], reason[RS_REASON_MAX];
	bool failure = rs_exit_text(e->signaled, e->status, text, sizeof text);
	if (rs_spare_exited(self, from, e->label, e->generation, text))
		return; /* a warm spare's (spare.c) */
	rs_svc *svc = rs_find_slot(self, e->label);
	if (svc)
		svc = s_current(self, svc->desc->label, e->generation);
	if (!svc || strcmp(rs_svc_slot(svc), e->label) != 0 ||
	    (svc->pid && e->pid && svc->pid != e->pid))
		return; /* an older instance, or a report that came twice */
	char node_label[PLX_LABEL_MAX];
	snprintf(node_label, sizeof node_label, "node.%.58s", svc->node);
	if (strcmp(from, node_label) != 0) {
		plx_log(PLX_LOG_INFO, "%s: exit report from %s ignored: it runs on %s", e->label,
		        from, node_label);
		return;
	}
	if (svc->killing) {
		snprintf(reason, sizeof reason, "%.80s (%.40s)", svc->kill_reason, text);
		failure = true;
	} else if (svc->want_down) {
		snprintf(reason, sizeof reason, "stopped (%s)", text);
	} else {
		snprintf(reason, sizeof reason, "%s", text);
	}
	rs_svc_exited(self, svc, reason, failure, false);
}

int do_exit(plx_call *call)
{
	rs *self = plx_server_arg(call->server);
	const Plexus__NodeExit *e = (const Plexus__NodeExit *)call->body;
	if (!e->label || !*e->label || e->generation == 0)
		return -EINVAL;
	s_exit(self, e, call->msg->source.label);
	return 0;
}

/* A heartbeat reply saying the server cannot serve (IpcPing.trouble), S_SICK_REPLIES in a
 * row: restarted as a hung one is. */
#define S_SICK_REPLIES 3
static void s_ping_health(rs *self, rs_svc *svc, plx_msg *msg)
{
	Plexus__IpcPing *pong = NULL;
	plx_ipc_ping_reply(msg, &pong);
	char why[RS_REASON_MAX];
	bool sick = pong && pong->trouble && pong->trouble[0];
	if (sick)
		snprintf(why, sizeof why, "unhealthy: %.100s", pong->trouble);
	plx_stub_free(pong, NULL);
	svc->sick = sick ? svc->sick + 1 : 0;
	if (svc->sick == 1)
		plx_log(PLX_LOG_INFO, "%s generation %" PRIu64 " answers but says it is %s",
		        svc->desc->label, svc->generation, why);
	if (svc->sick >= S_SICK_REPLIES && svc->state == RS_UP && !svc->killing) {
		svc->sick = 0;
		rs_svc_kill(self, svc, why);
	}
}

static void s_start_reply(rs *self, const rs_pending *p, plx_msg *msg)
{
	rs_svc *svc = s_current(self, p->label, p->generation);
	if (!svc)
		return;
	if (msg->status == 0) { /* it may be up already: its endpoint can come first */
		Plexus__NodeStartReply *r = NULL;
		if (plx_node_start_reply(msg, &r) == 0) {
			svc->pid = r->pid;
			plx_stub_free(r, NULL);
		}
		rs_svc_publish(self, svc);
		return;
	}
	if (svc->state != RS_STARTING)
		return;
	char why[RS_REASON_MAX];
	snprintf(why, sizeof why, "NODE_START on %s: %s", svc->node, plx_strerror(msg->status));
	bool exec_error = msg->status == -ENOENT || msg->status == -EACCES ||
	                  msg->status == -EINVAL || msg->status == -ENOEXEC ||
	                  msg->status == -PLX_ECALLDENIED;
	if (msg->status == -EEXIST) {
		/* An instance RS lost track of still runs there under the label (its records were
		 * lost, or its node was only cut off): kill it, then start again. */
		uint64_t id;
		plx_log(PLX_LOG_WARN, "%s: an older instance still runs on %s; killing it",
		        svc->desc->label, svc->node);
		if (req_node_signal(self, svc, SIGKILL, &id) == 0)
			rs_pending_add(self, id, RS_P_SIGNAL, svc->desc->label, 0);
	}
	if (exec_error) {
		rs_svc_exited(self, svc, why, true, false); /* never ready: failed */
	} else {
		svc->state = RS_PENDING; /* the node could not be reached: try again */
		svc->retry_restart = svc->as_restart;
		svc->retry_crash = svc->crash_restart;
		snprintf(svc->last_exit, sizeof svc->last_exit, "%s", why);
		svc->due_mono = rs_mono_ms() + (msg->status == -EEXIST ? 300 : 1000);
		svc->since_ms = 0;
		rs_svc_publish(self, svc);
	}
}

static void s_stop_reply(rs *self, const rs_pending *p, plx_msg *msg)
{
	if (msg->status == 0) {
		Plexus__NodeExit *e = NULL;
		if (plx_node_stop_reply(msg, &e) == 0) {
			s_exit(self, e, msg->source.label);
			plx_stub_free(e, NULL);
		}
		return;
	}
	rs_svc *svc = s_current(self, p->label, p->generation);
	if (svc && svc->state == RS_STOPPING && msg->status == -ESRCH)
		rs_svc_exited(self, svc, "stopped (not running)", false, false);
}

void rs_on_reply(plx_server *server, plx_msg *msg)
{
	rs *self = plx_server_arg(server);
	rs_pending p;
	if (!rs_pending_take(self, msg->request_id, &p)) {
		plx_msg_destroy(&msg);
		return;
	}
	switch (p.kind) {
	case RS_P_START:
		s_start_reply(self, &p, msg);
		break;
	case RS_P_SPARE_START: {
		Plexus__NodeStartReply *r = NULL;
		int64_t pid = 0;
		if (msg->status == 0 && plx_node_start_reply(msg, &r) == 0) {
			pid = r->pid;
			plx_stub_free(r, NULL);
		}
		rs_spare_start_reply(self, &p, msg->status, pid);
		break;
	}
	case RS_P_STOP:
		s_stop_reply(self, &p, msg);
		break;
	case RS_P_PING: {
		rs_svc *svc = s_current(self, p.label, p.generation);
		if (svc && msg->status == 0) {
			svc->alive_mono = rs_mono_ms();
			svc->suspect_mono = svc->judge_mono = 0;
			s_ping_health(self, svc, msg);
		}
		break;
	}
	case RS_P_NODE_PING: {
		rs_svc *svc = s_current(self, p.label, p.generation);
		if (svc && msg->status == 0)
			rs_svc_node_answered(self, svc, rs_mono_ms() - p.sent_mono);
		break;
	}
	case RS_P_SIGNAL: {
		/* Killing an instance the node does not run (it ended while no RS led, and its
		 * report was lost with a node kernel restart): it is gone all the same. */
		rs_svc *svc = s_current(self, p.label, p.generation);
		if (svc && svc->killing && msg->status == -ESRCH) {
			char reason[RS_REASON_MAX];
			snprintf(reason, sizeof reason, "%.80s (not running)", svc->kill_reason);
			rs_svc_exited(self, svc, reason, true, false);
		} else if (msg->status < 0 && msg->status != -ESRCH) {
			plx_log(PLX_LOG_INFO, "%s: NODE_SIGNAL: %s", p.label,
			        plx_strerror(msg->status));
		}
		break;
	}
	}
	plx_msg_destroy(&msg);
}
