/*
 * labharness.c — the lab checks' shared fixture: etcd, client endpoint, the student's driver
 * as a process, and the PASS/FAIL lines.
 *
 * Entry points: lab_harness_new, lab_harness_destroy, lab_harness_ep, lab_harness_etcd,
 * lab_harness_label, lab_harness_dir, lab_harness_etcd_endpoints, lab_start, lab_stop,
 * lab_crash, lab_running, lab_log, lab_spawn, lab_check.
 */
#include "labharness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <plexus/endpoint.h>

#include "etcd_fixture.h"

struct lab_harness {
	plx_etcdh *h;
	plx_etcd *etcd;
	plx_ctx *ctx;
	plx_epcache *cache;
	plx_ep *ep;
	char program[1024];
	char dir[256];
	char label[32];
	char client[32];
	pid_t pid;       /* the driver, 0 when none runs */
	pid_t others[8]; /* lab_spawn's, killed at the end */
	int nothers;
	int passed, failed;
};

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A new generation of label, bound and published so that the driver can answer it. */
static plx_ep *s_published(lab_harness *self, const char *label)
{
	uint64_t gen;
	if (plx_generation_next(self->etcd, LAB_CLUSTER, label, &gen) < 0)
		return NULL;
	plx_ep *ep = plx_ep_new(self->ctx, label, gen);
	plx_endpoint_rec rec = {.generation = gen, .node = "local", .state = "up"};
	snprintf(rec.label, sizeof rec.label, "%s", label);
	rec.pid = getpid();
	if (!ep || plx_ep_bind(ep, "tcp://127.0.0.1:*") < 0 ||
	    snprintf(rec.address, sizeof rec.address, "%s", plx_ep_address(ep)) <= 0 ||
	    plx_endpoint_publish(self->etcd, LAB_CLUSTER, &rec, 0) < 0)
		plx_ep_destroy(&ep);
	return ep;
}

lab_harness *lab_harness_new(const char *program)
{
	lab_harness *self = calloc(1, sizeof *self);
	if (!self)
		return NULL;
	snprintf(self->program, sizeof self->program, "%s", program);
	snprintf(self->label, sizeof self->label, "lab%d", (int)getpid());
	snprintf(self->client, sizeof self->client, "labck%d", (int)getpid());
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(self->dir, sizeof self->dir, "%s/plexus-labcheck-%d-XXXXXX", tmp, (int)getpid());
	if (!mkdtemp(self->dir) || etcd_fixture_start(&self->h, &self->etcd) < 0 ||
	    !(self->ctx = plx_ctx_new()) ||
	    !(self->cache = plx_epcache_new(self->etcd, LAB_CLUSTER, self->ctx)) ||
	    !(self->ep = s_published(self, self->client))) {
		fprintf(stderr, "lab check: could not start etcd and a client endpoint\n");
		lab_harness_destroy(&self);
		return NULL;
	}
	return self;
}

int lab_harness_destroy(lab_harness **self_p)
{
	lab_harness *self = *self_p;
	if (!self)
		return 1;
	lab_stop(self);
	for (int i = self->nothers - 1; i >= 0; i--) {
		kill(self->others[i], SIGKILL);
		waitpid(self->others[i], NULL, 0);
	}
	if (self->ep)
		plx_endpoint_withdraw(self->etcd, LAB_CLUSTER, self->client,
		                      plx_ep_name(self->ep)->generation);
	plx_ep_destroy(&self->ep);
	plx_epcache_destroy(&self->cache);
	plx_ctx_destroy(&self->ctx);
	etcd_fixture_stop(&self->h, &self->etcd);
	int total = self->passed + self->failed;
	if (total > 0) /* and the build, PASS before these */
		printf("%d of %d checks pass%s\n", self->passed + 1, total + 1,
		       self->failed ? "" : ": well done");
	if (self->failed && self->dir[0])
		printf("the processes' output is kept in %s\n", self->dir);
	else if (self->dir[0]) {
		char cmd[512];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", self->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "lab check: could not remove %s\n", self->dir);
	}
	int rc = self->failed || total == 0;
	free(self);
	*self_p = NULL;
	return rc;
}

plx_ep *lab_harness_ep(lab_harness *self)
{
	return self->ep;
}

plx_etcd *lab_harness_etcd(lab_harness *self)
{
	return self->etcd;
}

const char *lab_harness_label(lab_harness *self)
{
	return self->label;
}

const char *lab_harness_dir(lab_harness *self)
{
	return self->dir;
}

const char *lab_harness_etcd_endpoints(lab_harness *self)
{
	return plx_etcdh_endpoints(self->h);
}

/* In a child: output to <dir>/<name>.log, input from /dev/null, dies with its parent. */
static void s_child_io(lab_harness *self, const char *name)
{
	char log[512];
	snprintf(log, sizeof log, "%s/%s.log", self->dir, name);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	dup2(open("/dev/null", O_RDONLY), 0);
}

pid_t lab_spawn(lab_harness *self, char *const argv[], const char *name)
{
	if (self->nothers == (int)(sizeof self->others / sizeof *self->others))
		return -ENOSPC;
	pid_t pid = fork();
	if (pid == 0) {
		s_child_io(self, name);
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0)
		return -errno;
	self->others[self->nothers++] = pid;
	return pid;
}

/* The child's side of lab_start: output to <dir>/driver.log, then exec. */
static void s_exec(lab_harness *self, const char *init)
{
	s_child_io(self, "driver");
	if (init)
		setenv("PLEXUS_INIT", init, 1);
	else
		unsetenv("PLEXUS_INIT");
	char *argv[] = {self->program,
	                "--label",
	                self->label,
	                "--etcd",
	                (char *)plx_etcdh_endpoints(self->h),
	                "--cluster",
	                LAB_CLUSTER,
	                "--addr",
	                "127.0.0.1",
	                NULL};
	execv(self->program, argv);
	_exit(127);
}

int lab_start(lab_harness *self, const char *init)
{
	uint64_t before = 0, gen = 0;
	plx_route_lookup(self->ctx, self->label, &before, NULL, 0);
	self->pid = fork();
	if (self->pid == 0)
		s_exec(self, init);
	if (self->pid < 0)
		return self->pid = 0, -errno;
	for (int64_t end = s_now_ms() + LAB_TIMEOUT; s_now_ms() < end; usleep(10 * 1000)) {
		if (plx_route_lookup(self->ctx, self->label, &gen, NULL, 0) == 0 && gen > before)
			return 0;
		if (!lab_running(self))
			return -ECHILD;
	}
	lab_crash(self);
	return -ETIMEDOUT;
}

bool lab_running(lab_harness *self)
{
	int status;
	if (self->pid <= 0)
		return false;
	if (waitpid(self->pid, &status, WNOHANG) == self->pid) {
		self->pid = 0;
		return false;
	}
	return true;
}

int lab_stop(lab_harness *self)
{
	int status = -1;
	if (self->pid <= 0)
		return -1;
	kill(self->pid, SIGTERM);
	for (int64_t end = s_now_ms() + LAB_TIMEOUT; s_now_ms() < end; usleep(10 * 1000))
		if (waitpid(self->pid, &status, WNOHANG) == self->pid) {
			self->pid = 0;
			return status;
		}
	lab_crash(self);
	return status;
}

void lab_crash(lab_harness *self)
{
	if (self->pid <= 0)
		return;
	kill(self->pid, SIGKILL);
	waitpid(self->pid, NULL, 0);
	self->pid = 0;
}

const char *lab_log(lab_harness *self)
{
	static char text[4096];
	char path[512];
	snprintf(path, sizeof path, "%s/driver.log", self->dir);
	text[0] = '\0';
	FILE *fp = fopen(path, "r");
	if (!fp)
		return text;
	if (fseek(fp, -(long)(sizeof text - 1), SEEK_END) < 0)
		rewind(fp);
	text[fread(text, 1, sizeof text - 1, fp)] = '\0';
	fclose(fp);
	return text;
}

bool lab_check(lab_harness *self, const char *name, bool ok, const char *hint)
{
	if (ok) {
		self->passed++;
		printf("PASS %s\n", name);
	} else {
		self->failed++;
		printf("FAIL %s: %s\n", name, hint);
	}
	fflush(stdout);
	return ok;
}
