/*
 * down.c — stopping what `plexus up` started: FUSE mounts; the services, through RS, in the
 * reverse of their dependency order (VFS first: it unmounts, so the file servers write back
 * and set their clean flags; then the file servers; the drivers last), each step printed; RS;
 * the node kernels (which stop whatever is left, in the same order); etcd; network
 * namespaces; then etcd's data and the state file go. The logs and the data disk image stay.
 *
 * Entry points: up_teardown, up_rmtree.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <plexus/cluster.h>
#include <plexus/rs_cli.h>

#include "up.h"

#define UP_STOP_GRACE_MS     30000 /* SIGTERM to SIGKILL for a node kernel: past its own grace */
#define UP_SERVICES_GRACE_MS 60000 /* every service stopped through RS, in all */

static void s_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* True when dir is a mount point in /proc/self/mountinfo. */
static bool s_mounted(const char *dir)
{
	char real[PATH_MAX], line[PATH_MAX * 2 + 256], point[PATH_MAX + 1];
	if (!realpath(dir, real))
		snprintf(real, sizeof real, "%s", dir);
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return false;
	bool found = false;
	while (!found && fgets(line, sizeof line, f))
		if (sscanf(line, "%*s %*s %*s %*s %4096s", point) == 1 && strcmp(point, real) == 0)
			found = true;
	fclose(f);
	return found;
}

/* Runs fusermount3 -u [-z] dir; returns its exit status. */
static int s_fusermount(const char *dir, bool lazy)
{
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (lazy)
			execlp("fusermount3", "fusermount3", "-u", "-z", "-q", dir, (char *)NULL);
		else
			execlp("fusermount3", "fusermount3", "-u", "-q", dir, (char *)NULL);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int s_unmount(const char *dir, FILE *out)
{
	if (!s_mounted(dir))
		return 0;
	if (umount2(dir, 0) == 0 || s_fusermount(dir, false) == 0)
		return 0;
	if (umount2(dir, MNT_DETACH) == 0 || s_fusermount(dir, true) == 0) {
		fprintf(out, "plexus down: %s was busy: detached (lazy unmount)\n", dir);
		return 0;
	}
	fprintf(out, "plexus down: cannot unmount %s\n", dir);
	return -EBUSY;
}

/* SIGTERM, then SIGKILL after the grace; waits until p is gone. Returns 0 or -EBUSY. */
static int s_stop(const up_proc *p, FILE *out)
{
	if (!up_proc_alive(p))
		return 0;
	kill(p->pid, SIGTERM);
	int64_t deadline = up_mono_ms() + UP_STOP_GRACE_MS;
	int status;
	while (up_proc_alive(p) && up_mono_ms() < deadline) {
		waitpid(p->pid, &status, WNOHANG); /* ours when up itself tears down */
		s_sleep_ms(20);
	}
	if (!up_proc_alive(p))
		return 0;
	fprintf(out, "plexus down: %s (pid %d) ignored SIGTERM for %d ms: SIGKILL\n", p->name,
	        (int)p->pid, UP_STOP_GRACE_MS);
	kill(-p->pid, SIGKILL); /* its process group: it leads one (setsid) */
	kill(p->pid, SIGKILL);
	deadline = up_mono_ms() + UP_STOP_GRACE_MS;
	while (up_proc_alive(p) && up_mono_ms() < deadline) {
		waitpid(p->pid, &status, WNOHANG);
		s_sleep_ms(20);
	}
	return up_proc_alive(p) ? -EBUSY : 0;
}

static int s_remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

void up_rmtree(const char *path)
{
	nftw(path, s_remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* `plexus service down LABEL` against this state's etcd, in a child (the CLI reads options
 * with getopt and prints); its output goes to the log. Returns its exit status. */
static int s_service_down(const up_state *st, const char *label, const char *log)
{
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		char *argv[] = {"service",           "--etcd", (char *)st->etcd, "--cluster",
		                (char *)st->cluster, "down",   (char *)label,    NULL};
		_exit(plx_service_cli(7, argv));
	}
	int status;
	while (pid > 0 && waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return pid > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* How label's last instance ended, as `plexus service list` says it ("-" unknown). */
static void s_last_exit(const up_state *st, const char *label, char *out, size_t size)
{
	char cmd[PATH_MAX * 2 + 256];
	snprintf(cmd, sizeof cmd,
	         "grep -h 'plexus-node: %s pid [0-9]* outlived its grace' '%s'/logs/node*.log "
	         "2>/dev/null | tail -n 1",
	         label, st->dir);
	snprintf(out, size, "-");
	FILE *p = popen(cmd, "r");
	if (p && fgets(out, (int)size, p))
		out[strcspn(out, "\n")] = '\0';
	if (p)
		pclose(p);
}

/* The services, through RS, in the reverse of the description's dependency order (the
 * description lists each service after what it depends on), one at a time, within
 * UP_SERVICES_GRACE_MS in all. Each step is printed; a service its node kernel had to kill
 * is named with what that may cost. Nothing to do without a description or RS. */
static void s_stop_services(up_state *st, FILE *out)
{
	char path[PATH_MAX + 16], log[PATH_MAX + 32], err[512];
	snprintf(path, sizeof path, "%s/cluster.ini", st->dir);
	snprintf(log, sizeof log, "%s/logs/down.log", st->dir);
	plx_cluster *c = plx_cluster_load(path, NULL, err, sizeof err);
	if (!c)
		return;
	int64_t start = up_mono_ms(), deadline = start + UP_SERVICES_GRACE_MS;
	fprintf(out, "Stopping Plexus in dependency order (clients first, drivers last)\n");
	for (size_t i = c->nservices; i-- > 0 && up_mono_ms() < deadline;) {
		const plx_cluster_service *s = &c->services[i];
		int64_t t0 = up_mono_ms();
		int rc = s_service_down(st, s->label, log);
		char killed[512];
		s_last_exit(st, s->label, killed, sizeof killed);
		fprintf(out, "  %-10s %-8s %6lld ms%s\n", s->label, s->node,
		        (long long)(up_mono_ms() - t0),
		        rc == 0                ? ""
		        : rc == EX_UNAVAILABLE ? "  (RS not reachable)"
		                               : "  (failed)");
		if (strcmp(killed, "-") != 0)
			fprintf(
			    out,
			    "  %s had to be killed (%s): what it had not written back may be lost; "
			    "a file server's image is checked and repaired from its journal at the "
			    "next mount\n",
			    s->label, killed);
	}
	plx_cluster_destroy(&c);
}

int up_teardown(up_state *st, FILE *out)
{
	int rc = 0;
	for (int i = st->nmounts - 1; i >= 0; i--)
		if (s_unmount(st->mounts[i], out) < 0)
			rc = -EBUSY;
	up_keys_env(st->dir); /* a secured up's services answer only its keys */
	s_stop_services(st, out);
	/* RS first (so nothing is restarted), then node kernels (they stop their services), etcd
	 * last: the reverse of the start order. */
	for (int i = st->nprocs - 1; i >= 0; i--)
		if (s_stop(&st->procs[i], out) < 0)
			rc = -EBUSY;
	char log[PATH_MAX + 32];
	snprintf(log, sizeof log, "%s/logs/netns.log", st->dir);
	up_net_destroy(st, log);
	if (rc < 0)
		return rc;
	char path[PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/etcd", st->dir);
	up_rmtree(path);
	snprintf(path, sizeof path, "%s/cluster.ini", st->dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/state", st->dir);
	unlink(path);
	st->nprocs = st->nmounts = st->nnetns = 0;
	return 0;
}
