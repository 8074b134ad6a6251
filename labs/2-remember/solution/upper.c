/*
 * upper.c — plexus-upper, a character device that gives back what was written to it in upper
 * case, and keeps the text across a crash: every write saves it in DS (the registry) and a
 * restart (PLEXUS_INIT=restart) takes it back. Lab 2's reference solution
 * (labs/2-remember/README.md).
 *
 * Entry points: main.
 */
#include <ctype.h>  /* toupper */
#include <errno.h>  /* the error codes the callbacks return, negated */
#include <string.h> /* memcpy */

#include <plexus/chardriver.h> /* the character driver library: callbacks, main and the loop */
#include <plexus/service.h>    /* the service runtime: saved state */

#define UPPER_MAX   1024   /* the most text the device holds */
#define UPPER_STATE "text" /* the key the text is saved under (DS, per label) */

/* Everything the driver knows: the text last written. */
typedef struct upper {
	plx_service *svc; /* where the text is saved; set by upper_init */
	char text[UPPER_MAX];
	size_t len;
} upper;

/* Saves the text so that the next instance finds it. An empty text is saved too: a restart
 * after it must not bring an older one back. */
static int upper_save(upper *self)
{
	return plx_service_state_save(self->svc, UPPER_STATE, self->text, self->len);
}

/* Before the endpoint is published: a fresh start forgets, a restart takes the saved text
 * back (none saved yet: empty). */
static int upper_init(void *arg, plx_service *svc, bool restarted)
{
	upper *self = arg;
	self->svc = svc;
	self->len = 0;
	if (!restarted)
		return upper_save(self);
	size_t size = sizeof self->text;
	int rc = plx_service_state_restore(svc, UPPER_STATE, self->text, &size);
	if (rc == -ENOENT)
		return 0;
	if (rc == 0)
		self->len = size;
	return rc;
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
	return upper_save(self); /* saved before the answer: a crash after it loses nothing */
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
             "A character device (minor 0): reads return the text last written, upper-cased;\n"
             "the text is kept across a restart (PLEXUS_INIT=restart).\n\n"
             "  --help                this text\n\n",
};

int main(int argc, char **argv)
{
	static upper self;
	return plx_chardriver_main(&upper_ops, &self, &upper_desc, NULL, argc, argv);
}
