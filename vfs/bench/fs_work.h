/*
 * fs_work.h — the real-work cases of `plexus bench fs` (fs-work.c): a generated source tree
 * unpacked, searched, committed to git and removed, each step timed, in any directory.
 *
 * Entry points: fs_work_tarball, fs_work_run.
 */
#ifndef PLEXUS_FS_WORK_H
#define PLEXUS_FS_WORK_H

#include <stddef.h>

enum { FS_WORK_UNTAR, FS_WORK_GREP, FS_WORK_GIT, FS_WORK_RM, FS_WORK_STEPS };

/* The steps' case names: untar, grep, git_commit, rm_rf. */
extern const char *const fs_work_names[FS_WORK_STEPS];

/* Writes tar (a path) holding src/: files text files in directories of 50, sizes 512 B to
 * 16.5 KiB, the same bytes (and tar header fields) on every run. Returns 0, or a negative
 * errno with one line in err. */
int fs_work_tarball(const char *tar, int files, char *err, size_t size);

/* In dir: tar -xf tar, grep -r over the tree, git init + add -A + commit, rm -rf, setting
 * secs[] to each step's wall time. Returns 0, or a negative errno with one line in err naming
 * the step that failed (its messages went to standard error). */
int fs_work_run(const char *dir, const char *tar, double secs[FS_WORK_STEPS], char *err,
                size_t size);

#endif
