/*
 * mount.h — `plexus mount`: what its files share.
 *
 * Entry points: mount_ops (ops.c, the table; names.c, attrs.c, files.c, dirs.c, the
 * operations; calls.c, what they share); mount_sessions_init, mount_sessions_close,
 * mount_session_caller, mount_session_put, mount_session_use, mount_session_op_* (sessions.c);
 * mount_nodes_init, mount_nodes_free, mount_node_*, mount_file_* (nodes.c); mount_path_call,
 * mount_path2_call (paths.c); mount_servers_* (servers.c); mount_watch_*,
 * mount_invalidate_all (watch.c).
 */
#ifndef PLEXUS_MOUNT_H
#define PLEXUS_MOUNT_H

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include <plexus/plexus.h>

#define MOUNT_SESSIONS        32   /* clients of VFS at most, one per user acting at a time */
#define PLEXUS_PATH_MAX_BYTES 4096 /* the longest path VFS takes, with the NUL */

/* One client of VFS registered as one user (uid, gid, groups). */
typedef struct mount_session {
	plexus *p;          /* NULL: a free slot */
	plexus_creds creds; /* groups sorted */
	int users;          /* calls in progress on it and its open files: never closed before 0 */
	uint64_t used; /* the pool's clock at its last use (the least recent idle goes first) */
	pthread_mutex_t cwd_lock; /* its working directory, for calls by long paths (paths.c) */
	uint64_t joined; /* atomic: the watch epoch it joined (ctx->watch_live's), 0: none */
} mount_session;

typedef struct mount_node mount_node;
typedef struct mount_name mount_name;

/* A file or directory the kernel opened: a Plexus descriptor on the session of its opener. */
typedef struct mount_file {
	mount_session *s;
	int fd;
	mount_node *node;              /* the node it is open on; NULL once released */
	int refs;                      /* the kernel's handle and the calls borrowing it */
	struct mount_file *next;       /* the node's other open files */
	pthread_mutex_t lock;          /* the listing */
	struct plexus_dirent *listing; /* a directory's entries, read at offset 0 */
	size_t entries;
	dev_t dev; /* the directory's device, folded into its entries' inode numbers */
} mount_file;

/* What every operation finds in fuse_req_userdata(). */
typedef struct mount_ctx {
	/* Mounted by root (allow_other): each caller acts as itself, through a session of its
	 * own; else every call is the mounter's, through sessions[0]. */
	bool per_caller;
	plexus_opts opts;     /* how a new session connects (etcd, cluster, VFS, name) */
	pthread_mutex_t lock; /* the sessions and the clock */
	mount_session sessions[MOUNT_SESSIONS]; /* [0]: the mounter's own, never closed */
	uint64_t clock;
	/* the inode table (nodes.c), under nodes_lock */
	pthread_mutex_t nodes_lock;
	mount_node *nodes, *inodes, *root; /* by id, by (device, inode) */
	mount_name *names;                 /* by (parent, name) */
	fuse_ino_t next_id;
	struct mount_servers *servers; /* servers.c, NULL when not watching */
	int entry_timeout;             /* seconds the kernel keeps a name (--entry-timeout) */
	int cache_timeout; /* seconds the kernel keeps names and attributes while VFS's watch
	                    * tells of changes (--cache-timeout; 0: no watch) */
	struct mount_watch *watch; /* watch.c, NULL when not watching */
	/* The live watch, as watch.c keeps it for the sessions to join (sessions.c): */
	pthread_mutex_t watch_lock; /* watch_token, and watch_live's changes */
	uint64_t watch_token;       /* 0: none (yet) */
	uint64_t watch_live;        /* atomic: the live watch's epoch, 0 while there is none */
	struct mount_negative
	    *negatives; /* watch.c: failed lookups the kernel keeps (watch_lock) */
	size_t nnegatives;
} mount_ctx;

/* The operations table. */
const struct fuse_lowlevel_ops *mount_ops(void);

/* Sets ctx up around own, the mounter's client (opts: how it connected; per_caller: root's
 * mount). */
void mount_sessions_init(mount_ctx *ctx, plexus *own, const plexus_opts *opts, bool per_caller);
/* Disconnects every session, the mounter's own too. */
void mount_sessions_close(mount_ctx *ctx);
/* The session of the user making req (connected on first use), held until
 * mount_session_put. Returns NULL with errno set when it cannot be made (ENFILE: every session
 * is busy). */
mount_session *mount_session_caller(mount_ctx *ctx, fuse_req_t req);
/* Lets go of a hold (a call's, or an open file's once it is closed). */
void mount_session_put(mount_ctx *ctx, mount_session *s);
/* The operation on this thread uses session s (mount_session_caller says so itself): it joins
 * the live watch if it has not yet. */
void mount_session_use(mount_ctx *ctx, mount_session *s);
/* An operation begins on this thread (mount_watch_begin calls it). */
void mount_session_op_begin(void);
/* The watch epoch every session the operation used had joined; 0 when they differ or one had
 * joined none; UINT64_MAX when it used none. */
uint64_t mount_session_op_joined(void);

/* The inode table: node 1 is "/". */
void mount_nodes_init(mount_ctx *ctx);
void mount_nodes_free(mount_ctx *ctx);
/* The absolute path of node id, with "/name" appended when name is not NULL, in *path (the
 * caller frees it). Returns 0, -ESTALE (no such node, or no name left), -ELOOP, -ENOMEM. */
int mount_node_path(mount_ctx *ctx, fuse_ino_t id, const char *name, char **path);
/* Whether st is node id's inode (the root: any); then st's mode is noted as the node's. */
bool mount_node_same(mount_ctx *ctx, fuse_ino_t id, const struct stat *st);
/* name in directory node parent is st's inode: its node (made if need be) counts one more
 * lookup by the kernel. Returns the node's id, or 0 (out of memory, no such parent). */
fuse_ino_t mount_node_learn(mount_ctx *ctx, fuse_ino_t parent, const char *name,
                            const struct stat *st);
/* name in parent is gone (unlink, rmdir, or a lookup found nothing). */
void mount_node_unlearn(mount_ctx *ctx, fuse_ino_t parent, const char *name);
/* from in fromdir was renamed to to in todir (what to named before is gone). */
void mount_node_moved(mount_ctx *ctx, fuse_ino_t fromdir, const char *from, fuse_ino_t todir,
                      const char *to);
/* The kernel gave back lookups of node id. */
void mount_node_forget(mount_ctx *ctx, fuse_ino_t id, uint64_t lookups);

/* A name the table knows: node is name in directory parent. */
typedef struct mount_known {
	fuse_ino_t parent, node;
	char *name;
} mount_known;
/* Copies of every name the table knows into *out (the caller frees with mount_known_free).
 * Returns the count, or -ENOMEM. */
long mount_nodes_known(mount_ctx *ctx, mount_known **out);
void mount_known_free(mount_known *known, long n);

/* The nodes' names in directory node id (mount_known_free them). Returns the count, or
 * -ENOMEM. */
long mount_node_children(mount_ctx *ctx, fuse_ino_t id, mount_known **out);
/* The node of Plexus inode (dev, ino), or 0 when the table has none. */
fuse_ino_t mount_node_of(mount_ctx *ctx, uint64_t dev, uint64_t ino);
/* Node id's mode as last seen (a lookup's, a getattr's), 0 when unknown. */
mode_t mount_node_mode(mount_ctx *ctx, fuse_ino_t id);
void mount_node_set_mode(mount_ctx *ctx, fuse_ino_t id, mode_t mode);

/* The kernel keeps names and attributes while VFS's watch says nothing changed (watch.c).
 * mount_watch_start starts the thread that holds the watch (nothing with no cache_timeout);
 * 0 or -errno (the mount works on without a cache). */
int mount_watch_start(mount_ctx *ctx, struct fuse_session *se);
void mount_watch_stop(mount_ctx *ctx);
/* The watch may have missed changes (a server came back): the kernel forgets all, and a new
 * watch is made. */
void mount_watch_lost(mount_ctx *ctx);
/* The kernel forgets every name and attribute the mount gave it. */
void mount_invalidate_all(mount_ctx *ctx, struct fuse_session *se);
/* An operation begins on this thread: notes the live watch's epoch (0: none). */
uint64_t mount_watch_begin(mount_ctx *ctx);
/* Seconds the kernel may keep what this thread's operation answers: cache_timeout when the
 * watch it began under is live still and every session it used had joined it; else 0. */
double mount_watch_timeout(mount_ctx *ctx);
/* Seconds the kernel may keep a name (or that there is none) in directory parent: as
 * mount_watch_timeout, but 0 on root's mount when parent is not searchable by every user
 * (the kernel's cache is shared, and checks nobody's permissions); --entry-timeout when there
 * is no watch. */
double mount_watch_entry_timeout(mount_ctx *ctx, fuse_ino_t parent);
/* A failed lookup of name in parent is to be kept by the kernel for timeout seconds: noted,
 * so that losing the watch forgets it too. False when it may not be kept (too many kept). */
bool mount_watch_negative(mount_ctx *ctx, fuse_ino_t parent, const char *name, double timeout);
/* Directory node id's attributes changed by the mount's own call (chmod, chown): the names
 * the kernel keeps in it are forgotten (on a thread of its own: not inside the request). */
void mount_watch_dir_changed(mount_ctx *ctx, fuse_ino_t id);

/* The kernel forgets what a restarted file server may have lost (servers.c): from a watch on
 * the services' records, started once the session is mounted. Returns 0, or -errno when the
 * registry cannot be watched (the mount works on, with the kernel's cache as it is). */
int mount_servers_watch(mount_ctx *ctx, struct fuse_session *se);
void mount_servers_unwatch(mount_ctx *ctx);

/* A file open on node id: descriptor fd of session s, whose hold it takes over. The kernel's
 * handle holds it until mount_file_release. NULL when out of memory (fd stays the caller's). */
mount_file *mount_file_open(mount_ctx *ctx, fuse_ino_t id, mount_session *s, int fd);
/* A file open on node id (on session s; any when s is NULL), borrowed until mount_file_put;
 * NULL when none is. */
mount_file *mount_node_file(mount_ctx *ctx, fuse_ino_t id, const mount_session *s);
/* One more hold on f (a call using it), until mount_file_put. */
void mount_file_hold(mount_ctx *ctx, mount_file *f);
/* Lets go of a hold; the last closes the descriptor. Returns 0 or the close's -errno. */
int mount_file_put(mount_ctx *ctx, mount_file *f);
/* The kernel let go of its handle (release, releasedir). Returns as mount_file_put. */
int mount_file_release(mount_ctx *ctx, mount_file *f);

/* A call by path(s) on a session: returns what fn returns (-1 with errno on failure). b is
 * NULL for one path. */
typedef long (*mount_path_fn)(plexus *p, const char *a, const char *b, void *arg);
/* fn(p, path, NULL, arg), with path of any length. */
long mount_path_call(mount_session *s, const char *path, mount_path_fn fn, void *arg);
/* fn(p, a, b, arg), with a and b of any length as long as what is left of each below the
 * directory both are in fits (else ENAMETOOLONG). */
long mount_path2_call(mount_session *s, const char *a, const char *b, mount_path_fn fn, void *arg);

#endif
