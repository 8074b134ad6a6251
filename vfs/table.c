/*
 * table.c — plexus-vfs's dispatch table: VFS_* message type -> do_<call>.
 *
 * Entry points: vfs_table.
 *
 * The server library checks and unpacks each call with the body descriptor named here, then
 * s_queue hands it to a worker (worker.c), which runs the do_<call>. The loop thread never
 * runs a handler itself.
 */
#include <errno.h>
#include <string.h>

#include "dev.h"
#include "vfs.h"

typedef struct s_entry {
	uint32_t type;
	const char *name;
	vfs_handler_fn *fn;
	const ProtobufCMessageDescriptor *body;
} s_entry;

#define E(T, F, B)                                                                                 \
	{                                                                                          \
		PLEXUS__VFS_TYPE__##T, #T, F, B                                                    \
	}
#define PATH &plexus__vfs_path__descriptor
#define FD   &plexus__vfs_fd__descriptor

static const s_entry s_entries[] = {
    E(VFS_REGISTER, do_register, &plexus__vfs_register__descriptor),
    E(VFS_EXIT, do_exit, NULL),
    E(VFS_OPEN, do_open, PATH),
    E(VFS_CLOSE, do_close, FD),
    E(VFS_READ, do_read, FD),
    E(VFS_WRITE, do_write, FD),
    E(VFS_PREAD, do_pread, FD),
    E(VFS_PWRITE, do_pwrite, FD),
    E(VFS_LSEEK, do_lseek, FD),
    E(VFS_STAT, do_stat, PATH),
    E(VFS_FSTAT, do_fstat, FD),
    E(VFS_LSTAT, do_lstat, PATH),
    E(VFS_MKDIR, do_mkdir, PATH),
    E(VFS_RMDIR, do_rmdir, PATH),
    E(VFS_UNLINK, do_unlink, PATH),
    E(VFS_RENAME, do_rename, PATH),
    E(VFS_LINK, do_link, PATH),
    E(VFS_SYMLINK, do_symlink, PATH),
    E(VFS_READLINK, do_readlink, PATH),
    E(VFS_GETDENTS, do_getdents, FD),
    E(VFS_TRUNCATE, do_truncate, PATH),
    E(VFS_FTRUNCATE, do_ftruncate, FD),
    E(VFS_CHMOD, do_chmod, PATH),
    E(VFS_FCHMOD, do_fchmod, FD),
    E(VFS_CHOWN, do_chown, PATH),
    E(VFS_FCHOWN, do_fchown, FD),
    E(VFS_UTIMENS, do_utimens, PATH),
    E(VFS_FUTIMENS, do_futimens, FD),
    E(VFS_ACCESS, do_access, PATH),
    E(VFS_FSYNC, do_fsync, FD),
    E(VFS_SYNC, do_sync, NULL),
    E(VFS_MKNOD, do_mknod, PATH),
    E(VFS_MOUNT, do_mount, &plexus__vfs_mount__descriptor),
    E(VFS_UMOUNT, do_umount, PATH),
    E(VFS_STATVFS, do_statvfs, PATH),
    E(VFS_FSTATVFS, do_fstatvfs, FD),
    E(VFS_PIPE, do_pipe, FD),
    E(VFS_MKFIFO, do_mkfifo, PATH),
    E(VFS_SELECT, do_select, &plexus__vfs_select__descriptor),
    E(VFS_IOCTL, do_ioctl, FD),
    E(VFS_DUP, do_dup, FD),
    E(VFS_DUP2, do_dup2, FD),
    E(VFS_FCNTL, do_fcntl, FD),
    E(VFS_CHDIR, do_chdir, PATH),
    E(VFS_FCHDIR, do_fchdir, FD),
    E(VFS_GETCWD, do_getcwd, NULL),
    E(VFS_UMASK, do_umask, FD),
    E(VFS_EXEC, do_exec, NULL),
    E(VFS_PS, do_ps, &plexus__vfs_ps_query__descriptor),
    E(VFS_MOUNTS, do_mounts, NULL),
    E(VFS_SYNCFS, do_syncfs, FD),
};
#define S_N (sizeof s_entries / sizeof s_entries[0])

/* The one plx_handler function: find the call's do_<call> and queue it for a worker. */
static int s_queue(plx_call *call)
{
	vfs *v = plx_server_arg(call->server);
	for (size_t i = 0; i < S_N; i++) {
		if (s_entries[i].type == call->msg->type) {
			int rc = vfs_workers_submit(v->workers, call, s_entries[i].fn);
			return rc < 0 ? rc : PLX_SUSPEND;
		}
	}
	return -ENOSYS;
}

const plx_handler *vfs_table(size_t *n)
{
	static plx_handler table[S_N + 1];
	for (size_t i = 0; i < S_N; i++) {
		table[i] = (plx_handler){
		    .type = s_entries[i].type,
		    .name = s_entries[i].name,
		    .fn = s_queue,
		    .body = s_entries[i].body,
		};
	}
	/* A driver's later select report (device.c): answered in the loop, never queued. */
	table[S_N] = (plx_handler){
	    .type = PLEXUS__CDEV_TYPE__CDEV_SEL2_REPLY,
	    .name = "CDEV_SEL2_REPLY",
	    .fn = vfs_dev_sel2,
	    .body = &plexus__cdev_sel_ready__descriptor,
	};
	*n = S_N + 1;
	return table;
}
