/*
 * boot.c — `plexus up`'s boot sequence: a private etcd, the data disk image, the cluster
 * description, a node kernel per node, RS, then every service as RS brings it up, each step
 * printed with its time; a step that fails names itself and shows its log's last lines.
 *
 * Entry points: up_boot.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <sysexits.h>
#include <unistd.h>

#include <plexus/cluster.h>
#include <plexus/endpoint.h>
#include <plexus/etcd.h>

#include "up.h"

#define UP_IMAGE_SIZE (64LL * 1024 * 1024)
#define UP_POLL_MS    50

/* What one boot needs along the way. */
typedef struct s_boot {
	const up_opts *o;
	up_state *st;
	int64_t t0;
	plx_etcd *etcd;
	plx_cluster *cluster;
	char logs[PATH_MAX + 16];
	char cluster_file[PATH_MAX + 16];
	bool two_phase;  /* the default description with a file system */
	bool root_image; /* STATE/root.img made: the root RAM disk starts formatted from it */
	char shown[UP_MAX_PROCS][UP_NAME_MAX]; /* services printed already */
	int nshown;
	pid_t rs_pid;
} s_boot;

static void s_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void s_step(s_boot *b, const char *what, const char *node, uint64_t generation)
{
	char gen[32] = "";
	if (generation)
		snprintf(gen, sizeof gen, "generation %llu", (unsigned long long)generation);
	if (!b->o->quiet)
		printf("  %-10s %-8s %-16s %6lld ms\n", what, node ? node : "", gen,
		       (long long)(up_mono_ms() - b->t0));
	fflush(stdout);
}

/* A failed step: what, where, and the log's last lines. Returns code. */
static int s_fail(s_boot *b, int code, const char *log, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int s_fail(s_boot *b, int code, const char *log, const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	fprintf(stderr, "plexus up: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	if (log) {
		char path[PATH_MAX * 2];
		snprintf(path, sizeof path, "%s/%s.log", b->logs, log);
		up_log_tail(stderr, path, 10);
	}
	return code;
}

/* Records a started process in the state file. */
static int s_record(s_boot *b, const char *name, pid_t pid)
{
	int rc = up_state_add_proc(b->st, name, pid);
	return rc < 0 ? rc : up_state_save(b->st);
}

static int s_spawn(s_boot *b, const char *name, char *const argv[], pid_t *pid)
{
	char log[PATH_MAX * 2];
	snprintf(log, sizeof log, "%s/%s.log", b->logs, name);
	int rc = up_spawn(log, argv, pid);
	if (rc < 0)
		return rc;
	return s_record(b, name, *pid);
}

/* One etcd member's ports, names and URLs. */
typedef struct s_member {
	int port, peer_port;
	char name[16], log[16], url[64], listen[160], peer[64], data[PATH_MAX + 16];
	pid_t pid;
} s_member;

/* Picks member i's ports and fills its names: "plexus" and STATE/etcd alone, else "plexus<i>"
 * and STATE/etcd/m<i>; the first member takes --port. Returns 0 or -errno. */
static int s_member_plan(s_boot *b, int i, s_member *m)
{
	bool alone = b->o->etcd_members == 1;
	const char *scheme = b->o->secure ? "https" : "http";
	m->port = i == 0 && b->o->port > 0 ? b->o->port
	                                   : up_free_port(i == 0 && b->o->port == 0 ? 2379 : 0);
	m->peer_port = up_free_port(0);
	if (m->port < 0 || m->peer_port < 0)
		return m->port < 0 ? m->port : m->peer_port;
	snprintf(m->name, sizeof m->name, alone ? "plexus" : "plexus%d", i);
	snprintf(m->log, sizeof m->log, i ? "etcd%d" : "etcd", i);
	snprintf(m->url, sizeof m->url, "%s://%s:%d", scheme,
	         b->o->nodes ? b->st->addr : "127.0.0.1", m->port);
	snprintf(m->listen, sizeof m->listen, "%s", m->url);
	if (b->o->nodes) /* the nodes reach it on the bridge, local commands on loopback too */
		snprintf(m->listen + strlen(m->listen), sizeof m->listen - strlen(m->listen),
		         ",%s://127.0.0.1:%d", scheme, m->port);
	snprintf(m->peer, sizeof m->peer, "%s://127.0.0.1:%d", scheme, m->peer_port);
	snprintf(m->data, sizeof m->data, alone ? "%s/etcd" : "%s/etcd/m%d", b->st->dir, i);
	return 0;
}

/* Starts member m of the cluster `initial` (name=peer,...). Returns 0 or -errno. */
static int s_member_start(s_boot *b, const char *bin, s_member *m, const char *initial,
                          const char *token, char tls[UP_TLS_ARGS][PATH_MAX + 32])
{
	char *const argv[] = {(char *)bin,
	                      "--name",
	                      m->name,
	                      "--data-dir",
	                      m->data,
	                      "--listen-client-urls",
	                      m->listen,
	                      "--advertise-client-urls",
	                      m->url,
	                      "--listen-peer-urls",
	                      m->peer,
	                      "--initial-advertise-peer-urls",
	                      m->peer,
	                      "--initial-cluster",
	                      (char *)initial,
	                      "--initial-cluster-state",
	                      "new",
	                      "--initial-cluster-token",
	                      (char *)token,
	                      "--heartbeat-interval",
	                      "50",
	                      "--election-timeout",
	                      "500",
	                      "--pre-vote", /* a member back from a partition does not depose */
	                      "--logger",
	                      "zap",
	                      "--log-outputs",
	                      "stderr",
	                      b->o->secure ? tls[0] : NULL,
	                      tls[1],
	                      tls[2],
	                      "--client-cert-auth",
	                      tls[3],
	                      tls[4],
	                      tls[5],
	                      tls[6],
	                      "--peer-client-cert-auth",
	                      "--bcrypt-cost", /* passwords of 256 random bits: the 2^10 rounds */
	                      "4",             /* of the default per log-in buy nothing; 2^4 */
	                      NULL};
	return s_spawn(b, m->log, argv, &m->pid);
}

/* Waits until the cluster answers through b->etcd. Returns 0, -EAGAIN (a member exited at
 * once: its port was taken meanwhile, unless last) or a sysexits code. */
static int s_etcd_wait(s_boot *b, s_member *m, int n, bool last)
{
	int64_t deadline = up_mono_ms() + b->o->timeout_ms;
	for (;;) {
		plx_kvs *kvs = NULL;
		int rc = plx_etcd_range(b->etcd, "/plexus-up-probe", &kvs);
		plx_kvs_free(&kvs);
		if (rc >= 0)
			return 0;
		for (int i = 0; i < n; i++) {
			int status;
			bool gone = up_reap(m[i].pid, &status) || kill(m[i].pid, 0) < 0;
			if (gone && !last) {
				plx_etcd_destroy(&b->etcd);
				for (int j = 0; j < n; j++)
					if (j != i)
						kill(m[j].pid, SIGKILL), up_reap(m[j].pid, &status);
				b->st->nprocs -= n; /* they were the last ones recorded */
				up_state_save(b->st);
				return -EAGAIN;
			}
			if (gone)
				return s_fail(b, EX_UNAVAILABLE, m[i].log,
				              "etcd (%s) on this host exited before it answered",
				              m[i].url);
		}
		if (up_mono_ms() > deadline)
			return s_fail(b, EX_UNAVAILABLE, "etcd",
			              "etcd on %s did not answer within %d ms", b->st->etcd,
			              b->o->timeout_ms);
		s_sleep_ms(UP_POLL_MS);
	}
}

/* Starts etcd's members (--etcd-members) on this host and waits until the cluster answers. */
static int s_etcd_try(s_boot *b, bool last)
{
	char bin[PATH_MAX], data[PATH_MAX + 8], initial[512] = "", token[64];
	const char *env = getenv("PLEXUS_ETCD_BIN");
	snprintf(bin, sizeof bin, "%s", env && *env ? env : "/usr/bin/etcd");
	if (access(bin, X_OK) < 0 && up_find_program("etcd", bin, sizeof bin) < 0)
		return s_fail(b, EX_UNAVAILABLE, NULL,
		              "etcd: no etcd program (apt-get install "
		              "etcd-server)");
	s_member m[UP_ETCD_MEMBERS_MAX];
	int n = b->o->etcd_members;
	b->st->etcd[0] = '\0';
	for (int i = 0; i < n; i++) {
		int rc = s_member_plan(b, i, &m[i]);
		if (rc < 0)
			return s_fail(b, EX_OSERR, NULL, "etcd: no free port: %s", strerror(-rc));
		size_t at = strlen(initial), eat = strlen(b->st->etcd);
		snprintf(initial + at, sizeof initial - at, "%s%s=%s", i ? "," : "", m[i].name,
		         m[i].peer);
		snprintf(b->st->etcd + eat, sizeof b->st->etcd - eat, "%s%s", i ? "," : "",
		         m[i].url);
	}
	char tls[UP_TLS_ARGS][PATH_MAX + 32], err[PATH_MAX + 128];
	if (b->o->secure && up_keys_tls(b->o, b->st->addr, tls, err, sizeof err) < 0)
		return s_fail(b, EX_SOFTWARE, "etcd", "etcd's certificates: %s", err);
	snprintf(token, sizeof token, "plexus-up-%d-%lld", (int)getpid(), (long long)up_now_ms());
	snprintf(data, sizeof data, "%s/etcd", b->st->dir);
	up_rmtree(data); /* a fresh etcd at every boot */
	if (n > 1)
		mkdir(data, 0700);
	for (int i = 0; i < n; i++) {
		int rc = s_member_start(b, bin, &m[i], initial, token, tls);
		if (rc < 0)
			return s_fail(b, EX_OSERR, NULL, "etcd: cannot start %s: %s", bin,
			              strerror(-rc));
	}
	plx_etcd_opts eo = {.endpoints = b->st->etcd, .timeout_ms = 1000};
	if (!(b->etcd = plx_etcd_new(&eo)))
		return s_fail(b, EX_SOFTWARE, NULL, "etcd: %s", strerror(errno));
	int rc = s_etcd_wait(b, m, n, last);
	if (rc != 0)
		return rc;
	if (b->o->secure) { /* from here on every client needs the password (plx_etcd_new) */
		if (up_keys_etcd(b->o, b->etcd, err, sizeof err) < 0)
			return s_fail(b, EX_SOFTWARE, "etcd", "etcd: %s", err);
		plx_etcd_destroy(&b->etcd);
		if (!(b->etcd = plx_etcd_new(&eo)))
			return s_fail(b, EX_SOFTWARE, "etcd", "etcd: %s", strerror(errno));
	}
	if (n > 1) /* docs/registry.md, "Members": a leader's death must not fence the nodes */
		setenv("PLEXUS_LEASE_TTL", UP_MEMBERS_LEASE_TTL, 0);
	char where[32];
	if (n > 1)
		snprintf(where, sizeof where, "host x%d", n);
	else
		snprintf(where, sizeof where, "%s", b->o->nodes ? "host" : "local");
	s_step(b, "etcd", where, 0);
	return 0;
}

/* Starts etcd; on a port picked here, a start that fails at once (another program took the
 * port between the pick and etcd's bind) is tried again on new ports, twice. */
static int s_etcd(s_boot *b)
{
	int code = -EAGAIN;
	for (int attempt = 0; code == -EAGAIN; attempt++)
		code = s_etcd_try(b, b->o->port > 0 || attempt == 2);
	return code;
}

/* Runs argv (a path) to completion with its output in logs/NAME.log. Returns its exit
 * status, or -errno. */
static int s_run(s_boot *b, const char *name, char *const argv[])
{
	pid_t pid;
	char log[PATH_MAX * 2];
	snprintf(log, sizeof log, "%s/%s.log", b->logs, name);
	int rc = up_spawn(log, argv, &pid);
	if (rc < 0)
		return rc;
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Makes the data disk image once: 64 MiB, formatted with MINIX FS v3. */
static int s_image(s_boot *b)
{
	struct stat sb;
	if (stat(b->o->image, &sb) == 0)
		return 0;
	char tmp[PATH_MAX + 8], mkfs[PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s.new", b->o->image);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, UP_IMAGE_SIZE) < 0) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		return s_fail(b, EX_CANTCREAT, NULL, "data image: cannot make %s: %s", tmp,
		              strerror(err));
	}
	close(fd);
	int rc;
	if (up_find_program("plexus", mkfs, sizeof mkfs) == 0) {
		char *const argv[] = {mkfs, "mkfs", tmp, NULL};
		rc = s_run(b, "mkfs", argv);
	} else
		rc = -ENOENT;
	if (rc != 0 && (access("/sbin/mkfs.minix", X_OK) == 0)) { /* util-linux's */
		char *const argv[] = {"/sbin/mkfs.minix", "-3", tmp, NULL};
		rc = s_run(b, "mkfs", argv);
	}
	if (rc != 0) {
		unlink(tmp);
		return s_fail(b, EX_SOFTWARE, "mkfs", "data image: formatting %s failed", tmp);
	}
	if (rename(tmp, b->o->image) < 0)
		return s_fail(b, EX_CANTCREAT, NULL, "data image: %s", strerror(errno));
	s_step(b, "data.img", "local", 0);
	return 0;
}

/* The root RAM disk's boot image, made anew at each boot: an empty file system (plexus mkfs
 * of a 64 MiB file, as of the disk), which plexus-memory loads when it starts; once /data is
 * mounted, up_root_save replaces it with the root as booted. Without a plexus mkfs, no image:
 * the RAM disk is formatted through its driver instead (s_format_root). */
static void s_root_image(s_boot *b)
{
	char path[PATH_MAX + 16], tmp[PATH_MAX + 24], mkfs[PATH_MAX];
	snprintf(path, sizeof path, "%s/root.img", b->st->dir);
	snprintf(tmp, sizeof tmp, "%s.new", path);
	unlink(path);
	unlink(tmp);
	if (up_find_program("plexus", mkfs, sizeof mkfs) < 0)
		return;
	char *const argv[] = {mkfs, "mkfs", "--size", "64M", tmp, NULL};
	if (s_run(b, "mkfs-root", argv) == 0 && rename(tmp, path) == 0)
		b->root_image = true;
	else
		unlink(tmp);
}

/* Writes (unless the user gave one) and reads the cluster description; first: the first of
 * the two default ones. */
static int s_cluster(s_boot *b, bool first)
{
	char err[PLX_CLUSTER_TEXT_MAX + 128];
	plx_cluster_destroy(&b->cluster);
	if (b->o->cluster_file[0])
		snprintf(b->cluster_file, sizeof b->cluster_file, "%s", b->o->cluster_file);
	else {
		snprintf(b->cluster_file, sizeof b->cluster_file, "%s/cluster.ini", b->st->dir);
		char subnet[40];
		snprintf(subnet, sizeof subnet, "%s", b->st->addr);
		if (strrchr(subnet, '.'))
			*strrchr(subnet, '.') = '\0';
		char root[PATH_MAX + 16], power[PATH_MAX + 16];
		snprintf(root, sizeof root, "%s/root.img", b->st->dir);
		snprintf(power, sizeof power, "%s/power", b->st->dir);
		if (b->o->nodes && mkdir(power, 0700) < 0 && errno != EEXIST)
			return s_fail(b, EX_CANTCREAT, NULL, "cannot make %s: %s", power,
			              strerror(errno));
		up_cluster_desc d = {.cluster = b->st->cluster,
		                     .etcd = b->st->etcd,
		                     .image = b->o->image,
		                     .root_image = access(root, R_OK) == 0 ? root : NULL,
		                     .subnet = b->o->nodes ? subnet : NULL,
		                     .nodes = b->o->nodes,
		                     .power_dir = b->o->nodes ? power : NULL,
		                     .first = first,
		                     .extra = b->o->service_extra};
		if (up_cluster_write(b->cluster_file, &d, err, sizeof err) < 0)
			return s_fail(b, EX_CANTCREAT, NULL, "%s", err);
	}
	b->cluster = plx_cluster_load(b->cluster_file, NULL, err, sizeof err);
	if (!b->cluster)
		return s_fail(b, EX_CONFIG, NULL, "%s", err);
	return 0;
}

/* Reads an integer field of the JSON at key; -ENOENT when the key is absent. */
static int s_json_int(plx_etcd *etcd, const char *key, const char *field, int64_t *value)
{
	plx_kv *kv = NULL;
	int rc = plx_etcd_get(etcd, key, &kv);
	if (rc < 0)
		return rc;
	json_t *o = json_loadb((const char *)kv->value, kv->value_size, 0, NULL);
	plx_kv_free(&kv);
	if (!o)
		return -EBADMSG;
	*value = json_integer_value(json_object_get(o, field));
	json_decref(o);
	return 0;
}

/* Starts a node kernel for every node of the description, and waits for their records. */
static int s_nodes(s_boot *b)
{
	for (size_t i = 0; i < b->cluster->nnodes; i++) {
		const plx_cluster_node *n = &b->cluster->nodes[i];
		char name[UP_NAME_MAX + 8], key[256];
		snprintf(name, sizeof name, "node.%s", n->name);
		if (b->o->nodes && i >= (size_t)b->st->nnetns)
			return s_fail(b, EX_SOFTWARE, NULL, "node %s: no namespace for it",
			              n->name);
		pid_t pid;
		int rc = up_node_spawn(b->st, n->name, n->addr,
		                       b->o->nodes ? b->st->netns[i] : NULL, &pid);
		if (rc == 0)
			rc = s_record(b, name, pid);
		if (rc == -ENOENT)
			return s_fail(b, EX_UNAVAILABLE, NULL, "node: plexus-node is not built");
		if (rc < 0)
			return s_fail(b, EX_OSERR, NULL, "node %s: cannot start: %s", n->name,
			              strerror(-rc));
		snprintf(key, sizeof key, "/plexus/%s/nodes/%s", b->st->cluster, n->name);
		int64_t deadline = up_mono_ms() + b->o->timeout_ms, gen = 0;
		while (s_json_int(b->etcd, key, "generation", &gen) < 0) {
			int status;
			if (up_reap(pid, &status))
				return s_fail(b, EX_SOFTWARE, name,
				              "node %s: plexus-node exited (%d)", n->name, status);
			if (up_mono_ms() > deadline)
				return s_fail(b, EX_UNAVAILABLE, name,
				              "node %s: no node record within %d ms", n->name,
				              b->o->timeout_ms);
			s_sleep_ms(UP_POLL_MS);
		}
		s_step(b, "node", n->name, (uint64_t)gen);
	}
	return 0;
}

/* Starts plexus-rs as name (its log and state entry: log); its pid in *pid. */
static int s_rs_start(s_boot *b, const char *name, const char *log, pid_t *pid)
{
	char bin[PATH_MAX];
	if (up_find_program("plexus-rs", bin, sizeof bin) < 0)
		return s_fail(b, EX_UNAVAILABLE, NULL, "rs: plexus-rs is not built");
	char *const argv[] = {bin,
	                      "--cluster-file",
	                      b->cluster_file,
	                      "--etcd",
	                      b->st->etcd,
	                      "--cluster",
	                      b->st->cluster,
	                      "--addr",
	                      b->o->nodes ? b->st->addr : (char *)b->cluster->nodes[0].addr,
	                      "--name",
	                      (char *)name,
	                      NULL};
	int rc = s_spawn(b, log, argv, pid);
	return rc < 0 ? s_fail(b, EX_OSERR, NULL, "%s: cannot start: %s", log, strerror(-rc)) : 0;
}

/* --rs-standby: a second RS, started once everything is up, waits for the leader's lease
 * (docs/reincarnation.md "Leader and standby"). */
static int s_rs_standby(s_boot *b)
{
	pid_t pid;
	int rc = s_rs_start(b, "rs-up-standby", "rs-standby", &pid);
	if (rc == 0)
		s_step(b, "rs", b->o->nodes ? "host" : b->cluster->nodes[0].name, 0);
	return rc;
}

static int s_rs(s_boot *b)
{
	const char *node = b->o->nodes ? "host" : b->cluster->nodes[0].name;
	pid_t pid;
	int rc = s_rs_start(b, "rs-up", "rs", &pid);
	if (rc != 0)
		return rc;
	b->rs_pid = pid;
	plx_endpoint_rec rec;
	int64_t deadline = up_mono_ms() + b->o->timeout_ms;
	while (plx_endpoint_lookup(b->etcd, b->st->cluster, "rs", &rec) < 0 ||
	       (pid_t)rec.pid != pid) {
		int status;
		if (up_reap(pid, &status))
			return s_fail(b, EX_SOFTWARE, "rs", "rs on node %s: plexus-rs exited (%d)",
			              node, status);
		if (up_mono_ms() > deadline)
			return s_fail(b, EX_UNAVAILABLE, "rs",
			              "rs on node %s: no ep/rs within %d ms", node,
			              b->o->timeout_ms);
		s_sleep_ms(UP_POLL_MS);
	}
	s_step(b, "rs", node, rec.generation);
	return 0;
}

static bool s_settled_badly(const char *state)
{
	return strcmp(state, "failed") == 0 || strcmp(state, "given-up") == 0 ||
	       strcmp(state, "exited") == 0 || strcmp(state, "down") == 0;
}

static bool s_shown(s_boot *b, const char *label)
{
	for (int i = 0; i < b->nshown; i++)
		if (strcmp(b->shown[i], label) == 0)
			return true;
	return false;
}

/* Waits for every service of the description to be up, printing each as it comes. */
static int s_services(s_boot *b)
{
	size_t n = b->cluster->nservices, done = 0;
	bool *seen = calloc(n ? n : 1, sizeof *seen);
	if (!seen)
		return s_fail(b, EX_OSERR, NULL, "out of memory");
	int64_t deadline = up_mono_ms() + b->o->timeout_ms;
	int code = 0;
	while (done < n && code == 0) {
		for (size_t i = 0; i < n && code == 0; i++) {
			const plx_cluster_service *s = &b->cluster->services[i];
			up_svc svc;
			if (seen[i] || up_svc_get(b->etcd, b->st->cluster, s->label, &svc) < 0)
				continue;
			if (strcmp(svc.state, "up") == 0) {
				seen[i] = true;
				done++;
				deadline = up_mono_ms() + b->o->timeout_ms;
				if (!s_shown(b, s->label) && b->nshown < UP_MAX_PROCS) {
					snprintf(b->shown[b->nshown++], UP_NAME_MAX, "%s",
					         s->label);
					s_step(b, s->label, svc.node, svc.generation);
				}
			} else if (s_settled_badly(svc.state))
				code = s_fail(b, EX_SOFTWARE, s->label,
				              "service %s on node %s: %s (generation %llu)%s%s",
				              s->label, svc.node, svc.state,
				              (unsigned long long)svc.generation,
				              svc.last_exit[0] ? ": " : "", svc.last_exit);
		}
		if (code == 0 && done < n) {
			if (up_mono_ms() > deadline) {
				for (size_t i = 0; i < n; i++)
					if (!seen[i]) {
						const plx_cluster_service *s =
						    &b->cluster->services[i];
						code = s_fail(
						    b, EX_UNAVAILABLE, s->label,
						    "service %s on node %s: not up within %d ms",
						    s->label, s->node, b->o->timeout_ms);
						break;
					}
			}
			s_sleep_ms(UP_POLL_MS);
		}
	}
	free(seen);
	return code;
}

/* Formats the root RAM disk (memory:0) with plexus mkfs. A driver that is being restarted
 * (mkfs exits EX_UNAVAILABLE: the endpoint died under it) is tried again, a few times. */
static int s_format_root(s_boot *b)
{
	char plexus[PATH_MAX];
	if (up_find_program("plexus", plexus, sizeof plexus) < 0)
		return s_fail(b, EX_UNAVAILABLE, NULL, "mkfs: no plexus command");
	setenv("PLEXUS_ETCD", b->st->etcd, 1);
	setenv("PLEXUS_CLUSTER", b->st->cluster, 1);
	char *const argv[] = {plexus, "mkfs", "memory:0", NULL};
	int rc = s_run(b, "mkfs-root", argv);
	for (int again = 0; rc == EX_UNAVAILABLE && again < 5; again++) {
		sleep(1);
		rc = s_run(b, "mkfs-root", argv);
	}
	if (rc != 0)
		return s_fail(
		    b, EX_SOFTWARE, "mkfs-root",
		    "mkfs: formatting the root RAM disk memory:0 on node local failed (%d)", rc);
	s_step(b, "mkfs", "local", 0);
	return 0;
}

/* Stops the first RS (SIGTERM: its lease is revoked at once, so the next one leads). */
static int s_stop_rs(s_boot *b)
{
	kill(b->rs_pid, SIGTERM);
	int status;
	int64_t deadline = up_mono_ms() + b->o->timeout_ms;
	while (waitpid(b->rs_pid, &status, WNOHANG) == 0) {
		if (up_mono_ms() > deadline)
			return s_fail(b, EX_SOFTWARE, "rs", "rs: did not stop within %d ms",
			              b->o->timeout_ms);
		s_sleep_ms(10);
	}
	for (int i = 0; i < b->st->nprocs; i++)
		if (b->st->procs[i].pid == b->rs_pid) {
			memmove(&b->st->procs[i], &b->st->procs[i + 1],
			        (size_t)(b->st->nprocs - i - 1) * sizeof b->st->procs[0]);
			b->st->nprocs--;
			break;
		}
	up_state_save(b->st);
	return 0;
}

/* The root as booted becomes the RAM disk's boot image (up_root_save). */
static int s_root_save(s_boot *b)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/root.img", b->st->dir);
	int rc = up_root_save(b->st, path);
	if (rc < 0)
		return s_fail(b, EX_SOFTWARE, "root.img", "saving the root as %s: %s", path,
		              strerror(-rc));
	s_step(b, "root.img", "local", 0);
	return 0;
}

/* The second half of the default boot: the root RAM disk formatted, RS again with the file
 * system's services. */
static int s_file_system(s_boot *b)
{
	int code = b->root_image ? 0 : s_format_root(b);
	if (code == 0)
		code = s_cluster(b, false);
	if (code == 0)
		code = s_stop_rs(b);
	if (code == 0)
		code = s_rs(b);
	if (code == 0)
		code = s_services(b);
	return code;
}

int up_boot(const up_opts *o, up_state *st)
{
	s_boot b = {.o = o, .st = st, .t0 = up_mono_ms()};
	snprintf(b.logs, sizeof b.logs, "%s/logs", st->dir);
	if (mkdir(b.logs, 0700) < 0 && errno != EEXIST)
		return s_fail(&b, EX_CANTCREAT, NULL, "cannot make %s: %s", b.logs,
		              strerror(errno));
	snprintf(st->cluster, sizeof st->cluster, "%s", o->cluster);
	st->started_ms = up_now_ms();
	int code = 0;
	if (o->nodes) {
		char log[PATH_MAX + 32], err[512];
		snprintf(log, sizeof log, "%s/netns.log", b.logs);
		int rc = up_net_create(st, o->nodes, log, err, sizeof err);
		if (rc < 0)
			code = s_fail(&b, EX_OSERR, "netns", "namespaces: %s", err);
		else {
			setenv("PLEXUS_ADDR", st->addr, 1); /* clients here bind on the bridge */
			s_step(&b, "netns", st->bridge, 0);
		}
	}
	if (code == 0)
		code = s_etcd(&b);
	if (code == 0 && !o->quiet)
		printf("  (etcd %s, cluster %s, state %s)\n", st->etcd, st->cluster, st->dir);
	char mfs[PATH_MAX];
	b.two_phase = !o->cluster_file[0] && up_find_program("plexus-mfs", mfs, sizeof mfs) == 0 &&
	              up_find_program("plexus-vfs", mfs, sizeof mfs) == 0;
	if (code == 0 && b.two_phase)
		s_root_image(&b);
	if (code == 0)
		code = s_cluster(&b, b.two_phase);
	if (code == 0 && plx_cluster_find_service(b.cluster, "vdisk"))
		code = s_image(&b);
	if (code == 0)
		code = s_nodes(&b);
	if (code == 0)
		code = s_rs(&b);
	if (code == 0)
		code = s_services(&b);
	if (code == 0 && b.two_phase)
		code = s_file_system(&b);
	if (code == 0 && b.two_phase) {
		code = up_mount_data(st);
		if (code == 0)
			s_step(&b, "/data", "local", 0);
	}
	if (code == 0 && b.root_image)
		code = s_root_save(&b);
	if (code == 0 && o->rs_standby)
		code = s_rs_standby(&b);
	if (code == 0 && o->nodes) {
		int rc = up_power_start(st);
		if (rc < 0)
			code = s_fail(&b, EX_OSERR, "power", "the nodes' power controller: %s",
			              strerror(-rc));
		else
			s_step(&b, "power", "host", 0);
	}
	if (code == 0 && !o->quiet) {
		printf("Plexus is up: %zu node%s, %zu services, ready in %.1f s\n",
		       b.cluster->nnodes, b.cluster->nnodes == 1 ? "" : "s", b.cluster->nservices,
		       (double)(up_mono_ms() - b.t0) / 1000.0);
		up_print_status(st, stdout);
	}
	plx_cluster_destroy(&b.cluster);
	plx_etcd_destroy(&b.etcd);
	return code;
}
