/*
 * glob.c — file name patterns: the words with an unquoted *, ? or [ that the parser marked,
 * expanded against the Plexus namespace (or the host's, for host:PATTERN) when the command
 * runs.
 *
 * Entry points: sh_glob.
 *
 * As POSIX sh does: one path component at a time, each component with pattern characters
 * matched by fnmatch(3) against the names of its directory (a leading '.' only by a '.' in the
 * pattern), the others taken as they are; the matches sorted; no match leaves the word as
 * written. The pattern escapes quoted characters with a backslash, which fnmatch honours.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sh.h"

typedef struct s_out {
	char ***names;
	size_t *n, *cap;
	size_t added;
	const char *prefix; /* "host:" or "" */
} s_out;

static bool s_has_magic(const char *component, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (component[i] == '\\' && i + 1 < len)
			i++;
		else if (component[i] == '*' || component[i] == '?' || component[i] == '[')
			return true;
	}
	return false;
}

/* Appends prefix + path to the output. */
static int s_emit(s_out *o, const char *path)
{
	if (*o->n >= SH_GLOB_MAX)
		return -E2BIG;
	if (*o->n + 1 >= *o->cap) {
		size_t cap = *o->cap ? *o->cap * 2 : 16;
		char **v = realloc(*o->names, cap * sizeof *v);
		if (!v)
			return -ENOMEM;
		*o->names = v;
		*o->cap = cap;
	}
	size_t lp = strlen(o->prefix), len = strlen(path);
	char *s = malloc(lp + len + 1);
	if (!s)
		return -ENOMEM;
	memcpy(s, o->prefix, lp);
	memcpy(s + lp, path, len + 1);
	(*o->names)[(*o->n)++] = s;
	o->added++;
	return 0;
}

/* dir joined with len bytes of component; "" as dir means the current directory. */
static char *s_join(const char *dir, const char *component, size_t len)
{
	size_t ld = strlen(dir);
	bool slash = ld > 0 && dir[ld - 1] != '/';
	char *s = malloc(ld + slash + len + 1);
	if (!s)
		return NULL;
	memcpy(s, dir, ld);
	if (slash)
		s[ld] = '/';
	memcpy(s + ld + slash, component, len);
	s[ld + slash + len] = '\0';
	return s;
}

/* A component without pattern characters, its escapes removed. */
static char *s_literal(const char *component, size_t len)
{
	char *s = malloc(len + 1), *d = s;
	for (size_t i = 0; s && i < len; i++) {
		if (component[i] == '\\' && i + 1 < len)
			i++;
		*d++ = component[i];
	}
	if (s)
		*d = '\0';
	return s;
}

static int s_expand(sh_io *io, bool host, const char *dir, const char *rest, s_out *o);

/* The names of dir that match len bytes of component, each followed by rest. */
static int s_match_dir(sh_io *io, bool host, const char *dir, const char *component, size_t len,
                       const char *rest, s_out *o)
{
	char *pat = strndup(component, len);
	char **names = NULL;
	size_t n = 0;
	int rc = pat ? 0 : -ENOMEM;
	if (rc == 0 && sh_path_list(io, (sh_path){host, *dir ? dir : "."}, &names, &n) < 0)
		n = 0; /* not a directory, or unreadable: nothing matches there */
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (fnmatch(pat, names[i], FNM_PERIOD) != 0)
			continue;
		char *path = s_join(dir, names[i], strlen(names[i]));
		if (!path)
			rc = -ENOMEM;
		else if (!*rest)
			rc = s_emit(o, path); /* listed, so it exists: no stat */
		else
			rc = s_expand(io, host, path, rest, o);
		free(path);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(pat);
	return rc;
}

/* Expands rest (the components still to match, '/'-separated) below dir. */
static int s_expand(sh_io *io, bool host, const char *dir, const char *rest, s_out *o)
{
	bool slash = *rest == '/';
	while (*rest == '/')
		rest++;
	if (!*rest) {
		/* the end: dir exists (a directory, when the pattern ended with '/') */
		struct stat st;
		if (!*dir || sh_path_stat(io, (sh_path){host, dir}, &st, slash) < 0 ||
		    (slash && !S_ISDIR(st.st_mode)))
			return 0;
		if (!slash || dir[strlen(dir) - 1] == '/')
			return s_emit(o, dir);
		char *with = s_join(dir, "", 0);
		int rc = with ? s_emit(o, with) : -ENOMEM;
		free(with);
		return rc;
	}
	size_t len = strcspn(rest, "/");
	const char *next = rest + len;
	if (s_has_magic(rest, len))
		return s_match_dir(io, host, dir, rest, len, next, o);
	char *literal = s_literal(rest, len);
	char *path = literal ? s_join(dir, literal, strlen(literal)) : NULL;
	int rc = path ? s_expand(io, host, path, next, o) : -ENOMEM;
	free(path);
	free(literal);
	return rc;
}

int sh_glob(sh_io *io, const char *pattern, char ***names, size_t *n, size_t *cap)
{
	bool host = strncmp(pattern, "host:", 5) == 0;
	const char *p = host ? pattern + 5 : pattern;
	s_out o = {names, n, cap, 0, host ? "host:" : ""};
	int rc = s_expand(io, host, *p == '/' ? "/" : "", p, &o);
	return rc < 0 ? rc : (int)o.added;
}
