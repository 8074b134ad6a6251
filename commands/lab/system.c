/*
 * system.c — the operator's labs (a Plexus of their own, broken on purpose): their script
 * run with this plexus; `plexus lab stop N [DIR]` for every lab.
 *
 * Entry points: lab_system, lab_stop.
 */
#include <limits.h>
#include <stdio.h>
#include <sysexits.h>
#include <unistd.h>

#include "lab.h"

int lab_system(const lab *l, const char *verb, const char *dir)
{
	char script[1024], self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n < 0 || lab_path(l, l->script, script, sizeof script) < 0)
		return EX_SOFTWARE;
	self[n] = '\0';
	fflush(stdout);
	char *argv[] = {script, (char *)verb, self, (char *)dir, NULL};
	int rc = lab_run(argv, NULL);
	if (rc < 0 || rc == 126 || rc == 127) {
		fprintf(stderr, "plexus lab: cannot run %s\n", script);
		return EX_UNAVAILABLE;
	}
	return rc;
}

int lab_stop(const lab *l, const char *dir)
{
	if (l->script)
		return lab_system(l, "stop", dir);
	printf("Lab %d runs nothing of its own (its checks stop what they start): nothing to "
	       "stop\n",
	       l->number);
	return EX_OK;
}
