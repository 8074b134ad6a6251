/*
 * test-libplexus.c — libplexus against the real thing, on the four-node fixture
 * (vfs/tests/fscluster.h): the program on node 0, plexus-vfs on node 1, plexus-mfs and
 * plexus-pfs on node 2, the disk (plexus-vdisk over a `mkfs.minix -3` image) on node 3.
 *
 * Every call of plexus.h once on its way to success and on its errno paths; reads and writes
 * larger than a chunk; 8 threads on one handle at once; threads closing and opening at once,
 * each descriptor still known to the handle; two handles that VFS sees as two
 * processes (descriptors, working directories, umasks of their own, both in plexus_ps); a
 * client process killed with SIGKILL that VFS forgets once its lease ends; a handle VFS forgot
 * (its record gone) that comes back by itself; calls failing with EHOSTDOWN once VFS is gone.
 * Durability: fsync, fdatasync, syncfs and sync on every kind of file; what they answered 0
 * for still there after plexus-mfs is SIGKILLed and restarted (MFS runs without periodic
 * write-back here); changes it acknowledged and lost reported EIO once per description;
 * descriptors held across that restart reach their own file or fail EIO, never another.
 * Watches: what a caching client is told of other clients' changes (test_watch).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "client.h"
#include "fscluster.h"

/* No periodic write-back: what MFS has not been asked to sync lives only in its cache, so a
 * kill of MFS after an fsync shows what the fsync wrote (test_durability). */
static const char *const s_mfs_args[] = {"--sync-interval-ms", "0", NULL};
static const fscluster_opts s_opts = {
    .cluster = "libplexus", .services = FSCLUSTER_ALL, .mfs_args = s_mfs_args};
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
	return fscluster_teardown(state);
}

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

/* A handle as a program on node 0 makes it. */
static plexus *s_connect(fscluster *f, const char *name)
{
	setenv("PLEXUS_ADDR", netns_node_addr(f->d->c, 0), 1);
	plexus_opts o;
	plexus_opts_init(&o);
	o.etcd = netns_hub_etcd_endpoints(f->d->c);
	o.cluster = f->d->cluster;
	o.node = "n0";
	o.name = name;
	o.timeout_ms = 120000; /* a loaded machine, ASan: the deadline is not what is tested */
	plexus *px = plexus_connect(&o);
	if (!px)
		fail_msg("plexus_connect: %s", strerror(errno));
	return px;
}

/* Expects call to have failed with err. */
#define assert_errno(call, err)                                                                    \
	do {                                                                                       \
		errno = 0;                                                                         \
		assert_int_equal((call), -1);                                                      \
		assert_int_equal(errno, (err));                                                    \
	} while (0)

static void s_put(plexus *px, const char *path, const char *text)
{
	int fd = plexus_open(px, path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(plexus_write(px, fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(plexus_close(px, fd), 0);
}

static void test_files(void **state)
{
	fscluster *f = *state;
	plexus *px = s_connect(f, "files");
	assert_int_equal(plexus_mkdir(px, "/lf", 0755), 0);
	int fd = plexus_open(px, "/lf/a", O_RDWR | O_CREAT | O_EXCL, 0640);
	assert_true(fd >= 0);
	assert_errno(plexus_open(px, "/lf/a", O_RDWR | O_CREAT | O_EXCL, 0640), EEXIST);
	assert_errno(plexus_open(px, "/lf/none", O_RDONLY), ENOENT);
	assert_errno(plexus_open(px, "/lf/a/x", O_RDONLY), ENOTDIR);
	assert_errno(plexus_open(px, "/lf", O_WRONLY), EISDIR);
	assert_int_equal(plexus_write(px, fd, "hello world", 11), 11);
	assert_int_equal(plexus_lseek(px, fd, 0, SEEK_CUR), 11);
	assert_int_equal(plexus_lseek(px, fd, -5, SEEK_END), 6);
	char buf[64] = "";
	assert_int_equal(plexus_read(px, fd, buf, sizeof buf), 5);
	assert_memory_equal(buf, "world", 5);
	assert_int_equal(plexus_read(px, fd, buf, sizeof buf), 0);
	assert_errno(plexus_lseek(px, fd, 0, 99), EINVAL);
	assert_int_equal(plexus_pwrite(px, fd, "HELLO", 5, 0), 5);
	assert_int_equal(plexus_pread(px, fd, buf, 11, 0), 11);
	assert_memory_equal(buf, "HELLO world", 11);
	assert_errno(plexus_pread(px, fd, buf, 1, -1), EINVAL);
	assert_int_equal(plexus_fsync(px, fd), 0);
	assert_int_equal(plexus_sync(px), 0);
	assert_int_equal(plexus_ftruncate(px, fd, 5), 0);
	struct stat st;
	assert_int_equal(plexus_fstat(px, fd, &st), 0);
	assert_int_equal(st.st_size, 5);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(plexus_truncate(px, "/lf/a", 100), 0);
	assert_int_equal(plexus_stat(px, "/lf/a", &st), 0);
	assert_int_equal(st.st_size, 100);
	assert_errno(plexus_truncate(px, "/lf/none", 1), ENOENT);
	size_t out_size = 4;
	assert_errno(plexus_ioctl(px, fd, 0x5401, NULL, 0, buf, &out_size), ENOTTY);
	assert_int_equal(plexus_close(px, fd), 0);
	assert_errno(plexus_close(px, fd), EBADF);
	assert_errno(plexus_read(px, fd, buf, 1), EBADF);
	assert_errno(plexus_write(px, 999, buf, 1), EBADF);
	int rd = plexus_open(px, "/lf/a", O_RDONLY);
	assert_errno(plexus_write(px, rd, "x", 1), EBADF);
	assert_int_equal(plexus_close(px, rd), 0);
	fd = plexus_creat(px, "/lf/a", 0600); /* truncates */
	assert_true(fd >= 0);
	assert_int_equal(plexus_fstat(px, fd, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(plexus_close(px, fd), 0);
	plexus_disconnect(&px);
	PASSED();
}

/* O_CREAT of names VFS's name cache does not hold (each renamed into place, which drops the
 * cached names): VFS tries FS_CREATE first, and an existing file, directory or dangling link
 * must still come out as open(2) says. */
static void test_create_uncached_names(void **state)
{
	fscluster *f = *state;
	plexus *px = s_connect(f, "uncached");
	assert_int_equal(plexus_mkdir(px, "/lu", 0755), 0);
	int fd = plexus_open(px, "/lu/a", O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(plexus_write(px, fd, "keep", 4), 4);
	assert_int_equal(plexus_close(px, fd), 0);
	struct stat before, after;
	assert_int_equal(plexus_stat(px, "/lu/a", &before), 0);
	assert_int_equal(plexus_rename(px, "/lu/a", "/lu/b"), 0);
	fd = plexus_open(px, "/lu/b", O_RDWR | O_CREAT, 0600); /* exists: opened, not truncated */
	assert_true(fd >= 0);
	char buf[8] = "";
	assert_int_equal(plexus_read(px, fd, buf, sizeof buf), 4);
	assert_memory_equal(buf, "keep", 4);
	assert_int_equal(plexus_fstat(px, fd, &after), 0);
	assert_int_equal(after.st_ino, before.st_ino);
	assert_int_equal(after.st_mode & 07777, 0644);
	assert_int_equal(plexus_close(px, fd), 0);
	assert_int_equal(plexus_rename(px, "/lu/b", "/lu/c"), 0);
	assert_errno(plexus_open(px, "/lu/c", O_RDWR | O_CREAT | O_EXCL, 0600), EEXIST);
	assert_int_equal(plexus_mkdir(px, "/lu/d0", 0755), 0);
	assert_int_equal(plexus_rename(px, "/lu/d0", "/lu/d"), 0);
	assert_errno(plexus_open(px, "/lu/d", O_RDWR | O_CREAT, 0600), EISDIR);
	assert_int_equal(plexus_symlink(px, "target", "/lu/l0"), 0);
	assert_int_equal(plexus_rename(px, "/lu/l0", "/lu/l"), 0);
	fd = plexus_open(px, "/lu/l", O_WRONLY | O_CREAT, 0600); /* the link's target is made */
	assert_true(fd >= 0);
	assert_int_equal(plexus_close(px, fd), 0);
	assert_int_equal(plexus_stat(px, "/lu/target", &after), 0);
	assert_true(S_ISREG(after.st_mode));
	assert_int_equal(plexus_symlink(px, "target2", "/lu/m0"), 0);
	assert_int_equal(plexus_rename(px, "/lu/m0", "/lu/m"), 0);
	assert_errno(plexus_open(px, "/lu/m", O_WRONLY | O_CREAT | O_EXCL, 0600), EEXIST);
	assert_errno(plexus_stat(px, "/lu/target2", &after), ENOENT);
	plexus_disconnect(&px);
	PASSED();
}

/* plexus_open_stat gives what fstat gives right after the open: from the open's own answer
 * when VFS had the file server answer for the file in that call (created, truncated, looked up
 * afresh), else by an fstat (a cached name, whose copy in VFS may be old). */
static void test_open_stat(void **state)
{
	fscluster *f = *state;
	plexus *px = s_connect(f, "openstat");
	struct stat st, want;
	int fd = plexus_open_stat(px, "/os", O_RDWR | O_CREAT | O_EXCL, 0640, &st);
	assert_true(fd >= 0);
	assert_int_equal(plexus_fstat(px, fd, &want), 0);
	assert_int_equal(st.st_ino, want.st_ino);
	assert_int_equal(st.st_mode, want.st_mode);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(st.st_nlink, 1);
	assert_int_equal(plexus_write(px, fd, "twelve bytes", 12), 12);
	assert_int_equal(plexus_close(px, fd), 0);
	fd = plexus_open_stat(px, "/os", O_RDONLY, 0, &st); /* a cached name: asked with fstat */
	assert_true(fd >= 0);
	assert_int_equal(st.st_size, 12);
	assert_int_equal(st.st_ino, want.st_ino);
	assert_int_equal(plexus_close(px, fd), 0);
	fd = plexus_open_stat(px, "/os", O_WRONLY | O_TRUNC, 0, &st); /* truncated in the call */
	assert_true(fd >= 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(plexus_close(px, fd), 0);
	assert_int_equal(plexus_rename(px, "/os", "/os2"), 0);
	fd = plexus_open_stat(px, "/os2", O_RDONLY, 0, &st); /* looked up afresh */
	assert_true(fd >= 0);
	assert_int_equal(st.st_ino, want.st_ino);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(plexus_close(px, fd), 0);
	errno = 0;
	assert_int_equal(plexus_open_stat(px, "/none", O_RDONLY, 0, &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(plexus_open_stat(px, "/os2", O_RDONLY, 0, NULL), -1);
	assert_int_equal(errno, EFAULT);
	plexus_disconnect(&px);
	PASSED();
}

/* Bytes that differ at every offset. */
static void s_pattern(uint8_t *buf, size_t size, unsigned seed)
{
	for (size_t i = 0; i < size; i++)
		buf[i] = (uint8_t)((i * 131 + seed) ^ (i >> 9));
}

static void test_large_io(void **state)
{
	fscluster *f = *state;
	plexus *px = s_connect(f, "large");
	plexus__set_chunk_max(px, 100 * 1000); /* not a multiple of any block */
	size_t size = 3 * 1024 * 1024 + 17;
	uint8_t *data = malloc(size), *back = malloc(size);
	s_pattern(data, size, 7);
	int fd = plexus_open(px, "/large", O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(plexus_write(px, fd, data, size), (ssize_t)size);
	assert_int_equal(plexus_pread(px, fd, back, size, 0), (ssize_t)size);
	assert_memory_equal(back, data, size);
	assert_int_equal(plexus_lseek(px, fd, 1000, SEEK_SET), 1000);
	assert_int_equal(plexus_read(px, fd, back, size), (ssize_t)(size - 1000));
	assert_memory_equal(back, data + 1000, size - 1000);
	assert_int_equal(plexus_close(px, fd), 0);
	free(data);
	free(back);
	plexus_disconnect(&px);
	PASSED();
}

/* A change a test waits for: of st's inode, naming name (NULL: naming none). */
typedef struct s_expect {
	const struct stat *st;
	const char *name;
	bool seen;
} s_expect;

/* Polls watch token of px until each of the n changes in want came, or 10 s pass. Returns
 * whether they all came. */
static bool s_told_all(plexus *px, uint64_t token, s_expect *want, int n)
{
	int left = n;
	for (int round = 0; round < 10 && left > 0; round++) {
		plexus_change *c = NULL;
		int lost = 0;
		ssize_t got = plexus_watch_poll(px, token, 1000, &c, &lost);
		assert_true(got >= 0);
		for (ssize_t i = 0; i < got; i++)
			for (int k = 0; k < n; k++)
				if (!want[k].seen && c[i].dev == want[k].st->st_dev &&
				    c[i].ino == want[k].st->st_ino &&
				    (want[k].name
				         ? c[i].name && strcmp(c[i].name, want[k].name) == 0
				         : !c[i].name)) {
					want[k].seen = true;
					left--;
				}
		plexus_changes_free(c, (size_t)got);
	}
	return left == 0;
}

static bool s_told(plexus *px, uint64_t token, const struct stat *st, const char *name)
{
	s_expect want = {st, name, false};
	return s_told_all(px, token, &want, 1);
}

/* Whether a poll of token waiting wait_ms brings nothing. */
static bool s_quiet(plexus *px, uint64_t token, int wait_ms)
{
	plexus_change *c = NULL;
	int lost = 0;
	ssize_t n = plexus_watch_poll(px, token, wait_ms, &c, &lost);
	plexus_changes_free(c, n > 0 ? (size_t)n : 0);
	return n == 0 && !lost;
}

/* Watches: a client that caches is told of other clients' changes to what it looked at — a
 * file written, a name removed — not of its own nor of those of a client that joined its
 * watch; a queue that overflows says so; only the owner polls; the watch goes with its owner
 * and with VFS. */
static void test_watch(void **state)
{
	fscluster *f = *state;
	plexus *a = s_connect(f, "watcher"), *b = s_connect(f, "changer"),
	       *c = s_connect(f, "joiner");
	uint64_t token = 0, again = 0;
	assert_int_equal(plexus_watch_new(a, &token), 0);
	assert_int_equal(plexus_watch_new(a, &again), 0);
	assert_true(token != 0 && again == token); /* one per client */
	assert_int_equal(plexus_mkdir(b, "/w", 0777), 0);
	s_put(b, "/w/f", "one");
	s_put(b, "/w/g", "two");
	struct stat dir, file, other;
	assert_int_equal(plexus_stat(a, "/w", &dir), 0);
	assert_int_equal(plexus_stat(a, "/w/f", &file), 0);
	assert_true(s_quiet(a, token, 0));
	s_put(b, "/w/f", "three"); /* its data and attributes */
	assert_true(s_told(a, token, &file, NULL));
	assert_int_equal(plexus_unlink(b, "/w/f"), 0);
	s_expect unlinked[] = {{&dir, "f", false},    /* a name in a directory it looked in */
	                       {&file, NULL, false}}; /* and the file's link count */
	assert_true(s_told_all(a, token, unlinked, 2));
	s_put(b, "/w/made", "x"); /* a name made where it found none */
	assert_true(s_told(a, token, &dir, "made"));
	/* its own changes, and those of a client that joined its watch, are not told */
	assert_int_equal(plexus_watch_join(c, token), 0);
	assert_int_equal(plexus_stat(c, "/w/g", &other), 0);
	assert_int_equal(plexus_chmod(a, "/w/g", 0600), 0);
	assert_int_equal(plexus_chmod(c, "/w/g", 0640), 0);
	assert_true(s_quiet(a, token, 300));
	s_put(b, "/w/g", "four"); /* what the joiner looked at is followed too */
	assert_true(s_told(a, token, &other, NULL));
	/* only the owner polls; a token nobody holds is refused */
	plexus_change *ch = NULL;
	int lost = 0;
	assert_errno(plexus_watch_poll(b, token, 0, &ch, &lost), EPERM);
	assert_errno(plexus_watch_poll(a, token ^ 1, 0, &ch, &lost), ENOENT);
	assert_errno(plexus_watch_join(b, token ^ 1), ENOENT);
	/* more changes than VFS queues: the poll says some were lost */
	char name[32];
	for (int i = 0; i < 2100; i++) {
		snprintf(name, sizeof name, "/w/n%d", i);
		int fd = plexus_open(b, name, O_CREAT | O_WRONLY, 0644);
		assert_true(fd >= 0);
		plexus_close(b, fd);
		assert_int_equal(plexus_unlink(b, name), 0);
	}
	ssize_t n = plexus_watch_poll(a, token, 1000, &ch, &lost);
	assert_true(n >= 0);
	assert_true(lost);
	plexus_changes_free(ch, (size_t)n);
	assert_true(s_quiet(a, token, 0)); /* and then starts afresh */
	/* the watch goes with its owner: the joiner's token is unknown then */
	plexus_disconnect(&a);
	int rc = 0;
	for (int i = 0; i < 100 && (rc = plexus_watch_join(c, token)) == 0; i++)
		usleep(20 * 1000);
	assert_int_equal(rc, -1);
	assert_int_equal(errno, ENOENT);
	/* and with VFS: a restarted VFS knows no watch */
	assert_int_equal(plexus_watch_new(c, &token), 0);
	fscluster_restart(f, FSCLUSTER_VFS);
	assert_errno(plexus_watch_poll(c, token, 0, &ch, &lost), ENOENT);
	assert_int_equal(plexus_watch_new(c, &again), 0);
	assert_true(again != 0);
	plexus_disconnect(&c);
	plexus_disconnect(&b);
	PASSED();
}

static void test_descriptors(void **state)
{
	fscluster *f = *state;
	plexus *px = s_connect(f, "fds");
	s_put(px, "/dfile", "0123456789");
	int fd = plexus_open(px, "/dfile", O_RDWR);
	assert_true(fd >= 0);
	int d = plexus_dup(px, fd);
	assert_true(d > fd);
	char c;
	assert_int_equal(plexus_read(px, fd, &c, 1), 1);
	assert_int_equal(plexus_read(px, d, &c, 1), 1); /* one shared position */
	assert_int_equal(c, '1');
	assert_int_equal(plexus_dup2(px, fd, 20), 20);
	assert_int_equal(plexus_dup2(px, fd, fd), fd);
	assert_errno(plexus_dup2(px, 77, 78), EBADF);
	assert_int_equal(plexus_dup3(px, fd, 21, O_CLOEXEC), 21);
	assert_int_equal(plexus_fcntl(px, 21, F_GETFD), FD_CLOEXEC);
	assert_int_equal(plexus_fcntl(px, 20, F_GETFD), 0);
	assert_int_equal(plexus_fcntl(px, 20, F_SETFD, FD_CLOEXEC), 0);
	assert_int_equal(plexus_fcntl(px, fd, F_GETFL) & O_ACCMODE, O_RDWR);
	assert_int_equal(plexus_fcntl(px, fd, F_SETFL, O_APPEND), 0);
	assert_true(plexus_fcntl(px, fd, F_GETFL) & O_APPEND);
	int low = plexus_fcntl(px, fd, F_DUPFD, 30);
	assert_true(low >= 30);
	assert_errno(plexus_fcntl(px, 99, F_GETFD), EBADF);
	assert_int_equal(plexus_closeexec(px), 0);
	assert_errno(plexus_fcntl(px, 20, F_GETFD), EBADF);
	assert_errno(plexus_fcntl(px, 21, F_GETFD), EBADF);
	assert_int_equal(plexus_fcntl(px, low, F_GETFD), 0);
	assert_int_equal(plexus_close(px, low), 0);
	assert_int_equal(plexus_close(px, d), 0);
	assert_int_equal(plexus_close(px, fd), 0);
	plexus_disconnect(&px);
	PASSED();
}

typedef struct reader {
	plexus *px;
	int fd;
	char buf[64];
	ssize_t n;
} reader;

static void *s_reader(void *arg)
{
	reader *r = arg;
	r->n = plexus_read(r->px, r->fd, r->buf, sizeof r->buf); /* waits for the writer */
	return NULL;
}

static void test_pipes_and_select(void **state)
{
	fscluster *f = *state;
	plexus *px = s_connect(f, "pipes");
	int fds[2];
	assert_int_equal(plexus_pipe(px, fds), 0);
	assert_errno(plexus_lseek(px, fds[0], 0, SEEK_SET), ESPIPE);
	fd_set rd;
	FD_ZERO(&rd);
	FD_SET(fds[0], &rd);
	struct timeval tv = {0, 0};
	assert_int_equal(plexus_select(px, fds[0] + 1, &rd, NULL, NULL, &tv), 0);
	/* a read that waits, on another thread, until this one writes */
	reader r = {.px = px, .fd = fds[0]};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, s_reader, &r), 0);
	usleep(100 * 1000); /* let it park; the result does not depend on it */
	assert_int_equal(plexus_write(px, fds[1], "through", 7), 7);
	pthread_join(t, NULL);
	assert_int_equal(r.n, 7);
	assert_memory_equal(r.buf, "through", 7);
	assert_int_equal(plexus_write(px, fds[1], "x", 1), 1);
	FD_ZERO(&rd);
	FD_SET(fds[0], &rd);
	assert_int_equal(plexus_select(px, fds[0] + 1, &rd, NULL, NULL, NULL), 1);
	assert_true(FD_ISSET(fds[0], &rd));
	assert_int_equal(plexus_close(px, fds[1]), 0);
	char buf[8];
	assert_int_equal(plexus_read(px, fds[0], buf, sizeof buf), 1);
	assert_int_equal(plexus_read(px, fds[0], buf, sizeof buf), 0); /* no writer: the end */
	assert_int_equal(plexus_close(px, fds[0]), 0);
	/* writing with no reader */
	assert_int_equal(plexus_pipe2(px, fds, O_NONBLOCK | O_CLOEXEC), 0);
	assert_int_equal(plexus_fcntl(px, fds[0], F_GETFD), FD_CLOEXEC);
	assert_int_equal(plexus_read(px, fds[0], buf, 1), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(plexus_close(px, fds[0]), 0);
	assert_errno(plexus_write(px, fds[1], "x", 1), EPIPE);
	assert_int_equal(plexus_close(px, fds[1]), 0);
	assert_errno(plexus_pipe2(px, fds, O_APPEND), EINVAL);
	/* a FIFO by name */
	assert_int_equal(plexus_mkfifo(px, "/fifo", 0600), 0);
	struct stat st;
	assert_int_equal(plexus_stat(px, "/fifo", &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	assert_errno(plexus_mkfifo(px, "/fifo", 0600), EEXIST);
	assert_int_equal(plexus_unlink(px, "/fifo"), 0);
	plexus_disconnect(&px);
	PASSED();
}

static void test_names(void **state)
{
	fscluster *f = *state;
	plexus *px = s_connect(f, "names");
	assert_int_equal(plexus_mkdir(px, "/ln", 0755), 0);
	assert_errno(plexus_mkdir(px, "/ln", 0755), EEXIST);
	assert_errno(plexus_mkdir(px, "/nodir/x", 0755), ENOENT);
	s_put(px, "/ln/f", "data");
	assert_errno(plexus_rmdir(px, "/ln"), ENOTEMPTY);
	assert_errno(plexus_rmdir(px, "/ln/f"), ENOTDIR);
	assert_errno(plexus_unlink(px, "/ln/none"), ENOENT);
	assert_int_equal(plexus_link(px, "/ln/f", "/ln/hard"), 0);
	struct stat st;
	assert_int_equal(plexus_stat(px, "/ln/f", &st), 0);
	assert_int_equal(st.st_nlink, 2);
	assert_errno(plexus_link(px, "/ln/f", "/ln/hard"), EEXIST);
	assert_int_equal(plexus_symlink(px, "f", "/ln/soft"), 0);
	char target[16] = "";
	assert_int_equal(plexus_readlink(px, "/ln/soft", target, sizeof target), 1);
	assert_memory_equal(target, "f", 1);
	assert_errno(plexus_readlink(px, "/ln/f", target, sizeof target), EINVAL);
	assert_int_equal(plexus_lstat(px, "/ln/soft", &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(plexus_stat(px, "/ln/soft", &st), 0); /* followed */
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 4);
	assert_int_equal(plexus_rename(px, "/ln/hard", "/ln/renamed"), 0);
	assert_errno(plexus_stat(px, "/ln/hard", &st), ENOENT);
	assert_errno(plexus_rename(px, "/ln/none", "/ln/x"), ENOENT);
	assert_int_equal(plexus_mknod(px, "/ln/chr", S_IFCHR | 0600, makedev(FSC_MAJOR_LOG, 0)), 0);
	assert_int_equal(plexus_stat(px, "/ln/chr", &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(major(st.st_rdev), FSC_MAJOR_LOG);
	/* modes, owners, times, access */
	assert_int_equal(plexus_chmod(px, "/ln/f", 0600), 0);
	assert_int_equal(plexus_stat(px, "/ln/f", &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	int fd = plexus_open(px, "/ln/f", O_RDONLY);
	assert_int_equal(plexus_fchmod(px, fd, 0640), 0);
	assert_int_equal(plexus_fchown(px, fd, 12, 34), 0);
	assert_int_equal(plexus_fstat(px, fd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_uid, 12);
	assert_int_equal(st.st_gid, 34);
	assert_int_equal(plexus_chown(px, "/ln/f", (uid_t)-1, 56), 0);
	assert_int_equal(plexus_lchown(px, "/ln/soft", 7, 7), 0);
	assert_int_equal(plexus_stat(px, "/ln/f", &st), 0);
	assert_int_equal(st.st_uid, 12);
	assert_int_equal(st.st_gid, 56);
	struct timespec ts[2] = {{1000000, 0}, {2000000, 0}};
	assert_int_equal(plexus_utimens(px, "/ln/f", ts, 0), 0);
	assert_int_equal(plexus_stat(px, "/ln/f", &st), 0);
	assert_int_equal(st.st_atim.tv_sec, 1000000);
	assert_int_equal(st.st_mtim.tv_sec, 2000000);
	assert_int_equal(plexus_futimens(px, fd, NULL), 0);
	assert_int_equal(plexus_fstat(px, fd, &st), 0);
	assert_true(st.st_mtim.tv_sec > 2000000);
	assert_errno(plexus_utimens(px, "/ln/none", NULL, 0), ENOENT);
	assert_int_equal(plexus_close(px, fd), 0);
	assert_int_equal(plexus_access(px, "/ln/f", F_OK), 0);
	assert_int_equal(plexus_access(px, "/ln/f", R_OK | W_OK), 0);
	assert_errno(plexus_access(px, "/ln/none", F_OK), ENOENT);
	/* the working directory and the umask */
	assert_int_equal(plexus_chdir(px, "/ln"), 0);
	char cwd[64];
	assert_string_equal(plexus_getcwd(px, cwd, sizeof cwd), "/ln");
	assert_int_equal(plexus_stat(px, "f", &st), 0); /* relative */
	assert_errno(plexus_chdir(px, "/ln/f"), ENOTDIR);
	int root = plexus_open(px, "/", O_RDONLY | O_DIRECTORY);
	assert_int_equal(plexus_fchdir(px, root), 0);
	assert_string_equal(plexus_getcwd(px, cwd, sizeof cwd), "/");
	assert_int_equal(plexus_close(px, root), 0);
	plexus_umask(px, 077);
	assert_int_equal(plexus_umask(px, 027), 077);
	s_put(px, "/ln/masked", "m");
	assert_int_equal(plexus_stat(px, "/ln/masked", &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_errno(plexus_stat(px, "", &st), ENOENT);
	plexus_disconnect(&px);
	PASSED();
}

/* The *at calls: relative paths start at the directory open on dirfd, not at the working
 * directory; absolute ones ignore it; AT_FDCWD is the working directory; flags as Linux's; a
 * closed dirfd is EBADF, a file's ENOTDIR; the directory may be renamed meanwhile (the open
 * descriptor, not its path, decides); a file openat opened is opened again after a restart of
 * VFS by its full path. */
static void test_at_calls(void **state)
{
	fscluster *f = *state;
	plexus *px = s_connect(f, "at");
	assert_int_equal(plexus_mkdir(px, "/at", 0755), 0);
	assert_int_equal(plexus_mkdir(px, "/at/d", 0755), 0);
	int d = plexus_open(px, "/at/d", O_RDONLY | O_DIRECTORY);
	assert_true(d >= 0);
	assert_int_equal(plexus_chdir(px, "/"), 0); /* the cwd is elsewhere */
	int fd = plexus_openat(px, d, "f", O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	assert_int_equal(plexus_write(px, fd, "abc", 3), 3);
	assert_int_equal(plexus_close(px, fd), 0);
	struct stat st;
	assert_int_equal(plexus_stat(px, "/at/d/f", &st), 0);
	assert_int_equal(st.st_size, 3);
	assert_errno(plexus_stat(px, "f", &st), ENOENT); /* not in the cwd */
	assert_int_equal(plexus_fstatat(px, d, "f", &st, 0), 0);
	assert_int_equal(st.st_size, 3);
	assert_int_equal(plexus_fstatat(px, d, "", &st, AT_EMPTY_PATH), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(plexus_fstatat(px, d, "/at", &st, 0), 0); /* absolute: dirfd ignored */
	assert_int_equal(plexus_fstatat(px, AT_FDCWD, "at/d/f", &st, 0), 0);
	assert_int_equal(plexus_mkdirat(px, d, "sub", 0700), 0);
	assert_int_equal(plexus_fstatat(px, d, "sub/..", &st, 0), 0); /* ".." from there */
	assert_int_equal(plexus_fstatat(px, d, "../d/sub", &st, 0), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(plexus_symlinkat(px, "f", d, "soft"), 0);
	char target[8] = "";
	assert_int_equal(plexus_readlinkat(px, d, "soft", target, sizeof target), 1);
	assert_int_equal(plexus_fstatat(px, d, "soft", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(plexus_fstatat(px, d, "soft", &st, 0), 0);
	assert_true(S_ISREG(st.st_mode));
	int other = plexus_open(px, "/at", O_RDONLY | O_DIRECTORY);
	assert_int_equal(plexus_renameat(px, d, "f", other, "g"), 0);
	assert_int_equal(plexus_stat(px, "/at/g", &st), 0);
	assert_int_equal(plexus_linkat(px, other, "g", d, "hard", 0), 0);
	assert_int_equal(plexus_stat(px, "/at/g", &st), 0);
	assert_int_equal(st.st_nlink, 2);
	/* linkat follows a symbolic link only when asked */
	assert_int_equal(plexus_symlinkat(px, "../g", d, "tog"), 0);
	assert_int_equal(plexus_linkat(px, d, "tog", d, "lnk", 0), 0);
	assert_int_equal(plexus_fstatat(px, d, "lnk", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(plexus_linkat(px, d, "tog", d, "followed", AT_SYMLINK_FOLLOW), 0);
	assert_int_equal(plexus_fstatat(px, d, "followed", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_nlink, 3);
	assert_int_equal(plexus_fchmodat(px, d, "hard", 0640, 0), 0);
	assert_errno(plexus_fchmodat(px, d, "hard", 0640, AT_SYMLINK_NOFOLLOW), EOPNOTSUPP);
	assert_int_equal(plexus_fchownat(px, d, "hard", 12, 34, 0), 0);
	assert_int_equal(plexus_fchownat(px, d, "soft", 5, 6, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(plexus_fstatat(px, d, "soft", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_uid, 5);
	struct timespec ts[2] = {{1000000, 0}, {2000000, 0}};
	assert_int_equal(plexus_utimensat(px, d, "hard", ts, 0), 0);
	assert_int_equal(plexus_stat(px, "/at/g", &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(st.st_uid, 12);
	assert_int_equal(st.st_mtim.tv_sec, 2000000);
	assert_int_equal(plexus_faccessat(px, d, "hard", R_OK, 0), 0);
	assert_errno(plexus_faccessat(px, d, "none", F_OK, 0), ENOENT);
	assert_errno(plexus_faccessat(px, d, "hard", R_OK, AT_EACCESS), EINVAL);
	assert_errno(plexus_unlinkat(px, d, "sub", 0), EISDIR);
	assert_int_equal(plexus_unlinkat(px, d, "sub", AT_REMOVEDIR), 0);
	assert_int_equal(plexus_unlinkat(px, d, "lnk", 0), 0);
	assert_errno(plexus_unlinkat(px, d, "x", 0x4000), EINVAL);
	/* bad directories */
	int file = plexus_open(px, "/at/g", O_RDONLY);
	assert_errno(plexus_fstatat(px, file, "x", &st, 0), ENOTDIR);
	assert_errno(plexus_openat(px, 977, "x", O_RDONLY), EBADF);
	assert_errno(plexus_mkdirat(px, -7, "x", 0755), EBADF);
	assert_int_equal(plexus_mkdirat(px, -7, "/at/abs", 0755), 0); /* absolute: ignored */
	/* the descriptor decides, not its path: the directory renamed meanwhile */
	assert_int_equal(plexus_rename(px, "/at/d", "/at/moved"), 0);
	assert_int_equal(plexus_fstatat(px, d, "hard", &st, 0), 0);
	int later = plexus_openat(px, d, "made-after", O_CREAT | O_WRONLY, 0644);
	assert_true(later >= 0);
	assert_int_equal(plexus_stat(px, "/at/moved/made-after", &st), 0);
	assert_int_equal(plexus_close(px, later), 0);
	assert_int_equal(plexus_rename(px, "/at/moved", "/at/d"), 0);
	/* a file openat opened comes back after a restart of VFS (by /at/d/hard) */
	int kept = plexus_openat(px, d, "hard", O_RDONLY);
	assert_true(kept >= 0);
	fscluster_restart(f, FSCLUSTER_VFS);
	char buf[8] = "";
	assert_int_equal(plexus_read(px, kept, buf, sizeof buf), 3);
	assert_memory_equal(buf, "abc", 3);
	plexus_close(px, kept);
	plexus_close(px, file);
	plexus_close(px, other);
	plexus_close(px, d);
	plexus_disconnect(&px);
	PASSED();
}

static void test_directories(void **state)
{
	fscluster *f = *state;
	plexus *px = s_connect(f, "dirs");
	assert_int_equal(plexus_mkdir(px, "/many", 0755), 0);
	char name[64];
	for (int i = 0; i < 150; i++) {
		snprintf(name, sizeof name, "/many/entry-with-a-long-name-%03d", i);
		s_put(px, name, "");
	}
	plexus_dir *dir = plexus_opendir(px, "/many");
	assert_non_null(dir);
	bool seen[150] = {false};
	int count = 0, dots = 0;
	struct plexus_dirent *e;
	while ((e = plexus_readdir(dir))) {
		int i;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
			dots++;
			continue;
		}
		assert_int_equal(sscanf(e->d_name, "entry-with-a-long-name-%d", &i), 1);
		assert_false(seen[i]);
		seen[i] = true;
		count++;
	}
	assert_int_equal(count, 150);
	assert_int_equal(dots, 2);
	assert_int_equal(plexus_closedir(dir), 0);
	/* getdents with room for 3 entries at a time sees them all too */
	int fd = plexus_open(px, "/many", O_RDONLY | O_DIRECTORY);
	struct plexus_dirent ents[3];
	ssize_t n;
	count = 0;
	while ((n = plexus_getdents(px, fd, ents, 3)) > 0) {
		assert_true(n <= 3);
		count += (int)n;
	}
	assert_int_equal(n, 0);
	assert_int_equal(count, 152);
	assert_int_equal(plexus_close(px, fd), 0);
	assert_null(plexus_opendir(px, "/none"));
	assert_int_equal(errno, ENOENT);
	s_put(px, "/notdir", "");
	assert_null(plexus_opendir(px, "/notdir"));
	assert_int_equal(errno, ENOTDIR);
	plexus_disconnect(&px);
	PASSED();
}

static void s_second_fs(fscluster *f)
{
	char image[600], cmd[1400];
	snprintf(image, sizeof image, "%s/lib2.img", f->d->dir);
	snprintf(cmd, sizeof cmd, "truncate -s 8M %s && /usr/sbin/mkfs.minix -3 %s >/dev/null",
	         image, image);
	assert_int_equal(system(cmd), 0);
	char *disk[] = {PLEXUS_VDISK_BIN, "--image", image, NULL};
	drvcluster_start_driver(f->d, 3, "lib2disk", NULL, disk);
	char *mfs[] = {PLEXUS_MFS_BIN, NULL};
	drvcluster_start_driver(f->d, 2, "lib2mfs", NULL, mfs);
}

/* The flags in force on /m2, as statvfs and the mount table say. */
static unsigned long s_m2_flags(plexus *px)
{
	struct statvfs sv;
	assert_int_equal(plexus_statvfs(px, "/m2/", &sv), 0);
	plexus_mount_info *m;
	size_t n;
	assert_int_equal(plexus_mounts(px, &m, &n), 0);
	unsigned long table = ~0UL;
	for (size_t i = 0; i < n; i++)
		if (strcmp(m[i].target, "/m2") == 0)
			table = m[i].flags;
	plexus_mounts_free(m, n);
	assert_int_equal(table, sv.f_flag);
	return sv.f_flag;
}

/* Mount flags: a mount is nodev,nosuid by default (device nodes on it open nothing and cannot
 * be mounted from), dev and suid ask otherwise, noexec makes access(X_OK) fail; a restarted
 * VFS mounts it again with the same flags; the command line's root is neither. */
static void s_mount_flags(fscluster *f, plexus *px)
{
	assert_errno(plexus_mount(px, "lib2disk:0", "/m2", "lib2mfs", MS_NODEV | PLEXUS_MS_DEV),
	             EINVAL);
	assert_errno(plexus_mount(px, "lib2disk:0", "/m2", "lib2mfs", MS_NOSUID | PLEXUS_MS_SUID),
	             EINVAL);
	assert_int_equal(plexus_mount(px, "lib2disk:0", "/m2", "lib2mfs", 0), 0);
	assert_int_equal(s_m2_flags(px), ST_NODEV | ST_NOSUID);
	assert_int_equal(plexus_mknod(px, "/m2/disk", S_IFBLK | 0600, makedev(FSC_MAJOR_DISK, 0)),
	                 0);
	int fd = plexus_open(px, "/m2/prog", O_WRONLY | O_CREAT | O_TRUNC, 0755);
	assert_true(fd >= 0);
	assert_int_equal(plexus_close(px, fd), 0);
	assert_errno(plexus_open(px, "/m2/disk", O_RDONLY), EACCES);
	assert_int_equal(plexus_mkdir(px, "/m3", 0755), 0);
	assert_errno(plexus_mount(px, "/m2/disk", "/m3", "lib2mfs", 0), EACCES);
	assert_int_equal(plexus_access(px, "/m2/prog", X_OK), 0);
	assert_int_equal(plexus_umount(px, "/m2"), 0);

	assert_int_equal(
	    plexus_mount(px, "lib2disk:0", "/m2", "lib2mfs", PLEXUS_MS_DEV | MS_NOEXEC), 0);
	assert_int_equal(s_m2_flags(px), ST_NOSUID | ST_NOEXEC);
	fscluster_restart(f, FSCLUSTER_VFS); /* the record in DS keeps the flags */
	assert_int_equal(s_m2_flags(px), ST_NOSUID | ST_NOEXEC);
	fd = plexus_open(px, "/m2/disk", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(plexus_close(px, fd), 0);
	assert_errno(plexus_access(px, "/m2/prog", X_OK), EACCES);
	assert_int_equal(plexus_access(px, "/m2/prog", R_OK), 0);
	assert_int_equal(plexus_access(px, "/m2", X_OK), 0); /* directories are still searched */
	assert_int_equal(plexus_umount(px, "/m2"), 0);

	assert_int_equal(plexus_mount(px, "lib2disk:0", "/m2", "lib2mfs", PLEXUS_MS_SUID), 0);
	assert_int_equal(s_m2_flags(px), ST_NODEV);
	assert_int_equal(plexus_umount(px, "/m2"), 0);
	struct statvfs sv;
	assert_int_equal(plexus_statvfs(px, "/", &sv), 0);
	assert_int_equal(sv.f_flag & (ST_NODEV | ST_NOSUID | ST_NOEXEC), 0);
}

static void test_file_systems(void **state)
{
	fscluster *f = *state;
	plexus *px = s_connect(f, "fs");
	s_second_fs(f);
	assert_int_equal(plexus_mkdir(px, "/m2", 0755), 0);
	assert_errno(plexus_mount(px, "lib2disk:0", "/nowhere", "lib2mfs", 0), ENOENT);
	assert_errno(plexus_mount(px, "lib2disk:0", "/m2", "lib2mfs", 0x4000), EINVAL);
	assert_int_equal(plexus_mount(px, "lib2disk:0", "/m2", "lib2mfs", MS_RDONLY), 0);
	assert_errno(plexus_mkdir(px, "/m2/x", 0755), EROFS);
	struct statvfs sv;
	assert_int_equal(plexus_statvfs(px, "/m2", &sv), 0);
	assert_true(sv.f_flag & ST_RDONLY);
	assert_true(sv.f_blocks > 0 && sv.f_bfree <= sv.f_blocks && sv.f_bsize >= 1024);
	int fd = plexus_open(px, "/", O_RDONLY);
	assert_int_equal(plexus_fstatvfs(px, fd, &sv), 0);
	assert_false(sv.f_flag & ST_RDONLY);
	assert_int_equal(plexus_close(px, fd), 0);
	assert_errno(plexus_statvfs(px, "/none", &sv), ENOENT);
	plexus_mount_info *m;
	size_t n;
	assert_int_equal(plexus_mounts(px, &m, &n), 0);
	assert_int_equal(n, 2);
	int seen = 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(m[i].target, "/m2") == 0) {
			assert_string_equal(m[i].fs, "lib2mfs");
			assert_string_equal(m[i].source, "lib2disk:0");
			assert_true(m[i].read_only);
			assert_true(m[i].has_statvfs);
			seen++;
		}
	assert_int_equal(seen, 1);
	plexus_mounts_free(m, n);
	assert_errno(plexus_umount(px, "/"), EBUSY);
	assert_errno(plexus_umount(px, "/none"), ENOENT);
	assert_int_equal(plexus_umount(px, "/m2"), 0);
	assert_errno(plexus_umount(px, "/m2"), EINVAL);
	s_mount_flags(f, px);
	plexus_disconnect(&px);
	PASSED();
}

/* ---- durability ---- */

/* What each kind of file answers to fsync, fdatasync and syncfs; sync. */
static void test_sync_calls(void **state)
{
	fscluster *f = *state;
	plexus *px = s_connect(f, "synccalls");
	assert_int_equal(plexus_mkdir(px, "/sy", 0755), 0);
	int fd = plexus_open(px, "/sy/f", O_RDWR | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(plexus_write(px, fd, "data", 4), 4);
	assert_int_equal(plexus_fsync(px, fd), 0);
	assert_int_equal(plexus_fdatasync(px, fd), 0);
	assert_int_equal(plexus_syncfs(px, fd), 0);
	assert_int_equal(plexus_close(px, fd), 0);
	int rd = plexus_open(px, "/sy/f", O_RDONLY); /* read-only descriptors sync too */
	assert_int_equal(plexus_fsync(px, rd), 0);
	assert_int_equal(plexus_close(px, rd), 0);
	int dir = plexus_open(px, "/sy", O_RDONLY | O_DIRECTORY);
	assert_true(dir >= 0);
	assert_int_equal(plexus_fsync(px, dir), 0);
	assert_int_equal(plexus_fdatasync(px, dir), 0);
	assert_int_equal(plexus_syncfs(px, dir), 0);
	assert_int_equal(plexus_close(px, dir), 0);
	int fds[2];
	assert_int_equal(plexus_pipe(px, fds), 0);
	assert_errno(plexus_fsync(px, fds[1]), EINVAL); /* as Linux: pipes have no fsync */
	assert_errno(plexus_fdatasync(px, fds[0]), EINVAL);
	assert_int_equal(plexus_syncfs(px, fds[0]), 0);
	assert_int_equal(plexus_close(px, fds[0]), 0);
	assert_int_equal(plexus_close(px, fds[1]), 0);
	assert_int_equal(plexus_mkfifo(px, "/sy/fifo", 0600), 0);
	int ff = plexus_open(px, "/sy/fifo", O_RDONLY | O_NONBLOCK);
	assert_errno(plexus_fsync(px, ff), EINVAL);
	assert_int_equal(plexus_syncfs(px, ff), 0);
	assert_int_equal(plexus_close(px, ff), 0);
	assert_int_equal(plexus_mknod(px, "/sy/log", S_IFCHR | 0600, makedev(FSC_MAJOR_LOG, 0)), 0);
	int chr = plexus_open(px, "/sy/log", O_WRONLY);
	assert_errno(plexus_fsync(px, chr), EINVAL);
	assert_int_equal(plexus_close(px, chr), 0);
	assert_int_equal(plexus_mknod(px, "/sy/disk", S_IFBLK | 0600, makedev(FSC_MAJOR_DISK, 0)),
	                 0);
	int blk = plexus_open(px, "/sy/disk", O_RDONLY);
	assert_int_equal(plexus_fsync(px, blk), 0); /* BDEV_FLUSH */
	assert_int_equal(plexus_close(px, blk), 0);
	assert_errno(plexus_fsync(px, 999), EBADF);
	assert_errno(plexus_fdatasync(px, 999), EBADF);
	assert_errno(plexus_syncfs(px, 999), EBADF);
	assert_int_equal(plexus_sync(px), 0);
	plexus_disconnect(&px);
	PASSED();
}

/* Reads the whole of path and compares it with want. */
static void s_expect_file(plexus *px, const char *path, const uint8_t *want, size_t size)
{
	uint8_t *back = malloc(size + 1);
	assert_non_null(back);
	int fd = plexus_open(px, path, O_RDONLY);
	if (fd < 0)
		print_error("open %s: %s\n", path, strerror(errno));
	assert_true(fd >= 0);
	assert_int_equal(plexus_read(px, fd, back, size + 1), (ssize_t)size);
	assert_memory_equal(back, want, size);
	assert_int_equal(plexus_close(px, fd), 0);
	free(back);
}

/* Restarts MFS and waits until VFS reaches the new instance (a stat of "/" asks it): a call
 * VFS sends in the moment before it sees the successor fails EIO, as calls to a dead file
 * server do. */
static void s_restart_mfs(fscluster *f, plexus *px)
{
	fscluster_restart(f, FSCLUSTER_MFS);
	struct stat st;
	for (int i = 0; i < 200 && plexus_stat(px, "/", &st) < 0; i++)
		usleep(50 * 1000);
	assert_int_equal(plexus_stat(px, "/", &st), 0);
}

/* Writes size bytes of seed's pattern to a new path, fsyncs, closes. */
static void s_write_synced(plexus *px, const char *path, uint8_t *buf, size_t size, unsigned seed)
{
	s_pattern(buf, size, seed);
	int fd = plexus_open(px, path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(plexus_write(px, fd, buf, size), (ssize_t)size);
	assert_int_equal(plexus_fsync(px, fd), 0);
	assert_int_equal(plexus_close(px, fd), 0);
}

/* Data that moves once (docs/protocol.md "Staged data"): writes and reads of 64 KiB or more
 * move their bytes between the program and MFS directly (VFS_OPEN names the descriptor's file
 * server); smaller ones, and pipes, go through VFS. The bytes are
 * the same either way, also across an MFS restart (a new instance, no stages) and after
 * it. A stage is its owner's only: another process can neither collect it nor have VFS write
 * it, and VFS refuses a stage on a descriptor not open for writing, or one the server does
 * not hold (-EXDEV). */
static void test_data_moves_once(void **state)
{
	fscluster *f = *state;
	plexus *px = s_connect(f, "direct"), *other = s_connect(f, "other");
	size_t part = 256 * 1024, size = 4 * part;
	uint8_t *data = malloc(size), *back = malloc(size);
	s_pattern(data, size, 11);
	int fd = plexus_open(px, "/direct", O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	for (size_t i = 0; i < size; i += part)
		assert_int_equal(plexus_write(px, fd, data + i, part), (ssize_t)part);
	assert_int_equal(plexus_write(px, fd, "tail", 4), 4); /* small: through VFS */
	uint64_t written, read;
	plexus__direct_counts(px, &written, &read);
	assert_int_equal(written, size); /* VFS_OPEN said where the file is */
	assert_int_equal(read, 0);
	assert_int_equal(plexus_lseek(px, fd, 0, SEEK_SET), 0);
	for (size_t i = 0; i < size; i += part)
		assert_int_equal(plexus_read(px, fd, back + i, part), (ssize_t)part);
	assert_memory_equal(back, data, size);
	assert_int_equal(plexus_read(px, fd, back, part), 4); /* the tail, at the end */
	assert_memory_equal(back, "tail", 4);
	plexus__direct_counts(px, &written, &read);
	assert_int_equal(read, size + 4);

	/* A stage VFS left for px: other cannot collect it, px can, once. */
	Plexus__VfsFd req = PLEXUS__VFS_FD__INIT;
	req.fd = fd;
	req.size = part;
	req.offset = (int64_t)part;
	req.direct = true;
	plexus__answer ans;
	assert_int_equal(plexus__vfs_pread(px, &req, NULL, 0, 10000, &ans), (int64_t)part);
	assert_true(ans.reply->stage != 0);
	assert_int_equal(ans.reply->stage_offset, (int64_t)part);
	assert_int_equal(ans.msg->data_size, 0);
	plx_fs *theirs = plx_fs_new(other->ep, ans.reply->stage_label, 10000);
	plx_fs *mine = plx_fs_new(px->ep, ans.reply->stage_label, 10000);
	assert_int_equal(plx_fs_collect(theirs, ans.reply->stage, back, part), -ENOENT);
	assert_int_equal(plx_fs_collect(mine, ans.reply->stage, back, part), (ssize_t)part);
	assert_memory_equal(back, data + part, part);
	assert_int_equal(plx_fs_collect(mine, ans.reply->stage, back, part), -ENOENT);
	plexus__answer_free(&ans);

	/* px's stage written through other's descriptor: VFS names other, MFS holds none. */
	uint64_t stage = 0;
	memset(back, 'X', part);
	assert_int_equal(plx_fs_stage(mine, back, part, &stage), 0);
	int ofd = plexus_open(other, "/direct", O_WRONLY);
	assert_true(ofd >= 0);
	Plexus__VfsFd w = PLEXUS__VFS_FD__INIT;
	w.fd = ofd;
	w.size = part;
	w.stage = stage;
	assert_int_equal(plexus__vfs_pwrite(other, &w, NULL, 0, 10000, NULL), -EXDEV);
	int ro = plexus_open(px, "/direct", O_RDONLY); /* px's own stage, a read-only descriptor */
	w.fd = ro;
	assert_int_equal(plexus__vfs_pwrite(px, &w, NULL, 0, 10000, NULL), -EBADF);
	w.fd = fd;
	w.stage = stage + 1; /* not one MFS holds */
	assert_int_equal(plexus__vfs_pwrite(px, &w, NULL, 0, 10000, NULL), -EXDEV);
	assert_int_equal(plx_fs_unstage(mine, stage), 0);
	w.stage = stage; /* given up: gone */
	assert_int_equal(plexus__vfs_pwrite(px, &w, NULL, 0, 10000, NULL), -EXDEV);
	assert_int_equal(plexus_pread(px, fd, back, size, 0), (ssize_t)size);
	assert_memory_equal(back, data, size); /* none of those wrote a byte */
	plx_fs_destroy(&theirs);
	plx_fs_destroy(&mine);

	/* A new MFS instance: writes and reads still whole (direct again, or through VFS). */
	assert_int_equal(plexus_fsync(px, fd), 0);
	s_restart_mfs(f, px);
	s_pattern(data, size, 12);
	for (size_t i = 0; i < size; i += part)
		assert_int_equal(plexus_pwrite(px, fd, data + i, part, (off_t)i), (ssize_t)part);
	assert_int_equal(plexus_pread(px, fd, back, size, 0), (ssize_t)size);
	assert_memory_equal(back, data, size);
	assert_int_equal(plexus_close(px, fd), 0);
	assert_int_equal(plexus_close(px, ro), 0);
	assert_int_equal(plexus_close(other, ofd), 0);

	/* The largest stage, 4 MiB, both ways. */
	size_t big = 4 * 1024 * 1024;
	uint8_t *bdata = malloc(big), *bback = malloc(big);
	s_pattern(bdata, big, 13);
	plexus__direct_counts(px, &written, &read);
	fd = plexus_open(px, "/direct-big", O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(plexus_pwrite(px, fd, bdata, big, 0), (ssize_t)big);
	assert_int_equal(plexus_pread(px, fd, bback, big, 0), (ssize_t)big);
	assert_memory_equal(bback, bdata, big);
	uint64_t bw, br;
	plexus__direct_counts(px, &bw, &br);
	assert_int_equal(bw - written, big);
	assert_int_equal(br - read, big);
	assert_int_equal(plexus_close(px, fd), 0);
	free(bdata);
	free(bback);

	/* A pipe's descriptor never stages. */
	int p[2];
	assert_int_equal(plexus_pipe(px, p), 0);
	plexus__direct_counts(px, &written, &read);
	assert_int_equal(plexus_write(px, p[1], data, 65536), 65536);
	assert_int_equal(plexus_read(px, p[0], back, 65536), 65536);
	assert_memory_equal(back, data, 65536);
	uint64_t written2, read2;
	plexus__direct_counts(px, &written2, &read2);
	assert_int_equal(written2, written);
	assert_int_equal(read2, read);
	assert_int_equal(plexus_close(px, p[0]), 0);
	assert_int_equal(plexus_close(px, p[1]), 0);
	free(data);
	free(back);
	plexus_disconnect(&other);
	plexus_disconnect(&px);
	PASSED();
}

/* The fixture, for s_restarting_pwrite. */
static fscluster *s_cluster;

/* VFS_PWRITE after a restart of MFS: the stage the caller sent is gone with the old instance. */
static int64_t s_restarting_pwrite(plexus *self, const Plexus__VfsFd *body, const void *data,
                                   size_t size, int timeout_ms, plexus__answer *ans)
{
	s_restart_mfs(s_cluster, self);
	return plexus__vfs_pwrite(self, body, data, size, timeout_ms, ans);
}

/* MFS restarted between the two steps of a direct transfer: a write whose stage the new
 * instance does not hold writes nothing and tells the caller to send the bytes with the call
 * (which plexus_pwrite then does); a read whose stage is gone reads the same bytes through VFS. */
static void test_direct_across_mfs_restart(void **state)
{
	fscluster *f = *state;
	s_cluster = f;
	plexus *px = s_connect(f, "direct-restart");
	size_t n = 128 * 1024;
	uint8_t *data = malloc(n), *back = malloc(n);
	s_pattern(data, n, 21);
	int fd = plexus_open(px, "/direct-restart", O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(plexus_write(px, fd, data, n), (ssize_t)n);
	assert_int_equal(plexus_fsync(px, fd), 0);

	/* The write: stage, MFS restarts, VFS_PWRITE names the stage: -EXDEV, nothing written. */
	uint8_t *other = malloc(n);
	s_pattern(other, n, 22);
	int64_t put = 0;
	assert_false(plexus__direct_write(px, s_restarting_pwrite, fd, other, n, 0, &put));
	assert_int_equal(plexus_pread(px, fd, back, n, 0), (ssize_t)n);
	assert_memory_equal(back, data, n);
	assert_int_equal(plexus_pwrite(px, fd, other, n, 0), (ssize_t)n); /* the usual way */
	assert_int_equal(plexus_pread(px, fd, back, n, 0), (ssize_t)n);
	assert_memory_equal(back, other, n);

	/* The read: a stage left for px, MFS restarts before px collects it. */
	assert_int_equal(plexus_fsync(px, fd), 0);
	Plexus__VfsFd req = PLEXUS__VFS_FD__INIT;
	req.fd = fd;
	req.size = n;
	req.direct = true;
	plexus__answer ans;
	assert_int_equal(plexus__vfs_pread(px, &req, NULL, 0, 10000, &ans), (int64_t)n);
	assert_true(ans.reply->stage != 0);
	s_restart_mfs(f, px);
	memset(back, 0, n);
	assert_int_equal(plexus__direct_collect(px, fd, ans.reply, (int64_t)n, back), (int64_t)n);
	assert_memory_equal(back, other, n);
	plexus__answer_free(&ans);
	assert_int_equal(plexus_close(px, fd), 0);
	free(data);
	free(other);
	free(back);
	plexus_disconnect(&px);
	PASSED();
}

/* What fsync, fdatasync, syncfs and sync answered 0 for is there after MFS is SIGKILLed
 * (its cache lost; no periodic write-back here) and restarted as RS does: a file written and
 * fsynced, one written through a temporary name renamed into place and made durable by the
 * directory's fsync, one by fdatasync, one by syncfs, a directory made before a sync. */
static void test_durability(void **state)
{
	fscluster *f = *state;
	plexus *px = s_connect(f, "durable");
	enum { S = 300 * 1024 };
	uint8_t *a = malloc(S), *b = malloc(S), *c = malloc(S), *d = malloc(S);
	assert_true(a && b && c && d);
	assert_int_equal(plexus_mkdir(px, "/du", 0755), 0);
	s_write_synced(px, "/du/a", a, S, 1);
	s_write_synced(px, "/du/b.tmp", b, S, 2);
	assert_int_equal(plexus_rename(px, "/du/b.tmp", "/du/b"), 0);
	int dir = plexus_open(px, "/du", O_RDONLY | O_DIRECTORY);
	assert_int_equal(plexus_fsync(px, dir), 0);
	assert_int_equal(plexus_close(px, dir), 0);
	s_pattern(c, S, 3);
	int fd = plexus_open(px, "/du/c", O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_int_equal(plexus_write(px, fd, c, S), S);
	assert_int_equal(plexus_fdatasync(px, fd), 0);
	assert_int_equal(plexus_pwrite(px, fd, "C", 1, 7), 1);
	c[7] = 'C';
	assert_int_equal(plexus_syncfs(px, fd), 0);
	assert_int_equal(plexus_close(px, fd), 0);
	s_pattern(d, S, 4);
	fd = plexus_open(px, "/du/d", O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_int_equal(plexus_write(px, fd, d, S), S);
	assert_int_equal(plexus_close(px, fd), 0);
	assert_int_equal(plexus_mkdir(px, "/du/sub", 0700), 0);
	assert_int_equal(plexus_sync(px), 0);
	s_restart_mfs(f, px);
	s_expect_file(px, "/du/a", a, S);
	s_expect_file(px, "/du/b", b, S);
	s_expect_file(px, "/du/c", c, S);
	s_expect_file(px, "/du/d", d, S);
	struct stat st;
	assert_int_equal(plexus_stat(px, "/du/sub", &st), 0);
	assert_true(S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700);
	assert_errno(plexus_stat(px, "/du/b.tmp", &st), ENOENT);
	free(a), free(b), free(c), free(d);
	plexus_disconnect(&px);
	PASSED();
}

/* Changes MFS acknowledged and never wrote (it was killed first) make the next fsync of every
 * description open on that file system fail EIO, once each (also when the fsync finds MFS
 * dead, before its successor answers), and the next sync too; a
 * description opened after the loss was reported does not see it. Whether the bytes survived
 * does not matter: VFS cannot know, so it says they may not have. */
static void test_lost_changes_reported(void **state)
{
	fscluster *f = *state;
	plexus *px = s_connect(f, "lost");
	int w = plexus_open(px, "/lost", O_RDWR | O_CREAT | O_TRUNC, 0644);
	int r = plexus_open(px, "/du/a", O_RDONLY);
	assert_true(w >= 0 && r >= 0);
	assert_int_equal(plexus_fsync(px, w), 0);
	assert_int_equal(plexus_write(px, w, "acknowledged, not synced", 24), 24);
	s_restart_mfs(f, px);
	assert_errno(plexus_fsync(px, w), EIO);
	assert_int_equal(plexus_fsync(px, w), 0); /* reported once */
	assert_errno(plexus_syncfs(px, r), EIO);  /* to each description open before */
	assert_int_equal(plexus_fsync(px, r), 0);
	int later = plexus_open(px, "/du/a", O_RDONLY);
	assert_int_equal(plexus_fsync(px, later), 0);
	assert_int_equal(plexus_close(px, later), 0);
	/* a loss found by sync itself */
	assert_int_equal(plexus_write(px, w, "again", 5), 5);
	s_restart_mfs(f, px);
	assert_errno(plexus_sync(px), EIO);
	assert_int_equal(plexus_sync(px), 0);
	assert_errno(plexus_fsync(px, w), EIO); /* not reported to w yet */
	/* a loss found while the file server is down is reported then, and not again when the
	 * successor answers */
	assert_int_equal(plexus_write(px, w, "third", 5), 5);
	fscluster_kill(f, FSCLUSTER_MFS, SIGKILL);
	assert_errno(plexus_fsync(px, w), EIO);
	fscluster_start(f, FSCLUSTER_MFS, "restart");
	struct stat st;
	for (int i = 0; i < 200 && plexus_stat(px, "/", &st) < 0; i++)
		usleep(50 * 1000);
	assert_int_equal(plexus_fsync(px, w), 0);
	assert_int_equal(plexus_sync(px), 0);
	assert_int_equal(plexus_close(px, w), 0);
	assert_int_equal(plexus_close(px, r), 0);
	plexus_disconnect(&px);
	PASSED();
}

/* Losses are told per file, as Linux tells write-back errors per inode: after MFS died with
 * an unlink and a write acknowledged, the directory opened afresh reports the lost unlink
 * even though the written file's fsync reported first; a file the lost changes did not touch
 * and a file made after the loss report nothing; syncfs reports the file system's loss. */
static void test_lost_changes_per_file(void **state)
{
	fscluster *f = *state;
	plexus *px = s_connect(f, "perfile");
	uint8_t buf[4096];
	assert_int_equal(plexus_mkdir(px, "/pf", 0755), 0);
	s_write_synced(px, "/pf/gone", buf, sizeof buf, 11);
	s_write_synced(px, "/pf/other", buf, sizeof buf, 12);
	int w = plexus_open(px, "/pf/w", O_RDWR | O_CREAT, 0644);
	assert_true(w >= 0);
	assert_int_equal(plexus_sync(px), 0);
	int other = plexus_open(px, "/pf/other", O_RDONLY);
	assert_true(other >= 0);
	assert_int_equal(plexus_unlink(px, "/pf/gone"), 0);
	assert_int_equal(plexus_write(px, w, "acknowledged", 12), 12);
	s_restart_mfs(f, px);
	assert_errno(plexus_fsync(px, w), EIO);
	int dir = plexus_open(px, "/pf", O_RDONLY | O_DIRECTORY);
	assert_true(dir >= 0);
	assert_errno(plexus_fsync(px, dir), EIO); /* the unlink, though w reported first */
	assert_int_equal(plexus_fsync(px, dir), 0);
	assert_int_equal(plexus_close(px, dir), 0);
	dir = plexus_open(px, "/pf", O_RDONLY | O_DIRECTORY);
	assert_int_equal(plexus_fsync(px, dir), 0); /* reported already */
	assert_int_equal(plexus_close(px, dir), 0);
	assert_int_equal(plexus_fsync(px, other), 0); /* untouched by the lost changes */
	assert_errno(plexus_syncfs(px, other), EIO);  /* but its file system lost some */
	int made = plexus_open(px, "/pf/made-after", O_RDWR | O_CREAT | O_EXCL, 0644);
	assert_true(made >= 0);
	assert_int_equal(plexus_write(px, made, "new", 3), 3);
	assert_int_equal(plexus_fsync(px, made), 0); /* made after the loss */
	assert_int_equal(plexus_close(px, made), 0);
	assert_int_equal(plexus_close(px, other), 0);
	assert_int_equal(plexus_close(px, w), 0);
	plexus_disconnect(&px);
	PASSED();
}

/* VFS and the file server die together, as with a node lost with both: neither next instance
 * knows what the dead pair acknowledged, the process does (vfs/lib/durable.c). With VFS alone
 * killed, the file server still holds the write and the next fsync saves it. */
static void test_lost_with_vfs(void **state)
{
	fscluster *f = *state;
	plexus *px = s_connect(f, "pair");
	uint8_t buf[4096];
	assert_int_equal(plexus_mkdir(px, "/lv", 0755), 0);
	s_write_synced(px, "/lv/kept", buf, sizeof buf, 21);
	int w = plexus_open(px, "/lv/w", O_RDWR | O_CREAT, 0644);
	int dir = plexus_open(px, "/lv", O_RDONLY | O_DIRECTORY);
	assert_true(w >= 0 && dir >= 0);
	assert_int_equal(plexus_fsync(px, dir), 0);
	assert_int_equal(plexus_write(px, w, "held", 4), 4);
	fscluster_restart(f, FSCLUSTER_VFS);
	assert_int_equal(plexus_fsync(px, w), 0); /* the same file server instance: saved now */
	assert_int_equal(plexus_write(px, w, "gone", 4), 4);
	assert_int_equal(plexus_rename(px, "/lv/kept", "/lv/renamed"), 0);
	fscluster_kill(f, FSCLUSTER_VFS, SIGKILL);
	fscluster_restart(f, FSCLUSTER_MFS);
	fscluster_start(f, FSCLUSTER_VFS, "restart");
	assert_errno(plexus_fsync(px, w), EIO);   /* "gone" went with them */
	assert_int_equal(plexus_fsync(px, w), 0); /* reported once */
	assert_errno(plexus_fsync(px, dir), EIO); /* and the rename */
	assert_int_equal(plexus_fsync(px, dir), 0);
	struct stat st;
	assert_int_equal(plexus_fstat(px, w, &st), 0);
	assert_int_equal(st.st_size, 4);
	assert_int_equal(plexus_stat(px, "/lv/kept", &st), 0);
	assert_errno(plexus_stat(px, "/lv/renamed", &st), ENOENT);
	assert_int_equal(plexus_write(px, w, "new", 3), 3); /* a change after the loss: no EIO */
	assert_int_equal(plexus_fsync(px, w), 0);
	/* writes through descriptors closed before a sync stay their files' */
	int c1 = plexus_open(px, "/lv/c1", O_RDWR | O_CREAT, 0644);
	int c2 = plexus_open(px, "/lv/c2", O_RDWR | O_CREAT, 0644);
	assert_true(c1 >= 0 && c2 >= 0);
	assert_int_equal(plexus_fsync(px, dir), 0); /* both names are durable */
	assert_int_equal(plexus_write(px, c1, "lost", 4), 4);
	assert_int_equal(plexus_write(px, c2, "lost", 4), 4);
	assert_int_equal(plexus_close(px, c1), 0);
	assert_int_equal(plexus_close(px, c2), 0);
	fscluster_kill(f, FSCLUSTER_VFS, SIGKILL);
	fscluster_restart(f, FSCLUSTER_MFS);
	fscluster_start(f, FSCLUSTER_VFS, "restart");
	assert_int_equal(plexus_fsync(px, w), 0); /* another file's fsync: not its loss */
	c1 = plexus_open(px, "/lv/c1", O_RDONLY);
	assert_true(c1 >= 0);
	assert_errno(plexus_fsync(px, c1), EIO); /* c1's write went with them */
	assert_int_equal(plexus_fsync(px, c1), 0);
	assert_int_equal(plexus_fstat(px, c1, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_errno(plexus_syncfs(px, w), EIO); /* and c2's, to the file system's sync */
	assert_int_equal(plexus_syncfs(px, w), 0);
	assert_int_equal(plexus_close(px, c1), 0);
	assert_int_equal(plexus_close(px, w), 0);
	assert_int_equal(plexus_close(px, dir), 0);
	plexus_disconnect(&px);
	PASSED();
}

/* VFS and the file server die together with a write acknowledged through a descriptor that
 * is still open when another descriptor of the same file is fsynced, as a file opened again
 * for `sync FILE` through `plexus mount` is while the kernel's release of the closed one is
 * still on its way: that fsync answers EIO, as Linux tells a write-back error to each
 * description of the file; the writing descriptor's own fsync too, once; one opened after
 * that, nothing. A loss told that way is not told again when the writing descriptor closes;
 * and a closed descriptor's lost write is reported by the next fsync of its file even when
 * the fsyncing descriptor wrote since. */
static void test_lost_through_another_descriptor(void **state)
{
	fscluster *f = *state;
	plexus *px = s_connect(f, "another");
	uint8_t buf[4096];
	assert_int_equal(plexus_mkdir(px, "/ad", 0755), 0);
	s_write_synced(px, "/ad/f", buf, sizeof buf, 31);
	s_write_synced(px, "/ad/g", buf, sizeof buf, 32);
	s_write_synced(px, "/ad/h", buf, sizeof buf, 33);
	int dir = plexus_open(px, "/ad", O_RDONLY | O_DIRECTORY);
	assert_int_equal(plexus_fsync(px, dir), 0); /* the three names are durable */
	int a = plexus_open(px, "/ad/f", O_WRONLY | O_APPEND);
	int g = plexus_open(px, "/ad/g", O_WRONLY | O_APPEND);
	int h = plexus_open(px, "/ad/h", O_WRONLY | O_APPEND);
	assert_true(a >= 0 && g >= 0 && h >= 0);
	assert_int_equal(plexus_write(px, a, "lost", 4), 4);
	assert_int_equal(plexus_write(px, g, "lost", 4), 4);
	assert_int_equal(plexus_write(px, h, "lost", 4), 4);
	assert_int_equal(plexus_close(px, h), 0);
	fscluster_kill(f, FSCLUSTER_VFS, SIGKILL);
	fscluster_restart(f, FSCLUSTER_MFS);
	fscluster_start(f, FSCLUSTER_VFS, "restart");
	int b = plexus_open(px, "/ad/f", O_RDONLY);
	assert_true(b >= 0);
	assert_errno(plexus_fsync(px, b), EIO);   /* a's write went with them */
	assert_int_equal(plexus_fsync(px, b), 0); /* told once */
	assert_errno(plexus_fsync(px, a), EIO);   /* a was open at the loss: told too */
	assert_int_equal(plexus_fsync(px, a), 0);
	int c = plexus_open(px, "/ad/f", O_RDONLY);
	assert_int_equal(plexus_fsync(px, c), 0); /* opened once it was told */
	int g2 = plexus_open(px, "/ad/g", O_RDONLY);
	assert_errno(plexus_fsync(px, g2), EIO);
	assert_int_equal(plexus_close(px, g), 0); /* told already: nothing left for g2 */
	assert_int_equal(plexus_fsync(px, g2), 0);
	int h2 = plexus_open(px, "/ad/h", O_WRONLY | O_APPEND);
	assert_int_equal(plexus_write(px, h2, "new", 3), 3);
	assert_errno(plexus_fsync(px, h2), EIO); /* h's write is lost, whatever h2 wrote */
	assert_int_equal(plexus_fsync(px, h2), 0);
	struct stat st;
	assert_int_equal(plexus_fstat(px, b, &st), 0);
	assert_int_equal(st.st_size, sizeof buf);
	int fds[] = {a, b, c, g2, h2, dir};
	for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
		assert_int_equal(plexus_close(px, fds[i]), 0);
	plexus_disconnect(&px);
	PASSED();
}

/* VFS and the file server die together after renames and an unlink in two directories,
 * acknowledged through one handle (as every user's calls through `plexus mount` go through
 * one): each directory's fsync answers EIO for the changes to its own entries, once, even
 * when the other's fsync reported first; a directory the lost changes did not touch, opened
 * after the first report, is not blamed. */
static void test_lost_names_per_directory(void **state)
{
	fscluster *f = *state;
	plexus *px = s_connect(f, "perdir");
	uint8_t buf[512];
	const char *dirs[] = {"/nd", "/nd/a", "/nd/b", "/nd/c"};
	for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
		assert_int_equal(plexus_mkdir(px, dirs[i], 0755), 0);
	s_write_synced(px, "/nd/a/x", buf, sizeof buf, 41);
	s_write_synced(px, "/nd/b/y", buf, sizeof buf, 42);
	s_write_synced(px, "/nd/b/z", buf, sizeof buf, 43);
	assert_int_equal(plexus_sync(px), 0); /* every name durable */
	assert_int_equal(plexus_rename(px, "/nd/a/x", "/nd/a/x2"), 0);
	assert_int_equal(plexus_rename(px, "/nd/b/y", "/nd/b/y2"), 0);
	assert_int_equal(plexus_unlink(px, "/nd/b/z"), 0);
	fscluster_kill(f, FSCLUSTER_VFS, SIGKILL);
	fscluster_restart(f, FSCLUSTER_MFS);
	fscluster_start(f, FSCLUSTER_VFS, "restart");
	int a = plexus_open(px, "/nd/a", O_RDONLY | O_DIRECTORY);
	assert_true(a >= 0);
	assert_errno(plexus_fsync(px, a), EIO); /* x's rename went with them */
	assert_int_equal(plexus_fsync(px, a), 0);
	int c = plexus_open(px, "/nd/c", O_RDONLY | O_DIRECTORY);
	assert_int_equal(plexus_fsync(px, c), 0); /* untouched */
	int b = plexus_open(px, "/nd/b", O_RDONLY | O_DIRECTORY);
	assert_true(b >= 0);
	assert_errno(plexus_fsync(px, b), EIO); /* y's rename and z's unlink, though a reported */
	assert_int_equal(plexus_fsync(px, b), 0);
	struct stat st;
	assert_int_equal(plexus_stat(px, "/nd/a/x", &st), 0);
	assert_int_equal(plexus_stat(px, "/nd/b/z", &st), 0);
	int fds[] = {a, b, c};
	for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
		assert_int_equal(plexus_close(px, fds[i]), 0);
	plexus_disconnect(&px);
	PASSED();
}

/* ---- threads and processes ---- */

typedef struct worker {
	plexus *px;
	int id;
	int errors;
} worker;

/* Descriptors held across an MFS restart (no journal on this disk, no periodic write-back):
 * an O_APPEND write goes to the end of the file as the new instance has it (the lost bytes
 * leave no hole), and a descriptor of a file whose creation was lost fails EIO from then on.
 * It never reaches another file: not the one the lost unlink had freed (the crash took the
 * unlink back; MFS gives no freed inode number out before a write-back), nor one made after
 * the restart. */
static void test_descriptors_across_fs_restart(void **state)
{
	fscluster *f = *state;
	plexus *px = s_connect(f, "across");
	char a[1000], b[1000], c[1000], back[4000];
	memset(a, 'a', sizeof a);
	memset(b, 'b', sizeof b);
	memset(c, 'c', sizeof c);
	assert_int_equal(plexus_mkdir(px, "/ac", 0755), 0);
	s_put(px, "/ac/one", "one, synced");
	int ap = plexus_open(px, "/ac/log", O_WRONLY | O_CREAT | O_APPEND, 0644);
	assert_true(ap >= 0);
	assert_int_equal(plexus_write(px, ap, a, sizeof a), 1000);
	assert_int_equal(plexus_sync(px), 0);
	assert_int_equal(plexus_write(px, ap, b, sizeof b), 1000); /* never synced */
	assert_int_equal(plexus_unlink(px, "/ac/one"), 0);         /* never synced */
	int two = plexus_open(px, "/ac/two", O_RDWR | O_CREAT | O_EXCL, 0644);
	assert_true(two >= 0);
	assert_int_equal(plexus_write(px, two, "two", 3), 3);
	s_restart_mfs(f, px);

	assert_int_equal(plexus_write(px, ap, c, sizeof c), 1000);
	assert_errno(plexus_fsync(px, ap), EIO); /* the b's */
	assert_int_equal(plexus_fsync(px, ap), 0);
	int rd = plexus_open(px, "/ac/log", O_RDONLY);
	assert_int_equal(plexus_read(px, rd, back, sizeof back), 2000);
	assert_memory_equal(back, a, 1000);
	assert_memory_equal(back + 1000, c, 1000);
	assert_int_equal(plexus_close(px, rd), 0);

	struct stat st;
	assert_errno(plexus_write(px, two, "2", 1), EIO);
	assert_errno(plexus_fstat(px, two, &st), EIO);
	assert_errno(plexus_stat(px, "/ac/two", &st), ENOENT);
	s_put(px, "/ac/three", "three, made after"); /* may get two's number again */
	assert_errno(plexus_pwrite(px, two, "XX", 2, 0), EIO);
	assert_errno(plexus_ftruncate(px, two, 0), EIO);
	rd = plexus_open(px, "/ac/one", O_RDONLY); /* back: its unlink was lost */
	assert_true(rd >= 0);
	assert_int_equal(plexus_read(px, rd, back, sizeof back), 11);
	assert_memory_equal(back, "one, synced", 11);
	assert_int_equal(plexus_close(px, rd), 0);
	rd = plexus_open(px, "/ac/three", O_RDONLY);
	assert_int_equal(plexus_read(px, rd, back, sizeof back), 17);
	assert_memory_equal(back, "three, made after", 17);
	assert_int_equal(plexus_close(px, rd), 0);
	assert_int_equal(plexus_close(px, two), 0);
	assert_int_equal(plexus_close(px, ap), 0);
	plexus_disconnect(&px);
	PASSED();
}

/* Each thread its own file: write, read back, stat, list, remove; 20 rounds. */
static void *s_worker(void *arg)
{
	worker *w = arg;
	char path[64], buf[4096], back[4096];
	for (int round = 0; round < 20; round++) {
		snprintf(path, sizeof path, "/threads/t%d-%d", w->id, round);
		s_pattern((uint8_t *)buf, sizeof buf, (unsigned)(w->id * 100 + round));
		int fd = plexus_open(w->px, path, O_RDWR | O_CREAT | O_EXCL, 0644);
		struct stat st;
		bool ok = fd >= 0 && plexus_write(w->px, fd, buf, sizeof buf) == sizeof buf &&
		          plexus_pread(w->px, fd, back, sizeof back, 0) == sizeof back &&
		          memcmp(buf, back, sizeof buf) == 0 && plexus_fstat(w->px, fd, &st) == 0 &&
		          st.st_size == sizeof buf && plexus_close(w->px, fd) == 0 &&
		          plexus_unlink(w->px, path) == 0;
		w->errors += !ok;
	}
	return NULL;
}

static void test_threads_one_handle(void **state)
{
	fscluster *f = *state;
	plexus *px = s_connect(f, "threads");
	assert_int_equal(plexus_mkdir(px, "/threads", 0755), 0);
	worker w[8];
	pthread_t t[8];
	for (int i = 0; i < 8; i++) {
		w[i] = (worker){.px = px, .id = i};
		assert_int_equal(pthread_create(&t[i], NULL, s_worker, &w[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].errors, 0);
	}
	plexus_dir *dir = plexus_opendir(px, "/threads");
	int left = 0;
	while (plexus_readdir(dir))
		left++;
	plexus_closedir(dir);
	assert_int_equal(left, 2); /* . and .. */
	plexus_disconnect(&px);
	PASSED();
}

/* One thread opens and closes files as fast as it can while another opens files and keeps
 * them, on one handle (as plexus mount's threads do): VFS gives a number just closed by one to
 * the other, maybe before the closing thread has noted its close. Every kept descriptor
 * still names its file after VFS restarts (the handle's table kept it and opened it again). */
typedef struct s_churn {
	plexus *px;
	atomic_bool stop;
	int errors;
} s_churn;

static void *s_churner(void *arg)
{
	s_churn *c = arg;
	for (int i = 0; !atomic_load(&c->stop); i++) {
		char path[64];
		snprintf(path, sizeof path, "/race/churn%d", i % 8);
		int fd = plexus_open(c->px, path, O_WRONLY | O_CREAT, 0644);
		c->errors +=
		    fd < 0 || plexus_write(c->px, fd, "x", 1) != 1 || plexus_close(c->px, fd) != 0;
	}
	return NULL;
}

static void test_close_open_race(void **state)
{
	fscluster *f = *state;
	plexus *px = s_connect(f, "race");
	assert_int_equal(plexus_mkdir(px, "/race", 0755), 0);
	s_churn c = {.px = px};
	pthread_t t[6];
	for (int i = 0; i < 6; i++)
		assert_int_equal(pthread_create(&t[i], NULL, s_churner, &c), 0);
	enum { KEPT = 200 };
	int kept[KEPT];
	for (int i = 0; i < KEPT; i++) {
		char path[64];
		snprintf(path, sizeof path, "/race/kept%d", i);
		kept[i] = plexus_open(px, path, O_RDWR | O_CREAT, 0644);
		assert_true(kept[i] >= 0);
		plexus_close(px, plexus_open(px, "/race", O_RDONLY | O_DIRECTORY));
	}
	atomic_store(&c.stop, true);
	for (int i = 0; i < 6; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(c.errors, 0);
	fscluster_restart(f, FSCLUSTER_VFS);
	int lost = 0;
	for (int i = 0; i < KEPT; i++) {
		char path[64];
		snprintf(path, sizeof path, "/race/kept%d", i);
		struct stat a, b;
		bool same = plexus_fstat(px, kept[i], &a) == 0 && plexus_stat(px, path, &b) == 0 &&
		            a.st_ino == b.st_ino;
		lost += !same;
		plexus_close(px, kept[i]);
	}
	print_message("%d of %d kept descriptors lost\n", lost, KEPT);
	assert_int_equal(lost, 0);
	plexus_disconnect(&px);
	PASSED();
}

/* The process table entry of the handle with this name, or NULL. */
static const plexus_proc *s_find(const plexus_proc *p, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(p[i].name, name) == 0)
			return &p[i];
	return NULL;
}

static void test_two_handles(void **state)
{
	fscluster *f = *state;
	plexus *a = s_connect(f, "first"), *b = s_connect(f, "second");
	assert_int_equal(plexus_mkdir(a, "/two", 0755), 0);
	s_put(a, "/two/file", "x");
	int fa = plexus_open(a, "/two/file", O_RDONLY);
	int fb = plexus_open(b, "/two/file", O_RDONLY);
	assert_int_equal(fa, fb); /* each has its own table: the same lowest number */
	assert_int_equal(plexus_close(a, fa), 0);
	char c;
	assert_int_equal(plexus_read(b, fb, &c, 1), 1); /* b's is still open */
	assert_int_equal(plexus_chdir(a, "/two"), 0);
	char cwd[64];
	assert_string_equal(plexus_getcwd(b, cwd, sizeof cwd), "/");
	plexus_proc *p;
	size_t n;
	assert_int_equal(plexus_ps(a, &p, &n), 0);
	const plexus_proc *pa = s_find(p, n, "first"), *pb = s_find(p, n, "second");
	assert_non_null(pa);
	assert_non_null(pb);
	assert_string_not_equal(pa->endpoint, pb->endpoint);
	assert_int_equal(pa->pid, getpid());
	assert_string_equal(pa->node, "n0");
	assert_string_equal(pa->cwd, "/two");
	assert_int_equal(pa->nfiles, 0);
	assert_int_equal(pb->nfiles, 1);
	assert_string_equal(pb->files[0].path, "/two/file");
	assert_int_equal(pb->files[0].position, 1);
	plexus_ps_free(p, n);
	plexus_disconnect(&b);
	assert_int_equal(plexus_ps(a, &p, &n), 0);
	assert_null(s_find(p, n, "second")); /* VFS_EXIT */
	plexus_ps_free(p, n);
	plexus_disconnect(&a);
	PASSED();
}

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A child process with a handle and an open file, killed: VFS forgets it with its lease. */
static void test_dead_process_forgotten(void **state)
{
	fscluster *f = *state;
	int ready[2];
	assert_int_equal(pipe(ready), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(ready[0]);
		plexus *px = s_connect(f, "doomed");
		int fd = plexus_open(px, "/doomed", O_WRONLY | O_CREAT, 0644);
		char ok = fd >= 0 ? 'y' : 'n';
		if (write(ready[1], &ok, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	char ok = 0;
	assert_int_equal(read(ready[0], &ok, 1), 1);
	close(ready[0]);
	assert_int_equal(ok, 'y');
	plexus *px = s_connect(f, "watcher");
	plexus_proc *p;
	size_t n;
	assert_int_equal(plexus_ps(px, &p, &n), 0);
	const plexus_proc *d = s_find(p, n, "doomed");
	assert_non_null(d);
	assert_int_equal(d->pid, pid);
	assert_int_equal(d->nfiles, 1);
	plexus_ps_free(p, n);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	bool gone = false;
	for (int64_t end = s_now_ms() + 20000; !gone && s_now_ms() < end;) {
		assert_int_equal(plexus_ps(px, &p, &n), 0);
		gone = s_find(p, n, "doomed") == NULL;
		plexus_ps_free(p, n);
		if (!gone)
			usleep(100 * 1000);
	}
	assert_true(gone);
	plexus_disconnect(&px);
	PASSED();
}

/* VFS forgets the process (its record vanished, as when the lease lapses while etcd is out of
 * reach): the handle writes its record again and registers again by itself; path calls go
 * on, and the descriptors are opened again where they were. */
static void test_forgotten_handle_rejoins(void **state)
{
	fscluster *f = *state;
	plexus *px = s_connect(f, "survivor"), *watch = s_connect(f, "watch");
	s_put(px, "/before", "kept");
	int fd = plexus_open(px, "/before", O_RDONLY);
	assert_true(fd >= 0);
	uint64_t gen;
	const char *label = plexus__label(px, &gen);
	assert_int_equal(plx_endpoint_withdraw(f->d->etcd, f->d->cluster, label, gen), 0);
	plexus_proc *p;
	size_t n;
	bool gone = false;
	for (int64_t end = s_now_ms() + 20000; !gone && s_now_ms() < end;) {
		assert_int_equal(plexus_ps(watch, &p, &n), 0);
		gone = s_find(p, n, "survivor") == NULL;
		plexus_ps_free(p, n);
		if (!gone)
			usleep(50 * 1000);
	}
	assert_true(gone);
	struct stat st;
	assert_int_equal(plexus_stat(px, "/before", &st), 0);
	assert_int_equal(st.st_size, 4);
	char c;
	assert_int_equal(plexus_read(px, fd, &c, 1), 1); /* opened again by the rejoin */
	assert_int_equal(c, 'k');
	assert_int_equal(plexus_ps(watch, &p, &n), 0);
	assert_non_null(s_find(p, n, "survivor"));
	plexus_ps_free(p, n);
	plx_endpoint_rec rec;
	assert_int_equal(plx_endpoint_lookup(f->d->etcd, f->d->cluster, label, &rec), 0);
	plexus_disconnect(&watch);
	plexus_disconnect(&px);
	PASSED();
}

/* VFS is SIGKILLed and restarted while a process holds descriptors: a descriptor never
 * reaches the new instance by its old number by chance. The handle opens its files again at
 * the same numbers before any other call (a new open gets a number of its own), an appending
 * descriptor goes on appending to its file, a reading one goes on where it was, a file
 * replaced meanwhile and the ends of a pipe fail with ESTALE until closed, and no other file
 * changes. Twice in a row. */
static void test_vfs_restart_descriptors(void **state)
{
	fscluster *f = *state;
	plexus *px = s_connect(f, "keeper"), *other = s_connect(f, "other");
	s_put(px, "/keep.log", "abc");
	s_put(px, "/replaced", "old");
	int app = plexus_open(px, "/keep.log", O_WRONLY | O_APPEND);
	int rd = plexus_open(px, "/keep.log", O_RDONLY);
	int rep = plexus_open(px, "/replaced", O_RDONLY);
	int pfd[2];
	assert_true(app >= 0 && rd >= 0 && rep >= 0);
	assert_int_equal(plexus_pipe(px, pfd), 0);
	assert_int_equal(plexus_write(px, app, "def", 3), 3);
	assert_int_equal(plexus_fsync(px, app), 0);
	char buf[16] = "";
	assert_int_equal(plexus_read(px, rd, buf, 2), 2);
	for (int round = 0; round < 2; round++) {
		fscluster_restart(f, FSCLUSTER_VFS);
		if (round == 0) { /* replaced while nobody looked, as editors do: written aside
			           * and renamed over it, another inode at that name */
			s_put(other, "/replaced.tmp", "new");
			assert_int_equal(plexus_rename(other, "/replaced.tmp", "/replaced"), 0);
		}
		int victim = plexus_open(px, "/victim", O_CREAT | O_WRONLY, 0644);
		assert_true(victim >= 0);
		assert_true(victim != app && victim != rd && victim != rep && victim != pfd[0] &&
		            victim != pfd[1]);
		assert_int_equal(plexus_write(px, app, round ? "jk" : "ghi", round ? 2 : 3),
		                 round ? 2 : 3);
		assert_int_equal(plexus_fsync(px, app), 0);
		assert_int_equal(plexus_close(px, victim), 0);
	}
	assert_int_equal(plexus_read(px, rd, buf, 3), 3); /* from where it was: byte 2 */
	assert_memory_equal(buf, "cde", 3);
	assert_errno(plexus_read(px, rep, buf, 1), ESTALE);
	assert_errno(plexus_write(px, pfd[1], "x", 1), ESTALE);
	assert_int_equal(plexus_close(px, rep), 0);
	assert_errno(plexus_close(px, rep), EBADF);
	assert_int_equal(plexus_close(px, pfd[0]), 0);
	assert_int_equal(plexus_close(px, pfd[1]), 0);
	struct stat st;
	assert_int_equal(plexus_stat(other, "/victim", &st), 0);
	assert_int_equal(st.st_size, 0);
	int chk = plexus_open(other, "/keep.log", O_RDONLY);
	memset(buf, 0, sizeof buf);
	assert_int_equal(plexus_read(other, chk, buf, sizeof buf), 11);
	assert_string_equal(buf, "abcdefghijk");
	plexus_close(other, chk);
	plexus_close(px, app);
	plexus_close(px, rd);
	plexus_disconnect(&other);
	plexus_disconnect(&px);
	PASSED();
}

/* Last: VFS stops; a handle's calls fail with EHOSTDOWN, new handles cannot connect. */
static void *s_connect_thread(void *opts)
{
	return plexus_connect(opts);
}

static void test_vfs_gone(void **state)
{
	fscluster *f = *state;
	plexus *px = s_connect(f, "orphan");
	struct stat st;
	assert_int_equal(plexus_stat(px, "/", &st), 0);
	fscluster_kill(f, FSCLUSTER_VFS, SIGKILL);
	int rc = 0;
	for (int64_t end = s_now_ms() + 20000; s_now_ms() < end;) {
		rc = plexus_stat(px, "/", &st);
		if (rc < 0 && errno == EHOSTDOWN)
			break;
	}
	assert_int_equal(rc, -1);
	assert_int_equal(errno, EHOSTDOWN);
	plexus_disconnect(&px);
	plexus_opts o;
	plexus_opts_init(&o);
	o.etcd = netns_hub_etcd_endpoints(f->d->c);
	o.cluster = f->d->cluster;
	assert_null(plexus_connect(&o));
	assert_int_equal(errno, EHOSTDOWN);
	/* while RS says VFS is starting, a new program waits for it instead */
	char key[256];
	snprintf(key, sizeof key, "/plexus/%s/svc/vfs", f->d->cluster);
	const char *starting = "{\"label\":\"vfs\",\"state\":\"starting\"}";
	assert_int_equal(plx_etcd_put(f->d->etcd, key, starting, strlen(starting), 0, NULL), 0);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, s_connect_thread, &o), 0);
	usleep(1000 * 1000);
	fscluster_start(f, FSCLUSTER_VFS, "restart");
	void *late = NULL;
	pthread_join(t, &late);
	assert_non_null(late);
	px = late;
	assert_int_equal(plexus_stat(px, "/", &st), 0);
	plexus_disconnect(&px);
	PASSED();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_files, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_create_uncached_names, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_open_stat, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_large_io, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_data_moves_once, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_direct_across_mfs_restart, test_setup,
	                                    test_teardown),
	    cmocka_unit_test_setup_teardown(test_watch, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_descriptors, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_pipes_and_select, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_names, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_at_calls, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_directories, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_file_systems, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_sync_calls, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_durability, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_lost_changes_reported, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_lost_changes_per_file, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_lost_with_vfs, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_lost_through_another_descriptor, test_setup,
	                                    test_teardown),
	    cmocka_unit_test_setup_teardown(test_lost_names_per_directory, test_setup,
	                                    test_teardown),
	    cmocka_unit_test_setup_teardown(test_descriptors_across_fs_restart, test_setup,
	                                    test_teardown),
	    cmocka_unit_test_setup_teardown(test_threads_one_handle, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_close_open_race, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_two_handles, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_dead_process_forgotten, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_forgotten_handle_rejoins, test_setup,
	                                    test_teardown),
	    cmocka_unit_test_setup_teardown(test_vfs_restart_descriptors, test_setup,
	                                    test_teardown),
	    cmocka_unit_test_setup_teardown(test_vfs_gone, test_setup, test_teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
