/*
 * b_files.c — the builtins that make, copy, move and remove files: cat, echo, cp, mv, rm,
 * touch, ln.
 *
 * Entry points: sh_b_cat, sh_b_echo, sh_b_cp, sh_b_mv, sh_b_rm, sh_b_touch, sh_b_ln.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "sh.h"

/* Copies from one descriptor to the other until the end; on failure names the side that
 * failed in *what ("read" or "write"). Returns 0 or -errno. */
static int s_copy(sh_io *io, sh_fd from, sh_fd to, const char **what)
{
	char *buf = malloc(SH_BUF);
	if (!buf)
		return -ENOMEM;
	int rc = 0;
	for (;;) {
		ssize_t n = sh_read(io, from, buf, SH_BUF);
		if (n <= 0) {
			*what = "read";
			rc = (int)n;
			break;
		}
		if ((rc = sh_write_all(io, to, buf, (size_t)n)) < 0) {
			*what = "write";
			break;
		}
	}
	free(buf);
	return rc;
}

static int s_cat_one(sh_io *io, const char *name)
{
	sh_fd fd = io->in;
	int rc = 0;
	if (strcmp(name, "-") != 0 &&
	    (rc = sh_path_open(io, sh_path_parse(name), O_RDONLY, 0, &fd)) < 0)
		return sh_fail(io, name, rc);
	const char *what = "read";
	rc = s_copy(io, fd, io->out, &what);
	if (strcmp(name, "-") != 0)
		sh_close(io, fd);
	return rc < 0 ? sh_fail(io, strcmp(what, "read") == 0 ? name : "write", rc) : 0;
}

int sh_b_cat(sh_io *io, int argc, char **argv)
{
	sh_opts o;
	if (sh_getopts(io, argc, argv, "", &o))
		return 2;
	if (o.next == argc)
		return s_cat_one(io, "-");
	int status = 0;
	for (int i = o.next; i < argc; i++)
		status |= s_cat_one(io, argv[i]);
	return status;
}

int sh_b_echo(sh_io *io, int argc, char **argv)
{
	int i = 1;
	bool newline = true;
	if (argc > 1 && strcmp(argv[1], "-n") == 0) {
		newline = false;
		i = 2;
	}
	int rc = 0;
	for (; rc == 0 && i < argc; i++)
		rc = sh_printf(io, "%s%s", argv[i], i + 1 < argc ? " " : "");
	if (rc == 0 && newline)
		rc = sh_printf(io, "\n");
	return rc < 0 ? sh_fail(io, "write", rc) : 0;
}

/* The last component of a path ("a/b/" gives "b"), in a buffer the caller frees. */
static char *s_basename(const char *path)
{
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	size_t start = len;
	while (start > 0 && path[start - 1] != '/')
		start--;
	return strndup(path + start, len - start);
}

static int s_cp_tree(sh_io *io, sh_path src, sh_path dst, bool recursive);

/* Copies a directory's entries into dst (made when missing). */
static int s_cp_dir(sh_io *io, sh_path src, sh_path dst, mode_t mode)
{
	int rc = sh_path_mkdir(io, dst, mode & 07777);
	if (rc < 0 && rc != -EEXIST)
		return sh_fail(io, dst.path, rc);
	char **names;
	size_t n;
	if ((rc = sh_path_list(io, src, &names, &n)) < 0)
		return sh_fail(io, src.path, rc);
	int status = 0;
	for (size_t i = 0; i < n; i++) {
		char *s = sh_path_join(src.path, names[i]), *d = sh_path_join(dst.path, names[i]);
		if (s && d)
			status |=
			    s_cp_tree(io, (sh_path){src.host, s}, (sh_path){dst.host, d}, true);
		free(s);
		free(d);
		free(names[i]);
	}
	free(names);
	return status;
}

static int s_cp_file(sh_io *io, sh_path src, sh_path dst, mode_t mode)
{
	sh_fd in, out;
	int rc = sh_path_open(io, src, O_RDONLY, 0, &in);
	if (rc < 0)
		return sh_fail(io, src.path, rc);
	if ((rc = sh_path_open(io, dst, O_WRONLY | O_CREAT | O_TRUNC, mode & 0777, &out)) < 0) {
		sh_close(io, in);
		return sh_fail(io, dst.path, rc);
	}
	const char *what = "read";
	rc = s_copy(io, in, out, &what);
	sh_close(io, in);
	int crc = sh_close(io, out);
	if (rc < 0)
		return sh_fail(io, strcmp(what, "read") == 0 ? src.path : dst.path, rc);
	return crc < 0 ? sh_fail(io, dst.path, crc) : 0;
}

static int s_cp_tree(sh_io *io, sh_path src, sh_path dst, bool recursive)
{
	struct stat st;
	int rc = sh_path_stat(io, src, &st, true);
	if (rc < 0)
		return sh_fail(io, src.path, rc);
	if (!S_ISDIR(st.st_mode))
		return s_cp_file(io, src, dst, st.st_mode);
	if (!recursive) {
		sh_eprintf(io, "%s: %s: is a directory (not copied without -r)\n", io->name,
		           src.path);
		return 1;
	}
	return s_cp_dir(io, src, dst, st.st_mode);
}

int sh_b_cp(sh_io *io, int argc, char **argv)
{
	sh_opts o;
	if (sh_getopts(io, argc, argv, "r", &o))
		return 2;
	if (argc - o.next < 2) {
		sh_eprintf(io, "usage: cp [-r] SOURCE... DEST (host:PATH for a host file)\n");
		return 2;
	}
	sh_path dst = sh_path_parse(argv[argc - 1]);
	struct stat st;
	bool into = sh_path_stat(io, dst, &st, true) == 0 && S_ISDIR(st.st_mode);
	if (argc - o.next > 2 && !into)
		return sh_fail(io, dst.path, ENOTDIR);
	int status = 0;
	for (int i = o.next; i < argc - 1; i++) {
		sh_path src = sh_path_parse(argv[i]);
		char *base = into ? s_basename(src.path) : NULL;
		char *to = into && base ? sh_path_join(dst.path, base) : NULL;
		sh_path target = into ? (sh_path){dst.host, to} : dst;
		status |= target.path ? s_cp_tree(io, src, target, o.set['r']) : 1;
		free(base);
		free(to);
	}
	return status;
}

int sh_b_mv(sh_io *io, int argc, char **argv)
{
	if (argc < 3) {
		sh_eprintf(io, "usage: mv SOURCE... DEST\n");
		return 2;
	}
	struct stat st;
	const char *dst = argv[argc - 1];
	bool into = plexus_stat(io->px, dst, &st) == 0 && S_ISDIR(st.st_mode);
	if (argc > 3 && !into)
		return sh_fail(io, dst, ENOTDIR);
	int status = 0;
	for (int i = 1; i < argc - 1; i++) {
		char *base = into ? s_basename(argv[i]) : NULL;
		char *to = base ? sh_path_join(dst, base) : NULL;
		if (plexus_rename(io->px, argv[i], into ? to : dst) < 0)
			status = sh_fail(io, argv[i], errno);
		free(base);
		free(to);
	}
	return status;
}

static int s_rm(sh_io *io, const char *path, bool recursive, bool force)
{
	struct stat st;
	if (plexus_lstat(io->px, path, &st) < 0)
		return force && errno == ENOENT ? 0 : sh_fail(io, path, errno);
	if (!S_ISDIR(st.st_mode))
		return plexus_unlink(io->px, path) < 0 ? sh_fail(io, path, errno) : 0;
	if (!recursive)
		return sh_fail(io, path, EISDIR);
	char **names;
	size_t n;
	int rc = sh_path_list(io, (sh_path){false, path}, &names, &n);
	if (rc < 0)
		return sh_fail(io, path, rc);
	int status = 0;
	for (size_t i = 0; i < n; i++) {
		char *child = sh_path_join(path, names[i]);
		status |= child ? s_rm(io, child, true, force) : 1;
		free(child);
		free(names[i]);
	}
	free(names);
	if (status == 0 && plexus_rmdir(io->px, path) < 0)
		status = sh_fail(io, path, errno);
	return status;
}

int sh_b_rm(sh_io *io, int argc, char **argv)
{
	sh_opts o;
	if (sh_getopts(io, argc, argv, "rRf", &o))
		return 2;
	if (o.next == argc && !o.set['f']) {
		sh_eprintf(io, "usage: rm [-r] [-f] PATH...\n");
		return 2;
	}
	int status = 0;
	for (int i = o.next; i < argc; i++)
		status |= s_rm(io, argv[i], o.set['r'] || o.set['R'], o.set['f']);
	return status;
}

int sh_b_touch(sh_io *io, int argc, char **argv)
{
	if (argc < 2) {
		sh_eprintf(io, "usage: touch PATH...\n");
		return 2;
	}
	int status = 0;
	for (int i = 1; i < argc; i++) {
		if (plexus_utimens(io->px, argv[i], NULL, 0) == 0)
			continue;
		int fd =
		    errno == ENOENT ? plexus_open(io->px, argv[i], O_WRONLY | O_CREAT, 0666) : -1;
		if (fd < 0)
			status = sh_fail(io, argv[i], errno);
		else
			plexus_close(io->px, fd);
	}
	return status;
}

int sh_b_ln(sh_io *io, int argc, char **argv)
{
	sh_opts o;
	if (sh_getopts(io, argc, argv, "s", &o))
		return 2;
	if (argc - o.next != 2) {
		sh_eprintf(io, "usage: ln [-s] TARGET LINK\n");
		return 2;
	}
	const char *target = argv[o.next], *link = argv[o.next + 1];
	int rc =
	    o.set['s'] ? plexus_symlink(io->px, target, link) : plexus_link(io->px, target, link);
	return rc < 0 ? sh_fail(io, link, errno) : 0;
}
