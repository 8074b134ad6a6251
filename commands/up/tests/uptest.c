/*
 * uptest.c — the helpers of the plexus up / mount tests (uptest.h).
 *
 * Entry points: see uptest.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "uptest.h"

#define S_PREFIX "plexus-uptest-"

static void s_unmount_under(const char *dir);

/* Takes down what a dead run left in dir: its plexus up (plexus down on its state), its FUSE
 * mounts, the directory. */
static void s_sweep(const char *dir)
{
	char cmd[PATH_MAX * 2 + 64];
	fprintf(stderr, "uptest: sweeping the remains of a dead run in %s\n", dir);
	snprintf(cmd, sizeof cmd, "'%s' down --state-dir '%s/state' >/dev/null 2>&1", PLEXUS_BIN,
	         dir);
	if (system(cmd) != 0) {
		/* nothing was up */
	}
	s_unmount_under(dir);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "uptest: could not remove %s\n", dir);
}

/* Whether dir belongs to a dead run: its lock can be taken and its owner had written the
 * owner file while holding it (so a run that is only starting is left alone). */
static bool s_dead_run(const char *dir)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof path, "%.4000s/lock", dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool dead = false;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		snprintf(path, sizeof path, "%.4000s/owner", dir);
		dead = access(path, F_OK) == 0;
	}
	close(fd); /* drops the lock */
	return dead;
}

/* The runs killed before their clean-up (SIGKILL, a ctest timeout) are swept by the next. */
static void s_reap_stale(void)
{
	DIR *d = opendir("/tmp");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (strncmp(e->d_name, S_PREFIX, strlen(S_PREFIX)) != 0)
			continue;
		char dir[PATH_MAX];
		snprintf(dir, sizeof dir, "/tmp/%.200s", e->d_name);
		if (s_dead_run(dir))
			s_sweep(dir);
	}
	if (d)
		closedir(d);
}

void uptest_new(uptest *t)
{
	s_reap_stale();
	memset(t, 0, sizeof *t);
	t->lock_fd = -1;
	snprintf(t->dir, sizeof t->dir, "/tmp/" S_PREFIX "XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->state, sizeof t->state, "%.4000s/state", t->dir);
	snprintf(t->out, sizeof t->out, "%s/out", t->dir);
	char path[PATH_MAX + 16];
	snprintf(path, sizeof path, "%.4000s/lock", t->dir);
	t->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_true(t->lock_fd >= 0);
	assert_int_equal(flock(t->lock_fd, LOCK_EX), 0); /* held while this process lives */
	snprintf(path, sizeof path, "%.4000s/owner", t->dir);
	FILE *f = fopen(path, "we");
	assert_non_null(f);
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
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
	if (t->lock_fd >= 0)
		close(t->lock_fd);
	memset(t, 0, sizeof *t);
	t->lock_fd = -1;
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
	setenv("PLEXUS_STATE_DIR", t->state, 1); /* where the commands find the up (its keys) */
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

int uptest_count(const uptest *t, const char *needle)
{
	int n = 0;
	for (const char *at = t->text; at && *needle && (at = strstr(at, needle)); at++)
		n++;
	return n;
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

int uptest_setup(void **state)
{
	uptest *t = calloc(1, sizeof *t);
	uptest_new(t);
	*state = t;
	return 0;
}

int uptest_teardown(void **state)
{
	uptest *t = *state;
	uptest_destroy(t);
	free(t);
	return 0;
}

/* "plexus ep ls" and "plexus service list" need the state's etcd. */
#define S_ENV "PLEXUS_ETCD=$(awk '/^etcd/{print $2}' \"$STATE/state\") "

long uptest_service_pid(uptest *t, const char *label, long *gen)
{
	*gen = 0;
	if (uptest_sh(t, S_ENV "\"$PLEXUS\" ep ls | awk '$1==\"%s\"{print $2, $5}'", label) != 0)
		return 0;
	long pid = 0;
	return sscanf(t->text, "%ld %ld", gen, &pid) == 2 ? pid : 0;
}

static long long s_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void uptest_wait_back(uptest *t, const char *label, long gen)
{
	for (long long end = s_mono_ms() + 60000;; usleep(200 * 1000)) {
		long g;
		int rc =
		    uptest_sh(t, S_ENV "\"$PLEXUS\" service list | awk 'NR>1 && $3 ~ /^[0-9]+$/ && "
		                       "$4!=\"up\"{n++} END{exit n>0}'");
		if (rc == 0 && uptest_service_pid(t, label, &g) && g > gen)
			return;
		if (s_mono_ms() > end)
			fail_msg("%s did not come back within 60 s:\n%s", label, t->text);
	}
}
