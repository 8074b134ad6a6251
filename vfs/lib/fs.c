/*
 * fs.c — file systems: mounting, unmounting, their statistics and the mount table.
 *
 * Entry points: plexus_mount, plexus_umount, plexus_statvfs, plexus_fstatvfs, plexus_mounts,
 * plexus_mounts_free.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "client.h"

int plexus_mount(plexus *self, const char *source, const char *target, const char *fs,
                 unsigned long flags)
{
	int rc = plexus__check_path(target);
	if (rc == 0 && !fs)
		rc = -EFAULT;
	const unsigned long known =
	    MS_RDONLY | MS_NODEV | MS_NOSUID | MS_NOEXEC | PLEXUS_MS_DEV | PLEXUS_MS_SUID;
	if (rc == 0 && ((flags & ~known) || ((flags & MS_NODEV) && (flags & PLEXUS_MS_DEV)) ||
	                ((flags & MS_NOSUID) && (flags & PLEXUS_MS_SUID))))
		rc = -EINVAL;
	if (rc < 0)
		return plexus__fail(rc);
	Plexus__VfsMount req = PLEXUS__VFS_MOUNT__INIT;
	req.source = (char *)(source ? source : "");
	req.target = (char *)target;
	req.fs = (char *)fs;
	req.read_only = (flags & MS_RDONLY) != 0;
	req.flags = (flags & MS_NODEV ? PLEXUS__VFS_MOUNT_FLAG__VFS_MNT_NODEV : 0) |
	            (flags & MS_NOSUID ? PLEXUS__VFS_MOUNT_FLAG__VFS_MNT_NOSUID : 0) |
	            (flags & MS_NOEXEC ? PLEXUS__VFS_MOUNT_FLAG__VFS_MNT_NOEXEC : 0) |
	            (flags & PLEXUS_MS_DEV ? PLEXUS__VFS_MOUNT_FLAG__VFS_MNT_DEV : 0) |
	            (flags & PLEXUS_MS_SUID ? PLEXUS__VFS_MOUNT_FLAG__VFS_MNT_SUID : 0);
	int64_t r = plexus__vfs_mount(self, &req, NULL, 0, self->timeout_ms, NULL);
	return r < 0 ? plexus__fail(r) : 0;
}

int plexus_umount(plexus *self, const char *target)
{
	int rc = plexus__check_path(target);
	if (rc < 0)
		return plexus__fail(rc);
	Plexus__VfsPath req = PLEXUS__VFS_PATH__INIT;
	req.path = (char *)target;
	req.path2 = "";
	int64_t r = plexus__vfs_umount(self, &req, NULL, 0, self->timeout_ms, NULL);
	return r < 0 ? plexus__fail(r) : 0;
}

/* The end of a call answered by a statvfs: rc and ans as the call returned them. */
static int s_statvfs(int64_t rc, plexus__answer *ans, struct statvfs *buf)
{
	if (rc < 0)
		return plexus__fail(rc);
	bool ok = ans->reply->statvfs != NULL;
	if (ok)
		plexus__statvfs_from(ans->reply->statvfs, buf);
	plexus__answer_free(ans);
	return ok ? 0 : plexus__fail(-EPROTO);
}

int plexus_statvfs(plexus *self, const char *path, struct statvfs *buf)
{
	int rc = plexus__check_path(path);
	if (rc < 0 || !buf)
		return plexus__fail(rc < 0 ? rc : -EFAULT);
	Plexus__VfsPath req = PLEXUS__VFS_PATH__INIT;
	req.path = (char *)path;
	plexus__answer ans;
	int64_t r = plexus__vfs_statvfs(self, &req, NULL, 0, self->timeout_ms, &ans);
	return s_statvfs(r, &ans, buf);
}

int plexus_fstatvfs(plexus *self, int fd, struct statvfs *buf)
{
	if (!buf)
		return plexus__fail(-EFAULT);
	Plexus__VfsFd req = PLEXUS__VFS_FD__INIT;
	req.fd = fd;
	plexus__answer ans;
	int64_t r = plexus__vfs_fstatvfs(self, &req, NULL, 0, self->timeout_ms, &ans);
	return s_statvfs(r, &ans, buf);
}

/* Copies one entry; returns false when out of memory. */
static bool s_mount_copy(const Plexus__VfsMountInfo *in, plexus_mount_info *out)
{
	out->source = strdup(in->source);
	out->target = strdup(in->target);
	out->fs = strdup(in->fs);
	out->read_only = in->read_only;
	out->flags = plexus__mount_flags(in->read_only, in->flags);
	out->has_statvfs = in->statvfs != NULL;
	plexus__statvfs_from(in->statvfs, &out->statvfs);
	return out->source && out->target && out->fs;
}

int plexus_mounts(plexus *self, plexus_mount_info **mounts, size_t *n)
{
	if (!mounts || !n)
		return plexus__fail(-EFAULT);
	plexus__answer ans;
	int64_t rc = plexus__vfs_mounts(self, NULL, NULL, 0, self->timeout_ms, &ans);
	if (rc < 0)
		return plexus__fail(rc);
	size_t count = ans.reply->n_mounts;
	plexus_mount_info *list = calloc(count ? count : 1, sizeof *list);
	bool ok = list != NULL;
	for (size_t i = 0; ok && i < count; i++)
		ok = s_mount_copy(ans.reply->mounts[i], &list[i]);
	plexus__answer_free(&ans);
	if (!ok) {
		plexus_mounts_free(list, count);
		return plexus__fail(-ENOMEM);
	}
	*mounts = list;
	*n = count;
	return 0;
}

void plexus_mounts_free(plexus_mount_info *mounts, size_t n)
{
	for (size_t i = 0; mounts && i < n; i++) {
		free(mounts[i].source);
		free(mounts[i].target);
		free(mounts[i].fs);
	}
	free(mounts);
}
