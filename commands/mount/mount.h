/*
 * mount.h — `plexus mount`: what its files share.
 *
 * Entry points: mount_ops (ops.c); mount_sessions_init, mount_sessions_close,
 * mount_session_caller, mount_session_put, mount_fh, mount_fh_session, mount_fh_fd
 * (sessions.c).
 */
#ifndef PLEXUS_MOUNT_H
#define PLEXUS_MOUNT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <plexus/plexus.h>

struct fuse_operations;

#define MOUNT_SESSIONS 32 /* clients of VFS at most, one per user acting at a time */

/* One client of VFS registered as one user (uid, gid, groups). */
typedef struct mount_session {
	plexus *p;          /* NULL: a free slot */
	plexus_creds creds; /* groups sorted */
	int users;          /* calls in progress on it and its open files: never closed before 0 */
	uint64_t used; /* the pool's clock at its last use (the least recent idle goes first) */
} mount_session;

/* What every operation finds in fuse_get_context()->private_data. */
typedef struct mount_ctx {
	/* Mounted by root (allow_other): each caller acts as itself, through a session of its
	 * own; else every call is the mounter's, through sessions[0]. */
	bool per_caller;
	plexus_opts opts;     /* how a new session connects (etcd, cluster, VFS, name) */
	pthread_mutex_t lock; /* the sessions and the clock */
	mount_session sessions[MOUNT_SESSIONS]; /* [0]: the mounter's own, never closed */
	uint64_t clock;
} mount_ctx;

/* The operations table. */
const struct fuse_operations *mount_ops(void);

/* Sets ctx up around own, the mounter's client (opts: how it connected; per_caller: root's
 * mount). */
void mount_sessions_init(mount_ctx *ctx, plexus *own, const plexus_opts *opts, bool per_caller);
/* Disconnects every session, the mounter's own too. */
void mount_sessions_close(mount_ctx *ctx);
/* The session of the user making the current FUSE call (connected on first use), held until
 * mount_session_put. Returns NULL with errno set when it cannot be made (ENFILE: every session
 * is busy). */
mount_session *mount_session_caller(mount_ctx *ctx);
/* Lets go of a hold (a call's, or an open file's once it is closed). */
void mount_session_put(mount_ctx *ctx, mount_session *s);
/* The file handle of descriptor fd opened on s; the open file holds s. */
uint64_t mount_fh(mount_ctx *ctx, mount_session *s, int fd);
/* The session and the descriptor a file handle names. */
mount_session *mount_fh_session(mount_ctx *ctx, uint64_t fh);
int mount_fh_fd(uint64_t fh);

#endif
