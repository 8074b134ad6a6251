/*
 * test-mfs-linux.c — what plexus-mfs writes, read by Linux's own minix driver (docs/mfs.md
 * "The journal"): real plexus-vdisk and plexus-mfs write a tree — empty, small, direct,
 * single- and double-indirect files, a sparse one, nested directories — onto an image with a
 * journal; after a clean unmount the clean flag is set and fsck.minix -f is quiet; then a QEMU
 * VM with Debian's kernel and minix.ko mounts a copy and every file's size and SHA-256 sum are
 * those written. The same after a crash: files synced, more written, plexus-mfs SIGKILLed in
 * the middle, restarted (the journal replayed), unmounted: Linux reads the synced files.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include <plexus/fsreq.h>

#include "format.h"
#include "minixvm.h"
#include "mfstest.h"

#define S_MB 1024u * 1024

typedef struct s_file {
	const char *path; /* under the root; its directory made before */
	uint64_t at;      /* where the bytes start (a hole before) */
	uint64_t size;    /* bytes written from at */
} s_file;

static const s_file s_tree[] = {
    {"empty", 0, 0},
    {"one", 0, 1},
    {"a/direct", 0, 7 * 1024 + 5},
    {"a/b/single", 0, 300 * 1024 + 17},
    {"a/b/double", 0, 9 * S_MB + 333},
    {"a/sparse", 5 * S_MB, 4000},
};

static uint8_t s_pat(const char *path, uint64_t i)
{
	return (uint8_t)(((i + 7) * 2654435761u) >> 9 ^ (uint8_t)path[0] ^ (uint8_t)strlen(path));
}

/* The directory inode of path's parent; *name the last component. */
static uint64_t s_parent(plx_fs *fs, const char *path, const char **name)
{
	uint64_t dir = 1;
	char part[64];
	const char *p = path, *slash;
	while ((slash = strchr(p, '/'))) {
		snprintf(part, sizeof part, "%.*s", (int)(slash - p), p);
		plx_fs_attr a;
		assert_int_equal(plx_fs_lookup(fs, dir, part, &a), 0);
		assert_int_equal(plx_fs_putnode(fs, a.ino, 1), 0); /* the root pins its subtree */
		dir = a.ino;
		p = slash + 1;
	}
	*name = p;
	return dir;
}

static void s_write_file(plx_fs *fs, const s_file *f)
{
	const char *name;
	uint64_t dir = s_parent(fs, f->path, &name);
	plx_fs_attr a;
	assert_int_equal(plx_fs_create(fs, dir, name, 0644, 0, 0, &a), 0);
	uint8_t *buf = malloc(S_MB);
	for (uint64_t done = 0; done < f->size;) {
		size_t n = f->size - done < S_MB ? (size_t)(f->size - done) : S_MB;
		for (size_t i = 0; i < n; i++)
			buf[i] = s_pat(f->path, f->at + done + i);
		assert_int_equal(plx_fs_write(fs, a.ino, f->at + done, buf, n, NULL), (ssize_t)n);
		done += n;
	}
	free(buf);
	assert_int_equal(plx_fs_putnode(fs, a.ino, 1), 0);
}

static void s_write_tree(plx_fs *fs)
{
	plx_fs_attr a, b;
	assert_int_equal(plx_fs_mkdir(fs, 1, "a", 0755, 0, 0, &a), 0);
	assert_int_equal(plx_fs_mkdir(fs, a.ino, "b", 0755, 0, 0, &b), 0);
	assert_int_equal(plx_fs_putnode(fs, a.ino, 1), 0);
	assert_int_equal(plx_fs_putnode(fs, b.ino, 1), 0);
	for (size_t i = 0; i < sizeof s_tree / sizeof *s_tree; i++)
		s_write_file(fs, &s_tree[i]);
}

/* "F <sha256> <size> ./path" for what f says the file holds. */
static void s_expected(const s_file *f, char *out, size_t size)
{
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	uint8_t *buf = calloc(1, S_MB), sum[32];
	uint64_t total = f->at + f->size;
	for (uint64_t done = 0; done < total;) {
		size_t n = total - done < S_MB ? (size_t)(total - done) : S_MB;
		for (size_t i = 0; i < n; i++)
			buf[i] = done + i < f->at ? 0 : s_pat(f->path, done + i);
		crypto_hash_sha256_update(&st, buf, n);
		done += n;
	}
	crypto_hash_sha256_final(&st, sum);
	free(buf);
	int o = snprintf(out, size, "F ");
	for (int i = 0; i < 32; i++)
		o += snprintf(out + o, size - (size_t)o, "%02x", sum[i]);
	snprintf(out + o, size - (size_t)o, " %llu ./%s", (unsigned long long)total, f->path);
}

/* Linux reads the image: the tree's directories and files, byte for byte, and nothing else. */
static void s_linux_reads(mfstest *t, const char *image, const char *extra)
{
	char *listing = NULL, err[512] = "";
	int rc = minixvm_list(image, t->dir, 300000, &listing, err, sizeof err);
	if (rc < 0)
		fail_msg("Linux's minix driver could not read %s: %s", image, err);
	print_message("Linux read:\n%s", listing);
	const char *dirs[] = {"./a", "./a/b"};
	for (size_t i = 0; i < 2; i++)
		if (!minixvm_find(listing, "D", dirs[i]))
			fail_msg("directory %s missing", dirs[i]);
	int files = 0;
	for (size_t i = 0; i < sizeof s_tree / sizeof *s_tree; i++, files++) {
		char want[256], path[128];
		s_expected(&s_tree[i], want, sizeof want);
		snprintf(path, sizeof path, "./%s", s_tree[i].path);
		const char *got = minixvm_find(listing, "F", path);
		if (!got || strncmp(got, want, strlen(want)) != 0)
			fail_msg("%s: Linux read \"%.*s\", MFS wrote \"%s\"", path,
			         got ? (int)strcspn(got, "\n") : 4, got ? got : "none", want);
	}
	if (extra)
		files += minixvm_find(listing, "F", extra) != NULL;
	int lines = 0;
	for (const char *l = listing; (l = strstr(l, "F ")); l += 2)
		lines += l == listing || l[-1] == '\n';
	assert_int_equal(lines, files);
	free(listing);
}

static bool s_clean_flag(const char *image)
{
	FILE *f = fopen(image, "rb");
	uint8_t buf[MFS_SUPER_SIZE];
	assert_non_null(f);
	assert_int_equal(fseek(f, MFS_SUPER_OFFSET, SEEK_SET), 0);
	assert_int_equal(fread(buf, 1, sizeof buf, f), sizeof buf);
	fclose(f);
	mfs_super sb;
	mfs_super_decode(buf, &sb);
	return sb.flags & MFS_FLAG_CLEAN;
}

static void test_clean_unmount(void **state)
{
	mfstest *t = *state;
	char image[512];
	snprintf(image, sizeof image, "%s",
	         mfstest_image(t, "linux", 32 * S_MB, MFSTEST_JOURNALED));
	plx_fs_attr root;
	pid_t drv, srv;
	plx_fs *fs = mfstest_mount(t, image, &root, &drv, &srv);
	assert_false(s_clean_flag(image)); /* cleared while mounted */
	s_write_tree(fs);
	mfstest_unmount(t, &fs, image, drv, srv); /* fsck.minix -f quiet */
	assert_true(s_clean_flag(image));
	s_linux_reads(t, image, NULL);
}

static void test_after_crash(void **state)
{
	mfstest *t = *state;
	char image[512];
	snprintf(image, sizeof image, "%s",
	         mfstest_image(t, "crashed", 32 * S_MB, MFSTEST_JOURNALED));
	const char *vd[] = {"--image", image, NULL};
	pid_t drv = mfstest_start(t, PLEXUS_VDISK_BIN, t->drv, NULL, vd, NULL);
	pid_t srv = mfstest_start(t, PLEXUS_MFS_BIN, t->fs, NULL, NULL, NULL);
	plx_fs *fs = plx_fs_new(t->ep, t->fs, MFSTEST_TIMEOUT);
	plx_fs_attr root;
	assert_int_equal(plx_fs_readsuper(fs, t->drv, 0, false, 3, &root, NULL), 0);
	s_write_tree(fs);
	assert_int_equal(plx_fs_sync(fs), 0);
	s_file late = {"late", 0, 2 * S_MB}; /* acknowledged, never synced */
	s_write_file(fs, &late);
	mfstest_kill(t, srv);
	srv = mfstest_start(t, PLEXUS_MFS_BIN, t->fs, "restart", NULL, NULL);
	assert_int_equal(plx_fs_sync(fs), 0);
	assert_int_equal(plx_fs_unmount(fs), 0);
	plx_fs_destroy(&fs);
	mfstest_stop(t, srv);
	mfstest_stop(t, drv);
	mfstest_fsck(image);
	assert_true(s_clean_flag(image));
	s_linux_reads(t, image, "./late"); /* late may be there, whole or in part, or not */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_clean_unmount, mfstest_test_setup,
	                                    mfstest_test_teardown),
	    cmocka_unit_test_setup_teardown(test_after_crash, mfstest_test_setup,
	                                    mfstest_test_teardown),
	};
	return cmocka_run_group_tests(tests, mfstest_setup, mfstest_teardown);
}
