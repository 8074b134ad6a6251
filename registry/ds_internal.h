/*
 * ds_internal.h — what ds.c, ds_entry.c and ds_subscribe.c share; not installed.
 *
 * Entry points: ds_type_name, ds_valid_name, ds_entry_parse, ds_entry_clear, ds_split,
 * ds_may_see (ds_entry.c), ds_sub_stop (ds_subscribe.c).
 */
#ifndef PLEXUS_DS_INTERNAL_H
#define PLEXUS_DS_INTERNAL_H

#include <pthread.h>
#include <regex.h>

#include <plexus/ds.h>

struct plx_ds {
	plx_etcd *etcd;
	char owner[PLX_DS_OWNER_MAX];
	char *ds_prefix;  /* /plexus/<cluster>/ds/ */
	char *idx_prefix; /* /plexus/<cluster>/ds-owner/ */
	int efd;
	pthread_mutex_t lock; /* guards everything below */
	plx_watch *watch;
	bool subscribed;
	regex_t regex;
	int sub_types;
	plx_ep *notify_ep;    /* receives DS_NOTIFY when changes start to wait, or NULL */
	plx_ds_change *queue; /* pending changes, one per key, oldest first */
	size_t nqueue;
	size_t cap;
};

/* The name of a PLX_DSF_TYPE_* in a record ("u32", "str", "mem", "label"), or NULL. */
const char *ds_type_name(int type);
/* True when name is not empty, shorter than max and (unless slash_ok) has no '/'. */
bool ds_valid_name(const char *name, size_t max, bool slash_ok);
/* Fills entry from a record kv found at its path. Returns 0 or -EBADMSG (entry->key and
 * entry->owner are still set when the path was ours). */
int ds_entry_parse(const plx_ds *self, const plx_kv *kv, plx_ds_entry *entry);
void ds_entry_clear(plx_ds_entry *entry);
/* Splits an etcd path under ds_prefix into owner and key. Returns 0 or -EBADMSG. */
int ds_split(const plx_ds *self, const char *path, char *owner, char *key);
/* True when self may read (or hear about) a record of owner published with flags. */
bool ds_may_see(const plx_ds *self, const char *owner, int flags, int priv);
/* Stops the subscription's watch (without self->lock held). */
void ds_sub_stop(plx_ds *self);

#endif
