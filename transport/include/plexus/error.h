/*
 * plexus/error.h — the error codes every Plexus library and message uses.
 *
 * Entry points: plx_strerror().
 *
 * Convention (docs/errors.md): functions return 0 or a positive count on success and a negative
 * error code on failure; output parameters are left untouched on failure. Codes are Linux errno
 * values, plus the few Plexus-specific ones below, which sit above every errno value. The same
 * numbers travel in a reply's status field.
 */
#ifndef PLEXUS_ERROR_H
#define PLEXUS_ERROR_H

#include <errno.h>

#define PLX_ERRBASE 1000
/* The destination is not alive: no such label, a dead instance, or a stale generation
 * (MINIX: EDEADSRCDST). */
#define PLX_EDEADSRCDST (PLX_ERRBASE + 1)
/* The sender is not allowed to send this message type to this server (MINIX: ECALLDENIED). */
#define PLX_ECALLDENIED (PLX_ERRBASE + 2)

/* Returns a static description of an error code, negative or positive. Never NULL. */
const char *plx_strerror(int code);

#endif
