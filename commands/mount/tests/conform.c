/*
 * conform.c — file system behaviour as POSIX and Linux's man pages describe it, checked in a
 * directory: run on a local Linux file system it must pass everything (that is how each
 * check is known to be right); run through `plexus mount` it shows where Plexus differs.
 *
 * Usage: plexus-conform DIR   (DIR empty, owned by the caller; as root, the checks that
 * need another user's file run too)
 *
 * Prints one line per check, "ok NAME" or "not ok NAME: what happened", and exits 0 when all
 * pass, 1 when any fails, 2 on a usage error. The names are stable: tests and docs/using.md
 * refer to them.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

static int s_failed;

/* Reports check name: passed when ok, else why (printf-style). */
static void s_report(const char *name, bool ok, const char *fmt, ...)
{
	if (ok) {
		printf("ok %s\n", name);
		return;
	}
	s_failed++;
	printf("not ok %s: ", name);
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Checks that rc is -1 with errno want. */
static void s_errno(const char *name, int rc, int want)
{
	int got = errno;
	s_report(name, rc == -1 && got == want, "expected %s, got %s", strerrorname_np(want),
	         rc == -1 ? strerrorname_np(got) : "success");
}

static void s_zero(const char *name, int rc)
{
	int got = errno;
	s_report(name, rc == 0, "failed: %s", strerrorname_np(got));
}

static nlink_t s_links(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_nlink : 0;
}

static int s_put(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	return close(fd) == 0 && n == (ssize_t)strlen(text) ? 0 : -1;
}

static void check_open(void)
{
	s_zero("open.create", s_put("f", "hello", 0644));
	s_errno("open.excl-exists", open("f", O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
	s_errno("open.missing", open("nothing", O_RDONLY), ENOENT);
	s_errno("open.directory-on-file", open("f", O_RDONLY | O_DIRECTORY), ENOTDIR);
	s_errno("open.file-through-file", open("f/x", O_RDONLY), ENOTDIR);
	s_errno("open.write-a-directory", open(".", O_WRONLY), EISDIR);
	int fd = open("f", O_WRONLY | O_APPEND);
	ssize_t n = fd >= 0 ? write(fd, "!", 1) : -1;
	struct stat st;
	s_report("open.append", n == 1 && fstat(fd, &st) == 0 && st.st_size == 6, "size %lld",
	         (long long)st.st_size);
	close(fd);
	fd = open("f", O_WRONLY | O_TRUNC);
	s_report("open.trunc", fd >= 0 && fstat(fd, &st) == 0 && st.st_size == 0, "size %lld",
	         (long long)st.st_size);
	close(fd);
	mode_t old = umask(027);
	s_zero("open.umask-create", s_put("masked", "", 0777));
	umask(old);
	s_report("open.umask", stat("masked", &st) == 0 && (st.st_mode & 07777) == 0750, "mode %o",
	         st.st_mode & 07777);
}

static void check_links(void)
{
	s_report("links.new-file", s_links("f") == 1, "nlink %lu", (unsigned long)s_links("f"));
	s_zero("links.link", link("f", "f2"));
	s_report("links.after-link", s_links("f") == 2, "nlink %lu", (unsigned long)s_links("f"));
	s_errno("links.link-exists", link("f", "f2"), EEXIST);
	s_errno("links.link-a-directory", link(".", "dirlink"), EPERM);
	s_zero("links.mkdir", mkdir("d", 0755));
	s_report("links.new-dir", s_links("d") == 2, "nlink %lu", (unsigned long)s_links("d"));
	s_zero("links.mkdir-sub", mkdir("d/sub", 0755));
	s_report("links.parent-of-sub", s_links("d") == 3, "nlink %lu",
	         (unsigned long)s_links("d"));
	s_zero("links.rmdir-sub", rmdir("d/sub"));
	s_report("links.after-rmdir", s_links("d") == 2, "nlink %lu", (unsigned long)s_links("d"));
	s_zero("links.unlink", unlink("f2"));
	s_report("links.after-unlink", s_links("f") == 1, "nlink %lu", (unsigned long)s_links("f"));
}

static void check_remove(void)
{
	s_zero("remove.mkdir", mkdir("full", 0755) || s_put("full/x", "x", 0644));
	s_errno("remove.unlink-a-directory", unlink("full"), EISDIR);
	s_errno("remove.rmdir-a-file", rmdir("f"), ENOTDIR);
	s_errno("remove.rmdir-not-empty", rmdir("full"), ENOTEMPTY);
	s_errno("remove.rmdir-dot", rmdir("full/."), EINVAL);
	s_errno("remove.unlink-missing", unlink("nothing"), ENOENT);
}

static void check_rename(void)
{
	struct stat a, b;
	s_zero("rename.setup", s_put("ra", "a", 0644) || s_put("rb", "bb", 0644) ||
	                           mkdir("rd", 0755) || mkdir("re", 0755));
	stat("ra", &a);
	s_zero("rename.over-a-file", rename("ra", "rb"));
	s_report("rename.replaced", stat("rb", &b) == 0 && b.st_ino == a.st_ino && b.st_size == 1,
	         "rb is not ra");
	s_errno("rename.source-gone", access("ra", F_OK), ENOENT);
	s_zero("rename.dir-over-empty-dir", rename("rd", "re"));
	s_zero("rename.setup-full", mkdir("rd", 0755));
	s_errno("rename.dir-over-full-dir", rename("rd", "full"), ENOTEMPTY);
	s_errno("rename.file-over-dir", rename("rb", "re"), EISDIR);
	s_errno("rename.dir-over-file", rename("re", "rb"), ENOTDIR);
	s_zero("rename.setup-sub", mkdir("re/in", 0755));
	s_errno("rename.into-itself", rename("re", "re/in/re"), EINVAL);
	s_zero("rename.link-to-itself", link("rb", "rb2") || rename("rb", "rb2"));
	s_report("rename.same-inode-kept", access("rb", F_OK) == 0 && access("rb2", F_OK) == 0,
	         "a name went away");
	s_zero("rename.dir-to-other-parent", rename("re/in", "rd/moved"));
	s_report("rename.parent-links", s_links("re") == 2 && s_links("rd") == 3, "re %lu, rd %lu",
	         (unsigned long)s_links("re"), (unsigned long)s_links("rd"));
	s_errno("rename.missing", rename("nothing", "x"), ENOENT);
}

static bool s_later(struct timespec a, struct timespec b)
{
	return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec);
}

static void check_times(void)
{
	struct timespec past[2] = {{.tv_sec = 1000000000}, {.tv_sec = 1000000000}};
	struct stat st, after;
	s_zero("times.setup", s_put("t", "x", 0644) || utimensat(AT_FDCWD, "t", past, 0));
	stat("t", &st);
	s_report("times.set", st.st_mtime == 1000000000 && st.st_atime == 1000000000, "mtime %lld",
	         (long long)st.st_mtime);
	sleep(1); /* the format may keep whole seconds */
	s_zero("times.write", s_put("t", "y", 0644));
	stat("t", &after);
	s_report("times.write-sets-mtime", after.st_mtime > st.st_mtime, "mtime kept");
	s_report("times.write-sets-ctime", s_later(after.st_ctim, st.st_ctim), "ctime kept");
	st = after;
	sleep(1);
	s_zero("times.chmod", chmod("t", 0600));
	stat("t", &after);
	s_report("times.chmod-keeps-mtime", after.st_mtime == st.st_mtime, "mtime changed");
	s_report("times.chmod-sets-ctime", s_later(after.st_ctim, st.st_ctim), "ctime kept");
	struct timespec omit[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = 1200000000}};
	s_zero("times.omit", utimensat(AT_FDCWD, "t", omit, 0));
	stat("t", &st);
	s_report("times.omit-keeps-atime",
	         st.st_atime == after.st_atime && st.st_mtime == 1200000000,
	         "atime %lld mtime %lld", (long long)st.st_atime, (long long)st.st_mtime);
	sleep(1);
	s_zero("times.mkdir-entry", s_put("tdir-entry", "", 0644));
	struct stat dir0, dir1;
	stat(".", &dir0);
	sleep(1);
	s_zero("times.new-entry", s_put("tdir-entry2", "", 0644));
	stat(".", &dir1);
	s_report("times.dir-mtime-on-create", dir1.st_mtime > dir0.st_mtime,
	         "directory mtime kept");
}

static void check_data(void)
{
	int fd = open("sparse", O_RDWR | O_CREAT | O_TRUNC, 0644);
	char buf[16] = "x";
	ssize_t n = fd >= 0 && pwrite(fd, "end", 3, 100000) == 3 ? pread(fd, buf, 8, 5000) : -1;
	s_report("data.hole-reads-zeros", n == 8 && memcmp(buf, "\0\0\0\0\0\0\0\0", 8) == 0,
	         "read %zd", n);
	s_zero("data.ftruncate-shrink", ftruncate(fd, 10));
	n = pread(fd, buf, sizeof buf, 0);
	s_report("data.shrunk", n == 10, "read %zd", n);
	s_zero("data.ftruncate-grow", ftruncate(fd, 50));
	n = pread(fd, buf, sizeof buf, 40);
	s_report("data.grown-reads-zeros", n == 10 && buf[0] == 0 && buf[9] == 0, "read %zd", n);
	s_errno("data.lseek-negative", (int)lseek(fd, -1, SEEK_SET), EINVAL);
	close(fd);
}

static void check_open_unlinked(void)
{
	int fd = open("ghost", O_RDWR | O_CREAT | O_TRUNC, 0644);
	struct stat st;
	s_zero("unlinked.unlink", fd < 0 ? -1 : unlink("ghost"));
	s_report("unlinked.fstat", fstat(fd, &st) == 0 && st.st_nlink == 0, "fstat: %s",
	         strerrorname_np(errno));
	char buf[8];
	s_report("unlinked.write-read",
	         pwrite(fd, "boo", 3, 0) == 3 && pread(fd, buf, 3, 0) == 3 &&
	             !memcmp(buf, "boo", 3),
	         "%s", strerrorname_np(errno));
	s_zero("unlinked.ftruncate", ftruncate(fd, 1));
	s_zero("unlinked.fchmod", fchmod(fd, 0600));
	s_report("unlinked.fstat-after",
	         fstat(fd, &st) == 0 && (st.st_mode & 07777) == 0600 && st.st_size == 1,
	         "mode %o size %lld", (unsigned)st.st_mode & 07777, (long long)st.st_size);
	close(fd);
	s_zero("unlinked.dir-setup", mkdir("gone", 0755));
	int dfd = open("gone", O_RDONLY | O_DIRECTORY);
	s_zero("unlinked.rmdir", rmdir("gone"));
	s_report("unlinked.dir-fstat", dfd >= 0 && fstat(dfd, &st) == 0 && st.st_nlink == 0,
	         "fstat: %s, %ld links", strerrorname_np(errno), (long)st.st_nlink);
	/* a removed directory lists nothing (Linux: getdents fails ENOENT) */
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	errno = 0;
	struct dirent *e = d ? readdir(d) : NULL;
	s_report("unlinked.dir-readdir", d && !e, "%s", e ? e->d_name : "no directory stream");
	if (d)
		closedir(d);
	else if (dfd >= 0)
		close(dfd);
}

static void check_symlinks(void)
{
	char buf[64];
	s_zero("symlink.make", symlink("f", "sl"));
	ssize_t n = readlink("sl", buf, sizeof buf);
	s_report("symlink.readlink", n == 1 && buf[0] == 'f', "read %zd", n);
	struct stat st;
	s_report("symlink.lstat", lstat("sl", &st) == 0 && S_ISLNK(st.st_mode), "not a link");
	s_errno("symlink.nofollow", open("sl", O_RDONLY | O_NOFOLLOW), ELOOP);
	s_zero("symlink.loop", symlink("loop2", "loop1") || symlink("loop1", "loop2"));
	s_errno("symlink.loop-open", open("loop1", O_RDONLY), ELOOP);
	s_zero("symlink.dangling-make", symlink("nowhere", "dangling"));
	s_errno("symlink.dangling", open("dangling", O_RDONLY), ENOENT);
	s_errno("symlink.exists", symlink("f", "f"), EEXIST);
}

static void check_names(void)
{
	long max = pathconf(".", _PC_NAME_MAX);
	char name[NAME_MAX + 2];
	s_report("names.pathconf", max > 0 && max <= NAME_MAX, "NAME_MAX %ld", max);
	if (max <= 0 || max > NAME_MAX)
		return;
	memset(name, 'n', (size_t)max);
	name[max] = '\0';
	s_zero("names.longest", s_put(name, "", 0644));
	name[max] = 'n';
	name[max + 1] = '\0';
	s_errno("names.too-long", open(name, O_RDONLY | O_CREAT, 0644), ENAMETOOLONG);
	/* PATH_MAX applies to the string a program passes, not to where it leads: a relative
	 * path of 4,080 bytes below this directory, made one level at a time */
	int top = open(".", O_RDONLY | O_DIRECTORY);
	if (top < 0) {
		s_report("names.deep-dirs", false, "this directory: %s", strerrorname_np(errno));
		return;
	}
	int rc = mkdir("deep", 0755) == 0 && chdir("deep") == 0 ? 0 : -1;
	char path[PATH_MAX];
	size_t len = 0;
	for (; rc == 0 && len + 10 < 4080; len += 5) {
		memcpy(path + len, "dddd/", 5);
		rc = mkdir("dddd", 0755) == 0 && chdir("dddd") == 0 ? 0 : -1;
	}
	s_zero("names.deep-dirs", rc);
	memcpy(path + len, "file", 5);
	rc = fchdir(top) == 0 && chdir("deep") == 0 ? s_put(path, "x", 0644) : -1;
	s_zero("names.long-relative-path", rc);
	/* a rename out of the deepest directory to this one and back: each path is short as
	 * passed (the file's name there, this directory's descriptor) */
	memcpy(path + len, "", 1);
	rc = rc == 0 && chdir(path) == 0 ? renameat(AT_FDCWD, "file", top, "up") : -1;
	if (rc == 0)
		rc = renameat(top, "up", AT_FDCWD, "file");
	s_zero("names.rename-from-deep", rc);
	if (fchdir(top) != 0)
		abort(); /* the remaining checks would run elsewhere */
	close(top);
}

static void check_fifo(void)
{
	struct stat st;
	s_zero("fifo.mkfifo", mkfifo("pipe", 0644));
	s_report("fifo.stat", stat("pipe", &st) == 0 && S_ISFIFO(st.st_mode), "not a FIFO");
	s_errno("fifo.write-no-reader", open("pipe", O_WRONLY | O_NONBLOCK), ENXIO);
	int r = open("pipe", O_RDONLY | O_NONBLOCK), w = open("pipe", O_WRONLY | O_NONBLOCK);
	char c = 0;
	s_report("fifo.through",
	         r >= 0 && w >= 0 && write(w, "z", 1) == 1 && read(r, &c, 1) == 1 && c == 'z', "%s",
	         strerrorname_np(errno));
	close(r);
	close(w);
}

static void check_permissions(void)
{
	s_zero("perm.setup",
	       s_put("private", "secret", 0000) || mkdir("nox", 0600) || s_put("ro", "r", 0444));
	int root = geteuid() == 0;
	int fd = open("private", O_RDONLY);
	s_report("perm.mode-000", root ? fd >= 0 : fd < 0 && errno == EACCES,
	         root ? "root refused" : "opened");
	if (fd >= 0)
		close(fd);
	fd = open("ro", O_WRONLY);
	s_report("perm.read-only", root ? fd >= 0 : fd < 0 && errno == EACCES,
	         root ? "root refused" : "opened");
	if (fd >= 0)
		close(fd);
	s_errno("perm.exec-by-nobody", access("ro", X_OK), EACCES); /* root too: no x bit */
	if (!root)
		s_errno("perm.search-without-x", access("nox/anything", F_OK), EACCES);
	if (root) {
		s_zero("perm.chown", chown("ro", 65534, 65534));
		struct stat st;
		s_report("perm.chown-owner", stat("ro", &st) == 0 && st.st_uid == 65534, "uid %u",
		         st.st_uid);
		s_zero("perm.setgid-setup", chmod("ro", 02755));
		s_zero("perm.root-chown-clears", chown("ro", 65534, 65534));
		s_report("perm.chown-clears-setid", stat("ro", &st) == 0 && !(st.st_mode & 06000),
		         "mode %o", st.st_mode & 07777);
	} else {
		s_errno("perm.chown-by-user", chown("ro", 0, 0), EPERM);
	}
}

static void check_readdir(void)
{
	DIR *d = opendir(".");
	bool dot = false, dotdot = false, f = false, ghost = false;
	ino_t f_ino = 0;
	for (struct dirent *e; d && (e = readdir(d));) {
		dot |= strcmp(e->d_name, ".") == 0;
		dotdot |= strcmp(e->d_name, "..") == 0;
		f |= strcmp(e->d_name, "f") == 0;
		ghost |= strcmp(e->d_name, "ghost") == 0;
		if (strcmp(e->d_name, "f") == 0)
			f_ino = e->d_ino;
	}
	if (d)
		closedir(d);
	s_report("readdir.entries", dot && dotdot && f && !ghost, ". %d .. %d f %d ghost %d", dot,
	         dotdot, f, ghost);
	/* the inode number a listing gives (ls -i, find's fast paths) is stat's */
	struct stat st;
	s_report("readdir.d_ino", stat("f", &st) == 0 && st.st_ino == f_ino,
	         "d_ino %llu, st_ino %llu", (unsigned long long)f_ino,
	         (unsigned long long)st.st_ino);
}

static void check_devices(void)
{
	if (geteuid() != 0)
		return;
	struct stat st;
	s_zero("dev.mknod", mknod("null", S_IFCHR | 0666, makedev(1, 3)));
	s_report("dev.rdev",
	         stat("null", &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 &&
	             minor(st.st_rdev) == 3,
	         "not char 1,3");
}

int main(int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: plexus-conform DIR\n");
		return 2;
	}
	if (chdir(argv[1]) != 0) {
		fprintf(stderr, "plexus-conform: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	check_open();
	check_links();
	check_remove();
	check_rename();
	check_times();
	check_data();
	check_open_unlinked();
	check_symlinks();
	check_fifo();
	check_permissions();
	check_readdir();
	check_devices();
	check_names();
	return s_failed ? 1 : 0;
}
