/*
 * plexus/etcd_tls.h — the certificates of a secured etcd (docs/security.md "etcd: TLS with
 * client certificates").
 *
 * Entry points: plx_etcd_tls_make, plx_etcd_tls_files, plx_etcd_tls_key_new, plx_etcd_tls_sign,
 * plx_etcd_tls_sign_member.
 *
 * A keys directory (PLEXUS_KEYS) of a secured system holds one certificate authority for
 * its etcd and two key pairs it signed, all ECDSA P-256:
 *   etcd-ca.crt                        the authority every client and etcd trust (0644)
 *   etcd-ca.key                        its key, for plx_etcd_tls_sign (0600)
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

/* A netbooted node's etcd key (docs/security.md "Keys on a rack"): a new P-256 key, its private
 * half as PEM into key_pem, its public half as PEM into pub_pem. Returns 0, -ENOSPC or -EIO. */
int plx_etcd_tls_key_new(char *key_pem, size_t key_size, char *pub_pem, size_t pub_size);

/* Signs the public key pub_pem with the authority in dir (etcd-ca.crt, etcd-ca.key): a
 * certificate without a name for an etcd client that may also serve as an etcd member on
 * 127.0.0.1, ::1, localhost and the nips addresses in ips; PEM into out. Returns 0, -ENOENT
 * (no authority in dir), -EINVAL (not a key, a bad address), -ENOSPC or -EIO, with err set. */
int plx_etcd_tls_sign(const char *dir, const char *pub_pem, const char *const *ips, size_t nips,
                      char *out, size_t out_size, char *err, size_t size);

/* As plx_etcd_tls_sign, for a node that is an etcd member of several: the certificate's common
 * name is "etcd", which members' peer ports demand of each other (--peer-cert-allowed-cn etcd),
 * so only a role = etcd node can speak raft. Same returns. */
int plx_etcd_tls_sign_member(const char *dir, const char *pub_pem, const char *const *ips,
                             size_t nips, char *out, size_t out_size, char *err, size_t size);

#endif
