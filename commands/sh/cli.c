/*
 * cli.c — `plexus sh`: options, the connection to VFS, and where commands come from (-c, a
 * host file, standard input, or a terminal with libedit's line editing and history).
 *
 * Entry points: plx_sh_cli.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <editline/readline.h>

#include <plexus/sh_cli.h>

#include "sh.h"

static void s_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: plexus sh [-c SCRIPT] [FILE] [--etcd URL] [--cluster NAME] [--node NAME]\n"
	    "                 [--vfs LABEL] [--timeout MS]\n\n"
	    "The Plexus shell: commands on the files of the Plexus namespace, as one client\n"
	    "of VFS (docs/using.md \"The shell\"). Runs SCRIPT, the host file FILE, the\n"
	    "script on standard input, or reads commands from the terminal with line editing\n"
	    "and history (~/.plexus_history), the prompt showing the working directory.\n\n"
	    "Syntax: words, 'single' and \"double\" quotes, ; && || | < > >> 2> 2>&1, $?, #,\n"
	    "and file name patterns * ? [...] (matched in Plexus; host:PATTERN on the host).\n"
	    "Pipes are Plexus pipes; redirections name Plexus files. Type 'help' for the\n"
	    "builtins: ls cat echo cp mv rm mkdir rmdir ln stat df mount umount touch head\n"
	    "tail wc dd sync cd pwd nodes services ps (cp and dd take host:PATH for a host\n"
	    "file).\n\n"
	    "Options:\n"
	    "  -c SCRIPT        run SCRIPT and exit with its status\n"
	    "  --etcd URL[,..]  the registry (default $PLEXUS_ETCD, else http://127.0.0.1:2379)\n"
	    "  --cluster NAME   the cluster (default $PLEXUS_CLUSTER, else default)\n"
	    "  --node NAME      the node this shell says it runs on (default $PLEXUS_NODE,\n"
	    "                   else the host name)\n"
	    "  --vfs LABEL      VFS's label (default vfs)\n"
	    "  --timeout MS     how long a call that does not wait may take (default 10000)\n"
	    "  -h, --help       this text\n");
}

typedef struct cli {
	plexus_opts opts;
	const char *script;
	const char *file;
} cli;

static int s_args(cli *c, int argc, char **argv)
{
	static const struct option longs[] = {{"etcd", required_argument, NULL, 'e'},
	                                      {"cluster", required_argument, NULL, 'C'},
	                                      {"node", required_argument, NULL, 'n'},
	                                      {"vfs", required_argument, NULL, 'v'},
	                                      {"timeout", required_argument, NULL, 't'},
	                                      {"help", no_argument, NULL, 'h'},
	                                      {NULL, 0, NULL, 0}};
	plexus_opts_init(&c->opts);
	c->opts.name = "plexus-sh";
	optind = 0;
	int opt;
	while ((opt = getopt_long(argc, argv, "+:c:h", longs, NULL)) != -1) {
		switch (opt) {
		case 'c':
			c->script = optarg;
			break;
		case 'e':
			c->opts.etcd = optarg;
			break;
		case 'C':
			c->opts.cluster = optarg;
			break;
		case 'n':
			c->opts.node = optarg;
			break;
		case 'v':
			c->opts.vfs = optarg;
			break;
		case 't':
			if ((c->opts.timeout_ms = atoi(optarg)) <= 0) {
				fprintf(stderr, "plexus sh: --timeout takes milliseconds > 0\n");
				return EX_USAGE;
			}
			break;
		case 'h':
			s_usage(stdout);
			return -1;
		default:
			fprintf(stderr, "plexus sh: %s %s\n", argv[optind - 1],
			        opt == ':' ? "needs a value" : "is not an option");
			s_usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind < argc)
		c->file = argv[optind++];
	if (optind < argc || (c->file && c->script)) {
		fprintf(stderr, "plexus sh: too many arguments\n");
		return EX_USAGE;
	}
	return 0;
}

/* Reads all of a host stream; NULL on failure. */
static char *s_slurp(FILE *in)
{
	char *text = NULL;
	size_t size = 0;
	FILE *mem = open_memstream(&text, &size);
	if (!mem)
		return NULL;
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		fwrite(buf, 1, n, mem);
	bool ok = !ferror(in);
	fclose(mem);
	if (!ok) {
		free(text);
		return NULL;
	}
	return text;
}

static int s_run_stream(sh_shell *shell, FILE *in)
{
	char *text = s_slurp(in);
	if (!text) {
		fprintf(stderr, "plexus sh: reading the script: %s\n", strerror(errno));
		return EX_NOINPUT;
	}
	int status = sh_run_text(shell, text);
	free(text);
	return status;
}

static int s_run_file(sh_shell *shell, const char *path)
{
	FILE *in = fopen(path, "r");
	if (!in) {
		fprintf(stderr, "plexus sh: %s: %s\n", path, strerror(errno));
		return EX_NOINPUT;
	}
	int status = s_run_stream(shell, in);
	fclose(in);
	return status;
}

/* The terminal: a prompt with the working directory, line editing, history. */
static int s_interactive(sh_shell *shell)
{
	char *history = NULL;
	const char *home = getenv("HOME");
	if (home && asprintf(&history, "%s/.plexus_history", home) < 0)
		history = NULL;
	using_history();
	if (history)
		read_history(history);
	while (!shell->exit) {
		char *cwd = plexus_getcwd(shell->px, NULL, 0), prompt[4200];
		snprintf(prompt, sizeof prompt, "plexus:%s$ ", cwd ? cwd : "?");
		free(cwd);
		signal(SIGINT, SIG_IGN); /* ^C at the prompt does not end the shell */
		char *line = readline(prompt);
		signal(SIGINT, SIG_DFL); /* a builtin that waits can still be interrupted */
		if (!line)
			break;
		if (line[strspn(line, " \t")]) {
			add_history(line);
			sh_run_text(shell, line);
		}
		free(line);
	}
	if (history) {
		write_history(history);
		free(history);
	}
	if (!shell->exit)
		printf("\n");
	return shell->status;
}

/* Says why VFS cannot be reached: errno and what libplexus adds. */
static void s_unreachable(void)
{
	const char *detail = plexus_connect_error();
	fprintf(stderr, "plexus sh: cannot reach VFS: %s%s%s\n", strerror(errno),
	        *detail ? ": " : "", detail);
}

int plx_sh_cli(int argc, char **argv)
{
	cli c = {0};
	int rc = s_args(&c, argc, argv);
	if (rc)
		return rc < 0 ? EX_OK : rc;
	sh_shell shell = {.etcd = c.opts.etcd, .cluster = c.opts.cluster};
	if (!(shell.px = plexus_connect(&c.opts))) {
		s_unreachable(); /* errno, and libplexus's detail if any */
		return EX_UNAVAILABLE;
	}
	int status;
	if (c.script)
		status = sh_run_text(&shell, c.script);
	else if (c.file)
		status = s_run_file(&shell, c.file);
	else if (isatty(STDIN_FILENO))
		status = s_interactive(&shell);
	else
		status = s_run_stream(&shell, stdin);
	plexus_disconnect(&shell.px);
	return status;
}
