/*
 * test-qemu.c — the netboot image booted under QEMU (TCG): one VM booting the kernel directly
 * and registering in an etcd on the host, driven through its serial console; and a PXE
 * cluster of three VMs (two BIOS, one UEFI) booting by iPXE from dnsmasq and HTTP inside a
 * network namespace, each registering its plexus-node.
 *
 * Entry points: main.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <plexus/endpoint.h>
#include <plexus/etcd.h>
#include <plexus/image.h>
#include <plexus/link_keys.h>
#include <plexus/link_security.h>
#include <plexus/qemu.h>
#include <plexus/qmp.h>
#include <plexus/transport.h>

#include "deploy_paths.h"
#include "etcd_harness.h"
#include "netns_harness.h"
#include "plexus/proto/ipc.pb-c.h"
#include "plexus/proto/node.pb-c.h"

static char s_image[] = "/tmp/plexus-test-image-XXXXXX";

static void s_rm_rf(const char *dir)
{
	char *argv[] = {"rm", "-rf", (char *)dir, NULL};
	pid_t pid = fork();
	if (pid == 0) {
		execvp("rm", argv);
		_exit(127);
	}
	waitpid(pid, NULL, 0);
}

/* Builds an image with plexus-node (and etcd when etcd is not NULL) into a new directory
 * made from the template dir (mkdtemp). Returns 0 or -1. */
static int s_image_make(char *dir, const char *etcd)
{
	if (!mkdtemp(dir))
		return -1;
	plx_image_opts o = {.out_dir = dir,
	                    .init = PLEXUS_INIT_BIN,
	                    .udhcpc_sh = PLEXUS_UDHCPC_SH,
	                    .etcd = etcd,
	                    .programs = {PLEXUS_NODE_BIN}};
	char err[1024];
	if (plx_image_build(&o, NULL, err, sizeof err) < 0) {
		print_error("image build: %s\n", err);
		return -1;
	}
	return 0;
}

/* Builds the image once for every test. */
static int group_setup(void **state)
{
	(void)state;
	return s_image_make(s_image, NULL);
}

static int group_teardown(void **state)
{
	(void)state;
	s_rm_rf(s_image);
	return 0;
}

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for key to exist in etcd. */
static int s_wait_key(const char *etcd, const char *key, int timeout_ms)
{
	plx_etcd_opts eo = {.endpoints = etcd, .timeout_ms = 2000};
	plx_etcd *e = plx_etcd_new(&eo);
	int64_t deadline = s_now_ms() + timeout_ms;
	int r = -ETIMEDOUT;
	do {
		plx_kv *kv = NULL;
		if (plx_etcd_get(e, key, &kv) == 0) {
			plx_kv_free(&kv);
			r = 0;
			break;
		}
		usleep(250000);
	} while (s_now_ms() < deadline);
	plx_etcd_destroy(&e);
	return r;
}

static int s_console_connect(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%.100s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

typedef struct single {
	plx_etcdh *etcd;
	char dir[64];
	pid_t vm;
	bool passed;
} single;

static int single_setup(void **state)
{
	single *f = calloc(1, sizeof *f);
	f->etcd = plx_etcdh_start(1);
	snprintf(f->dir, sizeof f->dir, "/tmp/plexus-test-vm-XXXXXX");
	if (!f->etcd || !mkdtemp(f->dir)) {
		print_error("etcd: %s\n", plx_etcdh_error());
		plx_etcdh_stop(&f->etcd);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int single_teardown(void **state)
{
	single *f = *state;
	if (f->vm > 0) {
		kill(-f->vm, SIGKILL);
		waitpid(f->vm, NULL, 0);
	}
	if (!f->passed) {
		char log[128];
		snprintf(log, sizeof log, "cat %s/*.log >&2", f->dir);
		if (system(log) != 0)
			print_error("no console log\n");
	}
	s_rm_rf(f->dir);
	plx_etcdh_stop(&f->etcd);
	free(f);
	return 0;
}

/* The image boots by -kernel/-initrd, plexus-init brings up the network by DHCP and starts
 * plexus-node, which registers in the host's etcd (reached through one guestfwd); a command
 * typed on the serial console runs in the shell; poweroff ends the VM. */
static void test_single_node_boot(void **state)
{
	single *f = *state;
	const char *url = plx_etcdh_url(f->etcd, 0); /* http://127.0.0.1:PORT */
	char fwd[64], kernel[128], initrd[128], append[256], cluster[32];
	snprintf(fwd, sizeof fwd, "%s", url + strlen("http://"));
	snprintf(kernel, sizeof kernel, "%s/vmlinuz", s_image);
	snprintf(initrd, sizeof initrd, "%s/initramfs.img", s_image);
	snprintf(cluster, sizeof cluster, "t%d", (int)getpid());
	snprintf(append, sizeof append,
	         "console=ttyS0 quiet no_timer_check plexus.node=solo plexus.cluster=%s "
	         "plexus.etcd=http://10.0.2.100:2379",
	         cluster);
	plx_vm_opts o = {.name = "solo",
	                 .dir = f->dir,
	                 .kernel = kernel,
	                 .initrd = initrd,
	                 .append = append,
	                 .etcd_fwd = fwd};
	char **argv = plx_vm_argv(&o);
	assert_non_null(argv);
	f->vm = fork();
	if (f->vm == 0) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	plx_vm_argv_free(&argv);
	char key[128], log[128], sock[128];
	snprintf(key, sizeof key, "/plexus/%s/nodes/solo", cluster);
	snprintf(log, sizeof log, "%s/solo.log", f->dir);
	snprintf(sock, sizeof sock, "%s/solo.console", f->dir);
	assert_int_equal(s_wait_key(f->etcd ? plx_etcdh_endpoints(f->etcd) : "", key, 180000), 0);
	assert_int_equal(plx_wait_file_text(log, "plexus-boot: ready: node solo", 30000), 0);
	assert_int_equal(plx_wait_file_text(log, "plexus-boot: network: eth0 10.0.2.15 by DHCP", 0),
	                 0);
	int fd = s_console_connect(sock);
	assert_true(fd >= 0);
	/* the shell may still be starting: type the command until its answer shows */
	const char *cmd = "\necho plexus-$((6*7))-ok; cat /etc/plexus/image\n";
	int64_t deadline = s_now_ms() + 60000;
	int r = -ETIMEDOUT;
	while (r != 0 && s_now_ms() < deadline) {
		assert_true(write(fd, cmd, strlen(cmd)) == (ssize_t)strlen(cmd));
		r = plx_wait_file_text(log, "plexus-42-ok", 3000);
	}
	assert_int_equal(r, 0);
	assert_int_equal(plx_wait_file_text(log, "etcd no", 5000), 0); /* /etc/plexus/image */
	/* the console stays connected until QEMU exits: a chardev socket whose client left
	 * stalls the guest's serial output */
	assert_true(write(fd, "poweroff\n", 9) == 9);
	int status = 0;
	deadline = s_now_ms() + 60000;
	pid_t w = 0;
	char sink[4096];
	while ((w = waitpid(f->vm, &status, WNOHANG)) == 0 && s_now_ms() < deadline) {
		while (recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0)
			continue;
		usleep(100000);
	}
	close(fd);
	assert_int_equal(w, f->vm);
	f->vm = 0;
	assert_true(WIFEXITED(status));
	assert_int_equal(plx_wait_file_text(log, "plexus-boot: shutdown: power off", 0), 0);
	f->passed = true;
}

/* A node that hosts its own etcd (plexus.role=etcd, image built with etcd and the plexus
 * command): init starts the member, plexus-node registers in it, and `plexus node ls` typed
 * on the serial console lists the node. Nothing outside the VM is involved. */
static void test_single_node_with_etcd(void **state)
{
	single *f = *state;
	char image[128], kernel[160], initrd[160];
	snprintf(image, sizeof image, "%s/etcd-image", f->dir);
	plx_image_opts io = {.out_dir = image,
	                     .init = PLEXUS_INIT_BIN,
	                     .udhcpc_sh = PLEXUS_UDHCPC_SH,
	                     .etcd = "/usr/bin/etcd",
	                     .programs = {PLEXUS_NODE_BIN, PLEXUS_CLI_BIN}};
	char err[1024];
	assert_int_equal(plx_image_build(&io, NULL, err, sizeof err), 0);
	snprintf(kernel, sizeof kernel, "%s/vmlinuz", image);
	snprintf(initrd, sizeof initrd, "%s/initramfs.img", image);
	plx_vm_opts o = {.name = "head",
	                 .dir = f->dir,
	                 .kernel = kernel,
	                 .initrd = initrd,
	                 .append =
	                     "console=ttyS0 quiet no_timer_check plexus.node=head plexus.role=etcd",
	                 .memory_mb = 512};
	char **argv = plx_vm_argv(&o);
	assert_non_null(argv);
	f->vm = fork();
	if (f->vm == 0) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	plx_vm_argv_free(&argv);
	char log[128], sock[128];
	snprintf(log, sizeof log, "%s/head.log", f->dir);
	snprintf(sock, sizeof sock, "%s/head.console", f->dir);
	assert_int_equal(plx_wait_file_text(log, "plexus-boot: etcd: member head on", 180000), 0);
	assert_int_equal(plx_wait_file_text(log, "plexus-boot: ready: node head", 60000), 0);
	int fd = s_console_connect(sock);
	assert_true(fd >= 0);
	const char *cmd = "\nplexus node ls | sed 's/^/listed: /'\n";
	int64_t deadline = s_now_ms() + 120000;
	int r = -ETIMEDOUT;
	char sink[4096];
	while (r != 0 && s_now_ms() < deadline) {
		assert_true(write(fd, cmd, strlen(cmd)) == (ssize_t)strlen(cmd));
		r = plx_wait_file_text(log, "listed: head ", 4000);
		while (recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0)
			continue;
	}
	assert_int_equal(r, 0);
	close(fd);
	f->passed = true;
}

typedef struct pxe {
	plx_qcluster *c;
	bool passed;
} pxe;

static int pxe_setup(void **state)
{
	pxe *f = calloc(1, sizeof *f);
	char err[1024];
	plx_qcluster_opts o = {.nodes = 3,
	                       .image = s_image,
	                       .memory_mb = 256,
	                       .cli = PLEXUS_CLI_BIN,
	                       .etcd_members = 3};
	f->c = plx_qcluster_new(&o, err, sizeof err);
	if (!f->c) {
		print_error("qemu cluster: %s\n", err);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int pxe_teardown(void **state)
{
	pxe *f = *state;
	if (!f->passed)
		plx_qcluster_failed(f->c);
	plx_qcluster_destroy(&f->c);
	free(f);
	return 0;
}

static int s_file_has(const char *dir, const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return plx_wait_file_text(path, text, 0);
}

/* Who speaks to vm1's node kernel from the hub in s_speak_to_vm1. */
enum { SPEAK_KEYED, SPEAK_PLAIN, SPEAK_OTHER_ROOT };

typedef struct s_speaker {
	const char *etcd, *cluster;
	int who;           /* SPEAK_* */
	int type;          /* IPC_PING, or NODE_START (as "rs", running `touch /tmp/pwned`) */
	char address[512]; /* out: vm1's node kernel's published address */
} s_speaker;

/* Sends one request to vm1's node kernel (run in the hub by netns_call): as "probe" with a
 * certificate from the cluster's root (PLEXUS_KEYS), or as "rs" with no keys at all (to the
 * address without its key part, as an attacker would dial it), or as "rs" with keys from a
 * root it made up. Returns sendrec's result. */
static int s_speak_to_vm1(void *arg)
{
	s_speaker *sp = arg;
	plx_etcd *e = plx_etcd_new(&(plx_etcd_opts){.endpoints = sp->etcd, .timeout_ms = 2000});
	plx_endpoint_rec node;
	int rc = e ? plx_endpoint_lookup(e, sp->cluster, "node.vm1", &node) : -ENOMEM;
	plx_etcd_destroy(&e);
	if (rc < 0)
		return rc;
	snprintf(sp->address, sizeof sp->address, "%s", node.address);
	plx_ctx *ctx = plx_ctx_new();
	plx_ep *ep = plx_ep_new(ctx, sp->who == SPEAK_KEYED ? "probe" : "rs", 1);
	const char *address = node.address;
	char err[512];
	if (sp->who == SPEAK_KEYED)
		rc = plx_link_secure(ctx, ep, err, sizeof err);
	else if (sp->who == SPEAK_PLAIN && strncmp(address, "curve:", 6) == 0)
		address += 6 + PLX_KEY_TEXT;
	if (sp->who == SPEAK_OTHER_ROOT) {
		uint8_t pk[PLX_TRUST_PUBLIC], sk[PLX_TRUST_SECRET];
		plx_link_keys keys;
		char cert[PLX_CERT_MAX];
		if ((rc = plx_trust_new(pk, sk)) == 0 && (rc = plx_ctx_trust(ctx, pk)) == 0 &&
		    (rc = plx_link_issue(sk, plx_ep_name(ep), &keys, cert, sizeof cert)) == 0)
			rc = plx_ep_set_keys(ep, &keys, cert);
	}
	if (rc == 0)
		rc = plx_route_set(ctx, node.label, node.generation, address);
	char *argv[] = {"sh", "-c", "touch /tmp/pwned", NULL};
	Plexus__NodeStart start = PLEXUS__NODE_START__INIT;
	start.label = "pwn";
	start.program = "/bin/sh";
	start.argv = argv;
	start.n_argv = 3;
	start.generation = 77;
	Plexus__IpcPing ping = PLEXUS__IPC_PING__INIT;
	plx_request req = {.dst = {.generation = node.generation},
	                   .type = sp->type,
	                   .body =
	                       sp->type == PLEXUS__IPC_TYPE__IPC_PING ? &ping.base : &start.base};
	snprintf(req.dst.label, sizeof req.dst.label, "%s", node.label);
	plx_msg *reply = NULL;
	if (rc == 0)
		rc = plx_sendrec(ep, &req, &reply, 3000);
	plx_msg_destroy(&reply);
	plx_ep_destroy(&ep);
	plx_ctx_destroy(&ctx);
	return rc;
}

/* Looks node.vm1 up in the hub's etcd without the cluster's keys (run in the hub by
 * netns_call). Returns the lookup's result. */
static int s_etcd_without_keys(void *arg)
{
	s_speaker *sp = arg;
	char *keys = strdup(getenv("PLEXUS_KEYS"));
	unsetenv("PLEXUS_KEYS");
	plx_etcd *e = plx_etcd_new(&(plx_etcd_opts){.endpoints = sp->etcd, .timeout_ms = 2000});
	plx_endpoint_rec node;
	int rc = e ? plx_endpoint_lookup(e, sp->cluster, "node.vm1", &node) : -ENOMEM;
	plx_etcd_destroy(&e);
	setenv("PLEXUS_KEYS", keys, 1);
	free(keys);
	return rc;
}

/* After RS turned etcd's authentication on (run in the hub by netns_call): the cluster's
 * root finds it on; node kernel vm1's user (its password derived from the root, as the PXE
 * server hands it to vm1) reads the registry but may not write another's record; a wrong
 * password is refused. Returns 0, or the step that went otherwise (1-4). */
static int s_etcd_rights(void *arg)
{
	s_speaker *sp = arg;
	uint8_t sk[PLX_TRUST_SECRET];
	char pw[PLX_ETCD_PASSWORD_MAX], key[256];
	if (plx_link_issuer(NULL, sk) < 0)
		return 1;
	plx_link_etcd_password(sk, "n-vm1", pw, sizeof pw);
	plx_etcd *root = plx_etcd_new(&(plx_etcd_opts){.endpoints = sp->etcd, .timeout_ms = 3000});
	int on = root ? plx_etcd_auth_on(root) : -ENOMEM;
	plx_etcd_destroy(&root);
	if (on != 1)
		return 2;
	plx_etcd *vm1 = plx_etcd_new(&(plx_etcd_opts){
	    .endpoints = sp->etcd, .user = "n-vm1", .password = pw, .timeout_ms = 3000});
	plx_kv *kv = NULL;
	snprintf(key, sizeof key, "/plexus/%s/nodes/vm1", sp->cluster);
	int read = -ENOENT; /* vm1's record, written by its node kernel as n-vm1 (once seen to be
	                     * written anew right after the change: wait for it) */
	for (int i = 0; vm1 && i < 1200 && read == -ENOENT; i++) {
		if ((read = plx_etcd_get(vm1, key, &kv)) == -ENOENT)
			usleep(250000);
		plx_kv_free(&kv);
	}
	snprintf(key, sizeof key, "/plexus/%s/ep/vfs", sp->cluster);
	int forged = vm1 ? plx_etcd_put(vm1, key, "x", 1, 0, NULL) : -ENOMEM;
	plx_etcd_destroy(&vm1);
	if (read != 0 || forged != -EACCES)
		return 3;
	plx_etcd *wrong = plx_etcd_new(&(plx_etcd_opts){
	    .endpoints = sp->etcd, .user = "n-vm1", .password = "guess", .timeout_ms = 3000});
	read = wrong ? plx_etcd_get(wrong, key, &kv) : -ENOMEM;
	plx_kv_free(&kv);
	plx_etcd_destroy(&wrong);
	return read == -EACCES ? 0 : 4;
}

/* The cluster is secured (plx_qcluster_opts.insecure false): vm1's node kernel published a
 * CURVE key and answers a key holder; a forged NODE_START claiming to come from rs, with no
 * keys or with keys from another root, gets no answer at all. */
static void s_vm1_refuses_forgers(pxe *f)
{
	s_speaker sp = {.etcd = plx_qcluster_etcd(f->c),
	                .cluster = plx_qcluster_name(f->c),
	                .who = SPEAK_KEYED,
	                .type = PLEXUS__IPC_TYPE__IPC_PING};
	netns_cluster *nc = plx_qcluster_netns(f->c);
	assert_int_equal(netns_call(nc, NETNS_HUB, s_speak_to_vm1, &sp), 0);
	assert_memory_equal(sp.address, "curve:", 6);
	sp.who = SPEAK_PLAIN;
	assert_int_equal(netns_call(nc, NETNS_HUB, s_speak_to_vm1, &sp), -ETIMEDOUT);
	sp.type = PLEXUS__NODE_TYPE__NODE_START;
	assert_int_equal(netns_call(nc, NETNS_HUB, s_speak_to_vm1, &sp), -ETIMEDOUT);
	sp.who = SPEAK_OTHER_ROOT;
	assert_int_equal(netns_call(nc, NETNS_HUB, s_speak_to_vm1, &sp), -ETIMEDOUT);
	sp.who = SPEAK_KEYED; /* and it still answers a key holder */
	sp.type = PLEXUS__IPC_TYPE__IPC_PING;
	assert_int_equal(netns_call(nc, NETNS_HUB, s_speak_to_vm1, &sp), 0);
	/* the registry serves https only, to certificates of its authority */
	assert_memory_equal(sp.etcd, "https://", 8);
	assert_true(netns_call(nc, NETNS_HUB, s_etcd_without_keys, &sp) < 0);
}

/* The hub's etcd has three members and every VM was given them all: one member killed, each
 * node kernel keeps its lease (the same generation, still registered) through two lease TTLs. */
static void s_etcd_member_dies(pxe *f)
{
	int64_t before[3], after[3];
	for (int i = 0; i < 3; i++)
		assert_int_equal(plx_qcluster_node_generation(f->c, i, &before[i]), 0);
	assert_non_null(strchr(plx_qcluster_etcd(f->c), ','));
	assert_int_equal(plx_etcdh_kill(netns_hub_etcd(plx_qcluster_netns(f->c)), 0), 0);
	sleep(13); /* the cluster's lease is 6 s */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(plx_qcluster_node_generation(f->c, i, &after[i]), 0);
		assert_int_equal(after[i], before[i]);
	}
}

/* Three VMs power on at once and boot by iPXE (vm3 through OVMF's UEFI): DHCP from dnsmasq
 * (the user class keeps iPXE from loading itself again), the boot script and the node's own
 * script, kernel and initramfs over HTTP, and a certificate for the key the node made (only at
 * its address); each
 * plexus-node registers in the hub's etcd on secured links; every stage shows on the VM's
 * console and in the server's log; forgers get no answer from a node kernel, and etcd none
 * without a certificate of its authority; etcd, three members, loses one and no node notices. */
static void test_pxe_cluster_boot(void **state)
{
	pxe *f = *state;
	assert_int_equal(plx_qcluster_start_vm(f->c, 0, false), 0);
	assert_int_equal(plx_qcluster_start_vm(f->c, 1, false), 0);
	assert_int_equal(plx_qcluster_start_vm(f->c, 2, true), 0);
	assert_int_equal(plx_qcluster_wait_nodes(f->c, 0x7, 420000), 0);
	const char *dir = plx_qcluster_dir(f->c);
	static const char *const vms[] = {"vm1", "vm2", "vm3"};
	for (int i = 0; i < 3; i++) {
		char log[16], text[128];
		snprintf(log, sizeof log, "%s.log", vms[i]);
		snprintf(text, sizeof text, "plexus-boot: network: eth0 10.213.0.%d by DHCP",
		         101 + i);
		assert_int_equal(s_file_has(dir, log, text), 0);
		/* a certificate for its own key from the PXE server, then plexus-node on
		 * secured links */
		snprintf(text, sizeof text,
		         "plexus-boot: keys: a certificate for node.%s from "
		         "http://10.213.0.1:8080/cgi-bin/keys in /run/plexus/keys",
		         vms[i]);
		assert_int_equal(s_file_has(dir, log, text), 0);
		assert_int_equal(s_file_has(dir, log, ", secured links (pid "), 0);
		assert_int_equal(s_file_has(dir, log, ", etcd https://10.213.0.1:"), 0);
		/* the server's log: DHCP, the scripts, kernel and initramfs, init's stages */
		snprintf(text, sizeof text, "10.213.0.%d 52:54:00:a0:00:0%d %s", 101 + i, i + 1,
		         vms[i]);
		assert_int_equal(s_file_has(dir, "hub.log", text), 0);
		static const char *const urls[] = {
		    "boot.ipxe",        "nodes/52:54:00:a0:00:0%d.ipxe",
		    "vmlinuz",          "initramfs.img",
		    "stage/%s/network", "stage/%s/keys",
		    "cgi-bin/keys",     "stage/%s/node"};
		for (size_t u = 0; u < sizeof urls / sizeof *urls; u++) {
			char url[64];
			if (strstr(urls[u], "%d"))
				snprintf(url, sizeof url, urls[u], i + 1);
			else
				snprintf(url, sizeof url, urls[u], vms[i]);
			snprintf(text, sizeof text, "10.213.0.%d:", 101 + i);
			assert_int_equal(s_file_has(dir, "hub.log", text), 0);
			snprintf(text, sizeof text, "url:/%s", url);
			assert_int_equal(s_file_has(dir, "hub.log", text), 0);
		}
	}
	/* iPXE asked DHCP again without loading itself: every ACK to an iPXE client named the
	 * HTTP script, none the TFTP files */
	assert_int_equal(
	    s_file_has(dir, "hub.log", "bootfile-name  http://10.213.0.1:8080/boot.ipxe"), 0);
	assert_int_not_equal(s_file_has(dir, "hub.log", "bootfile-name  undionly.kpxe"), 0);
	/* OVMF mirrors its console to the serial port: vm3's shows iPXE's own stage lines */
	assert_int_equal(
	    s_file_has(dir, "vm3.log", "plexus-boot: ipxe: node vm3, kernel and initramfs"), 0);
	assert_int_equal(
	    s_file_has(dir, "vm3.log", "plexus-boot: ipxe: starting the kernel of node vm3"), 0);
	s_vm1_refuses_forgers(f);
	s_etcd_member_dies(f);
	f->passed = true;
}

/* A minimal QMP client: greeting, qmp_capabilities, then command; returns 0 when QEMU
 * answered {"return": ...}. */
static int s_qmp(const char *path, const char *command)
{
	int fd = s_console_connect(path);
	if (fd < 0)
		return -errno;
	char buf[8192], req[256];
	size_t len = 0;
	int answers = 0, need = 2, r = -EIO;
	snprintf(req, sizeof req, "{\"execute\": \"qmp_capabilities\"}\n");
	bool sent_cmd = false;
	int64_t deadline = s_now_ms() + 10000;
	while (s_now_ms() < deadline) {
		ssize_t n = recv(fd, buf + len, sizeof buf - len - 1, MSG_DONTWAIT);
		if (n > 0)
			len += (size_t)n;
		buf[len] = '\0';
		char *nl;
		while ((nl = strchr(buf, '\n'))) {
			*nl = '\0';
			bool greeting = strstr(buf, "\"QMP\"") != NULL;
			bool answer = strstr(buf, "\"return\"") != NULL;
			if (greeting || answer) {
				if (answer && ++answers == need) {
					r = 0;
					goto out;
				}
				const char *next = !answers ? req : NULL;
				char cmd[128];
				if (answers == 1 && !sent_cmd) {
					snprintf(cmd, sizeof cmd, "{\"execute\": \"%s\"}\n",
					         command);
					next = cmd;
					sent_cmd = true;
				}
				if (next && write(fd, next, strlen(next)) != (ssize_t)strlen(next))
					goto out;
			}
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len + 1);
		}
		usleep(20000);
	}
out:
	close(fd);
	return r;
}

/* RS's qemu power backend against a real VM: plexus-rs runs in the hub with the cluster's
 * file (power = qemu, power.qmp = the VM's QMP socket) and turns the hub etcd's
 * authentication on (each node kernel its own user); the VM is paused (its node lease
 * expires, as if it hung), RS power-cycles it through QMP (system_reset, cont), the VM
 * netboots again and its plexus-node registers anew as its etcd user, with a higher node
 * kernel generation. */
static void test_rs_power_cycles_vm(void **state)
{
	pxe *f = *state;
	const char *dir = plx_qcluster_dir(f->c);
	assert_int_equal(plx_qcluster_start_vm(f->c, 0, false), 0);
	assert_int_equal(plx_qcluster_wait_nodes(f->c, 0x1, 300000), 0);
	int64_t first = 0, again = 0;
	assert_int_equal(plx_qcluster_node_generation(f->c, 0, &first), 0);
	assert_int_equal(plx_qcluster_start_rs(f->c, PLEXUS_RS_BIN, "rs-qemu"), 0);
	char log[256];
	snprintf(log, sizeof log, "%s/hub.log", dir);
	assert_int_equal(plx_wait_file_text(log, "plexus-rs", 30000), 0);
	/* RS made the node kernels' etcd users and turned authentication on */
	assert_int_equal(plx_wait_file_text(log,
	                                    "etcd's authentication turned on (users "
	                                    "for 1 of 1 node kernels)",
	                                    30000),
	                 0);
	s_speaker sp = {.etcd = plx_qcluster_etcd(f->c), .cluster = plx_qcluster_name(f->c)};
	assert_int_equal(netns_call(plx_qcluster_netns(f->c), NETNS_HUB, s_etcd_rights, &sp), 0);

	char qmp[256];
	snprintf(qmp, sizeof qmp, "%s/vm1.qmp", dir);
	assert_int_equal(s_qmp(qmp, "stop"), 0);
	int64_t deadline = s_now_ms() + 15000;
	int r;
	while ((r = plx_qcluster_node_generation(f->c, 0, &again)) == 0 && s_now_ms() < deadline)
		usleep(100000);
	assert_int_equal(r, -ENOENT); /* the lease expired */
	assert_int_equal(plx_wait_file_text(log, "node vm1: power cycle 1 through qemu", 15000), 0);
	deadline = s_now_ms() + 300000;
	while ((r = plx_qcluster_node_generation(f->c, 0, &again)) != 0 && s_now_ms() < deadline)
		usleep(250000);
	assert_int_equal(r, 0);
	assert_true(first >= 1);
	assert_true(again > first);
	assert_int_equal(plx_wait_file_text(log, "node vm1: power cycled", 0), 0);
	/* it booted twice: two DHCP answers with the HTTP script, two init runs */
	snprintf(log, sizeof log, "%s/vm1.log", dir);
	FILE *fp = fopen(log, "r");
	assert_non_null(fp);
	char line[1024];
	int inits = 0;
	while (fgets(line, sizeof line, fp))
		inits += strstr(line, "plexus-boot: init: plexus-init on vm1") != NULL;
	fclose(fp);
	assert_true(inits >= 2); /* RS cycles again after 60 s when a loaded host boots it slower */
	f->passed = true;
}

static int pxe1_setup(void **state)
{
	pxe *f = calloc(1, sizeof *f);
	char err[1024];
	plx_qcluster_opts o = {
	    .nodes = 1, .image = s_image, .memory_mb = 256, .cli = PLEXUS_CLI_BIN};
	f->c = plx_qcluster_new(&o, err, sizeof err);
	if (!f->c) {
		print_error("qemu cluster: %s\n", err);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

/* An image with etcd (plexus-init starts a member on a role = etcd node) and plexus-node. */
static char s_etcd_image[] = "/tmp/plexus-test-etcd-image-XXXXXX";

static int etcd_group_setup(void **state)
{
	(void)state;
	return s_image_make(s_etcd_image, "/usr/bin/etcd");
}

static int etcd_group_teardown(void **state)
{
	(void)state;
	s_rm_rf(s_etcd_image);
	return 0;
}

static int pxe_etcd_setup(void **state)
{
	pxe *f = calloc(1, sizeof *f);
	char err[1024];
	plx_qcluster_opts o = {.nodes = 3,
	                       .image = s_etcd_image,
	                       .memory_mb = 512,
	                       .cli = PLEXUS_CLI_BIN,
	                       .vm_etcd = true};
	f->c = plx_qcluster_new(&o, err, sizeof err);
	if (!f->c) {
		print_error("qemu cluster: %s\n", err);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

typedef struct s_members {
	const char *etcd;
	plx_etcd_member m[8];
	int n;
} s_members;

/* The etcd cluster's member list as the VMs' members give it (netns_call in the hub). */
static int s_members_get(void *arg)
{
	s_members *p = arg;
	plx_etcd *e = plx_etcd_new(&(plx_etcd_opts){.endpoints = p->etcd, .timeout_ms = 3000});
	p->n = e ? plx_etcd_members(e, p->m, 8) : -ENOMEM;
	plx_etcd_destroy(&e);
	return p->n < 0 ? p->n : 0;
}

/* Whether the member list in p holds the member of ID id. */
static bool s_members_hold(const s_members *p, const char *id)
{
	for (int i = 0; i < p->n; i++)
		if (strcmp(p->m[i].id, id) == 0)
			return true;
	return false;
}

/* Waits until the member list shows every one of vm1..vm3 started (named), and none of ID
 * gone (NULL: any). A member that joins rebuilds the list by replaying the cluster's log, so
 * for a while it may still answer with an entry that was replaced. Returns 0 or -ETIMEDOUT. */
static int s_members_started(pxe *f, s_members *p, const char *gone, int timeout_ms)
{
	int64_t deadline = s_now_ms() + timeout_ms;
	p->etcd = plx_qcluster_etcd(f->c);
	do {
		int named = 0;
		if (netns_call(plx_qcluster_netns(f->c), NETNS_HUB, s_members_get, p) == 0)
			for (int i = 0; i < p->n; i++)
				named += strncmp(p->m[i].name, "vm", 2) == 0;
		if (p->n == 3 && named == 3 && !(gone && s_members_hold(p, gone)))
			return 0;
		usleep(500000);
	} while (s_now_ms() < deadline);
	return -ETIMEDOUT;
}

/* How many lines of the file at path hold text. */
static int s_count_lines(const char *path, const char *text)
{
	FILE *f = fopen(path, "re");
	char line[4096];
	int n = 0;
	while (f && fgets(line, sizeof line, f))
		n += strstr(line, text) != NULL;
	if (f)
		fclose(f);
	return n;
}

/* The generations of vm1..vm3's node kernels (0: none registered) into gen. */
static void s_generations(pxe *f, int64_t gen[3])
{
	for (int i = 0; i < 3; i++)
		if (plx_qcluster_node_generation(f->c, i, &gen[i]) < 0)
			gen[i] = 0;
}

/* Three VMs are the etcd cluster (role = etcd: plexus-init starts a member on each, peers
 * with certificates of common name etcd); every node kernel registers in it. vm2's etcd
 * process is killed: init starts it again, the same member on its data. vm3's power is
 * cut: vm1 and vm2 keep their leases through two lease TTLs. vm3 powers on again with an
 * empty data directory: its init finds that vm3 ran before, has the others replace its entry
 * and starts it as a new member of the running cluster (not under its old identity). Then
 * vm1 is cut: vm2 and the member vm3 came back as are the quorum, and vm2's node kernel keeps
 * its lease. */
static void test_etcd_members_in_vms(void **state)
{
	pxe *f = *state;
	const char *dir = plx_qcluster_dir(f->c);
	for (int i = 0; i < 3; i++)
		assert_int_equal(plx_qcluster_start_vm(f->c, i, false), 0);
	assert_int_equal(plx_qcluster_wait_nodes(f->c, 0x7, 300000), 0);
	s_members before;
	assert_int_equal(s_members_started(f, &before, NULL, 60000), 0);
	char old_id[24] = "";
	for (int i = 0; i < before.n; i++)
		if (strcmp(before.m[i].name, "vm3") == 0)
			snprintf(old_id, sizeof old_id, "%s", before.m[i].id);
	assert_true(old_id[0] != '\0');

	/* vm2's etcd process killed from its console: init starts it again on the same data */
	char console[256], log[256];
	snprintf(console, sizeof console, "%s/vm2.console", dir);
	snprintf(log, sizeof log, "%s/vm2.log", dir);
	int fd = s_console_connect(console);
	assert_true(fd >= 0);
	/* typed again until it shows: the shell's line editor may take the first keys as the
	 * answer to its cursor position question */
	const char *cmd = "\nkillall -9 etcd\n",
	           *exited = "plexus-boot: etcd: member exited (signal 9)";
	int r = -ETIMEDOUT;
	char sink[4096];
	for (int64_t end = s_now_ms() + 60000; r != 0 && s_now_ms() < end;) {
		assert_true(write(fd, cmd, strlen(cmd)) == (ssize_t)strlen(cmd));
		r = plx_wait_file_text(log, exited, 4000);
		while (recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0)
			continue;
	}
	close(fd);
	assert_int_equal(r, 0);
	sleep(2); /* a second kill, if the first showed late, would show by now */
	int kills = s_count_lines(log, exited);
	const char *started = "plexus-boot: etcd: member vm2 on";
	int64_t deadline = s_now_ms() + 30000;
	while (s_count_lines(log, started) < kills + 1 && s_now_ms() < deadline)
		usleep(200000);
	assert_int_equal(s_count_lines(log, started), kills + 1);
	s_members again;
	assert_int_equal(s_members_started(f, &again, NULL, 60000), 0);
	for (int i = 0; i < again.n; i++) /* the same members: vm2 went on from its data */
		for (int j = 0; j < before.n; j++)
			if (strcmp(again.m[i].name, before.m[j].name) == 0)
				assert_string_equal(again.m[i].id, before.m[j].id);

	int64_t gen[3], now[3];
	s_generations(f, gen);
	assert_int_equal(plx_qcluster_kill_vm(f->c, 2), 0);
	sleep(13); /* the cluster's lease is 6 s */
	s_generations(f, now);
	assert_true(gen[0] > 0 && gen[1] > 0);
	assert_int_equal(now[0], gen[0]);
	assert_int_equal(now[1], gen[1]);

	char qmp[256], msg[256];
	snprintf(qmp, sizeof qmp, "%s/vm3.qmp", dir);
	assert_int_equal(plx_qmp_reset(qmp, 5000, msg, sizeof msg), 0);
	snprintf(log, sizeof log, "%s/vm3.log", dir);
	assert_int_equal(
	    plx_wait_file_text(log, "plexus-boot: etcd: vm3 ran before: a new member", 300000), 0);
	assert_int_equal(plx_wait_file_text(log, "(existing)", 30000), 0);
	s_members after;
	assert_int_equal(s_members_started(f, &after, old_id, 120000), 0);
	bool vm3 = false;
	for (int i = 0; i < after.n; i++)
		vm3 |= strcmp(after.m[i].name, "vm3") == 0;
	assert_true(vm3);
	assert_int_equal(plx_qcluster_wait_nodes(f->c, 0x4, 120000), 0);

	s_generations(f, gen);
	assert_int_equal(plx_qcluster_kill_vm(f->c, 0), 0);
	sleep(13);
	s_generations(f, now);
	assert_true(gen[1] > 0);
	assert_int_equal(now[1], gen[1]);
	assert_true(now[2] > 0);
	f->passed = true;
}

/* Reads what the pty gives into buf (NUL-terminated, the oldest half dropped when full) until
 * it holds text or the child ends. Returns 0 or -ETIMEDOUT. */
static int s_pty_wait(int fd, char *buf, size_t cap, size_t *len, const char *text, int timeout_ms)
{
	int64_t deadline = s_now_ms() + timeout_ms;
	for (;;) {
		if (strstr(buf, text))
			return 0;
		int left = (int)(deadline - s_now_ms());
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, left < 500 ? left : 500) <= 0)
			continue;
		if (*len + 4096 >= cap) {
			memmove(buf, buf + cap / 2, *len - cap / 2);
			*len -= cap / 2;
		}
		ssize_t n = read(fd, buf + *len, cap - *len - 1);
		if (n <= 0)
			return strstr(buf, text) ? 0 : -ETIMEDOUT;
		*len += (size_t)n;
		buf[*len] = '\0';
	}
}

/* `plexus up --qemu` on a terminal: the command builds the image (etcd and every program),
 * boots one VM whose init runs plexus up, and the console it hands the terminal becomes
 * `plexus sh` once Plexus is up inside; a command typed there answers (echo's output, / with
 * the /data mount). A file written there without a sync is on the data disk after the power
 * button (QEMU's system_powerdown): plexus-init runs plexus down (nothing killed), powers off,
 * and the image is clean for fsck.minix. The command reports how long the VM took to be
 * ready. */
/* The terminal's text on the test's error output, a line at a time (cmocka's messages are
 * short). */
static void s_print_terminal(const char *out)
{
	print_error("--- terminal ---\n");
	for (const char *p = out; *p;) {
		size_t n = strcspn(p, "\n");
		print_error("%.*s\n", (int)(n > 400 ? 400 : n), p);
		p += n + (p[n] == '\n');
	}
}

/* The data disk left by an orderly power-off: the clean flag set (s_flags bit 0 at byte
 * 1038), fsck.minix -f clean and listing /kept, and text's bytes on the disk. */
static void s_check_data_image(const char *statedir, const char *text)
{
	char img[256], cmd[1024];
	snprintf(img, sizeof img, "%s/data.img", statedir);
	int fd = open(img, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	uint8_t flags[2];
	assert_int_equal(pread(fd, flags, 2, 1038), 2);
	close(fd);
	assert_true(flags[0] & 1);
	snprintf(cmd, sizeof cmd, "fsck.minix -f -l '%s' 2>&1 | grep -q '^/kept$'", img);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof cmd, "fsck.minix -f '%s' >/dev/null 2>&1", img);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof cmd, "grep -q -a '%s' '%s'", text, img);
	assert_int_equal(system(cmd), 0);
}

static void test_up_qemu(void **state)
{
	single *f = *state;
	char image[128], statedir[128];
	snprintf(image, sizeof image, "%s/image", f->dir);
	snprintf(statedir, sizeof statedir, "%s/state", f->dir);
	int master = -1;
	f->vm = forkpty(&master, NULL, NULL, NULL);
	if (f->vm == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl(PLEXUS_CLI_BIN, "plexus", "up", "--qemu", "--image", image, "--state-dir",
		      statedir, "--timeout", "900", (char *)NULL);
		_exit(127);
	}
	assert_true(f->vm > 0);
	static char out[1 << 20];
	size_t len = 0;
	out[0] = '\0';
	int r = s_pty_wait(master, out, sizeof out, &len, " s after the kernel started", 900000);
	if (r == 0 && !strstr(out, "plexus-boot: ready: plexus up done"))
		r = -EIO; /* plexus up failed inside: its message is on the console */
	if (r == 0)
		r = s_pty_wait(master, out, sizeof out, &len, "plexus:/$ ", 120000);
	if (r != 0)
		s_print_terminal(out);
	assert_int_equal(r, 0);
	assert_non_null(strstr(out, "Plexus is up inside this VM"));
	const char *cmd = "echo up    qemu-ok\r";
	assert_true(write(master, cmd, strlen(cmd)) == (ssize_t)strlen(cmd));
	assert_int_equal(s_pty_wait(master, out, sizeof out, &len, "up qemu-ok", 60000), 0);
	cmd = "ls /\r";
	assert_true(write(master, cmd, strlen(cmd)) == (ssize_t)strlen(cmd));
	assert_int_equal(s_pty_wait(master, out, sizeof out, &len, "data", 60000), 0);
	/* written without a sync: only an orderly stop puts it on the disk */
	cmd = "echo kept-by-an-orderly-power-off > /data/kept\r";
	assert_true(write(master, cmd, strlen(cmd)) == (ssize_t)strlen(cmd));
	cmd = "cat /data/kept\r";
	assert_true(write(master, cmd, strlen(cmd)) == (ssize_t)strlen(cmd));
	assert_int_equal(
	    s_pty_wait(master, out, sizeof out, &len, "\nkept-by-an-orderly-power-off", 60000), 0);
	/* the power button, from QEMU's monitor (Ctrl-a c) */
	cmd = "\001c";
	assert_true(write(master, cmd, 2) == 2);
	assert_int_equal(s_pty_wait(master, out, sizeof out, &len, "(qemu)", 30000), 0);
	cmd = "system_powerdown\r";
	assert_true(write(master, cmd, strlen(cmd)) == (ssize_t)strlen(cmd));
	r = s_pty_wait(master, out, sizeof out, &len, "after QEMU started", 300000);
	if (r != 0)
		s_print_terminal(out);
	assert_int_equal(r, 0);
	const char *ready = strstr(out, "The VM was ready");
	print_message("%.60s\n", ready ? ready : "?");
	const char *pressed = strstr(out, "plexus-boot: power button pressed");
	if (!pressed || !strstr(pressed, "Plexus is down") || strstr(pressed, "had to be killed"))
		s_print_terminal(out);
	assert_non_null(pressed);
	assert_non_null(strstr(pressed, "Stopping Plexus in dependency order"));
	assert_non_null(strstr(pressed, "Plexus is down"));
	assert_null(strstr(pressed, "had to be killed"));
	assert_non_null(strstr(pressed, "plexus-boot: shutdown: power off"));
	s_check_data_image(statedir, "kept-by-an-orderly-power-off");
	int status = 0;
	int64_t deadline = s_now_ms() + 60000;
	pid_t w;
	while ((w = waitpid(f->vm, &status, WNOHANG)) == 0 && s_now_ms() < deadline)
		usleep(100000);
	close(master);
	assert_int_equal(w, f->vm);
	f->vm = 0;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	f->passed = true;
}

/* Three groups, three ctests: "test-qemu" runs the boots, "test-qemu up" runs plexus up --qemu
 * alone (test-qemu-up, RUN_SERIAL): the whole system inside one TCG VM is the slowest of these
 * and the first to suffer from a loaded host; "test-qemu etcd" the VMs that are the etcd
 * cluster (test-qemu-etcd, RUN_SERIAL: three etcd members under TCG). */
int main(int argc, char **argv)
{
	const struct CMUnitTest boots[] = {
	    cmocka_unit_test_setup_teardown(test_single_node_boot, single_setup, single_teardown),
	    cmocka_unit_test_setup_teardown(test_single_node_with_etcd, single_setup,
	                                    single_teardown),
	    cmocka_unit_test_setup_teardown(test_pxe_cluster_boot, pxe_setup, pxe_teardown),
	    cmocka_unit_test_setup_teardown(test_rs_power_cycles_vm, pxe1_setup, pxe_teardown),
	};
	const struct CMUnitTest up[] = {
	    cmocka_unit_test_setup_teardown(test_up_qemu, single_setup, single_teardown),
	};
	const struct CMUnitTest etcd[] = {
	    cmocka_unit_test_setup_teardown(test_etcd_members_in_vms, pxe_etcd_setup, pxe_teardown),
	};
	if (argc > 1 && strcmp(argv[1], "up") == 0)
		return cmocka_run_group_tests_name("up", up, group_setup, group_teardown);
	if (argc > 1 && strcmp(argv[1], "etcd") == 0)
		return cmocka_run_group_tests_name("etcd", etcd, etcd_group_setup,
		                                   etcd_group_teardown);
	return cmocka_run_group_tests_name("boots", boots, group_setup, group_teardown);
}
