/*
 * durable.c — changes this process made that a file server instance took with it when it
 * died, reported by the process's next fsync or syncfs even when VFS died too.
 *
 * Entry points: plexus__durable_answer, plexus__durable_reported, plexus__durable_closed,
 * plexus__durable_free.
 *
 * VFS reports such losses itself (vfs/errseq.c) as long as it lives; what it counted dies with
 * it. A node lost with both VFS and the file server on it is the case that matters: the next
 * VFS and the next file server know nothing of the writes the dead pair acknowledged, and an
 * fsync through the restored descriptor would answer 0 for bytes that are gone. So every reply
 * names the instance that acknowledged the call's change, or answered its sync (VfsReply
 * fs_label with changed_gen or synced_gen), and the process keeps:
 *
 *   - per descriptor, the instance holding its unsynced writes (dirty_fs, dirty_gen: the first
 *     since the last sync; a later one leaves it, the older changes being the ones at risk);
 *     as Linux tells a write-back error to each description of the file, a sync through
 *     another descriptor of the same file (or a syncfs) reports their loss too, once for all
 *     such descriptors (dirty_told), and the writing descriptor's own fsync once more;
 *   - per file server, the instance holding its unsynced namespace changes (ns_gen): creates,
 *     renames, unlinks, attribute changes made by path; reported to the next fsync of any
 *     directory on it, or syncfs;
 *   - per directory (its absolute path, dirs[]), the instance holding unsynced changes made
 *     by path to its entries: the fsync of that directory reports their loss even when
 *     another directory's fsync took the file server's record first, as it does when many
 *     programs share one handle (plexus mount's users). Past PLEXUS__DIRS_MAX directories
 *     the oldest goes to its file system's record;
 *   - per file (device and inode), the writes of descriptors closed before a sync confirmed
 *     them (closed[]): as Linux keeps a write-back error with the file, not the descriptor,
 *     the next fsync of that file through any descriptor reports them, or a syncfs. A file
 *     still open on another descriptor takes them over there. Past PLEXUS__CLOSED_MAX such
 *     files, the oldest goes to its file system's namespace record (reported by syncfs).
 *
 * An FS_FSYNC commits everything the instance holds (docs/mfs.md), so a sync answered by the
 * instance that acknowledged a change makes that change durable, and one answered by another
 * instance means it is lost: the fsync of the descriptor that wrote, or any fsync of a
 * directory or syncfs on that file system for a namespace change, answers EIO, once. As with
 * Linux's write-back errors, a loss a sync reported is not reported again. sync(2) reports
 * nothing; its reply names the last file system it synced, whose changes it made durable.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "client.h"

/* The handle's slot for file server label (1-based; 0: the table is full). fds_lock held. */
static int s_fs_slot(plexus *self, const char *label)
{
	for (int i = 0; i < self->nfs; i++)
		if (strcmp(self->fs[i].label, label) == 0)
			return i + 1;
	if (self->nfs == PLEXUS__FS_MAX || strlen(label) >= sizeof self->fs[0].label)
		return 0; /* not followed: such losses are VFS's to report */
	strcpy(self->fs[self->nfs].label, label);
	self->fs[self->nfs].ns_gen = 0;
	return ++self->nfs;
}

static bool s_data_change(uint32_t type)
{
	return type == PLEXUS__VFS_TYPE__VFS_WRITE || type == PLEXUS__VFS_TYPE__VFS_PWRITE ||
	       type == PLEXUS__VFS_TYPE__VFS_FTRUNCATE;
}

static plexus__fd *s_fd(plexus *self, int fd)
{
	return fd >= 0 && (size_t)fd < self->nfds && self->fds[fd].used ? &self->fds[fd] : NULL;
}

/* ---- the directories whose entries changed ---- */

/* path (absolute) as out: no empty components, no trailing "/". False when "." or ".." is in
 * it (the text alone does not tell the directory) or it does not fit. */
static bool s_normal(const char *path, char *out, size_t size)
{
	char copy[PLEXUS__PATH_MAX * 2];
	if (snprintf(copy, sizeof copy, "%s", path) >= (int)sizeof copy || size < 2)
		return false;
	size_t len = 0;
	char *save = NULL;
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		int n = snprintf(out + len, size - len, "/%s", c);
		if (strcmp(c, ".") == 0 || strcmp(c, "..") == 0 || n < 0 || (size_t)n >= size - len)
			return false;
		len += (size_t)n;
	}
	if (len == 0)
		strcpy(out, "/");
	return true;
}

/* The directory that holds path (relative to the working directory, or to the directory open
 * at descriptor at - 1), absolute and normalized, in out. False when it is not known. fds_lock
 * held. */
static bool s_parent(plexus *self, const char *path, uint32_t at, char *out, size_t size)
{
	const plexus__fd *d = at ? s_fd(self, (int)at - 1) : NULL;
	const char *base = path[0] == '/' ? "" : at ? (d ? d->path : NULL) : self->cwd;
	char full[PLEXUS__PATH_MAX * 2];
	if (!base || snprintf(full, sizeof full, "%s/%s", base, path) >= (int)sizeof full ||
	    !s_normal(full, out, size) || strcmp(out, "/") == 0)
		return false;
	char *slash = strrchr(out, '/');
	slash[slash == out] = '\0'; /* "/a/b" -> "/a", "/a" -> "/" */
	return true;
}

static void s_dir_drop(plexus *self, int i)
{
	free(self->dirs[i].dir);
	self->dirs[i] = self->dirs[--self->ndirs];
}

/* A change instance gen of file server slot acknowledged in the entries of dir. fds_lock
 * held. */
static void s_dir_changed(plexus *self, int slot, uint64_t gen, const char *dir)
{
	for (int i = 0; i < self->ndirs; i++)
		if (self->dirs[i].fs == slot && strcmp(self->dirs[i].dir, dir) == 0)
			return; /* the older change is the one at risk */
	char *copy = strdup(dir);
	if (!copy)
		return;                        /* the file system's record has it */
	if (self->ndirs == PLEXUS__DIRS_MAX) { /* the oldest to its file system's record */
		uint64_t *ns_gen = &self->fs[self->dirs[0].fs - 1].ns_gen;
		if (!*ns_gen)
			*ns_gen = self->dirs[0].gen;
		free(self->dirs[0].dir);
		memmove(&self->dirs[0], &self->dirs[1],
		        (size_t)(--self->ndirs) * sizeof self->dirs[0]);
	}
	self->dirs[self->ndirs].fs = (uint16_t)slot;
	self->dirs[self->ndirs].gen = gen;
	self->dirs[self->ndirs++].dir = copy;
}

/* The directories whose entries a call by path (body a VfsPath) changed: its name's, and its
 * second name's (a rename's, a link's). fds_lock held. */
static void s_dirs_changed(plexus *self, uint32_t type, const ProtobufCMessage *body, int slot,
                           uint64_t gen)
{
	if (!body || body->descriptor != &plexus__vfs_path__descriptor)
		return;
	const Plexus__VfsPath *req = (const Plexus__VfsPath *)body;
	char dir[PLEXUS__PATH_MAX];
	if (req->path && req->path[0] && s_parent(self, req->path, req->at, dir, sizeof dir))
		s_dir_changed(self, slot, gen, dir);
	bool named = type != PLEXUS__VFS_TYPE__VFS_SYMLINK; /* there path2 is the link's text */
	if (named && req->path2 && req->path2[0] &&
	    s_parent(self, req->path2, req->at2, dir, sizeof dir))
		s_dir_changed(self, slot, gen, dir);
}

/* The directories' changes a sync instance gen of file server slot answered through f:
 * durable (the same instance), or lost, when they are in f's directory (ns) or on the whole
 * file system. Returns true when one is lost. fds_lock held. */
static bool s_synced_dirs(plexus *self, const plexus__fd *f, bool ns, bool whole, int slot,
                          uint64_t gen)
{
	char dir[PLEXUS__PATH_MAX];
	bool known = ns && f && f->path && s_normal(f->path, dir, sizeof dir);
	bool lost = false;
	for (int i = 0; i < self->ndirs;) {
		bool mine = known && strcmp(self->dirs[i].dir, dir) == 0;
		if (self->dirs[i].fs == slot && (self->dirs[i].gen == gen || mine || whole)) {
			lost = lost || self->dirs[i].gen != gen;
			s_dir_drop(self, i);
		} else {
			i++;
		}
	}
	return lost;
}

/* ---- what was changed, what was synced ---- */

/* A change instance gen of file server slot acknowledged. fds_lock held. */
static void s_changed(plexus *self, uint32_t type, const ProtobufCMessage *body, plexus__fd *f,
                      int slot, uint64_t gen)
{
	if (f && s_data_change(type)) {
		if (!f->dirty_gen) {
			f->dirty_fs = (uint16_t)slot;
			f->dirty_gen = gen;
			f->dirty_told = false;
		}
	} else {
		if (!self->fs[slot - 1].ns_gen)
			self->fs[slot - 1].ns_gen = gen;
		s_dirs_changed(self, type, body, slot, gen);
	}
}

static void s_closed_drop(plexus *self, int i)
{
	self->closed[i] = self->closed[--self->nclosed];
}

/* The closed files' writes a sync instance gen of file server slot answered through f: made
 * durable (the same instance), or lost, when they are f's file's or (whole) the file
 * system's. Returns true when one is lost. fds_lock held. */
static bool s_synced_closed(plexus *self, const plexus__fd *f, bool whole, int slot, uint64_t gen)
{
	bool lost = false;
	for (int i = 0; i < self->nclosed;) {
		bool mine = f && self->closed[i].dev == f->dev && self->closed[i].ino == f->ino;
		if (self->closed[i].fs == slot && (self->closed[i].gen == gen || mine || whole)) {
			lost = lost || self->closed[i].gen != gen;
			s_closed_drop(self, i);
		} else {
			i++;
		}
	}
	return lost;
}

/* The lost writes of other descriptors open on f's file (whole: on any file) that a sync
 * instance gen of file server slot answered through f: told now, once for all descriptors
 * (each writing descriptor's own fsync tells it too). Returns true when there are some.
 * fds_lock held. */
static bool s_synced_others(plexus *self, const plexus__fd *f, bool whole, int slot, uint64_t gen)
{
	bool lost = false;
	for (size_t i = 0; i < self->nfds; i++) {
		plexus__fd *o = &self->fds[i];
		bool same = f && o->dev == f->dev && o->ino == f->ino && f->ino;
		if (o != f && o->used && (same || whole) && o->dirty_gen && o->dirty_fs == slot &&
		    o->dirty_gen != gen && !o->dirty_told) {
			o->dirty_told = true;
			lost = true;
		}
	}
	return lost;
}

/* A sync instance gen of file server slot answered, through f (directory or syncfs: ns, the
 * namespace changes, are its to report; syncfs: whole, every file's). Returns true when a
 * change is lost. fds_lock held. */
static bool s_synced(plexus *self, plexus__fd *f, bool ns, bool whole, int slot, uint64_t gen)
{
	bool lost = s_synced_closed(self, f, whole, slot, gen);
	lost = s_synced_others(self, f, whole, slot, gen) || lost;
	lost = s_synced_dirs(self, f, ns, whole, slot, gen) || lost;
	if (f && f->dirty_gen && f->dirty_fs == slot) {
		lost = lost || f->dirty_gen != gen; /* its own, besides what closed ones lost */
		f->dirty_gen = 0;
	}
	for (size_t i = 0; i < self->nfds; i++) { /* committed with it: other descriptors' writes */
		plexus__fd *o = &self->fds[i];
		if (o->used && o->dirty_fs == slot && o->dirty_gen == gen)
			o->dirty_gen = 0;
	}
	uint64_t *ns_gen = &self->fs[slot - 1].ns_gen;
	if (*ns_gen == gen || (*ns_gen && ns)) {
		lost = lost || *ns_gen != gen;
		*ns_gen = 0;
	}
	return lost;
}

int64_t plexus__durable_answer(plexus *self, uint32_t type, const ProtobufCMessage *body, int fd,
                               const Plexus__VfsReply *r, int64_t value)
{
	if (!self || !r || !r->fs_label || !r->fs_label[0] || (!r->changed_gen && !r->synced_gen))
		return value;
	bool lost = false;
	pthread_mutex_lock(&self->fds_lock);
	int slot = s_fs_slot(self, r->fs_label);
	plexus__fd *f = s_fd(self, fd);
	if (slot && r->changed_gen)
		s_changed(self, type, body, f, slot, r->changed_gen);
	if (slot && r->synced_gen &&
	    (type == PLEXUS__VFS_TYPE__VFS_FSYNC || type == PLEXUS__VFS_TYPE__VFS_SYNCFS)) {
		bool whole = type == PLEXUS__VFS_TYPE__VFS_SYNCFS;
		bool ns = whole || (f && S_ISDIR(f->mode));
		lost = s_synced(self, f, ns, whole, slot, r->synced_gen);
	} else if (slot && r->synced_gen && type == PLEXUS__VFS_TYPE__VFS_SYNC) {
		/* what it made durable; sync reports nothing (void in POSIX) */
		s_synced(self, NULL, false, false, slot, r->synced_gen);
	}
	pthread_mutex_unlock(&self->fds_lock);
	return lost ? -EIO : value;
}

/* VFS reported the loss of directory f's entries (or, whole, the file system's): its
 * record here is told. fds_lock held. */
static void s_dirs_reported(plexus *self, const plexus__fd *f, bool whole)
{
	char dir[PLEXUS__PATH_MAX];
	bool known = f && f->path && s_normal(f->path, dir, sizeof dir);
	for (int i = 0; i < self->ndirs;)
		if (whole || (known && strcmp(self->dirs[i].dir, dir) == 0))
			s_dir_drop(self, i);
		else
			i++;
}

void plexus__durable_reported(plexus *self, uint32_t type, int fd)
{
	if (!self || (type != PLEXUS__VFS_TYPE__VFS_FSYNC && type != PLEXUS__VFS_TYPE__VFS_SYNCFS))
		return;
	pthread_mutex_lock(&self->fds_lock);
	plexus__fd *f = s_fd(self, fd);
	bool whole = type == PLEXUS__VFS_TYPE__VFS_SYNCFS;
	if (f) /* VFS reported the loss (errseq.c): not again */
		f->dirty_gen = 0;
	for (int i = 0; i < self->nclosed;)
		if (whole || (f && self->closed[i].dev == f->dev && self->closed[i].ino == f->ino))
			s_closed_drop(self, i);
		else
			i++;
	/* and the namespace's, on a file system the error does not name: every one's, which
	 * misses only a loss with VFS's death on one while VFS reports another's */
	if (type == PLEXUS__VFS_TYPE__VFS_SYNCFS || (f && S_ISDIR(f->mode)))
		for (int i = 0; i < self->nfs; i++)
			self->fs[i].ns_gen = 0;
	s_dirs_reported(self, f && S_ISDIR(f->mode) ? f : NULL, whole);
	pthread_mutex_unlock(&self->fds_lock);
}

/* Another open descriptor of f's file, or NULL. fds_lock held. */
static plexus__fd *s_same_file(plexus *self, const plexus__fd *f)
{
	for (size_t i = 0; i < self->nfds; i++) {
		plexus__fd *o = &self->fds[i];
		if (o != f && o->used && o->dev == f->dev && o->ino == f->ino)
			return o;
	}
	return NULL;
}

void plexus__durable_closed(plexus *self, const plexus__fd *f)
{
	if (!f->dirty_gen || !f->dirty_fs || !f->ino || f->dirty_told)
		return; /* nothing at risk, no file to keep it with, or told already */
	plexus__fd *o = s_same_file(self, f);
	if (o) { /* the file's: the other descriptor's fsync reports them */
		if (!o->dirty_gen || o->dirty_fs != f->dirty_fs || f->dirty_gen < o->dirty_gen) {
			o->dirty_fs = f->dirty_fs, o->dirty_gen = f->dirty_gen; /* the older */
			o->dirty_told = false;
		}
		return;
	}
	if (self->nclosed == PLEXUS__CLOSED_MAX) { /* the oldest to its file system's record */
		uint64_t *ns_gen = &self->fs[self->closed[0].fs - 1].ns_gen;
		if (!*ns_gen)
			*ns_gen = self->closed[0].gen;
		memmove(&self->closed[0], &self->closed[1],
		        (size_t)(--self->nclosed) * sizeof self->closed[0]);
	}
	self->closed[self->nclosed].fs = f->dirty_fs;
	self->closed[self->nclosed].dev = f->dev;
	self->closed[self->nclosed].ino = f->ino;
	self->closed[self->nclosed++].gen = f->dirty_gen;
}

void plexus__durable_free(plexus *self)
{
	while (self->ndirs > 0)
		s_dir_drop(self, self->ndirs - 1);
}
