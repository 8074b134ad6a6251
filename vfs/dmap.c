/*
 * dmap.c — the device map (MINIX's dmap): device number -> driver label, from the options of
 * plexus-vfs, and the devices side's state.
 *
 * Entry points: vfs_devs_of, vfs_dev_option, vfs_dev_usage, vfs_dmap_block, vfs_dmap_driver,
 * vfs_driver_find, vfs_driver_stub.
 *
 * --dmap MAJOR=LABEL[,reopen] maps a major number (0..255) to a driver label (reopen: its
 * character files are reopened on its next generation, gc.c); the kind (block or
 * character) is the special file's, and the driver announces which it serves (drv.blk.<label>,
 * drv.chr.<label>). Majors that name one label share one vfs_driver and its mutex. --pfs LABEL
 * names the pipe file server (default "pfs").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "dev.h"

static pthread_mutex_t s_once = PTHREAD_MUTEX_INITIALIZER;

vfs_devs *vfs_devs_of(vfs *v)
{
	pthread_mutex_lock(&s_once);
	if (!v->dev) {
		vfs_devs *d = calloc(1, sizeof *d);
		if (d) {
			pthread_mutex_init(&d->lock, NULL);
			snprintf(d->pfs_label, sizeof d->pfs_label, "pfs");
			d->next_id = 1;
			d->wake_fd = -1;
			v->dev = d;
		}
	}
	pthread_mutex_unlock(&s_once);
	return v->dev;
}

vfs_driver *vfs_driver_find(vfs *v, const char *label)
{
	vfs_devs *d = vfs_devs_of(v);
	for (int i = 0; d && i < d->ndrivers; i++)
		if (strcmp(d->drivers[i].label, label) == 0)
			return &d->drivers[i];
	return NULL;
}

void vfs_driver_stub(vfs *v, const vfs_driver *drv, uint64_t gen, plx_stub *st)
{
	*st = (plx_stub){0}; /* a label plx_stub_init refuses: every call answers -EINVAL */
	plx_stub_init(st, v->ep, drv->label, gen, VFS_DEV_TIMEOUT);
}

vfs_driver *vfs_dmap_driver(vfs *v, uint64_t rdev)
{
	vfs_devs *d = vfs_devs_of(v);
	unsigned maj = major((dev_t)rdev);
	if (!d || maj >= VFS_MAJORS_MAX || d->major[maj] == 0)
		return NULL;
	return &d->drivers[d->major[maj] - 1];
}

/* Maps major to label (a new driver entry unless the label has one). 0 or -EINVAL/-ENOSPC. */
static int s_map(vfs_devs *d, unsigned maj, const char *label)
{
	int i = 0;
	while (i < d->ndrivers && strcmp(d->drivers[i].label, label) != 0)
		i++;
	if (i == d->ndrivers) {
		if (d->ndrivers == VFS_DRIVERS_MAX)
			return -ENOSPC;
		vfs_driver *drv = &d->drivers[d->ndrivers++];
		snprintf(drv->label, sizeof drv->label, "%s", label);
		pthread_mutex_init(&drv->mutex, NULL);
	}
	d->major[maj] = i + 1;
	return 0;
}

int vfs_dev_option(vfs *v, const char *name, const char *value, char *err, size_t size)
{
	vfs_devs *d = vfs_devs_of(v);
	if (!d)
		return -ENOMEM;
	if (strcmp(name, "pfs") == 0) {
		if (!*value || strlen(value) >= sizeof d->pfs_label) {
			snprintf(err, size, "bad --pfs '%s': want a label", value);
			return -EINVAL;
		}
		snprintf(d->pfs_label, sizeof d->pfs_label, "%s", value);
		return 0;
	}
	if (strcmp(name, "dmap") != 0)
		return -ENOENT;
	char *end, label[PLX_LABEL_MAX];
	unsigned long maj = strtoul(value, &end, 10);
	const char *comma = strchr(value, ',');
	size_t len = comma ? (size_t)(comma - end - 1) : strlen(end + (*end ? 1 : 0));
	bool reopen = comma && strcmp(comma, ",reopen") == 0;
	if (end == value || *end != '=' || maj >= VFS_MAJORS_MAX || len == 0 ||
	    len >= PLX_LABEL_MAX || (comma && !reopen)) {
		snprintf(err, size, "bad --dmap '%s': want MAJOR=LABEL[,reopen], MAJOR 0..255",
		         value);
		return -EINVAL;
	}
	memcpy(label, end + 1, len);
	label[len] = '\0';
	if (strchr(label, '/')) {
		snprintf(err, size, "bad --dmap '%s': a label has no '/'", value);
		return -EINVAL;
	}
	int rc = s_map(d, (unsigned)maj, label);
	if (rc == 0 && reopen)
		d->drivers[d->major[maj] - 1].reopen = true;
	if (rc < 0)
		snprintf(err, size, "--dmap '%s': more than %d drivers", value, VFS_DRIVERS_MAX);
	return rc;
}

void vfs_dev_usage(FILE *out)
{
	fprintf(out,
	        "Device options:\n"
	        "  --dmap MAJOR=LABEL       device numbers of major MAJOR (0..255) are served by\n"
	        "                           the driver LABEL (block or character, as the special\n"
	        "                           file says); repeat for more\n"
	        "  --pfs LABEL              the pipe file server (default pfs)\n\n");
}

int vfs_dmap_block(vfs *v, uint64_t rdev, char *label)
{
	vfs_driver *drv = vfs_dmap_driver(v, rdev);
	if (!drv)
		return -ENXIO;
	snprintf(label, PLX_LABEL_MAX, "%s", drv->label);
	return 0;
}
