/*
 * mfsrun.h — plexus-mfs's file system in this process, over the RAM disk of ramdev.h: each
 * request run as the server's worker runs it (fs-servers/mfs/main.c, s_run), with the body
 * checked against the server's own table (table.c), but without the service, its threads or
 * the transport. Shared by fuzz-mfs, fuzz-bodies (for the table) and mkseeds.
 *
 * Entry points: mfsrun_init, mfsrun_fini, mfsrun_request, mfsrun_call, mfsrun_reply_free.
 *
 * Requests come from VFS ("vfs", generation 1 or the generation given). The loop thread's own
 * request, FS_NEW_DRIVER, is not run here (-ENOSYS): it only wakes a transfer waiting for a
 * restarted driver, and the RAM disk never restarts.
 */
#ifndef PLEXUS_FUZZ_MFSRUN_H
#define PLEXUS_FUZZ_MFSRUN_H

#include "mfs.h"

/* Sets fs up as main.c does, with a cache of cache_bytes and readahead blocks; no service
 * (nothing saved in DS) and no periodic write-back. */
void mfsrun_init(mfs *fs, size_t cache_bytes, int readahead);
/* Stops as main.c does when the service ends (s_final_sync): a mounted file system is
 * unmounted or, when VFS still holds inodes, written back and dropped; what a failed write
 * back left is freed too (the process would exit). */
void mfsrun_fini(mfs *fs);
/* Runs request type from VFS generation vfs_gen with the packed body (body_size bytes) and
 * data (the data frame): the body is unpacked with the descriptor the server's table gives the
 * type, as the server library does (-EBADMSG when it does not parse, -ENOSYS for a type the
 * table does not queue to the worker); then the handler runs and its reply is encoded as
 * plx_call_reply would. Returns the handler's status; *out holds the reply, which the caller
 * frees with mfsrun_reply_free whatever the status. */
int mfsrun_request(mfs *fs, uint32_t type, uint64_t vfs_gen, const uint8_t *body, size_t body_size,
                   const void *data, size_t data_size, mfs_reply *out);
/* The same with the body already a message of the table's type (NULL for bodiless types). */
int mfsrun_call(mfs *fs, uint32_t type, uint64_t vfs_gen, const ProtobufCMessage *body,
                const void *data, size_t data_size, mfs_reply *out);
void mfsrun_reply_free(mfs_reply *out);

#endif
