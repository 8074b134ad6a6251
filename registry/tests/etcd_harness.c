/*
 * etcd_harness.c — private etcd members for tests: ports, processes, clean-up.
 *
 * Entry points: plx_etcdh_start, plx_etcdh_stop, plx_etcdh_endpoints, plx_etcdh_url,
 * plx_etcdh_dir, plx_etcdh_members, plx_etcdh_pid, plx_etcdh_kill, plx_etcdh_restart,
 * plx_etcdh_error, plx_etcdh_start_opts, plx_etcdh_tls_file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include <plexus/etcd_tls.h>

#include "etcd_harness.h"

#define S_ATTEMPTS       5
#define S_START_LIMIT_MS 30000
#define S_MAX_HARNESSES  8

typedef struct s_member {
	int client_port;
	int peer_port;
	pid_t pid; /* 0 when not running; also its process group */
	char url[64];
} s_member;

struct plx_etcdh {
	int nmembers;
	bool tls;
	char host[INET_ADDRSTRLEN]; /* members' address */
	char netns[256];            /* namespace file, or "" for the caller's */
	char ca[300];               /* TLS files, in dir */
	char cert[300];
	char key[300];
	char server_cert[300]; /* etcd's own pair */
	char server_key[300];
	s_member members[PLX_ETCDH_MAX_MEMBERS];
	char dir[256];
	char endpoints[PLX_ETCDH_MAX_MEMBERS * 64];
	char cluster[PLX_ETCDH_MAX_MEMBERS * 96];
};

static char s_error[512];
static plx_etcdh *volatile s_live[S_MAX_HARNESSES];
static pthread_once_t s_once = PTHREAD_ONCE_INIT;

static int s_fail(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s_error, sizeof s_error, fmt, ap);
	va_end(ap);
	return code;
}

const char *plx_etcdh_error(void)
{
	return s_error;
}

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

static void s_kill_members(plx_etcdh *self)
{
	for (int i = 0; i < self->nmembers; i++) {
		if (self->members[i].pid > 0) {
			kill(-self->members[i].pid, SIGKILL);
			waitpid(self->members[i].pid, NULL, 0);
			self->members[i].pid = 0;
		}
	}
}

/* atexit and fatal signals: kill every live harness's members, remove their directories. */
static void s_cleanup_all(void)
{
	for (int i = 0; i < S_MAX_HARNESSES; i++) {
		plx_etcdh *h = s_live[i];
		if (h) {
			s_live[i] = NULL;
			s_kill_members(h);
			s_remove_tree(h->dir);
		}
	}
}

static void s_on_signal(int sig)
{
	s_cleanup_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Removes directories of earlier runs whose process no longer exists. */
static void s_remove_stale(const char *tmp)
{
	DIR *d = opendir(tmp);
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL) {
		int pid = 0;
		if (sscanf(e->d_name, "plexus-etcd-%d-", &pid) != 1 || pid <= 0)
			continue;
		if (kill(pid, 0) < 0 && errno == ESRCH) {
			char path[512];
			snprintf(path, sizeof path, "%s/%s", tmp, e->d_name);
			s_remove_tree(path);
		}
	}
	if (d)
		closedir(d);
}

static void s_install(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGABRT};
	atexit(s_cleanup_all);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		struct sigaction old;
		sigaction(sigs[i], NULL, &old);
		if (old.sa_handler == SIG_DFL)
			signal(sigs[i], s_on_signal);
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void s_track(plx_etcdh *self, bool on)
{
	for (int i = 0; i < S_MAX_HARNESSES; i++) {
		if (on ? s_live[i] == NULL : s_live[i] == self) {
			s_live[i] = on ? self : NULL;
			return;
		}
	}
}

/* Returns a port the kernel considers free on host right now, or -1. */
static int s_free_port(const char *host)
{
	struct sockaddr_in addr = {.sin_family = AF_INET};
	socklen_t len = sizeof addr;
	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
		return -1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int port = -1;
	if (bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0 &&
	    getsockname(fd, (struct sockaddr *)&addr, &len) == 0)
		port = ntohs(addr.sin_port);
	close(fd);
	return port;
}

static int s_pick_ports(plx_etcdh *self)
{
	size_t off = 0, eoff = 0;
	for (int i = 0; i < self->nmembers; i++) {
		s_member *m = &self->members[i];
		m->client_port = s_free_port(self->host);
		m->peer_port = s_free_port(self->host);
		if (m->client_port < 0 || m->peer_port < 0 || m->client_port == m->peer_port)
			return s_fail(-EADDRNOTAVAIL, "no free port on %s", self->host);
		snprintf(m->url, sizeof m->url, "%s://%s:%d", self->tls ? "https" : "http",
		         self->host, m->client_port);
		off += snprintf(self->cluster + off, sizeof self->cluster - off, "%sm%d=%s://%s:%d",
		                i ? "," : "", i, self->tls ? "https" : "http", self->host,
		                m->peer_port);
		eoff += snprintf(self->endpoints + eoff, sizeof self->endpoints - eoff, "%s%s",
		                 i ? "," : "", m->url);
	}
	return 0;
}

/* In the child: exec etcd for member i with its log as stdout and stderr. */
static void s_exec_member(plx_etcdh *self, int i)
{
	s_member *m = &self->members[i];
	char name[16], data[300], log[300], peer[64], token[300];
	snprintf(name, sizeof name, "m%d", i);
	snprintf(data, sizeof data, "%s/m%d.data", self->dir, i);
	snprintf(log, sizeof log, "%s/m%d.log", self->dir, i);
	snprintf(peer, sizeof peer, "%s://%s:%d", self->tls ? "https" : "http", self->host,
	         m->peer_port);
	snprintf(token, sizeof token, "plexus-%s", strrchr(self->dir, '/') + 1);
	int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	const char *bin = getenv("PLEXUS_ETCD_BIN") ? getenv("PLEXUS_ETCD_BIN") : "/usr/bin/etcd";
	const char *argv[48] = {"etcd",
	                        "--name",
	                        name,
	                        "--data-dir",
	                        data,
	                        "--listen-client-urls",
	                        m->url,
	                        "--advertise-client-urls",
	                        m->url,
	                        "--listen-peer-urls",
	                        peer,
	                        "--initial-advertise-peer-urls",
	                        peer,
	                        "--initial-cluster",
	                        self->cluster,
	                        "--initial-cluster-state",
	                        "new",
	                        "--initial-cluster-token",
	                        token,
	                        "--heartbeat-interval",
	                        "50",
	                        "--election-timeout",
	                        "500",
	                        "--logger",
	                        "zap",
	                        "--log-outputs",
	                        "stderr",
	                        "--bcrypt-cost", /* as plexus up and netboot */
	                        "4"};
	if (self->tls) {
		/* members accept only each other: the server's pair, whose CN only they hold */
		const char *tls[] = {"--cert-file",
		                     self->server_cert,
		                     "--key-file",
		                     self->server_key,
		                     "--trusted-ca-file",
		                     self->ca,
		                     "--client-cert-auth",
		                     "--peer-cert-file",
		                     self->server_cert,
		                     "--peer-key-file",
		                     self->server_key,
		                     "--peer-trusted-ca-file",
		                     self->ca,
		                     "--peer-client-cert-auth",
		                     "--peer-cert-allowed-cn",
		                     "etcd"};
		size_t n = 0;
		while (argv[n])
			n++;
		memcpy(argv + n, tls, sizeof tls);
	}
	execv(bin, (char *const *)argv);
	_exit(127);
}

static int s_spawn(plx_etcdh *self, int i)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		return s_fail(-errno, "fork: %s", strerror(errno));
	if (pid == 0) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		s_exec_member(self, i);
	}
	setpgid(pid, pid);
	self->members[i].pid = pid;
	return 0;
}

static size_t s_sink(char *data, size_t size, size_t nmemb, void *arg)
{
	(void)data, (void)arg;
	return size * nmemb;
}

/* True when url's /health answers 200 (which etcd 3.4 does only with a leader). */
static bool s_healthy(const plx_etcdh *self, const char *url)
{
	char target[128];
	long status = 0;
	CURL *h = curl_easy_init();
	if (!h)
		return false;
	snprintf(target, sizeof target, "%s/health", url);
	curl_easy_setopt(h, CURLOPT_URL, target);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 1000L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s_sink);
	if (self->tls) {
		curl_easy_setopt(h, CURLOPT_CAINFO, self->ca);
		curl_easy_setopt(h, CURLOPT_SSLCERT, self->cert);
		curl_easy_setopt(h, CURLOPT_SSLKEY, self->key);
	}
	bool ok = curl_easy_perform(h) == CURLE_OK &&
	          curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
	          status == 200;
	curl_easy_cleanup(h);
	return ok;
}

/* True when member i's log says it could not bind a port. */
static bool s_lost_port_race(const plx_etcdh *self, int i)
{
	char path[300], line[2048];
	snprintf(path, sizeof path, "%s/m%d.log", self->dir, i);
	FILE *f = fopen(path, "r");
	bool lost = false;
	while (f && !lost && fgets(line, sizeof line, f))
		lost = strstr(line, "address already in use") != NULL;
	if (f)
		fclose(f);
	return lost;
}

/* Waits until member i serves. Returns 0, -EADDRINUSE (lost a port race) or another error. */
static int s_wait_serving(plx_etcdh *self, int i)
{
	int64_t deadline = s_now_ms() + S_START_LIMIT_MS;
	while (s_now_ms() < deadline) {
		int status;
		if (waitpid(self->members[i].pid, &status, WNOHANG) == self->members[i].pid) {
			self->members[i].pid = 0;
			if (s_lost_port_race(self, i))
				return s_fail(-EADDRINUSE, "etcd m%d: port taken", i);
			return s_fail(-ECHILD, "etcd m%d exited early (status %d); see %s/m%d.log",
			              i, status, self->dir, i);
		}
		if (s_healthy(self, self->members[i].url))
			return 0;
		usleep(50 * 1000);
	}
	return s_fail(-ETIMEDOUT, "etcd m%d not serving within %d ms; see %s/m%d.log", i,
	              S_START_LIMIT_MS, self->dir, i);
}

/* Makes an authority, etcd's pair for the host address and the clients' pair in the harness
 * directory, as a secured `plexus up` does (plexus/etcd_tls.h). */
static int s_make_tls(plx_etcdh *self)
{
	char err[512];
	const char *ips[] = {self->host};
	snprintf(self->ca, sizeof self->ca, "%s/etcd-ca.crt", self->dir);
	snprintf(self->cert, sizeof self->cert, "%s/etcd-client.crt", self->dir);
	snprintf(self->key, sizeof self->key, "%s/etcd-client.key", self->dir);
	snprintf(self->server_cert, sizeof self->server_cert, "%s/etcd-server.crt", self->dir);
	snprintf(self->server_key, sizeof self->server_key, "%s/etcd-server.key", self->dir);
	int rc = plx_etcd_tls_make(self->dir, ips, 1, err, sizeof err);
	return rc < 0 ? s_fail(rc, "etcd's certificates: %s", err) : 0;
}

/* Moves the calling thread into the harness's network namespace, if it has one. Sets *saved
 * to the thread's own namespace (-1 when nothing changed). Returns 0 or a negative errno. */
static int s_enter(const plx_etcdh *self, int *saved)
{
	*saved = -1;
	if (!self->netns[0])
		return 0;
	int own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int fd = open(self->netns, O_RDONLY | O_CLOEXEC);
	int err = own < 0 || fd < 0 || setns(fd, CLONE_NEWNET) < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	if (err) {
		if (own >= 0)
			close(own);
		return s_fail(-err, "entering network namespace %s: %s", self->netns,
		              strerror(err));
	}
	*saved = own;
	return 0;
}

/* Returns the calling thread to the namespace s_enter saved. */
static void s_leave(int saved)
{
	if (saved < 0)
		return;
	if (setns(saved, CLONE_NEWNET) < 0)
		abort(); /* the thread would go on in the wrong namespace */
	close(saved);
}

/* Starts every member on fresh ports and waits for all. */
static int s_start_all(plx_etcdh *self)
{
	int rc = self->tls ? s_make_tls(self) : 0;
	if (rc == 0)
		rc = s_pick_ports(self);
	for (int i = 0; rc == 0 && i < self->nmembers; i++)
		rc = s_spawn(self, i);
	for (int i = 0; rc == 0 && i < self->nmembers; i++)
		rc = s_wait_serving(self, i);
	if (rc < 0)
		s_kill_members(self);
	return rc;
}

/* Makes the data directory, fresh: etcd must not find an old member there after a retry. */
static int s_make_dir(plx_etcdh *self)
{
	const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	s_remove_stale(tmp);
	snprintf(self->dir, sizeof self->dir, "%s/plexus-etcd-%d-XXXXXX", tmp, (int)getpid());
	if (!mkdtemp(self->dir)) {
		int err = errno;
		self->dir[0] = '\0';
		return s_fail(-err, "mkdtemp in %s: %s", tmp, strerror(err));
	}
	return 0;
}

plx_etcdh *plx_etcdh_start(int members)
{
	plx_etcdh_opts opts = {.members = members};
	return plx_etcdh_start_opts(&opts);
}

plx_etcdh *plx_etcdh_start_opts(const plx_etcdh_opts *opts)
{
	int members = opts->members;
	struct in_addr host;
	if (members < 1 || members > PLX_ETCDH_MAX_MEMBERS ||
	    (opts->host && inet_pton(AF_INET, opts->host, &host) != 1)) {
		errno = EINVAL;
		return NULL;
	}
	pthread_once(&s_once, s_install);
	plx_etcdh *self = calloc(1, sizeof *self);
	if (!self) {
		errno = ENOMEM;
		return NULL;
	}
	self->nmembers = members;
	self->tls = opts->tls;
	snprintf(self->host, sizeof self->host, "%s", opts->host ? opts->host : "127.0.0.1");
	snprintf(self->netns, sizeof self->netns, "%s", opts->netns ? opts->netns : "");
	int rc = -EADDRINUSE;
	for (int attempt = 0; attempt < S_ATTEMPTS && rc == -EADDRINUSE; attempt++) {
		s_remove_tree(self->dir);
		if ((rc = s_make_dir(self)) < 0)
			break;
		s_track(self, true);
		int saved;
		rc = s_enter(self, &saved);
		if (rc == 0)
			rc = s_start_all(self);
		s_leave(saved);
		if (rc < 0)
			s_track(self, false);
	}
	if (rc < 0) {
		if (rc != -ECHILD && rc != -ETIMEDOUT)
			s_remove_tree(self->dir); /* keep the logs of a failed start */
		free(self);
		errno = -rc;
		return NULL;
	}
	return self;
}

void plx_etcdh_stop(plx_etcdh **self_p)
{
	if (!self_p || !*self_p)
		return;
	plx_etcdh *self = *self_p;
	s_track(self, false);
	s_kill_members(self);
	s_remove_tree(self->dir);
	free(self);
	*self_p = NULL;
}

const char *plx_etcdh_endpoints(const plx_etcdh *self)
{
	return self->endpoints;
}

const char *plx_etcdh_url(const plx_etcdh *self, int i)
{
	return i >= 0 && i < self->nmembers ? self->members[i].url : NULL;
}

const char *plx_etcdh_dir(const plx_etcdh *self)
{
	return self->dir;
}

int plx_etcdh_members(const plx_etcdh *self)
{
	return self->nmembers;
}

const char *plx_etcdh_tls_file(const plx_etcdh *self, const char *which)
{
	if (!self->tls)
		return NULL;
	return strcmp(which, "ca") == 0     ? self->ca
	       : strcmp(which, "cert") == 0 ? self->cert
	       : strcmp(which, "key") == 0  ? self->key
	                                    : NULL;
}

pid_t plx_etcdh_pid(const plx_etcdh *self, int i)
{
	return i >= 0 && i < self->nmembers ? self->members[i].pid : 0;
}

int plx_etcdh_kill(plx_etcdh *self, int i)
{
	if (i < 0 || i >= self->nmembers)
		return -EINVAL;
	if (self->members[i].pid <= 0)
		return -ESRCH;
	kill(-self->members[i].pid, SIGKILL);
	waitpid(self->members[i].pid, NULL, 0);
	self->members[i].pid = 0;
	return 0;
}

int plx_etcdh_restart(plx_etcdh *self, int i)
{
	if (i < 0 || i >= self->nmembers)
		return -EINVAL;
	if (self->members[i].pid > 0)
		return -EALREADY;
	int saved;
	int rc = s_enter(self, &saved);
	if (rc == 0)
		rc = s_spawn(self, i);
	if (rc == 0)
		rc = s_wait_serving(self, i);
	s_leave(saved);
	return rc;
}
