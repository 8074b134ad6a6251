/*
 * test-up-restarts.c — servers that restart without harm (docs/vfs.md "What survives a
 * restart"), on a real `plexus up` with RS, through a real FUSE mount:
 *
 *  - a writer appends and fsyncs through the mount for 10 s while plexus-vfs is SIGKILLed
 *    three times: the file ends with exactly the records whose write and fsync returned, every
 *    call returned, and no other file changed;
 *  - vfs, mfs-root, mfs-data, pfs, memory and vdisk SIGKILLed one after another so that every
 *    ordered pair of them follows each other once (an Eulerian circuit of the complete directed
 *    graph on the six): after each kill RS brings the service back, and /, /data (mounted at
 *    run time) and every file written so far are there, on the root RAM disk and on the disk
 *    image; a pipe works;
 *  - durability through the mount: a file fsynced, one fdatasynced, a rename made durable by an
 *    fsync of its directory, a file `sync FILE` (coreutils) covered, one written by `plexus sh`
 *    and covered by its `sync -f FILE`: plexus-mfs (and, in a second round, mfs and its driver
 *    together) SIGKILLed at once afterwards loses none of them; a name the restarted
 *    mfs-data lost can be created again at once through a mount whose kernel keeps names for
 *    a minute.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "uptest.h"

#define S_NSVC 6

static const char *const s_svcs[S_NSVC] = {"vfs", "mfs-root", "mfs-data", "pfs", "memory", "vdisk"};

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int s_setup(void **state)
{
	uptest_setup(state);
	uptest *t = *state;
	assert_int_equal(
	    uptest_sh(t, "\"$PLEXUS\" up --state-dir \"$STATE\" --port auto --no-tour"), 0);
	assert_int_equal(
	    uptest_sh(t, "mkdir \"$T/mnt\" && \"$PLEXUS\" mount --state-dir \"$STATE\" \"$T/mnt\""),
	    0);
	return 0;
}

/* "plexus ep ls" and "plexus service list" need the state's etcd. */
#define S_ENV "PLEXUS_ETCD=$(awk '/^etcd/{print $2}' \"$STATE/state\") "

/* SIGKILL to label's process; waits until RS has it (and everything) up again. */
static void s_kill_and_wait(uptest *t, const char *label)
{
	long gen, pid = uptest_service_pid(t, label, &gen);
	assert_true(pid > 0);
	assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
	uptest_wait_back(t, label, gen);
}

static void s_put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fflush(f), 0);
	assert_int_equal(fsync(fileno(f)), 0);
	assert_int_equal(fclose(f), 0);
}

static void s_expect(const char *path, const char *text)
{
	char buf[256] = "";
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("%s: %s", path, strerror(errno));
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (strcmp(buf, text) != 0)
		fail_msg("%s holds \"%s\", not \"%s\"", path, buf, text);
}

/* ---- the writer ---- */

typedef struct s_writer {
	const char *path;
	volatile bool stop;
	char *acked; /* every record whose write and fsync returned */
	size_t len, cap;
	int records, errors;
	char error[160];
} s_writer;

static void *s_write_loop(void *arg)
{
	s_writer *w = arg;
	int fd = open(w->path, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd < 0) {
		snprintf(w->error, sizeof w->error, "open: %s", strerror(errno));
		w->errors++;
		return NULL;
	}
	while (!w->stop) {
		char rec[96];
		int n = snprintf(rec, sizeof rec, "record %06d of the writer that outlives VFS\n",
		                 w->records);
		ssize_t put = write(fd, rec, (size_t)n);
		if (put != n || fsync(fd) != 0) {
			snprintf(w->error, sizeof w->error, "record %d: %s", w->records,
			         put != n ? "short write or error" : strerror(errno));
			w->errors++;
			break;
		}
		if (w->len + (size_t)n >= w->cap)
			w->acked = realloc(w->acked, w->cap = 2 * w->cap + 4096);
		memcpy(w->acked + w->len, rec, (size_t)n);
		w->len += (size_t)n;
		w->records++;
		usleep(20 * 1000);
	}
	close(fd);
	return NULL;
}

static void test_writer_outlives_vfs(void **state)
{
	uptest *t = *state;
	char path[PATH_MAX + 64], data[PATH_MAX + 64], root[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/mnt/data/keep.log", t->dir);
	snprintf(data, sizeof data, "%s/mnt/data/bystander", t->dir);
	snprintf(root, sizeof root, "%s/mnt/tmp-bystander", t->dir);
	s_put(data, "not to be touched\n");
	s_put(root, "nor this\n");
	s_writer w = {.path = path};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, s_write_loop, &w), 0);
	int64_t end = s_now_ms() + 10000;
	for (int kill_no = 0; kill_no < 3; kill_no++) {
		usleep(1500 * 1000);
		s_kill_and_wait(t, "vfs");
	}
	while (s_now_ms() < end)
		usleep(100 * 1000);
	w.stop = true;
	assert_int_equal(pthread_join(th, NULL), 0);
	if (w.errors)
		fail_msg("the writer's calls failed: %s", w.error);
	assert_true(w.records > 20);
	/* exactly the acknowledged records, read back through the mount */
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *got = malloc(w.len + 2);
	size_t n = fread(got, 1, w.len + 1, f);
	fclose(f);
	if (n != w.len || memcmp(got, w.acked, w.len) != 0)
		fail_msg("keep.log holds %zu bytes, %zu acknowledged (%d records)", n, w.len,
		         w.records);
	free(got);
	free(w.acked);
	s_expect(data, "not to be touched\n");
	s_expect(root, "nor this\n");
	print_message("%d records appended and fsynced across 3 VFS restarts\n", w.records);
}

/* ---- every ordered pair ---- */

/* An Eulerian circuit of the complete directed graph on n vertices (Hierholzer): out[] gets
 * n*(n-1)+1 vertices, each ordered pair consecutive once. */
static int s_circuit(int n, int *out)
{
	bool used[S_NSVC][S_NSVC] = {{false}};
	int stack[S_NSVC * S_NSVC + 1], top = 0, len = 0;
	stack[top++] = 0;
	while (top) {
		int v = stack[top - 1], u = -1;
		for (int k = 0; k < n && u < 0; k++)
			if (k != v && !used[v][k])
				u = k;
		if (u < 0) {
			out[len++] = stack[--top];
		} else {
			used[v][u] = true;
			stack[top++] = u;
		}
	}
	return len; /* reversed, still a circuit of every edge of the complete graph */
}

static void s_check_files(uptest *t, int upto)
{
	char path[PATH_MAX + 64], text[64];
	for (int i = 0; i <= upto; i++) {
		snprintf(text, sizeof text, "written after kill %d\n", i);
		snprintf(path, sizeof path, "%s/mnt/root-%d", t->dir, i);
		s_expect(path, text);
		snprintf(path, sizeof path, "%s/mnt/data/data-%d", t->dir, i);
		s_expect(path, text);
	}
}

static void test_every_pair_of_restarts(void **state)
{
	uptest *t = *state;
	int order[S_NSVC * (S_NSVC - 1) + 1];
	int n = s_circuit(S_NSVC, order);
	assert_int_equal(n, S_NSVC * (S_NSVC - 1) + 1);
	char path[PATH_MAX + 64], text[64];
	for (int i = 0; i < n; i++) {
		s_kill_and_wait(t, s_svcs[order[i]]);
		snprintf(text, sizeof text, "written after kill %d\n", i);
		snprintf(path, sizeof path, "%s/mnt/root-%d", t->dir, i);
		s_put(path, text);
		snprintf(path, sizeof path, "%s/mnt/data/data-%d", t->dir, i);
		s_put(path, text);
		s_check_files(t, i);
		assert_int_equal(uptest_sh(t, S_ENV "\"$PLEXUS\" sh -c 'echo piped | cat'"), 0);
		if (!uptest_output(t, "piped"))
			fail_msg("after killing %s, a pipe in plexus sh: %s", s_svcs[order[i]],
			         t->text);
	}
	print_message("%d kills, every ordered pair of %d services\n", n, S_NSVC);
}

/* ---- durability ---- */

static void s_write_sync(const char *path, const char *text, bool datasync)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(datasync ? fdatasync(fd) : fsync(fd), 0);
	assert_int_equal(close(fd), 0);
}

/* Writes without waiting for anything but the call itself (no fsync, no close flush). */
static void s_write_plain(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
}

static void s_durable_round(uptest *t, int round, const char *const *victims, int nvictims)
{
	char d[PATH_MAX + 64], a[PATH_MAX + 96], b[PATH_MAX + 96], tmp[PATH_MAX + 96];
	char c[PATH_MAX + 96], text[64];
	snprintf(d, sizeof d, "%s/mnt/data/dur%d", t->dir, round);
	assert_int_equal(mkdir(d, 0755), 0);
	snprintf(text, sizeof text, "round %d\n", round);
	snprintf(a, sizeof a, "%s/fsynced", d);
	snprintf(b, sizeof b, "%s/fdatasynced", d);
	s_write_sync(a, text, false);
	s_write_sync(b, text, true);
	snprintf(tmp, sizeof tmp, "%s/renamed.tmp", d);
	snprintf(c, sizeof c, "%s/renamed", d);
	s_write_sync(tmp, text, false);
	assert_int_equal(rename(tmp, c), 0);
	int dfd = open(d, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	assert_int_equal(fsync(dfd), 0); /* the rename, durable */
	close(dfd);
	char e[PATH_MAX + 96];
	snprintf(e, sizeof e, "%s/coreutils-sync", d);
	s_write_plain(e, text);
	assert_int_equal(uptest_sh(t, "sync '%s'", e), 0);
	assert_int_equal(uptest_sh(t,
	                           S_ENV
	                           "\"$PLEXUS\" sh -c 'echo %s > /data/dur%d/sh-file && sync -f "
	                           "/data/dur%d/sh-file'",
	                           "shell", round, round),
	                 0);
	long gen0 = 0;
	for (int i = 0; i < nvictims; i++) { /* at once: nothing left to write back later */
		long gen, pid = uptest_service_pid(t, victims[i], &gen);
		assert_true(pid > 0);
		if (i == 0)
			gen0 = gen;
		assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
	}
	uptest_wait_back(t, victims[0], gen0);
	s_expect(a, text);
	s_expect(b, text);
	s_expect(c, text);
	s_expect(e, text);
	char f[PATH_MAX + 96];
	snprintf(f, sizeof f, "%s/sh-file", d);
	s_expect(f, "shell\n");
	struct stat st;
	assert_int_equal(stat(tmp, &st), -1); /* the old name is gone for good */
}

/* A name a restarted file server lost is forgotten by the kernel too: through a second mount
 * whose names the kernel keeps 60 s, a file created (not synced) and looked up just before
 * mfs-data is killed can be created again at once afterwards (O_CREAT; without the mount's
 * watch the kernel's cached name made it ENOENT for the whole minute). */
static void s_lost_name_forgotten(uptest *t)
{
	char lost[PATH_MAX + 64];
	assert_int_equal(uptest_sh(t, "mkdir \"$T/mnt2\" && \"$PLEXUS\" mount --state-dir "
	                              "\"$STATE\" --entry-timeout 60 \"$T/mnt2\""),
	                 0);
	snprintf(lost, sizeof lost, "%s/mnt2/data/lost-name", t->dir);
	s_write_plain(lost, "lost\n");
	struct stat st;
	assert_int_equal(stat(lost, &st), 0);
	s_kill_and_wait(t, "mfs-data");
	int fd = open(lost, O_WRONLY | O_CREAT, 0644);
	if (fd < 0)
		fail_msg("open(O_CREAT) of a name the restarted mfs-data lost: %s",
		         strerror(errno));
	assert_int_equal(fstat(fd, &st), 0);
	print_message("lost-name: %s (size %lld after the restart)\n",
	              st.st_size == 0 ? "lost and made again" : "it had been written back",
	              (long long)st.st_size);
	close(fd);
}

static void test_synced_survives_mfs_kill(void **state)
{
	uptest *t = *state;
	const char *mfs[] = {"mfs-data"}, *both[] = {"mfs-data", "vdisk"};
	s_durable_round(t, 0, mfs, 1);
	s_durable_round(t, 1, both, 2);
	s_lost_name_forgotten(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_writer_outlives_vfs, s_setup, uptest_teardown),
	    cmocka_unit_test_setup_teardown(test_every_pair_of_restarts, s_setup, uptest_teardown),
	    cmocka_unit_test_setup_teardown(test_synced_survives_mfs_kill, s_setup,
	                                    uptest_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
