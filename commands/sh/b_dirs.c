/*
 * b_dirs.c — the builtins about names and directories: ls, mkdir, rmdir, stat, cd, pwd.
 *
 * Entry points: sh_b_ls, sh_b_mkdir, sh_b_rmdir, sh_b_stat, sh_b_cd, sh_b_pwd.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "sh.h"

/* "drwxr-xr-x" into out (11 bytes). */
static void s_mode(mode_t mode, char *out)
{
	char type = S_ISDIR(mode)    ? 'd'
	            : S_ISLNK(mode)  ? 'l'
	            : S_ISCHR(mode)  ? 'c'
	            : S_ISBLK(mode)  ? 'b'
	            : S_ISFIFO(mode) ? 'p'
	            : S_ISSOCK(mode) ? 's'
	                             : '-';
	const char *rwx = "rwxrwxrwx";
	out[0] = type;
	for (int i = 0; i < 9; i++)
		out[i + 1] = mode & (0400 >> i) ? rwx[i] : '-';
	out[10] = 0;
}

static void s_time(time_t t, char *out, size_t size)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, size, "%Y-%m-%d %H:%M", &tm);
}

/* One line of ls -l for path, shown as name. */
static int s_long(sh_io *io, const char *path, const char *name)
{
	struct stat st;
	if (plexus_lstat(io->px, path, &st) < 0)
		return sh_fail(io, path, errno);
	char mode[11], when[32], target[4096] = "";
	s_mode(st.st_mode, mode);
	s_time(st.st_mtim.tv_sec, when, sizeof when);
	if (S_ISLNK(st.st_mode)) {
		ssize_t n = plexus_readlink(io->px, path, target, sizeof target - 1);
		target[n > 0 ? n : 0] = 0;
	}
	char size[32];
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
		snprintf(size, sizeof size, "%u, %u", major(st.st_rdev), minor(st.st_rdev));
	else
		snprintf(size, sizeof size, "%lld", (long long)st.st_size);
	sh_printf(io, "%s %2lu %4u %4u %8s %s %s%s%s\n", mode, (unsigned long)st.st_nlink,
	          st.st_uid, st.st_gid, size, when, name, *target ? " -> " : "", target);
	return 0;
}

static int s_entry(sh_io *io, const sh_opts *o, const char *path, const char *name)
{
	if (o->set['l'])
		return s_long(io, path, name);
	return sh_printf(io, "%s\n", name) < 0;
}

static int s_list_dir(sh_io *io, const sh_opts *o, const char *dir)
{
	char **names;
	size_t n;
	int rc = sh_path_list(io, (sh_path){false, dir}, &names, &n);
	if (rc < 0)
		return sh_fail(io, dir, rc);
	int status = 0;
	if (o->set['a']) {
		char *dot = sh_path_join(dir, "."), *dotdot = sh_path_join(dir, "..");
		status |= s_entry(io, o, dot, ".") | s_entry(io, o, dotdot, "..");
		free(dot);
		free(dotdot);
	}
	for (size_t i = 0; i < n; i++) {
		if (names[i][0] != '.' || o->set['a']) {
			char *path = sh_path_join(dir, names[i]);
			status |= path ? s_entry(io, o, path, names[i]) : 1;
			free(path);
		}
		free(names[i]);
	}
	free(names);
	return status;
}

int sh_b_ls(sh_io *io, int argc, char **argv)
{
	sh_opts o;
	if (sh_getopts(io, argc, argv, "lad", &o))
		return 2;
	char *dot[] = {"."};
	char **args = o.next < argc ? argv + o.next : dot;
	int n = o.next < argc ? argc - o.next : 1, status = 0;
	for (int i = 0; i < n; i++) {
		struct stat st;
		if (plexus_stat(io->px, args[i], &st) < 0 &&
		    plexus_lstat(io->px, args[i], &st) < 0) {
			status = sh_fail(io, args[i], errno);
			continue;
		}
		if (!S_ISDIR(st.st_mode) || o.set['d']) {
			status |= s_entry(io, &o, args[i], args[i]);
			continue;
		}
		if (n > 1)
			sh_printf(io, "%s%s:\n", i ? "\n" : "", args[i]);
		status |= s_list_dir(io, &o, args[i]);
	}
	return status;
}

/* Makes every missing directory on the way to path. */
static int s_mkdir_p(sh_io *io, const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return sh_fail(io, NULL, ENOMEM);
	int status = 0;
	for (char *p = copy + 1;; p++) {
		bool last = *p == 0;
		if (*p != '/' && !last)
			continue;
		*p = 0;
		struct stat st;
		if (plexus_mkdir(io->px, copy, 0777) < 0 &&
		    !(errno == EEXIST && plexus_stat(io->px, copy, &st) == 0 &&
		      S_ISDIR(st.st_mode))) {
			status = sh_fail(io, copy, errno);
			break;
		}
		if (last)
			break;
		*p = '/';
	}
	free(copy);
	return status;
}

int sh_b_mkdir(sh_io *io, int argc, char **argv)
{
	sh_opts o;
	if (sh_getopts(io, argc, argv, "p", &o))
		return 2;
	if (o.next == argc) {
		sh_eprintf(io, "usage: mkdir [-p] DIR...\n");
		return 2;
	}
	int status = 0;
	for (int i = o.next; i < argc; i++) {
		if (o.set['p'])
			status |= s_mkdir_p(io, argv[i]);
		else if (plexus_mkdir(io->px, argv[i], 0777) < 0)
			status = sh_fail(io, argv[i], errno);
	}
	return status;
}

int sh_b_rmdir(sh_io *io, int argc, char **argv)
{
	if (argc < 2) {
		sh_eprintf(io, "usage: rmdir DIR...\n");
		return 2;
	}
	int status = 0;
	for (int i = 1; i < argc; i++)
		if (plexus_rmdir(io->px, argv[i]) < 0)
			status = sh_fail(io, argv[i], errno);
	return status;
}

static const char *s_type(mode_t mode)
{
	return S_ISREG(mode)    ? "regular file"
	       : S_ISDIR(mode)  ? "directory"
	       : S_ISLNK(mode)  ? "symbolic link"
	       : S_ISCHR(mode)  ? "character special file"
	       : S_ISBLK(mode)  ? "block special file"
	       : S_ISFIFO(mode) ? "fifo"
	                        : "socket";
}

static int s_stat_one(sh_io *io, const char *path)
{
	struct stat st;
	if (plexus_lstat(io->px, path, &st) < 0)
		return sh_fail(io, path, errno);
	char mode[11], a[32], m[32], c[32];
	s_mode(st.st_mode, mode);
	s_time(st.st_atim.tv_sec, a, sizeof a);
	s_time(st.st_mtim.tv_sec, m, sizeof m);
	s_time(st.st_ctim.tv_sec, c, sizeof c);
	sh_printf(io,
	          "  File: %s\n  Size: %lld\tBlocks: %lld\tIO Block: %ld\t%s\n"
	          "Device: %lu\tInode: %llu\tLinks: %lu\n"
	          "Access: (%04o/%s)\tUid: %u\tGid: %u\n"
	          "Access: %s\nModify: %s\nChange: %s\n",
	          path, (long long)st.st_size, (long long)st.st_blocks, (long)st.st_blksize,
	          s_type(st.st_mode), (unsigned long)st.st_dev, (unsigned long long)st.st_ino,
	          (unsigned long)st.st_nlink, st.st_mode & 07777, mode, st.st_uid, st.st_gid, a, m,
	          c);
	return 0;
}

int sh_b_stat(sh_io *io, int argc, char **argv)
{
	if (argc < 2) {
		sh_eprintf(io, "usage: stat PATH...\n");
		return 2;
	}
	int status = 0;
	for (int i = 1; i < argc; i++)
		status |= s_stat_one(io, argv[i]);
	return status;
}

int sh_b_cd(sh_io *io, int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/";
	return plexus_chdir(io->px, dir) < 0 ? sh_fail(io, dir, errno) : 0;
}

int sh_b_pwd(sh_io *io, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	char *cwd = plexus_getcwd(io->px, NULL, 0);
	if (!cwd)
		return sh_fail(io, NULL, errno);
	sh_printf(io, "%s\n", cwd);
	free(cwd);
	return 0;
}
