/*
 * faults.c — the drill's scenarios: what each hits, how, and the course of each fault
 * (drill.h, docs/drills.md "Scenarios").
 *
 * Entry points: drill_scenarios, drill_scenario_find, drill_inject.
 *
 * A fault hits the process of a service's current instance, found from its endpoint record
 * (ep/LABEL: pid and generation), with a signal: SIGKILL for a crash, SIGSTOP for a hang that
 * only RS's heartbeat can find. The process must be a Plexus program of this machine (its
 * /proc entry says so), so a drill never signals a stranger. Then RS's record of the service
 * (svc/LABEL) is read every 10 ms: "detected" is the first time it is no longer the same
 * generation up (RS's verdict), "restarted" the first time a newer generation is up; "first
 * success" is the first call of any writer that succeeded after the injection.
 */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <plexus/endpoint.h>

#include "drill.h"

#define S_POLL_MS 10

const drill_scenario drill_scenarios[] = {
    {"kill-driver", "vdisk", SIGKILL, "SIGKILL to the disk driver under /data"},
    {"hang-driver", "vdisk", SIGSTOP, "SIGSTOP to the disk driver: RS's heartbeat finds it"},
    {"kill-fs", "mfs-data", SIGKILL, "SIGKILL to the file server of /data"},
    {"kill-vfs", "vfs", SIGKILL, "SIGKILL to VFS"},
    {"kill-pfs", "pfs", SIGKILL, "SIGKILL to the pipe server"},
    {NULL, NULL, 0, NULL},
};

const drill_scenario *drill_scenario_find(const char *name)
{
	for (const drill_scenario *s = drill_scenarios; s->name; s++)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

/* RS's record of label: its state and generation. Returns 0 or -errno. */
static int s_svc(plx_etcd *etcd, const char *cluster, const char *label, char *state, size_t size,
                 uint64_t *generation)
{
	char key[256];
	snprintf(key, sizeof key, "/plexus/%s/svc/%s", cluster, label);
	plx_kv *kv = NULL;
	int rc = plx_etcd_get(etcd, key, &kv);
	if (rc < 0)
		return rc;
	json_t *o = json_loadb((const char *)kv->value, kv->value_size, 0, NULL);
	const char *st = json_string_value(json_object_get(o, "state"));
	snprintf(state, size, "%s", st ? st : "");
	*generation = (uint64_t)json_integer_value(json_object_get(o, "generation"));
	json_decref(o);
	plx_kv_free(&kv);
	return st ? 0 : -EBADMSG;
}

/* True when pid runs a Plexus program of this machine ("plexus-..." in /proc/PID/comm). */
static bool s_ours(long pid)
{
	char path[64], comm[64] = "";
	snprintf(path, sizeof path, "/proc/%ld/comm", pid);
	FILE *f = fopen(path, "re");
	if (f) {
		if (!fgets(comm, sizeof comm, f))
			comm[0] = '\0';
		fclose(f);
	}
	return strncmp(comm, "plexus-", 7) == 0;
}

/* Follows fault f until its service is up again (or timeout_ms). */
static void s_follow(plx_etcd *etcd, const char *cluster, drill_workload *w, int timeout_ms,
                     drill_fault *f)
{
	int64_t deadline = f->injected_ms + timeout_ms;
	while (drill_ms() < deadline) {
		char state[32];
		uint64_t gen = 0;
		int64_t now = drill_ms();
		if (s_svc(etcd, cluster, f->label, state, sizeof state, &gen) == 0) {
			bool same = gen == f->generation && strcmp(state, "up") == 0;
			if (!same && f->detected_ms < 0)
				f->detected_ms = now;
			if (gen > f->generation && strcmp(state, "up") == 0 &&
			    f->restarted_ms < 0) {
				f->restarted_ms = now;
				f->new_generation = gen;
			}
		}
		if (f->first_ok_ms < 0)
			f->first_ok_ms = drill_workload_first_ok(w, f->injected_ms);
		if (f->restarted_ms >= 0 && f->first_ok_ms >= 0)
			return;
		struct timespec ts = {0, S_POLL_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
}

void drill_inject(plx_etcd *etcd, const char *cluster, const drill_scenario *sc, drill_workload *w,
                  int timeout_ms, drill_fault *f)
{
	*f = (drill_fault){
	    .injected_ms = -1, .detected_ms = -1, .restarted_ms = -1, .first_ok_ms = -1};
	snprintf(f->scenario, sizeof f->scenario, "%s", sc->name);
	snprintf(f->label, sizeof f->label, "%s", sc->label);
	plx_endpoint_rec rec;
	char state[32];
	uint64_t gen;
	int rc = plx_endpoint_lookup(etcd, cluster, sc->label, &rec);
	if (rc == 0)
		rc = s_svc(etcd, cluster, sc->label, state, sizeof state, &gen);
	if (rc < 0) {
		snprintf(f->error, sizeof f->error, "no record of %s: %s", sc->label,
		         strerror(-rc));
		return;
	}
	f->generation = rec.generation;
	f->pid = (long)rec.pid;
	if (f->pid <= 1 || !s_ours(f->pid)) {
		snprintf(f->error, sizeof f->error,
		         "%s's pid %ld is not a Plexus process of this machine", sc->label, f->pid);
		return;
	}
	drill_workload_first_ok(w, drill_ms()); /* reset before the fault */
	f->injected_ms = drill_ms();
	if (kill((pid_t)f->pid, sc->signal) < 0) {
		snprintf(f->error, sizeof f->error, "kill %ld: %s", f->pid, strerror(errno));
		f->injected_ms = -1;
		return;
	}
	drill_workload_first_ok(w, f->injected_ms);
	s_follow(etcd, cluster, w, timeout_ms, f);
}
