/*
 * switch.c — tracing switched on or off in every running service, and a command run traced.
 *
 * Entry points: tr_switch_all, tr_read_nodes, tr_run, tr_now_us.
 *
 * Each endpoint the registry lists (what `plexus ep ls` prints) is sent IPC_TRACE_LEVEL through
 * the transport's typed stub (plx_ipc_trace_level_call), from an endpoint labelled
 * plexus-trace (or the operator's label on secured links), which servers obey
 * (plexus/server.h: IPC_TRACE_LEVEL from "plexus-*"). The same endpoint asks each node kernel
 * for the trace lines of its logs (NODE_TRACE_READ, which node kernels answer operators' commands
 * only): a cluster's logs stay on its nodes.
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
#include <plexus/node_stub.h>

#include "switch.h"
#include "trace.h"

#define S_TIMEOUT_MS      1000
#define S_READ_TIMEOUT_MS 20000 /* a node reads its whole log directory */

static const char *s_env(const char *name, const char *fallback)
{
	const char *v = getenv(name);
	return v ? v : fallback;
}

/* ---- the operator's endpoint and the endpoint table ---- */

typedef struct s_link {
	plx_ctx *ctx;
	plx_ep *ep;
} s_link;

/* An endpoint labelled plexus-trace (or the operator's label) on secured links when the
 * cluster has them. Returns 0 or a negative errno with err set. */
static int s_link_open(s_link *l, char *err, size_t size)
{
	char me[PLX_LABEL_MAX] = "plexus-trace";
	int op = plx_link_operator(me, sizeof me);
	if (op < 0) {
		snprintf(err, size, "PLEXUS_OPERATOR: %s", strerror(-op));
		return -EACCES;
	}
	l->ctx = plx_ctx_new();
	l->ep = l->ctx ? plx_ep_new(l->ctx, me, 1) : NULL;
	return l->ep ? plx_link_secure(l->ctx, l->ep, err, size) : -ENOMEM;
}

static void s_link_close(s_link *l)
{
	plx_ep_destroy(&l->ep);
	plx_ctx_destroy(&l->ctx);
}

/* A stub of rec's endpoint, its route set from the record. */
static int s_stub(s_link *l, const plx_endpoint_rec *rec, int timeout_ms, plx_stub *stub)
{
	int rc =
	    plx_route_set_certified(l->ctx, rec->label, rec->generation, rec->address, rec->cert);
	return rc < 0 ? rc : plx_stub_init(stub, l->ep, rec->label, rec->generation, timeout_ms);
}

/* The endpoint table of PLEXUS_ETCD's cluster PLEXUS_CLUSTER (caller frees *recs). Returns
 * the count or a negative errno with err set. */
static int s_list(plx_endpoint_rec **recs, char *err, size_t size)
{
	plx_etcd_opts opts = {.endpoints = s_env("PLEXUS_ETCD", PLX_ETCD_DEFAULT_URL),
	                      .user = s_env("PLEXUS_ETCD_USER", NULL),
	                      .password = s_env("PLEXUS_ETCD_PASSWORD", NULL)};
	plx_etcd *etcd = plx_etcd_new(&opts);
	if (!etcd) {
		snprintf(err, size, "etcd %s: %s", opts.endpoints, strerror(errno));
		return -errno;
	}
	*recs = NULL;
	int n = plx_endpoint_list(etcd, s_env("PLEXUS_CLUSTER", "default"), recs, NULL);
	plx_etcd_destroy(&etcd);
	if (n < 0)
		snprintf(err, size, "the endpoint table: %s", plx_strerror(n));
	return n;
}

/* ---- tracing switched ---- */

/* One IPC_TRACE_LEVEL to rec's endpoint. */
static int s_switch_one(s_link *l, const plx_endpoint_rec *rec, bool enabled)
{
	Plexus__IpcTraceLevel body = PLEXUS__IPC_TRACE_LEVEL__INIT;
	body.enabled = enabled;
	plx_stub stub;
	int rc = s_stub(l, rec, S_TIMEOUT_MS, &stub);
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
	s_link l = {0};
	int rc = s_link_open(&l, err, size), done = 0;
	for (int i = 0; rc == 0 && i < n; i++) {
		if (strncmp(recs[i].label, "c-", 2) == 0) /* clients of VFS serve nothing */
			continue;
		if (s_switch_one(&l, &recs[i], enabled) == 0)
			done++;
		else
			s_missed(missed, msize, recs[i].label);
	}
	s_link_close(&l);
	return rc < 0 ? rc : done;
}

int tr_switch_all(bool enabled, struct tr_trace *known, char *missed, size_t msize, char *err,
                  size_t size)
{
	missed[0] = '\0';
	plx_endpoint_rec *recs = NULL;
	int n = s_list(&recs, err, size);
	if (n < 0)
		return n;
	int rc = s_switch_recs(recs, n, enabled, missed, msize, err, size);
	for (int i = 0; known && rc >= 0 && i < n; i++)
		if (strncmp(recs[i].label, "c-", 2) != 0 &&
		    tr_known_add(known, recs[i].label, recs[i].generation) < 0)
			rc = -ENOMEM;
	free(recs);
	return rc;
}

/* ---- trace lines from the node kernels ---- */

/* Lines already taken, by a 64-bit hash: node kernels sharing one log directory (`plexus up
 * --nodes`) send the same lines, which count once, on the first node's clock. */
typedef struct s_seen {
	uint64_t *slots; /* 0: empty */
	size_t cap, n;
} s_seen;

static uint64_t s_hash(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
	return h ? h : 1;
}

/* Whether the line of n bytes at p is new (and now seen). Without memory it counts as new. */
static bool s_first(s_seen *seen, const char *p, size_t n)
{
	if (2 * (seen->n + 1) > seen->cap) {
		size_t cap = seen->cap ? 2 * seen->cap : 1024;
		uint64_t *slots = calloc(cap, sizeof *slots);
		if (!slots)
			return true;
		for (size_t i = 0; i < seen->cap; i++)
			for (size_t j = seen->slots[i] % cap; seen->slots[i]; j = (j + 1) % cap)
				if (!slots[j]) {
					slots[j] = seen->slots[i];
					break;
				}
		free(seen->slots);
		seen->slots = slots;
		seen->cap = cap;
	}
	uint64_t h = s_hash(p, n);
	size_t j = h % seen->cap;
	for (; seen->slots[j]; j = (j + 1) % seen->cap)
		if (seen->slots[j] == h)
			return false;
	seen->slots[j] = h;
	seen->n++;
	return true;
}

/* The lines of data not seen before, into a new buffer (*out, caller frees; *len bytes). */
static int s_new_lines(s_seen *seen, const uint8_t *data, size_t size, char **out, size_t *len)
{
	char *buf = malloc(size + 1);
	if (!buf)
		return -ENOMEM;
	size_t used = 0;
	for (size_t at = 0; at < size;) {
		const uint8_t *nl = memchr(data + at, '\n', size - at);
		size_t n = nl ? (size_t)(nl - (data + at)) + 1 : size - at;
		if (s_first(seen, (const char *)data + at, n)) {
			memcpy(buf + used, data + at, n);
			used += n;
		}
		at += n;
	}
	*out = buf;
	*len = used;
	return 0;
}

/* NODE_TRACE_READ to the node kernel rec; its lines not seen before into t as the domain
 * "node NAME". */
static int s_read_node(s_link *l, const plx_endpoint_rec *rec, s_seen *seen, tr_trace *t,
                       int64_t since, int64_t until)
{
	Plexus__NodeTraceRead body = PLEXUS__NODE_TRACE_READ__INIT;
	body.since_us = since == INT64_MIN ? 0 : since;
	body.until_us = until == INT64_MAX ? 0 : until;
	plx_stub stub;
	Plexus__NodeTraceReadReply *reply = NULL;
	plx_msg *msg = NULL;
	int rc = s_stub(l, rec, S_READ_TIMEOUT_MS, &stub);
	if (rc == 0)
		rc = plx_node_trace_read_call(&stub, &body, NULL, 0, &reply, &msg);
	if (rc == 0 && reply->truncated)
		fprintf(stderr,
		        "plexus trace: %s: more trace lines than one reply holds: the "
		        "window's first ones only (narrow it with --since/--until)\n",
		        rec->label);
	char *lines = NULL, name[PLX_LABEL_MAX + 8];
	size_t len = 0;
	if (rc == 0)
		rc = s_new_lines(seen, msg->data, msg->data_size, &lines, &len);
	snprintf(name, sizeof name, "node %s", rec->label + 5);
	int d = rc < 0 || !len ? rc : tr_domain_add(t, name);
	FILE *in = d >= 0 && len ? fmemopen(lines, len, "r") : NULL;
	if (in) {
		rc = tr_parse_stream(t, in, d);
		fclose(in);
	} else if (d < 0) {
		rc = d;
	}
	free(lines);
	plx_stub_free(reply, &msg);
	return rc;
}

int tr_read_nodes(tr_trace *t, int64_t since, int64_t until, char *missed, size_t msize, char *err,
                  size_t size)
{
	missed[0] = '\0';
	plx_endpoint_rec *recs = NULL;
	int n = s_list(&recs, err, size), done = 0;
	if (n < 0)
		return n;
	s_link l = {0};
	s_seen seen = {0};
	int rc = s_link_open(&l, err, size);
	for (int i = 0; rc == 0 && i < n; i++) {
		if (strncmp(recs[i].label, "node.", 5) != 0)
			continue;
		int r = s_read_node(&l, &recs[i], &seen, t, since, until);
		if (r == -ENOMEM)
			rc = r;
		else if (r < 0)
			s_missed(missed, msize, recs[i].label);
		else
			done++;
	}
	s_link_close(&l);
	free(seen.slots);
	free(recs);
	return rc < 0 ? rc : done;
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
