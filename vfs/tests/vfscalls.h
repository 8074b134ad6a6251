/*
 * vfscalls.h — the VFS calls the core tests make (vfscalls.c), one helper per call, on an
 * fsclient of the multi-node fixture (fscluster.h). Each returns what the call answers (0, a
 * descriptor, a count) or the reply's negative status.
 *
 * Entry points: vc_path, vc_fd, vc_mkdir, vc_rmdir, vc_stat, vc_lstat, vc_rename, vc_link,
 * vc_symlink, vc_readlink, vc_getdents, vc_truncate, vc_ftruncate, vc_chmod, vc_chown,
 * vc_utimens, vc_access, vc_sync, vc_mount, vc_umount, vc_statvfs, vc_dup, vc_dup2,
 * vc_chdir, vc_getcwd, vc_lseek, vc_pread, vc_pwrite, vc_register, vc_umask, vc_exec, vc_ps,
 * vc_mounts, vc_put_file, vc_client, vc_client_destroy, vc_clients_drop.
 */
#ifndef PLEXUS_VFSCALLS_H
#define PLEXUS_VFSCALLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fscluster.h"

/* fsclient_new, remembered so that vc_clients_drop can destroy it if the test fails before
 * it does (its lease would otherwise outlive the fixture's etcd client). */
fsclient *vc_client(fscluster *f, const char *name);
/* fsclient_destroy and forget. */
void vc_client_destroy(fsclient **c, bool exit);
/* Destroys every client still remembered (a teardown, before fscluster_teardown). */
void vc_clients_drop(void);

/* A VfsPath call; reply (may be NULL) gets the reply on success (caller frees with
 * protobuf_c_message_free_unpacked). */
int vc_path(fsclient *c, uint32_t type, const char *path, const char *path2, int flags,
            uint32_t mode, Plexus__VfsReply **reply);
/* A VfsFd call built from q. Returns the status, or reply.value when the status is 0. */
int64_t vc_fd(fsclient *c, uint32_t type, Plexus__VfsFd *q, const void *in, size_t in_size,
              Plexus__VfsReply **reply);

int vc_mkdir(fsclient *c, const char *path, uint32_t mode);
int vc_rmdir(fsclient *c, const char *path);
/* Fills st (may be NULL) from the reply's stat. */
int vc_stat(fsclient *c, const char *path, Plexus__FsAttr *st);
int vc_lstat(fsclient *c, const char *path, Plexus__FsAttr *st);
int vc_rename(fsclient *c, const char *from, const char *to);
int vc_link(fsclient *c, const char *existing, const char *path);
int vc_symlink(fsclient *c, const char *target, const char *path);
/* Copies the target into buf (size bytes, NUL-terminated). */
int vc_readlink(fsclient *c, const char *path, char *buf, size_t size);
/* Every name in directory path (getdents in rounds of size bytes), joined by '\n' into *names
 * (caller frees); returns how many, or a negative errno. */
int vc_list(fsclient *c, const char *path, size_t size, char **names);
int vc_truncate(fsclient *c, const char *path, int64_t length);
int vc_ftruncate(fsclient *c, int fd, int64_t length);
int vc_chmod(fsclient *c, const char *path, uint32_t mode);
int vc_chown(fsclient *c, const char *path, int64_t uid, int64_t gid, int flags);
/* times NULL: now; otherwise atime then mtime (sec, nsec). */
int vc_utimens(fsclient *c, const char *path, const int64_t *times, int flags);
int vc_access(fsclient *c, const char *path, uint32_t mode);
int vc_sync(fsclient *c);
int vc_mount(fsclient *c, const char *source, const char *target, const char *fs);
int vc_umount(fsclient *c, const char *target);
int vc_statvfs(fsclient *c, const char *path, Plexus__FsStatvfs *st);
int vc_dup(fsclient *c, int fd);
int vc_dup2(fsclient *c, int fd, int fd2, int flags);
int vc_chdir(fsclient *c, const char *path);
int vc_getcwd(fsclient *c, char *buf, size_t size);
int64_t vc_lseek(fsclient *c, int fd, int64_t offset, int whence);
ssize_t vc_pread(fsclient *c, int fd, void *buf, size_t size, int64_t offset);
ssize_t vc_pwrite(fsclient *c, int fd, const void *buf, size_t size, int64_t offset);
/* Registers again with these ids (umask 022, no supplementary groups unless given). */
int vc_register(fsclient *c, uint32_t uid, uint32_t gid, const uint32_t *groups, size_t ngroups);
int vc_umask(fsclient *c, uint32_t mask);
int vc_exec(fsclient *c);
/* VFS_PS: the reply (caller frees). */
int vc_ps(fsclient *c, Plexus__VfsReply **reply);
int vc_mounts(fsclient *c, Plexus__VfsReply **reply);
/* Creates path (O_CREAT | O_TRUNC | O_WRONLY, mode) with size bytes of data. 0 or -errno. */
int vc_put_file(fsclient *c, const char *path, uint32_t mode, const void *data, size_t size);

#endif
