/*
 * test-up-secure.c — `plexus up --secure` (docs/security.md): the probe of a forged
 * NODE_START replayed against a plain and a secured system.
 *
 *  - plain `up`: a process with no key, whose envelope claims to be RS, makes the node kernel
 *    run a program (the hole the secured links close; shown so the check can fail);
 *  - `up --secure`: every published address carries a CURVE key; the same forgery, and one
 *    made with keys and a certificate from another trust root, get no answer and run
 *    nothing; `plexus sh` with PLEXUS_KEYS works, without it gets no answer; as uid 65534
 *    (who cannot read root.key) it works with the node kernel's user certificate, as 65534:
 *    it writes where everyone may and cannot read root's 0600 file, also when it claims uid 0
 *    in VFS_REGISTER (an LD_PRELOAD shim answers 0 to getuid and the like); vdisk, whose
 *    callers are its file servers, VFS and mkfs, refuses another key holder (-ECALLDENIED);
 *    `plexus down` stops every service through RS in order; services secure themselves with
 *    the keys RS issued them (handed over on stdin), and one killed while root.key is away
 *    comes back secured; each logs into etcd as the user RS made for it (s-LABEL), which
 *    writes only its own records.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <plexus/endpoint.h>
#include <plexus/etcd.h>
#include <plexus/link_keys.h>
#include <plexus/link_security.h>
#include <plexus/plexus.h>
#include <plexus/transport.h>

#include "plexus/proto/bdev.pb-c.h"
#include "plexus/proto/fs.pb-c.h"
#include "plexus/proto/node.pb-c.h"
#include "uptest.h"

#define S_UP  "\"$PLEXUS\" up --state-dir \"$STATE\" --port auto --no-tour"
#define S_ENV "PLEXUS_ETCD=$(awk '/^etcd/{print $2}' \"$STATE/state\") "

#define S_AS_NOBODY                                                                                \
	S_ENV "PLEXUS_KEYS=\"$STATE/keys\" setpriv --reuid 65534 --regid 65534 --clear-groups "

/* etcdctl with etcd's authority and the clients' certificate (plexus/etcd_tls.h) */
#define S_ETCDCTL                                                                                  \
	"etcdctl --endpoints $(awk '/^etcd/{print $2}' \"$STATE/state\") --cacert "                \
	"\"$STATE/keys/etcd-ca.crt\" --cert \"$STATE/keys/etcd-client.crt\" --key "                \
	"\"$STATE/keys/etcd-client.key\" "

/* P: the peer URL of the up's first etcd member (from its command line) */
#define S_PEER                                                                                     \
	"P=$(tr '\\0' '\\n' < /proc/$(awk '$1==\"proc\" && $2==\"etcd\" {print $3}' "              \
	"\"$STATE/state\")/cmdline | grep -A1 -x -- --listen-peer-urls | tail -1) && "
/* curl's options for etcd's authority and the pair STATE/keys/NAME.crt, .key */
#define S_KEY(name)                                                                                \
	"--cacert \"$STATE/keys/etcd-ca.crt\" --cert \"$STATE/keys/" name                          \
	".crt\" --key \"$STATE/keys/" name ".key\" "

/* A preloaded library comes before AddressSanitizer's runtime, which it would refuse. */
#define S_PRELOAD_ASAN "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 "

/* The etcd URL of the running up (its state file). */
static void s_etcd(uptest *t, char *url, size_t size)
{
	assert_int_equal(uptest_sh(t, "awk '/^etcd/{print $2}' \"$STATE/state\""), 0);
	const char *text = t->text;
	if (strncmp(text, "$ ", 2) == 0) /* the command line itself */
		text = strchr(text, '\n') + 1;
	snprintf(url, size, "%.*s", (int)strcspn(text, "\n"), text);
	assert_true(strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0);
}

/* As the user who started it, through libplexus: /data/p only root may read, /data/pub where
 * everyone may write. */
static void s_root_files(uptest *t)
{
	char url[256], keys[PATH_MAX + 8];
	s_etcd(t, url, sizeof url);
	snprintf(keys, sizeof keys, "%s/keys", t->state);
	setenv("PLEXUS_KEYS", keys, 1);
	plexus_opts o;
	plexus_opts_init(&o);
	o.etcd = url;
	plexus *px = plexus_connect(&o);
	assert_non_null(px);
	int fd = plexus_open(px, "/data/p", O_CREAT | O_WRONLY | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(plexus_write(px, fd, "root only\n", 10), 10);
	assert_int_equal(plexus_close(px, fd), 0);
	assert_int_equal(plexus_mkdir(px, "/data/pub", 0755), 0);
	assert_int_equal(plexus_chmod(px, "/data/pub", 01777), 0);
	plexus_disconnect(&px);
	unsetenv("PLEXUS_KEYS");
}

/* Asks the node kernel "local" for a certificate for label; returns the result. */
static int s_vouch(const char *label)
{
	plx_ctx *ctx = plx_ctx_new();
	plx_ep *ep = plx_ep_new(ctx, label, 1);
	char err[512] = "";
	int rc = plx_link_secure_vouched(ctx, ep, "local", err, sizeof err);
	if (rc < 0)
		print_message("%s: %s\n", label, err);
	plx_ep_destroy(&ep);
	plx_ctx_destroy(&ctx);
	return rc;
}

/* Ten connections of uid 65534 that never say anything: the node kernel still answers another
 * user at once (one user holds at most four waiting slots, each for a second). */
static void s_vouch_despite_silent_clients(const char *keys)
{
	char path[PATH_MAX + 64], label[64], x;
	assert_int_equal(plx_vouch_path(keys, "local", path, sizeof path), 0);
	int ready[2];
	assert_int_equal(pipe(ready), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		memcpy(sa.sun_path, path, strlen(path) + 1); /* plx_vouch_path: it fits */
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(1);
		for (int i = 0; i < 10; i++) {
			int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
			if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
				_exit(2);
		}
		(void)!write(ready[1], "x", 1);
		sleep(20);
		_exit(0);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &x, 1), 1);
	close(ready[0]);
	snprintf(label, sizeof label, "c-local-%u-%ld-2", (unsigned)geteuid(), (long)getpid());
	int rc = s_vouch(label);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	assert_int_equal(rc, 0);
}

/* The etcd user the node kernel makes for uid 65534, asked for twice as that user (the same
 * both times), into user and password. */
static void s_etcd_user_of_nobody(const char *keys, char *user, size_t usize, char *password,
                                  size_t psize)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		close(p[0]);
		char u[2][80], pw[2][80], err[512];
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(1);
		setenv("PLEXUS_KEYS", keys, 1);
		for (int i = 0; i < 2; i++)
			if (plx_vouch_etcd("local", u[i], sizeof u[i], pw[i], sizeof pw[i], err,
			                   sizeof err) < 0) {
				dprintf(p[1], "error %s\n", err);
				_exit(2);
			}
		bool same = strcmp(u[0], u[1]) == 0 && strcmp(pw[0], pw[1]) == 0;
		dprintf(p[1], "%s %s\n", same ? u[0] : "changed", pw[0]);
		_exit(0);
	}
	close(p[1]);
	char line[256] = "";
	ssize_t n = read(p[0], line, sizeof line - 1);
	close(p[0]);
	int status;
	waitpid(child, &status, 0);
	line[n > 0 ? n : 0] = '\0';
	print_message("etcd user of uid 65534: %.*s\n", (int)strcspn(line, " "), line);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(sscanf(line, "%79s %79s", user, password), 2);
	(void)usize, (void)psize;
}

/* Client records belong to their user: uid 65534's etcd user (from its node kernel) writes
 * ep/c-local-65534-*, not another user's records nor a service's; plexus-client, whose
 * password every user can read, writes nothing. */
static void s_client_records_per_user(uptest *t)
{
	char keys[PATH_MAX + 8], user[80], password[80];
	snprintf(keys, sizeof keys, "%s/keys", t->state);
	s_etcd_user_of_nobody(keys, user, sizeof user, password, sizeof password);
	assert_string_equal(user, "u-local-65534");
	assert_int_equal(uptest_sh(t,
	                           S_ETCDCTL "--user %s:%s put "
	                                     "/plexus/default/ep/c-local-65534-1-1 mine",
	                           user, password),
	                 0);
	static const char *const others[] = {"put /plexus/default/ep/c-local-0-1-1 forged",
	                                     "del --prefix /plexus/default/ep/c-local-0-",
	                                     "put /plexus/default/ep/vfs forged",
	                                     "put /plexus/default/gen/c-local-0-1-1 9"};
	for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
		assert_int_not_equal(
		    uptest_sh(t, S_ETCDCTL "--user %s:%s %s", user, password, others[i]), 0);
		assert_true(uptest_output(t, "permission denied"));
	}
	assert_int_not_equal(
	    uptest_sh(t, S_ETCDCTL "--user plexus-client:$(cat \"$STATE/keys/etcd.client\") put "
	                           "/plexus/default/ep/c-local-65534-1-1 forged"),
	    0);
	assert_true(uptest_output(t, "permission denied"));
	assert_int_equal(uptest_sh(t, S_ETCDCTL
	                           "del /plexus/default/ep/c-local-65534-1-1 " /* tidy: as root */
	                           "--user root:$(cat \"$STATE/keys/etcd.password\")"),
	                 0);
}

static void s_vouch_labels(uptest *t)
{
	char keys[PATH_MAX + 8], label[64];
	snprintf(keys, sizeof keys, "%s/keys", t->state);
	setenv("PLEXUS_KEYS", keys, 1);
	unsigned uid = (unsigned)geteuid();
	long pid = (long)getpid();
	snprintf(label, sizeof label, "c-local-%u-%ld-1", uid, pid);
	assert_int_equal(s_vouch(label), 0);
	assert_int_equal(s_vouch("rs"), -EACCES);
	snprintf(label, sizeof label, "c-local-%u-1-1", uid); /* another process's */
	assert_int_equal(s_vouch(label), -EACCES);
	snprintf(label, sizeof label, "c-local-%u-%ld-1", uid + 1, pid); /* another user's */
	assert_int_equal(s_vouch(label), -EACCES);
	snprintf(label, sizeof label, "c-n9-%u-%ld-1", uid, pid); /* another node's */
	assert_int_equal(s_vouch(label), -EACCES);
	snprintf(label, sizeof label, "c-local-%u-%ld-1x", uid, pid);
	assert_int_equal(s_vouch(label), -EACCES);
	s_vouch_despite_silent_clients(keys);
	unsetenv("PLEXUS_KEYS");
}

/* Sends NODE_START as "rs" to the node kernel (label pwn, running `touch FILE`) from a
 * context that trusts root_pk (NULL: plain) with keys signed by root_sk (NULL: none).
 * Returns sendrec's result. */
static int s_forge_node_start(uptest *t, const char *file, const uint8_t *root_pk,
                              const uint8_t *root_sk)
{
	char url[256];
	s_etcd(t, url, sizeof url);
	/* the addresses, read with the cluster's etcd password when it has one (the forger is
	 * given them: etcd's own protection is checked apart) */
	char keydir[PATH_MAX + 8];
	snprintf(keydir, sizeof keydir, "%s/keys", t->state);
	setenv("PLEXUS_KEYS", keydir, 1);
	plx_etcd *etcd = plx_etcd_new(&(plx_etcd_opts){.endpoints = url});
	unsetenv("PLEXUS_KEYS");
	assert_non_null(etcd);
	plx_endpoint_rec node, rs;
	assert_int_equal(plx_endpoint_lookup(etcd, "default", "node.local", &node), 0);
	assert_int_equal(plx_endpoint_lookup(etcd, "default", "rs", &rs), 0);
	plx_etcd_destroy(&etcd);
	plx_ctx *ctx = plx_ctx_new();
	if (root_pk)
		assert_int_equal(plx_ctx_trust(ctx, root_pk), 0);
	plx_ep *ep = plx_ep_new(ctx, "rs", rs.generation);
	if (root_sk) { /* keys of its own, signed by a root it made up */
		plx_link_keys keys;
		char cert[PLX_CERT_MAX];
		assert_int_equal(plx_link_keys_new(&keys), 0);
		assert_int_equal(
		    plx_cert_issue(root_sk, plx_ep_name(ep), keys.public_key, cert, sizeof cert),
		    0);
		assert_int_equal(plx_ep_set_keys(ep, &keys, cert), 0);
	}
	/* a plain forger dials the address without its key part, as an attacker would */
	const char *address = node.address;
	if (!root_pk && strncmp(address, "curve:", 6) == 0)
		address += 6 + PLX_KEY_TEXT;
	assert_int_equal(plx_route_set(ctx, node.label, node.generation, address), 0);
	char *argv[] = {"sh", "-c", NULL};
	char cmd[512];
	snprintf(cmd, sizeof cmd, "touch '%s'", file);
	argv[2] = cmd;
	Plexus__NodeStart body = PLEXUS__NODE_START__INIT;
	body.label = "pwn";
	body.program = "/bin/sh";
	body.argv = argv;
	body.n_argv = 3;
	body.generation = 77;
	plx_request req = {.dst = {.generation = node.generation},
	                   .type = PLEXUS__NODE_TYPE__NODE_START,
	                   .body = &body.base};
	snprintf(req.dst.label, sizeof req.dst.label, "%s", node.label);
	plx_msg *reply = NULL;
	int rc = plx_sendrec(ep, &req, &reply, 3000);
	plx_msg_destroy(&reply);
	plx_ep_destroy(&ep);
	plx_ctx_destroy(&ctx);
	return rc;
}

/* Sends one request (type, body) to service as label, with the keys of PLEXUS_KEYS (the
 * state's). Returns sendrec's result. */
static int s_call_as(uptest *t, const char *label, const char *service, uint32_t type,
                     const ProtobufCMessage *body)
{
	char url[256], keys[PATH_MAX + 8], err[512];
	s_etcd(t, url, sizeof url);
	snprintf(keys, sizeof keys, "%s/keys", t->state);
	setenv("PLEXUS_KEYS", keys, 1);
	plx_etcd *etcd = plx_etcd_new(&(plx_etcd_opts){.endpoints = url});
	assert_non_null(etcd);
	plx_endpoint_rec rec;
	assert_int_equal(plx_endpoint_lookup(etcd, "default", service, &rec), 0);
	plx_etcd_destroy(&etcd);
	plx_ctx *ctx = plx_ctx_new();
	plx_ep *ep = plx_ep_new(ctx, label, 1);
	assert_int_equal(plx_link_secure(ctx, ep, err, sizeof err), 0);
	unsetenv("PLEXUS_KEYS");
	assert_int_equal(plx_route_set(ctx, service, rec.generation, rec.address), 0);
	plx_request req = {.dst = {.generation = rec.generation}, .type = type, .body = body};
	snprintf(req.dst.label, sizeof req.dst.label, "%s", service);
	plx_msg *reply = NULL;
	int rc = plx_sendrec(ep, &req, &reply, 5000);
	plx_msg_destroy(&reply);
	plx_ep_destroy(&ep);
	plx_ctx_destroy(&ctx);
	return rc;
}

/* BDEV_OPEN (minor 0, read-only) to vdisk as label. */
static int s_open_disk_as(uptest *t, const char *label)
{
	Plexus__BdevOpen body = PLEXUS__BDEV_OPEN__INIT;
	return s_call_as(t, label, "vdisk", PLEXUS__BDEV_TYPE__BDEV_OPEN, &body.base);
}

/* The probe "requests straight to mfs-data created a setuid-root file": FS_CREATE of a
 * set-user-ID root file in mfs-data's root directory, as label. */
static int s_create_setuid_as(uptest *t, const char *label)
{
	Plexus__FsCred cred = PLEXUS__FS_CRED__INIT;
	Plexus__FsCreate body = PLEXUS__FS_CREATE__INIT;
	body.dir = 1;
	body.name = "suid-root";
	body.mode = 0104755;
	body.cred = &cred;
	return s_call_as(t, label, "mfs-data", PLEXUS__FS_TYPE__FS_CREATE, &body.base);
}

/* Counts what reaches ep within ms (requests and notifications alike). */
static int s_received(plx_ep *ep, int ms)
{
	int n = 0;
	plx_msg *m = NULL;
	for (int i = 0; i < ms / 50; i++)
		if (plx_receive(ep, &m, 50) == 0) {
			n++;
			plx_msg_destroy(&m);
		}
	return n;
}

/* Writes a copy of ep/vfs naming impostor's address and cert ("" none). */
static void s_forge_vfs(plx_etcd *etcd, plx_ep *impostor, bool cert)
{
	plx_endpoint_rec vfs, forged;
	assert_int_equal(plx_endpoint_lookup(etcd, "default", "vfs", &vfs), 0);
	assert_true(strncmp(vfs.cert, "plx1 vfs ", 9) == 0); /* records carry their certificate */
	forged = vfs;
	plx_endpoint_rec_address(&forged, impostor, NULL);
	if (!cert)
		forged.cert[0] = '\0';
	assert_int_equal(plx_endpoint_publish(etcd, "default", &forged, vfs.lease), 0);
}

/* Whoever may write the registry (a node's etcd certificate taken over, a key holder gone
 * bad) rewrites ep/vfs to name a server of their own, certified for their own label, or with
 * no certificate: clients and RS refuse the record, so nothing reaches the impostor; RS,
 * which cannot reach VFS through it either, starts VFS again, whose record is true, and
 * clients are served. */
static void s_forged_record(uptest *t)
{
	char url[256], keys[PATH_MAX + 8], err[512];
	s_etcd(t, url, sizeof url);
	snprintf(keys, sizeof keys, "%s/keys", t->state);
	setenv("PLEXUS_KEYS", keys, 1);
	plx_etcd *etcd = plx_etcd_new(&(plx_etcd_opts){.endpoints = url});
	assert_non_null(etcd);
	plx_ctx *ctx = plx_ctx_new();
	plx_ep *impostor = plx_ep_new(ctx, "intruder", 1);
	assert_int_equal(plx_link_secure(ctx, impostor, err, sizeof err), 0);
	assert_int_equal(plx_ep_bind(impostor, "tcp://127.0.0.1:*"), 0);
	for (int cert = 1; cert >= 0; cert--) {
		s_forge_vfs(etcd, impostor, cert);
		assert_int_equal(uptest_sh(t, "timeout 60 \"$PLEXUS\" sh -c 'cat /data/s'"), 0);
		assert_true(uptest_output(t, "secured"));
		assert_true(uptest_output(t, "a forged record?"));
		assert_int_equal(s_received(impostor, 500), 0);
	}
	assert_int_equal(uptest_sh(t, "grep -c 'ep/vfs generation.*a forged record' "
	                              "\"$STATE\"/logs/rs*.log"),
	                 0);
	plx_ep_destroy(&impostor);
	plx_ctx_destroy(&ctx);
	plx_etcd_destroy(&etcd);
	unsetenv("PLEXUS_KEYS");
}

/* A column of the endpoint record of label in `plexus ep ls`: 2 the generation, 5 the pid (this
 * up's own, not a process of the same name that another test started). */
#define S_EP_COLUMN(label, column)                                                                 \
	S_ENV "PLEXUS_KEYS=\"$STATE/keys\" \"$PLEXUS\" ep ls | awk '$1==\"" label                  \
	      "\"{print $" column "}'"
#define S_GEN_OF(label) S_EP_COLUMN(label, "2")
#define S_PFS_PID       "p=$(" S_EP_COLUMN("pfs", "5") ") && [ -n \"$p\" ] && "

/* Operator certificates: uid 65534, who cannot read root.key, is refused RS's management calls
 * (and told of PLEXUS_OPERATOR); with a certificate for plexus-op-tester of its own (mode
 * 0600) RS kills and restarts vdisk for it; the same file readable by others, or a
 * certificate for another label than an operator's, or one of another trust root, is refused
 * before anything is sent. */
static void s_operator(uptest *t)
{
	assert_int_equal(uptest_sh(t, S_AS_NOBODY "\"$PLEXUS\" service kill vdisk"), 77);
	assert_true(uptest_output(t, "PLEXUS_OPERATOR=FILE"));
	assert_int_equal(uptest_sh(t, "\"$PLEXUS\" keys operator \"$STATE/keys\" tester "
	                              "\"$T/op.link\" && chown 65534:65534 \"$T/op.link\" && "
	                              "stat -c %%a \"$T/op.link\""),
	                 0);
	assert_true(uptest_output(t, "\n600\n"));
	assert_int_not_equal(
	    uptest_sh(t, "\"$PLEXUS\" keys operator \"$STATE/keys\" tester \"$T/op.link\""), 0);
	assert_true(uptest_output(t, "File exists"));
	assert_int_equal(uptest_sh(t, "\"$PLEXUS\" keys operator \"$STATE/keys\" 'Bad/Name' "
	                              "\"$T/bad.link\"; test ! -e \"$T/bad.link\""),
	                 0);
	assert_true(uptest_output(t, "an operator's name"));
	assert_int_equal(uptest_sh(t, S_AS_NOBODY "env PLEXUS_OPERATOR=\"$T/op.link\" \"$PLEXUS\" "
	                                          "service kill vdisk"),
	                 0);
	assert_int_equal(uptest_sh(t,
	                           "for i in $(seq 100); do grep -q 'vdisk: starting generation 2' "
	                           "\"$STATE\"/logs/rs*.log && break; sleep 0.1; done; grep -h "
	                           "'vdisk: signal 9' \"$STATE\"/logs/rs*.log"),
	                 0);
	assert_true(uptest_output(t, "as asked"));
	assert_int_equal(uptest_sh(t, "chmod 644 \"$T/op.link\" && " S_AS_NOBODY
	                              "env PLEXUS_OPERATOR=\"$T/op.link\" \"$PLEXUS\" service kill "
	                              "vdisk; chmod 600 \"$T/op.link\""),
	                 0);
	assert_true(uptest_output(t, "mode 0600"));
	/* a node's certificate in an operator's place: not an operator's label */
	assert_int_equal(
	    uptest_sh(t, "grep -v '^plx1 plexus-op-' \"$T/op.link\" > \"$T/odd.link\"; "
	                 "grep '^plx1' \"$T/op.link\" | sed 's/plexus-op-tester/node.local/' "
	                 ">> \"$T/odd.link\"; chmod 600 \"$T/odd.link\"; "
	                 "PLEXUS_OPERATOR=\"$T/odd.link\" \"$PLEXUS\" service kill vdisk; "
	                 "echo rc=$?"),
	    0);
	assert_true(uptest_output(t, "not an operator's certificate"));
	assert_true(uptest_output(t, "rc=77"));
	/* another trust root's operator: refused here */
	assert_int_equal(uptest_sh(t,
	                           "\"$PLEXUS\" keys init \"$T/other\" >/dev/null && \"$PLEXUS\" "
	                           "keys operator \"$T/other\" tester \"$T/other.link\" && "
	                           "PLEXUS_OPERATOR=\"$T/other.link\" timeout 60 \"$PLEXUS\" "
	                           "service --timeout 2000 kill vdisk; echo rc=$?"),
	                 0);
	assert_true(uptest_output(t, "not a certificate of this cluster's trust root"));
	assert_true(uptest_output(t, "rc=77"));
}

/* Services take their keys from RS, not from root.key: the node kernel hands them over on the
 * service's standard input (then /dev/null); with root.key gone, a killed service comes back
 * secured and serves (a pipe goes through the new pfs). */
static void s_keys_from_rs(uptest *t)
{
	assert_int_equal(uptest_sh(t, S_PFS_PID "tr '\\0' '\\n' < /proc/$p/environ | grep "
	                                        "PLEXUS_LINK && readlink /proc/$p/fd/0"),
	                 0);
	assert_true(uptest_output(t, "PLEXUS_LINK=stdin"));
	assert_true(uptest_output(t, "/dev/null"));
	assert_int_equal(uptest_sh(t, S_GEN_OF("pfs")), 0);
	char before[64];
	snprintf(before, sizeof before, "%s", t->text);
	assert_int_equal(uptest_sh(t,
	                           S_PFS_PID "mv \"$STATE/keys/root.key\" \"$STATE/root.key.away\" "
	                                     "&& kill -KILL $p"),
	                 0);
	bool back = false;
	for (int i = 0; i < 100 && !back; i++) {
		usleep(100000);
		back = uptest_sh(t, S_GEN_OF("pfs")) == 0 && t->text[0] && strcmp(t->text, before);
	}
	int restored = uptest_sh(t, "mv \"$STATE/root.key.away\" \"$STATE/keys/root.key\"");
	assert_true(back);
	assert_int_equal(restored, 0);
	assert_int_equal(uptest_sh(t, "grep -c 'securing' \"$STATE\"/logs/pfs.log"), 1); /* none */
	assert_int_equal(uptest_sh(t, "\"$PLEXUS\" sh -c 'echo through-pipe | cat'"), 0);
	assert_true(uptest_output(t, "through-pipe"));
}

/* etcdctl as root (STATE/keys/etcd.password) */
#define S_ETCD_ROOT S_ETCDCTL "--user root:$(cat \"$STATE/keys/etcd.password\") "

/* Each service logs into etcd as the user RS made for it (s-LABEL, handed over with its
 * keys), which writes only its own records: with that role's right to ep/pfs taken away, a
 * new pfs cannot publish (its log says so); given back, RS's next start of it comes up. */
static void s_service_etcd_users(uptest *t)
{
	assert_int_equal(uptest_sh(t, S_ETCD_ROOT "user list"), 0);
	static const char *const users[] = {"s-vfs", "s-mfs-root", "s-mfs-data",
	                                    "s-pfs", "s-vdisk",    "s-memory"};
	for (size_t i = 0; i < sizeof users / sizeof *users; i++)
		assert_true(uptest_output(t, users[i]));
	assert_int_equal(uptest_sh(t, S_ETCD_ROOT "role get s-pfs"), 0);
	assert_true(uptest_output(t, "/plexus/default/ep/pfs"));
	assert_false(uptest_output(t, "/plexus/default/ep/vfs"));
	assert_int_equal(uptest_sh(t, S_ETCD_ROOT "role revoke-permission s-pfs "
	                                          "/plexus/default/ep/pfs"),
	                 0);
	assert_int_equal(uptest_sh(t, S_PFS_PID "kill -KILL $p"), 0);
	bool refused = false;
	for (int i = 0; i < 100 && !refused; i++) {
		usleep(100000);
		refused = uptest_sh(t, "grep -ci 'permission denied' \"$STATE\"/logs/pfs.log") == 0;
	}
	int granted = uptest_sh(t, S_ETCD_ROOT "role grant-permission s-pfs readwrite "
	                                       "/plexus/default/ep/pfs");
	assert_true(refused);
	assert_int_equal(granted, 0);
	bool back = false;
	for (int i = 0; i < 300 && !back; i++) {
		usleep(100000);
		back = uptest_sh(t, "\"$PLEXUS\" sh -c 'echo after-grant | cat'") == 0 &&
		       uptest_output(t, "after-grant");
	}
	assert_true(back);
}

static void test_forged_node_start(void **state)
{
	uptest *t = *state;
	char file[PATH_MAX + 16];
	snprintf(file, sizeof file, "%s/pwned", t->dir);
	/* plain: the envelope is believed */
	assert_int_equal(uptest_sh(t, S_UP " --insecure"), 0);
	assert_int_equal(s_forge_node_start(t, file, NULL, NULL), 0);
	for (int i = 0; i < 50 && access(file, F_OK) != 0; i++)
		usleep(100000);
	assert_int_equal(access(file, F_OK), 0);
	unlink(file);
	assert_int_equal(uptest_sh(t, "\"$PLEXUS\" down --state-dir \"$STATE\""), 0);

	/* secured (the default): nothing without the cluster's keys */
	assert_int_equal(uptest_sh(t, S_UP), 0);
	assert_true(uptest_output(t, "Secured links: trust root in"));
	assert_true(uptest_output(t, "PLEXUS_KEYS="));
	assert_true(uptest_output(t, "PLEXUS_ETCD=https://")); /* etcd speaks TLS only */
	assert_int_equal(uptest_sh(t, S_ENV "PLEXUS_KEYS=\"$STATE/keys\" \"$PLEXUS\" ep ls"), 0);
	assert_true(uptest_output(t, "curve:"));
	assert_false(uptest_output(t, " tcp://"));
	/* etcd takes only the cluster's password (user root, STATE/keys/etcd.password) */
	assert_int_not_equal(uptest_sh(t, S_ENV "PLEXUS_KEYS= \"$PLEXUS\" ep ls"), 0);
	assert_int_not_equal(uptest_sh(t, S_ETCDCTL "put /plexus/default/ep/vfs forged"), 0);
	assert_true(uptest_output(t, "permission denied"));
	/* TLS with a certificate from etcd's authority only: nothing without one, nor in plain */
	assert_int_not_equal(uptest_sh(t, "etcdctl --endpoints $(awk '/^etcd/{print $2}' "
	                                  "\"$STATE/state\") --cacert \"$STATE/keys/etcd-ca.crt\" "
	                                  "--dial-timeout 2s get /plexus/default/ep/vfs"),
	                     0);
	assert_false(uptest_output(t, "curve:"));
	assert_int_not_equal(uptest_sh(t, "curl -sS --max-time 5 $(awk '/^etcd/{print $2}' "
	                                  "\"$STATE/state\" | sed 's/^https/http/')/v3/kv/range "
	                                  "-d '{\"key\":\"Lw==\",\"range_end\":\"MA==\"}'"),
	                     0);
	assert_false(uptest_output(t, "\"kvs\""));
	/* etcd's peer port: the members' own pair (CN etcd, 0600) only; not a client's pair */
	assert_int_equal(uptest_sh(t, S_PEER "curl -sS --http1.1 --max-time 5 " S_KEY(
	                                  "etcd-server") "\"$P/members\""),
	                 0);
	assert_true(uptest_output(t, "\"peerURLs\""));
	assert_int_not_equal(uptest_sh(t, S_PEER "curl -sS --http1.1 --max-time 5 " S_KEY(
	                                      "etcd-client") "\"$P/members\""),
	                     0);
	assert_false(uptest_output(t, "\"peerURLs\""));
	assert_int_not_equal(uptest_sh(t, S_PEER "curl -sS --http1.1 --max-time 5 --cacert "
	                                         "\"$STATE/keys/etcd-ca.crt\" \"$P/members\""),
	                     0);
	assert_false(uptest_output(t, "\"peerURLs\""));
	assert_int_equal(uptest_sh(t, "stat -c %%a \"$STATE/keys/etcd-server.key\""), 0);
	assert_true(uptest_output(t, "600"));
	assert_int_equal(uptest_sh(t, "stat -c %%a \"$STATE/keys/etcd.password\""), 0);
	assert_true(uptest_output(t, "600"));
	assert_int_equal(s_forge_node_start(t, file, NULL, NULL), -ETIMEDOUT);
	uint8_t pk[PLX_TRUST_PUBLIC], sk[PLX_TRUST_SECRET];
	assert_int_equal(plx_trust_new(pk, sk), 0);
	assert_int_equal(s_forge_node_start(t, file, pk, sk), -ETIMEDOUT);
	sleep(1);
	assert_int_not_equal(access(file, F_OK), 0);
	assert_int_equal(
	    uptest_sh(t, "grep -c 'dropped a message from key' \"$STATE\"/logs/node*.log"), 0);

	/* the user who started it, with the keys */
	assert_int_equal(uptest_sh(t, S_ENV "PLEXUS_KEYS=\"$STATE/keys\" \"$PLEXUS\" sh -c "
	                                    "'echo secured > /data/s; cat /data/s'"),
	                 0);
	assert_true(uptest_output(t, "secured"));
	/* found by the commands themselves (the up's state directory) */
	assert_int_equal(uptest_sh(t, "\"$PLEXUS\" sh -c 'cat /data/s'"), 0);
	assert_true(uptest_output(t, "secured"));
	assert_int_equal(uptest_sh(t, "eval \"$(\"$PLEXUS\" env)\" && echo \"keys=$PLEXUS_KEYS\""),
	                 0);
	assert_true(uptest_output(t, "keys=/"));
	/* without them: no answer */
	assert_int_not_equal(uptest_sh(t, S_ENV "PLEXUS_KEYS= \"$PLEXUS\" sh -c 'cat /data/s'"), 0);
	assert_true(uptest_output(t, "cannot reach VFS"));
	assert_true(uptest_output(t, "set PLEXUS_KEYS"));
	/* another user: the node kernel vouches for what the kernel says it is */
	s_root_files(t);
	assert_int_equal(uptest_sh(t, "chmod 755 \"$T\" \"$STATE\""), 0);
	assert_int_equal(uptest_sh(t, S_AS_NOBODY "\"$PLEXUS\" sh -c 'cat /data/s; echo mine > "
	                                          "/data/pub/m; stat /data/pub/m; ps'"),
	                 0);
	assert_true(uptest_output(t, "secured"));
	assert_true(uptest_output(t, "65534"));
	assert_int_not_equal(uptest_sh(t, S_AS_NOBODY "\"$PLEXUS\" sh -c 'cat /data/p'"), 0);
	assert_true(uptest_output(t, "Permission denied"));
	assert_false(uptest_output(t, "root only"));
	/* claiming root in VFS_REGISTER changes nothing: VFS believes the certificate */
	assert_int_not_equal(uptest_sh(t, S_AS_NOBODY "env " S_PRELOAD_ASAN
	                                              "LD_PRELOAD=" PLEXUS_CLAIMS_ROOT
	                                              " \"$PLEXUS\" sh -c 'ps; cat /data/p'"),
	                     0);
	assert_true(uptest_output(t, "65534"));
	assert_true(uptest_output(t, "Permission denied"));
	assert_false(uptest_output(t, "root only"));
	/* etcd's user for clients (its password readable by all) only reads */
	assert_int_not_equal(
	    uptest_sh(t, S_ETCDCTL "--user plexus-client:$(cat \"$STATE/keys/etcd.client\") put "
	                           "/plexus/default/ep/vfs forged"),
	    0);
	assert_true(uptest_output(t, "permission denied"));
	assert_int_equal(uptest_sh(t, S_ETCDCTL
	                           "--user plexus-client:$(cat \"$STATE/keys/etcd.client\") get "
	                           "/plexus/default/ep/vfs"),
	                 0);
	assert_true(uptest_output(t, "curve:"));
	/* the node kernel vouches only for the asking process's own client labels */
	s_vouch_labels(t);
	s_client_records_per_user(t);

	/* who may call what: vdisk answers its file server (mfs-*), not another key holder */
	assert_int_equal(s_open_disk_as(t, "intruder"), -PLX_ECALLDENIED);
	assert_int_not_equal(s_open_disk_as(t, "mfs-probe"), -PLX_ECALLDENIED);
	/* nor does a file server answer anyone but VFS: no set-user-ID root file made */
	assert_int_equal(s_create_setuid_as(t, "intruder"), -PLX_ECALLDENIED);
	assert_int_not_equal(uptest_sh(t, "\"$PLEXUS\" sh -c 'ls /data/suid-root'"), 0);

	s_keys_from_rs(t);
	s_service_etcd_users(t);
	s_operator(t);
	s_forged_record(t);

	assert_int_equal(uptest_sh(t, "\"$PLEXUS\" down --state-dir \"$STATE\""), 0);
	assert_false(uptest_output(t, "RS not reachable"));
	assert_false(uptest_output(t, "had to be killed"));
	assert_true(uptest_output(t, "Plexus is down"));
}

int main(void)
{
	if (geteuid() != 0) {
		print_message("test-up-secure: needs root (setpriv to another user)\n");
		return 77;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_forged_node_start, uptest_setup, uptest_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
