/*
 * main.c — plexus-init, the netboot image's /init (PID 1).
 *
 * Entry points: main.
 *
 * Boot stages, each one line "plexus-boot: STAGE ..." on the console (and, with plexus.log=URL,
 * an HTTP GET of URL/NAME/STAGE to the PXE server, whose log shows the path):
 *   init      file systems mounted, the kernel command line read (plexus/bootargs.h)
 *   modules   the image's kernel modules loaded in order (/etc/plexus/modules)
 *   network   the interface up with a DHCP lease (busybox udhcpc) or plexus.addr
 *   keys      with plexus.keys=URL: a key pair made here and a certificate for node.NAME
 *             from the PXE server (plexus-node --fetch-keys) in /run/plexus/keys; plexus-node
 *             then runs secured (PLEXUS_KEYS, PLEXUS_LINK=/run/plexus/keys/node.NAME.link),
 *             or not at all
 *   etcd      an etcd member started, when plexus.role names etcd
 *   node      plexus-node started (and restarted a second after it exits)
 *   up        plexus.role=up instead of network, etcd and node: `plexus up` runs the whole
 *             single-node system inside this node (the console shell is then `plexus sh`)
 *   ready     banner; the console shell runs (and is restarted when it exits)
 * SIGTERM reboots, SIGUSR1/SIGUSR2 power off (busybox's reboot and poweroff send these), and
 * so does a press of the power button (ACPI: QEMU's system_powerdown, a BMC's soft power-off;
 * read from the input devices that have KEY_POWER, the image carrying button.ko and evdev.ko).
 * Each first stops Plexus in dependency order (plexus-node's SIGTERM, or `plexus down`), then
 * everything else.
 */
#include <arpa/inet.h>
#include <linux/input.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <plexus/bootargs.h>

#define LEASE_FILE   "/run/plexus/lease"
#define KEYS_DIR     "/run/plexus/keys"
#define NODE_BIN     "/usr/bin/plexus-node"
#define KEYS_TRIES   20 /* a fetch every 3 s: a minute for the PXE server to answer */
#define LOG_DIR      "/var/log/plexus"
#define PLEXUS_CLI   "/usr/bin/plexus"
#define UP_STATE     "/run/plexus/up"
#define NODE_STOP_MS 4000 /* plexus-node's grace (2 s) for its ordered stop, and a margin */
#define UP_DISK      "/dev/vda"
#define ETCD_DATA    "/var/lib/etcd"
#define ETCD_JOIN_MS 5000 /* between questions to the other members while they refuse */

#define BUTTONS_MAX  8
#define BUTTON_TICKS 150 /* ticks of the loop (30 s) to look for power buttons in */

typedef struct s_child {
	const char *what;
	pid_t pid;
	int64_t due_ms;   /* restart time when not running, 0: none */
	int64_t start_ms; /* when it last started */
	int backoff_ms;   /* the next restart's wait: 1 s, doubling to 30 s while it fails fast */
} s_child;

static plx_bootargs s_args;
static int s_buttons[BUTTONS_MAX], s_nbuttons; /* input devices with a power key */
static bool s_up; /* plexus.role=up: `plexus up` runs the whole system inside this node */
static char s_link[PLX_BOOTARGS_NAME_MAX + 64]; /* plexus.keys: KEYS_DIR/node.NAME.link */
static char s_ip[16], s_node[PLX_BOOTARGS_NAME_MAX];
static s_child s_nodek = {"plexus-node", 0, 0, 0, 1000}, s_shell = {"shell", 0, 0, 0, 1000};
static s_child s_etcd = {"etcd", 0, 0, 0, 1000}; /* plexus.role=etcd: this node's member */

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs argv with stdio as given (-1: /dev/null); returns its pid or -1. */
static pid_t s_spawn(char *const argv[], int out_fd, bool new_session)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (new_session)
		setsid();
	int null = open("/dev/null", O_RDWR);
	dup2(null, 0);
	if (out_fd >= 0) {
		dup2(out_fd, 1);
		dup2(out_fd, 2);
	}
	execv(argv[0], argv);
	_exit(127);
}

/* Runs argv to its end (output to the console); returns its exit status or -1. */
static int s_run(char *const argv[])
{
	pid_t pid = s_spawn(argv, 1, false);
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* GET url/path (url: http://IPv4[:port][/prefix]) with a 3 s limit; the answer is ignored.
 * busybox-static's wget cannot be used here: it crashes without NSS libraries. */
static void s_http_get(const char *url, const char *path)
{
	char host[64] = "", prefix[PLX_BOOTARGS_TEXT_MAX] = "";
	int port = 80;
	const char *h = url + strlen("http://");
	size_t n = strcspn(h, ":/");
	if (n >= sizeof host)
		return;
	memcpy(host, h, n);
	h += n;
	if (*h == ':')
		port = (int)strtol(h + 1, (char **)&h, 10);
	snprintf(prefix, sizeof prefix, "%s", h);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = {3, 0};
	if (fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	char req[PLX_BOOTARGS_TEXT_MAX + 256], buf[512];
	int len =
	    snprintf(req, sizeof req, "GET %s/%s HTTP/1.0\r\nHost: %s\r\n\r\n", prefix, path, host);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && len > 0 &&
	    write(fd, req, (size_t)len) == len)
		while (read(fd, buf, sizeof buf) > 0)
			continue;
	close(fd);
}

/* One stage line on the console, and to plexus.log's server when given. */
static void s_stage(const char *stage, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	printf("plexus-boot: %s: %s\n", stage, text);
	fflush(stdout);
	if (!s_args.log[0] || !s_ip[0])
		return;
	char path[PLX_BOOTARGS_NAME_MAX + 64];
	snprintf(path, sizeof path, "%s/%s", s_node[0] ? s_node : "unknown", stage);
	if (fork() == 0) { /* reaped by the main loop */
		s_http_get(s_args.log, path);
		_exit(0);
	}
}

static void s_mounts(void)
{
	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mkdir("/dev", 0755);
	mkdir("/run", 0755);
	mkdir("/tmp", 01777);
	mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
	mkdir("/dev/pts", 0755);
	mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=620");
	mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
	mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	mkdir("/run/plexus", 0755);
	mkdir("/var", 0755);
	mkdir("/var/log", 0755);
	mkdir(LOG_DIR, 0755);
}

/* Reads a whole small file into buf; returns its length or -1. */
static ssize_t s_slurp(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/* Loads the modules listed in /etc/plexus/modules, in order. Returns how many loaded. */
static int s_modules(int *failed)
{
	static char list[16384];
	int loaded = 0;
	*failed = 0;
	if (s_slurp("/etc/plexus/modules", list, sizeof list) < 0)
		return 0;
	for (char *line = strtok(list, "\n"); line; line = strtok(NULL, "\n")) {
		int fd = open(line, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && (syscall(SYS_finit_module, fd, "", 0) == 0 || errno == EEXIST)) {
			loaded++;
		} else {
			printf("plexus-boot: modules: %s: %s\n", line, strerror(errno));
			(*failed)++;
		}
		if (fd >= 0)
			close(fd);
	}
	return loaded;
}

/* Finds the interface to configure: plexus.if, else the first in /sys/class/net that is not
 * lo (waiting up to 10 s for the driver to make it). Returns 0 or -1. */
static int s_find_iface(char *name, size_t cap)
{
	int64_t deadline = s_now_ms() + 10000;
	do {
		if (s_args.iface[0]) {
			char path[64];
			snprintf(path, sizeof path, "/sys/class/net/%s", s_args.iface);
			if (access(path, F_OK) == 0) {
				snprintf(name, cap, "%s", s_args.iface);
				return 0;
			}
		} else {
			DIR *d = opendir("/sys/class/net");
			struct dirent *e;
			char best[32] = "";
			while (d && (e = readdir(d)))
				if (e->d_name[0] != '.' && strcmp(e->d_name, "lo") != 0 &&
				    (!best[0] || strcmp(e->d_name, best) < 0))
					snprintf(best, sizeof best, "%.31s", e->d_name);
			if (d)
				closedir(d);
			if (best[0]) {
				snprintf(name, cap, "%s", best);
				return 0;
			}
		}
		usleep(50000);
	} while (s_now_ms() < deadline);
	return -1;
}

/* Reads KEY=VALUE from the lease file udhcpc's script wrote. */
static void s_lease_value(const char *key, char *out, size_t cap)
{
	char text[2048];
	out[0] = '\0';
	if (s_slurp(LEASE_FILE, text, sizeof text) < 0)
		return;
	size_t n = strlen(key);
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
		if (strncmp(line, key, n) == 0 && line[n] == '=')
			snprintf(out, cap, "%s", line + n + 1);
}

static int s_network(void)
{
	char ifname[32];
	char *lo[] = {"/bin/busybox", "ip", "link", "set", "lo", "up", NULL};
	s_run(lo);
	if (s_find_iface(ifname, sizeof ifname) < 0) {
		s_stage("network", "failed: no network interface%s%s", s_args.iface[0] ? " " : "",
		        s_args.iface);
		return -1;
	}
	char *up[] = {"/bin/busybox", "ip", "link", "set", ifname, "up", NULL};
	s_run(up);
	if (s_args.addr[0]) {
		char *add[] = {"/bin/busybox", "ip",  "addr", "add",
		               s_args.addr,    "dev", ifname, NULL};
		s_run(add);
		if (s_args.gw[0]) {
			char *gw[] = {"/bin/busybox", "ip",  "route",   "add",
			              "default",      "via", s_args.gw, NULL};
			s_run(gw);
		}
		snprintf(s_ip, sizeof s_ip, "%.*s", (int)strcspn(s_args.addr, "/"), s_args.addr);
		s_stage("network", "%s static %s", ifname, s_args.addr);
		return 0;
	}
	char tries[16];
	snprintf(tries, sizeof tries, "%d", s_args.dhcp_timeout_s);
	char *dhcp[] = {"/bin/busybox",
	                "udhcpc",
	                "-i",
	                ifname,
	                "-f",
	                "-q",
	                "-n",
	                "-t",
	                tries,
	                "-T",
	                "1",
	                "-A",
	                "1",
	                "-s",
	                "/etc/plexus/udhcpc.sh",
	                NULL};
	int st = s_run(dhcp);
	s_lease_value("ip", s_ip, sizeof s_ip);
	if (st != 0 || !s_ip[0]) {
		s_stage("network", "failed: no DHCP lease on %s within %d s", ifname,
		        s_args.dhcp_timeout_s);
		return -1;
	}
	char server[64], host[64];
	s_lease_value("serverid", server, sizeof server);
	s_lease_value("hostname", host, sizeof host);
	if (!s_node[0] && host[0])
		snprintf(s_node, sizeof s_node, "%s", host);
	s_stage("network", "%s %s by DHCP from %s", ifname, s_ip, server[0] ? server : "?");
	return 0;
}

/* This node's peer URL from plexus.etcd_peers (NAME=URL,...) into out. Returns true when the
 * list names it. */
static bool s_own_peer(char *out, size_t size)
{
	size_t n = strlen(s_node);
	for (const char *p = s_args.etcd_peers; *p;) {
		size_t len = strcspn(p, ",");
		if (len > n + 1 && strncmp(p, s_node, n) == 0 && p[n] == '=') {
			snprintf(out, size, "%.*s", (int)(len - n - 1), p + n + 1);
			return true;
		}
		p += len + (p[len] == ',');
	}
	return false;
}

/* Appends etcd's peer TLS options to argv at *n: only members (certificates of the cluster's
 * etcd authority with common name etcd, which the keys CGI issues role = etcd nodes alone)
 * may speak raft to this one. */
static void s_peer_tls(char **argv, size_t *n)
{
	static char *const opts[] = {
	    "--peer-cert-file",          KEYS_DIR "/etcd-client.crt", "--peer-key-file",
	    KEYS_DIR "/etcd-client.key", "--peer-trusted-ca-file",    KEYS_DIR "/etcd-ca.crt",
	    "--peer-client-cert-auth",   "--peer-cert-allowed-cn",    "etcd"};
	for (size_t i = 0; i < sizeof opts / sizeof *opts; i++)
		argv[(*n)++] = opts[i];
}

/* Whether this member of several starts as new or joins its cluster again (its data directory
 * is in RAM: a member that ran before lost everything and must be replaced, not restarted
 * under its old identity): `plexus-node --join-etcd` asks the other members. Returns "new",
 * "existing" with cluster replaced by the members it joined, or NULL when they answered but
 * would not take it back (the main loop asks again, s_etcd.due_ms). */
static const char *s_etcd_state(const char *peer, char *cluster, size_t size)
{
	char *argv[] = {NODE_BIN, "--join-etcd", s_args.etcd,
	                s_node,   (char *)peer,  "/run/plexus/etcd-initial",
	                NULL};
	if (s_link[0]) /* its etcd user (root, for a member) is in the node's link file */
		setenv("PLEXUS_LINK", s_link, 1);
	int st = s_run(argv);
	unsetenv("PLEXUS_LINK");
	if (st == EX_TEMPFAIL)
		return "new";
	if (st == 0 && s_slurp("/run/plexus/etcd-initial", cluster, size) > 0) {
		cluster[strcspn(cluster, "\n")] = '\0';
		s_stage("etcd", "%s ran before: a new member of the running cluster", s_node);
		return "existing";
	}
	static bool said; /* once: the loop asks every ETCD_JOIN_MS */
	if (!said)
		s_stage(
		    "etcd",
		    "the other members refuse to take %s back yet (more than half of them down, "
		    "or one not connected); asking again every %d s",
		    s_node, ETCD_JOIN_MS / 1000);
	said = true;
	s_etcd.due_ms = s_now_ms() + ETCD_JOIN_MS;
	return NULL;
}

static void s_start_etcd(void)
{
	/* with keys (plexus.keys=) and etcd's certificate among them: https only, every client
	 * showing a certificate from the cluster's etcd authority; the node's own certificate
	 * names its address and serves as etcd's */
	bool tls = s_link[0] && access(KEYS_DIR "/etcd-ca.crt", F_OK) == 0;
	const char *scheme = tls ? "https" : "http";
	static char client[96], peer[PLX_BOOTARGS_TEXT_MAX], cluster[PLX_BOOTARGS_TEXT_MAX + 80],
	    adv[64];
	snprintf(client, sizeof client, "%s://%s:2379,%s://127.0.0.1:2379", scheme, s_ip, scheme);
	/* one member: its peer port serves nobody, so loopback only (on the LAN address anyone
	 * there could speak raft to it); several (plexus.etcd_peers): the LAN address the list
	 * gives this node, and the list is the initial cluster */
	bool several = s_args.etcd_peers[0] && s_own_peer(peer, sizeof peer);
	if (s_args.etcd_peers[0] && !several && !s_etcd.start_ms && !s_etcd.due_ms)
		s_stage("etcd", "plexus.etcd_peers does not name %s: a member of its own", s_node);
	/* a member that ran in this boot keeps its data directory: etcd goes on from it (the
	 * state flags are ignored then) */
	bool ran = access(ETCD_DATA "/member", F_OK) == 0;
	const char *state = "new";
	if (several) {
		snprintf(cluster, sizeof cluster, "%s", s_args.etcd_peers);
		if (!ran && !(state = s_etcd_state(peer, cluster, sizeof cluster)))
			return;
	} else {
		snprintf(peer, sizeof peer, "http://127.0.0.1:2380");
		snprintf(cluster, sizeof cluster, "%s=%s", s_node, peer);
	}
	snprintf(adv, sizeof adv, "%s://%s:2379", scheme, s_ip);
	char *argv[48] = {"/usr/bin/etcd",
	                  "--name",
	                  s_node,
	                  "--data-dir",
	                  ETCD_DATA,
	                  "--listen-client-urls",
	                  client,
	                  "--advertise-client-urls",
	                  adv,
	                  "--listen-peer-urls",
	                  peer,
	                  "--initial-advertise-peer-urls",
	                  peer,
	                  "--initial-cluster",
	                  cluster,
	                  "--initial-cluster-token",
	                  s_args.cluster,
	                  "--initial-cluster-state",
	                  (char *)state,
	                  "--bcrypt-cost", /* its users' passwords hold 128 random bits (derived */
	                  "4"};            /* from the trust root): more rounds buy nothing */
	size_t n = 21;
	if (tls) {
		static char *const opts[] = {"--cert-file",       KEYS_DIR "/etcd-client.crt",
		                             "--key-file",        KEYS_DIR "/etcd-client.key",
		                             "--trusted-ca-file", KEYS_DIR "/etcd-ca.crt",
		                             "--client-cert-auth"};
		for (size_t i = 0; i < sizeof opts / sizeof *opts; i++)
			argv[n++] = opts[i];
		if (several)
			s_peer_tls(argv, &n);
	}
	argv[n] = NULL;
	int fd = open(LOG_DIR "/etcd.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	pid_t pid = s_spawn(argv, fd, true);
	if (fd >= 0)
		close(fd);
	s_etcd.pid = pid > 0 ? pid : 0;
	s_etcd.start_ms = s_now_ms();
	s_etcd.due_ms = pid > 0 ? 0 : s_etcd.start_ms + ETCD_JOIN_MS;
	if (!s_args.etcd[0])
		snprintf(s_args.etcd, sizeof s_args.etcd, "%s://127.0.0.1:2379", scheme);
	s_stage("etcd", "member %s on %s%s%s%s%s (pid %d)", s_node, adv,
	        tls ? ", clients with a certificate of the cluster's etcd authority only" : "",
	        several ? ", one of " : "", several ? cluster : "",
	        strcmp(state, "new") ? " (existing)" : "", (int)pid);
}

/* plexus.keys=URL: this node's key pair, made here, and a certificate for it from the PXE
 * server (`plexus-node --fetch-keys`, plx_link_fetch) into KEYS_DIR; a try every 3 s for a
 * minute. Returns 0 or -1. */
static int s_keys(void)
{
	char label[PLX_BOOTARGS_NAME_MAX + 8];
	snprintf(label, sizeof label, "node.%s", s_node);
	char *argv[] = {NODE_BIN, "--fetch-keys", s_args.keys, label, KEYS_DIR, NULL};
	mkdir(KEYS_DIR, 0755);
	for (int i = 0; i < KEYS_TRIES; i++) {
		if (s_run(argv) == 0) {
			setenv("PLEXUS_KEYS", KEYS_DIR, 1);
			snprintf(s_link, sizeof s_link, "%s/%s.link", KEYS_DIR, label);
			s_stage("keys", "a certificate for %s from %s in %s", label, s_args.keys,
			        KEYS_DIR);
			return 0;
		}
		if (i == 0)
			s_stage("keys", "none from %s yet; trying every 3 s for a minute",
			        s_args.keys);
		sleep(3);
	}
	s_stage("keys",
	        "none from %s: plexus-node not started (a node without keys runs nothing; RS's "
	        "power backend may boot it again)",
	        s_args.keys);
	return -1;
}

static void s_start_node(void)
{
	char ttl[16];
	char *argv[20];
	int n = 0;
	argv[n++] = NODE_BIN;
	argv[n++] = "--node";
	argv[n++] = s_node;
	argv[n++] = "--addr";
	argv[n++] = s_ip;
	argv[n++] = "--cluster";
	argv[n++] = s_args.cluster;
	argv[n++] = "--log-dir";
	argv[n++] = LOG_DIR;
	if (s_args.etcd[0]) {
		argv[n++] = "--etcd";
		argv[n++] = s_args.etcd;
	}
	if (s_args.lease_ttl_s) {
		snprintf(ttl, sizeof ttl, "%d", s_args.lease_ttl_s);
		argv[n++] = "--lease-ttl";
		argv[n++] = ttl;
	}
	argv[n] = NULL;
	int fd = open(LOG_DIR "/plexus-node.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (s_link[0]) /* its own keys: for plexus-node only, not the console shell */
		setenv("PLEXUS_LINK", s_link, 1);
	s_nodek.pid = s_spawn(argv, fd, true);
	unsetenv("PLEXUS_LINK");
	if (fd >= 0)
		close(fd);
	s_nodek.due_ms = 0;
	s_nodek.start_ms = s_now_ms();
	s_stage("node", "plexus-node %s on %s, etcd %s, cluster %s, %s links (pid %d, log %s)",
	        s_node, s_ip, s_args.etcd[0] ? s_args.etcd : "default", s_args.cluster,
	        s_link[0] ? "secured" : "plain", (int)s_nodek.pid, LOG_DIR "/plexus-node.log");
}

/* The console's tty: the last name in /sys/class/tty/console/active, e.g. /dev/ttyS0. */
static void s_console_tty(char *path, size_t cap)
{
	char text[128];
	snprintf(path, cap, "/dev/console");
	if (s_slurp("/sys/class/tty/console/active", text, sizeof text) <= 0)
		return;
	text[strcspn(text, "\n")] = '\0';
	char *last = strrchr(text, ' ');
	snprintf(path, cap, "/dev/%.40s", last ? last + 1 : text);
}

static void s_start_shell(void)
{
	char tty[64];
	s_console_tty(tty, sizeof tty);
	pid_t pid = fork();
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setsid();
		int fd = open(tty, O_RDWR);
		if (fd < 0)
			_exit(127);
		ioctl(fd, TIOCSCTTY, 1);
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
		char ps1[128];
		snprintf(ps1, sizeof ps1, "PS1=plexus:%s# ", s_node[0] ? s_node : "node");
		char *envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
		                "HOME=/",
		                "TERM=vt100",
		                ps1,
		                "PLEXUS_STATE_DIR=" UP_STATE, /* etcd, keys */
		                "PLEXUS_CLUSTER=default",
		                "PLEXUS_NODE=local",
		                NULL};
		if (s_up && access(PLEXUS_CLI, X_OK) == 0) { /* plexus up ran: its shell */
			char *argv[] = {PLEXUS_CLI, "sh", NULL};
			execve(argv[0], argv, envp);
		}
		envp[4] = NULL;
		char *argv[] = {"/bin/sh", NULL};
		execve(argv[0], argv, envp);
		_exit(127);
	}
	s_shell.pid = pid;
	s_shell.due_ms = 0;
}

/* plexus.role=up: loopback up, then `plexus up` (etcd, plexus-node, plexus-rs and the
 * services of its default description on 127.0.0.1) with its progress on the console; the
 * data disk is the first virtio disk when there is one. Returns plexus up's exit status. */
static int s_run_up(void)
{
	char *lo[] = {"/bin/busybox", "ip", "link", "set", "lo", "up", NULL};
	s_run(lo);
	snprintf(s_ip, sizeof s_ip, "127.0.0.1");
	if (!s_node[0])
		snprintf(s_node, sizeof s_node, "local");
	bool disk = access(UP_DISK, F_OK) == 0;
	s_stage("up",
	        "plexus up: etcd, plexus-node, plexus-rs and the services on 127.0.0.1, "
	        "data disk %s",
	        disk ? UP_DISK : "a RAM file");
	char *argv[16];
	int n = 0;
	argv[n++] = PLEXUS_CLI;
	argv[n++] = "up";
	argv[n++] = "--no-tour";
	argv[n++] = "--state-dir";
	argv[n++] = UP_STATE;
	argv[n++] = "--port";
	argv[n++] = "2379";
	argv[n++] = "--timeout";
	argv[n++] = "120000";
	if (disk) {
		argv[n++] = "--image";
		argv[n++] = UP_DISK;
	}
	argv[n] = NULL;
	setenv("HOME", "/", 1);
	/* up secures the links and etcd with keys it makes in UP_STATE/keys; the console's
	 * plexus sh and plexus down find them there */
	setenv("PLEXUS_STATE_DIR", UP_STATE, 1);
	/* etcd is a Go program: under TCG its garbage collector's work is dear; the VM has
	 * memory to spare for a short-lived member */
	setenv("GOGC", "400", 1);
	/* the registry leases of plexus-node, plexus-rs and the services (all read
	 * PLEXUS_LEASE_TTL; plexus-node passes its environment on): 2 s is short when etcd
	 * answers late under TCG */
	setenv("PLEXUS_LEASE_TTL", "10", 1);
	int st = s_run(argv);
	if (st != 0)
		s_stage("up", "failed: plexus up exited with %d (logs in %s/logs)", st, UP_STATE);
	return st;
}

/* Stops Plexus in its own order before everything else gets SIGTERM: `plexus down` when this
 * node runs `plexus up` (its services through RS, dependents first), else SIGTERM to
 * plexus-node, which stops its services in the order RS gave it (VFS, file servers writing
 * back and marking their images clean, then drivers) within its grace. */
static void s_stop_plexus(void)
{
	if (s_up) {
		char *argv[] = {PLEXUS_CLI, "down", "--state-dir", UP_STATE, NULL};
		s_run(argv);
		return;
	}
	if (s_nodek.pid <= 0 || kill(s_nodek.pid, SIGTERM) < 0)
		return;
	int64_t deadline = s_now_ms() + NODE_STOP_MS;
	while (s_now_ms() < deadline && waitpid(s_nodek.pid, NULL, WNOHANG) == 0)
		usleep(20000);
	s_nodek.pid = 0;
}

static void s_shutdown(int how)
{
	printf("plexus-boot: shutdown: %s\n", how == RB_POWER_OFF ? "power off" : "reboot");
	fflush(stdout);
	s_stop_plexus();
	kill(-1, SIGTERM);
	int64_t deadline = s_now_ms() + 2000;
	while (s_now_ms() < deadline && waitpid(-1, NULL, WNOHANG) >= 0)
		usleep(20000);
	kill(-1, SIGKILL);
	sync();
	reboot(how);
	_exit(0);
}

/* Reaps children; schedules a restart for plexus-node, the shell and the etcd member. */
static void s_reap(void)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		s_child *c = pid == s_nodek.pid   ? &s_nodek
		             : pid == s_shell.pid ? &s_shell
		             : pid == s_etcd.pid  ? &s_etcd
		                                  : NULL;
		if (!c)
			continue;
		int64_t now = s_now_ms();
		c->pid = 0;
		if (now - c->start_ms > 60000)
			c->backoff_ms = 1000; /* it ran a while: not a crash loop */
		c->due_ms = now + c->backoff_ms;
		if (c == &s_nodek)
			printf(
			    "plexus-boot: node: plexus-node exited (%s %d); restarting in %d s%s\n",
			    WIFSIGNALED(status) ? "signal" : "status",
			    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
			    c->backoff_ms / 1000,
			    WIFEXITED(status) && WEXITSTATUS(status) == 69 ? " (etcd unreachable)"
			                                                   : "");
		if (c == &s_etcd)
			printf("plexus-boot: etcd: member exited (%s %d); restarting in %d s\n",
			       WIFSIGNALED(status) ? "signal" : "status",
			       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
			       c->backoff_ms / 1000);
		c->backoff_ms = c->backoff_ms * 2 > 30000 ? 30000 : c->backoff_ms * 2;
		fflush(stdout);
	}
}

/* True when fd's device reports KEY_POWER. */
static bool s_has_power_key(int fd)
{
	unsigned long keys[KEY_MAX / (8 * sizeof(unsigned long)) + 1] = {0};
	if (ioctl(fd, EVIOCGBIT(EV_KEY, sizeof keys), keys) < 0)
		return false;
	return keys[KEY_POWER / (8 * sizeof(unsigned long))] &
	       (1UL << (KEY_POWER % (8 * sizeof(unsigned long))));
}

/* Opens (non-blocking) the input devices that have a power key; the button driver makes
 * them a moment after its module loaded, so this is tried again until one is found. */
static void s_open_buttons(void)
{
	DIR *d = opendir("/dev/input");
	struct dirent *e;
	while (d && (e = readdir(d)) && s_nbuttons < BUTTONS_MAX) {
		if (strncmp(e->d_name, "event", 5) != 0)
			continue;
		char path[300];
		snprintf(path, sizeof path, "/dev/input/%s", e->d_name);
		int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0 && s_has_power_key(fd)) {
			s_buttons[s_nbuttons++] = fd;
			printf("plexus-boot: power button: %s\n", path);
		} else if (fd >= 0)
			close(fd);
	}
	if (d)
		closedir(d);
}

/* True when a power key was pressed since the last call. */
static bool s_power_pressed(void)
{
	struct input_event ev;
	for (int i = 0; i < s_nbuttons; i++)
		while (read(s_buttons[i], &ev, sizeof ev) == (ssize_t)sizeof ev)
			if (ev.type == EV_KEY && ev.code == KEY_POWER && ev.value == 1)
				return true;
	return false;
}

static void s_loop(bool node)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGINT);
	for (int ticks = 0;; ticks++) {
		if (!s_nbuttons && ticks % 5 == 0 && ticks <= BUTTON_TICKS)
			s_open_buttons();
		struct timespec tick = {0, 200 * 1000000};
		int sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT)
			s_shutdown(RB_AUTOBOOT);
		if (sig == SIGUSR1 || sig == SIGUSR2)
			s_shutdown(RB_POWER_OFF);
		if (s_power_pressed()) {
			printf("plexus-boot: power button pressed\n");
			s_shutdown(RB_POWER_OFF);
		}
		s_reap();
		int64_t now = s_now_ms();
		if (node && !s_nodek.pid && s_nodek.due_ms && now >= s_nodek.due_ms)
			s_start_node();
		if (s_args.shell && !s_shell.pid && s_shell.due_ms && now >= s_shell.due_ms)
			s_start_shell();
		if (!s_etcd.pid && s_etcd.due_ms && now >= s_etcd.due_ms)
			s_start_etcd();
	}
}

int main(void)
{
	sigset_t set;
	sigfillset(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	s_mounts();
	setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);

	char cmdline[4096] = "", err[512];
	s_slurp("/proc/cmdline", cmdline, sizeof cmdline);
	bool ok = plx_bootargs_parse(cmdline, &s_args, err, sizeof err) == 0;
	if (!ok)
		plx_bootargs_parse("", &s_args, NULL, 0);
	snprintf(s_node, sizeof s_node, "%s", s_args.node);
	char uptime[64] = "?";
	s_slurp("/proc/uptime", uptime, sizeof uptime);
	uptime[strcspn(uptime, " ")] = '\0';
	s_stage("init", "plexus-init on %s, kernel up %s s", s_node[0] ? s_node : "(no name yet)",
	        uptime);
	if (!ok)
		s_stage("init", "bad kernel command line, node not started: %s", err);

	int failed, loaded = s_modules(&failed);
	s_stage("modules", "%d loaded, %d failed", loaded, failed);

	s_up = ok && plx_bootargs_has_role(&s_args, "up");
	if (s_up) {
		int st = s_run_up();
		char up[64] = "?";
		s_slurp("/proc/uptime", up, sizeof up);
		up[strcspn(up, " ")] = '\0';
		s_stage("ready", "plexus up %s, %s s after the kernel started; console: %s",
		        st == 0 ? "done" : "failed", up, st == 0 ? "plexus sh" : "/bin/sh");
		if (st != 0)
			s_up = false;
		else
			printf(
			    "\n  Plexus is up inside this VM (etcd, plexus-node, plexus-rs and "
			    "every service of\n  the default description). This console is plexus "
			    "sh: try ls /, ps, cat;\n  'exit' opens it again. The power button "
			    "(Ctrl-a c, then system_powerdown)\n  stops Plexus in order and powers "
			    "off; Ctrl-a x pulls the plug.\n\n");
		fflush(stdout);
		if (s_args.shell)
			s_start_shell();
		s_loop(false);
	}
	bool node = ok && s_network() == 0;
	if (node && !s_node[0]) {
		s_stage("node", "not started: no plexus.node= and no host name from DHCP");
		node = false;
	}
	if (node && s_args.keys[0] && s_keys() < 0)
		node = false;
	if (node && plx_bootargs_has_role(&s_args, "etcd"))
		s_start_etcd();
	if (node)
		s_start_node();
	s_stage("ready", "node %s, address %s; console shell %s", s_node[0] ? s_node : "-",
	        s_ip[0] ? s_ip : "-", s_args.shell ? "on" : "off");
	if (s_args.shell) {
		printf("\n  Plexus node %s (%s) -- plexus-node logs in %s; 'poweroff' ends the "
		       "VM\n\n",
		       s_node[0] ? s_node : "-", s_ip[0] ? s_ip : "no network", LOG_DIR);
		fflush(stdout);
		s_start_shell();
	}
	s_loop(node);
}
