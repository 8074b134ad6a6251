/*
 * plexus/cdev_stub.h — the typed CDEV stubs, one set per line of proto/cdev.def
 * (docs/stubs.md): for each request NAME, plx_cdev_NAME_call (sendrec), plx_cdev_NAME_send
 * (asynsend) and plx_cdev_NAME_reply (reads an asynsend's reply), as plexus/stub.h describes.
 *
 * Entry points: plx_cdev_<request>_call, plx_cdev_<request>_send, plx_cdev_<request>_reply
 * for every request of proto/cdev.def.
 *
 * Used by plexus/cdev.h's convenience stubs and by VFS, which sends asynchronously and addresses a
 * driver's generation (a plx_stub per call).
 */
#ifndef PLEXUS_CDEV_STUB_H
#define PLEXUS_CDEV_STUB_H

#include <plexus/stub.h>

#include "plexus/proto/cdev.pb-c.h"

#define PLX_REQUEST(NAME, name, Req, req, Rep, rep)                                                \
	PLX_STUB_DECLARE(cdev, NAME, name, Req, req, Rep, rep)
#include "plexus/proto/cdev.def"
#undef PLX_REQUEST

#endif
