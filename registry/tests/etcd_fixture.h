/*
 * etcd_fixture.h — the cmocka group fixture the registry tests share: one private etcd for a
 * test file, and optionally a client of it.
 *
 * Entry points: etcd_fixture_start, etcd_fixture_stop.
 */
#ifndef PLEXUS_ETCD_FIXTURE_H
#define PLEXUS_ETCD_FIXTURE_H

#include <plexus/etcd.h>

#include "etcd_harness.h"

/* Starts a one-member etcd in *h and, when etcd is not NULL, a client of it (2 s request
 * limit) in *etcd. Returns 0, or -1 after printing why on standard error. */
int etcd_fixture_start(plx_etcdh **h, plx_etcd **etcd);
/* Destroys the client (when etcd is not NULL) and stops the etcd. Accepts what start left. */
void etcd_fixture_stop(plx_etcdh **h, plx_etcd **etcd);

#endif
