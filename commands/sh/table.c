/*
 * table.c — the shell's builtins: name to function, with the usage `help` prints (help is
 * here, beside the table it lists).
 *
 * Entry points: sh_builtin_find, sh_builtins, sh_b_help.
 */
#include <stdio.h>
#include <string.h>

#include "sh.h"

static const sh_builtin s_builtins[] = {
    {"cat", "[FILE...]", "copy files (or the input) to the output", sh_b_cat},
    {"cd", "[DIR]", "change the working directory (default /)", sh_b_cd},
    {"cp", "[-r] SRC... DEST", "copy files, host:PATH both ways; -r directories", sh_b_cp},
    {"dd", "[if=] [of=] [bs=] [count=] [skip=] [seek=]", "copy blocks (host: paths too)", sh_b_dd},
    {"df", "", "file systems and their space", sh_b_df},
    {"echo", "[-n] WORD...", "print words", sh_b_echo},
    {"exit", "[N]", "leave the shell", sh_b_exit},
    {"false", "", "fail", sh_b_false},
    {"head", "[-n N] [FILE...]", "the first lines", sh_b_head},
    {"help", "", "this list", sh_b_help},
    {"ln", "[-s] TARGET LINK", "a hard or symbolic link", sh_b_ln},
    {"ls", "[-l] [-a] [-d] [PATH...]", "list directories", sh_b_ls},
    {"mkdir", "[-p] DIR...", "make directories", sh_b_mkdir},
    {"mount", "[[-r] [-o OPTS] SOURCE TARGET FS]",
     "the mount table, or mount a file system (nodev,nosuid unless -o dev,suid)", sh_b_mount},
    {"mv", "SRC... DEST", "rename", sh_b_mv},
    {"nodes", "", "the cluster's nodes (plexus node ls)", sh_b_nodes},
    {"ps", "", "VFS's processes and their open files", sh_b_ps},
    {"pwd", "", "print the working directory", sh_b_pwd},
    {"rm", "[-r] [-f] PATH...", "remove files (-r: directories too)", sh_b_rm},
    {"rmdir", "DIR...", "remove empty directories", sh_b_rmdir},
    {"services", "", "the services RS keeps (plexus service list)", sh_b_services},
    {"stat", "PATH...", "a file's attributes", sh_b_stat},
    {"sync", "[-d|-f] [FILE...]",
     "write every file system back; FILEs: fsync them (-d fdatasync, -f their file systems)",
     sh_b_sync},
    {"tail", "[-n N] [FILE...]", "the last lines", sh_b_tail},
    {"touch", "PATH...", "make a file, or set its times to now", sh_b_touch},
    {"true", "", "succeed", sh_b_true},
    {"umount", "TARGET", "unmount a file system", sh_b_umount},
    {"wc", "[-l] [-w] [-c] [FILE...]", "count lines, words, bytes", sh_b_wc},
};

const sh_builtin *sh_builtin_find(const char *name)
{
	for (size_t i = 0; i < sizeof s_builtins / sizeof *s_builtins; i++)
		if (strcmp(s_builtins[i].name, name) == 0)
			return &s_builtins[i];
	return NULL;
}

const sh_builtin *sh_builtins(size_t *n)
{
	*n = sizeof s_builtins / sizeof *s_builtins;
	return s_builtins;
}

int sh_b_help(sh_io *io, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	size_t n;
	const sh_builtin *b = sh_builtins(&n);
	sh_printf(io,
	          "Builtins (paths are in Plexus; host:PATH names a host file for cp and dd):\n");
	for (size_t i = 0; i < n; i++) {
		char usage[64];
		snprintf(usage, sizeof usage, "%s %s", b[i].name, b[i].usage);
		sh_printf(io, "  %-34s %s\n", usage, b[i].summary);
	}
	sh_printf(io, "Syntax: ; && || | < > >> 2> 2>&1, 'quotes', \"quotes\", $?, # comments\n");
	return 0;
}
