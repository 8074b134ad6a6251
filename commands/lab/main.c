/*
 * main.c — `plexus lab`: list the labs, start one in a directory, check the work done there,
 * stop what it runs.
 *
 * Entry points: plx_lab_cli.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include <plexus/lab_cli.h>

#include "lab.h"

static void s_usage(FILE *out)
{
	fprintf(out,
	        "usage: plexus lab list\n"
	        "       plexus lab start N [DIR]\n"
	        "       plexus lab check N [DIR]\n"
	        "       plexus lab stop N [DIR]\n\n"
	        "Labs that grade themselves (docs/labs.md).\n\n"
	        "  list          the labs: number, title, goal, time it takes\n"
	        "  start N [DIR] copy lab N's skeleton and task (README.md) into DIR\n"
	        "                (default ./plexus-lab-N; made if missing, refused if not empty)\n"
	        "  check N [DIR] build the code in DIR against this Plexus build and run lab N's\n"
	        "                checks on it with real processes (etcd, ZeroMQ, the driver);\n"
	        "                one line per check, PASS or FAIL with a hint, then a summary\n"
	        "  stop N [DIR]  stop the Plexus an operator's lab runs and remove its state\n"
	        "                (lab 5; for the other labs there is nothing to stop)\n\n"
	        "Lab 5 is an operator's lab: start boots a private Plexus (plexus up --port auto,\n"
	        "its state outside DIR, named in DIR/.lab) and breaks one service, or kills a\n"
	        "whole node of two (root only); check grades DIR/answers.txt and the system's\n"
	        "health. PLEXUS_LAB_FAULT=crash-loop|stopped|hung|node forces the fault (else\n"
	        "one is picked at random).\n\n"
	        "Exit codes: 0 every check passes, 1 some check fails or the code does not\n"
	        "build, others from sysexits.h (64 usage, 66 no lab in DIR, 73 DIR not empty,\n"
	        "69 etcd or the checks could not run, 77 lab 5's node failure without root).\n");
}

static int s_list(void)
{
	const lab *labs = lab_catalog();
	for (size_t i = 0; i < lab_count(); i++)
		printf("%d  %-40s %3d min\n   %s\n", labs[i].number, labs[i].title, labs[i].minutes,
		       labs[i].goal);
	printf("\nplexus lab start N [DIR] begins one; plexus lab check N [DIR] grades it;\n"
	       "plexus lab stop N [DIR] stops what it runs.\n");
	return EX_OK;
}

/* start, check or stop: N, then DIR or ./plexus-lab-N. */
static int s_one(int argc, char **argv, int (*fn)(const lab *, const char *))
{
	if (argc < 3 || argc > 4) {
		s_usage(stderr);
		return EX_USAGE;
	}
	const lab *l = lab_find(argv[2]);
	if (!l) {
		fprintf(stderr, "plexus lab: no lab '%s' (plexus lab list)\n", argv[2]);
		return EX_USAGE;
	}
	char dir[256];
	snprintf(dir, sizeof dir, "plexus-lab-%d", l->number);
	return fn(l, argc == 4 ? argv[3] : dir);
}

int plx_lab_cli(int argc, char **argv)
{
	const char *verb = argc > 1 ? argv[1] : "";
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "help") == 0) {
			s_usage(stdout);
			return EX_OK;
		}
	if (strcmp(verb, "list") == 0 && argc == 2)
		return s_list();
	if (strcmp(verb, "start") == 0)
		return s_one(argc, argv, lab_start);
	if (strcmp(verb, "check") == 0)
		return s_one(argc, argv, lab_check);
	if (strcmp(verb, "stop") == 0)
		return s_one(argc, argv, lab_stop);
	s_usage(stderr);
	return EX_USAGE;
}
