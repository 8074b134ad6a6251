/*
 * client.h — libplexus's inside: the handle, the one call path every system call takes to
 * VFS, and the conversions from VFS's answers to POSIX structures.
 *
 * Entry points: plexus__call, plexus__call_raw (call.c); the typed calls plexus__vfs_<name> and
 * plexus__vfs_<name>_raw (request.c, one per line of proto/vfs.def); plexus__register,
 * plexus__rejoin (connect.c); plexus__answer_free, plexus__vfs_gen, plexus__set_chunk_max,
 * plexus__chunk_max, plexus__label (handle.c); plexus__fail, plexus__check_path,
 * plexus__stat_from, plexus__statvfs_from, plexus__mount_flags, plexus__times_to (convert.c);
 * the descriptor table's (fds.c) plexus__fd_*, plexus__fds_restore, plexus__fds_free; and the
 * lost changes' (durable.c) plexus__durable_*, plexus__fs_slot; staged data's (direct.c)
 * plexus__direct_*.
 */
#ifndef PLEXUS_CLIENT_H
#define PLEXUS_CLIENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <plexus/endpoint.h>
#include <plexus/etcd.h>
#include <plexus/fsreq.h>
#include <plexus/plexus.h>
#include <plexus/stub.h>
#include <plexus/transport.h>

#include "plexus/proto/vfs.pb-c.h"

#define PLEXUS__TIMEOUT_MS 10000
#define PLEXUS__CHUNK_MAX  (4u * 1024 * 1024) /* bytes per VFS_READ / VFS_WRITE */
#define PLEXUS__PATH_MAX   4096
#define PLEXUS__LEASE_TTL  2 /* seconds: how long VFS keeps a dead process */
#define PLEXUS__WAIT       PLX_FOREVER
#define PLEXUS__FD_MAX     4096 /* descriptors the table follows (VFS gives out fewer) */

/* A descriptor as the process holds it (fds.c): what reopening it on a new VFS takes. */
typedef struct plexus__fd {
	bool used;
	bool stale;       /* its VFS is gone and it could not be opened again: -ESTALE */
	uint64_t vfs_gen; /* the VFS generation it belongs to */
	int flags;        /* as opened */
	char *path;       /* absolute; NULL: not opened again (pipe ends, devices) */
	uint32_t mode;    /* type bits of what it opened */
	uint64_t ino;
	uint32_t dev;
	int64_t offset; /* where read/write/lseek left it */
	/* writes through it no sync has confirmed: the file server (1 + its index in the
	 * handle's fs table) and instance that acknowledged the first (durable.c) */
	uint16_t dirty_fs;
	uint64_t dirty_gen;
	bool dirty_told;    /* their loss was told through another descriptor of the file */
	uint64_t serial;    /* which opening this is: a close notes its own only (fds.c) */
	uint64_t dirty_seq; /* the handle's acks at its latest unsynced write (durable.c) */
	uint16_t direct_fs; /* the file server (as dirty_fs) its writes stage at (direct.c) */
} plexus__fd;

#define PLEXUS__FS_MAX     16 /* file servers whose instances a handle follows (durable.c) */
#define PLEXUS__CLOSED_MAX 64 /* files closed with unsynced writes it follows (durable.c) */
#define PLEXUS__DIRS_MAX   64 /* directories with unsynced entry changes it follows (durable.c) */

struct plexus {
	plx_ctx *ctx;
	plx_etcd *etcd;
	plx_lease *lease;
	plx_epcache *cache;
	plx_ep *ep;
	char cluster[64];
	char vfs[PLX_LABEL_MAX];
	char label[PLX_LABEL_MAX];
	char node[PLX_NODE_MAX];
	char name[64];
	bool as_user; /* registers with creds below, not the process's own */
	plexus_creds creds;
	uint64_t generation;
	bool published;
	bool registered;
	int timeout_ms;
	size_t chunk_max;
	pthread_mutex_t rejoin_lock; /* one plexus__rejoin at a time */
	uint64_t vfs_gen;            /* the VFS instance registered with (atomic access) */
	pthread_mutex_t fds_lock;    /* the table below and cwd */
	plexus__fd *fds;             /* by descriptor number */
	size_t nfds;
	uint64_t fd_serial;         /* the last plexus__fd serial given */
	char cwd[PLEXUS__PATH_MAX]; /* the working directory as this process set it */
	struct {                    /* fds_lock: the instance holding unsynced namespace changes */
		char label[PLX_LABEL_MAX];
		uint64_t ns_gen;
		uint64_t ns_seq; /* the handle's acks at the latest */
		plx_fs *direct;  /* for staged data (direct.c); NULL until used */
	} fs[PLEXUS__FS_MAX];
	int nfs;
	/* fds_lock: unsynced writes of descriptors closed since, per file (durable.c) */
	struct {
		uint16_t fs; /* as plexus__fd's dirty_fs */
		uint32_t dev;
		uint64_t ino;
		uint64_t gen;
		uint64_t seq; /* as plexus__fd's dirty_seq */
	} closed[PLEXUS__CLOSED_MAX];
	int nclosed;
	/* fds_lock: directories whose entries changed since a sync, by path (durable.c) */
	struct {
		uint16_t fs;
		uint64_t gen;
		uint64_t seq; /* the handle's acks at the latest */
		char *dir;    /* absolute, normalized; owned */
	} dirs[PLEXUS__DIRS_MAX];
	int ndirs;
	uint64_t acks;                        /* fds_lock: changes noted so far (durable.c) */
	uint64_t direct_writes, direct_reads; /* (atomic) bytes that moved once (direct.c) */
};

/* ---- fds.c ---- */

/* The VFS generation a call naming fd must go to (0: any; fd unknown here) into *generation.
 * Returns 0, or -ESTALE for a descriptor its VFS's restart left stale. */
int plexus__fd_bind(plexus *self, int fd, uint64_t *generation);
/* The absolute path descriptor fd was opened by (for openat's files), in a new string, or
 * NULL when it is not known (not opened by a path, or no such descriptor). */
char *plexus__fd_path(plexus *self, int fd);
/* fd was opened by path (as given; relative to cwd) with flags; attr from VFS_OPEN's answer
 * (NULL: not opened again after a restart). */
void plexus__fd_opened(plexus *self, int fd, const char *path, int flags,
                       const Plexus__FsAttr *attr);
/* to is a copy of from (dup, dup2, F_DUPFD). */
void plexus__fd_copied(plexus *self, int from, int to);
/* Which opening descriptor fd is (0: none), for plexus__fd_closed. */
uint64_t plexus__fd_serial(plexus *self, int fd);
/* VFS closed descriptor fd, the opening serial: forgotten, unless VFS has given the number to
 * another opening meanwhile (that one's answer may come first, in another thread). */
void plexus__fd_closed(plexus *self, int fd, uint64_t serial);
/* fd's position: offset bytes on (relative) or at offset. */
void plexus__fd_moved(plexus *self, int fd, int64_t offset, bool relative);
/* fd's close-on-exec flag (F_SETFD, F_DUPFD_CLOEXEC). */
void plexus__fd_cloexec(plexus *self, int fd, bool on);
/* VFS_EXEC closed the close-on-exec descriptors: forgets them. */
void plexus__fds_exec(plexus *self);
/* The working directory is now path (relative to the old one), or fd's when path is NULL. */
void plexus__fd_cwd(plexus *self, const char *path, int fd);
/* After registering with a new VFS: the working directory and every descriptor opened again
 * at its number. Returns how many turned stale. */
int plexus__fds_restore(plexus *self);
void plexus__fds_free(plexus *self);

/* ---- durable.c ---- */

/* The handle's slot for file server label (1-based; 0: the table is full). fds_lock held. */
int plexus__fs_slot(plexus *self, const char *label);

/* The changes noted so far: taken before a sync's request goes out, it is that sync's mark. */
uint64_t plexus__durable_mark(plexus *self);
/* After VFS answered value (>= 0) with r to a call of type with body naming descriptor fd
 * (-1: none), sent at mark: notes the change an instance of a file server acknowledged (a
 * call by path: in the directories of its names), or, for fsync, syncfs and sync, checks the
 * instance that synced against those that took this process's changes (the ones noted by
 * mark, when the same instance: durable). Returns value, or -EIO when changes went to an
 * instance that died before a sync (reported once). */
int64_t plexus__durable_answer(plexus *self, uint32_t type, const ProtobufCMessage *body, int fd,
                               const Plexus__VfsReply *r, int64_t value, uint64_t mark);
/* VFS answered EIO to an fsync or syncfs of fd: the loss is reported; not again. */
void plexus__durable_reported(plexus *self, uint32_t type, int fd);
/* Descriptor f is being closed (fds_lock held): its unsynced writes stay the file's, for the
 * next fsync of the file through any descriptor, or syncfs. */
void plexus__durable_closed(plexus *self, const plexus__fd *f);
/* Frees what the handle keeps of changed directories. */
void plexus__durable_free(plexus *self);

/* What VFS answered: the message (owns the data frame) and its unpacked VfsReply. */
typedef struct plexus__answer {
	plx_msg *msg;
	Plexus__VfsReply *reply;
} plexus__answer;

/* Sends one request of the VFS family (body may be NULL, data may be NULL with size 0) and
 * waits up to timeout_ms (PLEXUS__WAIT: until VFS answers or dies). Returns the reply's value
 * (>= 0) or a negative errno: VFS's status, or -ETIMEDOUT, -EHOSTDOWN (VFS gone), -EPROTO (an
 * answer that does not parse), -EMSGSIZE. When ans is not NULL and VFS answered 0, ans holds
 * the answer (free with plexus__answer_free); it is zeroed otherwise. */
int64_t plexus__call(plexus *self, uint32_t type, const ProtobufCMessage *body, const void *data,
                     size_t size, int timeout_ms, plexus__answer *ans);
/* The same to the current VFS, never registering again (for the restore inside a rejoin). */
int64_t plexus__call_raw(plexus *self, uint32_t type, const ProtobufCMessage *body, int timeout_ms,
                         plexus__answer *ans);
void plexus__answer_free(plexus__answer *ans);

/* ---- request.c: the VFS family's typed calls, one per line of proto/vfs.def ---- */

/* plexus__vfs_<name> is plexus__call of the line's type with a body of the line's message
 * (NULL for NONE; another message is a build error, a cast one an assertion);
 * plexus__vfs_<name>_raw is plexus__call_raw of it. Every reply is a VfsReply (ans). */
#define PLX_REQUEST(NAME, name, Req, req, Rep, rep)                                                \
	int64_t plexus__vfs_##name(plexus *self, const Plexus__##Req *body, const void *data,      \
	                           size_t size, int timeout_ms, plexus__answer *ans);              \
	int64_t plexus__vfs_##name##_raw(plexus *self, const Plexus__##Req *body, int timeout_ms,  \
	                                 plexus__answer *ans);
#include "plexus/proto/vfs.def"
#undef PLX_REQUEST

/* The typed calls of the VfsPath and VfsFd requests, for a caller that picks one (stat or
 * lstat, read or pread): the compiler checks that the call picked takes that body. */
typedef int64_t plexus__path_call(plexus *self, const Plexus__VfsPath *body, const void *data,
                                  size_t size, int timeout_ms, plexus__answer *ans);
typedef int64_t plexus__fd_call(plexus *self, const Plexus__VfsFd *body, const void *data,
                                size_t size, int timeout_ms, plexus__answer *ans);
typedef int64_t plexus__fd_raw(plexus *self, const Plexus__VfsFd *body, int timeout_ms,
                               plexus__answer *ans);
/* VFS_REGISTER with the process's credentials (again, when VFS forgot the process). Returns
 * 0 or a negative errno. */
int plexus__register(plexus *self);
/* When VFS has forgotten the process (it restarted): a new lease if the old one lapsed, the
 * endpoint record written again, VFS_REGISTER, the descriptors opened again (fds.c). Nothing
 * when another thread did so since the caller saw generation seen. Returns 0 or a negative
 * errno. */
int plexus__rejoin(plexus *self, uint64_t seen);
/* The VFS generation registered with. */
uint64_t plexus__vfs_gen(plexus *self);
/* Sets errno to -rc and returns -1: the POSIX way out of a failed call. */
int plexus__fail(int64_t rc);
/* 0 for a usable path, -EFAULT (NULL) or -ENAMETOOLONG. */
int plexus__check_path(const char *path);
void plexus__stat_from(const Plexus__FsAttr *attr, struct stat *st);
void plexus__statvfs_from(const Plexus__FsStatvfs *fs, struct statvfs *buf);
/* statvfs's f_flag bits (ST_RDONLY, ST_NODEV, ST_NOSUID, ST_NOEXEC) from VFS_MNT_* flags. */
unsigned long plexus__mount_flags(bool read_only, uint32_t flags);
/* Fills *out from POSIX times (NULL: both now). */
void plexus__times_to(const struct timespec times[2], Plexus__VfsTimes *out);
/* Tests and tools: the largest data frame one request carries (>= 1). */
void plexus__set_chunk_max(plexus *self, size_t bytes);
size_t plexus__chunk_max(const plexus *self);
/* The handle's endpoint label and generation (as VFS sees it). */
const char *plexus__label(const plexus *self, uint64_t *generation);

/* ---- direct.c: data that moves once (docs/protocol.md "Staged data") ---- */

#define PLEXUS__DIRECT_MIN (64u * 1024)       /* bytes: smaller reads and writes go through VFS */
#define PLEXUS__DIRECT_MAX (4u * 1024 * 1024) /* bytes of one stage */

/* Whether a read of want bytes asks for them directly (VfsFd.direct). */
bool plexus__direct_wanted(size_t want);
/* VFS answered a read asked with direct (r: its reply, count: its value) by staging the bytes:
 * collects them into buf from the file server; when that fails, reads them through VFS at
 * the offset the reply names. Returns count or a negative errno. */
int64_t plexus__direct_collect(plexus *self, int fd, const Plexus__VfsReply *r, int64_t count,
                               void *buf);
/* A write of want bytes of buf through fd (at offset for VFS_PWRITE) with the bytes staged at
 * the file server fd's writes go to. Returns false when it was not tried that way (the caller
 * sends the bytes with the call); true with *put what VFS answered otherwise. */
bool plexus__direct_write(plexus *self, plexus__fd_call *call, int fd, const void *buf, size_t want,
                          off_t offset, int64_t *put);
/* fd's data is at file server label (VFS_OPEN's answer): its writes stage there. */
void plexus__direct_learn(plexus *self, int fd, const char *label);
/* Frees the file server handles. */
void plexus__direct_free(plexus *self);
/* Tests: the bytes written and read so far whose data moved directly. */
void plexus__direct_counts(plexus *self, uint64_t *written, uint64_t *read);

#endif
