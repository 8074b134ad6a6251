/*
 * plexus/fs_stub.h — the typed FS stubs, one set per line of proto/fs.def
 * (docs/stubs.md): for each request NAME, plx_fs_NAME_call (sendrec), plx_fs_NAME_send
 * (asynsend) and plx_fs_NAME_reply (reads an asynsend's reply), as plexus/stub.h describes.
 *
 * Entry points: plx_fs_<request>_call, plx_fs_<request>_send, plx_fs_<request>_reply
 * for every request of proto/fs.def.
 *
 * Used by plexus/fsreq.h's stubs, which VFS and the tests call.
 */
#ifndef PLEXUS_FS_STUB_H
#define PLEXUS_FS_STUB_H

#include <plexus/stub.h>

#include "plexus/proto/fs.pb-c.h"

#define PLX_REQUEST(NAME, name, Req, req, Rep, rep)                                                \
	PLX_STUB_DECLARE(fs, NAME, name, Req, req, Rep, rep)
#include "plexus/proto/fs.def"
#undef PLX_REQUEST

#endif
