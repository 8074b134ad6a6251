/*
 * up_qemu.c — `plexus up --qemu [--nodes N]`: Plexus booted in QEMU from the netboot image.
 *
 * Entry points: plx_up_qemu.
 *
 * One VM (no --nodes): the image (built with etcd and every program of this build, and
 * rebuilt when one of them is newer) boots by -kernel/-initrd with plexus.role=up, so its
 * plexus-init runs `plexus up` inside the VM — etcd, plexus-node, plexus-rs and the services of
 * up's own default description, on the VM's 127.0.0.1 — and then opens `plexus sh` on the
 * serial console with a banner. The data disk is a virtio drive (/dev/vda) over STATE/data.img,
 * made and formatted once. With a terminal, the console is this terminal (Ctrl-a x pulls the
 * plug; the monitor's system_powerdown presses the power button);
 * without one, the console is a unix socket STATE/local.console and the command waits for
 * SIGINT. Either way it reports how long the VM took to be ready.
 *
 * --nodes N: the QEMU PXE cluster (plexus/qemu.h: a bridge in a private network namespace,
 * dnsmasq, etcd, N VMs booting by iPXE) with plexus-rs in the namespace placing the file
 * system on the VMs (plx_qcluster_fs_services), a virtio disk on the VM of vdisk; it prints
 * each node and service as it comes up, then runs until SIGINT, starting a VM whose QEMU
 * ended again powered off so RS's qemu power backend can switch it on.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <plexus/deploy_cli.h>
#include <plexus/image.h>
#include <plexus/qemu.h>
#include <plexus/qmp.h>

#include "deploy.h"
#include "deploy_paths.h"
#include "netns_harness.h"

#define READY_TEXT   "plexus-boot: ready: plexus up done"
#define POWERDOWN_MS 120000 /* a VM shutting down in order (plexus down inside, under TCG) */

typedef struct s_opts {
	int nodes;        /* 0: one VM running plexus up */
	int etcd_members; /* with --nodes: etcd's members in the hub (1, 3 or 5) */
	char image[PATH_MAX];
	char state[PATH_MAX];
	int memory_mb;
	int timeout_s;
} s_opts;

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
	s_stop = sig;
}

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: plexus up --qemu [--nodes N] [--image DIR] [--state-dir DIR] [--memory MB]\n"
	    "                        [--timeout S] [--etcd-members 1|3|5]\n\n"
	    "Boots Plexus in QEMU (TCG unless KVM is proven to work) from the netboot image.\n"
	    "Without --nodes: one VM whose init runs `plexus up` inside it (etcd, plexus-node,\n"
	    "plexus-rs and every service of the default description), its data disk a virtio\n"
	    "drive over STATE/data.img (made and formatted once); the serial console then is\n"
	    "`plexus sh`, on this terminal when there is one (Ctrl-a c, then system_powerdown\n"
	    "at the (qemu) prompt shuts the VM down in order; Ctrl-a x pulls the plug), else on\n"
	    "the socket STATE/local.console until SIGINT, which presses the VM's power button:\n"
	    "Plexus inside stops in dependency order and the VM powers off.\n"
	    "--nodes N: N VMs boot by PXE on a bridge in a private network namespace (dnsmasq,\n"
	    "HTTP, etcd there) and plexus-rs there places the file system on them: vfs and pfs\n"
	    "on vm1, mfs on vm2, vdisk over a virtio disk on vm3. Runs until SIGINT (root),\n"
	    "which stops the services through RS in dependency order, then powers the VMs down.\n\n"
	    "  --image DIR      the image (default %s, -pxe with --nodes;\n"
	    "                   built or rebuilt with etcd and this build's programs when\n"
	    "                   older than they are)\n"
	    "  --state-dir DIR  disk image, console log and sockets (default /run/plexus-qemu\n"
	    "                   as root, else /tmp/plexus-qemu-UID)\n"
	    "  --memory MB      per VM (default 1024 for one VM, 384 per cluster VM)\n"
	    "  --timeout S      how long to wait for ready (default 300)\n"
	    "  --etcd-members N with --nodes: etcd as N members in the namespace (1, 3 or 5);\n"
	    "                   every VM and RS are given them all\n"
	    "docs/deploy.md \"plexus up --qemu\".\n",
	    PLEXUS_UP_IMAGE_DIR);
}

static int s_options(int argc, char **argv, s_opts *o)
{
	static const struct option longs[] = {
	    {"qemu", no_argument, NULL, 'q'},
	    {"nodes", required_argument, NULL, 'n'},
	    {"image", required_argument, NULL, 'i'},
	    {"state-dir", required_argument, NULL, 's'},
	    {"memory", required_argument, NULL, 'm'},
	    {"timeout", required_argument, NULL, 't'},
	    {"etcd-members", required_argument, NULL, 'e'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	memset(o, 0, sizeof *o);
	o->timeout_s = 300;
	snprintf(o->image, sizeof o->image, "%s", PLEXUS_UP_IMAGE_DIR);
	if (geteuid() == 0)
		snprintf(o->state, sizeof o->state, "/run/plexus-qemu");
	else
		snprintf(o->state, sizeof o->state, "/tmp/plexus-qemu-%d", (int)getuid());
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
		switch (c) {
		case 'q':
			break;
		case 'n':
			o->nodes = atoi(optarg);
			if (o->nodes < 1 || o->nodes > 16) {
				fprintf(stderr, "plexus up: bad --nodes '%s': want 1..16\n",
				        optarg);
				return EX_USAGE;
			}
			break;
		case 'i':
			snprintf(o->image, sizeof o->image, "%s", optarg);
			break;
		case 's':
			snprintf(o->state, sizeof o->state, "%s", optarg);
			break;
		case 'm':
			o->memory_mb = atoi(optarg);
			if (o->memory_mb < 128 || o->memory_mb > 16384) {
				fprintf(stderr, "plexus up: bad --memory '%s': want 128..16384\n",
				        optarg);
				return EX_USAGE;
			}
			break;
		case 't':
			o->timeout_s = atoi(optarg);
			if (o->timeout_s < 1 || o->timeout_s > 3600) {
				fprintf(stderr, "plexus up: bad --timeout '%s': want 1..3600\n",
				        optarg);
				return EX_USAGE;
			}
			break;
		case 'e':
			o->etcd_members = atoi(optarg);
			if (o->etcd_members != 1 && o->etcd_members != 3 && o->etcd_members != 5) {
				fprintf(stderr,
				        "plexus up: bad --etcd-members '%s': want 1, 3 or 5\n",
				        optarg);
				return EX_USAGE;
			}
			break;
		case 'h':
			s_usage(stdout);
			return -1;
		default:
			fprintf(stderr,
			        "plexus up --qemu: bad option '%s' (see plexus up --qemu --help)\n",
			        argv[optind - 1]);
			return EX_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "plexus up --qemu: unexpected '%s'\n", argv[optind]);
		return EX_USAGE;
	}
	if (!o->memory_mb)
		o->memory_mb = o->nodes ? 384 : 1024;
	return 0;
}

static int64_t s_mtime(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (int64_t)st.st_mtime : -1;
}

/* Builds the image with etcd and this build's programs into dir, unless it is there and
 * newer than each of them. */
static int s_image(const char *dir, bool compress)
{
	plx_image_opts o;
	deploy_image_defaults(&o);
	o.out_dir = dir;
	o.etcd = "/usr/bin/etcd";
	/* one VM: the kernel unpacks a plain cpio seconds sooner under TCG; a cluster: iPXE
	 * fetches a third of the bytes over HTTP */
	o.no_compress = !compress;
	char initrd[PATH_MAX + 32];
	snprintf(initrd, sizeof initrd, "%s/initramfs.img", dir);
	int64_t built = s_mtime(initrd);
	bool stale = built < 0 || s_mtime(o.init) > built;
	size_t n = 0;
	for (; o.programs[n]; n++)
		stale = stale || s_mtime(o.programs[n]) > built;
	if (!stale)
		return 0;
	if (strncmp(dir, PLEXUS_UP_IMAGE_DIR, strlen(PLEXUS_UP_IMAGE_DIR)) != 0 && built >= 0) {
		printf("Using the image in %s (older than this build's programs)\n", dir);
		return 0;
	}
	printf("Building the image with etcd and %zu programs into %s\n", n, dir);
	fflush(stdout);
	char err[1024];
	plx_image_result res;
	if (plx_image_build(&o, &res, err, sizeof err) < 0) {
		fprintf(stderr, "plexus up --qemu: image: %s\n", err);
		return EX_SOFTWARE;
	}
	printf("  %zu entries, initramfs %.1f MB\n", res.entries, (double)res.initramfs_size / 1e6);
	return 0;
}

static int s_mkdirs(const char *dir)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s", dir);
	for (char *p = path + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	return mkdir(path, 0700) == 0 || errno == EEXIST ? 0 : -errno;
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

/* Shuts the VM down in its own order: the ACPI power button (QMP system_powerdown), on
 * which plexus-init stops Plexus (plexus down: VFS, file servers writing back and marking
 * their images clean, drivers) and powers off; waits up to POWERDOWN_MS for QEMU to end, a
 * second signal cutting the wait short; then SIGTERM (a power cut). */
static void s_power_down(const char *state, pid_t pid, int *status)
{
	char qmp[PATH_MAX + 16], msg[PATH_MAX + 256];
	snprintf(qmp, sizeof qmp, "%s/local.qmp", state);
	int rc = plx_qmp_powerdown(qmp, 5000, msg, sizeof msg);
	if (rc == 0)
		printf("Shutting the VM down in order (its power button; a second Ctrl-c pulls the "
		       "plug)\n");
	else
		printf("plexus up --qemu: %s; stopping QEMU\n", msg);
	fflush(stdout);
	s_stop = 0;
	int64_t t0 = s_now_ms();
	while (rc == 0 && !s_stop && s_now_ms() - t0 < POWERDOWN_MS) {
		if (waitpid(pid, status, WNOHANG) == pid) {
			printf("The VM powered off %.1f s after its power button was pressed\n",
			       (double)(s_now_ms() - t0) / 1000);
			return;
		}
		usleep(100000);
	}
	if (rc == 0)
		printf("The VM did not power off%s: stopping QEMU (writes not yet on the disk are "
		       "lost; /data is repaired from its journal at the next start)\n",
		       s_stop ? "" : " in time");
	kill(pid, SIGTERM);
	waitpid(pid, status, 0);
}

/* One VM running plexus up. */
static int s_single(const s_opts *o)
{
	char kernel[PATH_MAX + 16], initrd[PATH_MAX + 16], disk[PATH_MAX + 16], log[PATH_MAX + 16];
	char err[1024];
	if (s_mkdirs(o->state) < 0) {
		fprintf(stderr, "plexus up --qemu: %s: %s\n", o->state, strerror(errno));
		return EX_CANTCREAT;
	}
	char spec[PATH_MAX + 16];
	snprintf(spec, sizeof spec, "%s/data.img", o->state);
	if (plx_qemu_disk(spec, o->state, "data", disk, sizeof disk, err, sizeof err) < 0) {
		fprintf(stderr, "plexus up --qemu: %s\n", err);
		return EX_CANTCREAT;
	}
	snprintf(kernel, sizeof kernel, "%s/vmlinuz", o->image);
	snprintf(initrd, sizeof initrd, "%s/initramfs.img", o->image);
	snprintf(log, sizeof log, "%s/local.log", o->state);
	unlink(log);
	bool tty = isatty(0) && isatty(1);
	plx_vm_opts vo = {.name = "local",
	                  .dir = o->state,
	                  .kernel = kernel,
	                  .initrd = initrd,
	                  .append = "console=ttyS0 quiet no_timer_check plexus.node=local "
	                            "plexus.role=up",
	                  .memory_mb = o->memory_mb,
	                  .cpus = 2, /* etcd, plexus-node, RS and the services start side by side */
	                  .disk = disk,
	                  .interactive = tty};
	const char *accel = plx_qemu_accel();
	char **argv = plx_vm_argv(&vo);
	if (!argv)
		return EX_OSERR;
	printf("Booting one VM (%s, %d MB) from %s: plexus up runs inside it; data disk %s\n",
	       accel, o->memory_mb, o->image, disk);
	if (tty)
		printf(
		    "The console follows; it opens plexus sh once Plexus is up. Ctrl-a c, then "
		    "system_powerdown, shuts the VM down in order; Ctrl-a x pulls the plug.\n\n");
	fflush(stdout);
	int64_t t0 = s_now_ms(), ready_ms = -1;
	pid_t pid = fork();
	if (pid == 0) {
		if (!tty) {
			int null = open("/dev/null", O_RDWR);
			dup2(null, 0);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "plexus up --qemu: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	plx_vm_argv_free(&argv);
	if (pid < 0)
		return EX_OSERR;
	if (tty)
		signal(SIGINT, SIG_IGN); /* Ctrl-c belongs to the guest */
	else {
		signal(SIGINT, s_on_signal);
		signal(SIGTERM, s_on_signal);
	}
	int status = 0, console = -1;
	char sock[PATH_MAX + 16], sink[4096];
	snprintf(sock, sizeof sock, "%s/local.console", o->state);
	bool told = false;
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (!tty && console < 0)
			console = s_console_connect(sock); /* kept: the guest's output must flow */
		while (console >= 0 && recv(console, sink, sizeof sink, MSG_DONTWAIT) > 0)
			continue;
		if (ready_ms < 0 && plx_wait_file_text(log, READY_TEXT, 0) == 0)
			ready_ms = s_now_ms() - t0;
		if (!tty && ready_ms >= 0 && !told) {
			printf("Plexus is up in the VM, ready %.1f s after QEMU started; console: "
			       "%s (log %s); SIGINT stops it\n",
			       (double)ready_ms / 1000, sock, log);
			fflush(stdout);
			told = true;
		}
		if (!tty && ready_ms < 0 && s_now_ms() - t0 > (int64_t)o->timeout_s * 1000) {
			fprintf(stderr, "plexus up --qemu: not ready within %d s; console log %s\n",
			        o->timeout_s, log);
			s_stop = SIGTERM;
		}
		if (s_stop && ready_ms >= 0) {
			s_power_down(o->state, pid, &status);
			break;
		}
		if (s_stop) { /* plexus up inside has not finished: nothing to stop in order */
			kill(pid, SIGTERM);
			waitpid(pid, &status, 0);
			break;
		}
		usleep(100000);
	}
	if (console >= 0)
		close(console);
	if (ready_ms >= 0)
		printf("\nThe VM was ready %.1f s after QEMU started (console log %s).\n",
		       (double)ready_ms / 1000, log);
	else
		printf("\nThe VM never reported ready (console log %s).\n", log);
	return ready_ms >= 0 ? EX_OK : EX_UNAVAILABLE;
}

/* N VMs booting by PXE, RS placing the file system on them. */
static int s_cluster(const s_opts *o)
{
	char services[2048], err[1024];
	int disk_vm = plx_qcluster_fs_services(o->nodes, services, sizeof services);
	if (disk_vm < 0)
		return EX_SOFTWARE;
	plx_qcluster_opts qo = {.nodes = o->nodes,
	                        .image = o->image,
	                        .memory_mb = o->memory_mb,
	                        .services = services,
	                        .etcd_members = o->etcd_members};
	qo.disks[disk_vm] = "64M";
	plx_qcluster *c = plx_qcluster_new(&qo, err, sizeof err);
	if (!c) {
		fprintf(stderr, "plexus up --qemu: %s\n", err);
		return EX_UNAVAILABLE;
	}
	signal(SIGINT, s_on_signal);
	signal(SIGTERM, s_on_signal);
	int64_t t0 = s_now_ms();
	printf("cluster %s: %d VMs (%s), etcd %s in the namespace, files and logs in %s\n"
	       "secured links: every VM fetches keys of its own at boot; clients need "
	       "PLEXUS_KEYS=%s/keys\n",
	       plx_qcluster_name(c), o->nodes, plx_qemu_accel(), plx_qcluster_etcd(c),
	       plx_qcluster_dir(c), plx_qcluster_dir(c));
	fflush(stdout);
	for (int i = 0; i < o->nodes; i++)
		plx_qcluster_start_vm(c, i, false);
	unsigned done = 0, all = (1u << o->nodes) - 1;
	int64_t deadline = t0 + (int64_t)o->timeout_s * 1000;
	while (!s_stop && done != all && s_now_ms() < deadline)
		for (int i = 0; i < o->nodes && !s_stop; i++)
			if (!(done & (1u << i)) && plx_qcluster_wait_nodes(c, 1u << i, 300) == 0) {
				done |= 1u << i;
				printf("  vm%d registered %6.1f s\n", i + 1,
				       (double)(s_now_ms() - t0) / 1000);
				fflush(stdout);
			}
	int code = EX_OK;
	if (!s_stop && done == all && plx_qcluster_start_rs(c, PLEXUS_RS_BIN, "rs-qemu") < 0) {
		fprintf(stderr, "plexus up --qemu: plexus-rs: %s\n", netns_error());
		code = EX_UNAVAILABLE;
	}
	plx_qcluster_svcs sv = {0};
	int ready = -ETIMEDOUT;
	while (code == EX_OK && !s_stop && done == all && s_now_ms() < deadline &&
	       (ready = plx_qcluster_wait_ready(c, &sv, 250)) < 0)
		continue;
	if (code == EX_OK && !s_stop && ready < 0) {
		fprintf(stderr,
		        "plexus up --qemu: not ready within %d s (%d of %d services up); logs in "
		        "%s\n%s",
		        o->timeout_s, sv.up, sv.placed, plx_qcluster_dir(c), sv.text);
		plx_qcluster_failed(c);
		code = EX_UNAVAILABLE;
	}
	if (code == EX_OK && !s_stop) {
		printf("Plexus is up on %d VMs, ready %.1f s after power-on; services:\n%s"
		       "Ctrl-c stops the cluster\n",
		       o->nodes, (double)(s_now_ms() - t0) / 1000, sv.text);
		fflush(stdout);
		while (!s_stop) {
			if (plx_qcluster_supervise(c) > 0) {
				printf("a VM's QEMU ended: started again powered off, for RS to "
				       "switch on\n");
				fflush(stdout);
			}
			usleep(200000);
		}
	}
	if (code == EX_OK)
		plx_qcluster_shutdown(c, PLEXUS_CLI_BIN, stdout);
	plx_qcluster_destroy(&c);
	return code;
}

int plx_up_qemu(int argc, char **argv)
{
	s_opts o;
	int code = s_options(argc, argv, &o);
	if (code)
		return code < 0 ? EX_OK : code;
	if (o.nodes && geteuid() != 0) {
		fprintf(stderr, "plexus up --qemu --nodes: needs root (network namespaces)\n");
		return EX_NOPERM;
	}
	if (o.nodes && strcmp(o.image, PLEXUS_UP_IMAGE_DIR) == 0)
		snprintf(o.image, sizeof o.image, "%s", PLEXUS_UP_IMAGE_DIR "-pxe");
	code = s_image(o.image, o.nodes > 0);
	if (code)
		return code;
	return o.nodes ? s_cluster(&o) : s_single(&o);
}
