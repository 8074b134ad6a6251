/*
 * adopt.c — a new leader takes over the services its predecessor ran: it reads the svc/
 * records (publish.c writes them) and adopts each instance still running, or treats it as
 * exited.
 *
 * Entry points: rs_adopt.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <plexus/log.h>

#include "rs.h"

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
	const char *slot = json_string_value(json_object_get(o, "slot"));
	snprintf(svc->slot, sizeof svc->slot, "%s", slot ? slot : "");
	rs_spare_adopt(self, svc, json_object_get(o, "spare"));
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
