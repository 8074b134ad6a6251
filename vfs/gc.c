/*
 * gc.c — what happens to files on a character driver that died (MINIX's invalidation and
 * garbage collection of filps).
 *
 * Entry points: vfs_gc_driver_down.
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
 */
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
		if (co->drv == g->drv && co->invalid && co->gen <= g->gen)
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
