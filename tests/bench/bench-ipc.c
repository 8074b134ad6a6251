/*
 * bench-ipc.c — `plexus bench ipc`: the transport's cost next to raw ZeroMQ and raw TCP.
 *
 * Entry points: plx_bench_ipc.
 *
 * For each transport kind (inproc, ipc, tcp loopback) it measures sendrec round trips with
 * 64 B and 64 KiB of data (p50, p99) and asynsend throughput with 64 B (a window of
 * requests in flight, every reply received), and the same over a raw libzmq DEALER/ROUTER
 * pair; over tcp also a raw TCP ping-pong, and sendrec over secured links (CURVE, a
 * certificate checked per message) next to the same without. Plexus and baseline blocks
 * alternate so that the machine's noise falls on both alike.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include <zmq.h>

#include <plexus/link_security.h>
#include <plexus/server.h>

#include "bench.h"
#include "plexus/proto/ipc.pb-c.h"

#define ROUNDS       5   /* alternating blocks per measurement */
#define WINDOW       256 /* asynsend requests in flight */
#define TIMEOUT_MS   10000
#define SMALL        64
#define LARGE        (64 * 1024)
#define STOP_MESSAGE "q"

typedef enum { K_INPROC, K_IPC, K_TCP } kind;
static const char *const s_kind_names[] = {"inproc", "ipc", "tcp"};

typedef struct options {
	bool json;
	int iterations; /* round trips per case */
	int only;       /* one transport kind, or -1 for all */
	bool spread;    /* leave threads where the scheduler puts them */
} options;

/* ---- servers ---- */

typedef struct server {
	kind kind;
	char address[PLX_ADDRESS_MAX];
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int ready;
	plx_ctx *ctx;           /* Plexus server */
	plx_server *srv;        /* Plexus server */
	void *zmq;              /* raw ZeroMQ server */
	int listen_fd;          /* raw TCP server */
	uint16_t port;          /* raw TCP server */
	const uint8_t *root_sk; /* Plexus server on a secured context: its certificate's issuer */
} server;

static char s_ipc_dir[64];

static void s_address(kind k, const char *who, char *buf, size_t size)
{
	if (k == K_INPROC)
		snprintf(buf, size, "inproc://bench-%s", who);
	else if (k == K_IPC)
		snprintf(buf, size, "ipc://%s/%s", s_ipc_dir, who);
	else
		snprintf(buf, size, "tcp://127.0.0.1:*");
}

static void s_ready(server *s, int ready)
{
	pthread_mutex_lock(&s->lock);
	s->ready = ready;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static int s_wait_ready(server *s)
{
	pthread_mutex_lock(&s->lock);
	while (!s->ready)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
	return s->ready;
}

static int s_do_echo(plx_call *call)
{
	plx_call_reply(call, 0, NULL, call->msg->data, call->msg->data_size);
	return PLX_SUSPEND;
}

static const plx_handler s_table[] = {
    PLX_LOOP(PLEXUS__IPC_TYPE__IPC_ECHO, "echo", s_do_echo, NULL, NULL), /* body not looked at */
};

/* Gives ep CURVE keys and a certificate from root_sk for its name. Returns 0 or an error. */
static int s_secure(plx_ep *ep, const uint8_t *root_sk)
{
	plx_link_keys keys;
	char cert[PLX_CERT_MAX];
	int rc = plx_link_keys_new(&keys);
	if (rc == 0)
		rc = plx_cert_issue(root_sk, plx_ep_name(ep), keys.public_key, cert, sizeof cert);
	return rc == 0 ? plx_ep_set_keys(ep, &keys, cert) : rc;
}

static void *s_plexus_server(void *arg)
{
	server *s = arg;
	char address[PLX_ADDRESS_MAX];
	s_address(s->kind, s->root_sk ? "plexus-curve" : "plexus", address, sizeof address);
	plx_ep *ep = plx_ep_new(s->ctx, "bench", 1);
	if (!ep || (s->root_sk && s_secure(ep, s->root_sk) != 0) || plx_ep_bind(ep, address) != 0) {
		plx_ep_destroy(&ep);
		s_ready(s, -1);
		return NULL;
	}
	snprintf(s->address, sizeof s->address, "%s", plx_ep_address(ep));
	s->srv = plx_server_new(ep, s_table, 1, NULL);
	s_ready(s, 1);
	plx_server_run(s->srv);
	plx_server_destroy(&s->srv);
	plx_ep_destroy(&ep);
	return NULL;
}

/* A ROUTER that sends every message (one or two frames) back to its sender until it gets
 * STOP_MESSAGE. */
static void *s_zmq_server(void *arg)
{
	server *s = arg;
	char address[PLX_ADDRESS_MAX];
	s_address(s->kind, "zmq", address, sizeof address);
	void *router = zmq_socket(s->zmq, ZMQ_ROUTER);
	size_t size = sizeof s->address;
	if (zmq_bind(router, address) != 0 ||
	    zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, s->address, &size) != 0) {
		zmq_close(router);
		s_ready(s, -1);
		return NULL;
	}
	s_ready(s, 1);
	bool stop = false;
	while (!stop) {
		zmq_msg_t frames[3]; /* routing id, then one or two frames */
		int n = 0;
		do
			zmq_msg_init(&frames[n]);
		while (zmq_msg_recv(&frames[n], router, 0) >= 0 && zmq_msg_more(&frames[n]) &&
		       ++n < 3);
		n = n < 3 ? n + 1 : 3;
		stop = zmq_msg_size(&frames[n - 1]) == 1;
		for (int i = 0; i < n; i++)
			zmq_msg_send(&frames[i], router, i + 1 < n ? ZMQ_SNDMORE : 0);
	}
	zmq_close(router);
	return NULL;
}

static bool s_io_all(int fd, void *buf, size_t size, bool out)
{
	for (size_t done = 0; done < size;) {
		ssize_t n = out ? write(fd, (char *)buf + done, size - done)
		                : read(fd, (char *)buf + done, size - done);
		if (n <= 0)
			return false;
		done += (size_t)n;
	}
	return true;
}

/* A TCP server that echoes fixed-size messages, one connection at a time; each connection
 * starts with the message size as 4 bytes. Ends when the listening socket is shut down. */
static void *s_tcp_server(void *arg)
{
	server *s = arg;
	int fd;
	while ((fd = accept(s->listen_fd, NULL, NULL)) >= 0) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		uint32_t size = 0;
		char *buf = NULL;
		if (s_io_all(fd, &size, sizeof size, false) && (buf = malloc(size)))
			while (s_io_all(fd, buf, size, false) && s_io_all(fd, buf, size, true))
				;
		free(buf);
		close(fd);
	}
	return NULL;
}

/* ---- measurements ---- */

static int s_plexus_rtt(plx_ep *client, const void *data, size_t size, int n, bench_samples *out)
{
	plx_request req = {.type = PLEXUS__IPC_TYPE__IPC_ECHO, .data = data, .data_size = size};
	snprintf(req.dst.label, sizeof req.dst.label, "bench");
	for (int i = 0; i < n; i++) {
		plx_msg *reply = NULL;
		uint64_t start = bench_now_ns();
		int rc = plx_sendrec(client, &req, &reply, TIMEOUT_MS);
		uint64_t took = bench_now_ns() - start;
		if (rc != 0 || reply->data_size != size) {
			plx_msg_destroy(&reply);
			return rc ? rc : -EBADMSG;
		}
		plx_msg_destroy(&reply);
		if (out)
			bench_samples_add(out, (double)took / 1000.0);
	}
	return 0;
}

static int s_zmq_rtt(void *dealer, const void *data, size_t size, int n, bench_samples *out)
{
	zmq_msg_t reply;
	zmq_msg_init(&reply);
	for (int i = 0; i < n; i++) {
		uint64_t start = bench_now_ns();
		if (zmq_send(dealer, data, size, 0) < 0 || zmq_msg_recv(&reply, dealer, 0) < 0)
			return -errno;
		uint64_t took = bench_now_ns() - start;
		if (out)
			bench_samples_add(out, (double)took / 1000.0);
	}
	zmq_msg_close(&reply);
	return 0;
}

static int s_tcp_rtt(int fd, void *buf, size_t size, int n, bench_samples *out)
{
	for (int i = 0; i < n; i++) {
		uint64_t start = bench_now_ns();
		if (!s_io_all(fd, buf, size, true) || !s_io_all(fd, buf, size, false))
			return -EIO;
		uint64_t took = bench_now_ns() - start;
		if (out)
			bench_samples_add(out, (double)took / 1000.0);
	}
	return 0;
}

/* Messages per second for n asynsends with WINDOW in flight, every reply received. */
static double s_plexus_throughput(plx_ep *client, const void *data, size_t size, int n)
{
	plx_request req = {.type = PLEXUS__IPC_TYPE__IPC_ECHO,
	                   .data = data,
	                   .data_size = size,
	                   .more = true}; /* leave in batches (docs/transport.md) */
	snprintf(req.dst.label, sizeof req.dst.label, "bench");
	int sent = 0, received = 0;
	uint64_t start = bench_now_ns();
	while (received < n) {
		while (sent < n && sent - received < WINDOW &&
		       plx_asynsend(client, &req, NULL) == 0)
			sent++;
		plx_msg *msg = NULL;
		int rc = plx_receive(client, &msg, TIMEOUT_MS);
		if (rc != 0)
			return 0;
		plx_msg_destroy(&msg);
		received++;
	}
	return n / ((double)(bench_now_ns() - start) / 1e9);
}

/* Like s_plexus_throughput over a raw DEALER: one frame per message. */
static double s_zmq_throughput(void *dealer, const void *data, size_t size, int n)
{
	int sent = 0, received = 0;
	zmq_msg_t reply;
	zmq_msg_init(&reply);
	uint64_t start = bench_now_ns();
	while (received < n) {
		while (sent < n && sent - received < WINDOW &&
		       zmq_send(dealer, data, size, ZMQ_DONTWAIT) >= 0)
			sent++;
		do
			if (zmq_msg_recv(&reply, dealer, 0) < 0)
				return 0;
		while (zmq_msg_more(&reply));
		received++;
	}
	zmq_msg_close(&reply);
	return n / ((double)(bench_now_ns() - start) / 1e9);
}

/* ---- one transport kind ---- */

typedef struct peers {
	server plexus, raw;
	plx_ep *client;
	void *dealer;
	bool with_tcp;
	server tcp;
} peers;

static int s_start(server *s, kind k, void *(*main_fn)(void *))
{
	s->kind = k;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	if (pthread_create(&s->thread, NULL, main_fn, s) != 0)
		return -1;
	if (s_wait_ready(s) != 1) {
		pthread_join(s->thread, NULL);
		return -1;
	}
	return 0;
}

/* Starts the TCP echo server on a free loopback port. Returns 0 or -1. */
static int s_tcp_listen(server *s)
{
	struct sockaddr_in addr = {.sin_family = AF_INET,
	                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof addr;
	s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (s->listen_fd < 0 || bind(s->listen_fd, (struct sockaddr *)&addr, len) != 0 ||
	    listen(s->listen_fd, 1) != 0 ||
	    getsockname(s->listen_fd, (struct sockaddr *)&addr, &len) != 0)
		return -1;
	s->port = ntohs(addr.sin_port);
	return pthread_create(&s->thread, NULL, s_tcp_server, s) == 0 ? 0 : -1;
}

/* Opens a connection for messages of size bytes. Returns the socket or -1. */
static int s_tcp_connect(const server *s, uint32_t size)
{
	struct sockaddr_in addr = {.sin_family = AF_INET,
	                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	                           .sin_port = htons(s->port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
	    !s_io_all(fd, &size, sizeof size, true)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int s_peers_start(peers *p, kind k, plx_ctx *ctx, void *zmq)
{
	memset(p, 0, sizeof *p);
	p->plexus.ctx = ctx;
	p->raw.zmq = zmq;
	if (s_start(&p->plexus, k, s_plexus_server) != 0 || s_start(&p->raw, k, s_zmq_server) != 0)
		return -1;
	plx_route_set(ctx, "bench", 1, p->plexus.address);
	p->client = plx_ep_new(ctx, "bench-client", 1);
	p->dealer = zmq_socket(zmq, ZMQ_DEALER);
	int linger = 0;
	zmq_setsockopt(p->dealer, ZMQ_LINGER, &linger, sizeof linger);
	if (!p->client || zmq_connect(p->dealer, p->raw.address) != 0)
		return -1;
	p->with_tcp = k == K_TCP;
	if (p->with_tcp && s_tcp_listen(&p->tcp) != 0)
		return -1;
	return 0;
}

static void s_peers_stop(peers *p)
{
	plx_server_stop(p->plexus.srv);
	pthread_join(p->plexus.thread, NULL);
	zmq_send(p->dealer, STOP_MESSAGE, 1, 0);
	zmq_msg_t last;
	zmq_msg_init(&last);
	zmq_msg_recv(&last, p->dealer, 0); /* the stop message, echoed before the server leaves */
	zmq_msg_close(&last);
	pthread_join(p->raw.thread, NULL);
	zmq_close(p->dealer);
	plx_ep_destroy(&p->client);
	if (p->with_tcp) {
		shutdown(p->tcp.listen_fd, SHUT_RDWR); /* ends the server's accept */
		pthread_join(p->tcp.thread, NULL);
		close(p->tcp.listen_fd);
	}
}

static void s_case_name(char *buf, size_t size, const char *primitive, kind k, size_t bytes,
                        const char *suffix)
{
	snprintf(buf, size, "%s_%s_%s%s", primitive, s_kind_names[k],
	         bytes == SMALL ? "64B" : "64KiB", suffix);
}

/* Round trips of one size: Plexus and raw ZeroMQ (and raw TCP) in alternating blocks. */
static int s_measure_rtt(peers *p, kind k, size_t size, int iterations, bench_report *report)
{
	char *data = calloc(1, size);
	bench_samples *plx = bench_samples_new((size_t)iterations);
	bench_samples *raw = bench_samples_new((size_t)iterations);
	bench_samples *tcp = bench_samples_new((size_t)iterations);
	int rc = data && plx && raw && tcp ? 0 : -ENOMEM;
	int tcp_fd = -1;
	if (rc == 0 && p->with_tcp && (tcp_fd = s_tcp_connect(&p->tcp, (uint32_t)size)) < 0)
		rc = -EIO;
	int block = iterations / ROUNDS, warm = block / 5 + 1;
	if (rc == 0)
		rc = s_plexus_rtt(p->client, data, size, warm, NULL);
	if (rc == 0)
		rc = s_zmq_rtt(p->dealer, data, size, warm, NULL);
	for (int r = 0; r < ROUNDS && rc == 0; r++) {
		rc = s_plexus_rtt(p->client, data, size, block, plx);
		if (rc == 0)
			rc = s_zmq_rtt(p->dealer, data, size, block, raw);
		if (rc == 0 && tcp_fd >= 0)
			rc = s_tcp_rtt(tcp_fd, data, size, block, tcp);
	}
	if (rc == 0) {
		char name[64];
		s_case_name(name, sizeof name, "sendrec", k, size, "");
		bench_report_add(report, name, "p50_us", bench_samples_percentile(plx, 50),
		                 "raw zmq dealer/router", bench_samples_percentile(raw, 50), true);
		bench_report_add(report, name, "p99_us", bench_samples_percentile(plx, 99),
		                 "raw zmq dealer/router", bench_samples_percentile(raw, 99), true);
		if (tcp_fd >= 0) {
			s_case_name(name, sizeof name, "sendrec", k, size, "_vs_tcp");
			bench_report_add(report, name, "p50_us", bench_samples_percentile(plx, 50),
			                 "raw tcp ping-pong", bench_samples_percentile(tcp, 50),
			                 true);
		}
	}
	if (tcp_fd >= 0)
		close(tcp_fd);
	bench_samples_destroy(&plx);
	bench_samples_destroy(&raw);
	bench_samples_destroy(&tcp);
	free(data);
	return rc;
}

static int s_measure_throughput(peers *p, kind k, int iterations, bench_report *report)
{
	char data[SMALL] = {0};
	int n = iterations * 4 / ROUNDS;
	double plx = 0, raw = 0;
	s_plexus_throughput(p->client, data, sizeof data, n / 5 + 1);
	s_zmq_throughput(p->dealer, data, sizeof data, n / 5 + 1);
	for (int r = 0; r < ROUNDS; r++) {
		double a = s_plexus_throughput(p->client, data, sizeof data, n);
		double b = s_zmq_throughput(p->dealer, data, sizeof data, n);
		if (a <= 0 || b <= 0)
			return -ETIMEDOUT;
		plx += a / ROUNDS;
		raw += b / ROUNDS;
	}
	char name[64];
	s_case_name(name, sizeof name, "asynsend", k, SMALL, "");
	bench_report_add(report, name, "msgs_per_s", plx, "raw zmq dealer/router", raw, false);
	return 0;
}

/* sendrec over tcp with CURVE (both ends keyed, certificates from a fresh trust root, every
 * message checked against its link's certificate) against the same without, in alternating
 * blocks. */
static int s_measure_curve(peers *p, int iterations, bench_report *report)
{
	uint8_t root_pk[PLX_TRUST_PUBLIC], root_sk[PLX_TRUST_SECRET];
	server sec = {.root_sk = root_sk};
	plx_ctx *ctx = plx_ctx_new();
	int rc =
	    ctx && plx_trust_new(root_pk, root_sk) == 0 ? plx_ctx_trust(ctx, root_pk) : -ENOMEM;
	sec.ctx = ctx;
	bool started = rc == 0 && s_start(&sec, K_TCP, s_plexus_server) == 0;
	plx_ep *client = started ? plx_ep_new(ctx, "bench-client", 1) : NULL;
	if (rc == 0 && (!started || !client || s_secure(client, root_sk) != 0 ||
	                plx_route_set(ctx, "bench", 1, sec.address) != 0))
		rc = -EIO;
	char data[SMALL] = {0};
	bench_samples *cur = bench_samples_new((size_t)iterations);
	bench_samples *plain = bench_samples_new((size_t)iterations);
	int block = iterations / ROUNDS;
	if (rc == 0 && !(cur && plain))
		rc = -ENOMEM;
	if (rc == 0)
		rc = s_plexus_rtt(client, data, sizeof data, block / 5 + 1, NULL);
	for (int r = 0; r < ROUNDS && rc == 0; r++) {
		rc = s_plexus_rtt(client, data, sizeof data, block, cur);
		if (rc == 0)
			rc = s_plexus_rtt(p->client, data, sizeof data, block, plain);
	}
	if (rc == 0) {
		bench_report_add(report, "sendrec_tcp_64B_curve", "p50_us",
		                 bench_samples_percentile(cur, 50), "plexus sendrec without CURVE",
		                 bench_samples_percentile(plain, 50), true);
		bench_report_add(report, "sendrec_tcp_64B_curve", "p99_us",
		                 bench_samples_percentile(cur, 99), "plexus sendrec without CURVE",
		                 bench_samples_percentile(plain, 99), true);
	}
	bench_samples_destroy(&cur);
	bench_samples_destroy(&plain);
	plx_ep_destroy(&client);
	if (started) {
		plx_server_stop(sec.srv);
		pthread_join(sec.thread, NULL);
	}
	plx_ctx_destroy(&ctx);
	return rc;
}

static int s_measure_kind(kind k, plx_ctx *ctx, void *zmq, const options *opt, bench_report *report)
{
	peers p;
	int rc = s_peers_start(&p, k, ctx, zmq);
	if (rc == 0)
		rc = s_measure_rtt(&p, k, SMALL, opt->iterations, report);
	if (rc == 0)
		rc = s_measure_rtt(&p, k, LARGE, opt->iterations / 2, report);
	if (rc == 0)
		rc = s_measure_throughput(&p, k, opt->iterations, report);
	if (rc == 0 && k == K_TCP)
		rc = s_measure_curve(&p, opt->iterations, report);
	s_peers_stop(&p);
	if (rc != 0)
		fprintf(stderr, "plexus bench ipc: %s: %s\n", s_kind_names[k], plx_strerror(rc));
	return rc;
}

/* ---- command line ---- */

static int s_kind_by_name(const char *name)
{
	for (int k = K_INPROC; k <= K_TCP; k++)
		if (strcmp(name, s_kind_names[k]) == 0)
			return k;
	return -1;
}

/* Parses the options into opt. Returns EX_OK, EX_USAGE, or -1 after printing --help. */

static void s_usage(FILE *out)
{
	fprintf(out,
	        "usage: plexus bench ipc [--json] [--iterations N] [--transport KIND] [--spread]\n"
	        "\n"
	        "Measures sendrec round trips (64 B, 64 KiB; p50/p99 in microseconds) and\n"
	        "asynsend throughput (64 B, sent with more so that they may leave in batch\n"
	        "frames; messages per second) over inproc, ipc and tcp loopback, next to\n"
	        "raw ZeroMQ DEALER/ROUTER and a raw TCP ping-pong measured\n"
	        "in the same run; over tcp also sendrec on secured links (CURVE, certificates\n"
	        "checked per message) next to the same without.\n"
	        "\n"
	        "  --json          print one JSON object instead of a table\n"
	        "  --iterations N  round trips per case (default 5000, at least 50)\n"
	        "  --transport K   measure one kind only: inproc, ipc or tcp\n"
	        "  --spread        do not pin the benchmark's threads to one CPU\n"
	        "\n"
	        "By default every thread (clients, servers, ZeroMQ's I/O threads) runs on one\n"
	        "CPU, so that both sides of a ratio pay the same wake-up costs; see\n"
	        "docs/performance.md.\n");
}

static int s_parse(int argc, char **argv, options *opt)
{
	static const struct option longs[] = {{"json", no_argument, NULL, 'j'},
	                                      {"iterations", required_argument, NULL, 'n'},
	                                      {"transport", required_argument, NULL, 't'},
	                                      {"spread", no_argument, NULL, 's'},
	                                      {"help", no_argument, NULL, 'h'},
	                                      {NULL, 0, NULL, 0}};
	*opt = (options){.iterations = 5000, .only = -1};
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "jn:t:sh", longs, NULL)) != -1) {
		if (c == 't' && (opt->only = s_kind_by_name(optarg)) < 0) {
			fprintf(stderr, "plexus bench ipc: unknown transport '%s'\n", optarg);
			return EX_USAGE;
		} else if (c == 't')
			continue;
		if (c == 'j')
			opt->json = true;
		else if (c == 's')
			opt->spread = true;
		else if (c == 'n')
			opt->iterations = atoi(optarg);
		else if (c == 'h') {
			s_usage(stdout);
			return -1;
		} else {
			s_usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc || opt->iterations < 50) {
		s_usage(stderr);
		return EX_USAGE;
	}
	return EX_OK;
}

/* Pins the calling thread, and so every thread it starts later, to its first allowed CPU. */
static void s_pin_to_one_cpu(void)
{
	cpu_set_t allowed, one;
	if (sched_getaffinity(0, sizeof allowed, &allowed) != 0)
		return;
	CPU_ZERO(&one);
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &allowed)) {
			CPU_SET(cpu, &one);
			break;
		}
	sched_setaffinity(0, sizeof one, &one);
}

int plx_bench_ipc(int argc, char **argv)
{
	options opt;
	int rc = s_parse(argc, argv, &opt);
	if (rc != EX_OK)
		return rc < 0 ? EX_OK : rc;
	if (!opt.spread)
		s_pin_to_one_cpu();
	snprintf(s_ipc_dir, sizeof s_ipc_dir, "/tmp/plexus-bench-XXXXXX");
	if (!mkdtemp(s_ipc_dir)) {
		perror("plexus bench ipc: mkdtemp");
		return EX_CANTCREAT;
	}
	plx_ctx *ctx = plx_ctx_new();
	void *zmq = zmq_ctx_new();
	bench_report *report = bench_report_new("ipc");
	rc = ctx && zmq && report ? 0 : -ENOMEM;
	for (int k = K_INPROC; k <= K_TCP && rc == 0; k++)
		if (opt.only < 0 || opt.only == k)
			rc = s_measure_kind((kind)k, ctx, zmq, &opt, report);
	if (rc == 0)
		bench_report_print(report, opt.json);
	bench_report_destroy(&report);
	plx_ctx_destroy(&ctx);
	zmq_ctx_term(zmq);
	char cmd[96];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_ipc_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "plexus bench ipc: could not remove %s\n", s_ipc_dir);
	return rc == 0 ? EX_OK : EX_SOFTWARE;
}
