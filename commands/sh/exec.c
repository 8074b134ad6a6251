/*
 * exec.c — running what the parser made: redirections, pipelines of threads joined by Plexus
 * pipes, ";", "&&", "||" and $?.
 *
 * Entry points: sh_run_script, sh_run_text.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sh.h"

/* One command of a pipeline as it runs. */
typedef struct stage {
	sh_io io;
	const sh_cmd *cmd;
	char **argv; /* with $? put in and patterns expanded */
	int argc;
	sh_fd own[2];    /* pipe ends this stage closes when done (fd -1: none) */
	sh_fd opened[8]; /* descriptors its redirections opened */
	int nopened;
	int status;
	bool queued; /* handed to the pool; done says when it finished */
	bool done;
	struct stage *next_job;
} stage;

/* The pool that runs pipeline stages. Its threads live as long as the process: the transport
 * keeps a connection per thread and endpoint until the endpoint goes, so a thread per stage
 * would leave some behind with every pipeline. It grows to the widest pipeline run. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t work; /* a job was queued */
	pthread_cond_t done; /* a job finished */
	stage *head, *tail;
	int idle;   /* threads waiting for work */
	int queued; /* jobs not taken yet */
} s_pool = {.lock = PTHREAD_MUTEX_INITIALIZER,
            .work = PTHREAD_COND_INITIALIZER,
            .done = PTHREAD_COND_INITIALIZER};

/* The word with every $? mark replaced by status. */
static char *s_expand(const char *word, int status)
{
	if (!strchr(word, SH_STATUS_MARK))
		return strdup(word);
	char num[16];
	int nlen = snprintf(num, sizeof num, "%d", status);
	char *out = malloc(strlen(word) * (size_t)nlen + 1), *o = out;
	if (!out)
		return NULL;
	for (const char *c = word; *c; c++) {
		if (*c == SH_STATUS_MARK) {
			memcpy(o, num, (size_t)nlen);
			o += nlen;
		} else {
			*o++ = *c;
		}
	}
	*o = 0;
	return out;
}

static void s_free_argv(char **argv)
{
	for (int i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

/* Appends word to argv (count *n, room *cap), taking it. */
static int s_push_word(char ***argv, size_t *n, size_t *cap, char *word)
{
	if (*n + 1 >= *cap) {
		size_t c = *cap ? *cap * 2 : 8;
		char **v = realloc(*argv, c * sizeof *v);
		if (!v) {
			free(word);
			return -ENOMEM;
		}
		*argv = v;
		*cap = c;
	}
	(*argv)[(*n)++] = word;
	return 0;
}

/* One word of the command, $? put in, and a pattern replaced by the names it matches. */
static int s_word(stage *st, int i, int status, char ***argv, size_t *n, size_t *cap)
{
	const sh_cmd *cmd = st->cmd;
	char *word = s_expand(cmd->argv[i], status);
	if (!word)
		return -ENOMEM;
	if (!cmd->patterns || !cmd->patterns[i])
		return s_push_word(argv, n, cap, word);
	char *pattern = s_expand(cmd->patterns[i], status);
	int rc = pattern ? sh_glob(&st->io, pattern, argv, n, cap) : -ENOMEM;
	free(pattern);
	if (rc == -E2BIG)
		sh_eprintf(&st->io, "sh: %s: more than %d names match\n", word, SH_GLOB_MAX);
	if (rc == 0)
		return s_push_word(argv, n, cap, word); /* no match: the word as written */
	free(word);
	return rc < 0 ? rc : 0;
}

/* Sets st->argv and st->argc from the command: $? put in, patterns expanded. */
static int s_argv(stage *st, int status)
{
	size_t n = 0, cap = (size_t)st->cmd->argc + 1;
	char **argv = malloc(cap * sizeof *argv);
	int rc = argv ? 0 : -ENOMEM;
	for (int i = 0; rc == 0 && i < st->cmd->argc; i++)
		rc = s_word(st, i, status, &argv, &n, &cap);
	if (rc < 0) {
		for (size_t i = 0; i < n; i++)
			free(argv[i]);
		free(argv);
		return rc;
	}
	argv[n] = NULL;
	st->argv = argv;
	st->argc = (int)n;
	return 0;
}

/* Opens one redirection and points the stage's descriptor at it. Returns 0 or prints why. */
static int s_redirect(stage *st, const sh_redir *r, int status)
{
	if (r->kind == SH_REDIR_ERR_OUT) {
		st->io.err = st->io.out;
		return 0;
	}
	char *path = s_expand(r->path, status);
	if (!path)
		return -ENOMEM;
	static const int flags[] = {
	    [SH_REDIR_IN] = O_RDONLY,
	    [SH_REDIR_OUT] = O_WRONLY | O_CREAT | O_TRUNC,
	    [SH_REDIR_APPEND] = O_WRONLY | O_CREAT | O_APPEND,
	    [SH_REDIR_ERR] = O_WRONLY | O_CREAT | O_TRUNC,
	};
	int fd = plexus_open(st->io.px, path, flags[r->kind] | O_CLOEXEC, 0666);
	if (fd < 0) {
		int err = errno;
		sh_io report = st->io;
		report.name = "sh";
		sh_fail(&report, path, err);
		free(path);
		return -err;
	}
	free(path);
	sh_fd to = {fd, false};
	st->opened[st->nopened++] = to;
	if (r->kind == SH_REDIR_IN)
		st->io.in = to;
	else if (r->kind == SH_REDIR_ERR)
		st->io.err = to;
	else
		st->io.out = to;
	return 0;
}

static void s_stage_close(stage *st)
{
	for (int i = 0; i < st->nopened; i++)
		sh_close(&st->io, st->opened[i]);
	st->nopened = 0;
	for (int i = 0; i < 2; i++)
		if (st->own[i].fd >= 0)
			sh_close(&st->io, st->own[i]);
	st->own[0].fd = st->own[1].fd = -1;
}

/* Runs the stage's builtin (its redirections first); sets st->status. */
static void s_stage_run(stage *st)
{
	const sh_cmd *cmd = st->cmd;
	st->status = 0;
	for (int i = 0; i < cmd->nredirs && i < 8; i++)
		if (s_redirect(st, &cmd->redirs[i], st->io.sh->status) < 0) {
			st->status = 1;
			break;
		}
	if (st->status == 0 && st->argc > 0) {
		const sh_builtin *b = sh_builtin_find(st->argv[0]);
		st->io.name = st->argv[0];
		if (b) {
			st->status = b->fn(&st->io, st->argc, st->argv);
		} else {
			sh_eprintf(&st->io, "sh: %s: command not found\n", st->argv[0]);
			st->status = 127;
		}
	}
	s_stage_close(st);
}

static void *s_pool_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&s_pool.lock);
	for (;;) {
		s_pool.idle++;
		pthread_cond_broadcast(&s_pool.done); /* s_pool_start may wait for an idle one */
		while (!s_pool.head)
			pthread_cond_wait(&s_pool.work, &s_pool.lock);
		s_pool.idle--;
		stage *st = s_pool.head;
		s_pool.head = st->next_job;
		if (!s_pool.head)
			s_pool.tail = NULL;
		s_pool.queued--;
		pthread_mutex_unlock(&s_pool.lock);
		s_stage_run(st);
		pthread_mutex_lock(&s_pool.lock);
		st->done = true;
		pthread_cond_broadcast(&s_pool.done);
	}
	return NULL;
}

/* Queues the stages, with enough idle threads that every one of them runs at once (they
 * feed each other through pipes). Returns 0, or -errno when no thread could be made (the
 * stages not queued are left). */
static int s_pool_start(stage *stages, int n)
{
	pthread_mutex_lock(&s_pool.lock);
	int rc = 0;
	for (int i = 0; i < n; i++) {
		while (s_pool.idle <= s_pool.queued) {
			pthread_t t;
			pthread_attr_t attr;
			pthread_attr_init(&attr);
			pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
			rc = -pthread_create(&t, &attr, s_pool_thread, NULL);
			pthread_attr_destroy(&attr);
			if (rc < 0)
				break;
			pthread_cond_wait(&s_pool.done, &s_pool.lock); /* until it is idle */
		}
		if (rc < 0)
			break;
		stages[i].queued = true;
		stages[i].next_job = NULL;
		if (s_pool.tail)
			s_pool.tail->next_job = &stages[i];
		else
			s_pool.head = &stages[i];
		s_pool.tail = &stages[i];
		s_pool.queued++;
		pthread_cond_signal(&s_pool.work);
	}
	pthread_mutex_unlock(&s_pool.lock);
	return rc;
}

static void s_pool_wait(stage *stages, int n)
{
	pthread_mutex_lock(&s_pool.lock);
	for (int i = 0; i < n; i++)
		while (stages[i].queued && !stages[i].done)
			pthread_cond_wait(&s_pool.done, &s_pool.lock);
	pthread_mutex_unlock(&s_pool.lock);
}

/* Makes the pipes between stages: stage i writes into the pipe stage i+1 reads. */
static int s_plumb(sh_shell *sh, stage *stages, int n)
{
	for (int i = 0; i + 1 < n; i++) {
		int fds[2];
		if (plexus_pipe2(sh->px, fds, O_CLOEXEC) < 0) {
			int err = errno;
			sh_io report = stages[i].io;
			report.name = "sh";
			sh_fail(&report, "pipe", err);
			return -err;
		}
		stages[i].io.out = stages[i].own[1] = (sh_fd){fds[1], false};
		stages[i + 1].io.in = stages[i + 1].own[0] = (sh_fd){fds[0], false};
	}
	return 0;
}

static int s_run_pipeline(sh_shell *sh, const sh_pipeline *pl)
{
	int n = pl->ncmds;
	stage *stages = calloc((size_t)n, sizeof *stages);
	if (!stages)
		return 1;
	int rc = 0;
	for (int i = 0; i < n; i++) {
		stage *st = &stages[i];
		st->io = (sh_io){sh, sh->px, {0, true}, {1, true}, {2, true}, "sh"};
		st->cmd = &pl->cmds[i];
		st->own[0].fd = st->own[1].fd = -1;
		if (rc == 0)
			rc = s_argv(st, sh->status);
	}
	if (rc == 0)
		rc = s_plumb(sh, stages, n);
	if (rc == 0 && n == 1)
		s_stage_run(&stages[0]);
	else if (rc == 0 && (rc = s_pool_start(stages, n)) < 0)
		fprintf(stderr, "sh: no thread for a pipeline stage: %s\n", strerror(-rc));
	for (int i = 0; rc != 0 && i < n; i++)
		if (!stages[i].queued)
			s_stage_close(&stages[i]); /* the others see the end of their pipes */
	s_pool_wait(stages, n);
	int status = rc == 0 ? 0 : 1;
	for (int i = 0; i < n; i++)
		s_free_argv(stages[i].argv);
	if (rc == 0)
		status = stages[n - 1].status;
	free(stages);
	return status;
}

int sh_run_script(sh_shell *sh, const sh_script *script)
{
	for (int i = 0; i < script->npipes && !sh->exit; i++) {
		const sh_pipeline *pl = &script->pipes[i];
		if ((pl->join == SH_AND && sh->status != 0) ||
		    (pl->join == SH_OR && sh->status == 0))
			continue;
		sh->status = s_run_pipeline(sh, pl);
	}
	return sh->status;
}

int sh_run_text(sh_shell *sh, const char *text)
{
	sh_script script;
	char err[256];
	if (sh_parse(text, &script, err, sizeof err) < 0) {
		fprintf(stderr, "sh: %s\n", err);
		return sh->status = 2;
	}
	int status = sh_run_script(sh, &script);
	sh_script_free(&script);
	return status;
}
