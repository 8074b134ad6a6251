/*
 * parse.c — the shell's grammar: words with single and double quotes, $?, comments, file name
 * patterns (* ? [...]), and the operators ; && || | < > >> 2> 2>&1; newlines end a pipeline as
 * ";" does.
 *
 * Entry points: sh_parse, sh_script_free.
 *
 * Two steps: the text becomes tokens (words, with their quotes removed and $? kept as
 * SH_STATUS_MARK so that it is read when the command runs), then tokens become pipelines of
 * commands with their redirections. A word with an unquoted *, ? or [ also gets a pattern for
 * fnmatch(3): the word again, with every quoted or escaped pattern character behind a
 * backslash, so that only the unquoted ones match (glob.c expands it when the command runs).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sh.h"

enum { T_WORD, T_SEMI, T_AND, T_OR, T_PIPE, T_IN, T_OUT, T_APPEND, T_ERR, T_ERR_OUT };

typedef struct token {
	int type;
	char *word;
	char *pattern; /* NULL: the word has no unquoted pattern character */
} token;

typedef struct lexer {
	const char *p;
	token *toks;
	size_t n, cap;
	char *word; /* the word being built */
	size_t len, wcap;
	char *pat; /* its pattern */
	size_t plen, pcap;
	bool in_word;
	bool glob; /* an unquoted *, ? or [ is in the word */
} lexer;

static int s_grow(char **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap * 2 : 32;
	while (c < need)
		c *= 2;
	char *b = realloc(*buf, c);
	if (!b)
		return -ENOMEM;
	*buf = b;
	*cap = c;
	return 0;
}

static int s_push(lexer *lx, int type, char *word, char *pattern)
{
	if (lx->n == lx->cap) {
		size_t cap = lx->cap ? lx->cap * 2 : 16;
		token *toks = realloc(lx->toks, cap * sizeof *toks);
		if (!toks)
			return -ENOMEM;
		lx->toks = toks;
		lx->cap = cap;
	}
	lx->toks[lx->n++] = (token){type, word, pattern};
	return 0;
}

/* Adds c to the word; quoted says whether it was quoted or escaped (then it never matches as
 * a pattern character). */
static int s_add(lexer *lx, char c, bool quoted)
{
	if (s_grow(&lx->word, &lx->wcap, lx->len + 2) < 0 ||
	    s_grow(&lx->pat, &lx->pcap, lx->plen + 3) < 0)
		return -ENOMEM;
	lx->word[lx->len++] = c;
	lx->word[lx->len] = 0;
	bool special = strchr("*?[]\\", c) != NULL;
	if (quoted && special)
		lx->pat[lx->plen++] = '\\';
	lx->pat[lx->plen++] = c;
	lx->pat[lx->plen] = 0;
	lx->glob = lx->glob || (!quoted && (c == '*' || c == '?' || c == '['));
	lx->in_word = true;
	return 0;
}

static int s_addc(lexer *lx, char c)
{
	return s_add(lx, c, false);
}

static int s_addq(lexer *lx, char c)
{
	return s_add(lx, c, true);
}

/* Ends the word being built, if any. */
static int s_end_word(lexer *lx)
{
	if (!lx->in_word)
		return 0;
	char *w = strndup(lx->word ? lx->word : "", lx->len);
	char *pattern = lx->glob ? strndup(lx->pat, lx->plen) : NULL;
	bool failed = !w || (lx->glob && !pattern);
	lx->len = lx->plen = 0;
	lx->in_word = lx->glob = false;
	int rc = failed ? -ENOMEM : s_push(lx, T_WORD, w, pattern);
	if (rc < 0) {
		free(w);
		free(pattern);
	}
	return rc;
}

/* $? becomes the mark; other $ stay as they are. Advances past what it took. */
static int s_dollar(lexer *lx)
{
	if (lx->p[1] == '?') {
		lx->p += 2;
		return s_addc(lx, SH_STATUS_MARK);
	}
	return s_addc(lx, *lx->p++);
}

static int s_single(lexer *lx, char *err, size_t size)
{
	const char *end = strchr(lx->p + 1, '\'');
	if (!end) {
		snprintf(err, size, "unterminated quote '");
		return -EINVAL;
	}
	lx->in_word = true;
	for (const char *c = lx->p + 1; c < end; c++)
		if (s_addq(lx, *c) < 0)
			return -ENOMEM;
	lx->p = end + 1;
	return 0;
}

static int s_double(lexer *lx, char *err, size_t size)
{
	lx->p++;
	lx->in_word = true;
	while (*lx->p && *lx->p != '"') {
		int rc;
		if (*lx->p == '\\' && strchr("\"\\$", lx->p[1]))
			rc = s_addq(lx, lx->p[1]), lx->p += 2;
		else if (*lx->p == '$')
			rc = s_dollar(lx);
		else
			rc = s_addq(lx, *lx->p++);
		if (rc < 0)
			return rc;
	}
	if (*lx->p != '"') {
		snprintf(err, size, "unterminated quote \"");
		return -EINVAL;
	}
	lx->p++;
	return 0;
}

/* An operator at lx->p: pushes it and returns 1, or returns 0 when there is none. */
static int s_operator(lexer *lx)
{
	static const struct {
		const char *text;
		int type;
	} ops[] = {{"2>&1", T_ERR_OUT}, {"&&", T_AND}, {"||", T_OR},   {">>", T_APPEND},
	           {"2>", T_ERR},       {";", T_SEMI}, {"\n", T_SEMI}, {"|", T_PIPE},
	           {"<", T_IN},         {">", T_OUT}};
	for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
		size_t len = strlen(ops[i].text);
		if (strncmp(lx->p, ops[i].text, len) != 0)
			continue;
		if (ops[i].text[0] == '2' && lx->in_word)
			continue; /* "a2>b" is the word a2 and a redirection */
		int rc = s_end_word(lx);
		if (rc == 0)
			rc = s_push(lx, ops[i].type, NULL, NULL);
		lx->p += len;
		return rc < 0 ? rc : 1;
	}
	return 0;
}

static int s_lex(lexer *lx, char *err, size_t size)
{
	while (*lx->p) {
		char c = *lx->p;
		int rc = s_operator(lx);
		if (rc != 0) {
			if (rc < 0)
				return rc;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r') {
			rc = s_end_word(lx);
			lx->p++;
		} else if (c == '#' && !lx->in_word) {
			while (*lx->p && *lx->p != '\n')
				lx->p++;
		} else if (c == '\'') {
			rc = s_single(lx, err, size);
		} else if (c == '"') {
			rc = s_double(lx, err, size);
		} else if (c == '\\' && lx->p[1]) {
			rc = s_addq(lx, lx->p[1]);
			lx->p += 2;
		} else if (c == '$') {
			rc = s_dollar(lx);
		} else {
			rc = s_addc(lx, c);
			lx->p++;
		}
		if (rc < 0)
			return rc;
	}
	return s_end_word(lx);
}

/* ---- tokens to pipelines ---- */

static int s_cmd_word(sh_cmd *cmd, char *word, char *pattern)
{
	char **argv = realloc(cmd->argv, (size_t)(cmd->argc + 2) * sizeof *argv);
	if (argv)
		cmd->argv = argv;
	char **patterns =
	    argv ? realloc(cmd->patterns, (size_t)(cmd->argc + 2) * sizeof *argv) : NULL;
	if (!patterns)
		return -ENOMEM;
	cmd->patterns = patterns;
	patterns[cmd->argc] = pattern;
	argv[cmd->argc++] = word;
	argv[cmd->argc] = NULL;
	patterns[cmd->argc] = NULL;
	return 0;
}

static int s_cmd_redir(sh_cmd *cmd, int kind, char *path)
{
	sh_redir *r = realloc(cmd->redirs, (size_t)(cmd->nredirs + 1) * sizeof *r);
	if (!r)
		return -ENOMEM;
	r[cmd->nredirs++] = (sh_redir){kind, path};
	cmd->redirs = r;
	return 0;
}

static sh_cmd *s_new_cmd(sh_pipeline *pl)
{
	sh_cmd *cmds = realloc(pl->cmds, (size_t)(pl->ncmds + 1) * sizeof *cmds);
	if (!cmds)
		return NULL;
	pl->cmds = cmds;
	memset(&cmds[pl->ncmds], 0, sizeof *cmds);
	return &cmds[pl->ncmds++];
}

static sh_pipeline *s_new_pipeline(sh_script *s, int join)
{
	sh_pipeline *p = realloc(s->pipes, (size_t)(s->npipes + 1) * sizeof *p);
	if (!p)
		return NULL;
	s->pipes = p;
	p[s->npipes] = (sh_pipeline){.join = join};
	return &p[s->npipes++];
}

static const char *s_name(int type)
{
	static const char *names[] = {"word", ";", "&&", "||", "|", "<", ">", ">>", "2>", "2>&1"};
	return names[type];
}

static int s_redir_kind(int type)
{
	switch (type) {
	case T_IN:
		return SH_REDIR_IN;
	case T_OUT:
		return SH_REDIR_OUT;
	case T_APPEND:
		return SH_REDIR_APPEND;
	default:
		return SH_REDIR_ERR;
	}
}

static int s_syntax(int type, char *err, size_t size)
{
	snprintf(err, size, "syntax error near '%s'", type < 0 ? "end of input" : s_name(type));
	return -EINVAL;
}

/* A separator: ";" ends the pipeline (a lone one is an empty statement), "&&" and "||" join
 * the next to it, "|" ends the command. Returns 0 or a syntax error. */
static int s_separator(int type, sh_pipeline **pl, sh_cmd **cmd, int *join, char *err, size_t size)
{
	if (type == T_PIPE) {
		if (!*cmd)
			return s_syntax(type, err, size);
		*cmd = NULL;
		return 0;
	}
	if (*pl && !*cmd)
		return s_syntax(type, err, size); /* after "|" */
	if (type != T_SEMI && !*pl)
		return s_syntax(type, err, size);
	if (*pl)
		*join = type == T_AND ? SH_AND : type == T_OR ? SH_OR : SH_THEN;
	*pl = NULL;
	*cmd = NULL;
	return 0;
}

/* Builds the script from the tokens; words move into it (set to NULL in toks). */
static int s_build(token *toks, size_t n, sh_script *s, char *err, size_t size)
{
	sh_pipeline *pl = NULL;
	sh_cmd *cmd = NULL;
	int join = SH_THEN;
	for (size_t i = 0; i < n; i++) {
		token *t = &toks[i];
		int rc;
		if (t->type == T_SEMI || t->type == T_AND || t->type == T_OR || t->type == T_PIPE) {
			if ((rc = s_separator(t->type, &pl, &cmd, &join, err, size)) < 0)
				return rc;
			continue;
		}
		if (!pl && !(pl = s_new_pipeline(s, join)))
			return -ENOMEM;
		join = SH_THEN;
		if (!cmd && !(cmd = s_new_cmd(pl)))
			return -ENOMEM;
		if (t->type == T_WORD) {
			rc = s_cmd_word(cmd, t->word, t->pattern);
			if (rc == 0)
				t->pattern = NULL;
		} else if (t->type == T_ERR_OUT) {
			rc = s_cmd_redir(cmd, SH_REDIR_ERR_OUT, NULL);
		} else {
			if (i + 1 >= n || toks[i + 1].type != T_WORD)
				return s_syntax(i + 1 < n ? toks[i + 1].type : -1, err, size);
			rc = s_cmd_redir(cmd, s_redir_kind(t->type), toks[i + 1].word);
			if (rc == 0)
				toks[++i].word = NULL;
		}
		if (rc < 0)
			return rc;
		t->word = NULL;
	}
	if ((pl && !cmd) || (!pl && join != SH_THEN))
		return s_syntax(-1, err, size);
	return 0;
}

int sh_parse(const char *text, sh_script *script, char *err, size_t size)
{
	memset(script, 0, sizeof *script);
	lexer lx = {.p = text};
	int rc = s_lex(&lx, err, size);
	if (rc == 0)
		rc = s_build(lx.toks, lx.n, script, err, size);
	for (size_t i = 0; i < lx.n; i++) {
		free(lx.toks[i].word);
		free(lx.toks[i].pattern);
	}
	free(lx.toks);
	free(lx.word);
	free(lx.pat);
	if (rc == -ENOMEM)
		snprintf(err, size, "out of memory");
	if (rc < 0)
		sh_script_free(script);
	return rc;
}

void sh_script_free(sh_script *script)
{
	for (int i = 0; i < script->npipes; i++) {
		sh_pipeline *pl = &script->pipes[i];
		for (int j = 0; j < pl->ncmds; j++) {
			sh_cmd *c = &pl->cmds[j];
			for (int k = 0; k < c->argc; k++) {
				free(c->argv[k]);
				free(c->patterns[k]);
			}
			free(c->argv);
			free(c->patterns);
			for (int k = 0; k < c->nredirs; k++)
				free(c->redirs[k].path);
			free(c->redirs);
		}
		free(pl->cmds);
	}
	free(script->pipes);
	memset(script, 0, sizeof *script);
}
