/*
 * stub.c — the generic client calls behind every family's typed stubs (plexus/stub.h).
 *
 * Entry points: plx_stub_new, plx_stub_destroy, plx_stub_init, plx_stub_observe, plx_stub_call,
 * plx_stub_send, plx_stub_unpack, plx_stub_free, plx_stub_holder_new.
 *
 * The typed stubs (plx_cdev_open_call, ...) are expanded from proto/<family>.def beside the
 * family's client library and come here with the request type and the reply descriptor.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <plexus/stub.h>

int plx_stub_init(plx_stub *self, plx_ep *ep, const char *label, uint64_t gen, int timeout_ms)
{
	if (!self || !ep || !label || !*label || strlen(label) >= PLX_LABEL_MAX)
		return -EINVAL;
	*self = (plx_stub){.ep = ep, .timeout_ms = timeout_ms};
	snprintf(self->dst.label, sizeof self->dst.label, "%s", label);
	self->dst.generation = gen;
	return 0;
}

plx_stub *plx_stub_new(plx_ep *ep, const char *label, uint64_t gen, int timeout_ms)
{
	plx_stub probe;
	if (plx_stub_init(&probe, ep, label, gen, timeout_ms) < 0) {
		errno = EINVAL;
		return NULL;
	}
	plx_stub *self = malloc(sizeof *self);
	if (self)
		*self = probe;
	return self;
}

void *plx_stub_holder_new(size_t size, plx_ep *ep, const char *label, int timeout_ms,
                          const ProtobufCEnumDescriptor *family)
{
	plx_stub probe;
	if (size < sizeof probe || plx_stub_init(&probe, ep, label, 0, timeout_ms) < 0) {
		errno = EINVAL;
		return NULL;
	}
	plx_stub *self = calloc(1, size);
	if (!self)
		return NULL;
	*self = probe;
	plx_register_types(family);
	return self;
}

void plx_stub_destroy(plx_stub **self_p)
{
	if (!self_p)
		return;
	free(*self_p);
	*self_p = NULL;
}

void plx_stub_observe(plx_stub *self, plx_stub_observer *fn, void *arg)
{
	self->observe = fn;
	self->observe_arg = arg;
}

/* The request self sends for type, body and data. */
static plx_request s_make_request(const plx_stub *self, uint32_t type, const ProtobufCMessage *body,
                                  const void *data, size_t size)
{
	return (plx_request){
	    .dst = self->dst, .type = type, .body = body, .data = data, .data_size = size};
}

int plx_stub_call(plx_stub *self, uint32_t type, const ProtobufCMessage *body, const void *data,
                  size_t size, const ProtobufCMessageDescriptor *reply_desc,
                  ProtobufCMessage **reply, plx_msg **msg)
{
	if (!self || !self->ep)
		return -EINVAL;
	plx_request req = s_make_request(self, type, body, data, size);
	plx_msg *m = NULL;
	int rc = plx_sendrec(self->ep, &req, &m, self->timeout_ms);
	if (rc >= 0 && m && reply && reply_desc && plx_stub_unpack(m, reply_desc, reply) < 0)
		rc = -EBADMSG;
	if (m && self->observe)
		self->observe(self->observe_arg, type, body, m);
	if (msg && m)
		*msg = m;
	else
		plx_msg_destroy(&m);
	return rc;
}

int plx_stub_send(plx_stub *self, uint32_t type, const ProtobufCMessage *body, const void *data,
                  size_t size, uint64_t *request_id)
{
	if (!self || !self->ep)
		return -EINVAL;
	plx_request req = s_make_request(self, type, body, data, size);
	return plx_asynsend(self->ep, &req, request_id);
}

int plx_stub_unpack(const plx_msg *msg, const ProtobufCMessageDescriptor *desc,
                    ProtobufCMessage **reply)
{
	if (!msg || !desc || !reply)
		return msg ? 0 : -EBADMSG; /* a NONE reply: nothing to unpack */
	ProtobufCMessage *body = plx_msg_unpack(msg, desc);
	if (!body)
		return -EBADMSG;
	*reply = body;
	return 0;
}

void plx_stub_free(void *reply, plx_msg **msg)
{
	if (reply)
		protobuf_c_message_free_unpacked(reply, NULL);
	plx_msg_destroy(msg);
}
