/*
 * svc.c — RS's service records as the other components read them (plexus/svc.h).
 *
 * Entry points: plx_svc_coming_back.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include <plexus/svc.h>

bool plx_svc_coming_back(plx_etcd *etcd, const char *cluster, const char *label)
{
	char key[512];
	snprintf(key, sizeof key, "/plexus/%s/svc/%s", cluster, label);
	plx_kv *kv = NULL;
	if (plx_etcd_get(etcd, key, &kv) < 0)
		return false;
	json_t *o = json_loadb((const char *)kv->value, kv->value_size, 0, NULL);
	const char *state = json_string_value(json_object_get(o, "state"));
	static const char *const back[] = {"pending", "starting", "backoff", "waiting", "up"};
	bool coming = false;
	for (size_t i = 0; state && i < sizeof back / sizeof *back; i++)
		coming |= strcmp(state, back[i]) == 0;
	json_decref(o);
	plx_kv_free(&kv);
	return coming;
}
