/*
 * endpoint.c — endpoint records and generation counters in etcd.
 *
 * Entry points: plx_generation_next, plx_generation_next_many, plx_endpoint_publish,
 * plx_endpoint_withdraw, plx_endpoint_lookup, plx_endpoint_list, plx_endpoint_parse,
 * plx_endpoint_format, plx_endpoint_public_address, plx_endpoint_rec_address.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <plexus/endpoint.h>
#include <plexus/link_security.h>

#define S_CAS_ATTEMPTS 1000

static bool s_fits(const char *text, size_t size)
{
	return text && *text && strlen(text) < size;
}

static bool s_valid_label(const char *label)
{
	return s_fits(label, PLX_LABEL_MAX) && !strchr(label, '/');
}

static char *s_key(const char *cluster, const char *kind, const char *label)
{
	char *key = NULL;
	return asprintf(&key, "/plexus/%s/%s/%s", cluster, kind, label) < 0 ? NULL : key;
}

/* A counter's record: its decimal value and mod revision. Returns 0 or -EBADMSG. */
static int s_parse_counter(const plx_kv *kv, uint64_t *value, int64_t *mod)
{
	char *end = NULL;
	errno = 0;
	unsigned long long n = strtoull((char *)kv->value, &end, 10);
	*value = n;
	*mod = kv->mod_revision;
	return errno || end == (char *)kv->value || *end ? -EBADMSG : 0;
}

/* The compare-and-put that moves key from value (at mod revision mod; 0: absent, as etcd reads
 * a missing key's mod revision) to value + 1, written as decimal into text. */
static void s_counter_bump(const char *key, uint64_t value, int64_t mod, char text[24],
                           plx_cmp *cmp, plx_op *put)
{
	snprintf(text, 24, "%" PRIu64, value + 1);
	*cmp = (plx_cmp){.key = key, .target = PLX_CMP_MOD, .number = mod};
	*put = (plx_op){.type = PLX_OP_PUT, .key = key, .value = text, .value_size = strlen(text)};
}

/* Reads the counter: *value 0 and *mod 0 when absent. */
static int s_read_counter(plx_etcd *etcd, const char *key, uint64_t *value, int64_t *mod)
{
	plx_kv *kv = NULL;
	int rc = plx_etcd_get(etcd, key, &kv);
	if (rc == -ENOENT) {
		*value = 0;
		*mod = 0;
		return 0;
	}
	if (rc < 0)
		return rc;
	rc = s_parse_counter(kv, value, mod);
	plx_kv_free(&kv);
	return rc;
}

int plx_generation_next(plx_etcd *etcd, const char *cluster, const char *label,
                        uint64_t *generation)
{
	if (!s_valid_label(label) || !cluster || !*cluster || !generation)
		return -EINVAL;
	char *key = s_key(cluster, "gen", label);
	if (!key)
		return -ENOMEM;
	int rc = -EAGAIN;
	uint64_t next = 0;
	for (int i = 0; i < S_CAS_ATTEMPTS && rc == -EAGAIN; i++) {
		uint64_t value;
		int64_t mod;
		char text[24];
		if ((rc = s_read_counter(etcd, key, &value, &mod)) < 0)
			break;
		next = value + 1;
		plx_cmp cmp;
		plx_op put;
		s_counter_bump(key, value, mod, text, &cmp, &put);
		plx_txn txn = {&cmp, 1, &put, 1, NULL, 0};
		rc = plx_etcd_txn(etcd, &txn, NULL);
		rc = rc == 1 ? 0 : rc == 0 ? -EAGAIN : rc;
	}
	free(key);
	if (rc == 0)
		*generation = next;
	return rc;
}

/* The counter key holds in got (read at got's revision): *value and *mod, 0 and 0 when got does
 * not have it. Returns 0 or -EBADMSG. */
static int s_counter_in(const plx_kvs *got, const char *key, uint64_t *value, int64_t *mod)
{
	*value = 0;
	*mod = 0;
	for (size_t i = 0; got && i < got->count; i++)
		if (strcmp(got->kvs[i].key, key) == 0)
			return s_parse_counter(&got->kvs[i], value, mod);
	return 0;
}

/* One batch of at most PLX_GENERATION_BATCH labels: reads every counter in one transaction,
 * then writes every counter + 1 in one transaction that holds only if none moved. Returns 1
 * (generations set), 0 (one moved: nothing written) or an etcd error. */
static int s_next_batch(plx_etcd *etcd, char **keys, size_t n, uint64_t *generations)
{
	plx_op ops[PLX_GENERATION_BATCH];
	plx_cmp cmps[PLX_GENERATION_BATCH];
	char text[PLX_GENERATION_BATCH][24];
	for (size_t i = 0; i < n; i++)
		ops[i] = (plx_op){.type = PLX_OP_GET, .key = keys[i]};
	plx_kvs *got = NULL;
	plx_txn read = {NULL, 0, ops, n, NULL, 0};
	int rc = plx_etcd_txn(etcd, &read, &got);
	for (size_t i = 0; rc >= 0 && i < n; i++) {
		uint64_t value;
		int64_t mod;
		rc = s_counter_in(got, keys[i], &value, &mod);
		generations[i] = value + 1;
		s_counter_bump(keys[i], value, mod, text[i], &cmps[i], &ops[i]);
	}
	plx_kvs_free(&got);
	if (rc < 0)
		return rc;
	plx_txn write = {cmps, n, ops, n, NULL, 0};
	return plx_etcd_txn(etcd, &write, NULL);
}

int plx_generation_next_many(plx_etcd *etcd, const char *cluster, const char *const *labels,
                             size_t n, uint64_t *generations, int *rcs)
{
	if (!cluster || !*cluster || (n && (!labels || !generations || !rcs)))
		return -EINVAL;
	int failed = 0;
	for (size_t at = 0; at < n; at += PLX_GENERATION_BATCH) {
		size_t m = n - at < PLX_GENERATION_BATCH ? n - at : PLX_GENERATION_BATCH, k = 0;
		char *keys[PLX_GENERATION_BATCH];
		size_t idx[PLX_GENERATION_BATCH];
		uint64_t gens[PLX_GENERATION_BATCH];
		for (size_t i = at; i < at + m; i++) {
			rcs[i] = s_valid_label(labels[i]) ? 0 : -EINVAL;
			keys[k] = rcs[i] ? NULL : s_key(cluster, "gen", labels[i]);
			if (!rcs[i] && !keys[k])
				rcs[i] = -ENOMEM;
			if (!rcs[i])
				idx[k++] = i;
		}
		int rc = k ? s_next_batch(etcd, keys, k, gens) : 1;
		for (size_t j = 0; j < k; j++) {
			size_t i = idx[j];
			if (rc == 1) /* written together */
				generations[i] = gens[j];
			else if (rc ==
			         0) /* a counter moved: each on its own, as plx_generation_next */
				rcs[i] =
				    plx_generation_next(etcd, cluster, labels[i], &generations[i]);
			else
				rcs[i] = rc;
			free(keys[j]);
		}
		for (size_t i = at; i < at + m; i++)
			failed += rcs[i] < 0;
	}
	return failed;
}

char *plx_endpoint_format(const plx_endpoint_rec *rec)
{
	if (!s_valid_label(rec->label) || rec->generation == 0 || rec->generation > INT64_MAX)
		return NULL;
	json_t *json = json_pack("{s:s, s:I, s:s, s:s, s:I, s:s, s:I}", "label", rec->label,
	                         "generation", (json_int_t)rec->generation, "node", rec->node,
	                         "address", rec->address, "pid", (json_int_t)rec->pid, "state",
	                         rec->state, "start_time", (json_int_t)rec->start_time);
	if (json && rec->cert[0] &&
	    json_object_set_new(json, "cert", json_string(rec->cert)) != 0) {
		json_decref(json);
		return NULL;
	}
	char *text = json ? json_dumps(json, JSON_COMPACT) : NULL;
	json_decref(json);
	return text;
}

int plx_endpoint_publish(plx_etcd *etcd, const char *cluster, const plx_endpoint_rec *rec,
                         int64_t lease)
{
	if (!rec || !cluster || !*cluster || !s_fits(rec->address, PLX_ADDRESS_MAX))
		return -EINVAL;
	char *text = plx_endpoint_format(rec);
	if (!text)
		return -EINVAL;
	char *gen = s_key(cluster, "gen", rec->label), *ep = s_key(cluster, "ep", rec->label);
	char expect[24];
	snprintf(expect, sizeof expect, "%" PRIu64, rec->generation);
	plx_cmp cmp = {
	    .key = gen, .target = PLX_CMP_VALUE, .value = expect, .value_size = strlen(expect)};
	plx_op put = {.type = PLX_OP_PUT,
	              .key = ep,
	              .value = text,
	              .value_size = strlen(text),
	              .lease = lease};
	plx_txn txn = {&cmp, 1, &put, 1, NULL, 0};
	int rc = gen && ep ? plx_etcd_txn(etcd, &txn, NULL) : -ENOMEM;
	free(gen);
	free(ep);
	free(text);
	return rc == 1 ? 0 : rc == 0 ? -ESTALE : rc;
}

int plx_endpoint_withdraw(plx_etcd *etcd, const char *cluster, const char *label,
                          uint64_t generation)
{
	plx_endpoint_rec rec;
	int rc = plx_endpoint_lookup(etcd, cluster, label, &rec);
	if (rc < 0)
		return rc;
	if (rec.generation != generation)
		return -ESTALE;
	char *ep = s_key(cluster, "ep", label);
	plx_cmp cmp = {.key = ep, .target = PLX_CMP_MOD, .number = rec.revision};
	plx_op del = {.type = PLX_OP_DELETE, .key = ep};
	plx_txn txn = {&cmp, 1, &del, 1, NULL, 0};
	rc = ep ? plx_etcd_txn(etcd, &txn, NULL) : -ENOMEM;
	free(ep);
	return rc == 1 ? 0 : rc == 0 ? -ESTALE : rc;
}

/* Copies string field name of json into out (size bytes); required when nonempty is true. */
static bool s_string(const json_t *json, const char *name, char *out, size_t size, bool nonempty)
{
	const char *text = json_string_value(json_object_get(json, name));
	if (!text || strlen(text) >= size || (nonempty && !*text))
		return false;
	strcpy(out, text);
	return true;
}

static bool s_int(const json_t *json, const char *name, int64_t *out)
{
	json_t *value = json_object_get(json, name);
	if (!json_is_integer(value))
		return false;
	*out = json_integer_value(value);
	return true;
}

int plx_endpoint_parse(const char *text, size_t size, const char *key_label, plx_endpoint_rec *rec)
{
	plx_endpoint_rec got = {0};
	int64_t generation = 0;
	json_t *json = json_loadb(text, size, 0, NULL);
	bool ok = json_is_object(json) &&
	          s_string(json, "label", got.label, sizeof got.label, true) &&
	          s_int(json, "generation", &generation) && generation > 0 &&
	          s_string(json, "node", got.node, sizeof got.node, false) &&
	          s_string(json, "address", got.address, sizeof got.address, true) &&
	          s_int(json, "pid", &got.pid) &&
	          s_string(json, "state", got.state, sizeof got.state, false) &&
	          s_int(json, "start_time", &got.start_time) && !strchr(got.label, '/') &&
	          (!json_object_get(json, "cert") ||
	           s_string(json, "cert", got.cert, sizeof got.cert, false)) &&
	          (!key_label || strcmp(key_label, got.label) == 0);
	json_decref(json);
	if (!ok)
		return -EBADMSG;
	got.generation = (uint64_t)generation;
	*rec = got;
	return 0;
}

int plx_endpoint_lookup(plx_etcd *etcd, const char *cluster, const char *label,
                        plx_endpoint_rec *rec)
{
	if (!s_valid_label(label) || !cluster || !*cluster || !rec)
		return -EINVAL;
	char *ep = s_key(cluster, "ep", label);
	plx_kv *kv = NULL;
	int rc = ep ? plx_etcd_get(etcd, ep, &kv) : -ENOMEM;
	free(ep);
	if (rc < 0)
		return rc;
	plx_endpoint_rec got;
	rc = plx_endpoint_parse((char *)kv->value, kv->value_size, label, &got);
	if (rc == 0) {
		got.lease = kv->lease;
		got.revision = kv->mod_revision;
		*rec = got;
	}
	plx_kv_free(&kv);
	return rc;
}

int plx_endpoint_list(plx_etcd *etcd, const char *cluster, plx_endpoint_rec **recs,
                      size_t *malformed)
{
	if (!cluster || !*cluster || !recs)
		return -EINVAL;
	char *prefix = s_key(cluster, "ep", "");
	plx_kvs *kvs = NULL;
	int rc = prefix ? plx_etcd_range(etcd, prefix, &kvs) : -ENOMEM;
	if (rc < 0) {
		free(prefix);
		return rc;
	}
	plx_endpoint_rec *out = calloc(kvs->count + 1, sizeof *out);
	size_t n = 0, bad = 0;
	for (size_t i = 0; out && i < kvs->count; i++) {
		const plx_kv *kv = &kvs->kvs[i];
		if (plx_endpoint_parse((char *)kv->value, kv->value_size, kv->key + strlen(prefix),
		                       &out[n]) < 0) {
			bad++;
			continue;
		}
		out[n].lease = kv->lease;
		out[n++].revision = kv->mod_revision;
	}
	free(prefix);
	plx_kvs_free(&kvs);
	if (!out)
		return -ENOMEM;
	if (malformed)
		*malformed = bad;
	*recs = out;
	return (int)n;
}

void plx_endpoint_public_address(const char *bound, const char *addr, char *out, size_t size)
{
	size_t key = strncmp(bound, "curve:", 6) == 0 ? 6 + PLX_KEY_TEXT : 0; /* "curve:KEY@" */
	if (strlen(bound) < key)
		key = 0;
	const char *plain = bound + key, *port = strrchr(plain, ':');
	if (strncmp(plain, "tcp://0.0.0.0:", 14) == 0 || strncmp(plain, "tcp://*:", 8) == 0)
		snprintf(out, size, "%.*stcp://%s%s", (int)key, bound, addr, port);
	else
		snprintf(out, size, "%s", bound);
}

void plx_endpoint_rec_address(plx_endpoint_rec *rec, const plx_ep *ep, const char *addr)
{
	const char *bound = plx_ep_address(ep);
	if (!bound)
		rec->address[0] = '\0';
	else if (addr)
		plx_endpoint_public_address(bound, addr, rec->address, sizeof rec->address);
	else
		snprintf(rec->address, sizeof rec->address, "%s", bound);
	snprintf(rec->cert, sizeof rec->cert, "%s", plx_ep_cert(ep));
}
