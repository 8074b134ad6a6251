/*
 * mfstest.h — what the plexus-mfs component tests share: a private etcd, a client endpoint of
 * the test's own, real driver and file server processes started and stopped, images made and
 * checked with util-linux's mkfs.minix and fsck.minix.
 *
 * Entry points: mfstest_setup, mfstest_teardown, mfstest_spawn, mfstest_start, mfstest_stop,
 * mfstest_kill, mfstest_image, mfstest_sh, mfstest_fsck, mfstest_mount, mfstest_unmount.
 *
 * The checks use cmocka's assertions. Every process started is killed by teardown if the test
 * did not stop it (and by the kernel if this process dies: PR_SET_PDEATHSIG).
 */
#ifndef PLEXUS_MFSTEST_H
#define PLEXUS_MFSTEST_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <plexus/endpoint.h>
#include <plexus/fsreq.h>

#include "etcd_harness.h"

#define MFSTEST_CLUSTER "mfstest"
#define MFSTEST_TIMEOUT 20000 /* ms, per request and per wait */
#define MFSTEST_PROCS   16

typedef struct mfstest {
	plx_etcdh *h;
	plx_etcd *etcd;
	plx_ctx *ctx;
	plx_epcache *cache;
	plx_ep *ep;
	char dir[256];
	char drv[32]; /* this test's driver label */
	char fs[32];  /* this test's file server label */
	pid_t procs[MFSTEST_PROCS];
} mfstest;

/* The group fixture: etcd, context, routes, endpoint, temporary directory. */
int mfstest_setup(void **state);
int mfstest_teardown(void **state);
/* Per test: fresh labels; kills what is still running. */
int mfstest_test_setup(void **state);
int mfstest_test_teardown(void **state);

/* Starts program as service label (extra options NULL-terminated, init NULL or "restart"),
 * output to <dir>/<label>.log. Returns the pid. */
pid_t mfstest_spawn(mfstest *t, const char *program, const char *label, const char *init,
                    const char *const *extra);
/* Spawns and waits until its endpoint is routed with a generation above the one before;
 * sets *gen when not NULL. */
pid_t mfstest_start(mfstest *t, const char *program, const char *label, const char *init,
                    const char *const *extra, uint64_t *gen);
/* SIGTERM and a clean exit (status 0) expected. */
void mfstest_stop(mfstest *t, pid_t pid);
/* SIGKILL and reap. */
void mfstest_kill(mfstest *t, pid_t pid);
/* How mfstest_image formats. */
#define MFSTEST_BLANK 0 /* zeros */
#define MFSTEST_MKFS  1 /* mkfs.minix -3 over the whole image: no journal */
#define MFSTEST_JOURNALED                                                                          \
	2 /* mkfs.minix -3 over all but the journal plexus mkfs would keep,                        \
	   * and an empty journal after it */
/* A new image file <dir>/<name>.img of size bytes, formatted as how says. */
const char *mfstest_image(mfstest *t, const char *name, uint64_t size, int how);
/* Runs a shell command; returns its exit status, its output in out (size bytes). */
int mfstest_sh(const char *cmd, char *out, size_t size);
/* fsck.minix -f on image: exit 0 and nothing reported but the forced check. */
void mfstest_fsck(const char *image);
/* Starts plexus-vdisk over image as t->drv and plexus-mfs as t->fs, mounts minor 0; returns
 * the client, *root the root's attributes. pids in *drv_pid, *fs_pid. */
plx_fs *mfstest_mount(mfstest *t, const char *image, plx_fs_attr *root, pid_t *drv_pid,
                      pid_t *fs_pid);
/* FS_SYNC, FS_UNMOUNT, both processes stopped, fsck.minix clean; frees *fs. */
void mfstest_unmount(mfstest *t, plx_fs **fs, const char *image, pid_t drv_pid, pid_t fs_pid);
/* A process's log text (static buffer). */
const char *mfstest_log(mfstest *t, const char *label);

#endif
