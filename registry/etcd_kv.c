/*
 * etcd_kv.c — key-value, transaction and lease requests, one function per gateway call.
 *
 * Entry points: plx_etcd_get, plx_etcd_range, plx_etcd_put, plx_etcd_delete, plx_etcd_compact,
 * plx_etcd_auth_enable, plx_etcd_auth_client, plx_etcd_auth_prefix_user,
 * plx_etcd_auth_service_user, plx_etcd_auth_node_user, plx_etcd_auth_turn_on, plx_etcd_auth_on,
 * plx_etcd_txn, plx_etcd_lease_grant, plx_etcd_lease_keepalive, plx_etcd_lease_revoke,
 * plx_etcd_lease_granted_ttl.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_internal.h"

/* Sends body (stolen) to path; on success *reply holds the answer. */
static int s_send(plx_etcd *self, const char *path, json_t *body, json_t **reply)
{
	if (!body)
		return reg_seterr(-ENOMEM, "etcd: cannot build a request");
	json_t *answer = NULL;
	int rc = reg_call(self, path, body, &answer);
	json_decref(body);
	if (rc == 0 && reply)
		*reply = answer;
	else
		json_decref(answer);
	return rc;
}

/* Every etcd answer carries a header with the store's revision; one without is not etcd's. */
static int s_header_revision(const json_t *reply, int64_t *revision)
{
	json_t *header = json_object_get(reply, "header");
	if (!json_is_object(header) || !json_object_get(header, "revision"))
		return -EBADMSG;
	return reg_int64(header, "revision", revision);
}

static int s_range(plx_etcd *self, json_t *body, plx_kvs **kvs)
{
	json_t *reply = NULL;
	int rc = s_send(self, "/v3/kv/range", body, &reply);
	if (rc < 0)
		return rc;
	int64_t revision = 0;
	rc = s_header_revision(reply, &revision);
	if (rc == 0)
		rc = reg_kvs_parse(json_object_get(reply, "kvs"), revision, kvs);
	json_decref(reply);
	if (rc < 0)
		reg_seterr(rc, "etcd %s: malformed range answer", plx_etcd_endpoint(self));
	return rc;
}

int plx_etcd_get(plx_etcd *self, const char *key, plx_kv **kv)
{
	if (!key || !*key || !kv)
		return -EINVAL;
	plx_kvs *kvs = NULL;
	int rc = s_range(self, json_pack("{s:o}", "key", reg_b64(key, strlen(key))), &kvs);
	if (rc < 0)
		return rc;
	if (kvs->count == 0) {
		plx_kvs_free(&kvs);
		return -ENOENT;
	}
	plx_kv *one = malloc(sizeof *one);
	if (!one) {
		plx_kvs_free(&kvs);
		return -ENOMEM;
	}
	*one = kvs->kvs[0];
	memset(&kvs->kvs[0], 0, sizeof kvs->kvs[0]);
	plx_kvs_free(&kvs);
	*kv = one;
	return 0;
}

int plx_etcd_range(plx_etcd *self, const char *prefix, plx_kvs **kvs)
{
	if (!prefix || !*prefix || !kvs)
		return -EINVAL;
	json_t *body = json_pack("{s:o, s:o}", "key", reg_b64(prefix, strlen(prefix)), "range_end",
	                         reg_prefix_end(prefix));
	plx_kvs *got = NULL;
	int rc = s_range(self, body, &got);
	if (rc < 0)
		return rc;
	*kvs = got;
	return (int)got->count;
}

/* Builds the JSON of a put (the body of /v3/kv/put and of a txn's requestPut). */
static json_t *s_put_json(const char *key, const void *value, size_t size, int64_t lease)
{
	json_t *put = json_pack("{s:o, s:o}", "key", reg_b64(key, strlen(key)), "value",
	                        reg_b64(value ? value : "", size));
	if (put && lease != 0)
		json_object_set_new(put, "lease", json_integer(lease));
	return put;
}

int plx_etcd_put(plx_etcd *self, const char *key, const void *value, size_t size, int64_t lease,
                 int64_t *revision)
{
	if (!key || !*key || (size > 0 && !value) || size > PLX_ETCD_MAX_VALUE)
		return -EINVAL;
	json_t *reply = NULL;
	int rc = s_send(self, "/v3/kv/put", s_put_json(key, value, size, lease), &reply);
	if (rc < 0)
		return rc;
	int64_t rev = 0;
	rc = s_header_revision(reply, &rev);
	json_decref(reply);
	if (rc < 0)
		return reg_seterr(rc, "etcd %s: malformed put answer", plx_etcd_endpoint(self));
	if (revision)
		*revision = rev;
	return rc;
}

static json_t *s_delete_json(const char *key, bool prefix)
{
	json_t *del = json_pack("{s:o}", "key", reg_b64(key, strlen(key)));
	if (del && prefix)
		json_object_set_new(del, "range_end", reg_prefix_end(key));
	return del;
}

int plx_etcd_delete(plx_etcd *self, const char *key, bool prefix)
{
	if (!key || !*key)
		return -EINVAL;
	json_t *reply = NULL;
	int rc = s_send(self, "/v3/kv/deleterange", s_delete_json(key, prefix), &reply);
	if (rc < 0)
		return rc;
	int64_t deleted = 0;
	rc = reg_int64(reply, "deleted", &deleted);
	json_decref(reply);
	return rc < 0 ? rc : (int)deleted;
}

int plx_etcd_compact(plx_etcd *self, int64_t revision)
{
	json_t *body = json_pack("{s:I, s:b}", "revision", (json_int_t)revision, "physical", 1);
	return s_send(self, "/v3/kv/compaction", body, NULL);
}

int plx_etcd_auth_enable(plx_etcd *self, const char *root_password)
{
	if (!root_password || !*root_password)
		return -EINVAL;
	json_t *user = json_pack("{s:s, s:s}", "name", "root", "password", root_password);
	int rc = s_send(self, "/v3/auth/user/add", user, NULL);
	if (rc == -EPROTO) /* made by an attempt that did not finish: its password again */
		rc = s_send(self, "/v3/auth/user/changepw",
		            json_pack("{s:s, s:s}", "name", "root", "password", root_password),
		            NULL);
	if (rc == 0) {
		json_t *grant = json_pack("{s:s, s:s}", "user", "root", "role", "root");
		rc = s_send(self, "/v3/auth/user/grant", grant, NULL);
	}
	if (rc == 0)
		rc = s_send(self, "/v3/auth/enable", json_object(), NULL);
	return rc;
}

/* Grants role perm ("READ", "READWRITE") on every key starting with prefix, or on the key
 * prefix alone when it ends in '$' (which is not part of the key). */
static int s_grant_prefix(plx_etcd *self, const char *role, const char *perm, const char *prefix)
{
	size_t len = strlen(prefix);
	if (len && prefix[len - 1] == '$')
		return s_send(self, "/v3/auth/role/grant",
		              json_pack("{s:s, s:{s:s, s:o}}", "name", role, "perm", "permType",
		                        perm, "key", reg_b64(prefix, len - 1)),
		              NULL);
	json_t *body = json_pack("{s:s, s:{s:s, s:o, s:o}}", "name", role, "perm", "permType", perm,
	                         "key", reg_b64(prefix, len), "range_end", reg_prefix_end(prefix));
	return s_send(self, "/v3/auth/role/grant", body, NULL);
}

/* Adds role and user name (password) that read everything under /plexus/CLUSTER/ and write
 * the keys starting with each of the nwrite prefixes; a user and role of that name from
 * before are replaced. */
static int s_auth_user(plx_etcd *self, const char *cluster, const char *name,
                       const char *const *write, size_t nwrite, const char *password)
{
	char all[256], key[256];
	snprintf(all, sizeof all, "/plexus/%s/", cluster);
	s_send(self, "/v3/auth/user/delete", json_pack("{s:s}", "name", name), NULL);
	s_send(self, "/v3/auth/role/delete", json_pack("{s:s}", "role", name), NULL);
	int rc = s_send(self, "/v3/auth/role/add", json_pack("{s:s}", "name", name), NULL);
	if (rc == 0)
		rc = s_grant_prefix(self, name, "READ", all);
	for (size_t i = 0; rc == 0 && i < nwrite; i++) {
		snprintf(key, sizeof key, "/plexus/%s/%s", cluster, write[i]);
		rc = s_grant_prefix(self, name, "READWRITE", key);
	}
	if (rc == 0)
		rc = s_send(self, "/v3/auth/user/add",
		            json_pack("{s:s, s:s}", "name", name, "password", password), NULL);
	if (rc == 0)
		rc = s_send(self, "/v3/auth/user/grant",
		            json_pack("{s:s, s:s}", "user", name, "role", name), NULL);
	return rc;
}

int plx_etcd_auth_client(plx_etcd *self, const char *cluster, const char *password)
{
	if (!cluster || !*cluster || !password || !*password)
		return -EINVAL;
	return s_auth_user(self, cluster, PLX_ETCD_CLIENT, NULL, 0, password);
}

int plx_etcd_auth_prefix_user(plx_etcd *self, const char *cluster, const char *name,
                              const char *prefix, const char *password)
{
	if (!cluster || !*cluster || !name || !*name || !prefix || strlen(prefix) < 3 ||
	    !password || !*password)
		return -EINVAL;
	char ep[128], gen[128];
	snprintf(ep, sizeof ep, "ep/%s", prefix);
	snprintf(gen, sizeof gen, "gen/%s", prefix);
	const char *write[] = {ep, gen};
	return s_auth_user(self, cluster, name, write, 2, password);
}

/* User name with password, made with a role writing the nwrite keys (s_auth_user) unless it
 * exists: then it is only given password again, which its running clients log in with when
 * their tokens are renewed. */
static int s_auth_own(plx_etcd *self, const char *cluster, const char *name,
                      const char *const *write, size_t nwrite, const char *password)
{
	int rc = s_send(self, "/v3/auth/user/changepw",
	                json_pack("{s:s, s:s}", "name", name, "password", password), NULL);
	if (rc != -EPROTO && rc != -ENOENT) /* done, or etcd away: not worth more calls */
		return rc;
	return s_auth_user(self, cluster, name, write, nwrite, password);
}

/* Whether name can be part of a user's name and its keys. */
static bool s_name_ok(const char *name)
{
	return name && *name && strlen(name) <= 64 && !strchr(name, '/');
}

int plx_etcd_auth_service_user(plx_etcd *self, const char *cluster, const char *label,
                               const char *password)
{
	if (!cluster || !*cluster || !s_name_ok(label) || !password || !*password)
		return -EINVAL;
	char name[80], ep[96], gen[96], spare[96], ds[96], state[96], blk[96], chr[96];
	snprintf(name, sizeof name, PLX_ETCD_SERVICE_USER "%.64s", label);
	snprintf(ep, sizeof ep, "ep/%.64s$", label);
	snprintf(gen, sizeof gen, "gen/%.64s$", label);
	snprintf(spare, sizeof spare, "spare/%.64s$", label);
	snprintf(ds, sizeof ds, "ds/%.64s/", label);
	snprintf(state, sizeof state, "ds-owner/state.%.64s.", label);
	snprintf(blk, sizeof blk, "ds-owner/drv.blk.%.64s$", label);
	snprintf(chr, sizeof chr, "ds-owner/drv.chr.%.64s$", label);
	const char *write[] = {ep, gen, spare, ds, state, blk, chr};
	return s_auth_own(self, cluster, name, write, sizeof write / sizeof *write, password);
}

int plx_etcd_auth_node_user(plx_etcd *self, const char *cluster, const char *node,
                            const char *password)
{
	if (!cluster || !*cluster || !s_name_ok(node) || !password || !*password)
		return -EINVAL;
	char name[80], rec[96], ep[96], gen[96];
	snprintf(name, sizeof name, PLX_ETCD_NODE_USER "%.64s", node);
	snprintf(rec, sizeof rec, "nodes/%.64s$", node);
	snprintf(ep, sizeof ep, "ep/node.%.64s$", node);
	snprintf(gen, sizeof gen, "gen/node.%.64s$", node);
	const char *write[] = {rec, ep, gen};
	return s_auth_own(self, cluster, name, write, sizeof write / sizeof *write, password);
}

int plx_etcd_auth_turn_on(plx_etcd *self, const char *cluster, const char *client_password)
{
	if (!cluster || !*cluster || !client_password || !*client_password)
		return -EINVAL;
	if (!self->user || strcmp(self->user, "root") != 0 || !self->password)
		return -EPERM;
	int rc = plx_etcd_auth_on(self);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	if ((rc = plx_etcd_auth_client(self, cluster, client_password)) == 0)
		rc = plx_etcd_auth_enable(self, self->password);
	return rc;
}

/* ---- transactions ---- */

static json_t *s_cmp_json(const plx_cmp *cmp)
{
	static const char *targets[] = {"VERSION", "CREATE", "MOD", "VALUE"};
	static const char *fields[] = {"version", "create_revision", "mod_revision", "value"};
	static const char *results[] = {"EQUAL", "NOT_EQUAL", "GREATER", "LESS"};
	if (!cmp->key || (unsigned)cmp->target > PLX_CMP_VALUE ||
	    (unsigned)cmp->result > PLX_CMP_LESS)
		return NULL;
	json_t *json = json_pack("{s:o, s:s, s:s}", "key", reg_b64(cmp->key, strlen(cmp->key)),
	                         "target", targets[cmp->target], "result", results[cmp->result]);
	if (!json)
		return NULL;
	if (cmp->target == PLX_CMP_VALUE)
		json_object_set_new(json, fields[cmp->target],
		                    reg_b64(cmp->value ? cmp->value : "", cmp->value_size));
	else
		json_object_set_new(json, fields[cmp->target], json_integer(cmp->number));
	return json;
}

static json_t *s_op_json(const plx_op *op)
{
	if (!op->key || !*op->key)
		return NULL;
	switch (op->type) {
	case PLX_OP_PUT:
		return json_pack("{s:o}", "requestPut",
		                 s_put_json(op->key, op->value, op->value_size, op->lease));
	case PLX_OP_DELETE:
		return json_pack("{s:o}", "requestDeleteRange", s_delete_json(op->key, false));
	case PLX_OP_GET:
		return json_pack("{s:{s:o}}", "requestRange", "key",
		                 reg_b64(op->key, strlen(op->key)));
	}
	return NULL;
}

static json_t *s_ops_json(const plx_op *ops, size_t n)
{
	json_t *array = json_array();
	for (size_t i = 0; array && i < n; i++) {
		json_t *op = s_op_json(&ops[i]);
		if (!op || json_array_append_new(array, op) < 0) {
			json_decref(array);
			return NULL;
		}
	}
	return array;
}

static json_t *s_txn_json(const plx_txn *txn)
{
	json_t *cmps = json_array();
	for (size_t i = 0; cmps && i < txn->ncmp; i++) {
		json_t *cmp = s_cmp_json(&txn->cmp[i]);
		if (!cmp || json_array_append_new(cmps, cmp) < 0) {
			json_decref(cmps);
			return NULL;
		}
	}
	return json_pack("{s:o, s:o, s:o}", "compare", cmps, "success",
	                 s_ops_json(txn->success, txn->nsuccess), "failure",
	                 s_ops_json(txn->failure, txn->nfailure));
}

/* Collects the kvs of every response_range in the txn answer. */
static int s_txn_got(const json_t *reply, int64_t revision, plx_kvs **got)
{
	json_t *all = json_array();
	json_t *responses = json_object_get(reply, "responses"), *item;
	size_t i;
	if (!all)
		return -ENOMEM;
	if (responses && !json_is_array(responses)) {
		json_decref(all);
		return -EBADMSG;
	}
	json_array_foreach(responses, i, item)
	{
		json_t *range = json_object_get(item, "response_range");
		json_t *kvs = json_object_get(range, "kvs");
		if (json_is_array(kvs))
			json_array_extend(all, kvs);
	}
	int rc = reg_kvs_parse(all, revision, got);
	json_decref(all);
	return rc;
}

int plx_etcd_txn(plx_etcd *self, const plx_txn *txn, plx_kvs **got)
{
	if (!txn || (txn->ncmp && !txn->cmp) || (txn->nsuccess && !txn->success) ||
	    (txn->nfailure && !txn->failure))
		return -EINVAL;
	json_t *body = s_txn_json(txn);
	if (!body)
		return -EINVAL;
	json_t *reply = NULL;
	int rc = s_send(self, "/v3/kv/txn", body, &reply);
	if (rc < 0)
		return rc;
	json_t *succeeded = json_object_get(reply, "succeeded");
	int64_t revision = 0;
	rc = s_header_revision(reply, &revision);
	if (rc == 0 && succeeded && !json_is_boolean(succeeded))
		rc = -EBADMSG;
	if (rc < 0)
		reg_seterr(rc, "etcd %s: malformed txn answer", plx_etcd_endpoint(self));
	if (rc == 0 && got)
		rc = s_txn_got(reply, revision, got);
	if (rc == 0)
		rc = json_is_true(succeeded) ? 1 : 0;
	json_decref(reply);
	return rc;
}

/* ---- leases ---- */

int plx_etcd_lease_grant(plx_etcd *self, int64_t ttl_s, int64_t *id)
{
	if (ttl_s <= 0 || !id)
		return -EINVAL;
	json_t *reply = NULL;
	int rc =
	    s_send(self, "/v3/lease/grant", json_pack("{s:I}", "TTL", (json_int_t)ttl_s), &reply);
	if (rc < 0)
		return rc;
	int64_t granted = 0;
	rc = reg_int64(reply, "ID", &granted);
	json_decref(reply);
	if (rc == 0 && granted == 0)
		rc = reg_seterr(-EBADMSG, "etcd %s: lease grant without an ID",
		                plx_etcd_endpoint(self));
	if (rc == 0)
		*id = granted;
	return rc;
}

int plx_etcd_lease_keepalive(plx_etcd *self, int64_t id)
{
	json_t *reply = NULL;
	int rc =
	    s_send(self, "/v3/lease/keepalive", json_pack("{s:I}", "ID", (json_int_t)id), &reply);
	if (rc < 0)
		return rc;
	int64_t ttl = 0;
	rc = reg_int64(reply, "TTL", &ttl);
	json_decref(reply);
	if (rc < 0)
		return rc;
	if (ttl <= 0)
		return reg_seterr(-ENOENT, "etcd %s: lease %lld has expired",
		                  plx_etcd_endpoint(self), (long long)id);
	return (int)ttl;
}

int plx_etcd_lease_revoke(plx_etcd *self, int64_t id)
{
	return s_send(self, "/v3/lease/revoke", json_pack("{s:I}", "ID", (json_int_t)id), NULL);
}

int plx_etcd_lease_granted_ttl(plx_etcd *self, int64_t id)
{
	json_t *reply = NULL;
	int rc =
	    s_send(self, "/v3/lease/timetolive", json_pack("{s:I}", "ID", (json_int_t)id), &reply);
	if (rc < 0)
		return rc;
	int64_t ttl = 0, granted = 0;
	rc = reg_int64(reply, "TTL", &ttl);
	if (rc == 0)
		rc = reg_int64(reply, "grantedTTL", &granted);
	json_decref(reply);
	if (rc < 0)
		return reg_seterr(rc, "etcd %s: malformed timetolive answer",
		                  plx_etcd_endpoint(self));
	if (ttl < 0 || granted <= 0)
		return reg_seterr(-ENOENT, "etcd: lease %lld is gone", (long long)id);
	return granted > INT32_MAX ? INT32_MAX : (int)granted;
}

int plx_etcd_auth_on(plx_etcd *self)
{
	if (!self->user)
		return -EINVAL;
	reg_forget_token(self);
	plx_kv *kv = NULL;
	int rc = plx_etcd_get(self, "/plexus", &kv); /* logs in (or finds it off) on the way */
	plx_kv_free(&kv);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	pthread_mutex_lock(&self->auth_lock);
	int on = self->token && self->token[0];
	pthread_mutex_unlock(&self->auth_lock);
	return on;
}
