/*
 * fs-work.c — real work on a file system for `plexus bench fs`: a deterministic source tree
 * made once as a tarball, then per directory measured: untar, `grep -r`, `git init && git add
 * -A && git commit`, `rm -rf`, each by the usual tools (tar, grep, git, rm).
 *
 * Entry points: fs_work_tarball, fs_work_run.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"
#include "fs_mounts.h"
#include "fs_work.h"

#define S_PER_DIR 50

const char *const fs_work_names[FS_WORK_STEPS] = {"untar", "grep", "git_commit", "rm_rf"};

/* File i: lines of text, one in 40 holding the word grep looks for. */
static int s_write_source(const char *path, int i)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	size_t want = 512 + (size_t)(i * 7919u % 16384u), have = 0;
	for (int line = 0; have < want; line++) {
		int n = fprintf(f, "/* line %d of file %d: %s */\n", line, i,
		                line % 40 == 7 ? "plexus_needle" : "nothing to see here");
		if (n < 0)
			break;
		have += (size_t)n;
	}
	return fclose(f) == 0 && have >= want ? 0 : -EIO;
}

static int s_make_tree(const char *top, int files)
{
	char path[512];
	snprintf(path, sizeof path, "%s/src", top);
	if (mkdir(path, 0755) < 0)
		return -errno;
	for (int i = 0; i < files; i++) {
		snprintf(path, sizeof path, "%s/src/d%03d", top, i / S_PER_DIR);
		if (i % S_PER_DIR == 0 && mkdir(path, 0755) < 0)
			return -errno;
		snprintf(path, sizeof path, "%s/src/d%03d/f%05d.c", top, i / S_PER_DIR, i);
		int rc = s_write_source(path, i);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int fs_work_tarball(const char *tar, int files, char *err, size_t size)
{
	char top[] = "/dev/shm/plexus-benchfs-tree-XXXXXX";
	if (!mkdtemp(top)) {
		snprintf(err, size, "mkdtemp: %s", strerror(errno));
		return -errno;
	}
	int rc = s_make_tree(top, files);
	char *argv[] = {
	    "tar", "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner",
	    "-cf", (char *)tar,   "-C",         top,         "src",       NULL};
	if (rc == 0 && fs_run(argv, true) != 0)
		rc = -EIO;
	fs_run((char *[]){"rm", "-rf", top, NULL}, true);
	if (rc < 0)
		snprintf(err, size, "the source tree's tarball %s: %s", tar, strerror(-rc));
	return rc;
}

/* Runs a shell script with $1 = the work directory, $2 = the tarball. */
static int s_step(const char *script, const char *work, const char *tar)
{
	char *argv[] = {"sh", "-ec", (char *)script, "sh", (char *)work, (char *)tar, NULL};
	return fs_run(argv, true) == 0 ? 0 : -EIO;
}

int fs_work_run(const char *dir, const char *tar, double secs[FS_WORK_STEPS], char *err,
                size_t size)
{
	static const char *const scripts[FS_WORK_STEPS] = {
	    "mkdir \"$1\"; tar -xf \"$2\" -C \"$1\"",
	    "grep -r plexus_needle \"$1\"",
	    "cd \"$1\"; git -c init.defaultBranch=main init -q; git add -A; "
	    "git -c user.name=bench -c user.email=bench@plexus.invalid commit -q -m tree",
	    "rm -rf \"$1\"",
	};
	char work[600];
	snprintf(work, sizeof work, "%s/work", dir);
	for (int s = 0; s < FS_WORK_STEPS; s++) {
		uint64_t start = bench_now_ns();
		if (s_step(scripts[s], work, tar) < 0) {
			snprintf(err, size, "%s in %s failed", fs_work_names[s], work);
			fs_run((char *[]){"rm", "-rf", work, NULL}, true);
			return -EIO;
		}
		secs[s] = (double)(bench_now_ns() - start) / 1e9;
	}
	return 0;
}
