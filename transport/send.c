/*
 * send.c — the sending primitives, and the mailbox through which other threads hand messages
 * to an endpoint's owner.
 *
 * Entry points: plx_sendrec, plx_asynsend, plx_notify, plx_ep_notify_local; internal
 * plx__mailbox_send,
 * plx__mailbox_signal, plx__wait_fds, plx__sock_readable.
 *
 * sendrec sends on the calling thread's own DEALER and waits for the reply in two steps:
 * first blocked in ZeroMQ for a few milliseconds (the way a raw DEALER waits, which costs the
 * fewest system calls; almost every reply arrives here), then in poll(2) on the socket's
 * ZMQ_FD together with the thread's wake-up eventfd, which plx_mark_dead writes when the
 * destination dies. So a sendrec ends with its reply, its deadline or its destination's
 * death (noticed within PLX_FAST_WAIT_MS at worst), whichever comes first. Every system call
 * counts on a virtual machine (docs/performance.md). asynsend from the owner goes
 * straight out, or, sent with more, is held in its connection's batch (batch.c) until a
 * message without more, the owner's next wait (plx_receive with nothing queued, plx_sendrec)
 * or a full batch; from any other thread it is handed to the owner through the mailbox, so
 * that every asynsend reply lands on a socket plx_receive watches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static int s_check_request(const plx_request *req)
{
	if (!req || req->type == 0 || !req->dst.label[0] ||
	    strnlen(req->dst.label, PLX_LABEL_MAX) == PLX_LABEL_MAX)
		return -EINVAL;
	if (!req->data && req->data_size > 0)
		return -EINVAL;
	return 0;
}

static void s_request_out(plx_ep *ep, const plx_request *req, const plx_name *dst,
                          const char *address, plx_outgoing *out)
{
	*out = (plx_outgoing){
	    .kind = PLX_REQUEST,
	    .type = req->type,
	    .request_id = atomic_fetch_add(&ep->next_request_id, 1),
	    .source = &ep->name,
	    .destination = dst,
	    .body = req->body,
	    .data = req->data,
	    .data_size = req->data_size,
	    .data_free = req->data_free,
	    .data_hint = req->data_hint,
	    .local = plx__address_local(address),
	};
}

/* Releases a zero-copy buffer the transport took over but never got to send. */
static void s_drop_data(const plx_request *req)
{
	if (req->data_free && req->data)
		req->data_free((void *)req->data, req->data_hint);
}

static int s_remaining(uint64_t deadline_us)
{
	if (deadline_us == 0)
		return -1;
	uint64_t now = plx__now_us();
	return now >= deadline_us ? 0 : (int)((deadline_us - now + 999) / 1000);
}

/* poll(2) that restarts after signals. Returns what poll returns. */
int plx__wait_fds(struct pollfd *fds, int n, int timeout_ms)
{
	int rc;
	while ((rc = poll(fds, (nfds_t)n, timeout_ms)) < 0 && errno == EINTR)
		;
	return rc;
}

/* Makes ZeroMQ process the commands that woke a socket's ZMQ_FD; true when a message can be
 * read. Required after ZMQ_FD polls readable, whose signal is edge-triggered. */
bool plx__sock_readable(void *sock)
{
	int events = 0;
	size_t size = sizeof events;
	return zmq_getsockopt(sock, ZMQ_EVENTS, &events, &size) == 0 && (events & ZMQ_POLLIN);
}

/* Sends without blocking; while the queue is full, waits for room until the deadline. */
static int s_send_until(plx_ctx *ctx, void *sock, const plx_outgoing *out, uint64_t deadline)
{
	for (;;) {
		int rc = plx__frames_send(ctx, sock, NULL, 0, out, ZMQ_DONTWAIT);
		if (rc != -EAGAIN)
			return rc;
		int wait = s_remaining(deadline);
		if (wait == 0)
			return -ETIMEDOUT;
		zmq_pollitem_t item = {.socket = sock, .events = ZMQ_POLLOUT};
		zmq_poll(&item, 1, wait);
	}
}

/* Sorts one message that came on a sendrec's DEALER: the awaited reply (stored in *reply,
 * returns 1), an asynsend's reply (queued for plx_receive) or nothing anyone waits for. */
static int s_sort_reply(plx_ep *ep, plx_port *port, plx_conn *conn, uint64_t request_id,
                        plx_msg *msg, int rc, plx_msg **reply)
{
	if (rc == 0 && msg->kind == PLX_REPLY && msg->request_id == request_id && !*reply) {
		*reply = msg;
		return 1;
	}
	if (rc == 0 && msg->kind == PLX_REPLY && port->owner && conn->outstanding > 0) {
		conn->outstanding--;
		plx__queue_push(&ep->queue, msg); /* an asynsend's reply: for plx_receive */
	} else {
		plx_msg_destroy(&msg); /* late reply to a request that timed out, or garbage */
	}
	return 0;
}

/*
 * Takes the next frame waiting on a sendrec's DEALER: one message or a batch of them.
 * Returns 1 when it held the awaited reply (stored in *reply), 0 when everything was set
 * aside or dropped, -1 when nothing was waiting.
 */
static int s_take_reply(plx_ep *ep, plx_port *port, plx_conn *conn, uint64_t request_id,
                        plx_msg **reply, int flags)
{
	zmq_msg_t frames[2];
	int n;
	if (plx__frames_recv(conn->sock, frames, 2, &n, flags) != 0)
		return -1;
	if (n == 1 && plx__batch_is(&frames[0])) {
		plx_batch_item items[PLX_BATCH_MESSAGES];
		int count = plx__batch_parse(ep->ctx, &frames[0], conn->local, items), found = 0;
		for (int i = 0; i < count; i++)
			found |= s_sort_reply(ep, port, conn, request_id, items[i].msg, items[i].rc,
			                      reply);
		return found;
	}
	plx_msg *msg = NULL;
	int rc = plx__frames_parse(ep->ctx, frames, n, conn->local, &msg);
	return s_sort_reply(ep, port, conn, request_id, msg, rc, reply);
}

static void s_drain_wake(int fd)
{
	uint64_t count;
	if (read(fd, &count, sizeof count) < 0) {
		/* nothing was pending */
	}
}

/*
 * The fast path: block in ZeroMQ itself for up to PLX_FAST_WAIT_MS, as a raw DEALER would,
 * which costs the fewest system calls. A death in that window is seen when it ends.
 * Returns 1 with the reply, 0 to go on waiting.
 */
static int s_await_fast(plx_ep *ep, plx_port *port, plx_conn *conn, uint64_t request_id,
                        uint64_t deadline, plx_msg **reply)
{
	int window = s_remaining(deadline);
	if (window < 0 || window > PLX_FAST_WAIT_MS)
		window = PLX_FAST_WAIT_MS;
	if (window != conn->rcvtimeo &&
	    zmq_setsockopt(conn->sock, ZMQ_RCVTIMEO, &window, sizeof window) == 0)
		conn->rcvtimeo = window; /* set only when it changes: a call into ZeroMQ less */
	uint64_t end = plx__now_us() + (uint64_t)window * 1000u;
	int taken;
	do
		taken = s_take_reply(ep, port, conn, request_id, reply, 0);
	while (taken == 0 && plx__now_us() < end);
	return taken == 1;
}

/* Waits for the reply to request_id on conn. Returns 0, -ETIMEDOUT or -PLX_EDEADSRCDST. */
static int s_await_reply(plx_ep *ep, plx_port *port, plx_conn *conn, const plx_name *dst,
                         uint64_t request_id, uint64_t deadline, plx_msg **reply)
{
	if (s_await_fast(ep, port, conn, request_id, deadline, reply))
		return 0;
	/* The slow path: poll the socket and the wake-up eventfd, so that a death ends the
	 * wait at once. */
	struct pollfd fds[2] = {{.fd = conn->fd, .events = POLLIN},
	                        {.fd = port->wake_fd, .events = POLLIN}};
	for (;;) {
		int taken;
		while ((taken = s_take_reply(ep, port, conn, request_id, reply, ZMQ_DONTWAIT)) == 0)
			;
		if (taken == 1)
			return 0; /* a reply that made it counts, even from an instance now dead */
		if (plx_is_dead(ep->ctx, dst->label, dst->generation))
			return -PLX_EDEADSRCDST;
		if (deadline && plx__now_us() >= deadline)
			return -ETIMEDOUT;
		if (plx__wait_fds(fds, 2, s_remaining(deadline)) < 0)
			return -errno;
		if (fds[1].revents & POLLIN)
			s_drain_wake(port->wake_fd);
		if (fds[0].revents & POLLIN)
			plx__sock_readable(conn->sock);
	}
}

int plx_sendrec(plx_ep *self, const plx_request *req, plx_msg **reply, int timeout_ms)
{
	int rc = s_check_request(req);
	plx_name dst;
	char address[PLX_ADDRESS_MAX];
	if (rc == 0)
		rc = plx__resolve(self->ctx, &req->dst, &dst, address);
	plx_port *port = rc == 0 ? plx__port_get(self) : NULL;
	plx_conn *conn = port ? plx__conn_for(self, port, address) : NULL;
	void *sock = conn ? conn->sock : NULL;
	if (rc == 0 && !sock)
		rc = errno ? -errno : -EINVAL;
	if (rc != 0) {
		s_drop_data(req);
		return rc;
	}
	if (port->owner)
		plx__flush_held(self, port); /* a wait: nothing the owner holds may wait with it */
	uint64_t start = plx__now_us();
	uint64_t deadline = timeout_ms < 0 ? 0 : start + (uint64_t)timeout_ms * 1000u;
	plx_waiter waiter = {.dst = &dst, .wake_fd = port->wake_fd};
	plx__waiter_add(self->ctx, &waiter);
	plx_outgoing out;
	s_request_out(self, req, &dst, address, &out);
	if (plx_is_dead(self->ctx, dst.label, dst.generation)) {
		s_drop_data(req);
		rc = -PLX_EDEADSRCDST;
	} else {
		rc = s_send_until(self->ctx, sock, &out, deadline);
	}
	plx_msg *answer = NULL;
	if (rc == 0)
		rc = s_await_reply(self, port, conn, &dst, out.request_id, deadline, &answer);
	plx__waiter_remove(self->ctx, &waiter);
	if (rc != 0)
		return rc;
	if (atomic_load_explicit(&self->ctx->trace_on, memory_order_relaxed))
		plx__trace_in(self->ctx, answer, plx__now_us() - start);
	*reply = answer;
	return answer->status;
}

/* Returns the calling thread's DEALER to the owner's wake address, opening it once. */
static void *s_wake_sock(plx_ep *ep, plx_port *port)
{
	if (!port->wake_sock && (port->wake_sock = zmq_socket(ep->ctx->zmq, ZMQ_DEALER))) {
		int linger = 0;
		zmq_setsockopt(port->wake_sock, ZMQ_LINGER, &linger, sizeof linger);
		if (zmq_connect(port->wake_sock, ep->wake_address) != 0) {
			zmq_close(port->wake_sock);
			port->wake_sock = NULL;
		}
	}
	return port->wake_sock;
}

/*
 * Wakes the owner, once per batch of news. A bound owner may be blocked in ZeroMQ on its
 * ROUTER, so it gets a message there, marked by the endpoint's secret token; an unbound one
 * polls mailbox_fd. port is the calling thread's, or NULL when it has none.
 */
void plx__mailbox_signal(plx_ep *ep, plx_port *port)
{
	if (atomic_exchange(&ep->mailbox_news, true))
		return; /* the owner has not looked yet */
	void *sock = ep->router && port && !port->owner ? s_wake_sock(ep, port) : NULL;
	if (sock && zmq_send(sock, ep->wake_token, sizeof ep->wake_token, 0) >= 0)
		return;
	uint64_t one = 1;
	if (write(ep->mailbox_fd, &one, sizeof one) < 0) {
		/* an eventfd counter cannot overflow here */
	}
}

/* Appends h to the owner's mailbox and wakes the owner. */
static void s_mailbox_push(plx_ep *ep, plx_handover *h)
{
	pthread_mutex_lock(&ep->mailbox_lock);
	if (ep->mailbox_tail)
		ep->mailbox_tail->next = h;
	else
		ep->mailbox_head = h;
	ep->mailbox_tail = h;
	pthread_mutex_unlock(&ep->mailbox_lock);
	plx__mailbox_signal(ep, plx__port_get(ep));
}

/*
 * Hands a message to the owner thread: a reply ('R', for the ROUTER, after routing_id) or an
 * asynsend ('A', for the owner's DEALER to address). Returns 0 or a negative errno; with
 * out->data_free set the data is released on failure.
 */
int plx__mailbox_send(plx_ep *ep, char tag, const char *address, const void *routing_id,
                      size_t routing_id_size, const plx_outgoing *out)
{
	plx_handover *h = calloc(1, sizeof *h);
	if (!h) {
		if (out->data_free && out->data)
			out->data_free((void *)out->data, out->data_hint);
		return -ENOMEM;
	}
	h->tag = tag;
	if (address)
		snprintf(h->address, sizeof h->address, "%s", address);
	int rc =
	    plx__frames_build(ep->ctx, routing_id, routing_id_size, out, h->frames, &h->nframes);
	if (rc != 0) {
		free(h);
		return rc;
	}
	if (atomic_load_explicit(&ep->ctx->trace_on, memory_order_relaxed))
		plx__trace_out(ep->ctx, out, out->data_size, plx__wall_us());
	s_mailbox_push(ep, h);
	return 0;
}

int plx_ep_notify_local(plx_ep *self, const plx_name *source, uint32_t type)
{
	if (!source || !source->label[0] || type == 0 ||
	    strnlen(source->label, PLX_LABEL_MAX) == PLX_LABEL_MAX)
		return -EINVAL;
	plx_handover *h = calloc(1, sizeof *h);
	plx_msg *msg = h ? plx__msg_new() : NULL;
	if (!msg) {
		free(h);
		return -ENOMEM;
	}
	msg->kind = PLX_NOTIFY;
	msg->type = type;
	msg->priv->local = true;
	msg->source = *source;
	msg->destination = self->name;
	h->tag = 'N';
	h->msg = msg;
	plx__ep_hold(self);
	s_mailbox_push(self, h);
	plx__ep_release(self);
	return 0;
}

/* Whether ZeroMQ takes one more message on sock now (its queue is not full). */
static bool s_has_room(void *sock)
{
	int events = 0;
	size_t size = sizeof events;
	return zmq_getsockopt(sock, ZMQ_EVENTS, &events, &size) == 0 && (events & ZMQ_POLLOUT);
}

/*
 * Holds out in conn's batch, sending what it held first when it is full. A batch starts only
 * while ZeroMQ has room for one more message on the socket, and nothing else is sent on it
 * before the batch (the socket is this thread's), so sending the batch cannot find the queue
 * full. Returns 0 when held, -ENOSPC when out must go alone, or an error (out's data
 * released).
 */
static int s_hold(plx_ep *ep, plx_conn *conn, const plx_outgoing *out)
{
	size_t size = 0;
	int rc = -ENOSPC;
	for (int tries = 0; tries < 2 && rc == -ENOSPC; tries++) {
		if (conn->held.count > 0 && tries > 0)
			plx__conn_flush(conn);
		if (conn->held.count == 0 && !s_has_room(conn->sock))
			return -ENOSPC;
		rc = plx__batch_hold(&conn->held, out, &size);
	}
	if (rc == 0 && atomic_load_explicit(&ep->ctx->trace_on, memory_order_relaxed))
		plx__trace_out(ep->ctx, out, size, plx__wall_us());
	return rc;
}

/* Sends out to address from the owner (held in the connection's batch when more follow), or
 * through the owner from any other thread. */
static int s_post(plx_ep *self, plx_outgoing *out, const char *address, bool more)
{
	plx_port *port = plx__port_get(self);
	if (!port)
		return -ENOMEM;
	if (!port->owner)
		return plx__mailbox_send(self, 'A', address, NULL, 0, out);
	plx_conn *conn = plx__conn_for(self, port, address);
	if (!conn)
		return errno ? -errno : -EINVAL;
	int rc = more ? s_hold(self, conn, out) : -ENOSPC;
	if (rc == -ENOSPC) {
		plx__conn_flush(conn); /* what was held goes first */
		rc = plx__frames_send(self->ctx, conn->sock, NULL, 0, out, ZMQ_DONTWAIT);
	}
	if (rc == 0 && out->kind == PLX_REQUEST)
		conn->outstanding++;
	return rc;
}

int plx_asynsend(plx_ep *self, const plx_request *req, uint64_t *request_id)
{
	int rc = s_check_request(req);
	plx_name dst;
	char address[PLX_ADDRESS_MAX];
	if (rc == 0)
		rc = plx__resolve(self->ctx, &req->dst, &dst, address);
	if (rc != 0) {
		s_drop_data(req);
		return rc;
	}
	plx_outgoing out;
	s_request_out(self, req, &dst, address, &out);
	rc = s_post(self, &out, address, req->more);
	if (rc == 0 && request_id)
		*request_id = out.request_id;
	return rc;
}

int plx_notify(plx_ep *self, const plx_name *dst, uint32_t type)
{
	plx_request req = {.type = type};
	if (!dst)
		return -EINVAL;
	req.dst = *dst;
	int rc = s_check_request(&req);
	plx_name resolved;
	char address[PLX_ADDRESS_MAX];
	if (rc == 0)
		rc = plx__resolve(self->ctx, &req.dst, &resolved, address);
	if (rc != 0)
		return rc;
	plx_outgoing out;
	s_request_out(self, &req, &resolved, address, &out);
	out.kind = PLX_NOTIFY;
	return s_post(self, &out, address, false);
}
