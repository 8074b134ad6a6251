/*
 * upper.c — plexus-upper, a character device that gives back what was written to it in upper
 * case. Lab 1 (README.md): fill in upper_write and upper_read.
 *
 * Entry points: main.
 */
#include <ctype.h>  /* toupper */
#include <errno.h>  /* the error codes the callbacks return, negated */
#include <string.h> /* memcpy */

#include <plexus/chardriver.h> /* the character driver library: callbacks, main and the loop */
#include <plexus/service.h>    /* the service runtime */

#define UPPER_MAX 1024 /* the most text the device holds */

/* Everything the driver knows: the text last written. */
typedef struct upper {
	char text[UPPER_MAX];
	size_t len;
} upper;

/* One minor, 0; the library answers -ENXIO for the others. */
static bool upper_exists(void *arg, uint32_t minor)
{
	(void)arg;
	return minor == 0;
}

/* A write replaces the text with its bytes, wherever it is aimed. More than UPPER_MAX bytes
 * is refused with -EFBIG and the old text kept. */
static int upper_write(void *arg, plx_cdev_req *req, const void *data, size_t *count)
{
	upper *self = arg;
	(void)self;
	(void)req;
	(void)data;
	(void)count;
	return -EIO; /* TODO: keep the bytes (plx_cdev_req_size(req) of them) in self */
}

/* A read at a position: the text from there, upper-cased, as much as fits; nothing (end of
 * file) at or past its end. */
static int upper_read(void *arg, plx_cdev_req *req, void *buf, size_t *count)
{
	upper *self = arg;
	(void)self;
	(void)req;
	(void)buf;
	*count = 0; /* TODO: copy from plx_cdev_req_position(req), at most plx_cdev_req_size(req) */
	return 0;
}

static const plx_chardriver_ops upper_ops = {
    .exists = upper_exists,
    .read = upper_read,
    .write = upper_write,
};

static const plx_service_desc upper_desc = {
    .program = "plexus-upper",
    .usage = "usage: plexus-upper [options]\n\n"
             "A character device (minor 0): reads return the text last written, upper-cased.\n\n"
             "  --help                this text\n\n",
};

int main(int argc, char **argv)
{
	static upper self;
	return plx_chardriver_main(&upper_ops, &self, &upper_desc, NULL, argc, argv);
}
