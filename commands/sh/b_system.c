/*
 * b_system.c — the builtins about the system: df, mount, umount, sync, nodes, services, ps,
 * help, exit, true, false.
 *
 * Entry points: sh_b_df, sh_b_mount, sh_b_umount, sh_b_sync, sh_b_nodes, sh_b_services,
 * sh_b_ps, sh_b_exit, sh_b_true, sh_b_false.
 *
 * nodes and services are `plexus node ls` and `plexus service list` themselves (their CLI
 * libraries), which print with printf; when a builtin's output goes elsewhere (a pipe, a
 * file), stdout points at a host temporary file while they run, and what they printed is
 * passed on.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <plexus/node_cli.h>
#include <plexus/rs_cli.h>

#include "sh.h"

int sh_b_df(sh_io *io, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	plexus_mount_info *m;
	size_t n;
	if (plexus_mounts(io->px, &m, &n) < 0)
		return sh_fail(io, NULL, errno);
	sh_printf(io, "%-20s %10s %10s %10s %4s %s\n", "Filesystem", "1K-blocks", "Used",
	          "Available", "Use%", "Mounted on");
	for (size_t i = 0; i < n; i++) {
		const char *src = *m[i].source ? m[i].source : m[i].fs;
		if (!m[i].has_statvfs) {
			sh_printf(io, "%-20s %10s %10s %10s %4s %s\n", src, "-", "-", "-", "-",
			          m[i].target);
			continue;
		}
		const struct statvfs *s = &m[i].statvfs;
		unsigned long long k = s->f_frsize / 1024 ? s->f_frsize / 1024 : 1;
		unsigned long long total = s->f_blocks * k, avail = s->f_bavail * k;
		unsigned long long used = (s->f_blocks - s->f_bfree) * k;
		unsigned pct = total ? (unsigned)((used * 100 + total - 1) / total) : 0;
		sh_printf(io, "%-20s %10llu %10llu %10llu %3u%% %s\n", src, total, used, avail, pct,
		          m[i].target);
	}
	plexus_mounts_free(m, n);
	return 0;
}

static int s_mount_table(sh_io *io)
{
	plexus_mount_info *m;
	size_t n;
	if (plexus_mounts(io->px, &m, &n) < 0)
		return sh_fail(io, NULL, errno);
	for (size_t i = 0; i < n; i++)
		sh_printf(io, "%s on %s type %s (%s%s%s%s)\n", *m[i].source ? m[i].source : "none",
		          m[i].target, m[i].fs, m[i].read_only ? "ro" : "rw",
		          m[i].flags & ST_NOSUID ? ",nosuid" : "",
		          m[i].flags & ST_NODEV ? ",nodev" : "",
		          m[i].flags & ST_NOEXEC ? ",noexec" : "");
	plexus_mounts_free(m, n);
	return 0;
}

/* mount -o's list (ro, rw, nodev, dev, nosuid, suid, noexec, exec) into *flags. Returns 0,
 * or -1 naming the one it does not know. */
static int s_mount_options(sh_io *io, const char *list, unsigned long *flags)
{
	static const struct {
		const char *name;
		unsigned long set, clear;
	} opts[] = {
	    {"ro", MS_RDONLY, 0},
	    {"rw", 0, MS_RDONLY},
	    {"nodev", MS_NODEV, PLEXUS_MS_DEV},
	    {"dev", PLEXUS_MS_DEV, MS_NODEV},
	    {"nosuid", MS_NOSUID, PLEXUS_MS_SUID},
	    {"suid", PLEXUS_MS_SUID, MS_NOSUID},
	    {"noexec", MS_NOEXEC, 0},
	    {"exec", 0, MS_NOEXEC},
	};
	char copy[256];
	snprintf(copy, sizeof copy, "%s", list);
	char *save = NULL;
	for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		size_t i = 0;
		while (i < sizeof opts / sizeof opts[0] && strcmp(opts[i].name, w) != 0)
			i++;
		if (i == sizeof opts / sizeof opts[0]) {
			sh_eprintf(io, "mount: unknown option %s\n", w);
			return -1;
		}
		*flags = (*flags & ~opts[i].clear) | opts[i].set;
	}
	return 0;
}

int sh_b_mount(sh_io *io, int argc, char **argv)
{
	sh_opts o;
	if (sh_getopts(io, argc, argv, "ro:", &o))
		return 2;
	if (o.next == argc && !o.set['r'] && !o.set['o'])
		return s_mount_table(io);
	unsigned long flags = o.set['r'] ? MS_RDONLY : 0;
	if (argc - o.next != 3 || (o.set['o'] && s_mount_options(io, o.value['o'], &flags) < 0)) {
		sh_eprintf(io,
		           "usage: mount [-r] [-o ro,nodev,dev,nosuid,suid,noexec] SOURCE TARGET "
		           "FS   (SOURCE none: no device; nodev,nosuid unless dev,suid)\n");
		return 2;
	}
	const char *src = argv[o.next];
	if (strcmp(src, "none") == 0)
		src = "";
	if (plexus_mount(io->px, src, argv[o.next + 1], argv[o.next + 2], flags) < 0)
		return sh_fail(io, argv[o.next + 1], errno);
	return 0;
}

int sh_b_umount(sh_io *io, int argc, char **argv)
{
	if (argc != 2) {
		sh_eprintf(io, "usage: umount TARGET\n");
		return 2;
	}
	return plexus_umount(io->px, argv[1]) < 0 ? sh_fail(io, argv[1], errno) : 0;
}

/* One FILE of sync: fsync (-d fdatasync, -f syncfs), as coreutils' sync does. */
static int s_sync_file(sh_io *io, const char *path, char how)
{
	int fd = plexus_open(io->px, path, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return sh_fail(io, path, errno);
	int rc = how == 'f'   ? plexus_syncfs(io->px, fd)
	         : how == 'd' ? plexus_fdatasync(io->px, fd)
	                      : plexus_fsync(io->px, fd);
	int err = errno;
	plexus_close(io->px, fd);
	return rc < 0 ? sh_fail(io, path, err) : 0;
}

int sh_b_sync(sh_io *io, int argc, char **argv)
{
	char how = 0;
	int i = 1;
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (strcmp(argv[i], "-f") != 0 && strcmp(argv[i], "-d") != 0) {
			sh_fail(io, argv[i], EINVAL);
			return 2;
		}
		how = argv[i][1];
	}
	if (i == argc)
		return how ? (sh_fail(io, "sync", EINVAL), 2)
		           : (plexus_sync(io->px) < 0 ? sh_fail(io, NULL, errno) : 0);
	int rc = 0;
	for (; i < argc; i++)
		if (s_sync_file(io, argv[i], how) != 0)
			rc = 1;
	return rc;
}

/* The CLI libraries read options with getopt and print on stdout: one at a time. */
static pthread_mutex_t s_cli_lock = PTHREAD_MUTEX_INITIALIZER;

/* Runs a plexus CLI function with --etcd/--cluster from the shell, its standard output sent
 * to the builtin's. Returns its exit code (sysexits.h), 0 when EX_OK. */
static int s_cli(sh_io *io, int (*fn)(int, char **), const char *cmd, const char *verb)
{
	char *argv[8] = {(char *)cmd, (char *)verb};
	int argc = 2;
	if (io->sh->etcd)
		argv[argc++] = "--etcd", argv[argc++] = (char *)io->sh->etcd;
	if (io->sh->cluster)
		argv[argc++] = "--cluster", argv[argc++] = (char *)io->sh->cluster;
	pthread_mutex_lock(&s_cli_lock);
	bool direct = io->out.host && io->out.fd == STDOUT_FILENO;
	FILE *tmp = direct ? NULL : tmpfile(), *saved = stdout;
	if (tmp)
		stdout = tmp; /* its printf only: the other stages write fd 1 with write(2) */
	int rc = fn(argc, argv);
	fflush(stdout);
	stdout = saved;
	pthread_mutex_unlock(&s_cli_lock);
	if (tmp) {
		char buf[4096];
		size_t n;
		rewind(tmp);
		while ((n = fread(buf, 1, sizeof buf, tmp)) > 0)
			if (sh_write_all(io, io->out, buf, n) < 0)
				break;
		fclose(tmp);
	}
	return rc;
}

int sh_b_nodes(sh_io *io, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return s_cli(io, plx_node_cli, "node", "ls");
}

int sh_b_services(sh_io *io, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return s_cli(io, plx_service_cli, "service", "list");
}

static void s_flags(int flags, char *out, size_t size)
{
	int acc = flags & O_ACCMODE;
	snprintf(out, size, "%s%s%s",
	         acc == O_RDONLY   ? "r"
	         : acc == O_WRONLY ? "w"
	                           : "rw",
	         flags & O_APPEND ? ",append" : "", flags & O_NONBLOCK ? ",nonblock" : "");
}

int sh_b_ps(sh_io *io, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	plexus_proc *p;
	size_t n;
	if (plexus_ps(io->px, &p, &n) < 0)
		return sh_fail(io, NULL, errno);
	sh_printf(io, "%-28s %7s %-10s %5s %-12s %s\n", "ENDPOINT", "PID", "NODE", "UID", "NAME",
	          "CWD");
	for (size_t i = 0; i < n; i++) {
		sh_printf(io, "%-28s %7d %-10s %5u %-12s %s\n", p[i].endpoint, (int)p[i].pid,
		          p[i].node, p[i].uid, p[i].name, p[i].cwd);
		for (size_t j = 0; j < p[i].nfiles; j++) {
			char fl[32];
			s_flags(p[i].files[j].flags, fl, sizeof fl);
			sh_printf(io, "    fd %-3d %-8s at %-10lld %s\n", p[i].files[j].fd, fl,
			          (long long)p[i].files[j].position, p[i].files[j].path);
		}
	}
	plexus_ps_free(p, n);
	return 0;
}

int sh_b_exit(sh_io *io, int argc, char **argv)
{
	io->sh->exit = true;
	return argc > 1 ? atoi(argv[1]) & 0xff : io->sh->status;
}

int sh_b_true(sh_io *io, int argc, char **argv)
{
	(void)io;
	(void)argc;
	(void)argv;
	return 0;
}

int sh_b_false(sh_io *io, int argc, char **argv)
{
	(void)io;
	(void)argc;
	(void)argv;
	return 1;
}
