/*
 * pending.c — weak -ENOSYS stand-ins for the handlers and helpers whose files have not landed
 * yet, so the server links while it grows. Each goes when its real definition exists.
 *
 * Entry points: none of its own.
 */
#include <errno.h>

#include "vfs.h"

#define S_PENDING(name)                                                                            \
	__attribute__((weak)) int name(vfs_req *req)                                               \
	{                                                                                          \
		(void)req;                                                                         \
		return -ENOSYS;                                                                    \
	}

S_PENDING(do_register)
S_PENDING(do_exit)
S_PENDING(do_ps)
S_PENDING(do_open)
S_PENDING(do_close)
S_PENDING(do_mkdir)
S_PENDING(do_mknod)
S_PENDING(do_mkfifo)
S_PENDING(do_read)
S_PENDING(do_write)
S_PENDING(do_pread)
S_PENDING(do_pwrite)
S_PENDING(do_lseek)
S_PENDING(do_getdents)
S_PENDING(do_ioctl)
S_PENDING(do_stat)
S_PENDING(do_fstat)
S_PENDING(do_lstat)
S_PENDING(do_rmdir)
S_PENDING(do_unlink)
S_PENDING(do_rename)
S_PENDING(do_link)
S_PENDING(do_symlink)
S_PENDING(do_readlink)
S_PENDING(do_truncate)
S_PENDING(do_ftruncate)
S_PENDING(do_fsync)
S_PENDING(do_sync)
S_PENDING(do_chmod)
S_PENDING(do_fchmod)
S_PENDING(do_chown)
S_PENDING(do_fchown)
S_PENDING(do_access)
S_PENDING(do_umask)
S_PENDING(do_utimens)
S_PENDING(do_futimens)
S_PENDING(do_mount)
S_PENDING(do_umount)
S_PENDING(do_statvfs)
S_PENDING(do_fstatvfs)
S_PENDING(do_mounts)
S_PENDING(do_dup)
S_PENDING(do_dup2)
S_PENDING(do_fcntl)
S_PENDING(do_exec)
S_PENDING(do_chdir)
S_PENDING(do_fchdir)
S_PENDING(do_getcwd)

__attribute__((weak)) vfs_proc *vfs_proc_find(vfs *v, const plx_name *ep)
{
	(void)v, (void)ep;
	return NULL;
}

__attribute__((weak)) void vfs_proc_put(vfs *v, vfs_proc *p)
{
	(void)v, (void)p;
}

__attribute__((weak)) void vfs_proc_cred(vfs_proc *p, vfs_cred *cred)
{
	(void)p, (void)cred;
}

__attribute__((weak)) int vfs_procs_watch(vfs *v)
{
	(void)v;
	return 0;
}

__attribute__((weak)) void vfs_procs_unwatch(vfs *v)
{
	(void)v;
}

__attribute__((weak)) void vfs_procs_clear(vfs *v)
{
	(void)v;
}

__attribute__((weak)) int vfs_mount_fs(vfs_req *req, const char *fs, const char *source,
                                       const char *driver, uint32_t minor, bool read_only,
                                       const char *target)
{
	(void)req, (void)fs, (void)source, (void)driver, (void)minor, (void)read_only, (void)target;
	return -ENOSYS;
}

__attribute__((weak)) void vfs_mounts_clear(vfs *v)
{
	(void)v;
}

__attribute__((weak)) int vfs_init(vfs *v)
{
	(void)v;
	return 0;
}

__attribute__((weak)) void vfs_fini(vfs *v)
{
	(void)v;
}
