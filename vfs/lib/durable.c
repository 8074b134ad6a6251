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
 * instance that acknowledged a change makes that change durable — if the change was
 * acknowledged before the sync's request went out: each record keeps the handle's count of
 * changes noted (acks) at its latest one, and a sync's answer is weighed against the count
 * when it was sent (its mark), as a write another thread had answered while the sync was
 * under way may have come after the commit — and one answered by another instance means it is
 * lost: the fsync of the descriptor that wrote, or any fsync of a
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
int plexus__fs_slot(plexus *self, const char *label)
{
	for (int i = 0; i < self->nfs; i++)
		if (strcmp(self->fs[i].label, label) == 0)
			return i + 1;
	if (self->nfs == PLEXUS__FS_MAX || strlen(label) >= sizeof self->fs[0].label)
		return 0; /* not followed: such losses are VFS's to report */
	strcpy(self->fs[self->nfs].label, label);
	self->fs[self->nfs].ns_gen = self->fs[self->nfs].ns_seq = 0;
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

/* A sync's answer: instance gen of file server slot answered it; mark: the changes noted
 * when its request went out. */
typedef struct s_sync {
	int slot;
	uint64_t gen, mark;
} s_sync;

/* Whether the changes of a record of y's file server (instance gen, the latest noted as seq)
 * are durable by y: acknowledged by the instance that synced, before the sync went out. */
static bool s_durable(const s_sync *y, uint64_t gen, uint64_t seq)
{
	return gen == y->gen && seq <= y->mark;
}

/* Whether they are lost by y: acknowledged by another instance of its file server. */
static bool s_lost(const s_sync *y, uint64_t gen)
{
	return gen && gen != y->gen;
}

/* A namespace change instance gen of file server slot acknowledged, noted as seq: the file
 * system's record. fds_lock held. */
static void s_ns_changed(plexus *self, int slot, uint64_t gen, uint64_t seq)
{
	if (!self->fs[slot - 1].ns_gen)
		self->fs[slot - 1].ns_gen = gen; /* the older instance is the one at risk */
	if (seq > self->fs[slot - 1].ns_seq)
		self->fs[slot - 1].ns_seq = seq;
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

/* A change instance gen of file server slot acknowledged in the entries of dir, noted as
 * seq. fds_lock held. */
static void s_dir_changed(plexus *self, int slot, uint64_t gen, uint64_t seq, const char *dir)
{
	for (int i = 0; i < self->ndirs; i++)
		if (self->dirs[i].fs == slot && strcmp(self->dirs[i].dir, dir) == 0) {
			self->dirs[i].seq = seq; /* the older instance is the one at risk */
			return;
		}
	char *copy = strdup(dir);
	if (!copy)
		return;                        /* the file system's record has it */
	if (self->ndirs == PLEXUS__DIRS_MAX) { /* the oldest to its file system's record */
		s_ns_changed(self, self->dirs[0].fs, self->dirs[0].gen, self->dirs[0].seq);
		free(self->dirs[0].dir);
		memmove(&self->dirs[0], &self->dirs[1],
		        (size_t)(--self->ndirs) * sizeof self->dirs[0]);
	}
	self->dirs[self->ndirs].fs = (uint16_t)slot;
	self->dirs[self->ndirs].gen = gen;
	self->dirs[self->ndirs].seq = seq;
	self->dirs[self->ndirs++].dir = copy;
}

/* The directories whose entries a call by path (body a VfsPath) changed: its name's, and its
 * second name's (a rename's, a link's). fds_lock held. */
static void s_dirs_changed(plexus *self, uint32_t type, const ProtobufCMessage *body, int slot,
                           uint64_t gen, uint64_t seq)
{
	if (!body || body->descriptor != &plexus__vfs_path__descriptor)
		return;
	const Plexus__VfsPath *req = (const Plexus__VfsPath *)body;
	char dir[PLEXUS__PATH_MAX];
	if (req->path && req->path[0] && s_parent(self, req->path, req->at, dir, sizeof dir))
		s_dir_changed(self, slot, gen, seq, dir);
	bool named = type != PLEXUS__VFS_TYPE__VFS_SYMLINK; /* there path2 is the link's text */
	if (named && req->path2 && req->path2[0] &&
	    s_parent(self, req->path2, req->at2, dir, sizeof dir))
		s_dir_changed(self, slot, gen, seq, dir);
}

/* The directories' changes sync y answered through f: durable, or lost when they are in f's
 * directory (ns) or on the whole file system. Returns true when one is lost. fds_lock held. */
static bool s_synced_dirs(plexus *self, const plexus__fd *f, bool ns, bool whole, const s_sync *y)
{
	char dir[PLEXUS__PATH_MAX];
	bool known = ns && f && f->path && s_normal(f->path, dir, sizeof dir);
	bool lost = false;
	for (int i = 0; i < self->ndirs;) {
		bool mine = known && strcmp(self->dirs[i].dir, dir) == 0;
		bool ours = self->dirs[i].fs == y->slot;
		bool gone = ours && (mine || whole) && s_lost(y, self->dirs[i].gen);
		if (gone || (ours && s_durable(y, self->dirs[i].gen, self->dirs[i].seq))) {
			lost = lost || gone;
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
	uint64_t seq = ++self->acks;
	if (f && s_data_change(type)) {
		if (!f->dirty_gen) {
			f->dirty_fs = (uint16_t)slot;
			f->dirty_gen = gen;
			f->dirty_told = false;
		}
		f->dirty_seq = seq;
	} else {
		s_ns_changed(self, slot, gen, seq);
		s_dirs_changed(self, type, body, slot, gen, seq);
	}
}

static void s_closed_drop(plexus *self, int i)
{
	self->closed[i] = self->closed[--self->nclosed];
}

/* The closed files' writes sync y answered through f: durable, or lost when they are f's
 * file's or (whole) the file system's. Returns true when one is lost. fds_lock held. */
static bool s_synced_closed(plexus *self, const plexus__fd *f, bool whole, const s_sync *y)
{
	bool lost = false;
	for (int i = 0; i < self->nclosed;) {
		bool mine = f && self->closed[i].dev == f->dev && self->closed[i].ino == f->ino;
		bool ours = self->closed[i].fs == y->slot;
		bool gone = ours && (mine || whole) && s_lost(y, self->closed[i].gen);
		if (gone || (ours && s_durable(y, self->closed[i].gen, self->closed[i].seq))) {
			lost = lost || gone;
			s_closed_drop(self, i);
		} else {
			i++;
		}
	}
	return lost;
}

/* The lost writes of other descriptors open on f's file (whole: on any file) that sync y
 * answered through f: told now, once for all descriptors (each writing descriptor's own fsync
 * tells it too); the durable ones forgotten. Returns true when some are lost. fds_lock
 * held. */
static bool s_synced_others(plexus *self, const plexus__fd *f, bool whole, const s_sync *y)
{
	bool lost = false;
	for (size_t i = 0; i < self->nfds; i++) {
		plexus__fd *o = &self->fds[i];
		bool same = f && o->dev == f->dev && o->ino == f->ino && f->ino;
		if (o == f || !o->used || o->dirty_fs != y->slot)
			continue;
		if ((same || whole) && s_lost(y, o->dirty_gen) && !o->dirty_told)
			lost = o->dirty_told = true;
		else if (s_durable(y, o->dirty_gen, o->dirty_seq)) /* committed with it */
			o->dirty_gen = 0;
	}
	return lost;
}

/* Sync y answered, through f (directory or syncfs: ns, the namespace changes, are its to
 * report; syncfs: whole, every file's). Returns true when a change is lost. fds_lock held. */
static bool s_synced(plexus *self, plexus__fd *f, bool ns, bool whole, const s_sync *y)
{
	bool lost = s_synced_closed(self, f, whole, y);
	lost = s_synced_others(self, f, whole, y) || lost;
	lost = s_synced_dirs(self, f, ns, whole, y) || lost;
	if (f && f->dirty_gen && f->dirty_fs == y->slot) { /* its own, besides the others' */
		bool gone = s_lost(y, f->dirty_gen);
		if (gone || s_durable(y, f->dirty_gen, f->dirty_seq))
			f->dirty_gen = 0;
		lost = lost || gone;
	}
	uint64_t *ns_gen = &self->fs[y->slot - 1].ns_gen;
	bool gone = ns && s_lost(y, *ns_gen);
	if (gone || (*ns_gen && s_durable(y, *ns_gen, self->fs[y->slot - 1].ns_seq)))
		*ns_gen = 0;
	return lost || gone;
}

uint64_t plexus__durable_mark(plexus *self)
{
	pthread_mutex_lock(&self->fds_lock);
	uint64_t mark = self->acks;
	pthread_mutex_unlock(&self->fds_lock);
	return mark;
}

int64_t plexus__durable_answer(plexus *self, uint32_t type, const ProtobufCMessage *body, int fd,
                               const Plexus__VfsReply *r, int64_t value, uint64_t mark)
{
	if (!self || !r || !r->fs_label || !r->fs_label[0] || (!r->changed_gen && !r->synced_gen))
		return value;
	bool lost = false;
	pthread_mutex_lock(&self->fds_lock);
	int slot = plexus__fs_slot(self, r->fs_label);
	plexus__fd *f = s_fd(self, fd);
	if (slot && r->changed_gen)
		s_changed(self, type, body, f, slot, r->changed_gen);
	s_sync y = {.slot = slot, .gen = r->synced_gen, .mark = mark};
	if (slot && r->synced_gen &&
	    (type == PLEXUS__VFS_TYPE__VFS_FSYNC || type == PLEXUS__VFS_TYPE__VFS_SYNCFS)) {
		bool whole = type == PLEXUS__VFS_TYPE__VFS_SYNCFS;
		bool ns = whole || (f && S_ISDIR(f->mode));
		lost = s_synced(self, f, ns, whole, &y);
	} else if (slot && r->synced_gen && type == PLEXUS__VFS_TYPE__VFS_SYNC) {
		/* what it made durable; sync reports nothing (void in POSIX) */
		s_synced(self, NULL, false, false, &y);
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
		o->dirty_seq = o->dirty_seq > f->dirty_seq ? o->dirty_seq : f->dirty_seq;
		return;
	}
	if (self->nclosed == PLEXUS__CLOSED_MAX) { /* the oldest to its file system's record */
		s_ns_changed(self, self->closed[0].fs, self->closed[0].gen, self->closed[0].seq);
		memmove(&self->closed[0], &self->closed[1],
		        (size_t)(--self->nclosed) * sizeof self->closed[0]);
	}
	self->closed[self->nclosed].fs = f->dirty_fs;
	self->closed[self->nclosed].dev = f->dev;
	self->closed[self->nclosed].ino = f->ino;
	self->closed[self->nclosed].seq = f->dirty_seq;
	self->closed[self->nclosed++].gen = f->dirty_gen;
}

void plexus__durable_free(plexus *self)
{
	while (self->ndirs > 0)
		s_dir_drop(self, self->ndirs - 1);
}
