/*
 * endpoint.c — endpoints: one service instance's name, its inbound socket and its mailbox.
 *
 * Entry points: plx_ep_new, plx_ep_bind, plx_ep_address, plx_ep_name, plx_ep_destroy;
 * internal plx__is_owner.
 *
 * The inbound socket is a ROUTER: it learns each sender's routing id so that replies find
 * their way back, and with ZMQ_ROUTER_MANDATORY a reply to a vanished sender fails instead of
 * disappearing. The mailbox is an inproc PULL socket through which other threads hand replies
 * and asynsends to the owner thread, the only one that touches the ROUTER.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define S_REPLY_TIMEOUT_MS 1000 /* longest a reply may wait for room in a full queue */

static atomic_uint_fast64_t s_mailbox_serial;

bool plx__is_owner(const plx_ep *ep)
{
	return pthread_equal(ep->owner, pthread_self());
}

static int s_mailbox_open(plx_ep *self)
{
	snprintf(self->mailbox_address, sizeof self->mailbox_address, "inproc://plexus-mailbox-%p-%lu",
		 (void *)self, (unsigned long)atomic_fetch_add(&s_mailbox_serial, 1));
	self->mailbox = zmq_socket(self->ctx->zmq, ZMQ_PULL);
	if (!self->mailbox)
		return -errno;
	if (zmq_bind(self->mailbox, self->mailbox_address) != 0)
		return -errno;
	return 0;
}

plx_ep *plx_ep_new(plx_ctx *ctx, const char *label, uint64_t generation)
{
	if (!label || !*label || strlen(label) >= PLX_LABEL_MAX) {
		errno = EINVAL;
		return NULL;
	}
	plx_ep *self = calloc(1, sizeof *self);
	if (!self)
		return NULL;
	self->ctx = ctx;
	snprintf(self->name.label, sizeof self->name.label, "%s", label);
	self->name.generation = generation;
	self->owner = pthread_self();
	pthread_mutex_init(&self->ports_lock, NULL);
	atomic_init(&self->next_request_id, 1);
	int rc = pthread_key_create(&self->port_key, NULL);
	if (rc != 0) {
		pthread_mutex_destroy(&self->ports_lock);
		free(self);
		errno = rc;
		return NULL;
	}
	if (s_mailbox_open(self) != 0) {
		int err = errno;
		plx_ep_destroy(&self);
		errno = err;
		return NULL;
	}
	return self;
}

static bool s_supported(const char *address)
{
	return strncmp(address, "inproc://", 9) == 0 || strncmp(address, "ipc://", 6) == 0 ||
	       strncmp(address, "tcp://", 6) == 0;
}

static void s_router_options(plx_ep *self)
{
	int one = 1, linger = 0, send_timeout = S_REPLY_TIMEOUT_MS;
	/* A hard guard against memory exhaustion: ZeroMQ drops larger messages and disconnects
	 * their sender. Between the maximum and the guard a sender is answered -EMSGSIZE. */
	int64_t max = (int64_t)(2 * plx_ctx_max_data(self->ctx) + PLX_ENVELOPE_MAX);
	zmq_setsockopt(self->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
	zmq_setsockopt(self->router, ZMQ_LINGER, &linger, sizeof linger);
	zmq_setsockopt(self->router, ZMQ_SNDTIMEO, &send_timeout, sizeof send_timeout);
	zmq_setsockopt(self->router, ZMQ_MAXMSGSIZE, &max, sizeof max);
}

int plx_ep_bind(plx_ep *self, const char *address)
{
	if (!address || !s_supported(address) || strlen(address) >= PLX_ADDRESS_MAX)
		return -EINVAL;
	if (self->router)
		return -EALREADY;
	self->router = zmq_socket(self->ctx->zmq, ZMQ_ROUTER);
	if (!self->router)
		return -errno;
	s_router_options(self);
	size_t size = sizeof self->address;
	if (zmq_bind(self->router, address) != 0 ||
	    zmq_getsockopt(self->router, ZMQ_LAST_ENDPOINT, self->address, &size) != 0) {
		int err = errno;
		zmq_close(self->router);
		self->router = NULL;
		self->address[0] = '\0';
		return -err;
	}
	return 0;
}

const char *plx_ep_address(const plx_ep *self)
{
	return self->router ? self->address : NULL;
}

const plx_name *plx_ep_name(const plx_ep *self)
{
	return &self->name;
}

void plx_ep_destroy(plx_ep **self_p)
{
	plx_ep *self = self_p ? *self_p : NULL;
	if (!self)
		return;
	plx__queue_clear(&self->queue);
	plx__queue_clear(&self->notifies);
	while (self->ports) {
		plx_port *next = self->ports->next;
		plx__port_destroy(self->ports);
		self->ports = next;
	}
	if (self->router)
		zmq_close(self->router);
	if (self->mailbox)
		zmq_close(self->mailbox);
	pthread_key_delete(self->port_key);
	pthread_mutex_destroy(&self->ports_lock);
	free(self);
	*self_p = NULL;
}
