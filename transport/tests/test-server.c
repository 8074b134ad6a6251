/*
 * test-server.c — the server library: dispatch by type, ENOSYS for unknown types, allow-lists,
 * a server's callers (label patterns), body validation, the shared control calls (only from
 * RS, node kernels and operators' commands), answering exactly once, and entries flagged
 * PLX_ON_WORKER handed to the server's submit function (plx_server_set_worker), and tables
 * checked against the registered families' request tables (plexus/family.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include <plexus/family.h>

#include "plexus/proto/bdev.pb-c.h"
#include "plexus/proto/cdev.pb-c.h"
#include "testlib.h"

#define TIMEOUT_MS 20000
#define T_GUARDED  0x0901 /* a type only "rs" may send */
#define T_COUNT    0x0902 /* answers how many calls the server has handled */
#define T_LATE     0x0903 /* answered later, from another thread */
#define T_WORK     0x0904 /* PLX_ON_WORKER: runs on the test's worker thread */
#define T_WHERE    0x0905 /* notes the thread it runs on (the loop's) */
#define S_POOL_MAX 64

struct state;
/* The test's own handler type for worker entries, as VFS and MFS have theirs. */
typedef int s_work_fn(struct state *st, plx_call *call);

/* A one-thread worker pool: a FIFO of calls with their handlers. */
typedef struct s_pool {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	plx_call *calls[S_POOL_MAX];
	s_work_fn *fns[S_POOL_MAX];
	int head, n;
	bool stopping;
} s_pool;

typedef struct state {
	plx_ctx *ctx;
	plx_ep *ep;
	plx_server *server;
	pthread_t thread;
	int handled;
	int run_rc;
	char address[PLX_ADDRESS_MAX];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int ready;
	plx_call *late;      /* a T_LATE call waiting for its answer */
	const char *callers; /* plx_server_set_callers before the loop, or NULL */
	int callers_rc;
	atomic_int sick; /* what the health check says: 1 cannot serve */
	s_pool pool;
	atomic_int refuse;      /* the submit function refuses (-EAGAIN) */
	atomic_int submitted;   /* calls the submit function took */
	atomic_int worked;      /* T_WORK calls run */
	pthread_t work_thread;  /* where T_WORK last ran (under lock) */
	pthread_t where_thread; /* where T_WHERE last ran (under lock) */
} state;

static const char *const s_rs_only[] = {"rs", NULL};

static int s_do_guarded(plx_call *call)
{
	state *st = plx_server_arg(call->server);
	st->handled++;
	return 0;
}

static int s_do_count(plx_call *call)
{
	state *st = plx_server_arg(call->server);
	st->handled++;
	Plexus__IpcSinkReply reply = PLEXUS__IPC_SINK_REPLY__INIT;
	reply.received = (uint64_t)st->handled;
	plx_call_reply(call, 0, &reply.base, NULL, 0);
	return PLX_SUSPEND;
}

static int s_do_echo(plx_call *call)
{
	state *st = plx_server_arg(call->server);
	st->handled++;
	return -ENOENT; /* a plain status reply, no body */
}

static int s_do_late(plx_call *call)
{
	state *st = plx_server_arg(call->server);
	pthread_mutex_lock(&st->lock);
	st->late = call;
	pthread_cond_signal(&st->cond);
	pthread_mutex_unlock(&st->lock);
	return PLX_SUSPEND;
}

/* T_WORK's handler, of the test's own type: runs on the pool's thread. */
static int s_work(state *st, plx_call *call)
{
	(void)call;
	pthread_mutex_lock(&st->lock);
	st->work_thread = pthread_self();
	pthread_mutex_unlock(&st->lock);
	atomic_fetch_add(&st->worked, 1);
	return 0;
}

static int s_do_where(plx_call *call)
{
	state *st = plx_server_arg(call->server);
	pthread_mutex_lock(&st->lock);
	st->where_thread = pthread_self();
	pthread_mutex_unlock(&st->lock);
	return 0;
}

/* The server's plx_submit_fn: queues the call with the entry's handler cast back. */
static int s_submit(void *arg, plx_call *call, const plx_handler *h)
{
	state *st = arg;
	s_pool *pool = &st->pool;
	if (atomic_load(&st->refuse))
		return -EAGAIN;
	pthread_mutex_lock(&pool->lock);
	int rc = pool->n < S_POOL_MAX ? 0 : -EAGAIN;
	if (rc == 0) {
		int slot = (pool->head + pool->n++) % S_POOL_MAX;
		pool->calls[slot] = call;
		pool->fns[slot] = (s_work_fn *)h->work;
		atomic_fetch_add(&st->submitted, 1);
		pthread_cond_signal(&pool->cond);
	}
	pthread_mutex_unlock(&pool->lock);
	return rc;
}

static void *s_pool_main(void *arg)
{
	state *st = arg;
	s_pool *pool = &st->pool;
	pthread_mutex_lock(&pool->lock);
	for (;;) {
		while (!pool->n && !pool->stopping)
			pthread_cond_wait(&pool->cond, &pool->lock);
		if (!pool->n)
			break;
		plx_call *call = pool->calls[pool->head];
		s_work_fn *fn = pool->fns[pool->head];
		pool->head = (pool->head + 1) % S_POOL_MAX;
		pool->n--;
		bool stopping = pool->stopping;
		pthread_mutex_unlock(&pool->lock);
		plx_call_reply(call, stopping ? -ESHUTDOWN : fn(st, call), NULL, NULL, 0);
		pthread_mutex_lock(&pool->lock);
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

static void s_pool_stop(state *st)
{
	pthread_mutex_lock(&st->pool.lock);
	st->pool.stopping = true;
	pthread_cond_signal(&st->pool.cond);
	pthread_mutex_unlock(&st->pool.lock);
	pthread_join(st->pool.thread, NULL);
}

static const plx_handler s_table[] = {
    PLX_LOOP(T_LATE, "late", s_do_late, NULL, NULL),
    PLX_LOOP(T_COUNT, "count", s_do_count, NULL, NULL),
    PLX_LOOP(T_GUARDED, "guarded", s_do_guarded, NULL, s_rs_only),
    PLX_LOOP(PLEXUS__IPC_TYPE__IPC_ECHO, "echo", s_do_echo, &plexus__ipc_echo__descriptor, NULL),
    PLX_WORKER(T_WORK, "work", s_work, NULL, NULL),
    PLX_LOOP(T_WHERE, "where", s_do_where, NULL, NULL),
};

static bool s_health(plx_server *server, char *why, size_t size)
{
	state *st = plx_server_arg(server);
	if (!atomic_load(&st->sick))
		return true;
	snprintf(why, size, "sick for the test");
	return false;
}

static void *s_server_main(void *arg)
{
	state *st = arg;
	st->ep = plx_ep_new(st->ctx, "srv", 1);
	plx_ep_bind(st->ep, "tcp://127.0.0.1:*");
	snprintf(st->address, sizeof st->address, "%s", plx_ep_address(st->ep));
	st->server = plx_server_new(st->ep, s_table, sizeof s_table / sizeof *s_table, st);
	if (st->callers)
		st->callers_rc = plx_server_set_callers(st->server, st->callers);
	if (st->server)
		plx_server_set_node(st->server, "n1"); /* node.n1's kernel stops it, no other */
	plx_server_set_health(st->server, s_health);
	plx_server_set_worker(st->server, s_submit, st);
	pthread_mutex_init(&st->pool.lock, NULL);
	pthread_cond_init(&st->pool.cond, NULL);
	pthread_create(&st->pool.thread, NULL, s_pool_main, st);
	pthread_mutex_lock(&st->lock);
	st->ready = 1;
	pthread_cond_signal(&st->cond);
	pthread_mutex_unlock(&st->lock);
	st->run_rc = plx_server_run(st->server);
	s_pool_stop(st); /* calls still queued are answered -ESHUTDOWN */
	plx_server_destroy(&st->server);
	plx_ep_destroy(&st->ep);
	return NULL;
}

static int s_setup_with(void **pstate, const char *callers)
{
	state *st = calloc(1, sizeof *st);
	st->callers = callers;
	st->ctx = plx_ctx_new();
	st->run_rc = 1;
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->cond, NULL);
	pthread_create(&st->thread, NULL, s_server_main, st);
	pthread_mutex_lock(&st->lock);
	while (!st->ready)
		pthread_cond_wait(&st->cond, &st->lock);
	pthread_mutex_unlock(&st->lock);
	plx_route_set(st->ctx, "srv", 1, st->address);
	*pstate = st;
	return 0;
}

static int s_setup(void **pstate)
{
	return s_setup_with(pstate, NULL);
}

static int s_setup_callers(void **pstate)
{
	return s_setup_with(pstate, "vfs, mfs-*,rs");
}

static int s_teardown(void **pstate)
{
	state *st = *pstate;
	if (st->server)
		plx_server_stop(st->server);
	pthread_join(st->thread, NULL);
	plx_ctx_destroy(&st->ctx);
	free(st);
	return 0;
}

static int s_call(state *st, const char *as, uint32_t type, const ProtobufCMessage *body,
                  plx_msg **reply)
{
	plx_ep *client = plx_ep_new(st->ctx, as, 1);
	plx_request req = tl_request("srv", type, body, NULL, 0);
	int rc = plx_sendrec(client, &req, reply, TIMEOUT_MS);
	plx_ep_destroy(&client);
	return rc;
}

static void test_unknown_type_is_enosys(void **pstate)
{
	plx_msg *reply = NULL;
	assert_int_equal(s_call(*pstate, "client", 0x4242, NULL, &reply), -ENOSYS);
	assert_int_equal(reply->status, -ENOSYS);
	plx_msg_destroy(&reply);
}

static void test_allow_list_refuses_other_senders(void **pstate)
{
	state *st = *pstate;
	plx_msg *reply = NULL;
	assert_int_equal(s_call(st, "client", T_GUARDED, NULL, &reply), -PLX_ECALLDENIED);
	plx_msg_destroy(&reply);
	assert_int_equal(s_call(st, "rs", T_GUARDED, NULL, &reply), 0);
	plx_msg_destroy(&reply);
	assert_int_equal(s_call(st, "client", T_COUNT, NULL, &reply), 0);
	Plexus__IpcSinkReply *count =
	    (Plexus__IpcSinkReply *)plx_msg_unpack(reply, &plexus__ipc_sink_reply__descriptor);
	assert_int_equal(count->received, 2); /* the refused call never reached its handler */
	protobuf_c_message_free_unpacked(&count->base, NULL);
	plx_msg_destroy(&reply);
}

static void test_status_reply_and_body_validation(void **pstate)
{
	state *st = *pstate;
	Plexus__IpcEcho echo = PLEXUS__IPC_ECHO__INIT;
	plx_msg *reply = NULL;
	assert_int_equal(s_call(st, "client", PLEXUS__IPC_TYPE__IPC_ECHO, &echo.base, &reply),
	                 -ENOENT);
	assert_null(reply->body);
	plx_msg_destroy(&reply);
	/* A body of the wrong type: an IpcSleep's field 1 is a varint, IpcEcho's a string. */
	Plexus__IpcSleep wrong = PLEXUS__IPC_SLEEP__INIT;
	wrong.milliseconds = 5;
	assert_int_equal(s_call(st, "client", PLEXUS__IPC_TYPE__IPC_ECHO, &wrong.base, &reply),
	                 -EBADMSG);
	plx_msg_destroy(&reply);
}

static void test_trace_level_and_shutdown_are_shared_calls(void **pstate)
{
	state *st = *pstate;
	plx_msg *reply = NULL;
	Plexus__IpcTraceLevel level = PLEXUS__IPC_TRACE_LEVEL__INIT;
	level.enabled = true;
	assert_false(plx_trace_enabled(st->ctx));
	/* only RS, node kernels and operators' commands may switch tracing or stop a server */
	assert_int_equal(
	    s_call(st, "client", PLEXUS__IPC_TYPE__IPC_TRACE_LEVEL, &level.base, &reply),
	    -PLX_ECALLDENIED);
	plx_msg_destroy(&reply);
	assert_int_equal(s_call(st, "client", PLEXUS__IPC_TYPE__IPC_SHUTDOWN, NULL, &reply),
	                 -PLX_ECALLDENIED);
	plx_msg_destroy(&reply);
	assert_false(plx_trace_enabled(st->ctx));
	assert_int_equal(
	    s_call(st, "plexus-cli", PLEXUS__IPC_TYPE__IPC_TRACE_LEVEL, &level.base, &reply), 0);
	plx_msg_destroy(&reply);
	assert_true(plx_trace_enabled(st->ctx));
	plx_trace_set(st->ctx, false, NULL, NULL);
	/* a node kernel only stops the servers of its own node */
	assert_int_equal(s_call(st, "node.n2", PLEXUS__IPC_TYPE__IPC_SHUTDOWN, NULL, &reply),
	                 -PLX_ECALLDENIED);
	plx_msg_destroy(&reply);
	assert_int_equal(
	    s_call(st, "node.n10", PLEXUS__IPC_TYPE__IPC_TRACE_LEVEL, &level.base, &reply),
	    -PLX_ECALLDENIED);
	plx_msg_destroy(&reply);
	assert_false(plx_trace_enabled(st->ctx));
	assert_int_equal(s_call(st, "node.n1", PLEXUS__IPC_TYPE__IPC_SHUTDOWN, NULL, &reply), 0);
	plx_msg_destroy(&reply);
	pthread_join(st->thread, NULL);
	assert_int_equal(st->run_rc, 0);
	st->thread = pthread_self(); /* nothing left to join in teardown */
}

/* A server's callers: the patterns may call what has no allow-list of its own; others get
 * -PLX_ECALLDENIED; anyone may ping; a handler's own list still decides for it. */
static void test_callers(void **pstate)
{
	state *st = *pstate;
	assert_int_equal(st->callers_rc, 0);
	plx_msg *reply = NULL;
	assert_int_equal(s_call(st, "client", T_COUNT, NULL, &reply), -PLX_ECALLDENIED);
	plx_msg_destroy(&reply);
	assert_int_equal(s_call(st, "mfs", T_COUNT, NULL, &reply), -PLX_ECALLDENIED);
	plx_msg_destroy(&reply);
	assert_int_equal(s_call(st, "vfs", T_COUNT, NULL, &reply), 0);
	plx_msg_destroy(&reply);
	assert_int_equal(s_call(st, "mfs-data", T_COUNT, NULL, &reply), 0);
	plx_msg_destroy(&reply);
	Plexus__IpcPing ping = PLEXUS__IPC_PING__INIT;
	assert_int_equal(s_call(st, "client", PLEXUS__IPC_TYPE__IPC_PING, &ping.base, &reply), 0);
	plx_msg_destroy(&reply);
	assert_int_equal(s_call(st, "vfs", T_GUARDED, NULL, &reply), -PLX_ECALLDENIED);
	plx_msg_destroy(&reply);
	assert_int_equal(s_call(st, "rs", T_GUARDED, NULL, &reply), 0);
	plx_msg_destroy(&reply);
	assert_int_equal(st->handled, 3);
	/* too many patterns, or one too long, are refused (on a server of its own: set-up only) */
	plx_ep *ep = plx_ep_new(st->ctx, "other", 1);
	plx_server *other = plx_server_new(ep, s_table, 1, NULL);
	char many[2048] = "";
	for (int i = 0; i < 33; i++)
		strcat(many, "a,");
	assert_int_equal(plx_server_set_callers(other, many), -EINVAL);
	char longer[100];
	memset(longer, 'x', sizeof longer - 1);
	longer[sizeof longer - 1] = '\0';
	assert_int_equal(plx_server_set_callers(other, longer), -EINVAL);
	assert_int_equal(plx_server_set_callers(other, "a, b"), 0);
	plx_server_destroy(&other);
	plx_ep_destroy(&ep);
}

typedef struct late_client {
	state *st;
	int rc; /* what plx_sendrec returned: the reply's status, or an error of its own */
	bool replied;
} late_client;

static void *s_late_client(void *arg)
{
	late_client *c = arg;
	plx_msg *reply = NULL;
	c->rc = s_call(c->st, "client", T_LATE, NULL, &reply);
	c->replied = reply != NULL;
	plx_msg_destroy(&reply);
	return NULL;
}

/* A reply given from another thread right before the server is stopped still reaches the
 * requester: the loop sends what was handed over before it returns. */
/* IPC_PING's reply says why the server cannot serve: its own check's reason, or nine tenths of
 * its descriptors in use; healthy again, it says nothing. */
static char *s_ping_trouble(state *st)
{
	plx_msg *reply = NULL;
	Plexus__IpcPing ping = PLEXUS__IPC_PING__INIT;
	assert_int_equal(s_call(st, "rs", PLEXUS__IPC_TYPE__IPC_PING, &ping.base, &reply), 0);
	Plexus__IpcPing *pong =
	    (Plexus__IpcPing *)plx_msg_unpack(reply, &plexus__ipc_ping__descriptor);
	assert_non_null(pong);
	char *trouble = strdup(pong->trouble ? pong->trouble : "");
	protobuf_c_message_free_unpacked(&pong->base, NULL);
	plx_msg_destroy(&reply);
	return trouble;
}

static void test_health_in_ping(void **pstate)
{
	state *st = *pstate;
	char *t = s_ping_trouble(st);
	assert_string_equal(t, "");
	free(t);
	atomic_store(&st->sick, 1);
	t = s_ping_trouble(st);
	assert_string_equal(t, "sick for the test");
	free(t);
	atomic_store(&st->sick, 0);
	/* descriptors: a limit of 512, 470 of them open */
	struct rlimit old, low;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = 512;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	int fds[512], n = 0, null = open("/dev/null", O_RDONLY);
	DIR *d = opendir("/proc/self/fd");
	long open_now = -3; /* ".", ".." and the directory's own descriptor are not counted */
	while (readdir(d))
		open_now++;
	closedir(d);
	while (open_now + n < 470 && (fds[n] = dup(null)) >= 0)
		n++;
	assert_int_equal(open_now + n, 470);
	t = s_ping_trouble(st);
	assert_non_null(strstr(t, "of 512 file descriptors open"));
	free(t);
	while (n > 0)
		close(fds[--n]);
	close(null);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	t = s_ping_trouble(st);
	assert_string_equal(t, "");
	free(t);
}

static void test_reply_given_before_stop_is_sent(void **pstate)
{
	state *st = *pstate;
	late_client c = {.st = st, .rc = 1};
	pthread_t client;
	assert_int_equal(pthread_create(&client, NULL, s_late_client, &c), 0);
	pthread_mutex_lock(&st->lock);
	while (!st->late)
		pthread_cond_wait(&st->cond, &st->lock);
	pthread_mutex_unlock(&st->lock);
	plx_server *server = st->server;
	assert_int_equal(plx_call_reply(st->late, -EALREADY, NULL, NULL, 0), 0);
	plx_server_stop(server);
	pthread_join(client, NULL);
	assert_true(c.replied);
	assert_int_equal(c.rc, -EALREADY);
}

/* Library slots: one value per key, found again by the key, a fixed number of them. */
static void test_attach_slots(void **pstate)
{
	state *st = *pstate;
	static const char keys[PLX_SERVER_SLOTS + 1] = {0};
	int values[PLX_SERVER_SLOTS];
	assert_null(plx_server_attached(st->server, &keys[0]));
	for (int i = 0; i < PLX_SERVER_SLOTS; i++)
		assert_int_equal(plx_server_attach(st->server, &keys[i], &values[i]), 0);
	assert_int_equal(plx_server_attach(st->server, &keys[0], &values[1]), -EBUSY);
	assert_int_equal(plx_server_attach(st->server, &keys[PLX_SERVER_SLOTS], values), -ENOSPC);
	for (int i = 0; i < PLX_SERVER_SLOTS; i++)
		assert_ptr_equal(plx_server_attached(st->server, &keys[i]), &values[i]);
	assert_null(plx_server_attached(st->server, &keys[PLX_SERVER_SLOTS]));
}

static void test_duplicate_types_are_refused(void **pstate)
{
	state *st = *pstate;
	const plx_handler twice[] = {
	    PLX_LOOP(T_COUNT, "count", s_do_count, NULL, NULL),
	    PLX_LOOP(T_COUNT, "count-again", s_do_count, NULL, NULL),
	};
	errno = 0;
	assert_null(plx_server_new(st->ep, twice, 2, NULL));
	assert_int_equal(errno, EINVAL);
}

/* A PLX_ON_WORKER entry runs on the thread the submit function hands it to, an entry without
 * the flag in the loop's; a submit error is the reply; each request gets one answer, also when
 * the worker answers before the submit function has returned to the library. */
static void test_worker_entries(void **pstate)
{
	state *st = *pstate;
	enum { N = 32 };
	plx_ep *client = plx_ep_new(st->ctx, "client", 1);
	uint64_t ids[N];
	for (int i = 0; i < N; i++) {
		plx_request req = tl_request("srv", T_WORK, NULL, NULL, 0);
		assert_int_equal(plx_asynsend(client, &req, &ids[i]), 0);
	}
	for (int i = 0; i < N; i++) {
		plx_msg *reply = NULL;
		assert_int_equal(plx_receive(client, &reply, TIMEOUT_MS), 0);
		assert_int_equal(reply->kind, PLX_REPLY);
		assert_int_equal(reply->status, 0);
		int found = 0;
		for (int j = 0; j < N; j++)
			if (ids[j] == reply->request_id) {
				ids[j] = 0; /* a second answer would find nothing */
				found = 1;
			}
		assert_true(found);
		plx_msg_destroy(&reply);
	}
	plx_msg *extra = NULL;
	assert_int_equal(plx_receive(client, &extra, 300), -ETIMEDOUT);
	assert_int_equal(atomic_load(&st->submitted), N);
	assert_int_equal(atomic_load(&st->worked), N);
	plx_msg *reply = NULL;
	plx_request req = tl_request("srv", T_WHERE, NULL, NULL, 0);
	assert_int_equal(plx_sendrec(client, &req, &reply, TIMEOUT_MS), 0);
	plx_msg_destroy(&reply);
	pthread_mutex_lock(&st->lock);
	assert_true(pthread_equal(st->work_thread, st->pool.thread));
	assert_false(pthread_equal(st->work_thread, st->thread));
	assert_true(pthread_equal(st->where_thread, st->thread));
	pthread_mutex_unlock(&st->lock);
	atomic_store(&st->refuse, 1);
	req = tl_request("srv", T_WORK, NULL, NULL, 0);
	assert_int_equal(plx_sendrec(client, &req, &reply, TIMEOUT_MS), -EAGAIN);
	assert_int_equal(reply->status, -EAGAIN);
	plx_msg_destroy(&reply);
	assert_int_equal(atomic_load(&st->worked), N);
	assert_int_equal(plx_receive(client, &extra, 300), -ETIMEDOUT);
	plx_ep_destroy(&client);
}

/* A worker entry without work, or a loop entry without fn, is a table plx_server_new refuses. */
static void test_worker_entries_checked(void **pstate)
{
	state *st = *pstate;
	const plx_handler no_work[] = {
	    {.type = T_WORK, .name = "work", .flags = PLX_ON_WORKER, .allowed = NULL}};
	const plx_handler no_fn[] = {
	    {.type = T_WHERE, .name = "where", .flags = PLX_IN_LOOP, .allowed = NULL}};
	errno = 0;
	assert_null(plx_server_new(st->ep, no_work, 1, NULL));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(plx_server_new(st->ep, no_fn, 1, NULL));
	assert_int_equal(errno, EINVAL);
}

/* A table is checked against the families registered (plexus/family.h): an entry whose body
 * is not the one its family's .def says is refused, and plx_server_check names it; a matching
 * entry, one that unpacks nothing, and an entry of a type no registered family has, are
 * taken. */
static void test_bodies_checked_against_family(void **pstate)
{
	state *st = *pstate;
	assert_int_equal(plx_register_family(&plx_family_cdev), 0);
	assert_int_equal(plx_register_family(NULL), -EINVAL);
	const plx_request_line *open = plx_family_request(PLEXUS__CDEV_TYPE__CDEV_OPEN);
	assert_non_null(open);
	assert_ptr_equal(open->body, &plexus__cdev_open__descriptor);
	assert_null(open->reply);
	assert_null(plx_family_request(PLEXUS__BDEV_TYPE__BDEV_OPEN)); /* not registered here */
	const plx_handler table[] = {
	    PLX_LOOP(PLEXUS__CDEV_TYPE__CDEV_OPEN, "open", s_do_count,
	             &plexus__cdev_open__descriptor, NULL),
	    /* the wrong body: CDEV_READ takes a CdevIo */
	    PLX_LOOP(PLEXUS__CDEV_TYPE__CDEV_READ, "read", s_do_count,
	             &plexus__cdev_minor__descriptor, NULL),
	    /* BDEV is not registered: whatever body it names is taken */
	    PLX_LOOP(PLEXUS__BDEV_TYPE__BDEV_OPEN, "bdev-open", s_do_count,
	             &plexus__cdev_minor__descriptor, NULL),
	    PLX_LOOP(T_COUNT, "count", s_do_count, NULL, NULL),
	};
	size_t bad = 99;
	assert_int_equal(plx_server_check(table, 4, &bad), -EINVAL);
	assert_int_equal(bad, 1); /* CDEV_READ's entry */
	errno = 0;
	assert_null(plx_server_new(st->ep, table, 4, NULL));
	assert_int_equal(errno, EINVAL);
	const plx_handler no_body[] = {
	    /* the family says CdevOpen; NULL: the handler does not look at it, nothing unpacked */
	    PLX_LOOP(PLEXUS__CDEV_TYPE__CDEV_OPEN, "open", s_do_count, NULL, NULL)};
	bad = 99;
	assert_int_equal(plx_server_check(no_body, 1, &bad), 0);
	assert_int_equal(bad, 99);
	const plx_handler good[] = {table[0], table[2], table[3]};
	bad = 99;
	assert_int_equal(plx_server_check(good, 3, &bad), 0);
	assert_int_equal(bad, 99); /* untouched */
	plx_server *srv = plx_server_new(st->ep, good, 3, NULL);
	assert_non_null(srv);
	plx_server_destroy(&srv);
}

static int s_teardown_joined(void **pstate)
{
	state *st = *pstate;
	if (!pthread_equal(st->thread, pthread_self()))
		return s_teardown(pstate);
	plx_ctx_destroy(&st->ctx);
	free(st);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_unknown_type_is_enosys, s_setup, s_teardown),
	    cmocka_unit_test_setup_teardown(test_allow_list_refuses_other_senders, s_setup,
	                                    s_teardown),
	    cmocka_unit_test_setup_teardown(test_status_reply_and_body_validation, s_setup,
	                                    s_teardown),
	    cmocka_unit_test_setup_teardown(test_trace_level_and_shutdown_are_shared_calls, s_setup,
	                                    s_teardown_joined),
	    cmocka_unit_test_setup_teardown(test_reply_given_before_stop_is_sent, s_setup,
	                                    s_teardown),
	    cmocka_unit_test_setup_teardown(test_attach_slots, s_setup, s_teardown),
	    cmocka_unit_test_setup_teardown(test_health_in_ping, s_setup, s_teardown),
	    cmocka_unit_test_setup_teardown(test_callers, s_setup_callers, s_teardown),
	    cmocka_unit_test_setup_teardown(test_duplicate_types_are_refused, s_setup, s_teardown),
	    cmocka_unit_test_setup_teardown(test_worker_entries, s_setup, s_teardown),
	    cmocka_unit_test_setup_teardown(test_worker_entries_checked, s_setup, s_teardown),
	    cmocka_unit_test_setup_teardown(test_bodies_checked_against_family, s_setup,
	                                    s_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
