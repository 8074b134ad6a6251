/*
 * b_text.c — the builtins that read streams: head, tail, wc, dd.
 *
 * Entry points: sh_b_head, sh_b_tail, sh_b_wc, sh_b_dd.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sh.h"

/* A count with an optional K, M or G suffix (powers of 1024). Returns 0 or -EINVAL. */
static int s_number(const char *text, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno || end == text || text[0] == '-')
		return -EINVAL;
	int shift = 0;
	switch (toupper((unsigned char)*end)) {
	case 'K':
		shift = 10;
		break;
	case 'M':
		shift = 20;
		break;
	case 'G':
		shift = 30;
		break;
	case 0:
		break;
	default:
		return -EINVAL;
	}
	if (shift && end[1])
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

/* Opens operand name for reading ("-" is the input); returns 0 or reports and returns 1. */
static int s_input(sh_io *io, const char *name, sh_fd *fd)
{
	if (strcmp(name, "-") == 0) {
		*fd = io->in;
		return 0;
	}
	int rc = sh_path_open(io, sh_path_parse(name), O_RDONLY, 0, fd);
	return rc < 0 ? sh_fail(io, name, rc) : 0;
}

static void s_input_done(sh_io *io, const char *name, sh_fd fd)
{
	if (strcmp(name, "-") != 0)
		sh_close(io, fd);
}

/* The first lines lines of fd to the output. */
static int s_head(sh_io *io, sh_fd fd, uint64_t lines, const char *name)
{
	char *buf = malloc(SH_BUF);
	if (!buf)
		return sh_fail(io, NULL, ENOMEM);
	int rc = 0;
	while (lines && rc == 0) {
		ssize_t n = sh_read(io, fd, buf, SH_BUF);
		if (n <= 0) {
			rc = n < 0 ? sh_fail(io, name, (int)n) : 0;
			break;
		}
		size_t take = 0;
		while (take < (size_t)n && lines)
			if (buf[take++] == '\n')
				lines--;
		if (sh_write_all(io, io->out, buf, take) < 0)
			rc = 1;
	}
	free(buf);
	return rc;
}

/* Runs fn over every operand (or the input), with "==> NAME <==" before each when several. */
static int s_each(sh_io *io, int argc, char **argv, int first, uint64_t lines,
                  int (*fn)(sh_io *, sh_fd, uint64_t, const char *))
{
	char *dash[] = {"-"};
	char **names = first < argc ? argv + first : dash;
	int n = first < argc ? argc - first : 1, status = 0;
	for (int i = 0; i < n; i++) {
		sh_fd fd;
		if (s_input(io, names[i], &fd)) {
			status = 1;
			continue;
		}
		if (n > 1)
			sh_printf(io, "%s==> %s <==\n", i ? "\n" : "", names[i]);
		status |= fn(io, fd, lines, names[i]);
		s_input_done(io, names[i], fd);
	}
	return status;
}

static int s_lines_opt(sh_io *io, const sh_opts *o, uint64_t *lines)
{
	*lines = 10;
	if (o->set['n'] && s_number(o->value['n'], lines) < 0) {
		sh_eprintf(io, "%s: %s: not a count of lines\n", io->name, o->value['n']);
		return 2;
	}
	return 0;
}

int sh_b_head(sh_io *io, int argc, char **argv)
{
	sh_opts o;
	uint64_t lines;
	if (sh_getopts(io, argc, argv, "n:", &o) || s_lines_opt(io, &o, &lines))
		return 2;
	return s_each(io, argc, argv, o.next, lines, s_head);
}

/* Reads all of fd into *buf (*len bytes). Returns 0 or -errno. */
static int s_slurp(sh_io *io, sh_fd fd, char **buf, size_t *len)
{
	size_t cap = SH_BUF, n = 0;
	char *b = malloc(cap);
	for (;;) {
		if (!b)
			return -ENOMEM;
		ssize_t got = sh_read(io, fd, b + n, cap - n);
		if (got < 0) {
			free(b);
			return (int)got;
		}
		if (got == 0)
			break;
		n += (size_t)got;
		if (n == cap) {
			char *grown = realloc(b, cap *= 2);
			if (!grown)
				free(b);
			b = grown;
		}
	}
	*buf = b;
	*len = n;
	return 0;
}

static int s_tail(sh_io *io, sh_fd fd, uint64_t lines, const char *name)
{
	char *buf = NULL;
	size_t len = 0;
	int rc = s_slurp(io, fd, &buf, &len);
	if (rc < 0)
		return sh_fail(io, name, rc);
	size_t start = len;
	if (start && buf[start - 1] == '\n')
		start--; /* the last line's own newline */
	for (uint64_t seen = 0; start > 0; start--)
		if (buf[start - 1] == '\n' && ++seen == lines)
			break;
	rc = sh_write_all(io, io->out, buf + start, len - start) < 0;
	free(buf);
	return rc;
}

int sh_b_tail(sh_io *io, int argc, char **argv)
{
	sh_opts o;
	uint64_t lines;
	if (sh_getopts(io, argc, argv, "n:", &o) || s_lines_opt(io, &o, &lines))
		return 2;
	if (lines == 0)
		return 0;
	return s_each(io, argc, argv, o.next, lines, s_tail);
}

typedef struct counts {
	uint64_t lines, words, bytes;
} counts;

static int s_count(sh_io *io, sh_fd fd, counts *c)
{
	char *buf = malloc(SH_BUF);
	bool in_word = false;
	if (!buf)
		return -ENOMEM;
	ssize_t n;
	while ((n = sh_read(io, fd, buf, SH_BUF)) > 0) {
		c->bytes += (uint64_t)n;
		for (ssize_t i = 0; i < n; i++) {
			bool space = isspace((unsigned char)buf[i]);
			c->lines += buf[i] == '\n';
			c->words += !space && !in_word;
			in_word = !space;
		}
	}
	free(buf);
	return n < 0 ? (int)n : 0;
}

static void s_print_counts(sh_io *io, const sh_opts *o, const counts *c, const char *name)
{
	bool all = !o->set['l'] && !o->set['w'] && !o->set['c'];
	const char *sep = "";
	if (all || o->set['l'])
		sh_printf(io, "%" PRIu64, c->lines), sep = " ";
	if (all || o->set['w'])
		sh_printf(io, "%s%" PRIu64, sep, c->words), sep = " ";
	if (all || o->set['c'])
		sh_printf(io, "%s%" PRIu64, sep, c->bytes);
	sh_printf(io, "%s%s\n", name ? " " : "", name ? name : "");
}

int sh_b_wc(sh_io *io, int argc, char **argv)
{
	sh_opts o;
	if (sh_getopts(io, argc, argv, "lwc", &o))
		return 2;
	counts total = {0};
	int status = 0;
	for (int i = o.next; i < argc || i == o.next; i++) {
		const char *name = i < argc ? argv[i] : "-";
		sh_fd fd;
		if (s_input(io, name, &fd)) {
			status = 1;
			continue;
		}
		counts c = {0};
		int rc = s_count(io, fd, &c);
		s_input_done(io, name, fd);
		if (rc < 0) {
			status = sh_fail(io, name, rc);
			continue;
		}
		s_print_counts(io, &o, &c, i < argc ? name : NULL);
		total.lines += c.lines, total.words += c.words, total.bytes += c.bytes;
	}
	if (argc - o.next > 1)
		s_print_counts(io, &o, &total, "total");
	return status;
}

/* ---- dd ---- */

typedef struct dd_args {
	const char *in, *out;
	uint64_t bs, count, skip, seek;
	bool has_count;
} dd_args;

static int s_dd_args(sh_io *io, int argc, char **argv, dd_args *a)
{
	*a = (dd_args){.bs = 512};
	for (int i = 1; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		const char *v = eq ? eq + 1 : "";
		size_t klen = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);
		int rc = 0;
		if (klen == 2 && strncmp(argv[i], "if", 2) == 0)
			a->in = v;
		else if (klen == 2 && strncmp(argv[i], "of", 2) == 0)
			a->out = v;
		else if (klen == 2 && strncmp(argv[i], "bs", 2) == 0)
			rc = s_number(v, &a->bs);
		else if (klen == 5 && strncmp(argv[i], "count", 5) == 0)
			rc = s_number(v, &a->count), a->has_count = true;
		else if (klen == 4 && strncmp(argv[i], "skip", 4) == 0)
			rc = s_number(v, &a->skip);
		else if (klen == 4 && strncmp(argv[i], "seek", 4) == 0)
			rc = s_number(v, &a->seek);
		else
			rc = -EINVAL;
		if (rc < 0 || a->bs == 0) {
			sh_eprintf(io,
			           "dd: bad operand '%s'\n"
			           "usage: dd [if=F] [of=F] [bs=N] [count=N] [skip=N] [seek=N]\n",
			           argv[i]);
			return 2;
		}
	}
	return 0;
}

static off_t s_seek(sh_io *io, sh_fd fd, off_t to)
{
	return fd.host ? lseek(fd.fd, to, SEEK_SET) : plexus_lseek(io->px, fd.fd, to, SEEK_SET);
}

/* Skips n blocks of the input: a seek, or reading them when it cannot seek. */
static int s_dd_skip(sh_io *io, sh_fd in, const dd_args *a, char *buf)
{
	if (!a->skip || s_seek(io, in, (off_t)(a->skip * a->bs)) >= 0)
		return 0;
	for (uint64_t i = 0; i < a->skip; i++) {
		ssize_t n = sh_read(io, in, buf, a->bs);
		if (n <= 0)
			return (int)n;
	}
	return 0;
}

/* The copy: records in and out (full and partial), bytes. */
static int s_dd_copy(sh_io *io, sh_fd in, sh_fd out, const dd_args *a, char *buf)
{
	uint64_t full_in = 0, part_in = 0, full_out = 0, part_out = 0, bytes = 0;
	int rc = 0;
	while (!a->has_count || full_in + part_in < a->count) {
		ssize_t n = sh_read(io, in, buf, a->bs);
		if (n <= 0) {
			rc = n < 0 ? sh_fail(io, a->in ? a->in : "read", (int)n) : 0;
			break;
		}
		*((uint64_t)n == a->bs ? &full_in : &part_in) += 1;
		if (sh_write_all(io, out, buf, (size_t)n) < 0) {
			rc = sh_fail(io, a->out ? a->out : "write", errno);
			break;
		}
		*((uint64_t)n == a->bs ? &full_out : &part_out) += 1;
		bytes += (uint64_t)n;
	}
	sh_eprintf(io,
	           "%" PRIu64 "+%" PRIu64 " records in\n%" PRIu64 "+%" PRIu64
	           " records out\n%" PRIu64 " bytes copied\n",
	           full_in, part_in, full_out, part_out, bytes);
	return rc;
}

int sh_b_dd(sh_io *io, int argc, char **argv)
{
	dd_args a;
	if (s_dd_args(io, argc, argv, &a))
		return 2;
	sh_fd in = io->in, out = io->out;
	int rc = 0;
	if (a.in && (rc = sh_path_open(io, sh_path_parse(a.in), O_RDONLY, 0, &in)) < 0)
		return sh_fail(io, a.in, rc);
	int oflags = O_WRONLY | O_CREAT | (a.seek ? 0 : O_TRUNC);
	if (a.out && (rc = sh_path_open(io, sh_path_parse(a.out), oflags, 0666, &out)) < 0) {
		if (a.in)
			sh_close(io, in);
		return sh_fail(io, a.out, rc);
	}
	char *buf = malloc(a.bs);
	int status = !buf ? sh_fail(io, NULL, ENOMEM) : 0;
	if (status == 0 && (rc = s_dd_skip(io, in, &a, buf)) < 0)
		status = sh_fail(io, a.in ? a.in : "skip", rc);
	if (status == 0 && a.seek && s_seek(io, out, (off_t)(a.seek * a.bs)) < 0)
		status = sh_fail(io, a.out ? a.out : "seek", errno);
	if (status == 0)
		status = s_dd_copy(io, in, out, &a, buf);
	free(buf);
	if (a.in)
		sh_close(io, in);
	if (a.out && (rc = sh_close(io, out)) < 0 && status == 0)
		status = sh_fail(io, a.out, rc);
	return status;
}
