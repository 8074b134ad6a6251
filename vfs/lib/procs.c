/*
 * procs.c — the process table: every client of VFS and its open files.
 *
 * Entry points: plexus_ps, plexus_ps_free.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

/* Copies one process; returns false when out of memory. */
static bool s_proc_copy(const Plexus__VfsProc *in, plexus_proc *out)
{
	out->endpoint = strdup(in->endpoint);
	out->pid = (pid_t)in->pid;
	out->node = strdup(in->node);
	out->name = strdup(in->name);
	out->uid = in->uid;
	out->cwd = strdup(in->cwd);
	out->files = calloc(in->n_files ? in->n_files : 1, sizeof *out->files);
	if (!out->endpoint || !out->node || !out->name || !out->cwd || !out->files)
		return false;
	for (size_t i = 0; i < in->n_files; i++) {
		const Plexus__VfsProcFile *f = in->files[i];
		out->files[i] = (plexus_proc_file){.fd = f->fd,
		                                   .path = strdup(f->path),
		                                   .flags = f->flags,
		                                   .position = f->position};
		out->nfiles = i + 1;
		if (!out->files[i].path)
			return false;
	}
	return true;
}

/* Appends one VFS_PS page to *list (*count entries, *cap room); *more and *last (the last
 * endpoint, for the next page) from it. Returns 0 or a negative errno. */
static int s_ps_page(plexus *self, const char *after, plexus_proc **list, size_t *count,
                     size_t *cap, bool *more, char *last, size_t last_size)
{
	Plexus__VfsPsQuery q = PLEXUS__VFS_PS_QUERY__INIT;
	q.after = (char *)after;
	plexus__answer ans;
	int64_t rc = plexus__vfs_ps(self, &q, NULL, 0, self->timeout_ms, &ans);
	if (rc < 0)
		return (int)rc;
	const Plexus__VfsReply *r = ans.reply;
	if (*count + r->n_procs > *cap) {
		size_t want = (*count + r->n_procs) * 2 + 1;
		plexus_proc *grown = realloc(*list, want * sizeof *grown);
		if (!grown) {
			plexus__answer_free(&ans);
			return -ENOMEM;
		}
		memset(grown + *cap, 0, (want - *cap) * sizeof *grown);
		*list = grown;
		*cap = want;
	}
	bool ok = true;
	for (size_t i = 0; ok && i < r->n_procs; i++)
		ok = s_proc_copy(r->procs[i], &(*list)[(*count)++]);
	*more = r->more && r->n_procs > 0;
	if (r->n_procs)
		snprintf(last, last_size, "%s", r->procs[r->n_procs - 1]->endpoint);
	plexus__answer_free(&ans);
	return ok ? 0 : -ENOMEM;
}

int plexus_ps(plexus *self, plexus_proc **procs, size_t *n)
{
	if (!procs || !n)
		return plexus__fail(-EFAULT);
	plexus_proc *list = NULL;
	size_t count = 0, cap = 0;
	char last[PLX_LABEL_MAX + 24] = "";
	bool more = true;
	int rc = 0;
	while (rc == 0 && more) /* a page at a time, each after the last one's endpoint */
		rc = s_ps_page(self, last, &list, &count, &cap, &more, last, sizeof last);
	if (rc < 0) {
		plexus_ps_free(list, count);
		return plexus__fail(rc);
	}
	if (!list && !(list = calloc(1, sizeof *list)))
		return plexus__fail(-ENOMEM);
	*procs = list;
	*n = count;
	return 0;
}

void plexus_ps_free(plexus_proc *procs, size_t n)
{
	for (size_t i = 0; procs && i < n; i++) {
		for (size_t j = 0; j < procs[i].nfiles; j++)
			free(procs[i].files[j].path);
		free(procs[i].files);
		free(procs[i].endpoint);
		free(procs[i].node);
		free(procs[i].name);
		free(procs[i].cwd);
	}
	free(procs);
}
