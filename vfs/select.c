/*
 * select.c — VFS_SELECT over regular files (always ready), pipes and FIFOs, and character
 * devices, with a timeout; many selects from many clients in flight at once.
 *
 * Entry points: do_select, vfs_select_wake, vfs_select_sel2, vfs_selects_tick,
 * vfs_selector_id.
 *
 * A select is a vfs_selector: the descriptors' filps (one reference each) and what is wanted
 * of each. It joins the table of waiting selects BEFORE anything is asked of a driver (the
 * seed commit's lesson: an entry marked in use only after its requests went out could be
 * overwritten by a second select, and its results lost). Then each filp's ops->select says
 * what is ready now and, for a character device, registers CDEV_SEL_NOTIFY with the
 * selector's id. When nothing is ready the call is parked; a later CDEV_SEL2_REPLY (matched by
 * driver label, minor and id), a change on a pipe (vfs_select_wake), the timeout, or the
 * client's death makes a worker look again, and the first look that finds something answers.
 * Looks never overlap for one selector (busy/again), so a report arriving during a look is
 * never lost.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dev.h"

typedef struct s_entry {
	int fd;
	vfs_filp *filp;
	int want;  /* VFS_SEL_* */
	int ready; /* the last look's answer */
} s_entry;

typedef struct vfs_selector {
	uint64_t id;
	int refs; /* devs->lock: the table's + one per look scheduled */
	plx_call *call;
	plx_name client;
	s_entry *entries;
	int n;
	int64_t deadline_ms; /* -1: none */
	bool done, busy, again, timed_out, cancelled;
	struct vfs_selector *next;
} vfs_selector;

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t vfs_selector_id(const vfs_selector *sel)
{
	return sel->id;
}

static void s_free(vfs *v, vfs_selector *s)
{
	for (int i = 0; i < s->n; i++)
		vfs_filp_put(v, s->entries[i].filp);
	free(s->entries);
	free(s);
}

/* Drops a reference taken under devs->lock. */
static void s_put(vfs *v, vfs_selector *s)
{
	vfs_devs *d = vfs_devs_of(v);
	pthread_mutex_lock(&d->lock);
	bool last = --s->refs == 0;
	pthread_mutex_unlock(&d->lock);
	if (last)
		s_free(v, s);
}

/* Looks at every entry; returns how many are ready. With first, registers notifications. */
static int s_look(vfs *v, vfs_selector *s)
{
	int count = 0;
	for (int i = 0; i < s->n; i++) {
		s_entry *e = &s->entries[i];
		const vfs_fileops *ops = e->filp->ops;
		e->ready = ops && ops->select ? ops->select(v, e->filp, e->want, s) : e->want;
		e->ready &= e->want;
		count += e->ready != 0;
	}
	return count;
}

/* Answers the call with the ready descriptors (or status). */
static void s_answer(vfs_selector *s, int status)
{
	Plexus__VfsReply r = PLEXUS__VFS_REPLY__INIT;
	Plexus__VfsSelect out = PLEXUS__VFS_SELECT__INIT;
	int32_t *lists = calloc((size_t)s->n * 3 + 1, sizeof *lists);
	if (!lists)
		status = -ENOMEM;
	int total = 0;
	if (status == 0) {
		out.read = lists;
		out.write = lists + s->n;
		out.except = lists + 2 * s->n;
		for (int i = 0; i < s->n; i++) {
			s_entry *e = &s->entries[i];
			if (e->ready & VFS_SEL_RD)
				out.read[out.n_read++] = e->fd;
			if (e->ready & VFS_SEL_WR)
				out.write[out.n_write++] = e->fd;
			if (e->ready & VFS_SEL_ERR)
				out.except[out.n_except++] = e->fd;
		}
		total = (int)(out.n_read + out.n_write + out.n_except);
		r.value = total;
		r.select = &out;
	}
	vfs_req_reply(s->call, status, status == 0 ? &r : NULL, NULL, 0);
	free(lists);
}

/* Takes s out of the table (devs->lock held). Returns true when it was still in it. */
static bool s_unlist(vfs_devs *d, vfs_selector *s)
{
	for (vfs_selector **pp = &d->selectors; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			s->refs--;
			return true;
		}
	return false;
}

/* One look by a worker: answers when something is ready, the time is up or the client died. */
static void s_look_job(vfs *v, void *arg)
{
	vfs_selector *s = arg;
	vfs_devs *d = vfs_devs_of(v);
	pthread_mutex_lock(&d->lock);
	if (s->done || s->busy) {
		s->again |= !s->done;
		pthread_mutex_unlock(&d->lock);
		s_put(v, s);
		return;
	}
	s->busy = true;
	pthread_mutex_unlock(&d->lock);
	for (;;) {
		int ready = s->cancelled ? 0 : s_look(v, s);
		pthread_mutex_lock(&d->lock);
		if (ready > 0 || s->timed_out || s->cancelled) {
			s->done = true;
			s->busy = false;
			s_unlist(d, s);
			pthread_mutex_unlock(&d->lock);
			s_answer(s, s->cancelled ? -EINTR : 0);
			break;
		}
		if (s->again) {
			s->again = false;
			pthread_mutex_unlock(&d->lock);
			continue;
		}
		s->busy = false;
		pthread_mutex_unlock(&d->lock);
		break;
	}
	s_put(v, s);
}

/* Schedules a look at s (devs->lock held). */
static void s_schedule(vfs *v, vfs_selector *s)
{
	if (s->done || vfs_devs_of(v)->stopping || !v->workers)
		return; /* shutting down: nobody looks any more */
	if (s->busy) {
		s->again = true;
		return;
	}
	s->refs++;
	if (vfs_workers_defer(v->workers, s_look_job, s) < 0) {
		s->refs--;
		s->again = true; /* the next tick tries again */
	}
}

int do_select(vfs_req *req)
{
	vfs *v = req->vfs;
	vfs_devs *d = vfs_devs_of(v);
	const Plexus__VfsSelect *q = (const Plexus__VfsSelect *)req->body;
	size_t n = q->n_read + q->n_write + q->n_except;
	if (n > VFS_OPEN_MAX * 3 || q->timeout_ms < -1)
		return -EINVAL;
	vfs_selector *s = calloc(1, sizeof *s);
	if (!s || !(s->entries = calloc(n + 1, sizeof *s->entries))) {
		free(s);
		return -ENOMEM;
	}
	/* One entry per descriptor, its wants merged. */
	int rc = 0;
	const struct {
		const int32_t *fds;
		size_t n;
		int bit;
	} lists[3] = {{q->read, q->n_read, VFS_SEL_RD},
	              {q->write, q->n_write, VFS_SEL_WR},
	              {q->except, q->n_except, VFS_SEL_ERR}};
	for (int l = 0; l < 3 && rc == 0; l++)
		for (size_t i = 0; i < lists[l].n && rc == 0; i++) {
			int fd = lists[l].fds[i], j = 0;
			while (j < s->n && s->entries[j].fd != fd)
				j++;
			if (j == s->n) {
				vfs_filp *f = vfs_fd_get(v, req->proc, fd);
				if (!f) {
					rc = -EBADF;
					break;
				}
				s->entries[s->n++] = (s_entry){.fd = fd, .filp = f};
			}
			s->entries[j].want |= lists[l].bit;
		}
	if (rc < 0) {
		s_free(v, s);
		return rc;
	}
	s->call = req->call;
	s->client = req->msg->source;
	s->deadline_ms = q->timeout_ms < 0 ? -1 : s_now_ms() + q->timeout_ms;
	/* In the table first, then the drivers are asked. */
	pthread_mutex_lock(&d->lock);
	s->id = d->next_id++;
	s->refs = 2; /* the table's and this look's */
	s->busy = true;
	s->next = d->selectors;
	d->selectors = s;
	pthread_mutex_unlock(&d->lock);
	int ready = s_look(v, s);
	pthread_mutex_lock(&d->lock);
	bool answer = ready > 0 || q->timeout_ms == 0;
	if (answer) {
		s->done = true;
		s_unlist(d, s);
	}
	s->busy = false;
	bool again = s->again && !answer;
	s->again = false;
	if (again)
		s_schedule(v, s);
	pthread_mutex_unlock(&d->lock);
	if (answer)
		s_answer(s, 0);
	s_put(v, s);
	return PLX_SUSPEND;
}

void vfs_select_wake(vfs *v, vfs_vnode *vn)
{
	vfs_devs *d = vfs_devs_of(v);
	pthread_mutex_lock(&d->lock);
	for (vfs_selector *s = d->selectors; s; s = s->next)
		for (int i = 0; i < s->n; i++)
			if (s->entries[i].filp->vnode == vn) {
				s_schedule(v, s);
				break;
			}
	pthread_mutex_unlock(&d->lock);
}

void vfs_select_sel2(vfs *v, const char *label, uint32_t minor, uint64_t id, uint32_t ops)
{
	(void)minor, (void)ops, (void)label; /* the id is ours alone; a look asks again */
	vfs_devs *d = vfs_devs_of(v);
	pthread_mutex_lock(&d->lock);
	for (vfs_selector *s = d->selectors; s; s = s->next)
		if (s->id == id) {
			s_schedule(v, s);
			break;
		}
	pthread_mutex_unlock(&d->lock);
}

/* Every select looks again (a driver died: its files are ready with an error). */
void vfs_selects_wake_all(vfs *v)
{
	vfs_devs *d = vfs_devs_of(v);
	pthread_mutex_lock(&d->lock);
	for (vfs_selector *s = d->selectors; s; s = s->next)
		s_schedule(v, s);
	pthread_mutex_unlock(&d->lock);
}

void vfs_selects_tick(vfs *v)
{
	vfs_devs *d = vfs_devs_of(v);
	plx_ctx *ctx = plx_service_ctx(v->svc);
	int64_t now = s_now_ms();
	pthread_mutex_lock(&d->lock);
	for (vfs_selector *s = d->selectors; s; s = s->next) {
		bool kick = s->again && !s->busy;
		if (s->deadline_ms >= 0 && now >= s->deadline_ms && !s->timed_out)
			kick = s->timed_out = true;
		if (!s->cancelled && plx_is_dead(ctx, s->client.label, s->client.generation))
			kick = s->cancelled = true;
		if (kick) {
			s->again = false;
			s_schedule(v, s);
		}
	}
	pthread_mutex_unlock(&d->lock);
}
