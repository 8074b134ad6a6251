/*
 * keybundle.c — the keys a netbooted node fetches at boot, in one text (plexus/keybundle.h).
 *
 * Entry points: plx_keybundle_add, plx_keybundle_unpack.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <plexus/keybundle.h>

#define S_MAGIC    "plexus-keys-1\n"
#define S_NAME_MAX 32

typedef struct s_file {
	char name[S_NAME_MAX + 1];
	mode_t mode;
	const char *data;
	size_t n;
} s_file;

static bool s_name_ok(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > S_NAME_MAX || name[0] == '.')
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-") == len;
}

static bool s_mode_ok(mode_t mode)
{
	return mode == 0600 || mode == 0644;
}

int plx_keybundle_add(char *buf, size_t cap, size_t *len, const char *name, mode_t mode,
                      const void *data, size_t n)
{
	if (!s_name_ok(name) || !s_mode_ok(mode) || n > PLX_KEYBUNDLE_FILE_MAX)
		return -EINVAL;
	size_t at = *len;
	if (at == 0) {
		if (cap < sizeof S_MAGIC)
			return -ENOSPC;
		memcpy(buf, S_MAGIC, sizeof S_MAGIC - 1);
		at = sizeof S_MAGIC - 1;
	}
	if (at >= cap)
		return -ENOSPC;
	int head = snprintf(buf + at, cap - at, "%s %o %zu\n", name, (unsigned)mode, n);
	if (head < 0 || (size_t)head >= cap - at || cap - at - (size_t)head < n)
		return -ENOSPC;
	memcpy(buf + at + (size_t)head, data, n);
	*len = at + (size_t)head + n;
	return 0;
}

/* Reads one "NAME MODE LENGTH\n" line at *at and its content into *f. Returns 0 or -EBADMSG
 * with err set. */
static int s_parse_file(const char *text, size_t n, size_t *at, s_file *f, char *err, size_t size)
{
	const char *line = text + *at, *nl = memchr(line, '\n', n - *at);
	char head[96];
	if (!nl || (size_t)(nl - line) >= sizeof head) {
		snprintf(err, size, "key bundle: a file's line is cut or too long");
		return -EBADMSG;
	}
	memcpy(head, line, (size_t)(nl - line));
	head[nl - line] = '\0';
	char name[64], extra;
	unsigned mode;
	size_t len;
	if (sscanf(head, "%63s %o %zu %c", name, &mode, &len, &extra) != 3 || !s_name_ok(name) ||
	    !s_mode_ok(mode) || len > PLX_KEYBUNDLE_FILE_MAX) {
		snprintf(
		    err, size,
		    "key bundle: \"%.64s\": expected NAME (a-z 0-9 . _ -) MODE (600|644) LENGTH "
		    "(at most %d)",
		    head, PLX_KEYBUNDLE_FILE_MAX);
		return -EBADMSG;
	}
	size_t start = (size_t)(nl + 1 - text);
	if (n - start < len) {
		snprintf(err, size, "key bundle: %s: %zu bytes announced, %zu there", name, len,
		         n - start);
		return -EBADMSG;
	}
	snprintf(f->name, sizeof f->name, "%s", name);
	f->mode = (mode_t)mode;
	f->data = text + start;
	f->n = len;
	*at = start + len;
	return 0;
}

/* Writes f into dir through a temporary file and a rename. Returns 0 or -errno. */
static int s_write_file(const char *dir, const s_file *f)
{
	char path[4096], tmp[4096 + 8];
	snprintf(path, sizeof path, "%s/%s", dir, f->name);
	snprintf(tmp, sizeof tmp, "%s.new", path);
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, f->mode);
	if (fd < 0)
		return -errno;
	int rc = fchmod(fd, f->mode) == 0 && write(fd, f->data, f->n) == (ssize_t)f->n ? 0 : -EIO;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	return rc;
}

int plx_keybundle_unpack(const char *text, size_t n, const char *dir, char *err, size_t size)
{
	s_file files[PLX_KEYBUNDLE_FILES];
	size_t at = sizeof S_MAGIC - 1;
	int count = 0;
	if (n < at || memcmp(text, S_MAGIC, at) != 0) {
		snprintf(err, size, "key bundle: does not start with \"plexus-keys-1\"");
		return -EBADMSG;
	}
	while (at < n) {
		if (count == PLX_KEYBUNDLE_FILES) {
			snprintf(err, size, "key bundle: more than %d files", PLX_KEYBUNDLE_FILES);
			return -EBADMSG;
		}
		int rc = s_parse_file(text, n, &at, &files[count], err, size);
		if (rc < 0)
			return rc;
		count++;
	}
	for (int i = 0; i < count; i++) {
		int rc = s_write_file(dir, &files[i]);
		if (rc < 0) {
			snprintf(err, size, "key bundle: writing %s/%s: %s", dir, files[i].name,
			         strerror(-rc));
			return rc;
		}
	}
	return count;
}
