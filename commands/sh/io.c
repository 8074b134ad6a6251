/*
 * io.c — reading and writing where a builtin's descriptors point: a Plexus descriptor or the
 * host's terminal (or whatever the host's 0, 1, 2 are).
 *
 * Entry points: sh_read, sh_write_all, sh_printf, sh_eprintf, sh_fail, sh_close.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sh.h"

ssize_t sh_read(sh_io *io, sh_fd fd, void *buf, size_t size)
{
	ssize_t n;
	do
		n = fd.host ? read(fd.fd, buf, size) : plexus_read(io->px, fd.fd, buf, size);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

int sh_write_all(sh_io *io, sh_fd fd, const void *buf, size_t size)
{
	const char *p = buf;
	while (size) {
		ssize_t n = fd.host ? write(fd.fd, p, size) : plexus_write(io->px, fd.fd, p, size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		size -= (size_t)n;
	}
	return 0;
}

static int s_vprintf(sh_io *io, sh_fd fd, const char *fmt, va_list ap)
{
	char small[512], *text = small;
	va_list copy;
	va_copy(copy, ap);
	int len = vsnprintf(small, sizeof small, fmt, ap);
	if (len >= (int)sizeof small) {
		text = malloc((size_t)len + 1);
		if (text)
			vsnprintf(text, (size_t)len + 1, fmt, copy);
	}
	va_end(copy);
	if (len < 0 || !text)
		return -ENOMEM;
	int rc = sh_write_all(io, fd, text, (size_t)len);
	if (text != small)
		free(text);
	return rc;
}

int sh_printf(sh_io *io, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = s_vprintf(io, io->out, fmt, ap);
	va_end(ap);
	return rc;
}

int sh_eprintf(sh_io *io, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = s_vprintf(io, io->err, fmt, ap);
	va_end(ap);
	return rc;
}

int sh_fail(sh_io *io, const char *what, int err)
{
	if (err < 0)
		err = -err;
	if (err == EPIPE)
		return 1; /* the reader went away: nothing to say, as SIGPIPE says nothing */
	if (what)
		sh_eprintf(io, "%s: %s: %s\n", io->name, what, strerror(err));
	else
		sh_eprintf(io, "%s: %s\n", io->name, strerror(err));
	return 1;
}

int sh_close(sh_io *io, sh_fd fd)
{
	int rc = fd.host ? close(fd.fd) : plexus_close(io->px, fd.fd);
	return rc < 0 ? -errno : 0;
}
