/*
 * upper.c — plexus-upper, a character device that gives back what was written to it in upper
 * case. Lab 2 (README.md): make it keep the text across a crash, with
 * plx_service_state_save and plx_service_state_restore (plexus/service.h).
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
	plx_service *svc; /* where the text can be saved; set by upper_init */
	char text[UPPER_MAX];
	size_t len;
} upper;

/* Before the endpoint is published. restarted: RS started this instance after a crash
 * (PLEXUS_INIT=restart); false: a fresh start. */
static int upper_init(void *arg, plx_service *svc, bool restarted)
{
	upper *self = arg;
	self->svc = svc;
	self->len = 0;
	(void)restarted; /* TODO: on a restart, take back what the last instance saved */
	return 0;
}

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
	size_t n = (size_t)plx_cdev_req_size(req);
	if (n > UPPER_MAX)
		return -EFBIG;
	memcpy(self->text, data, n);
	self->len = n;
	*count = n;
	return 0; /* TODO: save the text before answering */
}

/* A read at a position: the text from there, upper-cased, as much as fits; nothing (end of
 * file) at or past its end. */
static int upper_read(void *arg, plx_cdev_req *req, void *buf, size_t *count)
{
	upper *self = arg;
	uint64_t position = plx_cdev_req_position(req);
	if (position >= self->len) {
		*count = 0;
		return 0;
	}
	size_t n = self->len - (size_t)position;
	if (n > plx_cdev_req_size(req))
		n = (size_t)plx_cdev_req_size(req);
	char *out = buf;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)toupper((unsigned char)self->text[position + i]);
	*count = n;
	return 0;
}

static const plx_chardriver_ops upper_ops = {
    .exists = upper_exists,
    .read = upper_read,
    .write = upper_write,
    .init = upper_init,
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
