/*
 * ops.c — the FUSE operations table of `plexus mount` (libfuse's inode-based low-level API):
 * each Linux call on the mount becomes the libplexus call of the same name on one client
 * session, and its errno goes back as is.
 *
 * Entry points: mount_ops.
 *
 * The kernel names files by node (nodes.c): a call on a name is sent by the path of its
 * directory's node and the name, a call on a node by the node's path, or through a file open
 * on it when its names are gone; paths of any length go through paths.c. Permissions are
 * Plexus's: VFS checks every call against the credentials its client registered with: the
 * calling user's own on a mount made by root (a session per user, sessions.c), else the
 * mounter's; the kernel's default_permissions is off (so what the kernel keeps for one user,
 * another may not see: mount_watch_entry_timeout, watch.c). A call on an open file goes to
 * the session that opened it. The handlers live in names.c (entries), attrs.c
 * (attributes), files.c (open files) and dirs.c (open directories); what they share in
 * calls.c.
 */
#include "mount.h"
#include "ops.h"

static const struct fuse_lowlevel_ops s_ops = {
    .lookup = mount_do_lookup,
    .forget = mount_do_forget,
    .forget_multi = mount_do_forget_multi,
    .getattr = mount_do_getattr,
    .setattr = mount_do_setattr,
    .readlink = mount_do_readlink,
    .mknod = mount_do_mknod,
    .mkdir = mount_do_mkdir,
    .unlink = mount_do_unlink,
    .rmdir = mount_do_rmdir,
    .symlink = mount_do_symlink,
    .rename = mount_do_rename,
    .link = mount_do_link,
    .open = mount_do_open,
    .read = mount_do_read,
    .write = mount_do_write,
    .flush = mount_do_flush,
    .release = mount_do_release,
    .fsync = mount_do_fsync,
    .opendir = mount_do_opendir,
    .readdir = mount_do_readdir,
    .releasedir = mount_do_releasedir,
    .fsyncdir = mount_do_fsyncdir,
    .statfs = mount_do_statfs,
    .access = mount_do_access,
    .create = mount_do_create,
};

const struct fuse_lowlevel_ops *mount_ops(void)
{
	return &s_ops;
}
