/*
 * task.c — the whole life of a plain character driver: plx_chardriver_task (server, start, publish,
 * announce, loop, abort) and plx_chardriver_main, a driver's main in one call.
 *
 * Entry points: plx_chardriver_task, plx_chardriver_main.
 */
#include <errno.h>
#include <stdio.h>

#include "internal.h"

static int s_fail(char *err, size_t size, int rc, const char *what)
{
	snprintf(err, size, "%s: %s", what, plx_strerror(rc));
	return rc;
}

int plx_chardriver_task(const plx_chardriver_ops *ops, void *arg, plx_service *svc,
                        plx_chardriver **self_p, char *err, size_t size)
{
	size_t n;
	const plx_handler *table = plx_chardriver_handlers(&n);
	plx_chardriver *self = plx_chardriver_new(ops, arg);
	if (!self)
		return s_fail(err, size, -errno, "character driver");
	plx_server *srv = plx_server_new(plx_service_ep(svc), table, n, arg);
	int rc = srv ? plx_chardriver_attach(self, srv) : -errno;
	if (self_p)
		*self_p = self;
	if (rc < 0)
		s_fail(err, size, rc, "server");
	else if ((rc = plx_chardriver_start(self, svc)) < 0)
		s_fail(err, size, rc, "start (init)");
	else if ((rc = plx_service_publish(svc, "up")) < 0)
		s_fail(err, size, rc, "publishing the endpoint");
	else if ((rc = plx_chardriver_announce(self, svc)) < 0)
		s_fail(err, size, rc, "announcing drv.chr in DS");
	else if ((rc = plx_service_run(svc, srv)) < 0)
		s_fail(err, size, rc, "message loop");
	plx_chardriver_abort(self, -EIO);
	/* ops->cleanup stops the driver's threads, which may still answer a request they took
	 * back before the abort: the server must outlive them. */
	plx_chardriver_destroy(&self);
	if (self_p)
		*self_p = NULL;
	plx_server_destroy(&srv);
	return rc;
}

typedef struct s_main {
	const plx_chardriver_ops *ops;
	void *arg;
	plx_chardriver **self_p;
} s_main;

static int s_task(void *task_arg, plx_service *svc, char *err, size_t size)
{
	s_main *m = task_arg;
	return plx_chardriver_task(m->ops, m->arg, svc, m->self_p, err, size);
}

int plx_chardriver_main(const plx_chardriver_ops *ops, void *arg, const plx_service_desc *desc,
                        plx_chardriver **self_p, int argc, char **argv)
{
	s_main m = {ops, arg, self_p};
	return plx_service_main_task(desc, arg, s_task, &m, argc, argv);
}
