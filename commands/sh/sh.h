/*
 * sh.h — `plexus sh`, a small shell over libplexus: its parts and what they share.
 *
 * Entry points:
 *   parse.c    sh_parse, sh_script_free
 *   exec.c     sh_run_script, sh_run_text
 *   io.c       sh_read, sh_write_all, sh_printf, sh_eprintf, sh_fail, sh_close
 *   paths.c    sh_path_parse, sh_path_stat, sh_path_open, sh_path_mkdir, sh_path_list,
 *              sh_path_join
 *   opts.c     sh_getopts
 *   table.c    sh_builtin_find, sh_builtins, sh_b_help (the table and the builtin that lists it)
 *   b_*.c      the builtins (sh_b_<name>), one small function each
 *
 * A script is parsed into pipelines joined by ";", "&&" and "||"; a pipeline's commands are
 * builtins (there is nothing else to run: programs live on the host, files in Plexus), each
 * given an sh_io naming where its input, output and errors go: a Plexus descriptor or one of
 * the host's (the terminal). Stages of a pipeline run in threads of their own joined by
 * Plexus pipes.
 */
#ifndef PLEXUS_SH_H
#define PLEXUS_SH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <plexus/plexus.h>

#define SH_STATUS_MARK '\001' /* stands for $? in a parsed word until it runs */
#define SH_BUF         (64 * 1024)

/* The shell: one Plexus client, its settings and the last status. */
typedef struct sh_shell {
	plexus *px;
	const char *etcd;    /* for nodes and services; NULL: the environment's */
	const char *cluster; /* NULL: the environment's */
	int status;          /* $? */
	bool exit;           /* the exit builtin ran */
} sh_shell;

/* A descriptor: a Plexus one, or the host's (host true). */
typedef struct sh_fd {
	int fd;
	bool host;
} sh_fd;

/* What a builtin works with. */
typedef struct sh_io {
	sh_shell *sh;
	plexus *px;
	sh_fd in, out, err;
	const char *name; /* the builtin's name, for messages */
} sh_io;

typedef int sh_builtin_fn(sh_io *io, int argc, char **argv);

typedef struct sh_builtin {
	const char *name;
	const char *usage;
	const char *summary;
	sh_builtin_fn *fn;
} sh_builtin;

/* ---- parse.c ---- */

enum { SH_REDIR_IN, SH_REDIR_OUT, SH_REDIR_APPEND, SH_REDIR_ERR, SH_REDIR_ERR_OUT };

typedef struct sh_redir {
	int kind;
	char *path; /* NULL for 2>&1 */
} sh_redir;

typedef struct sh_cmd {
	char **argv;     /* NULL-terminated */
	char **patterns; /* per word: its fnmatch pattern, or NULL when it has none */
	int argc;
	sh_redir *redirs;
	int nredirs;
} sh_cmd;

enum { SH_THEN, SH_AND, SH_OR }; /* how a pipeline joins the one before */

typedef struct sh_pipeline {
	sh_cmd *cmds;
	int ncmds;
	int join;
} sh_pipeline;

typedef struct sh_script {
	sh_pipeline *pipes;
	int npipes;
} sh_script;

/* Parses text (any number of lines) into *script. Returns 0, or -EINVAL with err saying what
 * is wrong (an unterminated quote, an operator without its command), or -ENOMEM. */
int sh_parse(const char *text, sh_script *script, char *err, size_t size);
void sh_script_free(sh_script *script);

/* ---- exec.c ---- */

/* Runs every pipeline in order as ";", "&&" and "||" say; returns the last status (also in
 * sh->status). Stops early when exit ran. */
int sh_run_script(sh_shell *sh, const sh_script *script);
/* Parses and runs text; a syntax error is status 2. */
int sh_run_text(sh_shell *sh, const char *text);

/* ---- io.c ---- */

ssize_t sh_read(sh_io *io, sh_fd fd, void *buf, size_t size);
/* Writes all size bytes; returns 0 or -errno. */
int sh_write_all(sh_io *io, sh_fd fd, const void *buf, size_t size);
/* printf to the builtin's output / error; returns 0 or -errno. */
int sh_printf(sh_io *io, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sh_eprintf(sh_io *io, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "NAME: WHAT: strerror(err)" (or "NAME: strerror" when what is NULL) and returns 1;
 * a broken pipe is not worth a message. */
int sh_fail(sh_io *io, const char *what, int err);
int sh_close(sh_io *io, sh_fd fd);

/* ---- paths.c: a path in Plexus, or on the host as host:PATH ---- */

typedef struct sh_path {
	bool host;
	const char *path;
} sh_path;

sh_path sh_path_parse(const char *arg);
/* As stat/lstat; returns 0 or -errno. */
int sh_path_stat(sh_io *io, sh_path p, struct stat *st, bool follow);
/* Opens it; sets *fd. Returns 0 or -errno. */
int sh_path_open(sh_io *io, sh_path p, int flags, mode_t mode, sh_fd *fd);
int sh_path_mkdir(sh_io *io, sh_path p, mode_t mode);
/* The names in directory p but "." and "..", sorted; *names (free each and the array) and *n.
 * Returns 0 or -errno. */
int sh_path_list(sh_io *io, sh_path p, char ***names, size_t *n);
/* dir + "/" + name, in a buffer the caller frees. */
char *sh_path_join(const char *dir, const char *name);

/* ---- glob.c ---- */

/* The names pattern matches (as fnmatch(3) with FNM_PERIOD, one path component at a time;
 * host:PATTERN matches host files), sorted, appended to *names (count *n, room *cap; free each
 * and the array). Returns how many it appended (0: none, so the word stays as written), or
 * -ENOMEM, or -E2BIG past SH_GLOB_MAX names. */
#define SH_GLOB_MAX 65536
int sh_glob(sh_io *io, const char *pattern, char ***names, size_t *n, size_t *cap);

/* ---- opts.c ---- */

typedef struct sh_opts {
	bool set[128];
	const char *value[128];
	int next; /* the first operand */
} sh_opts;

/* Reads leading options: spec lists the letters, a letter followed by ':' takes a value
 * ("-n 5" or "-n5"); "--" ends them. Returns 0, or prints the usage error and returns 2. */
int sh_getopts(sh_io *io, int argc, char **argv, const char *spec, sh_opts *o);

/* ---- table.c ---- */

const sh_builtin *sh_builtin_find(const char *name);
const sh_builtin *sh_builtins(size_t *n);

/* ---- the builtins ---- */

int sh_b_ls(sh_io *io, int argc, char **argv);
int sh_b_cat(sh_io *io, int argc, char **argv);
int sh_b_echo(sh_io *io, int argc, char **argv);
int sh_b_cp(sh_io *io, int argc, char **argv);
int sh_b_mv(sh_io *io, int argc, char **argv);
int sh_b_rm(sh_io *io, int argc, char **argv);
int sh_b_mkdir(sh_io *io, int argc, char **argv);
int sh_b_rmdir(sh_io *io, int argc, char **argv);
int sh_b_ln(sh_io *io, int argc, char **argv);
int sh_b_stat(sh_io *io, int argc, char **argv);
int sh_b_df(sh_io *io, int argc, char **argv);
int sh_b_mount(sh_io *io, int argc, char **argv);
int sh_b_umount(sh_io *io, int argc, char **argv);
int sh_b_touch(sh_io *io, int argc, char **argv);
int sh_b_head(sh_io *io, int argc, char **argv);
int sh_b_tail(sh_io *io, int argc, char **argv);
int sh_b_wc(sh_io *io, int argc, char **argv);
int sh_b_dd(sh_io *io, int argc, char **argv);
int sh_b_sync(sh_io *io, int argc, char **argv);
int sh_b_cd(sh_io *io, int argc, char **argv);
int sh_b_pwd(sh_io *io, int argc, char **argv);
int sh_b_nodes(sh_io *io, int argc, char **argv);
int sh_b_services(sh_io *io, int argc, char **argv);
int sh_b_ps(sh_io *io, int argc, char **argv);
int sh_b_help(sh_io *io, int argc, char **argv);
int sh_b_exit(sh_io *io, int argc, char **argv);
int sh_b_true(sh_io *io, int argc, char **argv);
int sh_b_false(sh_io *io, int argc, char **argv);

#endif
