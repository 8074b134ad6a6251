/*
 * test-image.c — the netboot image (plexus/image.h): the same inputs give the same bytes, the
 * archive is newc that cpio(1) reads back entry for entry as the manifest lists them, with
 * owners 0:0 and fixed times, and holds what a node needs to boot; the cpio writer's format.
 *
 * Entry points: main.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <plexus/image.h>

#include "deploy_paths.h"

static char s_dir[] = "/tmp/plexus-test-image-XXXXXX";

static int group_setup(void **state)
{
	(void)state;
	return mkdtemp(s_dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", s_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void s_opts(plx_image_opts *o, const char *out)
{
	*o = (plx_image_opts){.out_dir = out,
	                      .init = PLEXUS_INIT_BIN,
	                      .udhcpc_sh = PLEXUS_UDHCPC_SH,
	                      .programs = {PLEXUS_NODE_BIN}};
}

static char *s_slurp(const char *path, size_t *size)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	rewind(f);
	char *buf = malloc((size_t)n + 1);
	size_t got = fread(buf, 1, (size_t)n, f);
	fclose(f);
	buf[got] = '\0';
	if (size)
		*size = got;
	return buf;
}

static char *s_run(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t cap = 1 << 20, n = 0;
	char *buf = malloc(cap);
	size_t r;
	while ((r = fread(buf + n, 1, cap - n - 1, p)) > 0)
		n += r;
	buf[n] = '\0';
	assert_int_equal(pclose(p), 0);
	return buf;
}

/* Two builds from the same inputs are byte for byte the same; another SOURCE_DATE_EPOCH is
 * not (the times come from it, nothing else does). */
static void test_reproducible(void **state)
{
	(void)state;
	char a[128], b[128], c[128], pa[160], pb[160], pc[160];
	snprintf(a, sizeof a, "%s/a", s_dir);
	snprintf(b, sizeof b, "%s/b", s_dir);
	snprintf(c, sizeof c, "%s/c", s_dir);
	plx_image_opts o;
	plx_image_result ra, rb, rc;
	char err[1024];
	unsetenv("SOURCE_DATE_EPOCH");
	s_opts(&o, a);
	assert_int_equal(plx_image_build(&o, &ra, err, sizeof err), 0);
	s_opts(&o, b);
	assert_int_equal(plx_image_build(&o, &rb, err, sizeof err), 0);
	setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
	s_opts(&o, c);
	assert_int_equal(plx_image_build(&o, &rc, err, sizeof err), 0);
	unsetenv("SOURCE_DATE_EPOCH");
	snprintf(pa, sizeof pa, "%s/initramfs.img", a);
	snprintf(pb, sizeof pb, "%s/initramfs.img", b);
	snprintf(pc, sizeof pc, "%s/initramfs.img", c);
	size_t na, nb, nc;
	char *da = s_slurp(pa, &na), *db = s_slurp(pb, &nb), *dc = s_slurp(pc, &nc);
	assert_non_null(da);
	assert_int_equal(na, nb);
	assert_memory_equal(da, db, na);
	assert_string_equal(ra.initramfs_sha256, rb.initramfs_sha256);
	assert_int_equal(ra.entries, rc.entries);
	assert_true(na != nc || memcmp(da, dc, na) != 0);
	assert_string_not_equal(ra.initramfs_sha256, rc.initramfs_sha256);
	free(da);
	free(db);
	free(dc);
	/* the manifests agree too */
	snprintf(pa, sizeof pa, "%s/manifest.txt", a);
	snprintf(pb, sizeof pb, "%s/manifest.txt", b);
	char *ma = s_slurp(pa, NULL), *mb = s_slurp(pb, NULL);
	assert_string_equal(ma, mb);
	free(ma);
	free(mb);
}

/* cpio -t lists the archive in sorted order, exactly the manifest's entries; owners and
 * times are fixed; what boot needs is there. */
static void test_contents(void **state)
{
	(void)state;
	char out[128], cmd[512];
	snprintf(out, sizeof out, "%s/raw", s_dir);
	plx_image_opts o;
	s_opts(&o, out);
	o.no_compress = true;
	plx_image_result r;
	char err[1024];
	assert_int_equal(plx_image_build(&o, &r, err, sizeof err), 0);
	snprintf(cmd, sizeof cmd, "%s/initramfs.img", out);
	struct stat st;
	assert_int_equal(stat(cmd, &st), 0);
	assert_int_equal((size_t)st.st_size, r.cpio_size);
	assert_int_equal(r.cpio_size % 4, 0);

	snprintf(cmd, sizeof cmd, "cd %s && cpio -it --quiet < initramfs.img", out);
	char *list = s_run(cmd);
	snprintf(cmd, sizeof cmd,
	         "sed -n 's,^entry [a-z] [0-7]* [0-9]* /\\([^ ]*\\).*,\\1,p' %s/manifest.txt", out);
	char *manifest = s_run(cmd);
	assert_string_equal(list, manifest);
	/* sorted by path */
	snprintf(cmd, sizeof cmd, "cd %s && cpio -it --quiet < initramfs.img | LC_ALL=C sort -c",
	         out);
	free(s_run(cmd));
	/* owner root, time 0, modes kept */
	snprintf(cmd, sizeof cmd, "cd %s && cpio -itv --quiet < initramfs.img", out);
	char *verbose = s_run(cmd);
	assert_null(strstr(verbose, " 1000 ")); /* nobody's uid leaks in */
	assert_non_null(strstr(verbose, "-rwxr-xr-x   1 root     root"));
	assert_non_null(strstr(verbose, "Jan  1  1970 init\n"));
	assert_non_null(
	    strstr(verbose, "crw-------   1 root     root       5,   1 Jan  1  1970 dev/console"));
	free(verbose);
	static const char *const needed[] = {"\ninit\n",
	                                     "\nbin/busybox\n",
	                                     "\nbin/sh\n",
	                                     "\nsbin/udhcpc\n",
	                                     "\nusr/bin/plexus-node\n",
	                                     "\netc/plexus/udhcpc.sh\n",
	                                     "\netc/plexus/modules\n",
	                                     "/libzmq.so.5\n",
	                                     "/libc.so.6\n",
	                                     "ld-linux-x86-64.so.2\n",
	                                     "/virtio_net.ko\n",
	                                     "/virtio_blk.ko\n",
	                                     "/virtio_pci.ko\n",
	                                     "/e1000e.ko\n"};
	for (size_t i = 0; i < sizeof needed / sizeof *needed; i++)
		if (!strstr(list, needed[i]))
			fail_msg("%s is not in the image", needed[i]);
	free(list);
	free(manifest);

	/* modules load after what they depend on */
	snprintf(cmd, sizeof cmd,
	         "cd %s && cpio -i --quiet --to-stdout etc/plexus/modules < initramfs.img", out);
	char *mods = s_run(cmd);
	static const char *const order[][2] = {{"/virtio_ring.ko", "/virtio.ko"},
	                                       {"/virtio.ko", "/virtio_pci.ko"},
	                                       {"/failover.ko", "/net_failover.ko"},
	                                       {"/net_failover.ko", "/virtio_net.ko"}};
	for (size_t i = 0; i < sizeof order / sizeof *order; i++) {
		char *x = strstr(mods, order[i][0]), *y = strstr(mods, order[i][1]);
		assert_non_null(x);
		assert_non_null(y);
		if (x > y)
			fail_msg("%s loads after %s:\n%s", order[i][0], order[i][1], mods);
	}
	free(mods);

	/* plexus image info */
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	assert_int_equal(plx_image_info(out, false, f, err, sizeof err), 0);
	fclose(f);
	assert_non_null(strstr(text, "initramfs.img  none"));
	assert_non_null(strstr(text, "contents   "));
	free(text);
	assert_int_equal(plx_image_info("/nonexistent", false, stdout, err, sizeof err), -ENOENT);
}

static void test_missing_inputs(void **state)
{
	(void)state;
	char out[128], err[1024];
	snprintf(out, sizeof out, "%s/bad", s_dir);
	plx_image_opts o;
	s_opts(&o, out);
	o.programs[1] = "/nonexistent/plexus-x";
	assert_int_equal(plx_image_build(&o, NULL, err, sizeof err), -ENOENT);
	assert_string_equal(err,
	                    "/nonexistent/plexus-x: no such file (needed for /usr/bin/plexus-x)");
	s_opts(&o, out);
	o.module_names[0] = "no_such_module";
	assert_int_equal(plx_image_build(&o, NULL, err, sizeof err), -ENOENT);
	assert_non_null(strstr(err, "kernel module no_such_module: not in /lib/modules/"));
	s_opts(&o, out);
	o.kernel = "/nonexistent/vmlinuz-9.9";
	assert_true(plx_image_build(&o, NULL, err, sizeof err) < 0);
	snprintf(err, sizeof err, "%s/initramfs.img", out);
	assert_int_not_equal(access(err, F_OK), 0); /* a failed build leaves no image */
}

/* The writer's own format: header fields, padding, trailer. */
static void test_cpio_format(void **state)
{
	(void)state;
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	plx_cpio_entry e[] = {{.path = "d", .mode = S_IFDIR | 0755},
	                      {.path = "d/f", .mode = S_IFREG | 0644, .data = "hello", .size = 5}};
	long n = plx_cpio_write(f, e, 2, 7);
	fclose(f);
	assert_int_equal(n, (long)size);
	assert_int_equal(size % 4, 0);
	assert_memory_equal(buf, "07070100000001000041ED00000000000000000000000200000007", 54);
	/* second header: inode 2, mode 0100644, size 5, name "d/f" of 4 bytes */
	size_t second = 112; /* 110 + "d\0" */
	assert_memory_equal(buf + second, "07070100000002000081A4", 22);
	assert_memory_equal(buf + second + 6 + 8 * 6, "00000005", 8);
	assert_memory_equal(buf + second + 110, "d/f\0", 4);
	assert_memory_equal(buf + second + 116, "hello", 5); /* 110 + 4 -> padded to 116 */
	assert_non_null(memmem(buf, size, "TRAILER!!!", 10));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cpio_format),
	    cmocka_unit_test(test_reproducible),
	    cmocka_unit_test(test_contents),
	    cmocka_unit_test(test_missing_inputs),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
