/*
 * faults.c — the drill's scenarios: what each hits, how, and the course of each fault
 * (drill.h, docs/drills.md "Scenarios").
 *
 * Entry points: drill_scenarios, drill_scenario_find, drill_inject, drill_node_here,
 * drill_fault_back_ms.
 *
 * A fault hits the process of a service's current instance, found from its endpoint record
 * (ep/LABEL: pid and generation), with a signal: SIGKILL for a crash, SIGSTOP for a hang that
 * only RS's heartbeat can find; or the processes of two services at the same moment
 * (kill-vfs-fs: VFS and /data's file server, whose recoveries then overlap), each followed
 * until it is back; or every process of the node it runs on (kill-node: the node's
 * network namespace under plexus up --nodes), which RS finds by the node's lease and answers
 * by starting the services on a standby (kill-node-fs: the node of /data's file server, with
 * its driver followed as the second service; one node kill, s_kill_node, for both); or an
 * etcd member (kill-etcd-member, its pid from the running up's state), after which no
 * service may restart at all; or the link of VFS's node
 * (partition: `ip link set` down on its host end), after which the cut-off instance must be gone
 * — the node fenced itself (docs/node-kernel.md "Fencing") — before RS has the new one up, and
 * the node must come back once the link is mended. The process must be a Plexus
 * program of this machine (its /proc entry says so), so a drill never signals a stranger. Then RS's
 * record of the service (svc/LABEL) is read every 10 ms: "detected" is the first time it is no
 * longer the same generation up (RS's verdict), "restarted" the first time a newer generation is
 * up; "first success" is the first call of any writer that succeeded after the injection (after
 * a power cycle by RS, after the detection: RS's backend cuts the power after RS answered).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <plexus/endpoint.h>
#include <plexus/rs_cli.h>

#include "drill.h"

#define S_POLL_MS          10
#define S_RECORD_WITHIN_MS 120000 /* a service's record follows its start within this */

const drill_scenario drill_scenarios[] = {
    {"kill-driver", "vdisk", NULL, SIGKILL, DRILL_SERVICE,
     "SIGKILL to the disk driver under /data"},
    {"hang-driver", "vdisk", NULL, SIGSTOP, DRILL_SERVICE,
     "SIGSTOP to the disk driver: RS's heartbeat finds it"},
    {"kill-fs", "mfs-data", NULL, SIGKILL, DRILL_SERVICE, "SIGKILL to the file server of /data"},
    {"kill-vfs", "vfs", NULL, SIGKILL, DRILL_SERVICE, "SIGKILL to VFS"},
    {"kill-pfs", "pfs", NULL, SIGKILL, DRILL_SERVICE, "SIGKILL to the pipe server"},
    {"kill-vfs-fs", "vfs", "mfs-data", SIGKILL, DRILL_SERVICE,
     "SIGKILL to VFS and the file server of /data at once"},
    {"kill-node", "vfs", NULL, SIGKILL, DRILL_NODE,
     "SIGKILL to every process of VFS's node (up --nodes; elsewhere RS power-cycles it): "
     "RS moves its services"},
    {"kill-node-fs", "mfs-data", "vdisk", SIGKILL, DRILL_NODE,
     "SIGKILL to every process of the node of /data's file server and its driver (up "
     "--nodes): RS starts both on a standby together, the journal replays"},
    {"kill-etcd-member", "leader", NULL, SIGKILL, DRILL_ETCD,
     "SIGKILL to the etcd member that leads (up --etcd-members 3): no service may restart"},
    {"kill-rs", "rs", NULL, SIGKILL, DRILL_RS,
     "SIGKILL to the RS leader (up --rs-standby): the standby takes over, nothing restarts"},
    {"partition", "vfs", NULL, 0, DRILL_PARTITION,
     "cut VFS's node off (up --nodes): it must stop its services before RS starts them "
     "elsewhere; then the link is mended"},
    {"partition-fs", "mfs-data", NULL, 0, DRILL_PARTITION,
     "cut the node of /data's file server off (up --nodes): the same, and no write of the "
     "cut-off side may reach the disk image after failover"},
    {NULL, NULL, NULL, 0, 0, NULL},
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

/* When process pid started (Unix ms, from /proc/PID/stat's start time after boot and
 * /proc/stat's boot time), or -1. */
static int64_t s_started_ms(long pid)
{
	char path[64], line[1024];
	unsigned long long ticks = 0, btime = 0;
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "re");
	char *end = f && fgets(line, sizeof line, f) ? strrchr(line, ')') : NULL;
	if (f)
		fclose(f);
	if (!end || sscanf(end + 2,
	                   "%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
	                   "%*s %*s %*s %*s %llu",
	                   &ticks) != 1)
		return -1;
	f = fopen("/proc/stat", "re");
	while (f && fgets(line, sizeof line, f) && sscanf(line, "btime %llu", &btime) != 1)
		;
	if (f)
		fclose(f);
	long hz = sysconf(_SC_CLK_TCK);
	return btime && hz > 0
	           ? (int64_t)btime * 1000 + (int64_t)(ticks * 1000 / (unsigned long long)hz)
	           : -1;
}

/* True when pid runs a Plexus program of this machine ("plexus-..." in /proc/PID/comm) that
 * can be the instance whose record says it started at start_ms (-1: not known): no record
 * predates its process, and a service writes its record within S_RECORD_WITHIN_MS of its
 * start (a node kernel writes a new one whenever it registers again: within false), so a
 * process of this machine that merely has the same number as one on another machine (a VM's)
 * is not taken for it. */
static bool s_ours(long pid, int64_t start_ms, bool within)
{
	char path[64], comm[64] = "";
	snprintf(path, sizeof path, "/proc/%ld/comm", pid);
	FILE *f = fopen(path, "re");
	if (f) {
		if (!fgets(comm, sizeof comm, f))
			comm[0] = '\0';
		fclose(f);
	}
	if (strncmp(comm, "plexus-", 7) != 0)
		return false;
	int64_t started = start_ms < 0 ? -1 : s_started_ms(pid);
	return start_ms < 0 || (started >= 0 && start_ms >= started - 1000 &&
	                        (!within || start_ms <= started + S_RECORD_WITHIN_MS));
}

/* One look at the second service f hit (f->also) at now: RS's record of it, and its process. */
static void s_track_also(plx_etcd *etcd, const char *cluster, drill_fault *f, int64_t now)
{
	drill_hit *h = &f->also;
	char state[32];
	uint64_t gen = 0;
	if (s_svc(etcd, cluster, h->label, state, sizeof state, &gen) == 0) {
		bool up = strcmp(state, "up") == 0;
		if (!(up && gen == h->generation) && h->detected_ms < 0)
			h->detected_ms = now;
		if (up && gen > h->generation && h->restarted_ms < 0) {
			h->restarted_ms = now;
			h->new_generation = gen;
		}
	}
	if (f->here && h->old_gone_ms < 0 && kill((pid_t)h->pid, 0) < 0 && errno == ESRCH)
		h->old_gone_ms = now;
}

/* True when f hit no second service, or it is up again and its old process gone. */
static bool s_also_back(const drill_fault *f)
{
	const drill_hit *h = &f->also;
	return !h->label[0] || (h->restarted_ms >= 0 && (h->old_gone_ms >= 0 || !f->here));
}

/* Follows fault f until its service (and the second one, for a pair) is up again (or
 * timeout_ms). */
static void s_follow(plx_etcd *etcd, const char *cluster, drill_workload *w, int timeout_ms,
                     drill_fault *f)
{
	int64_t deadline = f->injected_ms + timeout_ms;
	/* RS answers RS_POWER before its backend has cut the power: until RS finds the node dead,
	 * a call may have been answered by the old instance, so the first success is counted from
	 * the detection */
	bool power = strcmp(f->how, "power cycle by RS") == 0;
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
		int64_t since = power ? f->detected_ms : f->injected_ms;
		if (f->first_ok_ms < 0 && since >= 0)
			f->first_ok_ms = drill_workload_first_ok(w, since);
		if (f->here && f->old_gone_ms < 0 && kill((pid_t)f->pid, 0) < 0 && errno == ESRCH)
			f->old_gone_ms = now;
		if (f->also.label[0])
			s_track_also(etcd, cluster, f, now);
		if (f->restarted_ms >= 0 && f->first_ok_ms >= 0 &&
		    (f->old_gone_ms >= 0 || !f->here) && s_also_back(f))
			return;
		struct timespec ts = {0, S_POLL_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
}

/* The network namespace of pid (its /proc link text), or "" when it cannot be read. */
static void s_netns(long pid, char *out, size_t size)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/ns/net", pid);
	ssize_t n = readlink(path, out, size - 1);
	out[n > 0 ? n : 0] = '\0';
}

#define S_NODE_PIDS_MAX 4096

/* The processes in network namespace ns (s_netns's text) into pids, at most max. Returns how
 * many. */
static size_t s_netns_pids(const char *ns, long *pids, size_t max)
{
	char other[64];
	size_t n = 0;
	DIR *d = opendir("/proc");
	for (struct dirent *e; d && n < max && (e = readdir(d));) {
		long pid = strtol(e->d_name, NULL, 10);
		if (pid <= 1)
			continue;
		s_netns(pid, other, sizeof other);
		if (strcmp(other, ns) == 0)
			pids[n++] = pid;
	}
	if (d)
		closedir(d);
	return n;
}

/* True when a node other than node is up to take its services; else says so in f->error. */
static bool s_failover_node(plx_etcd *etcd, const char *cluster, const char *node, drill_fault *f)
{
	plx_endpoint_rec *recs = NULL;
	int n = plx_endpoint_list(etcd, cluster, &recs, NULL);
	char mine[PLX_LABEL_MAX + 8];
	snprintf(mine, sizeof mine, "node.%s", node);
	int others = 0;
	for (int i = 0; i < n; i++)
		others +=
		    strncmp(recs[i].label, "node.", 5) == 0 && strcmp(recs[i].label, mine) != 0;
	free(recs);
	if (others == 0)
		snprintf(f->error, sizeof f->error,
		         "node %.40s is the only node up: no other to take its services", node);
	return others > 0;
}

/* The network namespace of node's kernel (s_netns's text) into ns: a Plexus process of this
 * machine in a namespace other than the drill's (plexus up --nodes). Returns 0 or -errno with
 * f->error set (naming f->scenario). */
static int s_node_netns(plx_etcd *etcd, const char *cluster, const char *node, char *ns,
                        size_t size, drill_fault *f)
{
	char label[80], mine[64];
	plx_endpoint_rec rec;
	snprintf(label, sizeof label, "node.%s", node);
	if (plx_endpoint_lookup(etcd, cluster, label, &rec) < 0 ||
	    !s_ours((long)rec.pid, rec.start_time, false)) {
		snprintf(f->error, sizeof f->error, "no node kernel of node %.40s here", node);
		return -ENOENT;
	}
	s_netns((long)rec.pid, ns, size);
	s_netns((long)getpid(), mine, sizeof mine);
	if (!ns[0] || strcmp(ns, mine) == 0) {
		snprintf(
		    f->error, sizeof f->error,
		    "node %.40s shares this machine's network: %.31s needs plexus up --nodes N",
		    node, f->scenario);
		return -EINVAL;
	}
	return 0;
}

/* SIGKILL to every process in the network namespace of the node kernel of node, when another
 * node is up to take its services: the one node kill of every node scenario (kill-node,
 * kill-node-fs). Returns how many, or -errno with f->error set. */
static int s_kill_node(plx_etcd *etcd, const char *cluster, const char *node, drill_fault *f)
{
	char ns[64];
	int rc = s_node_netns(etcd, cluster, node, ns, sizeof ns, f);
	if (rc < 0)
		return rc;
	if (!s_failover_node(etcd, cluster, node, f))
		return -EHOSTDOWN;
	long pids[S_NODE_PIDS_MAX];
	size_t n = s_netns_pids(ns, pids, S_NODE_PIDS_MAX);
	int killed = 0;
	for (size_t i = 0; i < n; i++)
		killed += kill((pid_t)pids[i], SIGKILL) == 0;
	return killed;
}

bool drill_node_here(plx_etcd *etcd, const char *cluster, const char *label)
{
	plx_endpoint_rec rec;
	drill_fault f = {0};
	char ns[64];
	return plx_endpoint_lookup(etcd, cluster, label, &rec) == 0 &&
	       s_node_netns(etcd, cluster, rec.node, ns, sizeof ns, &f) == 0;
}

/* The pid of the etcd member at index (0 is "etcd", i is "etcdI") in the running up's state
 * file, or -1; *members gets how many it lists. */
static long s_etcd_member(int index, int *members)
{
	const char *dir = getenv("PLEXUS_STATE_DIR");
	char path[4096], line[512], key[64], proc[64], name[16];
	long pid = -1, p;
	*members = 0;
	if (index == 0)
		snprintf(name, sizeof name, "etcd");
	else
		snprintf(name, sizeof name, "etcd%d", index);
	snprintf(path, sizeof path, "%s/state", dir ? dir : "");
	FILE *f = dir ? fopen(path, "re") : NULL;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "%63s %63s %ld", key, proc, &p) == 3 && strcmp(key, "proc") == 0 &&
		    strncmp(proc, "etcd", 4) == 0) {
			(*members)++;
			if (strcmp(proc, name) == 0)
				pid = p;
		}
	if (f)
		fclose(f);
	return pid;
}

/* The client URL at index of the comma-separated list urls into out; false past its end. */
static bool s_url_at(const char *urls, int index, char *out, size_t size)
{
	for (int i = 0; urls && *urls; i++) {
		size_t len = strcspn(urls, ",");
		if (i == index) {
			snprintf(out, size, "%.*s", (int)len, urls);
			return len > 0;
		}
		urls += len + (urls[len] == ',');
	}
	return false;
}

/* Whether process pid is an etcd whose --listen-client-urls names url. */
static bool s_etcd_serves(long pid, const char *url)
{
	char path[64], comm[32] = "", cmd[8192];
	snprintf(path, sizeof path, "/proc/%ld/comm", pid);
	FILE *f = fopen(path, "re");
	bool named = f && fgets(comm, sizeof comm, f) && strcmp(comm, "etcd\n") == 0;
	if (f)
		fclose(f);
	snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
	f = named ? fopen(path, "re") : NULL;
	size_t n = f ? fread(cmd, 1, sizeof cmd - 1, f) : 0;
	if (f)
		fclose(f);
	cmd[n] = '\0';
	for (size_t i = 0; i < n; i += strlen(cmd + i) + 1) /* arguments, NUL-separated */
		if (strcmp(cmd + i, "--listen-client-urls") == 0 && i + strlen(cmd + i) + 1 < n) {
			const char *value = cmd + i + strlen(cmd + i) + 1, *at = strstr(value, url);
			size_t len = strlen(url);
			return at && (at[len] == '\0' || at[len] == ',' || at[len] == '/');
		}
	return false;
}

/* Not under plexus up: the etcd process of this machine serving the member at index of the
 * drill's own list ($PLEXUS_ETCD, whose order plx_etcd_leader counts in) — a QEMU cluster's
 * hub members, seen from the hub — or -1; *members gets how many the list names. */
static long s_etcd_process(int index, int *members)
{
	const char *urls = getenv("PLEXUS_ETCD");
	char url[256];
	*members = 0;
	while (s_url_at(urls, *members, url, sizeof url))
		(*members)++;
	if (!s_url_at(urls, index, url, sizeof url))
		return -1;
	DIR *d = opendir("/proc");
	long pid = -1;
	for (struct dirent *e; d && pid < 0 && (e = readdir(d));) {
		long p = strtol(e->d_name, NULL, 10);
		if (p > 1 && s_etcd_serves(p, url))
			pid = p;
	}
	if (d)
		closedir(d);
	return pid;
}

/* The longest TTL the nodes' leases were granted with, in ms (2 s when none answers). */
static int s_node_ttl_ms(plx_etcd *etcd, const char *cluster)
{
	char prefix[256];
	snprintf(prefix, sizeof prefix, "/plexus/%s/nodes/", cluster);
	plx_kvs *kvs = NULL;
	int ttl = 2;
	if (plx_etcd_range(etcd, prefix, &kvs) < 0)
		return ttl * 1000;
	for (size_t i = 0; i < kvs->count; i++) {
		int t = kvs->kvs[i].lease ? plx_etcd_lease_granted_ttl(etcd, kvs->kvs[i].lease) : 0;
		ttl = t > ttl ? t : ttl;
	}
	plx_kvs_free(&kvs);
	return ttl * 1000;
}

#define S_SERVICES_MAX 64

typedef struct s_gens {
	char labels[S_SERVICES_MAX][64];
	uint64_t gens[S_SERVICES_MAX];
	int n;
} s_gens;

/* Every service's generation from RS's records. */
static void s_generations(plx_etcd *etcd, const char *cluster, s_gens *g)
{
	char prefix[256];
	snprintf(prefix, sizeof prefix, "/plexus/%s/svc/", cluster);
	plx_kvs *kvs = NULL;
	g->n = 0;
	if (plx_etcd_range(etcd, prefix, &kvs) < 0)
		return;
	for (size_t i = 0; i < kvs->count && g->n < S_SERVICES_MAX; i++) {
		json_t *o =
		    json_loadb((const char *)kvs->kvs[i].value, kvs->kvs[i].value_size, 0, NULL);
		snprintf(g->labels[g->n], sizeof g->labels[g->n], "%s",
		         strrchr(kvs->kvs[i].key, '/') + 1);
		g->gens[g->n++] = (uint64_t)json_integer_value(json_object_get(o, "generation"));
		json_decref(o);
	}
	plx_kvs_free(&kvs);
}

/* SIGKILL to f->pid, noting when; false (with f->error) when it could not be sent. */
static bool s_kill_noted(drill_workload *w, drill_fault *f)
{
	drill_workload_first_ok(w, drill_ms());
	f->injected_ms = drill_ms();
	if (kill((pid_t)f->pid, SIGKILL) < 0) {
		snprintf(f->error, sizeof f->error, "kill %ld: %s", f->pid, strerror(errno));
		f->injected_ms = -1;
		return false;
	}
	drill_workload_first_ok(w, f->injected_ms);
	return true;
}

/* Waits two of the nodes' lease TTLs (what would restart has restarted by then), notes the
 * first client success, and sets f->error ("LABEL restarted_how ...") when a generation
 * differs from before's. Returns true when none does. */
static bool s_none_restarted(plx_etcd *etcd, const char *cluster, const s_gens *before,
                             const char *restarted_how, drill_workload *w, drill_fault *f)
{
	int wait_ms = 2 * s_node_ttl_ms(etcd, cluster);
	struct timespec ts = {wait_ms / 1000, (wait_ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
	f->first_ok_ms = drill_workload_first_ok(w, f->injected_ms);
	s_gens after;
	s_generations(etcd, cluster, &after);
	for (int i = 0; i < before->n; i++)
		for (int j = 0; j < after.n; j++)
			if (strcmp(before->labels[i], after.labels[j]) == 0 &&
			    before->gens[i] != after.gens[j]) {
				snprintf(f->error, sizeof f->error,
				         "%s %s (generation %llu to %llu)", before->labels[i],
				         restarted_how, (unsigned long long)before->gens[i],
				         (unsigned long long)after.gens[j]);
				return false;
			}
	return true;
}

/* kill-etcd-member: the member that leads dies; for two of the nodes' lease TTLs after (what
 * would restart has restarted by then), no service may restart. */
static void s_etcd_fault(plx_etcd *etcd, const char *cluster, drill_workload *w, drill_fault *f)
{
	int members, leader = plx_etcd_leader(etcd);
	f->pid = s_etcd_member(leader < 0 ? 0 : leader, &members);
	if (members == 0)
		f->pid = s_etcd_process(leader < 0 ? 0 : leader, &members);
	if (members >= 3 && leader < 0) {
		snprintf(f->error, sizeof f->error, "no etcd member leads: %s", plx_etcd_errmsg());
		return;
	}
	snprintf(f->label, sizeof f->label, leader > 0 ? "etcd%d (leader)" : "etcd (leader)",
	         leader);
	if (members < 3 || f->pid <= 1) {
		snprintf(f->error, sizeof f->error,
		         members < 3
		             ? "%d etcd member%s here: kill-etcd-member needs plexus up "
		               "--etcd-members 3 (or, not under up, three of this machine in "
		               "PLEXUS_ETCD)"
		             : "the leading etcd member (%d of the list%s) is no process of "
		               "this machine",
		         members < 3 ? members : leader + 1,
		         members < 3 ? (members == 1 ? "" : "s") : "");
		return;
	}
	s_gens before;
	s_generations(etcd, cluster, &before);
	if (s_kill_noted(w, f) && s_none_restarted(etcd, cluster, &before, "restarted", w, f))
		f->restarted_ms = f->injected_ms; /* nothing had to come back */
}

/* The value of key in the running up's state file into out; false when absent. */
static bool s_state_value(const char *key, char *out, size_t size)
{
	const char *dir = getenv("PLEXUS_STATE_DIR");
	char path[4096], line[512], k[64], v[256];
	snprintf(path, sizeof path, "%s/state", dir ? dir : "");
	FILE *f = dir ? fopen(path, "re") : NULL;
	bool found = false;
	while (f && !found && fgets(line, sizeof line, f))
		if (sscanf(line, "%63s %255s", k, v) == 2 && strcmp(k, key) == 0) {
			snprintf(out, size, "%.*s", (int)size - 1, v);
			found = true;
		}
	if (f)
		fclose(f);
	return found;
}

/* `ip link set LINK up|down`. Returns its exit status or -1. */
static int s_link(const char *link, const char *how)
{
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execlp("ip", "ip", "link", "set", link, how, (char *)NULL);
		_exit(127);
	}
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The link to cut for node, into out: the host's end of its veth under plexus up --nodes
 * (plxv<tag>n<i>, the bridge being plxb<tag>), else the port of a bridge of this machine
 * behind which its kernel's address lives (a QEMU cluster's tap, run in its hub). Returns 0
 * or -ENOENT with f->error set. */
static int s_node_link(const plx_endpoint_rec *kernel, char *out, size_t size, drill_fault *f)
{
	char bridge[128], ip[64] = "";
	const char *node = kernel->node;
	if (s_state_value("bridge", bridge, sizeof bridge) && strncmp(bridge, "plxb", 4) == 0 &&
	    node[0] == 'n') {
		snprintf(out, size, "plxv%.60s%.40s", bridge + 4, node);
		return 0;
	}
	const char *tcp = strstr(kernel->address, "tcp://");
	if (tcp)
		snprintf(ip, sizeof ip, "%.*s", (int)strcspn(tcp + 6, ":"), tcp + 6);
	if (ip[0] && drill_bridge_port(ip, out, size) == 0)
		return 0;
	snprintf(f->error, sizeof f->error,
	         "no link of node %.40s (%.40s) here: partition needs plexus up --nodes N, or a "
	         "bridge of this machine the node hangs on (a QEMU cluster's hub)",
	         node, ip[0] ? ip : "no address");
	return -ENOENT;
}

#define S_HEAL_MS 30000 /* a mended node's kernel starts again and registers within this */
#define S_MEND_MS 10000 /* the link mended this long after RS's verdict when nothing restarted */

/* After the link is back: waits until node's kernel registered again (a newer generation),
 * for at most within_ms. */
static void s_heal(plx_etcd *etcd, const char *cluster, const char *node, uint64_t before,
                   int within_ms, drill_fault *f)
{
	char label[80];
	snprintf(label, sizeof label, "node.%s", node);
	for (int64_t deadline = drill_ms() + within_ms; drill_ms() < deadline;) {
		plx_endpoint_rec rec;
		if (plx_endpoint_lookup(etcd, cluster, label, &rec) == 0 &&
		    rec.generation > before) {
			f->healed_ms = drill_ms();
			return;
		}
		struct timespec ts = {0, 50 * 1000000L};
		nanosleep(&ts, NULL);
	}
}

/* The disk watch's verdict on the cut-off side's processes: writes before failover (while the
 * fence was pending) are allowed, any after RS had the service up elsewhere is an error. */
static void s_disk_verdict(drill_diskwatch *disk, const long *cut, size_t ncut, drill_fault *f)
{
	if (!disk || f->injected_ms < 0)
		return; /* not watched: the report leaves the counts out */
	int64_t failover = f->restarted_ms >= 0 ? f->restarted_ms : INT64_MAX;
	f->cut_writes = drill_diskwatch_count(disk, cut, ncut, f->injected_ms, failover);
	f->cut_writes_late = drill_diskwatch_count(disk, cut, ncut, failover, INT64_MAX);
	if (f->cut_writes_late > 0 && !f->error[0])
		snprintf(f->error, sizeof f->error,
		         "%lld writes of the cut-off side reached /data's image after generation "
		         "%llu was up",
		         (long long)f->cut_writes_late, (unsigned long long)f->new_generation);
}

/* The cut: followed until the service restarted elsewhere, or for S_MEND_MS after RS's
 * verdict when it has nowhere else to go (no standby: RS power-cycles the node, which comes
 * back once mended). */
static void s_follow_cut(plx_etcd *etcd, const char *cluster, drill_workload *w, int timeout_ms,
                         drill_fault *f)
{
	int64_t end = f->injected_ms + timeout_ms;
	while (drill_ms() < end && f->restarted_ms < 0 &&
	       (f->detected_ms < 0 || drill_ms() < f->detected_ms + S_MEND_MS))
		s_follow(etcd, cluster, w, (int)(drill_ms() - f->injected_ms) + 500, f);
}

/* partition: VFS's node cut off at its link; followed as a kill; then (when it ran here) the
 * old instance must have been gone (the node fenced itself) before the new one was up, and
 * once the link is mended the node comes back. A node elsewhere (a QEMU VM behind this
 * machine's bridge) is cut at its bridge port: its processes are not seen from here, so
 * "gone before" and the disk witness are not measured; that it fenced shows as its kernel's
 * new generation after the mend. */
static void s_partition(plx_etcd *etcd, const char *cluster, const plx_endpoint_rec *rec,
                        drill_workload *w, int timeout_ms, drill_fault *f)
{
	char link[160], label[80];
	plx_endpoint_rec kernel = {0};
	snprintf(label, sizeof label, "node.%s", rec->node);
	if (plx_endpoint_lookup(etcd, cluster, label, &kernel) < 0) {
		snprintf(f->error, sizeof f->error, "no node kernel of node %.40s", rec->node);
		return;
	}
	if (s_node_link(&kernel, link, sizeof link, f) < 0 ||
	    !s_failover_node(etcd, cluster, rec->node, f))
		return;
	/* the cut-off side: every process of the node now; the kernel tells who writes the disk */
	char ns[64] = "", image[4096];
	static long cut[S_NODE_PIDS_MAX];
	if (f->here)
		s_netns((long)kernel.pid, ns, sizeof ns);
	size_t ncut = ns[0] ? s_netns_pids(ns, cut, S_NODE_PIDS_MAX) : 0;
	drill_diskwatch *disk = f->here && drill_data_image(image, sizeof image) == 0
	                            ? drill_diskwatch_start(image)
	                            : NULL;
	drill_workload_first_ok(w, drill_ms());
	f->injected_ms = drill_ms();
	snprintf(f->how, sizeof f->how, "link %.22s cut", link);
	if (s_link(link, "down") != 0) {
		snprintf(f->error, sizeof f->error, "ip link set %s down failed", link);
		f->injected_ms = -1;
		drill_diskwatch_stop(&disk);
		return;
	}
	drill_workload_first_ok(w, f->injected_ms);
	s_follow_cut(etcd, cluster, w, timeout_ms, f);
	if (s_link(link, "up") != 0)
		snprintf(f->error, sizeof f->error, "ip link set %s up failed", link);
	s_follow(etcd, cluster, w, timeout_ms, f);
	if (!f->error[0] && f->here && f->restarted_ms >= 0 &&
	    (f->old_gone_ms < 0 || f->old_gone_ms > f->restarted_ms))
		snprintf(
		    f->error, sizeof f->error,
		    "the cut-off %s (pid %ld) still ran when generation %llu was up: two at once",
		    f->label, f->pid, (unsigned long long)f->new_generation);
	s_heal(etcd, cluster, rec->node, kernel.generation, f->here ? S_HEAL_MS : timeout_ms, f);
	if (!f->error[0] && f->healed_ms < 0)
		snprintf(f->error, sizeof f->error, "node %.40s did not come back after the mend",
		         rec->node);
	s_disk_verdict(disk, cut, ncut, f);
	drill_diskwatch_stop(&disk);
}

/* The RS leader's name and pid from rs/leader; false when none holds it. */
static bool s_rs_leader(plx_etcd *etcd, const char *cluster, char *name, size_t size, long *pid)
{
	char key[256];
	snprintf(key, sizeof key, "/plexus/%s/rs/leader", cluster);
	plx_kv *kv = NULL;
	if (plx_etcd_get(etcd, key, &kv) < 0)
		return false;
	json_t *o = json_loadb((const char *)kv->value, kv->value_size, 0, NULL);
	const char *n = json_string_value(json_object_get(o, "name"));
	snprintf(name, size, "%s", n ? n : "");
	*pid = (long)json_integer_value(json_object_get(o, "pid"));
	json_decref(o);
	plx_kv_free(&kv);
	return n != NULL;
}

/* kill-rs: the leader dies; detected when its key is gone, "restarted" when the standby
 * holds it; then for two lease TTLs no service may restart (none started twice). */
static void s_rs_fault(plx_etcd *etcd, const char *cluster, drill_workload *w, int timeout_ms,
                       drill_fault *f)
{
	char leader[64];
	if (!s_rs_leader(etcd, cluster, leader, sizeof leader, &f->pid) ||
	    !s_ours(f->pid, -1, false)) {
		snprintf(f->error, sizeof f->error, "no RS leader of this machine to kill");
		return;
	}
	char path[4096], line[512]; /* the running up's state lists a standby RS */
	const char *dir = getenv("PLEXUS_STATE_DIR");
	snprintf(path, sizeof path, "%s/state", dir ? dir : "");
	FILE *st = dir ? fopen(path, "re") : NULL;
	bool has_standby = false;
	while (st && fgets(line, sizeof line, st))
		has_standby = has_standby || strncmp(line, "proc rs-standby ", 16) == 0;
	if (st)
		fclose(st);
	if (!has_standby) {
		snprintf(f->error, sizeof f->error,
		         "no standby RS here: kill-rs needs plexus up --rs-standby");
		return;
	}
	s_gens before;
	s_generations(etcd, cluster, &before);
	if (!s_kill_noted(w, f))
		return;
	for (int64_t deadline = f->injected_ms + timeout_ms; drill_ms() < deadline;) {
		char now_leader[64] = "";
		long pid = 0;
		bool held = s_rs_leader(etcd, cluster, now_leader, sizeof now_leader, &pid);
		int64_t now = drill_ms();
		if (f->old_gone_ms < 0 && kill((pid_t)f->pid, 0) < 0 && errno == ESRCH)
			f->old_gone_ms = now;
		if (f->detected_ms < 0 && (!held || pid != f->pid))
			f->detected_ms = now;
		if (held && pid != f->pid) {
			f->restarted_ms = now;
			snprintf(f->label, sizeof f->label, "rs (%.40s)", now_leader);
			break;
		}
		struct timespec ts = {0, S_POLL_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (f->restarted_ms >= 0)
		s_none_restarted(etcd, cluster, &before, "started again by the new leader", w, f);
}

/* A service's crash or hang sent by RS through the service's node kernel (RS_SIGNAL), as an
 * operator asks for it: what a drill does where the service does not run on this machine.
 * Returns false with f->error set when RS did not send it. */
static bool s_rs_signal(plx_etcd *etcd, const char *cluster, const char *label, int signo,
                        uint64_t *generation, drill_fault *f)
{
	char err[512];
	uint64_t gen = 0;
	if (plx_rs_signal(etcd, cluster, label, signo, 10000, &gen, err, sizeof err) < 0) {
		snprintf(f->error, sizeof f->error, "RS_SIGNAL %.40s: %.180s", label, err);
		return false;
	}
	*generation = gen ? gen : *generation;
	return true;
}

/* The same for sc's service and, right after, the second one of a pair (its failure is the
 * fault's error, the first one being hit already). */
static void s_signal_through_rs(plx_etcd *etcd, const char *cluster, const drill_scenario *sc,
                                drill_workload *w, int timeout_ms, drill_fault *f)
{
	drill_workload_first_ok(w, drill_ms());
	f->injected_ms = drill_ms();
	if (!s_rs_signal(etcd, cluster, sc->label, sc->signal, &f->generation, f)) {
		f->injected_ms = -1;
		return;
	}
	if (sc->also)
		s_rs_signal(etcd, cluster, sc->also, sc->signal, &f->also.generation, f);
	snprintf(f->how, sizeof f->how, "through RS");
	drill_workload_first_ok(w, f->injected_ms);
	s_follow(etcd, cluster, w, timeout_ms, f);
}

/* kill-node where the node is a VM or a machine: RS power-cycles it through its backend
 * (RS_POWER, as plexus node cycle does); every process of it dies at once. */
static void s_power_through_rs(plx_etcd *etcd, const char *cluster, const char *node,
                               drill_workload *w, int timeout_ms, drill_fault *f)
{
	if (!s_failover_node(etcd, cluster, node, f))
		return;
	char err[512];
	drill_workload_first_ok(w, drill_ms());
	f->injected_ms = drill_ms();
	int rc = plx_rs_power(etcd, cluster, node, 10000, err, sizeof err);
	if (rc < 0) {
		snprintf(f->error, sizeof f->error, "RS_POWER %.40s: %.180s", node,
		         rc == -ENOTSUP ? "it has no power backend (power = none)" : err);
		f->injected_ms = -1;
		return;
	}
	snprintf(f->how, sizeof f->how, "power cycle by RS");
	drill_workload_first_ok(w, f->injected_ms);
	s_follow(etcd, cluster, w, timeout_ms, f);
}

/* The current instance of label: its endpoint record, once RS has a record of it too. Returns 0
 * or -errno with f->error set. */
static int s_instance(plx_etcd *etcd, const char *cluster, const char *label, plx_endpoint_rec *rec,
                      drill_fault *f)
{
	char state[32];
	uint64_t gen;
	int rc = plx_endpoint_lookup(etcd, cluster, label, rec);
	if (rc == 0)
		rc = s_svc(etcd, cluster, label, state, sizeof state, &gen);
	if (rc < 0)
		snprintf(f->error, sizeof f->error, "no record of %s: %s", label, strerror(-rc));
	return rc;
}

/* The instances sc hits into f (the second one of a pair into f->also); f->here when all run
 * on this machine as Plexus programs. Returns 0 or -errno with f->error set. */
static int s_instances(plx_etcd *etcd, const char *cluster, const drill_scenario *sc,
                       plx_endpoint_rec *rec, drill_fault *f)
{
	plx_endpoint_rec also;
	if (s_instance(etcd, cluster, sc->label, rec, f) < 0 ||
	    (sc->also && s_instance(etcd, cluster, sc->also, &also, f) < 0))
		return -ENOENT;
	if (sc->also && sc->kind == DRILL_NODE && strcmp(also.node, rec->node) != 0) {
		snprintf(f->error, sizeof f->error,
		         "%.40s runs on node %.40s, not on %.40s's node %.40s: %.31s hits one node",
		         sc->also, also.node, sc->label, rec->node, sc->name);
		return -EXDEV;
	}
	f->generation = rec->generation;
	f->pid = (long)rec->pid;
	f->here = f->pid > 1 && s_ours(f->pid, rec->start_time, true);
	if (sc->also) {
		snprintf(f->also.label, sizeof f->also.label, "%s", sc->also);
		f->also.generation = also.generation;
		f->also.pid = (long)also.pid;
		f->here = f->here && f->also.pid > 1 && s_ours(f->also.pid, also.start_time, true);
	}
	return 0;
}

/* sc's signal to f's process and, for a pair, to the other's right after: one moment, two
 * kill(2) calls in a row. False with f->error set when the first could not be sent (the
 * second's failure is the fault's error too, but the first is hit and followed). */
static bool s_signal_here(const drill_scenario *sc, drill_fault *f)
{
	if (kill((pid_t)f->pid, sc->signal) < 0) {
		snprintf(f->error, sizeof f->error, "kill %ld: %s", f->pid, strerror(errno));
		return false;
	}
	if (sc->also && kill((pid_t)f->also.pid, sc->signal) < 0)
		snprintf(f->error, sizeof f->error, "kill %ld (%s): %s", f->also.pid, f->also.label,
		         strerror(errno));
	return true;
}

/* kill-node here: SIGKILL to every process of node's network namespace. False with f->error
 * set when nothing was killed. */
static bool s_node_here(plx_etcd *etcd, const char *cluster, const char *node, drill_fault *f)
{
	if (s_kill_node(etcd, cluster, node, f) > 0)
		return true;
	if (!f->error[0])
		snprintf(f->error, sizeof f->error, "nothing to kill on %s", node);
	return false;
}

void drill_inject(plx_etcd *etcd, const char *cluster, const drill_scenario *sc, drill_workload *w,
                  const drill_how *how, drill_fault *f)
{
	int timeout_ms = how->timeout_ms;
	*f = (drill_fault){.injected_ms = -1,
	                   .detected_ms = -1,
	                   .restarted_ms = -1,
	                   .first_ok_ms = -1,
	                   .old_gone_ms = -1,
	                   .healed_ms = -1,
	                   .cut_writes = -1,
	                   .cut_writes_late = -1,
	                   .also = {.detected_ms = -1, .restarted_ms = -1, .old_gone_ms = -1}};
	snprintf(f->scenario, sizeof f->scenario, "%s", sc->name);
	snprintf(f->label, sizeof f->label, "%s", sc->label);
	if (sc->kind == DRILL_ETCD) {
		s_etcd_fault(etcd, cluster, w, f);
		return;
	}
	if (sc->kind == DRILL_RS) {
		s_rs_fault(etcd, cluster, w, timeout_ms, f);
		return;
	}
	plx_endpoint_rec rec;
	if (s_instances(etcd, cluster, sc, &rec, f) < 0)
		return;
	if (sc->kind == DRILL_SERVICE && (how->through_rs || !f->here)) {
		s_signal_through_rs(etcd, cluster, sc, w, timeout_ms, f);
		return;
	}
	if (sc->kind == DRILL_NODE && (how->through_rs || !f->here)) {
		s_power_through_rs(etcd, cluster, rec.node, w, timeout_ms, f);
		return;
	}
	if (sc->kind == DRILL_PARTITION) {
		s_partition(etcd, cluster, &rec, w, timeout_ms, f);
		return;
	}
	if (!f->here) {
		snprintf(f->error, sizeof f->error,
		         "%s's pid %ld is not a Plexus process of this machine", sc->label, f->pid);
		return;
	}
	drill_workload_first_ok(w, drill_ms()); /* reset before the fault */
	f->injected_ms = drill_ms();
	if (sc->kind == DRILL_NODE ? !s_node_here(etcd, cluster, rec.node, f)
	                           : !s_signal_here(sc, f)) {
		f->injected_ms = -1;
		return;
	}
	drill_workload_first_ok(w, f->injected_ms);
	s_follow(etcd, cluster, w, timeout_ms, f);
}

int64_t drill_fault_back_ms(const drill_fault *f)
{
	int64_t a = f->restarted_ms, b = f->also.restarted_ms;
	if (!f->also.label[0])
		return a;
	return a < 0 || b < 0 ? -1 : a > b ? a : b;
}
