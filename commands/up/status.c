/*
 * status.c — what the running Plexus says of itself: a service's record (svc/<label>, written
 * by RS) and the status table `plexus up` prints at the end of a boot.
 *
 * Entry points: up_svc_get, up_print_status.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include <plexus/etcd.h>

#include "up.h"

int up_svc_get(plx_etcd *etcd, const char *cluster, const char *label, up_svc *svc)
{
	char key[256];
	plx_kv *kv = NULL;
	snprintf(key, sizeof key, "/plexus/%s/svc/%s", cluster, label);
	int rc = plx_etcd_get(etcd, key, &kv);
	if (rc < 0)
		return rc;
	json_t *o = json_loadb((const char *)kv->value, kv->value_size, 0, NULL);
	plx_kv_free(&kv);
	const char *state = json_string_value(json_object_get(o, "state"));
	if (!o || !state) {
		json_decref(o);
		return -EBADMSG;
	}
	memset(svc, 0, sizeof *svc);
	snprintf(svc->label, sizeof svc->label, "%s", label);
	snprintf(svc->state, sizeof svc->state, "%s", state);
	const char *node = json_string_value(json_object_get(o, "node"));
	const char *last = json_string_value(json_object_get(o, "last_exit"));
	snprintf(svc->node, sizeof svc->node, "%s", node ? node : "");
	snprintf(svc->last_exit, sizeof svc->last_exit, "%s", last ? last : "");
	svc->generation = (uint64_t)json_integer_value(json_object_get(o, "generation"));
	svc->pid = json_integer_value(json_object_get(o, "pid"));
	svc->since_ms = json_integer_value(json_object_get(o, "since"));
	svc->restarts = (uint32_t)json_integer_value(json_object_get(o, "restarts"));
	json_decref(o);
	return 0;
}

int up_print_status(const up_state *st, FILE *out)
{
	plx_etcd_opts eo = {.endpoints = st->etcd, .timeout_ms = 2000};
	plx_etcd *etcd = plx_etcd_new(&eo);
	if (!etcd)
		return -errno;
	char prefix[256];
	plx_kvs *nodes = NULL, *svcs = NULL;
	snprintf(prefix, sizeof prefix, "/plexus/%s/nodes/", st->cluster);
	int rc = plx_etcd_range(etcd, prefix, &nodes);
	snprintf(prefix, sizeof prefix, "/plexus/%s/svc/", st->cluster);
	if (rc >= 0)
		rc = plx_etcd_range(etcd, prefix, &svcs);
	if (rc >= 0) {
		size_t up = 0;
		fprintf(out, "  %-10s %-8s %-10s %-9s %s\n", "SERVICE", "NODE", "GENERATION",
		        "STATE", "RESTARTS");
		for (size_t i = 0; i < svcs->count; i++) {
			up_svc s;
			const char *label = strrchr(svcs->kvs[i].key, '/') + 1;
			if (up_svc_get(etcd, st->cluster, label, &s) < 0)
				continue;
			up += strcmp(s.state, "up") == 0;
			fprintf(out, "  %-10s %-8s %-10llu %-9s %u\n", s.label, s.node,
			        (unsigned long long)s.generation, s.state, s.restarts);
		}
		fprintf(out, "%zu node%s, %zu of %zu services up; etcd %s, cluster %s, state %s\n",
		        nodes->count, nodes->count == 1 ? "" : "s", up, svcs->count, st->etcd,
		        st->cluster, st->dir);
	}
	plx_kvs_free(&nodes);
	plx_kvs_free(&svcs);
	plx_etcd_destroy(&etcd);
	return rc < 0 ? rc : 0;
}
