/*
 * record.c — what RS says of one service: its RsService description (for `plexus service
 * list`) and the JSON of its svc/<label> record (publish.c writes it, adopt.c reads it back).
 *
 * Entry points: rs_spare_state_name, rs_svc_describe, rs_svc_json.
 *
 * A service with a warm spare has "spare": {"state", "node", "generation", "pid"} too, and
 * one whose active instance started as a spare "slot" (its name on its node, <label>.spare).
 */
#include <jansson.h>

#include "rs.h"

const char *rs_spare_state_name(rs_spare_state s)
{
	switch (s) {
	case RS_SPARE_STARTING:
		return "starting";
	case RS_SPARE_READY:
		return "ready";
	case RS_SPARE_KILLED:
		return "stopping";
	default:
		return "none";
	}
}

void rs_svc_describe(rs_svc *svc, Plexus__RsService *out)
{
	out->label = (char *)svc->desc->label;
	out->node = svc->node;
	out->generation = svc->generation;
	out->state = (char *)rs_state_name(svc->state);
	out->restarts = svc->restarts;
	out->last_exit = svc->last_exit;
	out->since_ms = svc->since_ms;
	out->pid = svc->pid;
	out->policy = (char *)plx_restart_name(svc->desc->restart);
	out->next_ms = svc->state == RS_BACKOFF ? rs_now_ms() + (svc->due_mono - rs_mono_ms()) : 0;
}

char *rs_svc_json(rs *self, rs_svc *svc)
{
	Plexus__RsService d = PLEXUS__RS_SERVICE__INIT;
	rs_svc_describe(svc, &d);
	json_t *o = json_pack(
	    "{s:s, s:s, s:I, s:s, s:I, s:I, s:s, s:I, s:I, s:s, s:I, s:s}", "label", d.label,
	    "node", d.node, "generation", (json_int_t)d.generation, "state", d.state, "restarts",
	    (json_int_t)d.restarts, "streak", (json_int_t)svc->streak, "last_exit", d.last_exit,
	    "since", (json_int_t)d.since_ms, "pid", (json_int_t)d.pid, "policy", d.policy, "next",
	    (json_int_t)d.next_ms, "rs", self->cfg->name);
	if (o && svc->desc->has_spare) /* its warm spare (spare.c) */
		json_object_set_new(
		    o, "spare",
		    json_pack("{s:s, s:s, s:I, s:I}", "state", rs_spare_state_name(svc->spare),
		              "node", svc->spare == RS_SPARE_NONE ? "" : svc->spare_node,
		              "generation",
		              (json_int_t)(svc->spare == RS_SPARE_NONE ? 0 : svc->spare_gen), "pid",
		              (json_int_t)svc->spare_pid));
	if (o && svc->slot[0]) /* the active instance's name on its node, when not the label */
		json_object_set_new(o, "slot", json_string(svc->slot));
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return text;
}
