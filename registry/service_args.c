/*
 * service_args.c — a service's command line: the service options and the service's own.
 *
 * Entry points: plx_service_args.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <plexus/service.h>

static bool s_is_flag(const char *const *flags, const char *name)
{
	for (; flags && *flags; flags++)
		if (strcmp(*flags, name) == 0)
			return true;
	return false;
}

/* One option; name is the text after "--" up to any '='. */
static int s_option(plx_service_cfg *cfg, const char *name, const char *value,
                    plx_service_opt_fn *own, void *arg, char *err, size_t size)
{
	int rc = plx_service_cfg_set(cfg, name, value, err, size);
	if (rc == -ENOENT)
		rc = own ? own(arg, name, value, err, size) : -ENOENT;
	if (rc == -ENOENT)
		snprintf(err, size, "unknown option --%s", name);
	return rc < 0 ? -EINVAL : 0;
}

int plx_service_args(plx_service_cfg *cfg, int argc, char **argv, const char *const *flags,
                     plx_service_opt_fn *own, void *arg, char *err, size_t size)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
			return 1;
		if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
			snprintf(err, size, "unexpected argument '%s'", a);
			return -EINVAL;
		}
		char name[64];
		const char *eq = strchr(a, '='), *value;
		size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		if (len >= sizeof name) {
			snprintf(err, size, "unknown option %s", a);
			return -EINVAL;
		}
		memcpy(name, a + 2, len);
		name[len] = '\0';
		if (eq)
			value = eq + 1;
		else if (s_is_flag(flags, name))
			value = "";
		else if (i + 1 < argc)
			value = argv[++i];
		else {
			snprintf(err, size, "option --%s needs a value", name);
			return -EINVAL;
		}
		int rc = s_option(cfg, name, value, own, arg, err, size);
		if (rc < 0)
			return rc;
	}
	return 0;
}
