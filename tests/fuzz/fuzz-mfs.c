/*
 * fuzz-mfs.c — libFuzzer harness for plexus-mfs's reading of an untrusted image: the mount
 * (superblock, journal replay, bitmaps, the scan of every inode of verify.c, orphans), the
 * requests that walk and change it, and the unmount, all run in process over a RAM disk
 * (mfsrun.h, ramdev.h) by the server's own code, table and handlers.
 *
 * Entry point: LLVMFuzzerTestOneInput.
 *
 * Input:
 *   byte 0     flags: 1 mount read-only; 2 reseal the journal (its header's seal and its
 *              transaction's sum made right, so that a changed journal is replayed rather than
 *              refused); 4 mount again after the unmount; 8 no walk
 *   bytes 1-2  the image's length in 512-byte sectors, little-endian (0: the rest)
 *   the image
 *   then requests, until the input ends: an op byte (bits 0-4: the index of the type in the
 *   server's table; bit 5: from VFS generation 2, a successor of the mounting one; bit 6: with
 *   a data frame), a length byte and that many bytes of packed body, and with bit 6 a byte k:
 *   a data frame of 64 * k bytes, or for k = 255 of the size the body asks for (at most 64 KiB).
 *
 * After a successful mount the harness walks the tree (getdents, lookup, stat, read, rdlink,
 * putnode; at most 32 inodes), and on a read-write mount makes a file, writes it in three
 * pieces, truncates it and reads it back, makes a directory, a symbolic link and a device node;
 * then the requests of the input run, and the file system is unmounted. Besides running
 * without a crash, a leak or undefined behaviour, it checks what docs/mfs.md promises of an
 * untrusted image: a mount answers the root directory; every answer encodes; what was written
 * reads back the same; a zone handed out to a new file is one no file of the mounted image
 * used (an independent scan of the image after the mount says which), and a new inode one
 * whose mode was 0; and an image MFS unmounted cleanly mounts again. A broken promise aborts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "format.h"
#include "fuzz.h"
#include "mfsrun.h"
#include "ramdev.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_READ_ONLY 1
#define S_RESEAL    2
#define S_REMOUNT   4
#define S_NO_WALK   8

#define S_WALK_MAX  32          /* inodes the walk visits */
#define S_READ_MAX  (64 * 1024) /* bytes it reads of a file */
#define S_FILE_SIZE 12000       /* the file the harness writes */

#define S_FS(t) PLEXUS__FS_TYPE__##t

static mfs s_fs; /* large: not on the stack */

/* ---- requests ---- */

static int s_call(uint32_t type, const ProtobufCMessage *body, const void *data, size_t size,
                  mfs_reply *out)
{
	return mfsrun_call(&s_fs, type, 1, body, data, size, out);
}

/* An answer that gives an inode gives its attributes. */
static void s_check_attr(const mfs_reply *out)
{
	FUZZ_CHECK(out->r.attr != NULL);
	FUZZ_CHECK(out->r.attr->ino >= 1 && out->r.attr->ino <= s_fs.sb.ninodes);
}

/* FS_LOOKUP of name in dir: its inode number (one reference held), or 0. */
static uint64_t s_lookup(uint64_t dir, const char *name, uint32_t *mode)
{
	Plexus__FsName n = PLEXUS__FS_NAME__INIT;
	n.dir = dir;
	n.name = (char *)name;
	mfs_reply out;
	int rc = s_call(S_FS(FS_LOOKUP), &n.base, NULL, 0, &out);
	uint64_t ino = 0;
	if (rc == 0) {
		s_check_attr(&out);
		ino = out.r.attr->ino;
		*mode = out.r.attr->mode;
	}
	mfsrun_reply_free(&out);
	return ino;
}

static void s_putnode(uint64_t ino)
{
	Plexus__FsPutnode p = PLEXUS__FS_PUTNODE__INIT;
	p.ino = ino;
	p.count = 1;
	mfs_reply out;
	FUZZ_CHECK(s_call(S_FS(FS_PUTNODE), &p.base, NULL, 0, &out) == 0);
	mfsrun_reply_free(&out);
}

static int s_ino_call(uint32_t type, uint64_t ino)
{
	Plexus__FsIno i = PLEXUS__FS_INO__INIT;
	i.ino = ino;
	mfs_reply out;
	int rc = s_call(type, &i.base, NULL, 0, &out);
	if (rc == 0 && type == S_FS(FS_STAT))
		s_check_attr(&out);
	if (rc == 0 && type == S_FS(FS_RDLINK))
		FUZZ_CHECK(out.r.target && strlen(out.r.target) < s_fs.bs);
	mfsrun_reply_free(&out);
	return rc;
}

/* FS_READ of size bytes at pos into buf (may be NULL). Returns the count or the error. */
static int64_t s_read(uint64_t ino, uint64_t pos, size_t size, uint8_t *buf)
{
	Plexus__FsIo io = PLEXUS__FS_IO__INIT;
	io.ino = ino;
	io.position = pos;
	io.size = size;
	mfs_reply out;
	int rc = s_call(S_FS(FS_READ), &io.base, NULL, 0, &out);
	int64_t n = rc;
	if (rc == 0) {
		FUZZ_CHECK(out.r.count == out.data_size && out.data_size <= size);
		n = (int64_t)out.data_size;
		if (buf && n)
			memcpy(buf, out.data, (size_t)n);
	}
	mfsrun_reply_free(&out);
	return n;
}

static int64_t s_write(uint64_t ino, uint64_t pos, const uint8_t *data, size_t size)
{
	Plexus__FsIo io = PLEXUS__FS_IO__INIT;
	io.ino = ino;
	io.position = pos;
	io.size = size;
	mfs_reply out;
	int rc = s_call(S_FS(FS_WRITE), &io.base, data, size, &out);
	int64_t n = rc;
	if (rc == 0) {
		s_check_attr(&out);
		FUZZ_CHECK(out.r.count <= size);
		n = (int64_t)out.r.count;
	}
	mfsrun_reply_free(&out);
	return n;
}

/* ---- the walk ---- */

typedef struct s_name {
	uint64_t ino;
	char name[MFS_NAME_MAX + 1];
} s_name;

/* Up to max entries of directory dir other than "." and "..", through FS_GETDENTS. */
static size_t s_list(uint64_t dir, s_name *names, size_t max)
{
	size_t n = 0;
	uint64_t cookie = 0;
	for (int round = 0; round < 8 && n < max; round++) {
		Plexus__FsIo io = PLEXUS__FS_IO__INIT;
		io.ino = dir;
		io.position = cookie;
		io.size = 512;
		mfs_reply out;
		int rc = s_call(S_FS(FS_GETDENTS), &io.base, NULL, 0, &out);
		bool more = rc == 0 && !out.r.eof && out.r.n_dirents > 0;
		for (size_t i = 0; rc == 0 && i < out.r.n_dirents; i++) {
			const Plexus__FsDirent *e = out.r.dirents[i];
			FUZZ_CHECK(e->name && strlen(e->name) <= MFS_NAME_MAX && e->name[0]);
			FUZZ_CHECK(e->next > cookie);
			cookie = e->next;
			if (n < max && strcmp(e->name, ".") && strcmp(e->name, "..")) {
				names[n].ino = e->ino;
				snprintf(names[n].name, sizeof names[n].name, "%s", e->name);
				n++;
			}
		}
		mfsrun_reply_free(&out);
		if (!more)
			break;
	}
	return n;
}

static void s_walk(uint64_t dir, int depth, int *budget)
{
	s_name names[16];
	size_t n = s_list(dir, names, sizeof names / sizeof *names);
	for (size_t i = 0; i<n && * budget> 0; i++, (*budget)--) {
		uint32_t mode = 0;
		uint64_t ino = s_lookup(dir, names[i].name, &mode);
		if (!ino)
			continue;
		s_ino_call(S_FS(FS_STAT), ino);
		if (S_ISREG(mode) && s_read(ino, 0, 1024, NULL) > 0)
			s_read(ino, 1024, S_READ_MAX - 1024, NULL); /* sequential: read-ahead */
		if (S_ISLNK(mode))
			s_ino_call(S_FS(FS_RDLINK), ino);
		if (S_ISDIR(mode) && depth < 3)
			s_walk(ino, depth + 1, budget);
		s_putnode(ino);
	}
}

/* ---- the zones and inodes the mounted image uses, read from the disk itself ---- */

typedef struct s_used {
	const uint8_t *img;
	mfs_super sb;
	uint8_t *zones;   /* bit per zone number: used by a file, directory or link */
	uint8_t *visited; /* bit per zone and level: read as an indirect block of that level */
	uint8_t *modes;   /* bit per inode number: mode set */
} s_used;

static bool s_zone_ok(const s_used *u, uint32_t z)
{
	return z >= u->sb.firstdatazone && z < u->sb.zones;
}

static void s_mark_tree(s_used *u, uint32_t z, int level)
{
	if (!s_zone_ok(u, z))
		return;
	mfs_bit_set(u->zones, z);
	uint32_t vbit = z * 3 + (uint32_t)level;
	if (level < 0 || mfs_bit_get(u->visited, vbit))
		return;
	mfs_bit_set(u->visited, vbit);
	const uint8_t *b = u->img + (size_t)z * u->sb.block_size;
	for (uint32_t i = 0; i < u->sb.block_size / 4; i++)
		s_mark_tree(u, mfs_le32(b + 4 * (size_t)i), level - 1);
}

/* Scans the inode table of the image as it is on the disk after the mount. */
static bool s_used_scan(s_used *u, const uint8_t *img, const mfs *fs)
{
	u->img = img;
	u->sb = fs->sb;
	uint64_t zones = u->sb.zones;
	u->zones = calloc(zones / 8 + 1, 1);
	u->visited = calloc(zones * 3 / 8 + 1, 1);
	u->modes = calloc((uint64_t)u->sb.ninodes / 8 + 1, 1);
	if (!u->zones || !u->visited || !u->modes)
		return false;
	uint32_t per = mfs_inodes_per_block(&u->sb);
	uint64_t first = MFS_START_BLOCK + (uint64_t)u->sb.imap_blocks + u->sb.zmap_blocks;
	for (uint32_t ino = 1; ino <= u->sb.ninodes; ino++) {
		mfs_dinode d;
		mfs_inode_decode(img + (first + (ino - 1) / per) * u->sb.block_size +
		                     (size_t)((ino - 1) % per) * MFS_INODE_SIZE,
		                 &d);
		if (d.mode)
			mfs_bit_set(u->modes, ino);
		uint16_t type = d.mode & S_IFMT;
		if (type != S_IFREG && type != S_IFDIR && type != S_IFLNK)
			continue;
		for (int i = 0; i < MFS_NR_ZONES; i++)
			s_mark_tree(u, d.zone[i], i < MFS_NR_DZONES ? -1 : i - MFS_NR_DZONES);
	}
	return true;
}

static void s_used_free(s_used *u)
{
	free(u->zones);
	free(u->visited);
	free(u->modes);
}

/* Inode ino, made by the harness, was free and uses no zone another file used. */
static void s_check_new(const s_used *u, uint64_t ino)
{
	FUZZ_CHECK(!mfs_bit_get(u->modes, (uint32_t)ino));
	int rc = 0;
	mfs_inode *ip = inode_get(&s_fs, ino, &rc);
	FUZZ_CHECK(ip != NULL);
	for (int i = 0; i < MFS_NR_ZONES; i++) {
		uint32_t z = ip->d.zone[i];
		if (z && !S_ISCHR(ip->d.mode) && !S_ISBLK(ip->d.mode))
			FUZZ_CHECK(!s_zone_ok(u, z) || !mfs_bit_get(u->zones, z));
	}
	for (uint64_t blk = 0; S_ISREG(ip->d.mode) && blk * s_fs.bs < ip->d.size; blk++) {
		int64_t z = zone_map(&s_fs, ip, blk, false, NULL);
		FUZZ_CHECK(z >= 0);
		FUZZ_CHECK(z == 0 || !mfs_bit_get(u->zones, (uint32_t)z));
	}
	inode_put(&s_fs, ip);
}

/* ---- changes ---- */

static uint64_t s_create(uint32_t type, uint64_t dir, const char *name, uint32_t mode,
                         const char *target)
{
	Plexus__FsCred cred = PLEXUS__FS_CRED__INIT;
	cred.uid = 1000;
	cred.gid = 1000;
	Plexus__FsCreate c = PLEXUS__FS_CREATE__INIT;
	c.dir = dir;
	c.name = (char *)name;
	c.mode = mode;
	c.cred = &cred;
	c.rdev = 0x0801;
	c.target = (char *)(target ? target : "");
	mfs_reply out;
	int rc = s_call(type, &c.base, NULL, 0, &out);
	uint64_t ino = 0;
	if (rc == 0) {
		s_check_attr(&out);
		ino = out.r.attr->ino;
	}
	mfsrun_reply_free(&out);
	return ino;
}

/* Writes the file in three pieces, truncates it, reads it back: what was written. */
static void s_file(uint64_t ino)
{
	static uint8_t want[S_FILE_SIZE], got[S_FILE_SIZE];
	memset(want, 0, sizeof want);
	static const struct {
		size_t pos, len;
	} pieces[] = {{0, 100}, {1000, 5000}, {8100, S_FILE_SIZE - 8100}};
	for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++) {
		uint8_t *p = want + pieces[i].pos;
		for (size_t k = 0; k < pieces[i].len; k++)
			p[k] = (uint8_t)(k * 7 + i + 1);
		if (s_write(ino, pieces[i].pos, p, pieces[i].len) != (int64_t)pieces[i].len)
			return; /* no room (or a damaged bitmap): nothing to compare */
	}
	Plexus__FsSetattr s = PLEXUS__FS_SETATTR__INIT;
	s.ino = ino;
	s.flags = PLEXUS__FS_SETATTR_FLAG__FS_SET_SIZE;
	s.size = S_FILE_SIZE - 1500;
	mfs_reply out;
	int rc = s_call(S_FS(FS_FTRUNC), &s.base, NULL, 0, &out);
	mfsrun_reply_free(&out);
	size_t size = rc == 0 ? S_FILE_SIZE - 1500 : S_FILE_SIZE;
	int64_t n = s_read(ino, 0, sizeof got, got);
	FUZZ_CHECK(n == (int64_t)size);
	FUZZ_CHECK(memcmp(got, want, size) == 0);
}

/* A file, a directory, a link and a device node in the root; each checked against the image
 * as the mount left it. */
static void s_changes(const uint8_t *img)
{
	s_used u = {0};
	if (!s_used_scan(&u, img, &s_fs)) {
		s_used_free(&u);
		return;
	}
	uint64_t made[4] = {
	    s_create(S_FS(FS_CREATE), MFS_ROOT_INO, "fuzz-file", 0644, NULL),
	    s_create(S_FS(FS_MKDIR), MFS_ROOT_INO, "fuzz-dir", 0755, NULL),
	    s_create(S_FS(FS_SLINK), MFS_ROOT_INO, "fuzz-link", 0, "fuzz-dir/../fuzz-file"),
	    s_create(S_FS(FS_MKNOD), MFS_ROOT_INO, "fuzz-node", S_IFCHR | 0600, NULL),
	};
	if (made[0])
		s_file(made[0]);
	for (size_t i = 0; i < sizeof made / sizeof *made; i++)
		if (made[i])
			s_check_new(&u, made[i]);
	for (size_t i = 0; i < sizeof made / sizeof *made; i++)
		if (made[i])
			s_putnode(made[i]);
	s_used_free(&u);
}

/* ---- the input's requests ---- */

static void s_requests(const uint8_t *p, size_t size)
{
	size_t ntypes;
	const plx_handler *table = mfs_handlers(&ntypes);
	static uint8_t data[64 * 1024]; /* a fixed pattern */
	if (!data[1])
		for (size_t i = 0; i < sizeof data; i++)
			data[i] = (uint8_t)(i * 13 + 1);
	for (int count = 0; size >= 2 && count < 64; count++) {
		uint8_t op = p[0];
		size_t len = p[1] < size - 2 ? p[1] : size - 2;
		const uint8_t *body = p + 2;
		p += 2 + len, size -= 2 + len;
		uint32_t type = table[(op & 31) % ntypes].type;
		size_t data_size = 0;
		if ((op & 64) && size >= 1) {
			data_size = (size_t)p[0] * 64;
			p++, size--;
		}
		if (data_size == 255 * 64) { /* as large as the body asks */
			Plexus__FsIo *io = plexus__fs_io__unpack(NULL, len, body);
			data_size = io && io->size < sizeof data ? (size_t)io->size : 0;
			plexus__fs_io__free_unpacked(io, NULL);
		}
		mfs_reply out;
		mfsrun_request(&s_fs, type, op & 32 ? 2 : 1, body, len, data, data_size, &out);
		mfsrun_reply_free(&out);
	}
}

/* ---- the journal, resealed ---- */

/* Makes the journal header past the file system (where the superblock says) one that
 * journal.c accepts as written: magic, version, the transaction's sum over what follows it
 * on the image, and the seal over the header (format.c's layout). Other fields stay. */
static void s_reseal(uint8_t *img, size_t size)
{
	if (size < 2 * MFS_SUPER_OFFSET)
		return;
	mfs_super sb;
	mfs_super_decode(img + MFS_SUPER_OFFSET, &sb);
	uint32_t bs = sb.block_size;
	if (bs < MFS_BLOCK_MIN || bs > MFS_BLOCK_MAX || (bs & (bs - 1)))
		return;
	uint64_t at = (uint64_t)sb.zones * bs;
	if (at + bs > size)
		return;
	uint8_t *h = img + at;
	uint32_t count = mfs_le32(h + 24);
	uint64_t seq = mfs_le32(h + 32) | (uint64_t)mfs_le32(h + 36) << 32;
	uint64_t len = ((uint64_t)mfs_jdesc_blocks(count, bs) + count) * bs;
	if (count && at + bs + len <= size)
		journal_sum(seq, count, h + bs, (size_t)len, h + 40);
	uint32_t magic = MFS_JNL_MAGIC, version = MFS_JNL_VERSION;
	for (int i = 0; i < 4; i++) {
		h[i] = (uint8_t)(magic >> (8 * i));
		h[4 + i] = (uint8_t)(version >> (8 * i));
	}
	crypto_generichash(h + 56, MFS_JNL_SUM, h, 56, NULL, 0);
}

/* ---- one input ---- */

/* Mounts the RAM disk; after a successful mount walks, changes and runs the requests. Returns
 * the mount's status. */
static int s_session(uint8_t *img, uint8_t flags, const uint8_t *requests, size_t nrequests)
{
	bool ro = flags & S_READ_ONLY;
	mfsrun_init(&s_fs, 64 * 1024, 4);
	Plexus__FsReadsuper rs = PLEXUS__FS_READSUPER__INIT;
	rs.driver = RAMDEV_LABEL;
	rs.read_only = ro;
	rs.dev = 7;
	mfs_reply out;
	int rc = s_call(S_FS(FS_READSUPER), &rs.base, NULL, 0, &out);
	if (rc == 0) {
		s_check_attr(&out);
		FUZZ_CHECK(out.r.attr->ino == MFS_ROOT_INO && S_ISDIR(out.r.attr->mode));
		FUZZ_CHECK(out.r.statvfs && out.r.statvfs->bsize == s_fs.bs);
	}
	mfsrun_reply_free(&out);
	if (rc == 0) {
		int budget = S_WALK_MAX;
		if (!(flags & S_NO_WALK))
			s_walk(MFS_ROOT_INO, 0, &budget);
		if (!ro)
			s_changes(img);
		s_requests(requests, nrequests);
	}
	return rc;
}

/* Unmounts; returns true when the unmount was clean (everything written, nothing held). */
static bool s_unmount(void)
{
	bool clean = false;
	if (s_fs.mounted && !s_fs.read_only) {
		mfs_reply out;
		int rc = mfsrun_call(&s_fs, S_FS(FS_UNMOUNT), 1, NULL, NULL, 0, &out);
		mfsrun_reply_free(&out);
		clean = rc == 0;
	}
	mfsrun_fini(&s_fs);
	return clean;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	uint8_t flags = data[0];
	size_t want = ((size_t)data[1] | (size_t)data[2] << 8) * RAMDEV_SECTOR;
	data += 3, size -= 3;
	size_t image_size = want && want < size ? want : size;
	uint8_t *img = malloc(image_size ? image_size : 1);
	if (!img)
		return 0;
	memcpy(img, data, image_size);
	if (flags & S_RESEAL)
		s_reseal(img, image_size);
	ramdev_attach(img, image_size, flags & S_READ_ONLY);
	int rc = s_session(img, flags, data + image_size, size - image_size);
	bool clean = s_unmount();
	if (rc == 0 && clean && (flags & S_REMOUNT)) {
		ramdev_attach(img, image_size, false);
		FUZZ_CHECK(s_session(img, S_NO_WALK, NULL, 0) == 0);
		s_unmount();
	}
	ramdev_attach(NULL, 0, false);
	free(img);
	return 0;
}
