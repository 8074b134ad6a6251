/*
 * check.c — `plexus lab check N [DIR]`: build the student's code in DIR against this tree's
 * libraries (the generated plexus-lab-kit.cmake), then run the lab's checks on it; an
 * operator's lab's script grades the answers and the system's health (system.c).
 *
 * Entry points: lab_check.
 */
#include <stdio.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "lab.h"

/* Prints the file at path (the build's messages) on standard output. */
static void s_show(const char *path)
{
	FILE *fp = fopen(path, "r");
	char line[1024];
	while (fp && fgets(line, sizeof line, fp))
		fputs(line, stdout);
	if (fp)
		fclose(fp);
}

/* cmake configure and build of dir into dir/build; messages into dir/build/lab-build.log.
 * Returns 0 when the program was built. */
static int s_build(const char *dir, char *log, size_t size)
{
	char build[512], kit[1024];
	int n = snprintf(build, sizeof build, "%s/build", dir);
	if (n < 0 || (size_t)n >= sizeof build || size < sizeof build + 16)
		return -1;
	snprintf(log, size, "%.*s/lab-build.log", (int)sizeof build, build);
	snprintf(kit, sizeof kit, "-DPLEXUS_LAB_KIT=%s", PLEXUS_LAB_KIT);
	mkdir(build, 0755);
	remove(log);
	char *configure[] = {"cmake", "-S", (char *)dir, "-B", build, kit, NULL};
	char *make[] = {"cmake", "--build", build, NULL};
	if (lab_run(configure, log) != 0)
		return -1;
	return lab_run(make, log) == 0 ? 0 : -1;
}

int lab_check(const lab *l, const char *dir)
{
	if (l->script)
		return lab_system(l, "check", dir);
	char cmake[1024], log[1024], program[1024], checks[1024];
	snprintf(cmake, sizeof cmake, "%s/CMakeLists.txt", dir);
	if (access(cmake, R_OK) != 0) {
		fprintf(stderr,
		        "plexus lab: no lab in %s (no CMakeLists.txt); start one with "
		        "plexus lab start %d %s\n",
		        dir, l->number, dir);
		return EX_NOINPUT;
	}
	time_t t0 = time(NULL);
	printf("Lab %d: %s, checking %s\n", l->number, l->title, dir);
	if (s_build(dir, log, sizeof log) < 0) {
		s_show(log);
		printf("FAIL build: your code does not build; the messages are above (and in %s)\n"
		       "0 of 1 checks pass\n",
		       log);
		return 1;
	}
	printf("PASS build\n");
	fflush(stdout);
	snprintf(program, sizeof program, "%s/build/%s", dir, l->program);
	snprintf(checks, sizeof checks, "%s/plexus-lab-check-%d", PLEXUS_LAB_CHECKS, l->number);
	char *argv[] = {checks, program, NULL};
	int rc = lab_run(argv, NULL);
	printf("(lab %d checked in %ld s)\n", l->number, (long)(time(NULL) - t0));
	if (rc == 0 || rc == 1)
		return rc;
	fprintf(stderr, "plexus lab: the checks of lab %d could not run (%s exit %d)\n", l->number,
	        checks, rc);
	return rc == EX_UNAVAILABLE ? EX_UNAVAILABLE : EX_SOFTWARE;
}
