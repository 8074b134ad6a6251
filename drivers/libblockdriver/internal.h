/*
 * internal.h — what the block driver library's files share: the driver object and the
 * handlers of table.c.
 */
#ifndef PLEXUS_BLOCKDRIVER_INTERNAL_H
#define PLEXUS_BLOCKDRIVER_INTERNAL_H

#include <plexus/blockdriver.h>

#include "plexus/proto/bdev.pb-c.h"

#define BDR_CALLERS_MAX 64 /* caller labels whose generations are kept in order (callers.c) */

/* The newest generation of one caller label served so far (generation 0: a free slot). */
typedef struct bdr_caller {
	char label[PLX_LABEL_MAX];
	uint64_t generation;
	uint64_t seen; /* callers_clock when last heard from */
} bdr_caller;

struct plx_blockdriver {
	const plx_blockdriver_ops *ops;
	void *arg;
	plx_server *server; /* attached to, or NULL */
	plx_service *svc;   /* after plx_blockdriver_start: where the open counts are saved */
	uint32_t opens[PLX_BDEV_MINORS];
	uint8_t *buf; /* reads land here; kept between requests (fresh pages cost a fault each) */
	size_t buf_size;
	bdr_caller callers[BDR_CALLERS_MAX];
	uint64_t callers_clock;
};

/* The block driver attached to the server call runs in, or NULL. */
plx_blockdriver *bdr_of(const plx_call *call);
/* Sets *self_p to the call's block driver (NULL: none) and admits the call: 0, -ENXIO without
 * a driver, or -ESTALE for a caller generation older than one already served (callers.c).
 * Every BDEV handler starts with it. */
int bdr_admit(const plx_call *call, plx_blockdriver **self_p);
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
