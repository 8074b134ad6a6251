/*
 * state.c — the state directory of `plexus up`: where it is, its lock, the state file that
 * lists what `up` started, and whether that still runs.
 *
 * Entry points: up_state_dir_default, up_state_lock, up_state_load, up_state_save,
 * up_state_add_proc, up_proc_alive, up_state_running.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "up.h"

void up_state_dir_default(char *buf, size_t size)
{
	const char *env = getenv("PLEXUS_STATE_DIR");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (env && *env)
		snprintf(buf, size, "%s", env);
	else if (geteuid() == 0)
		snprintf(buf, size, "/run/plexus");
	else if (xdg && *xdg)
		snprintf(buf, size, "%s/plexus", xdg);
	else
		snprintf(buf, size, "/tmp/plexus-%u", (unsigned)geteuid());
}

int up_state_lock(const char *dir)
{
	char path[PATH_MAX + 8];
	if (mkdir(dir, 0711) < 0 && errno != EEXIST) /* others reach state, env and keys/ */
		return -errno;
	snprintf(path, sizeof path, "%s/lock", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int err = -errno;
			close(fd);
			return err;
		}
	}
	return fd;
}

/* Reads one state line into *st. Returns 0 or -EBADMSG. */
static int s_line(up_state *st, char *line)
{
	char key[32], a[PATH_MAX];
	long long pid;
	unsigned long long start;
	if (sscanf(line, "%31s", key) != 1)
		return 0; /* blank */
	const char *rest = line + strlen(key);
	rest += strspn(rest, " ");
	if (strcmp(key, "etcd") == 0 && *rest && strlen(rest) < sizeof st->etcd)
		snprintf(st->etcd, sizeof st->etcd, "%s", rest);
	else if (strcmp(key, "cluster") == 0 && *rest && strlen(rest) < sizeof st->cluster)
		snprintf(st->cluster, sizeof st->cluster, "%s", rest);
	else if (strcmp(key, "started") == 0 && sscanf(rest, "%lld", &pid) == 1)
		st->started_ms = pid;
	else if (strcmp(key, "proc") == 0 && st->nprocs < UP_MAX_PROCS &&
	         sscanf(rest, "%63s %lld %llu", a, &pid, &start) == 3 && pid > 0) {
		up_proc *p = &st->procs[st->nprocs++];
		snprintf(p->name, sizeof p->name, "%.63s", a);
		p->pid = (pid_t)pid;
		p->start = start;
	} else if (strcmp(key, "mount") == 0 && *rest && st->nmounts < UP_MAX_MOUNTS)
		snprintf(st->mounts[st->nmounts++], PATH_MAX, "%s", rest);
	else if (strcmp(key, "netns") == 0 && *rest && st->nnetns < UP_MAX_PROCS &&
	         strlen(rest) < UP_NAME_MAX)
		snprintf(st->netns[st->nnetns++], UP_NAME_MAX, "%s", rest);
	else if (strcmp(key, "bridge") == 0 && *rest && strlen(rest) < sizeof st->bridge)
		snprintf(st->bridge, sizeof st->bridge, "%s", rest);
	else if (strcmp(key, "addr") == 0 && *rest && strlen(rest) < sizeof st->addr)
		snprintf(st->addr, sizeof st->addr, "%s", rest);
	else
		return -EBADMSG;
	return 0;
}

int up_state_load(const char *dir, up_state *st)
{
	char path[PATH_MAX + 8], line[PATH_MAX + 64];
	memset(st, 0, sizeof *st);
	snprintf(st->dir, sizeof st->dir, "%s", dir);
	snprintf(path, sizeof path, "%s/state", dir);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	int rc = 0;
	while (rc == 0 && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		rc = s_line(st, line);
	}
	fclose(f);
	return rc;
}

int up_state_save(const up_state *st)
{
	char path[PATH_MAX + 8], tmp[PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/state", st->dir);
	snprintf(tmp, sizeof tmp, "%s/state.tmp", st->dir);
	FILE *f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fprintf(f, "etcd %s\ncluster %s\nstarted %lld\n", st->etcd, st->cluster,
	        (long long)st->started_ms);
	for (int i = 0; i < st->nprocs; i++)
		fprintf(f, "proc %s %lld %llu\n", st->procs[i].name, (long long)st->procs[i].pid,
		        st->procs[i].start);
	for (int i = 0; i < st->nmounts; i++)
		fprintf(f, "mount %s\n", st->mounts[i]);
	for (int i = 0; i < st->nnetns; i++)
		fprintf(f, "netns %s\n", st->netns[i]);
	if (st->bridge[0])
		fprintf(f, "bridge %s\n", st->bridge);
	if (st->addr[0])
		fprintf(f, "addr %s\n", st->addr);
	if (fflush(f) != 0 || fsync(fileno(f)) < 0) {
		int err = -errno;
		fclose(f);
		unlink(tmp);
		return err;
	}
	fclose(f);
	return rename(tmp, path) < 0 ? -errno : 0;
}

/* The start time of pid in clock ticks since boot, or 0 when it does not exist. */
static unsigned long long s_start_time(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')'); /* the command may hold spaces and parentheses */
	if (!p)
		return 0;
	unsigned long long start = 0;
	/* after ") ": state (3), then fields 4..21, then starttime (22) */
	if (sscanf(p + 2,
	           "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d "
	           "%*d %llu",
	           &start) != 1)
		return 0;
	if (p[2] == 'Z') /* a zombie has ended */
		return 0;
	return start;
}

int up_state_add_proc(up_state *st, const char *name, pid_t pid)
{
	if (st->nprocs >= UP_MAX_PROCS)
		return -ENOSPC;
	up_proc *p = &st->procs[st->nprocs++];
	snprintf(p->name, sizeof p->name, "%s", name);
	p->pid = pid;
	p->start = s_start_time(pid);
	return 0;
}

bool up_proc_alive(const up_proc *p)
{
	if (p->pid <= 0)
		return false;
	unsigned long long start = s_start_time(p->pid);
	return start != 0 && start == p->start;
}

bool up_state_running(const up_state *st)
{
	for (int i = 0; i < st->nprocs; i++)
		if (up_proc_alive(&st->procs[i]))
			return true;
	return false;
}
