/*
 * test-node.c — plexus-node on the multi-node harness: two nodes in two network namespaces,
 * etcd on the hub, and this process acting as RS from the hub (an endpoint labelled "rs",
 * published so the nodes resolve it). Checks: both nodes register (records, endpoints, one
 * lease, `plexus node ls`); START gives a pid of a process in the node's namespace with its
 * environment and process group, SIGNAL SIGKILL brings NODE_EXIT to rs within 1 s; a normal
 * exit reports its status, output reaches the service's log, an unanswered report is sent
 * again and an answered one is not; START/STOP/SIGNAL/IPC_SHUTDOWN from another label are
 * -PLX_ECALLDENIED while NODE_LIST and IPC_PING are open; bad starts; STOP with SIGTERM and
 * with SIGKILL after the grace; reports wait while rs has no route and arrive once it has one;
 * a killed node's records vanish within TTL + 1 s; a node cut off from etcd kills its services
 * before its record vanishes and comes back afterwards as a new generation; SIGTERM, and
 * IPC_SHUTDOWN from rs, stop a node's services and remove its records at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include <plexus/endpoint.h>
#include <plexus/node_cli.h>

#include "netns_harness.h"
#include "plexus/proto/ipc.pb-c.h"
#include "plexus/proto/node.pb-c.h"

#define S_NODES   2
#define S_TTL     2
#define S_CLUSTER "nodetest"
#define S_WAIT_MS 3000

typedef struct fixture {
	netns_cluster *c;
	int own_ns; /* this thread's namespace, to come back to from the hub */
	char dir[256];
	pid_t node[S_NODES];
	plx_ctx *ctx;
	plx_etcd *etcd;
	plx_lease *lease;
	plx_epcache *cache;
	plx_ep *rs;
	plx_ep *intruder;
	bool passed;
} fixture;

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_key(char *buf, size_t size, const char *kind, const char *name)
{
	snprintf(buf, size, "/plexus/%s/%s/%s", S_CLUSTER, kind, name);
}

/* True when the key exists. */
static bool s_exists(fixture *f, const char *kind, const char *name)
{
	char key[256];
	plx_kv *kv = NULL;
	s_key(key, sizeof key, kind, name);
	int rc = plx_etcd_get(f->etcd, key, &kv);
	plx_kv_free(&kv);
	assert_true(rc == 0 || rc == -ENOENT);
	return rc == 0;
}

/* Waits until the key's existence is want; returns the time it took, or -1. */
static int64_t s_until_key(fixture *f, const char *kind, const char *name, bool want, int ms)
{
	int64_t start = s_now_ms();
	while (s_exists(f, kind, name) != want)
		if (s_now_ms() - start > ms)
			return -1;
		else
			usleep(20 * 1000);
	return s_now_ms() - start;
}

/* ---- the nodes ---- */

static int s_start_node(fixture *f, int i)
{
	char name[16], *asan = getenv("ASAN_OPTIONS"), *ubsan = getenv("UBSAN_OPTIONS");
	char asan_env[512], ubsan_env[512];
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
	                S_CLUSTER,
	                "--lease-ttl",
	                "2",
	                "--log-dir",
	                f->dir,
	                "--grace",
	                "500",
	                "--cmdline",
	                "/dev/null",
	                NULL};
	char *envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", asan_env, ubsan_env, NULL};
	return netns_exec(f->c, i, argv, envp, &f->node[i]);
}

/* Makes an endpoint for rs with a fresh generation, bound on the hub, published on our
 * lease. */
static plx_ep *s_rs_new(fixture *f)
{
	uint64_t gen;
	if (plx_generation_next(f->etcd, S_CLUSTER, "rs", &gen) < 0)
		return NULL;
	plx_ep *ep = plx_ep_new(f->ctx, "rs", gen);
	char bind[64];
	snprintf(bind, sizeof bind, "tcp://%s:*", netns_hub_addr(f->c));
	plx_endpoint_rec rec = {.label = "rs", .generation = gen, .node = "hub", .state = "up"};
	rec.pid = getpid();
	if (!ep || plx_ep_bind(ep, bind) < 0 ||
	    snprintf(rec.address, sizeof rec.address, "%s", plx_ep_address(ep)) <= 0 ||
	    plx_endpoint_publish(f->etcd, S_CLUSTER, &rec, plx_lease_id(f->lease)) < 0)
		plx_ep_destroy(&ep);
	return ep;
}

static int s_enter_hub(fixture *f)
{
	int fd = open(netns_ns_path(f->c, NETNS_HUB), O_RDONLY | O_CLOEXEC);
	f->own_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int rc = fd < 0 || f->own_ns < 0 || setns(fd, CLONE_NEWNET) < 0 ? -1 : 0;
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Brings up the cluster, etcd, this process's rs and the two nodes. Returns 0 or -1. */
static int s_prepare(fixture *f)
{
	f->c = netns_cluster_new(S_NODES, NULL);
	if (!f->c || netns_hub_etcd_start(f->c, 1) < 0) {
		print_error("harness: %s\n", netns_error());
		return -1;
	}
	/* Service logs go to the harness's run directory: removed with the cluster, kept with
	 * the nodes' own logs when a test fails. */
	snprintf(f->dir, sizeof f->dir, "%s", netns_run_dir(f->c));
	/* This thread lives on the hub for the test, as RS would: its sockets, and the threads
	 * the transport and etcd client start, are there. */
	if (s_enter_hub(f) < 0)
		return -1;
	plx_register_types(&plexus__node_type__descriptor);
	plx_etcd_opts opts = {.endpoints = netns_hub_etcd_endpoints(f->c)};
	if (!(f->etcd = plx_etcd_new(&opts)) || !(f->ctx = plx_ctx_new()) ||
	    !(f->lease = plx_lease_new(f->etcd, S_TTL)) || !(f->rs = s_rs_new(f)) ||
	    !(f->intruder = plx_ep_new(f->ctx, "intruder", 1)) ||
	    !(f->cache = plx_epcache_new(f->etcd, S_CLUSTER, f->ctx)))
		return -1;
	for (int i = 0; i < S_NODES; i++)
		if (s_start_node(f, i) < 0)
			return -1;
	for (int i = 0; i < S_NODES; i++) {
		char label[16], name[16];
		snprintf(label, sizeof label, "node.n%d", i);
		snprintf(name, sizeof name, "n%d", i);
		for (int64_t end = s_now_ms() + 10000;
		     plx_route_lookup(f->ctx, label, NULL, NULL, 0) != 0; usleep(10 * 1000))
			if (s_now_ms() > end) {
				print_error("node %d did not register\n", i);
				return -1;
			}
		/* The node record is written by the node's refresh thread, a moment after the
		 * endpoint: wait for it too before any test looks. */
		if (s_until_key(f, "nodes", name, true, 10000) < 0) {
			print_error("node %d wrote no node record\n", i);
			return -1;
		}
	}
	return 0;
}

static int s_teardown(void **state);

static int s_setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	f->own_ns = -1;
	*state = f;
	if (s_prepare(f) == 0)
		return 0;
	s_teardown(state);
	*state = NULL;
	return -1;
}

static int s_teardown(void **state)
{
	fixture *f = *state;
	if (!f)
		return 0;
	plx_epcache_destroy(&f->cache);
	plx_ep_destroy(&f->intruder);
	plx_ep_destroy(&f->rs);
	plx_lease_destroy(&f->lease, true);
	plx_etcd_destroy(&f->etcd);
	plx_ctx_destroy(&f->ctx);
	if (f->own_ns >= 0) {
		if (setns(f->own_ns, CLONE_NEWNET) < 0)
			abort(); /* destroying the cluster from inside it would go wrong */
		close(f->own_ns);
	}
	if (!f->passed && f->c)
		netns_cluster_failed(f->c);
	netns_cluster_destroy(&f->c);
	free(f);
	return 0;
}

/* ---- requests ---- */

/* Sends type with body from ep to label; returns the status, *reply when wanted. */
static int s_call(plx_ep *ep, const char *label, uint32_t type, const ProtobufCMessage *body,
                  plx_msg **reply)
{
	plx_request req = {.type = type, .body = body};
	snprintf(req.dst.label, sizeof req.dst.label, "%s", label);
	plx_msg *msg = NULL;
	int rc = plx_sendrec(ep, &req, &msg, S_WAIT_MS);
	if (reply)
		*reply = msg;
	else
		plx_msg_destroy(&msg);
	return rc;
}

/* Starts argv (NULL-terminated) as label/generation on node.n<i> from ep; returns the status
 * and sets *pid on success. */
static int s_start(plx_ep *ep, int i, const char *label, uint64_t gen, char **argv, int64_t *pid)
{
	Plexus__NodeStart start = PLEXUS__NODE_START__INIT;
	start.label = (char *)label;
	start.program = argv[0];
	start.argv = argv;
	while (argv[start.n_argv])
		start.n_argv++;
	start.generation = gen;
	char *env[] = {"SERVICE_SETTING=on"};
	start.env = env;
	start.n_env = 1;
	char node[16];
	snprintf(node, sizeof node, "node.n%d", i);
	plx_msg *reply = NULL;
	int rc = s_call(ep, node, PLEXUS__NODE_TYPE__NODE_START, &start.base, &reply);
	if (rc == 0) {
		Plexus__NodeStartReply *r = (Plexus__NodeStartReply *)plx_msg_unpack(
		    reply, &plexus__node_start_reply__descriptor);
		assert_non_null(r);
		*pid = r->pid;
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	plx_msg_destroy(&reply);
	return rc;
}

static int s_signal(plx_ep *ep, int i, const char *label, int signo)
{
	Plexus__NodeSignal sig = PLEXUS__NODE_SIGNAL__INIT;
	sig.label = (char *)label;
	sig.signo = signo;
	char node[16];
	snprintf(node, sizeof node, "node.n%d", i);
	return s_call(ep, node, PLEXUS__NODE_TYPE__NODE_SIGNAL, &sig.base, NULL);
}

/* Waits up to ms for a NODE_EXIT request at ep; answers it with status and returns its body
 * (caller frees), or NULL on timeout. */
static Plexus__NodeExit *s_expect_exit(plx_ep *ep, int ms, int status)
{
	for (int64_t end = s_now_ms() + ms; s_now_ms() < end;) {
		plx_msg *msg = NULL;
		if (plx_receive(ep, &msg, (int)(end - s_now_ms())) < 0)
			continue;
		Plexus__NodeExit *e = NULL;
		if (msg->kind == PLX_REQUEST && msg->type == PLEXUS__NODE_TYPE__NODE_EXIT)
			e = (Plexus__NodeExit *)plx_msg_unpack(msg, &plexus__node_exit__descriptor);
		if (msg->kind == PLX_REQUEST)
			plx_reply(ep, msg, e ? status : -ENOSYS, NULL, NULL, 0);
		plx_msg_destroy(&msg);
		if (e)
			return e;
	}
	return NULL;
}

/* The NODE_LIST entry for label on node i (caller frees the reply), or NULL. */
static Plexus__NodeListReply *s_list(plx_ep *ep, int i)
{
	char node[16];
	snprintf(node, sizeof node, "node.n%d", i);
	plx_msg *reply = NULL;
	assert_int_equal(s_call(ep, node, PLEXUS__NODE_TYPE__NODE_LIST, NULL, &reply), 0);
	Plexus__NodeListReply *list =
	    (Plexus__NodeListReply *)plx_msg_unpack(reply, &plexus__node_list_reply__descriptor);
	plx_msg_destroy(&reply);
	assert_non_null(list);
	return list;
}

static Plexus__NodeService *s_find(Plexus__NodeListReply *list, const char *label)
{
	for (size_t i = 0; i < list->n_services; i++)
		if (strcmp(list->services[i]->label, label) == 0)
			return list->services[i];
	return NULL;
}

static bool s_file_has(const char *path, const char *text)
{
	char buf[4096] = {0};
	FILE *fp = fopen(path, "r");
	if (!fp)
		return false;
	size_t n = fread(buf, 1, sizeof buf - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return strstr(buf, text) != NULL;
}

/* Reads /proc/<pid>/environ and looks for an entry. */
static bool s_environ_has(int64_t pid, const char *entry)
{
	char path[64], buf[16384];
	snprintf(path, sizeof path, "/proc/%" PRId64 "/environ", pid);
	FILE *fp = fopen(path, "r");
	if (!fp)
		return false;
	size_t n = fread(buf, 1, sizeof buf - 1, fp);
	fclose(fp);
	for (size_t at = 0; at < n; at += strlen(buf + at) + 1)
		if (strcmp(buf + at, entry) == 0)
			return true;
	return false;
}

static bool s_same_netns(int64_t pid, const char *nspath)
{
	char path[64];
	struct stat a, b;
	snprintf(path, sizeof path, "/proc/%" PRId64 "/ns/net", pid);
	return stat(path, &a) == 0 && stat(nspath, &b) == 0 && a.st_ino == b.st_ino &&
	       a.st_dev == b.st_dev;
}

/* ---- tests ---- */

static void s_check_record(fixture *f, int i, int64_t *lease)
{
	char key[256], name[16], label[16], prefix[64];
	snprintf(name, sizeof name, "n%d", i);
	snprintf(label, sizeof label, "node.n%d", i);
	s_key(key, sizeof key, "nodes", name);
	assert_true(s_until_key(f, "nodes", name, true, 5000) >= 0);
	plx_kv *kv = NULL;
	assert_int_equal(plx_etcd_get(f->etcd, key, &kv), 0);
	json_t *o = json_loadb((const char *)kv->value, kv->value_size, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "name")), name);
	assert_string_equal(json_string_value(json_object_get(o, "addr")),
	                    netns_node_addr(f->c, i));
	assert_int_equal(json_integer_value(json_object_get(o, "pid")), f->node[i]);
	assert_int_equal(json_integer_value(json_object_get(o, "services")), 0);
	assert_int_equal(json_array_size(json_object_get(o, "load")), 3);
	assert_true(json_integer_value(json_object_get(o, "start_time")) > 0);
	json_decref(o);
	plx_endpoint_rec rec;
	assert_int_equal(plx_endpoint_lookup(f->etcd, S_CLUSTER, label, &rec), 0);
	snprintf(prefix, sizeof prefix, "tcp://%s:", netns_node_addr(f->c, i));
	assert_memory_equal(rec.address, prefix, strlen(prefix));
	assert_string_equal(rec.node, name);
	assert_int_equal(rec.pid, f->node[i]);
	/* the record and the endpoint hang on one lease */
	assert_true(kv->lease != 0);
	assert_int_equal(rec.lease, kv->lease);
	*lease = kv->lease;
	plx_kv_free(&kv);
}

/* An integer field of node name's record, or -1. */
static int64_t s_record_int(fixture *f, const char *name, const char *field)
{
	char key[256];
	plx_kv *kv = NULL;
	s_key(key, sizeof key, "nodes", name);
	if (plx_etcd_get(f->etcd, key, &kv) < 0)
		return -1;
	json_t *o = json_loadb((const char *)kv->value, kv->value_size, 0, NULL);
	json_t *v = json_object_get(o, field);
	int64_t value = json_is_integer(v) ? json_integer_value(v) : -1;
	json_decref(o);
	plx_kv_free(&kv);
	return value;
}

/* Runs `plexus node ls` in this process, capturing its output. */
static int s_node_ls(fixture *f, char *out, size_t size)
{
	char etcd[512];
	snprintf(etcd, sizeof etcd, "--etcd=%s", netns_hub_etcd_endpoints(f->c));
	char *argv[] = {"node", "ls", etcd, "--cluster=" S_CLUSTER, NULL};
	char path[] = "/tmp/plexus-node-ls-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	fflush(stdout);
	int saved = dup(1);
	dup2(fd, 1);
	int rc = plx_node_cli(4, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	ssize_t n = pread(fd, out, size - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	return rc;
}

static void test_nodes_register(void **state)
{
	fixture *f = *state;
	int64_t lease0, lease1;
	s_check_record(f, 0, &lease0);
	s_check_record(f, 1, &lease1);
	assert_true(lease0 != lease1);
	char out[4096];
	assert_int_equal(s_node_ls(f, out, sizeof out), EX_OK);
	print_message("%s", out);
	assert_non_null(strstr(out, "NODE"));
	for (int i = 0; i < S_NODES; i++) {
		char line[64];
		snprintf(line, sizeof line, "n%d               %-15s", i, netns_node_addr(f->c, i));
		assert_non_null(strstr(out, line));
	}
	/* anyone may list and ping */
	Plexus__NodeListReply *list = s_list(f->intruder, 0);
	assert_string_equal(list->node, "n0");
	assert_int_equal(list->n_services, 0);
	protobuf_c_message_free_unpacked(&list->base, NULL);
	Plexus__IpcPing ping = PLEXUS__IPC_PING__INIT;
	ping.sequence = 42;
	assert_int_equal(
	    s_call(f->intruder, "node.n1", PLEXUS__IPC_TYPE__IPC_PING, &ping.base, NULL), 0);
	f->passed = true;
}

static void test_sigkill_is_reported(void **state)
{
	fixture *f = *state;
	int64_t pid = 0;
	assert_int_equal(
	    s_start(f->rs, 0, "sleeper", 7, (char *[]){"/bin/sleep", "30", NULL}, &pid), 0);
	assert_true(pid > 0);
	assert_true(s_same_netns(pid, netns_ns_path(f->c, 0)));
	assert_int_equal(getpgid((pid_t)pid), (pid_t)pid);
	assert_true(s_environ_has(pid, "PLEXUS_LABEL=sleeper"));
	assert_true(s_environ_has(pid, "PLEXUS_GENERATION=7"));
	assert_true(s_environ_has(pid, "PLEXUS_NODE=n0"));
	assert_true(s_environ_has(pid, "PLEXUS_CLUSTER=" S_CLUSTER));
	assert_true(s_environ_has(pid, "SERVICE_SETTING=on"));
	Plexus__NodeListReply *list = s_list(f->rs, 0);
	Plexus__NodeService *s = s_find(list, "sleeper");
	assert_non_null(s);
	assert_int_equal(s->state, PLEXUS__SERVICE_STATE__SERVICE_RUNNING);
	assert_int_equal(s->pid, pid);
	assert_int_equal(s->generation, 7);
	assert_null(s->last_exit);
	protobuf_c_message_free_unpacked(&list->base, NULL);
	/* the node record counts it at its next refresh (every TTL/2) */
	int64_t counted = -1;
	for (int64_t end = s_now_ms() + S_TTL * 1000 + 500; counted != 1 && s_now_ms() < end;) {
		usleep(50 * 1000);
		counted = s_record_int(f, "n0", "services");
	}
	assert_int_equal(counted, 1);

	int64_t t0 = s_now_ms();
	assert_int_equal(s_signal(f->rs, 0, "sleeper", SIGKILL), 0);
	Plexus__NodeExit *e = s_expect_exit(f->rs, 1000, 0);
	int64_t took = s_now_ms() - t0;
	assert_non_null(e);
	print_message("NODE_EXIT after SIGKILL reached rs in %" PRId64 " ms\n", took);
	assert_true(took < 1000);
	assert_string_equal(e->label, "sleeper");
	assert_int_equal(e->generation, 7);
	assert_int_equal(e->pid, pid);
	assert_true(e->signaled);
	assert_int_equal(e->status, SIGKILL);
	assert_string_equal(e->node, "n0");
	protobuf_c_message_free_unpacked(&e->base, NULL);
	assert_true(netns_pid_gone((pid_t)pid));

	list = s_list(f->rs, 0);
	s = s_find(list, "sleeper");
	assert_non_null(s);
	assert_int_equal(s->state, PLEXUS__SERVICE_STATE__SERVICE_EXITED);
	assert_non_null(s->last_exit);
	assert_true(s->last_exit->signaled);
	assert_int_equal(s->last_exit->status, SIGKILL);
	protobuf_c_message_free_unpacked(&list->base, NULL);
	assert_int_equal(s_signal(f->rs, 0, "sleeper", SIGKILL), -ESRCH);
	f->passed = true;
}

static void test_exit_status_and_log(void **state)
{
	fixture *f = *state;
	int64_t pid = 0;
	char *argv[] = {"/bin/sh", "-c", "echo hello from $PLEXUS_LABEL; exit 3", NULL};
	int64_t t0 = s_now_ms();
	assert_int_equal(s_start(f->rs, 0, "three", 1, argv, &pid), 0);
	/* refuse the first report: it must come again, then stop once answered */
	Plexus__NodeExit *e = s_expect_exit(f->rs, 1000, -EAGAIN);
	assert_non_null(e);
	print_message("NODE_EXIT of a normal exit reached rs %" PRId64 " ms after START\n",
	              s_now_ms() - t0);
	assert_false(e->signaled);
	assert_int_equal(e->status, 3);
	assert_int_equal(e->pid, pid);
	assert_string_equal(e->label, "three");
	protobuf_c_message_free_unpacked(&e->base, NULL);
	int64_t t1 = s_now_ms();
	e = s_expect_exit(f->rs, 2500, 0);
	assert_non_null(e);
	print_message("unanswered report sent again after %" PRId64 " ms\n", s_now_ms() - t1);
	assert_int_equal(e->pid, pid);
	assert_int_equal(e->status, 3);
	protobuf_c_message_free_unpacked(&e->base, NULL);
	assert_null(s_expect_exit(f->rs, 1500, 0));

	char path[400];
	snprintf(path, sizeof path, "%s/three.log", f->dir);
	assert_true(s_file_has(path, "hello from three\n"));
	f->passed = true;
}

static void test_policy_and_bad_requests(void **state)
{
	fixture *f = *state;
	int64_t pid = 0;
	char *sleep_argv[] = {"/bin/sleep", "30", NULL};
	assert_int_equal(s_start(f->intruder, 0, "evil", 1, sleep_argv, &pid), -PLX_ECALLDENIED);
	assert_int_equal(pid, 0);
	assert_int_equal(s_signal(f->intruder, 0, "evil", SIGKILL), -PLX_ECALLDENIED);
	Plexus__NodeStop stop = PLEXUS__NODE_STOP__INIT;
	stop.label = "evil";
	assert_int_equal(
	    s_call(f->intruder, "node.n0", PLEXUS__NODE_TYPE__NODE_STOP, &stop.base, NULL),
	    -PLX_ECALLDENIED);
	assert_int_equal(s_call(f->intruder, "node.n0", PLEXUS__IPC_TYPE__IPC_SHUTDOWN, NULL, NULL),
	                 -PLX_ECALLDENIED);
	Plexus__NodeListReply *list = s_list(f->intruder, 0);
	assert_null(s_find(list, "evil"));
	protobuf_c_message_free_unpacked(&list->base, NULL);

	/* bad starts from rs */
	assert_int_equal(s_start(f->rs, 0, "../x", 1, sleep_argv, &pid), -EINVAL);
	assert_int_equal(s_start(f->rs, 0, "nogen", 0, sleep_argv, &pid), -EINVAL);
	Plexus__NodeStart bad = PLEXUS__NODE_START__INIT;
	bad.label = "badenv";
	bad.program = "/bin/sleep";
	bad.generation = 1;
	bad.env = (char *[]){"NOEQUALS"};
	bad.n_env = 1;
	assert_int_equal(s_call(f->rs, "node.n0", PLEXUS__NODE_TYPE__NODE_START, &bad.base, NULL),
	                 -EINVAL);
	assert_int_equal(
	    s_start(f->rs, 0, "missing", 1, (char *[]){"/nonexistent/prog", NULL}, &pid), -ENOENT);
	assert_int_equal(pid, 0);
	assert_int_equal(s_start(f->rs, 0, "twice", 1, sleep_argv, &pid), 0);
	int64_t other = 0;
	assert_int_equal(s_start(f->rs, 0, "twice", 2, sleep_argv, &other), -EEXIST);
	assert_int_equal(s_signal(f->rs, 0, "twice", 0), -EINVAL);
	assert_int_equal(s_signal(f->rs, 0, "nobody", SIGTERM), -ESRCH);
	stop.label = "nobody";
	assert_int_equal(s_call(f->rs, "node.n0", PLEXUS__NODE_TYPE__NODE_STOP, &stop.base, NULL),
	                 -ESRCH);
	assert_false(netns_pid_gone((pid_t)pid));
	f->passed = true;
}

/* NODE_TRACE_READ: the trace lines of the node's log files in the window asked, to operators'
 * commands (plexus-*) only; other lines and lines without t= never. */
static void test_trace_read(void **state)
{
	fixture *f = *state;
	char path[400];
	snprintf(path, sizeof path, "%s/traced.log", f->dir);
	FILE *log = fopen(path, "w");
	assert_non_null(log);
	fputs("plexus-x x/1 trace: > request FS_READ(1) a/1 -> b/1 id=1 size=1 status=0 "
	      "latency=0us t=100\n"
	      "plexus-x x/1: an ordinary line t=250\n"
	      "plexus-x x/1 trace: > request FS_READ(1) a/1 -> b/1 id=2 size=1 status=0 "
	      "latency=0us t=300\n"
	      "plexus-x x/1 trace: > request FS_READ(1) a/1 -> b/1 id=3 size=1 status=0 "
	      "latency=0us\n",
	      log);
	fclose(log);
	Plexus__NodeTraceRead q = PLEXUS__NODE_TRACE_READ__INIT;
	q.since_us = 200;
	q.until_us = 1000;
	assert_int_equal(
	    s_call(f->intruder, "node.n0", PLEXUS__NODE_TYPE__NODE_TRACE_READ, &q.base, NULL),
	    -PLX_ECALLDENIED);
	plx_ep *op = plx_ep_new(f->ctx, "plexus-test", 1);
	assert_non_null(op);
	plx_msg *reply = NULL;
	assert_int_equal(s_call(op, "node.n0", PLEXUS__NODE_TYPE__NODE_TRACE_READ, &q.base, &reply),
	                 0);
	const char *want = "plexus-x x/1 trace: > request FS_READ(1) a/1 -> b/1 id=2 size=1 "
	                   "status=0 latency=0us t=300\n";
	assert_int_equal(reply->data_size, strlen(want));
	assert_memory_equal(reply->data, want, strlen(want));
	Plexus__NodeTraceReadReply *r =
	    plexus__node_trace_read_reply__unpack(NULL, reply->body_size, reply->body);
	assert_non_null(r);
	assert_int_equal(r->lines, 1);
	assert_false(r->truncated);
	assert_true(r->files >= 1);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	plx_msg_destroy(&reply);
	q.since_us = 0;
	q.until_us = 0;
	q.max_bytes = 50; /* not even one line fits */
	assert_int_equal(s_call(op, "node.n0", PLEXUS__NODE_TYPE__NODE_TRACE_READ, &q.base, &reply),
	                 0);
	assert_int_equal(reply->data_size, 0);
	r = plexus__node_trace_read_reply__unpack(NULL, reply->body_size, reply->body);
	assert_non_null(r);
	assert_true(r->truncated);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	plx_msg_destroy(&reply);
	plx_ep_destroy(&op);
	f->passed = true;
}

/* STOP: SIGTERM ends a plain service; one that ignores SIGTERM gets SIGKILL after the grace. */
static void test_stop(void **state)
{
	fixture *f = *state;
	int64_t pid = 0, stubborn = 0;
	assert_int_equal(s_start(f->rs, 1, "plain", 1, (char *[]){"/bin/sleep", "30", NULL}, &pid),
	                 0);
	char *argv[] = {"/bin/sh", "-c", "trap '' TERM; echo ready; sleep 30 & wait; sleep 30",
	                NULL};
	assert_int_equal(s_start(f->rs, 1, "stubborn", 1, argv, &stubborn), 0);
	char path[400];
	snprintf(path, sizeof path, "%s/stubborn.log", f->dir);
	for (int64_t end = s_now_ms() + 3000; !s_file_has(path, "ready") && s_now_ms() < end;)
		usleep(10 * 1000);
	assert_true(s_file_has(path, "ready"));

	Plexus__NodeStop stop = PLEXUS__NODE_STOP__INIT;
	stop.label = "plain";
	stop.grace_ms = 300;
	plx_msg *reply = NULL;
	assert_int_equal(s_call(f->rs, "node.n1", PLEXUS__NODE_TYPE__NODE_STOP, &stop.base, &reply),
	                 0);
	Plexus__NodeExit *e =
	    (Plexus__NodeExit *)plx_msg_unpack(reply, &plexus__node_exit__descriptor);
	assert_non_null(e);
	assert_true(e->signaled);
	assert_int_equal(e->status, SIGTERM);
	protobuf_c_message_free_unpacked(&e->base, NULL);
	plx_msg_destroy(&reply);

	stop.label = "stubborn";
	int64_t t0 = s_now_ms();
	assert_int_equal(s_call(f->rs, "node.n1", PLEXUS__NODE_TYPE__NODE_STOP, &stop.base, &reply),
	                 0);
	int64_t took = s_now_ms() - t0;
	e = (Plexus__NodeExit *)plx_msg_unpack(reply, &plexus__node_exit__descriptor);
	assert_non_null(e);
	print_message("stubborn service stopped after %" PRId64 " ms (grace 300)\n", took);
	assert_true(took >= 300);
	assert_true(e->signaled);
	assert_int_equal(e->status, SIGKILL);
	protobuf_c_message_free_unpacked(&e->base, NULL);
	plx_msg_destroy(&reply);
	/* both exits were reported to rs too */
	for (int i = 0; i < 2; i++) {
		e = s_expect_exit(f->rs, 1000, 0);
		assert_non_null(e);
		protobuf_c_message_free_unpacked(&e->base, NULL);
	}
	assert_true(netns_pid_gone((pid_t)pid));
	assert_true(netns_pid_gone((pid_t)stubborn));
	f->passed = true;
}

/* With rs gone from the registry a report waits; it arrives once a new rs is published. */
static void test_report_waits_for_rs(void **state)
{
	fixture *f = *state;
	const plx_name *name = plx_ep_name(f->rs);
	assert_int_equal(plx_endpoint_withdraw(f->etcd, S_CLUSTER, "rs", name->generation), 0);
	/* wait until the node's cache dropped rs: a START from us still works (we send), but the
	 * node cannot answer through a route it does not need, so look at our own cache */
	for (int64_t end = s_now_ms() + 2000;
	     plx_route_lookup(f->ctx, "rs", NULL, NULL, 0) == 0 && s_now_ms() < end;)
		usleep(10 * 1000);
	usleep(200 * 1000); /* the node's watch is as quick as ours; give it a margin */
	int64_t pid = 0;
	assert_int_equal(
	    s_start(f->rs, 0, "orphan", 1, (char *[]){"/bin/sh", "-c", "exit 5", NULL}, &pid), 0);
	assert_null(s_expect_exit(f->rs, 700, 0)); /* no route to rs: nothing may arrive */
	plx_ep_destroy(&f->rs);
	f->rs = s_rs_new(f); /* a restarted RS: new generation */
	assert_non_null(f->rs);
	int64_t t0 = s_now_ms();
	Plexus__NodeExit *e = s_expect_exit(f->rs, 2000, 0);
	assert_non_null(e);
	print_message("queued report reached the new rs %" PRId64 " ms after it was published\n",
	              s_now_ms() - t0);
	assert_int_equal(e->pid, pid);
	assert_int_equal(e->status, 5);
	protobuf_c_message_free_unpacked(&e->base, NULL);
	f->passed = true;
}

static void test_killed_node_disappears(void **state)
{
	fixture *f = *state;
	assert_true(s_exists(f, "nodes", "n1"));
	int64_t t0 = s_now_ms();
	assert_int_equal(netns_kill_node(f->c, 1), 0);
	int64_t rec = s_until_key(f, "nodes", "n1", false, (S_TTL + 2) * 1000);
	int64_t ep = s_until_key(f, "ep", "node.n1", false, (S_TTL + 2) * 1000);
	int64_t took = s_now_ms() - t0;
	print_message("node record gone %" PRId64 " ms after the kill, endpoint too by %" PRId64
	              " ms (TTL %d s)\n",
	              rec, took, S_TTL);
	assert_true(rec >= 0 && ep >= 0);
	assert_true(took <= (S_TTL + 1) * 1000);
	for (int64_t end = s_now_ms() + 1000;
	     plx_route_lookup(f->ctx, "node.n1", NULL, NULL, 0) == 0 && s_now_ms() < end;)
		usleep(10 * 1000);
	assert_int_equal(plx_route_lookup(f->ctx, "node.n1", NULL, NULL, 0), -ENOENT);
	assert_true(s_exists(f, "nodes", "n0"));
	f->passed = true;
}

static void test_sigterm_stops_services(void **state)
{
	fixture *f = *state;
	int64_t pid = 0;
	assert_int_equal(s_start(f->rs, 0, "victim", 3, (char *[]){"/bin/sleep", "30", NULL}, &pid),
	                 0);
	int64_t t0 = s_now_ms();
	assert_int_equal(kill(f->node[0], SIGTERM), 0);
	int status = -1;
	assert_int_equal(netns_wait(f->c, f->node[0], &status, 5000), 0);
	int64_t took = s_now_ms() - t0;
	print_message("node exited %" PRId64 " ms after SIGTERM\n", took);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(netns_pid_gone((pid_t)pid));
	/* the lease was revoked on the way out: no waiting for the TTL */
	assert_false(s_exists(f, "nodes", "n0"));
	assert_false(s_exists(f, "ep", "node.n0"));
	assert_true(took < S_TTL * 1000);
	assert_true(s_exists(f, "nodes", "n1"));
	char *log = NULL;
	assert_int_equal(netns_read_log(f->c, 0, &log), 0);
	assert_non_null(strstr(log, "leaving: 1 services stopped"));
	free(log);
	f->passed = true;
}

/* IPC_SHUTDOWN from rs: the node answers, stops its service and leaves with its records. */
static void test_shutdown_from_rs(void **state)
{
	fixture *f = *state;
	int64_t pid = 0;
	assert_int_equal(s_start(f->rs, 1, "busy", 1, (char *[]){"/bin/sleep", "30", NULL}, &pid),
	                 0);
	assert_int_equal(s_call(f->rs, "node.n1", PLEXUS__IPC_TYPE__IPC_SHUTDOWN, NULL, NULL), 0);
	int status = -1;
	assert_int_equal(netns_wait(f->c, f->node[1], &status, 5000), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(netns_pid_gone((pid_t)pid));
	assert_false(s_exists(f, "nodes", "n1"));
	assert_false(s_exists(f, "ep", "node.n1"));
	assert_true(s_exists(f, "nodes", "n0"));
	f->passed = true;
}

/* A node cut off from etcd kills its services before its lease can expire there (fence.c):
 * the sleeper on n1 is gone before n1's record vanishes. Once the link is back, the node
 * kernel finds its lease expired and starts again (same pid) as a new generation, which
 * registers and starts services; its log says why. */
static void test_cut_node_fences_itself(void **state)
{
	fixture *f = *state;
	int64_t pid = 0;
	uint64_t old_gen = 0, new_gen = 0;
	assert_int_equal(plx_route_lookup(f->ctx, "node.n1", &old_gen, NULL, 0), 0);
	assert_int_equal(
	    s_start(f->rs, 1, "sleeper", 9, (char *[]){"/bin/sleep", "60", NULL}, &pid), 0);
	int64_t t0 = s_now_ms(), killed = -1, expired = -1;
	assert_int_equal(netns_cut_link(f->c, 1), 0);
	while ((killed < 0 || expired < 0) && s_now_ms() - t0 < (S_TTL + 3) * 1000) {
		if (killed < 0 && netns_pid_gone((pid_t)pid))
			killed = s_now_ms() - t0;
		if (expired < 0 && !s_exists(f, "nodes", "n1"))
			expired = s_now_ms() - t0;
		usleep(10 * 1000);
	}
	print_message("link cut: service killed after %" PRId64
	              " ms, node record gone after %" PRId64 " ms (TTL %d s)\n",
	              killed, expired, S_TTL);
	assert_true(killed >= 0 && expired >= 0);
	assert_true(killed < expired);
	assert_int_equal(netns_restore_link(f->c, 1), 0);
	assert_true(s_until_key(f, "nodes", "n1", true, (S_TTL + 5) * 1000) >= 0);
	for (int64_t end = s_now_ms() + 3000; new_gen <= old_gen && s_now_ms() < end;
	     usleep(20 * 1000))
		plx_route_lookup(f->ctx, "node.n1", &new_gen, NULL, 0);
	assert_true(new_gen > old_gen);
	assert_false(netns_pid_gone(f->node[1])); /* the same process, executed again */
	char path[64], comm[32] = "";
	snprintf(path, sizeof path, "/proc/%d/comm", (int)f->node[1]);
	FILE *c = fopen(path, "re");
	assert_non_null(c);
	assert_non_null(fgets(comm, sizeof comm, c));
	fclose(c);
	assert_string_equal(comm, "plexus-node\n"); /* its name kept for ps, pkill and drills */
	int rc = s_start(f->rs, 1, "sleeper", 10, (char *[]){"/bin/sleep", "60", NULL}, &pid);
	assert_int_equal(rc, 0);
	char *log = NULL;
	assert_int_equal(netns_read_log(f->c, 1, &log), 0);
	assert_non_null(strstr(log, "warn: fenced: no lease renewal for too long"));
	assert_non_null(strstr(log, "starting again as a new generation"));
	free(log);
	f->passed = true;
}

#define S_TEST(fn) cmocka_unit_test_setup_teardown(fn, s_setup, s_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    S_TEST(test_nodes_register),
	    S_TEST(test_sigkill_is_reported),
	    S_TEST(test_exit_status_and_log),
	    S_TEST(test_policy_and_bad_requests),
	    S_TEST(test_trace_read),
	    S_TEST(test_stop),
	    S_TEST(test_report_waits_for_rs),
	    S_TEST(test_killed_node_disappears),
	    S_TEST(test_cut_node_fences_itself),
	    S_TEST(test_sigterm_stops_services),
	    S_TEST(test_shutdown_from_rs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
