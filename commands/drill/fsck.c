/*
 * fsck.c — the drill's last check: fsck.minix -f on a copy of /data's disk image (drill.h,
 * docs/drills.md "The workload").
 *
 * Entry points: drill_fsck, drill_data_image.
 *
 * With the writers stopped, a sync puts every dirty block on the disk; the image that the
 * disk driver of /data (the service vdisk: its --image in the cluster file of the running
 * `plexus up`, $PLEXUS_STATE_DIR/cluster.ini) serves is copied and util-linux's fsck.minix -f
 * reads the copy, so the check never touches the live image.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <plexus/cluster.h>
#include <plexus/plexus.h>

#include "drill.h"

extern char **environ;

int drill_data_image(char *out, size_t size)
{
	const char *dir = getenv("PLEXUS_STATE_DIR");
	char path[PATH_MAX], err[512];
	if (!dir || !*dir)
		return -ENOENT;
	snprintf(path, sizeof path, "%s/cluster.ini", dir);
	plx_cluster *c = plx_cluster_load(path, NULL, err, sizeof err);
	const plx_cluster_service *s = c ? plx_cluster_find_service(c, "vdisk") : NULL;
	int rc = -ENOENT;
	for (size_t i = 0; s && i + 1 < s->argc; i++)
		if (strcmp(s->argv[i], "--image") == 0) {
			snprintf(out, size, "%s", s->argv[i + 1]);
			rc = 0;
		}
	plx_cluster_destroy(&c);
	return rc;
}

/* Runs argv with its output into out_fd (or /dev/null when -1). Returns its exit status or -1. */
static int s_run(char *const argv[], int out_fd)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	if (out_fd >= 0) {
		posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
		posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
	} else {
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	}
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	int status;
	if (rc != 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The sync before the copy: EIO once is VFS reporting changes a killed instance took with it
 * (the journal allowed for them); the sync was done all the same. */
static void s_sync(void)
{
	plexus_opts o;
	plexus_opts_init(&o);
	o.name = "drill-sync";
	plexus *px = plexus_connect(&o);
	if (px && plexus_sync(px) < 0 && errno == EIO)
		plexus_sync(px);
	plexus_disconnect(&px);
}

int drill_fsck(char *verdict, size_t size)
{
	char image[PATH_MAX], dir[] = "/tmp/plexus-drill-XXXXXX", copy[PATH_MAX + 16];
	char out[PATH_MAX + 16];
	if (drill_data_image(image, sizeof image) < 0)
		return snprintf(verdict, size, "skipped: no disk image of /data known"), 0;
	if (!mkdtemp(dir))
		return snprintf(verdict, size, "skipped: %s", strerror(errno)), 0;
	snprintf(copy, sizeof copy, "%s/copy.img", dir);
	snprintf(out, sizeof out, "%s/fsck.out", dir);
	s_sync();
	char *cp[] = {"cp", "--sparse=always", image, copy, NULL};
	char *fsck[] = {"fsck.minix", "-f", copy, NULL};
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int rc = s_run(cp, -1) == 0 ? s_run(fsck, fd) : -2;
	if (fd >= 0)
		close(fd);
	char text[256] = "";
	FILE *f = fopen(out, "re");
	if (f) {
		size_t n = fread(text, 1, sizeof text - 1, f);
		text[n] = '\0';
		fclose(f);
	}
	for (char *p = text; *p; p++)
		if (*p == '\n')
			*p = ' ';
	unlink(copy);
	unlink(out);
	rmdir(dir);
	if (rc == -2)
		return snprintf(verdict, size, "skipped: cannot copy %s", image), 0;
	if (rc == 0)
		return snprintf(verdict, size, "clean"), 0;
	snprintf(verdict, size, "not clean (fsck.minix -f exit %d): %.160s", rc, text);
	return -1;
}
