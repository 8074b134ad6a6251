/*
 * claims-root.c — an LD_PRELOAD shim for test-up-secure: the process says it is root
 * (getuid, geteuid, getgid, getegid answer 0; no supplementary groups) while the kernel
 * knows better. libplexus then claims uid 0 in VFS_REGISTER, as a forger would.
 *
 * Entry points: getuid, geteuid, getgid, getegid, getgroups.
 */
#include <sys/types.h>
#include <unistd.h>

uid_t getuid(void)
{
	return 0;
}

uid_t geteuid(void)
{
	return 0;
}

gid_t getgid(void)
{
	return 0;
}

gid_t getegid(void)
{
	return 0;
}

int getgroups(int size, gid_t list[])
{
	(void)size, (void)list;
	return 0;
}
