/*
 * line.c — the line discipline: what a terminal does with the bytes typed at it and written
 * to it.
 *
 * Entry points: tty_init, tty_input, tty_output, tty_readable, tty_read, tty_set_mode,
 * tty_flush, ttybuf_put, ttybuf_get, ttybuf_space.
 *
 * Canonical mode collects a line, with DEL or ^H erasing a character and ^U the line; newline
 * (or carriage return) ends it and ^D ends it without itself, so ^D on an empty line is an end
 * of file: that read returns 0. A read returns at most one line. Raw mode passes bytes on as
 * they come. Echo writes what is typed back to the output ("\b \b" for an erase).
 */
#include <string.h>
#include <unistd.h>

#include "tty.h"

#include "plexus/proto/cdev.pb-c.h"

#define S_CANON PLEXUS__TTY_MODE__TTY_CANON
#define S_ECHO  PLEXUS__TTY_MODE__TTY_ECHO

size_t ttybuf_space(const ttybuf *b)
{
	return TTY_BUF_MAX - b->len;
}

size_t ttybuf_put(ttybuf *b, const char *data, size_t size)
{
	size_t n = size < ttybuf_space(b) ? size : ttybuf_space(b);
	for (size_t i = 0; i < n; i++)
		b->data[(b->head + b->len + i) % TTY_BUF_MAX] = data[i];
	b->len += n;
	return n;
}

size_t ttybuf_get(ttybuf *b, char *buf, size_t size)
{
	size_t n = size < b->len ? size : b->len;
	for (size_t i = 0; i < n; i++)
		buf[i] = b->data[(b->head + i) % TTY_BUF_MAX];
	b->head = (b->head + n) % TTY_BUF_MAX;
	b->len -= n;
	return n;
}

void tty_init(tty *t, int out_fd)
{
	memset(t, 0, sizeof *t);
	t->mode = S_CANON | S_ECHO;
	t->out_fd = out_fd;
	t->is_pty = out_fd < 0;
}

size_t tty_output(tty *t, const char *data, size_t size)
{
	if (t->is_pty)
		return ttybuf_put(&t->out, data, size);
	for (size_t done = 0; done < size;) {
		ssize_t n = write(t->out_fd, data + done, size - done);
		if (n <= 0)
			break; /* a console that cannot be written loses the output, as a real one
			        */
		done += (size_t)n;
	}
	return size;
}

static void s_echo(tty *t, const char *text, size_t size)
{
	if (t->mode & S_ECHO)
		tty_output(t, text, size);
}

/* Moves the line being edited to the input; with a break when it ends a line. */
static void s_commit(tty *t, bool line_end)
{
	t->in_added += ttybuf_put(&t->in, t->line, t->line_len);
	t->line_len = 0;
	if (line_end && t->nbreaks < TTY_BREAKS_MAX)
		t->breaks[t->nbreaks++] = t->in_added;
}

static void s_canon(tty *t, char c)
{
	if (c == TTY_ERASE || c == '\b') {
		if (t->line_len > 0) {
			t->line_len--;
			s_echo(t, "\b \b", 3);
		}
	} else if (c == TTY_KILL) {
		for (; t->line_len > 0; t->line_len--)
			s_echo(t, "\b \b", 3);
	} else if (c == TTY_EOF) {
		s_commit(t, true);
	} else if (c == '\n' || c == '\r') {
		if (t->line_len < TTY_LINE_MAX)
			t->line[t->line_len++] = '\n';
		s_echo(t, "\n", 1);
		s_commit(t, true);
	} else if (t->line_len < TTY_LINE_MAX - 1) {
		t->line[t->line_len++] = c; /* the last place is kept for the newline */
		s_echo(t, &c, 1);
	}
}

void tty_input(tty *t, const char *data, size_t size)
{
	for (size_t i = 0; i < size; i++) {
		if (t->mode & S_CANON) {
			s_canon(t, data[i]);
		} else {
			t->in_added += ttybuf_put(&t->in, data + i, 1);
			s_echo(t, data + i, 1);
		}
	}
}

bool tty_readable(const tty *t)
{
	if (t->mode & S_CANON)
		return t->nbreaks > 0;
	return t->in.len > 0;
}

size_t tty_read(tty *t, char *buf, size_t size)
{
	size_t n = size;
	if ((t->mode & S_CANON) && t->nbreaks > 0 && t->breaks[0] - t->in_taken < n)
		n = (size_t)(t->breaks[0] - t->in_taken); /* one line at most */
	n = ttybuf_get(&t->in, buf, n);
	t->in_taken += n;
	while (t->nbreaks > 0 && t->breaks[0] <= t->in_taken) { /* that line is done */
		memmove(t->breaks, t->breaks + 1, (t->nbreaks - 1) * sizeof *t->breaks);
		t->nbreaks--;
		if (n > 0)
			break; /* an EOF right after this line is for the next read */
	}
	return n;
}

void tty_set_mode(tty *t, uint32_t mode)
{
	if ((t->mode & S_CANON) && !(mode & S_CANON))
		s_commit(t, false);
	if (!(mode & S_CANON))
		t->nbreaks = 0; /* raw reads take whatever is there */
	t->mode = mode;
}

void tty_flush(tty *t)
{
	char sink[256];
	while (t->in.len > 0)
		t->in_taken += ttybuf_get(&t->in, sink, sizeof sink);
	t->line_len = 0;
	t->nbreaks = 0;
}
