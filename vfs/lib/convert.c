/*
 * convert.c — between VFS's answers and POSIX: errors, paths, stat and statvfs, mount flags,
 * times.
 *
 * Entry points: plexus__fail, plexus__check_path, plexus__stat_from, plexus__statvfs_from,
 * plexus__mount_flags, plexus__times_to.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "client.h"

int plexus__fail(int64_t rc)
{
	errno = rc < 0 ? (int)-rc : EIO;
	return -1;
}

int plexus__check_path(const char *path)
{
	if (!path)
		return -EFAULT;
	return strnlen(path, PLEXUS__PATH_MAX) >= PLEXUS__PATH_MAX ? -ENAMETOOLONG : 0;
}

void plexus__stat_from(const Plexus__FsAttr *attr, struct stat *st)
{
	memset(st, 0, sizeof *st);
	if (!attr)
		return;
	st->st_dev = attr->dev;
	st->st_ino = attr->ino;
	st->st_mode = attr->mode;
	st->st_nlink = attr->nlink;
	st->st_uid = attr->uid;
	st->st_gid = attr->gid;
	st->st_rdev = attr->rdev;
	st->st_size = (off_t)attr->size;
	st->st_blksize = attr->blksize;
	st->st_blocks = (blkcnt_t)attr->blocks;
	st->st_atim = (struct timespec){attr->atime_sec, attr->atime_nsec};
	st->st_mtim = (struct timespec){attr->mtime_sec, attr->mtime_nsec};
	st->st_ctim = (struct timespec){attr->ctime_sec, attr->ctime_nsec};
}

void plexus__statvfs_from(const Plexus__FsStatvfs *fs, struct statvfs *buf)
{
	memset(buf, 0, sizeof *buf);
	if (!fs)
		return;
	buf->f_bsize = fs->bsize;
	buf->f_frsize = fs->bsize;
	buf->f_blocks = fs->blocks;
	buf->f_bfree = fs->bfree;
	buf->f_bavail = fs->bfree;
	buf->f_files = fs->files;
	buf->f_ffree = fs->ffree;
	buf->f_favail = fs->ffree;
	buf->f_namemax = fs->namemax;
	buf->f_flag = plexus__mount_flags(fs->read_only, fs->mount_flags);
}

unsigned long plexus__mount_flags(bool read_only, uint32_t flags)
{
	return (read_only ? ST_RDONLY : 0) |
	       (flags & PLEXUS__VFS_MOUNT_FLAG__VFS_MNT_NODEV ? ST_NODEV : 0) |
	       (flags & PLEXUS__VFS_MOUNT_FLAG__VFS_MNT_NOSUID ? ST_NOSUID : 0) |
	       (flags & PLEXUS__VFS_MOUNT_FLAG__VFS_MNT_NOEXEC ? ST_NOEXEC : 0);
}

void plexus__times_to(const struct timespec times[2], Plexus__VfsTimes *out)
{
	plexus__vfs_times__init(out);
	if (!times) {
		out->atime_nsec = UTIME_NOW;
		out->mtime_nsec = UTIME_NOW;
		return;
	}
	out->atime_sec = times[0].tv_sec;
	out->atime_nsec = times[0].tv_nsec;
	out->mtime_sec = times[1].tv_sec;
	out->mtime_nsec = times[1].tv_nsec;
}
