/*
 * ipc_stub.c — the typed IPC stubs (plexus/ipc_stub.h), expanded from proto/ipc.def.
 *
 * Entry points: plx_ipc_<request>_call, plx_ipc_<request>_send, plx_ipc_<request>_reply for
 * every request of proto/ipc.def.
 */
#include <plexus/ipc_stub.h>

#define PLX_REQUEST(NAME, name, Req, req, Rep, rep)                                                \
	PLX_STUB_DEFINE(ipc, PLEXUS__IPC_TYPE__##NAME, name, Req, req, Rep, rep)
#include "plexus/proto/ipc.def"
#undef PLX_REQUEST
