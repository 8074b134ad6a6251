/*
 * ioctl.c — BDEV_IOCTL and BDEV_FLUSH.
 *
 * Entry points: bdr_do_ioctl, bdr_do_flush.
 *
 * BDEV_IOC_INFO is answered here from the part callback and the open count; every other
 * request goes to the driver's ioctl callback with the request's data frame as its argument.
 */
#include <stdlib.h>

#include "internal.h"

static int s_info(plx_call *call, plx_blockdriver *self, uint32_t minor, const plx_bdev_part *part)
{
	Plexus__BdevInfo info = PLEXUS__BDEV_INFO__INIT;
	info.size = part->size;
	info.sector_size = part->sector_size;
	info.read_only = part->read_only;
	info.open_count = self->opens[minor];
	info.max_io = PLX_BDEV_MAX_IO;
	Plexus__BdevReply reply = PLEXUS__BDEV_REPLY__INIT;
	reply.info = &info;
	plx_call_reply(call, 0, &reply.base, NULL, 0);
	return PLX_SUSPEND;
}

int bdr_do_ioctl(plx_call *call)
{
	plx_blockdriver *self;
	const Plexus__BdevIoctl *req = (const Plexus__BdevIoctl *)call->body;
	plx_bdev_part part;
	int rc = bdr_admit(call, &self);
	if (rc == 0)
		rc = bdr_part(self, req->minor, &part);
	if (rc < 0)
		return rc;
	if (call->msg->data_size > PLX_BDEV_IOCTL_MAX)
		return -EINVAL;
	if (req->request == PLEXUS__BDEV_IOCTL_REQUEST__BDEV_IOC_INFO)
		return s_info(call, self, req->minor, &part);
	if (!self->ops->ioctl)
		return -ENOTTY;
	void *out = calloc(1, PLX_BDEV_IOCTL_MAX);
	size_t out_size = 0;
	if (!out)
		return -ENOMEM;
	rc = self->ops->ioctl(self->arg, req->minor, req->request, call->msg->data,
	                      call->msg->data_size, out, &out_size);
	if (rc == 0) {
		Plexus__BdevReply reply = PLEXUS__BDEV_REPLY__INIT;
		reply.count = out_size > PLX_BDEV_IOCTL_MAX ? PLX_BDEV_IOCTL_MAX : out_size;
		plx_call_reply(call, 0, &reply.base, out, reply.count);
		rc = PLX_SUSPEND;
	}
	free(out);
	return rc;
}

int bdr_do_flush(plx_call *call)
{
	plx_blockdriver *self;
	const Plexus__BdevMinor *req = (const Plexus__BdevMinor *)call->body;
	plx_bdev_part part;
	int rc = bdr_admit(call, &self);
	if (rc == 0)
		rc = bdr_part(self, req->minor, &part);
	if (rc < 0)
		return rc;
	return self->ops->flush ? self->ops->flush(self->arg, req->minor) : 0;
}
