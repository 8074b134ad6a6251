/*
 * cdev_stub.c — the typed CDEV stubs (plexus/cdev_stub.h), expanded from proto/cdev.def.
 *
 * Entry points: plx_cdev_<request>_call, plx_cdev_<request>_send, plx_cdev_<request>_reply
 * for every request of proto/cdev.def.
 */
#include <plexus/cdev_stub.h>

#define PLX_REQUEST(NAME, name, Req, req, Rep, rep)                                                \
	PLX_STUB_DEFINE(cdev, PLEXUS__CDEV_TYPE__##NAME, name, Req, req, Rep, rep)
#include "plexus/proto/cdev.def"
#undef PLX_REQUEST
