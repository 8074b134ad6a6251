/*
 * proc.c — the process table: one entry per client endpoint (label + generation).
 *
 * Entry points: vfs_proc_find, vfs_proc_put, vfs_proc_cred, vfs_procs_watch,
 * vfs_procs_unwatch, vfs_procs_clear, do_register, do_exit, do_ps.
 *
 * A client enters with VFS_REGISTER (-ESRCH when its endpoint record is not in the registry,
 * or names a newer generation) and leaves with VFS_EXIT, or when its endpoint record
 * ep/<label> vanishes (its lease expired: the process or its node died) or is replaced by a
 * newer generation: a watch on the ep/ prefix sees that and a worker closes everything the
 * client had open. Calls in flight hold a reference on the entry, so it is freed after the
 * last of them; once gone, no descriptor can be installed on it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileops.h"

vfs_proc *vfs_proc_find(vfs *v, const plx_name *ep)
{
	pthread_mutex_lock(&v->lock);
	vfs_proc *p = v->procs;
	while (p && (p->ep.generation != ep->generation || strcmp(p->ep.label, ep->label) != 0))
		p = p->next;
	if (p)
		p->refs++;
	pthread_mutex_unlock(&v->lock);
	return p;
}

void vfs_proc_put(vfs *v, vfs_proc *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&v->lock);
	int left = --p->refs;
	pthread_mutex_unlock(&v->lock);
	if (left > 0)
		return;
	vfs_fds_close_all(v, p, false);
	vfs_vnode_put(v, p->cwd);
	free(p->cwd_path);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

void vfs_proc_cred(vfs_proc *p, vfs_cred *cred)
{
	pthread_mutex_lock(&p->lock);
	cred->uid = p->uid;
	cred->gid = p->gid;
	cred->ngroups = p->ngroups;
	memcpy(cred->groups, p->groups, sizeof cred->groups);
	pthread_mutex_unlock(&p->lock);
}

/* Takes p out of the table (once) and closes its files; the table's reference goes. */
static void s_remove(vfs *v, vfs_proc *p)
{
	pthread_mutex_lock(&p->lock);
	pthread_mutex_lock(&v->lock);
	bool was_gone = p->gone;
	if (!was_gone) {
		p->gone = true;
		vfs_proc **pp = &v->procs;
		while (*pp != p)
			pp = &(*pp)->next;
		*pp = p->next;
	}
	pthread_mutex_unlock(&v->lock);
	pthread_mutex_unlock(&p->lock);
	if (was_gone)
		return;
	vfs_watch_proc_gone(v, p);
	vfs_fds_close_all(v, p, false);
	vfs_proc_put(v, p);
}

/* The credentials VFS_REGISTER claims, unless the sender's user certificate says otherwise:
 * a process its node kernel vouched for is who the kernel saw (uid, gid, groups), whatever it
 * claims, unless that is root, who may become anyone (as setuid(2) allows). */
static void s_set_cred(vfs_proc *p, const Plexus__VfsRegister *m, const plx_cred *vouched)
{
	p->pid = m->pid;
	snprintf(p->node, sizeof p->node, "%s", m->node ? m->node : "");
	snprintf(p->name, sizeof p->name, "%s", m->name ? m->name : "");
	p->umask = m->umask & 0777;
	if (vouched && vouched->uid != 0) {
		p->uid = p->ruid = vouched->uid;
		p->gid = p->rgid = vouched->gid;
		p->ngroups =
		    vouched->ngroups < VFS_NGROUPS_MAX ? (int)vouched->ngroups : VFS_NGROUPS_MAX;
		for (int i = 0; i < p->ngroups; i++)
			p->groups[i] = vouched->groups[i];
		return;
	}
	p->uid = m->uid;
	p->gid = m->gid;
	p->ruid = m->ruid;
	p->rgid = m->rgid;
	p->ngroups = m->n_groups < VFS_NGROUPS_MAX ? (int)m->n_groups : VFS_NGROUPS_MAX;
	for (int i = 0; i < p->ngroups; i++)
		p->groups[i] = m->groups[i];
}

/* True when ep's endpoint record is missing or names a newer generation (the client is dead
 * or replaced); false when it is there or etcd cannot say. */
static bool s_record_gone(vfs *v, const plx_name *ep)
{
	if (!v->svc)
		return false;
	plx_endpoint_rec rec;
	int rc = plx_endpoint_lookup(plx_service_etcd(v->svc), plx_service_config(v->svc)->cluster,
	                             ep->label, &rec);
	return rc == -ENOENT || (rc == 0 && rec.generation > ep->generation);
}

/* Clients registered as uid; v->lock held. */
static size_t s_count_uid(const vfs *v, uint32_t uid)
{
	size_t n = 0;
	for (const vfs_proc *q = v->procs; q; q = q->next)
		n += q->uid == uid;
	return n;
}

/* VFS_REGISTER from a client registered already: new credentials (setuid), within the limit
 * of clients per user. */
static int s_reregister(vfs *v, vfs_proc *p, const Plexus__VfsRegister *m, const plx_cred *vouched)
{
	vfs_proc probe = {0};
	s_set_cred(&probe, m, vouched);
	pthread_mutex_lock(&v->lock);
	bool over =
	    probe.uid != 0 && probe.uid != p->uid && s_count_uid(v, probe.uid) >= v->procs_per_uid;
	pthread_mutex_unlock(&v->lock);
	if (over)
		return -EAGAIN;
	pthread_mutex_lock(&p->lock);
	s_set_cred(p, m, vouched);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

int do_register(vfs_req *req)
{
	const Plexus__VfsRegister *m = (const Plexus__VfsRegister *)req->body;
	vfs *v = req->vfs;
	if (req->proc)
		return s_reregister(v, req->proc, m, plx_msg_vouched(req->msg));
	vfs_proc *p = calloc(1, sizeof *p);
	if (!p)
		return -ENOMEM;
	p->ep = req->msg->source;
	p->refs = 1;
	pthread_mutex_init(&p->lock, NULL);
	s_set_cred(p, m, plx_msg_vouched(req->msg));
	p->cwd = vfs_root(v);
	p->cwd_path = strdup("/");
	if (!p->cwd_path) {
		vfs_proc_put(v, p);
		return -ENOMEM;
	}
	pthread_mutex_lock(&v->lock);
	vfs_proc *dup = v->procs;
	size_t same_uid = s_count_uid(v, p->uid);
	while (dup &&
	       (dup->ep.generation != p->ep.generation || strcmp(dup->ep.label, p->ep.label) != 0))
		dup = dup->next;
	bool over = !dup && p->uid != 0 && same_uid >= v->procs_per_uid;
	if (!dup && !over) {
		p->next = v->procs;
		v->procs = p;
	}
	pthread_mutex_unlock(&v->lock);
	if (dup || over) { /* a concurrent VFS_REGISTER from the same endpoint won, or too many */
		vfs_proc_put(v, p);
		return over ? -EAGAIN : 0;
	}
	/* In the table first, then checked: a record deleted from now on is seen by the watch,
	 * one deleted before by this look. Without etcd the watch settles it later. */
	if (s_record_gone(v, &p->ep)) {
		s_remove(v, p);
		return -ESRCH;
	}
	return 0;
}

int do_exit(vfs_req *req)
{
	s_remove(req->vfs, req->proc);
	return 0;
}

/* ---- VFS_PS ---- */

static void s_ps_proc_free(Plexus__VfsProc *pr)
{
	if (!pr)
		return;
	for (size_t j = 0; j < pr->n_files; j++) {
		free(pr->files[j]->path);
		free(pr->files[j]);
	}
	free(pr->files);
	free(pr->endpoint);
	free(pr->node);
	free(pr->name);
	free(pr->cwd);
	free(pr);
}

static void s_ps_free(vfs_req *req)
{
	Plexus__VfsReply *r = &req->reply;
	for (size_t i = 0; i < r->n_procs; i++)
		s_ps_proc_free(r->procs[i]);
	free(r->procs);
}

/* Frees the last process of a VFS_PS reply (it did not fit: the next page starts there). */
static void s_ps_drop_last(Plexus__VfsReply *r)
{
	r->n_procs--;
	s_ps_proc_free(r->procs[r->n_procs]);
	r->procs[r->n_procs] = NULL;
}

/* Describes p's open files into pr, their paths at most budget bytes in all (files_cut past
 * it). Returns 0 or -ENOMEM. */
static int s_ps_files(vfs_proc *p, Plexus__VfsProc *pr, size_t budget)
{
	pr->files = calloc(VFS_OPEN_MAX, sizeof *pr->files);
	if (!pr->files)
		return -ENOMEM;
	size_t used = 0;
	for (int fd = 0; fd < VFS_OPEN_MAX; fd++) {
		vfs_filp *f = p->fds[fd].filp;
		if (!f)
			continue;
		size_t len = f->path ? strlen(f->path) : 0;
		if (used + len + 32 > budget) {
			pr->files_cut = true;
			break;
		}
		used += len + 32;
		Plexus__VfsProcFile *pf = calloc(1, sizeof *pf);
		if (!pf)
			return -ENOMEM;
		plexus__vfs_proc_file__init(pf);
		pr->files[pr->n_files++] = pf;
		pf->fd = fd;
		pthread_mutex_lock(&f->lock);
		pf->flags = f->mode | f->flags;
		pf->position = f->position;
		pthread_mutex_unlock(&f->lock);
		pf->path = strdup(f->path ? f->path : "");
		if (!pf->path)
			return -ENOMEM;
	}
	return 0;
}

/* Describes p into a new VfsProc (*out). Returns 0 or -ENOMEM. */
static int s_ps_one(vfs_proc *p, Plexus__VfsProc **out)
{
	Plexus__VfsProc *pr = calloc(1, sizeof *pr);
	if (!pr)
		return -ENOMEM;
	plexus__vfs_proc__init(pr);
	*out = pr;
	pthread_mutex_lock(&p->lock);
	int rc =
	    asprintf(&pr->endpoint, "%s.%" PRIu64, p->ep.label, p->ep.generation) < 0 ? -ENOMEM : 0;
	pr->pid = p->pid;
	pr->uid = p->uid;
	pr->node = strdup(p->node);
	pr->name = strdup(p->name);
	pr->cwd = strdup(p->cwd_path ? p->cwd_path : "");
	if (rc == 0 && (!pr->node || !pr->name || !pr->cwd))
		rc = -ENOMEM;
	if (rc == 0)
		rc = s_ps_files(p, pr, VFS_PS_PAGE / 2);
	pthread_mutex_unlock(&p->lock);
	return rc;
}

/* One process of the table, with the endpoint text VFS_PS sorts by. */
typedef struct s_ps_entry {
	char key[PLX_LABEL_MAX + 24];
	vfs_proc *p;
} s_ps_entry;

static int s_ps_cmp(const void *a, const void *b)
{
	return strcmp(((const s_ps_entry *)a)->key, ((const s_ps_entry *)b)->key);
}

/* Every process of the table, held (refs), sorted by endpoint; *n of them. NULL: no memory. */
static s_ps_entry *s_ps_all(vfs *v, size_t *n)
{
	pthread_mutex_lock(&v->lock);
	*n = 0;
	for (vfs_proc *p = v->procs; p; p = p->next)
		(*n)++;
	s_ps_entry *all = calloc(*n ? *n : 1, sizeof *all);
	size_t i = 0;
	for (vfs_proc *p = v->procs; all && p; p = p->next, i++) {
		snprintf(all[i].key, sizeof all[i].key, "%s.%" PRIu64, p->ep.label,
		         p->ep.generation);
		all[i].p = p;
		p->refs++;
	}
	pthread_mutex_unlock(&v->lock);
	if (all)
		qsort(all, *n, sizeof *all, s_ps_cmp);
	return all;
}

int do_ps(vfs_req *req)
{
	vfs *v = req->vfs;
	const Plexus__VfsPsQuery *q = (const Plexus__VfsPsQuery *)req->body;
	const char *after = q && q->after ? q->after : "";
	size_t n, used = 0;
	s_ps_entry *all = s_ps_all(v, &n);
	if (!all)
		return -ENOMEM;
	int rc = 0;
	req->reply.procs = calloc(n ? n : 1, sizeof *req->reply.procs);
	req->cleanup = s_ps_free;
	for (size_t i = 0; i < n; i++) {
		if (rc == 0 && !req->reply.procs)
			rc = -ENOMEM;
		if (rc == 0 && !req->reply.more && strcmp(all[i].key, after) > 0) {
			Plexus__VfsProc **slot = &req->reply.procs[req->reply.n_procs];
			rc = s_ps_one(all[i].p, slot);
			size_t size =
			    *slot ? protobuf_c_message_get_packed_size(&(*slot)->base) : 0;
			req->reply.n_procs++;
			if (rc == 0 && used + size > VFS_PS_PAGE && req->reply.n_procs > 1) {
				req->reply.more = true; /* this one starts the next page */
				s_ps_drop_last(&req->reply);
			}
			used += size;
		}
		vfs_proc_put(v, all[i].p);
	}
	free(all);
	return rc;
}

/* ---- cleanup after clients whose endpoint record vanished ---- */

typedef struct s_gone {
	char label[PLX_LABEL_MAX];
	uint64_t below; /* generations below this one are gone (UINT64_MAX: every one) */
} s_gone;

/* A worker job: removes the clients s_gone names. */
static void s_reap(vfs *v, void *arg)
{
	s_gone *g = arg;
	for (;;) {
		pthread_mutex_lock(&v->lock);
		vfs_proc *p = v->procs;
		while (p && (strcmp(p->ep.label, g->label) != 0 || p->ep.generation >= g->below))
			p = p->next;
		if (p)
			p->refs++;
		pthread_mutex_unlock(&v->lock);
		if (!p)
			break;
		s_remove(v, p);
		vfs_proc_put(v, p);
	}
	free(g);
}

static void s_queue_reap(vfs *v, const char *label, uint64_t below)
{
	s_gone *g = calloc(1, sizeof *g);
	if (!g)
		return;
	snprintf(g->label, sizeof g->label, "%s", label);
	g->below = below;
	if (vfs_workers_defer(v->workers, s_reap, g) < 0)
		free(g);
}

/* Every client whose label has no record, or a record of a newer generation. */
static void s_reap_all(vfs *v)
{
	const plx_service_cfg *cfg = plx_service_config(v->svc);
	plx_endpoint_rec *recs = NULL;
	int n = plx_endpoint_list(plx_service_etcd(v->svc), cfg->cluster, &recs, NULL);
	if (n < 0)
		return;
	char(*labels)[PLX_LABEL_MAX] = NULL;
	size_t nlabels = 0;
	pthread_mutex_lock(&v->lock);
	for (vfs_proc *p = v->procs; p; p = p->next)
		nlabels++;
	labels = calloc(nlabels ? nlabels : 1, sizeof *labels);
	uint64_t *gens = calloc(nlabels ? nlabels : 1, sizeof *gens);
	size_t i = 0;
	for (vfs_proc *p = v->procs; p && labels && gens; p = p->next, i++)
		memcpy(labels[i], p->ep.label, PLX_LABEL_MAX), gens[i] = p->ep.generation;
	pthread_mutex_unlock(&v->lock);
	for (i = 0; labels && gens && i < nlabels; i++) {
		uint64_t current = 0;
		for (int j = 0; j < n; j++)
			if (strcmp(recs[j].label, labels[i]) == 0)
				current = recs[j].generation;
		if (current == 0)
			s_queue_reap(v, labels[i], UINT64_MAX);
		else if (gens[i] < current)
			s_queue_reap(v, labels[i], current);
	}
	free(labels);
	free(gens);
	free(recs);
}

static void s_on_event(const plx_watch_event *ev, void *arg)
{
	vfs *v = arg;
	if (ev->kind == PLX_WATCH_COMPACTED || ev->kind == PLX_WATCH_RECONNECTED) {
		s_reap_all(v);
		return;
	}
	if (ev->kind != PLX_WATCH_PUT && ev->kind != PLX_WATCH_DELETE)
		return;
	const char *slash = strrchr(ev->kv->key, '/');
	const char *label = slash ? slash + 1 : ev->kv->key;
	if (ev->kind == PLX_WATCH_DELETE) {
		s_queue_reap(v, label, UINT64_MAX);
		return;
	}
	plx_endpoint_rec rec;
	if (plx_endpoint_parse((const char *)ev->kv->value, ev->kv->value_size, label, &rec) == 0)
		s_queue_reap(v, label, rec.generation);
}

int vfs_procs_watch(vfs *v)
{
	char prefix[PLX_SERVICE_CLUSTER_MAX + 32];
	snprintf(prefix, sizeof prefix, "/plexus/%s/ep/", plx_service_config(v->svc)->cluster);
	v->watch = plx_watch_new(plx_service_etcd(v->svc), prefix, 0, s_on_event, v);
	return v->watch ? 0 : -errno;
}

void vfs_procs_unwatch(vfs *v)
{
	plx_watch *w = v->watch;
	plx_watch_destroy(&w);
	v->watch = NULL;
}

void vfs_procs_clear(vfs *v)
{
	for (;;) {
		pthread_mutex_lock(&v->lock);
		vfs_proc *p = v->procs;
		if (p)
			p->refs++;
		pthread_mutex_unlock(&v->lock);
		if (!p)
			break;
		s_remove(v, p);
		vfs_proc_put(v, p);
	}
}
