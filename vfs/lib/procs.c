/*
 * procs.c — the process table: every client of VFS and its open files.
 *
 * Entry points: plexus_ps, plexus_ps_free.
 */
#include <errno.h>
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

int plexus_ps(plexus *self, plexus_proc **procs, size_t *n)
{
	if (!procs || !n)
		return plexus__fail(-EFAULT);
	plexus__answer ans;
	int64_t rc =
	    plexus__call(self, PLEXUS__VFS_TYPE__VFS_PS, NULL, NULL, 0, self->timeout_ms, &ans);
	if (rc < 0)
		return plexus__fail(rc);
	size_t count = ans.reply->n_procs;
	plexus_proc *list = calloc(count ? count : 1, sizeof *list);
	bool ok = list != NULL;
	for (size_t i = 0; ok && i < count; i++)
		ok = s_proc_copy(ans.reply->procs[i], &list[i]);
	plexus__answer_free(&ans);
	if (!ok) {
		plexus_ps_free(list, count);
		return plexus__fail(-ENOMEM);
	}
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
