/*
 * main.c — plexus-hello, MINIX's "hello" teaching driver for Plexus: a character device whose
 * read says "Hello, World!", which counts how often it has been opened, and which keeps that
 * count across a restart. docs/drivers.md walks through this file.
 *
 * Entry points: main.
 *
 * Try it: start it by hand against a running etcd,
 *     plexus-hello --label hello --etcd http://127.0.0.1:2379
 * or let RS start it from the cluster file; kill it with SIGKILL and RS restarts it with
 * PLEXUS_INIT=restart: the open count it saved is back.
 */
#include <errno.h>  /* the error codes the callbacks return, negated */
#include <string.h> /* strlen, memcpy */

#include <plexus/chardriver.h> /* the character driver library: callbacks, main and the loop */
#include <plexus/log.h>        /* plx_log for the few lines a driver logs */
#include <plexus/service.h>    /* the service runtime: label, endpoint, registry, saved state */

#define HELLO_MESSAGE "Hello, World!\n" /* what a read returns */
#define HELLO_STATE   "open_counter"    /* the key the count is saved under (DS, per label) */

/* Everything the driver knows. One instance, handed to every callback as arg. */
typedef struct hello {
	plx_service *svc;      /* where the count is saved; set by hello_init */
	uint32_t open_counter; /* opens since the first start, across restarts */
} hello;

/* Saves the count in the registry so that the next instance finds it (MINIX: ds_publish_u32
 * from sef_cb_lu_state_save). Saving on every change means a crash never loses it. */
static int hello_save(hello *self)
{
	return plx_service_state_save(self->svc, HELLO_STATE, &self->open_counter,
	                              sizeof self->open_counter);
}

/* Called once before the endpoint is published. restarted says whether RS started us after a
 * crash (MINIX: SEF_INIT_RESTART) or fresh (SEF_INIT_FRESH). */
static int hello_init(void *arg, plx_service *svc, bool restarted)
{
	hello *self = arg;
	self->svc = svc;
	if (!restarted) {
		self->open_counter = 0; /* a fresh start: forget any earlier life */
		return hello_save(self);
	}
	size_t size = sizeof self->open_counter; /* in: room we have; out: what was saved */
	int rc = plx_service_state_restore(svc, HELLO_STATE, &self->open_counter, &size);
	if (rc == -ENOENT)
		return 0; /* restarted before it ever saved: nothing to take over */
	if (rc == 0 && size != sizeof self->open_counter)
		return -EBADMSG; /* not what we save: refuse to start rather than guess */
	if (rc == 0)
		plx_log(PLX_LOG_INFO, "restarted, open count %u restored", self->open_counter);
	return rc;
}

/* The device has one minor, 0. The library answers -ENXIO for any other before we see it. */
static bool hello_exists(void *arg, uint32_t minor)
{
	(void)arg;
	return minor == 0;
}

/* An open: count it and save the new count. */
static int hello_open(void *arg, uint32_t minor, uint32_t access)
{
	(void)minor;
	(void)access; /* hello is read-only, but opening for write is no error: writes fail */
	hello *self = arg;
	self->open_counter++;
	plx_log(PLX_LOG_INFO, "open #%u", self->open_counter);
	return hello_save(self);
}

/* A read at a position: the part of the message from there, as much as fits; nothing (end of
 * file) at or past its end. The library sends buf's first *count bytes as the reply's data. */
static int hello_read(void *arg, plx_cdev_req *req, void *buf, size_t *count)
{
	(void)arg;
	const size_t len = strlen(HELLO_MESSAGE);
	uint64_t position = plx_cdev_req_position(req);
	if (position >= len) {
		*count = 0; /* end of file */
		return 0;
	}
	size_t n = len - (size_t)position;
	if (n > plx_cdev_req_size(req))
		n = (size_t)plx_cdev_req_size(req); /* never more than the caller asked for */
	memcpy(buf, &HELLO_MESSAGE[position], n);
	*count = n;
	return 0;
}

/* The callbacks. What is left out the library answers: writes -EIO, ioctls -ENOTTY, select
 * "always ready", close OK. */
static const plx_chardriver_ops hello_ops = {
    .exists = hello_exists,
    .open = hello_open,
    .read = hello_read,
    .init = hello_init,
};

/* What plx_chardriver_main needs to run hello as a service: its name for log lines and its
 * --help text. hello has no options of its own, so the text lists only --help; the service
 * options (--label, --etcd, --cluster, ...) follow it, as every service has them. */
static const plx_service_desc hello_desc = {
    .program = "plexus-hello",
    .usage = "usage: plexus-hello [options]\n\n"
             "MINIX's hello driver: a character device (minor 0) whose read returns\n"
             "\"Hello, World!\"; it counts opens and keeps the count across restarts\n"
             "(docs/drivers.md).\n\n"
             "  --help                this text\n\n",
};

/* MINIX's hello main is sef_local_startup(); chardriver_task(&hello_tab);. Here one call does
 * both: settings from plexus-node's environment, then the command line (exit EX_CONFIG or
 * EX_USAGE when bad); the service (endpoint, registry connection, lease; EX_UNAVAILABLE when
 * the registry cannot be reached); then the driver's whole life: init (fresh or restart),
 * publish the endpoint, announce drv.chr.<label> = "up", answer requests and heartbeats until
 * told to stop (EX_SOFTWARE if that fails, EX_OK after a clean stop). */
int main(int argc, char **argv)
{
	static hello self; /* everything the driver knows, handed to every callback */
	return plx_chardriver_main(&hello_ops, &self, &hello_desc, NULL, argc, argv);
}
