/*
 * power.c — power-cycling a dead node through its backend, on a thread of its own so the
 * message loop never waits for a BMC or a hypervisor:
 *   netns    a request file <power.dir>/<node>.cycle (written atomically) that the machine's
 *            power controller acts on: plexus up --nodes's (commands/up/power.c), or the
 *            test harness's;
 *   command  an operator's command template (power.cycle, e.g. an ipmitool call), run by
 *            /bin/sh -c with %n/%m/%a expanded, killed after power.timeout; exit 0 = done;
 *   qemu     QEMU's QMP socket (power.qmp): system_reset, which reboots the VM (plexus/qmp.h).
 * The result comes back to the loop as an event (rs_events_power).
 *
 * Entry points: rs_power_cycle, rs_power_run, rs_power_wait.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "plexus/qmp.h"
#include "rs.h"

#define S_DEFAULT_TIMEOUT_MS 30000

static atomic_int s_running; /* power threads not yet finished */

static int s_netns(const plx_cluster_node *node, char *msg, size_t size)
{
	char dir[PLX_CLUSTER_TEXT_MAX], path[PLX_CLUSTER_TEXT_MAX + 80],
	    tmp[PLX_CLUSTER_TEXT_MAX + 90];
	if (plx_cluster_expand(node, node->power_dir, dir, sizeof dir) < 0) {
		snprintf(msg, size, "power.dir: bad template");
		return -EINVAL;
	}
	snprintf(path, sizeof path, "%s/%s.cycle", dir, node->name);
	snprintf(tmp, sizeof tmp, "%s/.%s.cycle.%d", dir, node->name, (int)getpid());
	FILE *f = fopen(tmp, "we");
	if (!f) {
		int e = errno;
		snprintf(msg, size, "%s: %s", tmp, strerror(e));
		return -e;
	}
	fprintf(f, "cycle %s %s %s %lld\n", node->name, node->mac_text, node->addr,
	        (long long)rs_now_ms());
	bool bad = fclose(f) != 0;
	if (bad || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		snprintf(msg, size, "%s: %s", path, strerror(e));
		return -e;
	}
	snprintf(msg, size, "requested in %s", path);
	return 0;
}

static int s_command(const plx_cluster_node *node, char *msg, size_t size)
{
	char cmd[PLX_CLUSTER_TEXT_MAX * 2];
	if (plx_cluster_expand(node, node->power_cycle, cmd, sizeof cmd) < 0) {
		snprintf(msg, size, "power.cycle: bad template");
		return -EINVAL;
	}
	int timeout = node->power_timeout_ms ? node->power_timeout_ms : S_DEFAULT_TIMEOUT_MS;
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		snprintf(msg, size, "fork: %s", strerror(e));
		return -e;
	}
	if (pid == 0) {
		setpgid(0, 0);
		int fd = open("/dev/null", O_RDONLY);
		if (fd >= 0)
			dup2(fd, 0);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	int status = 0;
	for (int waited = 0;; waited += 10) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0) {
			snprintf(msg, size, "waitpid: %s", strerror(errno));
			return -ECHILD;
		}
		if (waited >= timeout) {
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
			snprintf(msg, size, "\"%s\" took longer than %d ms", cmd, timeout);
			return -ETIMEDOUT;
		}
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		snprintf(msg, size, "\"%s\" done", cmd);
		return 0;
	}
	snprintf(msg, size, "\"%s\" failed: %s %d", cmd, WIFEXITED(status) ? "exit" : "signal",
	         WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	return -EIO;
}

int rs_power_run(const plx_cluster_node *node, char *msg, size_t size)
{
	switch (node->power) {
	case PLX_POWER_NETNS:
		return s_netns(node, msg, size);
	case PLX_POWER_COMMAND:
		return s_command(node, msg, size);
	case PLX_POWER_QEMU: {
		char path[PLX_CLUSTER_TEXT_MAX];
		if (plx_cluster_expand(node, node->power_qmp, path, sizeof path) < 0) {
			snprintf(msg, size, "power.qmp: bad template");
			return -EINVAL;
		}
		int timeout =
		    node->power_timeout_ms ? node->power_timeout_ms : S_DEFAULT_TIMEOUT_MS;
		return plx_qmp_reset(path, timeout, msg, size);
	}
	default:
		snprintf(msg, size, "no power backend");
		return -ENOTSUP;
	}
}

typedef struct s_job {
	plx_cluster_node node; /* a copy: the description may be replaced meanwhile */
	rs_events *events;
} s_job;

static void *s_thread(void *arg)
{
	s_job *job = arg;
	char msg[256] = "";
	int rc = rs_power_run(&job->node, msg, sizeof msg);
	rs_events_power(job->events, job->node.name, rc, msg);
	free(job);
	atomic_fetch_sub(&s_running, 1);
	return NULL;
}

int rs_power_cycle(rs *self, const plx_cluster_node *node)
{
	if (node->power == PLX_POWER_NONE)
		return -ENOTSUP;
	s_job *job = malloc(sizeof *job);
	if (!job)
		return -ENOMEM;
	job->node = *node;
	job->events = self->events;
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	atomic_fetch_add(&s_running, 1);
	int rc = pthread_create(&t, &attr, s_thread, job);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		atomic_fetch_sub(&s_running, 1);
		free(job);
		return -rc;
	}
	return 0;
}

bool rs_power_wait(int timeout_ms)
{
	for (int waited = 0; atomic_load(&s_running) > 0; waited += 10) {
		if (waited >= timeout_ms)
			return false;
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL);
	}
	return true;
}
