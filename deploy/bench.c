/*
 * bench.c — `plexus bench boot`: power-on to plexus-node registered and to the cluster ready
 * (plexus-rs placed the file system — vdisk, MFS, PFS, VFS — and every service is up), for 1
 * and 3 VMs booting by PXE (iPXE, dnsmasq, HTTP) against the same image booted directly
 * (-kernel/-initrd) on the same network, and the initramfs's size against Debian's own
 * initrd.img.
 *
 * Entry points: plx_bench_boot.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <plexus/deploy_cli.h>
#include <plexus/image.h>
#include <plexus/qemu.h>

#include "bench.h"
#include "deploy.h"
#include "deploy_paths.h"
#include "netns_harness.h"

static double s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* One boot's figures, in ms from the first power-on. */
typedef struct s_times {
	double registered; /* the last node registered */
	double ready;      /* every service RS placed is up */
} s_times;

/* One boot of n VMs carrying the file system (plx_qcluster_fs_services), by PXE or directly:
 * waits for every node to register, then starts plexus-rs in the hub (as `plexus up --qemu`
 * does) and waits for every service to be up. Returns 0 or -1 with the logs kept. */
static int s_boot(const char *image, int n, bool direct, s_times *t)
{
	char err[1024], services[2048];
	int disk = plx_qcluster_fs_services(n, services, sizeof services);
	plx_qcluster_opts o = {
	    .nodes = n, .image = image, .memory_mb = 384, .cluster = "bench", .services = services};
	o.disks[disk] = "64M";
	plx_qcluster *c = plx_qcluster_new(&o, err, sizeof err);
	if (!c) {
		fprintf(stderr, "plexus bench boot: %s\n", err);
		return -1;
	}
	double t0 = s_now_ms();
	int r = 0;
	for (int i = 0; i < n && r == 0; i++)
		r = direct ? plx_qcluster_start_vm_direct(c, i)
		           : plx_qcluster_start_vm(c, i, false);
	if (r == 0)
		r = plx_qcluster_wait_nodes(c, (1u << n) - 1, 300000);
	t->registered = s_now_ms() - t0;
	if (r == 0 && (r = plx_qcluster_start_rs(c, PLEXUS_RS_BIN, "rs-bench")) < 0)
		fprintf(stderr, "plexus bench boot: plexus-rs: %s\n", netns_error());
	plx_qcluster_svcs sv = {0};
	if (r == 0)
		r = plx_qcluster_wait_ready(c, &sv, 300000);
	t->ready = s_now_ms() - t0;
	if (r < 0) {
		fprintf(stderr,
		        "plexus bench boot: %d VMs (%s) not ready (%d of %d services up); logs "
		        "kept in %s\n%s",
		        n, direct ? "direct" : "pxe", sv.up, sv.placed, plx_qcluster_dir(c),
		        sv.text);
		plx_qcluster_failed(c);
	}
	plx_qcluster_destroy(&c);
	return r < 0 ? -1 : 0;
}

static double s_median(bench_samples *s)
{
	return bench_samples_percentile(s, 50);
}

/* The size of Debian's initramfs-tools image for the newest kernel, or 0. */
static double s_debian_initrd(void)
{
	DIR *d = opendir("/boot");
	struct dirent *e;
	char best[256] = "";
	while (d && (e = readdir(d)))
		if (strncmp(e->d_name, "initrd.img-", 11) == 0 && !strstr(e->d_name, ".new") &&
		    (!best[0] || strverscmp(e->d_name, best) > 0))
			snprintf(best, sizeof best, "%s", e->d_name);
	if (d)
		closedir(d);
	char path[300];
	snprintf(path, sizeof path, "/boot/%s", best);
	struct stat st;
	return best[0] && stat(path, &st) == 0 ? (double)st.st_size : 0;
}

int plx_bench_boot(int argc, char **argv)
{
	bool json = false;
	int runs = 1;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = atoi(argv[++i]);
		else {
			fprintf(
			    stderr,
			    "usage: plexus bench boot [--json] [--runs N]\n"
			    "Boots the image under QEMU (TCG) in a private network namespace: "
			    "1 and 3 VMs by PXE\nagainst the same image booted by -kernel/-initrd, "
			    "to every node registered and to\nthe cluster ready (plexus-rs started "
			    "the file system's services on the VMs); the\nimage's size. --runs N "
			    "repeats each boot (median). Needs root.\n");
			return strcmp(argv[i], "--help") == 0 ? EX_OK : EX_USAGE;
		}
	}
	if (runs < 1 || runs > 20)
		runs = 1;
	char dir[] = "/tmp/plexus-bench-boot-XXXXXX", err[1024];
	if (!mkdtemp(dir))
		return EX_CANTCREAT;
	plx_image_opts o;
	deploy_image_defaults(&o);
	o.out_dir = dir;
	plx_image_result img;
	if (plx_image_build(&o, &img, err, sizeof err) < 0) {
		fprintf(stderr, "plexus bench boot: image: %s\n", err);
		return EX_SOFTWARE;
	}
	static const int sizes[] = {1, 3};
	enum { REG, READY };
	bench_samples *pxe[2][2], *direct[2][2];
	int code = EX_OK;
	for (int k = 0; k < 2; k++) {
		for (int m = REG; m <= READY; m++) {
			pxe[k][m] = bench_samples_new((size_t)runs);
			direct[k][m] = bench_samples_new((size_t)runs);
		}
		for (int r = 0; r < runs && code == EX_OK; r++) {
			s_times a = {0}, b = {0};
			if (s_boot(dir, sizes[k], false, &a) < 0 ||
			    s_boot(dir, sizes[k], true, &b) < 0)
				code = EX_SOFTWARE;
			bench_samples_add(pxe[k][REG], a.registered);
			bench_samples_add(pxe[k][READY], a.ready);
			bench_samples_add(direct[k][REG], b.registered);
			bench_samples_add(direct[k][READY], b.ready);
			if (!json && code == EX_OK)
				fprintf(stderr,
				        "  %d VM%s: pxe %.0f ms registered, %.0f ms ready; direct "
				        "%.0f, %.0f\n",
				        sizes[k], sizes[k] > 1 ? "s" : "", a.registered, a.ready,
				        b.registered, b.ready);
		}
	}
	if (code == EX_OK) {
		bench_report *rep = bench_report_new("boot");
		bench_report_add(rep, "boot_1vm_pxe_to_registered", "ms", s_median(pxe[0][REG]),
		                 "same image by -kernel/-initrd", s_median(direct[0][REG]), true);
		bench_report_add(rep, "boot_1vm_pxe_to_cluster_ready", "ms",
		                 s_median(pxe[0][READY]), "same image by -kernel/-initrd",
		                 s_median(direct[0][READY]), true);
		bench_report_add(rep, "boot_3vm_pxe_to_all_registered", "ms", s_median(pxe[1][REG]),
		                 "3 VMs by -kernel/-initrd", s_median(direct[1][REG]), true);
		bench_report_add(rep, "boot_3vm_pxe_to_cluster_ready", "ms",
		                 s_median(pxe[1][READY]), "3 VMs by -kernel/-initrd",
		                 s_median(direct[1][READY]), true);
		bench_report_add(rep, "initramfs_size", "bytes", (double)img.initramfs_size,
		                 "Debian initrd.img", s_debian_initrd(), true);
		bench_report_print(rep, json);
		bench_report_destroy(&rep);
	}
	for (int k = 0; k < 2; k++)
		for (int m = REG; m <= READY; m++) {
			bench_samples_destroy(&pxe[k][m]);
			bench_samples_destroy(&direct[k][m]);
		}
	char cmd[64];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "plexus bench boot: could not remove %s\n", dir);
	return code;
}
