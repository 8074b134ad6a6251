/*
 * fence.c — a node that may be declared dead stops its services first.
 *
 * Entry points: node_fence_tick, node_fence_margin_ms.
 *
 * RS declares a node dead when the node's lease expires at etcd, and then starts the node's
 * services elsewhere. A node cut off from etcd cannot learn when that happens, but it knows a
 * bound: etcd counts the TTL from when it handles a renewal, which is after the node sent it,
 * so the lease lives at least until the send time of the last renewal that succeeded plus the
 * TTL (plx_lease_safe_until). On every tick of the loop (100 ms), once less than the margin
 * remains before that bound, the node kernel sends SIGKILL to every service it runs and
 * refuses NODE_START: its services are dead before etcd can expire the lease, so before RS
 * can start them anywhere else. When a renewal succeeds again in time, the fence lifts, and RS
 * learns of the killed services from their exit reports. When a renewal finds the lease gone,
 * the cluster has taken the node for dead, and peers refuse its endpoint's generation for
 * good: the node kernel leaves and executes itself again (main.c), same pid, a new
 * generation and lease, as after a reboot; RS sees the node join again.
 *
 * With renewals every TTL/3 the bound is normally at least two thirds of the TTL ahead; the
 * margin is an eighth of the TTL (at least 250 ms), which covers a tick and the kill (RS then
 * still needs to see the expiry and start a replacement). So a node fences after seven eighths
 * of the TTL without a successful renewal (1.75 s with the default TTL of 2 s), and never
 * while renewals work and answer within half the TTL. Only the loop thread runs this; it
 * never blocks on etcd.
 */
#include <inttypes.h>
#include <stdio.h>

#include <plexus/log.h>

#include "node.h"

#define S_MARGIN_MIN_MS 250

int64_t node_fence_margin_ms(const node_config *cfg)
{
	int64_t margin = (int64_t)cfg->lease_ttl * 1000 / 8;
	return margin < S_MARGIN_MIN_MS ? S_MARGIN_MIN_MS : margin;
}

/* Milliseconds left before the lease's bound minus the margin (negative: fenced). */
static int64_t s_left_ms(const node *self)
{
	return node_register_safe_until(self->reg) - node_fence_margin_ms(self->cfg) -
	       node_mono_ms();
}

bool node_fence_tick(node *self)
{
	if (!self->reg)
		return false;
	int64_t left = s_left_ms(self);
	if (left >= 0) {
		if (self->fenced)
			plx_log(PLX_LOG_INFO, "lease renewed: fence lifted");
		self->fenced = false;
		return false;
	}
	/* a service started since the last tick (NODE_START is refused only once fenced is set)
	 * is killed too */
	int killed = node_services_kill_all(self->services);
	if (!self->fenced || killed > 0)
		plx_log(PLX_LOG_WARN,
		        "fenced: no lease renewal for too long; the lease could expire "
		        "at etcd in %" PRId64 " ms: %d service(s) killed, starts refused",
		        left + node_fence_margin_ms(self->cfg), killed);
	self->fenced = true;
	if (!node_register_expired(self->reg))
		return false;
	plx_log(PLX_LOG_WARN, "the lease expired at etcd: the cluster took this node for "
	                      "dead; starting again as a new generation");
	return true;
}
