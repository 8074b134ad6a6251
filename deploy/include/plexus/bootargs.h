/*
 * plexus/bootargs.h — the plexus.* settings of a netboot node's kernel command line, as
 * plexus-init (the image's /init) reads them.
 *
 * Entry points: plx_bootargs_parse, plx_bootargs_has_role.
 *
 * The command line is words separated by spaces; a value may be double-quoted
 * (plexus.etcd="http://10.0.0.1:2379"), as the kernel itself allows. Words that do not start
 * with "plexus." belong to the kernel and are skipped. Keys (docs/deploy.md):
 *
 *   plexus.node=NAME        the node's name (letters, digits, _ and -, at most 58)
 *   plexus.etcd=URL[,URL]   etcd members (http:// or https://)
 *   plexus.etcd_peers=NAME=URL[,NAME=URL...]
 *                           on an etcd node of several: every member's name and peer URL
 *                           (its own among them); init starts a member of that cluster
 *   plexus.cluster=NAME     registry prefix (default "default")
 *   plexus.role=R[,R...]    free words; "etcd" makes init start an etcd member on the node
 *   plexus.addr=IP/PREFIX   a static address instead of DHCP (e.g. 10.0.0.5/24)
 *   plexus.gw=IP            with plexus.addr: the default gateway (optional)
 *   plexus.if=NAME          the interface to configure (default: the first that is not lo)
 *   plexus.log=URL          where init reports its boot stages (a GET of URL/NODE/STAGE)
 *   plexus.keys=URL         where init fetches the node's keys (plexus/keybundle.h); the node
 *                           then runs secured, and does not start without them
 *   plexus.shell=0|1        a shell on the console (default 1)
 *   plexus.dhcp_timeout=S   seconds to wait for a DHCP lease, 1..600 (default 30)
 *   plexus.lease_ttl=S      plexus-node's lease TTL, 1..3600 (default: plexus-node's)
 */
#ifndef PLEXUS_BOOTARGS_H
#define PLEXUS_BOOTARGS_H

#include <stdbool.h>
#include <stddef.h>

#define PLX_BOOTARGS_NAME_MAX 64
#define PLX_BOOTARGS_TEXT_MAX 1024

typedef struct plx_bootargs {
	char node[PLX_BOOTARGS_NAME_MAX];       /* "" when not given */
	char etcd[PLX_BOOTARGS_TEXT_MAX];       /* "" when not given */
	char etcd_peers[PLX_BOOTARGS_TEXT_MAX]; /* "" when not given */
	char cluster[PLX_BOOTARGS_NAME_MAX];    /* "default" when not given */
	char role[PLX_BOOTARGS_TEXT_MAX];       /* "" when not given */
	char addr[24];                          /* "IP/PREFIX", "" for DHCP */
	char gw[16];                            /* "" when not given */
	char iface[16];                         /* "" for the first interface that is not lo */
	char log[PLX_BOOTARGS_TEXT_MAX];        /* "" for no remote stage log */
	char keys[PLX_BOOTARGS_TEXT_MAX];       /* "" for plain links */
	bool shell;                             /* default true */
	int dhcp_timeout_s;                     /* default 30 */
	int lease_ttl_s;                        /* 0: plexus-node's default */
} plx_bootargs;

/* Parses cmdline (the contents of /proc/cmdline) into *out. Returns 0, or -EINVAL with err set
 * to one line naming the word and what was expected (an unknown plexus.* key, a bad value, an
 * unterminated quote); *out is untouched on failure. */
int plx_bootargs_parse(const char *cmdline, plx_bootargs *out, char *err, size_t size);

/* True when role (a comma-separated list) contains the word word. */
bool plx_bootargs_has_role(const plx_bootargs *self, const char *word);

#endif
