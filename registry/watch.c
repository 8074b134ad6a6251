/*
 * watch.c — prefix watches that survive etcd restarts and member failures.
 *
 * Entry points: plx_watch_new, plx_watch_revision, plx_watch_destroy.
 *
 * A watch is one long POST to /v3/watch, read through a curl multi handle on the watch's own
 * thread so that destroy can interrupt it at once (curl_multi_wakeup). The answer is a stream of
 * JSON objects; each is decoded as soon as it is complete. The watch remembers the revision
 * after the last event it delivered (next_rev); when the stream breaks it reconnects, trying the
 * members in turn with a backoff of 100 ms doubling to 1 s, and asks for events from next_rev,
 * so nothing is lost and nothing is delivered twice.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_internal.h"

#define S_BACKOFF_MIN_MS 100
#define S_BACKOFF_MAX_MS 1000
#define S_STREAM_MAX     (64u * 1024 * 1024)

struct plx_watch {
	plx_etcd *etcd;
	char *prefix;
	plx_watch_fn *fn;
	void *arg;
	atomic_int_least64_t next_rev; /* first revision not yet delivered; 0: "now" */
	atomic_bool stop;
	CURLM *multi;
	pthread_t thread;
	pthread_mutex_t lock; /* guards state */
	pthread_cond_t cond;
	int state; /* 0 creating, 1 created, < 0 creation failed */
	/* Owned by the watch thread: */
	char *buf;
	size_t len;
	bool created;      /* this stream was confirmed */
	int stream_error;  /* set by the decoder to end this stream */
	bool disconnected; /* DISCONNECTED reported, RECONNECTED not yet */
	size_t member;
	char failure[512]; /* why creation failed, for the creating thread's errmsg */
};

static void s_emit(plx_watch *self, plx_watch_kind kind, const plx_kv *kv, int64_t revision,
                   int error)
{
	plx_watch_event event = {.kind = kind, .kv = kv, .revision = revision, .error = error};
	self->fn(&event, self->arg);
}

static void s_set_state(plx_watch *self, int state)
{
	pthread_mutex_lock(&self->lock);
	self->state = state;
	pthread_cond_broadcast(&self->cond);
	pthread_mutex_unlock(&self->lock);
}

/* Delivers the events of one answer, skipping any below floor (already delivered). */
static int s_events(plx_watch *self, const json_t *events, int64_t floor)
{
	size_t i;
	json_t *item;
	if (events && !json_is_array(events))
		return -EBADMSG;
	json_array_foreach(events, i, item)
	{
		plx_kv kv, prev = {0};
		json_t *prev_json = json_object_get(item, "prev_kv");
		int rc = reg_kv_parse(json_object_get(item, "kv"), &kv);
		if (rc < 0)
			return rc;
		if (prev_json && (rc = reg_kv_parse(prev_json, &prev)) < 0) {
			reg_kv_clear(&kv);
			return rc;
		}
		const char *type = json_string_value(json_object_get(item, "type"));
		bool deleted = type && strcmp(type, "DELETE") == 0;
		if (kv.mod_revision >= floor && !atomic_load(&self->stop)) {
			plx_watch_event event = {.kind = deleted ? PLX_WATCH_DELETE : PLX_WATCH_PUT,
			                         .kv = &kv,
			                         .prev = prev_json ? &prev : NULL,
			                         .revision = kv.mod_revision};
			self->fn(&event, self->arg);
			atomic_store(&self->next_rev, kv.mod_revision + 1);
		}
		reg_kv_clear(&kv);
		reg_kv_clear(&prev);
	}
	return 0;
}

static int s_created(plx_watch *self, const json_t *result)
{
	int64_t revision = 0;
	if (reg_int64(json_object_get(result, "header"), "revision", &revision) < 0)
		return -EBADMSG;
	self->created = true;
	if (atomic_load(&self->next_rev) == 0)
		atomic_store(&self->next_rev, revision + 1);
	if (self->disconnected) {
		self->disconnected = false;
		s_emit(self, PLX_WATCH_RECONNECTED, NULL, revision, 0);
	}
	s_set_state(self, 1);
	return 0;
}

static int s_canceled(plx_watch *self, const json_t *result)
{
	int64_t compact = 0;
	if (reg_int64(result, "compact_revision", &compact) < 0)
		return -EBADMSG;
	if (compact > 0) {
		s_emit(self, PLX_WATCH_COMPACTED, NULL, compact, -ECANCELED);
		atomic_store(&self->next_rev, compact);
		return reg_seterr(-ECANCELED, "etcd watch on %s: revisions before %lld compacted",
		                  self->prefix, (long long)compact);
	}
	const char *reason = json_string_value(json_object_get(result, "cancel_reason"));
	return reg_seterr(-EPROTO, "etcd watch on %s canceled: %s", self->prefix,
	                  reason ? reason : "no reason given");
}

/* Handles one decoded stream object. Returns 0, or an error that ends the stream. */
static int s_handle(plx_watch *self, const json_t *json)
{
	json_t *error = json_object_get(json, "error");
	if (error) {
		const char *msg = json_string_value(json_object_get(error, "message"));
		return reg_seterr(-EPROTO, "etcd watch on %s: %s", self->prefix,
		                  msg ? msg : "error");
	}
	json_t *result = json_object_get(json, "result");
	if (!json_is_object(result))
		return reg_seterr(-EBADMSG, "etcd watch on %s: object without result",
		                  self->prefix);
	if (json_is_true(json_object_get(result, "canceled")))
		return s_canceled(self, result);
	if (json_is_true(json_object_get(result, "created")))
		return s_created(self, result);
	if (!self->created)
		return reg_seterr(-EBADMSG, "etcd watch on %s: events before creation",
		                  self->prefix);
	int rc = s_events(self, json_object_get(result, "events"), atomic_load(&self->next_rev));
	return rc < 0 ? reg_seterr(rc, "etcd watch on %s: malformed event", self->prefix) : 0;
}

/* Decodes every complete object at the start of the buffer. */
static int s_drain(plx_watch *self)
{
	size_t used = 0;
	while (used < self->len) {
		json_error_t jerr;
		json_t *json =
		    json_loadb(self->buf + used, self->len - used, JSON_DISABLE_EOF_CHECK, &jerr);
		if (!json) {
			if (json_error_code(&jerr) == json_error_premature_end_of_input)
				break;
			return reg_seterr(-EBADMSG, "etcd watch on %s: bad JSON: %s", self->prefix,
			                  jerr.text);
		}
		used += (size_t)jerr.position;
		int rc = s_handle(self, json);
		json_decref(json);
		if (rc < 0)
			return rc;
	}
	memmove(self->buf, self->buf + used, self->len - used);
	self->len -= used;
	return 0;
}

static size_t s_feed(char *data, size_t size, size_t nmemb, void *arg)
{
	plx_watch *self = arg;
	size_t n = size * nmemb;
	if (self->len + n > S_STREAM_MAX) {
		self->stream_error = -EMSGSIZE;
		return 0;
	}
	char *grown = realloc(self->buf, self->len + n + 1);
	if (!grown) {
		self->stream_error = -ENOMEM;
		return 0;
	}
	memcpy(grown + self->len, data, n);
	self->buf = grown;
	self->len += n;
	int rc = s_drain(self);
	if (rc < 0) {
		self->stream_error = rc;
		return 0;
	}
	return n;
}

static char *s_body(plx_watch *self)
{
	json_t *create =
	    json_pack("{s:o, s:o, s:I, s:b}", "key", reg_b64(self->prefix, strlen(self->prefix)),
	              "range_end", reg_prefix_end(self->prefix), "start_revision",
	              (json_int_t)atomic_load(&self->next_rev), "prev_kv", 1);
	json_t *body = create ? json_pack("{s:o}", "create_request", create) : NULL;
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	return text;
}

/* Sets up one stream's easy handle. Returns NULL on failure (error recorded). */
static CURL *s_open(plx_watch *self, const char *url, struct curl_slist **headers)
{
	char target[1024];
	int rc = 0;
	snprintf(target, sizeof target, "%s/v3/watch", url);
	char *auth = reg_auth_header(self->etcd, url, &rc);
	char *body = rc == 0 ? s_body(self) : NULL;
	CURL *handle = body ? curl_easy_init() : NULL;
	if (handle) {
		*headers = curl_slist_append(NULL, "Content-Type: application/json");
		if (auth)
			*headers = curl_slist_append(*headers, auth);
		reg_configure(self->etcd, handle);
		curl_easy_setopt(handle, CURLOPT_URL, target);
		curl_easy_setopt(handle, CURLOPT_COPYPOSTFIELDS, body);
		curl_easy_setopt(handle, CURLOPT_HTTPHEADER, *headers);
		curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, s_feed);
		curl_easy_setopt(handle, CURLOPT_WRITEDATA, self);
	} else if (rc == 0) {
		reg_seterr(-ENOMEM, "etcd watch on %s: cannot build the request", self->prefix);
	}
	free(auth);
	free(body);
	return handle;
}

/* Waits for the stream to end. Returns its error (0 only when stopped). */
static int s_pump(plx_watch *self, const char *url)
{
	int64_t deadline = reg_now_ms() + self->etcd->timeout_ms;
	for (;;) {
		int running = 0, left = 0;
		curl_multi_perform(self->multi, &running);
		if (self->stream_error)
			return self->stream_error;
		CURLMsg *msg = curl_multi_info_read(self->multi, &left);
		if (msg && msg->msg == CURLMSG_DONE) {
			CURLcode rc = msg->data.result;
			if (rc == CURLE_OK)
				return reg_seterr(-ECONNRESET, "etcd %s: watch stream closed", url);
			return reg_seterr(reg_curl_error(rc), "etcd %s: watch: %s", url,
			                  curl_easy_strerror(rc));
		}
		if (atomic_load(&self->stop))
			return 0;
		if (!self->created && reg_now_ms() > deadline)
			return reg_seterr(-ETIMEDOUT, "etcd %s: watch not created within %d ms",
			                  url, self->etcd->timeout_ms);
		curl_multi_poll(self->multi, NULL, 0, 200, NULL);
	}
}

/* Runs one stream against url until it ends. Returns its error (0 when stopped). */
static int s_stream(plx_watch *self, const char *url)
{
	struct curl_slist *headers = NULL;
	self->created = false;
	self->stream_error = 0;
	self->len = 0;
	CURL *handle = s_open(self, url, &headers);
	if (!handle) {
		curl_slist_free_all(headers);
		return -ENOMEM;
	}
	curl_multi_add_handle(self->multi, handle);
	int rc = s_pump(self, url);
	curl_multi_remove_handle(self->multi, handle);
	curl_easy_cleanup(handle);
	curl_slist_free_all(headers);
	return rc;
}

/* Sleeps ms or until stopped. */
static void s_nap(plx_watch *self, int ms)
{
	int64_t until = reg_now_ms() + ms;
	while (!atomic_load(&self->stop) && reg_now_ms() < until)
		curl_multi_poll(self->multi, NULL, 0, (int)(until - reg_now_ms()), NULL);
}

static void *s_run(void *arg)
{
	plx_watch *self = arg;
	size_t failures = 0;
	int backoff = S_BACKOFF_MIN_MS;
	while (!atomic_load(&self->stop)) {
		const char *url = self->etcd->urls[self->member];
		int rc = s_stream(self, url);
		if (atomic_load(&self->stop))
			break;
		if (self->state == 0 && ++failures >= self->etcd->nurls) {
			snprintf(self->failure, sizeof self->failure, "%s", plx_etcd_errmsg());
			s_set_state(self, rc < 0 ? rc : -EIO);
			return NULL;
		}
		if (self->created)
			backoff = S_BACKOFF_MIN_MS;
		if (rc == -ECANCELED)
			continue; /* compacted: resume from the oldest revision at once */
		if ((rc == -EPROTO || rc == -EACCES) && self->etcd->user)
			reg_forget_token(self->etcd); /* perhaps refused for an expired token */
		if (self->state == 1 && !self->disconnected) {
			self->disconnected = true;
			s_emit(self, PLX_WATCH_DISCONNECTED, NULL, atomic_load(&self->next_rev),
			       rc);
		}
		self->member = (self->member + 1) % self->etcd->nurls;
		if (self->state == 1) {
			s_nap(self, backoff);
			backoff = backoff * 2 > S_BACKOFF_MAX_MS ? S_BACKOFF_MAX_MS : backoff * 2;
		}
	}
	return NULL;
}

static void s_free(plx_watch *self)
{
	if (self->multi)
		curl_multi_cleanup(self->multi);
	pthread_cond_destroy(&self->cond);
	pthread_mutex_destroy(&self->lock);
	free(self->prefix);
	free(self->buf);
	free(self);
}

/* Waits until the thread created the watch or gave up. Returns 0 or its error. */
static int s_wait_created(plx_watch *self)
{
	pthread_mutex_lock(&self->lock);
	while (self->state == 0)
		pthread_cond_wait(&self->cond, &self->lock);
	int state = self->state;
	pthread_mutex_unlock(&self->lock);
	return state < 0 ? state : 0;
}

plx_watch *plx_watch_new(plx_etcd *etcd, const char *prefix, int64_t start_revision,
                         plx_watch_fn *fn, void *arg)
{
	if (!etcd || !prefix || !*prefix || !fn || start_revision < 0) {
		errno = EINVAL;
		return NULL;
	}
	plx_watch *self = calloc(1, sizeof *self);
	if (!self) {
		errno = ENOMEM;
		return NULL;
	}
	self->etcd = etcd;
	self->fn = fn;
	self->arg = arg;
	self->prefix = strdup(prefix);
	self->member = atomic_load(&etcd->current) % etcd->nurls;
	atomic_init(&self->next_rev, start_revision);
	atomic_init(&self->stop, false);
	pthread_mutex_init(&self->lock, NULL);
	pthread_cond_init(&self->cond, NULL);
	self->multi = curl_multi_init();
	int rc = !self->prefix || !self->multi ? ENOMEM
	                                       : pthread_create(&self->thread, NULL, s_run, self);
	if (rc != 0) {
		s_free(self);
		errno = rc;
		return NULL;
	}
	if ((rc = s_wait_created(self)) < 0) {
		pthread_join(self->thread, NULL);
		reg_seterr(rc, "%s", self->failure);
		s_free(self);
		errno = -rc;
		return NULL;
	}
	return self;
}

int64_t plx_watch_revision(plx_watch *self)
{
	return atomic_load(&self->next_rev) - 1;
}

void plx_watch_destroy(plx_watch **self_p)
{
	if (!self_p || !*self_p)
		return;
	plx_watch *self = *self_p;
	atomic_store(&self->stop, true);
	curl_multi_wakeup(self->multi);
	pthread_join(self->thread, NULL);
	s_free(self);
	*self_p = NULL;
}
