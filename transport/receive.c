/*
 * receive.c — the receiving side: plx_receive and plx_reply.
 *
 * Entry points: plx_receive, plx_reply, plx_reply_owned, plx_ep_wake.
 *
 * plx_receive polls, in the owner thread, the inbound ROUTER, the mailbox and those of the
 * owner's outbound DEALERs that await asynsend replies. Each round drains up to
 * PLX_RECEIVE_BATCH messages per socket: requests are validated here (malformed ones and ones
 * for another instance are answered with an error at once and never returned), notifies from
 * the same source and of the same type that meet in a round coalesce into one, and, as in
 * MINIX, pending notifies are delivered before other messages. A frame may be a batch of
 * messages (batch.c): each is checked and taken as if it had come alone.
 *
 * A reply from the owner to a peer whose next request already waits in the queue is held, so
 * that the replies to a peer's pipelined requests go back in one batch frame: at the last of
 * them, at a reply to another peer, or before the owner next waits (plx_receive with nothing
 * queued, plx_sendrec), whichever comes first.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	    .local = msg && msg->priv->local_envelope,
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
	else if (rc == 0 && msg->kind == PLX_REQUEST && ep->peerq)
		rc = plx__peerq_admit(ep, rid, rid_size, msg); /* -ENOBUFS: see peerq.c */
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

static bool s_empty_mailbox(plx_ep *ep, plx_port *port);

static bool s_is_wake(const plx_ep *ep, zmq_msg_t *frames, int n)
{
	return n == 2 && zmq_msg_size(&frames[1]) == PLX_WAKE_TOKEN &&
	       memcmp(zmq_msg_data(&frames[1]), ep->wake_token, PLX_WAKE_TOKEN) == 0;
}

/* Who sent a frame on the ROUTER, as its link proved (security.c). */
typedef struct s_sender {
	bool checked; /* a secured endpoint: the key must vouch for each message's source */
	int vouched;  /* 1: a user certificate vouched, cred holds its credentials */
	plx_name who;
	plx_cred cred;
} s_sender;

/* Takes one message that came on the ROUTER from sender, alone or in a batch. */
static void s_take(plx_ep *ep, const uint8_t *rid, size_t rid_size, const s_sender *sender,
                   plx_msg *msg, int rc)
{
	if (sender->checked && msg &&
	    !plx__vouched_name(ep, &sender->who, msg, &msg->priv->envelope_frame)) {
		plx_msg_destroy(&msg);
		return;
	}
	if (msg && sender->vouched == 1) {
		msg->priv->vouched_user = true;
		msg->priv->vouched = sender->cred;
	}
	s_accept(ep, rid, rid_size, msg, rc);
}

/* Reads one message from the ROUTER (flags: ZMQ_DONTWAIT, or 0 to wait up to its
 * ZMQ_RCVTIMEO). A wake-up from another thread empties the mailbox. Returns false when
 * nothing came. */
static bool s_from_router(plx_ep *ep, plx_port *port, int flags)
{
	zmq_msg_t frames[3];
	int n;
	if (plx__frames_recv(ep->router, frames, 3, &n, flags) != 0)
		return false;
	if (s_is_wake(ep, frames, n)) {
		plx__frames_close(frames, n);
		s_empty_mailbox(ep, port);
		return true;
	}
	uint8_t rid[sizeof((struct plx_msg_private *)0)->routing_id];
	size_t rid_size = zmq_msg_size(&frames[0]);
	if (n < 2 || rid_size == 0 || rid_size > sizeof rid) {
		plx__frames_close(frames, n > 3 ? 3 : n);
		return true; /* cannot even be answered */
	}
	memcpy(rid, zmq_msg_data(&frames[0]), rid_size);
	zmq_msg_close(&frames[0]);
	/* a secured endpoint answers only what a trusted key sent, in its own name */
	s_sender sender = {.checked = ep->ctx->secure && !ep->inproc};
	sender.vouched =
	    sender.checked ? plx__vouched_key(ep, &frames[1], &sender.who, &sender.cred) : 0;
	if (sender.vouched < 0) {
		plx__frames_close(frames + 1, (n > 3 ? 3 : n) - 1);
		return true;
	}
	if (n == 2 && plx__batch_is(&frames[1])) {
		plx_batch_item items[PLX_BATCH_MESSAGES];
		int count = plx__batch_parse(ep->ctx, &frames[1], ep->inproc, items);
		for (int i = 0; i < count; i++)
			s_take(ep, rid, rid_size, &sender, items[i].msg, items[i].rc);
		return true;
	}
	plx_msg *msg = NULL;
	int rc = plx__frames_parse(ep->ctx, frames + 1, n - 1, ep->inproc, &msg);
	s_take(ep, rid, rid_size, &sender, msg, rc);
	return true;
}

/* Queues an asynsend's reply that came on conn; drops anything else. */
static void s_take_reply(plx_ep *ep, plx_conn *conn, plx_msg *msg, int rc)
{
	if (rc != 0 || msg->kind != PLX_REPLY) {
		plx_msg_destroy(&msg);
		return;
	}
	if (atomic_load_explicit(&ep->ctx->trace_on, memory_order_relaxed))
		plx__trace_in(ep->ctx, msg, 0);
	if (conn->outstanding > 0)
		conn->outstanding--;
	plx__queue_push(&ep->queue, msg);
}

/* Reads one frame of asynsend replies (one, or a batch) from an owner DEALER. Returns false
 * when none was waiting. */
static bool s_from_dealer(plx_ep *ep, plx_conn *conn)
{
	zmq_msg_t frames[2];
	int n;
	if (plx__frames_recv(conn->sock, frames, 2, &n, ZMQ_DONTWAIT) != 0)
		return false;
	if (n == 1 && plx__batch_is(&frames[0])) {
		plx_batch_item items[PLX_BATCH_MESSAGES];
		int count = plx__batch_parse(ep->ctx, &frames[0], conn->local, items);
		for (int i = 0; i < count; i++)
			s_take_reply(ep, conn, items[i].msg, items[i].rc);
		return true;
	}
	plx_msg *msg = NULL;
	int rc = plx__frames_parse(ep->ctx, frames, n, conn->local, &msg);
	s_take_reply(ep, conn, msg, rc);
	return true;
}

/* Sends the frames another thread handed over to their destination, or queues the notify
 * it raised. */
static void s_forward(plx_ep *ep, plx_port *port, plx_handover *h)
{
	if (h->tag == 'N') {
		if (atomic_load_explicit(&ep->ctx->trace_on, memory_order_relaxed))
			plx__trace_in(ep->ctx, h->msg, 0);
		s_queue_notify(ep, h->msg);
		free(h);
		return;
	}
	void *sock = ep->router;
	plx_conn *conn = NULL;
	if (h->tag == 'A')
		sock = (conn = plx__conn_for(ep, port, h->address)) ? conn->sock : NULL;
	int i = 0;
	for (; sock && i < h->nframes; i++)
		if (zmq_msg_send(&h->frames[i], sock, i + 1 < h->nframes ? ZMQ_SNDMORE : 0) < 0)
			break; /* the requester is gone */
	if (conn && i == h->nframes)
		conn->outstanding++;
	plx__frames_close(h->frames + i, h->nframes - i);
	free(h);
}

/* Forwards everything other threads handed over. Returns true when there was anything. */
static bool s_empty_mailbox(plx_ep *ep, plx_port *port)
{
	if (!atomic_load(&ep->mailbox_news))
		return false;
	uint64_t count;
	if (read(ep->mailbox_fd, &count, sizeof count) < 0) {
		/* already drained */
	}
	atomic_store(&ep->mailbox_news, false);
	pthread_mutex_lock(&ep->mailbox_lock);
	plx_handover *h = ep->mailbox_head;
	ep->mailbox_head = ep->mailbox_tail = NULL;
	pthread_mutex_unlock(&ep->mailbox_lock);
	while (h) {
		plx_handover *next = h->next;
		s_forward(ep, port, h);
		h = next;
	}
	return true;
}

/* Reads up to PLX_RECEIVE_BATCH messages from conn, or from the router when conn is NULL.
 * Returns true when the socket may hold more (the batch ran out), false once it answered
 * "nothing waiting". */
static bool s_drain(plx_ep *ep, plx_port *port, plx_conn *conn, int *got)
{
	for (int i = 0; i < PLX_RECEIVE_BATCH; i++) {
		if (!(conn ? s_from_dealer(ep, conn) : s_from_router(ep, port, ZMQ_DONTWAIT)))
			return false;
		(*got)++;
	}
	return true;
}

/*
 * Reads whatever is waiting on the endpoint's sockets without blocking. Returns how many
 * messages (or mailbox batches) it handled; *more is set when a socket may still hold some.
 */
static int s_drain_all(plx_ep *ep, plx_port *port, bool *more)
{
	int got = 0;
	*more = false;
	if (s_empty_mailbox(ep, port))
		got++;
	for (int i = 0; i < port->nconns; i++)
		if (port->conns[i].outstanding > 0)
			*more |= s_drain(ep, port, &port->conns[i], &got);
	if (ep->router)
		*more |= s_drain(ep, port, NULL, &got);
	return got;
}

static bool s_awaits_replies(const plx_port *port)
{
	for (int i = 0; i < port->nconns; i++)
		if (port->conns[i].outstanding > 0)
			return true;
	return false;
}

/*
 * The common case of a server: only its ROUTER can bring news (other threads wake it
 * there too), so it blocks in ZeroMQ itself, as a raw ROUTER would. A notify is followed by
 * a non-blocking drain so that notifies queued behind it coalesce. So is anything, when the
 * owner was busy for PLX_READ_AHEAD_US or more since it was last handed a message: requests
 * that waited in ZeroMQ's queue meanwhile are read and counted toward their peers, so that
 * one peer's backlog is bounded in bytes (peerq.c), not only in ZeroMQ's messages. (A drain
 * that finds nothing costs a system call, about 3 us: too much for every round trip.)
 * Returns the number of messages handled, or -ETERM.
 */
static int s_wait_router(plx_ep *ep, plx_port *port, int timeout_ms)
{
	bool was_busy = plx__now_us() - ep->handed_at_us >= PLX_READ_AHEAD_US;
	if (timeout_ms != ep->router_timeout &&
	    zmq_setsockopt(ep->router, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms) == 0)
		ep->router_timeout = timeout_ms;
	if (!s_from_router(ep, port, 0))
		return errno == ETERM ? -ETERM : 0; /* ETERM: the context is going away */
	int got = 1;
	if (ep->notifies.head || was_busy)
		s_drain(ep, port, NULL, &got);
	return got;
}

/*
 * Waits up to timeout_ms for any of the endpoint's sockets and drains them. ZeroMQ's ZMQ_FD
 * is edge-triggered: it is polled only after a non-blocking read found nothing, and
 * ZMQ_EVENTS is read after it fires so that ZeroMQ processes what woke it.
 * Returns the number of messages handled, or a negative errno.
 */
static int s_poll(plx_ep *ep, plx_port *port, int timeout_ms)
{
	bool more;
	if (ep->router && !s_awaits_replies(port) && !atomic_load(&ep->mailbox_news))
		return s_wait_router(ep, port, timeout_ms);
	int got = s_drain_all(ep, port, &more);
	if (got > 0 || more || timeout_ms == 0)
		return got;
	struct pollfd fds[2 + PLX_PORT_CACHE_MAX];
	void *socks[2 + PLX_PORT_CACHE_MAX];
	int n = 0;
	fds[n] = (struct pollfd){.fd = ep->mailbox_fd, .events = POLLIN};
	socks[n++] = NULL;
	if (ep->router) {
		fds[n] = (struct pollfd){.fd = ep->router_fd, .events = POLLIN};
		socks[n++] = ep->router;
	}
	for (int i = 0; i < port->nconns; i++)
		if (port->conns[i].outstanding > 0) {
			fds[n] = (struct pollfd){.fd = port->conns[i].fd, .events = POLLIN};
			socks[n++] = port->conns[i].sock;
		}
	int ready = plx__wait_fds(fds, n, timeout_ms);
	if (ready < 0)
		return -errno;
	for (int i = 1; i < n; i++)
		if (fds[i].revents & POLLIN)
			plx__sock_readable(socks[i]);
	return ready > 0 ? s_drain_all(ep, port, &more) : 0;
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
			self->handed_at_us = plx__now_us();
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
		plx__flush_held(self, port); /* before the owner waits */
		int rc = s_poll(self, port, wait);
		if (rc < 0)
			return rc;
		if (!self->notifies.head && !self->queue.head &&
		    atomic_exchange(&self->woken, false))
			return -EINTR;
		if (timeout_ms == 0 && !self->notifies.head && !self->queue.head)
			return -ETIMEDOUT;
	}
}

static bool s_same_peer(const uint8_t *a, size_t a_size, const uint8_t *b, size_t b_size)
{
	return a_size == b_size && memcmp(a, b, a_size) == 0;
}

/*
 * Holds a reply of the owner's while the same peer's next request already waits in the
 * queue: the peer sent several at once, and their replies go back together, at the last of
 * them or when the owner next waits. Returns 0 when held (or sent with those held before it),
 * -ENOSPC when it goes alone, or an error (the reply's data released).
 */
static int s_hold_reply(plx_ep *ep, const uint8_t *rid, size_t rid_size, const plx_outgoing *out)
{
	const plx_msg *next = ep->queue.head;
	bool more = next && next->kind == PLX_REQUEST &&
	            s_same_peer(next->priv->routing_id, next->priv->routing_id_size, rid, rid_size);
	bool joins = ep->replies.count > 0 &&
	             s_same_peer(ep->replies_rid, ep->replies_rid_size, rid, rid_size);
	if (!joins)
		plx__replies_flush(ep);
	if (!more && !joins)
		return -ENOSPC;
	size_t size = 0;
	int rc = plx__batch_hold(&ep->replies, out, &size);
	if (rc == -ENOSPC && joins && more) {
		plx__replies_flush(ep);
		rc = plx__batch_hold(&ep->replies, out, &size);
	}
	if (rc != 0)
		return rc;
	memcpy(ep->replies_rid, rid, rid_size);
	ep->replies_rid_size = rid_size;
	if (atomic_load_explicit(&ep->ctx->trace_on, memory_order_relaxed))
		plx__trace_out(ep->ctx, out, size, plx__wall_us());
	if (!more)
		plx__replies_flush(ep);
	return 0;
}

static int s_send_reply(plx_ep *self, const plx_msg *req, const plx_outgoing *out)
{
	plx_port *port = plx__port_get(self);
	if (!port) {
		if (out->data_free && out->data)
			out->data_free((void *)out->data, out->data_hint);
		return -ENOMEM;
	}
	const uint8_t *rid = req->priv->routing_id;
	size_t rid_size = req->priv->routing_id_size;
	if (!port->owner)
		return plx__mailbox_send(self, 'R', NULL, rid, rid_size, out);
	int rc = s_hold_reply(self, rid, rid_size, out);
	if (rc == -ENOSPC) {
		plx__replies_flush(self); /* what was held goes first */
		rc = plx__frames_send(self->ctx, self->router, rid, rid_size, out, 0);
	}
	if (rc == -EHOSTUNREACH)
		return -PLX_EDEADSRCDST;
	return rc == -EAGAIN ? -ETIMEDOUT : rc;
}

int plx_reply(plx_ep *self, plx_msg *req, int32_t status, const ProtobufCMessage *body,
              const void *data, size_t data_size)
{
	return plx_reply_owned(self, req, status, body, (void *)data, data_size, NULL, NULL);
}

int plx_reply_owned(plx_ep *self, plx_msg *req, int32_t status, const ProtobufCMessage *body,
                    void *data, size_t data_size, void (*data_free)(void *data, void *hint),
                    void *data_hint)
{
	bool expected = false;
	if (!req || req->kind != PLX_REQUEST || req->priv->routing_id_size == 0 ||
	    !atomic_compare_exchange_strong(&req->priv->replied, &expected, true)) {
		if (data_free && data)
			data_free(data, data_hint);
		return -EINVAL;
	}
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
	    .data_free = data_free,
	    .data_hint = data_hint,
	    .local = req->priv->local_envelope,
	    .queue = self->peerq,
	};
	/* Sending back the request's own data (an echo, a read-modify-write) shares its frame
	 * when the peers are in this process. Over ipc and tcp the frame may hold ZeroMQ's
	 * receive buffer, which a copy releases sooner: sharing there made 64 KiB round trips
	 * about 20 % slower (docs/performance.md). */
	if (!data_free && self->inproc && req->priv->has_data && data && data == req->data &&
	    data_size == req->data_size)
		out.data_frame = &req->priv->data_frame;
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

/* In the owner thread: sends what it holds and what other threads handed over (replies above
 * all) without receiving anything, so that a reply given just before a server stops still leaves.
 */
void plx__ep_flush_mailbox(plx_ep *ep)
{
	plx_port *port = plx__port_get(ep);
	if (port && port->owner) {
		plx__flush_held(ep, port);
		s_empty_mailbox(ep, port);
	}
}

int plx_ep_wake(plx_ep *self)
{
	plx__ep_hold(self);
	atomic_store(&self->woken, true);
	plx__mailbox_signal(self, plx__port_get(self));
	plx__ep_release(self);
	return 0;
}
