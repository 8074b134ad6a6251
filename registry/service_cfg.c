/*
 * service_cfg.c — a service's settings, from its environment and from options.
 *
 * Entry points: plx_service_cfg_init, plx_service_cfg_env, plx_service_cfg_set,
 * plx_service_usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <plexus/service.h>

typedef struct s_setting {
	const char *name; /* option name */
	const char *var;  /* environment variable */
	const char *help;
} s_setting;

static const s_setting s_settings[] = {
    {"label", "PLEXUS_LABEL", "LABEL      the service's label (required)"},
    {"generation", "PLEXUS_GENERATION", "N     its generation; default: the next one"},
    {"node", "PLEXUS_NODE", "NAME        the node it runs on (default local)"},
    {"etcd", "PLEXUS_ETCD", "URL[,URL]   etcd members (default " PLX_ETCD_DEFAULT_URL ")"},
    {"cluster", "PLEXUS_CLUSTER", "NAME     the registry prefix /plexus/NAME/ (default default)"},
    {"addr", "PLEXUS_ADDR", "IP          the address peers reach it at (default 127.0.0.1)"},
    {"bind", "PLEXUS_BIND", "ADDRESS     where to bind (default tcp://ADDR:*)"},
    {"lease-ttl", "PLEXUS_LEASE_TTL", "S   TTL of its registry lease (default 2)"},
    {"init", "PLEXUS_INIT", "fresh|restart  how RS started it (default fresh)"},
    {"service-label", "PLEXUS_SERVICE_LABEL",
     "LABEL  its label, when the node knows it by another"},
    {"spare", "PLEXUS_SPARE", "0|1      run as a warm spare (set by RS)"},
    {"callers", "PLEXUS_CALLERS", "PATTERNS  who may call it (default anyone)"},
    {"log-level", "PLEXUS_LOG_LEVEL", "LEVEL  error|warn|info|debug|trace (default info)"},
};

void plx_service_cfg_init(plx_service_cfg *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	snprintf(cfg->node, sizeof cfg->node, "local");
	snprintf(cfg->etcd, sizeof cfg->etcd, "%s", PLX_ETCD_DEFAULT_URL);
	snprintf(cfg->cluster, sizeof cfg->cluster, "default");
	snprintf(cfg->addr, sizeof cfg->addr, "127.0.0.1");
	cfg->lease_ttl = PLX_SERVICE_LEASE_TTL;
	cfg->init = PLX_INIT_FRESH;
}

static int s_bad(char *err, size_t size, const char *name, const char *value, const char *want)
{
	snprintf(err, size, "%s: bad value \"%s\": expected %s", name, value, want);
	return -EINVAL;
}

/* Copies value into buf of size bytes when it fits and is not empty. */
static int s_copy(char *buf, size_t size, const char *name, const char *value, char *err,
                  size_t errsize)
{
	size_t len = strlen(value);
	if (len == 0 || len >= size)
		return s_bad(err, errsize, name, value, "a non-empty value that fits");
	memcpy(buf, value, len + 1);
	return 0;
}

static int s_label(plx_service_cfg *cfg, const char *value, char *err, size_t size)
{
	size_t len = strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                           "0123456789._-");
	if (len == 0 || value[len] || len >= sizeof cfg->label)
		return s_bad(err, size, "label", value,
		             "letters, digits, '.', '_', '-' (at most 63)");
	memcpy(cfg->label, value, len + 1);
	return 0;
}

static int s_number(const char *name, const char *value, uint64_t min, uint64_t max, uint64_t *out,
                    char *err, size_t size)
{
	char *end;
	errno = 0;
	unsigned long long n = strtoull(value, &end, 10);
	if (errno || end == value || *end || value[0] == '-' || n < min || n > max) {
		char want[64];
		snprintf(want, sizeof want, "a number from %" PRIu64 " to %" PRIu64, min, max);
		return s_bad(err, size, name, value, want);
	}
	*out = n;
	return 0;
}

static int s_init(plx_service_cfg *cfg, const char *value, char *err, size_t size)
{
	if (strcmp(value, "fresh") == 0)
		cfg->init = PLX_INIT_FRESH;
	else if (strcmp(value, "restart") == 0)
		cfg->init = PLX_INIT_RESTART;
	else
		return s_bad(err, size, "init", value, "fresh or restart");
	return 0;
}

static int s_bind(plx_service_cfg *cfg, const char *value, char *err, size_t size)
{
	if (strncmp(value, "tcp://", 6) && strncmp(value, "ipc://", 6) &&
	    strncmp(value, "inproc://", 9))
		return s_bad(err, size, "bind", value, "a tcp://, ipc:// or inproc:// address");
	return s_copy(cfg->bind, sizeof cfg->bind, "bind", value, err, size);
}

/* The log threshold is the process's, not the service's: set at once (plexus/log.h). */
static int s_log_level(const char *value, char *err, size_t size)
{
	plx_log_level level;
	if (plx_log_level_parse(value, &level) < 0)
		return s_bad(err, size, "log-level", value, "error, warn, info, debug or trace");
	plx_log_set_level(level);
	return 0;
}

int plx_service_cfg_set(plx_service_cfg *cfg, const char *name, const char *value, char *err,
                        size_t size)
{
	uint64_t n;
	int rc;
	if (strcmp(name, "label") == 0)
		return s_label(cfg, value, err, size);
	if (strcmp(name, "generation") == 0) {
		if ((rc = s_number(name, value, 1, INT64_MAX, &n, err, size)) == 0)
			cfg->generation = n;
		return rc;
	}
	if (strcmp(name, "lease-ttl") == 0) {
		if ((rc = s_number(name, value, 1, 3600, &n, err, size)) == 0)
			cfg->lease_ttl = (int)n;
		return rc;
	}
	if (strcmp(name, "node") == 0)
		return s_copy(cfg->node, sizeof cfg->node, name, value, err, size);
	if (strcmp(name, "etcd") == 0)
		return s_copy(cfg->etcd, sizeof cfg->etcd, name, value, err, size);
	if (strcmp(name, "cluster") == 0)
		return s_copy(cfg->cluster, sizeof cfg->cluster, name, value, err, size);
	if (strcmp(name, "addr") == 0)
		return s_copy(cfg->addr, sizeof cfg->addr, name, value, err, size);
	if (strcmp(name, "bind") == 0)
		return s_bind(cfg, value, err, size);
	if (strcmp(name, "init") == 0)
		return s_init(cfg, value, err, size);
	if (strcmp(name, "service-label") == 0)
		return s_label(cfg, value, err, size);
	if (strcmp(name, "spare") == 0) {
		if (strcmp(value, "0") != 0 && strcmp(value, "1") != 0)
			return s_bad(err, size, name, value, "0 or 1");
		cfg->spare = value[0] == '1';
		return 0;
	}
	if (strcmp(name, "callers") == 0)
		return s_copy(cfg->callers, sizeof cfg->callers, name, value, err, size);
	if (strcmp(name, "log-level") == 0)
		return s_log_level(value, err, size);
	return -ENOENT;
}

int plx_service_cfg_env(plx_service_cfg *cfg, char *err, size_t size)
{
	for (size_t i = 0; i < sizeof s_settings / sizeof s_settings[0]; i++) {
		const char *value = getenv(s_settings[i].var);
		if (!value)
			continue;
		int rc = plx_service_cfg_set(cfg, s_settings[i].name, value, err, size);
		if (rc < 0) {
			char detail[256];
			snprintf(detail, sizeof detail, "%s", err);
			snprintf(err, size, "%s: %s", s_settings[i].var, detail);
			return rc;
		}
	}
	return 0;
}

void plx_service_usage(FILE *out)
{
	fprintf(out, "Service options (or the environment variable named, as plexus-node sets "
	             "them):\n");
	for (size_t i = 0; i < sizeof s_settings / sizeof s_settings[0]; i++)
		fprintf(out, "  --%s %s  [%s]\n", s_settings[i].name, s_settings[i].help,
		        s_settings[i].var);
}
