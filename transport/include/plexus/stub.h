/*
 * plexus/stub.h — the client side of a message family: a peer handle, the generic calls every
 * family's stubs share, and the macros that turn a family's description (proto/<family>.def)
 * into typed stubs (docs/stubs.md).
 *
 * Entry points: plx_stub_new, plx_stub_destroy, plx_stub_init, plx_stub_observe, plx_stub_call,
 * plx_stub_send, plx_stub_unpack, plx_stub_free, plx_stub_holder_new; macros PLX_STUB_DECLARE,
 * PLX_STUB_DEFINE.
 *
 * A plx_stub names one peer (a label, a generation or 0 for whichever the routes know, and a
 * timeout) and sends from an endpoint the caller owns. plx_stub_call is a sendrec: it returns
 * the reply's status and hands back the reply's body unpacked with the family's reply
 * descriptor and the reply message itself (for its data frame); plx_stub_free frees both.
 * plx_stub_send is an asynsend: the reply comes back through the endpoint's plx_receive (a
 * server's plx_server_on_reply) with the request id it stored, and plx_stub_unpack reads its
 * body. Usable from any thread, as plx_sendrec and plx_asynsend are.
 *
 * A family's description is an X-macro table, one line per request:
 *     PLX_REQUEST(CDEV_OPEN, open, CdevOpen, cdev_open, NONE, none)
 * the request type (its enum value name), the stub's name, the request body's message type and
 * its descriptor name, the reply body's message type and descriptor name (NONE, none: no body).
 * PLX_STUB_DECLARE / PLX_STUB_DEFINE expand one line into the declarations / definitions of
 *     int plx_<fam>_<name>_call(plx_stub *s, const Plexus__<Req> *req, const void *data,
 *                               size_t size, Plexus__<Rep> **reply, plx_msg **msg);
 *     int plx_<fam>_<name>_send(plx_stub *s, const Plexus__<Req> *req, const void *data,
 *                               size_t size, uint64_t *request_id);
 *     int plx_<fam>_<name>_reply(const plx_msg *msg, Plexus__<Rep> **reply);
 * so the compiler checks every entry's names and every caller's types.
 */
#ifndef PLEXUS_STUB_H
#define PLEXUS_STUB_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include <plexus/transport.h>

/* Told of each plx_stub_call that got a reply, on the calling thread: the request's type and
 * body (may be NULL) and the reply (whatever its status). */
typedef void plx_stub_observer(void *arg, uint32_t type, const ProtobufCMessage *body,
                               const plx_msg *reply);

/* One peer. Fields are read-only once set by plx_stub_new or plx_stub_init. */
typedef struct plx_stub {
	plx_ep *ep;
	plx_name dst; /* generation 0: whichever the routes know */
	int timeout_ms;
	plx_stub_observer *observe; /* may be NULL */
	void *observe_arg;
} plx_stub;

/* The body of a .def line that has none (NONE, none): callers pass NULL. */
typedef ProtobufCMessage Plexus__NONE;
#define plexus__none__descriptor (*(const ProtobufCMessageDescriptor *)NULL)

/* Returns a stub of label (generation gen, 0: whichever the routes know) sending from ep
 * (which must outlive it), each call waiting up to timeout_ms (PLX_FOREVER: no limit); NULL
 * with errno EINVAL or ENOMEM. Caller owns it. */
plx_stub *plx_stub_new(plx_ep *ep, const char *label, uint64_t gen, int timeout_ms);
/* Frees the stub and sets *self_p to NULL. Accepts NULL. */
void plx_stub_destroy(plx_stub **self_p);
/* For a family's handle whose first member is a plx_stub (plx_cdev, plx_bdev, plx_fs):
 * allocates size zeroed bytes, fills the stub as plx_stub_new does (generation 0) and
 * registers family's type names for traces. Returns it (caller frees), or NULL with errno
 * EINVAL or ENOMEM. */
void *plx_stub_holder_new(size_t size, plx_ep *ep, const char *label, int timeout_ms,
                          const ProtobufCEnumDescriptor *family);
/* Fills *self in place, as plx_stub_new does (a stub per call, on the stack, costs nothing).
 * Returns 0 or -EINVAL (self untouched). */
int plx_stub_init(plx_stub *self, plx_ep *ep, const char *label, uint64_t gen, int timeout_ms);

/* Sets self's observer (NULL: none). Set it before self is used from several threads. */
void plx_stub_observe(plx_stub *self, plx_stub_observer *fn, void *arg);

/* Sends a request of type with body (may be NULL) and size bytes of data (may be NULL with
 * size 0), and waits for its reply. Returns the reply's status, or the transport's error
 * (-ETIMEDOUT, -PLX_EDEADSRCDST, -EMSGSIZE, -EINVAL) when none came. When a reply came and msg
 * is not NULL, *msg gets it whatever its status (caller owns it). When the status is not
 * negative and reply and reply_desc are not NULL, *reply gets the body unpacked (caller owns
 * it), or the call returns -EBADMSG when it does not parse. Outputs untouched otherwise. */
int plx_stub_call(plx_stub *self, uint32_t type, const ProtobufCMessage *body, const void *data,
                  size_t size, const ProtobufCMessageDescriptor *reply_desc,
                  ProtobufCMessage **reply, plx_msg **msg);
/* Queues the request as plx_stub_call would send it and returns without waiting; the request
 * id goes to *request_id (may be NULL). Returns 0 or as plx_asynsend. */
int plx_stub_send(plx_stub *self, uint32_t type, const ProtobufCMessage *body, const void *data,
                  size_t size, uint64_t *request_id);
/* Unpacks msg's body with desc into *reply (caller owns it). Returns 0 or -EBADMSG (*reply
 * untouched). */
int plx_stub_unpack(const plx_msg *msg, const ProtobufCMessageDescriptor *desc,
                    ProtobufCMessage **reply);
/* Frees what plx_stub_call handed back: an unpacked body (may be NULL) and *msg (sets it to
 * NULL; msg may be NULL). */
void plx_stub_free(void *reply, plx_msg **msg);

/* The declarations of one .def line's stubs, named plx_<fam>_<name>_{call,send,reply}. */
#define PLX_STUB_DECLARE(fam, NAME, name, Req, req, Rep, rep)                                      \
	int plx_##fam##_##name##_call(plx_stub *s, const Plexus__##Req *body, const void *data,    \
	                              size_t size, Plexus__##Rep **reply, plx_msg **msg);          \
	int plx_##fam##_##name##_send(plx_stub *s, const Plexus__##Req *body, const void *data,    \
	                              size_t size, uint64_t *request_id);                          \
	int plx_##fam##_##name##_reply(const plx_msg *msg, Plexus__##Rep **reply);

/* The reply descriptor of a .def line, NULL for NONE. */
#define PLX_STUB_DESC(rep) (&plexus__##rep##__descriptor)

/* The definitions of one .def line's stubs; TYPE is the request's enum value. A body given
 * must be of the line's request message (asserted). */
#define PLX_STUB_DEFINE(fam, TYPE, name, Req, req, Rep, rep)                                       \
	int plx_##fam##_##name##_call(plx_stub *s, const Plexus__##Req *body, const void *data,    \
	                              size_t size, Plexus__##Rep **reply, plx_msg **msg)           \
	{                                                                                          \
		assert(!body ||                                                                    \
		       ((const ProtobufCMessage *)body)->descriptor == PLX_STUB_DESC(req));        \
		return plx_stub_call(s, TYPE, (const ProtobufCMessage *)body, data, size,          \
		                     PLX_STUB_DESC(rep), (ProtobufCMessage **)reply, msg);         \
	}                                                                                          \
	int plx_##fam##_##name##_send(plx_stub *s, const Plexus__##Req *body, const void *data,    \
	                              size_t size, uint64_t *request_id)                           \
	{                                                                                          \
		assert(!body ||                                                                    \
		       ((const ProtobufCMessage *)body)->descriptor == PLX_STUB_DESC(req));        \
		return plx_stub_send(s, TYPE, (const ProtobufCMessage *)body, data, size,          \
		                     request_id);                                                  \
	}                                                                                          \
	int plx_##fam##_##name##_reply(const plx_msg *msg, Plexus__##Rep **reply)                  \
	{                                                                                          \
		return plx_stub_unpack(msg, PLX_STUB_DESC(rep), (ProtobufCMessage **)reply);       \
	}

#endif
