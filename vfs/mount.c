/*
 * mount.c — the mount table.
 *
 * Entry points: vfs_mount_fs, vfs_mounts_clear, vfs_mounts_recorded, vfs_mounts_forget,
 * do_mount, do_umount, do_statvfs, do_fstatvfs, do_mounts.
 *
 * One file server instance per mounted file system. Mounting reserves a slot (so a second
 * mount on the same directory or of the same file server is -EBUSY at once), asks the file
 * server to read its super block (FS_READSUPER with the device number VFS gives the mount:
 * st_dev of its files), then hangs the mounted root on the covered directory. Unmounting is
 * refused (-EBUSY) while any vnode of the file system but its root is held (open files,
 * working directories, a mount below) or the root is held by anyone but the mount.
 *
 * Mounts made by VFS_MOUNT are recorded in DS (the service's state, key "mounts") after each
 * mount and umount, so that an instance RS restarts mounts them again (main.c); the mounts of
 * the command line come from the command line. A fresh start forgets the record.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <plexus/log.h>
#include <plexus/service.h>

#include "vfs.h"

#define S_RECORD_KEY "mounts"

static void s_mount_free(vfs_mount *m)
{
	if (!m)
		return;
	plx_fs_destroy(&m->client);
	vfs_fsgen_free_all(m);
	pthread_mutex_destroy(&m->follow_lock);
	vfs_errseq_free(m);
	free(m);
}

/* Reserves a slot for m (vfs->lock held). Returns 0, -EBUSY or -ENOSPC. */
static int s_reserve(vfs *v, vfs_mount *m)
{
	for (int i = 0; i < VFS_MOUNT_MAX; i++) {
		vfs_mount *o = v->mounts[i];
		if (!o)
			continue;
		if (strcmp(o->fs, m->fs) == 0)
			return -EBUSY; /* one mount per file server instance */
		if (m->covered && (o->covered == m->covered || o->root == m->covered))
			return -EBUSY;
	}
	if (!m->covered) {
		if (v->mounts[0])
			return -EBUSY;
		v->mounts[0] = m;
		return 0;
	}
	if (!v->mounts[0])
		return -ENOENT;
	for (int i = 1; i < VFS_MOUNT_MAX; i++) {
		if (!v->mounts[i]) {
			v->mounts[i] = m;
			return 0;
		}
	}
	return -ENOSPC;
}

static void s_unreserve(vfs *v, vfs_mount *m)
{
	pthread_mutex_lock(&v->lock);
	for (int i = 0; i < VFS_MOUNT_MAX; i++)
		if (v->mounts[i] == m)
			v->mounts[i] = NULL;
	pthread_mutex_unlock(&v->lock);
}

/* The device number of a new mount (vfs->lock held): want when it is free, else the next
 * one. Numbers follow the order of mounting, so a restarted VFS that mounts the same file
 * systems in the same order gives their files the same st_dev; recorded mounts keep theirs. */
static uint32_t s_devno(vfs *v, uint32_t want)
{
	for (int i = 0; want && i < VFS_MOUNT_MAX; i++)
		if (v->mounts[i] && v->mounts[i]->dev == want)
			want = 0;
	if (!want)
		return v->next_dev++;
	if (want >= v->next_dev)
		v->next_dev = want + 1;
	return want;
}

int vfs_mount_fs(vfs_req *req, const char *fs, const char *source, const vfs_mount_how *how,
                 const char *target, bool recorded, uint32_t dev)
{
	const char *driver = how->driver;
	uint32_t minor = how->minor;
	bool read_only = how->read_only;
	vfs *v = req->vfs;
	if (!fs || !*fs || strlen(fs) >= PLX_LABEL_MAX)
		return -EINVAL;
	vfs_mount *m = calloc(1, sizeof *m);
	if (!m)
		return -ENOMEM;
	snprintf(m->fs, sizeof m->fs, "%s", fs);
	snprintf(m->source, sizeof m->source, "%s", source ? source : "");
	snprintf(m->driver, sizeof m->driver, "%s", driver ? driver : "");
	m->minor = minor;
	m->read_only = read_only;
	m->flags = how->flags &
	           (PLEXUS__VFS_MOUNT_FLAG__VFS_MNT_NODEV | PLEXUS__VFS_MOUNT_FLAG__VFS_MNT_NOSUID |
	            PLEXUS__VFS_MOUNT_FLAG__VFS_MNT_NOEXEC);
	m->recorded = recorded;
	pthread_mutex_init(&m->follow_lock, NULL);
	m->client = plx_fs_new(v->ep, fs, v->fs_timeout_ms);
	if (!m->client) {
		free(m);
		return -ENOMEM;
	}
	plx_fs_observe(m->client, vfs_errseq_observe, v);
	char *canon = NULL;
	int rc = 0;
	if (target)
		rc = vfs_path_resolve_canon(req, target, VFS_PATH_DIR, &m->covered, &canon);
	if (rc < 0) {
		s_mount_free(m);
		return rc;
	}
	snprintf(m->target, sizeof m->target, "%s", canon ? canon : "/");
	free(canon);
	pthread_mutex_lock(&v->lock);
	rc = s_reserve(v, m);
	bool reserved = rc == 0;
	m->dev = s_devno(v, dev);
	pthread_mutex_unlock(&v->lock);
	vfs_attr root;
	if (rc == 0)
		rc = vfs_fs_errno(plx_fs_readsuper(m->client, m->driver, m->minor, read_only,
		                                   m->dev, &root, NULL));
	if (rc == 0)
		rc = vfs_fsgen_bind(v, m);
	if (rc == 0)
		rc = vfs_vnode_get(v, m, m->gen, &root, &m->root);
	if (rc < 0) {
		pthread_mutex_lock(&v->lock);
		if (m->dev == v->next_dev - 1) /* the next try (a take-over) gets the same number */
			v->next_dev--;
		pthread_mutex_unlock(&v->lock);
		if (reserved)
			s_unreserve(v, m);
		vfs_vnode_put(v, m->covered);
		s_mount_free(m);
		return rc;
	}
	pthread_mutex_lock(&v->lock);
	if (m->covered)
		m->covered->mounted = m;
	pthread_mutex_unlock(&v->lock);
	if (m->covered)
		vfs_watch_forget(v, m->covered); /* its names now lead into m */
	return 0;
}

/* Whether m is busy (vfs->lock held): any vnode of it but its root held, or the root held by
 * more than the mount and extra (the caller's own references). */
static bool s_busy(vfs *v, vfs_mount *m, int extra)
{
	if (m->root->refs > 1 + extra)
		return true;
	for (size_t b = 0; b < v->nbuckets; b++)
		for (vfs_vnode *vn = v->vnodes[b]; vn; vn = vn->hash_next)
			if (vn->mount == m && vn != m->root && vn->refs > 0)
				return true; /* (unused ones are only cached) */
	return false;
}

/* Takes m out of the table (vfs->lock held). */
static void s_detach(vfs *v, vfs_mount *m)
{
	for (int i = 0; i < VFS_MOUNT_MAX; i++)
		if (v->mounts[i] == m)
			v->mounts[i] = NULL;
	if (m->covered) {
		m->covered->mounted = NULL;
		vfs_watch_forget(v, m->covered); /* its own names show again */
	}
	m->unmounting = true;
}

/* After s_detach: gives the root back, tells the file server, frees m. The mount is gone
 * from the namespace whatever the file server answers (a dead one answers nothing), so this
 * only logs a failure. */
static void s_finish_unmount(vfs *v, vfs_mount *m)
{
	vfs_vnode_evict(v, m);
	vfs_vnode_put(v, m->root);
	int rc = plx_fs_unmount(m->client);
	if (rc < 0)
		plx_log(PLX_LOG_WARN, "unmounting %s from %s: %s", m->fs, m->target,
		        plx_strerror(rc));
	vfs_vnode_put(v, m->covered);
	s_mount_free(m);
}

/* A mount on which no other is mounted (vfs->lock held), so the deepest goes first; NULL
 * when the table is empty. */
static vfs_mount *s_deepest(vfs *v)
{
	for (int i = VFS_MOUNT_MAX - 1; i >= 0; i--) {
		vfs_mount *m = v->mounts[i];
		bool below = false;
		for (int k = 0; m && k < VFS_MOUNT_MAX && !below; k++)
			below = v->mounts[k] && v->mounts[k]->covered &&
			        v->mounts[k]->covered->mount == m;
		if (m && !below)
			return m;
	}
	return NULL;
}

void vfs_mounts_clear(vfs *v)
{
	for (;;) {
		pthread_mutex_lock(&v->lock);
		vfs_mount *m = s_deepest(v);
		if (m)
			s_detach(v, m);
		pthread_mutex_unlock(&v->lock);
		if (!m)
			return;
		plx_log(PLX_LOG_INFO, "unmounting %s from %s", m->fs,
		        m->target[0] ? m->target : "/");
		s_finish_unmount(v, m);
	}
}

/* The recorded mounts' lines (v->lock held), in a new string; NULL when none. */
static char *s_record_text(vfs *v)
{
	size_t cap = 1, len = 0;
	for (int i = 0; i < VFS_MOUNT_MAX; i++)
		if (v->mounts[i] && v->mounts[i]->recorded)
			cap += 2 * PLX_LABEL_MAX + VFS_PATH_MAX + 48;
	char *text = cap > 1 ? malloc(cap) : NULL;
	for (int i = 0; text && i < VFS_MOUNT_MAX; i++) {
		vfs_mount *m = v->mounts[i];
		if (!m || !m->recorded)
			continue;
		char dev[PLX_LABEL_MAX + 16] = "-";
		if (m->driver[0])
			snprintf(dev, sizeof dev, "%s:%u", m->driver, m->minor);
		len += (size_t)snprintf(text + len, cap - len, "%s\t%s\t%d\t%u\t%u\t%s\n", m->fs,
		                        dev, m->read_only ? 1 : 0, m->dev, m->flags, m->target);
	}
	return text;
}

/* Saves the recorded mounts in DS (or drops the key when none is left). One log line when DS
 * cannot be reached: the mount stands, a restart would not bring it back. */
static void s_record(vfs *v)
{
	if (!v->svc)
		return;
	pthread_mutex_lock(&v->record_lock);
	pthread_mutex_lock(&v->lock);
	char *text = s_record_text(v);
	pthread_mutex_unlock(&v->lock);
	int rc = text ? plx_service_state_save(v->svc, S_RECORD_KEY, text, strlen(text))
	              : plx_service_state_drop(v->svc, S_RECORD_KEY);
	pthread_mutex_unlock(&v->record_lock);
	if (rc < 0 && rc != -ENOENT)
		plx_log(PLX_LOG_WARN, "recording the mounts in DS: %s", plx_strerror(rc));
	free(text);
}

char *vfs_mounts_recorded(vfs *v)
{
	char buf[16384];
	size_t size = sizeof buf - 1;
	if (!v->svc || plx_service_state_restore(v->svc, S_RECORD_KEY, buf, &size) < 0)
		return NULL;
	buf[size] = '\0';
	return strdup(buf);
}

void vfs_mounts_forget(vfs *v)
{
	if (v->svc)
		plx_service_state_drop(v->svc, S_RECORD_KEY);
}

/* Parses a mount source: "" (no device), "label:minor", or a block special file. */
static int s_source(vfs_req *req, const char *source, char *driver, uint32_t *minor)
{
	driver[0] = '\0';
	*minor = 0;
	if (!source || !*source)
		return 0;
	const char *colon = strrchr(source, ':');
	if (source[0] != '/' && colon) {
		char *end;
		unsigned long n = strtoul(colon + 1, &end, 10);
		size_t len = (size_t)(colon - source);
		if (*end || colon[1] == '\0' || len == 0 || len >= PLX_LABEL_MAX || n > UINT32_MAX)
			return -EINVAL;
		memcpy(driver, source, len);
		driver[len] = '\0';
		*minor = (uint32_t)n;
		return 0;
	}
	vfs_vnode *vn;
	int rc = vfs_path_resolve(req, source, 0, &vn);
	if (rc < 0)
		return rc;
	vfs_attr a;
	vfs_vnode_attr(vn, &a);
	bool nodev = vn->mount->flags & PLEXUS__VFS_MOUNT_FLAG__VFS_MNT_NODEV;
	vfs_vnode_put(req->vfs, vn);
	if ((a.mode & S_IFMT) != S_IFBLK)
		return -ENOTBLK;
	if (nodev)
		return -EACCES; /* as Linux: a device node on a nodev mount names no device */
	rc = vfs_dmap_block(req->vfs, a.rdev, driver);
	*minor = minor(a.rdev);
	return rc;
}

/* The flags in force for a VFS_MOUNT's: nodev and nosuid unless dev and suid ask otherwise
 * (an image not named in the cluster file may hold anything). */
static uint32_t s_flags(uint32_t asked)
{
	uint32_t f = asked & (PLEXUS__VFS_MOUNT_FLAG__VFS_MNT_NODEV |
	                      PLEXUS__VFS_MOUNT_FLAG__VFS_MNT_NOSUID |
	                      PLEXUS__VFS_MOUNT_FLAG__VFS_MNT_NOEXEC);
	if (!(asked & PLEXUS__VFS_MOUNT_FLAG__VFS_MNT_DEV))
		f |= PLEXUS__VFS_MOUNT_FLAG__VFS_MNT_NODEV;
	if (!(asked & PLEXUS__VFS_MOUNT_FLAG__VFS_MNT_SUID))
		f |= PLEXUS__VFS_MOUNT_FLAG__VFS_MNT_NOSUID;
	return f;
}

int do_mount(vfs_req *req)
{
	const Plexus__VfsMount *m = (const Plexus__VfsMount *)req->body;
	if (req->cred.uid != 0)
		return -EPERM;
	if (!m->fs || !*m->fs || !m->target || !*m->target)
		return -EINVAL;
	char driver[PLX_LABEL_MAX];
	uint32_t minor;
	int rc = s_source(req, m->source, driver, &minor);
	if (rc < 0)
		return rc;
	if (strchr(m->target, '\n') || strchr(m->target, '\t'))
		return -EINVAL; /* the record keeps one mount per line */
	vfs_mount_how how = {driver, minor, m->read_only, s_flags(m->flags)};
	rc = vfs_mount_fs(req, m->fs, m->source, &how, m->target, true, 0);
	if (rc == 0)
		s_record(req->vfs);
	return rc;
}

int do_umount(vfs_req *req)
{
	const Plexus__VfsPath *p = (const Plexus__VfsPath *)req->body;
	vfs *v = req->vfs;
	if (req->cred.uid != 0)
		return -EPERM;
	vfs_vnode *vn;
	int rc = vfs_path_resolve(req, p->path, 0, &vn);
	if (rc < 0)
		return rc;
	vfs_mount *m = NULL;
	pthread_mutex_lock(&v->lock);
	for (int i = 0; i < VFS_MOUNT_MAX && !m; i++)
		if (v->mounts[i] && v->mounts[i]->root == vn)
			m = v->mounts[i];
	if (!m)
		rc = -EINVAL;
	else if (!m->covered || s_busy(v, m, 1))
		rc = -EBUSY;
	else
		s_detach(v, m);
	pthread_mutex_unlock(&v->lock);
	vfs_vnode_put(v, vn);
	if (rc < 0)
		return rc;
	bool recorded = m->recorded;
	s_finish_unmount(v, m);
	if (recorded)
		s_record(v);
	return 0;
}

/* Asks m's file server for its figures into out. */
static int s_statvfs(vfs_mount *m, Plexus__FsStatvfs *out)
{
	struct plx_fs_statvfs st;
	int rc = vfs_fs_errno(plx_fs_statvfs(m->client, &st));
	if (rc < 0)
		return rc;
	out->bsize = st.bsize;
	out->blocks = st.blocks;
	out->bfree = st.bfree;
	out->files = st.files;
	out->ffree = st.ffree;
	out->namemax = st.namemax ? st.namemax : VFS_NAME_MAX;
	out->read_only = st.read_only || m->read_only;
	out->mount_flags = m->flags;
	return 0;
}

int do_statvfs(vfs_req *req)
{
	const Plexus__VfsPath *p = (const Plexus__VfsPath *)req->body;
	vfs_vnode *vn;
	int rc = vfs_path_resolve(req, p->path, 0, &vn);
	if (rc < 0)
		return rc;
	rc = s_statvfs(vn->mount, &req->reply_statvfs);
	if (rc == 0)
		req->reply.statvfs = &req->reply_statvfs;
	vfs_vnode_put(req->vfs, vn);
	return rc;
}

int do_fstatvfs(vfs_req *req)
{
	const Plexus__VfsFd *p = (const Plexus__VfsFd *)req->body;
	vfs_filp *f = vfs_fd_get(req->vfs, req->proc, p->fd);
	if (!f)
		return -EBADF;
	int rc = s_statvfs(f->vnode->mount, &req->reply_statvfs);
	if (rc == 0)
		req->reply.statvfs = &req->reply_statvfs;
	vfs_filp_put(req->vfs, f);
	return rc;
}

typedef struct s_info {
	Plexus__VfsMountInfo info;
	Plexus__FsStatvfs st;
} s_info;

static void s_mounts_free(vfs_req *req)
{
	for (size_t i = 0; i < req->reply.n_mounts; i++)
		free(req->reply.mounts[i]); /* strings point into the copy below */
	free(req->reply.mounts);
	free(req->cleanup_arg);
}

int do_mounts(vfs_req *req)
{
	vfs *v = req->vfs;
	/* Copy the table (the mounts may go while the file servers are asked). */
	vfs_mount *copy = calloc(VFS_MOUNT_MAX, sizeof *copy);
	req->reply.mounts = calloc(VFS_MOUNT_MAX, sizeof *req->reply.mounts);
	req->cleanup = s_mounts_free;
	req->cleanup_arg = copy;
	if (!copy || !req->reply.mounts)
		return -ENOMEM;
	int n = 0;
	pthread_mutex_lock(&v->lock);
	for (int i = 0; i < VFS_MOUNT_MAX; i++)
		if (v->mounts[i] && v->mounts[i]->root && !v->mounts[i]->unmounting)
			copy[n++] = *v->mounts[i];
	pthread_mutex_unlock(&v->lock);
	for (int i = 0; i < n; i++) {
		s_info *si = calloc(1, sizeof *si);
		if (!si)
			return -ENOMEM;
		req->reply.mounts[req->reply.n_mounts++] = &si->info;
		plexus__vfs_mount_info__init(&si->info);
		plexus__fs_statvfs__init(&si->st);
		si->info.source = copy[i].source;
		si->info.target = copy[i].target;
		si->info.fs = copy[i].fs;
		si->info.read_only = copy[i].read_only;
		si->info.flags = copy[i].flags;
		si->info.dev = copy[i].dev;
		/* A fresh client: the copied one may be destroyed by a concurrent umount. */
		copy[i].client = plx_fs_new(v->ep, copy[i].fs, 2000);
		if (copy[i].client && s_statvfs(&copy[i], &si->st) == 0)
			si->info.statvfs = &si->st;
		plx_fs_destroy(&copy[i].client);
	}
	return 0;
}
