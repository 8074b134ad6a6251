/*
 * plexus/ipc_stub.h — the typed IPC stubs, one set per line of proto/ipc.def (docs/stubs.md):
 * for each request NAME, plx_ipc_NAME_call (sendrec), plx_ipc_NAME_send (asynsend) and
 * plx_ipc_NAME_reply (reads an asynsend's reply), as plexus/stub.h describes.
 *
 * Entry points: plx_ipc_<request>_call, plx_ipc_<request>_send, plx_ipc_<request>_reply for
 * every request of proto/ipc.def.
 *
 * The transport's own family: a heartbeat (plx_ipc_ping_call), the shared control calls every
 * server answers, and the test messages of the transport's tests and benchmarks.
 */
#ifndef PLEXUS_IPC_STUB_H
#define PLEXUS_IPC_STUB_H

#include <plexus/stub.h>

#include "plexus/proto/ipc.pb-c.h"

#define PLX_REQUEST(NAME, name, Req, req, Rep, rep)                                                \
	PLX_STUB_DECLARE(ipc, NAME, name, Req, req, Rep, rep)
#include "plexus/proto/ipc.def"
#undef PLX_REQUEST

#endif
