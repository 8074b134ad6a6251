/*
 * qemu.c — QEMU launchers (plexus/qemu.h): the VM command line, and the PXE cluster on the
 * network-namespace harness.
 *
 * Entry points: plx_vm_argv, plx_vm_argv_free, plx_qcluster_new, plx_qcluster_destroy,
 * plx_qcluster_failed, plx_qcluster_start_vm, plx_qcluster_wait_nodes, plx_qcluster_dir,
 * plx_qcluster_etcd, plx_qcluster_name, plx_qcluster_kill_vm, plx_qcluster_supervise,
 * plx_qcluster_vm_pid, plx_qcluster_disk, plx_qcluster_fs_services, plx_qcluster_start_rs,
 * plx_qcluster_services, plx_qcluster_wait_ready, plx_qcluster_shutdown, plx_qemu_disk,
 * plx_wait_file_text, plx_qemu_accel.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <plexus/cluster.h>
#include <plexus/etcd.h>
#include <plexus/etcd_tls.h>
#include <plexus/link_keys.h>
#include <plexus/pxe.h>
#include <plexus/qemu.h>
#include <plexus/qmp.h>

#include "netns_harness.h"

#define VM_MAX 16

struct plx_qcluster {
	netns_cluster *nc;
	char name[64];
	char etcd[256];
	char pxe[PATH_MAX];
	char bridge[16];
	char image[PATH_MAX];
	int nodes, memory_mb;
	pid_t vm[VM_MAX];
	bool uefi[VM_MAX], direct[VM_MAX]; /* how each VM was last started */
	char disk[VM_MAX][PATH_MAX];       /* "" : no disk */
	char *services;
	pid_t rs;            /* plexus-rs in the hub, 0: none */
	char keys[PATH_MAX]; /* the trust root in the run directory, "": plain links */
	char cli[PATH_MAX];  /* the plexus command the keys CGI runs, "": this program */
	bool vm_etcd;        /* the VMs are the etcd members */
};

#define POWERDOWN_MS 120000 /* a VM stopping Plexus in order and powering off, under TCG */

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

typedef struct s_argv {
	char **v;
	size_t n, cap;
	bool oom;
} s_argv;

static void s_push(s_argv *a, const char *fmt, ...)
{
	if (a->oom)
		return;
	if (a->n + 2 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 32;
		char **v = realloc(a->v, cap * sizeof *v);
		if (!v) {
			a->oom = true;
			return;
		}
		a->v = v;
		a->cap = cap;
	}
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&a->v[a->n], fmt, ap) < 0)
		a->oom = true;
	else
		a->v[++a->n] = NULL;
	va_end(ap);
}

/* Boots the newest /boot/vmlinuz-* under KVM for at most 5 s and returns true when the kernel
 * printed its banner on the serial port (nested KVM can hang without a word instead). */
static bool s_kvm_probe(void)
{
	char log[] = "/tmp/plexus-kvm-probe-XXXXXX";
	int fd = mkstemp(log);
	if (fd < 0)
		return false;
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execlp("sh", "sh", "-c",
		       "k=$(ls /boot/vmlinuz-* | sort -V | tail -n 1) && exec qemu-system-x86_64 "
		       "-accel kvm -m 128 -display none -monitor none -serial stdio -no-reboot "
		       "-kernel \"$k\" -append 'console=ttyS0 panic=-1'",
		       (char *)NULL);
		_exit(127);
	}
	bool ok = false;
	for (int i = 0; pid > 0 && i < 50 && !ok; i++) {
		s_sleep_ms(100);
		char buf[4096] = "";
		ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
		ok = n > 0 && strstr(buf, "Linux version");
	}
	if (pid > 0) { /* a VM stuck in KVM may take long to die: wait 2 s at most */
		kill(pid, SIGKILL);
		for (int i = 0; i < 20 && waitpid(pid, NULL, WNOHANG) == 0; i++)
			s_sleep_ms(100);
	}
	close(fd);
	unlink(log);
	return ok;
}

const char *plx_qemu_accel(void)
{
	static const char *cached;
	const char *env = getenv("PLEXUS_QEMU_ACCEL");
	if (env && *env)
		return env;
	if (!cached)
		cached = access("/dev/kvm", R_OK | W_OK) == 0 && s_kvm_probe() ? "kvm" : "tcg";
	return cached;
}

char **plx_vm_argv(const plx_vm_opts *o)
{
	s_argv a = {0};
	const char *accel = plx_qemu_accel();
	s_push(&a, "qemu-system-x86_64");
	s_push(&a, "-name");
	s_push(&a, "%s", o->name);
	s_push(&a, "-accel");
	s_push(&a, "%s", accel && *accel ? accel : "tcg");
	s_push(&a, "-m");
	s_push(&a, "%d", o->memory_mb > 0 ? o->memory_mb : 256);
	s_push(&a, "-smp");
	s_push(&a, "%d", o->cpus > 0 ? o->cpus : 1);
	if (o->uefi) {
		s_push(&a, "-bios");
		s_push(&a, "/usr/share/ovmf/OVMF.fd");
	}
	if (o->interactive && o->dir) {
		/* the console on stdio, multiplexed with the monitor (Ctrl-a x, Ctrl-a c), and
		 * logged; Ctrl-c goes to the guest */
		s_push(&a, "-display");
		s_push(&a, "none");
		s_push(&a, "-chardev");
		s_push(&a, "stdio,id=console,mux=on,signal=off,logfile=%s/%s.log,logappend=on",
		       o->dir, o->name);
		s_push(&a, "-serial");
		s_push(&a, "chardev:console");
		s_push(&a, "-mon");
		s_push(&a, "chardev=console,mode=readline");
	} else if (o->interactive) {
		/* named explicitly: with -qmp given, -nographic alone would not multiplex the
		 * monitor (and its Ctrl-a commands) onto the console */
		s_push(&a, "-nographic");
		s_push(&a, "-serial");
		s_push(&a, "mon:stdio");
	} else {
		s_push(&a, "-display");
		s_push(&a, "none");
		s_push(&a, "-monitor");
		s_push(&a, "none");
		s_push(&a, "-chardev");
		s_push(&a,
		       "socket,id=console,path=%s/%s.console,server=on,wait=off,logfile=%s/%s.log,"
		       "logappend=on",
		       o->dir, o->name, o->dir, o->name);
		s_push(&a, "-serial");
		s_push(&a, "chardev:console");
	}
	s_push(&a, "-qmp");
	s_push(&a, "unix:%s/%s.qmp,server=on,wait=off", o->dir, o->name);
	if (o->powered_off)
		s_push(&a, "-S");
	if (o->disk) {
		s_push(&a, "-drive");
		s_push(&a, "file=%s,if=virtio,format=raw,cache=writeback", o->disk);
	}
	if (o->kernel) {
		s_push(&a, "-kernel");
		s_push(&a, "%s", o->kernel);
		s_push(&a, "-initrd");
		s_push(&a, "%s", o->initrd);
		s_push(&a, "-append");
		s_push(&a, "%s", o->append ? o->append : "console=ttyS0");
	}
	s_push(&a, "-netdev");
	if (o->tap)
		s_push(&a, "tap,id=net0,ifname=%s,script=no,downscript=no", o->tap);
	else if (o->etcd_fwd)
		s_push(
		    &a,
		    "user,id=net0,restrict=on,guestfwd=tcp:10.0.2.100:2379-cmd:/bin/busybox nc %s",
		    o->etcd_fwd);
	else
		s_push(&a, "user,id=net0,restrict=on");
	char mac[40] = "";
	if (o->mac)
		snprintf(mac, sizeof mac, ",mac=%s", o->mac);
	s_push(&a, "-device");
	s_push(&a, "virtio-net-pci,netdev=net0%s%s", mac, o->kernel ? "" : ",bootindex=1");
	if (a.oom) {
		plx_vm_argv_free(&a.v);
		errno = ENOMEM;
		return NULL;
	}
	return a.v;
}

void plx_vm_argv_free(char ***argv_p)
{
	if (!argv_p || !*argv_p)
		return;
	for (char **p = *argv_p; *p; p++)
		free(*p);
	free(*argv_p);
	*argv_p = NULL;
}

int plx_wait_file_text(const char *path, const char *text, int timeout_ms)
{
	int64_t deadline = s_now_ms() + timeout_ms;
	static char buf[1 << 20];
	do {
		FILE *f = fopen(path, "re");
		if (f) {
			size_t n = fread(buf, 1, sizeof buf - 1, f);
			fclose(f);
			buf[n] = '\0';
			if (memmem(buf, n, text, strlen(text)))
				return 0;
		}
		s_sleep_ms(100);
	} while (s_now_ms() < deadline);
	return -ETIMEDOUT;
}

/* Runs argv in the hub and waits for it (10 s). */
static int s_hub_run(plx_qcluster *self, char *const argv[])
{
	int status;
	int r = netns_run(self->nc, NETNS_HUB, argv, NULL, 10000, &status);
	return r < 0 ? r : (WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO);
}

static int s_taps(plx_qcluster *self)
{
	/* an IPv6 address for dnsmasq's router advertisements (a ULA, inside the hub only) */
	char *v6[] = {"ip", "-6", "addr", "add", "fd00:706c:7873::1/64", "dev", self->bridge, NULL};
	int r6 = s_hub_run(self, v6);
	if (r6 < 0)
		return r6;
	for (int i = 0; i < self->nodes; i++) {
		char tap[16];
		snprintf(tap, sizeof tap, "tap%d", i);
		char *add[] = {"ip", "tuntap", "add", "dev", tap, "mode", "tap", NULL};
		char *up[] = {"ip", "link", "set", tap, "master", self->bridge, "up", NULL};
		int r = s_hub_run(self, add);
		if (r == 0)
			r = s_hub_run(self, up);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The first three numbers of the hub's (and the VMs') IPv4 addresses into out. */
static void s_subnet(plx_qcluster *self, char out[16])
{
	const char *hub = netns_hub_addr(self->nc);
	snprintf(out, 16, "%.*s", (int)(strrchr(hub, '.') - hub), hub);
}

static int s_write_cluster_file(plx_qcluster *self, const char *path, bool pxe)
{
	FILE *f = fopen(path, "we");
	if (!f)
		return -errno;
	const char *hub = netns_hub_addr(self->nc);
	char subnet[16];
	s_subnet(self, subnet);
	fprintf(f,
	        "; the QEMU PXE cluster (deploy/qemu.c)\n[cluster]\nname = %s\netcd = %s\n"
	        "lease_ttl = 6s\n\n[node vm[1-%d]]\nmac = 52:54:00:a0:00:01\naddr = %s.101\n"
	        "power = qemu\npower.qmp = %s/%%n.qmp\n%s",
	        self->name, self->etcd, self->nodes, subnet, netns_run_dir(self->nc),
	        self->vm_etcd ? "role = etcd\n" : "");
	if (self->services)
		fprintf(f, "\n%s\n", self->services);
	if (pxe)
		fprintf(f,
		        "\n[pxe]\nserver = %s\ninterface = %s\nipv6_ra = yes\nhttp_port = 8080\n"
		        "image = %s\ncmdline = console=ttyS0 quiet no_timer_check\n%s%s%s",
		        hub, self->bridge, self->image, self->keys[0] ? "keys = " : "", self->keys,
		        self->keys[0] ? "\n" : "");
	return fclose(f) == 0 ? 0 : -EIO;
}

/* cluster.ini for plexus pxe, and rs.ini (no [pxe] section) for plexus-rs. */
static int s_write_cluster(plx_qcluster *self, const char *path)
{
	char rs[PATH_MAX + 32];
	snprintf(rs, sizeof rs, "%s/rs.ini", netns_run_dir(self->nc));
	for (int pass = 0; pass < 2; pass++) {
		int r = s_write_cluster_file(self, pass ? rs : path, pass == 0);
		if (r < 0)
			return r;
	}
	return 0;
}
static int s_pxe(plx_qcluster *self, char *err, size_t size)
{
	char ini[PATH_MAX + 32];
	snprintf(ini, sizeof ini, "%s/cluster.ini", netns_run_dir(self->nc));
	int r = s_write_cluster(self, ini);
	if (r < 0)
		return snprintf(err, size, "%s: cannot write", ini), r;
	plx_cluster_opts copts = {.extra_sections = plx_pxe_extra_sections};
	plx_cluster *c = plx_cluster_load(ini, &copts, err, size);
	if (!c)
		return -EINVAL;
	plx_pxe_settings s;
	r = plx_pxe_settings_read(c, &s, err, size);
	snprintf(s.cli, sizeof s.cli, "%s", self->cli);
	snprintf(self->pxe, sizeof self->pxe, "%s/pxe", netns_run_dir(self->nc));
	if (r == 0)
		r = plx_pxe_write(c, &s, self->pxe, err, size);
	plx_cluster_destroy(&c);
	if (r < 0)
		return r;
	char conf[PATH_MAX + 32], root[PATH_MAX + 32], listen[64];
	snprintf(conf, sizeof conf, "--conf-file=%s/dnsmasq.conf", self->pxe);
	snprintf(root, sizeof root, "%s/http", self->pxe);
	snprintf(listen, sizeof listen, "%s:8080", netns_hub_addr(self->nc));
	char *dnsmasq[] = {"dnsmasq", "--keep-in-foreground", conf, NULL};
	char *httpd[] = {"busybox", "httpd", "-f", "-vv", "-p", listen, "-h", root, NULL};
	pid_t pid;
	r = netns_exec(self->nc, NETNS_HUB, dnsmasq, NULL, &pid);
	if (r == 0)
		r = netns_exec(self->nc, NETNS_HUB, httpd, NULL, &pid);
	if (r < 0)
		snprintf(err, size, "starting dnsmasq or busybox httpd in the hub: %s",
		         strerror(-r));
	return r;
}

/* Copies src to dst with mode. Returns 0 or -errno. */
static int s_copy_file(const char *src, const char *dst, mode_t mode)
{
	char buf[16384];
	int in = open(src, O_RDONLY | O_CLOEXEC);
	ssize_t n = in >= 0 ? read(in, buf, sizeof buf) : -1;
	int e = errno;
	if (in >= 0)
		close(in);
	if (n < 0 || n == (ssize_t)sizeof buf)
		return n < 0 ? -e : -EFBIG;
	unlink(dst);
	int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (out < 0)
		return -errno;
	int r = write(out, buf, (size_t)n) == n ? 0 : -EIO;
	close(out);
	return r;
}

/* A trust root in RUN/keys, in PLEXUS_KEYS for what this process starts and makes (RS, the
 * CLI, clients); the PXE server then certifies the keys each VM makes (pxe_keys.c). The hub's
 * etcd serves https with client certificates: its authority (with the key that signs the VMs'
 * etcd certificates) and a client pair for this side join the keys. */
static int s_keys(plx_qcluster *self, char *err, size_t size)
{
	static const struct {
		const char *name;
		mode_t mode;
	} etcd[] = {{"etcd-ca.key", 0600},
	            {"etcd-client.crt", 0644},
	            {"etcd-client.key", 0600},
	            {"etcd-ca.crt", 0644}}; /* last: its presence says TLS */
	snprintf(self->keys, sizeof self->keys, "%s/keys", netns_run_dir(self->nc));
	int r = plx_link_keys_make(self->keys, err, size);
	if (r == 0) /* etcd's users: RS turns authentication on, the VMs get theirs at boot */
		r = plx_etcd_passwords_write(self->keys, err, size);
	if (r == 0 && self->vm_etcd) { /* a new authority: its server pair serves nobody */
		if ((r = plx_etcd_tls_make(self->keys, NULL, 0, err, size)) == 0)
			setenv("PLEXUS_KEYS", self->keys, 1);
		return r;
	}
	const char *from = plx_etcdh_dir(netns_hub_etcd(self->nc));
	for (size_t i = 0; r == 0 && i < sizeof etcd / sizeof *etcd; i++) {
		char src[PATH_MAX + 32], dst[PATH_MAX + 32];
		snprintf(src, sizeof src, "%s/%s", from, etcd[i].name);
		snprintf(dst, sizeof dst, "%s/%s", self->keys, etcd[i].name);
		if ((r = s_copy_file(src, dst, etcd[i].mode)) < 0)
			snprintf(err, size, "%s: %s", src, strerror(-r));
	}
	if (r == 0)
		setenv("PLEXUS_KEYS", self->keys, 1);
	return r;
}

/* "64M", "1G", "65536K", "67108864": bytes, or -1 when spec is not a size. */
static long long s_size(const char *spec)
{
	char *end;
	errno = 0;
	long long n = strtoll(spec, &end, 10);
	if (errno || end == spec || n <= 0)
		return -1;
	long long unit = *end == 'K' || *end == 'k'   ? 1024
	                 : *end == 'M' || *end == 'm' ? 1024 * 1024
	                 : *end == 'G' || *end == 'g' ? 1024LL * 1024 * 1024
	                 : *end == '\0'               ? 1
	                                              : -1;
	if (unit < 0 || (*end && end[1]) || n > (64LL << 30) / unit)
		return -1;
	return n * unit;
}

int plx_qemu_disk(const char *spec, const char *dir, const char *name, char *path, size_t cap,
                  char *err, size_t size)
{
	long long bytes = s_size(spec);
	if (bytes >= 0 && bytes < 1024 * 1024) {
		snprintf(err, size, "disk \"%s\": at least 1M expected", spec);
		return -EINVAL;
	}
	if (bytes >= 0)
		snprintf(path, cap, "%s/%s.img", dir, name);
	else
		snprintf(path, cap, "%s", spec);
	if (access(path, F_OK) == 0)
		return 0;
	char tmp[PATH_MAX + 8];
	snprintf(tmp, sizeof tmp, "%s.new", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, bytes > 0 ? bytes : 64LL * 1024 * 1024) < 0) {
		int e = errno;
		snprintf(err, size, "disk %s: cannot make it: %s", tmp, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	close(fd);
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		execlp("mkfs.minix", "mkfs.minix", "-3", tmp, (char *)NULL);
		_exit(127);
	}
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		snprintf(err, size, "disk %s: mkfs.minix -3 failed (util-linux)", tmp);
		return -EIO;
	}
	return 0;
}

/* The VMs' etcd members' client URLs into self->etcd (role = etcd VMs). Returns 0. */
static int s_vm_etcd(plx_qcluster *self, bool insecure)
{
	char subnet[16];
	s_subnet(self, subnet);
	size_t len = 0;
	for (int i = 0; i < self->nodes; i++)
		len +=
		    (size_t)snprintf(self->etcd + len, sizeof self->etcd - len, "%s%s://%s.%d:2379",
		                     i ? "," : "", insecure ? "http" : "https", subnet, 101 + i);
	return 0;
}

plx_qcluster *plx_qcluster_new(const plx_qcluster_opts *o, char *err, size_t size)
{
	int members = o->etcd_members ? o->etcd_members : 1;
	if (o->nodes < 1 || o->nodes > VM_MAX || !o->image || members % 2 == 0 || members > 5 ||
	    (o->vm_etcd && (o->nodes % 2 == 0 || o->nodes > 5))) {
		snprintf(err, size,
		         "qemu cluster: 1..%d VMs, an image directory and 1, 3 or 5 etcd members "
		         "(in the hub, or VMs) expected",
		         VM_MAX);
		errno = EINVAL;
		return NULL;
	}
	plx_qcluster *self = calloc(1, sizeof *self);
	if (!self)
		return NULL;
	self->nodes = o->nodes;
	self->memory_mb = o->memory_mb;
	snprintf(self->name, sizeof self->name, "%s", o->cluster ? o->cluster : "qemu");
	snprintf(self->cli, sizeof self->cli, "%s", o->cli ? o->cli : "");
	if (o->services && !(self->services = strdup(o->services))) {
		free(self);
		return NULL;
	}
	if (!realpath(o->image, self->image)) {
		snprintf(err, size, "%s: no image there (plexus image build)", o->image);
		free(self->services);
		free(self);
		return NULL;
	}
	self->nc = netns_cluster_new(1, NULL);
	if (!self->nc) {
		snprintf(err, size, "network namespaces: %s", netns_error());
		free(self->services);
		free(self);
		return NULL;
	}
	const char *veth = netns_veth(self->nc, 0); /* v<tag>n0: the bridge is b<tag> */
	snprintf(self->bridge, sizeof self->bridge, "b%.*s", (int)strlen(veth) - 3, veth + 1);
	self->vm_etcd = o->vm_etcd;
	int r = o->vm_etcd    ? s_vm_etcd(self, o->insecure)
	        : o->insecure ? netns_hub_etcd_start(self->nc, members)
	                      : netns_hub_etcd_start_tls(self->nc, members);
	if (r < 0)
		snprintf(err, size, "etcd in the hub: %s", netns_error());
	if (r == 0 && !o->vm_etcd)
		snprintf(self->etcd, sizeof self->etcd, "%s", netns_hub_etcd_endpoints(self->nc));
	if (r == 0 && (r = s_taps(self)) < 0)
		snprintf(err, size, "tap devices: %s", netns_error());
	for (int i = 0; r == 0 && i < self->nodes; i++)
		if (o->disks[i]) {
			char name[32];
			snprintf(name, sizeof name, "vm%d-disk", i + 1);
			r = plx_qemu_disk(o->disks[i], netns_run_dir(self->nc), name, self->disk[i],
			                  sizeof self->disk[i], err, size);
		}
	if (r == 0 && !o->insecure)
		r = s_keys(self, err, size);
	if (r == 0)
		r = s_pxe(self, err, size);
	if (r < 0) {
		netns_cluster_failed(self->nc);
		plx_qcluster_destroy(&self);
	}
	return self;
}

void plx_qcluster_destroy(plx_qcluster **self_p)
{
	if (!self_p || !*self_p)
		return;
	netns_cluster_destroy(&(*self_p)->nc);
	free((*self_p)->services);
	free(*self_p);
	*self_p = NULL;
}

void plx_qcluster_failed(plx_qcluster *self)
{
	netns_cluster_failed(self->nc);
}

static int s_start(plx_qcluster *self, int i, bool uefi, bool direct, bool off)
{
	if (i < 0 || i >= self->nodes)
		return -EINVAL;
	self->uefi[i] = uefi;
	self->direct[i] = direct;
	char name[16], tap[16], mac[32], kernel[PATH_MAX + 16], initrd[PATH_MAX + 16];
	char script[PATH_MAX + 64], append[4096] = "";
	snprintf(name, sizeof name, "vm%d", i + 1);
	snprintf(tap, sizeof tap, "tap%d", i);
	snprintf(mac, sizeof mac, "52:54:00:a0:00:%02x", (unsigned)(i + 1) & 0xff);
	plx_vm_opts o = {.name = name,
	                 .dir = netns_run_dir(self->nc),
	                 .uefi = uefi,
	                 .mac = mac,
	                 .tap = tap,
	                 .memory_mb = self->memory_mb,
	                 .disk = self->disk[i][0] ? self->disk[i] : NULL,
	                 .powered_off = off};
	if (direct) {
		/* the kernel line of the node's iPXE script, after the kernel's URL */
		snprintf(script, sizeof script, "%s/http/nodes/%s.ipxe", self->pxe, mac);
		FILE *f = fopen(script, "re");
		char line[4096];
		while (f && fgets(line, sizeof line, f))
			if (strncmp(line, "kernel ", 7) == 0 && strchr(line + 7, ' '))
				snprintf(append, sizeof append, "%s", strchr(line + 7, ' ') + 1);
		if (f)
			fclose(f);
		append[strcspn(append, "\n")] = '\0';
		if (!append[0])
			return -ENOENT;
		snprintf(kernel, sizeof kernel, "%s/vmlinuz", self->image);
		snprintf(initrd, sizeof initrd, "%s/initramfs.img", self->image);
		o.kernel = kernel;
		o.initrd = initrd;
		o.append = append;
	}
	char **argv = plx_vm_argv(&o);
	if (!argv)
		return -ENOMEM;
	int r = netns_exec(self->nc, NETNS_HUB, argv, NULL, &self->vm[i]);
	plx_vm_argv_free(&argv);
	return r;
}

typedef struct s_probe {
	const char *etcd, *name;
	unsigned mask, found;
	int64_t rev[VM_MAX];
} s_probe;

static int s_probe_nodes(void *arg)
{
	s_probe *p = arg;
	plx_etcd_opts eo = {.endpoints = p->etcd, .timeout_ms = 2000};
	plx_etcd *e = plx_etcd_new(&eo);
	if (!e)
		return -ENOMEM;
	char prefix[128];
	snprintf(prefix, sizeof prefix, "/plexus/%s/nodes/", p->name);
	plx_kvs *kvs = NULL;
	int n = plx_etcd_range(e, prefix, &kvs);
	p->found = 0;
	for (int i = 0; i < n; i++) {
		int k = atoi(kvs->kvs[i].key + strlen(prefix) + 2); /* "vm<k>" */
		if (strncmp(kvs->kvs[i].key + strlen(prefix), "vm", 2) != 0 || k < 1 || k > VM_MAX)
			continue;
		p->found |= 1u << (k - 1);
		const char *g = strstr((const char *)kvs->kvs[i].value, "\"generation\":");
		p->rev[k - 1] = g ? strtoll(g + strlen("\"generation\":"), NULL, 10) : 0;
	}
	plx_kvs_free(&kvs);
	plx_etcd_destroy(&e);
	return n < 0 ? n : 0;
}

int plx_qcluster_wait_nodes(plx_qcluster *self, unsigned mask, int timeout_ms)
{
	int64_t deadline = s_now_ms() + timeout_ms;
	s_probe p = {.etcd = self->etcd, .name = self->name, .mask = mask};
	do {
		if (netns_call(self->nc, NETNS_HUB, s_probe_nodes, &p) == 0 &&
		    (p.found & mask) == mask)
			return 0;
		s_sleep_ms(100);
	} while (s_now_ms() < deadline);
	return -ETIMEDOUT;
}

int plx_qcluster_start_rs(plx_qcluster *self, const char *rs_bin, const char *name)
{
	char ini[PATH_MAX + 16];
	snprintf(ini, sizeof ini, "%s/rs.ini", netns_run_dir(self->nc));
	char *argv[] = {
	    (char *)rs_bin, "--cluster-file", ini, "--addr", (char *)netns_hub_addr(self->nc),
	    "--name",       (char *)name,     NULL};
	return netns_exec(self->nc, NETNS_HUB, argv, NULL, &self->rs);
}

/* The services through RS (`plexus service down`, run in the hub), in the reverse of the
 * description's order (each service is listed after what it depends on). */
static void s_services_down(plx_qcluster *self, const char *cli_bin, FILE *out)
{
	char ini[PATH_MAX + 16], err[512];
	snprintf(ini, sizeof ini, "%s/rs.ini", netns_run_dir(self->nc));
	plx_cluster *c = plx_cluster_load(ini, NULL, err, sizeof err);
	if (!c) {
		fprintf(out, "  %s: %s\n", ini, err);
		return;
	}
	for (size_t i = c->nservices; i-- > 0;) {
		const plx_cluster_service *sv = &c->services[i];
		char *argv[] = {(char *)cli_bin, "service",         "--etcd",
		                self->etcd,      "--cluster",       self->name,
		                "down",          (char *)sv->label, NULL};
		int64_t t0 = s_now_ms();
		int status = -1;
		int r = netns_run(self->nc, NETNS_HUB, argv, NULL, 60000, &status);
		fprintf(out, "  %-10s %-6s %6lld ms%s\n", sv->label, sv->node,
		        (long long)(s_now_ms() - t0),
		        r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0
		            ? "  (failed: its node may cut it off at power-off)"
		            : "");
		fflush(out);
	}
	plx_cluster_destroy(&c);
}

/* Presses every running VM's power button and waits for each QEMU to end; SIGKILL for one
 * that does not within POWERDOWN_MS. */
static void s_power_down_vms(plx_qcluster *self, FILE *out)
{
	bool pressed[VM_MAX] = {0};
	for (int i = 0; i < self->nodes; i++) {
		if (self->vm[i] <= 0)
			continue;
		char qmp[PATH_MAX + 16], msg[PATH_MAX + 256];
		snprintf(qmp, sizeof qmp, "%s/vm%d.qmp", netns_run_dir(self->nc), i + 1);
		pressed[i] = plx_qmp_powerdown(qmp, 5000, msg, sizeof msg) == 0;
		if (!pressed[i])
			fprintf(out, "  vm%d: %s\n", i + 1, msg);
	}
	int64_t t0 = s_now_ms();
	for (int i = 0; i < self->nodes; i++) {
		if (self->vm[i] <= 0)
			continue;
		int left = (int)(t0 + POWERDOWN_MS - s_now_ms());
		bool off =
		    pressed[i] && netns_wait(self->nc, self->vm[i], NULL, left > 0 ? left : 0) == 0;
		if (!off) {
			kill(self->vm[i], SIGKILL);
			netns_wait(self->nc, self->vm[i], NULL, 30000);
		}
		fprintf(out, "  vm%d    %s %6.1f s\n", i + 1, off ? "powered off" : "killed     ",
		        (double)(s_now_ms() - t0) / 1000);
		fflush(out);
		self->vm[i] = 0;
	}
}

void plx_qcluster_shutdown(plx_qcluster *self, const char *cli_bin, FILE *out)
{
	if (self->rs > 0) {
		fprintf(out, "Stopping the services through RS in dependency order (clients first, "
		             "drivers last)\n");
		s_services_down(self, cli_bin, out);
		kill(self->rs, SIGTERM); /* before the VMs go: it would power them on again */
		if (netns_wait(self->nc, self->rs, NULL, 10000) < 0) {
			kill(self->rs, SIGKILL);
			netns_wait(self->nc, self->rs, NULL, 10000);
		}
		self->rs = 0;
	}
	fprintf(out, "Powering the VMs down (their power buttons: each stops what is left on it "
	             "in order)\n");
	fflush(out);
	s_power_down_vms(self, out);
}

/* svc/ records read in the hub. */
typedef struct s_svc_probe {
	const char *etcd, *name;
	plx_qcluster_svcs *out;
} s_svc_probe;

static int s_probe_services(void *arg)
{
	s_svc_probe *p = arg;
	plx_etcd_opts eo = {.endpoints = p->etcd, .timeout_ms = 2000};
	plx_etcd *e = plx_etcd_new(&eo);
	if (!e)
		return -ENOMEM;
	char prefix[128];
	snprintf(prefix, sizeof prefix, "/plexus/%s/svc/", p->name);
	plx_kvs *kvs = NULL;
	int n = plx_etcd_range(e, prefix, &kvs);
	plx_qcluster_svcs *o = p->out;
	o->up = 0;
	o->total = n > 0 ? n : 0;
	size_t len = 0;
	o->text[0] = '\0';
	for (int i = 0; i < n; i++) {
		const char *v = (const char *)kvs->kvs[i].value;
		o->up += strstr(v, "\"state\":\"up\"") || strstr(v, "\"state\": \"up\"");
		if (len < sizeof o->text)
			len +=
			    (size_t)snprintf(o->text + len, sizeof o->text - len, "  %s: %.200s\n",
			                     kvs->kvs[i].key + strlen(prefix), v);
	}
	plx_kvs_free(&kvs);
	plx_etcd_destroy(&e);
	return n < 0 ? n : 0;
}

int plx_qcluster_services(plx_qcluster *self, plx_qcluster_svcs *out)
{
	s_svc_probe p = {.etcd = self->etcd, .name = self->name, .out = out};
	memset(out, 0, sizeof *out);
	for (const char *t = self->services; t && (t = strstr(t, "[service ")); t++)
		out->placed++;
	int placed = out->placed;
	int r = netns_call(self->nc, NETNS_HUB, s_probe_services, &p);
	out->placed = placed;
	return r;
}

int plx_qcluster_wait_ready(plx_qcluster *self, plx_qcluster_svcs *out, int timeout_ms)
{
	int64_t deadline = s_now_ms() + timeout_ms;
	do {
		if (plx_qcluster_services(self, out) == 0 && out->placed > 0 &&
		    out->total >= out->placed && out->up == out->total)
			return 0;
		s_sleep_ms(100);
	} while (s_now_ms() < deadline);
	return -ETIMEDOUT;
}

int plx_qcluster_start_vm(plx_qcluster *self, int i, bool uefi)
{
	return s_start(self, i, uefi, false, false);
}

int plx_qcluster_start_vm_direct(plx_qcluster *self, int i)
{
	return s_start(self, i, false, true, false);
}

int plx_qcluster_kill_vm(plx_qcluster *self, int i)
{
	if (i < 0 || i >= self->nodes || self->vm[i] <= 0)
		return -EINVAL;
	kill(self->vm[i], SIGKILL);
	int r = netns_wait(self->nc, self->vm[i], NULL, 30000);
	if (r < 0)
		return r;
	self->vm[i] = 0;
	return s_start(self, i, self->uefi[i], self->direct[i], true);
}

int plx_qcluster_supervise(plx_qcluster *self)
{
	int n = 0;
	for (int i = 0; i < self->nodes; i++)
		if (self->vm[i] > 0 && netns_wait(self->nc, self->vm[i], NULL, 0) == 0) {
			self->vm[i] = 0;
			if (s_start(self, i, self->uefi[i], self->direct[i], true) == 0)
				n++;
		}
	return n;
}

pid_t plx_qcluster_vm_pid(const plx_qcluster *self, int i)
{
	return i >= 0 && i < self->nodes ? self->vm[i] : 0;
}

const char *plx_qcluster_disk(const plx_qcluster *self, int i)
{
	return i >= 0 && i < self->nodes ? self->disk[i] : "";
}

int plx_qcluster_node_generation(plx_qcluster *self, int i, int64_t *generation)
{
	if (i < 0 || i >= self->nodes)
		return -EINVAL;
	s_probe p = {.etcd = self->etcd, .name = self->name};
	int r = netns_call(self->nc, NETNS_HUB, s_probe_nodes, &p);
	if (r < 0)
		return r;
	if (!(p.found & (1u << i)))
		return -ENOENT;
	*generation = p.rev[i];
	return 0;
}

struct netns_cluster *plx_qcluster_netns(plx_qcluster *self)
{
	return self->nc;
}

const char *plx_qcluster_dir(const plx_qcluster *self)
{
	return netns_run_dir(self->nc);
}

const char *plx_qcluster_etcd(const plx_qcluster *self)
{
	return self->etcd;
}

const char *plx_qcluster_name(const plx_qcluster *self)
{
	return self->name;
}

int plx_qcluster_fs_services(int nodes, char *out, size_t size)
{
	int vfs = 1, mfs = nodes >= 2 ? 2 : 1, disk = nodes >= 3 ? 3 : nodes;
	int n = snprintf(
	    out, size,
	    "[service vdisk]\nprogram = /usr/bin/plexus-vdisk\nargs = --image /dev/vda\n"
	    "node = vm%d\nheartbeat = 5s\nbackoff = 500ms\nmax_restarts = 0\n\n"
	    "[service mfs]\nprogram = /usr/bin/plexus-mfs\nargs = --driver-wait-ms 600000\n"
	    "node = vm%d\nheartbeat = 5s\ndepends = vdisk\n\n"
	    "[service pfs]\nprogram = /usr/bin/plexus-pfs\nnode = vm%d\nheartbeat = 5s\n\n"
	    "[service vfs]\nprogram = /usr/bin/plexus-vfs\n"
	    "args = --root mfs --root-dev vdisk:0 --pfs pfs --dmap 3=vdisk --fs-timeout 600000 "
	    "--wait 600\n"
	    "node = vm%d\nheartbeat = 5s\ndepends = mfs, pfs\n",
	    disk, mfs, vfs, vfs);
	return n < 0 || (size_t)n >= size ? -ENOSPC : disk - 1;
}
