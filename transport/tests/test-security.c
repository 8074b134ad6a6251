/*
 * test-security.c — secured links over tcp loopback (plexus/link_security.h), with real
 * ZeroMQ sockets and CURVE handshakes:
 *   certificates: issued, checked, refused when tampered with, from another root, malformed;
 *   a secured server answers a client whose certificate names its declared source, on one
 *   thread and on several (each its own connection);
 *   a client with the cluster's root but a certificate for another label, a client whose
 *   certificate comes from another root, and a plain (unsecured) client all get no answer
 *   at all, and the server counts each dropped message;
 *   a certificate that names another key or another endpoint is refused by plx_ep_set_keys;
 *   a plain client refuses a secured address at once (EACCES);
 *   a route from the registry needs the root's certificate for its label, generation and key
 *   on a secured context (plx_route_set_certified), and is set as given on a plain one;
 *   user certificates: the credentials they carry come back from the check and with each
 *   message (plx_msg_vouched), none for a service's certificate; a changed uid, gid or group
 *   breaks the signature; malformed credentials are refused.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <plexus/link_security.h>
#include <plexus/transport.h>

#include "internal.h" /* white box: a forger's endpoint keyed past plx_ep_set_keys's checks */
#include "plexus/proto/ipc.pb-c.h"

static uint8_t s_root_pk[PLX_TRUST_PUBLIC], s_root_sk[PLX_TRUST_SECRET];
static uint8_t s_other_pk[PLX_TRUST_PUBLIC], s_other_sk[PLX_TRUST_SECRET];

/* What a forger does with its own copy of the library: keys and a certificate that do not
 * prove the endpoint's name. */
static void s_force_keys(plx_ep *ep, const plx_link_keys *keys, const char *cert)
{
	ep->keys = *keys;
	snprintf(ep->cert, sizeof ep->cert, "%s", cert);
	ep->keyed = true;
}

/* A secured echo server thread: answers every request with status 0. */
typedef struct server {
	plx_ctx *ctx;
	plx_ep *ep;
	pthread_t thread;
	volatile int stop;
	volatile int ready;
	volatile int served;
	volatile int vouched_user; /* the last request's: 1 a user certificate, 0 not */
	plx_cred vouched;
} server;

static void *s_serve(void *arg)
{
	server *s = arg;
	while (!s->stop) {
		plx_msg *m = NULL;
		if (plx_receive(s->ep, &m, 50) != 0)
			continue;
		const plx_cred *cred = plx_msg_vouched(m);
		s->vouched_user = cred != NULL;
		if (cred)
			s->vouched = *cred;
		if (m->kind == PLX_REQUEST && plx_reply(s->ep, m, 0, NULL, NULL, 0) == 0)
			s->served++;
		plx_msg_destroy(&m);
	}
	return NULL;
}

/* Keys and a certificate for label/generation from the root (sk). */
static void s_identity(const uint8_t *sk, const char *label, uint64_t gen, plx_link_keys *keys,
                       char *cert)
{
	assert_int_equal(plx_link_keys_new(keys), 0);
	plx_name who = {.generation = gen};
	snprintf(who.label, sizeof who.label, "%s", label);
	assert_int_equal(plx_cert_issue(sk, &who, keys->public_key, cert, PLX_CERT_MAX), 0);
}

/* Makes the server's endpoint on the server thread (its owner): keys, certificate, bound on
 * tcp loopback; ready 1 or -1. */
static void *s_server_thread(void *arg)
{
	server *s = arg;
	plx_link_keys keys;
	char cert[PLX_CERT_MAX];
	plx_name who = {.label = "srv", .generation = 1};
	bool ok = plx_link_keys_new(&keys) == 0 &&
	          plx_cert_issue(s_root_sk, &who, keys.public_key, cert, sizeof cert) == 0 &&
	          (s->ep = plx_ep_new(s->ctx, "srv", 1)) != NULL &&
	          plx_ep_set_keys(s->ep, &keys, cert) == 0 &&
	          plx_ep_bind(s->ep, "tcp://127.0.0.1:*") == 0 &&
	          strncmp(plx_ep_address(s->ep), "curve:", 6) == 0 &&
	          strstr(plx_ep_address(s->ep), keys.public_key) &&
	          plx_ep_set_keys(s->ep, &keys, cert) == -EALREADY;
	s->ready = ok ? 1 : -1;
	return ok ? s_serve(s) : NULL;
}

static server *s_server_start(void)
{
	server *s = calloc(1, sizeof *s);
	assert_non_null(s);
	s->ctx = plx_ctx_new();
	assert_int_equal(plx_ctx_trust(s->ctx, s_root_pk), 0);
	assert_int_equal(plx_ctx_trust(s->ctx, s_root_pk), -EALREADY);
	assert_int_equal(pthread_create(&s->thread, NULL, s_server_thread, s), 0);
	while (!s->ready)
		sched_yield();
	assert_int_equal(s->ready, 1);
	return s;
}

static void s_server_stop(server *s)
{
	s->stop = 1;
	pthread_join(s->thread, NULL);
	plx_ep_destroy(&s->ep);
	plx_ctx_destroy(&s->ctx);
	free(s);
}

/* A client context: secured with root (NULL: plain), its endpoint keyed with a certificate
 * for cert_label from issuer (NULL: none), routed to the server. */
typedef struct client {
	plx_ctx *ctx;
	plx_ep *ep;
} client;

static client s_client(server *s, const uint8_t *root, const uint8_t *issuer,
                       const char *cert_label)
{
	client c = {.ctx = plx_ctx_new()};
	assert_non_null(c.ctx);
	if (root)
		assert_int_equal(plx_ctx_trust(c.ctx, root), 0);
	c.ep = plx_ep_new(c.ctx, "cli", 1);
	assert_non_null(c.ep);
	if (issuer) {
		plx_link_keys keys;
		char cert[PLX_CERT_MAX];
		s_identity(issuer, cert_label, 0, &keys, cert);
		if (issuer == s_root_sk)
			assert_int_equal(plx_ep_set_keys(c.ep, &keys, cert),
			                 strcmp(cert_label, "cli") == 0 ? 0 : -EINVAL);
		else
			assert_int_equal(plx_ep_set_keys(c.ep, &keys, cert), -EACCES);
		if (issuer != s_root_sk || strcmp(cert_label, "cli") != 0) /* the forger's copy */
			s_force_keys(c.ep, &keys, cert);
	}
	const char *address = plx_ep_address(s->ep);
	if (!root) { /* a plain peer only knows the plain address */
		address = address + 6 + PLX_KEY_TEXT;
	}
	assert_int_equal(plx_route_set(c.ctx, "srv", 1, address), 0);
	return c;
}

static void s_client_end(client *c)
{
	plx_ep_destroy(&c->ep);
	plx_ctx_destroy(&c->ctx);
}

static int s_ping(client *c, int timeout_ms)
{
	plx_request req = {.dst = {.label = "srv", .generation = 1},
	                   .type = PLEXUS__IPC_TYPE__IPC_ECHO};
	plx_msg *reply = NULL;
	int rc = plx_sendrec(c->ep, &req, &reply, timeout_ms);
	plx_msg_destroy(&reply);
	return rc;
}

static void test_certificates(void **state)
{
	(void)state;
	plx_link_keys keys;
	char cert[PLX_CERT_MAX];
	s_identity(s_root_sk, "vfs", 7, &keys, cert);
	plx_name who;
	char key[PLX_KEY_TEXT];
	assert_int_equal(plx_cert_check(s_root_pk, cert, &who, key), 0);
	assert_string_equal(who.label, "vfs");
	assert_int_equal(who.generation, 7);
	assert_string_equal(key, keys.public_key);
	assert_int_equal(plx_cert_check(s_other_pk, cert, NULL, NULL), -EACCES);
	char forged[PLX_CERT_MAX];
	snprintf(forged, sizeof forged, "plx1 rs%s", strchr(cert + 5, ' '));
	assert_int_equal(plx_cert_check(s_root_pk, forged, NULL, NULL), -EACCES);
	snprintf(forged, sizeof forged, "%s", cert);
	forged[strlen(forged) - 1] = forged[strlen(forged) - 1] == '0' ? '1' : '0';
	assert_int_equal(plx_cert_check(s_root_pk, forged, NULL, NULL), -EACCES);
	assert_int_equal(plx_cert_check(s_root_pk, "plx1 vfs 7", NULL, NULL), -EBADMSG);
	assert_int_equal(plx_cert_check(s_root_pk, "", NULL, NULL), -EBADMSG);
	assert_int_equal(plx_cert_check(s_root_pk, NULL, NULL, NULL), -EBADMSG);
	char longer[PLX_CERT_MAX + 8];
	snprintf(longer, sizeof longer, "%s extra", cert);
	snprintf(forged, sizeof forged, "%.*s", (int)sizeof forged - 1, longer);
	assert_int_equal(plx_cert_check(s_root_pk, forged, NULL, NULL), -EBADMSG);
	plx_name bad = {.label = "two words"};
	assert_int_equal(plx_cert_issue(s_root_sk, &bad, keys.public_key, cert, sizeof cert),
	                 -EINVAL);
	plx_name ok = {.label = "ok"};
	assert_int_equal(plx_cert_issue(s_root_sk, &ok, "short", cert, sizeof cert), -EINVAL);
	assert_int_equal(plx_cert_issue(s_root_sk, &ok, keys.public_key, cert, 20), -ENOSPC);
	/* an endpoint takes only a certificate for itself and its own key */
	plx_ctx *ctx = plx_ctx_new();
	plx_ep *ep = plx_ep_new(ctx, "vfs", 7);
	assert_int_equal(plx_ep_set_keys(ep, &keys, cert), -EPERM); /* no root trusted yet */
	assert_int_equal(plx_ctx_trust(ctx, s_root_pk), 0);
	s_identity(s_root_sk, "vfs", 7, &keys, cert);
	plx_link_keys other;
	assert_int_equal(plx_link_keys_new(&other), 0);
	assert_int_equal(plx_ep_set_keys(ep, &other, cert), -EINVAL);
	s_identity(s_root_sk, "vfs", 8, &keys, cert);
	assert_int_equal(plx_ep_set_keys(ep, &keys, cert), -EINVAL);
	s_identity(s_root_sk, "vfs", 0, &keys, cert); /* every generation */
	assert_int_equal(plx_ep_set_keys(ep, &keys, cert), 0);
	plx_ep_destroy(&ep);
	plx_ctx_destroy(&ctx);
}

/* A client whose certificate from the cluster's root names it is answered, from several
 * threads at once too. */
static void *s_pings(void *arg)
{
	client *c = arg;
	intptr_t ok = 0;
	for (int i = 0; i < 50; i++)
		ok += s_ping(c, 5000) == 0;
	return (void *)ok;
}

static void test_trusted_client_answered(void **state)
{
	(void)state;
	server *s = s_server_start();
	client c = s_client(s, s_root_pk, s_root_sk, "cli");
	assert_int_equal(s_ping(&c, 5000), 0);
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, s_pings, &c), 0);
	for (int i = 0; i < 4; i++) {
		void *ok;
		pthread_join(t[i], &ok);
		assert_int_equal((intptr_t)ok, 50);
	}
	assert_int_equal(plx_ep_refused(s->ep), 0);
	s_client_end(&c);
	s_server_stop(s);
}

/* Whoever cannot prove the source it declares gets no answer at all, and is counted. */
static void test_untrusted_clients_dropped(void **state)
{
	(void)state;
	server *s = s_server_start();
	/* a certificate from the root, but for another label than the source it sends */
	client liar = s_client(s, s_root_pk, s_root_sk, "rs");
	assert_int_equal(s_ping(&liar, 800), -ETIMEDOUT);
	assert_int_equal(s_ping(&liar, 800), -ETIMEDOUT);
	assert_int_equal(plx_ep_refused(s->ep), 2);
	/* a certificate for its own name, from another root */
	client stranger = s_client(s, s_root_pk, s_other_sk, "cli");
	assert_int_equal(s_ping(&stranger, 800), -ETIMEDOUT);
	assert_int_equal(plx_ep_refused(s->ep), 3);
	/* no CURVE at all: the handshake is refused, nothing arrives */
	client plain = s_client(s, NULL, NULL, "cli");
	assert_int_equal(s_ping(&plain, 800), -ETIMEDOUT);
	assert_int_equal(plx_ep_refused(s->ep), 3);
	assert_int_equal(s->served, 0);
	/* and the server still answers who may speak */
	client good = s_client(s, s_root_pk, s_root_sk, "cli");
	assert_int_equal(s_ping(&good, 5000), 0);
	for (int i = 0; i < 100 && s->served < 1; i++) /* it counts after its reply went out */
		usleep(10000);
	assert_int_equal(s->served, 1);
	s_client_end(&liar);
	s_client_end(&stranger);
	s_client_end(&plain);
	s_client_end(&good);
	s_server_stop(s);
}

/* Each message of a batch frame is checked against the link's certificate as one alone: a
 * batch from "cli" that slips in a request in the name of "rs" has that one dropped and
 * counted, and the others answered. The forger writes the batch by hand (white box). */
static void test_batch_checked_message_by_message(void **state)
{
	(void)state;
	server *s = s_server_start();
	client c = s_client(s, s_root_pk, s_root_sk, "cli");
	assert_int_equal(s_ping(&c, 5000), 0); /* connected; served 1 */
	plx_name me = {.label = "cli", .generation = 1}, rs = {.label = "rs", .generation = 1},
	         srv = {.label = "srv", .generation = 1};
	plx_batch batch = {0};
	for (uint64_t id = 100; id < 103; id++) {
		plx_outgoing out = {.kind = PLX_REQUEST,
		                    .type = PLEXUS__IPC_TYPE__IPC_ECHO,
		                    .request_id = id,
		                    .source = id == 101 ? &rs : &me,
		                    .destination = &srv};
		size_t size;
		assert_int_equal(plx__batch_hold(&batch, &out, &size), 0);
	}
	plx_port *port = plx__port_get(c.ep);
	plx_conn *conn = plx__conn_for(c.ep, port, plx_ep_address(s->ep));
	assert_non_null(conn);
	conn->outstanding += 2;
	assert_int_equal(plx__batch_send(&batch, conn->sock, NULL, 0, 0), 0);
	plx__batch_free(&batch);
	bool got[3] = {false};
	for (int i = 0; i < 2; i++) {
		plx_msg *reply = NULL;
		assert_int_equal(plx_receive(c.ep, &reply, 5000), 0);
		assert_true(reply->request_id == 100 || reply->request_id == 102);
		got[reply->request_id - 100] = true;
		plx_msg_destroy(&reply);
	}
	assert_true(got[0] && got[2]);
	plx_msg *none = NULL;
	assert_int_equal(plx_receive(c.ep, &none, 300), -ETIMEDOUT);
	assert_int_equal(plx_ep_refused(s->ep), 1);
	s_client_end(&c);
	s_server_stop(s);
}

/* A secured client refuses to connect where it has no key to check the server by. */
static void test_no_server_key_no_connection(void **state)
{
	(void)state;
	server *s = s_server_start();
	client c = s_client(s, s_root_pk, s_root_sk, "cli");
	assert_int_equal(plx_route_set(c.ctx, "srv", 2, plx_ep_address(s->ep) + 6 + PLX_KEY_TEXT),
	                 0);
	plx_request req = {.dst = {.label = "srv", .generation = 2},
	                   .type = PLEXUS__IPC_TYPE__IPC_ECHO};
	plx_msg *reply = NULL;
	assert_true(plx_sendrec(c.ep, &req, &reply, 800) < 0);
	assert_int_equal(s->served, 0);
	assert_int_equal(plx_route_set(c.ctx, "srv", 3, "curve:short@tcp://127.0.0.1:1"), -EINVAL);
	/* and a plain client does not wait for a secured server that would never answer */
	client plain = s_client(s, NULL, NULL, "cli");
	assert_int_equal(plx_route_set(plain.ctx, "srv", 4, plx_ep_address(s->ep)), 0);
	req.dst.generation = 4;
	assert_int_equal(plx_sendrec(plain.ep, &req, &reply, 5000), -EACCES);
	s_client_end(&plain);
	s_client_end(&c);
	s_server_stop(s);
}

/* A route learned from the registry (plx_route_set_certified): a secured client takes the
 * server's address only with the root's certificate for that label, generation and key. */
static void test_routes_need_certificates(void **state)
{
	(void)state;
	server *s = s_server_start();
	client c = s_client(s, s_root_pk, s_root_sk, "cli");
	const char *address = plx_ep_address(s->ep), *good = plx_ep_cert(s->ep);
	assert_true(strncmp(good, "plx1 srv 1 ", 11) == 0);
	plx_link_keys keys;
	char other_key[PLX_CERT_MAX], other_label[PLX_CERT_MAX], other_gen[PLX_CERT_MAX],
	    other_root[PLX_CERT_MAX], every_gen[PLX_CERT_MAX];
	s_identity(s_root_sk, "srv", 1, &keys, other_key); /* srv/1, but not the server's key */
	s_identity(s_root_sk, "intruder", 0, &keys, other_label);
	s_identity(s_root_sk, "srv", 7, &keys, other_gen);
	s_identity(s_other_sk, "srv", 1, &keys, other_root);
	const char *bad[] = {NULL,        "",        "plx1 garbage", other_key,
	                     other_label, other_gen, other_root};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(plx_route_set_certified(c.ctx, "srv", 1, address, bad[i]),
		                 -EACCES);
	assert_int_equal(plx_route_set_certified(c.ctx, "srv", 2, address, good), -EACCES);
	/* refused means untouched: the route s_client set stands */
	uint64_t gen = 0;
	assert_int_equal(plx_route_lookup(c.ctx, "srv", &gen, NULL, 0), 0);
	assert_int_equal(gen, 1);
	assert_int_equal(plx_route_set_certified(c.ctx, "srv", 1, address, good), 0);
	assert_int_equal(s_ping(&c, 5000), 0);
	/* a certificate for every generation (a node kernel's) names each of them */
	plx_name srv = {.label = "srv", .generation = 0};
	char any[PLX_CERT_MAX], key[PLX_KEY_TEXT];
	assert_non_null(plx__address_plain(address, key));
	assert_int_equal(plx_cert_issue(s_root_sk, &srv, key, every_gen, sizeof every_gen), 0);
	assert_int_equal(plx_route_set_certified(c.ctx, "srv", 9, address, every_gen), 0);
	/* a plain context and an address without a key are set as given */
	snprintf(any, sizeof any, "%s", address + 6 + PLX_KEY_TEXT);
	assert_int_equal(plx_route_set_certified(c.ctx, "plain", 1, any, NULL), 0);
	client plain = s_client(s, NULL, NULL, "cli");
	assert_string_equal(plx_ep_cert(plain.ep), "");
	assert_int_equal(plx_route_set_certified(plain.ctx, "srv", 1, address, NULL), 0);
	assert_int_equal(plx_route_set_certified(plain.ctx, "srv", 1, NULL, NULL), -EINVAL);
	s_client_end(&plain);
	s_client_end(&c);
	s_server_stop(s);
}

/* Routes the registry gave a context before it trusted a root are checked when it does: the
 * uncertified go (and count as dead), the certified and the caller's own stay. */
static void test_routes_checked_when_trust_comes(void **state)
{
	(void)state;
	server *s = s_server_start();
	const char *address = plx_ep_address(s->ep);
	plx_ctx *ctx = plx_ctx_new();
	assert_non_null(ctx);
	assert_int_equal(plx_route_set_certified(ctx, "srv", 1, address, plx_ep_cert(s->ep)), 0);
	assert_int_equal(plx_route_set_certified(ctx, "forged", 1, address, plx_ep_cert(s->ep)), 0);
	assert_int_equal(plx_route_set_certified(ctx, "bare", 1, address, NULL), 0);
	assert_int_equal(plx_route_set(ctx, "given", 1, address), 0);
	assert_int_equal(plx_ctx_trust(ctx, s_root_pk), 0);
	assert_int_equal(plx_route_lookup(ctx, "srv", NULL, NULL, 0), 0);
	assert_int_equal(plx_route_lookup(ctx, "given", NULL, NULL, 0), 0);
	assert_int_equal(plx_route_lookup(ctx, "forged", NULL, NULL, 0), -ENOENT);
	assert_int_equal(plx_route_lookup(ctx, "bare", NULL, NULL, 0), -ENOENT);
	assert_true(plx_is_dead(ctx, "forged", 1));
	plx_ctx_destroy(&ctx);
	s_server_stop(s);
}

static void test_user_certificates(void **state)
{
	(void)state;
	plx_link_keys keys;
	assert_int_equal(plx_link_keys_new(&keys), 0);
	plx_name who = {.label = "c-n0-42-0", .generation = 3};
	plx_cred cred = {.uid = 1000, .gid = 100, .ngroups = 3, .groups = {100, 27, 4000000000u}};
	char cert[PLX_CERT_MAX];
	assert_int_equal(
	    plx_cert_issue_user(s_root_sk, &who, keys.public_key, &cred, cert, sizeof cert), 0);
	assert_int_equal(strncmp(cert, "plxu c-n0-42-0 3 ", 17), 0);
	plx_cred back;
	plx_name w;
	assert_int_equal(plx_cert_check_user(s_root_pk, cert, &w, NULL, &back), 1);
	assert_string_equal(w.label, "c-n0-42-0");
	assert_int_equal(back.uid, 1000);
	assert_int_equal(back.gid, 100);
	assert_int_equal(back.ngroups, 3);
	assert_int_equal(back.groups[2], 4000000000u);
	assert_int_equal(plx_cert_check(s_root_pk, cert, NULL, NULL), 0);
	assert_int_equal(plx_cert_check_user(s_other_pk, cert, NULL, NULL, NULL), -EACCES);
	/* no credential can be changed: uid 0, another gid, one more group */
	const char *const changes[][2] = {
	    {" 1000 100 ", " 0 100 "}, {" 1000 100 ", " 1000 0 "}, {",27,", ",27,0,"}};
	for (size_t i = 0; i < sizeof changes / sizeof *changes; i++) {
		char forged[PLX_CERT_MAX];
		const char *at = strstr(cert, changes[i][0]);
		assert_non_null(at);
		snprintf(forged, sizeof forged, "%.*s%s%s", (int)(at - cert), cert, changes[i][1],
		         at + strlen(changes[i][0]));
		assert_int_equal(plx_cert_check_user(s_root_pk, forged, NULL, NULL, NULL), -EACCES);
	}
	/* a user certificate without groups; malformed ones */
	cred.ngroups = 0;
	assert_int_equal(
	    plx_cert_issue_user(s_root_sk, &who, keys.public_key, &cred, cert, sizeof cert), 0);
	assert_int_equal(plx_cert_check_user(s_root_pk, cert, NULL, NULL, &back), 1);
	assert_int_equal(back.ngroups, 0);
	cred.ngroups = PLX_CRED_GROUPS + 1;
	assert_int_equal(
	    plx_cert_issue_user(s_root_sk, &who, keys.public_key, &cred, cert, sizeof cert),
	    -EINVAL);
	const char *const bad[] = {"plxu a 1 K -1 0 - 00", "plxu a 1 K 1 x - 00",
	                           "plxu a 1 K 1 1 1,,2 00", "plxu a 1 K 99999999999 1 - 00",
	                           "plxu a 1 K 1 1 - 00 more"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char text[PLX_CERT_MAX];
		char *k = NULL;
		snprintf(text, sizeof text, "%s", bad[i]);
		k = strstr(text, " K ");
		char full[PLX_CERT_MAX];
		snprintf(full, sizeof full, "%.*s %s %s", (int)(k - text), text, keys.public_key,
		         k + 3);
		assert_int_equal(plx_cert_check_user(s_root_pk, full, NULL, NULL, NULL), -EBADMSG);
	}
}

/* The server sees the credentials of a user certificate with each message, none for a
 * service's. */
static void test_user_credentials_vouched(void **state)
{
	(void)state;
	server *s = s_server_start();
	client svc = s_client(s, s_root_pk, s_root_sk, "cli");
	assert_int_equal(s_ping(&svc, 5000), 0);
	assert_int_equal(s->vouched_user, 0);
	client user = s_client(s, s_root_pk, NULL, NULL);
	plx_link_keys keys;
	assert_int_equal(plx_link_keys_new(&keys), 0);
	plx_name who = {.label = "cli", .generation = 1};
	plx_cred cred = {.uid = 1234, .gid = 55, .ngroups = 1, .groups = {55}};
	char cert[PLX_CERT_MAX];
	assert_int_equal(
	    plx_cert_issue_user(s_root_sk, &who, keys.public_key, &cred, cert, sizeof cert), 0);
	assert_int_equal(plx_ep_set_keys(user.ep, &keys, cert), 0);
	assert_int_equal(s_ping(&user, 5000), 0);
	assert_int_equal(s->vouched_user, 1);
	assert_int_equal(s->vouched.uid, 1234);
	assert_int_equal(s->vouched.gid, 55);
	assert_int_equal(s->vouched.groups[0], 55);
	assert_int_equal(s_ping(&user, 5000), 0); /* the second from the cache of known keys */
	assert_int_equal(s->vouched.uid, 1234);
	assert_int_equal(s_ping(&svc, 5000), 0);
	assert_int_equal(s->vouched_user, 0);
	s_client_end(&svc);
	s_client_end(&user);
	s_server_stop(s);
}

int main(void)
{
	assert_int_equal(plx_trust_new(s_root_pk, s_root_sk), 0);
	assert_int_equal(plx_trust_new(s_other_pk, s_other_sk), 0);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_certificates),
	    cmocka_unit_test(test_trusted_client_answered),
	    cmocka_unit_test(test_untrusted_clients_dropped),
	    cmocka_unit_test(test_batch_checked_message_by_message),
	    cmocka_unit_test(test_no_server_key_no_connection),
	    cmocka_unit_test(test_routes_need_certificates),
	    cmocka_unit_test(test_routes_checked_when_trust_comes),
	    cmocka_unit_test(test_user_certificates),
	    cmocka_unit_test(test_user_credentials_vouched),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
