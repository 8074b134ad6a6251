/*
 * endpoint.c — endpoints: one service instance's name, its inbound socket and its mailbox.
 *
 * Entry points: plx_ep_new, plx_ep_bind, plx_ep_address, plx_ep_name, plx_ep_ctx, plx_ep_destroy;
 * internal plx__ep_hold, plx__ep_release.
 *
 * The inbound socket is a ROUTER: it learns each sender's routing id so that replies find
 * their way back, and with ZMQ_ROUTER_MANDATORY a reply to a vanished sender fails instead of
 * disappearing. The mailbox is a locked queue with an eventfd through which other threads
 * hand replies and asynsends to the owner thread, the only one that touches the ROUTER.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>

#include "internal.h"

#define S_REPLY_TIMEOUT_MS 1000 /* longest a reply may wait for room in a full queue */

static atomic_uint_fast64_t s_wake_serial;

/*
 * A wake-up is how another thread ends the owner's loop, after which the owner destroys the
 * endpoint, possibly while the waking thread is still sending. A hold keeps plx_ep_destroy
 * waiting until the waker is done with the endpoint.
 */
void plx__ep_hold(plx_ep *ep)
{
	atomic_fetch_add(&ep->holds, 1);
}

void plx__ep_release(plx_ep *ep)
{
	atomic_fetch_sub(&ep->holds, 1);
}

static void s_mailbox_clear(plx_ep *self)
{
	while (self->mailbox_head) {
		plx_handover *next = self->mailbox_head->next;
		plx__frames_close(self->mailbox_head->frames, self->mailbox_head->nframes);
		plx_msg_destroy(&self->mailbox_head->msg);
		free(self->mailbox_head);
		self->mailbox_head = next;
	}
	self->mailbox_tail = NULL;
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
	self->router_fd = -1;
	self->router_timeout = -1; /* ZeroMQ's default: block */
	atomic_init(&self->next_request_id, 1);
	atomic_init(&self->mailbox_news, false);
	atomic_init(&self->woken, false);
	atomic_init(&self->holds, 0);
	self->mailbox_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int rc = self->mailbox_fd < 0 ? errno : pthread_key_create(&self->port_key, NULL);
	if (rc != 0) {
		if (self->mailbox_fd >= 0)
			close(self->mailbox_fd);
		free(self);
		errno = rc;
		return NULL;
	}
	pthread_mutex_init(&self->ports_lock, NULL);
	pthread_mutex_init(&self->mailbox_lock, NULL);
	return self;
}

static void s_router_options(plx_ep *self)
{
	int one = 1, linger = 0, send_timeout = S_REPLY_TIMEOUT_MS;
	/* A hard guard against memory exhaustion: ZeroMQ drops larger messages and disconnects
	 * their sender. Between the maximum and the guard a sender is answered -EMSGSIZE. */
	int64_t max = (int64_t)(2 * plx__max_data(self->ctx) + PLX_ENVELOPE_MAX);
	zmq_setsockopt(self->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
	zmq_setsockopt(self->router, ZMQ_LINGER, &linger, sizeof linger);
	zmq_setsockopt(self->router, ZMQ_SNDTIMEO, &send_timeout, sizeof send_timeout);
	zmq_setsockopt(self->router, ZMQ_MAXMSGSIZE, &max, sizeof max);
}

/* Binds the router's second, process-local address, where other threads wake the owner.
 * The token tells a genuine wake-up from a peer's message. */
static int s_bind_wake(plx_ep *self)
{
	if (getrandom(self->wake_token, sizeof self->wake_token, 0) != sizeof self->wake_token)
		return -EIO;
	snprintf(self->wake_address, sizeof self->wake_address, "inproc://plexus-wake-%lu",
	         (unsigned long)atomic_fetch_add(&s_wake_serial, 1));
	return zmq_bind(self->router, self->wake_address) == 0 ? 0 : -errno;
}

int plx_ep_bind(plx_ep *self, const char *address)
{
	if (!plx__address_ok(address) || strlen(address) >= PLX_ADDRESS_MAX)
		return -EINVAL;
	if (self->router)
		return -EALREADY;
	self->inproc = plx__address_local(address);
	if (!self->inproc && !self->peerq && !(self->peerq = plx__peerq_new()))
		return -ENOMEM;
	self->router = zmq_socket(self->ctx->zmq, ZMQ_ROUTER);
	if (!self->router)
		return -errno;
	s_router_options(self);
	size_t size = sizeof self->address, fd_size = sizeof self->router_fd;
	int secure = plx__secure_router(self);
	if (secure < 0)
		errno = -secure;
	if (secure < 0 || zmq_bind(self->router, address) != 0 ||
	    zmq_getsockopt(self->router, ZMQ_LAST_ENDPOINT, self->address, &size) != 0 ||
	    zmq_getsockopt(self->router, ZMQ_FD, &self->router_fd, &fd_size) != 0 ||
	    s_bind_wake(self) != 0) {
		int err = errno ? errno : EIO;
		zmq_close(self->router);
		self->router = NULL;
		self->address[0] = '\0';
		return -err;
	}
	if (self->keyed && !self->inproc) { /* the published address carries the key */
		char plain[PLX_ADDRESS_MAX];
		snprintf(plain, sizeof plain, "%s", self->address);
		int n = snprintf(self->address, sizeof self->address, "curve:%.40s@%.200s",
		                 self->keys.public_key, plain);
		if (n < 0 || (size_t)n >= sizeof self->address || strlen(plain) > 200) {
			zmq_close(self->router);
			self->router = NULL;
			self->address[0] = '\0';
			return -ENAMETOOLONG;
		}
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

plx_ctx *plx_ep_ctx(const plx_ep *self)
{
	return self->ctx;
}

void plx_ep_destroy(plx_ep **self_p)
{
	plx_ep *self = self_p ? *self_p : NULL;
	if (!self)
		return;
	while (atomic_load(&self->holds) > 0)
		sched_yield(); /* a waker is finishing its send; it takes microseconds */
	plx__queue_clear(&self->queue);
	plx__queue_clear(&self->notifies);
	while (self->ports) {
		plx_port *next = self->ports->next;
		plx__port_destroy(self->ports);
		self->ports = next;
	}
	if (self->router) {
		plx__batch_send(&self->replies, self->router, self->replies_rid,
		                self->replies_rid_size, ZMQ_DONTWAIT);
		zmq_close(self->router);
	}
	plx__batch_free(&self->replies);
	plx__peerq_release(&self->peerq); /* freed when ZeroMQ let go of its last counted frame */
	s_mailbox_clear(self);
	close(self->mailbox_fd);
	pthread_key_delete(self->port_key);
	pthread_mutex_destroy(&self->ports_lock);
	pthread_mutex_destroy(&self->mailbox_lock);
	free(self);
	*self_p = NULL;
}
