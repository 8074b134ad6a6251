/*
 * cli_pxe.c — `plexus pxe check` and `plexus pxe serve`.
 *
 * Entry points: plx_pxe_cli.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include <plexus/cluster.h>
#include <plexus/deploy_cli.h>
#include <plexus/pxe.h>

static const char s_usage[] =
    "usage: plexus pxe check CLUSTER.INI\n"
    "       plexus pxe serve CLUSTER.INI [--dir DIR] [--dry-run]\n"
    "       plexus pxe issue KEYS NODE ADDR HEX ETCD_HEX [member]\n"
    "\n"
    "check: validates the cluster description and its [pxe] section and explains what every\n"
    "node will get: its address, boot files, kernel command line and services. Exit 0 when\n"
    "nothing is wrong, 65 (EX_DATAERR) when a boot would fail, 78 (EX_CONFIG) for a bad file.\n"
    "serve: writes the PXE server's files into DIR (default /run/plexus/pxe-CLUSTER) and runs\n"
    "dnsmasq (DHCP or proxy DHCP, TFTP for iPXE only) and busybox httpd (boot scripts, kernel,\n"
    "initramfs) in the foreground, their logs on standard error, until SIGINT or SIGTERM.\n"
    "--dry-run writes the files and prints the two commands instead. Needs root.\n"
    "With [pxe] keys, each node gets a certificate at boot for the key pair it makes.\n"
    "issue: what the keys CGI runs for a node: a CGI answer with a certificate for node.NODE\n"
    "and the CURVE key HEX spells (its Z85 text in hex), signed with KEYS/root.key, and an\n"
    "etcd certificate for the key ETCD_HEX spells (PEM in hex), for ADDR too, when KEYS holds\n"
    "etcd's authority (plexus keys init --etcd); with member (a role = etcd node) that\n"
    "certificate's common name is etcd, which the members' peer ports demand.\n"
    "See docs/operators.md.\n";

static plx_cluster *s_load(const char *path, plx_pxe_settings *s, int *code)
{
	char err[1024];
	plx_cluster_opts o = {.extra_sections = plx_pxe_extra_sections};
	plx_cluster *c = plx_cluster_load(path, &o, err, sizeof err);
	if (!c) {
		fprintf(stderr, "plexus pxe: %s\n", err);
		*code = errno == EINVAL ? EX_CONFIG : EX_NOINPUT;
		return NULL;
	}
	if (plx_pxe_settings_read(c, s, err, sizeof err) < 0) {
		fprintf(stderr, "plexus pxe: %s: %s\n", path, err);
		plx_cluster_destroy(&c);
		*code = EX_CONFIG;
		return NULL;
	}
	return c;
}

static int s_check(int argc, char **argv)
{
	if (argc != 2) {
		fputs(s_usage, stderr);
		return EX_USAGE;
	}
	plx_pxe_settings s;
	int code;
	plx_cluster *c = s_load(argv[1], &s, &code);
	if (!c)
		return code;
	int problems = plx_pxe_check(c, &s, stdout);
	plx_cluster_destroy(&c);
	return problems ? EX_DATAERR : EX_OK;
}

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
	s_stop = sig;
}

static pid_t s_start(char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "plexus pxe: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

static int s_serve(int argc, char **argv)
{
	const char *file = NULL, *dir = NULL;
	bool dry = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--dry-run") == 0)
			dry = true;
		else if (argv[i][0] != '-' && !file)
			file = argv[i];
		else {
			fputs(s_usage, stderr);
			return EX_USAGE;
		}
	}
	if (!file) {
		fputs(s_usage, stderr);
		return EX_USAGE;
	}
	plx_pxe_settings s;
	int code;
	plx_cluster *c = s_load(file, &s, &code);
	if (!c)
		return code;
	char defdir[128], err[1024];
	snprintf(defdir, sizeof defdir, "/run/plexus/pxe-%s", c->name);
	if (!dir) {
		dir = defdir;
		mkdir("/run/plexus", 0755);
	}
	int r = plx_pxe_write(c, &s, dir, err, sizeof err);
	plx_cluster_destroy(&c);
	if (r < 0) {
		fprintf(stderr, "plexus pxe serve: %s\n", err);
		return EX_CANTCREAT;
	}
	char conf[1200], root[1200], listen[64];
	snprintf(conf, sizeof conf, "--conf-file=%s/dnsmasq.conf", dir);
	snprintf(root, sizeof root, "%s/http", dir);
	snprintf(listen, sizeof listen, "%s:%d", s.server, s.http_port);
	char *dnsmasq[] = {"dnsmasq", "--keep-in-foreground", conf, NULL};
	char *httpd[] = {"busybox", "httpd", "-f", "-vv", "-p", listen, "-h", root, NULL};
	if (dry) {
		printf("files written to %s\n%s %s %s\n%s %s %s %s %s %s %s %s\n", dir, dnsmasq[0],
		       dnsmasq[1], dnsmasq[2], httpd[0], httpd[1], httpd[2], httpd[3], httpd[4],
		       httpd[5], httpd[6], httpd[7]);
		return EX_OK;
	}
	signal(SIGINT, s_on_signal);
	signal(SIGTERM, s_on_signal);
	pid_t d = s_start(dnsmasq), h = s_start(httpd);
	fprintf(stderr, "plexus pxe: serving %s from %s (dnsmasq pid %d, httpd pid %d on %s)\n",
	        file, dir, (int)d, (int)h, listen);
	int status = 0;
	pid_t gone = -1;
	while (!s_stop && (gone = wait(&status)) != d && gone != h)
		if (gone < 0 && errno != EINTR)
			break;
	kill(d, SIGTERM);
	kill(h, SIGTERM);
	while (wait(NULL) > 0 || errno == EINTR)
		continue;
	if (s_stop)
		return EX_OK;
	fprintf(stderr, "plexus pxe: %s exited; stopped\n", gone == d ? "dnsmasq" : "httpd");
	return EX_UNAVAILABLE;
}

int plx_pxe_cli(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "check") == 0)
		return s_check(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "serve") == 0)
		return s_serve(argc - 1, argv + 1);
	if ((argc == 7 || (argc == 8 && strcmp(argv[7], "member") == 0)) &&
	    strcmp(argv[1], "issue") == 0)
		return plx_pxe_keys_issue(argv[2], argv[3], argv[4], argv[5], argv[6], argc == 8,
		                          stdout) < 0
		           ? EX_DATAERR
		           : EX_OK;
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(s_usage, stdout);
		return EX_OK;
	}
	fputs(s_usage, stderr);
	return EX_USAGE;
}
