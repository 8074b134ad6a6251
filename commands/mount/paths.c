/*
 * paths.c — calls on a session by a path of any length.
 *
 * Entry points: mount_path_call, mount_path2_call.
 *
 * The kernel walks a program's path itself, one lookup per component, so PATH_MAX applies to
 * what the program passed; the mount names a node to VFS by its whole path from the root
 * (nodes.c), which may be longer than VFS takes (PLEXUS_PATH_MAX_BYTES, with the NUL) deep
 * in a tree. Such a call changes the session's working directory down the path in steps that
 * fit (each needing search permission only, as the kernel's walk did), makes the call with
 * what is left, relative, and goes back to "/". With two paths (rename, link) it enters the
 * long one's directory and gives the other as it is, or, both long, the directory both are
 * below. The working directory is the session's own
 * (no call of the mount uses it otherwise), and such calls take turns on it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mount.h"

/* Bytes of a path VFS takes, without the NUL. */
#define S_MAX (PLEXUS_PATH_MAX_BYTES - 1)

/* Changes p's working directory to the absolute directory dir (dir_len bytes), in steps of at
 * most S_MAX bytes. Returns 0 or -1 with errno. */
static int s_enter(plexus *p, const char *dir, size_t dir_len)
{
	const char *at = dir, *end = dir + dir_len;
	while (at < end) {
		size_t left = (size_t)(end - at), step = left;
		if (left > S_MAX) { /* up to the last '/' that fits */
			step = S_MAX;
			while (step > 0 && at[step] != '/')
				step--;
			if (step == 0) {
				errno = ENAMETOOLONG;
				return -1;
			}
		}
		char *part = strndup(at, step ? step : 1);
		int rc = part ? plexus_chdir(p, part) : -1;
		free(part);
		if (rc < 0)
			return -1;
		at += step;
		while (at < end && *at == '/')
			at++;
	}
	return 0;
}

/* Where the directory part of path ends: the index of its last '/' (0 for "/name"). */
static size_t s_dir_len(const char *path, size_t len)
{
	while (len > 0 && path[len - 1] != '/')
		len--;
	return len > 1 ? len - 1 : 1;
}

/* Under s's working directory lock: enters the directory the first dir_len bytes of the
 * absolute path dir name, calls fn with a and b (relative to it, or absolute; NULL b stays
 * NULL), and goes back to "/". */
static long s_call_below(mount_session *s, const char *dir, size_t dir_len, const char *a,
                         const char *b, mount_path_fn fn, void *arg)
{
	long rc = -1;
	pthread_mutex_lock(&s->cwd_lock);
	if (strlen(a) > S_MAX || (b && strlen(b) > S_MAX))
		errno = ENAMETOOLONG;
	else if (s_enter(s->p, dir, dir_len) == 0)
		rc = fn(s->p, a, b, arg);
	int saved = errno;
	if (plexus_chdir(s->p, "/") < 0) {
		/* the next long call enters from "/" by an absolute path anyway */
	}
	pthread_mutex_unlock(&s->cwd_lock);
	errno = saved;
	return rc;
}

/* What is left of path below its first dir_len bytes. */
static const char *s_below(const char *path, size_t dir_len)
{
	return path + dir_len + (dir_len > 1);
}

long mount_path_call(mount_session *s, const char *path, mount_path_fn fn, void *arg)
{
	size_t len = strlen(path);
	if (len <= S_MAX)
		return fn(s->p, path, NULL, arg);
	size_t dir = s_dir_len(path, len);
	return s_call_below(s, path, dir, s_below(path, dir), NULL, fn, arg);
}

long mount_path2_call(mount_session *s, const char *a, const char *b, mount_path_fn fn, void *arg)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la <= S_MAX && lb <= S_MAX)
		return fn(s->p, a, b, arg);
	if (lb <= S_MAX) { /* from a's directory, to b as it is */
		size_t dir = s_dir_len(a, la);
		return s_call_below(s, a, dir, s_below(a, dir), b, fn, arg);
	}
	if (la <= S_MAX) {
		size_t dir = s_dir_len(b, lb);
		return s_call_below(s, b, dir, a, s_below(b, dir), fn, arg);
	}
	/* both long: from the directory both are below, their common prefix up to a '/' */
	size_t common = 0;
	for (size_t i = 0; i < la && i < lb && a[i] == b[i]; i++)
		if (a[i] == '/')
			common = i;
	size_t dir = common ? common : 1;
	return s_call_below(s, a, dir, s_below(a, dir), s_below(b, dir), fn, arg);
}
