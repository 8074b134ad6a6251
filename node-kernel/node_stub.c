/*
 * node_stub.c — the typed NODE stubs (plexus/node_stub.h), expanded from proto/node.def.
 *
 * Entry points: plx_node_<request>_call, plx_node_<request>_send, plx_node_<request>_reply for
 * every request of proto/node.def.
 */
#include <plexus/node_stub.h>

#define PLX_REQUEST(NAME, name, Req, req, Rep, rep)                                                \
	PLX_STUB_DEFINE(node, PLEXUS__NODE_TYPE__##NAME, name, Req, req, Rep, rep)
#include "plexus/proto/node.def"
#undef PLX_REQUEST
