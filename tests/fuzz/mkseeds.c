/*
 * mkseeds.c — writes the generated seeds of the fuzz targets: messages encoded by the
 * transport and protobuf-c (envelope, bodies) and MINIX images made by `plexus mkfs`'s writer
 * and filled by plexus-mfs itself (mfs), each in the input layout its harness reads.
 *
 * Entry point: main.
 *
 * usage: mkseeds CORPUS   (tests/fuzz/corpus; writes CORPUS/envelope/gen-*, CORPUS/bodies/gen-*,
 * CORPUS/mfs/gen-*). Run by hand when a format changes; the output is deterministic except for
 * the inode times MFS stores.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "format.h"
#include "internal.h"
#include "mfsrun.h"
#include "plexus/proto/bdev.pb-c.h"
#include "plexus/proto/cdev.pb-c.h"
#include "plexus/proto/fs.pb-c.h"
#include "plexus/proto/ipc.pb-c.h"
#include "plexus/proto/node.pb-c.h"
#include "plexus/proto/rs.pb-c.h"
#include "plexus/proto/vfs.pb-c.h"
#include "ramdev.h"

#define S_FS(t) PLEXUS__FS_TYPE__##t

static const char *s_dir;

static void s_die(const char *what)
{
	fprintf(stderr, "mkseeds: %s\n", what);
	exit(1);
}

/* A growing byte buffer. */
typedef struct s_buf {
	uint8_t bytes[1 << 17];
	size_t size;
} s_buf;

static void s_put(s_buf *b, const void *p, size_t n)
{
	if (b->size + n > sizeof b->bytes)
		s_die("seed too large");
	memcpy(b->bytes + b->size, p, n);
	b->size += n;
}

static void s_byte(s_buf *b, uint8_t v)
{
	s_put(b, &v, 1);
}

static void s_le16(s_buf *b, uint32_t v)
{
	s_byte(b, (uint8_t)v);
	s_byte(b, (uint8_t)(v >> 8));
}

static void s_packed(s_buf *b, const ProtobufCMessage *m)
{
	uint8_t tmp[4096];
	size_t n = m ? protobuf_c_message_get_packed_size(m) : 0;
	if (n > sizeof tmp)
		s_die("body too large");
	if (m)
		protobuf_c_message_pack(m, tmp);
	s_put(b, tmp, n);
}

static void s_save(const char *target, const char *name, const s_buf *b)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", s_dir, target);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/%s/gen-%s", s_dir, target, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(b->bytes, 1, b->size, f) != b->size || fclose(f) != 0)
		s_die(path);
}

/* ---- envelope: [control][envelope][data][data size] ---- */

static plx_ctx *s_ctx;

static void s_envelope(const char *name, plx_kind kind, uint32_t type, int32_t status,
                       const ProtobufCMessage *body, size_t data_size, bool local)
{
	static uint8_t data[4096];
	for (size_t i = 0; i < data_size; i++)
		data[i] = (uint8_t)i;
	plx_name src = {.label = "vfs", .generation = 3},
	         dst = {.label = "mfs-root", .generation = 1};
	plx_outgoing out = {.kind = kind,
	                    .type = type,
	                    .status = status,
	                    .request_id = 42,
	                    .source = &src,
	                    .destination = &dst,
	                    .body = body,
	                    .data = data_size ? data : NULL,
	                    .data_size = data_size,
	                    .local = local};
	zmq_msg_t frames[3];
	int n = 0;
	if (plx__frames_build(s_ctx, NULL, 0, &out, frames, &n) != 0)
		s_die("frames");
	s_buf *b = calloc(1, sizeof *b);
	s_byte(b, (uint8_t)((local ? 1 : 0) | (n == 2 ? 4 : 0)));
	for (int i = 0; i < n; i++)
		s_put(b, zmq_msg_data(&frames[i]), zmq_msg_size(&frames[i]));
	if (n == 2)
		s_le16(b, (uint32_t)zmq_msg_size(&frames[1]));
	plx__frames_close(frames, n);
	s_save("envelope", name, b);
	free(b);
}

/* A batch frame (transport/batch.c) of three messages, as plx__batch_hold writes it. */
static void s_batch(const char *name, bool local)
{
	plx_name src = {.label = "client", .generation = 2},
	         dst = {.label = "bench", .generation = 1};
	plx_batch batch = {0};
	for (uint64_t id = 1; id <= 3; id++) {
		uint8_t data[8] = {1, 2, 3, 4, 5, 6, 7, (uint8_t)id};
		plx_outgoing out = {.kind = id == 2 ? PLX_NOTIFY : PLX_REQUEST,
		                    .type = PLEXUS__IPC_TYPE__IPC_ECHO,
		                    .request_id = id,
		                    .source = &src,
		                    .destination = &dst,
		                    .data = data,
		                    .data_size = sizeof data,
		                    .local = local};
		size_t size;
		if (plx__batch_hold(&batch, &out, &size) != 0)
			s_die("batch");
	}
	s_buf *b = calloc(1, sizeof *b);
	s_byte(b, local ? 1 : 0);
	s_put(b, batch.buf, batch.len);
	s_save("envelope", name, b);
	free(b);
	plx__batch_free(&batch);
}

static void s_envelopes(void)
{
	Plexus__IpcPing ping = PLEXUS__IPC_PING__INIT;
	ping.sequence = 9;
	Plexus__FsIo io = PLEXUS__FS_IO__INIT;
	io.ino = 5;
	io.size = 3000;
	s_envelope("ping", PLX_REQUEST, PLEXUS__IPC_TYPE__IPC_PING, 0, &ping.base, 0, false);
	s_envelope("reply-error", PLX_REPLY, S_FS(FS_READ), -ENOENT, NULL, 0, false);
	s_envelope("notify", PLX_NOTIFY, 256, 0, NULL, 0, false);
	s_envelope("inline-data", PLX_REQUEST, S_FS(FS_WRITE), 0, &io.base, 200, false);
	s_envelope("data-frame", PLX_REQUEST, S_FS(FS_WRITE), 0, &io.base, 3000, false);
	s_envelope("local", PLX_REQUEST, S_FS(FS_WRITE), 0, &io.base, 100, true);
	s_envelope("local-data-frame", PLX_REPLY, S_FS(FS_READ), 0, &io.base, 1000, true);
	s_batch("batch", false);
	s_batch("batch-local", true);
}

/* ---- bodies: [type][flags][length][body][data size] per request ---- */

enum { S_VFS = 0, S_RS = 1, S_NODE = 2, S_CLI = 3, S_DATA = 8, S_LOCAL = 16, S_NOTIFY = 32 };

static void s_request(s_buf *b, uint32_t type, uint8_t flags, const ProtobufCMessage *body,
                      size_t data_size)
{
	s_buf *tmp = calloc(1, sizeof *tmp);
	s_packed(tmp, body);
	s_le16(b, type);
	s_byte(b, (uint8_t)(flags | (data_size ? S_DATA : 0)));
	s_byte(b, (uint8_t)tmp->size);
	s_put(b, tmp->bytes, tmp->size);
	if (data_size)
		s_le16(b, (uint32_t)data_size);
	free(tmp);
}

static void s_bdev_seed(void)
{
	s_buf *b = calloc(1, sizeof *b);
	Plexus__BdevOpen open = PLEXUS__BDEV_OPEN__INIT;
	open.access = PLEXUS__BDEV_ACCESS__BDEV_R_BIT | PLEXUS__BDEV_ACCESS__BDEV_W_BIT;
	s_request(b, PLEXUS__BDEV_TYPE__BDEV_OPEN, S_VFS, &open.base, 0);
	Plexus__BdevIo io = PLEXUS__BDEV_IO__INIT;
	io.position = 4096;
	io.size = 4096;
	s_request(b, PLEXUS__BDEV_TYPE__BDEV_WRITE, S_VFS, &io.base, 4096);
	s_request(b, PLEXUS__BDEV_TYPE__BDEV_READ, S_VFS | S_LOCAL, &io.base, 0);
	uint64_t sizes[] = {512, 1024, 2048};
	Plexus__BdevIo vec = PLEXUS__BDEV_IO__INIT;
	vec.position = 63 * 1024;
	vec.n_sizes = 3;
	vec.sizes = sizes;
	s_request(b, PLEXUS__BDEV_TYPE__BDEV_GATHER, S_VFS, &vec.base, 0);
	vec.position = 1024;
	s_request(b, PLEXUS__BDEV_TYPE__BDEV_SCATTER, S_VFS, &vec.base, 3584);
	Plexus__BdevIoctl ioctl = PLEXUS__BDEV_IOCTL__INIT;
	ioctl.request = PLEXUS__BDEV_IOCTL_REQUEST__BDEV_IOC_INFO;
	s_request(b, PLEXUS__BDEV_TYPE__BDEV_IOCTL, S_VFS, &ioctl.base, 0);
	ioctl.minor = 3;
	ioctl.request = 0x1234;
	s_request(b, PLEXUS__BDEV_TYPE__BDEV_IOCTL, S_VFS, &ioctl.base, 16);
	Plexus__BdevMinor minor = PLEXUS__BDEV_MINOR__INIT;
	minor.minor = 1;
	s_request(b, PLEXUS__BDEV_TYPE__BDEV_FLUSH, S_VFS, &minor.base, 0);
	minor.minor = 0;
	s_request(b, PLEXUS__BDEV_TYPE__BDEV_CLOSE, S_VFS, &minor.base, 0);
	s_save("bodies", "bdev", b);
	free(b);
}

static void s_cdev_seed(void)
{
	s_buf *b = calloc(1, sizeof *b);
	Plexus__CdevOpen open = PLEXUS__CDEV_OPEN__INIT;
	open.minor = 1;
	open.access = PLEXUS__CDEV_ACCESS__CDEV_R_BIT | PLEXUS__CDEV_ACCESS__CDEV_W_BIT;
	s_request(b, PLEXUS__CDEV_TYPE__CDEV_OPEN, S_VFS, &open.base, 0);
	Plexus__CdevIo io = PLEXUS__CDEV_IO__INIT;
	io.minor = 1;
	io.size = 10;
	io.id = 1;
	s_request(b, PLEXUS__CDEV_TYPE__CDEV_READ, S_VFS, &io.base, 0);
	Plexus__CdevSelect sel = PLEXUS__CDEV_SELECT__INIT;
	sel.minor = 1;
	sel.ops = PLEXUS__CDEV_SEL_OP__CDEV_SEL_RD | PLEXUS__CDEV_SEL_OP__CDEV_SEL_NOTIFY;
	sel.id = 5;
	s_request(b, PLEXUS__CDEV_TYPE__CDEV_SELECT, S_VFS, &sel.base, 0);
	io.size = 20;
	io.id = 2;
	s_request(b, PLEXUS__CDEV_TYPE__CDEV_WRITE, S_RS, &io.base, 20);
	io.minor = 0;
	io.size = 100;
	s_request(b, PLEXUS__CDEV_TYPE__CDEV_READ, S_VFS, &io.base, 0);
	Plexus__CdevIoctl ioctl = PLEXUS__CDEV_IOCTL__INIT;
	ioctl.minor = 1;
	ioctl.request = 1;
	s_request(b, PLEXUS__CDEV_TYPE__CDEV_IOCTL, S_VFS, &ioctl.base, 8);
	ioctl.request = 2;
	ioctl.id = 9;
	s_request(b, PLEXUS__CDEV_TYPE__CDEV_IOCTL, S_VFS, &ioctl.base, 0);
	Plexus__CdevCancel cancel = PLEXUS__CDEV_CANCEL__INIT;
	cancel.minor = 1;
	cancel.id = 9;
	s_request(b, PLEXUS__CDEV_TYPE__CDEV_CANCEL, S_VFS, &cancel.base, 0);
	io.minor = 3;
	io.size = 5;
	s_request(b, PLEXUS__CDEV_TYPE__CDEV_WRITE, S_VFS, &io.base, 5);
	Plexus__CdevMinor minor = PLEXUS__CDEV_MINOR__INIT;
	minor.minor = 1;
	s_request(b, PLEXUS__CDEV_TYPE__CDEV_CLOSE, S_VFS, &minor.base, 0);
	s_save("bodies", "cdev", b);
	free(b);
}

static void s_server_seeds(void)
{
	s_buf *b = calloc(1, sizeof *b);
	Plexus__IpcPing ping = PLEXUS__IPC_PING__INIT;
	ping.sequence = 3;
	s_request(b, PLEXUS__IPC_TYPE__IPC_PING, S_RS, &ping.base, 0);
	Plexus__IpcTraceLevel trace = PLEXUS__IPC_TRACE_LEVEL__INIT;
	trace.enabled = true;
	s_request(b, PLEXUS__IPC_TYPE__IPC_TRACE_LEVEL, S_RS, &trace.base, 0);
	s_request(b, PLEXUS__IPC_TYPE__IPC_SHUTDOWN, S_CLI, NULL, 0);
	s_request(b, 256, S_VFS | S_NOTIFY, NULL, 0); /* DS_NOTIFY */
	s_save("bodies", "ipc", b);
	free(b);

	b = calloc(1, sizeof *b);
	char *argv[] = {"plexus-memory", "--size", "64M"}, *env[] = {"PLEXUS_TRACE=1"};
	Plexus__NodeStart start = PLEXUS__NODE_START__INIT;
	start.label = "memory";
	start.program = "plexus-memory";
	start.n_argv = 3;
	start.argv = argv;
	start.n_env = 1;
	start.env = env;
	start.generation = 4;
	s_request(b, PLEXUS__NODE_TYPE__NODE_START, S_RS, &start.base, 0);
	Plexus__NodeExit exit_ = PLEXUS__NODE_EXIT__INIT;
	exit_.label = "memory";
	exit_.generation = 4;
	exit_.pid = 1234;
	exit_.signaled = true;
	exit_.status = 9;
	exit_.node = "n1";
	s_request(b, PLEXUS__NODE_TYPE__NODE_EXIT, S_NODE, &exit_.base, 0);
	Plexus__RsRequest up = PLEXUS__RS_REQUEST__INIT;
	up.label = "vfs";
	s_request(b, PLEXUS__RS_TYPE__RS_UP, S_CLI, &up.base, 0);
	s_request(b, PLEXUS__RS_TYPE__RS_LIST, S_VFS, NULL, 0);
	s_save("bodies", "node-rs", b);
	free(b);

	b = calloc(1, sizeof *b);
	uint32_t groups[] = {4, 24};
	Plexus__VfsRegister reg = PLEXUS__VFS_REGISTER__INIT;
	reg.pid = 77;
	reg.node = "n1";
	reg.name = "sh";
	reg.uid = reg.gid = reg.ruid = reg.rgid = 1000;
	reg.n_groups = 2;
	reg.groups = groups;
	reg.umask = 022;
	s_request(b, PLEXUS__VFS_TYPE__VFS_REGISTER, S_CLI, &reg.base, 0);
	Plexus__VfsPath path = PLEXUS__VFS_PATH__INIT;
	path.path = "/data/file";
	path.flags = 0102;
	path.mode = 0644;
	s_request(b, PLEXUS__VFS_TYPE__VFS_OPEN, S_CLI, &path.base, 0);
	Plexus__VfsFd fd = PLEXUS__VFS_FD__INIT;
	fd.fd = 3;
	fd.size = 100;
	s_request(b, PLEXUS__VFS_TYPE__VFS_WRITE, S_CLI, &fd.base, 100);
	Plexus__VfsMount mount = PLEXUS__VFS_MOUNT__INIT;
	mount.source = "vdisk:0";
	mount.target = "/data";
	mount.fs = "mfs-data";
	s_request(b, PLEXUS__VFS_TYPE__VFS_MOUNT, S_CLI, &mount.base, 0);
	int32_t fds[] = {0, 3};
	Plexus__VfsSelect sel = PLEXUS__VFS_SELECT__INIT;
	sel.n_read = 2;
	sel.read = fds;
	sel.timeout_ms = -1;
	s_request(b, PLEXUS__VFS_TYPE__VFS_SELECT, S_CLI, &sel.base, 0);
	Plexus__CdevSelReady ready = PLEXUS__CDEV_SEL_READY__INIT;
	ready.minor = 1;
	ready.id = 5;
	ready.ops = 1;
	s_request(b, PLEXUS__CDEV_TYPE__CDEV_SEL2_REPLY, S_CLI, &ready.base, 0);
	Plexus__FsName name = PLEXUS__FS_NAME__INIT;
	name.dir = 1;
	name.name = "etc";
	s_request(b, S_FS(FS_LOOKUP), S_VFS, &name.base, 0);
	s_save("bodies", "vfs-fs", b);
	free(b);
}

/* ---- mfs: [flags][image sectors][image][requests] ---- */

static mfs s_fs;

static int s_ram_write(void *arg, uint64_t pos, const void *buf, size_t size)
{
	s_buf *img = arg;
	if (pos + size > img->size)
		return -ENOSPC;
	memcpy(img->bytes + pos, buf, size);
	return 0;
}

/* A new file system of size bytes in blocks of bs with a journal of journal blocks, as
 * `plexus mkfs` lays it out, into img. */
static void s_mkfs(s_buf *img, size_t size, uint32_t bs, uint32_t journal)
{
	memset(img->bytes, 0, size);
	img->size = size;
	mfs_mkfs_opts opts = {.block_size = bs, .size = size, .journal = journal};
	mfs_super sb;
	char err[256];
	if (mfs_mkfs_layout(&opts, &sb, err, sizeof err) < 0)
		s_die(err);
	if (mfs_mkfs_write(&sb, 1700000000u, 0, 0, s_ram_write, img) < 0)
		s_die("mkfs write");
	if (journal && mfs_journal_write_empty(&sb, journal, s_ram_write, img) < 0)
		s_die("journal write");
}

static int s_call(uint32_t type, const ProtobufCMessage *body, const void *data, size_t size,
                  uint64_t *ino)
{
	mfs_reply out;
	int rc = mfsrun_call(&s_fs, type, 1, body, data, size, &out);
	if (rc == 0 && ino && out.r.attr)
		*ino = out.r.attr->ino;
	mfsrun_reply_free(&out);
	return rc;
}

static void s_mount(s_buf *img)
{
	ramdev_attach(img->bytes, img->size, false);
	mfsrun_init(&s_fs, 64 * 1024, 4);
	Plexus__FsReadsuper rs = PLEXUS__FS_READSUPER__INIT;
	rs.driver = RAMDEV_LABEL;
	if (s_call(S_FS(FS_READSUPER), &rs.base, NULL, 0, NULL) != 0)
		s_die("mount");
}

static uint64_t s_make(uint32_t type, uint64_t dir, const char *name, uint32_t mode,
                       const char *target)
{
	Plexus__FsCreate c = PLEXUS__FS_CREATE__INIT;
	c.dir = dir;
	c.name = (char *)name;
	c.mode = mode;
	c.rdev = 0x0403;
	c.target = (char *)(target ? target : "");
	uint64_t ino = 0;
	if (s_call(type, &c.base, NULL, 0, &ino) != 0)
		s_die(name);
	Plexus__FsPutnode p = PLEXUS__FS_PUTNODE__INIT;
	p.ino = ino;
	p.count = 1;
	s_call(S_FS(FS_PUTNODE), &p.base, NULL, 0, NULL);
	return ino;
}

static void s_fill(uint64_t ino, size_t size)
{
	static uint8_t data[48 * 1024];
	for (size_t i = 0; i < size; i++)
		data[i] = (uint8_t)('a' + i % 26);
	Plexus__FsIo io = PLEXUS__FS_IO__INIT;
	io.ino = ino;
	io.size = size;
	if (s_call(S_FS(FS_WRITE), &io.base, data, size, NULL) != 0)
		s_die("write");
}

/* The inodes of the populated tree. */
typedef struct s_tree {
	uint64_t etc, motd, big, sub, link;
} s_tree;

static s_tree s_populate(void)
{
	s_tree t;
	t.etc = s_make(S_FS(FS_MKDIR), MFS_ROOT_INO, "etc", 0755, NULL);
	t.motd = s_make(S_FS(FS_CREATE), t.etc, "motd", 0644, NULL);
	s_fill(t.motd, 300);
	t.big = s_make(S_FS(FS_CREATE), MFS_ROOT_INO, "big", 0600, NULL);
	s_fill(t.big, 9 * 1024); /* past the 7 direct zones: a single indirect block */
	t.sub = s_make(S_FS(FS_MKDIR), t.etc, "sub", 0700, NULL);
	t.link = s_make(S_FS(FS_SLINK), MFS_ROOT_INO, "lnk", 0, "etc/motd");
	s_make(S_FS(FS_MKNOD), MFS_ROOT_INO, "tty0", S_IFCHR | 0620, NULL);
	s_make(S_FS(FS_MKNOD), t.sub, "fifo", S_IFIFO | 0600, NULL);
	return t;
}

static void s_unmount(void)
{
	if (s_call(S_FS(FS_UNMOUNT), NULL, NULL, 0, NULL) != 0)
		s_die("unmount");
	mfsrun_fini(&s_fs);
}

/* The index of type in plexus-mfs's table (a request's op byte). */
static uint8_t s_op(uint32_t type)
{
	size_t n;
	const plx_handler *table = mfs_handlers(&n);
	for (size_t i = 0; i < n; i++)
		if (table[i].type == type)
			return (uint8_t)i;
	s_die("type");
	return 0;
}

/* A request of the harness's script: op, body, and a data frame of k * 64 bytes (255: the
 * body's size). */
static void s_fs_request(s_buf *b, uint32_t type, const ProtobufCMessage *body, int k)
{
	s_buf *tmp = calloc(1, sizeof *tmp);
	s_packed(tmp, body);
	s_byte(b, (uint8_t)(s_op(type) | (k >= 0 ? 64 : 0)));
	s_byte(b, (uint8_t)tmp->size);
	s_put(b, tmp->bytes, tmp->size);
	if (k >= 0)
		s_byte(b, (uint8_t)k);
	free(tmp);
}

static void s_script(s_buf *b, const s_tree *t)
{
	Plexus__FsName name = PLEXUS__FS_NAME__INIT;
	name.dir = MFS_ROOT_INO;
	name.name = "etc";
	s_fs_request(b, S_FS(FS_LOOKUP), &name.base, -1);
	Plexus__FsIo io = PLEXUS__FS_IO__INIT;
	io.ino = t->motd;
	io.size = 100;
	io.position = 250;
	s_fs_request(b, S_FS(FS_WRITE), &io.base, 255);
	s_fs_request(b, S_FS(FS_READ), &io.base, -1);
	io.ino = t->etc;
	io.position = 0;
	io.size = 256;
	s_fs_request(b, S_FS(FS_GETDENTS), &io.base, -1);
	Plexus__FsRename ren = PLEXUS__FS_RENAME__INIT;
	ren.old_dir = MFS_ROOT_INO;
	ren.old_name = "big";
	ren.new_dir = t->sub;
	ren.new_name = "moved";
	s_fs_request(b, S_FS(FS_RENAME), &ren.base, -1);
	Plexus__FsLink link = PLEXUS__FS_LINK__INIT;
	link.dir = MFS_ROOT_INO;
	link.name = "motd2";
	link.ino = t->motd;
	s_fs_request(b, S_FS(FS_LINK), &link.base, -1);
	Plexus__FsSetattr set = PLEXUS__FS_SETATTR__INIT;
	set.ino = t->big;
	set.flags = PLEXUS__FS_SETATTR_FLAG__FS_SET_SIZE;
	set.size = 100;
	s_fs_request(b, S_FS(FS_FTRUNC), &set.base, -1);
	set.flags = PLEXUS__FS_SETATTR_FLAG__FS_SET_UID | PLEXUS__FS_SETATTR_FLAG__FS_SET_GID;
	set.uid = set.gid = 7;
	s_fs_request(b, S_FS(FS_CHOWN), &set.base, -1);
	set.mode = 0751;
	s_fs_request(b, S_FS(FS_CHMOD), &set.base, -1);
	set.flags =
	    PLEXUS__FS_SETATTR_FLAG__FS_SET_MTIME | PLEXUS__FS_SETATTR_FLAG__FS_SET_ATIME_NOW;
	set.mtime_sec = 1234567;
	s_fs_request(b, S_FS(FS_UTIME), &set.base, -1);
	Plexus__FsIno ino = PLEXUS__FS_INO__INIT;
	ino.ino = t->link;
	s_fs_request(b, S_FS(FS_RDLINK), &ino.base, -1);
	s_fs_request(b, S_FS(FS_FSYNC), &ino.base, -1);
	name.name = "motd2";
	s_fs_request(b, S_FS(FS_UNLINK), &name.base, -1);
	ren.old_dir = ren.new_dir = MFS_ROOT_INO;
	ren.old_name = "lnk";
	ren.new_name = "tty0"; /* replaces it: the device node is freed */
	s_fs_request(b, S_FS(FS_RENAME), &ren.base, -1);
	name.dir = t->etc;
	name.name = "sub";
	s_fs_request(b, S_FS(FS_RMDIR), &name.base, -1);
	s_fs_request(b, S_FS(FS_STATVFS), NULL, -1);
	s_fs_request(b, S_FS(FS_SYNC), NULL, -1);
	s_fs_request(b, S_FS(FS_FLUSH), NULL, -1);
	s_fs_request(b, S_FS(FS_UNMOUNT), NULL, -1); /* -EBUSY: VFS holds etc */
	s_fs_request(b, S_FS(FS_UNMOUNT), NULL, -1);
	b->bytes[b->size - 2] |= 32; /* from a later VFS: the references are given up */
	Plexus__FsReadsuper rs = PLEXUS__FS_READSUPER__INIT;
	rs.driver = RAMDEV_LABEL;
	rs.read_only = true;
	s_fs_request(b, S_FS(FS_READSUPER), &rs.base, -1);
}

static void s_mfs_seed(const char *name, uint8_t flags, const s_buf *img, const s_tree *t)
{
	s_buf *b = calloc(1, sizeof *b);
	s_byte(b, flags);
	s_le16(b, (uint32_t)(img->size / RAMDEV_SECTOR));
	s_put(b, img->bytes, img->size);
	if (t)
		s_script(b, t);
	s_save("mfs", name, b);
	free(b);
}

static void s_mfs_seeds(void)
{
	s_buf *img = calloc(1, sizeof *img);
	s_mkfs(img, 24 * 1024, 1024, 0);
	s_mfs_seed("mkfs-24k", 0, img, NULL);
	s_mount(img);
	s_tree t = s_populate();
	s_unmount();
	s_mfs_seed("tree-24k", 4, img, NULL);
	s_mfs_seed("tree-24k-ro", 1, img, NULL);
	s_mfs_seed("tree-24k-script", 0, img, &t);

	/* A journal holding a committed transaction not yet written in place: the driver died
	 * after the header (the body and the header are the first two writes of the commit). */
	s_mkfs(img, 40 * 1024, 1024, 16);
	s_mount(img);
	t = s_populate();
	s_unmount();
	s_mount(img);
	s_make(S_FS(FS_MKDIR), t.sub, "new", 0755, NULL);
	ramdev_fail_writes_after(2);
	if (s_call(S_FS(FS_SYNC), NULL, NULL, 0, NULL) == 0)
		s_die("the sync should have failed in place");
	mfsrun_fini(&s_fs);
	mfs_super sb;
	mfs_super_decode(img->bytes + MFS_SUPER_OFFSET, &sb);
	mfs_jheader h;
	if (mfs_jheader_decode(img->bytes + (size_t)sb.zones * 1024, 1024, &h) < 0 ||
	    h.state != MFS_JNL_COMMITTED || h.count == 0)
		s_die("no committed transaction in the journal");
	s_mfs_seed("journal-committed-40k", 0, img, NULL);
	s_mfs_seed("journal-committed-40k-resealed", 2, img, NULL);

	/* More blocks than the cache holds (64), with a journal; and blocks of 4 KiB. */
	s_mkfs(img, 96 * 1024, 1024, 16);
	s_mount(img);
	t = s_populate();
	s_fill(s_make(S_FS(FS_CREATE), t.sub, "large", 0644, NULL), 40 * 1024);
	s_unmount();
	s_mfs_seed("large-96k", 4, img, NULL);
	s_mkfs(img, 64 * 1024, 4096, 0);
	s_mount(img);
	s_populate();
	s_unmount();
	s_mfs_seed("bs4096-64k", 0, img, NULL);
	ramdev_attach(NULL, 0, false);
	free(img);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mkseeds CORPUS\n");
		return 64;
	}
	s_dir = argv[1];
	s_ctx = plx_ctx_new();
	if (!s_ctx)
		s_die("context");
	s_envelopes();
	s_bdev_seed();
	s_cdev_seed();
	s_server_seeds();
	s_mfs_seeds();
	plx_ctx_destroy(&s_ctx);
	return 0;
}
