/*
 * driver.c — the character driver object, its tie to a server, its start and announcement
 * (task.c runs its whole life).
 *
 * Entry points: plx_chardriver_new, plx_chardriver_destroy, plx_chardriver_attach,
 * plx_chardriver_start, plx_chardriver_announce, plx_chardriver_tick, plx_chardriver_abort;
 * cdr_of, cdr_minor.
 *
 * Handlers find their driver through the server they run in: a small table from server to
 * driver, so that a server's argument stays its owner's and several libraries' handlers can
 * share one server (as libblockdriver does).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <plexus/family.h>

#include "internal.h"

static const char s_key = 0; /* this library's slot in a server (plx_server_attach) */

plx_chardriver *plx_chardriver_new(const plx_chardriver_ops *ops, void *arg)
{
	if (!ops) {
		errno = EINVAL;
		return NULL;
	}
	plx_chardriver *self = calloc(1, sizeof *self);
	if (!self)
		return NULL;
	self->ops = ops;
	self->arg = arg;
	pthread_mutex_init(&self->lock, NULL);
	plx_register_family(&plx_family_cdev);
	return self;
}

void plx_chardriver_destroy(plx_chardriver **self_p)
{
	if (!self_p || !*self_p)
		return;
	plx_chardriver *self = *self_p;
	cdr_selects_clear(self);
	if (self->ops->cleanup)
		self->ops->cleanup(self->arg);
	pthread_mutex_destroy(&self->lock);
	free(self->buf);
	free(self);
	*self_p = NULL;
}

static plx_chardriver *s_lookup(const plx_server *server)
{
	return plx_server_attached(server, &s_key);
}

static void s_on_tick(plx_server *server)
{
	plx_chardriver *self = s_lookup(server);
	if (self)
		plx_chardriver_tick(self);
}

int plx_chardriver_attach(plx_chardriver *self, plx_server *srv)
{
	/* a driver serves one server; a server has one driver of this kind */
	int rc = self->server ? -EBUSY : plx_server_attach(srv, &s_key, self);
	if (rc == 0) {
		pthread_mutex_lock(&self->lock);
		self->server = srv;
		self->stopped = false;
		pthread_mutex_unlock(&self->lock);
		if (self->ops->alarm && self->ops->alarm_ms > 0)
			plx_server_on_tick(srv, s_on_tick, self->ops->alarm_ms);
	}
	return rc;
}

plx_chardriver *cdr_of(const plx_call *call)
{
	return s_lookup(call->server);
}

int cdr_minor(plx_chardriver *self, uint32_t minor)
{
	if (minor >= PLX_CDEV_MINORS)
		return -ENXIO;
	if (self->ops->exists && !self->ops->exists(self->arg, minor))
		return -ENXIO;
	return 0;
}

int plx_chardriver_start(plx_chardriver *self, plx_service *svc)
{
	bool restarted = plx_service_restarted(svc);
	pthread_mutex_lock(&self->lock);
	self->ctx = plx_service_ctx(svc);
	pthread_mutex_unlock(&self->lock);
	return self->ops->init ? self->ops->init(self->arg, svc, restarted) : 0;
}

int plx_chardriver_announce(plx_chardriver *self, plx_service *svc)
{
	(void)self;
	char key[PLX_DS_KEY_MAX];
	snprintf(key, sizeof key, "drv.chr.%s", plx_service_config(svc)->label);
	return plx_ds_publish_str(plx_service_ds(svc), key, "up", PLX_DSF_OVERWRITE);
}

void plx_chardriver_tick(plx_chardriver *self)
{
	if (self->ops->alarm)
		self->ops->alarm(self->arg);
}

void plx_chardriver_abort(plx_chardriver *self, int status)
{
	pthread_mutex_lock(&self->lock);
	plx_cdev_req *list = self->pending;
	self->pending = NULL;
	self->npending = 0;
	self->server = NULL; /* no more select reports: the server is about to go */
	self->stopped = true;
	pthread_mutex_unlock(&self->lock);
	while (list) {
		plx_cdev_req *next = list->next;
		plx_cdev_req_reply(list, status < 0 ? status : -EIO, NULL, 0);
		list = next;
	}
	cdr_selects_clear(self);
}
