/*
 * react.c — what RS does with the news events.c queued, in the loop's own thread: a node
 * joined or died, a service instance published its endpoint, a power cycle ended; and the
 * resync that reads nodes/ and ep/ again when a watch may have missed something.
 *
 * Entry points: rs_events_drain, rs_resync.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rs.h"

static void s_handle(rs *self, const rs_event *e)
{
	switch (e->kind) {
	case RS_EV_NODE_PUT:
		rs_node_up(self, e->name, e->generation);
		break;
	case RS_EV_NODE_DEL:
		rs_node_down(self, e->name, "its lease expired");
		break;
	case RS_EV_EP_PUT:
		rs_svc_ready(self, e->name, e->generation);
		break;
	case RS_EV_SPARE_PUT:
		rs_spare_ready(self, e);
		break;
	case RS_EV_POWER:
		rs_node_power_done(self, e->name, e->rc, e->msg);
		break;
	case RS_EV_RESYNC:
		rs_resync(self);
		break;
	}
}

void rs_events_drain(rs *self)
{
	rs_event *batch;
	size_t n;
	rs_svc_batch_begin(self); /* the starts these events cause go out together */
	while ((n = rs_events_take(self->events, &batch)) > 0) {
		for (size_t i = 0; i < n; i++)
			s_handle(self, &batch[i]);
		free(batch);
	}
	rs_svc_batch_end(self);
}

/* Applies the current nodes/ records: joins, generation changes, and deaths missed. */
static int s_resync_nodes(rs *self)
{
	char prefix[256];
	snprintf(prefix, sizeof prefix, "/plexus/%s/nodes/", self->cluster_name);
	plx_kvs *kvs = NULL;
	int n = plx_etcd_range(self->etcd, prefix, &kvs);
	if (n < 0)
		return n;
	bool *seen = calloc(self->nnodes + 1, sizeof *seen);
	for (size_t i = 0; i < kvs->count; i++) {
		const char *name = kvs->kvs[i].key + strlen(prefix);
		rs_node *node = rs_node_find(self, name);
		if (node && seen)
			seen[node - self->nodes] = true;
		rs_node_up(self, name, rs_node_record_generation(&kvs->kvs[i]));
	}
	for (size_t i = 0; seen && i < self->nnodes; i++)
		if (!seen[i] && self->nodes[i].alive)
			rs_node_down(self, self->nodes[i].name, "its record is gone");
	free(seen);
	plx_kvs_free(&kvs);
	return 0;
}

int rs_resync(rs *self)
{
	int rc = s_resync_nodes(self);
	if (rc < 0)
		return rc;
	plx_endpoint_rec *recs = NULL;
	int n = plx_endpoint_list(self->etcd, self->cluster_name, &recs, NULL);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++)
		rs_svc_ready(self, recs[i].label, recs[i].generation);
	free(recs);
	return 0;
}
