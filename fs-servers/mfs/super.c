/*
 * super.c — mounting and unmounting: FS_READSUPER reads and checks the superblock, FS_UNMOUNT
 * writes everything back and marks the file system clean.
 *
 * Entry points: do_readsuper, do_unmount, super_commit, super_write, super_restore,
 * super_release, super_orphans_reap, mfs_statvfs.
 *
 * The superblock's s_flags (offset 14; a pad util-linux leaves 0) carries MINIX's clean flag:
 * cleared while mounted read-write, set again by a clean unmount. fsck.minix ignores it for v3
 * (it always checks with -f); a mount of an image not cleanly unmounted says so in the log.
 *
 * A read-write mount of a file system without the clean flag frees the inodes that were
 * unlinked while open when it stopped (link count 0, still allocated): MINIX leaves those to
 * fsck. Not when a restarted instance remounts: VFS may still hold them.
 *
 * A mount replays the journal's committed transaction first, if there is one (journal.c);
 * an unmount commits the last transaction, with the clean flag, and empties the journal.
 *
 * What is mounted is saved in DS (the service's state, key "mount") so that an instance RS
 * restarts after a crash mounts the same device again before it answers anybody: VFS's
 * requests by inode number go on working.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <plexus/log.h>
#include <plexus/service.h>

#include "mfs.h"

#define S_STATE_KEY "mount"

void mfs_statvfs(mfs *fs, mfs_reply *out)
{
	plexus__fs_statvfs__init(&out->st);
	out->st.bsize = fs->bs;
	out->st.blocks = fs->sb.zones;
	out->st.bfree = fs->free_zones;
	out->st.files = fs->sb.ninodes;
	out->st.ffree = fs->free_inodes;
	out->st.namemax = MFS_NAME_MAX;
	out->st.read_only = fs->read_only;
	out->r.statvfs = &out->st;
}

int super_commit(mfs *fs)
{
	if (fs->read_only)
		return 0;
	int rc = inode_flush_all(fs);
	return rc < 0 ? rc : journal_commit(fs);
}

int super_write(mfs *fs, bool clean)
{
	if (fs->read_only)
		return 0;
	fs->sb.flags = clean ? fs->sb.flags | MFS_FLAG_CLEAN : fs->sb.flags & ~MFS_FLAG_CLEAN;
	int rc = 0;
	mfs_buf *b = cache_get(&fs->cache, MFS_SUPER_OFFSET / fs->bs, MFS_NORMAL, &rc);
	if (!b)
		return rc;
	mfs_super_encode(&fs->sb, b->data + MFS_SUPER_OFFSET % fs->bs);
	cache_put(&fs->cache, b, true);
	return 0;
}

/* Reads and checks the superblock into fs->sb. */
static int s_read_super(mfs *fs, const char *driver)
{
	mfs_dev *dev = &fs->dev;
	size_t len = 2 * MFS_SUPER_OFFSET;
	if (len % dev->sector)
		len = dev->sector;
	uint8_t *buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	int rc = dev->size < 2 * MFS_SUPER_OFFSET ? -EINVAL : dev_read(dev, 0, buf, len);
	char err[256] = "device smaller than a superblock";
	mfs_super sb;
	if (rc == 0) {
		mfs_super_decode(buf + MFS_SUPER_OFFSET, &sb);
		rc = mfs_super_check(&sb, dev->size, err, sizeof err);
	}
	free(buf);
	if (rc == 0 && sb.block_size % dev->sector) {
		snprintf(err, sizeof err, "block size %u is no multiple of the sector size %u",
		         sb.block_size, dev->sector);
		rc = -EINVAL;
	}
	if (rc == -EINVAL)
		plx_log(PLX_LOG_WARN, "%s minor %u: no MINIX v3 file system: %s", driver,
		        dev->minor, err);
	if (rc == 0)
		fs->sb = sb;
	return rc;
}

/* The inode numbers s_orphans collects. */
typedef struct s_found {
	uint32_t *list;
	size_t n, cap;
} s_found;

static int s_orphan_found(mfs *fs, uint32_t ino, const mfs_dinode *d, void *arg)
{
	(void)fs;
	s_found *f = arg;
	if (d->nlinks != 0)
		return 0;
	if (f->n == f->cap) {
		uint32_t *more =
		    realloc(f->list, (f->cap = f->cap ? 2 * f->cap : 64) * sizeof *more);
		if (!more)
			return -ENOMEM;
		f->list = more;
	}
	f->list[f->n++] = ino;
	return 0;
}

/* After an unclean stop: frees the inodes that were unlinked while held (link count 0, mode
 * set) — nobody holds them now. Returns how many, or an I/O error. */
static int s_orphans(mfs *fs)
{
	s_found f = {0};
	int rc = inode_scan(fs, s_orphan_found, &f);
	uint32_t *found = f.list;
	size_t n = f.n;
	if (fs->restoring && rc == 0) { /* VFS may still hold some: freed later unless named */
		free(fs->orphans);
		fs->orphans = found;
		fs->norphans = n;
		fs->orphans_due_ms = mfs_now_ms() + MFS_ORPHAN_GRACE_MS;
		return (int)n;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		mfs_inode *ip = inode_get(fs, found[i], &rc);
		if (ip)
			ip->keep = false; /* an orphan */
		inode_put(fs, ip);        /* held by nobody, no links: freed */
	}
	free(found);
	return rc < 0 ? rc : (int)n;
}

void super_orphans_reap(mfs *fs)
{
	if (!fs->norphans || mfs_now_ms() < fs->orphans_due_ms)
		return;
	int freed = 0, rc = 0;
	uint32_t *list = fs->orphans;
	size_t n = fs->norphans;
	fs->orphans = NULL;
	fs->norphans = 0;
	for (size_t i = 0; i < n; i++) {
		mfs_inode *ip = list[i] ? inode_get(fs, list[i], &rc) : NULL;
		if (ip && ip->d.nlinks == 0 && ip->refs == 0)
			freed++;
		if (ip)
			ip->keep = false; /* an orphan */
		inode_put(fs, ip);        /* no links, nobody named it: freed */
	}
	free(list);
	if (freed)
		plx_log(PLX_LOG_INFO, "freed %d inodes left unlinked by the crashed instance",
		        freed);
}

/* The mount after the device is open: cache, counts, root, clean flag. */
static int s_mount(mfs *fs, const char *driver, mfs_reply *out)
{
	int rc = s_read_super(fs, driver);
	if (rc < 0)
		return rc;
	fs->bs = fs->sb.block_size;
	fs->nr_ind = fs->bs / 4;
	rc = journal_mount(fs, driver);
	if (rc == 1) /* the transaction may have changed the superblock */
		rc = s_read_super(fs, driver);
	if (rc == 0)
		rc = cache_init(&fs->cache, &fs->dev, fs->bs, fs->cache_bytes);
	if (rc < 0) {
		journal_unmount(fs);
		return rc;
	}
	fs->cache.ordered = fs->jnl.blocks > 0;
	rc = bitmap_count(fs);
	if (rc == 0)
		rc = verify_mount(fs, driver); /* before orphans free zones through the map */
	mfs_inode *root = rc < 0 ? NULL : inode_get(fs, MFS_ROOT_INO, &rc);
	if (root && !S_ISDIR(root->d.mode)) {
		plx_log(PLX_LOG_WARN, "%s minor %u: the root inode is no directory", driver,
		        fs->dev.minor);
		rc = -EINVAL;
	}
	if (rc == 0 && !fs->read_only && !(fs->sb.flags & MFS_FLAG_CLEAN)) {
		int freed = s_orphans(fs);
		if (freed > 0)
			plx_log(PLX_LOG_INFO, "%s minor %u: freed %d inodes unlinked while open",
			        driver, fs->dev.minor, freed);
		rc = freed < 0 ? freed : 0;
	}
	if (rc == 0 && !fs->read_only) {
		if (!(fs->sb.flags & MFS_FLAG_CLEAN))
			plx_log(PLX_LOG_WARN,
			        "%s minor %u has no clean flag (new from mkfs.minix, or "
			        "not cleanly unmounted: fsck.minix -f checks it)",
			        driver, fs->dev.minor);
		rc = super_write(fs, false);
		if (rc == 0)
			rc = super_commit(fs);
	}
	if (rc < 0) {
		if (root)
			root->users = 0;
		inode_drop_all(fs);
		cache_fini(&fs->cache);
		journal_unmount(fs);
		verify_unmount(fs);
		return rc;
	}
	root->refs++;
	mfs_reply_attr(fs, out, root);
	inode_put(fs, root);
	return 0;
}

/* Saves the mount for a restarted instance: "driver minor read_only dev mounter generation"
 * (mounter "-" when unknown). */
static void s_save(mfs *fs, const Plexus__FsReadsuper *rs)
{
	char text[2 * PLX_LABEL_MAX + 64];
	int n =
	    snprintf(text, sizeof text, "%s %u %d %u %s %llu", rs->driver, rs->minor,
	             rs->read_only ? 1 : 0, rs->dev, fs->mounter.label[0] ? fs->mounter.label : "-",
	             (unsigned long long)fs->mounter.generation);
	int rc = fs->svc ? plx_service_state_save(fs->svc, S_STATE_KEY, text, (size_t)n) : 0;
	if (rc < 0)
		plx_log(PLX_LOG_WARN, "saving the mount in DS: %s", plx_strerror(rc));
}

int do_readsuper(mfs *fs, const plx_msg *msg, const ProtobufCMessage *body, mfs_reply *out)
{
	(void)msg;
	const Plexus__FsReadsuper *rs = (const Plexus__FsReadsuper *)body;
	if (fs->mounted)
		return -EBUSY;
	if (!rs->driver || !*rs->driver)
		return -EINVAL;
	fs->read_only = rs->read_only;
	fs->devno = rs->dev;
	int rc = dev_open(&fs->dev, rs->driver, rs->minor, rs->read_only);
	if (rc < 0) {
		plx_log(PLX_LOG_WARN, "opening %s minor %u: %s", rs->driver, rs->minor,
		        plx_strerror(rc));
		return rc;
	}
	rc = s_mount(fs, rs->driver, out);
	if (rc < 0) {
		dev_close(&fs->dev);
		return rc;
	}
	fs->mounted = true;
	fs->last_sync_ms = mfs_now_ms();
	if (msg) /* a restart's own remount keeps the mounter super_restore found */
		fs->mounter = msg->source;
	s_save(fs, rs);
	mfs_statvfs(fs, out);
	plx_log(PLX_LOG_INFO,
	        "mounted %s minor %u%s: %u-byte blocks, %u zones (%llu free), %u "
	        "inodes (%llu free)",
	        rs->driver, rs->minor, fs->read_only ? " read-only" : "", fs->bs, fs->sb.zones,
	        (unsigned long long)fs->free_zones, fs->sb.ninodes,
	        (unsigned long long)fs->free_inodes);
	return 0;
}

/* True when msg comes from a later generation of the VFS that mounted: that instance is gone
 * (generations only grow), and so are the references it held. */
static bool s_from_successor(const mfs *fs, const plx_msg *msg)
{
	return msg && fs->mounter.label[0] && strcmp(msg->source.label, fs->mounter.label) == 0 &&
	       msg->source.generation > fs->mounter.generation;
}

void super_release(mfs *fs)
{
	inode_drop_all(fs);
	cache_fini(&fs->cache);
	journal_unmount(fs);
	verify_unmount(fs);
	dev_close(&fs->dev);
	fs->mounted = false;
}

int do_unmount(mfs *fs, const plx_msg *msg, const ProtobufCMessage *body, mfs_reply *out)
{
	(void)body, (void)out;
	int rc = mfs_check(fs, false);
	if (rc < 0)
		return rc;
	if (inode_busy(fs) && s_from_successor(fs, msg)) {
		plx_log(PLX_LOG_INFO,
		        "%s generation %llu takes over from generation %llu: its "
		        "references are given up",
		        msg->source.label, (unsigned long long)msg->source.generation,
		        (unsigned long long)fs->mounter.generation);
		inode_release_refs(fs);
	}
	if (inode_busy(fs))
		return -EBUSY;
	fs->orphans_due_ms = 0; /* nobody holds anything now */
	super_orphans_reap(fs);
	rc = super_write(fs, true);
	if (rc == 0)
		rc = super_commit(fs);
	if (rc == 0)
		rc = journal_quiesce(fs);
	if (rc < 0) {
		super_write(fs, false);
		return rc;
	}
	super_release(fs);
	fs->adopted = false;
	if (fs->svc)
		plx_service_state_drop(fs->svc, S_STATE_KEY);
	plx_log(PLX_LOG_INFO, "unmounted %s minor %u", fs->dev.label, fs->dev.minor);
	return 0;
}

int super_restore(mfs *fs, bool restarted)
{
	if (!restarted) {
		plx_service_state_drop(fs->svc, S_STATE_KEY);
		return 0;
	}
	char text[2 * PLX_LABEL_MAX + 64], driver[PLX_LABEL_MAX], mounter[PLX_LABEL_MAX] = "-";
	size_t size = sizeof text - 1;
	if (plx_service_state_restore(fs->svc, S_STATE_KEY, text, &size) < 0)
		return 0; /* nothing was mounted */
	text[size] = '\0';
	unsigned minor, dev;
	unsigned long long gen = 0;
	int ro;
	if (sscanf(text, "%63s %u %d %u %63s %llu", driver, &minor, &ro, &dev, mounter, &gen) < 4) {
		plx_log(PLX_LOG_WARN, "the saved mount '%s' does not parse", text);
		return -EINVAL;
	}
	memset(&fs->mounter, 0, sizeof fs->mounter);
	if (strcmp(mounter, "-") != 0) { /* its successor may take the file system over */
		snprintf(fs->mounter.label, sizeof fs->mounter.label, "%s", mounter);
		fs->mounter.generation = gen;
	}
	Plexus__FsReadsuper rs = PLEXUS__FS_READSUPER__INIT;
	rs.driver = driver;
	rs.minor = minor;
	rs.read_only = ro != 0;
	rs.dev = dev;
	mfs_reply out;
	memset(&out, 0, sizeof out);
	fs->restoring = true;
	int rc = do_readsuper(fs, NULL, &rs.base, &out);
	fs->restoring = false;
	plx_log(PLX_LOG_INFO, "restart: mounting %s minor %u again: %s", driver, minor,
	        rc == 0 ? "done" : plx_strerror(rc));
	if (rc == 0)
		fs->adopted = true;
	return rc;
}
