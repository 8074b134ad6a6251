/*
 * fuzz-etcd-json.c — libFuzzer harness for the decoding of etcd's JSON answers: the registry's
 * codec (registry/etcd_codec.c: reg_int64, reg_kv_parse, reg_kvs_parse, reg_b64_decode,
 * reg_prefix_end) and the records read out of the values it decodes (plx_endpoint_parse,
 * ds_entry_parse).
 *
 * Entry point: LLVMFuzzerTestOneInput.
 *
 * The input is one answer of etcd's gRPC gateway, as the client reads it from curl. It is
 * decoded in every shape the client knows, each with the codec's functions: a streaming
 * answer's "result" wrapper; a range (header.revision and kvs); a transaction (succeeded and
 * responses[].response_range.kvs); a watch event list (events[].kv and prev_kv,
 * compact_revision); a lease (ID, TTL) and a delete (deleted). Every key and value decoded is
 * then read as an endpoint record and as a DS record, as plx_endpoint_list and the DS do.
 * Besides running without a crash, a leak or undefined behaviour, the documented promises
 * are checked: keys are C strings, values NUL-terminated past their size, base64 round trips,
 * a prefix's range end is above every key with that prefix, outputs are untouched on failure,
 * an endpoint record and a DS record hold what their headers say. A broken promise aborts.
 *
 * Not reached from here: the HTTP exchange itself (etcd.c's s_decode, which unwraps "result"
 * and maps "error" answers to errno values, and watch.c's stream splitting) — static functions
 * behind curl.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <plexus/ds.h>
#include <plexus/endpoint.h>

#include "ds_internal.h"
#include "etcd_internal.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_CLUSTER   "fuzz"
#define S_EP_PREFIX "/plexus/" S_CLUSTER "/ep/"

static plx_etcd *s_etcd;
static plx_ds *s_ds;

/* base64 of the bytes decodes to the same bytes. */
static void s_check_b64(const uint8_t *bytes, size_t size)
{
	json_t *text = reg_b64(bytes, size);
	FUZZ_CHECK(text != NULL);
	uint8_t *back = NULL;
	size_t n = 0;
	FUZZ_CHECK(reg_b64_decode(json_string_value(text), &back, &n) == 0);
	FUZZ_CHECK(n == size && memcmp(back, bytes, size) == 0 && back[n] == '\0');
	free(back);
	json_decref(text);
}

/* The range end of prefix key is above every key that starts with it. */
static void s_check_prefix_end(const char *key)
{
	json_t *end = reg_prefix_end(key);
	FUZZ_CHECK(end != NULL);
	uint8_t *e = NULL;
	size_t n = 0, len = strlen(key);
	FUZZ_CHECK(reg_b64_decode(json_string_value(end), &e, &n) == 0);
	size_t kept = len;
	while (kept > 0 && (uint8_t)key[kept - 1] == 0xff)
		kept--;
	if (kept == 0)
		FUZZ_CHECK(n == 1 && e[0] == 0); /* the whole key space */
	else
		FUZZ_CHECK(n == kept && memcmp(key, e, n) < 0);
	free(e);
	json_decref(end);
}

static void s_check_endpoint(const plx_kv *kv)
{
	plx_endpoint_rec rec;
	memset(&rec, 0x5a, sizeof rec);
	plx_endpoint_rec untouched = rec;
	const char *label = strncmp(kv->key, S_EP_PREFIX, strlen(S_EP_PREFIX)) == 0
	                        ? kv->key + strlen(S_EP_PREFIX)
	                        : NULL;
	int rc = plx_endpoint_parse((const char *)kv->value, kv->value_size, label, &rec);
	FUZZ_CHECK(rc == 0 || rc == -EBADMSG);
	if (rc < 0) {
		FUZZ_CHECK(memcmp(&rec, &untouched, sizeof rec) == 0);
		return;
	}
	FUZZ_CHECK(fuzz_terminated(rec.label, sizeof rec.label) && rec.label[0]);
	FUZZ_CHECK(!strchr(rec.label, '/') && (!label || strcmp(label, rec.label) == 0));
	FUZZ_CHECK(rec.generation > 0 && rec.generation <= INT64_MAX);
	FUZZ_CHECK(fuzz_terminated(rec.node, sizeof rec.node));
	FUZZ_CHECK(fuzz_terminated(rec.address, sizeof rec.address) && rec.address[0]);
	FUZZ_CHECK(fuzz_terminated(rec.state, sizeof rec.state));
}

static void s_check_ds(const plx_kv *kv)
{
	plx_ds_entry e;
	int rc = ds_entry_parse(s_ds, kv, &e);
	FUZZ_CHECK(rc == 0 || rc == -EBADMSG || rc == -ENOMEM);
	if (rc == 0) {
		FUZZ_CHECK(fuzz_terminated(e.key, sizeof e.key) && e.key[0]);
		FUZZ_CHECK(fuzz_terminated(e.owner, sizeof e.owner) && e.owner[0]);
		FUZZ_CHECK((e.flags & ~PLX_DSF_MASK_PRIV) == 0);
		switch (e.type) {
		case PLX_DSF_TYPE_U32:
			break;
		case PLX_DSF_TYPE_STR:
			FUZZ_CHECK(e.str && e.mem_size == strlen(e.str));
			break;
		case PLX_DSF_TYPE_MEM:
			FUZZ_CHECK(e.mem || e.mem_size == 0);
			break;
		case PLX_DSF_TYPE_LABEL:
			FUZZ_CHECK(fuzz_terminated(e.label, sizeof e.label) && e.label[0]);
			FUZZ_CHECK(e.generation > 0);
			break;
		default:
			FUZZ_CHECK(!"a DS record of no type");
		}
	}
	ds_entry_clear(&e);
}

/* One decoded key-value: what the codec promises, then the records read out of it. */
static void s_check_kv(const plx_kv *kv)
{
	FUZZ_CHECK(kv->key != NULL && kv->value != NULL);
	FUZZ_CHECK(kv->value[kv->value_size] == '\0');
	s_check_b64(kv->value, kv->value_size);
	s_check_b64((const uint8_t *)kv->key, strlen(kv->key));
	s_check_prefix_end(kv->key);
	s_check_endpoint(kv);
	s_check_ds(kv);
}

/* A KeyValue object, as a watch event carries it. */
static void s_one_kv(const json_t *obj)
{
	plx_kv kv;
	memset(&kv, 0x5a, sizeof kv);
	plx_kv untouched = kv;
	int rc = reg_kv_parse(obj, &kv);
	FUZZ_CHECK(rc == 0 || rc == -EBADMSG || rc == -ENOMEM);
	if (rc < 0) {
		FUZZ_CHECK(memcmp(&kv, &untouched, sizeof kv) == 0);
		return;
	}
	s_check_kv(&kv);
	reg_kv_clear(&kv);
}

/* A list of KeyValue objects, as a range answer carries it. */
static void s_kvs(const json_t *list, int64_t revision)
{
	plx_kvs *kvs = NULL;
	int rc = reg_kvs_parse(list, revision, &kvs);
	FUZZ_CHECK(rc == 0 || rc == -EBADMSG || rc == -ENOMEM);
	if (rc < 0) {
		FUZZ_CHECK(kvs == NULL);
		return;
	}
	FUZZ_CHECK(kvs && kvs->revision == revision);
	FUZZ_CHECK(kvs->count == (list ? json_array_size(list) : 0));
	for (size_t i = 0; i < kvs->count; i++)
		s_check_kv(&kvs->kvs[i]);
	plx_kvs_free(&kvs);
	FUZZ_CHECK(kvs == NULL);
}

/* A number field: 0 when absent, as the client reads ID, TTL, deleted and revisions. */
static int64_t s_number(const json_t *obj, const char *field)
{
	int64_t v = -1;
	int rc = reg_int64(obj, field, &v);
	FUZZ_CHECK(rc == 0 || rc == -EBADMSG);
	FUZZ_CHECK(rc < 0 || json_object_get(obj, field) || v == 0);
	return rc == 0 ? v : 0;
}

static void s_answer(const json_t *reply)
{
	int64_t revision = s_number(json_object_get(reply, "header"), "revision");
	s_kvs(json_object_get(reply, "kvs"), revision);
	size_t i;
	json_t *item;
	json_array_foreach(json_object_get(reply, "responses"), i, item)
	{
		json_t *kvs = json_object_get(json_object_get(item, "response_range"), "kvs");
		if (json_is_array(kvs))
			s_kvs(kvs, revision);
	}
	json_array_foreach(json_object_get(reply, "events"), i, item)
	{
		s_one_kv(json_object_get(item, "kv"));
		if (json_object_get(item, "prev_kv"))
			s_one_kv(json_object_get(item, "prev_kv"));
	}
	s_number(reply, "compact_revision");
	s_number(reply, "ID");
	s_number(reply, "TTL");
	s_number(reply, "deleted");
}

static void s_setup(void)
{
	plx_etcd_opts opts = {.endpoints = "http://127.0.0.1:9", .user = "fuzz"};
	s_etcd = plx_etcd_new(&opts);
	s_ds = s_etcd ? plx_ds_new(s_etcd, S_CLUSTER, "fuzzer") : NULL;
	FUZZ_CHECK(s_ds != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!s_ds)
		s_setup();
	json_error_t jerr;
	json_t *json = json_loadb((const char *)data, size, 0, &jerr);
	if (!json_is_object(json)) {
		json_decref(json);
		return 0;
	}
	s_answer(json);
	json_t *result = json_object_get(json, "result"); /* a streaming answer (watch) */
	if (json_is_object(result))
		s_answer(result);
	json_decref(json);
	return 0;
}
