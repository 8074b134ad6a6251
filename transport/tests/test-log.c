/*
 * test-log.c — the log helper (plexus/log.h): the prefix, the levels and their threshold.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <plexus/log.h>

/* Runs fn with standard error going to a file; returns what it wrote (static). */
static const char *s_capture(void (*fn)(void))
{
	static char buf[4096];
	fflush(stderr);
	FILE *tmp = tmpfile();
	assert_non_null(tmp);
	int saved = dup(2);
	dup2(fileno(tmp), 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	size_t n = fread(buf, 1, sizeof buf - 1, tmp);
	buf[n] = '\0';
	fclose(tmp);
	return buf;
}

static void s_lines(void)
{
	plx_log(PLX_LOG_INFO, "serving at %s", "tcp://127.0.0.1:1");
	plx_log(PLX_LOG_WARN, "a retry\n"); /* the caller's newline is not doubled */
	plx_log(PLX_LOG_DEBUG, "not shown at info");
}

static void test_prefix_and_levels(void **unused)
{
	(void)unused;
	plx_log_set_program("plexus-x");
	plx_log_set_label(NULL, 0);
	plx_log_set_level(PLX_LOG_INFO);
	assert_string_equal(s_capture(s_lines), "plexus-x: serving at tcp://127.0.0.1:1\n"
	                                        "plexus-x warn: a retry\n");
	plx_log_set_label("mfs-data", 3);
	assert_string_equal(s_capture(s_lines),
	                    "plexus-x mfs-data/3: serving at tcp://127.0.0.1:1\n"
	                    "plexus-x mfs-data/3 warn: a retry\n");
	plx_log_set_level(PLX_LOG_DEBUG);
	assert_true(plx_log_enabled(PLX_LOG_DEBUG));
	assert_non_null(
	    strstr(s_capture(s_lines), "plexus-x mfs-data/3 debug: not shown at info\n"));
	plx_log_set_level(PLX_LOG_ERROR);
	assert_string_equal(s_capture(s_lines), "");
	assert_false(plx_log_enabled(PLX_LOG_WARN));
}

static void test_level_names(void **unused)
{
	(void)unused;
	plx_log_level level = PLX_LOG_INFO;
	assert_int_equal(plx_log_level_parse("trace", &level), 0);
	assert_int_equal(level, PLX_LOG_TRACE);
	assert_int_equal(plx_log_level_parse("loud", &level), -EINVAL);
	assert_int_equal(level, PLX_LOG_TRACE); /* untouched */
	assert_string_equal(plx_log_level_name(PLX_LOG_WARN), "warn");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_prefix_and_levels),
	    cmocka_unit_test(test_level_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
