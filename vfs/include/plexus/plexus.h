/*
 * plexus/plexus.h — libplexus, the system calls of Plexus for programs on any node
 * (docs/using.md "The library").
 *
 * Entry points:
 *   plexus_connect, plexus_connect_error, plexus_disconnect, plexus_opts_init
 *   files:        plexus_open, plexus_creat, plexus_close, plexus_read, plexus_write,
 *                 plexus_pread, plexus_pwrite, plexus_lseek, plexus_fsync, plexus_fdatasync,
 *                 plexus_syncfs, plexus_sync,
 *                 plexus_truncate, plexus_ftruncate, plexus_ioctl
 *   descriptors:  plexus_dup, plexus_dup2, plexus_dup3, plexus_fcntl, plexus_pipe,
 *                 plexus_pipe2, plexus_select, plexus_closeexec
 *   names:        plexus_open_stat, plexus_stat, plexus_fstat, plexus_lstat, plexus_mkdir,
 * plexus_rmdir, plexus_unlink, plexus_rename, plexus_link, plexus_symlink, plexus_readlink,
 *                 plexus_mknod, plexus_mkfifo, plexus_chmod, plexus_fchmod, plexus_chown,
 *                 plexus_fchown, plexus_lchown, plexus_utimens, plexus_futimens, plexus_access,
 *                 plexus_chdir, plexus_fchdir, plexus_getcwd, plexus_umask
 *   *at calls:    plexus_openat, plexus_fstatat, plexus_mkdirat, plexus_unlinkat,
 *                 plexus_renameat, plexus_linkat, plexus_symlinkat, plexus_readlinkat,
 *                 plexus_fchmodat, plexus_fchownat, plexus_utimensat, plexus_faccessat
 *   directories:  plexus_getdents, plexus_opendir, plexus_readdir, plexus_closedir
 *   file systems: plexus_mount, plexus_umount, plexus_statvfs, plexus_fstatvfs,
 *                 plexus_mounts, plexus_mounts_free
 *   processes:    plexus_ps, plexus_ps_free
 *   watches:      plexus_watch_new, plexus_watch_join, plexus_watch_poll, plexus_changes_free
 *
 * A plexus handle is one client process of VFS: plexus_connect finds VFS through the registry
 * (endpoint record "vfs" unless opts name another label), makes an endpoint of its own whose
 * record hangs on a lease of its own, and registers with VFS (VFS_REGISTER) with the process's
 * credentials. VFS keeps the client's descriptors, working directory and umask until
 * plexus_disconnect, or until the client's lease expires when the process dies or its node
 * does. A program may hold several handles; each is a separate process to VFS.
 *
 * Calls behave as their POSIX namesakes on the descriptors and paths of the Plexus namespace:
 * they return what POSIX says (-1 and errno on failure). Errors from the system itself map to
 * errno too: ETIMEDOUT when VFS did not answer within the handle's timeout, EHOSTDOWN when VFS
 * is gone (its endpoint died), EPROTO for an answer that does not parse. Calls that may wait
 * (read on a pipe or a tty, select, opening a FIFO) wait without the timeout.
 *
 * Threads: every call may be made from any thread, concurrently, on one handle (each waits
 * for its own answer). plexus_disconnect must not race other calls on the handle.
 */
#ifndef PLEXUS_PLEXUS_H
#define PLEXUS_PLEXUS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct plexus plexus;

/* The user a handle acts as: effective and real uid and gid, supplementary groups. */
#define PLEXUS_CREDS_GROUPS 32
typedef struct plexus_creds {
	uid_t uid;
	gid_t gid;
	int ngroups; /* 0..PLEXUS_CREDS_GROUPS */
	gid_t groups[PLEXUS_CREDS_GROUPS];
} plexus_creds;

typedef struct plexus_opts {
	const char *etcd;    /* etcd URL(s); NULL: $PLEXUS_ETCD, else http://127.0.0.1:2379 */
	const char *cluster; /* NULL: $PLEXUS_CLUSTER, else "default" */
	const char *node;    /* the node this process runs on; NULL: $PLEXUS_NODE, else hostname */
	const char *name;    /* program name for `ps`; NULL: the process's own */
	const char *vfs;     /* VFS's label; NULL: "vfs" */
	int timeout_ms;      /* per call that does not wait; 0: 10000 */
	/* Act for this user (a daemon serving others, as the FUSE mount run by root does); NULL:
	 * the process's own credentials. VFS believes it only from a client that may become
	 * anyone (uid 0, as setuid(2) allows); anyone else registers as itself. */
	const plexus_creds *creds;
} plexus_opts;

/* Fills *opts with the defaults (all NULL / 0). */
void plexus_opts_init(plexus_opts *opts);
/* Returns a registered client, or NULL with errno: EHOSTDOWN (no VFS record, and RS is not
 * bringing VFS back: while its svc/ record says so, it waits up to the time limit), ETIMEDOUT,
 * ECONNREFUSED (etcd unreachable), ENOMEM, EINVAL (creds with a bad group count). opts may be
 * NULL. The caller owns the result. */
plexus *plexus_connect(const plexus_opts *opts);
/* What the calling thread's last failed plexus_connect has to say beyond errno (a link or
 * registry credential problem, a hint to set PLEXUS_KEYS), or "" (the library prints nothing:
 * the caller does). The text stays until the thread's next plexus_connect. */
const char *plexus_connect_error(void);
/* Tells VFS the client exits (its descriptors close), frees the handle, sets *self_p to NULL.
 * Accepts NULL. */
void plexus_disconnect(plexus **self_p);

int plexus_open(plexus *self, const char *path, int flags, ...);
int plexus_creat(plexus *self, const char *path, mode_t mode);
/* open, and the opened file's status into st as fstat would give it right after: taken from
 * the open's own answer when VFS says the file server gave it in that call (a file created,
 * looked up afresh or truncated), else asked with VFS_FSTAT. Returns the descriptor, or -1
 * with errno (then nothing stays open). */
int plexus_open_stat(plexus *self, const char *path, int flags, mode_t mode, struct stat *st);
int plexus_close(plexus *self, int fd);
ssize_t plexus_read(plexus *self, int fd, void *buf, size_t count);
ssize_t plexus_write(plexus *self, int fd, const void *buf, size_t count);
ssize_t plexus_pread(plexus *self, int fd, void *buf, size_t count, off_t offset);
ssize_t plexus_pwrite(plexus *self, int fd, const void *buf, size_t count, off_t offset);
off_t plexus_lseek(plexus *self, int fd, off_t offset, int whence);
/* fsync, fdatasync: when they return 0, the file's data and everything needed to reach it
 * after a crash (its inode, the directory entries on its path, the bitmaps) and every change
 * made before on that file system are on stable storage (docs/mfs.md "Guarantees"; MFS
 * commits the whole file system, so fdatasync is fsync). On a directory too; a block special
 * file's flushes its driver; on a pipe, a FIFO or a character device: EINVAL. EIO when the
 * file server or its disk failed, or when a file server that had acknowledged changes on this
 * file system died before they were written (reported once per open file, as Linux reports
 * write-back errors). syncfs: the same for the file system fd is on (0 for a pipe). sync:
 * every file system, each asked even when one fails. The sync calls wait without the
 * handle's timeout. */
int plexus_fsync(plexus *self, int fd);
int plexus_fdatasync(plexus *self, int fd);
int plexus_syncfs(plexus *self, int fd);
int plexus_sync(plexus *self);
int plexus_truncate(plexus *self, const char *path, off_t length);
int plexus_ftruncate(plexus *self, int fd, off_t length);
/* Sends request with in_size argument bytes; copies at most *out_size result bytes to out and
 * sets *out_size to their number (out and out_size may be NULL when none are expected). */
int plexus_ioctl(plexus *self, int fd, uint32_t request, const void *in, size_t in_size, void *out,
                 size_t *out_size);

int plexus_dup(plexus *self, int fd);
int plexus_dup2(plexus *self, int fd, int fd2);
int plexus_dup3(plexus *self, int fd, int fd2, int flags);
/* F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL, F_SETFL (O_APPEND, O_NONBLOCK). */
int plexus_fcntl(plexus *self, int fd, int cmd, ...);
int plexus_pipe(plexus *self, int fds[2]);
int plexus_pipe2(plexus *self, int fds[2], int flags);
/* As select(2) over Plexus descriptors (each below FD_SETSIZE); timeout NULL waits. */
int plexus_select(plexus *self, int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds,
                  struct timeval *timeout);
/* Closes the close-on-exec descriptors, as exec would; for programs that exec. */
int plexus_closeexec(plexus *self);

int plexus_stat(plexus *self, const char *path, struct stat *st);
int plexus_fstat(plexus *self, int fd, struct stat *st);
int plexus_lstat(plexus *self, const char *path, struct stat *st);
int plexus_mkdir(plexus *self, const char *path, mode_t mode);
int plexus_rmdir(plexus *self, const char *path);
int plexus_unlink(plexus *self, const char *path);
int plexus_rename(plexus *self, const char *oldpath, const char *newpath);
int plexus_link(plexus *self, const char *oldpath, const char *newpath);
int plexus_symlink(plexus *self, const char *target, const char *linkpath);
ssize_t plexus_readlink(plexus *self, const char *path, char *buf, size_t size);
int plexus_mknod(plexus *self, const char *path, mode_t mode, dev_t dev);
int plexus_mkfifo(plexus *self, const char *path, mode_t mode);
int plexus_chmod(plexus *self, const char *path, mode_t mode);
int plexus_fchmod(plexus *self, int fd, mode_t mode);
int plexus_chown(plexus *self, const char *path, uid_t uid, gid_t gid);
int plexus_fchown(plexus *self, int fd, uid_t uid, gid_t gid);
int plexus_lchown(plexus *self, const char *path, uid_t uid, gid_t gid);
/* times NULL: both now; UTIME_NOW / UTIME_OMIT honoured; flags AT_SYMLINK_NOFOLLOW or 0. */
int plexus_utimens(plexus *self, const char *path, const struct timespec times[2], int flags);
int plexus_futimens(plexus *self, int fd, const struct timespec times[2]);
int plexus_access(plexus *self, const char *path, int mode);
/* The *at calls: a relative path starts at the directory open on dirfd (AT_FDCWD: the working
 * directory), an absolute one ignores dirfd. Flags as Linux's: fstatat AT_SYMLINK_NOFOLLOW,
 * AT_EMPTY_PATH; unlinkat AT_REMOVEDIR; linkat AT_SYMLINK_FOLLOW; fchmodat none
 * (AT_SYMLINK_NOFOLLOW: EOPNOTSUPP, as Linux); fchownat AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH;
 * utimensat AT_SYMLINK_NOFOLLOW; faccessat none (it checks with the real ids, as access).
 * Others: EINVAL. A dirfd that is not open: EBADF; not a directory: ENOTDIR. */
int plexus_openat(plexus *self, int dirfd, const char *path, int flags, ...);
int plexus_fstatat(plexus *self, int dirfd, const char *path, struct stat *st, int flags);
int plexus_mkdirat(plexus *self, int dirfd, const char *path, mode_t mode);
int plexus_unlinkat(plexus *self, int dirfd, const char *path, int flags);
int plexus_renameat(plexus *self, int olddirfd, const char *oldpath, int newdirfd,
                    const char *newpath);
int plexus_linkat(plexus *self, int olddirfd, const char *oldpath, int newdirfd,
                  const char *newpath, int flags);
int plexus_symlinkat(plexus *self, const char *target, int newdirfd, const char *linkpath);
ssize_t plexus_readlinkat(plexus *self, int dirfd, const char *path, char *buf, size_t size);
int plexus_fchmodat(plexus *self, int dirfd, const char *path, mode_t mode, int flags);
int plexus_fchownat(plexus *self, int dirfd, const char *path, uid_t uid, gid_t gid, int flags);
int plexus_utimensat(plexus *self, int dirfd, const char *path, const struct timespec times[2],
                     int flags);
int plexus_faccessat(plexus *self, int dirfd, const char *path, int mode, int flags);
int plexus_chdir(plexus *self, const char *path);
int plexus_fchdir(plexus *self, int fd);
char *plexus_getcwd(plexus *self, char *buf, size_t size);
mode_t plexus_umask(plexus *self, mode_t mask);

/* One directory entry. */
struct plexus_dirent {
	uint64_t d_ino;
	unsigned char d_type; /* DT_* */
	char d_name[256];
};

/* Reads entries of the directory open on fd into ents (at most n); returns how many, 0 at the
 * end, or -1 with errno. */
ssize_t plexus_getdents(plexus *self, int fd, struct plexus_dirent *ents, size_t n);

typedef struct plexus_dir plexus_dir;
/* As opendir/readdir/closedir. The entry readdir returns stays valid until the next call. */
plexus_dir *plexus_opendir(plexus *self, const char *path);
struct plexus_dirent *plexus_readdir(plexus_dir *dir);
int plexus_closedir(plexus_dir *dir);
/* The descriptor dir reads (as dirfd): for fsync of a directory, fchdir. */
int plexus_dirfd(plexus_dir *dir);

/* Mounts the file server labelled fs over target (root only). source: a block special file
 * in the namespace or "label:minor" of a block driver; NULL or "" for a file server without a
 * device. flags: MS_RDONLY, MS_NOEXEC, MS_NODEV, MS_NOSUID, PLEXUS_MS_DEV, PLEXUS_MS_SUID or
 * 0. A mount is nodev and nosuid unless PLEXUS_MS_DEV and PLEXUS_MS_SUID ask for device files
 * and set-ID bits (an image may hold anything; docs/security.md). nodev: device special files
 * on it open nothing (EACCES); noexec: access(X_OK) of a file on it fails EACCES. Each in force
 * shows in statvfs's f_flag (ST_NODEV, ST_NOSUID, ST_NOEXEC). */
#define PLEXUS_MS_DEV  (1UL << 28) /* device special files work on this mount */
#define PLEXUS_MS_SUID (1UL << 29) /* set-ID bits are honoured on this mount */
int plexus_mount(plexus *self, const char *source, const char *target, const char *fs,
                 unsigned long flags);
int plexus_umount(plexus *self, const char *target);
int plexus_statvfs(plexus *self, const char *path, struct statvfs *buf);
int plexus_fstatvfs(plexus *self, int fd, struct statvfs *buf);

/* The mount table. */
typedef struct plexus_mount_info {
	char *source;
	char *target;
	char *fs;
	int read_only;
	unsigned long flags; /* ST_RDONLY, ST_NODEV, ST_NOSUID, ST_NOEXEC in force */
	int has_statvfs;     /* the file server answered; then statvfs is filled */
	struct statvfs statvfs;
} plexus_mount_info;
/* Sets *mounts to an array of *n entries (caller frees with plexus_mounts_free). 0 or -1. */
int plexus_mounts(plexus *self, plexus_mount_info **mounts, size_t *n);
void plexus_mounts_free(plexus_mount_info *mounts, size_t n);

/* The process table: every client and its open files. */
typedef struct plexus_proc_file {
	int fd;
	char *path;
	int flags;
	off_t position;
} plexus_proc_file;
typedef struct plexus_proc {
	char *endpoint;
	pid_t pid;
	char *node;
	char *name;
	uid_t uid;
	char *cwd;
	plexus_proc_file *files;
	size_t nfiles;
} plexus_proc;
/* Sets *procs to an array of *n entries (caller frees with plexus_ps_free). 0 or -1. */
int plexus_ps(plexus *self, plexus_proc **procs, size_t *n);
void plexus_ps_free(plexus_proc *procs, size_t n);

/* Watches (docs/using.md "Watches"): a program that keeps attributes or names between its
 * calls learns when another process changes them. What the handles counting for a watch
 * looked up or asked the attributes of is followed; their own changes are not reported. */
typedef struct plexus_change {
	dev_t dev; /* st_dev and st_ino, as plexus_stat gives them */
	ino_t ino;
	char *name; /* NULL: the file's attributes or data changed; else also this name in the
	             * directory was removed, replaced or moved away */
	int forget; /* VFS no longer follows the file: forget it and every name in it */
} plexus_change;
/* Makes the handle's watch (or finds it again: one per handle) and sets *token. 0 or -1
 * (EAGAIN: the user has as many as VFS allows; ENOSPC: VFS has no room). */
int plexus_watch_new(plexus *self, uint64_t *token);
/* The handle's calls count for watch token (made by another handle of the program) from now
 * on. 0 or -1 (ENOENT: no such watch). */
int plexus_watch_join(plexus *self, uint64_t token);
/* Waits up to wait_ms (at most 30000) for changes of the handle's own watch token. Sets
 * *changes to an array of them (free with plexus_changes_free) and *lost when some were
 * dropped (VFS's queue overflowed: forget everything). Returns how many (0: none came), or -1
 * (ENOENT: the watch is gone, as after VFS restarted: forget everything, make another). */
ssize_t plexus_watch_poll(plexus *self, uint64_t token, int wait_ms, plexus_change **changes,
                          int *lost);
void plexus_changes_free(plexus_change *changes, size_t n);

#ifdef __cplusplus
}
#endif

#endif
