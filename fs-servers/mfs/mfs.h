/*
 * mfs.h — plexus-mfs's internal interfaces: the device (driver.c), the buffer cache (cache.c),
 * bitmaps (bitmap.c), zones (zone.c), inodes (inode.c), directories (dir.c), the request
 * handlers (do_* in super.c, link.c, read.c, stat.c, protect.c, sync.c, dir.c), the table
 * (table.c) and the worker (worker.c). docs/mfs.md describes the whole.
 *
 * Threads: the service's loop thread receives every request; FS_NEW_DRIVER and pings are
 * answered there, everything else is queued to one worker thread that runs the requests one
 * at a time (file system semantics stay sequential) and owns every structure below except
 * the device's recovery state (mfs_dev.lock), which both threads touch.
 */
#ifndef PLEXUS_MFS_H
#define PLEXUS_MFS_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <plexus/bdev.h>
#include <plexus/server.h>
#include <plexus/transport.h>

#include "format.h"
#include "plexus/proto/fs.pb-c.h"

/* ---- the block device, with MINIX libbdev's retry rules (driver.c) ---- */

#define MFS_EIO_RETRIES  3 /* a transfer answered -EIO is tried this many more times */
#define MFS_DRV_RESTARTS 3 /* driver restarts one transfer may live through */
#define MFS_DRV_ROUNDS   5 /* recovery rounds (waits for a driver) per transfer */

typedef struct mfs_dev {
	plx_ctx *ctx;
	plx_ep *ep;
	plx_bdev *bdev;
	char label[PLX_LABEL_MAX];
	uint32_t minor;
	bool read_only;
	bool open;
	uint64_t gen;  /* the driver generation the minor is open on */
	uint64_t size; /* bytes */
	uint32_t sector;
	int timeout_ms; /* per BDEV request */
	int wait_ms;    /* how long a transfer waits for a restarted driver */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t announced;         /* FS_NEW_DRIVER's generation (under lock) */
	uint64_t retries, restarts; /* counters, for the log */
} mfs_dev;

void dev_init(mfs_dev *dev, plx_ctx *ctx, plx_ep *ep, int timeout_ms, int wait_ms);
void dev_fini(mfs_dev *dev);
/* Opens label's minor (waiting for the driver as a transfer does). Returns 0 or an error. */
int dev_open(mfs_dev *dev, const char *label, uint32_t minor, bool read_only);
void dev_close(mfs_dev *dev);
/* Transfer exactly size bytes, retrying as docs/mfs.md says. Return 0 or a negative error. */
int dev_read(mfs_dev *dev, uint64_t pos, void *buf, size_t size);
int dev_write(mfs_dev *dev, uint64_t pos, const void *buf, size_t size);
int dev_flush(mfs_dev *dev);
/* From the loop thread: label's new generation is up. Returns 0, -ENXIO (not our driver). */
int dev_new_driver(mfs_dev *dev, const char *label, uint64_t generation);

/* ---- the buffer cache (cache.c) ---- */

typedef struct mfs_buf {
	uint64_t block;
	uint8_t *data;
	bool dirty;
	bool meta; /* dirty metadata: reaches the device through the journal only */
	int pins;
	struct mfs_buf *hnext;
	struct mfs_buf *prev, *next; /* LRU: head least recently used */
} mfs_buf;

typedef struct mfs_cache {
	mfs_dev *dev;
	uint32_t bs;
	size_t max; /* buffers */
	size_t count;
	size_t ndirty, ndirty_meta;
	bool ordered;   /* journaled: dirty metadata is never written back to make room */
	bool unflushed; /* written since the last BDEV_FLUSH (journal.c clears it) */
	size_t nhash;
	mfs_buf **hash;
	mfs_buf *head, *tail;
	uint64_t hits, misses, readahead, writes; /* counters */
} mfs_cache;

#define MFS_NORMAL  0 /* read the block if it is not cached */
#define MFS_NO_READ 1 /* the caller overwrites the whole block */

int cache_init(mfs_cache *c, mfs_dev *dev, uint32_t bs, size_t bytes);
/* Drops every buffer, dirty or not. */
void cache_fini(mfs_cache *c);
/* Returns the pinned buffer of block (NULL with *rc set on error). */
mfs_buf *cache_get(mfs_cache *c, uint64_t block, int how, int *rc);
/* Unpins; dirty marks it as changed metadata, to be written back (through the journal). */
void cache_put(mfs_cache *c, mfs_buf *b, bool dirty);
/* Unpins a block of file data the caller changed: written back in place, at any time. */
void cache_put_data(mfs_cache *c, mfs_buf *b);
/* Reads the blocks of list (n, 0 entries skipped) that are not cached, contiguous runs in one
 * BDEV read each. Errors are ignored (the reads that need them retry). */
void cache_prefetch(mfs_cache *c, const uint64_t *list, size_t n);
/* Writes every dirty block (contiguous runs in one BDEV write each). Returns 0 or an error
 * (the blocks not written stay dirty). Without a journal only. */
int cache_sync(mfs_cache *c);
/* Writes every dirty block of file data in place. Returns 0 or an error. */
int cache_write_data(mfs_cache *c);
/* The dirty metadata buffers sorted by block, in a new array (*list, caller frees; NULL when
 * none). Returns how many, or -ENOMEM. */
int64_t cache_dirty_meta(mfs_cache *c, mfs_buf ***list);
/* Writes list's n buffers (sorted by block) in place; each is clean once acknowledged.
 * Returns 0 or an error. */
int cache_write_bufs(mfs_cache *c, mfs_buf **list, size_t n);
/* Forgets every clean unpinned block. */
void cache_invalidate(mfs_cache *c);

/* ---- the mounted file system ---- */

typedef struct mfs_inode {
	uint32_t ino;
	mfs_dinode d;
	uint32_t refs;  /* VFS's references */
	uint32_t users; /* pins of the request being handled */
	bool dirty;
	bool keep; /* read with no links but no orphan: a directory may name it, never freed */
	uint64_t next_read; /* where a sequential read continues (read-ahead) */
	struct mfs_inode *hnext;
} mfs_inode;

#define MFS_ITABLE 1024

/* Bitmap bits freed in the open transaction, not handed out until it committed (journal.c). */
typedef struct mfs_pending {
	uint8_t *bits;
	uint64_t nbits;
	uint32_t *freed; /* the same bits as a list, to clear after the commit */
	size_t nfreed, cap;
} mfs_pending;

/* The journal (journal.c): where it is and the zones and inodes the open transaction freed. */
typedef struct mfs_journal {
	uint64_t start;   /* its header's block (s_zones) */
	uint32_t blocks;  /* 0: the device has none */
	uint64_t seq;     /* of the last transaction committed */
	uint64_t commits; /* by this instance, for the log */
	mfs_pending zones, inodes;
	bool warned; /* said once that a transaction was too big for it */
} mfs_journal;

/* Staged data (stage.c): bytes a client sent or a read left for it, by random id. */
#define MFS_STAGES           64
#define MFS_STAGES_PER_OWNER 8
#define MFS_STAGE_MAX        (4u * 1024 * 1024)  /* bytes of one stage */
#define MFS_STAGE_BYTES      (64u * 1024 * 1024) /* bytes of all stages */
#define MFS_STAGE_TTL_MS     10000

typedef struct mfs_stage {
	uint64_t id; /* 0: a free slot */
	char owner[PLX_LABEL_MAX];
	uint8_t *data;
	size_t size;
	int64_t due_ms; /* dropped then, unused */
} mfs_stage;

typedef struct mfs {
	plx_server *srv;
	struct plx_service *svc; /* for the mount saved in DS (super.c) */
	bool adopted;   /* remounted after a restart: VFS's references from before are unknown */
	bool restoring; /* that remount is under way: unlinked inodes may still be held */
	uint32_t
	    *orphans; /* found at that remount: freed at orphans_due_ms unless VFS names them */
	size_t norphans;
	int64_t orphans_due_ms;
	plx_name mounter; /* who sent FS_READSUPER (a restart keeps its predecessor's, from DS) */
	mfs_dev dev;
	mfs_cache cache;
	mfs_journal jnl;
	size_t cache_bytes;
	int sync_ms;   /* write-back period */
	int readahead; /* blocks */
	bool mounted;
	bool read_only;
	uint32_t devno; /* FsReadsuper.dev */
	mfs_super sb;
	uint32_t bs;
	uint32_t nr_ind; /* zone numbers per indirect block */
	uint64_t free_zones, free_inodes;
	uint32_t zsearch, isearch; /* bitmap search hints */
	uint8_t *zones_used;       /* verify.c: the zones files use, as the zone bitmap's bits */
	uint8_t *zones_shared;     /* verify.c: those two files claimed at mount */
	uint64_t zones_used_bits;
	bool zone_lie_told; /* said once that the bitmap offered a zone in use */
	mfs_inode *itable[MFS_ITABLE];
	size_t ninodes_cached;
	/* worker */
	pthread_t worker;
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	struct mfs_job *qhead, *qtail;
	bool stopping;
	bool tick_queued;
	int64_t last_sync_ms;
	/* the read-ahead the last sequential read asked for, run once it is answered (read.c) */
	struct mfs_readahead {
		bool due;
		uint64_t ino, first, last; /* file blocks first..last */
	} ra;
	/* staged data (stage.c), the worker's only */
	mfs_stage stages[MFS_STAGES];
	size_t stage_bytes;
	uint64_t stage_serial;
} mfs;

/* ---- what is checked of an untrusted image (verify.c at mount, claims.c at allocation) ---- */

/* At mount, after the bitmaps were counted: the map of zones in use, from every inode; damage
 * reported on stderr. Returns 0 or an I/O error. */
int verify_mount(mfs *fs, const char *driver);
void verify_unmount(mfs *fs);
/* Zone z was just taken from the bitmap: 0, or -EIO when a file uses it already. */
int verify_zone_taken(mfs *fs, uint32_t z);
void verify_zone_freed(mfs *fs, uint32_t z);
/* Zone z was claimed by two files at mount: the one freeing it must leave it to the other
 * (its bit stays set in the zone bitmap). */
bool verify_zone_shared(const mfs *fs, uint32_t z);
/* The inode the bitmap offered (d as on disk): 0 when free, -EIO when in use. */
int verify_inode_free(mfs *fs, const mfs_dinode *d, uint32_t ino);

/* ---- bitmaps (bitmap.c) ---- */

/* Allocate a free zone / inode: the number, or -ENOSPC / an I/O error. */
int64_t bitmap_alloc_zone(mfs *fs);
int64_t bitmap_alloc_inode(mfs *fs);
int bitmap_free_zone(mfs *fs, uint32_t zone);
int bitmap_free_inode(mfs *fs, uint32_t ino);
/* Counts the free bits of both maps into fs->free_*. Returns 0 or an I/O error. */
int bitmap_count(mfs *fs);

/* ---- the journal (journal.c) ---- */

/* At mount, before the cache is used: finds the device's journal and replays a committed
 * transaction. Returns 1 (replayed: read the superblock again), 0, or an I/O error. */
int journal_mount(mfs *fs, const char *driver);
void journal_unmount(mfs *fs);
/* Writes every changed block back as one transaction and flushes the device; the changed
 * inodes must be in their blocks already (super_commit puts them there first). Returns 0 or
 * an error (what was not written stays dirty). */
int journal_commit(mfs *fs);
/* After the last commit of a clean unmount: the journal says it holds nothing. */
int journal_quiesce(mfs *fs);
/* True when a transaction should commit before the next request (the journal half full, or
 * zones or inodes waiting for a commit needed soon). */
bool journal_due(const mfs *fs);
/* Zone bitmap bit freed in the open transaction: not handed out until it committed. */
void journal_zone_freed(mfs *fs, uint64_t bit);
bool journal_zone_busy(const mfs *fs, uint64_t bit);
/* The same for an inode number, with or without a journal: a file's number is never another
 * file's in the state a crash goes back to, so a handle VFS kept across a restart names its
 * own file or none (vfs.md). */
void journal_inode_freed(mfs *fs, uint64_t ino);
bool journal_inode_busy(const mfs *fs, uint64_t ino);
/* The sum of a transaction (MFS_JNL_SUM bytes into out): BLAKE2b of seq, count, then its
 * descriptor blocks and images (body), as the header records it. */
void journal_sum(uint64_t seq, uint32_t count, const uint8_t *body, size_t size, uint8_t *out);

/* ---- zones (zone.c) ---- */

/* The zone holding file block n of ip (0 for a hole), allocating the path to it when alloc
 * (*fresh then says whether the data zone is new). Returns it or a negative error: -EIO for a
 * zone number outside the data area, -EFBIG past the triple indirect, -ENOSPC. */
int64_t zone_map(mfs *fs, mfs_inode *ip, uint64_t n, bool alloc, bool *fresh);
/* For block n, a hole: how many blocks from n on are holes as well, at least 1 (those under
 * the indirect pointer that is missing), so that a scan of a sparse file skips them. */
uint64_t zone_hole(mfs *fs, mfs_inode *ip, uint64_t n);
/* Frees the zones past size bytes and zeroes the tail of the last block. Returns 0 or an
 * error. */
int zone_truncate(mfs *fs, mfs_inode *ip, uint64_t size);
/* Checks a zone number read from disk: 0 (hole) or inside the data area. */
bool zone_ok(const mfs *fs, uint32_t z);

/* ---- inodes (inode.c) ---- */

/* Loads (or finds) inode ino for the current request (users + 1). Returns it, or NULL with *rc
 * -EINVAL (number out of range) or -ENOENT (a free inode) or an I/O error. */
mfs_inode *inode_get(mfs *fs, uint64_t ino, int *rc);
/* Calls fn for every inode in use (mode set) in the table on disk, in order, with its number
 * and its fields; no block is held while fn runs. Stops at fn's non-zero result. Returns that,
 * an I/O error or 0. */
typedef int inode_scan_fn(mfs *fs, uint32_t ino, const mfs_dinode *d, void *arg);
int inode_scan(mfs *fs, inode_scan_fn *fn, void *arg);
/* A new inode of mode (nlinks 0, no zones); NULL with *rc -ENOSPC or an I/O error. */
mfs_inode *inode_alloc(mfs *fs, uint32_t mode, uint32_t uid, uint32_t gid, int *rc);
/* Ends the request's use: written into the cache when dirty; forgotten when nobody holds it,
 * and freed on disk (zones, bitmap bit) when its link count is 0. */
void inode_put(mfs *fs, mfs_inode *ip);
/* Marks ip changed; which times to set to now: 'a', 'm', 'c' in what. */
void inode_touch(mfs_inode *ip, const char *what);
/* Writes every dirty cached inode into the cache. */
int inode_flush_all(mfs *fs);
/* Drops every cached inode (unmount). */
void inode_drop_all(mfs *fs);
/* True when an inode other than the root has VFS references. */
/* Gives up every reference VFS holds (its instance died; a successor takes the file system
 * over): unlinked inodes they kept are freed, dirty ones stored. */
void inode_release_refs(mfs *fs);
bool inode_busy(const mfs *fs);
/* Fills an FsAttr from ip. */
void inode_attr(const mfs *fs, const mfs_inode *ip, Plexus__FsAttr *a);

/* ---- directories (dir.c) ---- */

/* Checks a component: -EINVAL (empty, '/'), -ENAMETOOLONG (over 60 bytes). */
int dir_name_ok(const char *name);
int dir_lookup(mfs *fs, mfs_inode *dp, const char *name, uint32_t *ino);
/* ip was found as name in dp: 0, or -EIO when ip has no links (a named inode would be freed
 * under its name) or is a directory whose .. is not dp (another name of a directory: a hard
 * link or a cycle). */
int dir_named_ok(mfs *fs, mfs_inode *dp, const char *name, mfs_inode *ip);
int dir_enter(mfs *fs, mfs_inode *dp, const char *name, uint32_t ino);
int dir_remove(mfs *fs, mfs_inode *dp, const char *name);
/* Points an existing entry at ino. */
int dir_set(mfs *fs, mfs_inode *dp, const char *name, uint32_t ino);
/* 0 when only "." and ".." are left, -ENOTEMPTY otherwise, or an error. */
int dir_empty(mfs *fs, mfs_inode *dp);

/* ---- requests ---- */

/* What a handler answers besides the status. */
typedef struct mfs_reply {
	Plexus__FsReply r;
	Plexus__FsAttr attr;
	Plexus__FsStatvfs st;
	Plexus__FsDirent *ents;
	Plexus__FsDirent **ptrs;
	char *names;
	uint8_t *data; /* malloc'd, freed after the reply */
	size_t data_size;
} mfs_reply;

typedef int mfs_do_fn(mfs *fs, const plx_msg *msg, const ProtobufCMessage *body, mfs_reply *out);

/* The server table: every FS_* type runs on the worker (PLX_ON_WORKER, its mfs_do_fn as the
 * entry's work) but FS_NEW_DRIVER, in the loop. table.c. */
const plx_handler *mfs_handlers(size_t *n);
/* The server's plx_submit_fn (pool: the mfs): queues call for the entry's do_<call> with
 * mfs_worker_submit. Returns 0 or -ENOMEM. table.c. */
int mfs_submit(void *pool, plx_call *call, const plx_handler *h);
/* FS_NEW_DRIVER, answered in the loop thread. driver.c. */
int mfs_new_driver(plx_call *call);

/* Starts the worker thread. Returns 0 or a negative errno. worker.c. */
int mfs_worker_start(mfs *fs);
/* Stops the worker after the request it runs; those still queued are answered -ESHUTDOWN.
 * worker.c. */
void mfs_worker_stop(mfs *fs);
/* Queues call for fn on the worker; never blocks. Returns 0 or -ENOMEM. worker.c. */
int mfs_worker_submit(mfs *fs, plx_call *call, mfs_do_fn *fn);
/* The loop's tick: queues the periodic write-back (one at a time). worker.c. */
void mfs_worker_tick(plx_server *srv);

/* After a restart (PLEXUS_INIT=restart): mounts again what the previous instance had mounted
 * (saved in DS at FS_READSUPER, dropped at FS_UNMOUNT). Returns 0 (also when nothing was
 * mounted) or the mount's error. A fresh start forgets a saved mount. super.c. */
int super_restore(mfs *fs, bool restarted);
/* A request named ino: if the restart found it unlinked, VFS still holds it (true then).
 * inode.c. */
bool inode_orphan_claim(mfs *fs, uint64_t ino);
/* Writes every changed inode into its block, then everything changed back as one journal
 * transaction (journal_commit): what fsync, sync, the periodic write-back and unmount do. At
 * a request boundary only. Returns 0 or an error. super.c. */
int super_commit(mfs *fs);
/* Frees the inodes a restart found unlinked and nobody named since (the predecessor's VFS
 * references were given back before it crashed). super.c. */
void super_orphans_reap(mfs *fs);
#define MFS_ORPHAN_GRACE_MS 5000

/* Lets go of the mounted file system without writing anything: the inodes and the cache
 * dropped, the journal and the zone-use map put away, the device closed. super.c. */
void super_release(mfs *fs);
/* Writes the superblock into the cache with the clean flag set or cleared. super.c. */
int super_write(mfs *fs, bool clean);
/* Sets out->r.statvfs from the counters. super.c. */
void mfs_statvfs(mfs *fs, mfs_reply *out);
/* Sets out->r.attr from ip. inode.c. */
void mfs_reply_attr(mfs *fs, mfs_reply *out, const mfs_inode *ip);

/* -EINVAL unless mounted; -EROFS for a change on a read-only mount when write. */
static inline int mfs_check(const mfs *fs, bool write)
{
	if (!fs->mounted)
		return -EINVAL;
	if (write && fs->read_only)
		return -EROFS;
	return 0;
}

/* CLOCK_MONOTONIC in milliseconds. */
static inline int64_t mfs_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

mfs_do_fn do_readsuper, do_unmount, do_lookup, do_putnode, do_create, do_mkdir, do_mknod, do_slink,
    do_read, do_write, do_getdents, do_stat, do_chmod, do_chown, do_ftrunc, do_utime, do_link,
    do_unlink, do_rmdir, do_rename, do_rdlink, do_sync, do_fsync, do_flush, do_statvfs, do_stage,
    do_collect;

/* ---- staged data (stage.c) ---- */

/* Holds size bytes of data (taken: freed with the stage) for owner as a new stage (*id).
 * Returns 0, -EAGAIN when owner or the server holds all it may, -EINVAL for a bad owner. */
int stage_hold(mfs *fs, const char *owner, uint8_t *data, size_t size, uint64_t *id);
/* The bytes of stage id when owner holds it (the stage ends; caller frees), else NULL. */
uint8_t *stage_take(mfs *fs, uint64_t id, const char *owner, size_t *size);
/* Drops the stages whose time is up. */
void stage_expire(mfs *fs);
/* Drops every stage. */
void stage_fini(mfs *fs);

/* The read-ahead the last request planned (read.c), run by the worker after its answer. */
void mfs_readahead(mfs *fs);
/* The periodic write-back (sync.c), run by the worker. */
void mfs_tick(mfs *fs);
/* Before each request (sync.c): commits a transaction when the journal says it is due. */
void mfs_boundary(mfs *fs);
/* Frees, once their grace is over, the inodes a restart found unlinked and nobody named. */
void mfs_orphans_tick(mfs *fs);

#endif
