/*
 * catalog.c — the labs `plexus lab` knows, and where their files are.
 *
 * Entry points: lab_catalog, lab_count, lab_find, lab_path.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "lab.h"

static const lab s_labs[] = {
    {1, "1-upper", "A character driver from hello",
     "plexus-upper: a device whose reads give back what was written, upper-cased", 45,
     "plexus-upper", "docs/anatomy.md, drivers/hello/main.c (MINIX drivers/hello/hello.c)", NULL},
    {2, "2-remember", "A driver that remembers across a crash",
     "plexus-upper keeps its text in DS, so a restart after SIGKILL goes on from it", 30,
     "plexus-upper", "docs/drivers.md \"state\", registry/include/plexus/service.h", NULL},
    {3, "3-rs-policy", "An RS restart policy",
     "RS's policy.c: exponential backoff with a cap, and giving up after N crashes in a row", 40,
     "plexus-rs", "docs/reincarnation.md, reincarnation/policy.c (MINIX servers/rs/manager.c)",
     NULL},
    {4, "4-fifo", "Reads that wait: a pipe device",
     "plexus-fifo: a read with nothing to read waits until a write answers it", 40, "plexus-fifo",
     "drivers/log/device.c, chardriver.h \"suspend\" (MINIX drivers/tty)", NULL},
    {5, "5-diagnose", "Diagnose a failure",
     "a running Plexus has one broken service: find which and how, then fix it", 30, NULL,
     "docs/reincarnation.md, docs/labs.md labs 2 and 3", "lab.sh"},
};

const lab *lab_catalog(void)
{
	return s_labs;
}

size_t lab_count(void)
{
	return sizeof s_labs / sizeof *s_labs;
}

const lab *lab_find(const char *text)
{
	char *end;
	long n = strtol(text, &end, 10);
	if (*text == '\0' || *end != '\0')
		return NULL;
	for (size_t i = 0; i < lab_count(); i++)
		if (s_labs[i].number == n)
			return &s_labs[i];
	return NULL;
}

int lab_path(const lab *l, const char *rest, char *out, size_t size)
{
	int n = snprintf(out, size, "%s/%s/%s", PLEXUS_LABS_SRC, l->dir, rest);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}
