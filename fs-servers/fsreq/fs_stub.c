/*
 * fs_stub.c — the typed FS stubs (plexus/fs_stub.h), expanded from proto/fs.def.
 *
 * Entry points: plx_fs_<request>_call, plx_fs_<request>_send, plx_fs_<request>_reply
 * for every request of proto/fs.def.
 */
#include <plexus/fs_stub.h>

#define PLX_REQUEST(NAME, name, Req, req, Rep, rep)                                                \
	PLX_STUB_DEFINE(fs, PLEXUS__FS_TYPE__##NAME, name, Req, req, Rep, rep)
#include "plexus/proto/fs.def"
#undef PLX_REQUEST
