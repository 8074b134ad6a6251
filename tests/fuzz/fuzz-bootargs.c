/*
 * fuzz-bootargs.c — libFuzzer harness for plexus-init's kernel command line
 * (plx_bootargs_parse and plx_bootargs_has_role, plexus/bootargs.h).
 *
 * Entry point: LLVMFuzzerTestOneInput.
 *
 * The input up to its first NUL is /proc/cmdline. Besides running without a crash, a leak or
 * undefined behaviour, the parser must keep what its header promises: on failure *out is
 * untouched and err says why; on success every field is terminated and within its range, and
 * the settings written back as a command line (every value quoted) parse to the same settings.
 * Each word of the role list is found by plx_bootargs_has_role. A broken promise aborts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <plexus/bootargs.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every string field ends inside its array; the numbers are in their ranges. */
static void s_check_fields(const plx_bootargs *a)
{
	FUZZ_CHECK(fuzz_terminated(a->node, sizeof a->node));
	FUZZ_CHECK(fuzz_terminated(a->etcd, sizeof a->etcd));
	FUZZ_CHECK(fuzz_terminated(a->cluster, sizeof a->cluster));
	FUZZ_CHECK(fuzz_terminated(a->role, sizeof a->role));
	FUZZ_CHECK(fuzz_terminated(a->addr, sizeof a->addr));
	FUZZ_CHECK(fuzz_terminated(a->gw, sizeof a->gw));
	FUZZ_CHECK(fuzz_terminated(a->iface, sizeof a->iface));
	FUZZ_CHECK(fuzz_terminated(a->log, sizeof a->log));
	FUZZ_CHECK(a->cluster[0] != '\0');
	FUZZ_CHECK(!a->etcd[0] || strncmp(a->etcd, "http", 4) == 0);
	FUZZ_CHECK(!a->log[0] || strncmp(a->log, "http://", 7) == 0);
	FUZZ_CHECK(!a->addr[0] || strchr(a->addr, '/'));
	FUZZ_CHECK(a->dhcp_timeout_s >= 1 && a->dhcp_timeout_s <= 600);
	FUZZ_CHECK(a->lease_ttl_s >= 0 && a->lease_ttl_s <= 3600);
}

/* Appends ' plexus.KEY="VALUE"' to out when value is set. */
static void s_put(char *out, size_t size, const char *key, const char *value)
{
	size_t n = strlen(out);
	if (*value)
		snprintf(out + n, size - n, " plexus.%s=\"%s\"", key, value);
}

/* Writes a back as a command line and parses it again: the same settings. */
static void s_check_round_trip(const plx_bootargs *a)
{
	static char line[16384];
	snprintf(line, sizeof line, "console=ttyS0");
	s_put(line, sizeof line, "node", a->node);
	s_put(line, sizeof line, "etcd", a->etcd);
	s_put(line, sizeof line, "cluster", a->cluster);
	s_put(line, sizeof line, "role", a->role);
	s_put(line, sizeof line, "addr", a->addr);
	s_put(line, sizeof line, "gw", a->gw);
	s_put(line, sizeof line, "if", a->iface);
	s_put(line, sizeof line, "log", a->log);
	size_t n = strlen(line);
	snprintf(line + n, sizeof line - n, " plexus.shell=%d plexus.dhcp_timeout=%d", a->shell,
	         a->dhcp_timeout_s);
	if (a->lease_ttl_s) {
		n = strlen(line);
		snprintf(line + n, sizeof line - n, " plexus.lease_ttl=%d", a->lease_ttl_s);
	}
	plx_bootargs b;
	char err[512];
	int rc = plx_bootargs_parse(line, &b, err, sizeof err);
	if (rc != 0)
		fprintf(stderr, "fuzz-bootargs: written back as [%s]: %s\n", line, err);
	FUZZ_CHECK(rc == 0);
	FUZZ_CHECK(strcmp(a->node, b.node) == 0 && strcmp(a->etcd, b.etcd) == 0);
	FUZZ_CHECK(strcmp(a->cluster, b.cluster) == 0 && strcmp(a->role, b.role) == 0);
	FUZZ_CHECK(strcmp(a->addr, b.addr) == 0 && strcmp(a->gw, b.gw) == 0);
	FUZZ_CHECK(strcmp(a->iface, b.iface) == 0 && strcmp(a->log, b.log) == 0);
	FUZZ_CHECK(a->shell == b.shell && a->dhcp_timeout_s == b.dhcp_timeout_s);
	FUZZ_CHECK(a->lease_ttl_s == b.lease_ttl_s);
}

/* Each word of the comma-separated role list is found. */
static void s_check_roles(const plx_bootargs *a)
{
	char copy[sizeof a->role];
	memcpy(copy, a->role, sizeof copy);
	for (char *p = copy, *comma; p; p = comma ? comma + 1 : NULL) {
		comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		FUZZ_CHECK(plx_bootargs_has_role(a, p) || !*p);
	}
	plx_bootargs_has_role(a, "etcd");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *cmdline = malloc(size + 1);
	if (!cmdline)
		return 0;
	memcpy(cmdline, data, size);
	cmdline[size] = '\0';
	plx_bootargs a;
	memset(&a, 0x5a, sizeof a);
	plx_bootargs untouched = a;
	char err[256] = "";
	int rc = plx_bootargs_parse(cmdline, &a, err, sizeof err);
	FUZZ_CHECK(rc == 0 || rc == -EINVAL);
	if (rc < 0) {
		FUZZ_CHECK(memcmp(&a, &untouched, sizeof a) == 0);
		FUZZ_CHECK(err[0] && fuzz_terminated(err, sizeof err));
	} else {
		s_check_fields(&a);
		s_check_round_trip(&a);
		s_check_roles(&a);
	}
	free(cmdline);
	return 0;
}
