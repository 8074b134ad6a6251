/*
 * etcd.c — the etcd client object: members, failover, authentication, one request.
 *
 * Entry points: plx_etcd_new, plx_etcd_destroy, plx_etcd_errmsg, plx_etcd_endpoint, plx_etcd_user,
 * reg_call, reg_seterr, reg_curl_error, reg_handle_get, reg_handle_put, reg_configure,
 * reg_auth_header, reg_forget_token.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include <plexus/etcd_tls.h>

#include "etcd_internal.h"
#include "keys_internal.h"

#define REG_REPLY_MAX (64u * 1024 * 1024)

static _Thread_local char s_errmsg[512];
static pthread_once_t s_once = PTHREAD_ONCE_INIT;

typedef struct s_buf {
	char *data;
	size_t size;
	bool overflow;
} s_buf;

static void s_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (sodium_init() < 0)
		abort(); /* libsodium cannot start: nothing sensible to do */
}

const char *plx_etcd_errmsg(void)
{
	return s_errmsg;
}

int reg_seterr(int code, const char *fmt, ...)
{
	char text[sizeof s_errmsg];
	va_list ap;

	va_start(ap, fmt); /* the arguments may include s_errmsg itself */
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	memcpy(s_errmsg, text, sizeof text);
	return code;
}

int reg_curl_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_WRITE_ERROR:
		return -EMSGSIZE;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return -EINVAL;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
		return -EPROTO; /* TLS set-up failed: a configuration problem, not an outage */
	default:
		return -ECONNRESET;
	}
}

/* Splits the comma-separated list into self->urls, without trailing slashes. */
static int s_parse_urls(plx_etcd *self, const char *list)
{
	char *copy = strdup(list), *save = NULL;
	if (!copy)
		return -ENOMEM;
	size_t n = 1;
	for (const char *p = list; *p; p++)
		n += *p == ',';
	self->urls = calloc(n, sizeof *self->urls);
	for (char *tok = strtok_r(copy, ", ", &save); tok && self->urls;
	     tok = strtok_r(NULL, ", ", &save)) {
		size_t len = strlen(tok);
		while (len > 0 && tok[len - 1] == '/')
			tok[--len] = '\0';
		if (len > 0)
			self->urls[self->nurls++] = strdup(tok);
	}
	free(copy);
	if (!self->urls)
		return -ENOMEM;
	for (size_t i = 0; i < self->nurls; i++)
		if (!self->urls[i])
			return -ENOMEM;
	return self->nurls > 0 ? 0 : -EINVAL;
}

static char *s_dup(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

/* Reads a secret from the first line of path into a new string, or NULL. */
static char *s_read_secret(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char line[512] = "";
	bool ok = fgets(line, sizeof line, f) != NULL;
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	return ok ? strdup(line) : NULL;
}

/* TLS files from $PLEXUS_KEYS when it holds etcd's authority (plexus/etcd_tls.h) and none
 * were given. */
static void s_tls_from_keys(plx_etcd *self, const char *keys)
{
	char ca[PATH_MAX], cert[PATH_MAX], key[PATH_MAX];
	if (self->ca_file || self->cert_file || plx_etcd_tls_files(keys, ca, cert, key) < 0)
		return;
	self->ca_file = strdup(ca);
	self->cert_file = strdup(cert);
	self->key_file = strdup(key);
}

/* The password file of $PLEXUS_KEYS: root's, or for a user who cannot read it, or a copy of
 * the keys without it (an operator's), the client's (mode 0644). Sets self->user; file ""
 * when the system's etcd takes everyone. */
static void s_user_from_keys(plx_etcd *self, const char *keys, char *file, size_t size)
{
	char client_file[4096];
	snprintf(file, size, "%s/etcd.password", keys);
	snprintf(client_file, sizeof client_file, "%s/etcd.client", keys);
	bool root = access(file, F_OK) == 0, client = root && access(file, R_OK) != 0;
	if (!root && access(client_file, F_OK) == 0)
		client = true; /* an operator's copy of the keys, without root's password */
	else if (!root) {
		file[0] = '\0'; /* a secured system whose etcd takes everyone */
		return;
	}
	if (client)
		snprintf(file, size, "%s", client_file);
	self->user = strdup(client ? PLX_ETCD_CLIENT : "root");
}

/* The credentials of a process not given any (docs/registry.md "Authentication"): TLS files
 * from PLEXUS_ETCD_CACERT / _CERT / _KEY, else from PLEXUS_KEYS (plexus/etcd_tls.h); a user
 * from PLEXUS_ETCD_USER with PLEXUS_ETCD_PASSWORD or the first line of
 * PLEXUS_ETCD_PASSWORD_FILE; else, when PLEXUS_KEYS names a directory with etcd.password
 * (`plexus up`), user root with that password, or for a user who cannot read it user
 * plexus-client with etcd.client's (mode 0644). Returns 0, or -EACCES when a password file
 * named cannot be read. */
/* The TLS files not given: PLEXUS_ETCD_CACERT / _CERT / _KEY, else from PLEXUS_KEYS. */
static void s_tls_from_env(plx_etcd *self)
{
	const char *ca = getenv("PLEXUS_ETCD_CACERT"), *cert = getenv("PLEXUS_ETCD_CERT");
	const char *key = getenv("PLEXUS_ETCD_KEY"), *keys = getenv("PLEXUS_KEYS");
	if (!self->ca_file && ca && *ca)
		self->ca_file = strdup(ca);
	if (!self->cert_file && cert && *cert)
		self->cert_file = strdup(cert);
	if (!self->key_file && key && *key)
		self->key_file = strdup(key);
	if (keys && *keys)
		s_tls_from_keys(self, keys);
}

/* The etcd user RS made for this service, handed over with its keys (plexus/link_keys.h);
 * a handover that fails is reported by plx_link_secure, which reads the same. */
static bool s_user_handed(plx_etcd *self)
{
	char user[PLX_HANDOVER_USER_MAX], password[PLX_ETCD_PASSWORD_MAX];
	if (reg_handover_etcd(user, sizeof user, password, sizeof password) != 1)
		return false;
	self->user = strdup(user);
	self->password = strdup(password);
	sodium_memzero(password, sizeof password);
	return true;
}

static int s_credentials_from_env(plx_etcd *self, bool handed)
{
	const char *user = getenv("PLEXUS_ETCD_USER"), *keys = getenv("PLEXUS_KEYS");
	s_tls_from_env(self);
	char file[4096] = "";
	if (handed && s_user_handed(self))
		return 0;
	if (user && *user) {
		const char *pw = getenv("PLEXUS_ETCD_PASSWORD"),
		           *pwf = getenv("PLEXUS_ETCD_PASSWORD_FILE");
		self->user = strdup(user);
		if (pw)
			self->password = strdup(pw);
		else if (pwf && *pwf)
			snprintf(file, sizeof file, "%s", pwf);
	} else if (keys && *keys)
		s_user_from_keys(self, keys, file, sizeof file);
	if (file[0] && !(self->password = s_read_secret(file)))
		return reg_seterr(-EACCES, "etcd password %s: %s", file, strerror(errno));
	return 0;
}

plx_etcd *plx_etcd_new(const plx_etcd_opts *opts)
{
	plx_etcd_opts none = {0};
	if (!opts)
		opts = &none;
	pthread_once(&s_once, s_global_init);
	plx_etcd *self = calloc(1, sizeof *self);
	if (!self) {
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&self->lock, NULL);
	pthread_mutex_init(&self->auth_lock, NULL);
	int rc = s_parse_urls(self, opts->endpoints ? opts->endpoints : PLX_ETCD_DEFAULT_URL);
	self->user = s_dup(opts->user);
	self->password = s_dup(opts->password);
	self->ca_file = s_dup(opts->ca_file);
	self->cert_file = s_dup(opts->cert_file);
	self->key_file = s_dup(opts->key_file);
	if (rc == 0 && !opts->user)
		rc = s_credentials_from_env(self, !opts->not_handed_user);
	else if (rc == 0) /* a user given: TLS still as the environment says */
		s_tls_from_env(self);
	self->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : PLX_ETCD_DEFAULT_TIMEOUT_MS;
	self->connect_timeout_ms =
	    opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : self->timeout_ms / 2;
	if (rc < 0) {
		plx_etcd_destroy(&self);
		errno = -rc;
		return NULL;
	}
	return self;
}

void plx_etcd_destroy(plx_etcd **self_p)
{
	if (!self_p || !*self_p)
		return;
	plx_etcd *self = *self_p;
	for (size_t i = 0; i < self->nidle; i++)
		curl_easy_cleanup(self->idle[i]);
	for (size_t i = 0; i < self->nurls; i++)
		free(self->urls[i]);
	free(self->urls);
	free(self->user);
	free(self->password);
	free(self->ca_file);
	free(self->cert_file);
	free(self->key_file);
	free(self->token);
	pthread_mutex_destroy(&self->lock);
	pthread_mutex_destroy(&self->auth_lock);
	free(self);
	*self_p = NULL;
}

const char *plx_etcd_user(const plx_etcd *self)
{
	return self->user;
}

const char *plx_etcd_endpoint(plx_etcd *self)
{
	return self->urls[atomic_load(&self->current) % self->nurls];
}

CURL *reg_handle_get(plx_etcd *self)
{
	CURL *handle = NULL;
	pthread_mutex_lock(&self->lock);
	if (self->nidle > 0)
		handle = self->idle[--self->nidle];
	pthread_mutex_unlock(&self->lock);
	return handle ? handle : curl_easy_init();
}

void reg_handle_put(plx_etcd *self, CURL *handle)
{
	if (!handle)
		return;
	pthread_mutex_lock(&self->lock);
	if (self->nidle < REG_POOL_MAX) {
		self->idle[self->nidle++] = handle;
		handle = NULL;
	}
	pthread_mutex_unlock(&self->lock);
	if (handle)
		curl_easy_cleanup(handle);
}

void reg_configure(plx_etcd *self, CURL *handle)
{
	curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, (long)self->connect_timeout_ms);
	curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(handle, CURLOPT_PROXY, ""); /* never through a proxy from the env */
	curl_easy_setopt(handle, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(handle, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(handle, CURLOPT_TCP_KEEPIDLE, 2L);
	curl_easy_setopt(handle, CURLOPT_TCP_KEEPINTVL, 1L);
	if (self->ca_file)
		curl_easy_setopt(handle, CURLOPT_CAINFO, self->ca_file);
	if (self->cert_file)
		curl_easy_setopt(handle, CURLOPT_SSLCERT, self->cert_file);
	if (self->key_file)
		curl_easy_setopt(handle, CURLOPT_SSLKEY, self->key_file);
}

static size_t s_write(char *data, size_t size, size_t nmemb, void *arg)
{
	s_buf *buf = arg;
	size_t n = size * nmemb;
	if (buf->size + n > REG_REPLY_MAX) {
		buf->overflow = true;
		return 0;
	}
	char *grown = realloc(buf->data, buf->size + n + 1);
	if (!grown)
		return 0;
	memcpy(grown + buf->size, data, n);
	buf->data = grown;
	buf->size += n;
	buf->data[buf->size] = '\0';
	return n;
}

/* One POST of payload to url. Returns 0 with the answer in *buf, or a transport error. */
static int s_post(plx_etcd *self, const char *url, const char *payload, const char *auth,
                  s_buf *buf)
{
	CURL *handle = reg_handle_get(self);
	if (!handle)
		return reg_seterr(-ENOMEM, "etcd %s: cannot make a curl handle", url);
	struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (auth)
		headers = curl_slist_append(headers, auth);
	reg_configure(self, handle);
	curl_easy_setopt(handle, CURLOPT_URL, url);
	curl_easy_setopt(handle, CURLOPT_POSTFIELDS, payload);
	curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, (long)self->timeout_ms);
	curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, s_write);
	curl_easy_setopt(handle, CURLOPT_WRITEDATA, buf);
	CURLcode rc = curl_easy_perform(handle);
	curl_easy_setopt(handle, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	if (rc != CURLE_OK) {
		curl_easy_cleanup(handle); /* its connection may be half-used */
		if (buf->overflow)
			return reg_seterr(-EMSGSIZE, "etcd %s: answer larger than %u bytes", url,
			                  REG_REPLY_MAX);
		if (rc == CURLE_OPERATION_TIMEDOUT)
			return reg_seterr(-ETIMEDOUT, "etcd %s: no answer within %d ms", url,
			                  self->timeout_ms);
		return reg_seterr(reg_curl_error(rc), "etcd %s: %s", url, curl_easy_strerror(rc));
	}
	reg_handle_put(self, handle);
	return 0;
}

/* Maps a gRPC status code from an error answer to a negative errno. */
static int s_grpc_error(json_int_t code)
{
	switch (code) {
	case 3: /* InvalidArgument */
		return -EINVAL;
	case 4: /* DeadlineExceeded */
		return -ETIMEDOUT;
	case 5: /* NotFound */
		return -ENOENT;
	case 7:  /* PermissionDenied */
	case 16: /* Unauthenticated */
		return -EACCES;
	case 8: /* ResourceExhausted */
		return -ENOSPC;
	case 11: /* OutOfRange: a compacted revision */
		return -ECANCELED;
	case 14: /* Unavailable: no leader, member stopping */
		return -EAGAIN;
	default:
		return -EPROTO;
	}
}

/* Decodes one answer. Returns 0 with *reply, -EAGAIN (try another member), or an error. */
static int s_decode(const char *url, const s_buf *buf, json_t **reply)
{
	json_error_t jerr;
	json_t *json = json_loadb(buf->data ? buf->data : "", buf->size, 0, &jerr);
	if (!json || !json_is_object(json)) {
		json_decref(json);
		return reg_seterr(-EBADMSG, "etcd %s: answer is not a JSON object: %s", url,
		                  jerr.text);
	}
	json_t *error = json_object_get(json, "error");
	json_t *code = json_object_get(json, "code");
	if (error) {
		json_t *msg = json_is_object(error) ? json_object_get(error, "message") : error;
		if (json_is_object(error))
			code = json_object_get(error, "grpc_code");
		int rc = s_grpc_error(json_integer_value(code));
		if (rc == -EINVAL && json_is_string(msg) &&
		    strstr(json_string_value(msg), "user name is empty"))
			rc = -EACCES; /* authentication is on and this client has no credentials */
		reg_seterr(rc, "etcd %s: %s (gRPC code %lld)", url,
		           json_is_string(msg) ? json_string_value(msg) : "error",
		           (long long)json_integer_value(code));
		json_decref(json);
		return rc;
	}
	json_t *result = json_object_get(json, "result");
	if (json_is_object(result)) {
		json_incref(result);
		json_decref(json);
		json = result;
	}
	*reply = json;
	return 0;
}

/* One /v3/auth/authenticate at url into *reply. Returns 0 or an error. */
static int s_authenticate_once(plx_etcd *self, const char *url, json_t **reply)
{
	char target[1024];
	snprintf(target, sizeof target, "%s/v3/auth/authenticate", url);
	json_t *body = json_pack("{s:s, s:s}", "name", self->user, "password",
	                         self->password ? self->password : "");
	char *payload = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!payload)
		return -ENOMEM;
	s_buf buf = {0};
	int rc = s_post(self, target, payload, NULL, &buf);
	free(payload);
	if (rc == 0)
		rc = s_decode(target, &buf, reply);
	free(buf.data);
	return rc;
}

#define S_AUTH_TRIES                                                                               \
	5 /* a member checks a password against what it has applied: one that                      \
	   * lags the change making the user (RS's, just before it starts the                      \
	   * service) refuses it for a moment; 50 ms doubling, 1.55 s in all */

/* Fetches a fresh token from url. Returns 0 or an error. Called with self->auth_lock held. */
static int s_authenticate(plx_etcd *self, const char *url)
{
	json_t *reply = NULL;
	int rc = s_authenticate_once(self, url, &reply);
	for (int i = 1; i < S_AUTH_TRIES && rc < 0 && strstr(s_errmsg, "authentication failed");
	     i++) {
		usleep(50000U << (i - 1));
		rc = s_authenticate_once(self, url, &reply);
	}
	bool refused = rc == -EACCES || rc == -EPROTO || rc == -EINVAL;
	if (rc < 0 && strstr(s_errmsg, "authentication is not enabled")) {
		free(
		    self->token); /* "": send no token until a request is refused for want of one */
		self->token = strdup("");
		return self->token ? 0 : -ENOMEM;
	}
	if (rc < 0)
		return refused
		           ? reg_seterr(-EACCES, "%s (authentication as %s)", s_errmsg, self->user)
		           : rc;
	const char *token = json_string_value(json_object_get(reply, "token"));
	if (!token) {
		json_decref(reply);
		return reg_seterr(-EBADMSG, "etcd %s: authenticate answer has no token", url);
	}
	free(self->token);
	self->token = strdup(token);
	json_decref(reply);
	return self->token ? 0 : -ENOMEM;
}

char *reg_auth_header(plx_etcd *self, const char *url, int *err)
{
	if (!self->user)
		return NULL;
	char *header = NULL;
	pthread_mutex_lock(&self->auth_lock);
	int rc = self->token ? 0 : s_authenticate(self, url);
	if (rc == 0 && self->token[0] && asprintf(&header, "Authorization: %s", self->token) < 0)
		header = NULL, rc = -ENOMEM;
	pthread_mutex_unlock(&self->auth_lock);
	*err = rc;
	return header;
}

void reg_forget_token(plx_etcd *self)
{
	pthread_mutex_lock(&self->auth_lock);
	free(self->token);
	self->token = NULL;
	pthread_mutex_unlock(&self->auth_lock);
}

/* One request to one member, re-authenticating once if the token was refused. */
static int s_call_one(plx_etcd *self, const char *url, const char *path, const char *payload,
                      json_t **reply)
{
	char target[1024];
	snprintf(target, sizeof target, "%s%s", url, path);
	for (int attempt = 0;; attempt++) {
		int rc = 0;
		char *auth = reg_auth_header(self, url, &rc);
		if (rc < 0)
			return rc;
		s_buf buf = {0};
		rc = s_post(self, target, payload, auth, &buf);
		free(auth);
		if (rc == 0)
			rc = s_decode(target, &buf, reply);
		free(buf.data);
		if (rc != -EACCES || !self->user || attempt > 0)
			return rc;
		reg_forget_token(self);
	}
}

static bool s_try_next_member(int rc)
{
	return rc == -ECONNREFUSED || rc == -ETIMEDOUT || rc == -ECONNRESET ||
	       rc == -EHOSTUNREACH || rc == -EAGAIN;
}

int reg_call_member(plx_etcd *self, size_t index, const char *path, json_t *body, json_t **reply)
{
	if (index >= self->nurls)
		return reg_seterr(-EINVAL, "etcd: no member %zu (%zu listed)", index, self->nurls);
	char *payload = json_dumps(body, JSON_COMPACT);
	if (!payload)
		return reg_seterr(-ENOMEM, "etcd: cannot encode a request");
	int rc = s_call_one(self, self->urls[index], path, payload, reply);
	free(payload);
	return rc;
}

int reg_call(plx_etcd *self, const char *path, json_t *body, json_t **reply)
{
	char *payload = json_dumps(body, JSON_COMPACT);
	if (!payload)
		return reg_seterr(-ENOMEM, "etcd: cannot encode a request");
	size_t first = atomic_load(&self->current);
	int rc = -ECONNREFUSED;
	for (size_t i = 0; i < self->nurls; i++) {
		size_t index = (first + i) % self->nurls;
		rc = s_call_one(self, self->urls[index], path, payload, reply);
		if (rc == 0)
			atomic_store(&self->current, index);
		if (!s_try_next_member(rc))
			break;
	}
	free(payload);
	if (rc < 0 && self->nurls > 1 && s_try_next_member(rc))
		reg_seterr(rc, "%s (all %zu etcd members failed)", s_errmsg, self->nurls);
	return rc;
}
