/*
 * switch.c — tracing switched on or off in every running service, and a command run traced.
 *
 * Entry points: tr_switch_all, tr_run.
 *
 * Each endpoint the registry lists (what `plexus ep ls` prints) is sent IPC_TRACE_LEVEL through
 * the transport's typed stub (plx_ipc_trace_level_call), from an endpoint labelled
 * plexus-trace (or the operator's label on secured links), which servers obey
 * (plexus/server.h: IPC_TRACE_LEVEL from "plexus-*").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <plexus/endpoint.h>
#include <plexus/error.h>
#include <plexus/etcd.h>
#include <plexus/ipc_stub.h>
#include <plexus/link_keys.h>
#include <plexus/link_security.h>

#include "switch.h"
#include "trace.h"

#define S_TIMEOUT_MS 1000

static const char *s_env(const char *name, const char *fallback)
{
	const char *v = getenv(name);
	return v ? v : fallback;
}

/* One IPC_TRACE_LEVEL to rec's endpoint. */
static int s_switch_one(plx_ctx *ctx, plx_ep *ep, const plx_endpoint_rec *rec, bool enabled)
{
	int rc = plx_route_set_certified(ctx, rec->label, rec->generation, rec->address, rec->cert);
	if (rc < 0)
		return rc;
	Plexus__IpcTraceLevel body = PLEXUS__IPC_TRACE_LEVEL__INIT;
	body.enabled = enabled;
	plx_stub stub;
	rc = plx_stub_init(&stub, ep, rec->label, rec->generation, S_TIMEOUT_MS);
	return rc < 0 ? rc : plx_ipc_trace_level_call(&stub, &body, NULL, 0, NULL, NULL);
}

/* Appends label to the list in missed. */
static void s_missed(char *missed, size_t size, const char *label)
{
	size_t used = strlen(missed);
	if (used < size)
		snprintf(missed + used, size - used, "%s%s", used ? " " : "", label);
}

static int s_switch_recs(const plx_endpoint_rec *recs, int n, bool enabled, char *missed,
                         size_t msize, char *err, size_t size)
{
	char me[PLX_LABEL_MAX] = "plexus-trace";
	int op = plx_link_operator(me, sizeof me), done = 0;
	if (op < 0) {
		snprintf(err, size, "PLEXUS_OPERATOR: %s", strerror(-op));
		return -EACCES;
	}
	plx_ctx *ctx = plx_ctx_new();
	plx_ep *ep = ctx ? plx_ep_new(ctx, me, 1) : NULL;
	int rc = ep ? plx_link_secure(ctx, ep, err, size) : -ENOMEM;
	for (int i = 0; rc == 0 && i < n; i++) {
		if (strncmp(recs[i].label, "c-", 2) == 0) /* clients of VFS serve nothing */
			continue;
		if (s_switch_one(ctx, ep, &recs[i], enabled) == 0)
			done++;
		else
			s_missed(missed, msize, recs[i].label);
	}
	plx_ep_destroy(&ep);
	plx_ctx_destroy(&ctx);
	return rc < 0 ? rc : done;
}

int tr_switch_all(bool enabled, struct tr_trace *known, char *missed, size_t msize, char *err,
                  size_t size)
{
	plx_etcd_opts opts = {.endpoints = s_env("PLEXUS_ETCD", PLX_ETCD_DEFAULT_URL),
	                      .user = s_env("PLEXUS_ETCD_USER", NULL),
	                      .password = s_env("PLEXUS_ETCD_PASSWORD", NULL)};
	missed[0] = '\0';
	plx_etcd *etcd = plx_etcd_new(&opts);
	if (!etcd) {
		snprintf(err, size, "etcd %s: %s", opts.endpoints, strerror(errno));
		return -errno;
	}
	plx_endpoint_rec *recs = NULL;
	int n = plx_endpoint_list(etcd, s_env("PLEXUS_CLUSTER", "default"), &recs, NULL);
	plx_etcd_destroy(&etcd);
	if (n < 0) {
		snprintf(err, size, "the endpoint table: %s", plx_strerror(n));
		return n;
	}
	int rc = s_switch_recs(recs, n, enabled, missed, msize, err, size);
	for (int i = 0; known && rc >= 0 && i < n; i++)
		if (strncmp(recs[i].label, "c-", 2) != 0 &&
		    tr_known_add(known, recs[i].label, recs[i].generation) < 0)
			rc = -ENOMEM;
	free(recs);
	return rc;
}

int64_t tr_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int tr_run(char **argv, int capture_fd, int *status)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		setenv("PLEXUS_TRACE", "1", 1);
		dup2(STDERR_FILENO, STDOUT_FILENO); /* the diagram may go to standard output */
		dup2(capture_fd, STDERR_FILENO);
		execvp(argv[0], argv);
		fprintf(stderr, "plexus trace: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}
