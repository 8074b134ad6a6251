/*
 * testlib.c — the transport tests' shared test server and helpers.
 *
 * Entry points: tl_kind_name, tl_address, tl_server_start, tl_server_stop, tl_request,
 * tl_pattern, tl_check_pattern, tl_fixture_setup, tl_fixture_teardown.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"

static char s_ipc_dir[PATH_MAX];
static int s_serial;
static pthread_mutex_t s_serial_lock = PTHREAD_MUTEX_INITIALIZER;

const char *tl_kind_name(tl_kind kind)
{
	return kind == TL_INPROC ? "inproc" : kind == TL_IPC ? "ipc" : "tcp";
}

static void s_remove_ipc_dir(void)
{
	char cmd[PATH_MAX + 16];
	if (s_ipc_dir[0]) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_ipc_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", s_ipc_dir);
	}
}

static const char *s_ipc_dir_get(void)
{
	if (!s_ipc_dir[0]) {
		const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
		snprintf(s_ipc_dir, sizeof s_ipc_dir, "%s/plexus-test-XXXXXX", tmp);
		if (!mkdtemp(s_ipc_dir))
			abort();
		atexit(s_remove_ipc_dir);
	}
	return s_ipc_dir;
}

void tl_address(tl_kind kind, char *buf, size_t size)
{
	pthread_mutex_lock(&s_serial_lock);
	int n = ++s_serial;
	const char *dir = kind == TL_IPC ? s_ipc_dir_get() : "";
	pthread_mutex_unlock(&s_serial_lock);
	if (kind == TL_INPROC)
		snprintf(buf, size, "inproc://test-%d-%d", (int)getpid(), n);
	else if (kind == TL_IPC)
		snprintf(buf, size, "ipc://%s/s%d", dir, n);
	else
		snprintf(buf, size, "tcp://127.0.0.1:*");
}

/* ---- the test server's handlers ---- */

static int s_do_echo(plx_call *call)
{
	plx_call_reply(call, 0, call->body, call->msg->data, call->msg->data_size);
	return PLX_SUSPEND;
}

static int s_do_sink(plx_call *call)
{
	Plexus__IpcSinkReply reply = PLEXUS__IPC_SINK_REPLY__INIT;
	reply.received = call->msg->data_size;
	plx_call_reply(call, 0, &reply.base, NULL, 0);
	return PLX_SUSPEND;
}

static void *s_sleeper(void *arg)
{
	plx_call *call = arg;
	const Plexus__IpcSleep *sleep = (const Plexus__IpcSleep *)call->body;
	usleep(sleep->milliseconds * 1000u);
	plx_call_reply(call, 0, NULL, NULL, 0);
	return NULL;
}

static int s_do_sleep(plx_call *call)
{
	tl_server *self = plx_server_arg(call->server);
	if (self->nsleepers == 64)
		return -EAGAIN;
	pthread_create(&self->sleepers[self->nsleepers++], NULL, s_sleeper, call);
	return PLX_SUSPEND;
}

static int s_do_no_reply(plx_call *call)
{
	tl_server *self = plx_server_arg(call->server);
	if (self->nheld == 64)
		return -EAGAIN;
	self->held[self->nheld++] = call;
	return PLX_SUSPEND;
}

static const plx_handler s_table[] = {
    PLX_LOOP(PLEXUS__IPC_TYPE__IPC_ECHO, "echo", s_do_echo, &plexus__ipc_echo__descriptor, NULL),
    PLX_LOOP(PLEXUS__IPC_TYPE__IPC_SINK, "sink", s_do_sink, NULL, NULL),
    PLX_LOOP(PLEXUS__IPC_TYPE__IPC_SLEEP, "sleep", s_do_sleep, &plexus__ipc_sleep__descriptor,
             NULL),
    PLX_LOOP(PLEXUS__IPC_TYPE__IPC_NO_REPLY, "no_reply", s_do_no_reply, NULL, NULL),
};

static void s_on_notify(plx_server *server, plx_msg *msg)
{
	tl_server *self = plx_server_arg(server);
	pthread_mutex_lock(&self->lock);
	self->notifies++;
	pthread_mutex_unlock(&self->lock);
	plx_msg_destroy(&msg);
}

static void s_signal_ready(tl_server *self, int ready)
{
	pthread_mutex_lock(&self->lock);
	self->ready = ready;
	pthread_cond_broadcast(&self->ready_cond);
	pthread_mutex_unlock(&self->lock);
}

static void *s_server_main(void *arg)
{
	tl_server *self = arg;
	char address[PLX_ADDRESS_MAX];
	tl_address(self->kind, address, sizeof address);
	self->ep = plx_ep_new(self->ctx, self->label, self->generation);
	if (!self->ep || plx_ep_bind(self->ep, address) != 0) {
		s_signal_ready(self, -1);
		return NULL;
	}
	snprintf(self->address, sizeof self->address, "%s", plx_ep_address(self->ep));
	self->server = plx_server_new(self->ep, s_table, sizeof s_table / sizeof *s_table, self);
	plx_server_on_notify(self->server, s_on_notify);
	s_signal_ready(self, 1);
	int rc = plx_server_run(self->server);
	if (rc != 0) /* a loop that ends without being asked to is a transport bug */
		fprintf(stderr, "test server %s: loop ended: %s\n", self->label, plx_strerror(rc));
	for (int i = 0; i < self->nsleepers; i++)
		pthread_join(self->sleepers[i], NULL);
	for (int i = 0; i < self->nheld; i++)
		plx_call_reply(self->held[i], -ECANCELED, NULL, NULL, 0);
	plx_server_destroy(&self->server);
	plx_ep_destroy(&self->ep);
	return NULL;
}

tl_server *tl_server_start(plx_ctx *ctx, const char *label, uint64_t generation, tl_kind kind)
{
	tl_server *self = calloc(1, sizeof *self);
	if (!self)
		abort();
	self->ctx = ctx;
	snprintf(self->label, sizeof self->label, "%s", label);
	self->generation = generation;
	self->kind = kind;
	pthread_mutex_init(&self->lock, NULL);
	pthread_cond_init(&self->ready_cond, NULL);
	if (pthread_create(&self->thread, NULL, s_server_main, self) != 0)
		abort();
	pthread_mutex_lock(&self->lock);
	while (self->ready == 0)
		pthread_cond_wait(&self->ready_cond, &self->lock);
	pthread_mutex_unlock(&self->lock);
	if (self->ready != 1 || plx_route_set(ctx, label, generation, self->address) != 0) {
		fprintf(stderr, "test server %s could not start\n", label);
		abort();
	}
	return self;
}

void tl_server_stop(tl_server **server_p)
{
	tl_server *self = server_p ? *server_p : NULL;
	if (!self)
		return;
	plx_server_stop(self->server);
	pthread_join(self->thread, NULL);
	pthread_mutex_destroy(&self->lock);
	pthread_cond_destroy(&self->ready_cond);
	free(self);
	*server_p = NULL;
}

plx_request tl_request(const char *label, uint32_t type, const ProtobufCMessage *body,
                       const void *data, size_t size)
{
	plx_request req = {.type = type, .body = body, .data = data, .data_size = size};
	snprintf(req.dst.label, sizeof req.dst.label, "%s", label);
	return req;
}

static uint8_t s_pattern_byte(size_t i, uint32_t seed)
{
	uint32_t x = (uint32_t)i * 2654435761u ^ seed;
	return (uint8_t)(x >> 13 ^ x);
}

void tl_pattern(uint8_t *buf, size_t size, uint32_t seed)
{
	for (size_t i = 0; i < size; i++)
		buf[i] = s_pattern_byte(i, seed);
}

int tl_check_pattern(const uint8_t *buf, size_t size, uint32_t seed)
{
	for (size_t i = 0; i < size; i++)
		if (buf[i] != s_pattern_byte(i, seed))
			return 0;
	return 1;
}

int tl_fixture_setup(void **state)
{
	tl_fixture *f = *state;
	f->ctx = plx_ctx_new();
	if (!f->ctx)
		return -1;
	f->server = tl_server_start(f->ctx, f->server_label, f->server_generation, f->kind);
	f->client = plx_ep_new(f->ctx, f->client_label, 1);
	return f->client ? 0 : -1;
}

int tl_fixture_teardown(void **state)
{
	tl_fixture *f = *state;
	plx_ep_destroy(&f->client);
	tl_server_stop(&f->server);
	plx_ctx_destroy(&f->ctx);
	return 0;
}
