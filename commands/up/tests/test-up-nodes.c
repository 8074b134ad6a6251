/*
 * test-up-nodes.c — `plexus up --nodes 3` (root): three nodes in network namespaces on a
 * bridge, the services spread over them, the tour across nodes, a FUSE mount from the host,
 * a command traced from the node kernels' logs (plexus trace --nodes),
 * and `plexus down` removing every process, namespace, the bridge and the mount; and etcd as
 * three members (--etcd-members 3) riding through the death of its leader.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "uptest.h"

/* Reads "key value" of the state file into value; false when absent. */
static bool s_state_value(const uptest *t, const char *key, char *value, size_t size, int nth)
{
	char path[PATH_MAX + 8], line[512], k[64], v[256];
	snprintf(path, sizeof path, "%.4000s/state", t->state);
	FILE *f = fopen(path, "re");
	bool found = false;
	while (f && !found && fgets(line, sizeof line, f))
		if (sscanf(line, "%63s %255s", k, v) == 2 && strcmp(k, key) == 0 && nth-- == 0) {
			snprintf(value, size, "%s", v);
			found = true;
		}
	if (f)
		fclose(f);
	return found;
}

static void test_three_nodes(void **state)
{
	uptest *t = *state;
	if (geteuid() != 0)
		fail_msg("test-up-nodes needs root (network namespaces)");
	assert_int_equal(
	    uptest_sh(t, "\"$PLEXUS\" up --state-dir \"$STATE\" --port auto --nodes 3"), 0);
	assert_true(uptest_output(t, "  node       n0 "));
	assert_true(uptest_output(t, "  node       n2 "));
	assert_true(uptest_output(t, "  vdisk      n2 "));
	assert_true(uptest_output(t, "  vfs        n1 "));
	assert_true(uptest_output(t, "  mfs-root   n0 "));
	assert_true(uptest_output(t, "Plexus is up: 3 nodes, 8 services"));
	assert_true(uptest_output(t, "tour: RS restarted vdisk: generation 2"));
	assert_true(uptest_output(t, "matches"));
	assert_true(uptest_output(t, "PLEXUS_ADDR=10.216."));

	char ns[3][256], bridge[256];
	for (int i = 0; i < 3; i++)
		assert_true(s_state_value(t, "netns", ns[i], sizeof ns[i], i));
	assert_true(s_state_value(t, "bridge", bridge, sizeof bridge, 0));
	pid_t pids[16];
	int n = uptest_pids(t, pids, 16);
	assert_int_equal(n, 6); /* etcd, three node kernels, rs, the nodes' power controller */

	/* the tour's file through a FUSE mount on the host, VFS being on n1 */
	assert_int_equal(uptest_sh(t,
	                           "mkdir \"$T/mnt\" && \"$PLEXUS\" mount --state-dir "
	                           "\"$STATE\" \"$T/mnt\" && stat -c %%s \"$T/mnt/data/tour.bin\""),
	                 0);
	assert_true(uptest_output(t, "16777216"));
	char mnt[PATH_MAX + 8];
	snprintf(mnt, sizeof mnt, "%.4000s/mnt", t->dir);
	assert_true(uptest_mounted(mnt));
	assert_int_equal(uptest_sh(t, "ip netns list"), 0);
	for (int i = 0; i < 3; i++)
		assert_true(uptest_output(t, ns[i]));

	/* plexus trace from the node kernels (NODE_TRACE_READ): a directory listing of /data, VFS
	 * on n1, its file server and disk on n2 (the nodes share up's log directory here: each
	 * line counts once) */
	assert_int_equal(uptest_sh(t, "PLEXUS_STATE_DIR=\"$STATE\" \"$PLEXUS\" trace --nodes "
	                              "--format mermaid --hide IPC_PING,RS_EVENT -- \"$PLEXUS\" sh "
	                              "-c 'ls /data' 2>&1"),
	                 0);
	assert_true(uptest_output(t, "trace lines from 3 nodes"));
	assert_true(uptest_output(t, "sequenceDiagram"));
	/* (which participant VFS is depends on who spoke first: the mount's watch polls too) */
	assert_true(uptest_output(t, " as vfs\n"));
	assert_true(uptest_output(t, ": VFS_OPEN\n"));
	assert_true(uptest_output(t, ": FS_GETDENTS\n"));
	assert_true(uptest_output(t, "tour.bin"));

	/* n2's power cut (every process in its namespace killed): RS moves vdisk and mfs-data
	 * and power-cycles n2 through up's power controller (power = netns); its kernel comes
	 * back, the file reads again once mfs-data is back (a call in between may fail EIO),
	 * and down stops the new kernel too */
	assert_int_equal(uptest_sh(t, "ip netns pids %s | xargs -r kill -9", ns[2]), 0);
	assert_int_equal(
	    uptest_sh(
	        t, "for i in $(seq 300); do grep -q 'node n2: plexus-node started' "
	           "\"$STATE/logs/power.log\" && PLEXUS_STATE_DIR=\"$STATE\" \"$PLEXUS\" node ls | "
	           "grep -q '^n2 ' && break; sleep 0.1; done; cat \"$STATE/logs/power.log\"; "
	           "PLEXUS_STATE_DIR=\"$STATE\" \"$PLEXUS\" node ls; for i in $(seq 300); do "
	           "stat -c %%s \"$T/mnt/data/tour.bin\" 2>/dev/null && break; sleep 0.1; done"),
	    0);
	assert_true(uptest_output(t, "node n2: power cycle: every process in"));
	assert_true(uptest_output(t, "\nn2 "));
	assert_true(uptest_output(t, "16777216"));
	pid_t after[16];
	int m = uptest_pids(t, after, 16);
	assert_int_equal(m, 6);

	assert_int_equal(uptest_sh(t, "\"$PLEXUS\" down --state-dir \"$STATE\""), 0);
	assert_true(uptest_output(t, "Plexus is down: 6 processes stopped"));
	for (int i = 0; i < n; i++)
		assert_true(uptest_pid_gone(pids[i]));
	for (int i = 0; i < m; i++)
		assert_true(uptest_pid_gone(after[i]));
	assert_false(uptest_mounted(mnt));
	assert_int_equal(uptest_sh(t, "ip netns list"), 0);
	for (int i = 0; i < 3; i++)
		assert_false(uptest_output(t, ns[i]));
	assert_int_equal(uptest_sh(t, "ip link show %s 2>&1; true", bridge), 0);
	assert_true(uptest_output(t, "does not exist"));
}

/* The root RAM disk outlives the node it lives on, as a booted machine's does: n0 (memory
 * and mfs-root) cut off until it fenced and the cluster took it for dead, then mended; RS
 * starts memory afresh on a standby node, which loads STATE/root.img (the root as booted:
 * /dev, /tmp, the mount point), and VFS mounts the root and /data again. What was written to
 * /tmp is gone with the RAM; /data's file is there. */
static void test_root_outlives_its_node(void **state)
{
	uptest *t = *state;
	if (geteuid() != 0)
		fail_msg("test-up-nodes needs root (network namespaces)");
	assert_int_equal(uptest_sh(t, "\"$PLEXUS\" up --state-dir \"$STATE\" --port auto --nodes 3 "
	                              "--no-tour"),
	                 0);
	assert_true(uptest_output(t, "  root.img   local "));
	assert_int_equal(uptest_sh(t, "grep -c \"ramdisk '0:64M:$STATE/root.img'\" "
	                              "\"$STATE/cluster.ini\""),
	                 0);
	assert_int_equal(
	    uptest_sh(t, "PLEXUS_STATE_DIR=\"$STATE\" \"$PLEXUS\" sh -c 'echo ram > "
	                 "/tmp/in-ram; echo disk > /data/on-disk; sync; cat /tmp/in-ram'"),
	    0);
	assert_true(uptest_output(t, "ram"));
	char bridge[256];
	assert_true(s_state_value(t, "bridge", bridge, sizeof bridge, 0));
	assert_int_equal(
	    uptest_sh(t, "ip link set plxv%sn0 down && sleep 5 && ip link set plxv%sn0 up",
	              bridge + 4, bridge + 4),
	    0);
	/* RS starts memory and mfs-root on a standby, VFS mounts again: the root answers */
	assert_int_equal(
	    uptest_sh(t, "for i in $(seq 150); do PLEXUS_STATE_DIR=\"$STATE\" \"$PLEXUS\" sh -c "
	                 "'ls /dev' 2>/dev/null | grep -q null && break; sleep 0.2; done; "
	                 "PLEXUS_STATE_DIR=\"$STATE\" \"$PLEXUS\" service list"),
	    0);
	assert_true(uptest_output(t, "node n0 died"));
	assert_false(uptest_output(t, "memory           n0")); /* moved, not waiting for n0 */
	assert_false(uptest_output(t, "mfs-root         n0"));
	assert_int_equal(
	    uptest_sh(t, "grep -c 'RAM disk 0: loaded from' \"$STATE\"/logs/memory.log"), 0);
	assert_true(uptest_output(t, "2")); /* at the boot, and on n0's return */
	assert_int_equal(uptest_sh(t, "PLEXUS_STATE_DIR=\"$STATE\" \"$PLEXUS\" sh -c 'cat "
	                              "/data/on-disk; ls /dev; cat /tmp/in-ram'"),
	                 1);
	assert_true(uptest_output(t, "disk"));
	assert_true(uptest_output(t, "null"));   /* from the boot image */
	assert_false(uptest_output(t, "ram\n")); /* RAM's: gone with its node */
	assert_int_equal(uptest_sh(t, "\"$PLEXUS\" down --state-dir \"$STATE\""), 0);
}

/* etcd's client files and every member, for etcdctl in uptest_sh. */
#define S_ETCDCTL                                                                                  \
	"etcdctl --endpoints $(awk '/^etcd /{print $2}' \"$STATE/state\") --cacert "               \
	"\"$STATE/keys/etcd-ca.crt\" --cert \"$STATE/keys/etcd-client.crt\" --key "                \
	"\"$STATE/keys/etcd-client.key\" "

/* The registry with no single point of failure: etcd as three members on the host
 * (--etcd-members 3), every component given all of them, the nodes' leases 4 s long. SIGKILL to the
 * member that leads restarts no service (every generation stays 1, no restart counted), the node
 * kernels live on, and a client writes and reads a file afterwards. An even member count is
 * refused. */
static void test_etcd_member_dies(void **state)
{
	uptest *t = *state;
	if (geteuid() != 0)
		fail_msg("test-up-nodes needs root (network namespaces)");
	assert_int_equal(uptest_sh(t, "\"$PLEXUS\" up --etcd-members 2 --no-tour"), 64);
	assert_true(uptest_output(t, "bad --etcd-members '2': want 1, 3 or 5"));
	assert_int_equal(uptest_sh(t, "\"$PLEXUS\" up --state-dir \"$STATE\" --port auto --nodes 2 "
	                              "--etcd-members 3 --no-tour"),
	                 0);
	assert_true(uptest_output(t, "  etcd       host x3 "));
	assert_true(uptest_output(t, "Plexus is up: 2 nodes, 8 services"));
	char etcd[512];
	assert_true(s_state_value(t, "etcd", etcd, sizeof etcd, 0));
	int commas = 0;
	for (const char *c = etcd; *c; c++)
		commas += *c == ',';
	assert_int_equal(commas, 2); /* every member's URL, for every component */
	pid_t pids[16];
	int n = uptest_pids(t, pids, 16);
	assert_int_equal(n, 7); /* three etcd members, two node kernels, rs, power */
	assert_int_equal(uptest_sh(t, "grep -h 'serving at' \"$STATE\"/logs/node.n*.log"), 0);
	assert_int_equal(uptest_count(t, "lease TTL 4 s)"), 2); /* both node kernels */

	/* the leader: its URL's place in the list names its process (etcd, etcd1, etcd2) */
	assert_int_equal(
	    uptest_sh(t,
	              "L=$(" S_ETCDCTL "endpoint status -w simple | awk -F', ' '$5==\"true\"{print "
	              "$1}') && i=$(awk '/^etcd /{print $2}' \"$STATE/state\" | tr , '\\n' | "
	              "grep -n \"^$L$\" | cut -d: -f1) && if [ \"$i\" = 1 ]; then m=etcd; else "
	              "m=etcd$((i-1)); fi && p=$(awk -v m=$m '$1==\"proc\" && $2==m {print $3}' "
	              "\"$STATE/state\") && echo \"leader $m pid $p\" && kill -9 $p"),
	    0);
	assert_true(uptest_output(t, "leader etcd"));
	sleep(8); /* two lease TTLs: up gives 4 s with three members (docs/registry.md) */
	assert_int_equal(uptest_sh(t, "PLEXUS_STATE_DIR=\"$STATE\" \"$PLEXUS\" service list"), 0);
	assert_true(uptest_output(t, "vfs "));
	assert_int_equal(uptest_sh(t, "PLEXUS_STATE_DIR=\"$STATE\" \"$PLEXUS\" service list | awk "
	                              "'NR>1 && $1!=\"rs\" && ($3!=1 || $4!=\"up\" || $5!=0) "
	                              "{print \"restarted: \" $0; bad=1} END{exit bad}'"),
	                 0);
	int alive = 0;
	for (int i = 0; i < n; i++)
		alive += !uptest_pid_gone(pids[i]);
	assert_int_equal(alive, n - 1); /* the leader only */
	assert_int_equal(uptest_sh(t, "PLEXUS_STATE_DIR=\"$STATE\" \"$PLEXUS\" sh -c 'echo "
	                              "after-the-leader > /data/m; cat /data/m'"),
	                 0);
	assert_true(uptest_output(t, "after-the-leader"));
	assert_int_equal(uptest_sh(t, "\"$PLEXUS\" down --state-dir \"$STATE\""), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_three_nodes, uptest_setup, uptest_teardown),
	    cmocka_unit_test_setup_teardown(test_etcd_member_dies, uptest_setup, uptest_teardown),
	    cmocka_unit_test_setup_teardown(test_root_outlives_its_node, uptest_setup,
	                                    uptest_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
