/*
 * etcd_fixture.c — the registry tests' shared group fixture.
 *
 * Entry points: etcd_fixture_start, etcd_fixture_stop.
 */
#include <stdio.h>

#include "etcd_fixture.h"

int etcd_fixture_start(plx_etcdh **h, plx_etcd **etcd)
{
	*h = plx_etcdh_start(1);
	if (!*h) {
		fprintf(stderr, "harness: %s\n", plx_etcdh_error());
		return -1;
	}
	if (!etcd)
		return 0;
	plx_etcd_opts opts = {.endpoints = plx_etcdh_endpoints(*h), .timeout_ms = 2000};
	*etcd = plx_etcd_new(&opts);
	if (!*etcd)
		fprintf(stderr, "etcd client: %s\n", plx_etcd_errmsg());
	return *etcd ? 0 : -1;
}

void etcd_fixture_stop(plx_etcdh **h, plx_etcd **etcd)
{
	if (etcd)
		plx_etcd_destroy(etcd);
	plx_etcdh_stop(h);
}
