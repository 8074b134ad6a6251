/*
 * error.c — descriptions of Plexus error codes.
 *
 * Entry points: plx_strerror.
 */
#include <string.h>

#include <plexus/error.h>

const char *plx_strerror(int code)
{
	if (code < 0)
		code = -code;
	switch (code) {
	case PLX_EDEADSRCDST:
		return "destination endpoint is dead, unknown or of a stale generation";
	case PLX_ECALLDENIED:
		return "call denied by the destination's policy";
	default:
		return strerror(code);
	}
}
