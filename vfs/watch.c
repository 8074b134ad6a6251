/*
 * watch.c — telling clients that cache attributes and names what changed: VFS_WATCH
 * (docs/protocol.md "Watches", docs/vfs.md "Watches").
 *
 * Entry points: do_watch, vfs_watches_init, vfs_watches_stop, vfs_watches_tick,
 * vfs_watch_proc_gone, vfs_watch_request_begin, vfs_watch_request_end, vfs_watch_fresh,
 * vfs_watch_hold, vfs_watch_changed, vfs_watch_forget, vfs_watch_count_change.
 *
 * A client that keeps attributes and names between its calls (plexus mount, through the
 * kernel's caches) makes a watch, one of at most VFS_WATCHES. Each vnode carries a bit per
 * watch (holders): set when a call counting for that watch (its owner's, or a client's that
 * joined it) resolved a name in the vnode or was answered its attributes, before they were
 * read. Then, in the spirit of NFSv4's delegations and AFS's callbacks:
 *   - a change to a held vnode — what a file server acknowledged for it (a write, a truncation,
 *     new attributes), a link lost — or a name in it made, removed or moved (what the file
 *     server acknowledged, the name cache's drops) queues a change for each holding watch but
 *     the one the call counted for (its own client knows what it did);
 *   - when VFS lets a held vnode go (its last reference and its place in the cache, a
 *     mount over it), the holders are told to forget it: VFS would not see its changes any more.
 * The owner polls (VFS_WATCH with its token): answered at once when changes wait, else by the
 * events thread's round (vfs_watches_tick, every 20 ms) once one came or its wait ended. A queue
 * past S_QUEUE_MAX is dropped and the next poll says so (changes_lost): the client forgets all. A
 * watch goes with its owner (proc.c tells: vfs_watch_proc_gone). A change reaches the holders after
 * the call that made it was answered, within a round: not at once (docs/vfs.md says what that means
 * for a cache).
 *
 * Locking: w->lock (the watches) is a leaf, taken under vfs->lock (the file server observer
 * posts with it held). holders and a client's watch are atomics. This file calls no other of
 * VFS's: what it needs of a vnode or a client is in their structures.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "dev.h"
#include "vfs.h"

#define S_QUEUE_MAX   4096  /* changes a watch keeps for its owner */
#define S_REPLY_MAX   512   /* changes in one poll's answer */
#define S_WAIT_MAX_MS 30000 /* the longest a poll waits */
#define S_PER_UID     8     /* watches of one user but root */

typedef struct s_change {
	uint32_t dev;
	uint64_t ino;
	char *name; /* NULL: the inode's own */
	bool forget;
} s_change;

typedef struct s_watch {
	uint64_t token;
	const vfs_proc *owner; /* compared only: the watch goes when its owner leaves the table */
	uint32_t uid;
	s_change *queue;
	size_t n, cap;
	bool lost;
	plx_call *poll; /* the owner's poll waiting, or NULL */
	int64_t deadline_ms;
} s_watch;

struct vfs_watches {
	pthread_mutex_t lock;
	s_watch *slots[VFS_WATCHES];
	uint32_t gens[VFS_WATCHES]; /* atomic: bumped when a slot's watch goes */
	uint64_t changes;           /* atomic: changes the file servers acknowledged */
	int count;                  /* atomic: watches in slots (written under lock) */
};

/* This thread's request: the watch slot (+ 1) it counts for (0: none), the changes acknowledged
 * when it began, and those it made itself since. */
static _Thread_local int s_origin;
static _Thread_local uint64_t s_changes_at_start, s_own_changes;

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int vfs_watches_init(vfs *v)
{
	struct vfs_watches *w = calloc(1, sizeof *w);
	if (!w)
		return -ENOMEM;
	pthread_mutex_init(&w->lock, NULL);
	v->watches = w;
	return 0;
}

/* The slot (0-based) a client's watch word names while that watch lives, or -1. */
static int s_slot_of(const struct vfs_watches *w, uint64_t word)
{
	if (!w || !word)
		return -1;
	int slot = (int)(word & 0xff) - 1;
	uint32_t gen = (uint32_t)(word >> 8);
	if (slot < 0 || slot >= VFS_WATCHES ||
	    __atomic_load_n(&w->gens[slot], __ATOMIC_ACQUIRE) != gen)
		return -1;
	return slot;
}

static uint64_t s_word(const struct vfs_watches *w, int slot)
{
	return (uint64_t)__atomic_load_n(&w->gens[slot], __ATOMIC_ACQUIRE) << 8 |
	       (uint64_t)(slot + 1);
}

void vfs_watch_request_begin(vfs_req *req)
{
	uint64_t word = req->proc ? __atomic_load_n(&req->proc->watch, __ATOMIC_ACQUIRE) : 0;
	s_origin = s_slot_of(req->vfs->watches, word) + 1;
	s_own_changes = 0;
	s_changes_at_start =
	    req->vfs->watches ? __atomic_load_n(&req->vfs->watches->changes, __ATOMIC_ACQUIRE) : 0;
}

void vfs_watch_request_end(void)
{
	s_origin = 0;
}

bool vfs_watch_fresh(const vfs_req *req)
{
	if (!s_origin || !req->vfs->watches)
		return true; /* nobody is to be told */
	uint64_t now = __atomic_load_n(&req->vfs->watches->changes, __ATOMIC_ACQUIRE);
	return now - s_changes_at_start == s_own_changes;
}

void vfs_watch_hold(vfs_req *req, vfs_vnode *vn)
{
	uint64_t word = req->proc ? __atomic_load_n(&req->proc->watch, __ATOMIC_ACQUIRE) : 0;
	int slot = s_slot_of(req->vfs->watches, word);
	if (slot >= 0)
		__atomic_fetch_or(&vn->holders, 1ull << slot, __ATOMIC_ACQ_REL);
}

/* Queues c for w (w->lock held); c->name is copied. */
static void s_queue(s_watch *w, const s_change *c)
{
	if (w->lost)
		return;
	if (w->n > 0) { /* the same change again (a stream of writes): once */
		const s_change *last = &w->queue[w->n - 1];
		if (last->dev == c->dev && last->ino == c->ino && last->forget == c->forget &&
		    !last->name && !c->name)
			return;
	}
	if (w->n == w->cap && w->cap < S_QUEUE_MAX) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		s_change *q = realloc(w->queue, cap * sizeof *q);
		if (q) {
			w->queue = q;
			w->cap = cap;
		}
	}
	s_change copy = *c;
	if (w->n == w->cap || (c->name && !(copy.name = strdup(c->name)))) {
		for (size_t i = 0; i < w->n; i++)
			free(w->queue[i].name);
		w->n = 0;
		w->lost = true;
		return;
	}
	w->queue[w->n++] = copy;
}

/* Queues c for every watch in bits (but the calling thread's own, unless c is a forget). */
static void s_post(vfs *v, uint64_t bits, const s_change *c)
{
	if (s_origin && !c->forget)
		bits &= ~(1ull << (s_origin - 1));
	if (!bits || !v->watches)
		return;
	struct vfs_watches *w = v->watches;
	pthread_mutex_lock(&w->lock);
	for (int i = 0; i < VFS_WATCHES; i++)
		if ((bits & (1ull << i)) && w->slots[i])
			s_queue(w->slots[i], c);
	pthread_mutex_unlock(&w->lock);
}

void vfs_watch_changed(vfs *v, vfs_vnode *vn, const char *name)
{
	uint64_t bits = __atomic_load_n(&vn->holders, __ATOMIC_ACQUIRE);
	s_change c = {.dev = vn->mount->dev, .ino = vn->ino, .name = (char *)name};
	s_post(v, bits, &c);
}

void vfs_watch_forget(vfs *v, vfs_vnode *vn)
{
	uint64_t bits = __atomic_exchange_n(&vn->holders, 0, __ATOMIC_ACQ_REL);
	if (__atomic_load_n(&vn->unlinked, __ATOMIC_ACQUIRE))
		return; /* dead: its holders were told of its last name and its link count */
	s_change c = {.dev = vn->mount->dev, .ino = vn->ino, .forget = true};
	s_post(v, bits, &c);
}

bool vfs_watch_count_change(vfs *v)
{
	if (!v->watches)
		return false;
	__atomic_add_fetch(&v->watches->changes, 1, __ATOMIC_ACQ_REL);
	s_own_changes++;
	return __atomic_load_n(&v->watches->count, __ATOMIC_ACQUIRE) > 0;
}

/* ---- the calls ---- */

/* Frees a poll's answer (vfs_req cleanup, or after an answer from the round). */
static void s_answer_free(Plexus__VfsReply *r)
{
	for (size_t i = 0; i < r->n_changes; i++) {
		if (r->changes[i]->name != protobuf_c_empty_string)
			free(r->changes[i]->name);
		free(r->changes[i]);
	}
	free(r->changes);
	r->changes = NULL;
	r->n_changes = 0;
}

/* Moves up to S_REPLY_MAX of w's changes into r (w->lock held). On ENOMEM they stay. */
static void s_take(s_watch *w, Plexus__VfsReply *r)
{
	size_t n = w->n < S_REPLY_MAX ? w->n : S_REPLY_MAX, got = 0;
	r->changes = n ? calloc(n, sizeof *r->changes) : NULL;
	for (; r->changes && got < n; got++) {
		Plexus__VfsChange *c = malloc(sizeof *c);
		if (!c)
			break;
		plexus__vfs_change__init(c);
		c->dev = w->queue[got].dev;
		c->ino = w->queue[got].ino;
		c->forget = w->queue[got].forget;
		if (w->queue[got].name)
			c->name = w->queue[got].name;
		r->changes[got] = c;
	}
	r->n_changes = got;
	if (got > 0) /* (a watch told nothing yet has no queue) */
		memmove(w->queue, w->queue + got, (w->n - got) * sizeof *w->queue);
	w->n -= got;
	r->more = w->n > 0;
	r->changes_lost = w->lost;
	w->lost = false;
}

static void s_cleanup(vfs_req *req)
{
	s_answer_free(&req->reply);
}

/* The slot of the watch with token (w->lock held), or -1. */
static int s_find(struct vfs_watches *w, uint64_t token)
{
	for (int i = 0; i < VFS_WATCHES; i++)
		if (w->slots[i] && w->slots[i]->token == token)
			return i;
	return -1;
}

/* The caller's watch (w->lock held): its own when it has one, else a new one (*made). Returns
 * its slot, or -EAGAIN (the user has S_PER_UID), -ENOSPC (VFS_WATCHES in use), -ENOMEM. */
static int s_make(vfs_req *req, struct vfs_watches *w, bool *made)
{
	int free_slot = -1, mine = 0;
	for (int i = 0; i < VFS_WATCHES; i++) {
		if (!w->slots[i])
			free_slot = free_slot < 0 ? i : free_slot;
		else if (w->slots[i]->owner == req->proc)
			return i;
		else if (w->slots[i]->uid == req->cred.uid)
			mine++;
	}
	if (req->cred.uid != 0 && mine >= S_PER_UID)
		return -EAGAIN;
	if (free_slot < 0)
		return -ENOSPC;
	s_watch *nw = calloc(1, sizeof *nw);
	if (!nw)
		return -ENOMEM;
	while (nw->token == 0)
		if (getrandom(&nw->token, sizeof nw->token, 0) != sizeof nw->token) {
			free(nw);
			return -EAGAIN;
		}
	nw->owner = req->proc;
	nw->uid = req->cred.uid;
	w->slots[free_slot] = nw;
	__atomic_add_fetch(&w->count, 1, __ATOMIC_ACQ_REL);
	*made = true;
	return free_slot;
}

static int s_new(vfs_req *req)
{
	struct vfs_watches *w = req->vfs->watches;
	bool made = false;
	/* vfs->lock too: a client leaving (gone set under it, then vfs_watch_proc_gone) either
	 * is seen here or finds the watch made */
	pthread_mutex_lock(&req->vfs->lock);
	pthread_mutex_lock(&w->lock);
	int slot = req->proc->gone ? -ESRCH : s_make(req, w, &made);
	if (slot >= 0) {
		req->reply.watch_token = w->slots[slot]->token;
		__atomic_store_n(&req->proc->watch, s_word(w, slot), __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&w->lock);
	pthread_mutex_unlock(&req->vfs->lock);
	return slot < 0 ? slot : 0;
}

static int s_join(vfs_req *req, uint64_t token)
{
	struct vfs_watches *w = req->vfs->watches;
	pthread_mutex_lock(&w->lock);
	int slot = s_find(w, token);
	if (slot >= 0)
		__atomic_store_n(&req->proc->watch, s_word(w, slot), __ATOMIC_RELEASE);
	pthread_mutex_unlock(&w->lock);
	return slot < 0 ? -ENOENT : 0;
}

static int s_poll(vfs_req *req, uint64_t token, int64_t wait_ms)
{
	struct vfs_watches *w = req->vfs->watches;
	plx_call *older = NULL;
	int rc = 0;
	pthread_mutex_lock(&w->lock);
	int slot = s_find(w, token);
	s_watch *sw = slot >= 0 ? w->slots[slot] : NULL;
	if (!sw) {
		rc = -ENOENT;
	} else if (sw->owner != req->proc) {
		rc = -EPERM;
	} else {
		older = sw->poll; /* a poll given up on: answered empty */
		sw->poll = NULL;
		if (sw->n > 0 || sw->lost) {
			s_take(sw, &req->reply);
			req->cleanup = s_cleanup;
		} else {
			wait_ms = wait_ms < 0               ? 0
			          : wait_ms > S_WAIT_MAX_MS ? S_WAIT_MAX_MS
			                                    : wait_ms;
			sw->poll = req->call;
			sw->deadline_ms = s_now_ms() + wait_ms;
			rc = PLX_SUSPEND;
		}
	}
	pthread_mutex_unlock(&w->lock);
	if (older) {
		Plexus__VfsReply empty = PLEXUS__VFS_REPLY__INIT;
		plx_call_reply(older, 0, &empty.base, NULL, 0);
	}
	return rc;
}

int do_watch(vfs_req *req)
{
	const Plexus__VfsWatch *m = (const Plexus__VfsWatch *)req->body;
	if (!req->vfs->watches)
		return -ENOSYS;
	if (m->token == 0)
		return s_new(req);
	return m->join ? s_join(req, m->token) : s_poll(req, m->token, m->wait_ms);
}

/* ---- the round ---- */

/* An answer the round sends after letting go of the locks. */
typedef struct s_answer {
	plx_call *call;
	int status;
	Plexus__VfsReply reply;
	s_watch *gone; /* a watch whose owner went, freed after the answer */
} s_answer;

static void s_watch_free(s_watch *sw)
{
	for (size_t i = 0; i < sw->n; i++)
		free(sw->queue[i].name);
	free(sw->queue);
	free(sw);
}

static void s_send(s_answer *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (a[i].call)
			plx_call_reply(a[i].call, a[i].status,
			               a[i].status == 0 ? &a[i].reply.base : NULL, NULL, 0);
		s_answer_free(&a[i].reply);
		if (a[i].gone)
			s_watch_free(a[i].gone);
	}
}

/* What the round does for slot i (w->lock held): an answer into a, or nothing. The watch
 * goes when stopping or when its owner is gone (NULL: none is). */
static bool s_due(struct vfs_watches *w, int i, int64_t now, bool stop, const vfs_proc *gone,
                  s_answer *a)
{
	s_watch *sw = w->slots[i];
	*a = (s_answer){.reply = PLEXUS__VFS_REPLY__INIT};
	if (stop || (gone && sw->owner == gone)) {
		w->slots[i] = NULL;
		__atomic_fetch_add(&w->gens[i], 1, __ATOMIC_ACQ_REL);
		__atomic_sub_fetch(&w->count, 1, __ATOMIC_ACQ_REL);
		a->call = sw->poll;
		a->status = stop ? -ESHUTDOWN : -ESRCH;
		a->gone = sw;
		return true;
	}
	if (gone || !sw->poll || (sw->n == 0 && !sw->lost && now < sw->deadline_ms))
		return false;
	a->call = sw->poll;
	sw->poll = NULL;
	s_take(sw, &a->reply);
	return true;
}

static void s_round(vfs *v, bool stop, const vfs_proc *gone)
{
	struct vfs_watches *w = v->watches;
	if (!w)
		return;
	s_answer a[VFS_WATCHES];
	size_t n = 0;
	int64_t now = s_now_ms();
	pthread_mutex_lock(&w->lock);
	for (int i = 0; i < VFS_WATCHES; i++)
		if (w->slots[i] && s_due(w, i, now, stop, gone, &a[n]))
			n++;
	pthread_mutex_unlock(&w->lock);
	s_send(a, n);
}

void vfs_watches_tick(vfs *v)
{
	s_round(v, false, NULL);
}

void vfs_watch_proc_gone(vfs *v, const vfs_proc *p)
{
	s_round(v, false, p);
}

void vfs_watches_stop(vfs *v)
{
	s_round(v, true, NULL);
	if (v->watches) {
		pthread_mutex_destroy(&v->watches->lock);
		free(v->watches);
		v->watches = NULL;
	}
}
