/*
 * paths.c — names that are in Plexus, or on the host when written host:PATH (cp and dd copy
 * both ways), behind one set of calls.
 *
 * Entry points: sh_path_parse, sh_path_stat, sh_path_open, sh_path_mkdir, sh_path_list,
 * sh_path_join.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sh.h"

sh_path sh_path_parse(const char *arg)
{
	if (strncmp(arg, "host:", 5) == 0)
		return (sh_path){true, arg + 5};
	return (sh_path){false, arg};
}

int sh_path_stat(sh_io *io, sh_path p, struct stat *st, bool follow)
{
	int rc;
	if (p.host)
		rc = follow ? stat(p.path, st) : lstat(p.path, st);
	else
		rc = follow ? plexus_stat(io->px, p.path, st) : plexus_lstat(io->px, p.path, st);
	return rc < 0 ? -errno : 0;
}

int sh_path_open(sh_io *io, sh_path p, int flags, mode_t mode, sh_fd *fd)
{
	int rc = p.host ? open(p.path, flags | O_CLOEXEC, mode)
	                : plexus_open(io->px, p.path, flags | O_CLOEXEC, mode);
	if (rc < 0)
		return -errno;
	*fd = (sh_fd){rc, p.host};
	return 0;
}

int sh_path_mkdir(sh_io *io, sh_path p, mode_t mode)
{
	int rc = p.host ? mkdir(p.path, mode) : plexus_mkdir(io->px, p.path, mode);
	return rc < 0 ? -errno : 0;
}

static int s_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int s_add(char ***names, size_t *n, size_t *cap, const char *name)
{
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		char **grown = realloc(*names, *cap * sizeof *grown);
		if (!grown)
			return -ENOMEM;
		*names = grown;
	}
	if (!((*names)[*n] = strdup(name)))
		return -ENOMEM;
	(*n)++;
	return 0;
}

/* Reads the entries of a host directory. */
static int s_list_host(const char *path, char ***names, size_t *n, size_t *cap)
{
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d)))
		rc = s_add(names, n, cap, e->d_name);
	closedir(d);
	return rc;
}

static int s_list_plexus(plexus *px, const char *path, char ***names, size_t *n, size_t *cap)
{
	plexus_dir *d = plexus_opendir(px, path);
	if (!d)
		return -errno;
	int rc = 0;
	struct plexus_dirent *e;
	errno = 0;
	while (rc == 0 && (e = plexus_readdir(d)))
		rc = s_add(names, n, cap, e->d_name);
	if (rc == 0 && errno)
		rc = -errno;
	plexus_closedir(d);
	return rc;
}

int sh_path_list(sh_io *io, sh_path p, char ***names, size_t *n)
{
	char **list = NULL;
	size_t count = 0, cap = 0;
	int rc = p.host ? s_list_host(p.path, &list, &count, &cap)
	                : s_list_plexus(io->px, p.path, &list, &count, &cap);
	if (rc < 0) {
		for (size_t i = 0; i < count; i++)
			free(list[i]);
		free(list);
		return rc;
	}
	if (count > 1)
		qsort(list, count, sizeof *list, s_cmp);
	*names = list;
	*n = count;
	return 0;
}

char *sh_path_join(const char *dir, const char *name)
{
	char *out = NULL;
	size_t len = strlen(dir);
	bool slash = len && dir[len - 1] == '/';
	return asprintf(&out, "%s%s%s", dir, slash ? "" : "/", name) < 0 ? NULL : out;
}
