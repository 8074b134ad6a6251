/*
 * fdstore.c — descriptors a service leaves to its next generation (docs/node-kernel.md "The
 * descriptor store"): the memory of a RAM disk, so that killing the memory driver costs a
 * restart and not the root file system.
 *
 * Entry points: node_fdstore_init, node_fdstore_prepare, node_fdstore_env, node_fdstore_child,
 * node_fdstore_collect, node_fdstore_fini.
 *
 * Each instance gets one end of a SOCK_SEQPACKET socket pair as descriptor 3
 * (PLEXUS_FDSTORE=3) and sends a name and a descriptor (SCM_RIGHTS) down it for each thing to
 * keep (plx_service_fd_store). The node kernel reads nothing while the instance runs: the
 * descriptors wait in the socket, and when the instance has exited the node kernel takes them
 * (the last one sent under a name wins). The next instance started as a restart
 * (PLEXUS_INIT=restart, RS after a crash or a hang) finds them as descriptors 4 and up, named
 * in PLEXUS_FDS ("name=4,name=5"); a fresh start drops them, and so does the node kernel's own
 * end: the memory is freed when nobody holds it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <plexus/log.h>

#include "node.h"

#define S_STORE_FD 3 /* the store socket in the service; kept descriptors follow */

void node_fdstore_init(node_fdstore *self)
{
	memset(self, 0, sizeof *self);
	self->sock = -1;
}

static void s_drop(node_fdstore *self)
{
	for (int i = 0; i < self->nkept; i++)
		close(self->kept[i].fd);
	self->nkept = 0;
}

int node_fdstore_prepare(node_fdstore *self, bool restart, int *child)
{
	if (!restart)
		s_drop(self);
	if (self->sock >= 0)
		close(self->sock);
	int sv[2];
	self->sock = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	self->sock = sv[0];
	shutdown(sv[0], SHUT_WR); /* the service only sends */
	*child = sv[1];
	return 0;
}

int node_fdstore_env(const node_fdstore *self, char *buf, size_t size)
{
	int n = snprintf(buf, size, "PLEXUS_FDS=");
	for (int i = 0; i < self->nkept && n > 0 && (size_t)n < size; i++)
		n += snprintf(buf + n, size - (size_t)n, "%s%s=%d", i ? "," : "",
		              self->kept[i].name, S_STORE_FD + 1 + i);
	return n > 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
}

void node_fdstore_child(const node_fdstore *self, int child)
{
	int tmp[NODE_KEPT_MAX + 1], n = self->nkept;
	tmp[0] = fcntl(child, F_DUPFD, 64); /* out of the way of the numbers they go to */
	for (int i = 0; i < n; i++)
		tmp[1 + i] = fcntl(self->kept[i].fd, F_DUPFD, 64);
	for (int i = 0; i <= n; i++)
		if (tmp[i] < 0 || dup2(tmp[i], S_STORE_FD + i) < 0) /* dup2: no close-on-exec */
			_exit(127);
}

/* Keeps fd under name (replacing what was kept under it). */
static void s_keep(node_fdstore *self, const char *name, int fd)
{
	for (int i = 0; i < self->nkept; i++)
		if (strcmp(self->kept[i].name, name) == 0) {
			close(self->kept[i].fd);
			self->kept[i].fd = fd;
			return;
		}
	if (self->nkept == NODE_KEPT_MAX) {
		plx_log(PLX_LOG_WARN, "a service kept more than %d descriptors: %s dropped",
		        NODE_KEPT_MAX, name);
		close(fd);
		return;
	}
	snprintf(self->kept[self->nkept].name, sizeof self->kept[0].name, "%s", name);
	self->kept[self->nkept++].fd = fd;
}

/* One message of the store socket: 1 when taken, 0 when none is left. */
static int s_take_one(node_fdstore *self)
{
	char name[NODE_KEPT_NAME];
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = {.iov_base = name, .iov_len = sizeof name - 1};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl};
	ssize_t len = recvmsg(self->sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (len <= 0)
		return 0;
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	int fd = -1;
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
	    c->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(c), sizeof fd);
	name[len] = '\0';
	bool ok = fd >= 0 && !(mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) && name[0] &&
	          !strpbrk(name, "=,") && strlen(name) == (size_t)len;
	if (ok)
		s_keep(self, name, fd);
	else if (fd >= 0)
		close(fd); /* a malformed message: nothing kept */
	return 1;
}

void node_fdstore_collect(node_fdstore *self)
{
	if (self->sock < 0)
		return;
	while (s_take_one(self))
		;
	close(self->sock);
	self->sock = -1;
}

void node_fdstore_fini(node_fdstore *self)
{
	s_drop(self);
	if (self->sock >= 0)
		close(self->sock);
	self->sock = -1;
}
