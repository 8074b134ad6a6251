/*
 * bench-crash.c — `plexus bench crash`: a crash-point soak of the file system stack
 * (docs/performance.md "bench crash").
 *
 * Entry points: plx_bench_crash.
 *
 * It boots a private single-machine Plexus with `plexus up --no-tour` (etcd on a free port, a
 * state directory of its own, removed at the end), then repeats rounds: W writers, each with
 * its own libplexus handle and directory under /data, create, append, rename, unlink, fsync
 * (files and directories) and sync; at a random instant the writers are told to stop and
 * plexus-mfs of /data, its driver (plexus-vdisk) or both are SIGKILLed (or SIGSTOPped, then
 * SIGKILLed); RS restores them. A host journal (each writer's model) records every
 * acknowledged state: after the restore each writer's files (names, sizes, every byte) must
 * equal one of its states from the last fsync or sync that returned to the request in flight
 * when it stopped — the journal commits whole states (docs/mfs.md "Guarantees") — or one of
 * them with its last call applied, which may have straddled the kill. Each writer
 * appends through one O_APPEND descriptor it keeps open across rounds, and so across kills:
 * when its file is in the state found, the next append must land at that state's end; when
 * the restore took the file's creation back, a write through it must fail EIO (docs/vfs.md
 * "A restarted file server"). Then a sync, and `fsck.minix -f` on a copy of the image.
 * Violations: a state the journal does not allow, such a descriptor that writes, an fsck that
 * is not clean, a call that hung (no answer within 60 s). On one, the state directory, the
 * services' logs, the image as found and the writer's states are kept (`--keep` keeps them
 * always). Recovery time: from the kill to the first call that works on a new generation. The
 * baseline: RS's restart of a service with no file system (plexus-log), measured in the same
 * run. With --spare the driver is declared with a warm spare (`spare = same`): a kill of it is
 * met by the spare's activation when one is ready, and the report counts them from RS's log.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <plexus/endpoint.h>
#include <plexus/etcd.h>
#include <plexus/plexus.h>

#include "bench.h"
#include "bench_crash.h"

#define S_DIRS    2
#define S_NAMES   6
#define S_SLOTS   (S_DIRS * S_NAMES)
#define S_MAXLEN  (24 * 1024)
#define S_STATES  8192
#define S_WRITERS 64
#define S_HUNG_MS 60000

/* A file of the model: byte o is s_pat(id, o), but from tail_at on s_pat(id, tail_from + o -
 * tail_at) (tail_at == tail_from: no tail): an append that straddled a restart landed at the
 * end the restore left, with the bytes meant for the end before it. */
typedef struct s_file {
	uint32_t id, len; /* id 0: empty slot */
	uint32_t tail_at, tail_from;
} s_file;

/* A writer's last call, which may have straddled the kill: sent to the dead instance, it
 * reached the restored one (a path looked up before, a descriptor kept: the call applies to
 * the restored state, not after the calls the restore took back). */
typedef struct s_op {
	char kind; /* 'c'reate, 'a'ppend, 'r'ename, 'u'nlink; 0: none that changes anything */
	int slot, to;
	uint32_t id, n, at; /* create: id; append: file id, bytes, the model's length before */
} s_op;

typedef struct s_state {
	s_file f[S_SLOTS];
} s_state;

typedef struct s_writer {
	plexus *px;
	int index;
	char dir[64];
	s_state cur, *cand;
	size_t ncand;
	s_op last;
	uint32_t next_id;
	unsigned seed;
	volatile bool *stop;
	int held_fd, held_slot; /* an O_APPEND descriptor kept across rounds and kills, or -1 */
	uint32_t held_id;       /* the file it was opened on */
	int hung;
	uint64_t ops;
	pthread_t thread;
} s_writer;

typedef struct s_opts {
	int iterations, writers;
	unsigned seed;
	bool json, targets[3]; /* mfs, driver, both */
	bool self_test, keep;
	bool spare; /* the driver runs with a warm spare: its kills are activations */
} s_opts;

typedef struct s_bench {
	s_opts o;
	char dir[PATH_MAX], state[PATH_MAX + 8], image[PATH_MAX + 32], exe[PATH_MAX];
	char etcd_url[256];
	plx_etcd *etcd;
	s_writer w[S_WRITERS];
	volatile bool stop;
	int violations;
	int driver_kills; /* rounds that killed the driver (alone or with mfs) */
	bench_samples *recovery, *baseline;
} s_bench;

static volatile sig_atomic_t s_interrupted; /* SIGINT/SIGTERM: finish the round, clean up */

static void s_on_signal(int sig)
{
	s_interrupted = sig;
}

static int64_t s_now_ms(void)
{
	return (int64_t)(bench_now_ns() / 1000000);
}

static uint8_t s_pat(uint32_t id, uint64_t off)
{
	return (uint8_t)(((off + 3) * 2654435761u) >> 11 ^ id * 151u);
}

/* ---- the writers and their journal ---- */

static void s_path(const s_writer *w, int slot, char *out, size_t size)
{
	snprintf(out, size, "%s/d%d/f%d", w->dir, slot / S_NAMES, slot % S_NAMES);
}

static void s_push(s_writer *w, const s_state *st)
{
	if (w->ncand < S_STATES)
		w->cand[w->ncand++] = *st;
}

static void s_synced(s_writer *w)
{
	w->cand[0] = w->cur;
	w->ncand = 1;
}

static int s_err(s_writer *w, int rc)
{
	if (rc < 0 && errno == ETIMEDOUT)
		w->hung++;
	return rc < 0 ? -errno : rc;
}

static int s_create(s_writer *w, int slot, s_state *next)
{
	char p[128];
	s_path(w, slot, p, sizeof p);
	w->last = (s_op){.kind = 'c', .slot = slot, .id = w->next_id};
	next->f[slot] = (s_file){.id = w->next_id++};
	s_push(w, next);
	int fd = plexus_open(w->px, p, O_WRONLY | O_CREAT | O_EXCL, 0644);
	return fd < 0 ? s_err(w, -1) : s_err(w, plexus_close(w->px, fd));
}

/* Closes the descriptor kept open, if any. */
static void s_held_close(s_writer *w)
{
	if (w->held_fd >= 0)
		plexus_close(w->px, w->held_fd);
	w->held_fd = w->held_slot = -1;
}

/* The O_APPEND descriptor of slot's file (id): the one kept open, or a new one kept from now
 * on. -1 when the open fails. */
static int s_append_fd(s_writer *w, int slot, uint32_t id)
{
	if (w->held_fd >= 0 && w->held_slot == slot)
		return w->held_fd;
	s_held_close(w);
	char p[128];
	s_path(w, slot, p, sizeof p);
	int fd = plexus_open(w->px, p, O_WRONLY | O_APPEND);
	if (fd >= 0) {
		w->held_fd = fd;
		w->held_slot = slot;
		w->held_id = id;
	}
	return fd;
}

/* Appends through a descriptor kept open across rounds (and so across kills): its writes must
 * go to the end of the file as the restored state has it. */
static int s_append(s_writer *w, int slot, s_state *next)
{
	s_file *f = &next->f[slot];
	uint32_t n = 1 + (uint32_t)(rand_r(&w->seed) % 5000);
	if (f->len + n > S_MAXLEN || f->tail_at != f->tail_from)
		return 0; /* full, or with a tail: no second one */
	uint8_t buf[5000];
	for (uint32_t i = 0; i < n; i++)
		buf[i] = s_pat(f->id, f->len + i);
	int fd = s_append_fd(w, slot, f->id);
	if (fd < 0)
		return s_err(w, -1);
	w->last = (s_op){.kind = 'a', .id = f->id, .n = n, .at = f->len};
	f->len += n;
	s_push(w, next);
	ssize_t put = plexus_write(w->px, fd, buf, n);
	int rc = put == (ssize_t)n ? 0 : put < 0 ? s_err(w, -1) : -EIO;
	if (rc < 0)
		s_held_close(w); /* the next append opens the file afresh */
	return rc;
}

static int s_rename(s_writer *w, int from, s_state *next)
{
	int to = rand_r(&w->seed) % S_SLOTS;
	if (to == from)
		return 0;
	if (w->held_slot == from || w->held_slot == to)
		s_held_close(w); /* the descriptor kept names the file at its slot */
	char a[128], b[128];
	s_path(w, from, a, sizeof a);
	s_path(w, to, b, sizeof b);
	w->last = (s_op){.kind = 'r', .slot = from, .to = to};
	next->f[to] = next->f[from];
	next->f[from] = (s_file){0};
	s_push(w, next);
	return s_err(w, plexus_rename(w->px, a, b));
}

static int s_unlink(s_writer *w, int slot, s_state *next)
{
	if (w->held_slot == slot)
		s_held_close(w);
	char p[128];
	s_path(w, slot, p, sizeof p);
	w->last = (s_op){.kind = 'u', .slot = slot};
	next->f[slot] = (s_file){0};
	s_push(w, next);
	return s_err(w, plexus_unlink(w->px, p));
}

/* fsync of a file, of a directory, or a sync: the state is then the synced one. */
static int s_sync(s_writer *w, int slot, int kind)
{
	if (kind == 2)
		return s_err(w, plexus_sync(w->px));
	char p[128];
	if (kind == 1)
		snprintf(p, sizeof p, "%s/d%d", w->dir, slot / S_NAMES);
	else
		s_path(w, slot, p, sizeof p);
	int fd = plexus_open(w->px, p, O_RDONLY);
	if (fd < 0)
		return s_err(w, -1);
	int rc = s_err(w, plexus_fsync(w->px, fd));
	plexus_close(w->px, fd);
	return rc;
}

static int s_step(s_writer *w)
{
	int slot = rand_r(&w->seed) % S_SLOTS, k = rand_r(&w->seed) % 100;
	bool full = w->cur.f[slot].id != 0;
	s_state next = w->cur;
	bool sync = full ? k >= 90 : k >= 95;
	int rc;
	if (sync)
		rc = s_sync(w, slot, full ? (k >= 98 ? 2 : k >= 95 ? 1 : 0) : 1);
	else if (!full)
		rc = s_create(w, slot, &next);
	else if (k < 55)
		rc = s_append(w, slot, &next);
	else if (k < 75)
		rc = s_rename(w, slot, &next);
	else
		rc = s_unlink(w, slot, &next);
	if (rc < 0)
		return rc;
	w->cur = next;
	w->ops++;
	/* A sync that may have straddled the kill confirms nothing: answered by the restored
	 * instance, it reports the losses of its own file (fsync) or of none (sync), not those
	 * of the writer's other files (using.md "Durability"); they stay possible states. */
	if (sync && !*w->stop)
		s_synced(w);
	return 0;
}

static void *s_writer_loop(void *arg)
{
	s_writer *w = arg;
	while (!*w->stop && s_step(w) == 0)
		;
	return NULL;
}

/* ---- checking ---- */

/* The writer's files as read back (bytes: S_SLOTS * S_MAXLEN); -1 with why when a call fails. */
static int s_read_back(s_writer *w, s_state *got, uint8_t *bytes, char *why, size_t size)
{
	memset(got, 0, sizeof *got);
	for (int s = 0; s < S_SLOTS; s++) {
		char p[128];
		s_path(w, s, p, sizeof p);
		int fd = plexus_open(w->px, p, O_RDONLY);
		if (fd < 0 && errno == ENOENT)
			continue;
		ssize_t n =
		    fd < 0 ? -1 : plexus_read(w->px, fd, bytes + (size_t)s * S_MAXLEN, S_MAXLEN);
		int e = errno;
		if (fd >= 0)
			plexus_close(w->px, fd);
		if (n < 0) {
			snprintf(why, size, "%s: %s", p, strerror(e));
			if (e == ETIMEDOUT)
				w->hung++;
			return -1;
		}
		got->f[s] = (s_file){.id = UINT32_MAX, .len = (uint32_t)n};
	}
	return 0;
}

/* Byte o of model file f. */
static uint8_t s_byte(const s_file *f, uint32_t o)
{
	return s_pat(f->id, o < f->tail_at ? o : f->tail_from + (o - f->tail_at));
}

static bool s_matches(const s_state *c, const s_state *got, const uint8_t *bytes)
{
	for (int s = 0; s < S_SLOTS; s++) {
		if ((c->f[s].id != 0) != (got->f[s].id != 0) || c->f[s].len != got->f[s].len)
			return false;
		for (uint32_t i = 0; i < c->f[s].len; i++)
			if (bytes[(size_t)s * S_MAXLEN + i] != s_byte(&c->f[s], i))
				return false;
	}
	return true;
}

static int s_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int s_sh(const char *fmt, ...)
{
	char cmd[4 * PATH_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* One line per slot of st: "slot id len" (id 0: no file; -1: as read back). */
static void s_dump_state(FILE *f, const s_state *st)
{
	for (int s = 0; s < S_SLOTS; s++)
		if (st->f[s].id)
			fprintf(f, " %d:%d/%u", s,
			        st->f[s].id == UINT32_MAX ? -1 : (int)st->f[s].id, st->f[s].len);
	fputc('\n', f);
}

/* The first byte of slot s that differs from state c's file there, or -1. */
static long s_first_bad(const s_state *c, int s, const uint8_t *bytes, uint32_t len)
{
	for (uint32_t i = 0; i < len && i < c->f[s].len; i++)
		if (bytes[(size_t)s * S_MAXLEN + i] != s_byte(&c->f[s], i))
			return (long)i;
	return -1;
}

/* A violation's evidence in DIR/violation-rROUND-wW.txt: what was read back, and each state
 * the journal allowed with how the files differ from it. */
static void s_dump(s_bench *b, s_writer *w, int round, const s_state *got, const uint8_t *bytes)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/violation-r%d-w%d.txt", b->dir, round, w->index);
	FILE *f = fopen(path, "w");
	if (!f)
		return;
	fprintf(f, "read back (slot:id/len, id -1):");
	s_dump_state(f, got);
	for (size_t i = 0; i < w->ncand; i++) {
		fprintf(f, "state %zu:", i);
		s_dump_state(f, &w->cand[i]);
		for (int s = 0; s < S_SLOTS; s++) {
			long bad = got->f[s].id && w->cand[i].f[s].id
			               ? s_first_bad(&w->cand[i], s, bytes, got->f[s].len)
			               : -1;
			if (bad >= 0)
				fprintf(f, "  slot %d: first wrong byte at %ld\n", s, bad);
		}
	}
	fclose(f);
	if (!b->o.keep) /* the first one: the image as the violation left it, too */
		s_sh("cp --sparse=always '%s' '%s/violation-r%d.img'", b->image, b->dir, round);
	fprintf(stderr, "bench crash: the evidence is in %s\n", path);
	b->o.keep = true;
}

/* The slot of file id in st, or -1. */
static int s_slot_of(const s_state *st, uint32_t id)
{
	for (int s = 0; s < S_SLOTS; s++)
		if (st->f[s].id == id)
			return s;
	return -1;
}

/* The descriptor w kept open, after the state found: when its file is there (at its slot, or
 * at another when the restore took a rename back) it goes on, and its next append must land
 * at the file's end; when the restore took the file's creation back, a write through it must
 * fail EIO and change nothing (its inode number may be another file's now). */
static bool s_check_held(s_bench *b, s_writer *w, int round, const char *target)
{
	int at = w->held_fd < 0 ? -1 : s_slot_of(&w->cur, w->held_id);
	if (at >= 0)
		w->held_slot = at; /* a rename the restore took back moves it */
	if (w->held_fd < 0 || at >= 0)
		return true;
	errno = 0;
	ssize_t n = plexus_write(w->px, w->held_fd, "X", 1);
	int e = errno, slot = w->held_slot;
	s_held_close(w);
	if (n < 0 && e == EIO)
		return true;
	fprintf(stderr,
	        "violation: round %d (%s): writer %d: the descriptor of file %u (slot %d), which "
	        "the restore took back, %s\n",
	        round, target, w->index, w->held_id, slot, n >= 0 ? "wrote" : strerror(e));
	b->violations++;
	return false;
}

/* State in with op applied as the restored instance would (by name: a name that is not
 * there, or is taken for a create, changes nothing; an append goes to its file wherever a
 * taken-back rename left it, at that file's end). Returns false when nothing changes. */
static bool s_straddle(const s_op *op, const s_state *in, s_state *out)
{
	*out = *in;
	s_file *f = op->kind == 'a' ? NULL : &out->f[op->slot];
	switch (op->kind) {
	case 'c':
		if (f->id)
			return false;
		*f = (s_file){.id = op->id};
		return true;
	case 'r':
		if (!f->id)
			return false;
		out->f[op->to] = *f;
		*f = (s_file){0};
		return true;
	case 'u':
		if (!f->id)
			return false;
		*f = (s_file){0};
		return true;
	case 'a': {
		int at = s_slot_of(out, op->id);
		if (at < 0 || out->f[at].tail_at != out->f[at].tail_from)
			return false;
		f = &out->f[at];
		if (f->len != op->at) { /* the bytes meant for op->at land at the restored end */
			f->tail_at = f->len;
			f->tail_from = op->at;
		}
		f->len += op->n;
		return f->len <= S_MAXLEN;
	}
	}
	return false;
}

/* Whether st matches what was read back, and is the best so far: the latest state matching
 * wins, but empty files of different ids read back alike, and a state that keeps the file of
 * w's descriptor is preferred (that file is there whenever one of them says so). */
static bool s_take(const s_writer *w, const s_state *st, const s_state *got, const uint8_t *bytes,
                   s_state *found, int *quality)
{
	if (*quality == 2 || !s_matches(st, got, bytes))
		return false;
	int q = w->held_fd < 0 || s_slot_of(st, w->held_id) >= 0 ? 2 : 1;
	if (q > *quality) {
		*found = *st;
		*quality = q;
	}
	return true;
}

/* The state of w's journal that what was read back matches, into *found: one of the states
 * since the last sync, or one of them with the writer's last call applied (it may have
 * straddled the kill). Returns false when none does. */
static bool s_match(const s_writer *w, const s_state *got, const uint8_t *bytes, s_state *found)
{
	int quality = 0;
	s_state alt;
	for (size_t i = w->ncand; i-- > 0;) {
		s_take(w, &w->cand[i], got, bytes, found, &quality);
		if (i + 1 < w->ncand && s_straddle(&w->last, &w->cand[i], &alt))
			s_take(w, &alt, got, bytes, found, &quality);
	}
	return quality > 0;
}

/* Checks writer w against its journal; the journal goes on from the state found. */
static bool s_check(s_bench *b, s_writer *w, int round, const char *target)
{
	s_state got;
	uint8_t *bytes = malloc((size_t)S_SLOTS * S_MAXLEN);
	char why[300] = "no state of the journal matches";
	bool ok = bytes && s_read_back(w, &got, bytes, why, sizeof why) == 0;
	s_state found;
	bool match = ok && s_match(w, &got, bytes, &found);
	if (ok && !match)
		s_dump(b, w, round, &got, bytes);
	free(bytes);
	if (!match) {
		fprintf(
		    stderr,
		    "violation: round %d (%s): writer %d: lost or corrupt acknowledged data: %s "
		    "(%zu states since its last sync)\n",
		    round, target, w->index, why, w->ncand);
		b->violations++;
		s_held_close(w);
		return false;
	}
	w->cur = found;
	s_synced(w);
	return s_check_held(b, w, round, target);
}

/* fsck.minix -f on a copy of the image taken after a sync, with nobody writing (damaged on
 * purpose first when damage: the self-test of the check). */
static void s_fsck(s_bench *b, int round, bool damage)
{
	/* EIO once after a kill: VFS reporting the changes the killed instance took with it
	 * (the writers' checks above allowed for them); the sync was done all the same */
	if (plexus_sync(b->w[0].px) < 0 && (errno != EIO || plexus_sync(b->w[0].px) < 0))
		fprintf(stderr, "bench crash: round %d: sync: %s\n", round, strerror(errno));
	if (s_sh("cp --sparse=always '%s' '%s/copy.img'", b->image, b->dir) != 0 ||
	    (damage && s_sh("printf '\\377\\377\\377\\377' | dd of='%s/copy.img' bs=1 "
	                    "seek=%d conv=notrunc 2>/dev/null",
	                    b->dir, 1024 + 20) != 0) ||
	    s_sh("fsck.minix -f '%s/copy.img' > '%s/fsck.out' 2>&1", b->dir, b->dir) != 0) {
		fprintf(stderr, "violation: round %d: fsck.minix -f is not clean:\n", round);
		s_sh("cat '%s/fsck.out' >&2", b->dir);
		b->violations++;
	}
}

/* ---- the system under test ---- */

static long s_pid(s_bench *b, const char *label, uint64_t *gen)
{
	plx_endpoint_rec rec;
	if (plx_endpoint_lookup(b->etcd, "default", label, &rec) < 0)
		return 0;
	*gen = rec.generation;
	return (long)rec.pid;
}

/* Waits until label is published with a generation above gen and, for the file system, a
 * call works again. Returns the milliseconds since t0, or -1 after S_HUNG_MS. */
static int64_t s_wait_back(s_bench *b, const char *label, uint64_t gen, int64_t t0, bool fs)
{
	struct stat st;
	for (;;) {
		uint64_t g = 0;
		if (s_pid(b, label, &g) && g > gen &&
		    (!fs || plexus_stat(b->w[0].px, "/data", &st) == 0))
			return s_now_ms() - t0;
		if (s_now_ms() - t0 > S_HUNG_MS)
			return -1;
		usleep(5 * 1000);
	}
}

/* One kill of target (0 mfs, 1 driver, 2 both), maybe after a SIGSTOP. Returns the recovery
 * time or -1. */
static int64_t s_kill(s_bench *b, int target, unsigned *seed)
{
	const char *labels[2] = {"mfs-data", "vdisk"};
	uint64_t gen[2] = {0, 0};
	long pid[2] = {0, 0};
	for (int i = 0; i < 2; i++)
		if (target == 2 || target == i)
			pid[i] = s_pid(b, labels[i], &gen[i]);
	b->driver_kills += target != 0;
	bool stop_first = rand_r(seed) % 4 == 0;
	for (int i = 0; i < 2; i++)
		if (pid[i] > 0 && stop_first)
			kill((pid_t)pid[i], SIGSTOP);
	if (stop_first)
		usleep((useconds_t)(rand_r(seed) % 300) * 1000);
	int64_t t0 = s_now_ms();
	for (int i = 0; i < 2; i++)
		if (pid[i] > 0)
			kill((pid_t)pid[i], SIGKILL);
	int64_t worst = 0;
	for (int i = 0; i < 2; i++)
		if (pid[i] > 0) {
			int64_t t = s_wait_back(b, labels[i], gen[i], t0, true);
			if (t < 0)
				return -1;
			worst = t > worst ? t : worst;
		}
	return worst;
}

/* The baseline: RS restarting plexus-log (no file system behind it). */
static void s_baseline(s_bench *b)
{
	uint64_t gen = 0;
	long pid = s_pid(b, "log", &gen);
	if (pid <= 0)
		return;
	int64_t t0 = s_now_ms();
	kill((pid_t)pid, SIGKILL);
	int64_t t = s_wait_back(b, "log", gen, t0, false);
	if (t >= 0)
		bench_samples_add(b->baseline, (double)t);
}

static int s_boot(s_bench *b)
{
	char tmpl[] = "/tmp/plexus-crash-XXXXXX";
	if (!mkdtemp(tmpl))
		return -errno;
	snprintf(b->dir, sizeof b->dir, "%s", tmpl);
	snprintf(b->state, sizeof b->state, "%s/state", b->dir);
	snprintf(b->image, sizeof b->image, "%s/data.img", b->state);
	ssize_t n = readlink("/proc/self/exe", b->exe, sizeof b->exe - 1);
	if (n < 0)
		return -errno;
	b->exe[n] = '\0';
	/* RS's backoff resets after a run as long as its cap: a short cap, so that a kill every
	 * second or two is met by an immediate restart each time, not a growing wait */
	if (s_sh("'%s' up --state-dir '%s' --port auto --no-tour --quiet "
	         "--service-option backoff=50ms --service-option backoff_cap=200ms "
	         "--service-option max_restarts=0 %s > '%s/up.log' "
	         "2>&1",
	         b->exe, b->state, b->o.spare ? "--service-option vdisk:spare=same" : "",
	         b->dir) != 0) {
		fprintf(stderr, "bench crash: plexus up failed (see %s/up.log)\n", b->dir);
		return -EIO;
	}
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/state", b->state);
	FILE *f = fopen(path, "r");
	if (!f || fscanf(f, "etcd %255s", b->etcd_url) != 1) {
		if (f)
			fclose(f);
		return -EIO;
	}
	fclose(f);
	snprintf(path, sizeof path, "%s/keys/root.pub", b->state);
	if (access(path, F_OK) == 0) { /* up is secured by default: its keys, for every client */
		snprintf(path, sizeof path, "%s/keys", b->state);
		setenv("PLEXUS_KEYS", path, 1);
	}
	b->etcd = plx_etcd_new(&(plx_etcd_opts){.endpoints = b->etcd_url});
	return b->etcd ? 0 : -ENOMEM;
}

static int s_writers_start(s_bench *b)
{
	plexus_opts po;
	plexus_opts_init(&po);
	po.etcd = b->etcd_url;
	po.timeout_ms = S_HUNG_MS;
	for (int i = 0; i < b->o.writers; i++) {
		s_writer *w = &b->w[i];
		char name[32];
		snprintf(name, sizeof name, "crash-w%d", i);
		po.name = name;
		*w = (s_writer){.index = i,
		                .held_fd = -1,
		                .held_slot = -1,
		                .next_id = 1,
		                .seed = b->o.seed + (unsigned)i * 7919,
		                .stop = &b->stop};
		w->cand = calloc(S_STATES, sizeof *w->cand);
		if (!w->cand || !(w->px = plexus_connect(&po)))
			return -ENOMEM;
		snprintf(w->dir, sizeof w->dir, "/data/crash-w%d", i);
		char d[96];
		int rc = plexus_mkdir(w->px, w->dir, 0755);
		for (int k = 0; rc == 0 && k < S_DIRS; k++) {
			snprintf(d, sizeof d, "%s/d%d", w->dir, k);
			rc = plexus_mkdir(w->px, d, 0755);
		}
		if (rc < 0 || plexus_sync(w->px) < 0)
			return -errno;
		s_synced(w);
	}
	return 0;
}

static void s_teardown(s_bench *b)
{
	for (int i = 0; i < S_WRITERS; i++) {
		plexus_disconnect(&b->w[i].px);
		free(b->w[i].cand);
	}
	plx_etcd_destroy(&b->etcd);
	if (b->dir[0]) {
		s_sh("'%s' down --state-dir '%s' > /dev/null 2>&1", b->exe, b->state);
		if (b->o.keep)
			fprintf(stderr, "bench crash: kept %s (the services' logs in state/logs)\n",
			        b->dir);
		else
			s_sh("rm -rf '%s'", b->dir);
	}
}

/* ---- the rounds ---- */

static const char *const s_target_names[3] = {"mfs", "driver", "both"};

/* The next target among those asked for. */
static int s_pick(const s_bench *b, unsigned *seed)
{
	for (;;) {
		int t = rand_r(seed) % 3;
		if (b->o.targets[t])
			return t;
	}
}

static void s_round(s_bench *b, int round, unsigned *seed)
{
	b->stop = false;
	for (int i = 0; i < b->o.writers; i++)
		b->w[i].last = (s_op){0};
	for (int i = 0; i < b->o.writers; i++)
		pthread_create(&b->w[i].thread, NULL, s_writer_loop, &b->w[i]);
	usleep((useconds_t)(30 + rand_r(seed) % 600) * 1000);
	b->stop = true;
	int target = s_pick(b, seed);
	int64_t took = s_kill(b, target, seed);
	for (int i = 0; i < b->o.writers; i++)
		pthread_join(b->w[i].thread, NULL);
	if (took < 0) {
		fprintf(stderr, "violation: round %d (%s): not back within %d s\n", round,
		        s_target_names[target], S_HUNG_MS / 1000);
		b->violations++;
	} else {
		bench_samples_add(b->recovery, (double)took);
	}
	for (int i = 0; i < b->o.writers; i++) {
		if (b->w[i].hung) {
			fprintf(stderr, "violation: round %d: writer %d: %d calls hung\n", round, i,
			        b->w[i].hung);
			b->violations++;
			b->w[i].hung = 0;
		}
		s_check(b, &b->w[i], round, s_target_names[target]);
	}
	s_fsck(b, round, b->o.self_test && round == 0);
	if (round % 10 == 0)
		s_baseline(b);
}

/* How many times RS's log says a warm spare of vdisk was activated. */
static int s_activations(const s_bench *b)
{
	char path[PATH_MAX + 32], line[1024];
	snprintf(path, sizeof path, "%s/logs/rs.log", b->state);
	FILE *f = fopen(path, "re");
	int n = 0;
	while (f && fgets(line, sizeof line, f))
		n += strstr(line, "vdisk: warm spare generation") && strstr(line, " activated");
	if (f)
		fclose(f);
	return n;
}

static void s_report(s_bench *b, int rounds, uint64_t ops)
{
	int activations = b->o.spare ? s_activations(b) : 0;
	if (b->o.spare && activations == 0 && b->driver_kills >= 3) {
		fprintf(stderr, "bench crash: --spare, yet no kill of the driver activated "
		                "its spare: the spare's path was not tested\n");
		b->violations++;
	}
	bench_report *r = bench_report_new("crash");
	bench_report_add(r, "violations", "count", b->violations, "zero violations", 0, true);
	double base = bench_samples_percentile(b->baseline, 50);
	const char *bl = "RS restarting plexus-log (no file system)";
	bench_report_add(r, "recovery_p50", "ms", bench_samples_percentile(b->recovery, 50), bl,
	                 base, true);
	bench_report_add(r, "recovery_p90", "ms", bench_samples_percentile(b->recovery, 90), bl,
	                 bench_samples_percentile(b->baseline, 90), true);
	bench_report_add(r, "recovery_p99", "ms", bench_samples_percentile(b->recovery, 99), bl,
	                 bench_samples_percentile(b->baseline, 99), true);
	bench_report_add(r, "recovery_max", "ms", bench_samples_percentile(b->recovery, 100), bl,
	                 bench_samples_percentile(b->baseline, 100), true);
	if (!b->o.json)
		printf("plexus bench crash: %d iterations, %d writers, %llu requests acknowledged, "
		       "%d violations\n",
		       rounds, b->o.writers, (unsigned long long)ops, b->violations);
	if (b->o.spare && !b->o.json)
		printf("plexus bench crash: the driver was killed %d times, its warm spare "
		       "activated %d times\n",
		       b->driver_kills, activations);
	bench_report_print(r, b->o.json);
	bench_report_destroy(&r);
}

/* ---- command line ---- */

static int s_targets(const char *list, void *arg)
{
	s_opts *o = arg;
	memset(o->targets, 0, sizeof o->targets);
	char copy[64];
	snprintf(copy, sizeof copy, "%s", list);
	for (char *save = NULL, *t = strtok_r(copy, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		int k = strcmp(t, "mfs") == 0      ? 0
		        : strcmp(t, "driver") == 0 ? 1
		        : strcmp(t, "both") == 0   ? 2
		                                   : -1;
		if (k < 0)
			return -EINVAL;
		o->targets[k] = true;
	}
	return o->targets[0] || o->targets[1] || o->targets[2] ? 0 : -EINVAL;
}

/* --seed: any unsigned decimal number. */
static int s_seed(const char *value, void *arg)
{
	char *end = NULL;
	errno = 0;
	unsigned long v = strtoul(value, &end, 10);
	if (errno || end == value || *end || v > UINT_MAX)
		return -EINVAL;
	*(unsigned *)arg = (unsigned)v;
	return 0;
}

static int s_parse(int argc, char **argv, s_opts *o)
{
	*o = (s_opts){.iterations = 500,
	              .writers = 8,
	              .seed = (unsigned)time(NULL),
	              .targets = {true, true, true}};
	const bench_arg args[] = {
	    {"json", NULL, "one JSON object (docs/performance.md)", .flag = &o->json},
	    {"iterations", "N", "rounds (default 500)", .number = &o->iterations, .min = 1,
	     .max = 1000000},
	    {"writers", "W", "writers (default 8, at most 64)", .number = &o->writers, .min = 1,
	     .max = S_WRITERS},
	    {"seed", "S", "the random seed (default: the time)", .parse = s_seed, .arg = &o->seed},
	    {"targets", "LIST", "what is killed: mfs,driver,both (default all three)",
	     .parse = s_targets, .arg = o},
	    {"self-test", NULL, "damage the image once on purpose: must report a violation",
	     .flag = &o->self_test},
	    {"keep", NULL, "keep the state directory and logs (kept anyway after a violation)",
	     .flag = &o->keep},
	    {"spare", NULL, "give the driver a warm spare (spare = same): kills activate it",
	     .flag = &o->spare},
	};
	return bench_args_parse(
	    argc, argv, "crash",
	    "A crash-point soak: W writers create, append, rename, unlink, fsync and sync\n"
	    "through libplexus on a private `plexus up`; at random instants plexus-mfs of\n"
	    "/data, its driver or both are SIGKILLed (or SIGSTOPped, then SIGKILLed) and RS\n"
	    "restores them. Each round checks every writer's files against the states its\n"
	    "journal allows and runs fsck.minix -f on a copy of the image. Prints the\n"
	    "violations and the recovery time percentiles next to RS's restart of a service\n"
	    "without a file system; exits 1 when there are violations. With --spare the\n"
	    "driver has a warm spare, so its kills test the spare's activation.\n",
	    args, sizeof args / sizeof *args);
}

int plx_bench_crash(int argc, char **argv)
{
	s_bench *b = calloc(1, sizeof *b);
	int code = b ? s_parse(argc, argv, &b->o) : EX_OSERR;
	if (code >= 0) {
		free(b);
		return code;
	}
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = {.sa_handler = s_on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	b->recovery = bench_samples_new((size_t)b->o.iterations);
	b->baseline = bench_samples_new(64);
	int rc = s_boot(b);
	if (rc == 0)
		rc = s_writers_start(b);
	unsigned seed = b->o.seed;
	uint64_t ops = 0;
	int rounds = 0;
	if (rc == 0) {
		if (!b->o.json)
			fprintf(stderr, "bench crash: seed %u, %d writers, state %s\n", b->o.seed,
			        b->o.writers, b->state);
		for (; rounds < b->o.iterations && !s_interrupted; rounds++)
			s_round(b, rounds, &seed);
		for (int i = 0; i < b->o.writers; i++)
			ops += b->w[i].ops;
		s_report(b, rounds, ops);
	} else {
		fprintf(stderr, "bench crash: setting up: %s\n", strerror(-rc));
	}
	int violations = b->violations;
	s_teardown(b);
	bench_samples_destroy(&b->recovery);
	bench_samples_destroy(&b->baseline);
	free(b);
	if (s_interrupted)
		return 128 + s_interrupted; /* after plexus down and the directory's removal */
	return rc < 0 ? EX_SOFTWARE : violations ? 1 : EX_OK;
}
