/*
 * test-cluster.c — the cluster description parser (plexus/cluster.h): a full file read back
 * field by field, node ranges, defaults, dependency order, extra sections, template expansion,
 * files on disk, and for every kind of bad input the exact line and what was expected.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <plexus/cluster.h>

static char s_err[1024];

static plx_cluster *s_parse(const char *text)
{
	s_err[0] = '\0';
	return plx_cluster_parse(text, "c.ini", NULL, s_err, sizeof s_err);
}

static const char s_good[] = "; a lab of ten machines\n"
                             "[cluster]\n"
                             "name = lab\n"
                             "etcd = http://10.0.0.1:2379,http://10.0.0.2:2379\n"
                             "lease_ttl = 3s\n"
                             "\n"
                             "[node head]\n"
                             "mac = 52:54:00:AA:00:01\n"
                             "addr = 10.0.0.2\n"
                             "role = etcd\n"
                             "\n"
                             "[node n[1-8]] ; the rack\n"
                             "mac = 52:54:00:00:00:fe\n"
                             "addr = 10.0.0.11\n"
                             "power = command\n"
                             "power.cycle = ipmitool -H bmc-%n chassis power cycle\n"
                             "power.timeout = 5s\n"
                             "\n"
                             "[node vm]\n"
                             "mac = 52:54:00:ff:00:01\n"
                             "addr = 10.0.0.200\n"
                             "power = qemu\n"
                             "power.qmp = /run/qmp-%n.sock\n"
                             "\n"
                             "[service vfs]\n"
                             "program = plexus-vfs\n"
                             "node = n1\n"
                             "depends = memory, ds\n"
                             "\n"
                             "[service memory]\n"
                             "callers = vfs, mfs-*,rs\n"
                             "program = /sbin/plexus-memory\n"
                             "args = --size 64M 'two words' \"say \\\"hi\\\"\" a\\ b\n"
                             "  --verbose\n"
                             "env = A=1\n"
                             "env = B=two words\n"
                             "node = n2\n"
                             "standby = n3, n[5-6] vm\n"
                             "restart = on-failure\n"
                             "heartbeat = 250ms\n"
                             "backoff = 100ms\n"
                             "backoff_cap = 2s\n"
                             "max_restarts = 3\n"
                             "init_timeout = 5s\n"
                             "stop_grace = 1s\n"
                             "spare = n3\n"
                             "\n"
                             "[service ds]\n"
                             "program = plexus-ds\n"
                             "node = head\n"
                             "restart = never\n"
                             "heartbeat = 0\n";

static void test_good_file(void **state)
{
	(void)state;
	plx_cluster *c = s_parse(s_good);
	assert_non_null(c);
	assert_string_equal(s_err, "");
	assert_string_equal(c->name, "lab");
	assert_string_equal(c->etcd, "http://10.0.0.1:2379,http://10.0.0.2:2379");
	assert_int_equal(c->lease_ttl_ms, 3000);
	assert_int_equal(c->nnodes, 10);

	const plx_cluster_node *head = plx_cluster_find_node(c, "head");
	assert_non_null(head);
	assert_string_equal(head->mac_text, "52:54:00:aa:00:01");
	assert_string_equal(head->addr, "10.0.0.2");
	assert_string_equal(head->role, "etcd");
	assert_int_equal(head->power, PLX_POWER_NONE);
	assert_int_equal(head->line, 7);

	/* The range counts MACs (carrying into the next byte) and addresses up. */
	const plx_cluster_node *n1 = plx_cluster_find_node(c, "n1"),
	                       *n8 = plx_cluster_find_node(c, "n8");
	assert_non_null(n1);
	assert_non_null(n8);
	assert_ptr_equal(n1, &c->nodes[1]);
	assert_string_equal(n1->mac_text, "52:54:00:00:00:fe");
	assert_string_equal(c->nodes[2].mac_text, "52:54:00:00:00:ff");
	assert_string_equal(c->nodes[3].mac_text, "52:54:00:00:01:00");
	assert_string_equal(n8->mac_text, "52:54:00:00:01:05");
	assert_string_equal(n1->addr, "10.0.0.11");
	assert_string_equal(n8->addr, "10.0.0.18");
	assert_int_equal(n8->power, PLX_POWER_COMMAND);
	assert_string_equal(n8->power_cycle, "ipmitool -H bmc-%n chassis power cycle");
	assert_int_equal(n8->power_timeout_ms, 5000);
	assert_int_equal(n8->line, 12);
	assert_null(plx_cluster_find_node(c, "n9"));
	uint8_t mac[6] = {0x52, 0x54, 0x00, 0x00, 0x01, 0x00};
	assert_ptr_equal(plx_cluster_find_mac(c, mac), &c->nodes[3]);
	mac[5] = 0x77;
	assert_null(plx_cluster_find_mac(c, mac));
	const plx_cluster_node *vm = plx_cluster_find_node(c, "vm");
	assert_int_equal(vm->power, PLX_POWER_QEMU);
	assert_string_equal(vm->power_qmp, "/run/qmp-%n.sock");

	/* Services come in dependency order: memory and ds before vfs. */
	assert_int_equal(c->nservices, 3);
	assert_string_equal(c->services[0].label, "memory");
	assert_string_equal(c->services[1].label, "ds");
	assert_string_equal(c->services[2].label, "vfs");

	const plx_cluster_service *m = plx_cluster_find_service(c, "memory");
	assert_string_equal(m->program, "/sbin/plexus-memory");
	const char *argv[] = {"/sbin/plexus-memory", "--size", "64M",      "two words",
	                      "say \"hi\"",          "a b",    "--verbose"};
	assert_int_equal(m->argc, 7);
	for (size_t i = 0; i < 7; i++)
		assert_string_equal(m->argv[i], argv[i]);
	assert_null(m->argv[7]);
	assert_int_equal(m->nenv, 2);
	assert_string_equal(m->env[0], "A=1");
	assert_string_equal(m->env[1], "B=two words");
	assert_null(m->env[2]);
	assert_string_equal(m->node, "n2");
	assert_int_equal(m->nstandby, 4);
	assert_string_equal(m->standby[0], "n3");
	assert_string_equal(m->standby[1], "n5");
	assert_string_equal(m->standby[2], "n6");
	assert_string_equal(m->standby[3], "vm");
	assert_int_equal(m->restart, PLX_RESTART_ON_FAILURE);
	assert_int_equal(m->heartbeat_ms, 250);
	assert_int_equal(m->backoff_ms, 100);
	assert_int_equal(m->backoff_cap_ms, 2000);
	assert_int_equal(m->max_restarts, 3);
	assert_int_equal(m->init_timeout_ms, 5000);
	assert_int_equal(m->stop_grace_ms, 1000);
	assert_int_equal(m->line, 30);
	assert_true(m->has_spare);
	assert_string_equal(m->spare_node, "n3");

	/* Defaults. */
	const plx_cluster_service *v = plx_cluster_find_service(c, "vfs");
	assert_int_equal(v->argc, 1);
	assert_string_equal(v->argv[0], "plexus-vfs");
	assert_int_equal(v->nenv, 0);
	assert_int_equal(v->nstandby, 0);
	assert_false(v->has_spare);
	assert_int_equal(v->ndepends, 2);
	assert_string_equal(v->depends[0], "memory");
	assert_string_equal(v->depends[1], "ds");
	assert_string_equal(v->callers, ""); /* anyone */
	assert_string_equal(plx_cluster_find_service(c, "memory")->callers, "vfs, mfs-*,rs");
	assert_int_equal(v->restart, PLX_RESTART_ALWAYS);
	assert_int_equal(v->heartbeat_ms, 5000);
	assert_int_equal(v->backoff_ms, 1000);
	assert_int_equal(v->backoff_cap_ms, 60000);
	assert_int_equal(v->max_restarts, 10);
	assert_int_equal(v->init_timeout_ms, 30000);
	assert_int_equal(v->stop_grace_ms, 0);
	const plx_cluster_service *d = plx_cluster_find_service(c, "ds");
	assert_int_equal(d->restart, PLX_RESTART_NEVER);
	assert_int_equal(d->heartbeat_ms, 0);
	assert_null(plx_cluster_find_service(c, "nothing"));
	plx_cluster_destroy(&c);
	assert_null(c);
	plx_cluster_destroy(&c);
	plx_cluster_destroy(NULL);
}

static void test_defaults_and_padding(void **state)
{
	(void)state;
	plx_cluster *c = s_parse("[node rack2-n[08-11]-a]\n"
	                         "mac = 02:00:00:00:00:01\n"
	                         "addr = 192.168.1.250\n"
	                         "power = netns\n"
	                         "power.dir = /tmp/power\n");
	assert_non_null(c);
	assert_string_equal(c->name, "default");
	assert_string_equal(c->etcd, "");
	assert_int_equal(c->lease_ttl_ms, 2000);
	assert_int_equal(c->nnodes, 4);
	assert_string_equal(c->nodes[0].name, "rack2-n08-a");
	assert_string_equal(c->nodes[2].name, "rack2-n10-a");
	assert_string_equal(c->nodes[3].name, "rack2-n11-a");
	assert_string_equal(c->nodes[3].addr, "192.168.1.253");
	assert_string_equal(c->nodes[3].power_dir, "/tmp/power");
	assert_int_equal(c->nservices, 0);
	plx_cluster_destroy(&c);

	/* A spare on the active instance's node. */
	c = s_parse("[node a]\nmac = 02:00:00:00:00:01\naddr = 10.0.0.1\n"
	            "[service s]\nprogram = x\nnode = a\nspare = same\n");
	assert_non_null(c);
	assert_true(c->services[0].has_spare);
	assert_string_equal(c->services[0].spare_node, "");
	plx_cluster_destroy(&c);

	/* An empty file is an empty cluster. */
	c = s_parse("");
	assert_non_null(c);
	assert_int_equal(c->nnodes, 0);
	plx_cluster_destroy(&c);
}

/* Who may call a file server or block driver whose section does not say: worked out from the
 * file (its VFS services, what depends on the driver, mkfs-*); given callers and other
 * programs untouched; a driver nothing names stays open. */
static void test_default_callers(void **state)
{
	(void)state;
	plx_cluster *c = s_parse("[node a]\nmac = 02:00:00:00:00:01\naddr = 10.0.0.1\n"
	                         "[service disk]\nprogram = /usr/bin/plexus-vdisk\nnode = a\n"
	                         "[service ram]\nprogram = plexus-memory\nnode = a\n"
	                         "[service lonely]\nprogram = plexus-memory\nnode = a\n"
	                         "[service open]\nprogram = plexus-vdisk\nnode = a\ncallers = *\n"
	                         "[service data]\nprogram = plexus-mfs\nnode = a\ndepends = disk\n"
	                         "[service rootfs]\nprogram = plexus-mfs\nnode = a\ndepends = ram\n"
	                         "[service pipes]\nprogram = plexus-pfs\nnode = a\n"
	                         "[service fs]\nprogram = plexus-vfs\nnode = a\n"
	                         "depends = data, rootfs, pipes\n"
	                         "[service hello]\nprogram = plexus-hello\nnode = a\n");
	assert_non_null(c);
	assert_string_equal(plx_cluster_find_service(c, "disk")->callers, "data, fs, mkfs-*");
	assert_string_equal(plx_cluster_find_service(c, "ram")->callers, "rootfs, fs, mkfs-*");
	assert_string_equal(plx_cluster_find_service(c, "lonely")->callers, "fs, mkfs-*");
	assert_string_equal(plx_cluster_find_service(c, "open")->callers, "*");
	assert_string_equal(plx_cluster_find_service(c, "data")->callers, "fs");
	assert_string_equal(plx_cluster_find_service(c, "pipes")->callers, "fs");
	assert_string_equal(plx_cluster_find_service(c, "fs")->callers, "");    /* its clients */
	assert_string_equal(plx_cluster_find_service(c, "hello")->callers, ""); /* not known */
	plx_cluster_destroy(&c);
	/* no VFS and nothing depending on it: nobody to name, so open (as the example rack) */
	c = s_parse("[node a]\nmac = 02:00:00:00:00:01\naddr = 10.0.0.1\n"
	            "[service memory]\nprogram = plexus-memory\nnode = a\n");
	assert_non_null(c);
	assert_string_equal(plx_cluster_find_service(c, "memory")->callers, "");
	plx_cluster_destroy(&c);
}

static void test_extra_sections_and_expand(void **state)
{
	(void)state;
	const char *extra[] = {"pxe", "pxe lab", NULL};
	plx_cluster_opts opts = {.extra_sections = extra};
	plx_cluster *c = plx_cluster_parse("[pxe]\n"
	                                   "mode = proxy\n"
	                                   "anything goes =\n"
	                                   "[node a]\n"
	                                   "mac = 02:00:00:00:00:01\n"
	                                   "addr = 10.1.0.5\n"
	                                   "[pxe lab]\n"
	                                   "mode = full\n"
	                                   "[pxe]\n"
	                                   "mode = dhcp\n",
	                                   "x.ini", &opts, s_err, sizeof s_err);
	assert_non_null(c);
	assert_int_equal(c->nextra, 4);
	assert_string_equal(c->extra[1].key, "anything goes");
	assert_string_equal(c->extra[1].value, "");
	assert_int_equal(c->extra[1].line, 3);
	assert_string_equal(plx_cluster_extra(c, "pxe", "mode"), "dhcp");
	assert_string_equal(plx_cluster_extra(c, "pxe lab", "mode"), "full");
	assert_null(plx_cluster_extra(c, "pxe", "other"));

	char out[64];
	const plx_cluster_node *a = plx_cluster_find_node(c, "a");
	assert_int_equal(plx_cluster_expand(a, "%n/%m/%a 100%%", out, sizeof out),
	                 (int)strlen("a/02:00:00:00:00:01/10.1.0.5 100%"));
	assert_string_equal(out, "a/02:00:00:00:00:01/10.1.0.5 100%");
	assert_int_equal(plx_cluster_expand(a, "%x", out, sizeof out), -EINVAL);
	assert_int_equal(plx_cluster_expand(a, "%m", out, 10), -ENAMETOOLONG);
	plx_cluster_destroy(&c);

	/* Without opts, the same section is an error. */
	assert_null(s_parse("[pxe]\nmode = proxy\n"));
	assert_string_equal(s_err,
	                    "c.ini:1: section [pxe]: expected [cluster], [node NAME] or [service "
	                    "LABEL]");
}

static void test_load_file(void **state)
{
	(void)state;
	char path[] = "/tmp/plexus-cluster-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, s_good, strlen(s_good)), (ssize_t)strlen(s_good));
	close(fd);
	plx_cluster *c = plx_cluster_load(path, NULL, s_err, sizeof s_err);
	assert_non_null(c);
	assert_int_equal(c->nnodes, 10);
	plx_cluster_destroy(&c);

	/* Errors name the file. */
	FILE *f = fopen(path, "w");
	fputs("[node a]\nmac = 1\n", f);
	fclose(f);
	errno = 0;
	assert_null(plx_cluster_load(path, NULL, s_err, sizeof s_err));
	assert_int_equal(errno, EINVAL);
	char want[256];
	snprintf(want, sizeof want,
	         "%s:2: mac \"1\": expected six hex byte pairs like 52:54:00:12:34:56", path);
	assert_string_equal(s_err, want);

	f = fopen(path, "w");
	fwrite("[cluster]\0\n", 1, 11, f);
	fclose(f);
	assert_null(plx_cluster_load(path, NULL, s_err, sizeof s_err));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(s_err, "a NUL byte"));
	unlink(path);

	errno = 0;
	assert_null(plx_cluster_load(path, NULL, s_err, sizeof s_err));
	assert_int_equal(errno, ENOENT);
	snprintf(want, sizeof want, "%s: No such file or directory", path);
	assert_string_equal(s_err, want);
}

/* Bad inputs: each with the whole message expected. */
typedef struct bad_case {
	const char *text;
	const char *error;
} bad_case;

#define NODE_A "[node a]\nmac = 02:00:00:00:00:01\naddr = 10.0.0.1\n"
#define NODE_B "[node b]\nmac = 02:00:00:00:00:02\naddr = 10.0.0.2\n"

static const bad_case s_bad[] = {
    {"x = 1\n", "c.ini:1: x outside a section: expected a [cluster], [node NAME] or [service "
                "LABEL] header first"},
    {"[cluster]\nname\n",
     "c.ini:2: syntax: expected NAME = VALUE, a [section] header or a ; or # comment"},
    {"[cluster\n", "c.ini:1: section header: expected [cluster], [node NAME] or [service "
                   "LABEL] alone on its line"},
    {"[cluster] x\n", "c.ini:1: section header: expected [cluster], [node NAME] or [service "
                      "LABEL] alone on its line"},
    {"[cluster]\nname = a\n  [node a]\n",
     "c.ini:3: indented section header: expected '[' at the start of the line"},
    {"[frob]\n", "c.ini:1: section [frob]: expected [cluster], [node NAME] or [service LABEL]"},
    {"[node]\n", "c.ini:1: section [node]: expected [cluster], [node NAME] or [service LABEL]"},
    {"[node a b]\n",
     "c.ini:1: section [node a b]: expected [cluster], [node NAME] or [service LABEL]"},
    {"[cluster]\n[cluster]\n", "c.ini:2: second [cluster] section: expected one"},
    {"[cluster]\nfoo = 1\n",
     "c.ini:2: unknown key \"foo\" in [cluster]: expected name, etcd or lease_ttl"},
    {"[cluster]\nname = a/b\n",
     "c.ini:2: name \"a/b\": expected 1 to 58 letters, digits, '_' or '-'"},
    {"[cluster]\nname = a\nname = b\n", "c.ini:3: name given twice in [cluster]: expected it once"},
    {"[cluster]\netcd = 10.0.0.1:2379\n",
     "c.ini:2: etcd \"10.0.0.1:2379\": expected http:// or https:// URLs, comma-separated"},
    {"[cluster]\nlease_ttl = 2\n",
     "c.ini:2: lease_ttl \"2\": expected a duration like 500ms, 2s or 1m"},
    {"[cluster]\nlease_ttl = 1500ms\n",
     "c.ini:2: lease_ttl 1500ms: expected whole seconds, 1s to 3600s"},
    {"[cluster]\nlease_ttl = 2h\n",
     "c.ini:2: lease_ttl \"2h\": expected a duration like 500ms, 2s or 1m"},
    {"[cluster]\nname =\n", "c.ini:2: name has no value: expected name = VALUE"},
    {"[node a!]\n", "c.ini:1: node name \"a!\": expected 1 to 58 letters, digits, '_' or '-'"},
    {"[node n[1-]]\n",
     "c.ini:1: node range \"n[1-]\": expected NAME[FIRST-LAST] like n[1-8] or n[01-16]"},
    {"[node n[5-2]]\n",
     "c.ini:1: node range \"n[5-2]\": expected FIRST <= LAST and at most 4096 nodes"},
    {"[node n[1-9999]]\n",
     "c.ini:1: node range \"n[1-9999]\": expected FIRST <= LAST and at most 4096 nodes"},
    {"[node n[1-2]x[3-4]]\n", "c.ini:1: node range \"n[1-2]x[3-4]\" makes \"n2x[3-4]\": "
                              "expected names of 1 to 58 letters, digits, '_' or '-'"},
    {"[node a]\naddr = 10.0.0.1\n",
     "c.ini:1: [node a] has no mac: expected mac = 52:54:00:12:34:56"},
    {"[node a]\nmac = 02:00:00:00:00:01\n",
     "c.ini:1: [node a] has no addr: expected addr = 10.0.0.11"},
    {"[node a]\nmac = 02:00:00:00:00:0g\n",
     "c.ini:2: mac \"02:00:00:00:00:0g\": expected six hex byte pairs like 52:54:00:12:34:56"},
    {"[node a]\nmac = 02-00-00-00-00-01\n",
     "c.ini:2: mac \"02-00-00-00-00-01\": expected six hex byte pairs like "
     "52:54:00:12:34:56"},
    {"[node a]\naddr = 10.0.0\n",
     "c.ini:2: addr \"10.0.0\": expected an IPv4 address like 10.0.0.11"},
    {"[node a]\nmac = 02:00:00:00:00:01\nmac = 02:00:00:00:00:01\n",
     "c.ini:3: mac given twice in [node a]: expected it once"},
    {"[node a]\nspeed = 10\n",
     "c.ini:2: unknown key \"speed\" in [node a]: expected mac, addr, role, power, "
     "power.dir, power.cycle, power.qmp or power.timeout"},
    {"[node a]\npower = ipmi\n", "c.ini:2: power \"ipmi\": expected none, netns, command or qemu"},
    {NODE_A "power = netns\n",
     "c.ini:1: [node a] has power = netns but no power.dir: expected a directory"},
    {NODE_A "power = command\n",
     "c.ini:1: [node a] has power = command but no power.cycle: expected a command"},
    {NODE_A "power = qemu\n",
     "c.ini:1: [node a] has power = qemu but no power.qmp: expected a QMP socket path"},
    {NODE_A "power.timeout = 10ms\n",
     "c.ini:4: power.timeout 10ms: expected 0 or between 100ms and 3600s"},
    {"[node n[1-3]]\nmac = ff:ff:ff:ff:ff:fe\naddr = 10.0.0.1\n",
     "c.ini:2: mac ff:ff:ff:ff:ff:fe: expected room for 3 consecutive addresses"},
    {"[node n[1-3]]\nmac = 02:00:00:00:00:01\naddr = 10.0.0.253\n",
     "c.ini:3: addr 10.0.0.253: expected room for 3 consecutive addresses in its /24 (the "
     "last octet stays below 255)"},
    {NODE_A "\n[node a]\nmac = 02:00:00:00:00:02\naddr = 10.0.0.2\n",
     "c.ini:5: node a defined again: expected unique names (first on line 1)"},
    {NODE_A "[node n[1-2]]\nmac = 02:00:00:00:00:00\naddr = 10.0.0.5\n",
     "c.ini:4: node n2 has mac 02:00:00:00:00:01, as node a (line 1): expected unique MACs"},
    {NODE_A "[node b]\nmac = 02:00:00:00:00:02\naddr = 10.0.0.1\n",
     "c.ini:4: node b has addr 10.0.0.1, as node a (line 1): expected unique addresses"},
    {"[service a/b]\n",
     "c.ini:1: service label \"a/b\": expected 1 to 58 letters, digits, '_', '-' or '.'"},
    {NODE_A "[service s]\nnode = a\n",
     "c.ini:4: [service s] has no program: expected program = PATH or a name in PATH"},
    {NODE_A "[service s]\nprogram = x\n", "c.ini:4: [service s] has no node: expected node = NAME"},
    {NODE_A "[service s]\nprogram = x\nnode = b\n",
     "c.ini:6: node \"b\" of service s: expected a node defined in a [node] section"},
    {NODE_A "[service s]\nprogram = x\nnode = a\nstandby = a\n",
     "c.ini:7: standby node a of service s is its own node: expected other nodes"},
    {NODE_A "[service s]\nprogram = x\nnode = a\nstandby = c[1-2]\n",
     "c.ini:7: standby node \"c1\" of service s: expected a node defined in a [node] "
     "section"},
    {NODE_A "[service s]\nprogram = x\nnode = a\nspare = b\n",
     "c.ini:7: spare node \"b\" of service s: expected same or a node defined in a [node] "
     "section"},
    {NODE_A "[service s]\nprogram = x\nnode = a\nspare = same\nspare = a\n",
     "c.ini:8: spare given twice in [service s]: expected it once"},
    {NODE_A "[service s.spare]\nprogram = x\nnode = a\n",
     "c.ini:4: service label s.spare: expected a label not ending in .spare (the name of a "
     "warm spare's process on its node)"},
    {NODE_A "[service s]\nprogram = x\nnode = a\ndepends = t\n",
     "c.ini:7: dependency \"t\" of service s: expected a service defined in a [service] "
     "section"},
    {NODE_A "[service s]\nprogram = x\nnode = a\ndepends = s\n",
     "c.ini:7: service s depends on itself: expected other services"},
    {NODE_A "[service s]\nprogram = x\nnode = a\ndepends = u\n"
            "[service t]\nprogram = x\nnode = a\n"
            "[service u]\nprogram = x\nnode = a\ndepends = t, s\n"
            "[service v]\nprogram = x\nnode = a\ndepends = t\n",
     "c.ini:7: dependency cycle among s, u: expected dependencies without cycles"},
    {NODE_A "[service s]\nprogram = x\nnode = a\n[service s]\nprogram = y\nnode = a\n",
     "c.ini:7: service s defined again: expected unique labels (first on line 4)"},
    {NODE_A "[service s]\nrestart = sometimes\n",
     "c.ini:5: restart \"sometimes\": expected always, on-failure or never"},
    {NODE_A "[service s]\nheartbeat = 5ms\n",
     "c.ini:5: heartbeat 5ms: expected 0 or between 10ms and 3600s"},
    {NODE_A "[service s]\nheartbeat = -1s\n",
     "c.ini:5: heartbeat \"-1s\": expected a duration like 500ms, 2s or 1m"},
    {NODE_A "[service s]\nmax_restarts = many\n",
     "c.ini:5: max_restarts \"many\": expected a whole number from 0 to 1000000"},
    {NODE_A "[service s]\nprogram = x\nnode = a\nbackoff = 2s\nbackoff_cap = 1s\n",
     "c.ini:4: [service s] backoff_cap below backoff: expected cap >= backoff"},
    {NODE_A "[service s]\nargs = 'open\n",
     "c.ini:5: args: unterminated ' quote: expected a closing '"},
    {NODE_A "[service s]\nenv = 1A=2\n",
     "c.ini:5: env \"1A=2\": expected NAME=VALUE (NAME of letters, digits and '_')"},
    {NODE_A "[service s]\nenv = NOVALUE\n",
     "c.ini:5: env \"NOVALUE\": expected NAME=VALUE (NAME of letters, digits and '_')"},
    {NODE_A "[service s]\nprogram = x\nprogram = y\n",
     "c.ini:6: program given twice in [service s]: expected it once"},
    {NODE_A "[service s]\nrestarts = always\n",
     "c.ini:5: unknown key \"restarts\" in [service s]: expected program, args, env, node, "
     "standby, spare, restart, heartbeat, depends, backoff, backoff_cap, max_restarts, "
     "init_timeout, init_retries, stop_grace or callers"},
    {NODE_A "[service s]\nprogram = x\nnode = a\ncallers = vfs; rm\n",
     "c.ini:7: callers: bad pattern at \"; rm\": expected labels and patterns (letters, "
     "digits, '.', '_', '-', '*', '?') separated by commas"},
    {NODE_A "[service s]\nprogram = x\nnode = a\ncallers = ,\n",
     "c.ini:7: callers: expected 1 to 32 patterns"},
    {NODE_A "[service s]\nprogram = x\nnode = a\ncallers = a\ncallers = b\n",
     "c.ini:8: callers given twice in [service s]: expected it once"},
    {NODE_A "[service s]\ndepends = a/b\n",
     "c.ini:5: depends \"a/b\": expected service labels (letters, digits, '_', '-', '.')"},
};

static void test_bad_inputs(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof s_bad / sizeof *s_bad; i++) {
		errno = 0;
		plx_cluster *c = s_parse(s_bad[i].text);
		if (c || strcmp(s_err, s_bad[i].error) != 0)
			print_error("case %zu:\n%s\ngot:  %s\nwant: %s\n", i, s_bad[i].text, s_err,
			            s_bad[i].error);
		assert_null(c);
		assert_int_equal(errno, EINVAL);
		assert_string_equal(s_err, s_bad[i].error);
	}
}

static void test_long_line(void **state)
{
	(void)state;
	char text[600];
	snprintf(text, sizeof text, "[cluster]\n\nname = %0300d\n", 0);
	assert_null(s_parse(text));
	assert_string_equal(s_err, "c.ini:3: line of 307 characters: expected at most 197 "
	                           "(continue long values on indented lines)");
	/* A long argument list fits on continuation lines. */
	plx_cluster *c = s_parse(NODE_A "[service s]\nprogram = x\nnode = a\n"
	                                "args = one two\n"
	                                "  three four\n"
	                                "  five\n");
	assert_non_null(c);
	assert_int_equal(c->services[0].argc, 6);
	assert_string_equal(c->services[0].argv[5], "five");
	plx_cluster_destroy(&c);
	/* A small error buffer is never overrun, and a NULL one is fine. */
	char small[8];
	assert_null(plx_cluster_parse("[x]\n", "c.ini", NULL, small, sizeof small));
	assert_string_equal(small, "c.ini:1");
	assert_null(plx_cluster_parse("[x]\n", "c.ini", NULL, NULL, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_file),
	    cmocka_unit_test(test_defaults_and_padding),
	    cmocka_unit_test(test_default_callers),
	    cmocka_unit_test(test_extra_sections_and_expand),
	    cmocka_unit_test(test_load_file),
	    cmocka_unit_test(test_bad_inputs),
	    cmocka_unit_test(test_long_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
