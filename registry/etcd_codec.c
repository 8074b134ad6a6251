/*
 * etcd_codec.c — turning etcd's JSON gateway encoding into C values and back.
 *
 * Entry points: reg_b64, reg_b64_decode, reg_int64, reg_kv_parse, reg_kv_clear,
 * reg_kvs_parse, reg_prefix_end, reg_now_ms, plx_kv_free, plx_kvs_free.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "etcd_internal.h"

json_t *reg_b64(const void *data, size_t size)
{
	size_t len = sodium_base64_encoded_len(size, sodium_base64_VARIANT_ORIGINAL);
	char *text = malloc(len);
	if (!text)
		return NULL;
	sodium_bin2base64(text, len, data, size, sodium_base64_VARIANT_ORIGINAL);
	json_t *json = json_string(text);
	free(text);
	return json;
}

int reg_b64_decode(const char *text, uint8_t **out, size_t *size)
{
	size_t len = strlen(text);
	uint8_t *bin = malloc(len / 4 * 3 + 4);
	size_t n = 0;
	if (!bin)
		return -ENOMEM;
	if (sodium_base642bin(bin, len / 4 * 3 + 3, text, len, NULL, &n, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0) {
		free(bin);
		return -EBADMSG;
	}
	bin[n] = '\0';
	*out = bin;
	*size = n;
	return 0;
}

int reg_int64(const json_t *obj, const char *field, int64_t *out)
{
	json_t *value = json_object_get(obj, field);
	if (!value) {
		*out = 0;
		return 0;
	}
	if (json_is_integer(value)) {
		*out = json_integer_value(value);
		return 0;
	}
	if (!json_is_string(value))
		return -EBADMSG;
	const char *text = json_string_value(value);
	char *end = NULL;
	errno = 0;
	long long n = strtoll(text, &end, 10);
	if (errno || end == text || *end)
		return -EBADMSG;
	*out = n;
	return 0;
}

void reg_kv_clear(plx_kv *kv)
{
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof *kv);
}

/* Decodes the base64 field name of obj ("" when absent) into *out. */
static int s_b64_field(const json_t *obj, const char *name, uint8_t **out, size_t *size)
{
	json_t *field = json_object_get(obj, name);
	if (field && !json_is_string(field))
		return -EBADMSG;
	return reg_b64_decode(field ? json_string_value(field) : "", out, size);
}

int reg_kv_parse(const json_t *obj, plx_kv *kv)
{
	plx_kv parsed = {0};
	size_t key_size = 0;
	if (!json_is_object(obj))
		return -EBADMSG;
	int rc = s_b64_field(obj, "key", (uint8_t **)&parsed.key, &key_size);
	if (rc == 0)
		rc = s_b64_field(obj, "value", &parsed.value, &parsed.value_size);
	if (rc == 0 && strlen(parsed.key) != key_size)
		rc = -EBADMSG; /* keys with NUL bytes are not ours */
	if (rc == 0)
		rc = reg_int64(obj, "create_revision", &parsed.create_revision);
	if (rc == 0)
		rc = reg_int64(obj, "mod_revision", &parsed.mod_revision);
	if (rc == 0)
		rc = reg_int64(obj, "version", &parsed.version);
	if (rc == 0)
		rc = reg_int64(obj, "lease", &parsed.lease);
	if (rc < 0) {
		reg_kv_clear(&parsed);
		return rc;
	}
	*kv = parsed;
	return 0;
}

int reg_kvs_parse(const json_t *kvs_json, int64_t revision, plx_kvs **out)
{
	if (kvs_json && !json_is_array(kvs_json))
		return -EBADMSG;
	size_t n = kvs_json ? json_array_size(kvs_json) : 0;
	plx_kvs *kvs = calloc(1, sizeof *kvs);
	if (!kvs || (n > 0 && !(kvs->kvs = calloc(n, sizeof *kvs->kvs)))) {
		free(kvs);
		return -ENOMEM;
	}
	kvs->revision = revision;
	for (size_t i = 0; i < n; i++) {
		int rc = reg_kv_parse(json_array_get(kvs_json, i), &kvs->kvs[i]);
		if (rc < 0) {
			plx_kvs_free(&kvs);
			return rc;
		}
		kvs->count++;
	}
	*out = kvs;
	return 0;
}

json_t *reg_prefix_end(const char *prefix)
{
	size_t len = strlen(prefix);
	uint8_t *end = malloc(len + 1);
	if (!end)
		return NULL;
	memcpy(end, prefix, len);
	/* Drop trailing 0xff bytes, then increment the last one; an empty result means "to the
	 * end of the key space", which etcd spells as a single NUL byte. */
	while (len > 0 && end[len - 1] == 0xff)
		len--;
	json_t *json;
	if (len == 0) {
		json = reg_b64("", 1);
	} else {
		end[len - 1]++;
		json = reg_b64(end, len);
	}
	free(end);
	return json;
}

void plx_kv_free(plx_kv **kv_p)
{
	if (!kv_p || !*kv_p)
		return;
	reg_kv_clear(*kv_p);
	free(*kv_p);
	*kv_p = NULL;
}

void plx_kvs_free(plx_kvs **kvs_p)
{
	if (!kvs_p || !*kvs_p)
		return;
	plx_kvs *kvs = *kvs_p;
	for (size_t i = 0; i < kvs->count; i++)
		reg_kv_clear(&kvs->kvs[i]);
	free(kvs->kvs);
	free(kvs);
	*kvs_p = NULL;
}

int64_t reg_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
