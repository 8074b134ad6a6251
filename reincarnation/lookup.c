/*
 * lookup.c — what every part of RS asks: the time, and a service or node by name. Below the
 * other files, which all call it; it calls none of them.
 *
 * Entry points: rs_now_ms, rs_mono_ms, rs_find, rs_node_find.
 */
#include <string.h>
#include <time.h>

#include "rs.h"

int64_t rs_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t rs_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

rs_svc *rs_find(rs *self, const char *label)
{
	for (size_t i = 0; label && i < self->nsvcs; i++)
		if (strcmp(self->svcs[i].desc->label, label) == 0)
			return &self->svcs[i];
	return NULL;
}

rs_node *rs_node_find(rs *self, const char *name)
{
	for (size_t i = 0; name && i < self->nnodes; i++)
		if (strcmp(self->nodes[i].name, name) == 0)
			return &self->nodes[i];
	return NULL;
}
