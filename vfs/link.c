/*
 * link.c — names: unlink, rmdir, rename, link, symlink, readlink.
 *
 * Entry points: do_unlink, do_rmdir, do_rename, do_link, do_symlink, do_readlink.
 *
 * The POSIX error cases are VFS's: -EXDEV across mounts, -EBUSY for a mount point (or "/"),
 * -EISDIR/-ENOTDIR for the wrong type, -EINVAL for "." or renaming a directory under itself,
 * and the sticky-bit rule (in a directory with S_ISVTX only root, the directory's owner or the
 * file's owner may remove or rename the file: -EPERM). -ENOTEMPTY comes from the file server.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vfs.h"

static uint32_t s_type(vfs_vnode *vn)
{
	vfs_attr a;
	vfs_vnode_attr(vn, &a);
	return a.mode & S_IFMT;
}

static bool s_all_slashes(const char *path)
{
	return path[0] == '/' && path[strspn(path, "/")] == '\0';
}

/* After vn lost a name: its link count as the removal's answer gave it (after, an attribute
 * set of vn's inode number), else asked afresh (0 frees it at its last put). A file server
 * that cannot say is taken to have removed the last link: a wrong guess costs only a lookup.
 * Without links it stays so (vfs_vnode_unlinked): an inode never gets a name back, and neither
 * an answer (a lookup's, a write's) that left the file server before the unlink nor a put that
 * read the link count before it may park it on the unused list, where its blocks would stay
 * claimed until it is evicted. */
static void s_unlinked(vfs *v, vfs_vnode *vn, const vfs_attr *after)
{
	if (!vn)
		return;
	vfs_attr a = after ? *after : (vfs_attr){0};
	int rc = a.ino == vn->ino ? 0 : vfs_fs_errno(plx_fs_stat(vfs_fs(v, vn), vn->ino, &a));
	if (rc == 0)
		vfs_vnode_attr_set(vn, &a);
	if (rc < 0 || a.nlink == 0)
		vfs_vnode_unlinked(v, vn);
	vfs_watch_changed(v, vn, NULL); /* its link count */
}

/* The sticky-bit rule for removing vn from dir. */
static int s_sticky(vfs_req *req, vfs_vnode *dir, vfs_vnode *vn)
{
	vfs_attr d, a;
	vfs_vnode_attr(dir, &d);
	vfs_vnode_attr(vn, &a);
	if (!(d.mode & S_ISVTX) || req->cred.uid == 0 || req->cred.uid == d.uid ||
	    req->cred.uid == a.uid)
		return 0;
	return -EPERM;
}

/* The directory and existing entry a removal works on: *dir and *vn (one reference each; vn is
 * the entry itself, no mount crossed). */
static int s_victim(vfs_req *req, const char *path, vfs_vnode **dir, vfs_vnode **vn, char *name,
                    bool *trailing)
{
	int rc = vfs_path_parent(req, path, dir, name, trailing);
	if (rc < 0)
		return rc;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		*vn = NULL;
		return 0; /* the caller decides what that is */
	}
	rc = vfs_may(&req->cred, *dir, VFS_MAY_WRITE | VFS_MAY_EXEC);
	if (rc == 0)
		rc = vfs_fs_lookup(req->vfs, *dir, name, vn);
	if (rc == 0 && (rc = s_sticky(req, *dir, *vn)) < 0)
		vfs_vnode_put(req->vfs, *vn);
	if (rc < 0)
		vfs_vnode_put(req->vfs, *dir);
	return rc;
}

int do_unlink(vfs_req *req)
{
	const Plexus__VfsPath *m = (const Plexus__VfsPath *)req->body;
	vfs_vnode *dir, *vn;
	vfs_attr after = {0};
	char name[VFS_NAME_MAX + 1];
	bool trailing;
	int rc = s_victim(req, m->path, &dir, &vn, name, &trailing);
	if (rc < 0)
		return rc;
	if (!vn)
		rc = -EISDIR;
	else if (s_type(vn) == S_IFDIR)
		rc = -EISDIR;
	else if (trailing)
		rc = -ENOTDIR;
	else
		rc = vfs_fs_errno(plx_fs_unlink(vfs_fs(req->vfs, dir), dir->ino, name, &after));
	if (rc == 0) {
		vfs_dcache_drop(req->vfs, dir, name);
		s_unlinked(req->vfs, vn, &after);
	}
	vfs_vnode_put(req->vfs, vn);
	vfs_vnode_put(req->vfs, dir);
	return rc;
}

int do_rmdir(vfs_req *req)
{
	const Plexus__VfsPath *m = (const Plexus__VfsPath *)req->body;
	if (s_all_slashes(m->path))
		return -EBUSY;
	vfs_vnode *dir, *vn;
	vfs_attr after = {0};
	char name[VFS_NAME_MAX + 1];
	bool trailing;
	int rc = s_victim(req, m->path, &dir, &vn, name, &trailing);
	if (rc < 0)
		return rc;
	if (!vn)
		rc = strcmp(name, ".") == 0 ? -EINVAL : -ENOTEMPTY;
	else if (s_type(vn) != S_IFDIR)
		rc = -ENOTDIR;
	else if (vn->mounted)
		rc = -EBUSY;
	else
		rc = vfs_fs_errno(plx_fs_rmdir(vfs_fs(req->vfs, dir), dir->ino, name, &after));
	if (rc == 0) {
		vfs_dcache_drop(req->vfs, dir, name);
		s_unlinked(req->vfs, vn, &after);
	}
	vfs_vnode_put(req->vfs, vn);
	vfs_vnode_put(req->vfs, dir);
	return rc;
}

/* -EINVAL when dir is vn or lies below it (renaming vn into itself). */
static int s_not_below(vfs_req *req, vfs_vnode *dir, vfs_vnode *vn)
{
	vfs *v = req->vfs;
	vfs_vnode *cur = dir;
	vfs_vnode_hold(v, cur);
	int rc = 0;
	for (int depth = 0; depth < 4096; depth++) {
		if (cur == vn) {
			rc = -EINVAL;
			break;
		}
		if (cur == cur->mount->root)
			break;
		vfs_vnode *up;
		if ((rc = vfs_fs_lookup(v, cur, "..", &up)) < 0)
			break;
		bool top = up == cur;
		vfs_vnode_put(v, cur);
		cur = up;
		if (top)
			break;
	}
	vfs_vnode_put(v, cur);
	return rc;
}

/* The checks on an existing target nvn of a rename of ovn. */
static int s_rename_target(vfs_req *req, vfs_vnode *ndir, vfs_vnode *ovn, vfs_vnode *nvn)
{
	if (nvn->mounted)
		return -EBUSY;
	bool odir = s_type(ovn) == S_IFDIR, ndir_ = s_type(nvn) == S_IFDIR;
	if (odir && !ndir_)
		return -ENOTDIR;
	if (!odir && ndir_)
		return -EISDIR;
	return s_sticky(req, ndir, nvn);
}

typedef struct s_rename {
	vfs_vnode *odir, *ndir, *ovn, *nvn;
	char oname[VFS_NAME_MAX + 1], nname[VFS_NAME_MAX + 1];
	bool otrail, ntrail;
} s_rename;

static int s_rename_check(vfs_req *req, s_rename *r)
{
	if (r->odir->mount != r->ndir->mount)
		return -EXDEV;
	if (!r->ovn || strcmp(r->nname, ".") == 0 || strcmp(r->nname, "..") == 0)
		return -EINVAL;
	int rc = vfs_may(&req->cred, r->ndir, VFS_MAY_WRITE | VFS_MAY_EXEC);
	if (rc < 0)
		return rc;
	if (r->ovn->mounted)
		return -EBUSY;
	bool isdir = s_type(r->ovn) == S_IFDIR;
	if (!isdir && (r->otrail || r->ntrail))
		return -ENOTDIR;
	rc = vfs_fs_lookup(req->vfs, r->ndir, r->nname, &r->nvn);
	if (rc == -ENOENT)
		rc = 0;
	else if (rc == 0 && r->nvn == r->ovn)
		return 1; /* the same file: nothing to do */
	else if (rc == 0)
		rc = s_rename_target(req, r->ndir, r->ovn, r->nvn);
	if (rc == 0 && isdir && r->odir != r->ndir)
		rc = vfs_may(&req->cred, r->ovn, VFS_MAY_WRITE);
	if (rc == 0 && isdir)
		rc = s_not_below(req, r->ndir, r->ovn);
	return rc;
}

int do_rename(vfs_req *req)
{
	const Plexus__VfsPath *m = (const Plexus__VfsPath *)req->body;
	if (s_all_slashes(m->path) || s_all_slashes(m->path2))
		return -EBUSY;
	s_rename r = {0};
	int rc = s_victim(req, m->path, &r.odir, &r.ovn, r.oname, &r.otrail);
	if (rc < 0)
		return rc;
	req->at_cur = 1; /* path2 starts where renameat's newdirfd says */
	rc = vfs_path_parent(req, m->path2, &r.ndir, r.nname, &r.ntrail);
	req->at_cur = 0;
	if (rc == 0) {
		rc = s_rename_check(req, &r);
		plx_fs *fs = rc == 0 ? vfs_fs_pair(req->vfs, r.odir, r.ndir) : NULL;
		vfs_attr replaced = {0};
		if (rc == 0)
			rc = fs ? vfs_fs_errno(plx_fs_rename(fs, r.odir->ino, r.oname, r.ndir->ino,
			                                     r.nname, &replaced))
			        : -EIO;
		if (rc == 0) {
			vfs_dcache_drop(req->vfs, r.odir, r.oname);
			vfs_dcache_drop(req->vfs, r.ndir, r.nname);
			s_unlinked(req->vfs, r.nvn, &replaced); /* the file the new name replaced */
		}
		if (rc == 1)
			rc = 0;
		vfs_vnode_put(req->vfs, r.ndir);
	}
	vfs_vnode_put(req->vfs, r.nvn);
	vfs_vnode_put(req->vfs, r.ovn);
	vfs_vnode_put(req->vfs, r.odir);
	return rc;
}

int do_link(vfs_req *req)
{
	const Plexus__VfsPath *m = (const Plexus__VfsPath *)req->body;
	vfs_vnode *ovn, *dir;
	char name[VFS_NAME_MAX + 1];
	bool follow = m->flags & PLEXUS__VFS_FLAG__VFS_FOLLOW; /* linkat's AT_SYMLINK_FOLLOW */
	int rc = vfs_path_resolve(req, m->path, follow ? 0 : VFS_PATH_NOFOLLOW, &ovn);
	if (rc < 0)
		return rc;
	if (s_type(ovn) == S_IFDIR) {
		vfs_vnode_put(req->vfs, ovn);
		return -EPERM;
	}
	req->at_cur = 1; /* path2 starts where linkat's newdirfd says */
	rc = vfs_new_name(req, m->path2, &dir, name);
	req->at_cur = 0;
	if (rc == 0) {
		plx_fs *fs = dir->mount == ovn->mount ? vfs_fs_pair(req->vfs, dir, ovn) : NULL;
		if (dir->mount != ovn->mount)
			rc = -EXDEV;
		else
			rc = fs ? vfs_fs_errno(plx_fs_link(fs, dir->ino, name, ovn->ino)) : -EIO;
		if (rc == 0)
			vfs_fs_refresh(req->vfs, ovn);
		vfs_vnode_put(req->vfs, dir);
	}
	vfs_vnode_put(req->vfs, ovn);
	return rc;
}

int do_symlink(vfs_req *req)
{
	const Plexus__VfsPath *m = (const Plexus__VfsPath *)req->body;
	if (!m->path2 || !*m->path2)
		return -ENOENT;
	if (strlen(m->path2) >= VFS_PATH_MAX)
		return -ENAMETOOLONG;
	vfs_vnode *dir;
	char name[VFS_NAME_MAX + 1];
	int rc = vfs_new_name(req, m->path, &dir, name);
	if (rc < 0)
		return rc;
	vfs_attr a;
	plx_fs *fs = vfs_fs(req->vfs, dir); /* the reference goes back to who gave it */
	rc = vfs_fs_errno(
	    plx_fs_slink(fs, dir->ino, name, m->path2, req->cred.uid, req->cred.gid, &a));
	if (rc == 0)
		plx_fs_putnode(fs, a.ino, 1);
	vfs_vnode_put(req->vfs, dir);
	return rc;
}

int do_readlink(vfs_req *req)
{
	const Plexus__VfsPath *m = (const Plexus__VfsPath *)req->body;
	vfs_vnode *vn;
	int rc = vfs_path_resolve(req, m->path, VFS_PATH_NOFOLLOW, &vn);
	if (rc < 0)
		return rc;
	char *buf = s_type(vn) == S_IFLNK ? malloc(VFS_PATH_MAX) : NULL;
	if (s_type(vn) != S_IFLNK)
		rc = -EINVAL;
	else if (!buf)
		rc = -ENOMEM;
	else
		rc = vfs_fs_errno(
		    (int)plx_fs_rdlink(vfs_fs(req->vfs, vn), vn->ino, buf, VFS_PATH_MAX));
	vfs_vnode_put(req->vfs, vn);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	req->reply.text = buf;
	req->reply.value = rc;
	req->cleanup = vfs_req_free_text;
	return 0;
}
