/*
 * test-mfs-crash.c — plexus-mfs's crash consistency (docs/mfs.md "The journal"): a workload
 * of creates, appends, renames, unlinks, fsyncs and syncs runs against real plexus-vdisk and
 * plexus-mfs processes while, at a random instant, plexus-mfs, its driver or both are
 * SIGKILLed and started again as RS would (PLEXUS_INIT=restart). After each crash the file
 * system must be exactly as it was after one of the requests since the last fsync or sync
 * that returned (the journal commits whole states at request boundaries; nothing
 * acknowledged as synced may be missing), and a copy of the image must pass fsck.minix -f.
 *
 * The model: 16 slots, names f0..f7 in two directories; a file's content is a pattern of its
 * id, so a file's bytes say which file and how much of it is there. The candidates are the
 * model's states from the last synced one to the one the request in flight would make.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <plexus/fsreq.h>

#include "mfstest.h"

#define S_MB      (1024u * 1024)
#define S_DIRS    2
#define S_NAMES   8
#define S_SLOTS   (S_DIRS * S_NAMES)
#define S_MAXLEN  (48 * 1024)
#define S_STATES  4096 /* candidates kept between two syncs */
#define S_ROUNDS  24
#define S_TIMEOUT 60000

typedef struct s_file {
	uint32_t id; /* 0: the slot is empty */
	uint32_t len;
} s_file;

typedef struct s_state {
	s_file f[S_SLOTS];
} s_state;

typedef struct s_run {
	plx_fs *fs;
	uint64_t dir[S_DIRS];
	s_state cur;
	s_state *cand; /* cand[0] the last synced state, then one per request since */
	size_t ncand;
	uint32_t next_id;
	unsigned seed;
	volatile bool stop;
	int error; /* a request failed unexpectedly before the kill */
	char what[160];
	uint64_t ops, syncs;
} s_run;

static uint8_t s_pat(uint32_t id, uint64_t off)
{
	return (uint8_t)(((off + 1) * 2654435761u) >> 13 ^ id * 131u);
}

static void s_name(int slot, char *out)
{
	sprintf(out, "f%d", slot % S_NAMES);
}

static int s_rand(s_run *r, int n)
{
	return (int)(rand_r(&r->seed) % (unsigned)n);
}

/* The state the model is in becomes a candidate (the request succeeded, or is in flight). */
static void s_push(s_run *r, const s_state *st)
{
	if (r->ncand < S_STATES)
		r->cand[r->ncand++] = *st;
}

static void s_synced(s_run *r)
{
	r->cand[0] = r->cur;
	r->ncand = 1;
	r->syncs++;
}

static int s_ino(s_run *r, int slot, uint64_t *ino)
{
	char name[16];
	plx_fs_attr a;
	s_name(slot, name);
	int rc = plx_fs_lookup(r->fs, r->dir[slot / S_NAMES], name, &a);
	*ino = a.ino;
	return rc;
}

static int s_op_create(s_run *r, int slot, s_state *next)
{
	char name[16];
	plx_fs_attr a;
	s_name(slot, name);
	next->f[slot] = (s_file){r->next_id++, 0};
	s_push(r, next);
	int rc = plx_fs_create(r->fs, r->dir[slot / S_NAMES], name, 0644, 0, 0, &a);
	return rc < 0 ? rc : plx_fs_putnode(r->fs, a.ino, 1);
}

static int s_op_append(s_run *r, int slot, s_state *next)
{
	s_file *f = &next->f[slot];
	uint32_t n = 1 + (uint32_t)s_rand(r, 9000);
	if (f->len + n > S_MAXLEN)
		return 0;
	uint8_t *buf = malloc(n);
	for (uint32_t i = 0; i < n; i++)
		buf[i] = s_pat(f->id, f->len + i);
	uint64_t ino;
	int rc = s_ino(r, slot, &ino);
	uint32_t at = f->len;
	f->len += n;
	if (rc == 0) {
		s_push(r, next);
		ssize_t w = plx_fs_write(r->fs, ino, at, buf, n, NULL);
		rc = w == (ssize_t)n ? 0 : w < 0 ? (int)w : -EIO;
		int put = plx_fs_putnode(r->fs, ino, 1);
		rc = rc < 0 ? rc : put;
	}
	free(buf);
	return rc;
}

static int s_op_rename(s_run *r, int from, s_state *next)
{
	int to = s_rand(r, S_SLOTS);
	if (to == from)
		return 0;
	char a[16], b[16];
	s_name(from, a);
	s_name(to, b);
	next->f[to] = next->f[from];
	next->f[from] = (s_file){0, 0};
	s_push(r, next);
	return plx_fs_rename(r->fs, r->dir[from / S_NAMES], a, r->dir[to / S_NAMES], b, NULL);
}

static int s_op_unlink(s_run *r, int slot, s_state *next)
{
	char name[16];
	s_name(slot, name);
	next->f[slot] = (s_file){0, 0};
	s_push(r, next);
	return plx_fs_unlink(r->fs, r->dir[slot / S_NAMES], name, NULL);
}

/* fsync of one file or a sync: afterwards the state is the synced one. */
static int s_op_sync(s_run *r, int slot, s_state *next)
{
	uint64_t ino = 1;
	int rc = slot >= 0 ? s_ino(r, slot, &ino) : 0;
	if (rc == 0)
		rc = slot >= 0 ? plx_fs_fsync(r->fs, ino) : plx_fs_sync(r->fs);
	if (slot >= 0 && rc != -ENOENT) {
		int put = plx_fs_putnode(r->fs, ino, 1);
		rc = rc < 0 ? rc : put;
	}
	(void)next;
	return rc;
}

/* One random request; the model follows when it succeeds. */
static int s_step(s_run *r)
{
	int slot = s_rand(r, S_SLOTS), kind = s_rand(r, 60);
	bool full = r->cur.f[slot].id != 0;
	s_state next = r->cur;
	int rc;
	if (!full)
		rc = kind < 58 ? s_op_create(r, slot, &next) : s_op_sync(r, -1, &next);
	else if (kind < 36)
		rc = s_op_append(r, slot, &next);
	else if (kind < 46)
		rc = s_op_rename(r, slot, &next);
	else if (kind < 56)
		rc = s_op_unlink(r, slot, &next);
	else
		rc = s_op_sync(r, kind < 59 ? slot : -1, &next);
	if (rc < 0)
		return rc;
	r->cur = next;
	r->ops++;
	if (!full ? kind >= 58 : kind >= 56)
		s_synced(r);
	return 0;
}

static void *s_workload(void *arg)
{
	s_run *r = arg;
	while (!r->stop) {
		int rc = s_step(r);
		if (rc < 0 && !r->stop) {
			r->error = rc;
			snprintf(r->what, sizeof r->what, "request %llu failed before the kill: %s",
			         (unsigned long long)r->ops, plx_strerror(rc));
		}
		if (rc < 0)
			break;
	}
	return NULL;
}

/* The file system's state as read back, in out; false with why when it cannot be a state of
 * the model at all (a stray name, bytes of no file). */
static bool s_read_state(s_run *r, s_state *out, uint8_t *bytes, char *why, size_t size)
{
	memset(out, 0, sizeof *out);
	for (int s = 0; s < S_SLOTS; s++) {
		uint64_t ino;
		int rc = s_ino(r, s, &ino);
		if (rc == -ENOENT)
			continue;
		plx_fs_attr a;
		if (rc == 0)
			rc = plx_fs_stat(r->fs, ino, &a);
		ssize_t n =
		    rc < 0 ? rc
		           : plx_fs_read(r->fs, ino, 0, bytes + (size_t)s * S_MAXLEN, S_MAXLEN);
		plx_fs_putnode(r->fs, ino, 1);
		if (n < 0 || (uint64_t)n != a.size) {
			snprintf(why, size, "slot %d: %s", s,
			         n < 0 ? plx_strerror((int)n) : "short read");
			return false;
		}
		out->f[s].len = (uint32_t)n;
		out->f[s].id = UINT32_MAX; /* some file: the candidates say which */
	}
	for (int d = 0; d < S_DIRS; d++) {
		plx_fs_dirent ents[S_NAMES + 3];
		bool eof = false;
		int n = plx_fs_getdents(r->fs, r->dir[d], 0, 4096, ents, S_NAMES + 3, &eof);
		int files = 0;
		for (int i = 0; i < n; i++)
			files += strcmp(ents[i].name, ".") && strcmp(ents[i].name, "..");
		int expect = 0;
		for (int s = d * S_NAMES; s < (d + 1) * S_NAMES; s++)
			expect += out->f[s].id != 0;
		if (n < 0 || !eof || files != expect) {
			snprintf(why, size, "directory %d lists %d names, %d found by name", d,
			         files, expect);
			return false;
		}
	}
	return true;
}

/* True when the bytes read match candidate c exactly. */
static bool s_matches(const s_state *c, const s_state *got, const uint8_t *bytes)
{
	for (int s = 0; s < S_SLOTS; s++) {
		if ((c->f[s].id != 0) != (got->f[s].id != 0) || c->f[s].len != got->f[s].len)
			return false;
		const uint8_t *p = bytes + (size_t)s * S_MAXLEN;
		for (uint32_t i = 0; i < c->f[s].len; i++)
			if (p[i] != s_pat(c->f[s].id, i))
				return false;
	}
	return true;
}

/* Checks the file system against the candidates; the model continues from the match. */
static void s_check(s_run *r, int round, const char *target)
{
	s_state got;
	uint8_t *bytes = malloc((size_t)S_SLOTS * S_MAXLEN);
	char why[160] = "";
	bool ok = s_read_state(r, &got, bytes, why, sizeof why);
	size_t match = r->ncand;
	for (size_t i = r->ncand; ok && i-- > 0;)
		if (s_matches(&r->cand[i], &got, bytes)) {
			match = i;
			break;
		}
	free(bytes);
	if (!ok || match == r->ncand)
		fail_msg("round %d (%s killed): the file system is none of the %zu states since "
		         "the last sync (%s)",
		         round, target, r->ncand, ok ? "no candidate matches" : why);
	r->cur = r->cand[match];
	s_synced(r);
}

static void s_fsck_copy(mfstest *t, s_run *r, const char *image)
{
	assert_int_equal(plx_fs_sync(r->fs), 0);
	char copy[600], cmd[1300], out[256];
	snprintf(copy, sizeof copy, "%s.copy", image);
	snprintf(cmd, sizeof cmd, "cp --sparse=always '%s' '%s'", image, copy);
	assert_int_equal(mfstest_sh(cmd, out, sizeof out), 0);
	mfstest_fsck(copy);
	unlink(copy);
	(void)t;
}

typedef struct s_procs {
	pid_t drv, srv;
	const char *const *vd;
} s_procs;

/* The crash: mfs, the driver or both SIGKILLed, then started again as RS would. */
static const char *s_crash(mfstest *t, s_procs *p, int round, unsigned *seed)
{
	static const char *const syncs[] = {"0", "40", "300"};
	static const char *const caches[] = {"1", "8"};
	int which = round % 3;
	const char *opts[] = {"--cache-mb", caches[rand_r(seed) % 2], "--sync-interval-ms",
	                      syncs[rand_r(seed) % 3], NULL};
	if (which != 1)
		mfstest_kill(t, p->srv);
	if (which != 0) {
		mfstest_kill(t, p->drv);
		p->drv = mfstest_start(t, PLEXUS_VDISK_BIN, t->drv, "restart", p->vd, NULL);
	}
	if (which != 1)
		p->srv = mfstest_start(t, PLEXUS_MFS_BIN, t->fs, "restart", opts, NULL);
	return which == 0 ? "plexus-mfs" : which == 1 ? "the driver" : "both";
}

static void test_crash_points(void **state)
{
	mfstest *t = *state;
	char image[512];
	snprintf(
	    image, sizeof image, "%s",
	    mfstest_image(t, "crash", 16 * S_MB,
	                  getenv("PLEXUS_MFSTEST_NO_JOURNAL") ? MFSTEST_MKFS : MFSTEST_JOURNALED));
	const char *vd[] = {"--image", image, NULL};
	const char *opts[] = {"--cache-mb", "1", "--sync-interval-ms", "40", NULL};
	s_procs p = {.vd = vd};
	p.drv = mfstest_start(t, PLEXUS_VDISK_BIN, t->drv, NULL, vd, NULL);
	p.srv = mfstest_start(t, PLEXUS_MFS_BIN, t->fs, NULL, opts, NULL);
	s_run r = {.next_id = 1, .seed = (unsigned)time(NULL)};
	r.cand = calloc(S_STATES, sizeof *r.cand);
	r.fs = plx_fs_new(t->ep, t->fs, S_TIMEOUT);
	plx_fs_attr root, a;
	assert_int_equal(plx_fs_readsuper(r.fs, t->drv, 0, false, 3, &root, NULL), 0);
	for (int d = 0; d < S_DIRS; d++) {
		char name[8];
		sprintf(name, "d%d", d);
		assert_int_equal(plx_fs_mkdir(r.fs, 1, name, 0755, 0, 0, &a), 0);
		r.dir[d] = a.ino; /* the reference is kept: a restart's FS_PUTNODE is accepted */
	}
	assert_int_equal(plx_fs_sync(r.fs), 0);
	s_synced(&r);
	print_message("seed %u\n", r.seed);
	unsigned seed = r.seed;
	for (int round = 0; round < S_ROUNDS; round++) {
		r.stop = false;
		pthread_t th;
		assert_int_equal(pthread_create(&th, NULL, s_workload, &r), 0);
		usleep((useconds_t)(20 + rand_r(&seed) % 400) * 1000);
		r.stop = true;
		const char *target = s_crash(t, &p, round, &seed);
		assert_int_equal(pthread_join(th, NULL), 0);
		if (r.error)
			fail_msg("round %d: %s", round, r.what);
		s_check(&r, round, target);
		s_fsck_copy(t, &r, image);
	}
	print_message("%d crashes, %llu requests, %llu syncs: every state one the model allows\n",
	              S_ROUNDS, (unsigned long long)r.ops, (unsigned long long)r.syncs);
	assert_non_null(strstr(mfstest_log(t, t->fs), "replayed journal transaction"));
	plx_fs_destroy(&r.fs);
	free(r.cand);
	mfstest_stop(t, p.srv);
	mfstest_stop(t, p.drv);
	mfstest_fsck(image);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_crash_points, mfstest_test_setup,
	                                    mfstest_test_teardown),
	};
	return cmocka_run_group_tests(tests, mfstest_setup, mfstest_teardown);
}
