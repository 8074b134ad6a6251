/*
 * test-vfs-recovery.c — a block driver crash under a file system workload, on the multi-node
 * fixture: plexus-vdisk (node 3) over a `mkfs.minix -3` image, MFS (node 2) mounted as root,
 * VFS (node 1), the client here (node 0).
 *
 * What it proves: a client writes 64 MiB through VFS in 1 MiB writes with an fsync every
 * 8 MiB; the disk driver is SIGKILLed once about a quarter is written and started again with a
 * new generation as RS would (PLEXUS_INIT=restart); VFS sees the death and the new instance,
 * reopens and sends FS_NEW_DRIVER, MFS retries; the workload completes with no error, every
 * byte reads back as written, VFS logged the recovery, and after a sync the image passes
 * `fsck.minix -f`. The same with a second crash right after the first restart, while VFS and
 * MFS are recovering: VFS is not wedged and recovers onto the last generation. And a block
 * special file (major 3) reads the image's first 4 KiB, before and after a driver restart.
 *
 * Entry points: main.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "fscluster.h"

#define S_MIB         (1024 * 1024)
#define S_TOTAL       (64 * S_MIB)
#define S_CHUNK       S_MIB
#define S_FSYNC_EVERY (8 * S_MIB)
#define S_CALL_MS     120000 /* a write or fsync that spans the driver's restart */

/* A file server call may span the driver's restart and MFS's retries (slow under ASan on a
 * loaded machine): VFS waits for it as long as the client does. */
static const char *const s_vfs_args[] = {"--fs-timeout", "120000", NULL};

static const fscluster_opts s_opts = {
    .vfs_args = s_vfs_args,
    .cluster = "vfsrec",
    .services = (1u << FSCLUSTER_DISK) | (1u << FSCLUSTER_PFS) | (1u << FSCLUSTER_MFS) |
                (1u << FSCLUSTER_VFS),
    .disk_mb = 160,
};

static int s_setup(void **state)
{
	return fscluster_setup(state, &s_opts);
}

/* The byte at offset off of the file. */
static void s_fill(uint8_t *buf, size_t size, uint64_t off)
{
	for (size_t i = 0; i < size; i += 8) {
		uint64_t v = (off + i) * 0x9e3779b97f4a7c15ull;
		memcpy(buf + i, &v, 8);
	}
}

typedef struct s_work {
	fsclient *c;
	int fd;
	volatile uint64_t written;
	int error; /* the first failure, 0 when none */
	uint64_t error_at;
	volatile bool finished;
} s_work;

static void *s_writer(void *arg)
{
	s_work *w = arg;
	uint8_t *buf = malloc(S_CHUNK);
	for (uint64_t off = 0; off < S_TOTAL && !w->error; off += S_CHUNK) {
		s_fill(buf, S_CHUNK, off);
		ssize_t n = fsc_write(w->c, w->fd, buf, S_CHUNK, S_CALL_MS);
		if (n != S_CHUNK) {
			w->error = n < 0 ? (int)n : -EIO;
			w->error_at = off;
			break;
		}
		w->written = off + S_CHUNK;
		if (w->written % S_FSYNC_EVERY == 0) {
			int rc = fsc_fsync(w->c, w->fd);
			if (rc < 0) {
				w->error = rc;
				w->error_at = off;
			}
		}
	}
	free(buf);
	w->finished = true;
	return NULL;
}

/* Reads /big back and compares every byte. */
static void s_verify(fsclient *c)
{
	int fd = fsc_open(c, "/big", O_RDONLY, 0);
	assert_true(fd >= 0);
	uint64_t size = 0;
	assert_int_equal(fsc_fstat(c, fd, &size, NULL), 0);
	assert_int_equal(size, S_TOTAL);
	uint8_t *got = malloc(S_CHUNK), *want = malloc(S_CHUNK);
	for (uint64_t off = 0; off < S_TOTAL; off += S_CHUNK) {
		size_t have = 0;
		while (have < S_CHUNK) {
			ssize_t n = fsc_read(c, fd, got + have, S_CHUNK - have, S_CALL_MS);
			assert_true(n > 0);
			have += (size_t)n;
		}
		s_fill(want, S_CHUNK, off);
		if (memcmp(got, want, S_CHUNK) != 0)
			fail_msg("the MiB at %llu differs", (unsigned long long)off);
	}
	free(got);
	free(want);
	assert_int_equal(fsc_close(c, fd), 0);
}

/* Waits until the workload has written at least bytes (fails if it ended first). */
static void s_wait_written(s_work *w, uint64_t bytes)
{
	for (int64_t end = drvcluster_now_ms() + S_CALL_MS;
	     w->written < bytes && !w->finished && drvcluster_now_ms() < end;)
		usleep(5 * 1000);
	assert_false(w->finished);
}

/* The workload with the disk killed crashes times (the second right after the first
 * restart, while VFS and MFS recover), then every check. */
static void s_run(fscluster *f, int crashes)
{
	fsclient *c = fsclient_new(f, "writer");
	s_work w = {.c = c};
	w.fd = fsc_open(c, "/big", O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(w.fd >= 0);
	uint64_t gen = fscluster_gen(f, FSCLUSTER_DISK);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, s_writer, &w), 0);
	int64_t start = drvcluster_now_ms();
	s_wait_written(&w, S_TOTAL / 4);
	int64_t kill_at = drvcluster_now_ms();
	for (int i = 0; i < crashes; i++) {
		fscluster_kill(f, FSCLUSTER_DISK, SIGKILL);
		uint64_t next = fscluster_start(f, FSCLUSTER_DISK, "restart");
		assert_true(next > gen);
		gen = next;
	}
	assert_false(w.finished); /* the crashes came in the middle of the workload */
	pthread_join(t, NULL);
	int64_t end = drvcluster_now_ms();
	print_message("64 MiB written in %lld ms; %lld ms from the first kill to the end\n",
	              (long long)(end - start), (long long)(end - kill_at));
	if (w.error)
		fail_msg("the workload failed at %llu: %s", (unsigned long long)w.error_at,
		         plx_strerror(w.error));
	assert_int_equal(w.written, S_TOTAL);
	assert_int_equal(fsc_fsync(c, w.fd), 0);
	assert_int_equal(fsc_close(c, w.fd), 0);
	s_verify(c);
	/* VFS saw the death and recovered the block side on the last generation. */
	char *log = fscluster_log(f, FSCLUSTER_VFS);
	char want[64];
	snprintf(want, sizeof want, "block driver disk/%llu: reopened", (unsigned long long)gen);
	assert_non_null(log);
	if (!strstr(log, want))
		fail_msg("no \"%s\" in VFS's log:\n%s", want, log);
	free(log);
	/* Everything on the disk, then the image checks clean. */
	Plexus__VfsFd none = PLEXUS__VFS_FD__INIT;
	assert_int_equal(fsclient_call(c, PLEXUS__VFS_TYPE__VFS_SYNC, &none.base, NULL, 0, NULL,
	                               NULL, 0, NULL, S_CALL_MS),
	                 0);
	fsclient_destroy(&c, true);
	fscluster_kill(f, FSCLUSTER_VFS, SIGTERM);
	fscluster_kill(f, FSCLUSTER_MFS, SIGTERM);
	char *out = NULL;
	int rc = fscluster_fsck(f, &out);
	if (rc != 0)
		fail_msg("fsck.minix -f: status %d\n%s", rc, out ? out : "");
	free(out);
	f->passed = true;
}

static void test_vdisk_killed_under_writes(void **state)
{
	s_run(*state, 1);
}

/* A second crash while the first is being recovered does not wedge VFS. */
static void test_vdisk_killed_twice(void **state)
{
	s_run(*state, 2);
}

/* A block special file: reads the image's first 4 KiB through VFS (BDEV under the driver's
 * mutex), and again through the same descriptor after the driver was killed and restarted. */
static void test_block_special_file(void **state)
{
	fscluster *f = *state;
	fsclient *c = fsclient_new(f, "blk");
	assert_int_equal(fsc_mknod(c, "/disk0", S_IFBLK | 0600, makedev(FSC_MAJOR_DISK, 0)), 0);
	int fd = fsc_open(c, "/disk0", O_RDONLY, 0);
	assert_true(fd >= 0);
	uint8_t want[4096], got[4096];
	FILE *img = fopen(fscluster_image(f), "rb");
	assert_non_null(img);
	assert_int_equal(fread(want, 1, sizeof want, img), sizeof want);
	fclose(img);
	assert_int_equal(fsc_read(c, fd, got, sizeof got, S_CALL_MS), sizeof got);
	assert_memory_equal(got, want, sizeof got);
	uint16_t magic;
	memcpy(&magic, got + 1024 + 24, 2);
	assert_int_equal(magic, 0x4d5a); /* MINIX v3's superblock */
	fscluster_kill(f, FSCLUSTER_DISK, SIGKILL);
	fscluster_start(f, FSCLUSTER_DISK, "restart");
	int64_t rc = -1;
	for (int64_t end = drvcluster_now_ms() + FSC_WAIT_MS; drvcluster_now_ms() < end;
	     usleep(50 * 1000)) {
		Plexus__VfsFd q = PLEXUS__VFS_FD__INIT;
		q.fd = fd;
		q.size = sizeof got;
		q.offset = 0;
		size_t n = 0;
		Plexus__VfsReply *r = NULL;
		rc = fsclient_call(c, PLEXUS__VFS_TYPE__VFS_PREAD, &q.base, NULL, 0, &r, got,
		                   sizeof got, &n, S_CALL_MS);
		if (r)
			protobuf_c_message_free_unpacked(&r->base, NULL);
		if (rc == 0) {
			rc = (int64_t)n;
			break;
		}
	}
	assert_int_equal(rc, sizeof got);
	assert_memory_equal(got, want, sizeof got);
	/* at the disk's end the driver sends no bytes at all: 0, the end of the file */
	struct stat st;
	assert_int_equal(stat(fscluster_image(f), &st), 0);
	Plexus__VfsFd q = PLEXUS__VFS_FD__INIT;
	q.fd = fd;
	q.size = sizeof got;
	q.offset = st.st_size;
	size_t n = 1;
	Plexus__VfsReply *r = NULL;
	assert_int_equal(fsclient_call(c, PLEXUS__VFS_TYPE__VFS_PREAD, &q.base, NULL, 0, &r, got,
	                               sizeof got, &n, S_CALL_MS),
	                 0);
	assert_non_null(r);
	assert_int_equal(r->value, 0);
	assert_int_equal(n, 0);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	assert_int_equal(fsc_read(c, fd, got, sizeof got, S_CALL_MS),
	                 sizeof got); /* VFS still there */
	assert_int_equal(fsc_close(c, fd), 0);
	fsclient_destroy(&c, true);
	f->passed = true;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_vdisk_killed_under_writes, s_setup,
	                                    fscluster_teardown),
	    cmocka_unit_test_setup_teardown(test_vdisk_killed_twice, s_setup, fscluster_teardown),
	    cmocka_unit_test_setup_teardown(test_block_special_file, s_setup, fscluster_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
