/*
 * test-mfs.c — plexus-mfs as VFS sees it: a real plexus-vdisk (over an image file) or
 * plexus-memory and a real plexus-mfs process against a private etcd, driven through
 * plexus/fsreq.h. Every FS_* call with its error cases; an image made by mkfs.minix -3 mounts,
 * what MFS writes reads back after a remount, and after FS_SYNC + FS_UNMOUNT fsck.minix -f
 * finds the image clean; large files through the double and triple indirect zones; a
 * directory of thousands of entries; rename cases; an unlinked file readable until its last
 * FS_PUTNODE; `plexus mkfs` on an image file and on a RAM disk; read-only mounts; bad
 * superblocks and bad zone numbers answered with errors, the server alive afterwards.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include <cmocka.h>

#include <plexus/fsreq.h>
#include <plexus/mkfs_cli.h>

#include "format.h"
#include "mfstest.h"
#include "plexus/proto/fs.pb-c.h"

#define MFS_TEST_STAGE_MAX (4u * 1024 * 1024) /* MFS_STAGE_MAX */
#define S_MB               (1024u * 1024)

/* A pattern byte for position i of a file with seed s. */
static uint8_t s_pat(uint64_t i, unsigned s)
{
	return (uint8_t)((i * 2654435761u) >> 13 ^ s);
}

static void s_fill(uint8_t *buf, size_t n, uint64_t pos, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = s_pat(pos + i, seed);
}

static void s_check(const uint8_t *buf, size_t n, uint64_t pos, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (buf[i] != s_pat(pos + i, seed))
			fail_msg("byte %llu: %u, want %u", (unsigned long long)(pos + i), buf[i],
			         s_pat(pos + i, seed));
}

/* Writes n pattern bytes at pos in chunks of 1 MiB. */
static void s_write_pat(plx_fs *fs, uint64_t ino, uint64_t pos, uint64_t n, unsigned seed)
{
	uint8_t *buf = malloc(S_MB);
	for (uint64_t done = 0; done < n;) {
		size_t chunk = n - done < S_MB ? (size_t)(n - done) : S_MB;
		s_fill(buf, chunk, pos + done, seed);
		assert_int_equal(plx_fs_write(fs, ino, pos + done, buf, chunk, NULL),
		                 (ssize_t)chunk);
		done += chunk;
	}
	free(buf);
}

static void s_read_pat(plx_fs *fs, uint64_t ino, uint64_t pos, uint64_t n, unsigned seed)
{
	uint8_t *buf = malloc(S_MB);
	for (uint64_t done = 0; done < n;) {
		size_t chunk = n - done < S_MB ? (size_t)(n - done) : S_MB;
		assert_int_equal(plx_fs_read(fs, ino, pos + done, buf, chunk), (ssize_t)chunk);
		s_check(buf, chunk, pos + done, seed);
		done += chunk;
	}
	free(buf);
}

static uint64_t s_create(plx_fs *fs, uint64_t dir, const char *name)
{
	plx_fs_attr a;
	int rc = plx_fs_create(fs, dir, name, 0644, 1000, 100, &a);
	if (rc != 0)
		fail_msg("create %s: %s", name, plx_strerror(rc));
	return a.ino;
}

/* ---- tests ---- */

static void test_mkfs_minix_image(void **state)
{
	mfstest *t = *state;
	char image[512];
	snprintf(image, sizeof image, "%s", mfstest_image(t, "ul", 32 * S_MB, MFSTEST_MKFS));
	plx_fs_attr root;
	pid_t drv, srv;
	plx_fs *fs = mfstest_mount(t, image, &root, &drv, &srv);
	assert_int_equal(root.ino, 1);
	assert_true(S_ISDIR(root.mode));
	assert_int_equal(root.nlink, 2);
	assert_int_equal(root.dev, 77);
	assert_int_equal(root.blksize, 1024);
	struct plx_fs_statvfs st;
	assert_int_equal(plx_fs_statvfs(fs, &st), 0);
	assert_int_equal(st.bsize, 1024);
	assert_int_equal(st.blocks, 32768);
	assert_int_equal(st.namemax, 60);
	assert_false(st.read_only);
	uint64_t free0 = st.bfree, ffree0 = st.ffree;
	/* Files, a directory, contents. */
	uint64_t a = s_create(fs, 1, "hello.txt");
	plx_fs_attr attr;
	assert_int_equal(plx_fs_write(fs, a, 0, "hello, minix\n", 13, &attr), 13);
	assert_int_equal(attr.size, 13);
	assert_int_equal(attr.uid, 1000);
	assert_int_equal(attr.gid, 100);
	assert_int_equal(attr.mode, S_IFREG | 0644);
	plx_fs_attr d;
	assert_int_equal(plx_fs_mkdir(fs, 1, "sub", 0755, 0, 0, &d), 0);
	assert_int_equal(d.nlink, 2);
	assert_int_equal(plx_fs_stat(fs, 1, &attr), 0);
	assert_int_equal(attr.nlink, 3);
	uint64_t b = s_create(fs, d.ino, "data");
	s_write_pat(fs, b, 0, 3 * S_MB + 123, 7);
	assert_int_equal(plx_fs_statvfs(fs, &st), 0);
	assert_true(st.bfree < free0 - 3 * 1024);
	assert_int_equal(st.ffree, ffree0 - 3);
	assert_int_equal(plx_fs_putnode(fs, a, 1), 0);
	assert_int_equal(plx_fs_putnode(fs, b, 1), 0);
	assert_int_equal(plx_fs_putnode(fs, d.ino, 1), 0);
	assert_int_equal(plx_fs_putnode(fs, 1, 1), 0);
	mfstest_unmount(t, &fs, image, drv, srv);
	/* Remounted by a new pair of processes: everything is there. */
	fs = mfstest_mount(t, image, &root, &drv, &srv);
	assert_int_equal(plx_fs_lookup(fs, 1, "sub", &d), 0);
	assert_int_equal(plx_fs_lookup(fs, d.ino, "data", &attr), 0);
	assert_int_equal(attr.size, 3 * S_MB + 123);
	s_read_pat(fs, attr.ino, 0, 3 * S_MB + 123, 7);
	assert_int_equal(plx_fs_putnode(fs, attr.ino, 1), 0);
	assert_int_equal(plx_fs_lookup(fs, 1, "hello.txt", &attr), 0);
	char text[64] = "";
	assert_int_equal(plx_fs_read(fs, attr.ino, 0, text, sizeof text), 13);
	assert_memory_equal(text, "hello, minix\n", 13);
	assert_int_equal(plx_fs_read(fs, attr.ino, 13, text, sizeof text), 0);
	assert_int_equal(plx_fs_read(fs, attr.ino, 5, text, 2), 2);
	assert_memory_equal(text, ", ", 2);
	assert_int_equal(plx_fs_putnode(fs, attr.ino, 1), 0);
	assert_int_equal(plx_fs_putnode(fs, d.ino, 1), 0);
	assert_int_equal(plx_fs_putnode(fs, 2, 1), -EINVAL); /* never looked up here */
	mfstest_unmount(t, &fs, image, drv, srv);
	/* And Linux's own checker agrees about the directory tree. */
	char cmd[1024], out[8192];
	snprintf(cmd, sizeof cmd, "fsck.minix -fl '%s'", image);
	assert_int_equal(mfstest_sh(cmd, out, sizeof out), 0);
	assert_non_null(strstr(out, "/sub/data"));
	assert_non_null(strstr(out, "/hello.txt"));
}

static void test_calls_and_errors(void **state)
{
	mfstest *t = *state;
	char image[512];
	snprintf(image, sizeof image, "%s",
	         mfstest_image(t, "calls", 16 * S_MB, MFSTEST_JOURNALED));
	pid_t drv, srv;
	const char *vd[] = {"--image", image, NULL};
	drv = mfstest_start(t, PLEXUS_VDISK_BIN, t->drv, NULL, vd, NULL);
	srv = mfstest_start(t, PLEXUS_MFS_BIN, t->fs, NULL, NULL, NULL);
	plx_fs *fs = plx_fs_new(t->ep, t->fs, MFSTEST_TIMEOUT);
	plx_fs_attr a, root;
	/* Nothing mounted yet. */
	assert_int_equal(plx_fs_stat(fs, 1, &a), -EINVAL);
	assert_int_equal(plx_fs_sync(fs), -EINVAL);
	assert_int_equal(plx_fs_readsuper(fs, "", 0, false, 1, &root, NULL), -EINVAL);
	assert_int_equal(plx_fs_newnode(fs, S_IFIFO | 0600, 0, 0, &a), -ENOSYS); /* pfs's */
	struct plx_fs_statvfs st;
	assert_int_equal(plx_fs_readsuper(fs, t->drv, 0, false, 5, &root, &st), 0);
	assert_int_equal(st.blocks, 16384 - 16384 / 32); /* the rest: the journal */
	assert_int_equal(plx_fs_readsuper(fs, t->drv, 0, false, 5, &root, NULL), -EBUSY);
	/* Lookups. */
	assert_int_equal(plx_fs_lookup(fs, 1, "missing", &a), -ENOENT);
	assert_int_equal(plx_fs_lookup(fs, 1, ".", &a), 0);
	assert_int_equal(a.ino, 1);
	assert_int_equal(plx_fs_lookup(fs, 1, "..", &a), 0);
	assert_int_equal(a.ino, 1);
	char name61[62];
	memset(name61, 'x', 61);
	name61[61] = '\0';
	assert_int_equal(plx_fs_lookup(fs, 1, name61, &a), -ENAMETOOLONG);
	assert_int_equal(plx_fs_create(fs, 1, name61, 0644, 0, 0, &a), -ENAMETOOLONG);
	name61[60] = '\0'; /* 60 bytes: the longest name */
	uint64_t f60 = s_create(fs, 1, name61);
	assert_int_equal(plx_fs_lookup(fs, 1, name61, &a), 0);
	assert_int_equal(a.ino, f60);
	assert_int_equal(plx_fs_lookup(fs, 1, "a/b", &a), -EINVAL);
	assert_int_equal(plx_fs_lookup(fs, 1, "", &a), -EINVAL);
	assert_int_equal(plx_fs_lookup(fs, 0, "x", &a), -EINVAL);
	assert_int_equal(plx_fs_lookup(fs, 1u << 30, "x", &a), -EINVAL);
	assert_int_equal(plx_fs_lookup(fs, 100, "x", &a), -ENOENT); /* a free inode */
	assert_int_equal(plx_fs_lookup(fs, f60, "x", &a), -ENOTDIR);
	/* Creating. */
	uint64_t f = s_create(fs, 1, "file");
	assert_int_equal(plx_fs_create(fs, 1, "file", 0644, 0, 0, &a), -EEXIST);
	assert_int_equal(plx_fs_mkdir(fs, 1, "file", 0755, 0, 0, &a), -EEXIST);
	assert_int_equal(plx_fs_create(fs, 1, ".", 0644, 0, 0, &a), -EEXIST);
	assert_int_equal(plx_fs_create(fs, f, "x", 0644, 0, 0, &a), -ENOTDIR);
	assert_int_equal(plx_fs_create(fs, 1, "big", 0644, 70000, 0, &a), -EINVAL); /* 16-bit uid */
	plx_fs_attr dir, dev, fifo, lnk;
	assert_int_equal(plx_fs_mkdir(fs, 1, "dir", 0750, 5, 6, &dir), 0);
	assert_int_equal(dir.mode, S_IFDIR | 0750);
	assert_int_equal(plx_fs_mknod(fs, 1, "tty", S_IFCHR | 0620, 0x0401, 0, 5, &dev), 0);
	assert_int_equal(dev.rdev, 0x0401);
	assert_true(S_ISCHR(dev.mode));
	assert_int_equal(plx_fs_mknod(fs, 1, "fifo", S_IFIFO | 0600, 0, 0, 0, &fifo), 0);
	assert_true(S_ISFIFO(fifo.mode));
	assert_int_equal(plx_fs_mknod(fs, 1, "bad", S_IFDIR | 0600, 0, 0, 0, &a), -EINVAL);
	assert_int_equal(plx_fs_slink(fs, 1, "link", "dir/../file", 0, 0, &lnk), 0);
	assert_true(S_ISLNK(lnk.mode));
	assert_int_equal(lnk.size, 11);
	char target[64];
	assert_int_equal(plx_fs_rdlink(fs, lnk.ino, target, sizeof target), 11);
	assert_string_equal(target, "dir/../file");
	assert_int_equal(plx_fs_rdlink(fs, lnk.ino, target, 4), 11); /* cut, still terminated */
	assert_string_equal(target, "dir");
	assert_int_equal(plx_fs_rdlink(fs, f, target, sizeof target), -EINVAL);
	char longtarget[2048];
	memset(longtarget, 'y', sizeof longtarget - 1);
	longtarget[sizeof longtarget - 1] = '\0';
	assert_int_equal(plx_fs_slink(fs, 1, "long", longtarget, 0, 0, &a), -ENAMETOOLONG);
	/* Reading and writing. */
	char buf[4096];
	assert_int_equal(plx_fs_read(fs, dir.ino, 0, buf, 10), -EISDIR);
	assert_int_equal(plx_fs_write(fs, dir.ino, 0, "x", 1, NULL), -EISDIR);
	assert_int_equal(plx_fs_write(fs, dev.ino, 0, "x", 1, NULL), -EINVAL);
	assert_int_equal(plx_fs_write(fs, f, 5000, "tail", 4, &a), 4); /* a hole before */
	assert_int_equal(a.size, 5004);
	assert_int_equal(plx_fs_read(fs, f, 0, buf, sizeof buf), (ssize_t)sizeof buf);
	for (size_t i = 0; i < sizeof buf; i++)
		assert_int_equal(buf[i], 0);
	assert_int_equal(plx_fs_read(fs, f, 4998, buf, 100), 6);
	assert_memory_equal(buf, "\0\0tail", 6);
	assert_int_equal(plx_fs_write(fs, f, (uint64_t)MFS_MAX_SIZE, "x", 1, NULL), -EFBIG);
	assert_int_equal(plx_fs_write(fs, f, 0, buf, 0, &a), 0);
	/* Attributes. */
	assert_int_equal(plx_fs_chmod(fs, f, 04711, &a), 0);
	assert_int_equal(a.mode, S_IFREG | 04711);
	assert_int_equal(plx_fs_chown(fs, f, 42, (uint32_t)-1, &a), 0);
	assert_int_equal(a.uid, 42);
	assert_int_equal(a.gid, 100); /* kept */
	assert_int_equal(plx_fs_chown(fs, f, (uint32_t)-1, 43, &a), 0);
	assert_int_equal(a.uid, 42);
	assert_int_equal(a.gid, 43);
	assert_int_equal(plx_fs_chown(fs, f, 1u << 20, 0, &a), -EINVAL);
	struct timespec times[2] = {{1000000, 999}, {2000000, 5}};
	assert_int_equal(plx_fs_utime(fs, f, times, &a), 0);
	assert_int_equal(a.atime_sec, 1000000);
	assert_int_equal(a.atime_nsec, 0); /* seconds only in v3 */
	assert_int_equal(a.mtime_sec, 2000000);
	times[0].tv_nsec = UTIME_OMIT;
	times[1].tv_nsec = UTIME_NOW;
	assert_int_equal(plx_fs_utime(fs, f, times, &a), 0);
	assert_int_equal(a.atime_sec, 1000000);
	assert_true(a.mtime_sec > 1600000000);
	assert_int_equal(plx_fs_ftrunc(fs, f, 100, &a), 0);
	assert_int_equal(a.size, 100);
	assert_int_equal(plx_fs_ftrunc(fs, f, 3000, &a), 0);
	assert_int_equal(plx_fs_read(fs, f, 0, buf, sizeof buf), 3000);
	for (size_t i = 0; i < 3000; i++)
		assert_int_equal(buf[i], 0);
	assert_int_equal(plx_fs_ftrunc(fs, dir.ino, 0, &a), -EISDIR);
	assert_int_equal(plx_fs_stat(fs, f, &a), 0);
	assert_int_equal(a.size, 3000);
	assert_int_equal(a.blocks, 6);
	/* Links. */
	assert_int_equal(plx_fs_link(fs, dir.ino, "hard", f), 0);
	assert_int_equal(plx_fs_stat(fs, f, &a), 0);
	assert_int_equal(a.nlink, 2);
	assert_int_equal(plx_fs_link(fs, 1, "dirlink", dir.ino), -EPERM);
	assert_int_equal(plx_fs_link(fs, 1, "file", f), -EEXIST);
	assert_int_equal(plx_fs_unlink(fs, 1, "dir", NULL), -EISDIR);
	assert_int_equal(plx_fs_unlink(fs, 1, "nothing", NULL), -ENOENT);
	assert_int_equal(plx_fs_rmdir(fs, 1, "file", NULL), -ENOTDIR);
	assert_int_equal(plx_fs_rmdir(fs, 1, "dir", NULL), -ENOTEMPTY);
	assert_int_equal(plx_fs_rmdir(fs, dir.ino, ".", NULL), -EINVAL);
	assert_int_equal(plx_fs_unlink(fs, 1, "nothing", &a), -ENOENT);
	assert_int_equal(a.ino, 0); /* no attributes with an error */
	assert_int_equal(plx_fs_unlink(fs, dir.ino, "hard", &a), 0);
	assert_int_equal(a.ino, f); /* the removal answers the link count left */
	assert_int_equal(a.nlink, 1);
	assert_int_equal(plx_fs_stat(fs, f, &a), 0);
	assert_int_equal(a.nlink, 1);
	assert_int_equal(plx_fs_stat(fs, 1, &a), 0);
	assert_int_equal(a.nlink, 3);
	plx_fs_attr gone;
	assert_int_equal(plx_fs_rmdir(fs, 1, "dir", &gone), 0);
	assert_int_equal(gone.ino, dir.ino);
	assert_int_equal(gone.nlink, 0);
	assert_int_equal(plx_fs_stat(fs, 1, &a), 0);
	assert_int_equal(a.nlink, 2);
	assert_int_equal(plx_fs_create(fs, dir.ino, "x", 0644, 0, 0, &a), -ENOENT); /* removed */
	assert_int_equal(plx_fs_lookup(fs, 1, "dir", &a), -ENOENT);
	/* Directory listing. */
	plx_fs_dirent ents[16];
	bool eof = false;
	int n = plx_fs_getdents(fs, 1, 0, 4096, ents, 16, &eof);
	assert_true(eof);
	const char *want[] = {".", "..", name61, "file", "tty", "fifo", "link"};
	assert_int_equal(n, 7);
	for (int i = 0; i < n; i++)
		assert_string_equal(ents[i].name, want[i]);
	assert_int_equal(ents[0].type, DT_DIR);
	assert_int_equal(ents[3].type, DT_REG);
	assert_int_equal(ents[4].type, DT_CHR);
	assert_int_equal(ents[5].type, DT_FIFO);
	assert_int_equal(ents[6].type, DT_LNK);
	n = plx_fs_getdents(fs, 1, ents[3].next, 4096, ents, 16, &eof);
	assert_int_equal(n, 3);
	assert_string_equal(ents[0].name, "tty");
	assert_int_equal(plx_fs_getdents(fs, f, 0, 4096, ents, 16, &eof), -ENOTDIR);
	/* Sync, fsync, flush, statvfs, putnode. */
	assert_int_equal(plx_fs_fsync(fs, f), 0);
	assert_int_equal(plx_fs_flush(fs), 0);
	assert_int_equal(plx_fs_read(fs, f, 0, buf, 10), 10);
	assert_int_equal(plx_fs_statvfs(fs, &st), 0);
	assert_int_equal(plx_fs_putnode(fs, f, 2), -EINVAL); /* holds one */
	assert_int_equal(plx_fs_putnode(fs, f, 0), -EINVAL);
	/* Busy while VFS holds inodes. */
	assert_int_equal(plx_fs_unmount(fs), -EBUSY);
	assert_int_equal(plx_fs_putnode(fs, f60, 1), 0); /* created, and looked up once */
	uint64_t held[] = {f60, f, dir.ino, dev.ino, fifo.ino, lnk.ino};
	for (size_t i = 0; i < sizeof held / sizeof *held; i++)
		assert_int_equal(plx_fs_putnode(fs, held[i], 1), 0);
	/* Malformed bodies: a FsRename where FS_READ wants a FsIo. */
	Plexus__FsRename bad = PLEXUS__FS_RENAME__INIT;
	bad.old_name = "x";
	bad.new_name = "y";
	plx_request req = {
	    .dst = {.generation = 0}, .type = PLEXUS__FS_TYPE__FS_READ, .body = &bad.base};
	snprintf(req.dst.label, sizeof req.dst.label, "%s", t->fs);
	plx_msg *reply = NULL;
	int rc = plx_sendrec(t->ep, &req, &reply, MFSTEST_TIMEOUT);
	assert_int_equal(rc, -EBADMSG);
	plx_msg_destroy(&reply);
	Plexus__FsIo io = PLEXUS__FS_IO__INIT;
	io.ino = f;
	io.size = 100; /* a write whose data frame holds 3 bytes */
	req = (plx_request){
	    .type = PLEXUS__FS_TYPE__FS_WRITE, .body = &io.base, .data = "abc", .data_size = 3};
	snprintf(req.dst.label, sizeof req.dst.label, "%s", t->fs);
	assert_int_equal(plx_sendrec(t->ep, &req, &reply, MFSTEST_TIMEOUT), -EINVAL);
	plx_msg_destroy(&reply);
	assert_int_equal(plx_fs_stat(fs, f, &a), 0); /* still serving */
	mfstest_unmount(t, &fs, image, drv, srv);
}

static void test_large_files(void **state)
{
	mfstest *t = *state;
	char image[512];
	snprintf(image, sizeof image, "%s",
	         mfstest_image(t, "large", 160 * S_MB, MFSTEST_JOURNALED));
	plx_fs_attr root, a;
	pid_t drv, srv;
	plx_fs *fs = mfstest_mount(t, image, &root, &drv, &srv);
	struct plx_fs_statvfs st0, st;
	assert_int_equal(plx_fs_statvfs(fs, &st0), 0);
	/* 12 MiB: direct, single and double indirect zones. */
	uint64_t big = s_create(fs, 1, "big");
	s_write_pat(fs, big, 0, 12 * S_MB + 777, 3);
	s_read_pat(fs, big, 0, 12 * S_MB + 777, 3);
	/* Sparse, past the double indirect zones (7 + 256 + 65536 blocks): the triple one. */
	uint64_t sparse = s_create(fs, 1, "sparse");
	uint64_t far = 100ull * S_MB + 5;
	s_write_pat(fs, sparse, far, 10000, 9);
	assert_int_equal(plx_fs_stat(fs, sparse, &a), 0);
	assert_int_equal(a.size, far + 10000);
	s_read_pat(fs, sparse, far, 10000, 9);
	uint8_t buf[8192];
	assert_int_equal(plx_fs_read(fs, sparse, far - 4096, buf, 4096), 4096);
	for (size_t i = 0; i < 4096; i++)
		assert_int_equal(buf[i], 0);
	assert_int_equal(plx_fs_read(fs, sparse, 64 * S_MB, buf, sizeof buf), (ssize_t)sizeof buf);
	for (size_t i = 0; i < sizeof buf; i++)
		assert_int_equal(buf[i], 0);
	/* Writes over existing data, unaligned. */
	s_write_pat(fs, big, 300000 + 3, 70001, 4);
	s_read_pat(fs, big, 300000 + 3, 70001, 4);
	s_read_pat(fs, big, 0, 300000 + 3, 3);
	s_read_pat(fs, big, 370004, 12 * S_MB + 777 - 370004, 3);
	assert_int_equal(plx_fs_putnode(fs, big, 1), 0);
	assert_int_equal(plx_fs_putnode(fs, sparse, 1), 0);
	mfstest_unmount(t, &fs, image, drv, srv);
	fs = mfstest_mount(t, image, &root, &drv, &srv);
	assert_int_equal(plx_fs_lookup(fs, 1, "big", &a), 0);
	s_read_pat(fs, a.ino, 300000 + 3, 70001, 4);
	s_read_pat(fs, a.ino, 370004, 12 * S_MB + 777 - 370004, 3);
	/* Truncating frees every zone again (indirect blocks included). */
	assert_int_equal(plx_fs_ftrunc(fs, a.ino, 5000, &a), 0);
	s_read_pat(fs, a.ino, 0, 5000, 3);
	assert_int_equal(plx_fs_lookup(fs, 1, "sparse", &a), 0);
	assert_int_equal(plx_fs_ftrunc(fs, a.ino, 0, &a), 0);
	assert_int_equal(plx_fs_statvfs(fs, &st), 0);
	assert_int_equal(st.bfree, st0.bfree - 5);
	assert_int_equal(plx_fs_putnode(fs, a.ino, 1), 0);
	assert_int_equal(plx_fs_lookup(fs, 1, "big", &a), 0);
	assert_int_equal(plx_fs_putnode(fs, a.ino, 2), 0);
	mfstest_unmount(t, &fs, image, drv, srv);
}

/* Staged data (stage.c): FS_STAGE and FS_COLLECT are the clients' (c-*) only; a stage is
 * written by an FS_WRITE naming its owner, once, whole; a read for a client leaves its bytes
 * for that client alone; limits per owner and in size; a new instance holds no stage. */
static void test_staged_data(void **state)
{
	mfstest *t = *state;
	char image[512];
	snprintf(image, sizeof image, "%s",
	         mfstest_image(t, "staged", 32 * S_MB, MFSTEST_JOURNALED));
	plx_fs_attr root, a;
	pid_t drv, srv;
	plx_fs *fs = mfstest_mount(t, image, &root, &drv, &srv);
	plx_ep *ep_a = plx_ep_new(t->ctx, "c-test-a", 1), *ep_b = plx_ep_new(t->ctx, "c-test-b", 1);
	assert_non_null(ep_a);
	assert_non_null(ep_b);
	plx_fs *ca = plx_fs_new(ep_a, t->fs, MFSTEST_TIMEOUT),
	       *cb = plx_fs_new(ep_b, t->fs, MFSTEST_TIMEOUT);
	size_t n = 100000;
	uint8_t *data = malloc(MFS_TEST_STAGE_MAX + 1), *back = malloc(n);
	for (size_t i = 0; i < n; i++)
		data[i] = (uint8_t)(i * 7 + 3);
	uint64_t st = 0, st2 = 0;
	assert_int_equal(plx_fs_stage(fs, data, n, &st), -PLX_ECALLDENIED); /* not a client */
	uint64_t ino = s_create(fs, 1, "staged");
	assert_int_equal(plx_fs_stage(ca, data, n, &st), 0);
	assert_int_equal(plx_fs_write_staged(fs, ino, 0, n, "c-test-b", st, &a), -EXDEV);
	assert_int_equal(plx_fs_write_staged(fs, ino, 0, n - 1, "c-test-a", st, &a), -EINVAL);
	assert_int_equal(plx_fs_write_staged(fs, ino, 0, n, "c-test-a", st, &a),
	                 -EXDEV); /* used up */
	assert_int_equal(plx_fs_stage(ca, data, n, &st), 0);
	assert_int_equal(plx_fs_write_staged(fs, ino, 0, n, "c-test-a", st, &a), (ssize_t)n);
	assert_int_equal(a.size, n);
	assert_int_equal(plx_fs_read(fs, ino, 0, back, n), (ssize_t)n);
	assert_memory_equal(back, data, n);
	/* A read for a: b cannot collect it; a can, once. */
	assert_int_equal(plx_fs_read_for(fs, ino, 10, back, n, "c-test-a", &st), (ssize_t)(n - 10));
	assert_true(st != 0);
	assert_int_equal(plx_fs_collect(cb, st, back, n - 10), -ENOENT);
	assert_int_equal(plx_fs_collect(ca, st, back, n - 9), -EBADMSG); /* not the count: taken */
	assert_int_equal(plx_fs_read_for(fs, ino, 10, back, n, "c-test-a", &st), (ssize_t)(n - 10));
	assert_int_equal(plx_fs_collect(ca, st, back, n - 10), (ssize_t)(n - 10));
	assert_memory_equal(back, data + 10, n - 10);
	assert_int_equal(plx_fs_collect(ca, st, back, n - 10), -ENOENT);
	/* Limits: a stage of more than 4 MiB, more than 8 stages of one owner. */
	assert_int_equal(plx_fs_stage(ca, data, MFS_TEST_STAGE_MAX + 1, &st), -EFBIG);
	for (int i = 0; i < 8; i++)
		assert_int_equal(plx_fs_stage(ca, data, 10, &st), 0);
	assert_int_equal(plx_fs_stage(ca, data, 10, &st2), -EAGAIN);
	assert_int_equal(plx_fs_stage(cb, data, 10, &st2), 0); /* another owner still may */
	assert_int_equal(plx_fs_unstage(ca, st), 0);
	assert_int_equal(plx_fs_stage(ca, data, 10, &st), 0);
	/* A read past the owner's limit sends its bytes with the reply. */
	assert_int_equal(plx_fs_read_for(fs, ino, 0, back, n, "c-test-a", &st2), (ssize_t)n);
	assert_int_equal(st2, 0);
	assert_memory_equal(back, data, n);
	/* A restart (SIGKILL, a new instance mounting by itself) holds none of them. */
	assert_int_equal(plx_fs_stage(cb, data, n, &st), 0);
	assert_int_equal(plx_fs_fsync(fs, ino), 0);
	mfstest_kill(t, srv);
	srv = mfstest_start(t, PLEXUS_MFS_BIN, t->fs, "restart", NULL, NULL);
	ssize_t w = -1;
	for (int i = 0;
	     i < 100 && (w = plx_fs_write_staged(fs, ino, 0, n, "c-test-b", st, &a)) != -EXDEV; i++)
		usleep(50 * 1000); /* until the new instance has mounted */
	assert_int_equal(w, -EXDEV);
	assert_int_equal(plx_fs_collect(cb, st, back, n), -ENOENT);
	assert_int_equal(plx_fs_putnode(fs, ino, 1), 0);
	plx_fs_destroy(&ca);
	plx_fs_destroy(&cb);
	plx_ep_destroy(&ep_a);
	plx_ep_destroy(&ep_b);
	free(data);
	free(back);
	mfstest_unmount(t, &fs, image, drv, srv);
}

static void test_many_entries(void **state)
{
	mfstest *t = *state;
	char image[512];
	snprintf(image, sizeof image, "%s", mfstest_image(t, "many", 32 * S_MB, MFSTEST_JOURNALED));
	plx_fs_attr root, d, a;
	pid_t drv, srv;
	plx_fs *fs = mfstest_mount(t, image, &root, &drv, &srv);
	assert_int_equal(plx_fs_mkdir(fs, 1, "many", 0755, 0, 0, &d), 0);
	enum { N = 3000 };
	for (int i = 0; i < N; i++) {
		char name[64];
		snprintf(name, sizeof name, "entry-%05d-with-a-longer-name", i);
		uint64_t ino = s_create(fs, d.ino, name);
		assert_int_equal(plx_fs_putnode(fs, ino, 1), 0);
	}
	assert_int_equal(plx_fs_stat(fs, d.ino, &a), 0);
	assert_int_equal(a.size, (N + 2) * 64);
	/* Listed in pages of at most 500 bytes of names: every entry once, in order. */
	static plx_fs_dirent ents[64];
	uint64_t cookie = 0;
	int seen = 0, pages = 0;
	bool eof = false;
	while (!eof) {
		int n = plx_fs_getdents(fs, d.ino, cookie, 500, ents, 64, &eof);
		assert_true(n >= 0);
		assert_true(n > 0 || eof);
		pages++;
		for (int i = 0; i < n; i++) {
			if (seen >= 2) {
				char name[64];
				snprintf(name, sizeof name, "entry-%05d-with-a-longer-name",
				         seen - 2);
				assert_string_equal(ents[i].name, name);
			}
			seen++;
			cookie = ents[i].next;
		}
	}
	assert_int_equal(seen, N + 2);
	assert_true(pages > N * 29 / 500);
	/* Every other one removed; their slots are reused before the directory grows. */
	for (int i = 0; i < N; i += 2) {
		char name[64];
		snprintf(name, sizeof name, "entry-%05d-with-a-longer-name", i);
		assert_int_equal(plx_fs_unlink(fs, d.ino, name, NULL), 0);
	}
	assert_int_equal(plx_fs_lookup(fs, d.ino, "entry-00002-with-a-longer-name", &a), -ENOENT);
	assert_int_equal(plx_fs_lookup(fs, d.ino, "entry-02999-with-a-longer-name", &a), 0);
	assert_int_equal(plx_fs_putnode(fs, a.ino, 1), 0);
	for (int i = 0; i < 100; i++) {
		char name[64];
		snprintf(name, sizeof name, "again-%d", i);
		assert_int_equal(plx_fs_putnode(fs, s_create(fs, d.ino, name), 1), 0);
	}
	assert_int_equal(plx_fs_stat(fs, d.ino, &a), 0);
	assert_int_equal(a.size, (N + 2) * 64);
	assert_int_equal(plx_fs_putnode(fs, d.ino, 1), 0);
	mfstest_unmount(t, &fs, image, drv, srv);
}

static void test_rename(void **state)
{
	mfstest *t = *state;
	char image[512];
	snprintf(image, sizeof image, "%s",
	         mfstest_image(t, "rename", 16 * S_MB, MFSTEST_JOURNALED));
	plx_fs_attr root, a, b, d1, d2, sub, e;
	pid_t drv, srv;
	plx_fs *fs = mfstest_mount(t, image, &root, &drv, &srv);
	struct plx_fs_statvfs st0, st;
	assert_int_equal(plx_fs_statvfs(fs, &st0), 0);
	uint64_t fa = s_create(fs, 1, "a");
	uint64_t fb = s_create(fs, 1, "b");
	assert_int_equal(plx_fs_write(fs, fa, 0, "AAAA", 4, NULL), 4);
	assert_int_equal(plx_fs_write(fs, fb, 0, "BB", 2, NULL), 2);
	assert_int_equal(plx_fs_putnode(fs, fb, 1), 0);
	/* Same directory, new name. */
	assert_int_equal(plx_fs_rename(fs, 1, "a", 1, "c", &e), 0);
	assert_int_equal(e.ino, 0); /* no name replaced */
	assert_int_equal(plx_fs_lookup(fs, 1, "a", &a), -ENOENT);
	assert_int_equal(plx_fs_lookup(fs, 1, "c", &a), 0);
	assert_int_equal(a.ino, fa);
	/* Onto an existing file: replaced, its inode freed (nobody holds it). */
	assert_int_equal(plx_fs_rename(fs, 1, "c", 1, "b", &e), 0);
	assert_int_equal(e.ino, fb); /* the replaced inode, without links */
	assert_int_equal(e.nlink, 0);
	assert_int_equal(plx_fs_lookup(fs, 1, "b", &b), 0);
	assert_int_equal(b.ino, fa);
	assert_int_equal(b.size, 4);
	assert_int_equal(plx_fs_statvfs(fs, &st), 0);
	assert_int_equal(st.ffree, st0.ffree - 1);
	/* Onto itself (a hard link to the same inode): nothing happens. */
	assert_int_equal(plx_fs_link(fs, 1, "b2", fa), 0);
	assert_int_equal(plx_fs_rename(fs, 1, "b", 1, "b2", NULL), 0);
	assert_int_equal(plx_fs_lookup(fs, 1, "b", &a), 0);
	assert_int_equal(plx_fs_stat(fs, fa, &a), 0);
	assert_int_equal(a.nlink, 2);
	/* Directories. */
	assert_int_equal(plx_fs_mkdir(fs, 1, "d1", 0755, 0, 0, &d1), 0);
	assert_int_equal(plx_fs_mkdir(fs, 1, "d2", 0755, 0, 0, &d2), 0);
	assert_int_equal(plx_fs_mkdir(fs, d1.ino, "sub", 0755, 0, 0, &sub), 0);
	uint64_t inner = s_create(fs, sub.ino, "inner");
	assert_int_equal(plx_fs_rename(fs, d1.ino, "sub", d2.ino, "moved", NULL), 0);
	assert_int_equal(plx_fs_lookup(fs, sub.ino, "..", &a), 0);
	assert_int_equal(a.ino, d2.ino); /* ".." follows */
	assert_int_equal(plx_fs_stat(fs, d1.ino, &a), 0);
	assert_int_equal(a.nlink, 2);
	assert_int_equal(plx_fs_stat(fs, d2.ino, &a), 0);
	assert_int_equal(a.nlink, 3);
	/* Into itself or below itself. */
	assert_int_equal(plx_fs_rename(fs, 1, "d2", sub.ino, "loop", NULL), -EINVAL);
	assert_int_equal(plx_fs_rename(fs, 1, "d2", d2.ino, "loop", NULL), -EINVAL);
	/* Kinds that do not replace each other. */
	assert_int_equal(plx_fs_rename(fs, 1, "b", 1, "d1", NULL), -EISDIR);
	assert_int_equal(plx_fs_rename(fs, 1, "d1", 1, "b", NULL), -ENOTDIR);
	assert_int_equal(plx_fs_rename(fs, 1, "d1", d2.ino, "moved", NULL), -ENOTEMPTY);
	assert_int_equal(plx_fs_rename(fs, 1, "nothing", 1, "x", NULL), -ENOENT);
	assert_int_equal(plx_fs_rename(fs, 1, ".", 1, "x", NULL), -EINVAL);
	/* A directory onto an empty one: replaced, link counts right. */
	assert_int_equal(plx_fs_mkdir(fs, 1, "empty", 0755, 0, 0, &e), 0);
	assert_int_equal(plx_fs_rename(fs, d2.ino, "moved", 1, "empty", NULL), 0);
	assert_int_equal(plx_fs_lookup(fs, 1, "empty", &a), 0);
	assert_int_equal(a.ino, sub.ino);
	assert_int_equal(plx_fs_lookup(fs, a.ino, "inner", &b), 0);
	assert_int_equal(b.ino, inner);
	assert_int_equal(plx_fs_stat(fs, e.ino, &b), 0);
	assert_int_equal(b.nlink, 0); /* replaced, still held */
	assert_int_equal(plx_fs_stat(fs, 1, &b), 0);
	assert_int_equal(b.nlink, 2 + 3); /* ".", d1, d2, empty (= sub) */
	/* The references the calls above gave: creates, mkdirs and lookups. */
	uint64_t held[][2] = {{fa, 4},    {d1.ino, 1}, {d2.ino, 2}, {sub.ino, 2},
	                      {inner, 2}, {e.ino, 1},  {1, 1}};
	for (size_t i = 0; i < sizeof held / sizeof *held; i++)
		assert_int_equal(plx_fs_putnode(fs, held[i][0], (uint32_t)held[i][1]), 0);
	mfstest_unmount(t, &fs, image, drv, srv);
}

static void test_unlink_while_referenced(void **state)
{
	mfstest *t = *state;
	char image[512];
	snprintf(image, sizeof image, "%s",
	         mfstest_image(t, "unlink", 16 * S_MB, MFSTEST_JOURNALED));
	plx_fs_attr root, a;
	pid_t drv, srv;
	plx_fs *fs = mfstest_mount(t, image, &root, &drv, &srv);
	struct plx_fs_statvfs st0, st;
	assert_int_equal(plx_fs_statvfs(fs, &st0), 0);
	uint64_t f = s_create(fs, 1, "open-file");
	assert_int_equal(plx_fs_lookup(fs, 1, "open-file", &a), 0); /* a second reference */
	s_write_pat(fs, f, 0, 500000, 5);
	assert_int_equal(plx_fs_unlink(fs, 1, "open-file", NULL), 0);
	assert_int_equal(plx_fs_lookup(fs, 1, "open-file", &a), -ENOENT);
	assert_int_equal(plx_fs_stat(fs, f, &a), 0);
	assert_int_equal(a.nlink, 0);
	s_read_pat(fs, f, 0, 500000, 5); /* still readable */
	s_write_pat(fs, f, 500000, 1000, 5);
	assert_int_equal(plx_fs_sync(fs), 0);
	assert_int_equal(plx_fs_putnode(fs, f, 1), 0);
	s_read_pat(fs, f, 0, 501000, 5); /* one reference left */
	assert_int_equal(plx_fs_statvfs(fs, &st), 0);
	assert_int_equal(st.ffree, st0.ffree - 1);
	assert_int_equal(plx_fs_putnode(fs, f, 1), 0); /* the last: freed */
	assert_int_equal(plx_fs_stat(fs, f, &a), -ENOENT);
	assert_int_equal(plx_fs_statvfs(fs, &st), 0);
	assert_int_equal(st.ffree, st0.ffree);
	assert_int_equal(st.bfree, st0.bfree);
	mfstest_unmount(t, &fs, image, drv, srv);
}

/* Runs plx_mkfs_cli(argv) in a child (as the plexus command would); returns its exit code. */
static int s_mkfs(mfstest *t, const char *const *argv)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	pid_t pid = fork();
	if (pid == 0) {
		char log[512];
		snprintf(log, sizeof log, "%s/mkfs.log", t->dir);
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		_exit(plx_mkfs_cli(argc, (char **)argv));
	}
	int status;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* An inode freed in the open journal transaction is not handed out before it committed (as a
 * zone): a file's number never names another file in the state a crash goes back to, so a
 * handle VFS keeps across an MFS restart names its own file or none (docs/vfs.md). With 64
 * inodes, every one freed and asked for again, the commit that frees them comes on its own. */
static void test_inode_numbers_wait_for_commit(void **state)
{
	mfstest *t = *state;
	char image[512];
	snprintf(image, sizeof image, "%s/%s-inos.img", t->dir, t->fs);
	const char *argv[] = {"mkfs", "--size", "4M", "-i", "64", image, NULL};
	assert_int_equal(s_mkfs(t, argv), EX_OK);
	const char *vd[] = {"--image", image, NULL},
	           *no_writeback[] = {"--sync-interval-ms", "0", NULL};
	pid_t drv = mfstest_start(t, PLEXUS_VDISK_BIN, t->drv, NULL, vd, NULL);
	pid_t srv = mfstest_start(t, PLEXUS_MFS_BIN, t->fs, NULL, no_writeback, NULL);
	plx_fs *fs = plx_fs_new(t->ep, t->fs, MFSTEST_TIMEOUT);
	plx_fs_attr root, a;
	assert_int_equal(plx_fs_readsuper(fs, t->drv, 0, false, 78, &root, NULL), 0);
	uint64_t first = s_create(fs, 1, "first");
	assert_int_equal(plx_fs_putnode(fs, first, 1), 0);
	assert_int_equal(plx_fs_sync(fs), 0);
	assert_int_equal(plx_fs_unlink(fs, 1, "first", NULL), 0); /* freed: nobody holds it */
	uint64_t second = s_create(fs, 1, "second");
	assert_int_not_equal(second, first);
	assert_int_equal(plx_fs_putnode(fs, second, 1), 0);
	/* every inode taken, freed, and taken again: the frees commit when they are needed */
	for (int round = 0; round < 3; round++) {
		int made = 0, rc = 0;
		for (;; made++) {
			char name[16];
			snprintf(name, sizeof name, "i%d", made);
			if ((rc = plx_fs_create(fs, 1, name, 0644, 0, 0, &a)) < 0)
				break;
			assert_int_equal(plx_fs_putnode(fs, a.ino, 1), 0);
		}
		assert_int_equal(rc, -ENOSPC);
		assert_int_equal(made, 62); /* 64: the root and "second" have theirs */
		for (int i = 0; i < made; i++) {
			char name[16];
			snprintf(name, sizeof name, "i%d", i);
			assert_int_equal(plx_fs_unlink(fs, 1, name, NULL), 0);
		}
	}
	assert_int_equal(plx_fs_lookup(fs, 1, "second", &a), 0);
	assert_int_equal(plx_fs_putnode(fs, a.ino, 1), 0);
	mfstest_unmount(t, &fs, image, drv, srv);
}

static void test_plexus_mkfs(void **state)
{
	mfstest *t = *state;
	char image[512];
	snprintf(image, sizeof image, "%s/%s-pm.img", t->dir, t->fs);
	const char *argv[] = {"mkfs", "--size", "24M", "-i", "4000", image, NULL};
	assert_int_equal(s_mkfs(t, argv), EX_OK);
	mfstest_fsck(image);
	struct stat sbuf;
	assert_int_equal(stat(image, &sbuf), 0);
	assert_int_equal(sbuf.st_size, 24 * S_MB);
	plx_fs_attr root, a;
	pid_t drv, srv;
	plx_fs *fs = mfstest_mount(t, image, &root, &drv, &srv);
	struct plx_fs_statvfs st;
	assert_int_equal(plx_fs_statvfs(fs, &st), 0);
	assert_int_equal(st.files, 4000);
	uint64_t f = s_create(fs, 1, "x");
	s_write_pat(fs, f, 0, 2 * S_MB, 1);
	assert_int_equal(plx_fs_mkdir(fs, 1, "y", 0700, 0, 0, &a), 0);
	assert_int_equal(plx_fs_putnode(fs, f, 1), 0);
	assert_int_equal(plx_fs_putnode(fs, a.ino, 1), 0);
	mfstest_unmount(t, &fs, image, drv, srv);
	const char *bad[] = {"mkfs", "-b", "1000", image, NULL};
	assert_int_equal(s_mkfs(t, bad), EX_USAGE);
	const char *none[] = {"mkfs", NULL};
	assert_int_equal(s_mkfs(t, none), EX_USAGE);
	const char *help[] = {"mkfs", "--help", NULL};
	assert_int_equal(s_mkfs(t, help), EX_OK);

	/* On a RAM disk of plexus-memory, through BDEV. */
	const char *mem[] = {"--ramdisk", "2:8M", NULL};
	drv = mfstest_start(t, PLEXUS_MEMORY_BIN, t->drv, NULL, mem, NULL);
	char target[64];
	snprintf(target, sizeof target, "%s:2", t->drv);
	const char *argv2[] = {"mkfs",      "--etcd",        plx_etcdh_endpoints(t->h),
	                       "--cluster", MFSTEST_CLUSTER, target,
	                       NULL};
	assert_int_equal(s_mkfs(t, argv2), EX_OK);
	srv = mfstest_start(t, PLEXUS_MFS_BIN, t->fs, NULL, NULL, NULL);
	fs = plx_fs_new(t->ep, t->fs, MFSTEST_TIMEOUT);
	assert_int_equal(plx_fs_readsuper(fs, t->drv, 2, false, 9, &root, &st), 0);
	assert_int_equal(st.blocks, 8192 - 8192 / 32); /* the rest is the journal's */
	f = s_create(fs, 1, "on-ram");
	s_write_pat(fs, f, 0, 1 * S_MB, 2);
	assert_int_equal(plx_fs_putnode(fs, f, 1), 0);
	assert_int_equal(plx_fs_unmount(fs), 0);
	assert_int_equal(plx_fs_readsuper(fs, t->drv, 2, true, 9, &root, &st), 0); /* again */
	assert_true(st.read_only);
	assert_int_equal(plx_fs_lookup(fs, 1, "on-ram", &a), 0);
	s_read_pat(fs, a.ino, 0, 1 * S_MB, 2);
	assert_int_equal(plx_fs_create(fs, 1, "no", 0644, 0, 0, &a), -EROFS);
	assert_int_equal(plx_fs_write(fs, f, 0, "x", 1, NULL), -EROFS);
	assert_int_equal(plx_fs_unlink(fs, 1, "on-ram", NULL), -EROFS);
	assert_int_equal(plx_fs_putnode(fs, f, 1), 0);
	assert_int_equal(plx_fs_unmount(fs), 0);
	mfstest_stop(t, drv);

	/* A driver with 4096-byte sectors: mkfs picks 4096-byte blocks and writes whole sectors. */
	char image4k[512];
	snprintf(image4k, sizeof image4k, "%s", mfstest_image(t, "4k", 16 * S_MB, MFSTEST_BLANK));
	const char *vd4k[] = {"--image", image4k, "--sector-size", "4096", NULL};
	drv = mfstest_start(t, PLEXUS_VDISK_BIN, t->drv, NULL, vd4k, NULL);
	snprintf(target, sizeof target, "%s:0", t->drv);
	assert_int_equal(s_mkfs(t, argv2), EX_OK);
	assert_int_equal(plx_fs_readsuper(fs, t->drv, 0, false, 9, &root, &st), 0);
	assert_int_equal(st.bsize, 4096);
	assert_int_equal(st.blocks, 4096 - 4096 / 32);
	f = s_create(fs, 1, "big-blocks");
	s_write_pat(fs, f, 0, 5 * S_MB + 17, 6); /* single and double indirect, 1024 per block */
	assert_int_equal(plx_fs_putnode(fs, f, 1), 0);
	assert_int_equal(plx_fs_unmount(fs), 0);
	assert_int_equal(plx_fs_readsuper(fs, t->drv, 0, false, 9, &root, &st), 0);
	assert_int_equal(plx_fs_lookup(fs, 1, "big-blocks", &a), 0);
	s_read_pat(fs, a.ino, 0, 5 * S_MB + 17, 6);
	assert_int_equal(plx_fs_putnode(fs, a.ino, 1), 0);
	assert_int_equal(plx_fs_unmount(fs), 0);
	plx_fs_destroy(&fs);
	mfstest_stop(t, srv);
	mfstest_stop(t, drv);
}

static void test_bad_disks(void **state)
{
	mfstest *t = *state;
	char image[512];
	/* Zeros: no file system. */
	snprintf(image, sizeof image, "%s", mfstest_image(t, "zero", 4 * S_MB, MFSTEST_BLANK));
	const char *vd[] = {"--image", image, NULL};
	pid_t drv = mfstest_start(t, PLEXUS_VDISK_BIN, t->drv, NULL, vd, NULL);
	pid_t srv = mfstest_start(t, PLEXUS_MFS_BIN, t->fs, NULL, NULL, NULL);
	plx_fs *fs = plx_fs_new(t->ep, t->fs, MFSTEST_TIMEOUT);
	plx_fs_attr root, a;
	assert_int_equal(plx_fs_readsuper(fs, t->drv, 0, false, 1, &root, NULL), -EINVAL);
	assert_non_null(strstr(mfstest_log(t, t->fs), "bad magic"));
	assert_int_equal(plx_fs_readsuper(fs, t->drv, 9, false, 1, &root, NULL), -ENXIO);
	mfstest_stop(t, drv);
	/* A file system larger than its device. */
	snprintf(image, sizeof image, "%s", mfstest_image(t, "short", 8 * S_MB, MFSTEST_MKFS));
	assert_int_equal(truncate(image, 4 * S_MB), 0);
	drv = mfstest_start(t, PLEXUS_VDISK_BIN, t->drv, NULL, vd, NULL);
	assert_int_equal(plx_fs_readsuper(fs, t->drv, 0, false, 1, &root, NULL), -EINVAL);
	mfstest_stop(t, drv);
	/* Good, then an inode with zone numbers outside the data area. */
	snprintf(image, sizeof image, "%s", mfstest_image(t, "zones", 8 * S_MB, MFSTEST_MKFS));
	pid_t d2;
	plx_fs_destroy(&fs);
	mfstest_stop(t, srv);
	fs = mfstest_mount(t, image, &root, &d2, &srv);
	uint64_t f = s_create(fs, 1, "victim");
	s_write_pat(fs, f, 0, 20000, 1);
	assert_int_equal(plx_fs_putnode(fs, f, 1), 0);
	mfstest_unmount(t, &fs, image, d2, srv);
	int fd = open(image, O_RDWR);
	mfs_super sb;
	uint8_t sbuf[MFS_SUPER_SIZE], ibuf[MFS_INODE_SIZE];
	assert_int_equal(pread(fd, sbuf, sizeof sbuf, MFS_SUPER_OFFSET), (ssize_t)sizeof sbuf);
	mfs_super_decode(sbuf, &sb);
	off_t ipos = (off_t)(MFS_START_BLOCK + sb.imap_blocks + sb.zmap_blocks) * 1024 +
	             (off_t)(f - 1) * MFS_INODE_SIZE;
	assert_int_equal(pread(fd, ibuf, sizeof ibuf, ipos), (ssize_t)sizeof ibuf);
	mfs_dinode d;
	mfs_inode_decode(ibuf, &d);
	d.zone[1] = 5;          /* inside the inode table */
	d.zone[2] = 0x7fffffff; /* past the end */
	d.zone[7] = 3;
	mfs_inode_encode(&d, ibuf);
	assert_int_equal(pwrite(fd, ibuf, sizeof ibuf, ipos), (ssize_t)sizeof ibuf);
	close(fd);
	fs = mfstest_mount(t, image, &root, &d2, &srv);
	uint8_t buf[4096];
	assert_int_equal(plx_fs_lookup(fs, 1, "victim", &a), 0);
	assert_int_equal(plx_fs_read(fs, f, 0, buf, 1024), 1024); /* zone 0 is fine */
	assert_int_equal(plx_fs_read(fs, f, 1024, buf, 1024), -EIO);
	assert_int_equal(plx_fs_read(fs, f, 2048, buf, 1024), -EIO);
	assert_int_equal(plx_fs_read(fs, f, 0, buf, sizeof buf), -EIO);
	assert_int_equal(plx_fs_write(fs, f, 8 * 1024, buf, 10, NULL), -EIO);
	assert_int_equal(plx_fs_stat(fs, 1, &a), 0); /* still serving */
	assert_int_equal(plx_fs_putnode(fs, f, 1), 0);
	assert_int_equal(plx_fs_unmount(fs), 0);
	plx_fs_destroy(&fs);
	mfstest_stop(t, srv);
	mfstest_stop(t, d2);
}

/* ---- untrusted images: damage made by hand in a mkfs.minix image ---- */

/* Opens image for editing and reads its superblock. */
static int s_image_open(const char *image, mfs_super *sb)
{
	uint8_t buf[MFS_SUPER_SIZE];
	int fd = open(image, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, sizeof buf, MFS_SUPER_OFFSET), (ssize_t)sizeof buf);
	mfs_super_decode(buf, sb);
	return fd;
}

/* Zeroes the inode bitmap, or the zone bitmap, all but bit 0 (never handed out). */
static void s_zero_map(const char *image, bool zones)
{
	mfs_super sb;
	int fd = s_image_open(image, &sb);
	uint8_t *zero = calloc(1, sb.block_size);
	uint64_t first = MFS_START_BLOCK + (zones ? sb.imap_blocks : 0);
	uint32_t n = zones ? sb.zmap_blocks : sb.imap_blocks;
	for (uint32_t i = 0; i < n; i++) {
		zero[0] = i == 0; /* bit 0 */
		assert_int_equal(
		    pwrite(fd, zero, sb.block_size, (off_t)((first + i) * sb.block_size)),
		    (ssize_t)sb.block_size);
	}
	free(zero);
	close(fd);
}

/* In directory inode dir, makes entry from name inode ino as to. */
static void s_edit_dirent(const char *image, uint64_t dir, const char *from, const char *to,
                          uint64_t ino)
{
	mfs_super sb;
	int fd = s_image_open(image, &sb);
	uint8_t raw[MFS_INODE_SIZE], *block = malloc(sb.block_size);
	off_t ipos = (off_t)((MFS_START_BLOCK + sb.imap_blocks + sb.zmap_blocks) * sb.block_size +
	                     (dir - 1) * MFS_INODE_SIZE);
	assert_int_equal(pread(fd, raw, sizeof raw, ipos), (ssize_t)sizeof raw);
	mfs_dinode d;
	mfs_inode_decode(raw, &d);
	off_t zpos = (off_t)d.zone[0] * sb.block_size;
	assert_int_equal(pread(fd, block, sb.block_size, zpos), (ssize_t)sb.block_size);
	bool done = false;
	for (size_t off = 0; off < sb.block_size && !done; off += MFS_DIRENT_SIZE) {
		char name[MFS_NAME_MAX + 1];
		mfs_dirent_name(block + off, name);
		if (mfs_dirent_ino(block + off) && strcmp(name, from) == 0)
			done = mfs_dirent_set(block + off, (uint32_t)ino, to) == 0;
	}
	assert_true(done);
	assert_int_equal(pwrite(fd, block, sb.block_size, zpos), (ssize_t)sb.block_size);
	free(block);
	close(fd);
}

/* Sets the size of inode ino in image (size >= 0), its link count (links >= 0). */
static void s_edit_inode(const char *image, uint64_t ino, int64_t size, int links)
{
	mfs_super sb;
	int fd = s_image_open(image, &sb);
	uint8_t raw[MFS_INODE_SIZE];
	off_t ipos = (off_t)((MFS_START_BLOCK + sb.imap_blocks + sb.zmap_blocks) * sb.block_size +
	                     (ino - 1) * MFS_INODE_SIZE);
	assert_int_equal(pread(fd, raw, sizeof raw, ipos), (ssize_t)sizeof raw);
	mfs_dinode d;
	mfs_inode_decode(raw, &d);
	if (size >= 0)
		d.size = (uint32_t)size;
	if (links >= 0)
		d.nlinks = (uint16_t)links;
	mfs_inode_encode(&d, raw);
	assert_int_equal(pwrite(fd, raw, sizeof raw, ipos), (ssize_t)sizeof raw);
	close(fd);
}

/* What a test mount of a damaged image is: stopped without the fsck mfstest_unmount runs. */
static void s_unmount_damaged(mfstest *t, plx_fs **fs, pid_t drv, pid_t srv)
{
	assert_int_equal(plx_fs_sync(*fs), 0);
	assert_int_equal(plx_fs_unmount(*fs), 0);
	plx_fs_destroy(fs);
	mfstest_stop(t, srv);
	mfstest_stop(t, drv);
}

/* keep (20,000 pattern bytes over 20 zones), a/b/x; the inode numbers of a and b. */
static void s_untrusted_tree(mfstest *t, const char *image, uint64_t *a, uint64_t *b)
{
	plx_fs_attr root, at;
	pid_t drv, srv;
	plx_fs *fs = mfstest_mount(t, image, &root, &drv, &srv);
	uint64_t keep = s_create(fs, 1, "keep");
	s_write_pat(fs, keep, 0, 20000, 7);
	assert_int_equal(plx_fs_mkdir(fs, 1, "a", 0755, 0, 0, &at), 0);
	*a = at.ino;
	assert_int_equal(plx_fs_mkdir(fs, *a, "b", 0755, 0, 0, &at), 0);
	*b = at.ino;
	uint64_t x = s_create(fs, *b, "x");
	assert_int_equal(plx_fs_putnode(fs, x, 1), 0);
	assert_int_equal(plx_fs_putnode(fs, *b, 1), 0); /* the mkdirs' references */
	assert_int_equal(plx_fs_putnode(fs, *a, 1), 0);
	assert_int_equal(plx_fs_putnode(fs, keep, 1), 0);
	mfstest_unmount(t, &fs, image, drv, srv); /* fsck.minix: clean before the damage */
}

/* The files of s_untrusted_tree as they were: nothing overwritten. */
static void s_untrusted_intact(plx_fs *fs, uint64_t a, uint64_t b)
{
	plx_fs_attr at;
	assert_int_equal(plx_fs_lookup(fs, 1, "keep", &at), 0);
	assert_int_equal(at.size, 20000);
	s_read_pat(fs, at.ino, 0, 20000, 7);
	assert_int_equal(plx_fs_putnode(fs, at.ino, 1), 0);
	assert_int_equal(plx_fs_lookup(fs, 1, "a", &at), 0);
	assert_int_equal(at.ino, a);
	assert_int_equal(plx_fs_putnode(fs, a, 1), 0);
	assert_int_equal(plx_fs_lookup(fs, a, "b", &at), 0);
	assert_int_equal(at.ino, b);
	assert_int_equal(plx_fs_putnode(fs, b, 1), 0);
}

/* Images whose bitmaps lie, directories named twice, a directory whose size lies: MFS never
 * overwrites what a file uses (a zeroed zone bitmap, a zeroed inode bitmap cost EIO), says at
 * mount what is damaged, refuses (EIO) a directory reached under a second name, a cycle
 * included, and skips a directory's holes. */
static void test_untrusted_images(void **state)
{
	mfstest *t = *state;
	plx_fs_attr root, at;
	pid_t drv, srv;
	uint64_t a, b;
	char image[512];
	uint8_t buf[4096];
	snprintf(image, sizeof image, "%s", mfstest_image(t, "lying", 8 * S_MB, MFSTEST_MKFS));
	s_untrusted_tree(t, image, &a, &b);
	assert_null(strstr(mfstest_log(t, t->fs), "is damaged")); /* a sound image says nothing */

	/* the zone bitmap zeroed: the first zones it offers are the root directory's, keep's */
	s_zero_map(image, true);
	plx_fs *fs = mfstest_mount(t, image, &root, &drv, &srv);
	assert_non_null(strstr(mfstest_log(t, t->fs), "zones in use are free in the zone bitmap"));
	uint64_t n = s_create(fs, 1, "new");
	memset(buf, 0xee, sizeof buf);
	assert_int_equal(plx_fs_write(fs, n, 0, buf, sizeof buf, NULL), -EIO);
	assert_non_null(strstr(mfstest_log(t, t->fs), "which a file uses: refused (EIO)"));
	assert_int_equal(plx_fs_putnode(fs, n, 1), 0);
	assert_int_equal(plx_fs_sync(fs), 0);
	s_untrusted_intact(fs, a, b);
	s_unmount_damaged(t, &fs, drv, srv);

	/* the inode bitmap zeroed: the first inode it offers is the root's */
	s_untrusted_tree(t, mfstest_image(t, "lying", 8 * S_MB, MFSTEST_MKFS), &a, &b);
	s_zero_map(image, false);
	fs = mfstest_mount(t, image, &root, &drv, &srv);
	assert_int_equal(plx_fs_create(fs, 1, "new", 0644, 0, 0, &at), -EIO);
	assert_non_null(strstr(mfstest_log(t, t->fs), "which is in use: refused (EIO)"));
	assert_int_equal(plx_fs_stat(fs, 1, &at), 0);
	assert_true(S_ISDIR(at.mode));
	s_untrusted_intact(fs, a, b);
	s_unmount_damaged(t, &fs, drv, srv);

	/* a cycle (a/b/loop names a) and a second name of a directory (/b2 names b) */
	s_untrusted_tree(t, mfstest_image(t, "lying", 8 * S_MB, MFSTEST_MKFS), &a, &b);
	s_edit_dirent(image, b, "x", "loop", a);
	s_edit_dirent(image, 1, "keep", "b2", b);
	fs = mfstest_mount(t, image, &root, &drv, &srv);
	assert_int_equal(plx_fs_lookup(fs, b, "loop", &at), -EIO);
	assert_int_equal(plx_fs_lookup(fs, 1, "b2", &at), -EIO);
	assert_non_null(strstr(mfstest_log(t, t->fs), "a second name or a cycle"));
	assert_int_equal(plx_fs_lookup(fs, 1, "a", &at), 0); /* the first names still work */
	assert_int_equal(plx_fs_lookup(fs, a, "b", &at), 0);
	assert_int_equal(plx_fs_lookup(fs, b, "..", &at), 0);
	assert_int_equal(at.ino, a);
	assert_int_equal(plx_fs_putnode(fs, a, 2), 0);
	assert_int_equal(plx_fs_putnode(fs, b, 1), 0);
	s_unmount_damaged(t, &fs, drv, srv);

	/* a directory 4 GiB long, all holes past its first block: a lookup skips what a missing
	 * indirect block would cover rather than visiting four million blocks */
	s_untrusted_tree(t, mfstest_image(t, "lying", 8 * S_MB, MFSTEST_MKFS), &a, &b);
	s_edit_inode(image, a, UINT32_MAX - MFS_DIRENT_SIZE + 1, -1);
	fs = mfstest_mount(t, image, &root, &drv, &srv);
	assert_int_equal(plx_fs_lookup(fs, a, "none", &at), -ENOENT);
	assert_int_equal(plx_fs_lookup(fs, a, "b", &at), 0);
	assert_int_equal(at.ino, b);
	assert_int_equal(plx_fs_putnode(fs, b, 1), 0);
	assert_int_equal(plx_fs_rmdir(fs, 1, "a", NULL), -ENOTEMPTY);
	s_unmount_damaged(t, &fs, drv, srv);

	/* a directory size that ends inside an entry, past a hole: a new entry goes on the next
	 * entry boundary, never across the end of a block */
	s_untrusted_tree(t, mfstest_image(t, "lying", 8 * S_MB, MFSTEST_MKFS), &a, &b);
	fs = mfstest_mount(t, image, &root, &drv, &srv);
	for (int i = 0; i < 13; i++) { /* ".", "..", "b" and these fill a's first block */
		char name[16];
		snprintf(name, sizeof name, "fill%d", i);
		assert_int_equal(plx_fs_putnode(fs, s_create(fs, a, name), 1), 0);
	}
	mfstest_unmount(t, &fs, image, drv, srv);
	s_edit_inode(image, a, 2000, -1);
	fs = mfstest_mount(t, image, &root, &drv, &srv);
	n = s_create(fs, a, "after-the-end");
	assert_int_equal(plx_fs_putnode(fs, n, 1), 0);
	assert_int_equal(plx_fs_lookup(fs, a, "after-the-end", &at), 0);
	assert_int_equal(at.ino, n);
	assert_int_equal(plx_fs_putnode(fs, n, 1), 0);
	assert_int_equal(plx_fs_stat(fs, a, &at), 0);
	assert_int_equal(at.size, 2048 + MFS_DIRENT_SIZE);
	s_unmount_damaged(t, &fs, drv, srv);

	/* keep named in the root with a link count of 0: the lookup is EIO, and neither it nor a
	 * listing frees keep (a new file would then take its inode and zones) */
	s_untrusted_tree(t, mfstest_image(t, "lying", 8 * S_MB, MFSTEST_MKFS), &a, &b);
	fs = mfstest_mount(t, image, &root, &drv, &srv);
	assert_int_equal(plx_fs_lookup(fs, 1, "keep", &at), 0);
	uint64_t keep = at.ino;
	assert_int_equal(plx_fs_putnode(fs, keep, 1), 0);
	s_unmount_damaged(t, &fs, drv, srv);
	s_edit_inode(image, keep, -1, 0);
	fs = mfstest_mount(t, image, &root, &drv, &srv);
	assert_int_equal(plx_fs_lookup(fs, 1, "keep", &at), -EIO);
	assert_non_null(strstr(mfstest_log(t, t->fs), "but has no links"));
	plx_fs_dirent ents[16];
	bool eof;
	assert_true(plx_fs_getdents(fs, 1, 0, 4096, ents, 16, &eof) > 0);
	n = s_create(fs, 1, "new");
	assert_int_not_equal(n, keep);
	s_write_pat(fs, n, 0, 20000, 9);
	assert_int_equal(plx_fs_putnode(fs, n, 1), 0);
	s_unmount_damaged(t, &fs, drv, srv);
	s_edit_inode(image, keep, -1, 1);
	fs = mfstest_mount(t, image, &root, &drv, &srv);
	s_untrusted_intact(fs, a, b);
	s_unmount_damaged(t, &fs, drv, srv);
}

/* Random writes, truncations and reads on a few files, checked against a model in memory, with
 * a cache small enough that blocks are evicted and written back under way; then a remount,
 * the same contents, fsck clean. Fixed seed: the same operations every run. */
static void test_random_workload(void **state)
{
	mfstest *t = *state;
	char image[512];
	snprintf(image, sizeof image, "%s",
	         mfstest_image(t, "random", 96 * S_MB, MFSTEST_JOURNALED));
	const char *vd[] = {"--image", image, NULL};
	pid_t drv = mfstest_start(t, PLEXUS_VDISK_BIN, t->drv, NULL, vd, NULL);
	const char *opts[] = {"--cache-mb", "1", "--readahead", "8", NULL};
	pid_t srv = mfstest_start(t, PLEXUS_MFS_BIN, t->fs, NULL, opts, NULL);
	plx_fs *fs = plx_fs_new(t->ep, t->fs, MFSTEST_TIMEOUT);
	plx_fs_attr root, a;
	assert_int_equal(plx_fs_readsuper(fs, t->drv, 0, false, 1, &root, NULL), 0);
	enum { FILES = 3, SPAN = 9 * 1024 * 1024, OPS = 400 };
	uint8_t *model[FILES], *buf = malloc(SPAN);
	uint64_t ino[FILES], size[FILES] = {0};
	for (int i = 0; i < FILES; i++) {
		char name[16];
		snprintf(name, sizeof name, "r%d", i);
		ino[i] = s_create(fs, 1, name);
		model[i] = calloc(1, SPAN);
	}
	uint32_t seed = 12345;
#define S_RAND() (seed = seed * 1103515245u + 12345u, seed >> 8)
	for (int op = 0; op < OPS; op++) {
		int i = (int)(S_RAND() % FILES), kind = (int)(S_RAND() % 10);
		uint64_t pos = S_RAND() % (SPAN - 1);
		uint64_t len = S_RAND() % (kind < 2 ? 600000 : 70000) + 1;
		if (pos + len > SPAN)
			len = SPAN - pos;
		if (kind < 6) { /* write */
			for (uint64_t k = 0; k < len; k++)
				buf[k] = (uint8_t)S_RAND();
			assert_int_equal(plx_fs_write(fs, ino[i], pos, buf, len, &a), (ssize_t)len);
			memcpy(model[i] + pos, buf, len);
			if (pos + len > size[i])
				size[i] = pos + len;
			assert_int_equal(a.size, size[i]);
		} else if (kind < 8) { /* read and compare */
			ssize_t want = pos >= size[i]
			                   ? 0
			                   : (ssize_t)(size[i] - pos < len ? size[i] - pos : len);
			assert_int_equal(plx_fs_read(fs, ino[i], pos, buf, len), want);
			if (want && memcmp(buf, model[i] + pos, (size_t)want) != 0)
				fail_msg("op %d: file %d differs from the model at %llu+%zd", op, i,
				         (unsigned long long)pos, want);
		} else { /* truncate, shorter or longer */
			uint64_t ns = S_RAND() % SPAN;
			if (ns < size[i])
				memset(model[i] + ns, 0, size[i] - ns);
			assert_int_equal(plx_fs_ftrunc(fs, ino[i], ns, &a), 0);
			size[i] = ns;
		}
	}
#undef S_RAND
	assert_int_equal(plx_fs_sync(fs), 0);
	for (int i = 0; i < FILES; i++)
		assert_int_equal(plx_fs_putnode(fs, ino[i], 1), 0);
	mfstest_unmount(t, &fs, image, drv, srv);
	fs = mfstest_mount(t, image, &root, &drv, &srv);
	for (int i = 0; i < FILES; i++) {
		char name[16];
		snprintf(name, sizeof name, "r%d", i);
		assert_int_equal(plx_fs_lookup(fs, 1, name, &a), 0);
		assert_int_equal(a.size, size[i]);
		for (uint64_t done = 0; done < size[i];) {
			size_t n = size[i] - done < S_MB ? (size_t)(size[i] - done) : S_MB;
			assert_int_equal(plx_fs_read(fs, a.ino, done, buf, n), (ssize_t)n);
			if (memcmp(buf, model[i] + done, n) != 0)
				fail_msg(
				    "file %d differs from the model after the remount near %llu", i,
				    (unsigned long long)done);
			done += n;
		}
		assert_int_equal(plx_fs_putnode(fs, a.ino, 1), 0);
		free(model[i]);
	}
	free(buf);
	mfstest_unmount(t, &fs, image, drv, srv);
}

/* The names in directory dir, sorted, from FS_GETDENTS without "." and "..". */
static int s_names(plx_fs *fs, uint64_t dir, char names[][64], int max)
{
	static plx_fs_dirent ents[64];
	uint64_t cookie = 0;
	bool eof = false;
	int n = 0;
	while (!eof) {
		int got = plx_fs_getdents(fs, dir, cookie, 4096, ents, 64, &eof);
		assert_true(got >= 0);
		for (int i = 0; i < got; i++) {
			cookie = ents[i].next;
			if (strcmp(ents[i].name, ".") && strcmp(ents[i].name, "..") && n < max)
				snprintf(names[n++], 64, "%.63s", ents[i].name);
		}
	}
	qsort(names, (size_t)n, 64, (int (*)(const void *, const void *))strcmp);
	return n;
}

/* Random creates, links, unlinks, mkdirs, rmdirs and renames in a small tree, checked against a
 * model of which names each directory holds; fsck.minix then counts every link. */
static void test_random_tree(void **state)
{
	mfstest *t = *state;
	char image[512];
	snprintf(image, sizeof image, "%s", mfstest_image(t, "tree", 16 * S_MB, MFSTEST_JOURNALED));
	plx_fs_attr root, a;
	pid_t drv, srv;
	plx_fs *fs = mfstest_mount(t, image, &root, &drv, &srv);
	enum { DIRS = 4, NAMES = 12, OPS = 600 };
	/* model: dir d (0 = root, 1..DIRS = /dK when it exists) holds name n as inode ino[d][n]. */
	uint64_t dino[DIRS + 1] = {1}, ino[DIRS + 1][NAMES] = {{0}};
	uint32_t seed = 777;
#define S_RAND() (seed = seed * 1103515245u + 12345u, seed >> 8)
	for (int op = 0; op < OPS; op++) {
		int d = (int)(S_RAND() % (DIRS + 1)), n = (int)(S_RAND() % NAMES);
		int kind = (int)(S_RAND() % 6);
		if (!dino[d])
			continue; /* that directory does not exist now */
		char name[16];
		snprintf(name, sizeof name, "n%d", n);
		if (kind == 0 && d == 0 && n < DIRS) { /* mkdir /dK (K = n + 1) or rmdir it */
			snprintf(name, sizeof name, "d%d", n + 1);
			int k = n + 1;
			if (!dino[k]) {
				assert_int_equal(plx_fs_mkdir(fs, 1, name, 0755, 0, 0, &a), 0);
				dino[k] = a.ino;
				assert_int_equal(plx_fs_putnode(fs, a.ino, 1), 0);
			} else {
				bool empty = true;
				for (int m = 0; m < NAMES; m++)
					empty &= ino[k][m] == 0;
				assert_int_equal(plx_fs_rmdir(fs, 1, name, NULL),
				                 empty ? 0 : -ENOTEMPTY);
				if (empty)
					dino[k] = 0;
			}
		} else if (kind <= 2) { /* create */
			int rc = plx_fs_create(fs, dino[d], name, 0644, 0, 0, &a);
			assert_int_equal(rc, ino[d][n] ? -EEXIST : 0);
			if (rc == 0) {
				ino[d][n] = a.ino;
				assert_int_equal(plx_fs_putnode(fs, a.ino, 1), 0);
			}
		} else if (kind == 3) { /* unlink */
			assert_int_equal(plx_fs_unlink(fs, dino[d], name, NULL),
			                 ino[d][n] ? 0 : -ENOENT);
			ino[d][n] = 0;
		} else if (kind == 4 && ino[d][n]) { /* a hard link elsewhere */
			int d2 = (int)(S_RAND() % (DIRS + 1)), n2 = (int)(S_RAND() % NAMES);
			char name2[16];
			snprintf(name2, sizeof name2, "n%d", n2);
			if (!dino[d2])
				continue;
			int rc = plx_fs_link(fs, dino[d2], name2, ino[d][n]);
			assert_int_equal(rc, ino[d2][n2] ? -EEXIST : 0);
			if (rc == 0)
				ino[d2][n2] = ino[d][n];
		} else if (kind == 5) { /* rename, maybe onto an existing name */
			int d2 = (int)(S_RAND() % (DIRS + 1)), n2 = (int)(S_RAND() % NAMES);
			char name2[16];
			snprintf(name2, sizeof name2, "n%d", n2);
			if (!dino[d2])
				continue;
			int rc = plx_fs_rename(fs, dino[d], name, dino[d2], name2, NULL);
			assert_int_equal(rc, ino[d][n] ? 0 : -ENOENT);
			if (rc == 0 && ino[d][n] != ino[d2][n2]) {
				ino[d2][n2] = ino[d][n];
				ino[d][n] = 0;
			}
		}
	}
#undef S_RAND
	/* Every directory lists what the model says. */
	for (int d = 0; d <= DIRS; d++) {
		if (!dino[d])
			continue;
		char got[NAMES + DIRS][64], want[NAMES + DIRS][64];
		int ng = s_names(fs, dino[d], got, NAMES + DIRS), nw = 0;
		for (int n = 0; n < NAMES; n++)
			if (ino[d][n])
				snprintf(want[nw++], 64, "n%d", n);
		for (int k = 1; d == 0 && k <= DIRS; k++)
			if (dino[k])
				snprintf(want[nw++], 64, "d%d", k);
		qsort(want, (size_t)nw, 64, (int (*)(const void *, const void *))strcmp);
		assert_int_equal(ng, nw);
		for (int i = 0; i < ng; i++)
			assert_string_equal(got[i], want[i]);
		for (int n = 0; n < NAMES; n++) {
			char name[16];
			snprintf(name, sizeof name, "n%d", n);
			if (!ino[d][n])
				continue;
			assert_int_equal(plx_fs_lookup(fs, dino[d], name, &a), 0);
			assert_int_equal(a.ino, ino[d][n]);
			assert_int_equal(plx_fs_putnode(fs, a.ino, 1), 0);
		}
	}
	mfstest_unmount(t, &fs, image, drv, srv); /* fsck.minix -f counts every link */
}

/* A full disk: a write gets what fits (a short count), the next one -ENOSPC; inodes run out
 * with -ENOSPC too; removing files gives everything back; fsck clean throughout. */
static void test_full_disk(void **state)
{
	mfstest *t = *state;
	char image[512];
	snprintf(image, sizeof image, "%s", mfstest_image(t, "full", 1 * S_MB, MFSTEST_BLANK));
	char cmd[1024], out[4096];
	snprintf(cmd, sizeof cmd, "mkfs.minix -3 -i 64 '%s' 2>&1", image);
	assert_int_equal(mfstest_sh(cmd, out, sizeof out), 0);
	plx_fs_attr root, a;
	pid_t drv, srv;
	plx_fs *fs = mfstest_mount(t, image, &root, &drv, &srv);
	struct plx_fs_statvfs st0, st;
	assert_int_equal(plx_fs_statvfs(fs, &st0), 0);
	assert_int_equal(st0.files, 64);
	uint64_t f = s_create(fs, 1, "filler");
	uint8_t *buf = calloc(1, 2 * S_MB);
	ssize_t n = plx_fs_write(fs, f, 0, buf, 2 * S_MB, &a);
	assert_true(n > 512 * 1024 && n < (ssize_t)S_MB); /* what fitted */
	assert_int_equal(a.size, (uint64_t)n);
	assert_int_equal(plx_fs_write(fs, f, (uint64_t)n, buf, 4096, NULL), -ENOSPC);
	assert_int_equal(plx_fs_statvfs(fs, &st), 0);
	assert_int_equal(st.bfree, 0);
	assert_int_equal(plx_fs_mkdir(fs, 1, "nodir", 0755, 0, 0, &a), -ENOSPC); /* needs a block */
	assert_int_equal(plx_fs_putnode(fs, f, 1), 0);
	assert_int_equal(plx_fs_unlink(fs, 1, "filler", NULL), 0);
	assert_int_equal(plx_fs_statvfs(fs, &st), 0);
	assert_int_equal(st.bfree, st0.bfree);
	/* Inodes: 64, the root has one. */
	int made = 0, rc = 0;
	for (; made < 100; made++) {
		char name[16];
		snprintf(name, sizeof name, "i%d", made);
		if ((rc = plx_fs_create(fs, 1, name, 0644, 0, 0, &a)) < 0)
			break;
		assert_int_equal(plx_fs_putnode(fs, a.ino, 1), 0);
	}
	assert_int_equal(rc, -ENOSPC);
	assert_int_equal(made, 63);
	for (int i = 0; i < made; i += 2) {
		char name[16];
		snprintf(name, sizeof name, "i%d", i);
		assert_int_equal(plx_fs_unlink(fs, 1, name, NULL), 0);
	}
	assert_int_equal(plx_fs_statvfs(fs, &st), 0);
	assert_int_equal(st.ffree, 32);
	free(buf);
	mfstest_unmount(t, &fs, image, drv, srv);
}

/* Well-formed requests with arbitrary values, every FS type, thousands of them (fixed seed):
 * each gets a reply, the server stays up, and once every reference is given back the file
 * system unmounts and passes fsck.minix -f: whatever the requests did, they left it
 * consistent. Bodies whose fields have the wrong wire types: -EBADMSG. */
static void test_fuzz_requests(void **state)
{
	mfstest *t = *state;
	char image[512];
	snprintf(image, sizeof image, "%s", mfstest_image(t, "fuzz", 16 * S_MB, MFSTEST_JOURNALED));
	plx_fs_attr root;
	pid_t drv, srv;
	plx_fs *fs = mfstest_mount(t, image, &root, &drv, &srv);
	static const char *names[] = {
	    "a",
	    "b",
	    "c",
	    "dir",
	    "x/y",
	    "",
	    ".",
	    "..",
	    "a-name-that-is-exactly-sixty-bytes-long-0123456789abcdefghij",
	    "a-name-that-is-sixty-one-bytes-long-0123456789abcdefghijklmno"};
	enum { NNAMES = sizeof names / sizeof *names, OPS = 3000, INOS = 24 };
	static const uint32_t modes[] = {
	    0644,           S_IFREG | 0600, S_IFDIR | 0755,  S_IFCHR | 0600,
	    S_IFIFO | 0600, S_IFLNK | 0777, S_IFSOCK | 0700, 0170000};
	uint8_t *data = malloc(70000);
	memset(data, 0xab, 70000);
	uint32_t seed = 4242;
#define S_RAND() (seed = seed * 1103515245u + 12345u, seed >> 8)
	int answered = 0, succeeded = 0;
	for (int op = 0; op < OPS; op++) {
		uint32_t type = PLEXUS__FS_TYPE__FS_READSUPER + (uint32_t)(S_RAND() % 27);
		if (type == PLEXUS__FS_TYPE__FS_UNMOUNT)
			continue;
		uint64_t ino = S_RAND() % INOS, dir = S_RAND() % 4 ? 1 : S_RAND() % INOS;
		const char *name = names[S_RAND() % NNAMES], *name2 = names[S_RAND() % NNAMES];
		Plexus__FsCred cred = PLEXUS__FS_CRED__INIT;
		cred.uid = S_RAND() % 3 ? 0 : S_RAND();
		Plexus__FsCreate c = PLEXUS__FS_CREATE__INIT;
		c.dir = dir;
		c.name = (char *)name;
		c.mode = modes[S_RAND() % 8];
		c.cred = &cred;
		c.rdev = S_RAND();
		c.target = (char *)name2;
		Plexus__FsIo io = PLEXUS__FS_IO__INIT;
		io.ino = ino;
		io.position = S_RAND() % 3 ? S_RAND() % (2 * S_MB) : (uint64_t)S_RAND() << 20;
		io.size = S_RAND() % 70000;
		Plexus__FsName nm = PLEXUS__FS_NAME__INIT;
		nm.dir = dir;
		nm.name = (char *)name;
		Plexus__FsPutnode pn = PLEXUS__FS_PUTNODE__INIT;
		pn.ino = ino;
		pn.count = S_RAND() % 3;
		Plexus__FsSetattr sa = PLEXUS__FS_SETATTR__INIT;
		sa.ino = ino;
		sa.flags = S_RAND() & 0xff;
		sa.mode = S_RAND();
		sa.uid = S_RAND() % 2 ? 7 : S_RAND();
		sa.gid = S_RAND() % 2 ? 7 : S_RAND();
		sa.size = S_RAND() % 3 ? S_RAND() % (3 * S_MB) : (uint64_t)S_RAND() << 24;
		sa.atime_sec = (int64_t)S_RAND() - 1000;
		sa.mtime_sec = S_RAND();
		Plexus__FsLink ln = PLEXUS__FS_LINK__INIT;
		ln.dir = dir;
		ln.name = (char *)name;
		ln.ino = ino;
		Plexus__FsRename rn = PLEXUS__FS_RENAME__INIT;
		rn.old_dir = dir;
		rn.old_name = (char *)name;
		rn.new_dir = S_RAND() % 2 ? 1 : S_RAND() % INOS;
		rn.new_name = (char *)name2;
		Plexus__FsIno fi = PLEXUS__FS_INO__INIT;
		fi.ino = ino;
		Plexus__FsReadsuper rs = PLEXUS__FS_READSUPER__INIT;
		rs.driver = t->drv;
		Plexus__FsNewDriver nd = PLEXUS__FS_NEW_DRIVER__INIT;
		nd.driver = (char *)name;
		nd.generation = S_RAND();
		const ProtobufCMessage *body = NULL;
		const void *frame = NULL;
		size_t frame_size = 0;
		switch (type) {
		case PLEXUS__FS_TYPE__FS_READSUPER:
			body = &rs.base;
			break;
		case PLEXUS__FS_TYPE__FS_LOOKUP:
		case PLEXUS__FS_TYPE__FS_UNLINK:
		case PLEXUS__FS_TYPE__FS_RMDIR:
			body = &nm.base;
			break;
		case PLEXUS__FS_TYPE__FS_PUTNODE:
			body = &pn.base;
			break;
		case PLEXUS__FS_TYPE__FS_CREATE:
		case PLEXUS__FS_TYPE__FS_MKDIR:
		case PLEXUS__FS_TYPE__FS_MKNOD:
		case PLEXUS__FS_TYPE__FS_SLINK:
		case PLEXUS__FS_TYPE__FS_NEWNODE:
			body = &c.base;
			break;
		case PLEXUS__FS_TYPE__FS_WRITE:
			frame = data;
			frame_size = S_RAND() % 8 ? (size_t)io.size : (size_t)(S_RAND() % 70000);
			body = &io.base;
			break;
		case PLEXUS__FS_TYPE__FS_READ:
		case PLEXUS__FS_TYPE__FS_GETDENTS:
			body = &io.base;
			break;
		case PLEXUS__FS_TYPE__FS_CHMOD:
		case PLEXUS__FS_TYPE__FS_CHOWN:
		case PLEXUS__FS_TYPE__FS_FTRUNC:
		case PLEXUS__FS_TYPE__FS_UTIME:
			body = &sa.base;
			break;
		case PLEXUS__FS_TYPE__FS_LINK:
			body = &ln.base;
			break;
		case PLEXUS__FS_TYPE__FS_RENAME:
			body = &rn.base;
			break;
		case PLEXUS__FS_TYPE__FS_STAT:
		case PLEXUS__FS_TYPE__FS_RDLINK:
		case PLEXUS__FS_TYPE__FS_FSYNC:
			body = &fi.base;
			break;
		case PLEXUS__FS_TYPE__FS_NEW_DRIVER:
			body = &nd.base;
			break;
		default:
			break;
		}
		plx_request req = {
		    .type = type, .body = body, .data = frame, .data_size = frame_size};
		snprintf(req.dst.label, sizeof req.dst.label, "%s", t->fs);
		plx_msg *reply = NULL;
		int rc = plx_sendrec(t->ep, &req, &reply, MFSTEST_TIMEOUT);
		plx_msg_destroy(&reply);
		if (rc == -ETIMEDOUT || rc == -PLX_EDEADSRCDST)
			fail_msg("op %d (%s): no answer (%s); log:\n%s", op, plx_type_name(type),
			         plx_strerror(rc), mfstest_log(t, t->fs));
		answered++;
		succeeded += rc == 0;
	}
#undef S_RAND
	assert_true(answered > OPS * 9 / 10);
	print_message("%d requests, %d succeeded\n", answered, succeeded);
	assert_true(succeeded > OPS / 5); /* not all refused at the door */
	/* Bodies of the wrong wire types (a string where a number goes, and the reverse). */
	Plexus__FsNewDriver str1 = PLEXUS__FS_NEW_DRIVER__INIT;
	str1.driver = "junk";
	Plexus__FsIno num1 = PLEXUS__FS_INO__INIT;
	num1.ino = 5;
	for (uint32_t type = PLEXUS__FS_TYPE__FS_READSUPER; type <= PLEXUS__FS_TYPE__FS_FSYNC;
	     type++) {
		if (type == PLEXUS__FS_TYPE__FS_UNMOUNT)
			continue;
		bool string_first =
		    type == PLEXUS__FS_TYPE__FS_READSUPER || type == PLEXUS__FS_TYPE__FS_NEW_DRIVER;
		plx_request req = {.type = type, .body = string_first ? &num1.base : &str1.base};
		snprintf(req.dst.label, sizeof req.dst.label, "%s", t->fs);
		plx_msg *reply = NULL;
		int rc = plx_sendrec(t->ep, &req, &reply, MFSTEST_TIMEOUT);
		plx_msg_destroy(&reply);
		bool bodiless = type == PLEXUS__FS_TYPE__FS_SYNC ||
		                type == PLEXUS__FS_TYPE__FS_FLUSH ||
		                type == PLEXUS__FS_TYPE__FS_STATVFS;
		if (type == PLEXUS__FS_TYPE__FS_NEWNODE)
			assert_int_equal(rc, -ENOSYS);
		else if (!bodiless && rc != -EBADMSG)
			fail_msg("%s with a bad body: %s", plx_type_name(type), plx_strerror(rc));
	}
	/* Every reference back, then a clean unmount. */
	for (uint64_t ino = 1; ino < INOS; ino++)
		while (plx_fs_putnode(fs, ino, 1) == 0)
			;
	assert_int_equal(plx_fs_readsuper(fs, t->drv, 0, false, 77, &root, NULL), -EBUSY);
	free(data);
	mfstest_unmount(t, &fs, image, drv, srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_mkfs_minix_image, mfstest_test_setup,
	                                    mfstest_test_teardown),
	    cmocka_unit_test_setup_teardown(test_calls_and_errors, mfstest_test_setup,
	                                    mfstest_test_teardown),
	    cmocka_unit_test_setup_teardown(test_staged_data, mfstest_test_setup,
	                                    mfstest_test_teardown),
	    cmocka_unit_test_setup_teardown(test_large_files, mfstest_test_setup,
	                                    mfstest_test_teardown),
	    cmocka_unit_test_setup_teardown(test_many_entries, mfstest_test_setup,
	                                    mfstest_test_teardown),
	    cmocka_unit_test_setup_teardown(test_rename, mfstest_test_setup, mfstest_test_teardown),
	    cmocka_unit_test_setup_teardown(test_unlink_while_referenced, mfstest_test_setup,
	                                    mfstest_test_teardown),
	    cmocka_unit_test_setup_teardown(test_inode_numbers_wait_for_commit, mfstest_test_setup,
	                                    mfstest_test_teardown),
	    cmocka_unit_test_setup_teardown(test_plexus_mkfs, mfstest_test_setup,
	                                    mfstest_test_teardown),
	    cmocka_unit_test_setup_teardown(test_untrusted_images, mfstest_test_setup,
	                                    mfstest_test_teardown),
	    cmocka_unit_test_setup_teardown(test_bad_disks, mfstest_test_setup,
	                                    mfstest_test_teardown),
	    cmocka_unit_test_setup_teardown(test_random_workload, mfstest_test_setup,
	                                    mfstest_test_teardown),
	    cmocka_unit_test_setup_teardown(test_random_tree, mfstest_test_setup,
	                                    mfstest_test_teardown),
	    cmocka_unit_test_setup_teardown(test_full_disk, mfstest_test_setup,
	                                    mfstest_test_teardown),
	    cmocka_unit_test_setup_teardown(test_fuzz_requests, mfstest_test_setup,
	                                    mfstest_test_teardown),
	};
	return cmocka_run_group_tests(tests, mfstest_setup, mfstest_teardown);
}
