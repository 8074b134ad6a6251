/*
 * fileops.h — what an open file does, per vnode type (docs/vfs.md "File operations").
 *
 * Entry points: vfs_fileops_lookup, vfs_reply_stage_label; the op tables vfs_regular_ops,
 * vfs_dir_ops (fileops.c, through the file server) and, from the devices side, the character/block
 * special file and FIFO ops (device.c, pipe.c), plugged into the one switch in vfs_fileops_lookup.
 *
 * open.c picks a filp's ops when it opens a vnode; read.c, filedesc.c (close) and select.c
 * call through them and never look at the vnode's type themselves.
 *
 * Every op that gets a vfs_req may answer later: it returns PLX_SUSPEND having taken
 * req->call, and answers it exactly once with vfs_req_reply from any thread (a pipe or tty
 * read that waits holds no worker thread). req itself is valid only until the op returns: a
 * taker copies what it needs and holds references (vfs_filp_hold, the proc via
 * vfs_proc_find) of its own. Otherwise ops return 0 (with what to answer in req->reply,
 * req->data) or a negative errno.
 */
#ifndef VFS_FILEOPS_H
#define VFS_FILEOPS_H

#include "vfs.h"

/* Select conditions (vfs_fileops.select). */
#define VFS_SEL_RD  1
#define VFS_SEL_WR  2
#define VFS_SEL_ERR 4

struct vfs_selector; /* select.c's waiting select call */

typedef struct vfs_fileops {
	const char *name; /* "regular", "directory", "chr", "blk", "fifo" (logs, VFS_PS) */
	bool seekable;    /* lseek applies; otherwise it answers -ESPIPE */
	/* Called by open (after the permission checks, O_TRUNC done) with the new filp: refs 1,
	 * on no descriptor yet. Returns 0 (open installs the descriptor and answers), a negative
	 * errno (the open fails, filp is put by open), or PLX_SUSPEND: the op took req->call and
	 * the filp reference and finishes later with vfs_open_complete (a FIFO open waiting for
	 * its other end). NULL: nothing to do. */
	int (*open)(vfs_req *req, vfs_filp *filp, int oflags);
	/* The filp's last reference went (every descriptor closed, the proc gone). Frees
	 * filp->priv and closes whatever the open opened. Must not wait for a remote peer
	 * unboundedly. NULL: nothing to do. */
	void (*release)(vfs *v, vfs_filp *filp);
	/* Reads at most size bytes at *pos (the filp's position for read, a copy for pread; the
	 * caller holds filp->lock), advancing *pos by what it read. Answers in req->reply.value
	 * (bytes) and req->data/data_size/data_free (the bytes). 0, -errno or PLX_SUSPEND. */
	int (*read)(vfs_req *req, vfs_filp *filp, size_t size, int64_t *pos);
	/* Writes size bytes of buf at *pos (O_APPEND: at the end, the op's business), advancing
	 * *pos. req->reply.value = bytes written. 0, -errno or PLX_SUSPEND. NULL: -EINVAL. */
	int (*write)(vfs_req *req, vfs_filp *filp, const void *buf, size_t size, int64_t *pos);
	/* An ioctl with in_size argument bytes; result bytes in req->data. NULL: -ENOTTY. */
	int (*ioctl)(vfs_req *req, vfs_filp *filp, uint32_t request, const void *in,
	             size_t in_size);
	/* Returns which of want (VFS_SEL_* bits) are ready now. When none is and sel is not NULL,
	 * the op remembers sel and tells select.c later that filp became ready (select.c's
	 * interface). NULL: always ready (regular files and directories). */
	int (*select)(vfs *v, vfs_filp *filp, int want, struct vfs_selector *sel);
	/* fsync: the file's data and what reaches it on stable storage (a file system's file:
	 * and a loss not yet reported by filp, errseq.c), or the device's cache flushed (a block
	 * special file). 0 or a negative errno. NULL: -EINVAL, as Linux for pipes and character
	 * devices. */
	int (*fsync)(vfs *v, vfs_filp *filp);
} vfs_fileops;

extern const vfs_fileops vfs_regular_ops;
/* Names vn's file server in req's reply (VfsReply.stage_label: where the caller stages and
 * collects the file's data, docs/protocol.md "Staged data"). Returns 0 or -ENOMEM. */
int vfs_reply_stage_label(vfs_req *req, vfs_vnode *vn);
extern const vfs_fileops vfs_dir_ops;

/* Sets *ops to the operations for a vnode of type mode (S_IFMT bits). Returns 0, -ENXIO for a
 * type nobody serves (yet), -ELOOP for a symbolic link (never opened). The devices side adds
 * S_IFCHR, S_IFBLK and S_IFIFO to its switch. */
int vfs_fileops_lookup(uint32_t mode, const vfs_fileops **ops);

/* Finishes an open whose fileops open returned PLX_SUSPEND: with status 0 puts filp on the
 * lowest free descriptor of the client p (fdflags FD_CLOEXEC or 0) and answers call with it;
 * otherwise answers call with status. Consumes the references to p and filp the taker held.
 * Any thread. */
void vfs_open_complete(vfs *v, plx_call *call, vfs_proc *p, vfs_filp *filp, int fdflags,
                       int status);

#endif
