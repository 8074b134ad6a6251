/*
 * lab.h — the pieces of `plexus lab`: the catalogue of labs, start, check and stop.
 *
 * Entry points: lab_catalog, lab_count, lab_find, lab_path, lab_start, lab_check, lab_stop,
 * lab_system, lab_run.
 */
#ifndef PLEXUS_LAB_H
#define PLEXUS_LAB_H

#include <stddef.h>

/* One lab: labs/<dir>/ in the source tree holds README.md, skeleton/ and solution/. A code
 * lab's checks are the program plexus-lab-check-<number> of the build; an operator's lab
 * (script set) runs a Plexus of its own, and labs/<dir>/<script> starts, checks and stops it. */
typedef struct lab {
	int number;
	const char *dir;     /* under labs/ */
	const char *title;   /* a few words */
	const char *goal;    /* one line: what the student makes */
	int minutes;         /* a fair estimate for a first try */
	const char *program; /* what the student's CMakeLists.txt builds (the driver) */
	const char *read;    /* what to read first */
	const char *script;  /* an operator's lab: its start|check|stop script; NULL for code */
} lab;

/* The labs, in order, and how many. */
const lab *lab_catalog(void);
size_t lab_count(void);
/* The lab numbered by text ("1", "2", ...); NULL when there is none. */
const lab *lab_find(const char *text);
/* Writes the source tree's labs/<l->dir>/<rest> into out. Returns 0, -ENAMETOOLONG. */
int lab_path(const lab *l, const char *rest, char *out, size_t size);

/* Copies l's skeleton and README.md into dir (made when missing; refused when it is not
 * empty). Returns a sysexits.h code; tells the student on standard output what to do next. */
int lab_start(const lab *l, const char *dir);
/* Builds the student's code in dir against this build, runs l's checks, prints one line per
 * check and a summary. Returns EX_OK when every check passes, 1 when some fails (or the code
 * does not build), another sysexits.h code when the check cannot run. */
int lab_check(const lab *l, const char *dir);
/* Stops what lab l left running for dir (an operator's lab: its Plexus, whose state is then
 * removed); a code lab runs nothing. Returns a sysexits.h code. */
int lab_stop(const lab *l, const char *dir);
/* Runs l's script with verb (start, check or stop), this plexus and dir; its output is the
 * student's. Returns the script's exit status (0, 1 or a sysexits.h code). */
int lab_system(const lab *l, const char *verb, const char *dir);

/* Runs argv (argv[0] looked up in PATH) and waits; output to log when it is not NULL
 * (appended), else inherited. Returns its exit status, or -errno when it could not run. */
int lab_run(char *const argv[], const char *log);

#endif
