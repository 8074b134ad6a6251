/*
 * testlib.h — what the transport tests share: a test server running in its own thread,
 * addresses for each transport kind, and a raw ZeroMQ peer for sending broken frames.
 *
 * Entry points: tl_kind_name, tl_address, tl_server_start, tl_server_stop, tl_request,
 * tl_pattern, tl_check_pattern, tl_fixture_setup, tl_fixture_teardown.
 */
#ifndef PLEXUS_TRANSPORT_TESTLIB_H
#define PLEXUS_TRANSPORT_TESTLIB_H

#include <pthread.h>

#include <plexus/server.h>

#include "plexus/proto/ipc.pb-c.h"

typedef enum tl_kind { TL_INPROC, TL_IPC, TL_TCP } tl_kind;

/* A server thread answering IPC_ECHO, IPC_SINK, IPC_SLEEP (from a worker thread, after the
 * delay) and IPC_NO_REPLY (never), through the server library. */
typedef struct tl_server {
	plx_ctx *ctx;
	char label[PLX_LABEL_MAX];
	uint64_t generation;
	char address[PLX_ADDRESS_MAX]; /* the bound address, once started */
	tl_kind kind;
	pthread_t thread;
	plx_server *server;
	plx_ep *ep;
	pthread_mutex_t lock;
	pthread_cond_t ready_cond;
	int ready; /* 1 bound, -1 failed */
	pthread_t sleepers[64];
	int nsleepers;
	plx_call *held[64]; /* IPC_NO_REPLY calls, answered at stop so nothing leaks */
	int nheld;
	int notifies; /* notifies received */
	int replies;  /* asynsend replies received by the server itself */
} tl_server;

const char *tl_kind_name(tl_kind kind);
/* Writes a fresh bind address of the given kind into buf (ipc: in a private temp dir that
 * is removed at exit). */
void tl_address(tl_kind kind, char *buf, size_t size);
/* Starts a server labelled label/generation on a new address of kind and routes label to it
 * in ctx. Asserts on failure. */
tl_server *tl_server_start(plx_ctx *ctx, const char *label, uint64_t generation, tl_kind kind);
/* Stops the server thread, answers what it held, frees it. Accepts NULL. */
void tl_server_stop(tl_server **server_p);

/* A request to label (current generation) of type with an optional IpcEcho body. */
plx_request tl_request(const char *label, uint32_t type, const ProtobufCMessage *body,
                       const void *data, size_t size);
/* Fills buf with a pattern derived from seed; tl_check_pattern verifies it. */
void tl_pattern(uint8_t *buf, size_t size, uint32_t seed);
int tl_check_pattern(const uint8_t *buf, size_t size, uint32_t seed);

/* The usual fixture: a context, a test server and a client endpoint, over one transport
 * kind. The first four fields are set before setup (see TL_FIXTURES). */
typedef struct tl_fixture {
	tl_kind kind;
	const char *server_label;
	uint64_t server_generation;
	const char *client_label;
	plx_ctx *ctx;
	tl_server *server;
	plx_ep *client;
} tl_fixture;

/* cmocka setup and teardown for a tl_fixture passed as the test's prestate. */
int tl_fixture_setup(void **state);
int tl_fixture_teardown(void **state);

/* Declares the fixtures inproc, ipc and tcp for TL_EACH_KIND. */
#define TL_FIXTURES(server, generation, client)                                                    \
	tl_fixture inproc = {TL_INPROC, server, generation, client, NULL, NULL, NULL},             \
	           ipc = {TL_IPC, server, generation, client, NULL, NULL, NULL},                   \
	           tcp = {TL_TCP, server, generation, client, NULL, NULL, NULL}

/* Runs test once over each transport kind. */
#define TL_EACH_KIND(test)                                                                         \
	cmocka_unit_test_prestate_setup_teardown(test, tl_fixture_setup, tl_fixture_teardown,      \
	                                         &inproc),                                         \
	    cmocka_unit_test_prestate_setup_teardown(test, tl_fixture_setup, tl_fixture_teardown,  \
	                                             &ipc),                                        \
	    cmocka_unit_test_prestate_setup_teardown(test, tl_fixture_setup, tl_fixture_teardown,  \
	                                             &tcp)

#endif
