/*
 * vouch.c — a node kernel vouches for the processes of its machine (plexus/link_keys.h,
 * docs/security.md "Credentials").
 *
 * Entry points: plx_vouch_path, plx_vouch_node, plx_voucher_start, plx_voucher_stop,
 * plx_link_secure_vouched, plx_vouch_etcd.
 *
 * A process that cannot read root.key (any user but the one who runs Plexus) still gets a
 * certificate: it makes a CURVE key pair and sends its public key and its label over a Unix
 * socket (SOCK_SEQPACKET, mode 0666) to the node kernel, which reads who it is from the kernel
 * (SO_PEERCRED: pid, uid, gid; SO_PEERGROUPS: supplementary groups) and answers a user
 * certificate carrying exactly those credentials. The label must be a client label of this
 * node, the asking user and the asking pid, c-NODE-UID-PID-N, so nobody gets a certificate for
 * a service's name or for another process. It also gives each local user an etcd user of its
 * own, u-NODE-UID, that may write only ep/c-NODE-UID-* and gen/c-NODE-UID-* (made on the
 * user's first request, its password keyed from the trust root's secret and the name, so the
 * same after the node kernel starts again): no user can
 * rewrite or delete another's client records, nor revoke their leases. One request per
 * connection; the node kernel waits for it at most a second, and keeps at most four
 * connections of one user waiting (silent clients cannot hold others up):
 *     "plexus-vouch-1 LABEL PUBLIC_KEY"  ->  "ok CERTIFICATE" | "error REASON"
 *     "plexus-etcd-1"                    ->  "ok USER PASSWORD" | "ok - -" (etcd takes
 *                                            everyone) | "error REASON"
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include <plexus/etcd.h>
#include <plexus/link_keys.h>
#include <plexus/link_security.h>

#include "keys_internal.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif

#define S_PREFIX  "plexus-vouch-1"
#define S_ETCD    "plexus-etcd-1"
#define S_MSG_MAX (PLX_CERT_MAX + 64)
#define S_USERS   256 /* local users with an etcd user of their own */
#define S_PW_MAX  PLX_ETCD_PASSWORD_MAX

typedef struct s_user {
	uid_t uid;
	char password[S_PW_MAX];
} s_user;

struct plx_voucher {
	char node[PLX_LABEL_MAX];
	char cluster[PLX_LABEL_MAX];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	uint8_t sk[PLX_TRUST_SECRET];
	plx_etcd *etcd; /* as root, to make users; NULL when etcd takes everyone */
	s_user users[S_USERS];
	int nusers;
	int listen_fd;
	int stop_pipe[2];
	pthread_t thread;
};

int plx_vouch_path(const char *dir, const char *node, char *out, size_t size)
{
	size_t max = sizeof(((struct sockaddr_un *)0)->sun_path);
	int n = snprintf(out, size, "%s/vouch-%s.sock", dir, node);
	return n < 0 || (size_t)n >= size || (size_t)n >= max ? -ENAMETOOLONG : 0;
}

int plx_vouch_node(char *node, size_t size)
{
	const char *dir = getenv("PLEXUS_KEYS");
	DIR *d = dir && *dir ? opendir(dir) : NULL;
	if (!d)
		return -ENOENT;
	int rc = -ENOENT;
	for (struct dirent *e; rc < 0 && (e = readdir(d));) {
		size_t len = strlen(e->d_name);
		if (strncmp(e->d_name, "vouch-", 6) == 0 && len > 11 &&
		    strcmp(e->d_name + len - 5, ".sock") == 0 && len - 11 < size) {
			snprintf(node, size, "%.*s", (int)(len - 11), e->d_name + 6);
			rc = 0;
		}
	}
	closedir(d);
	return rc;
}

/* ---- the node kernel's side ---- */

/* True when label is c-NODE-UID-PID-N for this node, this user and this pid (N decimal). */
static bool s_label_of(const char *label, const char *node, uid_t uid, pid_t pid)
{
	char prefix[PLX_LABEL_MAX + 48];
	int n = snprintf(prefix, sizeof prefix, "c-%.28s-%u-%ld-", node, (unsigned)uid, (long)pid);
	if (strlen(label) >= PLX_LABEL_MAX || strncmp(label, prefix, (size_t)n) != 0 || !label[n])
		return false;
	return strspn(label + n, "0123456789") == strlen(label + n);
}

/* The peer's credentials as the kernel knows them. */
static int s_peer(int fd, struct ucred *uc, plx_cred *cred)
{
	socklen_t len = sizeof *uc;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, uc, &len) < 0)
		return -errno;
	gid_t groups[PLX_CRED_GROUPS];
	len = sizeof groups;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return errno == ERANGE ? -E2BIG : -errno;
	*cred = (plx_cred){.uid = uc->uid, .gid = uc->gid, .ngroups = len / sizeof(gid_t)};
	for (uint32_t i = 0; i < cred->ngroups; i++)
		cred->groups[i] = groups[i];
	return 0;
}

/* "plexus-etcd-1": the asking user's etcd user, made on its first request. */
static void s_answer_etcd(plx_voucher *v, uid_t uid, char *reply, size_t size)
{
	if (!v->etcd) {
		snprintf(reply, size, "ok - -");
		return;
	}
	char name[PLX_LABEL_MAX + 16], prefix[PLX_LABEL_MAX + 16];
	snprintf(name, sizeof name, "u-%.28s-%u", v->node, (unsigned)uid);
	for (int i = 0; i < v->nusers; i++)
		if (v->users[i].uid == uid) {
			snprintf(reply, size, "ok %s %s", name, v->users[i].password);
			return;
		}
	if (v->nusers == S_USERS) {
		snprintf(reply, size, "error more than %d users on this node", S_USERS);
		return;
	}
	s_user *u = &v->users[v->nusers];
	/* the password follows from the trust root and the name, so a node kernel that starts
	 * again makes the same one: its users' clients log in again as they were */
	plx_link_etcd_password(v->sk, name, u->password, sizeof u->password);
	snprintf(prefix, sizeof prefix, "c-%.28s-%u-", v->node, (unsigned)uid);
	int rc = plx_etcd_auth_prefix_user(v->etcd, v->cluster, name, prefix, u->password);
	if (rc < 0) {
		snprintf(reply, size, "error etcd did not make user %s: %s", name, strerror(-rc));
		return;
	}
	u->uid = uid;
	v->nusers++;
	snprintf(reply, size, "ok %s %s", name, u->password);
}

/* The answer to one request on fd (reply gets "ok ..." or "error ..."). */
static void s_answer(plx_voucher *v, int fd, const char *req, char *reply, size_t size)
{
	struct ucred uc;
	plx_cred cred;
	char label[PLX_LABEL_MAX + 1] = "", key[PLX_KEY_TEXT + 1] = "", tail;
	int rc = s_peer(fd, &uc, &cred);
	if (rc < 0) {
		snprintf(reply, size, "error the kernel does not say who you are: %s",
		         rc == -E2BIG ? "more than 32 groups" : strerror(-rc));
		return;
	}
	if (strcmp(req, S_ETCD) == 0) {
		s_answer_etcd(v, uc.uid, reply, size);
		return;
	}
	if (sscanf(req, S_PREFIX " %64s %41s %c", label, key, &tail) != 2) {
		snprintf(reply, size, "error expected \"" S_PREFIX " LABEL PUBLIC_KEY\"");
		return;
	}
	if (!s_label_of(label, v->node, uc.uid, uc.pid)) {
		snprintf(reply, size, "error label %s is not c-%.28s-%u-%ld-N", label, v->node,
		         (unsigned)uc.uid, (long)uc.pid);
		return;
	}
	plx_name who = {0};
	memcpy(who.label, label, strlen(label) + 1); /* shorter than PLX_LABEL_MAX: s_label_of */
	char cert[PLX_CERT_MAX];
	rc = plx_cert_issue_user(v->sk, &who, key, &cred, cert, sizeof cert);
	if (rc < 0)
		snprintf(reply, size, "error %s",
		         rc == -EINVAL ? "not a CURVE public key" : strerror(-rc));
	else
		snprintf(reply, size, "ok %s", cert);
}

/* Answers the request waiting on fd (non-blocking: SOCK_SEQPACKET delivers it whole). */
static void s_serve_one(plx_voucher *v, int fd)
{
	char req[S_MSG_MAX], reply[S_MSG_MAX];
	ssize_t n = recv(fd, req, sizeof req - 1, MSG_DONTWAIT);
	if (n <= 0)
		return;
	req[n] = '\0';
	s_answer(v, fd, req, reply, sizeof reply);
	(void)send(fd, reply, strlen(reply), MSG_NOSIGNAL | MSG_DONTWAIT);
}

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Connections waiting for their request: a slow or silent client holds one slot for at most
 * S_CONN_MS, and one user at most S_PER_UID of them, so nobody can keep others waiting. */
#define S_CONNS   64
#define S_PER_UID 4
#define S_CONN_MS 1000

typedef struct s_conn {
	int fd;
	uid_t uid;
	int64_t deadline;
} s_conn;

/* Takes a new connection, unless its user has S_PER_UID waiting or every slot is taken. */
static void s_accept(plx_voucher *v, s_conn *c, int *n)
{
	int fd = accept4(v->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct ucred uc;
	socklen_t len = sizeof uc;
	if (fd < 0)
		return;
	int same = 0;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0)
		for (int i = 0; i < *n; i++)
			same += c[i].uid == uc.uid;
	if (len != sizeof uc || same >= S_PER_UID || *n == S_CONNS) {
		close(fd);
		return;
	}
	c[(*n)++] = (s_conn){.fd = fd, .uid = uc.uid, .deadline = s_now_ms() + S_CONN_MS};
}

/* Serves what poll found ready in p (for c[0..n)), closes those done or past their time. */
static void s_sweep(plx_voucher *v, s_conn *c, int *n, const struct pollfd *p)
{
	int64_t now = s_now_ms();
	int kept = 0;
	for (int k = 0; k < *n; k++) {
		bool ready = p[k].revents != 0;
		if (ready)
			s_serve_one(v, c[k].fd);
		if (ready || now >= c[k].deadline)
			close(c[k].fd);
		else
			c[kept++] = c[k];
	}
	*n = kept;
}

static void *s_loop(void *arg)
{
	plx_voucher *v = arg;
	s_conn c[S_CONNS];
	int n = 0;
	for (;;) {
		struct pollfd p[S_CONNS + 2];
		int64_t wait = -1, now = s_now_ms();
		for (int i = 0; i < n; i++) {
			p[i] = (struct pollfd){.fd = c[i].fd, .events = POLLIN};
			int64_t left = c[i].deadline > now ? c[i].deadline - now : 0;
			wait = wait < 0 || left < wait ? left : wait;
		}
		p[n] = (struct pollfd){.fd = v->listen_fd, .events = POLLIN};
		p[n + 1] = (struct pollfd){.fd = v->stop_pipe[0], .events = POLLIN};
		if (poll(p, (nfds_t)n + 2, (int)wait) < 0 && errno != EINTR)
			break;
		if (p[n + 1].revents)
			break;
		bool incoming = p[n].revents & POLLIN;
		s_sweep(v, c, &n, p);
		if (incoming)
			s_accept(v, c, &n);
	}
	for (int i = 0; i < n; i++)
		close(c[i].fd);
	return NULL;
}

static int s_listen(plx_voucher *v)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", v->path);
	v->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (v->listen_fd < 0)
		return -errno;
	unlink(v->path);
	if (bind(v->listen_fd, (struct sockaddr *)&sa, sizeof sa) < 0 || chmod(v->path, 0666) < 0 ||
	    listen(v->listen_fd, 64) < 0)
		return -errno;
	return 0;
}

int plx_voucher_start(const char *node, const char *cluster, const char *etcd, plx_voucher **out,
                      char *err, size_t size)
{
	*out = NULL;
	const char *dir = getenv("PLEXUS_KEYS");
	if (!dir || !*dir)
		return 0;
	plx_voucher *v = calloc(1, sizeof *v);
	if (!v)
		return -ENOMEM;
	v->listen_fd = v->stop_pipe[0] = v->stop_pipe[1] = -1;
	snprintf(v->node, sizeof v->node, "%s", node);
	snprintf(v->cluster, sizeof v->cluster, "%s", cluster);
	char key[4096];
	snprintf(key, sizeof key, "%s/etcd.password", dir);
	int rc = 0;
	const char *what = "etcd";
	if (access(key, F_OK) == 0 && /* etcd wants users: make them as root */
	    !(v->etcd = plx_etcd_new(&(plx_etcd_opts){.endpoints = etcd, .timeout_ms = 3000})))
		rc = -errno;
	snprintf(key, sizeof key, "%s/root.key", dir);
	if (rc == 0) {
		rc = plx_vouch_path(dir, node, v->path, sizeof v->path);
		what = "the socket path";
	}
	if (rc == 0 && (rc = reg_read_hex(key, v->sk, sizeof v->sk)) < 0)
		what = key;
	if (rc == 0 && (rc = s_listen(v)) < 0)
		what = v->path;
	if (rc == 0 && pipe2(v->stop_pipe, O_CLOEXEC) < 0)
		rc = -errno, what = "a pipe";
	if (rc == 0 && (rc = -pthread_create(&v->thread, NULL, s_loop, v)) < 0)
		what = "a thread";
	if (rc < 0) {
		snprintf(err, size, "vouching for local processes: %s: %s", what, strerror(-rc));
		if (v->stop_pipe[0] >= 0)
			close(v->stop_pipe[0]), close(v->stop_pipe[1]);
		v->stop_pipe[0] = -1;
		plx_voucher_stop(&v);
		return rc;
	}
	*out = v;
	return 0;
}

void plx_voucher_stop(plx_voucher **self)
{
	plx_voucher *v = self ? *self : NULL;
	if (!v)
		return;
	if (v->stop_pipe[1] >= 0) {
		(void)!write(v->stop_pipe[1], "x", 1);
		pthread_join(v->thread, NULL);
		close(v->stop_pipe[0]);
		close(v->stop_pipe[1]);
	}
	if (v->listen_fd >= 0) {
		close(v->listen_fd);
		unlink(v->path);
	}
	sodium_memzero(v->sk, sizeof v->sk);
	sodium_memzero(v->users, sizeof v->users);
	plx_etcd_destroy(&v->etcd);
	free(v);
	*self = NULL;
}

/* ---- the client's side ---- */

/* Sends msg to the voucher at path; its answer after "ok " into out. Returns 0, -EACCES (it
 * refused: err says why) or -errno, with err set. */
static int s_ask(const char *path, const char *msg, char *out, size_t out_size, char *err,
                 size_t size)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path)
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		snprintf(err, size, "asking the node kernel at %s: %s", path, strerror(e));
		return -e;
	}
	struct timeval tv = {.tv_sec = 5};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	char answer[S_MSG_MAX];
	ssize_t len = (ssize_t)strlen(msg);
	ssize_t n = send(fd, msg, (size_t)len, MSG_NOSIGNAL) == len
	                ? recv(fd, answer, sizeof answer - 1, 0)
	                : -1;
	int e = errno;
	close(fd);
	if (n <= 0) {
		snprintf(err, size, "the node kernel at %s did not answer: %s", path,
		         n == 0 ? "connection closed" : strerror(e));
		return n == 0 ? -EPROTO : -e;
	}
	answer[n] = '\0';
	if (strncmp(answer, "ok ", 3) != 0) {
		snprintf(err, size, "the node kernel refused: %s",
		         strncmp(answer, "error ", 6) == 0 ? answer + 6 : answer);
		return -EACCES;
	}
	if (strlen(answer + 3) >= out_size) {
		snprintf(err, size, "the node kernel's answer is too long");
		return -EPROTO;
	}
	memcpy(out, answer + 3, strlen(answer + 3) + 1);
	return 0;
}

/* The voucher socket of node in $PLEXUS_KEYS into path. Returns 0, 1 (no PLEXUS_KEYS) or
 * -errno with err set. */
static int s_voucher_path(const char *node, char *path, size_t path_size, char *err, size_t size)
{
	const char *dir = getenv("PLEXUS_KEYS");
	if (!dir || !*dir)
		return 1;
	int rc = plx_vouch_path(dir, node, path, path_size);
	if (rc < 0)
		snprintf(err, size, "the node kernel's socket in %s: %s", dir, strerror(-rc));
	return rc;
}

int plx_vouch_etcd(const char *node, char *user, size_t user_size, char *password,
                   size_t password_size, char *err, size_t size)
{
	char path[4096], answer[S_MSG_MAX], name[S_MSG_MAX], pw[S_MSG_MAX], tail;
	user[0] = password[0] = '\0';
	int rc = s_voucher_path(node, path, sizeof path, err, size);
	if (rc != 0)
		return rc > 0 ? 0 : rc;
	if ((rc = s_ask(path, S_ETCD, answer, sizeof answer, err, size)) < 0)
		return rc;
	if (sscanf(answer, "%s %s %c", name, pw, &tail) != 2 || strlen(name) >= user_size ||
	    strlen(pw) >= password_size) {
		snprintf(err, size, "the node kernel's etcd user: \"%.64s\" is not USER PASSWORD",
		         answer);
		return -EPROTO;
	}
	if (strcmp(name, "-") != 0) {
		snprintf(user, user_size, "%s", name);
		snprintf(password, password_size, "%s", pw);
	}
	sodium_memzero(pw, sizeof pw);
	sodium_memzero(answer, sizeof answer);
	return 0;
}

int plx_link_secure_vouched(plx_ctx *ctx, plx_ep *ep, const char *node, char *err, size_t size)
{
	char path[4096], msg[S_MSG_MAX];
	int rc = s_voucher_path(node, path, sizeof path, err, size);
	if (rc != 0)
		return rc > 0 ? 0 : rc;
	if ((rc = reg_trust_root(ctx, getenv("PLEXUS_KEYS"), err, size)) < 0)
		return rc;
	plx_link_keys keys;
	char cert[PLX_CERT_MAX];
	if ((rc = plx_link_keys_new(&keys)) == 0) {
		snprintf(msg, sizeof msg, S_PREFIX " %s %s", plx_ep_name(ep)->label,
		         keys.public_key);
		rc = s_ask(path, msg, cert, sizeof cert, err, size);
	}
	if (rc == 0 && (rc = plx_ep_set_keys(ep, &keys, cert)) < 0)
		snprintf(err, size, "the node kernel's certificate: %s", strerror(-rc));
	sodium_memzero(&keys, sizeof keys);
	return rc;
}
