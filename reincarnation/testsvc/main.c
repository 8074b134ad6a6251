/*
 * main.c — plexus-testsvc, the service RS's tests and `plexus bench recovery` run: a real
 * Plexus service (plexus/service.h + plexus/server.h) with knobs that make it misbehave.
 *
 * Entry points: main.
 *
 * It answers IPC_PING (the server library's heartbeat answer), IPC_ECHO (the body back, with
 * its own generation in the sequence field) and IPC_SLEEP (the reply after a delay, from a
 * thread: a request that stays pending). Knobs, after the service options of
 * plx_service_usage:
 *   --init-delay MS    wait this long before publishing the endpoint (being "ready")
 *   --fail-init CODE   exit with CODE before publishing (a failure during initialization)
 *   --crash-after MS   abort() (SIGABRT) MS after being ready
 *   --exit-after MS    exit(0) MS after being ready (a clean exit)
 *   --hang-after MS    stop answering anything MS after being ready (the loop blocks)
 *   --sick-after MS    MS after being ready, go on answering IPC_PING but say it cannot
 *                      serve (its health check fails)
 * Each line it logs names its label, generation and whether RS said fresh or restart.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <plexus/service.h>

#include "plexus/proto/ipc.pb-c.h"

typedef struct knobs {
	long init_delay, fail_init, crash_after, exit_after, hang_after, sick_after;
	struct timespec ready;
	uint64_t generation;
} knobs;

static knobs s_k = {
    .fail_init = -1, .crash_after = -1, .exit_after = -1, .hang_after = -1, .sick_after = -1};

static void s_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static long s_since_ready_ms(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - s_k.ready.tv_sec) * 1000 + (now.tv_nsec - s_k.ready.tv_nsec) / 1000000;
}

static int do_echo(plx_call *call)
{
	Plexus__IpcEcho *in = (Plexus__IpcEcho *)call->body;
	Plexus__IpcEcho out = PLEXUS__IPC_ECHO__INIT;
	out.text = in->text;
	out.sequence = s_k.generation;
	plx_call_reply(call, 0, &out.base, NULL, 0);
	return PLX_SUSPEND;
}

typedef struct s_sleeper {
	plx_call *call;
	uint32_t ms;
} s_sleeper;

static void *s_sleep_thread(void *arg)
{
	s_sleeper *s = arg;
	s_sleep_ms(s->ms);
	plx_call_reply(s->call, 0, NULL, NULL, 0);
	free(s);
	return NULL;
}

static int do_sleep(plx_call *call)
{
	s_sleeper *s = malloc(sizeof *s);
	pthread_t t;
	if (!s)
		return -ENOMEM;
	s->call = call;
	s->ms = ((Plexus__IpcSleep *)call->body)->milliseconds;
	if (pthread_create(&t, NULL, s_sleep_thread, s) != 0) {
		free(s);
		return -EAGAIN;
	}
	pthread_detach(t);
	return PLX_SUSPEND;
}

static const plx_handler s_table[] = {
    {.type = PLEXUS__IPC_TYPE__IPC_ECHO,
     .name = "echo",
     .fn = do_echo,
     .body = &plexus__ipc_echo__descriptor,
     .flags = PLX_IN_LOOP,
     .allowed = NULL},
    {.type = PLEXUS__IPC_TYPE__IPC_SLEEP,
     .name = "sleep",
     .fn = do_sleep,
     .body = &plexus__ipc_sleep__descriptor,
     .flags = PLX_IN_LOOP,
     .allowed = NULL},
};

static void s_tick(plx_server *srv)
{
	(void)srv;
	long t = s_since_ready_ms();
	if (s_k.crash_after >= 0 && t >= s_k.crash_after) {
		fprintf(stderr, "testsvc: crashing as asked\n");
		abort();
	}
	if (s_k.exit_after >= 0 && t >= s_k.exit_after) {
		fprintf(stderr, "testsvc: exiting as asked\n");
		_exit(0);
	}
	if (s_k.hang_after >= 0 && t >= s_k.hang_after) {
		fprintf(stderr, "testsvc: hanging as asked\n");
		for (;;)
			pause();
	}
}

/* The health IPC_PING reports: sick from --sick-after on. */
static bool s_health(plx_server *srv, char *why, size_t size)
{
	(void)srv;
	if (s_k.sick_after < 0 || s_since_ready_ms() < s_k.sick_after)
		return true;
	snprintf(why, size, "sick as asked (--sick-after %ld)", s_k.sick_after);
	return false;
}

/* Parses the arguments: service options first, the knobs otherwise. */
static int s_args(plx_service_cfg *cfg, int argc, char **argv, char *err, size_t size)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			printf("usage: plexus-testsvc [service options] [--init-delay MS] "
			       "[--fail-init "
			       "CODE]\n       [--crash-after MS] [--exit-after MS] [--hang-after "
			       "MS] [--sick-after MS]\n");
			plx_service_usage(stdout);
			exit(EX_OK);
		}
		if (strncmp(argv[i], "--", 2) != 0 || i + 1 >= argc) {
			snprintf(err, size, "bad argument \"%s\": expected --OPTION VALUE",
			         argv[i]);
			return -EINVAL;
		}
		const char *name = argv[i] + 2, *value = argv[++i];
		int rc = plx_service_cfg_set(cfg, name, value, err, size);
		if (rc != -ENOENT) {
			if (rc < 0)
				return rc;
			continue;
		}
		char *end;
		long v = strtol(value, &end, 10);
		long *slot = strcmp(name, "init-delay") == 0    ? &s_k.init_delay
		             : strcmp(name, "fail-init") == 0   ? &s_k.fail_init
		             : strcmp(name, "crash-after") == 0 ? &s_k.crash_after
		             : strcmp(name, "exit-after") == 0  ? &s_k.exit_after
		             : strcmp(name, "hang-after") == 0  ? &s_k.hang_after
		             : strcmp(name, "sick-after") == 0  ? &s_k.sick_after
		                                                : NULL;
		if (!slot || *end || v < 0) {
			snprintf(err, size, "--%s %s: unknown option or not a number", name, value);
			return -EINVAL;
		}
		*slot = v;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char err[512];
	plx_service_cfg cfg;
	plx_service_cfg_init(&cfg);
	if (plx_service_cfg_env(&cfg, err, sizeof err) < 0 ||
	    s_args(&cfg, argc, argv, err, sizeof err) < 0) {
		fprintf(stderr, "testsvc: %s\n", err);
		return EX_USAGE;
	}
	s_sleep_ms(s_k.init_delay);
	if (s_k.fail_init >= 0) {
		fprintf(stderr, "testsvc: %s: failing initialization as asked\n", cfg.label);
		return (int)s_k.fail_init;
	}
	plx_service *svc = plx_service_new(&cfg, err, sizeof err);
	if (!svc) {
		fprintf(stderr, "testsvc: %s\n", err);
		return EX_UNAVAILABLE;
	}
	s_k.generation = plx_ep_name(plx_service_ep(svc))->generation;
	plx_server *srv = plx_server_new(plx_service_ep(svc), s_table, 2, NULL);
	int rc = srv ? plx_service_publish(svc, "up") : -ENOMEM;
	if (rc < 0) {
		fprintf(stderr, "testsvc: publishing: %s\n", plx_strerror(rc));
		plx_server_destroy(&srv);
		plx_service_destroy(&svc);
		return EX_UNAVAILABLE;
	}
	clock_gettime(CLOCK_MONOTONIC, &s_k.ready);
	fprintf(stderr, "testsvc: %s generation %llu ready (%s)\n", cfg.label,
	        (unsigned long long)s_k.generation,
	        plx_service_restarted(svc) ? "restart" : "fresh");
	plx_server_on_tick(srv, s_tick, 10);
	plx_server_set_health(srv, s_health);
	rc = plx_service_run(svc, srv);
	plx_server_destroy(&srv);
	plx_service_destroy(&svc);
	return rc < 0 ? EX_SOFTWARE : EX_OK;
}
