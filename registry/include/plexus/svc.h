/*
 * plexus/svc.h — RS's service records (svc/<label>, written by RS: reincarnation/publish.c) as
 * the other components read them.
 *
 * Entry points: plx_svc_coming_back.
 */
#ifndef PLEXUS_SVC_H
#define PLEXUS_SVC_H

#include <stdbool.h>

#include <plexus/etcd.h>

/* True when RS is bringing label back, or has it up: its record says pending, starting,
 * backoff, waiting (for its node) or up. False when it says down, failed, exited or given-up,
 * when there is no record (nothing under RS), or when etcd cannot say. */
bool plx_svc_coming_back(plx_etcd *etcd, const char *cluster, const char *label);

#endif
