/*
 * test-libplexus-map.c — libplexus's own half of every call, against a private etcd and a
 * scripted peer that answers the VFS family in this process: the handle's identity in the
 * registry and its VFS_REGISTER, how POSIX arguments become VfsPath/VfsFd fields and answers
 * become results, reads and writes split under the chunk size (and a read that does not go on
 * past a pipe's first chunk), statuses and transport failures as errno (VFS's errno,
 * ETIMEDOUT, EHOSTDOWN, EPROTO), registering again when VFS has forgotten the process, and
 * VFS_EXIT with the record withdrawn on disconnect; a write answered while another thread's
 * fsync was under way is not made durable by it (the file server instance each answer names).
 * The calls against the real plexus-vfs are test-libplexus's.
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
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include <plexus/service.h>

#include "client.h"
#include "etcd_fixture.h"

#define S_FILE_MAX (1u << 20)

/* The scripted peer: what it was asked last, and a file it serves reads and writes from. */
typedef struct peer {
	char label[PLX_LABEL_MAX];
	plx_service *svc;
	plx_server *srv;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int ready; /* 1 up, -1 failed */
	uint32_t type;
	Plexus__VfsPath *path;
	Plexus__VfsFd *fd;
	Plexus__VfsRegister *reg;
	Plexus__VfsSelect *select;
	int calls;
	size_t max_data;
	uint8_t file[S_FILE_MAX];
	size_t size, pos;
	bool pipe;   /* FSTAT says a pipe */
	int dir_pos; /* GETDENTS: entries handed out */
	bool exited;
	int registers;  /* VFS_REGISTERs seen */
	int forget;     /* answer this many calls -ESRCH, as a VFS that lost the process */
	bool no_entry;  /* answer VFS_REGISTER -ESRCH too */
	uint64_t gen;   /* writes and syncs answered by instance gen of "mfs" (0: no such word) */
	bool hold_sync; /* keep the next fsync's call in held, unanswered */
	plx_call *held;
} peer;

static plx_etcdh *s_h;
static plx_etcd *s_etcd;
static char s_cluster[64];
static peer s_peer;

static void s_forget(peer *p)
{
	if (p->path)
		protobuf_c_message_free_unpacked(&p->path->base, NULL);
	if (p->fd)
		protobuf_c_message_free_unpacked(&p->fd->base, NULL);
	if (p->reg)
		protobuf_c_message_free_unpacked(&p->reg->base, NULL);
	if (p->select)
		protobuf_c_message_free_unpacked(&p->select->base, NULL);
	p->path = NULL;
	p->fd = NULL;
	p->reg = NULL;
	p->select = NULL;
}

/* Keeps the request's body as the type it is. */
static void s_record(peer *p, const plx_msg *msg)
{
	s_forget(p);
	p->type = msg->type;
	p->calls++;
	if (msg->data_size > p->max_data)
		p->max_data = msg->data_size;
	switch (msg->type) {
	case PLEXUS__VFS_TYPE__VFS_REGISTER:
		p->reg =
		    (Plexus__VfsRegister *)plx_msg_unpack(msg, &plexus__vfs_register__descriptor);
		break;
	case PLEXUS__VFS_TYPE__VFS_SELECT:
		p->select =
		    (Plexus__VfsSelect *)plx_msg_unpack(msg, &plexus__vfs_select__descriptor);
		break;
	case PLEXUS__VFS_TYPE__VFS_OPEN ... PLEXUS__VFS_TYPE__VFS_ACCESS:
	case PLEXUS__VFS_TYPE__VFS_SYNC ... PLEXUS__VFS_TYPE__VFS_UMOUNT:
	case PLEXUS__VFS_TYPE__VFS_STATVFS:
	case PLEXUS__VFS_TYPE__VFS_MKFIFO:
	case PLEXUS__VFS_TYPE__VFS_CHDIR:
		p->path = (Plexus__VfsPath *)plx_msg_unpack(msg, &plexus__vfs_path__descriptor);
		p->fd = (Plexus__VfsFd *)plx_msg_unpack(msg, &plexus__vfs_fd__descriptor);
		break;
	default:
		p->fd = (Plexus__VfsFd *)plx_msg_unpack(msg, &plexus__vfs_fd__descriptor);
	}
}

static int s_reply(plx_call *call, int64_t value, Plexus__VfsReply *reply, const void *data,
                   size_t size)
{
	reply->value = value;
	plx_call_reply(call, 0, &reply->base, data, size);
	return PLX_SUSPEND;
}

/* Reads and writes on the peer's file; fd is ignored. */
static int s_io(peer *p, plx_call *call, Plexus__VfsReply *reply)
{
	const plx_msg *msg = call->msg;
	bool at =
	    msg->type == PLEXUS__VFS_TYPE__VFS_PREAD || msg->type == PLEXUS__VFS_TYPE__VFS_PWRITE;
	size_t pos = at ? (size_t)p->fd->offset : p->pos;
	if (msg->type == PLEXUS__VFS_TYPE__VFS_WRITE || msg->type == PLEXUS__VFS_TYPE__VFS_PWRITE) {
		reply->fs_label = p->gen ? "mfs" : "";
		reply->changed_gen = p->gen;
		size_t n = msg->data_size;
		if (pos + n > S_FILE_MAX)
			return -EFBIG;
		memcpy(p->file + pos, msg->data, n);
		if (pos + n > p->size)
			p->size = pos + n;
		if (!at)
			p->pos = pos + n;
		return s_reply(call, (int64_t)n, reply, NULL, 0);
	}
	size_t n = pos < p->size ? p->size - pos : 0;
	if (n > p->fd->size)
		n = p->fd->size;
	if (!at)
		p->pos = pos + n;
	return s_reply(call, (int64_t)n, reply, p->file + pos, n);
}

static int s_getdents(peer *p, plx_call *call, Plexus__VfsReply *reply)
{
	static const char *names[] = {".", "..", "a", "b", "c"};
	Plexus__FsDirent ents[5], *list[5];
	size_t n = 0;
	for (int i = p->dir_pos; i < 5; i++, n++) {
		plexus__fs_dirent__init(&ents[n]);
		ents[n].ino = (uint64_t)i + 1;
		ents[n].name = (char *)names[i];
		ents[n].type = i < 2 ? 4 : 8;
		ents[n].next = (uint64_t)i + 1;
		list[n] = &ents[n];
	}
	p->dir_pos = 5; /* everything handed out; an LSEEK moves back */
	reply->n_dirents = n;
	reply->dirents = list;
	return s_reply(call, 0, reply, NULL, 0);
}

static int s_answer(peer *p, plx_call *call)
{
	Plexus__VfsReply reply = PLEXUS__VFS_REPLY__INIT;
	Plexus__FsAttr attr = PLEXUS__FS_ATTR__INIT;
	Plexus__FsStatvfs sv = PLEXUS__FS_STATVFS__INIT;
	int32_t fds[2] = {4, 5};
	if (call->msg->type == PLEXUS__VFS_TYPE__VFS_REGISTER) {
		p->registers++;
		return p->no_entry ? -ESRCH : 0;
	}
	if (p->forget > 0) {
		p->forget--;
		return -ESRCH;
	}
	switch (call->msg->type) {
	case PLEXUS__VFS_TYPE__VFS_EXIT:
		p->exited = true;
		return 0;
	case PLEXUS__VFS_TYPE__VFS_FSYNC:
	case PLEXUS__VFS_TYPE__VFS_SYNCFS:
		if (p->fd->fd == 77) /* a slow disk */
			usleep(600 * 1000);
		if (p->hold_sync && !p->held) { /* answered later, by the test */
			p->held = call;
			return PLX_SUSPEND;
		}
		reply.fs_label = p->gen ? "mfs" : "";
		reply.synced_gen = p->gen;
		return s_reply(call, 0, &reply, NULL, 0);
	case PLEXUS__VFS_TYPE__VFS_OPEN:
		if (strcmp(p->path->path, "/slow") == 0)
			usleep(600 * 1000);
		return strcmp(p->path->path, "/missing") == 0 ? -ENOENT
		                                              : s_reply(call, 3, &reply, NULL, 0);
	case PLEXUS__VFS_TYPE__VFS_READ:
	case PLEXUS__VFS_TYPE__VFS_WRITE:
	case PLEXUS__VFS_TYPE__VFS_PREAD:
	case PLEXUS__VFS_TYPE__VFS_PWRITE:
		return s_io(p, call, &reply);
	case PLEXUS__VFS_TYPE__VFS_STAT:
	case PLEXUS__VFS_TYPE__VFS_FSTAT:
		attr.ino = 42;
		attr.mode = (p->pipe ? S_IFIFO : S_IFREG) | 0640;
		attr.nlink = 1;
		attr.uid = 7;
		attr.size = p->size;
		attr.mtime_sec = 1000;
		attr.mtime_nsec = 5;
		reply.stat = &attr;
		return s_reply(call, 0, &reply, NULL, 0);
	case PLEXUS__VFS_TYPE__VFS_LSTAT:
		return s_reply(call, 0, &reply, NULL, 0); /* no stat: a broken answer */
	case PLEXUS__VFS_TYPE__VFS_STATVFS:
		sv.bsize = 4096;
		sv.blocks = 100;
		sv.bfree = 60;
		sv.namemax = 60;
		sv.read_only = true;
		reply.statvfs = &sv;
		return s_reply(call, 0, &reply, NULL, 0);
	case PLEXUS__VFS_TYPE__VFS_GETCWD:
	case PLEXUS__VFS_TYPE__VFS_READLINK:
		reply.text = "/home/user";
		return s_reply(call, 0, &reply, NULL, 0);
	case PLEXUS__VFS_TYPE__VFS_PIPE:
		reply.n_fds = 2;
		reply.fds = fds;
		return s_reply(call, 0, &reply, NULL, 0);
	case PLEXUS__VFS_TYPE__VFS_SELECT:
		reply.select = p->select; /* everything asked for is ready */
		return s_reply(call, (int64_t)(p->select->n_read + p->select->n_write), &reply,
		               NULL, 0);
	case PLEXUS__VFS_TYPE__VFS_GETDENTS:
		return s_getdents(p, call, &reply);
	case PLEXUS__VFS_TYPE__VFS_LSEEK:
		p->dir_pos = (int)p->fd->offset;
		p->pos = (size_t)p->fd->offset;
		return s_reply(call, p->fd->offset, &reply, NULL, 0);
	case PLEXUS__VFS_TYPE__VFS_UMASK:
		return s_reply(call, 022, &reply, NULL, 0);
	case PLEXUS__VFS_TYPE__VFS_IOCTL:
		return s_reply(call, 9, &reply, "result", 6);
	default:
		return 0;
	}
}

static int s_handle(plx_call *call)
{
	peer *p = plx_server_arg(call->server);
	pthread_mutex_lock(&p->lock);
	s_record(p, call->msg);
	int rc = s_answer(p, call);
	pthread_mutex_unlock(&p->lock);
	return rc;
}

#define S_ENTRY(t)                                                                                 \
	{                                                                                          \
		.type = PLEXUS__VFS_TYPE__##t, .name = #t, .fn = s_handle, .body = NULL,           \
		.flags = PLX_IN_LOOP, .allowed = NULL                                              \
	}
static const plx_handler s_table[] = {
    S_ENTRY(VFS_REGISTER), S_ENTRY(VFS_EXIT),      S_ENTRY(VFS_OPEN),     S_ENTRY(VFS_CLOSE),
    S_ENTRY(VFS_READ),     S_ENTRY(VFS_WRITE),     S_ENTRY(VFS_PREAD),    S_ENTRY(VFS_PWRITE),
    S_ENTRY(VFS_LSEEK),    S_ENTRY(VFS_STAT),      S_ENTRY(VFS_FSTAT),    S_ENTRY(VFS_LSTAT),
    S_ENTRY(VFS_MKDIR),    S_ENTRY(VFS_RMDIR),     S_ENTRY(VFS_UNLINK),   S_ENTRY(VFS_RENAME),
    S_ENTRY(VFS_LINK),     S_ENTRY(VFS_SYMLINK),   S_ENTRY(VFS_READLINK), S_ENTRY(VFS_GETDENTS),
    S_ENTRY(VFS_TRUNCATE), S_ENTRY(VFS_FTRUNCATE), S_ENTRY(VFS_CHMOD),    S_ENTRY(VFS_FCHMOD),
    S_ENTRY(VFS_CHOWN),    S_ENTRY(VFS_FCHOWN),    S_ENTRY(VFS_UTIMENS),  S_ENTRY(VFS_FUTIMENS),
    S_ENTRY(VFS_ACCESS),   S_ENTRY(VFS_FSYNC),     S_ENTRY(VFS_SYNC),     S_ENTRY(VFS_MKNOD),
    S_ENTRY(VFS_MOUNT),    S_ENTRY(VFS_UMOUNT),    S_ENTRY(VFS_STATVFS),  S_ENTRY(VFS_FSTATVFS),
    S_ENTRY(VFS_PIPE),     S_ENTRY(VFS_MKFIFO),    S_ENTRY(VFS_SELECT),   S_ENTRY(VFS_IOCTL),
    S_ENTRY(VFS_DUP),      S_ENTRY(VFS_DUP2),      S_ENTRY(VFS_FCNTL),    S_ENTRY(VFS_CHDIR),
    S_ENTRY(VFS_FCHDIR),   S_ENTRY(VFS_GETCWD),    S_ENTRY(VFS_UMASK),    S_ENTRY(VFS_EXEC),
    S_ENTRY(VFS_PS),       S_ENTRY(VFS_MOUNTS),    S_ENTRY(VFS_SYNCFS),   S_ENTRY(VFS_WATCH),
};

static void s_ready(peer *p, int state)
{
	pthread_mutex_lock(&p->lock);
	p->ready = state;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

static void *s_peer_main(void *arg)
{
	peer *p = arg;
	plx_service_cfg cfg;
	char err[256];
	plx_service_cfg_init(&cfg);
	plx_service_cfg_set(&cfg, "label", p->label, err, sizeof err);
	plx_service_cfg_set(&cfg, "etcd", plx_etcdh_endpoints(s_h), err, sizeof err);
	plx_service_cfg_set(&cfg, "cluster", s_cluster, err, sizeof err);
	p->svc = plx_service_new(&cfg, err, sizeof err);
	p->srv = p->svc ? plx_server_new(plx_service_ep(p->svc), s_table,
	                                 sizeof s_table / sizeof *s_table, p)
	                : NULL;
	if (!p->srv || plx_service_publish(p->svc, "up") < 0) {
		fprintf(stderr, "peer: %s\n", err);
		s_ready(p, -1);
		plx_server_destroy(&p->srv);
		plx_service_destroy(&p->svc);
		return NULL;
	}
	s_ready(p, 1);
	plx_server_run(p->srv);
	plx_server_destroy(&p->srv);
	plx_service_destroy(&p->svc);
	return NULL;
}

static void s_peer_start(peer *p)
{
	memset(p, 0, sizeof *p);
	snprintf(p->label, sizeof p->label, "vfs-map-%d", (int)getpid());
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	assert_int_equal(pthread_create(&p->thread, NULL, s_peer_main, p), 0);
	pthread_mutex_lock(&p->lock);
	while (!p->ready)
		pthread_cond_wait(&p->cond, &p->lock);
	pthread_mutex_unlock(&p->lock);
	assert_int_equal(p->ready, 1);
}

static void s_peer_stop(peer *p)
{
	pthread_mutex_lock(&p->lock);
	bool up = p->ready == 1 && p->srv;
	pthread_mutex_unlock(&p->lock);
	if (up)
		plx_server_stop(p->srv);
	pthread_join(p->thread, NULL);
	s_forget(p);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
}

static int s_setup(void **state)
{
	(void)state;
	snprintf(s_cluster, sizeof s_cluster, "map%d", (int)getpid());
	return etcd_fixture_start(&s_h, &s_etcd);
}

static int s_teardown(void **state)
{
	(void)state;
	etcd_fixture_stop(&s_h, &s_etcd);
	return 0;
}

static plexus *s_connect(int timeout_ms)
{
	plexus_opts opts;
	plexus_opts_init(&opts);
	opts.etcd = plx_etcdh_endpoints(s_h);
	opts.cluster = s_cluster;
	opts.node = "n1";
	opts.name = "maptest";
	opts.vfs = s_peer.label;
	opts.timeout_ms = timeout_ms;
	plexus *px = plexus_connect(&opts);
	assert_non_null(px);
	return px;
}

static int s_per_test_setup(void **state)
{
	(void)state;
	s_peer_start(&s_peer);
	return 0;
}

static int s_per_test_teardown(void **state)
{
	(void)state;
	s_peer_stop(&s_peer);
	return 0;
}

/* How many gen/ and ep/ keys of clients (labels c-...) the cluster holds. */
static int s_client_keys(void)
{
	int total = 0;
	const char *kinds[] = {"gen", "ep"};
	for (int i = 0; i < 2; i++) {
		char prefix[128];
		snprintf(prefix, sizeof prefix, "/plexus/%s/%s/c-", s_cluster, kinds[i]);
		plx_kvs *kvs = NULL;
		int n = plx_etcd_range(s_etcd, prefix, &kvs);
		assert_true(n >= 0);
		total += n;
		plx_kvs_free(&kvs);
	}
	return total;
}

static void test_connect_registers_and_publishes(void **state)
{
	(void)state;
	plexus *px = s_connect(0);
	assert_int_equal(s_peer.type, PLEXUS__VFS_TYPE__VFS_REGISTER);
	assert_int_equal(s_peer.reg->pid, (uint32_t)getpid());
	assert_string_equal(s_peer.reg->node, "n1");
	assert_string_equal(s_peer.reg->name, "maptest");
	assert_int_equal(s_peer.reg->uid, geteuid());
	assert_int_equal(s_peer.reg->ruid, getuid());
	uint64_t gen;
	char label[PLX_LABEL_MAX];
	snprintf(label, sizeof label, "%s", plexus__label(px, &gen));
	char want[PLX_LABEL_MAX];
	snprintf(want, sizeof want, "c-n1-%u-%d-", (unsigned)geteuid(), (int)getpid());
	assert_memory_equal(label, want, strlen(want));
	plx_endpoint_rec rec;
	assert_int_equal(plx_endpoint_lookup(s_etcd, s_cluster, label, &rec), 0);
	assert_int_equal(rec.generation, gen);
	assert_int_equal(rec.pid, getpid());
	assert_true(rec.lease != 0);
	/* a second handle is a second identity */
	plexus *px2 = s_connect(0);
	assert_string_not_equal(plexus__label(px2, NULL), label);
	plexus_disconnect(&px2);
	plexus_disconnect(&px);
	assert_null(px);
	assert_true(s_peer.exited);
	assert_int_equal(plx_endpoint_lookup(s_etcd, s_cluster, label, &rec), -ENOENT);
	assert_int_equal(s_client_keys(), 0); /* the generation counters went too */
	plexus_disconnect(&px);               /* NULL is accepted */
}

static void test_connect_without_vfs(void **state)
{
	(void)state;
	plexus_opts opts;
	plexus_opts_init(&opts);
	opts.etcd = plx_etcdh_endpoints(s_h);
	opts.cluster = s_cluster;
	opts.vfs = "no-such-vfs";
	errno = 0;
	assert_null(plexus_connect(&opts));
	assert_int_equal(errno, EHOSTDOWN);
	assert_int_equal(s_client_keys(), 0); /* nothing written for a client that never was */
	opts.etcd = "http://127.0.0.1:9";     /* nothing listens */
	opts.vfs = s_peer.label;
	assert_null(plexus_connect(&opts));
	assert_int_equal(errno, ECONNREFUSED);
}

static void test_path_arguments(void **state)
{
	(void)state;
	plexus *px = s_connect(0);
	assert_int_equal(plexus_open(px, "/a/b", O_CREAT | O_WRONLY, 0640), 3);
	assert_int_equal(s_peer.type, PLEXUS__VFS_TYPE__VFS_OPEN);
	assert_string_equal(s_peer.path->path, "/a/b");
	assert_int_equal(s_peer.path->flags, O_CREAT | O_WRONLY);
	assert_int_equal(s_peer.path->mode, 0640);
	assert_int_equal(plexus_open(px, "/missing", O_RDONLY), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(plexus_rename(px, "/old", "/new"), 0);
	assert_int_equal(s_peer.type, PLEXUS__VFS_TYPE__VFS_RENAME);
	assert_string_equal(s_peer.path->path, "/old");
	assert_string_equal(s_peer.path->path2, "/new");
	assert_int_equal(plexus_symlink(px, "target", "/link"), 0);
	assert_string_equal(s_peer.path->path, "/link");
	assert_string_equal(s_peer.path->path2, "target");
	assert_int_equal(plexus_lchown(px, "/f", (uid_t)-1, 5), 0);
	assert_int_equal(s_peer.path->uid, -1);
	assert_int_equal(s_peer.path->gid, 5);
	assert_int_equal(s_peer.path->flags, PLEXUS__VFS_FLAG__VFS_NOFOLLOW);
	struct timespec ts[2] = {{1, UTIME_OMIT}, {2, 3}};
	assert_int_equal(plexus_utimens(px, "/f", ts, 0), 0);
	assert_int_equal(s_peer.path->times->atime_nsec, UTIME_OMIT);
	assert_int_equal(s_peer.path->times->mtime_sec, 2);
	assert_int_equal(plexus_utimens(px, "/f", NULL, 0), 0);
	assert_null(s_peer.path->times);
	assert_int_equal(plexus_mknod(px, "/dev/x", S_IFBLK | 0600, makedev(3, 1)), 0);
	assert_int_equal(s_peer.path->dev, makedev(3, 1));
	assert_int_equal(plexus_truncate(px, "/f", 77), 0);
	assert_int_equal(s_peer.path->length, 77);
	struct stat st;
	assert_int_equal(plexus_stat(px, "/f", &st), 0);
	assert_int_equal(st.st_ino, 42);
	assert_int_equal(st.st_mode, S_IFREG | 0640);
	assert_int_equal(st.st_mtim.tv_nsec, 5);
	assert_int_equal(plexus_lstat(px, "/f", &st), -1); /* an answer without its stat */
	assert_int_equal(errno, EPROTO);
	char buf[5];
	assert_int_equal(plexus_readlink(px, "/l", buf, sizeof buf), 5); /* truncated, no NUL */
	assert_memory_equal(buf, "/home", 5);
	char *cwd = plexus_getcwd(px, NULL, 0);
	assert_string_equal(cwd, "/home/user");
	free(cwd);
	assert_null(plexus_getcwd(px, buf, sizeof buf));
	assert_int_equal(errno, ERANGE);
	struct statvfs sv;
	assert_int_equal(plexus_statvfs(px, "/", &sv), 0);
	assert_int_equal(sv.f_bsize, 4096);
	assert_int_equal(sv.f_bfree, 60);
	assert_true(sv.f_flag & ST_RDONLY);
	assert_int_equal(plexus_umask(px, 077), 022);
	assert_int_equal(s_peer.fd->arg, 077);
	/* refused here, never sent */
	int before = s_peer.calls;
	char *huge = malloc(PLEXUS__PATH_MAX + 1);
	memset(huge, 'x', PLEXUS__PATH_MAX);
	huge[PLEXUS__PATH_MAX] = 0;
	assert_int_equal(plexus_mkdir(px, huge, 0755), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	free(huge);
	assert_int_equal(plexus_unlink(px, NULL), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(plexus_dup3(px, 3, 3, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(plexus_fcntl(px, 3, 12345), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(s_peer.calls, before);
	plexus_disconnect(&px);
}

static void test_fd_arguments(void **state)
{
	(void)state;
	plexus *px = s_connect(0);
	/* a success that counts below zero is no answer */
	assert_int_equal(plexus_lseek(px, 3, -4, SEEK_END), -1);
	assert_int_equal(errno, EPROTO);
	assert_int_equal(plexus_lseek(px, 3, 10, SEEK_SET), 10);
	assert_int_equal(s_peer.fd->whence, SEEK_SET);
	assert_int_equal(plexus_dup3(px, 3, 9, O_CLOEXEC), 0);
	assert_int_equal(s_peer.type, PLEXUS__VFS_TYPE__VFS_DUP2);
	assert_int_equal(s_peer.fd->fd2, 9);
	assert_int_equal(s_peer.fd->arg, O_CLOEXEC);
	assert_int_equal(plexus_fcntl(px, 3, F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(s_peer.fd->cmd, F_SETFL);
	assert_int_equal(s_peer.fd->arg, O_NONBLOCK);
	assert_int_equal(plexus_ftruncate(px, 3, 99), 0);
	assert_int_equal(s_peer.fd->offset, 99);
	assert_int_equal(plexus_fsync(px, 6), 0);
	assert_int_equal(s_peer.type, PLEXUS__VFS_TYPE__VFS_FSYNC);
	assert_int_equal(s_peer.fd->fd, 6);
	assert_int_equal(plexus_fdatasync(px, 7), 0);
	assert_int_equal(s_peer.type, PLEXUS__VFS_TYPE__VFS_FSYNC);
	assert_int_equal(s_peer.fd->fd, 7);
	assert_int_equal(plexus_syncfs(px, 8), 0);
	assert_int_equal(s_peer.type, PLEXUS__VFS_TYPE__VFS_SYNCFS);
	assert_int_equal(s_peer.fd->fd, 8);
	int fds[2];
	assert_int_equal(plexus_pipe2(px, fds, O_CLOEXEC), 0);
	assert_int_equal(fds[0], 4);
	assert_int_equal(fds[1], 5);
	assert_int_equal(s_peer.fd->arg, O_CLOEXEC);
	fd_set rd, wr;
	FD_ZERO(&rd);
	FD_ZERO(&wr);
	FD_SET(4, &rd);
	FD_SET(7, &rd);
	FD_SET(5, &wr);
	struct timeval tv = {1, 500000};
	assert_int_equal(plexus_select(px, 8, &rd, &wr, NULL, &tv), 3);
	assert_int_equal(s_peer.select->n_read, 2);
	assert_int_equal(s_peer.select->read[1], 7);
	assert_int_equal(s_peer.select->timeout_ms, 1500);
	assert_true(FD_ISSET(7, &rd) && FD_ISSET(5, &wr) && !FD_ISSET(5, &rd));
	char out[16];
	size_t out_size = sizeof out;
	assert_int_equal(plexus_ioctl(px, 3, 0x5401, "in", 2, out, &out_size), 9);
	assert_int_equal(out_size, 6);
	assert_memory_equal(out, "result", 6);
	assert_int_equal(s_peer.fd->arg, 0x5401);
	assert_int_equal(s_peer.max_data, 2);
	plexus_disconnect(&px);
}

static void test_chunked_io(void **state)
{
	(void)state;
	plexus *px = s_connect(0);
	plexus__set_chunk_max(px, 1000);
	uint8_t *data = malloc(10500), *back = malloc(10500);
	for (size_t i = 0; i < 10500; i++)
		data[i] = (uint8_t)(i * 7 + 3);
	assert_int_equal(plexus_write(px, 3, data, 10500), 10500);
	assert_int_equal(s_peer.max_data, 1000);
	assert_int_equal(s_peer.size, 10500);
	assert_memory_equal(s_peer.file, data, 10500);
	int before = s_peer.calls;
	assert_int_equal(plexus_pread(px, 3, back, 10500, 0), 10500);
	assert_memory_equal(back, data, 10500);
	assert_int_equal(s_peer.calls - before, 1 + 11); /* the fstat, then 11 chunks */
	assert_int_equal(plexus_pread(px, 3, back, 4000, 9000), 1500); /* short at the end */
	assert_memory_equal(back, data + 9000, 1500);
	assert_int_equal(plexus_pwrite(px, 3, data, 2500, 20000), 2500);
	assert_int_equal(s_peer.fd->offset, 22000);
	/* a pipe answers one chunk, however much is asked */
	s_peer.pipe = true;
	assert_int_equal(plexus_lseek(px, 3, 0, SEEK_SET), 0);
	assert_int_equal(plexus_read(px, 3, back, 5000), 1000);
	assert_int_equal(plexus_read(px, 3, NULL, 10), -1);
	assert_int_equal(errno, EFAULT);
	free(data);
	free(back);
	plexus_disconnect(&px);
}

static void test_directories(void **state)
{
	(void)state;
	plexus *px = s_connect(0);
	struct plexus_dirent ents[2];
	assert_int_equal(plexus_getdents(px, 3, ents, 2), 2);
	assert_string_equal(ents[1].d_name, "..");
	/* the three that did not fit are asked for again from cookie 2 */
	assert_int_equal(s_peer.type, PLEXUS__VFS_TYPE__VFS_LSEEK);
	assert_int_equal(s_peer.fd->offset, 2);
	assert_int_equal(plexus_getdents(px, 3, ents, 2), 2);
	assert_string_equal(ents[0].d_name, "a");
	plexus_dir *dir = plexus_opendir(px, "/d");
	assert_non_null(dir);
	s_peer.dir_pos = 0;
	const char *want[] = {".", "..", "a", "b", "c"};
	for (int i = 0; i < 5; i++) {
		struct plexus_dirent *e = plexus_readdir(dir);
		assert_non_null(e);
		assert_string_equal(e->d_name, want[i]);
	}
	errno = 0;
	assert_null(plexus_readdir(dir));
	assert_int_equal(errno, 0);
	assert_int_equal(plexus_closedir(dir), 0);
	plexus_disconnect(&px);
}

/* A VFS that no longer knows the process (it restarted): the handle registers again and the
 * call goes through; a VFS that refuses the registration too gets no loop. */
static void test_registers_again(void **state)
{
	(void)state;
	plexus *px = s_connect(0);
	assert_int_equal(s_peer.registers, 1);
	s_peer.forget = 1;
	struct stat st;
	assert_int_equal(plexus_stat(px, "/f", &st), 0);
	assert_int_equal(s_peer.registers, 2);
	assert_int_equal(s_peer.type, PLEXUS__VFS_TYPE__VFS_STAT);
	assert_int_equal(st.st_ino, 42);
	s_peer.forget = 5;
	s_peer.no_entry = true;
	assert_int_equal(plexus_stat(px, "/f", &st), -1);
	assert_int_equal(errno, ESRCH);
	assert_int_equal(s_peer.registers, 3); /* one try, no loop */
	s_peer.forget = 0;
	s_peer.no_entry = false;
	plexus_disconnect(&px);
}

static void test_transport_errors(void **state)
{
	(void)state;
	plexus *px = s_connect(200);
	assert_int_equal(plexus_open(px, "/slow", O_RDONLY), 3); /* may wait: no timeout */
	assert_int_equal(plexus_fsync(px, 77), 0);               /* the sync calls too */
	assert_int_equal(plexus_syncfs(px, 77), 0);
	assert_int_equal(plexus_stat(px, "/f", NULL), -1);
	assert_int_equal(errno, EFAULT);
	/* a call that must not wait gives up after the handle's 200 ms */
	pthread_mutex_lock(&s_peer.lock); /* the peer is stuck */
	struct stat st;
	assert_int_equal(plexus_fstat(px, 3, &st), -1);
	assert_int_equal(errno, ETIMEDOUT);
	pthread_mutex_unlock(&s_peer.lock);
	/* VFS gone: its record vanishes and calls fail with EHOSTDOWN */
	plx_server_stop(s_peer.srv);
	pthread_join(s_peer.thread, NULL);
	s_peer.ready = 0;
	int rc;
	for (int i = 0; i < 100 && (rc = plexus_fstat(px, 3, &st)) < 0 && errno == ETIMEDOUT; i++)
		;
	assert_int_equal(rc, -1);
	assert_int_equal(errno, EHOSTDOWN);
	plexus_disconnect(&px);
	pthread_create(&s_peer.thread, NULL, s_peer_main, &s_peer); /* for the teardown */
	pthread_mutex_lock(&s_peer.lock);
	while (!s_peer.ready)
		pthread_cond_wait(&s_peer.cond, &s_peer.lock);
	pthread_mutex_unlock(&s_peer.lock);
}

static void *s_fsync_78(void *arg)
{
	return (void *)(intptr_t)plexus_fsync(arg, 78);
}

/* The fsync the peer holds, once it does. */
static plx_call *s_held(void)
{
	for (;;) {
		pthread_mutex_lock(&s_peer.lock);
		plx_call *call = s_peer.held;
		pthread_mutex_unlock(&s_peer.lock);
		if (call)
			return call;
		usleep(1000);
	}
}

static void s_peer_gen(uint64_t gen, bool hold_sync)
{
	pthread_mutex_lock(&s_peer.lock);
	s_peer.gen = gen;
	s_peer.hold_sync = hold_sync;
	s_peer.held = NULL;
	pthread_mutex_unlock(&s_peer.lock);
}

/* A sync commits what the file server held when its request got there, and threads sharing a
 * handle see answers in another order: here the peer holds one descriptor's fsync, answers a
 * write through another (acknowledged by instance 1 of "mfs") meanwhile, then the fsync
 * (synced by instance 1). The write may have come after that commit: when instance 2 answers
 * the writing descriptor's fsync, the write went with instance 1, EIO. A write answered
 * before a sync went out is made durable by it: then 0. */
static void test_sync_during_write(void **state)
{
	(void)state;
	plexus *px = s_connect(0);
	assert_int_equal(plexus_open(px, "/w", O_WRONLY), 3);
	s_peer_gen(1, true);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, s_fsync_78, px), 0);
	plx_call *held = s_held();
	assert_int_equal(plexus_pwrite(px, 3, "x", 1, 0), 1); /* while the fsync is under way */
	Plexus__VfsReply reply = PLEXUS__VFS_REPLY__INIT;
	reply.fs_label = "mfs";
	reply.synced_gen = 1;
	assert_int_equal(plx_call_reply(held, 0, &reply.base, NULL, 0), 0);
	void *rc;
	pthread_join(t, &rc);
	assert_int_equal((intptr_t)rc, 0);
	s_peer_gen(2, false);
	assert_int_equal(plexus_fsync(px, 3), -1);
	assert_int_equal(errno, EIO);
	assert_int_equal(plexus_pwrite(px, 3, "y", 1, 0), 1); /* before the sync went out */
	assert_int_equal(plexus_fsync(px, 78), 0);
	s_peer_gen(3, false);
	assert_int_equal(plexus_fsync(px, 3), 0);
	plexus_disconnect(&px);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_connect_registers_and_publishes, s_per_test_setup,
	                                    s_per_test_teardown),
	    cmocka_unit_test_setup_teardown(test_connect_without_vfs, s_per_test_setup,
	                                    s_per_test_teardown),
	    cmocka_unit_test_setup_teardown(test_path_arguments, s_per_test_setup,
	                                    s_per_test_teardown),
	    cmocka_unit_test_setup_teardown(test_fd_arguments, s_per_test_setup,
	                                    s_per_test_teardown),
	    cmocka_unit_test_setup_teardown(test_chunked_io, s_per_test_setup, s_per_test_teardown),
	    cmocka_unit_test_setup_teardown(test_directories, s_per_test_setup,
	                                    s_per_test_teardown),
	    cmocka_unit_test_setup_teardown(test_registers_again, s_per_test_setup,
	                                    s_per_test_teardown),
	    cmocka_unit_test_setup_teardown(test_transport_errors, s_per_test_setup,
	                                    s_per_test_teardown),
	    cmocka_unit_test_setup_teardown(test_sync_during_write, s_per_test_setup,
	                                    s_per_test_teardown),
	};
	return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
