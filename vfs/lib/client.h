/*
 * client.h — libplexus's inside: the handle, the one call path every system call takes to
 * VFS, and the conversions from VFS's answers to POSIX structures.
 *
 * Entry points: plexus__call, plexus__answer_free, plexus__register, plexus__rejoin, plexus__fail,
 * plexus__check_path, plexus__stat_from, plexus__statvfs_from, plexus__times_to,
 * plexus__set_chunk_max, plexus__chunk_max, plexus__label.
 */
#ifndef PLEXUS_CLIENT_H
#define PLEXUS_CLIENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <plexus/endpoint.h>
#include <plexus/etcd.h>
#include <plexus/plexus.h>
#include <plexus/transport.h>

#include "plexus/proto/vfs.pb-c.h"

#define PLEXUS__TIMEOUT_MS 10000
#define PLEXUS__CHUNK_MAX  (4u * 1024 * 1024) /* bytes per VFS_READ / VFS_WRITE */
#define PLEXUS__PATH_MAX   4096
#define PLEXUS__LEASE_TTL  2 /* seconds: how long VFS keeps a dead process */
#define PLEXUS__WAIT       PLX_FOREVER

struct plexus {
	plx_ctx *ctx;
	plx_etcd *etcd;
	plx_lease *lease;
	plx_epcache *cache;
	plx_ep *ep;
	char cluster[64];
	char vfs[PLX_LABEL_MAX];
	char label[PLX_LABEL_MAX];
	char node[PLX_NODE_MAX];
	char name[64];
	uint64_t generation;
	bool published;
	bool registered;
	int timeout_ms;
	size_t chunk_max;
	pthread_mutex_t rejoin_lock; /* one plexus__rejoin at a time */
};

/* What VFS answered: the message (owns the data frame) and its unpacked VfsReply. */
typedef struct plexus__answer {
	plx_msg *msg;
	Plexus__VfsReply *reply;
} plexus__answer;

/* Sends one request of the VFS family (body may be NULL, data may be NULL with size 0) and
 * waits up to timeout_ms (PLEXUS__WAIT: until VFS answers or dies). Returns the reply's value
 * (>= 0) or a negative errno: VFS's status, or -ETIMEDOUT, -EHOSTDOWN (VFS gone), -EPROTO (an
 * answer that does not parse), -EMSGSIZE. When ans is not NULL and VFS answered 0, ans holds
 * the answer (free with plexus__answer_free); it is zeroed otherwise. */
int64_t plexus__call(plexus *self, uint32_t type, const ProtobufCMessage *body, const void *data,
                     size_t size, int timeout_ms, plexus__answer *ans);
void plexus__answer_free(plexus__answer *ans);
/* VFS_REGISTER with the process's credentials (again, when VFS forgot the process). Returns
 * 0 or a negative errno. */
int plexus__register(plexus *self);
/* When VFS has forgotten the process: a new lease if the old one lapsed, the endpoint record
 * written again, VFS_REGISTER. Returns 0 or a negative errno. */
int plexus__rejoin(plexus *self);
/* Sets errno to -rc and returns -1: the POSIX way out of a failed call. */
int plexus__fail(int64_t rc);
/* 0 for a usable path, -EFAULT (NULL) or -ENAMETOOLONG. */
int plexus__check_path(const char *path);
void plexus__stat_from(const Plexus__FsAttr *attr, struct stat *st);
void plexus__statvfs_from(const Plexus__FsStatvfs *fs, struct statvfs *buf);
/* Fills *out from POSIX times (NULL: both now). */
void plexus__times_to(const struct timespec times[2], Plexus__VfsTimes *out);
/* Tests and tools: the largest data frame one request carries (>= 1). */
void plexus__set_chunk_max(plexus *self, size_t bytes);
size_t plexus__chunk_max(const plexus *self);
/* The handle's endpoint label and generation (as VFS sees it). */
const char *plexus__label(const plexus *self, uint64_t *generation);

#endif
