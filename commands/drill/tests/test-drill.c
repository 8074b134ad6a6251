/*
 * test-drill.c — `plexus drill` against a real `plexus up` (docs/drills.md): each built-in
 * scenario injects its fault, RS brings the service back under a new generation, the writers
 * carry on and lose no acknowledged file; the JSON report says so in numbers. A soak of random
 * faults from a seed repeats the same faults, in the same order, for the same seed. Then the
 * driver, the file server and VFS of a three-node `up --nodes 3` (root). Unknown
 * scenarios are usage errors; a drill without a running system fails with EX_UNAVAILABLE.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "uptest.h"

#define S_UP    "\"$PLEXUS\" up --state-dir \"$STATE\" --port auto --no-tour"
#define S_DRILL "PLEXUS_STATE_DIR=\"$STATE\" \"$PLEXUS\" drill "

/* The drill's JSON report (the command's whole output). */
static json_t *s_report(const uptest *t)
{
	const char *text = t->text;
	if (strncmp(text, "$ ", 2) == 0) /* the command line itself */
		text = strchr(text, '\n') + 1;
	json_error_t e;
	json_t *o = json_loads(text, 0, &e);
	if (!o)
		print_error("not JSON: %s\n%s\n", e.text, t->text);
	assert_non_null(o);
	return o;
}

static json_int_t s_int(json_t *o, const char *path1, const char *path2)
{
	json_t *v = json_object_get(o, path1);
	if (path2)
		v = json_object_get(v, path2);
	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

/* One fault of scenario on service label: injected, detected, restarted as a newer generation,
 * a client call answered after it; nothing lost, nothing hung. */
static void s_scenario(uptest *t, const char *scenario, const char *label)
{
	assert_int_equal(uptest_sh(t, S_DRILL "%s --writers 4 --seed 7 --json", scenario), 0);
	json_t *o = s_report(t);
	assert_true(json_is_true(json_object_get(o, "passed")));
	json_t *faults = json_object_get(o, "faults");
	assert_int_equal(json_array_size(faults), 1);
	json_t *f = json_array_get(faults, 0);
	assert_string_equal(json_string_value(json_object_get(f, "service")), label);
	json_int_t injected = s_int(f, "injected_ms", NULL);
	assert_true(injected > 0);
	assert_true(s_int(f, "detected_ms", NULL) >= injected);
	assert_true(s_int(f, "restarted_ms", NULL) >= s_int(f, "detected_ms", NULL));
	assert_true(s_int(f, "first_ok_ms", NULL) >= injected);
	assert_true(s_int(f, "new_generation", NULL) > s_int(f, "generation", NULL));
	assert_true(s_int(o, "data", "files") > 0);
	assert_int_equal(s_int(o, "data", "lost"), 0);
	assert_int_equal(s_int(o, "data", "verified"), s_int(o, "data", "files"));
	assert_int_equal(s_int(o, "clients", "hung"), 0);
	assert_true(s_int(o, "clients", "calls") > 0);
	assert_string_equal(json_string_value(json_object_get(o, "fsck")), "clean");
	json_decref(o);
}

static void test_scenarios(void **state)
{
	uptest *t = *state;
	assert_int_equal(uptest_sh(t, S_DRILL "list"), 0);
	assert_true(uptest_output(t, "kill-driver"));
	assert_int_equal(uptest_sh(t, S_DRILL "kill-driver"), 69); /* nothing up yet */
	assert_true(uptest_output(t, "no system to drill"));
	assert_int_equal(uptest_sh(t, S_UP), 0);
	s_scenario(t, "kill-driver", "vdisk");
	s_scenario(t, "hang-driver", "vdisk");
	s_scenario(t, "kill-fs", "mfs-data");
	s_scenario(t, "kill-vfs", "vfs");
	s_scenario(t, "kill-pfs", "pfs");
	/* the text report, for a person */
	assert_int_equal(uptest_sh(t, S_DRILL "kill-driver --writers 2"), 0);
	assert_true(uptest_output(t, "fault 1: kill-driver: vdisk generation"));
	assert_true(uptest_output(t, "detected by RS"));
	assert_true(uptest_output(t, ", 0 lost\n"));
	assert_true(uptest_output(t, "fsck.minix -f of /data's image: clean"));
	assert_true(uptest_output(t, "services: all up"));
	assert_true(uptest_output(t, "PASS"));
	/* soak: random faults from a seed, the same ones again for the same seed */
	char first[512] = "";
	for (int run = 0; run < 2; run++) {
		assert_int_equal(
		    uptest_sh(t, S_DRILL "soak --seconds 8 --seed 42 --writers 3 --json"), 0);
		json_t *o = s_report(t);
		assert_true(json_is_true(json_object_get(o, "passed")));
		json_t *faults = json_object_get(o, "faults");
		assert_true(json_array_size(faults) >= 1); /* RS's backoff grows with each kill */
		char seen[512] = "";
		for (size_t i = 0; i < json_array_size(faults); i++) {
			const char *sc = json_string_value(
			    json_object_get(json_array_get(faults, i), "scenario"));
			strncat(seen, sc, sizeof seen - strlen(seen) - 2);
			strcat(seen, " ");
		}
		if (run == 0)
			snprintf(first, sizeof first, "%s", seen);
		else /* the same order (how many fit may differ with recovery times) */
			assert_memory_equal(first, seen,
			                    strlen(seen) < strlen(first) ? strlen(seen)
			                                                 : strlen(first));
		json_decref(o);
	}
	/* what needs another kind of up says so, and fails */
	assert_int_equal(uptest_sh(t, S_DRILL "kill-node --writers 2"), 1);
	assert_true(uptest_output(t, "kill-node needs plexus up --nodes N"));
	assert_true(uptest_output(t, "FAIL"));
	assert_int_equal(uptest_sh(t, S_DRILL "kill-etcd-member --writers 2"), 1);
	assert_true(uptest_output(t, "kill-etcd-member needs plexus up --etcd-members 3"));
	assert_int_equal(uptest_sh(t, S_DRILL "frob"), 64);
	assert_true(uptest_output(t, "unknown scenario 'frob'"));
	assert_int_equal(uptest_sh(t, S_DRILL "kill-driver --writers 0"), 64);
	assert_int_equal(uptest_sh(t, "\"$PLEXUS\" down --state-dir \"$STATE\""), 0);
}

/* The same drills on three nodes in network namespaces and a three-member etcd (root): the
 * services hit live on other nodes than the writers' host and come back there or on a
 * standby; an etcd member's death restarts nothing; a whole node's death moves its services. */
static void test_three_nodes(void **state)
{
	uptest *t = *state;
	if (geteuid() != 0)
		fail_msg("test-drill's three nodes need root (network namespaces)");
	assert_int_equal(uptest_sh(t, S_UP " --nodes 3 --etcd-members 3"), 0);
	s_scenario(t, "kill-driver", "vdisk");
	s_scenario(t, "kill-fs", "mfs-data");
	s_scenario(t, "kill-vfs", "vfs");
	/* an etcd member: nothing restarts, nothing fails */
	assert_int_equal(uptest_sh(t, S_DRILL "kill-etcd-member --writers 4 --json"), 0);
	json_t *o = s_report(t);
	assert_true(json_is_true(json_object_get(o, "passed")));
	assert_int_equal(s_int(o, "data", "lost"), 0);
	assert_int_equal(s_int(o, "clients", "failed"), 0);
	json_decref(o);
	/* VFS's node, every process of it: RS starts its services on a standby */
	s_scenario(t, "kill-node", "vfs");
	assert_int_equal(uptest_sh(t, "\"$PLEXUS\" down --state-dir \"$STATE\""), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_scenarios, uptest_setup, uptest_teardown),
	    cmocka_unit_test_setup_teardown(test_three_nodes, uptest_setup, uptest_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
