/*
 * tour.c — what `plexus up` does through libplexus once the services are up: the mounts of
 * the default system (the data disk at /data), and the tour: a file written under /data while
 * the disk driver is killed with SIGKILL, RS restarting it with a new generation, and the
 * file read back and checked. Once /data is mounted, the root RAM disk as it then is (/dev,
 * /tmp, the mount point) is saved as the root's boot image (up_root_save), which plexus-memory
 * loads whenever it starts anew: on another node after its node died, as a machine boots
 * its root RAM disk from its boot image.
 *
 * Entry points: up_mount_data, up_root_save, up_tour.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <plexus/etcd.h>

#include "up.h"

#ifdef PLEXUS_HAVE_CLIENT
#include <plexus/plexus.h>

#define TOUR_CHUNK       (64 * 1024)
#define TOUR_CHUNKS      256 /* 16 MiB */
#define TOUR_KILL_AT     (TOUR_CHUNKS / 4)
#define TOUR_FSYNC_EVERY 16 /* chunks: so that the disk driver is busy throughout */
#define TOUR_PATH        "/data/tour.bin"

static void s_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Chunk i's bytes: xorshift64 from a seed per chunk, so any chunk can be made again. */
static void s_chunk(uint8_t *buf, int i)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);
	for (size_t k = 0; k < TOUR_CHUNK; k += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(buf + k, &x, 8);
	}
}

/* FNV-1a, 64 bits, over size bytes, continuing from h. */
static uint64_t s_fnv(uint64_t h, const uint8_t *p, size_t size)
{
	for (size_t i = 0; i < size; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static plexus *s_connect(const up_state *st)
{
	plexus_opts po;
	plexus_opts_init(&po);
	po.etcd = st->etcd;
	po.cluster = st->cluster;
	po.name = "plexus-up";
	return plexus_connect(&po);
}

/* The special files of the default system: name, mode, major, minor (majors as vfs's --dmap
 * in cluster.c). */
static const struct {
	const char *path;
	mode_t mode;
	unsigned major, minor;
} s_devs[] = {
    {"/dev/null", S_IFCHR | 0666, 1, 3},    {"/dev/zero", S_IFCHR | 0666, 1, 5},
    {"/dev/full", S_IFCHR | 0666, 1, 7},    {"/dev/random", S_IFCHR | 0666, 1, 8},
    {"/dev/ram0", S_IFBLK | 0600, 1, 0},    {"/dev/disk0", S_IFBLK | 0600, 3, 0},
    {"/dev/console", S_IFCHR | 0620, 4, 0}, {"/dev/log", S_IFCHR | 0666, 5, 0},
};

int up_mount_data(const up_state *st)
{
	plexus *p = s_connect(st);
	if (!p) {
		fprintf(stderr, "plexus up: cannot reach VFS: %s %s\n", strerror(errno),
		        plexus_connect_error());
		return EX_UNAVAILABLE;
	}
	int code = EX_OK;
	plexus_umask(p, 0);
	plexus_mkdir(p, "/dev", 0755);
	plexus_mkdir(p, "/tmp", 01777);
	plexus_chmod(p, "/tmp", 01777);
	for (size_t i = 0; i < sizeof s_devs / sizeof *s_devs; i++)
		if (plexus_mknod(p, s_devs[i].path, s_devs[i].mode,
		                 makedev(s_devs[i].major, s_devs[i].minor)) < 0 &&
		    errno != EEXIST)
			fprintf(stderr, "plexus up: mknod %s: %s (going on)\n", s_devs[i].path,
			        strerror(errno));
	if (plexus_mkdir(p, "/data", 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "plexus up: mkdir /data: %s\n", strerror(errno));
		code = EX_SOFTWARE;
	} else if (plexus_mount(p, "vdisk:0", "/data", "mfs-data", 0) < 0 && errno != EBUSY) {
		fprintf(stderr, "plexus up: mount vdisk:0 on /data (mfs-data): %s\n",
		        strerror(errno));
		code = EX_SOFTWARE;
	}
	plexus_disconnect(&p);
	return code;
}

/* True when size bytes at p are all zero. */
static bool s_zero(const uint8_t *p, size_t size)
{
	for (size_t i = 0; i < size; i++)
		if (p[i])
			return false;
	return true;
}

/* Copies what fd (the RAM disk, through VFS) holds into out, leaving zero blocks as holes.
 * Returns 0 or -errno. */
static int s_copy_sparse(plexus *p, int fd, int out)
{
	enum { S_BLOCK = 1024 * 1024 };
	uint8_t *buf = malloc(S_BLOCK);
	int rc = buf ? 0 : -ENOMEM;
	off_t at = 0;
	for (ssize_t n = 1; rc == 0 && n > 0; at += n) {
		n = plexus_read(p, fd, buf, S_BLOCK);
		if (n < 0)
			rc = -errno;
		else if (n > 0 && !s_zero(buf, (size_t)n) && pwrite(out, buf, (size_t)n, at) != n)
			rc = -errno;
		if (n <= 0)
			break;
	}
	if (rc == 0 && ftruncate(out, at) < 0)
		rc = -errno;
	free(buf);
	return rc;
}

int up_root_save(const up_state *st, const char *path)
{
	plexus *p = s_connect(st);
	if (!p)
		return -errno;
	char tmp[PATH_MAX + 8];
	snprintf(tmp, sizeof tmp, "%s.new", path);
	int rc = plexus_sync(p) < 0 ? -errno : 0; /* the RAM disk as the file server sees it */
	int fd = rc == 0 ? plexus_open(p, "/dev/ram0", O_RDONLY) : -1;
	if (rc == 0 && fd < 0)
		rc = -errno;
	int out = rc == 0 ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
	if (rc == 0 && out < 0)
		rc = -errno;
	if (rc == 0)
		rc = s_copy_sparse(p, fd, out);
	if (rc == 0 && fsync(out) < 0)
		rc = -errno;
	if (out >= 0)
		close(out);
	if (fd >= 0)
		plexus_close(p, fd);
	plexus_disconnect(&p);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	return rc;
}

/* The writer: TOUR_CHUNKS chunks with an fsync every few; says how far it got. */
typedef struct s_writer {
	plexus *p;
	int fd;
	volatile int written;
	int error;
} s_writer;

static void *s_write(void *arg)
{
	s_writer *w = arg;
	uint8_t *buf = malloc(TOUR_CHUNK);
	for (int i = 0; buf && i < TOUR_CHUNKS && !w->error; i++) {
		s_chunk(buf, i);
		ssize_t n = plexus_write(w->p, w->fd, buf, TOUR_CHUNK);
		if (n != TOUR_CHUNK)
			w->error = n < 0 ? errno : EIO;
		else if ((i + 1) % TOUR_FSYNC_EVERY == 0 && plexus_fsync(w->p, w->fd) < 0)
			w->error = errno;
		__atomic_store_n(&w->written, i + 1, __ATOMIC_RELEASE);
	}
	if (!buf)
		w->error = ENOMEM;
	if (!w->error && plexus_fsync(w->p, w->fd) < 0)
		w->error = errno;
	free(buf);
	return NULL;
}

/* Reads the file back; returns its checksum through *sum, or -errno. */
static int s_read_back(plexus *p, uint64_t *sum, off_t *size)
{
	int fd = plexus_open(p, TOUR_PATH, O_RDONLY);
	if (fd < 0)
		return -errno;
	uint8_t *buf = malloc(TOUR_CHUNK);
	uint64_t h = 0xcbf29ce484222325ULL;
	off_t total = 0;
	ssize_t n;
	while (buf && (n = plexus_read(p, fd, buf, TOUR_CHUNK)) > 0) {
		h = s_fnv(h, buf, (size_t)n);
		total += n;
	}
	int err = !buf ? -ENOMEM : n < 0 ? -errno : 0;
	free(buf);
	plexus_close(p, fd);
	*sum = h;
	*size = total;
	return err;
}

static int s_etcd_svc(const up_state *st, const char *label, up_svc *svc)
{
	plx_etcd_opts eo = {.endpoints = st->etcd, .timeout_ms = 2000};
	plx_etcd *etcd = plx_etcd_new(&eo);
	if (!etcd)
		return -errno;
	int rc = up_svc_get(etcd, st->cluster, label, svc);
	plx_etcd_destroy(&etcd);
	return rc;
}

int up_tour(const up_opts *o, const up_state *st)
{
	printf("\nThe tour: a disk driver crashes in the middle of a write\n");
	plexus *p = s_connect(st);
	if (!p) {
		fprintf(stderr, "tour: cannot reach VFS: %s %s\n", strerror(errno),
		        plexus_connect_error());
		return EX_UNAVAILABLE;
	}
	uint8_t *buf = malloc(TOUR_CHUNK);
	uint64_t expect = 0xcbf29ce484222325ULL;
	for (int i = 0; buf && i < TOUR_CHUNKS; i++) {
		s_chunk(buf, i);
		expect = s_fnv(expect, buf, TOUR_CHUNK);
	}
	free(buf);
	s_writer w = {.p = p};
	w.fd = plexus_open(p, TOUR_PATH, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (w.fd < 0) {
		fprintf(stderr, "tour: open %s: %s\n", TOUR_PATH, strerror(errno));
		plexus_disconnect(&p);
		return EX_SOFTWARE;
	}
	up_svc before, after;
	if (s_etcd_svc(st, "vdisk", &before) < 0) {
		fprintf(stderr, "tour: no vdisk service in the registry\n");
		plexus_disconnect(&p);
		return EX_SOFTWARE;
	}
	printf("tour: writing %s: %d KiB, fsync every %d KiB, on vdisk generation %llu (pid "
	       "%lld)\n",
	       TOUR_PATH, TOUR_CHUNKS * TOUR_CHUNK / 1024, TOUR_FSYNC_EVERY * TOUR_CHUNK / 1024,
	       (unsigned long long)before.generation, (long long)before.pid);
	fflush(stdout);
	pthread_t t;
	pthread_create(&t, NULL, s_write, &w);
	int64_t deadline = up_mono_ms() + o->timeout_ms;
	while (__atomic_load_n(&w.written, __ATOMIC_ACQUIRE) < TOUR_KILL_AT && !w.error &&
	       up_mono_ms() < deadline)
		s_sleep_ms(1);
	int at = __atomic_load_n(&w.written, __ATOMIC_ACQUIRE);
	int64_t killed = up_mono_ms();
	int krc = kill((pid_t)before.pid, SIGKILL);
	printf("tour: SIGKILL to vdisk (pid %lld) after %d KiB: %s\n", (long long)before.pid,
	       at * TOUR_CHUNK / 1024, krc == 0 ? "killed" : strerror(errno));
	fflush(stdout);
	int code = EX_OK;
	memset(&after, 0, sizeof after);
	while (up_mono_ms() < killed + o->timeout_ms &&
	       !(s_etcd_svc(st, "vdisk", &after) == 0 && after.generation > before.generation &&
	         strcmp(after.state, "up") == 0))
		s_sleep_ms(5);
	if (after.generation > before.generation && strcmp(after.state, "up") == 0)
		printf("tour: RS restarted vdisk: generation %llu (pid %lld) up %lld ms after the "
		       "kill; last exit: %s\n",
		       (unsigned long long)after.generation, (long long)after.pid,
		       (long long)(up_mono_ms() - killed), after.last_exit);
	else {
		fprintf(stderr, "tour: vdisk was not restarted within %d ms (state %s)\n",
		        o->timeout_ms, after.state);
		code = EX_SOFTWARE;
	}
	pthread_join(t, NULL);
	int64_t done = up_mono_ms();
	if (w.error) {
		fprintf(stderr, "tour: the write failed after %d chunks: %s\n", w.written,
		        strerror(w.error));
		code = EX_SOFTWARE;
	} else
		printf("tour: the write went on and completed %lld ms after the kill (every write "
		       "and fsync answered without an error)\n",
		       (long long)(done - killed));
	plexus_close(p, w.fd);
	uint64_t sum = 0;
	off_t size = 0;
	int rc = s_read_back(p, &sum, &size);
	if (rc < 0) {
		fprintf(stderr, "tour: reading %s back: %s\n", TOUR_PATH, strerror(-rc));
		code = EX_SOFTWARE;
	} else if (sum != expect || size != (off_t)TOUR_CHUNKS * TOUR_CHUNK) {
		fprintf(stderr,
		        "tour: %s differs: %lld bytes, checksum %016llx, expected %016llx\n",
		        TOUR_PATH, (long long)size, (unsigned long long)sum,
		        (unsigned long long)expect);
		code = EX_SOFTWARE;
	} else
		printf("tour: %s read back: %lld bytes, checksum %016llx matches\n", TOUR_PATH,
		       (long long)size, (unsigned long long)sum);
	plexus_disconnect(&p);
	if (code == EX_OK)
		printf(
		    "\nWhat happened: the disk driver under /data (vdisk) was killed with %d KiB "
		    "of\nthe file still to write. Its node kernel reported the exit to RS at once; "
		    "RS\nstarted generation %llu; VFS reopened the disk and told mfs-data the new "
		    "driver\n(FS_NEW_DRIVER); mfs-data retried its pending I/O there. The writer "
		    "saw "
		    "no error\nand every byte is on the disk.\n"
		    "tour: done. Plexus keeps running: plexus sh, plexus mount DIR; plexus down "
		    "stops it.\n",
		    (TOUR_CHUNKS - at) * TOUR_CHUNK / 1024, (unsigned long long)after.generation);
	return code;
}

#else /* no libplexus yet */

int up_mount_data(const up_state *st)
{
	(void)st;
	return EX_OK;
}

int up_root_save(const up_state *st, const char *path)
{
	(void)st, (void)path;
	return -ENOTSUP;
}

int up_tour(const up_opts *o, const up_state *st)
{
	(void)o, (void)st;
	fprintf(stderr, "plexus up: the tour needs the file system (libplexus, plexus-vfs), "
	                "which this build does not have\n");
	return EX_UNAVAILABLE;
}

#endif
