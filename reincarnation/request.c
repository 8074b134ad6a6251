/*
 * request.c — every request RS sends, one stub each: NODE_START, NODE_SIGNAL and NODE_STOP to
 * a node kernel (node.<name>), IPC_PING to a service instance. All go by asynsend through the
 * families' typed stubs (plexus/node_stub.h, plexus/ipc_stub.h); the replies come back through
 * rs_on_reply (exit.c), matched by request id.
 *
 * Entry points: req_node_start, req_node_start_as, req_node_signal, req_node_signal_slot,
 * req_node_stop, req_ping, req_node_ping, rs_svc_slot.
 *
 * A node kernel knows an instance by its slot: the label, or <label>.spare for an instance
 * started as a warm spare (it keeps that name on its node after its activation).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <plexus/ipc_stub.h>
#include <plexus/link_keys.h>
#include <plexus/node_stub.h>

#include "rs.h"

/* Fills *s with a stub addressing node's kernel (node.<name>, whichever generation the routes
 * know). Returns 0 or -EINVAL. */
static int s_node_stub(rs *self, const char *node, plx_stub *s)
{
	char label[PLX_LABEL_MAX];
	snprintf(label, sizeof label, "node.%.58s", node);
	return plx_stub_init(s, self->ep, label, 0, PLX_FOREVER);
}

/* A service's depth in the dependency graph: 0 with no dependencies, else one more than its
 * deepest dependency. The node kernel stops the deepest first (docs/node-kernel.md). */
static int s_stop_rank(const plx_cluster *c, const plx_cluster_service *d, int guard)
{
	int rank = 0;
	for (size_t i = 0; d && i < d->ndepends && guard < 64; i++) {
		int r = 1 + s_stop_rank(c, plx_cluster_find_service(c, d->depends[i]), guard + 1);
		rank = r > rank ? r : rank;
	}
	return rank;
}

const char *rs_svc_slot(const rs_svc *svc)
{
	return svc->slot[0] ? svc->slot : svc->desc->label;
}

int req_node_start(rs *self, rs_svc *svc, const char *node, bool as_restart, uint64_t *id)
{
	return req_node_start_as(self, svc, node, rs_svc_slot(svc), svc->generation, as_restart,
	                         false, id);
}

int req_node_start_as(rs *self, rs_svc *svc, const char *node, const char *slot,
                      uint64_t generation, bool as_restart, bool spare, uint64_t *id)
{
	const plx_cluster_service *d = svc->desc;
	Plexus__NodeStart m = PLEXUS__NODE_START__INIT;
	m.label = (char *)slot;
	m.program = (char *)d->program;
	m.argv = d->argv;
	m.n_argv = d->argc;
	char init[32], rank[40], callers[PLX_CLUSTER_TEXT_MAX + 16], own[PLX_LABEL_MAX + 24];
	char spare_on[] = "PLEXUS_SPARE=1";
	snprintf(init, sizeof init, "PLEXUS_INIT=%s", as_restart ? "restart" : "fresh");
	snprintf(rank, sizeof rank, "PLEXUS_STOP_RANK=%d", s_stop_rank(self->cluster, d, 0));
	snprintf(callers, sizeof callers, "PLEXUS_CALLERS=%s", d->callers);
	snprintf(own, sizeof own, "PLEXUS_SERVICE_LABEL=%s", d->label);
	char **env = calloc(d->nenv + 5, sizeof *env);
	if (!env)
		return -ENOMEM;
	size_t n = 0;
	if (strcmp(slot, d->label) != 0) /* its label, not the slot the node knows it by */
		env[n++] = own;
	if (spare)
		env[n++] = spare_on;
	env[n++] = init;
	env[n++] = rank;
	if (d->callers[0]) /* who may call it (plx_service_run enforces it) */
		env[n++] = callers;
	for (size_t i = 0; i < d->nenv; i++)
		env[n++] = d->env[i];
	m.env = env;
	m.n_env = n;
	m.generation = generation;
	plx_link_keys keys;
	char cert[PLX_CERT_MAX];
	plx_name who = {.generation = generation};
	snprintf(who.label, sizeof who.label, "%s", d->label);
	int rc = self->issues ? plx_link_issue(self->root_key, &who, &keys, cert, sizeof cert) : 0;
	if (self->issues && rc == 0) { /* on a CURVE link to the node kernel */
		m.link_public_key = keys.public_key;
		m.link_secret_key = keys.secret_key;
		m.link_cert = cert;
	}
	char etcd_user[PLX_HANDOVER_USER_MAX], etcd_pw[PLX_ETCD_PASSWORD_MAX];
	if (rc == 0 &&
	    rs_etcd_service_user(self, svc, etcd_user, sizeof etcd_user, etcd_pw, sizeof etcd_pw)) {
		m.etcd_user = etcd_user;
		m.etcd_password = etcd_pw;
	}
	plx_stub s;
	if (rc == 0 && (rc = s_node_stub(self, node, &s)) == 0)
		rc = plx_node_start_send(&s, &m, NULL, 0, id);
	explicit_bzero(&keys, sizeof keys);
	explicit_bzero(etcd_pw, sizeof etcd_pw);
	free(env);
	return rc;
}

int req_node_signal(rs *self, rs_svc *svc, int signo, uint64_t *id)
{
	return req_node_signal_slot(self, svc->node, rs_svc_slot(svc), signo, id);
}

int req_node_signal_slot(rs *self, const char *node, const char *slot, int signo, uint64_t *id)
{
	Plexus__NodeSignal m = PLEXUS__NODE_SIGNAL__INIT;
	m.label = (char *)slot;
	m.signo = signo;
	plx_stub s;
	int rc = s_node_stub(self, node, &s);
	return rc < 0 ? rc : plx_node_signal_send(&s, &m, NULL, 0, id);
}

int req_node_stop(rs *self, rs_svc *svc, uint64_t *id)
{
	Plexus__NodeStop m = PLEXUS__NODE_STOP__INIT;
	m.label = (char *)rs_svc_slot(svc);
	m.grace_ms = (uint32_t)svc->desc->stop_grace_ms;
	plx_stub s;
	int rc = s_node_stub(self, svc->node, &s);
	return rc < 0 ? rc : plx_node_stop_send(&s, &m, NULL, 0, id);
}

int req_ping(rs *self, rs_svc *svc, uint64_t *id)
{
	Plexus__IpcPing m = PLEXUS__IPC_PING__INIT;
	m.sequence = ++svc->ping_seq;
	plx_stub s;
	int rc = plx_stub_init(&s, self->ep, svc->desc->label, svc->generation, PLX_FOREVER);
	return rc < 0 ? rc : plx_ipc_ping_send(&s, &m, NULL, 0, id);
}

int req_node_ping(rs *self, rs_svc *svc, uint64_t *id)
{
	Plexus__IpcPing m = PLEXUS__IPC_PING__INIT;
	m.sequence = svc->ping_seq;
	plx_stub s;
	int rc = s_node_stub(self, svc->node, &s);
	return rc < 0 ? rc : plx_ipc_ping_send(&s, &m, NULL, 0, id);
}
