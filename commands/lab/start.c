/*
 * start.c — `plexus lab start N [DIR]`: the lab's skeleton and task into the student's
 * directory (an operator's lab's script also boots and breaks its Plexus: system.c). The
 * solution stays in the tree.
 *
 * Entry points: lab_start.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>

#include "lab.h"

/* True when dir has no entries but . and ..; false when it has, or cannot be read. */
static bool s_empty(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return false;
	struct dirent *e;
	bool empty = true;
	while (empty && (e = readdir(d)))
		empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
	closedir(d);
	return empty;
}

/* Makes dir, or accepts it when it exists and is empty. Returns a sysexits.h code. */
static int s_prepare(const char *dir)
{
	if (mkdir(dir, 0755) == 0)
		return EX_OK;
	if (errno == EEXIST && s_empty(dir))
		return EX_OK;
	if (errno == EEXIST)
		fprintf(stderr,
		        "plexus lab: %s is not empty; nothing was changed (give another DIR)\n",
		        dir);
	else
		fprintf(stderr, "plexus lab: cannot make %s: %s\n", dir, strerror(errno));
	return EX_CANTCREAT;
}

/* cp -R of the skeleton's contents and of README.md into dir. */
static int s_copy(const lab *l, const char *dir)
{
	char skeleton[1024], readme[1024];
	if (lab_path(l, "skeleton/.", skeleton, sizeof skeleton) < 0 ||
	    lab_path(l, "README.md", readme, sizeof readme) < 0)
		return EX_SOFTWARE;
	char *cp_skeleton[] = {"cp", "-R", "--", skeleton, (char *)dir, NULL};
	char *cp_readme[] = {"cp", "--", readme, (char *)dir, NULL};
	if (lab_run(cp_skeleton, NULL) != 0 || lab_run(cp_readme, NULL) != 0) {
		fprintf(stderr, "plexus lab: could not copy lab %d from %s/%s into %s\n", l->number,
		        PLEXUS_LABS_SRC, l->dir, dir);
		return EX_IOERR;
	}
	return EX_OK;
}

int lab_start(const lab *l, const char *dir)
{
	if (l->script)
		return lab_system(l, "start", dir);
	int code = s_prepare(dir);
	if (code == EX_OK)
		code = s_copy(l, dir);
	if (code != EX_OK)
		return code;
	printf("Lab %d: %s (about %d minutes)\n"
	       "  %s\n\n"
	       "The task is in %s/README.md; read first: %s.\n"
	       "The checks start their own etcd and run your driver as a real service: there is\n"
	       "nothing to boot. To try it by hand, README.md shows how with `plexus up`.\n\n"
	       "When you are ready:  plexus lab check %d %s\n",
	       l->number, l->title, l->minutes, l->goal, dir, l->read, l->number, dir);
	return EX_OK;
}
