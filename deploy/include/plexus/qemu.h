/*
 * plexus/qemu.h — QEMU launchers: one VM booting the image directly, and a PXE cluster of VMs
 * on a bridge inside a private network namespace.
 *
 * Entry points: plx_vm_argv, plx_vm_argv_free, plx_qcluster_new, plx_qcluster_destroy,
 * plx_qcluster_start_vm, plx_qcluster_start_vm_direct, plx_qcluster_wait_nodes, plx_qcluster_dir,
 * plx_qcluster_etcd, plx_qcluster_name, plx_qcluster_failed, plx_qcluster_node_generation,
 * plx_qcluster_netns, plx_qcluster_kill_vm, plx_qcluster_supervise, plx_qcluster_vm_pid,
 * plx_qcluster_disk, plx_qcluster_fs_services, plx_qcluster_start_rs, plx_qcluster_services,
 * plx_qcluster_wait_ready, plx_qemu_disk, plx_wait_file_text, plx_qemu_accel.
 *
 * Every VM runs under TCG unless a probe proved KVM works (plx_qemu_accel; nested KVM can
 * hang), with no display, its serial console on a unix socket
 * (DIR/NAME.console) whose output is also logged to DIR/NAME.log, and a QMP socket
 * (DIR/NAME.qmp) for RS's qemu power backend.
 *
 * The cluster: a network-namespace harness (tests/netns) with etcd on its hub, a tap per VM on
 * the hub's bridge, dnsmasq and busybox httpd in the hub serving files plx_pxe_write made
 * from a cluster file written for the VMs (nodes vm1..vmN, MACs 52:54:00:TT:TT:0i, addresses
 * <subnet>.(100+i), power = qemu). Nothing leaves the namespaces. plx_qcluster_destroy (and
 * the harness's signal and exit handlers) kill the VMs and servers and remove everything.
 */
#ifndef PLEXUS_QEMU_H
#define PLEXUS_QEMU_H

#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct plx_vm_opts {
	const char *name;   /* used for the socket and log names */
	const char *dir;    /* where they go */
	const char *kernel; /* direct boot: kernel, initrd, append; NULL: boot from the network */
	const char *initrd;
	const char *append;
	bool uefi;            /* OVMF firmware instead of SeaBIOS */
	const char *mac;      /* NULL: QEMU's default */
	const char *tap;      /* a tap device to use; NULL: user networking, isolated */
	const char *etcd_fwd; /* user networking: host "IP:PORT" the guest reaches at
	                         10.0.2.100:2379 (one busybox nc per connection) */
	int memory_mb;        /* default 256 */
	int cpus;             /* default 1 */
	bool interactive;     /* serial console and monitor on stdio (Ctrl-a x leaves); with dir
	                         set the console is also logged to DIR/NAME.log */
	const char *disk;     /* a raw disk image attached as a virtio drive (/dev/vda), or NULL */
	bool powered_off;     /* -S: the VM waits, off, until QMP's cont (or system_reset + cont
	                         from RS's qemu power backend) switches it on */
} plx_vm_opts;

/* The accelerator VMs use: $PLEXUS_QEMU_ACCEL when set; else "kvm" when /dev/kvm is there and
 * a probe boot under KVM printed the kernel's banner within 5 s (run once per process); else
 * "tcg". */
const char *plx_qemu_accel(void);

/* The QEMU command line for o, NULL-terminated (caller frees with plx_vm_argv_free). Returns
 * NULL with errno ENOMEM. */
char **plx_vm_argv(const plx_vm_opts *o);
void plx_vm_argv_free(char ***argv_p);

typedef struct plx_qcluster plx_qcluster;

typedef struct plx_qcluster_opts {
	int nodes;           /* 1..16 VMs */
	const char *image;   /* an image directory (plexus image build) */
	const char *cluster; /* registry name; NULL: "qemu" */
	int memory_mb;       /* per VM; default 256 */
	/* Virtio disks: disks[i] for VM i (NULL: none) is a size ("64M", "1G", "65536K") for an
	 * image made in the run directory, or a file's path (made with 64 MiB when missing and
	 * kept). A new image is formatted once with MINIX FS v3 (mkfs.minix -3); the VM sees it
	 * as /dev/vda, and keeps it across resets and relaunches. */
	const char *disks[16];
	/* More cluster file text (e.g. [service ...] sections placing services on vm1..vmN)
	 * appended to cluster.ini and rs.ini; NULL for none. */
	const char *services;
	/* false (the default): secured links. A trust root is made in the run directory and
	 * set as PLEXUS_KEYS in this process (RS, the CLI and clients it starts or makes trust
	 * it and sign their own certificates); each VM makes its key pair at boot and gets a
	 * certificate for node.NAME ([pxe] keys, docs/security.md "Keys on a rack"). true: plain
	 * links. */
	bool insecure;
	/* The plexus command the PXE server's keys CGI runs (plexus pxe issue); NULL: this
	 * program, which must then be plexus. */
	const char *cli;
	/* etcd's members in the hub: 1 (0 means 1), 3 or 5; every VM and RS get them all. */
	int etcd_members;
	/* true: no etcd in the hub; the VMs (1, 3 or 5, an image built with etcd, memory for
	 * it) are role = etcd nodes whose plexus-init starts the members, one cluster, every
	 * node given them all ([pxe] keys with etcd's authority made here: https). */
	bool vm_etcd;
} plx_qcluster_opts;

/* Builds the namespaces, etcd, the PXE server's files and servers, and a tap per VM (no VM
 * started yet). Returns the cluster or NULL with err set. Root only. */
plx_qcluster *plx_qcluster_new(const plx_qcluster_opts *o, char *err, size_t size);
/* Kills the VMs and servers and removes the namespaces and files (kept when failed). */
void plx_qcluster_destroy(plx_qcluster **self_p);
/* Keep the logs when destroyed. */
void plx_qcluster_failed(plx_qcluster *self);
/* Powers on VM i (0-based; node vm<i+1>), booting by PXE through BIOS or UEFI firmware.
 * Returns 0 or a negative errno. */
int plx_qcluster_start_vm(plx_qcluster *self, int i, bool uefi);
/* Powers on VM i booting the image directly (-kernel/-initrd, the node's kernel command line
 * from its iPXE script) on the same network: DHCP from the same dnsmasq, no PXE. The
 * baseline of `plexus bench boot`. Returns 0 or a negative errno. */
int plx_qcluster_start_vm_direct(plx_qcluster *self, int i);
/* Cuts VM i's power: SIGKILLs its QEMU process and reaps it, then starts a new QEMU for the
 * same machine (MAC, disk, QMP and console sockets) powered off (-S), as a machine whose
 * power came back and which waits for its power controller: RS's qemu power backend
 * (system_reset, cont) switches it on and it netboots again. Returns 0 or a negative errno. */
int plx_qcluster_kill_vm(plx_qcluster *self, int i);
/* Reaps VMs whose QEMU ended on its own (a poweroff, a crash) and starts them again powered
 * off, as plx_qcluster_kill_vm does. Returns how many. */
int plx_qcluster_supervise(plx_qcluster *self);
/* The QEMU process of VM i (0 when none), and the path of its disk image ("" when none). */
pid_t plx_qcluster_vm_pid(const plx_qcluster *self, int i);
const char *plx_qcluster_disk(const plx_qcluster *self, int i);
/* Waits until nodes/vm<i+1> exists in etcd for every i with mask bit i set. Returns 0 or
 * -ETIMEDOUT. */
int plx_qcluster_wait_nodes(plx_qcluster *self, unsigned mask, int timeout_ms);
/* Sets *generation to the node kernel generation in the record nodes/vm<i+1> (a plexus-node
 * that starts again gets a higher one). Returns 0, -ENOENT (no record) or another negative
 * errno. */
int plx_qcluster_node_generation(plx_qcluster *self, int i, int64_t *generation);
/* The network-namespace harness under the cluster (to run more programs in its hub). */
struct netns_cluster *plx_qcluster_netns(plx_qcluster *self);
/* The run directory (cluster.ini — also rs.ini, the same without [pxe] — pxe/, VM logs and
 * sockets). */
const char *plx_qcluster_dir(const plx_qcluster *self);
/* The etcd URL (reachable inside the hub only). */
const char *plx_qcluster_etcd(const plx_qcluster *self);
/* The registry name. */
const char *plx_qcluster_name(const plx_qcluster *self);

/* Makes the disk image spec names (as plx_qcluster_opts.disks: a size such as "64M" for
 * DIR/NAME.img, else a file's path, 64 MiB when missing) unless it exists, formatting a new
 * one with MINIX FS v3 (mkfs.minix -3); writes its path into path. Returns 0 or a negative
 * errno with err set. */
int plx_qemu_disk(const char *spec, const char *dir, const char *name, char *path, size_t cap,
                  char *err, size_t size);

/* The file system on a QEMU cluster of nodes VMs, as cluster file [service] sections for
 * plx_qcluster_opts.services (programs in the image's /usr/bin): plexus-vfs ("vfs", root file
 * system "mfs" on "vdisk" minor 0) and plexus-pfs ("pfs") on vm1, plexus-mfs ("mfs") on vm2,
 * plexus-vdisk ("vdisk") over /dev/vda on vm3 (fewer VMs: the same in order, the last VM
 * taking the rest). Writes the text into out and returns the index of the VM that needs the
 * disk, or -ENOSPC. */
int plx_qcluster_fs_services(int nodes, char *out, size_t size);

/* Starts plexus-rs (the program rs_bin) in the hub on DIR/rs.ini as instance name, reachable
 * at the hub's address: it places the [service] sections on the VMs and power-cycles dead VMs
 * through QMP. Start it once the VMs registered (a node RS never saw is one it powers on).
 * It is killed with the cluster. Returns 0 or a negative errno (netns_error() says why). */
int plx_qcluster_start_rs(plx_qcluster *self, const char *rs_bin, const char *name);

/* Stops the cluster in order, printing each step to out: the services through RS (the
 * `plexus` command cli_bin runs `service down` in the hub for each, dependents first), then
 * RS, then every VM's power button (QMP system_powerdown: its plexus-init stops what is left
 * in order and powers off), waiting for each QEMU to end (SIGKILL after 2 minutes). Call it
 * before plx_qcluster_destroy, which cuts the power of whatever still runs. */
void plx_qcluster_shutdown(plx_qcluster *self, const char *cli_bin, FILE *out);

/* The services' state as RS publishes it (svc/<label>). */
typedef struct plx_qcluster_svcs {
	int placed;      /* [service] sections in plx_qcluster_opts.services */
	int total, up;   /* svc/ records, and how many say "up" */
	char text[4096]; /* "  label: record\n" per service */
} plx_qcluster_svcs;

/* Reads the svc/ records into *out. Returns 0 or a negative errno. */
int plx_qcluster_services(plx_qcluster *self, plx_qcluster_svcs *out);
/* Waits until the cluster is ready: every placed service has a record and every record is
 * up. Returns 0 or -ETIMEDOUT (*out holds the last reading either way). */
int plx_qcluster_wait_ready(plx_qcluster *self, plx_qcluster_svcs *out, int timeout_ms);

/* Waits up to timeout_ms for the file at path to contain text. Returns 0 or -ETIMEDOUT. */
int plx_wait_file_text(const char *path, const char *text, int timeout_ms);

#endif
