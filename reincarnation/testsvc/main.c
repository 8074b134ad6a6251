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
 * Its lines go through plx_log, prefixed "plexus-testsvc LABEL/GENERATION"; the ready line says
 * whether RS said fresh or restart. Its main is plx_service_main (a bad knob: EX_USAGE).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <plexus/log.h>
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
    PLX_LOOP(PLEXUS__IPC_TYPE__IPC_ECHO, "echo", do_echo, &plexus__ipc_echo__descriptor, NULL),
    PLX_LOOP(PLEXUS__IPC_TYPE__IPC_SLEEP, "sleep", do_sleep, &plexus__ipc_sleep__descriptor, NULL),
};

static void s_tick(plx_server *srv)
{
	(void)srv;
	long t = s_since_ready_ms();
	if (s_k.crash_after >= 0 && t >= s_k.crash_after) {
		plx_log(PLX_LOG_WARN, "crashing as asked");
		abort();
	}
	if (s_k.exit_after >= 0 && t >= s_k.exit_after) {
		plx_log(PLX_LOG_INFO, "exiting as asked");
		_exit(0);
	}
	if (s_k.hang_after >= 0 && t >= s_k.hang_after) {
		plx_log(PLX_LOG_WARN, "hanging as asked");
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

/* A knob (the service options are plx_service_args's): returns 0, -ENOENT or -EINVAL. */
static int s_option(void *arg, const char *name, const char *value, char *err, size_t size)
{
	(void)arg;
	long *slot = strcmp(name, "init-delay") == 0    ? &s_k.init_delay
	             : strcmp(name, "fail-init") == 0   ? &s_k.fail_init
	             : strcmp(name, "crash-after") == 0 ? &s_k.crash_after
	             : strcmp(name, "exit-after") == 0  ? &s_k.exit_after
	             : strcmp(name, "hang-after") == 0  ? &s_k.hang_after
	             : strcmp(name, "sick-after") == 0  ? &s_k.sick_after
	                                                : NULL;
	if (!slot)
		return -ENOENT;
	char *end;
	long v = strtol(value, &end, 10);
	if (end == value || *end || v < 0) {
		snprintf(err, size, "--%s %s: not a number", name, value);
		return -EINVAL;
	}
	*slot = v;
	return 0;
}

/* Before the service starts: the asked delay, and the asked failure. */
static int s_prepare(void *arg, char *err, size_t size)
{
	(void)arg, (void)err, (void)size;
	s_sleep_ms(s_k.init_delay);
	if (s_k.fail_init >= 0) {
		plx_log(PLX_LOG_ERROR, "failing initialization as asked");
		exit((int)s_k.fail_init); /* any code, 0 included */
	}
	return 0;
}

/* Publishes, says it is ready, runs. Returns 0 or a negative errno with err set. */
static int s_run(void *arg, plx_service *svc, char *err, size_t size)
{
	(void)arg;
	s_k.generation = plx_ep_name(plx_service_ep(svc))->generation;
	plx_server *srv = plx_server_new(plx_service_ep(svc), s_table, 2, NULL);
	int rc = srv ? plx_service_publish(svc, "up") : -ENOMEM;
	if (rc < 0) {
		snprintf(err, size, "publishing: %s", plx_strerror(rc));
		plx_server_destroy(&srv);
		return rc;
	}
	clock_gettime(CLOCK_MONOTONIC, &s_k.ready);
	plx_log(PLX_LOG_INFO, "%s generation %llu ready (%s)", plx_service_config(svc)->label,
	        (unsigned long long)s_k.generation,
	        plx_service_restarted(svc) ? "restart" : "fresh");
	plx_server_on_tick(srv, s_tick, 10);
	plx_server_set_health(srv, s_health);
	rc = plx_service_run(svc, srv);
	if (rc < 0)
		snprintf(err, size, "message loop: %s", plx_strerror(rc));
	plx_server_destroy(&srv);
	return rc;
}

static const plx_service_desc s_desc = {
    .program = "plexus-testsvc",
    .usage = "usage: plexus-testsvc [service options] [--init-delay MS] [--fail-init CODE]\n"
             "       [--crash-after MS] [--exit-after MS] [--hang-after MS] [--sick-after MS]\n",
    .option = s_option,
    .prepare = s_prepare,
    .run = s_run,
};

int main(int argc, char **argv)
{
	return plx_service_main(&s_desc, NULL, argc, argv);
}
