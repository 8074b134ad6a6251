/*
 * fscluster.c — the multi-node fixture of the file system tests: the four-node cluster of
 * drivers/tests/drvcluster.c with VFS, MFS, PFS, a block driver over a MINIX image and the
 * char drivers started on it as RS would, and clients that speak to VFS (fscluster.h).
 *
 * Entry points: see fscluster.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <plexus/endpoint.h>

#include "fscluster.h"
#include "plexus/proto/bdev.pb-c.h"
#include "plexus/proto/cdev.pb-c.h"
#include "plexus/proto/fs.pb-c.h"
#include "plexus/proto/node.pb-c.h"

#define S_ARGV_MAX 48

struct fsclient {
	fscluster *f;
	plx_ep *ep;
	plx_lease *lease;
	char label[PLX_LABEL_MAX];
	struct fsclient *next; /* in f->clients until destroyed */
};

static const char *const s_labels[FSCLUSTER_NSVC] = {"disk", "tty", "log", "pfs", "mfs", "vfs"};
static const int s_nodes[FSCLUSTER_NSVC] = {3, 3, 0, 2, 2, 1};

const char *fscluster_label(fscluster_svc s)
{
	return s_labels[s];
}

uint64_t fscluster_gen(const fscluster *f, fscluster_svc s)
{
	return f->gen[s];
}

const char *fscluster_image(const fscluster *f)
{
	return f->image;
}

/* Appends the NULL-terminated extra to argv (n entries so far); returns the new count. */
static int s_append(char **argv, int n, const char *const *extra)
{
	for (; extra && *extra && n < S_ARGV_MAX - 1; extra++)
		argv[n++] = (char *)*extra;
	argv[n] = NULL;
	return n;
}

/* The command line of service s (argv has S_ARGV_MAX slots). */
static void s_argv(fscluster *f, fscluster_svc s, char **argv)
{
	static const char *const tty[] = {PLEXUS_TTY_BIN, "--console", "none", "--ptys", "8", NULL};
	static const char *const log[] = {PLEXUS_LOG_BIN, NULL};
	static const char *const pfs[] = {PLEXUS_PFS_BIN, NULL};
	static const char *const mfs[] = {PLEXUS_MFS_BIN, NULL};
	/* VFS: the device map and the root file system (mfs on disk minor 0). */
	static const char *const vfs[] = {
	    PLEXUS_VFS_BIN, "--dmap", "3=disk", "--dmap", "4=tty",      "--dmap", "5=log,reopen",
	    "--pfs",        "pfs",    "--root", "mfs",    "--root-dev", "disk:0", NULL};
	int n = 0;
	switch (s) {
	case FSCLUSTER_DISK: {
		const char *const disk[] = {PLEXUS_VDISK_BIN, "--image", f->image, NULL};
		n = s_append(argv, 0, disk);
		break;
	}
	case FSCLUSTER_TTY:
		n = s_append(argv, 0, tty);
		break;
	case FSCLUSTER_LOG:
		n = s_append(argv, 0, log);
		break;
	case FSCLUSTER_PFS:
		n = s_append(argv, 0, pfs);
		break;
	case FSCLUSTER_MFS:
		n = s_append(argv, s_append(argv, 0, mfs), f->opts.mfs_args);
		break;
	case FSCLUSTER_VFS:
		n = s_append(argv, s_append(argv, 0, vfs), f->opts.vfs_args);
		break;
	default:
		fail_msg("no service %d", (int)s);
	}
	(void)n;
}

/* Waits (up to the deadline) until node i's kernel is routed and alive: one that lost its
 * lease under load is between two records for a moment. */
static void s_node_ready(fscluster *f, int i)
{
	char label[16];
	snprintf(label, sizeof label, "node.n%d", i);
	for (int64_t end = drvcluster_now_ms() + FSC_WAIT_MS; drvcluster_now_ms() < end;
	     usleep(20 * 1000)) {
		uint64_t gen = 0;
		if (plx_route_lookup(f->d->ctx, label, &gen, NULL, 0) == 0 &&
		    !plx_is_dead(f->d->ctx, label, gen))
			return;
	}
}

/* Starts service s as RS does (NODE_START with a new generation; the node is asked again
 * while its kernel re-registers) and waits up to FSC_START_MS for its endpoint. Returns the
 * generation, or 0 with the reason printed (the service's log included). */
static uint64_t s_start(fscluster *f, fscluster_svc s, const char *init)
{
	drvcluster *d = f->d;
	char *argv[S_ARGV_MAX];
	s_argv(f, s, argv);
	s_node_ready(f, s_nodes[s]);
	uint64_t gen = 0, before = 0, now = 0;
	plx_route_lookup(d->ctx, s_labels[s], &before, NULL, 0);
	if (plx_generation_next(d->etcd, d->cluster, s_labels[s], &gen) < 0) {
		print_error("no generation for %s\n", s_labels[s]);
		return 0;
	}
	Plexus__NodeStart start = PLEXUS__NODE_START__INIT;
	start.label = (char *)s_labels[s];
	start.program = argv[0];
	start.argv = argv;
	while (argv[start.n_argv])
		start.n_argv++;
	start.generation = gen;
	char *env[] = {(char *)d->env_marker, "PLEXUS_INIT=restart"};
	start.env = env;
	start.n_env = init ? 2 : 1;
	char node[16];
	snprintf(node, sizeof node, "node.n%d", s_nodes[s]);
	int rc = -1;
	int64_t end = drvcluster_now_ms() + FSC_START_MS;
	/* Again only when it was not sent (a timed-out start may have happened). */
	while (drvcluster_now_ms() < end &&
	       (rc = drvcluster_call(d, node, PLEXUS__NODE_TYPE__NODE_START, &start.base, NULL)) ==
	           -PLX_EDEADSRCDST)
		usleep(50 * 1000);
	for (; rc == 0 && drvcluster_now_ms() < end; usleep(10 * 1000))
		if (plx_route_lookup(d->ctx, s_labels[s], &now, NULL, 0) == 0 && now > before)
			break;
	if (rc == 0 && now == gen)
		return gen;
	char *log = fscluster_log(f, s);
	print_error(
	    "%s on n%d: NODE_START %s, generation %llu routed (wanted %llu); its log:\n%s\n",
	    s_labels[s], s_nodes[s], plx_strerror(rc), (unsigned long long)now,
	    (unsigned long long)gen, log ? log : "(none)");
	free(log);
	return 0;
}

uint64_t fscluster_start(fscluster *f, fscluster_svc s, const char *init)
{
	uint64_t gen = s_start(f, s, init);
	if (!gen)
		fail_msg("%s did not start", s_labels[s]);
	f->gen[s] = gen;
	f->running |= 1u << s;
	return gen;
}

void fscluster_kill(fscluster *f, fscluster_svc s, int signo)
{
	Plexus__NodeSignal sig = PLEXUS__NODE_SIGNAL__INIT;
	sig.label = (char *)s_labels[s];
	sig.signo = signo;
	char node[16];
	snprintf(node, sizeof node, "node.n%d", s_nodes[s]);
	/* A node kernel whose lease lapsed under load registers again (a new record): a call
	 * caught in between finds it dead for a moment, so try until the deadline. */
	int rc = -1;
	for (int64_t end = drvcluster_now_ms() + FSC_WAIT_MS; drvcluster_now_ms() < end;
	     usleep(50 * 1000))
		if ((rc = drvcluster_call(f->d, node, PLEXUS__NODE_TYPE__NODE_SIGNAL, &sig.base,
		                          NULL)) != -PLX_EDEADSRCDST &&
		    rc != -ETIMEDOUT)
			break;
	assert_int_equal(rc, 0);
	if (signo == SIGCONT || signo == SIGSTOP || signo == 0)
		return;
	Plexus__NodeExit *e = drvcluster_expect_exit(f->d, s_labels[s]);
	assert_non_null(e);
	protobuf_c_message_free_unpacked(&e->base, NULL);
	f->running &= ~(1u << s);
}

uint64_t fscluster_restart(fscluster *f, fscluster_svc s)
{
	fscluster_kill(f, s, SIGKILL);
	return fscluster_start(f, s, "restart");
}

/* Runs argv with output into *out (may be NULL); returns the exit status or -1. */
static int s_run(char *const *argv, char **out)
{
	int pipefd[2];
	if (pipe(pipefd) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	size_t cap = 4096, len = 0;
	char *text = malloc(cap);
	ssize_t n;
	while (text && (n = read(pipefd[0], text + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 2) {
			char *bigger = realloc(text, cap *= 2);
			if (!bigger)
				break;
			text = bigger;
		}
	}
	close(pipefd[0]);
	if (text)
		text[len] = '\0';
	int status = 0;
	waitpid(pid, &status, 0);
	if (out)
		*out = text;
	else
		free(text);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int fscluster_fsck(fscluster *f, char **out)
{
	char *argv[] = {"/usr/sbin/fsck.minix", "-f", f->image, NULL};
	return s_run(argv, out);
}

/* A sparse image of mb MiB with a MINIX v3 file system on it. 0 or -1 (said why). */
static int s_make_image(fscluster *f, uint32_t mb)
{
	snprintf(f->image, sizeof f->image, "%s/disk.img", f->d->dir);
	int fd = open(f->image, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)mb << 20) < 0) {
		print_error("cannot make %s: %s\n", f->image, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	char *argv[] = {"/usr/sbin/mkfs.minix", "-3", f->image, NULL};
	char *out = NULL;
	int rc = s_run(argv, &out);
	if (rc != 0)
		print_error("mkfs.minix -3 %s: status %d: %s\n", f->image, rc, out ? out : "");
	free(out);
	return rc == 0 ? 0 : -1;
}

char *fscluster_log(fscluster *f, fscluster_svc s)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s.log", f->d->dir, s_labels[s]);
	FILE *fp = fopen(path, "r");
	if (!fp)
		return NULL;
	char *text = calloc(1, 65536);
	if (text && fread(text, 1, 65535, fp) == 0)
		text[0] = '\0';
	fclose(fp);
	return text;
}

int fscluster_setup(void **state, const fscluster_opts *opts)
{
	static const drvcluster_opts base = {.client = "fstest",
	                                     .types = &plexus__vfs_type__descriptor,
	                                     .env_marker = "PLEXUS_FSTEST=1"};
	drvcluster_opts dopts = base;
	dopts.cluster = opts->cluster;
	fscluster *f = calloc(1, sizeof *f);
	void *dstate = NULL;
	if (!f || drvcluster_setup(&dstate, &dopts) < 0) {
		free(f);
		return -1;
	}
	f->d = dstate;
	f->opts = *opts;
	if (!f->opts.services)
		f->opts.services = FSCLUSTER_ALL;
	*state = f;
	plx_register_types(&plexus__fs_type__descriptor);
	plx_register_types(&plexus__cdev_type__descriptor);
	plx_register_types(&plexus__bdev_type__descriptor);
	if (s_make_image(f, opts->disk_mb ? opts->disk_mb : 32) < 0) {
		fscluster_teardown(state);
		*state = NULL;
		return -1;
	}
	/* No cmocka asserts here: a setup that fails must clean up itself (cmocka runs no
	 * teardown after a failed setup). */
	for (int s = 0; s < FSCLUSTER_NSVC; s++) {
		if (!(f->opts.services & (1u << s)))
			continue;
		if (!(f->gen[s] = s_start(f, (fscluster_svc)s, NULL))) {
			fscluster_teardown(state);
			*state = NULL;
			return -1;
		}
		f->running |= 1u << s;
	}
	return 0;
}

int fscluster_teardown(void **state)
{
	fscluster *f = *state;
	if (!f)
		return 0;
	void *dstate = f->d;
	if (f->d)
		f->d->passed = f->passed;
	while (f->clients) { /* their lease threads use the etcd client the cluster frees */
		fsclient *c = f->clients;
		fsclient_destroy(&c, false);
	}
	drvcluster_teardown(&dstate);
	free(f);
	*state = NULL;
	return 0;
}

/* ---- clients ---- */

plx_ep *fsclient_ep(fsclient *self)
{
	return self->ep;
}

int fsclient_call(fsclient *self, uint32_t type, const ProtobufCMessage *body, const void *in,
                  size_t in_size, Plexus__VfsReply **reply, void *data, size_t size, size_t *got,
                  int timeout_ms)
{
	plx_request req = {.type = type, .body = body, .data = in, .data_size = in_size};
	snprintf(req.dst.label, sizeof req.dst.label, "%s", s_labels[FSCLUSTER_VFS]);
	plx_msg *msg = NULL;
	int rc = plx_sendrec(self->ep, &req, &msg, timeout_ms);
	if (!msg)
		return rc;
	if (rc == 0 && reply &&
	    !(*reply = (Plexus__VfsReply *)plx_msg_unpack(msg, &plexus__vfs_reply__descriptor)))
		rc = -EBADMSG;
	if (rc == 0 && data) {
		size_t n = msg->data_size < size ? msg->data_size : size;
		if (n)
			memcpy(data, msg->data, n);
		if (got)
			*got = n;
	}
	plx_msg_destroy(&msg);
	return rc;
}

fsclient *fsclient_new(fscluster *f, const char *name)
{
	drvcluster *d = f->d;
	fsclient *c = calloc(1, sizeof *c);
	assert_non_null(c);
	c->f = f;
	c->next = f->clients; /* a test that fails leaves it to teardown */
	f->clients = c;
	snprintf(c->label, sizeof c->label, "client.%s", name);
	uint64_t gen = 0;
	assert_int_equal(plx_generation_next(d->etcd, d->cluster, c->label, &gen), 0);
	assert_non_null(c->ep = plx_ep_new(d->ctx, c->label, gen));
	char bind[64];
	snprintf(bind, sizeof bind, "tcp://%s:*", netns_node_addr(d->c, 0));
	assert_int_equal(plx_ep_bind(c->ep, bind), 0);
	assert_non_null(c->lease = plx_lease_new(d->etcd, 2));
	plx_endpoint_rec rec = {.generation = gen, .node = "n0", .state = "up"};
	snprintf(rec.label, sizeof rec.label, "%s", c->label);
	snprintf(rec.address, sizeof rec.address, "%s", plx_ep_address(c->ep));
	rec.pid = getpid();
	assert_int_equal(plx_endpoint_publish(d->etcd, d->cluster, &rec, plx_lease_id(c->lease)),
	                 0);
	Plexus__VfsRegister r = PLEXUS__VFS_REGISTER__INIT;
	r.pid = (uint32_t)getpid();
	r.node = "n0";
	r.name = (char *)name;
	r.umask = 022;
	/* VFS learns of the record through its watch: a register sent before may find it
	 * unknown for a moment, so try until the deadline. */
	int rc = -1;
	for (int64_t end = drvcluster_now_ms() + FSC_WAIT_MS; drvcluster_now_ms() < end;
	     usleep(20 * 1000))
		if ((rc = fsclient_call(c, PLEXUS__VFS_TYPE__VFS_REGISTER, &r.base, NULL, 0, NULL,
		                        NULL, 0, NULL, FSC_WAIT_MS)) == 0)
			break;
	assert_int_equal(rc, 0);
	return c;
}

void fsclient_destroy(fsclient **self_p, bool exit)
{
	if (!self_p || !*self_p)
		return;
	fsclient *c = *self_p;
	if (exit)
		fsclient_call(c, PLEXUS__VFS_TYPE__VFS_EXIT, NULL, NULL, 0, NULL, NULL, 0, NULL,
		              FSC_WAIT_MS);
	for (fsclient **pp = &c->f->clients; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	plx_lease_destroy(&c->lease, true);
	plx_ep_destroy(&c->ep);
	free(c);
	*self_p = NULL;
}

/* ---- calls ---- */

/* A call whose answer is Plexus__VfsReply.value (a descriptor, a count). */
static int64_t s_value(fsclient *c, uint32_t type, const ProtobufCMessage *body, const void *in,
                       size_t in_size, int timeout_ms)
{
	Plexus__VfsReply *r = NULL;
	int rc = fsclient_call(c, type, body, in, in_size, &r, NULL, 0, NULL, timeout_ms);
	if (rc < 0)
		return rc;
	int64_t v = r->value;
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return v;
}

int fsc_open(fsclient *c, const char *path, int flags, uint32_t mode)
{
	Plexus__VfsPath p = PLEXUS__VFS_PATH__INIT;
	p.path = (char *)path;
	p.flags = flags;
	p.mode = mode;
	return (int)s_value(c, PLEXUS__VFS_TYPE__VFS_OPEN, &p.base, NULL, 0, PLX_FOREVER);
}

int fsc_close(fsclient *c, int fd)
{
	Plexus__VfsFd q = PLEXUS__VFS_FD__INIT;
	q.fd = fd;
	return (int)s_value(c, PLEXUS__VFS_TYPE__VFS_CLOSE, &q.base, NULL, 0, FSC_WAIT_MS);
}

ssize_t fsc_read(fsclient *c, int fd, void *buf, size_t size, int timeout_ms)
{
	Plexus__VfsFd q = PLEXUS__VFS_FD__INIT;
	q.fd = fd;
	q.size = size;
	Plexus__VfsReply *r = NULL;
	size_t got = 0;
	int rc = fsclient_call(c, PLEXUS__VFS_TYPE__VFS_READ, &q.base, NULL, 0, &r, buf, size, &got,
	                       timeout_ms);
	if (rc < 0)
		return rc;
	assert_int_equal(r->value, got);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return (ssize_t)got;
}

ssize_t fsc_write(fsclient *c, int fd, const void *buf, size_t size, int timeout_ms)
{
	Plexus__VfsFd q = PLEXUS__VFS_FD__INIT;
	q.fd = fd;
	q.size = size;
	return (ssize_t)s_value(c, PLEXUS__VFS_TYPE__VFS_WRITE, &q.base, buf, size, timeout_ms);
}

int fsc_pipe(fsclient *c, int fds[2], int flags)
{
	Plexus__VfsFd q = PLEXUS__VFS_FD__INIT;
	q.arg = flags;
	Plexus__VfsReply *r = NULL;
	int rc = fsclient_call(c, PLEXUS__VFS_TYPE__VFS_PIPE, &q.base, NULL, 0, &r, NULL, 0, NULL,
	                       FSC_WAIT_MS);
	if (rc < 0)
		return rc;
	assert_int_equal(r->n_fds, 2);
	fds[0] = r->fds[0];
	fds[1] = r->fds[1];
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return 0;
}

int fsc_mknod(fsclient *c, const char *path, uint32_t mode, uint64_t dev)
{
	Plexus__VfsPath p = PLEXUS__VFS_PATH__INIT;
	p.path = (char *)path;
	p.mode = mode;
	p.dev = dev;
	return (int)s_value(c, PLEXUS__VFS_TYPE__VFS_MKNOD, &p.base, NULL, 0, FSC_WAIT_MS);
}

int fsc_mkfifo(fsclient *c, const char *path, uint32_t mode)
{
	Plexus__VfsPath p = PLEXUS__VFS_PATH__INIT;
	p.path = (char *)path;
	p.mode = mode;
	return (int)s_value(c, PLEXUS__VFS_TYPE__VFS_MKFIFO, &p.base, NULL, 0, FSC_WAIT_MS);
}

int fsc_fsync(fsclient *c, int fd)
{
	Plexus__VfsFd q = PLEXUS__VFS_FD__INIT;
	q.fd = fd;
	return (int)s_value(c, PLEXUS__VFS_TYPE__VFS_FSYNC, &q.base, NULL, 0, PLX_FOREVER);
}

int fsc_unlink(fsclient *c, const char *path)
{
	Plexus__VfsPath p = PLEXUS__VFS_PATH__INIT;
	p.path = (char *)path;
	return (int)s_value(c, PLEXUS__VFS_TYPE__VFS_UNLINK, &p.base, NULL, 0, FSC_WAIT_MS);
}

int fsc_fcntl(fsclient *c, int fd, int cmd, int64_t arg)
{
	Plexus__VfsFd q = PLEXUS__VFS_FD__INIT;
	q.fd = fd;
	q.cmd = cmd;
	q.arg = arg;
	return (int)s_value(c, PLEXUS__VFS_TYPE__VFS_FCNTL, &q.base, NULL, 0, FSC_WAIT_MS);
}

int fsc_fstat(fsclient *c, int fd, uint64_t *size, uint32_t *mode)
{
	Plexus__VfsFd q = PLEXUS__VFS_FD__INIT;
	q.fd = fd;
	Plexus__VfsReply *r = NULL;
	int rc = fsclient_call(c, PLEXUS__VFS_TYPE__VFS_FSTAT, &q.base, NULL, 0, &r, NULL, 0, NULL,
	                       FSC_WAIT_MS);
	if (rc < 0)
		return rc;
	if (!r->stat)
		rc = -EBADMSG;
	else {
		if (size)
			*size = r->stat->size;
		if (mode)
			*mode = r->stat->mode;
	}
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return rc;
}

/* The descriptors set in s below nfds, into a new array (caller frees); *n their count. */
static int32_t *s_fds(int nfds, const fd_set *s, size_t *n)
{
	int32_t *out = calloc((size_t)nfds + 1, sizeof *out);
	assert_non_null(out);
	*n = 0;
	for (int fd = 0; s && fd < nfds; fd++)
		if (FD_ISSET(fd, s))
			out[(*n)++] = fd;
	return out;
}

static void s_fdset(fd_set *s, const int32_t *fds, size_t n)
{
	if (!s)
		return;
	FD_ZERO(s);
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0 && fds[i] < FD_SETSIZE)
			FD_SET(fds[i], s);
}

int fsc_select(fsclient *c, int nfds, fd_set *rd, fd_set *wr, int64_t timeout_ms)
{
	Plexus__VfsSelect q = PLEXUS__VFS_SELECT__INIT;
	q.read = s_fds(nfds, rd, &q.n_read);
	q.write = s_fds(nfds, wr, &q.n_write);
	q.timeout_ms = timeout_ms;
	Plexus__VfsReply *r = NULL;
	int rc = fsclient_call(c, PLEXUS__VFS_TYPE__VFS_SELECT, &q.base, NULL, 0, &r, NULL, 0, NULL,
	                       PLX_FOREVER);
	free(q.read);
	free(q.write);
	if (rc < 0)
		return rc;
	rc = (int)r->value;
	s_fdset(rd, r->select ? r->select->read : NULL, r->select ? r->select->n_read : 0);
	s_fdset(wr, r->select ? r->select->write : NULL, r->select ? r->select->n_write : 0);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return rc;
}

int fsc_ioctl(fsclient *c, int fd, uint32_t request, const void *in, size_t in_size, void *out,
              size_t *out_size)
{
	Plexus__VfsFd q = PLEXUS__VFS_FD__INIT;
	q.fd = fd;
	q.arg = request;
	size_t got = 0;
	int rc = fsclient_call(c, PLEXUS__VFS_TYPE__VFS_IOCTL, &q.base, in, in_size, NULL, out,
	                       out_size ? *out_size : 0, &got, FSC_WAIT_MS);
	if (rc == 0 && out_size)
		*out_size = got;
	return rc;
}
