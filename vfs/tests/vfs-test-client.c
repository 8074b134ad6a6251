/*
 * vfs-test-client.c — a client process for test-vfs-clients: connects with libplexus, opens
 * files and holds them, then waits to be killed.
 *
 * Entry points: main.
 *
 * usage: vfs-test-client DIR NFILES BIGSIZE
 * Makes DIR, opens NFILES files in it (written to), and one more of BIGSIZE bytes that it
 * unlinks while holding it open (its blocks come back only when VFS gives its inode back).
 * Prints "ready" and sleeps until killed. Settings come from PLEXUS_ETCD, PLEXUS_CLUSTER,
 * PLEXUS_NODE and PLEXUS_ADDR.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <plexus/plexus.h>

static int s_fail(const char *what)
{
	perror(what);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 4)
		return 2;
	const char *dir = argv[1];
	int nfiles = atoi(argv[2]);
	size_t big = (size_t)atol(argv[3]);
	plexus *p = plexus_connect(NULL);
	if (!p)
		return s_fail("plexus_connect");
	if (plexus_mkdir(p, dir, 0755) < 0)
		return s_fail("mkdir");
	char path[512];
	for (int i = 0; i < nfiles; i++) {
		snprintf(path, sizeof path, "%s/f%d", dir, i);
		int fd = plexus_open(p, path, O_CREAT | O_RDWR, 0644);
		if (fd < 0 || plexus_write(p, fd, path, strlen(path)) < 0)
			return s_fail("open/write");
	}
	char *data = malloc(big ? big : 1);
	if (data)
		memset(data, 'x',
		       big); /* not zeros: a file server may leave zero blocks as holes */
	snprintf(path, sizeof path, "%s/big", dir);
	int fd = plexus_open(p, path, O_CREAT | O_RDWR, 0644);
	if (!data || fd < 0 || plexus_write(p, fd, data, big) != (ssize_t)big ||
	    plexus_unlink(p, path) < 0)
		return s_fail("big");
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
