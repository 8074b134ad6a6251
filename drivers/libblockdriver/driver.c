/*
 * driver.c — the block driver object, its tie to a server, its start and announcement
 * (task.c runs its whole life).
 *
 * Entry points: plx_blockdriver_new, plx_blockdriver_destroy, plx_blockdriver_attach,
 * plx_blockdriver_start, plx_blockdriver_announce, plx_blockdriver_tick,
 * plx_blockdriver_open_count; bdr_of, bdr_part.
 *
 * Handlers find their driver through the server they run in: a small table from server to
 * driver, so that a server's argument stays its owner's and several libraries' handlers can
 * share one server.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <plexus/family.h>

#include "internal.h"

static const char s_key = 0; /* this library's slot in a server (plx_server_attach) */

plx_blockdriver *plx_blockdriver_new(const plx_blockdriver_ops *ops, void *arg)
{
	if (!ops || !ops->part || !ops->transfer) {
		errno = EINVAL;
		return NULL;
	}
	plx_blockdriver *self = calloc(1, sizeof *self);
	if (!self)
		return NULL;
	self->ops = ops;
	self->arg = arg;
	plx_register_family(&plx_family_bdev);
	return self;
}

void plx_blockdriver_destroy(plx_blockdriver **self_p)
{
	if (!self_p || !*self_p)
		return;
	plx_blockdriver *self = *self_p;
	if (self->ops->cleanup)
		self->ops->cleanup(self->arg);
	free(self->buf);
	free(self);
	*self_p = NULL;
}

static plx_blockdriver *s_lookup(const plx_server *server)
{
	return plx_server_attached(server, &s_key);
}

static void s_on_tick(plx_server *server)
{
	plx_blockdriver *self = s_lookup(server);
	if (self)
		plx_blockdriver_tick(self);
}

int plx_blockdriver_attach(plx_blockdriver *self, plx_server *srv)
{
	/* a driver serves one server; a server has one driver of this kind */
	int rc = self->server ? -EBUSY : plx_server_attach(srv, &s_key, self);
	if (rc == 0) {
		self->server = srv;
		if (self->ops->alarm && self->ops->alarm_ms > 0)
			plx_server_on_tick(srv, s_on_tick, self->ops->alarm_ms);
	}
	return rc;
}

plx_blockdriver *bdr_of(const plx_call *call)
{
	return s_lookup(call->server);
}

int bdr_part(plx_blockdriver *self, uint32_t minor, plx_bdev_part *part)
{
	if (minor >= PLX_BDEV_MINORS)
		return -ENXIO;
	plx_bdev_part p = {0};
	int rc = self->ops->part(self->arg, minor, &p);
	if (rc < 0)
		return rc == -ENXIO ? rc : -ENXIO;
	if (p.sector_size == 0 || (p.sector_size & (p.sector_size - 1)) != 0)
		return -EIO; /* a driver bug: say so rather than divide by it */
	*part = p;
	return 0;
}

int bdr_opens_save(plx_blockdriver *self)
{
	if (!self->svc)
		return 0;
	const char *key = PLX_BDEV_STATE_KEY;
	size_t n = PLX_BDEV_MINORS;
	while (n > 0 && self->opens[n - 1] == 0)
		n--;
	if (n == 0) {
		int rc = plx_service_state_drop(self->svc, key);
		return rc == -ENOENT || rc == -ESRCH ? 0 : rc;
	}
	return plx_service_state_save(self->svc, key, self->opens, n * sizeof *self->opens);
}

/* The open counts the previous instance saved: 0 or an error (the counts then all 0). */
static int s_restore_opens(plx_blockdriver *self, plx_service *svc)
{
	size_t size = sizeof self->opens;
	memset(self->opens, 0, sizeof self->opens);
	int rc = plx_service_state_restore(svc, PLX_BDEV_STATE_KEY, self->opens, &size);
	if (rc == -ENOENT || rc == -ESRCH)
		rc = 0; /* nothing was open */
	else if (rc == 0 && size % sizeof *self->opens != 0)
		rc = -EBADMSG;
	if (rc < 0)
		memset(self->opens, 0, sizeof self->opens);
	return rc;
}

/* A warm spare activated: the counts saved since it started are the ones that hold now. */
static void s_activated(void *arg, plx_service *svc)
{
	(void)s_restore_opens(arg, svc);
}

int plx_blockdriver_start(plx_blockdriver *self, plx_service *svc)
{
	bool restarted = plx_service_restarted(svc);
	self->svc = svc;
	memset(self->opens, 0, sizeof self->opens);
	int rc = 0;
	if (restarted) {
		rc = s_restore_opens(self, svc);
		plx_service_on_activate(svc, s_activated, self);
	} else
		rc = bdr_opens_save(self); /* drops a previous life's counts */
	if (rc < 0) {
		memset(self->opens, 0, sizeof self->opens);
		return rc;
	}
	return self->ops->init ? self->ops->init(self->arg, svc, restarted) : 0;
}

int plx_blockdriver_announce(plx_blockdriver *self, plx_service *svc)
{
	(void)self;
	char key[PLX_DS_KEY_MAX];
	snprintf(key, sizeof key, "drv.blk.%s", plx_service_config(svc)->label);
	return plx_ds_publish_str(plx_service_ds(svc), key, "up", PLX_DSF_OVERWRITE);
}

void plx_blockdriver_tick(plx_blockdriver *self)
{
	if (self->ops->alarm)
		self->ops->alarm(self->arg);
}

uint32_t plx_blockdriver_open_count(const plx_blockdriver *self, uint32_t minor)
{
	return minor < PLX_BDEV_MINORS ? self->opens[minor] : 0;
}
