/*
 * drvcluster.c — the four-node cluster the multi-node driver tests share: etcd on the hub, a
 * plexus-node in each node namespace, and the test's own thread moved into node 0, where it
 * acts as RS (an endpoint labelled "rs" that starts drivers with NODE_START and answers their
 * exit reports) and as the drivers' client.
 *
 * Entry points: drvcluster_setup, drvcluster_teardown, drvcluster_now_ms,
 * drvcluster_wait_route, drvcluster_call, drvcluster_start_driver, drvcluster_expect_exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "drvcluster.h"

int64_t drvcluster_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int s_start_node(drvcluster *f, int i)
{
	char name[16], asan_env[512], ubsan_env[512];
	const char *asan = getenv("ASAN_OPTIONS"), *ubsan = getenv("UBSAN_OPTIONS");
	snprintf(name, sizeof name, "n%d", i);
	snprintf(asan_env, sizeof asan_env, "ASAN_OPTIONS=%s", asan ? asan : "");
	snprintf(ubsan_env, sizeof ubsan_env, "UBSAN_OPTIONS=%s", ubsan ? ubsan : "");
	char *argv[] = {PLEXUS_NODE_BIN,
	                "--node",
	                name,
	                "--addr",
	                (char *)netns_node_addr(f->c, i),
	                "--etcd",
	                (char *)netns_hub_etcd_endpoints(f->c),
	                "--cluster",
	                (char *)f->cluster,
	                "--log-dir",
	                f->dir,
	                "--grace",
	                "3000",
	                "--cmdline",
	                "/dev/null",
	                NULL};
	char *envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", asan_env, ubsan_env, NULL};
	return netns_exec(f->c, i, argv, envp, &f->node[i]);
}

/* This thread moves into node 0: the client and rs live there, like a file server would. */
static int s_enter_node0(drvcluster *f)
{
	int fd = open(netns_ns_path(f->c, 0), O_RDONLY | O_CLOEXEC);
	f->own_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int rc = fd < 0 || f->own_ns < 0 || setns(fd, CLONE_NEWNET) < 0 ? -1 : 0;
	if (fd >= 0)
		close(fd);
	return rc;
}

static plx_ep *s_rs_new(drvcluster *f)
{
	uint64_t gen;
	if (plx_generation_next(f->etcd, f->cluster, "rs", &gen) < 0)
		return NULL;
	plx_ep *ep = plx_ep_new(f->ctx, "rs", gen);
	char bind[64];
	snprintf(bind, sizeof bind, "tcp://%s:*", netns_node_addr(f->c, 0));
	plx_endpoint_rec rec = {.label = "rs", .generation = gen, .node = "n0", .state = "up"};
	rec.pid = getpid();
	if (!ep || plx_ep_bind(ep, bind) < 0 ||
	    snprintf(rec.address, sizeof rec.address, "%s", plx_ep_address(ep)) <= 0 ||
	    plx_endpoint_publish(f->etcd, f->cluster, &rec, plx_lease_id(f->lease)) < 0)
		plx_ep_destroy(&ep);
	return ep;
}

int drvcluster_wait_route(drvcluster *f, const char *label, uint64_t after, uint64_t *gen)
{
	uint64_t g = 0;
	for (int64_t end = drvcluster_now_ms() + DRVCLUSTER_WAIT_MS; drvcluster_now_ms() < end;
	     usleep(10 * 1000))
		if (plx_route_lookup(f->ctx, label, &g, NULL, 0) == 0 && g > after) {
			if (gen)
				*gen = g;
			return 0;
		}
	return -ETIMEDOUT;
}

static int s_prepare(drvcluster *f)
{
	f->c = netns_cluster_new(DRVCLUSTER_NODES, NULL);
	if (!f->c || netns_hub_etcd_start(f->c, 1) < 0) {
		print_error("harness: %s\n", netns_error());
		return -1;
	}
	snprintf(f->dir, sizeof f->dir, "%s", netns_run_dir(f->c));
	if (s_enter_node0(f) < 0)
		return -1;
	plx_register_types(&plexus__node_type__descriptor);
	plx_register_types(f->types);
	plx_etcd_opts opts = {.endpoints = netns_hub_etcd_endpoints(f->c)};
	if (!(f->etcd = plx_etcd_new(&opts)) || !(f->ctx = plx_ctx_new()) ||
	    !(f->lease = plx_lease_new(f->etcd, 2)) || !(f->rs = s_rs_new(f)) ||
	    !(f->cache = plx_epcache_new(f->etcd, f->cluster, f->ctx)) ||
	    !(f->ds = plx_ds_new(f->etcd, f->cluster, f->client)))
		return -1;
	for (int i = 0; i < DRVCLUSTER_NODES; i++)
		if (s_start_node(f, i) < 0)
			return -1;
	for (int i = 0; i < DRVCLUSTER_NODES; i++) {
		char label[16];
		snprintf(label, sizeof label, "node.n%d", i);
		if (drvcluster_wait_route(f, label, 0, NULL) < 0) {
			print_error("node %d did not register\n", i);
			return -1;
		}
	}
	return 0;
}

int drvcluster_teardown(void **state)
{
	drvcluster *f = *state;
	if (!f)
		return 0;
	plx_ds_destroy(&f->ds);
	plx_epcache_destroy(&f->cache);
	plx_ep_destroy(&f->rs);
	plx_lease_destroy(&f->lease, true);
	plx_etcd_destroy(&f->etcd);
	plx_ctx_destroy(&f->ctx);
	if (f->own_ns >= 0) {
		if (setns(f->own_ns, CLONE_NEWNET) < 0)
			abort();
		close(f->own_ns);
	}
	if (!f->passed && f->c)
		netns_cluster_failed(f->c);
	netns_cluster_destroy(&f->c);
	free(f);
	return 0;
}

int drvcluster_setup(void **state, const drvcluster_opts *opts)
{
	drvcluster *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	f->own_ns = -1;
	f->cluster = opts->cluster;
	f->client = opts->client;
	f->types = opts->types;
	f->env_marker = opts->env_marker;
	*state = f;
	if (s_prepare(f) == 0)
		return 0;
	drvcluster_teardown(state);
	*state = NULL;
	return -1;
}

/* ---- RS's requests ---- */

int drvcluster_call(drvcluster *f, const char *label, uint32_t type, const ProtobufCMessage *body,
                    plx_msg **reply)
{
	plx_request req = {.type = type, .body = body};
	snprintf(req.dst.label, sizeof req.dst.label, "%s", label);
	plx_msg *msg = NULL;
	int rc = plx_sendrec(f->rs, &req, &msg, DRVCLUSTER_WAIT_MS);
	if (reply)
		*reply = msg;
	else
		plx_msg_destroy(&msg);
	return rc;
}

/* Starts a driver (argv NULL-terminated, argv[0] the program) as label on node i with a new
 * generation, as RS does, and waits until its endpoint is published. init: NULL or "restart".
 * Returns the generation. */
uint64_t drvcluster_start_driver(drvcluster *f, int i, const char *label, const char *init,
                                 char **argv)
{
	uint64_t gen = 0, before = 0;
	plx_route_lookup(f->ctx, label, &before, NULL, 0);
	assert_int_equal(plx_generation_next(f->etcd, f->cluster, label, &gen), 0);
	Plexus__NodeStart start = PLEXUS__NODE_START__INIT;
	start.label = (char *)label;
	start.program = argv[0];
	start.argv = argv;
	while (argv[start.n_argv])
		start.n_argv++;
	start.generation = gen;
	/* Always one entry: plexus-node's spawn copies the list with memcpy even when empty, which
	 * UBSan stops on (a NULL source). */
	char *env[] = {(char *)f->env_marker, "PLEXUS_INIT=restart"};
	start.env = env;
	start.n_env = init ? 2 : 1;
	char node[16];
	snprintf(node, sizeof node, "node.n%d", i);
	assert_int_equal(drvcluster_call(f, node, PLEXUS__NODE_TYPE__NODE_START, &start.base, NULL),
	                 0);
	uint64_t now = 0;
	if (drvcluster_wait_route(f, label, before, &now) < 0) {
		char *log = NULL;
		char path[512];
		snprintf(path, sizeof path, "%s/%s.log", f->dir, label);
		FILE *fp = fopen(path, "r");
		if (fp) {
			log = calloc(1, 8192);
			if (fread(log, 1, 8191, fp) == 0)
				log[0] = '\0';
			fclose(fp);
		}
		fail_msg("%s on n%d did not publish its endpoint; its log:\n%s", label, i,
		         log ? log : "(none)");
	}
	assert_int_equal(now, gen);
	return gen;
}

/* Waits for the NODE_EXIT of label at rs (answering every report), returns it (caller
 * frees). */
Plexus__NodeExit *drvcluster_expect_exit(drvcluster *f, const char *label)
{
	for (int64_t end = drvcluster_now_ms() + DRVCLUSTER_WAIT_MS; drvcluster_now_ms() < end;) {
		plx_msg *msg = NULL;
		if (plx_receive(f->rs, &msg, (int)(end - drvcluster_now_ms())) < 0)
			continue;
		Plexus__NodeExit *e = NULL;
		if (msg->kind == PLX_REQUEST && msg->type == PLEXUS__NODE_TYPE__NODE_EXIT)
			e = (Plexus__NodeExit *)plx_msg_unpack(msg, &plexus__node_exit__descriptor);
		if (msg->kind == PLX_REQUEST)
			plx_reply(f->rs, msg, e ? 0 : -ENOSYS, NULL, NULL, 0);
		plx_msg_destroy(&msg);
		if (e && strcmp(e->label, label) == 0)
			return e;
		if (e)
			protobuf_c_message_free_unpacked(&e->base, NULL);
	}
	return NULL;
}
