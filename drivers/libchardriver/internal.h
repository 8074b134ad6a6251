/*
 * internal.h — what the character driver library's files share: the driver object, a request,
 * a select registration, and the handlers of table.c.
 */
#ifndef PLEXUS_CHARDRIVER_INTERNAL_H
#define PLEXUS_CHARDRIVER_INTERNAL_H

#include <pthread.h>

#include <plexus/chardriver.h>

#include "plexus/proto/cdev.pb-c.h"

struct plx_cdev_req {
	plx_chardriver *driver;
	plx_call *call;
	uint32_t type;
	uint32_t minor;
	uint32_t flags;
	uint64_t position;
	uint64_t size;
	uint64_t id;
	uint64_t reply_position;
	struct plx_cdev_req *next; /* on the pending list */
};

typedef struct cdr_select {
	plx_name caller;
	uint32_t minor;
	uint64_t id;
	uint32_t ops;
	struct cdr_select *next;
} cdr_select;

struct plx_chardriver {
	const plx_chardriver_ops *ops;
	void *arg;
	pthread_mutex_t lock;  /* guards server, stopped, pending and selects */
	plx_server *server;    /* attached to, or NULL */
	plx_ctx *ctx;          /* after plx_chardriver_start: where dead callers are known */
	bool stopped;          /* after plx_chardriver_abort: nothing more is suspended */
	plx_cdev_req *pending; /* oldest first */
	size_t npending;
	cdr_select *selects;
	size_t nselects;
	uint8_t *buf; /* immediate reads land here; kept between requests */
	size_t buf_size;
};

/* The character driver attached to the server call runs in, or NULL. */
plx_chardriver *cdr_of(const plx_call *call);
/* 0 when minor exists, -ENXIO otherwise. */
int cdr_minor(plx_chardriver *self, uint32_t minor);
/* A request for call; NULL with -ENOMEM semantics. */
plx_cdev_req *cdr_req_new(plx_chardriver *self, plx_call *call, uint32_t minor);
void cdr_req_free(plx_cdev_req *req);
/* Starts following caller's label in the route table (plx_is_gone: one registry read the
 * first time, maybe blocking), so that later checks under the driver's lock
 * (plx_is_known_gone) read memory only. Called before the lock is taken. */
void cdr_follow_caller(plx_chardriver *self, const plx_name *caller);
/* Takes the pending request (caller, minor, id) off the list, or returns NULL. */
plx_cdev_req *cdr_pending_take(plx_chardriver *self, const plx_name *caller, uint32_t minor,
                               uint64_t id);
/* The select operations a registration may await. */
#define CDR_SEL_OP_BITS                                                                            \
	(PLEXUS__CDEV_SEL_OP__CDEV_SEL_RD | PLEXUS__CDEV_SEL_OP__CDEV_SEL_WR |                     \
	 PLEXUS__CDEV_SEL_OP__CDEV_SEL_ERR)
/* Replaces the registration (caller, minor, id) by one for ops (none when ops is 0). Returns 0
 * or -ENOSPC. */
int cdr_select_register(plx_chardriver *self, const plx_name *caller, uint32_t minor, uint64_t id,
                        uint32_t ops);
/* Removes ready from the registration (caller, minor, id), if it is still there. */
void cdr_select_trim(plx_chardriver *self, const plx_name *caller, uint32_t minor, uint64_t id,
                     uint32_t ready);
/* Forgets every select registration. */
void cdr_selects_clear(plx_chardriver *self);

int cdr_do_open(plx_call *call);
int cdr_do_close(plx_call *call);
int cdr_do_read(plx_call *call);
int cdr_do_write(plx_call *call);
int cdr_do_ioctl(plx_call *call);
int cdr_do_select(plx_call *call);
int cdr_do_cancel(plx_call *call);

#endif
