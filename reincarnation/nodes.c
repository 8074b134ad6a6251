/*
 * nodes.c — node-level recovery. A node whose lease expired is dead: each of its services
 * fails over at once to a live standby node when its description names one, else waits
 * (RS_WAITING); RS power-cycles the dead node through its power backend, and when the node
 * rejoins (its record reappears) the services waiting for it start there with new
 * generations. A node whose kernel came back with another generation before its lease ran out
 * (plexus-node restarted) lost its services too (they die with their node kernel).
 *
 * Entry points: rs_node_up, rs_node_down, rs_nodes_tick, rs_node_power_done, do_power.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <plexus/log.h>

#include "rs.h"

static void s_power(rs *self, rs_node *node)
{
	const plx_cluster_node *desc = plx_cluster_find_node(self->cluster, node->name);
	if (!desc || desc->power == PLX_POWER_NONE || node->power_busy)
		return;
	if (node->power_mono && rs_mono_ms() - node->power_mono < RS_POWER_RETRY_MS)
		return; /* cycled a moment ago (an operator's RS_POWER): it is booting */
	if (node->power_attempts >= RS_POWER_ATTEMPTS) {
		if (node->power_attempts == RS_POWER_ATTEMPTS)
			plx_log(PLX_LOG_WARN,
			        "node %s: still dead after %d power cycles; giving up", node->name,
			        node->power_attempts);
		node->power_attempts++;
		return;
	}
	node->power_attempts++;
	node->power_mono = rs_mono_ms();
	plx_log(PLX_LOG_INFO, "node %s: power cycle %d through %s", node->name,
	        node->power_attempts, plx_power_name(desc->power));
	if (rs_power_cycle(self, desc) == 0)
		node->power_busy = true;
}

/* node is lost with its services; power: cycle it too (not when it evidently runs: its node
 * kernel came back on its own). */
static void s_node_lost(rs *self, rs_node *node, const char *name, const char *why, bool power)
{
	node->alive = false;
	node->power_attempts = 0;
	plx_log(PLX_LOG_WARN, "node %s died: %s", name, why);
	char reason[RS_REASON_MAX];
	snprintf(reason, sizeof reason, "node %s died", name);
	rs_spare_node_died(self, name); /* before the services: a spare elsewhere takes over */
	for (size_t i = 0; i < self->nsvcs; i++) {
		rs_svc *svc = &self->svcs[i];
		if (strcmp(svc->node, name) != 0)
			continue;
		if (svc->state == RS_STARTING || svc->state == RS_UP || svc->state == RS_STOPPING)
			rs_svc_exited(self, svc, reason, true, true);
		else if (svc->state == RS_BACKOFF)
			rs_svc_relocate(self,
			                svc); /* nothing runs: fail over now, not at the due time */
	}
	if (power)
		s_power(self, node);
}

void rs_node_down(rs *self, const char *name, const char *why)
{
	rs_node *node = rs_node_find(self, name);
	if (node && node->alive)
		s_node_lost(self, node, name, why, true);
}

void rs_node_up(rs *self, const char *name, uint64_t generation)
{
	rs_node *node = rs_node_find(self, name);
	if (!node)
		return;
	if (node->alive && generation && node->generation && generation != node->generation)
		s_node_lost(self, node, name, "its node kernel restarted", false);
	node->generation = generation;
	if (node->alive)
		return;
	node->alive = true;
	node->power_attempts = 0;
	node->power_mono = 0;
	plx_log(PLX_LOG_INFO, "node %s is up (node kernel generation %" PRIu64 ")", name,
	        generation);
	for (size_t i = 0; i < self->nsvcs; i++) {
		rs_svc *svc = &self->svcs[i];
		if (svc->state != RS_WAITING)
			continue;
		bool standby = false;
		for (size_t k = 0; k < svc->desc->nstandby && !standby; k++)
			standby = strcmp(svc->desc->standby[k], name) == 0;
		if (strcmp(svc->node, name) == 0 || strcmp(svc->desc->node, name) == 0 || standby)
			rs_svc_start(self, svc, name, true, false);
	}
	rs_svc_start_pending(self);
}

void rs_node_power_done(rs *self, const char *name, int rc, const char *msg)
{
	rs_node *node = rs_node_find(self, name);
	if (!node)
		return;
	node->power_busy = false;
	if (rc < 0)
		plx_log(PLX_LOG_WARN, "node %s: power cycle failed: %s", name, msg);
	else
		plx_log(PLX_LOG_INFO, "node %s: power cycled%s%s", name, *msg ? ": " : "", msg);
}

/* RS_POWER: an operator's power cycle of a node through its backend, whatever its state: a
 * drill's kill-node where the node is a VM or a machine. Its processes die at once, as in a
 * power failure; RS finds the node dead by its lease, as any lost node, and it boots again.
 * Answered once the backend has the request (the result is logged, as RS's own cycles). */
int do_power(plx_call *call)
{
	rs *self = plx_server_arg(call->server);
	const Plexus__RsRequest *r = (const Plexus__RsRequest *)call->body;
	if (!r->label || !*r->label)
		return -EINVAL;
	rs_node *node = rs_node_find(self, r->label);
	const plx_cluster_node *desc = plx_cluster_find_node(self->cluster, r->label);
	if (!node || !desc)
		return -ESRCH;
	if (desc->power == PLX_POWER_NONE)
		return -ENOTSUP;
	if (node->power_busy)
		return -EBUSY;
	int rc = rs_power_cycle(self, desc);
	if (rc < 0)
		return rc;
	node->power_busy = true;
	node->power_mono = rs_mono_ms(); /* its death by lease, soon, needs no second cycle */
	plx_log(PLX_LOG_INFO, "node %s: power cycle through %s, as asked", node->name,
	        plx_power_name(desc->power));
	return 0;
}

void rs_nodes_tick(rs *self)
{
	int64_t now = rs_mono_ms();
	for (size_t i = 0; i < self->nnodes; i++) {
		rs_node *node = &self->nodes[i];
		if (!node->alive && node->power_mono && !node->power_busy &&
		    now - node->power_mono > RS_POWER_RETRY_MS)
			s_power(self, node);
	}
}
