/*
 * test-config.c — plexus-node's settings: options, the kernel command line as the fallback
 * (options win), defaults, and a clear error with EX_USAGE (bad option) or EX_CONFIG (bad or
 * missing setting from the kernel command line) for every bad value.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <cmocka.h>

#include "node.h"

static char s_cmdline[64];
static char s_err[512];

static int s_setup(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(s_cmdline, sizeof s_cmdline, "%s/plexus-cmdline-XXXXXX", tmp);
	int fd = mkstemp(s_cmdline);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int s_teardown(void **state)
{
	(void)state;
	unlink(s_cmdline);
	return 0;
}

static void s_write_cmdline(const char *text)
{
	FILE *f = fopen(s_cmdline, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Parses the words (NULL-terminated) with --cmdline pointing at s_cmdline. */
static int s_parse(node_config *cfg, ...)
{
	char *argv[32] = {"plexus-node", "--cmdline", s_cmdline};
	int argc = 3;
	va_list ap;
	va_start(ap, cfg);
	for (char *w; (w = va_arg(ap, char *)) != NULL;)
		argv[argc++] = w;
	va_end(ap);
	s_err[0] = '\0';
	return node_config_parse(cfg, argc, argv, s_err, sizeof s_err);
}

static void test_options(void **state)
{
	(void)state;
	node_config cfg;
	s_write_cmdline("");
	assert_int_equal(s_parse(&cfg, "--node", "n1", "--etcd",
	                         "http://10.0.0.1:2379,http://10.0.0.2:2379", "--addr", "10.0.0.11",
	                         "--cluster", "lab", "--lease-ttl", "5", "--rs-label", "rs.main",
	                         "--log-dir", "/tmp/x", "--bind", "tcp://0.0.0.0:7000", "--grace",
	                         "300", NULL),
	                 0);
	assert_string_equal(cfg.name, "n1");
	assert_string_equal(cfg.etcd, "http://10.0.0.1:2379,http://10.0.0.2:2379");
	assert_string_equal(cfg.addr, "10.0.0.11");
	assert_string_equal(cfg.cluster, "lab");
	assert_int_equal(cfg.lease_ttl, 5);
	assert_string_equal(cfg.rs_label, "rs.main");
	assert_string_equal(cfg.log_dir, "/tmp/x");
	assert_string_equal(cfg.bind, "tcp://0.0.0.0:7000");
	assert_int_equal(cfg.grace_ms, 300);
}

static void test_defaults(void **state)
{
	(void)state;
	node_config cfg;
	s_write_cmdline("");
	assert_int_equal(s_parse(&cfg, "--node", "n1", "--addr", "127.0.0.1", NULL), 0);
	assert_string_equal(cfg.etcd, "http://127.0.0.1:2379");
	assert_string_equal(cfg.cluster, "default");
	assert_int_equal(cfg.lease_ttl, 2);
	assert_string_equal(cfg.rs_label, "rs");
	assert_string_equal(cfg.log_dir, "/var/log/plexus");
	assert_string_equal(cfg.bind, "tcp://127.0.0.1:*");
	assert_int_equal(cfg.grace_ms, 2000);
	assert_false(cfg.help);
}

static void test_kernel_cmdline(void **state)
{
	(void)state;
	node_config cfg;
	s_write_cmdline("BOOT_IMAGE=/vmlinuz root=/dev/ram0 plexus.node=pxe7 quiet "
	                "plexus.etcd=\"http://10.1.0.1:2379\" plexus.addr=10.1.0.17 "
	                "plexus.cluster=rack2 console=ttyS0\n");
	assert_int_equal(s_parse(&cfg, NULL), 0);
	assert_string_equal(cfg.name, "pxe7");
	assert_string_equal(cfg.etcd, "http://10.1.0.1:2379");
	assert_string_equal(cfg.addr, "10.1.0.17");
	assert_string_equal(cfg.cluster, "rack2");
	assert_string_equal(cfg.bind, "tcp://10.1.0.17:*");
	/* options win over the kernel command line */
	assert_int_equal(s_parse(&cfg, "--node", "override", "--cluster", "c2", NULL), 0);
	assert_string_equal(cfg.name, "override");
	assert_string_equal(cfg.cluster, "c2");
	assert_string_equal(cfg.addr, "10.1.0.17");
}

/* Expects code and an error naming what. cfg must stay untouched. */
static void s_bad(int code, const char *what, ...)
{
	node_config cfg, before;
	memset(&cfg, 0x5a, sizeof cfg);
	before = cfg;
	char *argv[32] = {"plexus-node", "--cmdline", s_cmdline};
	int argc = 3;
	va_list ap;
	va_start(ap, what);
	for (char *w; (w = va_arg(ap, char *)) != NULL;)
		argv[argc++] = w;
	va_end(ap);
	s_err[0] = '\0';
	assert_int_equal(node_config_parse(&cfg, argc, argv, s_err, sizeof s_err), code);
	if (!strstr(s_err, what))
		fail_msg("error '%s' does not mention '%s'", s_err, what);
	assert_memory_equal(&cfg, &before, sizeof cfg);
}

/* $PLEXUS_LEASE_TTL sets the default lease TTL (plexus-init sets it under TCG); --lease-ttl
 * wins over it, and a bad value is refused by name. */
static void test_lease_ttl_environment(void **state)
{
	(void)state;
	node_config cfg;
	s_write_cmdline("");
	setenv("PLEXUS_LEASE_TTL", "10", 1);
	assert_int_equal(s_parse(&cfg, "--node", "n1", "--addr", "127.0.0.1", NULL), 0);
	assert_int_equal(cfg.lease_ttl, 10);
	assert_int_equal(
	    s_parse(&cfg, "--node", "n1", "--addr", "127.0.0.1", "--lease-ttl", "3", NULL), 0);
	assert_int_equal(cfg.lease_ttl, 3);
	setenv("PLEXUS_LEASE_TTL", "ten", 1);
	s_bad(EX_USAGE, "bad $PLEXUS_LEASE_TTL 'ten'", "--node", "n", "--addr", "10.0.0.1", NULL);
	unsetenv("PLEXUS_LEASE_TTL");
}

static void test_bad_options(void **state)
{
	(void)state;
	s_write_cmdline("");
	s_bad(EX_USAGE, "bad node name 'a/b'", "--node", "a/b", "--addr", "10.0.0.1", NULL);
	s_bad(EX_USAGE, "bad address '10.0.0'", "--node", "n", "--addr", "10.0.0", NULL);
	s_bad(EX_USAGE, "bad address 'node1.example'", "--node", "n", "--addr", "node1.example",
	      NULL);
	s_bad(EX_USAGE, "bad etcd URL list", "--node", "n", "--addr", "10.0.0.1", "--etcd",
	      "10.0.0.1:2379", NULL);
	s_bad(EX_USAGE, "bad etcd URL list", "--node", "n", "--addr", "10.0.0.1", "--etcd",
	      "http://10.0.0.1:2379,", NULL);
	s_bad(EX_USAGE, "bad cluster name", "--node", "n", "--addr", "10.0.0.1", "--cluster", "",
	      NULL);
	s_bad(EX_USAGE, "bad --lease-ttl '0'", "--node", "n", "--addr", "10.0.0.1", "--lease-ttl",
	      "0", NULL);
	s_bad(EX_USAGE, "bad --lease-ttl '2x'", "--node", "n", "--addr", "10.0.0.1", "--lease-ttl",
	      "2x", NULL);
	s_bad(EX_USAGE, "bad --rs-label '../rs'", "--node", "n", "--addr", "10.0.0.1", "--rs-label",
	      "../rs", NULL);
	s_bad(EX_USAGE, "bad --bind 'udp://1.2.3.4:5'", "--node", "n", "--addr", "10.0.0.1",
	      "--bind", "udp://1.2.3.4:5", NULL);
	s_bad(EX_USAGE, "bad --grace '-1'", "--node", "n", "--addr", "10.0.0.1", "--grace", "-1",
	      NULL);
	s_bad(EX_USAGE, "unknown option --frob", "--node", "n", "--addr", "10.0.0.1", "--frob",
	      NULL);
	s_bad(EX_USAGE, "option --node needs a value", "--node", NULL);
	s_bad(EX_USAGE, "unexpected argument 'extra'", "--node", "n", "--addr", "10.0.0.1", "extra",
	      NULL);
}

static void test_bad_kernel_cmdline(void **state)
{
	(void)state;
	s_write_cmdline("quiet\n");
	s_bad(EX_CONFIG, "no node name: give --node or plexus.node=", NULL);
	s_bad(EX_CONFIG, "no address: give --addr or plexus.addr=", "--node", "n", NULL);
	s_write_cmdline("plexus.node=bad/name plexus.addr=10.0.0.1\n");
	s_bad(EX_CONFIG, "bad node name 'bad/name'", NULL);
	s_write_cmdline("plexus.node=n plexus.addr=300.0.0.1\n");
	s_bad(EX_CONFIG, "bad address '300.0.0.1'", NULL);
	s_write_cmdline("plexus.node=n plexus.addr=10.0.0.1 plexus.etcd=ftp://x\n");
	s_bad(EX_CONFIG, "bad etcd URL list 'ftp://x'", NULL);
	s_write_cmdline("plexus.node=n plexus.addr=10.0.0.1 plexus.cluster=a/b\n");
	s_bad(EX_CONFIG, "bad cluster name 'a/b'", NULL);
	s_bad(EX_NOINPUT, "cannot read /nonexistent/cmdline", "--cmdline", "/nonexistent/cmdline",
	      NULL);
}

static void test_help(void **state)
{
	(void)state;
	node_config cfg = {0};
	char *argv[] = {"plexus-node", "--help", NULL};
	assert_int_equal(node_config_parse(&cfg, 2, argv, s_err, sizeof s_err), 0);
	assert_true(cfg.help);
	assert_non_null(strstr(node_config_usage, "--node NAME"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_options),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_lease_ttl_environment),
	    cmocka_unit_test(test_kernel_cmdline),
	    cmocka_unit_test(test_bad_options),
	    cmocka_unit_test(test_bad_kernel_cmdline),
	    cmocka_unit_test(test_help),
	};
	return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
