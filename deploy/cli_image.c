/*
 * cli_image.c — `plexus image build` and `plexus image info`.
 *
 * Entry points: plx_image_cli, deploy_image_defaults.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <plexus/deploy_cli.h>
#include <plexus/image.h>

#include "deploy.h"
#include "deploy_paths.h"

static const char s_usage[] =
    "usage: plexus image build [--out DIR] [--kernel FILE] [--with-etcd] [--module NAME]...\n"
    "                          [--program FILE]... [--no-compress]\n"
    "       plexus image info [DIR] [--contents]\n"
    "\n"
    "build: a netboot image (vmlinuz, initramfs.img, manifest.txt) from Debian's kernel and an\n"
    "initramfs of plexus-init, busybox, plexus-node and the other Plexus programs, their\n"
    "libraries and the virtio/NIC kernel modules. The same inputs give the same bytes.\n"
    "  --out DIR        where the image goes (default " PLEXUS_IMAGE_DIR ")\n"
    "  --kernel FILE    the kernel (default the newest /boot/vmlinuz-*)\n"
    "  --with-etcd      include /usr/bin/etcd, for nodes booted with plexus.role=etcd\n"
    "  --module NAME    load this kernel module at boot (repeatable; replaces the default\n"
    "                   set virtio_pci virtio_net virtio_blk e1000 e1000e)\n"
    "  --program FILE   add a program to /usr/bin (repeatable)\n"
    "  --no-compress    leave the cpio archive uncompressed\n"
    "info: what an image holds: files, sizes, SHA-256 sums; --contents lists every entry.\n";

/* The Plexus programs found beside this build, plexus-node first. */
static size_t s_programs(const char **out, size_t cap)
{
	static const char *const candidates[] = {PLEXUS_NODE_BIN, PLEXUS_CLI_BIN,
	                                         PLEXUS_OPTIONAL_BINS};
	size_t n = 0;
	for (size_t i = 0; i < sizeof candidates / sizeof *candidates && n < cap; i++)
		if (candidates[i][0] && access(candidates[i], X_OK) == 0)
			out[n++] = candidates[i];
	return n;
}

void deploy_image_defaults(plx_image_opts *o)
{
	memset(o, 0, sizeof *o);
	o->out_dir = PLEXUS_IMAGE_DIR;
	o->init = PLEXUS_INIT_BIN;
	o->udhcpc_sh = PLEXUS_UDHCPC_SH;
	s_programs(o->programs, PLX_IMAGE_MAX_PROGRAMS - 1);
}

static int s_build(int argc, char **argv)
{
	static const struct option longs[] = {
	    {"out", required_argument, NULL, 'o'},     {"kernel", required_argument, NULL, 'k'},
	    {"with-etcd", no_argument, NULL, 'e'},     {"module", required_argument, NULL, 'm'},
	    {"program", required_argument, NULL, 'p'}, {"no-compress", no_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
	plx_image_opts o;
	deploy_image_defaults(&o);
	size_t nmod = 0, nprog = 0;
	while (o.programs[nprog])
		nprog++;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		if (c == 'o')
			o.out_dir = optarg;
		else if (c == 'k')
			o.kernel = optarg;
		else if (c == 'e')
			o.etcd = "/usr/bin/etcd";
		else if (c == 'n')
			o.no_compress = true;
		else if (c == 'm' && nmod < PLX_IMAGE_MAX_MODULES - 1)
			o.module_names[nmod++] = optarg;
		else if (c == 'p' && nprog < PLX_IMAGE_MAX_PROGRAMS - 1)
			o.programs[nprog++] = optarg;
		else if (c == 'h') {
			fputs(s_usage, stdout);
			return EX_OK;
		} else {
			fputs(s_usage, stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		fputs(s_usage, stderr);
		return EX_USAGE;
	}
	plx_image_result res;
	char err[1024];
	int r = plx_image_build(&o, &res, err, sizeof err);
	if (r < 0) {
		fprintf(stderr, "plexus image build: %s\n", err);
		return r == -ENOENT ? EX_NOINPUT : EX_SOFTWARE;
	}
	printf("image in %s: vmlinuz %zu bytes, initramfs.img %zu bytes (%zu entries, cpio %zu "
	       "bytes), sha256 %s\n",
	       o.out_dir, res.kernel_size, res.initramfs_size, res.entries, res.cpio_size,
	       res.initramfs_sha256);
	return EX_OK;
}

static int s_info(int argc, char **argv)
{
	const char *dir = PLEXUS_IMAGE_DIR;
	bool contents = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--contents") == 0)
			contents = true;
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(s_usage, stdout);
			return EX_OK;
		} else if (argv[i][0] == '-') {
			fputs(s_usage, stderr);
			return EX_USAGE;
		} else
			dir = argv[i];
	}
	char err[1024];
	if (plx_image_info(dir, contents, stdout, err, sizeof err) < 0) {
		fprintf(stderr, "plexus image info: %s\n", err);
		return EX_NOINPUT;
	}
	return EX_OK;
}

int plx_image_cli(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "build") == 0)
		return s_build(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "info") == 0)
		return s_info(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(s_usage, stdout);
		return EX_OK;
	}
	fputs(s_usage, stderr);
	return EX_USAGE;
}
