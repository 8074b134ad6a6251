/*
 * link_handover.c — what a process is handed by whoever issued its keys: a service by its
 * node kernel on standard input (PLEXUS_LINK=stdin), a netbooted node kernel or an operator's
 * commands in a file of mode 0600 (docs/security.md).
 *
 * Entry points: plx_link_handover, plx_link_handover_etcd, plx_link_etcd_password,
 * plx_link_seal, plx_link_unseal;
 * reg_handover_take, reg_handover_etcd (keys_internal.h).
 *
 * The text is line by line: "plexus-link-1", the CURVE public key, its secret key, the
 * certificate, and, when RS issued one, "etcd USER PASSWORD": the etcd user made for the
 * service (plx_etcd_auth_service_user). Standard input is read once, by whichever asks first
 * — the etcd client (plx_etcd_new, for the user) or the endpoint (plx_link_secure, for the
 * keys) — and then replaced with /dev/null; the keys are forgotten once the endpoint holds
 * them.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <zmq.h>

#include <plexus/link_keys.h>

#include "etcd_internal.h"
#include "keys_internal.h"

#define S_HANDOVER    "plexus-link-1" /* the first line of a handover */
#define S_HANDOVER_MS 5000 /* the node kernel writes the keys before it execs the service */

int plx_link_handover(const plx_link_keys *keys, const char *cert, char *out, size_t size)
{
	int n = snprintf(out, size, "%s\n%s\n%s\n%s\n", S_HANDOVER, keys->public_key,
	                 keys->secret_key, cert);
	return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}

/* A user name or password fit for one "etcd USER PASSWORD" line. */
static bool s_word(const char *s, size_t max)
{
	size_t n = strlen(s);
	return n >= 1 && n < max && strcspn(s, " \t\r\n") == n;
}

int plx_link_handover_etcd(char *out, size_t size, const char *user, const char *password)
{
	if (!s_word(user, PLX_HANDOVER_USER_MAX) || !s_word(password, PLX_ETCD_PASSWORD_MAX))
		return -EINVAL;
	size_t len = strnlen(out, size);
	if (len >= size)
		return -ENOSPC;
	int n = snprintf(out + len, size - len, "etcd %s %s\n", user, password);
	return n < 0 || (size_t)n >= size - len ? -ENOSPC : (int)len + n;
}

int plx_link_etcd_password(const uint8_t secret_key[PLX_TRUST_SECRET], const char *name, char *out,
                           size_t size)
{
	uint8_t bytes[(PLX_ETCD_PASSWORD_MAX - 1) / 2];
	if (size < PLX_ETCD_PASSWORD_MAX)
		return -ENOSPC;
	crypto_generichash(bytes, sizeof bytes, (const uint8_t *)name, strlen(name), secret_key,
	                   crypto_generichash_KEYBYTES);
	sodium_bin2hex(out, size, bytes, sizeof bytes);
	sodium_memzero(bytes, sizeof bytes);
	return 0;
}

#define S_SEAL_MAX 128 /* the longest text sealed (an etcd password) */

int plx_link_seal(const char *public_key, const char *text, char *out, size_t size)
{
	uint8_t pk[32], box[S_SEAL_MAX + crypto_box_SEALBYTES];
	size_t n = strlen(text);
	if (!public_key || strlen(public_key) != PLX_KEY_TEXT - 1 ||
	    !zmq_z85_decode(pk, public_key) || n > S_SEAL_MAX)
		return -EINVAL;
	if (size < 2 * (n + crypto_box_SEALBYTES) + 1)
		return -ENOSPC;
	if (crypto_box_seal(box, (const uint8_t *)text, n, pk) != 0)
		return -EINVAL;
	sodium_bin2hex(out, size, box, n + crypto_box_SEALBYTES);
	return 0;
}

int plx_link_unseal(const plx_link_keys *keys, const char *hex, char *out, size_t size)
{
	uint8_t pk[32], sk[32], box[S_SEAL_MAX + crypto_box_SEALBYTES];
	size_t len = 0;
	if (!zmq_z85_decode(pk, keys->public_key) || !zmq_z85_decode(sk, keys->secret_key) ||
	    sodium_hex2bin(box, sizeof box, hex, strlen(hex), NULL, &len, NULL) != 0 ||
	    len <= crypto_box_SEALBYTES || len - crypto_box_SEALBYTES >= size)
		return sodium_memzero(sk, sizeof sk), -EBADMSG;
	int rc = crypto_box_seal_open((uint8_t *)out, box, len, pk, sk) == 0 ? 0 : -EBADMSG;
	sodium_memzero(sk, sizeof sk);
	out[rc == 0 ? len - crypto_box_SEALBYTES : 0] = '\0';
	return rc;
}

/* Splits a handover's text. Returns 0 or -EBADMSG. */
static int s_parse(char *text, reg_handed *h)
{
	char *save = NULL;
	const char *magic = strtok_r(text, "\n", &save);
	const char *pub = strtok_r(NULL, "\n", &save), *sec = strtok_r(NULL, "\n", &save);
	const char *crt = strtok_r(NULL, "\n", &save), *etcd = strtok_r(NULL, "\n", &save);
	if (!magic || strcmp(magic, S_HANDOVER) != 0 || !pub || !sec || !crt ||
	    strlen(pub) != PLX_KEY_TEXT - 1 || strlen(sec) != PLX_KEY_TEXT - 1 ||
	    strlen(crt) >= sizeof h->cert || strtok_r(NULL, "\n", &save))
		return -EBADMSG;
	memcpy(h->keys.public_key, pub, PLX_KEY_TEXT);
	memcpy(h->keys.secret_key, sec, PLX_KEY_TEXT);
	memcpy(h->cert, crt, strlen(crt) + 1);
	h->etcd_user[0] = h->etcd_password[0] = '\0';
	if (!etcd)
		return 0;
	char user[PLX_HANDOVER_USER_MAX + 1], pw[PLX_ETCD_PASSWORD_MAX + 1], tail;
	int got = sscanf(etcd, "etcd %71s %32s %c", user, pw, &tail);
	if (got != 2 || !s_word(user, PLX_HANDOVER_USER_MAX) || !s_word(pw, PLX_ETCD_PASSWORD_MAX))
		return -EBADMSG;
	memcpy(h->etcd_user, user, strlen(user) + 1);
	memcpy(h->etcd_password, pw, strlen(pw) + 1);
	sodium_memzero(pw, sizeof pw);
	return 0;
}

/* Reads standard input to its end into text (room for size - 1 bytes, then a NUL), waiting
 * at most S_HANDOVER_MS in all. Returns 0, -EPROTO when standard input is not a pipe (a
 * service started by hand with PLEXUS_LINK=stdin left in its environment), -ETIMEDOUT or
 * -errno. */
static int s_read_stdin(char *text, size_t size)
{
	struct stat st;
	if (fstat(0, &st) != 0 || !S_ISFIFO(st.st_mode))
		return -EPROTO;
	int64_t deadline = reg_now_ms() + S_HANDOVER_MS;
	size_t got = 0;
	for (;;) {
		int64_t now = reg_now_ms();
		struct pollfd in = {.fd = 0, .events = POLLIN};
		int ready = now >= deadline ? 0 : poll(&in, 1, (int)(deadline - now));
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready <= 0)
			return ready == 0 ? -ETIMEDOUT : -errno;
		ssize_t n = read(0, text + got, size - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		got += (size_t)n;
		text[got] = '\0';
		if (n == 0 || got == size - 1)
			return 0;
	}
}

/* Takes what the node kernel handed over on standard input, then puts /dev/null there and
 * forgets PLEXUS_LINK. Returns 0, -EBADMSG, -EPROTO, -ETIMEDOUT or -errno. */
static int s_take_stdin(reg_handed *h)
{
	char text[S_HANDOVER_TEXT];
	text[0] = '\0';
	int rc = s_read_stdin(text, sizeof text);
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		close(null);
	}
	unsetenv("PLEXUS_LINK");
	if (rc == 0)
		rc = s_parse(text, h);
	sodium_memzero(text, sizeof text);
	return rc;
}

/* Reads the keys issued once for this process from path: a regular file of this user that
 * nobody else may read or write. Returns 0, -EPERM (another owner, or a mode wider than
 * 0600), -EBADMSG or -errno. */
static int s_take_file(const char *path, reg_handed *h)
{
	char text[S_HANDOVER_TEXT];
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	int rc = fstat(fd, &st) != 0 ? -errno : 0;
	if (rc == 0 && (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077)))
		rc = -EPERM;
	ssize_t got = rc == 0 ? read(fd, text, sizeof text - 1) : 0;
	if (got < 0)
		rc = -errno;
	close(fd);
	text[got > 0 ? got : 0] = '\0';
	if (rc == 0)
		rc = s_parse(text, h);
	sodium_memzero(text, sizeof text);
	return rc;
}

/* Standard input's handover, taken once per process. */
static struct {
	pthread_mutex_t lock;
	atomic_bool taken, keys_used; /* set under lock; read without it to choose the path */
	int rc;
	reg_handed h;
} s_stdin = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Whether PLEXUS_LINK says a handover waits on standard input (it is unset once read). */
static bool s_stdin_waits(void)
{
	const char *link = getenv("PLEXUS_LINK");
	return link && strcmp(link, "stdin") == 0;
}

/* Whether this process's handover comes on standard input (still to be read, or read and
 * its keys not yet taken by the endpoint). */
static bool s_on_stdin(void)
{
	const char *link = getenv("PLEXUS_LINK");
	return s_stdin_waits() || (!link && s_stdin.taken && !s_stdin.keys_used);
}

/* Reads standard input's handover when one waits there; copies what was read into h when h
 * is set. */
static int s_stdin_handed(reg_handed *h, bool for_keys)
{
	pthread_mutex_lock(&s_stdin.lock);
	if (!s_stdin.taken || s_stdin_waits()) {
		s_stdin.rc = s_take_stdin(&s_stdin.h);
		s_stdin.taken = true;
		s_stdin.keys_used = false;
	}
	int rc = s_stdin.rc;
	if (rc == 0 && for_keys && s_stdin.keys_used)
		rc = -EALREADY;
	if (rc == 0 && h)
		*h = s_stdin.h;
	if (rc == 0 && for_keys) { /* the endpoint holds them from now on */
		s_stdin.keys_used = true;
		sodium_memzero(&s_stdin.h.keys, sizeof s_stdin.h.keys);
	}
	pthread_mutex_unlock(&s_stdin.lock);
	return rc;
}

int reg_handover_take(const char *link, reg_handed *h)
{
	if (!link || strcmp(link, "stdin") == 0)
		return s_stdin_handed(h, true);
	return s_take_file(link, h);
}

bool reg_handover_pending(void)
{
	return s_on_stdin();
}

int reg_handover_etcd(char *user, size_t usize, char *password, size_t psize)
{
	const char *link = getenv("PLEXUS_LINK");
	reg_handed h;
	int rc;
	if (s_stdin_waits() || (!link && s_stdin.taken)) /* kept after the keys went */
		rc = s_stdin_handed(&h, false);
	else if (link && link[0] == '/')
		rc = s_take_file(link, &h);
	else
		return 0;
	if (rc == 0 && h.etcd_user[0] && strlen(h.etcd_user) < usize &&
	    strlen(h.etcd_password) < psize) {
		memcpy(user, h.etcd_user, strlen(h.etcd_user) + 1);
		memcpy(password, h.etcd_password, strlen(h.etcd_password) + 1);
		rc = 1;
	}
	sodium_memzero(&h, sizeof h);
	return rc;
}
