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

static s_opts s_o = {.capacity = PFS_CAPACITY, .user_memory = PFS_USER_MEMORY};
static pfs *s_state;

static int s_prepare(void *arg, char *err, size_t size)
{
	(void)arg;
	s_state = pfs_new(s_o.capacity, s_o.dev, s_o.user_memory);
	return s_state ? 0 : (snprintf(err, size, "out of memory"), EX_OSERR);
}

/* Builds the server, publishes and runs. Returns 0 or a negative errno, err saying why. */
static int s_run(void *arg, plx_service *svc, char *err, size_t size)
{
	(void)arg;
	size_t n;
	const plx_handler *table = pfs_handlers(&n);
	return plx_service_serve(svc, table, n, s_state, NULL, err, size);
}

static void s_cleanup(void *arg)
{
	(void)arg;
	pfs_destroy(&s_state);
}

static const plx_family *const s_families[] = {&plx_family_fs, NULL};

static const plx_service_desc s_desc = {
    .program = "plexus-pfs",
    .label = "pfs",
    .usage = "usage: plexus-pfs [options]\n\n"
             "The pipe file server: anonymous pipes and the data of named FIFOs for VFS.\n\n"
             "Server options:\n"
             "  --capacity BYTES  bytes one pipe holds (4096..16777216, default 65536)\n"
             "  --user-memory BYTES\n"
             "                    pipe capacity one user but root may hold in all; a new pipe\n"
             "                    past it fails ENFILE (default 67108864)\n"
             "  --dev N           device number reported in the pipes' attributes\n"
             "  --help            this text\n\n",
    .option = s_option,
    .families = s_families,
    .prepare = s_prepare,
    .run = s_run,
    .cleanup = s_cleanup,
};

int main(int argc, char **argv)
{
	return plx_service_main(&s_desc, &s_o, argc, argv);
}
