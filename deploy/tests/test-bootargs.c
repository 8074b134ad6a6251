/*
 * test-bootargs.c — plexus-init's reading of the kernel command line (plexus/bootargs.h).
 *
 * Entry points: main.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include <plexus/bootargs.h>

static void test_full_line(void **state)
{
	(void)state;
	plx_bootargs a;
	char err[256] = "";
	const char *line =
	    "BOOT_IMAGE=vmlinuz initrd=initramfs.img console=ttyS0 quiet "
	    "plexus.node=n1 plexus.etcd=\"http://10.0.0.1:2379,http://10.0.0.2:2379\" "
	    "plexus.cluster=lab plexus.role=driver,etcd plexus.if=eth1 "
	    "plexus.log=http://10.0.0.1:8080 plexus.shell=0 plexus.dhcp_timeout=12 "
	    "plexus.lease_ttl=3 plexus.keys=http://10.0.0.1:8080/cgi-bin/keys\n";
	assert_int_equal(plx_bootargs_parse(line, &a, err, sizeof err), 0);
	assert_string_equal(a.node, "n1");
	assert_string_equal(a.etcd, "http://10.0.0.1:2379,http://10.0.0.2:2379");
	assert_string_equal(a.cluster, "lab");
	assert_string_equal(a.role, "driver,etcd");
	assert_string_equal(a.iface, "eth1");
	assert_string_equal(a.log, "http://10.0.0.1:8080");
	assert_string_equal(a.keys, "http://10.0.0.1:8080/cgi-bin/keys");
	assert_false(a.shell);
	assert_int_equal(a.dhcp_timeout_s, 12);
	assert_int_equal(a.lease_ttl_s, 3);
	assert_string_equal(a.addr, "");
	assert_true(plx_bootargs_has_role(&a, "etcd"));
	assert_true(plx_bootargs_has_role(&a, "driver"));
	assert_false(plx_bootargs_has_role(&a, "etc"));
	assert_false(plx_bootargs_has_role(&a, "driver,etcd"));
}

static void test_defaults_and_kernel_words(void **state)
{
	(void)state;
	plx_bootargs a;
	char err[256];
	assert_int_equal(
	    plx_bootargs_parse("console=ttyS0 plexus_node=x plexusnode=y", &a, err, sizeof err), 0);
	assert_string_equal(a.node, "");
	assert_string_equal(a.etcd, "");
	assert_string_equal(a.cluster, "default");
	assert_true(a.shell);
	assert_int_equal(a.dhcp_timeout_s, 30);
	assert_int_equal(a.lease_ttl_s, 0);
	assert_int_equal(plx_bootargs_parse("", &a, err, sizeof err), 0);
	/* a later word wins, as on the kernel's own command line */
	assert_int_equal(plx_bootargs_parse("plexus.node=a plexus.node=b", &a, err, sizeof err), 0);
	assert_string_equal(a.node, "b");
	/* a quoted value keeps its spaces out of the word split */
	assert_int_equal(plx_bootargs_parse("x=\"a b\" plexus.role=\"etcd\"", &a, err, sizeof err),
	                 0);
	assert_string_equal(a.role, "etcd");
}

/* Several etcd members: each NAME=URL, its own among them. */
static void test_etcd_peers(void **state)
{
	(void)state;
	plx_bootargs a;
	char err[256] = "";
	assert_int_equal(plx_bootargs_parse("plexus.etcd_peers=e1=https://10.0.0.11:2380,"
	                                    "e2=https://10.0.0.12:2380,e3=http://10.0.0.13:2380",
	                                    &a, err, sizeof err),
	                 0);
	assert_string_equal(a.etcd_peers, "e1=https://10.0.0.11:2380,e2=https://10.0.0.12:2380,"
	                                  "e3=http://10.0.0.13:2380");
	assert_int_equal(plx_bootargs_parse("plexus.node=e1", &a, err, sizeof err), 0);
	assert_string_equal(a.etcd_peers, "");
}

static void test_static_address(void **state)
{
	(void)state;
	plx_bootargs a;
	char err[256];
	assert_int_equal(
	    plx_bootargs_parse("plexus.addr=10.0.0.5/24 plexus.gw=10.0.0.1", &a, err, sizeof err),
	    0);
	assert_string_equal(a.addr, "10.0.0.5/24");
	assert_string_equal(a.gw, "10.0.0.1");
}

/* Each bad line fails with -EINVAL, its own message, and leaves *out untouched. */
static void test_errors(void **state)
{
	(void)state;
	static const struct {
		const char *line, *msg;
	} cases[] = {
	    {"plexus.nodes=n1",
	     "plexus.nodes: unknown setting: expected node, etcd, etcd_peers, cluster, role, "
	     "addr, gw, if, log, keys, shell, dhcp_timeout or lease_ttl"},
	    {"plexus.node", "plexus.node: expected plexus.KEY=VALUE"},
	    {"plexus.node=", "plexus.node=\"\": expected 1-58 letters, digits, '_' or '-'"},
	    {"plexus.node=n/1", "plexus.node=\"n/1\": expected 1-58 letters, digits, '_' or '-'"},
	    {"plexus.cluster=a.b",
	     "plexus.cluster=\"a.b\": expected 1-58 letters, digits, '_' or '-'"},
	    {"plexus.etcd=10.0.0.1:2379",
	     "plexus.etcd=\"10.0.0.1:2379\": expected http:// or https:// URLs, comma-separated"},
	    {"plexus.etcd=http://a,",
	     "plexus.etcd=\"http://a,\": expected http:// or https:// URLs, "
	     "comma-separated"},
	    {"plexus.etcd=http://a,http://b,", /* found by fuzz-bootargs (clang's UBSan) */
	     "plexus.etcd=\"http://a,http://b,\": expected http:// or https:// URLs, "
	     "comma-separated"},
	    {"plexus.etcd=http://", "plexus.etcd=\"http://\": expected http:// or https:// URLs, "
	                            "comma-separated"},
	    {"plexus.etcd_peers=http://10.0.0.1:2380",
	     "plexus.etcd_peers=\"http://10.0.0.1:2380\": expected NAME=URL members (http:// or "
	     "https://), comma-separated"},
	    {"plexus.etcd_peers=e1=10.0.0.1:2380",
	     "plexus.etcd_peers=\"e1=10.0.0.1:2380\": expected NAME=URL members (http:// or "
	     "https://), comma-separated"},
	    {"plexus.etcd_peers=e1=http://a,",
	     "plexus.etcd_peers=\"e1=http://a,\": expected NAME=URL members (http:// or "
	     "https://), comma-separated"},
	    {"plexus.etcd_peers=e.1=http://a",
	     "plexus.etcd_peers=\"e.1=http://a\": expected NAME=URL members (http:// or "
	     "https://), comma-separated"},
	    {"plexus.etcd_peers=e1=https://,e2=https://b",
	     "plexus.etcd_peers=\"e1=https://,e2=https://b\": expected NAME=URL members (http:// "
	     "or https://), comma-separated"},
	    {"plexus.addr=10.0.0.5", "plexus.addr=\"10.0.0.5\": expected an IPv4 address with its "
	                             "prefix, like 10.0.0.5/24"},
	    {"plexus.addr=10.0.0.500/24", "plexus.addr=\"10.0.0.500/24\": expected an IPv4 address "
	                                  "with its prefix, like 10.0.0.5/24"},
	    {"plexus.addr=10.0.0.5/33",
	     "plexus.addr=\"10.0.0.5/33\": expected an IPv4 address with "
	     "its prefix, like 10.0.0.5/24"},
	    {"plexus.gw=gateway", "plexus.gw=\"gateway\": expected an IPv4 address"},
	    {"plexus.if=averyveryverylongname",
	     "plexus.if=\"averyveryverylongname\": expected an interface name of 1-15 characters"},
	    {"plexus.log=ftp://x", "plexus.log=\"ftp://x\": expected an http:// URL"},
	    {"plexus.keys=https://x", "plexus.keys=\"https://x\": expected an http:// URL"},
	    {"plexus.shell=yes", "plexus.shell=\"yes\": expected 0 or 1"},
	    {"plexus.dhcp_timeout=0", "plexus.dhcp_timeout=\"0\": expected whole seconds, 1..600"},
	    {"plexus.dhcp_timeout=5s",
	     "plexus.dhcp_timeout=\"5s\": expected whole seconds, 1..600"},
	    {"plexus.lease_ttl=3601", "plexus.lease_ttl=\"3601\": expected whole seconds, 1..3600"},
	    {"plexus.node=\"n1",
	     "kernel command line: a word is too long or its quote is not closed"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		plx_bootargs a;
		memset(&a, 0x5a, sizeof a);
		char err[256] = "";
		assert_int_equal(plx_bootargs_parse(cases[i].line, &a, err, sizeof err), -EINVAL);
		assert_string_equal(err, cases[i].msg);
		unsigned char *p = (unsigned char *)&a;
		for (size_t k = 0; k < sizeof a; k++)
			assert_int_equal(p[k], 0x5a);
	}
	/* too long for the word buffer */
	char line[3000] = "plexus.role=";
	memset(line + strlen(line), 'r', 2000);
	plx_bootargs a;
	char err[256];
	assert_int_equal(plx_bootargs_parse(line, &a, err, sizeof err), -EINVAL);
	assert_string_equal(err,
	                    "kernel command line: a word is too long or its quote is not closed");
	line[12 + 1038] = '\0'; /* fits the word, not the role field */
	assert_int_equal(plx_bootargs_parse(line, &a, err, sizeof err), -EINVAL);
	assert_string_equal(err,
	                    "plexus.role: value of 1038 bytes is too long: expected at most 1023");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_line),  cmocka_unit_test(test_defaults_and_kernel_words),
	    cmocka_unit_test(test_etcd_peers), cmocka_unit_test(test_static_address),
	    cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
