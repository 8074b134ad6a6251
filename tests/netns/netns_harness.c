/*
 * netns_harness.c — namespaces, links, processes, the hub etcd, logs and clean-up for
 * multi-node tests.
 *
 * Entry points: netns_harness_check, netns_harness_reap_stale, netns_error,
 * netns_cluster_new, netns_cluster_destroy, netns_cluster_failed, netns_nodes, netns_node_addr,
 * netns_hub_addr, netns_ns_path, netns_veth, netns_run_dir, netns_log_path, netns_exec,
 * netns_wait, netns_run, netns_kill_nodes, netns_kill_node, netns_kill_signalled_ns,
 * netns_revive_node, netns_node_up, netns_cut_link, netns_restore_link, netns_call,
 * netns_socket, netns_tcp_probe, netns_hub_etcd_start,
 * netns_hub_etcd_start_tls,
 * netns_hub_etcd_endpoints, netns_hub_etcd, netns_hub_etcd_stop, netns_read_log,
 * netns_save_logs.
 *
 * Namespaces are made and wired with iproute2 (fork/exec of ip with argument vectors) and
 * deleted as `ip netns del` does (umount2 + unlink), which is async-signal-safe and so also
 * serves the signal handlers. Processes in a namespace are found by comparing
 * /proc/<pid>/ns/net with the namespace file, read with getdents64 (no allocation).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/capability.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "netns_harness.h"

#define S_NETNS_DIR     "/var/run/netns"
#define S_STATE_DIR     "/run/plexus-netns"
#define S_SUBNET        "10.213.0"
#define S_MAX_PROCS     256
#define S_MAX_CLUSTERS  8
#define S_GONE_LIMIT_MS 10000
#define S_REAP_LIMIT_MS 5000

typedef struct s_place {
	char ns[48];   /* namespace name */
	char path[96]; /* its file under S_NETNS_DIR */
	char addr[24]; /* address on the bridge */
	char veth[24]; /* nodes: the hub-side end of the link (< IFNAMSIZ) */
	char mac[24];  /* nodes: eth0's address, the same after a revive */
	char log[320]; /* stdout and stderr of its processes */
	bool up;       /* the namespace exists (or is being made) */
} s_place;

typedef struct s_proc {
	pid_t pid; /* 0: a free slot */
	int place;
} s_proc;

struct netns_cluster {
	pid_t owner; /* the process that built it; forks leave it alone */
	int nodes;
	char tag[8];
	char subnet[12];
	char bridge[IFNAMSIZ];
	char run_dir[256];
	char keep_dir[300]; /* where a failed run's logs go */
	char saved[320];    /* where netns_save_logs put them */
	char state_path[300];
	int state_fd; /* holds the flock that says "alive" */
	bool failed;
	uint64_t signalled_ns; /* CLOCK_MONOTONIC: netns_kill_nodes' last first-pass SIGKILL */
	plx_etcdh *etcd;
	s_place hub;
	s_place node[NETNS_MAX_NODES];
	s_proc procs[S_MAX_PROCS];
};

static char s_error[1024];
static netns_cluster *volatile s_live[S_MAX_CLUSTERS];
static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static const int s_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGABRT};
static struct sigaction s_old_actions[sizeof s_signals / sizeof s_signals[0]];

static int s_fail(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s_error, sizeof s_error, fmt, ap);
	va_end(ap);
	return code;
}

const char *netns_error(void)
{
	return s_error;
}

static uint64_t s_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int64_t s_now_ms(void)
{
	return (int64_t)(s_now_ns() / 1000000u);
}

static void s_sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

/* write(2) of a string, for signal handlers. */
static void s_say(const char *text)
{
	ssize_t n = write(STDERR_FILENO, text, strlen(text));
	(void)n;
}

/* ---- files ---- */

static int s_unlink_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

static void s_remove_tree(const char *dir)
{
	if (dir[0])
		nftw(dir, s_unlink_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int s_copy_file(const char *from, const char *to)
{
	char buf[16384];
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = in < 0 ? -1 : open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ssize_t n = 0;
	while (out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, (size_t)n) != n)
			n = -1;
	int err = in < 0 || out < 0 || n < 0 ? -errno : 0;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return err ? err : 0;
}

/* Copies every regular file of dir from into dir to, with prefix before each name. */
static int s_copy_dir(const char *from, const char *to, const char *prefix, const char *suffix)
{
	DIR *d = opendir(from);
	if (!d)
		return -errno;
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name), slen = strlen(suffix);
		if (e->d_type != DT_REG || len < slen || strcmp(e->d_name + len - slen, suffix))
			continue;
		char src[600], dst[600];
		snprintf(src, sizeof src, "%s/%s", from, e->d_name);
		snprintf(dst, sizeof dst, "%s/%s%s", to, prefix, e->d_name);
		if (rc == 0)
			rc = s_copy_file(src, dst);
	}
	closedir(d);
	return rc;
}

/* ---- processes in a namespace (async-signal-safe) ---- */

static bool s_ns_in(const struct stat *st, const struct stat *ns, int n)
{
	for (int k = 0; k < n; k++)
		if (st->st_ino == ns[k].st_ino && st->st_dev == ns[k].st_dev)
			return true;
	return false;
}

/* Sends SIGKILL to every other process whose network namespace is one of ns[0..count), in
 * one pass over /proc. Returns how many. */
static int s_kill_matching(const struct stat *ns, int count)
{
	char buf[8192], path[64];
	int found = 0, dfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ssize_t n;
	while (dfd >= 0 && (n = getdents64(dfd, buf, sizeof buf)) > 0) {
		for (ssize_t off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			off += d->d_reclen;
			char *end;
			long pid = strtol(d->d_name, &end, 10);
			if (pid <= 0 || *end || pid == getpid() || strlen(d->d_name) > 20)
				continue;
			strcpy(path, "/proc/");
			strcat(path, d->d_name);
			strcat(path, "/ns/net");
			struct stat st;
			if (stat(path, &st) == 0 && s_ns_in(&st, ns, count)) {
				kill((pid_t)pid, SIGKILL);
				found++;
			}
		}
	}
	if (dfd >= 0)
		close(dfd);
	return found;
}

/* Kills again, until none is left (bounded), the processes in ns[0..n) that a first pass
 * of s_kill_matching found: those still exiting, and any they forked meanwhile. */
static void s_kill_rest(const struct stat *ns, int n)
{
	for (int round = 0; round < S_REAP_LIMIT_MS && s_kill_matching(ns, n) > 0; round++)
		s_sleep_ms(1);
}

/* Deletes a namespace file as `ip netns del` does (unmounting more than once if two
 * first-ever `ip netns add` raced and stacked the netns directory). */
static void s_unmount_ns(const char *path)
{
	for (int k = 0; k < 8 && umount2(path, MNT_DETACH) == 0; k++)
		;
	unlink(path);
}

/* Kills what runs in a namespace and deletes it. */
static void s_delete_ns(const char *path)
{
	struct stat ns;
	if (stat(path, &ns) == 0 && s_kill_matching(&ns, 1) > 0)
		s_kill_rest(&ns, 1);
	s_unmount_ns(path);
}

/* SIGKILL to pid's process group while pid is still our child (so the group is ours). */
static void s_kill_group(pid_t pid)
{
	siginfo_t si = {0};
	if (pid > 0 && waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0)
		kill(-pid, SIGKILL);
}

/* ---- places ---- */

static s_place *s_place_of(netns_cluster *self, int place)
{
	if (place == NETNS_HUB)
		return &self->hub;
	return place >= 0 && place < self->nodes ? &self->node[place] : NULL;
}

static const s_place *s_cplace_of(const netns_cluster *self, int place)
{
	return s_place_of((netns_cluster *)self, place);
}

static void s_name_place(netns_cluster *self, s_place *p, const char *suffix, int host)
{
	snprintf(p->ns, sizeof p->ns, "plx-%d-%s-%s", (int)self->owner, self->tag, suffix);
	snprintf(p->path, sizeof p->path, S_NETNS_DIR "/%s", p->ns);
	snprintf(p->addr, sizeof p->addr, "%s.%hhu", self->subnet, (unsigned char)host);
}

static void s_set_logs(netns_cluster *self)
{
	snprintf(self->hub.log, sizeof self->hub.log, "%s/hub.log", self->run_dir);
	for (int i = 0; i < self->nodes; i++)
		snprintf(self->node[i].log, sizeof self->node[i].log, "%s/node%d.log",
		         self->run_dir, i);
}

static void s_make_tag(char tag[8])
{
	unsigned char b[3] = {0};
	if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
		unsigned v = (unsigned)s_now_ms() ^ (unsigned)getpid() * 2654435761u;
		memcpy(b, &v, sizeof b);
	}
	snprintf(tag, 8, "%02x%02x%02x", b[0], b[1], b[2]);
}

static void s_name_all(netns_cluster *self)
{
	char suffix[16];
	s_make_tag(self->tag);
	snprintf(self->bridge, sizeof self->bridge, "b%s", self->tag);
	s_name_place(self, &self->hub, "hub", 1);
	for (int i = 0; i < self->nodes; i++) {
		s_place *p = &self->node[i];
		snprintf(suffix, sizeof suffix, "n%d", i);
		s_name_place(self, p, suffix, 10 + i);
		snprintf(p->veth, sizeof p->veth, "v%sn%d", self->tag, i);
		snprintf(p->mac, sizeof p->mac, "02:%.2s:%.2s:%.2s:00:%02hhx", self->tag,
		         self->tag + 2, self->tag + 4, (unsigned char)i);
	}
}

/* ---- running ip ---- */

static const char *s_ip_bin(void)
{
	static const char *const candidates[] = {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip",
	                                         "/bin/ip"};
	const char *env = getenv("PLEXUS_IP_BIN");
	if (env && *env)
		return access(env, X_OK) == 0 ? env : NULL;
	for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++)
		if (access(candidates[i], X_OK) == 0)
			return candidates[i];
	return NULL;
}

/* The last non-empty line of path, into line. */
static void s_last_line(const char *path, char *line, size_t size)
{
	char buf[512];
	FILE *f = fopen(path, "re");
	line[0] = '\0';
	while (f && fgets(buf, sizeof buf, f))
		if (buf[0] != '\n' && buf[0] != '+')
			snprintf(line, size, "%.*s", (int)strcspn(buf, "\n"), buf);
	if (f)
		fclose(f);
}

/* Runs argv (argv[0] is a path) with stdout and stderr appended to log; returns the wait
 * status, or a negative errno when it could not run. */
static int s_spawn_wait(const char *bin, const char *const argv[], const char *log)
{
	int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		if (null < 0 || dup2(null, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	int err = pid < 0 ? -errno : 0, status = 0;
	close(fd);
	while (pid > 0 && waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return err ? err : status;
}

/* Runs ip with the NULL-terminated arguments; its output goes to harness.log in the run
 * directory. Returns 0, or -EIO with the command and ip's complaint in netns_error(). */
static int s_ip(netns_cluster *self, ...)
{
	const char *argv[32] = {"ip"};
	char cmd[512] = "ip", log[300], why[256];
	size_t n = 1;
	va_list ap;
	va_start(ap, self);
	while (n < 31 && (argv[n] = va_arg(ap, const char *)) != NULL)
		snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " %s", argv[n++]);
	va_end(ap);
	argv[n] = NULL;
	snprintf(log, sizeof log, "%s/harness.log", self->run_dir);
	FILE *f = fopen(log, "ae");
	if (f) {
		fprintf(f, "+ %s\n", cmd);
		fclose(f);
	}
	const char *bin = s_ip_bin();
	int status = bin ? s_spawn_wait(bin, argv, log) : -ENOENT;
	if (status == 0)
		return 0;
	s_last_line(log, why, sizeof why);
	if (status < 0)
		return s_fail(-EIO, "`%s` could not run: %s", cmd, strerror(-status));
	return s_fail(-EIO, "`%s` failed (%s %d): %s", cmd, WIFEXITED(status) ? "exit" : "signal",
	              WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), why);
}

/* ---- building ---- */

static int s_hub_up(netns_cluster *self)
{
	const char *ns = self->hub.ns, *br = self->bridge;
	char cidr[32], mac[24];
	snprintf(cidr, sizeof cidr, "%s/24", self->hub.addr);
	/* A fixed address: otherwise Linux gives a bridge the lowest address of its ports, so
	 * killing a node could change it under the other nodes' ARP caches, cutting them off
	 * from the hub (and etcd, and their leases) for seconds. */
	snprintf(mac, sizeof mac, "02:%.2s:%.2s:%.2s:fe:fe", self->tag, self->tag + 2,
	         self->tag + 4);
	self->hub.up = true;
	int rc = s_ip(self, "netns", "add", ns, NULL);
	if (rc == 0)
		rc = s_ip(self, "-n", ns, "link", "set", "lo", "up", NULL);
	if (rc == 0)
		rc = s_ip(self, "-n", ns, "link", "add", br, "address", mac, "type", "bridge",
		          "forward_delay", "0", NULL);
	if (rc == 0)
		rc = s_ip(self, "-n", ns, "addr", "add", cidr, "dev", br, NULL);
	if (rc == 0)
		rc = s_ip(self, "-n", ns, "link", "set", br, "up", NULL);
	return rc;
}

/* Makes node i's namespace, its link to the bridge and its address. */
static int s_node_up(netns_cluster *self, int i)
{
	s_place *p = &self->node[i];
	const char *hub = self->hub.ns;
	char cidr[32];
	snprintf(cidr, sizeof cidr, "%s/24", p->addr);
	p->up = true;
	int rc = s_ip(self, "netns", "add", p->ns, NULL);
	if (rc == 0)
		rc = s_ip(self, "-n", p->ns, "link", "set", "lo", "up", NULL);
	if (rc == 0)
		rc = s_ip(self, "-n", hub, "link", "add", p->veth, "type", "veth", "peer", "name",
		          "eth0", "address", p->mac, "netns", p->ns, NULL);
	if (rc == 0)
		rc = s_ip(self, "-n", hub, "link", "set", p->veth, "master", self->bridge, "up",
		          NULL);
	if (rc == 0)
		rc = s_ip(self, "-n", p->ns, "addr", "add", cidr, "dev", "eth0", NULL);
	if (rc == 0)
		rc = s_ip(self, "-n", p->ns, "link", "set", "eth0", "up", NULL);
	return rc;
}

static int s_build(netns_cluster *self)
{
	int rc = s_hub_up(self);
	for (int i = 0; rc == 0 && i < self->nodes; i++)
		rc = s_node_up(self, i);
	return rc;
}

static int s_make_run_dir(netns_cluster *self)
{
	const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	const char *keep = getenv("PLEXUS_NETNS_LOGS") && *getenv("PLEXUS_NETNS_LOGS")
	                       ? getenv("PLEXUS_NETNS_LOGS")
	                       : tmp;
	snprintf(self->run_dir, sizeof self->run_dir, "%s/plexus-netns-%d-XXXXXX", tmp,
	         (int)self->owner);
	snprintf(self->keep_dir, sizeof self->keep_dir, "%s/plexus-netns-failed-%d-%s", keep,
	         (int)self->owner, self->tag);
	if (!mkdtemp(self->run_dir)) {
		int err = errno;
		self->run_dir[0] = '\0';
		return s_fail(-err, "mkdtemp in %s: %s", tmp, strerror(err));
	}
	s_set_logs(self);
	return 0;
}

static int s_write_state_lines(netns_cluster *self, int fd)
{
	int bad = dprintf(fd, "pid %d\ndir %s\nns %s\n", (int)self->owner, self->run_dir,
	                  self->hub.path) < 0;
	for (int i = 0; i < self->nodes; i++)
		bad |= dprintf(fd, "ns %s\n", self->node[i].path) < 0;
	return bad ? -EIO : 0;
}

/* Writes and locks the state file (before any namespace exists, so a crash at any point
 * leaves names the reaper can find). */
static int s_write_state(netns_cluster *self, const char *dir)
{
	char tmp[300];
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return s_fail(-errno, "mkdir %s: %s", dir, strerror(errno));
	snprintf(tmp, sizeof tmp, "%s/.%d-%s.tmp", dir, (int)self->owner, self->tag);
	snprintf(self->state_path, sizeof self->state_path, "%s/%d-%s.state", dir, (int)self->owner,
	         self->tag);
	int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return s_fail(-errno, "creating %s: %s", tmp, strerror(errno));
	int rc = flock(fd, LOCK_EX) < 0 ? -errno : s_write_state_lines(self, fd);
	if (rc == 0 && rename(tmp, self->state_path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		close(fd);
		self->state_path[0] = '\0';
		return s_fail(rc, "writing state file %s: %s", tmp, strerror(-rc));
	}
	self->state_fd = fd;
	return 0;
}

/* ---- clean-up ---- */

static void s_track(netns_cluster *self, bool on)
{
	for (int i = 0; i < S_MAX_CLUSTERS; i++) {
		if (on ? s_live[i] == NULL : s_live[i] == self) {
			s_live[i] = on ? self : NULL;
			return;
		}
	}
}

/* Kills everything the cluster runs (one pass over /proc for all its namespaces) and deletes
 * its namespaces. Async-signal-safe. */
static void s_teardown(netns_cluster *self)
{
	for (int i = 0; i < S_MAX_PROCS; i++)
		s_kill_group(self->procs[i].pid);
	for (int i = 0; self->etcd && i < plx_etcdh_members(self->etcd); i++)
		if (plx_etcdh_pid(self->etcd, i) > 0)
			kill(-plx_etcdh_pid(self->etcd, i), SIGKILL);
	struct stat ns[NETNS_MAX_NODES + 1];
	int m = 0;
	for (int i = -1; i < self->nodes; i++) {
		s_place *p = i < 0 ? &self->hub : &self->node[i];
		if (p->up && stat(p->path, &ns[m]) == 0)
			m++;
	}
	if (m > 0 && s_kill_matching(ns, m) > 0)
		s_kill_rest(ns, m);
	for (int i = -1; i < self->nodes; i++) {
		s_place *p = i < 0 ? &self->hub : &self->node[i];
		if (p->up)
			s_unmount_ns(p->path);
		p->up = false;
	}
}

/* Drops the state file and its lock. Async-signal-safe. */
static void s_drop_state(netns_cluster *self)
{
	if (self->state_path[0])
		unlink(self->state_path);
	if (self->state_fd >= 0)
		close(self->state_fd);
	self->state_fd = -1;
	self->state_path[0] = '\0';
}

/* Keeps the run directory of a cluster still alive at exit or on a signal: moves it to the
 * keep directory and says where. Async-signal-safe. */
static void s_keep_fast(netns_cluster *self)
{
	const char *where =
	    rename(self->run_dir, self->keep_dir) == 0 ? self->keep_dir : self->run_dir;
	s_say("netns harness: cluster not destroyed; logs kept in ");
	s_say(where);
	s_say("\n");
}

static void s_cleanup_all(void)
{
	for (int i = 0; i < S_MAX_CLUSTERS; i++) {
		netns_cluster *c = s_live[i];
		if (c && c->owner == getpid()) {
			s_live[i] = NULL;
			s_teardown(c);
			s_keep_fast(c);
			s_drop_state(c);
		}
	}
}

static void s_on_signal(int sig)
{
	s_cleanup_all();
	for (size_t k = 0; k < sizeof s_signals / sizeof s_signals[0]; k++)
		if (s_signals[k] == sig)
			sigaction(sig, &s_old_actions[k], NULL);
	raise(sig);
}

static void s_install(void)
{
	atexit(s_cleanup_all);
	for (size_t k = 0; k < sizeof s_signals / sizeof s_signals[0]; k++) {
		struct sigaction sa = {.sa_handler = s_on_signal};
		sigemptyset(&sa.sa_mask);
		sigaction(s_signals[k], NULL, &s_old_actions[k]);
		if (s_old_actions[k].sa_handler != SIG_IGN)
			sigaction(s_signals[k], &sa, NULL);
	}
}

/* ---- the reaper ---- */

static bool s_is_our_ns(const char *path)
{
	return !strstr(path, "..") && (strncmp(path, S_NETNS_DIR "/plx-", 19) == 0 ||
	                               strncmp(path, "/run/netns/plx-", 15) == 0);
}

static bool s_is_our_dir(const char *path)
{
	const char *base = strrchr(path, '/');
	return base && !strstr(path, "..") && strncmp(base, "/plexus-netns-", 14) == 0;
}

/* Reaps the run a state file describes unless a live cluster holds it. Returns 1 when
 * reaped, else 0. */
static int s_reap_one(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	FILE *f = flock(fd, LOCK_EX | LOCK_NB) == 0 ? fdopen(fd, "r") : NULL;
	if (!f) {
		close(fd);
		return 0;
	}
	char line[512];
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "ns ", 3) == 0 && s_is_our_ns(line + 3))
			s_delete_ns(line + 3);
		else if (strncmp(line, "dir ", 4) == 0 && s_is_our_dir(line + 4) &&
		         !getenv("PLEXUS_NETNS_KEEP"))
			s_remove_tree(line + 4);
	}
	unlink(path);
	fclose(f);
	return 1;
}

static bool s_is_state_name(const char *name)
{
	size_t len = strlen(name);
	return (len > 6 && strcmp(name + len - 6, ".state") == 0) ||
	       (len > 4 && name[0] == '.' && strcmp(name + len - 4, ".tmp") == 0);
}

int netns_harness_reap_stale(const char *state_dir)
{
	const char *dir = state_dir ? state_dir : S_STATE_DIR;
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : s_fail(-errno, "opendir %s: %s", dir, strerror(errno));
	int reaped = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char path[600];
		if (!s_is_state_name(e->d_name))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		reaped += s_reap_one(path);
	}
	closedir(d);
	return reaped;
}

/* ---- the cluster ---- */

static bool s_has_caps(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {{0}};
	uint32_t need = (1u << CAP_SYS_ADMIN) | (1u << CAP_NET_ADMIN);
	return syscall(SYS_capget, &hdr, data) == 0 && (data[0].effective & need) == need;
}

int netns_harness_check(void)
{
	if (geteuid() != 0 || !s_has_caps())
		return s_fail(-EPERM,
		              "the netns harness needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) to "
		              "make network namespaces; running as uid %d",
		              (int)geteuid());
	if (!s_ip_bin())
		return s_fail(-ENOENT, "iproute2's ip not found (apt-get install iproute2)");
	return 0;
}

static int s_check_args(int nodes, const netns_options *opts)
{
	struct in_addr a;
	char probe[32];
	const char *subnet = opts && opts->subnet ? opts->subnet : S_SUBNET;
	snprintf(probe, sizeof probe, "%s.0", subnet);
	if (nodes < 1 || nodes > NETNS_MAX_NODES)
		return s_fail(-EINVAL, "nodes must be 1..%d", NETNS_MAX_NODES);
	if (strlen(subnet) > 11 || inet_pton(AF_INET, probe, &a) != 1)
		return s_fail(-EINVAL, "subnet must be three octets, such as " S_SUBNET);
	return 0;
}

static netns_cluster *s_alloc(int nodes, const netns_options *opts)
{
	netns_cluster *self = calloc(1, sizeof *self);
	if (!self)
		return NULL;
	self->owner = getpid();
	self->nodes = nodes;
	self->state_fd = -1;
	snprintf(self->subnet, sizeof self->subnet, "%s",
	         opts && opts->subnet ? opts->subnet : S_SUBNET);
	s_name_all(self);
	return self;
}

netns_cluster *netns_cluster_new(int nodes, const netns_options *opts)
{
	int rc = s_check_args(nodes, opts);
	if (rc == 0)
		rc = netns_harness_check();
	if (rc < 0) {
		errno = -rc;
		return NULL;
	}
	pthread_once(&s_once, s_install);
	const char *state_dir = opts && opts->state_dir ? opts->state_dir : S_STATE_DIR;
	netns_harness_reap_stale(state_dir);
	netns_cluster *self = s_alloc(nodes, opts);
	if (!self) {
		errno = ENOMEM;
		return NULL;
	}
	rc = s_make_run_dir(self);
	if (rc == 0)
		rc = s_write_state(self, state_dir);
	if (rc == 0) {
		s_track(self, true);
		rc = s_build(self);
	}
	if (rc < 0) {
		char why[sizeof s_error];
		snprintf(why, sizeof why, "%s", s_error);
		netns_cluster_destroy(&self);
		snprintf(s_error, sizeof s_error, "%s", why);
		errno = -rc;
	}
	return self;
}

/* Waits (bounded, one limit for all) for every process netns_exec started in a node with
 * in[node] set (in any place when in is NULL) and frees their slots. */
static void s_reap_places(netns_cluster *self, const bool *in)
{
	int64_t deadline = s_now_ms() + S_REAP_LIMIT_MS;
	for (int i = 0; i < S_MAX_PROCS; i++) {
		s_proc *p = &self->procs[i];
		if (p->pid <= 0 || (in && (p->place < 0 || !in[p->place])))
			continue;
		while (waitpid(p->pid, NULL, WNOHANG) == 0 && s_now_ms() < deadline)
			s_sleep_ms(2);
		p->pid = 0;
	}
}

/* Copies the logs of a failed (or kept) run and says where. */
static void s_report_failed(netns_cluster *self)
{
	const char *path = NULL;
	if (netns_save_logs(self, &path) == 0)
		fprintf(stderr, "netns harness: logs of the %s run kept in %s\n",
		        self->failed ? "failed" : "finished", path);
	else
		fprintf(stderr, "netns harness: could not keep logs: %s\n", s_error);
}

/* Blocks (on) or restores (off) the signals the harness handles, so that destroy runs to
 * its end before a handler sees the cluster half gone. */
static void s_block_signals(bool on, sigset_t *old)
{
	sigset_t set;
	sigemptyset(&set);
	for (size_t k = 0; k < sizeof s_signals / sizeof s_signals[0]; k++)
		sigaddset(&set, s_signals[k]);
	if (on)
		pthread_sigmask(SIG_BLOCK, &set, old);
	else
		pthread_sigmask(SIG_SETMASK, old, NULL);
}

void netns_cluster_destroy(netns_cluster **self_p)
{
	if (!self_p || !*self_p)
		return;
	netns_cluster *self = *self_p;
	sigset_t old;
	s_block_signals(true, &old);
	s_track(self, false);
	if (self->owner == getpid()) {
		for (int i = 0; i < S_MAX_PROCS; i++)
			s_kill_group(self->procs[i].pid);
		if ((self->failed || getenv("PLEXUS_NETNS_KEEP")) && self->run_dir[0])
			s_report_failed(self);
		plx_etcdh_stop(&self->etcd);
		s_teardown(self);
		s_reap_places(self, NULL);
		s_remove_tree(self->run_dir);
		s_drop_state(self);
	}
	free(self);
	*self_p = NULL;
	s_block_signals(false, &old);
}

void netns_cluster_failed(netns_cluster *self)
{
	self->failed = true;
}

int netns_nodes(const netns_cluster *self)
{
	return self->nodes;
}

const char *netns_node_addr(const netns_cluster *self, int i)
{
	return i >= 0 && i < self->nodes ? self->node[i].addr : NULL;
}

const char *netns_hub_addr(const netns_cluster *self)
{
	return self->hub.addr;
}

const char *netns_ns_path(const netns_cluster *self, int place)
{
	const s_place *p = s_cplace_of(self, place);
	return p ? p->path : NULL;
}

const char *netns_veth(const netns_cluster *self, int i)
{
	return i >= 0 && i < self->nodes ? self->node[i].veth : NULL;
}

const char *netns_run_dir(const netns_cluster *self)
{
	return self->run_dir;
}

const char *netns_log_path(const netns_cluster *self, int place)
{
	const s_place *p = s_cplace_of(self, place);
	return p ? p->log : NULL;
}

bool netns_node_up(const netns_cluster *self, int i)
{
	return i >= 0 && i < self->nodes && self->node[i].up;
}

/* ---- processes ---- */

static s_proc *s_find_proc(netns_cluster *self, pid_t pid)
{
	for (int i = 0; i < S_MAX_PROCS; i++)
		if (self->procs[i].pid == pid && pid > 0)
			return &self->procs[i];
	return NULL;
}

static s_proc *s_free_slot(netns_cluster *self)
{
	for (int i = 0; i < S_MAX_PROCS; i++)
		if (self->procs[i].pid == 0)
			return &self->procs[i];
	return NULL;
}

static void s_child_fail(int errfd)
{
	int err = errno;
	ssize_t n = write(errfd, &err, sizeof err);
	(void)n;
	_exit(127);
}

/* In the child of netns_exec: joins the namespace, wires stdio, execs. Never returns. */
static void s_exec_child(pid_t parent, const int fds[3], char *const argv[], char *const envp[])
{
	sigset_t none;
	int nsfd = fds[0], logfd = fds[1], errfd = fds[2];
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (setns(nsfd, CLONE_NEWNET) < 0 || null < 0 || dup2(null, 0) < 0 || dup2(logfd, 1) < 0 ||
	    dup2(logfd, 2) < 0)
		s_child_fail(errfd);
	execvpe(argv[0], argv, envp ? envp : environ);
	s_child_fail(errfd);
}

/* Opens the namespace, the log and an exec-error pipe: fds = {ns, log, pipe write}, plus
 * *rd, the pipe's read end. */
static int s_open_exec_fds(const s_place *p, int fds[3], int *rd)
{
	int pipefd[2] = {-1, -1};
	fds[0] = open(p->path, O_RDONLY | O_CLOEXEC);
	fds[1] = open(p->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	int err = fds[0] < 0 || fds[1] < 0 || pipe2(pipefd, O_CLOEXEC) < 0 ? errno : 0;
	fds[2] = pipefd[1];
	*rd = pipefd[0];
	return -err;
}

static void s_close_all(const int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

int netns_exec(netns_cluster *self, int place, char *const argv[], char *const envp[], pid_t *pid)
{
	s_place *p = s_place_of(self, place);
	s_proc *slot = s_free_slot(self);
	if (!p || !argv || !argv[0] || !pid)
		return s_fail(-EINVAL, "netns_exec: bad place or argv");
	if (!p->up)
		return s_fail(-EHOSTDOWN, "netns_exec: %s is down", p->ns);
	if (!slot)
		return s_fail(-EMFILE, "netns_exec: more than %d processes", S_MAX_PROCS);
	int fds[3], rd, err = 0;
	int rc = s_open_exec_fds(p, fds, &rd);
	pid_t parent = getpid(), child = rc < 0 ? -1 : fork();
	if (child == 0)
		s_exec_child(parent, fds, argv, envp);
	if (rc == 0 && child < 0)
		rc = -errno;
	s_close_all(fds, 3);
	ssize_t n = -1;
	while (child > 0 && (n = read(rd, &err, sizeof err)) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)sizeof err) {
		waitpid(child, NULL, 0);
		rc = -err;
	}
	if (rd >= 0)
		close(rd);
	if (rc < 0)
		return s_fail(rc, "netns_exec %s in %s: %s", argv[0], p->ns, strerror(-rc));
	*slot = (s_proc){.pid = child, .place = place};
	*pid = child;
	return 0;
}

int netns_wait(netns_cluster *self, pid_t pid, int *status, int timeout_ms)
{
	s_proc *slot = s_find_proc(self, pid);
	if (!slot)
		return -ECHILD;
	int64_t deadline = s_now_ms() + timeout_ms;
	for (;;) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid || (r < 0 && errno != EINTR)) {
			slot->pid = 0;
			if (r == pid && status)
				*status = st;
			return r == pid ? 0 : -ECHILD;
		}
		if (timeout_ms >= 0 && s_now_ms() >= deadline)
			return -ETIMEDOUT;
		s_sleep_ms(2);
	}
}

int netns_run(netns_cluster *self, int place, char *const argv[], char *const envp[],
              int timeout_ms, int *status)
{
	pid_t pid;
	int rc = netns_exec(self, place, argv, envp, &pid);
	if (rc < 0)
		return rc;
	rc = netns_wait(self, pid, status, timeout_ms);
	if (rc == -ETIMEDOUT) {
		s_kill_group(pid);
		netns_wait(self, pid, NULL, -1);
		return s_fail(-ETIMEDOUT, "%s did not finish within %d ms", argv[0], timeout_ms);
	}
	return rc;
}

/* ---- namespaces at work ---- */

int netns_call(netns_cluster *self, int place, int (*fn)(void *arg), void *arg)
{
	s_place *p = s_place_of(self, place);
	if (!p || !fn)
		return -EINVAL;
	if (!p->up)
		return -EHOSTDOWN;
	int own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int fd = open(p->path, O_RDONLY | O_CLOEXEC);
	int err = own < 0 || fd < 0 || setns(fd, CLONE_NEWNET) < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	if (err) {
		if (own >= 0)
			close(own);
		return s_fail(-err, "entering %s: %s", p->ns, strerror(err));
	}
	int rc = fn(arg);
	if (setns(own, CLONE_NEWNET) < 0)
		abort(); /* the thread would go on in the wrong namespace */
	close(own);
	return rc;
}

typedef struct s_socket_args {
	int domain, type, protocol;
} s_socket_args;

static int s_socket_fn(void *arg)
{
	const s_socket_args *a = arg;
	int fd = socket(a->domain, a->type, a->protocol);
	return fd < 0 ? -errno : fd;
}

int netns_socket(netns_cluster *self, int place, int domain, int type, int protocol)
{
	s_socket_args a = {domain, type, protocol};
	return netns_call(self, place, s_socket_fn, &a);
}

/* Connects fd (non-blocking) to sa within timeout_ms. Returns 0 or a negative errno. */
static int s_connect_wait(int fd, const struct sockaddr_in *sa, int timeout_ms)
{
	if (connect(fd, (const struct sockaddr *)sa, sizeof *sa) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return -errno;
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};
	int64_t deadline = s_now_ms() + timeout_ms;
	int n;
	do
		n = poll(&pfd, 1, (int)(deadline - s_now_ms() > 0 ? deadline - s_now_ms() : 0));
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n == 0 ? -ETIMEDOUT : -errno;
	int err = 0;
	socklen_t len = sizeof err;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	return -err;
}

bool netns_pid_gone(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return true;
	bool zombie = fgets(line, sizeof line, f) && strstr(line, ") Z ");
	fclose(f);
	return zombie;
}

int netns_tcp_probe(netns_cluster *self, int place, const char *addr, int port, int timeout_ms)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (!addr || inet_pton(AF_INET, addr, &sa.sin_addr) != 1 || port <= 0 || port > 65535)
		return -EINVAL;
	int fd = netns_socket(self, place, AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	int rc = s_connect_wait(fd, &sa, timeout_ms);
	close(fd);
	return rc == -ECONNREFUSED ? 0 : rc;
}

/* ---- nodes ---- */

typedef struct s_links {
	const netns_cluster *self;
	const int *nodes;
	int n;
} s_links;

/* In the hub: how many of the nodes' hub-side links still exist. */
static int s_links_left_fn(void *arg)
{
	const s_links *l = arg;
	int left = 0;
	for (int k = 0; k < l->n; k++)
		left += if_nametoindex(l->self->node[l->nodes[k]].veth) > 0;
	return left;
}

/* Waits until the hub-side links of nodes[0..n) are all gone (the kernel frees a deleted
 * namespace lazily, and frees namespaces deleted together in one batch). */
static int s_wait_links_gone(netns_cluster *self, const int *nodes, int n)
{
	s_links l = {self, nodes, n};
	int64_t deadline = s_now_ms() + S_GONE_LIMIT_MS;
	while (netns_call(self, NETNS_HUB, s_links_left_fn, &l) > 0) {
		if (s_now_ms() >= deadline)
			return s_fail(
			    -EBUSY,
			    "a link of the %d nodes killed still exists %d ms after their "
			    "namespaces were deleted; does an open socket hold one?",
			    n, S_GONE_LIMIT_MS);
		s_sleep_ms(2);
	}
	return 0;
}

/* Checks nodes[0..n) (distinct, alive) and marks them in in[]. */
static int s_check_victims(netns_cluster *self, const int *nodes, int n, bool *in)
{
	if (!nodes || n < 1 || n > self->nodes)
		return s_fail(-EINVAL, "netns_kill_nodes: %d nodes of %d", n, self->nodes);
	for (int k = 0; k < n; k++) {
		int i = nodes[k];
		if (i < 0 || i >= self->nodes || in[i])
			return s_fail(-EINVAL, "no node %d, or named twice", i);
		if (!self->node[i].up)
			return s_fail(-EHOSTDOWN, "node %d is already dead", i);
		in[i] = true;
	}
	return 0;
}

/* SIGKILL to every process in the nodes marked in in[] (and to any they forked meanwhile)
 * until none is left: their groups first, then one pass over /proc for all their namespaces;
 * stamps the time the last signal of those went out. */
static void s_kill_procs_of(netns_cluster *self, const int *nodes, int n, const bool *in)
{
	struct stat ns[NETNS_MAX_NODES];
	int m = 0;
	for (int k = 0; k < S_MAX_PROCS; k++)
		if (self->procs[k].pid > 0 && self->procs[k].place >= 0 && in[self->procs[k].place])
			s_kill_group(self->procs[k].pid);
	for (int k = 0; k < n; k++)
		if (stat(self->node[nodes[k]].path, &ns[m]) == 0)
			m++;
	int found = m > 0 ? s_kill_matching(ns, m) : 0;
	self->signalled_ns = s_now_ns();
	if (found > 0)
		s_kill_rest(ns, m);
}

int netns_kill_nodes(netns_cluster *self, const int *nodes, int n)
{
	bool in[NETNS_MAX_NODES] = {false};
	int rc = s_check_victims(self, nodes, n, in);
	if (rc < 0)
		return rc;
	s_kill_procs_of(self, nodes, n, in);
	for (int k = 0; k < n; k++) {
		s_unmount_ns(self->node[nodes[k]].path);
		self->node[nodes[k]].up = false;
	}
	s_reap_places(self, in);
	return s_wait_links_gone(self, nodes, n);
}

int netns_kill_node(netns_cluster *self, int i)
{
	return netns_kill_nodes(self, &i, 1);
}

uint64_t netns_kill_signalled_ns(const netns_cluster *self)
{
	return self->signalled_ns;
}

int netns_revive_node(netns_cluster *self, int i)
{
	if (i < 0 || i >= self->nodes)
		return s_fail(-EINVAL, "no node %d", i);
	if (self->node[i].up)
		return s_fail(-EALREADY, "node %d is alive", i);
	int rc = s_node_up(self, i);
	if (rc < 0) {
		s_delete_ns(self->node[i].path);
		self->node[i].up = false;
	}
	return rc;
}

static int s_set_link(netns_cluster *self, int i, const char *state)
{
	if (i < 0 || i >= self->nodes)
		return s_fail(-EINVAL, "no node %d", i);
	if (!self->node[i].up)
		return s_fail(-EHOSTDOWN, "node %d is dead", i);
	return s_ip(self, "-n", self->hub.ns, "link", "set", self->node[i].veth, state, NULL);
}

int netns_cut_link(netns_cluster *self, int i)
{
	return s_set_link(self, i, "down");
}

int netns_restore_link(netns_cluster *self, int i)
{
	return s_set_link(self, i, "up");
}

/* ---- etcd on the hub ---- */

static int s_hub_etcd_start(netns_cluster *self, int members, bool tls)
{
	if (self->etcd)
		return s_fail(-EALREADY, "the hub etcd already runs");
	plx_etcdh_opts opts = {
	    .members = members, .host = self->hub.addr, .netns = self->hub.path, .tls = tls};
	plx_etcdh *etcd = plx_etcdh_start_opts(&opts);
	if (!etcd) {
		int err = errno;
		return s_fail(-err, "hub etcd: %s",
		              err == EINVAL ? "bad member count" : plx_etcdh_error());
	}
	self->etcd = etcd;
	return 0;
}

int netns_hub_etcd_start(netns_cluster *self, int members)
{
	return s_hub_etcd_start(self, members, false);
}

int netns_hub_etcd_start_tls(netns_cluster *self, int members)
{
	return s_hub_etcd_start(self, members, true);
}

const char *netns_hub_etcd_endpoints(const netns_cluster *self)
{
	return self->etcd ? plx_etcdh_endpoints(self->etcd) : NULL;
}

plx_etcdh *netns_hub_etcd(netns_cluster *self)
{
	return self->etcd;
}

void netns_hub_etcd_stop(netns_cluster *self)
{
	plx_etcdh_stop(&self->etcd);
}

/* ---- logs ---- */

int netns_read_log(const netns_cluster *self, int place, char **text)
{
	const s_place *p = s_cplace_of(self, place);
	if (!p || !text)
		return -EINVAL;
	FILE *f = fopen(p->log, "re");
	if (!f)
		return -errno;
	char *buf = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&buf, &size);
	char chunk[4096];
	size_t n;
	while (out && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
		fwrite(chunk, 1, n, out);
	fclose(f);
	if (!out || fclose(out) != 0) {
		free(buf);
		return -ENOMEM;
	}
	*text = buf;
	return 0;
}

/* Makes a fresh directory named after keep_dir (with -2, -3, ... when taken). */
static int s_make_keep_dir(const netns_cluster *self, char *path, size_t size)
{
	snprintf(path, size, "%s", self->keep_dir);
	for (int k = 2; mkdir(path, 0755) < 0; k++) {
		if (errno != EEXIST || k > 1000)
			return s_fail(-errno, "mkdir %s: %s", path, strerror(errno));
		snprintf(path, size, "%s-%d", self->keep_dir, k);
	}
	return 0;
}

int netns_save_logs(netns_cluster *self, const char **path)
{
	char *saved = self->saved;
	int rc = s_make_keep_dir(self, saved, sizeof self->saved);
	if (rc == 0)
		rc = s_copy_dir(self->run_dir, saved, "", "");
	if (rc == 0 && self->etcd)
		rc = s_copy_dir(plx_etcdh_dir(self->etcd), saved, "etcd-", ".log");
	if (rc < 0)
		return s_fail(rc, "copying logs to %s: %s", saved, strerror(-rc));
	*path = saved;
	return 0;
}
