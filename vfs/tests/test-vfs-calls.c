/*
 * test-vfs-calls.c — every core VFS call and its error cases, on the four-node fixture
 * (fscluster.h): the client on node 0, VFS on node 1, MFS on node 2, the disk on node 3, over
 * a `mkfs.minix -3` image. The calls go as VFS family messages by sendrec (vfscalls.h).
 *
 * Entry points: main (cmocka). The tests share one cluster (group setup) and each works in a
 * directory of its own; the last one syncs, stops VFS cleanly (which unmounts everything) and
 * runs `fsck.minix -f` on the images.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "vfscalls.h"

#define S_T(x) PLEXUS__VFS_TYPE__##x

/* Major 7 is the second disk (test_mounts mounts it through a block special file). */
static const char *const s_vfs_args[] = {"--dmap", "7=disk2", NULL};

static const fscluster_opts s_opts = {.cluster = "vfs-calls",
                                      .vfs_args = s_vfs_args,
                                      .services = (1u << FSCLUSTER_DISK) | (1u << FSCLUSTER_TTY) |
                                                  (1u << FSCLUSTER_LOG) | (1u << FSCLUSTER_PFS) |
                                                  (1u << FSCLUSTER_MFS) | (1u << FSCLUSTER_VFS)};

static int s_failed;

static int group_setup(void **state)
{
	return fscluster_setup(state, &s_opts);
}

static int group_teardown(void **state)
{
	fscluster *f = *state;
	if (f)
		f->passed = s_failed == 0;
	vc_clients_drop();
	return fscluster_teardown(state);
}

/* Every test: counts itself failed until it reaches its end. */
static int test_setup(void **state)
{
	(void)state;
	s_failed++;
	return 0;
}

static int test_teardown(void **state)
{
	(void)state;
	return 0;
}

#define PASSED() s_failed--

/* Reads the whole of fd from its position (at most size bytes). */
static ssize_t s_read_all(fsclient *c, int fd, char *buf, size_t size)
{
	size_t total = 0;
	while (total < size) {
		ssize_t n = fsc_read(c, fd, buf + total, size - total, FSC_WAIT_MS);
		if (n < 0)
			return n;
		if (n == 0)
			break;
		total += (size_t)n;
	}
	return (ssize_t)total;
}

static void test_files(void **state)
{
	fscluster *f = *state;
	fsclient *c = vc_client(f, "files");
	assert_int_equal(vc_mkdir(c, "/files", 0755), 0);
	/* create, write, seek, read */
	int fd = fsc_open(c, "/files/a", O_CREAT | O_RDWR, 0644);
	assert_true(fd >= 0);
	assert_int_equal(fsc_write(c, fd, "hello, world", 12, FSC_WAIT_MS), 12);
	assert_int_equal(vc_lseek(c, fd, 0, SEEK_CUR), 12);
	assert_int_equal(vc_lseek(c, fd, 7, SEEK_SET), 7);
	char buf[64] = {0};
	assert_int_equal(fsc_read(c, fd, buf, sizeof buf, FSC_WAIT_MS), 5);
	assert_memory_equal(buf, "world", 5);
	assert_int_equal(fsc_read(c, fd, buf, sizeof buf, FSC_WAIT_MS), 0); /* end of file */
	assert_int_equal(vc_lseek(c, fd, -2, SEEK_END), 10);
	assert_int_equal(vc_lseek(c, fd, -20, SEEK_END), -EINVAL);
	assert_int_equal(vc_lseek(c, fd, 0, 42), -EINVAL);
	/* pread/pwrite leave the position alone */
	assert_int_equal(vc_pwrite(c, fd, "HELLO", 5, 0), 5);
	assert_int_equal(vc_pread(c, fd, buf, 5, 0), 5);
	assert_memory_equal(buf, "HELLO", 5);
	assert_int_equal(vc_lseek(c, fd, 0, SEEK_CUR), 10);
	assert_int_equal(vc_pread(c, fd, buf, 5, -1), -EINVAL);
	/* a hole past the end reads as zeros */
	assert_int_equal(vc_pwrite(c, fd, "Z", 1, 100), 1);
	uint64_t size;
	uint32_t mode;
	assert_int_equal(fsc_fstat(c, fd, &size, &mode), 0);
	assert_int_equal(size, 101);
	assert_true(S_ISREG(mode));
	assert_int_equal(mode & 07777, 0644 & ~022);
	assert_int_equal(vc_pread(c, fd, buf, 10, 50), 10);
	for (int i = 0; i < 10; i++)
		assert_int_equal(buf[i], 0);
	assert_int_equal(fsc_fsync(c, fd), 0);
	assert_int_equal(fsc_close(c, fd), 0);
	assert_int_equal(fsc_close(c, fd), -EBADF);
	assert_int_equal(fsc_read(c, fd, buf, 1, FSC_WAIT_MS), -EBADF);
	assert_int_equal(fsc_close(c, -1), -EBADF);
	/* O_EXCL, O_TRUNC, O_APPEND */
	assert_int_equal(fsc_open(c, "/files/a", O_CREAT | O_EXCL | O_WRONLY, 0644), -EEXIST);
	fd = fsc_open(c, "/files/a", O_WRONLY | O_APPEND | O_TRUNC, 0);
	assert_true(fd >= 0);
	assert_int_equal(fsc_write(c, fd, "one", 3, FSC_WAIT_MS), 3);
	assert_int_equal(vc_lseek(c, fd, 0, SEEK_SET), 0);
	assert_int_equal(fsc_write(c, fd, "two", 3, FSC_WAIT_MS), 3);   /* appended anyway */
	assert_int_equal(fsc_read(c, fd, buf, 1, FSC_WAIT_MS), -EBADF); /* write only */
	assert_int_equal(fsc_close(c, fd), 0);
	fd = fsc_open(c, "/files/a", O_RDONLY, 0);
	assert_int_equal(s_read_all(c, fd, buf, sizeof buf), 6);
	assert_memory_equal(buf, "onetwo", 6);
	assert_int_equal(fsc_write(c, fd, "x", 1, FSC_WAIT_MS), -EBADF); /* read only */
	assert_int_equal(vc_ftruncate(c, fd, 0), -EINVAL);
	assert_int_equal(fsc_close(c, fd), 0);
	/* open errors */
	assert_int_equal(fsc_open(c, "/files/missing", O_RDONLY, 0), -ENOENT);
	assert_int_equal(fsc_open(c, "/nowhere/x", O_CREAT | O_WRONLY, 0644), -ENOENT);
	assert_int_equal(fsc_open(c, "/files", O_WRONLY, 0), -EISDIR);
	assert_int_equal(fsc_open(c, "/files/a", O_RDONLY | O_DIRECTORY, 0), -ENOTDIR);
	assert_int_equal(fsc_open(c, "/files/a/b", O_RDONLY, 0), -ENOTDIR);
	assert_int_equal(fsc_open(c, "/files/a/", O_RDONLY, 0), -ENOTDIR);
	assert_int_equal(fsc_open(c, "/files/a", O_RDWR | O_WRONLY, 0), -EINVAL);
	/* truncate / ftruncate */
	assert_int_equal(vc_truncate(c, "/files/a", 2), 0);
	Plexus__FsAttr st;
	assert_int_equal(vc_stat(c, "/files/a", &st), 0);
	assert_int_equal(st.size, 2);
	assert_int_equal(vc_truncate(c, "/files", 0), -EISDIR);
	assert_int_equal(vc_truncate(c, "/files/a", -1), -EINVAL);
	assert_int_equal(vc_truncate(c, "/files/none", 0), -ENOENT);
	fd = fsc_open(c, "/files/a", O_RDWR, 0);
	assert_int_equal(vc_ftruncate(c, fd, 5000), 0);
	assert_int_equal(fsc_fstat(c, fd, &size, NULL), 0);
	assert_int_equal(size, 5000);
	assert_int_equal(fsc_close(c, fd), 0);
	/* a large file goes through in pieces and comes back the same */
	size_t big = 3 * 1024 * 1024 + 123;
	char *data = malloc(big), *back = malloc(big);
	for (size_t i = 0; i < big; i++)
		data[i] = (char)(i * 7 + i / 4096);
	assert_int_equal(vc_put_file(c, "/files/big", 0600, data, big), 0);
	fd = fsc_open(c, "/files/big", O_RDONLY, 0);
	assert_int_equal(s_read_all(c, fd, back, big), big);
	assert_memory_equal(data, back, big);
	assert_int_equal(fsc_close(c, fd), 0);
	free(data);
	free(back);
	/* an unlinked file stays readable while open */
	assert_int_equal(vc_put_file(c, "/files/gone", 0644, "still here", 10), 0);
	fd = fsc_open(c, "/files/gone", O_RDONLY, 0);
	assert_int_equal(fsc_unlink(c, "/files/gone"), 0);
	assert_int_equal(vc_stat(c, "/files/gone", NULL), -ENOENT);
	assert_int_equal(s_read_all(c, fd, buf, sizeof buf), 10);
	assert_memory_equal(buf, "still here", 10);
	assert_int_equal(fsc_close(c, fd), 0);
	/* creat's mode goes through the umask */
	assert_int_equal(vc_umask(c, 077), 022);
	assert_int_equal(vc_put_file(c, "/files/masked", 0666, "", 0), 0);
	assert_int_equal(vc_stat(c, "/files/masked", &st), 0);
	assert_int_equal(st.mode & 0777, 0600);
	assert_int_equal(vc_umask(c, 022), 077);
	vc_client_destroy(&c, true);
	PASSED();
}

static void test_dirs(void **state)
{
	fscluster *f = *state;
	fsclient *c = vc_client(f, "dirs");
	assert_int_equal(vc_mkdir(c, "/dirs", 0755), 0);
	assert_int_equal(vc_mkdir(c, "/dirs", 0755), -EEXIST);
	assert_int_equal(vc_mkdir(c, "/", 0755), -EEXIST);
	assert_int_equal(vc_mkdir(c, "/dirs/x/y", 0755), -ENOENT);
	assert_int_equal(vc_put_file(c, "/dirs/file", 0644, "f", 1), 0);
	assert_int_equal(vc_mkdir(c, "/dirs/file/sub", 0755), -ENOTDIR);
	Plexus__FsAttr st;
	assert_int_equal(vc_stat(c, "/dirs", &st), 0);
	assert_true(S_ISDIR(st.mode));
	assert_int_equal(st.mode & 0777, 0755);
	assert_int_equal(st.nlink, 2);
	/* 100 entries listed through a small buffer, in several rounds */
	char path[64];
	for (int i = 0; i < 100; i++) {
		snprintf(path, sizeof path, "/dirs/f%03d", i);
		assert_int_equal(vc_put_file(c, path, 0644, NULL, 0), 0);
	}
	char *names = NULL;
	assert_int_equal(vc_list(c, "/dirs", 64, &names), 100 + 3); /* ., .., file */
	for (int i = 0; i < 100; i++) {
		snprintf(path, sizeof path, "\nf%03d\n", i);
		assert_non_null(strstr(names, path));
	}
	assert_non_null(strstr(names, ".\n"));
	assert_non_null(strstr(names, "..\n"));
	free(names);
	/* getdents on a file */
	int fd = fsc_open(c, "/dirs/file", O_RDONLY, 0);
	Plexus__VfsFd q = PLEXUS__VFS_FD__INIT;
	q.fd = fd;
	q.size = 4096;
	assert_int_equal(vc_fd(c, S_T(VFS_GETDENTS), &q, NULL, 0, NULL), -ENOTDIR);
	assert_int_equal(fsc_close(c, fd), 0);
	/* reading a directory */
	fd = fsc_open(c, "/dirs", O_RDONLY, 0);
	char buf[8];
	assert_int_equal(fsc_read(c, fd, buf, sizeof buf, FSC_WAIT_MS), -EISDIR);
	assert_int_equal(fsc_close(c, fd), 0);
	/* rmdir and unlink on the wrong type */
	assert_int_equal(vc_rmdir(c, "/dirs"), -ENOTEMPTY);
	assert_int_equal(vc_rmdir(c, "/dirs/file"), -ENOTDIR);
	assert_int_equal(fsc_unlink(c, "/dirs"), -EISDIR);
	assert_int_equal(vc_rmdir(c, "/dirs/."), -EINVAL);
	assert_int_equal(vc_rmdir(c, "/"), -EBUSY);
	assert_int_equal(vc_rmdir(c, "/dirs/none"), -ENOENT);
	/* working directory: relative paths, "..", getcwd */
	assert_int_equal(vc_mkdir(c, "/dirs/sub", 0700), 0);
	assert_int_equal(vc_chdir(c, "/dirs/sub"), 0);
	char cwd[256];
	assert_int_equal(vc_getcwd(c, cwd, sizeof cwd), 0);
	assert_string_equal(cwd, "/dirs/sub");
	assert_int_equal(vc_put_file(c, "rel", 0644, "r", 1), 0);
	assert_int_equal(vc_stat(c, "/dirs/sub/rel", NULL), 0);
	assert_int_equal(vc_stat(c, "../file", NULL), 0);
	assert_int_equal(vc_stat(c, "./../sub/./rel", NULL), 0);
	assert_int_equal(vc_stat(c, "/../../dirs", NULL), 0); /* ".." at "/" stays */
	assert_int_equal(vc_chdir(c, ".."), 0);
	assert_int_equal(vc_getcwd(c, cwd, sizeof cwd), 0);
	assert_string_equal(cwd, "/dirs");
	assert_int_equal(vc_chdir(c, "file"), -ENOTDIR);
	assert_int_equal(vc_chdir(c, "none"), -ENOENT);
	fd = fsc_open(c, "sub", O_RDONLY | O_DIRECTORY, 0);
	assert_true(fd >= 0);
	/* VFS_PS: this client, its cwd and the file as an absolute path */
	Plexus__VfsReply *r = NULL;
	assert_int_equal(vc_ps(c, &r), 0);
	int found = 0;
	for (size_t i = 0; i < r->n_procs; i++) {
		Plexus__VfsProc *p = r->procs[i];
		if (strcmp(p->name, "dirs") != 0)
			continue;
		found++;
		assert_string_equal(p->cwd, "/dirs");
		assert_int_equal(p->n_files, 1);
		assert_int_equal(p->files[0]->fd, fd);
		assert_string_equal(p->files[0]->path, "/dirs/sub");
		assert_int_equal(p->files[0]->flags & O_ACCMODE, O_RDONLY);
	}
	assert_int_equal(found, 1);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	Plexus__VfsFd qd = PLEXUS__VFS_FD__INIT;
	qd.fd = fd;
	assert_int_equal(vc_fd(c, S_T(VFS_FCHDIR), &qd, NULL, 0, NULL), 0);
	assert_int_equal(vc_stat(c, "rel", NULL), 0);
	assert_int_equal(fsc_close(c, fd), 0);
	assert_int_equal(vc_chdir(c, "/"), 0);
	assert_int_equal(fsc_unlink(c, "/dirs/sub/rel"), 0);
	assert_int_equal(vc_rmdir(c, "/dirs/sub/"), 0);
	assert_int_equal(vc_stat(c, "/dirs/sub", NULL), -ENOENT);
	/* empty path */
	assert_int_equal(vc_stat(c, "", NULL), -ENOENT);
	vc_client_destroy(&c, true);
	PASSED();
}

static void test_names(void **state)
{
	fscluster *f = *state;
	fsclient *c = vc_client(f, "names");
	assert_int_equal(vc_mkdir(c, "/names", 0755), 0);
	assert_int_equal(vc_mkdir(c, "/names/d1", 0755), 0);
	assert_int_equal(vc_mkdir(c, "/names/d1/d2", 0755), 0);
	assert_int_equal(vc_put_file(c, "/names/a", 0644, "A", 1), 0);
	assert_int_equal(vc_put_file(c, "/names/b", 0644, "BB", 2), 0);
	/* rename */
	assert_int_equal(vc_rename(c, "/names/a", "/names/c"), 0);
	assert_int_equal(vc_stat(c, "/names/a", NULL), -ENOENT);
	assert_int_equal(vc_rename(c, "/names/c", "/names/b"), 0); /* replaces b */
	Plexus__FsAttr st;
	assert_int_equal(vc_stat(c, "/names/b", &st), 0);
	assert_int_equal(st.size, 1);
	assert_int_equal(vc_rename(c, "/names/b", "/names/b"), 0);
	assert_int_equal(vc_rename(c, "/names/none", "/names/x"), -ENOENT);
	assert_int_equal(vc_rename(c, "/names/d1", "/names/d1/d2/d3"), -EINVAL);
	assert_int_equal(vc_rename(c, "/names/d1", "/names/d1/inside"), -EINVAL);
	assert_int_equal(vc_rename(c, "/names/d1", "/names/b"), -ENOTDIR);
	assert_int_equal(vc_rename(c, "/names/b", "/names/d1"), -EISDIR);
	assert_int_equal(vc_mkdir(c, "/names/full", 0755), 0);
	assert_int_equal(vc_put_file(c, "/names/full/x", 0644, NULL, 0), 0);
	assert_int_equal(vc_rename(c, "/names/d1", "/names/full"), -ENOTEMPTY);
	assert_int_equal(vc_rename(c, "/names/d1/d2", "/names/d2"), 0); /* a directory moves */
	assert_int_equal(vc_stat(c, "/names/d2/..", &st), 0);
	Plexus__FsAttr top;
	assert_int_equal(vc_stat(c, "/names", &top), 0);
	assert_int_equal(st.ino, top.ino);
	/* hard links */
	assert_int_equal(vc_link(c, "/names/b", "/names/b2"), 0);
	assert_int_equal(vc_stat(c, "/names/b2", &st), 0);
	assert_int_equal(st.nlink, 2);
	assert_int_equal(vc_link(c, "/names/b", "/names/b2"), -EEXIST);
	assert_int_equal(vc_link(c, "/names/d1", "/names/d1link"), -EPERM);
	assert_int_equal(vc_link(c, "/names/none", "/names/l"), -ENOENT);
	/* symbolic links */
	assert_int_equal(vc_symlink(c, "b", "/names/sl"), 0);
	assert_int_equal(vc_symlink(c, "b", "/names/sl"), -EEXIST);
	char target[256];
	assert_int_equal(vc_readlink(c, "/names/sl", target, sizeof target), 0);
	assert_string_equal(target, "b");
	assert_int_equal(vc_readlink(c, "/names/b", target, sizeof target), -EINVAL);
	assert_int_equal(vc_stat(c, "/names/sl", &st), 0);
	assert_true(S_ISREG(st.mode));
	assert_int_equal(vc_lstat(c, "/names/sl", &st), 0);
	assert_true(S_ISLNK(st.mode));
	assert_int_equal(vc_symlink(c, "/names/d1", "/names/abs"), 0);
	assert_int_equal(vc_put_file(c, "/names/abs/through", 0644, "t", 1), 0);
	assert_int_equal(vc_stat(c, "/names/d1/through", NULL), 0);
	int fd = fsc_open(c, "/names/sl", O_RDONLY | O_NOFOLLOW, 0);
	assert_int_equal(fd, -ELOOP);
	assert_int_equal(vc_symlink(c, "", "/names/empty"), -ENOENT);
	/* loops */
	assert_int_equal(vc_symlink(c, "loop2", "/names/loop1"), 0);
	assert_int_equal(vc_symlink(c, "loop1", "/names/loop2"), 0);
	assert_int_equal(vc_stat(c, "/names/loop1", NULL), -ELOOP);
	assert_int_equal(fsc_open(c, "/names/loop1/x", O_RDONLY, 0), -ELOOP);
	assert_int_equal(vc_lstat(c, "/names/loop1", NULL), 0);
	/* a dangling link */
	assert_int_equal(vc_symlink(c, "nothing", "/names/dangling"), 0);
	assert_int_equal(vc_stat(c, "/names/dangling", NULL), -ENOENT);
	/* O_CREAT through it: O_EXCL refuses the link; without it the target is made (relative to
	 * the link's directory), also through a second dangling link and an absolute one, but not
	 * in a directory that does not exist */
	assert_int_equal(fsc_open(c, "/names/dangling", O_WRONLY | O_CREAT | O_EXCL, 0644),
	                 -EEXIST);
	assert_int_equal(vc_stat(c, "/names/nothing", NULL), -ENOENT);
	fd = fsc_open(c, "/names/dangling", O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(fsc_close(c, fd), 0);
	assert_int_equal(vc_stat(c, "/names/nothing", &st), 0);
	assert_true(S_ISREG(st.mode));
	assert_int_equal(vc_symlink(c, "chain2", "/names/chain1"), 0);
	assert_int_equal(vc_symlink(c, "/names/d1/chained", "/names/chain2"), 0);
	fd = fsc_open(c, "/names/chain1", O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fsc_close(c, fd), 0);
	assert_int_equal(vc_stat(c, "/names/d1/chained", &st), 0);
	assert_int_equal(vc_symlink(c, "nodir/file", "/names/nodirlink"), 0);
	assert_int_equal(fsc_open(c, "/names/nodirlink", O_WRONLY | O_CREAT, 0644), -ENOENT);
	assert_int_equal(fsc_open(c, "/names/loop1", O_WRONLY | O_CREAT, 0644), -ELOOP);
	/* unlink takes the link, not its target */
	assert_int_equal(fsc_unlink(c, "/names/sl"), 0);
	assert_int_equal(vc_stat(c, "/names/b", NULL), 0);
	/* names VFS resolved before (its name cache) follow every change, whoever makes it */
	fsclient *o = vc_client(f, "names-other");
	Plexus__FsAttr a1, a2;
	assert_int_equal(vc_mkdir(c, "/names/dc", 0755), 0);
	assert_int_equal(vc_put_file(c, "/names/dc/x", 0644, "old", 3), 0);
	assert_int_equal(vc_stat(c, "/names/dc/x", &a1), 0);
	assert_int_equal(fsc_unlink(o, "/names/dc/x"), 0);
	assert_int_equal(vc_stat(c, "/names/dc/x", NULL), -ENOENT);
	assert_int_equal(vc_put_file(o, "/names/dc/x", 0644, "newer", 5), 0);
	assert_int_equal(vc_stat(c, "/names/dc/x", &a2), 0);
	assert_int_equal(a2.size, 5);
	assert_int_equal(vc_mkdir(c, "/names/dc/d", 0755), 0);
	assert_int_equal(vc_put_file(c, "/names/dc/d/f", 0644, "f", 1), 0);
	assert_int_equal(vc_stat(c, "/names/dc/d/f", NULL), 0);
	assert_int_equal(vc_rename(o, "/names/dc/d", "/names/dc/e"), 0);
	assert_int_equal(vc_stat(c, "/names/dc/d/f", NULL), -ENOENT);
	assert_int_equal(vc_stat(c, "/names/dc/e/f", NULL), 0);
	assert_int_equal(fsc_unlink(o, "/names/dc/e/f"), 0);
	assert_int_equal(vc_rmdir(o, "/names/dc/e"), 0);
	assert_int_equal(vc_stat(c, "/names/dc/e", NULL), -ENOENT);
	assert_int_equal(vc_mkdir(o, "/names/dc/e", 0700), 0);
	assert_int_equal(vc_stat(c, "/names/dc/e", &a1), 0);
	assert_int_equal(a1.mode & 0777, 0700);
	assert_int_equal(vc_link(o, "/names/dc/x", "/names/dc/y"), 0);
	assert_int_equal(vc_rename(o, "/names/dc/x", "/names/dc/y"), 0); /* same file: a no-op */
	assert_int_equal(vc_stat(c, "/names/dc/x", NULL), 0);
	assert_int_equal(vc_put_file(o, "/names/dc/z", 0644, "zz", 2), 0);
	assert_int_equal(vc_rename(o, "/names/dc/z", "/names/dc/x"), 0);
	assert_int_equal(vc_stat(c, "/names/dc/x", &a1), 0);
	assert_int_equal(a1.size, 2);
	assert_int_equal(vc_stat(c, "/names/dc/z", NULL), -ENOENT);
	vc_client_destroy(&o, true);
	/* names too long */
	char name[300];
	memset(name, 'n', 257);
	name[0] = '/';
	name[257] = '\0'; /* a component of 256 bytes */
	assert_int_equal(vc_stat(c, name, NULL), -ENAMETOOLONG);
	assert_int_equal(vc_mkdir(c, name, 0755), -ENAMETOOLONG);
	char *longpath = malloc(5000);
	for (int i = 0; i < 4999; i += 2)
		longpath[i] = '/', longpath[i + 1] = 'a';
	longpath[4999] = '\0';
	assert_int_equal(vc_stat(c, longpath, NULL), -ENAMETOOLONG);
	free(longpath);
	vc_client_destroy(&c, true);
	PASSED();
}

static void test_perms(void **state)
{
	fscluster *f = *state;
	fsclient *root = vc_client(f, "perms-root");
	fsclient *u = vc_client(f, "perms-user");
	assert_int_equal(vc_mkdir(root, "/perms", 0755), 0);
	assert_int_equal(vc_put_file(root, "/perms/secret", 0600, "s", 1), 0);
	assert_int_equal(vc_put_file(root, "/perms/public", 0644, "p", 1), 0);
	assert_int_equal(vc_mkdir(root, "/perms/closed", 0700), 0);
	assert_int_equal(vc_put_file(root, "/perms/closed/inner", 0644, "i", 1), 0);
	assert_int_equal(vc_mkdir(root, "/perms/tmp", 01777), 0);
	assert_int_equal(vc_chmod(root, "/perms/tmp", 01777), 0); /* past the umask */
	uint32_t groups[] = {200};
	assert_int_equal(vc_register(u, 1000, 100, groups, 1), 0);
	/* read, write, search, create */
	assert_int_equal(fsc_open(u, "/perms/secret", O_RDONLY, 0), -EACCES);
	assert_int_equal(fsc_open(u, "/perms/public", O_WRONLY, 0), -EACCES);
	int fd = fsc_open(u, "/perms/public", O_RDONLY, 0);
	assert_true(fd >= 0);
	assert_int_equal(fsc_close(u, fd), 0);
	assert_int_equal(vc_stat(u, "/perms/closed/inner", NULL), -EACCES);
	assert_int_equal(vc_put_file(u, "/perms/new", 0644, NULL, 0), -EACCES);
	assert_int_equal(vc_mkdir(u, "/perms/newdir", 0755), -EACCES);
	assert_int_equal(fsc_unlink(u, "/perms/public"), -EACCES);
	assert_int_equal(vc_chdir(u, "/perms/closed"), -EACCES);
	/* access with the real ids */
	assert_int_equal(vc_access(u, "/perms/public", R_OK), 0);
	assert_int_equal(vc_access(u, "/perms/public", W_OK), -EACCES);
	assert_int_equal(vc_access(u, "/perms/public", X_OK), -EACCES);
	assert_int_equal(vc_access(u, "/perms/none", F_OK), -ENOENT);
	assert_int_equal(vc_access(root, "/perms/secret", R_OK | W_OK), 0);
	assert_int_equal(vc_access(root, "/perms/secret", X_OK), -EACCES); /* root needs an x */
	/* group and supplementary group */
	assert_int_equal(vc_chown(root, "/perms/secret", -1, 200, 0), 0);
	assert_int_equal(vc_chmod(root, "/perms/secret", 0640), 0);
	fd = fsc_open(u, "/perms/secret", O_RDONLY, 0);
	assert_true(fd >= 0);
	assert_int_equal(fsc_close(u, fd), 0);
	/* chmod and chown need ownership */
	assert_int_equal(vc_chmod(u, "/perms/public", 0777), -EPERM);
	assert_int_equal(vc_chown(u, "/perms/public", 1000, -1, 0), -EPERM);
	assert_int_equal(vc_put_file(u, "/perms/tmp/mine", 0644, "m", 1), 0);
	Plexus__FsAttr st;
	assert_int_equal(vc_stat(u, "/perms/tmp/mine", &st), 0);
	assert_int_equal(st.uid, 1000);
	assert_int_equal(st.gid, 100);
	assert_int_equal(vc_chmod(u, "/perms/tmp/mine", 0600), 0);
	assert_int_equal(vc_chown(u, "/perms/tmp/mine", -1, 200, 0), 0); /* a group of its own */
	assert_int_equal(vc_chown(u, "/perms/tmp/mine", -1, 300, 0), -EPERM);
	assert_int_equal(vc_chown(u, "/perms/tmp/mine", 0, -1, 0), -EPERM);
	/* utimens: explicit times need ownership, "now" write permission */
	int64_t times[4] = {1000, 0, 2000, 0};
	assert_int_equal(vc_utimens(u, "/perms/public", times, 0), -EPERM);
	assert_int_equal(vc_utimens(u, "/perms/public", NULL, 0), -EACCES);
	assert_int_equal(vc_utimens(u, "/perms/tmp/mine", times, 0), 0);
	assert_int_equal(vc_stat(u, "/perms/tmp/mine", &st), 0);
	assert_int_equal(st.atime_sec, 1000);
	assert_int_equal(st.mtime_sec, 2000);
	int64_t omit[4] = {0, UTIME_OMIT, 3000, 0};
	assert_int_equal(vc_utimens(u, "/perms/tmp/mine", omit, 0), 0);
	assert_int_equal(vc_stat(u, "/perms/tmp/mine", &st), 0);
	assert_int_equal(st.atime_sec, 1000);
	assert_int_equal(st.mtime_sec, 3000);
	int64_t bad[4] = {0, 2000000000, 0, 0};
	assert_int_equal(vc_utimens(u, "/perms/tmp/mine", bad, 0), -EINVAL);
	/* the sticky directory: only the owner removes or renames */
	assert_int_equal(vc_put_file(root, "/perms/tmp/roots", 0666, NULL, 0), 0);
	assert_int_equal(fsc_unlink(u, "/perms/tmp/roots"), -EPERM);
	assert_int_equal(vc_rename(u, "/perms/tmp/roots", "/perms/tmp/stolen"), -EPERM);
	assert_int_equal(fsc_unlink(u, "/perms/tmp/mine"), 0);
	assert_int_equal(fsc_unlink(root, "/perms/tmp/roots"), 0);
	/* root is not stopped by the bits */
	assert_int_equal(vc_chmod(root, "/perms/closed", 0), 0);
	assert_int_equal(vc_stat(root, "/perms/closed/inner", NULL), 0);
	/* the descriptor forms: fchmod, fchown, futimens, fstatvfs */
	int fdm = fsc_open(root, "/perms/public", O_RDONLY, 0);
	assert_true(fdm >= 0);
	Plexus__VfsFd q = PLEXUS__VFS_FD__INIT;
	q.fd = fdm;
	q.arg = 0604;
	assert_int_equal(vc_fd(root, S_T(VFS_FCHMOD), &q, NULL, 0, NULL), 0);
	q.uid = 1000;
	q.gid = 100;
	assert_int_equal(vc_fd(root, S_T(VFS_FCHOWN), &q, NULL, 0, NULL), 0);
	Plexus__VfsTimes vt = PLEXUS__VFS_TIMES__INIT;
	vt.atime_sec = 111;
	vt.mtime_sec = 222;
	q.times = &vt;
	assert_int_equal(vc_fd(root, S_T(VFS_FUTIMENS), &q, NULL, 0, NULL), 0);
	assert_int_equal(vc_stat(root, "/perms/public", &st), 0);
	assert_int_equal(st.mode & 07777, 0604);
	assert_int_equal(st.uid, 1000);
	assert_int_equal(st.gid, 100);
	assert_int_equal(st.atime_sec, 111);
	assert_int_equal(st.mtime_sec, 222);
	Plexus__VfsReply *r = NULL;
	assert_true(vc_fd(root, S_T(VFS_FSTATVFS), &q, NULL, 0, &r) >= 0);
	assert_non_null(r->statvfs);
	assert_true(r->statvfs->blocks > 0);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	q.fd = 99;
	assert_int_equal(vc_fd(root, S_T(VFS_FCHMOD), &q, NULL, 0, NULL), -EBADF);
	assert_int_equal(fsc_close(root, fdm), 0);
	/* lchown changes the link, chown its target */
	assert_int_equal(vc_symlink(root, "public", "/perms/ln"), 0);
	assert_int_equal(vc_chown(root, "/perms/ln", 7, 7, PLEXUS__VFS_FLAG__VFS_NOFOLLOW), 0);
	assert_int_equal(vc_lstat(root, "/perms/ln", &st), 0);
	assert_int_equal(st.uid, 7);
	assert_int_equal(vc_stat(root, "/perms/ln", &st), 0);
	assert_int_equal(st.uid, 1000);
	/* mknod: devices are root's, the type must be one */
	assert_int_equal(fsc_mknod(u, "/perms/tmp/dev", S_IFCHR | 0600, makedev(4, 1)), -EPERM);
	assert_int_equal(fsc_mknod(root, "/perms/dev", S_IFCHR | 0600, makedev(4, 1)), 0);
	assert_int_equal(fsc_mknod(root, "/perms/dev", S_IFCHR | 0600, makedev(4, 1)), -EEXIST);
	assert_int_equal(fsc_mknod(root, "/perms/bad", S_IFDIR | 0755, 0), -EINVAL);
	assert_int_equal(vc_lstat(root, "/perms/dev", &st), 0);
	assert_true(S_ISCHR(st.mode));
	assert_int_equal(st.rdev, makedev(4, 1));
	/* mount and umount are root's */
	assert_int_equal(vc_mount(u, "", "/perms", "mfs2"), -EPERM);
	assert_int_equal(vc_umount(u, "/"), -EPERM);
	vc_client_destroy(&u, true);
	vc_client_destroy(&root, true);
	PASSED();
}

static void test_fds(void **state)
{
	fscluster *f = *state;
	fsclient *c = vc_client(f, "fds");
	assert_int_equal(vc_mkdir(c, "/fds", 0755), 0);
	assert_int_equal(vc_put_file(c, "/fds/f", 0644, "0123456789", 10), 0);
	int fd = fsc_open(c, "/fds/f", O_RDWR, 0);
	assert_int_equal(fd, 0); /* the lowest free slot */
	int d = vc_dup(c, fd);
	assert_int_equal(d, 1);
	/* a duplicate shares the position */
	char buf[8];
	assert_int_equal(fsc_read(c, fd, buf, 3, FSC_WAIT_MS), 3);
	assert_int_equal(vc_lseek(c, d, 0, SEEK_CUR), 3);
	assert_int_equal(vc_dup2(c, fd, 7, 0), 7);
	assert_int_equal(vc_lseek(c, 7, 0, SEEK_CUR), 3);
	assert_int_equal(vc_dup2(c, fd, fd, 0), fd);
	assert_int_equal(vc_dup2(c, 55, 8, 0), -EBADF);
	assert_int_equal(vc_dup2(c, fd, -1, 0), -EBADF);
	assert_int_equal(vc_dup2(c, fd, 100000, 0), -EBADF);
	assert_int_equal(vc_dup(c, 99), -EBADF);
	/* dup2 onto an open slot closes it first */
	int other = fsc_open(c, "/fds/f", O_RDONLY, 0);
	assert_int_equal(other, 2);
	assert_int_equal(vc_dup2(c, fd, other, 0), other);
	assert_int_equal(vc_lseek(c, other, 0, SEEK_CUR), 3);
	/* fcntl */
	assert_int_equal(fsc_fcntl(c, fd, F_DUPFD, 20), 20);
	assert_int_equal(fsc_fcntl(c, fd, F_DUPFD_CLOEXEC, 20), 21);
	assert_int_equal(fsc_fcntl(c, 21, F_GETFD, 0), FD_CLOEXEC);
	assert_int_equal(fsc_fcntl(c, 20, F_GETFD, 0), 0);
	assert_int_equal(fsc_fcntl(c, 20, F_SETFD, FD_CLOEXEC), 0);
	assert_int_equal(fsc_fcntl(c, 20, F_GETFD, 0), FD_CLOEXEC);
	assert_int_equal(fsc_fcntl(c, fd, F_GETFL, 0), O_RDWR);
	assert_int_equal(fsc_fcntl(c, fd, F_SETFL, O_APPEND), 0);
	assert_int_equal(fsc_fcntl(c, d, F_GETFL, 0), O_RDWR | O_APPEND); /* shared */
	assert_int_equal(fsc_fcntl(c, 42, F_GETFL, 0), -EBADF);
	assert_int_equal(fsc_fcntl(c, fd, 12345, 0), -EINVAL);
	assert_int_equal(fsc_fcntl(c, fd, F_DUPFD, -1), -EINVAL);
	assert_int_equal(vc_dup2(c, fd, 22, O_CLOEXEC), 22);
	assert_int_equal(fsc_fcntl(c, 22, F_GETFD, 0), FD_CLOEXEC);
	/* exec closes the close-on-exec ones */
	assert_int_equal(vc_exec(c), 0);
	assert_int_equal(fsc_fcntl(c, 20, F_GETFD, 0), -EBADF);
	assert_int_equal(fsc_fcntl(c, 21, F_GETFD, 0), -EBADF);
	assert_int_equal(fsc_fcntl(c, 22, F_GETFD, 0), -EBADF);
	assert_int_equal(fsc_fcntl(c, 7, F_GETFD, 0), 0);
	/* O_CLOEXEC at open */
	int ce = fsc_open(c, "/fds/f", O_RDONLY | O_CLOEXEC, 0);
	assert_int_equal(fsc_fcntl(c, ce, F_GETFD, 0), FD_CLOEXEC);
	/* running out of descriptors */
	int last = 0, rc;
	while ((rc = vc_dup(c, fd)) >= 0)
		last = rc;
	assert_int_equal(rc, -EMFILE);
	assert_int_equal(last, 255);
	vc_client_destroy(&c, true);
	PASSED();
}

/* A second file system: a second disk image and an mfs instance of its own ("mfs2" on node 2,
 * "disk2" on node 3), mounted on /mnt. */
static void s_second_fs(fscluster *f, char *image, size_t size)
{
	snprintf(image, size, "%s/disk2.img", f->d->dir);
	char cmd[1400];
	snprintf(cmd, sizeof cmd, "truncate -s 8M %s && /usr/sbin/mkfs.minix -3 %s >/dev/null",
	         image, image);
	assert_int_equal(system(cmd), 0);
	char *disk[] = {PLEXUS_VDISK_BIN, "--image", image, NULL};
	drvcluster_start_driver(f->d, 3, "disk2", NULL, disk);
	char *mfs[] = {PLEXUS_MFS_BIN, NULL};
	drvcluster_start_driver(f->d, 2, "mfs2", NULL, mfs);
}

static void test_mounts(void **state)
{
	fscluster *f = *state;
	fsclient *c = vc_client(f, "mounts");
	char image[600];
	s_second_fs(f, image, sizeof image);
	assert_int_equal(vc_mkdir(c, "/mnt", 0755), 0);
	assert_int_equal(vc_put_file(c, "/mnt/hidden", 0644, "h", 1), 0);
	assert_int_equal(vc_mount(c, "disk2:0", "/mnt/hidden", "mfs2"), -ENOTDIR);
	assert_int_equal(vc_mount(c, "disk2:0", "/none", "mfs2"), -ENOENT);
	assert_int_equal(vc_mount(c, "disk2:0", "/mnt", "mfs2"), 0);
	assert_int_equal(vc_mount(c, "disk2:0", "/mnt", "mfs2"), -EBUSY);
	assert_int_equal(vc_stat(c, "/mnt/hidden", NULL), -ENOENT); /* covered */
	Plexus__FsAttr root, mnt, sub;
	assert_int_equal(vc_stat(c, "/", &root), 0);
	assert_int_equal(vc_stat(c, "/mnt", &mnt), 0);
	assert_int_not_equal(root.dev, mnt.dev);
	assert_int_equal(mnt.ino, 1); /* the root inode of the mounted file system */
	assert_int_equal(vc_mkdir(c, "/mnt/sub", 0755), 0);
	assert_int_equal(vc_stat(c, "/mnt/sub", &sub), 0);
	assert_int_equal(sub.dev, mnt.dev);
	/* ".." from the mounted root goes back up */
	Plexus__FsAttr up;
	assert_int_equal(vc_stat(c, "/mnt/sub/../..", &up), 0);
	assert_int_equal(up.ino, root.ino);
	assert_int_equal(up.dev, root.dev);
	/* across mounts */
	assert_int_equal(vc_put_file(c, "/mnt/sub/data", 0644, "mounted", 7), 0);
	assert_int_equal(vc_rename(c, "/mnt/sub/data", "/moved"), -EXDEV);
	assert_int_equal(vc_link(c, "/mnt/sub/data", "/linked"), -EXDEV);
	assert_int_equal(vc_rmdir(c, "/mnt"), -EBUSY);
	assert_int_equal(vc_rename(c, "/mnt", "/mnt2"), -EBUSY);
	/* statvfs and the mount table */
	Plexus__FsStatvfs sv;
	assert_int_equal(vc_statvfs(c, "/mnt/sub", &sv), 0);
	assert_true(sv.blocks > 0 && sv.bfree > 0 && sv.bfree <= sv.blocks);
	assert_true(sv.bsize >= 1024);
	Plexus__VfsReply *r = NULL;
	assert_int_equal(vc_mounts(c, &r), 0);
	assert_int_equal(r->n_mounts, 2);
	int seen = 0;
	for (size_t i = 0; i < r->n_mounts; i++) {
		if (strcmp(r->mounts[i]->target, "/mnt") == 0) {
			assert_string_equal(r->mounts[i]->fs, "mfs2");
			assert_string_equal(r->mounts[i]->source, "disk2:0");
			assert_non_null(r->mounts[i]->statvfs);
			seen++;
		}
		if (strcmp(r->mounts[i]->target, "/") == 0)
			seen++;
	}
	assert_int_equal(seen, 2);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	/* busy while a file is open or a cwd is inside */
	int fd = fsc_open(c, "/mnt/sub/data", O_RDONLY, 0);
	assert_int_equal(vc_umount(c, "/mnt"), -EBUSY);
	assert_int_equal(fsc_close(c, fd), 0);
	assert_int_equal(vc_chdir(c, "/mnt/sub"), 0);
	assert_int_equal(vc_umount(c, "/mnt"), -EBUSY);
	assert_int_equal(vc_chdir(c, "/"), 0);
	assert_int_equal(vc_umount(c, "/mnt/sub"), -EINVAL); /* no mount point */
	assert_int_equal(vc_umount(c, "/"), -EBUSY);
	assert_int_equal(vc_umount(c, "/mnt"), 0);
	assert_int_equal(vc_stat(c, "/mnt/hidden", NULL), 0); /* uncovered */
	assert_int_equal(vc_stat(c, "/mnt/sub", NULL), -ENOENT);
	assert_int_equal(vc_umount(c, "/mnt"), -EINVAL);
	/* the file server unmounted cleanly: the image checks */
	char cmd[700];
	snprintf(cmd, sizeof cmd, "/usr/sbin/fsck.minix -f %s >/dev/null 2>&1", image);
	assert_int_equal(system(cmd), 0);
	/* and mounts again with what was written, named by a block special file this time */
	assert_int_equal(vc_mkdir(c, "/dev2", 0755), 0);
	assert_int_equal(fsc_mknod(c, "/dev2/disk2", S_IFBLK | 0600, makedev(7, 0)), 0);
	assert_int_equal(fsc_mknod(c, "/dev2/nodisk", S_IFBLK | 0600, makedev(9, 0)), 0);
	assert_int_equal(vc_mount(c, "/dev2/nodisk", "/mnt", "mfs2"), -ENXIO);
	assert_int_equal(vc_mount(c, "/mnt/hidden", "/mnt", "mfs2"), -ENOTBLK);
	assert_int_equal(vc_mount(c, "/dev2/disk2", "/mnt", "mfs2"), 0);
	fd = fsc_open(c, "/mnt/sub/data", O_RDONLY, 0);
	char buf[16];
	assert_int_equal(fsc_read(c, fd, buf, sizeof buf, FSC_WAIT_MS), 7);
	assert_memory_equal(buf, "mounted", 7);
	assert_int_equal(fsc_close(c, fd), 0);
	assert_int_equal(vc_umount(c, "/mnt"), 0);
	vc_client_destroy(&c, true);
	PASSED();
}

/* Sends signo to the mfs2 instance through node 2's kernel. */
static void s_signal_mfs2(fscluster *f, int signo)
{
	Plexus__NodeSignal sig = PLEXUS__NODE_SIGNAL__INIT;
	sig.label = "mfs2";
	sig.signo = signo;
	assert_int_equal(
	    drvcluster_call(f->d, "node.n2", PLEXUS__NODE_TYPE__NODE_SIGNAL, &sig.base, NULL), 0);
}

typedef struct s_blocked {
	fsclient *c;
	int rc;
	volatile int done;
} s_blocked;

static void *s_blocked_open(void *arg)
{
	s_blocked *b = arg;
	b->rc = fsc_open(b->c, "/mnt/slow", O_RDONLY, 0);
	b->done = 1;
	return NULL;
}

/* A stopped file server stalls only the calls on its files; a dead one makes them -EIO. */
static void test_slow_fs(void **state)
{
	fscluster *f = *state;
	fsclient *c = vc_client(f, "slow");
	fsclient *other = vc_client(f, "slow-other");
	assert_int_equal(vc_mount(c, "disk2:0", "/mnt", "mfs2"), 0);
	assert_int_equal(vc_put_file(c, "/mnt/slow", 0644, "s", 1), 0);
	assert_int_equal(vc_mkdir(c, "/slow", 0755), 0);
	s_signal_mfs2(f, SIGSTOP);
	/* more calls stuck on it than VFS starts workers with (16) */
	enum { S_STUCK = 24 };
	s_blocked b[S_STUCK];
	pthread_t t[S_STUCK];
	for (int i = 0; i < S_STUCK; i++) {
		b[i] = (s_blocked){.c = other};
		assert_int_equal(pthread_create(&t[i], NULL, s_blocked_open, &b[i]), 0);
	}
	/* the root file system keeps answering, call after call */
	char path[64];
	for (int i = 0; i < 20; i++) {
		snprintf(path, sizeof path, "/slow/f%d", i);
		assert_int_equal(vc_put_file(c, path, 0644, path, strlen(path)), 0);
		assert_int_equal(vc_stat(c, path, NULL), 0);
		assert_int_equal(fsc_unlink(c, path), 0);
	}
	for (int i = 0; i < S_STUCK; i++)
		assert_false(b[i].done); /* mfs2 is stopped: none of its calls can have finished */
	s_signal_mfs2(f, SIGCONT);
	for (int i = 0; i < S_STUCK; i++) {
		pthread_join(t[i], NULL);
		assert_true(b[i].rc >= 0);
		assert_int_equal(fsc_close(other, b[i].rc), 0);
	}
	/* killed: its files answer -EIO at once, the rest goes on, and it can be unmounted */
	s_signal_mfs2(f, SIGKILL);
	Plexus__NodeExit *e = drvcluster_expect_exit(f->d, "mfs2");
	assert_non_null(e);
	protobuf_c_message_free_unpacked(&e->base, NULL);
	uint64_t gen;
	for (int64_t end = drvcluster_now_ms() + FSC_WAIT_MS; drvcluster_now_ms() < end;
	     usleep(50 * 1000))
		if (plx_route_lookup(f->d->ctx, "mfs2", &gen, NULL, 0) == -ENOENT)
			break;
	assert_int_equal(vc_stat(c, "/mnt/slow", NULL), -EIO);
	assert_int_equal(vc_stat(c, "/slow", NULL), 0);
	assert_int_equal(vc_umount(c, "/mnt"), 0);
	assert_int_equal(vc_stat(c, "/mnt/hidden", NULL), 0);
	vc_client_destroy(&other, true);
	vc_client_destroy(&c, true);
	PASSED();
}

static void test_unregistered(void **state)
{
	fscluster *f = *state;
	fsclient *c = vc_client(f, "unreg");
	assert_int_equal(
	    fsclient_call(c, S_T(VFS_EXIT), NULL, NULL, 0, NULL, NULL, 0, NULL, FSC_WAIT_MS), 0);
	assert_int_equal(vc_stat(c, "/", NULL), -ESRCH);
	assert_int_equal(fsc_open(c, "/", O_RDONLY, 0), -ESRCH);
	assert_int_equal(vc_register(c, 0, 0, NULL, 0), 0);
	assert_int_equal(vc_stat(c, "/", NULL), 0);
	/* a message type VFS does not know */
	assert_int_equal(fsclient_call(c, S_T(VFS_MOUNTS) + 1000, NULL, NULL, 0, NULL, NULL, 0,
	                               NULL, FSC_WAIT_MS),
	                 -ENOSYS);
	vc_client_destroy(&c, true);
	PASSED();
}

/* Last: sync, stop VFS cleanly (it unmounts), check the root image. */
static void test_fsck(void **state)
{
	fscluster *f = *state;
	fsclient *c = vc_client(f, "fsck");
	assert_int_equal(vc_sync(c), 0);
	vc_client_destroy(&c, true);
	fscluster_kill(f, FSCLUSTER_VFS, SIGTERM);
	fscluster_kill(f, FSCLUSTER_MFS, SIGTERM);
	char *out = NULL;
	int rc = fscluster_fsck(f, &out);
	if (rc != 0)
		print_error("fsck.minix: %s\n", out ? out : "");
	free(out);
	assert_int_equal(rc, 0);
	PASSED();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_files, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_dirs, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_names, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_perms, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_fds, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_mounts, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_slow_fs, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_unregistered, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_fsck, test_setup, test_teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
