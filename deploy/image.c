/*
 * image.c — builds and describes the netboot image (plexus/image.h).
 *
 * Entry points: plx_image_build, plx_image_info.
 *
 * The build collects entries (path, mode, where the bytes come from) in a table, adds every
 * parent directory, sorts by path, reads the files and writes one newc archive, then gzip -n.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <plexus/image.h>

typedef struct s_item {
	char *path;    /* without the leading '/' */
	uint32_t mode; /* S_IFREG/S_IFDIR/S_IFLNK/S_IFCHR | permissions */
	char *src;     /* regular file: read from here; NULL: data */
	char *data;    /* inline contents or symlink target (NUL-terminated) */
	size_t size;   /* of data */
	uint32_t major, minor;
} s_item;

typedef struct s_image {
	s_item *items;
	size_t n, cap;
	char *err;
	size_t errsize;
} s_image;

/* The NICs and disks QEMU and common machines offer, and the ACPI power button with the
 * event interface plexus-init reads it from (an orderly power-off). */
static const char *s_default_modules[] = {"virtio_pci", "virtio_net", "virtio_blk", "e1000",
                                          "e1000e",     "button",     "evdev",      NULL};

static int s_fail(s_image *im, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(im->err, im->errsize, fmt, ap);
	va_end(ap);
	return code;
}

static s_item *s_find(s_image *im, const char *path)
{
	for (size_t i = 0; i < im->n; i++)
		if (strcmp(im->items[i].path, path) == 0)
			return &im->items[i];
	return NULL;
}

/* Adds an entry unless one with that path exists; path may start with '/'. */
static int s_add(s_image *im, const char *path, uint32_t mode, const char *src, const char *data,
                 size_t size)
{
	while (*path == '/')
		path++;
	if (s_find(im, path))
		return 0;
	if (im->n == im->cap) {
		size_t cap = im->cap ? im->cap * 2 : 256;
		s_item *items = realloc(im->items, cap * sizeof *items);
		if (!items)
			return -ENOMEM;
		im->items = items;
		im->cap = cap;
	}
	s_item *it = &im->items[im->n];
	*it = (s_item){.path = strdup(path), .mode = mode, .size = size};
	if (src)
		it->src = strdup(src);
	if (data) {
		it->data = malloc(size + 1);
		if (it->data) {
			memcpy(it->data, data, size);
			it->data[size] = '\0';
		}
	}
	if (!it->path || (src && !it->src) || (data && !it->data))
		return -ENOMEM;
	im->n++;
	return 0;
}

static int s_add_file(s_image *im, const char *dst, const char *src, uint32_t perm)
{
	struct stat st;
	if (stat(src, &st) != 0 || !S_ISREG(st.st_mode))
		return s_fail(im, -ENOENT, "%s: no such file (needed for /%s)", src,
		              dst[0] == '/' ? dst + 1 : dst);
	return s_add(im, dst, S_IFREG | perm, src, NULL, (size_t)st.st_size);
}

static int s_add_text(s_image *im, const char *dst, const char *text, uint32_t perm)
{
	return s_add(im, dst, S_IFREG | perm, NULL, text, strlen(text));
}

static int s_add_link(s_image *im, const char *dst, const char *target)
{
	return s_add(im, dst, S_IFLNK | 0777, NULL, target, strlen(target));
}

/* Runs argv and returns its standard output in *text (caller frees). Returns its exit status
 * (0..255), or a negative errno when it could not run. */
static int s_capture(char *const argv[], char **text)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(fds[1], 1);
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	ssize_t r;
	while (buf && (r = read(fds[0], buf + len, cap - len - 1)) > 0) {
		len += (size_t)r;
		if (cap - len < 2048) {
			char *more = realloc(buf, cap *= 2);
			if (!more) {
				free(buf);
				buf = NULL;
			}
			buf = more;
		}
	}
	close(fds[0]);
	int status;
	waitpid(pid, &status, 0);
	if (!buf)
		return -ENOMEM;
	buf[len] = '\0';
	*text = buf;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -ECHILD;
}

/* Adds the shared libraries (and the loader) that ldd lists for binary. A static binary adds
 * nothing. */
static int s_add_libs(s_image *im, const char *binary)
{
	char *argv[] = {"ldd", (char *)binary, NULL}, *text = NULL;
	int st = s_capture(argv, &text);
	if (st < 0)
		return s_fail(im, st, "ldd %s: cannot run ldd", binary);
	int r = 0;
	for (char *line = strtok(text, "\n"); line && r == 0; line = strtok(NULL, "\n")) {
		char *path = strstr(line, "=> ");
		path = path ? path + 3 : line;
		while (*path == ' ' || *path == '\t')
			path++;
		if (*path != '/')
			continue; /* linux-vdso, "not a dynamic executable" */
		path[strcspn(path, " (")] = '\0';
		char real[PATH_MAX];
		if (!realpath(path, real)) {
			r = s_fail(im, -ENOENT, "%s needs %s, which does not exist", binary, path);
			break;
		}
		r = s_add_file(im, path, real, 0755);
	}
	free(text);
	return r;
}

/* The modules.dep line of a module (by name, '-' and '_' alike). Sets *deps (the text after
 * the colon, in dep's own buffer). Returns the module's relative path or NULL. */
static char *s_dep_find(char *dep, const char *name, char **deps)
{
	for (char *line = dep; line && *line;) {
		char *next = strchr(line, '\n');
		char *colon = strchr(line, ':');
		if (colon && (!next || colon < next)) {
			const char *base = line;
			for (const char *p = line; p < colon; p++)
				if (*p == '/')
					base = p + 1;
			size_t n = 0;
			bool same = true;
			for (; base + n < colon && base[n] != '.'; n++) {
				char a = base[n] == '-' ? '_' : base[n];
				char b = name[n] == '-' ? '_' : name[n];
				if (a != b) {
					same = false;
					break;
				}
			}
			if (same && name[n] == '\0' && base[n] == '.') {
				*deps = colon + 1;
				return line;
			}
		}
		line = next ? next + 1 : NULL;
	}
	return NULL;
}

typedef struct s_mods {
	char order[PLX_IMAGE_MAX_MODULES * 8][256];
	size_t n;
} s_mods;

static bool s_mods_has(const s_mods *m, const char *rel)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->order[i], rel) == 0)
			return true;
	return false;
}

/* Appends rel after its dependencies (modules.dep lists them, deepest last). */
static int s_mods_visit(s_image *im, s_mods *m, const char *text, const char *rel, int depth)
{
	if (s_mods_has(m, rel))
		return 0;
	if (depth > 32)
		return s_fail(im, -ELOOP, "modules.dep: dependency loop at %s", rel);
	/* find rel's line */
	size_t rlen = strlen(rel);
	const char *line = text;
	while (line && !(strncmp(line, rel, rlen) == 0 && line[rlen] == ':')) {
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	if (line) {
		char deps[4096];
		const char *colon = line + rlen + 1;
		size_t n = strcspn(colon, "\n");
		snprintf(deps, sizeof deps, "%.*s", (int)n, colon);
		/* modules.dep lists a module's dependencies with the deepest last: load in reverse
		 */
		char *words[128];
		size_t nw = 0;
		for (char *w = strtok(deps, " "); w && nw < 128; w = strtok(NULL, " "))
			words[nw++] = w;
		char copy[128][256];
		for (size_t i = 0; i < nw; i++)
			snprintf(copy[i], sizeof copy[i], "%s", words[i]);
		for (size_t i = nw; i-- > 0;) {
			int r = s_mods_visit(im, m, text, copy[i], depth + 1);
			if (r < 0)
				return r;
		}
	}
	if (m->n == sizeof m->order / sizeof m->order[0])
		return s_fail(im, -E2BIG, "too many kernel modules");
	snprintf(m->order[m->n++], sizeof m->order[0], "%s", rel);
	return 0;
}

static int s_slurp(const char *path, char **text)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	rewind(f);
	char *buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return -EIO;
	}
	buf[n] = '\0';
	fclose(f);
	*text = buf;
	return 0;
}

static int s_add_modules(s_image *im, const char *moddir, const char *const *names)
{
	char path[PATH_MAX + 16], *dep = NULL;
	snprintf(path, sizeof path, "%s/modules.dep", moddir);
	int r = s_slurp(path, &dep);
	if (r < 0)
		return s_fail(im, r, "%s: cannot read (is linux-image-amd64 installed?)", path);
	static s_mods m;
	m.n = 0;
	for (size_t i = 0; names[i] && r == 0; i++) {
		char *deps, *line = s_dep_find(dep, names[i], &deps);
		if (!line) {
			r = s_fail(im, -ENOENT, "kernel module %s: not in %s", names[i], path);
			break;
		}
		char rel[256];
		snprintf(rel, sizeof rel, "%.*s", (int)strcspn(line, ":"), line);
		r = s_mods_visit(im, &m, dep, rel, 0);
	}
	free(dep);
	if (r < 0)
		return r;
	size_t cap = m.n * 300 + 1, len = 0;
	char *list = malloc(cap);
	if (!list)
		return -ENOMEM;
	list[0] = '\0';
	for (size_t i = 0; i < m.n && r == 0; i++) {
		char src[PATH_MAX + 300], dst[PATH_MAX + 300];
		snprintf(src, sizeof src, "%s/%s", moddir, m.order[i]);
		snprintf(dst, sizeof dst, "lib/modules/%s/%s", strrchr(moddir, '/') + 1,
		         m.order[i]);
		r = s_add_file(im, dst, src, 0644);
		len += (size_t)snprintf(list + len, cap - len, "/%s\n", dst);
	}
	if (r == 0)
		r = s_add_text(im, "etc/plexus/modules", list, 0644);
	free(list);
	return r;
}

/* The newest /boot/vmlinuz-* by version order. */
static int s_default_kernel(char *out, size_t cap)
{
	DIR *d = opendir("/boot");
	if (!d)
		return -ENOENT;
	struct dirent *e;
	char best[256] = "";
	while ((e = readdir(d)))
		if (strncmp(e->d_name, "vmlinuz-", 8) == 0 &&
		    (!best[0] || strverscmp(e->d_name, best) > 0))
			snprintf(best, sizeof best, "%s", e->d_name);
	closedir(d);
	if (!best[0])
		return -ENOENT;
	snprintf(out, cap, "/boot/%s", best);
	return 0;
}

static int s_add_busybox(s_image *im, const char *busybox)
{
	int r = s_add_file(im, "bin/busybox", busybox, 0755);
	if (r < 0)
		return r;
	char *argv[] = {(char *)busybox, "--list-full", NULL}, *text = NULL;
	int st = s_capture(argv, &text);
	if (st != 0) {
		free(text);
		return s_fail(im, -EIO, "%s --list-full failed: is it Debian's busybox-static?",
		              busybox);
	}
	for (char *line = strtok(text, "\n"); line && r == 0; line = strtok(NULL, "\n")) {
		if (strcmp(line, "bin/busybox") == 0 || strcmp(line, "linuxrc") == 0 ||
		    strcmp(line, "sbin/init") == 0)
			continue;
		r = s_add_link(im, line, "/bin/busybox");
	}
	free(text);
	return r;
}

static const char *s_base(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* Every parent directory of every entry, and the mount points init uses. */
static int s_add_dirs(s_image *im)
{
	static const char *fixed[] = {
	    "dev",      "proc",           "sys", "run", "tmp", "var/log", "var/lib",
	    "usr/sbin", "var/log/plexus", NULL};
	int r = 0;
	for (size_t i = 0; fixed[i] && r == 0; i++)
		r = s_add(im, fixed[i], S_IFDIR | (strcmp(fixed[i], "tmp") == 0 ? 01777 : 0755),
		          NULL, NULL, 0);
	size_t n = im->n;
	for (size_t i = 0; i < n && r == 0; i++) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof dir, "%s", im->items[i].path);
		char *slash;
		while (r == 0 && (slash = strrchr(dir, '/'))) {
			*slash = '\0';
			r = s_add(im, dir, S_IFDIR | 0755, NULL, NULL, 0);
		}
	}
	if (r == 0)
		r = s_add(im, "dev/console", S_IFCHR | 0600, NULL, NULL, 0);
	if (r == 0) {
		s_find(im, "dev/console")->major = 5;
		s_find(im, "dev/console")->minor = 1;
		r = s_add(im, "dev/null", S_IFCHR | 0666, NULL, NULL, 0);
	}
	if (r == 0)
		s_find(im, "dev/null")->major = 1, s_find(im, "dev/null")->minor = 3;
	return r;
}

static int s_cmp(const void *a, const void *b)
{
	return strcmp(((const s_item *)a)->path, ((const s_item *)b)->path);
}

static void s_free(s_image *im)
{
	for (size_t i = 0; i < im->n; i++) {
		free(im->items[i].path);
		free(im->items[i].src);
		free(im->items[i].data);
	}
	free(im->items);
}

/* Reads the bytes of every regular file; returns the cpio entries (caller frees them and the
 * data of items with src). */
static int s_load(s_image *im, plx_cpio_entry **out)
{
	plx_cpio_entry *e = calloc(im->n, sizeof *e);
	if (!e)
		return -ENOMEM;
	for (size_t i = 0; i < im->n; i++) {
		s_item *it = &im->items[i];
		if (it->src) {
			char *text = NULL;
			int r = s_slurp(it->src, &text);
			if (r < 0) {
				free(e);
				return s_fail(im, r, "%s: cannot read", it->src);
			}
			it->data = text;
		}
		e[i] = (plx_cpio_entry){.path = it->path,
		                        .mode = it->mode,
		                        .data = it->data,
		                        .size = it->size,
		                        .rdev_major = it->major,
		                        .rdev_minor = it->minor};
	}
	*out = e;
	return 0;
}

/* SHA-256 of a file as 64 hex digits. */
static int s_sha256(const char *path, char hex[65], size_t *size)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	unsigned char buf[65536], sum[32];
	size_t n, total = 0;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
		crypto_hash_sha256_update(&st, buf, n);
		total += n;
	}
	fclose(f);
	crypto_hash_sha256_final(&st, sum);
	sodium_bin2hex(hex, 65, sum, 32);
	if (size)
		*size = total;
	return 0;
}

/* gzip -n -9 from src into dst. */
static int s_gzip(const char *src, const char *dst)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (in < 0 || out < 0) {
		if (in >= 0)
			close(in);
		if (out >= 0)
			close(out);
		return -errno;
	}
	pid_t pid = fork();
	if (pid == 0) {
		dup2(in, 0);
		dup2(out, 1);
		execlp("gzip", "gzip", "-n", "-9", "-c", (char *)NULL);
		_exit(127);
	}
	close(in);
	close(out);
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return -EIO;
	return 0;
}

static int s_copy_file(const char *src, const char *dst)
{
	char *text = NULL;
	int r = s_slurp(src, &text);
	if (r < 0)
		return r;
	struct stat st;
	stat(src, &st);
	FILE *f = fopen(dst, "we");
	if (!f || fwrite(text, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		r = -EIO;
	}
	if (f && fclose(f) != 0)
		r = -EIO;
	free(text);
	return r;
}

static int s_collect(s_image *im, const plx_image_opts *o, const char *kernel, char *kver,
                     size_t kcap)
{
	const char *base = s_base(kernel);
	if (snprintf(kver, kcap, "%s", strncmp(base, "vmlinuz-", 8) == 0 ? base + 8 : base) >=
	    (int)kcap)
		return s_fail(im, -ENAMETOOLONG, "%s: name too long", kernel);
	char moddir[PATH_MAX];
	snprintf(moddir, sizeof moddir, "%s", o->modules ? o->modules : "");
	if (!o->modules)
		snprintf(moddir, sizeof moddir, "/lib/modules/%s", kver);
	int r = s_add_file(im, "init", o->init, 0755);
	if (r == 0)
		r = s_add_libs(im, o->init);
	if (r == 0)
		r = s_add_busybox(im, o->busybox ? o->busybox : "/bin/busybox");
	/* terminal descriptions for the console's line editing (plexus sh's libedit), when the
	 * build machine has them (ncurses-base) */
	static const char *const terms[] = {"/lib/terminfo/v/vt100", "/lib/terminfo/l/linux"};
	for (size_t i = 0; r == 0 && i < sizeof terms / sizeof *terms; i++)
		if (access(terms[i], R_OK) == 0)
			r = s_add_file(im, terms[i], terms[i], 0644);
	if (r == 0)
		r = s_add_file(im, "etc/plexus/udhcpc.sh", o->udhcpc_sh, 0755);
	for (size_t i = 0; r == 0 && i < PLX_IMAGE_MAX_PROGRAMS && o->programs[i]; i++) {
		char dst[PATH_MAX];
		snprintf(dst, sizeof dst, "usr/bin/%s", s_base(o->programs[i]));
		r = s_add_file(im, dst, o->programs[i], 0755);
		if (r == 0)
			r = s_add_libs(im, o->programs[i]);
	}
	if (r == 0 && o->etcd) {
		r = s_add_file(im, "usr/bin/etcd", o->etcd, 0755);
		if (r == 0)
			r = s_add_libs(im, o->etcd);
	}
	if (r == 0)
		r = s_add_modules(im, moddir,
		                  o->module_names[0] ? o->module_names : s_default_modules);
	if (r == 0) {
		char about[512];
		snprintf(about, sizeof about, "kernel %s\netcd %s\n", kver, o->etcd ? "yes" : "no");
		r = s_add_text(im, "etc/plexus/image", about, 0644);
	}
	if (r == 0)
		r = s_add_dirs(im);
	return r;
}

static int s_manifest(s_image *im, const char *dir, const char *kver, plx_image_result *res,
                      bool gz)
{
	char path[PATH_MAX], ksum[65];
	snprintf(path, sizeof path, "%s/vmlinuz", dir);
	s_sha256(path, ksum, &res->kernel_size);
	snprintf(path, sizeof path, "%s/manifest.txt", dir);
	FILE *f = fopen(path, "we");
	if (!f)
		return s_fail(im, -errno, "%s: cannot write", path);
	fprintf(f, "# plexus netboot image (plexus image info)\n");
	fprintf(f, "kernel vmlinuz %s %zu %s\n", kver, res->kernel_size, ksum);
	fprintf(f, "initramfs initramfs.img %s %zu %s cpio %zu entries %zu\n", gz ? "gzip" : "none",
	        res->initramfs_size, res->initramfs_sha256, res->cpio_size, res->entries);
	for (size_t i = 0; i < im->n; i++) {
		const s_item *it = &im->items[i];
		char type = S_ISDIR(it->mode)   ? 'd'
		            : S_ISLNK(it->mode) ? 'l'
		            : S_ISCHR(it->mode) ? 'c'
		                                : 'f';
		fprintf(f, "entry %c %04o %zu /%s%s%s\n", type, it->mode & 07777,
		        S_ISREG(it->mode) ? it->size : 0, it->path, S_ISLNK(it->mode) ? " -> " : "",
		        S_ISLNK(it->mode) ? it->data : "");
	}
	return fclose(f) == 0 ? 0 : s_fail(im, -EIO, "%s: write failed", path);
}

int plx_image_build(const plx_image_opts *o, plx_image_result *result, char *err, size_t size)
{
	s_image im = {.err = err, .errsize = size};
	plx_image_result res = {0};
	char kernel[PATH_MAX], kver[256], cpio[PATH_MAX], img[PATH_MAX], tmp[PATH_MAX];
	if (!o->out_dir || !o->init || !o->udhcpc_sh)
		return s_fail(&im, -EINVAL, "image: out_dir, init and udhcpc_sh are required");
	if (o->kernel)
		snprintf(kernel, sizeof kernel, "%s", o->kernel);
	else if (s_default_kernel(kernel, sizeof kernel) < 0)
		return s_fail(&im, -ENOENT,
		              "/boot: no vmlinuz-* (install Debian's linux-image-amd64)");
	if (mkdir(o->out_dir, 0755) != 0 && errno != EEXIST)
		return s_fail(&im, -errno, "%s: cannot create: %s", o->out_dir, strerror(errno));
	int r = s_collect(&im, o, kernel, kver, sizeof kver);
	plx_cpio_entry *entries = NULL;
	if (r == 0) {
		qsort(im.items, im.n, sizeof *im.items, s_cmp);
		r = s_load(&im, &entries);
	}
	snprintf(cpio, sizeof cpio, "%s/initramfs.cpio.tmp", o->out_dir);
	snprintf(tmp, sizeof tmp, "%s/initramfs.img.tmp", o->out_dir);
	snprintf(img, sizeof img, "%s/initramfs.img", o->out_dir);
	unlink(img);
	if (r == 0) {
		const char *epoch = getenv("SOURCE_DATE_EPOCH");
		uint32_t mtime = epoch ? (uint32_t)strtoul(epoch, NULL, 10) : 0;
		FILE *f = fopen(cpio, "we");
		long w = f ? plx_cpio_write(f, entries, im.n, mtime) : -errno;
		if (f && fclose(f) != 0)
			w = -EIO;
		r = w < 0 ? s_fail(&im, (int)w, "%s: cannot write", cpio) : 0;
		res.cpio_size = (size_t)(w < 0 ? 0 : w);
		res.entries = im.n;
	}
	if (r == 0 && !o->no_compress && (r = s_gzip(cpio, tmp)) < 0)
		s_fail(&im, r, "gzip -n of %s failed", cpio);
	if (r == 0 && rename(o->no_compress ? cpio : tmp, img) != 0)
		r = s_fail(&im, -errno, "%s: cannot rename: %s", img, strerror(errno));
	unlink(cpio);
	unlink(tmp);
	char kdst[PATH_MAX];
	snprintf(kdst, sizeof kdst, "%s/vmlinuz", o->out_dir);
	if (r == 0 && (r = s_copy_file(kernel, kdst)) < 0)
		s_fail(&im, r, "%s: cannot copy to %s", kernel, kdst);
	if (r == 0)
		r = s_sha256(img, res.initramfs_sha256, &res.initramfs_size);
	if (r == 0)
		r = s_manifest(&im, o->out_dir, kver, &res, !o->no_compress);
	free(entries);
	s_free(&im);
	if (r == 0 && result)
		*result = res;
	return r;
}

int plx_image_info(const char *dir, bool contents, FILE *out, char *err, size_t size)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/manifest.txt", dir);
	FILE *f = fopen(path, "re");
	if (!f) {
		snprintf(err, size, "%s: no image here (run plexus image build)", path);
		return -ENOENT;
	}
	char line[PATH_MAX + 256];
	size_t files = 0, links = 0, dirs = 0, bytes = 0;
	while (fgets(line, sizeof line, f)) {
		char kind[16], a[256], b[256], c[80];
		size_t sz;
		if (sscanf(line, "kernel %15s %255s %zu %64s", kind, a, &sz, c) == 4)
			fprintf(out, "kernel     %s/%s  Linux %s  %zu bytes  sha256 %.16s...\n",
			        dir, kind, a, sz, c);
		else if (sscanf(line, "initramfs %15s %255s %zu %64s cpio %255s", kind, a, &sz, c,
		                b) == 5)
			fprintf(out, "initramfs  %s/%s  %s  %zu bytes (cpio %s)  sha256 %.16s...\n",
			        dir, kind, a, sz, b, c);
		else if (sscanf(line, "entry %15s %255s %zu", kind, a, &sz) == 3) {
			files += kind[0] == 'f';
			links += kind[0] == 'l';
			dirs += kind[0] == 'd';
			bytes += sz;
			if (contents)
				fputs(line + 6, out);
		}
	}
	fclose(f);
	fprintf(out, "contents   %zu files (%zu bytes), %zu directories, %zu links%s\n", files,
	        bytes, dirs, links, contents ? "" : "; --contents lists them");
	return 0;
}
