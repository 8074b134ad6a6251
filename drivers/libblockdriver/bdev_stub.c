/*
 * bdev_stub.c — the typed BDEV stubs (plexus/bdev_stub.h), expanded from proto/bdev.def.
 *
 * Entry points: plx_bdev_<request>_call, plx_bdev_<request>_send, plx_bdev_<request>_reply
 * for every request of proto/bdev.def.
 */
#include <plexus/bdev_stub.h>

#define PLX_REQUEST(NAME, name, Req, req, Rep, rep)                                                \
	PLX_STUB_DEFINE(bdev, PLEXUS__BDEV_TYPE__##NAME, name, Req, req, Rep, rep)
#include "plexus/proto/bdev.def"
#undef PLX_REQUEST
