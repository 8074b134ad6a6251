/*
 * benchnet.c — the benchmarks' network-namespace cluster (benchnet.h).
 *
 * Entry points: benchnet_new, benchnet_destroy, benchnet_start, benchnet_bin, benchnet_ctx,
 * benchnet_ep, benchnet_etcd_url, benchnet_etcd, benchnet_netns, benchnet_tcp_listen.
 */
#include "benchnet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <plexus/endpoint.h>

#define S_MAX_ARGS 40
#define S_WAIT_MS  10000

struct benchnet {
	netns_cluster *c;
	int own_ns; /* the namespace the caller's thread left for node 0 */
	char cluster[64];
	plx_etcd *etcd;
	plx_ctx *ctx;
	plx_epcache *cache;
	plx_ep *ep;
};

static int s_enter_node0(benchnet *self)
{
	int fd = open(netns_ns_path(self->c, 0), O_RDONLY | O_CLOEXEC);
	self->own_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int rc = fd < 0 || self->own_ns < 0 || setns(fd, CLONE_NEWNET) < 0 ? -errno : 0;
	if (fd >= 0)
		close(fd);
	return rc;
}

benchnet *benchnet_new(int nodes, const char *cluster, char *err, size_t size)
{
	benchnet *self = calloc(1, sizeof *self);
	if (!self) {
		snprintf(err, size, "out of memory");
		return NULL;
	}
	self->own_ns = -1;
	snprintf(self->cluster, sizeof self->cluster, "%s", cluster);
	if (!(self->c = netns_cluster_new(nodes, NULL)) || netns_hub_etcd_start(self->c, 1) < 0) {
		snprintf(err, size, "cluster: %s", netns_error());
		benchnet_destroy(&self);
		return NULL;
	}
	int rc = s_enter_node0(self);
	plx_etcd_opts opts = {.endpoints = netns_hub_etcd_endpoints(self->c)};
	if (rc < 0 || !(self->etcd = plx_etcd_new(&opts)) || !(self->ctx = plx_ctx_new()) ||
	    !(self->cache = plx_epcache_new(self->etcd, cluster, self->ctx)) ||
	    !(self->ep = plx_ep_new(self->ctx, "benchclient", 1))) {
		snprintf(err, size, "client in node 0: %s", strerror(rc < 0 ? -rc : errno));
		benchnet_destroy(&self);
	}
	return self;
}

void benchnet_destroy(benchnet **self_p)
{
	benchnet *self = self_p ? *self_p : NULL;
	if (!self)
		return;
	plx_ep_destroy(&self->ep);
	plx_epcache_destroy(&self->cache);
	plx_ctx_destroy(&self->ctx);
	plx_etcd_destroy(&self->etcd);
	if (self->own_ns >= 0) {
		if (setns(self->own_ns, CLONE_NEWNET) < 0)
			abort(); /* destroying the cluster from inside it would go wrong */
		close(self->own_ns);
	}
	netns_cluster_destroy(&self->c);
	free(self);
	*self_p = NULL;
}

int benchnet_start(benchnet *self, int node, const char *program, const char *label,
                   const char *const *extra, char *err, size_t size)
{
	const char *argv[S_MAX_ARGS] = {program,
	                                "--label",
	                                label,
	                                "--etcd",
	                                netns_hub_etcd_endpoints(self->c),
	                                "--cluster",
	                                self->cluster,
	                                "--addr",
	                                netns_node_addr(self->c, node)};
	size_t n = 9;
	for (; extra && *extra && n < S_MAX_ARGS - 1; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;
	/* $PLEXUS_TRACE passes on, so a run can be traced (logs kept with PLEXUS_NETNS_KEEP). */
	char trace[64] = "";
	const char *level = getenv("PLEXUS_TRACE");
	if (level)
		snprintf(trace, sizeof trace, "PLEXUS_TRACE=%s", level);
	char *envp[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	                trace[0] ? trace : NULL, NULL};
	pid_t pid;
	int rc = netns_exec(self->c, node, (char *const *)argv, envp, &pid);
	for (int waited = 0; rc == 0; waited += 10, usleep(10 * 1000)) {
		if (plx_route_lookup(self->ctx, label, NULL, NULL, 0) == 0)
			return 0;
		if (waited >= S_WAIT_MS)
			rc = -ETIMEDOUT;
	}
	snprintf(err, size, "%s (%s) on node %d: %s; see its log in %s", label, program, node,
	         strerror(-rc), netns_run_dir(self->c));
	return rc;
}

const char *benchnet_bin(const char *env, const char *build, const char *name)
{
	const char *value = env ? getenv(env) : NULL;
	if (value && *value)
		return value;
	if (build && access(build, X_OK) == 0)
		return build;
	return name;
}

plx_ctx *benchnet_ctx(benchnet *self)
{
	return self->ctx;
}

plx_ep *benchnet_ep(benchnet *self)
{
	return self->ep;
}

const char *benchnet_etcd_url(benchnet *self)
{
	return netns_hub_etcd_endpoints(self->c);
}

plx_etcd *benchnet_etcd(benchnet *self)
{
	return self->etcd;
}

netns_cluster *benchnet_netns(benchnet *self)
{
	return self->c;
}

int benchnet_tcp_listen(netns_cluster *c, int node, struct sockaddr_in *sa)
{
	int fd = netns_socket(c, node, AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return fd;
	*sa = (struct sockaddr_in){.sin_family = AF_INET};
	inet_pton(AF_INET, netns_node_addr(c, node), &sa->sin_addr);
	socklen_t len = sizeof *sa;
	if (bind(fd, (struct sockaddr *)sa, sizeof *sa) < 0 || listen(fd, 4) < 0 ||
	    getsockname(fd, (struct sockaddr *)sa, &len) < 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}
