/*
 * ds_entry.c — one DS record as etcd holds it: its path (owner and key), its JSON (type,
 * flags, value) and who may see it. ds.c writes and reads records, ds_subscribe.c hears of
 * them; both read them through here.
 *
 * Entry points: ds_type_name, ds_valid_name, ds_entry_parse, ds_entry_clear, ds_split,
 * ds_may_see.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "ds_internal.h"

static const char *s_type_names[] = {"u32", "str", "mem", "label"};

static int s_type_index(int type)
{
	switch (type) {
	case PLX_DSF_TYPE_U32:
		return 0;
	case PLX_DSF_TYPE_STR:
		return 1;
	case PLX_DSF_TYPE_MEM:
		return 2;
	case PLX_DSF_TYPE_LABEL:
		return 3;
	default:
		return -1;
	}
}

const char *ds_type_name(int type)
{
	int i = s_type_index(type);
	return i < 0 ? NULL : s_type_names[i];
}

bool ds_valid_name(const char *name, size_t max, bool slash_ok)
{
	size_t len = name ? strlen(name) : 0;
	return len > 0 && len < max && (slash_ok || !strchr(name, '/'));
}

void ds_entry_clear(plx_ds_entry *entry)
{
	free(entry->str);
	free(entry->mem);
	memset(entry, 0, sizeof *entry);
}

int ds_split(const plx_ds *self, const char *path, char *owner, char *key)
{
	size_t plen = strlen(self->ds_prefix);
	if (strncmp(path, self->ds_prefix, plen) != 0)
		return -EBADMSG;
	const char *rest = path + plen, *slash = strchr(rest, '/');
	if (!slash || slash == rest || (size_t)(slash - rest) >= PLX_DS_OWNER_MAX ||
	    !ds_valid_name(slash + 1, PLX_DS_KEY_MAX, true))
		return -EBADMSG;
	memcpy(owner, rest, (size_t)(slash - rest));
	owner[slash - rest] = '\0';
	strcpy(key, slash + 1);
	return 0;
}

bool ds_may_see(const plx_ds *self, const char *owner, int flags, int priv)
{
	return !(flags & priv) || strcmp(owner, self->owner) == 0;
}

static int s_parse_mem(const char *text, plx_ds_entry *entry)
{
	size_t len = strlen(text), n = 0;
	uint8_t *bin = malloc(len / 4 * 3 + 4);
	if (!bin)
		return -ENOMEM;
	if (sodium_base642bin(bin, len / 4 * 3 + 3, text, len, NULL, &n, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0) {
		free(bin);
		return -EBADMSG;
	}
	entry->mem = bin;
	entry->mem_size = n;
	return 0;
}

static int s_parse_label(const json_t *value, plx_ds_entry *entry)
{
	const char *label = json_string_value(json_object_get(value, "label"));
	json_t *gen = json_object_get(value, "generation");
	if (!label || !ds_valid_name(label, sizeof entry->label, false) || !json_is_integer(gen) ||
	    json_integer_value(gen) <= 0)
		return -EBADMSG;
	snprintf(entry->label, sizeof entry->label, "%s", label);
	entry->generation = (uint64_t)json_integer_value(gen);
	return 0;
}

/* Decodes the value of a record of type type. */
static int s_parse_value(int type, const json_t *value, plx_ds_entry *entry)
{
	switch (type) {
	case PLX_DSF_TYPE_U32:
		if (!json_is_integer(value) || json_integer_value(value) < 0 ||
		    json_integer_value(value) > UINT32_MAX)
			return -EBADMSG;
		entry->u32 = (uint32_t)json_integer_value(value);
		return 0;
	case PLX_DSF_TYPE_STR:
		if (!json_is_string(value))
			return -EBADMSG;
		entry->mem_size = json_string_length(value);
		entry->str = strdup(json_string_value(value));
		return entry->str ? 0 : -ENOMEM;
	case PLX_DSF_TYPE_MEM:
		return json_is_string(value) ? s_parse_mem(json_string_value(value), entry)
		                             : -EBADMSG;
	default:
		return s_parse_label(value, entry);
	}
}

static int s_type_from_name(const char *name)
{
	for (int i = 0; name && i < 4; i++)
		if (strcmp(name, s_type_names[i]) == 0)
			return 1 << i;
	return 0;
}

int ds_entry_parse(const plx_ds *self, const plx_kv *kv, plx_ds_entry *entry)
{
	memset(entry, 0, sizeof *entry);
	if (ds_split(self, kv->key, entry->owner, entry->key) < 0)
		return -EBADMSG;
	entry->revision = kv->mod_revision;
	json_t *json = json_loadb((const char *)kv->value, kv->value_size, 0, NULL);
	json_t *flags = json_object_get(json, "flags");
	int type = s_type_from_name(json_string_value(json_object_get(json, "type")));
	int rc = -EBADMSG;
	if (type && json_is_integer(flags) && json_object_get(json, "value")) {
		entry->flags = (int)json_integer_value(flags) & PLX_DSF_MASK_PRIV;
		rc = s_parse_value(type, json_object_get(json, "value"), entry);
	}
	json_decref(json);
	if (rc == 0)
		entry->type = type;
	return rc;
}
