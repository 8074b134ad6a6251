/*
 * test-link-keys.c — a service taking the keys its node kernel hands over on standard input
 * (PLEXUS_LINK=stdin): from the node kernel's pipe it is secured; from anything else (a
 * terminal or a file, when someone starts it by hand with the variable left set), from a pipe
 * that never brings anything, or with garbage, it fails with a clear error instead of waiting
 * forever. Each case leaves standard input on /dev/null and the variable unset. A netbooted
 * node kernel's keys, issued once into a file (PLEXUS_LINK=FILE), are taken only from a file of
 * its own that nobody else may read. The etcd user RS made for a service comes in the same
 * handover, and its etcd client logs in as it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include <plexus/etcd.h>
#include <plexus/link_keys.h>

typedef struct {
	char dir[PATH_MAX];
	plx_ctx *ctx;
	plx_ep *ep;
	char err[512];
} fixture;

static int s_setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(f->dir, sizeof f->dir, "%s/plexus-link-XXXXXX", tmp);
	if (!mkdtemp(f->dir))
		return -1;
	strncat(f->dir, "/keys", sizeof f->dir - strlen(f->dir) - 1);
	if (plx_link_keys_make(f->dir, f->err, sizeof f->err) != 0)
		return -1;
	setenv("PLEXUS_KEYS", f->dir, 1);
	f->ctx = plx_ctx_new();
	f->ep = plx_ep_new(f->ctx, "svc", 3);
	*state = f;
	return f->ctx && f->ep ? 0 : -1;
}

static int s_teardown(void **state)
{
	fixture *f = *state;
	plx_ep_destroy(&f->ep);
	plx_ctx_destroy(&f->ctx);
	char cmd[PATH_MAX + 32];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	*strrchr(cmd, '/') = '\0'; /* the temporary directory above keys */
	strcat(cmd, "'");
	int rc = system(cmd);
	unsetenv("PLEXUS_KEYS");
	unsetenv("PLEXUS_LINK");
	free(f);
	return rc == 0 ? 0 : -1;
}

/* The text issued for label/generation. Returns its length. */
static size_t s_issued_text(const char *label, uint64_t generation, char *out, size_t size)
{
	uint8_t sk[PLX_TRUST_SECRET];
	assert_int_equal(plx_link_issuer(NULL, sk), 0);
	plx_link_keys keys;
	char cert[PLX_CERT_MAX];
	plx_name who = {.generation = generation};
	snprintf(who.label, sizeof who.label, "%s", label);
	assert_int_equal(plx_link_issue(sk, &who, &keys, cert, sizeof cert), 0);
	int n = plx_link_handover(&keys, cert, out, size);
	assert_true(n > 0);
	sodium_memzero(sk, sizeof sk);
	sodium_memzero(&keys, sizeof keys);
	return (size_t)n;
}

/* The text a node kernel would hand over for svc/3. Returns its length. */
static size_t s_handover_text(char *out, size_t size)
{
	return s_issued_text("svc", 3, out, size);
}

/* Puts fd on standard input. */
static void s_stdin(int fd)
{
	assert_int_equal(dup2(fd, 0), 0);
	close(fd);
}

/* Secures the fixture's endpoint as a service started with PLEXUS_LINK=stdin would. */
static int s_secure(fixture *f)
{
	setenv("PLEXUS_LINK", "stdin", 1);
	int rc = plx_link_secure(f->ctx, f->ep, f->err, sizeof f->err);
	struct stat st, null;
	assert_int_equal(fstat(0, &st), 0);
	assert_int_equal(stat("/dev/null", &null), 0);
	assert_true(st.st_rdev == null.st_rdev && S_ISCHR(st.st_mode)); /* stdin is /dev/null */
	assert_null(getenv("PLEXUS_LINK"));
	return rc;
}

static void test_from_the_node_kernels_pipe(void **state)
{
	fixture *f = *state;
	char text[2048];
	size_t n = s_handover_text(text, sizeof text);
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], text, n), (ssize_t)n);
	close(p[1]);
	s_stdin(p[0]);
	assert_int_equal(s_secure(f), 0);
}

/* Puts text on standard input through a pipe whose write end is closed. */
static void s_stdin_text(const char *text)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], text, strlen(text)), (ssize_t)strlen(text));
	close(p[1]);
	s_stdin(p[0]);
}

/* RS's etcd user for the service comes with its keys: the etcd client, made first (as the
 * service runtime does), logs in as it, and the endpoint still gets the keys after. */
static void test_etcd_user_handed_over(void **state)
{
	fixture *f = *state;
	char text[2048], pw[PLX_ETCD_PASSWORD_MAX], again[PLX_ETCD_PASSWORD_MAX];
	uint8_t sk[PLX_TRUST_SECRET];
	assert_int_equal(plx_link_issuer(NULL, sk), 0);
	assert_int_equal(plx_link_etcd_password(sk, "s-svc", pw, sizeof pw), 0);
	assert_int_equal(plx_link_etcd_password(sk, "s-svc", again, sizeof again), 0);
	assert_string_equal(pw, again); /* whoever holds the root makes the same one */
	assert_int_equal(strlen(pw), PLX_ETCD_PASSWORD_MAX - 1);
	assert_int_equal(plx_link_etcd_password(sk, "s-vfs", again, sizeof again), 0);
	assert_string_not_equal(pw, again);
	assert_int_equal(plx_link_etcd_password(sk, "s-svc", again, 8), -ENOSPC);
	sodium_memzero(sk, sizeof sk);

	s_handover_text(text, sizeof text);
	assert_int_equal(plx_link_handover_etcd(text, sizeof text, "s svc", pw), -EINVAL);
	assert_int_equal(plx_link_handover_etcd(text, sizeof text, "s-svc", ""), -EINVAL);
	assert_int_equal(plx_link_handover_etcd(text, 64, "s-svc", pw), -ENOSPC);
	assert_true(plx_link_handover_etcd(text, sizeof text, "s-svc", pw) > 0);
	s_stdin_text(text);
	setenv("PLEXUS_LINK", "stdin", 1);
	plx_etcd *etcd = plx_etcd_new(&(plx_etcd_opts){.endpoints = "http://127.0.0.1:1"});
	assert_non_null(etcd);
	assert_string_equal(plx_etcd_user(etcd), "s-svc");
	plx_etcd_destroy(&etcd);
	assert_null(getenv("PLEXUS_LINK"));
	assert_int_equal(plx_link_secure(f->ctx, f->ep, f->err, sizeof f->err), 0);
	etcd = plx_etcd_new(&(plx_etcd_opts){.endpoints = "http://127.0.0.1:1"});
	assert_string_equal(plx_etcd_user(etcd), "s-svc"); /* a second client of the service */
	plx_etcd_destroy(&etcd);
	/* the keys went to the endpoint once: a second endpoint signs its own (root.key here) */
	plx_ep *second = plx_ep_new(f->ctx, "svc", 3);
	assert_int_equal(plx_link_secure(f->ctx, second, f->err, sizeof f->err), 0);
	plx_ep_destroy(&second);
}

/* A handover whose etcd line is not "etcd USER PASSWORD" secures nothing. */
static void test_etcd_line_garbage(void **state)
{
	fixture *f = *state;
	const char *tails[] = {"etcd s-svc\n", "etcd s-svc pw extra\n",
	                       "etcd s-svc "
	                       "0123456789abcdef0123456789"
	                       "abcdef0\n",
	                       "etcd s-svc pw\nmore\n"};
	for (size_t i = 0; i < sizeof tails / sizeof *tails; i++) {
		char text[2048];
		s_handover_text(text, sizeof text);
		strcat(text, tails[i]);
		s_stdin_text(text);
		assert_int_equal(s_secure(f), -EBADMSG);
	}
}

static void test_not_a_pipe(void **state)
{
	fixture *f = *state;
	/* even the right text, from a file, is not taken: only a node kernel's pipe brings it */
	char text[2048], path[PATH_MAX + 16];
	size_t n = s_handover_text(text, sizeof text);
	snprintf(path, sizeof path, "%s/handover", f->dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	s_stdin(fd);
	assert_int_equal(s_secure(f), -EPROTO);
	assert_non_null(strstr(f->err, "standard input is not the node kernel's pipe"));
}

static void test_silent_pipe(void **state)
{
	fixture *f = *state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	s_stdin(p[0]); /* the write end stays open and says nothing */
	assert_int_equal(s_secure(f), -ETIMEDOUT);
	assert_non_null(strstr(f->err, "nothing came on standard input"));
	close(p[1]);
}

static void test_garbage(void **state)
{
	fixture *f = *state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	const char junk[] = "plx1 svc 3 not-a-key\n";
	assert_int_equal(write(p[1], junk, sizeof junk - 1), (ssize_t)(sizeof junk - 1));
	close(p[1]);
	s_stdin(p[0]);
	assert_int_equal(s_secure(f), -EBADMSG);
}

/* Writes text to DIR/name with mode; returns the path in out. */
static void s_write_file(fixture *f, const char *name, const char *text, mode_t mode, char *out,
                         size_t size)
{
	snprintf(out, size, "%s/%s", f->dir, name);
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* A netbooted node kernel: keys issued once into a file of its own (PLEXUS_LINK=FILE), no
 * root.key beside root.pub. Taken only from a 0600 file of this user that names this
 * endpoint; the variable stays (the node kernel execs itself again with it). */
static void test_from_a_file_issued_once(void **state)
{
	fixture *f = *state;
	char text[2048], path[PATH_MAX + 16], other[PATH_MAX + 16], root[PATH_MAX + 16];
	s_issued_text("svc", 0, text, sizeof text); /* generation 0: every generation */
	s_write_file(f, "node.link", text, 0600, path, sizeof path);
	s_issued_text("vfs", 0, text, sizeof text);
	s_write_file(f, "other.link", text, 0600, other, sizeof other);
	snprintf(root, sizeof root, "%s/root.key", f->dir);
	assert_int_equal(unlink(root), 0);

	setenv("PLEXUS_LINK", path, 1);
	assert_int_equal(chmod(path, 0640), 0); /* readable by the group: refused */
	assert_int_equal(plx_link_secure(f->ctx, f->ep, f->err, sizeof f->err), -EPERM);
	assert_non_null(strstr(f->err, "mode 0600"));
	setenv("PLEXUS_LINK", other, 1); /* a certificate for vfs does not make svc */
	assert_int_not_equal(plx_link_secure(f->ctx, f->ep, f->err, sizeof f->err), 0);
	char link[PATH_MAX + 16];
	snprintf(link, sizeof link, "%s/link", f->dir);
	assert_int_equal(symlink(path, link), 0);
	setenv("PLEXUS_LINK", link, 1); /* no symbolic link is followed */
	assert_int_equal(plx_link_secure(f->ctx, f->ep, f->err, sizeof f->err), -ELOOP);

	assert_int_equal(chmod(path, 0600), 0);
	setenv("PLEXUS_LINK", path, 1);
	assert_int_equal(plx_link_secure(f->ctx, f->ep, f->err, sizeof f->err), 0);
	assert_string_equal(getenv("PLEXUS_LINK"), path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_from_the_node_kernels_pipe, s_setup, s_teardown),
	    cmocka_unit_test_setup_teardown(test_etcd_user_handed_over, s_setup, s_teardown),
	    cmocka_unit_test_setup_teardown(test_etcd_line_garbage, s_setup, s_teardown),
	    cmocka_unit_test_setup_teardown(test_not_a_pipe, s_setup, s_teardown),
	    cmocka_unit_test_setup_teardown(test_silent_pipe, s_setup, s_teardown),
	    cmocka_unit_test_setup_teardown(test_garbage, s_setup, s_teardown),
	    cmocka_unit_test_setup_teardown(test_from_a_file_issued_once, s_setup, s_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
