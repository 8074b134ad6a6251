/*
 * pfs.h — plexus-pfs, the pipe file server: its pipes and its request handlers.
 *
 * Entry points:
 *   pipes (pipe.c): pfs_new, pfs_destroy, pfs_pipe_new, pfs_pipe_find, pfs_pipe_put,
 *     pfs_pipe_read, pfs_pipe_write, pfs_pipe_truncate, pfs_pipe_attr, pfs_count
 *   handlers: pfs_do_newnode, pfs_do_putnode, pfs_do_stat, pfs_do_ftrunc (node.c);
 *     pfs_do_read, pfs_do_write (rw.c); pfs_do_sync, pfs_do_statvfs (sync.c)
 *   table (table.c): pfs_handlers
 *
 * A pipe is an inode with a bounded byte buffer (a ring of the server's capacity, allocated
 * at the first write and freed whenever it empties) and a reference count that VFS holds.
 * PFS never waits: a read of an empty pipe answers -EAGAIN and a write to a full pipe writes
 * what fits; VFS turns that into blocking reads and writes (docs/vfs.md "Pipes").
 */
#ifndef PLEXUS_PFS_H
#define PLEXUS_PFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <plexus/server.h>

#include "plexus/proto/fs.pb-c.h"

#define PFS_PIPE_BUF     4096         /* writes up to this size are atomic (POSIX PIPE_BUF) */
#define PFS_CAPACITY     (64u * 1024) /* default bytes a pipe holds */
#define PFS_CAPACITY_MAX (16u * 1024 * 1024)
#define PFS_PIPES_MAX    65536               /* pipes held at once */
#define PFS_USER_MEMORY  (64u * 1024 * 1024) /* default pipe bytes one user may hold (root: any) */

typedef struct pfs pfs;
typedef struct pfs_pipe pfs_pipe;

/* Returns a server state whose pipes hold capacity bytes each (PFS_PIPE_BUF..PFS_CAPACITY_MAX)
 * and report dev in their attributes, one user but root holding pipes of at most user_memory
 * bytes of capacity in all (at least one pipe), or NULL with errno EINVAL or ENOMEM. */
pfs *pfs_new(size_t capacity, uint32_t dev, size_t user_memory);
/* Frees every pipe and the state; sets *self_p to NULL. Accepts NULL. */
void pfs_destroy(pfs **self_p);
/* The number of pipes held. */
size_t pfs_count(const pfs *self);
/* The capacity of each pipe, bytes. */
size_t pfs_capacity(const pfs *self);

/* Makes a pipe with mode (S_IFIFO and permission bits), owner uid:gid and one reference.
 * Returns it (owned by self) or NULL with errno ENOSPC (too many pipes), ENFILE (uid holds its
 * share of pipe memory) or ENOMEM. */
pfs_pipe *pfs_pipe_new(pfs *self, uint32_t mode, uint32_t uid, uint32_t gid);
/* Returns the pipe ino, or NULL. */
pfs_pipe *pfs_pipe_find(pfs *self, uint64_t ino);
/* Gives back count references; frees the pipe and its bytes at the last. Returns 0 or
 * -EINVAL (count 0 or more than it holds: nothing changes). */
int pfs_pipe_put(pfs *self, pfs_pipe *p, uint32_t count);
/* Copies up to size bytes out of the pipe into buf (removing them). Returns the count, or
 * -EAGAIN when the pipe is empty. */
ssize_t pfs_pipe_read(pfs *self, pfs_pipe *p, void *buf, size_t size);
/* Appends bytes: all of them or -EAGAIN when size <= PFS_PIPE_BUF (atomic), otherwise as many
 * as fit, or -EAGAIN when none does. Returns the count, -EAGAIN or -ENOMEM. */
ssize_t pfs_pipe_write(pfs *self, pfs_pipe *p, const void *data, size_t size);
/* Keeps the first size bytes (size above what it holds: -EINVAL). Returns 0 or -EINVAL. */
int pfs_pipe_truncate(pfs *self, pfs_pipe *p, uint64_t size);
/* Fills attr (initialised by the caller) with the pipe's attributes. */
void pfs_pipe_attr(const pfs *self, const pfs_pipe *p, Plexus__FsAttr *attr);

int pfs_do_newnode(plx_call *call);
int pfs_do_putnode(plx_call *call);
int pfs_do_stat(plx_call *call);
int pfs_do_ftrunc(plx_call *call);
int pfs_do_read(plx_call *call);
int pfs_do_write(plx_call *call);
int pfs_do_sync(plx_call *call);
int pfs_do_statvfs(plx_call *call);

/* The dispatch table; sets *n to its length. */
const plx_handler *pfs_handlers(size_t *n);

#endif
