/*
 * cli_keys.c — `plexus keys init DIR`: a cluster's trust root for a rack (docs/security.md
 * "Keys on a rack").
 *
 * Entry points: plx_keys_cli.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>

#include <plexus/link_keys.h>
#include <plexus/registry_cli.h>

static const char s_usage[] =
    "usage: plexus keys init DIR\n"
    "\n"
    "Makes the cluster's trust root in DIR (created, mode 0755): root.pub, the public key\n"
    "every component trusts (mode 0644), and root.key, the secret key that signs every\n"
    "certificate (mode 0600). A DIR that holds both is left as it is. Keep DIR on the machine\n"
    "that runs plexus-rs and plexus pxe serve: RS issues each service its keys, and the PXE\n"
    "server each node its own ([pxe] keys = DIR); root.key never leaves it. Give plexus-rs\n"
    "and the plexus commands PLEXUS_KEYS=DIR. See docs/security.md.\n";

int plx_keys_cli(int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(s_usage, stdout);
		return EX_OK;
	}
	if (argc != 3 || strcmp(argv[1], "init") != 0) {
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
	return EX_OK;
}
