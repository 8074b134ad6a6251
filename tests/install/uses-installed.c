/*
 * uses-installed.c — a program built only from what `cmake --install` puts in a prefix:
 * headers, static libraries and pkg-config files. It runs a sendrec over inproc, and asks
 * libplexus for a client of an etcd that is not there.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <plexus/ds.h>
#include <plexus/plexus.h>
#include <plexus/transport.h>

int main(void)
{
	plx_ctx *ctx = plx_ctx_new();
	plx_ep *server = plx_ep_new(ctx, "server", 1);
	plx_ep *client = plx_ep_new(ctx, "client", 1);
	if (!ctx || !server || !client || plx_ep_bind(server, "inproc://installed") != 0 ||
	    plx_route_set(ctx, "server", 1, plx_ep_address(server)) != 0)
		return 1;
	plx_request req = {.type = 16, .data = "hi", .data_size = 2};
	snprintf(req.dst.label, sizeof req.dst.label, "server");
	uint64_t id = 0;
	plx_msg *msg = NULL;
	int rc = plx_asynsend(client, &req, &id);
	if (rc == 0)
		rc = plx_receive(server, &msg, 5000);
	if (rc == 0)
		rc = plx_reply(server, msg, 0, NULL, msg->data, msg->data_size);
	plx_msg_destroy(&msg);
	if (rc == 0)
		rc = plx_receive(client, &msg, 5000);
	int ok = rc == 0 && msg->request_id == id && msg->data_size == 2 &&
	         memcmp(msg->data, "hi", 2) == 0;
	plexus_opts opts;
	plexus_opts_init(&opts);
	opts.etcd = "http://127.0.0.1:9"; /* nothing listens there */
	ok = ok && !plexus_connect(&opts) && errno == ECONNREFUSED;
	printf("installed library: %s\n", ok ? "round trip ok" : plx_strerror(rc));
	plx_msg_destroy(&msg);
	plx_ep_destroy(&client);
	plx_ep_destroy(&server);
	plx_ctx_destroy(&ctx);
	return ok ? 0 : 1;
}
