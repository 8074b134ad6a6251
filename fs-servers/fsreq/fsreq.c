/*
 * fsreq.c — FS requests, one stub each (plexus/fsreq.h).
 *
 * Entry points: plx_fs_new, plx_fs_new_at, plx_fs_destroy, plx_fs_label, plx_fs_readsuper,
 * plx_fs_unmount, plx_fs_lookup, plx_fs_putnode, plx_fs_create, plx_fs_mkdir, plx_fs_mknod,
 * plx_fs_slink, plx_fs_newnode, plx_fs_read, plx_fs_write, plx_fs_getdents, plx_fs_stat,
 * plx_fs_chmod, plx_fs_chown, plx_fs_ftrunc, plx_fs_utime, plx_fs_link, plx_fs_unlink,
 * plx_fs_rmdir, plx_fs_rename, plx_fs_rdlink, plx_fs_sync, plx_fs_fsync, plx_fs_flush,
 * plx_fs_statvfs, plx_fs_new_driver, plx_fs_observe, plx_fs_read_for, plx_fs_write_staged,
 * plx_fs_stage, plx_fs_collect, plx_fs_unstage.
 *
 * Each is a short wrapper over the typed stub of its request (plexus/fs_stub.h, expanded from
 * proto/fs.def): it fills the body and turns the reply into the plain C structs of fsreq.h.
 * The observer rides on the stub's (plx_stub_observe).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <plexus/fs_stub.h>
#include <plexus/fsreq.h>

struct plx_fs {
	plx_stub stub;
	plx_fs_observer *observe; /* may be NULL */
	void *observe_arg;
};

plx_fs *plx_fs_new(plx_ep *ep, const char *label, int timeout_ms)
{
	return plx_stub_holder_new(sizeof(plx_fs), ep, label, timeout_ms,
	                           &plexus__fs_type__descriptor);
}

plx_fs *plx_fs_new_at(plx_ep *ep, const char *label, uint64_t gen, int timeout_ms)
{
	plx_fs *self = plx_fs_new(ep, label, timeout_ms);
	if (self)
		self->stub.dst.generation = gen;
	return self;
}

void plx_fs_destroy(plx_fs **self_p)
{
	if (!self_p)
		return;
	free(*self_p);
	*self_p = NULL;
}

const char *plx_fs_label(const plx_fs *self)
{
	return self->stub.dst.label;
}

/* The stub self sends with (NULL for no self: the typed stubs then answer -EINVAL). */
static plx_stub *s_stub(plx_fs *self)
{
	return self ? &self->stub : NULL;
}

/* The inodes body names, by its fields ino, dir, old_dir and new_dir (at most two are set in
 * any FS_* request), into e. */
static void s_event_inos(const ProtobufCMessage *body, plx_fs_event *e)
{
	static const char *const names[] = {"ino", "dir", "old_dir", "new_dir"};
	for (size_t i = 0; body && i < sizeof names / sizeof names[0]; i++) {
		const ProtobufCFieldDescriptor *fd =
		    protobuf_c_message_descriptor_get_field_by_name(body->descriptor, names[i]);
		if (!fd || fd->type != PROTOBUF_C_TYPE_UINT64 ||
		    fd->label == PROTOBUF_C_LABEL_REPEATED)
			continue;
		uint64_t ino = *(const uint64_t *)((const char *)body + fd->offset);
		bool known = false;
		for (size_t j = 0; j < e->ninos; j++)
			known = known || e->inos[j] == ino;
		if (ino && !known && e->ninos < sizeof e->inos / sizeof e->inos[0])
			e->inos[e->ninos++] = ino;
	}
}

/* The name a request of type with body made, and its directory, into e. */
static void s_event_name(uint32_t type, const ProtobufCMessage *body, plx_fs_event *e)
{
	if (!body)
		return;
	if (type == PLEXUS__FS_TYPE__FS_CREATE || type == PLEXUS__FS_TYPE__FS_MKDIR ||
	    type == PLEXUS__FS_TYPE__FS_MKNOD || type == PLEXUS__FS_TYPE__FS_SLINK) {
		const Plexus__FsCreate *m = (const Plexus__FsCreate *)body;
		e->name = m->name, e->name_dir = m->dir;
	} else if (type == PLEXUS__FS_TYPE__FS_LINK) {
		const Plexus__FsLink *m = (const Plexus__FsLink *)body;
		e->name = m->name, e->name_dir = m->dir;
	} else if (type == PLEXUS__FS_TYPE__FS_RENAME) {
		const Plexus__FsRename *m = (const Plexus__FsRename *)body;
		e->name = m->new_name, e->name_dir = m->new_dir;
	}
}

/* Tells the plx_fs arg's observer of a request of type with body that msg answered (the
 * stub's observer). */
static void s_observe(void *arg, uint32_t type, const ProtobufCMessage *body, const plx_msg *msg)
{
	plx_fs *self = arg;
	plx_fs_event e = {
	    .type = type, .status = msg->status, .generation = msg->source.generation};
	s_event_inos(body, &e);
	s_event_name(type, body, &e);
	bool makes = type == PLEXUS__FS_TYPE__FS_CREATE || type == PLEXUS__FS_TYPE__FS_MKDIR ||
	             type == PLEXUS__FS_TYPE__FS_MKNOD || type == PLEXUS__FS_TYPE__FS_SLINK;
	Plexus__FsReply *r = NULL;
	if (makes && msg->status >= 0 && plx_fs_create_reply(msg, &r) == 0 && r->attr)
		e.made = r->attr->ino;
	plx_stub_free(r, NULL);
	self->observe(self->observe_arg, self, &e);
}

void plx_fs_observe(plx_fs *self, plx_fs_observer *fn, void *arg)
{
	self->observe = fn;
	self->observe_arg = arg;
	plx_stub_observe(&self->stub, fn ? s_observe : NULL, self);
}

static void s_free(Plexus__FsReply *r)
{
	if (r)
		protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void s_attr(const Plexus__FsAttr *a, plx_fs_attr *out)
{
	*out = (plx_fs_attr){.ino = a->ino,
	                     .mode = a->mode,
	                     .nlink = a->nlink,
	                     .uid = a->uid,
	                     .gid = a->gid,
	                     .size = a->size,
	                     .rdev = a->rdev,
	                     .atime_sec = a->atime_sec,
	                     .atime_nsec = a->atime_nsec,
	                     .mtime_sec = a->mtime_sec,
	                     .mtime_nsec = a->mtime_nsec,
	                     .ctime_sec = a->ctime_sec,
	                     .ctime_nsec = a->ctime_nsec,
	                     .blocks = a->blocks,
	                     .blksize = a->blksize,
	                     .dev = a->dev};
}

static void s_statvfs(const Plexus__FsStatvfs *s, struct plx_fs_statvfs *out)
{
	*out = (struct plx_fs_statvfs){.bsize = s->bsize,
	                               .blocks = s->blocks,
	                               .bfree = s->bfree,
	                               .files = s->files,
	                               .ffree = s->ffree,
	                               .namemax = s->namemax,
	                               .read_only = s->read_only};
}

/* The end of a call whose reply carries FsReply.attr (rc: its typed stub's result, r: the
 * reply it unpacked): fills *out when out is not NULL. Frees r. */
static int s_attr_out(int rc, Plexus__FsReply *r, plx_fs_attr *out)
{
	if (rc < 0)
		return rc;
	if (!r->attr)
		rc = -EBADMSG;
	else if (out)
		s_attr(r->attr, out);
	s_free(r);
	return rc < 0 ? rc : 0;
}

int plx_fs_readsuper(plx_fs *self, const char *driver, uint32_t minor, bool read_only, uint32_t dev,
                     plx_fs_attr *root, struct plx_fs_statvfs *st)
{
	Plexus__FsReadsuper body = PLEXUS__FS_READSUPER__INIT;
	body.driver = (char *)(driver ? driver : "");
	body.minor = minor;
	body.read_only = read_only;
	body.dev = dev;
	Plexus__FsReply *r = NULL;
	int rc = plx_fs_readsuper_call(s_stub(self), &body, NULL, 0, &r, NULL);
	if (rc < 0)
		return rc;
	if (!r->attr) {
		s_free(r);
		return -EBADMSG;
	}
	if (root)
		s_attr(r->attr, root);
	if (st && r->statvfs)
		s_statvfs(r->statvfs, st);
	else if (st)
		memset(st, 0, sizeof *st);
	s_free(r);
	return 0;
}

/* The result of a call whose reply is only a status. */
static int s_status(int rc)
{
	return rc < 0 ? rc : 0;
}

int plx_fs_unmount(plx_fs *self)
{
	return s_status(plx_fs_unmount_call(s_stub(self), NULL, NULL, 0, NULL, NULL));
}

int plx_fs_lookup(plx_fs *self, uint64_t dir, const char *name, plx_fs_attr *out)
{
	if (!name)
		return -EINVAL;
	Plexus__FsName body = PLEXUS__FS_NAME__INIT;
	body.dir = dir;
	body.name = (char *)name;
	Plexus__FsReply *r = NULL;
	int rc = plx_fs_lookup_call(s_stub(self), &body, NULL, 0, &r, NULL);
	return s_attr_out(rc, r, out);
}

int plx_fs_putnode(plx_fs *self, uint64_t ino, uint32_t count)
{
	Plexus__FsPutnode body = PLEXUS__FS_PUTNODE__INIT;
	body.ino = ino;
	body.count = count;
	return s_status(plx_fs_putnode_call(s_stub(self), &body, NULL, 0, NULL, NULL));
}

/* The typed stub of FS_CREATE, FS_MKDIR, FS_MKNOD, FS_SLINK or FS_NEWNODE. */
typedef int s_create_call(plx_stub *s, const Plexus__FsCreate *body, const void *data, size_t size,
                          Plexus__FsReply **reply, plx_msg **msg);

/* FS_CREATE, FS_MKDIR, FS_MKNOD, FS_SLINK, FS_NEWNODE: an FsCreate body, an attr reply. */
static int s_create(plx_fs *self, s_create_call *call, uint64_t dir, const char *name,
                    uint32_t mode, uint64_t rdev, const char *target, uint32_t uid, uint32_t gid,
                    plx_fs_attr *out)
{
	if (!name)
		return -EINVAL;
	Plexus__FsCred cred = PLEXUS__FS_CRED__INIT;
	cred.uid = uid;
	cred.gid = gid;
	Plexus__FsCreate body = PLEXUS__FS_CREATE__INIT;
	body.dir = dir;
	body.name = (char *)name;
	body.mode = mode;
	body.cred = &cred;
	body.rdev = rdev;
	body.target = (char *)(target ? target : "");
	Plexus__FsReply *r = NULL;
	int rc = call(s_stub(self), &body, NULL, 0, &r, NULL);
	return s_attr_out(rc, r, out);
}

int plx_fs_create(plx_fs *self, uint64_t dir, const char *name, uint32_t mode, uint32_t uid,
                  uint32_t gid, plx_fs_attr *out)
{
	return s_create(self, plx_fs_create_call, dir, name, (mode & 07777) | S_IFREG, 0, NULL, uid,
	                gid, out);
}

int plx_fs_mkdir(plx_fs *self, uint64_t dir, const char *name, uint32_t mode, uint32_t uid,
                 uint32_t gid, plx_fs_attr *out)
{
	return s_create(self, plx_fs_mkdir_call, dir, name, (mode & 07777) | S_IFDIR, 0, NULL, uid,
	                gid, out);
}

int plx_fs_mknod(plx_fs *self, uint64_t dir, const char *name, uint32_t mode, uint64_t rdev,
                 uint32_t uid, uint32_t gid, plx_fs_attr *out)
{
	return s_create(self, plx_fs_mknod_call, dir, name, mode, rdev, NULL, uid, gid, out);
}

int plx_fs_slink(plx_fs *self, uint64_t dir, const char *name, const char *target, uint32_t uid,
                 uint32_t gid, plx_fs_attr *out)
{
	if (!target)
		return -EINVAL;
	return s_create(self, plx_fs_slink_call, dir, name, S_IFLNK | 0777, 0, target, uid, gid,
	                out);
}

int plx_fs_newnode(plx_fs *self, uint32_t mode, uint32_t uid, uint32_t gid, plx_fs_attr *out)
{
	return s_create(self, plx_fs_newnode_call, 0, "", mode, 0, NULL, uid, gid, out);
}

ssize_t plx_fs_read_for(plx_fs *self, uint64_t ino, uint64_t pos, void *buf, size_t size,
                        const char *owner, uint64_t *stage)
{
	if (!buf && size)
		return -EINVAL;
	Plexus__FsIo body = PLEXUS__FS_IO__INIT;
	body.ino = ino;
	body.position = pos;
	body.size = size;
	body.stage_owner = (char *)(owner ? owner : "");
	Plexus__FsReply *r = NULL;
	plx_msg *reply = NULL;
	int rc = plx_fs_read_call(s_stub(self), &body, NULL, 0, &r, &reply);
	if (rc < 0) {
		plx_msg_destroy(&reply);
		return rc;
	}
	ssize_t count = (ssize_t)r->count;
	/* Held: nothing came. Sent: what the count says, and no more than asked. */
	size_t came = r->stage ? 0 : r->count;
	if (r->count > size || reply->data_size != came ||
	    (r->stage && (!r->count || !*body.stage_owner)))
		count = -EBADMSG;
	else if (came)
		memcpy(buf, reply->data, came);
	if (count >= 0)
		*stage = r->stage;
	s_free(r);
	plx_msg_destroy(&reply);
	return count;
}

ssize_t plx_fs_read(plx_fs *self, uint64_t ino, uint64_t pos, void *buf, size_t size)
{
	uint64_t stage; /* none: no owner asked */
	return plx_fs_read_for(self, ino, pos, buf, size, NULL, &stage);
}

/* FS_WRITE of body, its bytes data (NULL: a stage's); fills attr when not NULL. */
static ssize_t s_write(plx_fs *self, const Plexus__FsIo *body, const void *data, plx_fs_attr *attr)
{
	Plexus__FsReply *r = NULL;
	int rc = plx_fs_write_call(s_stub(self), body, data, data ? body->size : 0, &r, NULL);
	if (rc < 0)
		return rc;
	ssize_t count = (ssize_t)r->count;
	if (r->count > body->size || (attr && !r->attr))
		count = -EBADMSG;
	else if (attr)
		s_attr(r->attr, attr);
	s_free(r);
	return count;
}

ssize_t plx_fs_write(plx_fs *self, uint64_t ino, uint64_t pos, const void *buf, size_t size,
                     plx_fs_attr *attr)
{
	if (!buf && size)
		return -EINVAL;
	Plexus__FsIo body = PLEXUS__FS_IO__INIT;
	body.ino = ino;
	body.position = pos;
	body.size = size;
	return s_write(self, &body, size ? buf : NULL, attr);
}

ssize_t plx_fs_write_staged(plx_fs *self, uint64_t ino, uint64_t pos, size_t size,
                            const char *owner, uint64_t stage, plx_fs_attr *attr)
{
	if (!owner || !*owner || !stage)
		return -EINVAL;
	Plexus__FsIo body = PLEXUS__FS_IO__INIT;
	body.ino = ino;
	body.position = pos;
	body.size = size;
	body.stage = stage;
	body.stage_owner = (char *)owner;
	return s_write(self, &body, NULL, attr);
}

int plx_fs_stage(plx_fs *self, const void *buf, size_t size, uint64_t *stage)
{
	if (!buf || !size)
		return -EINVAL;
	Plexus__FsReply *r = NULL;
	int rc = plx_fs_stage_call(s_stub(self), NULL, buf, size, &r, NULL);
	if (rc < 0)
		return rc;
	if (!r->stage)
		rc = -EBADMSG;
	else
		*stage = r->stage;
	s_free(r);
	return rc < 0 ? rc : 0;
}

static int s_collect(plx_fs *self, uint64_t stage, bool drop, plx_msg **reply)
{
	Plexus__FsStage body = PLEXUS__FS_STAGE__INIT;
	body.stage = stage;
	body.drop = drop;
	return plx_fs_collect_call(s_stub(self), &body, NULL, 0, NULL, reply);
}

ssize_t plx_fs_collect(plx_fs *self, uint64_t stage, void *buf, size_t size)
{
	if (!buf && size)
		return -EINVAL;
	plx_msg *reply = NULL;
	int rc = s_collect(self, stage, false, &reply);
	ssize_t count = rc < 0 ? rc : (ssize_t)size;
	if (rc >= 0 && reply->data_size != size)
		count = -EBADMSG;
	else if (rc >= 0 && size)
		memcpy(buf, reply->data, size);
	plx_msg_destroy(&reply);
	return count;
}

int plx_fs_unstage(plx_fs *self, uint64_t stage)
{
	return s_collect(self, stage, true, NULL);
}

int plx_fs_getdents(plx_fs *self, uint64_t dir, uint64_t cookie, size_t size, plx_fs_dirent *out,
                    size_t max, bool *eof)
{
	if (!out && max)
		return -EINVAL;
	Plexus__FsIo body = PLEXUS__FS_IO__INIT;
	body.ino = dir;
	body.position = cookie;
	body.size = size;
	Plexus__FsReply *r = NULL;
	int rc = plx_fs_getdents_call(s_stub(self), &body, NULL, 0, &r, NULL);
	if (rc < 0)
		return rc;
	size_t n = r->n_dirents < max ? r->n_dirents : max;
	for (size_t i = 0; i < n; i++) {
		const Plexus__FsDirent *d = r->dirents[i];
		if (!d->name || strlen(d->name) > PLX_FS_NAME_MAX) {
			s_free(r);
			return -EBADMSG;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const Plexus__FsDirent *d = r->dirents[i];
		out[i].ino = d->ino;
		out[i].next = d->next;
		out[i].type = d->type;
		snprintf(out[i].name, sizeof out[i].name, "%s", d->name);
	}
	if (eof)
		*eof = r->eof && n == r->n_dirents; /* entries cut off here still follow */
	s_free(r);
	return (int)n;
}

int plx_fs_stat(plx_fs *self, uint64_t ino, plx_fs_attr *out)
{
	Plexus__FsIno body = PLEXUS__FS_INO__INIT;
	body.ino = ino;
	Plexus__FsReply *r = NULL;
	int rc = plx_fs_stat_call(s_stub(self), &body, NULL, 0, &r, NULL);
	return s_attr_out(rc, r, out);
}

int plx_fs_chmod(plx_fs *self, uint64_t ino, uint32_t mode, plx_fs_attr *out)
{
	Plexus__FsSetattr body = PLEXUS__FS_SETATTR__INIT;
	body.ino = ino;
	body.flags = PLEXUS__FS_SETATTR_FLAG__FS_SET_MODE;
	body.mode = mode & 07777;
	Plexus__FsReply *r = NULL;
	int rc = plx_fs_chmod_call(s_stub(self), &body, NULL, 0, &r, NULL);
	return s_attr_out(rc, r, out);
}

int plx_fs_chown(plx_fs *self, uint64_t ino, uint32_t uid, uint32_t gid, plx_fs_attr *out)
{
	Plexus__FsSetattr body = PLEXUS__FS_SETATTR__INIT;
	body.ino = ino;
	if (uid != (uint32_t)-1) {
		body.flags |= PLEXUS__FS_SETATTR_FLAG__FS_SET_UID;
		body.uid = uid;
	}
	if (gid != (uint32_t)-1) {
		body.flags |= PLEXUS__FS_SETATTR_FLAG__FS_SET_GID;
		body.gid = gid;
	}
	Plexus__FsReply *r = NULL;
	int rc = plx_fs_chown_call(s_stub(self), &body, NULL, 0, &r, NULL);
	return s_attr_out(rc, r, out);
}

int plx_fs_ftrunc(plx_fs *self, uint64_t ino, uint64_t size, plx_fs_attr *out)
{
	Plexus__FsSetattr body = PLEXUS__FS_SETATTR__INIT;
	body.ino = ino;
	body.flags = PLEXUS__FS_SETATTR_FLAG__FS_SET_SIZE;
	body.size = size;
	Plexus__FsReply *r = NULL;
	int rc = plx_fs_ftrunc_call(s_stub(self), &body, NULL, 0, &r, NULL);
	return s_attr_out(rc, r, out);
}

int plx_fs_utime(plx_fs *self, uint64_t ino, const struct timespec times[2], plx_fs_attr *out)
{
	Plexus__FsSetattr body = PLEXUS__FS_SETATTR__INIT;
	body.ino = ino;
	if (!times) {
		body.flags = PLEXUS__FS_SETATTR_FLAG__FS_SET_ATIME_NOW |
		             PLEXUS__FS_SETATTR_FLAG__FS_SET_MTIME_NOW;
	} else {
		if (times[0].tv_nsec == UTIME_NOW) {
			body.flags |= PLEXUS__FS_SETATTR_FLAG__FS_SET_ATIME_NOW;
		} else if (times[0].tv_nsec != UTIME_OMIT) {
			if (times[0].tv_nsec < 0 || times[0].tv_nsec >= 1000000000L)
				return -EINVAL;
			body.flags |= PLEXUS__FS_SETATTR_FLAG__FS_SET_ATIME;
			body.atime_sec = times[0].tv_sec;
			body.atime_nsec = (uint32_t)times[0].tv_nsec;
		}
		if (times[1].tv_nsec == UTIME_NOW) {
			body.flags |= PLEXUS__FS_SETATTR_FLAG__FS_SET_MTIME_NOW;
		} else if (times[1].tv_nsec != UTIME_OMIT) {
			if (times[1].tv_nsec < 0 || times[1].tv_nsec >= 1000000000L)
				return -EINVAL;
			body.flags |= PLEXUS__FS_SETATTR_FLAG__FS_SET_MTIME;
			body.mtime_sec = times[1].tv_sec;
			body.mtime_nsec = (uint32_t)times[1].tv_nsec;
		}
	}
	Plexus__FsReply *r = NULL;
	int rc = plx_fs_utime_call(s_stub(self), &body, NULL, 0, &r, NULL);
	return s_attr_out(rc, r, out);
}

int plx_fs_link(plx_fs *self, uint64_t dir, const char *name, uint64_t ino)
{
	if (!name)
		return -EINVAL;
	Plexus__FsLink body = PLEXUS__FS_LINK__INIT;
	body.dir = dir;
	body.name = (char *)name;
	body.ino = ino;
	return s_status(plx_fs_link_call(s_stub(self), &body, NULL, 0, NULL, NULL));
}

/* The typed stub of FS_UNLINK or FS_RMDIR. */
typedef int s_name_call(plx_stub *s, const Plexus__FsName *body, const void *data, size_t size,
                        Plexus__FsReply **reply, plx_msg **msg);

static int s_name(plx_fs *self, s_name_call *call, uint64_t dir, const char *name, plx_fs_attr *out)
{
	if (out)
		out->ino = 0;
	if (!name)
		return -EINVAL;
	Plexus__FsName body = PLEXUS__FS_NAME__INIT;
	body.dir = dir;
	body.name = (char *)name;
	Plexus__FsReply *r = NULL;
	int rc = call(s_stub(self), &body, NULL, 0, &r, NULL);
	if (rc < 0)
		return rc;
	if (r->attr && out) /* older servers answer without them */
		s_attr(r->attr, out);
	s_free(r);
	return 0;
}

int plx_fs_unlink(plx_fs *self, uint64_t dir, const char *name, plx_fs_attr *out)
{
	return s_name(self, plx_fs_unlink_call, dir, name, out);
}

int plx_fs_rmdir(plx_fs *self, uint64_t dir, const char *name, plx_fs_attr *out)
{
	return s_name(self, plx_fs_rmdir_call, dir, name, out);
}

int plx_fs_rename(plx_fs *self, uint64_t old_dir, const char *old_name, uint64_t new_dir,
                  const char *new_name, plx_fs_attr *replaced)
{
	if (replaced)
		replaced->ino = 0;
	if (!old_name || !new_name)
		return -EINVAL;
	Plexus__FsRename body = PLEXUS__FS_RENAME__INIT;
	body.old_dir = old_dir;
	body.old_name = (char *)old_name;
	body.new_dir = new_dir;
	body.new_name = (char *)new_name;
	Plexus__FsReply *r = NULL;
	int rc = plx_fs_rename_call(s_stub(self), &body, NULL, 0, &r, NULL);
	if (rc < 0)
		return rc;
	if (r->attr && replaced)
		s_attr(r->attr, replaced);
	s_free(r);
	return 0;
}

ssize_t plx_fs_rdlink(plx_fs *self, uint64_t ino, char *buf, size_t size)
{
	if (!buf && size)
		return -EINVAL;
	Plexus__FsIno body = PLEXUS__FS_INO__INIT;
	body.ino = ino;
	Plexus__FsReply *r = NULL;
	int rc = plx_fs_rdlink_call(s_stub(self), &body, NULL, 0, &r, NULL);
	if (rc < 0)
		return rc;
	const char *target = r->target ? r->target : "";
	ssize_t len = (ssize_t)strlen(target);
	if (size)
		snprintf(buf, size, "%s", target);
	s_free(r);
	return len;
}

int plx_fs_sync(plx_fs *self)
{
	return s_status(plx_fs_sync_call(s_stub(self), NULL, NULL, 0, NULL, NULL));
}

int plx_fs_fsync(plx_fs *self, uint64_t ino)
{
	Plexus__FsIno body = PLEXUS__FS_INO__INIT;
	body.ino = ino;
	return s_status(plx_fs_fsync_call(s_stub(self), &body, NULL, 0, NULL, NULL));
}

int plx_fs_flush(plx_fs *self)
{
	return s_status(plx_fs_flush_call(s_stub(self), NULL, NULL, 0, NULL, NULL));
}

int plx_fs_statvfs(plx_fs *self, struct plx_fs_statvfs *out)
{
	Plexus__FsReply *r = NULL;
	int rc = plx_fs_statvfs_call(s_stub(self), NULL, NULL, 0, &r, NULL);
	if (rc < 0)
		return rc;
	rc = r->statvfs ? 0 : -EBADMSG;
	if (r->statvfs && out)
		s_statvfs(r->statvfs, out);
	s_free(r);
	return rc;
}

int plx_fs_new_driver(plx_fs *self, const char *driver, uint64_t generation)
{
	if (!driver)
		return -EINVAL;
	Plexus__FsNewDriver body = PLEXUS__FS_NEW_DRIVER__INIT;
	body.driver = (char *)driver;
	body.generation = generation;
	return s_status(plx_fs_new_driver_call(s_stub(self), &body, NULL, 0, NULL, NULL));
}
