/*
 * plexus/node_stub.h — the typed NODE stubs, one set per line of proto/node.def
 * (docs/stubs.md): for each request NAME, plx_node_NAME_call (sendrec), plx_node_NAME_send
 * (asynsend) and plx_node_NAME_reply (reads an asynsend's reply), as plexus/stub.h describes.
 *
 * Entry points: plx_node_<request>_call, plx_node_<request>_send, plx_node_<request>_reply for
 * every request of proto/node.def.
 *
 * Used by RS (reincarnation/request.c: NODE_START, NODE_SIGNAL and NODE_STOP by asynsend, the
 * replies read in exit.c) and by the node kernel, whose exit reports to RS are NODE_EXIT
 * asynsends (exits.c). Both link plexus-node-cli, where these stubs live.
 */
#ifndef PLEXUS_NODE_STUB_H
#define PLEXUS_NODE_STUB_H

#include <plexus/stub.h>

#include "plexus/proto/node.pb-c.h"

#define PLX_REQUEST(NAME, name, Req, req, Rep, rep)                                                \
	PLX_STUB_DECLARE(node, NAME, name, Req, req, Rep, rep)
#include "plexus/proto/node.def"
#undef PLX_REQUEST

#endif
