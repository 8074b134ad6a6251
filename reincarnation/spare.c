/*
 * spare.c — warm spares (docs/reincarnation.md "Warm spares"): one more generation of a
 * service kept started, connected and ready but not published, activated in one etcd
 * transaction when the active instance crashes.
 *
 * Entry points: rs_spare_tick, rs_spare_ready, rs_spare_activate, rs_spare_drop,
 * rs_spare_exited, rs_spare_start_reply, rs_spare_node_died, rs_spare_adopt, rs_find_slot.
 *
 * A spare of generation G+1 (gen/<label> still says G: the active instance is not fenced)
 * runs on its node under the slot the active instance does not use, <label> or <label>.spare,
 * with PLEXUS_SPARE=1 (and PLEXUS_SERVICE_LABEL=<label> in the .spare slot); once ready it
 * writes spare/<label> (its endpoint record, on its own lease), which RS keeps from its watch.
 * Activation (no read: one transaction) compares
 * gen/<label> == G and spare/<label>'s mod revision, and sets gen/<label> = G+1, ep/<label> =
 * the spare's record on the spare's lease and deletes spare/<label>: clients see a new
 * generation exactly as after a restart. A lost spare is replaced after
 * min(backoff * 2^n, cap) for the n-th lost in a row.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <plexus/log.h>

#include "rs.h"

#define S_SUFFIX    ".spare"
#define S_RETRY_MS  1000 /* a spare whose start could not be sent: tried again after this */
#define S_KILLED_MS 5000 /* a killed spare with no exit report this long is taken as gone */
/* After an activation the next spare starts this much later: the activated instance has the
 * CPU for its first answers. */
#define S_NEXT_MS 100

rs_svc *rs_find_slot(rs *self, const char *slot)
{
	rs_svc *svc = rs_find(self, slot);
	size_t len = strlen(slot), n = strlen(S_SUFFIX);
	if (svc || len <= n || strcmp(slot + len - n, S_SUFFIX) != 0 || len - n >= PLX_LABEL_MAX)
		return svc;
	char label[PLX_LABEL_MAX];
	memcpy(label, slot, len - n);
	label[len - n] = '\0';
	return rs_find(self, label);
}

static void s_publish(rs *self, rs_svc *svc)
{
	char *json = rs_svc_json(self, svc);
	if (json)
		rs_publish(self->pub, svc->desc->label, json);
	free(json);
}

/* Keeps the spare's record, lease and mod revision for the activation (size 0: none). */
static void s_keep(rs_svc *svc, const void *record, size_t size, int64_t lease, int64_t mod)
{
	free(svc->spare_record);
	svc->spare_record = size ? malloc(size) : NULL;
	svc->spare_record_size = svc->spare_record ? size : 0;
	if (svc->spare_record)
		memcpy(svc->spare_record, record, size);
	svc->spare_lease = lease;
	svc->spare_mod = mod;
}

static void s_key(rs *self, const char *kind, const char *label, char *out, size_t size)
{
	snprintf(out, size, "/plexus/%s/%s/%s", self->cluster_name, kind, label);
}

/* The slot the active instance does not use. */
static void s_other_slot(const rs_svc *svc, char *out, size_t size)
{
	const char *label = svc->desc->label;
	if (strcmp(rs_svc_slot(svc), label) == 0)
		snprintf(out, size, "%.56s" S_SUFFIX, label);
	else
		snprintf(out, size, "%s", label);
}

/* gen/<label>'s value, 0 when absent. Returns 0 or an etcd error. */
static int s_counter(rs *self, const char *label, uint64_t *value)
{
	char key[512];
	s_key(self, "gen", label, key, sizeof key);
	plx_kv *kv = NULL;
	int rc = plx_etcd_get(self->etcd, key, &kv);
	*value = rc == 0 ? strtoull((const char *)kv->value, NULL, 10) : 0;
	plx_kv_free(&kv);
	return rc == -ENOENT ? 0 : rc;
}

static void s_lost(rs *self, rs_svc *svc)
{
	s_keep(svc, NULL, 0, 0, 0);
	svc->spare = RS_SPARE_NONE;
	svc->spare_pid = 0;
	svc->spare_fails++;
	svc->spare_due_mono = rs_mono_ms() + rs_backoff_ms(svc->desc, svc->spare_fails);
	s_publish(self, svc);
}

void rs_spare_tick(rs *self, rs_svc *svc)
{
	const plx_cluster_service *d = svc->desc;
	int64_t now = rs_mono_ms();
	if (svc->spare == RS_SPARE_STARTING && now - svc->spare_start_mono > d->init_timeout_ms) {
		rs_spare_drop(self, svc, "not ready in time");
		svc->spare_fails++;
		svc->spare_due_mono = now + rs_backoff_ms(d, svc->spare_fails);
		return;
	}
	if (svc->spare == RS_SPARE_KILLED && now - svc->spare_start_mono > S_KILLED_MS) {
		svc->spare = RS_SPARE_NONE; /* its exit report was lost (a node kernel restart) */
		svc->spare_pid = 0;
		s_publish(self, svc);
	}
	if (!d->has_spare || svc->state != RS_UP || svc->killing || svc->spare != RS_SPARE_NONE ||
	    now < svc->spare_due_mono || !self->leading)
		return;
	const char *node = d->spare_node[0] ? d->spare_node : svc->node;
	rs_node *n = rs_node_find(self, node);
	uint64_t counter;
	if (!n || !n->alive || s_counter(self, d->label, &counter) < 0) {
		svc->spare_due_mono = now + S_RETRY_MS;
		return;
	}
	svc->spare_gen = (counter > svc->generation ? counter : svc->generation) + 1;
	snprintf(svc->spare_node, sizeof svc->spare_node, "%s", node);
	s_other_slot(svc, svc->spare_slot, sizeof svc->spare_slot);
	uint64_t id;
	if (req_node_start_as(self, svc, node, svc->spare_slot, svc->spare_gen, true, true, &id) <
	        0 ||
	    rs_pending_add(self, id, RS_P_SPARE_START, d->label, svc->spare_gen) < 0) {
		svc->spare_due_mono = now + S_RETRY_MS;
		return;
	}
	svc->spare = RS_SPARE_STARTING;
	svc->spare_pid = 0;
	svc->spare_start_mono = now;
	plx_log(PLX_LOG_INFO, "%s: starting warm spare generation %" PRIu64 " on %s as %s",
	        d->label, svc->spare_gen, node, svc->spare_slot);
	s_publish(self, svc);
}

void rs_spare_start_reply(rs *self, const rs_pending *p, int status, int64_t pid)
{
	rs_svc *svc = rs_find(self, p->label);
	if (!svc || svc->spare != RS_SPARE_STARTING || svc->spare_gen != p->generation)
		return;
	if (status == 0) {
		svc->spare_pid = pid;
		s_publish(self, svc);
		return;
	}
	plx_log(PLX_LOG_WARN, "%s: warm spare not started on %s: %s", svc->desc->label,
	        svc->spare_node, plx_strerror(status));
	if (status == -EEXIST) { /* a stray in that slot (an earlier leader's spare) */
		uint64_t id;
		(void)req_node_signal_slot(self, svc->spare_node, svc->spare_slot, SIGKILL, &id);
	}
	s_lost(self, svc);
}

void rs_spare_ready(rs *self, const rs_event *e)
{
	const char *label = e->name;
	uint64_t generation = e->generation;
	rs_svc *svc = rs_find(self, label);
	if (!svc || svc->spare != RS_SPARE_STARTING || svc->spare_gen != generation)
		return;
	s_keep(svc, e->record, e->record_size, e->lease, e->mod_revision);
	plx_log(PLX_LOG_INFO, "%s: warm spare generation %" PRIu64 " ready after %" PRId64 " ms",
	        label, generation, rs_mono_ms() - svc->spare_start_mono);
	svc->spare = RS_SPARE_READY;
	s_publish(self, svc);
}

void rs_spare_drop(rs *self, rs_svc *svc, const char *why)
{
	if (svc->spare == RS_SPARE_NONE || svc->spare == RS_SPARE_KILLED)
		return;
	plx_log(PLX_LOG_INFO, "%s: SIGKILL to warm spare generation %" PRIu64 ": %s",
	        svc->desc->label, svc->spare_gen, why);
	uint64_t id;
	(void)req_node_signal_slot(self, svc->spare_node, svc->spare_slot, SIGKILL, &id);
	svc->spare = RS_SPARE_KILLED;
	svc->spare_start_mono = rs_mono_ms(); /* now: when it was killed */
	s_keep(svc, NULL, 0, 0, 0);
	s_publish(self, svc);
}

bool rs_spare_exited(rs *self, const char *from, const char *slot, uint64_t generation,
                     const char *reason)
{
	rs_svc *svc = rs_find_slot(self, slot);
	if (!svc || svc->spare == RS_SPARE_NONE || svc->spare_gen != generation ||
	    strcmp(svc->spare_slot, slot) != 0)
		return false;
	char node_label[PLX_LABEL_MAX];
	snprintf(node_label, sizeof node_label, "node.%.58s", svc->spare_node);
	if (strcmp(from, node_label) != 0) {
		plx_log(PLX_LOG_INFO, "%s: spare exit report from %s ignored: it runs on %s",
		        svc->desc->label, from, node_label);
		return true;
	}
	plx_log(PLX_LOG_INFO, "%s: warm spare generation %" PRIu64 " on %s ended: %s",
	        svc->desc->label, generation, svc->spare_node, reason);
	if (svc->spare == RS_SPARE_KILLED) { /* RS dropped it: not its fault, replace it at once */
		s_keep(svc, NULL, 0, 0, 0);
		svc->spare = RS_SPARE_NONE;
		svc->spare_pid = 0;
		svc->spare_due_mono = 0;
		s_publish(self, svc);
	} else {
		s_lost(self, svc);
	}
	return true;
}

void rs_spare_node_died(rs *self, const char *node)
{
	for (size_t i = 0; i < self->nsvcs; i++) {
		rs_svc *svc = &self->svcs[i];
		if (svc->spare != RS_SPARE_NONE && strcmp(svc->spare_node, node) == 0) {
			plx_log(PLX_LOG_INFO, "%s: warm spare lost with node %s", svc->desc->label,
			        node);
			svc->spare = RS_SPARE_NONE;
			svc->spare_pid = 0;
			svc->spare_due_mono = 0;
			s_keep(svc, NULL, 0, 0, 0);
			s_publish(self, svc);
		}
	}
}

void rs_spare_adopt(rs *self, rs_svc *svc, const json_t *spare)
{
	const char *st = json_string_value(json_object_get(spare, "state"));
	const char *node = json_string_value(json_object_get(spare, "node"));
	uint64_t gen = (uint64_t)json_integer_value(json_object_get(spare, "generation"));
	if (!st || !node || !*node || !gen || strcmp(st, "none") == 0 || !svc->desc->has_spare)
		return;
	snprintf(svc->spare_node, sizeof svc->spare_node, "%s", node);
	s_other_slot(svc, svc->spare_slot, sizeof svc->spare_slot);
	svc->spare_gen = gen;
	svc->spare_pid = json_integer_value(json_object_get(spare, "pid"));
	svc->spare_start_mono = rs_mono_ms();
	char key[512];
	s_key(self, "spare", svc->desc->label, key, sizeof key);
	plx_kv *kv = NULL;
	plx_endpoint_rec rec;
	bool ready = plx_etcd_get(self->etcd, key, &kv) == 0 &&
	             plx_endpoint_parse((const char *)kv->value, kv->value_size, svc->desc->label,
	                                &rec) == 0 &&
	             rec.generation == gen;
	plx_kv_free(&kv);
	svc->spare = ready ? RS_SPARE_READY : RS_SPARE_STARTING;
	if (!ready)
		rs_spare_drop(self, svc, "adopted before it was ready");
}

/* The transaction, on the record kept when the spare became ready. Returns 1 (activated), 0
 * (the registry disagrees) or an etcd error. */
static int s_activate_txn(rs *self, rs_svc *svc)
{
	const char *label = svc->desc->label;
	char gen_key[512], ep_key[512], spare_key[512], expect[24], next[24];
	if (!svc->spare_record)
		return 0;
	s_key(self, "gen", label, gen_key, sizeof gen_key);
	s_key(self, "ep", label, ep_key, sizeof ep_key);
	s_key(self, "spare", label, spare_key, sizeof spare_key);
	snprintf(expect, sizeof expect, "%" PRIu64, svc->spare_gen - 1);
	snprintf(next, sizeof next, "%" PRIu64, svc->spare_gen);
	plx_cmp cmp[] = {
	    {.key = gen_key,
	     .target = PLX_CMP_VALUE,
	     .value = expect,
	     .value_size = strlen(expect)},
	    {.key = spare_key, .target = PLX_CMP_MOD, .number = svc->spare_mod},
	};
	plx_op ops[] = {
	    {.type = PLX_OP_PUT, .key = gen_key, .value = next, .value_size = strlen(next)},
	    {.type = PLX_OP_PUT,
	     .key = ep_key,
	     .value = svc->spare_record,
	     .value_size = svc->spare_record_size,
	     .lease = svc->spare_lease},
	    {.type = PLX_OP_DELETE, .key = spare_key},
	};
	plx_txn txn = {cmp, 2, ops, 3, NULL, 0};
	return plx_etcd_txn(self->etcd, &txn, NULL);
}

bool rs_spare_activate(rs *self, rs_svc *svc)
{
	rs_node *n = rs_node_find(self, svc->spare_node);
	if (svc->spare != RS_SPARE_READY || !n || !n->alive)
		return false;
	int rc = s_activate_txn(self, svc);
	if (rc != 1) {
		plx_log(PLX_LOG_WARN, "%s: warm spare not activated: %s", svc->desc->label,
		        rc == 0 ? "the registry changed" : plx_strerror(rc));
		rs_spare_drop(self, svc, "not activated");
		return false;
	}
	plx_log(PLX_LOG_INFO, "%s: warm spare generation %" PRIu64 " on %s activated",
	        svc->desc->label, svc->spare_gen, svc->spare_node);
	svc->generation = svc->spare_gen;
	svc->pid = svc->spare_pid;
	snprintf(svc->node, sizeof svc->node, "%s", svc->spare_node);
	snprintf(svc->slot, sizeof svc->slot, "%s", svc->spare_slot);
	svc->spare = RS_SPARE_NONE;
	svc->spare_pid = 0;
	s_keep(svc, NULL, 0, 0, 0);
	svc->spare_fails = 0;
	svc->spare_due_mono = rs_mono_ms() + S_NEXT_MS;
	return true;
}
