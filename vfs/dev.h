/*
 * dev.h — the devices side of plexus-vfs: the state shared by dmap.c, device.c, pipe.c,
 * select.c, events.c, gc.c and recovery.c (docs/vfs.md "Devices, pipes and select").
 *
 * Entry points (by file):
 *   dmap.c      vfs_devs_of, vfs_dev_option, vfs_dev_usage, vfs_dmap_block, vfs_dmap_driver,
 *               vfs_driver_find, vfs_driver_stub
 *   device.c    vfs_chr_ops, vfs_blk_ops, vfs_dev_on_reply, vfs_cdevs_fail, vfs_chr_invalidate
 *   pipe.c      vfs_fifo_ops, do_pipe, vfs_pipe_revive, vfs_pipe_vnode_release
 *   select.c    do_select, vfs_select_wake, vfs_select_sel2, vfs_selects_tick
 *   events.c    vfs_dev_start, vfs_dev_stop, vfs_dev_on_notify (the events worker)
 *   gc.c        vfs_gc_driver_down (character driver death)
 *   recovery.c  vfs_recover_block (block driver restart)
 *
 * Drivers. Every label named by --dmap is one vfs_driver, however many majors map to it
 * (MINIX: majors that share a driver endpoint share one mutex). gen is the generation VFS
 * last saw alive; the events worker compares it with the route table and reacts to a change.
 *
 * Requests to drivers go through the typed CDEV and BDEV stubs (plexus/cdev_stub.h,
 * plexus/bdev_stub.h), addressed by vfs_driver_stub; VFS builds no driver message itself.
 * Requests to character drivers go with the stubs' asynsend (plx_cdev_<request>_send) and are
 * kept in a table of pending requests keyed by the transport's request id; the main loop's reply
 * (vfs_dev_on_reply), or the driver's death (vfs_cdevs_fail), completes each exactly once, on a
 * worker thread (vfs_workers_defer), never in the loop. No lock is held across a sendrec.
 *
 * LOCKS: devs->lock is a leaf below every lock of vfs.h but vfs->lock (never take vfs->lock
 * while holding it); a pipe's lock (pipe.c) and a selector's (select.c) come before it. A
 * driver's mutex (synchronous block drivers only) is taken before any of them and held across
 * its sendrec.
 */
#ifndef VFS_DEV_H
#define VFS_DEV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <plexus/bdev_stub.h>
#include <plexus/cdev_stub.h>
#include <plexus/fsreq.h>

#include "fileops.h"

#define VFS_DRIVERS_MAX 32
#define VFS_MAJORS_MAX  256
#define VFS_DEV_TIMEOUT 10000 /* ms: a synchronous driver request (open, select, block I/O) */

struct vfs_selector;

typedef struct vfs_driver {
	char label[PLX_LABEL_MAX];
	uint64_t gen;       /* the generation last seen alive (0: never) */
	bool announced_blk; /* drv.blk.<label> seen */
	bool announced_chr; /* drv.chr.<label> seen */
	bool reopen;        /* --dmap MAJOR=LABEL,reopen: its character files reopen on a restart */
	bool reopen_owed;   /* events.c: a generation died, the next one gets the reopen */
	pthread_mutex_t mutex;   /* serialises requests to a synchronous (block) driver */
	uint32_t blk_opens[256]; /* per minor: block special files VFS has open on it */
} vfs_driver;

/* A request to a character driver waiting for its reply. */
typedef struct vfs_cdev_pending vfs_cdev_pending;
/* Called once on a worker with the reply (NULL when the driver died or the send failed, then
 * status says why); msg is freed after it returns. */
typedef void vfs_cdev_done_fn(vfs *v, void *arg, int status, const plx_msg *msg);

typedef struct vfs_devs {
	pthread_mutex_t lock;
	vfs_driver drivers[VFS_DRIVERS_MAX];
	int ndrivers;
	int major[VFS_MAJORS_MAX]; /* index into drivers + 1; 0: unmapped */
	char pfs_label[PLX_LABEL_MAX];
	plx_fs *pfs;         /* stubs of the pipe file server */
	vfs_mount pfs_mount; /* a mount that is in no table: the pipes' vnodes hang on it */
	vfs_fsgen pfs_gen;   /* pfs_mount's one generation: whichever (a pipe dies with PFS) */
	vfs_cdev_pending *pending;      /* requests to char drivers in flight */
	struct vfs_chr_open *chr_opens; /* open character special files (gc.c walks them) */
	struct vfs_selector *selectors; /* selects waiting (select.c) */
	uint64_t next_id;
	/* events.c */
	pthread_t events;
	bool events_running;
	volatile bool stopping;
	plx_ds *ds;
	int wake_fd;
} vfs_devs;

/* The state of an open character special file (filp->priv). */
typedef struct vfs_chr_open {
	vfs_driver *drv;
	uint64_t gen; /* the driver generation it was opened on */
	uint32_t minor;
	uint32_t access; /* the CDEV_OPEN access bits, for a reopen */
	bool invalid;    /* the driver died: I/O answers -EIO at once */
	int refs;        /* the filp's + one per request in flight (devs->lock) */
	struct vfs_chr_open *next;
} vfs_chr_open;

/* ---- dmap.c ---- */

/* The devices side's state, made at the first use. NULL only when out of memory. */
vfs_devs *vfs_devs_of(vfs *v);
/* The driver mapped for major (dev's major number), or NULL. */
vfs_driver *vfs_dmap_driver(vfs *v, uint64_t rdev);
/* The driver with label, or NULL. */
vfs_driver *vfs_driver_find(vfs *v, const char *label);
/* Fills *st to address generation gen of drv (0: whichever the routes know) from VFS's
 * endpoint, each sendrec waiting up to VFS_DEV_TIMEOUT. */
void vfs_driver_stub(vfs *v, const vfs_driver *drv, uint64_t gen, plx_stub *st);

/* ---- device.c ---- */

extern const vfs_fileops vfs_chr_ops;
extern const vfs_fileops vfs_blk_ops;
/* Completes every pending request to drv's generations up to gen with status (the driver
 * died). */
void vfs_cdevs_fail(vfs *v, vfs_driver *drv, uint64_t gen, int status);
/* Marks every open of drv made on generations up to gen invalid; returns how many. */
int vfs_chr_invalidate(vfs *v, vfs_driver *drv, uint64_t gen);
/* Cancels (CDEV_CANCEL) the pending requests of clients that died. */
void vfs_cdevs_cancel_dead(vfs *v);
/* The CDEV_SEL2_REPLY handler (a plx_handler of the loop thread; table.c names it). */
int vfs_dev_sel2(plx_call *call);

/* ---- pipe.c ---- */

extern const vfs_fileops vfs_fifo_ops;

/* Answers the parked pipe calls of clients that died. */
void vfs_pipes_tick(vfs *v);
/* The PFS instance died: every pipe with bytes there is broken (-EIO, parked calls too). */
void vfs_pipes_pfs_down(vfs *v);

/* ---- select.c ---- */

/* Every waiting select looks again. */
void vfs_selects_wake_all(vfs *v);

/* Something about filp may be ready now: selects waiting on it look again. Any thread. */
void vfs_select_wake(vfs *v, vfs_vnode *vn);
/* A CDEV_SEL2_REPLY from drv for (minor, id): the select it names looks again. */
void vfs_select_sel2(vfs *v, const char *label, uint32_t minor, uint64_t id, uint32_t ops);
/* Answers the selects whose timeout passed (events.c calls it often). */
void vfs_selects_tick(vfs *v);
/* Registers a char device select for sel: returns the ops ready now (CDEV_SEL_* bits) or a
 * negative errno. device.c. */
int vfs_chr_select(vfs *v, vfs_filp *filp, int want, struct vfs_selector *sel);
/* The id a selector uses in CDEV_SELECT, and the selector's lookup by it. select.c. */
uint64_t vfs_selector_id(const struct vfs_selector *sel);

/* ---- gc.c ---- */

/* The character driver drv's generation gen died (or was replaced): invalid files, parked
 * requests answered -EIO, selects woken. Runs on the events worker. */
void vfs_gc_driver_down(vfs *v, vfs_driver *drv, uint64_t gen);

/* Reopens on generation gen the files of a driver flagged reopen that its death invalidated
 * (CDEV_OPEN with their access bits); they work again. Runs on the events worker. Returns
 * how many failed. */
int vfs_gc_reopen(vfs *v, vfs_driver *drv, uint64_t gen);

/* ---- recovery.c ---- */

/* Block driver drv came back as generation gen: reopen, then FS_NEW_DRIVER to every file
 * server mounted on it. Runs on the events worker. Returns 0 or the first error. */
int vfs_recover_block(vfs *v, vfs_driver *drv, uint64_t gen);

/* ---- events.c ---- */

/* Wakes the events worker (something changed that it should look at). */
void vfs_events_kick(vfs *v);

#endif
