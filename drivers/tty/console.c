/*
 * console.c — the node console's input: a thread that reads the console device (or standard
 * input) and types what it reads at the console terminal.
 *
 * Entry points: console_start, console_stop.
 *
 * The thread waits in poll on the input and on a pipe that console_stop writes to. An end of
 * the input (standard input at /dev/null under plexus-node) ends the thread: the console then
 * has output only.
 */
#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "tty.h"

static void *s_reader(void *arg)
{
	ttys *self = arg;
	char buf[512];
	for (;;) {
		struct pollfd fds[2] = {{.fd = self->console_in, .events = POLLIN},
		                        {.fd = self->stop_pipe[0], .events = POLLIN}};
		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			break;
		if (fds[1].revents)
			break;
		if (!fds[0].revents)
			continue;
		ssize_t n = read(self->console_in, buf, sizeof buf);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		pthread_mutex_lock(&self->lock);
		tty_input(&self->console, buf, (size_t)n);
		self->typed(self, -1);
		pthread_mutex_unlock(&self->lock);
	}
	return NULL;
}

int console_start(ttys *self, void (*typed)(ttys *self, int k))
{
	if (self->console_in < 0 || self->reading)
		return 0;
	self->typed = typed;
	if (pipe(self->stop_pipe) < 0)
		return -errno;
	int rc = pthread_create(&self->reader, NULL, s_reader, self);
	if (rc != 0) {
		close(self->stop_pipe[0]);
		close(self->stop_pipe[1]);
		return -rc;
	}
	self->reading = true;
	return 0;
}

void console_stop(ttys *self)
{
	if (!self->reading)
		return;
	if (write(self->stop_pipe[1], "x", 1) < 0) {
		/* the reader has ended already */
	}
	pthread_join(self->reader, NULL);
	close(self->stop_pipe[0]);
	close(self->stop_pipe[1]);
	self->reading = false;
}
