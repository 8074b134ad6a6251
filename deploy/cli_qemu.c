/*
 * cli_qemu.c — `plexus qemu boot` and `plexus qemu cluster`.
 *
 * Entry points: plx_qemu_cli.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include <plexus/deploy_cli.h>
#include <plexus/qemu.h>

#include "deploy_paths.h"
#include "etcd_harness.h"

static const char s_usage[] =
    "usage: plexus qemu boot [--image DIR] [--node NAME] [--etcd HOST:PORT] [--uefi]\n"
    "                        [--append ARGS]\n"
    "       plexus qemu cluster [--nodes N] [--image DIR] [--uefi I] [--disk I=SIZE|FILE]\n"
    "                           [--insecure]\n"
    "\n"
    "boot: one VM boots the image directly (-kernel/-initrd, TCG) with its serial console on\n"
    "this terminal; Ctrl-a x leaves. Its plexus-node registers in a private etcd started on\n"
    "127.0.0.1 (or in the one at --etcd HOST:PORT on this machine), which the VM reaches at\n"
    "10.0.2.100:2379; the VM reaches nothing else.\n"
    "cluster: N VMs (default 3, at most 16) boot by PXE (iPXE, dnsmasq, HTTP) on a bridge in a\n"
    "private network namespace with etcd; VM number I (repeatable) boots through UEFI. Prints\n"
    "each node as it registers, then runs until SIGINT and removes everything. Needs root.\n"
    "--disk I=SIZE|FILE (repeatable) gives VM I a virtio disk (/dev/vda): SIZE (64M) for a\n"
    "new image in the run directory, or a file kept afterwards (64 MiB when missing); a new\n"
    "image is formatted once with mkfs.minix -3. A VM whose QEMU ends is started again\n"
    "powered off, until RS's qemu power backend (QMP system_reset, cont) switches it on.\n"
    "Links are secured: a trust root in the run directory, keys for each VM from the PXE\n"
    "server at boot (docs/security.md); --insecure boots plain links instead.\n"
    "Both use the image in " PLEXUS_IMAGE_DIR " unless --image says otherwise\n"
    "(plexus image build). docs/deploy.md.\n";

static int s_boot(int argc, char **argv)
{
	const char *image = PLEXUS_IMAGE_DIR, *node = "solo", *etcd = NULL, *extra = "";
	bool uefi = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--image") == 0 && i + 1 < argc)
			image = argv[++i];
		else if (strcmp(argv[i], "--node") == 0 && i + 1 < argc)
			node = argv[++i];
		else if (strcmp(argv[i], "--etcd") == 0 && i + 1 < argc)
			etcd = argv[++i];
		else if (strcmp(argv[i], "--append") == 0 && i + 1 < argc)
			extra = argv[++i];
		else if (strcmp(argv[i], "--uefi") == 0)
			uefi = true;
		else {
			fputs(s_usage, strcmp(argv[i], "--help") == 0 ? stdout : stderr);
			return strcmp(argv[i], "--help") == 0 ? EX_OK : EX_USAGE;
		}
	}
	char kernel[1100], initrd[1100], append[2048], fwd[300], dir[] = "/tmp/plexus-qemu-XXXXXX";
	snprintf(kernel, sizeof kernel, "%s/vmlinuz", image);
	snprintf(initrd, sizeof initrd, "%s/initramfs.img", image);
	if (access(kernel, R_OK) != 0 || access(initrd, R_OK) != 0) {
		fprintf(stderr, "plexus qemu boot: no image in %s (run plexus image build)\n",
		        image);
		return EX_NOINPUT;
	}
	plx_etcdh *h = NULL;
	if (!etcd) {
		if (!(h = plx_etcdh_start(1))) {
			fprintf(stderr, "plexus qemu boot: etcd: %s\n", plx_etcdh_error());
			return EX_UNAVAILABLE;
		}
		etcd = plx_etcdh_url(h, 0) + strlen("http://");
	}
	snprintf(fwd, sizeof fwd, "%s", etcd);
	snprintf(append, sizeof append,
	         "console=ttyS0 quiet no_timer_check plexus.node=%s "
	         "plexus.etcd=http://10.0.2.100:2379 %s",
	         node, extra);
	if (!mkdtemp(dir)) {
		plx_etcdh_stop(&h);
		return EX_CANTCREAT;
	}
	plx_vm_opts o = {.name = node,
	                 .dir = dir,
	                 .kernel = kernel,
	                 .initrd = initrd,
	                 .append = append,
	                 .etcd_fwd = fwd,
	                 .uefi = uefi,
	                 .interactive = true};
	char **qargv = plx_vm_argv(&o);
	fprintf(stderr, "plexus qemu: booting %s (etcd %s on this machine); Ctrl-a x leaves\n",
	        node, etcd);
	pid_t pid = qargv ? fork() : -1;
	if (pid == 0) {
		execvp(qargv[0], qargv);
		fprintf(stderr, "plexus qemu: %s: %s\n", qargv[0], strerror(errno));
		_exit(127);
	}
	signal(SIGINT, SIG_IGN); /* the console's Ctrl-c belongs to the guest */
	int status = 0;
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		continue;
	plx_vm_argv_free(&qargv);
	plx_etcdh_stop(&h);
	char *rm[] = {"rm", "-rf", dir, NULL};
	pid_t r = fork();
	if (r == 0) {
		execvp(rm[0], rm);
		_exit(127);
	}
	waitpid(r, NULL, 0);
	return pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? EX_OK : EX_SOFTWARE;
}

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
	s_stop = sig;
}

static int s_cluster(int argc, char **argv)
{
	plx_qcluster_opts o = {.nodes = 3, .image = PLEXUS_IMAGE_DIR, .memory_mb = 256};
	unsigned uefi = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--nodes") == 0 && i + 1 < argc)
			o.nodes = atoi(argv[++i]);
		else if (strcmp(argv[i], "--image") == 0 && i + 1 < argc)
			o.image = argv[++i];
		else if (strcmp(argv[i], "--uefi") == 0 && i + 1 < argc) {
			int k = atoi(argv[++i]);
			if (k >= 1 && k <= 16)
				uefi |= 1u << (k - 1);
		} else if (strcmp(argv[i], "--disk") == 0 && i + 1 < argc) {
			char *eq = strchr(argv[++i], '=');
			int k = atoi(argv[i]);
			if (!eq || k < 1 || k > 16 || !eq[1]) {
				fputs(s_usage, stderr);
				return EX_USAGE;
			}
			o.disks[k - 1] = eq + 1;
		} else if (strcmp(argv[i], "--insecure") == 0) {
			o.insecure = true;
		} else {
			fputs(s_usage, strcmp(argv[i], "--help") == 0 ? stdout : stderr);
			return strcmp(argv[i], "--help") == 0 ? EX_OK : EX_USAGE;
		}
	}
	if (o.nodes < 1 || o.nodes > 16) {
		fputs(s_usage, stderr);
		return EX_USAGE;
	}
	char err[1024];
	plx_qcluster *c = plx_qcluster_new(&o, err, sizeof err);
	if (!c) {
		fprintf(stderr, "plexus qemu cluster: %s\n", err);
		return EX_UNAVAILABLE;
	}
	signal(SIGINT, s_on_signal);
	signal(SIGTERM, s_on_signal);
	printf("cluster %s: %d VMs, etcd %s in the namespace, files and logs in %s; %s\n",
	       plx_qcluster_name(c), o.nodes, plx_qcluster_etcd(c), plx_qcluster_dir(c),
	       o.insecure ? "plain links" : "secured links (trust root in keys/ there)");
	for (int i = 0; i < o.nodes; i++)
		plx_qcluster_start_vm(c, i, uefi & (1u << i));
	unsigned done = 0, all = (1u << o.nodes) - 1;
	while (!s_stop && done != all)
		for (int i = 0; i < o.nodes && !s_stop; i++)
			if (!(done & (1u << i)) && plx_qcluster_wait_nodes(c, 1u << i, 500) == 0) {
				done |= 1u << i;
				printf("vm%d registered\n", i + 1);
				fflush(stdout);
			}
	if (!s_stop)
		printf("all %d nodes registered; Ctrl-c stops the cluster\n", o.nodes);
	fflush(stdout);
	while (!s_stop) {
		if (plx_qcluster_supervise(c) > 0) {
			printf(
			    "a VM's QEMU ended: started again powered off, for RS to switch on\n");
			fflush(stdout);
		}
		usleep(200000);
	}
	plx_qcluster_destroy(&c);
	return EX_OK;
}

int plx_qemu_cli(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "boot") == 0)
		return s_boot(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "cluster") == 0)
		return s_cluster(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(s_usage, stdout);
		return EX_OK;
	}
	fputs(s_usage, stderr);
	return EX_USAGE;
}
