/*
 * test-sh-parse.c — the shell's grammar (parse.c) and option reader (opts.c), without a
 * cluster: words and quotes, $? kept for run time, comments, every operator, redirections on
 * their commands, pipelines and how they join, and the syntax errors.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sh.h"

static sh_script s_parse_ok(const char *text)
{
	sh_script s;
	char err[256] = "";
	int rc = sh_parse(text, &s, err, sizeof err);
	if (rc != 0)
		fail_msg("parse of '%s': %s", text, err);
	return s;
}

static void test_words_and_quotes(void **state)
{
	(void)state;
	sh_script s = s_parse_ok("echo  'a b'  \"c $? d\" e\\ f g'h'\"i\" # a comment");
	assert_int_equal(s.npipes, 1);
	sh_cmd *c = &s.pipes[0].cmds[0];
	assert_int_equal(c->argc, 5);
	assert_string_equal(c->argv[1], "a b");
	assert_string_equal(c->argv[2], "c \001 d");
	assert_string_equal(c->argv[3], "e f");
	assert_string_equal(c->argv[4], "ghi");
	assert_null(c->argv[5]);
	sh_script_free(&s);
	s = s_parse_ok("echo '$?' x$?y");
	assert_string_equal(s.pipes[0].cmds[0].argv[1], "$?"); /* single quotes keep it */
	assert_string_equal(s.pipes[0].cmds[0].argv[2], "x\001y");
	sh_script_free(&s);
	s = s_parse_ok("echo ''");
	assert_int_equal(s.pipes[0].cmds[0].argc, 2); /* an empty word is a word */
	assert_string_equal(s.pipes[0].cmds[0].argv[1], "");
	sh_script_free(&s);
}

/* A word with an unquoted *, ? or [ gets a pattern; quoted or escaped ones are escaped in it
 * and do not make one. */
static void test_patterns(void **state)
{
	(void)state;
	sh_script s = s_parse_ok("ls *.c a?b '*' \\? \"x*\" d[ab]'*'e plain");
	sh_cmd *c = &s.pipes[0].cmds[0];
	assert_int_equal(c->argc, 8);
	assert_null(c->patterns[0]);
	assert_string_equal(c->argv[1], "*.c");
	assert_string_equal(c->patterns[1], "*.c");
	assert_string_equal(c->patterns[2], "a?b");
	assert_string_equal(c->argv[3], "*");
	assert_null(c->patterns[3]); /* quoted: a word, not a pattern */
	assert_string_equal(c->argv[4], "?");
	assert_null(c->patterns[4]);
	assert_null(c->patterns[5]);
	assert_string_equal(c->argv[6], "d[ab]*e");
	assert_string_equal(c->patterns[6], "d[ab]\\*e"); /* the quoted * matches only itself */
	assert_null(c->patterns[7]);
	sh_script_free(&s);
	s = s_parse_ok("echo x$?*");
	assert_string_equal(s.pipes[0].cmds[0].patterns[1], "x\001*");
	sh_script_free(&s);
}

static void test_pipelines_and_joins(void **state)
{
	(void)state;
	sh_script s = s_parse_ok("a | b x | c; d && e || f\n\ng;");
	assert_int_equal(s.npipes, 5);
	assert_int_equal(s.pipes[0].ncmds, 3);
	assert_string_equal(s.pipes[0].cmds[1].argv[1], "x");
	assert_int_equal(s.pipes[1].join, SH_THEN);
	assert_int_equal(s.pipes[2].join, SH_AND);
	assert_int_equal(s.pipes[3].join, SH_OR);
	assert_int_equal(s.pipes[4].join, SH_THEN);
	assert_string_equal(s.pipes[4].cmds[0].argv[0], "g");
	sh_script_free(&s);
	s = s_parse_ok("a &&\n b"); /* a line may end in && */
	assert_int_equal(s.npipes, 2);
	assert_int_equal(s.pipes[1].join, SH_AND);
	sh_script_free(&s);
	s = s_parse_ok("  \n# only a comment\n");
	assert_int_equal(s.npipes, 0);
	sh_script_free(&s);
}

static void test_redirections(void **state)
{
	(void)state;
	sh_script s = s_parse_ok("cat <in >out 2>err x >>app 2>&1 a2>b");
	sh_cmd *c = &s.pipes[0].cmds[0];
	assert_int_equal(c->argc, 3);
	assert_string_equal(c->argv[1], "x");
	assert_string_equal(c->argv[2], "a2");
	assert_int_equal(c->nredirs, 6);
	assert_int_equal(c->redirs[0].kind, SH_REDIR_IN);
	assert_string_equal(c->redirs[0].path, "in");
	assert_int_equal(c->redirs[1].kind, SH_REDIR_OUT);
	assert_int_equal(c->redirs[2].kind, SH_REDIR_ERR);
	assert_string_equal(c->redirs[2].path, "err");
	assert_int_equal(c->redirs[3].kind, SH_REDIR_APPEND);
	assert_int_equal(c->redirs[4].kind, SH_REDIR_ERR_OUT);
	assert_null(c->redirs[4].path);
	assert_int_equal(c->redirs[5].kind, SH_REDIR_OUT);
	assert_string_equal(c->redirs[5].path, "b");
	sh_script_free(&s);
	s = s_parse_ok("a 'x>y' \">\"");
	assert_int_equal(s.pipes[0].cmds[0].argc, 3); /* quoted operators are words */
	assert_int_equal(s.pipes[0].cmds[0].nredirs, 0);
	sh_script_free(&s);
}

static void test_syntax_errors(void **state)
{
	(void)state;
	const char *bad[] = {"echo 'open", "echo \"open", "| a",   "a |",     "a | | b", "&& a",
	                     "a ||",       "a >",         "a > ;", "a | ; b", "; && b"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		sh_script s;
		char err[256] = "";
		if (sh_parse(bad[i], &s, err, sizeof err) != -EINVAL)
			fail_msg("'%s' parsed", bad[i]);
		assert_true(strlen(err) > 0);
		assert_int_equal(s.npipes, 0);
	}
}

static void test_options(void **state)
{
	(void)state;
	sh_io io = {.err = {2, true}, .name = "t"};
	char *argv[] = {"head", "-la", "-n", "5", "-m7", "--", "-x", NULL};
	sh_opts o;
	assert_int_equal(sh_getopts(&io, 7, argv, "lan:m:", &o), 0);
	assert_true(o.set['l'] && o.set['a']);
	assert_string_equal(o.value['n'], "5");
	assert_string_equal(o.value['m'], "7");
	assert_int_equal(o.next, 6);
	char *bad[] = {"ls", "-q", NULL};
	assert_int_equal(sh_getopts(&io, 2, bad, "l", &o), 2);
	char *missing[] = {"head", "-n", NULL};
	assert_int_equal(sh_getopts(&io, 2, missing, "n:", &o), 2);
	char *dash[] = {"cat", "-", NULL};
	assert_int_equal(sh_getopts(&io, 2, dash, "", &o), 0);
	assert_int_equal(o.next, 1); /* "-" is an operand */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_words_and_quotes),    cmocka_unit_test(test_patterns),
	    cmocka_unit_test(test_pipelines_and_joins), cmocka_unit_test(test_redirections),
	    cmocka_unit_test(test_syntax_errors),       cmocka_unit_test(test_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
