/*
 * task.c — the whole life of a plain block driver: plx_blockdriver_task (server, start, publish,
 * announce, loop, abort) and plx_blockdriver_main, a driver's main in one call.
 *
 * Entry points: plx_blockdriver_task, plx_blockdriver_main.
 */
#include <errno.h>
#include <stdio.h>

#include "internal.h"

static int s_fail(char *err, size_t size, int rc, const char *what)
{
	snprintf(err, size, "%s: %s", what, plx_strerror(rc));
	return rc;
}

int plx_blockdriver_task(const plx_blockdriver_ops *ops, void *arg, plx_service *svc, char *err,
                         size_t size)
{
	size_t n;
	const plx_handler *table = plx_blockdriver_handlers(&n);
	plx_blockdriver *self = plx_blockdriver_new(ops, arg);
	if (!self)
		return s_fail(err, size, -errno, "block driver");
	plx_server *srv = plx_server_new(plx_service_ep(svc), table, n, arg);
	int rc = srv ? plx_blockdriver_attach(self, srv) : -errno;
	if (rc < 0)
		s_fail(err, size, rc, "server");
	else if ((rc = plx_blockdriver_start(self, svc)) < 0)
		s_fail(err, size, rc, "start (saved state, init)");
	else if ((rc = plx_service_publish(svc, "up")) < 0)
		s_fail(err, size, rc, "publishing the endpoint");
	else if ((rc = plx_blockdriver_announce(self, svc)) < 0)
		s_fail(err, size, rc, "announcing drv.blk in DS");
	else if ((rc = plx_service_run(svc, srv)) < 0)
		s_fail(err, size, rc, "message loop");
	plx_server_destroy(&srv);
	plx_blockdriver_destroy(&self);
	return rc;
}

typedef struct s_main {
	const plx_blockdriver_ops *ops;
	void *arg;
} s_main;

static int s_task(void *task_arg, plx_service *svc, char *err, size_t size)
{
	s_main *m = task_arg;
	return plx_blockdriver_task(m->ops, m->arg, svc, err, size);
}

int plx_blockdriver_main(const plx_blockdriver_ops *ops, void *arg, const plx_service_desc *desc,
                         int argc, char **argv)
{
	s_main m = {ops, arg};
	return plx_service_main_task(desc, arg, s_task, &m, argc, argv);
}
