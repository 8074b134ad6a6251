/*
 * fuzz-bodies.c — libFuzzer harness for the validation of every message family's request
 * bodies: a request goes through the frames a sender builds and a receiver checks
 * (transport/frames.c), then through the server library's dispatch (transport/server.c:
 * handler lookup, allow-lists, the body unpacked with the table's descriptor), then to the
 * handler the family's server library runs.
 *
 * Entry point: LLVMFuzzerTestOneInput.
 *
 * The server's table holds, as a driver's or a server's would:
 *   BDEV  plx_blockdriver_handlers, over a RAM disk of four minors (plexus/blockdriver.h)
 *   CDEV  plx_chardriver_handlers, over a test device of four minors: a source, a pipe whose
 *         reads wait for writes, one that fails, one whose writes wait
 *   IPC   the server library's own (ping, shutdown, trace level)
 *   FS    plexus-mfs's table (fs-servers/mfs/table.c, linked here), its bodies checked below
 *   NODE, RS, VFS and VFS's CDEV_SEL2_REPLY: the types and body descriptors of
 *         node-kernel/table.c, reincarnation/table.c and vfs/table.c, with their allow-lists,
 *         copied here (those tables live in their servers' executables), bodies checked below
 *   DS    notifies only: no table entry, answered -ENOSYS like any other unknown type
 * For FS, NODE, RS and VFS the handler that runs is this harness's: it checks that the body
 * it was given is a message of the table's type that protobuf-c's own check accepts and that
 * encodes again. The drivers' callbacks check what the driver libraries promise them: a known
 * minor, a checked shape, a transfer inside the minor, a write's data of its size. A broken
 * promise aborts.
 *
 * Input: requests until it ends, each: type (2 bytes, little-endian), a flags byte (bits 0-2:
 * the sender's label, of "vfs", "rs", "node.n1", "plexus-cli", "mfs-root", "tty", a label of
 * 63 characters, "x"; bit 3: a data frame; bit 4: a local envelope, as between threads; bits
 * 5-6: kind 0 request, 1 notify, 2 reply), a body length byte and the body, and with a data
 * frame its length (2 bytes, little-endian, modulo 64 KiB; the bytes are a fixed pattern). Every
 * input starts with a fresh server and fresh drivers; requests still waiting at its end are
 * answered by plx_chardriver_abort, as a driver that stops does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <plexus/blockdriver.h>
#include <plexus/chardriver.h>
#include <plexus/server.h>

#include "fuzz.h"
#include "internal.h"
#include "mfs.h"
#include "plexus/proto/bdev.pb-c.h"
#include "plexus/proto/cdev.pb-c.h"
#include "plexus/proto/ds.pb-c.h"
#include "plexus/proto/fs.pb-c.h"
#include "plexus/proto/ipc.pb-c.h"
#include "plexus/proto/node.pb-c.h"
#include "plexus/proto/rs.pb-c.h"
#include "plexus/proto/vfs.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_REQUESTS_MAX 32
#define S_DATA_MAX     (64 * 1024)

/* ---- the RAM disk behind the block driver library ---- */

static uint8_t s_ram0[64 * 1024], s_ram1[16 * 1024], s_ram3[1000];

static const struct {
	uint8_t *bytes;
	plx_bdev_part part;
} s_minors[] = {
    {s_ram0, {sizeof s_ram0, 512, false}},
    {s_ram1, {sizeof s_ram1, 4096, true}},
    {NULL, {0, 512, false}},
    {s_ram3, {sizeof s_ram3, 1, false}},
};
#define S_BDEV_MINORS (sizeof s_minors / sizeof *s_minors)

static int s_bdev_part(void *arg, uint32_t minor, plx_bdev_part *part)
{
	(void)arg;
	if (minor >= S_BDEV_MINORS)
		return -ENXIO;
	*part = s_minors[minor].part;
	return 0;
}

/* The library's promise: a known minor, a non-empty aligned vector inside it, no write on a
 * read-only minor, known flags. */
static ssize_t s_bdev_transfer(void *arg, uint32_t minor, bool write, uint64_t position,
                               const struct iovec *iov, int iovcnt, uint32_t flags)
{
	(void)arg;
	FUZZ_CHECK(minor < S_BDEV_MINORS);
	const plx_bdev_part *p = &s_minors[minor].part;
	FUZZ_CHECK(iovcnt >= 1 && iovcnt <= PLX_BDEV_IOV_MAX);
	FUZZ_CHECK(position % p->sector_size == 0);
	FUZZ_CHECK((flags & ~(uint32_t)PLEXUS__BDEV_FLAG__BDEV_FORCEWRITE) == 0);
	FUZZ_CHECK(!write || !p->read_only);
	uint64_t at = position;
	for (int i = 0; i < iovcnt; i++) {
		FUZZ_CHECK(iov[i].iov_len > 0 && iov[i].iov_len % p->sector_size == 0);
		FUZZ_CHECK(at + iov[i].iov_len <= p->size);
		if (write)
			memcpy(s_minors[minor].bytes + at, iov[i].iov_base, iov[i].iov_len);
		else
			memcpy(iov[i].iov_base, s_minors[minor].bytes + at, iov[i].iov_len);
		at += iov[i].iov_len;
	}
	return (ssize_t)(at - position);
}

static int s_bdev_open(void *arg, uint32_t minor, uint32_t access)
{
	(void)arg;
	FUZZ_CHECK(minor < S_BDEV_MINORS);
	FUZZ_CHECK((access & ~(uint32_t)(PLEXUS__BDEV_ACCESS__BDEV_R_BIT |
	                                 PLEXUS__BDEV_ACCESS__BDEV_W_BIT)) == 0);
	return minor == 2 ? -EIO : 0;
}

static int s_bdev_ioctl(void *arg, uint32_t minor, uint32_t request, const void *in, size_t in_size,
                        void *out, size_t *out_size)
{
	(void)arg;
	FUZZ_CHECK(minor < S_BDEV_MINORS && in_size <= PLX_BDEV_IOCTL_MAX && *out_size == 0);
	if (request != 0x1234)
		return -ENOTTY;
	if (in_size)
		memcpy(out, in, in_size);
	*out_size = in_size;
	return 0;
}

static const plx_blockdriver_ops s_bdev_ops = {
    .part = s_bdev_part,
    .transfer = s_bdev_transfer,
    .open = s_bdev_open,
    .ioctl = s_bdev_ioctl,
};

/* ---- the test device behind the character driver library ---- */

static struct {
	plx_chardriver *driver;
	uint8_t pipe[4096];
	size_t npipe;
} s_chr;

static bool s_cdev_exists(void *arg, uint32_t minor)
{
	(void)arg;
	return minor < 4;
}

static int s_cdev_open(void *arg, uint32_t minor, uint32_t access)
{
	(void)arg;
	FUZZ_CHECK(minor < 4);
	FUZZ_CHECK((access &
	            ~(uint32_t)(PLEXUS__CDEV_ACCESS__CDEV_R_BIT | PLEXUS__CDEV_ACCESS__CDEV_W_BIT |
	                        PLEXUS__CDEV_ACCESS__CDEV_NOCTTY)) == 0);
	return minor == 3 ? -EACCES : 0;
}

/* Suspends req: PLX_SUSPEND, or the error to answer it with now. */
static int s_suspend(plx_cdev_req *req)
{
	int rc = plx_cdev_req_suspend(req);
	return rc == 0 ? PLX_SUSPEND : rc;
}

/* What every transfer callback is promised. */
static void s_check_req(const plx_cdev_req *req, uint32_t type)
{
	FUZZ_CHECK(plx_cdev_req_minor(req) < 4 && plx_cdev_req_type(req) == type);
	FUZZ_CHECK(plx_cdev_req_size(req) > 0 && plx_cdev_req_size(req) <= PLX_CDEV_MAX_IO);
	FUZZ_CHECK((plx_cdev_req_flags(req) & ~(uint32_t)PLEXUS__CDEV_FLAG__CDEV_NONBLOCK) == 0);
}

static int s_cdev_read(void *arg, plx_cdev_req *req, void *buf, size_t *count)
{
	(void)arg;
	s_check_req(req, PLEXUS__CDEV_TYPE__CDEV_READ);
	size_t want = plx_cdev_req_size(req);
	switch (plx_cdev_req_minor(req)) {
	case 0:
		*count = want < 64 ? want : 64;
		memset(buf, 'z', *count);
		return 0;
	case 1:
		if (!s_chr.npipe)
			return s_suspend(req);
		*count = want < s_chr.npipe ? want : s_chr.npipe;
		memcpy(buf, s_chr.pipe, *count);
		memmove(s_chr.pipe, s_chr.pipe + *count, s_chr.npipe - *count);
		s_chr.npipe -= *count;
		return 0;
	default:
		return -EIO;
	}
}

/* The pipe got data: answers the reads that wait for it, reports readiness. */
static void s_pipe_fed(void)
{
	plx_cdev_req *r;
	while (s_chr.npipe &&
	       (r = plx_chardriver_next(s_chr.driver, 1, PLEXUS__CDEV_TYPE__CDEV_READ))) {
		size_t n = plx_cdev_req_size(r) < s_chr.npipe ? plx_cdev_req_size(r) : s_chr.npipe;
		plx_cdev_req_reply(r, (int64_t)n, s_chr.pipe, n);
		memmove(s_chr.pipe, s_chr.pipe + n, s_chr.npipe - n);
		s_chr.npipe -= n;
	}
	if (s_chr.npipe)
		plx_chardriver_ready(s_chr.driver, 1, PLEXUS__CDEV_SEL_OP__CDEV_SEL_RD);
}

static int s_cdev_write(void *arg, plx_cdev_req *req, const void *data, size_t *count)
{
	(void)arg;
	s_check_req(req, PLEXUS__CDEV_TYPE__CDEV_WRITE);
	size_t size = 0;
	const void *same = plx_cdev_req_data(req, &size);
	FUZZ_CHECK(data && same == data && size == plx_cdev_req_size(req));
	switch (plx_cdev_req_minor(req)) {
	case 1: {
		size_t room = sizeof s_chr.pipe - s_chr.npipe;
		*count = size < room ? size : room;
		memcpy(s_chr.pipe + s_chr.npipe, data, *count);
		s_chr.npipe += *count;
		s_pipe_fed();
		return 0;
	}
	case 3:
		return s_suspend(req);
	default:
		*count = size;
		return 0;
	}
}

static int s_cdev_ioctl(void *arg, plx_cdev_req *req, uint32_t request, const void *in,
                        size_t in_size, void *out, size_t *out_size)
{
	(void)arg;
	FUZZ_CHECK(plx_cdev_req_type(req) == PLEXUS__CDEV_TYPE__CDEV_IOCTL);
	FUZZ_CHECK(in_size <= PLX_CDEV_IOCTL_MAX && *out_size == 0 && (in_size == 0 || in));
	if (request == 1) {
		if (in_size)
			memcpy(out, in, in_size);
		*out_size = in_size;
		return 0;
	}
	return request == 2 ? s_suspend(req) : -ENOTTY;
}

static uint32_t s_cdev_select(void *arg, uint32_t minor, uint32_t ops)
{
	(void)arg;
	FUZZ_CHECK(minor < 4);
	if (minor != 1)
		return ops;
	return ops & (PLEXUS__CDEV_SEL_OP__CDEV_SEL_WR |
	              (s_chr.npipe ? PLEXUS__CDEV_SEL_OP__CDEV_SEL_RD : 0));
}

static const plx_chardriver_ops s_cdev_ops = {
    .exists = s_cdev_exists,
    .open = s_cdev_open,
    .read = s_cdev_read,
    .write = s_cdev_write,
    .ioctl = s_cdev_ioctl,
    .select = s_cdev_select,
};

/* ---- the servers' tables whose handlers are not linked here ---- */

static const char *const s_rs_only[] = {"rs", NULL};               /* node-kernel */
static const char *const s_operators[] = {"plexus-*", "rs", NULL}; /* reincarnation */

#define S_NODE(t) PLEXUS__NODE_TYPE__##t
#define S_RS(t)   PLEXUS__RS_TYPE__##t
#define S_VFS(t)  PLEXUS__VFS_TYPE__##t
#define S_PATH    &plexus__vfs_path__descriptor
#define S_FD      &plexus__vfs_fd__descriptor

typedef struct s_copy {
	uint32_t type;
	const ProtobufCMessageDescriptor *body;
	const char *const *allowed;
} s_copy;

/* node-kernel/table.c and reincarnation/table.c (IPC_SHUTDOWN is left to the server library:
 * the node kernel's own handler answers it for RS only). */
static const s_copy s_node_rs[] = {
    {S_NODE(NODE_START), &plexus__node_start__descriptor, s_rs_only},
    {S_NODE(NODE_STOP), &plexus__node_stop__descriptor, s_rs_only},
    {S_NODE(NODE_SIGNAL), &plexus__node_signal__descriptor, s_rs_only},
    {S_NODE(NODE_LIST), NULL, NULL},
    {S_NODE(NODE_EXIT), &plexus__node_exit__descriptor, NULL},
    {S_RS(RS_UP), &plexus__rs_request__descriptor, s_operators},
    {S_RS(RS_DOWN), &plexus__rs_request__descriptor, s_operators},
    {S_RS(RS_RESTART), &plexus__rs_request__descriptor, s_operators},
    {S_RS(RS_REFRESH), &plexus__rs_request__descriptor, s_operators},
    {S_RS(RS_LIST), NULL, NULL},
};

/* vfs/table.c: the body of each VFS_* call; the others take VfsPath or VfsFd. */
static const s_copy s_vfs_special[] = {
    {S_VFS(VFS_REGISTER), &plexus__vfs_register__descriptor, NULL},
    {S_VFS(VFS_MOUNT), &plexus__vfs_mount__descriptor, NULL},
    {S_VFS(VFS_SELECT), &plexus__vfs_select__descriptor, NULL},
    {S_VFS(VFS_EXIT), NULL, NULL},
    {S_VFS(VFS_SYNC), NULL, NULL},
    {S_VFS(VFS_GETCWD), NULL, NULL},
    {S_VFS(VFS_EXEC), NULL, NULL},
    {S_VFS(VFS_PS), NULL, NULL},
    {S_VFS(VFS_MOUNTS), NULL, NULL},
    {S_VFS(VFS_WATCH), &plexus__vfs_watch__descriptor, NULL},
};
static const uint32_t s_vfs_fd[] = {
    S_VFS(VFS_CLOSE),     S_VFS(VFS_READ),     S_VFS(VFS_WRITE),  S_VFS(VFS_PREAD),
    S_VFS(VFS_PWRITE),    S_VFS(VFS_LSEEK),    S_VFS(VFS_FSTAT),  S_VFS(VFS_GETDENTS),
    S_VFS(VFS_FTRUNCATE), S_VFS(VFS_FCHMOD),   S_VFS(VFS_FCHOWN), S_VFS(VFS_FUTIMENS),
    S_VFS(VFS_FSYNC),     S_VFS(VFS_FSTATVFS), S_VFS(VFS_PIPE),   S_VFS(VFS_IOCTL),
    S_VFS(VFS_DUP),       S_VFS(VFS_DUP2),     S_VFS(VFS_FCNTL),  S_VFS(VFS_FCHDIR),
    S_VFS(VFS_UMASK),     S_VFS(VFS_SYNCFS),
};

/* The descriptor of a VFS call, by vfs/table.c. */
static const ProtobufCMessageDescriptor *s_vfs_body(uint32_t type, const char *const **allowed)
{
	*allowed = NULL;
	for (size_t i = 0; i < sizeof s_vfs_special / sizeof *s_vfs_special; i++)
		if (s_vfs_special[i].type == type)
			return s_vfs_special[i].body;
	for (size_t i = 0; i < sizeof s_vfs_fd / sizeof *s_vfs_fd; i++)
		if (s_vfs_fd[i] == type)
			return S_FD;
	return S_PATH;
}

/* ---- the handler of the tables copied ---- */

static plx_handler s_table[256];
static size_t s_ntable;

static const plx_handler *s_entry(uint32_t type)
{
	for (size_t i = 0; i < s_ntable; i++)
		if (s_table[i].type == type)
			return &s_table[i];
	return NULL;
}

/* The body the server library hands over is a message of the table's type that protobuf-c's
 * own check accepts and that encodes to the size it says. (Whether it decodes again is
 * protobuf-c's business: 1.4.1 keeps a field numbered 0 whose tag came in two bytes, 0x80 0x00,
 * as an unknown field and writes it back in one byte, which it then refuses.) */
static int s_check_body(plx_call *call)
{
	const plx_handler *h = s_entry(call->msg->type);
	FUZZ_CHECK(h != NULL);
	if (!h->body) {
		FUZZ_CHECK(call->body == NULL);
		return 0;
	}
	FUZZ_CHECK(call->body && call->body->descriptor == h->body);
	FUZZ_CHECK(protobuf_c_message_check(call->body));
	size_t size = protobuf_c_message_get_packed_size(call->body);
	uint8_t *packed = malloc(size + 1);
	FUZZ_CHECK(packed && protobuf_c_message_pack(call->body, packed) == size);
	free(packed);
	return 0;
}

static void s_add(uint32_t type, const char *name, plx_handler_fn *fn,
                  const ProtobufCMessageDescriptor *body, const char *const *allowed)
{
	FUZZ_CHECK(s_ntable < sizeof s_table / sizeof *s_table);
	s_table[s_ntable++] = (plx_handler){.type = type,
	                                    .name = name,
	                                    .fn = fn,
	                                    .body = body,
	                                    .flags = PLX_IN_LOOP,
	                                    .allowed = allowed};
}

static void s_add_all(const plx_handler *table, size_t n, bool own)
{
	for (size_t i = 0; i < n; i++)
		s_add(table[i].type, table[i].name, own ? table[i].fn : s_check_body, table[i].body,
		      table[i].allowed);
}

/* The table: the driver libraries' handlers as they are, the others' bodies checked. */
static void s_build_table(void)
{
	size_t n;
	const plx_handler *t = plx_blockdriver_handlers(&n);
	s_add_all(t, n, true);
	t = plx_chardriver_handlers(&n);
	s_add_all(t, n, true);
	t = mfs_handlers(&n);
	s_add_all(t, n, false);
	for (size_t i = 0; i < sizeof s_node_rs / sizeof *s_node_rs; i++)
		s_add(s_node_rs[i].type, "node/rs", s_check_body, s_node_rs[i].body,
		      s_node_rs[i].allowed);
	const ProtobufCEnumDescriptor *vfs = &plexus__vfs_type__descriptor;
	for (unsigned i = 0; i < vfs->n_values; i++) {
		uint32_t type = (uint32_t)vfs->values[i].value;
		const char *const *allowed;
		if (type)
			s_add(type, vfs->values[i].name, s_check_body, s_vfs_body(type, &allowed),
			      allowed);
	}
	s_add(PLEXUS__CDEV_TYPE__CDEV_SEL2_REPLY, "CDEV_SEL2_REPLY", s_check_body,
	      &plexus__cdev_sel_ready__descriptor, NULL);
	const ProtobufCEnumDescriptor *families[] = {
	    &plexus__bdev_type__descriptor, &plexus__cdev_type__descriptor,
	    &plexus__fs_type__descriptor,   &plexus__vfs_type__descriptor,
	    &plexus__node_type__descriptor, &plexus__rs_type__descriptor,
	    &plexus__ds_type__descriptor};
	for (size_t i = 0; i < sizeof families / sizeof *families; i++)
		plx_register_types(families[i]);
}

/* ---- one input ---- */

static plx_ctx *s_ctx;
static plx_ep *s_ep;

static const char *const s_senders[8] = {
    "vfs",
    "rs",
    "node.n1",
    "plexus-cli",
    "mfs-root",
    "tty",
    "a-label-of-sixty-three-characters-which-is-the-longest-one-ok-x",
    "x"};

static uint8_t s_pattern[S_DATA_MAX]; /* the bytes of every data frame */

static void s_setup(void)
{
	for (size_t i = 0; i < sizeof s_pattern; i++)
		s_pattern[i] = (uint8_t)(i * 31 + 7);
	s_build_table();
	s_ctx = plx_ctx_new();
	FUZZ_CHECK(s_ctx != NULL);
	s_ep = plx_ep_new(s_ctx, "fuzz-server", 1);
	FUZZ_CHECK(s_ep != NULL);
}

/* Builds one request's frames as a sender does and reads them as the server's receiver does. */
static plx_msg *s_message(uint32_t type, uint8_t flags, const uint8_t *body, size_t body_size,
                          const uint8_t *data, size_t data_size)
{
	plx_name source = {.generation = 1}, destination = {.generation = 1};
	snprintf(source.label, sizeof source.label, "%s", s_senders[flags & 7]);
	snprintf(destination.label, sizeof destination.label, "fuzz-server");
	static const plx_kind kinds[4] = {PLX_REQUEST, PLX_NOTIFY, PLX_REPLY, PLX_REQUEST};
	bool local = flags & 16;
	plx_outgoing out = {.kind = kinds[(flags >> 5) & 3],
	                    .type = type,
	                    .request_id = 7,
	                    .source = &source,
	                    .destination = &destination,
	                    .packed_body = body,
	                    .packed_body_size = body_size,
	                    .data = data_size ? data : NULL,
	                    .data_size = data_size,
	                    .local = local};
	zmq_msg_t frames[3];
	int n = 0;
	FUZZ_CHECK(plx__frames_build(s_ctx, NULL, 0, &out, frames, &n) == 0);
	plx_msg *msg = NULL;
	int rc = plx__frames_parse(s_ctx, frames, n, local, &msg);
	if (type == 0) {
		FUZZ_CHECK(rc == -EBADMSG);
		plx_msg_destroy(&msg);
		return NULL;
	}
	FUZZ_CHECK(rc == 0 && msg != NULL);
	return msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!s_ctx)
		s_setup();
	plx_trace_set(s_ctx, false, NULL, NULL); /* IPC_TRACE_LEVEL may have turned it on */
	plx_server *srv = plx_server_new(s_ep, s_table, s_ntable, NULL);
	plx_blockdriver *bd = plx_blockdriver_new(&s_bdev_ops, NULL);
	memset(&s_chr, 0, sizeof s_chr);
	plx_chardriver *cd = plx_chardriver_new(&s_cdev_ops, NULL);
	FUZZ_CHECK(srv && bd && cd);
	FUZZ_CHECK(plx_blockdriver_attach(bd, srv) == 0 && plx_chardriver_attach(cd, srv) == 0);
	s_chr.driver = cd;
	for (int count = 0; size >= 4 && count < S_REQUESTS_MAX; count++) {
		uint32_t type = (uint32_t)data[0] | (uint32_t)data[1] << 8;
		uint8_t flags = data[2];
		size_t len = data[3] < size - 4 ? data[3] : size - 4;
		const uint8_t *body = data + 4;
		data += 4 + len, size -= 4 + len;
		size_t data_size = 0;
		if ((flags & 8) && size >= 2) {
			data_size = ((size_t)data[0] | (size_t)data[1] << 8) % S_DATA_MAX;
			data += 2, size -= 2;
		}
		plx_msg *msg = s_message(type, flags, body, len, s_pattern, data_size);
		if (msg)
			plx_server_dispatch(srv, msg);
	}
	plx_chardriver_abort(cd, -EIO);
	plx_chardriver_destroy(&cd);
	plx_blockdriver_destroy(&bd);
	plx_server_destroy(&srv);
	return 0;
}
