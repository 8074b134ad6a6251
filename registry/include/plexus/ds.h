/*
 * plexus/ds.h — the MINIX data store (DS) API, kept in etcd.
 *
 * Entry points:
 *   plx_ds_new, plx_ds_destroy, plx_ds_owner
 *   plx_ds_publish_u32, plx_ds_publish_str, plx_ds_publish_mem, plx_ds_publish_label
 *   plx_ds_retrieve_u32, plx_ds_retrieve_str, plx_ds_retrieve_mem, plx_ds_retrieve_label
 *   plx_ds_delete, plx_ds_get, plx_ds_list, plx_ds_entry_free, plx_ds_entries_free
 *   plx_ds_subscribe, plx_ds_fd, plx_ds_notify_to, plx_ds_check
 *
 * A handle speaks for one owner (a service label). Every key has one owner: the service that
 * published it last. Values are u32, string, memory blob or label (an endpoint: label and
 * generation), stored as JSON at /plexus/<cluster>/ds/<owner>/<key>, with the owner of each key
 * recorded at /plexus/<cluster>/ds-owner/<key> so that a key is found by its name alone and two
 * owners never hold the same key (docs/registry.md).
 *
 * Meaning, as MINIX DS (servers/ds/store.c):
 *   publish  fails with -EEXIST when the key exists, unless PLX_DSF_OVERWRITE; overwriting a key
 *            published with PLX_DSF_PRIV_OVERWRITE by another owner fails with -EPERM;
 *   retrieve fails with -ESRCH when there is no such key of that type, -EPERM when the key was
 *            published with PLX_DSF_PRIV_RETRIEVE by another owner;
 *   delete   only by the key's owner (-EPERM), -ESRCH when absent;
 *   subscribe(regex) one subscription per handle (replace it with PLX_DSF_OVERWRITE, else
 *            -EEXIST); the extended regex is anchored (^...$) and matched against key names;
 *            a type flag limits it to that type; PLX_DSF_INITIAL queues every current match at
 *            once. Keys published with PLX_DSF_PRIV_SUBSCRIBE are seen only by their owner.
 *   check    returns the next changed key, once per key however often it changed since the last
 *            check (-ENOENT when none). Unlike MINIX, a deleted key is reported too (deleted).
 * Changes arrive in the subscriber's own loop, as in MINIX: with plx_ds_notify_to the server's
 * message loop receives a DS_NOTIFY notify from "ds"; a loop of its own may instead poll
 * plx_ds_fd(), an eventfd readable while changes wait. Either way, it then calls plx_ds_check
 * until it returns -ENOENT.
 *
 * Errors: those of plexus/etcd.h (etcd down: -ECONNREFUSED, -ETIMEDOUT, with plx_etcd_errmsg),
 * plus -EBADMSG for a value in etcd that is not a DS record, -EINVAL for a bad key or argument.
 * Threads: a handle may be used from several threads.
 */
#ifndef PLEXUS_DS_H
#define PLEXUS_DS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <plexus/etcd.h>
#include <plexus/transport.h>

#define PLX_DS_KEY_MAX   256 /* bytes with the NUL */
#define PLX_DS_OWNER_MAX 64  /* bytes with the NUL; owners contain no '/' */

/* Types (one per value) */
#define PLX_DSF_TYPE_U32   0x0001
#define PLX_DSF_TYPE_STR   0x0002
#define PLX_DSF_TYPE_MEM   0x0004
#define PLX_DSF_TYPE_LABEL 0x0008
#define PLX_DSF_MASK_TYPE  0x000f
/* Privileges a publisher can keep to itself */
#define PLX_DSF_PRIV_RETRIEVE  0x0010
#define PLX_DSF_PRIV_OVERWRITE 0x0020
#define PLX_DSF_PRIV_SUBSCRIBE 0x0040
#define PLX_DSF_MASK_PRIV      0x0070
/* Request flags */
#define PLX_DSF_OVERWRITE 0x0100 /* publish: replace; subscribe: replace the subscription */
#define PLX_DSF_INITIAL   0x0200 /* subscribe: queue the current matches at once */

typedef struct plx_ds plx_ds;

/* One stored value, as read from etcd. Strings are NUL-terminated. */
typedef struct plx_ds_entry {
	char key[PLX_DS_KEY_MAX];
	char owner[PLX_DS_OWNER_MAX];
	int type;  /* PLX_DSF_TYPE_*; 0 for a value that is not a DS record (-EBADMSG) */
	int flags; /* PLX_DSF_PRIV_* */
	uint32_t u32;
	char *str;                    /* TYPE_STR */
	uint8_t *mem;                 /* TYPE_MEM */
	size_t mem_size;              /* TYPE_MEM, and strlen(str) for TYPE_STR */
	char label[PLX_DS_OWNER_MAX]; /* TYPE_LABEL */
	uint64_t generation;          /* TYPE_LABEL */
	int64_t revision;             /* etcd mod revision */
} plx_ds_entry;

/* One change reported by plx_ds_check. */
typedef struct plx_ds_change {
	char key[PLX_DS_KEY_MAX];
	char owner[PLX_DS_OWNER_MAX];
	int type; /* PLX_DSF_TYPE_* of the value (the last one, for a deleted key) */
	bool deleted;
} plx_ds_change;

/* Returns a handle for owner in cluster, using etcd (which must outlive it), or NULL with errno
 * EINVAL (empty or too long names, '/' in either) or ENOMEM. No I/O. */
plx_ds *plx_ds_new(plx_etcd *etcd, const char *cluster, const char *owner);
/* Stops the subscription, closes the fd, frees the handle, sets *self_p to NULL. Accepts NULL. */
void plx_ds_destroy(plx_ds **self_p);
const char *plx_ds_owner(const plx_ds *self);

/* Publish: flags are PLX_DSF_OVERWRITE and PLX_DSF_PRIV_*. Return 0 or an error above. */
int plx_ds_publish_u32(plx_ds *self, const char *key, uint32_t value, int flags);
int plx_ds_publish_str(plx_ds *self, const char *key, const char *value, int flags);
int plx_ds_publish_mem(plx_ds *self, const char *key, const void *data, size_t size, int flags);
int plx_ds_publish_label(plx_ds *self, const char *key, const char *label, uint64_t generation,
                         int flags);

/* Retrieve: return 0 and fill the outputs, or an error (outputs untouched). */
int plx_ds_retrieve_u32(plx_ds *self, const char *key, uint32_t *value);
/* Copies at most size - 1 bytes and a NUL; returns the string's full length. */
int plx_ds_retrieve_str(plx_ds *self, const char *key, char *buf, size_t size);
/* *size is the buffer's capacity on entry and the number of bytes copied on return (as MINIX:
 * min(capacity, length)). Returns the blob's full length. */
int plx_ds_retrieve_mem(plx_ds *self, const char *key, void *buf, size_t *size);
/* label receives the endpoint's label (size bytes), *generation its generation. */
int plx_ds_retrieve_label(plx_ds *self, const char *key, char *label, size_t size,
                          uint64_t *generation);
/* Deletes key if it holds a value of type (PLX_DSF_TYPE_*, or 0 for any). Returns 0, -ESRCH,
 * -EPERM. */
int plx_ds_delete(plx_ds *self, const char *key, int type);

/* Reads key whatever its type, honouring PLX_DSF_PRIV_RETRIEVE. Sets *entry (caller frees with
 * plx_ds_entry_free). Returns 0, -ESRCH, -EPERM or -EBADMSG. */
int plx_ds_get(plx_ds *self, const char *key, plx_ds_entry **entry);
/* Reads every key whose name starts with prefix ("" for all), in key order, with the same
 * privilege check (keys kept private by another owner are left out). Values that are not DS
 * records are listed with type 0. Sets *entries (caller frees with plx_ds_entries_free) and
 * returns the count. */
int plx_ds_list(plx_ds *self, const char *prefix, plx_ds_entry **entries);
void plx_ds_entry_free(plx_ds_entry **entry_p);
void plx_ds_entries_free(plx_ds_entry **entries_p, size_t count);

/* Subscribes to keys whose whole name matches the extended regex pattern. flags: a type
 * (PLX_DSF_TYPE_*; 0 for all), PLX_DSF_INITIAL, PLX_DSF_OVERWRITE. Starts the handle's watch
 * on first use (so it fails like any request when etcd is down). Returns 0, -EEXIST, -EINVAL
 * (bad pattern) or an etcd error. */
int plx_ds_subscribe(plx_ds *self, const char *pattern, int flags);
/* Returns the eventfd that is readable while plx_ds_check has changes to report. Owned by
 * self; never closed before plx_ds_destroy. */
int plx_ds_fd(plx_ds *self);
/* Makes every moment at which changes start to wait also deliver a DS_NOTIFY notify (source
 * label "ds", proto/ds.proto) into ep's message loop (plx_ep_notify_local), once at once if
 * changes already wait. ep must outlive the subscription or be replaced with NULL first.
 * Returns 0. */
int plx_ds_notify_to(plx_ds *self, plx_ep *ep);
/* Takes the next change. Returns 0 and fills *change, -ENOENT when none waits, -ESRCH when the
 * handle has no subscription. */
int plx_ds_check(plx_ds *self, plx_ds_change *change);

#endif
