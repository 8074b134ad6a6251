/*
 * service_main.c — a service's whole main and a server's whole life (plexus/service.h): what
 * every Plexus service's main() did by hand, as MINIX's sef_startup and task loops do.
 *
 * Entry points: plx_service_main, plx_service_main_task, plx_service_serve.
 *
 * These two stand for a program's main, so they log (plexus/log.h) what a main logs: a failure
 * once at error, "serving at" and "stopped" at info.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include <plexus/log.h>
#include <plexus/service.h>

#define S_ERR_MAX 4352 /* room for a path (PATH_MAX) and a sentence */

static void s_usage(const plx_service_desc *desc, FILE *out)
{
	if (desc->usage_fn)
		desc->usage_fn(out);
	else if (desc->usage)
		fputs(desc->usage, out);
	else
		fprintf(out, "usage: %s [options]\n\n", desc->program);
	plx_service_usage(out);
}

/* Settings from the environment, then the command line. Returns -1 to go on, or an exit code. */
static int s_configure(const plx_service_desc *desc, void *arg, plx_service_cfg *cfg, int argc,
                       char **argv, char *err, size_t size)
{
	plx_service_cfg_init(cfg);
	if (desc->label)
		snprintf(cfg->label, sizeof cfg->label, "%s", desc->label);
	if (plx_service_cfg_env(cfg, err, size) < 0) {
		plx_log(PLX_LOG_ERROR, "%s", err);
		return EX_CONFIG;
	}
	int rc = plx_service_args(cfg, argc, argv, desc->flags, desc->option, arg, err, size);
	if (rc < 0)
		plx_log(PLX_LOG_ERROR, "%s", err);
	if (rc != 0)
		s_usage(desc, rc < 0 ? stderr : stdout);
	return rc < 0 ? EX_USAGE : rc > 0 ? EX_OK : -1;
}

typedef struct s_task {
	plx_service_task_fn *fn;
	void *arg;
} s_task;

/* Starts the service and runs desc->run, then the task. Returns the exit code. */
static int s_start(const plx_service_desc *desc, void *arg, const s_task *task,
                   const plx_service_cfg *cfg, char *err, size_t size)
{
	for (size_t i = 0; desc->types && desc->types[i]; i++)
		plx_register_types(desc->types[i]);
	for (size_t i = 0; desc->families && desc->families[i]; i++)
		plx_register_family(desc->families[i]);
	plx_service_cfg with = *cfg;
	with.follow_all = with.follow_all || desc->follow_all;
	plx_service *svc = plx_service_new(&with, err, size);
	if (!svc) {
		int code = errno == EINVAL ? EX_USAGE : EX_UNAVAILABLE;
		plx_log(PLX_LOG_ERROR, "%s", err);
		return code;
	}
	int rc = desc->run ? desc->run(arg, svc, err, size) : 0;
	if (rc >= 0 && task->fn)
		rc = task->fn(task->arg, svc, err, size);
	plx_service_destroy(&svc);
	if (rc < 0) {
		plx_log(PLX_LOG_ERROR, "%s", err);
		return EX_SOFTWARE;
	}
	plx_log(PLX_LOG_INFO, "stopped");
	return EX_OK;
}

int plx_service_main_task(const plx_service_desc *desc, void *arg, plx_service_task_fn *task,
                          void *task_arg, int argc, char **argv)
{
	const s_task t = {task, task_arg};
	static char err[S_ERR_MAX]; /* one main per process */
	plx_service_cfg cfg;
	plx_log_set_program(desc->program);
	int code = s_configure(desc, arg, &cfg, argc, argv, err, sizeof err);
	if (code >= 0)
		return code;
	err[0] = '\0';
	code = desc->prepare ? desc->prepare(arg, err, sizeof err) : 0;
	if (code != 0) {
		if (err[0])
			plx_log(PLX_LOG_ERROR, "%s", err);
		if (code == EX_USAGE)
			s_usage(desc, stderr);
		return code;
	}
	code = s_start(desc, arg, &t, &cfg, err, sizeof err);
	if (desc->cleanup)
		desc->cleanup(arg);
	return code;
}

int plx_service_main(const plx_service_desc *desc, void *arg, int argc, char **argv)
{
	return plx_service_main_task(desc, arg, NULL, NULL, argc, argv);
}

/* Publishes, logs the serving line, runs. Returns 0 or a negative errno, *step naming it. */
static int s_publish_run(plx_service *svc, plx_server *srv, const char *detail, const char **step)
{
	*step = "publishing the endpoint";
	int rc = plx_service_publish(svc, "up");
	if (rc < 0)
		return rc;
	plx_ep *ep = plx_service_ep(svc);
	plx_log(PLX_LOG_INFO, "serving at %s (%s start%s%s)", plx_ep_address(ep),
	        plx_service_restarted(svc) ? "restart" : "fresh", detail ? ", " : "",
	        detail ? detail : "");
	*step = "message loop";
	return plx_service_run(svc, srv);
}

/* Why plx_server_new failed with rc, into err: for a table it refused, which entry. */
static void s_server_failed(const plx_handler *table, size_t n, int rc, char *err, size_t size)
{
	size_t bad;
	if (rc == -EINVAL && plx_server_check(table, n, &bad) < 0)
		snprintf(
		    err, size,
		    "server: table entry %zu (%s) refused: a type twice, no handler, or not the "
		    "body its family's .def says",
		    bad, table[bad].name ? table[bad].name : "?");
	else
		snprintf(err, size, "server: %s", plx_strerror(rc));
}

int plx_service_serve(plx_service *svc, const plx_handler *table, size_t n, void *arg,
                      const plx_serve_hooks *hooks, char *err, size_t size)
{
	static const plx_serve_hooks none = {0};
	hooks = hooks ? hooks : &none;
	plx_server *srv = plx_server_new(plx_service_ep(svc), table, n, arg);
	if (!srv) {
		int rc = -errno;
		s_server_failed(table, n, rc, err, size);
		return rc;
	}
	const char *step = NULL;
	int rc = hooks->setup ? hooks->setup(arg, svc, srv, err, size) : 0;
	if (rc == 0)
		rc = s_publish_run(svc, srv, hooks->detail, &step);
	if (rc < 0 && step)
		snprintf(err, size, "%s: %s", step, plx_strerror(rc));
	if (hooks->teardown)
		hooks->teardown(arg, srv);
	plx_server_destroy(&srv);
	return rc;
}
