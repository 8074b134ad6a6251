/*
 * plexus/bdev_stub.h — the typed BDEV stubs, one set per line of proto/bdev.def
 * (docs/stubs.md): for each request NAME, plx_bdev_NAME_call (sendrec), plx_bdev_NAME_send
 * (asynsend) and plx_bdev_NAME_reply (reads an asynsend's reply), as plexus/stub.h describes.
 *
 * Entry points: plx_bdev_<request>_call, plx_bdev_<request>_send, plx_bdev_<request>_reply
 * for every request of proto/bdev.def.
 *
 * Used by plexus/bdev.h's convenience stubs and by VFS (its block special files and the reopen
 * after a driver's restart, addressed to the new generation).
 */
#ifndef PLEXUS_BDEV_STUB_H
#define PLEXUS_BDEV_STUB_H

#include <plexus/stub.h>

#include "plexus/proto/bdev.pb-c.h"

#define PLX_REQUEST(NAME, name, Req, req, Rep, rep)                                                \
	PLX_STUB_DECLARE(bdev, NAME, name, Req, req, Rep, rep)
#include "plexus/proto/bdev.def"
#undef PLX_REQUEST

#endif
