/*
 * gc.c — what happens to files on a character driver that died (MINIX's invalidation and
 * garbage collection of filps).
 *
 * Entry points: vfs_gc_driver_down, vfs_gc_reopen.
 *
 * Once the events worker sees a character driver's generation die (its endpoint record gone
 * or replaced), every file open on it is marked invalid at once, so reads, writes and ioctls
 * on it fail -EIO without a message and selects report it ready; requests in flight to it
 * were answered -EIO by vfs_cdevs_fail (the events worker calls it first). Then a
 * garbage-collecting job on a worker takes each such file's lock — exclusive access, so it
 * waits for a call that was using the file — and takes it off the list of open character
 * files: its close later sends nothing to the driver's next generation, which never saw the
 * open. The descriptor stays until the client closes it (as in MINIX, where it is closed and
 * the slot kept); a new open reaches the new generation.
 *
 * A driver mapped with ",reopen" (--dmap MAJOR=LABEL,reopen: MINIX's reopenable files) keeps
 * its files listed: once its next generation is up, the events worker opens each of them
 * there again with the access it had (CDEV_OPEN, vfs_gc_reopen) and they work again; the I/O
 * that was in flight at the death still failed -EIO. The reopen is a plx_cdev_open_call
 * addressed to that generation.
 */
#include <stdio.h>
#include <stdlib.h>

#include "dev.h"

typedef struct s_gc {
	vfs_driver *drv;
	uint64_t gen;
} s_gc;

static void s_gc_job(vfs *v, void *arg)
{
	s_gc *g = arg;
	vfs_devs *d = vfs_devs_of(v);
	pthread_mutex_lock(&d->lock);
	for (vfs_chr_open **pp = &d->chr_opens; *pp;) {
		vfs_chr_open *co = *pp;
		if (co->drv == g->drv && co->invalid && co->gen <= g->gen && !g->drv->reopen)
			*pp = co->next; /* release finds it unlisted: no CDEV_CLOSE */
		else
			pp = &co->next;
	}
	pthread_mutex_unlock(&d->lock);
	free(g);
}

void vfs_gc_driver_down(vfs *v, vfs_driver *drv, uint64_t gen)
{
	vfs_chr_invalidate(v, drv, gen);
	vfs_selects_wake_all(v);
	if (vfs_devs_of(v)->stopping)
		return;
	s_gc *g = malloc(sizeof *g);
	if (!g)
		return; /* the files stay invalid and listed: their close sends a harmless
		           CDEV_CLOSE */
	g->drv = drv;
	g->gen = gen;
	if (vfs_workers_defer(v->workers, s_gc_job, g) < 0)
		free(g);
}

int vfs_gc_reopen(vfs *v, vfs_driver *drv, uint64_t gen)
{
	vfs_devs *d = vfs_devs_of(v);
	int failed = 0;
	for (;;) {
		/* One at a time: the lock is not held across the sendrec. */
		vfs_chr_open *co = NULL;
		pthread_mutex_lock(&d->lock);
		for (co = d->chr_opens; co; co = co->next)
			if (co->drv == drv && co->invalid && co->gen < gen)
				break;
		uint32_t minor = co ? co->minor : 0, access = co ? co->access : 0;
		if (co)
			co->gen = gen; /* taken: not looked at again in this pass */
		pthread_mutex_unlock(&d->lock);
		if (!co)
			return failed;
		Plexus__CdevOpen o = PLEXUS__CDEV_OPEN__INIT;
		o.minor = minor;
		o.access = access;
		plx_stub st;
		vfs_driver_stub(v, drv, gen, &st);
		int rc = plx_cdev_open_call(&st, &o, NULL, 0, NULL, NULL);
		pthread_mutex_lock(&d->lock);
		for (vfs_chr_open *o2 = d->chr_opens; o2; o2 = o2->next)
			if (o2 == co) /* still open: valid again, or it stays invalid */
				co->invalid = rc != 0;
		pthread_mutex_unlock(&d->lock);
		failed += rc != 0;
	}
}
