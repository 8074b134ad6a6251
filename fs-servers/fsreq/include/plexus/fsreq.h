/*
 * plexus/fsreq.h — the client side of the FS protocol (proto/fs.proto): one stub per FS_*
 * request, as MINIX's VFS has req_* for its REQ_* messages. Used by VFS and by tests.
 *
 * Entry points: plx_fs_new, plx_fs_new_at, plx_fs_destroy, plx_fs_label, plx_fs_readsuper,
 * plx_fs_unmount, plx_fs_lookup, plx_fs_putnode, plx_fs_create, plx_fs_mkdir, plx_fs_mknod,
 * plx_fs_slink, plx_fs_newnode, plx_fs_read, plx_fs_write, plx_fs_getdents, plx_fs_stat,
 * plx_fs_chmod, plx_fs_chown, plx_fs_ftrunc, plx_fs_utime, plx_fs_link, plx_fs_unlink,
 * plx_fs_rmdir, plx_fs_rename, plx_fs_rdlink, plx_fs_sync, plx_fs_fsync, plx_fs_flush,
 * plx_fs_statvfs, plx_fs_new_driver, plx_fs_observe, plx_fs_read_for, plx_fs_write_staged,
 * plx_fs_stage, plx_fs_collect, plx_fs_unstage.
 *
 * A plx_fs names one file server instance (a label; generation 0, whichever the routes know)
 * and sends from an endpoint the caller owns, with sendrec. Callers never touch protobuf: the
 * attributes, directory entries and file system figures come back as the plain C structs
 * below. Results: 0, a count, or a negative error: the file server's answer (-ENOENT, -EEXIST,
 * -ENOTEMPTY, -ENOSPC, -ENAMETOOLONG, -EIO, ... docs/protocol.md "File servers") or the
 * transport's (-ETIMEDOUT, -PLX_EDEADSRCDST, -EMSGSIZE); -EBADMSG for a reply that does not
 * parse or lacks what the call answers. Output parameters are left untouched on failure.
 * Usable from any thread at once, as plx_sendrec is. Each is a wrapper over the typed stub of
 * its request (plexus/fs_stub.h, expanded from proto/fs.def, docs/stubs.md).
 */
#ifndef PLEXUS_FSREQ_H
#define PLEXUS_FSREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <plexus/transport.h>

typedef struct plx_fs plx_fs;

/* One inode's attributes (FsAttr). */
typedef struct plx_fs_attr {
	uint64_t ino;
	uint32_t mode; /* S_IF* type and permission bits */
	uint32_t nlink;
	uint32_t uid;
	uint32_t gid;
	uint64_t size;
	uint64_t rdev;
	int64_t atime_sec;
	uint32_t atime_nsec;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	int64_t ctime_sec;
	uint32_t ctime_nsec;
	uint64_t blocks; /* 512-byte units allocated */
	uint32_t blksize;
	uint32_t dev; /* the number VFS gave the mount at FS_READSUPER */
} plx_fs_attr;

#define PLX_FS_NAME_MAX 255

/* One directory entry (FsDirent). */
typedef struct plx_fs_dirent {
	uint64_t ino;
	uint64_t next; /* the cookie that continues after this entry */
	uint32_t type; /* DT_* of <dirent.h>, DT_UNKNOWN when the server does not know */
	char name[PLX_FS_NAME_MAX + 1];
} plx_fs_dirent;

/* A file system's figures (FsStatvfs). A struct tag, as POSIX's struct statvfs beside
 * statvfs(). */
struct plx_fs_statvfs {
	uint32_t bsize;
	uint64_t blocks;
	uint64_t bfree;
	uint64_t files;
	uint64_t ffree;
	uint32_t namemax;
	bool read_only;
};

/* Returns a client of the file server label sending from ep (which must outlive it), each
 * request waiting up to timeout_ms (PLX_FOREVER: no limit); NULL with errno EINVAL or ENOMEM.
 * Makes the FS type names known to plx_type_name. */
plx_fs *plx_fs_new(plx_ep *ep, const char *label, int timeout_ms);
/* The same for generation gen of label only (0: as plx_fs_new): any other instance refuses
 * its requests, which then fail -PLX_EDEADSRCDST. */
plx_fs *plx_fs_new_at(plx_ep *ep, const char *label, uint64_t gen, int timeout_ms);
/* Frees the client and sets *self_p to NULL. Accepts NULL. */
void plx_fs_destroy(plx_fs **self_p);
/* Returns the file server's label. Owned by self. */
const char *plx_fs_label(const plx_fs *self);

/* What an observer is told of one request that got a reply. */
typedef struct plx_fs_event {
	uint32_t type;       /* FS_* */
	int status;          /* the reply's */
	uint64_t generation; /* of the instance that answered */
	uint64_t inos[2];    /* the inodes the request names (its ino, dir, old_dir, new_dir) */
	size_t ninos;
	uint64_t made; /* the inode a create, mkdir, mknod or slink made (its reply's), or 0 */
	/* The name a create, mkdir, mknod, slink, link or rename made in directory name_dir (the
	 * request's; valid during the call), or NULL. */
	const char *name;
	uint64_t name_dir;
} plx_fs_event;

/* Called on the requesting thread after each request of self that got a reply. Requests that
 * got none (-ETIMEDOUT, -PLX_EDEADSRCDST) are not reported. */
typedef void plx_fs_observer(void *arg, const plx_fs *fs, const plx_fs_event *event);
/* Sets self's observer (NULL: none). Set it before self is used from several threads. */
void plx_fs_observe(plx_fs *self, plx_fs_observer *fn, void *arg);

/* FS_READSUPER: mounts the block driver's minor (mfs; driver NULL or "" for pfs). The server
 * reports dev back in every attribute. Fills *root (one reference on it) and, when st is not
 * NULL, *st. Returns 0 or a negative error (-EINVAL for no valid file system, -EBUSY when
 * already mounted). */
int plx_fs_readsuper(plx_fs *self, const char *driver, uint32_t minor, bool read_only, uint32_t dev,
                     plx_fs_attr *root, struct plx_fs_statvfs *st);
/* FS_UNMOUNT: writes everything back and forgets the device. Returns 0 or a negative error. */
int plx_fs_unmount(plx_fs *self);

/* FS_LOOKUP: name (one component) in directory dir. Fills *out; the caller then holds one
 * reference on out->ino. Returns 0 or a negative error (-ENOENT, -ENOTDIR, -ENAMETOOLONG). */
int plx_fs_lookup(plx_fs *self, uint64_t dir, const char *name, plx_fs_attr *out);
/* FS_PUTNODE: gives count references on ino back. Returns 0 or a negative error. */
int plx_fs_putnode(plx_fs *self, uint64_t ino, uint32_t count);

/* FS_CREATE (regular file), FS_MKDIR: a new inode named name in dir, of mode (type bits may be
 * left out: the call sets them), owned by uid/gid. Fill *out; the caller holds one reference.
 * Return 0 or a negative error (-EEXIST, -ENOSPC, -EMLINK, -ENAMETOOLONG). */
int plx_fs_create(plx_fs *self, uint64_t dir, const char *name, uint32_t mode, uint32_t uid,
                  uint32_t gid, plx_fs_attr *out);
int plx_fs_mkdir(plx_fs *self, uint64_t dir, const char *name, uint32_t mode, uint32_t uid,
                 uint32_t gid, plx_fs_attr *out);
/* FS_MKNOD: mode carries S_IFCHR, S_IFBLK, S_IFIFO or S_IFSOCK; rdev the device number. */
int plx_fs_mknod(plx_fs *self, uint64_t dir, const char *name, uint32_t mode, uint64_t rdev,
                 uint32_t uid, uint32_t gid, plx_fs_attr *out);
/* FS_SLINK: a symbolic link (mode S_IFLNK | 0777) named name in dir, pointing at target. */
int plx_fs_slink(plx_fs *self, uint64_t dir, const char *name, const char *target, uint32_t uid,
                 uint32_t gid, plx_fs_attr *out);
/* FS_NEWNODE (pfs): an anonymous inode of mode (S_IFIFO), one reference. */
int plx_fs_newnode(plx_fs *self, uint32_t mode, uint32_t uid, uint32_t gid, plx_fs_attr *out);

/* FS_READ: copies up to size bytes of ino from pos into buf. Returns the bytes read (0 at or
 * past the end) or a negative error (-EISDIR, -EINVAL). */
ssize_t plx_fs_read(plx_fs *self, uint64_t ino, uint64_t pos, void *buf, size_t size);
/* FS_WRITE: writes size bytes from buf to ino at pos. When attr is not NULL, fills it with the
 * attributes after the write (the new size). Returns the bytes written or a negative error
 * (-ENOSPC, -EFBIG, -EROFS). Bounded by the transport's data maximum (-EMSGSIZE). */
ssize_t plx_fs_write(plx_fs *self, uint64_t ino, uint64_t pos, const void *buf, size_t size,
                     plx_fs_attr *attr);

/* Staged data (docs/protocol.md "Staged data"): the bytes of a read or write move between the
 * client and the file server directly, VFS sending only the request.
 *
 * VFS's side. FS_READ for client owner: as plx_fs_read, but the server may hold the bytes for
 * owner to collect, then *stage is their stage and buf is untouched (0: they came, in buf). */
ssize_t plx_fs_read_for(plx_fs *self, uint64_t ino, uint64_t pos, void *buf, size_t size,
                        const char *owner, uint64_t *stage);
/* FS_WRITE of the size bytes client owner staged as stage. As plx_fs_write; -EXDEV when the
 * instance holds no such stage of owner (the client sends the bytes some other way). */
ssize_t plx_fs_write_staged(plx_fs *self, uint64_t ino, uint64_t pos, size_t size,
                            const char *owner, uint64_t stage, plx_fs_attr *attr);
/* The client's side. FS_STAGE: size bytes of buf (1 to 4 MiB) held at the server as a new
 * stage of the sender's, *stage. Returns 0 or a negative error (-EAGAIN: the server holds all
 * it may; -EFBIG). */
int plx_fs_stage(plx_fs *self, const void *buf, size_t size, uint64_t *stage);
/* FS_COLLECT: the bytes of the sender's stage into buf, which holds size (the count VFS
 * answered). Returns the bytes, -ENOENT (no such stage: gone with a restart, or its time was
 * up) or -EBADMSG (not size bytes). */
ssize_t plx_fs_collect(plx_fs *self, uint64_t stage, void *buf, size_t size);
/* FS_COLLECT with drop: the stage given up unused. Returns 0 or a negative error. */
int plx_fs_unstage(plx_fs *self, uint64_t stage);

/* FS_GETDENTS: the entries of directory dir from cookie (0: the start), at most size bytes of
 * names and at most max entries, into out. Sets *eof (may be NULL) when no entries follow the
 * ones returned. Returns the number of entries filled or a negative error (-ENOTDIR). */
int plx_fs_getdents(plx_fs *self, uint64_t dir, uint64_t cookie, size_t size, plx_fs_dirent *out,
                    size_t max, bool *eof);

/* FS_STAT: fills *out. Returns 0 or a negative error. */
int plx_fs_stat(plx_fs *self, uint64_t ino, plx_fs_attr *out);
/* FS_CHMOD: sets the permission bits (07777) of ino. out (may be NULL) gets the attributes. */
int plx_fs_chmod(plx_fs *self, uint64_t ino, uint32_t mode, plx_fs_attr *out);
/* FS_CHOWN: sets owner and group; (uint32_t)-1 keeps one. */
int plx_fs_chown(plx_fs *self, uint64_t ino, uint32_t uid, uint32_t gid, plx_fs_attr *out);
/* FS_FTRUNC: sets the size (shrinking frees, growing leaves a hole). */
int plx_fs_ftrunc(plx_fs *self, uint64_t ino, uint64_t size, plx_fs_attr *out);
/* FS_UTIME: times[0] access, times[1] modification, as utimensat(2): tv_nsec UTIME_NOW for
 * the server's clock, UTIME_OMIT to keep; times NULL sets both to now. */
int plx_fs_utime(plx_fs *self, uint64_t ino, const struct timespec times[2], plx_fs_attr *out);

/* FS_LINK: a new name for ino (never a directory: -EPERM) in dir. Returns 0 or an error. */
int plx_fs_link(plx_fs *self, uint64_t dir, const char *name, uint64_t ino);
/* FS_UNLINK (-EISDIR for a directory), FS_RMDIR (-ENOTEMPTY, -ENOTDIR). The removed inode's
 * attributes after the removal (its link count left) into out (may be NULL); out->ino is 0
 * when the server did not send them. */
int plx_fs_unlink(plx_fs *self, uint64_t dir, const char *name, plx_fs_attr *out);
int plx_fs_rmdir(plx_fs *self, uint64_t dir, const char *name, plx_fs_attr *out);
/* FS_RENAME: an existing new name is replaced at once; the replaced inode's attributes after
 * into replaced (may be NULL; ino 0 when none was replaced or the server did not say).
 * Returns 0 or a negative error. */
int plx_fs_rename(plx_fs *self, uint64_t old_dir, const char *old_name, uint64_t new_dir,
                  const char *new_name, plx_fs_attr *replaced);
/* FS_RDLINK: copies the link's target into buf, truncated to size - 1 bytes and always
 * NUL-terminated when size > 0. Returns the target's full length (truncated when >= size) or a
 * negative error (-EINVAL for no symbolic link). */
ssize_t plx_fs_rdlink(plx_fs *self, uint64_t ino, char *buf, size_t size);

/* FS_SYNC: every dirty block and inode written, the driver flushed. FS_FSYNC: the same for
 * ino alone. FS_FLUSH: sync, then forget clean cached blocks. Return 0 or a negative error. */
int plx_fs_sync(plx_fs *self);
int plx_fs_fsync(plx_fs *self, uint64_t ino);
int plx_fs_flush(plx_fs *self);
/* FS_STATVFS: fills *out. Returns 0 or a negative error. */
int plx_fs_statvfs(plx_fs *self, struct plx_fs_statvfs *out);
/* FS_NEW_DRIVER: the block driver label restarted as generation; the server reopens its
 * device there and retries what was waiting. Returns 0 or a negative error. */
int plx_fs_new_driver(plx_fs *self, const char *driver, uint64_t generation);

#endif
