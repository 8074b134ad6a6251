/*
 * spawn.c — the services of this node: start, stop, signal, list, and the record of how each
 * one ended.
 *
 * Entry points: node_services_new, node_services_destroy, do_start, do_stop, do_signal,
 * do_list, do_shutdown, node_services_exited, node_reap, node_services_tick,
 * node_services_stop_all, node_services_kill_all, node_now_ms, node_mono_ms.
 *
 * A service is a child process in its own process group, started by fork and exec with
 * PR_SET_PDEATHSIG = SIGKILL (a service never outlives its node kernel), stdin from /dev/null
 * (or, on a secured system, a pipe holding the keys and certificate RS issued for this
 * instance: PLEXUS_LINK=stdin, plexus/link_keys.h) and stdout and stderr appended to
 * <log-dir>/<label>.log, and the descriptor store's socket and the descriptors its
 * predecessor kept (fdstore.c). Only the loop thread touches the
 * table.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <plexus/link_keys.h>
#include <plexus/log.h>

#include "node.h"

extern char **environ;

typedef struct s_service {
	char label[PLX_LABEL_MAX];
	uint64_t generation;
	pid_t pid;
	Plexus__ServiceState state;
	int64_t start_ms;
	int64_t kill_at; /* CLOCK_MONOTONIC ms at which STOPPING turns into SIGKILL; 0 none */
	plx_call *stop_call;
	bool has_exit;
	Plexus__NodeExit exit;
	node_fdstore fds; /* what its instances keep for their successors */
	int rank;         /* PLEXUS_STOP_RANK: stopped before every lower rank */
	struct s_service *next;
} s_service;

#define S_OWN_VARS 9 /* the environment strings s_envp makes */

struct node_services {
	node *node;
	s_service *list;
};

int64_t node_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t node_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

node_services *node_services_new(node *n)
{
	node_services *self = calloc(1, sizeof *self);
	if (!self)
		return NULL;
	self->node = n;
	return self;
}

void node_services_destroy(node_services **self_p)
{
	node_services *self = self_p ? *self_p : NULL;
	if (!self)
		return;
	for (s_service *s = self->list, *next; s; s = next) {
		next = s->next;
		if (s->stop_call)
			plx_call_reply(s->stop_call, -ECANCELED, NULL, NULL, 0);
		node_fdstore_fini(&s->fds);
		free(s);
	}
	free(self);
	*self_p = NULL;
}

static s_service *s_find(node_services *self, const char *label)
{
	for (s_service *s = self->list; s; s = s->next)
		if (strcmp(s->label, label) == 0)
			return s;
	return NULL;
}

static bool s_running(const s_service *s)
{
	return s && s->state != PLEXUS__SERVICE_STATE__SERVICE_EXITED;
}

static s_service *s_running_service(plx_call *call, const char *label)
{
	node *n = plx_server_arg(call->server);
	s_service *s = s_find(n->services, label);
	return s_running(s) ? s : NULL;
}

/* ---- start ---- */

static char *s_var(const char *name, const char *value)
{
	size_t size = strlen(name) + strlen(value) + 2;
	char *var = malloc(size);
	if (var)
		snprintf(var, size, "%s=%s", name, value);
	return var;
}

static void s_envp_free(char **envp)
{
	for (int i = 0; envp && i < S_OWN_VARS; i++)
		free(envp[i]);
	free(envp);
}

/* The child's environment: ours first (getenv finds the first), then the request's, then the
 * node's own. Caller frees the array and the first S_OWN_VARS strings. */
static char **s_envp(const node_config *cfg, const Plexus__NodeStart *req, const node_fdstore *fds)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **envp = calloc(S_OWN_VARS + req->n_env + n + 1, sizeof *envp);
	char gen[24], kept[NODE_KEPT_MAX * (NODE_KEPT_NAME + 8) + 16];
	if (!envp || node_fdstore_env(fds, kept, sizeof kept) < 0) {
		free(envp);
		return NULL;
	}
	snprintf(gen, sizeof gen, "%" PRIu64, req->generation);
	envp[0] = s_var("PLEXUS_LABEL", req->label);
	envp[1] = s_var("PLEXUS_GENERATION", gen);
	envp[2] = s_var("PLEXUS_NODE", cfg->name);
	envp[3] = s_var("PLEXUS_ETCD", cfg->etcd);
	envp[4] = s_var("PLEXUS_CLUSTER", cfg->cluster);
	envp[5] = s_var("PLEXUS_ADDR", cfg->addr);
	envp[6] = s_var("PLEXUS_FDSTORE", "3");
	envp[7] = strdup(kept);
	envp[8] = s_var("PLEXUS_LINK", req->link_cert[0] ? "stdin" : ""); /* keys on stdin */
	for (int i = 0; i < S_OWN_VARS; i++)
		if (!envp[i]) {
			s_envp_free(envp);
			return NULL;
		}
	if (req->n_env) /* protobuf-c leaves env NULL when there is none */
		memcpy(envp + S_OWN_VARS, req->env, req->n_env * sizeof *envp);
	if (n)
		memcpy(envp + S_OWN_VARS + req->n_env, environ, n * sizeof *envp);
	return envp;
}

/* PLEXUS_STOP_RANK of the request's environment (RS: its depth in the dependency graph). */
static int s_stop_rank(const Plexus__NodeStart *req)
{
	for (size_t i = 0; i < req->n_env; i++)
		if (strncmp(req->env[i], "PLEXUS_STOP_RANK=", 17) == 0)
			return atoi(req->env[i] + 17);
	return 0;
}

/* True when RS starts this instance as a restart (PLEXUS_INIT=restart in its environment). */
static bool s_is_restart(const Plexus__NodeStart *req)
{
	for (size_t i = 0; i < req->n_env; i++)
		if (strcmp(req->env[i], "PLEXUS_INIT=restart") == 0)
			return true;
	return false;
}

/* The keys and certificate RS issued for the instance, in a pipe whose read end becomes its
 * standard input: -1 when RS sent none, else that end or a negative errno. */
static int s_handover(const Plexus__NodeStart *req)
{
	if (!req->link_cert[0])
		return -1;
	plx_link_keys keys;
	char text[2 * PLX_KEY_TEXT + PLX_CERT_MAX + PLX_HANDOVER_USER_MAX + 128];
	if (strlen(req->link_public_key) != PLX_KEY_TEXT - 1 ||
	    strlen(req->link_secret_key) != PLX_KEY_TEXT - 1)
		return -EINVAL;
	memcpy(keys.public_key, req->link_public_key, PLX_KEY_TEXT);
	memcpy(keys.secret_key, req->link_secret_key, PLX_KEY_TEXT);
	int len = plx_link_handover(&keys, req->link_cert, text, sizeof text);
	explicit_bzero(&keys, sizeof keys);
	if (len >= 0 && req->etcd_user[0]) /* the etcd user RS made for the service */
		len = plx_link_handover_etcd(text, sizeof text, req->etcd_user, req->etcd_password);
	int fds[2] = {-1, -1};
	int rc = len < 0 ? len : pipe2(fds, O_CLOEXEC) < 0 ? -errno : 0;
	if (rc == 0) /* far less than a pipe holds: never blocks */
		rc = write(fds[1], text, (size_t)len) == len ? 0 : -EIO;
	explicit_bzero(text, sizeof text);
	if (fds[1] >= 0)
		close(fds[1]);
	if (rc < 0 && fds[0] >= 0)
		close(fds[0]);
	return rc < 0 ? rc : fds[0];
}

/* In the child: async-signal-safe calls only, then exec. Reports exec's errno on errfd. */
static void s_child(int logfd, int errfd, pid_t parent, const char *program, char **argv,
                    char **envp, const node_fdstore *fds, int store, int in)
{
	sigset_t none;
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	int null = in >= 0 ? in : open("/dev/null", O_RDONLY);
	if (null < 0 || dup2(null, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
		_exit(127);
	sigaction(SIGPIPE, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	errfd = fcntl(errfd, F_DUPFD_CLOEXEC, 64); /* out of the way of 3 and up */
	node_fdstore_child(fds, store); /* descriptors 3 (the store) and 4 on (what was kept) */
	close_range(4 + (unsigned)fds->nkept, ~0U, CLOSE_RANGE_CLOEXEC);
	execvpe(program, argv, envp);
	int err = errno;
	if (write(errfd, &err, sizeof err) < 0)
		_exit(126);
	_exit(127);
}

/* Forks and execs; returns the pid, or a negative errno (exec's error included). */
static pid_t s_spawn(int logfd, const char *program, char **argv, char **envp,
                     const node_fdstore *fds, int store, int in)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	pid_t parent = getpid(), pid = fork();
	if (pid == 0)
		s_child(logfd, pipefd[1], parent, program, argv, envp, fds, store, in);
	int err = pid < 0 ? errno : 0;
	close(pipefd[1]);
	if (pid > 0) {
		setpgid(pid, pid); /* also here, so a signal right after start reaches the group */
		if (read(pipefd[0], &err, sizeof err) == sizeof err)
			waitpid(pid, NULL, 0);
		else
			err = 0;
	}
	close(pipefd[0]);
	return err ? -err : pid;
}

static int s_open_log(const node_config *cfg, const char *label)
{
	char path[PATH_MAX + PLX_LABEL_MAX + 8];
	snprintf(path, sizeof path, "%s/%s.log", cfg->log_dir, label);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	return fd < 0 ? -errno : fd;
}

static int s_check_start(node *n, const Plexus__NodeStart *req)
{
	if (!node_label_ok(req->label) || !req->program[0] || req->generation == 0)
		return -EINVAL;
	for (size_t i = 0; i < req->n_env; i++)
		if (!strchr(req->env[i], '=') || req->env[i][0] == '=')
			return -EINVAL;
	return s_running(s_find(n->services, req->label)) ? -EEXIST : 0;
}

/* Starts the service; returns its pid or a negative errno. */
static pid_t s_start(node *n, s_service *s, const Plexus__NodeStart *req)
{
	int store = -1, logfd = s_open_log(n->cfg, req->label);
	if (logfd < 0)
		return logfd;
	int rc = node_fdstore_prepare(&s->fds, s_is_restart(req), &store);
	if (rc < 0) {
		close(logfd);
		return rc;
	}
	char *argv0[] = {req->program, NULL};
	char **argv = req->n_argv ? calloc(req->n_argv + 1, sizeof *argv) : argv0;
	char **envp = s_envp(n->cfg, req, &s->fds);
	int in = s_handover(req);
	pid_t pid = in < -1 ? in : -ENOMEM;
	if (argv && envp && in >= -1) {
		if (argv != argv0)
			memcpy(argv, req->argv, req->n_argv * sizeof *argv);
		pid = s_spawn(logfd, req->program, argv, envp, &s->fds, store, in);
	}
	if (in >= 0)
		close(in);
	if (argv != argv0)
		free(argv);
	s_envp_free(envp);
	close(logfd);
	close(store);
	return pid;
}

static s_service *s_entry(node_services *self, const char *label)
{
	s_service *s = s_find(self, label);
	if (!s && (s = calloc(1, sizeof *s))) {
		strcpy(s->label, label);
		node_fdstore_init(&s->fds);
		s->next = self->list;
		self->list = s;
	}
	return s;
}

int do_start(plx_call *call)
{
	node *n = plx_server_arg(call->server);
	const Plexus__NodeStart *req = (const Plexus__NodeStart *)call->body;
	int rc = n->fenced ? -EHOSTDOWN : s_check_start(n, req); /* set by fence.c */
	s_service *s = rc == 0 ? s_entry(n->services, req->label) : NULL;
	if (rc == 0 && !s)
		rc = -ENOMEM;
	pid_t pid = rc == 0 ? s_start(n, s, req) : rc;
	if (pid < 0) {
		plx_log(PLX_LOG_INFO, "start %s generation %" PRIu64 " (%s) failed: %s", req->label,
		        req->generation, req->program, plx_strerror(pid));
		return pid;
	}
	s->generation = req->generation;
	s->rank = s_stop_rank(req);
	s->pid = pid;
	s->state = PLEXUS__SERVICE_STATE__SERVICE_RUNNING;
	s->start_ms = node_now_ms();
	s->kill_at = 0;
	atomic_fetch_add(&n->running, 1);
	plx_log(PLX_LOG_INFO, "started %s generation %" PRIu64 " pid %d: %s", s->label,
	        s->generation, (int)pid, req->program);
	Plexus__NodeStartReply reply = PLEXUS__NODE_START_REPLY__INIT;
	reply.pid = pid;
	plx_call_reply(call, 0, &reply.base, NULL, 0);
	return PLX_SUSPEND;
}

/* ---- stop, signal ---- */

int do_stop(plx_call *call)
{
	node *n = plx_server_arg(call->server);
	const Plexus__NodeStop *req = (const Plexus__NodeStop *)call->body;
	s_service *s = s_running_service(call, req->label);
	if (!s)
		return -ESRCH;
	if (s->stop_call)
		return -EALREADY;
	int grace = req->grace_ms ? (int)(req->grace_ms < 600000 ? req->grace_ms : 600000)
	                          : n->cfg->grace_ms;
	kill(-s->pid, SIGTERM);
	s->state = PLEXUS__SERVICE_STATE__SERVICE_STOPPING;
	s->kill_at = node_mono_ms() + grace;
	s->stop_call = call;
	plx_log(PLX_LOG_INFO, "stopping %s pid %d (SIGKILL in %d ms)", s->label, (int)s->pid,
	        grace);
	return PLX_SUSPEND; /* answered with the exit, by node_services_exited */
}

int do_signal(plx_call *call)
{
	const Plexus__NodeSignal *req = (const Plexus__NodeSignal *)call->body;
	s_service *s = s_running_service(call, req->label);
	if (req->signo <= 0 || req->signo >= NSIG)
		return -EINVAL;
	if (!s)
		return -ESRCH;
	plx_log(PLX_LOG_INFO, "signal %d to %s pid %d", req->signo, s->label, (int)s->pid);
	return kill(s->pid, req->signo) < 0 ? -errno : 0;
}

/* ---- list ---- */

static void s_fill(Plexus__NodeService *out, s_service *s)
{
	plexus__node_service__init(out);
	out->label = s->label;
	out->generation = s->generation;
	out->pid = s->pid;
	out->state = s->state;
	out->start_time_ms = s->start_ms;
	out->last_exit = s->has_exit ? &s->exit : NULL;
}

int do_list(plx_call *call)
{
	node *n = plx_server_arg(call->server);
	size_t count = 0;
	for (s_service *s = n->services->list; s; s = s->next)
		count++;
	Plexus__NodeService *items = calloc(count + 1, sizeof *items);
	Plexus__NodeService **ptrs = calloc(count + 1, sizeof *ptrs);
	if (!items || !ptrs) {
		free(items);
		free(ptrs);
		return -ENOMEM;
	}
	size_t i = 0;
	for (s_service *s = n->services->list; s; s = s->next, i++) {
		s_fill(&items[i], s);
		ptrs[i] = &items[i];
	}
	Plexus__NodeListReply reply = PLEXUS__NODE_LIST_REPLY__INIT;
	reply.node = (char *)n->cfg->name;
	reply.n_services = count;
	reply.services = ptrs;
	plx_call_reply(call, 0, &reply.base, NULL, 0);
	free(items);
	free(ptrs);
	return PLX_SUSPEND;
}

int do_shutdown(plx_call *call)
{
	plx_log(PLX_LOG_INFO, "IPC_SHUTDOWN from %s", call->msg->source.label);
	plx_server_stop(call->server);
	return 0;
}

/* ---- exits ---- */

int node_services_exited(node_services *self, pid_t pid, int wstatus, Plexus__NodeExit *report)
{
	s_service *s = self->list;
	while (s && !(s->pid == pid && s_running(s)))
		s = s->next;
	if (!s)
		return -ESRCH;
	plexus__node_exit__init(&s->exit);
	s->exit.label = s->label;
	s->exit.generation = s->generation;
	s->exit.pid = pid;
	s->exit.signaled = WIFSIGNALED(wstatus);
	s->exit.status = WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : WEXITSTATUS(wstatus);
	s->exit.time_ms = node_now_ms();
	s->exit.node = (char *)self->node->cfg->name;
	s->has_exit = true;
	s->state = PLEXUS__SERVICE_STATE__SERVICE_EXITED;
	node_fdstore_collect(&s->fds); /* what it kept, for a restart */
	s->kill_at = 0;
	atomic_fetch_sub(&self->node->running, 1);
	if (s->stop_call)
		plx_call_reply(s->stop_call, 0, &s->exit.base, NULL, 0);
	s->stop_call = NULL;
	*report = s->exit;
	return 0;
}

void node_services_tick(node_services *self)
{
	int64_t now = node_mono_ms();
	for (s_service *s = self->list; s; s = s->next)
		if (s->state == PLEXUS__SERVICE_STATE__SERVICE_STOPPING && s->kill_at &&
		    now >= s->kill_at) {
			plx_log(PLX_LOG_WARN, "%s pid %d outlived its grace: SIGKILL", s->label,
			        (int)s->pid);
			kill(-s->pid, SIGKILL);
			s->kill_at = 0;
		}
}

static void s_log_exit(const Plexus__NodeExit *e)
{
	plx_log(PLX_LOG_INFO, "%s generation %" PRIu64 " pid %" PRId64 " %s %d", e->label,
	        e->generation, e->pid, e->signaled ? "killed by signal" : "exited with status",
	        e->status);
}

int node_reap(node *self)
{
	int reaped = 0, wstatus;
	pid_t pid;
	while ((pid = waitpid(-1, &wstatus, WNOHANG)) > 0) {
		Plexus__NodeExit report;
		reaped++;
		if (node_services_exited(self->services, pid, wstatus, &report) < 0) {
			plx_log(PLX_LOG_INFO, "reaped pid %d, no service", (int)pid);
			continue;
		}
		s_log_exit(&report);
		if (node_reports_add(self->reports, &report) < 0)
			plx_log(PLX_LOG_WARN, "out of memory: exit of %s not reported",
			        report.label);
	}
	return reaped;
}

/* Waits for SIGCHLD (blocked, so it stays pending) up to ms, then reaps. */
static void s_wait_children(node_services *self, int ms)
{
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
	sigtimedwait(&chld, NULL, &ts);
	node_reap(self->node);
}

/* The highest stop rank among running services not yet told to stop; -1 when none. */
static int s_next_rank(node_services *self)
{
	int rank = -1;
	for (s_service *s = self->list; s; s = s->next)
		if (s->state == PLEXUS__SERVICE_STATE__SERVICE_RUNNING && s->rank > rank)
			rank = s->rank;
	return rank;
}

/* True while a service of rank or above still runs. */
static bool s_rank_running(node_services *self, int rank)
{
	for (s_service *s = self->list; s; s = s->next)
		if (s_running(s) && s->rank >= rank)
			return true;
	return false;
}

/* In dependency order: the services that depend on others (highest PLEXUS_STOP_RANK) first,
 * each rank gone before the next gets SIGTERM (VFS unmounts before the file servers write
 * back, which happens before their drivers go). grace_ms is the deadline for all of it: what
 * still runs then gets SIGKILL, logged by name. */
int node_services_kill_all(node_services *self)
{
	int killed = 0;
	for (s_service *s = self->list; s; s = s->next)
		if (s->state == PLEXUS__SERVICE_STATE__SERVICE_RUNNING ||
		    s->state == PLEXUS__SERVICE_STATE__SERVICE_STOPPING) {
			plx_log(PLX_LOG_WARN, "fencing %s generation %" PRIu64 " pid %d: SIGKILL",
			        s->label, s->generation, (int)s->pid);
			kill(-s->pid, SIGKILL);
			s->kill_at = 0;
			killed++;
		}
	return killed;
}

int node_services_stop_all(node_services *self, int grace_ms)
{
	int stopped = 0, rank;
	int64_t kill_at = node_mono_ms() + grace_ms, end = kill_at + 1000;
	while ((rank = s_next_rank(self)) >= 0) {
		for (s_service *s = self->list; s; s = s->next)
			if (s->state == PLEXUS__SERVICE_STATE__SERVICE_RUNNING && s->rank == rank) {
				plx_log(PLX_LOG_INFO, "stopping %s pid %d (rank %d)", s->label,
				        (int)s->pid, rank);
				kill(-s->pid, SIGTERM);
				s->state = PLEXUS__SERVICE_STATE__SERVICE_STOPPING;
				s->kill_at = kill_at;
				stopped++;
			}
		while (s_rank_running(self, rank) && node_mono_ms() < end) {
			s_wait_children(self, 20);
			node_services_tick(self);
		}
	}
	while (atomic_load(&self->node->running) > 0 && node_mono_ms() < end) {
		s_wait_children(self, 20);
		node_services_tick(self);
	}
	return stopped;
}
