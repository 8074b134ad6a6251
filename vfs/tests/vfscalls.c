/*
 * vfscalls.c — one helper per VFS call for the core tests (vfscalls.h).
 *
 * Entry points: as vfscalls.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfscalls.h"

#define S_T(x)        PLEXUS__VFS_TYPE__##x
#define S_CLIENTS_MAX 64

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static fsclient *s_clients[S_CLIENTS_MAX];

fsclient *vc_client(fscluster *f, const char *name)
{
	fsclient *c = fsclient_new(f, name);
	pthread_mutex_lock(&s_lock);
	for (int i = 0; i < S_CLIENTS_MAX; i++) {
		if (!s_clients[i]) {
			s_clients[i] = c;
			break;
		}
	}
	pthread_mutex_unlock(&s_lock);
	return c;
}

void vc_client_destroy(fsclient **c, bool exit)
{
	pthread_mutex_lock(&s_lock);
	for (int i = 0; i < S_CLIENTS_MAX; i++)
		if (s_clients[i] == *c)
			s_clients[i] = NULL;
	pthread_mutex_unlock(&s_lock);
	fsclient_destroy(c, exit);
}

void vc_clients_drop(void)
{
	for (int i = 0; i < S_CLIENTS_MAX; i++) {
		pthread_mutex_lock(&s_lock);
		fsclient *c = s_clients[i];
		s_clients[i] = NULL;
		pthread_mutex_unlock(&s_lock);
		fsclient_destroy(&c, false);
	}
}

int vc_path(fsclient *c, uint32_t type, const char *path, const char *path2, int flags,
            uint32_t mode, Plexus__VfsReply **reply)
{
	Plexus__VfsPath p = PLEXUS__VFS_PATH__INIT;
	p.path = (char *)(path ? path : "");
	p.path2 = (char *)(path2 ? path2 : "");
	p.flags = flags;
	p.mode = mode;
	return fsclient_call(c, type, &p.base, NULL, 0, reply, NULL, 0, NULL, FSC_WAIT_MS);
}

int64_t vc_fd(fsclient *c, uint32_t type, Plexus__VfsFd *q, const void *in, size_t in_size,
              Plexus__VfsReply **reply)
{
	Plexus__VfsReply *r = NULL;
	int rc = fsclient_call(c, type, &q->base, in, in_size, &r, NULL, 0, NULL, FSC_WAIT_MS);
	if (rc < 0)
		return rc;
	int64_t v = r->value;
	if (reply)
		*reply = r;
	else
		protobuf_c_message_free_unpacked(&r->base, NULL);
	return v;
}

int vc_mkdir(fsclient *c, const char *path, uint32_t mode)
{
	return vc_path(c, S_T(VFS_MKDIR), path, NULL, 0, mode, NULL);
}

int vc_rmdir(fsclient *c, const char *path)
{
	return vc_path(c, S_T(VFS_RMDIR), path, NULL, 0, 0, NULL);
}

static int s_stat(fsclient *c, uint32_t type, const char *path, Plexus__FsAttr *st)
{
	Plexus__VfsReply *r = NULL;
	int rc = vc_path(c, type, path, NULL, 0, 0, &r);
	if (rc < 0)
		return rc;
	if (!r->stat)
		rc = -EBADMSG;
	else if (st)
		*st = *r->stat;
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return rc;
}

int vc_stat(fsclient *c, const char *path, Plexus__FsAttr *st)
{
	return s_stat(c, S_T(VFS_STAT), path, st);
}

int vc_lstat(fsclient *c, const char *path, Plexus__FsAttr *st)
{
	return s_stat(c, S_T(VFS_LSTAT), path, st);
}

int vc_rename(fsclient *c, const char *from, const char *to)
{
	return vc_path(c, S_T(VFS_RENAME), from, to, 0, 0, NULL);
}

int vc_link(fsclient *c, const char *existing, const char *path)
{
	return vc_path(c, S_T(VFS_LINK), existing, path, 0, 0, NULL);
}

int vc_symlink(fsclient *c, const char *target, const char *path)
{
	return vc_path(c, S_T(VFS_SYMLINK), path, target, 0, 0, NULL);
}

int vc_readlink(fsclient *c, const char *path, char *buf, size_t size)
{
	Plexus__VfsReply *r = NULL;
	int rc = vc_path(c, S_T(VFS_READLINK), path, NULL, 0, 0, &r);
	if (rc < 0)
		return rc;
	snprintf(buf, size, "%s", r->text ? r->text : "");
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return 0;
}

int vc_list(fsclient *c, const char *path, size_t size, char **names)
{
	int fd = fsc_open(c, path, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return fd;
	size_t cap = 4096, len = 0;
	char *out = calloc(1, cap);
	int count = 0, rc = 0;
	for (;;) {
		Plexus__VfsFd q = PLEXUS__VFS_FD__INIT;
		q.fd = fd;
		q.size = size;
		Plexus__VfsReply *r = NULL;
		int64_t v = vc_fd(c, S_T(VFS_GETDENTS), &q, NULL, 0, &r);
		if (v < 0) {
			rc = (int)v;
			break;
		}
		size_t n = r->n_dirents;
		for (size_t i = 0; i < n; i++) {
			size_t need = strlen(r->dirents[i]->name) + 2;
			if (len + need >= cap) {
				cap = (cap + need) * 2;
				out = realloc(out, cap);
			}
			len += (size_t)snprintf(out + len, cap - len, "%s\n", r->dirents[i]->name);
			count++;
		}
		protobuf_c_message_free_unpacked(&r->base, NULL);
		if (n == 0)
			break;
	}
	fsc_close(c, fd);
	if (rc < 0) {
		free(out);
		return rc;
	}
	*names = out;
	return count;
}

int vc_truncate(fsclient *c, const char *path, int64_t length)
{
	Plexus__VfsPath p = PLEXUS__VFS_PATH__INIT;
	p.path = (char *)path;
	p.path2 = "";
	p.length = length;
	return fsclient_call(c, S_T(VFS_TRUNCATE), &p.base, NULL, 0, NULL, NULL, 0, NULL,
	                     FSC_WAIT_MS);
}

int vc_ftruncate(fsclient *c, int fd, int64_t length)
{
	Plexus__VfsFd q = PLEXUS__VFS_FD__INIT;
	q.fd = fd;
	q.offset = length;
	return (int)vc_fd(c, S_T(VFS_FTRUNCATE), &q, NULL, 0, NULL);
}

int vc_chmod(fsclient *c, const char *path, uint32_t mode)
{
	return vc_path(c, S_T(VFS_CHMOD), path, NULL, 0, mode, NULL);
}

int vc_chown(fsclient *c, const char *path, int64_t uid, int64_t gid, int flags)
{
	Plexus__VfsPath p = PLEXUS__VFS_PATH__INIT;
	p.path = (char *)path;
	p.path2 = "";
	p.uid = uid;
	p.gid = gid;
	p.flags = flags;
	return fsclient_call(c, S_T(VFS_CHOWN), &p.base, NULL, 0, NULL, NULL, 0, NULL, FSC_WAIT_MS);
}

int vc_utimens(fsclient *c, const char *path, const int64_t *times, int flags)
{
	Plexus__VfsPath p = PLEXUS__VFS_PATH__INIT;
	Plexus__VfsTimes t = PLEXUS__VFS_TIMES__INIT;
	p.path = (char *)path;
	p.path2 = "";
	p.flags = flags;
	if (times) {
		t.atime_sec = times[0];
		t.atime_nsec = times[1];
		t.mtime_sec = times[2];
		t.mtime_nsec = times[3];
		p.times = &t;
	}
	return fsclient_call(c, S_T(VFS_UTIMENS), &p.base, NULL, 0, NULL, NULL, 0, NULL,
	                     FSC_WAIT_MS);
}

int vc_access(fsclient *c, const char *path, uint32_t mode)
{
	return vc_path(c, S_T(VFS_ACCESS), path, NULL, 0, mode, NULL);
}

int vc_sync(fsclient *c)
{
	return fsclient_call(c, S_T(VFS_SYNC), NULL, NULL, 0, NULL, NULL, 0, NULL, PLX_FOREVER);
}

int vc_mount(fsclient *c, const char *source, const char *target, const char *fs)
{
	Plexus__VfsMount m = PLEXUS__VFS_MOUNT__INIT;
	m.source = (char *)source;
	m.target = (char *)target;
	m.fs = (char *)fs;
	return fsclient_call(c, S_T(VFS_MOUNT), &m.base, NULL, 0, NULL, NULL, 0, NULL, FSC_WAIT_MS);
}

int vc_umount(fsclient *c, const char *target)
{
	return vc_path(c, S_T(VFS_UMOUNT), target, NULL, 0, 0, NULL);
}

int vc_statvfs(fsclient *c, const char *path, Plexus__FsStatvfs *st)
{
	Plexus__VfsReply *r = NULL;
	int rc = vc_path(c, S_T(VFS_STATVFS), path, NULL, 0, 0, &r);
	if (rc < 0)
		return rc;
	if (!r->statvfs)
		rc = -EBADMSG;
	else if (st)
		*st = *r->statvfs;
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return rc;
}

int vc_dup(fsclient *c, int fd)
{
	Plexus__VfsFd q = PLEXUS__VFS_FD__INIT;
	q.fd = fd;
	return (int)vc_fd(c, S_T(VFS_DUP), &q, NULL, 0, NULL);
}

int vc_dup2(fsclient *c, int fd, int fd2, int flags)
{
	Plexus__VfsFd q = PLEXUS__VFS_FD__INIT;
	q.fd = fd;
	q.fd2 = fd2;
	q.arg = flags;
	return (int)vc_fd(c, S_T(VFS_DUP2), &q, NULL, 0, NULL);
}

int vc_chdir(fsclient *c, const char *path)
{
	return vc_path(c, S_T(VFS_CHDIR), path, NULL, 0, 0, NULL);
}

int vc_getcwd(fsclient *c, char *buf, size_t size)
{
	Plexus__VfsReply *r = NULL;
	int rc = fsclient_call(c, S_T(VFS_GETCWD), NULL, NULL, 0, &r, NULL, 0, NULL, FSC_WAIT_MS);
	if (rc < 0)
		return rc;
	snprintf(buf, size, "%s", r->text ? r->text : "");
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return 0;
}

int64_t vc_lseek(fsclient *c, int fd, int64_t offset, int whence)
{
	Plexus__VfsFd q = PLEXUS__VFS_FD__INIT;
	q.fd = fd;
	q.offset = offset;
	q.whence = whence;
	return vc_fd(c, S_T(VFS_LSEEK), &q, NULL, 0, NULL);
}

ssize_t vc_pread(fsclient *c, int fd, void *buf, size_t size, int64_t offset)
{
	Plexus__VfsFd q = PLEXUS__VFS_FD__INIT;
	q.fd = fd;
	q.size = size;
	q.offset = offset;
	Plexus__VfsReply *r = NULL;
	size_t got = 0;
	int rc =
	    fsclient_call(c, S_T(VFS_PREAD), &q.base, NULL, 0, &r, buf, size, &got, FSC_WAIT_MS);
	if (rc < 0)
		return rc;
	ssize_t v = (ssize_t)r->value;
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return v == (ssize_t)got ? v : -EPROTO;
}

ssize_t vc_pwrite(fsclient *c, int fd, const void *buf, size_t size, int64_t offset)
{
	Plexus__VfsFd q = PLEXUS__VFS_FD__INIT;
	q.fd = fd;
	q.offset = offset;
	return (ssize_t)vc_fd(c, S_T(VFS_PWRITE), &q, buf, size, NULL);
}

int vc_register(fsclient *c, uint32_t uid, uint32_t gid, const uint32_t *groups, size_t ngroups)
{
	Plexus__VfsRegister r = PLEXUS__VFS_REGISTER__INIT;
	r.pid = 1;
	r.node = "n0";
	r.name = "vfscalls";
	r.uid = r.ruid = uid;
	r.gid = r.rgid = gid;
	r.groups = (uint32_t *)groups;
	r.n_groups = ngroups;
	r.umask = 022;
	return fsclient_call(c, S_T(VFS_REGISTER), &r.base, NULL, 0, NULL, NULL, 0, NULL,
	                     FSC_WAIT_MS);
}

int vc_umask(fsclient *c, uint32_t mask)
{
	Plexus__VfsFd q = PLEXUS__VFS_FD__INIT;
	q.arg = mask;
	return (int)vc_fd(c, S_T(VFS_UMASK), &q, NULL, 0, NULL);
}

int vc_exec(fsclient *c)
{
	return fsclient_call(c, S_T(VFS_EXEC), NULL, NULL, 0, NULL, NULL, 0, NULL, FSC_WAIT_MS);
}

int vc_ps(fsclient *c, Plexus__VfsReply **reply)
{
	return fsclient_call(c, S_T(VFS_PS), NULL, NULL, 0, reply, NULL, 0, NULL, FSC_WAIT_MS);
}

int vc_mounts(fsclient *c, Plexus__VfsReply **reply)
{
	return fsclient_call(c, S_T(VFS_MOUNTS), NULL, NULL, 0, reply, NULL, 0, NULL, FSC_WAIT_MS);
}

int vc_put_file(fsclient *c, const char *path, uint32_t mode, const void *data, size_t size)
{
	int fd = fsc_open(c, path, O_CREAT | O_TRUNC | O_WRONLY, mode);
	if (fd < 0)
		return fd;
	ssize_t n = size ? fsc_write(c, fd, data, size, FSC_WAIT_MS) : 0;
	int rc = fsc_close(c, fd);
	if (n < 0)
		return (int)n;
	return n != (ssize_t)size ? -EIO : rc;
}
