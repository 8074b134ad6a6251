/*
 * plexus/pxe.h — the PXE server's files, generated from the cluster description.
 *
 * Entry points: plx_pxe_settings_read, plx_pxe_check, plx_pxe_write, plx_pxe_node_cmdline,
 * plx_pxe_extra_sections, plx_pxe_keys_url, plx_pxe_keys_check, plx_pxe_keys_write,
 * plx_pxe_keys_issue.
 *
 * The cluster file (plexus/cluster.h) may hold a [pxe] section that `plexus pxe` reads:
 *
 *   [pxe]
 *   server = 10.0.0.1          ; this server's address on the boot network (required)
 *   interface = eth1           ; where dnsmasq listens (required for serve)
 *   mode = dhcp                ; dhcp: full DHCP, static leases by MAC; proxy: beside the
 *                              ; site's DHCP server (nodes then take plexus.addr=)
 *   netmask = 255.255.255.0    ; the boot network's (default 255.255.255.0)
 *   router = 10.0.0.254        ; handed out in dhcp mode (optional)
 *   http_port = 8080           ; kernel, initramfs and scripts (default 8080)
 *   image = /srv/plexus/image  ; the directory plexus image build wrote
 *   cmdline = console=ttyS0    ; kernel arguments before the plexus.* ones
 *   ipv6_ra = no               ; yes: dnsmasq sends IPv6 router advertisements on interface
 *                              ; (which needs an IPv6 address), so iPXE does not wait ~18 s
 *                              ; for IPv6 autoconfiguration on a network without a router
 *   keys = /etc/plexus/keys    ; the trust root (plexus keys init): every node gets a
 *                              ; certificate for the key pair it makes at boot (plexus.keys=),
 *                              ; only at its own address
 *
 * Files written into a state directory: dnsmasq.conf, tftp/undionly.kpxe and tftp/ipxe.efi
 * (Debian's ipxe), http/boot.ipxe (asks for nodes/<MAC>.ipxe), http/nodes/<MAC>.ipxe per node
 * (kernel and initrd over HTTP, the node's settings on the kernel command line), and links
 * http/vmlinuz, http/initramfs.img to the image; with keys, keys/<ADDRESS> per node (its name)
 * and http/cgi-bin/keys, which certifies the key a node sends, for the node at the address
 * asking only (pxe_keys.c).
 */
#ifndef PLEXUS_PXE_H
#define PLEXUS_PXE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <plexus/cluster.h>

typedef struct plx_pxe_settings {
	char server[16];
	char interface[16];
	bool proxy;
	char netmask[16];
	int prefix;
	char router[16];
	int http_port;
	char image[1024];
	char cmdline[1024];
	char etcd[1024];       /* [cluster] etcd, else the role = etcd nodes' client URLs, else
	                          http://SERVER:2379 */
	char etcd_peers[1024]; /* NAME=URL of each role = etcd node's peer port when there are
	                          several, "" otherwise */
	char ipxe_dir[256];    /* where undionly.kpxe and ipxe.efi are (/usr/lib/ipxe) */
	bool ipv6_ra;          /* send IPv6 router advertisements on interface */
	char keys[1024]; /* the cluster's keys directory (plexus keys init), "": plain links */
	char cli[4096];  /* the plexus command the keys CGI runs; "": this program */
} plx_pxe_settings;

/* The extra section names plexus pxe asks the cluster parser to keep: {"pxe", NULL}. */
extern const char *const plx_pxe_extra_sections[];

/* Reads the [pxe] section of c into *out, with defaults. Returns 0 or -EINVAL with err set
 * ("[pxe] server: ... expected ..."). */
int plx_pxe_settings_read(const plx_cluster *c, plx_pxe_settings *out, char *err, size_t size);

/* The kernel command line node n gets (into out). Returns its length or -ENAMETOOLONG. */
int plx_pxe_node_cmdline(const plx_cluster *c, const plx_pxe_settings *s, const plx_cluster_node *n,
                         char *out, size_t size);

/* Explains what every node gets (address, boot files, command line, services) on out, and
 * checks what a boot needs: nodes on the server's subnet, the image present, the iPXE files
 * installed. Returns the number of problems found (each one line "problem: ..."). */
int plx_pxe_check(const plx_cluster *c, const plx_pxe_settings *s, FILE *out);

/* The URL a node fetches its keys from: http://SERVER:PORT/cgi-bin/keys. Returns its length or
 * -ENAMETOOLONG. */
int plx_pxe_keys_url(const plx_pxe_settings *s, char *out, size_t size);

/* Explains where nodes get their keys on out; returns 1 (one line "problem: ...") when
 * [pxe] keys names a directory without a readable root.key, else 0. */
int plx_pxe_keys_check(const plx_pxe_settings *s, FILE *out);

/* With [pxe] keys: writes dir/keys/ADDRESS (each node's name) and the CGI that certifies a
 * node's key (plx_pxe_write calls it). Returns 0 or a negative errno with err set. */
int plx_pxe_keys_write(const plx_cluster *c, const plx_pxe_settings *s, const char *dir, char *err,
                       size_t size);

/* `plexus pxe issue KEYS NODE ADDR HEX ETCD_HEX [member]`, which the CGI runs for the node NODE
 * at ADDR (member, when the cluster file makes it a role = etcd node):
 * prints on out a CGI answer, five lines: "plexus-cert-1", the trust root's public key in hex,
 * a certificate signed with KEYS/root.key for node.NODE (every generation) and the CURVE key
 * whose Z85 text HEX spells in hex, then etcd's authority and a certificate it signs for the
 * public key whose PEM ETCD_HEX spells (a client, and an etcd member at ADDR; with member its
 * common name is "etcd", which a member's peer port demands), both PEM in hex, or "-" twice
 * when KEYS holds no etcd-ca.key; or "Status: 400" and why. Returns 0 or a negative errno. */
int plx_pxe_keys_issue(const char *keys, const char *node, const char *addr, const char *hex,
                       const char *etcd_hex, bool member, FILE *out);

/* Writes the server's files into dir (created if missing). Returns 0 or a negative errno with
 * err set. */
int plx_pxe_write(const plx_cluster *c, const plx_pxe_settings *s, const char *dir, char *err,
                  size_t size);

#endif
