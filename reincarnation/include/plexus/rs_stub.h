/*
 * plexus/rs_stub.h — the typed RS stubs, one set per line of proto/rs.def (docs/stubs.md): for
 * each request NAME, plx_rs_NAME_call (sendrec), plx_rs_NAME_send (asynsend) and
 * plx_rs_NAME_reply (reads an asynsend's reply), as plexus/stub.h describes.
 *
 * Entry points: plx_rs_<request>_call, plx_rs_<request>_send, plx_rs_<request>_reply for every
 * request of proto/rs.def.
 *
 * Used by `plexus service` and `plexus node cycle` (cli.c: plx_rs_signal, plx_rs_power), which
 * ask the leading RS as an operator and wait for its answer.
 */
#ifndef PLEXUS_RS_STUB_H
#define PLEXUS_RS_STUB_H

#include <plexus/stub.h>

#include "plexus/proto/rs.pb-c.h"

#define PLX_REQUEST(NAME, name, Req, req, Rep, rep)                                                \
	PLX_STUB_DECLARE(rs, NAME, name, Req, req, Rep, rep)
#include "plexus/proto/rs.def"
#undef PLX_REQUEST

#endif
