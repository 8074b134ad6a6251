/*
 * ops.h — what the FUSE operations of `plexus mount` share (calls.c), and the handlers the
 * table (ops.c) names (names.c, attrs.c, files.c, dirs.c).
 */
#ifndef PLEXUS_MOUNT_OPS_H
#define PLEXUS_MOUNT_OPS_H

#include "mount.h"

/* A name in a directory node (name NULL: the node itself). */
typedef struct mount_place {
	fuse_ino_t id;
	const char *name;
} mount_place;

mount_ctx *mount_req_ctx(fuse_req_t req);
/* errno, or EIO when a call failed without saying why. */
int mount_errno(void);
/* Folds the Plexus device into st_ino (one device on the Linux side). */
void mount_fix_stat(struct stat *st);
/* fn on the caller's session with the path of node id (+ "/name" when name is not NULL).
 * Returns what fn returns, or -errno. */
long mount_call_at(fuse_req_t req, fuse_ino_t id, const char *name, mount_path_fn fn, void *arg);
/* fn on the caller's session with the paths of a and b. Returns as mount_call_at. */
long mount_call_at2(fuse_req_t req, const mount_place *a, const mount_place *b, mount_path_fn fn,
                    void *arg);
/* Answers req with the entry name in parent, whose attributes are *st (changed here). */
void mount_reply_entry(fuse_req_t req, fuse_ino_t parent, const char *name, struct stat *st);

/* names.c */
void mount_do_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void mount_do_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void mount_do_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets);
void mount_do_readlink(fuse_req_t req, fuse_ino_t ino);
void mount_do_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev);
void mount_do_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode);
void mount_do_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void mount_do_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void mount_do_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name);
void mount_do_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                     const char *newname, unsigned int flags);
void mount_do_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname);

/* attrs.c */
void mount_do_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void mount_do_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                      struct fuse_file_info *fi);
void mount_do_statfs(fuse_req_t req, fuse_ino_t ino);
void mount_do_access(fuse_req_t req, fuse_ino_t ino, int mask);

/* files.c */
void mount_do_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void mount_do_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                     struct fuse_file_info *fi);
void mount_do_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                   struct fuse_file_info *fi);
void mount_do_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                    struct fuse_file_info *fi);
void mount_do_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void mount_do_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void mount_do_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);
/* The open file fi's handle names. */
mount_file *mount_fi_file(const struct fuse_file_info *fi);
/* Opens node ino's path for the caller with flags; on success fi->fh holds the file. Returns
 * 0 or -errno. */
int mount_open_node(fuse_req_t req, fuse_ino_t ino, int flags, struct fuse_file_info *fi);

/* dirs.c */
void mount_do_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void mount_do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                      struct fuse_file_info *fi);
void mount_do_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void mount_do_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);

#endif
