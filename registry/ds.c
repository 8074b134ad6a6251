/*
 * ds.c — DS publish, retrieve, delete and listing over etcd.
 *
 * Entry points: plx_ds_new, plx_ds_destroy, plx_ds_owner, plx_ds_publish_u32,
 * plx_ds_publish_str, plx_ds_publish_mem, plx_ds_publish_label, plx_ds_retrieve_u32,
 * plx_ds_retrieve_str, plx_ds_retrieve_mem, plx_ds_retrieve_label, plx_ds_delete, plx_ds_get,
 * plx_ds_list, plx_ds_entry_free, plx_ds_entries_free.
 *
 * A record is JSON: {"type": "u32"|"str"|"mem"|"label", "flags": <PLX_DSF_PRIV_* bits>,
 * "value": <number | string | base64 string | {"label": s, "generation": n}>}. Publishing writes
 * the owner index and the record in one transaction guarded by the index's revision, so racing
 * publishers of one key cannot both win.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "ds_internal.h"

#define S_RACE_RETRIES 16

plx_ds *plx_ds_new(plx_etcd *etcd, const char *cluster, const char *owner)
{
	if (!etcd || !ds_valid_name(cluster, 128, false) ||
	    !ds_valid_name(owner, PLX_DS_OWNER_MAX, false)) {
		errno = EINVAL;
		return NULL;
	}
	plx_ds *self = calloc(1, sizeof *self);
	if (!self) {
		errno = ENOMEM;
		return NULL;
	}
	self->etcd = etcd;
	snprintf(self->owner, sizeof self->owner, "%s", owner);
	pthread_mutex_init(&self->lock, NULL);
	self->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (asprintf(&self->ds_prefix, "/plexus/%s/ds/", cluster) < 0)
		self->ds_prefix = NULL;
	if (asprintf(&self->idx_prefix, "/plexus/%s/ds-owner/", cluster) < 0)
		self->idx_prefix = NULL;
	if (self->efd < 0 || !self->ds_prefix || !self->idx_prefix) {
		int err = self->efd < 0 ? errno : ENOMEM;
		plx_ds_destroy(&self);
		errno = err;
		return NULL;
	}
	return self;
}

void plx_ds_destroy(plx_ds **self_p)
{
	if (!self_p || !*self_p)
		return;
	plx_ds *self = *self_p;
	ds_sub_stop(self);
	if (self->efd >= 0)
		close(self->efd);
	free(self->queue);
	free(self->ds_prefix);
	free(self->idx_prefix);
	pthread_mutex_destroy(&self->lock);
	free(self);
	*self_p = NULL;
}

const char *plx_ds_owner(const plx_ds *self)
{
	return self->owner;
}

/* ---- records ---- */

/* ---- etcd paths ---- */

static char *s_path(const plx_ds *self, const char *owner, const char *key)
{
	char *path = NULL;
	return asprintf(&path, "%s%s/%s", self->ds_prefix, owner, key) < 0 ? NULL : path;
}

static char *s_index(const plx_ds *self, const char *key)
{
	char *path = NULL;
	return asprintf(&path, "%s%s", self->idx_prefix, key) < 0 ? NULL : path;
}

/* Moves the kv named path out of kvs into *out (NULL when absent). Returns 0 or -ENOMEM. */
static int s_take(plx_kvs *kvs, const char *path, plx_kv **out)
{
	*out = NULL;
	for (size_t i = 0; i < kvs->count; i++) {
		if (!kvs->kvs[i].key || strcmp(kvs->kvs[i].key, path) != 0)
			continue; /* NULL: taken already */
		if (!(*out = malloc(sizeof **out)))
			return -ENOMEM;
		**out = kvs->kvs[i];
		memset(&kvs->kvs[i], 0, sizeof kvs->kvs[i]);
		return 0;
	}
	return 0;
}

/* Reads the owner index of key and, in the same round trip, the record key would have if
 * self owned it (the common case when publishing). Returns 0 or an error. */
static int s_read_both(plx_ds *self, const char *idx, const char *mine, plx_kv **index,
                       plx_kv **rec)
{
	plx_op gets[2] = {{.type = PLX_OP_GET, .key = idx}, {.type = PLX_OP_GET, .key = mine}};
	plx_txn txn = {NULL, 0, gets, 2, NULL, 0};
	plx_kvs *got = NULL;
	int rc = plx_etcd_txn(self->etcd, &txn, &got);
	if (rc < 0)
		return rc;
	rc = s_take(got, idx, index);
	if (rc == 0)
		rc = s_take(got, mine, rec);
	plx_kvs_free(&got);
	if (rc == 0 && *index && !ds_valid_name((char *)(*index)->value, PLX_DS_OWNER_MAX, false))
		rc = -EBADMSG;
	if (rc < 0) {
		plx_kv_free(index);
		plx_kv_free(rec);
	}
	return rc;
}

/* Reads key's record through the index. Returns 0, -ESRCH or an error. *rec is NULL when the
 * index names an owner whose record is missing. */
static int s_read(plx_ds *self, const char *key, plx_kv **index, plx_kv **rec)
{
	char *idx = s_index(self, key), *mine = s_path(self, self->owner, key);
	int rc = idx && mine ? s_read_both(self, idx, mine, index, rec) : -ENOMEM;
	free(idx);
	free(mine);
	if (rc < 0)
		return rc;
	if (!*index) {
		plx_kv_free(rec); /* a record without index is not published */
		return -ESRCH;
	}
	if (strcmp((char *)(*index)->value, self->owner) == 0)
		return 0;
	plx_kv_free(rec);
	char *path = s_path(self, (char *)(*index)->value, key);
	rc = path ? plx_etcd_get(self->etcd, path, rec) : -ENOMEM;
	free(path);
	if (rc == -ENOENT) {
		*rec = NULL;
		rc = 0;
	}
	if (rc < 0)
		plx_kv_free(index);
	return rc;
}

/* ---- publish ---- */

/* Writes the record text for key as self's, given the current index (NULL: none) and record
 * (NULL: none). Returns 1 when written, 0 when either changed meanwhile, or an error. */
static int s_write(plx_ds *self, const char *key, const char *text, const plx_kv *index,
                   const plx_kv *rec)
{
	bool moving = index && strcmp((char *)index->value, self->owner) != 0;
	char *idx = s_index(self, key), *path = s_path(self, self->owner, key);
	char *old = moving ? s_path(self, (char *)index->value, key) : NULL;
	int rc = -ENOMEM;
	if (idx && path && (old || !moving)) {
		plx_cmp cmp[2] = {{.key = idx,
		                   .target = index ? PLX_CMP_MOD : PLX_CMP_VERSION,
		                   .number = index ? index->mod_revision : 0},
		                  {.key = moving ? old : path,
		                   .target = PLX_CMP_MOD,
		                   .number = rec ? rec->mod_revision : 0}};
		/* The old owner's record goes first, so watchers see the delete before the put. */
		plx_op ops[3] = {
		    {.type = PLX_OP_DELETE, .key = old},
		    {.type = PLX_OP_PUT, .key = path, .value = text, .value_size = strlen(text)},
		    {.type = PLX_OP_PUT,
		     .key = idx,
		     .value = self->owner,
		     .value_size = strlen(self->owner)}};
		plx_txn txn = {cmp, 2, moving ? ops : ops + 1, moving ? 3 : 2, NULL, 0};
		rc = plx_etcd_txn(self->etcd, &txn, NULL);
	}
	free(idx);
	free(path);
	free(old);
	return rc;
}

/* Checks whether self may (over)write key given its current record. */
static int s_may_write(plx_ds *self, const plx_kv *index, const plx_kv *rec, int flags)
{
	if (!index)
		return 0;
	if (!(flags & PLX_DSF_OVERWRITE))
		return -EEXIST;
	plx_ds_entry entry;
	if (!rec || ds_entry_parse(self, rec, &entry) < 0)
		return 0; /* a broken or missing record may be replaced */
	int perm = ds_may_see(self, entry.owner, entry.flags, PLX_DSF_PRIV_OVERWRITE);
	ds_entry_clear(&entry);
	return perm ? 0 : -EPERM;
}

/* True when key already holds exactly text, published by self. */
static bool s_is_mine(const plx_ds *self, const plx_kv *index, const plx_kv *rec, const char *text)
{
	return index && rec && strcmp((char *)index->value, self->owner) == 0 &&
	       rec->value_size == strlen(text) && memcmp(rec->value, text, rec->value_size) == 0;
}

static int s_publish(plx_ds *self, const char *key, int type, json_t *value, int flags)
{
	json_t *record = json_pack("{s:s, s:i, s:o}", "type", ds_type_name(type), "flags",
	                           flags & PLX_DSF_MASK_PRIV, "value", value);
	char *text = record ? json_dumps(record, JSON_COMPACT) : NULL;
	json_decref(record);
	if (!text)
		return -ENOMEM;
	int rc = -EAGAIN;
	for (int attempt = 0; attempt < S_RACE_RETRIES && rc == -EAGAIN; attempt++) {
		plx_kv *index = NULL, *rec = NULL;
		rc = s_read(self, key, &index, &rec);
		/* After a lost race: perhaps our own transaction applied and only its answer was
		 * lost (a retry on another member then fails its comparison). */
		bool done = rc == 0 && attempt > 0 && s_is_mine(self, index, rec, text);
		if (!done && (rc == 0 || rc == -ESRCH))
			rc = s_may_write(self, index, rec, flags);
		if (!done && rc == 0) {
			rc = s_write(self, key, text, index, rec);
			rc = rc == 1 ? 0 : rc == 0 ? -EAGAIN : rc;
		}
		plx_kv_free(&index);
		plx_kv_free(&rec);
	}
	free(text);
	return rc;
}

static bool s_valid_key(const char *key)
{
	return ds_valid_name(key, PLX_DS_KEY_MAX, true) && key[0] != '/';
}

int plx_ds_publish_u32(plx_ds *self, const char *key, uint32_t value, int flags)
{
	if (!s_valid_key(key))
		return -EINVAL;
	return s_publish(self, key, PLX_DSF_TYPE_U32, json_integer(value), flags);
}

int plx_ds_publish_str(plx_ds *self, const char *key, const char *value, int flags)
{
	json_t *json = value ? json_string(value) : NULL;
	if (!s_valid_key(key) || !json)
		return -EINVAL; /* NULL or not UTF-8 */
	return s_publish(self, key, PLX_DSF_TYPE_STR, json, flags);
}

int plx_ds_publish_mem(plx_ds *self, const char *key, const void *data, size_t size, int flags)
{
	if (!s_valid_key(key) || (size > 0 && !data) || size > PLX_ETCD_MAX_VALUE / 2)
		return -EINVAL;
	size_t len = sodium_base64_encoded_len(size, sodium_base64_VARIANT_ORIGINAL);
	char *text = malloc(len);
	if (!text)
		return -ENOMEM;
	sodium_bin2base64(text, len, data ? data : (const void *)"", size,
	                  sodium_base64_VARIANT_ORIGINAL);
	json_t *json = json_string(text);
	free(text);
	return json ? s_publish(self, key, PLX_DSF_TYPE_MEM, json, flags) : -ENOMEM;
}

int plx_ds_publish_label(plx_ds *self, const char *key, const char *label, uint64_t generation,
                         int flags)
{
	if (!s_valid_key(key) || !ds_valid_name(label, PLX_DS_OWNER_MAX, false) ||
	    generation == 0 || generation > INT64_MAX)
		return -EINVAL;
	json_t *json =
	    json_pack("{s:s, s:I}", "label", label, "generation", (json_int_t)generation);
	return json ? s_publish(self, key, PLX_DSF_TYPE_LABEL, json, flags) : -ENOMEM;
}

/* ---- retrieve ---- */

/* Reads key's entry and applies the retrieve privilege and, when type is set, the type. */
static int s_retrieve(plx_ds *self, const char *key, int type, plx_ds_entry *entry)
{
	if (!s_valid_key(key))
		return -EINVAL;
	plx_kv *index = NULL, *rec = NULL;
	int rc = s_read(self, key, &index, &rec);
	if (rc == 0 && !rec)
		rc = -ESRCH; /* index without record: a publish or delete in flight */
	if (rc == 0)
		rc = ds_entry_parse(self, rec, entry);
	plx_kv_free(&index);
	plx_kv_free(&rec);
	if (rc == 0 && type && entry->type != type)
		rc = -ESRCH;
	if (rc == 0 && !ds_may_see(self, entry->owner, entry->flags, PLX_DSF_PRIV_RETRIEVE))
		rc = -EPERM;
	if (rc < 0)
		ds_entry_clear(entry);
	return rc;
}

int plx_ds_retrieve_u32(plx_ds *self, const char *key, uint32_t *value)
{
	plx_ds_entry entry = {0};
	int rc = s_retrieve(self, key, PLX_DSF_TYPE_U32, &entry);
	if (rc == 0 && value)
		*value = entry.u32;
	ds_entry_clear(&entry);
	return rc;
}

int plx_ds_retrieve_str(plx_ds *self, const char *key, char *buf, size_t size)
{
	if (!buf || size == 0)
		return -EINVAL;
	plx_ds_entry entry = {0};
	int rc = s_retrieve(self, key, PLX_DSF_TYPE_STR, &entry);
	if (rc == 0) {
		snprintf(buf, size, "%s", entry.str);
		rc = (int)entry.mem_size;
	}
	ds_entry_clear(&entry);
	return rc;
}

int plx_ds_retrieve_mem(plx_ds *self, const char *key, void *buf, size_t *size)
{
	if (!size || (*size > 0 && !buf))
		return -EINVAL;
	plx_ds_entry entry = {0};
	int rc = s_retrieve(self, key, PLX_DSF_TYPE_MEM, &entry);
	if (rc == 0) {
		size_t n = entry.mem_size < *size ? entry.mem_size : *size;
		if (n > 0)
			memcpy(buf, entry.mem, n);
		*size = n;
		rc = (int)entry.mem_size;
	}
	ds_entry_clear(&entry);
	return rc;
}

int plx_ds_retrieve_label(plx_ds *self, const char *key, char *label, size_t size,
                          uint64_t *generation)
{
	plx_ds_entry entry = {0};
	int rc = s_retrieve(self, key, PLX_DSF_TYPE_LABEL, &entry);
	if (rc == 0 && label && strlen(entry.label) >= size)
		rc = -ENAMETOOLONG;
	if (rc == 0) {
		if (label)
			strcpy(label, entry.label);
		if (generation)
			*generation = entry.generation;
	}
	ds_entry_clear(&entry);
	return rc;
}

int plx_ds_get(plx_ds *self, const char *key, plx_ds_entry **entry)
{
	plx_ds_entry *got = calloc(1, sizeof *got);
	if (!got || !entry) {
		free(got);
		return got ? -EINVAL : -ENOMEM;
	}
	int rc = s_retrieve(self, key, 0, got);
	if (rc < 0) {
		free(got);
		return rc;
	}
	*entry = got;
	return 0;
}

/* ---- delete ---- */

int plx_ds_delete(plx_ds *self, const char *key, int type)
{
	if (!s_valid_key(key) || (type & ~PLX_DSF_MASK_TYPE))
		return -EINVAL;
	plx_kv *index = NULL, *rec = NULL;
	plx_ds_entry entry = {0};
	int rc = s_read(self, key, &index, &rec);
	if (rc == 0 && strcmp((char *)index->value, self->owner) != 0)
		rc = -EPERM;
	if (rc == 0 && type &&
	    (!rec || ds_entry_parse(self, rec, &entry) < 0 || entry.type != type))
		rc = -ESRCH;
	if (rc == 0) {
		char *idx = s_index(self, key), *path = s_path(self, self->owner, key);
		plx_cmp cmp = {.key = idx, .target = PLX_CMP_MOD, .number = index->mod_revision};
		plx_op ops[2] = {{.type = PLX_OP_DELETE, .key = path},
		                 {.type = PLX_OP_DELETE, .key = idx}};
		plx_txn txn = {&cmp, 1, ops, 2, NULL, 0};
		rc = idx && path ? plx_etcd_txn(self->etcd, &txn, NULL) : -ENOMEM;
		rc = rc == 1 ? 0 : rc == 0 ? -EAGAIN : rc;
		free(idx);
		free(path);
	}
	ds_entry_clear(&entry);
	plx_kv_free(&index);
	plx_kv_free(&rec);
	return rc;
}

/* ---- listing ---- */

void plx_ds_entry_free(plx_ds_entry **entry_p)
{
	if (!entry_p || !*entry_p)
		return;
	ds_entry_clear(*entry_p);
	free(*entry_p);
	*entry_p = NULL;
}

void plx_ds_entries_free(plx_ds_entry **entries_p, size_t count)
{
	if (!entries_p || !*entries_p)
		return;
	for (size_t i = 0; i < count; i++)
		ds_entry_clear(&(*entries_p)[i]);
	free(*entries_p);
	*entries_p = NULL;
}

/* Orders entries by key name (etcd orders them by owner first). */
static int s_by_key(const void *a, const void *b)
{
	return strcmp(((const plx_ds_entry *)a)->key, ((const plx_ds_entry *)b)->key);
}

int plx_ds_list(plx_ds *self, const char *prefix, plx_ds_entry **entries)
{
	if (!prefix || !entries)
		return -EINVAL;
	plx_kvs *kvs = NULL;
	int rc = plx_etcd_range(self->etcd, self->ds_prefix, &kvs);
	if (rc < 0)
		return rc;
	plx_ds_entry *list = calloc(kvs->count + 1, sizeof *list);
	size_t n = 0;
	for (size_t i = 0; list && i < kvs->count; i++) {
		plx_ds_entry *e = &list[n];
		ds_entry_parse(self, &kvs->kvs[i], e); /* type 0 when malformed */
		if (!e->key[0] || strncmp(e->key, prefix, strlen(prefix)) != 0 ||
		    (e->type && !ds_may_see(self, e->owner, e->flags, PLX_DSF_PRIV_RETRIEVE)))
			ds_entry_clear(e);
		else
			n++;
	}
	plx_kvs_free(&kvs);
	if (!list)
		return -ENOMEM;
	qsort(list, n, sizeof *list, s_by_key);
	*entries = list;
	return (int)n;
}
