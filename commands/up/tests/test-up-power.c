/*
 * test-up-power.c — the power controller's retry policy (power.c, up_power_retry_ms) on its
 * own: a node kernel that exits before it settled starts again after 2, 4, 8, 16 s, then
 * every 30 s, and no count of attempts makes the delay overflow or pass the cap.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "up.h"

static void test_doubles_to_the_cap(void **state)
{
	(void)state;
	static const int64_t want[] = {2000, 4000, 8000, 16000, 30000, 30000, 30000};
	for (int i = 0; i < (int)(sizeof want / sizeof *want); i++)
		assert_int_equal(up_power_retry_ms(i + 1), want[i]);
}

static void test_bounds(void **state)
{
	(void)state;
	assert_int_equal(up_power_retry_ms(0), 2000); /* less than the first counts as it */
	assert_int_equal(up_power_retry_ms(-5), 2000);
	assert_int_equal(up_power_retry_ms(64), 30000);
	assert_int_equal(up_power_retry_ms(INT_MAX), 30000);
	for (int a = 1; a < 200; a++) {
		int64_t d = up_power_retry_ms(a);
		assert_true(d >= up_power_retry_ms(a - 1) && d <= 30000);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_doubles_to_the_cap),
	    cmocka_unit_test(test_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
