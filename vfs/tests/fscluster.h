/*
 * fscluster.h — the multi-node fixture of the file system tests (fscluster.c), built on the
 * driver tests' four-node cluster (drivers/tests/drvcluster.c): etcd on the hub, a plexus-node
 * in each of four network namespaces, and the test's own thread in node 0 acting as RS (it
 * starts services with NODE_START and a new generation, kills them with NODE_SIGNAL) and as
 * the clients of VFS.
 *
 * Entry points:
 *   fscluster_setup, fscluster_teardown, fscluster_start, fscluster_kill, fscluster_restart,
 *   fscluster_label, fscluster_gen, fscluster_image, fscluster_fsck, fscluster_log
 *   clients: fsclient_new, fsclient_destroy, fsclient_call, fsclient_ep
 *   calls:   fsc_open, fsc_close, fsc_read, fsc_write, fsc_pipe, fsc_mknod, fsc_mkfifo,
 *            fsc_fsync, fsc_unlink, fsc_fstat, fsc_select, fsc_ioctl, fsc_fcntl
 *
 * Where things run (FSCLUSTER_* services, each under its own label):
 *   node 0: the test (RS and the clients), the log driver ("log")
 *   node 1: plexus-vfs ("vfs"), with --dmap for the drivers below
 *   node 2: plexus-mfs ("mfs") and plexus-pfs ("pfs")
 *   node 3: the block driver ("disk": plexus-vdisk over an image made by `mkfs.minix -3` in
 *           the run directory) and the tty driver ("tty")
 * Device numbers VFS maps (--dmap MAJOR=LABEL): FSC_MAJOR_DISK (3) the disk, FSC_MAJOR_TTY (4)
 * the tty, FSC_MAJOR_LOG (5) the log (mapped ",reopen": its files are reopened on a restarted
 * log driver). The root file system is mfs on disk minor 0.
 *
 * A client (fsclient) is what a process with libplexus is: an endpoint of its own, bound on
 * node 0, whose ep/<label> record hangs on a lease of its own, registered with VFS
 * (VFS_REGISTER). Destroying it without VFS_EXIT (fsclient_destroy(&c, false)) is how a client
 * dies: its lease is revoked and VFS sees its record vanish.
 *
 * Calls go by sendrec from any thread (each client may be used by several threads at once,
 * as libplexus handles are). The fsc_* helpers return what the call answers (a descriptor, a
 * count, 0) or a negative errno, as the reply's status; transport failures come back as they
 * are (-ETIMEDOUT, -PLX_EDEADSRCDST).
 */
#ifndef PLEXUS_FSCLUSTER_H
#define PLEXUS_FSCLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/select.h>
#include <sys/types.h>

#include <plexus/etcd.h>
#include <plexus/transport.h>

#include "drvcluster.h"
#include "plexus/proto/vfs.pb-c.h"

typedef enum fscluster_svc {
	FSCLUSTER_DISK = 0, /* plexus-vdisk, node 3 */
	FSCLUSTER_TTY,      /* plexus-tty, node 3 */
	FSCLUSTER_LOG,      /* plexus-log, node 0 */
	FSCLUSTER_PFS,      /* plexus-pfs, node 2 */
	FSCLUSTER_MFS,      /* plexus-mfs, node 2 */
	FSCLUSTER_VFS,      /* plexus-vfs, node 1 */
	FSCLUSTER_NSVC
} fscluster_svc;

#define FSCLUSTER_ALL  ((1u << FSCLUSTER_NSVC) - 1)
#define FSC_MAJOR_DISK 3
#define FSC_MAJOR_TTY  4
#define FSC_MAJOR_LOG  5
#define FSC_WAIT_MS    DRVCLUSTER_WAIT_MS
#define FSC_START_MS   60000 /* a service's start (slow under ASan on a loaded machine) */

typedef struct fsclient fsclient;

typedef struct fscluster_opts {
	const char *cluster; /* the registry prefix, one per test file */
	unsigned services;   /* bits (1 << FSCLUSTER_*) to start at setup; 0: all */
	uint32_t disk_mb;    /* the image's size; 0: 32 MiB */
	/* Extra options (NULL-terminated, may be NULL) for plexus-vfs and plexus-mfs. */
	const char *const *vfs_args;
	const char *const *mfs_args;
} fscluster_opts;

typedef struct fscluster {
	drvcluster *d; /* the nodes, etcd, the rs endpoint (d->rs), the run directory (d->dir) */
	char image[512];
	unsigned running; /* bits of the services started and not killed */
	uint64_t gen[FSCLUSTER_NSVC];
	fscluster_opts opts;
	bool passed;       /* set by a test that passed: logs are kept otherwise */
	fsclient *clients; /* the clients not destroyed yet (teardown ends them) */
} fscluster;

/* cmocka setup: the cluster up, the disk image made, opts->services started in the order of
 * fscluster_svc (VFS last, once what it mounts and maps is up). opts must outlive the test.
 * Returns 0 or -1 (said why). */
int fscluster_setup(void **state, const fscluster_opts *opts);
/* cmocka teardown: everything stopped and removed (logs kept unless f->passed). */
int fscluster_teardown(void **state);

/* Starts service s with a new generation (init: NULL for a fresh start, "restart" as RS after
 * a crash) and waits up to FSC_START_MS until its endpoint is published; fails the test
 * otherwise (with the service's log). Returns the generation. */
uint64_t fscluster_start(fscluster *f, fscluster_svc s, const char *init);
/* Sends signo to service s through its node kernel; with SIGKILL (or any signal that ends
 * it) waits for its exit report. Fails the test when the node refuses. */
void fscluster_kill(fscluster *f, fscluster_svc s, int signo);
/* fscluster_kill(SIGKILL) then fscluster_start(s, "restart"): RS's reaction to a crash. */
uint64_t fscluster_restart(fscluster *f, fscluster_svc s);
const char *fscluster_label(fscluster_svc s);
uint64_t fscluster_gen(const fscluster *f, fscluster_svc s);
/* The disk image's path. */
const char *fscluster_image(const fscluster *f);
/* Runs `fsck.minix -f` on the image (the disk driver should be stopped or idle). Returns its
 * exit status (0: clean) and, when out is not NULL, its output (caller frees). */
int fscluster_fsck(fscluster *f, char **out);
/* The log of service s (NULL-terminated text, caller frees), or NULL. */
char *fscluster_log(fscluster *f, fscluster_svc s);

/* ---- clients ---- */

/* A new client named name (unique within the test; a label is made from it), registered with
 * VFS as uid:gid 0:0. Fails the test on error. */
fsclient *fsclient_new(fscluster *f, const char *name);
/* With exit, tells VFS (VFS_EXIT); without, dies: the lease is revoked so the record goes. */
void fsclient_destroy(fsclient **self_p, bool exit);
plx_ep *fsclient_ep(fsclient *self);
/* One VFS call: body, data frame (may be NULL/0), timeout (PLX_FOREVER for calls that wait).
 * On status 0 and reply not NULL sets *reply (caller frees with
 * protobuf_c_message_free_unpacked); data, when not NULL, receives at most size bytes of the
 * reply's data frame and *got its length. Returns the status. */
int fsclient_call(fsclient *self, uint32_t type, const ProtobufCMessage *body, const void *in,
                  size_t in_size, Plexus__VfsReply **reply, void *data, size_t size, size_t *got,
                  int timeout_ms);

int fsc_open(fsclient *c, const char *path, int flags, uint32_t mode);
int fsc_close(fsclient *c, int fd);
/* Waits without limit when timeout_ms is PLX_FOREVER (a pipe or tty read). */
ssize_t fsc_read(fsclient *c, int fd, void *buf, size_t size, int timeout_ms);
ssize_t fsc_write(fsclient *c, int fd, const void *buf, size_t size, int timeout_ms);
int fsc_pipe(fsclient *c, int fds[2], int flags);
int fsc_mknod(fsclient *c, const char *path, uint32_t mode, uint64_t dev);
int fsc_mkfifo(fsclient *c, const char *path, uint32_t mode);
int fsc_fsync(fsclient *c, int fd);
int fsc_unlink(fsclient *c, const char *path);
int fsc_fcntl(fsclient *c, int fd, int cmd, int64_t arg);
/* Sets *size to the file's size (st_size) and *mode to its mode; either may be NULL. */
int fsc_fstat(fsclient *c, int fd, uint64_t *size, uint32_t *mode);
/* select over descriptors: sets rd/wr (may be NULL) to the ready ones as select(2) does.
 * timeout_ms -1 waits. Returns the number ready or a negative errno. */
int fsc_select(fsclient *c, int nfds, fd_set *rd, fd_set *wr, int64_t timeout_ms);
int fsc_ioctl(fsclient *c, int fd, uint32_t request, const void *in, size_t in_size, void *out,
              size_t *out_size);

#endif
