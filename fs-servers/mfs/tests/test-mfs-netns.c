/*
 * test-mfs-netns.c — plexus-mfs with its driver on another machine: the four-node cluster of
 * drivers/tests/drvcluster.c (network namespaces, etcd on the hub, a plexus-node in each node,
 * this process in node 0 as RS and as VFS). plexus-mfs runs on node 1, plexus-vdisk (over an
 * image made by mkfs.minix -3) on node 2. Files written from node 0 read back; the driver hangs
 * (SIGSTOP) while an FS_FSYNC of several MiB waits on it, is killed through its node kernel
 * (NODE_SIGNAL SIGKILL, NODE_EXIT reported), and is started again on node 3 with
 * PLEXUS_INIT=restart, as RS would; FS_NEW_DRIVER goes to the file server; the fsync completes,
 * every byte reads back from the disk, and fsck.minix -f finds the image clean.
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <plexus/fsreq.h>

#include "drvcluster.h"
#include "plexus/proto/fs.pb-c.h"

#define S_CLUSTER "mfsnet"
#define S_MB      (1024u * 1024)
#define S_SIZE    (5 * S_MB + 999)

static int s_setup(void **state)
{
	static const drvcluster_opts opts = {.cluster = S_CLUSTER,
	                                     .client = "mfsclient",
	                                     .types = &plexus__fs_type__descriptor,
	                                     .env_marker = "PLEXUS_MFSTEST=1"};
	return drvcluster_setup(state, &opts);
}

static uint8_t s_pat(uint64_t i)
{
	return (uint8_t)((i * 40503u) >> 7 ^ 0x5a);
}

static int s_signal(drvcluster *f, const char *node, const char *label, int signo)
{
	Plexus__NodeSignal sig = PLEXUS__NODE_SIGNAL__INIT;
	sig.label = (char *)label;
	sig.signo = signo;
	return drvcluster_call(f, node, PLEXUS__NODE_TYPE__NODE_SIGNAL, &sig.base, NULL);
}

static void s_sh_ok(const char *cmd)
{
	char out[8192];
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(out, 1, sizeof out - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("%s:\n%s", cmd, out);
}

typedef struct s_async {
	plx_fs *fs;
	uint64_t ino;
	int rc;
	volatile bool done;
} s_async;

static void *s_fsync(void *arg)
{
	s_async *a = arg;
	a->rc = plx_fs_fsync(a->fs, a->ino);
	a->done = true;
	return NULL;
}

static void s_verify(plx_fs *fs, uint64_t ino)
{
	uint8_t *buf = malloc(S_MB);
	for (uint64_t done = 0; done < S_SIZE;) {
		size_t n = S_SIZE - done < S_MB ? S_SIZE - done : S_MB;
		assert_int_equal(plx_fs_read(fs, ino, done, buf, n), (ssize_t)n);
		for (size_t i = 0; i < n; i++)
			if (buf[i] != s_pat(done + i))
				fail_msg("byte %llu lost", (unsigned long long)(done + i));
		done += n;
	}
	free(buf);
}

static void test_driver_on_another_node(void **state)
{
	drvcluster *f = *state;
	char image[512], cmd[1024];
	snprintf(image, sizeof image, "%s/mfsnet.img", f->dir);
	int fd = open(image, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 48 * S_MB), 0);
	close(fd);
	snprintf(cmd, sizeof cmd, "mkfs.minix -3 '%s' 2>&1", image);
	s_sh_ok(cmd);
	char *vargv[] = {PLEXUS_VDISK_BIN, "--image", image, NULL};
	char *margv[] = {PLEXUS_MFS_BIN, "--cache-mb", "64", "--sync-interval-ms", "0", NULL};
	uint64_t gen1 = drvcluster_start_driver(f, 2, "netdisk", NULL, vargv);
	drvcluster_start_driver(f, 1, "netmfs", NULL, margv);
	plx_fs *fs = plx_fs_new(f->rs, "netmfs", 60000);
	plx_fs_attr root, a;
	assert_int_equal(plx_fs_readsuper(fs, "netdisk", 0, false, 4, &root, NULL), 0);
	assert_int_equal(plx_fs_create(fs, 1, "far", 0644, 0, 0, &a), 0);
	uint8_t *buf = malloc(S_SIZE);
	for (uint64_t i = 0; i < S_SIZE; i++)
		buf[i] = s_pat(i);
	for (uint64_t done = 0; done < S_SIZE;) {
		size_t n = S_SIZE - done < S_MB ? S_SIZE - done : S_MB;
		assert_int_equal(plx_fs_write(fs, a.ino, done, buf + done, n, NULL), (ssize_t)n);
		done += n;
	}
	free(buf);
	/* The driver hangs with the whole file still in MFS's cache; the fsync waits on it. */
	assert_int_equal(s_signal(f, "node.n2", "netdisk", SIGSTOP), 0);
	s_async job = {.fs = fs, .ino = a.ino};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, s_fsync, &job), 0);
	usleep(300 * 1000);
	assert_false(job.done);
	assert_int_equal(s_signal(f, "node.n2", "netdisk", SIGKILL), 0);
	Plexus__NodeExit *e = drvcluster_expect_exit(f, "netdisk");
	assert_non_null(e);
	protobuf_c_message_free_unpacked(&e->base, NULL);
	/* RS would restart it; here on node 3, told that it is a restart. */
	uint64_t gen2 = drvcluster_start_driver(f, 3, "netdisk", "restart", vargv);
	assert_true(gen2 > gen1);
	assert_int_equal(plx_fs_new_driver(fs, "netdisk", gen2), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(job.rc, 0);
	assert_int_equal(plx_fs_flush(fs), 0); /* what follows comes from the disk */
	s_verify(fs, a.ino);
	assert_int_equal(plx_fs_putnode(fs, a.ino, 1), 0);
	assert_int_equal(plx_fs_unmount(fs), 0);
	plx_fs_destroy(&fs);
	snprintf(cmd, sizeof cmd, "fsck.minix -f '%s' 2>&1", image);
	s_sh_ok(cmd);
	f->passed = true;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_driver_on_another_node, s_setup,
	                                    drvcluster_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
