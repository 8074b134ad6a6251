/*
 * server.c — the server library: message loop, dispatch table, shared control handlers.
 *
 * Entry points: plx_server_new, plx_server_check, plx_server_destroy, plx_server_run,
 * plx_server_stop, plx_server_dispatch, plx_server_on_notify, plx_server_on_reply,
 * plx_server_on_tick, plx_server_arg, plx_server_ep, plx_server_set_worker, plx_call_reply.
 *
 * One lookup per request: s_handle_request finds the entry, checks and unpacks, then s_start
 * runs its fn here in the loop or, for a PLX_ON_WORKER entry, hands it to the server's submit
 * function.
 *
 * plx_server_new first checks the table (plx_server_check): each entry's body must be what its
 * family's .def says (plexus/family.h) for every registered family, so that a server table
 * and the family table it serves cannot drift apart.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <plexus/family.h>
#include <plexus/server.h>

#include "internal.h"
#include "plexus/proto/ipc.pb-c.h"

/* A call's life: handled inside dispatch, then either answered there or suspended and
 * answered later. The state makes "exactly once" checkable and decides who frees. */
enum { S_DISPATCHING, S_ANSWERED_IN_DISPATCH, S_SUSPENDED, S_ANSWERED };

struct plx_call_private {
	atomic_int state;
	const plx_handler *handler;
};

#define S_CALLERS_MAX  32   /* label patterns in a server's callers */
#define S_CALLERS_TEXT 2048 /* their text */

struct plx_server {
	plx_ep *ep;
	plx_handler *table; /* sorted by type */
	size_t n;
	void *arg;
	atomic_bool stopping;
	plx_message_fn *on_notify;
	plx_message_fn *on_reply;
	plx_tick_fn *on_tick;
	int tick_ms;
	struct {
		_Atomic(const void *) key; /* set last, with release: value is there first */
		_Atomic(void *) value;
	} slots[PLX_SERVER_SLOTS];
	/* plx_server_set_callers (set-up only) */
	char caller_text[S_CALLERS_MAX][PLX_LABEL_MAX];
	const char *callers[S_CALLERS_MAX + 1];
	size_t ncallers;
	plx_health_fn *health;           /* plx_server_set_health (set-up only) */
	plx_submit_fn *submit;           /* plx_server_set_worker (set-up only) */
	void *pool;                      /* handed to submit */
	char node_kernel[PLX_LABEL_MAX]; /* plx_server_set_node: "node.NAME", "" any node kernel */
};

/* Serializes plx_server_attach (set-up only); readers take no lock. */
static pthread_mutex_t s_attach_lock = PTHREAD_MUTEX_INITIALIZER;

static int s_do_ping(plx_call *call);
static int s_do_shutdown(plx_call *call);
static int s_do_trace_level(plx_call *call);

/* Who may stop a server or switch its tracing when its table does not say: RS, the node
 * kernels, and operators' commands (plexus-cli, plexus-*). */
static const char *const s_control[] = {"rs", "node.*", "plexus-*", NULL};

/* IPC_PING's NULL allow-list is special: anyone (s_allowed), whatever the server's callers. */
static const plx_handler s_fallback[] = {
    PLX_LOOP(PLEXUS__IPC_TYPE__IPC_PING, "ping", s_do_ping, &plexus__ipc_ping__descriptor, NULL),
    PLX_LOOP(PLEXUS__IPC_TYPE__IPC_SHUTDOWN, "shutdown", s_do_shutdown, NULL, s_control),
    PLX_LOOP(PLEXUS__IPC_TYPE__IPC_TRACE_LEVEL, "trace_level", s_do_trace_level,
             &plexus__ipc_trace_level__descriptor, s_control),
};

static int s_by_type(const void *a, const void *b)
{
	uint32_t x = ((const plx_handler *)a)->type, y = ((const plx_handler *)b)->type;
	return x < y ? -1 : x > y;
}

/* An entry names the handler where it runs (fn in the loop, work on a worker), and, when its
 * family is registered, either the body that family's table says (plexus/family.h) or none (a
 * handler that does not look at the body: nothing is unpacked for it). */
static bool s_entry_ok(const plx_handler *h)
{
	const plx_request_line *line = plx_family_request(h->type);
	if (line && h->body && line->body != h->body)
		return false;
	return h->flags & PLX_ON_WORKER ? h->work != NULL : h->fn != NULL;
}

int plx_server_check(const plx_handler *table, size_t n, size_t *bad)
{
	for (size_t i = 0; i < n; i++) {
		bool twice = false;
		for (size_t j = 0; j < i; j++)
			twice = twice || table[j].type == table[i].type;
		if (twice || !s_entry_ok(&table[i])) {
			if (bad)
				*bad = i;
			return -EINVAL;
		}
	}
	return 0;
}

plx_server *plx_server_new(plx_ep *ep, const plx_handler *table, size_t n, void *arg)
{
	assert(plx_server_check(s_fallback, sizeof s_fallback / sizeof *s_fallback, NULL) == 0);
	if (plx_server_check(table, n, NULL) < 0) {
		errno = EINVAL;
		return NULL;
	}
	plx_server *self = calloc(1, sizeof *self);
	if (!self || !(self->table = malloc((n ? n : 1) * sizeof *table))) {
		free(self);
		errno = ENOMEM;
		return NULL;
	}
	if (n)
		memcpy(self->table, table, n * sizeof *table);
	qsort(self->table, n, sizeof *table, s_by_type);
	self->ep = ep;
	self->n = n;
	self->arg = arg;
	return self;
}

void plx_server_destroy(plx_server **self_p)
{
	plx_server *self = self_p ? *self_p : NULL;
	if (!self)
		return;
	free(self->table);
	free(self);
	*self_p = NULL;
}

static const plx_handler *s_find(const plx_handler *table, size_t n, uint32_t type)
{
	plx_handler key = {.type = type};
	return bsearch(&key, table, n, sizeof *table, s_by_type);
}

static const plx_handler *s_handler_for(const plx_server *self, uint32_t type)
{
	const plx_handler *h = s_find(self->table, self->n, type);
	return h ? h : s_find(s_fallback, sizeof s_fallback / sizeof *s_fallback, type);
}

/* True when label matches one of the NULL-terminated patterns (fnmatch: '*', '?'). */
static bool s_matches(const char *const *patterns, const char *label)
{
	for (const char *const *p = patterns; *p; p++)
		if (fnmatch(*p, label, 0) == 0)
			return true;
	return false;
}

/* The handler's own list decides; without one, the server's callers (plx_server_set_callers),
 * except for IPC_PING, which anyone may send. */
static bool s_allowed(const plx_server *self, const plx_handler *h, const plx_name *source)
{
	if (h->allowed == s_control && self->node_kernel[0] &&
	    strncmp(source->label, "node.", 5) == 0)
		return strcmp(source->label, self->node_kernel) == 0; /* its own node's only */
	if (h->allowed)
		return s_matches(h->allowed, source->label);
	if (self->ncallers && h->type != PLEXUS__IPC_TYPE__IPC_PING)
		return s_matches((const char *const *)self->callers, source->label);
	return true;
}

int plx_server_set_node(plx_server *self, const char *node)
{
	if (!node || !*node ||
	    (size_t)snprintf(self->node_kernel, sizeof self->node_kernel, "node.%s", node) >=
	        sizeof self->node_kernel) {
		self->node_kernel[0] = '\0';
		return -EINVAL;
	}
	return 0;
}

int plx_server_set_callers(plx_server *self, const char *list)
{
	char copy[S_CALLERS_TEXT];
	if (!list || strlen(list) >= sizeof copy)
		return -EINVAL;
	snprintf(copy, sizeof copy, "%s", list);
	char *save = NULL, *words[S_CALLERS_MAX];
	size_t n = 0;
	for (char *w = strtok_r(copy, ", \t", &save); w; w = strtok_r(NULL, ", \t", &save)) {
		if (n == S_CALLERS_MAX || strlen(w) >= PLX_LABEL_MAX)
			return -EINVAL; /* nothing changed */
		words[n++] = w;
	}
	for (size_t i = 0; i < n; i++)
		snprintf(self->caller_text[i], PLX_LABEL_MAX, "%s", words[i]);
	for (size_t i = 0; i < n; i++)
		self->callers[i] = self->caller_text[i];
	self->callers[n] = NULL;
	self->ncallers = n;
	return 0;
}

/* The call lives inside its message (s_call_new): destroying the message frees both. */
static void s_call_free(plx_call *call)
{
	if (call->body)
		protobuf_c_message_free_unpacked(call->body, NULL);
	plx_msg *msg = call->msg;
	plx_msg_destroy(&msg);
}

int plx_call_reply(plx_call *call, int32_t status, const ProtobufCMessage *body, const void *data,
                   size_t data_size)
{
	return plx_call_reply_owned(call, status, body, (void *)data, data_size, NULL, NULL);
}

int plx_call_reply_owned(plx_call *call, int32_t status, const ProtobufCMessage *body, void *data,
                         size_t data_size, void (*data_free)(void *data, void *hint),
                         void *data_hint)
{
	int rc = plx_reply_owned(plx_server_ep(call->server), call->msg, status, body, data,
	                         data_size, data_free, data_hint);
	int state = S_DISPATCHING;
	if (atomic_compare_exchange_strong(&call->priv->state, &state, S_ANSWERED_IN_DISPATCH))
		return rc; /* the dispatcher frees it when the handler returns */
	assert(state == S_SUSPENDED && "a request was answered twice");
	atomic_store(&call->priv->state, S_ANSWERED);
	s_call_free(call);
	return rc;
}

/* Starts the call where its entry says: returns the handler's status, or, for a worker entry,
 * PLX_SUSPEND once the submit function took the call and its error otherwise. */
static int s_start(plx_call *call, const plx_handler *h)
{
	if (!(h->flags & PLX_ON_WORKER))
		return h->fn(call);
	plx_server *self = call->server;
	if (!self->submit)
		return -ENOSYS;
	int rc = self->submit(self->pool, call, h);
	return rc < 0 ? rc : PLX_SUSPEND;
}

/* Runs the handler and settles the call according to what it returned. */
static void s_run_handler(plx_call *call, const plx_handler *h)
{
	int status = s_start(call, h);
	if (status != PLX_SUSPEND) {
		assert(atomic_load(&call->priv->state) == S_DISPATCHING &&
		       "a handler that answered must return PLX_SUSPEND");
		plx_reply(plx_server_ep(call->server), call->msg, status, NULL, NULL, 0);
		s_call_free(call);
		return;
	}
	int state = S_DISPATCHING;
	if (!atomic_compare_exchange_strong(&call->priv->state, &state, S_SUSPENDED))
		s_call_free(call); /* answered while the handler ran */
}

static plx_call *s_call_new(plx_server *self, plx_msg *msg, const plx_handler *h)
{
	/* in the message's own block: a server makes and frees one call per request */
	_Static_assert(sizeof(plx_call) + sizeof(struct plx_call_private) <= sizeof msg->priv->call,
	               "a call record fits in its message");
	plx_call *call = (plx_call *)msg->priv->call;
	memset(call, 0, sizeof *call + sizeof *call->priv);
	call->priv = (struct plx_call_private *)(call + 1);
	call->server = self;
	call->msg = msg;
	call->priv->handler = h;
	atomic_init(&call->priv->state, S_DISPATCHING);
	return call;
}

/* Checks the request against the handler and answers it. Takes ownership of msg. */
static void s_handle_request(plx_server *self, plx_msg *msg)
{
	const plx_handler *h = s_handler_for(self, msg->type);
	int refusal = !h ? -ENOSYS : !s_allowed(self, h, &msg->source) ? -PLX_ECALLDENIED : 0;
	ProtobufCMessage *body = NULL;
	if (refusal == 0 && h->body && !(body = plx_msg_unpack(msg, h->body)))
		refusal = -EBADMSG;
	plx_call *call = refusal == 0 ? s_call_new(self, msg, h) : NULL;
	if (refusal == 0 && !call)
		refusal = -ENOMEM;
	if (refusal != 0) {
		if (body)
			protobuf_c_message_free_unpacked(body, NULL);
		plx_reply(self->ep, msg, refusal, NULL, NULL, 0);
		plx_msg_destroy(&msg);
		return;
	}
	call->body = body;
	s_run_handler(call, h);
}

void plx_server_dispatch(plx_server *self, plx_msg *msg)
{
	if (msg->kind == PLX_REQUEST)
		s_handle_request(self, msg);
	else if (msg->kind == PLX_NOTIFY && self->on_notify)
		self->on_notify(self, msg);
	else if (msg->kind == PLX_REPLY && self->on_reply)
		self->on_reply(self, msg);
	else
		plx_msg_destroy(&msg);
}

int plx_server_run(plx_server *self)
{
	uint64_t next_tick = self->tick_ms ? plx__now_us() + (uint64_t)self->tick_ms * 1000u : 0;
	while (!atomic_load(&self->stopping)) {
		int wait = PLX_FOREVER;
		if (next_tick) {
			uint64_t now = plx__now_us();
			wait = now >= next_tick ? 0 : (int)((next_tick - now) / 1000u);
		}
		plx_msg *msg = NULL;
		int rc = plx_receive(self->ep, &msg, wait);
		if (rc == 0)
			plx_server_dispatch(self, msg);
		else if (rc != -ETIMEDOUT && rc != -EINTR)
			return rc;
		if (next_tick && plx__now_us() >= next_tick) {
			self->on_tick(self);
			next_tick = plx__now_us() + (uint64_t)self->tick_ms * 1000u;
		}
	}
	plx__ep_flush_mailbox(self->ep); /* replies given from other threads before the stop */
	return 0;
}

void plx_server_stop(plx_server *self)
{
	/* Once stopping is set the loop may end and its thread free self and the endpoint: hold
	 * the endpoint across the wake-up and touch self no more. */
	plx_ep *ep = self->ep;
	plx__ep_hold(ep);
	atomic_store(&self->stopping, true);
	plx_ep_wake(ep);
	plx__ep_release(ep);
}

int plx_server_attach(plx_server *self, const void *key, void *value)
{
	int rc = -ENOSPC;
	pthread_mutex_lock(&s_attach_lock);
	for (int i = 0; i < PLX_SERVER_SLOTS; i++)
		if (atomic_load(&self->slots[i].key) == key)
			rc = -EBUSY;
	for (int i = 0; i < PLX_SERVER_SLOTS && rc == -ENOSPC; i++)
		if (!atomic_load(&self->slots[i].key)) {
			atomic_store(&self->slots[i].value, value);
			atomic_store_explicit(&self->slots[i].key, key, memory_order_release);
			rc = 0;
		}
	pthread_mutex_unlock(&s_attach_lock);
	return rc;
}

void *plx_server_attached(const plx_server *self, const void *key)
{
	for (int i = 0; i < PLX_SERVER_SLOTS; i++)
		if (atomic_load_explicit(&((plx_server *)self)->slots[i].key,
		                         memory_order_acquire) == key)
			return atomic_load(&((plx_server *)self)->slots[i].value);
	return NULL;
}

void plx_server_on_notify(plx_server *self, plx_message_fn *fn)
{
	self->on_notify = fn;
}

void plx_server_on_reply(plx_server *self, plx_message_fn *fn)
{
	self->on_reply = fn;
}

void plx_server_on_tick(plx_server *self, plx_tick_fn *fn, int period_ms)
{
	self->on_tick = period_ms > 0 ? fn : NULL;
	self->tick_ms = fn && period_ms > 0 ? period_ms : 0;
}

void *plx_server_arg(const plx_server *self)
{
	return self->arg;
}

plx_ep *plx_server_ep(const plx_server *self)
{
	return self->ep;
}

void plx_server_set_worker(plx_server *self, plx_submit_fn *submit, void *pool)
{
	self->submit = submit;
	self->pool = pool;
}

/* ---- the calls every server answers ---- */

void plx_server_set_health(plx_server *self, plx_health_fn *fn)
{
	self->health = fn;
}

/* Open descriptors, counted in /proc/self/fd (the directory's own included); -1 unknown. */
static long s_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	long n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

bool plx_server_health(plx_server *self, char *why, size_t size)
{
	struct rlimit lim;
	long fds = s_open_fds();
	if (fds >= 0 && getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY &&
	    (rlim_t)fds * 10 >= lim.rlim_cur * 9) {
		snprintf(why, size, "%ld of %llu file descriptors open", fds,
		         (unsigned long long)lim.rlim_cur);
		return false;
	}
	return !self->health || self->health(self, why, size);
}

static int s_do_ping(plx_call *call)
{
	const Plexus__IpcPing *ping = (const Plexus__IpcPing *)call->body;
	Plexus__IpcPing pong = PLEXUS__IPC_PING__INIT;
	char why[256] = "";
	pong.sequence = ping->sequence;
	if (!plx_server_health(call->server, why, sizeof why))
		pong.trouble = why[0] ? why : "cannot serve";
	plx_call_reply(call, 0, &pong.base, NULL, 0);
	return PLX_SUSPEND;
}

static int s_do_shutdown(plx_call *call)
{
	atomic_store(&call->server->stopping, true);
	return 0;
}

static int s_do_trace_level(plx_call *call)
{
	const Plexus__IpcTraceLevel *level = (const Plexus__IpcTraceLevel *)call->body;
	plx_ctx *ctx = plx_server_ep(call->server)->ctx;
	plx_trace_set(ctx, level->enabled, ctx->trace_fn, ctx->trace_arg);
	return 0;
}
