/*
 * test-pxe.c — the PXE server's files from a cluster file (plexus/pxe.h): settings and their
 * errors, each node's kernel command line, `pxe check`'s explanation and problems, the
 * written dnsmasq.conf (accepted by dnsmasq --test), iPXE scripts and image links, full DHCP
 * and proxy DHCP, and the CGI that certifies a node's key at its own address only, with the
 * node's side of it (plx_link_fetch) against busybox httpd.
 *
 * Entry points: main.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include <plexus/cluster.h>
#include <plexus/etcd.h>
#include <plexus/etcd_tls.h>
#include <plexus/link_keys.h>
#include <plexus/link_security.h>
#include <plexus/pxe.h>

#include "deploy_paths.h"

static const char s_ini[] = "[cluster]\n"
                            "name = lab\n"
                            "etcd = http://10.0.0.2:2379\n"
                            "[pxe]\n"
                            "server = 10.0.0.1\n"
                            "interface = lo\n"
                            "http_port = 8081\n"
                            "image = %s\n"
                            "%s"
                            "[node head]\n"
                            "mac = 52:54:00:aa:00:01\n"
                            "addr = 10.0.0.2\n"
                            "role = etcd\n"
                            "[node n[1-3]]\n"
                            "mac = 52:54:00:00:00:fe\n"
                            "addr = 10.0.0.11\n"
                            "[service memory]\n"
                            "program = plexus-memory\n"
                            "node = n1\n"
                            "standby = n2\n";

typedef struct fx {
	char dir[64];
	char image[96];
	plx_cluster *c;
	plx_pxe_settings s;
	pid_t httpd; /* busybox httpd of a test, 0: none */
} fx;

static plx_cluster *s_parse(const char *image, const char *extra, char *err, size_t size)
{
	char text[4096];
	snprintf(text, sizeof text, s_ini, image, extra);
	plx_cluster_opts o = {.extra_sections = plx_pxe_extra_sections};
	return plx_cluster_parse(text, "lab.ini", &o, err, size);
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/plexus-test-pxe-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->image, sizeof f->image, "%s/image", f->dir);
	mkdir(f->image, 0755);
	char path[160];
	static const char *const files[] = {"vmlinuz", "initramfs.img"};
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "%s/%s", f->image, files[i]);
		FILE *fp = fopen(path, "w");
		fputs(files[i], fp);
		fclose(fp);
	}
	char err[512];
	f->c = s_parse(f->image, "", err, sizeof err);
	if (!f->c || plx_pxe_settings_read(f->c, &f->s, err, sizeof err) < 0) {
		print_error("%s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	if (f->httpd > 0) {
		kill(f->httpd, SIGKILL);
		waitpid(f->httpd, NULL, 0);
	}
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		print_error("could not remove %s\n", f->dir);
	plx_cluster_destroy(&f->c);
	free(f);
	return 0;
}

static char *s_read(const char *dir, const char *name)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *fp = fopen(path, "r");
	if (!fp)
		return NULL;
	static char buf[65536];
	size_t n = fread(buf, 1, sizeof buf - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return buf;
}

static void test_settings_and_cmdline(void **state)
{
	fx *f = *state;
	assert_string_equal(f->s.server, "10.0.0.1");
	assert_int_equal(f->s.prefix, 24);
	assert_int_equal(f->s.http_port, 8081);
	assert_false(f->s.proxy);
	assert_string_equal(f->s.etcd, "http://10.0.0.2:2379");
	char cmd[1024];
	assert_true(plx_pxe_node_cmdline(f->c, &f->s, plx_cluster_find_node(f->c, "head"), cmd,
	                                 sizeof cmd) > 0);
	assert_string_equal(cmd, "console=ttyS0 plexus.node=head plexus.cluster=lab "
	                         "plexus.etcd=http://10.0.0.2:2379 plexus.role=etcd "
	                         "plexus.lease_ttl=2 plexus.log=http://10.0.0.1:8081/stage");
	assert_int_equal(
	    plx_pxe_node_cmdline(f->c, &f->s, plx_cluster_find_node(f->c, "n3"), cmd, 20),
	    -ENAMETOOLONG);
}

/* A cluster file of three role = etcd nodes (one also a driver) and a client node, with
 * [cluster] etcd unset and extra [pxe] lines. */
static plx_cluster *s_three_etcd(const char *image, const char *extra)
{
	char text[2048], err[512];
	snprintf(text, sizeof text,
	         "[cluster]\nname = rack\n[pxe]\nserver = 10.0.0.1\nimage = %s\n%s"
	         "[node e1]\nmac = 52:54:00:ee:00:01\naddr = 10.0.0.21\nrole = etcd\n"
	         "[node e2]\nmac = 52:54:00:ee:00:02\naddr = 10.0.0.22\nrole = driver,etcd\n"
	         "[node e3]\nmac = 52:54:00:ee:00:03\naddr = 10.0.0.23\nrole = etcd\n"
	         "[node w1]\nmac = 52:54:00:ee:00:04\naddr = 10.0.0.24\nrole = etcdx\n",
	         image, extra);
	plx_cluster_opts o = {.extra_sections = plx_pxe_extra_sections};
	plx_cluster *c = plx_cluster_parse(text, "rack.ini", &o, err, sizeof err);
	if (!c)
		print_error("%s\n", err);
	assert_non_null(c);
	return c;
}

/* Several role = etcd nodes and no [cluster] etcd: every node is given all members' client
 * URLs, the etcd nodes alone every member's peer URL too; the written iPXE scripts carry the
 * same; with one etcd node, no peers; an explicit [cluster] etcd still wins for clients. */
static void test_several_etcd_members(void **state)
{
	fx *f = *state;
	char err[512], cmd[2048];
	plx_cluster *c = s_three_etcd(f->image, "");
	plx_pxe_settings s;
	assert_int_equal(plx_pxe_settings_read(c, &s, err, sizeof err), 0);
	static const char clients[] =
	    "http://10.0.0.21:2379,http://10.0.0.22:2379,http://10.0.0.23:2379";
	static const char peers[] =
	    "e1=http://10.0.0.21:2380,e2=http://10.0.0.22:2380,e3=http://10.0.0.23:2380";
	assert_string_equal(s.etcd, clients);
	assert_string_equal(s.etcd_peers, peers);
	assert_true(plx_cluster_node_has_role(plx_cluster_find_node(c, "e2"), "etcd"));
	assert_false(plx_cluster_node_has_role(plx_cluster_find_node(c, "w1"), "etcd"));
	assert_true(plx_pxe_node_cmdline(c, &s, plx_cluster_find_node(c, "e2"), cmd, sizeof cmd) >
	            0);
	char want[2048];
	snprintf(want, sizeof want,
	         "console=ttyS0 plexus.node=e2 plexus.cluster=rack plexus.etcd=%s "
	         "plexus.etcd_peers=%s plexus.role=driver,etcd plexus.lease_ttl=2 "
	         "plexus.log=http://10.0.0.1:8080/stage",
	         clients, peers);
	assert_string_equal(cmd, want);
	assert_true(plx_pxe_node_cmdline(c, &s, plx_cluster_find_node(c, "w1"), cmd, sizeof cmd) >
	            0);
	assert_non_null(strstr(cmd, clients));
	assert_null(strstr(cmd, "etcd_peers"));

	/* the scripts pxe serve writes */
	char dir[128];
	snprintf(dir, sizeof dir, "%s/serve", f->dir);
	snprintf(s.ipxe_dir, sizeof s.ipxe_dir, "%s", f->image); /* stands in for Debian's ipxe */
	FILE *fp;
	static const char *const boot[] = {"undionly.kpxe", "ipxe.efi"};
	for (int i = 0; i < 2; i++) {
		snprintf(cmd, sizeof cmd, "%s/%s", f->image, boot[i]);
		assert_non_null(fp = fopen(cmd, "w"));
		fclose(fp);
	}
	assert_int_equal(plx_pxe_write(c, &s, dir, err, sizeof err), 0);
	const char *script = s_read(dir, "http/nodes/52:54:00:ee:00:03.ipxe");
	assert_non_null(script);
	snprintf(want, sizeof want, "plexus.etcd=%s plexus.etcd_peers=%s plexus.role=etcd ",
	         clients, peers);
	assert_non_null(strstr(script, want));
	script = s_read(dir, "http/nodes/52:54:00:ee:00:04.ipxe");
	assert_non_null(strstr(script, clients));
	assert_null(strstr(script, "etcd_peers"));
	plx_cluster_destroy(&c);

	/* one etcd node: its client URL, no peers */
	c = s_parse(f->image, "", err, sizeof err);
	assert_non_null(c);
	snprintf(c->etcd, sizeof c->etcd, "%s", "");
	assert_int_equal(plx_pxe_settings_read(c, &s, err, sizeof err), 0);
	assert_string_equal(s.etcd, "http://10.0.0.2:2379");
	assert_string_equal(s.etcd_peers, "");
	plx_cluster_destroy(&c);
}

static void test_setting_errors(void **state)
{
	fx *f = *state;
	static const struct {
		const char *extra, *msg;
	} cases[] = {
	    {"server = 10.0.0.300\n", "[pxe] server \"10.0.0.300\": expected an IPv4 address"},
	    {"mode = relay\n", "[pxe] mode \"relay\": expected dhcp or proxy"},
	    {"http_port = 0\n", "[pxe] http_port \"0\": expected 1..65535"},
	    {"netmask = 255.0.255.0\n",
	     "[pxe] netmask \"255.0.255.0\": expected a contiguous mask"},
	    {"ipv6_ra = maybe\n", "[pxe] ipv6_ra \"maybe\": expected yes or no"},
	    {"interface = averyveryverylongname\n",
	     "[pxe] interface \"averyveryverylongname\": expected a name of 1-15 characters"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char err[512] = "";
		plx_cluster *c = s_parse(f->image, cases[i].extra, err, sizeof err);
		assert_non_null(c);
		plx_pxe_settings s;
		memset(&s, 0x5a, sizeof s);
		assert_int_equal(plx_pxe_settings_read(c, &s, err, sizeof err), -EINVAL);
		assert_string_equal(err, cases[i].msg);
		assert_int_equal(((unsigned char *)&s)[0], 0x5a);
		plx_cluster_destroy(&c);
	}
	/* no server at all */
	char err[512];
	plx_cluster_opts o = {.extra_sections = plx_pxe_extra_sections};
	plx_cluster *c = plx_cluster_parse("[node a]\nmac = 52:54:00:00:00:01\naddr = 10.0.0.5\n",
	                                   "x.ini", &o, err, sizeof err);
	assert_non_null(c);
	plx_pxe_settings s;
	assert_int_equal(plx_pxe_settings_read(c, &s, err, sizeof err), -EINVAL);
	assert_string_equal(err,
	                    "[pxe] server: missing: expected this server's IPv4 address on the "
	                    "boot network");
	plx_cluster_destroy(&c);
}

static void test_check_explains_and_finds_problems(void **state)
{
	fx *f = *state;
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	assert_int_equal(plx_pxe_check(f->c, &f->s, out), 0);
	fclose(out);
	assert_non_null(strstr(text, "cluster lab: 4 nodes, 1 services"));
	assert_non_null(strstr(text, "node n3  mac 52:54:00:00:01:00  addr 10.0.0.13  power none"));
	assert_non_null(
	    strstr(text, "  script   http://10.0.0.1:8081/nodes/52:54:00:00:01:00.ipxe"));
	assert_non_null(strstr(text, "node n1  mac 52:54:00:00:00:fe"));
	assert_non_null(strstr(text, "  services memory\n"));
	assert_non_null(strstr(text, "  services (memory standby)\n"));
	assert_non_null(strstr(text, "\n0 problems\n"));
	free(text);

	/* a node off the server's network, the image gone, iPXE files missing */
	plx_pxe_settings s = f->s;
	snprintf(s.server, sizeof s.server, "10.0.1.1");
	snprintf(s.image, sizeof s.image, "%s/none", f->dir);
	snprintf(s.ipxe_dir, sizeof s.ipxe_dir, "%s/none", f->dir);
	out = open_memstream(&text, &size);
	assert_int_equal(plx_pxe_check(f->c, &s, out), 4 + 2 + 2);
	fclose(out);
	assert_non_null(strstr(text, "problem: node n2: address 10.0.0.12 is not on the server's "
	                             "network 10.0.1.1/24\n"));
	assert_non_null(strstr(text, "/none/vmlinuz: missing (run plexus image build --out"));
	assert_non_null(strstr(text, "/none/undionly.kpxe: missing (install Debian's ipxe)"));
	assert_non_null(strstr(text, "\n8 problems\n"));
	free(text);
}

/* dnsmasq itself accepts the configuration. */
static void s_dnsmasq_test(const char *dir)
{
	char cmd[256];
	snprintf(cmd, sizeof cmd, "dnsmasq --test --conf-file=%s/dnsmasq.conf >/dev/null 2>&1",
	         dir);
	int st = system(cmd);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_write_full_dhcp(void **state)
{
	fx *f = *state;
	char err[512], out[128], path[256];
	snprintf(out, sizeof out, "%s/srv", f->dir);
	assert_int_equal(plx_pxe_write(f->c, &f->s, out, err, sizeof err), 0);
	const char *conf = s_read(out, "dnsmasq.conf");
	assert_non_null(conf);
	assert_non_null(strstr(conf, "\nport=0\n"));
	assert_non_null(strstr(conf, "\ninterface=lo\n"));
	assert_non_null(strstr(conf, "\ndhcp-range=10.0.0.0,static,255.255.255.0,1h\n"));
	assert_non_null(strstr(conf, "\ndhcp-host=52:54:00:aa:00:01,10.0.0.2,head\n"));
	assert_non_null(strstr(conf, "\ndhcp-host=52:54:00:00:01:00,10.0.0.13,n3\n"));
	assert_non_null(strstr(conf, "\ndhcp-userclass=set:ipxe,iPXE\n"));
	assert_non_null(strstr(conf, "\ndhcp-boot=tag:!ipxe,tag:!efi64,undionly.kpxe,,10.0.0.1\n"));
	assert_non_null(strstr(conf, "\ndhcp-boot=tag:!ipxe,tag:efi64,ipxe.efi,,10.0.0.1\n"));
	assert_non_null(strstr(conf, "\ndhcp-boot=tag:ipxe,http://10.0.0.1:8081/boot.ipxe\n"));
	assert_null(strstr(conf, "proxy"));
	s_dnsmasq_test(out);
	const char *boot = s_read(out, "http/boot.ipxe");
	assert_non_null(boot);
	assert_non_null(strstr(boot, "#!ipxe\n"));
	assert_non_null(
	    strstr(boot, "chain http://10.0.0.1:8081/nodes/${mac}.ipxe || goto unknown"));
	const char *node = s_read(out, "http/nodes/52:54:00:00:00:ff.ipxe");
	assert_non_null(node);
	assert_non_null(strstr(node, "kernel http://10.0.0.1:8081/vmlinuz initrd=initramfs.img "
	                             "console=ttyS0 plexus.node=n2 "));
	assert_non_null(strstr(node, "\ninitrd http://10.0.0.1:8081/initramfs.img\n"));
	assert_non_null(strstr(node, "echo plexus-boot: ipxe: node n2,"));
	assert_non_null(strstr(node, "\nboot\n"));
	/* TFTP serves Debian's iPXE, HTTP links the image */
	struct stat st;
	snprintf(path, sizeof path, "%s/tftp/undionly.kpxe", out);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 10000);
	snprintf(path, sizeof path, "%s/tftp/ipxe.efi", out);
	assert_int_equal(stat(path, &st), 0);
	assert_string_equal(s_read(out, "http/vmlinuz"), "vmlinuz");
	assert_string_equal(s_read(out, "http/initramfs.img"), "initramfs.img");
	/* written again: the same files */
	assert_int_equal(plx_pxe_write(f->c, &f->s, out, err, sizeof err), 0);
	assert_int_equal(access(path, R_OK), 0);
}

static void test_write_proxy_dhcp(void **state)
{
	fx *f = *state;
	char err[512], out[128];
	plx_cluster *c = s_parse(f->image, "mode = proxy\n", err, sizeof err);
	assert_non_null(c);
	plx_pxe_settings s;
	assert_int_equal(plx_pxe_settings_read(c, &s, err, sizeof err), 0);
	assert_true(s.proxy);
	snprintf(out, sizeof out, "%s/proxy", f->dir);
	assert_int_equal(plx_pxe_write(c, &s, out, err, sizeof err), 0);
	const char *conf = s_read(out, "dnsmasq.conf");
	assert_non_null(strstr(conf, "\ndhcp-range=10.0.0.0,proxy,255.255.255.0\n"));
	assert_non_null(strstr(conf, "\npxe-service=tag:!ipxe,x86PC,\"plexus: iPXE (BIOS)\","
	                             "undionly.kpxe\n"));
	assert_non_null(strstr(conf, "\npxe-service=tag:ipxe,X86-64_EFI,\"plexus\","
	                             "http://10.0.0.1:8081/boot.ipxe\n"));
	assert_null(strstr(conf, "dhcp-host="));
	assert_null(strstr(conf, "enable-ra"));
	s_dnsmasq_test(out);
	/* nodes keep their cluster addresses: plexus.addr on the command line */
	const char *node = s_read(out, "http/nodes/52:54:00:00:00:fe.ipxe");
	assert_non_null(strstr(node, " plexus.addr=10.0.0.11/24 "));
	plx_cluster_destroy(&c);
}

/* ipv6_ra: router advertisements on the interface, which must be named. */
static void test_ipv6_ra(void **state)
{
	fx *f = *state;
	char err[512], out[128];
	plx_cluster *c = s_parse(f->image, "ipv6_ra = yes\n", err, sizeof err);
	assert_non_null(c);
	plx_pxe_settings s;
	assert_int_equal(plx_pxe_settings_read(c, &s, err, sizeof err), 0);
	assert_true(s.ipv6_ra);
	snprintf(out, sizeof out, "%s/ra", f->dir);
	assert_int_equal(plx_pxe_write(c, &s, out, err, sizeof err), 0);
	const char *conf = s_read(out, "dnsmasq.conf");
	assert_non_null(strstr(conf, "\nenable-ra\ndhcp-range=::,constructor:lo,ra-only\n"));
	s_dnsmasq_test(out);
	plx_cluster_destroy(&c);
	/* without an interface */
	plx_cluster_opts o = {.extra_sections = plx_pxe_extra_sections};
	c = plx_cluster_parse("[pxe]\nserver = 10.0.0.1\nipv6_ra = yes\n", "ra.ini", &o, err,
	                      sizeof err);
	assert_non_null(c);
	assert_int_equal(plx_pxe_settings_read(c, &s, err, sizeof err), -EINVAL);
	assert_string_equal(
	    err, "[pxe] ipv6_ra: needs interface: expected the interface to advertise on");
	plx_cluster_destroy(&c);
}

/* Runs the keys CGI as busybox httpd would for GET /cgi-bin/keys?query from addr; its output
 * in out. */
static void s_cgi(const char *srv, const char *addr, const char *query, char *out, size_t size)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "REMOTE_ADDR='%s' QUERY_STRING='%s' %s/http/cgi-bin/keys", addr,
	         query, srv);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	pclose(p);
}

/* Secures an endpoint named label as plexus-node would with the keys in dir (PLEXUS_LINK
 * naming link). */
static int s_secure_as(const char *dir, const char *link, const char *label)
{
	char path[256], err[512];
	snprintf(path, sizeof path, "%s/%s", dir, link);
	setenv("PLEXUS_KEYS", dir, 1);
	setenv("PLEXUS_LINK", path, 1);
	plx_ctx *ctx = plx_ctx_new();
	plx_ep *ep = plx_ep_new(ctx, label, 7);
	int rc = plx_link_secure(ctx, ep, err, sizeof err);
	plx_ep_destroy(&ep);
	plx_ctx_destroy(&ctx);
	unsetenv("PLEXUS_KEYS");
	unsetenv("PLEXUS_LINK");
	return rc;
}

/* The cluster file with [pxe] keys = a new trust root in the fixture's directory; the
 * settings in *s, the keys directory in keys. */
static plx_cluster *s_keyed(fx *f, plx_pxe_settings *s, char *keys, size_t size)
{
	char err[512], extra[192];
	snprintf(keys, size, "%s/trust", f->dir);
	assert_int_equal(plx_link_keys_make(keys, err, sizeof err), 0);
	snprintf(extra, sizeof extra, "keys = %s\n", keys);
	plx_cluster *c = s_parse(f->image, extra, err, sizeof err);
	assert_non_null(c);
	assert_int_equal(plx_pxe_settings_read(c, s, err, sizeof err), 0);
	assert_string_equal(s->keys, keys);
	snprintf(s->cli, sizeof s->cli, "%s", PLEXUS_CLI_BIN);
	return c;
}

/* A node's two public keys as the CGI's query: CURVE_HEX&ETCD_HEX; the etcd key's PEM in
 * etcd_pub. */
static void s_query(plx_link_keys *node, char *etcd_pub, size_t pub_size, char *query, size_t size)
{
	char key[4096];
	assert_int_equal(plx_link_keys_new(node), 0);
	assert_int_equal(plx_etcd_tls_key_new(key, sizeof key, etcd_pub, pub_size), 0);
	char hex[2 * PLX_KEY_TEXT], ehex[8192];
	sodium_bin2hex(hex, sizeof hex, (const unsigned char *)node->public_key, PLX_KEY_TEXT - 1);
	sodium_bin2hex(ehex, sizeof ehex, (const unsigned char *)etcd_pub, strlen(etcd_pub));
	snprintf(query, size, "%s&%s", hex, ehex);
}

/* A PEM certificate from a line of hex (ends at '\n'). */
static X509 *s_x509(const char *hex)
{
	static char pem[8192];
	size_t len = 0;
	assert_int_equal(sodium_hex2bin((unsigned char *)pem, sizeof pem - 1, hex,
	                                strcspn(hex, "\n"), NULL, &len, NULL),
	                 0);
	pem[len] = '\0';
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	assert_non_null(x);
	return x;
}

/* The etcd lines of an answer: the authority signed the certificate, which is for pub, names
 * addr, and has the common name cn (NULL: none). */
static void s_check_etcd(const char *lines, const char *pub, const char *addr, const char *cn)
{
	X509 *ca = s_x509(lines), *cert = s_x509(strchr(lines, '\n') + 1);
	assert_int_equal(X509_verify(cert, X509_get0_pubkey(ca)), 1);
	BIO *bio = BIO_new_mem_buf(pub, -1);
	EVP_PKEY *key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	assert_int_equal(EVP_PKEY_eq(key, X509_get0_pubkey(cert)), 1);
	assert_int_equal(X509_check_ip_asc(cert, addr, 0), 1);
	assert_int_equal(X509_check_ip_asc(cert, "10.0.0.99", 0), 0);
	char got[64] = "";
	int n =
	    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, got, sizeof got);
	if (cn)
		assert_string_equal(got, cn);
	else
		assert_int_equal(n, -1);
	EVP_PKEY_free(key);
	X509_free(cert);
	X509_free(ca);
}

/* The CGI's answer to addr (query: node's keys) ends with "etcd USER HEX": user, and a
 * password sealed to node's key that only it opens: the one derived from the root for user
 * (root's: keys/etcd.password). */
static void s_check_etcd_user(const char *srv, const char *keys, const char *addr,
                              const char *query, const plx_link_keys *node, const char *user)
{
	char got[16384], line[512], want[PLX_ETCD_PASSWORD_MAX + 1], pw[128];
	s_cgi(srv, addr, query, got, sizeof got);
	char *last = got + strlen(got) - 1;
	*last = '\0';
	snprintf(line, sizeof line, "%s", strrchr(got, '\n') + 1);
	char name[80], sealed[400];
	assert_int_equal(sscanf(line, "etcd %79s %399s", name, sealed), 2);
	assert_string_equal(name, user);
	assert_int_equal(plx_link_unseal(node, sealed, pw, sizeof pw), 0);
	if (strcmp(user, "root") == 0) {
		snprintf(want, sizeof want, "%s", s_read(keys, "etcd.password"));
		want[strcspn(want, "\n")] = '\0';
	} else {
		uint8_t sk[PLX_TRUST_SECRET];
		assert_int_equal(plx_link_issuer(keys, sk), 0);
		plx_link_etcd_password(sk, user, want, sizeof want);
	}
	assert_string_equal(pw, want);
	plx_link_keys other;
	assert_int_equal(plx_link_keys_new(&other), 0);
	assert_int_equal(plx_link_unseal(&other, sealed, pw, sizeof pw), -EBADMSG);
	assert_int_equal(plx_link_unseal(node, "00ff", pw, sizeof pw), -EBADMSG);
}

/* The CGI certifies the keys a node sends, for the node at the address asking: the answer's
 * certificate is the trust root's, for node.n2 and that key, and etcd's (once the keys
 * directory has etcd's authority) is the authority's for that key and address; any other
 * address, or a query that is not two keys in lowercase hex, gets 403. */
static void test_keys_certified_per_address(void **state)
{
	fx *f = *state;
	char err[512], keys[128], srv[128], path[256], got[16384];
	plx_pxe_settings s;
	plx_cluster *c = s_keyed(f, &s, keys, sizeof keys);
	char cmd[1024];
	assert_true(plx_pxe_node_cmdline(c, &s, plx_cluster_find_node(c, "n2"), cmd, sizeof cmd) >
	            0);
	assert_non_null(strstr(cmd, " plexus.keys=http://10.0.0.1:8081/cgi-bin/keys"));
	snprintf(srv, sizeof srv, "%s/srv", f->dir);
	assert_int_equal(plx_pxe_write(c, &s, srv, err, sizeof err), 0);
	struct stat st;
	snprintf(path, sizeof path, "%s/keys", srv);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_string_equal(s_read(srv, "keys/10.0.0.12"), "n2\n");

	plx_link_keys node;
	char etcd_pub[4096], query[16384];
	s_query(&node, etcd_pub, sizeof etcd_pub, query, sizeof query);
	s_cgi(srv, "10.0.0.12", query, got, sizeof got);
	const char *head = "Content-Type: text/plain\r\n\r\nplexus-cert-1\n";
	assert_memory_equal(got, head, strlen(head));
	uint8_t pk[PLX_TRUST_PUBLIC];
	size_t len = 0;
	char *root = got + strlen(head), *cert = strchr(root, '\n') + 1;
	char *etcd = strchr(cert, '\n') + 1;
	assert_int_equal(sodium_hex2bin(pk, sizeof pk, root, 64, NULL, &len, NULL), 0);
	char pub[80];
	snprintf(pub, sizeof pub, "%.64s\n", root);
	assert_string_equal(s_read(keys, "root.pub"), pub); /* the cluster's own root */
	assert_string_equal(etcd, "-\n-\n-\n");             /* no etcd authority nor users yet */
	*strchr(cert, '\n') = '\0';
	plx_name who;
	char key[PLX_KEY_TEXT];
	assert_int_equal(plx_cert_check(pk, cert, &who, key), 0);
	assert_string_equal(who.label, "node.n2");
	assert_int_equal(who.generation, 0);
	assert_string_equal(key, node.public_key);
	s_cgi(srv, "::ffff:10.0.0.12", query, got, sizeof got);
	assert_non_null(strstr(got, "plexus-cert-1\n"));
	/* with etcd's authority (plexus keys init --etcd): etcd's certificate too */
	const char *ips[] = {"10.0.0.2"};
	assert_int_equal(plx_etcd_tls_make(keys, ips, 1, err, sizeof err), 0);
	s_cgi(srv, "10.0.0.12", query, got, sizeof got);
	assert_memory_equal(got, head, strlen(head));
	etcd = strchr(strchr(got + strlen(head), '\n') + 1, '\n') + 1;
	s_check_etcd(etcd, etcd_pub, "10.0.0.12", NULL);
	assert_int_equal(access(strcat(strcpy(path, srv), "/keys/10.0.0.12.member"), F_OK), -1);
	/* head is role = etcd: its certificate is a member's (CN etcd, for its peer port) */
	assert_string_equal(s_read(srv, "keys/10.0.0.2.member"), "");
	s_cgi(srv, "10.0.0.2", query, got, sizeof got);
	assert_memory_equal(got, head, strlen(head));
	etcd = strchr(strchr(got + strlen(head), '\n') + 1, '\n') + 1;
	s_check_etcd(etcd, etcd_pub, "10.0.0.2", "etcd");
	/* with etcd's passwords: each node's user, its password sealed to the node's key */
	assert_int_equal(plx_etcd_passwords_write(keys, err, sizeof err), 0);
	s_check_etcd_user(srv, keys, "10.0.0.12", query, &node, "n-n2");
	s_check_etcd_user(srv, keys, "10.0.0.2", query, &node, "root"); /* a member's */

	static const char *const addrs[] = {"10.0.0.99", "10.0.0.1",   "../keys/10.0.0.12",
	                                    "",          "10.0.0.12 ", "*"};
	for (size_t i = 0; i < sizeof addrs / sizeof *addrs; i++) {
		s_cgi(srv, addrs[i], query, got, sizeof got);
		assert_non_null(strstr(got, "Status: 403 Forbidden\r\n"));
		assert_null(strstr(got, "plexus-cert-1"));
	}
	char upper[16384], curve_only[96], extra[16500];
	snprintf(upper, sizeof upper, "%s", query);
	upper[0] = 'A';
	snprintf(curve_only, sizeof curve_only, "%.80s", query);
	snprintf(extra, sizeof extra, "%s&00", query);
	const char *queries[] = {"", "abc", upper, curve_only, extra, "x;touch${IFS}/tmp/pwned"};
	for (size_t i = 0; i < sizeof queries / sizeof *queries; i++) {
		s_cgi(srv, "10.0.0.12", queries[i], got, sizeof got);
		assert_non_null(strstr(got, "Status: 403 Forbidden\r\n"));
	}
	/* a query of the right shape that is no key: refused by plexus pxe issue */
	snprintf(extra, sizeof extra, "%.80s&00", query);
	s_cgi(srv, "10.0.0.12", extra, got, sizeof got);
	assert_non_null(strstr(got, "Status: 400 Bad Request\r\n"));
	assert_null(strstr(got, "plexus-cert-1"));
	/* check explains it; without root.key it is a problem and nothing is written */
	char *explained = NULL;
	FILE *out = open_memstream(&explained, &len);
	assert_int_equal(plx_pxe_keys_check(&s, out), 0);
	fclose(out);
	assert_non_null(strstr(explained,
	                       "gets a certificate from "
	                       "http://10.0.0.1:8081/cgi-bin/keys (only at its address)"));
	free(explained);
	snprintf(path, sizeof path, "%s/root.key", keys);
	assert_int_equal(unlink(path), 0);
	out = open_memstream(&explained, &len);
	assert_int_equal(plx_pxe_keys_check(&s, out), 1);
	fclose(out);
	assert_non_null(strstr(explained, "root.key: No such file or directory"));
	free(explained);
	assert_int_equal(plx_pxe_write(c, &s, srv, err, sizeof err), -ENOENT);
	plx_cluster_destroy(&c);
	c = s_parse(f->image, "keys = relative/dir\n", err, sizeof err);
	assert_int_equal(plx_pxe_settings_read(c, &s, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "[pxe] keys \"relative/dir\": expected an absolute path"));
	plx_cluster_destroy(&c);
}

/* A free TCP port on 127.0.0.1. */
static int s_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/* The node's side against busybox httpd serving the CGI on 127.0.0.1 (taken as node n2's
 * address), with etcd's authority in the keys directory: plx_link_fetch makes its key pairs,
 * gets them certified, and writes root.pub, node.n2.link (0600) that secures node.n2 and
 * nothing else, and etcd's client files (the key 0600); a fetch for another label, or from an
 * address the server does not know, fails and writes nothing. */
static void test_node_fetches_its_certificate(void **state)
{
	fx *f = *state;
	char err[512], keys[128], srv[128], path[256], url[128], dir[128];
	plx_pxe_settings s;
	plx_cluster *c = s_keyed(f, &s, keys, sizeof keys);
	const char *ips[] = {"10.0.0.2"};
	assert_int_equal(plx_etcd_tls_make(keys, ips, 1, err, sizeof err), 0);
	assert_int_equal(plx_etcd_passwords_write(keys, err, sizeof err), 0);
	snprintf(srv, sizeof srv, "%s/srv", f->dir);
	assert_int_equal(plx_pxe_write(c, &s, srv, err, sizeof err), 0);
	plx_cluster_destroy(&c);
	snprintf(path, sizeof path, "%s/keys/127.0.0.1", srv);
	FILE *fp = fopen(path, "w");
	fputs("n2\n", fp);
	fclose(fp);
	char listen[32], root[160];
	snprintf(listen, sizeof listen, "127.0.0.1:%d", s_free_port());
	snprintf(root, sizeof root, "%s/http", srv);
	f->httpd = fork();
	if (f->httpd == 0) {
		execlp("busybox", "busybox", "httpd", "-f", "-p", listen, "-h", root, (char *)NULL);
		_exit(127);
	}
	snprintf(url, sizeof url, "http://%s/cgi-bin/keys", listen);
	snprintf(dir, sizeof dir, "%s/node", f->dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	int rc = -1;
	for (int i = 0; i < 50 && rc != 0; i++) { /* httpd starting */
		rc = plx_link_fetch(url, "node.n2", dir, err, sizeof err);
		if (rc != 0)
			usleep(100000);
	}
	if (rc != 0)
		print_error("%s\n", err);
	assert_int_equal(rc, 0);
	struct stat st;
	snprintf(path, sizeof path, "%s/node.n2.link", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	char *pub = strdup(s_read(keys, "root.pub"));
	assert_string_equal(s_read(dir, "root.pub"), pub);
	free(pub);
	assert_int_equal(s_secure_as(dir, "node.n2.link", "node.n2"), 0);
	assert_int_not_equal(s_secure_as(dir, "node.n2.link", "node.n1"), 0);
	assert_int_not_equal(s_secure_as(dir, "node.n2.link", "rs"), 0);
	/* its etcd user in the link file, where plx_etcd_new finds it (PLEXUS_LINK) */
	setenv("PLEXUS_LINK", path, 1);
	plx_etcd *etcd = plx_etcd_new(&(plx_etcd_opts){.endpoints = "https://127.0.0.1:1"});
	unsetenv("PLEXUS_LINK");
	assert_non_null(etcd);
	assert_string_equal(plx_etcd_user(etcd), "n-n2");
	plx_etcd_destroy(&etcd);
	/* etcd's files, where plx_etcd_new looks (plexus/etcd_tls.h) */
	snprintf(path, sizeof path, "%s/etcd-client.key", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	char *ca = strdup(s_read(keys, "etcd-ca.crt"));
	assert_string_equal(s_read(dir, "etcd-ca.crt"), ca);
	free(ca);
	char ca_path[PATH_MAX], cert_path[PATH_MAX], key_path[PATH_MAX];
	assert_int_equal(plx_etcd_tls_files(dir, ca_path, cert_path, key_path), 0);
	FILE *cf = fopen(cert_path, "r"), *kf = fopen(key_path, "r"), *af = fopen(ca_path, "r");
	X509 *mine = PEM_read_X509(cf, NULL, NULL, NULL),
	     *auth = PEM_read_X509(af, NULL, NULL, NULL);
	EVP_PKEY *priv = PEM_read_PrivateKey(kf, NULL, NULL, NULL);
	fclose(cf), fclose(kf), fclose(af);
	assert_int_equal(X509_verify(mine, X509_get0_pubkey(auth)), 1);
	assert_int_equal(X509_check_private_key(mine, priv), 1);
	assert_int_equal(X509_check_ip_asc(mine, "127.0.0.1", 0), 1);
	X509_free(mine), X509_free(auth), EVP_PKEY_free(priv);
	/* the server certifies n2 at this address, whatever label is asked for */
	assert_int_equal(plx_link_fetch(url, "node.n1", dir, err, sizeof err), -EBADMSG);
	assert_non_null(strstr(err, "not the root's for node.n1"));
	snprintf(path, sizeof path, "%s/node.n1.link", dir);
	assert_int_not_equal(access(path, F_OK), 0);
	snprintf(path, sizeof path, "%s/keys/127.0.0.1", srv);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(plx_link_fetch(url, "node.n2", dir, err, sizeof err), -EACCES);
	assert_non_null(strstr(err, "HTTP 403"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_settings_and_cmdline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_several_etcd_members, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_setting_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_check_explains_and_finds_problems, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_write_full_dhcp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_proxy_dhcp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ipv6_ra, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_keys_certified_per_address, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_node_fetches_its_certificate, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
