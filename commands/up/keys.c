/*
 * keys.c — the trust root of `plexus up --secure` (docs/security.md "Keys on one machine").
 *
 * Entry points: up_keys, up_keys_env.
 *
 * STATE/keys holds root.pub and root.key (plexus/link_keys.h). A secured up makes a new one
 * and exports PLEXUS_KEYS, which every process it starts inherits (etcd ignores it; plexus-node
 * passes it on to the services), so each secures its endpoint at start. An up without
 * --secure removes a trust root left there, so that no command mistakes the system for a
 * secured one.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <plexus/link_keys.h>

#include "up.h"

int up_keys(const up_opts *o)
{
	char dir[PATH_MAX + 8], path[PATH_MAX + 24], err[PATH_MAX + 128];
	snprintf(dir, sizeof dir, "%s/keys", o->state_dir);
	if (!o->secure) {
		snprintf(path, sizeof path, "%s/root.key", dir);
		unlink(path);
		snprintf(path, sizeof path, "%s/root.pub", dir);
		unlink(path);
		rmdir(dir);
		unsetenv("PLEXUS_KEYS");
		return 0;
	}
	snprintf(path, sizeof path, "%s/root.pub", dir);
	unlink(path); /* a new root for each boot: nothing an earlier one signed is trusted */
	snprintf(path, sizeof path, "%s/root.key", dir);
	unlink(path);
	if (plx_link_keys_make(dir, err, sizeof err) < 0) {
		fprintf(stderr, "plexus up: --secure: %s\n", err);
		return EX_CANTCREAT;
	}
	setenv("PLEXUS_KEYS", dir, 1);
	if (!o->quiet)
		printf("Secured links: trust root in %s (root.key readable by this user only)\n",
		       dir);
	return 0;
}

void up_keys_env(const char *dir)
{
	char keys[PATH_MAX + 8], pub[PATH_MAX + 24];
	snprintf(keys, sizeof keys, "%s/keys", dir);
	snprintf(pub, sizeof pub, "%s/root.pub", keys);
	if (!getenv("PLEXUS_KEYS") && access(pub, F_OK) == 0)
		setenv("PLEXUS_KEYS", keys, 1);
}
