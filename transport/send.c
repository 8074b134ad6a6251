/*
 * send.c — the sending primitives.
 *
 * Entry points: plx_sendrec, plx_asynsend, plx_notify.
 *
 * sendrec sends on the calling thread's own DEALER to the destination and polls that socket
 * together with the thread's wake-up eventfd, which plx_mark_dead writes when the destination
 * dies; so a sendrec ends with its reply, its deadline or its destination's death, whichever
 * comes first. asynsend from the owner thread goes straight out; from any other thread it is
 * handed to the owner through the mailbox, so that every asynsend reply lands on a socket
 * plx_receive watches.
 */
#include <poll.h>
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
			  plx_outgoing *out)
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

/*
 * Takes the next message waiting on a sendrec's DEALER. Returns 1 when it is the awaited
 * reply (stored in *reply), 0 when it was set aside or dropped, -1 when none was waiting.
 */
static int s_take_reply(plx_ep *ep, plx_port *port, void *sock, uint64_t request_id,
			plx_msg **reply)
{
	zmq_msg_t frames[2];
	int n;
	if (plx__frames_recv(sock, frames, 2, &n) != 0)
		return -1;
	plx_msg *msg = NULL;
	int rc = plx__frames_parse(ep->ctx, frames, n, &msg);
	if (rc == 0 && msg->kind == PLX_REPLY && msg->request_id == request_id) {
		*reply = msg;
		return 1;
	}
	if (rc == 0 && msg->kind == PLX_REPLY && port->owner)
		plx__queue_push(&ep->queue, msg); /* an asynsend's reply: for plx_receive */
	else
		plx_msg_destroy(&msg); /* late reply to a request that timed out, or garbage */
	return 0;
}

static void s_drain_wake(int fd)
{
	uint64_t count;
	if (read(fd, &count, sizeof count) < 0) {
		/* nothing was pending */
	}
}

/* Waits for the reply to request_id on sock. Returns 0, -ETIMEDOUT or -PLX_EDEADSRCDST. */
static int s_await_reply(plx_ep *ep, plx_port *port, void *sock, const plx_name *dst,
			 uint64_t request_id, uint64_t deadline, plx_msg **reply)
{
	zmq_pollitem_t items[2] = {
		{.socket = sock, .events = ZMQ_POLLIN},
		{.fd = port->wake_fd, .events = ZMQ_POLLIN},
	};
	for (;;) {
		if (zmq_poll(items, 2, s_remaining(deadline)) < 0 && errno != EINTR)
			return -errno;
		if (items[1].revents & ZMQ_POLLIN) {
			s_drain_wake(port->wake_fd);
			if (plx_is_dead(ep->ctx, dst->label, dst->generation))
				return -PLX_EDEADSRCDST;
		}
		int taken = 0;
		while ((items[0].revents & ZMQ_POLLIN) && taken == 0)
			taken = s_take_reply(ep, port, sock, request_id, reply);
		if (taken == 1)
			return 0;
		if (deadline && plx__now_us() >= deadline)
			return -ETIMEDOUT;
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
	void *sock = port ? plx__sock_for(self, port, address) : NULL;
	if (rc == 0 && !sock)
		rc = -errno;
	if (rc != 0) {
		s_drop_data(req);
		return rc;
	}
	uint64_t start = plx__now_us();
	uint64_t deadline = timeout_ms < 0 ? 0 : start + (uint64_t)timeout_ms * 1000u;
	plx_waiter waiter = {.dst = &dst, .wake_fd = port->wake_fd};
	plx__waiter_add(self->ctx, &waiter);
	plx_outgoing out;
	s_request_out(self, req, &dst, &out);
	if (plx_is_dead(self->ctx, dst.label, dst.generation)) {
		s_drop_data(req);
		rc = -PLX_EDEADSRCDST;
	} else {
		rc = s_send_until(self->ctx, sock, &out, deadline);
	}
	plx_msg *answer = NULL;
	if (rc == 0)
		rc = s_await_reply(self, port, sock, &dst, out.request_id, deadline, &answer);
	plx__waiter_remove(self->ctx, &waiter);
	if (rc != 0)
		return rc;
	if (atomic_load_explicit(&self->ctx->trace_on, memory_order_relaxed))
		plx__trace_in(self->ctx, answer, plx__now_us() - start);
	*reply = answer;
	return answer->status;
}

/* Returns the calling thread's PUSH socket into the owner's mailbox, opening it once. */
void *plx__mailbox_push(plx_ep *ep, plx_port *port)
{
	if (port->mailbox_push)
		return port->mailbox_push;
	void *sock = zmq_socket(ep->ctx->zmq, ZMQ_PUSH);
	if (!sock)
		return NULL;
	int linger = 0;
	zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
	if (zmq_connect(sock, ep->mailbox_address) != 0) {
		zmq_close(sock);
		return NULL;
	}
	port->mailbox_push = sock;
	return sock;
}

/* Hands a message to the owner thread: [tag][address or routing id][envelope][data]. */
int plx__mailbox_send(plx_ep *ep, plx_port *port, char tag, const void *to, size_t to_size,
		      const plx_outgoing *out)
{
	void *push = plx__mailbox_push(ep, port);
	if (!push) {
		if (out->data_free && out->data)
			out->data_free((void *)out->data, out->data_hint);
		return -errno;
	}
	if (zmq_send(push, &tag, 1, ZMQ_SNDMORE | ZMQ_DONTWAIT) != 1) {
		int err = errno;
		if (out->data_free && out->data)
			out->data_free((void *)out->data, out->data_hint);
		return -err;
	}
	/* After the first frame of a multipart message the rest are always accepted. */
	return plx__frames_send(ep->ctx, push, to, to_size, out, ZMQ_DONTWAIT);
}

static int s_post(plx_ep *self, plx_outgoing *out, const char *address)
{
	plx_port *port = plx__port_get(self);
	if (!port)
		return -ENOMEM;
	if (!port->owner)
		return plx__mailbox_send(self, port, 'A', address, strlen(address) + 1, out);
	void *sock = plx__sock_for(self, port, address);
	if (!sock)
		return -errno;
	return plx__frames_send(self->ctx, sock, NULL, 0, out, ZMQ_DONTWAIT);
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
	s_request_out(self, req, &dst, &out);
	rc = s_post(self, &out, address);
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
	s_request_out(self, &req, &resolved, &out);
	out.kind = PLX_NOTIFY;
	return s_post(self, &out, address);
}
