/*
 * diskwatch.c — who writes /data's disk image while a partition drill runs (drill.h).
 *
 * Entry points: drill_diskwatch_start, drill_diskwatch_count, drill_diskwatch_stop.
 *
 * fanotify's FAN_MODIFY on the image file names the process of every write to it (the disk
 * driver's pwritev), so whether a process of the cut-off node wrote after RS had its service
 * up elsewhere is told by the kernel, not by anything of Plexus. A thread reads the events as
 * they come and keeps (time read, pid) for each; the kernel merges only identical events not
 * yet read, so a write is never timed before it happened. fanotify needs CAP_SYS_ADMIN: without
 * it the watch does not start and the drill says the check was not made.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <unistd.h>

#include "drill.h"

#define S_WRITES_MAX (1u << 20)

typedef struct s_write {
	int64_t ms;
	int32_t pid;
} s_write;

struct drill_diskwatch {
	int fd;
	pthread_t thread;
	atomic_bool stop;
	pthread_mutex_t lock; /* guards writes, n */
	s_write *writes;
	size_t n;
};

/* Keeps one write; past S_WRITES_MAX the latest overwrite the last slot (still counted). */
static void s_keep(drill_diskwatch *self, int32_t pid)
{
	pthread_mutex_lock(&self->lock);
	size_t at = self->n < S_WRITES_MAX ? self->n++ : S_WRITES_MAX - 1;
	self->writes[at] = (s_write){.ms = drill_ms(), .pid = pid};
	pthread_mutex_unlock(&self->lock);
}

static void *s_read_events(void *arg)
{
	drill_diskwatch *self = arg;
	char buf[8192] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	while (!atomic_load(&self->stop)) {
		struct pollfd p = {.fd = self->fd, .events = POLLIN};
		if (poll(&p, 1, 50) <= 0)
			continue;
		ssize_t len = read(self->fd, buf, sizeof buf);
		const struct fanotify_event_metadata *md = (const void *)buf;
		for (; len > 0 && FAN_EVENT_OK(md, len); md = FAN_EVENT_NEXT(md, len)) {
			if (md->vers == FANOTIFY_METADATA_VERSION && (md->mask & FAN_MODIFY))
				s_keep(self, md->pid);
			if (md->fd >= 0)
				close(md->fd);
		}
	}
	return NULL;
}

drill_diskwatch *drill_diskwatch_start(const char *image)
{
	drill_diskwatch *self = calloc(1, sizeof *self);
	if (!self || !(self->writes = calloc(S_WRITES_MAX, sizeof *self->writes))) {
		free(self);
		return NULL;
	}
	pthread_mutex_init(&self->lock, NULL);
	self->fd =
	    fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK, O_RDONLY | O_CLOEXEC);
	bool ok = self->fd >= 0 &&
	          fanotify_mark(self->fd, FAN_MARK_ADD, FAN_MODIFY, AT_FDCWD, image) == 0 &&
	          pthread_create(&self->thread, NULL, s_read_events, self) == 0;
	if (!ok) {
		int e = errno;
		if (self->fd >= 0)
			close(self->fd);
		pthread_mutex_destroy(&self->lock);
		free(self->writes);
		free(self);
		errno = e;
		return NULL;
	}
	return self;
}

int64_t drill_diskwatch_count(drill_diskwatch *self, const long *pids, size_t npids,
                              int64_t from_ms, int64_t to_ms)
{
	int64_t count = 0;
	pthread_mutex_lock(&self->lock);
	for (size_t i = 0; i < self->n; i++) {
		const s_write *w = &self->writes[i];
		bool theirs = false;
		for (size_t j = 0; j < npids && !theirs; j++)
			theirs = pids[j] == w->pid;
		count += theirs && w->ms >= from_ms && w->ms < to_ms;
	}
	pthread_mutex_unlock(&self->lock);
	return count;
}

void drill_diskwatch_stop(drill_diskwatch **self_p)
{
	drill_diskwatch *self = *self_p;
	if (!self)
		return;
	atomic_store(&self->stop, true);
	pthread_join(self->thread, NULL);
	close(self->fd);
	pthread_mutex_destroy(&self->lock);
	free(self->writes);
	free(self);
	*self_p = NULL;
}
