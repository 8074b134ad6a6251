/*
 * workload.c — the drill's writers and their journal (drill.h, docs/drills.md "The workload").
 *
 * Entry points: drill_workload_start, drill_workload_first_ok, drill_calls_after,
 * drill_workload_stop, drill_workload_verify, drill_workload_clean, drill_workload_free.
 *
 * Each writer is a client of its own (libplexus's, or plain POSIX calls through a `plexus
 * mount`: a table of file calls, fileops.c) with a directory DIR/wN. It repeats: create a file
 * fID of 1 byte to 16 KiB (one in eight: 64 to 160 KiB, whose bytes move between the client and
 * the file server directly, docs/protocol.md "Staged data") whose every byte follows from
 * (writer, ID, offset), write it, fsync,
 * close; or append to one (O_APPEND, the bytes that follow, fsync); or either of these closed
 * without an fsync and then opened again and fsynced, as `sync FILE` does after a program's
 * close; or rename a file fID to rID and fsync the directory; or unlink one and fsync the
 * directory. The journal, kept here outside Plexus, records what was acknowledged: a file once
 * its fsync returned 0, a rename or unlink once the directory's fsync returned 0. A call that
 * fails leaves its file uncertain in just the way it could have ended (a rename: either name;
 * an unlink: there or not; an append: any length between), and the writer touches that file
 * no more. The journal says so before the calls go out, so a writer given up on in a call
 * (drill_workload_stop) leaves it right. In the end every acknowledged file must be there
 * whole under a name the journal allows, and every acknowledged unlink must have stayed done.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <plexus/plexus.h>

#include "drill.h"

#define S_FILES     4096 /* files a writer makes at most; then it only renames and unlinks */
#define S_LEN_MAX   (160 * 1024)
#define S_LEN_SMALL (16 * 1024) /* most files; one in eight is 64 KiB or more */
#define S_STOP_MS   60000       /* the longest the stop waits for writers in calls */

typedef struct s_file {
	uint32_t id, len;
	uint32_t len_max; /* an append failed: any length from len to len_max is right */
	bool renamed;     /* named rID, else fID */
	bool gone;        /* its unlink was acknowledged */
	bool uncertain;   /* a rename or unlink of it failed: either outcome is right */
	bool either;      /* the failed call was a rename (either name), else an unlink */
} s_file;

typedef struct s_writer {
	drill_workload *w;
	int index;
	drill_fs *fs; /* its client */
	pthread_t thread;
	/* Held by the writer except while it waits in a call (and once it is done): the stop
	 * takes it to give up on a writer stuck in one, which then ends as its call returns. */
	pthread_mutex_t lock;
	atomic_llong call_since; /* drill_ms when its call went out, -1 out of one */
	atomic_bool done;        /* its loop ended */
	bool abandoned;          /* given up on in a call (under lock) */
	bool reaped;             /* joined or given up on (the stop's) */
	unsigned seed;
	char dir[256];
	s_file files[S_FILES];
	int nfiles;
	uint32_t next_id;
	drill_counts counts;
	uint8_t buf[S_LEN_MAX];
} s_writer;

struct drill_workload {
	char dir[200];
	char root[PATH_MAX]; /* the mount's directory, "" through libplexus */
	const drill_fileops *ops;
	int n;
	int abandoned; /* writers given up on: their memory stays, their threads may return */
	atomic_bool stop;
	atomic_llong since;    /* drill_workload_first_ok's threshold */
	atomic_llong first_ok; /* the first success at or after since, -1 none */
	s_writer *writers;
};

static struct timespec s_t0;
static pthread_once_t s_once = PTHREAD_ONCE_INIT;

static void s_clock_init(void)
{
	clock_gettime(CLOCK_MONOTONIC, &s_t0);
}

int64_t drill_ms(void)
{
	pthread_once(&s_once, s_clock_init);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)(ts.tv_sec - s_t0.tv_sec) * 1000 + (ts.tv_nsec - s_t0.tv_nsec) / 1000000;
}

static void s_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static uint8_t s_byte(int writer, uint32_t id, uint32_t off)
{
	uint32_t x = (uint32_t)writer * 2654435761u ^ id * 40503u ^ off * 2246822519u;
	return (uint8_t)(x ^ x >> 13 ^ x >> 24);
}

static void s_name(const s_writer *wr, const s_file *f, bool renamed, char *out, size_t size)
{
	snprintf(out, size, "%s/%c%u", wr->dir, renamed ? 'r' : 'f', f->id);
}

static int s_slice(int64_t ms)
{
	int64_t i = ms / DRILL_SLICE_MS;
	return i < 0 ? 0 : i >= DRILL_SLICES ? DRILL_SLICES - 1 : (int)i;
}

/* ---- the writers' calls: timed, counted, and the stop's to give up on ---- */

/* A call goes out: the stop may give up on the writer only while it waits in one. */
static void s_call_begin(s_writer *wr)
{
	atomic_store(&wr->call_since, drill_ms());
	pthread_mutex_unlock(&wr->lock);
}

/* The call returned: a writer the stop gave up on ends here, touching nothing more. Returns
 * how long the call took (errno kept). */
static int64_t s_call_end(s_writer *wr)
{
	int e = errno;
	pthread_mutex_lock(&wr->lock);
	if (wr->abandoned) {
		pthread_mutex_unlock(&wr->lock);
		pthread_exit(NULL);
	}
	int64_t took = drill_ms() - atomic_load(&wr->call_since);
	atomic_store(&wr->call_since, -1);
	errno = e;
	return took;
}

/* Counts a call's outcome (rc < 0: it failed with errno) that took took ms. Returns rc. */
static long s_count(s_writer *wr, long rc, int64_t took)
{
	int e = errno;
	/* libplexus answers at its limit (DRILL_HUNG_MS: EHOSTDOWN while VFS stays away), which is
	 * an answer; a call still out well past it (a FUSE call has no limit) hung */
	if (took > DRILL_HUNG_MS + DRILL_HUNG_SLACK_MS || (rc < 0 && e == ETIMEDOUT))
		wr->counts.hung++;
	if (rc >= 0) {
		wr->counts.ops++;
		int64_t now = drill_ms(), since = atomic_load(&wr->w->since), none = -1;
		wr->counts.ok_at[s_slice(now)]++;
		if (since >= 0 && now >= since)
			atomic_compare_exchange_strong(&wr->w->first_ok, &none, (long long)now);
		return rc;
	}
	wr->counts.errors++;
	wr->counts.failed_at[s_slice(drill_ms())]++;
	wr->counts.by_errno[e > 0 && e < DRILL_ERRNO_MAX ? e : 0]++;
	errno = e;
	return rc;
}

static int s_open(s_writer *wr, const char *path, int flags)
{
	s_call_begin(wr);
	int fd = wr->w->ops->open(wr->fs, path, flags, 0644);
	return (int)s_count(wr, fd, s_call_end(wr));
}

static ssize_t s_write(s_writer *wr, int fd, uint32_t n)
{
	s_call_begin(wr);
	ssize_t done = wr->w->ops->write(wr->fs, fd, wr->buf, n);
	return s_count(wr, done, s_call_end(wr));
}

static int s_fsync(s_writer *wr, int fd)
{
	s_call_begin(wr);
	int rc = wr->w->ops->fsync(wr->fs, fd);
	return (int)s_count(wr, rc, s_call_end(wr));
}

/* close: its answer is not counted (it may come without the service), its time is. */
static void s_close(s_writer *wr, int fd)
{
	s_call_begin(wr);
	wr->w->ops->close(wr->fs, fd);
	if (s_call_end(wr) > DRILL_HUNG_MS + DRILL_HUNG_SLACK_MS)
		wr->counts.hung++;
}

static int s_rename_call(s_writer *wr, const char *from, const char *to)
{
	s_call_begin(wr);
	int rc = wr->w->ops->rename(wr->fs, from, to);
	return (int)s_count(wr, rc, s_call_end(wr));
}

static int s_unlink_call(s_writer *wr, const char *path)
{
	s_call_begin(wr);
	int rc = wr->w->ops->unlink(wr->fs, path);
	return (int)s_count(wr, rc, s_call_end(wr));
}

/* ---- what a writer does ---- */

/* fsync of the writer's directory, opened afresh as most programs do: a loss of a change in
 * it is reported to every description until one has reported it (docs/using.md). */
static int s_sync_dir(s_writer *wr)
{
	int fd = s_open(wr, wr->dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return -1;
	int rc = s_fsync(wr, fd);
	s_close(wr, fd);
	return rc;
}

/* Writes wr->buf[0, n) to path opened with flags and makes it durable: an fsync before the
 * close, or (after_close) an fsync of a descriptor opened again once the writing one was
 * closed, as `sync FILE` after a program's close. True once that fsync returned 0. */
static bool s_write_durable(s_writer *wr, const char *path, int flags, uint32_t n, bool after_close)
{
	int fd = s_open(wr, path, flags);
	if (fd < 0)
		return false;
	bool ok = s_write(wr, fd, n) == (ssize_t)n && (after_close || s_fsync(wr, fd) == 0);
	s_close(wr, fd);
	if (!ok || !after_close)
		return ok;
	fd = s_open(wr, path, O_RDONLY);
	ok = fd >= 0 && s_fsync(wr, fd) == 0;
	if (fd >= 0)
		s_close(wr, fd);
	wr->counts.synced_after_close += ok;
	wr->counts.lost_after_close += !ok;
	return ok;
}

/* A new file's length: 1 byte to 16 KiB, or one time in eight 64 to 160 KiB. */
static uint32_t s_new_len(s_writer *wr)
{
	uint32_t r = (uint32_t)rand_r(&wr->seed);
	if (r % 8 == 0)
		return 64 * 1024 + (r / 8) % (S_LEN_MAX - 64 * 1024 + 1);
	return 1 + (r / 8) % S_LEN_SMALL;
}

static void s_create(s_writer *wr, bool after_close)
{
	if (wr->nfiles == S_FILES)
		return;
	s_file f = {.id = wr->next_id++, .len = s_new_len(wr)};
	char path[300];
	s_name(wr, &f, false, path, sizeof path);
	for (uint32_t i = 0; i < f.len; i++)
		wr->buf[i] = s_byte(wr->index, f.id, i);
	f.len_max = f.len;
	if (s_write_durable(wr, path, O_CREAT | O_WRONLY | O_TRUNC, f.len, after_close))
		wr->files[wr->nfiles++] = f; /* acknowledged: on the disk whatever happens next */
}

/* A file that is there for sure, or NULL. */
static s_file *s_pick(s_writer *wr, bool unrenamed)
{
	if (wr->nfiles == 0)
		return NULL;
	s_file *f = &wr->files[rand_r(&wr->seed) % wr->nfiles];
	bool settled = !f->gone && !f->uncertain && f->len_max == f->len;
	return !settled || (unrenamed && f->renamed) ? NULL : f;
}

/* Appends to a file (O_APPEND) the bytes that follow its content, made durable as
 * s_write_durable says. */
static void s_append(s_writer *wr, bool after_close)
{
	s_file *f = s_pick(wr, false);
	if (!f || f->len >= S_LEN_MAX)
		return;
	uint32_t add = 1 + (uint32_t)rand_r(&wr->seed) %
	                       (S_LEN_MAX - f->len < 4096 ? S_LEN_MAX - f->len : 4096);
	char path[300];
	s_name(wr, f, f->renamed, path, sizeof path);
	for (uint32_t i = 0; i < add; i++)
		wr->buf[i] = s_byte(wr->index, f->id, f->len + i);
	f->len_max = f->len + add; /* somewhere between until acknowledged */
	if (s_write_durable(wr, path, O_WRONLY | O_APPEND, add, after_close))
		f->len = f->len_max;
}

static void s_rename(s_writer *wr)
{
	s_file *f = s_pick(wr, true);
	if (!f)
		return;
	char from[300], to[300];
	s_name(wr, f, false, from, sizeof from);
	s_name(wr, f, true, to, sizeof to);
	f->uncertain = f->either = true; /* either name until acknowledged */
	if (s_rename_call(wr, from, to) == 0 && s_sync_dir(wr) == 0) {
		f->renamed = true;
		f->uncertain = f->either = false;
	}
}

static void s_unlink(s_writer *wr)
{
	s_file *f = s_pick(wr, false);
	if (!f)
		return;
	char path[300];
	s_name(wr, f, f->renamed, path, sizeof path);
	f->uncertain = true; /* there or not until acknowledged */
	if (s_unlink_call(wr, path) == 0 && s_sync_dir(wr) == 0) {
		f->gone = true;
		f->uncertain = false;
	}
}

static void *s_writer_main(void *arg)
{
	s_writer *wr = arg;
	pthread_mutex_lock(&wr->lock);
	while (!atomic_load(&wr->w->stop)) {
		int r = rand_r(&wr->seed) % 20;
		uint64_t errors = wr->counts.errors;
		if (r < 9)
			s_create(wr, r >= 7);
		else if (r < 14)
			s_append(wr, r >= 12);
		else if (r < 18)
			s_rename(wr);
		else
			s_unlink(wr);
		if (wr->counts.errors != errors)
			s_sleep_ms(20); /* the system is recovering: do not spin */
	}
	atomic_store(&wr->done, true);
	pthread_mutex_unlock(&wr->lock);
	return NULL;
}

/* ---- start and stop ---- */

/* The drill's directory DIR, made through libplexus: the system's own view. */
static int s_make_dir(const char *dir)
{
	drill_fs *fs = drill_fileops_libplexus.connect(NULL, "drill");
	int rc = fs && (drill_fileops_libplexus.mkdir(fs, dir, 0755) == 0 || errno == EEXIST)
	             ? 0
	             : -errno;
	drill_fileops_libplexus.disconnect(&fs);
	return rc;
}

/* Writer i: its client, its directory (made through it), its thread. Returns 0 or -errno. */
static int s_writer_start(drill_workload *w, int i, unsigned seed)
{
	s_writer *wr = &w->writers[i];
	*wr = (s_writer){.w = w, .index = i, .seed = seed * 7919u + (unsigned)i};
	atomic_init(&wr->call_since, -1);
	snprintf(wr->dir, sizeof wr->dir, "%s/w%d", w->dir, i);
	if (!(wr->fs = w->ops->connect(w->root, "drill-writer")))
		return -errno;
	int rc = w->ops->mkdir(wr->fs, wr->dir, 0755) == 0 || errno == EEXIST ? 0 : -errno;
	if (rc == -ENOENT && w->root[0]) /* the mount does not show DIR, made just now */
		rc = -EXDEV;
	if (rc == 0 && pthread_mutex_init(&wr->lock, NULL) != 0)
		rc = -ENOMEM;
	if (rc == 0 && pthread_create(&wr->thread, NULL, s_writer_main, wr) != 0) {
		pthread_mutex_destroy(&wr->lock);
		rc = -EAGAIN;
	}
	if (rc < 0)
		w->ops->disconnect(&wr->fs);
	return rc;
}

drill_workload *drill_workload_start(const char *dir, int writers, unsigned seed, const char *mount)
{
	if (writers < 1 || writers > DRILL_WRITERS_MAX) {
		errno = EINVAL;
		return NULL;
	}
	drill_workload *w = calloc(1, sizeof *w);
	if (!w || !(w->writers = calloc((size_t)writers, sizeof *w->writers))) {
		free(w);
		errno = ENOMEM;
		return NULL;
	}
	snprintf(w->dir, sizeof w->dir, "%s", dir);
	snprintf(w->root, sizeof w->root, "%s", mount ? mount : "");
	w->ops = mount ? &drill_fileops_mount : &drill_fileops_libplexus;
	atomic_init(&w->since, -1);
	atomic_init(&w->first_ok, -1);
	int rc = s_make_dir(dir);
	while (rc == 0 && w->n < writers && (rc = s_writer_start(w, w->n, seed)) == 0)
		w->n++;
	if (rc < 0) {
		static drill_counts unused; /* the writers that started stop; nothing to report */
		drill_workload_stop(w, &unused);
		drill_workload_free(&w);
		errno = -rc;
		return NULL;
	}
	return w;
}

int64_t drill_workload_first_ok(drill_workload *self, int64_t t)
{
	if (atomic_load(&self->since) != t) { /* a new question: forget the last answer */
		atomic_store(&self->since, -1);
		atomic_store(&self->first_ok, -1);
		atomic_store(&self->since, t);
	}
	long long got = atomic_load(&self->first_ok);
	if (got >= 0 && got < t) { /* a writer that read the old threshold: not an answer */
		atomic_compare_exchange_strong(&self->first_ok, &got, -1);
		return -1;
	}
	return got;
}

uint64_t drill_calls_after(const drill_counts *counts, int64_t ms)
{
	uint64_t n = 0;
	for (int64_t k = ms / DRILL_SLICE_MS + 1; ms >= 0 && k < DRILL_SLICES; k++)
		n += counts->ok_at[k];
	return n;
}

/* Whether wr waits in a call the stop gives up on: one out longer than DRILL_HUNG_MS and its
 * slack, or any once the stop (begun at began) has waited S_STOP_MS. */
static bool s_stuck(s_writer *wr, int64_t began)
{
	int64_t since = atomic_load(&wr->call_since), now = drill_ms();
	return since >= 0 &&
	       (now - since > DRILL_HUNG_MS + DRILL_HUNG_SLACK_MS || now - began > S_STOP_MS);
}

/* Gives up on wr if it is still stuck in its call: that call counts hung, and the writer ends
 * when (if) it returns. Returns whether it was given up on. */
static bool s_abandon(s_writer *wr, int64_t began)
{
	pthread_mutex_lock(&wr->lock); /* the writer's only while it is out of a call */
	bool stuck = !atomic_load(&wr->done) && s_stuck(wr, began);
	if (stuck) {
		wr->abandoned = true;
		wr->counts.hung++;
		pthread_detach(wr->thread);
	}
	pthread_mutex_unlock(&wr->lock);
	return stuck;
}

/* Done with wr for the stop: joined once its loop ended, or given up on. */
static bool s_reap(drill_workload *self, s_writer *wr, int64_t began)
{
	if (!wr->reaped && atomic_load(&wr->done)) {
		pthread_join(wr->thread, NULL);
		pthread_mutex_destroy(&wr->lock);
		self->ops->disconnect(&wr->fs);
		wr->reaped = true;
	} else if (!wr->reaped && s_stuck(wr, began) && s_abandon(wr, began)) {
		self->abandoned++;
		wr->reaped = true;
	}
	return wr->reaped;
}

static void s_sum(drill_counts *to, const drill_counts *from)
{
	to->ops += from->ops;
	to->errors += from->errors;
	to->hung += from->hung;
	to->synced_after_close += from->synced_after_close;
	to->lost_after_close += from->lost_after_close;
	for (int e = 0; e < DRILL_ERRNO_MAX; e++)
		to->by_errno[e] += from->by_errno[e];
	for (int k = 0; k < DRILL_SLICES; k++) {
		to->ok_at[k] += from->ok_at[k];
		to->failed_at[k] += from->failed_at[k];
	}
}

int drill_workload_stop(drill_workload *self, drill_counts *counts)
{
	atomic_store(&self->stop, true);
	int64_t began = drill_ms();
	for (bool all = false; !all;) {
		all = true;
		for (int i = 0; i < self->n; i++)
			all = s_reap(self, &self->writers[i], began) && all;
		if (!all)
			s_sleep_ms(50);
	}
	memset(counts, 0, sizeof *counts);
	for (int i = 0; i < self->n; i++) /* a writer given up on counts no more */
		s_sum(counts, &self->writers[i].counts);
	return self->abandoned;
}

/* ---- the check ---- */

/* Whether the n bytes read of f are its pattern: all of what was acknowledged, and of the
 * uncertain rest each byte the pattern's or 0 (*zeros set: a block of a write nobody
 * acknowledged that a dead file server instance never wrote, while the file's size it did).
 * False with why set when not. */
static bool s_bytes(const s_writer *wr, const s_file *f, const uint8_t *buf, ssize_t n,
                    const char *path, bool *zeros, char *why, size_t size)
{
	for (uint32_t i = 0; i < (uint32_t)n; i++) {
		if (buf[i] == s_byte(wr->index, f->id, i))
			continue;
		if (i >= f->len && buf[i] == 0) {
			*zeros = true;
			continue;
		}
		snprintf(why, size, "%.150s: byte %u is not what was written (%u acknowledged%s)",
		         path, i, f->len, i >= f->len ? ", the rest uncertain" : "");
		return false;
	}
	return true;
}

/* Checks one acknowledged file through fs; false with why set when it is not as the journal
 * says (*zeros as s_bytes). */
static bool s_check(const drill_fileops *ops, drill_fs *fs, s_writer *wr, const s_file *f,
                    uint8_t *buf, bool *zeros, char *why, size_t size)
{
	char name[2][300];
	s_name(wr, f, f->renamed, name[0], sizeof name[0]);
	s_name(wr, f, !f->renamed, name[1], sizeof name[1]);
	struct stat st;
	bool here = ops->stat(fs, name[0], &st) == 0;
	bool there = f->either && ops->stat(fs, name[1], &st) == 0;
	if (f->gone || (f->uncertain && !f->either)) { /* unlinked, or maybe */
		if (f->gone && (here || ops->stat(fs, name[1], &st) == 0)) {
			snprintf(why, size, "%.200s: back after its unlink was acknowledged",
			         name[0]);
			return false;
		}
		if (!here)
			return true;
	} else if (!here && !there) {
		snprintf(why, size, "%.200s: missing (acknowledged, %u bytes)", name[0], f->len);
		return false;
	}
	const char *path = here ? name[0] : name[1];
	int fd = ops->open(fs, path, O_RDONLY, 0);
	ssize_t n = fd >= 0 ? ops->read(fs, fd, buf, S_LEN_MAX + 1) : -1;
	if (fd >= 0)
		ops->close(fs, fd);
	if (n < (ssize_t)f->len || n > (ssize_t)f->len_max) {
		snprintf(why, size, "%.200s: %zd bytes read, %u acknowledged", path, n, f->len);
		return false;
	}
	return s_bytes(wr, f, buf, n, path, zeros, why, size);
}

int drill_workload_verify(drill_workload *self, bool through_mount, drill_verdict *out)
{
	memset(out, 0, sizeof *out);
	if (through_mount && self->abandoned)
		return -EBUSY;
	const drill_fileops *ops = through_mount ? &drill_fileops_mount : &drill_fileops_libplexus;
	drill_fs *fs = ops->connect(self->root, "drill-verify");
	uint8_t *buf = malloc(S_LEN_MAX + 1);
	if (!fs || !buf) {
		int e = fs ? ENOMEM : errno;
		ops->disconnect(&fs);
		free(buf);
		return -e;
	}
	for (int i = 0; i < self->n; i++) {
		s_writer *wr = &self->writers[i];
		for (int k = 0; k < wr->nfiles; k++) {
			char why[256];
			bool zeros = false;
			out->files++;
			if (s_check(ops, fs, wr, &wr->files[k], buf, &zeros, why, sizeof why))
				out->verified++;
			else if (out->lost++ == 0)
				snprintf(out->first_loss, sizeof out->first_loss, "%s", why);
			out->zero_tails += zeros;
		}
	}
	free(buf);
	ops->disconnect(&fs);
	out->checked = true;
	return 0;
}

void drill_workload_free(drill_workload **self)
{
	if (!self || !*self)
		return;
	if (!(*self)->abandoned) /* else a writer's call may yet return into its memory */
		free((*self)->writers);
	free(*self);
	*self = NULL;
}

int drill_workload_clean(drill_workload *self)
{
	plexus_opts o;
	plexus_opts_init(&o);
	o.name = "drill-clean";
	plexus *px = plexus_connect(&o);
	if (!px)
		return -errno;
	int rc = 0;
	for (int i = 0; i < self->n; i++) {
		const char *dir = self->writers[i].dir;
		plexus_dir *d = plexus_opendir(px, dir);
		struct plexus_dirent *e;
		while (d && (e = plexus_readdir(d))) {
			char path[512];
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
			if (plexus_unlink(px, path) < 0)
				rc = -errno;
		}
		if (d)
			plexus_closedir(d);
		if (plexus_rmdir(px, dir) < 0)
			rc = -errno;
	}
	if (plexus_rmdir(px, self->dir) < 0)
		rc = -errno;
	plexus_disconnect(&px);
	return rc;
}
