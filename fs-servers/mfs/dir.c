/*
 * dir.c — directories: 64-byte entries (4-byte inode number, 60-byte name), "." and ".."
 * first; a free slot has inode number 0 and is reused before the directory grows.
 *
 * Entry points: dir_name_ok, dir_lookup, dir_enter, dir_remove, dir_set, dir_empty,
 * do_getdents, dir_named_ok.
 *
 * FS_GETDENTS's cookie is the byte offset of the next entry in the directory; each entry says
 * where the one after it starts (FsDirent.next).
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <plexus/log.h>

#include "mfs.h"

#define S_DENTS_MAX 1024 /* entries per FS_GETDENTS reply */

/* Called for each entry (in use or not) at byte pos. Returns 0 to go on, 1 to stop, or an
 * error; sets *dirty when it changed the entry. */
typedef int s_visit_fn(mfs *fs, uint8_t *ent, uint64_t pos, void *arg, bool *dirty);

/* Visits dp's entries from byte from on. Returns what the last visit returned (0 at the end). */
static int s_scan(mfs *fs, mfs_inode *dp, uint64_t from, s_visit_fn *fn, void *arg)
{
	uint64_t size = dp->d.size, bs = fs->bs;
	from -= from % MFS_DIRENT_SIZE;
	for (uint64_t blk = from / bs; blk * bs < size; blk++) {
		int64_t z = zone_map(fs, dp, blk, false, NULL);
		if (z < 0)
			return (int)z;
		if (z == 0) { /* a hole: skip what the missing pointer would have covered */
			blk += zone_hole(fs, dp, blk) - 1;
			continue;
		}
		if (blk % 32 == 0 || blk == from / bs) { /* read ahead the next blocks in one go */
			uint64_t list[32];
			size_t n = 0;
			for (uint64_t k = blk; k < blk + 32 && k * bs < size; k++) {
				int64_t zk = zone_map(fs, dp, k, false, NULL);
				list[n++] = zk > 0 ? (uint64_t)zk : 0;
			}
			cache_prefetch(&fs->cache, list, n);
		}
		int rc = 0;
		mfs_buf *b = cache_get(&fs->cache, (uint64_t)z, MFS_NORMAL, &rc);
		if (!b)
			return rc;
		bool dirty = false;
		uint64_t start = blk * bs < from ? from - blk * bs : 0;
		for (uint64_t off = start; off < bs && blk * bs + off < size && rc == 0;
		     off += MFS_DIRENT_SIZE)
			rc = fn(fs, b->data + off, blk * bs + off, arg, &dirty);
		cache_put(&fs->cache, b, dirty);
		if (rc)
			return rc;
	}
	return 0;
}

int dir_name_ok(const char *name)
{
	if (!name || !*name || strchr(name, '/'))
		return -EINVAL;
	if (strlen(name) > MFS_NAME_MAX)
		return -ENAMETOOLONG;
	return 0;
}

typedef struct s_find {
	const char *name;
	uint32_t ino; /* found */
	uint32_t set; /* dir_set: the new number; dir_remove: 0 */
	bool change;
	uint64_t free_pos; /* a free slot seen, or UINT64_MAX */
} s_find;

static int s_match(mfs *fs, uint8_t *ent, uint64_t pos, void *arg, bool *dirty)
{
	(void)fs;
	s_find *f = arg;
	uint32_t ino = mfs_dirent_ino(ent);
	if (ino == 0) {
		if (f->free_pos == UINT64_MAX)
			f->free_pos = pos;
		return 0;
	}
	char name[MFS_NAME_MAX + 1];
	mfs_dirent_name(ent, name);
	if (strcmp(name, f->name) != 0)
		return 0;
	f->ino = ino;
	if (f->change) {
		if (f->set)
			for (int k = 0; k < 4; k++)
				ent[k] = (uint8_t)(f->set >> (8 * k));
		else
			memset(ent, 0, MFS_DIRENT_SIZE);
		*dirty = true;
	}
	return 1;
}

/* Finds name; with change, points it at set (0: removes it). */
static int s_find_name(mfs *fs, mfs_inode *dp, const char *name, bool change, uint32_t set,
                       uint32_t *ino, uint64_t *free_pos)
{
	if (!S_ISDIR(dp->d.mode))
		return -ENOTDIR;
	int rc = dir_name_ok(name);
	if (rc < 0)
		return rc;
	s_find f = {.name = name, .set = set, .change = change, .free_pos = UINT64_MAX};
	rc = s_scan(fs, dp, 0, s_match, &f);
	if (free_pos)
		*free_pos = f.free_pos;
	if (rc < 0)
		return rc;
	if (rc == 0)
		return -ENOENT;
	if (f.ino > fs->sb.ninodes)
		return -EIO;
	if (ino)
		*ino = f.ino;
	return 0;
}

int dir_lookup(mfs *fs, mfs_inode *dp, const char *name, uint32_t *ino)
{
	return s_find_name(fs, dp, name, false, 0, ino, NULL);
}

int dir_set(mfs *fs, mfs_inode *dp, const char *name, uint32_t ino)
{
	int rc = s_find_name(fs, dp, name, true, ino, NULL, NULL);
	if (rc == 0)
		inode_touch(dp, "mc");
	return rc;
}

int dir_remove(mfs *fs, mfs_inode *dp, const char *name)
{
	int rc = s_find_name(fs, dp, name, true, 0, NULL, NULL);
	if (rc == 0)
		inode_touch(dp, "mc");
	return rc;
}

int dir_enter(mfs *fs, mfs_inode *dp, const char *name, uint32_t ino)
{
	uint64_t pos = UINT64_MAX;
	int rc = s_find_name(fs, dp, name, false, 0, NULL, &pos);
	if (rc == 0)
		return -EEXIST;
	if (rc != -ENOENT)
		return rc;
	bool grow = pos == UINT64_MAX;
	if (grow) { /* at the end, on an entry's boundary even when a damaged size is not */
		pos =
		    dp->d.size + (MFS_DIRENT_SIZE - dp->d.size % MFS_DIRENT_SIZE) % MFS_DIRENT_SIZE;
		if (pos + MFS_DIRENT_SIZE > fs->sb.max_size)
			return -EFBIG;
	}
	bool fresh = false;
	int64_t z = zone_map(fs, dp, pos / fs->bs, true, &fresh);
	if (z < 0)
		return (int)z;
	mfs_buf *b = cache_get(&fs->cache, (uint64_t)z, fresh ? MFS_NO_READ : MFS_NORMAL, &rc);
	if (!b)
		return rc;
	mfs_dirent_set(b->data + pos % fs->bs, ino, name);
	cache_put(&fs->cache, b, true);
	if (grow)
		dp->d.size = (uint32_t)(pos + MFS_DIRENT_SIZE);
	inode_touch(dp, "mc");
	return 0;
}

static int s_nonempty(mfs *fs, uint8_t *ent, uint64_t pos, void *arg, bool *dirty)
{
	(void)fs, (void)pos, (void)arg, (void)dirty;
	if (mfs_dirent_ino(ent) == 0)
		return 0;
	char name[MFS_NAME_MAX + 1];
	mfs_dirent_name(ent, name);
	return strcmp(name, ".") && strcmp(name, "..") ? 1 : 0;
}

int dir_empty(mfs *fs, mfs_inode *dp)
{
	int rc = s_scan(fs, dp, 0, s_nonempty, NULL);
	return rc == 1 ? -ENOTEMPTY : rc;
}

/* ---- FS_GETDENTS ---- */

typedef struct s_dents {
	mfs_reply *out;
	size_t n, max;   /* entries taken, and room for */
	uint64_t budget; /* bytes of names left */
	uint64_t end;    /* where the last entry taken ends */
} s_dents;

static uint32_t s_dtype(mfs *fs, uint32_t ino)
{
	int rc = 0;
	mfs_inode *ip = inode_get(fs, ino, &rc);
	if (!ip)
		return DT_UNKNOWN;
	uint32_t t;
	switch (ip->d.mode & S_IFMT) {
	case S_IFREG:
		t = DT_REG;
		break;
	case S_IFDIR:
		t = DT_DIR;
		break;
	case S_IFLNK:
		t = DT_LNK;
		break;
	case S_IFCHR:
		t = DT_CHR;
		break;
	case S_IFBLK:
		t = DT_BLK;
		break;
	case S_IFIFO:
		t = DT_FIFO;
		break;
	case S_IFSOCK:
		t = DT_SOCK;
		break;
	default:
		t = DT_UNKNOWN;
	}
	inode_put(fs, ip);
	return t;
}

static int s_dent(mfs *fs, uint8_t *ent, uint64_t pos, void *arg, bool *dirty)
{
	(void)dirty;
	s_dents *d = arg;
	uint32_t ino = mfs_dirent_ino(ent);
	if (ino == 0 || ino > fs->sb.ninodes) { /* free, or a number no inode has: skipped */
		d->end = pos + MFS_DIRENT_SIZE;
		return 0;
	}
	char *name = d->out->names + d->n * (MFS_NAME_MAX + 1);
	size_t len = mfs_dirent_name(ent, name);
	if (len == 0 || d->n == d->max || (d->n && len > d->budget))
		return 1;
	d->budget = len > d->budget ? 0 : d->budget - len;
	Plexus__FsDirent *e = &d->out->ents[d->n];
	plexus__fs_dirent__init(e);
	e->ino = ino;
	e->name = name;
	e->type = s_dtype(fs, ino);
	e->next = pos + MFS_DIRENT_SIZE;
	d->out->ptrs[d->n++] = e;
	d->end = pos + MFS_DIRENT_SIZE;
	return 0;
}

/* The entries one FS_GETDENTS reply can hold: at most S_DENTS_MAX, one per slot left in the
 * directory, and (every name taking a byte of the budget at least) budget + 1. */
static size_t s_dents_room(const mfs_inode *dp, uint64_t pos, uint64_t budget)
{
	uint64_t slots = pos < dp->d.size ? (dp->d.size - pos) / MFS_DIRENT_SIZE + 1 : 1;
	uint64_t max = S_DENTS_MAX;
	if (slots < max)
		max = slots;
	if (budget + 1 < max)
		max = budget + 1;
	return (size_t)max;
}

int do_getdents(mfs *fs, const plx_msg *msg, const ProtobufCMessage *body, mfs_reply *out)
{
	(void)msg;
	const Plexus__FsIo *io = (const Plexus__FsIo *)body;
	int rc = mfs_check(fs, false);
	mfs_inode *dp = rc < 0 ? NULL : inode_get(fs, io->ino, &rc);
	if (!dp)
		return rc;
	rc = S_ISDIR(dp->d.mode) ? 0 : -ENOTDIR;
	s_dents d = {.out = out, .budget = io->size ? io->size : 1, .end = io->position};
	d.max = s_dents_room(dp, io->position, d.budget);
	out->ents = calloc(d.max, sizeof *out->ents);
	out->ptrs = calloc(d.max, sizeof *out->ptrs);
	out->names = malloc(d.max * (MFS_NAME_MAX + 1));
	if (rc == 0 && (!out->ents || !out->ptrs || !out->names))
		rc = -ENOMEM;
	if (rc == 0 && io->position < dp->d.size) {
		rc = s_scan(fs, dp, io->position, s_dent, &d);
		if (rc == 1)
			rc = 0;
	}
	if (rc == 0) {
		out->r.n_dirents = d.n;
		out->r.dirents = out->ptrs;
		out->r.eof = d.end >= dp->d.size || io->position >= dp->d.size;
		if (!fs->read_only)
			inode_touch(dp, "a");
	}
	inode_put(fs, dp);
	return rc;
}

int do_lookup(mfs *fs, const plx_msg *msg, const ProtobufCMessage *body, mfs_reply *out)
{
	(void)msg;
	const Plexus__FsName *n = (const Plexus__FsName *)body;
	int rc = mfs_check(fs, false);
	if (rc == 0 && n->name && strlen(n->name) > 255)
		rc = -ENAMETOOLONG;
	mfs_inode *dp = rc < 0 ? NULL : inode_get(fs, n->dir, &rc);
	if (!dp)
		return rc;
	uint32_t ino = 0;
	if (strcmp(n->name, ".") != 0)
		rc = dir_lookup(fs, dp, n->name, &ino);
	else if (S_ISDIR(dp->d.mode))
		ino = dp->ino;
	else
		rc = -ENOTDIR;
	mfs_inode *ip = rc < 0 ? NULL : inode_get(fs, ino, &rc);
	if (ip && (rc = dir_named_ok(fs, dp, n->name, ip)) < 0) {
		inode_put(fs, ip);
		ip = NULL;
	}
	if (ip) {
		ip->refs++;
		mfs_reply_attr(fs, out, ip);
	} else if (rc == -ENOENT && ino) {
		rc = -EIO; /* an entry naming a free inode */
	}
	inode_put(fs, ip);
	inode_put(fs, dp);
	return rc;
}

int dir_named_ok(mfs *fs, mfs_inode *dp, const char *name, mfs_inode *ip)
{
	uint32_t parent = 0;
	if (ip->d.nlinks == 0 && ip != dp) {
		plx_log(PLX_LOG_WARN,
		        "minor %u: inode %u is named \"%s\" in directory %u but has no "
		        "links: EIO; fsck.minix repairs the count",
		        fs->dev.minor, ip->ino, name, dp->ino);
		return -EIO;
	}
	if (!S_ISDIR(ip->d.mode) || strcmp(name, "..") == 0 || strcmp(name, ".") == 0)
		return 0;
	int rc = dir_lookup(fs, ip, "..", &parent);
	if (rc == 0 && parent == dp->ino)
		return 0;
	plx_log(PLX_LOG_WARN,
	        "minor %u: directory inode %u is named \"%s\" in directory %u but "
	        "its .. is %u (a second name or a cycle): EIO",
	        fs->dev.minor, ip->ino, name, dp->ino, parent);
	return -EIO;
}
