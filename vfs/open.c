/*
 * open.c — opening and creating files.
 *
 * Entry points: do_open, do_mkdir, do_mknod, do_mkfifo, vfs_open_complete, vfs_new_name.
 *
 * open: O_CREAT creates a regular file when the last component is missing in its directory
 * (a name the name cache does not hold is tried with FS_CREATE first, and looked up only when
 * that fails; O_EXCL: -EEXIST when it is there, and no link followed); a symbolic link
 * there is followed, and when its target is missing the target is created, as on Linux;
 * otherwise the path is resolved (O_NOFOLLOW: -ELOOP for a link as last component). Then the type
 * checks (O_DIRECTORY, writing a directory), the permission check (not for a file just created),
 * O_TRUNC, the file operations' open, and a descriptor (O_CLOEXEC sets FD_CLOEXEC).
 * New inodes get the caller's effective uid, and its effective gid unless the directory is
 * set-group-id (then the directory's gid, and a new directory inherits S_ISGID); the mode is
 * masked with the caller's umask.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileops.h"

#define S_OPEN_FLAGS                                                                               \
	(O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_DIRECTORY | O_NOFOLLOW |            \
	 O_NONBLOCK | O_CLOEXEC | O_NOCTTY | O_SYNC | O_DSYNC | O_LARGEFILE)

static uint32_t s_type(vfs_vnode *vn)
{
	vfs_attr a;
	vfs_vnode_attr(vn, &a);
	return a.mode & S_IFMT;
}

static uint32_t s_umask(vfs_req *req)
{
	pthread_mutex_lock(&req->proc->lock);
	uint32_t mask = req->proc->umask;
	pthread_mutex_unlock(&req->proc->lock);
	return mask;
}

/* The group a new inode in dir gets, and whether it inherits S_ISGID (directories). */
static uint32_t s_new_gid(vfs_req *req, vfs_vnode *dir, bool *sgid)
{
	vfs_attr a;
	vfs_vnode_attr(dir, &a);
	*sgid = (a.mode & S_ISGID) != 0;
	return *sgid ? a.gid : req->cred.gid;
}

/* Creates a regular file name in dir: *out (one reference). */
static int s_create(vfs_req *req, vfs_vnode *dir, const char *name, uint32_t mode, vfs_vnode **out)
{
	int rc = vfs_may(&req->cred, dir, VFS_MAY_WRITE | VFS_MAY_EXEC);
	if (rc < 0)
		return rc;
	bool sgid;
	uint32_t gid = s_new_gid(req, dir, &sgid);
	vfs_attr a;
	vfs_fsgen *g = vfs_fs_gen(req->vfs, dir);
	rc = vfs_fs_errno(plx_fs_create(g->client, dir->ino, name,
	                                S_IFREG | (mode & 07777 & ~s_umask(req)), req->cred.uid,
	                                gid, &a));
	if (rc == 0 && (rc = vfs_vnode_get(req->vfs, dir->mount, g, &a, out)) == 0)
		req->fresh = *out; /* its attributes are FS_CREATE's answer */
	return rc;
}

static int s_open_creat_at(vfs_req *req, const char *path, int flags, uint32_t mode,
                           vfs_vnode **out, bool *created, int links);

/* path's last component is the symbolic link vn whose target does not exist: as Linux does,
 * O_CREAT creates the target (relative to the link's directory), following further links. */
static int s_creat_target(vfs_req *req, const char *path, vfs_vnode *vn, int flags, uint32_t mode,
                          vfs_vnode **out, bool *created, int links)
{
	if (links >= VFS_SYMLOOP_MAX)
		return -ELOOP;
	char *target = malloc(VFS_PATH_MAX), *next = malloc(VFS_PATH_MAX);
	int rc = target && next ? 0 : -ENOMEM;
	ssize_t n = 0;
	if (rc == 0) {
		n = plx_fs_rdlink(vfs_fs(req->vfs, vn), vn->ino, target, VFS_PATH_MAX - 1);
		rc = n < 0 ? vfs_fs_errno((int)n) : n == 0 ? -ENOENT : 0;
	}
	if (rc == 0) {
		target[n] = '\0';
		const char *slash = strrchr(path, '/');
		int dir_len = target[0] == '/' || !slash ? 0 : (int)(slash - path + 1);
		if ((size_t)dir_len + (size_t)n + 1 > VFS_PATH_MAX)
			rc = -ENAMETOOLONG;
		else
			snprintf(next, VFS_PATH_MAX, "%.*s%s", dir_len, path, target);
	}
	if (rc == 0)
		rc = s_open_creat_at(req, next, flags, mode, out, created, links + 1);
	free(target);
	free(next);
	return rc;
}

/* O_CREAT of a name the name cache does not hold: most such names are new, so the file is
 * created at once (one round trip instead of a lookup and a create). Returns 0 (*created),
 * -EEXIST under O_EXCL, or -EAGAIN when the lookup must decide as usual: the name exists
 * (maybe a link to follow or a mount point), the directory does not let the caller create
 * (an existing file may still open), the file system is read-only or full. */
static int s_create_first(vfs_req *req, vfs_vnode *dir, const char *name, int flags, uint32_t mode,
                          vfs_vnode **out, bool *created)
{
	if (vfs_fs_known(req->vfs, dir, name))
		return -EAGAIN;
	int rc = s_create(req, dir, name, mode, out);
	*created = rc == 0;
	if (rc == 0 || (rc == -EEXIST && (flags & O_EXCL)))
		return rc;
	return -EAGAIN;
}

/* The O_CREAT half of open: finds or creates the file. *created says which. */
static int s_open_creat(vfs_req *req, const char *path, int flags, uint32_t mode, vfs_vnode **out,
                        bool *created)
{
	return s_open_creat_at(req, path, flags, mode, out, created, 0);
}

/* s_open_creat after links dangling symbolic links were followed. */
static int s_open_creat_at(vfs_req *req, const char *path, int flags, uint32_t mode,
                           vfs_vnode **out, bool *created, int links)
{
	vfs_vnode *dir;
	char name[VFS_NAME_MAX + 1];
	bool trailing;
	int rc = vfs_path_parent(req, path, &dir, name, &trailing);
	if (rc < 0)
		return rc;
	if (trailing || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		vfs_vnode_put(req->vfs, dir);
		return -EISDIR;
	}
	vfs_vnode *vn = NULL;
	rc = s_create_first(req, dir, name, flags, mode, &vn, created);
	if (rc == -EAGAIN)
		rc = vfs_path_lookup(req, dir, name, &vn);
	if (rc == -ENOENT) {
		rc = s_create(req, dir, name, mode, &vn);
		*created = rc == 0;
		if (rc == -EEXIST && !(flags & O_EXCL)) /* made meanwhile by someone else */
			rc = vfs_path_lookup(req, dir, name, &vn);
	} else if (rc == 0 && !*created && (flags & O_EXCL)) {
		rc = -EEXIST;
	}
	if (rc == 0 && !*created && s_type(vn) == S_IFLNK) {
		vfs_vnode *link = vn;
		vn = NULL;
		rc = (flags & O_NOFOLLOW) ? -ELOOP : vfs_path_resolve(req, path, 0, &vn);
		if (rc == -ENOENT)
			rc = s_creat_target(req, path, link, flags, mode, &vn, created, links);
		vfs_vnode_put(req->vfs, link);
	}
	vfs_vnode_put(req->vfs, dir);
	if (rc < 0) {
		vfs_vnode_put(req->vfs, vn);
		return rc;
	}
	*out = vn;
	return 0;
}

/* Type and permission checks for opening vn with flags. */
static int s_open_check(vfs_req *req, vfs_vnode *vn, int flags, bool created)
{
	int acc = flags & O_ACCMODE;
	uint32_t type = s_type(vn);
	if (type == S_IFLNK)
		return -ELOOP;
	if ((flags & O_DIRECTORY) && type != S_IFDIR)
		return -ENOTDIR;
	if (type == S_IFDIR && (acc != O_RDONLY || (flags & O_TRUNC) || (flags & O_CREAT)))
		return -EISDIR;
	if (created)
		return 0;
	int want = (acc != O_WRONLY ? VFS_MAY_READ : 0) |
	           (acc != O_RDONLY || (flags & O_TRUNC) ? VFS_MAY_WRITE : 0);
	return vfs_may(&req->cred, vn, want);
}

/* O_TRUNC of a regular file. */
static int s_truncate(vfs *v, vfs_vnode *vn)
{
	vfs_attr a;
	vfs_vnode_attr(vn, &a);
	if ((a.mode & S_IFMT) != S_IFREG || a.size == 0)
		return 0;
	pthread_rwlock_wrlock(&vn->io);
	int rc = vfs_fs_errno(plx_fs_ftrunc(vfs_fs(v, vn), vn->ino, 0, &a));
	if (rc == 0)
		vfs_vnode_attr_set(vn, &a);
	pthread_rwlock_unlock(&vn->io);
	return rc;
}

/* Makes the description, runs the ops' open, installs the descriptor. */
static int s_open_filp(vfs_req *req, vfs_vnode *vn, const char *path, int flags)
{
	const vfs_fileops *ops;
	vfs_attr a;
	vfs_vnode_attr(vn, &a);
	int rc = vfs_fileops_lookup(a.mode, &ops);
	if (rc < 0)
		return rc;
	uint32_t type = a.mode & S_IFMT;
	if ((type == S_IFCHR || type == S_IFBLK) &&
	    (vn->mount->flags & PLEXUS__VFS_MOUNT_FLAG__VFS_MNT_NODEV))
		return -EACCES; /* as Linux: device nodes on a nodev mount open nothing */
	bool truncate = (flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY;
	if (truncate && (rc = s_truncate(req->vfs, vn)) < 0)
		return rc;
	char *abs = vfs_path_join(req, path);
	vfs_filp *f = abs ? vfs_filp_new(req->vfs, vn, flags, ops, abs) : NULL;
	free(abs);
	if (!f)
		return -ENOMEM;
	if (ops->open && (rc = ops->open(req, f, flags)) != 0) {
		if (rc != PLX_SUSPEND)
			vfs_filp_put(req->vfs, f);
		return rc;
	}
	rc = vfs_fd_install(req->vfs, req->proc, f, 0, flags & O_CLOEXEC ? FD_CLOEXEC : 0);
	vfs_filp_put(req->vfs, f);
	if (rc < 0)
		return rc;
	req->reply.value =
	    rc; /* and what was opened: a client reopening it checks it is the same */
	vfs_watch_hold(req, vn);
	vfs_vnode_attr(vn, &a);
	vfs_attr_to_fs(&a, &req->reply_stat);
	req->reply.stat = &req->reply_stat;
	/* fresh when the file server answered for it in this call: no fstat needed after */
	req->reply.stat_fresh = (truncate || req->fresh == vn) && vfs_watch_fresh(req);
	if (ops == &vfs_regular_ops)
		(void)vfs_reply_stage_label(req, vn); /* without it, the data goes through VFS */
	return 0;
}

int do_open(vfs_req *req)
{
	const Plexus__VfsPath *m = (const Plexus__VfsPath *)req->body;
	int flags = m->flags;
	if ((flags & O_ACCMODE) == O_ACCMODE || (flags & ~S_OPEN_FLAGS))
		return -EINVAL;
	vfs_vnode *vn = NULL;
	bool created = false;
	int rc;
	if (flags & O_CREAT)
		rc = s_open_creat(req, m->path, flags, m->mode, &vn, &created);
	else
		rc =
		    vfs_path_resolve(req, m->path, flags & O_NOFOLLOW ? VFS_PATH_NOFOLLOW : 0, &vn);
	if (rc < 0)
		return rc;
	rc = s_open_check(req, vn, flags, created);
	if (rc == 0)
		rc = s_open_filp(req, vn, m->path, flags);
	vfs_vnode_put(req->vfs, vn);
	return rc;
}

void vfs_open_complete(vfs *v, plx_call *call, vfs_proc *p, vfs_filp *filp, int fdflags, int status)
{
	Plexus__VfsReply reply = PLEXUS__VFS_REPLY__INIT;
	Plexus__FsAttr stat = PLEXUS__FS_ATTR__INIT;
	if (status == 0) {
		int fd = vfs_fd_install(v, p, filp, 0, fdflags);
		if (fd < 0)
			status = fd;
		else
			reply.value = fd;
	}
	if (status == 0) { /* what was opened: a client reopening it later checks it is the same */
		vfs_attr a;
		vfs_vnode_attr(filp->vnode, &a);
		vfs_attr_to_fs(&a, &stat);
		reply.stat = &stat;
	}
	vfs_req_reply(call, status, status == 0 ? &reply : NULL, NULL, 0);
	vfs_filp_put(v, filp);
	vfs_proc_put(v, p);
}

/* The directory and name a new inode goes to; -EEXIST for "/", "." and "..". */
int vfs_new_name(vfs_req *req, const char *path, vfs_vnode **dir, char *name)
{
	bool trailing;
	int rc = vfs_path_parent(req, path, dir, name, &trailing);
	if (rc < 0)
		return rc;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		vfs_vnode_put(req->vfs, *dir);
		return -EEXIST;
	}
	vfs_vnode *old;
	rc = vfs_path_lookup(req, *dir, name, &old);
	if (rc == 0) {
		vfs_vnode_put(req->vfs, old);
		rc = -EEXIST;
	} else if (rc == -ENOENT) {
		rc = vfs_may(&req->cred, *dir, VFS_MAY_WRITE | VFS_MAY_EXEC);
	}
	if (rc < 0)
		vfs_vnode_put(req->vfs, *dir);
	return rc;
}

int do_mkdir(vfs_req *req)
{
	const Plexus__VfsPath *m = (const Plexus__VfsPath *)req->body;
	vfs_vnode *dir;
	char name[VFS_NAME_MAX + 1];
	int rc = vfs_new_name(req, m->path, &dir, name);
	if (rc < 0)
		return rc;
	bool sgid;
	uint32_t gid = s_new_gid(req, dir, &sgid);
	uint32_t mode = (m->mode & 07777 & ~s_umask(req)) | (sgid ? S_ISGID : 0);
	vfs_attr a;
	plx_fs *fs = vfs_fs(req->vfs, dir); /* the reference goes back to who gave it */
	rc = vfs_fs_errno(plx_fs_mkdir(fs, dir->ino, name, S_IFDIR | mode, req->cred.uid, gid, &a));
	if (rc == 0)
		plx_fs_putnode(fs, a.ino, 1);
	vfs_vnode_put(req->vfs, dir);
	return rc;
}

/* mknod and mkfifo: a special file, FIFO or socket (or a regular file, type 0). */
static int s_mknod(vfs_req *req, const char *path, uint32_t mode, uint64_t rdev)
{
	uint32_t type = mode & S_IFMT;
	if (type == 0)
		type = S_IFREG;
	if (type != S_IFREG && type != S_IFCHR && type != S_IFBLK && type != S_IFIFO &&
	    type != S_IFSOCK)
		return -EINVAL;
	if ((type == S_IFCHR || type == S_IFBLK) && req->cred.uid != 0)
		return -EPERM;
	vfs_vnode *dir;
	char name[VFS_NAME_MAX + 1];
	int rc = vfs_new_name(req, path, &dir, name);
	if (rc < 0)
		return rc;
	bool sgid;
	uint32_t gid = s_new_gid(req, dir, &sgid);
	uint32_t perm = mode & 07777 & ~s_umask(req);
	vfs_attr a;
	plx_fs *fs = vfs_fs(req->vfs, dir); /* the reference goes back to who gave it */
	if (type == S_IFREG)
		rc = plx_fs_create(fs, dir->ino, name, S_IFREG | perm, req->cred.uid, gid, &a);
	else
		rc = plx_fs_mknod(fs, dir->ino, name, type | perm,
		                  type == S_IFCHR || type == S_IFBLK ? rdev : 0, req->cred.uid, gid,
		                  &a);
	rc = vfs_fs_errno(rc);
	if (rc == 0)
		plx_fs_putnode(fs, a.ino, 1);
	vfs_vnode_put(req->vfs, dir);
	return rc;
}

int do_mknod(vfs_req *req)
{
	const Plexus__VfsPath *m = (const Plexus__VfsPath *)req->body;
	return s_mknod(req, m->path, m->mode, m->dev);
}

int do_mkfifo(vfs_req *req)
{
	const Plexus__VfsPath *m = (const Plexus__VfsPath *)req->body;
	return s_mknod(req, m->path, S_IFIFO | (m->mode & 07777), 0);
}
