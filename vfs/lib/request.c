/*
 * request.c — libplexus's typed calls: one pair per request of the VFS family, expanded from
 * proto/vfs.def (docs/stubs.md).
 *
 * Entry points: plexus__vfs_<name> and plexus__vfs_<name>_raw for each line of vfs.def
 * (plexus__vfs_open, plexus__vfs_read, ...; declared in client.h).
 *
 * Each is plexus__call (or plexus__call_raw) of the line's type: the retrying, reconnecting
 * core in call.c is the same for every request; what this file adds is that a call site names
 * the request by its function, and the compiler checks it passes the body the family's table
 * says (VFS_OPEN a VfsPath, VFS_READ a VfsFd, VFS_SYNC none). A line's reply must be VfsReply,
 * the one body plexus__answer holds (a build error otherwise).
 */
#include <assert.h>

#include "client.h"

/* The line's request body, as a message for the core (asserted to be of the line's kind). */
#define S_BODY(req, body)                                                                          \
	(assert(!(body) || ((const ProtobufCMessage *)(body))->descriptor == PLX_STUB_DESC(req)),  \
	 (const ProtobufCMessage *)(body))

#define PLX_REQUEST(NAME, name, Req, req, Rep, rep)                                                \
	_Static_assert(__builtin_types_compatible_p(Plexus__##Rep, Plexus__VfsReply),              \
	               #NAME ": libplexus reads every reply as a VfsReply");                       \
	int64_t plexus__vfs_##name(plexus *self, const Plexus__##Req *body, const void *data,      \
	                           size_t size, int timeout_ms, plexus__answer *ans)               \
	{                                                                                          \
		return plexus__call(self, PLEXUS__VFS_TYPE__##NAME, S_BODY(req, body), data, size, \
		                    timeout_ms, ans);                                              \
	}                                                                                          \
	int64_t plexus__vfs_##name##_raw(plexus *self, const Plexus__##Req *body, int timeout_ms,  \
	                                 plexus__answer *ans)                                      \
	{                                                                                          \
		return plexus__call_raw(self, PLEXUS__VFS_TYPE__##NAME, S_BODY(req, body),         \
		                        timeout_ms, ans);                                          \
	}
#include "plexus/proto/vfs.def"
#undef PLX_REQUEST
