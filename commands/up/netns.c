/*
 * netns.c — the machines of `plexus up --nodes N`: one network namespace per node, each with
 * an eth0 on a bridge of this host (the approach of tests/netns, as a product: the bridge is in
 * the host's own namespace, so etcd, RS and the commands run here reach every node), and their
 * removal.
 *
 * Entry points: up_net_create, up_net_kill, up_net_destroy.
 *
 * Names carry a random tag: bridge plxb<tag>, namespaces plexus-<tag>-n<i>, links
 * plxv<tag>n<i>. The subnet is 10.216.X.0/24 with X chosen so that no address of this host
 * is in it; the bridge is .1, node i is .(10 + i). Every name goes into the state file as it
 * is made, so `plexus down` (or a failed boot) removes exactly what was made.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "up.h"

/* Runs ip with the NULL-terminated arguments, its output appended to log. Returns 0 or
 * -EIO with the command line in err. */
static int s_ip(const char *log, char *err, size_t size, ...)
{
	const char *argv[32] = {"ip"};
	char cmd[512] = "ip";
	size_t n = 1;
	va_list ap;
	va_start(ap, size);
	while (n < 31 && (argv[n] = va_arg(ap, const char *)) != NULL)
		snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " %s", argv[n++]);
	va_end(ap);
	argv[n] = NULL;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		dprintf(2, "+ %s\n", cmd);
		execvp("ip", (char *const *)argv);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	snprintf(err, size, "`%s` failed (see %s)", cmd, log);
	return -EIO;
}

/* True when some address of this host is in 10.216.x.0/24. */
static bool s_subnet_taken(int x)
{
	char needle[32], line[512];
	snprintf(needle, sizeof needle, "inet 10.216.%d.", x);
	FILE *p = popen("ip -4 -o addr show 2>/dev/null", "re");
	bool taken = false;
	while (p && fgets(line, sizeof line, p))
		if (strstr(line, needle))
			taken = true;
	if (p)
		pclose(p);
	return taken;
}

int up_net_create(up_state *st, int nodes, const char *log, char *err, size_t size)
{
	unsigned char r[4] = {0};
	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
		unsigned v = (unsigned)getpid() * 2654435761u ^ (unsigned)time(NULL);
		memcpy(r, &v, sizeof r);
	}
	char tag[8];
	snprintf(tag, sizeof tag, "%02x%02x%02x", r[0], r[1], r[2]);
	int x = r[3];
	for (int tries = 0; tries < 256 && s_subnet_taken(x); tries++)
		x = (x + 1) % 256;
	snprintf(st->bridge, sizeof st->bridge, "plxb%s", tag);
	snprintf(st->addr, sizeof st->addr, "10.216.%d.1", x);
	char cidr[64];
	snprintf(cidr, sizeof cidr, "%s/24", st->addr);
	int rc = up_state_save(st);
	if (rc == 0)
		rc = s_ip(log, err, size, "link", "add", st->bridge, "type", "bridge",
		          "forward_delay", "0", NULL);
	if (rc == 0)
		rc = s_ip(log, err, size, "addr", "add", cidr, "dev", st->bridge, NULL);
	if (rc == 0)
		rc = s_ip(log, err, size, "link", "set", st->bridge, "up", NULL);
	for (int i = 0; rc == 0 && i < nodes; i++) {
		char ns[UP_NAME_MAX], veth[32], addr[40];
		snprintf(ns, sizeof ns, "plexus-%s-n%d", tag, i);
		snprintf(veth, sizeof veth, "plxv%sn%d", tag, i);
		snprintf(addr, sizeof addr, "10.216.%d.%d/24", x, 10 + i);
		snprintf(st->netns[st->nnetns++], UP_NAME_MAX, "%s", ns);
		rc = up_state_save(st);
		if (rc == 0)
			rc = s_ip(log, err, size, "netns", "add", ns, NULL);
		if (rc == 0)
			rc = s_ip(log, err, size, "-n", ns, "link", "set", "lo", "up", NULL);
		if (rc == 0)
			rc = s_ip(log, err, size, "link", "add", veth, "type", "veth", "peer",
			          "name", "eth0", "netns", ns, NULL);
		if (rc == 0)
			rc = s_ip(log, err, size, "link", "set", veth, "master", st->bridge, "up",
			          NULL);
		if (rc == 0)
			rc = s_ip(log, err, size, "-n", ns, "addr", "add", addr, "dev", "eth0",
			          NULL);
		if (rc == 0)
			rc = s_ip(log, err, size, "-n", ns, "link", "set", "eth0", "up", NULL);
	}
	return rc;
}

/* SIGKILL to every process whose network namespace is the file at path, until none is
 * left (at most about 2 s). */
static void s_kill_inside(const char *path)
{
	struct stat ns;
	if (stat(path, &ns) < 0)
		return;
	for (int round = 0; round < 400; round++) {
		int found = 0;
		FILE *p = popen("ls /proc", "re");
		char name[64];
		while (p && fgets(name, sizeof name, p)) {
			char link[128];
			struct stat st;
			int pid = atoi(name);
			if (pid <= 0 || pid == getpid())
				continue;
			snprintf(link, sizeof link, "/proc/%d/ns/net", pid);
			if (stat(link, &st) == 0 && st.st_ino == ns.st_ino &&
			    st.st_dev == ns.st_dev) {
				kill(pid, SIGKILL);
				found++;
			}
		}
		if (p)
			pclose(p);
		if (!found)
			return;
		struct timespec ts = {0, 5000000};
		nanosleep(&ts, NULL);
	}
}

void up_net_kill(const up_state *st, int i)
{
	char path[UP_NAME_MAX + 32];
	snprintf(path, sizeof path, "/run/netns/%s", st->netns[i]);
	s_kill_inside(path);
}

void up_net_destroy(up_state *st, const char *log)
{
	char err[256];
	for (int i = 0; i < st->nnetns; i++) {
		char path[UP_NAME_MAX + 32];
		snprintf(path, sizeof path, "/run/netns/%s", st->netns[i]);
		s_kill_inside(path);
		s_ip(log, err, sizeof err, "netns", "delete", st->netns[i], NULL);
	}
	st->nnetns = 0;
	if (st->bridge[0])
		s_ip(log, err, sizeof err, "link", "delete", st->bridge, NULL);
	st->bridge[0] = '\0';
}
