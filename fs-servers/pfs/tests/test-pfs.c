/*
 * test-pfs.c — plexus-pfs, the pipe file server, as a process against a private etcd: a
 * client endpoint sends it FS requests as VFS does. Checks: a new pipe's attributes; bytes come
 * out in the order they went in, across the ring's wrap; an empty pipe answers -EAGAIN, a full
 * one takes what fits and an atomic write (<= 4096 bytes) all or nothing; FS_STAT's size;
 * FS_FTRUNC; references (FS_PUTNODE frees at the last, a stale inode is -EINVAL); bad requests
 * get clear errors and the server goes on; FS_STATVFS, FS_SYNC; --help and bad options.
 *
 * Entry points: main.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <plexus/endpoint.h>
#include <plexus/transport.h>

#include "etcd_fixture.h"
#include "plexus/proto/fs.pb-c.h"

#define S_CLUSTER  "pfstest"
#define S_WAIT_MS  10000
#define S_CAPACITY (64 * 1024)

typedef struct fixture {
	plx_etcdh *h;
	plx_etcd *etcd;
	plx_ctx *ctx;
	plx_epcache *cache;
	plx_ep *ep;
	pid_t pid;
	char label[32];
} fixture;

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static pid_t s_spawn(fixture *f, const char *const *extra)
{
	char *argv[16];
	int n = 0;
	const char *base[] = {
	    PLEXUS_PFS_BIN, "--label", f->label, "--etcd", plx_etcdh_endpoints(f->h),
	    "--cluster",    S_CLUSTER};
	for (size_t i = 0; i < sizeof base / sizeof *base; i++)
		argv[n++] = (char *)base[i];
	for (; extra && *extra; extra++)
		argv[n++] = (char *)*extra;
	argv[n] = NULL;
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open("/dev/null", O_RDWR);
		dup2(fd, 0);
		if (!getenv("PLEXUS_TEST_VERBOSE"))
			dup2(fd, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static int group_setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	if (!f || etcd_fixture_start(&f->h, &f->etcd) < 0)
		return -1;
	snprintf(f->label, sizeof f->label, "pfs%d", (int)getpid() % 100000);
	plx_register_types(&plexus__fs_type__descriptor);
	if (!(f->ctx = plx_ctx_new()) ||
	    !(f->cache = plx_epcache_new(f->etcd, S_CLUSTER, f->ctx)) ||
	    !(f->ep = plx_ep_new(f->ctx, "pfsclient", 1)))
		return -1;
	f->pid = s_spawn(f, NULL);
	uint64_t gen = 0;
	for (int64_t end = s_now_ms() + S_WAIT_MS; s_now_ms() < end; usleep(10 * 1000))
		if (plx_route_lookup(f->ctx, f->label, &gen, NULL, 0) == 0)
			break;
	*state = f;
	return gen ? 0 : -1;
}

static int group_teardown(void **state)
{
	fixture *f = *state;
	if (!f)
		return 0;
	if (f->pid > 0) {
		kill(f->pid, SIGTERM);
		int status = 0;
		waitpid(f->pid, &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fprintf(stderr, "plexus-pfs ended with status %#x\n", status);
	}
	plx_ep_destroy(&f->ep);
	plx_epcache_destroy(&f->cache);
	plx_ctx_destroy(&f->ctx);
	etcd_fixture_stop(&f->h, &f->etcd);
	free(f);
	return 0;
}

/* Sends one request; returns the status and, when reply is not NULL, the unpacked FsReply
 * (caller frees) and the data frame copied into data (up to size bytes, *got its length). */
static int s_call(fixture *f, uint32_t type, const ProtobufCMessage *body, const void *data,
                  size_t data_size, Plexus__FsReply **reply, void *buf, size_t size, size_t *got)
{
	plx_request req = {.type = type, .body = body, .data = data, .data_size = data_size};
	snprintf(req.dst.label, sizeof req.dst.label, "%s", f->label);
	plx_msg *msg = NULL;
	int rc = plx_sendrec(f->ep, &req, &msg, S_WAIT_MS);
	assert_true(rc != -ETIMEDOUT && rc != -PLX_EDEADSRCDST);
	if (rc == 0 && reply)
		assert_non_null(*reply = (Plexus__FsReply *)plx_msg_unpack(
		                    msg, &plexus__fs_reply__descriptor));
	if (rc == 0 && buf) {
		assert_true(msg->data_size <= size);
		if (msg->data_size)
			memcpy(buf, msg->data, msg->data_size);
		*got = msg->data_size;
	}
	plx_msg_destroy(&msg);
	return rc;
}

static uint64_t s_newnode(fixture *f, uint32_t mode)
{
	Plexus__FsCreate c = PLEXUS__FS_CREATE__INIT;
	Plexus__FsCred cred = PLEXUS__FS_CRED__INIT;
	cred.uid = 1000;
	cred.gid = 100;
	c.cred = &cred;
	c.mode = mode;
	Plexus__FsReply *r = NULL;
	assert_int_equal(
	    s_call(f, PLEXUS__FS_TYPE__FS_NEWNODE, &c.base, NULL, 0, &r, NULL, 0, NULL), 0);
	assert_non_null(r->attr);
	assert_true(S_ISFIFO(r->attr->mode));
	assert_int_equal(r->attr->mode & 07777, mode & 07777);
	assert_int_equal(r->attr->uid, 1000);
	assert_int_equal(r->attr->gid, 100);
	assert_int_equal(r->attr->size, 0);
	uint64_t ino = r->attr->ino;
	assert_true(ino > 0);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return ino;
}

/* FS_WRITE of size bytes; returns the status or the count. */
static int64_t s_write(fixture *f, uint64_t ino, const void *data, size_t size)
{
	Plexus__FsIo io = PLEXUS__FS_IO__INIT;
	io.ino = ino;
	io.size = size;
	Plexus__FsReply *r = NULL;
	int rc = s_call(f, PLEXUS__FS_TYPE__FS_WRITE, &io.base, data, size, &r, NULL, 0, NULL);
	if (rc < 0)
		return rc;
	int64_t n = (int64_t)r->count;
	assert_non_null(r->attr);
	assert_int_equal(r->attr->ino, ino);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return n;
}

/* FS_READ of at most size bytes into buf; returns the status or the count. */
static int64_t s_read(fixture *f, uint64_t ino, void *buf, size_t size)
{
	Plexus__FsIo io = PLEXUS__FS_IO__INIT;
	io.ino = ino;
	io.size = size;
	io.position = 12345; /* ignored: pipes have no positions */
	Plexus__FsReply *r = NULL;
	size_t got = 0;
	int rc = s_call(f, PLEXUS__FS_TYPE__FS_READ, &io.base, NULL, 0, &r, buf, size, &got);
	if (rc < 0)
		return rc;
	assert_int_equal(r->count, got);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return (int64_t)got;
}

static int64_t s_size(fixture *f, uint64_t ino)
{
	Plexus__FsIno q = PLEXUS__FS_INO__INIT;
	q.ino = ino;
	Plexus__FsReply *r = NULL;
	int rc = s_call(f, PLEXUS__FS_TYPE__FS_STAT, &q.base, NULL, 0, &r, NULL, 0, NULL);
	if (rc < 0)
		return rc;
	int64_t size = (int64_t)r->attr->size;
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return size;
}

static int s_put(fixture *f, uint64_t ino, uint32_t count)
{
	Plexus__FsPutnode p = PLEXUS__FS_PUTNODE__INIT;
	p.ino = ino;
	p.count = count;
	return s_call(f, PLEXUS__FS_TYPE__FS_PUTNODE, &p.base, NULL, 0, NULL, NULL, 0, NULL);
}

static void test_bytes_in_order(void **state)
{
	fixture *f = *state;
	uint64_t ino = s_newnode(f, S_IFIFO | 0640);
	char buf[64];
	assert_int_equal(s_read(f, ino, buf, sizeof buf), -EAGAIN);
	assert_int_equal(s_write(f, ino, "hello, ", 7), 7);
	assert_int_equal(s_write(f, ino, "pipe", 4), 4);
	assert_int_equal(s_size(f, ino), 11);
	assert_int_equal(s_read(f, ino, buf, 3), 3);
	assert_memory_equal(buf, "hel", 3);
	assert_int_equal(s_read(f, ino, buf, sizeof buf), 8);
	assert_memory_equal(buf, "lo, pipe", 8);
	assert_int_equal(s_read(f, ino, buf, sizeof buf), -EAGAIN);
	assert_int_equal(s_size(f, ino), 0);
	assert_int_equal(s_put(f, ino, 1), 0);
}

/* Fills the pipe, drains part, fills across the ring's end and checks every byte. */
static void test_full_pipe_and_wrap(void **state)
{
	fixture *f = *state;
	uint64_t ino = s_newnode(f, S_IFIFO | 0600);
	static uint8_t out[4 * S_CAPACITY], in[4 * S_CAPACITY];
	for (size_t i = 0; i < sizeof out; i++)
		out[i] = (uint8_t)(i * 7 + i / 251);
	size_t written = 0, read = 0;
	/* 60 KiB in 20 KiB writes: non-atomic writes take what fits. */
	for (int i = 0; i < 3; i++)
		written += (size_t)s_write(f, ino, out + written, 20 * 1024);
	assert_int_equal(written, 60 * 1024);
	/* 4 KiB left: an atomic write of 4096 + 1 is not atomic and takes 4096. */
	assert_int_equal(s_write(f, ino, out + written, 4097), 4096);
	written += 4096;
	assert_int_equal(s_size(f, ino), S_CAPACITY);
	assert_int_equal(s_write(f, ino, out + written, 1), -EAGAIN);
	assert_int_equal(s_write(f, ino, out + written, 100000), -EAGAIN);
	/* Drain 10 bytes: an atomic write of 11 does not fit at all, one of 10 does. */
	int64_t n = s_read(f, ino, in + read, 10);
	assert_int_equal(n, 10);
	read += 10;
	assert_int_equal(s_write(f, ino, out + written, 11), -EAGAIN);
	assert_int_equal(s_write(f, ino, out + written, 10), 10);
	written += 10;
	/* Alternate reads and writes across the wrap until 4 capacities went through. */
	while (read < sizeof in) {
		n = s_read(f, ino, in + read, 12345);
		assert_true(n > 0);
		read += (size_t)n;
		if (written < sizeof out) {
			size_t want = sizeof out - written < 30000 ? sizeof out - written : 30000;
			n = s_write(f, ino, out + written, want);
			assert_true(n > 0 || n == -EAGAIN);
			if (n > 0)
				written += (size_t)n;
		}
	}
	assert_int_equal(written, sizeof out);
	assert_memory_equal(in, out, sizeof out);
	assert_int_equal(s_read(f, ino, in, 1), -EAGAIN);
	assert_int_equal(s_put(f, ino, 1), 0);
}

static void test_truncate(void **state)
{
	fixture *f = *state;
	uint64_t ino = s_newnode(f, S_IFIFO | 0600);
	assert_int_equal(s_write(f, ino, "abcdef", 6), 6);
	Plexus__FsSetattr s = PLEXUS__FS_SETATTR__INIT;
	s.ino = ino;
	s.flags = PLEXUS__FS_SETATTR_FLAG__FS_SET_SIZE;
	s.size = 7;
	assert_int_equal(
	    s_call(f, PLEXUS__FS_TYPE__FS_FTRUNC, &s.base, NULL, 0, NULL, NULL, 0, NULL), -EINVAL);
	s.size = 2;
	assert_int_equal(
	    s_call(f, PLEXUS__FS_TYPE__FS_FTRUNC, &s.base, NULL, 0, NULL, NULL, 0, NULL), 0);
	char buf[8];
	assert_int_equal(s_read(f, ino, buf, sizeof buf), 2);
	assert_memory_equal(buf, "ab", 2);
	s.flags = PLEXUS__FS_SETATTR_FLAG__FS_SET_MODE;
	assert_int_equal(
	    s_call(f, PLEXUS__FS_TYPE__FS_FTRUNC, &s.base, NULL, 0, NULL, NULL, 0, NULL), -EINVAL);
	assert_int_equal(s_put(f, ino, 1), 0);
}

static void test_references(void **state)
{
	fixture *f = *state;
	uint64_t a = s_newnode(f, S_IFIFO | 0600), b = s_newnode(f, S_IFIFO | 0600);
	assert_true(b != a);
	assert_int_equal(s_write(f, a, "x", 1), 1);
	assert_int_equal(s_put(f, a, 2), -EINVAL); /* holds one */
	assert_int_equal(s_put(f, a, 0), -EINVAL);
	assert_int_equal(s_size(f, a), 1);
	assert_int_equal(s_put(f, a, 1), 0);
	assert_int_equal(s_size(f, a), -EINVAL); /* gone */
	assert_int_equal(s_write(f, a, "x", 1), -EINVAL);
	assert_int_equal(s_put(f, a, 1), -EINVAL);
	uint64_t c = s_newnode(f, S_IFIFO | 0600);
	assert_true(c != a && c != b); /* numbers are not reused */
	assert_int_equal(s_put(f, b, 1), 0);
	assert_int_equal(s_put(f, c, 1), 0);
}

static void test_bad_requests(void **state)
{
	fixture *f = *state;
	Plexus__FsCreate c = PLEXUS__FS_CREATE__INIT;
	c.mode = S_IFREG | 0644;
	assert_int_equal(
	    s_call(f, PLEXUS__FS_TYPE__FS_NEWNODE, &c.base, NULL, 0, NULL, NULL, 0, NULL), -EINVAL);
	uint64_t ino = s_newnode(f, S_IFIFO | 0600);
	Plexus__FsIo io = PLEXUS__FS_IO__INIT;
	io.ino = ino;
	io.size = 5; /* but 3 bytes come */
	assert_int_equal(
	    s_call(f, PLEXUS__FS_TYPE__FS_WRITE, &io.base, "abc", 3, NULL, NULL, 0, NULL),
	    -EBADMSG);
	io.size = 3; /* a read with a data frame */
	assert_int_equal(
	    s_call(f, PLEXUS__FS_TYPE__FS_READ, &io.base, "abc", 3, NULL, NULL, 0, NULL), -EBADMSG);
	Plexus__FsName name = PLEXUS__FS_NAME__INIT;
	name.dir = 1;
	name.name = "x";
	assert_int_equal(
	    s_call(f, PLEXUS__FS_TYPE__FS_LOOKUP, &name.base, NULL, 0, NULL, NULL, 0, NULL),
	    -ENOSYS);
	assert_int_equal(s_call(f, 0x7ff, NULL, NULL, 0, NULL, NULL, 0, NULL), -ENOSYS);
	/* A body that is no FsIo: FsName's field 2 is a string where FsIo has a number. */
	name.name = "abc";
	assert_int_equal(
	    s_call(f, PLEXUS__FS_TYPE__FS_READ, &name.base, NULL, 0, NULL, NULL, 0, NULL),
	    -EBADMSG);
	/* The server is still there and the pipe still works. */
	assert_int_equal(s_write(f, ino, "ok", 2), 2);
	char buf[4];
	assert_int_equal(s_read(f, ino, buf, sizeof buf), 2);
	assert_int_equal(s_put(f, ino, 1), 0);
}

static void test_statvfs_sync(void **state)
{
	fixture *f = *state;
	Plexus__FsReply *r = NULL;
	assert_int_equal(s_call(f, PLEXUS__FS_TYPE__FS_STATVFS, NULL, NULL, 0, &r, NULL, 0, NULL),
	                 0);
	assert_non_null(r->statvfs);
	assert_int_equal(r->statvfs->bsize, 4096);
	assert_true(r->statvfs->files > 0 && r->statvfs->ffree <= r->statvfs->files);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	assert_int_equal(s_call(f, PLEXUS__FS_TYPE__FS_SYNC, NULL, NULL, 0, NULL, NULL, 0, NULL),
	                 0);
}

/* Runs plexus-pfs with argv and returns its exit status. */
static int s_run(const char *const *argv)
{
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], (char **)argv);
		_exit(127);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* FS_NEWNODE as uid: the status, the inode in *ino. */
static int s_newnode_as(fixture *f, uint32_t uid, uint64_t *ino)
{
	Plexus__FsCreate c = PLEXUS__FS_CREATE__INIT;
	Plexus__FsCred cred = PLEXUS__FS_CRED__INIT;
	cred.uid = uid;
	c.cred = &cred;
	c.mode = S_IFIFO | 0600;
	Plexus__FsReply *r = NULL;
	int rc = s_call(f, PLEXUS__FS_TYPE__FS_NEWNODE, &c.base, NULL, 0, &r, NULL, 0, NULL);
	if (rc == 0) {
		*ino = r->attr->ino;
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	return rc;
}

/* One user holds 64 MiB of pipes (1024 of 64 KiB): the next is ENFILE, while another user and
 * root go on; a pipe given back makes room again. */
static void test_user_pipe_memory(void **state)
{
	fixture *f = *state;
	enum { N = 1024 }; /* --user-memory 64 MiB / --capacity 64 KiB, the defaults */
	static uint64_t mine[N];
	uint64_t other, spare;
	for (int i = 0; i < N; i++)
		assert_int_equal(s_newnode_as(f, 2000, &mine[i]), 0);
	assert_int_equal(s_newnode_as(f, 2000, &spare), -ENFILE);
	assert_int_equal(s_newnode_as(f, 2001, &other), 0);
	assert_int_equal(s_newnode_as(f, 0, &spare), 0);
	assert_int_equal(s_put(f, spare, 1), 0);
	assert_int_equal(s_put(f, mine[0], 1), 0);
	assert_int_equal(s_newnode_as(f, 2000, &mine[0]), 0);
	for (int i = 0; i < N; i++)
		assert_int_equal(s_put(f, mine[i], 1), 0);
	assert_int_equal(s_put(f, other, 1), 0);
}

static void test_options(void **state)
{
	(void)state;
	const char *help[] = {PLEXUS_PFS_BIN, "--help", NULL};
	const char *small[] = {PLEXUS_PFS_BIN, "--capacity", "100", NULL};
	const char *junk[] = {PLEXUS_PFS_BIN, "--bogus", "1", NULL};
	assert_int_equal(s_run(help), EX_OK);
	assert_int_equal(s_run(small), EX_USAGE);
	assert_int_equal(s_run(junk), EX_USAGE);
}

/* FS_STATVFS's free inodes: pipes that may still be made. */
static uint64_t s_pipes_free(fixture *f)
{
	Plexus__FsReply *r = NULL;
	assert_int_equal(s_call(f, PLEXUS__FS_TYPE__FS_STATVFS, NULL, NULL, 0, &r, NULL, 0, NULL),
	                 0);
	uint64_t ffree = r->statvfs->ffree;
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return ffree;
}

/* Pipes in all (65,536): root, whom no user limit binds, fills the server; then a new pipe is
 * ENOSPC for everyone, as statvfs foretold, and one freed makes room again. */
static void test_pipes_in_all(void **state)
{
	fixture *f = *state;
	enum { ALL = 65536 };
	uint64_t room = s_pipes_free(f), spare;
	assert_true(room > 0 && room <= ALL);
	uint64_t *mine = calloc(room, sizeof *mine);
	assert_non_null(mine);
	for (uint64_t i = 0; i < room; i++)
		assert_int_equal(s_newnode_as(f, 0, &mine[i]), 0);
	assert_int_equal(s_pipes_free(f), 0);
	assert_int_equal(s_newnode_as(f, 0, &spare), -ENOSPC);
	assert_int_equal(s_newnode_as(f, 2002, &spare), -ENOSPC);
	assert_int_equal(s_put(f, mine[0], 1), 0);
	assert_int_equal(s_newnode_as(f, 2002, &mine[0]), 0);
	for (uint64_t i = 0; i < room; i++)
		assert_int_equal(s_put(f, mine[i], 1), 0);
	assert_int_equal(s_pipes_free(f), room);
	free(mine);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bytes_in_order), cmocka_unit_test(test_full_pipe_and_wrap),
	    cmocka_unit_test(test_truncate),       cmocka_unit_test(test_references),
	    cmocka_unit_test(test_bad_requests),   cmocka_unit_test(test_statvfs_sync),
	    cmocka_unit_test(test_options),        cmocka_unit_test(test_user_pipe_memory),
	    cmocka_unit_test(test_pipes_in_all),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
