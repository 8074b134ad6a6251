/*
 * etcd_internal.h — what the etcd client's files share; not installed.
 *
 * Entry points: reg_call, reg_call_member, reg_seterr, reg_curl_error, reg_handle_get,
 * reg_handle_put, reg_configure, reg_auth_header, reg_forget_token, reg_b64, reg_b64_decode,
 * reg_int64, reg_kv_parse, reg_kv_clear, reg_kvs_parse, reg_prefix_end, reg_now_ms.
 */
#ifndef PLEXUS_ETCD_INTERNAL_H
#define PLEXUS_ETCD_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include <curl/curl.h>
#include <jansson.h>

#include <plexus/etcd.h>

#define REG_POOL_MAX 8

struct plx_etcd {
	char **urls;
	size_t nurls;
	atomic_size_t current; /* index of the member that answered last */
	char *user;
	char *password;
	char *ca_file;
	char *cert_file;
	char *key_file;
	int timeout_ms;
	int connect_timeout_ms;
	pthread_mutex_t lock; /* guards idle, nidle */
	CURL *idle[REG_POOL_MAX];
	size_t nidle;
	pthread_mutex_t auth_lock; /* guards token; held while authenticating */
	char *token;
};

/* POSTs body (JSON) to path on a member, failing over to the next on transport errors. On
 * success sets *reply to the decoded answer (with a streaming "result" wrapper removed; caller
 * decrefs) and returns 0. */
int reg_call(plx_etcd *self, const char *path, json_t *body, json_t **reply);
/* The same to member index of the list only, without failing over. */
int reg_call_member(plx_etcd *self, size_t index, const char *path, json_t *body, json_t **reply);
/* Records the calling thread's error description; returns code. */
int reg_seterr(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Maps a libcurl result to a negative errno. */
int reg_curl_error(CURLcode rc);
/* Takes an idle easy handle (or a new one) / gives it back. */
CURL *reg_handle_get(plx_etcd *self);
void reg_handle_put(plx_etcd *self, CURL *handle);
/* Applies the client's TLS and connect-timeout options to handle. */
void reg_configure(plx_etcd *self, CURL *handle);
/* Returns the authorization header line for the current token, or NULL without auth. Caller
 * frees. Obtains a token first when needed; returns NULL and sets *err on failure. */
char *reg_auth_header(plx_etcd *self, const char *url, int *err);
/* Drops the token so that the next request authenticates again. */
void reg_forget_token(plx_etcd *self);

/* Base64 (the original alphabet, as etcd's gateway uses) of size bytes, as a JSON string. */
json_t *reg_b64(const void *data, size_t size);
/* Decodes base64 text into a new buffer, NUL-terminated beyond *size. Returns 0 or -EBADMSG. */
int reg_b64_decode(const char *text, uint8_t **out, size_t *size);
/* Reads a 64-bit number that etcd sends as a JSON string (or a number). A missing field reads
 * as 0. Returns 0 or -EBADMSG. */
int reg_int64(const json_t *obj, const char *field, int64_t *out);
/* Fills kv from an etcd KeyValue object. Returns 0 or -EBADMSG / -ENOMEM. */
int reg_kv_parse(const json_t *obj, plx_kv *kv);
void reg_kv_clear(plx_kv *kv);
/* The end of the key range that holds every key starting with prefix, as etcd wants it. */
json_t *reg_prefix_end(const char *prefix);
/* Parses a range answer's kvs (may be absent) into a new plx_kvs. Returns 0 or an error. */
int reg_kvs_parse(const json_t *kvs_json, int64_t revision, plx_kvs **out);
/* Monotonic milliseconds. */
int64_t reg_now_ms(void);

#endif
