/*
 * plexus/cluster.h — the cluster description: which machines exist (name, MAC, address, power
 * backend) and which services run where (label, program, arguments, node, standby nodes,
 * restart policy, heartbeat period, dependencies). Read by plexus-rs and by `plexus pxe`.
 *
 * Entry points:
 *   plx_cluster_load, plx_cluster_parse, plx_cluster_destroy
 *   plx_cluster_find_node, plx_cluster_find_mac, plx_cluster_find_service, plx_cluster_extra
 *   plx_cluster_node_has_role
 *   plx_cluster_expand, plx_restart_name, plx_power_name
 *
 * The file is INI (Debian's libinih does the lexing), described in docs/reincarnation.md:
 *
 *   [cluster]
 *   name = lab                       ; registry prefix /plexus/lab/ (default "default")
 *   etcd = http://10.0.0.1:2379      ; etcd members, comma-separated
 *   lease_ttl = 2s                   ; the node leases' TTL, as given to plexus-node
 *
 *   [node n[1-8]]                    ; a range: n1..n8 (n[01-16] keeps the zero padding)
 *   mac = 52:54:00:00:00:01          ; the first node's; the others count up from it
 *   addr = 10.0.0.11                 ; likewise
 *   role = driver                    ; free words for tools (optional); "etcd": the node runs
 *                                    ; an etcd member (several form one cluster; plexus pxe)
 *   power = qemu                     ; none | netns | command | qemu
 *   power.qmp = /run/plexus/qmp-%n.sock
 *
 *   [service memory]
 *   program = plexus-memory
 *   args = --size 64M                ; words, '...' and "..." quoting
 *   env = PLEXUS_TRACE=1             ; repeatable
 *   node = n1
 *   standby = n2, n[3-4]
 *   spare = same                     ; a warm spare: same (the active's node) or a node name
 *   restart = always                 ; always | on-failure | never
 *   heartbeat = 1s                   ; 0 turns pings off
 *   depends = ds, vfs
 *   callers = vfs, mfs-*             ; who may call it (label patterns; default below)
 *
 * Every error names the file, the line and what was expected there, e.g.
 * "cluster.ini:12: mac \"52:54:zz\": expected six hex byte pairs like 52:54:00:12:34:56".
 * Sections other than cluster, node and service are errors, except those the caller names in
 * plx_cluster_opts.extra_sections, which are kept as key/value lines (plx_cluster_extra).
 *
 * The returned description is read-only and owned by the caller (plx_cluster_destroy). Fields
 * are only ever added to these structs, never removed or reordered.
 */
#ifndef PLEXUS_CLUSTER_H
#define PLEXUS_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PLX_CLUSTER_NAME_MAX  64   /* node and cluster names, service labels, with the NUL */
#define PLX_CLUSTER_TEXT_MAX  1024 /* etcd URLs, paths, command templates, with the NUL */
#define PLX_CLUSTER_MAX_NODES 4096

typedef enum plx_restart_policy {
	PLX_RESTART_ALWAYS = 0, /* restart after any exit the operator did not ask for */
	PLX_RESTART_ON_FAILURE, /* restart after a crash, a non-zero exit, a hang, a node death */
	PLX_RESTART_NEVER,      /* never restart */
} plx_restart_policy;

typedef enum plx_power_kind {
	PLX_POWER_NONE = 0, /* nothing to power-cycle with: services wait for the node */
	PLX_POWER_NETNS,    /* the network-namespace harness (tests): a request file in power.dir */
	PLX_POWER_COMMAND,  /* an operator's command (IPMI, a PDU, ...): power.cycle, power.timeout
	                     */
	PLX_POWER_QEMU,     /* QEMU's QMP socket: power.qmp */
} plx_power_kind;

typedef struct plx_cluster_node {
	char name[PLX_CLUSTER_NAME_MAX];
	uint8_t mac[6];
	char mac_text[18];               /* "52:54:00:00:00:01", lower case */
	char addr[16];                   /* dotted quad */
	uint32_t addr_be;                /* the same, network byte order */
	char role[PLX_CLUSTER_NAME_MAX]; /* "" when not given */
	plx_power_kind power;
	/* Backend settings; "%n" (name), "%m" (MAC), "%a" (address), "%%" are left for the user
	 * of the setting to expand (plx_cluster_expand). */
	char power_dir[PLX_CLUSTER_TEXT_MAX];   /* netns: where request files go */
	char power_cycle[PLX_CLUSTER_TEXT_MAX]; /* command: the power-cycle command template */
	char power_qmp[PLX_CLUSTER_TEXT_MAX];   /* qemu: the QMP unix socket path */
	int power_timeout_ms;                   /* command and qemu: time limit (default 30 s) */
	int line;                               /* where the node's section starts */
} plx_cluster_node;

typedef struct plx_cluster_service {
	char label[PLX_CLUSTER_NAME_MAX];
	char program[PLX_CLUSTER_TEXT_MAX];
	char **argv; /* argc words, NULL-terminated, argv[0] = program */
	size_t argc;
	char **env; /* nenv "NAME=VALUE" strings, NULL-terminated */
	size_t nenv;
	char node[PLX_CLUSTER_NAME_MAX];
	char (*standby)[PLX_CLUSTER_NAME_MAX]; /* nstandby node names, in preference order */
	size_t nstandby;
	/* A warm spare (docs/reincarnation.md "Warm spares"): has_spare; spare_node "" runs it
	 * on the active instance's node (spare = same), else on that node. */
	bool has_spare;
	char spare_node[PLX_CLUSTER_NAME_MAX];
	char (*depends)[PLX_CLUSTER_NAME_MAX]; /* ndepends labels */
	size_t ndepends;
	/* who may call it: label patterns; "": anyone. Not given for a file server (plexus-mfs,
	 * plexus-pfs): the file's VFS services; for a block driver (plexus-memory, plexus-vdisk):
	 * the services that depend on it, the VFS services and mkfs-*; "" when the file has none
	 * of those (docs/security.md "Who may call what"). */
	char callers[PLX_CLUSTER_TEXT_MAX];
	plx_restart_policy restart; /* default always */
	int heartbeat_ms;           /* default 5000; 0: no pings */
	int backoff_ms;             /* the backoff unit: waits are backoff * 2^restarts (1 s) */
	int backoff_cap_ms;         /* the longest wait (default 60 s) */
	int max_restarts;           /* crashes in a row before "given up" (default 10) */
	int init_retries;           /* failed initializations retried before "failed" (default 5) */
	int init_timeout_ms;        /* start to ready, else an init failure (default 30 s) */
	int stop_grace_ms;          /* SIGTERM to SIGKILL on `service down` (default 0: node's) */
	int line;                   /* where the service's section starts */
} plx_cluster_service;

/* One key = value line of an extra section (plx_cluster_opts.extra_sections). */
typedef struct plx_cluster_kv {
	const char *section; /* the whole section name, as written between the brackets */
	const char *key;
	const char *value;
	int line;
} plx_cluster_kv;

typedef struct plx_cluster {
	char name[PLX_CLUSTER_NAME_MAX]; /* default "default" */
	char etcd[PLX_CLUSTER_TEXT_MAX]; /* "" when not given */
	int lease_ttl_ms;                /* default 2000 */
	plx_cluster_node *nodes;         /* in file order, ranges expanded */
	size_t nnodes;
	plx_cluster_service *services; /* in dependency order: each after what it depends on */
	size_t nservices;
	plx_cluster_kv *extra; /* lines of extra sections, in file order */
	size_t nextra;
	struct plx_cluster_private *priv;
} plx_cluster;

typedef struct plx_cluster_opts {
	/* NULL-terminated names of sections the caller reads itself (e.g. "pxe"); NULL for none. */
	const char *const *extra_sections;
} plx_cluster_opts;

/* Reads and checks the file at path; opts may be NULL. Returns the description (caller owns
 * it), or NULL with errno (ENOENT, EACCES for an unreadable file, EINVAL for a bad one, ENOMEM)
 * and err set to one line "path:line: what, expected what" (or "path: why"). */
plx_cluster *plx_cluster_load(const char *path, const plx_cluster_opts *opts, char *err,
                              size_t size);
/* The same for text in memory; name stands for the file in messages. */
plx_cluster *plx_cluster_parse(const char *text, const char *name, const plx_cluster_opts *opts,
                               char *err, size_t size);
/* Frees the description and sets *self_p to NULL. Accepts NULL. */
void plx_cluster_destroy(plx_cluster **self_p);

/* True when role is one of the comma-separated words of node's role key ("etcd": the node
 * runs a member of the registry). */
bool plx_cluster_node_has_role(const plx_cluster_node *node, const char *role);
/* Returns the node called name, or NULL. */
const plx_cluster_node *plx_cluster_find_node(const plx_cluster *self, const char *name);
/* Returns the node with this MAC (6 bytes), or NULL. */
const plx_cluster_node *plx_cluster_find_mac(const plx_cluster *self, const uint8_t mac[6]);
/* Returns the service labelled label, or NULL. */
const plx_cluster_service *plx_cluster_find_service(const plx_cluster *self, const char *label);
/* Returns the value of key in extra section section (the last one given), or NULL. */
const char *plx_cluster_extra(const plx_cluster *self, const char *section, const char *key);

/* Expands a node setting's template into out (size bytes): %n name, %m MAC, %a address,
 * %% a percent sign. Returns the expanded length, -ENAMETOOLONG when out is too small, -EINVAL
 * for another character after %. */
int plx_cluster_expand(const plx_cluster_node *node, const char *templ, char *out, size_t size);

/* "always", "on-failure", "never"; "none", "netns", "command", "qemu". */
const char *plx_restart_name(plx_restart_policy policy);
const char *plx_power_name(plx_power_kind kind);

#endif
