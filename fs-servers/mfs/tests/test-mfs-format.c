/*
 * test-mfs-format.c — the MINIX v3 on-disk format as plexus-mfs and `plexus mkfs` see it
 * (format.c): superblock, inode and directory entry encodings at their byte offsets, bitmap
 * searches, bad superblocks refused with the field named, mkfs's layout equal to what
 * util-linux's mkfs.minix -3 writes for the same size, and what mfs_mkfs_write writes passing
 * fsck.minix -f without a word.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "format.h"

static char s_dir[256];

static int group_setup(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(s_dir, sizeof s_dir, "%s/plexus-mfsfmt-%d-XXXXXX", tmp, (int)getpid());
	return mkdtemp(s_dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Runs a shell command; returns its exit status and its output in out (size bytes). */
static int s_sh(const char *cmd, char *out, size_t size)
{
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_super_roundtrip(void **state)
{
	(void)state;
	mfs_super sb = {.ninodes = 2736,
	                .imap_blocks = 1,
	                .zmap_blocks = 1,
	                .firstdatazone = 175,
	                .flags = MFS_FLAG_CLEAN,
	                .max_size = MFS_MAX_SIZE,
	                .zones = 8192,
	                .magic = MFS_MAGIC,
	                .block_size = 1024};
	uint8_t buf[MFS_SUPER_SIZE];
	memset(buf, 0xee, sizeof buf);
	mfs_super_encode(&sb, buf);
	/* The bytes mkfs.minix -3 writes for an 8 MiB image (flags at 14 aside). */
	static const uint8_t want[32] = {0xb0, 0x0a, 0,    0,    0, 0,    1,    0,    1,    0, 0xaf,
	                                 0,    0,    0,    1,    0, 0xff, 0xff, 0xff, 0x7f, 0, 0x20,
	                                 0,    0,    0x5a, 0x4d, 0, 0,    0,    4,    0,    0};
	assert_memory_equal(buf, want, sizeof want);
	for (size_t i = 32; i < sizeof buf; i++)
		assert_int_equal(buf[i], 0);
	mfs_super back;
	mfs_super_decode(buf, &back);
	assert_int_equal(back.ninodes, sb.ninodes);
	assert_int_equal(back.imap_blocks, sb.imap_blocks);
	assert_int_equal(back.zmap_blocks, sb.zmap_blocks);
	assert_int_equal(back.firstdatazone, sb.firstdatazone);
	assert_int_equal(back.flags, sb.flags);
	assert_int_equal(back.max_size, sb.max_size);
	assert_int_equal(back.zones, sb.zones);
	assert_int_equal(back.magic, sb.magic);
	assert_int_equal(back.block_size, sb.block_size);
	char err[256];
	assert_int_equal(mfs_super_check(&sb, 8u << 20, err, sizeof err), 0);
	assert_int_equal(mfs_inode_blocks(&sb), 171);
}

static void s_bad(mfs_super sb, uint64_t dev, const char *word)
{
	char err[256] = "";
	assert_int_equal(mfs_super_check(&sb, dev, err, sizeof err), -EINVAL);
	if (!strstr(err, word))
		fail_msg("'%s' does not say '%s'", err, word);
}

static void test_super_bad(void **state)
{
	(void)state;
	mfs_super good = {.ninodes = 2736,
	                  .imap_blocks = 1,
	                  .zmap_blocks = 1,
	                  .firstdatazone = 175,
	                  .max_size = MFS_MAX_SIZE,
	                  .zones = 8192,
	                  .magic = MFS_MAGIC,
	                  .block_size = 1024};
	mfs_super sb = good;
	sb.magic = 0x137f; /* MINIX v1 */
	s_bad(sb, 0, "magic");
	sb = good;
	sb.block_size = 1000;
	s_bad(sb, 0, "block size");
	sb.block_size = 512;
	s_bad(sb, 0, "block size");
	sb = good;
	sb.log_zone_size = 1;
	s_bad(sb, 0, "zones larger");
	sb = good;
	sb.ninodes = 0;
	s_bad(sb, 0, "inode count");
	sb = good;
	sb.ninodes = 9000; /* 9001 bits > one 8192-bit block */
	s_bad(sb, 0, "inode bitmap");
	sb = good;
	sb.firstdatazone = 100; /* inside the 171-block inode table */
	s_bad(sb, 0, "inode table");
	sb = good;
	sb.zones = 175;
	s_bad(sb, 0, "no data zones");
	sb = good;
	sb.zones = 9000; /* 8826 zone bits > 8192 */
	s_bad(sb, 0, "zone bitmap");
	s_bad(good, 4u << 20, "larger than the device");
}

static void test_inode_and_dirent(void **state)
{
	(void)state;
	mfs_dinode d = {.mode = 0100644,
	                .nlinks = 3,
	                .uid = 1000,
	                .gid = 50,
	                .size = 0x12345678,
	                .atime = 1,
	                .mtime = 2,
	                .ctime = 3,
	                .zone = {10, 11, 12, 13, 14, 15, 16, 17, 18, 0xdeadbeef}};
	uint8_t p[MFS_INODE_SIZE];
	mfs_inode_encode(&d, p);
	assert_int_equal(p[0] | p[1] << 8, 0100644);
	assert_int_equal(p[2], 3);
	assert_int_equal(p[4] | p[5] << 8, 1000);
	assert_int_equal(p[8], 0x78);
	assert_int_equal(p[11], 0x12);
	assert_int_equal(p[20], 3);
	assert_int_equal(p[24], 10);
	assert_int_equal(p[60], 0xef);
	assert_int_equal(p[63], 0xde);
	mfs_dinode back;
	mfs_inode_decode(p, &back);
	assert_memory_equal(&back, &d, sizeof d);

	uint8_t e[MFS_DIRENT_SIZE];
	char name[MFS_NAME_MAX + 2];
	memset(name, 'n', MFS_NAME_MAX);
	name[MFS_NAME_MAX] = '\0';
	assert_int_equal(mfs_dirent_set(e, 77, name), 0); /* 60 bytes: fills the slot */
	assert_int_equal(mfs_dirent_ino(e), 77);
	char out[MFS_NAME_MAX + 1];
	assert_int_equal(mfs_dirent_name(e, out), MFS_NAME_MAX);
	assert_string_equal(out, name);
	name[MFS_NAME_MAX] = 'x';
	name[MFS_NAME_MAX + 1] = '\0';
	assert_int_equal(mfs_dirent_set(e, 78, name), -ENAMETOOLONG);
	assert_int_equal(mfs_dirent_set(e, 78, ""), -EINVAL);
	assert_int_equal(mfs_dirent_set(e, 5, "ab"), 0);
	assert_int_equal(mfs_dirent_name(e, out), 2);
	assert_string_equal(out, "ab");
	assert_int_equal(e[4 + 2], 0); /* the rest padded with NULs */
	assert_int_equal(e[63], 0);
}

static void test_bitmap(void **state)
{
	(void)state;
	uint8_t map[16];
	memset(map, 0xff, sizeof map);
	assert_int_equal(mfs_bit_find_clear(map, 128, 0), -1);
	mfs_bit_clear(map, 77);
	assert_false(mfs_bit_get(map, 77));
	assert_int_equal(mfs_bit_find_clear(map, 128, 0), 77);
	assert_int_equal(mfs_bit_find_clear(map, 128, 77), 77);
	assert_int_equal(mfs_bit_find_clear(map, 128, 78), -1);
	assert_int_equal(mfs_bit_find_clear(map, 77, 0), -1); /* only bits below nbits count */
	mfs_bit_set(map, 77);
	assert_int_equal(mfs_bit_find_clear(map, 128, 0), -1);
	memset(map, 0, sizeof map);
	mfs_bit_set(map, 0);
	assert_int_equal(mfs_bit_find_clear(map, 128, 0), 1);
}

/* Our layout for size bytes equals mkfs.minix -3's (read back from its image). */
static void s_same_as_util_linux(uint64_t size, uint32_t inodes)
{
	char path[512], cmd[1024], out[4096];
	snprintf(path, sizeof path, "%s/ul-%llu-%u.img", s_dir, (unsigned long long)size, inodes);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	close(fd);
	char iopt[32] = "";
	if (inodes)
		snprintf(iopt, sizeof iopt, "-i %u", inodes);
	snprintf(cmd, sizeof cmd, "mkfs.minix -3 %s '%s' 2>&1", iopt, path);
	if (s_sh(cmd, out, sizeof out) != 0)
		fail_msg("%s: %s", cmd, out);
	uint8_t buf[MFS_SUPER_SIZE];
	fd = open(path, O_RDONLY);
	assert_int_equal(pread(fd, buf, sizeof buf, MFS_SUPER_OFFSET), sizeof buf);
	close(fd);
	mfs_super theirs, ours;
	mfs_super_decode(buf, &theirs);
	char err[256];
	assert_int_equal(mfs_super_check(&theirs, size, err, sizeof err), 0);
	mfs_mkfs_opts o = {.size = size, .inodes = inodes};
	assert_int_equal(mfs_mkfs_layout(&o, &ours, err, sizeof err), 0);
	assert_int_equal(ours.ninodes, theirs.ninodes);
	assert_int_equal(ours.imap_blocks, theirs.imap_blocks);
	assert_int_equal(ours.zmap_blocks, theirs.zmap_blocks);
	assert_int_equal(ours.firstdatazone, theirs.firstdatazone);
	assert_int_equal(ours.zones, theirs.zones);
	assert_int_equal(ours.block_size, theirs.block_size);
	assert_int_equal(ours.max_size, theirs.max_size);
}

static void test_layout_like_mkfs_minix(void **state)
{
	(void)state;
	s_same_as_util_linux(8u << 20, 0);
	s_same_as_util_linux(64u << 20, 0);
	s_same_as_util_linux(3u << 20, 100);
	s_same_as_util_linux(200u << 20, 0);
}

static int s_write(void *arg, uint64_t pos, const void *buf, size_t size)
{
	return pwrite(*(int *)arg, buf, size, (off_t)pos) == (ssize_t)size ? 0 : -EIO;
}

/* mfs_mkfs_write's image: fsck.minix -f exits 0 and reports nothing but the forced check. */
static void s_fsck_clean(uint64_t size, uint32_t inodes)
{
	char path[512], cmd[1024], out[4096], err[256];
	snprintf(path, sizeof path, "%s/ours-%llu.img", s_dir, (unsigned long long)size);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	mfs_mkfs_opts o = {.size = size, .inodes = inodes};
	mfs_super sb;
	assert_int_equal(mfs_mkfs_layout(&o, &sb, err, sizeof err), 0);
	assert_int_equal(mfs_mkfs_write(&sb, 1700000000u, 0, 0, s_write, &fd), 0);
	close(fd);
	snprintf(cmd, sizeof cmd, "fsck.minix -fs '%s' 2>&1", path);
	int rc = s_sh(cmd, out, sizeof out);
	if (rc != 0 || strstr(out, "bad") || strstr(out, "not") || strstr(out, "Zone "))
		fail_msg("fsck.minix -f says (exit %d):\n%s", rc, out);
}

static void test_mkfs_passes_fsck(void **state)
{
	(void)state;
	s_fsck_clean(8u << 20, 0);
	s_fsck_clean(1u << 20, 32);
	s_fsck_clean(100u << 20, 5000);
}

static void test_mkfs_bad_requests(void **state)
{
	(void)state;
	mfs_super sb;
	char err[256];
	mfs_mkfs_opts o = {.size = 5 * 1024};
	assert_int_equal(mfs_mkfs_layout(&o, &sb, err, sizeof err), -EINVAL); /* too small */
	o = (mfs_mkfs_opts){.size = 8u << 20, .block_size = 3000};
	assert_int_equal(mfs_mkfs_layout(&o, &sb, err, sizeof err), -EINVAL);
	o = (mfs_mkfs_opts){.size = 8u << 20, .block_size = 65536};
	assert_int_equal(mfs_mkfs_layout(&o, &sb, err, sizeof err), -EINVAL);
	o = (mfs_mkfs_opts){.size = 1u << 20, .inodes = 1000000}; /* the table would not fit */
	assert_int_equal(mfs_mkfs_layout(&o, &sb, err, sizeof err), -EINVAL);
	o = (mfs_mkfs_opts){.size = 64u << 20, .block_size = 4096};
	assert_int_equal(mfs_mkfs_layout(&o, &sb, err, sizeof err), 0);
	assert_int_equal(sb.block_size, 4096);
	assert_int_equal(sb.zones, 16384);
	assert_int_equal(mfs_super_check(&sb, 64u << 20, err, sizeof err), 0);
}

/* The journal's header: a round trip; a wrong magic, version or any flipped byte (a torn or
 * never written header) is no header. */
static void test_journal_header(void **state)
{
	(void)state;
	uint8_t buf[1024];
	mfs_jheader h = {.block_size = 1024,
	                 .blocks = 256,
	                 .fs_zones = 7936,
	                 .state = MFS_JNL_COMMITTED,
	                 .count = 17,
	                 .seq = 0x123456789abcull},
	            back;
	for (int i = 0; i < MFS_JNL_SUM; i++)
		h.sum[i] = (uint8_t)(i * 7);
	mfs_jheader_encode(&h, buf);
	assert_int_equal(mfs_jheader_decode(buf, sizeof buf, &back), 0);
	assert_int_equal(back.block_size, h.block_size);
	assert_int_equal(back.blocks, h.blocks);
	assert_int_equal(back.fs_zones, h.fs_zones);
	assert_int_equal(back.state, h.state);
	assert_int_equal(back.count, h.count);
	assert_int_equal(back.seq, h.seq);
	assert_memory_equal(back.sum, h.sum, MFS_JNL_SUM);
	for (size_t at = 0; at < 72; at++) {
		buf[at] ^= 0x10;
		assert_int_equal(mfs_jheader_decode(buf, sizeof buf, &back), -EINVAL);
		buf[at] ^= 0x10;
	}
	assert_int_equal(mfs_jheader_decode(buf, 40, &back), -EINVAL);
	memset(buf, 0, sizeof buf);
	assert_int_equal(mfs_jheader_decode(buf, sizeof buf, &back), -EINVAL);
	/* Sizes: size/32, at least MFS_JNL_MIN, at most MFS_JNL_MAX, none for small devices. */
	assert_int_equal(mfs_journal_default(8u << 20, 1024), 256);
	assert_int_equal(mfs_journal_default(1u << 20, 1024), 32);
	assert_int_equal(mfs_journal_default(512u << 10, 1024), 0);
	assert_int_equal(mfs_journal_default(1ull << 30, 1024), MFS_JNL_MAX);
	assert_int_equal(mfs_journal_default(64u << 20, 4096), 512);
	assert_int_equal(mfs_jdesc_blocks(256, 1024), 1);
	assert_int_equal(mfs_jdesc_blocks(257, 1024), 2);
}

/* A layout with a journal: the file system is mkfs.minix's for the size less the journal,
 * the empty journal header sits at block s_zones, and fsck.minix -f finds the file system
 * clean with the journal after it. */
static void test_layout_with_journal(void **state)
{
	(void)state;
	char path[512], cmd[1024], out[4096], err[256];
	uint64_t size = 8u << 20;
	snprintf(path, sizeof path, "%s/journaled.img", s_dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	mfs_mkfs_opts o = {.size = size, .journal = mfs_journal_default(size, 1024)}, plain;
	plain = (mfs_mkfs_opts){.size = size - (uint64_t)o.journal * 1024};
	mfs_super sb, sb_plain;
	assert_int_equal(mfs_mkfs_layout(&o, &sb, err, sizeof err), 0);
	assert_int_equal(mfs_mkfs_layout(&plain, &sb_plain, err, sizeof err), 0);
	assert_memory_equal(&sb, &sb_plain, sizeof sb);
	assert_int_equal(sb.zones, 8192 - 256);
	assert_int_equal(mfs_mkfs_write(&sb, 1700000000u, 0, 0, s_write, &fd), 0);
	assert_int_equal(mfs_journal_write_empty(&sb, o.journal, s_write, &fd), 0);
	uint8_t buf[1024];
	mfs_jheader h;
	assert_int_equal(pread(fd, buf, sizeof buf, (off_t)sb.zones * 1024), (ssize_t)sizeof buf);
	close(fd);
	assert_int_equal(mfs_jheader_decode(buf, sizeof buf, &h), 0);
	assert_int_equal(h.state, MFS_JNL_EMPTY);
	assert_int_equal(h.blocks, 256);
	assert_int_equal(h.fs_zones, sb.zones);
	snprintf(cmd, sizeof cmd, "fsck.minix -fs '%s' 2>&1", path);
	int rc = s_sh(cmd, out, sizeof out);
	if (rc != 0 || strstr(out, "bad") || strstr(out, "not") || strstr(out, "Zone "))
		fail_msg("fsck.minix -f says (exit %d):\n%s", rc, out);
	o.journal = 8; /* under MFS_JNL_MIN */
	assert_int_equal(mfs_mkfs_layout(&o, &sb, err, sizeof err), -EINVAL);
	o.journal = 8192; /* the whole device */
	assert_int_equal(mfs_mkfs_layout(&o, &sb, err, sizeof err), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_super_roundtrip),        cmocka_unit_test(test_super_bad),
	    cmocka_unit_test(test_inode_and_dirent),       cmocka_unit_test(test_bitmap),
	    cmocka_unit_test(test_layout_like_mkfs_minix), cmocka_unit_test(test_mkfs_passes_fsck),
	    cmocka_unit_test(test_mkfs_bad_requests),      cmocka_unit_test(test_journal_header),
	    cmocka_unit_test(test_layout_with_journal),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
