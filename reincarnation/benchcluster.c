/*
 * benchcluster.c — the cluster the RS benchmarks build (benchcluster.h).
 *
 * Entry points: benchcluster_bin, benchcluster_ms, benchcluster_envp, benchcluster_open,
 * benchcluster_enter, benchcluster_close, benchcluster_start_node, benchcluster_start_rs,
 * benchcluster_echo.
 */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include <unistd.h>

#include <plexus/ipc_stub.h>

#include "bench.h"
#include "benchcluster.h"

const char *benchcluster_bin(const char *env, const char *built)
{
	const char *v = getenv(env);
	return v && *v ? v : built;
}

double benchcluster_ms(uint64_t from_ns)
{
	return (double)(bench_now_ns() - from_ns) / 1e6;
}

char **benchcluster_envp(void)
{
	static char *envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
	return envp;
}

int benchcluster_open(benchcluster *b, int places, const char *who)
{
	b->own_ns = -1;
	if (!(b->c = netns_cluster_new(places, NULL)) || netns_hub_etcd_start(b->c, 1) < 0) {
		fprintf(stderr, "%s: harness: %s\n", who, netns_error());
		return EX_UNAVAILABLE;
	}
	snprintf(b->file, sizeof b->file, "%s/cluster.ini", netns_run_dir(b->c));
	return 0;
}

int benchcluster_enter(benchcluster *b, const char *cluster)
{
	int fd = open(netns_ns_path(b->c, NETNS_HUB), O_RDONLY | O_CLOEXEC);
	b->own_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int rc = fd < 0 || b->own_ns < 0 || setns(fd, CLONE_NEWNET) < 0 ? -1 : 0;
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		return EX_OSERR;
	plx_etcd_opts opts = {.endpoints = netns_hub_etcd_endpoints(b->c)};
	if (!(b->etcd = plx_etcd_new(&opts)) || !(b->ctx = plx_ctx_new()) ||
	    !(b->ep = plx_ep_new(b->ctx, "bench", 1)) ||
	    !(b->cache = plx_epcache_new(b->etcd, cluster, b->ctx)))
		return EX_UNAVAILABLE;
	return 0;
}

void benchcluster_close(benchcluster *b)
{
	plx_epcache_destroy(&b->cache);
	plx_ep_destroy(&b->ep);
	plx_etcd_destroy(&b->etcd);
	plx_ctx_destroy(&b->ctx);
	if (b->own_ns >= 0) {
		if (setns(b->own_ns, CLONE_NEWNET) < 0)
			abort();
		close(b->own_ns);
		b->own_ns = -1;
	}
	netns_cluster_destroy(&b->c);
}

int benchcluster_start_node(benchcluster *b, int i, const char *cluster, int ttl_s, pid_t *pid)
{
	char name[16], ttl[16];
	snprintf(name, sizeof name, "n%d", i);
	snprintf(ttl, sizeof ttl, "%d", ttl_s);
	char *argv[] = {(char *)benchcluster_bin("PLEXUS_NODE_BIN", PLEXUS_NODE_BIN),
	                "--node",
	                name,
	                "--addr",
	                (char *)netns_node_addr(b->c, i),
	                "--etcd",
	                (char *)netns_hub_etcd_endpoints(b->c),
	                "--cluster",
	                (char *)cluster,
	                "--lease-ttl",
	                ttl,
	                "--log-dir",
	                (char *)netns_run_dir(b->c),
	                "--cmdline",
	                "/dev/null",
	                NULL};
	return netns_exec(b->c, i, argv, benchcluster_envp(), pid);
}

int benchcluster_start_rs(benchcluster *b, const char *name, pid_t *pid)
{
	char *argv[] = {(char *)benchcluster_bin("PLEXUS_RS_BIN", PLEXUS_RS_BIN),
	                "--cluster-file",
	                b->file,
	                "--etcd",
	                (char *)netns_hub_etcd_endpoints(b->c),
	                "--addr",
	                (char *)netns_node_addr(b->c, 0),
	                "--name",
	                (char *)name,
	                NULL};
	return netns_exec(b->c, 0, argv, benchcluster_envp(), pid);
}

int benchcluster_echo(benchcluster *b, const char *label, int timeout_ms, uint64_t *gen)
{
	Plexus__IpcEcho body = PLEXUS__IPC_ECHO__INIT;
	body.text = "ping";
	plx_stub s;
	plx_msg *reply = NULL;
	int rc = plx_stub_init(&s, b->ep, label, 0, timeout_ms);
	if (rc == 0)
		rc = plx_ipc_echo_call(&s, &body, NULL, 0, NULL, &reply);
	if (rc == 0) {
		Plexus__IpcEcho *e = NULL;
		plx_ipc_echo_reply(reply, &e);
		*gen = e ? e->sequence : 0;
		plx_stub_free(e, NULL);
	}
	plx_msg_destroy(&reply);
	return rc;
}
