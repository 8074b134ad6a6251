/*
 * bench-chr.c — `plexus bench chr [--json] [--rounds N]`.
 *
 * Entry points: plx_bench_chr.
 *
 * Builds a two-node cluster of the multi-node harness (network namespaces, etcd on the hub),
 * starts plexus-memory and plexus-tty in node 1, and from node 0 measures:
 *   zero_read_64B, zero_read_64K  a CDEV_READ of /dev/zero (memory's minor 5), one in flight:
 *                                 the round trip through the character driver library;
 *   zero_read_64B_vs_ping         the same read against IPC_PING to the same driver, which
 *                                 the server library answers alone: the library's own part;
 *   tty_wakeup                    a read waiting on a pty slave (a deferred reply) and the
 *                                 master's write of a line: from the write's start to the
 *                                 reader's return.
 * Baselines, measured in the same run between the same two namespaces with raw TCP: a server
 * thread in node 1 answers a 16-byte header with the bytes asked for; for the wake-up, a relay
 * thread in node 1 passes what one connection sends to a reader blocked on another. Plexus and
 * baseline rounds alternate so that machine noise hits both alike. Figures are medians (p50) in
 * microseconds; ratio = Plexus / baseline (docs/performance.md). Needs root.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include <plexus/cdev.h>
#include <plexus/endpoint.h>
#include <plexus/etcd.h>
#include <plexus/ipc_stub.h>

#include "bench.h"
#include "bench_chr.h"
#include "benchnet.h"
#include "netns_harness.h"
#include "plexus/proto/cdev.pb-c.h"
#include "plexus/proto/ipc.pb-c.h"

#define S_CLUSTER   "benchchr"
#define S_MEMORY    "benchmem"
#define S_TTY       "benchtty"
#define S_TIMEOUT   10000
#define S_ZERO      5  /* memory's /dev/zero */
#define S_MASTER    64 /* tty pair 0 */
#define S_SLAVE     128
#define S_SETTLE_US 1000 /* lets the waiting read reach the driver before the write */

typedef struct options {
	bool json;
	int rounds;
} options;

/* The baseline's request header. */
typedef struct s_header {
	uint32_t size;
	uint32_t pad;
	uint64_t unused;
} s_header;

typedef struct s_bench {
	options opt;
	benchnet *net;
	netns_cluster *c; /* the net's namespaces */
	plx_ep *ep;       /* the net's endpoint in node 0 */
	plx_cdev *mem, *tty, *reader;
	int listen_fd; /* node 1: the baseline server */
	pthread_t server;
	int rr_fd;     /* node 0: request/response connection */
	int relay_in;  /* node 0: the relay's writer side */
	int relay_out; /* node 0: the relay's reader side */
	uint8_t buf[65536];
} s_bench;

/* ---- the baseline server, in node 1 ---- */

static bool s_io_all(int fd, void *buf, size_t size, bool out)
{
	for (size_t done = 0; done < size;) {
		ssize_t n = out ? send(fd, (char *)buf + done, size - done, MSG_NOSIGNAL)
		                : recv(fd, (char *)buf + done, size - done, 0);
		if (n <= 0)
			return false;
		done += (size_t)n;
	}
	return true;
}

static int s_accept(int listen_fd)
{
	int fd = accept(listen_fd, NULL, NULL), one = 1;
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

/* Accepts three connections in order: request/response, relay in, relay out; serves the first
 * and relays the second to the third, with poll. */
static void *s_serve(void *arg)
{
	s_bench *b = arg;
	static uint8_t zeros[65536];
	int rr = s_accept(b->listen_fd), in = s_accept(b->listen_fd), out = s_accept(b->listen_fd);
	struct pollfd fds[2] = {{.fd = rr, .events = POLLIN}, {.fd = in, .events = POLLIN}};
	while (rr >= 0 && in >= 0 && out >= 0 && poll(fds, 2, -1) > 0) {
		s_header h;
		if (fds[0].revents && (!s_io_all(rr, &h, sizeof h, false) ||
		                       h.size > sizeof zeros || !s_io_all(rr, zeros, h.size, true)))
			break;
		char relay[64];
		ssize_t n = fds[1].revents ? recv(in, relay, sizeof relay, 0) : 0;
		if (fds[1].revents && (n <= 0 || !s_io_all(out, relay, (size_t)n, true)))
			break;
	}
	int fds_all[] = {rr, in, out};
	for (size_t i = 0; i < 3; i++)
		if (fds_all[i] >= 0)
			close(fds_all[i]);
	return NULL;
}

/* Listens in node 1, then connects the three baseline connections from node 0. */
static int s_tcp_start(s_bench *b)
{
	struct sockaddr_in sa;
	int fd = benchnet_tcp_listen(b->c, 1, &sa);
	if (fd < 0)
		return fd;
	b->listen_fd = fd;
	if (pthread_create(&b->server, NULL, s_serve, b) != 0) {
		close(fd);
		b->listen_fd = -1;
		return -EAGAIN;
	}
	int *mine[] = {&b->rr_fd, &b->relay_in, &b->relay_out};
	for (size_t i = 0; i < 3; i++) {
		int one = 1;
		*mine[i] = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(*mine[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (connect(*mine[i], (struct sockaddr *)&sa, sizeof sa) < 0)
			return -errno;
	}
	return 0;
}

static void s_tcp_stop(s_bench *b)
{
	int *mine[] = {&b->rr_fd, &b->relay_in, &b->relay_out};
	for (size_t i = 0; i < 3; i++)
		if (*mine[i] >= 0)
			close(*mine[i]);
	if (b->listen_fd >= 0) {
		shutdown(b->listen_fd, SHUT_RDWR);
		pthread_join(b->server, NULL);
		close(b->listen_fd);
	}
}

/* ---- set-up ---- */

static int s_setup(s_bench *b, char *err, size_t size)
{
	if (!(b->net = benchnet_new(2, S_CLUSTER, err, size)))
		return -EIO;
	b->c = benchnet_netns(b->net);
	b->ep = benchnet_ep(b->net);
	if (!(b->mem = plx_cdev_new(b->ep, S_MEMORY, S_TIMEOUT)) ||
	    !(b->tty = plx_cdev_new(b->ep, S_TTY, S_TIMEOUT)) ||
	    !(b->reader = plx_cdev_new(b->ep, S_TTY, S_TIMEOUT))) {
		snprintf(err, size, "client in node 0: %s", strerror(errno));
		return -EIO;
	}
	const char *mem =
	    benchnet_bin("PLEXUS_MEMORY_BIN", PLEXUS_MEMORY_BUILD_BIN, "plexus-memory");
	const char *tty = benchnet_bin("PLEXUS_TTY_BIN", PLEXUS_TTY_BUILD_BIN, "plexus-tty");
	const char *const mem_args[] = {"--ramdisk", "0:1M", NULL};
	const char *const tty_args[] = {"--console", "none", NULL};
	int rc;
	if ((rc = benchnet_start(b->net, 1, mem, S_MEMORY, mem_args, err, size)) < 0 ||
	    (rc = benchnet_start(b->net, 1, tty, S_TTY, tty_args, err, size)) < 0)
		return rc;
	uint32_t mode = PLEXUS__TTY_MODE__TTY_CANON; /* no echo: the master stays empty */
	if ((rc = plx_cdev_ioctl(b->tty, S_SLAVE, PLEXUS__CDEV_IOCTL_REQUEST__TTY_SETMODE, &mode,
	                         sizeof mode, NULL, NULL, 0)) < 0) {
		snprintf(err, size, "tty mode: %s", plx_strerror(rc));
		return rc;
	}
	if ((rc = s_tcp_start(b)) < 0) {
		snprintf(err, size, "baseline TCP in node 1: %s", strerror(-rc));
		return rc;
	}
	return 0;
}

static void s_teardown(s_bench *b)
{
	s_tcp_stop(b);
	plx_cdev_destroy(&b->reader);
	plx_cdev_destroy(&b->tty);
	plx_cdev_destroy(&b->mem);
	benchnet_destroy(&b->net);
}

/* ---- measurements ---- */

/* One read of size bytes from /dev/zero; microseconds, or a negative value. */
static double s_zero_plexus(s_bench *b, size_t size)
{
	uint64_t start = bench_now_ns();
	ssize_t n = plx_cdev_read(b->mem, S_ZERO, 0, b->buf, size, 0, 0, NULL);
	return n == (ssize_t)size ? (double)(bench_now_ns() - start) / 1e3 : -1;
}

static double s_zero_tcp(s_bench *b, size_t size)
{
	uint64_t start = bench_now_ns();
	s_header h = {.size = (uint32_t)size};
	bool ok = s_io_all(b->rr_fd, &h, sizeof h, true) && s_io_all(b->rr_fd, b->buf, size, false);
	return ok ? (double)(bench_now_ns() - start) / 1e3 : -1;
}

/* IPC_PING to plexus-memory, answered by the server library alone: the transport's part of a
 * request to that driver. */
static double s_ping(s_bench *b)
{
	Plexus__IpcPing ping = PLEXUS__IPC_PING__INIT;
	plx_stub st;
	if (plx_stub_init(&st, b->ep, S_MEMORY, 0, S_TIMEOUT) < 0)
		return -1;
	uint64_t start = bench_now_ns();
	int rc = plx_ipc_ping_call(&st, &ping, NULL, 0, NULL, NULL);
	uint64_t end = bench_now_ns();
	return rc == 0 ? (double)(end - start) / 1e3 : -1;
}

/* The waiting side of a wake-up: one thread for the whole run (a thread's first request
 * opens its connection, which is not what is measured), reading when told to. */
typedef struct s_waiter {
	s_bench *b;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int go; /* 1: Plexus read, 2: TCP read, -1: quit */
	bool done;
	ssize_t n;
	uint64_t end_ns;
} s_waiter;

static void *s_wait(void *arg)
{
	s_waiter *w = arg;
	char buf[64];
	for (;;) {
		pthread_mutex_lock(&w->lock);
		while (w->go == 0)
			pthread_cond_wait(&w->cond, &w->lock);
		int go = w->go;
		w->go = 0;
		pthread_mutex_unlock(&w->lock);
		if (go < 0)
			return NULL;
		ssize_t n =
		    go == 2 ? recv(w->b->relay_out, buf, 2, MSG_WAITALL)
		            : plx_cdev_read(w->b->reader, S_SLAVE, 0, buf, sizeof buf, 0, 1, NULL);
		uint64_t end = bench_now_ns();
		pthread_mutex_lock(&w->lock);
		w->n = n;
		w->end_ns = end;
		w->done = true;
		pthread_cond_broadcast(&w->cond);
		pthread_mutex_unlock(&w->lock);
	}
}

static void s_waiter_tell(s_waiter *w, int go)
{
	pthread_mutex_lock(&w->lock);
	w->go = go;
	w->done = false;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* A reader waits, a line is written; microseconds from the write to the reader's return. */
static double s_wakeup(s_bench *b, s_waiter *w, bool tcp)
{
	s_waiter_tell(w, tcp ? 2 : 1);
	usleep(S_SETTLE_US);
	uint64_t start = bench_now_ns();
	bool ok = tcp ? s_io_all(b->relay_in, "x\n", 2, true)
	              : plx_cdev_write(b->tty, S_MASTER, 0, "x\n", 2, 0, 0) == 2;
	pthread_mutex_lock(&w->lock);
	while (!w->done)
		pthread_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
	return ok && w->n == 2 ? (double)(w->end_ns - start) / 1e3 : -1;
}

typedef struct s_case {
	const char *name;
	size_t size;  /* 0: the tty wake-up */
	bool vs_ping; /* the baseline is IPC_PING to the same driver, not TCP */
	int ops;      /* per round */
	const char *baseline;
} s_case;

static double s_one(s_bench *b, s_waiter *w, const s_case *c, bool tcp)
{
	if (c->size == 0)
		return s_wakeup(b, w, tcp);
	if (tcp && c->vs_ping)
		return s_ping(b);
	return tcp ? s_zero_tcp(b, c->size) : s_zero_plexus(b, c->size);
}

static int s_measure(s_bench *b, s_waiter *w, const s_case *c, bench_report *report)
{
	size_t total = (size_t)c->ops * (size_t)b->opt.rounds;
	bench_samples *plx = bench_samples_new(total), *tcp = bench_samples_new(total);
	int rc = plx && tcp ? 0 : -ENOMEM;
	for (int i = 0; rc == 0 && i < 10; i++) /* warm-up, not counted */
		if (s_one(b, w, c, false) < 0 || s_one(b, w, c, true) < 0)
			rc = -EIO;
	for (int r = 0; rc == 0 && r < b->opt.rounds; r++)
		for (int pass = 0; rc == 0 && pass < 2; pass++)
			for (int i = 0; rc == 0 && i < c->ops; i++) {
				double us = s_one(b, w, c, pass == 1);
				if (us < 0)
					rc = -EIO;
				else
					bench_samples_add(pass == 1 ? tcp : plx, us);
			}
	if (rc == 0)
		bench_report_add(report, c->name, "p50_us", bench_samples_percentile(plx, 50),
		                 c->baseline, bench_samples_percentile(tcp, 50), true);
	bench_samples_destroy(&plx);
	bench_samples_destroy(&tcp);
	return rc;
}

/* ---- command line ---- */

static int s_parse(int argc, char **argv, options *opt)
{
	*opt = (options){.rounds = 5};
	const bench_arg args[] = {
	    {"json", NULL, "print one JSON object instead of a table", .flag = &opt->json},
	    {"rounds", "N", "measured rounds per case, alternating with the baseline (default 5)",
	     .number = &opt->rounds, .min = 1, .max = 1000},
	};
	return bench_args_parse(
	    argc, argv, "chr",
	    "Character device requests from node 0 to drivers on node 1 of a two-node\n"
	    "network-namespace cluster: a 64 B and a 64 KiB read of plexus-memory's\n"
	    "/dev/zero, and a read waiting on a plexus-tty pseudo-terminal woken by a\n"
	    "line written to its master; next to raw TCP between the same namespaces\n"
	    "(request/response, and a relay). Medians in microseconds. Needs root.\n"
	    "plexus-memory and plexus-tty are taken from $PLEXUS_MEMORY_BIN and\n"
	    "$PLEXUS_TTY_BIN, the build tree, or PATH.\n",
	    args, sizeof args / sizeof *args);
}

int plx_bench_chr(int argc, char **argv)
{
	s_bench b = {.listen_fd = -1, .rr_fd = -1, .relay_in = -1, .relay_out = -1};
	int code = s_parse(argc, argv, &b.opt);
	if (code >= 0)
		return code;
	if (netns_harness_check() < 0) {
		fprintf(stderr, "plexus bench chr: needs root: %s\n", netns_error());
		return EX_NOPERM;
	}
	static const s_case cases[] = {
	    {"zero_read_64B", 64, false, 400, "raw tcp request/response, same size"},
	    {"zero_read_64B_vs_ping", 64, true, 400, "IPC_PING to the same driver"},
	    {"zero_read_64K", 65536, false, 200, "raw tcp request/response, same size"},
	    {"tty_wakeup", 0, false, 100, "raw tcp relay to a blocked reader"},
	};
	char err[1024] = "";
	bench_report *report = bench_report_new("chr");
	int rc = report ? s_setup(&b, err, sizeof err) : -ENOMEM;
	s_waiter w = {.b = &b, .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
	bool waiting = rc == 0 && pthread_create(&w.thread, NULL, s_wait, &w) == 0;
	if (rc == 0 && !waiting)
		rc = -EAGAIN, snprintf(err, sizeof err, "no thread");
	for (size_t i = 0; rc == 0 && i < sizeof cases / sizeof *cases; i++)
		if ((rc = s_measure(&b, &w, &cases[i], report)) < 0)
			snprintf(err, sizeof err, "%s failed", cases[i].name);
	if (waiting) {
		s_waiter_tell(&w, -1);
		pthread_join(w.thread, NULL);
	}
	if (rc == 0)
		bench_report_print(report, b.opt.json);
	else
		fprintf(stderr, "plexus bench chr: %s\n", err);
	s_teardown(&b);
	bench_report_destroy(&report);
	return rc == 0 ? EX_OK : EX_SOFTWARE;
}
