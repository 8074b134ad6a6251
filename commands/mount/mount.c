/*
 * mount.c — `plexus mount DIR` and `plexus umount DIR`: the Plexus namespace on a Linux
 * directory through FUSE 3 (the inode-based low-level API, multi-threaded loop), libplexus
 * clients behind it (ops.c, sessions.c).
 *
 * Entry points: plx_mount_cli, plx_umount_cli.
 *
 * Without -f the command forks before anything else (libplexus and FUSE start threads); the
 * child connects, mounts and tells the parent how it went through a pipe, so the parent
 * returns only once the mount is up, with the child's verdict as its exit code. SIGINT,
 * SIGTERM and SIGHUP end the loop (FUSE's handlers), after which the mount is taken down; an
 * unmount from outside (`plexus umount`, `fusermount3 -u`) ends it too. A mount made while
 * `plexus up` runs is noted in its state so that `plexus down` takes it down.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include <plexus/mount_cli.h>
#include <plexus/up_cli.h>

#include "mount.h"

typedef struct s_opts {
	bool foreground;
	char dir[PATH_MAX];
	char etcd[256];
	char cluster[64];
	const char *vfs;
	const char *fuse_opts;
	const char *state_dir;
	int entry_timeout; /* seconds the kernel keeps a name */
	int cache_timeout; /* seconds it keeps names and attributes under VFS's watch */
} s_opts;

static void s_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: plexus mount [options] DIR\n\n"
	    "Mounts the Plexus namespace on DIR with FUSE, so that Linux programs (tar, cp,\n"
	    "git, make, editors) work on Plexus files. Plexus checks permissions itself, with\n"
	    "the credentials of the user who mounts; as root the mount is open to every user\n"
	    "(allow_other). Without -f it returns once the mount is up and a daemon serves it;\n"
	    "`plexus umount DIR` (or fusermount3 -u DIR) takes it down.\n\n"
	    "Options:\n"
	    "  -f, --foreground   serve in the foreground until unmounted, SIGINT or SIGTERM\n"
	    "  --etcd URLS        etcd members (default $PLEXUS_ETCD, else the running\n"
	    "                     `plexus up`'s, else http://127.0.0.1:2379)\n"
	    "  --cluster NAME     registry prefix (default $PLEXUS_CLUSTER, else plexus up's,\n"
	    "                     else default)\n"
	    "  --vfs LABEL        VFS's label (default vfs)\n"
	    "  --state-dir DIR    the plexus up state to look in (default as plexus up's)\n"
	    "  --cache-timeout S  seconds the kernel keeps names and attributes while VFS\n"
	    "                     tells the mount what other clients change (default 30,\n"
	    "                     0..3600; 0: keep no attributes, ask VFS every time)\n"
	    "  --entry-timeout S  seconds the kernel keeps a name when VFS cannot tell of\n"
	    "                     changes (--cache-timeout 0, or while VFS restarts; default\n"
	    "                     1, 0..3600); changes by other clients are seen after it\n"
	    "  -o OPTS            more FUSE mount options (comma-separated)\n"
	    "  --help             this text\n\n"
	    "Exit codes (sysexits.h): 0, EX_USAGE, EX_NOINPUT (DIR is not a directory),\n"
	    "EX_UNAVAILABLE (no VFS to talk to), EX_OSERR (the FUSE mount failed).\n");
}

/* A timeout option's value, 0..3600 seconds, into *out: 0, or -1 having said why. */
static int s_seconds(const char *option, const char *value, int *out)
{
	char *end = NULL;
	long n = strtol(value, &end, 10);
	if (!*value || *end || n < 0 || n > 3600) {
		fprintf(stderr, "plexus mount: bad %s '%s': want 0..3600\n", option, value);
		return -1;
	}
	*out = (int)n;
	return 0;
}

static int s_options(int argc, char **argv, s_opts *o)
{
	static const struct option longs[] = {
	    {"foreground", no_argument, NULL, 'f'},
	    {"etcd", required_argument, NULL, 'e'},
	    {"cluster", required_argument, NULL, 'c'},
	    {"vfs", required_argument, NULL, 'v'},
	    {"state-dir", required_argument, NULL, 's'},
	    {"entry-timeout", required_argument, NULL, 't'},
	    {"cache-timeout", required_argument, NULL, 'T'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	memset(o, 0, sizeof *o);
	o->entry_timeout = 1;
	o->cache_timeout = 30;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, ":fho:", longs, NULL)) != -1) {
		switch (c) {
		case 'f':
			o->foreground = true;
			break;
		case 'e':
			snprintf(o->etcd, sizeof o->etcd, "%s", optarg);
			break;
		case 'c':
			snprintf(o->cluster, sizeof o->cluster, "%s", optarg);
			break;
		case 'v':
			o->vfs = optarg;
			break;
		case 's':
			o->state_dir = optarg;
			break;
		case 'o':
			o->fuse_opts = optarg;
			break;
		case 't':
		case 'T':
			if (s_seconds(c == 't' ? "--entry-timeout" : "--cache-timeout", optarg,
			              c == 't' ? &o->entry_timeout : &o->cache_timeout) < 0)
				return EX_USAGE;
			break;
		case 'h':
			s_usage(stdout);
			return -1;
		default:
			fprintf(stderr, "plexus mount: bad option '%s' (see plexus mount --help)\n",
			        argv[optind - 1]);
			return EX_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "plexus mount: want one directory (see plexus mount --help)\n");
		return EX_USAGE;
	}
	struct stat st;
	if (!realpath(argv[optind], o->dir) || stat(o->dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "plexus mount: %s: not a directory\n", argv[optind]);
		return EX_NOINPUT;
	}
	/* etcd, cluster and keys: options, then the environment, then a running plexus up */
	if (o->etcd[0]) /* then only that system's keys are taken */
		setenv("PLEXUS_ETCD", o->etcd, 1);
	plx_up_env(o->state_dir);
	return 0;
}

/* Tells the waiting parent (fd >= 0) the exit code; closes fd. */
static void s_report(int *fd, int code)
{
	if (*fd < 0)
		return;
	unsigned char c = (unsigned char)code;
	if (write(*fd, &c, 1) != 1) {
		/* the parent is gone: nobody to tell */
	}
	close(*fd);
	*fd = -1;
}

/* Says why VFS cannot be reached: errno and what libplexus adds. */
static void s_unreachable(void)
{
	const char *detail = plexus_connect_error();
	fprintf(stderr, "plexus mount: cannot reach VFS: %s%s%s\n", strerror(errno),
	        *detail ? ": " : "", detail);
}

/* The mount's life: connect, mount, serve, take down. Reports to fd (-1: foreground). */
static int s_serve(const s_opts *o, int fd)
{
	plexus_opts po;
	plexus_opts_init(&po);
	po.etcd = o->etcd[0] ? o->etcd : NULL;
	po.cluster = o->cluster[0] ? o->cluster : NULL;
	po.vfs = o->vfs;
	po.name = "plexus-mount";
	plexus *own = plexus_connect(&po);
	if (!own) {
		s_unreachable(); /* errno, and libplexus's detail if any */
		s_report(&fd, EX_UNAVAILABLE);
		return EX_UNAVAILABLE;
	}
	plexus_umask(own, 0); /* the kernel applied the caller's umask already */
	static mount_ctx ctx; /* large (the sessions); lives as long as the mount */
	mount_sessions_init(&ctx, own, &po, geteuid() == 0);
	mount_nodes_init(&ctx);
	ctx.entry_timeout = o->entry_timeout;
	ctx.cache_timeout = o->cache_timeout;
	char mopts[1024];
	snprintf(mopts, sizeof mopts, "fsname=plexus,subtype=plexus%s%s%s",
	         geteuid() == 0 ? ",allow_other" : "", o->fuse_opts ? "," : "",
	         o->fuse_opts ? o->fuse_opts : "");
	char *fargv[] = {"plexus-mount", "-o", mopts, NULL};
	struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
	struct fuse_session *se =
	    fuse_session_new(&args, mount_ops(), sizeof(struct fuse_lowlevel_ops), &ctx);
	fuse_opt_free_args(&args); /* what fuse_session_new added to them */
	if (!se || fuse_session_mount(se, o->dir) != 0) {
		fprintf(stderr, "plexus mount: FUSE mount on %s failed\n", o->dir);
		if (se)
			fuse_session_destroy(se);
		mount_nodes_free(&ctx);
		mount_sessions_close(&ctx);
		s_report(&fd, EX_OSERR);
		return EX_OSERR;
	}
	fuse_set_signal_handlers(se);
	int watching = mount_servers_watch(&ctx, se);
	if (watching < 0)
		fprintf(stderr,
		        "plexus mount: not watching for file servers that restart (%s): a name one "
		        "lost stays in the kernel's cache until --entry-timeout\n",
		        strerror(-watching));
	if ((watching = mount_watch_start(&ctx, se)) < 0)
		fprintf(stderr,
		        "plexus mount: no watch on VFS (%s): the kernel keeps no attributes, and "
		        "names for --entry-timeout\n",
		        strerror(-watching));
	plx_up_note_mount(o->state_dir, o->dir, true);
	if (fd >= 0) { /* the daemon: no terminal, no working directory to pin */
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
			if (null > 2)
				close(null);
		}
		if (chdir("/") < 0) {
			/* nothing pinned then either way */
		}
	}
	s_report(&fd, EX_OK);
	int rc = fuse_session_loop_mt(se, 0);
	mount_watch_stop(&ctx);
	mount_servers_unwatch(&ctx);
	fuse_remove_signal_handlers(se);
	fuse_session_unmount(se);
	fuse_session_destroy(se);
	mount_nodes_free(&ctx);
	mount_sessions_close(&ctx);
	plx_up_note_mount(o->state_dir, o->dir, false);
	return rc == 0 ? EX_OK : EX_SOFTWARE;
}

int plx_mount_cli(int argc, char **argv)
{
	s_opts o;
	int code = s_options(argc, argv, &o);
	if (code)
		return code < 0 ? EX_OK : code;
	if (o.foreground)
		return s_serve(&o, -1);
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		perror("plexus mount: pipe");
		return EX_OSERR;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		perror("plexus mount: fork");
		return EX_OSERR;
	}
	if (pid == 0) {
		close(pipefd[0]);
		setsid();
		_exit(s_serve(&o, pipefd[1]));
	}
	close(pipefd[1]);
	unsigned char c;
	ssize_t n;
	while ((n = read(pipefd[0], &c, 1)) < 0 && errno == EINTR)
		;
	close(pipefd[0]);
	if (n == 1)
		return c;
	int status; /* the child died before it said anything */
	waitpid(pid, &status, 0);
	fprintf(stderr, "plexus mount: the mount process ended before the mount was up\n");
	return EX_SOFTWARE;
}

int plx_umount_cli(int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-') {
		if (argc == 2 && strcmp(argv[1], "--help") == 0) {
			printf("usage: plexus umount DIR\n\nTakes down a plexus mount; its daemon "
			       "exits.\n");
			return EX_OK;
		}
		fprintf(stderr, "usage: plexus umount DIR\n");
		return EX_USAGE;
	}
	if (geteuid() == 0 && umount2(argv[1], 0) == 0)
		return EX_OK;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		execlp("fusermount3", "fusermount3", "-u", argv[1], (char *)NULL);
		perror("plexus umount: fusermount3");
		_exit(EX_UNAVAILABLE);
	}
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return EX_OSERR;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? EX_OK : EX_SOFTWARE;
}
