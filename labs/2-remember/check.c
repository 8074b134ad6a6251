/*
 * check.c — lab 2's checks: the student's plexus-upper runs as a real service against a
 * private etcd; the check writes to it through the CDEV stubs, kills it with SIGKILL and
 * starts it again as RS does after a crash (PLEXUS_INIT=restart), twice, then fresh.
 *
 * Entry points: main (plexus-lab-check-2 DRIVER).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include <plexus/cdev.h>

#include "labharness.h"
#include "plexus/proto/cdev.pb-c.h"

/* What minor 0 reads at 0 now, through a client of its own (the driver's generation changes
 * with each start), NUL-terminated in buf; "" when the read fails. */
static const char *s_text(lab_harness *h, char *buf, size_t size)
{
	plx_cdev *dev = plx_cdev_new(lab_harness_ep(h), lab_harness_label(h), LAB_TIMEOUT);
	ssize_t n = dev ? plx_cdev_read(dev, 0, 0, buf, size - 1, 0, 0, NULL) : -ENOMEM;
	buf[n > 0 ? n : 0] = '\0';
	plx_cdev_destroy(&dev);
	return buf;
}

static bool s_write(lab_harness *h, const char *text)
{
	plx_cdev *dev = plx_cdev_new(lab_harness_ep(h), lab_harness_label(h), LAB_TIMEOUT);
	ssize_t n = dev ? plx_cdev_write(dev, 0, 0, text, strlen(text), 0, 0) : -ENOMEM;
	plx_cdev_destroy(&dev);
	return n == (ssize_t)strlen(text);
}

/* A crash and RS's restart: SIGKILL, then a new instance told PLEXUS_INIT=restart. */
static bool s_crash_restart(lab_harness *h)
{
	lab_crash(h);
	return lab_start(h, "restart") == 0;
}

static void s_checks(lab_harness *h)
{
	char buf[2048];
	lab_check(h, "write-read",
	          s_write(h, "first words") &&
	              strcmp(s_text(h, buf, sizeof buf), "FIRST WORDS") == 0,
	          "lab 1's behaviour must stay: a write, then a read of it upper-cased");
	if (!lab_check(h, "restarts", s_crash_restart(h),
	               "after SIGKILL, a start with PLEXUS_INIT=restart did not publish its "
	               "endpoint (does upper_init return an error?)"))
		return;
	lab_check(h, "survives-crash", strcmp(s_text(h, buf, sizeof buf), "FIRST WORDS") == 0,
	          "after a crash and a restart the text written before must be back: save it in "
	          "upper_write (plx_service_state_save), restore it in upper_init when restarted");
	lab_check(h, "goes-on",
	          s_write(h, "second") && s_crash_restart(h) &&
	              strcmp(s_text(h, buf, sizeof buf), "SECOND") == 0,
	          "a write after a restart must be saved too, and be back after the next crash");
	lab_check(h, "crash-loop",
	          s_crash_restart(h) && s_crash_restart(h) &&
	              strcmp(s_text(h, buf, sizeof buf), "SECOND") == 0,
	          "restarts with no write in between must each find the text again");
	lab_stop(h);
	lab_check(h, "fresh-forgets",
	          lab_start(h, "fresh") == 0 && strcmp(s_text(h, buf, sizeof buf), "") == 0,
	          "a fresh start (PLEXUS_INIT=fresh) must begin empty, whatever was saved");
	lab_check(h, "fresh-then-crash",
	          s_crash_restart(h) && strcmp(s_text(h, buf, sizeof buf), "") == 0,
	          "a crash after a fresh start must not bring back the text of an earlier life: "
	          "save the empty text at a fresh start");
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: plexus-lab-check-2 DRIVER\n");
		return EX_USAGE;
	}
	lab_harness *h = lab_harness_new(argv[1]);
	if (!h)
		return EX_UNAVAILABLE;
	plx_register_types(&plexus__cdev_type__descriptor);
	if (lab_check(h, "starts", lab_start(h, NULL) == 0,
	              "the driver did not publish its endpoint; see its output below"))
		s_checks(h);
	else
		fprintf(stderr, "%s", lab_log(h));
	return lab_harness_destroy(&h) ? 1 : 0;
}
