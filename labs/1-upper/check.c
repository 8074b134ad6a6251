/*
 * check.c — lab 1's checks: the student's plexus-upper runs as a real service against a
 * private etcd and is driven over ZeroMQ through the CDEV stubs (plx_cdev_*).
 *
 * Entry points: main (plexus-lab-check-1 DRIVER).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include <plexus/cdev.h>

#include "labharness.h"
#include "plexus/proto/cdev.pb-c.h"

#define S_ACCESS (PLEXUS__CDEV_ACCESS__CDEV_R_BIT | PLEXUS__CDEV_ACCESS__CDEV_W_BIT)

/* Reads minor 0 at position into buf (NUL-terminated); returns the read's result. */
static ssize_t s_read(plx_cdev *dev, uint64_t position, char *buf, size_t size)
{
	ssize_t n = plx_cdev_read(dev, 0, position, buf, size - 1, 0, 0, NULL);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

static ssize_t s_write(plx_cdev *dev, const char *text)
{
	return plx_cdev_write(dev, 0, 0, text, strlen(text), 0, 0);
}

/* Write, read back upper-cased, read from a position, end of file, a second write. */
static void s_check_text(lab_harness *h, plx_cdev *dev)
{
	char buf[2048];
	lab_check(h, "open", plx_cdev_open(dev, 0, S_ACCESS) == 0,
	          "opening minor 0 for reading and writing must succeed (upper_exists)");
	lab_check(h, "write", s_write(dev, "hello, plexus") == 13,
	          "a write of 13 bytes must answer 13 (set *count, return 0 in upper_write)");
	s_read(dev, 0, buf, sizeof buf);
	lab_check(h, "read-upper", strcmp(buf, "HELLO, PLEXUS") == 0,
	          "reading at 0 must give the text written, upper-cased (toupper each byte)");
	s_read(dev, 7, buf, sizeof buf);
	lab_check(h, "read-position", strcmp(buf, "PLEXUS") == 0,
	          "a read at position 7 must start at the text's 8th byte "
	          "(plx_cdev_req_position)");
	lab_check(h, "read-size", s_read(dev, 0, buf, 6) == 5 && strcmp(buf, "HELLO") == 0,
	          "a read of 5 bytes must give 5 bytes, never more (plx_cdev_req_size)");
	lab_check(h, "end-of-file", s_read(dev, 13, buf, sizeof buf) == 0,
	          "a read at or past the end must give 0 bytes (end of file)");
	s_write(dev, "abc");
	s_read(dev, 0, buf, sizeof buf);
	lab_check(h, "write-replaces", strcmp(buf, "ABC") == 0,
	          "a second write must replace the text, not append to it");
}

/* Requests the device must refuse with an error, and still be there afterwards. */
static void s_check_errors(lab_harness *h, plx_cdev *dev)
{
	char big[1500], buf[64];
	memset(big, 'x', sizeof big);
	lab_check(h, "too-big", plx_cdev_write(dev, 0, 0, big, sizeof big, 0, 0) == -EFBIG,
	          "a write of more than UPPER_MAX (1024) bytes must fail with -EFBIG");
	s_read(dev, 0, buf, sizeof buf);
	lab_check(h, "too-big-keeps", strcmp(buf, "ABC") == 0,
	          "a refused write must leave the old text in place");
	lab_check(h, "bad-minor", plx_cdev_open(dev, 1, S_ACCESS) == -ENXIO,
	          "minor 1 does not exist: its open must fail with -ENXIO");
	lab_check(h, "alive", lab_running(h) && s_read(dev, 0, buf, sizeof buf) >= 0,
	          "the driver must still run and answer after the bad requests");
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: plexus-lab-check-1 DRIVER\n");
		return EX_USAGE;
	}
	lab_harness *h = lab_harness_new(argv[1]);
	if (!h)
		return EX_UNAVAILABLE;
	plx_register_types(&plexus__cdev_type__descriptor);
	if (lab_check(h, "starts", lab_start(h, NULL) == 0,
	              "the driver did not publish its endpoint; see its output below")) {
		plx_cdev *dev = plx_cdev_new(lab_harness_ep(h), lab_harness_label(h), LAB_TIMEOUT);
		s_check_text(h, dev);
		s_check_errors(h, dev);
		plx_cdev_destroy(&dev);
	} else
		fprintf(stderr, "%s", lab_log(h));
	return lab_harness_destroy(&h) ? 1 : 0;
}
