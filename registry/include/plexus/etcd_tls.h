/*
 * plexus/etcd_tls.h — the certificates of a secured etcd (docs/security.md "etcd: TLS with
 * client certificates").
 *
 * Entry points: plx_etcd_tls_make, plx_etcd_tls_files.
 *
 * A keys directory (PLEXUS_KEYS) of a secured system holds one certificate authority for
 * its etcd and two key pairs it signed, all ECDSA P-256:
 *   etcd-ca.crt                        the authority every client and etcd trust (0644)
 *   etcd-server.crt, etcd-server.key   etcd's own, for the IP addresses it listens on (key 0600)
 *   etcd-client.crt, etcd-client.key   every client's (no CN; key 0644)
 * etcd asks every client for a certificate from the authority (--client-cert-auth), so a
 * process that cannot read the keys directory (a LAN neighbour) gets no TLS session at all;
 * which etcd user a client acts as is decided by its password (etcd.password for root,
 * etcd.client for plexus-client): etcd's HTTP gateway refuses a client certificate that
 * carries a CN once authentication is on.
 */
#ifndef PLEXUS_ETCD_TLS_H
#define PLEXUS_ETCD_TLS_H

#include <stddef.h>

/* Makes a new authority and the three key pairs in dir (which must exist), replacing any
 * there; the server's certificate names 127.0.0.1, ::1, localhost and the nips addresses in
 * ips (IPv4 or IPv6 text; at most 8). Returns 0, or a negative errno with the reason in err. */
int plx_etcd_tls_make(const char *dir, const char *const *ips, size_t nips, char *err, size_t size);

/* The client's files in dir: the authority and the client pair. Each output is PATH_MAX
 * long. Returns 0, or -ENOENT when dir holds no
 * authority (etcd there speaks plain http). */
int plx_etcd_tls_files(const char *dir, char *ca, char *cert, char *key);

#endif
