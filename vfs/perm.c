/*
 * perm.c — the permission check every call makes (MINIX VFS's forbidden(), in its protect.c).
 *
 * Entry points: vfs_may, vfs_is_member.
 *
 * Permission checks are VFS's (file servers trust it): owner, then group (the effective group
 * or a supplementary one), then other; root passes every check but execute, which needs some
 * x bit (or a directory).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vfs.h"

bool vfs_is_member(const vfs_cred *cred, uint32_t gid)
{
	if (cred->gid == gid)
		return true;
	for (int i = 0; i < cred->ngroups; i++)
		if (cred->groups[i] == gid)
			return true;
	return false;
}

int vfs_may(const vfs_cred *cred, vfs_vnode *vn, int want)
{
	vfs_attr a;
	vfs_vnode_attr(vn, &a);
	uint32_t type = a.mode & S_IFMT;
	if ((want & VFS_MAY_WRITE) && vn->mount->read_only &&
	    (type == S_IFREG || type == S_IFDIR || type == S_IFLNK))
		return -EROFS;
	if ((want & VFS_MAY_EXEC) && type != S_IFDIR &&
	    (vn->mount->flags & PLEXUS__VFS_MOUNT_FLAG__VFS_MNT_NOEXEC))
		return -EACCES; /* a noexec mount: nothing on it runs, even for root */
	if (cred->uid == 0) {
		if ((want & VFS_MAY_EXEC) && type != S_IFDIR && !(a.mode & 0111))
			return -EACCES;
		return 0;
	}
	uint32_t bits;
	if (cred->uid == a.uid)
		bits = (a.mode >> 6) & 7;
	else if (vfs_is_member(cred, a.gid))
		bits = (a.mode >> 3) & 7;
	else
		bits = a.mode & 7;
	return ((uint32_t)want & ~bits) ? -EACCES : 0;
}
