/*
 * vfs.h — plexus-vfs's tables and the context every handler gets (docs/vfs.md).
 *
 * Entry points (by file):
 *   main.c      the service: options, start, publish, run
 *   table.c     vfs_table (message type -> do_<call>, where it runs, who may call),
 *               vfs_submit, vfs_run (one call on a worker)
 *   worker.c    vfs_workers_new, vfs_workers_destroy, vfs_workers_submit, vfs_workers_health
 *   proc.c      vfs_proc_find, vfs_proc_put, vfs_procs_watch, do_register, do_exit, do_ps
 *   filedesc.c  vfs_fd_get, vfs_fd_install, vfs_fd_alloc, vfs_fd_close, vfs_fds_close_all,
 *               do_dup, do_dup2, do_fcntl, do_exec
 *   filp.c      vfs_filp_new, vfs_filp_hold, vfs_filp_put
 *   vnode.c     vfs_vnode_get, vfs_vnode_hold, vfs_vnode_put, vfs_vnode_unlinked,
 *               vfs_vnode_attr_set, vfs_root
 *   path.c      vfs_path_resolve, vfs_path_parent
 *   mount.c     vfs_mount_* , do_mount, do_umount, do_statvfs, do_fstatvfs, do_mounts
 *   perm.c      vfs_may, vfs_is_member
 *   protect.c   do_chmod, do_fchmod, do_chown, do_fchown, do_access, do_umask
 *   fileops.c   vfs_fileops_lookup (fileops.h)
 *   dcache.c    vfs_dcache_find_locked, vfs_dcache_add, vfs_dcache_drop, vfs_dcache_forget,
 *               vfs_dcache_forget_mount
 *   request.c   VFS-side helpers around the FS family stubs (plexus/fsreq.h)
 *   fsgen.c     a mount's file server generations: vfs_fs, vfs_fs_follow (restarts)
 *   errseq.c    vfs_errseq_*: changes a dying file server lost, reported by fsync and sync
 *   watch.c     do_watch, vfs_watch*: telling clients that cache what changed (VFS_WATCH)
 *   open.c, read.c, link.c, stat.c, time.c, sync.c, cwd.c: the do_<call> handlers named after them
 *   device.c, dmap.c, pipe.c, select.c, recovery.c, gc.c, events.c: character and block
 *               special files, the device map, pipes and FIFOs, select, driver recovery (the
 *               hooks at the end of this file)
 *
 * The server is one process: the main loop thread receives every message and hands each VFS
 * call to a worker thread (worker.c); it never blocks. A worker runs the call's do_<call> and
 * answers it, or the handler returns PLX_SUSPEND having taken the call (a pipe read that waits,
 * select): then whoever finishes it answers with vfs_req_reply / plx_call_reply, from any
 * thread, and no worker is held meanwhile.
 *
 * Tables and their references (all counts are protected by vfs->lock):
 *   vfs_proc   one per registered client (endpoint label + generation); its fd slots hold
 *              filp references, its cwd a vnode reference.
 *   vfs_filp   an open file description: open flags, position, the vnode; one reference per
 *              fd slot pointing at it (dup shares) and one per call using it.
 *   vfs_vnode  one per (mount, inode) VFS holds; one reference per filp, cwd, mount (root and
 *              covered directory) and call using it. fs_refs counts the references the file
 *              server gave VFS (one per FS_LOOKUP/CREATE/MKDIR/MKNOD/SLINK answered); they go
 *              back with one FS_PUTNODE when the last VFS reference is put.
 *   vfs_mount  one per mounted file system: its file server label, device number, root vnode
 *              and the vnode it covers.
 *
 * LOCKING ORDER (take left before right; never the other way):
 *
 *     proc->lock  ->  filp->lock  ->  vnode->io  ->  vnode->lock  ->  vfs->lock
 *
 *   vfs->lock    (mutex, leaf) the table memberships and every reference count: the proc list,
 *                the vnode hash, the mount table, filp/vnode/proc refcounts. Held only for a
 *                few instructions; NEVER across a message to anyone.
 *   proc->lock   (mutex) one client's fd slots, cwd, umask and credentials. Held to look an fd
 *                up (taking a filp reference) or to install one; not across messages.
 *   filp->lock   (mutex) the open file description's position and status flags. Held across
 *                the file server's read/write so read/write/lseek on one description are
 *                atomic as POSIX wants; this stalls only users of that description.
 *   vnode->io    (rwlock) shared for reads, exclusive for writes and truncation, so a write
 *                (O_APPEND included) lands whole and two clients writing one file see POSIX
 *                results. Held across FS_READ/FS_WRITE/FS_FTRUNC of that inode only.
 *   vnode->lock  (mutex) the cached attributes (attr). Short.
 * No lock is shared between mounts, so a slow file server stalls only calls touching its own
 * files. Path resolution holds vnode references, never vnode locks, between components.
 */
#ifndef VFS_VFS_H
#define VFS_VFS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <plexus/fsreq.h>
#include <plexus/link_security.h>
#include <plexus/proto/fs.pb-c.h>
#include <plexus/proto/vfs.pb-c.h>
#include <plexus/server.h>
#include <plexus/service.h>
#include <plexus/transport.h>

#define VFS_OPEN_MAX       256  /* descriptors per client */
#define VFS_PATH_MAX       4096 /* bytes of a path, with the NUL (ENAMETOOLONG past it) */
#define VFS_NAME_MAX       255  /* bytes of a component (ENAMETOOLONG past it) */
#define VFS_SYMLOOP_MAX    40   /* symbolic links followed in one resolution (ELOOP past it) */
#define VFS_NGROUPS_MAX    64   /* supplementary groups kept per client */
#define VFS_MOUNT_MAX      64
#define VFS_IO_MAX         (1024 * 1024) /* bytes per FS_READ/FS_WRITE (larger calls loop) */
#define VFS_WORKERS        16            /* default worker threads */
#define VFS_WORKERS_MAX    256           /* default most worker threads */
#define VFS_STALL_MS       30000        /* a call queued this long: VFS cannot serve (its health) */
#define VFS_WORKER_IDLE_MS 10000        /* a worker beyond --workers idle this long ends */
#define VFS_PS_PAGE        (128 * 1024) /* bytes of processes in one VFS_PS reply */
#define VFS_PROCS_PER_UID  512          /* default clients of one user (not root): EAGAIN past it */
#define VFS_VNODE_CACHE    1024         /* default unused vnodes kept */
#define VFS_DCACHE_MAX     8192         /* default name cache entries */
#define VFS_FS_TIMEOUT_MS  30000        /* a file server call not answered by then: -EIO */
#define VFS_WATCHES        64           /* watches at most (watch.c): one bit each in a vnode */

struct vfs_fileops;
struct vfs_mount;
struct vfs;

/* The cached attributes of an inode: the file server's answer (plexus/fsreq.h). */
typedef plx_fs_attr vfs_attr;

/* One inode VFS holds. ino and mount never change; attr under lock. */
/* One generation of a mount's file server and stubs that reach it alone (fsgen.c). gen 0:
 * whichever instance the routes know (a mount that does not follow restarts: PFS's pipes,
 * or a VFS without a registry). Kept until the mount goes. */
typedef struct vfs_fsgen {
	plx_fs *client;
	uint64_t gen;
	struct vfs_fsgen *older;
} vfs_fsgen;

typedef struct vfs_vnode {
	struct vfs_mount *mount; /* the file system it lives on */
	vfs_fsgen *fsg;          /* (atomic) the generation its inode number is valid on */
	uint64_t ino;
	int refs;         /* VFS references (vfs->lock) */
	uint32_t fs_refs; /* references the file server gave us (vfs->lock) */
	struct vfs_mount
	    *mounted;         /* a file system mounted on this directory, or NULL (vfs->lock) */
	pthread_mutex_t lock; /* attr */
	pthread_rwlock_t io;  /* reads shared, writes and truncation exclusive */
	vfs_attr attr;
	bool unlinked;   /* set under lock and vfs->lock: lost its last name; attr.nlink stays 0
	                  * whatever answers arrive, and its last put frees it */
	void *dev_state; /* the devices side's per-vnode state (a pipe's buffer), or NULL */
	void (*dev_release)(struct vfs *v, struct vfs_vnode *vn); /* frees dev_state; set with it */
	struct vfs_vnode *hash_next;
	struct vfs_vnode *lru_prev, *lru_next; /* vfs->lock: on the unused list while refs is 0 */
	int ndents; /* vfs->lock: name cache entries naming it (as directory or target) */
	bool stale; /* vfs->lock: its file server restarted without it: out of the table, every
	             * call fails -EIO, its references are not given back (fsgen.c) */
	uint64_t holders; /* (atomic) the watches told of its changes, a bit each (watch.c) */
} vfs_vnode;

/* One mounted file system. Fields but refs/busy never change while it is in the table. */
typedef struct vfs_mount {
	uint32_t dev;                /* the device number VFS gave it: st_dev of its files */
	char fs[PLX_LABEL_MAX];      /* file server label */
	char source[VFS_PATH_MAX];   /* as given to mount ("" for none) */
	char target[VFS_PATH_MAX];   /* the absolute path it is mounted on */
	char driver[PLX_LABEL_MAX];  /* block driver label ("" for none) */
	plx_fs *client;              /* stubs for calls that name no inode (any generation) */
	vfs_fsgen *gen;              /* (atomic) the generation followed, with its stubs */
	pthread_mutex_t follow_lock; /* one follow of a restart at a time (fsgen.c) */
	bool follow_queued;          /* vfs->lock: a worker is to follow it (fsgen.c) */
	uint32_t minor;
	bool read_only;
	uint32_t flags;     /* VFS_MNT_NODEV, _NOSUID, _NOEXEC in force (proto/vfs.proto) */
	bool recorded;      /* mounted by VFS_MOUNT: kept in DS for a restarted VFS */
	vfs_vnode *root;    /* its root directory (one reference) */
	vfs_vnode *covered; /* the directory it covers (one reference), NULL for "/" */
	bool unmounting;    /* vfs->lock: an umount is under way; lookups into it fail -EBUSY */
	/* Changes acknowledged and maybe lost (errseq.c), all under vfs->lock: */
	uint64_t dirty_gen; /* the file server generation that acknowledged unsynced changes */
	uint64_t changes;   /* changes acknowledged so far */
	uint32_t err_seq;   /* losses found so far (a generation died with unsynced changes) */
	bool err_seen;      /* the last loss was reported by some syncfs or sync */
	struct vfs_inoset *dirty; /* inodes the unsynced changes touched, each with when */
	struct vfs_inoset *lost;  /* inodes whose changes were lost: a count each, and seen */
	uint32_t wide_seq;        /* losses whose inodes are not known (dirty overflowed) */
	bool wide_seen;
} vfs_mount;

/* An open file description. vnode, ops, mode and path never change; flags and position under
 * lock. */
typedef struct vfs_filp {
	int refs;             /* vfs->lock */
	pthread_mutex_t lock; /* position, flags */
	int mode;             /* O_RDONLY, O_WRONLY or O_RDWR */
	int flags;            /* status flags: O_APPEND, O_NONBLOCK (F_SETFL) */
	int64_t position;
	vfs_vnode *vnode;              /* one reference */
	const struct vfs_fileops *ops; /* by the vnode's type (fileops.h) */
	void *priv;                    /* the ops' per-open state (device, pipe end), or NULL */
	char *path;                    /* as opened, for VFS_PS */
	uint32_t err_seq;              /* vfs->lock: the mount's err_seq reported (errseq.c) */
	uint32_t ino_seq;              /* vfs->lock: its inode's losses reported (errseq.c) */
} vfs_filp;

/* One descriptor slot. */
typedef struct vfs_fd {
	vfs_filp *filp; /* NULL: free */
	int fdflags;    /* FD_CLOEXEC */
} vfs_fd;

/* One client. name and ep never change; the rest under lock. */
typedef struct vfs_proc {
	plx_name ep; /* the client's endpoint: label + generation */
	int refs;    /* vfs->lock: table membership + calls in flight */
	bool gone; /* out of the table (VFS_EXIT, record vanished): set under lock and vfs->lock */
	pthread_mutex_t lock; /* everything below */
	uint32_t pid;
	char node[PLX_NODE_MAX];
	char name[64];
	uint32_t uid, gid;   /* effective */
	uint32_t ruid, rgid; /* real (VFS_ACCESS) */
	uint32_t groups[VFS_NGROUPS_MAX];
	int ngroups;
	uint32_t umask;
	vfs_vnode *cwd; /* one reference */
	char *cwd_path; /* absolute */
	vfs_fd fds[VFS_OPEN_MAX];
	uint64_t watch; /* (atomic) the watch its calls count for (watch.c), 0: none */
	struct vfs_proc *next;
} vfs_proc;

/* Credentials a call runs with (copied from its proc at the start of the call). */
typedef struct vfs_cred {
	uint32_t uid, gid;
	uint32_t groups[VFS_NGROUPS_MAX];
	int ngroups;
} vfs_cred;

typedef struct vfs_workers vfs_workers;

/* The server: one per process. */
typedef struct vfs {
	plx_service *svc;
	plx_server *srv;
	plx_ep *ep; /* the service's endpoint; any thread may sendrec/asynsend/reply on it */
	vfs_workers *workers;
	pthread_mutex_t lock; /* leaf lock: see above */
	vfs_proc *procs;
	vfs_vnode **vnodes; /* hash by (mount, ino) */
	size_t nbuckets;
	/* Vnodes nobody uses, kept (with their file server references) for the next lookup, most
	 * recent first; at most lru_max, the oldest given back beyond that. */
	vfs_vnode *lru_head, *lru_tail;
	size_t nlru, lru_max;
	size_t procs_per_uid;    /* --procs-per-uid: VFS_REGISTER past it is EAGAIN (root exempt) */
	struct vfs_dent **dents; /* the name cache (dcache.c) */
	size_t ndents, ndents_max;
	uint64_t dgen;                    /* bumped by every vfs_dcache_drop */
	vfs_mount *mounts[VFS_MOUNT_MAX]; /* mounts[0] is "/" once mounted; NULL slots free */
	pthread_mutex_t record_lock;      /* one writer of the recorded mounts at a time */
	uint32_t next_dev;
	int fs_timeout_ms;
	void *dev;                   /* the devices side's state (device.c/dmap.c/...), or NULL */
	void *watch;                 /* proc.c: the watch on ep/ */
	struct vfs_watches *watches; /* watch.c: the clients' watches (VFS_WATCH) */
} vfs;

/* One client call being handled: what every do_<call> gets. */
typedef struct vfs_req {
	vfs *vfs;
	plx_call *call;     /* the request; answered once, by the worker or by the taker */
	vfs_proc *proc;     /* the caller's table entry (one reference), NULL for VFS_REGISTER */
	vfs_cred cred;      /* the caller's effective credentials */
	const plx_msg *msg; /* call->msg */
	ProtobufCMessage *body; /* call->body: VfsPath, VfsFd, ... per the table */
	/* What the worker answers with when the handler returns 0 or an error: */
	Plexus__VfsReply reply;
	Plexus__FsAttr reply_stat;
	Plexus__FsStatvfs reply_statvfs;
	void *data; /* reply data frame (e.g. VFS_READ's bytes), freed with data_free */
	size_t data_size;
	void (*data_free)(void *);
	void (*cleanup)(struct vfs_req *req); /* frees what the handler hung on reply, or NULL */
	void *cleanup_arg;
	/* The *at calls (VfsPath.at, .at2): the directories relative paths start from, one
	 * reference each, with their paths as opened; at_cur picks the one the next resolution
	 * uses (0: path's, 1: path2's). NULL: the working directory. */
	vfs_vnode *at[2];
	char *at_path[2];
	int at_cur;
	/* The vnode a lookup of this request last had the file server answer for: its
	 * attributes are as fresh as an FS_STAT's would be (stat.c asks no more). Compared only,
	 * never dereferenced: a vnode made anew at the same address got its attributes from an
	 * answer of this request too. */
	const vfs_vnode *fresh;
} vfs_req;

typedef int vfs_handler_fn(vfs_req *req);

/* ---- vnode.c: the server state ---- */

/* Sets up v's locks and tables (v zeroed). Returns 0 or -ENOMEM. */
int vfs_init(vfs *v);
/* Frees what vfs_init made (every table empty by then). */
void vfs_fini(vfs *v);

/* ---- table.c ---- */

/* The server's dispatch table (every VFS_* type, on a worker, and CDEV_SEL2_REPLY, in the
 * loop); *n gets its length. */
const plx_handler *vfs_table(size_t *n);
/* The server's plx_submit_fn (pool: the vfs_workers): queues call for the entry's do_<call>
 * with vfs_workers_submit. Returns 0 or -ENOMEM. */
int vfs_submit(void *pool, plx_call *call, const plx_handler *h);
/* Runs one call on the worker that took it: finds the caller's process table entry (-ESRCH
 * when it has none, but for VFS_REGISTER), runs fn and answers with what it left in the
 * vfs_req, unless fn took the call (PLX_SUSPEND). The workers' run function. */
void vfs_run(vfs *v, plx_call *call, vfs_handler_fn *fn);

/* ---- worker.c ---- */

/* Starts n worker threads that run each call with run; more start (up to max) while every thread is
 * busy and calls wait, and end again after idle_ms idle (0: VFS_WORKER_IDLE_MS). NULL with errno on
 * failure (EINVAL: n < 1 or max < n). */
typedef void vfs_run_fn(vfs *v, plx_call *call, vfs_handler_fn *fn);
vfs_workers *vfs_workers_new(vfs *v, vfs_run_fn *run, int n, int max, int idle_ms);
/* Stops the threads (after the calls they are running) and frees the pool. Calls still queued
 * are answered -ESHUTDOWN. Accepts NULL. */
void vfs_workers_destroy(vfs_workers **self_p);
/* Queues call for fn on a worker; never blocks. Returns 0 or -ENOMEM. */
int vfs_workers_submit(vfs_workers *self, plx_call *call, vfs_handler_fn *fn);
/* Queues fn(v, arg) for a worker: background work that may wait on file servers or drivers
 * (cleaning up after a dead client, reopening files). Returns 0 or -ENOMEM. */
int vfs_workers_defer(vfs_workers *self, void (*fn)(vfs *v, void *arg), void *arg);
/* VFS's health as IPC_PING reports it (plx_server_set_health): false, with why, when the oldest
 * queued call has waited VFS_STALL_MS for a worker (every one stuck). Any thread. */
bool vfs_workers_health(vfs_workers *self, char *why, size_t size);
/* Answers a call whose handler returned PLX_SUSPEND (taken calls): status, body and data as
 * plx_call_reply. Any thread; exactly once. */
int vfs_req_reply(plx_call *call, int32_t status, const Plexus__VfsReply *reply, const void *data,
                  size_t size);

/* A vfs_req cleanup that frees reply.text (a handler's strdup). */
void vfs_req_free_text(vfs_req *req);

/* ---- proc.c ---- */

/* Returns the table entry of the client with endpoint ep with one reference, or NULL. */
vfs_proc *vfs_proc_find(vfs *v, const plx_name *ep);
/* Puts a reference from vfs_proc_find; the last one frees the entry. Accepts NULL. */
void vfs_proc_put(vfs *v, vfs_proc *p);
/* Starts watching ep/ so a client whose endpoint record vanishes is cleaned up. 0 or -errno. */
int vfs_procs_watch(vfs *v);
/* Stops that watch. */
void vfs_procs_unwatch(vfs *v);
/* Forgets every client (shutdown): all their files closed. */
void vfs_procs_clear(vfs *v);
/* Copies p's credentials into cred (takes p->lock). */
void vfs_proc_cred(vfs_proc *p, vfs_cred *cred);

/* ---- filedesc.c ---- */

/* Returns the filp on descriptor fd of p with one reference (vfs_filp_put it), or NULL when fd
 * is not open (-EBADF for the caller). */
vfs_filp *vfs_fd_get(vfs *v, vfs_proc *p, int fd);
/* Puts filp on the lowest free descriptor >= min of p (taking a reference of its own) with
 * fdflags (FD_CLOEXEC or 0). Returns the descriptor, or -EMFILE, -EINVAL. */
int vfs_fd_install(vfs *v, vfs_proc *p, vfs_filp *filp, int min, int fdflags);
/* Closes descriptor fd of p. Returns 0 or -EBADF. */
int vfs_fd_close(vfs *v, vfs_proc *p, int fd);
/* Closes every descriptor of p (with cloexec_only, those with FD_CLOEXEC only). */
void vfs_fds_close_all(vfs *v, vfs_proc *p, bool cloexec_only);

/* ---- filp.c ---- */

/* Returns a new description of vnode (taking a vnode reference of its own) with one reference,
 * open flags (O_ACCMODE and status flags) and ops; NULL on ENOMEM. path may be NULL. */
vfs_filp *vfs_filp_new(vfs *v, vfs_vnode *vn, int oflags, const struct vfs_fileops *ops,
                       const char *path);
void vfs_filp_hold(vfs *v, vfs_filp *f);
/* Puts a reference; the last one calls ops->release, puts the vnode and frees f. NULL ok. */
void vfs_filp_put(vfs *v, vfs_filp *f);

/* ---- vnode.c ---- */

/* Sets *out to the vnode of (m, attr->ino) with one reference, creating it when VFS has none,
 * and records one more file server reference on it (the caller got attr from generation
 * from's answer to a call that gave one: lookup, create, mkdir, mknod, slink, readsuper). Its
 * attributes become attr. Returns 0, -ENOMEM, or -EIO when the vnode VFS has is on another
 * generation (the answer came from one the mount has left); the reference is then given back. */
int vfs_vnode_get(vfs *v, vfs_mount *m, vfs_fsgen *from, const vfs_attr *attr, vfs_vnode **out);
void vfs_vnode_hold(vfs *v, vfs_vnode *vn);
/* Puts a reference. With the last, the vnode goes on the unused list (still in the table, its
 * file server references kept for the next lookup), unless its file has no links left or its
 * mount is going: then, as for the oldest unused vnode pushed off the list, the file server
 * references go back (FS_PUTNODE) and the vnode is freed. Accepts NULL. Never call with any
 * vnode lock held. */
void vfs_vnode_put(vfs *v, vfs_vnode *vn);
/* Marks vn as without links for good (it lost its last name; the caller holds a reference):
 * its link count stays 0 and its last put frees it, whatever answers the file server sent
 * before the unlink. */
void vfs_vnode_unlinked(vfs *v, vfs_vnode *vn);
/* Frees every unused vnode of m (before unmounting it). */
void vfs_vnode_evict(vfs *v, vfs_mount *m);
/* Every vnode of m not on generation keep leaves the table: the unused are freed, the held
 * marked stale (their file server references are not given back: the generation that gave
 * them is gone). For the follow of a restart (fsgen.c). */
void vfs_vnode_retire(vfs *v, vfs_mount *m, vfs_fsgen *keep);
/* The generation vn's requests go to. */
vfs_fsgen *vfs_vnode_fsgen(const vfs_vnode *vn);
/* vfs_vnode_hold with vfs->lock held (takes vn off the unused list when it was there). */
void vfs_vnode_hold_locked(vfs *v, vfs_vnode *vn);

/* ---- dcache.c: the name cache ---- */

/* True for a name the cache keeps (not "." or ".."). */
bool vfs_dcache_cacheable(const char *name);
/* The vnode name names in dir, or NULL when the cache does not know (vfs->lock held; no
 * reference is taken). */
vfs_vnode *vfs_dcache_find_locked(vfs *v, vfs_vnode *dir, const char *name);
/* Forgets every name of file system m (its file server restarted; vfs->lock held). */
void vfs_dcache_forget_mount(vfs *v, struct vfs_mount *m);
/* The generation to pass to vfs_dcache_add, read before the FS_LOOKUP. */
uint64_t vfs_dcache_gen(vfs *v);
/* Remembers that name in dir is child (a name that exists, found by an FS_LOOKUP begun at
 * generation gen; nothing when a drop came since). */
void vfs_dcache_add(vfs *v, vfs_vnode *dir, const char *name, vfs_vnode *child, uint64_t gen);
/* Forgets name in dir: every call that removes or moves a name calls it. */
void vfs_dcache_drop(vfs *v, vfs_vnode *dir, const char *name);
/* Forgets every entry naming vn (it is being freed; vfs->lock held). */
void vfs_dcache_forget(vfs *v, vfs_vnode *vn);
/* Frees the cache (shutdown). */
void vfs_dcache_fini(vfs *v);
/* Replaces the cached attributes from a file server answer (dev set from the mount). */
void vfs_vnode_attr_set(vfs_vnode *vn, const vfs_attr *attr);
/* Copies the cached attributes. */
void vfs_vnode_attr(vfs_vnode *vn, vfs_attr *out);
/* Fills an FsAttr (for replies) from a vfs_attr. */
void vfs_attr_to_fs(const vfs_attr *a, Plexus__FsAttr *out);

/* The vnode of (m, ino) in the table, or NULL (vfs->lock held; no reference taken). */
vfs_vnode *vfs_vnode_find_locked(vfs *v, vfs_mount *m, uint64_t ino);

/* ---- watch.c: what clients that cache are told ---- */

/* Sets up the watches (vfs_init). Returns 0 or -ENOMEM. */
int vfs_watches_init(vfs *v);
/* Answers every waiting poll -ESHUTDOWN and frees the watches (shutdown, before the clients
 * go). */
void vfs_watches_stop(vfs *v);
/* The events thread's round: answers the polls whose changes came or whose wait ended. */
void vfs_watches_tick(vfs *v);
/* Client p left the table: its watch goes (a poll waiting is answered -ESRCH). */
void vfs_watch_proc_gone(vfs *v, const vfs_proc *p);
/* Around one request on this thread (vfs_run): which watch it counts for, and the changes the
 * file servers acknowledged meanwhile. */
void vfs_watch_request_begin(vfs_req *req);
void vfs_watch_request_end(void);
/* The request's client may cache vn's attributes or the names in it: its watch, if it has
 * one, is told of vn's changes from now on. Call before reading what is answered. */
void vfs_watch_hold(vfs_req *req, vfs_vnode *vn);
/* Whether attributes a file server answered earlier in this request are still good to answer
 * a client with a watch: no change was acknowledged since the request began but its own. */
bool vfs_watch_fresh(const vfs_req *req);
/* vn changed (name NULL), or name in directory vn was removed, replaced or moved: its holders
 * but the calling request's watch are told. */
void vfs_watch_changed(vfs *v, vfs_vnode *vn, const char *name);
/* VFS lets vn go (freed, or a file system mounted on it or taken off it): its holders are
 * told to forget it, and hold it no more. */
void vfs_watch_forget(vfs *v, vfs_vnode *vn);
/* A file server acknowledged a change (errseq.c's observer, which then tells the vnodes it
 * named with vfs_watch_changed): counted for vfs_watch_fresh. Returns whether any client has
 * a watch (else there is nobody to tell). */
bool vfs_watch_count_change(vfs *v);

/* ---- path.c ---- */

#define VFS_PATH_NOFOLLOW 1 /* do not follow a symbolic link in the last component */
#define VFS_PATH_DIR      2 /* the result must be a directory (a trailing '/' implies it) */

/* Resolves path for req's caller (relative paths from its cwd). Sets *out to the vnode with one
 * reference. Returns 0 or -ENOENT, -ENOTDIR, -EACCES, -ELOOP, -ENAMETOOLONG, -EIO, ... */
int vfs_path_resolve(vfs_req *req, const char *path, int flags, vfs_vnode **out);
/* Resolves all of path but its last component: sets *dir (one reference) to the directory and
 * copies the last component into name (VFS_NAME_MAX + 1 bytes). "/" and paths ending in "." or
 * ".." answer -EINVAL (callers map it: mkdir "/" is -EEXIST). *trailing_slash says whether the
 * path ended in '/'. Returns 0 or as vfs_path_resolve. */
int vfs_path_parent(vfs_req *req, const char *path, vfs_vnode **dir, char *name,
                    bool *trailing_slash);
/* Looks name up in directory dir (search permission checked; mount points crossed both ways;
 * no symbolic link followed): sets *out with one reference. */
int vfs_path_lookup(vfs_req *req, vfs_vnode *dir, const char *name, vfs_vnode **out);
/* As vfs_path_resolve, and sets *canon (caller frees) to the absolute path of the result with
 * ".", ".." and symbolic links resolved (chdir keeps it for getcwd and VFS_PS). */
int vfs_path_resolve_canon(vfs_req *req, const char *path, int flags, vfs_vnode **out,
                           char **canon);

/* path as the caller named it, made absolute from its working directory (no resolution:
 * for VFS_PS and fchdir). NULL on ENOMEM; the caller frees it. */
char *vfs_path_join(vfs_req *req, const char *path);
/* The *at directories of a VfsPath request (VfsPath.at, .at2: a descriptor + 1) into req->at:
 * each must be an open directory of the caller. Returns 0, -EBADF or -ENOTDIR. */
int vfs_path_at_begin(vfs_req *req);
/* Drops what vfs_path_at_begin took. */
void vfs_path_at_end(vfs_req *req);

/* ---- open.c ---- */

/* For a call that makes a new name: resolves the directory of path's last component (*dir,
 * one reference) and copies the component into name (VFS_NAME_MAX + 1 bytes). Returns 0, or
 * -EEXIST when the name exists (or is "/", "." or ".."), -EACCES/-EROFS when the caller may
 * not write the directory, or a resolution error. */
int vfs_new_name(vfs_req *req, const char *path, vfs_vnode **dir, char *name);

/* ---- perm.c ---- */

/* True when gid is cred's effective group or one of its supplementary groups. */
bool vfs_is_member(const vfs_cred *cred, uint32_t gid);

#define VFS_MAY_READ  4
#define VFS_MAY_WRITE 2
#define VFS_MAY_EXEC  1
/* Checks that cred may access vn as want (VFS_MAY_* bits): owner, group (and supplementary
 * groups), other; root bypasses all but execute (which needs some x bit or a directory).
 * Returns 0 or -EACCES. Write to a read-only mount: -EROFS. */
int vfs_may(const vfs_cred *cred, vfs_vnode *vn, int want);

/* ---- request.c ---- */

/* Maps a plx_fs_* result for the client: a file server gone, silent or answering nonsense is
 * -EIO; its own answers pass. */
int vfs_fs_errno(int rc);
/* name in dir from the name cache, or by FS_LOOKUP (then cached); no permission check, no
 * mount crossing: sets *out (one reference). Returns 0 or a negative errno. */
int vfs_fs_lookup(vfs *v, vfs_vnode *dir, const char *name, vfs_vnode **out);
/* The same, setting *asked when the file server answered (then *out's attributes are its
 * answer of this call, as fresh as an FS_STAT's), false for a name cache hit. */
int vfs_fs_lookup_asked(vfs *v, vfs_vnode *dir, const char *name, vfs_vnode **out, bool *asked);
/* Whether the name cache holds name in dir (asks the file server nothing). */
bool vfs_fs_known(vfs *v, vfs_vnode *dir, const char *name);
/* FS_STAT into vn's cached attributes. Returns 0 or a negative errno. */
int vfs_fs_refresh(vfs *v, vfs_vnode *vn);

/* ---- fsgen.c ---- */

/* After m's FS_READSUPER: binds m to the generation the routes show (0 when they do not, or
 * with no registry). Returns 0 or -ENOMEM. */
int vfs_fsgen_bind(vfs *v, struct vfs_mount *m);
/* Frees m's generations (the mount goes). */
void vfs_fsgen_free_all(struct vfs_mount *m);
/* When the routes show a newer generation of m's file server than m follows (it restarted,
 * back at its last commit: names and inodes made since may be gone), follows it: m's names
 * forgotten, every held vnode asked for at the new instance (FS_STAT) before anything else
 * goes there, and moved to it or left stale. Returns 0 or -EIO (the new instance did not
 * answer: tried again at the next call). vfs->lock not held. */
int vfs_fs_follow(vfs *v, struct vfs_mount *m);
/* The same for the mount of file server fs, if there is one. */
void vfs_fs_follow_label(vfs *v, const char *fs);
/* Queues on a worker the follow of each mount whose file server the routes show restarted
 * (the devices' events round: a restart is followed before the new instance frees the
 * unlinked files VFS still holds, even when no call comes). */
void vfs_fs_follow_due(vfs *v);
/* vn's file server stubs, addressed to the generation its inode number is valid on, after
 * following a restart of it. */
plx_fs *vfs_fs(vfs *v, vfs_vnode *vn);
/* The same with the generation (for vfs_vnode_get). */
vfs_fsgen *vfs_fs_gen(vfs *v, vfs_vnode *vn);
/* The stubs for a call that names two inodes of one mount, when both are on one generation;
 * NULL when one was left on a dead generation (the call is then -EIO). */
plx_fs *vfs_fs_pair(vfs *v, vfs_vnode *a, vfs_vnode *b);

/* ---- errseq.c ---- */

/* The plx_fs_observer of every mounted file server's stubs (arg: the vfs): counts the changes
 * each generation acknowledged, and a loss when another generation answers while some are not
 * known to be synced. */
void vfs_errseq_observe(void *arg, const plx_fs *fs, const plx_fs_event *event);
/* Sets f's error cursors from its mount and its inode (at open). */
void vfs_errseq_sample(vfs *v, vfs_filp *f);
/* Frees m's records of changed and lost inodes. */
void vfs_errseq_free(vfs_mount *m);
/* Before an FS_SYNC / FS_FSYNC to file server label: the count of its changes so far. */
uint64_t vfs_errseq_begin(vfs *v, const char *label);
/* After that sync answered status on this thread (snap from vfs_errseq_begin; status as the
 * stubs gave it). 0: the changes counted by then are on the disk, unless another generation
 * had acknowledged them. -PLX_EDEADSRCDST: the instance that acknowledged them is gone, so
 * they are. Either loss is counted and -EIO returned; otherwise 0. */
int vfs_errseq_end(vfs *v, const char *label, uint64_t snap, int status);
/* syncfs: -EIO once for each loss on f's file system that f has not reported yet; else 0. */
int vfs_errseq_check(vfs *v, vfs_filp *f);
/* fsync: -EIO once for each loss of a change to f's inode (its data, attributes or creation;
 * a directory's entries) that f has not reported yet; else 0. */
int vfs_errseq_check_file(vfs *v, vfs_filp *f);
/* Around one request on this thread: which file server instance acknowledged its change or
 * answered its sync, written into reply (fs_label, changed_gen, synced_gen) at the end. */
void vfs_errseq_request_begin(void);
void vfs_errseq_request_end(Plexus__VfsReply *reply);

/* ---- mount.c ---- */

/* How to mount: the device (driver "" for none) and the flags. */
typedef struct vfs_mount_how {
	const char *driver;
	uint32_t minor;
	bool read_only;
	uint32_t flags; /* VFS_MNT_NODEV, _NOSUID, _NOEXEC */
} vfs_mount_how;

/* Mounts file server fs (source as given, for the mount table) on target (NULL: as "/").
 * Returns 0 or a negative errno; the file server answered FS_READSUPER. For main.c's options
 * and do_mount; a recorded mount is kept in DS (key "mounts" of the service's state) so that
 * a restarted VFS mounts it again. dev: the device number wanted (0: the next one). */
int vfs_mount_fs(vfs_req *req, const char *fs, const char *source, const vfs_mount_how *how,
                 const char *target, bool recorded, uint32_t dev);
/* The recorded mounts as a restarted VFS finds them: "FS\tDRIVER:MINOR\tRO\tDEV\tFLAGS\tTARGET"
 * lines (DRIVER:MINOR "-" for none), in a new string (caller frees), or NULL when none. */
char *vfs_mounts_recorded(vfs *v);
/* Drops the record (a fresh start). */
void vfs_mounts_forget(vfs *v);
/* The root mount's root vnode with one reference, or NULL when nothing is mounted. vnode.c. */
vfs_vnode *vfs_root(vfs *v);
/* Unmounts every file system (shutdown), leaves first. */
void vfs_mounts_clear(vfs *v);

/* ---- the do_<call> handlers (table.c) ---- */

vfs_handler_fn do_register, do_exit, do_ps;
vfs_handler_fn do_open, do_close, do_mkdir, do_mknod, do_mkfifo;
vfs_handler_fn do_read, do_write, do_pread, do_pwrite, do_lseek, do_getdents, do_ioctl;
vfs_handler_fn do_stat, do_fstat, do_lstat;
vfs_handler_fn do_rmdir, do_unlink, do_rename, do_link, do_symlink, do_readlink;
vfs_handler_fn do_truncate, do_ftruncate, do_fsync, do_syncfs, do_sync;
vfs_handler_fn do_chmod, do_fchmod, do_chown, do_fchown, do_access, do_umask;
vfs_handler_fn do_utimens, do_futimens;
vfs_handler_fn do_mount, do_umount, do_statvfs, do_fstatvfs, do_mounts;
vfs_handler_fn do_dup, do_dup2, do_fcntl, do_exec, do_watch;
vfs_handler_fn do_chdir, do_fchdir, do_getcwd;
/* The devices side's (pipe.c, select.c). */
vfs_handler_fn do_pipe, do_select;

/* ---- hooks the devices side (device.c, dmap.c, events.c, recovery.c) implements ---- */

/* A service option of theirs (e.g. a device map entry): 0, -ENOENT (not theirs), -EINVAL. */
int vfs_dev_option(vfs *v, const char *name, const char *value, char *err, size_t size);
/* Called before the endpoint is published (set up the device map, watch drv.*). 0 or -errno. */
int vfs_dev_start(vfs *v);
/* Called after the loop ended, before the tables are cleared. */
void vfs_dev_stop(vfs *v);
/* The main loop's asynsend replies (requests to character drivers) and notifies; the callee
 * owns msg. Runs in the loop thread: must not block. */
void vfs_dev_on_reply(vfs *v, plx_msg *msg);
void vfs_dev_on_notify(vfs *v, plx_msg *msg);
/* The block driver serving device number rdev (a block special file used as mount source):
 * copies its label into label (PLX_LABEL_MAX). Returns 0 or -ENXIO. */
int vfs_dmap_block(vfs *v, uint64_t rdev, char *label);
/* Frees a FIFO's or pipe's state (vn->dev_state) when its vnode's last VFS reference goes;
 * nothing for other vnodes. */
void vfs_pipe_vnode_release(vfs *v, vfs_vnode *vn);

/* Usage lines for the devices side's options (--help). */
void vfs_dev_usage(FILE *out);

#endif
