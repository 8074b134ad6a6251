/*
 * main.c — plexus-pfs, the pipe file server (MINIX's PFS): anonymous pipes and the data of
 * named FIFOs, for VFS (docs/vfs.md "Pipes", docs/protocol.md "File servers").
 *
 * Entry points: main.
 *
 * The life of a service: options, start (plexus/service.h), the dispatch table (table.c),
 * publish the endpoint, run until IPC_SHUTDOWN or SIGTERM. Pipes live in memory only: a
 * restarted PFS starts empty, and VFS fails the pipes it had open on the old instance.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <plexus/service.h>

#include "pfs.h"

typedef struct s_opts {
	size_t capacity;
	size_t user_memory;
	uint32_t dev;
} s_opts;

static void s_usage(FILE *out)
{
	fprintf(out,
	        "usage: plexus-pfs [options]\n\n"
	        "The pipe file server: anonymous pipes and the data of named FIFOs for VFS.\n\n"
	        "Server options:\n"
	        "  --capacity BYTES  bytes one pipe holds (4096..16777216, default 65536)\n"
	        "  --user-memory BYTES\n"
	        "                    pipe capacity one user but root may hold in all; a new pipe\n"
	        "                    past it fails ENFILE (default 67108864)\n"
	        "  --dev N           device number reported in the pipes' attributes\n"
	        "  --help            this text\n\n");
	plx_service_usage(out);
}

static int s_number(const char *value, unsigned long long max, unsigned long long *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(value, &end, 0);
	if (errno || end == value || *end || value[0] == '-' || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int s_option(void *arg, const char *name, const char *value, char *err, size_t size)
{
	s_opts *o = arg;
	unsigned long long v;
	if (strcmp(name, "capacity") == 0) {
		if (s_number(value, PFS_CAPACITY_MAX, &v) < 0 || v < PFS_PIPE_BUF) {
			snprintf(err, size, "bad --capacity '%s': want %u..%u bytes", value,
			         PFS_PIPE_BUF, PFS_CAPACITY_MAX);
			return -EINVAL;
		}
		o->capacity = (size_t)v;
		return 0;
	}
	if (strcmp(name, "user-memory") == 0) {
		if (s_number(value, SIZE_MAX / 2, &v) < 0) {
			snprintf(err, size, "bad --user-memory '%s': want bytes", value);
			return -EINVAL;
		}
		o->user_memory = (size_t)v;
		return 0;
	}
	if (strcmp(name, "dev") == 0) {
		if (s_number(value, UINT32_MAX, &v) < 0) {
			snprintf(err, size, "bad --dev '%s': want a number", value);
			return -EINVAL;
		}
		o->dev = (uint32_t)v;
		return 0;
	}
	return -ENOENT;
}

/* Builds the server, publishes and runs. Returns 0 or a negative errno, err saying why. */
static int s_serve(plx_service *svc, pfs *state, char *err, size_t size)
{
	size_t n;
	const plx_handler *table = pfs_handlers(&n);
	plx_server *srv = plx_server_new(plx_service_ep(svc), table, n, state);
	const char *step = "server";
	int rc = srv ? 0 : -errno;
	if (rc == 0 &&
	    (step = "publishing the endpoint", rc = plx_service_publish(svc, "up")) == 0) {
		fprintf(stderr, "plexus-pfs: %s/%llu serving at %s (%s start)\n",
		        plx_service_config(svc)->label,
		        (unsigned long long)plx_ep_name(plx_service_ep(svc))->generation,
		        plx_ep_address(plx_service_ep(svc)),
		        plx_service_restarted(svc) ? "restart" : "fresh");
		step = "message loop";
		rc = plx_service_run(svc, srv);
	}
	if (rc < 0)
		snprintf(err, size, "%s: %s", step, plx_strerror(rc));
	plx_server_destroy(&srv);
	return rc;
}

int main(int argc, char **argv)
{
	char err[1024];
	plx_service_cfg cfg;
	s_opts opts = {.capacity = PFS_CAPACITY, .user_memory = PFS_USER_MEMORY};
	plx_service_cfg_init(&cfg);
	snprintf(cfg.label, sizeof cfg.label, "pfs");
	int rc = plx_service_cfg_env(&cfg, err, sizeof err);
	if (rc < 0) {
		fprintf(stderr, "plexus-pfs: %s\n", err);
		return EX_CONFIG;
	}
	rc = plx_service_args(&cfg, argc, argv, NULL, s_option, &opts, err, sizeof err);
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "plexus-pfs: %s\n", err);
		s_usage(rc < 0 ? stderr : stdout);
		return rc < 0 ? EX_USAGE : EX_OK;
	}
	pfs *state = pfs_new(opts.capacity, opts.dev, opts.user_memory);
	if (!state) {
		fprintf(stderr, "plexus-pfs: out of memory\n");
		return EX_OSERR;
	}
	plx_register_types(&plexus__fs_type__descriptor);
	plx_service *svc = plx_service_new(&cfg, err, sizeof err);
	if (!svc) {
		int code = errno == EINVAL ? EX_USAGE : EX_UNAVAILABLE;
		fprintf(stderr, "plexus-pfs: %s\n", err);
		pfs_destroy(&state);
		return code;
	}
	rc = s_serve(svc, state, err, sizeof err);
	plx_service_destroy(&svc);
	pfs_destroy(&state);
	if (rc < 0) {
		fprintf(stderr, "plexus-pfs: %s\n", err);
		return EX_SOFTWARE;
	}
	fprintf(stderr, "plexus-pfs: stopped\n");
	return EX_OK;
}
