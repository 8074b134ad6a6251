/*
 * cli_keys.c — `plexus keys init DIR [--etcd IPS]`: a cluster's trust root for a rack, and its
 * etcd's authority (docs/security.md "Keys on a rack"); `plexus keys operator DIR NAME FILE`:
 * an operator's certificate, so that the operator's commands need no root.key.
 *
 * Entry points: plx_keys_cli.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>

#include <plexus/etcd_tls.h>
#include <plexus/link_keys.h>
#include <plexus/registry_cli.h>

static const char s_usage[] =
    "usage: plexus keys init DIR [--etcd IP[,IP...]]\n"
    "       plexus keys operator DIR NAME FILE\n"
    "\n"
    "Makes the cluster's trust root in DIR (created, mode 0755): root.pub, the public key\n"
    "every component trusts (mode 0644), and root.key, the secret key that signs every\n"
    "certificate (mode 0600). A DIR that holds both is left as it is. Keep DIR on the machine\n"
    "that runs plexus-rs and plexus pxe serve: RS issues each service its keys, and the PXE\n"
    "server each node its own ([pxe] keys = DIR); root.key never leaves it. Give plexus-rs\n"
    "and the plexus commands PLEXUS_KEYS=DIR.\n"
    "--etcd also makes an authority for the cluster's etcd (etcd-ca.crt, etcd-ca.key 0600;\n"
    "made anew each time), a pair for an etcd serving at those addresses (etcd-server.*) and\n"
    "one for the commands here (etcd-client.*): the PXE server then certifies each node's\n"
    "etcd key too, and a role = etcd node serves https only. It also writes etcd's users'\n"
    "passwords, derived from root.key: etcd.password (root, mode 0600) and etcd.client\n"
    "(plexus-client, read-only, 0644). plexus-rs, given PLEXUS_KEYS=DIR, then makes an etcd\n"
    "user for each node and service, writing only its own records, and turns etcd's\n"
    "authentication on; each node gets its user from the PXE server. See docs/security.md.\n"
    "\n"
    "operator: issues operator NAME (1-32 of a-z 0-9 _ -) a key pair and a certificate for\n"
    "plexus-op-NAME into FILE (made, mode 0600), signed with DIR's root.key. Hand FILE to the\n"
    "operator (chown it), who runs the plexus commands with PLEXUS_OPERATOR=FILE and\n"
    "PLEXUS_KEYS naming a directory with root.pub (and etcd's client files): RS takes its\n"
    "management calls (plexus service, plexus node cycle, plexus drill) from plexus-op-*\n"
    "as from any operator's command, without the operator being able to read root.key.\n"
    "A certificate cannot be taken back but by a new trust root.\n";

/* The etcd authority and pairs in dir for the comma-separated addresses. */
static int s_etcd(const char *dir, const char *list)
{
	char copy[512], err[4096 + 128], key[4096 + 32];
	const char *ips[8];
	size_t n = 0;
	snprintf(copy, sizeof copy, "%s", list);
	for (char *save = NULL, *ip = strtok_r(copy, ",", &save); ip && n < 8;
	     ip = strtok_r(NULL, ",", &save))
		ips[n++] = ip;
	if (plx_etcd_tls_make(dir, ips, n, err, sizeof err) < 0) {
		fprintf(stderr, "plexus keys: etcd's authority: %s\n", err);
		return EX_DATAERR;
	}
	snprintf(key, sizeof key, "%s/etcd-client.key", dir);
	chmod(key, 0600); /* this operator's alone */
	if (plx_etcd_passwords_write(dir, err, sizeof err) < 0) {
		fprintf(stderr, "plexus keys: etcd's passwords: %s\n", err);
		return EX_CANTCREAT;
	}
	printf("Made an etcd authority in %s: etcd-ca.crt, etcd-ca.key (mode 0600), etcd-server.* "
	       "for %s, etcd-client.*; etcd's passwords etcd.password (root, mode 0600) and "
	       "etcd.client\n",
	       dir, list);
	return EX_OK;
}

/* plexus keys operator DIR NAME FILE */
static int s_operator(const char *dir, const char *name, const char *path)
{
	char err[4096 + 256];
	if (plx_link_operator_issue(dir, name, path, err, sizeof err) < 0) {
		fprintf(stderr, "plexus keys operator: %s\n", err);
		return errno == EACCES ? EX_NOPERM : EX_CANTCREAT;
	}
	printf("Issued operator %s (plexus-op-%s) in %s (mode 0600): give it to them; their\n"
	       "commands run with PLEXUS_OPERATOR=%s\n",
	       name, name, path, path);
	return EX_OK;
}

int plx_keys_cli(int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(s_usage, stdout);
		return EX_OK;
	}
	if (argc == 5 && strcmp(argv[1], "operator") == 0)
		return s_operator(argv[2], argv[3], argv[4]);
	bool etcd = argc == 5 && strcmp(argv[3], "--etcd") == 0;
	if ((argc != 3 && !etcd) || strcmp(argv[1], "init") != 0) {
		fputs(s_usage, stderr);
		return EX_USAGE;
	}
	char err[4096 + 128];
	struct stat st;
	char key[4096 + 16];
	snprintf(key, sizeof key, "%s/root.key", argv[2]);
	bool had = stat(key, &st) == 0;
	if (plx_link_keys_make(argv[2], err, sizeof err) < 0) {
		fprintf(stderr, "plexus keys: %s\n", err);
		return errno == EACCES ? EX_NOPERM : EX_CANTCREAT;
	}
	printf("%s trust root in %s: root.pub (share it), root.key (mode 0600, keep it here)\n",
	       had ? "Kept the" : "Made a new", argv[2]);
	return etcd ? s_etcd(argv[2], argv[4]) : EX_OK;
}
