/*
 * opts.c — the builtins' option reader: reentrant (pipeline stages run at once, so getopt's
 * global state will not do).
 *
 * Entry points: sh_getopts.
 */
#include <string.h>

#include "sh.h"

/* Takes the letters of one "-abc" word; returns 0, 1 when a value was taken from the next
 * word, or -1 after printing the error. */
static int s_group(sh_io *io, char **argv, int i, const char *spec, sh_opts *o)
{
	for (const char *c = argv[i] + 1; *c; c++) {
		const char *at = (unsigned char)*c < 128 && *c != ':' ? strchr(spec, *c) : NULL;
		if (!at) {
			sh_eprintf(io, "%s: unknown option -%c\n", io->name, *c);
			return -1;
		}
		o->set[(int)*c] = true;
		if (at[1] != ':')
			continue;
		if (c[1]) {
			o->value[(int)*c] = c + 1;
			return 0;
		}
		if (!argv[i + 1]) {
			sh_eprintf(io, "%s: -%c needs a value\n", io->name, *c);
			return -1;
		}
		o->value[(int)*c] = argv[i + 1];
		return 1;
	}
	return 0;
}

int sh_getopts(sh_io *io, int argc, char **argv, const char *spec, sh_opts *o)
{
	memset(o, 0, sizeof *o);
	int i = 1;
	while (i < argc && argv[i][0] == '-' && argv[i][1]) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		int rc = s_group(io, argv, i, spec, o);
		if (rc < 0)
			return 2;
		i += 1 + rc;
	}
	o->next = i;
	return 0;
}
