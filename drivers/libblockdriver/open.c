/*
 * open.c — BDEV_OPEN and BDEV_CLOSE: the driver's callbacks, and open counting per minor.
 *
 * Entry points: bdr_do_open, bdr_do_close.
 *
 * The counts are kept in the service's saved state after every change, so a driver restarted
 * by RS starts with the opens its predecessor had (VFS reopens nothing twice).
 */
#include "internal.h"

#define S_ACCESS_BITS (PLEXUS__BDEV_ACCESS__BDEV_R_BIT | PLEXUS__BDEV_ACCESS__BDEV_W_BIT)

int bdr_do_open(plx_call *call)
{
	plx_blockdriver *self;
	const Plexus__BdevOpen *req = (const Plexus__BdevOpen *)call->body;
	plx_bdev_part part;
	int rc = bdr_admit(call, &self);
	if (rc == 0)
		rc = bdr_part(self, req->minor, &part);
	if (rc < 0)
		return rc;
	if ((req->access & ~(uint32_t)S_ACCESS_BITS) != 0)
		return -EINVAL;
	if ((req->access & PLEXUS__BDEV_ACCESS__BDEV_W_BIT) && part.read_only)
		return -EROFS;
	if (self->opens[req->minor] == UINT32_MAX)
		return -EMFILE;
	if (self->ops->open && (rc = self->ops->open(self->arg, req->minor, req->access)) < 0)
		return rc;
	self->opens[req->minor]++;
	if ((rc = bdr_opens_save(self)) < 0) {
		/* Not remembered across a restart: refuse rather than lose count. */
		self->opens[req->minor]--;
		if (self->ops->close)
			self->ops->close(self->arg, req->minor);
	}
	return rc;
}

int bdr_do_close(plx_call *call)
{
	plx_blockdriver *self;
	const Plexus__BdevMinor *req = (const Plexus__BdevMinor *)call->body;
	plx_bdev_part part;
	int rc = bdr_admit(call, &self);
	if (rc == 0)
		rc = bdr_part(self, req->minor, &part);
	if (rc < 0)
		return rc;
	if (self->opens[req->minor] == 0)
		return -EINVAL; /* closing what nobody opened */
	if (self->ops->close && (rc = self->ops->close(self->arg, req->minor)) < 0)
		return rc;
	self->opens[req->minor]--;
	/* The close happened; a failed save only means a restart would count one open too
	 * many, which a later close evens out. */
	bdr_opens_save(self);
	return 0;
}
