/*
 * select.c — the select registrations CDEV_SELECT makes (io.c) and the later readiness
 * reports (CDEV_SEL2_REPLY).
 *
 * Entry points: plx_chardriver_ready; cdr_select_register, cdr_select_trim, cdr_selects_clear.
 *
 * A registration is (caller endpoint, minor, id, operations still awaited). It is made before
 * the driver's select callback is asked, and trimmed by what the callback says is ready, so a
 * plx_chardriver_ready from another thread in between is never lost. A report ends the
 * registration (one shot, as MINIX's SEL2_REPLY); a new select with the same caller, minor and
 * id replaces it; ops 0 withdraws it.
 */
#include <stdlib.h>
#include <string.h>

#include <plexus/cdev_stub.h>

#include "internal.h"

static bool s_same(const cdr_select *s, const plx_name *caller, uint32_t minor, uint64_t id)
{
	return s->minor == minor && s->id == id && s->caller.generation == caller->generation &&
	       strcmp(s->caller.label, caller->label) == 0;
}

/* Unlinks and returns the registration (caller, minor, id), or NULL. Under the lock. */
static cdr_select *s_unlink(plx_chardriver *self, const plx_name *caller, uint32_t minor,
                            uint64_t id)
{
	for (cdr_select **p = &self->selects; *p; p = &(*p)->next)
		if (s_same(*p, caller, minor, id)) {
			cdr_select *s = *p;
			*p = s->next;
			self->nselects--;
			return s;
		}
	return NULL;
}

int cdr_select_register(plx_chardriver *self, const plx_name *caller, uint32_t minor, uint64_t id,
                        uint32_t ops)
{
	int rc = 0;
	if (ops)
		cdr_follow_caller(self, caller);
	pthread_mutex_lock(&self->lock);
	free(s_unlink(self, caller, minor, id));
	if (ops) {
		cdr_select *s = self->nselects < PLX_CDEV_SELECT_MAX ? calloc(1, sizeof *s) : NULL;
		if (s) {
			s->caller = *caller;
			s->minor = minor;
			s->id = id;
			s->ops = ops;
			s->next = self->selects;
			self->selects = s;
			self->nselects++;
		} else
			rc = -ENOSPC;
	}
	pthread_mutex_unlock(&self->lock);
	return rc;
}

void cdr_select_trim(plx_chardriver *self, const plx_name *caller, uint32_t minor, uint64_t id,
                     uint32_t ready)
{
	pthread_mutex_lock(&self->lock);
	cdr_select *s = s_unlink(self, caller, minor, id);
	if (s && (s->ops &= ~ready) != 0) {
		s->next = self->selects;
		self->selects = s;
		self->nselects++;
		s = NULL;
	}
	free(s);
	pthread_mutex_unlock(&self->lock);
}

/* Sends one CDEV_SEL2_REPLY from ep, through its typed stub. */
static void s_report(plx_ep *ep, const cdr_select *s, uint32_t ops)
{
	Plexus__CdevSelReady body = PLEXUS__CDEV_SEL_READY__INIT;
	body.minor = s->minor;
	body.id = s->id;
	body.ops = ops;
	plx_stub st;
	/* a caller that has gone has nobody to tell */
	if (plx_stub_init(&st, ep, s->caller.label, s->caller.generation, PLX_FOREVER) == 0)
		(void)plx_cdev_sel2_send(&st, &body, NULL, 0, NULL);
}

int plx_chardriver_ready(plx_chardriver *self, uint32_t minor, uint32_t ops)
{
	int sent = 0;
	ops &= CDR_SEL_OP_BITS;
	pthread_mutex_lock(&self->lock);
	plx_ep *ep = self->server ? plx_server_ep(self->server) : NULL;
	for (cdr_select **p = &self->selects; *p && ep;) {
		cdr_select *s = *p;
		if (s->minor != minor || (s->ops & ops) == 0) {
			p = &s->next;
			continue;
		}
		*p = s->next;
		self->nselects--;
		if (!self->ctx ||
		    !plx_is_known_gone(self->ctx, s->caller.label, s->caller.generation)) {
			s_report(ep, s, s->ops & ops); /* asynsend queues; it does not wait */
			sent++;
		}
		free(s);
	}
	pthread_mutex_unlock(&self->lock);
	return sent;
}

void cdr_selects_clear(plx_chardriver *self)
{
	pthread_mutex_lock(&self->lock);
	while (self->selects) {
		cdr_select *s = self->selects;
		self->selects = s->next;
		free(s);
	}
	self->nselects = 0;
	pthread_mutex_unlock(&self->lock);
}
