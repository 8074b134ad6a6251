/*
 * main.c — plexus-vfs, the virtual file system server: the one namespace every client process
 * of the cluster sees (docs/vfs.md).
 *
 * Entry points: main.
 *
 * The life of a service (drivers/memory/main.c): options, plx_service_new, the worker pool,
 * the root file system and further mounts from the options (waiting for their file servers to
 * appear), the devices side's start, the watch on ep/ that cleans up after dead clients, then
 * publish and run the loop until IPC_SHUTDOWN or SIGTERM.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <plexus/log.h>

#include "vfs.h"

#define S_MOUNTS_MAX 16

typedef struct s_mount_opt {
	char fs[PLX_LABEL_MAX];
	char driver[PLX_LABEL_MAX];
	uint32_t minor;
	char path[VFS_PATH_MAX];
	bool read_only;
	uint32_t flags; /* VFS_MNT_* in force (recorded mounts) */
	bool recorded;  /* from the record of a previous instance's VFS_MOUNTs */
	uint32_t dev;   /* the device number it had there */
} s_mount_opt;

typedef struct s_opts {
	vfs *vfs;
	s_mount_opt root;
	bool has_root;
	s_mount_opt mounts[S_MOUNTS_MAX];
	int nmounts;
	int workers;
	int workers_max;
	int workers_idle_ms;
	int wait_s; /* how long to wait for a file server at start */
} s_opts;

static s_opts s_o; /* the options, filled by main and s_option */

/* Parses DRIVER:MINOR into m (an empty DRIVER or "" means no device). */
static int s_dev(const char *value, s_mount_opt *m)
{
	const char *colon = strchr(value, ':');
	size_t len = colon ? (size_t)(colon - value) : strlen(value);
	if (len >= sizeof m->driver)
		return -EINVAL;
	memcpy(m->driver, value, len);
	m->driver[len] = '\0';
	if (!colon)
		return len == 0 ? 0 : -EINVAL;
	char *end;
	unsigned long minor = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || minor > UINT32_MAX || (len > 0 && colon[1] == '\0'))
		return -EINVAL;
	m->minor = (uint32_t)minor;
	return 0;
}

/* FS_LABEL:DRIVER:MINOR:/path */
static int s_mount_opt_parse(const char *value, s_mount_opt *m)
{
	const char *c1 = strchr(value, ':');
	if (!c1 || (size_t)(c1 - value) >= sizeof m->fs || c1 == value)
		return -EINVAL;
	memcpy(m->fs, value, (size_t)(c1 - value));
	m->fs[c1 - value] = '\0';
	const char *c2 = strchr(c1 + 1, ':');
	const char *c3 = c2 ? strchr(c2 + 1, ':') : NULL;
	if (!c3 || c3[1] != '/' || strlen(c3 + 1) >= sizeof m->path)
		return -EINVAL;
	char dev[PLX_LABEL_MAX + 16];
	if ((size_t)(c3 - c1 - 1) >= sizeof dev)
		return -EINVAL;
	memcpy(dev, c1 + 1, (size_t)(c3 - c1 - 1));
	dev[c3 - c1 - 1] = '\0';
	if (strcmp(dev, ":") == 0)
		dev[0] = '\0';
	strcpy(m->path, c3 + 1);
	return s_dev(dev, m);
}

/* The text before the service options (plx_service_usage follows it). */
static void s_usage(FILE *out)
{
	fprintf(out,
	        "usage: plexus-vfs [options]\n\n"
	        "The virtual file system server: path resolution, descriptors, mounts; file\n"
	        "servers (plexus-mfs, plexus-pfs) hold the files (docs/vfs.md).\n\n"
	        "VFS options:\n"
	        "  --root FS_LABEL          the file server instance of the root file system\n"
	        "  --root-dev DRIVER:MINOR  the block device it serves (omit for none)\n"
	        "  --mount FS_LABEL:DRIVER:MINOR:/path\n"
	        "                           a further mount at start (DRIVER and MINOR may be\n"
	        "                           empty for a file server without a device); repeat\n"
	        "  --workers N              worker threads at start (default %d)\n"
	        "  --workers-max N          most worker threads: more start while all are\n"
	        "                           busy, e.g. waiting on a slow file server (default %d;\n"
	        "                           fewer when the descriptors allow fewer connections)\n"
	        "  --workers-idle MS        a worker beyond --workers idle this long ends, its\n"
	        "                           connections closed (default %d)\n"
	        "  --procs-per-uid N        clients one user (not root) may register at once;\n"
	        "                           VFS_REGISTER past it fails EAGAIN (default %d)\n"
	        "  --vnode-cache N          unused vnodes kept with their file server references\n"
	        "                           for the next lookup (default %d; 0: none)\n"
	        "  --dcache N               names remembered, so a path resolved before costs no\n"
	        "                           FS_LOOKUP (default %d; 0: none)\n"
	        "  --fs-timeout MS          a file server call unanswered by then fails -EIO\n"
	        "                           (default %d)\n"
	        "  --wait S                 how long to wait at start for the file servers of\n"
	        "                           the mounts to appear (default 30)\n"
	        "  --help                   this text\n",
	        VFS_WORKERS, VFS_WORKERS_MAX, VFS_WORKER_IDLE_MS, VFS_PROCS_PER_UID,
	        VFS_VNODE_CACHE, VFS_DCACHE_MAX, VFS_FS_TIMEOUT_MS);
	vfs_dev_usage(out);
	fputc('\n', out);
}

static int s_option(void *arg, const char *name, const char *value, char *err, size_t size)
{
	(void)arg;
	s_opts *o = &s_o;
	int rc = 0;
	if (strcmp(name, "root") == 0) {
		if (strlen(value) == 0 || strlen(value) >= sizeof o->root.fs)
			rc = -EINVAL;
		else
			strcpy(o->root.fs, value), o->has_root = true;
	} else if (strcmp(name, "root-dev") == 0) {
		rc = s_dev(value, &o->root);
	} else if (strcmp(name, "mount") == 0) {
		rc = o->nmounts < S_MOUNTS_MAX ? s_mount_opt_parse(value, &o->mounts[o->nmounts++])
		                               : -EINVAL;
	} else if (strcmp(name, "workers") == 0) {
		o->workers = atoi(value);
		rc = o->workers >= 1 && o->workers <= 1024 ? 0 : -EINVAL;
	} else if (strcmp(name, "workers-max") == 0) {
		o->workers_max = atoi(value);
		rc = o->workers_max >= 1 && o->workers_max <= 4096 ? 0 : -EINVAL;
	} else if (strcmp(name, "procs-per-uid") == 0) {
		char *end;
		unsigned long n = strtoul(value, &end, 10);
		rc = *value && !*end && n >= 1 && n <= 1000000 ? 0 : -EINVAL;
		o->vfs->procs_per_uid = n;
	} else if (strcmp(name, "workers-idle") == 0) {
		o->workers_idle_ms = atoi(value);
		rc = o->workers_idle_ms >= 10 && o->workers_idle_ms <= 3600000 ? 0 : -EINVAL;
	} else if (strcmp(name, "vnode-cache") == 0) {
		char *end;
		unsigned long n = strtoul(value, &end, 10);
		rc = *value && !*end && n <= 1000000 ? 0 : -EINVAL;
		o->vfs->lru_max = n;
	} else if (strcmp(name, "dcache") == 0) {
		char *end;
		unsigned long n = strtoul(value, &end, 10);
		rc = *value && !*end && n <= 10000000 ? 0 : -EINVAL;
		o->vfs->ndents_max = n;
	} else if (strcmp(name, "fs-timeout") == 0) {
		o->vfs->fs_timeout_ms = atoi(value);
		rc = o->vfs->fs_timeout_ms >= 1 ? 0 : -EINVAL;
	} else if (strcmp(name, "wait") == 0) {
		o->wait_s = atoi(value);
		rc = o->wait_s >= 0 ? 0 : -EINVAL;
	} else {
		return vfs_dev_option(o->vfs, name, value, err, size);
	}
	if (rc < 0)
		snprintf(err, size, "--%s %s: bad value", name, value);
	return rc;
}

static double s_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* True when VFS's own table has file server fs mounted. */
static bool s_have(vfs *v, const char *fs)
{
	bool have = false;
	pthread_mutex_lock(&v->lock);
	for (int i = 0; i < VFS_MOUNT_MAX; i++)
		if (v->mounts[i] && strcmp(v->mounts[i]->fs, fs) == 0)
			have = true;
	pthread_mutex_unlock(&v->lock);
	return have;
}

/* A file server still mounted by a VFS instance that died: asks it to unmount (it refuses
 * while that instance's clients' files are still referenced). Returns 0 or a negative errno. */
static int s_take_over(vfs *v, const char *fs)
{
	plx_fs *client = plx_fs_new(v->ep, fs, v->fs_timeout_ms);
	int rc = client ? plx_fs_unmount(client) : -ENOMEM;
	plx_fs_destroy(&client);
	plx_log(PLX_LOG_INFO, "%s was mounted by a previous instance; unmounting it: %s", fs,
	        rc == 0 ? "done" : plx_strerror(rc));
	return rc;
}

/* Mounts m (target NULL: the root), retrying while its file server has not appeared yet. */
static int s_mount(vfs *v, const s_mount_opt *m, const char *target, int wait_s)
{
	vfs_req req;
	memset(&req, 0, sizeof req);
	req.vfs = v; /* root credentials: cred all zero */
	char source[PLX_LABEL_MAX + 16] = "";
	if (m->driver[0])
		snprintf(source, sizeof source, "%s:%u", m->driver, m->minor);
	double deadline = s_now() + wait_s;
	bool took_over = false;
	for (;;) {
		if (!took_over && s_have(v, m->fs))
			return -EBUSY; /* named twice */
		vfs_mount_how how = {m->driver, m->minor, m->read_only, m->flags};
		int rc = vfs_mount_fs(&req, m->fs, source, &how, target, m->recorded, m->dev);
		if (rc == -EBUSY && !took_over) {
			took_over = true;
			if ((rc = s_take_over(v, m->fs)) == 0)
				continue;
			return -EBUSY;
		}
		/* -EIO: the file server is not there (yet); -ENXIO: nor its driver */
		if (rc != -EIO && rc != -ENXIO)
			return rc;
		if (s_now() >= deadline)
			return rc;
		usleep(200 * 1000);
	}
}

static int s_mount_all(vfs *v, const s_opts *o, char *err, size_t size)
{
	if (o->has_root) {
		int rc = s_mount(v, &o->root, NULL, o->wait_s);
		if (rc < 0) {
			snprintf(err, size, "mounting the root %s: %s", o->root.fs,
			         plx_strerror(rc));
			return rc;
		}
	}
	for (int i = 0; i < o->nmounts; i++) {
		int rc = s_mount(v, &o->mounts[i], o->mounts[i].path, o->wait_s);
		if (rc < 0) {
			snprintf(err, size, "mounting %s on %s: %s", o->mounts[i].fs,
			         o->mounts[i].path, plx_strerror(rc));
			return rc;
		}
	}
	return 0;
}

/* One line of the recorded mounts ("FS\tDRIVER:MINOR\tRO\tDEV\tFLAGS\tTARGET"; a record
 * without FLAGS, from before they were kept, as nodev,nosuid) into m. */
static int s_record_parse(char *line, s_mount_opt *m)
{
	memset(m, 0, sizeof *m);
	char *save = NULL, *fs = strtok_r(line, "\t", &save), *dev = strtok_r(NULL, "\t", &save);
	char *ro = strtok_r(NULL, "\t", &save), *devno = strtok_r(NULL, "\t", &save);
	char *target = strtok_r(NULL, "", &save);
	m->flags = PLEXUS__VFS_MOUNT_FLAG__VFS_MNT_NODEV | PLEXUS__VFS_MOUNT_FLAG__VFS_MNT_NOSUID;
	if (target && target[0] != '/') {
		char *tab = strchr(target, '\t');
		if (!tab)
			return -EINVAL;
		*tab = '\0';
		m->flags = (uint32_t)strtoul(target, NULL, 10);
		target = tab + 1;
	}
	if (!fs || !dev || !ro || !devno || !target || strlen(fs) >= sizeof m->fs ||
	    target[0] != '/' || strlen(target) >= sizeof m->path)
		return -EINVAL;
	m->dev = (uint32_t)strtoul(devno, NULL, 10);
	strcpy(m->fs, fs);
	strcpy(m->path, target);
	m->read_only = strcmp(ro, "1") == 0;
	m->recorded = true;
	return strcmp(dev, "-") == 0 ? 0 : s_dev(dev, m);
}

/* A restarted VFS mounts again what its predecessors mounted by VFS_MOUNT (mount.c records
 * it in DS), taking each file server over from the dead instance; a fresh one forgets. A
 * mount that fails is logged and left out: the rest of the namespace is served. */
static void s_mount_recorded(vfs *v, const s_opts *o)
{
	if (!plx_service_restarted(v->svc)) {
		vfs_mounts_forget(v);
		return;
	}
	char *text = vfs_mounts_recorded(v), *save = NULL;
	for (char *line = text ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		s_mount_opt m;
		int rc = s_record_parse(line, &m);
		if (rc == 0)
			rc = s_mount(v, &m, m.path, o->wait_s);
		plx_log(PLX_LOG_INFO, "restart: mounting %s on %s again: %s",
		        rc == -EINVAL && !m.fs[0] ? "a bad record" : m.fs, m.path,
		        rc == 0 ? "done" : plx_strerror(rc));
	}
	free(text);
}

static void s_on_reply(plx_server *srv, plx_msg *msg)
{
	vfs_dev_on_reply(plx_server_arg(srv), msg);
}

static void s_on_notify(plx_server *srv, plx_msg *msg)
{
	vfs_dev_on_notify(plx_server_arg(srv), msg);
}

/* The most workers: as asked, but never more than the ZeroMQ context's sockets allow each to
 * keep its connections (PLX_PORT_CACHE_MAX), a quarter of them left for the rest. */
static int s_workers_max(vfs *v, const s_opts *o)
{
	int max = o->workers_max > o->workers ? o->workers_max : o->workers;
	int budget = plx_ctx_max_sockets(plx_service_ctx(v->svc)) * 3 / 4 / PLX_PORT_CACHE_MAX;
	if (max > budget)
		max = budget;
	return max < o->workers ? o->workers : max;
}

/* What IPC_PING reports to RS besides the library's descriptor check: the worker pool. */
static bool s_health(plx_server *srv, char *why, size_t size)
{
	vfs *v = plx_server_arg(srv);
	return !v->workers || vfs_workers_health(v->workers, why, size);
}

/* Between making the server and publishing: the event callbacks, the workers, the devices,
 * the mounts and the watch on ep/. Returns 0 or a negative errno with err set. */
static int s_setup(void *arg, plx_service *svc, plx_server *srv, char *err, size_t size)
{
	(void)svc;
	vfs *v = arg;
	const s_opts *o = &s_o;
	v->srv = srv;
	plx_server_on_reply(v->srv, s_on_reply);
	plx_server_on_notify(v->srv, s_on_notify);
	plx_server_set_health(v->srv, s_health);
	v->workers =
	    vfs_workers_new(v, vfs_run, o->workers, s_workers_max(v, o), o->workers_idle_ms);
	if (!v->workers)
		return snprintf(err, size, "workers: %s", strerror(errno)), -errno;
	plx_server_set_worker(v->srv, vfs_submit, v->workers);
	int rc = vfs_dev_start(v);
	if (rc < 0)
		return snprintf(err, size, "devices: %s", plx_strerror(rc)), rc;
	if ((rc = s_mount_all(v, o, err, size)) < 0)
		return rc;
	s_mount_recorded(v, o);
	if ((rc = vfs_procs_watch(v)) < 0)
		return snprintf(err, size, "watching ep/: %s", plx_strerror(rc)), rc;
	return 0;
}

/* Undoes s_setup in reverse (also a partial one); the server goes afterwards. */
static void s_teardown(void *arg, plx_server *srv)
{
	(void)srv;
	vfs *v = arg;
	vfs_procs_unwatch(v);
	vfs_dev_stop(v); /* its events thread defers work to the workers: stopped first */
	vfs_workers_destroy(&v->workers);
	vfs_watches_stop(v);
	vfs_procs_clear(v);
	vfs_mounts_clear(v);
	v->srv = NULL;
}

/* Starts everything, publishes, runs; returns 0 or a negative errno with err set. */
static int s_run(void *arg, plx_service *svc, char *err, size_t size)
{
	vfs *v = arg;
	char detail[32];
	snprintf(detail, sizeof detail, "%d workers", s_o.workers);
	const plx_serve_hooks hooks = {.setup = s_setup, .teardown = s_teardown, .detail = detail};
	v->svc = svc;
	v->ep = plx_service_ep(svc);
	size_t n;
	const plx_handler *table = vfs_table(&n);
	int rc = plx_service_serve(svc, table, n, v, &hooks, err, size);
	v->svc = NULL;
	return rc;
}

static void s_cleanup(void *arg)
{
	vfs_fini(arg);
}

/* What VFS serves (VFS, and CDEV_SEL2_REPLY) and calls (FS, CDEV, BDEV). */
static const plx_family *const s_families[] = {&plx_family_vfs, &plx_family_fs, &plx_family_cdev,
                                               &plx_family_bdev, NULL};

static const plx_service_desc s_desc = {
    .program = "plexus-vfs",
    .label = "vfs",
    .usage_fn = s_usage,
    .option = s_option,
    .families = s_families,
    .run = s_run,
    .cleanup = s_cleanup,
    .follow_all = true, /* its clients' deaths cancel their device requests (device.c) */
};

int main(int argc, char **argv)
{
	static vfs v;
	if (vfs_init(&v) < 0)
		return EX_OSERR;
	v.lru_max = VFS_VNODE_CACHE;
	v.ndents_max = VFS_DCACHE_MAX;
	s_o = (s_opts){
	    .vfs = &v, .workers = VFS_WORKERS, .workers_max = VFS_WORKERS_MAX, .wait_s = 30};
	return plx_service_main(&s_desc, &v, argc, argv);
}
