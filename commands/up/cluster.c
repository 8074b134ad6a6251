/*
 * cluster.c — the cluster description `plexus up` boots when none is given: one node,
 * "local", on 127.0.0.1, and the services of a single-machine Plexus, each with its program's
 * absolute path so that RS and the node kernel need no PATH.
 *
 * The root file system lives on a RAM disk of plexus-memory, which is empty when the driver
 * starts, so the boot has two descriptions: the first holds the drivers and pfs; once they are
 * up, `up` formats the RAM disk (`plexus mkfs memory:0`) and restarts RS with the second, which
 * adds mfs-root, mfs-data and vfs (the new RS adopts the running services, as it would after
 * a leader change).
 *
 * Entry points: up_cluster_write, up_cluster_check_extra.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "up.h"

/* A service of the default description. args may hold %I (the data image) and %R (the root
 * RAM disk's image: dropped with its colon when there is none). A service whose program is
 * not built is left out, and so are those that depend on it. */
typedef struct s_service {
	const char *label;
	const char *program;
	const char *args;
	const char *depends;
	const char *callers; /* who may call it (docs/security.md); NULL: anyone */
	bool fs;   /* the file system's: left out of the first description (see up_cluster_write) */
	int place; /* with --nodes N: node place % N; the other nodes are standbys when spare */
	bool spare;
} s_service;

/* File servers answer VFS; block drivers their file servers, VFS (block special files) and
 * plexus mkfs. */
#define S_FS_CALLERS   "vfs"
#define S_DISK_CALLERS "mfs-*, vfs, mkfs-*"

static const s_service s_services[] = {
    {"memory", "plexus-memory", "--ramdisk '0:64M:%R'", NULL, S_DISK_CALLERS, false, 0, true},
    {"log", "plexus-log", NULL, NULL, NULL, false, 3, true},
    {"tty", "plexus-tty", "--console none", NULL, NULL, false, 3, true},
    {"vdisk", "plexus-vdisk", "--image '%I'", NULL, S_DISK_CALLERS, false, 2, true},
    {"pfs", "plexus-pfs", NULL, NULL, S_FS_CALLERS, false, 1, true},
    {"mfs-root", "plexus-mfs", NULL, "memory", S_FS_CALLERS, true, 0, true},
    {"mfs-data", "plexus-mfs", NULL, "vdisk", S_FS_CALLERS, true, 2, true},
    {"vfs", "plexus-vfs",
     "--root mfs-root --root-dev memory:0 --pfs pfs --dmap 1=memory --dmap 3=vdisk "
     "--dmap 4=tty --dmap 5=log",
     "mfs-root, mfs-data, pfs", NULL, true, 1, true},
};

/* Copies args into out with %I replaced by image and %R by root (or ":%R" by nothing). */
static void s_expand(const char *args, const char *image, const char *root, char *out, size_t size)
{
	size_t o = 0;
	for (const char *p = args; *p && o + 1 < size; p++) {
		if (p[0] == '%' && p[1] == 'I') {
			o += (size_t)snprintf(out + o, size - o, "%s", image);
			p++;
		} else if (p[0] == ':' && p[1] == '%' && p[2] == 'R') {
			if (root)
				o += (size_t)snprintf(out + o, size - o, ":%s", root);
			p += 2;
		} else
			out[o++] = *p;
		if (o >= size)
			o = size - 1;
	}
	out[o] = '\0';
}

/* True when every label in depends (comma-separated) is in the written list. */
static bool s_depends_met(const char *depends, const bool *written)
{
	if (!depends)
		return true;
	char copy[256];
	snprintf(copy, sizeof copy, "%s", depends);
	for (char *save = NULL, *d = strtok_r(copy, ", ", &save); d;
	     d = strtok_r(NULL, ", ", &save)) {
		bool found = false;
		for (size_t i = 0; i < sizeof s_services / sizeof *s_services; i++)
			if (strcmp(s_services[i].label, d) == 0 && written[i])
				found = true;
		if (!found)
			return false;
	}
	return true;
}

/* The nodes: one "local", or n0..n<nodes-1> on subnet, which up's power controller cycles
 * (power.c). */
static void s_nodes(FILE *f, const char *subnet, int nodes, const char *power_dir)
{
	if (!subnet) {
		fprintf(f, "\n[node local]\nmac = 52:54:00:00:00:01\naddr = 127.0.0.1\n");
		return;
	}
	for (int i = 0; i < nodes; i++) {
		fprintf(f, "\n[node n%d]\nmac = 52:54:00:00:01:%02x\naddr = %s.%d\n", i, i + 1,
		        subnet, 10 + i);
		if (power_dir)
			fprintf(f, "power = netns\npower.dir = %s\n", power_dir);
	}
}

/* The node line (and standbys) of service s. */
static void s_placement(FILE *f, const s_service *s, const char *subnet, int nodes)
{
	if (!subnet) {
		fprintf(f, "node = local\n");
		return;
	}
	int home = s->place % nodes;
	fprintf(f, "node = n%d\n", home);
	if (!s->spare || nodes < 2)
		return;
	fprintf(f, "standby = ");
	for (int k = 1, first = 1; k < nodes; k++, first = 0)
		fprintf(f, "%sn%d", first ? "" : ", ", (home + k) % nodes);
	fprintf(f, "\n");
}

/* One --service-option line starting at line: sets *end past it and returns the ':' ending
 * its label, or NULL for a line meant for every service. */
static const char *s_extra_line(const char *line, const char **end)
{
	const char *nl = strchr(line, '\n'), *eq = strchr(line, '=');
	*end = nl ? nl + 1 : line + strlen(line);
	return memchr(line, ':', eq && eq < *end ? (size_t)(eq - line) : 0);
}

/* The --service-option lines for label: those without a label and those for it, the label
 * left out. */
static void s_extra(FILE *f, const char *extra, const char *label)
{
	size_t n = strlen(label);
	for (const char *line = extra, *end; line && *line; line = end) {
		const char *colon = s_extra_line(line, &end);
		if (!colon)
			fprintf(f, "%.*s", (int)(end - line), line);
		else if ((size_t)(colon - line) == n && strncmp(line, label, n) == 0)
			fprintf(f, "%.*s", (int)(end - colon - 1), colon + 1);
	}
}

/* The first --service-option line naming a label no service has, or NULL. */
static const char *s_extra_unknown(const char *extra)
{
	for (const char *line = extra, *end; line && *line; line = end) {
		const char *colon = s_extra_line(line, &end);
		size_t n = colon ? (size_t)(colon - line) : 0;
		bool known = !colon;
		for (size_t i = 0; !known && i < sizeof s_services / sizeof *s_services; i++)
			known = strlen(s_services[i].label) == n &&
			        strncmp(line, s_services[i].label, n) == 0;
		if (!known)
			return line;
	}
	return NULL;
}

int up_cluster_check_extra(const char *extra, char *err, size_t size)
{
	const char *unknown = s_extra_unknown(extra);
	if (!unknown)
		return 0;
	snprintf(err, size, "--service-option %.*s: no service of that label",
	         (int)strcspn(unknown, "\n"), unknown);
	return -EINVAL;
}

int up_cluster_write(const char *path, const up_cluster_desc *d, char *err, size_t size)
{
	if (up_cluster_check_extra(d->extra, err, size) < 0)
		return -EINVAL;
	FILE *f = fopen(path, "we");
	if (!f) {
		int rc = -errno;
		snprintf(err, size, "cannot write %s: %s", path, strerror(errno));
		return rc;
	}
	fprintf(f,
	        "; The single-machine Plexus of `plexus up` (docs/using.md \"Booting with up\").\n"
	        "[cluster]\nname = %s\netcd = %s\n",
	        d->cluster, d->etcd);
	s_nodes(f, d->subnet, d->nodes, d->power_dir);
	bool written[sizeof s_services / sizeof *s_services] = {0};
	for (size_t i = 0; i < sizeof s_services / sizeof *s_services; i++) {
		const s_service *s = &s_services[i];
		char program[PATH_MAX], args[PATH_MAX + 256];
		if ((d->first && s->fs) ||
		    up_find_program(s->program, program, sizeof program) < 0 ||
		    !s_depends_met(s->depends, written))
			continue;
		written[i] = true;
		fprintf(f, "\n[service %s]\nprogram = %s\nheartbeat = 1s\n", s->label, program);
		s_placement(f, s, d->subnet, d->nodes);
		if (s->args) {
			s_expand(s->args, d->image, d->root_image, args, sizeof args);
			fprintf(f, "args = %s\n", args);
		}
		if (s->depends)
			fprintf(f, "depends = %s\n", s->depends);
		if (s->callers)
			fprintf(f, "callers = %s\n", s->callers);
		s_extra(f, d->extra, s->label);
	}
	if (fclose(f) != 0) {
		int rc = -errno;
		snprintf(err, size, "cannot write %s: %s", path, strerror(errno));
		return rc;
	}
	return 0;
}
