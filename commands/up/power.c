/*
 * power.c — the power controller of `plexus up --nodes N`: what a rack's BMCs are to RS.
 *
 * Entry points: up_power_start, up_power_serve, up_power_retry_ms.
 *
 * Each node of `up --nodes` has `power = netns` in the cluster description, so RS power-cycles
 * a dead node by writing STATE/power/NODE.cycle (reincarnation/power.c). `plexus up
 * --serve-power`, started last by up (state entry "power", so `plexus down` stops it first),
 * acts on each request as a machine's power button would: every process in the node's network
 * namespace gets SIGKILL and a new plexus-node starts there, whose pid replaces the node's in
 * the state file, so that `plexus down` stops it in order. A node kernel that cannot come up
 * (its link is cut, etcd is out of reach) exits; the controller starts it again, as a
 * machine's BMC retries a boot until it finds its network, backing off: S_RETRY_FIRST_MS after
 * the first exit, twice as long after each next one, at most S_RETRY_CAP_MS (2, 4, 8, 16, 30,
 * 30 ... s: up_power_retry_ms). A kernel that ran S_SETTLED_MS has settled: the count starts
 * again, and its later exits are its own (RS power-cycles a node whose lease expired). It logs
 * each step to STATE/logs/power.log, each retry with its number and delay.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <plexus/cluster.h>

#include "up.h"

#define S_POLL_MS        100
#define S_RETRY_FIRST_MS 2000  /* a node kernel that exited starts again after this, */
#define S_RETRY_CAP_MS   30000 /* doubled after each exit up to this */
#define S_SETTLED_MS     30000 /* one that ran this long has settled: the count restarts */

/* A node the controller started a kernel for. */
typedef struct s_node {
	pid_t pid;          /* 0: none running of ours */
	int64_t started;    /* when (monotonic ms); 0 once settled */
	int64_t restart_at; /* > 0: start again then */
	int retries;        /* restarts since a kernel of this node last settled */
} s_node;

typedef struct s_ctl {
	up_state st;
	plx_cluster *cluster;
	s_node nodes[UP_MAX_PROCS];
	char dir[PATH_MAX + 8]; /* STATE/power */
} s_ctl;

static void s_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void s_log(const char *fmt, ...)
{
	char stamp[32];
	time_t now = time(NULL);
	strftime(stamp, sizeof stamp, "%F %T", localtime(&now));
	printf("%s plexus up (power): ", stamp);
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void s_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* The state file's entry for node.NAME takes pid (under the state lock). */
static void s_note_pid(const s_ctl *c, const char *node, pid_t pid)
{
	char name[UP_NAME_MAX + 8];
	snprintf(name, sizeof name, "node.%s", node);
	int lock = up_state_lock(c->st.dir);
	up_state st;
	if (lock >= 0 && up_state_load(c->st.dir, &st) == 0) {
		int i = 0;
		while (i < st.nprocs && strcmp(st.procs[i].name, name) != 0)
			i++;
		/* in place: down stops them in the reverse of the order up started them */
		if (i < st.nprocs && up_state_add_proc(&st, name, pid) == 0) {
			st.procs[i] = st.procs[--st.nprocs];
			up_state_save(&st);
		}
	}
	if (lock >= 0)
		close(lock);
}

/* Starts node i's kernel in its namespace. */
static void s_boot(s_ctl *c, int i)
{
	const plx_cluster_node *n = &c->cluster->nodes[i];
	s_node *sn = &c->nodes[i];
	sn->restart_at = 0;
	int rc = up_node_spawn(&c->st, n->name, n->addr, c->st.netns[i], &sn->pid);
	if (rc < 0) {
		sn->pid = 0;
		s_log("node %s: plexus-node cannot start: %s", n->name, strerror(-rc));
		return;
	}
	sn->started = up_mono_ms();
	s_note_pid(c, n->name, sn->pid);
	s_log("node %s: plexus-node started (pid %d)", n->name, (int)sn->pid);
}

/* A power cycle of node name: everything in its namespace killed, its kernel started. */
static void s_cycle(s_ctl *c, const char *name)
{
	const plx_cluster_node *n = plx_cluster_find_node(c->cluster, name);
	int i = n ? (int)(n - c->cluster->nodes) : -1;
	if (i < 0 || i >= c->st.nnetns) {
		s_log("power cycle of %s: no such node of this up", name);
		return;
	}
	s_log("node %s: power cycle: every process in %s killed", name, c->st.netns[i]);
	up_net_kill(&c->st, i);
	if (c->nodes[i].pid > 0)
		waitpid(c->nodes[i].pid, NULL, 0);
	c->nodes[i].pid = 0;
	s_boot(c, i);
}

/* Acts on each NODE.cycle request in the power directory (written atomically by RS). */
static void s_requests(s_ctl *c)
{
	DIR *d = opendir(c->dir);
	struct dirent *e;
	char names[UP_MAX_PROCS][UP_NAME_MAX];
	int n = 0;
	while (d && (e = readdir(d)) && n < UP_MAX_PROCS) {
		size_t len = strlen(e->d_name);
		if (e->d_name[0] == '.' || len <= 6 || len - 6 >= UP_NAME_MAX ||
		    strcmp(e->d_name + len - 6, ".cycle") != 0)
			continue;
		snprintf(names[n++], UP_NAME_MAX, "%.*s", (int)(len - 6), e->d_name);
	}
	if (d)
		closedir(d);
	for (int i = 0; i < n; i++) {
		char path[2 * PATH_MAX];
		snprintf(path, sizeof path, "%s/%s.cycle", c->dir, names[i]);
		unlink(path);
		s_cycle(c, names[i]);
	}
}

int64_t up_power_retry_ms(int attempt)
{
	int64_t delay = S_RETRY_FIRST_MS;
	for (int i = 1; i < attempt && delay < S_RETRY_CAP_MS; i++)
		delay *= 2;
	return delay < S_RETRY_CAP_MS ? delay : S_RETRY_CAP_MS;
}

/* A wait status as the log says it: "exit N" or "signal N". */
static const char *s_status(int status, char *buf, size_t size)
{
	if (WIFSIGNALED(status))
		snprintf(buf, size, "signal %d", WTERMSIG(status));
	else
		snprintf(buf, size, "exit %d", WEXITSTATUS(status));
	return buf;
}

/* Node i's kernel exited with status at now: one that had not settled starts again after the
 * next delay of its retries. */
static void s_exited(s_ctl *c, int i, int status, int64_t now)
{
	s_node *sn = &c->nodes[i];
	const char *name = c->cluster->nodes[i].name;
	char how[32];
	s_status(status, how, sizeof how);
	sn->pid = 0;
	sn->restart_at = 0;
	if (!sn->started || now - sn->started >= S_SETTLED_MS) {
		s_log("node %s: plexus-node exited (%s)", name, how);
		return;
	}
	int64_t delay = up_power_retry_ms(++sn->retries);
	sn->restart_at = now + delay;
	s_log("node %s: plexus-node exited (%s) after %.1f s; retry %d in %lld s", name, how,
	      (double)(now - sn->started) / 1000, sn->retries, (long long)(delay / 1000));
}

/* Node i's kernel ran S_SETTLED_MS: its later exits are its own, its retries count afresh. */
static void s_settled(s_ctl *c, int i)
{
	s_node *sn = &c->nodes[i];
	if (sn->retries > 0)
		s_log("node %s: plexus-node (pid %d) settled after %d retries",
		      c->cluster->nodes[i].name, (int)sn->pid, sn->retries);
	sn->started = 0;
	sn->retries = 0;
}

/* Reaps kernels of ours that exited, notes those that settled, and starts again those whose
 * retry is due. */
static void s_watch(s_ctl *c)
{
	int64_t now = up_mono_ms();
	for (int i = 0; i < c->st.nnetns; i++) {
		s_node *sn = &c->nodes[i];
		int status;
		if (sn->pid > 0 && waitpid(sn->pid, &status, WNOHANG) == sn->pid)
			s_exited(c, i, status, now);
		if (sn->pid > 0 && sn->started && now - sn->started >= S_SETTLED_MS)
			s_settled(c, i);
		if (!sn->pid && sn->restart_at && now >= sn->restart_at)
			s_boot(c, i);
	}
}

int up_power_serve(const char *state_dir)
{
	static s_ctl c; /* large; one per process */
	char path[PATH_MAX + 16], err[PLX_CLUSTER_TEXT_MAX + 128];
	if (up_state_load(state_dir, &c.st) < 0 || c.st.nnetns == 0) {
		fprintf(stderr, "plexus up --serve-power: no plexus up --nodes in %s\n", state_dir);
		return EX_UNAVAILABLE;
	}
	snprintf(path, sizeof path, "%s/cluster.ini", state_dir);
	if (!(c.cluster = plx_cluster_load(path, NULL, err, sizeof err))) {
		fprintf(stderr, "plexus up --serve-power: %s\n", err);
		return EX_CONFIG;
	}
	snprintf(c.dir, sizeof c.dir, "%s/power", state_dir);
	s_log("serving power cycles of %d nodes (requests in %s)", c.st.nnetns, c.dir);
	for (;;) {
		s_requests(&c);
		s_watch(&c);
		s_sleep_ms(S_POLL_MS);
	}
}

int up_power_start(up_state *st)
{
	char plexus[PATH_MAX], log[PATH_MAX + 32], dir[PATH_MAX + 8];
	snprintf(dir, sizeof dir, "%s/power", st->dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (up_find_program("plexus", plexus, sizeof plexus) < 0)
		return -ENOENT;
	snprintf(log, sizeof log, "%s/logs/power.log", st->dir);
	char *argv[] = {plexus, "up", "--serve-power", "--state-dir", st->dir, NULL};
	pid_t pid;
	int rc = up_spawn(log, argv, &pid);
	if (rc == 0)
		rc = up_state_add_proc(st, "power", pid);
	return rc < 0 ? rc : up_state_save(st);
}
