/*
 * spawn.c — starting the processes `plexus up` leaves running: finding their programs, free
 * ports, daemons with a log each, and the last lines of a log when something fails.
 *
 * Entry points: up_find_program, up_free_port, up_spawn, up_reap, up_log_tail, up_now_ms,
 * up_mono_ms.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "up.h"

/* Where each program sits in a build tree, relative to its top. */
static const struct {
	const char *name;
	const char *dir;
} s_build_dirs[] = {
    {"plexus-node", "node-kernel"},
    {"plexus-rs", "reincarnation"},
    {"plexus-memory", "drivers/memory"},
    {"plexus-vdisk", "drivers/vdisk"},
    {"plexus-tty", "drivers/tty"},
    {"plexus-log", "drivers/log"},
    {"plexus-mfs", "fs-servers/mfs"},
    {"plexus-pfs", "fs-servers/pfs"},
    {"plexus-vfs", "vfs"},
    {"plexus", "commands/plexus"},
};

static bool s_executable(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Tries dir/name; on success copies it to buf. */
static bool s_try(const char *dir, const char *name, char *buf, size_t size)
{
	char path[PATH_MAX * 2];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (!s_executable(path) || strlen(path) >= size)
		return false;
	snprintf(buf, size, "%s", path);
	return true;
}

int up_find_program(const char *name, char *buf, size_t size)
{
	char exe[PATH_MAX], dir[PATH_MAX], top[PATH_MAX * 2];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		snprintf(dir, sizeof dir, "%s", dirname(exe));
		if (s_try(dir, name, buf, size))
			return 0;
		snprintf(top, sizeof top, "%s/../sbin", dir);
		if (s_try(top, name, buf, size))
			return 0;
		/* a build tree: BUILD/commands/plexus/plexus */
		snprintf(top, sizeof top, "%s/../..", dir);
		for (size_t i = 0; i < sizeof s_build_dirs / sizeof *s_build_dirs; i++) {
			char sub[PATH_MAX * 3];
			if (strcmp(s_build_dirs[i].name, name) != 0)
				continue;
			snprintf(sub, sizeof sub, "%s/%s", top, s_build_dirs[i].dir);
			char real[PATH_MAX];
			if (realpath(sub, real) && s_try(real, name, buf, size))
				return 0;
		}
	}
	const char *path = getenv("PATH");
	char copy[4096];
	snprintf(copy, sizeof copy, "%s", path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (char *save = NULL, *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save))
		if (*d && s_try(d, name, buf, size))
			return 0;
	return -ENOENT;
}

int up_free_port(int want)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	a.sin_port = htons((uint16_t)want);
	if (want == 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		a.sin_port = 0;
		if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
			int err = -errno;
			close(fd);
			return err;
		}
	}
	socklen_t len = sizeof a;
	int rc = getsockname(fd, (struct sockaddr *)&a, &len) < 0 ? -errno : ntohs(a.sin_port);
	close(fd);
	return rc;
}

/* In the child: the daemon's descriptors, then exec. Never returns. */
static void s_child(const char *log, char *const argv[])
{
	setsid();
	int in = open("/dev/null", O_RDONLY);
	int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (in < 0 || out < 0)
		_exit(126);
	dup2(in, 0);
	dup2(out, 1);
	dup2(out, 2);
	closefrom(3);
	execv(argv[0], argv);
	dprintf(2, "plexus up: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

int up_spawn(const char *log, char *const argv[], pid_t *pid)
{
	fflush(NULL);
	pid_t child = fork();
	if (child < 0)
		return -errno;
	if (child == 0)
		s_child(log, argv);
	*pid = child;
	return 0;
}

int up_node_spawn(const up_state *st, const char *node, const char *addr, const char *netns,
                  pid_t *pid)
{
	char bin[PATH_MAX], ip[PATH_MAX], logs[PATH_MAX + 8], log[PATH_MAX + UP_NAME_MAX + 32];
	if (up_find_program("plexus-node", bin, sizeof bin) < 0 ||
	    (netns && up_find_program("ip", ip, sizeof ip) < 0))
		return -ENOENT;
	snprintf(logs, sizeof logs, "%s/logs", st->dir);
	snprintf(log, sizeof log, "%s/node.%s.log", logs, node);
	/* --grace: a file server's last write-back must fit (docs/using.md) */
	char *argv[] = {ip,
	                "netns",
	                "exec",
	                (char *)netns,
	                bin,
	                "--node",
	                (char *)node,
	                "--addr",
	                (char *)addr,
	                "--etcd",
	                (char *)st->etcd,
	                "--cluster",
	                (char *)st->cluster,
	                "--log-dir",
	                logs,
	                "--grace",
	                "10000",
	                NULL};
	return up_spawn(log, netns ? argv : argv + 4, pid); /* in netns: ip netns exec NS ... */
}

int up_reap(pid_t pid, int *status)
{
	int st = 0;
	pid_t r = waitpid(pid, &st, WNOHANG);
	if (r == pid) {
		*status = st;
		return 1;
	}
	if (r < 0 && errno == ECHILD) { /* not ours (up exited meanwhile): ask the kernel */
		if (kill(pid, 0) < 0 && errno == ESRCH) {
			*status = 0;
			return 1;
		}
	}
	return 0;
}

void up_log_tail(FILE *out, const char *path, int n)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		fprintf(out, "    (no log at %s)\n", path);
		return;
	}
	char **ring = calloc((size_t)n, sizeof *ring);
	char line[1024];
	long count = 0;
	while (ring && fgets(line, sizeof line, f)) {
		free(ring[count % n]);
		ring[count % n] = strdup(line);
		count++;
	}
	fclose(f);
	fprintf(out, "  last lines of %s:\n", path);
	for (long i = count > n ? count - n : 0; ring && i < count; i++) {
		char *l = ring[i % n];
		if (l)
			fprintf(out, "    %s%s", l, l[strlen(l) - 1] == '\n' ? "" : "\n");
	}
	for (int i = 0; ring && i < n; i++)
		free(ring[i]);
	free(ring);
}

int64_t up_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t up_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
