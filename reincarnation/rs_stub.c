/*
 * rs_stub.c — the typed RS stubs (plexus/rs_stub.h), expanded from proto/rs.def.
 *
 * Entry points: plx_rs_<request>_call, plx_rs_<request>_send, plx_rs_<request>_reply for every
 * request of proto/rs.def.
 */
#include <plexus/rs_stub.h>

#define PLX_REQUEST(NAME, name, Req, req, Rep, rep)                                                \
	PLX_STUB_DEFINE(rs, PLEXUS__RS_TYPE__##NAME, name, Req, req, Rep, rep)
#include "plexus/proto/rs.def"
#undef PLX_REQUEST
