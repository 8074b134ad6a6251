/*
 * receive.c — the receiving side: plx_receive and plx_reply.
 *
 * Entry points: plx_receive, plx_reply, plx_ep_wake.
 *
 * plx_receive polls, in the owner thread, the inbound ROUTER, the mailbox and the owner's
 * outbound DEALERs (where asynsend replies return). Each round drains up to
 * PLX_RECEIVE_BATCH messages per socket: requests are validated here (malformed ones and ones
 * for another instance are answered with an error at once and never returned), notifies from
 * the same source and of the same type that meet in a round coalesce into one, and, as in
 * MINIX, pending notifies are delivered before other messages.
 */
#include <assert.h>
#include <string.h>

#include "internal.h"
#include "plexus/proto/ipc.pb-c.h"

static const plx_name s_nobody = {.label = "", .generation = 0};

/* Answers a message that will not be delivered. msg may be NULL (no envelope). */
static void s_refuse(plx_ep *ep, const uint8_t *rid, size_t rid_size, const plx_msg *msg,
		     int status)
{
	if (msg && (msg->kind == PLX_REPLY || msg->kind == PLX_NOTIFY))
		return; /* nobody waits for an answer to a reply or a notify */
	plx_outgoing out = {
		.kind = PLX_REPLY,
		.type = msg && msg->type ? msg->type : PLEXUS__IPC_TYPE__IPC_ERROR,
		.status = status,
		.request_id = msg ? msg->request_id : 0,
		.source = &ep->name,
		.destination = msg ? &msg->source : &s_nobody,
	};
	plx__frames_send(ep->ctx, ep->router, rid, rid_size, &out, ZMQ_DONTWAIT);
}

static bool s_for_me(const plx_ep *ep, const plx_msg *msg)
{
	return msg->destination.generation == ep->name.generation &&
	       strcmp(msg->destination.label, ep->name.label) == 0;
}

/* Queues a notify unless one from the same source and of the same type is already pending. */
static void s_queue_notify(plx_ep *ep, plx_msg *msg)
{
	for (plx_msg *p = ep->notifies.head; p; p = p->priv->next)
		if (p->type == msg->type && p->source.generation == msg->source.generation &&
		    strcmp(p->source.label, msg->source.label) == 0) {
			plx_msg_destroy(&msg);
			return;
		}
	plx__queue_push(&ep->notifies, msg);
}

/* Decides the fate of one message from the ROUTER: refuse, drop, or queue. */
static void s_accept(plx_ep *ep, const uint8_t *rid, size_t rid_size, plx_msg *msg, int rc)
{
	if (rc == 0 && msg->kind == PLX_REPLY)
		rc = -EBADMSG; /* replies come back on DEALERs, never to the ROUTER */
	else if (rc == 0 && !s_for_me(ep, msg))
		rc = -PLX_EDEADSRCDST;
	if (rc != 0) {
		s_refuse(ep, rid, rid_size, msg, rc);
		plx_msg_destroy(&msg);
		return;
	}
	memcpy(msg->priv->routing_id, rid, rid_size);
	msg->priv->routing_id_size = rid_size;
	if (atomic_load_explicit(&ep->ctx->trace_on, memory_order_relaxed))
		plx__trace_in(ep->ctx, msg, 0);
	if (msg->kind == PLX_NOTIFY)
		s_queue_notify(ep, msg);
	else
		plx__queue_push(&ep->queue, msg);
}

/* Reads one message from the ROUTER. Returns false when none was waiting. */
static bool s_from_router(plx_ep *ep)
{
	zmq_msg_t frames[3];
	int n;
	if (plx__frames_recv(ep->router, frames, 3, &n) != 0)
		return false;
	uint8_t rid[sizeof ((struct plx_msg_private *)0)->routing_id];
	size_t rid_size = zmq_msg_size(&frames[0]);
	if (n < 2 || rid_size == 0 || rid_size > sizeof rid) {
		plx__frames_close(frames, n > 3 ? 3 : n);
		return true; /* cannot even be answered */
	}
	memcpy(rid, zmq_msg_data(&frames[0]), rid_size);
	zmq_msg_close(&frames[0]);
	plx_msg *msg = NULL;
	int rc = plx__frames_parse(ep->ctx, frames + 1, n - 1, &msg);
	s_accept(ep, rid, rid_size, msg, rc);
	return true;
}

/* Reads one asynsend reply from an owner DEALER. Returns false when none was waiting. */
static bool s_from_dealer(plx_ep *ep, void *sock)
{
	zmq_msg_t frames[2];
	int n;
	if (plx__frames_recv(sock, frames, 2, &n) != 0)
		return false;
	plx_msg *msg = NULL;
	int rc = plx__frames_parse(ep->ctx, frames, n, &msg);
	if (rc == 0 && msg->kind == PLX_REPLY) {
		if (atomic_load_explicit(&ep->ctx->trace_on, memory_order_relaxed))
			plx__trace_in(ep->ctx, msg, 0);
		plx__queue_push(&ep->queue, msg);
	} else {
		plx_msg_destroy(&msg);
	}
	return true;
}

/* Sends the frames a thread handed over, [target][envelope][data], to their destination. */
static void s_forward(plx_ep *ep, char tag, zmq_msg_t *frames, int n)
{
	void *sock = ep->router;
	int first = 0;
	if (tag == 'A') {
		char address[PLX_ADDRESS_MAX];
		size_t size = zmq_msg_size(&frames[0]);
		plx_port *port = plx__port_get(ep);
		sock = NULL;
		if (port && size > 0 && size <= sizeof address) {
			memcpy(address, zmq_msg_data(&frames[0]), size);
			address[size - 1] = '\0';
			sock = plx__sock_for(ep, port, address);
		}
		first = 1;
	}
	for (int i = first; sock && i < n; i++)
		if (zmq_msg_send(&frames[i], sock, i + 1 < n ? ZMQ_SNDMORE : 0) < 0)
			break; /* the requester is gone; its frames are closed below */
	plx__frames_close(frames, n);
}

/* Reads one message from the mailbox. Returns false when none was waiting. */
static bool s_from_mailbox(plx_ep *ep)
{
	zmq_msg_t frames[4];
	int n;
	if (plx__frames_recv(ep->mailbox, frames, 4, &n) != 0)
		return false;
	char tag = zmq_msg_size(&frames[0]) == 1 ? *(char *)zmq_msg_data(&frames[0]) : 0;
	zmq_msg_close(&frames[0]);
	if ((tag == 'A' || tag == 'R') && n >= 3 && n <= 4)
		s_forward(ep, tag, frames + 1, n - 1);
	else
		plx__frames_close(frames + 1, (n > 4 ? 4 : n) - 1);
	if (tag == 'W')
		ep->woken = true;
	return true;
}

static void s_drain(plx_ep *ep, void *sock, bool (*one)(plx_ep *, void *))
{
	for (int i = 0; i < PLX_RECEIVE_BATCH && one(ep, sock); i++)
		;
}

static bool s_router_one(plx_ep *ep, void *sock)
{
	(void)sock;
	return s_from_router(ep);
}

static bool s_mailbox_one(plx_ep *ep, void *sock)
{
	(void)sock;
	return s_from_mailbox(ep);
}

/* Waits up to timeout_ms for any of the endpoint's sockets and drains those that are ready. */
static int s_poll(plx_ep *ep, plx_port *port, int timeout_ms)
{
	zmq_pollitem_t items[2 + PLX_PORT_CACHE_MAX];
	int n = 0;
	items[n++] = (zmq_pollitem_t){.socket = ep->mailbox, .events = ZMQ_POLLIN};
	if (ep->router)
		items[n++] = (zmq_pollitem_t){.socket = ep->router, .events = ZMQ_POLLIN};
	int first_conn = n;
	for (int i = 0; i < port->nconns; i++)
		items[n++] = (zmq_pollitem_t){.socket = port->conns[i].sock, .events = ZMQ_POLLIN};
	int ready = zmq_poll(items, n, timeout_ms);
	if (ready <= 0)
		return ready < 0 && errno != EINTR ? -errno : 0;
	for (int i = first_conn; i < n; i++)
		if (items[i].revents & ZMQ_POLLIN)
			s_drain(ep, items[i].socket, s_from_dealer);
	if (ep->router && (items[1].revents & ZMQ_POLLIN))
		s_drain(ep, NULL, s_router_one);
	if (items[0].revents & ZMQ_POLLIN)
		s_drain(ep, NULL, s_mailbox_one);
	return ready;
}

int plx_receive(plx_ep *self, plx_msg **msg, int timeout_ms)
{
	assert(plx__is_owner(self) && "plx_receive belongs to the endpoint's owner thread");
	plx_port *port = plx__port_get(self);
	if (!port)
		return -ENOMEM;
	uint64_t deadline = timeout_ms < 0 ? 0 : plx__now_us() + (uint64_t)timeout_ms * 1000u;
	for (;;) {
		plx_msg *next = plx__queue_pop(&self->notifies);
		if (!next)
			next = plx__queue_pop(&self->queue);
		if (next) {
			*msg = next;
			return 0;
		}
		int wait = -1;
		if (deadline) {
			uint64_t now = plx__now_us();
			if (now >= deadline && timeout_ms != 0)
				return -ETIMEDOUT;
			wait = now >= deadline ? 0 : (int)((deadline - now + 999) / 1000);
		}
		int rc = s_poll(self, port, wait);
		if (rc < 0)
			return rc;
		if (self->woken && !self->notifies.head && !self->queue.head) {
			self->woken = false;
			return -EINTR;
		}
		if (timeout_ms == 0 && !self->notifies.head && !self->queue.head)
			return -ETIMEDOUT;
	}
}

static int s_send_reply(plx_ep *self, const plx_msg *req, const plx_outgoing *out)
{
	plx_port *port = plx__port_get(self);
	if (!port)
		return -ENOMEM;
	const uint8_t *rid = req->priv->routing_id;
	size_t rid_size = req->priv->routing_id_size;
	if (!port->owner)
		return plx__mailbox_send(self, port, 'R', rid, rid_size, out);
	int rc = plx__frames_send(self->ctx, self->router, rid, rid_size, out, 0);
	if (rc == -EHOSTUNREACH)
		return -PLX_EDEADSRCDST;
	return rc == -EAGAIN ? -ETIMEDOUT : rc;
}

int plx_reply(plx_ep *self, plx_msg *req, int32_t status, const ProtobufCMessage *body,
	      const void *data, size_t data_size)
{
	if (!req || req->kind != PLX_REQUEST || req->priv->routing_id_size == 0)
		return -EINVAL;
	bool expected = false;
	if (!atomic_compare_exchange_strong(&req->priv->replied, &expected, true))
		return -EINVAL;
	plx_outgoing out = {
		.kind = PLX_REPLY,
		.type = req->type,
		.status = status,
		.request_id = req->request_id,
		.source = &self->name,
		.destination = &req->source,
		.body = body,
		.data = data,
		.data_size = data_size,
	};
	int rc = s_send_reply(self, req, &out);
	if (rc == -EMSGSIZE) {
		/* Tell the requester why instead of leaving it to time out. */
		plx_outgoing refusal = out;
		refusal.status = -EMSGSIZE;
		refusal.body = NULL;
		refusal.data = NULL;
		refusal.data_size = 0;
		s_send_reply(self, req, &refusal);
	}
	return rc;
}

int plx_ep_wake(plx_ep *self)
{
	plx_port *port = plx__port_get(self);
	if (!port)
		return -ENOMEM;
	if (port->owner) {
		self->woken = true;
		return 0;
	}
	void *push = plx__mailbox_push(self, port);
	char tag = 'W';
	if (!push || zmq_send(push, &tag, 1, ZMQ_DONTWAIT) != 1)
		return -errno;
	return 0;
}
