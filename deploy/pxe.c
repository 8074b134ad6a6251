/*
 * pxe.c — the PXE server's files from the cluster description (plexus/pxe.h).
 *
 * Entry points: plx_pxe_settings_read, plx_pxe_node_cmdline, plx_pxe_check, plx_pxe_write,
 * plx_pxe_extra_sections.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <plexus/pxe.h>

const char *const plx_pxe_extra_sections[] = {"pxe", NULL};

static int s_fail(char *err, size_t size, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, size, fmt, ap);
	va_end(ap);
	return code;
}

static bool s_ipv4(const char *text, uint32_t *be)
{
	struct in_addr a;
	if (inet_pton(AF_INET, text, &a) != 1)
		return false;
	if (be)
		*be = a.s_addr;
	return true;
}

/* The prefix length of a contiguous netmask, or -1. */
static int s_prefix(uint32_t mask_be)
{
	uint32_t m = ntohl(mask_be);
	int n = 0;
	while (n < 32 && (m & (0x80000000u >> n)))
		n++;
	return (n == 32 || (m << n) == 0) && n > 0 ? n : -1;
}

static int s_copy_ip(const plx_cluster *c, const char *key, char *out, char *err, size_t size)
{
	const char *v = plx_cluster_extra(c, "pxe", key);
	if (!v)
		return 0;
	if (!s_ipv4(v, NULL))
		return s_fail(err, size, -EINVAL, "[pxe] %s \"%s\": expected an IPv4 address", key,
		              v);
	snprintf(out, 16, "%s", v);
	return 0;
}

/* The role = etcd nodes' URLs into s: clients' at :2379 into s->etcd (unless [cluster] etcd
 * named them), and, when there are several, NAME=URL of their peer ports at :2380 into
 * s->etcd_peers. https when the keys directory holds etcd's authority (each member then gets
 * its certificate from the keys CGI). */
static void s_etcd_members(const plx_cluster *c, plx_pxe_settings *s)
{
	char path[1100], clients[sizeof s->etcd] = "", peers[sizeof s->etcd_peers] = "";
	snprintf(path, sizeof path, "%s/etcd-ca.key", s->keys);
	const char *scheme = s->keys[0] && access(path, F_OK) == 0 ? "https" : "http";
	size_t nc = 0, np = 0, members = 0;
	for (size_t i = 0; i < c->nnodes; i++) {
		const plx_cluster_node *n = &c->nodes[i];
		if (!plx_cluster_node_has_role(n, "etcd"))
			continue;
		const char *sep = members++ ? "," : "";
		nc += (size_t)snprintf(clients + nc, nc < sizeof clients ? sizeof clients - nc : 0,
		                       "%s%s://%s:2379", sep, scheme, n->addr);
		np += (size_t)snprintf(peers + np, np < sizeof peers ? sizeof peers - np : 0,
		                       "%s%s=%s://%s:2380", sep, n->name, scheme, n->addr);
	}
	if (c->etcd[0])
		snprintf(s->etcd, sizeof s->etcd, "%s", c->etcd);
	else if (members && nc < sizeof clients)
		snprintf(s->etcd, sizeof s->etcd, "%s", clients);
	else
		snprintf(s->etcd, sizeof s->etcd, "http://%s:2379", s->server);
	if (members > 1 && np < sizeof peers)
		snprintf(s->etcd_peers, sizeof s->etcd_peers, "%s", peers);
}

int plx_pxe_settings_read(const plx_cluster *c, plx_pxe_settings *out, char *err, size_t size)
{
	plx_pxe_settings s = {.netmask = "255.255.255.0",
	                      .http_port = 8080,
	                      .cmdline = "console=ttyS0",
	                      .ipxe_dir = "/usr/lib/ipxe"};
	int r = s_copy_ip(c, "server", s.server, err, size);
	if (r == 0)
		r = s_copy_ip(c, "netmask", s.netmask, err, size);
	if (r == 0)
		r = s_copy_ip(c, "router", s.router, err, size);
	if (r < 0)
		return r;
	if (!s.server[0])
		return s_fail(err, size, -EINVAL,
		              "[pxe] server: missing: expected this server's IPv4 address on the "
		              "boot network");
	uint32_t mask = 0;
	s_ipv4(s.netmask, &mask);
	if ((s.prefix = s_prefix(mask)) < 0)
		return s_fail(err, size, -EINVAL,
		              "[pxe] netmask \"%s\": expected a contiguous mask", s.netmask);
	const char *v = plx_cluster_extra(c, "pxe", "mode");
	if (v && strcmp(v, "proxy") != 0 && strcmp(v, "dhcp") != 0)
		return s_fail(err, size, -EINVAL, "[pxe] mode \"%s\": expected dhcp or proxy", v);
	s.proxy = v && strcmp(v, "proxy") == 0;
	if ((v = plx_cluster_extra(c, "pxe", "http_port"))) {
		char *end;
		long p = strtol(v, &end, 10);
		if (!*v || *end || p < 1 || p > 65535)
			return s_fail(err, size, -EINVAL,
			              "[pxe] http_port \"%s\": expected 1..65535", v);
		s.http_port = (int)p;
	}
	if ((v = plx_cluster_extra(c, "pxe", "interface"))) {
		if (!*v || strlen(v) > 15)
			return s_fail(err, size, -EINVAL,
			              "[pxe] interface \"%s\": expected a name of 1-15 characters",
			              v);
		snprintf(s.interface, sizeof s.interface, "%s", v);
	}
	if ((v = plx_cluster_extra(c, "pxe", "image")))
		snprintf(s.image, sizeof s.image, "%s", v);
	if ((v = plx_cluster_extra(c, "pxe", "cmdline")))
		snprintf(s.cmdline, sizeof s.cmdline, "%s", v);
	if ((v = plx_cluster_extra(c, "pxe", "ipv6_ra"))) {
		if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0)
			return s_fail(err, size, -EINVAL,
			              "[pxe] ipv6_ra \"%s\": expected yes or no", v);
		s.ipv6_ra = strcmp(v, "yes") == 0;
		if (s.ipv6_ra && !s.interface[0])
			return s_fail(err, size, -EINVAL,
			              "[pxe] ipv6_ra: needs interface: expected the interface to "
			              "advertise on");
	}
	if ((v = plx_cluster_extra(c, "pxe", "keys"))) {
		if (v[0] != '/' || strlen(v) >= sizeof s.keys)
			return s_fail(
			    err, size, -EINVAL,
			    "[pxe] keys \"%s\": expected an absolute path (plexus keys init "
			    "DIR)",
			    v);
		snprintf(s.keys, sizeof s.keys, "%s", v);
	}
	if ((v = plx_cluster_extra(c, "pxe", "ipxe_dir")))
		snprintf(s.ipxe_dir, sizeof s.ipxe_dir, "%s", v);
	s_etcd_members(c, &s);
	*out = s;
	return 0;
}

int plx_pxe_node_cmdline(const plx_cluster *c, const plx_pxe_settings *s, const plx_cluster_node *n,
                         char *out, size_t size)
{
	char addr[48] = "", role[PLX_CLUSTER_NAME_MAX + 16] = "", keys[160] = "", url[128];
	char peers[sizeof s->etcd_peers + 32] = "";
	if (s->etcd_peers[0] && plx_cluster_node_has_role(n, "etcd"))
		snprintf(peers, sizeof peers, " plexus.etcd_peers=%s", s->etcd_peers);
	if (s->keys[0] && plx_pxe_keys_url(s, url, sizeof url) > 0)
		snprintf(keys, sizeof keys, " plexus.keys=%s", url);
	if (s->proxy)
		snprintf(addr, sizeof addr, " plexus.addr=%s/%d", n->addr, s->prefix);
	if (n->role[0])
		snprintf(role, sizeof role, " plexus.role=%s", n->role);
	int len = snprintf(out, size,
	                   "%s plexus.node=%s plexus.cluster=%s plexus.etcd=%s%s%s%s "
	                   "plexus.lease_ttl=%d plexus.log=http://%s:%d/stage%s",
	                   s->cmdline, n->name, c->name, s->etcd, peers, role, addr,
	                   c->lease_ttl_ms / 1000, s->server, s->http_port, keys);
	return len < 0 || (size_t)len >= size ? -ENAMETOOLONG : len;
}

static bool s_same_net(const char *a, const char *b, int prefix)
{
	uint32_t x, y;
	if (!s_ipv4(a, &x) || !s_ipv4(b, &y))
		return false;
	uint32_t mask = prefix == 0 ? 0 : htonl(0xffffffffu << (32 - prefix));
	return (x & mask) == (y & mask);
}

int plx_pxe_check(const plx_cluster *c, const plx_pxe_settings *s, FILE *out)
{
	int problems = 0;
	fprintf(out, "cluster %s: %zu nodes, %zu services; etcd %s\n", c->name, c->nnodes,
	        c->nservices, s->etcd);
	fprintf(out, "server %s/%d: %s, TFTP for iPXE only, HTTP on port %d%s%s\n", s->server,
	        s->prefix, s->proxy ? "proxy DHCP beside the site's DHCP server" : "full DHCP",
	        s->http_port, s->interface[0] ? ", interface " : "", s->interface);
	for (size_t i = 0; i < c->nnodes; i++) {
		const plx_cluster_node *n = &c->nodes[i];
		char cmd[4096];
		plx_pxe_node_cmdline(c, s, n, cmd, sizeof cmd);
		fprintf(out, "\nnode %s  mac %s  addr %s%s%s  power %s\n", n->name, n->mac_text,
		        n->addr, n->role[0] ? "  role " : "", n->role, plx_power_name(n->power));
		fprintf(out, "  dhcp     %s\n",
		        s->proxy ? "address from the site's DHCP server; plexus.addr on the kernel "
		                   "command line"
		                 : "a static lease for its MAC");
		fprintf(out,
		        "  firmware BIOS: tftp undionly.kpxe / UEFI: tftp ipxe.efi; then iPXE "
		        "fetches http://%s:%d/boot.ipxe\n",
		        s->server, s->http_port);
		fprintf(out, "  script   http://%s:%d/nodes/%s.ipxe\n", s->server, s->http_port,
		        n->mac_text);
		fprintf(out, "  kernel   http://%s:%d/vmlinuz %s\n", s->server, s->http_port, cmd);
		fprintf(out, "  initrd   http://%s:%d/initramfs.img\n", s->server, s->http_port);
		fprintf(out, "  services");
		size_t k = 0;
		for (size_t j = 0; j < c->nservices; j++) {
			const plx_cluster_service *sv = &c->services[j];
			if (strcmp(sv->node, n->name) == 0)
				fprintf(out, " %s", sv->label), k++;
			for (size_t t = 0; t < sv->nstandby; t++)
				if (strcmp(sv->standby[t], n->name) == 0)
					fprintf(out, " (%s standby)", sv->label), k++;
		}
		fprintf(out, "%s\n", k ? "" : " none");
		if (!s_same_net(n->addr, s->server, s->prefix)) {
			fprintf(
			    out,
			    "problem: node %s: address %s is not on the server's network %s/%d\n",
			    n->name, n->addr, s->server, s->prefix);
			problems++;
		}
		if (strcmp(n->addr, s->server) == 0) {
			fprintf(out, "problem: node %s: address %s is the server's own\n", n->name,
			        n->addr);
			problems++;
		}
	}
	fprintf(out, "\n");
	problems += plx_pxe_keys_check(s, out);
	char path[PATH_MAX + 64];
	if (s->image[0]) {
		static const char *const files[] = {"vmlinuz", "initramfs.img"};
		for (size_t i = 0; i < 2; i++) {
			snprintf(path, sizeof path, "%s/%s", s->image, files[i]);
			if (access(path, R_OK) != 0) {
				fprintf(out,
				        "problem: %s: missing (run plexus image build --out %s)\n",
				        path, s->image);
				problems++;
			}
		}
	} else {
		fprintf(out, "problem: [pxe] image: not set: expected the directory of an image\n");
		problems++;
	}
	static const char *const boot[] = {"undionly.kpxe", "ipxe.efi"};
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "%s/%s", s->ipxe_dir, boot[i]);
		if (access(path, R_OK) != 0) {
			fprintf(out, "problem: %s: missing (install Debian's ipxe)\n", path);
			problems++;
		}
	}
	fprintf(out, "\n%d problem%s\n", problems, problems == 1 ? "" : "s");
	return problems;
}

static int s_write(const char *dir, const char *name, const char *text, char *err, size_t size)
{
	char path[PATH_MAX + 128];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "we");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		return s_fail(err, size, -EIO, "%s: cannot write", path);
	return 0;
}

static int s_copy(const char *src, const char *dst, char *err, size_t size)
{
	FILE *in = fopen(src, "re"), *out = in ? fopen(dst, "we") : NULL;
	char buf[65536];
	size_t n;
	int r = in && out ? 0 : -ENOENT;
	while (r == 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			r = -EIO;
	if (out && fclose(out) != 0)
		r = -EIO;
	if (in)
		fclose(in);
	return r < 0 ? s_fail(err, size, r, "%s: cannot copy to %s (is Debian's ipxe installed?)",
	                      src, dst)
	             : 0;
}

static int s_dnsmasq_conf(const plx_cluster *c, const plx_pxe_settings *s, const char *dir,
                          char *err, size_t size)
{
	size_t cap = 8192 + c->nnodes * 128;
	char *t = malloc(cap);
	if (!t)
		return -ENOMEM;
	uint32_t srv = 0, mask = 0;
	s_ipv4(s->server, &srv);
	s_ipv4(s->netmask, &mask);
	struct in_addr net = {.s_addr = srv & mask};
	char netw[16];
	inet_ntop(AF_INET, &net, netw, sizeof netw);
	size_t n = 0;
#define ADD(...) n += (size_t)snprintf(t + n, cap - n, __VA_ARGS__)
	ADD("# dnsmasq.conf for cluster %s, written by plexus pxe (docs/operators.md)\n", c->name);
	ADD("port=0\nno-resolv\nno-hosts\nbind-interfaces\n");
	if (s->interface[0])
		ADD("interface=%s\n", s->interface);
	else
		ADD("listen-address=%s\n", s->server);
	ADD("log-dhcp\nlog-facility=-\ndhcp-leasefile=%s/dnsmasq.leases\npid-file=%s/dnsmasq.pid\n",
	    dir, dir);
	ADD("user=root\n");
	ADD("# iPXE identifies itself by its user class (and option 175): it gets the boot script\n"
	    "# over HTTP, so it never loads itself again over TFTP\n");
	ADD("dhcp-userclass=set:ipxe,iPXE\ndhcp-match=set:ipxe,175\n");
	ADD("# iPXE setting no-pxedhcp (175.176): take this answer, wait for no ProxyDHCP offer\n");
	ADD("dhcp-option=tag:ipxe,encap:175,176,1b\n");
	ADD("dhcp-match=set:efi64,option:client-arch,7\ndhcp-match=set:efi64,option:client-arch,"
	    "9\n");
	if (s->proxy) {
		ADD("dhcp-range=%s,proxy,%s\n", netw, s->netmask);
		ADD("pxe-prompt=\"plexus\",0\n");
		ADD("pxe-service=tag:!ipxe,x86PC,\"plexus: iPXE (BIOS)\",undionly.kpxe\n");
		ADD("pxe-service=tag:!ipxe,X86-64_EFI,\"plexus: iPXE (UEFI)\",ipxe.efi\n");
		ADD("pxe-service=tag:ipxe,x86PC,\"plexus\",http://%s:%d/boot.ipxe\n", s->server,
		    s->http_port);
		ADD("pxe-service=tag:ipxe,X86-64_EFI,\"plexus\",http://%s:%d/boot.ipxe\n",
		    s->server, s->http_port);
	} else {
		ADD("dhcp-range=%s,static,%s,1h\n", netw, s->netmask);
		if (s->router[0])
			ADD("dhcp-option=option:router,%s\n", s->router);
		else
			ADD("dhcp-option=option:router\n");
		for (size_t i = 0; i < c->nnodes; i++)
			ADD("dhcp-host=%s,%s,%s\n", c->nodes[i].mac_text, c->nodes[i].addr,
			    c->nodes[i].name);
		ADD("dhcp-boot=tag:!ipxe,tag:!efi64,undionly.kpxe,,%s\n", s->server);
		ADD("dhcp-boot=tag:!ipxe,tag:efi64,ipxe.efi,,%s\n", s->server);
		ADD("dhcp-boot=tag:ipxe,http://%s:%d/boot.ipxe\n", s->server, s->http_port);
	}
	if (s->ipv6_ra)
		ADD("# router advertisements: iPXE's IPv6 set-up ends at once instead of timing "
		    "out\n"
		    "enable-ra\ndhcp-range=::,constructor:%s,ra-only\n",
		    s->interface);
	ADD("enable-tftp\ntftp-root=%s/tftp\n", dir);
#undef ADD
	int r = n >= cap ? s_fail(err, size, -E2BIG, "dnsmasq.conf: too long")
	                 : s_write(dir, "dnsmasq.conf", t, err, size);
	free(t);
	return r;
}

static int s_scripts(const plx_cluster *c, const plx_pxe_settings *s, const char *dir, char *err,
                     size_t size)
{
	char text[8192], name[64], cmd[4096], http[PATH_MAX + 16];
	snprintf(http, sizeof http, "%s/http", dir);
	snprintf(text, sizeof text,
	         "#!ipxe\n"
	         "# Every node asks for its own script by MAC address (cluster %s).\n"
	         "echo plexus-boot: ipxe: ${mac} got ${ip} from ${dhcp-server}, asking "
	         "http://%s:%d/nodes/${mac}.ipxe\n"
	         "chain http://%s:%d/nodes/${mac}.ipxe || goto unknown\n"
	         ":unknown\n"
	         "echo plexus-boot: ipxe: no node of cluster %s has MAC ${mac}, trying again in "
	         "30 s\n"
	         "sleep 30\n"
	         "reboot\n",
	         c->name, s->server, s->http_port, s->server, s->http_port, c->name);
	int r = s_write(http, "boot.ipxe", text, err, size);
	for (size_t i = 0; r == 0 && i < c->nnodes; i++) {
		const plx_cluster_node *n = &c->nodes[i];
		if (plx_pxe_node_cmdline(c, s, n, cmd, sizeof cmd) < 0)
			return s_fail(err, size, -ENAMETOOLONG,
			              "node %s: kernel command line too long", n->name);
		snprintf(text, sizeof text,
		         "#!ipxe\n"
		         "echo plexus-boot: ipxe: node %s, kernel and initramfs from "
		         "http://%s:%d\n"
		         "kernel http://%s:%d/vmlinuz initrd=initramfs.img %s\n"
		         "initrd http://%s:%d/initramfs.img\n"
		         "echo plexus-boot: ipxe: starting the kernel of node %s\n"
		         "boot\n",
		         n->name, s->server, s->http_port, s->server, s->http_port, cmd, s->server,
		         s->http_port, n->name);
		snprintf(name, sizeof name, "nodes/%s.ipxe", n->mac_text);
		r = s_write(http, name, text, err, size);
	}
	return r;
}

static int s_link(const char *target, const char *path, char *err, size_t size)
{
	unlink(path);
	if (symlink(target, path) != 0)
		return s_fail(err, size, -errno, "%s: cannot link to %s", path, target);
	return 0;
}

int plx_pxe_write(const plx_cluster *c, const plx_pxe_settings *s, const char *dir, char *err,
                  size_t size)
{
	char path[PATH_MAX + 64], src[PATH_MAX + 64];
	static const char *const sub[] = {"", "/tftp", "/http", "/http/nodes", "/http/stage"};
	for (size_t i = 0; i < sizeof sub / sizeof *sub; i++) {
		snprintf(path, sizeof path, "%s%s", dir, sub[i]);
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			return s_fail(err, size, -errno, "%s: cannot create: %s", path,
			              strerror(errno));
	}
	int r = s_dnsmasq_conf(c, s, dir, err, size);
	static const char *const boot[] = {"undionly.kpxe", "ipxe.efi"};
	for (size_t i = 0; r == 0 && i < 2; i++) {
		snprintf(src, sizeof src, "%s/%s", s->ipxe_dir, boot[i]);
		snprintf(path, sizeof path, "%s/tftp/%s", dir, boot[i]);
		r = s_copy(src, path, err, size);
	}
	if (r == 0)
		r = s_scripts(c, s, dir, err, size);
	static const char *const image[] = {"vmlinuz", "initramfs.img"};
	for (size_t i = 0; r == 0 && i < 2 && s->image[0]; i++) {
		snprintf(src, sizeof src, "%s/%s", s->image, image[i]);
		snprintf(path, sizeof path, "%s/http/%s", dir, image[i]);
		char real[PATH_MAX];
		if (!realpath(src, real))
			return s_fail(err, size, -ENOENT, "%s: missing (run plexus image build)",
			              src);
		r = s_link(real, path, err, size);
	}
	return r < 0 ? r : plx_pxe_keys_write(c, s, dir, err, size);
}
