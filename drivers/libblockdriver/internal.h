/*
 * internal.h — what the block driver library's files share: the driver object and the
 * handlers of table.c.
 */
#ifndef PLEXUS_BLOCKDRIVER_INTERNAL_H
#define PLEXUS_BLOCKDRIVER_INTERNAL_H

#include <plexus/blockdriver.h>

#include "plexus/proto/bdev.pb-c.h"

struct plx_blockdriver {
	const plx_blockdriver_ops *ops;
	void *arg;
	plx_server *server; /* attached to, or NULL */
	plx_service *svc;   /* after plx_blockdriver_start: where the open counts are saved */
	uint32_t opens[PLX_BDEV_MINORS];
	uint8_t *buf; /* reads land here; kept between requests (fresh pages cost a fault each) */
	size_t buf_size;
};

/* The block driver attached to the server call runs in, or NULL. */
plx_blockdriver *bdr_of(const plx_call *call);
/* Fills *part for the request's minor; -ENXIO for an unknown one. */
int bdr_part(plx_blockdriver *self, uint32_t minor, plx_bdev_part *part);
/* Saves the open counts when the driver has a service. Returns 0 or a DS error. */
int bdr_opens_save(plx_blockdriver *self);

int bdr_do_open(plx_call *call);
int bdr_do_close(plx_call *call);
int bdr_do_transfer(plx_call *call);
int bdr_do_ioctl(plx_call *call);
int bdr_do_flush(plx_call *call);

#endif
