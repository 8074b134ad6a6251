/*
 * uptest.c — the helpers of the plexus up / mount tests (uptest.h).
 *
 * Entry points: see uptest.h.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "uptest.h"

void uptest_new(uptest *t)
{
	memset(t, 0, sizeof *t);
	snprintf(t->dir, sizeof t->dir, "/tmp/plexus-uptest-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->state, sizeof t->state, "%.4000s/state", t->dir);
	snprintf(t->out, sizeof t->out, "%s/out", t->dir);
}

/* Unmounts every FUSE mount under dir (lazily if busy). */
static void s_unmount_under(const char *dir)
{
	char line[PATH_MAX * 2], point[PATH_MAX + 1];
	for (int round = 0; round < 4 && uptest_mounted(dir); round++) {
		FILE *f = fopen("/proc/self/mountinfo", "re");
		if (!f)
			return;
		while (fgets(line, sizeof line, f))
			if (sscanf(line, "%*s %*s %*s %*s %4096s", point) == 1 &&
			    strncmp(point, dir, strlen(dir)) == 0) {
				char cmd[PATH_MAX + 64];
				snprintf(cmd, sizeof cmd, "fusermount3 -u -z '%s' 2>/dev/null",
				         point);
				if (system(cmd) != 0)
					umount2(point, MNT_DETACH);
			}
		fclose(f);
	}
}

void uptest_destroy(uptest *t)
{
	if (!t->dir[0])
		return;
	uptest_sh(t, "\"$PLEXUS\" down --state-dir \"$STATE\"");
	s_unmount_under(t->dir);
	char cmd[PATH_MAX + 32];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "uptest: could not remove %s\n", t->dir);
	free(t->text);
	memset(t, 0, sizeof *t);
}

/* Reads the file at path whole (caller frees); "" when it cannot. */
static char *s_slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return strdup("");
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *text = malloc((size_t)size + 1);
	size_t n = text ? fread(text, 1, (size_t)size, f) : 0;
	fclose(f);
	if (text)
		text[n] = '\0';
	return text;
}

int uptest_sh(uptest *t, const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	setenv("PLEXUS", PLEXUS_BIN, 1);
	setenv("STATE", t->state, 1);
	setenv("T", t->dir, 1);
	unsetenv("PLEXUS_ETCD");
	unsetenv("PLEXUS_CLUSTER");
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		FILE *out = freopen(t->out, "w", stdout);
		if (!out || dup2(1, 2) < 0)
			_exit(126);
		FILE *in = freopen("/dev/null", "r", stdin);
		(void)in;
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		assert_int_equal(errno, EINTR);
	free(t->text);
	t->text = s_slurp(t->out);
	fprintf(stderr, "$ %s\n%s", cmd, t->text);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool uptest_output(const uptest *t, const char *needle)
{
	return t->text && strstr(t->text, needle) != NULL;
}

int uptest_pids(const uptest *t, pid_t *pids, int n)
{
	char path[PATH_MAX + 8], line[512], name[128];
	long long pid;
	snprintf(path, sizeof path, "%.4000s/state", t->state);
	FILE *f = fopen(path, "re");
	int count = 0;
	while (f && count < n && fgets(line, sizeof line, f))
		if (sscanf(line, "proc %127s %lld", name, &pid) == 2)
			pids[count++] = (pid_t)pid;
	if (f)
		fclose(f);
	return count;
}

bool uptest_pid_gone(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return true;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

bool uptest_mounted(const char *path)
{
	char line[PATH_MAX * 2], point[PATH_MAX + 1];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	bool found = false;
	while (f && !found && fgets(line, sizeof line, f))
		if (sscanf(line, "%*s %*s %*s %*s %4096s", point) == 1 &&
		    strncmp(point, path, strlen(path)) == 0)
			found = true;
	if (f)
		fclose(f);
	return found;
}
