/*
 * keys.c — the trust root of `plexus up --secure` (docs/security.md "Keys on one machine").
 *
 * Entry points: up_keys, up_keys_etcd, up_keys_tls, up_keys_env.
 *
 * STATE/keys holds root.pub and root.key (plexus/link_keys.h). A secured up makes a new one
 * and exports PLEXUS_KEYS, which every process it starts inherits (etcd ignores it; plexus-node
 * passes it on to the services), so each secures its endpoint at start. An up without
 * --secure removes a trust root left there, so that no command mistakes the system for a
 * secured one. A secured up also turns etcd's authentication on (user root, a random password
 * in STATE/keys/etcd.password, mode 0600), which every client then finds through PLEXUS_KEYS
 * (plx_etcd_new); other users' processes log in as plexus-client (STATE/keys/etcd.client,
 * mode 0644), who may read the cluster's keys and write client records only.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <plexus/etcd.h>
#include <plexus/etcd_tls.h>
#include <plexus/link_keys.h>

#include "up.h"

int up_keys(const up_opts *o)
{
	char dir[PATH_MAX + 8], path[PATH_MAX + 24], err[PATH_MAX + 128];
	static const char *const files[] = {"root.key",        "root.pub",        "etcd.password",
	                                    "etcd.client",     "etcd-ca.crt",     "etcd-server.crt",
	                                    "etcd-server.key", "etcd-root.crt",   "etcd-root.key",
	                                    "etcd-client.crt", "etcd-client.key", "etcd-ca.key"};
	snprintf(dir, sizeof dir, "%s/keys", o->state_dir);
	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		unlink(path); /* new ones for each boot: nothing of an earlier one is trusted */
	}
	if (!o->secure) {
		rmdir(dir);
		unsetenv("PLEXUS_KEYS");
		return 0;
	}
	if (plx_link_keys_make(dir, err, sizeof err) < 0) {
		fprintf(stderr, "plexus up: the trust root: %s\n", err);
		return EX_CANTCREAT;
	}
	setenv("PLEXUS_KEYS", dir, 1);
	if (!o->quiet)
		printf("Secured links: trust root in %s (root.key readable by this user only)\n",
		       dir);
	return 0;
}

/* A new random password written to STATE/keys/NAME with mode. */
static int s_password(const up_opts *o, const char *name, mode_t mode, char pw[65], char *err,
                      size_t size)
{
	char path[PATH_MAX + 32];
	uint8_t bytes[32];
	if (getrandom(bytes, sizeof bytes, 0) != sizeof bytes) {
		snprintf(err, size, "random bytes for etcd's password: %s", strerror(errno));
		return -EIO;
	}
	for (size_t i = 0; i < sizeof bytes; i++)
		snprintf(pw + 2 * i, 3, "%02x", bytes[i]);
	snprintf(path, sizeof path, "%s/keys/%s", o->state_dir, name);
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0 || fchmod(fd, mode) < 0 || dprintf(fd, "%s\n", pw) < 0 || close(fd) < 0) {
		int e = errno;
		snprintf(err, size, "writing %s: %s", path, strerror(e));
		return -e;
	}
	return 0;
}

int up_keys_etcd(const up_opts *o, plx_etcd *etcd, char *err, size_t size)
{
	char pw[65], client[65];
	int rc = s_password(o, "etcd.password", 0600, pw, err, size);
	if (rc == 0 && (rc = s_password(o, "etcd.client", 0644, client, err, size)) == 0 &&
	    (rc = plx_etcd_auth_client(etcd, o->cluster, client)) < 0)
		snprintf(err, size, "etcd's user for clients: %s", plx_etcd_errmsg());
	if (rc == 0 && (rc = plx_etcd_auth_enable(etcd, pw)) < 0)
		snprintf(err, size, "turning etcd's authentication on: %s", plx_etcd_errmsg());
	explicit_bzero(pw, sizeof pw);
	return rc;
}

int up_keys_tls(const up_opts *o, const char *addr, char tls[UP_TLS_ARGS][PATH_MAX + 32], char *err,
                size_t size)
{
	char dir[PATH_MAX + 8];
	const char *ips[] = {addr};
	snprintf(dir, sizeof dir, "%.4000s/keys", o->state_dir);
	int rc = plx_etcd_tls_make(dir, ips, addr && *addr ? 1 : 0, err, size);
	snprintf(tls[0], sizeof tls[0], "--trusted-ca-file=%.4000s/etcd-ca.crt", dir);
	snprintf(tls[1], sizeof tls[1], "--cert-file=%.4000s/etcd-server.crt", dir);
	snprintf(tls[2], sizeof tls[2], "--key-file=%.4000s/etcd-server.key", dir);
	/* members talk to each other with the server's pair, whose CN only they hold (0600) */
	snprintf(tls[3], sizeof tls[3], "--peer-trusted-ca-file=%.4000s/etcd-ca.crt", dir);
	snprintf(tls[4], sizeof tls[4], "--peer-cert-file=%.4000s/etcd-server.crt", dir);
	snprintf(tls[5], sizeof tls[5], "--peer-key-file=%.4000s/etcd-server.key", dir);
	snprintf(tls[6], sizeof tls[6], "--peer-cert-allowed-cn=etcd");
	return rc;
}

void up_keys_env(const char *dir)
{
	char keys[PATH_MAX + 8], pub[PATH_MAX + 24];
	snprintf(keys, sizeof keys, "%s/keys", dir);
	snprintf(pub, sizeof pub, "%s/root.pub", keys);
	if (!getenv("PLEXUS_KEYS") && access(pub, F_OK) == 0)
		setenv("PLEXUS_KEYS", keys, 1);
}
