/*
 * test-netns.c — the multi-node harness against real network namespaces: every node reaches
 * every other node and the hub, and nothing outside; a process in a node reaches etcd on the
 * hub; a cut link isolates a node until it is restored; a killed node loses its address and
 * its processes, and comes back when revived; nodes killed together leave none of their
 * processes, namespaces or links, and a dead node cannot be killed again; destroy leaves no
 * namespace, interface, process or file; a run killed with SIGKILL leaves state that the reaper
 * removes (and a live run's state is left alone); without root the harness refuses with EPERM; exec
 * errors; logs are saved on request and when a run is marked failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "netns_harness.h"

#define S_PORT       7000
#define S_NODES      4
#define S_PROBE_MS   300
#define S_MAX_PLACES (S_NODES + 1)

typedef struct fixture {
	netns_cluster *c;
	bool passed; /* set last by each test; a failed test keeps its logs */
} fixture;

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool s_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static bool s_wait_gone(pid_t pid, int ms)
{
	for (int64_t end = s_now_ms() + ms; !netns_pid_gone(pid) && s_now_ms() < end;)
		usleep(5 * 1000);
	return netns_pid_gone(pid);
}

static const char *s_addr(netns_cluster *c, int place)
{
	return place == NETNS_HUB ? netns_hub_addr(c) : netns_node_addr(c, place);
}

/* Probes until probe's result is what want says (reachable or not) or ms pass. Returns the
 * last result; *took gets the time it took. */
static int s_probe_until(netns_cluster *c, int from, const char *addr, bool want, int ms,
                         int64_t *took)
{
	int64_t start = s_now_ms();
	int rc;
	do
		rc = netns_tcp_probe(c, from, addr, S_PORT, S_PROBE_MS);
	while ((rc == 0) != want && s_now_ms() - start < ms);
	if (took)
		*took = s_now_ms() - start;
	return rc;
}

static bool s_unreachable(int rc)
{
	return rc == -ETIMEDOUT || rc == -EHOSTUNREACH || rc == -ENETUNREACH;
}

/* ---- fixture ---- */

static int s_setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->c = netns_cluster_new(S_NODES, NULL);
	if (!f->c) {
		print_error("netns_cluster_new: %s (%s)\n", netns_error(), strerror(errno));
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int s_teardown(void **state)
{
	fixture *f = *state;
	if (!f)
		return 0;
	if (!f->passed && f->c)
		netns_cluster_failed(f->c);
	netns_cluster_destroy(&f->c);
	free(f);
	return 0;
}

/* ---- echo between namespaces ---- */

static int s_listen(netns_cluster *c, int place)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(S_PORT)};
	int one = 1, fd = netns_socket(c, place, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(inet_pton(AF_INET, s_addr(c, place), &sa.sin_addr), 1);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(fd, 8), 0);
	return fd;
}

static void s_timeouts(int fd)
{
	struct timeval tv = {.tv_sec = 2};
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
}

/* Connects from place from to the listener lfd of place to, sends a line, gets it echoed. */
static void s_echo(netns_cluster *c, int from, int to, int lfd)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(S_PORT)}, peer;
	socklen_t plen = sizeof peer;
	char msg[64], back[64] = {0}, got[64] = {0};
	int len = snprintf(msg, sizeof msg, "hello from %d to %d", from, to);
	int fd = netns_socket(c, from, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	s_timeouts(fd);
	inet_pton(AF_INET, s_addr(c, to), &sa.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	struct pollfd pfd = {.fd = lfd, .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	int afd = accept(lfd, (struct sockaddr *)&peer, &plen);
	assert_true(afd >= 0);
	s_timeouts(afd);
	/* the peer address the listener sees is the sender's own address on the bridge */
	assert_string_equal(inet_ntop(AF_INET, &peer.sin_addr, back, sizeof back), s_addr(c, from));
	assert_int_equal(send(fd, msg, (size_t)len, 0), len);
	assert_int_equal(recv(afd, back, (size_t)len, MSG_WAITALL), len);
	assert_int_equal(send(afd, back, (size_t)len, 0), len);
	assert_int_equal(recv(fd, got, (size_t)len, MSG_WAITALL), len);
	assert_memory_equal(got, msg, (size_t)len);
	close(afd);
	close(fd);
}

static void test_every_place_reaches_every_other(void **state)
{
	fixture *f = *state;
	netns_cluster *c = f->c;
	int places[S_MAX_PLACES] = {NETNS_HUB, 0, 1, 2, 3};
	for (int t = 0; t < S_MAX_PLACES; t++) {
		int lfd = s_listen(c, places[t]);
		for (int s = 0; s < S_MAX_PLACES; s++)
			if (s != t)
				s_echo(c, places[s], places[t], lfd);
		close(lfd);
	}
	/* No route leaves the cluster: a documentation address fails at once, sending nothing. */
	assert_int_equal(netns_tcp_probe(c, 0, "192.0.2.1", 9, 1000), -ENETUNREACH);
	assert_int_equal(netns_tcp_probe(c, NETNS_HUB, "192.0.2.1", 9, 1000), -ENETUNREACH);
	f->passed = true;
}

/* ---- etcd on the hub ---- */

static bool s_same_netns(pid_t pid, const char *nspath)
{
	char path[64];
	struct stat a, b;
	snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pid);
	return stat(path, &a) == 0 && stat(nspath, &b) == 0 && a.st_ino == b.st_ino &&
	       a.st_dev == b.st_dev;
}

static void s_etcdctl(netns_cluster *c, int node, char *const args[])
{
	char *env[] = {"ETCDCTL_API=3", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
	char *argv[16] = {"etcdctl", "--endpoints", (char *)netns_hub_etcd_endpoints(c),
	                  "--dial-timeout=5s", "--command-timeout=10s"};
	for (int i = 0; args[i]; i++)
		argv[5 + i] = args[i];
	int status = -1;
	int rc = netns_run(c, node, argv, env, 30000, &status);
	if (rc < 0)
		print_error("etcdctl: %s\n", netns_error());
	assert_int_equal(rc, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_node_reaches_etcd_on_hub(void **state)
{
	fixture *f = *state;
	netns_cluster *c = f->c;
	int64_t t0 = s_now_ms();
	int rc = netns_hub_etcd_start(c, 1);
	if (rc < 0)
		print_error("netns_hub_etcd_start: %s\n", netns_error());
	assert_int_equal(rc, 0);
	print_message("hub etcd serving after %lld ms\n", (long long)(s_now_ms() - t0));
	assert_int_equal(netns_hub_etcd_start(c, 1), -EALREADY);
	char prefix[64];
	snprintf(prefix, sizeof prefix, "http://%s:", netns_hub_addr(c));
	assert_memory_equal(netns_hub_etcd_endpoints(c), prefix, strlen(prefix));
	pid_t etcd = plx_etcdh_pid(netns_hub_etcd(c), 0);
	assert_true(etcd > 0);
	assert_true(s_same_netns(etcd, netns_ns_path(c, NETNS_HUB)));

	char value[64], *log = NULL;
	snprintf(value, sizeof value, "netns-value-%d-%lld", (int)getpid(), (long long)t0);
	s_etcdctl(c, 2, (char *[]){"put", "/plexus/test/netns", value, NULL});
	s_etcdctl(c, 2, (char *[]){"get", "--print-value-only", "/plexus/test/netns", NULL});
	assert_int_equal(netns_read_log(c, 2, &log), 0);
	assert_non_null(strstr(log, "OK\n"));
	assert_non_null(strstr(log, value));
	free(log);
	assert_int_equal(netns_read_log(c, 1, &log), -ENOENT); /* node 1 ran nothing */
	f->passed = true;
}

/* ---- links ---- */

static void test_cut_and_restore_link(void **state)
{
	fixture *f = *state;
	netns_cluster *c = f->c;
	const char *a3 = netns_node_addr(c, 3);
	int64_t down_ms, up_ms;
	assert_int_equal(netns_tcp_probe(c, 0, a3, S_PORT, 2000), 0);
	assert_int_equal(netns_cut_link(c, 3), 0);
	int rc = s_probe_until(c, 0, a3, false, 3000, &down_ms);
	assert_true(s_unreachable(rc));
	assert_true(s_unreachable(netns_tcp_probe(c, 3, netns_hub_addr(c), S_PORT, S_PROBE_MS)));
	assert_int_equal(netns_tcp_probe(c, 0, netns_node_addr(c, 1), S_PORT, 2000), 0);
	assert_int_equal(netns_restore_link(c, 3), 0);
	assert_int_equal(s_probe_until(c, 0, a3, true, 5000, &up_ms), 0);
	assert_int_equal(netns_tcp_probe(c, 3, netns_hub_addr(c), S_PORT, 2000), 0);
	print_message("cut: unreachable after %lld ms; restored: reachable after %lld ms\n",
	              (long long)down_ms, (long long)up_ms);
	assert_int_equal(netns_cut_link(c, 9), -EINVAL);
	f->passed = true;
}

/* ---- killing a node ---- */

/* Starts `sleep 300` in place, and a second one that its shell leaves behind (not a child of
 * ours, not in our process group); sets both pids. */
static void s_start_sleepers(netns_cluster *c, int place, pid_t *direct, pid_t *daemon)
{
	char *sleeper[] = {"sleep", "300", NULL};
	char *spawner[] = {"sh", "-c", "sleep 300 </dev/null >/dev/null 2>&1 & echo daemon=$!",
	                   NULL};
	int status = -1;
	char *log = NULL;
	assert_int_equal(netns_exec(c, place, sleeper, NULL, direct), 0);
	assert_int_equal(netns_run(c, place, spawner, NULL, 5000, &status), 0);
	assert_int_equal(status, 0);
	assert_int_equal(netns_read_log(c, place, &log), 0);
	const char *at = strrchr(log, '=');
	assert_non_null(at);
	*daemon = (pid_t)atoi(at + 1);
	free(log);
	assert_true(*daemon > 0);
	assert_false(netns_pid_gone(*direct));
	assert_false(netns_pid_gone(*daemon));
	assert_true(s_same_netns(*daemon, netns_ns_path(c, place)));
}

static int s_ifindex(void *name)
{
	return (int)if_nametoindex(name);
}

static void test_kill_and_revive_node(void **state)
{
	fixture *f = *state;
	netns_cluster *c = f->c;
	const char *a1 = netns_node_addr(c, 1);
	pid_t direct, daemon, pid;
	s_start_sleepers(c, 1, &direct, &daemon);
	assert_int_equal(netns_tcp_probe(c, 0, a1, S_PORT, 2000), 0);
	assert_true(netns_call(c, NETNS_HUB, s_ifindex, (void *)netns_veth(c, 1)) > 0);

	int64_t t0 = s_now_ms();
	int rc = netns_kill_node(c, 1);
	if (rc < 0)
		print_error("netns_kill_node: %s\n", netns_error());
	assert_int_equal(rc, 0);
	print_message("kill node: %lld ms\n", (long long)(s_now_ms() - t0));
	assert_true(s_wait_gone(direct, 2000));
	assert_true(s_wait_gone(daemon, 2000));
	assert_false(netns_node_up(c, 1));
	assert_false(s_exists(netns_ns_path(c, 1)));
	assert_int_equal(netns_call(c, NETNS_HUB, s_ifindex, (void *)netns_veth(c, 1)), 0);
	assert_true(s_unreachable(netns_tcp_probe(c, 0, a1, S_PORT, 1000)));
	assert_int_equal(netns_tcp_probe(c, 0, netns_node_addr(c, 2), S_PORT, 2000), 0);
	char *sleeper[] = {"sleep", "1", NULL};
	assert_int_equal(netns_exec(c, 1, sleeper, NULL, &pid), -EHOSTDOWN);
	assert_int_equal(netns_cut_link(c, 1), -EHOSTDOWN);
	assert_int_equal(netns_kill_node(c, 1), -EHOSTDOWN);

	assert_int_equal(netns_revive_node(c, 1), 0);
	assert_int_equal(netns_revive_node(c, 1), -EALREADY);
	assert_true(netns_node_up(c, 1));
	int64_t back_ms;
	assert_int_equal(s_probe_until(c, 0, a1, true, 5000, &back_ms), 0);
	assert_int_equal(netns_tcp_probe(c, 1, netns_hub_addr(c), S_PORT, 2000), 0);
	print_message("revived node reachable after %lld ms\n", (long long)back_ms);
	f->passed = true;
}

/* Kills nodes 1..3 together: none of their processes, namespaces or links is left when
 * netns_kill_nodes returns; bad lists kill nothing; dead nodes cannot be killed again. */
static void test_kill_nodes_at_once(void **state)
{
	fixture *f = *state;
	netns_cluster *c = f->c;
	pid_t direct[4], daemon[4];
	for (int i = 1; i <= 3; i++)
		s_start_sleepers(c, i, &direct[i], &daemon[i]);
	const int twice[] = {1, 1}, outside[] = {1, 9}, nodes[] = {1, 2, 3};
	assert_int_equal(netns_kill_nodes(c, twice, 2), -EINVAL);
	assert_int_equal(netns_kill_nodes(c, outside, 2), -EINVAL);
	assert_int_equal(netns_kill_nodes(c, nodes, 0), -EINVAL);
	assert_int_equal(netns_kill_nodes(c, NULL, 1), -EINVAL);
	assert_false(netns_pid_gone(direct[1]) || netns_pid_gone(daemon[1]));
	assert_true(netns_node_up(c, 1));

	uint64_t before = (uint64_t)s_now_ms() * 1000000u;
	int64_t t0 = s_now_ms();
	int rc = netns_kill_nodes(c, nodes, 3);
	if (rc < 0)
		print_error("netns_kill_nodes: %s\n", netns_error());
	assert_int_equal(rc, 0);
	print_message("kill 3 nodes: %lld ms\n", (long long)(s_now_ms() - t0));
	assert_true(netns_kill_signalled_ns(c) >= before);
	assert_true(netns_kill_signalled_ns(c) <= (uint64_t)(s_now_ms() + 1) * 1000000u);
	for (int i = 1; i <= 3; i++) {
		assert_true(netns_pid_gone(direct[i]));
		assert_true(netns_pid_gone(daemon[i]));
		assert_false(netns_node_up(c, i));
		assert_false(s_exists(netns_ns_path(c, i)));
		assert_int_equal(netns_call(c, NETNS_HUB, s_ifindex, (void *)netns_veth(c, i)), 0);
	}
	assert_int_equal(netns_tcp_probe(c, 0, netns_hub_addr(c), S_PORT, 2000), 0);

	const int with_dead[] = {0, 2};
	assert_int_equal(netns_kill_nodes(c, nodes + 1, 1), -EHOSTDOWN);
	assert_int_equal(netns_kill_node(c, 3), -EHOSTDOWN);
	assert_int_equal(netns_kill_nodes(c, with_dead, 2), -EHOSTDOWN);
	assert_true(netns_node_up(c, 0)); /* nothing killed */
	for (int i = 1; i <= 3; i++)
		assert_int_equal(netns_revive_node(c, i), 0);
	int64_t back_ms;
	assert_int_equal(s_probe_until(c, 0, netns_node_addr(c, 3), true, 5000, &back_ms), 0);
	f->passed = true;
}

/* ---- destroy ---- */

/* Runs argv and returns its stdout (caller frees). */
static char *s_capture(char *const argv[])
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	char *buf = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&buf, &size);
	char chunk[4096];
	ssize_t n;
	while ((n = read(p[0], chunk, sizeof chunk)) > 0)
		fwrite(chunk, 1, (size_t)n, out);
	fclose(out);
	close(p[0]);
	int status;
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return buf;
}

/* True when a line of list starts with word followed by a blank, ':' or '@' (or ends). */
static bool s_has_word(const char *list, const char *word)
{
	size_t len = strlen(word);
	for (const char *l = list; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, word, len) == 0 && strchr(" :@\n", l[len]))
			return true;
	return false;
}

/* The interface names of `ip -o link show` output, one a line (caller frees). */
static char *s_link_names(void)
{
	char *out = s_capture((char *[]){"ip", "-o", "link", "show", NULL});
	char *names = calloc(1, strlen(out) + 1), *w = names;
	for (char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *name = strstr(l, ": ");
		size_t len = name ? strcspn(name + 2, ":@\n") : 0;
		if (name)
			w += sprintf(w, "%.*s\n", (int)len, name + 2);
	}
	free(out);
	return names;
}

/* Checks, from inside the (still referenced) hub namespace, that every node's link went. */
static void s_assert_links_gone(int hubfd, char veths[][IFNAMSIZ], int n, const char *bridge)
{
	int own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	assert_true(own >= 0);
	assert_int_equal(setns(hubfd, CLONE_NEWNET), 0);
	int left = n;
	for (int64_t end = s_now_ms() + 10000; left > 0 && s_now_ms() < end; usleep(5000)) {
		left = 0;
		for (int i = 0; i < n; i++)
			left += if_nametoindex(veths[i]) != 0;
	}
	bool bridge_there = if_nametoindex(bridge) != 0;
	assert_int_equal(setns(own, CLONE_NEWNET), 0);
	close(own);
	assert_int_equal(left, 0);
	assert_true(bridge_there); /* the namespace we looked into was the hub */
}

static void test_destroy_leaves_nothing(void **state)
{
	fixture *f = *state;
	netns_cluster *c = f->c;
	char *ns_before = s_capture((char *[]){"ip", "netns", "list", NULL});
	char *links_before = s_link_names();
	char names[S_MAX_PLACES][96], veths[S_NODES][IFNAMSIZ], run_dir[256], state_file[128];
	char bridge[IFNAMSIZ], mine[32];
	pid_t pids[2 * S_MAX_PLACES];
	int places[S_MAX_PLACES] = {NETNS_HUB, 0, 1, 2, 3};
	for (int i = 0; i < S_MAX_PLACES; i++) {
		snprintf(names[i], sizeof names[i], "%s",
		         strrchr(netns_ns_path(c, places[i]), '/') + 1);
		s_start_sleepers(c, places[i], &pids[2 * i], &pids[2 * i + 1]);
	}
	for (int i = 0; i < S_NODES; i++)
		snprintf(veths[i], sizeof veths[i], "%s", netns_veth(c, i));
	assert_int_equal(netns_hub_etcd_start(c, 1), 0);
	pid_t etcd = plx_etcdh_pid(netns_hub_etcd(c), 0);
	char etcd_dir[256];
	snprintf(etcd_dir, sizeof etcd_dir, "%s", plx_etcdh_dir(netns_hub_etcd(c)));
	snprintf(run_dir, sizeof run_dir, "%s", netns_run_dir(c));
	/* names[0] is plx-<pid>-<tag>-hub: the bridge is b<tag>, the state file <pid>-<tag> */
	int tag_at = (int)(strrchr(names[0], '-') - names[0]) - 6;
	snprintf(bridge, sizeof bridge, "b%.6s", names[0] + tag_at);
	snprintf(state_file, sizeof state_file, "/run/plexus-netns/%d-%.6s.state", (int)getpid(),
	         names[0] + tag_at);
	snprintf(mine, sizeof mine, "plx-%d-", (int)getpid());
	assert_true(s_exists(state_file));
	assert_true(s_exists(run_dir));
	int hubfd = open(netns_ns_path(c, NETNS_HUB), O_RDONLY | O_CLOEXEC);
	assert_true(hubfd >= 0);

	netns_cluster_destroy(&f->c);
	assert_null(f->c);

	char *ns_after = s_capture((char *[]){"ip", "netns", "list", NULL});
	char *links_after = s_link_names();
	for (int i = 0; i < S_MAX_PLACES; i++) {
		assert_true(s_has_word(ns_before, names[i]));
		assert_false(s_has_word(ns_after, names[i]));
	}
	/* whatever appeared meanwhile belongs to other runs (ctest -j), never to us */
	for (char *l = ns_after; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		assert_false(strncmp(l, mine, strlen(mine)) == 0);
	assert_string_equal(links_before, links_after);
	for (int i = 0; i < 2 * S_MAX_PLACES; i++)
		assert_true(s_wait_gone(pids[i], 2000));
	assert_true(s_wait_gone(etcd, 2000));
	assert_false(s_exists(run_dir));
	assert_false(s_exists(etcd_dir));
	assert_false(s_exists(state_file));
	s_assert_links_gone(hubfd, veths, S_NODES, bridge);
	close(hubfd);
	free(ns_before), free(ns_after), free(links_before), free(links_after);
	f->passed = true;
}

/* ---- the reaper ---- */

/* In a child: builds a 2-node cluster with its state in state_dir, leaves a process behind in
 * node 0, starts one in node 1, reports "daemon direct hub n0 n1 rundir" on fd, waits. */
static void s_doomed_child(const char *state_dir, int fd)
{
	netns_options opts = {.state_dir = state_dir};
	char *spawner[] = {"sh", "-c", "sleep 300 </dev/null >/dev/null 2>&1 & echo daemon=$!",
	                   NULL};
	char *log = NULL;
	int status = -1, daemon = 0;
	pid_t direct;
	netns_cluster *c = netns_cluster_new(2, &opts);
	/* no cmocka assertions here: a failure would go on running the tests in this child */
	if (!c || netns_run(c, 0, spawner, NULL, 5000, &status) < 0 || status != 0 ||
	    netns_read_log(c, 0, &log) < 0 || sscanf(log, "daemon=%d", &daemon) != 1 ||
	    netns_exec(c, 1, (char *[]){"sleep", "300", NULL}, NULL, &direct) < 0)
		_exit(2);
	dprintf(fd, "%d %d %s %s %s %s\n", (int)daemon, (int)direct, netns_ns_path(c, NETNS_HUB),
	        netns_ns_path(c, 0), netns_ns_path(c, 1), netns_run_dir(c));
	close(fd);
	for (;;)
		pause();
}

typedef struct s_doomed {
	int daemon, direct;
	char ns[3][128];
	char run_dir[256];
} s_doomed;

static void s_read_report(int fd, s_doomed *d)
{
	char line[1024] = {0};
	size_t got = 0;
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	while (!strchr(line, '\n') && poll(&pfd, 1, 30000) == 1) {
		ssize_t n = read(fd, line + got, sizeof line - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	assert_int_equal(sscanf(line, "%d %d %127s %127s %127s %255s", &d->daemon, &d->direct,
	                        d->ns[0], d->ns[1], d->ns[2], d->run_dir),
	                 6);
}

static int s_count_state_files(const char *dir)
{
	char *out = s_capture((char *[]){"ls", "-A", (char *)dir, NULL});
	int n = 0;
	for (char *p = out; (p = strstr(p, ".state")) != NULL; p++)
		n++;
	free(out);
	return n;
}

static void test_reaper_after_sigkill(void **state)
{
	fixture *f = *state;
	char dir[] = "/tmp/plexus-netns-test-state-XXXXXX";
	assert_non_null(mkdtemp(dir));
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		close(p[0]);
		s_doomed_child(dir, p[1]);
	}
	close(p[1]);
	s_doomed d;
	s_read_report(p[0], &d);
	close(p[0]);
	kill(child, SIGKILL);
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	/* what SIGKILL left: namespaces, a process in one, the run directory, the state file */
	for (int i = 0; i < 3; i++)
		assert_true(s_exists(d.ns[i]));
	assert_false(netns_pid_gone(d.daemon));
	assert_true(s_wait_gone(d.direct, 2000)); /* PR_SET_PDEATHSIG */
	assert_true(s_exists(d.run_dir));
	assert_int_equal(s_count_state_files(dir), 1);

	/* a live cluster's state is never reaped */
	assert_true(netns_harness_reap_stale(NULL) >= 0);
	assert_true(s_exists(netns_ns_path(f->c, NETNS_HUB)));
	assert_int_equal(netns_tcp_probe(f->c, 0, netns_node_addr(f->c, 1), S_PORT, 2000), 0);

	assert_int_equal(netns_harness_reap_stale(dir), 1);
	for (int i = 0; i < 3; i++)
		assert_false(s_exists(d.ns[i]));
	assert_true(s_wait_gone(d.daemon, 2000));
	assert_false(s_exists(d.run_dir));
	assert_int_equal(s_count_state_files(dir), 0);
	assert_int_equal(netns_harness_reap_stale(dir), 0);
	assert_int_equal(rmdir(dir), 0);
	f->passed = true;
}

/* ---- refusals and errors ---- */

static void test_needs_root(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		    setresuid(65534, 65534, 65534) < 0)
			_exit(10);
		int rc = netns_harness_check();
		errno = 0;
		netns_cluster *c = netns_cluster_new(2, NULL);
		bool ok = rc == -EPERM && !c && errno == EPERM && strstr(netns_error(), "root");
		_exit(ok ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(netns_harness_check(), 0); /* and we, as root, may */
}

static void test_exec_errors(void **state)
{
	fixture *f = *state;
	netns_cluster *c = f->c;
	pid_t pid = 0;
	int status = -1;
	char *missing[] = {"/nonexistent/plexus-no-such-program", NULL};
	char *slow[] = {"sleep", "30", NULL};
	char *both[] = {"sh", "-c", "echo to-stdout; echo to-stderr >&2", NULL};
	char *log = NULL;
	assert_int_equal(netns_exec(c, 0, missing, NULL, &pid), -ENOENT);
	assert_int_equal(pid, 0);
	assert_int_equal(netns_exec(c, S_NODES, slow, NULL, &pid), -EINVAL);
	assert_int_equal(netns_wait(c, getpid(), NULL, 0), -ECHILD);
	assert_null(netns_hub_etcd_endpoints(c));
	int64_t t0 = s_now_ms();
	assert_int_equal(netns_run(c, 0, slow, NULL, 200, &status), -ETIMEDOUT);
	assert_true(s_now_ms() - t0 < 5000);
	assert_int_equal(netns_run(c, NETNS_HUB, both, NULL, 5000, &status), 0);
	assert_int_equal(status, 0);
	assert_int_equal(netns_read_log(c, NETNS_HUB, &log), 0);
	assert_non_null(strstr(log, "to-stdout\n"));
	assert_non_null(strstr(log, "to-stderr\n"));
	free(log);
	f->passed = true;
}

/* ---- logs ---- */

static bool s_file_has(const char *path, const char *text)
{
	char buf[65536] = {0};
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	if (f)
		fclose(f);
	return n > 0 && strstr(buf, text);
}

static void s_remove_dir(const char *dir)
{
	char *out = s_capture((char *[]){"rm", "-rf", "--", (char *)dir, NULL});
	free(out);
}

static void test_logs_kept(void **state)
{
	fixture *f = *state;
	netns_cluster *c = f->c;
	char *hello[] = {"sh", "-c", "echo hello-from-node-2", NULL};
	char path[400], file[500];
	const char *saved = NULL;
	int status = -1;
	assert_int_equal(netns_hub_etcd_start(c, 1), 0);
	assert_int_equal(netns_run(c, 2, hello, NULL, 5000, &status), 0);
	assert_int_equal(netns_save_logs(c, &saved), 0);
	snprintf(path, sizeof path, "%s", saved);
	snprintf(file, sizeof file, "%s/node2.log", path);
	assert_true(s_file_has(file, "hello-from-node-2\n"));
	snprintf(file, sizeof file, "%s/harness.log", path);
	assert_true(s_file_has(file, "+ ip netns add"));
	snprintf(file, sizeof file, "%s/etcd-m0.log", path);
	assert_true(s_file_has(file, "etcd"));
	s_remove_dir(path);
	assert_false(s_exists(path));

	/* a run marked failed keeps the same files when destroyed */
	netns_cluster_failed(c);
	netns_cluster_destroy(&f->c);
	snprintf(file, sizeof file, "%s/node2.log", path);
	assert_true(s_file_has(file, "hello-from-node-2\n"));
	s_remove_dir(path);
	f->passed = true;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_needs_root),
	    cmocka_unit_test_setup_teardown(test_every_place_reaches_every_other, s_setup,
	                                    s_teardown),
	    cmocka_unit_test_setup_teardown(test_node_reaches_etcd_on_hub, s_setup, s_teardown),
	    cmocka_unit_test_setup_teardown(test_cut_and_restore_link, s_setup, s_teardown),
	    cmocka_unit_test_setup_teardown(test_kill_and_revive_node, s_setup, s_teardown),
	    cmocka_unit_test_setup_teardown(test_kill_nodes_at_once, s_setup, s_teardown),
	    cmocka_unit_test_setup_teardown(test_destroy_leaves_nothing, s_setup, s_teardown),
	    cmocka_unit_test_setup_teardown(test_reaper_after_sigkill, s_setup, s_teardown),
	    cmocka_unit_test_setup_teardown(test_exec_errors, s_setup, s_teardown),
	    cmocka_unit_test_setup_teardown(test_logs_kept, s_setup, s_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
