/*
 * port.c — each thread's private side of an endpoint: its cache of outbound connections and
 * its wake-up eventfd.
 *
 * Entry points: plx_ep_thread_done; (internal) plx__port_get, plx__port_destroy,
 * plx__sock_for, plx__conn_for.
 *
 * ZeroMQ sockets may not be shared between threads, so every thread that sends through an
 * endpoint gets its own DEALER per destination address. That is what lets many worker threads
 * sendrec at once without a lock on the hot path. The cache keeps PLX_PORT_CACHE_MAX
 * connections and closes the least recently used one beyond that, sparing those that still
 * wait for asynsend replies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "internal.h"

#define S_LINGER_MS 200

plx_port *plx__port_get(plx_ep *ep)
{
	plx_port *port = pthread_getspecific(ep->port_key);
	if (port)
		return port;
	port = calloc(1, sizeof *port);
	if (!port)
		return NULL;
	port->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (port->wake_fd < 0) {
		free(port);
		return NULL;
	}
	port->owner = plx__is_owner(ep);
	pthread_mutex_lock(&ep->ports_lock);
	port->next = ep->ports;
	ep->ports = port;
	pthread_mutex_unlock(&ep->ports_lock);
	pthread_setspecific(ep->port_key, port);
	return port;
}

/* Sends what conn holds and closes its socket. */
static void s_conn_close(plx_conn *conn)
{
	plx__conn_flush(conn);
	plx__batch_free(&conn->held);
	zmq_close(conn->sock);
}

void plx__port_destroy(plx_port *port)
{
	for (int i = 0; i < port->nconns; i++)
		s_conn_close(&port->conns[i]);
	if (port->wake_sock)
		zmq_close(port->wake_sock);
	close(port->wake_fd);
	free(port);
}

void plx_ep_thread_done(plx_ep *ep)
{
	plx_port *port = pthread_getspecific(ep->port_key);
	if (!port)
		return;
	pthread_mutex_lock(&ep->ports_lock);
	for (plx_port **pp = &ep->ports; *pp; pp = &(*pp)->next)
		if (*pp == port) {
			*pp = port->next;
			break;
		}
	pthread_mutex_unlock(&ep->ports_lock);
	pthread_setspecific(ep->port_key, NULL);
	plx__port_destroy(port);
}

static void *s_dealer_new(plx_ep *ep, const char *address)
{
	char key[PLX_KEY_TEXT];
	const char *plain = plx__address_plain(address, key);
	if (!plain) {
		errno = EINVAL;
		return NULL;
	}
	void *sock = zmq_socket(ep->ctx->zmq, ZMQ_DEALER);
	if (!sock)
		return NULL;
	int secure = plx__secure_dealer(ep, sock, key, plx__address_local(plain));
	if (secure < 0) {
		zmq_close(sock);
		errno = -secure;
		return NULL;
	}
	int linger = S_LINGER_MS;
	int64_t max = (int64_t)(2 * plx__max_data(ep->ctx) + PLX_ENVELOPE_MAX);
	zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
	zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &max, sizeof max);
	if (zmq_connect(sock, plain) != 0) {
		zmq_close(sock);
		return NULL;
	}
	return sock;
}

/* The connection to close for a new one: the least recently used among those with no
 * asynsend reply outstanding, or the least recently used of all. */
static int s_victim(const plx_port *port)
{
	int victim = -1, any = 0;
	for (int i = 0; i < port->nconns; i++) {
		const plx_conn *c = &port->conns[i];
		if (c->last_used < port->conns[any].last_used)
			any = i;
		if (c->outstanding == 0 &&
		    (victim < 0 || c->last_used < port->conns[victim].last_used))
			victim = i;
	}
	return victim >= 0 ? victim : any;
}

/* Returns the calling thread's connection to address, or NULL when it has none. */
plx_conn *plx__conn_find(plx_port *port, const char *address)
{
	for (int i = 0; i < port->nconns; i++)
		if (strcmp(port->conns[i].address, address) == 0)
			return &port->conns[i];
	return NULL;
}

/*
 * Returns the calling thread's connection to address, its DEALER created when there was none
 * (closing the least recently used one when the cache is full). NULL with errno set when
 * ZeroMQ refuses the address.
 */
plx_conn *plx__conn_for(plx_ep *ep, plx_port *port, const char *address)
{
	port->use_clock++;
	plx_conn *known = plx__conn_find(port, address);
	if (known) {
		known->last_used = port->use_clock;
		return known;
	}
	void *sock = s_dealer_new(ep, address);
	int fd = -1;
	size_t fd_size = sizeof fd;
	if (sock && zmq_getsockopt(sock, ZMQ_FD, &fd, &fd_size) != 0) {
		zmq_close(sock);
		sock = NULL;
	}
	if (!sock)
		return NULL;
	int slot = port->nconns;
	if (slot == PLX_PORT_CACHE_MAX) {
		slot = s_victim(port);
		s_conn_close(&port->conns[slot]);
	} else {
		port->nconns++;
	}
	snprintf(port->conns[slot].address, sizeof port->conns[slot].address, "%s", address);
	port->conns[slot].sock = sock;
	port->conns[slot].fd = fd;
	port->conns[slot].outstanding = 0;
	port->conns[slot].rcvtimeo = -1;
	port->conns[slot].local = plx__address_local(address);
	port->conns[slot].last_used = port->use_clock;
	return &port->conns[slot];
}

/* plx__conn_for's DEALER. */
void *plx__sock_for(plx_ep *ep, plx_port *port, const char *address)
{
	plx_conn *conn = plx__conn_for(ep, port, address);
	return conn ? conn->sock : NULL;
}
