/*
 * service.c — the life of one service under RS: start (a new generation each time), ready,
 * exit and the restart decision, heartbeats, init time limits, backoff timers, failover to a
 * standby node, or to a warm spare (spare.c).
 *
 * Entry points: rs_svc_start, rs_svc_exited, rs_svc_ready, rs_svc_kill, rs_svc_node_answered,
 * rs_svc_start_pending, rs_svc_tick, rs_svc_finish_call, rs_svc_publish, rs_svc_relocate,
 * rs_svc_batch_begin, rs_svc_batch_end.
 *
 * Everything here runs on the message loop's thread. The only blocking call is the
 * generation bump (an etcd read and transaction) before a start. Inside a batch (one drain of
 * the watch events) starts are queued and sent when the batch ends, their generations
 * taken together (plx_generation_next_many): eight nodes dying at once cost two etcd round trips
 * before their services' NODE_STARTs, not two per service.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <plexus/log.h>

#include "rs.h"

#define S_RETRY_MS        1000  /* a start that could not be sent is tried again after this */
#define S_START_ANSWER_MS 3000  /* a NODE_START unanswered this long was lost */
#define S_TROUBLE_MS      10000 /* network trouble this recent makes hang verdicts wait */
#define S_GRACE_MS        2000  /* ... this long at least */

void rs_svc_publish(rs *self, rs_svc *svc)
{
	if (svc->start_queued)
		return; /* published when its start is sent, with its generation */
	char *json = rs_svc_json(self, svc);
	if (json)
		rs_publish(self->pub, svc->desc->label, json);
	free(json);
}

void rs_svc_finish_call(rs *self, rs_svc *svc, int status)
{
	(void)self;
	if (!svc->call)
		return;
	Plexus__RsService body = PLEXUS__RS_SERVICE__INIT;
	rs_svc_describe(svc, &body);
	plx_call_reply(svc->call, status, &body.base, NULL, 0);
	svc->call = NULL;
}

/* A start queued in the current batch (RS_STARTING, generation 0 until the batch ends) is
 * forgotten when the service moves on before the batch ends (its new node died meanwhile). */
static void s_unqueue(rs *self, rs_svc *svc)
{
	if (!svc->start_queued)
		return;
	svc->start_queued = false;
	svc->state = svc->queued_from; /* the state logged and published last */
	self->nqueued--;
}

static void s_set_state(rs *self, rs_svc *svc, rs_state state)
{
	s_unqueue(self, svc);
	if (state == RS_DOWN || state == RS_FAILED || state == RS_EXITED || state == RS_GIVEN_UP)
		rs_spare_drop(self, svc, rs_state_name(state));
	if (svc->state != state)
		plx_log(PLX_LOG_INFO, "%s: %s -> %s", svc->desc->label, rs_state_name(svc->state),
		        rs_state_name(state));
	svc->state = state;
	rs_svc_publish(self, svc);
}

static void s_retry_later(rs *self, rs_svc *svc, const char *why, bool as_restart, bool crash)
{
	svc->retry_restart = as_restart;
	svc->retry_crash = crash;
	snprintf(svc->last_exit, sizeof svc->last_exit, "%s", why);
	svc->due_mono = rs_mono_ms() + S_RETRY_MS;
	s_set_state(self, svc, RS_PENDING);
}

/* True when the route to node's kernel is the one its record announced. */
static bool s_route_ready(rs *self, const char *node)
{
	rs_node *n = rs_node_find(self, node);
	char label[PLX_LABEL_MAX];
	uint64_t gen = 0;
	snprintf(label, sizeof label, "node.%.58s", node);
	if (!n || !n->generation)
		return true;
	return plx_route_lookup(self->ctx, label, &gen, NULL, 0) == 0 && gen == n->generation;
}

/* The generation could not be taken (rc): tried again a second later. */
static void s_no_generation(rs *self, rs_svc *svc, int rc, bool as_restart, bool crash)
{
	char why[RS_REASON_MAX];
	snprintf(why, sizeof why, "registry: %s", plx_strerror(rc));
	plx_log(PLX_LOG_WARN, "%s: no generation: %s %s", svc->desc->label, plx_strerror(rc),
	        plx_etcd_errmsg());
	s_retry_later(self, svc, why, as_restart, crash);
}

/* Sends NODE_START of generation gen to node. */
static void s_send_start(rs *self, rs_svc *svc, const char *node, uint64_t gen, bool as_restart,
                         bool crash)
{
	const char *label = svc->desc->label;
	svc->generation = gen;
	if (node != svc->node)
		snprintf(svc->node, sizeof svc->node, "%s", node);
	svc->pid = 0;
	svc->ready = false;
	svc->killing = false;
	svc->as_restart = as_restart;
	svc->crash_restart = crash;
	svc->since_ms = rs_now_ms();
	svc->start_mono = rs_mono_ms();
	uint64_t id;
	int rc = req_node_start(self, svc, node, as_restart, &id);
	if (rc < 0) {
		char why[RS_REASON_MAX];
		snprintf(why, sizeof why, "cannot reach node.%s: %s", node, plx_strerror(rc));
		plx_log(PLX_LOG_WARN, "%s: %s", label, why);
		svc->since_ms = 0;
		s_retry_later(self, svc, why, as_restart, crash);
		return;
	}
	rs_pending_add(self, id, RS_P_START, label, gen);
	plx_log(PLX_LOG_INFO, "%s: starting generation %" PRIu64 " on %s (%s)", label, gen, node,
	        as_restart ? "restart" : "fresh");
	s_set_state(self, svc, RS_STARTING);
}

/* Inside a batch: svc is RS_STARTING on node with no generation yet (0: no report, reply or
 * record of an older instance matches it); rs_svc_batch_end takes one and sends the start. */
static void s_queue_start(rs *self, rs_svc *svc, const char *node, bool as_restart, bool crash)
{
	if (!svc->start_queued) {
		svc->queued_from = svc->state;
		svc->start_queued = true;
		self->nqueued++;
	}
	svc->state = RS_STARTING;
	svc->generation = 0;
	snprintf(svc->node, sizeof svc->node, "%s", node);
	svc->pid = 0;
	svc->ready = false;
	svc->killing = false;
	svc->since_ms = 0;
	svc->as_restart = as_restart;
	svc->crash_restart = crash;
	svc->start_mono = rs_mono_ms();
}

void rs_svc_start(rs *self, rs_svc *svc, const char *where, bool as_restart, bool crash)
{
	const char *label = svc->desc->label;
	char node[PLX_CLUSTER_NAME_MAX]; /* where may be svc->node itself */
	snprintf(node, sizeof node, "%s", where);
	if (!s_route_ready(self, node)) {
		/* its node kernel came back but its endpoint is not in the routes yet: a request
		 * now would go to the dead one. Try again in a moment. */
		svc->retry_restart = as_restart;
		svc->retry_crash = crash;
		svc->due_mono = rs_mono_ms() + 50;
		s_set_state(self, svc, RS_PENDING);
		return;
	}
	rs_spare_drop(self, svc, "a normal start takes its generation");
	if (self->batching) {
		s_queue_start(self, svc, node, as_restart, crash);
		return;
	}
	uint64_t gen;
	int rc = plx_generation_next(self->etcd, self->cluster_name, label, &gen);
	if (rc < 0) {
		s_no_generation(self, svc, rc, as_restart, crash);
		return;
	}
	s_send_start(self, svc, node, gen, as_restart, crash);
}

void rs_svc_batch_begin(rs *self)
{
	self->batching++;
}

/* Takes the generations of every queued start in one go and sends the starts. Nothing queues
 * meanwhile (no batch is open), so the queued services are the same in both passes. */
static void s_flush_starts(rs *self)
{
	size_t n = 0;
	const char **labels = calloc(self->nsvcs, sizeof *labels);
	uint64_t *gens = calloc(self->nsvcs, sizeof *gens);
	int *rcs = calloc(self->nsvcs, sizeof *rcs);
	for (size_t i = 0; labels && i < self->nsvcs; i++)
		if (self->svcs[i].start_queued)
			labels[n++] = self->svcs[i].desc->label;
	int failed =
	    labels && gens && rcs
	        ? plx_generation_next_many(self->etcd, self->cluster_name, labels, n, gens, rcs)
	        : -ENOMEM;
	for (size_t i = 0, k = 0; i < self->nsvcs; i++) {
		rs_svc *svc = &self->svcs[i];
		if (!svc->start_queued)
			continue;
		int rc = failed < 0 ? failed : rcs[k];
		uint64_t gen = failed < 0 ? 0 : gens[k];
		k++;
		s_unqueue(self, svc);
		if (rc < 0)
			s_no_generation(self, svc, rc, svc->as_restart, svc->crash_restart);
		else
			s_send_start(self, svc, svc->node, gen, svc->as_restart,
			             svc->crash_restart);
	}
	free(labels);
	free(gens);
	free(rcs);
}

void rs_svc_batch_end(rs *self)
{
	if (--self->batching == 0 && self->nqueued > 0)
		s_flush_starts(self);
}

/* True when node name is alive. */
static bool s_alive(rs *self, const char *name)
{
	rs_node *n = rs_node_find(self, name);
	return n && n->alive;
}

void rs_svc_relocate(rs *self, rs_svc *svc)
{
	const plx_cluster_service *d = svc->desc;
	if (s_alive(self, svc->node)) {
		rs_svc_start(self, svc, svc->node, true, false);
		return;
	}
	if (strcmp(svc->node, d->node) != 0 && s_alive(self, d->node)) {
		rs_svc_start(self, svc, d->node, true, false);
		return;
	}
	for (size_t i = 0; i < d->nstandby; i++)
		if (s_alive(self, d->standby[i])) {
			plx_log(PLX_LOG_WARN, "%s: failing over from %s to standby %s", d->label,
			        svc->node, d->standby[i]);
			rs_svc_start(self, svc, d->standby[i], true, false);
			return;
		}
	s_set_state(self, svc, RS_WAITING);
}

/* The operator's down or restart finished. */
static void s_stopped(rs *self, rs_svc *svc)
{
	svc->want_down = false;
	if (svc->then_start) {
		svc->then_start = false;
		svc->streak = 0;
		/* where the (possibly refreshed) description says, else wherever it can run */
		if (s_alive(self, svc->desc->node))
			rs_svc_start(self, svc, svc->desc->node, true, false);
		else
			rs_svc_relocate(self, svc);
		return; /* the call is answered once the new instance is ready */
	}
	s_set_state(self, svc, RS_DOWN);
	rs_svc_finish_call(self, svc, 0);
}

/* Puts svc's ready warm spare in place of the instance that ended; crash: counted as a crash
 * restart. Returns false (nothing changed) when there is none or it could not be activated. */
static bool s_take_spare(rs *self, rs_svc *svc, bool crash)
{
	if (!rs_spare_activate(self, svc))
		return false;
	int64_t now = rs_mono_ms();
	svc->ready = true;
	svc->killing = false;
	svc->init_fails = 0;
	svc->as_restart = true;
	svc->crash_restart = false;
	svc->since_ms = rs_now_ms();
	svc->start_mono = svc->ready_mono = svc->alive_mono = svc->ping_mono = now;
	svc->suspect_mono = svc->judge_mono = 0;
	svc->sick = 0;
	if (crash) {
		svc->restarts++;
		svc->streak++;
	}
	s_set_state(self, svc, RS_UP);
	rs_svc_finish_call(self, svc, 0);
	rs_svc_start_pending(self);
	return true;
}

void rs_svc_exited(rs *self, rs_svc *svc, const char *reason, bool failure, bool node_death)
{
	bool was_ready = svc->ready;
	int64_t uptime = was_ready ? rs_mono_ms() - svc->ready_mono : 0;
	snprintf(svc->last_exit, sizeof svc->last_exit, "%s", reason);
	plx_log(PLX_LOG_INFO, "%s: generation %" PRIu64 " on %s ended: %s", svc->desc->label,
	        svc->generation, svc->node, reason);
	svc->pid = 0;
	svc->ready = false;
	svc->killing = false;
	svc->since_ms = 0;
	if (svc->want_down) {
		s_stopped(self, svc);
		return;
	}
	int64_t delay;
	switch (rs_after_exit(svc->desc, failure, was_ready, node_death, uptime, &svc->streak,
	                      &svc->init_fails, &delay)) {
	case RS_ACT_FAILED:
		if (!was_ready && svc->init_fails) /* the reason says how often it was tried */
			snprintf(svc->last_exit, sizeof svc->last_exit,
			         "failed during initialization %" PRIu32 " times: %.60s",
			         svc->init_fails + 1, reason);
		plx_log(PLX_LOG_WARN, "%s: failed: %s", svc->desc->label, svc->last_exit);
		s_set_state(self, svc, RS_FAILED);
		rs_svc_finish_call(self, svc, -EIO);
		return;
	case RS_ACT_EXITED:
		s_set_state(self, svc, RS_EXITED);
		rs_svc_finish_call(self, svc, 0);
		return;
	case RS_ACT_GIVE_UP:
		plx_log(PLX_LOG_WARN, "%s: given up after %" PRIu32 " restarts in a row",
		        svc->desc->label, svc->streak);
		s_set_state(self, svc, RS_GIVEN_UP);
		rs_svc_finish_call(self, svc, -EIO);
		return;
	case RS_ACT_RESTART:
		break;
	}
	if ((node_death || delay == 0) && s_take_spare(self, svc, !node_death))
		return;
	if (node_death || !s_alive(self, svc->node)) {
		rs_svc_relocate(self, svc);
	} else if (delay == 0) {
		rs_svc_start(self, svc, svc->node, true, true);
	} else {
		svc->due_mono = rs_mono_ms() + delay;
		plx_log(PLX_LOG_INFO,
		        "%s: restart in %" PRId64 " ms (streak %" PRIu32
		        ", failed initializations %" PRIu32 ")",
		        svc->desc->label, delay, svc->streak, svc->init_fails);
		s_set_state(self, svc, RS_BACKOFF);
	}
}

void rs_svc_ready(rs *self, const char *label, uint64_t generation)
{
	rs_svc *svc = rs_find(self, label);
	if (!svc || svc->generation != generation || svc->state != RS_STARTING)
		return;
	int64_t now = rs_mono_ms();
	svc->ready = true;
	svc->init_fails = 0;
	svc->ready_mono = svc->alive_mono = svc->ping_mono = now;
	svc->suspect_mono = svc->judge_mono = 0;
	if (svc->crash_restart) {
		svc->restarts++;
		svc->streak++;
		svc->crash_restart = false;
	}
	plx_log(PLX_LOG_INFO, "%s: generation %" PRIu64 " ready after %" PRId64 " ms", label,
	        generation, now - svc->start_mono);
	s_set_state(self, svc, RS_UP);
	rs_svc_finish_call(self, svc, 0);
	rs_svc_start_pending(self);
}

void rs_svc_kill(rs *self, rs_svc *svc, const char *reason)
{
	if (svc->killing)
		return;
	svc->killing = true;
	snprintf(svc->kill_reason, sizeof svc->kill_reason, "%s", reason);
	plx_log(PLX_LOG_INFO, "%s: SIGKILL to generation %" PRIu64 ": %s", svc->desc->label,
	        svc->generation, reason);
	uint64_t id;
	if (req_node_signal(self, svc, SIGKILL, &id) == 0)
		rs_pending_add(self, id, RS_P_SIGNAL, svc->desc->label, svc->generation);
}

static bool s_deps_up(rs *self, const plx_cluster_service *d)
{
	for (size_t i = 0; i < d->ndepends; i++) {
		rs_svc *dep = rs_find(self, d->depends[i]);
		if (!dep || dep->state != RS_UP)
			return false;
	}
	return true;
}

/* The node to start a pending service on: its own, else a live standby; NULL when none. */
static const char *s_pick_node(rs *self, rs_svc *svc)
{
	const plx_cluster_service *d = svc->desc;
	if (s_alive(self, d->node))
		return d->node;
	for (size_t i = 0; i < d->nstandby; i++)
		if (s_alive(self, d->standby[i]))
			return d->standby[i];
	return NULL;
}

void rs_svc_start_pending(rs *self)
{
	if (!self->leading)
		return; /* still reading the registry: nothing starts before adoption */
	int64_t now = rs_mono_ms();
	for (size_t i = 0; i < self->nsvcs; i++) {
		rs_svc *svc = &self->svcs[i];
		if (svc->state != RS_PENDING || now < svc->due_mono || !s_deps_up(self, svc->desc))
			continue;
		const char *node = s_pick_node(self, svc);
		bool as_restart = svc->retry_restart, crash = svc->retry_crash;
		svc->retry_restart = svc->retry_crash = false;
		if (node)
			rs_svc_start(self, svc, node, as_restart, crash);
	}
}

void rs_svc_node_answered(rs *self, rs_svc *svc, int64_t rtt_ms)
{
	int64_t now = rs_mono_ms(), silent = now - svc->alive_mono;
	int period = svc->desc->heartbeat_ms;
	if (svc->state != RS_UP || svc->killing || !svc->suspect_mono || svc->judge_mono ||
	    silent <= 2 * (int64_t)period || rtt_ms > period)
		return;
	if (self->trouble_mono && now - self->trouble_mono < S_TROUBLE_MS) {
		/* The network just healed: replies held up in TCP retransmission may still come.
		 * One more ping, and the verdict after a grace period. */
		uint64_t id;
		svc->judge_mono = now + (period > S_GRACE_MS ? period : S_GRACE_MS);
		if (req_ping(self, svc, &id) == 0)
			rs_pending_add(self, id, RS_P_PING, svc->desc->label, svc->generation);
		return;
	}
	char why[RS_REASON_MAX];
	snprintf(why, sizeof why, "hung: no heartbeat reply for %" PRId64 " ms", silent);
	rs_svc_kill(self, svc, why);
}

static void s_heartbeat(rs *self, rs_svc *svc, int64_t now)
{
	int period = svc->desc->heartbeat_ms;
	if (period <= 0 || svc->killing)
		return;
	if (now - svc->alive_mono > 2 * (int64_t)period) {
		/* Silent for two periods. It is hung if its node kernel answers; if that is silent
		 * too, the node (or RS's own network) is at fault: node recovery, not a kill. */
		if (svc->judge_mono) {
			if (now >= svc->judge_mono) {
				char why[RS_REASON_MAX];
				snprintf(why, sizeof why,
				         "hung: no heartbeat reply for %" PRId64 " ms",
				         now - svc->alive_mono);
				svc->judge_mono = 0;
				rs_svc_kill(self, svc, why);
			}
			return;
		}
		if (svc->suspect_mono && now - svc->suspect_mono < period)
			return;
		if (svc->suspect_mono)
			self->trouble_mono =
			    now; /* its node did not answer within a period either */
		uint64_t id;
		svc->suspect_mono = now;
		if (req_node_ping(self, svc, &id) == 0)
			rs_pending_add(self, id, RS_P_NODE_PING, svc->desc->label, svc->generation);
		return;
	}
	svc->suspect_mono = svc->judge_mono = 0;
	if (now - svc->ping_mono >= period) {
		uint64_t id;
		svc->ping_mono = now;
		if (req_ping(self, svc, &id) == 0)
			rs_pending_add(self, id, RS_P_PING, svc->desc->label, svc->generation);
	}
}

static void s_init_limit(rs *self, rs_svc *svc, int64_t now)
{
	if (svc->pid == 0 && now - svc->start_mono > S_START_ANSWER_MS &&
	    now - svc->start_mono <= svc->desc->init_timeout_ms) {
		/* NODE_START unanswered: lost on the way (a node kernel that just died or came
		 * back). Start again; should it have run after all, the node refuses the next start
		 * with -EEXIST and RS replaces the stray. */
		char why[RS_REASON_MAX];
		snprintf(why, sizeof why, "no answer to NODE_START from node.%.58s", svc->node);
		plx_log(PLX_LOG_WARN, "%s: %s", svc->desc->label, why);
		s_retry_later(self, svc, why, svc->as_restart, svc->crash_restart);
		return;
	}
	if (now - svc->start_mono <= svc->desc->init_timeout_ms)
		return;
	char why[RS_REASON_MAX];
	snprintf(why, sizeof why, "not ready within %d ms", svc->desc->init_timeout_ms);
	if (svc->pid > 0 && !svc->killing)
		rs_svc_kill(self, svc, why);
	else if (svc->pid == 0)
		rs_svc_exited(self, svc, "no answer to NODE_START", true, false);
	else if (now - svc->start_mono > 2 * (int64_t)svc->desc->init_timeout_ms)
		rs_svc_exited(self, svc, why, true, false); /* killed, but no exit report came */
}

void rs_svc_tick(rs *self)
{
	int64_t now = rs_mono_ms();
	for (size_t i = 0; i < self->nsvcs; i++) {
		rs_svc *svc = &self->svcs[i];
		switch (svc->state) {
		case RS_UP:
			s_heartbeat(self, svc, now);
			break;
		case RS_STARTING:
			s_init_limit(self, svc, now);
			break;
		case RS_BACKOFF:
			if (now >= svc->due_mono && !s_take_spare(self, svc, true)) {
				if (s_alive(self, svc->node))
					rs_svc_start(self, svc, svc->node, true, true);
				else
					rs_svc_relocate(self, svc);
			}
			break;
		default:
			break;
		}
		if (svc->call && now > svc->call_deadline)
			rs_svc_finish_call(self, svc, -ETIMEDOUT);
		rs_spare_tick(self, svc);
	}
	rs_svc_start_pending(self);
	rs_pending_expire(self, now - 30000);
}
