/*
 * service_fds.c — descriptors a service keeps for its next generation in its node kernel's
 * descriptor store (docs/node-kernel.md "The descriptor store"; plexus/service.h).
 *
 * Entry points: plx_service_fd_store, plx_service_fd_restore.
 *
 * The node kernel gives each instance the store's socket as the descriptor PLEXUS_FDSTORE
 * names, and what the previous instance kept as the descriptors PLEXUS_FDS lists
 * ("name=4,name=5"), only when RS restarted the service.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <plexus/service.h>

/* The number of an environment variable that names a descriptor, or -1. */
static int s_env_fd(const char *name)
{
	const char *v = getenv(name);
	char *end;
	long fd = v && *v ? strtol(v, &end, 10) : -1;
	return fd >= 0 && fd < 1 << 20 && v && *end == '\0' ? (int)fd : -1;
}

int plx_service_fd_store(const char *name, int fd)
{
	size_t len = name ? strlen(name) : 0;
	if (len == 0 || len >= PLX_SERVICE_FD_NAME || strpbrk(name, "=,") || fd < 0)
		return -EINVAL;
	int sock = s_env_fd("PLEXUS_FDSTORE");
	if (sock < 0)
		return -ENOTSUP; /* not started by a node kernel */
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	memset(&ctl, 0, sizeof ctl);
	struct iovec iov = {.iov_base = (void *)name, .iov_len = len};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof fd);
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -errno;
}

int plx_service_fd_restore(const char *name)
{
	const char *list = getenv("PLEXUS_FDS");
	size_t len = name ? strlen(name) : 0;
	for (const char *p = list && len ? list : ""; *p;) {
		const char *eq = strchr(p, '='), *comma = strchr(p, ',');
		if (!eq || (comma && comma < eq))
			break;
		if ((size_t)(eq - p) == len && strncmp(p, name, len) == 0) {
			int fd = atoi(eq + 1);
			return fd >= 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) == 0 ? fd : -ENOENT;
		}
		p = comma ? comma + 1 : "";
	}
	return -ENOENT;
}
