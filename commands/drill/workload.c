/*
 * workload.c — the drill's writers and their journal (drill.h, docs/drills.md "The workload").
 *
 * Entry points: drill_workload_start, drill_workload_first_ok, drill_calls_after,
 * drill_workload_stop, drill_workload_verify, drill_workload_clean, drill_workload_free.
 *
 * Each writer is a libplexus client of its own with a directory DIR/wN. It repeats: create a
 * file fID of 1 byte to 16 KiB whose every byte follows from (writer, ID, offset), write it,
 * fsync, close; or append to one (O_APPEND, the bytes that follow, fsync); or rename a file fID
 * to rID and fsync the directory; or unlink one and fsync the directory. The journal, kept here
 * outside Plexus, records what was acknowledged: a file once its fsync returned 0, a rename or
 * unlink once the directory's fsync returned 0. A call that fails leaves its file uncertain in just
 * the way it could have ended (a rename: either name; an unlink: there or not; an append: any
 * length between), and the writer touches that file no more. In the end every acknowledged file
 * must be there whole under a name the journal allows, and every acknowledged unlink must have
 * stayed done.
 */
#include <errno.h>
#include <fcntl.h>
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

#define S_FILES   4096 /* files a writer makes at most; then it only renames and unlinks */
#define S_LEN_MAX (16 * 1024)

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
	plexus *px;
	pthread_t thread;
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
	int n;
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

static uint8_t s_byte(int writer, uint32_t id, uint32_t off)
{
	uint32_t x = (uint32_t)writer * 2654435761u ^ id * 40503u ^ off * 2246822519u;
	return (uint8_t)(x ^ x >> 13 ^ x >> 24);
}

static void s_name(const s_writer *wr, const s_file *f, bool renamed, char *out, size_t size)
{
	snprintf(out, size, "%s/%c%u", wr->dir, renamed ? 'r' : 'f', f->id);
}

/* Counts a call's outcome (rc < 0: it failed with errno). Returns rc. */
static int s_slice(int64_t ms)
{
	int64_t i = ms / DRILL_SLICE_MS;
	return i < 0 ? 0 : i >= DRILL_SLICES ? DRILL_SLICES - 1 : (int)i;
}

static int s_count(s_writer *wr, int rc)
{
	if (rc >= 0) {
		wr->counts.ops++;
		int64_t now = drill_ms(), since = atomic_load(&wr->w->since), none = -1;
		wr->counts.ok_at[s_slice(now)]++;
		if (since >= 0 && now >= since)
			atomic_compare_exchange_strong(&wr->w->first_ok, &none, (long long)now);
		return rc;
	}
	int e = errno;
	wr->counts.errors++;
	wr->counts.failed_at[s_slice(drill_ms())]++;
	wr->counts.by_errno[e > 0 && e < DRILL_ERRNO_MAX ? e : 0]++;
	if (e == ETIMEDOUT)
		wr->counts.hung++;
	return rc;
}

/* fsync of the writer's directory, opened afresh as most programs do: a loss of a change in
 * it is reported to every description until one has reported it (docs/using.md). */
static int s_sync_dir(s_writer *wr)
{
	int fd = s_count(wr, plexus_open(wr->px, wr->dir, O_RDONLY | O_DIRECTORY));
	if (fd < 0)
		return -1;
	int rc = s_count(wr, plexus_fsync(wr->px, fd));
	plexus_close(wr->px, fd);
	return rc;
}

static void s_create(s_writer *wr)
{
	if (wr->nfiles == S_FILES)
		return;
	s_file f = {.id = wr->next_id++, .len = 1 + (uint32_t)rand_r(&wr->seed) % S_LEN_MAX};
	char path[300];
	s_name(wr, &f, false, path, sizeof path);
	for (uint32_t i = 0; i < f.len; i++)
		wr->buf[i] = s_byte(wr->index, f.id, i);
	int fd = s_count(wr, plexus_open(wr->px, path, O_CREAT | O_WRONLY | O_TRUNC, 0644));
	if (fd < 0)
		return;
	bool ok = s_count(wr, (int)plexus_write(wr->px, fd, wr->buf, f.len)) == (int)f.len &&
	          s_count(wr, plexus_fsync(wr->px, fd)) == 0;
	plexus_close(wr->px, fd);
	f.len_max = f.len;
	if (ok) /* acknowledged: on the disk whatever happens next */
		wr->files[wr->nfiles++] = f;
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

/* Appends to a file (O_APPEND) the bytes that follow its content, then fsync. */
static void s_append(s_writer *wr)
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
	int fd = s_count(wr, plexus_open(wr->px, path, O_WRONLY | O_APPEND));
	if (fd < 0)
		return;
	bool ok = s_count(wr, (int)plexus_write(wr->px, fd, wr->buf, add)) == (int)add &&
	          s_count(wr, plexus_fsync(wr->px, fd)) == 0;
	plexus_close(wr->px, fd);
	if (ok)
		f->len = f->len_max = f->len + add;
	else
		f->len_max = f->len + add; /* somewhere between; the writer leaves it */
}

static void s_rename(s_writer *wr)
{
	s_file *f = s_pick(wr, true);
	if (!f)
		return;
	char from[300], to[300];
	s_name(wr, f, false, from, sizeof from);
	s_name(wr, f, true, to, sizeof to);
	bool ok = s_count(wr, plexus_rename(wr->px, from, to)) == 0 && s_sync_dir(wr) == 0;
	if (ok)
		f->renamed = true;
	else
		f->uncertain = f->either = true;
}

static void s_unlink(s_writer *wr)
{
	s_file *f = s_pick(wr, false);
	if (!f)
		return;
	char path[300];
	s_name(wr, f, f->renamed, path, sizeof path);
	bool ok = s_count(wr, plexus_unlink(wr->px, path)) == 0 && s_sync_dir(wr) == 0;
	if (ok)
		f->gone = true;
	else
		f->uncertain = true;
}

static void *s_writer_main(void *arg)
{
	s_writer *wr = arg;
	while (!atomic_load(&wr->w->stop)) {
		int r = rand_r(&wr->seed) % 10;
		uint64_t errors = wr->counts.errors;
		if (r < 5)
			s_create(wr);
		else if (r < 7)
			s_append(wr);
		else if (r < 9)
			s_rename(wr);
		else
			s_unlink(wr);
		if (wr->counts.errors != errors)
			usleep(20 * 1000); /* the system is recovering: do not spin */
	}
	return NULL;
}

static plexus *s_client(const char *name)
{
	plexus_opts o;
	plexus_opts_init(&o);
	o.name = name;
	o.timeout_ms = 30000; /* longer than any recovery: what takes longer hung */
	return plexus_connect(&o);
}

drill_workload *drill_workload_start(const char *dir, int writers, unsigned seed)
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
	atomic_init(&w->since, -1);
	atomic_init(&w->first_ok, -1);
	plexus *px = s_client("drill");
	if (!px || (plexus_mkdir(px, dir, 0755) < 0 && errno != EEXIST)) {
		int e = errno;
		plexus_disconnect(&px);
		drill_workload_free(&w);
		errno = e;
		return NULL;
	}
	for (int i = 0; i < writers; i++) {
		s_writer *wr = &w->writers[i];
		*wr = (s_writer){.w = w, .index = i, .seed = seed * 7919u + (unsigned)i};
		snprintf(wr->dir, sizeof wr->dir, "%s/w%d", dir, i);
		if (plexus_mkdir(px, wr->dir, 0755) < 0 && errno != EEXIST)
			break;
		if (!(wr->px = s_client("drill-writer")) ||
		    pthread_create(&wr->thread, NULL, s_writer_main, wr) != 0) {
			plexus_disconnect(&wr->px);
			break;
		}
		w->n++;
	}
	int e = errno;
	plexus_disconnect(&px);
	if (w->n < writers) {
		static drill_counts unused; /* the writers that started stop; nothing to report */
		drill_workload_stop(w, &unused);
		drill_workload_free(&w);
		errno = e ? e : EIO;
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

void drill_workload_stop(drill_workload *self, drill_counts *counts)
{
	atomic_store(&self->stop, true);
	memset(counts, 0, sizeof *counts);
	for (int i = 0; i < self->n; i++) {
		s_writer *wr = &self->writers[i];
		if (wr->px) {
			pthread_join(wr->thread, NULL);
			plexus_disconnect(&wr->px);
		}
		counts->ops += wr->counts.ops;
		counts->errors += wr->counts.errors;
		counts->hung += wr->counts.hung;
		for (int e = 0; e < DRILL_ERRNO_MAX; e++)
			counts->by_errno[e] += wr->counts.by_errno[e];
		for (int k = 0; k < DRILL_SLICES; k++) {
			counts->ok_at[k] += wr->counts.ok_at[k];
			counts->failed_at[k] += wr->counts.failed_at[k];
		}
	}
}

/* Checks one acknowledged file; false with why set when it is not as the journal says. */
static bool s_check(plexus *px, s_writer *wr, const s_file *f, uint8_t *buf, char *why, size_t size)
{
	char name[2][300];
	s_name(wr, f, f->renamed, name[0], sizeof name[0]);
	s_name(wr, f, !f->renamed, name[1], sizeof name[1]);
	struct stat st;
	bool here = plexus_stat(px, name[0], &st) == 0;
	bool there = f->either && plexus_stat(px, name[1], &st) == 0;
	if (f->gone || (f->uncertain && !f->either)) { /* unlinked, or maybe */
		if (f->gone && (here || plexus_stat(px, name[1], &st) == 0)) {
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
	int fd = plexus_open(px, path, O_RDONLY);
	ssize_t n = fd >= 0 ? plexus_read(px, fd, buf, S_LEN_MAX + 1) : -1;
	if (fd >= 0)
		plexus_close(px, fd);
	if (n < (ssize_t)f->len || n > (ssize_t)f->len_max) {
		snprintf(why, size, "%.200s: %zd bytes read, %u acknowledged", path, n, f->len);
		return false;
	}
	for (uint32_t i = 0; i < (uint32_t)n; i++)
		if (buf[i] != s_byte(wr->index, f->id, i)) {
			snprintf(why, size, "%.200s: byte %u is not what was written", path, i);
			return false;
		}
	return true;
}

int drill_workload_verify(drill_workload *self, drill_verdict *out)
{
	memset(out, 0, sizeof *out);
	plexus *px = s_client("drill-verify");
	uint8_t *buf = malloc(S_LEN_MAX + 1);
	if (!px || !buf) {
		int e = px ? ENOMEM : errno;
		plexus_disconnect(&px);
		free(buf);
		return -e;
	}
	for (int i = 0; i < self->n; i++) {
		s_writer *wr = &self->writers[i];
		for (int k = 0; k < wr->nfiles; k++) {
			char why[256];
			out->files++;
			if (s_check(px, wr, &wr->files[k], buf, why, sizeof why))
				out->verified++;
			else if (out->lost++ == 0)
				snprintf(out->first_loss, sizeof out->first_loss, "%s", why);
		}
	}
	free(buf);
	plexus_disconnect(&px);
	return 0;
}

void drill_workload_free(drill_workload **self)
{
	if (!self || !*self)
		return;
	free((*self)->writers);
	free(*self);
	*self = NULL;
}

int drill_workload_clean(drill_workload *self)
{
	plexus *px = s_client("drill-clean");
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
