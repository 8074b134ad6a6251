/*
 * etcd_member.c — questions about the etcd cluster's members rather than its keys.
 *
 * Entry points: plx_etcd_leader, plx_etcd_members, plx_etcd_member_remove, plx_etcd_member_add,
 * plx_etcd_join.
 *
 * Each member answers /v3/maintenance/status for itself: its own ID (header.member_id) and
 * the ID of the leader it follows (leader, 0 or absent during an election). The member whose
 * two IDs are equal leads. IDs are 64-bit and unsigned, so they are compared as the strings
 * etcd's gateway sends.
 */
#include <errno.h>
#include <stdio.h>
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

/* One member of a member list answer into m. Returns false when it is not one. */
static bool s_member_parse(const json_t *json, plx_etcd_member *m)
{
	const char *id = json_string_value(json_object_get(json, "ID"));
	const char *name = json_string_value(json_object_get(json, "name"));
	const char *peer = json_string_value(json_array_get(json_object_get(json, "peerURLs"), 0));
	if (!id || !peer || strlen(id) >= sizeof m->id || strlen(peer) >= sizeof m->peer_url ||
	    (name && strlen(name) >= sizeof m->name))
		return false;
	snprintf(m->id, sizeof m->id, "%s", id);
	snprintf(m->name, sizeof m->name, "%s", name ? name : "");
	snprintf(m->peer_url, sizeof m->peer_url, "%s", peer);
	return true;
}

/* The "members" array of reply into out. Returns how many or -EBADMSG. */
static int s_members_parse(const json_t *reply, plx_etcd_member *out, size_t max)
{
	const json_t *list = json_object_get(reply, "members");
	size_t n = json_array_size(list);
	if (!json_is_array(list) || n == 0 || n > max)
		return reg_seterr(-EBADMSG, "etcd: a member list of %zu (at most %zu expected)", n,
		                  max);
	for (size_t i = 0; i < n; i++)
		if (!s_member_parse(json_array_get(list, i), &out[i]))
			return reg_seterr(-EBADMSG, "etcd: member %zu of the list is malformed", i);
	return (int)n;
}

/* POSTs body (taken) to path and parses the member list of the answer. */
static int s_member_call(plx_etcd *self, const char *path, json_t *body, plx_etcd_member *out,
                         size_t max)
{
	json_t *reply = NULL;
	int rc = body ? reg_call(self, path, body, &reply) : -ENOMEM;
	json_decref(body);
	if (rc == 0 && out)
		rc = s_members_parse(reply, out, max);
	json_decref(reply);
	return rc;
}

int plx_etcd_members(plx_etcd *self, plx_etcd_member *out, size_t max)
{
	return s_member_call(self, "/v3/cluster/member/list", json_object(), out, max);
}

int plx_etcd_member_remove(plx_etcd *self, const char *id)
{
	return s_member_call(self, "/v3/cluster/member/remove", json_pack("{ss}", "ID", id), NULL,
	                     0);
}

int plx_etcd_member_add(plx_etcd *self, const char *peer_url, plx_etcd_member *out, size_t max)
{
	return s_member_call(self, "/v3/cluster/member/add",
	                     json_pack("{s[s]}", "peerURLs", peer_url), out, max);
}

/* --initial-cluster for members (NAME=URL,...): name for the one at peer_url (just added, so
 * without a name yet), m<ID> for another that never started (etcd matches them by URL).
 * Returns 0 or -ENOSPC. */
static int s_initial_cluster(const plx_etcd_member *members, int n, const char *name,
                             const char *peer_url, char *out, size_t size)
{
	size_t len = 0;
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		const plx_etcd_member *m = &members[i];
		bool self = strcmp(m->peer_url, peer_url) == 0;
		int w = snprintf(out + len, size - len, "%s%s%s=%s", len ? "," : "",
		                 self         ? name
		                 : m->name[0] ? m->name
		                              : "m",
		                 self || m->name[0] ? "" : m->id, m->peer_url);
		if (w < 0 || (size_t)w >= size - len)
			return reg_seterr(-ENOSPC, "etcd: the initial cluster is too long");
		len += (size_t)w;
	}
	return 0;
}

int plx_etcd_join(plx_etcd *self, const char *name, const char *peer_url, char *initial,
                  size_t size)
{
	plx_etcd_member members[16];
	int n = plx_etcd_members(self, members, 16);
	if (n == -ECONNREFUSED || n == -ETIMEDOUT || n == -EHOSTUNREACH || n == -ECONNRESET)
		return PLX_ETCD_JOIN_NEW; /* nobody runs yet: the first boot of the cluster */
	if (n < 0)
		return n;
	const plx_etcd_member *old = NULL;
	for (int i = 0; i < n; i++)
		if (strcmp(members[i].peer_url, peer_url) == 0 ||
		    strcmp(members[i].name, name) == 0)
			old = &members[i];
	if (old && !old->name[0] && strcmp(old->peer_url, peer_url) == 0)
		return PLX_ETCD_JOIN_NEW; /* listed, never started: the bootstrap goes on */
	int rc = old ? plx_etcd_member_remove(self, old->id) : 0;
	if (rc == 0 && (rc = plx_etcd_member_add(self, peer_url, members, 16)) > 0)
		rc = s_initial_cluster(members, rc, name, peer_url, initial, size);
	return rc < 0 ? rc : PLX_ETCD_JOIN_EXISTING;
}
