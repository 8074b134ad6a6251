/*
 * main.c — the plexus command: one table from subcommand to handler.
 *
 * Entry points: main.
 *
 * Each handler gets the arguments after its own name and returns a sysexits.h code. `build`
 * and `test` are listed here but carried out by the ./plexus launcher at the top of the
 * source tree, because they build this very program.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include <plexus/deploy_cli.h>
#include <plexus/mkfs_cli.h>
#include <plexus/node_cli.h>
#include <plexus/registry_cli.h>
#include <plexus/rs_cli.h>
#include <plexus/sh_cli.h>
#include <plexus/trace_cli.h>
#include <plexus/up_cli.h>
#ifdef PLEXUS_DRILL
#include <plexus/drill_cli.h>
#endif
#ifdef PLEXUS_MOUNT
#include <plexus/mount_cli.h>
#endif
#ifdef PLEXUS_LAB
#include <plexus/lab_cli.h>
#endif

#include "commands.h"

typedef struct command {
	const char *name;
	const char *args;
	const char *summary;
	int (*fn)(int argc, char **argv);
	bool uses_system; /* talks to a running system: `plexus up`'s is found (plx_up_env) */
} command;

static int s_help(int argc, char **argv);
static int s_version(int argc, char **argv);

/* plexus node ls (the node kernels' records) or cycle NODE (RS's power backends). */
static int s_node(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "cycle") == 0)
			return plx_node_cycle_cli(argc, argv);
	return plx_node_cli(argc, argv);
}

static const command s_commands[] = {
    {"up", "[--tour|--no-tour] ...", "boot a single-node Plexus here and open its shell",
     plx_up_cli, false},
    {"down", "[--state-dir DIR]", "stop everything plexus up started", plx_down_cli, false},
    {"env", "[--state-dir DIR]", "shell lines that point programs at the running plexus up",
     plx_env_cli, false},
#ifdef PLEXUS_DRILL
    {"drill", "SCENARIO|soak|list", "a failover drill: faults under writers, every byte checked",
     plx_drill_cli, true},
#endif
#ifdef PLEXUS_MOUNT
    {"mount", "[-f] DIR", "mount the Plexus namespace on DIR (FUSE)", plx_mount_cli, false},
    {"umount", "DIR", "take a plexus mount down", plx_umount_cli, false},
#endif
    {"sh", "[-c SCRIPT] [FILE]", "the Plexus shell: ls, cat, cp, mount, ps... on Plexus files",
     plx_sh_cli, true},
    {"ds", "ls|get|put|watch ...", "the data store: keys, values, live changes", plx_ds_cli, true},
    {"ep", "ls", "the endpoint table: label, generation, node, address", plx_ep_cli, true},
    {"trace", "[-- COMMAND]|show FILE",
     "sequence diagrams of the message trace: HTML, SVG, Mermaid", plx_trace_cli, true},
    {"node", "ls|cycle NODE", "the nodes: address, age, load, services; a power cycle", s_node,
     true},
    {"service", "VERB [LABEL]", "services under RS: list, up, down, restart, refresh",
     plx_service_cli, true},
    {"keys", "init DIR [--etcd IPS] | operator DIR NAME FILE",
     "a rack's trust root, etcd authority, operators' certificates (docs/security.md)",
     plx_keys_cli, false},
    {"image", "build|info ...", "the netboot image: kernel + initramfs (docs/deploy.md)",
     plx_image_cli, false},
    {"pxe", "check|serve CLUSTER.INI", "the PXE server: dnsmasq + HTTP from the cluster file",
     plx_pxe_cli, false},
    {"qemu", "boot|cluster ...", "boot the image in QEMU: one VM, or N VMs by PXE", plx_qemu_cli,
     false},
    {"mkfs", "[-b N] [-i N] TARGET", "a new MINIX v3 file system (image or driver)", plx_mkfs_cli,
     true},
#ifdef PLEXUS_LAB
    {"lab", "list|start|check|stop N", "labs that grade themselves: do one, then check it",
     plx_lab_cli, false},
#endif
    {"bench", "NAME [--json]", "run a benchmark against its baseline (ipc, fs, boot...)", cmd_bench,
     false},
    {"version", "", "print the version", s_version, false},
    {"help", "", "show this help", s_help, false},
};

/* Commands the ./plexus launcher handles before this program runs. */
static const command s_launcher_commands[] = {
    {"build", "[PRESET]", "install packages, build dev|release|asan|fuzz (./plexus only)", NULL,
     false},
    {"test", "[ctest options]", "run every test, under ASan/UBSan and fuzzers too (./plexus only)",
     NULL, false},
    {"fuzz", "TARGET [--time S] [--runs N]|list", "run a fuzz target (./plexus only)", NULL, false},
};

static void s_list(FILE *out, const command *table, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char usage[64];
		snprintf(usage, sizeof usage, "%s %s", table[i].name, table[i].args);
		fprintf(out, "  %-28s %s\n", usage, table[i].summary);
	}
}

static void s_usage(FILE *out)
{
	fprintf(out, "usage: plexus COMMAND [ARGS...]\n"
	             "\n"
	             "Plexus is a multiserver operating system whose servers and drivers run on\n"
	             "separate, network-booted nodes.\n"
	             "\n"
	             "Commands:\n");
	s_list(out, s_commands, sizeof s_commands / sizeof *s_commands);
	s_list(out, s_launcher_commands, sizeof s_launcher_commands / sizeof *s_launcher_commands);
	fprintf(out,
	        "\n'plexus COMMAND --help' describes a command. Exit codes follow sysexits.h.\n");
}

static int s_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	s_usage(stdout);
	return EX_OK;
}

static int s_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("plexus %s\n", PLEXUS_VERSION);
	return EX_OK;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		s_usage(stderr);
		return EX_USAGE;
	}
	const char *name = argv[1];
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
		return s_help(0, NULL);
	if (strcmp(name, "--version") == 0)
		return s_version(0, NULL);
	for (size_t i = 0; i < sizeof s_commands / sizeof *s_commands; i++)
		if (strcmp(name, s_commands[i].name) == 0) {
			if (s_commands[i].uses_system)
				plx_up_env(NULL); /* before any thread starts */
			return s_commands[i].fn(argc - 1, argv + 1);
		}
	for (size_t i = 0; i < sizeof s_launcher_commands / sizeof *s_launcher_commands; i++)
		if (strcmp(name, s_launcher_commands[i].name) == 0) {
			fprintf(stderr,
			        "plexus: '%s' is run by the ./plexus launcher in the source "
			        "tree: ./plexus %s\n",
			        name, name);
			return EX_USAGE;
		}
	fprintf(stderr, "plexus: unknown command '%s' (see plexus --help)\n", name);
	return EX_USAGE;
}
