/*
 * etcd_member.c — questions about the etcd cluster's members rather than its keys.
 *
 * Entry points: plx_etcd_leader.
 *
 * Each member answers /v3/maintenance/status for itself: its own ID (header.member_id) and
 * the ID of the leader it follows (leader, 0 or absent during an election). The member whose
 * two IDs are equal leads. IDs are 64-bit and unsigned, so they are compared as the strings
 * etcd's gateway sends.
 */
#include <errno.h>
#include <string.h>

#include "etcd_internal.h"

/* True when reply is the status of a member that leads. */
static bool s_leads(const json_t *reply)
{
	const json_t *header = json_object_get(reply, "header");
	const char *self = json_string_value(json_object_get(header, "member_id"));
	const char *leader = json_string_value(json_object_get(reply, "leader"));
	return self && leader && strcmp(self, leader) == 0 && strcmp(leader, "0") != 0;
}

int plx_etcd_leader(plx_etcd *self)
{
	size_t answered = 0;
	int error = 0;
	for (size_t i = 0; i < self->nurls; i++) {
		json_t *body = json_object(), *reply = NULL;
		int rc = body ? reg_call_member(self, i, "/v3/maintenance/status", body, &reply)
		              : -ENOMEM;
		json_decref(body);
		if (rc < 0) {
			error = rc;
			continue;
		}
		answered++;
		bool leads = s_leads(reply);
		json_decref(reply);
		if (leads)
			return (int)i;
	}
	if (answered == 0)
		return error; /* its description stays the thread's error */
	return reg_seterr(-EAGAIN, "etcd: no member names itself leader (%zu of %zu answered)",
	                  answered, self->nurls);
}
