/*
 * test-vfs-clients.c — clients that die and clients that crowd, on the four-node fixture
 * (fscluster.h).
 *
 * Entry points: main (cmocka).
 *
 * test_killed_client: a real process (vfs-test-client, libplexus) on node 0 opens files and
 *   holds an unlinked 2 MiB file open; it is SIGKILLed. VFS must notice its endpoint record
 *   vanish, drop its process table entry (VFS_PS) and give its inodes back to MFS: the free
 *   blocks return to what they were before it started (statvfs).
 * test_exit_closes: VFS_EXIT from a client with files open frees them the same way.
 * test_unlink_races_stat: one client writes, unlinks and closes files over and over while
 *   another stats them and a third opens and closes them without pause; an answer about a
 *   file that left the file server before its unlink must not keep its inode in VFS's cache:
 *   every block comes back.
 * test_many_clients: 16 clients in threads at once, each working in a directory of its own,
 *   and all appending records to one shared file with O_APPEND: every record lands whole and
 *   none is lost.
 * test_vfs_restart: VFS SIGKILLed and started again (as RS would) takes the root file system
 *   over from its dead predecessor (FS_UNMOUNT, then FS_READSUPER); the files are there, and
 *   --mount mounted a second file system at start. The dead instance held inodes (its vnode
 *   cache, a file open, a file unlinked while open): the file server gives them up to the
 *   successor (a later generation of the same label).
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
#include <unistd.h>

#include <cmocka.h>

#include "vfscalls.h"

#define S_CLIENTS 16
#define S_ROUNDS  20
#define S_RECORDS 50
#define S_RECLEN  64

/* Workers beyond the 16 at start end after 300 ms idle (test_burst_shrinks); three clients
 * per user but root (test_limits_and_ps_pages). */
static const char *const s_vfs_args[] = {"--workers-idle", "300", "--procs-per-uid", "3", NULL};

static const fscluster_opts s_opts = {.cluster = "vfs-clients",
                                      .vfs_args = s_vfs_args,
                                      .services = (1u << FSCLUSTER_DISK) | (1u << FSCLUSTER_TTY) |
                                                  (1u << FSCLUSTER_LOG) | (1u << FSCLUSTER_PFS) |
                                                  (1u << FSCLUSTER_MFS) | (1u << FSCLUSTER_VFS)};

static int setup(void **state)
{
	return fscluster_setup(state, &s_opts);
}

static int teardown(void **state)
{
	vc_clients_drop();
	return fscluster_teardown(state);
}

/* How many entries VFS_PS lists whose name is name (or all when name is NULL); *files gets
 * the open files of the last match (may be NULL). */
static int s_ps_count(fsclient *c, const char *name, size_t *files)
{
	Plexus__VfsReply *r = NULL;
	int rc = vc_ps(c, &r);
	if (rc < 0)
		return rc;
	int n = 0;
	for (size_t i = 0; i < r->n_procs; i++) {
		if (!name || strcmp(r->procs[i]->name, name) == 0) {
			n++;
			if (files)
				*files = r->procs[i]->n_files;
		}
	}
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return n;
}

static uint64_t s_bfree(fsclient *c)
{
	Plexus__FsStatvfs sv;
	assert_int_equal(vc_statvfs(c, "/", &sv), 0);
	return sv.bfree;
}

/* Waits (up to 30 s) until VFS_PS shows want entries named name, with files open files in
 * the last one when files is not negative. */
static void s_wait_ps(fsclient *c, const char *name, int want, int files)
{
	int n = -1;
	size_t got = 0;
	for (int64_t end = drvcluster_now_ms() + 30000; drvcluster_now_ms() < end;
	     usleep(50 * 1000)) {
		n = s_ps_count(c, name, &got);
		if (n == want && (files < 0 || (int)got == files))
			return;
	}
	fail_msg("VFS_PS: %d entries named %s (%zu files), expected %d", n, name, got, want);
}

/* Waits until the free blocks come back to want. */
static void s_wait_bfree(fsclient *c, uint64_t want)
{
	uint64_t now = 0;
	for (int64_t end = drvcluster_now_ms() + 30000; drvcluster_now_ms() < end;
	     usleep(50 * 1000))
		if ((now = s_bfree(c)) == want)
			return;
	fail_msg("free blocks %llu, expected %llu", (unsigned long long)now,
	         (unsigned long long)want);
}

static void test_killed_client(void **state)
{
	fscluster *f = *state;
	fsclient *c = vc_client(f, "watcher");
	uint64_t before = s_bfree(c);
	char etcd[600], cluster[128], node[64], addr[64];
	snprintf(etcd, sizeof etcd, "PLEXUS_ETCD=%s", netns_hub_etcd_endpoints(f->d->c));
	snprintf(cluster, sizeof cluster, "PLEXUS_CLUSTER=%s", f->d->cluster);
	snprintf(node, sizeof node, "PLEXUS_NODE=n0");
	snprintf(addr, sizeof addr, "PLEXUS_ADDR=%s", netns_node_addr(f->d->c, 0));
	char *envp[] = {etcd, cluster, node, addr, NULL};
	char *argv[] = {VFS_TEST_CLIENT_BIN, "/victim", "5", "2097152", NULL};
	pid_t pid;
	assert_int_equal(netns_exec(f->d->c, 0, argv, envp, &pid), 0);
	/* five files and the big one open (made), then big gone (written and unlinked) */
	s_wait_ps(c, "vfs-test-client", 1, 6);
	bool unlinked = false;
	for (int64_t end = drvcluster_now_ms() + 30000; !unlinked && drvcluster_now_ms() < end;
	     usleep(50 * 1000))
		unlinked = vc_stat(c, "/victim/big", NULL) == -ENOENT;
	assert_true(unlinked);
	assert_true(s_bfree(c) < before - 256); /* 2 MiB: 512 blocks of 4 KiB */
	kill(-pid, SIGKILL);
	int status;
	assert_int_equal(netns_wait(f->d->c, pid, &status, 10000), 0);
	s_wait_ps(c, "vfs-test-client", 0, -1);
	/* the unlinked file's blocks are back: its inode was put; the 5 files remain */
	Plexus__FsAttr st;
	assert_int_equal(vc_stat(c, "/victim/f4", &st), 0);
	assert_int_equal(vc_stat(c, "/victim/big", NULL), -ENOENT);
	uint64_t now = 0;
	for (int64_t end = drvcluster_now_ms() + 30000; drvcluster_now_ms() < end;
	     usleep(50 * 1000))
		if ((now = s_bfree(c)) + 64 > before)
			break;
	assert_true(now + 64 > before); /* a directory and five small files, not 2 MiB */
	vc_client_destroy(&c, true);
	f->passed = true;
}

static void test_exit_closes(void **state)
{
	fscluster *f = *state;
	fsclient *w = vc_client(f, "exit-watcher");
	fsclient *c = vc_client(f, "exit-client");
	assert_int_equal(vc_mkdir(c, "/exit", 0755), 0);
	uint64_t before = s_bfree(w);
	int fd = fsc_open(c, "/exit/big", O_CREAT | O_RDWR, 0644);
	char *data = malloc(1 << 20);
	memset(data, 'x', 1 << 20); /* zeros could stay holes */
	assert_int_equal(fsc_write(c, fd, data, 1 << 20, FSC_WAIT_MS), 1 << 20);
	free(data);
	assert_int_equal(fsc_unlink(c, "/exit/big"), 0);
	assert_true(s_bfree(w) < before - 128); /* 1 MiB: 256 blocks of 4 KiB */
	assert_int_equal(s_ps_count(w, "exit-client", NULL), 1);
	vc_client_destroy(&c, true); /* VFS_EXIT */
	assert_int_equal(s_ps_count(w, "exit-client", NULL), 0);
	s_wait_bfree(w, before);
	/* a client that dies without VFS_EXIT goes too (its lease is revoked) */
	c = vc_client(f, "exit-dies");
	fd = fsc_open(c, "/exit/held", O_CREAT | O_RDWR, 0644);
	assert_true(fd >= 0);
	vc_client_destroy(&c, false);
	s_wait_ps(w, "exit-dies", 0, -1);
	vc_client_destroy(&w, true);
	f->passed = true;
}

#define S_RACE_ROUNDS 150
#define S_RACE_BYTES  (64 * 1024)

typedef struct s_racer {
	fsclient *c;
	bool opens; /* opens and closes the file instead of stating it */
	volatile int stop;
	long stats;
} s_racer;

/* Stats (or opens and closes) the race file without pause until told to stop. */
static void *s_stat_loop(void *arg)
{
	s_racer *r = arg;
	while (!r->stop) {
		if (!r->opens) {
			vc_stat(r->c, "/race/f", NULL);
		} else {
			int fd = fsc_open(r->c, "/race/f", O_RDONLY, 0);
			if (fd >= 0)
				fsc_close(r->c, fd);
		}
		r->stats++;
	}
	return NULL;
}

static void test_unlink_races_stat(void **state)
{
	fscluster *f = *state;
	fsclient *c = vc_client(f, "race-writer");
	s_racer r = {.c = vc_client(f, "race-stat")};
	s_racer o = {.c = vc_client(f, "race-open"), .opens = true};
	assert_int_equal(vc_mkdir(c, "/race", 0755), 0);
	uint64_t before = s_bfree(c);
	char *data = malloc(S_RACE_BYTES);
	assert_non_null(data);
	memset(data, 'r', S_RACE_BYTES);
	pthread_t t, to;
	assert_int_equal(pthread_create(&t, NULL, s_stat_loop, &r), 0);
	assert_int_equal(pthread_create(&to, NULL, s_stat_loop, &o), 0);
	int failed_round = -1;
	for (int i = 0; i < S_RACE_ROUNDS && failed_round < 0; i++) {
		int fd = fsc_open(c, "/race/f", O_CREAT | O_EXCL | O_RDWR, 0644);
		if (fd < 0 || fsc_write(c, fd, data, S_RACE_BYTES, FSC_WAIT_MS) != S_RACE_BYTES ||
		    fsc_unlink(c, "/race/f") != 0 || fsc_close(c, fd) != 0)
			failed_round = i;
	}
	r.stop = o.stop = 1;
	pthread_join(t, NULL);
	pthread_join(to, NULL);
	free(data);
	assert_int_equal(failed_round, -1);
	assert_true(r.stats > 0 && o.stats > 0);
	s_wait_bfree(c, before); /* no unlinked file's blocks stay claimed */
	vc_client_destroy(&o.c, true);
	vc_client_destroy(&r.c, true);
	vc_client_destroy(&c, true);
	f->passed = true;
}

typedef struct s_worker {
	fsclient *c;
	int id;
	int failures;
	char what[256];
} s_worker;

#define S_CHECK(w, cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			snprintf((w)->what, sizeof(w)->what, "client %d line %d: %s", (w)->id,     \
			         __LINE__, #cond);                                                 \
			(w)->failures++;                                                           \
			return NULL;                                                               \
		}                                                                                  \
	} while (0)

/* One round: a file written, read back, renamed, listed, removed. */
static bool s_round(s_worker *w, int round)
{
	char path[128], path2[128], data[200], back[200];
	snprintf(path, sizeof path, "/many/c%d/f%d", w->id, round);
	snprintf(path2, sizeof path2, "/many/c%d/g%d", w->id, round);
	int len = snprintf(data, sizeof data, "client %d round %d", w->id, round);
	int fd = fsc_open(w->c, path, O_CREAT | O_EXCL | O_RDWR, 0644);
	if (fd < 0 || fsc_write(w->c, fd, data, (size_t)len, FSC_WAIT_MS) != len)
		return false;
	if (vc_pread(w->c, fd, back, sizeof back, 0) != len || memcmp(data, back, (size_t)len))
		return false;
	if (fsc_close(w->c, fd) < 0 || vc_rename(w->c, path, path2) < 0)
		return false;
	Plexus__FsAttr st;
	if (vc_stat(w->c, path2, &st) < 0 || st.size != (uint64_t)len)
		return false;
	return fsc_unlink(w->c, path2) == 0 && vc_stat(w->c, path2, NULL) == -ENOENT;
}

static void *s_work(void *arg)
{
	s_worker *w = arg;
	char dir[64];
	snprintf(dir, sizeof dir, "/many/c%d", w->id);
	S_CHECK(w, vc_mkdir(w->c, dir, 0755) == 0);
	int shared = fsc_open(w->c, "/many/shared", O_WRONLY | O_APPEND, 0);
	S_CHECK(w, shared >= 0);
	for (int r = 0; r < S_ROUNDS; r++)
		S_CHECK(w, s_round(w, r));
	char rec[S_RECLEN];
	for (int i = 0; i < S_RECORDS; i++) {
		memset(rec, 'a' + w->id, sizeof rec);
		snprintf(rec, sizeof rec, "%02d:%03d:", w->id, i);
		rec[7] = 'a' + (char)w->id;
		rec[S_RECLEN - 1] = '\n';
		S_CHECK(w, fsc_write(w->c, shared, rec, sizeof rec, FSC_WAIT_MS) == S_RECLEN);
	}
	S_CHECK(w, fsc_close(w->c, shared) == 0);
	char *names = NULL;
	S_CHECK(w, vc_list(w->c, dir, 4096, &names) == 2); /* . and .. */
	free(names);
	S_CHECK(w, vc_rmdir(w->c, dir) == 0);
	return NULL;
}

static void test_many_clients(void **state)
{
	fscluster *f = *state;
	fsclient *main_c = vc_client(f, "many-main");
	assert_int_equal(vc_mkdir(main_c, "/many", 0755), 0);
	assert_int_equal(vc_put_file(main_c, "/many/shared", 0666, NULL, 0), 0);
	s_worker w[S_CLIENTS];
	pthread_t t[S_CLIENTS];
	for (int i = 0; i < S_CLIENTS; i++) {
		char name[32];
		snprintf(name, sizeof name, "many-%d", i);
		w[i] = (s_worker){.c = vc_client(f, name), .id = i};
	}
	assert_int_equal(s_ps_count(main_c, NULL, NULL), S_CLIENTS + 1);
	for (int i = 0; i < S_CLIENTS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, s_work, &w[i]), 0);
	for (int i = 0; i < S_CLIENTS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < S_CLIENTS; i++)
		if (w[i].failures)
			fail_msg("%s", w[i].what);
	/* every record whole, none lost */
	size_t total = (size_t)S_CLIENTS * S_RECORDS * S_RECLEN;
	char *all = malloc(total + 1);
	int fd = fsc_open(main_c, "/many/shared", O_RDONLY, 0);
	size_t got = 0;
	ssize_t n;
	while (got <= total &&
	       (n = fsc_read(main_c, fd, all + got, total + 1 - got, FSC_WAIT_MS)) > 0)
		got += (size_t)n;
	assert_int_equal(got, total);
	int seen[S_CLIENTS][S_RECORDS] = {{0}};
	for (size_t off = 0; off < total; off += S_RECLEN) {
		int id, i;
		assert_int_equal(sscanf(all + off, "%02d:%03d:", &id, &i), 2);
		assert_true(id >= 0 && id < S_CLIENTS && i >= 0 && i < S_RECORDS);
		for (size_t k = 7; k < S_RECLEN - 1; k++)
			assert_int_equal(all[off + k], 'a' + id);
		assert_int_equal(all[off + S_RECLEN - 1], '\n');
		seen[id][i]++;
	}
	for (int id = 0; id < S_CLIENTS; id++)
		for (int i = 0; i < S_RECORDS; i++)
			assert_int_equal(seen[id][i], 1);
	free(all);
	assert_int_equal(fsc_close(main_c, fd), 0);
	for (int i = 0; i < S_CLIENTS; i++)
		vc_client_destroy(&w[i].c, true);
	assert_int_equal(s_ps_count(main_c, NULL, NULL), 1);
	vc_client_destroy(&main_c, true);
	f->passed = true;
}

/* VFS killed and started again (as RS would): it takes the root file system over from its
 * dead predecessor, and what was written is there for clients that register anew. */
/* A field of VFS's /proc/PID/status ("Threads:") or its open descriptors (field NULL). */
static long s_vfs_proc(fscluster *f, const char *field)
{
	plx_endpoint_rec rec;
	assert_int_equal(plx_endpoint_lookup(f->d->etcd, s_opts.cluster, "vfs", &rec), 0);
	char path[64], line[256];
	long n = -1;
	if (!field) {
		snprintf(path, sizeof path, "/proc/%lld/fd", (long long)rec.pid);
		DIR *d = opendir(path);
		assert_non_null(d);
		for (n = -2; readdir(d);) /* "." and ".." */
			n++;
		closedir(d);
		return n;
	}
	snprintf(path, sizeof path, "/proc/%lld/status", (long long)rec.pid);
	FILE *fp = fopen(path, "re");
	assert_non_null(fp);
	while (fgets(line, sizeof line, fp))
		if (strncmp(line, field, strlen(field)) == 0)
			n = atol(line + strlen(field));
	fclose(fp);
	return n;
}

/* n requests pipelined at once from c: every one answered. */
static void s_burst(fsclient *c, int n)
{
	Plexus__VfsPath q = PLEXUS__VFS_PATH__INIT;
	q.path = "/";
	uint64_t id;
	for (int i = 0; i < n; i++) {
		plx_request req = {
		    .dst = {.label = "vfs"}, .type = PLEXUS__VFS_TYPE__VFS_STAT, .body = &q.base};
		assert_int_equal(plx_asynsend(fsclient_ep(c), &req, &id), 0);
	}
	for (int got = 0; got < n; got++) {
		plx_msg *m = NULL;
		assert_int_equal(plx_receive(fsclient_ep(c), &m, 20000), 0);
		assert_int_equal(m->status, 0);
		plx_msg_destroy(&m);
	}
}

/* Waits (up to 20 s) until VFS runs at most threads threads and holds at most fds
 * descriptors (closed sockets linger a little); sets both to what it found. */
static void s_wait_idle(fscluster *f, long *threads, long *fds)
{
	long t = 0, d = 0;
	for (int64_t end = drvcluster_now_ms() + 20000; drvcluster_now_ms() < end;
	     usleep(100 * 1000))
		if ((t = s_vfs_proc(f, "Threads:")) <= *threads &&
		    (d = s_vfs_proc(f, NULL)) <= *fds)
			break;
	*threads = t;
	*fds = d;
}

/* Descriptors a kept worker may hold once it has served a call: its wake-up eventfd, and a
 * connection to the file server (the socket's mailbox and the TCP connection). */
#define S_KEPT_WORKERS   16
#define S_FDS_PER_WORKER 3

/* 400 requests pipelined at once from one client grow VFS's worker pool; once they are
 * answered and the pool idles, the extra workers end and their connections close: threads come
 * back to where they were and descriptors to where the first burst left them, give or take the
 * kept workers that served their first call only in the second burst (a leak of the extra
 * workers' connections would be hundreds), and VFS serves as before. */
static void test_burst_shrinks(void **state)
{
	fscluster *f = *state;
	fsclient *c = fsclient_new(f, "burst");
	long threads0 = s_vfs_proc(f, "Threads:"), fds0 = 1 << 20, threads = threads0;
	s_burst(c, 400);
	long grown = s_vfs_proc(f, "Threads:");
	assert_true(grown > threads0);
	s_wait_idle(f, &threads, &fds0); /* the first workers' connections now made */
	assert_true(threads <= threads0);
	s_burst(c, 400);
	long slack = S_KEPT_WORKERS * S_FDS_PER_WORKER, fds = fds0 + slack;
	s_wait_idle(f, &threads, &fds);
	print_message("VFS threads: %ld, %ld after a burst, %ld after idling; descriptors %ld "
	              "after the first burst, %ld after the second\n",
	              threads0, grown, threads, fds0, fds);
	assert_true(threads <= threads0);
	assert_true(fds <= fds0 + slack);
	Plexus__FsAttr st;
	assert_int_equal(vc_stat(c, "/", &st), 0);
	fsclient_destroy(&c, true);
	f->passed = true;
}

/* One VFS_PS page after after: its endpoints appended to seen (n of them), more set. */
static void s_ps_page(fsclient *c, const char *after, char seen[][PLX_LABEL_MAX + 24], size_t *n,
                      bool *more, bool *cut)
{
	Plexus__VfsPsQuery q = PLEXUS__VFS_PS_QUERY__INIT;
	q.after = (char *)after;
	Plexus__VfsReply *r = NULL;
	assert_int_equal(
	    fsclient_call(c, PLEXUS__VFS_TYPE__VFS_PS, &q.base, NULL, 0, &r, NULL, 0, NULL, 10000),
	    0);
	for (size_t i = 0; i < r->n_procs; i++) {
		for (size_t k = 0; k < *n; k++)
			assert_string_not_equal(seen[k],
			                        r->procs[i]->endpoint); /* no page repeats */
		snprintf(seen[(*n)++], PLX_LABEL_MAX + 24, "%s", r->procs[i]->endpoint);
		*cut |= r->procs[i]->files_cut;
	}
	*more = r->more;
	protobuf_c_message_free_unpacked(&r->base, NULL);
}

/* Opens n files under dir (names long enough that VFS_PS needs pages for them). */
static void s_open_many(fsclient *c, const char *dir, int n)
{
	char path[512];
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/f%d", dir, i);
		assert_true(fsc_open(c, path, O_CREAT | O_RDWR, 0644) >= 0);
	}
}

/* A user (not root) may hold three clients here: a fourth, or a client turning into that
 * user, gets EAGAIN while another user and root go on. VFS_PS answers in pages of 128 KiB, no
 * process twice and none left out, and cuts one process's long file list. */
static void test_limits_and_ps_pages(void **state)
{
	fscluster *f = *state;
	fsclient *u[5];
	char name[16];
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof name, "user%d", i);
		u[i] = fsclient_new(f, name);
	}
	for (int i = 0; i < 3; i++)
		assert_int_equal(vc_register(u[i], 1000, 100, NULL, 0), 0);
	assert_int_equal(vc_register(u[3], 1000, 100, NULL, 0), -EAGAIN);
	assert_int_equal(vc_register(u[3], 1001, 100, NULL, 0), 0);
	assert_int_equal(vc_register(u[0], 1000, 100, NULL, 0), 0); /* already one of them */
	fsclient *root = fsclient_new(f, "rootagain");
	/* a directory 3 x 59 bytes deep (MINIX names hold 60 bytes): 200-byte paths */
	char dir[256] = "/pages";
	assert_int_equal(vc_mkdir(root, dir, 0777), 0);
	for (int level = 0; level < 3; level++) {
		size_t len = strlen(dir);
		snprintf(dir + len, sizeof dir - len, "/%059d", level);
		assert_int_equal(vc_mkdir(root, dir, 0777), 0);
	}
	/* 12 clients with 60 files each of 200-byte paths, one with 250 longer ones: more than a
	 * page */
	enum { NC = 12 };
	fsclient *many[NC];
	for (int i = 0; i < NC; i++) {
		snprintf(name, sizeof name, "files%d", i);
		many[i] = fsclient_new(f, name);
		s_open_many(many[i], dir, 60);
	}
	strcat(dir, "/000000000000000000000000000000000000000000000000000000000004");
	assert_int_equal(vc_mkdir(root, dir, 0777), 0);
	s_open_many(u[4], dir, 250); /* 250 x 266 bytes: more than half a page */
	static char seen[64][PLX_LABEL_MAX + 24];
	size_t n = 0, pages = 0;
	bool more = true, cut = false;
	while (more) {
		s_ps_page(root, n ? seen[n - 1] : "", seen, &n, &more, &cut);
		pages++;
	}
	print_message("VFS_PS: %zu processes in %zu pages\n", n, pages);
	assert_true(pages >= 2);
	assert_true(cut);
	for (int i = 0; i < NC; i++) {
		bool found = false;
		char label[32];
		snprintf(label, sizeof label, "client.files%d.", i);
		for (size_t k = 0; k < n; k++)
			found |= strncmp(seen[k], label, strlen(label)) == 0;
		assert_true(found);
	}
	for (int i = 0; i < NC; i++)
		fsclient_destroy(&many[i], true);
	for (int i = 0; i < 5; i++)
		fsclient_destroy(&u[i], true);
	fsclient_destroy(&root, true);
	f->passed = true;
}

static void test_vfs_restart(void **state)
{
	fscluster *f = *state;
	fsclient *c = vc_client(f, "before");
	assert_int_equal(vc_mkdir(c, "/kept", 0755), 0);
	assert_int_equal(vc_put_file(c, "/kept/file", 0644, "survives", 8), 0);
	/* the next instance also mounts a second file system at start (--mount) */
	assert_int_equal(vc_mkdir(c, "/data", 0755), 0);
	/* held by the instance that dies: a file open, and one unlinked while open */
	assert_true(fsc_open(c, "/kept/file", O_RDONLY, 0) >= 0);
	assert_int_equal(vc_put_file(c, "/kept/orphan", 0644, "o", 1), 0);
	assert_true(fsc_open(c, "/kept/orphan", O_RDONLY, 0) >= 0);
	assert_int_equal(fsc_unlink(c, "/kept/orphan"), 0);
	vc_client_destroy(&c, false);
	char image[600], cmd[1400];
	snprintf(image, sizeof image, "%s/disk2.img", f->d->dir);
	snprintf(cmd, sizeof cmd, "truncate -s 8M %s && /usr/sbin/mkfs.minix -3 %s >/dev/null",
	         image, image);
	assert_int_equal(system(cmd), 0);
	char *disk[] = {PLEXUS_VDISK_BIN, "--image", image, NULL};
	drvcluster_start_driver(f->d, 3, "disk2", NULL, disk);
	char *mfs[] = {PLEXUS_MFS_BIN, NULL};
	drvcluster_start_driver(f->d, 2, "mfs2", NULL, mfs);
	static const char *const more[] = {"--mount", "mfs2:disk2:0:/data", NULL};
	f->opts.vfs_args = more;
	fscluster_restart(f, FSCLUSTER_VFS);
	c = vc_client(f, "after");
	Plexus__FsAttr root, data;
	assert_int_equal(vc_stat(c, "/", &root), 0);
	assert_int_equal(vc_stat(c, "/data", &data), 0);
	assert_int_not_equal(root.dev, data.dev);
	assert_int_equal(vc_put_file(c, "/data/on-mfs2", 0644, "2", 1), 0);
	int fd = fsc_open(c, "/kept/file", O_RDONLY, 0);
	assert_true(fd >= 0);
	char buf[16];
	assert_int_equal(fsc_read(c, fd, buf, sizeof buf, FSC_WAIT_MS), 8);
	assert_memory_equal(buf, "survives", 8);
	assert_int_equal(fsc_close(c, fd), 0);
	assert_int_equal(vc_put_file(c, "/kept/new", 0644, "n", 1), 0);
	vc_client_destroy(&c, true);
	f->passed = true;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_killed_client, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_exit_closes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unlink_races_stat, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_many_clients, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_burst_shrinks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_limits_and_ps_pages, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vfs_restart, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
