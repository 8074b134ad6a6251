/*
 * errno.c — the names of the statuses a reply carries.
 *
 * Entry points: tr_errno_name.
 */
#include <string.h>

#include <plexus/error.h>

#include "trace.h"

const char *tr_errno_name(int32_t status)
{
	int code = status < 0 ? -status : status;
	if (code == PLX_EDEADSRCDST)
		return "EDEADSRCDST";
	if (code == PLX_ECALLDENIED)
		return "ECALLDENIED";
	const char *name = strerrorname_np(code);
	return name ? name : "E?";
}
