/*
 * test-tty-line.c — plexus-tty's line discipline (line.c) on its own: canonical lines with
 * erase, kill and EOF, one line per read, partial reads, echo, raw mode and the switches
 * between the modes, flush, and the limits (a full line, a full input buffer, a pty's full
 * output).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tty.h"

#include "plexus/proto/cdev.pb-c.h"

#define S_CANON PLEXUS__TTY_MODE__TTY_CANON
#define S_ECHO  PLEXUS__TTY_MODE__TTY_ECHO

static tty *s_new(void)
{
	tty *t = malloc(sizeof *t);
	assert_non_null(t);
	tty_init(t, -1);
	return t;
}

static void s_type(tty *t, const char *text)
{
	tty_input(t, text, strlen(text));
}

/* Reads at most size bytes; asserts the text. */
static void s_read(tty *t, size_t size, const char *text)
{
	char buf[TTY_BUF_MAX + 1];
	assert_true(tty_readable(t));
	size_t n = tty_read(t, buf, size);
	buf[n] = '\0';
	assert_int_equal(n, strlen(text));
	assert_string_equal(buf, text);
}

/* What the master would read: the output so far. */
static void s_output(tty *t, const char *text)
{
	char buf[TTY_BUF_MAX + 1];
	size_t n = ttybuf_get(&t->out, buf, sizeof buf - 1);
	buf[n] = '\0';
	assert_string_equal(buf, text);
}

static void test_canonical_editing(void **state)
{
	(void)state;
	tty *t = s_new();
	s_type(t, "helo");
	assert_false(tty_readable(t));   /* no line yet */
	s_type(t, "\x7flo, worle\bd\r"); /* DEL and ^H erase; CR ends the line */
	s_read(t, 100, "hello, world\n");
	s_type(t, "wrong\x15right\n");
	s_read(t, 100, "right\n");
	s_type(t, "\x7f\x7f\x15x\n"); /* erasing nothing is nothing */
	s_read(t, 100, "x\n");
	assert_false(tty_readable(t));
	free(t);
}

static void test_one_line_per_read_and_partial_reads(void **state)
{
	(void)state;
	tty *t = s_new();
	s_type(t, "first\nsecond\nthird");
	s_read(t, 100, "first\n");
	s_read(t, 3, "sec");
	s_read(t, 100, "ond\n");
	assert_false(tty_readable(t)); /* "third" is still being edited */
	s_type(t, "\n");
	s_read(t, 100, "third\n");
	free(t);
}

static void test_eof(void **state)
{
	(void)state;
	tty *t = s_new();
	s_type(t, "\x04");
	s_read(t, 100, ""); /* ^D on an empty line: end of file */
	assert_false(tty_readable(t));
	s_type(t, "abc\x04\x04");
	s_read(t, 100, "abc"); /* ^D ends the line without itself... */
	s_read(t, 100, "");    /* ...and alone it is an end of file of its own */
	s_type(t, "line\n\x04");
	s_read(t, 2, "li");
	s_read(t, 100, "ne\n");
	s_read(t, 100, "");
	assert_false(tty_readable(t));
	free(t);
}

static void test_echo(void **state)
{
	(void)state;
	tty *t = s_new();
	s_type(t, "ab\x7f"
	          "c\x15"
	          "d\n");
	s_output(t, "ab\b \bc\b \b\b \bd\n");
	tty_set_mode(t, S_CANON); /* no echo */
	s_type(t, "secret\n");
	s_output(t, "");
	s_read(t, 100, "d\n");
	s_read(t, 100, "secret\n");
	free(t);
}

static void test_raw_mode(void **state)
{
	(void)state;
	tty *t = s_new();
	s_type(t, "partial");
	tty_set_mode(t, 0); /* the partial line goes to the input as it is */
	s_read(t, 100, "partial");
	s_type(t, "\x7f\x04\x15\n");
	s_read(t, 2, "\x7f\x04");
	s_read(t, 100, "\x15\n");
	s_output(t, "partial"); /* raw has no echo: the only output is the canonical echo */
	s_type(t, "ab");
	tty_set_mode(t, S_CANON | S_ECHO); /* back: bytes wait for a line end */
	assert_false(tty_readable(t));
	s_type(t, "c\n");
	s_read(t, 100, "abc\n");
	free(t);
}

static void test_flush(void **state)
{
	(void)state;
	tty *t = s_new();
	s_type(t, "one\ntwo\nthr");
	tty_flush(t);
	assert_false(tty_readable(t));
	s_type(t, "ee\n");
	s_read(t, 100, "ee\n");
	free(t);
}

static void test_limits(void **state)
{
	(void)state;
	tty *t = s_new();
	tty_set_mode(t, S_CANON);
	char *big = malloc(TTY_LINE_MAX * 2);
	memset(big, 'x', TTY_LINE_MAX * 2);
	tty_input(t, big, TTY_LINE_MAX * 2); /* what does not fit the line is dropped */
	s_type(t, "\n");
	char buf[TTY_LINE_MAX * 2];
	size_t n = tty_read(t, buf, sizeof buf);
	assert_int_equal(n, TTY_LINE_MAX);
	assert_int_equal(buf[n - 1], '\n');
	/* Raw input beyond the buffer is dropped; what is kept reads back. */
	tty_set_mode(t, 0);
	size_t total = 0;
	for (int i = 0; i < (TTY_BUF_MAX / TTY_LINE_MAX) + 4; i++)
		tty_input(t, big, TTY_LINE_MAX);
	while (tty_readable(t))
		total += tty_read(t, buf, sizeof buf);
	assert_int_equal(total, TTY_BUF_MAX);
	/* A pty's output takes what fits. */
	for (int i = 0; i < TTY_BUF_MAX / TTY_LINE_MAX; i++)
		assert_int_equal(tty_output(t, big, TTY_LINE_MAX), TTY_LINE_MAX);
	assert_int_equal(tty_output(t, big, 1), 0);
	assert_int_equal(ttybuf_space(&t->out), 0);
	free(big);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_canonical_editing),
	    cmocka_unit_test(test_one_line_per_read_and_partial_reads),
	    cmocka_unit_test(test_eof),
	    cmocka_unit_test(test_echo),
	    cmocka_unit_test(test_raw_mode),
	    cmocka_unit_test(test_flush),
	    cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
